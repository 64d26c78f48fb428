/* A daemon's command line over a configuration with librdkafka passthrough, loaded at start
 * and again on SIGHUP: the Kafka part of cli (cli.c itself knows no Kafka). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "log.h"

struct op_conf *op_cli_load(const struct op_cli_program *p, enum op_cli_result *result)
{
    char err[1024];
    *result = OP_CLI_ERROR;
    struct op_conf *conf = op_conf_new_kafka(p->defs);
    if (!conf || (p->defaults && p->defaults(conf, err, sizeof err) != 0)) {
        fprintf(stderr, "%s: configuration setup failed: %s\n", p->name,
                conf ? err : "out of memory");
        op_conf_destroy(conf);
        return NULL;
    }
    /* op_cli_parse reorders argv: work on a copy so a reload sees the original. */
    char **argv = malloc(((size_t)p->argc + 1) * sizeof *argv);
    if (!argv) {
        op_conf_destroy(conf);
        return NULL;
    }
    memcpy(argv, p->argv, ((size_t)p->argc + 1) * sizeof *argv);
    int first;
    *result = op_cli_parse(p->argc, argv, conf, p->defs, p->usage, NULL, NULL, &first);
    if (*result == OP_CLI_OK && first < p->argc) {
        fprintf(stderr, "%s: unexpected argument %s (see --help)\n", p->name, argv[first]);
        *result = OP_CLI_ERROR;
    }
    free(argv);
    if (*result != OP_CLI_OK) {
        op_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

struct op_conf *op_cli_load_again(void *opaque)
{
    enum op_cli_result r;
    struct op_conf *conf = op_cli_load(opaque, &r);
    if (!conf)
        op_log(OP_LOG_ERR, "SIGHUP: configuration not reloaded (see the message above)");
    return conf;
}
