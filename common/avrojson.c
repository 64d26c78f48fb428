/* Plain JSON mapping of Avro values, driven by the value's schema; defaults for absent fields
 * come from the schema text through the codec. */
#include "avrojson.h"
#include "err.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

/* Where a value sits in the input, kept as a chain on the stack and rendered ("a.b[3].c")
 * only when an error is reported: building the text per field cost a third of the time. */
struct jpath {
    const struct jpath *up;
    const char *name; /* NULL for an array index */
    size_t index;
};

static const char *render(const struct jpath *p, char *buf, size_t size)
{
    const struct jpath *chain[MAX_DEPTH + 2];
    int n = 0;
    for (; p && n < MAX_DEPTH + 2; p = p->up)
        chain[n++] = p;
    size_t off = 0;
    buf[0] = 0;
    for (int i = n - 1; i >= 0 && off < size; i--) {
        /* An empty key ("": 1) shows as "", so a message never starts with a bare ':'. */
        const char *name = chain[i]->name && !*chain[i]->name ? "\"\"" : chain[i]->name;
        int w = name ? snprintf(buf + off, size - off, "%s%s", off ? "." : "", name)
                     : snprintf(buf + off, size - off, "[%zu]", chain[i]->index);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    return buf;
}

/* The rendered path, in a buffer that lives until the end of the enclosing block. */
#define PATH(p) render((p), (char[256]){0}, 256)

static avro_schema_t deref(avro_schema_t s)
{
    while (s && is_avro_link(s))
        s = avro_schema_link_target(s);
    return s;
}

/* The index of the only non-null branch of a two-branch nullable union, else -1. */
static int nullable_other(avro_schema_t u, int *null_index)
{
    if (avro_schema_union_size(u) != 2)
        return -1;
    for (int i = 0; i < 2; i++)
        if (is_avro_null(avro_schema_union_branch(u, i))) {
            *null_index = i;
            return 1 - i;
        }
    return -1;
}

static const char *branch_name(avro_schema_t b)
{
    b = deref(b);
    if (is_avro_named_type(b))
        return avro_schema_name(b);
    return avro_schema_type_name(b);
}

static json_t *to_json(avro_value_t *v, int depth)
{
    avro_schema_t s = deref(avro_value_get_schema(v));
    if (depth > MAX_DEPTH)
        return NULL;
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return json_null();
    case AVRO_BOOLEAN: {
        int b = 0;
        avro_value_get_boolean(v, &b);
        return json_boolean(b);
    }
    case AVRO_INT32: {
        int32_t i = 0;
        avro_value_get_int(v, &i);
        return json_integer(i);
    }
    case AVRO_INT64: {
        int64_t l = 0;
        avro_value_get_long(v, &l);
        return json_integer(l);
    }
    case AVRO_FLOAT: {
        float f = 0;
        avro_value_get_float(v, &f);
        return json_real(f);
    }
    case AVRO_DOUBLE: {
        double d = 0;
        avro_value_get_double(v, &d);
        return json_real(d);
    }
    case AVRO_STRING: {
        const char *str = "";
        size_t n = 0;
        avro_value_get_string(v, &str, &n);
        return json_stringn(str ? str : "", n ? n - 1 : 0);
    }
    case AVRO_BYTES:
    case AVRO_FIXED: {
        /* Avro's JSON convention: one code point per byte. */
        const void *p = NULL;
        size_t n = 0;
        if (avro_value_get_type(v) == AVRO_BYTES)
            avro_value_get_bytes(v, &p, &n);
        else
            avro_value_get_fixed(v, &p, &n);
        char *out = malloc(2 * n + 1);
        if (!out)
            return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = ((const unsigned char *)p)[i];
            if (c < 0x80)
                out[k++] = (char)c;
            else {
                out[k++] = (char)(0xc0 | (c >> 6));
                out[k++] = (char)(0x80 | (c & 0x3f));
            }
        }
        json_t *r = json_stringn(out, k);
        free(out);
        return r;
    }
    case AVRO_ENUM: {
        int idx = 0;
        avro_value_get_enum(v, &idx);
        const char *sym = avro_schema_enum_get(s, idx);
        return sym ? json_string(sym) : NULL;
    }
    case AVRO_UNION: {
        avro_value_t br;
        int disc = -1, null_index = -1;
        if (avro_value_get_discriminant(v, &disc) != 0 || disc < 0 ||
            avro_value_get_current_branch(v, &br) != 0)
            return json_null();
        json_t *inner = to_json(&br, depth + 1);
        if (!inner || nullable_other(s, &null_index) >= 0 ||
            is_avro_null(deref(avro_schema_union_branch(s, disc))))
            return inner;
        json_t *wrap = json_object();
        if (!wrap ||
            json_object_set_new(wrap, branch_name(avro_schema_union_branch(s, disc)), inner) != 0) {
            json_decref(wrap);
            return NULL;
        }
        return wrap;
    }
    case AVRO_ARRAY:
    case AVRO_MAP: {
        int is_map = avro_value_get_type(v) == AVRO_MAP;
        json_t *out = is_map ? json_object() : json_array();
        size_t n = 0;
        avro_value_get_size(v, &n);
        for (size_t i = 0; out && i < n; i++) {
            avro_value_t child;
            const char *key = NULL;
            avro_value_get_by_index(v, i, &child, &key);
            json_t *c = to_json(&child, depth + 1);
            int rc = !c       ? -1
                     : is_map ? json_object_set_new(out, key, c)
                              : json_array_append_new(out, c);
            if (rc != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    case AVRO_RECORD: {
        json_t *out = json_object();
        size_t n = avro_schema_record_size(s);
        for (size_t i = 0; out && i < n; i++) {
            avro_value_t child;
            avro_value_get_by_index(v, i, &child, NULL);
            json_t *c = to_json(&child, depth + 1);
            if (!c || json_object_set_new(out, avro_schema_record_field_name(s, (int)i), c) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    default:
        return NULL;
    }
}

json_t *op_avrojson_to_json(avro_value_t *v)
{
    return to_json(v, 0);
}

const char *op_avrojson_kind(json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static int from_json(const struct op_schema *os, avro_value_t *dst, avro_schema_t s, json_t *j,
                     const struct jpath *path, int depth, char *errstr, size_t errstr_size);

static int expected(const struct jpath *path, const char *what, json_t *j, char *errstr,
                    size_t errstr_size)
{
    op_set_err(errstr, errstr_size, "%s: expected %s, got %s", PATH(path), what,
               op_avrojson_kind(j));
    return -1;
}

static int record_from_json(const struct op_schema *os, avro_value_t *dst, avro_schema_t s,
                            json_t *j, const struct jpath *path, int depth, char *errstr,
                            size_t errstr_size)
{
    if (!json_is_object(j))
        return expected(path, "an object", j, errstr, errstr_size);
    /* An unknown key: fewer of the schema's fields are in the object than it has keys. Counting
     * asks avro-c nothing that could fail (see op_codec_field_index); the key is looked for
     * only then, first in the object's order as before. The lookups are kept for the fields
     * below (records of up to FIELDS_KEPT fields; a larger one looks them up again). */
    enum { FIELDS_KEPT = 64 };
    const char *names[FIELDS_KEPT];
    json_t *given[FIELDS_KEPT];
    size_t n = avro_schema_record_size(s), known = 0;
    for (size_t i = 0; i < n; i++) {
        const char *fname = avro_schema_record_field_name(s, (int)i);
        json_t *fj = json_object_get(j, fname);
        known += fj != NULL;
        if (i < FIELDS_KEPT) {
            names[i] = fname;
            given[i] = fj;
        }
    }
    if (known != json_object_size(j)) {
        const char *key;
        json_t *val;
        json_object_foreach(j, key, val)
        {
            if (op_codec_field_index(s, key) < 0) {
                struct jpath kp = {path, key, 0};
                op_set_err(errstr, errstr_size, "%s: unknown field", PATH(&kp));
                return -1;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *fname = i < FIELDS_KEPT ? names[i] : avro_schema_record_field_name(s, (int)i);
        struct jpath fp = {path, fname, 0};
        const struct jpath *fpath = &fp;
        json_t *fj = i < FIELDS_KEPT ? given[i] : json_object_get(j, fname);
        if (!fj) {
            fj = op_codec_field_default(os, s, fname);
            if (!fj) {
                op_set_err(errstr, errstr_size, "%s: required field missing", PATH(fpath));
                return -1;
            }
        }
        avro_value_t child;
        if (avro_value_get_by_index(dst, i, &child, NULL) != 0) { /* i < n: cannot fail */
            op_set_err(errstr, errstr_size, "%s: the value is not of the record schema",
                       PATH(fpath));
            return -1;
        }
        if (from_json(os, &child, avro_schema_record_field_get_by_index(s, (int)i), fj, fpath,
                      depth + 1, errstr, errstr_size) != 0)
            return -1;
    }
    return 0;
}

static int from_json(const struct op_schema *os, avro_value_t *dst, avro_schema_t s, json_t *j,
                     const struct jpath *path, int depth, char *errstr, size_t errstr_size)
{
    s = deref(s);
    if (depth > MAX_DEPTH) {
        op_set_err(errstr, errstr_size, "%s: nested too deeply", PATH(path));
        return -1;
    }
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        if (!json_is_null(j))
            return expected(path, "null", j, errstr, errstr_size);
        return avro_value_set_null(dst);
    case AVRO_BOOLEAN:
        if (!json_is_boolean(j))
            return expected(path, "true or false", j, errstr, errstr_size);
        return avro_value_set_boolean(dst, json_is_true(j));
    case AVRO_INT32:
        if (!json_is_integer(j))
            return expected(path, "an integer", j, errstr, errstr_size);
        if (json_integer_value(j) < INT32_MIN || json_integer_value(j) > INT32_MAX) {
            op_set_err(errstr, errstr_size,
                       "%s: %" JSON_INTEGER_FORMAT " does not fit a 32-bit int", PATH(path),
                       json_integer_value(j));
            return -1;
        }
        return avro_value_set_int(dst, (int32_t)json_integer_value(j));
    case AVRO_INT64:
        if (!json_is_integer(j))
            return expected(path, "an integer", j, errstr, errstr_size);
        return avro_value_set_long(dst, json_integer_value(j));
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
        if (!json_is_number(j))
            return expected(path, "a number", j, errstr, errstr_size);
        return is_avro_float(s) ? avro_value_set_float(dst, (float)json_number_value(j))
                                : avro_value_set_double(dst, json_number_value(j));
    case AVRO_STRING:
        if (!json_is_string(j))
            return expected(path, "a string", j, errstr, errstr_size);
        if (memchr(json_string_value(j), 0, json_string_length(j))) {
            op_set_err(errstr, errstr_size, "%s: string contains a NUL character", PATH(path));
            return -1;
        }
        return avro_value_set_string_len(dst, json_string_value(j), json_string_length(j) + 1);
    case AVRO_BYTES:
    case AVRO_FIXED: {
        if (!json_is_string(j))
            return expected(path, "a string", j, errstr, errstr_size);
        const unsigned char *p = (const unsigned char *)json_string_value(j);
        size_t n = json_string_length(j), k = 0;
        unsigned char *out = malloc(n + 1);
        if (!out)
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (p[i] < 0x80)
                out[k++] = p[i];
            else if ((p[i] & 0xe0) == 0xc0 && p[i] <= 0xc3 && i + 1 < n) {
                out[k++] = (unsigned char)(((p[i] & 0x03) << 6) | (p[i + 1] & 0x3f));
                i++;
            } else {
                free(out);
                op_set_err(errstr, errstr_size, "%s: bytes must be code points 0-255", PATH(path));
                return -1;
            }
        }
        int rc;
        if (is_avro_fixed(s)) {
            if ((int64_t)k != avro_schema_fixed_size(s)) {
                free(out);
                op_set_err(errstr, errstr_size, "%s: expected %" PRId64 " bytes, got %zu",
                           PATH(path), avro_schema_fixed_size(s), k);
                return -1;
            }
            rc = avro_value_set_fixed(dst, out, k);
        } else
            rc = avro_value_set_bytes(dst, out, k);
        free(out);
        return rc;
    }
    case AVRO_ENUM: {
        if (!json_is_string(j))
            return expected(path, "a symbol string", j, errstr, errstr_size);
        int idx = op_codec_enum_index(s, json_string_value(j));
        if (idx < 0) {
            char syms[512];
            size_t off = 0;
            syms[0] = 0;
            int ns = avro_schema_enum_number_of_symbols(s);
            for (int i = 0; i < ns && off < sizeof syms; i++) {
                int w = snprintf(syms + off, sizeof syms - off, "%s%s", i ? ", " : "",
                                 avro_schema_enum_get(s, i));
                if (w < 0)
                    break;
                off += (size_t)w;
            }
            op_set_err(errstr, errstr_size, "%s: unknown value \"%.64s\" (expected one of %s)",
                       PATH(path), json_string_value(j), syms);
            return -1;
        }
        return avro_value_set_enum(dst, idx);
    }
    case AVRO_UNION: {
        int null_index = -1;
        int other = nullable_other(s, &null_index);
        int branch = -1;
        json_t *inner = j;
        if (json_is_null(j)) {
            for (size_t i = 0; i < avro_schema_union_size(s); i++)
                if (is_avro_null(avro_schema_union_branch(s, (int)i)))
                    branch = (int)i;
        } else if (other >= 0) {
            branch = other;
        } else if (json_is_object(j) && json_object_size(j) == 1) {
            const char *key = json_object_iter_key(json_object_iter(j));
            inner = json_object_iter_value(json_object_iter(j));
            for (size_t i = 0; i < avro_schema_union_size(s); i++)
                if (strcmp(branch_name(avro_schema_union_branch(s, (int)i)), key) == 0)
                    branch = (int)i;
        }
        if (branch < 0) {
            op_set_err(errstr, errstr_size, "%s: value matches no branch of the union", PATH(path));
            return -1;
        }
        avro_value_t br;
        if (avro_value_set_branch(dst, branch, &br) != 0) { /* a branch of s: cannot fail */
            op_set_err(errstr, errstr_size, "%s: the value is not of the union schema", PATH(path));
            return -1;
        }
        return from_json(os, &br, avro_schema_union_branch(s, branch), inner, path, depth + 1,
                         errstr, errstr_size);
    }
    case AVRO_ARRAY: {
        if (!json_is_array(j))
            return expected(path, "an array", j, errstr, errstr_size);
        avro_value_reset(dst);
        size_t i;
        json_t *e;
        json_array_foreach(j, i, e)
        {
            struct jpath ip = {path, NULL, i};
            const struct jpath *ipath = &ip;
            avro_value_t child;
            if (avro_value_append(dst, &child, NULL) != 0 ||
                from_json(os, &child, avro_schema_array_items(s), e, ipath, depth + 1, errstr,
                          errstr_size) != 0)
                return -1;
        }
        return 0;
    }
    case AVRO_MAP: {
        if (!json_is_object(j))
            return expected(path, "an object", j, errstr, errstr_size);
        avro_value_reset(dst);
        const char *key;
        json_t *e;
        json_object_foreach(j, key, e)
        {
            struct jpath kp = {path, key, 0};
            const struct jpath *kpath = &kp;
            avro_value_t child;
            if (avro_value_add(dst, key, &child, NULL, NULL) != 0 ||
                from_json(os, &child, avro_schema_map_values(s), e, kpath, depth + 1, errstr,
                          errstr_size) != 0)
                return -1;
        }
        return 0;
    }
    case AVRO_RECORD:
        return record_from_json(os, dst, s, j, path, depth, errstr, errstr_size);
    default:
        op_set_err(errstr, errstr_size, "%s: unsupported schema type", PATH(path));
        return -1;
    }
}

int op_avrojson_from_json(const struct op_schema *s, avro_value_t *dst, json_t *j, char *errstr,
                          size_t errstr_size)
{
    avro_value_reset(dst);
    return record_from_json(s, dst, s->schema, j, NULL, 0, errstr, errstr_size);
}
