/* Unit tests of common/calendar.c: day numbers against dates Python's datetime computed, a
 * day-by-day walk over 1900..2100 with its own month table, and the month lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "calendar.h"

/* Made offline with /usr/bin/python3 (3.11):
 *   E = datetime.date(1970, 1, 1).toordinal()
 *   datetime.date(y, m, d).toordinal() - E
 * for hand-picked edges (Excel's 1899-12-30/31 epochs, 1904, the century leap rules, the
 * campaign dates, 2038-01-19, 9999-12-31) and 12 dates from random.seed(13);
 * random.randint(1, date(9999, 12, 31).toordinal()). datetime stops at year 1: the rows after
 * "shifted" are date(y + 800, m, d).toordinal() - E - 2 * 146097 (800 Gregorian years are
 * exactly 2 * 146097 days). */
static const struct {
    int64_t y;
    int m, d;
    int64_t days;
} known[] = {
    {1, 1, 1, -719162},
    {1582, 10, 15, -141427},
    {1600, 2, 29, -135081},
    {1899, 12, 30, -25569},
    {1899, 12, 31, -25568},
    {1900, 1, 1, -25567},
    {1900, 2, 28, -25509},
    {1900, 3, 1, -25508},
    {1904, 1, 1, -24107},
    {1969, 12, 31, -1},
    {1970, 1, 1, 0},
    {1970, 1, 2, 1},
    {1999, 12, 31, 10956},
    {2000, 1, 1, 10957},
    {2000, 2, 28, 11015},
    {2000, 2, 29, 11016},
    {2000, 3, 1, 11017},
    {2024, 2, 28, 19781},
    {2024, 2, 29, 19782},
    {2024, 3, 1, 19783},
    {2024, 12, 20, 20077},
    {2025, 1, 29, 20117},
    {2025, 2, 12, 20131},
    {2038, 1, 19, 24855},
    {2099, 12, 31, 47481},
    {2100, 2, 28, 47540},
    {2100, 3, 1, 47541},
    {2400, 2, 29, 157113},
    {9999, 12, 31, 2932896},
    {2975, 5, 10, 367198},
    {3339, 12, 14, 500364},
    {7870, 3, 29, 2155018},
    {7856, 9, 25, 2150085},
    {9210, 11, 30, 2644689},
    {9754, 6, 14, 2843212},
    {2133, 10, 14, 59821},
    {7488, 6, 6, 2015565},
    {2648, 8, 24, 247870},
    {7651, 3, 21, 2075022},
    {1690, 12, 5, -101929},
    {9982, 11, 30, 2926656},
    /* shifted: before year 1 */
    {0, 1, 1, -719528},
    {0, 2, 29, -719469},
    {0, 3, 1, -719468},
    {-1, 12, 31, -719529},
    {-400, 1, 1, -865625},
};

static void test_known_dates(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        int64_t y;
        int m, d;
        if (op_days_from_civil(known[i].y, known[i].m, known[i].d) != known[i].days)
            fail_msg("%lld-%02d-%02d: %lld days, expected %lld", (long long)known[i].y, known[i].m,
                     known[i].d, (long long)op_days_from_civil(known[i].y, known[i].m, known[i].d),
                     (long long)known[i].days);
        op_civil_from_days(known[i].days, &y, &m, &d);
        if (y != known[i].y || m != known[i].m || d != known[i].d)
            fail_msg("day %lld: %lld-%02d-%02d, expected %lld-%02d-%02d", (long long)known[i].days,
                     (long long)y, m, d, (long long)known[i].y, known[i].m, known[i].d);
    }
}

/* The test's own calendar: month lengths by hand, the leap rule as the Gregorian reform
 * states it (every 4th year, not the centuries, but every 400th). */
static int ref_month_len(int64_t y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = y % 400 == 0 ? 1 : y % 100 == 0 ? 0 : y % 4 == 0;
    return len[m - 1] + (m == 2 && leap);
}

/* Every day from 1900-01-01 (day -25567, from the table) to 2100-12-31, counting forward with
 * the test's own month table: both directions agree on each day. Python says
 * date(2101, 1, 1) - date(1900, 1, 1) is 73414 days. */
static void test_walk_1900_to_2100(void **state)
{
    (void)state;
    int64_t y = 1900, n = -25567;
    int m = 1, d = 1;
    long count = 0;
    while (y <= 2100) {
        int64_t gy;
        int gm, gd;
        op_civil_from_days(n, &gy, &gm, &gd);
        if (gy != y || gm != m || gd != d)
            fail_msg("day %lld: %lld-%02d-%02d, expected %lld-%02d-%02d", (long long)n,
                     (long long)gy, gm, gd, (long long)y, m, d);
        if (op_days_from_civil(y, m, d) != n)
            fail_msg("%lld-%02d-%02d: %lld, expected %lld", (long long)y, m, d,
                     (long long)op_days_from_civil(y, m, d), (long long)n);
        n++;
        count++;
        if (++d > ref_month_len(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    assert_int_equal(count, 73414);
    assert_int_equal(n, op_days_from_civil(2101, 1, 1));
}

/* From year -768 to 10183 every day number comes back from its date, and consecutive days
 * are consecutive dates of the test's own calendar. */
static void test_round_trip_wide(void **state)
{
    (void)state;
    int64_t py = 0;
    int pm = 0, pd = 0;
    for (int64_t n = -1000000; n <= 3000000; n++) {
        int64_t y;
        int m, d;
        op_civil_from_days(n, &y, &m, &d);
        if (m < 1 || m > 12 || d < 1 || d > ref_month_len(y, m) || op_days_from_civil(y, m, d) != n)
            fail_msg("day %lld -> %lld-%02d-%02d does not come back", (long long)n, (long long)y, m,
                     d);
        if (n > -1000000) {
            int next = (d == pd + 1 && m == pm && y == py) ||
                       (d == 1 && pd == ref_month_len(py, pm) &&
                        ((m == pm + 1 && y == py) || (m == 1 && pm == 12 && y == py + 1)));
            if (!next)
                fail_msg("day %lld: %lld-%02d-%02d does not follow %lld-%02d-%02d", (long long)n,
                         (long long)y, m, d, (long long)py, pm, pd);
        }
        py = y;
        pm = m;
        pd = d;
    }
}

static void test_month_lengths(void **state)
{
    (void)state;
    /* calendar.monthrange(y, 2)[1] for 1900, 2000, 2024, 2025, 2100: 28 29 29 28 28 */
    assert_int_equal(op_days_in_month(1900, 2), 28);
    assert_int_equal(op_days_in_month(2000, 2), 29);
    assert_int_equal(op_days_in_month(2024, 2), 29);
    assert_int_equal(op_days_in_month(2025, 2), 28);
    assert_int_equal(op_days_in_month(2100, 2), 28);
    assert_int_equal(op_days_in_month(0, 2), 29);
    assert_int_equal(op_days_in_month(-4, 2), 29);
    assert_int_equal(op_days_in_month(-100, 2), 28);
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int m = 1; m <= 12; m++) {
        if (m != 2)
            assert_int_equal(op_days_in_month(2025, m), len[m - 1]);
    }
    assert_int_equal(op_days_in_month(2025, 0), 0);
    assert_int_equal(op_days_in_month(2025, 13), 0);
    assert_int_equal(op_days_in_month(2025, -1), 0);
    /* sum(calendar.isleap(y) for y in range(1600, 2401)) == 195 */
    int leaps = 0;
    for (int64_t y = 1600; y <= 2400; y++) {
        leaps += op_is_leap_year(y);
        assert_int_equal(op_is_leap_year(y), op_days_in_month(y, 2) == 29);
    }
    assert_int_equal(leaps, 195);
    assert_true(op_is_leap_year(1600));
    assert_false(op_is_leap_year(1700));
    assert_false(op_is_leap_year(1900));
    assert_true(op_is_leap_year(2000));
    assert_true(op_is_leap_year(2024));
}

/* Days past the month's end count on (callers such as the sink's day parser rely on it). */
static void test_day_overflow_counts_on(void **state)
{
    (void)state;
    assert_int_equal(op_days_from_civil(2025, 2, 30), op_days_from_civil(2025, 3, 2));
    assert_int_equal(op_days_from_civil(2024, 2, 31), op_days_from_civil(2024, 3, 2));
    assert_int_equal(op_days_from_civil(2025, 1, 0), op_days_from_civil(2024, 12, 31));
}

static void test_digits(void **state)
{
    (void)state;
    int v = -7;
    assert_int_equal(op_calendar_digits("2025-01-31", 4, &v), 0);
    assert_int_equal(v, 2025);
    assert_int_equal(op_calendar_digits("2025-01-31" + 5, 2, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(op_calendar_digits("0009", 4, &v), 0);
    assert_int_equal(v, 9);
    assert_int_equal(op_calendar_digits("999999999", 9, &v), 0);
    assert_int_equal(v, 999999999);
    /* Not a digit (sign, space, letter, full-width digit, end of string): -1, v unchanged. */
    static const char *const bad[] = {"-1", " 12", "1a", "\xef\xbc\x91\xef\xbc\x92", "1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = -7;
        assert_int_equal(op_calendar_digits(bad[i], 2, &v), -1);
        assert_int_equal(v, -7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_dates),
        cmocka_unit_test(test_walk_1900_to_2100),
        cmocka_unit_test(test_round_trip_wide),
        cmocka_unit_test(test_month_lengths),
        cmocka_unit_test(test_day_overflow_counts_on),
        cmocka_unit_test(test_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
