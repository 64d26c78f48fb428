/* outreach-dlq: see why events were dead-lettered and put them back after a fix.
 * This file only handles arguments and signals; see dlq.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kafka.h"
#include "dlq.h"
#include "log.h"
#include "service.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: outreach-dlq [-F FILE] [-X key=value]... [-v|-q] COMMAND [OPTIONS]\n"
        "\n"
        "Reads the dead-letter topic of outreach-aggregator (dlq.topic, default\n"
        "outreach.events.dlq), where it puts every event it cannot count, with the reason in\n"
        "headers (dlq.reason: framing, unknown-schema, registry-unavailable, malformed,\n"
        "unresolvable, invalid or unauthorized; dlq.error, dlq.source.topic/partition/offset,\n"
        "dlq.time). Only committed messages are read (read_committed), partition by\n"
        "partition, from the beginning (or --from) to the end each partition had when the\n"
        "command started, so every command terminates while new dead letters keep arriving.\n"
        "Nothing is committed or deleted: the dead-letter topic keeps its messages until its\n"
        "retention expires.\n"
        "list and show also read outreach-reporter's dead-letter topics\n"
        "(outreach.rollups.dlq.NAME: dlq.endpoint, dlq.status, dlq.body headers); replay\n"
        "refuses their messages, which are rollups, not events.\n"
        "\n"
        "Commands:\n"
        "  list [--reason R]... [--from P:O]...\n"
        "      one line per message, tab-separated: PARTITION:OFFSET, time dead-lettered (UTC),\n"
        "      reason, source TOPIC:PARTITION:OFFSET (a rejected reporter batch:\n"
        "      TOPIC:PARTITION:FIRST-LAST), error text (a rejected batch: HTTP STATUS: body;\n"
        "      tabs and newlines escaped; '-' where a header is missing)\n"
        "  show PARTITION:OFFSET\n"
        "      the message's timestamp, key and every header, then the event decoded as JSON\n"
        "      (read as the newest schema of its type), or, when it cannot be decoded, why\n"
        "      and a hex dump of its first 256 bytes\n"
        "  replay [--to TOPIC] [--reason R]... [--from P:O]... [--dry-run]\n"
        "      re-produces the original key and value of each selected message to its\n"
        "      dlq.source.topic (or TOPIC) with the idempotent producer (acks=all), keyed as\n"
        "      before so the default partitioner puts it with its province's events; the\n"
        "      original headers are kept, dlq.* ones dropped, and dlq.replayed=PARTITION:OFFSET\n"
        "      (its place in the dead-letter topic) added. One line per acknowledged message:\n"
        "      'replayed P:O (REASON) -> TOPIC:PARTITION:OFFSET'. Replaying twice is safe: the\n"
        "      aggregator counts an event_id once; an event still bad is dead-lettered again.\n"
        "\n"
        "Options:\n"
        "  --topic T      the dead-letter topic (default: dlq.topic)\n"
        "  --reason R     only messages whose dlq.reason is R (repeatable: any of them)\n"
        "  --from P:O     only partition P, from offset O on (repeatable, one per partition)\n"
        "  --to TOPIC     replay: produce to TOPIC instead of each message's dlq.source.topic\n"
        "  --dry-run      replay: print 'would replay P:O (REASON) -> TOPIC, key K, N bytes'\n"
        "                 for each selected message, produce nothing\n"
        "  -F FILE        read key=value settings from FILE (repeatable, in order), e.g. the\n"
        "                 connection settings in /etc/outreach/kafka.conf\n"
        "  -X key=value   set one key (ours below, or any librdkafka property;\n"
        "                 bootstrap.servers defaults to 127.0.0.1:9092)\n"
        "  -X list        print every key with its default, then exit\n"
        "  -v, -q         debug / warnings-only logging (the summary line is a notice)\n"
        "  -h, --help     this help\n"
        "\n"
        "Listings and replay lines go to stdout; the summary, errors and logs to stderr.\n"
        "Exit status:\n"
        "  0  done: every selected message was listed, shown, or replayed and acknowledged\n"
        "  1  show: no committed message at that position; replay: some selected messages\n"
        "     were not replayed (delivery failed, no dlq.source.topic and no --to, a\n"
        "     reporter dead letter) or the run was interrupted: running it again is safe\n"
        "  2  bad usage or configuration, broker unreachable, topic missing, or a partition's\n"
        "     end not reached within read.timeout.ms\n");
}

enum command { CMD_NONE, CMD_LIST, CMD_SHOW, CMD_REPLAY };

struct args {
    struct dlq_opts opts;
    int seen_to, seen_reason, seen_from, seen_dry_run;
};

static int option(int argc, char **argv, int i, void *opaque)
{
    struct args *a = opaque;
    const char *o = argv[i];
    if (!strcmp(o, "--dry-run")) {
        a->opts.dry_run = a->seen_dry_run = 1;
        return 1;
    }
    int takes = !strcmp(o, "--topic") || !strcmp(o, "--to") || !strcmp(o, "--reason") ||
                !strcmp(o, "--from");
    if (!takes)
        return 0;
    if (i + 1 >= argc || !argv[i + 1][0]) {
        fprintf(stderr, "outreach-dlq: %s needs an argument (see --help)\n", o);
        return -1;
    }
    const char *v = argv[i + 1];
    if (!strcmp(o, "--topic")) {
        a->opts.topic = v;
    } else if (!strcmp(o, "--to")) {
        a->opts.to = v;
        a->seen_to = 1;
    } else if (!strcmp(o, "--reason")) {
        if (a->opts.n_reasons >= DLQ_MAX_REASONS) {
            fprintf(stderr, "outreach-dlq: at most %d --reason options\n", DLQ_MAX_REASONS);
            return -1;
        }
        a->opts.reasons[a->opts.n_reasons++] = v;
        a->seen_reason = 1;
    } else {
        struct dlq_position pos;
        if (dlq_parse_position(v, &pos) != 0) {
            fprintf(stderr, "outreach-dlq: --from %s: expected PARTITION:OFFSET, e.g. 3:1200\n", v);
            return -1;
        }
        for (size_t k = 0; k < a->opts.n_from; k++)
            if (a->opts.from[k].partition == pos.partition) {
                fprintf(stderr, "outreach-dlq: --from names partition %d twice\n",
                        (int)pos.partition);
                return -1;
            }
        if (a->opts.n_from >= DLQ_MAX_FROM) {
            fprintf(stderr, "outreach-dlq: at most %d --from options\n", DLQ_MAX_FROM);
            return -1;
        }
        a->opts.from[a->opts.n_from++] = pos;
        a->seen_from = 1;
    }
    return 2;
}

/* Options that do not apply to the command are mistakes, not silently ignored. */
static int check_options(const struct args *a, enum command cmd, const char *name)
{
    const char *bad = NULL;
    if (cmd != CMD_REPLAY && a->seen_to)
        bad = "--to";
    else if (cmd != CMD_REPLAY && a->seen_dry_run)
        bad = "--dry-run";
    else if (cmd == CMD_SHOW && a->seen_reason)
        bad = "--reason";
    else if (cmd == CMD_SHOW && a->seen_from)
        bad = "--from";
    if (bad)
        fprintf(stderr, "outreach-dlq: %s does not apply to %s (see --help)\n", bad, name);
    return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    char err[1024];
    op_log_set_prog("outreach-dlq");
    struct op_conf *conf = op_conf_new_kafka(dlq_conf_defs);
    if (!conf || dlq_conf_defaults(conf, err, sizeof err) != 0) {
        fprintf(stderr, "outreach-dlq: configuration setup failed: %s\n",
                conf ? err : "out of memory");
        op_conf_destroy(conf);
        return DLQ_EXIT_ERROR;
    }
    struct args a;
    memset(&a, 0, sizeof a);
    int first, rc = DLQ_EXIT_ERROR;
    enum op_cli_result r = op_cli_parse(argc, argv, conf, dlq_conf_defs, usage, option, &a, &first);
    if (r != OP_CLI_OK) {
        op_conf_destroy(conf);
        return r == OP_CLI_EXIT ? DLQ_EXIT_OK : DLQ_EXIT_ERROR;
    }
    int nargs = argc - first;
    const char *name = nargs > 0 ? argv[first] : "";
    enum command cmd = !strcmp(name, "list")     ? CMD_LIST
                       : !strcmp(name, "show")   ? CMD_SHOW
                       : !strcmp(name, "replay") ? CMD_REPLAY
                                                 : CMD_NONE;
    int want_args = cmd == CMD_SHOW ? 2 : 1;
    struct dlq_position at = {0, 0};
    if (cmd == CMD_NONE) {
        fprintf(stderr, "outreach-dlq: %s%s (see --help)\n",
                nargs ? "unknown command " : "no command given", name);
        goto cleanup;
    }
    if (nargs != want_args) {
        fprintf(stderr, "outreach-dlq: %s takes %s (see --help)\n", name,
                cmd == CMD_SHOW ? "one PARTITION:OFFSET" : "no arguments");
        goto cleanup;
    }
    if (cmd == CMD_SHOW && dlq_parse_position(argv[first + 1], &at) != 0) {
        fprintf(stderr, "outreach-dlq: show %s: expected PARTITION:OFFSET, e.g. 3:1200\n",
                argv[first + 1]);
        goto cleanup;
    }
    if (check_options(&a, cmd, name) != 0)
        goto cleanup;
    struct dlq_settings s;
    op_conf_bind(conf, &s);
    if (!a.opts.topic)
        a.opts.topic = s.topic;
    op_service_install_signals();
    if (cmd == CMD_LIST)
        rc = dlq_list(conf, &s, &a.opts, stdout, &op_service_run);
    else if (cmd == CMD_SHOW)
        rc = dlq_show(conf, &s, &a.opts, at, stdout, &op_service_run);
    else
        rc = dlq_replay(conf, &s, &a.opts, stdout, &op_service_run);
cleanup:
    op_conf_destroy(conf);
    return rc;
}
