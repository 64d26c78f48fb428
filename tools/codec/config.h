/* outreach-codec's configuration table (config.c), apart from main.c so a unit test can check
 * it: only `dump` reads a configuration. */
#ifndef CODEC_CONFIG_H
#define CODEC_CONFIG_H

#include "conf.h"

/* dump's keys: the schema registry's (bound by common/registry.c, so the program has no
 * settings struct of its own); everything else goes to librdkafka (KEY.file=PATH included,
 * for sasl.password and the like). */
extern const struct op_conf_def codec_conf_defs[];

#endif
