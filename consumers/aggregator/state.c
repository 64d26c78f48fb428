/* Aggregator state: windows by event time in Asia/Shanghai, the region chain county →
 * prefecture → province, integer sums only, and conversion to and from rollup records. */
#include "err.h"
#include "frame.h"
#include "state.h"

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

/* Days since 1970-01-01 -> civil date (proleptic Gregorian). */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Writes "YYYY-MM-DD" (10 chars + NUL); years outside 0..9999 wrap, which validation
 * (2000 .. now) excludes anyway. */
static void format_day(int64_t ms, char out[11])
{
    int y, m, d;
    civil_from_days(floor_div(ms + SHANGHAI_OFFSET_MS, DAY_MS), &y, &m, &d);
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
    int64_t days = days_from_civil(y, m, d);
    int yy, mm, dd;
    civil_from_days(days, &yy, &mm, &dd);
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
static uint16_t day_number(int64_t ms)
{
    return (uint16_t)floor_div(ms + SHANGHAI_OFFSET_MS, DAY_MS);
}

static uint16_t month_number(int64_t ms)
{
    int y, mo, d;
    civil_from_days(floor_div(ms + SHANGHAI_OFFSET_MS, DAY_MS), &y, &mo, &d);
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
        format_day(days_from_civil(w / 12, w % 12 + 1, 1) * DAY_MS - SHANGHAI_OFFSET_MS, out);
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

int64_t agg_rollup_dim(const struct agg_rollup *r, int dim, int sym)
{
    uint8_t tag = (uint8_t)(dim << 5 | sym);
    for (uint16_t i = 0; i < r->n_dims; i++)
        if (r->dims[i].tag == tag)
            return r->dims[i].v;
    return 0;
}

static int dim_add(struct agg_rollup *r, int dim, int sym, int64_t v)
{
    uint8_t tag = (uint8_t)(dim << 5 | sym);
    for (uint16_t i = 0; i < r->n_dims; i++)
        if (r->dims[i].tag == tag) {
            r->dims[i].v += v;
            if (r->dims[i].v == 0) /* a correction took it back: keep the list sparse */
                r->dims[i] = r->dims[--r->n_dims];
            return 0;
        }
    if (v == 0)
        return 0;
    if (r->n_dims == r->cap_dims) {
        uint16_t cap = r->cap_dims ? (uint16_t)(r->cap_dims * 2) : 4;
        if (cap > AGG_DIMS * AGG_DIM)
            cap = AGG_DIMS * AGG_DIM;
        struct agg_dimval *d = realloc(r->dims, cap * sizeof *d);
        if (!d)
            return -1;
        r->dims = d;
        r->cap_dims = cap;
    }
    r->dims[r->n_dims].tag = tag;
    r->dims[r->n_dims++].v = v;
    return 0;
}

void agg_rollup_clear(struct agg_rollup *r)
{
    free(r->dims);
    uint64_t id = r->id;
    memset(r, 0, sizeof *r);
    r->id = id;
}

static void rollup_free(void *p)
{
    struct agg_rollup *r = p;
    if (!r)
        return;
    free(r->dims);
    free(r);
}

/* Scalars in the order of the compact form. */
#define AGG_SCALARS 19
static int64_t *scalars(struct agg_rollup *r, int64_t *out[AGG_SCALARS])
{
    int64_t *list[AGG_SCALARS] = {
        &r->revision,        &r->event_count,     &r->first_at,        &r->last_at,
        &r->visits,          &r->workers_reached, &r->households,      &r->staff,
        &r->funding_fen,     &r->recipients,      &r->surveys,         &r->enterprises,
        &r->respondents,     &r->satisfaction[0], &r->satisfaction[1], &r->satisfaction[2],
        &r->satisfaction[3], &r->satisfaction[4], &r->corrections};
    memcpy(out, list, sizeof list);
    return out[0];
}

/* First byte of the compact form. Format 1 (stores written before corrections) lacks the
 * last scalar, corrections, which then reads as 0. */
#define AGG_FORMAT 2

int agg_rollup_encode(const struct agg_rollup *r, struct op_buf *out)
{
    int64_t *s[AGG_SCALARS];
    scalars((struct agg_rollup *)r, s);
    unsigned char head[2] = {AGG_FORMAT, (unsigned char)0};
    if (op_buf_append(out, head, 1) != 0)
        return -1;
    for (int i = 0; i < AGG_SCALARS; i++)
        if (op_buf_put_varint(out, *s[i]) != 0)
            return -1;
    if (op_buf_put_varint(out, r->n_dims) != 0)
        return -1;
    for (uint16_t i = 0; i < r->n_dims; i++) {
        head[0] = r->dims[i].tag;
        if (op_buf_append(out, head, 1) != 0 || op_buf_put_varint(out, r->dims[i].v) != 0)
            return -1;
    }
    return 0;
}

int agg_rollup_decode(struct agg_rollup *r, const void *data, size_t len)
{
    const unsigned char *p = data, *end = p + len;
    agg_rollup_clear(r);
    int64_t *s[AGG_SCALARS], n;
    scalars(r, s);
    if (len < 1 || (*p != AGG_FORMAT && *p != 1))
        return -1;
    int n_scalars = *p++ == 1 ? AGG_SCALARS - 1 : AGG_SCALARS;
    for (int i = 0; i < n_scalars; i++)
        if (op_varint_get(&p, end, s[i]) != 0)
            return -1;
    if (op_varint_get(&p, end, &n) != 0 || n < 0 || n > AGG_DIMS * AGG_DIM)
        return -1;
    if (n > 0 && !(r->dims = malloc((size_t)n * sizeof *r->dims)))
        return -1;
    r->cap_dims = (uint16_t)n;
    for (int64_t i = 0; i < n; i++) {
        if (p >= end)
            goto bad;
        uint8_t tag = *p++;
        if ((tag >> 5) >= AGG_DIMS || op_varint_get(&p, end, &r->dims[i].v) != 0)
            goto bad;
        r->dims[i].tag = tag;
        r->n_dims++;
    }
    if (p != end)
        goto bad;
    return 0;
bad:
    agg_rollup_clear(r);
    return -1;
}

/* ---- state ------------------------------------------------------------------------------ */

struct agg_state *agg_state_new(int32_t partition, const struct agg_backing *backing)
{
    struct agg_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->partition = partition;
    if (backing)
        s->backing = *backing;
    s->live = op_map_new();
    s->seen = op_map_new();
    if (!s->live || !s->seen) {
        agg_state_destroy(s);
        return NULL;
    }
    return s;
}

void agg_state_destroy(struct agg_state *s)
{
    if (!s)
        return;
    op_map_destroy(s->live, rollup_free);
    op_map_destroy(s->seen, NULL);
    op_buf_free(&s->seen_data);
    op_buf_free(&s->scratch);
    agg_state_thaw(s);
    free(s->dirty);
    free(s);
}

void agg_state_release(struct agg_state *s)
{
    op_map_destroy(s->live, rollup_free);
    op_map_destroy(s->seen, NULL);
    s->seen_data.len = 0;
    s->live = op_map_new();
    s->seen = op_map_new();
    s->n_dirty = 0;
    /* The dirty list's storage is kept: the next interval needs it again. */
}

size_t agg_state_live(const struct agg_state *s)
{
    return s->live ? op_map_size(s->live) : 0;
}

/* A seen entry in an arena: ms (8 bytes), record length (2), record. *ref is offset + 1. */
static int seen_append(struct op_buf *data, int64_t ms, const void *info, size_t len,
                       uintptr_t *ref)
{
    if (len > UINT16_MAX)
        return -1;
    size_t at = data->len;
    uint16_t l = (uint16_t)len;
    unsigned char head[10];
    memcpy(head, &ms, 8);
    memcpy(head + 8, &l, 2);
    if (op_buf_append(data, head, sizeof head) != 0 ||
        (len && op_buf_append(data, info, len) != 0)) {
        data->len = at;
        return -1;
    }
    *ref = (uintptr_t)at + 1;
    return 0;
}

static const unsigned char *seen_entry_at(const struct op_buf *data, void *ref, int64_t *ms,
                                          size_t *len)
{
    const unsigned char *e = data->data + ((uintptr_t)ref - 1);
    uint16_t l;
    memcpy(ms, e, 8);
    memcpy(&l, e + 8, 2);
    *len = l;
    return e + 10;
}

int agg_seen_get(struct agg_state *s, const char *event_id, size_t n, struct op_buf *info,
                 int64_t *ms)
{
    if (!s->seen)
        return -1;
    info->len = 0;
    const struct op_buf *data = &s->seen_data;
    void *ref = op_map_get(s->seen, event_id, n);
    if (!ref && s->frozen_seen && (ref = op_map_get(s->frozen_seen, event_id, n)))
        data = &s->frozen_seen_data;
    if (ref) {
        int64_t t;
        size_t len;
        const unsigned char *rec = seen_entry_at(data, ref, &t, &len);
        if (ms)
            *ms = t;
        return op_buf_append(info, rec, len) ? -1 : 1;
    }
    if (!s->backing.get_seen)
        return 0;
    if (ms)
        *ms = 0;
    return s->backing.get_seen(s->backing.opaque, s->partition, event_id, n, info);
}

int agg_seen_put(struct agg_state *s, const char *event_id, size_t n, int64_t ms, const void *info,
                 size_t len)
{
    uintptr_t ref;
    if (!s->seen || seen_append(&s->seen_data, ms, info, len, &ref) != 0)
        return -1;
    return op_map_put(s->seen, event_id, n, (void *)ref, NULL);
}

int agg_seen_check_add(struct agg_state *s, const char *event_id, int64_t now_ms)
{
    size_t n = strlen(event_id);
    struct op_buf info = OP_BUF_INIT;
    int had = agg_seen_get(s, event_id, n, &info, NULL);
    op_buf_free(&info);
    if (had != 0)
        return had;
    return agg_seen_put(s, event_id, n, now_ms, NULL, 0);
}

static const unsigned char *frozen_find(const struct agg_frozen *f, uint64_t id, size_t *len);

static struct agg_rollup *rollup_get(struct agg_state *s, uint64_t id)
{
    if (!s->live)
        return NULL;
    struct agg_rollup *r = op_map_get(s->live, (const char *)&id, sizeof id);
    if (r)
        return r;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    size_t flen;
    const unsigned char *f = frozen_find(&s->frozen, id, &flen);
    if (f) { /* committed, not yet in the backing: a copy joins the working set */
        if (agg_rollup_decode(r, f, flen) != 0) {
            rollup_free(r);
            return NULL;
        }
    } else if (s->backing.load_rollup &&
               s->backing.load_rollup(s->backing.opaque, s->partition, id, r) < 0) {
        rollup_free(r);
        return NULL;
    }
    r->id = id;
    r->dirty = 0;
    if (op_map_put(s->live, (const char *)&id, sizeof id, r, NULL) != 0) {
        rollup_free(r);
        return NULL;
    }
    return r;
}

static int mark_dirty(struct agg_state *s, struct agg_rollup *r)
{
    if (r->dirty)
        return 0;
    if (s->n_dirty == s->cap_dirty) {
        size_t cap = s->cap_dirty ? s->cap_dirty * 2 : 256;
        struct agg_rollup **d = realloc(s->dirty, cap * sizeof *d);
        if (!d)
            return -1;
        s->dirty = d;
        s->cap_dirty = cap;
    }
    s->dirty[s->n_dirty++] = r;
    r->dirty = 1;
    r->revision++;
    return 0;
}

const char *const agg_delta_names[AGG_DELTAS] = {
    "event_count", "visits",     "workers_reached", "households",  "staff",
    "funding_fen", "recipients", "surveys",         "enterprises", "respondents"};

/* What ev adds to a rollup's scalars (sign 1) or takes away (-1), in agg_delta_names order. */
static void event_deltas(const struct op_event *ev, int sign, int64_t d[AGG_DELTAS])
{
    memset(d, 0, AGG_DELTAS * sizeof *d);
    d[0] = sign;
    switch (ev->type) {
    case OP_EVENT_VISIT:
        d[1] = sign, d[2] = sign * (int64_t)ev->workers_reached;
        d[3] = sign * (int64_t)ev->households, d[4] = sign * (int64_t)ev->staff;
        break;
    case OP_EVENT_FUNDING:
        d[5] = sign * ev->amount_fen, d[6] = sign * (int64_t)ev->recipients;
        break;
    case OP_EVENT_SURVEY:
        d[7] = sign, d[8] = sign * (int64_t)ev->enterprises, d[9] = sign * (int64_t)ev->respondents;
        break;
    }
}

/* Adds ev to r (sign 1) or takes it away (-1). first/last event times only widen: a
 * correction or retraction does not narrow them (docs/events.md). */
static int add_event(struct agg_rollup *r, const struct op_event *ev, int sign)
{
    /* 0: no event yet (times are after 2000); a rollup a retraction emptied keeps its span. */
    if (sign > 0 && (r->first_at == 0 || ev->occurred_at < r->first_at))
        r->first_at = ev->occurred_at;
    if (sign > 0 && (r->last_at == 0 || ev->occurred_at > r->last_at))
        r->last_at = ev->occurred_at;
    int64_t d[AGG_DELTAS];
    event_deltas(ev, sign, d);
    int64_t *scalar[AGG_DELTAS] = {
        &r->event_count, &r->visits,     &r->workers_reached, &r->households,  &r->staff,
        &r->funding_fen, &r->recipients, &r->surveys,         &r->enterprises, &r->respondents};
    for (int i = 0; i < AGG_DELTAS; i++)
        *scalar[i] += d[i];
    int bad = 0;
    switch (ev->type) {
    case OP_EVENT_VISIT:
        bad |= dim_add(r, AGG_ACTIVITY, ev->activity, sign);
        for (int i = 0; i < ev->n_groups; i++)
            bad |= dim_add(r, AGG_GROUP, ev->groups[i], sign * (int64_t)ev->workers_reached);
        break;
    case OP_EVENT_FUNDING:
        bad |= dim_add(r, AGG_SOURCE, ev->source, sign * ev->amount_fen);
        bad |= dim_add(r, AGG_PURPOSE, ev->purpose, sign * ev->amount_fen);
        break;
    case OP_EVENT_SURVEY:
        for (int i = 0; i < 5; i++)
            r->satisfaction[i] += sign * (int64_t)ev->satisfaction[i];
        for (int i = 0; i < ev->n_needs; i++)
            bad |= dim_add(r, AGG_NEED, ev->needs[i].kind, sign * (int64_t)ev->needs[i].count);
        break;
    }
    return bad ? -1 : 0;
}

size_t agg_event_windows(const struct agg_model *m, int64_t occurred_at,
                         struct agg_window out[AGG_MAX_WINDOWS])
{
    size_t nw = 0;
    out[nw++] = (struct agg_window){AGG_DAY, day_number(occurred_at)};
    out[nw++] = (struct agg_window){AGG_MONTH, month_number(occurred_at)};
    out[nw++] = (struct agg_window){AGG_ALL, 0};
    for (size_t c = 0; c < m->n_campaigns && nw < AGG_MAX_WINDOWS; c++)
        if (occurred_at >= m->campaigns[c].start_ms && occurred_at < m->campaigns[c].end_ms)
            out[nw++] = (struct agg_window){AGG_CAMPAIGN, m->campaigns[c].window};
    return nw;
}

static int touch_add(struct agg_touch *t, uint64_t id, const int64_t d[AGG_DELTAS])
{
    size_t i = 0;
    while (i < t->n && t->id[i] != id)
        i++;
    if (i == t->n) {
        if (t->n == AGG_MAX_TOUCH)
            return -1;
        t->id[t->n] = id;
        memset(t->d[t->n++], 0, sizeof t->d[0]);
    }
    for (int k = 0; k < AGG_DELTAS; k++)
        t->d[i][k] += d[k];
    return 0;
}

int agg_apply_windows(const struct agg_model *m, struct agg_state *s, const struct op_event *ev,
                      const struct agg_window *w, size_t nw, int sign, struct agg_touch *touch)
{
    const struct op_region *chain[3];
    size_t levels = op_regions_chain(m->regions, ev->region, chain);
    if (levels == 0)
        return -1;
    /* Enum indices become dimension tags: refuse anything outside the model (defensive; the
     * reader schema bounds them). */
    if ((ev->type == OP_EVENT_VISIT && ev->activity >= m->n_symbols[AGG_ACTIVITY]) ||
        (ev->type == OP_EVENT_FUNDING &&
         (ev->source >= m->n_symbols[AGG_SOURCE] || ev->purpose >= m->n_symbols[AGG_PURPOSE])))
        return -1;
    for (int i = 0; i < ev->n_groups; i++)
        if (ev->groups[i] >= m->n_symbols[AGG_GROUP])
            return -1;
    for (int i = 0; i < ev->n_needs; i++)
        if (ev->needs[i].kind >= m->n_symbols[AGG_NEED])
            return -1;
    int64_t d[AGG_DELTAS];
    event_deltas(ev, sign, d);
    for (size_t i = 0; i < nw; i++)
        for (size_t l = 0; l < levels; l++) {
            uint64_t id = agg_rollup_id(w[i].kind, w[i].number, chain[l]->code);
            struct agg_rollup *r = rollup_get(s, id);
            if (!r || mark_dirty(s, r) != 0 || add_event(r, ev, sign) != 0 ||
                (touch && touch_add(touch, id, d) != 0))
                return -1;
        }
    return 0;
}

int agg_touch_count_correction(struct agg_state *s, const struct agg_touch *t)
{
    for (size_t i = 0; i < t->n; i++) {
        struct agg_rollup *r = rollup_get(s, t->id[i]);
        if (!r || mark_dirty(s, r) != 0)
            return -1;
        r->corrections++;
    }
    return 0;
}

int agg_apply(const struct agg_model *m, struct agg_state *s, const struct op_event *ev)
{
    struct agg_window w[AGG_MAX_WINDOWS];
    size_t nw = agg_event_windows(m, ev->occurred_at, w);
    return agg_apply_windows(m, s, ev, w, nw, 1, NULL);
}

int agg_take_dirty(struct agg_state *s, int (*cb)(struct agg_rollup *r, void *opaque), void *opaque)
{
    size_t i;
    int rc = 0;
    for (i = 0; i < s->n_dirty; i++) {
        rc = cb(s->dirty[i], opaque);
        if (rc != 0)
            break;
        s->dirty[i]->dirty = 0;
    }
    if (i > 0 && i < s->n_dirty)
        memmove(s->dirty, s->dirty + i, (s->n_dirty - i) * sizeof *s->dirty);
    s->n_dirty -= i;
    return rc;
}

static int by_id(const void *x, const void *y)
{
    uint64_t a = (*(const struct agg_rollup *const *)x)->id;
    uint64_t b = (*(const struct agg_rollup *const *)y)->id;
    return a < b ? -1 : a > b;
}

struct seen_entry {
    const char *id;
    size_t n;
    void *ref;
};

/* LMDB's default key order: bytes, then length. */
static int by_key(const void *x, const void *y)
{
    const struct seen_entry *a = x, *b = y;
    int c = memcmp(a->id, b->id, a->n < b->n ? a->n : b->n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

static int each_of(const struct op_map *live, const struct op_map *seen,
                   const struct op_buf *seen_data,
                   int (*rollup_cb)(const struct agg_rollup *r, void *opaque), agg_seen_cb seen_cb,
                   void *opaque)
{
    /* In key order: consecutive B-tree writes then share pages, so a store transaction
     * dirties (and writes back) far fewer pages than in hash order. */
    size_t pos = 0, len, i = 0;
    const char *key;
    void *v;
    int rc = 0;
    size_t nr = rollup_cb && live ? op_map_size(live) : 0;
    size_t ns = seen_cb && seen ? op_map_size(seen) : 0;
    const struct agg_rollup **rs = nr ? malloc(nr * sizeof *rs) : NULL;
    struct seen_entry *ids = ns ? malloc(ns * sizeof *ids) : NULL;
    if ((nr && !rs) || (ns && !ids)) {
        free(rs);
        free(ids);
        return -1;
    }
    while (nr && op_map_next(live, &pos, &key, &len, &v))
        rs[i++] = v;
    if (nr) /* qsort's base must not be NULL, even for nothing */
        qsort(rs, nr, sizeof *rs, by_id);
    for (i = 0; rc == 0 && i < nr; i++)
        rc = rollup_cb(rs[i], opaque);
    for (pos = 0, i = 0; ns && op_map_next(seen, &pos, &key, &len, &v); i++)
        ids[i] = (struct seen_entry){key, len, v};
    if (ns)
        qsort(ids, ns, sizeof *ids, by_key);
    for (i = 0; rc == 0 && i < ns; i++) {
        int64_t ms;
        size_t rl;
        const unsigned char *rec = seen_entry_at(seen_data, ids[i].ref, &ms, &rl);
        rc = seen_cb(ids[i].id, ids[i].n, ms, rec, rl, opaque);
    }
    free(rs);
    free(ids);
    return rc;
}

int agg_state_each(struct agg_state *s, int (*rollup_cb)(const struct agg_rollup *r, void *opaque),
                   agg_seen_cb seen_cb, void *opaque)
{
    return each_of(s->live, s->seen, &s->seen_data, rollup_cb, seen_cb, opaque);
}

/* ---- the frozen generation ---------------------------------------------------------- */

static size_t frozen_home(uint64_t id, size_t mask)
{
    id ^= id >> 33; /* a 64-bit mix (murmur3's finaliser): ids differ in few low bits */
    id *= UINT64_C(0xff51afd7ed558ccd);
    id ^= id >> 33;
    return (size_t)id & mask;
}

static const unsigned char *frozen_find(const struct agg_frozen *f, uint64_t id, size_t *len)
{
    if (!f->on || f->n == 0)
        return NULL;
    for (size_t i = frozen_home(id, f->mask);; i = (i + 1) & f->mask) {
        uint32_t k = f->slot[i];
        if (k == 0)
            return NULL;
        if (f->id[k - 1] == id) {
            *len = f->len[k - 1];
            return (const unsigned char *)f->data.data + f->off[k - 1];
        }
    }
}

static void frozen_free(struct agg_frozen *f)
{
    op_buf_free(&f->data);
    free(f->id);
    free(f->off);
    free(f->len);
    free(f->slot);
    memset(f, 0, sizeof *f);
}

/* Encodes every rollup of live into f (not yet on). 0 or -1 (allocation). */
static int frozen_fill(struct agg_frozen *f, const struct op_map *live)
{
    size_t n = op_map_size(live), cap = 16, pos = 0, len;
    while (cap < n * 2)
        cap *= 2;
    f->mask = cap - 1;
    f->slot = calloc(cap, sizeof *f->slot);
    f->id = malloc((n ? n : 1) * sizeof *f->id);
    f->off = malloc((n ? n : 1) * sizeof *f->off);
    f->len = malloc((n ? n : 1) * sizeof *f->len);
    if (!f->slot || !f->id || !f->off || !f->len || n >= UINT32_MAX)
        return -1;
    const char *key;
    void *v;
    while (op_map_next(live, &pos, &key, &len, &v)) {
        const struct agg_rollup *r = v;
        size_t at = f->data.len;
        if (agg_rollup_encode(r, &f->data) != 0 || f->data.len > UINT32_MAX)
            return -1;
        f->id[f->n] = r->id;
        f->off[f->n] = (uint32_t)at;
        f->len[f->n] = (uint32_t)(f->data.len - at);
        size_t i = frozen_home(r->id, f->mask);
        while (f->slot[i])
            i = (i + 1) & f->mask;
        f->slot[i] = (uint32_t)++f->n;
    }
    return 0;
}

struct frozen_ref {
    uint64_t id;
    uint32_t index;
};

static int by_ref_id(const void *x, const void *y)
{
    uint64_t a = ((const struct frozen_ref *)x)->id, b = ((const struct frozen_ref *)y)->id;
    return a < b ? -1 : a > b;
}

int agg_state_each_frozen(const struct agg_state *s,
                          int (*rollup_cb)(uint64_t id, const void *data, size_t len, void *opaque),
                          agg_seen_cb seen_cb, void *opaque)
{
    const struct agg_frozen *f = &s->frozen;
    int rc = 0;
    if (rollup_cb && f->on && f->n) {
        /* In key order, for the same reason as agg_state_each. */
        struct frozen_ref *refs = malloc(f->n * sizeof *refs);
        if (!refs)
            return -1;
        for (size_t i = 0; i < f->n; i++)
            refs[i] = (struct frozen_ref){f->id[i], (uint32_t)i};
        qsort(refs, f->n, sizeof *refs, by_ref_id);
        for (size_t i = 0; rc == 0 && i < f->n; i++) {
            uint32_t k = refs[i].index;
            rc = rollup_cb(refs[i].id, (const unsigned char *)f->data.data + f->off[k], f->len[k],
                           opaque);
        }
        free(refs);
    }
    return rc ? rc : each_of(NULL, s->frozen_seen, &s->frozen_seen_data, NULL, seen_cb, opaque);
}

int agg_state_freeze(struct agg_state *s)
{
    if (s->frozen.on || s->frozen_seen || s->n_dirty || !s->live || !s->seen)
        return -1;
    struct op_map *live = op_map_new(), *seen = op_map_new();
    if (!live || !seen || frozen_fill(&s->frozen, s->live) != 0) {
        op_map_destroy(live, NULL);
        op_map_destroy(seen, NULL);
        frozen_free(&s->frozen);
        return -1;
    }
    s->frozen.on = 1;
    op_map_destroy(s->live, rollup_free);
    s->frozen_seen = s->seen;
    s->frozen_seen_data = s->seen_data;
    s->seen_data = (struct op_buf)OP_BUF_INIT;
    s->live = live, s->seen = seen;
    return 0;
}

void agg_state_thaw(struct agg_state *s)
{
    frozen_free(&s->frozen);
    op_map_destroy(s->frozen_seen, NULL);
    s->frozen_seen = NULL;
    op_buf_free(&s->frozen_seen_data);
}

/* ---- rollup records --------------------------------------------------------------------- */

static int set_long(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_set_long(&f, v);
}

static int set_map(avro_value_t *rec, const char *name, const struct agg_rollup *r, int dim,
                   const char *const *syms, int n)
{
    avro_value_t f, e;
    if (avro_value_get_by_name(rec, name, &f, NULL))
        return -1;
    avro_value_reset(&f);
    for (int i = 0; i < n; i++) { /* zero entries are left out: a sparse, stable map */
        int64_t v = agg_rollup_dim(r, dim, i);
        if (v && (avro_value_add(&f, syms[i], &e, NULL, NULL) || avro_value_set_long(&e, v)))
            return -1;
    }
    return 0;
}

static const char *const map_fields[AGG_DIMS] = {"visits_by_activity", "workers_by_group",
                                                 "funding_by_source_fen", "funding_by_purpose_fen",
                                                 "needs"};
static const char *const s_names[5] = {"s1", "s2", "s3", "s4", "s5"};
static const char *const scalar_names[] = {
    "revision",        "event_count", "first_event_at", "last_event_at", "visits",
    "workers_reached", "households",  "staff",          "funding_fen",   "recipients",
    "surveys",         "enterprises", "respondents"};

/* The region and window name of r (window into wbuf when it is computed). 0 or -1. */
static int names_of(const struct agg_model *m, const struct agg_rollup *r, char wbuf[11],
                    const struct op_region **reg, const char **window, char *errstr,
                    size_t errstr_size)
{
    int kind = agg_rollup_kind(r);
    *reg = op_regions_find(m->regions, agg_rollup_region(r));
    *window = kind < AGG_KINDS ? agg_window_name(m, kind, agg_rollup_window(r), wbuf) : NULL;
    if (!*reg || !*window) {
        op_set_err(errstr, errstr_size, "rollup %016" PRIx64 ": unknown region or window", r->id);
        return -1;
    }
    return 0;
}

int agg_rollup_to_value(const struct agg_model *m, const struct agg_rollup *r, avro_value_t *v,
                        char *errstr, size_t errstr_size)
{
    avro_value_t f;
    char region[12], wbuf[11];
    int kind = agg_rollup_kind(r);
    const struct op_region *reg;
    const char *window;
    if (names_of(m, r, wbuf, &reg, &window, errstr, errstr_size) != 0)
        return -1;
    uint32_t code = reg->code;
    snprintf(region, sizeof region, "%06" PRIu32, code);
    int64_t *s[AGG_SCALARS];
    scalars((struct agg_rollup *)r, s);
    int bad = avro_value_get_by_name(v, "window_kind", &f, NULL) ||
              avro_value_set_enum(&f, m->kind_index[kind]) ||
              avro_value_get_by_name(v, "window", &f, NULL) || avro_value_set_string(&f, window) ||
              avro_value_get_by_name(v, "region", &f, NULL) || avro_value_set_string(&f, region) ||
              avro_value_get_by_name(v, "level", &f, NULL) ||
              avro_value_set_enum(&f, m->level_index[reg->level]);
    for (size_t i = 0; !bad && i < sizeof scalar_names / sizeof scalar_names[0]; i++)
        bad = set_long(v, scalar_names[i], *s[i]);
    if (!bad && m->rollup_corrections)
        bad = set_long(v, "corrections", r->corrections);
    for (int d = 0; !bad && d < AGG_DIMS; d++)
        bad = set_map(v, map_fields[d], r, d, m->symbols[d], m->n_symbols[d]);
    if (!bad) {
        avro_value_t sat;
        bad = avro_value_get_by_name(v, "satisfaction", &sat, NULL);
        for (int i = 0; !bad && i < 5; i++)
            bad = set_long(&sat, s_names[i], r->satisfaction[i]);
    }
    if (bad) {
        op_set_err(errstr, errstr_size, "rollup %s|%s|%s: avro-c: %s", agg_kind_names[kind], window,
                   region, avro_strerror());
        return -1;
    }
    return 0;
}

static int get_long(avro_value_t *rec, const char *name, int64_t *out)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_get_long(&f, out);
}

static int get_map(avro_value_t *rec, const char *name, struct agg_rollup *r, int dim,
                   const char *const *syms, int n, char *errstr, size_t errstr_size)
{
    avro_value_t f, e;
    size_t size;
    if (avro_value_get_by_name(rec, name, &f, NULL) || avro_value_get_size(&f, &size))
        return -1;
    for (size_t i = 0; i < size; i++) {
        const char *key;
        int64_t v;
        if (avro_value_get_by_index(&f, i, &e, &key) || avro_value_get_long(&e, &v))
            return -1;
        int k = 0;
        while (k < n && strcmp(syms[k], key) != 0)
            k++;
        if (k == n) {
            op_set_err(errstr, errstr_size, "%s: symbol %s unknown to this version", name, key);
            return -1;
        }
        if (dim_add(r, dim, k, v) != 0)
            return -1;
    }
    return 0;
}

/* Window number of a window name of the given kind; -1 when it does not parse. */
static int window_number(struct agg_model *m, int kind, const char *w, int *interned)
{
    int64_t ms;
    uint16_t n;
    char buf[11];
    switch (kind) {
    case AGG_DAY:
        return parse_day(w, strlen(w), &ms) == 0 ? day_number(ms) : -1;
    case AGG_MONTH:
        if (strlen(w) != 7)
            return -1;
        memcpy(buf, w, 7);
        memcpy(buf + 7, "-01", 4);
        return parse_day(buf, 10, &ms) == 0 ? month_number(ms) : -1;
    case AGG_CAMPAIGN:
        return agg_model_intern(m, w, &n, interned) == 0 ? n : -1;
    case AGG_ALL:
        return strcmp(w, "all") == 0 ? 0 : -1;
    }
    return -1;
}

int agg_rollup_from_value(struct agg_model *m, avro_value_t *v, struct agg_rollup *r, int *interned,
                          char *errstr, size_t errstr_size)
{
    avro_value_t f;
    const char *window, *region_text;
    size_t n;
    int kind_idx;
    uint32_t code;
    agg_rollup_clear(r);
    if (avro_value_get_by_name(v, "window_kind", &f, NULL) || avro_value_get_enum(&f, &kind_idx) ||
        avro_value_get_by_name(v, "window", &f, NULL) || avro_value_get_string(&f, &window, &n) ||
        avro_value_get_by_name(v, "region", &f, NULL) ||
        avro_value_get_string(&f, &region_text, &n)) {
        op_set_err(errstr, errstr_size, "rollup record: avro-c: %s", avro_strerror());
        return -1;
    }
    int kind = -1;
    for (int k = 0; k < AGG_KINDS; k++)
        if (m->kind_index[k] == kind_idx)
            kind = k;
    int wn = kind >= 0 ? window_number(m, kind, window, interned) : -1;
    if (wn < 0 || op_regions_parse_code(region_text, &code) != 0 ||
        !op_regions_find(m->regions, code)) {
        op_set_err(errstr, errstr_size, "rollup %s|%s: unknown window kind, window or region",
                   window, region_text);
        return -1;
    }
    r->id = agg_rollup_id(kind, (uint16_t)wn, code);
    int64_t *s[AGG_SCALARS];
    scalars(r, s);
    for (size_t i = 0; i < sizeof scalar_names / sizeof scalar_names[0]; i++)
        if (get_long(v, scalar_names[i], s[i])) {
            op_set_err(errstr, errstr_size, "rollup %s|%s: field %s: avro-c: %s", window,
                       region_text, scalar_names[i], avro_strerror());
            goto fail;
        }
    avro_value_t corr; /* rollup.v2; a v1 record restored as is has none */
    if (avro_value_get_by_name(v, "corrections", &corr, NULL) == 0 &&
        avro_value_get_long(&corr, &r->corrections)) {
        op_set_err(errstr, errstr_size, "rollup %s|%s: field corrections: avro-c: %s", window,
                   region_text, avro_strerror());
        goto fail;
    }
    char why[200] = "";
    for (int d = 0; d < AGG_DIMS; d++)
        if (get_map(v, map_fields[d], r, d, m->symbols[d], m->n_symbols[d], why, sizeof why)) {
            op_set_err(errstr, errstr_size, "rollup %s|%s: %s", window, region_text,
                       *why ? why : avro_strerror());
            goto fail;
        }
    avro_value_t sat;
    if (avro_value_get_by_name(v, "satisfaction", &sat, NULL)) {
        op_set_err(errstr, errstr_size, "rollup %s|%s: no satisfaction", window, region_text);
        goto fail;
    }
    for (int i = 0; i < 5; i++)
        if (get_long(&sat, s_names[i], &r->satisfaction[i])) {
            op_set_err(errstr, errstr_size, "rollup %s|%s: satisfaction.%s", window, region_text,
                       s_names[i]);
            goto fail;
        }
    return 0;
fail:
    agg_rollup_clear(r);
    return -1;
}

/* ---- direct rollup writer ------------------------------------------------------------------ */

static int put_string(struct op_buf *b, const char *str, size_t n)
{
    return op_buf_put_varint(b, (int64_t)n) || op_buf_append(b, str, n) ? -1 : 0;
}

/* A dimension's values by symbol, from the sparse list. */
static void dim_values(const struct agg_rollup *r, int64_t vals[AGG_DIMS][AGG_DIM])
{
    memset(vals, 0, sizeof(int64_t) * AGG_DIMS * AGG_DIM);
    for (uint16_t i = 0; i < r->n_dims; i++)
        vals[r->dims[i].tag >> 5][r->dims[i].tag & 31] = r->dims[i].v;
}

static int put_map(struct op_buf *b, const int64_t *vals, const char *const *syms, int n)
{
    int64_t count = 0;
    for (int i = 0; i < n; i++)
        count += vals[i] != 0;
    if (count && op_buf_put_varint(b, count))
        return -1;
    for (int i = 0; i < n; i++)
        if (vals[i] && (put_string(b, syms[i], strlen(syms[i])) || op_buf_put_varint(b, vals[i])))
            return -1;
    return op_buf_put_varint(b, 0); /* end of blocks */
}

int agg_rollup_write(const struct agg_model *m, const struct agg_rollup *r, avro_value_t *scratch,
                     struct op_buf *out, char *errstr, size_t errstr_size)
{
    if (!m->direct) {
        avro_value_reset(scratch);
        return agg_rollup_to_value(m, r, scratch, errstr, errstr_size) ||
                       op_codec_encode_framed(m->frame, m->rollup, scratch, out, errstr,
                                              errstr_size)
                   ? -1
                   : 0;
    }
    char region[12], wbuf[11];
    int kind = agg_rollup_kind(r);
    const struct op_region *reg;
    const char *window;
    if (names_of(m, r, wbuf, &reg, &window, errstr, errstr_size) != 0)
        return -1;
    uint32_t code = reg->code;
    int rl = snprintf(region, sizeof region, "%06" PRIu32, code);
    int64_t vals[AGG_DIMS][AGG_DIM];
    dim_values(r, vals);
    int bad =
        op_buf_reserve(out, 256) ||
        op_frame_append_header(m->frame, m->rollup, out, errstr, errstr_size) ||
        op_buf_put_varint(out, m->kind_index[kind]) || put_string(out, window, strlen(window)) ||
        put_string(out, region, (size_t)rl) || op_buf_put_varint(out, m->level_index[reg->level]) ||
        op_buf_put_varint(out, r->revision) || op_buf_put_varint(out, r->event_count) ||
        op_buf_put_varint(out, r->first_at) || op_buf_put_varint(out, r->last_at) ||
        op_buf_put_varint(out, r->visits) ||
        put_map(out, vals[AGG_ACTIVITY], m->symbols[AGG_ACTIVITY], m->n_symbols[AGG_ACTIVITY]) ||
        op_buf_put_varint(out, r->workers_reached) ||
        put_map(out, vals[AGG_GROUP], m->symbols[AGG_GROUP], m->n_symbols[AGG_GROUP]) ||
        op_buf_put_varint(out, r->households) || op_buf_put_varint(out, r->staff) ||
        op_buf_put_varint(out, r->funding_fen) ||
        put_map(out, vals[AGG_SOURCE], m->symbols[AGG_SOURCE], m->n_symbols[AGG_SOURCE]) ||
        put_map(out, vals[AGG_PURPOSE], m->symbols[AGG_PURPOSE], m->n_symbols[AGG_PURPOSE]) ||
        op_buf_put_varint(out, r->recipients) || op_buf_put_varint(out, r->surveys) ||
        op_buf_put_varint(out, r->enterprises) || op_buf_put_varint(out, r->respondents);
    for (int i = 0; !bad && i < 5; i++)
        bad = op_buf_put_varint(out, r->satisfaction[i]);
    if (bad || put_map(out, vals[AGG_NEED], m->symbols[AGG_NEED], m->n_symbols[AGG_NEED]) ||
        op_buf_put_varint(out, r->corrections)) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 0;
}
