/* The fast JSON Lines path's writers: the Avro binary of a value tree (as avro-c writes it)
 * and its canonical JSON, the content of derived ids. */
#include "jsonscan_internal.h"

#include <string.h>

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
int producer_js_encode(struct op_buf *b, const struct js_node *nd, const struct js_val *v)
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
        return v->first ? producer_js_encode(b, nd->inner, v->first) : 0;
    case JS_ARRAY:
        if (v->n) {
            put_varint(&w, (int64_t)v->n);
            b->len = (size_t)(w - b->data);
            for (const struct js_val *it = v->first; it; it = it->next)
                if (producer_js_encode(b, nd->inner, it) != 0)
                    return -1;
            if (op_buf_reserve(b, 1) != 0)
                return -1;
        }
        b->data[b->len++] = 0;
        return 0;
    case JS_RECORD:
        for (size_t k = 0; k < nd->nf; k++)
            if (producer_js_encode(b, nd->f[k].node, &v->first[k]) != 0)
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

static int canon_items(struct op_buf *b, const struct js_node *nd, const struct js_val *v)
{
    struct {
        size_t off, len;
    } it[JS_MAX_ITEMS];
    size_t base = b->len, n = 0;
    for (const struct js_val *i = v->first; i; i = i->next, n++) {
        it[n].off = b->len;
        if (producer_js_canon(b, nd->inner, i, 0) != 0)
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

int producer_js_canon(struct op_buf *b, const struct js_node *nd, const struct js_val *v, int top)
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
        return v->first ? producer_js_canon(b, nd->inner, v->first, 0) : put(b, "null", 4);
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
                producer_js_canon(b, f->node, &v->first[k], 0))
                return -1;
            first = 0;
        }
        return put(b, "}", 1);
    }
    }
    return -1;
}
