/* Avro codec, resolution: a value of a writer schema resolved to the reader schema, fields the
 * writer lacks taking the reader's defaults. */
#include "codec.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"
#include "err.h"

/* ---- defaults and resolution ------------------------------------------------------------ */

static char *schema_full_name(avro_schema_t s)
{
    const char *ns = avro_schema_namespace(s);
    return op_codec_full_name(avro_schema_name(s), ns && *ns ? ns : NULL);
}

/* The definition object of named type `s` in the reader's schema text. */
static json_t *named_def(const struct op_schema *rd, avro_schema_t s)
{
    char *fn = schema_full_name(s);
    json_t *d = fn ? json_object_get(rd->names, fn) : NULL;
    free(fn);
    return d;
}

json_t *op_codec_field_default(const struct op_schema *rd, avro_schema_t rec, const char *field)
{
    json_t *def = named_def(rd, rec);
    json_t *fields = json_object_get(def, "fields");
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        if (json_is_string(json_object_get(f, "name")) &&
            strcmp(json_string_value(json_object_get(f, "name")), field) == 0)
            return json_object_get(f, "default");
    }
    return NULL;
}

static int set_default(const struct op_schema *rd, avro_value_t *dst, avro_schema_t s, json_t *j,
                       const char *path, int depth, char *errstr, size_t errstr_size)
{
    s = op_codec_deref(s);
    int rc = 0;
    if (depth > OP_CODEC_MAX_DEPTH)
        goto bad;
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        if (!json_is_null(j))
            goto bad;
        return avro_value_set_null(dst);
    case AVRO_BOOLEAN:
        if (!json_is_boolean(j))
            goto bad;
        return avro_value_set_boolean(dst, json_is_true(j));
    case AVRO_INT32:
        if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
            json_integer_value(j) > INT32_MAX)
            goto bad;
        return avro_value_set_int(dst, (int32_t)json_integer_value(j));
    case AVRO_INT64:
        if (!json_is_integer(j))
            goto bad;
        return avro_value_set_long(dst, json_integer_value(j));
    case AVRO_FLOAT:
        if (!json_is_number(j))
            goto bad;
        return avro_value_set_float(dst, (float)json_number_value(j));
    case AVRO_DOUBLE:
        if (!json_is_number(j))
            goto bad;
        return avro_value_set_double(dst, json_number_value(j));
    case AVRO_STRING:
        if (!json_is_string(j))
            goto bad;
        return avro_value_set_string_len(dst, json_string_value(j), json_string_length(j) + 1);
    case AVRO_BYTES:
        /* JSON defaults of bytes are strings of code points 0-255; ASCII covers ours. */
        if (!json_is_string(j))
            goto bad;
        return avro_value_set_bytes(dst, (void *)json_string_value(j), json_string_length(j));
    case AVRO_ENUM: {
        int idx = json_is_string(j) ? op_codec_enum_index(s, json_string_value(j)) : -1;
        if (idx < 0)
            goto bad;
        return avro_value_set_enum(dst, idx);
    }
    case AVRO_FIXED:
        if (!json_is_string(j) || (int64_t)json_string_length(j) != avro_schema_fixed_size(s))
            goto bad;
        return avro_value_set_fixed(dst, (void *)json_string_value(j), json_string_length(j));
    case AVRO_UNION: {
        avro_value_t br;
        if (avro_value_set_branch(dst, 0, &br) != 0)
            return -1;
        return set_default(rd, &br, avro_schema_union_branch(s, 0), j, path, depth + 1, errstr,
                           errstr_size);
    }
    case AVRO_ARRAY: {
        if (!json_is_array(j))
            goto bad;
        avro_value_reset(dst);
        size_t i;
        json_t *e;
        json_array_foreach(j, i, e)
        {
            avro_value_t child;
            if (avro_value_append(dst, &child, NULL) != 0 ||
                set_default(rd, &child, avro_schema_array_items(s), e, path, depth + 1, errstr,
                            errstr_size) != 0)
                return -1;
        }
        return 0;
    }
    case AVRO_MAP: {
        if (!json_is_object(j))
            goto bad;
        avro_value_reset(dst);
        const char *k;
        json_t *e;
        json_object_foreach(j, k, e)
        {
            avro_value_t child;
            if (avro_value_add(dst, k, &child, NULL, NULL) != 0 ||
                set_default(rd, &child, avro_schema_map_values(s), e, path, depth + 1, errstr,
                            errstr_size) != 0)
                return -1;
        }
        return 0;
    }
    case AVRO_RECORD: {
        if (!json_is_object(j))
            goto bad;
        for (size_t i = 0; i < avro_schema_record_size(s); i++) {
            const char *fname = avro_schema_record_field_name(s, (int)i);
            json_t *fj = json_object_get(j, fname);
            if (!fj)
                fj = op_codec_field_default(rd, s, fname);
            avro_value_t child;
            if (!fj || avro_value_get_by_index(dst, i, &child, NULL) != 0) {
                op_set_err(errstr, errstr_size, "%s: default lacks field %s", path, fname);
                return -1;
            }
            rc = set_default(rd, &child, avro_schema_record_field_get_by_index(s, (int)i), fj, path,
                             depth + 1, errstr, errstr_size);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    default:
        goto bad;
    }
bad:
    op_set_err(errstr, errstr_size, "%s: default value does not match the reader's %s", path,
               avro_schema_type_name(s));
    return -1;
}

int op_codec_set_defaults(const struct op_schema *s, avro_value_t *dst, char *errstr,
                          size_t errstr_size)
{
    for (size_t i = 0; i < avro_schema_record_size(s->schema); i++) {
        const char *fname = avro_schema_record_field_name(s->schema, (int)i);
        json_t *d = op_codec_field_default(s, s->schema, fname);
        avro_value_t child;
        if (!d)
            continue;
        if (avro_value_get_by_index(dst, i, &child, NULL) != 0 ||
            set_default(s, &child, avro_schema_record_field_get_by_index(s->schema, (int)i), d,
                        fname, 0, errstr, errstr_size) != 0)
            return -1;
    }
    return 0;
}

static int same_named(avro_schema_t a, avro_schema_t b)
{
    char *fa = schema_full_name(a), *fb = schema_full_name(b);
    int same = fa && fb && strcmp(fa, fb) == 0;
    free(fa);
    free(fb);
    return same;
}

/* Whether data of writer schema w can be read as reader schema r (no union on either side).
 * exact=1 accepts only the same type; exact=0 also the Avro promotions. */
static int branch_matches(avro_schema_t r, avro_schema_t w, int exact)
{
    r = op_codec_deref(r);
    w = op_codec_deref(w);
    avro_type_t rt = avro_typeof(r), wt = avro_typeof(w);
    if (rt == wt) {
        if (rt == AVRO_RECORD || rt == AVRO_ENUM || rt == AVRO_FIXED)
            return same_named(r, w);
        return 1;
    }
    if (exact)
        return 0;
    switch (wt) {
    case AVRO_INT32:
        return rt == AVRO_INT64 || rt == AVRO_FLOAT || rt == AVRO_DOUBLE;
    case AVRO_INT64:
        return rt == AVRO_FLOAT || rt == AVRO_DOUBLE;
    case AVRO_FLOAT:
        return rt == AVRO_DOUBLE;
    case AVRO_STRING:
        return rt == AVRO_BYTES;
    case AVRO_BYTES:
        return rt == AVRO_STRING;
    default:
        return 0;
    }
}

static int resolve(const struct op_schema *rd, avro_value_t *dst, avro_value_t *src,
                   const char *path, int depth, char *errstr, size_t errstr_size)
{
    avro_schema_t rs = op_codec_deref(avro_value_get_schema(dst));
    avro_schema_t ws = op_codec_deref(avro_value_get_schema(src));
    avro_type_t rt = avro_typeof(rs), wt = avro_typeof(ws);
    if (depth > OP_CODEC_MAX_DEPTH) {
        op_set_err(errstr, errstr_size, "%s: nesting too deep", path);
        return -1;
    }
    if (wt == AVRO_UNION) {
        avro_value_t branch;
        if (avro_value_get_current_branch(src, &branch) != 0)
            goto internal;
        return resolve(rd, dst, &branch, path, depth + 1, errstr, errstr_size);
    }
    if (rt == AVRO_UNION) {
        size_t n = avro_schema_union_size(rs);
        for (int exact = 1; exact >= 0; exact--)
            for (size_t i = 0; i < n; i++)
                if (branch_matches(avro_schema_union_branch(rs, (int)i), ws, exact)) {
                    avro_value_t branch;
                    if (avro_value_set_branch(dst, (int)i, &branch) != 0)
                        goto internal;
                    return resolve(rd, &branch, src, path, depth + 1, errstr, errstr_size);
                }
        op_set_err(errstr, errstr_size, "%s: no branch of the reader's union takes a %s", path,
                   avro_schema_type_name(ws));
        return -1;
    }
    if (!branch_matches(rs, ws, 0)) {
        op_set_err(errstr, errstr_size, "%s: writer's %s cannot be read as %s", path,
                   avro_schema_type_name(ws), avro_schema_type_name(rs));
        return -1;
    }

    switch (wt) {
    case AVRO_NULL:
        return avro_value_set_null(dst);
    case AVRO_BOOLEAN: {
        int b;
        return avro_value_get_boolean(src, &b) || avro_value_set_boolean(dst, b);
    }
    case AVRO_INT32:
    case AVRO_INT64: {
        int64_t v;
        int32_t v32;
        if (wt == AVRO_INT32) {
            if (avro_value_get_int(src, &v32) != 0)
                goto internal;
            v = v32;
        } else if (avro_value_get_long(src, &v) != 0)
            goto internal;
        switch (rt) {
        case AVRO_INT32:
            return avro_value_set_int(dst, (int32_t)v);
        case AVRO_INT64:
            return avro_value_set_long(dst, v);
        case AVRO_FLOAT:
            return avro_value_set_float(dst, (float)v);
        default:
            return avro_value_set_double(dst, (double)v);
        }
    }
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        float f;
        double d;
        if (wt == AVRO_FLOAT) {
            if (avro_value_get_float(src, &f) != 0)
                goto internal;
            d = f;
        } else if (avro_value_get_double(src, &d) != 0)
            goto internal;
        return rt == AVRO_FLOAT ? avro_value_set_float(dst, (float)d)
                                : avro_value_set_double(dst, d);
    }
    case AVRO_STRING:
    case AVRO_BYTES: {
        const void *p;
        size_t n;
        if (wt == AVRO_STRING) {
            const char *str;
            if (avro_value_get_string(src, &str, &n) != 0)
                goto internal;
            p = str;
            n = n ? n - 1 : 0; /* avro-c counts the NUL */
        } else if (avro_value_get_bytes(src, &p, &n) != 0)
            goto internal;
        if (rt == AVRO_BYTES)
            return avro_value_set_bytes(dst, (void *)p, n);
        if (!op_codec_utf8_ok(p, n)) {
            op_set_err(errstr, errstr_size, "%s: bytes are not a UTF-8 string", path);
            return -1;
        }
        char *tmp = strndup(p, n);
        if (!tmp)
            goto internal;
        int rc = avro_value_set_string_len(dst, tmp, n + 1);
        free(tmp);
        return rc;
    }
    case AVRO_FIXED: {
        const void *p;
        size_t n;
        if (avro_schema_fixed_size(rs) != avro_schema_fixed_size(ws)) {
            op_set_err(errstr, errstr_size, "%s: fixed sizes differ", path);
            return -1;
        }
        if (avro_value_get_fixed(src, &p, &n) != 0)
            goto internal;
        return avro_value_set_fixed(dst, (void *)p, n);
    }
    case AVRO_ENUM: {
        int idx;
        if (avro_value_get_enum(src, &idx) != 0)
            goto internal;
        const char *sym = avro_schema_enum_get(ws, idx);
        int ridx = sym ? op_codec_enum_index(rs, sym) : -1;
        if (ridx < 0) {
            /* Avro 1.9 enum default: unknown symbols map to it. */
            json_t *d = json_object_get(named_def(rd, rs), "default");
            if (json_is_string(d))
                ridx = op_codec_enum_index(rs, json_string_value(d));
        }
        if (ridx < 0) {
            op_set_err(errstr, errstr_size, "%s: symbol %s unknown to the reader's enum %s", path,
                       sym ? sym : "?", avro_schema_name(rs));
            return -1;
        }
        return avro_value_set_enum(dst, ridx);
    }
    case AVRO_ARRAY:
    case AVRO_MAP: {
        size_t n;
        if (avro_value_get_size(src, &n) != 0)
            goto internal;
        avro_value_reset(dst);
        for (size_t i = 0; i < n; i++) {
            avro_value_t sc, dc;
            const char *key = NULL;
            if (avro_value_get_by_index(src, i, &sc, &key) != 0)
                goto internal;
            int rc = wt == AVRO_ARRAY ? avro_value_append(dst, &dc, NULL)
                                      : avro_value_add(dst, key, &dc, NULL, NULL);
            if (rc != 0)
                goto internal;
            if (resolve(rd, &dc, &sc, path, depth + 1, errstr, errstr_size) != 0)
                return -1;
        }
        return 0;
    }
    case AVRO_RECORD: {
        size_t n = avro_schema_record_size(rs);
        for (size_t i = 0; i < n; i++) {
            const char *fname = avro_schema_record_field_name(rs, (int)i);
            char fpath[256];
            snprintf(fpath, sizeof fpath, "%s%s%s", path, *path ? "." : "", fname);
            avro_value_t dc, sc;
            if (avro_value_get_by_index(dst, i, &dc, NULL) != 0)
                goto internal;
            int widx = op_codec_field_index(ws, fname);
            if (widx >= 0) {
                if (avro_value_get_by_index(src, (size_t)widx, &sc, NULL) != 0)
                    goto internal;
                if (resolve(rd, &dc, &sc, fpath, depth + 1, errstr, errstr_size) != 0)
                    return -1;
                continue;
            }
            json_t *d = op_codec_field_default(rd, rs, fname);
            if (!d) {
                op_set_err(errstr, errstr_size,
                           "%s: the writer lacks this field and the reader has no default", fpath);
                return -1;
            }
            if (set_default(rd, &dc, avro_schema_record_field_get_by_index(rs, (int)i), d, fpath,
                            depth + 1, errstr, errstr_size) != 0)
                return -1;
        }
        return 0;
    }
    default:
        break;
    }
internal:
    /* Not avro_strerror(): the reporter's endpoint threads resolve at once (codec.h). */
    op_set_err(errstr, errstr_size,
               "%s: avro-c could not read or set the value (out of memory, or a value not of its "
               "schema)",
               path);
    return -1;
}

int op_codec_resolve(const struct op_schema *reader, avro_value_t *dst, avro_value_t *src,
                     char *errstr, size_t errstr_size)
{
    return resolve(reader, dst, src, "", 0, errstr, errstr_size);
}
