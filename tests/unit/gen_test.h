/* What the outreach-gen unit tests (test_gen.c, test_gen_output.c) share: the region table
 * fixture, running the generator, splitting its output, timestamps and binomial rates. */
#ifndef TESTS_UNIT_GEN_TEST_H
#define TESTS_UNIT_GEN_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>
#include <jansson.h>

#include "authz.h"
#include "buf.h"
#include "codec.h"
#include "embed.h"
#include "map.h"
#include "regions.h"
#include "../../tools/gen/gen.h"
#include "../../producers/input.h"
#include "../../producers/record.h"

static struct op_regions *regs;

static int setup(void **state)
{
    char err[256];
    (void)state;
    regs = op_regions_new_default(err, sizeof err);
    if (!regs) {
        fprintf(stderr, "op_regions_new_default: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    op_regions_destroy(regs);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static void opts_for(struct gen_opts *o, const char *seed, const char *events)
{
    char err[256];
    gen_opts_init(o);
    if (gen_opts_set(o, "seed", seed, err, sizeof err) != 0 ||
        gen_opts_set(o, "events", events, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static void set(struct gen_opts *o, const char *name, const char *value)
{
    char err[256];
    if (gen_opts_set(o, name, value, err, sizeof err) != 0)
        fail_msg("%s", err);
}

/* Runs the generator into out (appending); copies its statistics if st is not NULL. */
static void run(const struct gen_opts *o, struct op_buf *out, struct gen_stats *st)
{
    char err[256];
    const char *line;
    size_t len;
    struct gen *g = gen_new(o, regs, err, sizeof err);
    if (!g)
        fail_msg("gen_new: %s", err);
    while (gen_next(g, &line, &len)) {
        assert_true(len > 0 && line[len - 1] == '\n');
        assert_int_equal(op_buf_append(out, line, len), 0);
    }
    if (st)
        *st = *gen_get_stats(g);
    gen_destroy(g);
}

/* Splits the buffer into lines (without '\n'); returns how many, *lines caller-freed. */
static size_t split_lines(const struct op_buf *b, const char ***lines, size_t **lens)
{
    size_t n = 0, cap = 1024, start = 0;
    *lines = malloc(cap * sizeof **lines);
    *lens = malloc(cap * sizeof **lens);
    assert_non_null(*lines);
    assert_non_null(*lens);
    for (size_t i = 0; i < b->len; i++) {
        if (b->data[i] != '\n')
            continue;
        if (n == cap) {
            cap *= 2;
            *lines = realloc(*lines, cap * sizeof **lines);
            *lens = realloc(*lens, cap * sizeof **lens);
            assert_non_null(*lines);
            assert_non_null(*lens);
        }
        (*lines)[n] = (const char *)b->data + start;
        (*lens)[n] = i - start;
        n++;
        start = i + 1;
    }
    assert_int_equal(start, b->len); /* the output ends with a newline */
    return n;
}

/* Days since 1970-01-01 by counting, deliberately not the generator's algorithm. */
static long days_since_epoch(int y, int m, int d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    long days = 0;
    for (int yy = 1970; yy < y; yy++)
        days += 365 + ((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0);
    for (int mm = 1; mm < m; mm++)
        days += mdays[mm - 1] + (mm == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    return days + d - 1;
}

/* Parses "YYYY-MM-DDTHH:MM:SS+08:00" into seconds of Shanghai wall clock; fails the test on
 * any other shape. */
static long long parse_ts(const char *s)
{
    int y, mo, d, h, mi, se;
    char tail[8];
    if (strlen(s) != 25 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%6s", &y, &mo, &d, &h, &mi, &se, tail) != 7 ||
        strcmp(tail, "+08:00") != 0 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':')
        fail_msg("bad timestamp \"%s\"", s);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
        fail_msg("bad timestamp \"%s\"", s);
    return days_since_epoch(y, mo, d) * 86400LL + h * 3600 + mi * 60 + se;
}

static int in_window(const char *ts, const char *first, const char *last)
{
    return strncmp(ts, first, 10) >= 0 && strncmp(ts, last, 10) <= 0;
}

/* |got - want| within 5 standard deviations of a binomial (n, p), plus one. */
static void assert_rate(const char *what, size_t got, size_t n, double p)
{
    double want = (double)n * p, sd = sqrt(want * (1 - p));
    if ((double)got < want - 5 * sd - 1 || (double)got > want + 5 * sd + 1)
        fail_msg("%s: %zu of %zu, expected about %.0f", what, got, n, want);
}

#endif
