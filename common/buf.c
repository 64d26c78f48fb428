/* Growable byte buffer: doubling growth, overflow-checked. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int op_buf_reserve(struct op_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return -1;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    unsigned char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int op_buf_append(struct op_buf *b, const void *data, size_t n)
{
    if (op_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    return 0;
}

int op_buf_put_varint(struct op_buf *b, int64_t v)
{
    if (b->cap - b->len < 10 && op_buf_reserve(b, 10) != 0)
        return -1;
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); /* zigzag, as Avro's long */
    unsigned char *o = b->data + b->len;
    while (z > 0x7f) {
        *o++ = (unsigned char)(z | 0x80);
        z >>= 7;
    }
    *o++ = (unsigned char)z;
    b->len = (size_t)(o - b->data);
    return 0;
}

int op_varint_get(const unsigned char **p, const unsigned char *end, int64_t *v)
{
    uint64_t z = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end)
            return -1;
        unsigned char c = *(*p)++;
        z |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            return 0;
        }
    }
    return -1;
}

void op_buf_free(struct op_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int op_buf_printf(struct op_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    /* One byte more for vsnprintf's NUL, which len does not count. */
    if (n < 0 || op_buf_reserve(b, (size_t)n + 1) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}
