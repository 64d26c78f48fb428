/* The dead-letter tool's Kafka side: one partition at a time from its start (or --from) to
 * the end it had when we looked, so every command terminates even while dead letters arrive. */
#include "dlq.h"
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "avrojson.h"
#include "err.h"
#include "codec.h"
#include "kafka.h"
#include "log.h"
#include "registry.h"
#include "topicread.h"

int dlq_parse_position(const char *s, struct dlq_position *pos)
{
    char *end;
    errno = 0;
    if (!s || *s < '0' || *s > '9')
        return -1;
    long long p = strtoll(s, &end, 10);
    if (errno || *end != ':' || p > INT32_MAX || end[1] < '0' || end[1] > '9')
        return -1;
    long long o = strtoll(end + 1, &end, 10);
    if (errno || *end)
        return -1;
    pos->partition = (int32_t)p;
    pos->offset = o;
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

/* Writes bytes so that one record stays on one line and columns stay columns: tab, CR, LF,
 * backslash and other control bytes are escaped; UTF-8 text passes unchanged. */
static void put_escaped(FILE *out, const void *data, size_t len)
{
    const unsigned char *s = data;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == '\\')
            fputs("\\\\", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
}

static void put_escaped_str(FILE *out, const char *s)
{
    put_escaped(out, s, strlen(s));
}

/* RFC 3339 UTC with milliseconds, or "-" for a time we do not have. */
static void format_time(int64_t ms, char *buf, size_t size)
{
    struct tm tm;
    time_t secs = (time_t)(ms / 1000);
    if (ms < 0 || !gmtime_r(&secs, &tm)) {
        snprintf(buf, size, "-");
        return;
    }
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%03dZ", day, (int)(ms % 1000));
}

/* ---- the dlq.* headers ------------------------------------------------------------------ */

struct dlq_meta {
    char reason[64];
    char error[2048];
    char source_topic[256];
    int32_t source_partition; /* -1: no header */
    int64_t source_offset;    /* -1: no header */
    int64_t time_ms;          /* dlq.time, else the message timestamp, else -1 */
    /* outreach-reporter's dead letters: a batch rejected by endpoint NAME (4xx) covers
     * dlq.source.first_offset..last_offset and says dlq.status; a single undecodable rollup
     * has dlq.source.offset. Both name dlq.endpoint. */
    char endpoint[128];
    int64_t first_offset, last_offset, status;
};

/* Copies header `name` as a C string (cut to size-1 bytes); "" when absent. */
static void header_str(rd_kafka_headers_t *h, const char *name, char *buf, size_t size)
{
    const void *val = NULL;
    size_t len = 0;
    buf[0] = 0;
    if (!h || rd_kafka_header_get_last(h, name, &val, &len) != RD_KAFKA_RESP_ERR_NO_ERROR || !val)
        return;
    if (len >= size)
        len = size - 1;
    memcpy(buf, val, len);
    buf[len] = 0;
}

static int64_t header_int(rd_kafka_headers_t *h, const char *name)
{
    char buf[32], *end;
    header_str(h, name, buf, sizeof buf);
    if (!buf[0])
        return -1;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    return errno || *end || v < 0 ? -1 : v;
}

static void read_meta(const rd_kafka_message_t *m, struct dlq_meta *meta)
{
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        h = NULL;
    header_str(h, "dlq.reason", meta->reason, sizeof meta->reason);
    header_str(h, "dlq.error", meta->error, sizeof meta->error);
    header_str(h, "dlq.source.topic", meta->source_topic, sizeof meta->source_topic);
    int64_t p = header_int(h, "dlq.source.partition");
    meta->source_partition = p >= 0 && p <= INT32_MAX ? (int32_t)p : -1;
    meta->source_offset = header_int(h, "dlq.source.offset");
    meta->time_ms = header_int(h, "dlq.time");
    if (meta->time_ms < 0)
        meta->time_ms = rd_kafka_message_timestamp(m, NULL);
    header_str(h, "dlq.endpoint", meta->endpoint, sizeof meta->endpoint);
    meta->first_offset = header_int(h, "dlq.source.first_offset");
    meta->last_offset = header_int(h, "dlq.source.last_offset");
    meta->status = header_int(h, "dlq.status");
    if (!meta->error[0] && meta->status >= 0) {
        char body[sizeof meta->error - 32];
        header_str(h, "dlq.body", body, sizeof body);
        snprintf(meta->error, sizeof meta->error, "HTTP %" PRId64 "%s%s", meta->status,
                 body[0] ? ": " : "", body);
    }
}

static int reason_selected(const struct dlq_opts *o, const char *reason)
{
    if (o->n_reasons == 0)
        return 1;
    for (size_t i = 0; i < o->n_reasons; i++)
        if (strcmp(o->reasons[i], reason) == 0)
            return 1;
    return 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

static rd_kafka_t *new_reader(const struct op_conf *conf, char *errstr, size_t errstr_size)
{
    /* assign() only: the group is never joined and no offset is ever committed. */
    return op_topicread_new(conf, "outreach-dlq", errstr, errstr_size);
}

/* Called for each selected message; returns 0 to go on, -1 to stop with an error. */
typedef int (*visit_cb)(const rd_kafka_message_t *m, const struct dlq_meta *meta, void *opaque);

struct scan_stats {
    uint64_t read, selected;
};

struct scan_ctx {
    const struct dlq_opts *o;
    visit_cb cb;
    void *opaque;
    struct scan_stats *st;
};

static int64_t scan_start(int32_t p, void *opaque)
{
    const struct scan_ctx *c = opaque;
    if (c->o->n_from == 0)
        return RD_KAFKA_OFFSET_BEGINNING;
    for (size_t i = 0; i < c->o->n_from; i++)
        if (c->o->from[i].partition == p)
            return c->o->from[i].offset;
    return OP_TOPICREAD_SKIP;
}

static int scan_message(const rd_kafka_message_t *m, void *opaque)
{
    struct scan_ctx *c = opaque;
    struct dlq_meta meta;
    read_meta(m, &meta);
    if (!reason_selected(c->o, meta.reason))
        return 0;
    c->st->selected++;
    return c->cb(m, &meta, c->opaque);
}

/* Reads every partition of the DLQ (or those named by --from) from its start to the high
 * watermark it had before we began, in partition then offset order, and calls cb for each
 * message whose reason is selected. Returns 0, or -1 with errstr. */
static int scan(rd_kafka_t *rk, const struct dlq_settings *s, const struct dlq_opts *o,
                volatile sig_atomic_t *run, visit_cb cb, void *opaque, struct scan_stats *st,
                char *errstr, size_t errstr_size)
{
    int md_timeout = s->metadata_timeout_ms;
    if (o->n_from > 0) {
        int parts = op_kafka_partition_count(rk, o->topic, md_timeout, errstr, errstr_size);
        if (parts < 0)
            return -1;
        for (size_t i = 0; i < o->n_from; i++)
            if (o->from[i].partition >= parts) {
                op_set_err(errstr, errstr_size,
                           "--from %" PRId32 ":%" PRId64 ": %s has %d partitions",
                           o->from[i].partition, o->from[i].offset, o->topic, parts);
                return -1;
            }
    }
    struct scan_ctx c = {o, cb, opaque, st};
    struct op_topicread_opts ro = {.metadata_timeout_ms = md_timeout,
                                   .idle_timeout_ms = s->read_timeout_ms,
                                   .run = run,
                                   .start = scan_start,
                                   .msg = scan_message,
                                   .opaque = &c};
    return op_topicread_scan(rk, o->topic, &ro, &st->read, errstr, errstr_size);
}

/* ---- list ------------------------------------------------------------------------------- */

static int list_one(const rd_kafka_message_t *m, const struct dlq_meta *meta, void *opaque)
{
    FILE *out = opaque;
    char when[48];
    format_time(meta->time_ms, when, sizeof when);
    fprintf(out, "%" PRId32 ":%" PRId64 "\t%s\t", m->partition, m->offset, when);
    put_escaped_str(out, meta->reason[0] ? meta->reason : "-");
    fputc('\t', out);
    if (meta->source_topic[0]) {
        put_escaped_str(out, meta->source_topic);
        fprintf(out, ":%" PRId32, meta->source_partition);
        if (meta->source_offset >= 0)
            fprintf(out, ":%" PRId64, meta->source_offset);
        else if (meta->first_offset >= 0)
            fprintf(out, ":%" PRId64 "-%" PRId64, meta->first_offset, meta->last_offset);
    } else
        fputc('-', out);
    fputc('\t', out);
    put_escaped_str(out, meta->error[0] ? meta->error : "-");
    fputc('\n', out);
    return ferror(out) ? -1 : 0;
}

int dlq_list(const struct op_conf *conf, const struct dlq_settings *s, const struct dlq_opts *o,
             FILE *out, volatile sig_atomic_t *run)
{
    char err[1024];
    rd_kafka_t *rk = new_reader(conf, err, sizeof err);
    if (!rk) {
        op_log(OP_LOG_ERR, "%s", err);
        return DLQ_EXIT_ERROR;
    }
    struct scan_stats st = {0, 0};
    int rc = scan(rk, s, o, run, list_one, out, &st, err, sizeof err);
    op_topicread_close(rk);
    if (fflush(out) != 0)
        rc = -1;
    if (rc != 0) {
        op_log(OP_LOG_ERR, "%s", err);
        return DLQ_EXIT_ERROR;
    }
    op_log(OP_LOG_INFO, "%s: %" PRIu64 " of %" PRIu64 " dead letters listed", o->topic, st.selected,
           st.read);
    return *run ? DLQ_EXIT_OK : DLQ_EXIT_INCOMPLETE;
}

/* ---- show ------------------------------------------------------------------------------- */

static void hex_dump(FILE *out, const unsigned char *data, size_t len, size_t max)
{
    size_t n = len < max ? len : max;
    for (size_t row = 0; row < n; row += 16) {
        fprintf(out, "%08zx ", row);
        for (size_t i = row; i < row + 16; i++) {
            if (i % 8 == 0)
                fputc(' ', out);
            if (i < n)
                fprintf(out, "%02x ", data[i]);
            else
                fputs("   ", out);
        }
        fputs(" |", out);
        for (size_t i = row; i < row + 16 && i < n; i++)
            fputc(data[i] >= 0x20 && data[i] < 0x7f ? data[i] : '.', out);
        fputs("|\n", out);
    }
    if (len > n)
        fprintf(out, "... %zu more bytes\n", len - n);
}

static int show_message(const struct op_conf *conf, const rd_kafka_message_t *m, const char *topic,
                        FILE *out)
{
    char when[48], err[512];
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    format_time(ts, when, sizeof when);
    fprintf(out, "message    %s %" PRId32 ":%" PRId64 "\n", topic, m->partition, m->offset);
    fprintf(out, "timestamp  %s%s\n", when,
            tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? " (log append time)" : "");
    fputs("key        ", out);
    if (m->key)
        put_escaped(out, m->key, m->key_len);
    else
        fputs("(null)", out);
    fputc('\n', out);
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == 0; i++) {
            fputs("header     ", out);
            put_escaped_str(out, name);
            fputs(": ", out);
            if (val)
                put_escaped(out, val, size);
            else
                fputs("(null)", out);
            fputc('\n', out);
            if (strcmp(name, "dlq.time") == 0) {
                struct dlq_meta meta;
                read_meta(m, &meta);
                format_time(meta.time_ms, when, sizeof when);
                fprintf(out, "           (%s)\n", when);
            }
        }
    }
    if (!m->payload) {
        fputs("value      (null)\n", out);
        return 0;
    }
    struct op_codec *codec = op_codec_new_default(err, sizeof err);
    struct op_registry *registry = NULL;
    if (!codec || op_registry_new_from_conf(conf, &registry, err, sizeof err) != 0) {
        op_log(OP_LOG_ERR, "codec: %s", err);
        op_codec_destroy(codec);
        return -1;
    }
    op_codec_set_registry(codec, registry);
    avro_value_t *v = NULL;
    const struct op_schema *writer = NULL, *reader = NULL;
    int drc = op_codec_decode(codec, m->payload, m->len, &v, &writer, &reader, err, sizeof err);
    json_t *j = drc == 0 ? op_avrojson_to_json(v) : NULL;
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text) {
        fprintf(out, "value      %zu bytes, schema %s (fingerprint %016" PRIx64 ")", m->len,
                writer->name, writer->fingerprint);
        if (reader != writer)
            fprintf(out, " read as %s", reader->name);
        fprintf(out, "\n%s\n", text);
    } else {
        fprintf(out, "value      %zu bytes, not decodable: %s: ", m->len,
                drc ? op_codec_err_name(drc) : "json");
        put_escaped_str(out, drc ? err : "cannot render the decoded value as JSON");
        fputc('\n', out);
        hex_dump(out, m->payload, m->len, 256);
    }
    free(text);
    json_decref(j);
    op_codec_destroy(codec);
    op_registry_destroy(registry);
    return 0;
}

int dlq_show(const struct op_conf *conf, const struct dlq_settings *s, const struct dlq_opts *o,
             struct dlq_position at, FILE *out, volatile sig_atomic_t *run)
{
    char err[1024];
    int rc = DLQ_EXIT_ERROR;
    rd_kafka_t *rk = new_reader(conf, err, sizeof err);
    if (!rk) {
        op_log(OP_LOG_ERR, "%s", err);
        return DLQ_EXIT_ERROR;
    }
    int md_timeout = s->metadata_timeout_ms;
    int64_t idle_max = s->read_timeout_ms, lo, hi;
    int parts = op_kafka_partition_count(rk, o->topic, md_timeout, err, sizeof err);
    if (parts < 0) {
        op_log(OP_LOG_ERR, "%s", err);
        goto cleanup;
    }
    if (at.partition >= parts) {
        op_log(OP_LOG_ERR, "%s has %d partitions: no partition %" PRId32, o->topic, parts,
               at.partition);
        rc = DLQ_EXIT_INCOMPLETE;
        goto cleanup;
    }
    if (op_topicread_watermarks(rk, o->topic, at.partition, md_timeout, &lo, &hi, err,
                                sizeof err) != 0) {
        op_log(OP_LOG_ERR, "%s", err);
        goto cleanup;
    }
    if (at.offset < lo || at.offset >= hi) {
        op_log(OP_LOG_ERR,
               "%s [%" PRId32 "] holds offsets %" PRId64 "..%" PRId64 ": no message at %" PRId64,
               o->topic, at.partition, lo, hi - 1, at.offset);
        rc = DLQ_EXIT_INCOMPLETE;
        goto cleanup;
    }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, o->topic, at.partition)->offset = at.offset;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e) {
        op_log(OP_LOG_ERR, "assign: %s", rd_kafka_err2str(e));
        goto cleanup;
    }
    int64_t last = op_clock_mono_ms();
    while (*run) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) {
            if (op_clock_mono_ms() - last > idle_max) {
                op_log(OP_LOG_ERR, "%s [%" PRId32 "]: nothing received for %" PRId64 " ms",
                       o->topic, at.partition, idle_max);
                break;
            }
            continue;
        }
        last = op_clock_mono_ms();
        int finished = 1;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || (!m->err && m->offset > at.offset)) {
            /* Offsets of control records and of aborted or compacted messages hold nothing. */
            op_log(OP_LOG_ERR, "%s: no committed message at %" PRId32 ":%" PRId64, o->topic,
                   at.partition, at.offset);
            rc = DLQ_EXIT_INCOMPLETE;
        } else if (m->err) {
            op_log(OP_LOG_ERR, "%s [%" PRId32 "]: %s", o->topic, at.partition,
                   rd_kafka_message_errstr(m));
            finished = m->err == RD_KAFKA_RESP_ERR__FATAL;
        } else if (m->offset == at.offset) {
            rc = show_message(conf, m, o->topic, out) == 0 && fflush(out) == 0 ? DLQ_EXIT_OK
                                                                               : DLQ_EXIT_ERROR;
        } else {
            finished = 0; /* below the requested offset: not possible after assign, skip */
        }
        rd_kafka_message_destroy(m);
        if (finished)
            break;
    }
    rd_kafka_assign(rk, NULL);
cleanup:
    op_topicread_close(rk);
    return rc;
}

/* ---- replay ----------------------------------------------------------------------------- */

struct known_topic {
    char name[256];
    int partitions; /* -1: does not exist */
};

struct replay {
    const struct dlq_opts *o;
    FILE *out;
    rd_kafka_t *reader, *producer;
    int md_timeout;
    struct known_topic topics[32];
    size_t n_topics;
    uint64_t queued, delivered, failed, skipped;
};

/* What a delivery report needs to say which dead letter it was. */
struct replay_item {
    int32_t partition;
    int64_t offset;
    char reason[64];
};

static void replay_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct replay *r = opaque;
    struct replay_item *it = m->_private;
    if (m->err) {
        r->failed++;
        op_log(OP_LOG_ERR, "%" PRId32 ":%" PRId64 " -> %s: delivery failed: %s",
               it ? it->partition : -1, it ? it->offset : -1, rd_kafka_topic_name(m->rkt),
               rd_kafka_err2str(m->err));
    } else {
        r->delivered++;
        fprintf(r->out, "replayed %" PRId32 ":%" PRId64 " (", it ? it->partition : -1,
                it ? it->offset : -1);
        put_escaped_str(r->out, it && it->reason[0] ? it->reason : "-");
        fprintf(r->out, ") -> %s:%" PRId32 ":%" PRId64 "\n", rd_kafka_topic_name(m->rkt),
                m->partition, m->offset);
    }
    free(it);
}

/* Partition count of a destination topic (cached), -1 if it does not exist. */
static int destination_partitions(struct replay *r, const char *topic)
{
    for (size_t i = 0; i < r->n_topics; i++)
        if (strcmp(r->topics[i].name, topic) == 0)
            return r->topics[i].partitions;
    char err[512];
    int n = op_kafka_partition_count(r->reader, topic, r->md_timeout, err, sizeof err);
    if (n < 0)
        op_log(OP_LOG_ERR, "destination %s", err);
    if (r->n_topics < sizeof r->topics / sizeof r->topics[0] && strlen(topic) < 256) {
        snprintf(r->topics[r->n_topics].name, sizeof r->topics[0].name, "%s", topic);
        r->topics[r->n_topics++].partitions = n;
    }
    return n;
}

/* The original headers minus our dlq.* ones, plus dlq.replayed. */
static rd_kafka_headers_t *replay_headers(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *src = NULL, *h = rd_kafka_headers_new(8);
    if (rd_kafka_message_headers(m, &src) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(src, i, &name, &val, &size) == 0; i++)
            if (strncmp(name, "dlq.", 4) != 0)
                rd_kafka_header_add(h, name, -1, val, val ? (ssize_t)size : 0);
    }
    char pos[48];
    snprintf(pos, sizeof pos, "%" PRId32 ":%" PRId64, m->partition, m->offset);
    rd_kafka_header_add(h, "dlq.replayed", -1, pos, -1);
    return h;
}

static int replay_one(const rd_kafka_message_t *m, const struct dlq_meta *meta, void *opaque)
{
    struct replay *r = opaque;
    const char *dest = r->o->to ? r->o->to : meta->source_topic;
    if (!dest[0]) {
        r->skipped++;
        op_log(OP_LOG_ERR,
               "%" PRId32 ":%" PRId64 ": no dlq.source.topic header: skipped "
               "(give --to TOPIC)",
               m->partition, m->offset);
        return 0;
    }
    if (meta->endpoint[0]) {
        /* Its value is a rollup or a batch of them: writing it back would corrupt the
         * aggregator's compacted output. Endpoints re-read rollups from their group's
         * offsets instead. */
        r->skipped++;
        op_log(OP_LOG_ERR,
               "%" PRId32 ":%" PRId64 ": a dead letter of outreach-reporter (endpoint %s): "
               "not replayable; reset that endpoint's consumer group instead",
               m->partition, m->offset, meta->endpoint);
        return 0;
    }
    if (strcmp(dest, r->o->topic) == 0) {
        r->skipped++;
        op_log(OP_LOG_ERR,
               "%" PRId32 ":%" PRId64 ": destination is the dead-letter topic "
               "itself: skipped",
               m->partition, m->offset);
        return 0;
    }
    if (destination_partitions(r, dest) < 0) {
        r->skipped++;
        op_log(OP_LOG_ERR, "%" PRId32 ":%" PRId64 ": destination %s does not exist: skipped",
               m->partition, m->offset, dest);
        return 0;
    }
    if (r->o->dry_run) {
        r->delivered++;
        fprintf(r->out, "would replay %" PRId32 ":%" PRId64 " (", m->partition, m->offset);
        put_escaped_str(r->out, meta->reason[0] ? meta->reason : "-");
        fprintf(r->out, ") -> %s, key ", dest);
        if (m->key)
            put_escaped(r->out, m->key, m->key_len);
        else
            fputs("(null)", r->out);
        fprintf(r->out, ", %zu bytes\n", m->payload ? m->len : 0);
        return 0;
    }
    struct replay_item *it = malloc(sizeof *it);
    rd_kafka_headers_t *h = replay_headers(m);
    if (!it || !h) {
        free(it);
        if (h)
            rd_kafka_headers_destroy(h);
        op_log(OP_LOG_ERR, "out of memory");
        return -1;
    }
    it->partition = m->partition;
    it->offset = m->offset;
    snprintf(it->reason, sizeof it->reason, "%s", meta->reason);
    /* Keyed like the producer publishes, so the default partitioner puts the event where
     * its province's other events are (and where its dedup state lives). */
    rd_kafka_resp_err_t e;
    for (;;) {
        e = rd_kafka_producev(r->producer, RD_KAFKA_V_TOPIC(dest),
                              RD_KAFKA_V_KEY(m->key, m->key ? m->key_len : 0),
                              RD_KAFKA_V_VALUE(m->payload, m->payload ? m->len : 0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                              RD_KAFKA_V_OPAQUE(it), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(r->producer, 100);
    }
    if (e) {
        /* producev did not take the headers on failure. */
        rd_kafka_headers_destroy(h);
        free(it);
        r->failed++;
        op_log(OP_LOG_ERR, "%" PRId32 ":%" PRId64 " -> %s: %s", m->partition, m->offset, dest,
               rd_kafka_err2str(e));
        return rd_kafka_fatal_error(r->producer, NULL, 0) ? -1 : 0;
    }
    r->queued++;
    rd_kafka_poll(r->producer, 0);
    return 0;
}

static rd_kafka_t *new_producer(const struct op_conf *conf, struct replay *r, char *errstr,
                                size_t errstr_size)
{
    /* No duplicates from retries, no ack before every in-sync replica has it. Our
     * message.timeout.ms reaches this producer (and only it) through the table. */
    static const char *const settings[] = {"enable.idempotence", "true", "acks", "all", NULL};
    struct op_kafka_client_opts o = {.settings = settings, .opaque = r, .dr_msg_cb = replay_dr_cb};
    return op_kafka_client_new(conf, RD_KAFKA_PRODUCER, &o, errstr, errstr_size);
}

int dlq_replay(const struct op_conf *conf, const struct dlq_settings *s, const struct dlq_opts *o,
               FILE *out, volatile sig_atomic_t *run)
{
    char err[1024];
    int rc = DLQ_EXIT_ERROR, scan_rc = -1;
    struct replay r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.out = out;
    r.md_timeout = s->metadata_timeout_ms;
    struct scan_stats st = {0, 0};
    if (o->to && strcmp(o->to, o->topic) == 0) {
        op_log(OP_LOG_ERR, "--to %s is the dead-letter topic itself", o->to);
        return DLQ_EXIT_ERROR;
    }
    r.reader = new_reader(conf, err, sizeof err);
    if (!r.reader || (!o->dry_run && !(r.producer = new_producer(conf, &r, err, sizeof err)))) {
        op_log(OP_LOG_ERR, "%s", err);
        goto cleanup;
    }
    if (o->to && destination_partitions(&r, o->to) < 0)
        goto cleanup;
    scan_rc = scan(r.reader, s, o, run, replay_one, &r, &st, err, sizeof err);
    if (scan_rc != 0)
        op_log(OP_LOG_ERR, "%s", err);
    if (r.producer) {
        /* Whatever was queued is delivered or failed before we report, even after an error. */
        int64_t wait = (int64_t)s->message_timeout_ms + 5000;
        rd_kafka_flush(r.producer, (int)wait);
        int left = rd_kafka_outq_len(r.producer);
        if (left > 0) {
            /* Purged messages get a failed delivery report, which counts and frees them. */
            op_log(OP_LOG_ERR, "%d message(s) still unacknowledged after %" PRId64 " ms", left,
                   wait);
            rd_kafka_purge(r.producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_flush(r.producer, 5000);
        }
    }
    if (fflush(out) != 0)
        scan_rc = -1;
    op_log(OP_LOG_NOTICE,
           "%s: %" PRIu64 " dead letters read, %" PRIu64 " selected, %" PRIu64 " %s, %" PRIu64
           " failed, %" PRIu64 " skipped",
           o->topic, st.read, st.selected, r.delivered,
           o->dry_run ? "would be replayed" : "replayed", r.failed, r.skipped);
    if (scan_rc != 0)
        rc = DLQ_EXIT_ERROR;
    else if (r.failed || r.skipped || !*run)
        rc = DLQ_EXIT_INCOMPLETE;
    else
        rc = DLQ_EXIT_OK;
cleanup:
    if (r.producer)
        rd_kafka_destroy(r.producer);
    op_topicread_close(r.reader);
    return rc;
}
