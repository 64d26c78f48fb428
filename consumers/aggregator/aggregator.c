/* The exactly-once loop of outreach-aggregator (pattern of librdkafka's transactions.c):
 * restore per-partition state from the compacted outputs on assignment, then consume →
 * update → one transaction per interval carrying outputs and consumed offsets. */
#include "err.h"
#include "aggregator.h"
#include "internal.h"
#include "clock.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "authz.h"
#include "cli.h"
#include "codec.h"
#include "health.h"
#include "service.h"
#include "event.h"
#include "kafka.h"
#include "log.h"
#include "regions.h"
#include "state.h"
#include "store.h"

#include "audit.h"
#include "correct.h"

/* systemd watchdog: called from the main loop and from every wait that can outlast
 * WatchdogSec (restores, offset fetches, commit retries), so only a stuck daemon is killed. */
void agg_watchdog_ping(struct aggregator *a)
{
    (void)a;
    op_service_ping();
}

/* ---- producing -------------------------------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct aggregator *a = opaque;
    /* A failed delivery fails the transaction at commit; the log says why. */
    if (m->err) {
        op_log(OP_LOG_WARNING, "delivery to %s [%" PRId32 "] failed: %s",
               rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_err2str(m->err));
        return;
    }
    const char *t = rd_kafka_topic_name(m->rkt);
    int which = strcmp(t, a->set.rollups_topic) == 0 ? 0
                : strcmp(t, a->set.seen_topic) == 0  ? 1
                                                     : -1;
    if (which >= 0 && a->changelog_next && m->partition >= 0 && m->partition < a->partitions) {
        int64_t *next = &a->changelog_next[m->partition * 2 + which];
        if (m->offset + 1 > *next)
            *next = m->offset + 1;
    }
}

/* producev with back-pressure: QUEUE_FULL waits for deliveries and retries. */
int agg_produce(struct aggregator *a, const char *topic, int32_t partition, const void *key,
                size_t key_len, const void *value, size_t len, rd_kafka_headers_t *hdrs)
{
    rd_kafka_resp_err_t e;
    for (;;) {
        e = rd_kafka_producev(
            a->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_KEY((void *)key, key_len), RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(a->producer, 50);
    }
    if (e) {
        /* producev did not take the headers on failure. */
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        op_log(OP_LOG_ERR, "produce to %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static int produce_rollup(struct agg_rollup *r, void *opaque)
{
    struct aggregator *a = opaque;
    char err[512], key[160];
    int key_len = agg_rollup_key(&a->model, r, key, sizeof key);
    a->buf.len = 0;
    if (key_len < 0 ||
        agg_rollup_write(&a->model, r, &a->rollup_value, &a->buf, err, sizeof err) != 0) {
        op_log(OP_LOG_ERR, "rollup %016" PRIx64 ": %s", r->id, key_len < 0 ? "no key" : err);
        return -1;
    }
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "type", -1, "rollup", -1);
    /* Co-partitioning: rollups of events partition p live in rollups partition p. */
    if (agg_produce(a, a->set.rollups_topic, a->flushing, key, (size_t)key_len, a->buf.data,
                    a->buf.len, h) != 0)
        return -1;
    a->stats.rollups_written++;
    return 0;
}

/* ---- transactions ----------------------------------------------------------------------- */

enum txn_verdict { TXN_OK = 0, TXN_ABORT = 1, TXN_FATAL = -1 };

static enum txn_verdict txn_verdict_of(rd_kafka_error_t *e, const char *what)
{
    if (!e)
        return TXN_OK;
    enum txn_verdict v = rd_kafka_error_is_fatal(e) ? TXN_FATAL : TXN_ABORT;
    op_log(OP_LOG_ERR, "%s: %s", what, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return v;
}

/* Calls f until it succeeds or fails for good. */
static enum txn_verdict txn_retry(rd_kafka_error_t *(*f)(struct aggregator *, void *),
                                  struct aggregator *a, void *arg, const char *what)
{
    for (int attempt = 0;; attempt++) {
        rd_kafka_error_t *e = f(a, arg);
        if (!e)
            return TXN_OK;
        if (rd_kafka_error_is_retriable(e) && !rd_kafka_error_is_fatal(e) &&
            !rd_kafka_error_txn_requires_abort(e) && attempt < 100 && !a->fatal) {
            op_log(OP_LOG_WARNING, "%s: %s (retrying)", what, rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            op_clock_sleep_ms(200);
            agg_watchdog_ping(a);
            continue;
        }
        return txn_verdict_of(e, what);
    }
}

static rd_kafka_error_t *do_begin(struct aggregator *a, void *arg)
{
    (void)arg;
    return rd_kafka_begin_transaction(a->producer);
}

static rd_kafka_error_t *do_send_offsets(struct aggregator *a, void *arg)
{
    rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(a->consumer);
    rd_kafka_error_t *e = rd_kafka_send_offsets_to_transaction(a->producer, arg, md, 60000);
    rd_kafka_consumer_group_metadata_destroy(md);
    return e;
}

static rd_kafka_error_t *do_commit(struct aggregator *a, void *arg)
{
    (void)arg;
    return rd_kafka_commit_transaction(a->producer, 60000);
}

static rd_kafka_error_t *do_abort(struct aggregator *a, void *arg)
{
    (void)arg;
    return rd_kafka_abort_transaction(a->producer, 60000);
}

static enum txn_verdict txn_begin(struct aggregator *a)
{
    if (a->txn_open)
        return TXN_OK;
    enum txn_verdict v = txn_retry(do_begin, a, NULL, "begin_transaction");
    if (v == TXN_OK) {
        a->txn_open = 1;
        a->txn_started_ms = op_clock_mono_ms();
    }
    return v;
}

/* Produces the dirty rollups and the new seen ids, sends the consumed offsets, commits, and
 * then brings the store to the committed state. */
static enum txn_verdict txn_commit(struct aggregator *a)
{
    if (!a->txn_open)
        return TXN_OK;
    for (int p = 0; p < a->partitions; p++) {
        a->flushing = p;
        if (a->states[p] &&
            (agg_take_dirty(a->states[p], produce_rollup, a) != 0 || agg_produce_seen(a, p) != 0))
            return TXN_ABORT;
    }
    rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(8);
    for (int p = 0; p < a->partitions; p++)
        if (a->positions[p] >= 0)
            rd_kafka_topic_partition_list_add(offsets, a->set.events_topic, p)->offset =
                a->positions[p];
    enum txn_verdict v = TXN_OK;
    if (offsets->cnt > 0)
        v = txn_retry(do_send_offsets, a, offsets, "send_offsets_to_transaction");
    rd_kafka_topic_partition_list_destroy(offsets);
    if (v == TXN_OK)
        v = txn_retry(do_commit, a, NULL, "commit_transaction");
    if (v == TXN_OK) {
        a->txn_open = 0;
        a->stats.txn_committed++;
        rd_kafka_poll(a->producer, 0); /* delivery reports: the changelog offsets */
        agg_fault("after-kafka-commit");
        if (agg_store_commit_txn(a) != 0)
            return TXN_FATAL;
        for (int p = 0; p < a->partitions; p++)
            a->positions[p] = -1;
    }
    return v;
}

/* Replaces the state of every partition in `parts` with what Kafka has committed, and
 * assigns them to the consumer at their committed offsets — or, with rewind (after an abort:
 * they are assigned already), seeks them there. Re-assigning an assigned partition races
 * a revoke that may follow at once (librdkafka 2.0.2 then aborts on an assertion in
 * rd_kafka_assignment_partition_stopped: found by make chaos); seeking is librdkafka's own
 * way to rewind a transactional consumer. */
static int restore_and_assign(struct aggregator *a, rd_kafka_topic_partition_list_t *parts,
                              int rewind)
{
    int64_t t0 = op_clock_mono_ms();
    char err[512];
    a->stats.ready = 0;
    if (agg_store_sync(a) != 0) /* the store write out, before the store is written here */
        return -1;
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
    /* With read_committed this waits for any pending transaction holding offsets of these
     * partitions (KIP-447), so the outputs we restore next are complete. */
    rd_kafka_resp_err_t e;
    for (int attempt = 0;; attempt++) {
        e = rd_kafka_committed(a->consumer, committed, 5000);
        if (e != RD_KAFKA_RESP_ERR__TIMED_OUT || attempt >= 24)
            break;
        op_log(OP_LOG_INFO, "committed offsets not available yet (a pending transaction of "
                            "the previous owner?): waiting");
        agg_watchdog_ping(a);
    }
    if (e) {
        op_log(OP_LOG_ERR, "fetch committed offsets: %s", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(committed);
        return -1;
    }
    for (int i = 0; i < committed->cnt; i++) {
        int32_t p = committed->elems[i].partition;
        if (p < 0 || p >= a->partitions) {
            op_log(OP_LOG_ERR, "partition %" PRId32 " beyond the %d known: restart to resize", p,
                   a->partitions);
            rd_kafka_topic_partition_list_destroy(committed);
            return -1;
        }
        agg_state_destroy(a->states[p]);
        struct agg_backing backing = agg_store_backing(a->store);
        a->states[p] = agg_state_new(p, &backing);
        a->positions[p] = -1;
        if (!a->states[p]) {
            op_log(OP_LOG_ERR, "restore: out of memory");
            rd_kafka_topic_partition_list_destroy(committed);
            return -1;
        }
    }
    if (agg_restore_partitions(a, committed, err, sizeof err) != 0) {
        op_log(OP_LOG_ERR, "restore: %s", err);
        if (a->store && !strncmp(err, "store:", 6))
            agg_store_failed(a, "restore");
        rd_kafka_topic_partition_list_destroy(committed);
        return -1;
    }
    for (int i = 0; i < committed->cnt; i++) {
        if (committed->elems[i].offset < 0)
            committed->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        op_log(OP_LOG_DEBUG, "partition %" PRId32 ": resuming at offset %" PRId64,
               committed->elems[i].partition, committed->elems[i].offset);
    }
    if (rewind) {
        rd_kafka_error_t *se = rd_kafka_seek_partitions(a->consumer, committed, 30000);
        for (int i = 0; !se && i < committed->cnt; i++)
            if (committed->elems[i].err) {
                op_log(OP_LOG_ERR, "rewind partition %" PRId32 ": %s",
                       committed->elems[i].partition, rd_kafka_err2str(committed->elems[i].err));
                rd_kafka_topic_partition_list_destroy(committed);
                return -1;
            }
        rd_kafka_topic_partition_list_destroy(committed);
        if (se) {
            op_log(OP_LOG_ERR, "rewind: %s", rd_kafka_error_string(se));
            rd_kafka_error_destroy(se);
            return -1;
        }
    } else {
        rd_kafka_resp_err_t ae = rd_kafka_assign(a->consumer, committed);
        rd_kafka_topic_partition_list_destroy(committed);
        if (ae) {
            op_log(OP_LOG_ERR, "assign: %s", rd_kafka_err2str(ae));
            return -1;
        }
    }
    a->stats.restores++;
    a->stats.last_restore_ms = op_clock_mono_ms() - t0;
    a->stats.ready = 1;
    op_log(OP_LOG_NOTICE, "restored %d partition(s) in %" PRId64 " ms", parts->cnt,
           a->stats.last_restore_ms);
    return 0;
}

static void drop_partitions(struct aggregator *a, rd_kafka_topic_partition_list_t *parts)
{
    agg_store_sync(a); /* the writer reads the states; a failure marks the engine fatal */
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (p >= 0 && p < a->partitions) {
            agg_state_destroy(a->states[p]);
            a->states[p] = NULL;
            a->positions[p] = -1;
        }
    }
}

/* After an abort: every assigned partition goes back to its committed state. */
static int abort_and_rewind(struct aggregator *a)
{
    if (a->txn_open) {
        enum txn_verdict v = txn_retry(do_abort, a, NULL, "abort_transaction");
        a->txn_open = 0;
        if (v != TXN_OK)
            return -1;
        a->stats.txn_aborted++;
    }
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(a->consumer, &assigned) != 0)
        return -1;
    op_log(OP_LOG_WARNING, "transaction aborted: rewinding %d partition(s) to committed state",
           assigned->cnt);
    drop_partitions(a, assigned); /* the store holds the committed state */
    a->n_dirty = 0;
    int rc = restore_and_assign(a, assigned, 1);
    rd_kafka_topic_partition_list_destroy(assigned);
    return rc;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct aggregator *a = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        op_log(OP_LOG_NOTICE, "assigned %d partition(s)", parts->cnt);
        if (restore_and_assign(a, parts, 0) != 0)
            a->fatal = 1;
        return;
    }
    /* Revoked or lost. A lost assignment may already belong to someone else: abort. */
    int lost = rd_kafka_assignment_lost(rk);
    op_log(OP_LOG_NOTICE, "%s %d partition(s)", lost ? "lost" : "revoked", parts->cnt);
    if (a->txn_open) {
        enum txn_verdict v = lost ? TXN_ABORT : txn_commit(a);
        if (v == TXN_ABORT && a->txn_open) {
            if (txn_retry(do_abort, a, NULL, "abort_transaction") != TXN_OK)
                a->fatal = 1;
            a->txn_open = 0;
            a->stats.txn_aborted++;
        } else if (v == TXN_FATAL)
            a->fatal = 1;
    }
    drop_partitions(a, parts); /* their store content waits, checked against the tail */
    a->n_dirty = 0;
    rd_kafka_assign(rk, NULL);
    a->stats.ready = 0;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static rd_kafka_t *make_client(struct aggregator *a, rd_kafka_type_t type,
                               const char *const *settings, int with_rebalance, char *errstr,
                               size_t errstr_size)
{
    struct op_kafka_client_opts o = {.settings = settings,
                                     .opaque = a,
                                     .dr_msg_cb = type == RD_KAFKA_PRODUCER ? dr_cb : NULL,
                                     .rebalance_cb = with_rebalance ? rebalance_cb : NULL};
    return op_kafka_client_new(a->conf, type, &o, errstr, errstr_size);
}

struct aggregator *aggregator_new(struct op_conf *conf, char *errstr, size_t errstr_size)
{
    struct aggregator *a = calloc(1, sizeof *a);
    if (!a) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    a->conf = conf;
    pthread_mutex_init(&a->lock, NULL);
    op_conf_bind(conf, &a->set);
    a->horizon_ms = a->set.dedup_horizon_days * 86400000LL;
    a->max_future_ms = a->set.max_future_skew_s * 1000LL;

    a->regions = op_regions_new_from_file(a->set.regions_file, errstr, errstr_size);
    if (!a->regions)
        goto fail;
    a->codec = op_codec_new_default(errstr, errstr_size);
    if (!a->codec)
        goto fail;
    a->authz = op_authz_new_from_conf(conf, errstr, errstr_size);
    if (!a->authz)
        goto fail;
    if (agg_model_init(&a->model, a->codec, a->regions, a->set.campaigns, errstr, errstr_size) != 0)
        goto fail;
    a->model_ready = 1;
    /* Rollups in wire.format, their schema registered now; events (and our own rollups, on
     * restore) of either framing decode, Confluent ids through the same registry client. */
    a->frame = op_frame_new_from_conf(conf, errstr, errstr_size);
    if (!a->frame || op_frame_bind(a->frame, a->set.rollups_topic, &a->model.rollup, 1, errstr,
                                   errstr_size) != 0)
        goto fail;
    a->model.frame = a->frame;
    op_codec_set_registry(a->codec, op_frame_registry(a->frame));
    if (avro_generic_value_new(a->model.rollup->iface, &a->rollup_value) != 0) {
        op_set_err(errstr, errstr_size, "avro-c: %s", avro_strerror());
        goto fail;
    }
    a->have_rollup_value = 1;
    a->audit_schema = op_codec_reader(a->codec, "audit");
    if (!a->audit_schema || avro_generic_value_new(a->audit_schema->iface, &a->audit_value) != 0) {
        op_set_err(errstr, errstr_size, "audit schema: avro-c: %s", avro_strerror());
        goto fail;
    }
    a->have_audit_value = 1;
    /* The audit entries in the same wire.format as the rollups. */
    if (op_frame_bind(a->frame, a->set.audit_topic, &a->audit_schema, 1, errstr, errstr_size) != 0)
        goto fail;

    char instance[OP_KAFKA_INSTANCE_MAX + 1], txn_id[300];
    if (op_kafka_instance_id(a->set.instance_id, instance, sizeof instance, errstr, errstr_size) !=
        0)
        goto fail;
    snprintf(txn_id, sizeof txn_id, "outreach-aggregator-%s", instance);
    const char *sdir = a->set.state_dir;
    if (!sdir || !*sdir)
        sdir = getenv("STATE_DIRECTORY"); /* systemd's StateDirectory= */
    if (!sdir || !*sdir)
        sdir = "/var/lib/outreach-aggregator";
    if (strchr(instance, '/') || !strcmp(instance, ".") || !strcmp(instance, "..")) {
        op_set_err(errstr, errstr_size, "instance.id \"%s\" must not contain '/'", instance);
        goto fail;
    }
    int dl = snprintf(a->store_dir, sizeof a->store_dir, "%s/%s", sdir, instance);
    if (dl < 0 || (size_t)dl >= sizeof a->store_dir) {
        op_set_err(errstr, errstr_size, "state.dir too long");
        goto fail;
    }
    if (mkdir(sdir, 0700) != 0 && errno != EEXIST) {
        op_set_err(errstr, errstr_size, "state.dir %s: %s", sdir, strerror(errno));
        goto fail;
    }
    snprintf(a->member_id, sizeof a->member_id, "%s", txn_id);
    if (a->set.message_timeout_ms >= a->set.transaction_timeout_ms) {
        op_set_err(errstr, errstr_size, "message.timeout.ms must be below transaction.timeout.ms");
        goto fail;
    }
    /* transaction.timeout.ms, message.timeout.ms, compression.codec and
     * queue.buffering.max.kbytes reach the producer, queued.* the consumers, from the table. */
    const char *const producer_settings[] = {
        "transactional.id", txn_id, "enable.idempotence", "true", "acks", "all", NULL};
    const char *const restorer_settings[] = {"group.id",
                                             "outreach-aggregator-restore",
                                             "fetch.wait.max.ms",
                                             "20",
                                             "enable.auto.commit",
                                             "false",
                                             "isolation.level",
                                             "read_committed",
                                             "auto.offset.reset",
                                             "earliest",
                                             "enable.partition.eof",
                                             "true",
                                             NULL};
    a->producer = make_client(a, RD_KAFKA_PRODUCER, producer_settings, 0, errstr, errstr_size);
    if (!a->producer)
        goto fail;
    a->restorer = make_client(a, RD_KAFKA_CONSUMER, restorer_settings, 0, errstr, errstr_size);
    if (!a->restorer)
        goto fail;
    op_log(OP_LOG_INFO, "transactional.id %s", txn_id);
    return a;
fail:
    aggregator_destroy(a);
    return NULL;
}

/* The consumer is created only after topics exist and transactions are initialised, so a
 * rebalance can never see a producer that is not ready. */
static int start(struct aggregator *a)
{
    char err[512];
    int parts = a->set.topic_partitions, repl = a->set.topic_replication;
    char horizon[32];
    snprintf(horizon, sizeof horizon, "%" PRId64, a->horizon_ms);
    const char *const rollup_cfg[] = {"cleanup.policy", "compact", NULL};
    const char *const seen_cfg[] = {"cleanup.policy", "compact,delete", "retention.ms", horizon,
                                    NULL};
    const char *const dlq_cfg[] = {"retention.ms", "2592000000", NULL};
    const char *const audit_cfg[] = {"retention.ms", "-1", NULL}; /* an audit trail is kept */
    struct op_kafka_topic_spec events = {a->set.events_topic, (int)parts, repl, NULL};
    int n_events = 0;
    if (op_kafka_ensure_topics(a->producer, &events, 1, 60000, &n_events, err, sizeof err) != 0) {
        op_log(OP_LOG_ERR, "%s", err);
        return -1;
    }
    struct op_kafka_topic_spec outs[4] = {{a->set.rollups_topic, n_events, repl, rollup_cfg},
                                          {a->set.seen_topic, n_events, repl, seen_cfg},
                                          {a->set.dlq_topic, n_events, repl, dlq_cfg},
                                          {a->set.audit_topic, n_events, repl, audit_cfg}};
    int n_out[4] = {0, 0, 0, 0};
    if (op_kafka_ensure_topics(a->producer, outs, 4, 60000, n_out, err, sizeof err) != 0) {
        op_log(OP_LOG_ERR, "%s", err);
        return -1;
    }
    for (int i = 0; i < 2; i++)
        if (n_out[i] != n_events) {
            op_log(OP_LOG_ERR, "%s has %d partitions but %s has %d: they must be co-partitioned",
                   outs[i].name, n_out[i], a->set.events_topic, n_events);
            return -1;
        }
    a->partitions = n_events;
    if (agg_open_store(a) != 0)
        return -1;
    a->states = calloc((size_t)n_events, sizeof *a->states);
    a->changelog_next = calloc((size_t)n_events * 2, sizeof *a->changelog_next);
    a->positions = malloc((size_t)n_events * sizeof *a->positions);
    int64_t *lag = malloc((size_t)n_events * sizeof *lag);
    if (!a->states || !a->positions || !a->changelog_next || !lag || agg_writer_start(a) != 0) {
        free(lag);
        op_log(OP_LOG_ERR, "out of memory (or no thread for the store writer)");
        return -1;
    }
    for (int p = 0; p < n_events; p++)
        lag[p] = -1;
    pthread_mutex_lock(&a->lock);
    a->lag_snap = lag;
    pthread_mutex_unlock(&a->lock);
    for (int p = 0; p < n_events; p++)
        a->positions[p] = -1;

    /* Fences an earlier incarnation with our transactional.id and aborts its open
     * transaction, so restarts never wait for a transaction timeout. */
    if (txn_verdict_of(rd_kafka_init_transactions(a->producer, 60000), "init_transactions") !=
        TXN_OK)
        return -1;

    const char *const consumer_settings[] = {
        "group.id", a->set.group_name, "enable.auto.commit", "false", "enable.auto.offset.store",
        "false", "isolation.level", "read_committed", "auto.offset.reset", "earliest",
        "enable.partition.eof", "false",
        /* Static membership: a restarted instance takes
         * its partitions back without a rebalance. */
        "group.instance.id", a->member_id, NULL};
    a->consumer = make_client(a, RD_KAFKA_CONSUMER, consumer_settings, 1, err, sizeof err);
    if (!a->consumer) {
        op_log(OP_LOG_ERR, "consumer: %s", err);
        return -1;
    }
    return 0;
}

int aggregator_run(struct aggregator *a, volatile sig_atomic_t *run,
                   volatile sig_atomic_t *reload_flag)
{
    char err[256];
    a->service =
        op_service_start(a->set.health_listen, agg_ready_cb, agg_metrics_cb, a, err, sizeof err);
    if (!a->service) {
        op_log(OP_LOG_ERR, "%s", err);
        return 2;
    }
    if (start(a) != 0)
        return 1;
    rd_kafka_poll_set_consumer(a->consumer);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, a->set.events_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(a->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        op_log(OP_LOG_ERR, "subscribe %s: %s", a->set.events_topic, rd_kafka_err2str(e));
        return 1;
    }
    op_log(OP_LOG_NOTICE, "consuming %s (%d partitions) as group %s", a->set.events_topic,
           a->partitions, a->set.group_name);
    op_service_ready(a->service, "consuming");

    int rc = 0;
    while (*run && !a->fatal) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(a->consumer, 100);
        if (op_kafka_auth_failed(NULL, 0))
            a->fatal = 1; /* logged where it was noted */
        if (a->fatal) {
            if (m)
                rd_kafka_message_destroy(m);
            break;
        }
        if (m) {
            if (m->err) {
                if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                    op_log(OP_LOG_ERR, "consumer fatal: %s", rd_kafka_message_errstr(m));
                    a->fatal = 1;
                } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    op_log(OP_LOG_WARNING, "consumer: %s", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                continue;
            }
            enum txn_verdict v = txn_begin(a);
            if (v == TXN_OK && agg_handle(a, m) != 0)
                v = a->fatal ? TXN_FATAL : TXN_ABORT;
            rd_kafka_message_destroy(m);
            if (v == TXN_FATAL) {
                a->fatal = 1;
                break;
            }
            if (v == TXN_ABORT && abort_and_rewind(a) != 0) {
                a->fatal = 1;
                break;
            }
        }
        rd_kafka_poll(a->producer, 0);
        if (agg_store_poll(a) != 0)
            break; /* the store failed and was removed: fatal */
        /* Commit each interval, or sooner once the working set reaches state.max.dirty:
         * memory follows that bound, not the rate of events. */
        if (a->txn_open && (op_clock_mono_ms() - a->txn_started_ms >= a->set.commit_interval_ms ||
                            (int64_t)a->n_dirty >= a->set.state_max_dirty)) {
            enum txn_verdict v = txn_commit(a);
            if (v == TXN_FATAL || (v == TXN_ABORT && abort_and_rewind(a) != 0)) {
                a->fatal = 1;
                break;
            }
        }
        agg_publish_snapshot(a, 0);
        agg_watchdog_ping(a);
        if (reload_flag && *reload_flag) {
            *reload_flag = 0;
            agg_reload(a);
        }
        /* Between transactions, so the store holds only committed state while it prunes. */
        if (!a->txn_open && a->store && op_clock_wall_ms() - a->last_prune_ms > 600000) {
            a->last_prune_ms = op_clock_wall_ms();
            if (agg_store_sync(a) != 0)
                break;
            long pruned = agg_store_prune_seen(a->store, op_clock_wall_ms() - a->horizon_ms);
            if (pruned < 0) {
                agg_store_failed(a, "prune");
                break;
            }
            if (pruned)
                op_log(OP_LOG_INFO, "forgot %ld event ids older than the dedup horizon", pruned);
            a->forgotten_before_ms = agg_store_forgotten_before(a->store);
        }
    }
    op_service_stopping(a->service);
    if (a->fatal) {
        rc = 1;
        op_log(OP_LOG_ERR, "fatal error: exiting; a restart resumes from the last commit");
    } else if (a->txn_open) {
        /* Clean stop: commit what was processed so nothing is re-done after restart. */
        enum txn_verdict v = txn_commit(a);
        if (v != TXN_OK) {
            op_log(OP_LOG_WARNING, "final commit failed: aborting; a restart re-processes");
            rd_kafka_error_t *ae = rd_kafka_abort_transaction(a->producer, 30000);
            if (ae)
                rd_kafka_error_destroy(ae);
        }
    }
    if (agg_store_sync(a) != 0) /* the last write, so a restart finds it in the store */
        rc = 1;
    op_log(OP_LOG_NOTICE,
           "stopping: %" PRIu64 " events read, %" PRIu64 " counted, %" PRIu64
           " duplicates, %" PRIu64 " dead-lettered, %" PRIu64 " transactions",
           a->stats.events_read, a->stats.events_counted, a->stats.duplicates,
           a->stats.dead_lettered, a->stats.txn_committed);
    return rc;
}

const struct aggregator_stats *aggregator_stats(const struct aggregator *a)
{
    return &a->stats;
}

void aggregator_destroy(struct aggregator *a)
{
    if (!a)
        return;
    op_service_stop(a->service); /* first: its thread reads the snapshot */
    if (a->consumer) {
        rd_kafka_consumer_close(a->consumer);
        rd_kafka_destroy(a->consumer);
    }
    if (a->restorer) {
        rd_kafka_consumer_close(a->restorer);
        rd_kafka_destroy(a->restorer);
    }
    if (a->producer) {
        rd_kafka_flush(a->producer, 10000);
        rd_kafka_destroy(a->producer);
    }
    if (a->states)
        agg_store_sync(a);
    agg_writer_stop(a);
    for (int p = 0; a->states && p < a->partitions; p++)
        agg_state_destroy(a->states[p]);
    free(a->states);
    free(a->changelog_next);
    agg_store_close(a->store);
    op_buf_free(&a->seen_buf);
    free(a->positions);
    free(a->lag_snap);
    pthread_mutex_destroy(&a->lock);
    if (a->have_rollup_value)
        avro_value_decref(&a->rollup_value);
    if (a->have_audit_value)
        avro_value_decref(&a->audit_value);
    op_buf_free(&a->buf);
    if (a->model_ready)
        agg_model_free(&a->model);
    op_authz_destroy(a->authz);
    op_codec_destroy(a->codec);
    op_frame_destroy(a->frame);
    op_regions_destroy(a->regions);
    free(a);
}
