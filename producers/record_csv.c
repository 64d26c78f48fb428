/* CSV records: the header mapped to the reader schema's fields (with the Chinese aliases),
 * and each row's cells converted into the JSON object of the common tail (record.c). */
#include "record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aliases.h"
#include "err.h"
#include "record_internal.h"
#include "timestamp.h"

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
        avro_schema_t fs =
            producer_rec_deref(avro_schema_record_field_get_by_index(s->schema, (int)i));
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
    s = producer_rec_deref(s);
    if (is_avro_union(s)) {
        /* A nullable field: its non-null branch. */
        for (size_t i = 0; i < avro_schema_union_size(s); i++) {
            avro_schema_t b = producer_rec_deref(avro_schema_union_branch(s, (int)i));
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
                   producer_rec_clip(text, n, 40), text);
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
            producer_rec_bad_ts(path, text, n, why, field, field_size, reason, reason_size);
            return NULL;
        }
        op_set_err(field, field_size, "%s", path);
        op_set_err(reason, reason_size, "\"%.*s\" is not an integer",
                   producer_rec_clip(text, n, 40), text);
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
    avro_schema_t items = producer_rec_deref(avro_schema_array_items(producer_rec_deref(s)));
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
                op_set_err(reason, reason_size, "\"%.*s\" is not %s:%s",
                           producer_rec_clip(p, len, 40), p, f0, f1);
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
    int t = producer_rec_pick_type(conv, tname, tlen, field, field_size, reason, reason_size);
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
        avro_schema_t fs = producer_rec_deref(avro_schema_record_field_get_by_index(s->schema, ti));
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
    rc = producer_rec_finish(conv, t, obj, now_ms, out, field, field_size, reason, reason_size);
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
