/* outreach-gen logic: the run. Chooses the reporting offices and the date table, then
 * writes line after line: originals, duplicates, corrections and retractions (see
 * gen_internal.h for where each part lives). */
#include "gen_internal.h"

#include "calendar.h"

#include <stdlib.h>
#include <string.h>

/* ---- regions and offices ------------------------------------------------------------------ */

/* Table rows that group counties but have no union office of their own (北京 市辖区,
 * 省直辖县级行政区划, 重庆 县): an event is filed with the county or the province. */
static int is_pseudo_prefecture(const struct op_region *r)
{
    return r->level == OP_REGION_PREFECTURE &&
           (strcmp(r->name, "市辖区") == 0 || strcmp(r->name, "县") == 0 ||
            strstr(r->name, "直辖") != NULL);
}

static uint32_t level_divisor(enum op_region_level level)
{
    return level == OP_REGION_PROVINCE ? 10000 : level == OP_REGION_PREFECTURE ? 100 : 1;
}

/* A region of the given level among the descendants of region index oi, or oi itself if a
 * few tries find none: descendants are a contiguous run in code order. */
static uint32_t pick_descendant(struct gen *g, size_t oi, enum op_region_level level)
{
    uint32_t lo = (uint32_t)oi + 1, hi = g->desc_end[oi];
    if (hi <= lo)
        return (uint32_t)oi;
    for (int tries = 0; tries < 16; tries++) {
        uint32_t i = rng_range(&g->rng, lo, hi - 1);
        const struct op_region *r = region_at(g, i);
        if (r->level == level && !is_pseudo_prefecture(r))
            return i;
    }
    return (uint32_t)oi;
}

/* Region of an event by the office at region index oi: its own code, or below it. */
uint32_t gen_pick_region(struct gen *g, size_t oi)
{
    const struct op_region *o = region_at(g, oi);
    uint32_t x;
    switch (o->level) {
    case OP_REGION_PROVINCE:
        x = rng_range(&g->rng, 0, 99);
        if (x < 25)
            return pick_descendant(g, oi, OP_REGION_COUNTY);
        if (x < 45)
            return pick_descendant(g, oi, OP_REGION_PREFECTURE);
        return (uint32_t)oi;
    case OP_REGION_PREFECTURE:
        if (rng_pct(&g->rng, 45))
            return pick_descendant(g, oi, OP_REGION_COUNTY);
        return (uint32_t)oi;
    default:
        return (uint32_t)oi;
    }
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Chooses the reporting offices: the article's first (they anchor the realistic stories),
 * then a seeded sample of the rest, kept in code order. */
static int select_offices(struct gen *g, char *errstr, size_t errstr_size)
{
    int rc = -1;
    uint32_t *cand = NULL;
    size_t ncand = 0, want;

    cand = malloc(g->nregions * sizeof *cand);
    g->offices = malloc(g->nregions * sizeof *g->offices);
    for (int l = 0; l < 3; l++)
        g->by_level[l] = malloc(g->nregions * sizeof *g->by_level[l]);
    if (!cand || !g->offices || !g->by_level[0] || !g->by_level[1] || !g->by_level[2]) {
        snprintf(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < g->nregions; i++)
        if (!is_pseudo_prefecture(region_at(g, i)))
            cand[ncand++] = (uint32_t)i;
    if (ncand == 0) {
        snprintf(errstr, errstr_size, "the region table has no union offices");
        goto cleanup;
    }
    want = g->o.agencies ? g->o.agencies : ncand;
    if (want > ncand) {
        snprintf(errstr, errstr_size, "--agencies: %zu exceeds the %zu offices of the region table",
                 want, ncand);
        goto cleanup;
    }

    /* Anchor offices go to the front of the candidates, in table order. */
    size_t front = 0;
    for (size_t a = 0; a < gen_anchor_count; a++) {
        uint32_t code = gen_anchor_table[a].agency;
        for (size_t i = front; i < ncand; i++) {
            if (region_at(g, cand[i])->code == code) {
                uint32_t t = cand[front];
                cand[front++] = cand[i];
                cand[i] = t;
                break;
            }
        }
    }
    /* Partial Fisher-Yates over the others: a seeded sample of the size asked for. */
    for (size_t i = front; i < want; i++) {
        size_t j = i + rng_range(&g->rng, 0, (uint32_t)(ncand - i - 1));
        uint32_t t = cand[i];
        cand[i] = cand[j];
        cand[j] = t;
    }
    memcpy(g->offices, cand, want * sizeof *cand);
    g->noffices = want;
    qsort(g->offices, want, sizeof *g->offices, cmp_u32);
    for (size_t i = 0; i < want; i++) {
        int l = (int)region_at(g, g->offices[i])->level - 1;
        g->by_level[l][g->nlevel[l]++] = g->offices[i];
    }
    rc = 0;

cleanup:
    free(cand);
    return rc;
}

static int office_selected(const struct gen *g, uint32_t code)
{
    for (size_t i = 0; i < g->noffices; i++)
        if (region_at(g, g->offices[i])->code == code)
            return 1;
    return 0;
}

/* Relative activity of a day: working days over weekends, the launch days of the campaign
 * and the week before Spring Festival (2025-01-29) busiest, the holiday itself quieter. */
static uint32_t day_weight(int64_t day)
{
    static const struct {
        int y0, m0, d0, y1, m1, d1;
        unsigned factor; /* 0: a flat weight of 3 */
    } spans[] = {
        {2025, 1, 28, 2025, 2, 4, 0},
        {2024, 12, 20, 2024, 12, 24, 2},
        {2025, 1, 20, 2025, 1, 27, 2},
    };
    unsigned wd = (unsigned)((day % 7 + 11) % 7); /* 0 = Sunday: 1970-01-01 was a Thursday */
    uint32_t w = wd == 0 ? 2 : wd == 6 ? 3 : 5;
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
        if (day >= op_days_from_civil(spans[i].y0, spans[i].m0, spans[i].d0) &&
            day <= op_days_from_civil(spans[i].y1, spans[i].m1, spans[i].d1))
            return spans[i].factor ? w * spans[i].factor : 3;
    }
    return w;
}

static int build_days(struct gen *g, char *errstr, size_t errstr_size)
{
    int64_t first = (int64_t)g->o.start_day - OUTSIDE_BEFORE;
    int64_t last = (int64_t)g->o.end_day + OUTSIDE_AFTER;
    uint64_t sum = 0;

    g->day0 = first;
    g->ndays = (size_t)(last - first + 1);
    g->in_lo = OUTSIDE_BEFORE;
    g->in_hi = g->ndays - 1 - OUTSIDE_AFTER;
    g->cum = malloc(g->ndays * sizeof *g->cum);
    if (!g->cum) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < g->ndays; i++) {
        sum += day_weight(first + (int64_t)i);
        g->cum[i] = sum;
    }
    return 0;
}

struct gen *gen_new(const struct gen_opts *opts, const struct op_regions *regs, char *errstr,
                    size_t errstr_size)
{
    struct gen *g = NULL, *ret = NULL;

    if (gen_opts_check(opts, errstr, errstr_size) != 0)
        goto cleanup;
    g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    g->o = *opts;
    g->regs = regs;
    g->nregions = op_regions_count(regs);
    rng_seed(&g->rng, opts->seed);
    g->thr_dup = rate_threshold(opts->dup_rate);
    g->thr_late = rate_threshold(opts->late_rate);
    g->thr_noid = rate_threshold(opts->no_id_rate);
    g->thr_outside = rate_threshold(opts->outside_rate);
    g->thr_correct = rate_threshold(opts->correct_rate);
    g->thr_fix_end = g->thr_correct + rate_threshold(opts->retract_rate);
    g->corrections = g->thr_fix_end > 0;
    g->campaign_first = op_days_from_civil(2024, 12, 20);
    g->campaign_last = op_days_from_civil(2025, 2, 12);

    g->desc_end = malloc((g->nregions ? g->nregions : 1) * sizeof *g->desc_end);
    g->ring = malloc(RING_CAP * sizeof *g->ring);
    if (g->corrections)
        g->hist = malloc(RING_CAP * sizeof *g->hist);
    if (!g->desc_end || !g->ring || (g->corrections && !g->hist)) {
        snprintf(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    /* Descendants follow their ancestor in code order and share its leading digits. */
    for (size_t i = 0; i < g->nregions; i++) {
        const struct op_region *r = region_at(g, i);
        uint32_t div = level_divisor(r->level), j = (uint32_t)i + 1;
        if (r->level != OP_REGION_COUNTY)
            while (j < g->nregions && region_at(g, j)->code / div == r->code / div)
                j++;
        g->desc_end[i] = j;
    }
    if (select_offices(g, errstr, errstr_size) != 0 || build_days(g, errstr, errstr_size) != 0)
        goto cleanup;
    for (size_t a = 0; a < gen_anchor_count; a++) {
        const struct anchor *an = &gen_anchor_table[a];
        if ((opts->types & (1u << an->type)) && office_selected(g, an->agency) &&
            op_regions_find(regs, an->region))
            g->anchors[g->nanchors++] = an;
    }
    ret = g; /* the caller owns it now */
    g = NULL;

cleanup:
    gen_destroy(g);
    return ret;
}

void gen_destroy(struct gen *g)
{
    if (!g)
        return;
    free(g->desc_end);
    free(g->offices);
    for (int l = 0; l < 3; l++)
        free(g->by_level[l]);
    free(g->cum);
    free(g->ring);
    free(g->hist);
    free(g->keys);
    free(g);
}

int gen_next(struct gen *g, const char **line, size_t *len)
{
    if (g->o.format == GEN_FORMAT_CSV && !g->header_done) {
        g->header_done = 1;
        *line = g->corrections ? CSV_HEADER_FIX : CSV_HEADER;
        *len = strlen(*line);
        return 1;
    }
    if (g->st.events >= g->o.events)
        return 0;

    const struct event *ev = NULL;
    if (g->corrections) {
        uint64_t left = g->o.events - g->st.events;
        if (g->npending && (g->st.events >= g->pending_due[0] || left <= g->npending)) {
            /* An original held back behind its correction (stale once it arrives). */
            g->fix = g->pending[0];
            g->npending--;
            memmove(g->pending, g->pending + 1, g->npending * sizeof *g->pending);
            memmove(g->pending_due, g->pending_due + 1, g->npending * sizeof *g->pending_due);
            ev = &g->fix;
            g->st.late_originals++;
        } else if (g->hist_n) {
            uint64_t u = rng_next(&g->rng) >> 11; /* as rng_chance: 53 bits */
            if (u < g->thr_correct && left > g->npending + 1)
                ev = gen_make_correction(g);
            else if (u >= g->thr_correct && u < g->thr_fix_end)
                ev = gen_make_retraction(g);
        }
    }
    if (ev) {
    } else if (g->ring_n && rng_chance(&g->rng, g->thr_dup)) {
        ev =
            &g->ring[(g->ring_pos + RING_CAP - 1 - rng_range(&g->rng, 0, (uint32_t)g->ring_n - 1)) %
                     RING_CAP];
        g->st.duplicates++;
    } else {
        struct event *slot = &g->ring[g->ring_pos];
        gen_make_original(g, slot, 0);
        if (g->corrections && slot->has_id)
            gen_hist_push(g, slot);
        g->ring_pos = (g->ring_pos + 1) % RING_CAP;
        if (g->ring_n < RING_CAP)
            g->ring_n++;
        ev = slot;
    }
    *len = gen_render(g, ev, g->line, LINE_CAP);
    g->st.events++;
    *line = g->line;
    return 1;
}

int gen_write(struct gen *g, FILE *out)
{
    const char *line;
    size_t len;
    while (gen_next(g, &line, &len))
        if (fwrite(line, 1, len, out) != len)
            return -1;
    return fflush(out) == 0 ? 0 : -1;
}

const struct gen_stats *gen_get_stats(const struct gen *g)
{
    return &g->st;
}

size_t gen_agency_count(const struct gen *g)
{
    return g->noffices;
}
