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

static const struct agg_model *find_model;

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
    find_model = &f->model;
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

/* The working-set rollup whose Kafka key is `key`, or NULL. */
static struct agg_rollup *find(struct agg_state *s, const char *key)
{
    size_t pos = 0, len;
    const char *k;
    void *v;
    char buf[160];
    while (op_map_next(s->live, &pos, &k, &len, &v))
        if (agg_rollup_key(find_model, v, buf, sizeof buf) > 0 && strcmp(buf, key) == 0)
            return v;
    return NULL;
}

static int level_of(const struct fixture *f, const struct agg_rollup *r)
{
    return (int)op_regions_find(f->regions, agg_rollup_region(r))->level;
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
    struct agg_state *s = agg_state_new(3, NULL);
    /* 2025-01-30 10:00 +08 (in both campaigns) at 650102 乌鲁木齐天山区 */
    int64_t t = INT64_C(1738202400000);
    struct op_event a = visit("a", 650102, t, 2100);
    assert_int_equal(agg_apply(&f->model, s, &a), 0);
    /* windows: DAY, MONTH, ALL, 2 campaigns = 5; levels: county, prefecture, province = 3 */
    assert_int_equal(agg_state_live(s), 15);
    assert_int_equal(s->n_dirty, 15);
    struct agg_rollup *c = find(s, "DAY|2025-01-30|650102");
    struct agg_rollup *p = find(s, "CAMPAIGN|春节|650100");
    struct agg_rollup *prov = find(s, "ALL|all|650000");
    assert_non_null(c);
    assert_non_null(p);
    assert_non_null(prov);
    assert_int_equal(level_of(f, c), OP_REGION_COUNTY);
    assert_int_equal(level_of(f, p), OP_REGION_PREFECTURE);
    assert_int_equal(level_of(f, prov), OP_REGION_PROVINCE);
    assert_int_equal(prov->workers_reached, 2100);
    assert_int_equal(agg_rollup_dim(prov, AGG_GROUP, 1), 2100);
    assert_int_equal(agg_rollup_dim(prov, AGG_GROUP, 9), 2100);
    assert_int_equal(agg_rollup_dim(prov, AGG_GROUP, 2), 0);
    assert_int_equal(prov->n_dims, 3); /* activity 0, groups 1 and 9: sparse */
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
    struct agg_state *s = agg_state_new(0, NULL);
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
    assert_true(agg_rollup_dim(r, AGG_SOURCE, 0) == INT64_C(8000000000));
    assert_true(agg_rollup_dim(r, AGG_PURPOSE, 1) == INT64_C(8000000000));
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
    assert_int_equal(agg_rollup_dim(r, AGG_NEED, 1), 7);
    assert_int_equal(agg_rollup_dim(r, AGG_NEED, 3), 2);

    /* Out-of-range enum indices are refused, not written past the arrays. */
    ev.n_needs = 1;
    ev.needs[0].kind = AGG_DIM + 5;
    assert_int_equal(agg_apply(&f->model, s, &ev), -1);
    agg_state_destroy(s);
}

static void test_rollup_record_round_trip(void **state)
{
    struct fixture *f = *state;
    struct agg_state *s = agg_state_new(1, NULL);
    struct op_event ev = visit("x", 441900, INT64_C(1735700000000), 77); /* 东莞: no counties */
    assert_int_equal(agg_apply(&f->model, s, &ev), 0);
    struct agg_rollup *r = find(s, "CAMPAIGN|2025 两节送温暖|441900");
    assert_non_null(r);
    avro_value_t v;
    assert_int_equal(avro_generic_value_new(f->model.rollup->iface, &v), 0);
    char err[256];
    assert_int_equal(agg_rollup_to_value(&f->model, r, &v, err, sizeof err), 0);

    struct agg_rollup r2 = {0};
    int interned = 0;
    assert_int_equal(agg_rollup_from_value(&f->model, &v, &r2, &interned, err, sizeof err), 0);
    assert_int_equal(interned, 0); /* a configured campaign */
    assert_true(r2.id == r->id);
    assert_int_equal(r2.dirty, 0);
    assert_true(r2.revision == r->revision && r2.event_count == 1 && r2.workers_reached == 77 &&
                r2.households == 2 && r2.staff == 1);
    for (int d = 0; d < AGG_DIMS; d++)
        for (int k = 0; k < AGG_DIM; k++)
            assert_true(agg_rollup_dim(&r2, d, k) == agg_rollup_dim(r, d, k));
    assert_true(r2.first_at == r->first_at && r2.last_at == r->last_at);

    /* The compact form (the store's value) round-trips too, and refuses damage. */
    struct op_buf b = OP_BUF_INIT;
    assert_int_equal(agg_rollup_encode(r, &b), 0);
    struct agg_rollup r3 = {0};
    assert_int_equal(agg_rollup_decode(&r3, b.data, b.len), 0);
    assert_true(r3.revision == r->revision && r3.workers_reached == 77 && r3.n_dims == r->n_dims);
    for (int d = 0; d < AGG_DIMS; d++)
        for (int k = 0; k < AGG_DIM; k++)
            assert_true(agg_rollup_dim(&r3, d, k) == agg_rollup_dim(r, d, k));
    assert_int_equal(agg_rollup_decode(&r3, b.data, b.len - 1), -1);
    b.data[0] = 99; /* unknown format */
    assert_int_equal(agg_rollup_decode(&r3, b.data, b.len), -1);

    /* A campaign no longer configured is interned, not refused. */
    avro_value_t f2;
    assert_int_equal(avro_value_get_by_name(&v, "window", &f2, NULL), 0);
    assert_int_equal(avro_value_set_string(&f2, "2024 两节送温暖"), 0);
    size_t before = f->model.n_windows;
    assert_int_equal(agg_rollup_from_value(&f->model, &v, &r2, &interned, err, sizeof err), 0);
    assert_int_equal(interned, 1);
    assert_int_equal(f->model.n_windows, before + 1);
    assert_int_equal(agg_rollup_window(&r2), before);
    char key[160];
    assert_true(agg_rollup_key(&f->model, &r2, key, sizeof key) > 0);
    assert_string_equal(key, "CAMPAIGN|2024 两节送温暖|441900");
    agg_rollup_clear(&r2);
    agg_rollup_clear(&r3);
    op_buf_free(&b);
    avro_value_decref(&v);
    agg_state_destroy(s);
}

/* The direct writer must produce exactly avro-c's bytes (through the generic value path)
 * for rollups of every kind of event, sparse and dense maps, and large and negative sums. */
static void test_direct_writer_matches_avro_c(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->model.direct, 1);
    struct agg_state *s = agg_state_new(0, NULL);
    struct op_event ev = visit("v", 650102, INT64_C(1738202400000), 2100);
    assert_int_equal(agg_apply(&f->model, s, &ev), 0);
    memset(&ev, 0, sizeof ev);
    ev.type = OP_EVENT_FUNDING;
    ev.event_id = "f";
    ev.occurred_at = ev.reported_at = INT64_C(1738202400000);
    ev.agency_id = "A";
    ev.region = 650102;
    ev.amount_fen = INT64_C(4000000000123);
    ev.source = 3;
    ev.purpose = 2;
    ev.recipients = 1;
    assert_int_equal(agg_apply(&f->model, s, &ev), 0);
    ev.type = OP_EVENT_SURVEY;
    ev.enterprises = 12;
    ev.respondents = 300;
    ev.satisfaction[0] = 1;
    ev.satisfaction[4] = 290;
    ev.n_needs = 2;
    ev.needs[0].kind = 0;
    ev.needs[0].count = 7;
    ev.needs[1].kind = f->model.n_symbols[AGG_NEED] - 1;
    ev.needs[1].count = 2;
    assert_int_equal(agg_apply(&f->model, s, &ev), 0);
    avro_value_t v;
    assert_int_equal(avro_generic_value_new(f->model.rollup->iface, &v), 0);
    struct op_buf direct = OP_BUF_INIT, generic = OP_BUF_INIT;
    char err[256];
    size_t pos = 0, len, n = 0;
    const char *k;
    void *r;
    while (op_map_next(s->live, &pos, &k, &len, &r)) {
        struct agg_rollup *ro = r;
        if (n % 2)
            ro->revision = -ro->revision * INT64_C(1000000007); /* any long */
        direct.len = generic.len = 0;
        assert_int_equal(agg_rollup_write(&f->model, ro, &v, &direct, err, sizeof err), 0);
        avro_value_reset(&v);
        assert_int_equal(agg_rollup_to_value(&f->model, ro, &v, err, sizeof err), 0);
        assert_int_equal(op_codec_encode(f->model.rollup, &v, &generic, err, sizeof err), 0);
        assert_int_equal(direct.len, generic.len);
        assert_memory_equal(direct.data, generic.data, direct.len);
        n++;
    }
    assert_int_equal(n, 15);
    op_buf_free(&direct);
    op_buf_free(&generic);
    avro_value_decref(&v);
    agg_state_destroy(s);
}

/* A backing that knows one rollup and one id, as the store would. */
static int fake_load(void *opaque, int32_t p, uint64_t id, struct agg_rollup *out)
{
    (void)opaque;
    if (p != 2 || id != agg_rollup_id(AGG_ALL, 0, 650000))
        return 0;
    out->revision = 41;
    out->event_count = 10;
    out->workers_reached = 500;
    return 1;
}

static int fake_seen(void *opaque, int32_t p, const char *id, size_t n, struct op_buf *info)
{
    (void)opaque;
    if (p == 2 && n == 3 && memcmp(id, "old", 3) == 0)
        return info ? (op_buf_append(info, "rec", 3) ? -1 : 1) : 1;
    return 0;
}

static void test_seen_and_backing(void **state)
{
    struct fixture *f = *state;
    struct agg_backing backing = {fake_load, fake_seen, NULL};
    struct agg_state *s = agg_state_new(2, &backing);
    assert_int_equal(agg_seen_check_add(s, "a", 1000), 0);
    assert_int_equal(agg_seen_check_add(s, "a", 5000), 1);
    assert_int_equal(agg_seen_check_add(s, "old", 5000), 1); /* counted in an earlier run */
    struct op_event ev = visit("a", 650102, INT64_C(1738202400000), 7);
    assert_int_equal(agg_apply(&f->model, s, &ev), 0);
    struct agg_rollup *prov = find(s, "ALL|all|650000");
    assert_non_null(prov);
    assert_int_equal(prov->revision, 42); /* continues the stored revision */
    assert_int_equal(prov->event_count, 11);
    assert_int_equal(prov->workers_reached, 507);
    assert_int_equal(find(s, "ALL|all|650100")->revision, 1); /* not stored: new */
    /* After release (the store took it) the working set is empty and ids are forgotten
     * here; the backing answers for them. */
    agg_state_release(s);
    assert_int_equal(agg_state_live(s), 0);
    assert_int_equal(agg_seen_check_add(s, "a", 9000), 0);
    agg_state_destroy(s);
}

struct frozen_seen {
    int rollups, ids;
    int64_t prov_events; /* event_count of ALL|all|650000 as frozen */
};

static int frozen_rollup_cb(uint64_t id, const void *data, size_t len, void *opaque)
{
    struct frozen_seen *fs = opaque;
    struct agg_rollup r;
    memset(&r, 0, sizeof r);
    fs->rollups++;
    if (id == agg_rollup_id(AGG_ALL, 0, 650000)) {
        assert_int_equal(agg_rollup_decode(&r, data, len), 0);
        fs->prov_events = r.event_count;
        agg_rollup_clear(&r);
    }
    return 0;
}

static int frozen_id_cb(const char *id, size_t n, int64_t ms, const void *info, size_t len,
                        void *opaque)
{
    (void)id, (void)n, (void)ms, (void)info, (void)len;
    ((struct frozen_seen *)opaque)->ids++;
    return 0;
}

/* The store writer's view: a frozen generation stays readable and unchanged while the next
 * transaction's working set builds on its values. */
static void test_freeze_generation(void **state)
{
    struct fixture *f = *state;
    struct agg_backing backing = {fake_load, fake_seen, NULL};
    struct agg_state *s = agg_state_new(2, &backing);
    int64_t t = INT64_C(1738202400000);
    struct op_event a = visit("a", 650102, t, 7);
    assert_int_equal(agg_seen_check_add(s, "a", 1000), 0);
    assert_int_equal(agg_apply(&f->model, s, &a), 0);
    assert_int_equal(agg_state_freeze(s), -1); /* dirty rollups not produced yet */
    int n = 0;
    assert_int_equal(agg_take_dirty(s, count_cb, &n), 0);
    assert_int_equal(agg_state_freeze(s), 0);
    assert_int_equal(agg_state_freeze(s), -1); /* one frozen generation at a time */
    assert_int_equal(agg_state_live(s), 0);

    /* Next transaction: "a" is known through the frozen ids; a new event continues from the
     * frozen values (11 stored + 1 frozen + 1 now), not from the backing's. */
    assert_int_equal(agg_seen_check_add(s, "a", 2000), 1);
    assert_int_equal(agg_seen_check_add(s, "b", 2000), 0);
    struct op_event b = visit("b", 650102, t, 3);
    assert_int_equal(agg_apply(&f->model, s, &b), 0);
    struct agg_rollup *prov = find(s, "ALL|all|650000");
    assert_non_null(prov);
    assert_int_equal(prov->event_count, 12);
    assert_int_equal(prov->workers_reached, 510);
    assert_int_equal(prov->revision, 43);
    assert_int_equal(find(s, "DAY|2025-01-30|650102")->event_count, 2);

    /* The frozen generation is what was committed: 15 rollups (prov at 11 events), 1 id. */
    struct frozen_seen fs = {0, 0, 0};
    assert_int_equal(agg_state_each_frozen(s, frozen_rollup_cb, frozen_id_cb, &fs), 0);
    assert_int_equal(fs.rollups, 15);
    assert_int_equal(fs.ids, 1);
    assert_int_equal(fs.prov_events, 11);

    /* Thawed (the store has it): the frozen ids are the backing's business again. */
    agg_state_thaw(s);
    assert_int_equal(agg_state_each_frozen(s, frozen_rollup_cb, frozen_id_cb, &fs), 0);
    assert_int_equal(fs.rollups, 15);
    assert_int_equal(agg_seen_check_add(s, "a", 3000), 0); /* fake_seen knows only "old" */
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
        cmocka_unit_test(test_seen_and_backing),
        cmocka_unit_test(test_freeze_generation),
        cmocka_unit_test(test_direct_writer_matches_avro_c),
    };
    return cmocka_run_group_tests_name("aggregator-state", tests, setup, teardown);
}
