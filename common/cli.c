/* Argument parsing in the manner of kcat: settings apply in the order given, so -F then -X
 * overrides the file. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Anyone on the host can read argv (ps, /proc/PID/cmdline): say so for each credential
 * given as -X, and name the file alternative. The value is never printed. */
static void warn_inline_secret(const struct op_conf *conf, const char *kv)
{
    const char *eq = strchr(kv, '=');
    char key[256];
    if (!eq || (size_t)(eq - kv) >= sizeof key)
        return;
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = 0;
    if (op_conf_key_is_secret(conf, key, eq + 1))
        op_log(OP_LOG_WARNING,
               "-X %s=... puts a secret on the command line, where every local user can read it "
               "(ps, /proc/PID/cmdline): use -X %s.file=PATH (its first line, in a file only "
               "this daemon reads) or a -F file",
               key, key);
}

#define CLI_AT(member) OP_CONF_AT(struct op_cli_settings, member)
static const struct op_conf_def cli_keys[] = {OP_CLI_CONF_KEYS(CLI_AT), {0}};

void op_cli_bind(const struct op_conf *conf, struct op_cli_settings *out)
{
    op_conf_bind_keys(conf, cli_keys, out);
}

/* 1 if conf's table has the OP_CLI_CONF_DEFS keys. outreach-codec dump's has not (only the
 * registry's keys: every other -X goes to librdkafka), so -v/-q alone set its log level. */
static int has_cli_keys(const struct op_conf *conf)
{
    for (const struct op_conf_def *d = op_conf_table(conf); d->key; d++)
        if (strcmp(d->key, cli_keys[0].key) == 0)
            return 1;
    return 0;
}

enum op_cli_result op_cli_parse(int argc, char **argv, struct op_conf *conf,
                                const struct op_conf_def *defs, void (*usage)(FILE *out),
                                op_cli_option_cb option_cb, void *opaque, int *first_arg)
{
    char err[1024];
    int operands = 0, forced_level = 0;
    /* Operands are moved to the front of the remaining argv, in order. */
    char **ops = argv + 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++)
                ops[operands++] = argv[i];
            break;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            ops[operands++] = argv[i];
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            fprintf(stdout, "\nConfiguration keys (-X key=value or in a -F file; any other key "
                            "goes to librdkafka, see -X list):\n");
            op_conf_print_help(defs, stdout);
            fprintf(stdout, "\nSecrets: KEY.file=PATH sets KEY to the first line of PATH. A "
                            "password, secret or token given\ninline as -X is visible to "
                            "every local user (ps) and logged as a warning.\n");
            return OP_CLI_EXIT;
        }
        if (strcmp(a, "-v") == 0) {
            forced_level = OP_LOG_DEBUG;
            continue;
        }
        if (strcmp(a, "-q") == 0) {
            forced_level = OP_LOG_WARNING;
            continue;
        }
        if (strcmp(a, "-F") == 0 || strcmp(a, "-X") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: %s needs an argument (see --help)\n", argv[0], a);
                return OP_CLI_ERROR;
            }
            const char *v = argv[++i];
            if (a[1] == 'X' && op_conf_is_list_request(v)) {
                op_conf_list(conf, stdout);
                return OP_CLI_EXIT;
            }
            int rc = a[1] == 'F' ? op_conf_load_file(conf, v, err, sizeof err)
                                 : op_conf_apply_arg(conf, v, err, sizeof err);
            if (rc != 0) {
                fprintf(stderr, "%s: %s\n", argv[0], err);
                return OP_CLI_ERROR;
            }
            if (a[1] == 'X')
                warn_inline_secret(conf, v);
            continue;
        }
        int used = option_cb ? option_cb(argc, argv, i, opaque) : 0;
        if (used < 0)
            return OP_CLI_ERROR;
        if (used == 0) {
            fprintf(stderr, "%s: unknown option %s (see --help)\n", argv[0], a);
            return OP_CLI_ERROR;
        }
        i += used - 1;
    }
    /* -v / -q win over log.level, now and on every reload (which parses argv again). */
    op_log_pin_level(forced_level);
    struct op_cli_settings s = {NULL, false};
    if (has_cli_keys(conf))
        op_cli_bind(conf, &s);
    (void)op_log_set_level_name(s.log_level);
    if (s.log_json)
        op_log_set_json(1);
    /* Shift operands so the caller sees them at argv[*first_arg .. argc). */
    int first = argc - operands;
    memmove(argv + first, ops, (size_t)operands * sizeof *argv);
    *first_arg = first;
    return OP_CLI_OK;
}
