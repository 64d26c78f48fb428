/* Unit tests of the aggregator's state: Asia/Shanghai windows, campaign parsing, the region
 * chain, integer sums, revisions, dedup and the rollup record round trip. Expected numbers
 * are worked out by hand in the comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../consumers/aggregator/state.h"

struct fixture {
    struct op_codec *codec;
    struct op_regions *regions;
    struct agg_model model;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[512];
    f->codec = op_codec_new_default(err, sizeof err);
    f->regions = op_regions_new_default(err, sizeof err);
    if (!f->codec || !f->regions ||
        agg_model_init(&f->model, f->codec, f->regions,
                       "2025 两节送温暖:2024-12-20:2025-02-12;春节:2025-01-28:2025-02-04", err,
                       sizeof err) != 0) {
        print_error("setup: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    agg_model_free(&f->model);
    op_codec_destroy(f->codec);
    op_regions_destroy(f->regions);
    free(f);
    return 0;
}

static void test_shanghai_days(void **state)
{
    (void)state;
    char day[11], month[8];
    /* 2024-12-31T15:59:59.999Z is 23:59:59.999 in Shanghai; one ms later is New Year. */
    agg_day_of(INT64_C(1735660799999), day);
    assert_string_equal(day, "2024-12-31");
    agg_day_of(INT64_C(1735660800000), day);
    assert_string_equal(day, "2025-01-01");
    agg_month_of(INT64_C(1735660800000), month);
    assert_string_equal(month, "2025-01");
    /* 2024-02-29 (leap day) 12:00 Shanghai = 04:00Z = 1709179200000 */
    agg_day_of(INT64_C(1709179200000), day);
    assert_string_equal(day, "2024-02-29");
    /* Before the epoch still floors correctly: 1969-12-31T16:00:00Z = 1970-01-01 00:00 +08. */
    agg_day_of(INT64_C(-28800000), day);
    assert_string_equal(day, "1970-01-01");
    agg_day_of(INT64_C(-28800001), day);
    assert_string_equal(day, "1969-12-31");
}

static void test_campaign_parse(void **state)
{
    (void)state;
    struct agg_campaign *c;
    size_t n;
    char err[256];
    assert_int_equal(agg_campaigns_parse("A:2024-12-20:2025-02-12", &c, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    /* 2024-12-20 00:00 +08 = 2024-12-19T16:00Z = 1734624000000; end is after 02-12. */
    assert_true(c[0].start_ms == INT64_C(1734624000000));
    assert_true(c[0].end_ms == INT64_C(1739376000000)); /* 2025-02-13T00:00+08 */
    free(c[0].name);
    free(c);
    static const char *const bad[] = {"A:2025-02-30:2025-03-01",   "A:2025-01-02",
                                      ":2025-01-01:2025-01-02",    "A:2025-01-03:2025-01-02",
                                      "A|B:2025-01-01:2025-01-02", "A:20250101:20250102"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (agg_campaigns_parse(bad[i], &c, &n, err, sizeof err) == 0)
            fail_msg("accepted %s", bad[i]);
    }
    assert_int_equal(agg_campaigns_parse("", &c, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    free(c);
}

static struct op_event visit(const char *id, uint32_t region, int64_t at, int workers)
{
    struct op_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = OP_EVENT_VISIT;
    ev.event_id = id;
    ev.occurred_at = ev.reported_at = at;
    ev.agency_id = "A";
    ev.region = region;
    ev.activity = 0;
    ev.n_groups = 2;
    ev.groups[0] = 1;
    ev.groups[1] = 9;
    ev.workers_reached = workers;
    ev.households = 2;
    ev.staff = 1;
    return ev;
}

static struct agg_rollup *find(struct agg_state *s, const char *key)
{
    return op_map_get(s->rollups, key, strlen(key));
}

static int count_cb(struct agg_rollup *r, void *opaque)
{
    (void)r;
    (*(int *)opaque)++;
    return 0;
}

static void test_apply_chain_windows_revisions(void **state)
{
    struct fixture *f = *state;
    struct agg_state *s = agg_state_new(3);
    /* 2025-01-30 10:00 +08 (in both campaigns) at 650102 乌鲁木齐天山区 */
    int64_t t = INT64_C(1738202400000);
    struct op_event a = visit("a", 650102, t, 2100);
    assert_int_equal(agg_apply(&f->model, s, &a), 0);
    /* windows: DAY, MONTH, ALL, 2 campaigns = 5; levels: county, prefecture, province = 3 */
    assert_int_equal(op_map_size(s->rollups), 15);
    assert_int_equal(s->n_dirty, 15);
    struct agg_rollup *c = find(s, "DAY|2025-01-30|650102");
    struct agg_rollup *p = find(s, "CAMPAIGN|春节|650100");
    struct agg_rollup *prov = find(s, "ALL|all|650000");
    assert_non_null(c);
    assert_non_null(p);
    assert_non_null(prov);
    assert_int_equal(c->level, OP_REGION_COUNTY);
    assert_int_equal(p->level, OP_REGION_PREFECTURE);
    assert_int_equal(prov->level, OP_REGION_PROVINCE);
    assert_int_equal(prov->workers_reached, 2100);
    assert_int_equal(prov->by_group[1], 2100);
    assert_int_equal(prov->by_group[9], 2100);
    assert_int_equal(prov->revision, 1);

    /* A second event in the same cycle does not bump the revision again. */
    struct op_event b = visit("b", 650100, t + 1000, 10); /* filed at the prefecture */
    assert_int_equal(agg_apply(&f->model, s, &b), 0);
    assert_int_equal(c->event_count, 1); /* the county is untouched by a prefecture event */
    assert_int_equal(prov->revision, 1);
    assert_int_equal(prov->event_count, 2);
    assert_int_equal(prov->workers_reached, 2110);
    assert_true(prov->first_at == t && prov->last_at == t + 1000);
    int n = 0;
    assert_int_equal(agg_take_dirty(s, count_cb, &n), 0);
    assert_int_equal(n, 15);
    assert_int_equal(s->n_dirty, 0);

    /* A late event for an old window: that window's revision goes to 2. */
    struct op_event late = visit("late", 650102, t, 1);
    assert_int_equal(agg_apply(&f->model, s, &late), 0);
    assert_int_equal(c->revision, 2);
    assert_int_equal(c->workers_reached, 2101);
    agg_state_destroy(s);
}

static void test_funding_survey_sums(void **state)
{
    struct fixture *f = *state;
    struct agg_state *s = agg_state_new(0);
    struct op_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = OP_EVENT_FUNDING;
    ev.event_id = "f";
    ev.occurred_at = ev.reported_at = INT64_C(1735700000000);
    ev.agency_id = "A";
    ev.region = 530000;                  /* Yunnan provincial union: province level only */
    ev.amount_fen = INT64_C(4000000000); /* 40 million yuan */
    ev.source = 0;
    ev.purpose = 1;
    ev.recipients = 16000;
    assert_int_equal(agg_apply(&f->model, s, &ev), 0);
    assert_int_equal(agg_apply(&f->model, s, &ev), 0); /* apply does not dedup: caller does */
    struct agg_rollup *r = find(s, "ALL|all|530000");
    assert_non_null(r);
    assert_true(r->funding_fen == INT64_C(8000000000));
    assert_true(r->by_source[0] == INT64_C(8000000000));
    assert_true(r->by_purpose[1] == INT64_C(8000000000));
    assert_int_equal(r->recipients, 32000);
    assert_null(find(s, "ALL|all|530100")); /* nothing below the province */

    memset(&ev, 0, sizeof ev);
    ev.type = OP_EVENT_SURVEY;
    ev.event_id = "s";
    ev.occurred_at = ev.reported_at = INT64_C(1735700000000);
    ev.agency_id = "A";
    ev.region = 450200; /* Liuzhou */
    ev.enterprises = 12;
    ev.respondents = 300;
    int32_t sat[5] = {1, 2, 3, 4, 290};
    memcpy(ev.satisfaction, sat, sizeof sat);
    ev.n_needs = 2;
    ev.needs[0].kind = 1;
    ev.needs[0].count = 7;
    ev.needs[1].kind = 3;
    ev.needs[1].count = 2;
    assert_int_equal(agg_apply(&f->model, s, &ev), 0);
    r = find(s, "MONTH|2025-01|450000");
    assert_non_null(r);
    assert_int_equal(r->surveys, 1);
    assert_int_equal(r->enterprises, 12);
    assert_int_equal(r->respondents, 300);
    assert_int_equal(r->satisfaction[4], 290);
    assert_int_equal(r->needs[1], 7);
    assert_int_equal(r->needs[3], 2);

    /* Out-of-range enum indices are refused, not written past the arrays. */
    ev.n_needs = 1;
    ev.needs[0].kind = AGG_DIM + 5;
    assert_int_equal(agg_apply(&f->model, s, &ev), -1);
    agg_state_destroy(s);
}

static void test_rollup_record_round_trip(void **state)
{
    struct fixture *f = *state;
    struct agg_state *s = agg_state_new(1);
    struct op_event ev = visit("x", 441900, INT64_C(1735700000000), 77); /* 东莞: no counties */
    assert_int_equal(agg_apply(&f->model, s, &ev), 0);
    struct agg_rollup *r = find(s, "CAMPAIGN|2025 两节送温暖|441900");
    assert_non_null(r);
    avro_value_t v;
    assert_int_equal(avro_generic_value_new(f->model.rollup->iface, &v), 0);
    char err[256];
    assert_int_equal(agg_rollup_to_value(&f->model, r, &v, err, sizeof err), 0);

    struct agg_state *s2 = agg_state_new(1);
    assert_int_equal(agg_rollup_restore(&f->model, s2, &v, err, sizeof err), 0);
    struct agg_rollup *r2 = find(s2, "CAMPAIGN|2025 两节送温暖|441900");
    assert_non_null(r2);
    assert_int_equal(r2->dirty, 0);
    assert_int_equal(r2->level, OP_REGION_PREFECTURE);
    assert_true(r2->revision == r->revision && r2->event_count == 1 && r2->workers_reached == 77 &&
                r2->households == 2 && r2->staff == 1);
    assert_memory_equal(r2->by_group, r->by_group, sizeof r->by_group);
    assert_memory_equal(r2->by_activity, r->by_activity, sizeof r->by_activity);
    assert_true(r2->first_at == r->first_at && r2->last_at == r->last_at);
    avro_value_decref(&v);
    agg_state_destroy(s2);
    agg_state_destroy(s);
}

static void test_seen(void **state)
{
    (void)state;
    struct agg_state *s = agg_state_new(0);
    assert_int_equal(agg_seen_check_add(s, "a", 1000), 0);
    assert_int_equal(agg_seen_check_add(s, "a", 5000), 1);
    assert_int_equal(agg_seen_restore(s, "b", 3000), 0);
    assert_int_equal(agg_seen_check_add(s, "b", 9000), 1);
    for (int i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof id, "old%d", i);
        agg_seen_restore(s, id, 100);
    }
    /* Prune everything first seen before 2000: "a" (1000) and the 1000 old ones. */
    assert_int_equal(agg_seen_prune(s, 2000), 1001);
    assert_int_equal(agg_seen_check_add(s, "a", 9000), 0);
    assert_int_equal(agg_seen_check_add(s, "b", 9000), 1);
    agg_state_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shanghai_days),
        cmocka_unit_test(test_campaign_parse),
        cmocka_unit_test(test_apply_chain_windows_revisions),
        cmocka_unit_test(test_funding_survey_sums),
        cmocka_unit_test(test_rollup_record_round_trip),
        cmocka_unit_test(test_seen),
    };
    return cmocka_run_group_tests_name("aggregator-state", tests, setup, teardown);
}
