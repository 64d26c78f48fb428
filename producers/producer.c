/* The publishing loop of outreach-producer (pattern of librdkafka's examples/producer.c):
 * read and cut batches → workers validate, encode and producev with back-pressure → a poller
 * thread serves delivery reports; a file counts as published only when every one of its
 * messages has its delivery report. Rejects are reported in input order.
 * Here: the configuration table, setup and teardown, and the one-shot run over files; one
 * file is published by producer_file.c, delivery reports and batches are producer_kafka.c's,
 * diagnostics and rejects producer_diag.c's. */
#include "producer.h"
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
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
#include "producer_internal.h"

#define P_AT(member) OP_CONF_AT(struct producer_settings, member)

/* A key of outreach-aggregator, accepted so that one configuration file serves both. */
#define AGGREGATOR_KEY(key)                                                                        \
    {                                                                                              \
        key, OP_CONF_STRING, NULL, "(outreach-aggregator; not used here)", 0, 0, OP_CONF_NOT_READ  \
    }

const struct op_conf_def producer_conf_defs[] = {
    /* Shared with outreach-aggregator (same names and defaults): one file serves both. */
    {"events.topic", OP_CONF_STRING, "outreach.events", "topic the events are published to", 0, 0,
     P_AT(events_topic)},
    {"topic.partitions", OP_CONF_INT, "6", "partitions when the producer creates the topic", 1,
     1000, P_AT(topic_partitions)},
    {"topic.replication", OP_CONF_INT, "0",
     "replication factor for a created topic (0: min(3, brokers))", 0, 16, P_AT(topic_replication)},
    {"max.future.skew.s", OP_CONF_INT, "600",
     "events timestamped further in the future than this are rejected", 0, 86400 * 7,
     P_AT(max_future_skew_s)},
    {"regions.file", OP_CONF_STRING, NULL,
     "region table CSV (default: the copy built in from schemas/regions.csv)", 0, 0,
     P_AT(regions_file)},
    OP_AUTHZ_CONF_DEFS,
    OP_FRAME_CONF_DEFS,
    OP_REGISTRY_CONF_DEFS,
    /* Ours. */
    {"input.max.record.bytes", OP_CONF_INT, "1048576",
     "longest record (line, or CSV record) accepted; longer ones are rejected", 1024,
     64 * 1024 * 1024, P_AT(max_record_bytes)},
    {"producer.threads", OP_CONF_INT, "0",
     "threads that parse, validate, encode and hand records to librdkafka (0: one per online "
     "core); the reading thread and the delivery-report thread come on top",
     0, 256, P_AT(threads)},
    {"input.encoding", OP_CONF_STRING, "auto",
     "auto (UTF-8, or GB18030 when an input is not UTF-8 but is GB18030), utf-8 or gb18030 "
     "(covers GBK); --encoding sets it",
     0, 0, P_AT(encoding)},
    {"input.sheet", OP_CONF_STRING, NULL,
     ".xlsx inputs: the worksheet to read (default: the first); --sheet sets it", 0, 0,
     P_AT(sheet)},
    {"input.receipt", OP_CONF_STRING, NULL,
     "one-shot runs: write FILE:LINE<TAB>event_id of every published record to this file, "
     "replaced atomically at the end of each run (unset: none); --receipt sets it",
     0, 0, P_AT(receipt)},
    {"spool.receipts", OP_CONF_BOOL, "true",
     "spool: write NAME.receipt (FILE:LINE<TAB>event_id of every published record) beside "
     "each file filed under done/ or failed/",
     0, 0, P_AT(spool_receipts)},
    {"spool.rescan.ms", OP_CONF_INT, "30000",
     "spool: how often incoming/ is listed besides inotify (catches missed events)", 100, 3600000,
     P_AT(spool_rescan_ms)},
    {"spool.settle.ms", OP_CONF_INT, "2000",
     "spool: a file found by listing (not by inotify) must be unchanged this long", 0, 600000,
     P_AT(spool_settle_ms)},
    {"spool.retry.max.ms", OP_CONF_INT, "60000",
     "spool: longest back-off before re-publishing a file whose deliveries failed", 1000, 3600000,
     P_AT(spool_retry_max_ms)},
    {"health.listen", OP_CONF_STRING, NULL,
     "spool: serve /healthz, /readyz and /metrics on this IPv4-ADDRESS:PORT (unset: off)", 0, 0,
     P_AT(health_listen)},
    /* Keys of outreach-aggregator, accepted so that one configuration file serves both. */
    AGGREGATOR_KEY("rollups.topic"),
    AGGREGATOR_KEY("seen.topic"),
    AGGREGATOR_KEY("dlq.topic"),
    AGGREGATOR_KEY("group.name"),
    AGGREGATOR_KEY("instance.id"),
    AGGREGATOR_KEY("commit.interval.ms"),
    AGGREGATOR_KEY("campaigns"),
    AGGREGATOR_KEY("dedup.horizon.days"),
    AGGREGATOR_KEY("restore.timeout.ms"),
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
    return op_conf_set_pairs(conf, defaults, errstr, errstr_size);
}

/* ---- helpers ---------------------------------------------------------------------------- */

const struct producer_settings *producer_settings(const struct producer *p)
{
    return &p->set;
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

/* ---- lifecycle -------------------------------------------------------------------------- */

/* producer.threads conversion threads, each with its own codec and conversion context. */
static int start_workers(struct producer *p, char *errstr, size_t errstr_size)
{
    int n = p->set.threads;
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
                                            (int64_t)p->set.max_future_skew_s * 1000,
                                            p->opts.default_type, errstr, errstr_size) != 0)
            return -1;
        w->conv_ready = 1;
        w->conv.text_utf8_valid = 1; /* producer_decoder_record checked every record */
        w->conv.frame = p->opts.check_only ? NULL : p->frame;
    }
    /* Two batches per worker keep every worker busy while the reader cuts the next ones. */
    p->pool = producer_pool_new(n, 2 * n + 2, producer_convert_batch, p, errstr, errstr_size);
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
    op_conf_bind(conf, &p->set);
    p->opts = *opts;
    pthread_mutex_init(&p->count_mu, NULL);
    pthread_mutex_init(&p->diag_mu, NULL);
    p->mutexes_ready = 1;
    p->topic = p->set.events_topic;
    p->max_record = (size_t)p->set.max_record_bytes;
    p->sheet = p->set.sheet;
    if (p->sheet && !p->sheet[0])
        p->sheet = NULL;
    p->tty = isatty(STDERR_FILENO);
    p->progress = opts->progress < 0 ? p->tty : opts->progress;

    char buf[64];
    const char *mt = op_conf_kafka_get(conf, "message.timeout.ms", buf, sizeof buf);
    p->message_timeout_ms = mt ? strtoll(mt, NULL, 10) : 300000;

    p->regions = op_regions_new_from_file(p->set.regions_file, errstr, errstr_size);
    if (!p->regions)
        goto fail;
    p->codec = op_codec_new_default(errstr, errstr_size);
    if (!p->codec)
        goto fail;
    p->authz = op_authz_new_from_conf(conf, errstr, errstr_size);
    if (!p->authz)
        goto fail;
    if (producer_conv_init(&p->conv, p->codec, p->regions, p->authz,
                           (int64_t)p->set.max_future_skew_s * 1000, opts->default_type, errstr,
                           errstr_size) != 0)
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
    const char *enc = p->set.encoding;
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

    struct op_kafka_client_opts ko = {
        .opaque = p, .dr_msg_cb = producer_dr_cb, .error_cb = producer_error_cb};
    p->rk = op_kafka_client_new(conf, RD_KAFKA_PRODUCER, &ko, errstr, errstr_size);
    if (!p->rk)
        goto fail;
    /* The topic handle comes with the first message, after producer_ensure_topic: a handle
     * alone makes librdkafka ask for the topic. */
    /* Delivery reports on their own thread: the reader never waits for them. */
    atomic_store(&p->poller_run, 1);
    if (pthread_create(&p->poller, NULL, producer_poller_main, p) != 0) {
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
    const char *rpath = p->opts.check_only ? NULL : p->set.receipt;
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
