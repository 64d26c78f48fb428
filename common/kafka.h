/* Kafka helpers shared by the daemons: topic creation with documented settings, broker
 * count, and the classification of librdkafka errors into retry / abort / fatal. */
#ifndef OP_KAFKA_H
#define OP_KAFKA_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

/* One topic to create if missing. replication <= 0 means min(3, brokers in the cluster);
 * configs is a NULL-terminated list of key, value pairs (may be NULL). When the cluster has
 * at least 3 brokers, min.insync.replicas=2 is added unless configs sets it. */
struct op_kafka_topic_spec {
    const char *name;
    int partitions;
    int replication;
    const char *const *configs;
};

/* Group-membership keys of the daemons' tables (aggregator, reporter), passed to their
 * consumers only (so no CONFWARN from their producers) and overridable with -X. With static
 * membership a kill -9 no longer costs a session: the restarted member takes its partitions
 * back at once; session.timeout.ms bounds how long a member that does not come back keeps
 * its partitions. Needs conf.h. */
#define OP_KAFKA_CONSUMER_CONF_DEFS                                                                \
    {"session.timeout.ms",                                                                         \
     OP_CONF_INT,                                                                                  \
     "10000",                                                                                      \
     "consumer: a member silent this long is evicted and its partitions reassigned",               \
     1000,                                                                                         \
     300000,                                                                                       \
     OP_CONF_PASSED(OP_CONF_TO_CONSUMER)},                                                         \
    {                                                                                              \
        "heartbeat.interval.ms", OP_CONF_INT, "1000", "consumer: group heartbeat interval", 100,   \
            60000, OP_CONF_PASSED(OP_CONF_TO_CONSUMER)                                             \
    }

/* Longest instance name op_kafka_instance_id accepts (Kafka allows 249 bytes for a
 * group.instance.id, which adds a program prefix and possibly an endpoint name). */
#define OP_KAFKA_INSTANCE_MAX 128

/* The stable name of this instance of a daemon: `configured` (its instance.id setting) or,
 * when that is NULL (not set), the host name; set but empty is an error. It names static group
 * members (group.instance.id) and transactional ids, so it must survive restarts and differ between
 * instances that run at the same time. Writes it to out (out_size > OP_KAFKA_INSTANCE_MAX).
 * Returns 0, or -1 with errstr when it is not 1..OP_KAFKA_INSTANCE_MAX of [A-Za-z0-9._-]
 * (the characters Kafka allows in a group.instance.id), or is "." or "..". */
int op_kafka_instance_id(const char *configured, char *out, size_t out_size, char *errstr,
                         size_t errstr_size);

/* For rd_kafka_conf_set_log_cb() (op_kafka_client_new sets it): logs `rdkafka FAC: message`
 * at librdkafka's level through op_log, from whichever librdkafka thread calls it. */
void op_log_rdkafka_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* Authentication failures, recorded process-wide (every client of a daemon shares its
 * credentials). A broker that refuses the SASL login, or a TLS handshake that fails on
 * certificate verification (ssl.ca.location does not trust the broker, or the broker refuses
 * our certificate), cannot be fixed by retrying, which is all librdkafka does: the daemons
 * treat it as fatal and exit non-zero (a supervisor restart rereads the password file).
 *
 * op_kafka_note_error classifies an error callback's (err, reason): returns 1 and records
 * the first such reason (logged once at OP_LOG_ERR with the keys to check) for an
 * authentication failure, else 0. Thread-safe. */
int op_kafka_note_error(int err, const char *reason);

/* 1 when op_kafka_note_error recorded an authentication failure, copying its reason into buf
 * (may be NULL); else 0. Thread-safe. */
int op_kafka_auth_failed(char *buf, size_t size);

/* The error callback op_conf_kafka_dup installs: logs the error (ALL_BROKERS_DOWN at
 * OP_LOG_WARNING, others at OP_LOG_NOTICE, a fatal one at OP_LOG_ERR) and feeds
 * op_kafka_note_error. A program with its own error callback calls op_kafka_note_error. */
void op_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque);

/* Metadata requests of the functions below run in slices of at most 1 s, serving a
 * producer's callbacks in between, and give up early with "authentication failed" once
 * op_kafka_auth_failed is set. */

/* Number of brokers in the cluster's metadata, or -1 with errstr. */
int op_kafka_broker_count(rd_kafka_t *rk, int timeout_ms, char *errstr, size_t errstr_size);

/* Creates each topic that does not exist yet; an existing topic is left as it is (its
 * partition count is reported in *partitions_out when not NULL, in the order of specs).
 * Waits until every partition has a leader. Returns 0 or -1 with errstr naming the topic. */
int op_kafka_ensure_topics(rd_kafka_t *rk, const struct op_kafka_topic_spec *specs, size_t n,
                           int timeout_ms, int *partitions_out, char *errstr, size_t errstr_size);

/* Partition count of `topic`, or -1 with errstr (unknown topic included). */
int op_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                             size_t errstr_size);

/* ---- configuration (common/conf_kafka.c) ------------------------------------------------- */

struct op_conf;
struct op_conf_def;

/* op_conf_new (conf.h) with librdkafka as the passthrough: keys outside the table are
 * librdkafka properties (`topic.NAME`: NAME on the default topic config). */
struct op_conf *op_conf_new_kafka(const struct op_conf_def *defs);

/* A caller-owned copy of the librdkafka config (default topic config included) with the log
 * callback set to op_log_rdkafka_cb, ready for rd_kafka_new(), which takes ownership of it on
 * success. NULL for a configuration without librdkafka or on allocation failure. Programs
 * call op_kafka_client_new. */
rd_kafka_conf_t *op_conf_kafka_dup(const struct op_conf *conf);

/* Reads a librdkafka property (`topic.NAME` from the default topic config; other names from
 * the global config, then the default topic config) into buf. Returns buf, or NULL if the
 * key is unknown or unset, buf is too small, or conf has no librdkafka config. */
const char *op_conf_kafka_get(const struct op_conf *conf, const char *key, char *buf, size_t size);

/* ---- clients ---------------------------------------------------------------------------- */

/* What a program adds to its configuration for one client. Every field may be 0/NULL. */
struct op_kafka_client_opts {
    /* NULL-terminated key, value pairs set over the configuration, e.g. the fixed group.id
     * or transactional.id of this client; a NULL value leaves the key as configured. */
    const char *const *settings;
    void *opaque; /* given to every callback */
    void (*dr_msg_cb)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
    void (*rebalance_cb)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque);
    /* NULL: op_kafka_error_cb (logs; authentication failures become op_kafka_auth_failed).
     * A program's own callback must call op_kafka_note_error. */
    void (*error_cb)(rd_kafka_t *rk, int err, const char *reason, void *opaque);
    int (*stats_cb)(rd_kafka_t *rk, char *json, size_t json_len, void *opaque);
};

/* The one way to build a client: a copy of conf's librdkafka settings (the -X/-F
 * passthrough keys; conf NULL: librdkafka's defaults), then the keys of conf's table marked
 * OP_CONF_TO_PRODUCER / OP_CONF_TO_CONSUMER for this type of client, then o->settings, librdkafka's
 * logs routed through op_log, the error callback, and the program's callbacks. Returns the client,
 * or NULL with errstr ("KEY: reason" for a rejected setting). */
rd_kafka_t *op_kafka_client_new(const struct op_conf *conf, rd_kafka_type_t type,
                                const struct op_kafka_client_opts *o, char *errstr,
                                size_t errstr_size);

/* ---- offsets ---------------------------------------------------------------------------- */

/* 1 for the errors of an offset or watermark query that pass once leadership settles or a
 * broker is back: no leader or not the leader (new topic, broker restart), topic or
 * partition not in metadata yet, a request timed out, a connection dropped. */
int op_kafka_offset_err_transient(rd_kafka_resp_err_t err);

/* Low and high watermarks of topic [p] from the partition leader, retrying transient errors
 * (after a metadata refresh when the leader moved; logged at OP_LOG_INFO) every 500 ms for
 * up to timeout_ms in all, pinging the systemd watchdog in between. Returns 0, the first
 * non-transient error, or the last transient one when time ran out. */
rd_kafka_resp_err_t op_kafka_watermarks(rd_kafka_t *rk, const char *topic, int32_t p,
                                        int timeout_ms, int64_t *lo, int64_t *hi);

/* The province key of a region code: the first two digits followed by "0000". `out` must
 * hold 7 bytes. Returns 0, or -1 when `region` is not six ASCII digits. */
int op_kafka_province_key(const char *region, char out[7]);

#endif
