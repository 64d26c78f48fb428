/* outreach-codec's configuration table (see config.h). */
#include "config.h"

#include "registry.h"

const struct op_conf_def codec_conf_defs[] = {OP_REGISTRY_CONF_DEFS, {0}};
