/* Input record → validated Avro event: both input formats meet as a JSON object of the newest
 * schema (timestamps as integer milliseconds), which op_avrojson_from_json turns into Avro;
 * then the shared rules of common/event.c and the derived id.
 * Here: the conversion context, the JSON path and the common tail; canonical content and
 * derived ids are record_id.c's, CSV header mapping and cells record_csv.c's. */
#include "record.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "avrojson.h"
#include "jsonscan.h"
#include "kafka.h"
#include "timestamp.h"
#include "record_internal.h"

/* How many bytes of s (n long) to quote in a message: at most max, cut at a character. */
int producer_rec_clip(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return (int)n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
}

avro_schema_t producer_rec_deref(avro_schema_t s)
{
    while (s && is_avro_link(s))
        s = avro_schema_link_target(s);
    return s;
}

/* ---- timestamps ------------------------------------------------------------------------- */

int producer_ts_parse(const char *s, size_t len, int64_t *ms, const char **why)
{
    return op_ts_parse(s, len, ms, why);
}

/* ---- context ---------------------------------------------------------------------------- */

int producer_conv_init(struct producer_conv *conv, const struct op_codec *codec,
                       const struct op_regions *regions, const struct op_authz *authz,
                       int64_t max_future_ms, int default_type, char *errstr, size_t errstr_size)
{
    memset(conv, 0, sizeof *conv);
    conv->codec = codec;
    conv->regions = regions;
    conv->authz = authz;
    conv->max_future_ms = max_future_ms;
    conv->default_type = default_type;
    for (int t = 0; t < OP_EVENT_TYPES; t++) {
        const char *name = op_event_type_name((enum op_event_type)t);
        const struct op_schema *s = op_codec_reader(codec, name);
        if (!s) {
            op_set_err(errstr, errstr_size, "no schema for %s events", name);
            goto fail;
        }
        size_t n = avro_schema_record_size(s->schema);
        if (n > sizeof conv->is_ts[t]) {
            op_set_err(errstr, errstr_size, "%s: too many fields", s->name);
            goto fail;
        }
        conv->reader[t] = s;
        conv->id_index[t] = op_codec_field_index(s->schema, "event_id");
        if (conv->id_index[t] < 0) {
            op_set_err(errstr, errstr_size, "%s: no event_id field", s->name);
            goto fail;
        }
        if (avro_generic_value_new(s->iface, &conv->value[t]) != 0) {
            op_set_err(errstr, errstr_size, "avro-c: %s", avro_strerror());
            goto fail;
        }
        conv->have_value[t] = 1;
        /* avro-c drops logicalType: find timestamp fields in the schema text. */
        json_t *fields = json_object_get(s->json, "fields");
        for (size_t i = 0; i < n && i < json_array_size(fields); i++) {
            json_t *ty = json_object_get(json_array_get(fields, i), "type");
            json_t *lt = json_is_object(ty) ? json_object_get(ty, "logicalType") : NULL;
            conv->is_ts[t][i] =
                json_is_string(lt) && strcmp(json_string_value(lt), "timestamp-millis") == 0;
        }
    }
    /* Without it (out of memory) every record takes the generic path: slower, same result. */
    conv->fast = producer_jscan_new(conv);
    return 0;
fail:
    producer_conv_free(conv);
    return -1;
}

void producer_conv_free(struct producer_conv *conv)
{
    for (int t = 0; t < OP_EVENT_TYPES; t++)
        if (conv->have_value[t]) {
            avro_value_decref(&conv->value[t]);
            conv->have_value[t] = 0;
        }
    op_buf_free(&conv->canon);
    op_buf_free(&conv->msg);
    producer_jscan_destroy(conv->fast);
    conv->fast = NULL;
}

/* ---- the common tail: JSON object → Avro → rules ---------------------------------------- */

/* Splits avrojson's "FIELD: reason" into the caller's buffers. */
static void split_err(const char *err, char *field, size_t field_size, char *reason,
                      size_t reason_size)
{
    const char *sep = strstr(err, ": ");
    if (!sep) {
        op_set_err(field, field_size, "record");
        op_set_err(reason, reason_size, "%s", err);
        return;
    }
    op_set_err(field, field_size, "%.*s", (int)(sep - err), err);
    op_set_err(reason, reason_size, "%s", sep + 2);
}

/* Rules of docs/events.md that common/event.c does not check (yet): see docs/producer.md. */
int producer_rec_finish(struct producer_conv *conv, int t, json_t *obj, int64_t now_ms,
                        struct producer_rec *out, char *field, size_t field_size, char *reason,
                        size_t reason_size)
{
    char err[PRODUCER_REASON_MAX + PRODUCER_FIELD_MAX];
    const struct op_schema *s = conv->reader[t];
    avro_value_t *v = &conv->value[t];
    int derive = json_object_get(obj, "event_id") == NULL;
    if (derive && json_object_set_new(obj, "event_id", json_string("")) != 0) {
        op_set_err(field, field_size, "record");
        op_set_err(reason, reason_size, "out of memory");
        return -1;
    }
    if (op_avrojson_from_json(s, v, obj, err, sizeof err) != 0) {
        split_err(err, field, field_size, reason, reason_size);
        return -1;
    }
    out->derived = derive;
    if (derive) {
        avro_value_t idv;
        if (producer_derive_id(s, v, &conv->defaults, &conv->canon, out->id) != 0 ||
            avro_value_get_by_index(v, (size_t)conv->id_index[t], &idv, NULL) != 0 ||
            avro_value_set_string(&idv, out->id) != 0) {
            op_set_err(field, field_size, "event_id");
            op_set_err(reason, reason_size, "cannot derive an id (out of memory)");
            return -1;
        }
    }
    if (op_event_from_value(&out->ev, s, v, field, field_size, reason, reason_size) != 0)
        return -1;
    /* A derived id hashes the content, correction included: it could never name the event
     * being corrected, and the correction would be counted as one more event. */
    if (derive && out->ev.correction > 0) {
        op_set_err(field, field_size, "event_id");
        op_set_err(reason, reason_size,
                   "required when correction > 0: the id of the event corrected (for a derived id, "
                   "see the --receipt of its publication)");
        return -1;
    }
    struct op_event_rules rules = {conv->regions, conv->authz, now_ms, conv->max_future_ms};
    if (op_event_validate(&out->ev, &rules, field, field_size, reason, reason_size) !=
        OP_EVENT_VALID)
        return -1;
    if (op_kafka_province_key(out->ev.region_text, out->key) != 0) {
        op_set_err(field, field_size, "region");
        op_set_err(reason, reason_size, "not six digits");
        return -1;
    }
    conv->msg.len = 0;
    if (op_codec_encode_framed(conv->frame, s, v, &conv->msg, err, sizeof err) != 0) {
        op_set_err(field, field_size, "record");
        op_set_err(reason, reason_size, "cannot encode: %s", err);
        return -1;
    }
    out->type = (enum op_event_type)t;
    out->schema = s;
    out->value = v;
    out->msg = conv->msg.data;
    out->msg_len = conv->msg.len;
    return 0;
}

/* The record type named by `name` (NULL: none given). */
int producer_rec_pick_type(const struct producer_conv *conv, const char *name, size_t len,
                           char *field, size_t field_size, char *reason, size_t reason_size)
{
    if (!name || len == 0) {
        if (conv->default_type >= 0)
            return conv->default_type;
        op_set_err(field, field_size, "type");
        op_set_err(reason, reason_size, "missing (expected visit, funding or survey)");
        return -1;
    }
    for (int t = 0; t < OP_EVENT_TYPES; t++) {
        const char *tn = op_event_type_name((enum op_event_type)t);
        if (strlen(tn) == len && memcmp(tn, name, len) == 0)
            return t;
    }
    op_set_err(field, field_size, "type");
    op_set_err(reason, reason_size,
               "unknown record type \"%.*s\" (expected visit, funding or survey)",
               producer_rec_clip(name, len, 32), name);
    return -1;
}

/* Writes the reason for an unparsable timestamp text. */
void producer_rec_bad_ts(const char *fname, const char *s, size_t n, const char *why, char *field,
                         size_t field_size, char *reason, size_t reason_size)
{
    op_set_err(field, field_size, "%s", fname);
    op_set_err(reason, reason_size, "invalid timestamp \"%.*s%s\": %s", producer_rec_clip(s, n, 40),
               s, n > 40 ? "..." : "", why);
}

int producer_conv_json(struct producer_conv *conv, const char *text, size_t len, int64_t now_ms,
                       struct producer_rec *out, char *field, size_t field_size, char *reason,
                       size_t reason_size)
{
    if (conv->fast && producer_jscan_convert(conv->fast, conv, text, len, now_ms, out)) {
        conv->n_fast++;
        return 0;
    }
    conv->n_generic++;
    return producer_conv_json_generic(conv, text, len, now_ms, out, field, field_size, reason,
                                      reason_size);
}

int producer_conv_json_generic(struct producer_conv *conv, const char *text, size_t len,
                               int64_t now_ms, struct producer_rec *out, char *field,
                               size_t field_size, char *reason, size_t reason_size)
{
    json_error_t je;
    json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!obj) {
        op_set_err(field, field_size, "record");
        op_set_err(reason, reason_size, "invalid JSON: %s (column %d)", je.text, je.column);
        return -1;
    }
    if (!json_is_object(obj)) {
        op_set_err(field, field_size, "record");
        op_set_err(reason, reason_size, "expected a JSON object, got %s", op_avrojson_kind(obj));
        goto cleanup;
    }
    json_t *tj = json_object_get(obj, "type");
    if (tj && !json_is_string(tj)) {
        op_set_err(field, field_size, "type");
        op_set_err(reason, reason_size, "expected a string, got %s", op_avrojson_kind(tj));
        goto cleanup;
    }
    int t = producer_rec_pick_type(conv, tj ? json_string_value(tj) : NULL,
                                   tj ? json_string_length(tj) : 0, field, field_size, reason,
                                   reason_size);
    if (t < 0)
        goto cleanup;
    json_object_del(obj, "type");
    /* A null event_id means "derive it", like a missing one. */
    if (json_is_null(json_object_get(obj, "event_id")))
        json_object_del(obj, "event_id");
    const struct op_schema *s = conv->reader[t];
    for (size_t i = 0; i < avro_schema_record_size(s->schema); i++) {
        if (!conv->is_ts[t][i])
            continue;
        const char *fname = avro_schema_record_field_name(s->schema, (int)i);
        json_t *f = json_object_get(obj, fname);
        if (!f || json_is_integer(f))
            continue;
        if (!json_is_string(f)) {
            op_set_err(field, field_size, "%s", fname);
            op_set_err(reason, reason_size,
                       "expected an RFC 3339 string or integer milliseconds, got %s",
                       op_avrojson_kind(f));
            goto cleanup;
        }
        int64_t ms;
        const char *why;
        if (producer_ts_parse(json_string_value(f), json_string_length(f), &ms, &why) != 0) {
            producer_rec_bad_ts(fname, json_string_value(f), json_string_length(f), why, field,
                                field_size, reason, reason_size);
            goto cleanup;
        }
        if (json_object_set_new(obj, fname, json_integer(ms)) != 0) {
            op_set_err(field, field_size, "record");
            op_set_err(reason, reason_size, "out of memory");
            goto cleanup;
        }
    }
    rc = producer_rec_finish(conv, t, obj, now_ms, out, field, field_size, reason, reason_size);
cleanup:
    json_decref(obj);
    return rc;
}
