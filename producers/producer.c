/* The publishing loop of outreach-producer (pattern of librdkafka's examples/producer.c):
 * read and cut batches → workers validate, encode and producev with back-pressure → a poller
 * thread serves delivery reports; a file counts as published only when every one of its
 * messages has its delivery report. Rejects are reported in input order. */
#include "producer.h"
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "authz.h"
#include "cli.h"
#include "codec.h"
#include "err.h"
#include "frame.h"
#include "kafka.h"
#include "log.h"
#include "receipt.h"
#include "service.h"
#include "record.h"
#include "regions.h"
#include "workers.h"
#include "xlsx.h"

/* A batch is cut after this many records or bytes: large enough that the hand-over costs
 * nothing, small enough that the workers share a file evenly. */
#define BATCH_RECORDS 512
#define BATCH_BYTES (256 * 1024)

const struct op_conf_def producer_conf_defs[] = {
    /* Shared with outreach-aggregator (same names and defaults): one file serves both. */
    {"events.topic", OP_CONF_STRING, "outreach.events", "topic the events are published to", 0, 0},
    {"topic.partitions", OP_CONF_INT, "6", "partitions when the producer creates the topic", 1,
     1000},
    {"topic.replication", OP_CONF_INT, "0",
     "replication factor for a created topic (0: min(3, brokers))", 0, 16},
    {"max.future.skew.s", OP_CONF_INT, "600",
     "events timestamped further in the future than this are rejected", 0, 86400 * 7},
    {"regions.file", OP_CONF_STRING, NULL,
     "region table CSV (default: the copy built in from schemas/regions.csv)", 0, 0},
    OP_AUTHZ_CONF_DEFS,
    OP_FRAME_CONF_DEFS,
    OP_REGISTRY_CONF_DEFS,
    /* Ours. */
    {"input.max.record.bytes", OP_CONF_INT, "1048576",
     "longest record (line, or CSV record) accepted; longer ones are rejected", 1024,
     64 * 1024 * 1024},
    {"producer.threads", OP_CONF_INT, "0",
     "threads that parse, validate, encode and hand records to librdkafka (0: one per online "
     "core); the reading thread and the delivery-report thread come on top",
     0, 256},
    {"input.encoding", OP_CONF_STRING, "auto",
     "auto (UTF-8, or GB18030 when an input is not UTF-8 but is GB18030), utf-8 or gb18030 "
     "(covers GBK); --encoding sets it",
     0, 0},
    {"input.sheet", OP_CONF_STRING, NULL,
     ".xlsx inputs: the worksheet to read (default: the first); --sheet sets it", 0, 0},
    {"input.receipt", OP_CONF_STRING, NULL,
     "one-shot runs: write FILE:LINE<TAB>event_id of every published record to this file, "
     "replaced atomically at the end of each run (unset: none); --receipt sets it",
     0, 0},
    {"spool.receipts", OP_CONF_BOOL, "true",
     "spool: write NAME.receipt (FILE:LINE<TAB>event_id of every published record) beside "
     "each file filed under done/ or failed/",
     0, 0},
    {"spool.rescan.ms", OP_CONF_INT, "30000",
     "spool: how often incoming/ is listed besides inotify (catches missed events)", 100, 3600000},
    {"spool.settle.ms", OP_CONF_INT, "2000",
     "spool: a file found by listing (not by inotify) must be unchanged this long", 0, 600000},
    {"spool.retry.max.ms", OP_CONF_INT, "60000",
     "spool: longest back-off before re-publishing a file whose deliveries failed", 1000, 3600000},
    {"health.listen", OP_CONF_STRING, NULL,
     "spool: serve /healthz, /readyz and /metrics on this IPv4-ADDRESS:PORT (unset: off)", 0, 0},
    /* Keys of outreach-aggregator, accepted so that one configuration file serves both. */
    {"rollups.topic", OP_CONF_STRING, NULL, "(outreach-aggregator; not used here)", 0, 0},
    {"seen.topic", OP_CONF_STRING, NULL, "(outreach-aggregator; not used here)", 0, 0},
    {"dlq.topic", OP_CONF_STRING, NULL, "(outreach-aggregator; not used here)", 0, 0},
    {"group.name", OP_CONF_STRING, NULL, "(outreach-aggregator; not used here)", 0, 0},
    {"instance.id", OP_CONF_STRING, NULL, "(outreach-aggregator; not used here)", 0, 0},
    {"commit.interval.ms", OP_CONF_STRING, NULL, "(outreach-aggregator; not used here)", 0, 0},
    {"campaigns", OP_CONF_STRING, NULL, "(outreach-aggregator; not used here)", 0, 0},
    {"dedup.horizon.days", OP_CONF_STRING, NULL, "(outreach-aggregator; not used here)", 0, 0},
    {"restore.timeout.ms", OP_CONF_STRING, NULL, "(outreach-aggregator; not used here)", 0, 0},
    OP_CLI_CONF_DEFS,
    {0},
};

int producer_conf_defaults(struct op_conf *conf, char *errstr, size_t errstr_size)
{
    static const char *const defaults[] = {
        "bootstrap.servers", "127.0.0.1:9092", "client.id", "outreach-producer",
        /* No duplicates or reordering on retries, and acked only when in sync replicas
         * have it: "published" means it survives a broker loss. */
        "enable.idempotence", "true", "acks", "all", "compression.codec", "lz4", "linger.ms", "20",
        "batch.num.messages", "10000",
        /* An unreachable broker fails each message after this, never hangs the run. */
        "message.timeout.ms", "30000", NULL};
    for (const char *const *kv = defaults; *kv; kv += 2)
        if (op_conf_set(conf, kv[0], kv[1], errstr, errstr_size) != 0)
            return -1;
    return 0;
}

/* A conversion thread's own state: avro-c values, schemas and its error buffer are not
 * thread-safe, so each worker has its codec (regions and authz are read-only and shared). */
struct producer_worker {
    struct op_codec *codec;
    struct producer_conv conv;
    int conv_ready;
    struct producer_cells cells;
};

struct producer {
    struct op_conf *conf;
    struct producer_opts opts;
    struct op_codec *codec;
    struct op_frame *frame; /* wire.format; its schema ids bound at start (not with --check) */
    struct op_regions *regions;
    struct op_authz *authz;
    struct producer_conv conv;
    int conv_ready;
    struct producer_decoder dec;
    int dec_ready;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    const char *topic;
    int64_t message_timeout_ms;
    size_t max_record;
    const char *sheet; /* input.sheet: NULL, the first worksheet */
    struct producer_cells cells;
    struct op_buf csv_header; /* raw header of the current CSV file, for its rejects */
    /* the file being published; delivery reports are counted into it */
    struct producer_file *cur;
    const struct producer_sink *sink;
    _Atomic int64_t in_flight;
    _Atomic uint64_t dr_published; /* acknowledged since the file started */
    atomic_int fatal;
    /* f->n.failed and the failure report: written by workers' results and delivery reports */
    pthread_mutex_t count_mu;
    /* diagnostics output (stderr, .errors, the progress line) */
    pthread_mutex_t diag_mu;
    int mutexes_ready;
    /* conversion threads (workers.c) */
    int n_workers;
    struct producer_worker *workers;
    struct producer_pool *pool;
    struct producer_batch *batch;          /* being cut */
    const struct producer_csv_header *hdr; /* the current CSV file's, for the workers */
    int csv;
    rd_kafka_resp_err_t rkt_err; /* why the topic handle could not be made */
    /* delivery reports: served by their own thread, never by the reading one */
    pthread_t poller;
    int poller_started;
    atomic_int poller_run;
    /* diagnostics */
    FILE *rejects;
    char *rejects_path;
    uint64_t rejects_written;
    FILE *errors;
    int progress, tty, progress_shown;
    int64_t progress_at;
    uint64_t progress_read;
};

/* ---- helpers ---------------------------------------------------------------------------- */

const struct op_conf *producer_conf(const struct producer *p)
{
    return p->conf;
}

void producer_poll(struct producer *p, int timeout_ms)
{
    if (p->poller_started)
        op_clock_sleep_ms(timeout_ms); /* the poller thread serves reports and client events */
    else if (p->rk)
        rd_kafka_poll(p->rk, timeout_ms);
}

int producer_queue_len(const struct producer *p)
{
    return p->rk ? rd_kafka_outq_len(p->rk) : 0;
}

int producer_fatal(const struct producer *p)
{
    return atomic_load(&((struct producer *)p)->fatal);
}

void producer_print_counts(FILE *out, const char *prefix, const struct producer_counts *c,
                           int check_only)
{
    char header[40] = "";
    if (c->header)
        snprintf(header, sizeof header, "%" PRIu64 " header, ", c->header);
    fprintf(out,
            "%sread %" PRIu64 ", %s %" PRIu64 ", rejected %" PRIu64 ", failed %" PRIu64 " (%" PRIu64
            " %s: %s%" PRIu64 " blank, %" PRIu64 " in records)\n",
            prefix, c->read, check_only ? "valid" : "published", c->published, c->rejected,
            c->failed, c->lines, c->lines == 1 ? "line" : "lines", header, c->blank,
            c->record_lines);
}

/* A progress line on a terminal is redrawn in place: wipe it before other output. */
static void clear_progress(struct producer *p)
{
    if (p->progress_shown && p->tty) {
        fputs("\r\033[K", stderr);
        p->progress_shown = 0;
    }
}

static void progress(struct producer *p, struct producer_file *f, int force)
{
    int64_t now = op_clock_mono_ms();
    op_service_ping(); /* spool under systemd: a long file must not look like a hang */
    if (!p->progress)
        return;
    if (!force && now - p->progress_at < 1000)
        return;
    double dt = (double)(now - p->progress_at) / 1000.0;
    double rate = dt > 0 ? (double)(f->n.read - p->progress_read) / dt : 0;
    char line[512];
    pthread_mutex_lock(&p->count_mu);
    uint64_t failed_n = f->n.failed;
    pthread_mutex_unlock(&p->count_mu);
    snprintf(line, sizeof line,
             "%s: read %" PRIu64 " (%.0f/s), %s %" PRIu64 ", rejected %" PRIu64 ", failed %" PRIu64
             ", in flight %" PRId64,
             f->name, f->n.read, rate, p->opts.check_only ? "valid" : "published",
             f->n.published + atomic_load(&p->dr_published), f->n.rejected, failed_n,
             atomic_load(&p->in_flight));
    p->progress_at = now;
    p->progress_read = f->n.read;
    if (p->opts.spool)
        op_log(OP_LOG_INFO, "progress: %s", line);
    else {
        pthread_mutex_lock(&p->diag_mu);
        if (p->tty) {
            fprintf(stderr, "\r%s\033[K", line);
            p->progress_shown = 1;
        } else
            fprintf(stderr, "progress: %s\n", line);
        pthread_mutex_unlock(&p->diag_mu);
    }
}

/* One diagnostic line: to stderr (one-shot) or the .errors file (spool, which also logs the
 * first ones unless quiet: delivery failures are summed up by the spool instead). */
static void diag_line(struct producer *p, struct producer_file *f, int quiet, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define diag(p, f, ...) diag_line(p, f, 0, __VA_ARGS__)

static void diag_line(struct producer *p, struct producer_file *f, int quiet, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* Delivery failures come from the poller thread while the reader reports rejects. */
    pthread_mutex_lock(&p->diag_mu);
    f->reported++;
    if (!p->sink || !p->sink->errors_path) {
        clear_progress(p);
        fprintf(stderr, "%s\n", line);
        pthread_mutex_unlock(&p->diag_mu);
        return;
    }
    if (!p->errors) {
        p->errors = fopen(p->sink->errors_path, "w");
        if (!p->errors)
            op_log(OP_LOG_ERR, "%s: %s", p->sink->errors_path, strerror(errno));
    }
    if (p->errors)
        fprintf(p->errors, "%s\n", line);
    if (!quiet) {
        if (++f->logged <= 20)
            op_log(OP_LOG_WARNING, "%s", line);
        else if (f->logged == 21)
            op_log(OP_LOG_WARNING, "%s: more problems than logged here: see its .errors report",
                   f->name);
    }
    pthread_mutex_unlock(&p->diag_mu);
}

static int write_all(FILE *fp, const void *data, size_t len)
{
    return len && fwrite(data, 1, len, fp) != len ? -1 : 0;
}

/* Appends the original text of a rejected record (and, first, the CSV header). */
static void keep_reject(struct producer *p, struct producer_file *f, const char *data, size_t len)
{
    if (!p->sink || !p->sink->rejects_path)
        return;
    if (!p->rejects) {
        p->rejects = fopen(p->sink->rejects_path, "w");
        if (!p->rejects) {
            diag(p, f, "%s: cannot write rejects: %s", p->sink->rejects_path, strerror(errno));
            f->open_error = 1;
            return;
        }
        free(p->rejects_path);
        p->rejects_path = strdup(p->sink->rejects_path);
        p->rejects_written = 0;
    }
    int rc = 0;
    if (p->csv_header.len && !f->rejects_header_done) {
        rc |= write_all(p->rejects, p->csv_header.data, p->csv_header.len);
        if (p->csv_header.data[p->csv_header.len - 1] != '\n')
            rc |= write_all(p->rejects, "\n", 1);
        f->rejects_header_done = 1;
    }
    rc |= write_all(p->rejects, data, len);
    if (len == 0 || data[len - 1] != '\n')
        rc |= write_all(p->rejects, "\n", 1);
    if (rc) {
        diag(p, f, "%s: cannot write rejects: %s", p->sink->rejects_path, strerror(errno));
        f->open_error = 1;
    }
    p->rejects_written++;
}

uint64_t producer_close_rejects(struct producer *p)
{
    uint64_t n = p->rejects_written;
    if (p->rejects && fclose(p->rejects) != 0)
        op_log(OP_LOG_ERR, "%s: %s", p->rejects_path ? p->rejects_path : "rejects",
               strerror(errno));
    p->rejects = NULL;
    free(p->rejects_path);
    p->rejects_path = NULL;
    p->rejects_written = 0;
    return n;
}

static void reject(struct producer *p, struct producer_file *f, long line, const char *field,
                   const char *reason, const char *data, size_t len)
{
    f->n.rejected++;
    diag(p, f, "%s:%ld: %s: %s", f->name, line, field, reason);
    keep_reject(p, f, data, len);
}

/* How a file is read, said once: on stderr, or in the log for the spool. Not a diagnostic of a
 * record, so it is neither counted nor written to the .errors report. */
static void say_encoding(struct producer *p)
{
    if (!p->dec.note[0])
        return;
    if (p->opts.spool)
        op_log(p->dec.note_warning ? OP_LOG_WARNING : OP_LOG_NOTICE, "%s", p->dec.note);
    else {
        clear_progress(p);
        fprintf(stderr, "%s\n", p->dec.note);
    }
    p->dec.note[0] = 0;
}

/* ---- Kafka ------------------------------------------------------------------------------ */

/* Delivery failures that re-publishing the file cannot fix. */
static int permanent(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
        return 1;
    default:
        return 0;
    }
}

/* Called with count_mu held. */
static void failed(struct producer *p, struct producer_file *f, long line, rd_kafka_resp_err_t e)
{
    f->n.failed++;
    if (p->sink && p->sink->receipt)
        producer_receipt_failed(p->sink->receipt, line);
    if (permanent(e))
        f->failed_permanent++;
    if (!f->first_failure[0])
        snprintf(f->first_failure, sizeof f->first_failure, "%s", rd_kafka_err2str(e));
    /* A broker outage fails every message: keep the report readable. */
    uint64_t limit = p->sink && p->sink->errors_path ? 1000 : 10;
    if (++f->failures_reported > limit)
        return;
    if (f->sheet[0]) /* .xlsx: FILE:SHEET!ROW */
        diag_line(p, f, 1, "%s:%s!%ld: kafka: %s", f->name, f->sheet, line, rd_kafka_err2str(e));
    else
        diag_line(p, f, 1, "%s:%ld: kafka: %s", f->name, line, rd_kafka_err2str(e));
}

/* On the poller thread (or the main one in rd_kafka_flush at exit). The message leaves the
 * in-flight count last, so that drain() finds it counted. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct producer *p = opaque;
    if (!m->err)
        atomic_fetch_add(&p->dr_published, 1);
    else {
        pthread_mutex_lock(&p->count_mu);
        if (p->cur)
            failed(p, p->cur, (long)(uintptr_t)m->_private, m->err);
        pthread_mutex_unlock(&p->count_mu);
    }
    atomic_fetch_sub(&p->in_flight, 1);
}

static void *poller_main(void *arg)
{
    struct producer *p = arg;
    /* Short waits: stopping the thread at exit waits for the current one. */
    while (atomic_load(&p->poller_run))
        rd_kafka_poll(p->rk, 10);
    return NULL;
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct producer *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        op_log(OP_LOG_ERR, "fatal producer error: %s: %s", rd_kafka_err2name(orig), buf);
        atomic_store(&p->fatal, 1);
        return;
    }
    if (op_kafka_note_error(err, reason)) { /* a wrong password or CA: retrying cannot help */
        atomic_store(&p->fatal, 1);
        return;
    }
    op_log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? OP_LOG_WARNING : OP_LOG_NOTICE,
           "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

int producer_ensure_topic(struct producer *p, int timeout_ms, char *errstr, size_t errstr_size)
{
    /* An existing topic needs no CreateTopics (which a producer-only ACL would refuse), and
     * a broker that does not answer needs no second wait. All topics are asked for: asking for
     * this one would let a broker with auto.create.topics.enable create it its own way. */
    const struct rd_kafka_metadata *md = NULL;
    /* In slices: the poller thread's error callback may meanwhile find the credentials
     * refused (p->fatal), which no longer wait can fix. */
    int64_t deadline = op_clock_mono_ms() + timeout_ms;
    rd_kafka_resp_err_t e;
    for (;;) {
        int64_t left = deadline - op_clock_mono_ms();
        e = rd_kafka_metadata(p->rk, 1, NULL, &md, left > 1000 ? 1000 : left < 1 ? 1 : (int)left);
        if (!e || atomic_load(&p->fatal) || op_clock_mono_ms() >= deadline)
            break;
    }
    if (e) {
        op_set_err(errstr, errstr_size, "metadata: %s",
                   atomic_load(&p->fatal) ? "gave up (see the error above)" : rd_kafka_err2str(e));
        return -1;
    }
    int exists = 0;
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, p->topic) && !md->topics[i].err &&
            md->topics[i].partition_cnt > 0)
            exists = 1;
    rd_kafka_metadata_destroy(md);
    if (exists)
        return 0;
    struct op_kafka_topic_spec spec = {p->topic, (int)op_conf_get_int(p->conf, "topic.partitions"),
                                       (int)op_conf_get_int(p->conf, "topic.replication"), NULL};
    return op_kafka_ensure_topics(p->rk, &spec, 1, timeout_ms, NULL, errstr, errstr_size);
}

/* The topic handle comes with the first message, after producer_ensure_topic: a handle
 * alone makes librdkafka ask for the topic. On the main thread, before records go out. */
static void topic_handle(struct producer *p)
{
    if (p->rk && !p->rkt && !p->rkt_err && !(p->rkt = rd_kafka_topic_new(p->rk, p->topic, NULL)))
        p->rkt_err = rd_kafka_last_error();
}

/* Hands one converted record to librdkafka (thread-safe), waiting for room while the poller
 * thread serves delivery reports; in flight when it returns 0. Called by the workers, and by
 * the main thread for .xlsx rows. */
static rd_kafka_resp_err_t produce_rec(struct producer *p, const struct producer_rec *r, long line)
{
    if (!p->rkt)
        return p->rkt_err;
    const char *type = op_event_type_name(r->type);
    rd_kafka_resp_err_t e;
    atomic_fetch_add(&p->in_flight, 1);
    for (;;) {
        e = rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(p->rkt), RD_KAFKA_V_KEY(r->key, 6),
                              RD_KAFKA_V_VALUE((void *)r->msg, r->msg_len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADER("type", type, -1),
                              RD_KAFKA_V_OPAQUE((void *)(uintptr_t)line), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || atomic_load(&p->fatal))
            break;
        op_clock_sleep_ms(1); /* back-pressure: the poller thread makes room */
    }
    if (e)
        atomic_fetch_sub(&p->in_flight, 1);
    return e;
}

/* On a worker thread: one record of a batch. */
static void produce(struct producer *p, struct producer_job *j, const struct producer_rec *r)
{
    rd_kafka_resp_err_t e = produce_rec(p, r, j->line);
    j->state = e ? PRODUCER_JOB_FAILED : PRODUCER_JOB_OK;
    j->err = e;
}

/* The pool's work: convert (and publish) every record of a batch, on worker `wi`. */
static void convert_batch(void *arg, int wi, struct producer_batch *b)
{
    struct producer *p = arg;
    struct producer_worker *w = &p->workers[wi];
    char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX];
    int64_t now = op_clock_wall_ms();
    for (size_t i = 0; i < b->n; i++) {
        struct producer_job *j = &b->jobs[i];
        if (j->state != PRODUCER_JOB_CONVERT)
            continue;
        const char *text = (const char *)b->data.data + j->text_off;
        struct producer_rec rec;
        int rc;
        if (p->csv) {
            const struct producer_csv_header *h = p->hdr;
            size_t bad;
            const char *why;
            if (producer_csv_split(text, j->text_len, &w->cells, &bad, &why) != 0) {
                snprintf(field, sizeof field, "%s", bad < h->ncols ? h->names[bad] : "record");
                snprintf(reason, sizeof reason, "%s%s", why,
                         bad >= h->ncols ? " (past the last column)" : "");
                producer_batch_reject(b, j, field, reason);
                continue;
            }
            rc = producer_conv_csv(&w->conv, h, w->cells.cell, w->cells.len, w->cells.n, now, &rec,
                                   field, sizeof field, reason, sizeof reason);
        } else
            rc = producer_conv_json(&w->conv, text, j->text_len, now, &rec, field, sizeof field,
                                    reason, sizeof reason);
        if (rc != 0)
            producer_batch_reject(b, j, field, reason);
        else if (p->opts.check_only)
            j->state = PRODUCER_JOB_OK;
        else {
            produce(p, j, &rec);
            if (j->state == PRODUCER_JOB_OK && p->sink->receipt)
                producer_batch_set_id(b, j, rec.ev.event_id);
        }
    }
}

/* Accounts for a converted batch, in input order (the reading thread). */
static void account(struct producer *p, struct producer_file *f, struct producer_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct producer_job *j = &b->jobs[i];
        switch (j->state) {
        case PRODUCER_JOB_OK:
            if (p->opts.check_only)
                f->n.published++;
            else if (p->sink->receipt)
                producer_receipt_add(p->sink->receipt, j->line, producer_batch_id(b, j));
            break;
        case PRODUCER_JOB_FAILED:
            pthread_mutex_lock(&p->count_mu);
            failed(p, f, j->line, (rd_kafka_resp_err_t)j->err);
            pthread_mutex_unlock(&p->count_mu);
            break;
        default:
            reject(p, f, j->line, producer_batch_field(b, j), producer_batch_reason(b, j),
                   (const char *)b->data.data + j->raw_off, j->raw_len);
            break;
        }
    }
    producer_pool_release(p->pool, b);
}

/* Accounts for converted batches: those ready (wait 0) or all of them (wait 1). */
static void collect(struct producer *p, struct producer_file *f, int wait)
{
    struct producer_batch *b;
    while ((b = producer_pool_collect(p->pool, wait)) != NULL)
        account(p, f, b);
}

/* Hands the batch being cut to the workers. */
static void submit(struct producer *p, struct producer_file *f)
{
    struct producer_batch *b = p->batch;
    p->batch = NULL;
    if (!b)
        return;
    if (b->n == 0) {
        producer_pool_release(p->pool, b);
        return;
    }
    topic_handle(p);
    producer_pool_submit(p->pool, b);
    collect(p, f, 0);
}

/* The batch being cut, or a new one (accounting for finished ones while all are in use).
 * NULL when out of memory. */
static struct producer_batch *cut(struct producer *p, struct producer_file *f)
{
    while (!p->batch && !(p->batch = producer_pool_batch(p->pool))) {
        struct producer_batch *b = producer_pool_collect(p->pool, 1);
        if (!b)
            return NULL;
        account(p, f, b);
    }
    return p->batch;
}

/* Waits for the delivery report of every message produced so far. librdkafka fails each
 * message within message.timeout.ms; past a generous deadline the rest is purged so that no
 * report can arrive after the file was accounted for. */
static void drain(struct producer *p, struct producer_file *f)
{
    if (!p->rk)
        return;
    int64_t deadline = op_clock_mono_ms() + p->message_timeout_ms + 30000;
    int purged = 0;
    while (atomic_load(&p->in_flight) > 0) {
        op_clock_sleep_ms(5); /* the poller thread serves the reports */
        progress(p, f, 0);
        if (!purged && op_clock_mono_ms() > deadline) {
            op_log(OP_LOG_ERR,
                   "%s: %" PRId64 " messages unacknowledged after %" PRId64 " ms: purging them",
                   f->name, atomic_load(&p->in_flight), p->message_timeout_ms + 30000);
            rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            purged = 1;
            deadline = op_clock_mono_ms() + 10000;
        } else if (purged && op_clock_mono_ms() > deadline) {
            /* Never seen; the accounting is now unreliable, so the producer must restart. */
            pthread_mutex_lock(&p->count_mu);
            f->n.failed += (uint64_t)atomic_exchange(&p->in_flight, 0);
            pthread_mutex_unlock(&p->count_mu);
            atomic_store(&p->fatal, 1);
        }
    }
}

/* ---- one .xlsx sheet ------------------------------------------------------------------- */

/* A row skipped (empty, merged) is said on stderr (the log in spool mode), not counted as a
 * diagnostic: it is no record. The first 20 of a file, then how many more. */
static void xlsx_note(struct producer *p, struct producer_file *f, unsigned *notes, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void xlsx_note(struct producer *p, struct producer_file *f, unsigned *notes, const char *fmt,
                      ...)
{
    (void)f;
    if (++*notes > 20)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (p->opts.spool)
        op_log(OP_LOG_NOTICE, "%s", line);
    else {
        clear_progress(p);
        fprintf(stderr, "%s\n", line);
    }
}

static void xlsx_note_empty(struct producer *p, struct producer_file *f, unsigned *notes,
                            const char *name, long from, long to)
{
    if (from == to)
        xlsx_note(p, f, notes, "%s:%s!%ld: skipped: an empty row", name, f->sheet, from);
    else
        xlsx_note(p, f, notes, "%s:%s!%ld-%ld: skipped: %ld empty rows", name, f->sheet, from, to,
                  to - from + 1);
}

/* Publishes the worksheet of an .xlsx: each row's cells go through the CSV conversion, so the
 * rules are the same; messages are FILE:SHEET!ROW: field: reason, and the rejects file is a CSV
 * (UTF-8 with a BOM, for Excel) with the header row, ready to be fixed and sent again. */
static void publish_xlsx(struct producer *p, struct producer_file *f, struct producer_input *in,
                         const char *name, volatile sig_atomic_t *run)
{
    char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX], err[512];
    struct producer_xlsx_limits lim = {0, p->max_record};
    struct producer_xlsx *x = producer_xlsx_open(in->fd, name, p->sheet, &lim, err, sizeof err);
    if (!x) {
        diag(p, f, "%s", err);
        f->open_error = 1;
        return;
    }
    snprintf(f->sheet, sizeof f->sheet, "%s", producer_xlsx_sheet(x));
    const char *sh = f->sheet;
    struct producer_csv_header hdr;
    memset(&hdr, 0, sizeof hdr);
    struct op_buf line = OP_BUF_INIT;
    char **cells = NULL;
    size_t *lens = NULL, cap = 0;
    int have_header = 0;
    long last = 0, empty_from = 0, filled = 0;
    unsigned notes = 0;
    for (;;) {
        if (!*run || p->fatal) {
            f->interrupted = 1;
            break;
        }
        struct producer_xlsx_row *row;
        int r = producer_xlsx_next(x, &row);
        if (r < 0) {
            diag(p, f, "%s", producer_xlsx_error(x));
            f->open_error = 1;
            break;
        }
        if (r == 0)
            break;
        /* Rows the sheet does not list are empty. */
        if (row->row - last > 1 && !empty_from)
            empty_from = last + 1;
        f->n.blank += (uint64_t)(row->row - last - 1);
        last = row->row;
        if (row->kind == PRODUCER_XLSX_ROW_EMPTY) {
            f->n.blank++;
            if (!empty_from)
                empty_from = row->row;
            continue;
        }
        if (empty_from)
            xlsx_note_empty(p, f, &notes, name, empty_from, row->row - 1);
        empty_from = 0;
        if (row->kind == PRODUCER_XLSX_ROW_MERGED) {
            f->n.blank++;
            xlsx_note(p, f, &notes,
                      "%s:%s!%ld: skipped: merged cells %s (a title or a total line, not a record)",
                      name, sh, row->row, row->merge);
            continue;
        }
        /* The cells, as many as the header has (more when the row has more). */
        size_t n = row->n > hdr.ncols ? row->n : hdr.ncols;
        if (n > cap) {
            char **nc = realloc(cells, n * sizeof *nc);
            size_t *nl = nc ? realloc(lens, n * sizeof *nl) : NULL;
            if (nc)
                cells = nc;
            if (!nc || !nl) {
                diag(p, f, "%s:%s!%ld: record: out of memory", name, sh, row->row);
                f->open_error = 1;
                break;
            }
            lens = nl;
            cap = n;
        }
        for (size_t c = 0; c < n; c++) {
            cells[c] = c < row->n ? row->cell[c] : (char *)"";
            lens[c] = c < row->n ? row->len[c] : 0;
        }
        filled += row->filled;
        line.len = 0;
        if (!have_header) {
            have_header = 1;
            f->n.header++;
            /* The rejects file's first line: the header as it was (Chinese names included). */
            p->csv_header.len = 0;
            if (op_buf_append(&p->csv_header, "\xEF\xBB\xBF", 3) != 0 ||
                producer_xlsx_csv_line(cells, lens, n, &p->csv_header) != 0) {
                snprintf(reason, sizeof reason, "out of memory");
            } else if (row->overlong || row->bad_col != -1) {
                snprintf(reason, sizeof reason, "%s",
                         row->overlong ? "longer than input.max.record.bytes" : row->why);
            } else if (producer_csv_header_init(&hdr, &p->conv, cells, lens, n, field, sizeof field,
                                                reason, sizeof reason) == 0)
                continue;
            f->header_error = 1;
            diag(p, f, "%s:%s!%ld: header: %s", name, sh, row->row, reason);
            continue;
        }
        f->n.read++;
        f->n.record_lines++;
        if (producer_xlsx_csv_line(cells, lens, n, &line) != 0) {
            diag(p, f, "%s:%s!%ld: record: out of memory", name, sh, row->row);
            f->open_error = 1;
            break;
        }
        if (f->header_error) { /* no usable header: keep every row, quietly */
            f->n.rejected++;
            keep_reject(p, f, (const char *)line.data, line.len);
            continue;
        }
        int bad = 1;
        if (row->overlong) {
            snprintf(field, sizeof field, "record");
            snprintf(reason, sizeof reason,
                     "longer than %zu bytes (input.max.record.bytes); the rejects file has only "
                     "its beginning",
                     p->max_record);
        } else if (row->bad_col != -1) {
            snprintf(field, sizeof field, "%s",
                     row->bad_col >= 0 && (size_t)row->bad_col < hdr.ncols ? hdr.names[row->bad_col]
                                                                           : "record");
            snprintf(reason, sizeof reason, "%s", row->why);
        } else if (row->n > hdr.ncols) {
            snprintf(field, sizeof field, "record");
            snprintf(reason, sizeof reason,
                     "a value in column %zu, past the last column of the header (%zu)", row->n,
                     hdr.ncols);
        } else {
            struct producer_rec rec;
            if (producer_conv_csv(&p->conv, &hdr, cells, lens, hdr.ncols, op_clock_wall_ms(), &rec,
                                  field, sizeof field, reason, sizeof reason) == 0) {
                bad = 0;
                if (p->opts.check_only)
                    f->n.published++;
                else {
                    topic_handle(p);
                    rd_kafka_resp_err_t e = produce_rec(p, &rec, row->row);
                    if (e) {
                        pthread_mutex_lock(&p->count_mu);
                        failed(p, f, row->row, e);
                        pthread_mutex_unlock(&p->count_mu);
                    } else if (p->sink->receipt)
                        producer_receipt_add(p->sink->receipt, row->row, rec.ev.event_id);
                }
            }
        }
        if (bad) {
            f->n.rejected++;
            diag(p, f, "%s:%s!%ld: %s: %s", name, sh, row->row, field, reason);
            keep_reject(p, f, (const char *)line.data, line.len);
        }
        if ((f->n.read & 255) == 0)
            progress(p, f, 0);
    }
    if (empty_from && !f->interrupted && !f->open_error)
        xlsx_note_empty(p, f, &notes, name, empty_from, last);
    if (filled)
        xlsx_note(p, f, &notes,
                  "%s:%s: %ld cells in vertically merged ranges took the value shown at the top of "
                  "their range",
                  name, sh, filled);
    if (notes > 20) {
        unsigned hidden = notes - 20;
        notes = 0;
        xlsx_note(p, f, &notes, "%s:%s: %u more notes of skipped rows not shown", name, sh, hidden);
    }
    f->n.lines = f->n.header + f->n.blank + f->n.record_lines;
    producer_csv_header_free(&hdr);
    op_buf_free(&line);
    free(cells);
    free(lens);
    producer_xlsx_close(x);
}

/* ---- one file --------------------------------------------------------------------------- */

void producer_publish(struct producer *p, const char *path, const char *name,
                      const struct producer_sink *sink, struct producer_file *f,
                      volatile sig_atomic_t *run)
{
    char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX], err[512];
    memset(f, 0, sizeof *f);
    f->name = name;
    p->sink = sink;
    p->csv_header.len = 0;
    p->progress_at = op_clock_mono_ms();
    p->progress_read = 0;
    p->rkt_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    atomic_store(&p->dr_published, 0);
    struct producer_input in;
    /* A spool directory is written by others: only a regular file there is read, never what a
     * symbolic link points at, and a FIFO must not block the daemon. */
    int rc_open =
        p->opts.spool
            ? producer_input_open_regular(&in, path, p->opts.format, p->max_record, err, sizeof err)
            : producer_input_open(&in, path, p->opts.format, p->max_record, err, sizeof err);
    if (rc_open != 0) {
        /* "NAME: reason", as every other line of a report, not the path of processing/. */
        size_t pl = strlen(path);
        if (strncmp(err, path, pl) == 0)
            diag(p, f, "%s%s", name, err + pl);
        else
            diag(p, f, "%s", err);
        f->open_error = 1;
        goto done;
    }
    p->cur = f;
    in.run = run;
    if (in.format == PRODUCER_FORMAT_XLSX) {
        publish_xlsx(p, f, &in, name, run);
        producer_input_close(&in);
        drain(p, f);
        f->n.published += atomic_exchange(&p->dr_published, 0);
        goto done;
    }
    producer_decoder_start(&p->dec, path, name, run);
    say_encoding(p);
    int csv = in.format == PRODUCER_FORMAT_CSV, have_header = 0, read_error = 0;
    struct producer_csv_header hdr;
    memset(&hdr, 0, sizeof hdr);
    p->csv = csv;
    p->hdr = &hdr;
    struct producer_raw raw;
    for (;;) {
        if (!*run || atomic_load(&p->fatal)) {
            f->interrupted = 1;
            break;
        }
        int r = producer_input_next(&in, &raw);
        if (r < 0 && !*run) {
            f->interrupted = 1;
            break;
        }
        if (r < 0) {
            read_error = 1;
            break;
        }
        if (r == 0)
            break;
        int is_header = csv && !have_header;
        if (is_header) {
            have_header = 1;
            f->n.header += (uint64_t)raw.lines;
            if (op_buf_append(&p->csv_header, raw.data, raw.len) != 0) {
                f->header_error = 1;
                diag(p, f, "%s:%ld: header: out of memory", name, raw.line);
                continue;
            }
        } else {
            f->n.read++;
            f->n.record_lines += (uint64_t)raw.lines;
        }
        if (f->header_error) { /* no usable header: keep every row, quietly */
            f->n.rejected++;
            keep_reject(p, f, raw.data, raw.len);
            continue;
        }
        size_t bad;
        const char *why, *text = raw.data;
        size_t text_len = raw.text_len;
        /* The record in UTF-8; raw keeps the original bytes for the rejects file. */
        int undecodable =
            !raw.overlong && producer_decoder_record(&p->dec, &in, &raw, &text, &text_len, reason,
                                                     sizeof reason) != 0;
        say_encoding(p);
        if (raw.overlong) {
            snprintf(field, sizeof field, "%s", is_header ? "header" : "record");
            snprintf(reason, sizeof reason,
                     "longer than %zu bytes (input.max.record.bytes); the rejects file has "
                     "only its beginning",
                     p->max_record);
        } else if (undecodable) {
            snprintf(field, sizeof field, "%s", is_header ? "header" : "record");
        } else if (is_header) {
            if (producer_csv_split(text, text_len, &p->cells, &bad, &why) != 0) {
                snprintf(field, sizeof field, "header");
                snprintf(reason, sizeof reason, "%s", why);
            } else if (producer_csv_header_init(&hdr, &p->conv, p->cells.cell, p->cells.len,
                                                p->cells.n, field, sizeof field, reason,
                                                sizeof reason) == 0)
                continue;
        }
        if (is_header) {
            /* Without a header no row can be read: say it once, keep every row. */
            f->header_error = 1;
            diag(p, f, "%s:%ld: %s: %s", name, raw.line, field, reason);
            continue;
        }
        /* The record goes to the workers in a batch; what the reader refused itself rides
         * along as rejected, so that rejects stay in input order. */
        struct producer_batch *b = cut(p, f);
        struct producer_job *j = b ? producer_batch_add(b, raw.line, raw.data, raw.len, text,
                                                        raw.overlong || undecodable ? 0 : text_len)
                                   : NULL;
        if (!j) {
            reject(p, f, raw.line, "record", "out of memory", raw.data, raw.len);
            continue;
        }
        if (raw.overlong || undecodable)
            producer_batch_reject(b, j, field, reason);
        if (b->n >= BATCH_RECORDS || b->data.len >= BATCH_BYTES)
            submit(p, f);
        if ((f->n.read & 255) == 0)
            progress(p, f, 0);
    }
    submit(p, f);
    collect(p, f, 1);
    if (read_error) {
        diag(p, f, "%s: read error: %s", name, in.error);
        f->open_error = 1;
    }
    p->hdr = NULL;
    producer_csv_header_free(&hdr);
    f->n.lines = (uint64_t)in.lines;
    f->n.blank = (uint64_t)in.blank_lines;
    producer_input_close(&in);
    f->encoding = p->dec.enc;
    drain(p, f);
    f->n.published += atomic_exchange(&p->dr_published, 0);
done:
    /* Every delivery report of the file is in: its receipt lines are final. */
    if (sink && sink->receipt) /* an I/O error is reported when the receipt is committed */
        producer_receipt_end_file(sink->receipt, name, f->sheet);
    if (f->failures_reported > 10 && !(sink && sink->errors_path))
        diag(p, f, "%s: %" PRIu64 " more failed deliveries not shown", name,
             f->failures_reported - 10);
    /* A terminal line is wiped for the counts; a log keeps a last line per file. */
    if (p->progress && !p->tty && f->n.read > 0)
        progress(p, f, 1);
    clear_progress(p);
    p->cur = NULL;
    if (p->errors) {
        fclose(p->errors);
        p->errors = NULL;
    }
    if (!(sink && sink->keep_rejects_open))
        producer_close_rejects(p);
    p->csv_header.len = 0;
    p->sink = NULL;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

/* producer.threads conversion threads, each with its own codec and conversion context. */
static int start_workers(struct producer *p, char *errstr, size_t errstr_size)
{
    int n = (int)op_conf_get_int(p->conf, "producer.threads");
    if (n <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
    }
    p->workers = calloc((size_t)n, sizeof *p->workers);
    if (!p->workers) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    p->n_workers = n;
    for (int i = 0; i < n; i++) {
        struct producer_worker *w = &p->workers[i];
        w->codec = op_codec_new_default(errstr, errstr_size);
        if (!w->codec || producer_conv_init(&w->conv, w->codec, p->regions, p->authz,
                                            op_conf_get_int(p->conf, "max.future.skew.s") * 1000,
                                            p->opts.default_type, errstr, errstr_size) != 0)
            return -1;
        w->conv_ready = 1;
        w->conv.text_utf8_valid = 1; /* producer_decoder_record checked every record */
        w->conv.frame = p->opts.check_only ? NULL : p->frame;
    }
    /* Two batches per worker keep every worker busy while the reader cuts the next ones. */
    p->pool = producer_pool_new(n, 2 * n + 2, convert_batch, p, errstr, errstr_size);
    return p->pool ? 0 : -1;
}

struct producer *producer_new(struct op_conf *conf, const struct producer_opts *opts, char *errstr,
                              size_t errstr_size)
{
    struct producer *p = calloc(1, sizeof *p);
    if (!p) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    p->conf = conf;
    p->opts = *opts;
    pthread_mutex_init(&p->count_mu, NULL);
    pthread_mutex_init(&p->diag_mu, NULL);
    p->mutexes_ready = 1;
    p->topic = op_conf_get(conf, "events.topic");
    p->max_record = (size_t)op_conf_get_int(conf, "input.max.record.bytes");
    p->sheet = op_conf_get(conf, "input.sheet");
    if (p->sheet && !p->sheet[0])
        p->sheet = NULL;
    p->tty = isatty(STDERR_FILENO);
    p->progress = opts->progress < 0 ? p->tty : opts->progress;

    char buf[64];
    const char *mt = op_conf_kafka_get(conf, "message.timeout.ms", buf, sizeof buf);
    p->message_timeout_ms = mt ? strtoll(mt, NULL, 10) : 300000;

    const char *rfile = op_conf_get(conf, "regions.file");
    p->regions = rfile ? op_regions_new_from_file(rfile, errstr, errstr_size)
                       : op_regions_new_default(errstr, errstr_size);
    if (!p->regions)
        goto fail;
    p->codec = op_codec_new_default(errstr, errstr_size);
    if (!p->codec)
        goto fail;
    p->authz = op_authz_new_from_conf(conf, errstr, errstr_size);
    if (!p->authz)
        goto fail;
    if (op_authz_count(p->authz) == 0)
        op_log(OP_LOG_WARNING,
               "no agency.*.regions configured: authz.default=%s applies to every agency",
               op_conf_get(conf, "authz.default"));
    if (producer_conv_init(&p->conv, p->codec, p->regions, p->authz,
                           op_conf_get_int(conf, "max.future.skew.s") * 1000, opts->default_type,
                           errstr, errstr_size) != 0)
        goto fail;
    p->conv_ready = 1;
    /* Confluent framing: every writer schema registered (or looked up) before anything is
     * read, so a refused schema stops the run with the registry's reason. --check publishes
     * nothing and contacts no registry: its messages stay single-object. */
    p->frame = op_frame_new_from_conf(conf, errstr, errstr_size);
    if (!p->frame)
        goto fail;
    if (!opts->check_only) {
        if (op_frame_bind(p->frame, p->topic, p->conv.reader, OP_EVENT_TYPES, errstr,
                          errstr_size) != 0)
            goto fail;
        p->conv.frame = p->frame;
    }
    const char *enc = op_conf_get(conf, "input.encoding");
    int e = producer_encoding_from_name(enc);
    if (e < 0) {
        op_set_err(errstr, errstr_size,
                   "input.encoding: unknown encoding \"%s\" (expected auto, utf-8 or gb18030)",
                   enc);
        goto fail;
    }
    if (producer_decoder_init(&p->dec, (enum producer_encoding)e, errstr, errstr_size) != 0)
        goto fail;
    p->dec_ready = 1;
    if (start_workers(p, errstr, errstr_size) != 0)
        goto fail;
    if (opts->check_only)
        return p;

    struct op_kafka_client_opts ko = {.opaque = p, .dr_msg_cb = dr_cb, .error_cb = error_cb};
    p->rk = op_kafka_client_new(conf, RD_KAFKA_PRODUCER, &ko, errstr, errstr_size);
    if (!p->rk)
        goto fail;
    /* The topic handle comes with the first message, after producer_ensure_topic: a handle
     * alone makes librdkafka ask for the topic. */
    /* Delivery reports on their own thread: the reader never waits for them. */
    atomic_store(&p->poller_run, 1);
    if (pthread_create(&p->poller, NULL, poller_main, p) != 0) {
        op_set_err(errstr, errstr_size, "cannot start the delivery-report thread");
        goto fail;
    }
    p->poller_started = 1;
    return p;
fail:
    producer_destroy(p);
    return NULL;
}

/* Every file was drained already: this only covers an aborted run. Its threads are gone
 * after the call, so nothing of librdkafka's is logged after the counts. */
static void close_kafka(struct producer *p)
{
    if (p->poller_started) {
        atomic_store(&p->poller_run, 0);
        pthread_join(p->poller, NULL);
        p->poller_started = 0;
    }
    if (p->rkt)
        rd_kafka_topic_destroy(p->rkt);
    p->rkt = NULL;
    if (p->rk) {
        rd_kafka_flush(p->rk, 5000);
        rd_kafka_destroy(p->rk);
    }
    p->rk = NULL;
}

void producer_destroy(struct producer *p)
{
    if (!p)
        return;
    /* Workers first: they may still hand messages to librdkafka. */
    producer_pool_destroy(p->pool);
    p->pool = NULL;
    for (int i = 0; p->workers && i < p->n_workers; i++) {
        struct producer_worker *w = &p->workers[i];
        if (w->conv_ready)
            producer_conv_free(&w->conv);
        op_codec_destroy(w->codec);
        producer_cells_free(&w->cells);
    }
    free(p->workers);
    close_kafka(p);
    op_frame_destroy(p->frame);
    producer_close_rejects(p);
    if (p->errors)
        fclose(p->errors);
    if (p->conv_ready)
        producer_conv_free(&p->conv);
    if (p->dec_ready)
        producer_decoder_free(&p->dec);
    op_buf_free(&p->csv_header);
    producer_cells_free(&p->cells);
    op_authz_destroy(p->authz);
    op_codec_destroy(p->codec);
    op_regions_destroy(p->regions);
    if (p->mutexes_ready) {
        pthread_mutex_destroy(&p->count_mu);
        pthread_mutex_destroy(&p->diag_mu);
    }
    free(p);
}

/* ---- one-shot --------------------------------------------------------------------------- */

int producer_run_files(struct producer *p, char *const *paths, int n, volatile sig_atomic_t *run)
{
    char err[512];
    if (p->rk) {
        /* A missing topic is created like the aggregator does; an unreachable broker is not
         * fatal here: every delivery then fails within message.timeout.ms and is counted. */
        int64_t t = p->message_timeout_ms < 1000    ? 1000
                    : p->message_timeout_ms > 30000 ? 30000
                                                    : p->message_timeout_ms;
        if (producer_ensure_topic(p, (int)t, err, sizeof err) != 0)
            op_log(OP_LOG_ERR, "topic %s: %s", p->topic, err);
    }
    struct producer_counts total;
    memset(&total, 0, sizeof total);
    int fatal = 0;
    char *shared = NULL;
    /* One receipt for the run, every input in it, replaced only when the run is over. */
    const char *rpath = p->opts.check_only ? NULL : op_conf_get(p->conf, "input.receipt");
    struct producer_receipt *receipt = NULL;
    if (rpath && *rpath) {
        char *tmp = malloc(strlen(rpath) + 32);
        snprintf(err, sizeof err, "out of memory");
        if (tmp) {
            snprintf(tmp, strlen(rpath) + 32, "%s.%ld.tmp", rpath, (long)getpid());
            receipt = producer_receipt_new(tmp, err, sizeof err);
        }
        free(tmp);
        if (!receipt) {
            fprintf(stderr, "outreach-producer: receipt: %s\n", err);
            return PRODUCER_EXIT_FATAL;
        }
    }
    for (int i = 0; i < n; i++) {
        int is_stdin = strcmp(paths[i], "-") == 0;
        const char *name = is_stdin ? "stdin" : paths[i];
        char *own = NULL;
        const char *rejects = p->opts.rejects;
        if (!rejects) {
            size_t len = strlen(name) + sizeof ".rejects";
            own = malloc(len);
            if (!own) {
                fprintf(stderr, "outreach-producer: out of memory\n");
                producer_receipt_destroy(receipt);
                return PRODUCER_EXIT_FATAL;
            }
            snprintf(own, len, "%s.rejects", name);
            rejects = own;
        } else
            shared = (char *)rejects;
        struct producer_sink sink = {rejects, NULL, p->opts.rejects != NULL, receipt};
        struct producer_file f;
        producer_publish(p, paths[i], name, &sink, &f, run);
        /* The rejects file holds this run's rejects only: an old one would mislead. */
        if (own && f.n.rejected == 0 && !p->rejects && unlink(own) == 0)
            op_log(OP_LOG_INFO, "removed %s left by an earlier run", own);
        free(own);
        if (n > 1) {
            char prefix[1100];
            snprintf(prefix, sizeof prefix, "%s: ", name);
            producer_print_counts(stderr, prefix, &f.n, p->opts.check_only);
        }
        total.read += f.n.read;
        total.published += f.n.published;
        total.rejected += f.n.rejected;
        total.failed += f.n.failed;
        total.lines += f.n.lines;
        total.header += f.n.header;
        total.blank += f.n.blank;
        total.record_lines += f.n.record_lines;
        if (f.open_error || f.interrupted)
            fatal = 1;
        if (f.interrupted)
            break;
    }
    if (shared && producer_close_rejects(p) == 0 && unlink(shared) == 0)
        op_log(OP_LOG_INFO, "removed %s left by an earlier run", shared);
    close_kafka(p);
    producer_print_counts(stderr, "outreach-producer: ", &total, p->opts.check_only);
    if (receipt) {
        if (producer_receipt_commit(receipt, rpath, err, sizeof err) != 0) {
            fprintf(stderr, "outreach-producer: receipt not written: %s\n", err);
            fatal = 1;
        } else
            fprintf(stderr, "outreach-producer: receipt %s: %" PRIu64 " published records\n", rpath,
                    total.published);
        producer_receipt_destroy(receipt);
    }
    if (fatal || p->fatal) {
        if (!*run)
            fprintf(stderr,
                    "outreach-producer: interrupted: the rest of the input was not "
                    "read; publish the file again (ids repeat, nothing is counted twice)\n");
        return PRODUCER_EXIT_FATAL;
    }
    if (total.failed)
        return PRODUCER_EXIT_FATAL;
    return total.rejected ? PRODUCER_EXIT_REJECTED : PRODUCER_EXIT_OK;
}
