/* The audit entry of an applied correction or retraction (schemas/audit.v1.avsc), written to
 * the audit topic in the transaction that changes the rollups. */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "regions.h"

static int set_string(avro_value_t *rec, const char *name, const char *s)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_set_string(&f, s);
}

static int set_long(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_set_long(&f, v);
}

static int set_int(avro_value_t *rec, const char *name, int32_t v)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_set_int(&f, v);
}

/* An enum field by symbol name (the audit schema's own symbols). */
static int set_enum(avro_value_t *rec, const char *name, const char *symbol)
{
    avro_value_t f;
    if (avro_value_get_by_name(rec, name, &f, NULL))
        return -1;
    int i = avro_schema_enum_get_by_name(avro_value_get_schema(&f), symbol);
    return i < 0 || avro_value_set_enum(&f, i);
}

/* A ["null", T] field: branch 0 (null) or branch 1 set by the caller through *branch. */
static int set_nullable(avro_value_t *rec, const char *name, int present, avro_value_t *branch)
{
    avro_value_t f, b;
    if (avro_value_get_by_name(rec, name, &f, NULL) ||
        avro_value_set_branch(&f, present ? 1 : 0, &b))
        return -1;
    if (present)
        *branch = b;
    return present ? 0 : avro_value_set_null(&b);
}

static const char *const type_symbols[OP_EVENT_TYPES] = {"VISIT", "FUNDING", "SURVEY"};
static const char *const level_symbols[4] = {"", "PROVINCE", "PREFECTURE", "COUNTY"};

static int add_change(const struct agg_model *m, avro_value_t *changes, uint64_t id,
                      const int64_t d[AGG_DELTAS])
{
    struct agg_rollup key = {.id = id};
    char wbuf[11], region[12];
    int kind = agg_rollup_kind(&key);
    const char *window =
        kind < AGG_KINDS ? agg_window_name(m, kind, agg_rollup_window(&key), wbuf) : NULL;
    const struct op_region *reg = op_regions_find(m->regions, agg_rollup_region(&key));
    if (!window || !reg)
        return -1;
    snprintf(region, sizeof region, "%06" PRIu32, reg->code);
    avro_value_t c, deltas, e;
    if (avro_value_append(changes, &c, NULL) || set_enum(&c, "window_kind", agg_kind_names[kind]) ||
        set_string(&c, "window", window) || set_string(&c, "region", region) ||
        set_enum(&c, "level", level_symbols[reg->level]) ||
        avro_value_get_by_name(&c, "deltas", &deltas, NULL))
        return -1;
    for (int k = 0; k < AGG_DELTAS; k++)
        if (d[k] && (avro_value_add(&deltas, agg_delta_names[k], &e, NULL, NULL) ||
                     avro_value_set_long(&e, d[k])))
            return -1;
    return 0;
}

int agg_audit_write(const struct agg_model *m, const struct op_frame *frame,
                    const struct op_schema *schema, avro_value_t *v, const struct op_event *ev,
                    const struct agg_counted *c, const struct agg_audit_source *src,
                    struct op_buf *out, char *errstr, size_t errstr_size)
{
    avro_value_reset(v);
    avro_value_t b, changes;
    int bad = set_string(v, "event_id", ev->event_id) ||
              set_enum(v, "event_type", type_symbols[ev->type]) ||
              set_string(v, "agency_id", ev->agency_id) ||
              set_nullable(v, "correction_from", c->from >= 0, &b) ||
              (c->from >= 0 && avro_value_set_int(&b, c->from)) ||
              set_int(v, "correction_to", ev->correction) ||
              avro_value_get_by_name(v, "retracted", &b, NULL) ||
              avro_value_set_boolean(&b, ev->retracted != 0) ||
              set_nullable(v, "reason", ev->correction_reason != NULL, &b) ||
              (ev->correction_reason && avro_value_set_string(&b, ev->correction_reason)) ||
              set_long(v, "reported_at", ev->reported_at) ||
              set_long(v, "applied_at", src->applied_at_ms) ||
              set_int(v, "source_partition", src->partition) ||
              set_long(v, "source_offset", src->offset) ||
              avro_value_get_by_name(v, "changes", &changes, NULL);
    for (size_t i = 0; !bad && i < c->touch.n; i++)
        bad = add_change(m, &changes, c->touch.id[i], c->touch.d[i]);
    if (bad) {
        op_set_err(errstr, errstr_size, "audit entry of %s: avro-c: %s", ev->event_id,
                   avro_strerror());
        return -1;
    }
    return op_codec_encode_framed(frame, schema, v, out, errstr, errstr_size);
}
