/* Fast JSON Lines records: one pass over the text into a small value tree typed by the reader
 * schema, then Avro binary, the canonical content of derived ids and the event, written
 * directly. Whatever it does not handle, or finds invalid, goes to the generic path. */
#include "jsonscan.h"

#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "input.h"
#include "kafka.h"
#include "sha256.h"

#define JS_NODES 96
#define JS_FIELDS 96
#define JS_VALS 512    /* values of one record: arrays count one per item */
#define JS_DEF_VALS 96 /* values of the defaults */
#define JS_MAX_ITEMS 64
#define JS_MAX_DEPTH 8
#define JS_MAX_SYMBOLS 64

enum js_kind { JS_STRING, JS_INT, JS_LONG, JS_TS, JS_ENUM, JS_UNION, JS_ARRAY, JS_RECORD, JS_BOOL };

struct js_field;

struct js_node {
    enum js_kind kind;
    avro_schema_t schema;
    /* enum: symbols and their lengths (avro-c's lookups cost a call and a strlen each) */
    int nsym;
    const char *sym[JS_MAX_SYMBOLS];
    size_t symlen[JS_MAX_SYMBOLS];
    /* union: branch numbers of null and of the other branch */
    int null_index, other_index;
    struct js_node *inner; /* union: the other branch; array: the items */
    /* record */
    size_t nf;
    struct js_field *f;
    size_t sorted[32]; /* field numbers by name: the canonical order */
};

struct js_val;

struct js_field {
    const char *name;
    size_t len;
    struct js_node *node;
    const struct js_val *def; /* NULL: required */
    int not_canonical;        /* top level: event_id and reported_at stay out of derived ids */
    int is_event_id;
};

struct js_val {
    int64_t i; /* integers; enum symbol index */
    const char *s;
    size_t n;                   /* string length; array item count */
    const struct js_val *first; /* union: the branch (NULL: null); array: first item;
                                 * record: its nf field values, consecutive */
    const struct js_val *next;  /* next array item */
};

/* Where the event's fields are (field numbers of the top-level record, -1: absent). */
enum {
    EV_ID,
    EV_OCCURRED,
    EV_REPORTED,
    EV_AGENCY,
    EV_REGION,
    EV_CAMPAIGN,
    EV_ACTIVITY,
    EV_GROUPS,
    EV_WORKERS,
    EV_HOUSEHOLDS,
    EV_STAFF,
    EV_AMOUNT,
    EV_SOURCE,
    EV_PURPOSE,
    EV_RECIPIENTS,
    EV_TARGET,
    EV_METHOD,
    EV_ENTERPRISES,
    EV_RESPONDENTS,
    EV_TOPIC,
    EV_SATISFACTION,
    EV_NEEDS,
    EV_N
};

static const char *const ev_names[EV_N] = {
    "event_id",    "occurred_at",   "reported_at",     "agency_id",    "region", "campaign",
    "activity",    "target_groups", "workers_reached", "households",   "staff",  "amount_fen",
    "source",      "purpose",       "recipients",      "target_group", "method", "enterprises",
    "respondents", "topic",         "satisfaction",    "needs"};

/* Per event field: its kind, the kind of its items (-1: none), the type it belongs to (-1:
 * every type). */
static const int ev_kinds[EV_N][3] = {{JS_STRING, -1, -1},
                                      {JS_TS, -1, -1},
                                      {JS_TS, -1, -1},
                                      {JS_STRING, -1, -1},
                                      {JS_STRING, -1, -1},
                                      {JS_STRING, -1, -1},
                                      {JS_ENUM, -1, OP_EVENT_VISIT},
                                      {JS_ARRAY, JS_ENUM, OP_EVENT_VISIT},
                                      {JS_INT, -1, OP_EVENT_VISIT},
                                      {JS_INT, -1, OP_EVENT_VISIT},
                                      {JS_INT, -1, OP_EVENT_VISIT},
                                      {JS_LONG, -1, OP_EVENT_FUNDING},
                                      {JS_ENUM, -1, OP_EVENT_FUNDING},
                                      {JS_ENUM, -1, OP_EVENT_FUNDING},
                                      {JS_INT, -1, OP_EVENT_FUNDING},
                                      {JS_ENUM, -1, OP_EVENT_FUNDING},
                                      {JS_ENUM, -1, OP_EVENT_SURVEY},
                                      {JS_INT, -1, OP_EVENT_SURVEY},
                                      {JS_INT, -1, OP_EVENT_SURVEY},
                                      {JS_ENUM, -1, OP_EVENT_SURVEY},
                                      {JS_RECORD, -1, OP_EVENT_SURVEY},
                                      {JS_ARRAY, JS_RECORD, OP_EVENT_SURVEY}};

struct js_type {
    struct js_node *root; /* NULL: this type always takes the generic path */
    int ev[EV_N];
    int note; /* field number of the optional free-text note (v2, nullable), or -1 */
    /* Field numbers of correction (int), retracted (boolean) and correction_reason (nullable
     * string): visit.v3, funding.v3, survey.v2; -1 when the reader schema has none. */
    int correction, retracted, reason;
};

struct producer_jscan {
    struct js_type type[OP_EVENT_TYPES];
    struct js_node nodes[JS_NODES];
    size_t n_nodes;
    struct js_field fields[JS_FIELDS];
    size_t n_fields;
    struct js_val defs[JS_DEF_VALS];
    size_t n_defs;
    /* per record */
    struct js_val vals[JS_VALS];
    size_t n_vals;
    const char *end;
    int type_first; /* "type" came first: skip it among the members */
    int utf8_valid; /* the caller checked the whole text */
    struct op_buf canon, msg, strs, unesc;
};

/* ---- tables ----------------------------------------------------------------------------- */

static avro_schema_t deref(avro_schema_t s)
{
    while (s && is_avro_link(s))
        s = avro_schema_link_target(s);
    return s;
}

static struct js_node *build(struct producer_jscan *js, const struct op_schema *os, avro_schema_t s,
                             int ts, int depth);

static struct js_val *def_val(struct producer_jscan *js, size_t n)
{
    if (js->n_defs + n > JS_DEF_VALS)
        return NULL;
    struct js_val *v = &js->defs[js->n_defs];
    js->n_defs += n;
    memset(v, 0, n * sizeof *v);
    return v;
}

static int sym_index(const struct js_node *nd, const char *s, size_t n)
{
    for (int k = 0; k < nd->nsym; k++)
        if (nd->symlen[k] == n && memcmp(nd->sym[k], s, n) == 0)
            return k;
    return -1;
}

/* A schema default (JSON) as a value, as op_avrojson_from_json would read it. */
static int from_default(struct producer_jscan *js, const struct js_node *nd, json_t *j,
                        struct js_val *v, int depth)
{
    if (depth > JS_MAX_DEPTH)
        return -1;
    switch (nd->kind) {
    case JS_STRING:
        if (!json_is_string(j) || memchr(json_string_value(j), 0, json_string_length(j)))
            return -1;
        v->s = json_string_value(j);
        v->n = json_string_length(j);
        return 0;
    case JS_INT:
        if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
            json_integer_value(j) > INT32_MAX)
            return -1;
        v->i = json_integer_value(j);
        return 0;
    case JS_LONG:
    case JS_TS:
        if (!json_is_integer(j))
            return -1;
        v->i = json_integer_value(j);
        return 0;
    case JS_ENUM:
        if (!json_is_string(j))
            return -1;
        v->i = sym_index(nd, json_string_value(j), json_string_length(j));
        return v->i < 0 ? -1 : 0;
    case JS_BOOL:
        if (!json_is_boolean(j))
            return -1;
        v->i = json_is_true(j);
        return 0;
    case JS_UNION: {
        if (json_is_null(j)) {
            v->first = NULL;
            return 0;
        }
        struct js_val *b = def_val(js, 1);
        v->first = b;
        return b ? from_default(js, nd->inner, j, b, depth + 1) : -1;
    }
    case JS_ARRAY: {
        if (!json_is_array(j))
            return -1;
        struct js_val *prev = NULL;
        for (size_t k = 0; k < json_array_size(j); k++) {
            struct js_val *it = def_val(js, 1);
            if (!it || from_default(js, nd->inner, json_array_get(j, k), it, depth + 1) != 0)
                return -1;
            if (prev)
                prev->next = it;
            else
                v->first = it;
            prev = it;
            v->n++;
        }
        return 0;
    }
    case JS_RECORD: {
        if (!json_is_object(j))
            return -1;
        const char *key;
        json_t *val;
        json_object_foreach(j, key, val)
        {
            size_t k = 0;
            while (k < nd->nf && strcmp(nd->f[k].name, key) != 0)
                k++;
            if (k == nd->nf)
                return -1;
        }
        struct js_val *fv = def_val(js, nd->nf);
        if (!fv)
            return -1;
        v->first = fv;
        for (size_t k = 0; k < nd->nf; k++) {
            json_t *fj = json_object_get(j, nd->f[k].name);
            if (!fj) {
                if (!nd->f[k].def)
                    return -1;
                fv[k] = *nd->f[k].def;
            } else if (from_default(js, nd->f[k].node, fj, &fv[k], depth + 1) != 0)
                return -1;
        }
        return 0;
    }
    }
    return -1;
}

static int cmp_name(const void *a, const void *b, const struct js_node *nd)
{
    return strcmp(nd->f[*(const size_t *)a].name, nd->f[*(const size_t *)b].name);
}

static struct js_node *build_record(struct producer_jscan *js, const struct op_schema *os,
                                    avro_schema_t s, int depth)
{
    size_t nf = avro_schema_record_size(s);
    if (nf > 32 || js->n_fields + nf > JS_FIELDS || js->n_nodes >= JS_NODES)
        return NULL;
    struct js_node *nd = &js->nodes[js->n_nodes++];
    memset(nd, 0, sizeof *nd);
    nd->kind = JS_RECORD;
    nd->schema = s;
    nd->nf = nf;
    nd->f = &js->fields[js->n_fields];
    js->n_fields += nf;
    for (size_t k = 0; k < nf; k++) {
        struct js_field *f = &nd->f[k];
        f->name = avro_schema_record_field_name(s, (int)k);
        f->len = strlen(f->name);
        f->is_event_id = depth == 0 && strcmp(f->name, "event_id") == 0;
        f->not_canonical = f->is_event_id || (depth == 0 && strcmp(f->name, "reported_at") == 0);
        f->node = build(js, os, avro_schema_record_field_get_by_index(s, (int)k), 0, depth + 1);
        if (!f->node)
            return NULL;
        f->def = NULL;
    }
    for (size_t k = 0; k < nf; k++) {
        json_t *d = op_codec_field_default(os, s, nd->f[k].name);
        if (!d)
            continue;
        struct js_val *v = def_val(js, 1);
        if (!v || from_default(js, nd->f[k].node, d, v, 0) != 0)
            return NULL;
        nd->f[k].def = v;
    }
    for (size_t k = 0; k < nf; k++)
        nd->sorted[k] = k;
    /* Insertion sort: a few fields, and qsort has no context argument. */
    for (size_t k = 1; k < nf; k++)
        for (size_t m = k; m > 0 && cmp_name(&nd->sorted[m - 1], &nd->sorted[m], nd) > 0; m--) {
            size_t t = nd->sorted[m];
            nd->sorted[m] = nd->sorted[m - 1];
            nd->sorted[m - 1] = t;
        }
    return nd;
}

static struct js_node *build(struct producer_jscan *js, const struct op_schema *os, avro_schema_t s,
                             int ts, int depth)
{
    s = deref(s);
    if (depth > JS_MAX_DEPTH)
        return NULL;
    if (is_avro_record(s))
        return build_record(js, os, s, depth);
    if (js->n_nodes >= JS_NODES)
        return NULL;
    struct js_node *nd = &js->nodes[js->n_nodes++];
    memset(nd, 0, sizeof *nd);
    nd->schema = s;
    if (is_avro_string(s))
        nd->kind = JS_STRING;
    else if (is_avro_int32(s))
        nd->kind = JS_INT;
    else if (is_avro_int64(s))
        nd->kind = ts ? JS_TS : JS_LONG;
    else if (is_avro_boolean(s))
        nd->kind = JS_BOOL;
    else if (is_avro_enum(s)) {
        nd->kind = JS_ENUM;
        nd->nsym = avro_schema_enum_number_of_symbols(s);
        if (nd->nsym > JS_MAX_SYMBOLS)
            return NULL;
        for (int k = 0; k < nd->nsym; k++) {
            nd->sym[k] = avro_schema_enum_get(s, k);
            nd->symlen[k] = strlen(nd->sym[k]);
        }
    } else if (is_avro_union(s) && avro_schema_union_size(s) == 2) {
        /* Only [null, X] (either order): the generic path's "nullable" reading. */
        nd->kind = JS_UNION;
        nd->null_index = -1;
        for (int b = 0; b < 2; b++)
            if (is_avro_null(deref(avro_schema_union_branch(s, b))))
                nd->null_index = b;
        if (nd->null_index < 0)
            return NULL;
        nd->other_index = 1 - nd->null_index;
        avro_schema_t o = deref(avro_schema_union_branch(s, nd->other_index));
        if (is_avro_union(o))
            return NULL;
        nd->inner = build(js, os, o, 0, depth + 1);
        if (!nd->inner)
            return NULL;
    } else if (is_avro_array(s)) {
        nd->kind = JS_ARRAY;
        nd->inner = build(js, os, avro_schema_array_items(s), 0, depth + 1);
        if (!nd->inner)
            return NULL;
    } else
        return NULL;
    return nd;
}

struct producer_jscan *producer_jscan_new(const struct producer_conv *conv)
{
    struct producer_jscan *js = calloc(1, sizeof *js);
    if (!js)
        return NULL;
    for (int t = 0; t < OP_EVENT_TYPES; t++) {
        const struct op_schema *os = conv->reader[t];
        struct js_type *ty = &js->type[t];
        size_t save_nodes = js->n_nodes, save_fields = js->n_fields, save_defs = js->n_defs;
        struct js_node *root = build_record(js, os, os->schema, 0);
        if (root) {
            /* Timestamp fields: integer milliseconds or RFC 3339 text, at the top level only. */
            for (size_t k = 0; k < root->nf; k++)
                if (conv->is_ts[t][k] && root->f[k].node->kind == JS_LONG)
                    root->f[k].node->kind = JS_TS;
            ty->note = -1;
            for (size_t k = 0; k < root->nf; k++) {
                const struct js_node *fn = root->f[k].node;
                if (strcmp(root->f[k].name, "note") == 0 &&
                    (fn->kind == JS_STRING ||
                     (fn->kind == JS_UNION && fn->inner->kind == JS_STRING)))
                    ty->note = (int)k;
            }
            ty->correction = ty->retracted = ty->reason = -1;
            for (size_t k = 0; k < root->nf; k++) {
                const struct js_node *fn = root->f[k].node;
                const char *fname = root->f[k].name;
                if (!strcmp(fname, "correction") && fn->kind == JS_INT)
                    ty->correction = (int)k;
                else if (!strcmp(fname, "retracted") && fn->kind == JS_BOOL)
                    ty->retracted = (int)k;
                else if (!strcmp(fname, "correction_reason") && fn->kind == JS_UNION &&
                         fn->inner->kind == JS_STRING)
                    ty->reason = (int)k;
            }
            /* All three or none, as op_event_from_value reads them. */
            if ((ty->correction < 0) != (ty->retracted < 0) ||
                (ty->correction < 0) != (ty->reason < 0))
                root = NULL;
            for (int e = 0; e < EV_N; e++) {
                ty->ev[e] = -1;
                for (size_t k = 0; k < root->nf; k++)
                    if (strcmp(root->f[k].name, ev_names[e]) == 0)
                        ty->ev[e] = (int)k;
            }
            /* What op_event_from_value reads must be there, with the kinds it reads. */
            for (int e = 0; root && e < EV_N; e++) {
                int want = ev_kinds[e][0], k = ty->ev[e];
                if (ev_kinds[e][2] != -1 && ev_kinds[e][2] != t)
                    continue;
                const struct js_node *fn = k >= 0 ? root->f[k].node : NULL;
                if (fn && e == EV_CAMPAIGN && fn->kind == JS_UNION)
                    fn = fn->inner;
                if (!fn || (int)fn->kind != want ||
                    (ev_kinds[e][1] >= 0 && (int)fn->inner->kind != ev_kinds[e][1]))
                    root = NULL;
            }
        }
        if (!root) {
            js->n_nodes = save_nodes;
            js->n_fields = save_fields;
            js->n_defs = save_defs;
        }
        ty->root = root;
    }
    return js;
}

void producer_jscan_destroy(struct producer_jscan *js)
{
    if (!js)
        return;
    op_buf_free(&js->canon);
    op_buf_free(&js->msg);
    op_buf_free(&js->strs);
    op_buf_free(&js->unesc);
    free(js);
}

/* ---- scanning --------------------------------------------------------------------------- */

/* Bytes that end the fast scan of a string: quote, backslash, controls, non-ASCII (a control
 * or non-ASCII byte c has (unsigned char)(c - 0x20) >= 0x60). */
static inline int js_special(unsigned char c)
{
    return (unsigned char)(c - 0x20) >= 0x60 || c == '"' || c == '\\';
}

static const char *ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* The rest of a string with escapes, decoded into js->unesc (reserved for the whole record
 * by the caller, so earlier strings stay put). b: first byte of the content, p: first backslash. */
static const char *str_escaped(struct producer_jscan *js, const char *b, const char *p,
                               const char *end, const char **s, size_t *n)
{
    unsigned char *o = js->unesc.data + js->unesc.len, *o0 = o;
    memcpy(o, b, (size_t)(p - b));
    o += p - b;
    for (; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c < 0x20)
            return NULL;
        if (c != '\\') {
            *o++ = c;
            continue;
        }
        if (++p >= end)
            return NULL;
        switch (*p) {
        case '"':
        case '\\':
        case '/':
            *o++ = (unsigned char)*p;
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned u, lo;
            if (hex4(p + 1, end, &u) != 0)
                return NULL;
            p += 4;
            if (u >= 0xDC00 && u <= 0xDFFF)
                return NULL;
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (end - p < 7 || p[1] != '\\' || p[2] != 'u' || hex4(p + 3, end, &lo) != 0 ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return NULL;
                p += 6;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (u == 0) /* a NUL: the generic path refuses it */
                return NULL;
            if (u < 0x80)
                *o++ = (unsigned char)u;
            else if (u < 0x800) {
                *o++ = (unsigned char)(0xC0 | (u >> 6));
                *o++ = (unsigned char)(0x80 | (u & 0x3F));
            } else if (u < 0x10000) {
                *o++ = (unsigned char)(0xE0 | (u >> 12));
                *o++ = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
                *o++ = (unsigned char)(0x80 | (u & 0x3F));
            } else {
                *o++ = (unsigned char)(0xF0 | (u >> 18));
                *o++ = (unsigned char)(0x80 | ((u >> 12) & 0x3F));
                *o++ = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
                *o++ = (unsigned char)(0x80 | (u & 0x3F));
            }
            break;
        }
        default:
            return NULL;
        }
    }
    if (p >= end)
        return NULL;
    /* Raw bytes must be valid UTF-8 (escapes only ever produce valid sequences). */
    if (!js->utf8_valid && producer_utf8_check(b, (size_t)(p - b)) != (size_t)-1)
        return NULL;
    *s = (const char *)o0;
    *n = (size_t)(o - o0);
    js->unesc.len += *n;
    return p + 1;
}

/* A string without control characters, in valid UTF-8: *s, *n (into the text, or decoded
 * into js->unesc when it has escapes); returns the byte after its closing quote, or NULL.
 * p is at the opening quote. */
static const char *str(struct producer_jscan *js, const char *p, const char *end, const char **s,
                       size_t *n)
{
    const char *b = ++p;
    int high = 0;
    for (;;) {
        while (p < end && !js_special((unsigned char)*p))
            p++;
        if (p >= end)
            return NULL;
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c == '\\')
            return str_escaped(js, b, p, end, s, n);
        if (c < 0x20)
            return NULL;
        high = 1;
        p++;
    }
    if (high && !js->utf8_valid && producer_utf8_check(b, (size_t)(p - b)) != (size_t)-1)
        return NULL;
    *s = b;
    *n = (size_t)(p - b);
    return p + 1;
}

/* A JSON integer (no fraction or exponent) that fits int64. */
static const char *integer(const char *p, const char *end, int64_t *out)
{
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9')
        return NULL;
    if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
        return NULL;
    uint64_t v = 0;
    int nd = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++, nd++) {
        if (nd >= 18)
            return NULL; /* may not fit: jansson decides */
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
        return NULL;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return p;
}

static struct js_val *new_val(struct producer_jscan *js)
{
    if (js->n_vals >= JS_VALS)
        return NULL;
    struct js_val *v = &js->vals[js->n_vals++];
    memset(v, 0, sizeof *v);
    return v;
}

static const char *value(struct producer_jscan *js, const struct js_node *nd, const char *p,
                         struct js_val *v, int depth);

/* An object's members into the record's field values (which the caller allocated, nf of
 * them); absent fields take their defaults. At the top, a "type" read by find_type is skipped. */
static const char *members(struct producer_jscan *js, const struct js_node *nd, const char *p,
                           struct js_val *fv, int top, int depth)
{
    const char *end = js->end;
    uint32_t seen = 0;
    size_t next = 0;
    int seen_type = 0;
    p = ws(p, end);
    if (p < end && *p == '}')
        p++;
    else
        for (;;) {
            const char *k;
            size_t kn;
            if (p >= end || *p != '"' || !(p = str(js, p, end, &k, &kn)))
                return NULL;
            p = ws(p, end);
            if (p >= end || *p != ':')
                return NULL;
            p = ws(p + 1, end);
            /* Keys mostly come in schema order: the one after the last is tried first. */
            size_t f = next;
            if (f >= nd->nf || nd->f[f].len != kn || memcmp(nd->f[f].name, k, kn) != 0)
                for (f = 0; f < nd->nf; f++)
                    if (nd->f[f].len == kn && memcmp(nd->f[f].name, k, kn) == 0)
                        break;
            next = f + 1;
            if (f == nd->nf) {
                /* "type" was read by the caller; here it is only skipped (once). */
                if (!top || !js->type_first || seen_type || kn != 4 || memcmp(k, "type", 4) != 0 ||
                    p >= end || *p != '"')
                    return NULL;
                const char *ts;
                size_t tn;
                if (!(p = str(js, p, end, &ts, &tn)))
                    return NULL;
                seen_type = 1;
            } else {
                if (seen & (UINT32_C(1) << f))
                    return NULL;
                seen |= UINT32_C(1) << f;
                if (top && p + 4 <= end && memcmp(p, "null", 4) == 0 && nd->f[f].is_event_id) {
                    /* A null event_id means "derive it", like a missing one. */
                    fv[f].s = NULL;
                    p += 4;
                } else if (!(p = value(js, nd->f[f].node, p, &fv[f], depth + 1)))
                    return NULL;
            }
            p = ws(p, end);
            if (p < end && *p == ',') {
                p = ws(p + 1, end);
                continue;
            }
            if (p < end && *p == '}') {
                p++;
                break;
            }
            return NULL;
        }
    for (size_t f = 0; f < nd->nf; f++) {
        if (seen & (UINT32_C(1) << f))
            continue;
        if (top && nd->f[f].is_event_id) {
            fv[f].s = NULL; /* to be derived */
            fv[f].n = 0;
            continue;
        }
        if (!nd->f[f].def)
            return NULL; /* required field missing */
        fv[f] = *nd->f[f].def;
    }
    return p;
}

static const char *value(struct producer_jscan *js, const struct js_node *nd, const char *p,
                         struct js_val *v, int depth)
{
    const char *end = js->end;
    if (depth > JS_MAX_DEPTH || p >= end)
        return NULL;
    switch (nd->kind) {
    case JS_STRING:
        return *p == '"' ? str(js, p, end, &v->s, &v->n) : NULL;
    case JS_INT:
        p = integer(p, end, &v->i);
        return p && v->i >= INT32_MIN && v->i <= INT32_MAX ? p : NULL;
    case JS_LONG:
        return integer(p, end, &v->i);
    case JS_TS: {
        if (*p != '"')
            return integer(p, end, &v->i);
        const char *s, *why;
        size_t n;
        if (!(p = str(js, p, end, &s, &n)) || producer_ts_parse(s, n, &v->i, &why) != 0)
            return NULL;
        return p;
    }
    case JS_ENUM: {
        const char *s;
        size_t n;
        if (*p != '"' || !(p = str(js, p, end, &s, &n)))
            return NULL;
        v->i = sym_index(nd, s, n);
        return v->i < 0 ? NULL : p;
    }
    case JS_BOOL:
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            v->i = 1;
            return p + 4;
        }
        if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            v->i = 0;
            return p + 5;
        }
        return NULL;
    case JS_UNION:
        if (*p == 'n') {
            if (end - p < 4 || memcmp(p, "null", 4) != 0)
                return NULL;
            v->first = NULL;
            return p + 4;
        } else {
            struct js_val *b = new_val(js);
            if (!b)
                return NULL;
            v->first = b;
            return value(js, nd->inner, p, b, depth + 1);
        }
    case JS_ARRAY: {
        if (*p != '[')
            return NULL;
        p = ws(p + 1, end);
        if (p < end && *p == ']')
            return p + 1;
        struct js_val *prev = NULL;
        for (;;) {
            struct js_val *it = new_val(js);
            if (!it || v->n >= JS_MAX_ITEMS || !(p = value(js, nd->inner, p, it, depth + 1)))
                return NULL;
            if (prev)
                prev->next = it;
            else
                v->first = it;
            prev = it;
            v->n++;
            p = ws(p, end);
            if (p < end && *p == ',') {
                p = ws(p + 1, end);
                continue;
            }
            if (p < end && *p == ']')
                return p + 1;
            return NULL;
        }
    }
    case JS_RECORD: {
        if (*p != '{' || js->n_vals + nd->nf > JS_VALS)
            return NULL;
        struct js_val *fv = &js->vals[js->n_vals];
        memset(fv, 0, nd->nf * sizeof *fv);
        js->n_vals += nd->nf;
        v->first = fv;
        return members(js, nd, p + 1, fv, 0, depth);
    }
    }
    return NULL;
}

/* ---- writing ---------------------------------------------------------------------------- */

static void put_varint(unsigned char **w, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    unsigned char *o = *w;
    while (z & ~UINT64_C(0x7f)) {
        *o++ = (unsigned char)((z & 0x7f) | 0x80);
        z >>= 7;
    }
    *o++ = (unsigned char)z;
    *w = o;
}

/* Avro binary of v, as avro-c's avro_value_write writes it. */
static int encode(struct op_buf *b, const struct js_node *nd, const struct js_val *v)
{
    if (op_buf_reserve(b, 24) != 0)
        return -1;
    unsigned char *w = b->data + b->len;
    switch (nd->kind) {
    case JS_STRING:
        put_varint(&w, (int64_t)v->n);
        b->len = (size_t)(w - b->data);
        return op_buf_append(b, v->s, v->n);
    case JS_INT:
    case JS_LONG:
    case JS_TS:
    case JS_ENUM:
        put_varint(&w, v->i);
        b->len = (size_t)(w - b->data);
        return 0;
    case JS_BOOL: /* one byte, 0 or 1 (not a varint) */
        b->data[b->len++] = v->i ? 1 : 0;
        return 0;
    case JS_UNION:
        put_varint(&w, v->first ? nd->other_index : nd->null_index);
        b->len = (size_t)(w - b->data);
        return v->first ? encode(b, nd->inner, v->first) : 0;
    case JS_ARRAY:
        if (v->n) {
            put_varint(&w, (int64_t)v->n);
            b->len = (size_t)(w - b->data);
            for (const struct js_val *it = v->first; it; it = it->next)
                if (encode(b, nd->inner, it) != 0)
                    return -1;
            if (op_buf_reserve(b, 1) != 0)
                return -1;
        }
        b->data[b->len++] = 0;
        return 0;
    case JS_RECORD:
        for (size_t k = 0; k < nd->nf; k++)
            if (encode(b, nd->f[k].node, &v->first[k]) != 0)
                return -1;
        return 0;
    }
    return -1;
}

/* Whether v equals the default d, as record.c's is_default decides. */
static int same(const struct js_node *nd, const struct js_val *v, const struct js_val *d)
{
    switch (nd->kind) {
    case JS_STRING:
        return v->n == d->n && memcmp(v->s, d->s, v->n) == 0;
    case JS_INT:
    case JS_LONG:
    case JS_TS:
    case JS_ENUM:
    case JS_BOOL:
        return v->i == d->i;
    case JS_UNION:
        if (!d->first)
            return !v->first;
        return v->first && nd->other_index == 0 && same(nd->inner, v->first, d->first);
    case JS_ARRAY:
        return v->n == 0 && d->n == 0;
    case JS_RECORD:
        for (size_t k = 0; k < nd->nf; k++)
            if (!same(nd->f[k].node, &v->first[k], &d->first[k]))
                return 0;
        return 1;
    }
    return 0;
}

static int put(struct op_buf *b, const void *s, size_t n)
{
    return op_buf_append(b, s, n);
}

static int put_int(struct op_buf *b, int64_t v)
{
    char tmp[24], *e = tmp + sizeof tmp, *q = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--q = '-';
    return put(b, q, (size_t)(e - q));
}

static int put_str(struct op_buf *b, const char *s, size_t n)
{
    return producer_json_string(b, s, n);
}

static int canon(struct op_buf *b, const struct js_node *nd, const struct js_val *v, int top);

static int canon_items(struct op_buf *b, const struct js_node *nd, const struct js_val *v)
{
    struct {
        size_t off, len;
    } it[JS_MAX_ITEMS];
    size_t base = b->len, n = 0;
    for (const struct js_val *i = v->first; i; i = i->next, n++) {
        it[n].off = b->len;
        if (canon(b, nd->inner, i, 0) != 0)
            return -1;
        it[n].len = b->len - it[n].off;
    }
    size_t total = b->len - base;
    /* Sorted by their bytes (memcmp, then length), as record.c's cmp_item. */
    for (size_t k = 1; k < n; k++)
        for (size_t m = k; m > 0; m--) {
            const unsigned char *x = b->data + it[m - 1].off, *y = b->data + it[m].off;
            size_t l = it[m - 1].len < it[m].len ? it[m - 1].len : it[m].len;
            int c = memcmp(x, y, l);
            if (c < 0 || (c == 0 && it[m - 1].len <= it[m].len))
                break;
            size_t to = it[m].off, tl = it[m].len;
            it[m] = it[m - 1];
            it[m - 1].off = to;
            it[m - 1].len = tl;
        }
    if (op_buf_reserve(b, total + n + 2) != 0)
        return -1;
    unsigned char *tmp = b->data + b->len; /* the sorted copy goes past the end, then moves */
    size_t o = 0;
    tmp[o++] = '[';
    for (size_t k = 0; k < n; k++) {
        if (k)
            tmp[o++] = ',';
        memcpy(tmp + o, b->data + it[k].off, it[k].len);
        o += it[k].len;
    }
    tmp[o++] = ']';
    memmove(b->data + base, tmp, o);
    b->len = base + o;
    return 0;
}

static int canon(struct op_buf *b, const struct js_node *nd, const struct js_val *v, int top)
{
    switch (nd->kind) {
    case JS_STRING:
        return put_str(b, v->s, v->n);
    case JS_INT:
    case JS_LONG:
    case JS_TS:
        return put_int(b, v->i);
    case JS_ENUM: {
        return put_str(b, nd->sym[v->i], nd->symlen[v->i]);
    }
    case JS_BOOL:
        return v->i ? put(b, "true", 4) : put(b, "false", 5);
    case JS_UNION:
        return v->first ? canon(b, nd->inner, v->first, 0) : put(b, "null", 4);
    case JS_ARRAY:
        return canon_items(b, nd, v);
    case JS_RECORD: {
        if (put(b, "{", 1))
            return -1;
        int first = 1;
        for (size_t s = 0; s < nd->nf; s++) {
            size_t k = nd->sorted[s];
            const struct js_field *f = &nd->f[k];
            if (top && f->not_canonical)
                continue;
            if (f->def && same(f->node, &v->first[k], f->def))
                continue;
            if ((!first && put(b, ",", 1)) || put_str(b, f->name, f->len) || put(b, ":", 1) ||
                canon(b, f->node, &v->first[k], 0))
                return -1;
            first = 0;
        }
        return put(b, "}", 1);
    }
    }
    return -1;
}

/* ---- the record ------------------------------------------------------------------------- */

/* The type named at the start (the common case) or anywhere among the top-level members. */
static int find_type(struct producer_jscan *js, const struct producer_conv *conv, const char *p,
                     const char *end)
{
    p = ws(p, end);
    if (p >= end || *p != '{')
        return -1;
    p = ws(p + 1, end);
    const char *k, *s;
    size_t kn, n;
    if (p < end && *p == '"' && (p = str(js, p, end, &k, &kn)) && kn == 4 &&
        memcmp(k, "type", 4) == 0) {
        p = ws(p, end);
        if (p >= end || *p != ':')
            return -1;
        p = ws(p + 1, end);
        if (p >= end || *p != '"' || !str(js, p, end, &s, &n))
            return -1;
        if (n == 0)
            return conv->default_type;
        for (int t = 0; t < OP_EVENT_TYPES; t++) {
            const char *tn = op_event_type_name((enum op_event_type)t);
            if (strlen(tn) == n && memcmp(tn, s, n) == 0)
                return t;
        }
        return -1;
    }
    /* Not first: the default type, if any; a "type" further on leaves the record to the
     * generic path (members() refuses it). */
    return -2;
}

/* A NUL-terminated copy of a string value for struct op_event (offset into js->strs). */
static int keep_str(struct producer_jscan *js, const struct js_val *v, size_t *off)
{
    *off = js->strs.len;
    return op_buf_append(&js->strs, v->s, v->n) || op_buf_append(&js->strs, "", 1);
}

int producer_jscan_convert(struct producer_jscan *js, const struct producer_conv *conv,
                           const char *text, size_t len, int64_t now_ms, struct producer_rec *out)
{
    const char *end = text + len;
    /* Decoded strings are never longer than the text: reserved once, they stay put. */
    js->utf8_valid = conv->text_utf8_valid;
    js->unesc.len = 0;
    if (op_buf_reserve(&js->unesc, len + 1) != 0)
        return 0;
    int t = find_type(js, conv, text, end);
    js->type_first = t >= 0;
    if (t == -2)
        t = conv->default_type;
    if (t < 0 || !js->type[t].root)
        return 0;
    const struct js_type *ty = &js->type[t];
    const struct js_node *root = ty->root;
    const struct op_schema *s = conv->reader[t];
    js->end = end;
    js->n_vals = 0;
    struct js_val top;
    memset(&top, 0, sizeof top);
    const char *p = ws(text, end);
    if (p >= end || *p != '{')
        return 0;
    top.first = &js->vals[0];
    memset(js->vals, 0, root->nf * sizeof js->vals[0]);
    js->n_vals = root->nf;
    if (!(p = members(js, root, p + 1, js->vals, 1, 0)))
        return 0;
    if (ws(p, end) != end)
        return 0;
    struct js_val *fv = js->vals;
    struct js_val *idv = &fv[ty->ev[EV_ID]];
    int derive = idv->s == NULL;
    if (derive) {
        /* The canonical content does not include event_id: derive first, as record.c does. */
        struct op_buf *c = &js->canon;
        c->len = 0;
        if (put(c, PRODUCER_ID_DOMAIN "\n", sizeof PRODUCER_ID_DOMAIN) ||
            put(c, s->type, strlen(s->type)) || put(c, "\n", 1) || canon(c, root, &top, 1) != 0)
            return 0;
        unsigned char d[OP_SHA256_SIZE];
        op_sha256(c->data, c->len, d);
        memcpy(out->id, PRODUCER_ID_PREFIX, sizeof PRODUCER_ID_PREFIX - 1);
        op_sha256_hex(d, PRODUCER_ID_HEX / 2, out->id + sizeof PRODUCER_ID_PREFIX - 1);
        idv->s = out->id;
        idv->n = strlen(out->id);
    }
    /* The event, as op_event_from_value reads the value. */
    struct op_event *ev = &out->ev;
    memset(ev, 0, sizeof *ev);
    ev->type = (enum op_event_type)t;
    js->strs.len = 0;
    size_t o_id, o_agency, o_region, o_campaign = 0;
    const struct js_val *camp = &fv[ty->ev[EV_CAMPAIGN]];
    const struct js_node *camp_nd = root->f[ty->ev[EV_CAMPAIGN]].node;
    if (camp_nd->kind == JS_UNION)
        camp = camp->first;
    else if (camp_nd->kind != JS_STRING)
        return 0;
    /* The note, as op_event_validate checks it: NULL when null. */
    size_t o_note = 0;
    const struct js_val *note = ty->note >= 0 ? &fv[ty->note] : NULL;
    if (note && root->f[ty->note].node->kind == JS_UNION)
        note = note->first;
    if (note && !note->s)
        note = NULL;
    /* Corrections, as op_event_from_value reads them (correction_reason NULL when null). */
    const struct js_val *why = ty->reason >= 0 ? fv[ty->reason].first : NULL;
    size_t o_why = 0;
    if (ty->correction >= 0) {
        ev->correction = (int32_t)fv[ty->correction].i;
        ev->retracted = fv[ty->retracted].i != 0;
    }
    /* A correction names the event it corrects: the generic path says so. */
    if (derive && ev->correction > 0)
        return 0;
    if (keep_str(js, &fv[ty->ev[EV_ID]], &o_id) || (why && keep_str(js, why, &o_why)) ||
        keep_str(js, &fv[ty->ev[EV_AGENCY]], &o_agency) ||
        keep_str(js, &fv[ty->ev[EV_REGION]], &o_region) ||
        (camp && keep_str(js, camp, &o_campaign)) || (note && keep_str(js, note, &o_note)))
        return 0;
    const char *base = (const char *)js->strs.data;
    ev->event_id = base + o_id;
    ev->agency_id = base + o_agency;
    ev->region_text = base + o_region;
    ev->campaign = camp ? base + o_campaign : NULL;
    ev->note = note ? base + o_note : NULL;
    ev->correction_reason = why ? base + o_why : NULL;
    ev->occurred_at = fv[ty->ev[EV_OCCURRED]].i;
    ev->reported_at = fv[ty->ev[EV_REPORTED]].i;
    if (op_regions_parse_code(ev->region_text, &ev->region) != 0)
        ev->region = 0;
/* Kinds were checked when the tables were built (ev_kinds). */
#define INT_OF(e) (fv[ty->ev[e]].i)
    switch (ev->type) {
    case OP_EVENT_VISIT: {
        const struct js_val *g = &fv[ty->ev[EV_GROUPS]];
        if (root->f[ty->ev[EV_GROUPS]].node->kind != JS_ARRAY ||
            root->f[ty->ev[EV_GROUPS]].node->inner->kind != JS_ENUM || g->n > OP_EVENT_MAX_GROUPS)
            return 0;
        for (const struct js_val *i = g->first; i; i = i->next)
            ev->groups[ev->n_groups++] = (int)i->i;
        ev->activity = (int)INT_OF(EV_ACTIVITY);
        ev->workers_reached = (int32_t)INT_OF(EV_WORKERS);
        ev->households = (int32_t)INT_OF(EV_HOUSEHOLDS);
        ev->staff = (int32_t)INT_OF(EV_STAFF);
        break;
    }
    case OP_EVENT_FUNDING:
        if (root->f[ty->ev[EV_AMOUNT]].node->kind != JS_LONG)
            return 0;
        ev->amount_fen = fv[ty->ev[EV_AMOUNT]].i;
        ev->source = (int)INT_OF(EV_SOURCE);
        ev->purpose = (int)INT_OF(EV_PURPOSE);
        ev->recipients = (int32_t)INT_OF(EV_RECIPIENTS);
        ev->target_group = (int)INT_OF(EV_TARGET);
        break;
    case OP_EVENT_SURVEY: {
        ev->method = (int)INT_OF(EV_METHOD);
        ev->topic = (int)INT_OF(EV_TOPIC);
        ev->enterprises = (int32_t)INT_OF(EV_ENTERPRISES);
        ev->respondents = (int32_t)INT_OF(EV_RESPONDENTS);
        const struct js_node *sn = root->f[ty->ev[EV_SATISFACTION]].node;
        const struct js_val *sv = &fv[ty->ev[EV_SATISFACTION]];
        if (sn->kind != JS_RECORD)
            return 0;
        static const char *const s_names[5] = {"s1", "s2", "s3", "s4", "s5"};
        for (int i = 0; i < 5; i++) {
            size_t k = 0;
            while (k < sn->nf && strcmp(sn->f[k].name, s_names[i]) != 0)
                k++;
            if (k == sn->nf || sn->f[k].node->kind != JS_INT)
                return 0;
            ev->satisfaction[i] = (int32_t)sv->first[k].i;
        }
        const struct js_node *nn = root->f[ty->ev[EV_NEEDS]].node;
        const struct js_val *nv = &fv[ty->ev[EV_NEEDS]];
        if (nn->kind != JS_ARRAY || nn->inner->kind != JS_RECORD || nv->n > OP_EVENT_MAX_NEEDS)
            return 0;
        const struct js_node *item = nn->inner;
        int k_need = -1, k_count = -1;
        for (size_t k = 0; k < item->nf; k++) {
            if (strcmp(item->f[k].name, "need") == 0 && item->f[k].node->kind == JS_ENUM)
                k_need = (int)k;
            if (strcmp(item->f[k].name, "count") == 0 && item->f[k].node->kind == JS_INT)
                k_count = (int)k;
        }
        if (k_need < 0 || k_count < 0)
            return 0;
        for (const struct js_val *i = nv->first; i; i = i->next, ev->n_needs++) {
            ev->needs[ev->n_needs].kind = (int)i->first[k_need].i;
            ev->needs[ev->n_needs].count = (int32_t)i->first[k_count].i;
        }
        break;
    }
    }
#undef INT_OF
    struct op_event_rules rules = {conv->regions, conv->authz, now_ms, conv->max_future_ms};
    char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX];
    if (op_event_validate(ev, &rules, field, sizeof field, reason, sizeof reason) !=
            OP_EVENT_VALID ||
        op_kafka_province_key(ev->region_text, out->key) != 0)
        return 0;
    /* The message: the header of wire.format (frame.h), then the body. */
    struct op_buf *m = &js->msg;
    m->len = 0;
    if (op_buf_reserve(m, len + OP_FRAME_HEADER_MAX) != 0 ||
        !(m->len = op_frame_header(conv->frame, s, m->data)))
        return 0;
    if (encode(m, root, &top) != 0)
        return 0;
    out->type = (enum op_event_type)t;
    out->schema = s;
    out->value = NULL;
    out->derived = derive;
    if (!derive)
        out->id[0] = 0;
    out->msg = m->data;
    out->msg_len = m->len;
    return 1;
}
