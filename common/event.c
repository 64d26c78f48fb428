/* Event extraction from Avro values by field name, and the validation rules every stage
 * applies, so producer and aggregator agree on what a valid event is. */
#include "event.h"
#include "err.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[OP_EVENT_TYPES] = {"visit", "funding", "survey"};

int op_event_type_from_name(const char *name)
{
    for (int i = 0; i < OP_EVENT_TYPES; i++)
        if (strcmp(name, type_names[i]) == 0)
            return i;
    return -1;
}

const char *op_event_type_name(enum op_event_type t)
{
    return (unsigned)t < OP_EVENT_TYPES ? type_names[t] : "unknown";
}

struct ctx {
    avro_value_t *v;
    char *field, *reason;
    size_t field_size, reason_size;
};

/* Field `name` of record value v, or -1, for a field only some versions have. Not
 * avro_value_get_by_name: for a field the schema lacks it has avro-c write its process-wide
 * error buffer, a data race when producer workers convert at once (codec.h). */
static int optional_field(avro_value_t *v, const char *name, avro_value_t *out)
{
    int i = op_codec_field_index(avro_value_get_schema(v), name);
    return i < 0 ? -1 : avro_value_get_by_index(v, (size_t)i, out, NULL);
}

/* A field every version of the type has: avro-c's hashed lookup, which fails (and writes its
 * error buffer) only for a reader schema that is no event schema at all: the readers are the
 * embedded newest schemas, test_producer_threads checks that no conversion writes it. */
static int child(struct ctx *c, const char *name, avro_value_t *out)
{
    if (avro_value_get_by_name(c->v, name, out, NULL) != 0) {
        op_set_err(c->field, c->field_size, "%s", name);
        op_set_err(c->reason, c->reason_size, "missing from the reader schema");
        return -1;
    }
    return 0;
}

static int get_string(struct ctx *c, const char *name, const char **out)
{
    avro_value_t f;
    size_t n;
    if (child(c, name, &f) != 0)
        return -1;
    if (avro_value_get_type(&f) == AVRO_UNION) {
        avro_value_t br;
        if (avro_value_get_current_branch(&f, &br) != 0 || avro_value_get_type(&br) == AVRO_NULL) {
            *out = NULL;
            return 0;
        }
        f = br;
    }
    return avro_value_get_string(&f, out, &n);
}

static int get_long(struct ctx *c, const char *name, int64_t *out)
{
    avro_value_t f;
    return child(c, name, &f) || avro_value_get_long(&f, out);
}

static int get_int(struct ctx *c, const char *name, int32_t *out)
{
    avro_value_t f;
    return child(c, name, &f) || avro_value_get_int(&f, out);
}

static int get_enum(struct ctx *c, const char *name, int *out)
{
    avro_value_t f;
    return child(c, name, &f) || avro_value_get_enum(&f, out);
}

int op_event_from_value(struct op_event *ev, const struct op_schema *s, avro_value_t *v,
                        char *field, size_t field_size, char *reason, size_t reason_size)
{
    struct ctx c = {v, field, reason, field_size, reason_size};
    memset(ev, 0, sizeof *ev);
    int t = op_event_type_from_name(s->type);
    if (t < 0) {
        op_set_err(field, field_size, "type");
        op_set_err(reason, reason_size, "%s is not an event schema", s->name);
        return -1;
    }
    ev->type = (enum op_event_type)t;
    if (get_string(&c, "event_id", &ev->event_id) ||
        get_long(&c, "occurred_at", &ev->occurred_at) ||
        get_long(&c, "reported_at", &ev->reported_at) ||
        get_string(&c, "agency_id", &ev->agency_id) || get_string(&c, "region", &ev->region_text) ||
        get_string(&c, "campaign", &ev->campaign))
        return -1;
    if (op_regions_parse_code(ev->region_text, &ev->region) != 0)
        ev->region = 0;
    avro_value_t note;
    if (optional_field(v, "note", &note) == 0 && /* v2 visit and funding */
        get_string(&c, "note", &ev->note))
        return -1;
    avro_value_t corr;
    if (optional_field(v, "correction", &corr) == 0) { /* v3 (survey v2) */
        avro_value_t retr;
        int b = 0;
        if (avro_value_get_int(&corr, &ev->correction) || child(&c, "retracted", &retr) ||
            avro_value_get_boolean(&retr, &b) ||
            get_string(&c, "correction_reason", &ev->correction_reason))
            return -1;
        ev->retracted = b != 0;
    }

    switch (ev->type) {
    case OP_EVENT_VISIT: {
        avro_value_t arr;
        size_t n;
        if (get_enum(&c, "activity", &ev->activity) || child(&c, "target_groups", &arr) ||
            avro_value_get_size(&arr, &n) || get_int(&c, "workers_reached", &ev->workers_reached) ||
            get_int(&c, "households", &ev->households) || get_int(&c, "staff", &ev->staff))
            return -1;
        if (n > OP_EVENT_MAX_GROUPS) {
            op_set_err(field, field_size, "target_groups");
            op_set_err(reason, reason_size, "%zu groups, at most %d", n, OP_EVENT_MAX_GROUPS);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            avro_value_t e;
            if (avro_value_get_by_index(&arr, i, &e, NULL) ||
                avro_value_get_enum(&e, &ev->groups[i]))
                return -1;
        }
        ev->n_groups = (int)n;
        return 0;
    }
    case OP_EVENT_FUNDING:
        return get_long(&c, "amount_fen", &ev->amount_fen) || get_enum(&c, "source", &ev->source) ||
                       get_enum(&c, "purpose", &ev->purpose) ||
                       get_int(&c, "recipients", &ev->recipients) ||
                       get_enum(&c, "target_group", &ev->target_group)
                   ? -1
                   : 0;
    case OP_EVENT_SURVEY: {
        avro_value_t sat, needs;
        size_t n;
        if (get_enum(&c, "method", &ev->method) || get_int(&c, "enterprises", &ev->enterprises) ||
            get_int(&c, "respondents", &ev->respondents) || get_enum(&c, "topic", &ev->topic) ||
            child(&c, "satisfaction", &sat) || child(&c, "needs", &needs) ||
            avro_value_get_size(&needs, &n))
            return -1;
        static const char *const s_names[5] = {"s1", "s2", "s3", "s4", "s5"};
        for (int i = 0; i < 5; i++) {
            avro_value_t f;
            if (avro_value_get_by_name(&sat, s_names[i], &f, NULL) ||
                avro_value_get_int(&f, &ev->satisfaction[i]))
                return -1;
        }
        if (n > OP_EVENT_MAX_NEEDS) {
            op_set_err(field, field_size, "needs");
            op_set_err(reason, reason_size, "%zu needs, at most %d", n, OP_EVENT_MAX_NEEDS);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            avro_value_t e, f;
            if (avro_value_get_by_index(&needs, i, &e, NULL) ||
                avro_value_get_by_name(&e, "need", &f, NULL) ||
                avro_value_get_enum(&f, &ev->needs[i].kind) ||
                avro_value_get_by_name(&e, "count", &f, NULL) ||
                avro_value_get_int(&f, &ev->needs[i].count))
                return -1;
        }
        ev->n_needs = (int)n;
        return 0;
    }
    }
    return -1;
}

static int text_ok(const char *s, size_t max, const char *name, char *field, size_t field_size,
                   char *reason, size_t reason_size)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max) {
        op_set_err(field, field_size, "%s", name);
        if (n == 0)
            op_set_err(reason, reason_size, "must not be empty");
        else
            op_set_err(reason, reason_size, "%zu bytes, at most %zu", n, max);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            op_set_err(field, field_size, "%s", name);
            op_set_err(reason, reason_size, "contains a control character");
            return 0;
        }
    return 1;
}

/* Free text (note, correction_reason): spreadsheet cells carry line breaks and tabs, nothing
 * else below 0x20. NULL is fine. */
static int free_text_ok(const char *s, const char *name, char *field, size_t field_size,
                        char *reason, size_t reason_size)
{
    for (const char *p = s; p && *p; p++)
        if (((unsigned char)*p < 0x20 && !strchr("\t\n\r", *p)) || *p == 0x7f) {
            op_set_err(field, field_size, "%s", name);
            op_set_err(reason, reason_size,
                       "contains a control character (only tab and line breaks are allowed)");
            return 0;
        }
    return 1;
}

static int count_ok(int64_t v, int64_t max, const char *name, char *field, size_t field_size,
                    char *reason, size_t reason_size)
{
    if (v >= 0 && v <= max)
        return 1;
    op_set_err(field, field_size, "%s", name);
    if (v < 0)
        op_set_err(reason, reason_size, "%" PRId64 " is negative", v);
    else
        op_set_err(reason, reason_size, "%" PRId64 " exceeds the limit of %" PRId64, v, max);
    return 0;
}

int op_event_validate(const struct op_event *ev, const struct op_event_rules *rules, char *field,
                      size_t field_size, char *reason, size_t reason_size)
{
#define TEXT(s, max, name)                                                                         \
    if (!text_ok(s, max, name, field, field_size, reason, reason_size))                            \
    return OP_EVENT_INVALID
#define COUNT(v, max, name)                                                                        \
    if (!count_ok(v, max, name, field, field_size, reason, reason_size))                           \
    return OP_EVENT_INVALID

    TEXT(ev->event_id, OP_EVENT_ID_MAX, "event_id");
    TEXT(ev->agency_id, OP_EVENT_AGENCY_MAX, "agency_id");
    if (ev->campaign && *ev->campaign)
        TEXT(ev->campaign, OP_EVENT_CAMPAIGN_MAX, "campaign");
    if (!free_text_ok(ev->note, "note", field, field_size, reason, reason_size))
        return OP_EVENT_INVALID;

    if (ev->correction < 0) {
        op_set_err(field, field_size, "correction");
        op_set_err(reason, reason_size, "%" PRId32 " is negative", ev->correction);
        return OP_EVENT_INVALID;
    }
    if (ev->retracted && ev->correction == 0) {
        op_set_err(field, field_size, "retracted");
        op_set_err(reason, reason_size, "only a correction (correction > 0) can retract an event");
        return OP_EVENT_INVALID;
    }
    if (ev->correction > 0) {
        if (!ev->correction_reason || !*ev->correction_reason) {
            op_set_err(field, field_size, "correction_reason");
            op_set_err(reason, reason_size, "required when correction > 0");
            return OP_EVENT_INVALID;
        }
        if (strlen(ev->correction_reason) > OP_EVENT_REASON_MAX) {
            op_set_err(field, field_size, "correction_reason");
            op_set_err(reason, reason_size, "%zu bytes, at most %d", strlen(ev->correction_reason),
                       OP_EVENT_REASON_MAX);
            return OP_EVENT_INVALID;
        }
    }
    if (!free_text_ok(ev->correction_reason, "correction_reason", field, field_size, reason,
                      reason_size))
        return OP_EVENT_INVALID;

    int64_t latest = rules->now_ms + rules->max_future_ms;
    const char *tname[2] = {"occurred_at", "reported_at"};
    int64_t tval[2] = {ev->occurred_at, ev->reported_at};
    for (int i = 0; i < 2; i++) {
        if (tval[i] < OP_EVENT_TIME_MIN) {
            op_set_err(field, field_size, "%s", tname[i]);
            op_set_err(reason, reason_size, "before 2000-01-01");
            return OP_EVENT_INVALID;
        }
        if (tval[i] > latest) {
            op_set_err(field, field_size, "%s", tname[i]);
            op_set_err(reason, reason_size,
                       "%" PRId64 " s in the future (allowed skew %" PRId64 " s)",
                       (tval[i] - rules->now_ms) / 1000, rules->max_future_ms / 1000);
            return OP_EVENT_INVALID;
        }
    }
    if (ev->reported_at < ev->occurred_at) {
        op_set_err(field, field_size, "reported_at");
        op_set_err(reason, reason_size, "before occurred_at");
        return OP_EVENT_INVALID;
    }

    if (!ev->region || !op_regions_find(rules->regions, ev->region)) {
        op_set_err(field, field_size, "region");
        op_set_err(reason, reason_size, "unknown region code \"%.16s\"",
                   ev->region_text ? ev->region_text : "");
        return OP_EVENT_INVALID;
    }
    if (rules->authz && !op_authz_check(rules->authz, ev->agency_id, ev->region)) {
        op_set_err(field, field_size, "region");
        op_set_err(reason, reason_size, "agency %s is not authorised for region %06" PRIu32,
                   ev->agency_id, ev->region);
        return OP_EVENT_UNAUTHORIZED;
    }

    switch (ev->type) {
    case OP_EVENT_VISIT:
        if (ev->n_groups == 0) {
            op_set_err(field, field_size, "target_groups");
            op_set_err(reason, reason_size, "at least one group is required");
            return OP_EVENT_INVALID;
        }
        COUNT(ev->workers_reached, OP_EVENT_COUNT_MAX, "workers_reached");
        COUNT(ev->households, OP_EVENT_COUNT_MAX, "households");
        COUNT(ev->staff, OP_EVENT_COUNT_MAX, "staff");
        for (int i = 0; i < ev->n_groups; i++)
            for (int j = 0; j < i; j++)
                if (ev->groups[i] == ev->groups[j]) {
                    op_set_err(field, field_size, "target_groups");
                    op_set_err(reason, reason_size, "entry %d repeats entry %d", i, j);
                    return OP_EVENT_INVALID;
                }
        break;
    case OP_EVENT_FUNDING:
        COUNT(ev->amount_fen, OP_EVENT_AMOUNT_MAX, "amount_fen");
        COUNT(ev->recipients, OP_EVENT_COUNT_MAX, "recipients");
        break;
    case OP_EVENT_SURVEY: {
        COUNT(ev->enterprises, OP_EVENT_COUNT_MAX, "enterprises");
        COUNT(ev->respondents, OP_EVENT_COUNT_MAX, "respondents");
        static const char *const s_names[5] = {"satisfaction.s1", "satisfaction.s2",
                                               "satisfaction.s3", "satisfaction.s4",
                                               "satisfaction.s5"};
        int64_t answers = 0;
        for (int i = 0; i < 5; i++) {
            COUNT(ev->satisfaction[i], OP_EVENT_COUNT_MAX, s_names[i]);
            answers += ev->satisfaction[i];
        }
        if (answers > ev->respondents) {
            op_set_err(field, field_size, "satisfaction");
            op_set_err(reason, reason_size,
                       "s1+s2+s3+s4+s5 = %" PRId64 " exceeds respondents (%" PRId32 ")", answers,
                       ev->respondents);
            return OP_EVENT_INVALID;
        }
        for (int i = 0; i < ev->n_needs; i++) {
            char name[32];
            snprintf(name, sizeof name, "needs[%d].count", i);
            COUNT(ev->needs[i].count, OP_EVENT_COUNT_MAX, name);
            for (int j = 0; j < i; j++)
                if (ev->needs[i].kind == ev->needs[j].kind) {
                    op_set_err(field, field_size, "needs[%d].need", i);
                    op_set_err(reason, reason_size, "repeats needs[%d]", j);
                    return OP_EVENT_INVALID;
                }
        }
        break;
    }
    }
    return OP_EVENT_VALID;
#undef TEXT
#undef COUNT
}
