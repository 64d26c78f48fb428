/* Corrections and retractions (更正/撤回): per event_id the record with the highest
 * `correction` counts. What each counted event contributed is kept as its seen record, so a
 * correction takes the old contribution away and adds the new one in the same transaction.
 * Pure logic over agg_state, like state.c: no Kafka, no disk. */
#ifndef AGG_CORRECT_H
#define AGG_CORRECT_H

#include <stdint.h>

#include "authz.h"
#include "event.h"
#include "state.h"

/* What counting one valid event did. */
enum agg_outcome {
    AGG_COUNTED = 0,  /* an original report, first seen: counted */
    AGG_DUPLICATE,    /* this (event_id, correction) was seen before: nothing changed */
    AGG_STALE,        /* a lower correction than the one that counts: nothing changed */
    AGG_CORRECTED,    /* a correction now counts instead of what counted before */
    AGG_RETRACTED,    /* a retraction: the event counts nowhere now */
    AGG_EXPIRED,      /* a correction whose original may have been forgotten: dead letter */
    AGG_UNAUTHORIZED, /* a correction by an agency not authorised for the old region */
    AGG_TYPE_CHANGED  /* a correction of another record type than the event: dead letter */
};

/* The rules agg_count applies beyond op_event_validate's. */
struct agg_count_rules {
    const struct op_authz *authz; /* NULL: no authorisation check */
    /* Ids counted before this time may have been forgotten (pruned after the dedup horizon,
     * or gone with the changelog's retention before a restore); 0: none was. */
    int64_t forgotten_before_ms;
    int64_t max_future_ms; /* the allowed clock skew of occurred_at */
};

/* The outcome and, for AGG_CORRECTED / AGG_RETRACTED, what changed: the correction that
 * counted before (from; -1 when none of the event counted yet), the region it counted in,
 * and every rollup touched with its scalar changes (in id order). */
struct agg_counted {
    enum agg_outcome outcome;
    int32_t from;
    uint32_t old_region;
    struct agg_touch touch;
    char detail[400]; /* why, for the dead-letter outcomes */
};

/* Counts a valid event ev in s (at now_ms): applies the rules of docs/events.md
 * (Corrections) and records the event's contribution. Touched rollups get a new revision
 * and, for a correction or retraction, one more in their corrections. Returns 0 with
 * out->outcome, or -1 on allocation or storage failure. */
int agg_count(const struct agg_model *m, struct agg_state *s, const struct op_event *ev,
              int64_t now_ms, const struct agg_count_rules *rules, struct agg_counted *out);

/* The contribution record of ev counted in windows w[0..nw) (nw 0: counted nowhere, a
 * retraction), as kept in the seen set. Appends to out; 0 or -1. */
int agg_record_encode(const struct op_event *ev, const struct agg_window *w, size_t nw,
                      struct op_buf *out);

/* Reads a record back: the event's correction state, figures (no strings) and windows.
 * 0, or -1 when malformed. */
struct agg_record {
    struct op_event ev;
    struct agg_window w[AGG_MAX_WINDOWS];
    size_t nw;
};
int agg_record_decode(struct agg_record *rec, const void *data, size_t len);

#endif
