/* outreach-mock-broker's configuration table (see config.h). */
#include "config.h"

#include "cli.h"

const struct op_conf_def mockbroker_conf_defs[] = {OP_CLI_CONF_DEFS, {0}};
