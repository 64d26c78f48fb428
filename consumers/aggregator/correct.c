/* Corrections: the contribution record of a counted event and the rules of
 * docs/events.md (Corrections) that decide what a record with an already seen event_id does. */
#include "correct.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

/* ---- contribution records ---------------------------------------------------------------
 * Avro-style longs: format (1), correction, retracted, type, region, occurred_at, the number
 * of windows and each window's kind and number, then the figures of the type: visit:
 * activity, groups (count, each), workers_reached, households, staff; funding: amount_fen,
 * source, purpose, recipients; survey: enterprises, respondents, s1..s5, needs (count, each
 * kind and count). The windows are those the event was counted in, so taking it away later
 * hits exactly the same rollups whatever the campaigns are configured to by then. */

#define RECORD_FORMAT 1

int agg_record_encode(const struct op_event *ev, const struct agg_window *w, size_t nw,
                      struct op_buf *out)
{
    int64_t head[] = {RECORD_FORMAT,       ev->correction,  ev->retracted != 0, ev->type,
                      (int64_t)ev->region, ev->occurred_at, (int64_t)nw};
    int bad = 0;
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        bad |= op_buf_put_varint(out, head[i]);
    for (size_t i = 0; i < nw; i++)
        bad |= op_buf_put_varint(out, w[i].kind) | op_buf_put_varint(out, w[i].number);
    switch (ev->type) {
    case OP_EVENT_VISIT:
        bad |= op_buf_put_varint(out, ev->activity) | op_buf_put_varint(out, ev->n_groups);
        for (int i = 0; i < ev->n_groups; i++)
            bad |= op_buf_put_varint(out, ev->groups[i]);
        bad |= op_buf_put_varint(out, ev->workers_reached) |
               op_buf_put_varint(out, ev->households) | op_buf_put_varint(out, ev->staff);
        break;
    case OP_EVENT_FUNDING:
        bad |= op_buf_put_varint(out, ev->amount_fen) | op_buf_put_varint(out, ev->source) |
               op_buf_put_varint(out, ev->purpose) | op_buf_put_varint(out, ev->recipients);
        break;
    case OP_EVENT_SURVEY:
        bad |= op_buf_put_varint(out, ev->enterprises) | op_buf_put_varint(out, ev->respondents);
        for (int i = 0; i < 5; i++)
            bad |= op_buf_put_varint(out, ev->satisfaction[i]);
        bad |= op_buf_put_varint(out, ev->n_needs);
        for (int i = 0; i < ev->n_needs; i++)
            bad |= op_buf_put_varint(out, ev->needs[i].kind) |
                   op_buf_put_varint(out, ev->needs[i].count);
        break;
    }
    return bad ? -1 : 0;
}

struct reader {
    const unsigned char *p, *end;
    int bad;
};

/* The next long, required within [lo, hi]; a failure sticks. */
static int64_t next(struct reader *r, int64_t lo, int64_t hi)
{
    int64_t v = 0;
    if (r->bad || op_varint_get(&r->p, r->end, &v) != 0 || v < lo || v > hi) {
        r->bad = 1;
        return lo;
    }
    return v;
}

int agg_record_decode(struct agg_record *rec, const void *data, size_t len)
{
    struct reader r = {data, (const unsigned char *)data + len, 0};
    struct op_event *ev = &rec->ev;
    memset(rec, 0, sizeof *rec);
    if (next(&r, RECORD_FORMAT, RECORD_FORMAT) != RECORD_FORMAT)
        return -1;
    ev->correction = (int32_t)next(&r, 0, INT32_MAX);
    ev->retracted = (int)next(&r, 0, 1);
    ev->type = (enum op_event_type)next(&r, 0, OP_EVENT_TYPES - 1);
    ev->region = (uint32_t)next(&r, 0, 999999);
    ev->occurred_at = next(&r, INT64_MIN, INT64_MAX);
    rec->nw = (size_t)next(&r, 0, AGG_MAX_WINDOWS);
    for (size_t i = 0; i < rec->nw; i++) {
        rec->w[i].kind = (int)next(&r, 0, AGG_KINDS - 1);
        rec->w[i].number = (uint16_t)next(&r, 0, UINT16_MAX);
    }
    switch (ev->type) {
    case OP_EVENT_VISIT:
        ev->activity = (int)next(&r, 0, AGG_DIM - 1);
        ev->n_groups = (int)next(&r, 0, OP_EVENT_MAX_GROUPS);
        for (int i = 0; i < ev->n_groups; i++)
            ev->groups[i] = (int)next(&r, 0, AGG_DIM - 1);
        ev->workers_reached = (int32_t)next(&r, 0, INT32_MAX);
        ev->households = (int32_t)next(&r, 0, INT32_MAX);
        ev->staff = (int32_t)next(&r, 0, INT32_MAX);
        break;
    case OP_EVENT_FUNDING:
        ev->amount_fen = next(&r, 0, INT64_MAX);
        ev->source = (int)next(&r, 0, AGG_DIM - 1);
        ev->purpose = (int)next(&r, 0, AGG_DIM - 1);
        ev->recipients = (int32_t)next(&r, 0, INT32_MAX);
        break;
    case OP_EVENT_SURVEY:
        ev->enterprises = (int32_t)next(&r, 0, INT32_MAX);
        ev->respondents = (int32_t)next(&r, 0, INT32_MAX);
        for (int i = 0; i < 5; i++)
            ev->satisfaction[i] = (int32_t)next(&r, 0, INT32_MAX);
        ev->n_needs = (int)next(&r, 0, OP_EVENT_MAX_NEEDS);
        for (int i = 0; i < ev->n_needs; i++) {
            ev->needs[i].kind = (int)next(&r, 0, AGG_DIM - 1);
            ev->needs[i].count = (int32_t)next(&r, 0, INT32_MAX);
        }
        break;
    }
    return r.bad || r.p != r.end ? -1 : 0;
}

/* ---- the rules ---------------------------------------------------------------------------- */

static int by_touched_id(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Sorts t by rollup id (the audit entry's stable order), keeping each id's changes. */
static void touch_sort(struct agg_touch *t)
{
    struct {
        uint64_t id;
        int64_t d[AGG_DELTAS];
    } e[AGG_MAX_TOUCH];
    for (size_t i = 0; i < t->n; i++) {
        e[i].id = t->id[i];
        memcpy(e[i].d, t->d[i], sizeof e[i].d);
    }
    qsort(e, t->n, sizeof e[0], by_touched_id);
    for (size_t i = 0; i < t->n; i++) {
        t->id[i] = e[i].id;
        memcpy(t->d[i], e[i].d, sizeof e[i].d);
    }
}

/* Records ev as counted in w[0..nw) under its id (replacing what was there). */
static int remember(struct agg_state *s, const struct op_event *ev, const struct agg_window *w,
                    size_t nw, int64_t now_ms, struct op_buf *scratch)
{
    scratch->len = 0;
    return agg_record_encode(ev, w, nw, scratch) ||
                   agg_seen_put(s, ev->event_id, strlen(ev->event_id), now_ms > 0 ? now_ms : 1,
                                scratch->data, scratch->len)
               ? -1
               : 0;
}

int agg_count(const struct agg_model *m, struct agg_state *s, const struct op_event *ev,
              int64_t now_ms, const struct agg_count_rules *rules, struct agg_counted *out)
{
    out->outcome = AGG_DUPLICATE;
    out->from = -1;
    out->old_region = 0;
    out->touch.n = 0;
    out->detail[0] = '\0';
    struct op_buf *buf = &s->scratch;
    int had = agg_seen_get(s, ev->event_id, strlen(ev->event_id), buf, NULL);
    if (had < 0)
        return -1;
    struct agg_record prev;
    if (had) {
        /* No record: counted before contributions were recorded. An unreadable one (only
         * something other than the aggregator writing the seen topic makes one) is taken
         * the same way, so it costs that event's corrections, not a restart loop. */
        int none = buf->len == 0 || agg_record_decode(&prev, buf->data, buf->len) != 0;
        if (none) {
            if (ev->correction == 0)
                return 0;
            out->outcome = AGG_EXPIRED;
            snprintf(out->detail, sizeof out->detail,
                     "event %.128s was counted without a readable record of what it "
                     "contributed (before this version kept them); its correction cannot be "
                     "applied",
                     ev->event_id);
            return 0;
        }
        if (ev->correction == prev.ev.correction)
            return 0;
        if (ev->correction < prev.ev.correction) {
            out->outcome = AGG_STALE;
            out->from = prev.ev.correction;
            return 0;
        }
        if (ev->type != prev.ev.type) {
            out->outcome = AGG_TYPE_CHANGED;
            snprintf(out->detail, sizeof out->detail,
                     "type: event %.128s is a %s; a correction cannot change the record type",
                     ev->event_id, op_event_type_name(prev.ev.type));
            return 0;
        }
        if (rules->authz && !op_authz_check(rules->authz, ev->agency_id, prev.ev.region)) {
            out->outcome = AGG_UNAUTHORIZED;
            snprintf(out->detail, sizeof out->detail,
                     "agency %.64s is not authorised for region %06" PRIu32
                     ", where event %.40s counted until now",
                     ev->agency_id, prev.ev.region, ev->event_id);
            return 0;
        }
        out->from = prev.ev.correction;
        out->old_region = prev.ev.region;
    } else if (ev->correction > 0 && rules->forgotten_before_ms > 0 &&
               ev->occurred_at - rules->max_future_ms < rules->forgotten_before_ms) {
        /* An original of this time could have been counted before ids were forgotten: taking
         * the correction as a first report might count the event twice. */
        out->outcome = AGG_EXPIRED;
        snprintf(out->detail, sizeof out->detail,
                 "no record of event %.128s: events counted before the dedup horizon are "
                 "forgotten, so its correction cannot be applied",
                 ev->event_id);
        return 0;
    }

    struct agg_window w[AGG_MAX_WINDOWS];
    size_t nw = ev->retracted ? 0 : agg_event_windows(m, ev->occurred_at, w);
    struct agg_touch *touch = ev->correction > 0 ? &out->touch : NULL;
    if ((had && agg_apply_windows(m, s, &prev.ev, prev.w, prev.nw, -1, touch) != 0) ||
        agg_apply_windows(m, s, ev, w, nw, 1, touch) != 0 ||
        (touch && agg_touch_count_correction(s, touch) != 0) ||
        remember(s, ev, w, nw, now_ms, buf) != 0)
        return -1;
    if (touch)
        touch_sort(touch);
    out->outcome = ev->correction == 0 ? AGG_COUNTED
                   : ev->retracted     ? AGG_RETRACTED
                                       : AGG_CORRECTED;
    return 0;
}
