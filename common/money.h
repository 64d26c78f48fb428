/* Money is exact int64 fen everywhere; shown as yuan with exactly two decimals, computed by
 * integer division (never through a double). */
#ifndef OP_MONEY_H
#define OP_MONEY_H

#include <stddef.h>
#include <stdint.h>

/* Longest text op_money_yuan writes, NUL included ("-92233720368547758.08"). */
#define OP_MONEY_YUAN_MAX 24

/* fen as yuan: "12345.67", "0.05", "-0.01"; with plus, positive amounts get a '+' (for
 * differences). Returns the length, or -1 when out is too small (out then holds a prefix). */
int op_money_yuan(int64_t fen, int plus, char *out, size_t size);

#endif
