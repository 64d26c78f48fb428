/* Input record → validated Avro event: both input formats meet as a JSON object of the newest
 * schema (timestamps as integer milliseconds), which op_avrojson_from_json turns into Avro;
 * then the shared rules of common/event.c and the derived id. */
#include "record.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "aliases.h"
#include "avrojson.h"
#include "jsonscan.h"
#include "kafka.h"
#include "sha256.h"
#include "timestamp.h"

/* How many bytes of s (n long) to quote in a message: at most max, cut at a character. */
static int clip(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return (int)n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
}

static avro_schema_t deref(avro_schema_t s)
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

/* ---- canonical content and derived ids -------------------------------------------------- */

static int put(struct op_buf *b, const char *s, size_t n)
{
    return op_buf_append(b, s, n);
}

static int puts_(struct op_buf *b, const char *s)
{
    return op_buf_append(b, s, strlen(s));
}

int producer_json_string(struct op_buf *b, const char *s, size_t n)
{
    if (put(b, "\"", 1))
        return -1;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            snprintf(u, sizeof u, "\\u%04x", c);
            esc = u;
        }
        if (!esc)
            continue;
        if (put(b, s + run, i - run) || puts_(b, esc))
            return -1;
        run = i + 1;
    }
    return put(b, s + run, n - run) || put(b, "\"", 1);
}

struct canon {
    const struct op_schema *os;
    struct producer_defaults *cache;
    struct op_buf *out;
};

static int canon_value(struct canon *cx, avro_value_t *v, int top, int depth);

static json_t *field_default(struct canon *cx, avro_schema_t rec, size_t index, const char *name)
{
    struct producer_defaults *c = cx->cache;
    for (size_t i = 0; c && i < c->n; i++)
        if (c->e[i].rec == rec && c->e[i].index == index)
            return c->e[i].def;
    json_t *d = op_codec_field_default(cx->os, rec, name);
    if (c && c->n < sizeof c->e / sizeof c->e[0]) {
        c->e[c->n].rec = rec;
        c->e[c->n].index = index;
        c->e[c->n].def = d;
        c->n++;
    }
    return d;
}

/* Whether v equals the schema default d (a JSON value). */
static int is_default(avro_value_t *v, json_t *d)
{
    switch (avro_value_get_type(v)) {
    case AVRO_INT32: {
        int32_t x;
        return json_is_integer(d) && avro_value_get_int(v, &x) == 0 && json_integer_value(d) == x;
    }
    case AVRO_INT64: {
        int64_t x;
        return json_is_integer(d) && avro_value_get_long(v, &x) == 0 && json_integer_value(d) == x;
    }
    case AVRO_STRING: {
        const char *s;
        size_t n;
        return json_is_string(d) && avro_value_get_string(v, &s, &n) == 0 &&
               json_string_length(d) + 1 == n && memcmp(json_string_value(d), s, n - 1) == 0;
    }
    case AVRO_UNION: {
        /* A union's default is of its first branch: null for every optional field here. */
        avro_value_t br;
        int disc;
        if (avro_value_get_discriminant(v, &disc) != 0 ||
            avro_value_get_current_branch(v, &br) != 0)
            return 0;
        if (json_is_null(d))
            return avro_value_get_type(&br) == AVRO_NULL;
        return disc == 0 && is_default(&br, d);
    }
    case AVRO_ARRAY: {
        size_t n;
        return json_is_array(d) && json_array_size(d) == 0 && avro_value_get_size(v, &n) == 0 &&
               n == 0;
    }
    case AVRO_ENUM: {
        int i;
        const char *sym;
        return json_is_string(d) && avro_value_get_enum(v, &i) == 0 &&
               (sym = avro_schema_enum_get(deref(avro_value_get_schema(v)), i)) &&
               strcmp(sym, json_string_value(d)) == 0;
    }
    default: {
        json_t *j = op_avrojson_to_json(v);
        int eq = j && json_equal(j, d);
        json_decref(j);
        return eq;
    }
    }
}

struct item {
    const unsigned char *p;
    size_t off, len;
};

static int cmp_item(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

struct field_ref {
    const char *name;
    size_t index;
};

static int cmp_field(const void *a, const void *b)
{
    return strcmp(((const struct field_ref *)a)->name, ((const struct field_ref *)b)->name);
}

static int canon_record(struct canon *cx, avro_value_t *v, int top, int depth)
{
    struct op_buf *out = cx->out;
    avro_schema_t s = deref(avro_value_get_schema(v));
    size_t n = avro_schema_record_size(s);
    struct field_ref refs[64];
    if (n > 64)
        return -1;
    for (size_t i = 0; i < n; i++) {
        refs[i].name = avro_schema_record_field_name(s, (int)i);
        refs[i].index = i;
    }
    qsort(refs, n, sizeof refs[0], cmp_field);
    if (put(out, "{", 1))
        return -1;
    int first = 1;
    for (size_t k = 0; k < n; k++) {
        if (top &&
            (strcmp(refs[k].name, "event_id") == 0 || strcmp(refs[k].name, "reported_at") == 0))
            continue;
        avro_value_t c;
        if (avro_value_get_by_index(v, refs[k].index, &c, NULL) != 0)
            return -1;
        json_t *d = field_default(cx, s, refs[k].index, refs[k].name);
        if (d && is_default(&c, d))
            continue;
        if ((!first && put(out, ",", 1)) ||
            producer_json_string(out, refs[k].name, strlen(refs[k].name)) || put(out, ":", 1) ||
            canon_value(cx, &c, 0, depth + 1))
            return -1;
        first = 0;
    }
    return put(out, "}", 1);
}

/* Items are serialised one after the other past the current end, then sorted and copied. */
static int canon_array(struct canon *cx, avro_value_t *v, int depth)
{
    struct op_buf *out = cx->out;
    size_t n;
    if (avro_value_get_size(v, &n) != 0)
        return -1;
    struct item *items = n ? malloc(n * sizeof *items) : NULL;
    if (n && !items)
        return -1;
    size_t base = out->len;
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        avro_value_t c;
        items[i].off = out->len;
        if (avro_value_get_by_index(v, i, &c, NULL) != 0 || canon_value(cx, &c, 0, depth + 1))
            goto cleanup;
        items[i].len = out->len - items[i].off;
    }
    size_t total = out->len - base;
    unsigned char *copy = total ? malloc(total) : NULL;
    if (total && !copy)
        goto cleanup;
    if (total)
        memcpy(copy, out->data + base, total);
    for (size_t i = 0; i < n; i++)
        items[i].p = copy + (items[i].off - base);
    if (n > 1)
        qsort(items, n, sizeof *items, cmp_item);
    out->len = base;
    rc = put(out, "[", 1);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = (i && put(out, ",", 1)) || put(out, (const char *)items[i].p, items[i].len);
    if (rc == 0)
        rc = put(out, "]", 1);
    free(copy);
cleanup:
    free(items);
    return rc;
}

static int canon_value(struct canon *cx, avro_value_t *v, int top, int depth)
{
    struct op_buf *out = cx->out;
    char num[32];
    if (depth > 16)
        return -1;
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return puts_(out, "null");
    case AVRO_BOOLEAN: {
        int b = 0;
        avro_value_get_boolean(v, &b);
        return puts_(out, b ? "true" : "false");
    }
    case AVRO_INT32: {
        int32_t x = 0;
        avro_value_get_int(v, &x);
        snprintf(num, sizeof num, "%" PRId32, x);
        return puts_(out, num);
    }
    case AVRO_INT64: {
        int64_t x = 0;
        avro_value_get_long(v, &x);
        snprintf(num, sizeof num, "%" PRId64, x);
        return puts_(out, num);
    }
    case AVRO_STRING: {
        const char *s = "";
        size_t n = 0;
        avro_value_get_string(v, &s, &n);
        return producer_json_string(out, s, n ? n - 1 : 0);
    }
    case AVRO_ENUM: {
        int i = 0;
        avro_value_get_enum(v, &i);
        const char *sym = avro_schema_enum_get(deref(avro_value_get_schema(v)), i);
        return sym ? producer_json_string(out, sym, strlen(sym)) : -1;
    }
    case AVRO_UNION: {
        avro_value_t br;
        if (avro_value_get_current_branch(v, &br) != 0)
            return -1;
        return canon_value(cx, &br, 0, depth + 1);
    }
    case AVRO_ARRAY:
        return canon_array(cx, v, depth);
    case AVRO_RECORD:
        return canon_record(cx, v, top, depth);
    default: /* events use no maps, bytes, fixed or floats */
        return -1;
    }
}

int producer_canonical(const struct op_schema *s, avro_value_t *v, struct producer_defaults *cache,
                       struct op_buf *out)
{
    struct canon cx = {s, cache, out};
    return canon_value(&cx, v, 1, 0);
}

int producer_derive_id(const struct op_schema *s, avro_value_t *v, struct producer_defaults *cache,
                       struct op_buf *scratch, char out[PRODUCER_ID_SIZE])
{
    scratch->len = 0;
    if (puts_(scratch, PRODUCER_ID_DOMAIN "\n") || puts_(scratch, s->type) ||
        put(scratch, "\n", 1) || producer_canonical(s, v, cache, scratch) != 0)
        return -1;
    unsigned char d[OP_SHA256_SIZE];
    op_sha256(scratch->data, scratch->len, d);
    memcpy(out, PRODUCER_ID_PREFIX, sizeof PRODUCER_ID_PREFIX - 1);
    op_sha256_hex(d, PRODUCER_ID_HEX / 2, out + sizeof PRODUCER_ID_PREFIX - 1);
    return 0;
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
static int finish(struct producer_conv *conv, int t, json_t *obj, int64_t now_ms,
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
            avro_value_get_by_name(v, "event_id", &idv, NULL) != 0 ||
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
static int pick_type(const struct producer_conv *conv, const char *name, size_t len, char *field,
                     size_t field_size, char *reason, size_t reason_size)
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
               clip(name, len, 32), name);
    return -1;
}

/* Writes the reason for an unparsable timestamp text. */
static void bad_ts(const char *fname, const char *s, size_t n, const char *why, char *field,
                   size_t field_size, char *reason, size_t reason_size)
{
    op_set_err(field, field_size, "%s", fname);
    op_set_err(reason, reason_size, "invalid timestamp \"%.*s%s\": %s", clip(s, n, 40), s,
               n > 40 ? "..." : "", why);
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
    int t = pick_type(conv, tj ? json_string_value(tj) : NULL, tj ? json_string_length(tj) : 0,
                      field, field_size, reason, reason_size);
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
            bad_ts(fname, json_string_value(f), json_string_length(f), why, field, field_size,
                   reason, reason_size);
            goto cleanup;
        }
        if (json_object_set_new(obj, fname, json_integer(ms)) != 0) {
            op_set_err(field, field_size, "record");
            op_set_err(reason, reason_size, "out of memory");
            goto cleanup;
        }
    }
    rc = finish(conv, t, obj, now_ms, out, field, field_size, reason, reason_size);
cleanup:
    json_decref(obj);
    return rc;
}

/* ---- CSV -------------------------------------------------------------------------------- */

#define MAP_NONE (-1)
#define MAP_TOP(m) ((m) >> 8)
#define MAP_SUB(m) (((m)&0xff) - 1)

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

/* The column mapping of `name` in schema s: top-level non-record field, or a field of a
 * record-typed top-level field (s1 → satisfaction.s1). */
static int map_column(const struct op_schema *s, const char *name)
{
    size_t n = avro_schema_record_size(s->schema);
    for (size_t i = 0; i < n; i++) {
        avro_schema_t fs = deref(avro_schema_record_field_get_by_index(s->schema, (int)i));
        if (is_avro_record(fs)) {
            size_t m = avro_schema_record_size(fs);
            for (size_t k = 0; k < m && k < 255; k++)
                if (strcmp(avro_schema_record_field_name(fs, (int)k), name) == 0)
                    return (int)(i << 8 | (k + 1));
        } else if (strcmp(avro_schema_record_field_name(s->schema, (int)i), name) == 0)
            return (int)(i << 8);
    }
    return MAP_NONE;
}

void producer_csv_header_free(struct producer_csv_header *h)
{
    for (size_t i = 0; h->names && i < h->ncols; i++)
        free(h->names[i]);
    free(h->names);
    for (int t = 0; t < OP_EVENT_TYPES; t++)
        free(h->map[t]);
    memset(h, 0, sizeof *h);
}

int producer_csv_header_init(struct producer_csv_header *h, const struct producer_conv *conv,
                             char *const *cells, const size_t *lens, size_t n, char *field,
                             size_t field_size, char *reason, size_t reason_size)
{
    memset(h, 0, sizeof *h);
    h->type_col = -1;
    h->names = calloc(n ? n : 1, sizeof *h->names);
    for (int t = 0; t < OP_EVENT_TYPES; t++)
        h->map[t] = malloc((n ? n : 1) * sizeof *h->map[t]);
    if (!h->names || !h->map[0] || !h->map[1] || !h->map[2]) {
        op_set_err(field, field_size, "header");
        op_set_err(reason, reason_size, "out of memory");
        goto fail;
    }
    h->ncols = n;
    for (size_t c = 0; c < n; c++) {
        const char *s = cells[c];
        size_t len = lens[c];
        trim(&s, &len);
        h->names[c] = malloc(len + 1);
        if (!h->names[c]) {
            op_set_err(field, field_size, "header");
            op_set_err(reason, reason_size, "out of memory");
            goto fail;
        }
        memcpy(h->names[c], s, len);
        h->names[c][len] = 0;
        const char *name = h->names[c];
        if (len == 0 || memchr(s, 0, len)) {
            op_set_err(field, field_size, "header");
            op_set_err(reason, reason_size, "column %zu has no name", c + 1);
            goto fail;
        }
        for (size_t k = 0; k < c; k++)
            if (strcmp(h->names[k], name) == 0) {
                op_set_err(field, field_size, "header");
                op_set_err(reason, reason_size, "column \"%.64s\" appears twice", name);
                goto fail;
            }
        int known = 0;
        /* A Chinese name (aliases.c) stands for a field, which may depend on the type. */
        const char *any = producer_alias_field(name, len, NULL);
        if (strcmp(any ? any : name, "type") == 0) {
            if (h->type_col >= 0) {
                op_set_err(field, field_size, "header");
                op_set_err(reason, reason_size, "columns \"%.64s\" and \"%.64s\" are both the type",
                           h->names[h->type_col], name);
                goto fail;
            }
            h->type_col = (int)c;
            known = 1;
        }
        for (int t = 0; t < OP_EVENT_TYPES; t++) {
            const char *alias = producer_alias_field(name, len, op_event_type_name(t));
            h->map[t][c] = known && h->type_col == (int)c
                               ? MAP_NONE
                               : map_column(conv->reader[t], alias ? alias : name);
            if (h->map[t][c] == MAP_NONE)
                continue;
            known = 1;
            for (size_t k = 0; k < c; k++)
                if (h->map[t][k] == h->map[t][c]) {
                    op_set_err(field, field_size, "header");
                    op_set_err(reason, reason_size,
                               "columns \"%.64s\" and \"%.64s\" are the same field", h->names[k],
                               name);
                    goto fail;
                }
        }
        if (!known) {
            op_set_err(field, field_size, "header");
            op_set_err(reason, reason_size, "unknown column \"%.64s\"%s", name,
                       producer_alias_hint(name, len));
            goto fail;
        }
    }
    if (h->type_col < 0 && conv->default_type < 0) {
        op_set_err(field, field_size, "header");
        op_set_err(reason, reason_size, "no \"type\" column (add one, or give --type)");
        goto fail;
    }
    return 0;
fail:
    producer_csv_header_free(h);
    return -1;
}

/* Strict base-10 integer: optional '-', digits only, no overflow of int64. */
static int parse_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (n && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n)
        return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* A boolean cell: true/false (any case, as spreadsheets write TRUE), 1/0, 是/否. 1, 0, or -1
 * when it is none of these. */
static int cell_bool(const char *s, size_t n)
{
    static const char *const yes[] = {"true", "1", "\xE6\x98\xAF" /* 是 */};
    static const char *const no[] = {"false", "0", "\xE5\x90\xA6" /* 否 */};
    for (size_t i = 0; i < 3; i++) {
        if (strlen(yes[i]) == n && strncasecmp(s, yes[i], n) == 0)
            return 1;
        if (strlen(no[i]) == n && strncasecmp(s, no[i], n) == 0)
            return 0;
    }
    return -1;
}

/* One scalar cell as the JSON value of schema s (NULL with field/reason on error). */
static json_t *cell_scalar(avro_schema_t s, int ts, const char *path, const char *text, size_t n,
                           char *field, size_t field_size, char *reason, size_t reason_size)
{
    s = deref(s);
    if (is_avro_union(s)) {
        /* A nullable field: its non-null branch. */
        for (size_t i = 0; i < avro_schema_union_size(s); i++) {
            avro_schema_t b = deref(avro_schema_union_branch(s, (int)i));
            if (!is_avro_null(b))
                return cell_scalar(b, ts, path, text, n, field, field_size, reason, reason_size);
        }
    }
    if (is_avro_string(s))
        return json_stringn(text, n);
    trim(&text, &n);
    if (is_avro_enum(s))
        return json_stringn(text, n);
    if (is_avro_boolean(s)) {
        int b = cell_bool(text, n);
        if (b >= 0)
            return json_boolean(b);
        op_set_err(field, field_size, "%s", path);
        op_set_err(reason, reason_size,
                   "\"%.*s\" is not a boolean (write true or false, 1 or 0, 是 or 否)",
                   clip(text, n, 40), text);
        return NULL;
    }
    if (is_avro_int32(s) || is_avro_int64(s)) {
        int64_t v;
        if (parse_int(text, n, &v) == 0)
            return json_integer(v);
        if (ts) {
            const char *why;
            if (producer_ts_parse(text, n, &v, &why) == 0)
                return json_integer(v);
            bad_ts(path, text, n, why, field, field_size, reason, reason_size);
            return NULL;
        }
        op_set_err(field, field_size, "%s", path);
        op_set_err(reason, reason_size, "\"%.*s\" is not an integer", clip(text, n, 40), text);
        return NULL;
    }
    op_set_err(field, field_size, "%s", path);
    op_set_err(reason, reason_size, "this field cannot be written in CSV");
    return NULL;
}

/* An array cell: items separated by ';'; record items (needs) as FIRST:SECOND. */
static json_t *cell_array(avro_schema_t s, const char *path, const char *text, size_t n,
                          char *field, size_t field_size, char *reason, size_t reason_size)
{
    avro_schema_t items = deref(avro_schema_array_items(deref(s)));
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    size_t i = 0, idx = 0;
    while (i <= n) {
        size_t end = i;
        while (end < n && text[end] != ';')
            end++;
        const char *p = text + i;
        size_t len = end - i;
        trim(&p, &len);
        i = end + 1;
        if (len == 0) /* a trailing or doubled ';' */
            continue;
        char ipath[PRODUCER_FIELD_MAX];
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, idx++);
        json_t *item = NULL;
        if (is_avro_record(items) && avro_schema_record_size(items) == 2) {
            const char *colon = memchr(p, ':', len);
            const char *f0 = avro_schema_record_field_name(items, 0);
            const char *f1 = avro_schema_record_field_name(items, 1);
            if (!colon) {
                op_set_err(field, field_size, "%s", ipath);
                op_set_err(reason, reason_size, "\"%.*s\" is not %s:%s", clip(p, len, 40), p, f0,
                           f1);
                goto fail;
            }
            char p0[2 * PRODUCER_FIELD_MAX], p1[2 * PRODUCER_FIELD_MAX];
            snprintf(p0, sizeof p0, "%s.%s", ipath, f0);
            snprintf(p1, sizeof p1, "%s.%s", ipath, f1);
            json_t *a = cell_scalar(avro_schema_record_field_get_by_index(items, 0), 0, p0, p,
                                    (size_t)(colon - p), field, field_size, reason, reason_size);
            json_t *b = a ? cell_scalar(avro_schema_record_field_get_by_index(items, 1), 0, p1,
                                        colon + 1, len - (size_t)(colon - p) - 1, field, field_size,
                                        reason, reason_size)
                          : NULL;
            item = a && b ? json_object() : NULL;
            if (!item || json_object_set_new(item, f0, a) || json_object_set_new(item, f1, b)) {
                if (!item) {
                    json_decref(a);
                    json_decref(b);
                }
                json_decref(item);
                goto fail;
            }
        } else {
            item = cell_scalar(items, 0, ipath, p, len, field, field_size, reason, reason_size);
        }
        if (!item || json_array_append_new(arr, item) != 0)
            goto fail;
    }
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

int producer_conv_csv(struct producer_conv *conv, const struct producer_csv_header *h,
                      char *const *cells, const size_t *lens, size_t n, int64_t now_ms,
                      struct producer_rec *out, char *field, size_t field_size, char *reason,
                      size_t reason_size)
{
    if (n != h->ncols) {
        op_set_err(field, field_size, "record");
        op_set_err(reason, reason_size, "%zu cells, the header has %zu", n, h->ncols);
        return -1;
    }
    const char *tname = NULL;
    size_t tlen = 0;
    if (h->type_col >= 0) {
        tname = cells[h->type_col];
        tlen = lens[h->type_col];
        trim(&tname, &tlen);
    }
    int t = pick_type(conv, tname, tlen, field, field_size, reason, reason_size);
    if (t < 0)
        return -1;
    const struct op_schema *s = conv->reader[t];
    field[0] = 0;
    json_t *obj = json_object();
    if (!obj) {
        op_set_err(field, field_size, "record");
        op_set_err(reason, reason_size, "out of memory");
        return -1;
    }
    int rc = -1;
    /* Record-typed fields with a column get an object even when every cell is empty, so
     * their sub-fields take defaults (a survey that asked no satisfaction question). */
    for (size_t c = 0; c < n; c++) {
        int m = h->map[t][c];
        if (m == MAP_NONE || MAP_SUB(m) < 0)
            continue;
        const char *top = avro_schema_record_field_name(s->schema, MAP_TOP(m));
        if (!json_object_get(obj, top) && json_object_set_new(obj, top, json_object()) != 0)
            goto oom;
    }
    for (size_t c = 0; c < n; c++) {
        if ((int)c == h->type_col)
            continue;
        const char *text = cells[c];
        size_t len = lens[c];
        const char *tt = text;
        size_t tl = len;
        trim(&tt, &tl);
        int m = h->map[t][c];
        if (m == MAP_NONE) {
            if (tl) {
                op_set_err(field, field_size, "%s", h->names[c]);
                op_set_err(reason, reason_size, "not a field of %s (leave the cell empty)",
                           op_event_type_name((enum op_event_type)t));
                goto cleanup;
            }
            continue;
        }
        int ti = MAP_TOP(m), sub = MAP_SUB(m);
        const char *top = avro_schema_record_field_name(s->schema, ti);
        avro_schema_t fs = deref(avro_schema_record_field_get_by_index(s->schema, ti));
        json_t *val;
        if (sub >= 0) {
            if (tl == 0)
                continue;
            char path[PRODUCER_FIELD_MAX];
            const char *sname = avro_schema_record_field_name(fs, sub);
            snprintf(path, sizeof path, "%s.%s", top, sname);
            val = cell_scalar(avro_schema_record_field_get_by_index(fs, sub), 0, path, text, len,
                              field, field_size, reason, reason_size);
            if (!val || json_object_set_new(json_object_get(obj, top), sname, val) != 0)
                goto cleanup;
            continue;
        }
        if (is_avro_array(fs))
            val = cell_array(fs, top, text, len, field, field_size, reason, reason_size);
        else if (tl == 0 && !is_avro_string(fs)) /* empty: absent (default, or "missing") */
            continue;
        else if (len == 0) /* an empty string cell is absent too: "derive", null, missing */
            continue;
        else
            val = cell_scalar(fs, conv->is_ts[t][ti], top, text, len, field, field_size, reason,
                              reason_size);
        if (!val || json_object_set_new(obj, top, val) != 0)
            goto cleanup;
    }
    rc = finish(conv, t, obj, now_ms, out, field, field_size, reason, reason_size);
    goto cleanup;
oom:
    field[0] = 0;
cleanup:
    if (rc != 0 && field_size && !field[0]) { /* a jansson allocation failed */
        op_set_err(field, field_size, "record");
        op_set_err(reason, reason_size, "out of memory");
    }
    json_decref(obj);
    return rc;
}
