/* The publishing loop of outreach-producer (pattern of librdkafka's examples/producer.c):
 * read → validate → producev with back-pressure → poll; a file counts as published only
 * when every one of its messages has its delivery report. */
#include "producer.h"
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "authz.h"
#include "cli.h"
#include "codec.h"
#include "kafka.h"
#include "log.h"
#include "notify.h"
#include "record.h"
#include "regions.h"

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
    /* Ours. */
    {"input.max.record.bytes", OP_CONF_INT, "1048576",
     "longest record (line, or CSV record) accepted; longer ones are rejected", 1024,
     64 * 1024 * 1024},
    {"input.encoding", OP_CONF_STRING, "auto",
     "auto (UTF-8, or GB18030 when an input is not UTF-8 but is GB18030), utf-8 or gb18030 "
     "(covers GBK); --encoding sets it",
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

struct producer {
    struct op_conf *conf;
    struct producer_opts opts;
    struct op_codec *codec;
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
    struct op_buf enc;
    struct producer_cells cells;
    struct op_buf csv_header; /* raw header of the current CSV file, for its rejects */
    /* the file being published; delivery reports are counted into it */
    struct producer_file *cur;
    const struct producer_sink *sink;
    int64_t in_flight;
    volatile int fatal;
    /* diagnostics */
    FILE *rejects;
    char *rejects_path;
    uint64_t rejects_written;
    FILE *errors;
    int progress, tty, progress_shown;
    int64_t progress_at;
    uint64_t progress_read;
    /* Spool under systemd: half of WatchdogSec, pinged while a long file is published. */
    int64_t watchdog_ms, last_ping_ms;
};

/* ---- helpers ---------------------------------------------------------------------------- */

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

const struct op_conf *producer_conf(const struct producer *p)
{
    return p->conf;
}

void producer_poll(struct producer *p, int timeout_ms)
{
    if (p->rk)
        rd_kafka_poll(p->rk, timeout_ms);
}

int producer_fatal(const struct producer *p)
{
    return p->fatal;
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
    if (p->watchdog_ms && now - p->last_ping_ms >= p->watchdog_ms) {
        op_notify("WATCHDOG=1");
        p->last_ping_ms = now;
    }
    if (!p->progress)
        return;
    if (!force && now - p->progress_at < 1000)
        return;
    double dt = (double)(now - p->progress_at) / 1000.0;
    double rate = dt > 0 ? (double)(f->n.read - p->progress_read) / dt : 0;
    char line[512];
    snprintf(line, sizeof line,
             "%s: read %" PRIu64 " (%.0f/s), %s %" PRIu64 ", rejected %" PRIu64 ", failed %" PRIu64
             ", in flight %" PRId64,
             f->name, f->n.read, rate, p->opts.check_only ? "valid" : "published", f->n.published,
             f->n.rejected, f->n.failed, p->in_flight);
    p->progress_at = now;
    p->progress_read = f->n.read;
    if (p->opts.spool)
        op_log(OP_LOG_INFO, "progress: %s", line);
    else if (p->tty) {
        fprintf(stderr, "\r%s\033[K", line);
        p->progress_shown = 1;
    } else
        fprintf(stderr, "progress: %s\n", line);
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
    f->reported++;
    if (!p->sink || !p->sink->errors_path) {
        clear_progress(p);
        fprintf(stderr, "%s\n", line);
        return;
    }
    if (!p->errors) {
        p->errors = fopen(p->sink->errors_path, "w");
        if (!p->errors)
            op_log(OP_LOG_ERR, "%s: %s", p->sink->errors_path, strerror(errno));
    }
    if (p->errors)
        fprintf(p->errors, "%s\n", line);
    if (quiet)
        return;
    if (++f->logged <= 20)
        op_log(OP_LOG_WARNING, "%s", line);
    else if (f->logged == 21)
        op_log(OP_LOG_WARNING, "%s: more problems than logged here: see its .errors report",
               f->name);
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

static void failed(struct producer *p, struct producer_file *f, long line, rd_kafka_resp_err_t e)
{
    f->n.failed++;
    if (permanent(e))
        f->failed_permanent++;
    if (!f->first_failure[0])
        snprintf(f->first_failure, sizeof f->first_failure, "%s", rd_kafka_err2str(e));
    /* A broker outage fails every message: keep the report readable. */
    uint64_t limit = p->sink && p->sink->errors_path ? 1000 : 10;
    if (++f->failures_reported <= limit)
        diag_line(p, f, 1, "%s:%ld: kafka: %s", f->name, line, rd_kafka_err2str(e));
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct producer *p = opaque;
    p->in_flight--;
    struct producer_file *f = p->cur;
    if (!f)
        return;
    if (!m->err)
        f->n.published++;
    else
        failed(p, f, (long)(uintptr_t)m->_private, m->err);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct producer *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        op_log(OP_LOG_ERR, "fatal producer error: %s: %s", rd_kafka_err2name(orig), buf);
        p->fatal = 1;
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
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 1, NULL, &md, timeout_ms);
    if (e) {
        set_err(errstr, errstr_size, "metadata: %s", rd_kafka_err2str(e));
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

static void produce(struct producer *p, struct producer_file *f, struct producer_rec *r, long line)
{
    const char *type = op_event_type_name(r->type);
    rd_kafka_resp_err_t e;
    if (!p->rkt && !(p->rkt = rd_kafka_topic_new(p->rk, p->topic, NULL))) {
        failed(p, f, line, rd_kafka_last_error());
        return;
    }
    for (;;) {
        e = rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(p->rkt), RD_KAFKA_V_KEY(r->key, 6),
                              RD_KAFKA_V_VALUE((void *)r->msg, r->msg_len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADER("type", type, -1),
                              RD_KAFKA_V_OPAQUE((void *)(uintptr_t)line), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || p->fatal)
            break;
        /* Back-pressure: serve delivery reports until the queue has room. */
        rd_kafka_poll(p->rk, 100);
        progress(p, f, 0);
    }
    if (e) {
        failed(p, f, line, e);
        return;
    }
    p->in_flight++;
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
    while (p->in_flight > 0) {
        rd_kafka_poll(p->rk, 100);
        progress(p, f, 0);
        if (!purged && op_clock_mono_ms() > deadline) {
            op_log(OP_LOG_ERR,
                   "%s: %" PRId64 " messages unacknowledged after %" PRId64 " ms: purging them",
                   f->name, p->in_flight, p->message_timeout_ms + 30000);
            rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            purged = 1;
            deadline = op_clock_mono_ms() + 10000;
        } else if (purged && op_clock_mono_ms() > deadline) {
            /* Never seen; the accounting is now unreliable, so the producer must restart. */
            f->n.failed += (uint64_t)p->in_flight;
            p->in_flight = 0;
            p->fatal = 1;
        }
    }
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
    producer_decoder_start(&p->dec, path, name, run);
    say_encoding(p);
    int csv = in.format == PRODUCER_FORMAT_CSV, have_header = 0;
    struct producer_csv_header hdr;
    memset(&hdr, 0, sizeof hdr);
    struct producer_raw raw;
    for (;;) {
        if (!*run || p->fatal) {
            f->interrupted = 1;
            break;
        }
        int r = producer_input_next(&in, &raw);
        if (r < 0 && !*run) {
            f->interrupted = 1;
            break;
        }
        if (r < 0) {
            diag(p, f, "%s: read error: %s", name, in.error);
            f->open_error = 1;
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
        } else if (csv && producer_csv_split(text, text_len, &p->cells, &bad, &why) != 0) {
            snprintf(field, sizeof field, "%s",
                     !is_header && bad < hdr.ncols ? hdr.names[bad]
                     : is_header                   ? "header"
                                                   : "record");
            snprintf(reason, sizeof reason, "%s%s", why,
                     !is_header && bad >= hdr.ncols ? " (past the last column)" : "");
        } else if (is_header) {
            if (producer_csv_header_init(&hdr, &p->conv, p->cells.cell, p->cells.len, p->cells.n,
                                         field, sizeof field, reason, sizeof reason) == 0)
                continue;
        } else {
            struct producer_rec rec;
            int rc = csv ? producer_conv_csv(&p->conv, &hdr, p->cells.cell, p->cells.len,
                                             p->cells.n, op_clock_wall_ms(), &rec, field,
                                             sizeof field, reason, sizeof reason)
                         : producer_conv_json(&p->conv, text, text_len, op_clock_wall_ms(), &rec,
                                              field, sizeof field, reason, sizeof reason);
            if (rc == 0) {
                if (p->opts.check_only)
                    f->n.published++;
                else
                    produce(p, f, &rec, raw.line);
                goto next;
            }
        }
        if (is_header) {
            /* Without a header no row can be read: say it once, keep every row. */
            f->header_error = 1;
            diag(p, f, "%s:%ld: %s: %s", name, raw.line, field, reason);
            continue;
        }
        reject(p, f, raw.line, field, reason, raw.data, raw.len);
    next:
        if (p->rk)
            rd_kafka_poll(p->rk, 0);
        if ((f->n.read & 255) == 0)
            progress(p, f, 0);
    }
    producer_csv_header_free(&hdr);
    f->n.lines = (uint64_t)in.lines;
    f->n.blank = (uint64_t)in.blank_lines;
    producer_input_close(&in);
    f->encoding = p->dec.enc;
    drain(p, f);
done:
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

struct producer *producer_new(struct op_conf *conf, const struct producer_opts *opts, char *errstr,
                              size_t errstr_size)
{
    struct producer *p = calloc(1, sizeof *p);
    if (!p) {
        set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    p->conf = conf;
    p->opts = *opts;
    p->topic = op_conf_get(conf, "events.topic");
    p->max_record = (size_t)op_conf_get_int(conf, "input.max.record.bytes");
    p->tty = isatty(STDERR_FILENO);
    p->progress = opts->progress < 0 ? p->tty : opts->progress;
    if (opts->spool) {
        p->watchdog_ms = (int64_t)(op_notify_watchdog_usec() / 2000);
        p->last_ping_ms = op_clock_mono_ms();
    }

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
    const char *enc = op_conf_get(conf, "input.encoding");
    int e = producer_encoding_from_name(enc);
    if (e < 0) {
        set_err(errstr, errstr_size,
                "input.encoding: unknown encoding \"%s\" (expected auto, utf-8 or gb18030)", enc);
        goto fail;
    }
    if (producer_decoder_init(&p->dec, (enum producer_encoding)e, errstr, errstr_size) != 0)
        goto fail;
    p->dec_ready = 1;
    if (opts->check_only)
        return p;

    rd_kafka_conf_t *c = op_conf_kafka_dup(conf);
    if (!c) {
        set_err(errstr, errstr_size, "out of memory");
        goto fail;
    }
    rd_kafka_conf_set_opaque(c, p);
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    rd_kafka_conf_set_error_cb(c, error_cb);
    char err[512];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (!p->rk) {
        rd_kafka_conf_destroy(c);
        set_err(errstr, errstr_size, "%s", err);
        goto fail;
    }
    /* rd_kafka_new() took ownership of c. The topic handle comes with the first message,
     * after producer_ensure_topic: a handle alone makes librdkafka ask for the topic. */
    c = NULL;
    return p;
fail:
    producer_destroy(p);
    return NULL;
}

/* Every file was drained already: this only covers an aborted run. Its threads are gone
 * after the call, so nothing of librdkafka's is logged after the counts. */
static void close_kafka(struct producer *p)
{
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
    close_kafka(p);
    producer_close_rejects(p);
    if (p->errors)
        fclose(p->errors);
    if (p->conv_ready)
        producer_conv_free(&p->conv);
    if (p->dec_ready)
        producer_decoder_free(&p->dec);
    op_buf_free(&p->enc);
    op_buf_free(&p->csv_header);
    producer_cells_free(&p->cells);
    op_authz_destroy(p->authz);
    op_codec_destroy(p->codec);
    op_regions_destroy(p->regions);
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
                return PRODUCER_EXIT_FATAL;
            }
            snprintf(own, len, "%s.rejects", name);
            rejects = own;
        } else
            shared = (char *)rejects;
        struct producer_sink sink = {rejects, NULL, p->opts.rejects != NULL};
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
