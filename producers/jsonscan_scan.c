/* The fast JSON Lines path's tokenizer: whitespace, strings (escapes, UTF-8), integers and
 * objects scanned straight into the value tree typed by the reader schema; anything it does
 * not handle returns NULL and the record goes to the generic path. */
#include "jsonscan_internal.h"

#include <stdlib.h>
#include <string.h>

#include "input.h"

/* ---- scanning --------------------------------------------------------------------------- */

/* Bytes that end the fast scan of a string: quote, backslash, controls, non-ASCII (a control
 * or non-ASCII byte c has (unsigned char)(c - 0x20) >= 0x60). */
static inline int js_special(unsigned char c)
{
    return (unsigned char)(c - 0x20) >= 0x60 || c == '"' || c == '\\';
}

const char *producer_js_ws(const char *p, const char *end)
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
const char *producer_js_str(struct producer_jscan *js, const char *p, const char *end,
                            const char **s, size_t *n)
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
const char *producer_js_members(struct producer_jscan *js, const struct js_node *nd, const char *p,
                                struct js_val *fv, int top, int depth)
{
    const char *end = js->end;
    uint32_t seen = 0;
    size_t next = 0;
    int seen_type = 0;
    p = producer_js_ws(p, end);
    if (p < end && *p == '}')
        p++;
    else
        for (;;) {
            const char *k;
            size_t kn;
            if (p >= end || *p != '"' || !(p = producer_js_str(js, p, end, &k, &kn)))
                return NULL;
            p = producer_js_ws(p, end);
            if (p >= end || *p != ':')
                return NULL;
            p = producer_js_ws(p + 1, end);
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
                if (!(p = producer_js_str(js, p, end, &ts, &tn)))
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
            p = producer_js_ws(p, end);
            if (p < end && *p == ',') {
                p = producer_js_ws(p + 1, end);
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
        return *p == '"' ? producer_js_str(js, p, end, &v->s, &v->n) : NULL;
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
        if (!(p = producer_js_str(js, p, end, &s, &n)) || producer_ts_parse(s, n, &v->i, &why) != 0)
            return NULL;
        return p;
    }
    case JS_ENUM: {
        const char *s;
        size_t n;
        if (*p != '"' || !(p = producer_js_str(js, p, end, &s, &n)))
            return NULL;
        v->i = producer_js_sym_index(nd, s, n);
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
        p = producer_js_ws(p + 1, end);
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
            p = producer_js_ws(p, end);
            if (p < end && *p == ',') {
                p = producer_js_ws(p + 1, end);
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
        return producer_js_members(js, nd, p + 1, fv, 0, depth);
    }
    }
    return NULL;
}
