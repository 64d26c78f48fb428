/* Timestamps as text: RFC 3339 / ISO 8601 in UTC with milliseconds, the one form the log
 * lines, the reporter's batches and the dlq tool write. */
#ifndef OP_TIMEFMT_H
#define OP_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Room for "2026-11-28T15:20:51.123Z" and the NUL, and for years of up to 11 digits. */
#define OP_TIMEFMT_ISO_MAX 32

/* Writes Unix milliseconds `ms` as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC; a negative ms counts
 * back from 1970, its milliseconds still 000..999). Returns 0, or -1 when the time has no
 * calendar form here (out then holds "1970-01-01T00:00:00.000Z") or when it did not fit in
 * size (out is cut, NUL-terminated). */
int op_timefmt_iso8601_ms(int64_t ms, char *out, size_t size);

#endif
