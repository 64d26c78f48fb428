/* The aggregator's state outside memory: the seen-ids changelog records, the store write
 * after each Kafka commit, and the restore of the store from the changelog topics (the
 * tail from the offsets it records, or everything when it cannot vouch for a partition). */
#include "err.h"
#include "internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "event.h"
#include "kafka.h"
#include "log.h"

/* ---- seen ids changelog ------------------------------------------------------------------
 * The store is the index of counted ids; the seen topic is its changelog, written as batches
 * (one or a few records per partition and transaction, not one per event) keyed
 * "batch:<next events offset>:<n>" so keys never repeat, with header type=seen-records. A
 * batch is entries of: 1 byte id length, the id, 8 bytes little-endian first-seen ms, 2 bytes
 * little-endian record length, the record (what the event contributed, for corrections;
 * see correct.c). An id may appear again in a later batch (a correction): the later entry
 * replaces it. Batches of type=seen-batch (before records were kept) have no length and
 * record; their ids read with an empty record. */

#define SEEN_BATCH_BYTES 65536

static int flush_seen_batch(struct aggregator *a, int32_t p, int *chunk)
{
    if (a->seen_buf.len == 0)
        return 0;
    char key[64];
    int kl = snprintf(key, sizeof key, "batch:%" PRId64 ":%d", a->positions[p], (*chunk)++);
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "type", -1, "seen-records", -1);
    int rc =
        agg_produce(a, a->set.seen_topic, p, key, (size_t)kl, a->seen_buf.data, a->seen_buf.len, h);
    a->seen_buf.len = 0;
    return rc;
}

struct seen_flush {
    struct aggregator *a;
    int32_t p;
    int chunk;
};

static int add_seen_entry(const char *id, size_t n, int64_t ms, const void *info, size_t len,
                          void *opaque)
{
    struct seen_flush *f = opaque;
    struct aggregator *a = f->a;
    if (a->seen_buf.len + 1 + n + 10 + len > SEEN_BATCH_BYTES &&
        flush_seen_batch(a, f->p, &f->chunk))
        return -1;
    unsigned char idlen = (unsigned char)n, le[10];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)((uint64_t)ms >> (8 * i));
    le[8] = (unsigned char)(len & 0xff), le[9] = (unsigned char)(len >> 8);
    return op_buf_append(&a->seen_buf, &idlen, 1) || op_buf_append(&a->seen_buf, id, n) ||
                   op_buf_append(&a->seen_buf, le, 10) ||
                   (len && op_buf_append(&a->seen_buf, info, len))
               ? -1
               : 0;
}

int agg_produce_seen(struct aggregator *a, int32_t p)
{
    struct seen_flush f = {a, p, 0};
    a->seen_buf.len = 0;
    if (agg_state_each(a->states[p], NULL, add_seen_entry, &f) != 0)
        return -1;
    return flush_seen_batch(a, p, &f.chunk);
}

/* Calls fn for every entry of a seen-topic record: a batch (header type = seen-records, or
 * seen-batch without records) or, from versions before batches, one id as key with its time
 * as value. */
static int each_seen_record(const rd_kafka_message_t *m, agg_seen_cb fn, void *opaque)
{
    rd_kafka_headers_t *h = NULL;
    const void *type = NULL;
    size_t type_len = 0;
    int batch = 0; /* 1: seen-batch, 2: seen-records */
    if (rd_kafka_message_headers(m, &h) == 0 &&
        rd_kafka_header_get_last(h, "type", &type, &type_len) == 0)
        batch = type_len == 10 && memcmp(type, "seen-batch", 10) == 0     ? 1
                : type_len == 12 && memcmp(type, "seen-records", 12) == 0 ? 2
                                                                          : 0;
    if (batch) {
        const unsigned char *q = m->payload, *end = q + m->len;
        size_t fixed = batch == 2 ? 10 : 8;
        while (q < end) {
            size_t n = *q++;
            if (n == 0 || n > OP_EVENT_ID_MAX || (size_t)(end - q) < n + fixed)
                return -1;
            uint64_t ms = 0;
            for (int i = 0; i < 8; i++)
                ms |= (uint64_t)q[n + (size_t)i] << (8 * i);
            size_t len = batch == 2 ? (size_t)q[n + 8] | (size_t)q[n + 9] << 8 : 0;
            if ((size_t)(end - q) < n + fixed + len ||
                fn((const char *)q, n, (int64_t)ms, q + n + fixed, len, opaque) != 0)
                return -1;
            q += n + fixed + len;
        }
        return 0;
    }
    if (!m->key || m->key_len == 0 || m->key_len > OP_EVENT_ID_MAX)
        return 0; /* not ours: nothing to remember */
    char val[24] = "";
    if (m->payload && m->len < sizeof val)
        memcpy(val, m->payload, m->len);
    return fn(m->key, m->key_len, strtoll(val, NULL, 10), NULL, 0, opaque);
}

/* ---- opening the store ------------------------------------------------------------- */

/* Opens the instance's store, checked against this cluster and these topics, and numbers
 * the campaign windows as the store does (new names are added to it). */
int agg_open_store(struct aggregator *a)
{
    char err[512], reason[512];
    const char *cluster = rd_kafka_clusterid(a->producer, 10000);
    struct agg_store_identity id = {cluster, a->set.rollups_topic, a->set.seen_topic,
                                    a->partitions};
    a->store = agg_store_open(a->store_dir, (size_t)a->set.state_map_size_mb, &id, reason,
                              sizeof reason, err, sizeof err);
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

/* ---- the store writer -----------------------------------------------------------------
 * After each Kafka commit the engine freezes the working sets (agg_state_freeze) and hands
 * them, with the changelog offsets of that commit, to the writer thread, which writes them to
 * the store while the engine goes on with the next transaction. Until the write is joined
 * (agg_store_sync) the engine looks rollups and ids up in the frozen generation before the
 * store, and its store reads keep to their snapshot. One write is out at a time: the next
 * commit, a rebalance, an abort, a prune and the stop join it first. */

static void writer_join(struct aggregator *a, int *failed);

/* A storage error leaves the store unknown: remove it so the restart rebuilds it from the
 * topics, and stop. */
void agg_store_failed(struct aggregator *a, const char *what)
{
    int failed;
    a->fatal = 1;
    writer_join(a, &failed); /* nothing may write while the store goes */
    if (!a->store)
        return; /* already removed */
    op_log(OP_LOG_ERR, "state store: %s: %s; removing it (the restart rebuilds it from %s and %s)",
           what, agg_store_error(a->store), a->set.rollups_topic, a->set.seen_topic);
    agg_store_close(a->store);
    a->store = NULL;
    agg_store_remove(a->store_dir);
}

struct store_put {
    struct aggregator *a;
    int32_t p;
};

/* A large working set is written in several LMDB transactions, so the dirty pages LMDB
 * holds in memory stay bounded. Safe because the recorded offsets come last: a crash
 * between chunks leaves some rollups and ids newer than those offsets, all of them from the
 * committed Kafka transaction, which the changelog tail replays over them at the restart. */
#define STORE_CHUNK_WRITES 4096

static int store_chunk(struct aggregator *a)
{
    if (agg_store_pending(a->store) < STORE_CHUNK_WRITES)
        return 0;
    if (agg_store_commit(a->store) != 0)
        return -1;
    agg_fault("mid-store-write");
    return agg_store_begin(a->store);
}

static int put_rollup(uint64_t id, const void *data, size_t len, void *opaque)
{
    struct store_put *sp = opaque;
    return agg_store_put_encoded(sp->a->store, sp->p, id, data, len) || store_chunk(sp->a) ? -1 : 0;
}

static int put_seen(const char *id, size_t n, int64_t ms, const void *info, size_t len,
                    void *opaque)
{
    struct store_put *sp = opaque;
    return agg_store_put_seen(sp->a->store, sp->p, id, n, ms, info, len) || store_chunk(sp->a) ? -1
                                                                                               : 0;
}

/* Writer thread: the frozen generations, then the changelog offsets they bring the store to.
 * A crash before the last LMDB commit leaves the offsets at the previous transaction's, and
 * the changelog tail brings the store forward at the next start. */
static int write_frozen(struct aggregator *a)
{
    if (agg_store_begin(a->store) != 0)
        return -1;
    for (int p = 0; p < a->partitions; p++) {
        struct store_put sp = {a, p};
        if (a->w_parts[p] && agg_state_each_frozen(a->states[p], put_rollup, put_seen, &sp) != 0)
            goto fail;
    }
    for (int p = 0; p < a->partitions; p++)
        if (a->w_parts[p] &&
            agg_store_set_partition(a->store, p, a->w_next[p * 2], a->w_next[p * 2 + 1]) != 0)
            goto fail;
    agg_fault("mid-store-write"); /* written, not committed */
    if (agg_store_commit(a->store) != 0)
        return -1;
    agg_fault("after-store-commit");
    return 0;
fail:
    agg_store_abort(a->store); /* LMDB: the thread that began a write ends it */
    return -1;
}

static void *writer_main(void *arg)
{
    struct aggregator *a = arg;
    pthread_mutex_lock(&a->wlock);
    for (;;) {
        while (!a->w_job && !a->w_stop)
            pthread_cond_wait(&a->wcond, &a->wlock);
        if (!a->w_job)
            break;
        pthread_mutex_unlock(&a->wlock);
        int rc = write_frozen(a);
        pthread_mutex_lock(&a->wlock);
        a->w_job = 0;
        a->w_failed = rc != 0;
        pthread_cond_broadcast(&a->wcond);
    }
    pthread_mutex_unlock(&a->wlock);
    return NULL;
}

int agg_writer_start(struct aggregator *a)
{
    a->w_parts = calloc((size_t)a->partitions, 1);
    a->w_next = calloc((size_t)a->partitions * 2, sizeof *a->w_next);
    if (!a->w_parts || !a->w_next)
        return -1;
    pthread_mutex_init(&a->wlock, NULL);
    pthread_cond_init(&a->wcond, NULL);
    if (pthread_create(&a->writer, NULL, writer_main, a) != 0) {
        pthread_cond_destroy(&a->wcond);
        pthread_mutex_destroy(&a->wlock);
        return -1;
    }
    a->writer_on = 1;
    return 0;
}

void agg_writer_stop(struct aggregator *a)
{
    if (a->writer_on) {
        pthread_mutex_lock(&a->wlock);
        a->w_stop = 1;
        pthread_cond_broadcast(&a->wcond);
        pthread_mutex_unlock(&a->wlock);
        pthread_join(a->writer, NULL);
        pthread_cond_destroy(&a->wcond);
        pthread_mutex_destroy(&a->wlock);
        a->writer_on = 0;
    }
    free(a->w_parts);
    free(a->w_next);
    a->w_parts = NULL;
    a->w_next = NULL;
}

/* Waits for the write out (if any); *failed says whether it failed. The frozen generations
 * are then the caller's to free. */
static void writer_join(struct aggregator *a, int *failed)
{
    *failed = 0;
    if (!a->w_busy)
        return;
    pthread_mutex_lock(&a->wlock);
    while (a->w_job)
        pthread_cond_wait(&a->wcond, &a->wlock);
    *failed = a->w_failed;
    pthread_mutex_unlock(&a->wlock);
    a->w_busy = 0;
    if (a->store)
        agg_store_write_elsewhere(a->store, 0);
    for (int p = 0; p < a->partitions; p++)
        if (a->states[p])
            agg_state_thaw(a->states[p]);
}

int agg_store_sync(struct aggregator *a)
{
    int failed;
    writer_join(a, &failed);
    if (failed) {
        agg_store_failed(a, "write");
        return -1;
    }
    return 0;
}

int agg_store_poll(struct aggregator *a)
{
    if (!a->w_busy)
        return 0;
    pthread_mutex_lock(&a->wlock);
    int done = !a->w_job;
    pthread_mutex_unlock(&a->wlock);
    return done ? agg_store_sync(a) : 0;
}

int agg_store_commit_txn(struct aggregator *a)
{
    if (!a->store || agg_store_sync(a) != 0) /* the previous write first */
        return -1;
    for (int p = 0; p < a->partitions; p++) {
        a->w_parts[p] = a->states[p] != NULL;
        if (a->states[p] && agg_state_freeze(a->states[p]) != 0) {
            agg_store_failed(a, "freeze (out of memory)");
            return -1;
        }
    }
    memcpy(a->w_next, a->changelog_next, (size_t)a->partitions * 2 * sizeof *a->w_next);
    a->n_dirty = 0;
    agg_store_write_elsewhere(a->store, 1);
    a->w_busy = 1;
    pthread_mutex_lock(&a->wlock);
    a->w_job = 1;
    a->w_failed = 0;
    pthread_cond_broadcast(&a->wcond);
    pthread_mutex_unlock(&a->wlock);
    return 0;
}

/* ---- restore ---------------------------------------------------------------------------- */

/* Watermarks of topic [p], retrying while leadership moves (new topics, broker restarts). */
/* Watermarks of a changelog partition for the restore: op_kafka_watermarks' retries (a
 * leader that moved, a topic not in metadata yet) for up to a minute. */
static rd_kafka_resp_err_t watermarks(struct aggregator *a, const char *topic, int32_t p,
                                      int64_t *lo, int64_t *hi)
{
    return op_kafka_watermarks(a->restorer, topic, p, 60000, lo, hi);
}

struct restore_ctx {
    struct aggregator *a;
    int32_t p;
    size_t rollups, ids;
    struct agg_rollup r;
};

static int restore_seen(const char *id, size_t n, int64_t ms, const void *info, size_t len,
                        void *opaque)
{
    struct restore_ctx *c = opaque;
    c->ids++;
    return agg_store_put_seen(c->a->store, c->p, id, n, ms, info, len);
}

/* Long restores are cut into LMDB transactions of this many writes, so the dirty pages a
 * write transaction holds in memory stay small. */
#define RESTORE_TXN_WRITES 20000

/* Brings the store's content for every partition in `parts` up to the last stable offset of
 * the rollups and seen topics: from the offsets the store records (the tail), or from the
 * beginning for a partition it cannot vouch for (full restore), all partitions at once. */
int agg_restore_partitions(struct aggregator *a, const rd_kafka_topic_partition_list_t *parts,
                           char *errstr, size_t errstr_size)
{
    if (!a->store) {
        op_set_err(errstr, errstr_size, "the state store was removed after an error");
        return -1;
    }
    const char *topics[2] = {a->set.rollups_topic, a->set.seen_topic};
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(2 * parts->cnt);
    /* next[p * 2 + topic]: where the store's content for that changelog will end. */
    int64_t *next = calloc((size_t)a->partitions * 2, sizeof *next);
    unsigned char *eof = calloc((size_t)a->partitions * 2, 1);
    struct restore_ctx ctx = {a, 0, 0, 0, {0}};
    int rc = 0, want_eof = 0, eofs = 0, full = 0;
    if (!next || !eof || agg_store_begin(a->store) != 0) {
        op_set_err(errstr, errstr_size, "restore: out of memory or store: %s",
                   agg_store_error(a->store));
        rc = -1;
    }
    for (int k = 0; rc == 0 && k < parts->cnt; k++) {
        int32_t p = parts->elems[k].partition;
        int64_t rec[2], lo[2], hi[2];
        char why[200] = "";
        int have = agg_store_partition(a->store, p, &rec[0], &rec[1]);
        for (int i = 0; rc == 0 && i < 2; i++) {
            rd_kafka_resp_err_t e = watermarks(a, topics[i], p, &lo[i], &hi[i]);
            if (e) {
                op_set_err(errstr, errstr_size, "watermarks of %s [%" PRId32 "]: %s", topics[i], p,
                           rd_kafka_err2str(e));
                rc = -1;
            }
        }
        if (rc != 0)
            break;
        if (have < 0) {
            op_set_err(errstr, errstr_size, "store: %s", agg_store_error(a->store));
            rc = -1;
            break;
        }
        if (have == 0)
            snprintf(why, sizeof why, "no complete state of this partition in the store");
        for (int i = 0; have == 1 && i < 2; i++)
            if (rec[i] > hi[i]) { /* the topic was recreated, or is another one */
                snprintf(why, sizeof why,
                         "the store reflects %s up to offset %" PRId64 " but it ends at %" PRId64,
                         topics[i], rec[i], hi[i]);
                have = 0;
            }
        /* Forget the recorded offsets first: a crash in the middle of a restore must not
         * leave a partition that looks complete. */
        if (agg_store_reset_partition(a->store, p, have == 0) != 0) {
            op_set_err(errstr, errstr_size, "store: %s", agg_store_error(a->store));
            rc = -1;
            break;
        }
        if (have == 0) {
            full++;
            op_log(OP_LOG_NOTICE, "partition %" PRId32 ": full restore from the topics (%s)", p,
                   why);
            /* The seen topic no longer starts at 0: its retention (the dedup horizon) deleted
             * ids, whose contributions are forgotten from now on. */
            int64_t cut = op_clock_wall_ms() - a->horizon_ms;
            if (lo[1] > 0 && cut > a->forgotten_before_ms) {
                if (agg_store_put_forgotten_before(a->store, cut) != 0) {
                    op_set_err(errstr, errstr_size, "store: %s", agg_store_error(a->store));
                    rc = -1;
                    break;
                }
                a->forgotten_before_ms = cut;
            }
        }
        for (int i = 0; i < 2; i++) {
            int64_t from = have ? (rec[i] > lo[i] ? rec[i] : lo[i]) : lo[i];
            next[p * 2 + i] = have ? rec[i] : lo[i];
            if (hi[i] > from) {
                rd_kafka_topic_partition_list_add(list, topics[i], p)->offset = from;
                want_eof++;
            } else
                eof[p * 2 + i] = 1;
        }
    }
    if (rc == 0 && want_eof > 0 && rd_kafka_assign(a->restorer, list) != 0) {
        op_set_err(errstr, errstr_size, "assign for restore failed");
        rc = -1;
    }
    int64_t deadline = op_clock_mono_ms() + a->set.restore_timeout_ms;
    while (rc == 0 && eofs < want_eof) {
        if (op_clock_mono_ms() > deadline) {
            op_set_err(errstr, errstr_size, "restore took over %lld ms", a->set.restore_timeout_ms);
            rc = -1;
            break;
        }
        agg_watchdog_ping(a);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(a->restorer, 200);
        if (!m)
            continue;
        int is_rollup = m->rkt && strcmp(rd_kafka_topic_name(m->rkt), a->set.rollups_topic) == 0;
        int32_t p = m->partition;
        ctx.p = p;
        int ours = p >= 0 && p < a->partitions && a->states[p];
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (ours && !eof[p * 2 + !is_rollup]) {
                eof[p * 2 + !is_rollup] = 1;
                next[p * 2 + !is_rollup] = m->offset;
                eofs++;
            }
        } else if (m->err) {
            op_log(OP_LOG_WARNING, "restore: %s", rd_kafka_message_errstr(m));
        } else if (!ours) {
            op_log(OP_LOG_WARNING, "restore: unexpected partition %" PRId32, p);
        } else if (is_rollup && m->payload) {
            avro_value_t *v;
            char err[512];
            int interned = 0;
            int drc =
                op_codec_decode(a->codec, m->payload, m->len, &v, NULL, NULL, err, sizeof err);
            if (drc != 0 ||
                agg_rollup_from_value(&a->model, v, &ctx.r, &interned, err, sizeof err) != 0) {
                /* Our own output: an unreadable record means a downgrade or corruption. */
                op_set_err(errstr, errstr_size, "restore %s [%" PRId32 "] @%" PRId64 ": %s",
                           a->set.rollups_topic, p, m->offset, err);
                rc = -1;
            } else if ((interned &&
                        agg_store_put_window(a->store, (uint16_t)(a->model.n_windows - 1),
                                             a->model.windows[a->model.n_windows - 1]) != 0) ||
                       agg_store_put_rollup(a->store, p, &ctx.r) != 0) {
                op_set_err(errstr, errstr_size, "store: %s", agg_store_error(a->store));
                rc = -1;
            }
            ctx.rollups++;
            next[p * 2] = m->offset + 1;
        } else if (!is_rollup) {
            if (each_seen_record(m, restore_seen, &ctx) != 0)
                op_log(OP_LOG_WARNING,
                       "restore: %s [%" PRId32 "] @%" PRId64 ": malformed seen record skipped",
                       a->set.seen_topic, p, m->offset);
            next[p * 2 + 1] = m->offset + 1;
        }
        rd_kafka_message_destroy(m);
        if (rc == 0 && agg_store_pending(a->store) >= RESTORE_TXN_WRITES &&
            (agg_store_commit(a->store) != 0 || agg_store_begin(a->store) != 0)) {
            op_set_err(errstr, errstr_size, "store: %s", agg_store_error(a->store));
            rc = -1;
        }
    }
    agg_rollup_clear(&ctx.r);
    if (want_eof > 0)
        rd_kafka_assign(a->restorer, NULL);
    rd_kafka_topic_partition_list_destroy(list);
    for (int k = 0; rc == 0 && k < parts->cnt; k++) {
        int32_t p = parts->elems[k].partition;
        a->changelog_next[p * 2] = next[p * 2];
        a->changelog_next[p * 2 + 1] = next[p * 2 + 1];
        if (agg_store_set_partition(a->store, p, next[p * 2], next[p * 2 + 1]) != 0) {
            op_set_err(errstr, errstr_size, "store: %s", agg_store_error(a->store));
            rc = -1;
        }
    }
    if (rc == 0 && agg_store_commit(a->store) != 0) {
        op_set_err(errstr, errstr_size, "store: %s", agg_store_error(a->store));
        rc = -1;
    }
    if (rc != 0)
        agg_store_abort(a->store);
    free(eof);
    free(next);
    if (rc == 0)
        a->stats.partitions_restored_full += (uint64_t)full;
    if (rc == 0)
        op_log(OP_LOG_INFO,
               "restored %zu rollup records and %zu seen ids for %d partition(s) (%d in full, "
               "the rest from the store and the changelog tail)",
               ctx.rollups, ctx.ids, parts->cnt, full);
    return rc;
}
