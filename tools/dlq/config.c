/* outreach-dlq's configuration table and fixed defaults, apart from its Kafka logic so a unit
 * test can check the table (op_conf_table_bound) without linking dlq.c. */
#include "dlq.h"

#include "cli.h"
#include "registry.h"

#define DLQ_AT(member) OP_CONF_AT(struct dlq_settings, member)

const struct op_conf_def dlq_conf_defs[] = {
    {"dlq.topic", OP_CONF_STRING, "outreach.events.dlq",
     "dead-letter topic to read (--topic overrides it)", 0, 0, DLQ_AT(topic)},
    {"read.timeout.ms", OP_CONF_INT, "30000",
     "give up when a partition's end is not reached after this long without a message", 1000,
     3600000, DLQ_AT(read_timeout_ms)},
    {"metadata.timeout.ms", OP_CONF_INT, "10000",
     "longest wait for topic metadata and watermark offsets", 1000, 600000,
     DLQ_AT(metadata_timeout_ms)},
    /* Producer-only settings live in our table so they reach only the replay producer
     * (no CONFWARN from the consumer), while staying overridable with -X. */
    {"message.timeout.ms", OP_CONF_INT, "30000",
     "replay: a message not acknowledged (acks=all) within this time counts as failed", 1000,
     900000, OP_CONF_AT_TO(struct dlq_settings, message_timeout_ms, OP_CONF_TO_PRODUCER)},
    OP_REGISTRY_CONF_DEFS, /* show: Confluent-framed (00 + schema id) events */
    OP_CLI_CONF_DEFS,
    {0},
};

int dlq_conf_defaults(struct op_conf *conf, char *errstr, size_t errstr_size)
{
    static const char *const defaults[] = {"bootstrap.servers", "127.0.0.1:9092", "client.id",
                                           "outreach-dlq", NULL};
    return op_conf_set_pairs(conf, defaults, errstr, errstr_size);
}
