/* outreach-mock-broker's configuration table (config.c), apart from main.c so a unit test can
 * check it. */
#ifndef MOCKBROKER_CONFIG_H
#define MOCKBROKER_CONFIG_H

#include "conf.h"

/* Only the logging keys (bound by common/cli.c, so the program has no settings struct of its
 * own); every other -X goes to the librdkafka client hosting the cluster. */
extern const struct op_conf_def mockbroker_conf_defs[];

#endif
