/* outreach-gen: correction and retraction lines (--correct-rate, --retract-rate) over the
 * history of the last events with an id. */
#include "gen_internal.h"

#include <string.h>

/* ---- corrections and retractions --------------------------------------------------------- */

static const char *const fix_reasons[4] = {"金额录入错误", "人数录入错误", "区县填错",
                                           "活动日期填错"};
static const char *const retract_reasons[3] = {"重复上报", "活动未举办", "误报"};

/* The region index of an office by its code (offices are in code order), or -1. */
static long office_index(const struct gen *g, uint32_t code)
{
    size_t lo = 0, hi = g->noffices;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t c = region_at(g, g->offices[mid])->code;
        if (c == code)
            return (long)g->offices[mid];
        if (c < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ×10 or ÷10, as in 4亿 typed for 4000万, within the limits of common/event.h. */
static int64_t scale10(struct gen *g, int64_t v, int64_t max)
{
    if (rng_pct(&g->rng, 50) && v <= max / 10)
        return v * 10;
    return v / 10;
}

/* Changes some of the amount or counts, the region (to another one the same office may
 * report for) and occurred_at (by 1 to 5 days), and reports it again later. */
static void fix_event(struct gen *g, struct event *ev)
{
    struct rng *r = &g->rng;
    unsigned want = 0, why = 0;
    if (rng_pct(r, 60))
        want |= WHY_COUNT;
    if (rng_pct(r, 30))
        want |= WHY_REGION;
    if (rng_pct(r, 30))
        want |= WHY_TIME;
    if (want & WHY_REGION) {
        long oi = office_index(g, ev->agency);
        for (int tries = 0; oi >= 0 && tries < 8; tries++) {
            const struct op_region *reg = region_at(g, gen_pick_region(g, (size_t)oi));
            if (reg->code != ev->region) {
                ev->region = reg->code;
                ev->level = (uint8_t)reg->level;
                why |= WHY_REGION;
                break;
            }
        }
    }
    if (want & WHY_TIME) {
        int64_t days = rng_range(r, 1, 5);
        ev->occurred += (rng_pct(r, 50) ? days : -days) * 86400;
        why |= WHY_TIME;
    }
    if ((want & WHY_COUNT) || !why) {
        if (ev->type == T_FUNDING) {
            ev->f.amount = scale10(g, ev->f.amount, AMOUNT_MAX);
            why |= WHY_AMOUNT;
        } else if (ev->type == T_VISIT) {
            ev->v.workers = (int32_t)scale10(g, ev->v.workers, COUNT_MAX);
            why |= WHY_COUNT;
        } else {
            int32_t answers = 0;
            for (int i = 0; i < 5; i++)
                answers += ev->s.sat[i];
            if (rng_pct(r, 50) && ev->s.respondents <= COUNT_MAX / 10 &&
                ev->s.enterprises <= COUNT_MAX / 10) {
                ev->s.respondents *= 10;
                ev->s.enterprises *= 10;
            } else {
                ev->s.enterprises /= 10;
                if (answers <= ev->s.respondents / 10) /* s1+…+s5 <= respondents */
                    ev->s.respondents /= 10;
            }
            why |= WHY_COUNT;
        }
    }
    int64_t base = ev->reported > ev->occurred ? ev->reported : ev->occurred;
    ev->reported = base + rng_range(r, 1, 72) * 3600 + rng_range(r, 0, 59) * 60;
    ev->why = (uint8_t)why;
    ev->retracted = 0;
}

/* A history entry: uniformly among the last RING_CAP, or (prefer) one already corrected. */
static struct hist *pick_hist(struct gen *g, int prefer_corrected, int32_t min_max)
{
    struct hist *h = NULL;
    for (int tries = 0; tries < (prefer_corrected ? 256 : 1); tries++) {
        h = &g->hist[(g->hist_pos + RING_CAP - 1 - rng_range(&g->rng, 0, (uint32_t)g->hist_n - 1)) %
                     RING_CAP];
        if (h->max >= min_max)
            return h;
    }
    return prefer_corrected && min_max > 0 ? NULL : h;
}

struct hist *gen_hist_push(struct gen *g, const struct event *ev)
{
    struct hist *h = &g->hist[g->hist_pos];
    h->first = h->last = *ev;
    h->max = 0;
    g->hist_pos = (g->hist_pos + 1) % RING_CAP;
    if (g->hist_n < RING_CAP)
        g->hist_n++;
    return h;
}

/* A correction line: mostly the next correction of an event, with some exact repeats, stale
 * (lower) numbers and corrections written before their original. */
const struct event *gen_make_correction(struct gen *g)
{
    struct event *out = &g->fix;
    struct hist *h;
    uint32_t x = rng_range(&g->rng, 0, 99);
    if (x < 10) { /* the last version sent, again: a duplicate */
        h = pick_hist(g, 1, 1);
        if (!h)
            h = pick_hist(g, 0, 0);
        *out = h->last;
        g->st.correction_dups++;
        return out;
    }
    if (x < 15 && (h = pick_hist(g, 1, 1)) != NULL) { /* an older number: stale */
        if (h->max >= 2) {
            *out = h->last;
            fix_event(g, out);
            out->correction = (int32_t)rng_range(&g->rng, 1, (uint32_t)h->max - 1);
        } else {
            *out = h->first; /* the original, sent again after its correction */
        }
        g->st.stale++;
        return out;
    }
    if (x >= 15 && x < 20 && g->npending < PENDING_CAP) {
        /* Out of order: the correction of a new event first, its original a few lines on. */
        size_t k = g->npending++;
        gen_make_original(g, &g->pending[k], 1);
        g->pending_due[k] = g->st.events + 1 + rng_range(&g->rng, 1, 50);
        h = gen_hist_push(g, &g->pending[k]);
        *out = h->first;
        fix_event(g, out);
        out->correction = h->max = 1;
        h->last = *out;
        g->st.out_of_order++;
        return out;
    }
    h = pick_hist(g, 0, 0);
    *out = h->last;
    fix_event(g, out); /* a retracted event is reinstated */
    out->correction = ++h->max;
    h->last = *out;
    g->st.corrections++;
    return out;
}

/* A retraction: the last version of an event, withdrawn, with the next number. */
const struct event *gen_make_retraction(struct gen *g)
{
    struct hist *h = pick_hist(g, 0, 0);
    struct event *out = &g->fix;
    *out = h->last;
    out->correction = ++h->max;
    out->retracted = 1;
    out->why = (uint8_t)(WHY_RETRACT | rng_range(&g->rng, 0, 2));
    out->reported += rng_range(&g->rng, 1, 72) * 3600;
    h->last = *out;
    g->st.retractions++;
    return out;
}

/* The correction_reason of ev: the retraction's, or what the correction changed. */
void gen_reason_text(const struct event *ev, char *buf, size_t size)
{
    if (ev->why & WHY_RETRACT) {
        snprintf(buf, size, "%s", retract_reasons[(ev->why & 0x7f) % 3]);
        return;
    }
    size_t n = 0;
    buf[0] = 0;
    for (unsigned b = 0; b < 4; b++)
        if (ev->why & (1u << b))
            n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "；" : "",
                                  fix_reasons[b]);
}
