/* A growable byte buffer: the one place where encoded messages and payloads are assembled.
 * Owned by its user; `op_buf_free` releases the storage and leaves an empty buffer. */
#ifndef OP_BUF_H
#define OP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct op_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
};

#define OP_BUF_INIT                                                                                \
    {                                                                                              \
        0, 0, 0                                                                                    \
    }

/* Makes room for `extra` more bytes past len. Returns 0, or -1 on allocation failure
 * (the buffer is unchanged). */
int op_buf_reserve(struct op_buf *b, size_t extra);

/* Appends `n` bytes. Returns 0 or -1 (allocation failure). */
int op_buf_append(struct op_buf *b, const void *data, size_t n);

/* Appends printf-formatted text (without its NUL). Returns 0 or -1 (allocation failure or a
 * formatting error; the buffer keeps what it had). */
int op_buf_printf(struct op_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends v as an Avro long: zigzag, then base-128 varint (at most 10 bytes). 0 or -1. */
int op_buf_put_varint(struct op_buf *b, int64_t v);

/* Reads an Avro long at *p (before end), advancing *p. 0, or -1 when cut off or too long. */
int op_varint_get(const unsigned char **p, const unsigned char *end, int64_t *v);

void op_buf_free(struct op_buf *b);

#endif
