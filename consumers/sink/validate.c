/* Checks of the rollups a batch carries before the sink stores any: the fields it relies on,
 * yuan strings equal to their fen, regions of the table at their level, windows of their kind. */
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "err.h"

int sink_parse_yuan(const char *s, int64_t *fen)
{
    int neg = 0;
    uint64_t whole = 0;
    const char *p = s;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole > (UINT64_MAX - 9) / 10)
            return -1;
        whole = whole * 10 + (uint64_t)(*p - '0');
    }
    if (p[0] != '.' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' || p[3] != 0)
        return -1;
    uint64_t frac = (uint64_t)(p[1] - '0') * 10 + (uint64_t)(p[2] - '0');
    if (whole > (UINT64_MAX - frac) / 100)
        return -1;
    uint64_t mag = whole * 100 + frac;
    if (neg && mag == 0)
        return -1; /* "-0.00" is not what a formatter writes */
    if (mag > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return -1;
    /* Two's complement negation in unsigned arithmetic, so INT64_MIN works too. */
    *fen = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

static int want_str(json_t *r, const char *name, const char **out, char *errstr, size_t errstr_size)
{
    json_t *j = json_object_get(r, name);
    if (!json_is_string(j)) {
        op_set_err(errstr, errstr_size, "%s: %s", name, j ? "not a string" : "missing");
        return -1;
    }
    *out = json_string_value(j);
    return 0;
}

static int want_int(json_t *r, const char *name, int64_t min, int64_t *out, char *errstr,
                    size_t errstr_size)
{
    json_t *j = json_object_get(r, name);
    if (!json_is_integer(j)) {
        op_set_err(errstr, errstr_size, "%s: %s", name, j ? "not an integer" : "missing");
        return -1;
    }
    *out = json_integer_value(j);
    if (*out < min) {
        op_set_err(errstr, errstr_size, "%s: %" PRId64 " is below %" PRId64, name, *out, min);
        return -1;
    }
    return 0;
}

static int one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(v, *set) == 0)
            return 1;
    return 0;
}

/* A fen map and its yuan twin: same keys, integers, and equal amounts. */
static int check_money_map(json_t *r, const char *fen_name, const char *yuan_name, char *errstr,
                           size_t errstr_size)
{
    json_t *fen = json_object_get(r, fen_name), *yuan = json_object_get(r, yuan_name);
    if (!json_is_object(fen) || !json_is_object(yuan)) {
        op_set_err(errstr, errstr_size, "%s: %s", json_is_object(fen) ? yuan_name : fen_name,
                   "missing or not an object");
        return -1;
    }
    if (json_object_size(fen) != json_object_size(yuan)) {
        op_set_err(errstr, errstr_size, "%s: not the keys of %s", yuan_name, fen_name);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(fen, k, v)
    {
        json_t *y = json_object_get(yuan, k);
        int64_t parsed;
        if (!json_is_integer(v)) {
            op_set_err(errstr, errstr_size, "%s.%s: not an integer", fen_name, k);
            return -1;
        }
        if (!json_is_string(y) || sink_parse_yuan(json_string_value(y), &parsed) != 0 ||
            parsed != json_integer_value(v)) {
            op_set_err(errstr, errstr_size, "%s.%s: does not equal %s.%s", yuan_name, k, fen_name,
                       k);
            return -1;
        }
    }
    return 0;
}

/* The window's form for its kind: 0, or -1 with the expected form in errstr. */
static int check_window(const char *kind, const char *w, char *errstr, size_t errstr_size)
{
    int y, m, d;
    size_t n = strlen(w);
    if (strcmp(kind, "DAY") == 0 || strcmp(kind, "MONTH") == 0) {
        int day = kind[0] == 'D';
        int ok = n == (day ? 10u : 7u) && op_calendar_digits(w, 4, &y) == 0 && w[4] == '-' &&
                 op_calendar_digits(w + 5, 2, &m) == 0 && y >= 2000 && m >= 1 && m <= 12;
        if (ok && day)
            ok = w[7] == '-' && op_calendar_digits(w + 8, 2, &d) == 0 && d >= 1 &&
                 d <= op_days_in_month(y, m);
        if (!ok) {
            op_set_err(errstr, errstr_size, "window: \"%.40s\" is not a %s (%s)", w,
                       day ? "date" : "month", day ? "YYYY-MM-DD" : "YYYY-MM");
            return -1;
        }
        return 0;
    }
    if (strcmp(kind, "ALL") == 0) {
        if (strcmp(w, "all") != 0) {
            op_set_err(errstr, errstr_size, "window: \"%.40s\" is not \"all\" (kind ALL)", w);
            return -1;
        }
        return 0;
    }
    if (n > 128) {
        op_set_err(errstr, errstr_size, "window: a campaign name of %zu bytes, at most 128", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)w[i] < 0x20 || w[i] == 0x7f) {
            op_set_err(errstr, errstr_size, "window: the campaign name has a control character");
            return -1;
        }
    return 0;
}

int sink_validate_rollup(json_t *r, const struct op_regions *regions, char *key, int64_t *rev,
                         char *errstr, size_t errstr_size)
{
    static const char *const kinds[] = {"DAY", "MONTH", "CAMPAIGN", "ALL", NULL};
    static const char *const levels[] = {"PROVINCE", "PREFECTURE", "COUNTY", NULL};
    const char *region, *kind, *window, *level, *yuan;
    int64_t v;
    if (!json_is_object(r)) {
        op_set_err(errstr, errstr_size, "not an object");
        return -1;
    }
    if (want_str(r, "region", &region, errstr, errstr_size) ||
        want_str(r, "window_kind", &kind, errstr, errstr_size) ||
        want_str(r, "window", &window, errstr, errstr_size) ||
        want_str(r, "level", &level, errstr, errstr_size))
        return -1;
    if (strlen(region) != 6 || strspn(region, "0123456789") != 6) {
        op_set_err(errstr, errstr_size, "region: not six digits");
        return -1;
    }
    if (!one_of(kind, kinds)) {
        op_set_err(errstr, errstr_size, "window_kind: not DAY, MONTH, CAMPAIGN or ALL");
        return -1;
    }
    if (!one_of(level, levels)) {
        op_set_err(errstr, errstr_size, "level: not PROVINCE, PREFECTURE or COUNTY");
        return -1;
    }
    if (window[0] == 0) {
        op_set_err(errstr, errstr_size, "window: empty");
        return -1;
    }
    if (regions) {
        uint32_t code;
        const struct op_region *reg =
            op_regions_parse_code(region, &code) == 0 ? op_regions_find(regions, code) : NULL;
        if (!reg) {
            op_set_err(errstr, errstr_size, "region: %s is not in the region table", region);
            return -1;
        }
        if (strcasecmp(level, op_region_level_name(reg->level)) != 0) {
            op_set_err(errstr, errstr_size, "level: %s is a %s, not %s", region,
                       op_region_level_name(reg->level), level);
            return -1;
        }
        if (check_window(kind, window, errstr, errstr_size) != 0)
            return -1;
    }
    int kl = snprintf(key, SINK_KEY_MAX, "%s|%s|%s", kind, window, region);
    if (kl < 0 || kl >= SINK_KEY_MAX) {
        op_set_err(errstr, errstr_size, "window: too long");
        return -1;
    }
    json_t *given = json_object_get(r, "key");
    if (given && (!json_is_string(given) || strcmp(json_string_value(given), key) != 0)) {
        op_set_err(errstr, errstr_size, "key: not window_kind|window|region");
        return -1;
    }
    json_t *name = json_object_get(r, "region_name");
    if (name && !json_is_string(name) && !json_is_null(name)) {
        op_set_err(errstr, errstr_size, "region_name: not a string or null");
        return -1;
    }
    if (want_int(r, "revision", 1, rev, errstr, errstr_size) ||
        want_int(r, "event_count", 0, &v, errstr, errstr_size) ||
        want_int(r, "funding_fen", INT64_MIN, &v, errstr, errstr_size) ||
        want_str(r, "funding_yuan", &yuan, errstr, errstr_size))
        return -1;
    int64_t parsed;
    if (sink_parse_yuan(yuan, &parsed) != 0 || parsed != v) {
        op_set_err(errstr, errstr_size,
                   "funding_yuan: \"%.40s\" does not equal funding_fen %" PRId64, yuan, v);
        return -1;
    }
    if (check_money_map(r, "funding_by_source_fen", "funding_by_source_yuan", errstr,
                        errstr_size) ||
        check_money_map(r, "funding_by_purpose_fen", "funding_by_purpose_yuan", errstr,
                        errstr_size))
        return -1;
    json_t *corrections = json_object_get(r, "corrections"); /* rollup.v2; absent before */
    if (corrections && (!json_is_integer(corrections) || json_integer_value(corrections) < 0)) {
        op_set_err(errstr, errstr_size, "corrections: not an integer >= 0");
        return -1;
    }
    json_t *mean = json_object_get(r, "satisfaction_mean");
    if (!mean || (!json_is_null(mean) && !json_is_string(mean))) {
        op_set_err(errstr, errstr_size, "satisfaction_mean: %s",
                   mean ? "not a string or null" : "missing");
        return -1;
    }
    return 0;
}
