/* outreach-audit: list the corrections and retractions (更正/撤回) the aggregator applied, from
 * its audit topic, filtered by region, agency, time or event. Arguments and Kafka here; the
 * filters and the table in audit.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "avrojson.h"
#include "cli.h"
#include "service.h"
#include "codec.h"
#include "kafka.h"
#include "conf.h"
#include "log.h"
#include "regions.h"
#include "topicread.h"

#define EXIT_OK 0
#define EXIT_BAD_ENTRY 1
#define EXIT_ERROR 2

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: outreach-audit [-F FILE] [-X key=value]... [-v|-q] [OPTIONS]\n"
            "\n"
            "Lists the audit trail of corrections and retractions (更正/撤回): one entry per\n"
            "correction the aggregator applied, written to the audit topic (audit.topic,\n"
            "default outreach.audit; schema audit.v1) in the same transaction as the rollups it\n"
            "changed. Only committed entries are read (read_committed), partition by partition\n"
            "from the beginning to the end each partition had when the command started; no\n"
            "consumer group is joined and nothing is committed. Entries are printed in that\n"
            "order (per partition, oldest first).\n"
            "\n"
            "Filters (all given must match):\n"
            "  --region CODE   a change touches region CODE or a region under it (a prefecture\n"
            "                  matches its counties, a province everything in it); CODE must be\n"
            "                  in the region table\n"
            "  --agency ID     the correcting office's agency_id is ID\n"
            "  --since TIME    applied at or after TIME: YYYY-MM-DD (00:00 Asia/Shanghai) or\n"
            "                  RFC 3339 with offset, e.g. 2025-01-16T08:00:00+08:00\n"
            "  --event ID      the corrected event_id is ID\n"
            "Output:\n"
            "  (default)       a table: 时间 (applied_at, Asia/Shanghai), 事件编号, 单位, 更正\n"
            "                  FROM→TO (无→N: nothing counted before), 撤回 (是/否), 原因; under\n"
            "                  each entry one line per changed rollup: window, region code, name\n"
            "                  and level, and the nonzero differences (资金 in yuan, 2 decimals;\n"
            "                  数字未变 when only its corrections count changed)\n"
            "  --json          JSON Lines: each entry as its Avro record in JSON\n"
            "When nothing matches: 'no entries' (on stdout for the table, on stderr with\n"
            "--json so the output stays valid JSON Lines), exit 0.\n"
            "\n"
            "Other options:\n"
            "  -F FILE         read key=value settings from FILE (repeatable, in order), e.g.\n"
            "                  /etc/outreach/kafka.conf\n"
            "  -X key=value    set one key (ours below, or any librdkafka property;\n"
            "                  bootstrap.servers defaults to 127.0.0.1:9092)\n"
            "  -X list         print every key with its default, then exit\n"
            "  -v, -q          debug / warnings-only logging\n"
            "  -h, --help      this help\n"
            "\n"
            "Exit status: 0 listed (or no entries); 1 some messages of the topic could not be\n"
            "decoded as audit entries (reported on stderr with PARTITION:OFFSET, the others are\n"
            "listed); 2 bad usage or configuration, broker unreachable, topic missing, or a\n"
            "partition's end not reached within read.timeout.ms.\n"
            "\n"
            "Keys:\n");
    op_conf_print_help(audit_conf_defs, out);
}

struct args {
    const char *region, *agency, *since, *event;
    int json;
};

static int option(int argc, char **argv, int i, void *opaque)
{
    struct args *a = opaque;
    const char *o = argv[i];
    if (!strcmp(o, "--json")) {
        a->json = 1;
        return 1;
    }
    const char **slot = !strcmp(o, "--region")   ? &a->region
                        : !strcmp(o, "--agency") ? &a->agency
                        : !strcmp(o, "--since")  ? &a->since
                        : !strcmp(o, "--event")  ? &a->event
                                                 : NULL;
    if (!slot)
        return 0;
    if (i + 1 >= argc || !argv[i + 1][0]) {
        fprintf(stderr, "outreach-audit: %s needs an argument (see --help)\n", o);
        return -1;
    }
    if (*slot) {
        fprintf(stderr, "outreach-audit: %s given twice\n", o);
        return -1;
    }
    *slot = argv[i + 1];
    return 2;
}

struct lister {
    struct op_codec *codec;
    const struct op_schema *reader;
    const struct op_regions *regions;
    struct audit_filter filter;
    int json;
    const char *topic;
    uint64_t matched, bad;
};

static int list_one(const rd_kafka_message_t *m, void *opaque)
{
    struct lister *l = opaque;
    char err[512];
    avro_value_t *v;
    const struct op_schema *reader = NULL;
    int rc = m->payload
                 ? op_codec_decode(l->codec, m->payload, m->len, &v, NULL, &reader, err, sizeof err)
                 : OP_CODEC_ERR_FRAMING;
    if (rc == 0 && reader != l->reader) {
        snprintf(err, sizeof err, "a %s record, not an audit entry", reader->name);
        rc = OP_CODEC_ERR_UNKNOWN;
    }
    if (rc != 0) {
        op_log(OP_LOG_ERR, "%s %" PRId32 ":%" PRId64 ": not an audit entry: %s%s%s", l->topic,
               m->partition, m->offset, m->payload ? op_codec_err_name(rc) : "empty message",
               m->payload ? ": " : "", m->payload ? err : "");
        l->bad++;
        return 0;
    }
    json_t *j = op_avrojson_to_json(v);
    if (!j) {
        op_log(OP_LOG_ERR, "%s %" PRId32 ":%" PRId64 ": cannot render as JSON", l->topic,
               m->partition, m->offset);
        l->bad++;
        return 0;
    }
    int out_rc = 0;
    if (audit_matches(&l->filter, j, l->regions)) {
        if (l->json) {
            char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
            out_rc = text && puts(text) >= 0 ? 0 : -1;
            free(text);
        } else {
            if (l->matched == 0)
                audit_print_header(stdout);
            out_rc = audit_print_entry(stdout, j, l->regions);
        }
        l->matched++;
    }
    json_decref(j);
    return out_rc;
}

int main(int argc, char **argv)
{
    char err[1024];
    int rc = EXIT_ERROR;
    struct op_regions *regions = NULL;
    struct op_codec *codec = NULL;
    rd_kafka_t *rk = NULL;
    op_log_set_prog("outreach-audit");
    struct op_conf *conf = op_conf_new_kafka(audit_conf_defs);
    if (!conf || op_conf_set(conf, "bootstrap.servers", "127.0.0.1:9092", err, sizeof err) != 0 ||
        op_conf_set(conf, "client.id", "outreach-audit", err, sizeof err) != 0) {
        fprintf(stderr, "outreach-audit: configuration setup failed: %s\n",
                conf ? err : "out of memory");
        op_conf_destroy(conf);
        return EXIT_ERROR;
    }
    struct args a;
    memset(&a, 0, sizeof a);
    int first;
    enum op_cli_result r =
        op_cli_parse(argc, argv, conf, audit_conf_defs, usage, option, &a, &first);
    if (r != OP_CLI_OK) {
        op_conf_destroy(conf);
        return r == OP_CLI_EXIT ? EXIT_OK : EXIT_ERROR;
    }
    if (first < argc) {
        fprintf(stderr, "outreach-audit: unexpected argument %s (see --help)\n", argv[first]);
        goto cleanup;
    }
    struct audit_settings s;
    op_conf_bind(conf, &s);
    struct lister l;
    memset(&l, 0, sizeof l);
    l.json = a.json;
    l.topic = s.topic;
    regions = op_regions_new_from_file(s.regions_file, err, sizeof err);
    if (!regions) {
        fprintf(stderr, "outreach-audit: %s\n", err);
        goto cleanup;
    }
    l.regions = regions;
    l.filter.agency = a.agency;
    l.filter.event = a.event;
    if (a.region && audit_parse_region(regions, a.region, &l.filter.region, err, sizeof err) != 0) {
        fprintf(stderr, "outreach-audit: %s\n", err);
        goto cleanup;
    }
    if (a.since) {
        if (audit_parse_since(a.since, &l.filter.since_ms, err, sizeof err) != 0) {
            fprintf(stderr, "outreach-audit: %s\n", err);
            goto cleanup;
        }
        l.filter.has_since = 1;
    }
    codec = op_codec_new_default(err, sizeof err);
    if (!codec || !(l.reader = op_codec_reader(codec, "audit"))) {
        fprintf(stderr, "outreach-audit: %s\n", codec ? "no audit schema built in" : err);
        goto cleanup;
    }
    l.codec = codec;
    rk = op_topicread_new(conf, "outreach-audit", err, sizeof err);
    if (!rk) {
        fprintf(stderr, "outreach-audit: %s\n", err);
        goto cleanup;
    }
    op_service_install_signals();
    struct op_topicread_opts ro = {
        s.metadata_timeout_ms, s.read_timeout_ms, &op_service_run, NULL, list_one, &l};
    uint64_t read = 0;
    if (op_topicread_scan(rk, l.topic, &ro, &read, err, sizeof err) != 0 || fflush(stdout) != 0) {
        if (ferror(stdout) && errno == EPIPE) { /* `| head` has read what it wanted */
            rc = EXIT_OK;
            goto cleanup;
        }
        fprintf(stderr, "outreach-audit: %s\n", ferror(stdout) ? "cannot write the listing" : err);
        goto cleanup;
    }
    if (!op_service_run) {
        fprintf(stderr, "outreach-audit: interrupted\n");
        goto cleanup;
    }
    if (l.matched == 0)
        fputs("no entries\n", a.json ? stderr : stdout);
    op_log(OP_LOG_INFO, "%s: %" PRIu64 " of %" PRIu64 " entries listed%s", l.topic, l.matched, read,
           l.bad ? " (some could not be decoded)" : "");
    rc = l.bad ? EXIT_BAD_ENTRY : EXIT_OK;
cleanup:
    op_topicread_close(rk);
    op_codec_destroy(codec);
    op_regions_destroy(regions);
    op_conf_destroy(conf);
    return rc;
}
