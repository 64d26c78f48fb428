/* Topic administration through librdkafka's Admin API (2.0.2), so that daemons and tests
 * create what they need with the same settings instead of relying on broker auto-creation;
 * the daemons' stable instance names (static group membership); the one client factory and
 * the one watermark query with retries. */
#include "kafka.h"
#include "clock.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "service.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t auth_lock = PTHREAD_MUTEX_INITIALIZER;
static int auth_failed;       /* guarded by auth_lock */
static char auth_reason[512]; /* guarded by auth_lock; the first failure's reason */

void op_log_rdkafka_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    op_log(level, "rdkafka %s: %s", fac ? fac : "-", buf ? buf : "");
}

int op_kafka_note_error(int err, const char *reason)
{
    const char *r = reason ? reason : "";
    /* OpenSSL's reasons: our side rejected the broker's certificate, or the broker sent an
     * alert about ours. A handshake cut short by a restarting broker is none of these. */
    static const char *const tls_trust[] = {"certificate verify failed", "alert bad certificate",
                                            "alert unknown ca", "certificate required",
                                            "alert certificate unknown"};
    int auth = err == RD_KAFKA_RESP_ERR__AUTHENTICATION;
    /* librdkafka 2.0.2 reports a failed verification as _TRANSPORT, later ones as _SSL. */
    int tls = err == RD_KAFKA_RESP_ERR__SSL || err == RD_KAFKA_RESP_ERR__TRANSPORT;
    for (size_t i = 0; !auth && tls && i < sizeof tls_trust / sizeof *tls_trust; i++)
        auth = strstr(r, tls_trust[i]) != NULL;
    if (!auth)
        return 0;
    pthread_mutex_lock(&auth_lock);
    int first = !auth_failed;
    if (first) {
        auth_failed = 1;
        snprintf(auth_reason, sizeof auth_reason, "%s", r);
    }
    pthread_mutex_unlock(&auth_lock);
    if (first)
        op_log(OP_LOG_ERR,
               "kafka: authentication failed, exiting (retrying cannot fix it): %s; check %s", r,
               err == RD_KAFKA_RESP_ERR__AUTHENTICATION
                   ? "sasl.mechanisms, sasl.username and sasl.password(.file)"
                   : "ssl.ca.location (the CA of the broker's certificate) and "
                     "ssl.certificate.location/ssl.key.location");
    return 1;
}

int op_kafka_auth_failed(char *buf, size_t size)
{
    pthread_mutex_lock(&auth_lock);
    int failed = auth_failed;
    if (failed && buf && size)
        snprintf(buf, size, "%s", auth_reason);
    pthread_mutex_unlock(&auth_lock);
    return failed;
}

void op_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        op_log(OP_LOG_ERR, "kafka: fatal error: %s: %s", rd_kafka_err2name(orig), buf);
        return;
    }
    if (op_kafka_note_error(err, reason))
        return;
    op_log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? OP_LOG_WARNING : OP_LOG_NOTICE,
           "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason ? reason : "");
}

/* rd_kafka_metadata in slices of at most 1 s; see kafka.h. */
static rd_kafka_resp_err_t metadata(rd_kafka_t *rk, rd_kafka_topic_t *only,
                                    const struct rd_kafka_metadata **md, int timeout_ms)
{
    long long deadline = op_clock_mono_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - op_clock_mono_ms();
        int slice = left > 1000 ? 1000 : left < 1 ? 1 : (int)left;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, only, md, slice);
        if (!err)
            return err;
        /* A consumer's callbacks are served by its own poll loop: rd_kafka_poll on it could
         * serve its messages. A producer's error callback runs here. */
        if (rd_kafka_type(rk) == RD_KAFKA_PRODUCER)
            rd_kafka_poll(rk, 0);
        if (op_kafka_auth_failed(NULL, 0))
            return RD_KAFKA_RESP_ERR__AUTHENTICATION;
        if (op_clock_mono_ms() >= deadline)
            return err;
    }
}

static const char *metadata_err2str(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR__AUTHENTICATION ? "authentication failed (see above)"
                                                    : rd_kafka_err2str(err);
}

int op_kafka_broker_count(rd_kafka_t *rk, int timeout_ms, char *errstr, size_t errstr_size)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = metadata(rk, NULL, &md, timeout_ms);
    if (err) {
        op_set_err(errstr, errstr_size, "metadata: %s", metadata_err2str(err));
        return -1;
    }
    int n = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

/* Partition count and whether every partition has a leader; -1 if the topic is unknown. */
static int topic_state(rd_kafka_t *rk, const char *topic, int timeout_ms, int *all_led,
                       char *errstr, size_t errstr_size)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt) {
        op_set_err(errstr, errstr_size, "%s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = metadata(rk, rkt, &md, timeout_ms);
    rd_kafka_topic_destroy(rkt);
    if (err) {
        op_set_err(errstr, errstr_size, "%s: metadata: %s", topic, metadata_err2str(err));
        return -1;
    }
    int n = -1;
    if (md->topic_cnt == 1 && !md->topics[0].err) {
        n = md->topics[0].partition_cnt;
        *all_led = n > 0;
        for (int i = 0; i < n; i++)
            if (md->topics[0].partitions[i].leader < 0 || md->topics[0].partitions[i].err)
                *all_led = 0;
    } else {
        op_set_err(
            errstr, errstr_size, "%s: %s", topic,
            rd_kafka_err2str(md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
    }
    rd_kafka_metadata_destroy(md);
    return n;
}

int op_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                             size_t errstr_size)
{
    int led = 0;
    return topic_state(rk, topic, timeout_ms, &led, errstr, errstr_size);
}

int op_kafka_ensure_topics(rd_kafka_t *rk, const struct op_kafka_topic_spec *specs, size_t n,
                           int timeout_ms, int *partitions_out, char *errstr, size_t errstr_size)
{
    int rc = -1;
    rd_kafka_NewTopic_t *new_topics[16] = {0};
    rd_kafka_AdminOptions_t *opts = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;
    char err[512];

    if (n > sizeof new_topics / sizeof new_topics[0]) {
        op_set_err(errstr, errstr_size, "too many topics in one call");
        return -1;
    }
    int brokers = op_kafka_broker_count(rk, timeout_ms, errstr, errstr_size);
    if (brokers < 0)
        return -1;
    /* Only missing topics are created: existing ones need no CreateTopics permission (and
     * librdkafka's mock cluster has no CreateTopics at all). */
    int missing[16] = {0};
    size_t n_missing = 0;
    for (size_t i = 0; i < n; i++) {
        int led = 0;
        char ignore[256];
        if (topic_state(rk, specs[i].name, timeout_ms, &led, ignore, sizeof ignore) <= 0) {
            missing[i] = 1;
            n_missing++;
        }
    }
    if (n_missing == 0)
        goto wait_leaders;
    for (size_t i = 0; i < n; i++) {
        if (!missing[i])
            continue;
        int repl = specs[i].replication > 0 ? specs[i].replication : brokers < 3 ? brokers : 3;
        new_topics[i] =
            rd_kafka_NewTopic_new(specs[i].name, specs[i].partitions, repl, err, sizeof err);
        if (!new_topics[i]) {
            op_set_err(errstr, errstr_size, "%s: %s", specs[i].name, err);
            goto cleanup;
        }
        int has_isr = 0;
        for (const char *const *kv = specs[i].configs; kv && kv[0]; kv += 2) {
            if (strcmp(kv[0], "min.insync.replicas") == 0)
                has_isr = 1;
            if (rd_kafka_NewTopic_set_config(new_topics[i], kv[0], kv[1]) != 0) {
                op_set_err(errstr, errstr_size, "%s: bad config %s", specs[i].name, kv[0]);
                goto cleanup;
            }
        }
        if (!has_isr && repl >= 3)
            rd_kafka_NewTopic_set_config(new_topics[i], "min.insync.replicas", "2");
    }
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    q = rd_kafka_queue_new(rk);
    if (!opts || !q ||
        rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, err, sizeof err)) {
        op_set_err(errstr, errstr_size, "admin setup failed");
        goto cleanup;
    }
    rd_kafka_NewTopic_t *to_create[16];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (new_topics[i])
            to_create[k++] = new_topics[i];
    rd_kafka_CreateTopics(rk, to_create, k, opts, q);
    ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
    if (!ev) {
        op_set_err(errstr, errstr_size, "CreateTopics: no answer within %d ms", timeout_ms + 5000);
        goto cleanup;
    }
    if (rd_kafka_event_error(ev)) {
        op_set_err(errstr, errstr_size, "CreateTopics: %s", rd_kafka_event_error_string(ev));
        goto cleanup;
    }
    size_t cnt = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            const char *why = rd_kafka_topic_result_error_string(res[i]);
            op_set_err(errstr, errstr_size, "create topic %s: %s",
                       rd_kafka_topic_result_name(res[i]), why ? why : rd_kafka_err2str(e));
            goto cleanup;
        }
    }
wait_leaders:;
    /* A created topic needs a moment before every partition has a leader. */
    long long deadline = op_clock_mono_ms() + timeout_ms;
    for (size_t i = 0; i < n; i++) {
        for (;;) {
            int led = 0;
            int parts = topic_state(rk, specs[i].name, 5000, &led, errstr, errstr_size);
            if (parts > 0 && led) {
                if (partitions_out)
                    partitions_out[i] = parts;
                break;
            }
            if (op_clock_mono_ms() > deadline) {
                if (parts > 0)
                    op_set_err(errstr, errstr_size, "%s: partitions without leader after %d ms",
                               specs[i].name, timeout_ms);
                goto cleanup;
            }
            op_clock_sleep_ms(100);
        }
    }
    rc = 0;
cleanup:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (q)
        rd_kafka_queue_destroy(q);
    if (opts)
        rd_kafka_AdminOptions_destroy(opts);
    for (size_t i = 0; i < n; i++)
        if (new_topics[i])
            rd_kafka_NewTopic_destroy(new_topics[i]);
    return rc;
}

int op_kafka_instance_id(const char *configured, char *out, size_t out_size, char *errstr,
                         size_t errstr_size)
{
    char host[256] = "";
    const char *name = configured;
    if (name && !*name) {
        /* An explicit "instance.id=" is a mistake, not a request for the host name: it
         * would give transactional.id "outreach-aggregator-" to every such instance. */
        op_set_err(errstr, errstr_size,
                   "instance.id is set but empty: give a name of 1 to %d letters, digits, '.', "
                   "'_' or '-', or leave it unset for the host name",
                   OP_KAFKA_INSTANCE_MAX);
        return -1;
    }
    if (!name) {
        if (gethostname(host, sizeof host - 1) != 0) {
            op_set_err(errstr, errstr_size, "instance.id is not set and gethostname failed: %s",
                       strerror(errno));
            return -1;
        }
        name = host;
    }
    size_t n = strlen(name);
    int ok = n > 0 && n <= OP_KAFKA_INSTANCE_MAX && n < out_size;
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    if (ok && (strcmp(name, ".") == 0 || strcmp(name, "..") == 0))
        ok = 0; /* it also names a state directory */
    if (!ok) {
        op_set_err(errstr, errstr_size,
                   "instance.id \"%s\"%s: use 1 to %d letters, digits, '.', '_' or '-' (it names "
                   "the static group membership)",
                   name, name == host ? " (the host name)" : "", OP_KAFKA_INSTANCE_MAX);
        return -1;
    }
    memcpy(out, name, n + 1);
    return 0;
}

int op_kafka_province_key(const char *region, char out[7])
{
    for (int i = 0; i < 6; i++)
        if (region[i] < '0' || region[i] > '9')
            return -1;
    if (region[6] != 0)
        return -1;
    out[0] = region[0];
    out[1] = region[1];
    memcpy(out + 2, "0000", 5);
    return 0;
}

rd_kafka_t *op_kafka_client_new(const struct op_conf *conf, rd_kafka_type_t type,
                                const struct op_kafka_client_opts *o, char *errstr,
                                size_t errstr_size)
{
    static const struct op_kafka_client_opts none;
    if (!o)
        o = &none;
    rd_kafka_conf_t *c = conf ? op_conf_kafka_dup(conf) : rd_kafka_conf_new();
    if (!c) {
        op_set_err(errstr, errstr_size,
                   conf ? "configuration without librdkafka settings, or out of memory"
                        : "out of memory");
        return NULL;
    }
    char err[512];
    /* Keys of our table marked for this kind of client (e.g. the consumers' session.timeout.ms,
     * the producers' message.timeout.ms): each goes to the one client it concerns. */
    unsigned to = type == RD_KAFKA_PRODUCER ? OP_CONF_TO_PRODUCER : OP_CONF_TO_CONSUMER;
    for (const struct op_conf_def *d = conf ? op_conf_table(conf) : NULL; d && d->key; d++) {
        const char *v = (d->clients & to) ? op_conf_get(conf, d->key) : NULL;
        if (v && rd_kafka_conf_set(c, d->key, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
            op_set_err(errstr, errstr_size, "%s: %s", d->key, err);
            rd_kafka_conf_destroy(c);
            return NULL;
        }
    }
    for (const char *const *kv = o->settings; kv && kv[0]; kv += 2)
        if (kv[1] && rd_kafka_conf_set(c, kv[0], kv[1], err, sizeof err) != RD_KAFKA_CONF_OK) {
            op_set_err(errstr, errstr_size, "%s: %s", kv[0], err);
            rd_kafka_conf_destroy(c);
            return NULL;
        }
    rd_kafka_conf_set_log_cb(c, op_log_rdkafka_cb);
    rd_kafka_conf_set_error_cb(c, o->error_cb ? o->error_cb : op_kafka_error_cb);
    rd_kafka_conf_set_opaque(c, o->opaque);
    if (o->dr_msg_cb)
        rd_kafka_conf_set_dr_msg_cb(c, o->dr_msg_cb);
    if (o->rebalance_cb)
        rd_kafka_conf_set_rebalance_cb(c, o->rebalance_cb);
    if (o->stats_cb)
        rd_kafka_conf_set_stats_cb(c, o->stats_cb);
    rd_kafka_t *rk = rd_kafka_new(type, c, err, sizeof err);
    if (!rk) {
        op_set_err(errstr, errstr_size, "%s", err);
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    /* rd_kafka_new() took ownership of c. */
    return rk;
}

int op_kafka_offset_err_transient(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        return 1;
    default:
        return 0;
    }
}

rd_kafka_resp_err_t op_kafka_watermarks(rd_kafka_t *rk, const char *topic, int32_t p,
                                        int timeout_ms, int64_t *lo, int64_t *hi)
{
    int64_t deadline = op_clock_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - op_clock_mono_ms();
        /* One query may take all that is left, but not more than 10 s: a leader that moved
         * meanwhile is found by the next try. */
        int slice = left > 10000 ? 10000 : left < 1 ? 1 : (int)left;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, p, lo, hi, slice);
        if (!e || !op_kafka_offset_err_transient(e) || op_clock_mono_ms() >= deadline)
            return e;
        op_log(OP_LOG_INFO, "watermarks of %s [%" PRId32 "]: %s (retrying)", topic, p,
               rd_kafka_err2str(e));
        if (e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
            e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) {
            /* librdkafka 2.0.2 answers NOT_LEADER by refreshing only the topics the handle
             * knows, and an assign-only reader may know none: its cached leader stayed stale
             * for 30 s and more after a broker restart. A metadata request for the topic
             * refreshes the cache. */
            char ignored[256];
            (void)op_kafka_partition_count(rk, topic, 5000, ignored, sizeof ignored);
        }
        op_service_ping();
        left = deadline - op_clock_mono_ms();
        if (left <= 0)
            return e;
        op_clock_sleep_ms(left < 500 ? (long)left : 500);
    }
}
