/* gmtime_r + strftime for the date and time, the milliseconds by hand (strftime has none). */
#include "timefmt.h"

#include <stdio.h>
#include <time.h>

int op_timefmt_iso8601_ms(int64_t ms, char *out, size_t size)
{
    int64_t sec = ms / 1000, rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    char date[24];
    int rc = 0;
    if (!gmtime_r(&t, &tm) || strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(date, sizeof date, "1970-01-01T00:00:00");
        rem = 0;
        rc = -1;
    }
    int n = snprintf(out, size, "%s.%03dZ", date, (int)rem);
    return n < 0 || (size_t)n >= size ? -1 : rc;
}
