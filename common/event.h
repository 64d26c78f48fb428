/* The outreach event as C data: extracted from a decoded Avro value of a reader schema, and
 * the validation rules shared by the producer (before publishing) and the aggregator. */
#ifndef OP_EVENT_H
#define OP_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>

#include "authz.h"
#include "codec.h"
#include "regions.h"

enum op_event_type { OP_EVENT_VISIT = 0, OP_EVENT_FUNDING = 1, OP_EVENT_SURVEY = 2 };
#define OP_EVENT_TYPES 3

#define OP_EVENT_MAX_GROUPS 16
#define OP_EVENT_MAX_NEEDS 32
#define OP_EVENT_ID_MAX 128
#define OP_EVENT_AGENCY_MAX 64
#define OP_EVENT_CAMPAIGN_MAX 128
#define OP_EVENT_COUNT_MAX 10000000               /* people, households, enterprises per event */
#define OP_EVENT_AMOUNT_MAX INT64_C(100000000000) /* fen per event: 1 billion yuan */
#define OP_EVENT_REASON_MAX 500                   /* bytes of correction_reason */
#define OP_EVENT_TIME_MIN INT64_C(946656000000)   /* 2000-01-01T00:00:00+08:00 */

struct op_event_need {
    int kind; /* NeedKind symbol index in the reader schema */
    int32_t count;
};

/* Enum fields hold symbol indices of the reader schema; strings point into the Avro value
 * and are valid as long as it is. */
struct op_event {
    enum op_event_type type;
    const char *event_id;
    int64_t occurred_at, reported_at; /* ms since the epoch, UTC */
    const char *agency_id;
    const char *region_text;
    uint32_t region;      /* 0 when region_text is not six digits */
    const char *campaign; /* NULL when absent */
    const char *note;     /* v2 free text; NULL when null or not in the schema */
    /* Corrections (visit.v3, funding.v3, survey.v2; 0 / 0 / NULL for older writers): the
     * highest correction of an event_id counts; retracted withdraws the event. */
    int32_t correction;
    int retracted;
    const char *correction_reason;
    /* visit */
    int activity;
    int n_groups;
    int groups[OP_EVENT_MAX_GROUPS];
    int32_t workers_reached, households, staff;
    /* funding */
    int64_t amount_fen;
    int source, purpose, target_group;
    int32_t recipients;
    /* survey */
    int method, topic;
    int32_t enterprises, respondents;
    int32_t satisfaction[5];
    int n_needs;
    struct op_event_need needs[OP_EVENT_MAX_NEEDS];
};

/* "visit", "funding", "survey" -> type; -1 otherwise. */
int op_event_type_from_name(const char *name);
const char *op_event_type_name(enum op_event_type t);

/* Fills `ev` from `v`, a value of reader schema `s` (visit, funding or survey). A value that
 * does not fit (too many groups or needs) fails with the field and reason. Returns 0 or -1. */
int op_event_from_value(struct op_event *ev, const struct op_schema *s, avro_value_t *v,
                        char *field, size_t field_size, char *reason, size_t reason_size);

struct op_event_rules {
    const struct op_regions *regions;
    const struct op_authz *authz; /* NULL: no authorisation check */
    int64_t now_ms;               /* upper bound for times, with max_future_ms of skew */
    int64_t max_future_ms;
};

/* Validation verdicts. */
#define OP_EVENT_VALID 0
#define OP_EVENT_INVALID (-1)
#define OP_EVENT_UNAUTHORIZED (-2)

/* Checks every rule of docs/events.md: ids and texts, times, region code, authorisation,
 * counts and amounts within bounds, duplicate groups or needs. On failure names the field
 * and the reason. */
int op_event_validate(const struct op_event *ev, const struct op_event_rules *rules, char *field,
                      size_t field_size, char *reason, size_t reason_size);

#endif
