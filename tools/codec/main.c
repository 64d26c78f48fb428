/* outreach-codec: inspect the Avro contract, convert between JSON Lines and single-object
 * encoded messages (hex, one per line), and dump a topic. For operators, tests and debugging. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "avrojson.h"
#include "cli.h"
#include "codec.h"
#include "conf.h"
#include "config.h"
#include "kafka.h"
#include "log.h"
#include "registry.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: outreach-codec COMMAND [ARGS]\n"
            "\n"
            "Commands:\n"
            "  list               every known schema: name, fingerprint, canonical form\n"
            "  canonical FILE     Parsing Canonical Form and CRC-64-AVRO fingerprint of an\n"
            "                     .avsc file\n"
            "  encode NAME        JSON Lines on stdin (one record of schema NAME, e.g. visit.v1,\n"
            "                     per line) -> hex single-object messages on stdout\n"
            "  decode             hex single-object messages on stdin (one per line) -> JSON\n"
            "                     Lines of the newest schema of their type on stdout\n"
            "  dump [-F FILE] [-X key=value]... TOPIC\n"
            "                     every committed message of TOPIC, from the beginning to the\n"
            "                     current end, as JSON Lines {partition, offset, key, headers,\n"
            "                     hex, value}: value decoded (or an error), hex the raw bytes;\n"
            "                     -X and -F set librdkafka properties (bootstrap.servers\n"
            "                     defaults to 127.0.0.1:9092); KEY.file=PATH sets KEY to the\n"
            "                     first line of PATH (e.g. sasl.password.file);\n"
            "                     -X schema.registry.url=URL (and its auth keys, see -X list)\n"
            "                     decodes Confluent-framed (00 + schema id) messages too\n"
            "\n"
            "Errors go to stderr as 'stdin:LINE: reason'; the other lines still go through.\n"
            "Exit status: 0 all lines converted, 1 some lines failed, 2 usage or setup error.\n");
}

static int cmd_list(struct op_codec *codec)
{
    for (size_t i = 0; i < op_codec_count(codec); i++) {
        const struct op_schema *s = op_codec_at(codec, i);
        printf("%s\t%016" PRIx64 "\t%" PRId64 "\t%s\n", s->name, s->fingerprint,
               (int64_t)s->fingerprint, s->canonical);
    }
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, r;
    do {
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap + 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap += 65536;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    *len = n;
    return buf;
}

static int cmd_canonical(const char *path)
{
    size_t len;
    char *text = slurp(path, &len);
    if (!text) {
        perror(path);
        return 2;
    }
    char *pcf = NULL, err[256];
    int rc = op_codec_canonical_form(text, len, &pcf, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", path, err);
        return 2;
    }
    printf("%016" PRIx64 "\t%s\n", op_codec_crc64(pcf, strlen(pcf)), pcf);
    free(pcf);
    return 0;
}

static void strip_newline(char *line, ssize_t *n)
{
    while (*n > 0 && (line[*n - 1] == '\n' || line[*n - 1] == '\r'))
        line[--*n] = 0;
}

static int cmd_encode(struct op_codec *codec, const char *name)
{
    const struct op_schema *s = op_codec_by_name(codec, name);
    if (!s) {
        fprintf(stderr, "outreach-codec: no schema named %s (see 'outreach-codec list')\n", name);
        return 2;
    }
    avro_value_t value;
    if (avro_generic_value_new(s->iface, &value) != 0) {
        fprintf(stderr, "outreach-codec: avro-c: %s\n", avro_strerror());
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int failed = 0;
    struct op_buf out = OP_BUF_INIT;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        strip_newline(line, &n);
        if (n == 0)
            continue;
        char err[512];
        json_error_t jerr;
        json_t *j = json_loadb(line, (size_t)n, 0, &jerr);
        if (!j) {
            fprintf(stderr, "stdin:%ld: not JSON: %s\n", lineno, jerr.text);
            failed = 1;
            continue;
        }
        out.len = 0;
        if (op_avrojson_from_json(s, &value, j, err, sizeof err) != 0 ||
            op_codec_encode(s, &value, &out, err, sizeof err) != 0) {
            fprintf(stderr, "stdin:%ld: %s\n", lineno, err);
            failed = 1;
        } else {
            for (size_t i = 0; i < out.len; i++)
                printf("%02x", out.data[i]);
            putchar('\n');
        }
        json_decref(j);
    }
    free(line);
    op_buf_free(&out);
    avro_value_decref(&value);
    return failed;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int cmd_decode(struct op_codec *codec)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int failed = 0;
    struct op_buf bin = OP_BUF_INIT;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        strip_newline(line, &n);
        if (n == 0)
            continue;
        bin.len = 0;
        if (n % 2 || op_buf_reserve(&bin, (size_t)n / 2) != 0) {
            fprintf(stderr, "stdin:%ld: odd number of hex digits\n", lineno);
            failed = 1;
            continue;
        }
        int bad = 0;
        for (ssize_t i = 0; i < n; i += 2) {
            int hi = hexval((unsigned char)line[i]), lo = hexval((unsigned char)line[i + 1]);
            if (hi < 0 || lo < 0) {
                bad = 1;
                break;
            }
            bin.data[bin.len++] = (unsigned char)(hi << 4 | lo);
        }
        if (bad) {
            fprintf(stderr, "stdin:%ld: not hex\n", lineno);
            failed = 1;
            continue;
        }
        avro_value_t *v;
        char err[512];
        int rc = op_codec_decode(codec, bin.data, bin.len, &v, NULL, NULL, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "stdin:%ld: %s: %s\n", lineno, op_codec_err_name(rc), err);
            failed = 1;
            continue;
        }
        json_t *j = op_avrojson_to_json(v);
        char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (!text) {
            fprintf(stderr, "stdin:%ld: cannot render as JSON\n", lineno);
            failed = 1;
        } else
            puts(text);
        free(text);
        json_decref(j);
    }
    free(line);
    op_buf_free(&bin);
    return failed;
}

static json_t *hex_of(const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *h = malloc(2 * len + 1);
    if (!h)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        h[2 * i] = digits[((const unsigned char *)data)[i] >> 4];
        h[2 * i + 1] = digits[((const unsigned char *)data)[i] & 15];
    }
    json_t *j = json_stringn(h, 2 * len);
    free(h);
    return j;
}

/* dump's consumer, configured from its -F and -X arguments (applied in order, over fixed
 * defaults), the topic name into *topic. Returns the client, or NULL after printing why (with
 * *rc = 2) or the help (*rc = 0). */
static rd_kafka_t *dump_client(int argc, char **argv, const char **topic,
                               struct op_registry **registry, int *rc)
{
    const char *const fixed[] = {"bootstrap.servers",
                                 "127.0.0.1:9092",
                                 "group.id",
                                 "outreach-codec-dump",
                                 "enable.auto.commit",
                                 "false",
                                 "enable.partition.eof",
                                 "true",
                                 "isolation.level",
                                 "read_committed",
                                 NULL};
    char err[512];
    rd_kafka_t *rk = NULL;
    struct op_conf *conf = op_conf_new_kafka(codec_conf_defs);
    /* op_cli_parse reads argv[1..] and reorders it: a copy with our name in argv[0]. */
    char **args = malloc(((size_t)argc + 2) * sizeof *args);
    *rc = 2;
    if (!conf || !args) {
        fprintf(stderr, "outreach-codec: out of memory\n");
        goto cleanup;
    }
    if (op_conf_set_pairs(conf, fixed, err, sizeof err) != 0) {
        fprintf(stderr, "outreach-codec: %s\n", err);
        goto cleanup;
    }
    op_log_set_prog("outreach-codec");
    args[0] = "outreach-codec dump";
    memcpy(args + 1, argv, (size_t)argc * sizeof *args);
    args[argc + 1] = NULL;
    int first;
    enum op_cli_result r =
        op_cli_parse(argc + 1, args, conf, codec_conf_defs, usage, NULL, NULL, &first);
    if (r == OP_CLI_EXIT) {
        *rc = 0;
        goto cleanup;
    }
    if (r != OP_CLI_OK)
        goto cleanup;
    if (argc + 1 - first != 1) {
        usage(stderr);
        goto cleanup;
    }
    *topic = args[first]; /* a string of argv: it outlives the copy */
    if (op_registry_new_from_conf(conf, registry, err, sizeof err) != 0) {
        fprintf(stderr, "outreach-codec: %s\n", err);
        goto cleanup;
    }
    rk = op_kafka_client_new(conf, RD_KAFKA_CONSUMER, NULL, err, sizeof err);
    if (!rk)
        fprintf(stderr, "outreach-codec: %s\n", err);
cleanup:
    free(args);
    op_conf_destroy(conf);
    return rk;
}

/* Reads TOPIC from the beginning up to each partition's end (last stable offset). */
static int cmd_dump(struct op_codec *codec, int argc, char **argv)
{
    char err[512];
    const char *topic = NULL;
    int setup_rc;
    struct op_registry *registry = NULL;
    rd_kafka_t *rk = dump_client(argc, argv, &topic, &registry, &setup_rc);
    if (!rk) {
        op_registry_destroy(registry);
        return setup_rc;
    }
    op_codec_set_registry(codec, registry);
    int rc = 0;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "outreach-codec: %s: %s\n", topic,
                rd_kafka_err2str(e               ? e
                                 : md->topic_cnt ? md->topics[0].err
                                                 : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_destroy(rk);
        op_codec_set_registry(codec, NULL);
        op_registry_destroy(registry);
        return 2;
    }
    int parts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++)
        rd_kafka_topic_partition_list_add(list, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    int eofs = 0, idle = 0;
    while (eofs < parts && idle < 300) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle++;
            continue;
        }
        idle = 0;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (m->err) {
            fprintf(stderr, "outreach-codec: %s\n", rd_kafka_message_errstr(m));
            rc = 2;
            eofs = parts;
        } else {
            json_t *o = json_object();
            json_object_set_new(o, "partition", json_integer(m->partition));
            json_object_set_new(o, "offset", json_integer(m->offset));
            json_object_set_new(o, "key", m->key ? json_stringn(m->key, m->key_len) : json_null());
            json_t *hj = json_object();
            rd_kafka_headers_t *hdrs;
            if (rd_kafka_message_headers(m, &hdrs) == 0) {
                const char *name;
                const void *val;
                size_t size;
                for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == 0; i++)
                    json_object_set_new(hj, name, val ? json_stringn(val, size) : json_null());
            }
            json_object_set_new(o, "headers", hj);
            json_object_set_new(o, "hex", m->payload ? hex_of(m->payload, m->len) : json_null());
            if (m->payload) {
                avro_value_t *v;
                int drc =
                    op_codec_decode(codec, m->payload, m->len, &v, NULL, NULL, err, sizeof err);
                json_object_set_new(o, drc == 0 ? "value" : "error",
                                    drc == 0 ? op_avrojson_to_json(v) : json_string(err));
            }
            char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (text)
                puts(text);
            free(text);
            json_decref(o);
        }
        rd_kafka_message_destroy(m);
    }
    if (eofs < parts) {
        fprintf(stderr, "outreach-codec: %s: no end reached after 30 s idle\n", topic);
        rc = 2;
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    op_codec_set_registry(codec, NULL);
    op_registry_destroy(registry);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "canonical") == 0) {
        if (argc != 3) {
            usage(stderr);
            return 2;
        }
        return cmd_canonical(argv[2]);
    }
    char err[512];
    struct op_codec *codec = op_codec_new_default(err, sizeof err);
    if (!codec) {
        fprintf(stderr, "outreach-codec: %s\n", err);
        return 2;
    }
    int rc;
    if (strcmp(argv[1], "list") == 0 && argc == 2)
        rc = cmd_list(codec);
    else if (strcmp(argv[1], "encode") == 0 && argc == 3)
        rc = cmd_encode(codec, argv[2]);
    else if (strcmp(argv[1], "decode") == 0 && argc == 2)
        rc = cmd_decode(codec);
    else if (strcmp(argv[1], "dump") == 0)
        rc = cmd_dump(codec, argc - 2, argv + 2);
    else {
        usage(stderr);
        rc = 2;
    }
    op_codec_destroy(codec);
    return rc;
}
