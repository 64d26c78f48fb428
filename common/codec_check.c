/* Avro codec, body checks: a bounds check of every message body against its writer schema
 * before avro-c reads it, so hostile input cannot make avro-c over-read or over-allocate. */
#include "codec.h"

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "codec_internal.h"
#include "err.h"
#include "utf8.h"

/* Limits for hostile input. Our events are a few hundred bytes; these bound the work and the
 * memory avro-c would spend on a message that claims more (the nesting limit,
 * OP_CODEC_MAX_DEPTH, is in codec_internal.h). */
#define MAX_ZERO_SIZE_ITEMS 4096

/* ---- bounds check ----------------------------------------------------------------------- */

struct cursor {
    const unsigned char *p, *end;
    char *errstr;
    size_t errstr_size;
};

static int read_varint(struct cursor *c, int64_t *out, int max_bytes, const char *what)
{
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; i++) {
        if (c->p >= c->end) {
            op_set_err(c->errstr, c->errstr_size, "truncated %s", what);
            return -1;
        }
        unsigned char b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = (int64_t)((v >> 1) ^ (0 - (v & 1)));
            return 0;
        }
    }
    op_set_err(c->errstr, c->errstr_size, "%s varint longer than %d bytes", what, max_bytes);
    return -1;
}

avro_schema_t op_codec_deref(avro_schema_t s)
{
    while (s && is_avro_link(s))
        s = avro_schema_link_target(s);
    return s;
}

/* Linear scans: event records have about twenty fields and enums a dozen symbols, and
 * avro-c's lookup by index is a hash of an int, so this costs about what its lookup by name
 * (a hash of the string) does. */
int op_codec_field_index(avro_schema_t record, const char *name)
{
    record = op_codec_deref(record);
    if (!record || !is_avro_record(record) || !name)
        return -1;
    size_t n = avro_schema_record_size(record);
    for (size_t i = 0; i < n && i <= INT_MAX; i++) {
        const char *f = avro_schema_record_field_name(record, (int)i);
        if (f && strcmp(f, name) == 0)
            return (int)i;
    }
    return -1;
}

int op_codec_enum_index(avro_schema_t e, const char *name)
{
    e = op_codec_deref(e);
    if (!e || !is_avro_enum(e) || !name)
        return -1;
    int n = avro_schema_enum_number_of_symbols(e);
    for (int i = 0; i < n; i++) {
        const char *sym = avro_schema_enum_get(e, i);
        if (sym && strcmp(sym, name) == 0)
            return i;
    }
    return -1;
}

/* Smallest encoding of a datum of `s` in bytes (0 for null and empty records). */
static size_t min_size(avro_schema_t s, int depth)
{
    s = op_codec_deref(s);
    if (depth > OP_CODEC_MAX_DEPTH)
        return 1;
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_FLOAT:
        return 4;
    case AVRO_DOUBLE:
        return 8;
    case AVRO_FIXED:
        return (size_t)avro_schema_fixed_size(s);
    case AVRO_RECORD: {
        size_t sum = 0;
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            sum += min_size(avro_schema_record_field_get_by_index(s, (int)i), depth + 1);
        return sum;
    }
    default:
        return 1;
    }
}

/* Well-formed UTF-8 without NUL: what Avro strings and map keys must be here. */
int op_codec_utf8_ok(const unsigned char *s, size_t n)
{
    return memchr(s, 0, n) == NULL && op_utf8_check((const char *)s, n) == (size_t)-1;
}

static int check_datum(struct cursor *c, avro_schema_t s, int depth);

static int check_blocks(struct cursor *c, avro_schema_t items, int is_map, int depth)
{
    size_t item_min = min_size(items, depth + 1) + (is_map ? 1 : 0);
    uint64_t total = 0;
    for (;;) {
        int64_t count;
        if (read_varint(c, &count, 10, is_map ? "map block count" : "array block count") != 0)
            return -1;
        if (count == 0)
            return 0;
        if (count < 0) {
            if (count == INT64_MIN) {
                op_set_err(c->errstr, c->errstr_size, "block count out of range");
                return -1;
            }
            count = -count;
            int64_t bytes;
            if (read_varint(c, &bytes, 10, "block size") != 0)
                return -1;
            if (bytes < 0 || (uint64_t)bytes > (uint64_t)(c->end - c->p)) {
                op_set_err(c->errstr, c->errstr_size, "block size %" PRId64 " exceeds message",
                           bytes);
                return -1;
            }
        }
        total += (uint64_t)count;
        size_t left = (size_t)(c->end - c->p);
        if ((item_min > 0 && total > left / item_min) ||
            (item_min == 0 && total > MAX_ZERO_SIZE_ITEMS)) {
            op_set_err(c->errstr, c->errstr_size,
                       "%s claims %" PRIu64 " items, more than the message can hold",
                       is_map ? "map" : "array", total);
            return -1;
        }
        for (int64_t i = 0; i < count; i++) {
            if (is_map) {
                int64_t kl;
                if (read_varint(c, &kl, 10, "map key length") != 0)
                    return -1;
                if (kl < 0 || (uint64_t)kl > (uint64_t)(c->end - c->p) ||
                    !op_codec_utf8_ok(c->p, (size_t)kl)) {
                    op_set_err(c->errstr, c->errstr_size, "bad map key (length %" PRId64 ")", kl);
                    return -1;
                }
                c->p += kl;
            }
            if (check_datum(c, items, depth + 1) != 0)
                return -1;
        }
    }
}

static int check_datum(struct cursor *c, avro_schema_t s, int depth)
{
    s = op_codec_deref(s);
    if (depth > OP_CODEC_MAX_DEPTH) {
        op_set_err(c->errstr, c->errstr_size, "nesting deeper than %d", OP_CODEC_MAX_DEPTH);
        return -1;
    }
    int64_t v;
    size_t left = (size_t)(c->end - c->p);
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (left < 1 || *c->p > 1) {
            op_set_err(c->errstr, c->errstr_size,
                       left ? "boolean byte not 0 or 1" : "truncated boolean");
            return -1;
        }
        c->p++;
        return 0;
    case AVRO_INT32:
        if (read_varint(c, &v, 5, "int") != 0)
            return -1;
        if (v < INT32_MIN || v > INT32_MAX) {
            op_set_err(c->errstr, c->errstr_size, "int out of range");
            return -1;
        }
        return 0;
    case AVRO_INT64:
        return read_varint(c, &v, 10, "long");
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        size_t n = avro_typeof(s) == AVRO_FLOAT ? 4 : 8;
        if (left < n) {
            op_set_err(c->errstr, c->errstr_size, "truncated %s", n == 4 ? "float" : "double");
            return -1;
        }
        c->p += n;
        return 0;
    }
    case AVRO_STRING:
    case AVRO_BYTES: {
        int is_string = avro_typeof(s) == AVRO_STRING;
        if (read_varint(c, &v, 10, is_string ? "string length" : "bytes length") != 0)
            return -1;
        left = (size_t)(c->end - c->p);
        if (v < 0 || (uint64_t)v > left) {
            op_set_err(c->errstr, c->errstr_size,
                       "%s length %" PRId64 " outside the %zu bytes left",
                       is_string ? "string" : "bytes", v, left);
            return -1;
        }
        if (is_string && !op_codec_utf8_ok(c->p, (size_t)v)) {
            op_set_err(c->errstr, c->errstr_size, "string is not UTF-8 or contains NUL");
            return -1;
        }
        c->p += v;
        return 0;
    }
    case AVRO_FIXED: {
        int64_t n = avro_schema_fixed_size(s);
        if (n < 0 || (uint64_t)n > left) {
            op_set_err(c->errstr, c->errstr_size, "truncated fixed");
            return -1;
        }
        c->p += n;
        return 0;
    }
    case AVRO_ENUM:
        if (read_varint(c, &v, 5, "enum index") != 0)
            return -1;
        if (v < 0 || v >= avro_schema_enum_number_of_symbols(s)) {
            op_set_err(c->errstr, c->errstr_size, "enum %s index %" PRId64 " out of range",
                       avro_schema_name(s), v);
            return -1;
        }
        return 0;
    case AVRO_UNION:
        if (read_varint(c, &v, 10, "union index") != 0)
            return -1;
        if (v < 0 || (uint64_t)v >= avro_schema_union_size(s)) {
            op_set_err(c->errstr, c->errstr_size, "union branch %" PRId64 " out of range", v);
            return -1;
        }
        return check_datum(c, avro_schema_union_branch(s, (int)v), depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++) {
            avro_schema_t f = avro_schema_record_field_get_by_index(s, (int)i);
            if (check_datum(c, f, depth + 1) != 0) {
                /* Prefix the field name once, innermost first. */
                char inner[200];
                snprintf(inner, sizeof inner, "%s", c->errstr);
                op_set_err(c->errstr, c->errstr_size, "%s: %s",
                           avro_schema_record_field_name(s, (int)i), inner);
                return -1;
            }
        }
        return 0;
    case AVRO_ARRAY:
        return check_blocks(c, avro_schema_array_items(s), 0, depth);
    case AVRO_MAP:
        return check_blocks(c, avro_schema_map_values(s), 1, depth);
    default:
        op_set_err(c->errstr, c->errstr_size, "unsupported schema type");
        return -1;
    }
}

int op_codec_check_body(avro_schema_t schema, const void *data, size_t len, char *errstr,
                        size_t errstr_size)
{
    char buf[256] = "";
    struct cursor c = {data, (const unsigned char *)data + len, buf, sizeof buf};
    if (check_datum(&c, schema, 0) != 0) {
        op_set_err(errstr, errstr_size, "%s", buf);
        return -1;
    }
    if (c.p != c.end) {
        op_set_err(errstr, errstr_size, "%zu trailing bytes after the record",
                   (size_t)(c.end - c.p));
        return -1;
    }
    return 0;
}
