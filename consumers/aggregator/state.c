/* Aggregator state: windows by event time in Asia/Shanghai, the region chain county →
 * prefecture → province, integer sums only, and conversion to and from rollup records. */
#include "state.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHANGHAI_OFFSET_MS INT64_C(28800000) /* UTC+8, no daylight saving since 1991 */
#define DAY_MS INT64_C(86400000)

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

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
            set_err(errstr, errstr_size,
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
            set_err(errstr, errstr_size, "campaign name \"%s\" must not contain '|'",
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
    set_err(errstr, errstr_size, "out of memory");
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
        set_err(errstr, errstr_size, "%s: no enum field %s", s->name, field);
        return -1;
    }
    int k = avro_schema_enum_number_of_symbols(f);
    if (k > AGG_DIM) {
        set_err(errstr, errstr_size, "%s.%s: %d symbols, at most %d", s->name, field, k, AGG_DIM);
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
        set_err(errstr, errstr_size, "the codec lacks the rollup or an event schema");
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
            set_err(errstr, errstr_size, "rollup schema lacks window kind %s", kinds[k]);
            return -1;
        }
    static const char *const levels[4] = {NULL, "PROVINCE", "PREFECTURE", "COUNTY"};
    for (int l = 1; l < 4; l++)
        if ((m->level_index[l] = symbol_index(m->rollup, "level", levels[l])) < 0) {
            set_err(errstr, errstr_size, "rollup schema lacks level %s", levels[l]);
            return -1;
        }
    return agg_campaigns_parse(campaigns, &m->campaigns, &m->n_campaigns, errstr, errstr_size);
}

void agg_model_free(struct agg_model *m)
{
    for (size_t i = 0; i < m->n_campaigns; i++)
        free(m->campaigns[i].name);
    free(m->campaigns);
    m->campaigns = NULL;
    m->n_campaigns = 0;
}

/* ---- state ------------------------------------------------------------------------------ */

static void rollup_free(void *p)
{
    struct agg_rollup *r = p;
    if (!r)
        return;
    free(r->window);
    free(r->key);
    free(r);
}

struct agg_state *agg_state_new(int32_t partition)
{
    struct agg_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->partition = partition;
    s->rollups = op_map_new();
    s->seen = op_map_new();
    if (!s->rollups || !s->seen) {
        agg_state_destroy(s);
        return NULL;
    }
    return s;
}

void agg_state_destroy(struct agg_state *s)
{
    if (!s)
        return;
    op_map_destroy(s->rollups, rollup_free);
    op_map_destroy(s->seen, NULL);
    free(s->dirty);
    free(s);
}

int agg_seen_check_add(struct agg_state *s, const char *event_id, int64_t now_ms)
{
    size_t n = strlen(event_id);
    if (op_map_get(s->seen, event_id, n))
        return 1;
    /* The stored pointer is the time; 0 would read as absent, so store at least 1. */
    return op_map_put(s->seen, event_id, n, (void *)(intptr_t)(now_ms > 0 ? now_ms : 1), NULL);
}

int agg_seen_restore(struct agg_state *s, const char *event_id, int64_t seen_ms)
{
    return op_map_put(s->seen, event_id, strlen(event_id),
                      (void *)(intptr_t)(seen_ms > 0 ? seen_ms : 1), NULL);
}

size_t agg_seen_prune(struct agg_state *s, int64_t cutoff_ms)
{
    /* Collect first: removal shifts entries under an iterator. */
    size_t pos = 0, n = 0, cap = 0, removed = 0;
    char **old = NULL;
    const char *key;
    void *v;
    while (op_map_next(s->seen, &pos, &key, NULL, &v)) {
        if ((int64_t)(intptr_t)v >= cutoff_ms)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **no = realloc(old, nc * sizeof *no);
            if (!no)
                break;
            old = no;
            cap = nc;
        }
        old[n++] = (char *)key;
    }
    /* Keys are owned by the map; copy each before removal frees it. */
    for (size_t i = 0; i < n; i++) {
        char *k = strdup(old[i]);
        old[i] = k;
    }
    for (size_t i = 0; i < n; i++)
        if (old[i] && op_map_remove(s->seen, old[i], strlen(old[i])))
            removed++;
    for (size_t i = 0; i < n; i++)
        free(old[i]);
    free(old);
    return removed;
}

static struct agg_rollup *rollup_get(struct agg_state *s, int kind, const char *window,
                                     const struct op_region *reg)
{
    static const char *const kinds[AGG_KINDS] = {"DAY", "MONTH", "CAMPAIGN", "ALL"};
    char key[256];
    int len = snprintf(key, sizeof key, "%s|%s|%06" PRIu32, kinds[kind], window, reg->code);
    if (len < 0 || (size_t)len >= sizeof key)
        return NULL;
    struct agg_rollup *r = op_map_get(s->rollups, key, (size_t)len);
    if (r)
        return r;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->kind = kind;
    r->region = reg->code;
    r->level = reg->level;
    r->window = strdup(window);
    r->key = strndup(key, (size_t)len);
    if (!r->window || !r->key || op_map_put(s->rollups, key, (size_t)len, r, NULL) != 0) {
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

static void add_event(struct agg_rollup *r, const struct op_event *ev)
{
    if (r->event_count == 0 || ev->occurred_at < r->first_at)
        r->first_at = ev->occurred_at;
    if (r->event_count == 0 || ev->occurred_at > r->last_at)
        r->last_at = ev->occurred_at;
    r->event_count++;
    switch (ev->type) {
    case OP_EVENT_VISIT:
        r->visits++;
        r->by_activity[ev->activity]++;
        r->workers_reached += ev->workers_reached;
        for (int i = 0; i < ev->n_groups; i++)
            r->by_group[ev->groups[i]] += ev->workers_reached;
        r->households += ev->households;
        r->staff += ev->staff;
        break;
    case OP_EVENT_FUNDING:
        r->funding_fen += ev->amount_fen;
        r->by_source[ev->source] += ev->amount_fen;
        r->by_purpose[ev->purpose] += ev->amount_fen;
        r->recipients += ev->recipients;
        break;
    case OP_EVENT_SURVEY:
        r->surveys++;
        r->enterprises += ev->enterprises;
        r->respondents += ev->respondents;
        for (int i = 0; i < 5; i++)
            r->satisfaction[i] += ev->satisfaction[i];
        for (int i = 0; i < ev->n_needs; i++)
            r->needs[ev->needs[i].kind] += ev->needs[i].count;
        break;
    }
}

int agg_apply(const struct agg_model *m, struct agg_state *s, const struct op_event *ev)
{
    const struct op_region *chain[3];
    size_t levels = op_regions_chain(m->regions, ev->region, chain);
    if (levels == 0)
        return -1;
    /* Enum indices index fixed arrays: refuse anything outside the model (defensive; the
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

    char day[11], month[8];
    agg_day_of(ev->occurred_at, day);
    agg_month_of(ev->occurred_at, month);
    const char *windows[AGG_KINDS + 16];
    int kinds[AGG_KINDS + 16];
    size_t nw = 0;
    windows[nw] = day, kinds[nw++] = AGG_DAY;
    windows[nw] = month, kinds[nw++] = AGG_MONTH;
    windows[nw] = "all", kinds[nw++] = AGG_ALL;
    for (size_t c = 0; c < m->n_campaigns && nw < sizeof windows / sizeof windows[0]; c++)
        if (ev->occurred_at >= m->campaigns[c].start_ms && ev->occurred_at < m->campaigns[c].end_ms)
            windows[nw] = m->campaigns[c].name, kinds[nw++] = AGG_CAMPAIGN;

    for (size_t w = 0; w < nw; w++)
        for (size_t l = 0; l < levels; l++) {
            struct agg_rollup *r = rollup_get(s, kinds[w], windows[w], chain[l]);
            if (!r || mark_dirty(s, r) != 0)
                return -1;
            add_event(r, ev);
        }
    return 0;
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

/* ---- rollup records --------------------------------------------------------------------- */

static int set_long(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_set_long(&f, v);
}

static int set_map(avro_value_t *rec, const char *name, const int64_t *vals,
                   const char *const *syms, int n)
{
    avro_value_t f, e;
    if (avro_value_get_by_name(rec, name, &f, NULL))
        return -1;
    avro_value_reset(&f);
    for (int i = 0; i < n; i++) /* zero entries are left out: a sparse, stable map */
        if (vals[i] &&
            (avro_value_add(&f, syms[i], &e, NULL, NULL) || avro_value_set_long(&e, vals[i])))
            return -1;
    return 0;
}

int agg_rollup_to_value(const struct agg_model *m, const struct agg_rollup *r, avro_value_t *v,
                        char *errstr, size_t errstr_size)
{
    avro_value_t f;
    char region[8];
    snprintf(region, sizeof region, "%06" PRIu32, r->region);
    int bad =
        avro_value_get_by_name(v, "window_kind", &f, NULL) ||
        avro_value_set_enum(&f, m->kind_index[r->kind]) ||
        avro_value_get_by_name(v, "window", &f, NULL) || avro_value_set_string(&f, r->window) ||
        avro_value_get_by_name(v, "region", &f, NULL) || avro_value_set_string(&f, region) ||
        avro_value_get_by_name(v, "level", &f, NULL) ||
        avro_value_set_enum(&f, m->level_index[r->level]) || set_long(v, "revision", r->revision) ||
        set_long(v, "event_count", r->event_count) || set_long(v, "first_event_at", r->first_at) ||
        set_long(v, "last_event_at", r->last_at) || set_long(v, "visits", r->visits) ||
        set_map(v, "visits_by_activity", r->by_activity, m->symbols[AGG_ACTIVITY],
                m->n_symbols[AGG_ACTIVITY]) ||
        set_long(v, "workers_reached", r->workers_reached) ||
        set_map(v, "workers_by_group", r->by_group, m->symbols[AGG_GROUP],
                m->n_symbols[AGG_GROUP]) ||
        set_long(v, "households", r->households) || set_long(v, "staff", r->staff) ||
        set_long(v, "funding_fen", r->funding_fen) ||
        set_map(v, "funding_by_source_fen", r->by_source, m->symbols[AGG_SOURCE],
                m->n_symbols[AGG_SOURCE]) ||
        set_map(v, "funding_by_purpose_fen", r->by_purpose, m->symbols[AGG_PURPOSE],
                m->n_symbols[AGG_PURPOSE]) ||
        set_long(v, "recipients", r->recipients) || set_long(v, "surveys", r->surveys) ||
        set_long(v, "enterprises", r->enterprises) || set_long(v, "respondents", r->respondents) ||
        set_map(v, "needs", r->needs, m->symbols[AGG_NEED], m->n_symbols[AGG_NEED]);
    if (!bad) {
        avro_value_t sat;
        static const char *const s_names[5] = {"s1", "s2", "s3", "s4", "s5"};
        bad = avro_value_get_by_name(v, "satisfaction", &sat, NULL);
        for (int i = 0; !bad && i < 5; i++)
            bad = set_long(&sat, s_names[i], r->satisfaction[i]);
    }
    if (bad) {
        set_err(errstr, errstr_size, "rollup %s: avro-c: %s", r->key, avro_strerror());
        return -1;
    }
    return 0;
}

static int get_long(avro_value_t *rec, const char *name, int64_t *out)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_get_long(&f, out);
}

static int get_map(avro_value_t *rec, const char *name, int64_t *vals, const char *const *syms,
                   int n, char *errstr, size_t errstr_size)
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
            set_err(errstr, errstr_size, "%s: symbol %s unknown to this version", name, key);
            return -1;
        }
        vals[k] = v;
    }
    return 0;
}

int agg_rollup_restore(const struct agg_model *m, struct agg_state *s, avro_value_t *v,
                       char *errstr, size_t errstr_size)
{
    avro_value_t f;
    const char *window, *region_text, *kind_sym;
    size_t n;
    int kind_idx;
    uint32_t code;
    if (avro_value_get_by_name(v, "window_kind", &f, NULL) || avro_value_get_enum(&f, &kind_idx) ||
        avro_value_get_by_name(v, "window", &f, NULL) || avro_value_get_string(&f, &window, &n) ||
        avro_value_get_by_name(v, "region", &f, NULL) ||
        avro_value_get_string(&f, &region_text, &n)) {
        set_err(errstr, errstr_size, "rollup record: avro-c: %s", avro_strerror());
        return -1;
    }
    avro_schema_t ks = avro_schema_record_field_get(m->rollup->schema, "window_kind");
    kind_sym = avro_schema_enum_get(ks, kind_idx);
    int kind = -1;
    for (int k = 0; k < AGG_KINDS; k++)
        if (m->kind_index[k] == kind_idx)
            kind = k;
    const struct op_region *reg =
        op_regions_parse_code(region_text, &code) == 0 ? op_regions_find(m->regions, code) : NULL;
    if (kind < 0 || !reg) {
        set_err(errstr, errstr_size, "rollup %s|%s|%s: unknown window kind or region",
                kind_sym ? kind_sym : "?", window, region_text);
        return -1;
    }
    struct agg_rollup *r = rollup_get(s, kind, window, reg);
    if (!r) {
        set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    /* Replace the whole content: a compacted topic may hold several revisions of a key. */
    int64_t *sums[] = {&r->revision,    &r->event_count,     &r->first_at,   &r->last_at,
                       &r->visits,      &r->workers_reached, &r->households, &r->staff,
                       &r->funding_fen, &r->recipients,      &r->surveys,    &r->enterprises,
                       &r->respondents};
    static const char *const names[] = {
        "revision",        "event_count", "first_event_at", "last_event_at", "visits",
        "workers_reached", "households",  "staff",          "funding_fen",   "recipients",
        "surveys",         "enterprises", "respondents"};
    memset(r->by_activity, 0, sizeof r->by_activity);
    memset(r->by_group, 0, sizeof r->by_group);
    memset(r->by_source, 0, sizeof r->by_source);
    memset(r->by_purpose, 0, sizeof r->by_purpose);
    memset(r->needs, 0, sizeof r->needs);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (get_long(v, names[i], sums[i])) {
            set_err(errstr, errstr_size, "rollup %s: field %s: avro-c: %s", r->key, names[i],
                    avro_strerror());
            return -1;
        }
    char why[200] = "";
    if (get_map(v, "visits_by_activity", r->by_activity, m->symbols[AGG_ACTIVITY],
                m->n_symbols[AGG_ACTIVITY], why, sizeof why) ||
        get_map(v, "workers_by_group", r->by_group, m->symbols[AGG_GROUP], m->n_symbols[AGG_GROUP],
                why, sizeof why) ||
        get_map(v, "funding_by_source_fen", r->by_source, m->symbols[AGG_SOURCE],
                m->n_symbols[AGG_SOURCE], why, sizeof why) ||
        get_map(v, "funding_by_purpose_fen", r->by_purpose, m->symbols[AGG_PURPOSE],
                m->n_symbols[AGG_PURPOSE], why, sizeof why) ||
        get_map(v, "needs", r->needs, m->symbols[AGG_NEED], m->n_symbols[AGG_NEED], why,
                sizeof why)) {
        set_err(errstr, errstr_size, "rollup %s: %s", r->key, *why ? why : avro_strerror());
        return -1;
    }
    avro_value_t sat;
    static const char *const s_names[5] = {"s1", "s2", "s3", "s4", "s5"};
    if (avro_value_get_by_name(v, "satisfaction", &sat, NULL)) {
        set_err(errstr, errstr_size, "rollup %s: no satisfaction", r->key);
        return -1;
    }
    for (int i = 0; i < 5; i++)
        if (get_long(&sat, s_names[i], &r->satisfaction[i])) {
            set_err(errstr, errstr_size, "rollup %s: satisfaction.%s", r->key, s_names[i]);
            return -1;
        }
    return 0;
}
