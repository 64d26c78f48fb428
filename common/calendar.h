/* The proleptic Gregorian calendar as day numbers: every date <-> "days since 1970-01-01"
 * conversion and month length in the tree is this one (H. Hinnant's civil algorithms). */
#ifndef OP_CALENDAR_H
#define OP_CALENDAR_H

#include <stdint.h>

/* 1 when y (proleptic Gregorian, astronomical numbering: year 0 is 1 BC) is a leap year. */
int op_is_leap_year(int64_t y);

/* Days in month m (1..12) of year y: 28..31; 0 when m is out of range. */
int op_days_in_month(int64_t y, int m);

/* Days since 1970-01-01 (negative before) of y-m-d. m must be 1..12; d is not checked against
 * the month's length, so d = 0 or 2025-02-30 count on from the month's first day like any
 * other offset (callers that need a real date check op_days_in_month first). Exact for every y
 * whose result fits in int64_t with room for the era arithmetic (|y| < 2^50 is plenty). */
int64_t op_days_from_civil(int64_t y, int m, int d);

/* The date of day number `days` (since 1970-01-01, negative before): *m 1..12, *d 1..31. The
 * inverse of op_days_from_civil for every real date. */
void op_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* The n (1..9) decimal digits at s as a number, for the fixed-width fields of dates and times
 * ("2025-01-31T08"): 0, or -1 when one of them is not a digit (s is not read past it). */
int op_calendar_digits(const char *s, int n, int *out);

#endif
