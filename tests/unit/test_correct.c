/* Unit tests of corrections and retractions (consumers/aggregator/correct.c): the rules of
 * docs/events.md (Corrections) on the aggregator's state. Expected figures are worked out by
 * hand in the comments from the events each test counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../consumers/aggregator/correct.h"

struct fixture {
    struct op_codec *codec;
    struct op_regions *regions;
    struct op_authz *authz;
    struct agg_model model;
    struct agg_count_rules rules;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[512];
    f->codec = op_codec_new_default(err, sizeof err);
    f->regions = op_regions_new_default(err, sizeof err);
    f->authz = op_authz_new();
    if (!f->codec || !f->regions || !f->authz ||
        op_authz_add(f->authz, "XJ", "65", err, sizeof err) != 0 ||
        op_authz_add(f->authz, "TS", "650102", err, sizeof err) != 0 ||
        agg_model_init(&f->model, f->codec, f->regions, "2025 两节送温暖:2024-12-20:2025-02-12",
                       err, sizeof err) != 0) {
        print_error("setup: %s\n", err);
        return -1;
    }
    f->rules = (struct agg_count_rules){f->authz, 0, 600000};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    agg_model_free(&f->model);
    op_authz_destroy(f->authz);
    op_codec_destroy(f->codec);
    op_regions_destroy(f->regions);
    free(f);
    return 0;
}

/* 2025-01-15 10:00 +08: in DAY 2025-01-15, MONTH 2025-01, the campaign and ALL. */
#define T0 INT64_C(1736906400000)
#define DAY_MS INT64_C(86400000)

static struct op_event funding(const char *id, uint32_t region, int64_t fen, int32_t correction)
{
    struct op_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = OP_EVENT_FUNDING;
    ev.event_id = id;
    ev.occurred_at = ev.reported_at = T0;
    ev.agency_id = "XJ";
    ev.region = region;
    ev.amount_fen = fen;
    ev.source = 0;
    ev.purpose = 1;
    ev.recipients = 100;
    ev.correction = correction;
    ev.correction_reason = correction ? "金额录入错误" : NULL;
    return ev;
}

static struct op_event visit(const char *id, uint32_t region, int32_t workers, int32_t correction)
{
    struct op_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = OP_EVENT_VISIT;
    ev.event_id = id;
    ev.occurred_at = ev.reported_at = T0;
    ev.agency_id = "XJ";
    ev.region = region;
    ev.n_groups = 1;
    ev.groups[0] = 2;
    ev.workers_reached = workers;
    ev.households = 3;
    ev.staff = 2;
    ev.correction = correction;
    ev.correction_reason = correction ? "重复上报" : NULL;
    return ev;
}

/* The rollup with this key in the working set, looked up by id (NULL when absent). */
static struct agg_rollup *get(struct fixture *f, struct agg_state *s, int kind, const char *window,
                              uint32_t region)
{
    uint16_t w = 0;
    if (kind == AGG_CAMPAIGN) {
        int added;
        assert_int_equal(agg_model_intern(&f->model, window, &w, &added), 0);
    } else if (kind != AGG_ALL) {
        struct agg_window ws[AGG_MAX_WINDOWS];
        agg_event_windows(&f->model, T0, ws);
        w = ws[kind == AGG_DAY ? 0 : 1].number;
    }
    uint64_t id = agg_rollup_id(kind, w, region);
    return op_map_get(s->live, (const char *)&id, sizeof id);
}

/* Every window of T0 at the three levels of 650102. */
static const uint32_t chain_650102[3] = {650102, 650100, 650000};
static const int kinds[4] = {AGG_DAY, AGG_MONTH, AGG_CAMPAIGN, AGG_ALL};

static int64_t funding_at(struct fixture *f, struct agg_state *s, int kind, uint32_t region)
{
    struct agg_rollup *r = get(f, s, kind, "2025 两节送温暖", region);
    return r ? r->funding_fen : -1;
}

static int flushed(struct agg_rollup *r, void *opaque)
{
    (void)r, (void)opaque;
    return 0;
}

static enum agg_outcome count(struct fixture *f, struct agg_state *s, const struct op_event *ev,
                              struct agg_counted *c)
{
    assert_int_equal(agg_count(&f->model, s, ev, 1000, &f->rules, c), 0);
    return c->outcome;
}

/* 4亿 typed for 4000万: 40,000,000,000 fen corrected to 4,000,000,000 changes the county,
 * prefecture and province in every window by exactly the difference. */
static void test_amount_corrected_everywhere(void **state)
{
    struct fixture *f = *state;
    struct agg_state *s = agg_state_new(0, NULL);
    struct agg_counted c;
    struct op_event other = funding("f-other", 650103, 500, 0); /* same prefecture */
    struct op_event orig = funding("f-1", 650102, INT64_C(40000000000), 0);
    assert_int_equal(count(f, s, &other, &c), AGG_COUNTED);
    assert_int_equal(count(f, s, &orig, &c), AGG_COUNTED);
    for (int k = 0; k < 4; k++) {
        assert_true(funding_at(f, s, kinds[k], 650102) == INT64_C(40000000000));
        assert_true(funding_at(f, s, kinds[k], 650100) == INT64_C(40000000500));
        assert_true(funding_at(f, s, kinds[k], 650000) == INT64_C(40000000500));
    }
    int64_t rev = get(f, s, AGG_ALL, NULL, 650000)->revision;
    assert_int_equal(agg_take_dirty(s, flushed, NULL), 0); /* the next change: a new revision */

    struct op_event fix = funding("f-1", 650102, INT64_C(4000000000), 1);
    assert_int_equal(count(f, s, &fix, &c), AGG_CORRECTED);
    assert_int_equal(c.from, 0);
    for (int k = 0; k < 4; k++) {
        assert_true(funding_at(f, s, kinds[k], 650102) == INT64_C(4000000000));
        assert_true(funding_at(f, s, kinds[k], 650100) == INT64_C(4000000500));
        assert_true(funding_at(f, s, kinds[k], 650000) == INT64_C(4000000500));
        for (int l = 0; l < 3; l++) {
            struct agg_rollup *r = get(f, s, kinds[k], "2025 两节送温暖", chain_650102[l]);
            assert_int_equal(r->event_count, l == 0 ? 1 : 2); /* still counted once */
            assert_int_equal(r->corrections, 1);
            assert_int_equal(agg_rollup_dim(r, AGG_SOURCE, 0),
                             l == 0 ? INT64_C(4000000000) : INT64_C(4000000500));
        }
    }
    assert_true(get(f, s, AGG_ALL, NULL, 650000)->revision == rev + 1);
    assert_int_equal(get(f, s, AGG_ALL, NULL, 650103)->corrections, 0); /* untouched */
    /* The audit: 12 rollups (4 windows x 3 levels), each -36,000,000,000 fen, no count
     * change, in id order. */
    assert_int_equal(c.touch.n, 12);
    for (size_t i = 0; i < c.touch.n; i++) {
        assert_true(c.touch.d[i][5] == INT64_C(-36000000000));
        assert_int_equal(c.touch.d[i][0], 0);
        if (i)
            assert_true(c.touch.id[i - 1] < c.touch.id[i]);
    }

    /* The same correction file again: nothing changes. */
    assert_int_equal(count(f, s, &fix, &c), AGG_DUPLICATE);
    assert_true(funding_at(f, s, AGG_ALL, 650000) == INT64_C(4000000500));
    /* The original again (or any lower correction): stale, nothing changes. */
    assert_int_equal(count(f, s, &orig, &c), AGG_STALE);
    assert_int_equal(c.from, 1);
    assert_true(funding_at(f, s, AGG_ALL, 650000) == INT64_C(4000000500));
    agg_state_destroy(s);
}

/* A retraction removes a visit from every window and level; a higher correction brings it
 * back. */
static void test_retraction_and_reinstatement(void **state)
{
    struct fixture *f = *state;
    struct agg_state *s = agg_state_new(0, NULL);
    struct agg_counted c;
    struct op_event keep = visit("v-keep", 650102, 10, 0);
    struct op_event v = visit("v-1", 650102, 40, 0);
    assert_int_equal(count(f, s, &keep, &c), AGG_COUNTED);
    assert_int_equal(count(f, s, &v, &c), AGG_COUNTED);
    struct op_event r = visit("v-1", 650102, 40, 1);
    r.retracted = 1;
    assert_int_equal(count(f, s, &r, &c), AGG_RETRACTED);
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 3; l++) {
            struct agg_rollup *x = get(f, s, kinds[k], "2025 两节送温暖", chain_650102[l]);
            assert_int_equal(x->event_count, 1); /* only v-keep */
            assert_int_equal(x->visits, 1);
            assert_int_equal(x->workers_reached, 10);
            assert_int_equal(x->households, 3);
            assert_int_equal(agg_rollup_dim(x, AGG_GROUP, 2), 10);
            assert_int_equal(x->corrections, 1);
        }
    assert_int_equal(c.touch.n, 12);
    assert_int_equal(c.touch.d[0][0], -1);
    assert_int_equal(c.touch.d[0][2], -40);
    struct op_event back = visit("v-1", 650102, 25, 2);
    assert_int_equal(count(f, s, &back, &c), AGG_CORRECTED);
    assert_int_equal(c.from, 1);
    struct agg_rollup *prov = get(f, s, AGG_ALL, NULL, 650000);
    assert_int_equal(prov->event_count, 2);
    assert_int_equal(prov->workers_reached, 35);
    assert_int_equal(prov->corrections, 2);
    agg_state_destroy(s);
}

/* A correction that arrives before its original counts; the late original is stale. */
static void test_correction_before_original(void **state)
{
    struct fixture *f = *state;
    struct agg_state *s = agg_state_new(0, NULL);
    struct agg_counted c;
    struct op_event fix = funding("f-2", 650102, 700, 1);
    assert_int_equal(count(f, s, &fix, &c), AGG_CORRECTED);
    assert_int_equal(c.from, -1);
    assert_int_equal(c.touch.n, 12);
    struct op_event orig = funding("f-2", 650102, 7000, 0);
    assert_int_equal(count(f, s, &orig, &c), AGG_STALE);
    struct agg_rollup *prov = get(f, s, AGG_ALL, NULL, 650000);
    assert_int_equal(prov->funding_fen, 700);
    assert_int_equal(prov->event_count, 1);
    /* A retraction of an event never seen is remembered: its original is stale too. */
    struct op_event r = visit("v-9", 650102, 5, 1);
    r.retracted = 1;
    assert_int_equal(count(f, s, &r, &c), AGG_RETRACTED);
    assert_int_equal(c.touch.n, 0);
    struct op_event v = visit("v-9", 650102, 5, 0);
    assert_int_equal(count(f, s, &v, &c), AGG_STALE);
    assert_int_equal(get(f, s, AGG_ALL, NULL, 650000)->visits, 0);
    agg_state_destroy(s);
}

/* A region move updates both regions (and their common ancestors only by the difference);
 * a moved occurred_at moves the event between days. */
static void test_region_and_time_move(void **state)
{
    struct fixture *f = *state;
    struct agg_state *s = agg_state_new(0, NULL);
    struct agg_counted c;
    struct op_event orig = funding("f-3", 650102, 1000, 0);
    assert_int_equal(count(f, s, &orig, &c), AGG_COUNTED);
    struct op_event moved = funding("f-3", 650103, 1200, 1);
    assert_int_equal(count(f, s, &moved, &c), AGG_CORRECTED);
    assert_int_equal(c.old_region, 650102);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(funding_at(f, s, kinds[k], 650102), 0);
        assert_int_equal(get(f, s, kinds[k], "2025 两节送温暖", 650102)->event_count, 0);
        assert_int_equal(funding_at(f, s, kinds[k], 650103), 1200);
        assert_int_equal(funding_at(f, s, kinds[k], 650100), 1200);
        assert_int_equal(funding_at(f, s, kinds[k], 650000), 1200);
    }
    /* Touched: 4 windows x (2 counties + prefecture + province) = 16 rollups; the
     * prefecture's change is the difference (+200), the old county's -1000. */
    assert_int_equal(c.touch.n, 16);
    /* Now to another day and another province (XJ is not authorised there: see below). */
    struct op_event later = funding("f-3", 650103, 1200, 2);
    later.occurred_at = later.reported_at = T0 + 3 * DAY_MS;
    assert_int_equal(count(f, s, &later, &c), AGG_CORRECTED);
    assert_int_equal(funding_at(f, s, AGG_DAY, 650103), 0); /* the old day emptied */
    assert_int_equal(funding_at(f, s, AGG_ALL, 650103), 1200);
    /* first/last event times widen with every version applied and never narrow, also
     * across an emptied rollup: a new event an hour later leaves first_at at T0. */
    struct agg_rollup *day = get(f, s, AGG_DAY, NULL, 650103);
    assert_int_equal(day->event_count, 0);
    struct op_event next = funding("f-3b", 650103, 1, 0);
    next.occurred_at = next.reported_at = T0 + 3600000;
    assert_int_equal(count(f, s, &next, &c), AGG_COUNTED);
    assert_true(day->first_at == T0);
    assert_true(day->last_at == T0 + 3600000);
    agg_state_destroy(s);
}

/* The correcting agency must be authorised for the old region too; else nothing changes. */
static void test_unauthorized_for_old_region(void **state)
{
    struct fixture *f = *state;
    struct agg_state *s = agg_state_new(0, NULL);
    struct agg_counted c;
    struct op_event orig = funding("f-4", 650103, 1000, 0);
    assert_int_equal(count(f, s, &orig, &c), AGG_COUNTED);
    struct op_event fix = funding("f-4", 650102, 5, 1);
    fix.agency_id = "TS"; /* authorised for 650102 only */
    assert_int_equal(count(f, s, &fix, &c), AGG_UNAUTHORIZED);
    assert_non_null(strstr(c.detail, "650103"));
    assert_int_equal(funding_at(f, s, AGG_ALL, 650103), 1000);
    assert_int_equal(funding_at(f, s, AGG_ALL, 650000), 1000);
    /* A correction cannot change the record type. */
    struct op_event as_visit = visit("f-4", 650103, 1, 1);
    assert_int_equal(count(f, s, &as_visit, &c), AGG_TYPE_CHANGED);
    assert_non_null(strstr(c.detail, "funding"));
    assert_int_equal(funding_at(f, s, AGG_ALL, 650103), 1000);
    /* Nothing was recorded: the same correction by an authorised office still applies. */
    fix.agency_id = "XJ";
    assert_int_equal(count(f, s, &fix, &c), AGG_CORRECTED);
    assert_int_equal(funding_at(f, s, AGG_ALL, 650000), 5);
    agg_state_destroy(s);
}

/* Corrections whose original may have been forgotten are dead letters, never counted. */
static void test_expired(void **state)
{
    struct fixture *f = *state;
    struct agg_state *s = agg_state_new(0, NULL);
    struct agg_counted c;
    struct op_event fix = funding("f-5", 650102, 5, 1);
    f->rules.forgotten_before_ms = T0 + DAY_MS; /* ids counted before T0 + 1 day are gone */
    assert_int_equal(count(f, s, &fix, &c), AGG_EXPIRED);
    assert_null(get(f, s, AGG_ALL, NULL, 650000));
    /* An original is still counted (dedup beyond the horizon is the horizon's business). */
    struct op_event orig = funding("f-6", 650102, 5, 0);
    assert_int_equal(count(f, s, &orig, &c), AGG_COUNTED);
    /* A correction of an event newer than what was forgotten counts as a first report. */
    struct op_event recent = funding("f-7", 650102, 5, 1);
    recent.occurred_at = recent.reported_at = T0 + 2 * DAY_MS;
    assert_int_equal(count(f, s, &recent, &c), AGG_CORRECTED);
    f->rules.forgotten_before_ms = 0;
    /* An id counted before contributions were kept (an empty record): duplicate for an
     * original, expired for a correction. */
    assert_int_equal(agg_seen_put(s, "legacy", 6, 1, NULL, 0), 0);
    struct op_event lo = funding("legacy", 650102, 5, 0), lc = funding("legacy", 650102, 5, 1);
    assert_int_equal(count(f, s, &lo, &c), AGG_DUPLICATE);
    assert_int_equal(count(f, s, &lc, &c), AGG_EXPIRED);
    /* An unreadable record is taken the same way: no crash, no restart loop. */
    assert_int_equal(agg_seen_put(s, "garbled", 7, 1, "\x01\x7f", 2), 0);
    struct op_event go = funding("garbled", 650102, 5, 0), gc = funding("garbled", 650102, 5, 1);
    assert_int_equal(count(f, s, &go, &c), AGG_DUPLICATE);
    assert_int_equal(count(f, s, &gc, &c), AGG_EXPIRED);
    agg_state_destroy(s);
}

/* The record survives the store round trip (freeze, the frozen generation) and a damaged one
 * is refused. */
static void test_record_round_trip(void **state)
{
    struct fixture *f = *state;
    struct op_event ev = visit("v-r", 650102, 7, 3);
    ev.n_groups = 3, ev.groups[1] = 0, ev.groups[2] = 12;
    struct agg_window w[AGG_MAX_WINDOWS];
    size_t nw = agg_event_windows(&f->model, T0, w);
    struct op_buf b = OP_BUF_INIT;
    assert_int_equal(agg_record_encode(&ev, w, nw, &b), 0);
    struct agg_record rec;
    assert_int_equal(agg_record_decode(&rec, b.data, b.len), 0);
    assert_int_equal(rec.ev.correction, 3);
    assert_int_equal(rec.ev.region, 650102);
    assert_int_equal(rec.ev.n_groups, 3);
    assert_int_equal(rec.ev.groups[2], 12);
    assert_int_equal(rec.ev.workers_reached, 7);
    assert_int_equal(rec.nw, nw);
    for (size_t i = 0; i < nw; i++) { /* field by field: the struct has padding */
        assert_int_equal(rec.w[i].kind, w[i].kind);
        assert_int_equal(rec.w[i].number, w[i].number);
    }
    for (size_t cut = 0; cut < b.len; cut++)
        assert_int_equal(agg_record_decode(&rec, b.data, cut), -1);
    b.data[0] = 9; /* unknown format */
    assert_int_equal(agg_record_decode(&rec, b.data, b.len), -1);
    op_buf_free(&b);

    /* Through a freeze: the correction still finds the original in the frozen generation. */
    struct agg_state *s = agg_state_new(0, NULL);
    struct agg_counted c;
    struct op_event orig = funding("f-8", 650102, 100, 0);
    assert_int_equal(count(f, s, &orig, &c), AGG_COUNTED);
    assert_int_equal(agg_take_dirty(s, flushed, NULL), 0);
    assert_int_equal(agg_state_freeze(s), 0);
    struct op_event fix = funding("f-8", 650102, 60, 1);
    assert_int_equal(count(f, s, &fix, &c), AGG_CORRECTED);
    assert_int_equal(get(f, s, AGG_ALL, NULL, 650000)->funding_fen, 60);
    agg_state_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amount_corrected_everywhere),
        cmocka_unit_test(test_retraction_and_reinstatement),
        cmocka_unit_test(test_correction_before_original),
        cmocka_unit_test(test_region_and_time_move),
        cmocka_unit_test(test_unauthorized_for_old_region),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_record_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
