/* Unit tests of outreach-reporter's batch logic: exact yuan and mean formatting, backoff
 * bounds, status classification, endpoint names, batch coalescing, payload shape,
 * Idempotency-Key stability, gzip round trip through zlib inflate, and consumer lag.
 * (The file and HTTP transports: test_reporter_io.c.) */
#define ZLIB_CONST
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <zlib.h>

#include "../../consumers/reporter/batch.h"
#include "../../consumers/reporter/engine.h"
#include "../../consumers/reporter/reporter.h"
#include "avrojson.h"
#include "codec.h"
#include "regions.h"

/* ---- formatting ------------------------------------------------------------------------- */

static void expect_yuan(int64_t fen, const char *want)
{
    char out[REPORTER_YUAN_MAX];
    int n = reporter_format_yuan(fen, out, sizeof out);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
}

static void test_yuan(void **state)
{
    (void)state;
    expect_yuan(0, "0.00");
    expect_yuan(1, "0.01");
    expect_yuan(99, "0.99");
    expect_yuan(100, "1.00");
    expect_yuan(12345, "123.45");
    expect_yuan(1234567, "12345.67");
    expect_yuan(9007199254740993, "90071992547409.93"); /* beyond double precision */
    expect_yuan(-1, "-0.01");
    expect_yuan(-12345, "-123.45");
    expect_yuan(INT64_MAX, "92233720368547758.07");
    expect_yuan(INT64_MIN, "-92233720368547758.08");
    char small[5];
    assert_int_equal(reporter_format_yuan(12345, small, sizeof small), -1);
    assert_int_equal(reporter_format_yuan(100, small, sizeof small), 4);
    assert_string_equal(small, "1.00");
}

static void expect_mean(int64_t s1, int64_t s2, int64_t s3, int64_t s4, int64_t s5,
                        const char *want)
{
    const int64_t c[5] = {s1, s2, s3, s4, s5};
    char out[REPORTER_MEAN_MAX];
    if (!want) {
        assert_int_equal(reporter_format_mean(c, out), -1);
        return;
    }
    assert_int_equal(reporter_format_mean(c, out), 0);
    assert_string_equal(out, want);
}

static void test_mean(void **state)
{
    (void)state;
    expect_mean(0, 0, 0, 0, 0, NULL);
    expect_mean(1, 0, 0, 0, 0, "1.00");
    expect_mean(0, 0, 0, 0, 1, "5.00");
    expect_mean(1, 1, 1, 0, 0, "2.00");
    expect_mean(1, 2, 3, 4, 5, "3.67"); /* 55 / 15 = 3.666... */
    expect_mean(1, 1, 0, 0, 0, "1.50");
    expect_mean(4, 3, 1, 0, 0, "1.63"); /* 13 / 8 = 1.625: half up */
    expect_mean(2, 0, 0, 0, 1, "2.33"); /* 7 / 3 = 2.333... */
    expect_mean(0, 1, 0, 0, 2, "4.00");
    expect_mean(-1, 2, 0, 0, 0, NULL);
    expect_mean(INT64_MAX / 2, INT64_MAX / 2, 0, 0, 0, "1.50");
    expect_mean(0, 0, 0, 0, INT64_MAX, "5.00");
    expect_mean(1, 0, 0, 0, INT64_MAX - 1, "5.00");
    expect_mean(INT64_MAX, 1, 0, 0, 0, NULL); /* total beyond int64 */
    /* Against a brute-force reference on small histograms. */
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++)
            for (int c = 0; c < 6; c++)
                for (int d = 0; d < 4; d++)
                    for (int e = 0; e < 4; e++) {
                        long total = a + b + c + d + e, sum = a + 2 * b + 3 * c + 4 * d + 5 * e;
                        const int64_t cs[5] = {a, b, c, d, e};
                        char out[REPORTER_MEAN_MAX], want[16];
                        if (total == 0)
                            continue;
                        long h = (2 * 100 * sum + total) / (2 * total); /* half up */
                        snprintf(want, sizeof want, "%ld.%02ld", h / 100, h % 100);
                        assert_int_equal(reporter_format_mean(cs, out), 0);
                        assert_string_equal(out, want);
                    }
}

static void test_iso8601(void **state)
{
    (void)state;
    char out[REPORTER_ISO_MAX];
    reporter_iso8601(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    reporter_iso8601(1736899200123, out);
    assert_string_equal(out, "2025-01-15T00:00:00.123Z");
    reporter_iso8601(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

static void test_backoff(void **state)
{
    (void)state;
    uint64_t rng = 42;
    const int64_t base = 200, cap = 30000;
    for (unsigned attempt = 0; attempt < 200; attempt++) {
        int64_t bound = attempt < 20 && (base << attempt) < cap ? base << attempt : cap;
        int64_t lo = INT64_MAX, hi = -1;
        for (int i = 0; i < 2000; i++) {
            int64_t d = reporter_backoff_ms(attempt, base, cap, &rng);
            assert_true(d >= 0 && d <= bound);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        /* Full jitter: the draws spread over the whole range. */
        assert_true(lo <= bound / 10);
        assert_true(hi >= bound - bound / 10);
    }
    assert_int_equal(reporter_backoff_ms(5, 0, cap, &rng), 0);
    for (int i = 0; i < 1000; i++)
        assert_true(reporter_backoff_ms(UINT32_MAX, INT64_MAX / 2, INT64_MAX, &rng) >= 0);
}

static void test_classify(void **state)
{
    (void)state;
    const long delivered[] = {200, 201, 202, 204, 299};
    const long retry[] = {0, 100, 301, 302, 304, 401, 403, 404, 408, 429, 500, 502, 503, 504, 599};
    const long rejected[] = {400, 409, 410, 413, 415, 422, 451, 499};
    for (size_t i = 0; i < sizeof delivered / sizeof *delivered; i++)
        assert_int_equal(reporter_classify(delivered[i]), REPORTER_DELIVERED);
    for (size_t i = 0; i < sizeof retry / sizeof *retry; i++)
        assert_int_equal(reporter_classify(retry[i]), REPORTER_RETRY);
    for (size_t i = 0; i < sizeof rejected / sizeof *rejected; i++)
        assert_int_equal(reporter_classify(rejected[i]), REPORTER_REJECTED);
}

/* endpoint.NAME.max.retries: retries of a failing batch before it goes to the DLQ instead
 * (0: retry forever); a 4xx goes there at once. attempt = failures before this one. */
static void test_dlq_reason(void **state)
{
    (void)state;
    assert_null(reporter_dlq_reason(REPORTER_RETRY, 0, 0));
    assert_null(reporter_dlq_reason(REPORTER_RETRY, 1000000, 0)); /* forever */
    assert_null(reporter_dlq_reason(REPORTER_RETRY, 0, 3));       /* the first send */
    assert_null(reporter_dlq_reason(REPORTER_RETRY, 2, 3));       /* the third retry comes */
    assert_string_equal(reporter_dlq_reason(REPORTER_RETRY, 3, 3), "retries-exhausted");
    assert_string_equal(reporter_dlq_reason(REPORTER_RETRY, 1, 1), "retries-exhausted");
    assert_null(reporter_dlq_reason(REPORTER_RETRY, 0, 1));
    assert_string_equal(reporter_dlq_reason(REPORTER_REJECTED, 0, 0), "rejected");
    assert_string_equal(reporter_dlq_reason(REPORTER_REJECTED, 0, 3), "rejected");
    assert_string_equal(reporter_dlq_reason(REPORTER_REJECTED, 7, 3), "rejected");
}

static void test_names(void **state)
{
    (void)state;
    assert_true(reporter_name_valid("province"));
    assert_true(reporter_name_valid("a-b_C9"));
    assert_false(reporter_name_valid(""));
    assert_false(reporter_name_valid("a.b"));
    assert_false(reporter_name_valid("a/b"));
    assert_false(reporter_name_valid("省"));
    char longname[REPORTER_NAME_MAX + 2];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_false(reporter_name_valid(longname));
    longname[REPORTER_NAME_MAX] = 0;
    assert_true(reporter_name_valid(longname));
}

/* ---- batches ---------------------------------------------------------------------------- */

struct fixture {
    struct op_codec *codec;
    struct op_regions *regions;
    avro_value_t value;
};

static int setup(void **state)
{
    char err[512];
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->codec = op_codec_new_default(err, sizeof err);
    f->regions = op_regions_new_default(err, sizeof err);
    if (!f->codec || !f->regions)
        return -1;
    const struct op_schema *s = op_codec_by_name(f->codec, "rollup.v1");
    if (!s || avro_generic_value_new(s->iface, &f->value) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    avro_value_decref(&f->value);
    op_codec_destroy(f->codec);
    op_regions_destroy(f->regions);
    free(f);
    return 0;
}

/* A rollup.v1 message of region/window with this revision and funding. */
static void make_msg(struct fixture *f, struct reporter_msg *m, int64_t offset, const char *kind,
                     const char *window, const char *region, const char *level, int64_t rev,
                     int64_t fen)
{
    char text[2048], err[512];
    snprintf(text, sizeof text,
             "{\"window_kind\":\"%s\",\"window\":\"%s\",\"region\":\"%s\",\"level\":\"%s\","
             "\"revision\":%lld,\"event_count\":5,\"first_event_at\":1736899200000,"
             "\"last_event_at\":1736985599999,\"visits\":2,"
             "\"visits_by_activity\":{\"HOME_VISIT\":1,\"FREE_CLINIC\":1},"
             "\"workers_reached\":2100,\"workers_by_group\":{\"SANITATION\":2100},"
             "\"households\":3,\"staff\":4,\"funding_fen\":%lld,"
             "\"funding_by_source_fen\":{\"UNION_FUNDS\":%lld},\"funding_by_purpose_fen\":{},"
             "\"recipients\":10,\"surveys\":1,\"enterprises\":12,\"respondents\":30,"
             "\"satisfaction\":{\"s1\":1,\"s2\":2,\"s3\":3,\"s4\":4,\"s5\":5},"
             "\"needs\":{\"WAGES_ARREARS\":7}}",
             kind, window, region, level, (long long)rev, (long long)fen, (long long)fen);
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    const struct op_schema *s = op_codec_by_name(f->codec, "rollup.v1");
    struct op_buf buf = OP_BUF_INIT;
    assert_int_equal(op_avrojson_from_json(s, &f->value, j, err, sizeof err), 0);
    assert_int_equal(op_codec_encode(s, &f->value, &buf, err, sizeof err), 0);
    json_decref(j);
    memset(m, 0, sizeof *m);
    m->offset = offset;
    m->timestamp = 1737000000000 + offset;
    char key[256];
    snprintf(key, sizeof key, "%s|%s|%s", kind, window, region);
    m->key = strdup(key);
    m->key_len = strlen(key);
    m->value = buf.data;
    m->len = buf.len;
}

static void free_msgs(struct reporter_msg *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        reporter_msg_free(&m[i]);
}

static void test_coalesce(void **state)
{
    struct fixture *f = *state;
    struct reporter_msg m[8];
    char err[512];
    make_msg(f, &m[0], 10, "DAY", "2025-01-15", "650102", "COUNTY", 1, 100);
    make_msg(f, &m[1], 11, "DAY", "2025-01-15", "650100", "PREFECTURE", 1, 100);
    make_msg(f, &m[2], 13, "DAY", "2025-01-15", "650102", "COUNTY", 3, 300);
    make_msg(f, &m[3], 14, "DAY", "2025-01-15", "650102", "COUNTY", 2, 200); /* stale */
    make_msg(f, &m[4], 15, "DAY", "2025-01-15", "650100", "PREFECTURE", 2, 200);
    memset(&m[5], 0, sizeof m[5]); /* not Avro */
    m[5].offset = 16;
    m[5].value = (unsigned char *)strdup("garbage!!!!!");
    m[5].len = 12;
    memset(&m[6], 0, sizeof m[6]); /* tombstone */
    m[6].offset = 17;
    m[6].key = strdup("ALL|all|650000");
    m[6].key_len = 14;
    make_msg(f, &m[7], 18, "CAMPAIGN", "2025 两节送温暖", "650000", "PROVINCE", 7, 700);

    struct reporter_batch b;
    assert_int_equal(reporter_batch_build(&b, f->codec, f->regions, "dash", "outreach.rollups", 2,
                                          m, 8, err, sizeof err),
                     0);
    assert_int_equal(b.messages, 8);
    assert_int_equal(b.rollups, 3);
    assert_int_equal(b.superseded, 3);
    assert_int_equal(b.tombstones, 1);
    assert_int_equal(b.n_poison, 1);
    assert_int_equal(b.poison[0].index, 5);
    assert_string_equal(b.poison[0].reason, "framing");
    assert_int_equal(b.first_offset, 10);
    assert_int_equal(b.last_offset, 18);
    /* The kept ones, in the offset order of the kept messages. */
    json_t *r = json_object_get(b.doc, "rollups");
    assert_int_equal(json_array_size(r), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "key")),
                        "DAY|2025-01-15|650102");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 0), "revision")), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "funding_yuan")),
                        "3.00");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "key")),
                        "DAY|2025-01-15|650100");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 1), "revision")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 2), "key")),
                        "CAMPAIGN|2025 两节送温暖|650000");
    reporter_batch_free(&b);

    /* A tie keeps the later message. */
    reporter_msg_free(&m[3]);
    make_msg(f, &m[3], 14, "DAY", "2025-01-15", "650102", "COUNTY", 3, 999);
    assert_int_equal(reporter_batch_build(&b, f->codec, f->regions, "dash", "outreach.rollups", 2,
                                          m, 5, err, sizeof err),
                     0);
    r = json_object_get(b.doc, "rollups");
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "funding_yuan")),
                        "9.99");
    reporter_batch_free(&b);
    free_msgs(m, 8);
}

static void test_payload_shape(void **state)
{
    struct fixture *f = *state;
    struct reporter_msg m[2];
    char err[512];
    make_msg(f, &m[0], 100, "DAY", "2025-01-15", "650102", "COUNTY", 4, 1234567);
    make_msg(f, &m[1], 101, "ALL", "all", "650100", "PREFECTURE", 9, INT64_MAX);
    struct reporter_batch b;
    assert_int_equal(reporter_batch_build(&b, f->codec, f->regions, "province", "outreach.rollups",
                                          0, m, 2, err, sizeof err),
                     0);
    /* The serialised text: compact, fixed order, UTF-8 as is. */
    const char *text = (const char *)b.json.data;
    assert_true(b.json.len > 0);
    assert_memory_equal(text, "{\"batch_id\":\"province-outreach.rollups-0-100-101-", 46);
    json_error_t jerr;
    json_t *doc = json_loadb(text, b.json.len, 0, &jerr);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "batch_id")), b.key);
    assert_string_equal(json_string_value(json_object_get(doc, "endpoint")), "province");
    assert_string_equal(json_string_value(json_object_get(doc, "generated_at")),
                        "2025-01-16T04:00:00.101Z"); /* the newest message timestamp */
    json_t *src = json_object_get(doc, "source");
    assert_string_equal(json_string_value(json_object_get(src, "topic")), "outreach.rollups");
    assert_int_equal(json_integer_value(json_object_get(src, "partition")), 0);
    assert_int_equal(json_integer_value(json_object_get(src, "first_offset")), 100);
    assert_int_equal(json_integer_value(json_object_get(src, "last_offset")), 101);
    assert_int_equal(json_integer_value(json_object_get(src, "messages")), 2);
    json_t *r = json_array_get(json_object_get(doc, "rollups"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "key")), "DAY|2025-01-15|650102");
    assert_string_equal(json_string_value(json_object_get(r, "region")), "650102");
    assert_string_equal(json_string_value(json_object_get(r, "region_name")), "天山区");
    assert_string_equal(json_string_value(json_object_get(r, "level")), "COUNTY");
    assert_string_equal(json_string_value(json_object_get(r, "window_kind")), "DAY");
    assert_string_equal(json_string_value(json_object_get(r, "window")), "2025-01-15");
    assert_int_equal(json_integer_value(json_object_get(r, "revision")), 4);
    assert_int_equal(json_integer_value(json_object_get(r, "event_count")), 5);
    assert_string_equal(json_string_value(json_object_get(r, "first_event_at")),
                        "2025-01-15T00:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(r, "last_event_at")),
                        "2025-01-15T23:59:59.999Z");
    assert_int_equal(json_integer_value(json_object_get(r, "funding_fen")), 1234567);
    assert_string_equal(json_string_value(json_object_get(r, "funding_yuan")), "12345.67");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(r, "funding_by_source_yuan"), "UNION_FUNDS")),
                        "12345.67");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "funding_by_source_fen"),
                                                        "UNION_FUNDS")),
                     1234567);
    assert_int_equal(json_object_size(json_object_get(r, "funding_by_purpose_yuan")), 0);
    assert_string_equal(json_string_value(json_object_get(r, "satisfaction_mean")), "3.67");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "satisfaction"), "s5")),
                     5);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "needs"), "WAGES_ARREARS")), 7);
    /* Every metric of the Avro record is there. */
    static const char *const fields[] = {
        "visits", "visits_by_activity", "workers_reached", "workers_by_group", "households",
        "staff",  "recipients",         "surveys",         "enterprises",      "respondents",
        NULL};
    for (const char *const *fl = fields; *fl; fl++)
        assert_non_null(json_object_get(r, *fl));
    /* a rollup.v1 message reads with rollup.v2's default: no corrections */
    assert_true(json_is_integer(json_object_get(r, "corrections")));
    assert_int_equal(json_integer_value(json_object_get(r, "corrections")), 0);
    /* Maps come out with sorted keys. */
    assert_non_null(strstr(text, "\"visits_by_activity\":{\"FREE_CLINIC\":1,\"HOME_VISIT\":1}"));
    json_t *r2 = json_array_get(json_object_get(doc, "rollups"), 1);
    assert_string_equal(json_string_value(json_object_get(r2, "region_name")), "乌鲁木齐市");
    assert_string_equal(json_string_value(json_object_get(r2, "funding_yuan")),
                        "92233720368547758.07");
    assert_int_equal(json_integer_value(json_object_get(r2, "funding_fen")), INT64_MAX);
    json_decref(doc);

    /* JSON Lines: one rollup per line. */
    struct op_buf lines = OP_BUF_INIT;
    assert_int_equal(reporter_batch_jsonl(&b, &lines), 0);
    size_t nl = 0;
    for (size_t i = 0; i < lines.len; i++)
        nl += lines.data[i] == '\n';
    assert_int_equal(nl, 2);
    op_buf_free(&lines);
    reporter_batch_free(&b);
    free_msgs(m, 2);
}

static void test_payload_fields(void **state)
{
    struct fixture *f = *state;
    char err[512], key[REPORTER_KEY_MAX];
    int64_t rev;
    /* A newer schema's extra field passes through; an unknown region has a null name. */
    json_t *a = json_loads(
        "{\"window_kind\":\"ALL\",\"window\":\"all\",\"region\":\"990000\",\"level\":\"PROVINCE\","
        "\"revision\":1,\"event_count\":0,\"first_event_at\":0,\"last_event_at\":0,\"visits\":0,"
        "\"visits_by_activity\":{},\"workers_reached\":0,\"workers_by_group\":{},"
        "\"households\":0,\"staff\":0,\"funding_fen\":-1,\"funding_by_source_fen\":{},"
        "\"funding_by_purpose_fen\":{},\"recipients\":0,\"surveys\":0,\"enterprises\":0,"
        "\"respondents\":0,\"satisfaction\":{\"s1\":0,\"s2\":0,\"s3\":0,\"s4\":0,\"s5\":0},"
        "\"needs\":{},\"corrections\":2,\"venues\":{\"HOME\":3}}",
        0, NULL);
    assert_non_null(a);
    json_t *p = reporter_rollup_payload(a, f->regions, key, &rev, err, sizeof err);
    assert_non_null(p);
    assert_string_equal(key, "ALL|all|990000");
    assert_int_equal(rev, 1);
    assert_true(json_is_null(json_object_get(p, "region_name")));
    assert_true(json_is_null(json_object_get(p, "satisfaction_mean")));
    assert_string_equal(json_string_value(json_object_get(p, "funding_yuan")), "-0.01");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "venues"), "HOME")), 3);
    assert_int_equal(json_integer_value(json_object_get(p, "corrections")), 2);
    json_decref(p);
    /* A missing field is an error naming it. */
    json_object_del(a, "revision");
    assert_null(reporter_rollup_payload(a, f->regions, key, &rev, err, sizeof err));
    assert_string_equal(err, "revision: missing");
    json_object_set_new(a, "revision", json_integer(1));
    json_object_set_new(a, "funding_by_source_fen", json_string("x"));
    assert_null(reporter_rollup_payload(a, f->regions, key, &rev, err, sizeof err));
    assert_string_equal(err, "funding_by_source_fen: not an object");
    json_decref(a);
}

static void test_key_stability(void **state)
{
    struct fixture *f = *state;
    struct reporter_msg m[3];
    char err[512];
    make_msg(f, &m[0], 10, "DAY", "2025-01-15", "650102", "COUNTY", 1, 100);
    make_msg(f, &m[1], 11, "DAY", "2025-01-15", "650102", "COUNTY", 2, 200);
    make_msg(f, &m[2], 12, "MONTH", "2025-01", "650102", "COUNTY", 1, 300);
    struct reporter_batch a, b;
    assert_int_equal(
        reporter_batch_build(&a, f->codec, f->regions, "ep", "t", 1, m, 3, err, sizeof err), 0);
    /* Same messages: same key and byte-identical body (a retry, or after a restart). */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            reporter_batch_build(&b, f->codec, f->regions, "ep", "t", 1, m, 3, err, sizeof err), 0);
        assert_string_equal(a.key, b.key);
        assert_int_equal(a.json.len, b.json.len);
        assert_memory_equal(a.json.data, b.json.data, a.json.len);
        reporter_batch_free(&b);
    }
    assert_memory_equal(a.key, "ep-t-1-10-12-", 13);
    assert_int_equal(strlen(a.key), 13 + 16);
    assert_int_equal(strspn(a.key + 13, "0123456789abcdef"), 16);
    /* Another endpoint, partition, topic, range or content: another key. */
    const char *keys[6];
    char held[6][REPORTER_KEY_MAX];
    assert_int_equal(
        reporter_batch_build(&b, f->codec, f->regions, "ep2", "t", 1, m, 3, err, sizeof err), 0);
    snprintf(held[0], sizeof held[0], "%s", b.key);
    reporter_batch_free(&b);
    assert_int_equal(
        reporter_batch_build(&b, f->codec, f->regions, "ep", "t", 2, m, 3, err, sizeof err), 0);
    snprintf(held[1], sizeof held[1], "%s", b.key);
    reporter_batch_free(&b);
    assert_int_equal(
        reporter_batch_build(&b, f->codec, f->regions, "ep", "t2", 1, m, 3, err, sizeof err), 0);
    snprintf(held[2], sizeof held[2], "%s", b.key);
    reporter_batch_free(&b);
    assert_int_equal(
        reporter_batch_build(&b, f->codec, f->regions, "ep", "t", 1, m, 2, err, sizeof err),
        0); /* a shorter cut */
    snprintf(held[3], sizeof held[3], "%s", b.key);
    reporter_batch_free(&b);
    assert_int_equal(
        reporter_batch_build(&b, f->codec, f->regions, "ep", "t", 1, m + 1, 2, err, sizeof err), 0);
    snprintf(held[4], sizeof held[4], "%s", b.key);
    reporter_batch_free(&b);
    /* Same offsets, one value byte different (e.g. after compaction): another key. */
    m[1].value[m[1].len - 1] ^= 1;
    assert_int_equal(
        reporter_batch_build(&b, f->codec, f->regions, "ep", "t", 1, m, 3, err, sizeof err), 0);
    snprintf(held[5], sizeof held[5], "%s", b.key);
    assert_memory_equal(b.key, "ep-t-1-10-12-", 13);
    reporter_batch_free(&b);
    for (int i = 0; i < 6; i++) {
        keys[i] = held[i];
        assert_string_not_equal(keys[i], a.key);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(keys[i], keys[j]);
    }
    reporter_batch_free(&a);
    free_msgs(m, 3);
}

static void inflate_all(const unsigned char *in, size_t len, struct op_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK); /* gzip only, no zlib header */
    zs.next_in = in;
    zs.avail_in = (uInt)len;
    int rc;
    do {
        assert_int_equal(op_buf_reserve(out, 65536), 0);
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)(out->cap - out->len);
        uInt before = zs.avail_out;
        rc = inflate(&zs, Z_NO_FLUSH);
        out->len += before - zs.avail_out;
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
    } while (rc != Z_STREAM_END);
    assert_int_equal(zs.avail_in, 0);
    inflateEnd(&zs);
}

static void test_gzip(void **state)
{
    struct fixture *f = *state;
    struct reporter_msg m[1];
    char err[512];
    make_msg(f, &m[0], 1, "DAY", "2025-01-15", "650102", "COUNTY", 1, 100);
    struct reporter_batch b;
    assert_int_equal(
        reporter_batch_build(&b, f->codec, f->regions, "ep", "t", 0, m, 1, err, sizeof err), 0);
    /* The payload, an empty input and 3 MiB of poorly compressible bytes, at levels 1 and 9. */
    size_t big_len = 3 << 20;
    unsigned char *big = malloc(big_len);
    assert_non_null(big);
    uint64_t r = 7;
    for (size_t i = 0; i < big_len; i++)
        big[i] = (unsigned char)(reporter_rand(&r) % 7);
    const struct {
        const void *data;
        size_t len;
    } inputs[3] = {{b.json.data, b.json.len}, {"", 0}, {big, big_len}};
    for (int i = 0; i < 3; i++)
        for (int level = 1; level <= 9; level += 8) {
            struct op_buf gz = OP_BUF_INIT, back = OP_BUF_INIT;
            assert_int_equal(reporter_gzip(inputs[i].data, inputs[i].len, level, &gz), 0);
            assert_true(gz.len >= 18);
            assert_int_equal(gz.data[0], 0x1f);
            assert_int_equal(gz.data[1], 0x8b);
            inflate_all(gz.data, gz.len, &back);
            assert_int_equal(back.len, inputs[i].len);
            if (inputs[i].len)
                assert_memory_equal(back.data, inputs[i].data, inputs[i].len);
            /* Deterministic: the same body compresses to the same bytes. */
            struct op_buf again = OP_BUF_INIT;
            assert_int_equal(reporter_gzip(inputs[i].data, inputs[i].len, level, &again), 0);
            assert_int_equal(again.len, gz.len);
            assert_memory_equal(again.data, gz.data, gz.len);
            op_buf_free(&again);
            op_buf_free(&gz);
            op_buf_free(&back);
        }
    free(big);
    reporter_batch_free(&b);
    free_msgs(m, 1);
}

/* ---- consumer lag ---------------------------------------------------------------------- */

static void test_lag(void **state)
{
    (void)state;
    assert_int_equal(reporter_lag(10, 7), 3);
    assert_int_equal(reporter_lag(10, 10), 0);
    assert_int_equal(reporter_lag(10, 12), 0); /* a watermark older than the position */
    assert_int_equal(reporter_lag(0, 0), 0);
    assert_int_equal(reporter_lag(-1, 5), -1);
    assert_int_equal(reporter_lag(5, -1001), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yuan),
        cmocka_unit_test(test_mean),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_dlq_reason),
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_coalesce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payload_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payload_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_stability, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
        cmocka_unit_test(test_lag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
