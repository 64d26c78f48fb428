/* outreach-codec: inspect the Avro contract and convert between JSON Lines and single-object
 * encoded messages (hex, one per line). For operators, interop tests and debugging. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avrojson.h"
#include "codec.h"

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
            if (hi < 0 || lo < 0)
                bad = 1;
            bin.data[bin.len++] = (unsigned char)(hi << 4 | (lo & 0xf));
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
    else {
        usage(stderr);
        rc = 2;
    }
    op_codec_destroy(codec);
    return rc;
}
