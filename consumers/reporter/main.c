/* outreach-reporter: pushes every rollup to the reporting endpoints, exactly once in effect,
 * whatever the endpoints do. This file only handles arguments and signals; see reporter.c. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"
#include "log.h"
#include "service.h"
#include "reporter.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: outreach-reporter [-F FILE] [-X key=value]... [-v|-q]\n"
            "\n"
            "Delivers the rollups of rollups.topic (read_committed) to every configured\n"
            "endpoint: -X endpoint.NAME.url=https://... (or http://..., or file:///DIR for\n"
            "JSON Lines snapshot files). Each endpoint has its own consumer group\n"
            "<group.prefix>.NAME and its own thread, so a slow or dead endpoint only delays\n"
            "itself. Batches (per partition, at most batch.size messages, or what arrived\n"
            "within max.delay.ms) carry only the latest revision per rollup key, as gzip JSON\n"
            "(schemas/rollup-batch.schema.json) with an Idempotency-Key derived from the\n"
            "batch's Kafka offsets and content: a batch re-sent after a failure or a restart\n"
            "carries the same key. Offsets are committed only after a 2xx. Transport errors,\n"
            "401, 403, 404 (a configuration to fix), 408, 429 and 5xx are retried\n"
            "(exponential backoff, full jitter, Retry-After honoured), forever unless\n"
            "endpoint.NAME.max.retries is set; other 4xx answers put the batch in the topic\n"
            "<dlq.topic.prefix>.NAME and delivery goes on.\n"
            "\n"
            "Excel reports: -X endpoint.NAME.url=xlsx:///DIR writes one workbook per MONTH\n"
            "and CAMPAIGN window (DIR/month-2025-01.xlsx, DIR/campaign-NAME.xlsx; sheet 汇总\n"
            "and one sheet per province, amounts in yuan, 合计 rows), rewritten atomically\n"
            "when a rollup of the window changes. It keeps the windows in memory and\n"
            "re-reads rollups.topic from the beginning at every start (docs/operations.md).\n"
            "\n"
            "Options:\n" OP_CLI_OPTIONS_HELP "\n"
            "Example:\n"
            "  outreach-reporter -X bootstrap.servers=kafka1:9092 \\\n"
            "    -X endpoint.province.url=https://stats.example.org/rollups \\\n"
            "    -X endpoint.province.token.file=/etc/outreach/province.token \\\n"
            "    -X endpoint.archive.url=file:///var/lib/outreach/archive\n"
            "\n"
            "Endpoint authentication (secrets only as KEY.file=PATH, never logged):\n"
            "  endpoint.NAME.token.file=PATH            a fixed bearer token, or OAuth2\n"
            "  endpoint.NAME.oauth2.token_url=URL       client credentials: a token fetched\n"
            "  endpoint.NAME.oauth2.client_id=ID        (client_secret_basic, or .client_auth\n"
            "  endpoint.NAME.oauth2.client_secret.file=P  =client_secret_post), cached until\n"
            "  endpoint.NAME.oauth2.scope=SCOPES        expires_in - 10%%, renewed on a 401\n"
            "  endpoint.NAME.tls.ca=PEM                 CA bundle (endpoint and token URL)\n"
            "  endpoint.NAME.tls.cert=PEM, .tls.key=PEM mutual TLS certificate and key\n"
            "  endpoint.NAME.tls.key.password.file=PATH passphrase of an encrypted key\n"
            "\n"
            "Health: with -X health.listen=ADDRESS:PORT, GET /healthz (alive), /readyz (200\n"
            "once every endpoint's consumer has joined its group and received an assignment,\n"
            "possibly empty, and has not stopped) and /metrics (Prometheus; per endpoint\n"
            "outreach_reporter_consumer_lag{endpoint,partition}, queued_messages, pushes,\n"
            "see docs/operations.md). Under systemd:\n"
            "READY=1 once the endpoint threads run, WATCHDOG=1, STOPPING=1.\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop after the current request (its batch is re-sent after\n"
            "a restart, under the same Idempotency-Key); a second one exits at once. SIGHUP\n"
            "re-reads the -F files and -X settings: log.level applies and every new\n"
            "endpoint.NAME.url starts delivering at once; a changed or removed endpoint\n"
            "needs a restart (the log says so).\n"
            "\n"
            "Exit status: 0 clean stop, 1 fatal Kafka error (restart it: delivery resumes from\n"
            "the committed offsets), 2 bad usage or configuration.\n");
}

int main(int argc, char **argv)
{
    char err[1024];
    op_log_set_prog("outreach-reporter");
    /* Before any thread: libcurl's global state and jansson's hash seed. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "outreach-reporter: curl_global_init failed\n");
        return 2;
    }
    json_object_seed(0);
    struct op_cli_program prog = {
        "outreach-reporter", reporter_conf_defs, reporter_conf_defaults, usage, argc, argv};
    enum op_cli_result r;
    struct op_conf *conf = op_cli_load(&prog, &r);
    if (!conf) {
        curl_global_cleanup();
        return r == OP_CLI_EXIT ? 0 : 2;
    }
    struct reporter *rep = reporter_new(conf, err, sizeof err);
    if (!rep) {
        fprintf(stderr, "outreach-reporter: %s\n", err);
        op_conf_destroy(conf);
        curl_global_cleanup();
        return 2;
    }
    reporter_set_reload(rep, op_cli_load_again, &prog);
    op_service_install_signals();
    int rc = reporter_run(rep, &op_service_run, &op_service_reload);
    reporter_destroy(rep);
    op_conf_destroy(conf);
    curl_global_cleanup();
    return rc;
}
