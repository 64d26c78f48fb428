/* Unit tests for outreach-sink's audit entries (consumers/sink/audit.c, auditpage.c):
 * validation naming the field, dedup by (event_id, correction_to), the bound with eviction of
 * the oldest, region selection through the ancestor chain, newest-first order, the HTML view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../consumers/sink/audit.h"

static struct op_regions *regs;

static int setup(void **state)
{
    (void)state;
    char err[256];
    regs = op_regions_new_default(err, sizeof err);
    return regs ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    op_regions_destroy(regs);
    return 0;
}

/* One entry as JSON text: id, correction_to, applied_at, one change in region (a county). */
static char *entry(const char *id, int to, long long at, const char *region, const char *level)
{
    char *t = malloc(2048);
    assert_non_null(t);
    snprintf(t, 2048,
             "{\"event_id\":\"%s\",\"event_type\":\"FUNDING\",\"agency_id\":\"A\","
             "\"correction_from\":%d,\"correction_to\":%d,\"retracted\":false,\"reason\":\"r<&>\","
             "\"reported_at\":1,\"applied_at\":%lld,\"source_partition\":0,\"source_offset\":5,"
             "\"changes\":[{\"window_kind\":\"ALL\",\"window\":\"all\",\"region\":\"%s\","
             "\"level\":\"%s\",\"deltas\":{\"funding_fen\":-5,\"event_count\":0}}]}",
             id, to - 1, to, at, region, level);
    return t;
}

static int post(struct sink_audit *a, const char *e1, const char *e2, size_t *added, char *err,
                size_t size)
{
    char body[8192];
    snprintf(body, sizeof body, "{\"entries\":[%s%s%s]}", e1, e2 ? "," : "", e2 ? e2 : "");
    return sink_audit_apply(a, body, strlen(body), NULL, added, err, size);
}

static void test_validation(void **state)
{
    (void)state;
    struct sink_audit *a = sink_audit_new(10, regs);
    char err[512];
    size_t added;
    static const struct {
        const char *from, *to, *why;
    } cases[] = {
        {"\"event_id\":\"e1\"", "\"event_id\":\"\"", "entries[1].event_id:"},
        {"\"FUNDING\"", "\"MONEY\"", "entries[1].event_type:"},
        {"\"correction_to\":1", "\"correction_to\":0", "entries[1].correction_to:"},
        {"\"correction_from\":0", "\"correction_from\":1", "entries[1].correction_from:"},
        {"\"retracted\":false", "\"retracted\":0", "entries[1].retracted:"},
        {"\"reason\":\"r<&>\"", "\"reason\":5", "entries[1].reason:"},
        {"\"applied_at\":100", "\"applied_at\":\"x\"", "entries[1].applied_at:"},
        {"\"region\":\"530102\"", "\"region\":\"539999\"",
         "entries[1].changes[0].region: 539999 is not in the region table"},
        {"\"level\":\"COUNTY\"", "\"level\":\"PROVINCE\"",
         "entries[1].changes[0].level: 530102 is a COUNTY"},
        {"\"event_count\":0", "\"event_count\":0.5", "entries[1].changes[0].deltas.event_count:"},
        {"\"window_kind\":\"ALL\"", "\"window_kind\":\"YEAR\"",
         "entries[1].changes[0].window_kind:"},
    };
    char *good = entry("e0", 1, 100, "530102", "COUNTY");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = entry("e1", 1, 100, "530102", "COUNTY");
        char *at = strstr(e, cases[i].from);
        assert_non_null(at);
        char bad[4096];
        snprintf(bad, sizeof bad, "%.*s%s%s", (int)(at - e), e, cases[i].to,
                 at + strlen(cases[i].from));
        assert_int_equal(post(a, good, bad, &added, err, sizeof err), -1);
        if (!strstr(err, cases[i].why))
            fail_msg("case %zu: %s lacks %s", i, err, cases[i].why);
        assert_int_equal(added, 0);
        free(e);
    }
    /* all or nothing: the good entry before the bad one was not kept */
    assert_int_equal(sink_audit_size(a), 0);
    assert_int_equal(sink_audit_stats(a)->invalid, sizeof cases / sizeof cases[0]);
    assert_int_equal(sink_audit_apply(a, "[]", 2, NULL, NULL, err, sizeof err), -1);
    assert_int_equal(sink_audit_apply(a, "{", 1, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "not JSON"));
    free(good);
    sink_audit_destroy(a);
}

static void test_dedup_and_bound(void **state)
{
    (void)state;
    struct sink_audit *a = sink_audit_new(3, regs);
    char err[512];
    size_t added;
    char *e[5];
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof id, "e%d", i);
        e[i] = entry(id, 1, 1000 + i, "530102", "COUNTY");
    }
    assert_int_equal(post(a, e[0], e[1], &added, err, sizeof err), 0);
    assert_int_equal(added, 2);
    /* the same entries again: duplicates, nothing changes */
    assert_int_equal(post(a, e[1], e[0], &added, err, sizeof err), 0);
    assert_int_equal(added, 0);
    assert_int_equal(sink_audit_stats(a)->duplicates, 2);
    /* the same event, a higher correction: a new entry */
    char *e0b = entry("e0", 2, 2000, "530102", "COUNTY");
    assert_int_equal(post(a, e0b, NULL, &added, err, sizeof err), 0);
    assert_int_equal(added, 1);
    assert_int_equal(sink_audit_size(a), 3);
    /* over the bound: the oldest arrivals go first, and are counted */
    assert_int_equal(post(a, e[2], e[3], &added, err, sizeof err), 0);
    assert_int_equal(sink_audit_size(a), 3);
    assert_int_equal(sink_audit_stats(a)->evicted, 2);
    size_t n;
    const char **t = sink_audit_select(a, 0, 0, &n);
    assert_int_equal(n, 3);
    /* newest applied_at first: e0 correction 2 (2000), e3 (1003), e2 (1002) */
    assert_non_null(strstr(t[0], "\"event_id\":\"e0\""));
    assert_non_null(strstr(t[0], "\"correction_to\":2"));
    assert_non_null(strstr(t[1], "\"event_id\":\"e3\""));
    assert_non_null(strstr(t[2], "\"event_id\":\"e2\""));
    free(t);
    /* an evicted entry can come back */
    assert_int_equal(post(a, e[1], NULL, &added, err, sizeof err), 0);
    assert_int_equal(added, 1);
    for (int i = 0; i < 5; i++)
        free(e[i]);
    free(e0b);
    sink_audit_destroy(a);
}

static void test_regions_and_json(void **state)
{
    (void)state;
    struct sink_audit *a = sink_audit_new(0, regs);
    char err[512];
    char *km = entry("km", 1, 10, "530102", "COUNTY");     /* Kunming, Yunnan */
    char *qj = entry("qj", 1, 20, "530302", "COUNTY");     /* Qujing, Yunnan */
    char *gz = entry("gz", 1, 30, "440100", "PREFECTURE"); /* Guangzhou */
    assert_int_equal(post(a, km, qj, NULL, err, sizeof err), 0);
    assert_int_equal(post(a, gz, NULL, NULL, err, sizeof err), 0);
    size_t n;
    const char **t;
    struct {
        uint32_t code;
        size_t n;
        const char *first;
    } want[] = {{530102, 1, "km"}, {530100, 1, "km"}, {530300, 1, "qj"}, {530000, 2, "qj"},
                {440000, 1, "gz"}, {440100, 1, "gz"}, {440106, 0, NULL}, {0, 3, "gz"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        t = sink_audit_select(a, want[i].code, 0, &n);
        assert_int_equal(n, want[i].n);
        if (n) {
            char id[32];
            snprintf(id, sizeof id, "\"event_id\":\"%s\"", want[i].first);
            assert_non_null(strstr(t[0], id));
        }
        free(t);
    }
    t = sink_audit_select(a, 0, 2, &n);
    assert_int_equal(n, 2);
    free(t);
    struct op_buf b = OP_BUF_INIT;
    assert_int_equal(sink_audit_json(a, 530000, 0, &b), 0);
    assert_int_equal(op_buf_append(&b, "", 1), 0);
    json_t *j = json_loads((const char *)b.data, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "region")), "530000");
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 2);
    json_decref(j);
    op_buf_free(&b);
    /* the view: escaped text, names, yuan, newest first */
    assert_int_equal(sink_audit_page(a, regs, 530000, 1, &b), 0);
    assert_int_equal(op_buf_append(&b, "", 1), 0);
    const char *h = (const char *)b.data;
    assert_non_null(strstr(h, "云南省（530000）及下辖地区"));
    assert_non_null(strstr(h, "r&lt;&amp;&gt;"));
    assert_null(strstr(h, "r<&>"));
    assert_non_null(strstr(h, "五华区"));
    assert_non_null(strstr(h, "资金(元) <span data-field=\"funding_fen\">-0.05</span>"));
    assert_true(strstr(h, "data-event=\"qj\"") < strstr(h, "data-event=\"km\""));
    assert_null(strstr(h, "data-event=\"gz\""));
    op_buf_free(&b);
    assert_int_equal(sink_audit_page(a, regs, 440106, 0, &b), 0);
    assert_int_equal(op_buf_append(&b, "", 1), 0);
    assert_non_null(strstr((const char *)b.data, "No corrections yet."));
    op_buf_free(&b);
    free(km);
    free(qj);
    free(gz);
    sink_audit_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_dedup_and_bound),
        cmocka_unit_test(test_regions_and_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
