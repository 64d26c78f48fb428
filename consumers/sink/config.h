/* outreach-sink's configuration table (config.c), apart from main.c so a unit test can check
 * it. The sink takes its own settings as options (--listen, --state, ...), not keys. */
#ifndef SINK_CONFIG_H
#define SINK_CONFIG_H

#include "conf.h"

/* Only the logging keys (bound by common/cli.c, so the program has no settings struct of its
 * own). No librdkafka passthrough: the sink links neither librdkafka nor avro-c. */
extern const struct op_conf_def sink_conf_defs[];

#endif
