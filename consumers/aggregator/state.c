/* Aggregator state: per partition, the working set of rollups, the seen ids with their
 * contribution records, applying an event to every window and level of its region chain
 * (county → prefecture → province, integer sums only), and the frozen generation the store
 * writer reads. */
#include "err.h"
#include "state.h"
#include "state_internal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- state ------------------------------------------------------------------------------ */

struct agg_state *agg_state_new(int32_t partition, const struct agg_backing *backing)
{
    struct agg_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->partition = partition;
    if (backing)
        s->backing = *backing;
    s->live = op_map_new();
    s->seen = op_map_new();
    if (!s->live || !s->seen) {
        agg_state_destroy(s);
        return NULL;
    }
    return s;
}

void agg_state_destroy(struct agg_state *s)
{
    if (!s)
        return;
    op_map_destroy(s->live, agg_rollup_free);
    op_map_destroy(s->seen, NULL);
    op_buf_free(&s->seen_data);
    op_buf_free(&s->scratch);
    agg_state_thaw(s);
    free(s->dirty);
    free(s);
}

void agg_state_release(struct agg_state *s)
{
    op_map_destroy(s->live, agg_rollup_free);
    op_map_destroy(s->seen, NULL);
    s->seen_data.len = 0;
    s->live = op_map_new();
    s->seen = op_map_new();
    s->n_dirty = 0;
    /* The dirty list's storage is kept: the next interval needs it again. */
}

size_t agg_state_live(const struct agg_state *s)
{
    return s->live ? op_map_size(s->live) : 0;
}

/* A seen entry in an arena: ms (8 bytes), record length (2), record. *ref is offset + 1. */
static int seen_append(struct op_buf *data, int64_t ms, const void *info, size_t len,
                       uintptr_t *ref)
{
    if (len > UINT16_MAX)
        return -1;
    size_t at = data->len;
    uint16_t l = (uint16_t)len;
    unsigned char head[10];
    memcpy(head, &ms, 8);
    memcpy(head + 8, &l, 2);
    if (op_buf_append(data, head, sizeof head) != 0 ||
        (len && op_buf_append(data, info, len) != 0)) {
        data->len = at;
        return -1;
    }
    *ref = (uintptr_t)at + 1;
    return 0;
}

static const unsigned char *seen_entry_at(const struct op_buf *data, void *ref, int64_t *ms,
                                          size_t *len)
{
    const unsigned char *e = data->data + ((uintptr_t)ref - 1);
    uint16_t l;
    memcpy(ms, e, 8);
    memcpy(&l, e + 8, 2);
    *len = l;
    return e + 10;
}

int agg_seen_get(struct agg_state *s, const char *event_id, size_t n, struct op_buf *info,
                 int64_t *ms)
{
    if (!s->seen)
        return -1;
    info->len = 0;
    const struct op_buf *data = &s->seen_data;
    void *ref = op_map_get(s->seen, event_id, n);
    if (!ref && s->frozen_seen && (ref = op_map_get(s->frozen_seen, event_id, n)))
        data = &s->frozen_seen_data;
    if (ref) {
        int64_t t;
        size_t len;
        const unsigned char *rec = seen_entry_at(data, ref, &t, &len);
        if (ms)
            *ms = t;
        return op_buf_append(info, rec, len) ? -1 : 1;
    }
    if (!s->backing.get_seen)
        return 0;
    if (ms)
        *ms = 0;
    return s->backing.get_seen(s->backing.opaque, s->partition, event_id, n, info);
}

int agg_seen_put(struct agg_state *s, const char *event_id, size_t n, int64_t ms, const void *info,
                 size_t len)
{
    uintptr_t ref;
    if (!s->seen || seen_append(&s->seen_data, ms, info, len, &ref) != 0)
        return -1;
    return op_map_put(s->seen, event_id, n, (void *)ref, NULL);
}

int agg_seen_check_add(struct agg_state *s, const char *event_id, int64_t now_ms)
{
    size_t n = strlen(event_id);
    struct op_buf info = OP_BUF_INIT;
    int had = agg_seen_get(s, event_id, n, &info, NULL);
    op_buf_free(&info);
    if (had != 0)
        return had;
    return agg_seen_put(s, event_id, n, now_ms, NULL, 0);
}

static const unsigned char *frozen_find(const struct agg_frozen *f, uint64_t id, size_t *len);

static struct agg_rollup *rollup_get(struct agg_state *s, uint64_t id)
{
    if (!s->live)
        return NULL;
    struct agg_rollup *r = op_map_get(s->live, (const char *)&id, sizeof id);
    if (r)
        return r;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    size_t flen;
    const unsigned char *f = frozen_find(&s->frozen, id, &flen);
    if (f) { /* committed, not yet in the backing: a copy joins the working set */
        if (agg_rollup_decode(r, f, flen) != 0) {
            agg_rollup_free(r);
            return NULL;
        }
    } else if (s->backing.load_rollup &&
               s->backing.load_rollup(s->backing.opaque, s->partition, id, r) < 0) {
        agg_rollup_free(r);
        return NULL;
    }
    r->id = id;
    r->dirty = 0;
    if (op_map_put(s->live, (const char *)&id, sizeof id, r, NULL) != 0) {
        agg_rollup_free(r);
        return NULL;
    }
    return r;
}

static int mark_dirty(struct agg_state *s, struct agg_rollup *r)
{
    if (r->dirty)
        return 0;
    if (s->n_dirty == s->cap_dirty) {
        size_t cap = s->cap_dirty ? s->cap_dirty * 2 : 256;
        struct agg_rollup **d = realloc(s->dirty, cap * sizeof *d);
        if (!d)
            return -1;
        s->dirty = d;
        s->cap_dirty = cap;
    }
    s->dirty[s->n_dirty++] = r;
    r->dirty = 1;
    r->revision++;
    return 0;
}

const char *const agg_delta_names[AGG_DELTAS] = {
    "event_count", "visits",     "workers_reached", "households",  "staff",
    "funding_fen", "recipients", "surveys",         "enterprises", "respondents"};

/* What ev adds to a rollup's scalars (sign 1) or takes away (-1), in agg_delta_names order. */
static void event_deltas(const struct op_event *ev, int sign, int64_t d[AGG_DELTAS])
{
    memset(d, 0, AGG_DELTAS * sizeof *d);
    d[0] = sign;
    switch (ev->type) {
    case OP_EVENT_VISIT:
        d[1] = sign, d[2] = sign * (int64_t)ev->workers_reached;
        d[3] = sign * (int64_t)ev->households, d[4] = sign * (int64_t)ev->staff;
        break;
    case OP_EVENT_FUNDING:
        d[5] = sign * ev->amount_fen, d[6] = sign * (int64_t)ev->recipients;
        break;
    case OP_EVENT_SURVEY:
        d[7] = sign, d[8] = sign * (int64_t)ev->enterprises, d[9] = sign * (int64_t)ev->respondents;
        break;
    }
}

/* Adds ev to r (sign 1) or takes it away (-1). first/last event times only widen: a
 * correction or retraction does not narrow them (docs/events.md). */
static int add_event(struct agg_rollup *r, const struct op_event *ev, int sign)
{
    /* 0: no event yet (times are after 2000); a rollup a retraction emptied keeps its span. */
    if (sign > 0 && (r->first_at == 0 || ev->occurred_at < r->first_at))
        r->first_at = ev->occurred_at;
    if (sign > 0 && (r->last_at == 0 || ev->occurred_at > r->last_at))
        r->last_at = ev->occurred_at;
    int64_t d[AGG_DELTAS];
    event_deltas(ev, sign, d);
    int64_t *scalar[AGG_DELTAS] = {
        &r->event_count, &r->visits,     &r->workers_reached, &r->households,  &r->staff,
        &r->funding_fen, &r->recipients, &r->surveys,         &r->enterprises, &r->respondents};
    for (int i = 0; i < AGG_DELTAS; i++)
        *scalar[i] += d[i];
    int bad = 0;
    switch (ev->type) {
    case OP_EVENT_VISIT:
        bad |= agg_dim_add(r, AGG_ACTIVITY, ev->activity, sign);
        for (int i = 0; i < ev->n_groups; i++)
            bad |= agg_dim_add(r, AGG_GROUP, ev->groups[i], sign * (int64_t)ev->workers_reached);
        break;
    case OP_EVENT_FUNDING:
        bad |= agg_dim_add(r, AGG_SOURCE, ev->source, sign * ev->amount_fen);
        bad |= agg_dim_add(r, AGG_PURPOSE, ev->purpose, sign * ev->amount_fen);
        break;
    case OP_EVENT_SURVEY:
        for (int i = 0; i < 5; i++)
            r->satisfaction[i] += sign * (int64_t)ev->satisfaction[i];
        for (int i = 0; i < ev->n_needs; i++)
            bad |= agg_dim_add(r, AGG_NEED, ev->needs[i].kind, sign * (int64_t)ev->needs[i].count);
        break;
    }
    return bad ? -1 : 0;
}

size_t agg_event_windows(const struct agg_model *m, int64_t occurred_at,
                         struct agg_window out[AGG_MAX_WINDOWS])
{
    size_t nw = 0;
    out[nw++] = (struct agg_window){AGG_DAY, agg_day_number(occurred_at)};
    out[nw++] = (struct agg_window){AGG_MONTH, agg_month_number(occurred_at)};
    out[nw++] = (struct agg_window){AGG_ALL, 0};
    for (size_t c = 0; c < m->n_campaigns && nw < AGG_MAX_WINDOWS; c++)
        if (occurred_at >= m->campaigns[c].start_ms && occurred_at < m->campaigns[c].end_ms)
            out[nw++] = (struct agg_window){AGG_CAMPAIGN, m->campaigns[c].window};
    return nw;
}

static int touch_add(struct agg_touch *t, uint64_t id, const int64_t d[AGG_DELTAS])
{
    size_t i = 0;
    while (i < t->n && t->id[i] != id)
        i++;
    if (i == t->n) {
        if (t->n == AGG_MAX_TOUCH)
            return -1;
        t->id[t->n] = id;
        memset(t->d[t->n++], 0, sizeof t->d[0]);
    }
    for (int k = 0; k < AGG_DELTAS; k++)
        t->d[i][k] += d[k];
    return 0;
}

int agg_apply_windows(const struct agg_model *m, struct agg_state *s, const struct op_event *ev,
                      const struct agg_window *w, size_t nw, int sign, struct agg_touch *touch)
{
    const struct op_region *chain[3];
    size_t levels = op_regions_chain(m->regions, ev->region, chain);
    if (levels == 0)
        return -1;
    /* Enum indices become dimension tags: refuse anything outside the model (defensive; the
     * reader schema bounds them). */
    if ((ev->type == OP_EVENT_VISIT && ev->activity >= m->n_symbols[AGG_ACTIVITY]) ||
        (ev->type == OP_EVENT_FUNDING &&
         (ev->source >= m->n_symbols[AGG_SOURCE] || ev->purpose >= m->n_symbols[AGG_PURPOSE])))
        return -1;
    for (int i = 0; i < ev->n_groups; i++)
        if (ev->groups[i] >= m->n_symbols[AGG_GROUP])
            return -1;
    for (int i = 0; i < ev->n_needs; i++)
        if (ev->needs[i].kind >= m->n_symbols[AGG_NEED])
            return -1;
    int64_t d[AGG_DELTAS];
    event_deltas(ev, sign, d);
    for (size_t i = 0; i < nw; i++)
        for (size_t l = 0; l < levels; l++) {
            uint64_t id = agg_rollup_id(w[i].kind, w[i].number, chain[l]->code);
            struct agg_rollup *r = rollup_get(s, id);
            if (!r || mark_dirty(s, r) != 0 || add_event(r, ev, sign) != 0 ||
                (touch && touch_add(touch, id, d) != 0))
                return -1;
        }
    return 0;
}

int agg_touch_count_correction(struct agg_state *s, const struct agg_touch *t)
{
    for (size_t i = 0; i < t->n; i++) {
        struct agg_rollup *r = rollup_get(s, t->id[i]);
        if (!r || mark_dirty(s, r) != 0)
            return -1;
        r->corrections++;
    }
    return 0;
}

int agg_apply(const struct agg_model *m, struct agg_state *s, const struct op_event *ev)
{
    struct agg_window w[AGG_MAX_WINDOWS];
    size_t nw = agg_event_windows(m, ev->occurred_at, w);
    return agg_apply_windows(m, s, ev, w, nw, 1, NULL);
}

int agg_take_dirty(struct agg_state *s, int (*cb)(struct agg_rollup *r, void *opaque), void *opaque)
{
    size_t i;
    int rc = 0;
    for (i = 0; i < s->n_dirty; i++) {
        rc = cb(s->dirty[i], opaque);
        if (rc != 0)
            break;
        s->dirty[i]->dirty = 0;
    }
    if (i > 0 && i < s->n_dirty)
        memmove(s->dirty, s->dirty + i, (s->n_dirty - i) * sizeof *s->dirty);
    s->n_dirty -= i;
    return rc;
}

static int by_id(const void *x, const void *y)
{
    uint64_t a = (*(const struct agg_rollup *const *)x)->id;
    uint64_t b = (*(const struct agg_rollup *const *)y)->id;
    return a < b ? -1 : a > b;
}

struct seen_entry {
    const char *id;
    size_t n;
    void *ref;
};

/* LMDB's default key order: bytes, then length. */
static int by_key(const void *x, const void *y)
{
    const struct seen_entry *a = x, *b = y;
    int c = memcmp(a->id, b->id, a->n < b->n ? a->n : b->n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

static int each_of(const struct op_map *live, const struct op_map *seen,
                   const struct op_buf *seen_data,
                   int (*rollup_cb)(const struct agg_rollup *r, void *opaque), agg_seen_cb seen_cb,
                   void *opaque)
{
    /* In key order: consecutive B-tree writes then share pages, so a store transaction
     * dirties (and writes back) far fewer pages than in hash order. */
    size_t pos = 0, len, i = 0;
    const char *key;
    void *v;
    int rc = 0;
    size_t nr = rollup_cb && live ? op_map_size(live) : 0;
    size_t ns = seen_cb && seen ? op_map_size(seen) : 0;
    const struct agg_rollup **rs = nr ? malloc(nr * sizeof *rs) : NULL;
    struct seen_entry *ids = ns ? malloc(ns * sizeof *ids) : NULL;
    if ((nr && !rs) || (ns && !ids)) {
        free(rs);
        free(ids);
        return -1;
    }
    while (nr && op_map_next(live, &pos, &key, &len, &v))
        rs[i++] = v;
    if (nr) /* qsort's base must not be NULL, even for nothing */
        qsort(rs, nr, sizeof *rs, by_id);
    for (i = 0; rc == 0 && i < nr; i++)
        rc = rollup_cb(rs[i], opaque);
    for (pos = 0, i = 0; ns && op_map_next(seen, &pos, &key, &len, &v); i++)
        ids[i] = (struct seen_entry){key, len, v};
    if (ns)
        qsort(ids, ns, sizeof *ids, by_key);
    for (i = 0; rc == 0 && i < ns; i++) {
        int64_t ms;
        size_t rl;
        const unsigned char *rec = seen_entry_at(seen_data, ids[i].ref, &ms, &rl);
        rc = seen_cb(ids[i].id, ids[i].n, ms, rec, rl, opaque);
    }
    free(rs);
    free(ids);
    return rc;
}

int agg_state_each(struct agg_state *s, int (*rollup_cb)(const struct agg_rollup *r, void *opaque),
                   agg_seen_cb seen_cb, void *opaque)
{
    return each_of(s->live, s->seen, &s->seen_data, rollup_cb, seen_cb, opaque);
}

/* ---- the frozen generation ---------------------------------------------------------- */

static size_t frozen_home(uint64_t id, size_t mask)
{
    id ^= id >> 33; /* a 64-bit mix (murmur3's finaliser): ids differ in few low bits */
    id *= UINT64_C(0xff51afd7ed558ccd);
    id ^= id >> 33;
    return (size_t)id & mask;
}

static const unsigned char *frozen_find(const struct agg_frozen *f, uint64_t id, size_t *len)
{
    if (!f->on || f->n == 0)
        return NULL;
    for (size_t i = frozen_home(id, f->mask);; i = (i + 1) & f->mask) {
        uint32_t k = f->slot[i];
        if (k == 0)
            return NULL;
        if (f->id[k - 1] == id) {
            *len = f->len[k - 1];
            return (const unsigned char *)f->data.data + f->off[k - 1];
        }
    }
}

static void frozen_free(struct agg_frozen *f)
{
    op_buf_free(&f->data);
    free(f->id);
    free(f->off);
    free(f->len);
    free(f->slot);
    memset(f, 0, sizeof *f);
}

/* Encodes every rollup of live into f (not yet on). 0 or -1 (allocation). */
static int frozen_fill(struct agg_frozen *f, const struct op_map *live)
{
    size_t n = op_map_size(live), cap = 16, pos = 0, len;
    while (cap < n * 2)
        cap *= 2;
    f->mask = cap - 1;
    f->slot = calloc(cap, sizeof *f->slot);
    f->id = malloc((n ? n : 1) * sizeof *f->id);
    f->off = malloc((n ? n : 1) * sizeof *f->off);
    f->len = malloc((n ? n : 1) * sizeof *f->len);
    if (!f->slot || !f->id || !f->off || !f->len || n >= UINT32_MAX)
        return -1;
    const char *key;
    void *v;
    while (op_map_next(live, &pos, &key, &len, &v)) {
        const struct agg_rollup *r = v;
        size_t at = f->data.len;
        if (agg_rollup_encode(r, &f->data) != 0 || f->data.len > UINT32_MAX)
            return -1;
        f->id[f->n] = r->id;
        f->off[f->n] = (uint32_t)at;
        f->len[f->n] = (uint32_t)(f->data.len - at);
        size_t i = frozen_home(r->id, f->mask);
        while (f->slot[i])
            i = (i + 1) & f->mask;
        f->slot[i] = (uint32_t)++f->n;
    }
    return 0;
}

struct frozen_ref {
    uint64_t id;
    uint32_t index;
};

static int by_ref_id(const void *x, const void *y)
{
    uint64_t a = ((const struct frozen_ref *)x)->id, b = ((const struct frozen_ref *)y)->id;
    return a < b ? -1 : a > b;
}

int agg_state_each_frozen(const struct agg_state *s,
                          int (*rollup_cb)(uint64_t id, const void *data, size_t len, void *opaque),
                          agg_seen_cb seen_cb, void *opaque)
{
    const struct agg_frozen *f = &s->frozen;
    int rc = 0;
    if (rollup_cb && f->on && f->n) {
        /* In key order, for the same reason as agg_state_each. */
        struct frozen_ref *refs = malloc(f->n * sizeof *refs);
        if (!refs)
            return -1;
        for (size_t i = 0; i < f->n; i++)
            refs[i] = (struct frozen_ref){f->id[i], (uint32_t)i};
        qsort(refs, f->n, sizeof *refs, by_ref_id);
        for (size_t i = 0; rc == 0 && i < f->n; i++) {
            uint32_t k = refs[i].index;
            rc = rollup_cb(refs[i].id, (const unsigned char *)f->data.data + f->off[k], f->len[k],
                           opaque);
        }
        free(refs);
    }
    return rc ? rc : each_of(NULL, s->frozen_seen, &s->frozen_seen_data, NULL, seen_cb, opaque);
}

int agg_state_freeze(struct agg_state *s)
{
    if (s->frozen.on || s->frozen_seen || s->n_dirty || !s->live || !s->seen)
        return -1;
    struct op_map *live = op_map_new(), *seen = op_map_new();
    if (!live || !seen || frozen_fill(&s->frozen, s->live) != 0) {
        op_map_destroy(live, NULL);
        op_map_destroy(seen, NULL);
        frozen_free(&s->frozen);
        return -1;
    }
    s->frozen.on = 1;
    op_map_destroy(s->live, agg_rollup_free);
    s->frozen_seen = s->seen;
    s->frozen_seen_data = s->seen_data;
    s->seen_data = (struct op_buf)OP_BUF_INIT;
    s->live = live, s->seen = seen;
    return 0;
}

void agg_state_thaw(struct agg_state *s)
{
    frozen_free(&s->frozen);
    op_map_destroy(s->frozen_seen, NULL);
    s->frozen_seen = NULL;
    op_buf_free(&s->frozen_seen_data);
}
