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

const struct op_conf_def aggregator_conf_defs[] = {
    {"events.topic", OP_CONF_STRING, "outreach.events", "topic the events are read from", 0, 0},
    {"rollups.topic", OP_CONF_STRING, "outreach.rollups",
     "compacted topic of rollups (and the state changelog), co-partitioned with events", 0, 0},
    {"seen.topic", OP_CONF_STRING, "outreach.events.seen",
     "compacted topic of counted event ids (dedup state), co-partitioned with events", 0, 0},
    {"dlq.topic", OP_CONF_STRING, "outreach.events.dlq",
     "dead-letter topic for undecodable, invalid or unauthorised events", 0, 0},
    {"audit.topic", OP_CONF_STRING, "outreach.audit",
     "topic of the audit trail: one entry per applied correction or retraction (kept forever)", 0,
     0},
    {"group.name", OP_CONF_STRING, "outreach-aggregator", "consumer group of the aggregators", 0,
     0},
    {"instance.id", OP_CONF_STRING, NULL,
     "stable name of this instance, 1-128 of [A-Za-z0-9._-] (unset: the host name; empty: an "
     "error); its transactional.id is "
     "outreach-aggregator-<instance.id>, so a restart fences its previous incarnation",
     0, 0},
    {"topic.partitions", OP_CONF_INT, "6", "partitions when the aggregator creates the topics", 1,
     1000},
    {"topic.replication", OP_CONF_INT, "0",
     "replication factor for created topics (0: min(3, brokers))", 0, 16},
    {"commit.interval.ms", OP_CONF_INT, "500",
     "how often the open transaction is committed (rollups become visible then)", 10, 60000},
    {"campaigns", OP_CONF_STRING, "2025 两节送温暖:2024-12-20:2025-02-12",
     "campaign windows NAME:FIRST-DAY:LAST-DAY separated by ';' (days in Asia/Shanghai)", 0, 0},
    {"dedup.horizon.days", OP_CONF_INT, "400",
     "event ids are remembered this long (seen topic retention and memory)", 1, 36500},
    {"max.future.skew.s", OP_CONF_INT, "600",
     "events timestamped further in the future than this are invalid", 0, 86400 * 7},
    {"regions.file", OP_CONF_STRING, NULL,
     "region table CSV (default: the copy built in from schemas/regions.csv)", 0, 0},
    {"restore.timeout.ms", OP_CONF_INT, "300000", "longest a state restore may take", 1000,
     3600000},
    {"state.dir", OP_CONF_STRING, NULL,
     "directory of the local state store (LMDB; a cache of the rollups and seen topics): "
     "<state.dir>/<instance.id>/ (default: $STATE_DIRECTORY, else /var/lib/outreach-aggregator)",
     0, 0},
    {"state.map.size.mb", OP_CONF_INT, "65536",
     "largest size the state store may grow to (sparse: disk is used as data arrives)", 1,
     16777216},
    {"state.max.dirty", OP_CONF_INT, "100000",
     "commit the transaction early once this many rollups changed (bounds memory)", 1000, 10000000},
    /* Client-specific librdkafka settings, kept in our table so each goes to the one client
     * it concerns (no CONFWARN noise) while staying overridable with -X. */
    {"transaction.timeout.ms", OP_CONF_INT, "30000",
     "producer: broker aborts a transaction left open this long (e.g. after kill -9)", 1000,
     900000},
    {"message.timeout.ms", OP_CONF_INT, "25000",
     "producer: delivery timeout; must stay below transaction.timeout.ms", 1000, 900000},
    {"compression.codec", OP_CONF_STRING, "lz4", "producer: none, gzip, snappy, lz4 or zstd", 0, 0},
    /* Memory: librdkafka's defaults (1 GB of producer queue, 64 MB of prefetch per
     * consumer) would dwarf the state's working set. */
    {"queue.buffering.max.kbytes", OP_CONF_INT, "4096",
     "producer: most KB of rollups waiting for delivery (produce then waits)", 1, 2097151},
    {"queued.max.messages.kbytes", OP_CONF_INT, "4096",
     "consumer: most KB of events prefetched per consumer", 1, 2097151},
    {"queued.min.messages", OP_CONF_INT, "1000",
     "consumer: events prefetched per partition (librdkafka's 100000 would hold ~40 MB)", 1,
     10000000},
    OP_KAFKA_CONSUMER_CONF_DEFS,
    {"health.listen", OP_CONF_STRING, NULL,
     "serve /healthz, /readyz and /metrics on this IPv4-ADDRESS:PORT (unset: off)", 0, 0},
    OP_AUTHZ_CONF_DEFS,
    OP_FRAME_CONF_DEFS,
    OP_REGISTRY_CONF_DEFS,
    OP_CLI_CONF_DEFS,
    {0},
};

int aggregator_conf_defaults(struct op_conf *conf, char *errstr, size_t errstr_size)
{
    static const char *const defaults[] = {"bootstrap.servers", "127.0.0.1:9092", NULL};
    for (const char *const *kv = defaults; *kv; kv += 2)
        if (op_conf_set(conf, kv[0], kv[1], errstr, errstr_size) != 0)
            return -1;
    return 0;
}

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
    int which = strcmp(t, a->rollups_topic) == 0 ? 0 : strcmp(t, a->seen_topic) == 0 ? 1 : -1;
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
    if (agg_produce(a, a->rollups_topic, a->flushing, key, (size_t)key_len, a->buf.data, a->buf.len,
                    h) != 0)
        return -1;
    a->stats.rollups_written++;
    return 0;
}

static int dead_letter(struct aggregator *a, const rd_kafka_message_t *m, const char *reason,
                       const char *detail)
{
    char part[16], off[24], ts[24];
    snprintf(part, sizeof part, "%" PRId32, m->partition);
    snprintf(off, sizeof off, "%" PRId64, m->offset);
    snprintf(ts, sizeof ts, "%" PRId64, op_clock_wall_ms());
    /* Keep the event's own headers (type, dlq.replayed of a replay) beside ours. */
    rd_kafka_headers_t *orig = NULL, *h;
    if (rd_kafka_message_headers(m, &orig) == 0 && orig) {
        h = rd_kafka_headers_copy(orig);
        rd_kafka_header_remove(h, "dlq.reason");
        rd_kafka_header_remove(h, "dlq.error");
    } else
        h = rd_kafka_headers_new(6);
    rd_kafka_header_add(h, "dlq.reason", -1, reason, -1);
    rd_kafka_header_add(h, "dlq.error", -1, detail, -1);
    rd_kafka_header_add(h, "dlq.source.topic", -1, rd_kafka_topic_name(m->rkt), -1);
    rd_kafka_header_add(h, "dlq.source.partition", -1, part, -1);
    rd_kafka_header_add(h, "dlq.source.offset", -1, off, -1);
    rd_kafka_header_add(h, "dlq.time", -1, ts, -1);
    op_log(OP_LOG_WARNING, "dead letter %s [%" PRId32 "] @%" PRId64 ": %s: %s",
           rd_kafka_topic_name(m->rkt), m->partition, m->offset, reason, detail);
    if (agg_produce(a, a->dlq_topic, RD_KAFKA_PARTITION_UA, m->key, m->key_len, m->payload, m->len,
                    h) != 0)
        return -1;
    a->stats.dead_lettered++;
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
            rd_kafka_topic_partition_list_add(offsets, a->events_topic, p)->offset =
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

/* ---- events ----------------------------------------------------------------------------- */

/* The audit entry of the correction just applied (a->counted), in the open transaction. */
static int produce_audit(struct aggregator *a, const rd_kafka_message_t *m,
                         const struct op_event *ev)
{
    char err[256];
    struct agg_audit_source src = {m->partition, m->offset, op_clock_wall_ms()};
    a->buf.len = 0;
    if (agg_audit_write(&a->model, a->frame, a->audit_schema, &a->audit_value, ev, &a->counted,
                        &src, &a->buf, err, sizeof err) != 0) {
        op_log(OP_LOG_ERR, "%s", err);
        return -1;
    }
    op_log(OP_LOG_INFO, "event %s: correction %" PRId32 "%s applied (%zu rollups changed)",
           ev->event_id, ev->correction, ev->retracted ? " (retraction)" : "", a->counted.touch.n);
    return agg_produce(a, a->audit_topic, RD_KAFKA_PARTITION_UA, ev->event_id, strlen(ev->event_id),
                       a->buf.data, a->buf.len, NULL);
}

/* Processes one event inside the open transaction. Returns 0, or -1 when producing failed
 * (the transaction must abort). */
static int handle(struct aggregator *a, rd_kafka_message_t *m)
{
    int32_t p = m->partition;
    if (p < 0 || p >= a->partitions || !a->states[p]) {
        op_log(OP_LOG_WARNING, "message from unassigned partition %" PRId32 " ignored", p);
        return 0;
    }
    struct agg_state *s = a->states[p];
    a->stats.events_read++;
    char err[512], field[64], reason[400];
    avro_value_t *v;
    const struct op_schema *reader;
    int rc = op_codec_decode(a->codec, m->payload, m->payload ? m->len : 0, &v, NULL, &reader, err,
                             sizeof err);
    if (rc != 0) {
        rc = dead_letter(a, m, op_codec_err_name(rc), err);
        goto done;
    }
    struct op_event ev;
    if (op_event_from_value(&ev, reader, v, field, sizeof field, reason, sizeof reason) != 0) {
        snprintf(err, sizeof err, "%s: %s", field, reason);
        rc = dead_letter(a, m, "invalid", err);
        goto done;
    }
    struct op_event_rules rules = {a->regions, a->authz, op_clock_wall_ms(), a->max_future_ms};
    int verdict = op_event_validate(&ev, &rules, field, sizeof field, reason, sizeof reason);
    if (verdict != OP_EVENT_VALID) {
        snprintf(err, sizeof err, "%s: %s", field, reason);
        rc = dead_letter(a, m, verdict == OP_EVENT_UNAUTHORIZED ? "unauthorized" : "invalid", err);
        goto done;
    }
    int64_t now = op_clock_wall_ms();
    struct agg_count_rules crules = {a->authz, a->forgotten_before_ms, a->max_future_ms};
    size_t dirty_before = s->n_dirty;
    if (agg_count(&a->model, s, &ev, now, &crules, &a->counted) != 0) {
        agg_store_failed(a, "dedup or rollup look-up (or out of memory)");
        return -1;
    }
    a->n_dirty += s->n_dirty - dirty_before;
    /* The id and its contribution reach the seen topic with the transaction's batch
     * (produce_seen). */
    switch (a->counted.outcome) {
    case AGG_COUNTED:
        a->stats.events_counted++;
        break;
    case AGG_DUPLICATE:
        a->stats.duplicates++;
        op_log(OP_LOG_DEBUG, "duplicate event_id %s (correction %" PRId32 ") ignored", ev.event_id,
               ev.correction);
        break;
    case AGG_STALE:
        a->stats.stale++;
        op_log(OP_LOG_INFO,
               "stale: event %s correction %" PRId32 " arrived after correction %" PRId32
               " was applied; ignored",
               ev.event_id, ev.correction, a->counted.from);
        break;
    case AGG_EXPIRED:
        a->stats.expired++;
        rc = dead_letter(a, m, "correction-expired", a->counted.detail);
        break;
    case AGG_UNAUTHORIZED:
        rc = dead_letter(a, m, "unauthorized", a->counted.detail);
        break;
    case AGG_TYPE_CHANGED:
        rc = dead_letter(a, m, "invalid", a->counted.detail);
        break;
    case AGG_CORRECTED:
    case AGG_RETRACTED:
        if (a->counted.outcome == AGG_CORRECTED)
            a->stats.corrections++;
        else
            a->stats.retractions++;
        if (a->counted.from < 0) /* nothing of it counted before: it is counted now */
            a->stats.events_counted++;
        rc = produce_audit(a, m, &ev);
        break;
    }
done:
    a->positions[p] = m->offset + 1;
    return rc;
}

/* ---- observability ---------------------------------------------------------------------- */

/* Engine thread: copies the counters (and, every 2 s, per-partition lag from the consumer's
 * cached watermarks) where the HTTP thread can read them. */
static void publish_snapshot(struct aggregator *a, int force)
{
    int64_t now = op_clock_mono_ms();
    int lag_due = force || now - a->last_lag_ms >= 2000;
    uint64_t rollups = 0, seen = 0;
    if (lag_due) {
        a->last_lag_ms = now;
        if (a->store)
            agg_store_counts(a->store, &rollups, &seen);
    }
    pthread_mutex_lock(&a->lock);
    a->snap = a->stats;
    if (lag_due && a->lag_snap) {
        a->snap_rollups = rollups;
        a->snap_seen = seen;
        a->snap_store_bytes = a->store ? agg_store_bytes(a->store) : 0;
        for (int p = 0; p < a->partitions; p++) {
            a->lag_snap[p] = -1;
            if (!a->states[p] || !a->consumer)
                continue;
            int64_t lo, hi;
            rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(pos, a->events_topic, p);
            if (rd_kafka_position(a->consumer, pos) == 0 &&
                rd_kafka_get_watermark_offsets(a->consumer, a->events_topic, p, &lo, &hi) == 0) {
                int64_t at = pos->elems[0].offset;
                a->lag_snap[p] = at >= 0 ? (hi > at ? hi - at : 0) : (hi > lo ? hi - lo : 0);
            }
            rd_kafka_topic_partition_list_destroy(pos);
        }
    }
    pthread_mutex_unlock(&a->lock);
}

static int ready_cb(void *opaque, char *why, size_t why_size)
{
    struct aggregator *a = opaque;
    pthread_mutex_lock(&a->lock);
    int ready = a->snap.ready;
    pthread_mutex_unlock(&a->lock);
    if (!ready)
        snprintf(why, why_size, "not ready: waiting for partitions or restoring state");
    return ready;
}

static void metrics_cb(void *opaque, struct op_buf *out)
{
    struct aggregator *a = opaque;
    pthread_mutex_lock(&a->lock);
    struct aggregator_stats st = a->snap;
    static const struct {
        const char *name, *help;
        size_t offset;
    } counters[] = {
        {"outreach_aggregator_events_read_total", "events consumed",
         offsetof(struct aggregator_stats, events_read)},
        {"outreach_aggregator_events_counted_total", "events added to the rollups",
         offsetof(struct aggregator_stats, events_counted)},
        {"outreach_aggregator_duplicates_total", "events ignored as already counted (event_id)",
         offsetof(struct aggregator_stats, duplicates)},
        {"outreach_aggregator_dead_lettered_total", "events sent to the dead-letter topic",
         offsetof(struct aggregator_stats, dead_lettered)},
        {"outreach_aggregator_corrections_applied_total",
         "corrections applied (the event counts with its new figures)",
         offsetof(struct aggregator_stats, corrections)},
        {"outreach_aggregator_retractions_total", "retractions applied (the event counts nowhere)",
         offsetof(struct aggregator_stats, retractions)},
        {"outreach_aggregator_stale_total",
         "records ignored because a higher correction of the event was applied",
         offsetof(struct aggregator_stats, stale)},
        {"outreach_aggregator_corrections_expired_total",
         "corrections dead-lettered: the event's contribution was forgotten (dedup horizon)",
         offsetof(struct aggregator_stats, expired)},
        {"outreach_aggregator_rollups_written_total", "rollup records produced",
         offsetof(struct aggregator_stats, rollups_written)},
        {"outreach_aggregator_transactions_committed_total", "Kafka transactions committed",
         offsetof(struct aggregator_stats, txn_committed)},
        {"outreach_aggregator_transactions_aborted_total", "Kafka transactions aborted",
         offsetof(struct aggregator_stats, txn_aborted)},
        {"outreach_aggregator_restores_total", "state restores (store + changelog tail)",
         offsetof(struct aggregator_stats, restores)},
        {"outreach_aggregator_partitions_restored_full_total",
         "partitions restored in full from the topics (the store could not vouch for them)",
         offsetof(struct aggregator_stats, partitions_restored_full)},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        op_prom_header(out, counters[i].name, "counter", counters[i].help);
        op_prom_sample_u64(out, counters[i].name, NULL,
                           *(const uint64_t *)((const char *)&st + counters[i].offset));
    }
    op_prom_header(out, "outreach_aggregator_restore_seconds", "gauge",
                   "duration of the last state restore");
    op_prom_sample(out, "outreach_aggregator_restore_seconds", NULL, st.last_restore_ms / 1000.0);
    op_prom_header(out, "outreach_aggregator_ready", "gauge",
                   "1 when assigned partitions are restored and consumed");
    op_prom_sample_u64(out, "outreach_aggregator_ready", NULL, (uint64_t)st.ready);
    op_prom_header(out, "outreach_aggregator_state_rollups", "gauge", "rollups held in memory");
    op_prom_sample_u64(out, "outreach_aggregator_state_rollups", NULL, a->snap_rollups);
    op_prom_header(out, "outreach_aggregator_state_seen_ids", "gauge",
                   "event ids remembered for deduplication");
    op_prom_sample_u64(out, "outreach_aggregator_state_seen_ids", NULL, a->snap_seen);
    op_prom_header(out, "outreach_aggregator_store_bytes", "gauge",
                   "bytes of the local state store in use");
    op_prom_sample_u64(out, "outreach_aggregator_store_bytes", NULL, a->snap_store_bytes);
    op_prom_header(out, "outreach_aggregator_consumer_lag", "gauge",
                   "events not yet consumed, per assigned partition");
    for (int p = 0; a->lag_snap && p < a->partitions; p++)
        if (a->lag_snap[p] >= 0) {
            char labels[32];
            snprintf(labels, sizeof labels, "partition=\"%d\"", p);
            op_prom_sample_u64(out, "outreach_aggregator_consumer_lag", labels,
                               (uint64_t)a->lag_snap[p]);
        }
    pthread_mutex_unlock(&a->lock);
}

void aggregator_set_reload(struct aggregator *a, struct op_conf *(*fn)(void *opaque), void *opaque)
{
    a->reload_fn = fn;
    a->reload_opaque = opaque;
}

/* SIGHUP: log level and the authorisation map change live; the rest needs a restart. */
static void reload(struct aggregator *a)
{
    if (!a->reload_fn) {
        op_log(OP_LOG_WARNING, "SIGHUP: no reload source; ignored");
        return;
    }
    struct op_conf *c = a->reload_fn(a->reload_opaque);
    if (!c)
        return; /* the loader logged why; the running settings stay */
    char err[512];
    struct op_authz *authz = op_authz_new_from_conf(c, err, sizeof err);
    if (!authz) {
        op_log(OP_LOG_ERR, "SIGHUP: %s; keeping the running settings", err);
    } else {
        op_authz_destroy(a->authz);
        a->authz = authz;
        (void)op_service_apply_log_level(c); /* -v/-q stay */
        op_log(OP_LOG_NOTICE, "SIGHUP: reloaded log.level and %zu agency authorisations",
               op_authz_count(a->authz));
    }
    op_conf_destroy(c);
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
    a->events_topic = op_conf_get(conf, "events.topic");
    a->rollups_topic = op_conf_get(conf, "rollups.topic");
    a->seen_topic = op_conf_get(conf, "seen.topic");
    a->dlq_topic = op_conf_get(conf, "dlq.topic");
    a->audit_topic = op_conf_get(conf, "audit.topic");
    a->commit_interval_ms = op_conf_get_int(conf, "commit.interval.ms");
    a->horizon_ms = op_conf_get_int(conf, "dedup.horizon.days") * 86400000LL;
    a->max_future_ms = op_conf_get_int(conf, "max.future.skew.s") * 1000LL;
    a->restore_timeout_ms = op_conf_get_int(conf, "restore.timeout.ms");
    a->max_dirty = op_conf_get_int(conf, "state.max.dirty");

    const char *rfile = op_conf_get(conf, "regions.file");
    a->regions = rfile ? op_regions_new_from_file(rfile, errstr, errstr_size)
                       : op_regions_new_default(errstr, errstr_size);
    if (!a->regions)
        goto fail;
    a->codec = op_codec_new_default(errstr, errstr_size);
    if (!a->codec)
        goto fail;
    a->authz = op_authz_new_from_conf(conf, errstr, errstr_size);
    if (!a->authz)
        goto fail;
    if (op_authz_count(a->authz) == 0)
        op_log(OP_LOG_WARNING,
               "no agency.*.regions configured: authz.default=%s applies to "
               "every agency",
               op_conf_get(conf, "authz.default"));
    if (agg_model_init(&a->model, a->codec, a->regions, op_conf_get(conf, "campaigns"), errstr,
                       errstr_size) != 0)
        goto fail;
    a->model_ready = 1;
    /* Rollups in wire.format, their schema registered now; events (and our own rollups, on
     * restore) of either framing decode, Confluent ids through the same registry client. */
    a->frame = op_frame_new_from_conf(conf, errstr, errstr_size);
    if (!a->frame ||
        op_frame_bind(a->frame, a->rollups_topic, &a->model.rollup, 1, errstr, errstr_size) != 0)
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
    if (op_frame_bind(a->frame, a->audit_topic, &a->audit_schema, 1, errstr, errstr_size) != 0)
        goto fail;

    char instance[OP_KAFKA_INSTANCE_MAX + 1], txn_id[300];
    if (op_kafka_instance_id(op_conf_get(conf, "instance.id"), instance, sizeof instance, errstr,
                             errstr_size) != 0)
        goto fail;
    snprintf(txn_id, sizeof txn_id, "outreach-aggregator-%s", instance);
    const char *sdir = op_conf_get(conf, "state.dir");
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
    if (op_conf_get_int(conf, "message.timeout.ms") >=
        op_conf_get_int(conf, "transaction.timeout.ms")) {
        op_set_err(errstr, errstr_size, "message.timeout.ms must be below transaction.timeout.ms");
        goto fail;
    }
    const char *const producer_settings[] = {"transactional.id",
                                             txn_id,
                                             "enable.idempotence",
                                             "true",
                                             "acks",
                                             "all",
                                             "transaction.timeout.ms",
                                             op_conf_get(conf, "transaction.timeout.ms"),
                                             "message.timeout.ms",
                                             op_conf_get(conf, "message.timeout.ms"),
                                             "compression.codec",
                                             op_conf_get(conf, "compression.codec"),
                                             "queue.buffering.max.kbytes",
                                             op_conf_get(conf, "queue.buffering.max.kbytes"),
                                             NULL};
    const char *const restorer_settings[] = {"queued.max.messages.kbytes",
                                             op_conf_get(conf, "queued.max.messages.kbytes"),
                                             "queued.min.messages",
                                             op_conf_get(conf, "queued.min.messages"),
                                             "group.id",
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

/* Opens the instance's store, checked against this cluster and these topics, and numbers
 * the campaign windows as the store does (new names are added to it). */
static int open_store(struct aggregator *a)
{
    char err[512], reason[512];
    const char *cluster = rd_kafka_clusterid(a->producer, 10000);
    struct agg_store_identity id = {cluster, a->rollups_topic, a->seen_topic, a->partitions};
    a->store = agg_store_open(a->store_dir, (size_t)op_conf_get_int(a->conf, "state.map.size.mb"),
                              &id, reason, sizeof reason, err, sizeof err);
    if (cluster)
        rd_kafka_mem_free(a->producer, (void *)cluster);
    if (!a->store) {
        op_log(OP_LOG_ERR, "%s", err);
        return -1;
    }
    if (*reason)
        op_log(OP_LOG_WARNING, "state store %s was not usable: %s; rebuilt from the topics",
               a->store_dir, reason);
    else
        op_log(OP_LOG_INFO, "state store %s opened", a->store_dir);
    char **names;
    size_t n;
    agg_store_windows(a->store, &names, &n);
    if (agg_model_set_windows(&a->model, names, n) != 0 || agg_store_begin(a->store) != 0) {
        op_log(OP_LOG_ERR, "state store: out of memory");
        return -1;
    }
    for (size_t w = n; w < a->model.n_windows; w++)
        if (agg_store_put_window(a->store, (uint16_t)w, a->model.windows[w]) != 0) {
            op_log(OP_LOG_ERR, "state store: %s", agg_store_error(a->store));
            return -1;
        }
    if (agg_store_commit(a->store) != 0) {
        op_log(OP_LOG_ERR, "state store: %s", agg_store_error(a->store));
        return -1;
    }
    a->last_prune_ms = op_clock_wall_ms() - 540000; /* first prune a minute after start */
    a->forgotten_before_ms = agg_store_forgotten_before(a->store);
    return 0;
}

/* The consumer is created only after topics exist and transactions are initialised, so a
 * rebalance can never see a producer that is not ready. */
static int start(struct aggregator *a)
{
    char err[512];
    long long parts = op_conf_get_int(a->conf, "topic.partitions");
    int repl = (int)op_conf_get_int(a->conf, "topic.replication");
    char horizon[32];
    snprintf(horizon, sizeof horizon, "%" PRId64, a->horizon_ms);
    const char *const rollup_cfg[] = {"cleanup.policy", "compact", NULL};
    const char *const seen_cfg[] = {"cleanup.policy", "compact,delete", "retention.ms", horizon,
                                    NULL};
    const char *const dlq_cfg[] = {"retention.ms", "2592000000", NULL};
    const char *const audit_cfg[] = {"retention.ms", "-1", NULL}; /* an audit trail is kept */
    struct op_kafka_topic_spec events = {a->events_topic, (int)parts, repl, NULL};
    int n_events = 0;
    if (op_kafka_ensure_topics(a->producer, &events, 1, 60000, &n_events, err, sizeof err) != 0) {
        op_log(OP_LOG_ERR, "%s", err);
        return -1;
    }
    struct op_kafka_topic_spec outs[4] = {{a->rollups_topic, n_events, repl, rollup_cfg},
                                          {a->seen_topic, n_events, repl, seen_cfg},
                                          {a->dlq_topic, n_events, repl, dlq_cfg},
                                          {a->audit_topic, n_events, repl, audit_cfg}};
    int n_out[4] = {0, 0, 0, 0};
    if (op_kafka_ensure_topics(a->producer, outs, 4, 60000, n_out, err, sizeof err) != 0) {
        op_log(OP_LOG_ERR, "%s", err);
        return -1;
    }
    for (int i = 0; i < 2; i++)
        if (n_out[i] != n_events) {
            op_log(OP_LOG_ERR, "%s has %d partitions but %s has %d: they must be co-partitioned",
                   outs[i].name, n_out[i], a->events_topic, n_events);
            return -1;
        }
    a->partitions = n_events;
    if (open_store(a) != 0)
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
        "group.id", op_conf_get(a->conf, "group.name"), "queued.max.messages.kbytes",
        op_conf_get(a->conf, "queued.max.messages.kbytes"), "queued.min.messages",
        op_conf_get(a->conf, "queued.min.messages"), "enable.auto.commit", "false",
        "enable.auto.offset.store", "false", "isolation.level", "read_committed",
        "auto.offset.reset", "earliest", "enable.partition.eof", "false", "session.timeout.ms",
        op_conf_get(a->conf, "session.timeout.ms"), "heartbeat.interval.ms",
        op_conf_get(a->conf, "heartbeat.interval.ms"),
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
    a->service = op_service_start(op_conf_get(a->conf, "health.listen"), ready_cb, metrics_cb, a,
                                  err, sizeof err);
    if (!a->service) {
        op_log(OP_LOG_ERR, "%s", err);
        return 2;
    }
    if (start(a) != 0)
        return 1;
    rd_kafka_poll_set_consumer(a->consumer);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, a->events_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(a->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        op_log(OP_LOG_ERR, "subscribe %s: %s", a->events_topic, rd_kafka_err2str(e));
        return 1;
    }
    op_log(OP_LOG_NOTICE, "consuming %s (%d partitions) as group %s", a->events_topic,
           a->partitions, op_conf_get(a->conf, "group.name"));
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
            if (v == TXN_OK && handle(a, m) != 0)
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
        if (a->txn_open && (op_clock_mono_ms() - a->txn_started_ms >= a->commit_interval_ms ||
                            (int64_t)a->n_dirty >= a->max_dirty)) {
            enum txn_verdict v = txn_commit(a);
            if (v == TXN_FATAL || (v == TXN_ABORT && abort_and_rewind(a) != 0)) {
                a->fatal = 1;
                break;
            }
        }
        publish_snapshot(a, 0);
        agg_watchdog_ping(a);
        if (reload_flag && *reload_flag) {
            *reload_flag = 0;
            reload(a);
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
