/* Event-time stamps as the contract writes them: RFC 3339 with an explicit UTC offset, parsed
 * to UTC milliseconds, and shown as Asia/Shanghai wall time (UTC+8, no DST since 1991). */
#ifndef OP_TIMESTAMP_H
#define OP_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

/* Asia/Shanghai's offset from UTC. */
#define OP_TS_SHANGHAI_OFFSET_MS (8 * 3600 * 1000LL)

/* Parses an RFC 3339 timestamp with an explicit offset: YYYY-MM-DD, 'T' (or 't' or a space),
 * hh:mm, optional :ss and .fraction (digits past the millisecond must be 0), then 'Z' or
 * ±hh:mm. Calendar-checked (2025-02-30 fails). On success *ms is UTC milliseconds since the
 * epoch. Returns 0, or -1 with *why set to a static reason. */
int op_ts_parse(const char *s, size_t len, int64_t *ms, const char **why);

/* ms since the epoch as Asia/Shanghai wall time "YYYY-MM-DD hh:mm:ss" into buf (size >= 20;
 * "-" when it does not fit or the time is out of range). */
void op_ts_format_shanghai(int64_t ms, char *buf, size_t size);

#endif
