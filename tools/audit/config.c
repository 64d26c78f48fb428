/* outreach-audit's configuration table (see config.h). */
#include "config.h"

#include "cli.h"

#define AUDIT_AT(member) OP_CONF_AT(struct audit_settings, member)

const struct op_conf_def audit_conf_defs[] = {
    {"audit.topic", OP_CONF_STRING, "outreach.audit", "the audit topic to read", 0, 0,
     AUDIT_AT(topic)},
    {"regions.file", OP_CONF_STRING, NULL,
     "region table CSV for --region and region names (default: the copy built in from "
     "schemas/regions.csv)",
     0, 0, AUDIT_AT(regions_file)},
    {"read.timeout.ms", OP_CONF_INT, "30000",
     "give up when a partition's end is not reached after this long without a message", 1000,
     3600000, AUDIT_AT(read_timeout_ms)},
    {"metadata.timeout.ms", OP_CONF_INT, "10000",
     "longest wait for topic metadata and watermark offsets", 1000, 600000,
     AUDIT_AT(metadata_timeout_ms)},
    OP_CLI_CONF_DEFS,
    {0},
};
