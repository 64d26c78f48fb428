/* The delivery loop of outreach-reporter: per endpoint a thread polls its own consumer, queues
 * messages per partition, cuts batches deterministically, and retries one batch at a time
 * until the endpoint says 2xx (or its DLQ has it) before committing the batch's offsets. */
#include "reporter.h"
#include "err.h"
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "batch.h"
#include "cli.h"
#include "codec.h"
#include "file.h"
#include "health.h"
#include "http.h"
#include "kafka.h"
#include "log.h"
#include "url.h"
#include "xlsx.h"
#include "service.h"
#include "regions.h"
#include "registry.h"

const struct op_conf_def reporter_conf_defs[] = {
    {"rollups.topic", OP_CONF_STRING, "outreach.rollups",
     "compacted topic the rollups are read from", 0, 0},
    {"group.prefix", OP_CONF_STRING, "outreach-reporter",
     "consumer group of endpoint NAME is <group.prefix>.NAME (its offsets = its progress)", 0, 0},
    {"instance.id", OP_CONF_STRING, NULL,
     "stable name of this instance, 1-128 of [A-Za-z0-9._-] (unset: the host name; empty: an "
     "error), unique among running reporters of "
     "the same groups; endpoint NAME's consumer is the static member "
     "outreach-reporter-<instance.id>-NAME, so a restart takes its partitions back at once",
     0, 0},
    {"dlq.topic.prefix", OP_CONF_STRING, "outreach.rollups.dlq",
     "batches endpoint NAME rejects (4xx) go to topic <dlq.topic.prefix>.NAME", 0, 0},
    {"dlq.topic.replication", OP_CONF_INT, "0",
     "replication factor when the reporter creates a DLQ topic (0: min(3, brokers))", 0, 16},
    {"retry.backoff.ms", OP_CONF_INT, "200",
     "first retry waits up to this long; each further one up to twice as long (full jitter)", 1,
     600000},
    {"retry.backoff.max.ms", OP_CONF_INT, "30000", "longest wait between retries", 1, 3600000},
    {"retry.after.max.ms", OP_CONF_INT, "600000",
     "a Retry-After from the endpoint is honoured up to this long", 0, 86400000},
    {"status.interval.ms", OP_CONF_INT, "60000",
     "how often each endpoint logs its counters (0: only at exit)", 0, 86400000},
    {"regions.file", OP_CONF_STRING, NULL,
     "region table CSV for region_name (default: the copy built in from schemas/regions.csv)", 0,
     0},
    {"endpoint.*.url", OP_CONF_STRING, NULL,
     "where endpoint NAME's batches go: http://..., https://..., file:///DIR (JSON Lines) or "
     "xlsx:///DIR (an Excel workbook per MONTH and CAMPAIGN window; re-reads the topic from "
     "the beginning at start); a user:password@ in it is logged as ***",
     0, 0},
    {"endpoint.*.token", OP_CONF_SECRET, NULL,
     "bearer token; give it as endpoint.NAME.token.file=PATH so it stays out of argv and logs", 0,
     0},
    {"endpoint.*.tls.ca", OP_CONF_STRING, NULL,
     "PEM CA bundle that verifies the endpoint (and its oauth2.token_url) (default: the "
     "system's trust store)",
     0, 0},
    {"endpoint.*.tls.cert", OP_CONF_STRING, NULL,
     "PEM client certificate (chain) for mutual TLS; needs endpoint.NAME.tls.key", 0, 0},
    {"endpoint.*.tls.key", OP_CONF_STRING, NULL, "PEM private key of endpoint.NAME.tls.cert", 0, 0},
    {"endpoint.*.tls.key.password", OP_CONF_SECRET, NULL,
     "passphrase of an encrypted tls.key; give it as endpoint.NAME.tls.key.password.file=PATH", 0,
     0},
    {"endpoint.*.ca", OP_CONF_STRING, NULL, "old name of endpoint.NAME.tls.ca", 0, 0},
    {"endpoint.*.cert", OP_CONF_STRING, NULL, "old name of endpoint.NAME.tls.cert", 0, 0},
    {"endpoint.*.key", OP_CONF_STRING, NULL, "old name of endpoint.NAME.tls.key", 0, 0},
    {"endpoint.*.oauth2.token_url", OP_CONF_STRING, NULL,
     "OAuth2 client credentials: the token endpoint (http(s)://); its access token, cached "
     "until expires_in minus 10% (at most 60 s), is sent as the bearer token (not with "
     "endpoint.NAME.token)",
     0, 0},
    {"endpoint.*.oauth2.client_id", OP_CONF_STRING, NULL, "OAuth2 client id", 0, 0},
    {"endpoint.*.oauth2.client_secret", OP_CONF_SECRET, NULL,
     "OAuth2 client secret; give it as endpoint.NAME.oauth2.client_secret.file=PATH", 0, 0},
    {"endpoint.*.oauth2.scope", OP_CONF_STRING, NULL,
     "space-separated scopes asked for (unset: none sent)", 0, 0},
    {"endpoint.*.oauth2.client_auth", OP_CONF_STRING, "client_secret_basic",
     "how the client authenticates to the token endpoint: client_secret_basic (HTTP Basic) or "
     "client_secret_post (in the form body)",
     0, 0},
    {"endpoint.*.tls.verify", OP_CONF_BOOL, "true",
     "verify the endpoint's certificate and host name (false only for tests)", 0, 0},
    {"endpoint.*.batch.size", OP_CONF_INT, "500", "most messages (rollup revisions) per batch", 1,
     100000},
    {"endpoint.*.max.delay.ms", OP_CONF_INT, "1000",
     "a partial batch is sent once its oldest message waited this long", 0, 3600000},
    {"endpoint.*.timeout.ms", OP_CONF_INT, "10000", "longest one request may take", 100, 600000},
    {"endpoint.*.max.retries", OP_CONF_INT, "0",
     "retries of a failing batch before it goes to the DLQ instead (0: retry forever)", 0,
     1000000000},
    {"endpoint.*.audit.topic", OP_CONF_STRING, NULL,
     "also deliver the corrections audit trail of this topic (e.g. outreach.audit) to the "
     "endpoint's URL with its last path segment replaced by audit (http://H/rollups -> "
     "http://H/audit), as the stream NAME.audit (own group, DLQ, metrics); http(s) endpoints "
     "only (unset: off)",
     0, 0},
    {"endpoint.*.gzip.level", OP_CONF_INT, "1",
     "zlib level of the request body (1 fast .. 9 small)", 1, 9},
    {"health.listen", OP_CONF_STRING, NULL,
     "serve /healthz, /readyz and /metrics on this IPv4-ADDRESS:PORT (unset: off)", 0, 0},
    OP_KAFKA_CONSUMER_CONF_DEFS,
    OP_REGISTRY_CONF_DEFS,
    OP_CLI_CONF_DEFS,
    {0},
};

int reporter_conf_defaults(struct op_conf *conf, char *errstr, size_t errstr_size)
{
    static const char *const defaults[] = {"bootstrap.servers", "127.0.0.1:9092", NULL};
    for (const char *const *kv = defaults; *kv; kv += 2)
        if (op_conf_set(conf, kv[0], kv[1], errstr, errstr_size) != 0)
            return -1;
    return 0;
}

/* Messages received from one partition and not yet in a batch, oldest first. */
struct part {
    struct reporter_msg *q;
    size_t n, cap;
    int64_t next; /* offset after the last message taken, -1 before the first */
    int assigned, paused;
    int64_t committed; /* the group's committed offset as last known, -1: not known */
    int64_t lag;       /* as last computed, -1: unknown */
};

/* The batch being delivered (one at a time per endpoint, so commits stay in order). */
struct inflight {
    int active;
    int32_t partition;
    struct reporter_msg *msgs;
    size_t n;
    struct reporter_batch batch;
    struct op_buf gz;
    unsigned attempt; /* failed attempts so far */
    int64_t next_at;  /* monotonic ms of the next attempt */
    int64_t cut_ms;
    int poison_done;    /* its undecodable messages are in the DLQ */
    int reject;         /* goes to the DLQ instead of the endpoint */
    long reject_status; /* 0: transport errors until max.retries */
    char reject_reason[32];
    struct op_buf reject_body;
};

struct reporter_endpoint {
    struct reporter *r;
    struct op_conf *conf; /* the configuration it was set up from (a reload brings a newer) */
    char name[REPORTER_NAME_MAX + 8];  /* NAME, or NAME.audit for its audit stream */
    char cname[REPORTER_NAME_MAX + 1]; /* NAME: its endpoint.NAME.* settings */
    int audit;                         /* the audit stream of endpoint cname */
    const char *topic;                 /* rollups.topic, or endpoint.NAME.audit.topic */
    char audit_url[1024];
    const char *url;
    char url_shown[512];        /* url without user:password@, for messages (op_url_redact) */
    char *dir;                  /* file:// endpoints */
    struct reporter_xlsx *xlsx; /* xlsx:// endpoints */
    char group[512], dlq_topic[512], client_id[128];
    char member_id[256]; /* group.instance.id: static membership, see endpoint_setup() */
    long batch_size, max_delay_ms, max_retries;
    int gzip_level;
    struct reporter_http *http;
    struct reporter_http_result res;
    struct op_codec *codec;
    struct op_registry *registry; /* schema.registry.url: Confluent ids of rollups; or NULL */
    rd_kafka_t *consumer, *producer;
    int dlq_ready;
    struct part *parts;
    int n_parts;
    struct inflight fl;
    uint64_t rng;
    pthread_t thread;
    int started;
    atomic_int done;
    int fatal;
    int64_t last_status_ms;
    char last_error[1024];
    struct reporter_endpoint_stats stats;
    int assigned_once; /* a (possibly empty) assignment arrived: the group is joined */
    /* What the HTTP thread may read: copies refreshed by this endpoint's thread under r->lock. */
    struct reporter_endpoint_stats snap;
    int snap_ready;
    int64_t *snap_lag; /* per partition, -1: not assigned or unknown */
    int snap_n_lag;
    int oauth2;          /* uses OAuth2 client credentials */
    int64_t last_lag_ms; /* monotonic ms of the last lag refresh */
};

struct reporter {
    struct op_conf *conf;
    struct op_conf **reloaded; /* configurations of SIGHUP reloads, kept for their endpoints */
    size_t n_reloaded;
    struct op_conf *(*reload_fn)(void *opaque);
    void *reload_opaque;
    struct op_regions *regions;
    const char *topic;
    char instance[OP_KAFKA_INSTANCE_MAX + 1]; /* instance.id, resolved once at start */
    int64_t backoff_ms, backoff_max_ms, retry_after_max_ms, status_interval_ms;
    int dlq_replication;
    struct reporter_endpoint **eps;
    size_t n_eps;
    atomic_int stop;
    pthread_mutex_t lock;       /* guards every endpoint's snap and snap_ready */
    struct op_service *service; /* health endpoint, sd_notify, watchdog */
};

int reporter_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > REPORTER_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Kafka's rule for topic names, with our own length limit. */
static int topic_valid(const char *t, size_t max)
{
    size_t n = strlen(t);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* ---- partition queues ------------------------------------------------------------------- */

static struct part *part_get(struct reporter_endpoint *ep, int32_t p)
{
    if (p < 0 || p > 100000)
        return NULL;
    if (p >= ep->n_parts) {
        int n = p + 1;
        struct part *np = realloc(ep->parts, (size_t)n * sizeof *np);
        if (!np)
            return NULL;
        memset(np + ep->n_parts, 0, (size_t)(n - ep->n_parts) * sizeof *np);
        ep->parts = np;
        ep->n_parts = n;
    }
    return &ep->parts[p];
}

static void part_clear(struct part *pt)
{
    for (size_t i = 0; i < pt->n; i++)
        reporter_msg_free(&pt->q[i]);
    pt->n = 0;
}

static void pause_resume(struct reporter_endpoint *ep, int32_t p, int pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, ep->topic, p);
    rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(ep->consumer, l)
                                  : rd_kafka_resume_partitions(ep->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        op_log(OP_LOG_WARNING, "endpoint %s: %s partition %" PRId32 ": %s", ep->name,
               pause ? "pause" : "resume", p, rd_kafka_err2str(e));
        return;
    }
    ep->parts[p].paused = pause;
}

static void inflight_free(struct inflight *fl)
{
    for (size_t i = 0; i < fl->n; i++)
        reporter_msg_free(&fl->msgs[i]);
    free(fl->msgs);
    reporter_batch_free(&fl->batch);
    op_buf_free(&fl->gz);
    op_buf_free(&fl->reject_body);
    memset(fl, 0, sizeof *fl);
}

/* ---- rebalancing ------------------------------------------------------------------------ */

/* "0,2,5": the partitions of an assignment, for the log (tests compare them); truncated to
 * fit out. */
static void partition_list(const rd_kafka_topic_partition_list_t *parts, char *out, size_t size)
{
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < parts->cnt && len + 1 < size; i++) {
        int n =
            snprintf(out + len, size - len, "%s%" PRId32, i ? "," : "", parts->elems[i].partition);
        if (n < 0)
            break;
        len += (size_t)n;
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct reporter_endpoint *ep = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++) {
            struct part *pt = part_get(ep, parts->elems[i].partition);
            if (!pt) {
                op_log(OP_LOG_ERR, "endpoint %s: out of memory", ep->name);
                ep->fatal = 1;
                continue;
            }
            part_clear(pt);
            pt->assigned = 1;
            pt->paused = 0;
            pt->next = -1;
            pt->committed = -1;
            pt->lag = -1;
        }
        ep->assigned_once = 1;
        if (ep->xlsx && parts->cnt > 0) {
            /* Its windows live in memory only: rebuilt from the whole compacted topic. */
            for (int i = 0; i < parts->cnt; i++)
                parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
            op_log(OP_LOG_INFO, "endpoint %s: reading %s from the beginning (xlsx workbooks)",
                   ep->name, ep->topic);
        }
        char list[256];
        partition_list(parts, list, sizeof list);
        op_log(OP_LOG_INFO, "endpoint %s: assigned %d partition(s) of %s: [%s] (member %s)",
               ep->name, parts->cnt, ep->topic, list, ep->member_id);
        if (coop)
            error = rd_kafka_incremental_assign(rk, parts);
        else if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
            op_log(OP_LOG_ERR, "endpoint %s: assign failed", ep->name);
    } else {
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            op_log(OP_LOG_ERR, "endpoint %s: rebalance: %s", ep->name, rd_kafka_err2str(err));
        for (int i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            if (p < 0 || p >= ep->n_parts)
                continue;
            part_clear(&ep->parts[p]);
            ep->parts[p].assigned = 0;
            ep->parts[p].paused = 0;
            ep->parts[p].lag = -1;
            if (ep->fl.active && ep->fl.partition == p) {
                /* Not committed: the new owner re-sends it from the committed offset. */
                op_log(OP_LOG_NOTICE,
                       "endpoint %s: partition %" PRId32
                       " revoked: batch %s left to its next owner",
                       ep->name, p, ep->fl.batch.key);
                inflight_free(&ep->fl);
            }
        }
        op_log(OP_LOG_INFO, "endpoint %s: %s %d partition(s)", ep->name,
               rd_kafka_assignment_lost(rk) ? "lost" : "revoked", parts->cnt);
        if (coop)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    }
    if (error) {
        op_log(OP_LOG_ERR, "endpoint %s: incremental rebalance: %s", ep->name,
               rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

/* ---- Kafka clients ---------------------------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    int *result = m->_private;
    if (result)
        *result = m->err ? (int)m->err : 0;
}

static rd_kafka_t *make_client(struct reporter_endpoint *ep, rd_kafka_type_t type,
                               const char *const *settings, char *errstr, size_t errstr_size)
{
    struct op_kafka_client_opts o = {.settings = settings, .opaque = ep};
    if (type == RD_KAFKA_PRODUCER)
        o.dr_msg_cb = dr_cb;
    else
        o.rebalance_cb = rebalance_cb;
    return op_kafka_client_new(ep->conf, type, &o, errstr, errstr_size);
}

/* The DLQ producer and topic, created when first needed so a broker outage at start or an
 * endpoint that never rejects anything costs nothing. Returns 0 or -1 (retry later). */
static int dlq_ready(struct reporter_endpoint *ep)
{
    char err[512];
    if (!ep->producer) {
        const char *const settings[] = {
            "client.id", ep->client_id,        "acks",  "all",       "enable.idempotence",
            "true",      "message.timeout.ms", "30000", "linger.ms", "5",
            NULL};
        ep->producer = make_client(ep, RD_KAFKA_PRODUCER, settings, err, sizeof err);
        if (!ep->producer) {
            snprintf(ep->last_error, sizeof ep->last_error, "DLQ producer: %s", err);
            return -1;
        }
    }
    if (!ep->dlq_ready) {
        static const char *const cfg[] = {"retention.ms", "2592000000", NULL};
        struct op_kafka_topic_spec spec = {ep->dlq_topic, 1, ep->r->dlq_replication, cfg};
        if (op_kafka_ensure_topics(ep->producer, &spec, 1, 30000, NULL, err, sizeof err) != 0) {
            snprintf(ep->last_error, sizeof ep->last_error, "DLQ topic: %s", err);
            return -1;
        }
        ep->dlq_ready = 1;
    }
    return 0;
}

/* Produces one message to the DLQ and waits for its acknowledgement (acks=all). Takes the
 * headers in every case. Returns 0 once the broker has it, -1 otherwise (retry later). */
static int dlq_produce(struct reporter_endpoint *ep, const void *key, size_t key_len,
                       const void *value, size_t len, rd_kafka_headers_t *hdrs)
{
    if (dlq_ready(ep) != 0) {
        rd_kafka_headers_destroy(hdrs);
        return -1;
    }
    int result = -1;
    rd_kafka_resp_err_t e;
    for (;;) {
        e = rd_kafka_producev(
            ep->producer, RD_KAFKA_V_TOPIC(ep->dlq_topic), RD_KAFKA_V_KEY((void *)key, key_len),
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(&result), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(ep->producer, 100);
    }
    if (e) {
        /* producev did not take the headers on failure. */
        rd_kafka_headers_destroy(hdrs);
        snprintf(ep->last_error, sizeof ep->last_error, "DLQ produce: %s", rd_kafka_err2str(e));
        return -1;
    }
    /* message.timeout.ms bounds this: the delivery report always comes. */
    while (result == -1)
        rd_kafka_poll(ep->producer, 100);
    if (result != 0) {
        snprintf(ep->last_error, sizeof ep->last_error, "DLQ delivery: %s",
                 rd_kafka_err2str((rd_kafka_resp_err_t)result));
        return -1;
    }
    return 0;
}

static void hdr_int(rd_kafka_headers_t *h, const char *name, int64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRId64, v);
    rd_kafka_header_add(h, name, -1, s, -1);
}

/* Dead-letters the undecodable messages of the batch in flight. 0 or -1. */
static int dlq_poison(struct reporter_endpoint *ep)
{
    struct inflight *fl = &ep->fl;
    for (size_t i = 0; i < fl->batch.n_poison; i++) {
        const struct reporter_poison *p = &fl->batch.poison[i];
        const struct reporter_msg *m = &fl->msgs[p->index];
        rd_kafka_headers_t *h = rd_kafka_headers_new(8);
        rd_kafka_header_add(h, "dlq.reason", -1, p->reason, -1);
        rd_kafka_header_add(h, "dlq.error", -1, p->detail, -1);
        rd_kafka_header_add(h, "dlq.endpoint", -1, ep->name, -1);
        rd_kafka_header_add(h, "dlq.source.topic", -1, ep->topic, -1);
        hdr_int(h, "dlq.source.partition", fl->partition);
        hdr_int(h, "dlq.source.offset", m->offset);
        hdr_int(h, "dlq.time", op_clock_wall_ms());
        if (dlq_produce(ep, m->key, m->key_len, m->value, m->len, h) != 0)
            return -1;
        op_log(OP_LOG_WARNING,
               "endpoint %s: %s [%" PRId32 "] @%" PRId64 " is not %s (%s: %s): "
               "dead-lettered to %s",
               ep->name, ep->topic, fl->partition, m->offset,
               ep->audit ? "an audit entry" : "a rollup", p->reason, p->detail, ep->dlq_topic);
        ep->stats.poison++;
    }
    return 0;
}

/* Dead-letters the batch in flight: value = its JSON, headers = why. 0 or -1. */
static int dlq_batch(struct reporter_endpoint *ep)
{
    struct inflight *fl = &ep->fl;
    rd_kafka_headers_t *h = rd_kafka_headers_new(12);
    rd_kafka_header_add(h, "dlq.reason", -1, fl->reject_reason, -1);
    hdr_int(h, "dlq.status", fl->reject_status);
    rd_kafka_header_add(h, "dlq.body", -1,
                        fl->reject_body.data ? (const char *)fl->reject_body.data : "",
                        (ssize_t)fl->reject_body.len);
    rd_kafka_header_add(h, "dlq.endpoint", -1, ep->name, -1);
    rd_kafka_header_add(h, "dlq.batch_id", -1, fl->batch.key, -1);
    rd_kafka_header_add(h, "dlq.source.topic", -1, ep->topic, -1);
    hdr_int(h, "dlq.source.partition", fl->partition);
    hdr_int(h, "dlq.source.first_offset", fl->batch.first_offset);
    hdr_int(h, "dlq.source.last_offset", fl->batch.last_offset);
    hdr_int(h, "dlq.time", op_clock_wall_ms());
    rd_kafka_header_add(h, "type", -1, "rollup-batch", -1);
    return dlq_produce(ep, fl->batch.key, strlen(fl->batch.key), fl->batch.json.data,
                       fl->batch.json.len, h);
}

/* ---- batches ---------------------------------------------------------------------------- */

/* Commits the offset after the batch in flight and forgets the batch. */
static void finish(struct reporter_endpoint *ep)
{
    struct inflight *fl = &ep->fl;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, ep->topic, fl->partition)->offset =
        fl->batch.last_offset + 1;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    /* Tried even when stopping: the endpoint has the batch, so committing saves a re-send. */
    for (int attempt = 0; attempt < 3; attempt++) {
        e = rd_kafka_commit(ep->consumer, l, 0);
        if (!e || e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
            e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || e == RD_KAFKA_RESP_ERR__STATE ||
            atomic_load(&ep->r->stop))
            break;
        op_clock_sleep_ms(200 << attempt);
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        /* Harmless but noisy: after a restart or rebalance the batch is re-sent under the same
         * key and the endpoint recognises it; a later commit of this partition covers it. */
        ep->stats.commit_failures++;
        op_log(OP_LOG_WARNING, "endpoint %s: commit of %s [%" PRId32 "] @%" PRId64 ": %s", ep->name,
               ep->topic, fl->partition, fl->batch.last_offset + 1, rd_kafka_err2str(e));
    } else {
        ep->stats.commits++;
        if (fl->partition < ep->n_parts)
            ep->parts[fl->partition].committed = fl->batch.last_offset + 1;
    }
    inflight_free(fl);
}

/* Takes the oldest ready batch out of its partition queue into flight. */
static void cut_batch(struct reporter_endpoint *ep)
{
    int64_t now = op_clock_mono_ms();
    int best = -1;
    for (int p = 0; p < ep->n_parts; p++) {
        struct part *pt = &ep->parts[p];
        if (!pt->assigned || pt->n == 0)
            continue;
        if ((long)pt->n < ep->batch_size && now - pt->q[0].received_ms < ep->max_delay_ms)
            continue;
        if (best < 0 || pt->q[0].received_ms < ep->parts[best].q[0].received_ms)
            best = p;
    }
    if (best < 0)
        return;
    struct part *pt = &ep->parts[best];
    struct inflight *fl = &ep->fl;
    size_t k = pt->n < (size_t)ep->batch_size ? pt->n : (size_t)ep->batch_size;
    fl->msgs = malloc(k * sizeof *fl->msgs);
    if (!fl->msgs) {
        op_log(OP_LOG_ERR, "endpoint %s: out of memory", ep->name);
        ep->fatal = 1;
        return;
    }
    memcpy(fl->msgs, pt->q, k * sizeof *fl->msgs);
    memmove(pt->q, pt->q + k, (pt->n - k) * sizeof *pt->q);
    pt->n -= k;
    fl->n = k;
    fl->partition = best;
    fl->active = 1;
    fl->cut_ms = now;
    fl->next_at = now;
    if (pt->paused && pt->n < (size_t)ep->batch_size)
        pause_resume(ep, best, 0);
    char err[512];
    if (reporter_batch_build_kind(&fl->batch, ep->codec, ep->r->regions, ep->name, ep->topic, best,
                                  fl->msgs, fl->n, ep->audit, err, sizeof err) != 0 ||
        (fl->batch.rollups > 0 && !ep->dir && !ep->xlsx &&
         reporter_gzip(fl->batch.json.data, fl->batch.json.len, ep->gzip_level, &fl->gz) != 0)) {
        op_log(OP_LOG_ERR, "endpoint %s: building a batch: %s", ep->name,
               fl->batch.doc ? "gzip failed" : err);
        ep->fatal = 1;
        return;
    }
    op_log(OP_LOG_DEBUG,
           "endpoint %s: batch %s: %zu messages, %zu rollups (%zu superseded), %zu bytes JSON, "
           "%zu gzip",
           ep->name, fl->batch.key, fl->n, fl->batch.rollups, fl->batch.superseded,
           fl->batch.json.len, fl->gz.len);
}

static void schedule_retry(struct reporter_endpoint *ep, int64_t retry_after_ms, const char *why)
{
    struct inflight *fl = &ep->fl;
    struct reporter *r = ep->r;
    int64_t delay = reporter_backoff_ms(fl->attempt, r->backoff_ms, r->backoff_max_ms, &ep->rng);
    if (retry_after_ms >= 0) {
        int64_t ra =
            retry_after_ms < r->retry_after_max_ms ? retry_after_ms : r->retry_after_max_ms;
        if (ra > delay)
            delay = ra;
    }
    fl->attempt++;
    fl->next_at = op_clock_mono_ms() + delay;
    ep->stats.retries++;
    op_log(OP_LOG_WARNING, "endpoint %s: batch %s: %s (attempt %u, next in %" PRId64 " ms)",
           ep->name, fl->batch.key, why, fl->attempt, delay);
}

/* One delivery attempt of the batch in flight. */
static void attempt(struct reporter_endpoint *ep)
{
    struct inflight *fl = &ep->fl;
    char why[512];
    if (!fl->poison_done && fl->batch.n_poison > 0) {
        if (dlq_poison(ep) != 0) {
            schedule_retry(ep, -1, ep->last_error);
            return;
        }
        fl->poison_done = 1;
    }
    if (fl->reject) {
        if (dlq_batch(ep) != 0) {
            schedule_retry(ep, -1, ep->last_error);
            return;
        }
        ep->stats.rejected++;
        op_log(OP_LOG_WARNING,
               "endpoint %s: batch %s (%zu rollups, %s [%" PRId32 "] %" PRId64 "..%" PRId64
               ") dead-lettered to %s: %s, status %ld",
               ep->name, fl->batch.key, fl->batch.rollups, ep->topic, fl->partition,
               fl->batch.first_offset, fl->batch.last_offset, ep->dlq_topic, fl->reject_reason,
               fl->reject_status);
        finish(ep);
        return;
    }
    if (fl->batch.rollups == 0) { /* only tombstones or dead letters */
        finish(ep);
        return;
    }
    ep->stats.attempts++;
    if (ep->dir || ep->xlsx) {
        struct op_buf lines = OP_BUF_INIT;
        int rc = 0;
        if (ep->xlsx) {
            int more = 0;
            for (int p = 0; p < ep->n_parts; p++)
                more |= ep->parts[p].n > 0;
            rc = reporter_xlsx_deliver(ep->xlsx, &fl->batch, more, why, sizeof why);
        } else if ((rc = reporter_batch_jsonl(&fl->batch, &lines)) == 0) {
            rc =
                reporter_file_write(ep->dir, fl->batch.key, lines.data, lines.len, why, sizeof why);
        } else {
            snprintf(why, sizeof why, "out of memory");
        }
        op_buf_free(&lines);
        if (rc != 0) {
            snprintf(ep->last_error, sizeof ep->last_error, "%s", why);
            if (ep->max_retries > 0 && fl->attempt >= (unsigned long)ep->max_retries) {
                fl->reject = 1;
                snprintf(fl->reject_reason, sizeof fl->reject_reason, "retries-exhausted");
                op_buf_append(&fl->reject_body, why, strlen(why));
                fl->next_at = op_clock_mono_ms();
                return;
            }
            schedule_retry(ep, -1, why);
            return;
        }
        if (ep->dir)
            op_log(OP_LOG_DEBUG, "endpoint %s: wrote %s/%s.jsonl (%zu rollups)", ep->name, ep->dir,
                   fl->batch.key, fl->batch.rollups);
    } else {
        struct reporter_http_result *res = &ep->res;
        reporter_http_post(ep->http, fl->gz.data, fl->gz.len, fl->batch.key, &ep->r->stop, res);
        ep->stats.connections += (uint64_t)res->new_connections;
        ep->stats.token_requests += res->token_requests;
        if (atomic_load(&ep->r->stop) && res->status == 0)
            return; /* aborted by the stop: left uncommitted */
        enum reporter_verdict v = reporter_classify(res->status);
        if (v != REPORTER_DELIVERED) {
            char body[200];
            size_t bl = res->body.len < sizeof body - 1 ? res->body.len : sizeof body - 1;
            memcpy(body, res->body.data ? (const char *)res->body.data : "", bl);
            body[bl] = 0;
            if (res->status)
                snprintf(why, sizeof why, "HTTP %ld %s", res->status, body);
            else
                snprintf(why, sizeof why, "%s", res->error);
            snprintf(ep->last_error, sizeof ep->last_error, "%s", why);
        }
        if (v == REPORTER_RETRY && ep->max_retries > 0 &&
            fl->attempt >= (unsigned long)ep->max_retries) {
            v = REPORTER_REJECTED;
            snprintf(fl->reject_reason, sizeof fl->reject_reason, "retries-exhausted");
        } else if (v == REPORTER_REJECTED) {
            snprintf(fl->reject_reason, sizeof fl->reject_reason, "rejected");
        }
        if (v == REPORTER_RETRY) {
            schedule_retry(ep, res->retry_after_ms, why);
            return;
        }
        if (v == REPORTER_REJECTED) {
            fl->reject = 1;
            fl->reject_status = res->status;
            fl->reject_body.len = 0;
            if (res->status)
                op_buf_append(&fl->reject_body, res->body.data, res->body.len);
            else
                op_buf_append(&fl->reject_body, res->error, strlen(res->error));
            op_log(OP_LOG_WARNING, "endpoint %s: batch %s rejected: %s", ep->name, fl->batch.key,
                   why);
            fl->next_at = op_clock_mono_ms();
            attempt(ep); /* straight to the DLQ */
            return;
        }
        op_log(OP_LOG_DEBUG, "endpoint %s: batch %s: HTTP %ld in %" PRId64 " ms%s", ep->name,
               fl->batch.key, res->status, res->elapsed_ms,
               res->new_connections ? " (new connection)" : "");
    }
    ep->stats.batches++;
    ep->stats.last_success_ms = op_clock_wall_ms();
    ep->stats.rollups += fl->batch.rollups;
    ep->stats.superseded += fl->batch.superseded;
    if (fl->attempt > 0)
        op_log(OP_LOG_NOTICE, "endpoint %s: batch %s delivered after %u failed attempt(s)",
               ep->name, fl->batch.key, fl->attempt);
    ep->last_error[0] = 0;
    finish(ep);
}

static void on_message(struct reporter_endpoint *ep, rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            return;
        if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
            char reason[512];
            rd_kafka_fatal_error(ep->consumer, reason, sizeof reason);
            op_log(OP_LOG_ERR, "endpoint %s: consumer fatal error: %s", ep->name, reason);
            ep->fatal = 1;
            return;
        }
        op_log(OP_LOG_WARNING, "endpoint %s: consumer: %s", ep->name, rd_kafka_message_errstr(m));
        return;
    }
    struct part *pt = part_get(ep, m->partition);
    if (!pt || !pt->assigned)
        return; /* from before a revocation */
    if (pt->next >= 0 && m->offset < pt->next) {
        /* Fetched again (e.g. around a pause): we hold it already; batches stay the same. */
        op_log(OP_LOG_DEBUG, "endpoint %s: [%" PRId32 "] @%" PRId64 " again: skipped", ep->name,
               m->partition, m->offset);
        return;
    }
    if (pt->n == pt->cap) {
        size_t cap = pt->cap ? pt->cap * 2 : 64;
        struct reporter_msg *nq = realloc(pt->q, cap * sizeof *nq);
        if (!nq) {
            op_log(OP_LOG_ERR, "endpoint %s: out of memory", ep->name);
            ep->fatal = 1;
            return;
        }
        pt->q = nq;
        pt->cap = cap;
    }
    struct reporter_msg *qm = &pt->q[pt->n];
    memset(qm, 0, sizeof *qm);
    qm->offset = m->offset;
    qm->timestamp = rd_kafka_message_timestamp(m, NULL);
    qm->received_ms = op_clock_mono_ms();
    if (m->key) {
        qm->key = malloc(m->key_len ? m->key_len : 1);
        if (qm->key)
            memcpy(qm->key, m->key, m->key_len);
        qm->key_len = m->key_len;
    }
    if (m->payload) {
        qm->value = malloc(m->len ? m->len : 1);
        if (qm->value)
            memcpy(qm->value, m->payload, m->len);
        qm->len = m->len;
    }
    if ((m->key && !qm->key) || (m->payload && !qm->value)) {
        reporter_msg_free(qm);
        op_log(OP_LOG_ERR, "endpoint %s: out of memory", ep->name);
        ep->fatal = 1;
        return;
    }
    pt->n++;
    pt->next = m->offset + 1;
    /* Bounded memory: a partition holds at most one batch waiting behind the one in flight. */
    if (!pt->paused && pt->n >= (size_t)ep->batch_size)
        pause_resume(ep, m->partition, 1);
}

static void log_status(struct reporter_endpoint *ep, const char *when)
{
    size_t queued = 0;
    for (int p = 0; p < ep->n_parts; p++)
        queued += ep->parts[p].n;
    const struct reporter_endpoint_stats *s = &ep->stats;
    op_log(OP_LOG_INFO,
           "endpoint %s%s: %" PRIu64 " batches delivered (%" PRIu64 " rollups, %" PRIu64
           " superseded revisions skipped), %" PRIu64 " attempts, %" PRIu64 " retries, %" PRIu64
           " batches and %" PRIu64 " messages dead-lettered, %" PRIu64
           " connections opened, %zu queued%s%s%s",
           ep->name, when, s->batches, s->rollups, s->superseded, s->attempts, s->retries,
           s->rejected, s->poison, s->connections, queued,
           ep->fl.active ? ", a batch in flight" : "", ep->last_error[0] ? ", last error: " : "",
           ep->last_error);
}

int64_t reporter_lag(int64_t end, int64_t base)
{
    if (end < 0 || base < 0)
        return -1;
    return end > base ? end - base : 0;
}

/* Messages received and not acknowledged: the partition queues and the batch in flight. */
static uint64_t queued_messages(const struct reporter_endpoint *ep)
{
    uint64_t n = ep->fl.active ? ep->fl.n : 0;
    for (int p = 0; p < ep->n_parts; p++)
        n += ep->parts[p].n;
    return n;
}

/* Refreshes the lag of every assigned partition from librdkafka's cached high watermark
 * (updated by every fetch response: no request of its own, so delivery never waits for it)
 * and the first offset not yet delivered: the batch in flight, else the partition's queue,
 * else the consumer's position, else the offset committed (after a restart with nothing
 * new). Only that last one may ask the broker, once per assignment, when nothing is waiting
 * to be delivered. */
static void update_lag(struct reporter_endpoint *ep)
{
    const char *topic = ep->topic;
    rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(ep->n_parts + 1);
    for (int p = 0; p < ep->n_parts; p++)
        if (ep->parts[p].assigned)
            rd_kafka_topic_partition_list_add(pos, topic, p);
    if (pos->cnt > 0 && rd_kafka_position(ep->consumer, pos) != RD_KAFKA_RESP_ERR_NO_ERROR)
        pos->cnt = 0;
    int idle = queued_messages(ep) == 0;
    for (int i = 0; i < pos->cnt; i++) {
        int32_t p = pos->elems[i].partition;
        struct part *pt = &ep->parts[p];
        int64_t lo = -1, hi = -1, base = -1;
        if (rd_kafka_get_watermark_offsets(ep->consumer, topic, p, &lo, &hi) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            hi = -1;
        if (ep->fl.active && ep->fl.partition == p && ep->fl.n > 0)
            base = ep->fl.msgs[0].offset;
        else if (pt->n > 0)
            base = pt->q[0].offset;
        else if (pos->elems[i].offset >= 0)
            base = pos->elems[i].offset;
        else if (pt->committed >= 0)
            base = pt->committed;
        else if (idle && hi >= 0) {
            rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(c, topic, p);
            if (rd_kafka_committed(ep->consumer, c, 500) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                !c->elems[0].err)
                /* No committed offset yet: everything from the start is to be delivered. */
                pt->committed = c->elems[0].offset >= 0 ? c->elems[0].offset : lo;
            rd_kafka_topic_partition_list_destroy(c);
            base = pt->committed;
        }
        pt->lag = reporter_lag(hi, base);
    }
    rd_kafka_topic_partition_list_destroy(pos);
}

/* Endpoint thread: copies its counters where the HTTP thread can read them. */
static void publish_snapshot(struct reporter_endpoint *ep, int ready)
{
    ep->stats.queued = queued_messages(ep);
    pthread_mutex_lock(&ep->r->lock);
    ep->snap = ep->stats;
    ep->snap_ready = ready;
    if (ep->snap_n_lag < ep->n_parts) {
        int64_t *nl = realloc(ep->snap_lag, (size_t)ep->n_parts * sizeof *nl);
        if (nl) {
            ep->snap_lag = nl;
            ep->snap_n_lag = ep->n_parts;
        }
    }
    for (int p = 0; p < ep->snap_n_lag; p++)
        ep->snap_lag[p] = p < ep->n_parts && ep->parts[p].assigned && ready ? ep->parts[p].lag : -1;
    pthread_mutex_unlock(&ep->r->lock);
}

static void *endpoint_main(void *opaque)
{
    struct reporter_endpoint *ep = opaque;
    struct reporter *r = ep->r;
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, ep->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(ep->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        op_log(OP_LOG_ERR, "endpoint %s: subscribe %s: %s", ep->name, ep->topic,
               rd_kafka_err2str(e));
        ep->fatal = 1;
    } else {
        op_log(OP_LOG_NOTICE, "endpoint %s: delivering %s to %s as group %s", ep->name, ep->topic,
               ep->url_shown, ep->group);
    }
    ep->last_status_ms = op_clock_mono_ms();
    while (!ep->fatal && !atomic_load(&r->stop)) {
        int timeout = 100;
        if (ep->fl.active) {
            int64_t d = ep->fl.next_at - op_clock_mono_ms();
            timeout = d < 0 ? 0 : d < timeout ? (int)d : timeout;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(ep->consumer, timeout);
        if (m) {
            on_message(ep, m);
            rd_kafka_message_destroy(m);
        }
        if (op_kafka_auth_failed(NULL, 0)) {
            ep->fatal = 1; /* a wrong password or CA, logged where it was noted */
            break;
        }
        if (!ep->fl.active && !ep->fatal)
            cut_batch(ep);
        if (ep->fl.active && !ep->fatal && op_clock_mono_ms() >= ep->fl.next_at)
            attempt(ep);
        if (ep->producer)
            rd_kafka_poll(ep->producer, 0);
        if (op_clock_mono_ms() - ep->last_lag_ms >= REPORTER_LAG_INTERVAL_MS) {
            ep->last_lag_ms = op_clock_mono_ms();
            update_lag(ep);
        }
        if (r->status_interval_ms > 0 &&
            op_clock_mono_ms() - ep->last_status_ms >= r->status_interval_ms) {
            ep->last_status_ms = op_clock_mono_ms();
            log_status(ep, "");
        }
        publish_snapshot(ep, ep->assigned_once && !ep->fatal);
    }
    if (ep->fl.active)
        op_log(OP_LOG_INFO, "endpoint %s: batch %s not delivered yet: sent again after restart",
               ep->name, ep->fl.batch.key);
    inflight_free(&ep->fl);
    if (ep->xlsx) {
        char err[512];
        if (reporter_xlsx_flush(ep->xlsx, op_clock_wall_ms(), err, sizeof err) != 0)
            op_log(OP_LOG_WARNING, "endpoint %s: %s", ep->name, err);
    }
    /* Closes here so the rebalance callback runs on this thread. As a static member it does
     * not leave the group: the next start with the same instance.id takes the partitions
     * back at once (session.timeout.ms moves them elsewhere if it does not come back). */
    rd_kafka_consumer_close(ep->consumer);
    log_status(ep, " stopping");
    publish_snapshot(ep, 0);
    atomic_store(&ep->done, 1);
    return NULL;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void endpoint_destroy(struct reporter_endpoint *ep)
{
    if (!ep)
        return;
    inflight_free(&ep->fl);
    for (int p = 0; p < ep->n_parts; p++) {
        part_clear(&ep->parts[p]);
        free(ep->parts[p].q);
    }
    free(ep->parts);
    if (ep->consumer)
        rd_kafka_destroy(ep->consumer); /* closed by its thread, or never subscribed */
    if (ep->producer) {
        rd_kafka_flush(ep->producer, 10000);
        if (rd_kafka_outq_len(ep->producer) > 0)
            op_log(OP_LOG_WARNING, "endpoint %s: %d DLQ message(s) not delivered", ep->name,
                   rd_kafka_outq_len(ep->producer));
        rd_kafka_destroy(ep->producer);
    }
    reporter_http_destroy(ep->http);
    op_buf_free(&ep->res.body);
    free(ep->snap_lag);
    op_codec_destroy(ep->codec);
    op_registry_destroy(ep->registry);
    free(ep->dir);
    reporter_xlsx_destroy(ep->xlsx);
    free(ep);
}

static long long ep_int(struct op_conf *conf, const char *name, const char *what)
{
    char key[256];
    snprintf(key, sizeof key, "endpoint.%s.%s", name, what);
    return op_conf_get_int(conf, key);
}

static const char *ep_str(struct op_conf *conf, const char *name, const char *what)
{
    char key[256];
    snprintf(key, sizeof key, "endpoint.%s.%s", name, what);
    return op_conf_get(conf, key);
}

struct collect {
    struct reporter *r;
    char *errstr;
    size_t errstr_size;
};

static struct reporter_endpoint *find_ep(struct reporter *r, const char *name)
{
    for (size_t i = 0; i < r->n_eps; i++)
        if (strcmp(r->eps[i]->name, name) == 0)
            return r->eps[i];
    return NULL;
}

static int add_endpoint(const char *name, const char *key, const char *value, void *opaque)
{
    struct collect *c = opaque;
    struct reporter *r = c->r;
    (void)key;
    (void)value;
    if (!reporter_name_valid(name)) {
        op_set_err(c->errstr, c->errstr_size,
                   "endpoint name \"%s\": use 1 to %d letters, digits, '_' or '-'", name,
                   REPORTER_NAME_MAX);
        return -1;
    }
    struct reporter_endpoint **np = realloc(r->eps, (r->n_eps + 1) * sizeof *np);
    struct reporter_endpoint *ep = calloc(1, sizeof *ep);
    if (np)
        r->eps = np;
    if (!np || !ep) {
        free(ep);
        op_set_err(c->errstr, c->errstr_size, "out of memory");
        return -1;
    }
    r->eps[r->n_eps++] = ep;
    ep->r = r;
    ep->conf = r->conf;
    snprintf(ep->name, sizeof ep->name, "%s", name);
    return 0;
}

/* Every endpoint.NAME.* key must belong to an endpoint with a url: catches typos in names. */
static int check_orphan(const char *name, const char *key, const char *value, void *opaque)
{
    struct collect *c = opaque;
    (void)value;
    if (find_ep(c->r, name))
        return 0;
    op_set_err(c->errstr, c->errstr_size, "%s is set but endpoint.%s.url is not", key, name);
    return -1;
}

/* Reads endpoint NAME's oauth2.* keys into *oa and sets ep->oauth2 when token_url is set.
 * Returns 0, or -1 with errstr for an incomplete or contradictory setting. */
static int endpoint_oauth2(struct reporter_endpoint *ep, struct reporter_oauth2_opts *oa,
                           char *errstr, size_t errstr_size)
{
    struct op_conf *conf = ep->conf;
    memset(oa, 0, sizeof *oa);
    oa->token_url = ep_str(conf, ep->cname, "oauth2.token_url");
    oa->client_id = ep_str(conf, ep->cname, "oauth2.client_id");
    oa->client_secret = ep_str(conf, ep->cname, "oauth2.client_secret");
    oa->scope = ep_str(conf, ep->cname, "oauth2.scope");
    const char *auth = ep_str(conf, ep->cname, "oauth2.client_auth");
    ep->oauth2 = oa->token_url != NULL;
    if (!ep->oauth2) {
        if (oa->client_id || oa->client_secret || oa->scope) {
            op_set_err(errstr, errstr_size,
                       "endpoint %s: oauth2.* is set but oauth2.token_url is not", ep->name);
            return -1;
        }
        return 0;
    }
    if (strncmp(oa->token_url, "http://", 7) != 0 && strncmp(oa->token_url, "https://", 8) != 0) {
        char shown[512];
        op_set_err(errstr, errstr_size, "endpoint.%s.oauth2.token_url: \"%s\" is not http(s)://",
                   ep->name, op_url_redact(oa->token_url, shown, sizeof shown));
        return -1;
    }
    if (!oa->client_id || !*oa->client_id || !oa->client_secret || !*oa->client_secret) {
        op_set_err(errstr, errstr_size,
                   "endpoint %s: oauth2.token_url needs oauth2.client_id and "
                   "oauth2.client_secret (as oauth2.client_secret.file=PATH)",
                   ep->name);
        return -1;
    }
    if (strcmp(auth, "client_secret_basic") == 0)
        oa->client_secret_post = 0;
    else if (strcmp(auth, "client_secret_post") == 0)
        oa->client_secret_post = 1;
    else {
        op_set_err(errstr, errstr_size,
                   "endpoint.%s.oauth2.client_auth: \"%s\": use client_secret_basic or "
                   "client_secret_post",
                   ep->name, auth);
        return -1;
    }
    if (strncmp(oa->token_url, "http://", 7) == 0)
        op_log(OP_LOG_WARNING, "endpoint %s: the OAuth2 client secret goes over plain http://",
               ep->name);
    return 0;
}

/* The audit stream's URL: the endpoint's, its last path segment replaced by "audit" (query
 * kept out): http://h/rollups -> http://h/audit, http://h -> http://h/audit. */
static int audit_url(struct reporter_endpoint *ep, char *errstr, size_t errstr_size)
{
    const char *u = ep->url;
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
        op_set_err(errstr, errstr_size,
                   "endpoint.%s.audit.topic: only http(s) endpoints deliver the audit trail",
                   ep->cname);
        return -1;
    }
    const char *auth = strstr(u, "://") + 3;
    size_t path = strcspn(auth, "/?#");
    const char *end = auth + path + strcspn(auth + path, "?#");
    const char *slash = auth + path;
    for (const char *p = slash; p < end; p++)
        if (*p == '/')
            slash = p;
    int n = slash < end && *slash == '/'
                ? snprintf(ep->audit_url, sizeof ep->audit_url, "%.*s/audit", (int)(slash - u), u)
                : snprintf(ep->audit_url, sizeof ep->audit_url, "%.*s/audit", (int)(end - u), u);
    if (n < 0 || (size_t)n >= sizeof ep->audit_url) {
        op_set_err(errstr, errstr_size, "endpoint.%s.url: too long", ep->cname);
        return -1;
    }
    ep->url = ep->audit_url;
    return 0;
}

/* Endpoint NAME's audit stream, when endpoint.NAME.audit.topic is set: a second endpoint
 * object named NAME.audit over the same settings. 0, or -1 with errstr. */
static int add_audit_stream(struct reporter *r, struct reporter_endpoint *base, char *errstr,
                            size_t errstr_size)
{
    const char *topic = ep_str(base->conf, base->name, "audit.topic");
    if (!topic)
        return 0;
    if (!topic_valid(topic, REPORTER_TOPIC_MAX)) {
        op_set_err(errstr, errstr_size,
                   "endpoint.%s.audit.topic \"%s\": use 1 to %d letters, digits, '.', '_' or '-'",
                   base->name, topic, REPORTER_TOPIC_MAX);
        return -1;
    }
    struct reporter_endpoint **np = realloc(r->eps, (r->n_eps + 1) * sizeof *np);
    struct reporter_endpoint *ep = calloc(1, sizeof *ep);
    if (np)
        r->eps = np;
    if (!np || !ep) {
        free(ep);
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    r->eps[r->n_eps++] = ep;
    ep->r = r;
    ep->conf = base->conf;
    ep->audit = 1;
    ep->topic = topic;
    snprintf(ep->cname, sizeof ep->cname, "%.64s", base->name);
    snprintf(ep->name, sizeof ep->name, "%.64s.audit", base->name);
    return 0;
}

static int endpoint_setup(struct reporter_endpoint *ep, char *errstr, size_t errstr_size)
{
    struct op_conf *conf = ep->conf;
    char err[512];
    if (!ep->cname[0])
        snprintf(ep->cname, sizeof ep->cname, "%.64s", ep->name);
    if (!ep->topic)
        ep->topic = ep->r->topic;
    ep->url = ep_str(conf, ep->cname, "url");
    if (ep->audit && audit_url(ep, errstr, errstr_size) != 0)
        return -1;
    op_url_redact(ep->url, ep->url_shown, sizeof ep->url_shown);
    ep->batch_size = (long)ep_int(conf, ep->cname, "batch.size");
    ep->max_delay_ms = (long)ep_int(conf, ep->cname, "max.delay.ms");
    ep->max_retries = (long)ep_int(conf, ep->cname, "max.retries");
    ep->gzip_level = (int)ep_int(conf, ep->cname, "gzip.level");
    ep->rng = (uint64_t)op_clock_wall_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)ep;
    snprintf(ep->group, sizeof ep->group, "%s.%s", op_conf_get(conf, "group.prefix"), ep->name);
    snprintf(ep->dlq_topic, sizeof ep->dlq_topic, "%s.%s", op_conf_get(conf, "dlq.topic.prefix"),
             ep->name);
    snprintf(ep->client_id, sizeof ep->client_id, "outreach-reporter-%s", ep->name);
    snprintf(ep->member_id, sizeof ep->member_id, "outreach-reporter-%s-%s", ep->r->instance,
             ep->name);
    if (!topic_valid(ep->dlq_topic, 249)) {
        op_set_err(errstr, errstr_size,
                   "endpoint %s: \"%s\" is not a valid topic name (check dlq.topic.prefix)",
                   ep->name, ep->dlq_topic);
        return -1;
    }
    const char *token = ep_str(conf, ep->cname, "token");
    int xlsx = strncmp(ep->url, "xlsx:", 5) == 0;
    if (xlsx || strncmp(ep->url, "file:", 5) == 0) {
        ep->dir = xlsx ? reporter_xlsx_dir_of_url(ep->url) : reporter_file_dir_of_url(ep->url);
        if (!ep->dir) {
            op_set_err(errstr, errstr_size,
                       "endpoint.%s.url: \"%s\" is not %s:///ABSOLUTE/DIR (no %%-escapes)",
                       ep->name, ep->url_shown, xlsx ? "xlsx" : "file");
            return -1;
        }
        struct stat st;
        if (stat(ep->dir, &st) != 0 && mkdir(ep->dir, 0750) != 0) {
            op_set_err(errstr, errstr_size, "endpoint.%s.url: %s: %s", ep->name, ep->dir,
                       strerror(errno));
            return -1;
        }
        if (stat(ep->dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(ep->dir, W_OK) != 0) {
            op_set_err(errstr, errstr_size, "endpoint.%s.url: %s is not a writable directory",
                       ep->name, ep->dir);
            return -1;
        }
        if (token)
            op_log(OP_LOG_WARNING, "endpoint %s: a file endpoint has no use for a token", ep->name);
        if (xlsx) { /* its own writer; ep->dir stays the mark of file:// endpoints */
            ep->xlsx = reporter_xlsx_new(ep->dir, ep->r->regions, errstr, errstr_size);
            free(ep->dir);
            ep->dir = NULL;
            if (!ep->xlsx)
                return -1;
        }
    } else if (strncmp(ep->url, "http://", 7) == 0 || strncmp(ep->url, "https://", 8) == 0) {
        snprintf(err, sizeof err, "endpoint.%s.tls.verify", ep->cname);
        int verify = op_conf_get_bool(conf, err);
        struct reporter_oauth2_opts oa;
        struct reporter_http_opts o = {ep->url,
                                       token,
                                       NULL,
                                       NULL,
                                       NULL,
                                       verify,
                                       (long)ep_int(conf, ep->cname, "timeout.ms"),
                                       ep_str(conf, ep->cname, "tls.key.password"),
                                       NULL};
        static const char *const tls_names[3] = {"ca", "cert", "key"};
        const char **files[3] = {&o.ca, &o.cert, &o.key};
        for (int i = 0; i < 3; i++) {
            char tls_name[16];
            snprintf(tls_name, sizeof tls_name, "tls.%s", tls_names[i]);
            const char *now = ep_str(conf, ep->cname, tls_name),
                       *old = ep_str(conf, ep->cname, tls_names[i]);
            if (now && old && strcmp(now, old) != 0) {
                op_set_err(
                    errstr, errstr_size,
                    "endpoint %s: set endpoint.%s.%s or its old name endpoint.%s.%s, not both",
                    ep->name, ep->name, tls_name, ep->name, tls_names[i]);
                return -1;
            }
            *files[i] = now ? now : old;
            if (*files[i] && access(*files[i], R_OK) != 0) {
                op_set_err(errstr, errstr_size, "endpoint %s: %s: cannot read %s: %s", ep->name,
                           tls_name, *files[i], strerror(errno));
                return -1;
            }
        }
        if (!o.cert != !o.key) {
            op_set_err(errstr, errstr_size,
                       "endpoint %s: set both tls.cert and tls.key, or neither", ep->name);
            return -1;
        }
        if (o.key_password && !o.key) {
            op_set_err(errstr, errstr_size, "endpoint %s: tls.key.password is set without tls.key",
                       ep->name);
            return -1;
        }
        if (endpoint_oauth2(ep, &oa, errstr, errstr_size) != 0)
            return -1;
        if (ep->oauth2) {
            if (token) {
                op_set_err(errstr, errstr_size,
                           "endpoint %s: set either endpoint.%s.token or endpoint.%s.oauth2.*, not "
                           "both",
                           ep->name, ep->name, ep->name);
                return -1;
            }
            o.oauth2 = &oa;
        }
        if (token && strncmp(ep->url, "http://", 7) == 0)
            op_log(OP_LOG_WARNING, "endpoint %s: the bearer token goes over plain http://",
                   ep->name);
        if (!verify)
            op_log(OP_LOG_WARNING, "endpoint %s: TLS verification is off (tls.verify=false)",
                   ep->name);
        ep->http = reporter_http_new(&o, err, sizeof err);
        if (!ep->http) {
            op_set_err(errstr, errstr_size, "endpoint %s: %s", ep->name, err);
            return -1;
        }
    } else {
        op_set_err(
            errstr, errstr_size,
            "endpoint.%s.url: \"%s\" must start with http://, https://, file:/// or xlsx:///",
            ep->name, ep->url_shown);
        return -1;
    }
    ep->codec = op_codec_new_default(err, sizeof err);
    if (!ep->codec || !op_codec_reader(ep->codec, "rollup")) {
        op_set_err(errstr, errstr_size, "schemas: %s", ep->codec ? "no rollup schema" : err);
        return -1;
    }
    /* Rollups may be Confluent-framed (the aggregator's wire.format): ids are looked up. */
    if (op_registry_new_from_conf(conf, &ep->registry, err, sizeof err) != 0) {
        op_set_err(errstr, errstr_size, "%s", err);
        return -1;
    }
    op_codec_set_registry(ep->codec, ep->registry);
    const char *const settings[] = {
        "group.id", ep->group, "client.id", ep->client_id, "enable.auto.commit", "false",
        "enable.auto.offset.store", "false", "isolation.level", "read_committed",
        "auto.offset.reset", "earliest", "enable.partition.eof", "false", "session.timeout.ms",
        op_conf_get(conf, "session.timeout.ms"), "heartbeat.interval.ms",
        op_conf_get(conf, "heartbeat.interval.ms"),
        /* Static membership: after a kill -9 (or any stop) the
         * restarted member fences its dead incarnation and gets
         * its partitions back without waiting out its session.
         * librdkafka 2.0.2 sends no LeaveGroup for a static
         * member on close, so a clean stop keeps them too. */
        "group.instance.id", ep->member_id, NULL};
    ep->consumer = make_client(ep, RD_KAFKA_CONSUMER, settings, err, sizeof err);
    if (!ep->consumer) {
        op_set_err(errstr, errstr_size, "endpoint %s: consumer: %s", ep->name, err);
        return -1;
    }
    rd_kafka_poll_set_consumer(ep->consumer);
    return 0;
}

struct reporter *reporter_new(struct op_conf *conf, char *errstr, size_t errstr_size)
{
    struct reporter *r = calloc(1, sizeof *r);
    if (!r) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    r->conf = conf;
    atomic_init(&r->stop, 0);
    pthread_mutex_init(&r->lock, NULL);
    r->topic = op_conf_get(conf, "rollups.topic");
    r->backoff_ms = op_conf_get_int(conf, "retry.backoff.ms");
    r->backoff_max_ms = op_conf_get_int(conf, "retry.backoff.max.ms");
    r->retry_after_max_ms = op_conf_get_int(conf, "retry.after.max.ms");
    r->status_interval_ms = op_conf_get_int(conf, "status.interval.ms");
    r->dlq_replication = (int)op_conf_get_int(conf, "dlq.topic.replication");
    if (!topic_valid(r->topic, REPORTER_TOPIC_MAX)) {
        op_set_err(errstr, errstr_size,
                   "rollups.topic \"%s\": use 1 to %d letters, digits, '.', '_' or '-'", r->topic,
                   REPORTER_TOPIC_MAX);
        goto fail;
    }
    if (r->backoff_max_ms < r->backoff_ms) {
        op_set_err(errstr, errstr_size, "retry.backoff.max.ms is below retry.backoff.ms");
        goto fail;
    }
    if (op_kafka_instance_id(op_conf_get(conf, "instance.id"), r->instance, sizeof r->instance,
                             errstr, errstr_size) != 0)
        goto fail;
    const char *rfile = op_conf_get(conf, "regions.file");
    r->regions = rfile ? op_regions_new_from_file(rfile, errstr, errstr_size)
                       : op_regions_new_default(errstr, errstr_size);
    if (!r->regions)
        goto fail;
    struct collect c = {r, errstr, errstr_size};
    if (op_conf_foreach(conf, "endpoint.*.url", add_endpoint, &c) != 0)
        goto fail;
    if (r->n_eps == 0) {
        op_set_err(
            errstr, errstr_size,
            "no endpoint: set endpoint.NAME.url=http(s)://..., file:///DIR or xlsx:///DIR (see "
            "--help)");
        goto fail;
    }
    for (const struct op_conf_def *d = reporter_conf_defs; d->key; d++)
        if (strncmp(d->key, "endpoint.*.", 11) == 0 &&
            op_conf_foreach(conf, d->key, check_orphan, &c) != 0)
            goto fail;
    for (size_t i = 0, n = r->n_eps; i < n; i++)
        if (add_audit_stream(r, r->eps[i], errstr, errstr_size) != 0)
            goto fail;
    for (size_t i = 0; i < r->n_eps; i++)
        if (endpoint_setup(r->eps[i], errstr, errstr_size) != 0)
            goto fail;
    return r;
fail:
    reporter_destroy(r);
    return NULL;
}

/* ---- observability ---------------------------------------------------------------------- */

static int ready_cb(void *opaque, char *why, size_t why_size)
{
    struct reporter *r = opaque;
    const char *waiting = NULL;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_eps && !waiting; i++)
        if (!r->eps[i]->snap_ready)
            waiting = r->eps[i]->name;
    if (waiting)
        snprintf(why, why_size, "not ready: endpoint %s has not joined its consumer group",
                 waiting);
    pthread_mutex_unlock(&r->lock);
    return waiting == NULL;
}

static void metrics_cb(void *opaque, struct op_buf *out)
{
    struct reporter *r = opaque;
    static const char *const results[] = {"ok", "failed", "rejected"};
    char labels[REPORTER_NAME_MAX + 64];
    pthread_mutex_lock(&r->lock);
    op_prom_header(out, "outreach_reporter_pushes_total", "counter",
                   "delivery attempts: ok (2xx or file written), failed (retried), rejected "
                   "(dead-lettered)");
    for (size_t i = 0; i < r->n_eps; i++) {
        const struct reporter_endpoint_stats *st = &r->eps[i]->snap;
        const uint64_t v[] = {st->batches, st->retries, st->rejected};
        for (int k = 0; k < 3; k++) {
            snprintf(labels, sizeof labels, "endpoint=\"%s\",result=\"%s\"", r->eps[i]->name,
                     results[k]);
            op_prom_sample_u64(out, "outreach_reporter_pushes_total", labels, v[k]);
        }
    }
    op_prom_header(out, "outreach_reporter_rollups_delivered_total", "counter",
                   "rollup records in acknowledged batches");
    for (size_t i = 0; i < r->n_eps; i++) {
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", r->eps[i]->name);
        op_prom_sample_u64(out, "outreach_reporter_rollups_delivered_total", labels,
                           r->eps[i]->snap.rollups);
    }
    op_prom_header(out, "outreach_reporter_dead_lettered_total", "counter",
                   "messages written to the endpoint's DLQ topic (rejected batches and "
                   "undecodable messages)");
    for (size_t i = 0; i < r->n_eps; i++) {
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", r->eps[i]->name);
        op_prom_sample_u64(out, "outreach_reporter_dead_lettered_total", labels,
                           r->eps[i]->snap.rejected + r->eps[i]->snap.poison);
    }
    op_prom_header(out, "outreach_reporter_last_success_timestamp_seconds", "gauge",
                   "Unix time of the last acknowledged batch (0: none since start)");
    for (size_t i = 0; i < r->n_eps; i++) {
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", r->eps[i]->name);
        op_prom_sample(out, "outreach_reporter_last_success_timestamp_seconds", labels,
                       (double)r->eps[i]->snap.last_success_ms / 1000.0);
    }
    op_prom_header(out, "outreach_reporter_consumer_lag", "gauge",
                   "rollup messages of an assigned partition not yet delivered to the endpoint "
                   "(high watermark minus the first offset not acknowledged), refreshed every "
                   "2 s");
    for (size_t i = 0; i < r->n_eps; i++)
        for (int p = 0; p < r->eps[i]->snap_n_lag; p++) {
            if (r->eps[i]->snap_lag[p] < 0)
                continue;
            snprintf(labels, sizeof labels, "endpoint=\"%s\",partition=\"%d\"", r->eps[i]->name, p);
            op_prom_sample_u64(out, "outreach_reporter_consumer_lag", labels,
                               (uint64_t)r->eps[i]->snap_lag[p]);
        }
    op_prom_header(out, "outreach_reporter_queued_messages", "gauge",
                   "messages received from Kafka and not yet acknowledged by the endpoint (its "
                   "partition queues and the batch in flight)");
    for (size_t i = 0; i < r->n_eps; i++) {
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", r->eps[i]->name);
        op_prom_sample_u64(out, "outreach_reporter_queued_messages", labels,
                           r->eps[i]->snap.queued);
    }
    op_prom_header(out, "outreach_reporter_oauth2_token_requests_total", "counter",
                   "requests to the endpoint's OAuth2 token endpoint (endpoints with oauth2 only)");
    for (size_t i = 0; i < r->n_eps; i++) {
        if (!r->eps[i]->oauth2)
            continue;
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", r->eps[i]->name);
        op_prom_sample_u64(out, "outreach_reporter_oauth2_token_requests_total", labels,
                           r->eps[i]->snap.token_requests);
    }
    int ready = 1;
    for (size_t i = 0; i < r->n_eps; i++)
        ready &= r->eps[i]->snap_ready;
    pthread_mutex_unlock(&r->lock);
    op_prom_header(out, "outreach_reporter_ready", "gauge",
                   "1 when every endpoint has joined its consumer group");
    op_prom_sample_u64(out, "outreach_reporter_ready", NULL, (uint64_t)ready);
}

void reporter_set_reload(struct reporter *r, struct op_conf *(*fn)(void *opaque), void *opaque)
{
    r->reload_fn = fn;
    r->reload_opaque = opaque;
}

struct reload_ctx {
    struct reporter *r;
    struct op_conf *conf;
    size_t added;
};

/* One endpoint.NAME.url of the reloaded configuration: new names start delivering now. */
static int reload_endpoint(const char *name, const char *key, const char *value, void *opaque)
{
    struct reload_ctx *c = opaque;
    struct reporter *r = c->r;
    (void)key;
    struct reporter_endpoint *old = find_ep(r, name);
    if (old) {
        if (strcmp(old->url, value) != 0)
            op_log(OP_LOG_WARNING, "SIGHUP: endpoint %s has a new url: restart to apply it", name);
        return 0;
    }
    if (!reporter_name_valid(name)) {
        op_log(OP_LOG_ERR, "SIGHUP: endpoint name \"%s\" is not valid: ignored", name);
        return 0;
    }
    struct reporter_endpoint *ep = calloc(1, sizeof *ep);
    char err[512];
    if (!ep) {
        op_log(OP_LOG_ERR, "SIGHUP: endpoint %s: out of memory", name);
        return 0;
    }
    ep->r = r;
    ep->conf = c->conf;
    snprintf(ep->name, sizeof ep->name, "%s", name);
    if (endpoint_setup(ep, err, sizeof err) != 0) {
        op_log(OP_LOG_ERR, "SIGHUP: endpoint %s: %s; not added", name, err);
        endpoint_destroy(ep);
        return 0;
    }
    /* The HTTP thread walks r->eps under the lock. */
    pthread_mutex_lock(&r->lock);
    struct reporter_endpoint **np = realloc(r->eps, (r->n_eps + 1) * sizeof *np);
    if (np) {
        r->eps = np;
        r->eps[r->n_eps++] = ep;
    }
    pthread_mutex_unlock(&r->lock);
    if (!np) {
        op_log(OP_LOG_ERR, "SIGHUP: endpoint %s: out of memory", name);
        endpoint_destroy(ep);
        return 0;
    }
    atomic_init(&ep->done, 0);
    int e = pthread_create(&ep->thread, NULL, endpoint_main, ep);
    if (e != 0) {
        op_log(OP_LOG_ERR, "SIGHUP: endpoint %s: cannot start its thread: %s", name, strerror(e));
        return 0;
    }
    ep->started = 1;
    c->added++;
    op_log(OP_LOG_NOTICE, "SIGHUP: endpoint %s added (%s, group %s)", name, ep->url_shown,
           ep->group);
    if (ep_str(c->conf, name, "audit.topic"))
        op_log(OP_LOG_WARNING, "SIGHUP: endpoint %s: restart to start its audit stream", name);
    return 0;
}

static void reload(struct reporter *r)
{
    if (!r->reload_fn)
        return;
    struct op_conf *conf = r->reload_fn(r->reload_opaque);
    if (!conf)
        return; /* the loader said why; the running settings stay */
    struct op_conf **nr = realloc(r->reloaded, (r->n_reloaded + 1) * sizeof *nr);
    if (!nr) {
        op_conf_destroy(conf);
        op_log(OP_LOG_ERR, "SIGHUP: out of memory");
        return;
    }
    r->reloaded = nr;
    r->reloaded[r->n_reloaded++] = conf;
    (void)op_service_apply_log_level(conf); /* -v/-q stay */
    struct reload_ctx c = {r, conf, 0};
    op_conf_foreach(conf, "endpoint.*.url", reload_endpoint, &c);
    for (size_t i = 0; i < r->n_eps; i++) {
        char key[256];
        snprintf(key, sizeof key, "endpoint.%s.url", r->eps[i]->cname);
        if (!op_conf_get(conf, key))
            op_log(OP_LOG_WARNING,
                   "SIGHUP: endpoint %s is no longer configured: restart to "
                   "remove it",
                   r->eps[i]->name);
    }
    op_log(OP_LOG_NOTICE, "SIGHUP: reloaded log.level; %zu endpoint(s) added, %zu running", c.added,
           r->n_eps);
}

int reporter_run(struct reporter *r, volatile sig_atomic_t *run, volatile sig_atomic_t *reload_flag)
{
    int rc = 0;
    char err[256];
    r->service = op_service_start(op_conf_get(r->conf, "health.listen"), ready_cb, metrics_cb, r,
                                  err, sizeof err);
    if (!r->service) {
        op_log(OP_LOG_ERR, "%s", err);
        return 2;
    }
    for (size_t i = 0; i < r->n_eps; i++) {
        struct reporter_endpoint *ep = r->eps[i];
        atomic_init(&ep->done, 0);
        int e = pthread_create(&ep->thread, NULL, endpoint_main, ep);
        if (e != 0) {
            op_log(OP_LOG_ERR, "endpoint %s: cannot start its thread: %s", ep->name, strerror(e));
            rc = 1;
            break;
        }
        ep->started = 1;
    }
    if (rc == 0)
        op_service_ready(r->service, "delivering");
    while (rc == 0 && *run) {
        op_clock_sleep_ms(100); /* the watchdog is pinged from this loop only */
        op_service_ping();
        for (size_t i = 0; i < r->n_eps; i++)
            if (atomic_load(&r->eps[i]->done) && r->eps[i]->fatal)
                rc = 1;
        if (reload_flag && *reload_flag) {
            *reload_flag = 0;
            reload(r);
        }
    }
    op_service_stopping(r->service);
    atomic_store(&r->stop, 1);
    for (size_t i = 0; i < r->n_eps; i++)
        if (r->eps[i]->started) {
            pthread_join(r->eps[i]->thread, NULL);
            r->eps[i]->started = 0;
            if (r->eps[i]->fatal)
                rc = 1;
        }
    if (rc)
        op_log(OP_LOG_ERR, "fatal error: exiting; a restart resumes from the committed offsets");
    return rc;
}

void reporter_destroy(struct reporter *r)
{
    if (!r)
        return;
    op_service_stop(r->service); /* first: its thread reads the snapshots */
    atomic_store(&r->stop, 1);
    for (size_t i = 0; i < r->n_eps; i++) {
        if (r->eps[i]->started)
            pthread_join(r->eps[i]->thread, NULL);
        endpoint_destroy(r->eps[i]);
    }
    free(r->eps);
    for (size_t i = 0; i < r->n_reloaded; i++)
        op_conf_destroy(r->reloaded[i]);
    free(r->reloaded);
    op_regions_destroy(r->regions);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

size_t reporter_endpoint_count(const struct reporter *r)
{
    return r->n_eps;
}

const char *reporter_endpoint_name(const struct reporter *r, size_t i)
{
    return i < r->n_eps ? r->eps[i]->name : NULL;
}

const struct reporter_endpoint_stats *reporter_endpoint_stats(const struct reporter *r, size_t i)
{
    return i < r->n_eps ? &r->eps[i]->stats : NULL;
}
