/* outreach-aggregator's engine: consume events, update per-partition state, and in one Kafka
 * transaction per interval produce the changed rollups, the newly seen ids and any dead
 * letters together with the consumed offsets. main.c only parses arguments and signals. */
#ifndef AGG_AGGREGATOR_H
#define AGG_AGGREGATOR_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"

/* The program's configuration table (our keys; everything else goes to librdkafka), each
 * key bound to a field of struct agg_settings (or passed to one kind of Kafka client). */
extern const struct op_conf_def aggregator_conf_defs[];

/* Our keys, bound once by aggregator_new (op_conf_bind); strings point into the conf. */
struct agg_settings {
    const char *events_topic, *rollups_topic, *seen_topic, *dlq_topic, *audit_topic;
    const char *group_name, *instance_id, *campaigns, *regions_file, *state_dir;
    const char *health_listen;
    int topic_partitions, topic_replication;
    int dedup_horizon_days, max_future_skew_s;
    long long commit_interval_ms, restore_timeout_ms, state_map_size_mb, state_max_dirty;
    long long transaction_timeout_ms, message_timeout_ms;
};

/* librdkafka settings the aggregator needs unless the operator overrides them; applied to
 * conf before -F and -X. Returns 0 or -1 with errstr. */
int aggregator_conf_defaults(struct op_conf *conf, char *errstr, size_t errstr_size);

/* Counters, readable at any time (written by the engine's thread only). */
struct aggregator_stats {
    uint64_t events_read, events_counted, duplicates, dead_lettered;
    uint64_t corrections, retractions, stale, expired; /* docs/events.md, Corrections */
    uint64_t rollups_written, txn_committed, txn_aborted, restores;
    uint64_t partitions_restored_full; /* partitions the store could not vouch for */
    int64_t last_restore_ms;           /* duration of the last restore */
    int ready;                         /* assigned partitions restored and consuming */
};

struct aggregator;

/* Builds the engine from a configuration (which must outlive it): regions, schemas,
 * authorisation, campaigns, Kafka clients. Returns NULL with errstr on a bad setting. */
struct aggregator *aggregator_new(struct op_conf *conf, char *errstr, size_t errstr_size);
void aggregator_destroy(struct aggregator *a);

/* Runs until *run becomes 0 (then commits the open transaction and leaves the group) or a
 * fatal Kafka error. When *reload_flag becomes 1 it is reset and the reload source (see
 * aggregator_set_reload) is read again. Returns 0 on a clean stop, 1 on a fatal error (the
 * supervisor restarts the daemon; Kafka holds everything needed to resume), 2 when the
 * health endpoint cannot listen. */
int aggregator_run(struct aggregator *a, volatile sig_atomic_t *run,
                   volatile sig_atomic_t *reload_flag);

/* On SIGHUP the engine calls fn for a fresh configuration (caller-built, engine-owned; NULL
 * keeps the running one) and applies what can change live: log.level and agency.*.regions /
 * authz.default. */
void aggregator_set_reload(struct aggregator *a, struct op_conf *(*fn)(void *opaque), void *opaque);

const struct aggregator_stats *aggregator_stats(const struct aggregator *a);

#endif
