/* UTF-8 validation (RFC 3629) shared by the log, the producer's input checks and the codec:
 * one definition of "well-formed", so they cannot disagree about a byte. */
#ifndef OP_UTF8_H
#define OP_UTF8_H

#include <stddef.h>

/* Length (1 to 4) of the well-formed UTF-8 sequence that starts s[0..n): no overlong forms,
 * no surrogates (U+D800..U+DFFF), nothing above U+10FFFF; an ASCII byte (NUL included) is 1.
 * 0 when the bytes there are not one, or n is 0. */
size_t op_utf8_seq_len(const unsigned char *s, size_t n);

/* Offset of the first byte of s[0..len) that does not start a well-formed sequence, or
 * (size_t)-1 when all of it is UTF-8. Fast on ASCII (eight bytes at a time). */
size_t op_utf8_check(const char *s, size_t len);

#endif
