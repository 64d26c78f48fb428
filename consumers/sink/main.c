/* outreach-sink: the reference receiver of outreach-reporter's batches, for the demo and the
 * tests. This file only handles arguments and signals; see server.c and store.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "service.h"
#include "clock.h"
#include "server.h"
#include "store.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: outreach-sink [--listen HOST:PORT] [--state FILE] [--token-file FILE]\n"
            "                     [--dump-dir DIR] [--enable-control] [--fail MODE ...] [-v|-q]\n"
            "\n"
            "Receives outreach-reporter batches on POST /rollups (gzip or plain JSON, an\n"
            "Idempotency-Key per batch), drops repeated keys, keeps the latest revision of\n"
            "every rollup (persisted in --state: an fsync'd append-only log, compacted at\n"
            "start), and serves them: GET /rollups (JSON, sorted by key), GET /stats, and\n"
            "GET / (the office's page in Chinese: ?campaign=NAME&region=CODE&metric=funding|\n"
            "visits|workers|surveys&lang=zh|en, charts as inline SVG, then the table of\n"
            "?window=KIND|window, province then prefecture rows) and\n"
            "GET /table.txt?window=KIND|window (the same rows as aligned plain text).\n"
            "Audit entries (更正/撤回, schemas/audit.v1.avsc as JSON): POST /audit\n"
            "{\"entries\":[...]} (same token, size and gzip rules; all or nothing, 400 naming\n"
            "the bad field; an entry already held by (event_id, correction_to) is a duplicate:\n"
            "200 {\"received\":N,\"added\":M,\"duplicates\":D}); GET /audit?region=CODE\n"
            "(entries touching CODE or a region under it, newest first, JSON; &limit=N) and\n"
            "GET /audit.html?region=CODE&lang=zh|en (the same as a page, linked from the\n"
            "table's 更正 column).\n"
            "Answers to POST /rollups: 200 {\"accepted\":N,\"applied\":M,\"duplicate\":false},\n"
            "200 with duplicate:true for a repeated key, 422 for a key reused with another\n"
            "body, 400 for an invalid batch, 401 without the token, 413 over 64 MiB, 507 over\n"
            "--max-rollups, 503\n"
            "(Retry-After: 1) when --max-inflates gzip bodies are being inflated.\n");
    /* two strings: C11 compilers need not take literals over 4095 bytes */
    fprintf(out,
            "\n"
            "Options:\n"
            "  --listen HOST:PORT  address to serve (default 127.0.0.1:8080; port 0 picks a\n"
            "                      free one); the first line on stdout is\n"
            "                      'listening on ADDRESS:PORT'. An address other than\n"
            "                      loopback needs --token-file (or --insecure-listen)\n"
            "  --insecure-listen   serve a non-loopback address without a token (warns)\n"
            "  --state FILE        keep the state in FILE (default: in memory only)\n"
            "  --token-file FILE   require 'Authorization: Bearer TOKEN' (TOKEN: the file's\n"
            "                      first line) on every request\n"
            "  --dump-dir DIR      save every POST /rollups body as received (DIR/N.body) with\n"
            "                      its headers (DIR/N.meta.json)\n"
            "  --max-keys N        Idempotency-Keys remembered (default 100000; oldest\n"
            "                      forgotten first)\n"
            "  --tls-cert FILE --tls-key FILE   serve HTTPS with this PEM certificate and key\n"
            "  --max-rollups N     rollup keys kept at most (default 1000000, 0: no cap); a\n"
            "                      batch that would add more is refused whole with 507\n"
            "  --regions FILE      region table CSV (default: the built-in schemas/regions.csv);\n"
            "                      a rollup must name one of its regions at its level, and a\n"
            "                      window of its kind: DAY YYYY-MM-DD, MONTH YYYY-MM, ALL all,\n"
            "                      CAMPAIGN a name (else 400)\n"
            "  --max-audit N       audit entries (POST /audit) kept in memory (default 100000);\n"
            "                      beyond that the oldest are dropped and counted\n"
            "                      (outreach_sink_audit_evicted_total); not kept across restarts\n"
            "  --max-inflates N    gzip bodies inflated at once (default 4; each may take\n"
            "                      64 MiB; more at once get 503 with Retry-After: 1)\n"
            "  --enable-control    serve /control (failure injection at run time; without\n"
            "                      it /control is 404)\n"
            "  --fail MODE         failure injection for tests, on POST /rollups and /audit:\n"
            "                      ok, 503\n"
            "                      (with Retry-After: 1), 400, slow (store, then wait\n"
            "                      --fail-delay-ms before answering), drop (close without an\n"
            "                      answer)\n"
            "  --fail-count N      only for the next N requests (default 0: until changed)\n"
            "  --fail-delay-ms M   delay of 'slow' (default 5000)\n"
            "  -v, -q              debug / warnings-only logging\n"
            "  -h, --help          this help\n"
            "\n"
            "With --enable-control, at run time: POST /control {\"mode\":\"503\",\"count\":3,\n"
            "\"delay_ms\":1000} sets the injected failure, GET /control shows it.\n"
            "Limits: 128 connections, 16 per client address; a connection silent for 10 s is\n"
            "closed; the token is checked on the headers, so a refused body is never read.\n"
            "GET /healthz and /readyz answer 200 once the state is loaded and the port\n"
            "listens; GET /metrics serves Prometheus text (outreach_sink_*). Under systemd:\n"
            "READY=1 once listening, WATCHDOG=1, STOPPING=1.\n"
            "Logs one line per request to stderr. SIGTERM/SIGINT stop it cleanly.\n"
            "Exit status: 0 clean stop, 2 bad usage, unusable state file or address.\n");
}

struct args {
    struct sink_server_opts o;
    const char *token_file;
};

static int need_value(int argc, char **argv, int i)
{
    if (i + 1 >= argc) {
        fprintf(stderr, "outreach-sink: %s needs a value (see --help)\n", argv[i]);
        return -1;
    }
    return 0;
}

static int parse_long(const char *opt, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "outreach-sink: %s %s: expected an integer in %ld..%ld\n", opt, s, min,
                max);
        return -1;
    }
    *out = v;
    return 0;
}

static int option(int argc, char **argv, int i, void *opaque)
{
    struct args *a = opaque;
    const char *o = argv[i];
    static const char *const with_value[] = {
        "--listen",       "--state",       "--token-file", "--dump-dir",   "--max-keys",
        "--tls-cert",     "--tls-key",     "--fail",       "--fail-count", "--fail-delay-ms",
        "--max-inflates", "--max-rollups", "--regions",    "--max-audit",  NULL};
    if (strcmp(o, "--insecure-listen") == 0 || strcmp(o, "--enable-control") == 0) {
        *(o[2] == 'i' ? &a->o.insecure_listen : &a->o.enable_control) = 1;
        return 1;
    }
    int known = 0;
    for (const char *const *w = with_value; *w; w++)
        known |= strcmp(*w, o) == 0;
    if (!known)
        return 0;
    if (need_value(argc, argv, i) != 0)
        return -1;
    const char *v = argv[i + 1];
    long n;
    if (strcmp(o, "--listen") == 0)
        a->o.listen = v;
    else if (strcmp(o, "--state") == 0)
        a->o.state = v;
    else if (strcmp(o, "--token-file") == 0)
        a->token_file = v;
    else if (strcmp(o, "--dump-dir") == 0)
        a->o.dump_dir = v;
    else if (strcmp(o, "--tls-cert") == 0)
        a->o.tls_cert = v;
    else if (strcmp(o, "--tls-key") == 0)
        a->o.tls_key = v;
    else if (strcmp(o, "--max-keys") == 0) {
        if (parse_long(o, v, 1, 100000000, &n) != 0)
            return -1;
        a->o.max_keys = (size_t)n;
    } else if (strcmp(o, "--regions") == 0) {
        a->o.regions = v;
    } else if (strcmp(o, "--max-rollups") == 0) {
        if (parse_long(o, v, 0, 1000000000, &n) != 0)
            return -1;
        a->o.max_rollups = (size_t)n;
    } else if (strcmp(o, "--max-audit") == 0) {
        if (parse_long(o, v, 1, 10000000, &n) != 0)
            return -1;
        a->o.max_audit = (size_t)n;
    } else if (strcmp(o, "--max-inflates") == 0) {
        if (parse_long(o, v, 1, 1024, &n) != 0)
            return -1;
        a->o.max_inflates = (int)n;
    } else if (strcmp(o, "--fail") == 0) {
        if (sink_fail_mode_parse(v, &a->o.fail_mode) != 0) {
            fprintf(stderr, "outreach-sink: --fail %s: expected ok, 503, 400, slow or drop\n", v);
            return -1;
        }
    } else if (strcmp(o, "--fail-count") == 0) {
        if (parse_long(o, v, 0, 1000000000, &a->o.fail_count) != 0)
            return -1;
    } else if (parse_long(o, v, 0, 3600000, &a->o.fail_delay_ms) != 0) {
        return -1;
    }
    return 2;
}

/* The first line of path, newline stripped, as a malloc'd string; NULL after a message. The
 * content is never printed. */
static char *read_token(const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    if (!f) {
        fprintf(stderr, "outreach-sink: --token-file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    if (n <= 0) {
        fprintf(stderr, "outreach-sink: --token-file %s: the first line is empty\n", path);
        free(line);
        return NULL;
    }
    return line;
}

int main(int argc, char **argv)
{
    char err[1024];
    char *token = NULL;
    int rc = 2;
    op_log_set_prog("outreach-sink");
    json_object_seed(0);
    struct args a;
    memset(&a, 0, sizeof a);
    a.o.listen = "127.0.0.1:8080";
    a.o.max_keys = 100000;
    a.o.max_rollups = SINK_MAX_ROLLUPS_DEFAULT;
    a.o.fail_delay_ms = 5000;
    struct op_conf *conf = op_conf_new(sink_conf_defs);
    if (!conf) {
        fprintf(stderr, "outreach-sink: out of memory\n");
        return 2;
    }
    int first;
    enum op_cli_result r =
        op_cli_parse(argc, argv, conf, sink_conf_defs, usage, option, &a, &first);
    if (r != OP_CLI_OK || first < argc) {
        if (r == OP_CLI_OK)
            fprintf(stderr, "outreach-sink: unexpected argument %s (see --help)\n", argv[first]);
        rc = r == OP_CLI_EXIT ? 0 : 2;
        goto cleanup;
    }
    if (a.token_file && !(token = read_token(a.token_file)))
        goto cleanup;
    a.o.token = token;
    op_service_install_signals();
    struct sink_server *s = sink_server_start(&a.o, stdout, err, sizeof err);
    if (!s) {
        fprintf(stderr, "outreach-sink: %s\n", err);
        goto cleanup;
    }
    /* The sink serves its own /healthz (server.c): the shell only speaks to systemd. */
    struct op_service *svc = op_service_start(NULL, NULL, NULL, NULL, err, sizeof err);
    if (!svc) {
        fprintf(stderr, "outreach-sink: %s\n", err);
        sink_server_stop(s);
        goto cleanup;
    }
    op_service_ready(svc, "serving");
    while (op_service_run) {
        op_clock_sleep_ms(100);
        op_service_ping();
    }
    op_service_stopping(svc);
    op_log(OP_LOG_NOTICE, "stopping");
    sink_server_stop(s);
    op_service_stop(svc);
    rc = 0;
cleanup:
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    op_conf_destroy(conf);
    return rc;
}
