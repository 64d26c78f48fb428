/* Unit tests of outreach-gen's logic: options, determinism, rates, region and agency realism,
 * id-less uniqueness, gen_write. The output contract is in test_gen_output.c. */
#include "gen_test.h"

#define NRATE 20000

/* ---- options ----------------------------------------------------------------------------- */

static void test_options(void **state)
{
    struct gen_opts o;
    char err[256];
    int32_t day;
    (void)state;

    gen_opts_init(&o);
    assert_int_equal(o.format, GEN_FORMAT_JSONL);
    assert_int_equal(o.types, GEN_TYPE_ALL);
    assert_int_equal(gen_parse_date("2024-12-20", &day), 0);
    assert_int_equal(o.start_day, day);
    assert_int_equal(day, 20077); /* 2024-12-20 is day 20077 after 1970-01-01 */
    assert_true(o.no_id_rate == 0.1);
    /* seed and events are required */
    assert_int_equal(gen_opts_check(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "--seed"));

    assert_int_equal(gen_parse_date("2024-02-29", &day), 0);
    assert_int_equal(gen_parse_date("2025-02-29", &day), -1);
    assert_int_equal(gen_parse_date("2025-13-01", &day), -1);
    assert_int_equal(gen_parse_date("2025-1-01", &day), -1);
    assert_int_equal(gen_parse_date("1999-12-31", &day), -1);

    static const char *const bad[][2] = {
        {"seed", "-1"},
        {"seed", "18446744073709551616"},
        {"seed", ""},
        {"events", "1e6"},
        {"dup-rate", "1.5"},
        {"dup-rate", "-0.1"},
        {"late-rate", "nan"},
        {"no-id-rate", "0.1x"},
        {"format", "xml"},
        {"types", "visit,"},
        {"types", "visit,,survey"},
        {"types", "trip"},
        {"types", ""},
        {"agencies", "4294967296"},
        {"start", "2025-02-30"},
        {"bogus", "1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (gen_opts_set(&o, bad[i][0], bad[i][1], err, sizeof err) != -1)
            fail_msg("--%s %s accepted", bad[i][0], bad[i][1]);
        assert_true(strncmp(err, "--", 2) == 0);
    }
    assert_int_equal(gen_opts_set(&o, "seed", NULL, err, sizeof err), -1);

    opts_for(&o, "18446744073709551615", "0");
    set(&o, "types", "survey,visit");
    assert_int_equal(o.types, GEN_TYPE_SURVEY | GEN_TYPE_VISIT);
    set(&o, "start", "2025-02-01");
    set(&o, "end", "2025-01-31");
    assert_int_equal(gen_opts_check(&o, err, sizeof err), -1);
    assert_null(gen_new(&o, regs, err, sizeof err));
    set(&o, "end", "2025-02-01");
    assert_int_equal(gen_opts_check(&o, err, sizeof err), 0);

    /* More offices than the table has is an error, not silently fewer. */
    set(&o, "agencies", "100000");
    assert_null(gen_new(&o, regs, err, sizeof err));
    assert_non_null(strstr(err, "--agencies"));
}

/* ---- determinism ------------------------------------------------------------------------- */

static void test_determinism(void **state)
{
    struct gen_opts o;
    struct op_buf a = OP_BUF_INIT, b = OP_BUF_INIT, c = OP_BUF_INIT, d = OP_BUF_INIT;
    (void)state;

    opts_for(&o, "42", "5000");
    set(&o, "dup-rate", "0.05");
    set(&o, "late-rate", "0.1");
    run(&o, &a, NULL);
    run(&o, &b, NULL);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);

    /* A different seed gives different events. */
    opts_for(&o, "43", "5000");
    set(&o, "dup-rate", "0.05");
    set(&o, "late-rate", "0.1");
    run(&o, &c, NULL);
    assert_false(c.len == a.len && memcmp(a.data, c.data, a.len) == 0);

    /* CSV of the same options holds the same events: the same ids in the same order. */
    opts_for(&o, "42", "5000");
    set(&o, "dup-rate", "0.05");
    set(&o, "late-rate", "0.1");
    set(&o, "format", "csv");
    run(&o, &d, NULL);
    const char **jl, **cl;
    size_t *jlen, *clen;
    size_t nj = split_lines(&a, &jl, &jlen), nc = split_lines(&d, &cl, &clen);
    assert_int_equal(nj, 5000);
    assert_int_equal(nc, 5001);
    for (size_t i = 0; i < nj; i++) {
        const char *p = strstr(jl[i], "\"event_id\":\"");
        const char *q = memchr(cl[i + 1], ',', clen[i + 1]);
        assert_non_null(q);
        if (p && (size_t)(p - jl[i]) < jlen[i]) {
            p += 12;
            size_t n = (size_t)(strchr(p, '"') - p);
            assert_memory_equal(p, q + 1, n);
            assert_int_equal(q[1 + n], ',');
        } else {
            assert_int_equal(q[1], ','); /* no id in either */
        }
    }
    free(jl);
    free(jlen);
    free(cl);
    free(clen);
    op_buf_free(&a);
    op_buf_free(&b);
    op_buf_free(&c);
    op_buf_free(&d);
}

/* ---- rates ------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct measured {
    size_t lines, dups, late, normal_max_days, no_id, outside;
};

/* Counts from the output alone: duplicates as repeated lines, late as 14+ days between
 * occurred_at and reported_at, outside as occurred_at outside the default window. */
static void measure(const struct op_buf *out, struct measured *m)
{
    const char **lines;
    size_t *lens, n = split_lines(out, &lines, &lens);
    char **copy = malloc(n * sizeof *copy);
    assert_non_null(copy);
    memset(m, 0, sizeof *m);
    m->lines = n;
    for (size_t i = 0; i < n; i++) {
        copy[i] = strndup(lines[i], lens[i]);
        assert_non_null(copy[i]);
    }
    qsort(copy, n, sizeof *copy, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(copy[i], copy[i - 1]) == 0) {
            m->dups++;
            continue;
        }
        json_error_t jerr;
        json_t *j = json_loads(copy[i], 0, &jerr);
        assert_non_null(j);
        const char *occ = json_string_value(json_object_get(j, "occurred_at"));
        long long delay =
            parse_ts(json_string_value(json_object_get(j, "reported_at"))) - parse_ts(occ);
        if (delay >= 14 * 86400LL)
            m->late++;
        else if ((size_t)(delay / 86400) > m->normal_max_days)
            m->normal_max_days = (size_t)(delay / 86400);
        if (!json_object_get(j, "event_id"))
            m->no_id++;
        if (!in_window(occ, "2024-12-20", "2025-02-12"))
            m->outside++;
        json_decref(j);
    }
    for (size_t i = 0; i < n; i++)
        free(copy[i]);
    free(copy);
    free(lines);
    free(lens);
}

static void test_rates(void **state)
{
    struct gen_opts o;
    struct op_buf out = OP_BUF_INIT;
    struct gen_stats st;
    struct measured m;
    (void)state;

    opts_for(&o, "2025", "20000");
    set(&o, "dup-rate", "0.05");
    set(&o, "late-rate", "0.1");
    set(&o, "no-id-rate", "0.2");
    set(&o, "outside-rate", "0.15");
    run(&o, &out, &st);
    measure(&out, &m);
    assert_int_equal(m.lines, NRATE);
    assert_rate("duplicates", m.dups, NRATE, 0.05);
    assert_int_equal(m.dups, st.duplicates);
    size_t orig = NRATE - m.dups;
    assert_rate("late", m.late, orig, 0.1);
    assert_rate("no id", m.no_id, orig, 0.2);
    assert_rate("outside", m.outside, orig, 0.15);
    assert_int_equal(m.late, st.late);
    assert_int_equal(m.no_id, st.no_id);
    assert_int_equal(m.outside, st.outside);
    assert_true(m.normal_max_days < 8);
    op_buf_free(&out);

    /* All rates at 0: no repeated line, nothing late, every id, all in the window. */
    opts_for(&o, "2025", "20000");
    set(&o, "dup-rate", "0");
    set(&o, "late-rate", "0");
    set(&o, "no-id-rate", "0");
    set(&o, "outside-rate", "0");
    run(&o, &out, &st);
    measure(&out, &m);
    assert_int_equal(m.dups, 0);
    assert_int_equal(m.late, 0);
    assert_int_equal(m.no_id, 0);
    assert_int_equal(m.outside, 0);
    assert_int_equal(st.duplicates, 0);
    op_buf_free(&out);

    /* All at 1: every event late and id-less; lines after the first all repeat it. */
    opts_for(&o, "3", "1000");
    set(&o, "late-rate", "1");
    set(&o, "no-id-rate", "1");
    set(&o, "dup-rate", "0");
    run(&o, &out, &st);
    measure(&out, &m);
    assert_int_equal(m.late, 1000);
    assert_int_equal(m.no_id, 1000);
    op_buf_free(&out);
    opts_for(&o, "3", "1000");
    set(&o, "dup-rate", "1");
    run(&o, &out, &st);
    measure(&out, &m);
    assert_int_equal(m.dups, 999);
    op_buf_free(&out);
}

/* ---- regions, agencies, uniqueness ------------------------------------------------------- */

static void test_agencies(void **state)
{
    struct gen_opts o;
    struct op_buf out = OP_BUF_INIT;
    char err[256], id[32], prefix[16];
    (void)state;

    /* K offices: at most K distinct agency_ids, all from the run's list. */
    opts_for(&o, "5", "5000");
    set(&o, "agencies", "25");
    struct gen *g = gen_new(&o, regs, err, sizeof err);
    assert_non_null(g);
    assert_int_equal(gen_agency_count(g), 25);
    char ids[25][32];
    for (size_t i = 0; i < 25; i++) {
        assert_int_equal(gen_agency_at(g, i, ids[i], sizeof ids[i], prefix, sizeof prefix), 0);
        assert_true(op_region_prefix_valid(prefix));
        if (i)
            assert_true(strcmp(ids[i - 1], ids[i]) < 0); /* code order */
    }
    assert_int_equal(gen_agency_at(g, 25, id, sizeof id, prefix, sizeof prefix), -1);
    /* The article's offices are kept first. */
    int yunnan = 0, tianshan = 0;
    for (size_t i = 0; i < 25; i++) {
        yunnan |= strcmp(ids[i], "ACFTU-530000") == 0;
        tianshan |= strcmp(ids[i], "ACFTU-650102") == 0;
    }
    assert_true(yunnan && tianshan);
    gen_destroy(g);

    run(&o, &out, NULL);
    const char **lines;
    size_t *lens, n = split_lines(&out, &lines, &lens);
    size_t used[25] = {0}, anchors = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_loadb(lines[i], lens[i], 0, NULL);
        assert_non_null(j);
        const char *agency = json_string_value(json_object_get(j, "agency_id"));
        size_t k = 0;
        while (k < 25 && strcmp(ids[k], agency) != 0)
            k++;
        if (k == 25)
            fail_msg("agency %s not among the run's offices", agency);
        used[k]++;
        if (strcmp(agency, "ACFTU-650102") == 0 && json_object_get(j, "target_group") &&
            strcmp(json_string_value(json_object_get(j, "target_group")), "SANITATION") == 0)
            anchors++;
        json_decref(j);
    }
    size_t distinct = 0;
    for (size_t k = 0; k < 25; k++)
        distinct += used[k] > 0;
    assert_true(distinct > 20);
    assert_true(anchors > 0); /* 天山区 sanitation workers appear */
    free(lines);
    free(lens);
    op_buf_free(&out);

    /* One office: the Yunnan provincial union, which reports across its province. */
    opts_for(&o, "5", "2000");
    set(&o, "agencies", "1");
    g = gen_new(&o, regs, err, sizeof err);
    assert_non_null(g);
    assert_int_equal(gen_agency_at(g, 0, id, sizeof id, prefix, sizeof prefix), 0);
    assert_string_equal(id, "ACFTU-530000");
    assert_string_equal(prefix, "53");
    gen_destroy(g);
    run(&o, &out, NULL);
    n = split_lines(&out, &lines, &lens);
    size_t province = 0, below = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_loadb(lines[i], lens[i], 0, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "agency_id")), "ACFTU-530000");
        const char *region = json_string_value(json_object_get(j, "region"));
        assert_true(strncmp(region, "53", 2) == 0);
        if (strcmp(region, "530000") == 0)
            province++;
        else
            below++;
        json_decref(j);
    }
    assert_true(province > 0 && below > 0);
    free(lines);
    free(lens);
    op_buf_free(&out);
}

static void test_regions_spread(void **state)
{
    struct gen_opts o;
    struct op_buf out = OP_BUF_INIT;
    (void)state;

    opts_for(&o, "99", "20000");
    set(&o, "format", "csv");
    run(&o, &out, NULL);
    const char **lines;
    size_t *lens, n = split_lines(&out, &lines, &lens);
    size_t nreg = op_regions_count(regs);
    unsigned char *hit = calloc(nreg, 1);
    unsigned char provinces[100] = {0};
    assert_non_null(hit);
    for (size_t i = 1; i < n; i++) {
        /* region is the 6th cell; no earlier cell is ever quoted */
        const char *p = lines[i];
        for (int c = 0; c < 5; c++)
            p = strchr(p, ',') + 1;
        char code_s[7];
        memcpy(code_s, p, 6);
        code_s[6] = '\0';
        uint32_t code;
        assert_int_equal(op_regions_parse_code(code_s, &code), 0);
        const struct op_region *r = op_regions_find(regs, code);
        if (!r)
            fail_msg("row %zu: region %s not in the table", i, code_s);
        hit[r - op_regions_at(regs, 0)] = 1;
        provinces[code / 10000] = 1;
    }
    size_t distinct = 0, nprov = 0;
    for (size_t i = 0; i < nreg; i++)
        distinct += hit[i];
    for (int i = 0; i < 100; i++)
        nprov += provinces[i];
    /* All regions: every province, thousands of distinct codes. */
    assert_int_equal(nprov, 31);
    assert_true(distinct > 2500);
    free(hit);
    free(lines);
    free(lens);
    op_buf_free(&out);
}

/* Id-less events never share content, even in a run squeezed into one office and one day:
 * compared without reported_at and the v2 fields, as a producer might hash them. */
static void test_id_less_unique(void **state)
{
    struct gen_opts o;
    struct op_buf out = OP_BUF_INIT;
    struct gen_stats st;
    (void)state;

    opts_for(&o, "8", "5000");
    set(&o, "agencies", "1");
    set(&o, "start", "2025-01-10");
    set(&o, "end", "2025-01-10");
    set(&o, "outside-rate", "0");
    set(&o, "dup-rate", "0");
    set(&o, "no-id-rate", "1");
    run(&o, &out, &st);
    const char **lines;
    size_t *lens, n = split_lines(&out, &lines, &lens);
    char **keys = malloc(n * sizeof *keys);
    size_t nk = 0;
    assert_non_null(keys);
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_loadb(lines[i], lens[i], 0, NULL);
        assert_non_null(j);
        if (!json_object_get(j, "event_id")) {
            static const char *const drop[] = {
                "reported_at", "duration_minutes", "venue", "disbursement", "note", "campaign"};
            for (size_t k = 0; k < sizeof drop / sizeof drop[0]; k++)
                json_object_del(j, drop[k]);
            keys[nk++] = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        }
        json_decref(j);
    }
    assert_true(nk > n / 2); /* most stayed id-less */
    assert_int_equal(nk, st.no_id);
    qsort(keys, nk, sizeof *keys, cmp_str);
    for (size_t i = 1; i < nk; i++)
        if (strcmp(keys[i], keys[i - 1]) == 0)
            fail_msg("two id-less events share content: %s", keys[i]);
    for (size_t i = 0; i < nk; i++)
        free(keys[i]);
    free(keys);
    free(lines);
    free(lens);
    op_buf_free(&out);
}

static void test_write_and_empty(void **state)
{
    struct gen_opts o;
    char err[256], *mem = NULL;
    size_t size = 0;
    (void)state;

    /* gen_write to a stream gives the same bytes as gen_next. */
    opts_for(&o, "1", "300");
    struct op_buf want = OP_BUF_INIT;
    run(&o, &want, NULL);
    FILE *f = open_memstream(&mem, &size);
    assert_non_null(f);
    struct gen *g = gen_new(&o, regs, err, sizeof err);
    assert_non_null(g);
    assert_int_equal(gen_write(g, f), 0);
    gen_destroy(g);
    fclose(f);
    assert_int_equal(size, want.len);
    assert_memory_equal(mem, want.data, size);
    free(mem);
    op_buf_free(&want);

    /* Zero events: nothing in JSON Lines, the header alone in CSV. */
    const char *line;
    size_t len;
    opts_for(&o, "1", "0");
    g = gen_new(&o, regs, err, sizeof err);
    assert_int_equal(gen_next(g, &line, &len), 0);
    gen_destroy(g);
    set(&o, "format", "csv");
    g = gen_new(&o, regs, err, sizeof err);
    assert_int_equal(gen_next(g, &line, &len), 1);
    assert_true(strncmp(line, "type,event_id,", 14) == 0);
    assert_int_equal(gen_next(g, &line, &len), 0);
    gen_destroy(g);
    gen_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),         cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_rates),           cmocka_unit_test(test_agencies),
        cmocka_unit_test(test_regions_spread),  cmocka_unit_test(test_id_less_unique),
        cmocka_unit_test(test_write_and_empty),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
