/* Unit tests of outreach-sink's logic: yuan parsing, rollup validation, dedup by
 * Idempotency-Key, highest revision per key, the persistent log (restart, torn last line,
 * corruption), bounded key memory, GET /rollups order, and the HTML page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <unistd.h>

#include <jansson.h>
#include <zlib.h>

#include "../../consumers/sink/chart.h"
#include "../../consumers/sink/page.h"
#include "../../consumers/sink/server.h"
#include "../../consumers/sink/store.h"
#include "labels.h"
#include "regions.h"

static void test_parse_yuan(void **state)
{
    (void)state;
    const struct {
        const char *s;
        int64_t fen;
    } good[] = {{"0.00", 0},
                {"0.01", 1},
                {"0.99", 99},
                {"1.00", 100},
                {"123.45", 12345},
                {"-0.01", -1},
                {"-123.45", -12345},
                {"90071992547409.93", 9007199254740993},
                {"92233720368547758.07", INT64_MAX},
                {"-92233720368547758.08", INT64_MIN}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int64_t v = 42;
        assert_int_equal(sink_parse_yuan(good[i].s, &v), 0);
        assert_true(v == good[i].fen);
    }
    const char *bad[] = {"",
                         "1",
                         "1.2",
                         "1.234",
                         ".50",
                         "01.00",
                         "-0.00",
                         "+1.00",
                         "1,00",
                         "a.bc",
                         "1.0a",
                         "92233720368547758.08",
                         "-92233720368547758.09",
                         "99999999999999999999.00",
                         " 1.00"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t v = 42;
        assert_int_equal(sink_parse_yuan(bad[i], &v), -1);
        assert_true(v == 42);
    }
}

/* A rollup as the reporter sends it. */
static char *rollup_text(const char *kind, const char *window, const char *region,
                         const char *level, long long rev, long long fen)
{
    char *out = malloc(2048);
    long long q = (fen < 0 ? -fen : fen) / 100, r = (fen < 0 ? -fen : fen) % 100;
    snprintf(out, 2048,
             "{\"key\":\"%s|%s|%s\",\"region\":\"%s\",\"region_name\":\"名<&>\",\"level\":\"%s\","
             "\"window_kind\":\"%s\",\"window\":\"%s\",\"revision\":%lld,\"event_count\":3,"
             "\"visits\":2,\"workers_reached\":2100,\"households\":1,\"funding_fen\":%lld,"
             "\"funding_yuan\":\"%s%lld.%02lld\",\"funding_by_source_fen\":{\"GOVERNMENT\":%lld},"
             "\"funding_by_source_yuan\":{\"GOVERNMENT\":\"%s%lld.%02lld\"},"
             "\"funding_by_purpose_fen\":{},\"funding_by_purpose_yuan\":{},\"recipients\":4,"
             "\"surveys\":1,\"respondents\":30,\"satisfaction_mean\":\"3.67\"}",
             kind, window, region, region, level, kind, window, rev, fen, fen < 0 ? "-" : "", q, r,
             fen, fen < 0 ? "-" : "", q, r);
    return out;
}

static char *batch_text(const char *const *rollups, size_t n)
{
    size_t size = 256;
    for (size_t i = 0; i < n; i++)
        size += strlen(rollups[i]) + 1;
    char *out = malloc(size);
    size_t len = (size_t)snprintf(out, size,
                                  "{\"batch_id\":\"b\",\"endpoint\":\"e\","
                                  "\"generated_at\":\"2025-01-15T00:00:00.000Z\","
                                  "\"rollups\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? "," : "", rollups[i]);
    snprintf(out + len, size - len, "]}");
    return out;
}

static enum sink_result apply1(struct sink_store *s, const char *key, const char *kind,
                               const char *window, const char *region, const char *level,
                               long long rev, long long fen, size_t *applied)
{
    char *r = rollup_text(kind, window, region, level, rev, fen);
    const char *rs[1] = {r};
    char *b = batch_text(rs, 1), err[512];
    size_t accepted;
    enum sink_result res =
        sink_store_apply(s, key, b, strlen(b), &accepted, applied, err, sizeof err);
    free(r);
    free(b);
    return res;
}

static void test_validate(void **state)
{
    (void)state;
    char key[SINK_KEY_MAX], err[256];
    int64_t rev;
    char *t = rollup_text("CAMPAIGN", "2025 两节送温暖", "650100", "PREFECTURE", 3, 1234567);
    json_t *r = json_loads(t, 0, NULL);
    free(t);
    assert_int_equal(sink_validate_rollup(r, NULL, key, &rev, err, sizeof err), 0);
    assert_string_equal(key, "CAMPAIGN|2025 两节送温暖|650100");
    assert_int_equal(rev, 3);
    const struct {
        const char *field;
        json_t *value;
        const char *msg;
    } cases[] = {
        {"region", json_string("65010"), "region: not six digits"},
        {"window_kind", json_string("WEEK"), "window_kind: not DAY, MONTH, CAMPAIGN or ALL"},
        {"level", json_string("TOWN"), "level: not PROVINCE, PREFECTURE or COUNTY"},
        {"revision", json_integer(0), "revision: 0 is below 1"},
        {"revision", json_string("3"), "revision: not an integer"},
        {"funding_yuan", json_string("12345.68"),
         "funding_yuan: \"12345.68\" does not equal funding_fen 1234567"},
        {"funding_yuan", json_real(12345.67), "funding_yuan: not a string"},
        {"key", json_string("ALL|all|650100"), "key: not window_kind|window|region"},
        {"satisfaction_mean", json_integer(3), "satisfaction_mean: not a string or null"},
        {"funding_by_source_yuan", json_pack("{s:s}", "GOVERNMENT", "1.00"),
         "funding_by_source_yuan.GOVERNMENT: does not equal funding_by_source_fen.GOVERNMENT"},
        {"funding_by_purpose_yuan", json_pack("{s:s}", "GOODS", "1.00"),
         "funding_by_purpose_yuan: not the keys of funding_by_purpose_fen"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *c = json_deep_copy(r);
        json_object_set_new(c, cases[i].field, cases[i].value);
        assert_int_equal(sink_validate_rollup(c, NULL, key, &rev, err, sizeof err), -1);
        assert_string_equal(err, cases[i].msg);
        json_decref(c);
    }
    json_t *c = json_deep_copy(r);
    json_object_del(c, "event_count");
    assert_int_equal(sink_validate_rollup(c, NULL, key, &rev, err, sizeof err), -1);
    assert_string_equal(err, "event_count: missing");
    json_decref(c);
    json_decref(r);
}

static void test_apply(void **state)
{
    (void)state;
    char err[512];
    size_t accepted, applied;
    struct sink_store *s = sink_store_open(NULL, 100, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(apply1(s, "k1", "ALL", "all", "650000", "PROVINCE", 2, 100, &applied),
                     SINK_ACCEPTED);
    assert_int_equal(applied, 1);
    /* The same key and body: a duplicate; the same key with another body: a conflict. */
    assert_int_equal(apply1(s, "k1", "ALL", "all", "650000", "PROVINCE", 2, 100, &applied),
                     SINK_DUPLICATE);
    assert_int_equal(applied, 0);
    assert_int_equal(apply1(s, "k1", "ALL", "all", "650000", "PROVINCE", 3, 100, &applied),
                     SINK_CONFLICT);
    /* An older revision under a new key is accepted but changes nothing. */
    assert_int_equal(apply1(s, "k2", "ALL", "all", "650000", "PROVINCE", 1, 999, &applied),
                     SINK_ACCEPTED);
    assert_int_equal(applied, 0);
    assert_int_equal(apply1(s, "k3", "ALL", "all", "650000", "PROVINCE", 5, 500, &applied),
                     SINK_ACCEPTED);
    assert_int_equal(applied, 1);
    /* Inside one batch: the highest revision of a key wins, whatever the order. */
    char *r1 = rollup_text("DAY", "2025-01-15", "650102", "COUNTY", 7, 700);
    char *r2 = rollup_text("DAY", "2025-01-15", "650102", "COUNTY", 9, 900);
    char *r3 = rollup_text("DAY", "2025-01-15", "650102", "COUNTY", 8, 800);
    char *r4 = rollup_text("DAY", "2025-01-15", "650100", "PREFECTURE", 1, -5);
    const char *rs[4] = {r1, r2, r3, r4};
    char *b = batch_text(rs, 4);
    assert_int_equal(sink_store_apply(s, "k4", b, strlen(b), &accepted, &applied, err, sizeof err),
                     SINK_ACCEPTED);
    assert_int_equal(accepted, 4);
    assert_int_equal(applied, 2);
    free(b);
    /* All or nothing: one bad rollup refuses the batch. */
    char *bad = rollup_text("DAY", "2025-01-15", "650103", "COUNTY", 1, 1);
    bad[strlen(bad) - 1] = 0;
    char *bad2 = malloc(strlen(bad) + 40);
    snprintf(bad2, strlen(bad) + 40, "%s,\"funding_yuan\":\"0.02\"}", bad); /* a repeated name */
    const char *rs2[2] = {r4, bad2};
    b = batch_text(rs2, 2);
    assert_int_equal(sink_store_apply(s, "k5", b, strlen(b), &accepted, &applied, err, sizeof err),
                     SINK_INVALID);
    free(b);
    free(bad);
    free(bad2);
    const char *rs3[1] = {r4};
    b = batch_text(rs3, 1);
    assert_int_equal(sink_store_apply(s, "", b, strlen(b), &accepted, &applied, err, sizeof err),
                     SINK_INVALID);
    assert_int_equal(
        sink_store_apply(s, "k6", "{\"rollups\":[]}", 14, &accepted, &applied, err, sizeof err),
        SINK_INVALID);
    assert_string_equal(err, "batch_id: missing or not a string");
    assert_int_equal(sink_store_apply(s, "k7", "[1", 2, &accepted, &applied, err, sizeof err),
                     SINK_INVALID);
    free(b);
    free(r1);
    free(r2);
    free(r3);
    free(r4);

    assert_int_equal(sink_store_count(s), 3);
    const struct sink_stats *st = sink_store_stats(s);
    assert_int_equal(st->batches, 4);
    assert_int_equal(st->duplicates, 1);
    assert_int_equal(st->conflicts, 1);
    assert_int_equal(st->invalid, 4);
    assert_int_equal(st->rollups_received, 7);
    assert_int_equal(st->rollups_applied, 4);

    /* GET /rollups: sorted by key, the latest of each. */
    struct op_buf out = OP_BUF_INIT;
    assert_int_equal(sink_store_rollups_json(s, &out), 0);
    json_t *doc = json_loadb((const char *)out.data, out.len, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "count")), 3);
    json_t *rl = json_object_get(doc, "rollups");
    const char *want_keys[3] = {"ALL|all|650000", "DAY|2025-01-15|650100", "DAY|2025-01-15|650102"};
    const long long want_rev[3] = {5, 1, 9};
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(rl, i);
        assert_string_equal(json_string_value(json_object_get(r, "key")), want_keys[i]);
        assert_int_equal(json_integer_value(json_object_get(r, "revision")), want_rev[i]);
    }
    json_decref(doc);
    op_buf_free(&out);
    sink_store_close(s);
}

static void test_persistence(void **state)
{
    (void)state;
    char path[] = "/tmp/test_sink_XXXXXX", err[512];
    size_t applied;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path); /* a missing file is created */
    struct sink_store *s = sink_store_open(path, 100, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(apply1(s, "k1", "ALL", "all", "650000", "PROVINCE", 2, 100, &applied),
                     SINK_ACCEPTED);
    assert_int_equal(apply1(s, "k2", "ALL", "all", "650000", "PROVINCE", 4, 400, &applied),
                     SINK_ACCEPTED);
    assert_int_equal(apply1(s, "k3", "ALL", "all", "650100", "PREFECTURE", 1, 7, &applied),
                     SINK_ACCEPTED);
    sink_store_close(s);

    /* A restart: same rollups, keys still known. */
    s = sink_store_open(path, 100, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(sink_store_count(s), 2);
    assert_int_equal(sink_store_keys(s), 3);
    assert_int_equal(apply1(s, "k1", "ALL", "all", "650000", "PROVINCE", 2, 100, &applied),
                     SINK_DUPLICATE);
    assert_int_equal(apply1(s, "k1", "ALL", "all", "650000", "PROVINCE", 9, 100, &applied),
                     SINK_CONFLICT);
    assert_int_equal(apply1(s, "k4", "ALL", "all", "650000", "PROVINCE", 3, 300, &applied),
                     SINK_ACCEPTED);
    assert_int_equal(applied, 0); /* revision 4 is kept */
    sink_store_close(s);

    /* A torn last line (a crash in the middle of an append) is cut off. */
    FILE *f = fopen(path, "a");
    fputs("{\"keys\":[[\"k9\",\"00\"]],\"rollups\":[{\"key\":", f);
    fclose(f);
    s = sink_store_open(path, 100, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(sink_store_count(s), 2);
    assert_int_equal(sink_store_keys(s), 4);
    struct op_buf out = OP_BUF_INIT;
    assert_int_equal(sink_store_rollups_json(s, &out), 0);
    assert_non_null(strstr((const char *)out.data, "\"revision\":4"));
    op_buf_free(&out);
    sink_store_close(s);

    /* A bad line in the middle is corruption: refuse to start, say where. */
    f = fopen(path, "r");
    char lines[8][4096];
    int n = 0;
    while (n < 8 && fgets(lines[n], sizeof lines[n], f))
        n++;
    fclose(f);
    assert_true(n >= 2);
    f = fopen(path, "w");
    fputs("not json\n", f);
    for (int i = 0; i < n; i++)
        fputs(lines[i], f);
    fclose(f);
    assert_null(sink_store_open(path, 100, err, sizeof err));
    char want[600];
    snprintf(want, sizeof want, "%s:1:", path);
    assert_memory_equal(err, want, strlen(want));
    unlink(path);
    snprintf(want, sizeof want, "%s.tmp", path);
    unlink(want);
}

static void test_max_keys(void **state)
{
    (void)state;
    char err[512];
    size_t applied;
    struct sink_store *s = sink_store_open(NULL, 2, err, sizeof err);
    assert_int_equal(apply1(s, "k1", "ALL", "all", "650000", "PROVINCE", 1, 1, &applied),
                     SINK_ACCEPTED);
    assert_int_equal(apply1(s, "k2", "ALL", "all", "650000", "PROVINCE", 2, 1, &applied),
                     SINK_ACCEPTED);
    assert_int_equal(apply1(s, "k3", "ALL", "all", "650000", "PROVINCE", 3, 1, &applied),
                     SINK_ACCEPTED);
    assert_int_equal(sink_store_keys(s), 2);
    /* k1 was forgotten: accepted again, but its old revision changes nothing. */
    assert_int_equal(apply1(s, "k1", "ALL", "all", "650000", "PROVINCE", 1, 1, &applied),
                     SINK_ACCEPTED);
    assert_int_equal(applied, 0);
    assert_int_equal(apply1(s, "k3", "ALL", "all", "650000", "PROVINCE", 3, 1, &applied),
                     SINK_DUPLICATE);
    sink_store_close(s);
}

static void test_page(void **state)
{
    (void)state;
    char err[512];
    size_t applied;
    struct sink_store *s = sink_store_open(NULL, 100, err, sizeof err);
    assert_int_equal(
        apply1(s, "a", "CAMPAIGN", "2025 两节送温暖", "650100", "PREFECTURE", 2, 1234567, &applied),
        SINK_ACCEPTED);
    assert_int_equal(
        apply1(s, "b", "CAMPAIGN", "2025 两节送温暖", "650000", "PROVINCE", 3, 2234567, &applied),
        SINK_ACCEPTED);
    assert_int_equal(
        apply1(s, "c", "CAMPAIGN", "2025 两节送温暖", "650102", "COUNTY", 1, 5, &applied),
        SINK_ACCEPTED);
    assert_int_equal(
        apply1(s, "d", "CAMPAIGN", "2025 两节送温暖", "530000", "PROVINCE", 1, 5, &applied),
        SINK_ACCEPTED);
    assert_int_equal(apply1(s, "e", "ALL", "all", "650000", "PROVINCE", 1, 99, &applied),
                     SINK_ACCEPTED);
    assert_int_equal(apply1(s, "f", "DAY", "<b>", "650000", "PROVINCE", 1, 99, &applied),
                     SINK_ACCEPTED);
    struct op_buf out = OP_BUF_INIT;
    struct op_regions *regs = op_regions_new_default(err, sizeof err);
    struct sink_page_query q = {"CAMPAIGN|2025 两节送温暖", NULL, NULL, NULL, NULL};
    assert_int_equal(sink_page_render(s, regs, &q, &out, err, sizeof err), 0);
    assert_int_equal(op_buf_append(&out, "", 1), 0);
    const char *html = (const char *)out.data;
    const char *p530 = strstr(html, "data-key=\"CAMPAIGN|2025 两节送温暖|530000\"");
    const char *p650 = strstr(html, "data-key=\"CAMPAIGN|2025 两节送温暖|650000\"");
    const char *p651 = strstr(html, "data-key=\"CAMPAIGN|2025 两节送温暖|650100\"");
    assert_non_null(p530);
    assert_true(p530 < p650 && p650 < p651); /* province, then its prefectures */
    assert_null(strstr(html, "650102\""));   /* no county rows */
    assert_non_null(strstr(p651, "data-field=\"funding_yuan\">12345.67</td>"));
    assert_non_null(strstr(p650, "data-field=\"funding_yuan\">22345.67</td>"));
    assert_non_null(strstr(html, "名&lt;&amp;&gt;")); /* names escaped */
    assert_non_null(strstr(html, "<option value=\"DAY|&lt;b&gt;\">DAY|&lt;b&gt;</option>"));
    assert_null(strstr(html, "<b>"));
    out.len = 0;
    /* An unknown window: the dashboard's campaign. */
    q.window = "nope";
    assert_int_equal(sink_page_render(s, regs, &q, &out, err, sizeof err), 0);
    assert_int_equal(op_buf_append(&out, "", 1), 0);
    assert_non_null(strstr((const char *)out.data, "id=\"window\">CAMPAIGN|2025 两节送温暖<"));
    op_buf_free(&out);
    sink_store_close(s);

    s = sink_store_open(NULL, 100, err, sizeof err);
    q.window = NULL;
    q.lang = "en";
    assert_int_equal(sink_page_render(s, regs, &q, &out, err, sizeof err), 0);
    assert_int_equal(op_buf_append(&out, "", 1), 0);
    assert_non_null(strstr((const char *)out.data, "No rollups received yet."));
    assert_non_null(strstr((const char *)out.data, "No campaign rollups received yet."));
    op_regions_destroy(regs);
    op_buf_free(&out);
    sink_store_close(s);

    assert_int_equal(sink_url_encode(&out, "CAMPAIGN|2025 两节"), 0);
    assert_int_equal(op_buf_append(&out, "", 1), 0);
    assert_string_equal((const char *)out.data, "CAMPAIGN%7C2025%20%E4%B8%A4%E8%8A%82");
    op_buf_free(&out);
}

/* The rendered page, NUL-terminated in out (emptied first); the render's return code. */
static int render(const struct sink_store *s, const struct op_regions *regs,
                  const struct sink_page_query *q, struct op_buf *out)
{
    char err[256];
    out->len = 0;
    int rc = sink_page_render(s, regs, q, out, err, sizeof err);
    if (rc == 0)
        assert_int_equal(op_buf_append(out, "", 1), 0);
    return rc;
}

/* The charts carry the numbers put in: bars per child region, cards and the source split
 * summed over provinces, the trend per day; names escaped; English; bad parameters refused. */
static void test_dashboard(void **state)
{
    (void)state;
    char err[512];
    size_t applied;
    struct sink_store *s = sink_store_open(NULL, 100, err, sizeof err);
    struct op_regions *regs = op_regions_new_default(err, sizeof err);
    assert_non_null(regs);
    const struct {
        const char *kind, *window, *region, *level;
        long long fen;
    } in[] = {
        {"CAMPAIGN", "C", "650000", "PROVINCE", 1234567},
        {"CAMPAIGN", "C", "530000", "PROVINCE", 5},
        {"CAMPAIGN", "C", "650100", "PREFECTURE", 1000000},
        {"CAMPAIGN", "C", "654000", "PREFECTURE", 234567},
        {"CAMPAIGN", "C", "650102", "COUNTY", 1000000},
        {"CAMPAIGN", "<i>&", "650000", "PROVINCE", 1},
        {"CAMPAIGN", "big", "650000", "PROVINCE", INT64_MAX},
        {"CAMPAIGN", "big", "530000", "PROVINCE", INT64_MAX},
        {"DAY", "2025-01-15", "650000", "PROVINCE", 300},
        {"DAY", "2025-01-15", "530000", "PROVINCE", 200},
        {"DAY", "2025-01-17", "650000", "PROVINCE", 7},
        {"DAY", "2025-01-17", "650100", "PREFECTURE", 6},
        {"DAY", "2025-13-99", "650000", "PROVINCE", 1},
    };
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%zu", i);
        assert_int_equal(apply1(s, key, in[i].kind, in[i].window, in[i].region, in[i].level, 1,
                                in[i].fen, &applied),
                         SINK_ACCEPTED);
    }
    struct op_buf out = OP_BUF_INIT;
    struct sink_page_query q = {NULL, "C", NULL, NULL, NULL};
    assert_int_equal(render(s, regs, &q, &out), 0);
    const char *html = (const char *)out.data;
    assert_non_null(strstr(html, "<html lang=\"zh-CN\">"));
    assert_non_null(
        strstr(html, "data-region=\"650000\" data-value=\"12345.67\"><title>新疆维吾尔自治区: "
                     "1.23万元</title>"));
    assert_non_null(
        strstr(html, "data-region=\"530000\" data-value=\"0.05\"><title>云南省: 0.05元</title>"));
    assert_null(strstr(html, "data-region=\"650100\"")); /* prefectures are not provinces */
    assert_non_null(strstr(html, "data-metric=\"funding\" data-value=\"12345.72\""));
    assert_non_null(strstr(html, "data-metric=\"visits\" data-value=\"4\""));
    assert_non_null(strstr(html, "data-metric=\"workers\" data-value=\"4200\""));
    assert_non_null(
        strstr(html, "data-symbol=\"GOVERNMENT\" data-value=\"12345.72\"><title>财政资金"));
    /* No campaign span in these rollups: the days that have DAY rollups, summed. */
    assert_non_null(strstr(html, "data-day=\"2025-01-15\" data-value=\"5.00\""));
    assert_non_null(strstr(html, "data-day=\"2025-01-17\" data-value=\"0.07\""));
    assert_null(strstr(html, "data-day=\"2025-01-16\""));
    /* Drill-down links, escaped for the attribute. */
    assert_non_null(strstr(html, "<a href=\"/?campaign=C&amp;region=650000\">"));
    assert_non_null(strstr(html, "<option value=\"&lt;i&gt;&amp;\">&lt;i&gt;&amp;</option>"));
    assert_null(strstr(html, "<i>"));

    /* One level down: prefectures; then counties, which link nowhere. */
    q.region = "650000";
    assert_int_equal(render(s, regs, &q, &out), 0);
    html = (const char *)out.data;
    assert_non_null(strstr(html, "data-region=\"650100\" data-value=\"10000.00\""));
    assert_non_null(strstr(html, "data-region=\"654000\" data-value=\"2345.67\""));
    assert_null(strstr(html, "data-region=\"650000\""));
    assert_non_null(strstr(html, "data-metric=\"funding\" data-value=\"12345.67\""));
    assert_non_null(strstr(html, "data-day=\"2025-01-17\" data-value=\"0.07\""));
    q.region = "650100";
    assert_int_equal(render(s, regs, &q, &out), 0);
    html = (const char *)out.data;
    assert_non_null(strstr(html, "data-region=\"650102\" data-value=\"10000.00\""));
    assert_null(strstr(html, "region=650102"));
    assert_non_null(strstr(html, "data-day=\"2025-01-17\" data-value=\"0.06\""));

    /* Another metric, English. */
    q.region = NULL;
    q.metric = "visits";
    q.lang = "en";
    assert_int_equal(render(s, regs, &q, &out), 0);
    html = (const char *)out.data;
    assert_non_null(strstr(html, "<html lang=\"en\">"));
    assert_non_null(strstr(html, "Visits by province"));
    assert_non_null(strstr(html, "data-region=\"650000\" data-value=\"2\""));
    assert_non_null(strstr(html, "&amp;metric=visits&amp;lang=en\">"));
    assert_null(strstr(html, "资金来源"));

    /* The escaped campaign, shown by name; sums saturate instead of overflowing. */
    q.metric = NULL;
    q.campaign = "<i>&";
    assert_int_equal(render(s, regs, &q, &out), 0);
    assert_non_null(strstr((const char *)out.data, "<h1 id=\"campaign\">&lt;i&gt;&amp;</h1>"));
    q.campaign = "big";
    assert_int_equal(render(s, regs, &q, &out), 0);
    assert_non_null(strstr((const char *)out.data,
                           "data-metric=\"funding\" data-value=\"92233720368547758.07\""));

    /* Bad parameters: -2; an unknown campaign falls back to one that exists. */
    const char *bad_region[] = {"65", "6500001", "abcdef", "999999", "65000a"};
    for (size_t i = 0; i < sizeof bad_region / sizeof *bad_region; i++) {
        struct sink_page_query b = {NULL, NULL, bad_region[i], NULL, NULL};
        assert_int_equal(render(s, regs, &b, &out), -2);
    }
    struct sink_page_query bl = {NULL, NULL, NULL, "fr", NULL}, bm = {NULL, NULL, NULL, NULL, "x"};
    assert_int_equal(render(s, regs, &bl, &out), -2);
    assert_int_equal(render(s, regs, &bm, &out), -2);
    struct sink_page_query un = {"\xff", "nope", "", "zh", "surveys"};
    assert_int_equal(render(s, regs, &un, &out), 0);
    assert_non_null(strstr((const char *)out.data, "<h1 id=\"campaign\">"));

    op_buf_free(&out);
    op_regions_destroy(regs);
    sink_store_close(s);
}

static void test_format(void **state)
{
    (void)state;
    char b[64];
    sink_fmt_exact(b, sizeof b, INT64_MIN, SINK_UNIT_FEN);
    assert_string_equal(b, "-92233720368547758.08");
    sink_fmt_exact(b, sizeof b, -1, SINK_UNIT_FEN);
    assert_string_equal(b, "-0.01");
    sink_fmt_human(b, sizeof b, 999999, SINK_UNIT_FEN, 1);
    assert_string_equal(b, "9999.99元");
    sink_fmt_human(b, sizeof b, 1000000, SINK_UNIT_FEN, 1);
    assert_string_equal(b, "1.00万元");
    sink_fmt_human(b, sizeof b, 123456789, SINK_UNIT_FEN, 1);
    assert_string_equal(b, "123.46万元");
    sink_fmt_human(b, sizeof b, 45678, SINK_UNIT_COUNT, 1);
    assert_string_equal(b, "4.57万");
    sink_fmt_human(b, sizeof b, 123456789, SINK_UNIT_FEN, 0);
    assert_string_equal(b, "1,234,567.89 yuan");
    sink_fmt_human(b, sizeof b, INT64_MIN, SINK_UNIT_COUNT, 0);
    assert_string_equal(b, "-9,223,372,036,854,775,808");
    assert_string_equal(op_label(OP_LABEL_FUNDING_PURPOSE, "CASH_GRANT", 1), "慰问金");
    assert_null(op_label(OP_LABEL_FUNDING_SOURCE, "NOPE", 1));
}

/* A gzip bomb: inflating stops at max + 1 bytes, and no more memory than that is taken. */
static void test_gunzip_bound(void **state)
{
    (void)state;
    const size_t max = ((size_t)1 << 20) + 1000, plain = (size_t)8 << 20;
    unsigned char *zeros = calloc(1, plain), *gz = malloc(plain);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = zeros;
    zs.avail_in = (uInt)plain;
    zs.next_out = gz;
    zs.avail_out = (uInt)plain;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t gz_len = plain - zs.avail_out;
    deflateEnd(&zs);

    struct op_buf out = OP_BUF_INIT;
    assert_int_equal(sink_gunzip(gz, gz_len, &out, max), -2);
    assert_true(out.cap <= max + 1);
    op_buf_free(&out);
    /* Exactly max bytes is fine, and the buffer still holds no more than max + 1. */
    assert_int_equal(sink_gunzip(gz, gz_len, &out, plain), 0);
    assert_true(out.len == plain && out.cap <= plain + 1);
    assert_memory_equal(out.data, zeros, plain);
    op_buf_free(&out);
    free(zeros);
    free(gz);
}

/* With the region table: the region exists at the stated level, the window has its kind's
 * form; and a batch over the rollup-key cap is refused whole. */
static void test_rules_and_cap(void **state)
{
    (void)state;
    char key[SINK_KEY_MAX], err[512];
    int64_t rev;
    struct op_regions *regs = op_regions_new_default(err, sizeof err);
    assert_non_null(regs);
    const struct {
        const char *kind, *window, *region, *level, *msg;
    } cases[] = {
        {"DAY", "2025-01-15", "999999", "COUNTY", "region: 999999 is not in the region table"},
        {"DAY", "2025-01-15", "650102", "PROVINCE", "level: 650102 is a county, not PROVINCE"},
        {"DAY", "2025-13-45", "650102", "COUNTY",
         "window: \"2025-13-45\" is not a date (YYYY-MM-DD)"},
        {"DAY", "2025-02-29", "650102", "COUNTY",
         "window: \"2025-02-29\" is not a date (YYYY-MM-DD)"},
        {"DAY", "2025-01-15-7", "650102", "COUNTY",
         "window: \"2025-01-15-7\" is not a date (YYYY-MM-DD)"},
        {"MONTH", "2025-1", "650102", "COUNTY", "window: \"2025-1\" is not a month (YYYY-MM)"},
        {"ALL", "everything", "650000", "PROVINCE",
         "window: \"everything\" is not \"all\" (kind ALL)"},
        {"CAMPAIGN", "a\\tb", "650000", "PROVINCE",
         "window: the campaign name has a control character"},
        {"DAY", "2024-02-29", "650102", "COUNTY", NULL},
        {"MONTH", "2025-01", "650100", "PREFECTURE", NULL},
        {"ALL", "all", "650000", "PROVINCE", NULL},
        {"CAMPAIGN", "2025 两节送温暖", "650000", "PROVINCE", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *t =
            rollup_text(cases[i].kind, cases[i].window, cases[i].region, cases[i].level, 1, 100);
        json_t *r = json_loads(t, 0, NULL);
        assert_non_null(r);
        assert_int_equal(sink_validate_rollup(r, NULL, key, &rev, err, sizeof err), 0);
        int rc = sink_validate_rollup(r, regs, key, &rev, err, sizeof err);
        if (cases[i].msg) {
            assert_int_equal(rc, -1);
            assert_string_equal(err, cases[i].msg);
        } else {
            assert_int_equal(rc, 0);
        }
        json_decref(r);
        free(t);
    }

    struct sink_store *s = sink_store_open(NULL, 100, err, sizeof err);
    sink_store_set_limits(s, regs, 3);
    char *rs[4] = {rollup_text("DAY", "2025-01-15", "650102", "COUNTY", 1, 100),
                   rollup_text("MONTH", "2025-01", "650100", "PREFECTURE", 1, 100),
                   rollup_text("ALL", "all", "650000", "PROVINCE", 1, 100),
                   rollup_text("DAY", "2025-01-16", "650102", "COUNTY", 1, 100)};
    char *b4 = batch_text((const char *const *)rs, 4), *b3 = batch_text((const char *const *)rs, 3);
    assert_int_equal(sink_store_apply(s, "k4", b4, strlen(b4), NULL, NULL, err, sizeof err),
                     SINK_FULL);
    assert_string_equal(err, "the sink is full: 0 rollup keys stored, this batch adds 4, the cap "
                             "is 3 (--max-rollups); nothing was stored");
    assert_int_equal(sink_store_count(s), 0);
    assert_int_equal(sink_store_keys(s), 0);
    assert_int_equal(sink_store_apply(s, "k3", b3, strlen(b3), NULL, NULL, err, sizeof err),
                     SINK_ACCEPTED);
    assert_int_equal(sink_store_count(s), 3);
    /* Newer revisions of stored keys still fit. */
    free(rs[0]);
    rs[0] = rollup_text("DAY", "2025-01-15", "650102", "COUNTY", 2, 100);
    char *b1 = batch_text((const char *const *)rs, 1);
    assert_int_equal(sink_store_apply(s, "k1", b1, strlen(b1), NULL, NULL, err, sizeof err),
                     SINK_ACCEPTED);
    assert_int_equal(sink_store_stats(s)->full, 1);
    for (int i = 0; i < 4; i++)
        free(rs[i]);
    free(b4);
    free(b3);
    free(b1);
    sink_store_close(s);
    op_regions_destroy(regs);
}

static void test_fail_modes(void **state)
{
    (void)state;
    enum sink_fail_mode m;
    const char *names[] = {"ok", "503", "400", "slow", "drop"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(sink_fail_mode_parse(names[i], &m), 0);
        assert_int_equal(m, i);
        assert_string_equal(sink_fail_mode_name(m), names[i]);
    }
    assert_int_equal(sink_fail_mode_parse("500", &m), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_yuan),    cmocka_unit_test(test_validate),
        cmocka_unit_test(test_apply),         cmocka_unit_test(test_persistence),
        cmocka_unit_test(test_max_keys),      cmocka_unit_test(test_page),
        cmocka_unit_test(test_fail_modes),    cmocka_unit_test(test_gunzip_bound),
        cmocka_unit_test(test_rules_and_cap), cmocka_unit_test(test_dashboard),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
