/* Unit tests of outreach-producer's logic without a broker: timestamps, the CSV splitter and
 * the streaming reader, every validation rule with its exact message, derived event ids
 * (stable, and equal to an independent Python computation), and a --check run over a mixed
 * file with its diagnostics and rejects file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "authz.h"
#include "codec.h"
#include "conf.h"
#include "kafka.h"
#include "../../producers/input.h"
#include "../../producers/producer.h"
#include "../../producers/record.h"
#include "regions.h"

/* 2025-06-01T00:00:00Z: the clock of the conversion tests. */
#define NOW INT64_C(1748736000000)

struct fx {
    struct op_codec *codec;
    struct op_regions *regions;
    struct op_authz *authz;
    struct producer_conv conv;
    char out[PRODUCER_FIELD_MAX + PRODUCER_REASON_MAX + 4];
};

static struct fx *fx_new(int default_type)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[256] = "";
    assert_non_null(f);
    f->codec = op_codec_new_default(err, sizeof err);
    f->regions = op_regions_new_default(err, sizeof err);
    f->authz = op_authz_new();
    assert_non_null(f->codec);
    assert_non_null(f->regions);
    assert_non_null(f->authz);
    assert_int_equal(op_authz_add(f->authz, "530000-ZGH", "53", err, sizeof err), 0);
    assert_int_equal(op_authz_add(f->authz, "370212-ZGH", "370212", err, sizeof err), 0);
    assert_int_equal(op_authz_add(f->authz, "450200-ZGH", "4502", err, sizeof err), 0);
    assert_int_equal(producer_conv_init(&f->conv, f->codec, f->regions, f->authz, 600000,
                                        default_type, err, sizeof err),
                     0);
    return f;
}

static int setup(void **state)
{
    *state = fx_new(-1);
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    producer_conv_free(&f->conv);
    op_authz_destroy(f->authz);
    op_regions_destroy(f->regions);
    op_codec_destroy(f->codec);
    free(f);
    return 0;
}

/* "FIELD: reason" of a JSON line, or "OK". */
static const char *json_verdict(struct fx *f, const char *line, struct producer_rec *rec)
{
    char field[PRODUCER_FIELD_MAX] = "", reason[PRODUCER_REASON_MAX] = "";
    struct producer_rec tmp;
    if (producer_conv_json(&f->conv, line, strlen(line), NOW, rec ? rec : &tmp, field, sizeof field,
                           reason, sizeof reason) == 0)
        return "OK";
    snprintf(f->out, sizeof f->out, "%s: %s", field, reason);
    return f->out;
}

#define VISIT                                                                                        \
    "\"type\":\"visit\",\"event_id\":\"t-1\",\"occurred_at\":\"2025-01-06T10:00:00+08:00\","         \
    "\"reported_at\":\"2025-01-08T17:30:00+08:00\",\"agency_id\":\"530000-ZGH\","                    \
    "\"region\":\"530622\",\"campaign\":\"2025 两节送温暖\",\"activity\":\"CONDOLENCE_VISIT\"," \
    "\"target_groups\":[\"ON_DUTY_HOLIDAY\"],\"workers_reached\":300,\"households\":0,"              \
    "\"staff\":12"
#define FUNDING                                                                                    \
    "\"type\":\"funding\",\"event_id\":\"t-2\",\"occurred_at\":\"2025-01-06T10:00:00+08:00\","     \
    "\"reported_at\":\"2025-01-08T17:30:00+08:00\",\"agency_id\":\"530000-ZGH\","                  \
    "\"region\":\"530622\",\"amount_fen\":6000000,\"source\":\"UNION_FUNDS\","                     \
    "\"purpose\":\"CASH_GRANT\",\"recipients\":30,\"target_group\":\"HARDSHIP_WORKERS\""
#define SURVEY                                                                                     \
    "\"type\":\"survey\",\"event_id\":\"t-3\",\"occurred_at\":\"2024-11-15T14:30:00+08:00\","      \
    "\"reported_at\":\"2024-11-18T09:00:00+08:00\",\"agency_id\":\"370212-ZGH\","                  \
    "\"region\":\"370212\",\"method\":\"FORUM\",\"enterprises\":5,\"respondents\":48,"             \
    "\"topic\":\"HEALTH\",\"satisfaction\":{\"s1\":1,\"s2\":3,\"s3\":10,\"s4\":22,\"s5\":12},"     \
    "\"needs\":[{\"need\":\"MENTAL_HEALTH\",\"count\":30},{\"need\":\"REST_FACILITIES\","          \
    "\"count\":12}]"

/* A base record with its keys replaced (or removed, when patch maps them to null and
 * `remove` is set) by the members of a JSON patch object. */
static char *variant(const char *base, const char *patch, int remove)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "{%s}", base);
    json_t *b = json_loads(buf, 0, NULL), *p = json_loads(patch, 0, NULL);
    assert_non_null(b);
    assert_non_null(p);
    const char *k;
    json_t *v;
    json_object_foreach(p, k, v)
    {
        if (remove && json_is_null(v))
            json_object_del(b, k);
        else
            json_object_set(b, k, v);
    }
    char *s = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(b);
    json_decref(p);
    return s;
}

static void expect_variant(struct fx *f, const char *base, const char *patch, int remove,
                           const char *want)
{
    char *line = variant(base, patch, remove);
    const char *got = json_verdict(f, line, NULL);
    if (strcmp(got, want) != 0)
        fail_msg("%s\n  got:  %s\n  want: %s", line, got, want);
    free(line);
}

/* ---- timestamps ------------------------------------------------------------------------- */

static void test_ts_valid(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } v[] = {
        /* reference values from Python's datetime.fromisoformat */
        {"2025-01-15T10:30:00+08:00", INT64_C(1736908200000)},
        {"2025-01-15T02:30:00Z", INT64_C(1736908200000)},
        {"2025-01-15t02:30:00z", INT64_C(1736908200000)},
        {"2025-01-15 10:30:00+08:00", INT64_C(1736908200000)},
        {"2025-01-15T10:30+08:00", INT64_C(1736908200000)},
        {"2000-01-01T00:00:00+08:00", INT64_C(946656000000)},
        {"2024-02-29T23:59:59.999-05:30", INT64_C(1709270999999)},
        {"2024-02-29T23:59:59.5-05:30", INT64_C(1709270999500)},
        {"2024-02-29T23:59:59.120000000-05:30", INT64_C(1709270999120)},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59Z", INT64_C(-1000)},
        {"2000-02-29T12:00:00+00:00", INT64_C(951825600000)},
        {"2100-12-31T23:59:59+14:00", INT64_C(4133930399000)},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int64_t ms = -42;
        const char *why = NULL;
        if (producer_ts_parse(v[i].text, strlen(v[i].text), &ms, &why) != 0)
            fail_msg("%s: %s", v[i].text, why);
        if (ms != v[i].ms)
            fail_msg("%s: %lld, want %lld", v[i].text, (long long)ms, (long long)v[i].ms);
    }
}

static void test_ts_invalid(void **state)
{
    (void)state;
    static const char syntax[] = "expected YYYY-MM-DDThh:mm:ss[.sss] and Z or ±hh:mm";
    static const struct {
        const char *text, *why;
    } v[] = {
        {"2025-02-30T10:00:00+08:00", "day out of range"},
        {"2023-02-29T10:00:00+08:00", "day out of range"},
        {"1900-02-29T10:00:00+08:00", "day out of range"},
        {"2025-04-31T10:00:00+08:00", "day out of range"},
        {"2025-01-00T10:00:00+08:00", "day out of range"},
        {"2025-13-01T10:00:00+08:00", "month out of range"},
        {"2025-00-01T10:00:00+08:00", "month out of range"},
        {"2025-01-15T24:00:00+08:00", "hour out of range"},
        {"2025-01-15T10:60:00+08:00", "minute out of range"},
        {"2025-01-15T10:30:60+08:00", "second out of range"},
        {"2025-01-15T10:30:00+24:00", "UTC offset out of range"},
        {"2025-01-15T10:30:00+08:60", "UTC offset out of range"},
        {"2025-01-15T10:30:00", "no UTC offset (add Z or an offset such as +08:00)"},
        {"2025-01-15T10:30:00.1234+08:00", "more precise than a millisecond"},
        {"2025-01-15", syntax},
        {"2025-1-15T10:30:00+08:00", syntax},
        {"2025/01/15T10:30:00+08:00", syntax},
        {"2025-01-15T10:30:00+0800", syntax},
        {"2025-01-15T10:30:00+08", syntax},
        {"2025-01-15T10:30:00.+08:00", syntax},
        {"2025-01-15T10:30:00+08:00 ", syntax},
        {"2025-01-15T10:30:00 +08:00", syntax},
        {"tomorrow", syntax},
        {"", syntax},
        {"2025-01-15T10:30:00.1230000000+08:00", syntax},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int64_t ms = -42;
        const char *why = NULL;
        if (producer_ts_parse(v[i].text, strlen(v[i].text), &ms, &why) == 0)
            fail_msg("%s: accepted as %lld", v[i].text, (long long)ms);
        if (strcmp(why, v[i].why) != 0)
            fail_msg("%s: \"%s\", want \"%s\"", v[i].text, why, v[i].why);
    }
}

/* ---- CSV and input ---------------------------------------------------------------------- */

static void expect_cells(const char *text, size_t n, const char *const *want)
{
    struct producer_cells c;
    memset(&c, 0, sizeof c);
    size_t bad = 99;
    const char *why = NULL;
    if (producer_csv_split(text, strlen(text), &c, &bad, &why) != 0)
        fail_msg("%s: cell %zu: %s", text, bad, why);
    assert_int_equal(c.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c.len[i], strlen(want[i]));
        assert_string_equal(c.cell[i], want[i]);
    }
    producer_cells_free(&c);
}

static void test_csv_split(void **state)
{
    (void)state;
    expect_cells("a,b,c", 3, (const char *const[]){"a", "b", "c"});
    expect_cells("", 1, (const char *const[]){""});
    expect_cells(",", 2, (const char *const[]){"", ""});
    expect_cells("a,,", 3, (const char *const[]){"a", "", ""});
    expect_cells("\"\"", 1, (const char *const[]){""});
    expect_cells("\"a,b\",c", 2, (const char *const[]){"a,b", "c"});
    expect_cells("\"say \"\"hi\"\"\",x", 2, (const char *const[]){"say \"hi\"", "x"});
    expect_cells("\"line1\r\nline2\",\"\"\"\"", 2, (const char *const[]){"line1\r\nline2", "\""});
    expect_cells(" a , b ", 2, (const char *const[]){" a ", " b "});
    expect_cells("大米、面粉、食用油,\"仓前山社区工会驿站, 米时和元宵\"", 2,
                 (const char *const[]){"大米、面粉、食用油", "仓前山社区工会驿站, 米时和元宵"});
    expect_cells("HOUSING:3;MEDICAL:1,", 2, (const char *const[]){"HOUSING:3;MEDICAL:1", ""});
}

static void test_csv_split_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t bad;
        const char *why;
    } v[] = {
        {"a,\"b", 1, "unterminated quoted cell"},
        {"\"a\"b,c", 0, "text after the closing quote"},
        {"a,\"b\" ,c", 1, "text after the closing quote"},
        {"a,b\"c", 1,
         "quote in an unquoted cell (enclose the cell in quotes and double the quote)"},
    };
    struct producer_cells c;
    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t bad = 99;
        const char *why = NULL;
        assert_int_equal(producer_csv_split(v[i].text, strlen(v[i].text), &c, &bad, &why), -1);
        assert_int_equal(bad, v[i].bad);
        assert_string_equal(why, v[i].why);
    }
    producer_cells_free(&c);
}

static void test_utf8_check(void **state)
{
    (void)state;
    assert_true(producer_utf8_check("ascii 两节送温暖 🎉", strlen("ascii 两节送温暖 🎉")) ==
                (size_t)-1);
    assert_int_equal(producer_utf8_check("ab\xff", 3), 2);
    assert_int_equal(producer_utf8_check("\xc0\xaf", 2), 0);         /* overlong '/' */
    assert_int_equal(producer_utf8_check("x\xed\xa0\x80", 4), 1);    /* surrogate */
    assert_int_equal(producer_utf8_check("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    assert_int_equal(producer_utf8_check("\xe4\xb8", 2), 0);         /* truncated */
    assert_int_equal(producer_utf8_check("\xc4\xe3\xba\xc3", 4), 0); /* GBK 你好 */
}

/* A file with `data` in a fresh directory: /tmp/test_producer_XXXXXX/inSUFFIX. */
static char *temp_file(const char *suffix, const void *data, size_t len)
{
    char dir[] = "/tmp/test_producer_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = malloc(256);
    assert_non_null(path);
    snprintf(path, 256, "%s/in%s", dir, suffix);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    return path;
}

/* Removes a temp_file() and its directory. */
static void rm_temp(char *path)
{
    unlink(path);
    char *slash = strrchr(path, '/');
    *slash = 0;
    rmdir(path);
    free(path);
}

struct got {
    long line, lines;
    size_t len, text_len;
    int overlong;
    char text[256];
};

/* Physical lines of the last read_all(), and how many of them were blank. */
static long read_lines, read_blank;

static size_t read_all(const char *path, enum producer_format fmt, size_t max, struct got *g,
                       size_t n, enum producer_format *detected)
{
    struct producer_input in;
    char err[256];
    assert_int_equal(producer_input_open(&in, path, fmt, max, err, sizeof err), 0);
    if (detected)
        *detected = in.format;
    struct producer_raw raw;
    size_t k = 0;
    int r;
    while ((r = producer_input_next(&in, &raw)) == 1) {
        assert_true(k < n);
        g[k].line = raw.line;
        g[k].lines = raw.lines;
        g[k].len = raw.len;
        g[k].text_len = raw.text_len;
        g[k].overlong = raw.overlong;
        snprintf(g[k].text, sizeof g[k].text, "%.*s",
                 (int)(raw.text_len < 255 ? raw.text_len : 255), raw.data);
        k++;
    }
    assert_int_equal(r, 0);
    read_lines = in.lines;
    read_blank = in.blank_lines;
    producer_input_close(&in);
    return k;
}

static void test_reader_jsonl(void **state)
{
    (void)state;
    const char data[] = "\xEF\xBB\xBF{\"a\":1}\r\n\n   \r\n{\"b\":2}\n\t\n{\"c\":3}";
    char *path = temp_file(".jsonl", data, sizeof data - 1);
    struct got g[8];
    enum producer_format fmt;
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 1024, g, 8, &fmt), 3);
    assert_int_equal(fmt, PRODUCER_FORMAT_JSONL);
    assert_int_equal(g[0].line, 1);
    assert_string_equal(g[0].text, "{\"a\":1}");
    assert_int_equal(g[0].len, 9); /* CRLF kept in the original bytes, BOM not */
    assert_int_equal(g[1].line, 4);
    assert_string_equal(g[1].text, "{\"b\":2}");
    assert_int_equal(g[2].line, 6);
    assert_int_equal(g[2].len, 7); /* no terminator at the end of the file */
    assert_string_equal(g[2].text, "{\"c\":3}");
    rm_temp(path);
}

static void test_reader_csv_multiline(void **state)
{
    (void)state;
    const char data[] = "type,note\r\nvisit,\"two\r\nlines\"\r\n\r\nvisit,\"a \"\"q\"\"\"\r\n"
                        "visit,\"x\ny\nz\"\nvisit,end";
    char *path = temp_file(".data", data, sizeof data - 1);
    struct got g[8];
    enum producer_format fmt;
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 1024, g, 8, &fmt), 5);
    assert_int_equal(fmt, PRODUCER_FORMAT_CSV); /* sniffed: not '{' */
    long lines[] = {1, 2, 5, 6, 9};
    for (int i = 0; i < 5; i++)
        assert_int_equal(g[i].line, lines[i]);
    assert_string_equal(g[1].text, "visit,\"two\r\nlines\"");
    assert_string_equal(g[3].text, "visit,\"x\ny\nz\"");
    assert_string_equal(g[4].text, "visit,end");
    rm_temp(path);
}

/* Records longer than the read chunk, and longer than the limit. */
static void test_reader_long_records(void **state)
{
    (void)state;
    size_t big = 3 * PRODUCER_INPUT_CHUNK + 17;
    char *data = malloc(2 * big + 16);
    assert_non_null(data);
    size_t n = 0;
    data[n++] = '{';
    memset(data + n, 'x', big);
    n += big;
    data[n++] = '}';
    data[n++] = '\n';
    memcpy(data + n, "{\"ok\":1}\n", 9);
    n += 9;
    char *path = temp_file(".jsonl", data, n);
    struct got g[4];
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, big + 8, g, 4, NULL), 2);
    assert_int_equal(g[0].text_len, big + 2);
    assert_int_equal(g[0].overlong, 0);
    assert_string_equal(g[1].text, "{\"ok\":1}");
    assert_int_equal(g[1].line, 2);
    /* With a lower limit the first record is cut, and the next one is intact. */
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 4096, g, 4, NULL), 2);
    assert_int_equal(g[0].overlong, 1);
    assert_int_equal(g[0].len, 4096);
    assert_string_equal(g[1].text, "{\"ok\":1}");
    assert_int_equal(g[1].line, 2);
    rm_temp(path);
    free(data);
}

/* A quote that is not at the start of a cell, or text after a closing quote, spoils only its
 * own record: it ends at the physical line end, and the quoting of the next lines is intact. */
static void test_reader_csv_bad_quotes(void **state)
{
    (void)state;
    const char data[] = "type,note\n"                /* 1 */
                        "visit,a\"b\n"               /* 2: stray quote */
                        "visit,ok\n"                 /* 3 */
                        "visit,\"x\"\"y, z\r\nw\"\n" /* 4-5: legit multi-line cell */
                        "visit,\"a\"b,\"c\n"         /* 6: text after the closing quote */
                        "visit,ok2\n"                /* 7 */
                        "visit,x\"y,\"z\n"           /* 8: stray, then an opening quote */
                        "\n"                         /* 9: blank */
                        "visit,\"\",\"\"\"\"\n"      /* 10: empty and quote-only cells */
                        "visit,end";                 /* 11: no terminator */
    char *path = temp_file(".csv", data, sizeof data - 1);
    struct got g[16];
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 1024, g, 16, NULL), 9);
    static const struct {
        long line, lines;
        const char *text;
    } want[] = {
        {1, 1, "type,note"},        {2, 1, "visit,a\"b"},
        {3, 1, "visit,ok"},         {4, 2, "visit,\"x\"\"y, z\r\nw\""},
        {6, 1, "visit,\"a\"b,\"c"}, {7, 1, "visit,ok2"},
        {8, 1, "visit,x\"y,\"z"},   {10, 1, "visit,\"\",\"\"\"\""},
        {11, 1, "visit,end"},
    };
    for (size_t i = 0; i < 9; i++) {
        assert_int_equal(g[i].line, want[i].line);
        assert_int_equal(g[i].lines, want[i].lines);
        assert_string_equal(g[i].text, want[i].text);
    }
    assert_int_equal(read_lines, 11);
    assert_int_equal(read_blank, 1);
    rm_temp(path);
    /* After a BOM, a quote still opens the first cell. */
    const char bom[] = "\xEF\xBB\xBF\"ty\npe\",note\nvisit,x\n";
    path = temp_file(".csv", bom, sizeof bom - 1);
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 1024, g, 16, NULL), 2);
    assert_string_equal(g[0].text, "\"ty\npe\",note");
    assert_int_equal(g[0].lines, 2);
    assert_string_equal(g[1].text, "visit,x");
    rm_temp(path);
}

/* An over-long record whose quoted cell holds line ends, commas and doubled quotes is skipped
 * as a whole: the next record starts after the cell closes, not at the cell's next line. */
static void test_reader_csv_long_quoted_cell(void **state)
{
    (void)state;
    const char piece[] = "long, \"\"quoted\"\"\n";
    size_t reps = 3 * PRODUCER_INPUT_CHUNK / (sizeof piece - 1) + 5;
    struct op_buf b;
    memset(&b, 0, sizeof b);
    assert_int_equal(op_buf_append(&b, "type,note\nvisit,\"", 17), 0);
    for (size_t i = 0; i < reps; i++)
        assert_int_equal(op_buf_append(&b, piece, sizeof piece - 1), 0);
    assert_int_equal(op_buf_append(&b, "\"\nvisit,after\n", 14), 0);
    char *path = temp_file(".csv", b.data, b.len);
    struct got g[4];
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 4096, g, 4, NULL), 3);
    assert_int_equal(g[1].line, 2);
    assert_int_equal(g[1].overlong, 1);
    assert_int_equal(g[1].len, 4096);
    assert_int_equal(g[1].lines, (long)reps + 1);
    assert_int_equal(g[2].line, (long)reps + 3);
    assert_int_equal(g[2].overlong, 0);
    assert_string_equal(g[2].text, "visit,after");
    assert_int_equal(read_lines, (long)reps + 3);
    /* Under the limit the same cell is one record, "" at a chunk boundary included. */
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, b.len, g, 4, NULL), 3);
    assert_int_equal(g[1].overlong, 0);
    assert_int_equal(g[1].text_len, b.len - 10 - 13);
    assert_string_equal(g[2].text, "visit,after");
    rm_temp(path);
    op_buf_free(&b);
}

/* The spool opens only regular files: never through a link, never a FIFO (which would block). */
static void test_reader_regular_only(void **state)
{
    (void)state;
    char *path = temp_file(".csv", "type\nvisit\n", 11);
    char dir[256], link[300], fifo[300], want[400], err[512];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    snprintf(link, sizeof link, "%s/link.csv", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo.csv", dir);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    struct producer_input in;
    assert_int_equal(
        producer_input_open_regular(&in, path, PRODUCER_FORMAT_AUTO, 1024, err, sizeof err), 0);
    struct producer_raw raw;
    assert_int_equal(producer_input_next(&in, &raw), 1);
    producer_input_close(&in);
    static const struct {
        const char *which, *kind;
    } v[] = {{"link", "a symbolic link"}, {"fifo", "a FIFO"}, {"dir", "a directory"}};
    for (size_t i = 0; i < 3; i++) {
        const char *p = i == 0 ? link : i == 1 ? fifo : dir;
        assert_int_equal(
            producer_input_open_regular(&in, p, PRODUCER_FORMAT_AUTO, 1024, err, sizeof err), -1);
        snprintf(want, sizeof want, "%s: not a regular file (%s): not read", p, v[i].kind);
        assert_string_equal(err, want);
    }
    /* The one-shot reader still follows a link given on the command line. */
    assert_int_equal(producer_input_open(&in, link, PRODUCER_FORMAT_AUTO, 1024, err, sizeof err),
                     0);
    producer_input_close(&in);
    unlink(link);
    unlink(fifo);
    rm_temp(path);
}

static void test_reader_gzip_and_formats(void **state)
{
    (void)state;
    char *path = temp_file(".csv.gz", "", 0);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    gzputs(gz, "type,event_id\nvisit,a\nvisit,b\n");
    gzclose(gz);
    struct got g[4];
    enum producer_format fmt;
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 1024, g, 4, &fmt), 3);
    assert_int_equal(fmt, PRODUCER_FORMAT_CSV);
    assert_string_equal(g[2].text, "visit,b");
    rm_temp(path);
    assert_int_equal(producer_format_from_path("a.jsonl"), PRODUCER_FORMAT_JSONL);
    assert_int_equal(producer_format_from_path("a.json.gz"), PRODUCER_FORMAT_JSONL);
    assert_int_equal(producer_format_from_path("a.ndjson"), PRODUCER_FORMAT_JSONL);
    assert_int_equal(producer_format_from_path("dir.csv/a.CSV"), PRODUCER_FORMAT_AUTO);
    assert_int_equal(producer_format_from_path("a.csv"), PRODUCER_FORMAT_CSV);
    assert_int_equal(producer_format_from_name("csv"), PRODUCER_FORMAT_CSV);
    assert_int_equal(producer_format_from_name("xml"), PRODUCER_FORMAT_AUTO);
    struct producer_input in;
    char err[256];
    assert_int_equal(
        producer_input_open(&in, "/nonexistent/x.csv", PRODUCER_FORMAT_AUTO, 1024, err, sizeof err),
        -1);
    assert_string_equal(err, "/nonexistent/x.csv: No such file or directory");
}

/* ---- JSON records: every rule with its exact message ------------------------------------ */

static void test_json_valid_examples(void **state)
{
    struct fx *f = *state;
    struct producer_rec rec;
    assert_string_equal(json_verdict(f, "{" VISIT "}", &rec), "OK");
    assert_int_equal(rec.type, OP_EVENT_VISIT);
    assert_string_equal(rec.key, "530000");
    assert_string_equal(rec.ev.event_id, "t-1");
    assert_int_equal(rec.ev.occurred_at, INT64_C(1736128800000));
    assert_int_equal(rec.derived, 0);
    assert_string_equal(json_verdict(f, "{" FUNDING "}", &rec), "OK");
    assert_int_equal(rec.ev.amount_fen, 6000000);
    assert_string_equal(json_verdict(f, "{" SURVEY "}", &rec), "OK");
    assert_string_equal(rec.key, "370000");
    assert_int_equal(rec.ev.n_needs, 2);
    /* Integer milliseconds, and a null event_id that is derived. */
    expect_variant(f, VISIT, "{\"occurred_at\":1736128800000,\"event_id\":null}", 0, "OK");
    /* v2 fields, and an empty needs list. */
    expect_variant(f, VISIT, "{\"duration_minutes\":90,\"venue\":\"HOME\",\"note\":\"备注\"}", 0,
                   "OK");
    expect_variant(f, SURVEY, "{\"needs\":[],\"satisfaction\":{}}", 0, "OK");
}

static void test_json_syntax_messages(void **state)
{
    struct fx *f = *state;
    assert_string_equal(
        json_verdict(f, "{\"type\":\"visit\",", NULL),
        "record: invalid JSON: string or '}' expected near end of file (column 16)");
    assert_string_equal(json_verdict(f, "[1,2]", NULL),
                        "record: expected a JSON object, got an array");
    assert_string_equal(json_verdict(f, "{\"type\":\"visit\",\"type\":\"visit\"}", NULL),
                        "record: invalid JSON: duplicate object key near '\"type\"' (column 22)");
    assert_string_equal(json_verdict(f, "{\"event_id\":\"x\"}", NULL),
                        "type: missing (expected visit, funding or survey)");
    assert_string_equal(
        json_verdict(f, "{\"type\":\"meeting\"}", NULL),
        "type: unknown record type \"meeting\" (expected visit, funding or survey)");
    assert_string_equal(json_verdict(f, "{\"type\":3}", NULL),
                        "type: expected a string, got an integer");
}

static void test_json_field_messages(void **state)
{
    struct fx *f = *state;
    expect_variant(f, VISIT, "{\"staff\":null}", 1, "staff: required field missing");
    expect_variant(f, VISIT, "{\"colour\":\"red\"}", 0, "colour: unknown field");
    expect_variant(f, VISIT, "{\"amount_fen\":5}", 0, "amount_fen: unknown field");
    /* An empty key is named as "" (make fuzz found the error without a field). */
    expect_variant(f, VISIT, "{\"\":\"FORUM\"}", 0, "\"\": unknown field");
    expect_variant(f, VISIT, "{\"workers_reached\":\"300\"}", 0,
                   "workers_reached: expected an integer, got a string");
    expect_variant(f, VISIT, "{\"workers_reached\":3.5}", 0,
                   "workers_reached: expected an integer, got a number");
    expect_variant(f, VISIT, "{\"workers_reached\":3000000000}", 0,
                   "workers_reached: 3000000000 does not fit a 32-bit int");
    expect_variant(f, VISIT, "{\"activity\":\"PARTY\"}", 0,
                   "activity: unknown value \"PARTY\" (expected one of CONDOLENCE_VISIT, "
                   "HOME_VISIT, FORUM, FREE_CLINIC, HEALTH_CHECK, LEGAL_AID, JOB_FAIR, "
                   "SKILLS_TRAINING, PSYCHOLOGICAL_SERVICE, MEALS, PERFORMANCE, OTHER)");
    expect_variant(f, VISIT, "{\"target_groups\":[\"SANITATION\",\"RIDERS\"]}", 0,
                   "target_groups[1]: unknown value \"RIDERS\" (expected one of HARDSHIP_WORKERS, "
                   "MIGRANT_WORKERS, MODEL_WORKERS_CRAFTSMEN, POLICE_FIRE_BORDER, "
                   "BORDER_FRONTLINE, PUBLIC_SERVICE_FRONTLINE, PLATEAU_LAKE_FRONTLINE, "
                   "ON_DUTY_HOLIDAY, NEW_EMPLOYMENT_FORMS, SANITATION, CONSTRUCTION, "
                   "DISPATCHED_LABOR, OTHER)");
    expect_variant(f, VISIT, "{\"target_groups\":\"SANITATION\"}", 0,
                   "target_groups: expected an array, got a string");
    expect_variant(f, VISIT, "{\"campaign\":5}", 0, "campaign: expected a string, got an integer");
    expect_variant(f, SURVEY, "{\"satisfaction\":{\"s6\":1}}", 0, "satisfaction.s6: unknown field");
    expect_variant(f, SURVEY, "{\"needs\":[{\"need\":\"HOUSING\"}]}", 0,
                   "needs[0].count: required field missing");
    /* Timestamps */
    expect_variant(
        f, VISIT, "{\"occurred_at\":\"2025-02-30T10:00:00+08:00\"}", 0,
        "occurred_at: invalid timestamp \"2025-02-30T10:00:00+08:00\": day out of range");
    expect_variant(f, VISIT, "{\"reported_at\":\"2025-01-08 17:30\"}", 0,
                   "reported_at: invalid timestamp \"2025-01-08 17:30\": no UTC offset (add Z or "
                   "an offset such as +08:00)");
    expect_variant(f, VISIT, "{\"occurred_at\":true}", 0,
                   "occurred_at: expected an RFC 3339 string or integer milliseconds, got a "
                   "boolean");
    expect_variant(f, VISIT, "{\"occurred_at\":1.5e12}", 0,
                   "occurred_at: expected an RFC 3339 string or integer milliseconds, got a "
                   "number");
    expect_variant(
        f, VISIT, "{\"occurred_at\":\"2025-01-06T10:00:00+08:00 and some more text here\"}", 0,
        "occurred_at: invalid timestamp \"2025-01-06T10:00:00+08:00 and some more ...\": "
        "expected YYYY-MM-DDThh:mm:ss[.sss] and Z or ±hh:mm");
    /* Quoted input is cut at a character boundary, never inside one. */
    expect_variant(f, VISIT, "{\"occurred_at\":\"二〇二五年一月六日上午十点整北京时间\"}", 0,
                   "occurred_at: invalid timestamp \"二〇二五年一月六日上午十点...\": "
                   "expected YYYY-MM-DDThh:mm:ss[.sss] and Z or ±hh:mm");
}

/* The shared rules of common/event.c, as the producer reports them. */
static void test_validation_messages(void **state)
{
    struct fx *f = *state;
    char long_id[200], long_agency[100], long_campaign[200], patch[512];
    memset(long_id, 'i', 129);
    long_id[129] = 0;
    memset(long_agency, 'a', 65);
    long_agency[65] = 0;
    memset(long_campaign, 'c', 129);
    long_campaign[129] = 0;

    expect_variant(f, VISIT, "{\"event_id\":\"\"}", 0, "event_id: must not be empty");
    snprintf(patch, sizeof patch, "{\"event_id\":\"%s\"}", long_id);
    expect_variant(f, VISIT, patch, 0, "event_id: 129 bytes, at most 128");
    expect_variant(f, VISIT, "{\"event_id\":\"a\\tb\"}", 0,
                   "event_id: contains a control character");
    expect_variant(f, VISIT, "{\"agency_id\":\"\"}", 0, "agency_id: must not be empty");
    snprintf(patch, sizeof patch, "{\"agency_id\":\"%s\"}", long_agency);
    expect_variant(f, VISIT, patch, 0, "agency_id: 65 bytes, at most 64");
    snprintf(patch, sizeof patch, "{\"campaign\":\"%s\"}", long_campaign);
    expect_variant(f, VISIT, patch, 0, "campaign: 129 bytes, at most 128");
    expect_variant(f, VISIT, "{\"campaign\":\"a\\u0001\"}", 0,
                   "campaign: contains a control character");
    /* note (v2): free text with line breaks and tabs, but no other control character. */
    expect_variant(f, VISIT, "{\"note\":\"a\\u0007b\"}", 0,
                   "note: contains a control character (only tab and line breaks are allowed)");
    expect_variant(f, VISIT, "{\"note\":\"\\u001b[31mred\"}", 0,
                   "note: contains a control character (only tab and line breaks are allowed)");
    expect_variant(f, VISIT, "{\"note\":\"two\\r\\nlines\\tand a tab\"}", 0, "OK");
    expect_variant(f, VISIT, "{\"note\":\"仓前山社区工会驿站 米时和元宵\"}", 0, "OK");

    expect_variant(f, VISIT, "{\"occurred_at\":\"1999-12-31T23:59:59+08:00\"}", 0,
                   "occurred_at: before 2000-01-01");
    expect_variant(f, VISIT,
                   "{\"occurred_at\":\"2025-06-01T00:11:00Z\",\"reported_at\":"
                   "\"2025-06-01T00:12:00Z\"}",
                   0, "occurred_at: 660 s in the future (allowed skew 600 s)");
    expect_variant(f, VISIT,
                   "{\"occurred_at\":\"2025-06-01T00:10:00Z\",\"reported_at\":"
                   "\"2025-06-01T00:10:00Z\"}",
                   0, "OK"); /* exactly at the skew: still fine */
    expect_variant(f, VISIT, "{\"reported_at\":\"2026-01-01T00:00:00Z\"}", 0,
                   "reported_at: 18489600 s in the future (allowed skew 600 s)");
    expect_variant(f, VISIT, "{\"reported_at\":\"2025-01-06T09:59:59+08:00\"}", 0,
                   "reported_at: before occurred_at");

    expect_variant(f, VISIT, "{\"region\":\"539999\"}", 0,
                   "region: unknown region code \"539999\"");
    expect_variant(f, VISIT, "{\"region\":\"53\"}", 0, "region: unknown region code \"53\"");
    expect_variant(f, VISIT, "{\"region\":\"650102\"}", 0,
                   "region: agency 530000-ZGH is not authorised for region 650102");
    expect_variant(f, VISIT, "{\"agency_id\":\"999999-ZGH\"}", 0,
                   "region: agency 999999-ZGH is not authorised for region 530622");
    expect_variant(f, SURVEY, "{\"region\":\"370200\"}", 0,
                   "region: agency 370212-ZGH is not authorised for region 370200");

    expect_variant(f, VISIT, "{\"workers_reached\":-1}", 0, "workers_reached: -1 is negative");
    expect_variant(f, VISIT, "{\"workers_reached\":10000001}", 0,
                   "workers_reached: 10000001 exceeds the limit of 10000000");
    expect_variant(f, VISIT, "{\"workers_reached\":10000000}", 0, "OK");
    expect_variant(f, VISIT, "{\"households\":-2}", 0, "households: -2 is negative");
    expect_variant(f, VISIT, "{\"staff\":20000000}", 0,
                   "staff: 20000000 exceeds the limit of 10000000");
    expect_variant(f, VISIT, "{\"target_groups\":[\"SANITATION\",\"OTHER\",\"SANITATION\"]}", 0,
                   "target_groups: entry 2 repeats entry 0");
    expect_variant(f, VISIT, "{\"target_groups\":[]}", 0,
                   "target_groups: at least one group is required");
    expect_variant(f, VISIT,
                   "{\"target_groups\":[\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\","
                   "\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\","
                   "\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\"]}",
                   0, "target_groups: 17 groups, at most 16");

    expect_variant(f, FUNDING, "{\"amount_fen\":-100}", 0, "amount_fen: -100 is negative");
    expect_variant(f, FUNDING, "{\"amount_fen\":100000000001}", 0,
                   "amount_fen: 100000000001 exceeds the limit of 100000000000");
    expect_variant(f, FUNDING, "{\"recipients\":-1}", 0, "recipients: -1 is negative");

    expect_variant(f, SURVEY, "{\"enterprises\":-1}", 0, "enterprises: -1 is negative");
    expect_variant(f, SURVEY, "{\"respondents\":10000001}", 0,
                   "respondents: 10000001 exceeds the limit of 10000000");
    expect_variant(f, SURVEY, "{\"satisfaction\":{\"s3\":-4}}", 0,
                   "satisfaction.s3: -4 is negative");
    expect_variant(f, SURVEY, "{\"satisfaction\":{\"s1\":40,\"s5\":9}}", 0,
                   "satisfaction: s1+s2+s3+s4+s5 = 49 exceeds respondents (48)");
    expect_variant(f, SURVEY, "{\"needs\":[{\"need\":\"HOUSING\",\"count\":-3}]}", 0,
                   "needs[0].count: -3 is negative");
    expect_variant(f, SURVEY,
                   "{\"needs\":[{\"need\":\"HOUSING\",\"count\":3},{\"need\":\"MEDICAL\","
                   "\"count\":1},{\"need\":\"HOUSING\",\"count\":2}]}",
                   0, "needs[2].need: repeats needs[0]");
}

/* ---- CSV records ------------------------------------------------------------------------ */

#define CSV_HEADER                                                                                 \
    "type,event_id,occurred_at,reported_at,agency_id,region,campaign,activity,target_groups,"      \
    "workers_reached,households,staff,amount_fen,source,purpose,recipients,target_group,method,"   \
    "enterprises,respondents,topic,s1,s2,s3,s4,s5,needs"

struct csvfx {
    struct producer_cells cells;
    struct producer_csv_header hdr;
};

static const char *csv_verdict(struct fx *f, const char *header, const char *row,
                               struct producer_rec *rec)
{
    struct csvfx c;
    memset(&c, 0, sizeof c);
    char field[PRODUCER_FIELD_MAX] = "", reason[PRODUCER_REASON_MAX] = "";
    size_t bad;
    const char *why;
    assert_int_equal(producer_csv_split(header, strlen(header), &c.cells, &bad, &why), 0);
    int rc = producer_csv_header_init(&c.hdr, &f->conv, c.cells.cell, c.cells.len, c.cells.n, field,
                                      sizeof field, reason, sizeof reason);
    if (rc == 0) {
        assert_int_equal(producer_csv_split(row, strlen(row), &c.cells, &bad, &why), 0);
        struct producer_rec tmp;
        rc = producer_conv_csv(&f->conv, &c.hdr, c.cells.cell, c.cells.len, c.cells.n, NOW,
                               rec ? rec : &tmp, field, sizeof field, reason, sizeof reason);
        producer_csv_header_free(&c.hdr);
    }
    producer_cells_free(&c.cells);
    if (rc == 0)
        return "OK";
    snprintf(f->out, sizeof f->out, "%s: %s", field, reason);
    return f->out;
}

#define CSV_VISIT                                                                                  \
    "visit,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,"             \
    "2025 两节送温暖,CONDOLENCE_VISIT,ON_DUTY_HOLIDAY,300,0,12,,,,,,,,,,,,,,,"
#define CSV_SURVEY                                                                                 \
    "survey,t-3,2024-11-15T14:30:00+08:00,2024-11-18T09:00:00+08:00,370212-ZGH,370212,,,,,,,,,,"   \
    ",,FORUM,5,48,HEALTH,1,3,10,22,12,MENTAL_HEALTH:30;REST_FACILITIES:12"

static void test_csv_records(void **state)
{
    struct fx *f = *state;
    struct producer_rec rec;
    assert_string_equal(csv_verdict(f, CSV_HEADER, CSV_VISIT, &rec), "OK");
    assert_string_equal(rec.ev.event_id, "t-1");
    assert_string_equal(rec.ev.campaign, "2025 两节送温暖");
    assert_int_equal(rec.ev.workers_reached, 300);
    assert_string_equal(csv_verdict(f, CSV_HEADER, CSV_SURVEY, &rec), "OK");
    assert_int_equal(rec.ev.satisfaction[3], 22);
    assert_int_equal(rec.ev.n_needs, 2);
    assert_int_equal(rec.ev.needs[1].count, 12);
    assert_null(rec.ev.campaign);
    /* Survey without satisfaction answers and needs; trailing ';' and spaces in lists. */
    assert_string_equal(csv_verdict(f, CSV_HEADER,
                                    "survey,t-4,2024-11-15T14:30:00+08:00,2024-11-18T09:00:00Z,"
                                    "370212-ZGH,370212,,,,,,,,,,,,QUESTIONNAIRE,0,300,SATISFACTION"
                                    ",,,,,,",
                                    &rec),
                        "OK");
    assert_int_equal(rec.ev.n_needs, 0);
    assert_int_equal(rec.ev.satisfaction[0], 0);
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "visit,,1736128800000,2025-01-08T17:30:00+08:00,530000-ZGH,530622,,HOME_VISIT,"
                    " SANITATION ; OTHER;,2,2,6,,,,,,,,,,,,,,,",
                    &rec),
        "OK");
    assert_int_equal(rec.derived, 1);
    assert_int_equal(rec.ev.n_groups, 2);
    /* Columns in another order, v2 columns, no columns of other types. */
    assert_string_equal(csv_verdict(f,
                                    "region,type,agency_id,occurred_at,reported_at,activity,"
                                    "target_groups,workers_reached,households,staff,venue,note",
                                    "530622,visit,530000-ZGH,2025-01-06T10:00:00+08:00,"
                                    "2025-01-06T12:00:00+08:00,MEALS,NEW_EMPLOYMENT_FORMS,32,0,5,"
                                    "UNION_STATION,\"米时, 元宵\"",
                                    &rec),
                        "OK");
    assert_int_equal(rec.derived, 1);
}

static void test_csv_messages(void **state)
{
    struct fx *f = *state;
    assert_string_equal(csv_verdict(f, CSV_HEADER ",colour", CSV_VISIT, NULL),
                        "header: unknown column \"colour\"");
    assert_string_equal(csv_verdict(f, "type,region,type", CSV_VISIT, NULL),
                        "header: column \"type\" appears twice");
    assert_string_equal(csv_verdict(f, "type,,region", CSV_VISIT, NULL),
                        "header: column 2 has no name");
    assert_string_equal(csv_verdict(f, "event_id,region", CSV_VISIT, NULL),
                        "header: no \"type\" column (add one, or give --type)");
    assert_string_equal(csv_verdict(f, CSV_HEADER, "visit,t-1", NULL),
                        "record: 2 cells, the header has 27");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "VISIT,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,",
                    NULL),
        "type: unknown record type \"VISIT\" (expected visit, funding or survey)");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    ",t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,",
                    NULL),
        "type: missing (expected visit, funding or survey)");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "visit,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3,0,1,500,,,,,,,,,,,,,,",
                    NULL),
        "amount_fen: not a field of visit (leave the cell empty)");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "visit,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3a,0,1,,,,,,,,,,,,,,,",
                    NULL),
        "workers_reached: \"3a\" is not an integer");
    assert_string_equal(csv_verdict(f, CSV_HEADER,
                                    "visit,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,,0,1,,,,,,,,,,,,,,,",
                                    NULL),
                        "workers_reached: required field missing");
    assert_string_equal(csv_verdict(f, CSV_HEADER,
                                    "visit,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                                    ",530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,",
                                    NULL),
                        "agency_id: required field missing");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "visit,t-1,2025-02-30 10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,",
                    NULL),
        "occurred_at: invalid timestamp \"2025-02-30 10:00:00+08:00\": day out of "
        "range");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "visit,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER;X,3,0,1,,,,,,,,,,,,,,,",
                    NULL),
        "target_groups[1]: unknown value \"X\" (expected one of HARDSHIP_WORKERS, "
        "MIGRANT_WORKERS, MODEL_WORKERS_CRAFTSMEN, POLICE_FIRE_BORDER, "
        "BORDER_FRONTLINE, PUBLIC_SERVICE_FRONTLINE, PLATEAU_LAKE_FRONTLINE, "
        "ON_DUTY_HOLIDAY, NEW_EMPLOYMENT_FORMS, SANITATION, CONSTRUCTION, "
        "DISPATCHED_LABOR, OTHER)");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "survey,t-3,2024-11-15T14:30:00+08:00,2024-11-18T09:00:00+08:00,370212-ZGH,"
                    "370212,,,,,,,,,,,,FORUM,5,48,HEALTH,1,3,10,22,12,MENTAL_HEALTH:30;HOUSING",
                    NULL),
        "needs[1]: \"HOUSING\" is not need:count");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "survey,t-3,2024-11-15T14:30:00+08:00,2024-11-18T09:00:00+08:00,370212-ZGH,"
                    "370212,,,,,,,,,,,,FORUM,5,48,HEALTH,1,3,10,22,12,MENTAL_HEALTH:many",
                    NULL),
        "needs[0].count: \"many\" is not an integer");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "survey,t-3,2024-11-15T14:30:00+08:00,2024-11-18T09:00:00+08:00,370212-ZGH,"
                    "370212,,,,,,,,,,,,FORUM,5,48,HEALTH,1,x,10,22,12,",
                    NULL),
        "satisfaction.s2: \"x\" is not an integer");
}

static void test_csv_default_type(void **state)
{
    (void)state;
    struct fx *f = fx_new(OP_EVENT_FUNDING);
    struct producer_rec rec;
    assert_string_equal(csv_verdict(f,
                                    "event_id,occurred_at,reported_at,agency_id,region,amount_fen,"
                                    "source,purpose,recipients,target_group",
                                    "f-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                                    "530000-ZGH,530622,100,GOVERNMENT,GOODS,1,SANITATION",
                                    &rec),
                        "OK");
    assert_int_equal(rec.type, OP_EVENT_FUNDING);
    void *st = f;
    teardown(&st);
}

/* ---- derived ids ------------------------------------------------------------------------ */

static const char *id_of(struct fx *f, const char *line, char *buf)
{
    struct producer_rec rec;
    const char *v = json_verdict(f, line, &rec);
    if (strcmp(v, "OK") != 0)
        fail_msg("%s: %s", line, v);
    assert_int_equal(rec.derived, 1);
    strcpy(buf, rec.id);
    return buf;
}

#define NOID_VISIT                                                                                 \
    "{\"type\":\"visit\",\"occurred_at\":\"2024-12-23T10:00:00+08:00\",\"reported_at\":"           \
    "\"2024-12-27T09:00:00+08:00\",\"agency_id\":\"530000-ZGH\",\"region\":\"530100\","            \
    "\"campaign\":\"2025 两节送温暖\",\"activity\":\"FREE_CLINIC\",\"target_groups\":["       \
    "\"PUBLIC_SERVICE_FRONTLINE\",\"OTHER\"],\"workers_reached\":150,\"households\":0,"            \
    "\"staff\":6}"

static void test_id_stability(void **state)
{
    struct fx *f = *state;
    char a[PRODUCER_ID_SIZE], b[PRODUCER_ID_SIZE];
    id_of(f, NOID_VISIT, a);
    assert_int_equal(strlen(a), 34);
    assert_memory_equal(a, "d-", 2);
    /* Key order, export time, the same instant in another offset, set order of the groups,
     * v2 fields written out with their defaults: the same event, the same id. */
    static const char *const same[] = {
        "{\"staff\":6,\"households\":0,\"workers_reached\":150,\"target_groups\":[\"OTHER\","
        "\"PUBLIC_SERVICE_FRONTLINE\"],\"activity\":\"FREE_CLINIC\",\"campaign\":\"2025 "
        "两节送温暖\",\"region\":\"530100\",\"agency_id\":\"530000-ZGH\",\"reported_at\":"
        "\"2025-03-01T00:00:00Z\",\"occurred_at\":\"2024-12-23T02:00:00Z\",\"type\":\"visit\"}",
        "{\"type\":\"visit\",\"occurred_at\":1734919200000,\"reported_at\":1734919200000,"
        "\"agency_id\":\"530000-ZGH\",\"region\":\"530100\",\"campaign\":\"2025 两节送温暖\","
        "\"activity\":\"FREE_CLINIC\",\"target_groups\":[\"PUBLIC_SERVICE_FRONTLINE\",\"OTHER\"],"
        "\"workers_reached\":150,\"households\":0,\"staff\":6,\"duration_minutes\":0,\"venue\":"
        "\"UNSPECIFIED\",\"note\":null,\"event_id\":null}",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        assert_string_equal(id_of(f, same[i], b), a);
    /* Any other field changes the id. */
    static const char *const other[] = {
        "{\"workers_reached\":151}",
        "{\"occurred_at\":\"2024-12-23T10:00:01+08:00\"}",
        "{\"campaign\":null}",
        "{\"region\":\"530102\"}",
        "{\"agency_id\":\"530100-ZGH\"}",
        "{\"note\":\"上午场\"}",
        "{\"venue\":\"ONLINE\"}",
        "{\"target_groups\":[\"OTHER\"]}",
    };
    struct fx *open = fx_new(-1);
    op_authz_set_default_allow(open->authz, 1);
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        char base[1024];
        snprintf(base, sizeof base, "%.*s", (int)strlen(NOID_VISIT) - 2, NOID_VISIT + 1);
        char *line = variant(base, other[i], 0);
        id_of(open, line, b);
        if (strcmp(a, b) == 0)
            fail_msg("%s: same id %s", other[i], a);
        free(line);
    }
    void *st = open;
    teardown(&st);
    /* The same row as CSV gets the same id as JSON. */
    struct producer_rec rec;
    assert_string_equal(csv_verdict(f, CSV_HEADER,
                                    "visit,,2024-12-23T10:00:00+08:00,2024-12-27T09:00:00+08:00,"
                                    "530000-ZGH,530100,2025 两节送温暖,FREE_CLINIC,"
                                    "OTHER;PUBLIC_SERVICE_FRONTLINE,150,0,6,,,,,,,,,,,,,,,",
                                    &rec),
                        "OK");
    assert_string_equal(rec.id, a);
    /* The published value carries the id. */
    assert_string_equal(rec.ev.event_id, a);
}

#define GOLDEN_VISIT "d-1f1788ab0f37724803de9897c82c263b"
#define GOLDEN_SURVEY "d-7553ffdc1d20753ab7c3d0e0d90f1b1b"
#define GOLDEN_FUNDING "d-2d599ed8e02cfe44c83a7361e9ee71c1"
#define GOLDEN_SURVEY_EMPTY "d-d2e84be26c1539b4d4ed88ae81fbf1c0"

/* Ids computed by tests/integration/producer_check.py (an independent implementation of the
 * algorithm in docs/producer.md); a change here means every derived id changes. */
static void test_id_golden(void **state)
{
    struct fx *f = *state;
    char b[PRODUCER_ID_SIZE];
    assert_string_equal(id_of(f, NOID_VISIT, b), GOLDEN_VISIT);
    assert_string_equal(
        id_of(f,
              "{\"type\":\"survey\",\"occurred_at\":\"2024-05-20T09:00:00+08:00\","
              "\"reported_at\":\"2024-06-03T10:00:00+08:00\",\"agency_id\":"
              "\"450200-ZGH\",\"region\":\"450200\",\"method\":\"MIXED\","
              "\"enterprises\":12,\"respondents\":360,\"topic\":\"WAGES\","
              "\"satisfaction\":{\"s1\":0,\"s2\":0,\"s3\":0,\"s4\":0,\"s5\":0},"
              "\"needs\":[{\"need\":\"PAY_RAISE\",\"count\":210},{\"need\":"
              "\"SKILLS_TRAINING\",\"count\":95},{\"need\":\"OTHER\",\"count\":20}]}",
              b),
        GOLDEN_SURVEY);
    assert_string_equal(
        id_of(f,
              "{\"type\":\"funding\",\"occurred_at\":\"2024-12-22T10:00:00+08:00\","
              "\"reported_at\":\"2024-12-23T18:00:00+08:00\",\"agency_id\":"
              "\"530000-ZGH\",\"region\":\"530622\",\"campaign\":\"2025 两节送温暖\","
              "\"amount_fen\":42000000,\"source\":\"UNION_FUNDS\",\"purpose\":"
              "\"GOODS\",\"recipients\":2100,\"target_group\":\"SANITATION\","
              "\"disbursement\":\"IN_KIND\",\"note\":\"大米、面粉、食用油 \\\"a\\\\b\\\"\\n\"}",
              b),
        GOLDEN_FUNDING);
    /* An empty array (no needs reported). */
    assert_string_equal(
        id_of(f,
              "{\"type\":\"survey\",\"occurred_at\":\"2024-12-21T15:00:00+08:00\","
              "\"reported_at\":\"2024-12-23T09:00:00+08:00\",\"agency_id\":"
              "\"370212-ZGH\",\"region\":\"370212\",\"campaign\":\"2025 两节送温暖\","
              "\"method\":\"QUESTIONNAIRE\",\"enterprises\":0,\"respondents\":300,"
              "\"topic\":\"SATISFACTION\",\"satisfaction\":{\"s1\":2,\"s2\":8,"
              "\"s3\":40,\"s4\":130,\"s5\":120},\"needs\":[]}",
              b),
        GOLDEN_SURVEY_EMPTY);
}

/* The canonical text itself, for docs/producer.md. */
static void test_canonical_text(void **state)
{
    struct fx *f = *state;
    struct producer_rec rec;
    char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX];
    /* The generic path: the fast one has no Avro value to walk. */
    assert_int_equal(producer_conv_json_generic(&f->conv, NOID_VISIT, strlen(NOID_VISIT), NOW, &rec,
                                                field, sizeof field, reason, sizeof reason),
                     0);
    struct op_buf b = OP_BUF_INIT;
    assert_int_equal(producer_canonical(rec.schema, rec.value, NULL, &b), 0);
    assert_int_equal(op_buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
                        "{\"activity\":\"FREE_CLINIC\",\"agency_id\":\"530000-ZGH\",\"campaign\":"
                        "\"2025 两节送温暖\",\"households\":0,\"occurred_at\":1734919200000,"
                        "\"region\":\"530100\",\"staff\":6,\"target_groups\":[\"OTHER\","
                        "\"PUBLIC_SERVICE_FRONTLINE\"],\"workers_reached\":150}");
    op_buf_free(&b);
}

/* ---- a whole file, --check ------------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, fp);
    buf[n] = 0;
    fclose(fp);
    return buf;
}

/* A --check producer; max_record: input.max.record.bytes, or NULL for the default. */
static struct producer *check_producer(struct op_conf **confp, const char *max_record)
{
    char err[512];
    struct op_conf *conf = op_conf_new_kafka(producer_conf_defs);
    assert_non_null(conf);
    assert_int_equal(producer_conf_defaults(conf, err, sizeof err), 0);
    if (max_record)
        assert_int_equal(op_conf_set(conf, "input.max.record.bytes", max_record, err, sizeof err),
                         0);
    assert_int_equal(op_conf_set(conf, "agency.530000-ZGH.regions", "53", err, sizeof err), 0);
    assert_int_equal(op_conf_set(conf, "agency.370212-ZGH.regions", "370212", err, sizeof err), 0);
    struct producer_opts opts = {PRODUCER_FORMAT_AUTO, -1, NULL, NULL, 0, 1};
    struct producer *p = producer_new(conf, &opts, err, sizeof err);
    if (!p)
        fail_msg("%s", err);
    *confp = conf;
    return p;
}

static void test_check_run_csv(void **state)
{
    (void)state;
    const char data[] =
        "\xEF\xBB\xBF" CSV_HEADER "\r\n" CSV_VISIT "\r\n"
        "visit,t-2,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,999999,,"
        "CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,\r\n"
        "\r\n" CSV_SURVEY "\r\n"
        "visit,\"t-3\r\nwith a line break\",2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
        "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,\r\n"
        "visit,t-4,\"bad\"x,,,,,,,,,,,,,,,,,,,,,,,,\r\n"
        "visit,t-5\xff,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,,"
        "CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,\r\n";
    char *in = temp_file(".csv", data, sizeof data - 1);
    char errors[300], rejects[300];
    snprintf(errors, sizeof errors, "%s.errors", in);
    snprintf(rejects, sizeof rejects, "%s.rejects", in);
    struct op_conf *conf;
    struct producer *p = check_producer(&conf, NULL);
    struct producer_sink sink = {rejects, errors, 0};
    struct producer_file f;
    volatile sig_atomic_t run = 1;
    producer_publish(p, in, "in.csv", &sink, &f, &run);
    assert_int_equal(f.n.read, 6);
    assert_int_equal(f.n.published, 2);
    assert_int_equal(f.n.rejected, 4);
    assert_int_equal(f.n.failed, 0);
    char *e = slurp(errors), *r = slurp(rejects);
    assert_non_null(e);
    assert_non_null(r);
    assert_string_equal(e, "in.csv:3: region: unknown region code \"999999\"\n"
                           "in.csv:6: event_id: contains a control character\n"
                           "in.csv:8: occurred_at: text after the closing quote\n"
                           "in.csv:9: record: invalid UTF-8 at byte 10 (read as UTF-8; for GBK "
                           "or GB18030 give --encoding gb18030)\n");
    /* The header first (without the BOM), then each rejected record as it was. */
    const char *want_r = CSV_HEADER
        "\r\n"
        "visit,t-2,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,999999,,"
        "CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,\r\n"
        "visit,\"t-3\r\nwith a line break\",2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
        "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,\r\n"
        "visit,t-4,\"bad\"x,,,,,,,,,,,,,,,,,,,,,,,,\r\n"
        "visit,t-5\xff,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,,"
        "CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,\r\n";
    assert_string_equal(r, want_r);
    free(e);
    free(r);
    unlink(errors);
    unlink(rejects);
    rm_temp(in);
    producer_destroy(p);
    op_conf_destroy(conf);
}

#define NOTE_ROW(id, agency, note)                                                                 \
    "visit," id ",2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00," agency                     \
    ",530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,," note "\r\n"

/* Issue #10: a bad cell costs its own record and nothing after it, and the counts account for
 * every physical line. */
static void test_check_run_csv_bad_cells(void **state)
{
    (void)state;
    struct op_buf b;
    memset(&b, 0, sizeof b);
    const char *head = CSV_HEADER ",note\r\n"                                         /* 1 */
        NOTE_ROW("t-1", "530000-ZGHx\"y", "")                                         /* 2 */
        NOTE_ROW("t-2", "530000-ZGH", "plain")                                        /* 3 */
        NOTE_ROW("t-3", "530000-ZGH", "\"two \"\"lines\"\", one\r\nbreak\r\nthree\"") /* 4-6 */
        NOTE_ROW("t-4", "530000-ZGH", "\"a\"b")                                       /* 7 */
        "\r\n"                                                                        /* 8 */
        NOTE_ROW("t-5", "530000-ZGH", "\"");                                          /* 9-210 */
    assert_int_equal(op_buf_append(&b, head, strlen(head)), 0);
    for (int i = 0; i < 200; i++)
        assert_int_equal(op_buf_append(&b, "x, \"\"y\"\"\r\n", 10), 0);
    const char *tail = "\"\r\n" NOTE_ROW("t-6", "530000-ZGH", "") /* 211 */
        NOTE_ROW("t-7", "530000-ZGH", "x\"y");                    /* 212 */
    assert_int_equal(op_buf_append(&b, tail, strlen(tail)), 0);
    char *in = temp_file(".csv", b.data, b.len);
    char errors[300], rejects[300];
    snprintf(errors, sizeof errors, "%s.errors", in);
    snprintf(rejects, sizeof rejects, "%s.rejects", in);
    struct op_conf *conf;
    struct producer *p = check_producer(&conf, "1024");
    struct producer_sink sink = {rejects, errors, 0};
    struct producer_file f;
    volatile sig_atomic_t run = 1;
    producer_publish(p, in, "b.csv", &sink, &f, &run);
    assert_int_equal(f.n.read, 7);
    assert_int_equal(f.n.published, 3);
    assert_int_equal(f.n.rejected, 4);
    assert_int_equal(f.n.lines, 212);
    assert_int_equal(f.n.header, 1);
    assert_int_equal(f.n.blank, 1);
    assert_int_equal(f.n.record_lines, 210);
    char *e = slurp(errors), *r = slurp(rejects);
    assert_non_null(e);
    assert_non_null(r);
    assert_string_equal(
        e, "b.csv:2: agency_id: quote in an unquoted cell (enclose the cell in quotes and double "
           "the quote)\n"
           "b.csv:7: note: text after the closing quote\n"
           "b.csv:9: record: longer than 1024 bytes (input.max.record.bytes); the rejects file "
           "has only its beginning\n"
           "b.csv:212: note: quote in an unquoted cell (enclose the cell in quotes and double "
           "the quote)\n");
    /* Rejected records as they were: the bad line alone, never the rows after it. */
    assert_non_null(
        strstr(r, NOTE_ROW("t-1", "530000-ZGHx\"y", "") NOTE_ROW("t-4", "530000-ZGH", "\"a\"b")));
    assert_null(strstr(r, "t-2"));
    assert_null(strstr(r, "t-3"));
    assert_null(strstr(r, "t-6"));
    char line[200];
    FILE *out = fmemopen(line, sizeof line, "w");
    assert_non_null(out);
    producer_print_counts(out, "b.csv: ", &f.n, 1);
    fclose(out);
    assert_string_equal(line, "b.csv: read 7, valid 3, rejected 4, failed 0 (212 lines: 1 header, "
                              "1 blank, 210 in records)\n");
    free(e);
    free(r);
    unlink(errors);
    unlink(rejects);
    rm_temp(in);
    producer_destroy(p);
    op_conf_destroy(conf);
    op_buf_free(&b);
}

static void test_check_run_bad_header_and_jsonl(void **state)
{
    (void)state;
    const char csv[] = "type,region,colour\nvisit,530622,red\n\nvisit,530622,blue";
    const char csv_kept[] = "type,region,colour\nvisit,530622,red\nvisit,530622,blue\n";
    char *in = temp_file(".csv", csv, sizeof csv - 1);
    char errors[300], rejects[300];
    snprintf(errors, sizeof errors, "%s.errors", in);
    snprintf(rejects, sizeof rejects, "%s.rejects", in);
    struct op_conf *conf;
    struct producer *p = check_producer(&conf, NULL);
    struct producer_sink sink = {rejects, errors, 0};
    struct producer_file f;
    volatile sig_atomic_t run = 1;
    producer_publish(p, in, "h.csv", &sink, &f, &run);
    assert_int_equal(f.header_error, 1);
    assert_int_equal(f.n.read, 2);
    assert_int_equal(f.n.rejected, 2);
    char *e = slurp(errors), *r = slurp(rejects);
    assert_string_equal(e, "h.csv:1: header: unknown column \"colour\"\n");
    assert_string_equal(r, csv_kept); /* blank lines are not records */
    free(e);
    free(r);
    unlink(errors);
    unlink(rejects);
    rm_temp(in);

    const char jsonl[] = "{" VISIT "}\n"
                         "{\"type\":\"visit\"\n"
                         "\n"
                         "{" FUNDING ",\"amount_fen\":-1}\n"
                         "{" SURVEY "}";
    in = temp_file(".jsonl", jsonl, sizeof jsonl - 1);
    snprintf(errors, sizeof errors, "%s.errors", in);
    snprintf(rejects, sizeof rejects, "%s.rejects", in);
    producer_publish(p, in, "j.jsonl", &sink, &f, &run);
    assert_int_equal(f.n.read, 4);
    assert_int_equal(f.n.published, 2);
    assert_int_equal(f.n.rejected, 2);
    e = slurp(errors);
    r = slurp(rejects);
    assert_string_equal(e, "j.jsonl:2: record: invalid JSON: '}' expected near end of file "
                           "(column 15)\n"
                           "j.jsonl:4: record: invalid JSON: duplicate object key near "
                           "'\"amount_fen\"' (column 291)\n");
    assert_string_equal(r, "{\"type\":\"visit\"\n{" FUNDING ",\"amount_fen\":-1}\n");
    free(e);
    free(r);
    unlink(errors);
    unlink(rejects);
    rm_temp(in);
    producer_destroy(p);
    op_conf_destroy(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts_valid),
        cmocka_unit_test(test_ts_invalid),
        cmocka_unit_test(test_csv_split),
        cmocka_unit_test(test_csv_split_errors),
        cmocka_unit_test(test_utf8_check),
        cmocka_unit_test(test_reader_jsonl),
        cmocka_unit_test(test_reader_csv_multiline),
        cmocka_unit_test(test_reader_long_records),
        cmocka_unit_test(test_reader_csv_bad_quotes),
        cmocka_unit_test(test_reader_csv_long_quoted_cell),
        cmocka_unit_test(test_reader_regular_only),
        cmocka_unit_test(test_reader_gzip_and_formats),
        cmocka_unit_test_setup_teardown(test_json_valid_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_syntax_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_field_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_messages, setup, teardown),
        cmocka_unit_test(test_csv_default_type),
        cmocka_unit_test_setup_teardown(test_id_stability, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_canonical_text, setup, teardown),
        cmocka_unit_test(test_check_run_csv),
        cmocka_unit_test(test_check_run_csv_bad_cells),
        cmocka_unit_test(test_check_run_bad_header_and_jsonl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
