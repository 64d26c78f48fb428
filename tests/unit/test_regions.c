/* Unit tests for common/regions: the embedded GB/T 2260 table, chains, validation errors
 * with exact `origin:line: reason` text, code parsing and prefix authorisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "regions.h"

#define H "code,name,level,parent\n"

static struct op_regions *load_default(void)
{
    char err[256] = "";
    struct op_regions *regs = op_regions_new_default(err, sizeof(err));
    assert_string_equal(err, "");
    assert_non_null(regs);
    return regs;
}

static void test_default_counts(void **state)
{
    (void)state;
    struct op_regions *regs = load_default();
    size_t levels[4] = {0};

    /* 31 provinces, 342 prefectures, 2975 counties: counted in schemas/regions.csv. */
    assert_int_equal(op_regions_count(regs), 3348);
    for (size_t i = 0; i < op_regions_count(regs); i++) {
        const struct op_region *r = op_regions_at(regs, i);
        assert_non_null(r);
        assert_true(r->level >= OP_REGION_PROVINCE && r->level <= OP_REGION_COUNTY);
        levels[r->level]++;
        if (i > 0)
            assert_true(op_regions_at(regs, i - 1)->code < r->code);
    }
    assert_int_equal(levels[OP_REGION_PROVINCE], 31);
    assert_int_equal(levels[OP_REGION_PREFECTURE], 342);
    assert_int_equal(levels[OP_REGION_COUNTY], 2975);

    assert_int_equal(op_regions_at(regs, 0)->code, 110000);
    assert_string_equal(op_regions_at(regs, 0)->name, "北京市");
    assert_int_equal(op_regions_at(regs, 3347)->code, 659012);
    assert_string_equal(op_regions_at(regs, 3347)->name, "白杨市");
    assert_null(op_regions_at(regs, 3348));
    op_regions_destroy(regs);
}

static void test_chain_county(void **state)
{
    (void)state;
    struct op_regions *regs = load_default();
    const struct op_region *chain[3] = {0};

    const struct op_region *r = op_regions_find(regs, 530102);
    assert_non_null(r);
    assert_string_equal(r->name, "五华区");
    assert_int_equal(r->level, OP_REGION_COUNTY);
    assert_int_equal(r->parent, 530100);

    assert_int_equal(op_regions_chain(regs, 530102, chain), 3);
    assert_int_equal(chain[0]->code, 530102);
    assert_string_equal(chain[0]->name, "五华区");
    assert_int_equal(chain[1]->code, 530100);
    assert_string_equal(chain[1]->name, "昆明市");
    assert_int_equal(chain[1]->level, OP_REGION_PREFECTURE);
    assert_int_equal(chain[2]->code, 530000);
    assert_string_equal(chain[2]->name, "云南省");
    assert_int_equal(chain[2]->level, OP_REGION_PROVINCE);
    assert_int_equal(chain[2]->parent, 0);

    /* A county-level city directly under its province (via the 429000 placeholder). */
    assert_int_equal(op_regions_chain(regs, 429004, chain), 3);
    assert_string_equal(chain[0]->name, "仙桃市");
    assert_string_equal(chain[1]->name, "省直辖县级行政区划");
    assert_string_equal(chain[2]->name, "湖北省");
    op_regions_destroy(regs);
}

static void test_chain_prefecture_and_province(void **state)
{
    (void)state;
    struct op_regions *regs = load_default();
    const struct op_region *chain[3] = {0};

    assert_int_equal(op_regions_chain(regs, 530100, chain), 2);
    assert_string_equal(chain[0]->name, "昆明市");
    assert_string_equal(chain[1]->name, "云南省");

    assert_int_equal(op_regions_chain(regs, 530000, chain), 1);
    assert_string_equal(chain[0]->name, "云南省");

    assert_int_equal(op_regions_chain(regs, 530199, chain), 0);
    assert_int_equal(op_regions_chain(regs, 0, chain), 0);
    assert_int_equal(op_regions_chain(regs, 999999, chain), 0);
    assert_int_equal(op_regions_chain(regs, 1000000, chain), 0);
    assert_null(op_regions_find(regs, 530199));
    op_regions_destroy(regs);
}

static void test_prefecture_without_counties(void **state)
{
    (void)state;
    struct op_regions *regs = load_default();
    const struct op_region *chain[3] = {0};
    static const uint32_t childless[] = {441900, 442000, 460400};
    size_t guangdong_children = 0;

    const struct op_region *r = op_regions_find(regs, 441900);
    assert_non_null(r);
    assert_string_equal(r->name, "东莞市");
    assert_int_equal(r->level, OP_REGION_PREFECTURE);
    assert_int_equal(r->parent, 440000);
    assert_int_equal(op_regions_chain(regs, 441900, chain), 2);
    assert_string_equal(chain[0]->name, "东莞市");
    assert_string_equal(chain[1]->name, "广东省");

    for (size_t i = 0; i < op_regions_count(regs); i++) {
        r = op_regions_at(regs, i);
        for (size_t j = 0; j < 3; j++)
            assert_int_not_equal(r->parent, childless[j]);
        if (r->parent == 440000)
            guangdong_children++;
    }
    assert_int_equal(guangdong_children, 21);
    assert_string_equal(op_regions_find(regs, 442000)->name, "中山市");
    assert_string_equal(op_regions_find(regs, 460400)->name, "儋州市");
    op_regions_destroy(regs);
}

static void expect_error(const char *csv, size_t len, const char *want)
{
    char err[256] = "";
    struct op_regions *regs = op_regions_new_from_buffer(csv, len, "t.csv", err, sizeof(err));

    if (regs)
        fail_msg("loaded, expected: %s", want);
    assert_string_equal(err, want);
}

static void test_bad_csv(void **state)
{
    (void)state;
    static const struct {
        const char *csv, *err;
    } cases[] = {
        {"", "t.csv:1: expected header \"code,name,level,parent\""},
        {"code,name,level\n110000,北京市,province\n",
         "t.csv:1: expected header \"code,name,level,parent\""},
        {H, "t.csv:1: no regions after the header"},
        {H "110000,北京市,province,\n11010,东城区,county,110100\n", "t.csv:3: bad code \"11010\""},
        {H "11000a,北京市,province,\n", "t.csv:2: bad code \"11000a\""},
        {H "1100000,北京市,province,\n", "t.csv:2: bad code \"1100000\""},
        {H " 110000,北京市,province,\n", "t.csv:2: bad code \" 110000\""},
        {H "110000,北京市,city,\n", "t.csv:2: unknown level \"city\""},
        {H "110000,北京市,Province,\n", "t.csv:2: unknown level \"Province\""},
        {H "110000,北京市,province\n",
         "t.csv:2: expected 4 fields (code,name,level,parent), got 3"},
        {H "110000,北,京市,province,\n",
         "t.csv:2: expected 4 fields (code,name,level,parent), got 5"},
        {H "110000,,province,\n", "t.csv:2: empty name for 110000"},
        {H "110000,北京市,province,100000\n", "t.csv:2: province 110000 must have no parent"},
        {H "110000,北京市,province,\n110100,市辖区,prefecture,1100\n",
         "t.csv:3: bad parent code \"1100\""},
        {H "110100,市辖区,province,\n", "t.csv:2: code 110100 is not a province code (NN0000)"},
        {H "000000,无,province,\n", "t.csv:2: code 000000 is not a province code (NN0000)"},
        {H "110000,北京市,province,\n110101,东城区,prefecture,110000\n",
         "t.csv:3: code 110101 is not a prefecture code (NNMM00 with MM not 00)"},
        {H "110000,北京市,province,\n110100,市辖区,county,110000\n",
         "t.csv:3: code 110100 is not a county code (NNMMCC with MM and CC not 00)"},
        {H "110000,北京市,province,\n110101,东城区,county,110100\n",
         "t.csv:3: parent 110100 of 110101 not found"},
        {H "110000,北京市,province,\n110101,东城区,county,110000\n",
         "t.csv:3: parent 110000 of 110101 is a province, expected a prefecture"},
        {H "110000,北京市,province,\n110100,市辖区,prefecture,110000\n"
           "120100,市辖区,prefecture,110100\n",
         "t.csv:4: parent 110100 of 120100 is a prefecture, expected a province"},
        {H "110000,北京市,province,\n120000,天津市,province,\n110100,市辖区,prefecture,120000\n",
         "t.csv:4: code 110100 is not within its parent 120000"},
        {H "110000,北京市,province,\n110100,市辖区,prefecture,110000\n"
           "110200,县,prefecture,110000\n110201,密云区,county,110100\n",
         "t.csv:5: code 110201 is not within its parent 110100"},
        {H "110000,北京市,province,\n120000,天津市,province,\n110000,北京,province,\n",
         "t.csv:4: duplicate code 110000 (first on line 2)"},
        /* The earliest offending line is reported, not the smallest code. */
        {H "120000,天津市,province,\n110000,北京市,province,\n120000,天津,province,\n"
           "110000,北京,province,\n",
         "t.csv:4: duplicate code 120000 (first on line 2)"},
        {H "120101,和平区,county,120100\n110000,北京市,province,\n110101,东城区,county,110100\n",
         "t.csv:2: parent 120100 of 120101 not found"},
        {H "110000,北京市,province,\n\n\n110000,北京市,province,\n",
         "t.csv:5: duplicate code 110000 (first on line 2)"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(cases[i].csv, strlen(cases[i].csv), cases[i].err);

    static const char nul[] = H "110000,北京\0市,province,\n";
    expect_error(nul, sizeof(nul) - 1, "t.csv:2: NUL byte in line");
}

static void test_lenient_syntax(void **state)
{
    (void)state;
    char err[256] = "";
    const struct op_region *chain[3] = {0};
    /* BOM, CRLF, blank lines, children before parents, no final newline. */
    static const char text[] = "\xef\xbb\xbf"
                               "code,name,level,parent\r\n"
                               "110101,东城区,county,110100\r\n"
                               "\r\n"
                               "110100,市辖区,prefecture,110000\r\n"
                               "110000,北京市,province,";
    char *csv = malloc(sizeof(text));
    assert_non_null(csv);
    memcpy(csv, text, sizeof(text));

    struct op_regions *regs =
        op_regions_new_from_buffer(csv, sizeof(text) - 1, "t.csv", err, sizeof(err));
    /* The table must not point into the caller's buffer. */
    memset(csv, 'x', sizeof(text));
    free(csv);
    assert_non_null(regs);
    assert_int_equal(op_regions_count(regs), 3);
    assert_int_equal(op_regions_chain(regs, 110101, chain), 3);
    assert_string_equal(chain[0]->name, "东城区");
    assert_string_equal(chain[1]->name, "市辖区");
    assert_string_equal(chain[2]->name, "北京市");
    assert_int_equal(op_regions_at(regs, 0)->code, 110000);
    assert_int_equal(op_regions_at(regs, 2)->code, 110101);
    op_regions_destroy(regs);
}

static void test_from_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_regions_XXXXXX", err[256] = "", want[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(H "530000,云南省,province,\n530100,昆明市,prefecture,530000\n"
            "530102,五华区,county,530100\n530103,盘龙区,county,530199\n",
          f);
    fclose(f);

    struct op_regions *regs = op_regions_new_from_file(path, err, sizeof(err));
    assert_null(regs);
    snprintf(want, sizeof(want), "%s:5: parent 530199 of 530103 not found", path);
    assert_string_equal(err, want);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs(H "530000,云南省,province,\n530100,昆明市,prefecture,530000\n"
            "530102,五华区,county,530100\n",
          f);
    fclose(f);
    regs = op_regions_new_from_file(path, err, sizeof(err));
    assert_non_null(regs);
    assert_int_equal(op_regions_count(regs), 3);
    assert_string_equal(op_regions_find(regs, 530102)->name, "五华区");
    op_regions_destroy(regs);
    unlink(path);

    assert_null(op_regions_new_from_file("/nonexistent/regions.csv", err, sizeof(err)));
    assert_string_equal(err, "/nonexistent/regions.csv: No such file or directory");
}

static void test_parse_code(void **state)
{
    (void)state;
    uint32_t code = 7;

    assert_int_equal(op_regions_parse_code("530102", &code), 0);
    assert_int_equal(code, 530102);
    assert_int_equal(op_regions_parse_code("000000", &code), 0);
    assert_int_equal(code, 0);

    static const char *const bad[] = {"",       "53010",   "5301020", "53010a",
                                      " 53010", "530102 ", "+53010",  "-53010",
                                      "53 102", "５30102", "0x5301",  "530102\n"};
    code = 7;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(op_regions_parse_code(bad[i], &code), -1);
        assert_int_equal(code, 7);
    }
    assert_int_equal(op_regions_parse_code(NULL, &code), -1);
}

static void test_province_code_and_level_name(void **state)
{
    (void)state;
    assert_int_equal(op_region_province_code(530102), 530000);
    assert_int_equal(op_region_province_code(441900), 440000);
    assert_int_equal(op_region_province_code(110000), 110000);
    assert_string_equal(op_region_level_name(OP_REGION_PROVINCE), "province");
    assert_string_equal(op_region_level_name(OP_REGION_PREFECTURE), "prefecture");
    assert_string_equal(op_region_level_name(OP_REGION_COUNTY), "county");
}

static size_t count_matching(const struct op_regions *regs, const char *prefix)
{
    size_t n = 0;

    for (size_t i = 0; i < op_regions_count(regs); i++)
        n += (size_t)op_region_matches_prefix(op_regions_at(regs, i)->code, prefix);
    return n;
}

static void test_prefix(void **state)
{
    (void)state;
    assert_int_equal(op_region_matches_prefix(530102, "53"), 1);
    assert_int_equal(op_region_matches_prefix(530102, "5301"), 1);
    assert_int_equal(op_region_matches_prefix(530102, "530102"), 1);
    assert_int_equal(op_region_matches_prefix(530000, "53"), 1);
    assert_int_equal(op_region_matches_prefix(530102, "5302"), 0);
    assert_int_equal(op_region_matches_prefix(530102, "44"), 0);
    assert_int_equal(op_region_matches_prefix(530102, "530103"), 0);
    assert_int_equal(op_region_matches_prefix(530102, "530000"), 0);
    assert_int_equal(op_region_matches_prefix(1530102, "53"), 0);

    /* A malformed prefix never authorises anything. */
    static const char *const bad[] = {"", "5", "530", "53010", "5301020", "5a", "５3", "53 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(op_region_matches_prefix(530102, bad[i]), 0);
        assert_int_equal(op_region_prefix_valid(bad[i]), 0);
    }
    assert_int_equal(op_region_matches_prefix(530102, NULL), 0);
    assert_int_equal(op_region_prefix_valid(NULL), 0);
    assert_int_equal(op_region_prefix_valid("53"), 1);
    assert_int_equal(op_region_prefix_valid("5301"), 1);
    assert_int_equal(op_region_prefix_valid("530102"), 1);

    /* Row counts by code prefix, taken from schemas/regions.csv with awk. */
    struct op_regions *regs = load_default();
    assert_int_equal(count_matching(regs, "53"), 146);
    assert_int_equal(count_matching(regs, "5301"), 15);
    assert_int_equal(count_matching(regs, "44"), 144);
    assert_int_equal(count_matching(regs, "441900"), 1);
    op_regions_destroy(regs);
}

static void test_destroy_null(void **state)
{
    (void)state;
    op_regions_destroy(NULL);
    assert_int_equal(op_regions_count(NULL), 0);
    assert_null(op_regions_find(NULL, 110000));
    assert_null(op_regions_at(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_counts),
        cmocka_unit_test(test_chain_county),
        cmocka_unit_test(test_chain_prefecture_and_province),
        cmocka_unit_test(test_prefecture_without_counties),
        cmocka_unit_test(test_bad_csv),
        cmocka_unit_test(test_lenient_syntax),
        cmocka_unit_test(test_from_file),
        cmocka_unit_test(test_parse_code),
        cmocka_unit_test(test_province_code_and_level_name),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_destroy_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
