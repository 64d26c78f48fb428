/* Yuan text of fen amounts: the reporter's payloads, the audit listing and the sink's pages. */
#include "money.h"

#include <inttypes.h>
#include <stdio.h>

int op_money_yuan(int64_t fen, int plus, char *out, size_t size)
{
    /* The magnitude in unsigned arithmetic, so INT64_MIN has one too. */
    uint64_t mag = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    const char *sign = fen < 0 ? "-" : plus && fen > 0 ? "+" : "";
    int n = snprintf(out, size, "%s%" PRIu64 ".%02u", sign, mag / 100, (unsigned)(mag % 100));
    if (n < 0 || (size_t)n >= size)
        return -1;
    return n;
}
