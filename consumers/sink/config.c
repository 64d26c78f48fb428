/* outreach-sink's configuration table (see config.h). */
#include "config.h"

#include "cli.h"

const struct op_conf_def sink_conf_defs[] = {
    OP_CLI_CONF_DEFS,
    {0},
};
