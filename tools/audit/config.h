/* outreach-audit's configuration: its table of keys (config.c) and the settings struct they are
 * bound into, apart from main.c so a unit test can check the table. */
#ifndef AUDIT_CONFIG_H
#define AUDIT_CONFIG_H

#include "conf.h"

/* Our keys (everything else goes to librdkafka): each bound to a field of struct
 * audit_settings or owned by a common/ module. */
extern const struct op_conf_def audit_conf_defs[];

/* Bound once by main (op_conf_bind); strings point into the configuration. */
struct audit_settings {
    const char *topic;        /* audit.topic */
    const char *regions_file; /* regions.file; NULL: the built-in table */
    int read_timeout_ms;      /* read.timeout.ms */
    int metadata_timeout_ms;  /* metadata.timeout.ms */
};

#endif
