/* The aggregator's model: event-time windows in Asia/Shanghai (calendar days and months,
 * configured campaigns), the enum symbols of the schemas, the window-name table, and the
 * identity of a rollup (kind, window, region). */
#include "calendar.h"
#include "err.h"
#include "state.h"
#include "state_internal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHANGHAI_OFFSET_MS INT64_C(28800000) /* UTC+8, no daylight saving since 1991 */
#define DAY_MS INT64_C(86400000)

/* ---- calendar --------------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Writes "YYYY-MM-DD" (10 chars + NUL); years outside 0..9999 wrap, which validation
 * (2000 .. now) excludes anyway. */
static void format_day(int64_t ms, char out[11])
{
    int64_t y;
    int m, d;
    op_civil_from_days(floor_div(ms + SHANGHAI_OFFSET_MS, DAY_MS), &y, &m, &d);
    unsigned uy = (unsigned)((y % 10000 + 10000) % 10000);
    unsigned parts[3] = {uy, (unsigned)m, (unsigned)d};
    int width[3] = {4, 2, 2};
    size_t k = 0;
    for (int p = 0; p < 3; p++) {
        for (int i = width[p] - 1; i >= 0; i--) {
            unsigned div = 1;
            for (int j = 0; j < i; j++)
                div *= 10;
            out[k++] = (char)('0' + parts[p] / div % 10);
        }
        out[k++] = p < 2 ? '-' : 0;
    }
}

void agg_day_of(int64_t ms, char day[11])
{
    format_day(ms, day);
}

void agg_month_of(int64_t ms, char month[8])
{
    char day[11];
    format_day(ms, day);
    memcpy(month, day, 7);
    month[7] = 0;
}

/* "YYYY-MM-DD" -> ms of that day's 00:00 in Asia/Shanghai. */
static int parse_day(const char *s, size_t n, int64_t *ms)
{
    int y, m, d;
    char buf[11], tail;
    if (n != 10)
        return -1;
    memcpy(buf, s, 10);
    buf[10] = 0;
    if (sscanf(buf, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    int64_t days = op_days_from_civil(y, m, d);
    int64_t yy;
    int mm, dd;
    op_civil_from_days(days, &yy, &mm, &dd);
    if (yy != y || mm != m || dd != d) /* e.g. 2025-02-30 */
        return -1;
    *ms = days * DAY_MS - SHANGHAI_OFFSET_MS;
    return 0;
}

int agg_campaigns_parse(const char *text, struct agg_campaign **out, size_t *n, char *errstr,
                        size_t errstr_size)
{
    struct agg_campaign *c = NULL;
    size_t count = 0;
    const char *p = text ? text : "";
    while (*p) {
        size_t len = strcspn(p, ";");
        const char *c1 = memchr(p, ':', len);
        const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p)) : NULL;
        int64_t start, end;
        if (!c1 || !c2 || c1 == p || parse_day(c1 + 1, (size_t)(c2 - c1 - 1), &start) != 0 ||
            parse_day(c2 + 1, len - (size_t)(c2 + 1 - p), &end) != 0 || end < start) {
            op_set_err(errstr, errstr_size,
                       "campaign \"%.*s\": want NAME:YYYY-MM-DD:YYYY-MM-DD with start <= end",
                       (int)len, p);
            goto fail;
        }
        struct agg_campaign *nc = realloc(c, (count + 1) * sizeof *nc);
        if (!nc)
            goto oom;
        c = nc;
        c[count].name = strndup(p, (size_t)(c1 - p));
        if (!c[count].name)
            goto oom;
        if (strchr(c[count].name, '|')) {
            count++;
            op_set_err(errstr, errstr_size, "campaign name \"%s\" must not contain '|'",
                       c[count - 1].name);
            goto fail;
        }
        c[count].start_ms = start;
        c[count].end_ms = end + DAY_MS;
        count++;
        p += len;
        if (*p == ';')
            p++;
    }
    *out = c;
    *n = count;
    return 0;
oom:
    op_set_err(errstr, errstr_size, "out of memory");
fail:
    for (size_t i = 0; i < count; i++)
        free(c[i].name);
    free(c);
    return -1;
}

/* ---- model ------------------------------------------------------------------------------ */

static int enum_symbols(const struct op_schema *s, const char *field, const char **out, int *n,
                        char *errstr, size_t errstr_size)
{
    avro_schema_t f = avro_schema_record_field_get(s->schema, field);
    if (f && is_avro_array(f))
        f = avro_schema_array_items(f);
    if (f && is_avro_record(f)) /* needs: record Need { need: NeedKind, count } */
        f = avro_schema_record_field_get(f, "need");
    if (!f || !is_avro_enum(f)) {
        op_set_err(errstr, errstr_size, "%s: no enum field %s", s->name, field);
        return -1;
    }
    int k = avro_schema_enum_number_of_symbols(f);
    if (k > AGG_DIM) {
        op_set_err(errstr, errstr_size, "%s.%s: %d symbols, at most %d", s->name, field, k,
                   AGG_DIM);
        return -1;
    }
    for (int i = 0; i < k; i++)
        out[i] = avro_schema_enum_get(f, i);
    *n = k;
    return 0;
}

static int symbol_index(const struct op_schema *s, const char *field, const char *sym)
{
    avro_schema_t f = avro_schema_record_field_get(s->schema, field);
    return f && is_avro_enum(f) ? avro_schema_enum_get_by_name(f, sym) : -1;
}

static int rollup_layout_known(avro_schema_t s)
{
    size_t n = 0;
    while (op_rollup_fields[n])
        n++;
    if (avro_schema_record_size(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(s, (int)i);
        if (!name || strcmp(name, op_rollup_fields[i]) != 0)
            return 0;
    }
    avro_schema_t sat = avro_schema_record_field_get(s, "satisfaction");
    return sat && is_avro_record(sat) && avro_schema_record_size(sat) == 5;
}

int agg_model_init(struct agg_model *m, const struct op_codec *codec,
                   const struct op_regions *regions, const char *campaigns, char *errstr,
                   size_t errstr_size)
{
    memset(m, 0, sizeof *m);
    m->regions = regions;
    m->rollup = op_codec_reader(codec, "rollup");
    for (int t = 0; t < OP_EVENT_TYPES; t++)
        m->readers[t] = op_codec_reader(codec, op_event_type_name((enum op_event_type)t));
    if (!m->rollup || !m->readers[0] || !m->readers[1] || !m->readers[2]) {
        op_set_err(errstr, errstr_size, "the codec lacks the rollup or an event schema");
        return -1;
    }
    if (enum_symbols(m->readers[OP_EVENT_VISIT], "activity", m->symbols[AGG_ACTIVITY],
                     &m->n_symbols[AGG_ACTIVITY], errstr, errstr_size) ||
        enum_symbols(m->readers[OP_EVENT_VISIT], "target_groups", m->symbols[AGG_GROUP],
                     &m->n_symbols[AGG_GROUP], errstr, errstr_size) ||
        enum_symbols(m->readers[OP_EVENT_FUNDING], "source", m->symbols[AGG_SOURCE],
                     &m->n_symbols[AGG_SOURCE], errstr, errstr_size) ||
        enum_symbols(m->readers[OP_EVENT_FUNDING], "purpose", m->symbols[AGG_PURPOSE],
                     &m->n_symbols[AGG_PURPOSE], errstr, errstr_size) ||
        enum_symbols(m->readers[OP_EVENT_SURVEY], "needs", m->symbols[AGG_NEED],
                     &m->n_symbols[AGG_NEED], errstr, errstr_size))
        return -1;
    static const char *const kinds[AGG_KINDS] = {"DAY", "MONTH", "CAMPAIGN", "ALL"};
    for (int k = 0; k < AGG_KINDS; k++)
        if ((m->kind_index[k] = symbol_index(m->rollup, "window_kind", kinds[k])) < 0) {
            op_set_err(errstr, errstr_size, "rollup schema lacks window kind %s", kinds[k]);
            return -1;
        }
    static const char *const levels[4] = {NULL, "PROVINCE", "PREFECTURE", "COUNTY"};
    for (int l = 1; l < 4; l++)
        if ((m->level_index[l] = symbol_index(m->rollup, "level", levels[l])) < 0) {
            op_set_err(errstr, errstr_size, "rollup schema lacks level %s", levels[l]);
            return -1;
        }
    if (agg_campaigns_parse(campaigns, &m->campaigns, &m->n_campaigns, errstr, errstr_size) != 0)
        return -1;
    m->direct = rollup_layout_known(m->rollup->schema);
    m->rollup_corrections = avro_schema_record_field_get(m->rollup->schema, "corrections") != NULL;
    if (agg_model_set_windows(m, NULL, 0) != 0) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 0;
}

void agg_model_free(struct agg_model *m)
{
    for (size_t i = 0; i < m->n_campaigns; i++)
        free(m->campaigns[i].name);
    free(m->campaigns);
    m->campaigns = NULL;
    m->n_campaigns = 0;
    for (size_t i = 0; i < m->n_windows; i++)
        free(m->windows[i]);
    free(m->windows);
    m->windows = NULL;
    m->n_windows = 0;
}

int agg_model_intern(struct agg_model *m, const char *name, uint16_t *window, int *added)
{
    if (added)
        *added = 0;
    for (size_t i = 0; i < m->n_windows; i++)
        if (strcmp(m->windows[i], name) == 0) {
            *window = (uint16_t)i;
            return 0;
        }
    if (m->n_windows > UINT16_MAX)
        return -1;
    char **nw = realloc(m->windows, (m->n_windows + 1) * sizeof *nw);
    if (!nw)
        return -1;
    m->windows = nw;
    if (!(nw[m->n_windows] = strdup(name)))
        return -1;
    *window = (uint16_t)m->n_windows++;
    if (added)
        *added = 1;
    return 0;
}

int agg_model_set_windows(struct agg_model *m, char *const *names, size_t n)
{
    for (size_t i = 0; i < m->n_windows; i++)
        free(m->windows[i]);
    free(m->windows);
    m->windows = NULL;
    m->n_windows = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t w;
        if (agg_model_intern(m, names[i], &w, NULL) != 0)
            return -1;
    }
    for (size_t c = 0; c < m->n_campaigns; c++)
        if (agg_model_intern(m, m->campaigns[c].name, &m->campaigns[c].window, NULL) != 0)
            return -1;
    return 0;
}

/* ---- rollup identity and content -------------------------------------------------------- */

uint64_t agg_rollup_id(int kind, uint16_t window, uint32_t region)
{
    return (uint64_t)(unsigned)kind << 48 | (uint64_t)window << 32 | region;
}

int agg_rollup_kind(const struct agg_rollup *r)
{
    return (int)(r->id >> 48 & 0xff);
}

uint16_t agg_rollup_window(const struct agg_rollup *r)
{
    return (uint16_t)(r->id >> 32);
}

uint32_t agg_rollup_region(const struct agg_rollup *r)
{
    return (uint32_t)r->id;
}

/* Day windows are numbered by days since 1970-01-01, months by year * 12 + month - 1. */
uint16_t agg_day_number(int64_t ms)
{
    return (uint16_t)floor_div(ms + SHANGHAI_OFFSET_MS, DAY_MS);
}

uint16_t agg_month_number(int64_t ms)
{
    int64_t y;
    int mo, d;
    op_civil_from_days(floor_div(ms + SHANGHAI_OFFSET_MS, DAY_MS), &y, &mo, &d);
    return (uint16_t)(y * 12 + mo - 1);
}

/* The window's name into out (at least 11 bytes for day and month), or NULL. */
const char *agg_window_name(const struct agg_model *m, int kind, uint16_t w, char out[11])
{
    switch (kind) {
    case AGG_DAY:
        format_day(((int64_t)w * DAY_MS) - SHANGHAI_OFFSET_MS, out);
        return out;
    case AGG_MONTH:
        format_day(op_days_from_civil(w / 12, w % 12 + 1, 1) * DAY_MS - SHANGHAI_OFFSET_MS, out);
        out[7] = 0;
        return out;
    case AGG_CAMPAIGN:
        return w < m->n_windows ? m->windows[w] : NULL;
    case AGG_ALL:
        return "all";
    }
    return NULL;
}

const char *const agg_kind_names[AGG_KINDS] = {"DAY", "MONTH", "CAMPAIGN", "ALL"};

int agg_rollup_key(const struct agg_model *m, const struct agg_rollup *r, char *out,
                   size_t out_size)
{
    char buf[11];
    int kind = agg_rollup_kind(r);
    const char *w = kind < AGG_KINDS ? agg_window_name(m, kind, agg_rollup_window(r), buf) : NULL;
    if (!w)
        return -1;
    int len =
        snprintf(out, out_size, "%s|%s|%06" PRIu32, agg_kind_names[kind], w, agg_rollup_region(r));
    return len < 0 || (size_t)len >= out_size ? -1 : len;
}

/* Window number of a window name of the given kind; -1 when it does not parse. */
int agg_window_number(struct agg_model *m, int kind, const char *w, int *interned)
{
    int64_t ms;
    uint16_t n;
    char buf[11];
    switch (kind) {
    case AGG_DAY:
        return parse_day(w, strlen(w), &ms) == 0 ? agg_day_number(ms) : -1;
    case AGG_MONTH:
        if (strlen(w) != 7)
            return -1;
        memcpy(buf, w, 7);
        memcpy(buf + 7, "-01", 4);
        return parse_day(buf, 10, &ms) == 0 ? agg_month_number(ms) : -1;
    case AGG_CAMPAIGN:
        return agg_model_intern(m, w, &n, interned) == 0 ? n : -1;
    case AGG_ALL:
        return strcmp(w, "all") == 0 ? 0 : -1;
    }
    return -1;
}
