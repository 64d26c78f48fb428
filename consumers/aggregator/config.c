/* outreach-aggregator's settings: the key table (with defaults, ranges and the text -X list
 * and --help print) and the defaults that differ from librdkafka's. */
#include "aggregator.h"
#include "internal.h"

#include "authz.h"
#include "cli.h"
#include "conf.h"
#include "kafka.h"

#define A_AT(member) OP_CONF_AT(struct agg_settings, member)

const struct op_conf_def aggregator_conf_defs[] = {
    {"events.topic", OP_CONF_STRING, "outreach.events", "topic the events are read from", 0, 0,
     A_AT(events_topic)},
    {"rollups.topic", OP_CONF_STRING, "outreach.rollups",
     "compacted topic of rollups (and the state changelog), co-partitioned with events", 0, 0,
     A_AT(rollups_topic)},
    {"seen.topic", OP_CONF_STRING, "outreach.events.seen",
     "compacted topic of counted event ids (dedup state), co-partitioned with events", 0, 0,
     A_AT(seen_topic)},
    {"dlq.topic", OP_CONF_STRING, "outreach.events.dlq",
     "dead-letter topic for undecodable, invalid or unauthorised events", 0, 0, A_AT(dlq_topic)},
    {"audit.topic", OP_CONF_STRING, "outreach.audit",
     "topic of the audit trail: one entry per applied correction or retraction (kept forever)", 0,
     0, A_AT(audit_topic)},
    {"group.name", OP_CONF_STRING, "outreach-aggregator", "consumer group of the aggregators", 0, 0,
     A_AT(group_name)},
    {"instance.id", OP_CONF_STRING, NULL,
     "stable name of this instance, 1-128 of [A-Za-z0-9._-] (unset: the host name; empty: an "
     "error); its transactional.id is "
     "outreach-aggregator-<instance.id>, so a restart fences its previous incarnation",
     0, 0, A_AT(instance_id)},
    {"topic.partitions", OP_CONF_INT, "6", "partitions when the aggregator creates the topics", 1,
     1000, A_AT(topic_partitions)},
    {"topic.replication", OP_CONF_INT, "0",
     "replication factor for created topics (0: min(3, brokers))", 0, 16, A_AT(topic_replication)},
    {"commit.interval.ms", OP_CONF_INT, "500",
     "how often the open transaction is committed (rollups become visible then)", 10, 60000,
     A_AT(commit_interval_ms)},
    {"campaigns", OP_CONF_STRING, "2025 两节送温暖:2024-12-20:2025-02-12",
     "campaign windows NAME:FIRST-DAY:LAST-DAY separated by ';' (days in Asia/Shanghai)", 0, 0,
     A_AT(campaigns)},
    {"dedup.horizon.days", OP_CONF_INT, "400",
     "event ids are remembered this long (seen topic retention and memory)", 1, 36500,
     A_AT(dedup_horizon_days)},
    {"max.future.skew.s", OP_CONF_INT, "600",
     "events timestamped further in the future than this are invalid", 0, 86400 * 7,
     A_AT(max_future_skew_s)},
    {"regions.file", OP_CONF_STRING, NULL,
     "region table CSV (default: the copy built in from schemas/regions.csv)", 0, 0,
     A_AT(regions_file)},
    {"restore.timeout.ms", OP_CONF_INT, "300000", "longest a state restore may take", 1000, 3600000,
     A_AT(restore_timeout_ms)},
    {"state.dir", OP_CONF_STRING, NULL,
     "directory of the local state store (LMDB; a cache of the rollups and seen topics): "
     "<state.dir>/<instance.id>/ (default: $STATE_DIRECTORY, else /var/lib/outreach-aggregator)",
     0, 0, A_AT(state_dir)},
    {"state.map.size.mb", OP_CONF_INT, "65536",
     "largest size the state store may grow to (sparse: disk is used as data arrives)", 1, 16777216,
     A_AT(state_map_size_mb)},
    {"state.max.dirty", OP_CONF_INT, "100000",
     "commit the transaction early once this many rollups changed (bounds memory)", 1000, 10000000,
     A_AT(state_max_dirty)},
    /* Client-specific librdkafka settings, kept in our table so each goes to the one kind of
     * client it concerns (op_kafka_client_new; no CONFWARN noise) while staying overridable
     * with -X. */
    {"transaction.timeout.ms", OP_CONF_INT, "30000",
     "producer: broker aborts a transaction left open this long (e.g. after kill -9)", 1000, 900000,
     OP_CONF_AT_TO(struct agg_settings, transaction_timeout_ms, OP_CONF_TO_PRODUCER)},
    {"message.timeout.ms", OP_CONF_INT, "25000",
     "producer: delivery timeout; must stay below transaction.timeout.ms", 1000, 900000,
     OP_CONF_AT_TO(struct agg_settings, message_timeout_ms, OP_CONF_TO_PRODUCER)},
    {"compression.codec", OP_CONF_STRING, "lz4", "producer: none, gzip, snappy, lz4 or zstd", 0, 0,
     OP_CONF_PASSED(OP_CONF_TO_PRODUCER)},
    /* Memory: librdkafka's defaults (1 GB of producer queue, 64 MB of prefetch per
     * consumer) would dwarf the state's working set. */
    {"queue.buffering.max.kbytes", OP_CONF_INT, "4096",
     "producer: most KB of rollups waiting for delivery (produce then waits)", 1, 2097151,
     OP_CONF_PASSED(OP_CONF_TO_PRODUCER)},
    {"queued.max.messages.kbytes", OP_CONF_INT, "4096",
     "consumer: most KB of events prefetched per consumer", 1, 2097151,
     OP_CONF_PASSED(OP_CONF_TO_CONSUMER)},
    {"queued.min.messages", OP_CONF_INT, "1000",
     "consumer: events prefetched per partition (librdkafka's 100000 would hold ~40 MB)", 1,
     10000000, OP_CONF_PASSED(OP_CONF_TO_CONSUMER)},
    OP_KAFKA_CONSUMER_CONF_DEFS,
    {"health.listen", OP_CONF_STRING, NULL,
     "serve /healthz, /readyz and /metrics on this IPv4-ADDRESS:PORT (unset: off)", 0, 0,
     A_AT(health_listen)},
    OP_AUTHZ_CONF_DEFS,
    OP_FRAME_CONF_DEFS,
    OP_REGISTRY_CONF_DEFS,
    OP_CLI_CONF_DEFS,
    {0},
};

int aggregator_conf_defaults(struct op_conf *conf, char *errstr, size_t errstr_size)
{
    static const char *const defaults[] = {"bootstrap.servers", "127.0.0.1:9092", NULL};
    return op_conf_set_pairs(conf, defaults, errstr, errstr_size);
}
