/* outreach-aggregator: turns outreach events into per-region rollups, exactly once, whatever
 * happens to the daemon. This file only handles arguments and signals; see aggregator.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "cli.h"
#include "log.h"
#include "service.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: outreach-aggregator [-F FILE] [-X key=value]... [-v|-q]\n"
        "\n"
        "Consumes Avro events from events.topic in the consumer group group.name, keeps\n"
        "per-region rollups (county, prefecture, province; day, month, campaign, all-time)\n"
        "and publishes every changed rollup to rollups.topic in a Kafka transaction that\n"
        "also commits the consumed offsets: kill it at any moment and restart it, nothing\n"
        "is lost or counted twice. Events repeating an event_id count once. Undecodable,\n"
        "invalid or unauthorised events go to dlq.topic with the reason in headers.\n"
        "\n"
        "State lives in a local LMDB store, <state.dir>/<instance.id>/ (a cache of\n"
        "rollups.topic and seen.topic, written by a second thread after each Kafka\n"
        "commit): a restart replays only what those topics got since; a missing, damaged\n"
        "or foreign store is rebuilt from them (the reason is logged). Memory holds the\n"
        "open transaction's changed rollups (at most state.max.dirty) and, compactly, the\n"
        "last committed ones until the store has them.\n"
        "\n"
        "Options:\n" OP_CLI_OPTIONS_HELP "\n"
        "Signals: SIGTERM/SIGINT commit the open transaction and stop; a second one exits\n"
        "at once (the open transaction is then aborted by the next start or the broker).\n"
        "SIGHUP re-reads the -F files and -X settings and applies log.level and the\n"
        "authorisation map (agency.*.regions, authz.default); other keys need a restart.\n"
        "With health.listen set: GET /healthz, /readyz (200 once state is restored), /metrics.\n"
        "Under systemd (Type=notify) it reports READY, STOPPING and WATCHDOG.\n"
        "\n"
        "Exit status: 0 clean stop, 1 fatal Kafka or state store error (restart it: state\n"
        "resumes from the store and Kafka), 2 bad usage or configuration (or health.listen\n"
        "cannot be bound).\n");
}

int main(int argc, char **argv)
{
    char err[1024];
    op_log_set_prog("outreach-aggregator");
    struct op_cli_program prog = {
        "outreach-aggregator", aggregator_conf_defs, aggregator_conf_defaults, usage, argc, argv};
    enum op_cli_result r;
    struct op_conf *conf = op_cli_load(&prog, &r);
    if (!conf)
        return r == OP_CLI_EXIT ? 0 : 2;
    struct aggregator *a = aggregator_new(conf, err, sizeof err);
    if (!a) {
        fprintf(stderr, "outreach-aggregator: %s\n", err);
        op_conf_destroy(conf);
        return 2;
    }
    aggregator_set_reload(a, op_cli_load_again, &prog);
    op_service_install_signals();
    int rc = aggregator_run(a, &op_service_run, &op_service_reload);
    aggregator_destroy(a);
    op_conf_destroy(conf);
    return rc;
}
