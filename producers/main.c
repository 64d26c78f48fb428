/* outreach-producer: district union offices publish their outreach events from JSON Lines,
 * CSV or .xlsx files. This file only handles arguments and signals; see producer.c and spool.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kafka.h"
#include "event.h"
#include "log.h"
#include "service.h"
#include "producer.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: outreach-producer [OPTIONS] FILE...\n"
        "       outreach-producer [OPTIONS] --spool DIR\n"
        "\n"
        "Publishes outreach events (visit, funding, survey) from JSON Lines, CSV or .xlsx\n"
        "files to events.topic as Avro (single-object encoding), keyed by province code,\n"
        "with the idempotent producer (acks=all). Every record is validated first\n"
        "(docs/events.md): a bad one is reported on stderr as FILE:LINE: FIELD: reason and\n"
        "its original text is written to the rejects file; every good one is still\n"
        "published. A record without an event_id gets one derived from its content\n"
        "(d-<hash>), so publishing the same file twice publishes the same ids and the\n"
        "aggregator counts each event once.\n"
        "\n"
        "Input:\n"
        "  FILE                .jsonl, .json, .ndjson: one JSON object per line; .csv: a header\n"
        "                      row of field names, then one row per event (RFC 4180 quotes,\n"
        "                      arrays joined with ';', needs as NEED:COUNT, s1..s5 columns for\n"
        "                      satisfaction); FILE.gz is decompressed; \"-\" reads stdin.\n"
        "                      UTF-8 or GB18030/GBK (see --encoding); a BOM and CRLF line ends\n"
        "                      are fine. Every record names its \"type\" (visit, funding,\n"
        "                      survey). Times: RFC 3339 with an offset\n"
        "                      (2025-01-15T10:30:00+08:00, ...Z) or integer milliseconds.\n"
        "                      .xlsx (Excel, WPS): the first worksheet (or --sheet), read like\n"
        "                      a CSV: a header row, then one row per event; dates are Excel\n"
        "                      dates read as Beijing time (UTC+8); empty rows and merged title\n"
        "                      or total lines are skipped with a note; errors say\n"
        "                      FILE:SHEET!ROW; its rejects file is a CSV (UTF-8 with a BOM).\n"
        "                      Headers (CSV and .xlsx) may use Chinese names: 事件编号, 类型,\n"
        "                      发生时间, 上报时间, 单位编号, 行政区划代码, 金额(分), ...\n"
        "                      (the table: docs/producer.md, Header aliases).\n");
    /* In parts: C11 only promises 4095-character string literals. */
    fprintf(
        out,
        "Options:\n"
        "  --format jsonl|csv|xlsx\n"
        "                      input format (default: by extension, else by the first bytes)\n"
        "  --sheet NAME        the worksheet of .xlsx inputs (input.sheet; default: the first)\n"
        "  --type TYPE         type of records that name none (or a CSV without that column)\n"
        "  --encoding utf-8|gb18030|auto\n"
        "                      the input's encoding (input.encoding; default auto: UTF-8, but\n"
        "                      a file that is not UTF-8 and is GB18030, which covers GBK as\n"
        "                      Chinese Excel and WPS save CSV, is read as GB18030 and said so\n"
        "                      on stderr; a UTF-8 BOM means UTF-8; stdin is decided at its\n"
        "                      first line that is not ASCII). Errors keep the original line\n"
        "                      numbers and rejects files the original bytes.\n"
        "  --rejects FILE      where rejected records go (default: FILE.rejects beside each\n"
        "                      input, stdin.rejects in the current directory); written only\n"
        "                      when something is rejected, replaced on every run; a CSV rejects\n"
        "                      file starts with the header, so it can be fixed and re-sent\n"
        "  --receipt FILE      write FILE:LINE<TAB>event_id (.xlsx: FILE:SHEET!ROW<TAB>id) for\n"
        "                      every published record, every input of the run in one file,\n"
        "                      in input order; written to a temporary file and renamed at\n"
        "                      the end of the run (input.receipt). It names derived ids\n"
        "                      (d-<hash>), which a correction must repeat (docs/producer.md)\n"
        "  --check             validate only: report and keep rejects, publish nothing\n"
        "  --progress          a progress line (records/s, counts) at most every second; the\n"
        "                      default when stderr is a terminal (--no-progress: never)\n"
        "  --spool DIR         run as a daemon over DIR (see below) instead of FILE arguments\n"
        "  -F FILE             read key=value settings from FILE (repeatable, in order)\n"
        "  -X key=value        set one key (ours below, or any librdkafka property, e.g.\n"
        "                      -X bootstrap.servers=host:9092)\n"
        "  -X list             print every key with its default, then exit\n"
        "  -v, -q              debug / warnings-only logging\n"
        "  -h, --help          this help\n"
        "\n"
        "Spool directory (created if missing):\n"
        "  DIR/incoming/    drop files here; write them elsewhere, or under a name that is\n"
        "                   ignored (.NAME, NAME.tmp, NAME.part), then rename them in\n"
        "  DIR/processing/  the file being published; after a crash or kill -9 it is published\n"
        "                   again from the start, with the same event ids\n"
        "  DIR/done/        every good record acknowledged by the broker; NAME.errors and\n"
        "                   NAME.rejects beside it when some records were rejected, and\n"
        "                   NAME.receipt (FILE:LINE<TAB>event_id per published record;\n"
        "                   also in failed/ when some were published; spool.receipts)\n"
        "  DIR/failed/      nothing publishable (no valid record, unusable CSV header,\n"
        "                   unreadable file, not a regular file: a symbolic link, FIFO or\n"
        "                   directory is filed here unread) or a delivery error no retry\n"
        "                   can fix; with\n"
        "                   NAME.errors (and NAME.rejects) beside it\n"
        "  A file whose deliveries fail for a passing reason (broker down) stays in\n"
        "  processing/ and is published again after a back-off (spool.retry.max.ms).\n");
    /* Two parts: C11 only promises 4095-character string literals. */
    fprintf(
        out,
        "  With -X health.listen=ADDRESS:PORT: GET /healthz (alive), /readyz (200 once the\n"
        "  spool directories and the Kafka producer are set up) and /metrics (Prometheus,\n"
        "  counters updated when each file is finished or left for a retry). Under systemd:\n"
        "  READY=1 at the same moment, WATCHDOG=1 (also while a file is published), STOPPING=1.\n"
        "  SIGTERM/SIGINT: stop reading, wait for the messages already sent, leave the current\n"
        "  file in processing/, exit 0. A second signal exits at once.\n"
        "\n"
        "Counts go to stderr last: read N, published N, rejected N, failed N (L lines:\n"
        "H header, B blank, R in records); L = H + B + R, R > N only when a quoted CSV cell\n"
        "spans lines.\n"
        "Exit status:\n"
        "  0  every record was published (acknowledged with acks=all)\n"
        "  1  some records were rejected, every other one was published\n"
        "  2  fatal: a delivery failed (e.g. broker unreachable for message.timeout.ms), an\n"
        "     input could not be read, bad usage or configuration, or interrupted by a signal;\n"
        "     publishing the same files again is safe\n"
        "  Spool mode: 0 after SIGTERM/SIGINT, 2 on a fatal error.\n");
}

struct args {
    struct producer_opts opts;
    struct op_conf *conf; /* --encoding sets input.encoding, in order with -F and -X */
    int receipt;          /* --receipt was given */
};

static int option(int argc, char **argv, int i, void *opaque)
{
    struct args *a = opaque;
    const char *o = argv[i];
    if (!strcmp(o, "--progress")) {
        a->opts.progress = 1;
        return 1;
    }
    if (!strcmp(o, "--no-progress")) {
        a->opts.progress = 0;
        return 1;
    }
    if (!strcmp(o, "--check")) {
        a->opts.check_only = 1;
        return 1;
    }
    int takes = !strcmp(o, "--format") || !strcmp(o, "--type") || !strcmp(o, "--rejects") ||
                !strcmp(o, "--spool") || !strcmp(o, "--encoding") || !strcmp(o, "--sheet") ||
                !strcmp(o, "--receipt");
    if (!takes)
        return 0;
    if (i + 1 >= argc || !argv[i + 1][0]) {
        fprintf(stderr, "outreach-producer: %s needs an argument (see --help)\n", o);
        return -1;
    }
    const char *v = argv[i + 1];
    if (!strcmp(o, "--format")) {
        a->opts.format = producer_format_from_name(v);
        if (a->opts.format == PRODUCER_FORMAT_AUTO) {
            fprintf(stderr, "outreach-producer: --format %s: expected jsonl, csv or xlsx\n", v);
            return -1;
        }
    } else if (!strcmp(o, "--type")) {
        a->opts.default_type = op_event_type_from_name(v);
        if (a->opts.default_type < 0) {
            fprintf(stderr, "outreach-producer: --type %s: expected visit, funding or survey\n", v);
            return -1;
        }
    } else if (!strcmp(o, "--encoding")) {
        char err[256];
        if (producer_encoding_from_name(v) < 0) {
            fprintf(stderr, "outreach-producer: --encoding %s: expected utf-8, gb18030 or auto\n",
                    v);
            return -1;
        }
        if (op_conf_set(a->conf, "input.encoding", v, err, sizeof err) != 0) {
            fprintf(stderr, "outreach-producer: --encoding %s: %s\n", v, err);
            return -1;
        }
    } else if (!strcmp(o, "--sheet")) {
        char err[256];
        if (op_conf_set(a->conf, "input.sheet", v, err, sizeof err) != 0) {
            fprintf(stderr, "outreach-producer: --sheet %s: %s\n", v, err);
            return -1;
        }
    } else if (!strcmp(o, "--receipt")) {
        char err[256];
        a->receipt = 1;
        if (op_conf_set(a->conf, "input.receipt", v, err, sizeof err) != 0) {
            fprintf(stderr, "outreach-producer: --receipt %s: %s\n", v, err);
            return -1;
        }
    } else if (!strcmp(o, "--rejects"))
        a->opts.rejects = v;
    else
        a->opts.spool = v;
    return 2;
}

int main(int argc, char **argv)
{
    char err[1024];
    op_log_set_prog("outreach-producer");
    struct op_conf *conf = op_conf_new_kafka(producer_conf_defs);
    if (!conf || producer_conf_defaults(conf, err, sizeof err) != 0) {
        fprintf(stderr, "outreach-producer: configuration setup failed: %s\n",
                conf ? err : "out of memory");
        op_conf_destroy(conf);
        return 2;
    }
    struct args a;
    memset(&a, 0, sizeof a);
    a.opts.default_type = -1;
    a.opts.progress = -1;
    a.conf = conf;
    int first;
    enum op_cli_result r =
        op_cli_parse(argc, argv, conf, producer_conf_defs, usage, option, &a, &first);
    if (r != OP_CLI_OK) {
        op_conf_destroy(conf);
        return r == OP_CLI_EXIT ? 0 : 2;
    }
    int nfiles = argc - first;
    if (a.opts.spool ? nfiles > 0 : nfiles == 0) {
        fprintf(stderr, "outreach-producer: %s (see --help)\n",
                a.opts.spool ? "--spool takes no FILE arguments" : "no input FILE given");
        op_conf_destroy(conf);
        return 2;
    }
    if (a.opts.spool && (a.opts.check_only || a.opts.rejects || a.receipt)) {
        fprintf(stderr, "outreach-producer: --spool does not combine with --check, --rejects or "
                        "--receipt (see --help)\n");
        op_conf_destroy(conf);
        return 2;
    }
    if (a.opts.check_only && a.receipt) {
        fprintf(stderr, "outreach-producer: --receipt lists published records and --check "
                        "publishes none (publishing again is harmless: the ids repeat)\n");
        op_conf_destroy(conf);
        return 2;
    }
    struct producer *p = producer_new(conf, &a.opts, err, sizeof err);
    if (!p) {
        fprintf(stderr, "outreach-producer: %s\n", err);
        op_conf_destroy(conf);
        return 2;
    }
    op_service_install_signals();
    int rc = a.opts.spool ? producer_spool_run(p, a.opts.spool, &op_service_run)
                          : producer_run_files(p, argv + first, nfiles, &op_service_run);
    producer_destroy(p);
    op_conf_destroy(conf);
    return rc;
}
