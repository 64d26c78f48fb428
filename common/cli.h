/* Command-line handling shared by the daemons: -F FILE and -X key=value applied in order to
 * a configuration, -X list, -v/-q (kept over log.level on reloads), --help. */
#ifndef OP_CLI_H
#define OP_CLI_H

#include <stdio.h>

#include "conf.h"

/* Keys every program's table includes (op_cli_parse also takes a table without them:
 * outreach-codec dump's, whose level only -v/-q set). */
/* BIND(member): OP_CONF_OWNED_BY in programs' tables, OP_CONF_AT into struct op_cli_settings
 * in cli.c's own. */
#define OP_CLI_CONF_KEYS(BIND)                                                                     \
    {"log.level", OP_CONF_STRING, "info", "err, warning, notice, info or debug", 0,                \
     0,           BIND(log_level)},                                                                \
    {                                                                                              \
        "log.json", OP_CONF_BOOL, "false", "log as JSON lines instead of text", 0, 0,              \
            BIND(log_json)                                                                         \
    }
#define OP_CLI_CONF_DEFS OP_CLI_CONF_KEYS(OP_CONF_OWNED_BY)

/* The OP_CLI_CONF_DEFS keys. */
struct op_cli_settings {
    const char *log_level;
    bool log_json;
};

/* Binds them from conf (whose table includes OP_CLI_CONF_DEFS). */
void op_cli_bind(const struct op_conf *conf, struct op_cli_settings *out);

/* The --help lines of the options op_cli_parse handles, for the daemons' usage text. */
#define OP_CLI_OPTIONS_HELP                                                                        \
    "  -F FILE        read key=value settings from FILE (repeatable, in order)\n"                  \
    "  -X key=value   set one key (ours below, or any librdkafka property)\n"                      \
    "  -X list        print every key with its default, then exit\n"                               \
    "  -v, -q         debug / warnings-only logging\n"                                             \
    "  -h, --help     this help\n"

/* What op_cli_parse found. */
enum op_cli_result {
    OP_CLI_OK = 0,   /* continue; *first_arg is the index of the first operand */
    OP_CLI_EXIT = 1, /* --help or -X list was printed: exit 0 */
    OP_CLI_ERROR = 2 /* a message was printed to stderr: exit 2 */
};

/* Program-specific options: a callback gets each option that is not -F, -X, -v, -q, -h,
 * --help; it returns the number of argv entries it consumed (1 or 2), 0 if it does not know
 * the option, or -1 after printing an error. */
typedef int (*op_cli_option_cb)(int argc, char **argv, int i, void *opaque);

/* Parses argv in order. `usage` prints the program's help (options and operands), followed
 * by the configuration keys. Log level changes apply at once. Operands may be mixed with
 * options; "--" ends options. */
enum op_cli_result op_cli_parse(int argc, char **argv, struct op_conf *conf,
                                const struct op_conf_def *defs, void (*usage)(FILE *out),
                                op_cli_option_cb option_cb, void *opaque, int *first_arg);

/* A daemon's command line, kept so SIGHUP can build the configuration again. */
struct op_cli_program {
    const char *name; /* for messages, e.g. "outreach-aggregator" */
    const struct op_conf_def *defs;
    /* librdkafka settings applied before -F and -X (NULL: none); 0 or -1 with errstr */
    int (*defaults)(struct op_conf *conf, char *errstr, size_t errstr_size);
    void (*usage)(FILE *out);
    int argc;
    char **argv;
};

/* Builds a configuration (with librdkafka passthrough): defaults, then -F files and -X
 * settings in order; operands are errors. argv is left as it was. Returns the new
 * configuration, or NULL with *result OP_CLI_EXIT (help printed) or OP_CLI_ERROR (message
 * printed). */
struct op_conf *op_cli_load(const struct op_cli_program *p, enum op_cli_result *result);

/* op_cli_load and op_cli_load_again are in the Kafka part of the library (cli_kafka.c). */

/* op_cli_load for SIGHUP (opaque: the struct op_cli_program): NULL after logging that the
 * running configuration stays. */
struct op_conf *op_cli_load_again(void *opaque);

#endif
