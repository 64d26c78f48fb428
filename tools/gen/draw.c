/* outreach-gen: draws an event by type from weighted tables modelled on the seed article,
 * keeps id-less events distinct by content, and makes the originals. */
#include "gen_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- shapes: how big each kind of activity is -------------------------------------------- */

/* Activity mix and sizes per activity at county level (workers reached, staff, minutes). */
static const struct {
    uint16_t weight;
    uint16_t w_lo, w_hi, skew; /* workers reached; skew = factors in the product of uniforms */
    uint16_t st_lo, st_hi;     /* staff and volunteers */
    uint16_t d_lo, d_hi;       /* duration in minutes when reported */
    uint16_t scales;           /* grows with the level of the region */
} act_shape[ACT_COUNT] = {
    [ACT_CONDOLENCE] = {30, 5, 600, 2, 3, 15, 60, 240, 1},
    [ACT_HOME] = {25, 1, 6, 2, 2, 8, 20, 120, 0},
    [ACT_FORUM] = {7, 8, 60, 1, 3, 12, 60, 180, 1},
    [ACT_CLINIC] = {5, 30, 400, 2, 4, 20, 120, 360, 1},
    [ACT_CHECK] = {5, 20, 300, 2, 5, 20, 120, 480, 1},
    [ACT_LEGAL] = {5, 20, 800, 2, 3, 15, 60, 240, 1},
    [ACT_JOB] = {3, 50, 3000, 3, 5, 40, 120, 360, 1},
    [ACT_SKILLS] = {3, 15, 150, 1, 2, 10, 90, 480, 1},
    [ACT_PSYCH] = {4, 8, 80, 2, 1, 6, 60, 180, 1},
    [ACT_MEALS] = {6, 20, 400, 2, 4, 30, 90, 240, 1},
    [ACT_PERF] = {3, 80, 2000, 2, 10, 60, 90, 180, 1},
    [ACT_OTHER] = {4, 10, 500, 2, 2, 20, 60, 300, 1},
};

/* Who each activity serves (columns in TargetGroup order). */
static const uint16_t act_groups[ACT_COUNT][GRP_COUNT] = {
    [ACT_CONDOLENCE] = {15, 10, 8, 8, 6, 10, 4, 20, 10, 10, 8, 3, 3},
    [ACT_HOME] = {60, 5, 25, 10, 0, 0, 0, 0, 0, 0, 0, 0, 5},
    [ACT_FORUM] = {5, 15, 8, 2, 2, 20, 2, 5, 25, 5, 8, 5, 3},
    [ACT_CLINIC] = {8, 10, 2, 2, 2, 20, 2, 8, 20, 15, 10, 2, 5},
    [ACT_CHECK] = {5, 10, 2, 5, 2, 15, 2, 5, 30, 10, 10, 2, 5},
    [ACT_LEGAL] = {5, 45, 0, 0, 2, 2, 2, 2, 15, 3, 20, 15, 3},
    [ACT_JOB] = {20, 55, 0, 0, 2, 0, 0, 0, 10, 0, 5, 3, 10},
    [ACT_SKILLS] = {10, 30, 10, 0, 2, 5, 2, 2, 25, 2, 8, 4, 5},
    [ACT_PSYCH] = {5, 8, 2, 12, 2, 15, 2, 5, 20, 3, 30, 3, 3},
    [ACT_MEALS] = {10, 10, 2, 3, 2, 8, 2, 20, 30, 20, 10, 2, 3},
    [ACT_PERF] = {5, 20, 5, 5, 5, 10, 5, 20, 10, 5, 15, 3, 5},
    [ACT_OTHER] = {10, 10, 5, 5, 3, 10, 3, 10, 20, 10, 10, 5, 10},
};

/* Where each activity happens (columns in Venue order; UNSPECIFIED is chosen elsewhere). */
static const uint16_t act_venues[ACT_COUNT][VEN_COUNT] = {
    [ACT_CONDOLENCE] = {0, 70, 5, 5, 0, 10, 5, 0, 5},
    [ACT_HOME] = {0, 0, 95, 0, 0, 5, 0, 0, 0},
    [ACT_FORUM] = {0, 35, 0, 40, 0, 15, 0, 5, 5},
    [ACT_CLINIC] = {0, 30, 0, 20, 10, 20, 15, 0, 5},
    [ACT_CHECK] = {0, 45, 0, 15, 25, 10, 5, 0, 0},
    [ACT_LEGAL] = {0, 35, 0, 20, 5, 15, 15, 8, 2},
    [ACT_JOB] = {0, 10, 0, 10, 0, 15, 40, 20, 5},
    [ACT_SKILLS] = {0, 40, 0, 30, 0, 10, 0, 15, 5},
    [ACT_PSYCH] = {0, 25, 0, 35, 25, 10, 0, 5, 0},
    [ACT_MEALS] = {0, 20, 0, 45, 0, 25, 5, 0, 5},
    [ACT_PERF] = {0, 45, 0, 5, 0, 20, 25, 5, 0},
    [ACT_OTHER] = {0, 20, 0, 20, 5, 20, 25, 5, 5},
};

static const uint16_t pur_weight[PUR_COUNT] = {40, 30, 6, 12, 8, 4};
static const uint16_t pur_sources[PUR_COUNT][SRC_COUNT] = {
    [PUR_CASH] = {75, 10, 5, 8, 2},     [PUR_GOODS] = {65, 5, 12, 15, 3},
    [PUR_MEDICAL] = {85, 10, 0, 0, 5},  [PUR_HARDSHIP] = {60, 30, 8, 0, 2},
    [PUR_SERVICE] = {45, 10, 35, 8, 2}, [PUR_OTHER] = {40, 20, 20, 10, 10},
};
static const uint16_t pur_groups[PUR_COUNT][GRP_COUNT] = {
    [PUR_CASH] = {25, 6, 15, 6, 3, 6, 2, 15, 10, 8, 4, 0, 2},
    [PUR_GOODS] = {10, 10, 3, 4, 3, 8, 2, 15, 20, 20, 10, 3, 2},
    [PUR_MEDICAL] = {30, 20, 0, 0, 0, 5, 0, 0, 20, 5, 5, 10, 5},
    [PUR_HARDSHIP] = {85, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5},
    [PUR_SERVICE] = {5, 10, 0, 2, 2, 8, 2, 5, 40, 15, 15, 3, 5},
    [PUR_OTHER] = {10, 10, 5, 5, 5, 5, 5, 10, 10, 10, 10, 5, 10},
};
const uint16_t gen_pur_disb[PUR_COUNT][DIS_COUNT] = {
    [PUR_CASH] = {0, 40, 30, 0, 0, 25, 5},     [PUR_GOODS] = {0, 0, 0, 70, 25, 3, 2},
    [PUR_MEDICAL] = {0, 0, 60, 0, 0, 20, 20},  [PUR_HARDSHIP] = {0, 30, 60, 0, 0, 10, 0},
    [PUR_SERVICE] = {0, 0, 30, 10, 10, 0, 50}, [PUR_OTHER] = {0, 20, 20, 20, 10, 10, 20},
};
/* 慰问金 per worker in yuan, as offices hand it out: round sums from 500 to 2000. */
static const uint16_t cash_yuan[] = {500, 600, 800, 1000, 1000, 1200, 1500, 2000};

static const uint16_t met_weight[MET_COUNT] = {35, 20, 30, 12, 3};
static const struct {
    uint16_t e_lo, e_hi, e_zero_pct; /* enterprises; zero_pct: not enterprise-based */
    uint16_t r_lo, r_hi, r_skew;     /* respondents */
} met_shape[MET_COUNT] = {
    [MET_FORUM] = {1, 8, 0, 6, 50, 1},      [MET_FIELD] = {1, 15, 0, 10, 200, 2},
    [MET_QUEST] = {1, 60, 40, 40, 3000, 2}, [MET_MIXED] = {3, 20, 0, 80, 900, 2},
    [MET_OTHER] = {1, 10, 30, 10, 300, 2},
};
static const uint16_t top_weight[TOP_COUNT] = {15, 15, 15, 12, 18, 20, 5};
static const uint16_t top_needs[TOP_COUNT][NEED_COUNT] = {
    [TOP_WAGES] = {25, 2, 2, 2, 12, 3, 8, 0, 0, 35, 0, 8, 0, 0, 5},
    [TOP_SAFETY] = {2, 2, 0, 20, 8, 12, 2, 0, 0, 2, 10, 25, 0, 15, 5},
    [TOP_HEALTH] = {0, 2, 2, 35, 2, 0, 0, 5, 0, 0, 35, 4, 0, 12, 5},
    [TOP_SKILLS] = {0, 2, 2, 0, 50, 0, 15, 0, 0, 25, 0, 0, 0, 0, 6},
    [TOP_RIGHTS] = {25, 5, 3, 3, 0, 30, 5, 0, 0, 3, 0, 25, 0, 0, 6},
    [TOP_SATIS] = {3, 10, 12, 12, 5, 3, 5, 8, 15, 10, 6, 4, 6, 12, 5},
    [TOP_OTHER] = {5, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 5, 8, 8},
};
/* Answers on the 1-5 scale in per mille before jitter: mostly satisfied, a tail of 1s. */
static const uint16_t sat_profile[5] = {20, 50, 180, 420, 330};
static const uint16_t nneeds_weight[6] = {20, 25, 25, 18, 8, 4};

static const uint16_t type_weight[3] = {60, 30, 10};
/* Office levels (province, prefecture, county): a county office reports least each, but
 * there are so many that most events are theirs. */
static const uint16_t level_weight[3] = {7, 18, 75};
/* Hour of day an activity starts: mornings and mid-afternoons, a few evening meals and
 * shows; nothing starts after 20:59. */
static const uint16_t hour_weight[24] = {0, 0, 0, 0, 0, 0, 0, 1, 4, 9, 10, 8,
                                         3, 2, 6, 9, 9, 7, 3, 2, 1, 0, 0,  0};

/* ---- drawing events ---------------------------------------------------------------------- */

static int is_border_province(uint32_t code)
{
    switch (code / 10000) {
    case 15:
    case 21:
    case 22:
    case 23:
    case 45:
    case 53:
    case 54:
    case 62:
    case 65:
        return 1;
    default:
        return 0;
    }
}

/* Group weights with the groups that cannot occur in this region removed. */
static void local_groups(uint32_t region, const uint16_t *in, uint16_t *out)
{
    memcpy(out, in, GRP_COUNT * sizeof out[0]);
    if (!is_border_province(region))
        out[GRP_BORDER] = 0;
    if (region / 10000 != 53) /* the nine plateau lakes are all in Yunnan */
        out[GRP_PLATEAU] = 0;
}

/* A multiplier by the level of the event's region: a provincial handout is bigger. */
static uint32_t level_scale(const struct event *ev, uint32_t county, uint32_t prefecture,
                            uint32_t province)
{
    return ev->level == OP_REGION_PROVINCE     ? province
           : ev->level == OP_REGION_PREFECTURE ? prefecture
                                               : county;
}

static void draw_visit(struct gen *g, struct event *ev)
{
    struct rng *r = &g->rng;
    uint16_t wact[ACT_COUNT], wgrp[GRP_COUNT];
    for (unsigned i = 0; i < ACT_COUNT; i++)
        wact[i] = act_shape[i].weight;
    unsigned a = rng_pick(r, wact, ACT_COUNT);
    uint32_t scale = act_shape[a].scales ? level_scale(ev, 1, 2, 3) : 1;

    ev->v.activity = (uint8_t)a;
    local_groups(ev->region, act_groups[a], wgrp);
    uint32_t x = rng_range(r, 0, 99);
    unsigned k = a == ACT_HOME ? (x < 70 ? 1 : 2) : x < 60 ? 1 : x < 88 ? 2 : x < 98 ? 3 : 4;
    ev->v.ngroups = (uint8_t)rng_pick_distinct(r, wgrp, GRP_COUNT, k, ev->v.groups);

    ev->v.workers =
        (int32_t)(scale * rng_skew(r, act_shape[a].w_lo, act_shape[a].w_hi, act_shape[a].skew));
    ev->v.staff = (int32_t)(scale * rng_range(r, act_shape[a].st_lo, act_shape[a].st_hi));
    if (a == ACT_HOME)
        ev->v.households = rng_pct(r, 80) ? ev->v.workers : (ev->v.workers + 1) / 2;
    else if (a == ACT_CONDOLENCE && rng_pct(r, 30))
        ev->v.households =
            (int32_t)rng_range(r, 1, (uint32_t)(ev->v.workers < 60 ? ev->v.workers : 60));
    else if (a == ACT_MEALS && rng_pct(r, 10))
        ev->v.households = (int32_t)rng_range(r, 1, (uint32_t)ev->v.workers / 3 + 1);

    ev->v.venue = (uint8_t)rng_pick(r, act_venues[a], VEN_COUNT);
    if (rng_pct(r, 90))
        set_duration(g, ev, act_shape[a].d_lo, act_shape[a].d_hi);
    ev->note = rng_pct(r, 8) ? (int8_t)(NOTE_CONDOLENCE + a) : -1;
}

/* A remark that fits the disbursement, or -1. */
static int funding_note(const struct event *ev)
{
    switch (ev->f.purpose) {
    case PUR_GOODS:
        return ev->f.disb == DIS_VOUCHER ? NOTE_VOUCHER : ev->f.disb == DIS_KIND ? NOTE_GRAIN : -1;
    case PUR_CASH:
        return ev->f.disb == DIS_CARD ? NOTE_CARD : -1;
    case PUR_HARDSHIP:
        return NOTE_SCHOOL;
    case PUR_MEDICAL:
        return NOTE_MUTUAL;
    case PUR_SERVICE:
        return ev->f.source == SRC_SOCIAL ? NOTE_CHARITY : -1;
    default:
        return -1;
    }
}

static void draw_funding(struct gen *g, struct event *ev)
{
    struct rng *r = &g->rng;
    uint16_t wgrp[GRP_COUNT];
    unsigned p = rng_pick(r, pur_weight, PUR_COUNT);
    uint32_t scale = level_scale(ev, 1, 4, 15);
    int64_t per_fen = 0;
    uint32_t recipients = 0;

    ev->f.purpose = (uint8_t)p;
    ev->f.source = (uint8_t)rng_pick(r, pur_sources[p], SRC_COUNT);
    local_groups(ev->region, pur_groups[p], wgrp);
    ev->f.group = (uint8_t)rng_pick(r, wgrp, GRP_COUNT);
    switch (p) {
    case PUR_CASH:
        recipients = rng_skew(r, 5, 300, 2);
        per_fen =
            (int64_t)cash_yuan[rng_range(r, 0, sizeof cash_yuan / sizeof cash_yuan[0] - 1)] * 100;
        break;
    case PUR_GOODS:
        /* Bought goods carry odd prices, so some totals have fen: exactness must survive. */
        recipients = rng_skew(r, 20, 2500, 2);
        per_fen = (int64_t)rng_range(r, 80, 600) * 100 + (rng_pct(r, 20) ? rng_range(r, 1, 99) : 0);
        break;
    case PUR_MEDICAL:
        recipients = rng_skew(r, 10, 1000, 2);
        per_fen = (int64_t)(30 + 10 * rng_range(r, 0, 27)) * 100;
        break;
    case PUR_HARDSHIP:
        recipients = rng_skew(r, 1, 80, 2);
        per_fen = (int64_t)(2000 + 500 * rng_range(r, 0, 16)) * 100;
        break;
    case PUR_SERVICE:
        if (rng_pct(r, 5)) {
            /* A funded station or project with nobody counted yet: a lump sum. */
            recipients = 0;
            ev->f.amount = (int64_t)rng_range(r, 5, 50) * 10000 * 100;
        } else {
            recipients = rng_skew(r, 30, 3000, 2);
            per_fen = (int64_t)rng_range(r, 20, 200) * 100;
        }
        break;
    default:
        recipients = rng_skew(r, 5, 300, 2);
        per_fen = (int64_t)(50 * rng_range(r, 1, 20)) * 100;
        break;
    }
    recipients *= scale;
    ev->f.recipients = (int32_t)recipients;
    if (recipients)
        ev->f.amount = (int64_t)recipients * per_fen;
    ev->f.disb = (uint8_t)rng_pick(r, gen_pur_disb[p], DIS_COUNT);
    if (rng_pct(r, 8))
        ev->note = (int8_t)funding_note(ev);
}

static void draw_survey(struct gen *g, struct event *ev)
{
    struct rng *r = &g->rng;
    unsigned m = rng_pick(r, met_weight, MET_COUNT);
    unsigned t = rng_pick(r, top_weight, TOP_COUNT);

    ev->s.method = (uint8_t)m;
    ev->s.topic = (uint8_t)t;
    if (!rng_pct(r, met_shape[m].e_zero_pct))
        ev->s.enterprises = (int32_t)(level_scale(ev, 1, 2, 3) *
                                      rng_skew(r, met_shape[m].e_lo, met_shape[m].e_hi, 1));
    int32_t resp =
        (int32_t)(level_scale(ev, 1, 2, 4) *
                  rng_skew(r, met_shape[m].r_lo, met_shape[m].r_hi, met_shape[m].r_skew));
    ev->s.respondents = resp;

    uint32_t asked_pct = t == TOP_SATIS ? 100 : m == MET_QUEST ? 70 : 35;
    if (rng_pct(r, asked_pct)) {
        int64_t answered = (int64_t)resp * rng_range(r, 60, 100) / 100, w[5], sum = 0, given = 0;
        for (int i = 0; i < 5; i++) {
            w[i] = (int64_t)sat_profile[i] * rng_range(r, 50, 150);
            sum += w[i];
        }
        for (int i = 0; i < 5; i++) {
            ev->s.sat[i] = (int32_t)(answered * w[i] / sum);
            given += ev->s.sat[i];
        }
        ev->s.sat[3] += (int32_t)(answered - given); /* rounding goes to "satisfied" */
    }

    unsigned k = rng_pick(r, nneeds_weight, 6);
    ev->s.nneeds = (uint8_t)rng_pick_distinct(r, top_needs[t], NEED_COUNT, k, ev->s.needs);
    uint32_t most = (uint32_t)resp * 7 / 10;
    for (unsigned i = 0; i < ev->s.nneeds; i++)
        ev->s.counts[i] = (int32_t)rng_skew(r, 1, most > 1 ? most : 1, 2);
}

static int64_t draw_day(struct gen *g, int outside)
{
    struct rng *r = &g->rng;
    size_t lo, hi; /* table indexes [lo, hi] */
    if (outside) {
        uint64_t before = g->cum[g->in_lo - 1], after = g->cum[g->ndays - 1] - g->cum[g->in_hi];
        if (rng_range(r, 0, (uint32_t)(before + after - 1)) < before)
            lo = 0, hi = g->in_lo - 1;
        else
            lo = g->in_hi + 1, hi = g->ndays - 1;
    } else {
        lo = g->in_lo, hi = g->in_hi;
    }
    uint64_t base = lo ? g->cum[lo - 1] : 0;
    uint64_t x = base + rng_range(r, 0, (uint32_t)(g->cum[hi] - base - 1));
    /* First index whose cumulative weight passes x. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return g->day0 + (int64_t)lo;
}

/* occurred_at and reported_at: activities in working hours; reports the same day or within
 * a week, late ones 15 to 70 days later. */
static void draw_times(struct gen *g, struct event *ev)
{
    struct rng *r = &g->rng;
    ev->outside = (uint8_t)rng_chance(r, g->thr_outside);
    int64_t day = draw_day(g, ev->outside);
    unsigned hour = rng_pick(r, hour_weight, 24);
    uint32_t x = rng_range(r, 0, 99);
    unsigned minute = x < 55 ? 0 : x < 80 ? 30 : rng_range(r, 0, 59);
    ev->occurred = day * 86400 + hour * 3600 + minute * 60;

    ev->late = (uint8_t)rng_chance(r, g->thr_late);
    unsigned second = rng_pct(r, 50) ? rng_range(r, 0, 59) : 0;
    if (ev->late) {
        int64_t rday = day + rng_range(r, 15, 70);
        ev->reported = rday * 86400 + rng_range(r, 8 * 60, 22 * 60 - 1) * 60 + second;
    } else {
        x = rng_range(r, 0, 99);
        if (x < 30) {
            ev->reported = ev->occurred + rng_range(r, 30, 360) * 60 + second;
        } else {
            int64_t rday = day + (x < 60 ? 1 : x < 75 ? 2 : rng_range(r, 3, 7));
            ev->reported = rday * 86400 + rng_range(r, 8 * 60, 22 * 60 - 1) * 60 + second;
        }
    }
}

static void draw_event(struct gen *g, struct event *ev)
{
    struct rng *r = &g->rng;
    if (g->nanchors && rng_pct(r, ANCHOR_PCT)) {
        const struct anchor *a = g->anchors[rng_range(r, 0, (uint32_t)g->nanchors - 1)];
        ev->type = a->type;
        ev->agency = a->agency;
        ev->region = a->region;
        ev->level = (uint8_t)op_regions_find(g->regs, a->region)->level;
        draw_times(g, ev);
        a->fill(g, ev);
    } else {
        uint16_t wt[3], wl[3];
        for (unsigned t = 0; t < 3; t++)
            wt[t] = (g->o.types & (1u << t)) ? type_weight[t] : 0;
        ev->type = (uint8_t)rng_pick(r, wt, 3);
        for (unsigned l = 0; l < 3; l++)
            wl[l] = g->nlevel[l] ? level_weight[l] : 0;
        unsigned level = rng_pick(r, wl, 3);
        uint32_t oi = g->by_level[level][rng_range(r, 0, (uint32_t)g->nlevel[level] - 1)];
        ev->agency = region_at(g, oi)->code;
        const struct op_region *reg = region_at(g, gen_pick_region(g, oi));
        ev->region = reg->code;
        ev->level = (uint8_t)reg->level;
        draw_times(g, ev);
        if (ev->type == T_VISIT)
            draw_visit(g, ev);
        else if (ev->type == T_FUNDING)
            draw_funding(g, ev);
        else
            draw_survey(g, ev);
    }
    /* What a v1-era spreadsheet would not have: no v2 columns at all. */
    if (ev->type == T_VISIT)
        ev->has_v2 = (uint8_t)rng_pct(r, 85);
    else if (ev->type == T_FUNDING)
        ev->has_v2 = (uint8_t)rng_pct(r, 88);
    if (!ev->has_v2) {
        /* Keep the struct equal to what is written: the schema defaults. */
        ev->note = -1;
        if (ev->type == T_VISIT)
            ev->v.duration = 0, ev->v.venue = VEN_UNSPEC;
        else if (ev->type == T_FUNDING)
            ev->f.disb = DIS_UNSPEC;
    }
    ev->campaign_null = (uint8_t)rng_pct(r, 50);
}

/* ---- content keys: id-less events must differ in what the producer hashes --------------- */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
    h *= UINT64_C(0xff51afd7ed558ccd);
    return h ^ (h >> 33);
}

/* Covers the v1 fields except reported_at, so two id-less events differ in content even to
 * a producer that ignores reported_at or reads CSV (which has no v2 columns). */
static uint64_t event_key(const struct event *ev)
{
    uint64_t h = mix(0, ev->type);
    h = mix(h, (uint64_t)ev->occurred);
    h = mix(h, ((uint64_t)ev->agency << 32) | ev->region);
    if (ev->type == T_VISIT) {
        h = mix(h, ev->v.activity);
        for (unsigned i = 0; i < ev->v.ngroups; i++)
            h = mix(h, ev->v.groups[i] + 1000u * i);
        h = mix(h, (uint64_t)(uint32_t)ev->v.workers << 32 | (uint32_t)ev->v.households);
        h = mix(h, (uint64_t)(uint32_t)ev->v.staff);
    } else if (ev->type == T_FUNDING) {
        h = mix(h, (uint64_t)ev->f.amount);
        h = mix(h, (uint64_t)ev->f.source << 24 | (uint64_t)ev->f.purpose << 16 | ev->f.group);
        h = mix(h, (uint64_t)(uint32_t)ev->f.recipients);
    } else {
        h = mix(h, (uint64_t)ev->s.method << 8 | ev->s.topic);
        h = mix(h, (uint64_t)(uint32_t)ev->s.enterprises << 32 | (uint32_t)ev->s.respondents);
        for (int i = 0; i < 5; i++)
            h = mix(h, (uint64_t)(uint32_t)ev->s.sat[i] + ((uint64_t)i << 40));
        for (unsigned i = 0; i < ev->s.nneeds; i++)
            h = mix(h, (uint64_t)ev->s.needs[i] << 32 | (uint32_t)ev->s.counts[i]);
    }
    return h ? h : 1;
}

/* Inserts key. Returns 1 if it was new, 0 if already there, -1 if the set cannot grow. */
static int keys_insert(struct gen *g, uint64_t key)
{
    if (2 * (g->keys_n + 1) > g->keys_cap) {
        size_t ncap = g->keys_cap ? 2 * g->keys_cap : 4096;
        uint64_t *nk = calloc(ncap, sizeof *nk);
        if (!nk)
            return -1;
        for (size_t i = 0; i < g->keys_cap; i++) {
            if (!g->keys[i])
                continue;
            size_t j = (size_t)g->keys[i] & (ncap - 1);
            while (nk[j])
                j = (j + 1) & (ncap - 1);
            nk[j] = g->keys[i];
        }
        free(g->keys);
        g->keys = nk;
        g->keys_cap = ncap;
    }
    size_t j = (size_t)key & (g->keys_cap - 1);
    while (g->keys[j]) {
        if (g->keys[j] == key)
            return 0;
        j = (j + 1) & (g->keys_cap - 1);
    }
    g->keys[j] = key;
    g->keys_n++;
    return 1;
}

void gen_make_original(struct gen *g, struct event *ev, int force_id)
{
    uint64_t seq = ++g->seq;
    int has_id = force_id || !rng_chance(&g->rng, g->thr_noid);
    for (int tries = 0;; tries++) {
        memset(ev, 0, sizeof *ev);
        ev->seq = seq;
        ev->has_id = (uint8_t)has_id;
        ev->note = -1;
        draw_event(g, ev);
        if (has_id)
            break;
        int rc = keys_insert(g, event_key(ev));
        if (rc == 1)
            break;
        if (rc < 0 || tries == UNIQUE_TRIES - 1) {
            /* Out of memory or a run too narrow to stay unique: an id keeps it distinct. */
            ev->has_id = 1;
            break;
        }
    }
    g->st.originals++;
    g->st.by_type[ev->type]++;
    g->st.late += ev->late;
    g->st.outside += ev->outside;
    g->st.no_id += !ev->has_id;
}
