/* Canonical content and derived ids: the canonical JSON of an event (record fields in name
 * order, fields equal to their default left out, event_id and reported_at not at all) and the
 * SHA-256 id derived from it. */
#include "record.h"

#include <stdlib.h>
#include <string.h>

#include "avrojson.h"
#include "kafka.h"
#include "record_internal.h"
#include "sha256.h"

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
               (sym = avro_schema_enum_get(producer_rec_deref(avro_value_get_schema(v)), i)) &&
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
    avro_schema_t s = producer_rec_deref(avro_value_get_schema(v));
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
        const char *sym = avro_schema_enum_get(producer_rec_deref(avro_value_get_schema(v)), i);
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
