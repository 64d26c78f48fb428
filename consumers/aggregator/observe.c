/* What the aggregator shows: the counters snapshot for the HTTP thread, /readyz, /metrics,
 * and the SIGHUP reload of what can change live. */
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

/* ---- observability ---------------------------------------------------------------------- */

/* Engine thread: copies the counters (and, every 2 s, per-partition lag from the consumer's
 * cached watermarks) where the HTTP thread can read them. */
void agg_publish_snapshot(struct aggregator *a, int force)
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
            rd_kafka_topic_partition_list_add(pos, a->set.events_topic, p);
            if (rd_kafka_position(a->consumer, pos) == 0 &&
                rd_kafka_get_watermark_offsets(a->consumer, a->set.events_topic, p, &lo, &hi) ==
                    0) {
                int64_t at = pos->elems[0].offset;
                a->lag_snap[p] = at >= 0 ? (hi > at ? hi - at : 0) : (hi > lo ? hi - lo : 0);
            }
            rd_kafka_topic_partition_list_destroy(pos);
        }
    }
    pthread_mutex_unlock(&a->lock);
}

int agg_ready_cb(void *opaque, char *why, size_t why_size)
{
    struct aggregator *a = opaque;
    pthread_mutex_lock(&a->lock);
    int ready = a->snap.ready;
    pthread_mutex_unlock(&a->lock);
    if (!ready)
        snprintf(why, why_size, "not ready: waiting for partitions or restoring state");
    return ready;
}

void agg_metrics_cb(void *opaque, struct op_buf *out)
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
void agg_reload(struct aggregator *a)
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
