/* Unit tests for outreach-audit's filters and table (tools/audit/audit.c) and the shared
 * timestamp helpers they use: region ancestry, --since forms, yuan formatting, table lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tools/audit/audit.h"
#include "money.h"
#include "timestamp.h"

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

static json_t *entry(const char *agency, long long applied_at, const char *r1, const char *r2)
{
    json_t *changes = json_array();
    const char *rs[] = {r1, r2};
    for (int i = 0; i < 2; i++)
        if (rs[i])
            json_array_append_new(changes, json_pack("{s:s,s:s,s:s,s:s,s:{s:I}}", "window_kind",
                                                     "DAY", "window", "2025-01-15", "region", rs[i],
                                                     "level", "COUNTY", "deltas", "funding_fen",
                                                     (json_int_t)-36000000000LL));
    return json_pack("{s:s,s:s,s:s,s:n,s:i,s:b,s:s,s:I,s:I,s:o}", "event_id", "ev-1", "event_type",
                     "FUNDING", "agency_id", agency, "correction_from", "correction_to", 1,
                     "retracted", 0, "reason", "typo\nfixed", "reported_at", (json_int_t)0,
                     "applied_at", (json_int_t)applied_at, "changes", changes);
}

static void test_yuan(void **state)
{
    (void)state;
    char b[40];
    op_money_yuan(0, 1, b, sizeof b);
    assert_string_equal(b, "0.00");
    op_money_yuan(5, 1, b, sizeof b);
    assert_string_equal(b, "+0.05");
    op_money_yuan(-5, 1, b, sizeof b);
    assert_string_equal(b, "-0.05");
    op_money_yuan(-36000000000LL, 0, b, sizeof b);
    assert_string_equal(b, "-360000000.00");
    assert_int_equal(op_money_yuan(100, 0, b, 4), -1); /* "1.00" does not fit in 4 */
    op_money_yuan(INT64_MIN, 1, b, sizeof b);
    assert_string_equal(b, "-92233720368547758.08");
    op_money_yuan(123405, 0, b, sizeof b);
    assert_string_equal(b, "1234.05");
}

static void test_since(void **state)
{
    (void)state;
    char err[256];
    int64_t ms;
    /* 2025-01-16 00:00 in Shanghai is 2025-01-15 16:00 UTC */
    assert_int_equal(audit_parse_since("2025-01-16", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 1736956800000LL);
    assert_int_equal(audit_parse_since("2025-01-15T16:00:00Z", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 1736956800000LL);
    assert_int_equal(audit_parse_since("2025-02-30", &ms, err, sizeof err), -1);
    assert_non_null(strstr(err, "day out of range"));
    assert_int_equal(audit_parse_since("2025-01-16T08:00:00", &ms, err, sizeof err), -1);
    assert_non_null(strstr(err, "no UTC offset"));
    assert_int_equal(audit_parse_since("", &ms, err, sizeof err), -1);
}

static void test_region_parse(void **state)
{
    (void)state;
    char err[256];
    uint32_t c = 0;
    assert_int_equal(audit_parse_region(regs, "530100", &c, err, sizeof err), 0);
    assert_int_equal(c, 530100);
    assert_int_equal(audit_parse_region(regs, "53", &c, err, sizeof err), -1);
    assert_int_equal(audit_parse_region(regs, "539999", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "no such region"));
}

static void test_matches(void **state)
{
    (void)state;
    json_t *e = entry("A1", 1737000600000LL, "530102", "530302");
    struct audit_filter f = {0};
    assert_true(audit_matches(&f, e, regs));
    f.region = 530102; /* the county itself */
    assert_true(audit_matches(&f, e, regs));
    f.region = 530100; /* its prefecture */
    assert_true(audit_matches(&f, e, regs));
    f.region = 530300; /* the other change's prefecture */
    assert_true(audit_matches(&f, e, regs));
    f.region = 530000;
    assert_true(audit_matches(&f, e, regs));
    f.region = 530103; /* a sibling county */
    assert_false(audit_matches(&f, e, regs));
    f.region = 440000;
    assert_false(audit_matches(&f, e, regs));
    f.region = 0;
    f.agency = "A1";
    assert_true(audit_matches(&f, e, regs));
    f.agency = "A";
    assert_false(audit_matches(&f, e, regs));
    f.agency = NULL;
    f.has_since = 1;
    f.since_ms = 1737000600000LL; /* inclusive */
    assert_true(audit_matches(&f, e, regs));
    f.since_ms++;
    assert_false(audit_matches(&f, e, regs));
    f.has_since = 0;
    f.event = "ev-1";
    assert_true(audit_matches(&f, e, regs));
    f.event = "ev-2";
    assert_false(audit_matches(&f, e, regs));
    json_decref(e);
    /* a code not in the table matches itself only, never a prefix of it */
    e = entry("A1", 0, "539901", NULL);
    struct audit_filter g = {.region = 530000};
    assert_false(audit_matches(&g, e, regs));
    json_decref(e);
}

static void test_print_entry(void **state)
{
    (void)state;
    json_t *e = entry("A1", 1737000600000LL, "530102", NULL);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    audit_print_header(f);
    assert_int_equal(audit_print_entry(f, e, regs), 0);
    fclose(f);
    assert_string_equal(text, "时间\t事件编号\t单位\t更正\t撤回\t原因\n"
                              "2025-01-16 12:10:00\tev-1\tA1\t无→1\t否\ttypo fixed\n"
                              "  日 2025-01-15  530102 五华区(县级)  资金(元) -360000000.00\n");
    free(text);
    json_decref(e);
}

static void test_print_no_figure(void **state)
{
    (void)state;
    json_t *e = entry("A1", 0, "530100", NULL); /* the fixture's level: COUNTY */
    json_object_set_new(json_array_get(json_object_get(e, "changes"), 0), "deltas", json_object());
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(audit_print_entry(f, e, regs), 0);
    fclose(f);
    assert_non_null(strstr(text, "  日 2025-01-15  530100 昆明市(县级)  数字未变\n"));
    free(text);
    json_decref(e);
}

static void test_format_shanghai(void **state)
{
    (void)state;
    char b[32];
    op_ts_format_shanghai(0, b, sizeof b);
    assert_string_equal(b, "1970-01-01 08:00:00");
    op_ts_format_shanghai(-1, b, sizeof b); /* floor, not truncation */
    assert_string_equal(b, "1970-01-01 07:59:59");
    op_ts_format_shanghai(0, b, 10);
    assert_string_equal(b, "-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yuan),
        cmocka_unit_test(test_since),
        cmocka_unit_test(test_region_parse),
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_print_entry),
        cmocka_unit_test(test_format_shanghai),
        cmocka_unit_test(test_print_no_figure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
