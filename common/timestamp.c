/* RFC 3339 timestamps: the parser the producer's inputs and the tools' --since share, and the
 * Asia/Shanghai wall-time rendering of listings. */
#include "timestamp.h"

#include "calendar.h"

#include <stdio.h>
#include <time.h>

/* n digits at s[*i] into *out; advances *i. */
static int digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++, (*i)++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9')
            return -1;
        v = v * 10 + (s[*i] - '0');
    }
    *out = v;
    return 0;
}

int op_ts_parse(const char *s, size_t len, int64_t *ms, const char **why)
{
    static const char syntax[] = "expected YYYY-MM-DDThh:mm:ss[.sss] and Z or ±hh:mm";
    size_t i = 0;
    int Y, M, D, h, m, sec = 0, frac = 0;
    if (digits(s, len, &i, 4, &Y) || i >= len || s[i++] != '-' || digits(s, len, &i, 2, &M) ||
        i >= len || s[i++] != '-' || digits(s, len, &i, 2, &D) || i >= len ||
        (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) {
        *why = syntax;
        return -1;
    }
    i++;
    if (digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' || digits(s, len, &i, 2, &m)) {
        *why = syntax;
        return -1;
    }
    if (i < len && s[i] == ':') {
        i++;
        if (digits(s, len, &i, 2, &sec)) {
            *why = syntax;
            return -1;
        }
        if (i < len && s[i] == '.') {
            i++;
            int nd = 0;
            for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
                if (nd < 3)
                    frac = frac * 10 + (s[i] - '0');
                else if (s[i] != '0') {
                    *why = "more precise than a millisecond";
                    return -1;
                }
            }
            if (nd == 0 || nd > 9) {
                *why = syntax;
                return -1;
            }
            for (; nd < 3; nd++)
                frac *= 10;
        }
    }
    int off_min = 0;
    if (i >= len) {
        *why = "no UTC offset (add Z or an offset such as +08:00)";
        return -1;
    }
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i++] == '-' ? -1 : 1, oh, om;
        if (digits(s, len, &i, 2, &oh) || i >= len || s[i++] != ':' || digits(s, len, &i, 2, &om)) {
            *why = syntax;
            return -1;
        }
        if (oh > 23 || om > 59) {
            *why = "UTC offset out of range";
            return -1;
        }
        off_min = sign * (oh * 60 + om);
    } else {
        *why = syntax;
        return -1;
    }
    if (i != len) {
        *why = syntax;
        return -1;
    }
    if (M < 1 || M > 12) {
        *why = "month out of range";
        return -1;
    }
    if (D < 1 || D > op_days_in_month(Y, M)) {
        *why = "day out of range";
        return -1;
    }
    if (h > 23) {
        *why = "hour out of range";
        return -1;
    }
    if (m > 59) {
        *why = "minute out of range";
        return -1;
    }
    if (sec > 59) {
        *why = "second out of range";
        return -1;
    }
    int64_t days = op_days_from_civil(Y, M, D);
    *ms = ((days * 86400 + h * 3600 + m * 60 + sec) - (int64_t)off_min * 60) * 1000 + frac;
    return 0;
}

void op_ts_format_shanghai(int64_t ms, char *buf, size_t size)
{
    struct tm tm;
    int64_t local = ms + OP_TS_SHANGHAI_OFFSET_MS;
    /* floor division: times before the epoch stay on the right second */
    time_t secs = (time_t)(local / 1000 - (local % 1000 < 0));
    if (size < 20 || !gmtime_r(&secs, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0 ||
        strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
        if (size > 1)
            snprintf(buf, size, "-");
        return;
    }
}
