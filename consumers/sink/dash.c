/* The sink's dashboard: reads the rollups of one campaign (and the DAY rollups of one region)
 * from the store by key prefix, parsing only those, and draws them with chart.c. */
#include "dash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "calendar.h"
#include "chart.h"
#include "labels.h"
#include "map.h"
#include "page.h"

static const char *const metric_names[SINK_METRICS] = {"funding", "visits", "workers", "surveys"};
static const char *const metric_fields[SINK_METRICS] = {"funding_fen", "visits", "workers_reached",
                                                        "surveys"};
static const char *const metric_zh[SINK_METRICS] = {"资金", "走访慰问", "服务职工", "调研"};
static const char *const metric_en[SINK_METRICS] = {"Funding", "Visits", "Workers reached",
                                                    "Surveys"};
static const char *const metric_unit_zh[SINK_METRICS] = {"", "次", "人次", "次"};

int sink_metric_parse(const char *s, enum sink_metric *m)
{
    for (int i = 0; i < SINK_METRICS; i++)
        if (strcmp(s, metric_names[i]) == 0) {
            *m = (enum sink_metric)i;
            return 0;
        }
    return -1;
}

const char *sink_metric_name(enum sink_metric m)
{
    return (unsigned)m < SINK_METRICS ? metric_names[m] : "?";
}

static enum sink_unit metric_unit(enum sink_metric m)
{
    return m == SINK_METRIC_FUNDING ? SINK_UNIT_FEN : SINK_UNIT_COUNT;
}

/* Sums saturate: hostile rollups must not overflow int64 (undefined behaviour). */
static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t int_field(json_t *r, const char *name)
{
    json_t *v = json_object_get(r, name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* ---- dates: Asia/Shanghai (UTC+8) days as a day number since 1970-01-01 ------------------- */

/* Day number -> "YYYY-MM-DD" (a year outside 0..9999 shows as 0000). */
static void format_day(long dn, char out[11])
{
    int64_t y;
    int m, d;
    op_civil_from_days(dn, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = 0;
    snprintf(out, 11, "%04d-%02d-%02d", (int)y, m, d);
}

/* "YYYY-MM-DD" → day number. 0 or -1. */
static int parse_day(const char *s, long *dn)
{
    int y, m, d;
    if (!s || strlen(s) < 10 || op_calendar_digits(s, 4, &y) || s[4] != '-' ||
        op_calendar_digits(s + 5, 2, &m) || s[7] != '-' || op_calendar_digits(s + 8, 2, &d) ||
        m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    *dn = (long)op_days_from_civil(y, m, d);
    return 0;
}

/* "YYYY-MM-DDTHH:..Z" (UTC) → the day number in UTC+8. 0 or -1. */
static int parse_instant_day(const char *s, long *dn)
{
    int h;
    if (parse_day(s, dn) != 0 || s[10] != 'T' || op_calendar_digits(s + 11, 2, &h) || h > 23)
        return -1;
    if (h + 8 >= 24)
        (*dn)++;
    return 0;
}

/* ---- what the dashboard shows ---------------------------------------------------------- */

struct kv {
    char sym[64];
    int64_t fen;
};
#define KV_MAX 32 /* more symbols than any schema has: the rest is hostile and not shown */

struct child {
    uint32_t code;
    int64_t v[SINK_METRICS];
    int64_t sort; /* the shown metric's value */
};

struct day {
    long dn;
    int64_t v[SINK_METRICS];
};

struct dash {
    const struct op_regions *regions;
    const struct sink_dash_opts *o;
    struct op_map *campaigns; /* name → malloc'd newest last_event_at ("" if none) */
    const char *want;         /* "CAMPAIGN|NAME|" while collecting */
    size_t want_len;
    int have_head;
    int64_t head[SINK_METRICS];
    struct kv src[KV_MAX], pur[KV_MAX];
    size_t n_src, n_pur;
    char first_at[32], last_at[32];
    struct child *children;
    size_t n_children, cap_children;
    struct day *days;
    size_t n_days, cap_days;
    int failed;
};

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 64;
    void *np = realloc(*p, c * size);
    if (!np)
        return -1;
    *p = np;
    *cap = c;
    return 0;
}

static void add_map(struct kv *arr, size_t *n, json_t *map)
{
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v)
    {
        if (!json_is_integer(v))
            continue;
        size_t i = 0;
        while (i < *n && strncmp(arr[i].sym, k, sizeof arr[i].sym - 1) != 0)
            i++;
        if (i == *n) {
            if (*n == KV_MAX)
                continue;
            snprintf(arr[i].sym, sizeof arr[i].sym, "%s", k);
            arr[i].fen = 0;
            (*n)++;
        }
        arr[i].fen = sat_add(arr[i].fen, (int64_t)json_integer_value(v));
    }
}

static void keep_time(char *dst, size_t size, json_t *r, const char *field, int newest)
{
    const char *t = json_string_value(json_object_get(r, field));
    if (!t || strlen(t) >= size)
        return;
    if (!dst[0] || (newest ? strcmp(t, dst) > 0 : strcmp(t, dst) < 0))
        snprintf(dst, size, "%s", t);
}

/* Adds r to the headline figures. */
static void add_head(struct dash *d, json_t *r)
{
    d->have_head = 1;
    for (int m = 0; m < SINK_METRICS; m++)
        d->head[m] = sat_add(d->head[m], int_field(r, metric_fields[m]));
    add_map(d->src, &d->n_src, json_object_get(r, "funding_by_source_fen"));
    add_map(d->pur, &d->n_pur, json_object_get(r, "funding_by_purpose_fen"));
    keep_time(d->first_at, sizeof d->first_at, r, "first_event_at", 0);
    keep_time(d->last_at, sizeof d->last_at, r, "last_event_at", 1);
}

/* Splits "KIND|WINDOW|RRRRRR" at its last bar; the region code or -1. */
static int key_region(const char *key, uint32_t *code)
{
    const char *bar = strrchr(key, '|');
    return bar && op_regions_parse_code(bar + 1, code) == 0 ? 0 : -1;
}

static int collect_campaigns(const char *key, const char *json, size_t len, void *opaque)
{
    struct dash *d = opaque;
    uint32_t code;
    if (strncmp(key, "CAMPAIGN|", 9) != 0 || key_region(key, &code) != 0)
        return 0;
    const char *name = key + 9;
    size_t nl = (size_t)(strrchr(key, '|') - name);
    char *last = op_map_get(d->campaigns, name, nl);
    if (!last) {
        last = calloc(1, 32);
        if (!last || op_map_put(d->campaigns, name, nl, last, NULL) != 0) {
            free(last);
            d->failed = 1;
            return 1;
        }
    }
    if (code % 10000 == 0) { /* a province: its newest event stands for the campaign's */
        json_t *r = json_loadb(json, len, 0, NULL);
        keep_time(last, 32, r, "last_event_at", 1);
        json_decref(r);
    }
    return 0;
}

/* Whether code is one level below the chosen region (a province when the whole country). */
static int is_child(const struct dash *d, uint32_t code)
{
    const struct op_region *reg = op_regions_find(d->regions, code);
    if (!reg)
        return 0;
    return d->o->region == 0 ? reg->level == OP_REGION_PROVINCE : reg->parent == d->o->region;
}

static int collect_rollups(const char *key, const char *json, size_t len, void *opaque)
{
    struct dash *d = opaque;
    uint32_t code;
    if (key_region(key, &code) != 0)
        return 0;
    int campaign = strncmp(key, d->want, d->want_len) == 0 && !strchr(key + d->want_len, '|');
    int day = strncmp(key, "DAY|", 4) == 0 &&
              (d->o->region ? code == d->o->region : code % 10000 == 0 && is_child(d, code));
    int child = campaign && is_child(d, code);
    if (!(day || child || (campaign && code == d->o->region)))
        return 0;
    json_t *r = json_loadb(json, len, 0, NULL);
    if (!r)
        return 0;
    if (campaign && (code == d->o->region || (d->o->region == 0 && child)))
        add_head(d, r);
    if (child) {
        if (grow((void **)&d->children, &d->cap_children, d->n_children, sizeof *d->children))
            goto oom;
        struct child *c = &d->children[d->n_children++];
        c->code = code;
        for (int m = 0; m < SINK_METRICS; m++)
            c->v[m] = int_field(r, metric_fields[m]);
    }
    long dn;
    if (day && parse_day(key + 4, &dn) == 0) {
        if (grow((void **)&d->days, &d->cap_days, d->n_days, sizeof *d->days))
            goto oom;
        struct day *e = &d->days[d->n_days++];
        e->dn = dn;
        for (int m = 0; m < SINK_METRICS; m++)
            e->v[m] = int_field(r, metric_fields[m]);
    }
    json_decref(r);
    return 0;
oom:
    json_decref(r);
    d->failed = 1;
    return 1;
}

static int cmp_child(const void *a, const void *b)
{
    const struct child *x = a, *y = b;
    int64_t u = x->sort, v = y->sort;
    if (u != v)
        return u > v ? -1 : 1;
    return x->code < y->code ? -1 : x->code > y->code;
}

static int cmp_day(const void *a, const void *b)
{
    const struct day *x = a, *y = b;
    return x->dn < y->dn ? -1 : x->dn > y->dn;
}

static int cmp_kv(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;
    if (x->fen != y->fen)
        return x->fen > y->fen ? -1 : 1;
    return strcmp(x->sym, y->sym);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- rendering ------------------------------------------------------------------------- */

static int add(struct op_buf *b, const char *s)
{
    return op_buf_append(b, s, strlen(s));
}

/* The link to a view of this page, NUL-terminated in b (not escaped for HTML). */
static int href(struct op_buf *b, const char *campaign, uint32_t region, enum sink_metric metric,
                int zh)
{
    b->len = 0;
    if (add(b, "/?campaign=") || sink_url_encode(b, campaign) ||
        (region && op_buf_printf(b, "&region=%06u", (unsigned)region)) ||
        (metric != SINK_METRIC_FUNDING && op_buf_printf(b, "&metric=%s", metric_names[metric])) ||
        (!zh && add(b, "&lang=en")) || op_buf_append(b, "", 1))
        return -1;
    return 0;
}

static const char *region_name(const struct dash *d, uint32_t code)
{
    const struct op_region *reg = op_regions_find(d->regions, code);
    return reg ? reg->name : "?";
}

static int render_cards(struct dash *d, struct op_buf *out)
{
    int zh = d->o->zh;
    if (add(out, "<div class=\"cards\">"))
        return -1;
    for (int m = 0; m < SINK_METRICS; m++) {
        char exact[32], human[48];
        sink_fmt_exact(exact, sizeof exact, d->head[m], metric_unit((enum sink_metric)m));
        sink_fmt_human(human, sizeof human, d->head[m], metric_unit((enum sink_metric)m), zh);
        if (op_buf_printf(out,
                          "<div class=\"card\" data-metric=\"%s\" data-value=\"%s\"><div "
                          "class=\"k\">%s</div><div class=\"v\">%s<small>%s</small></div></div>",
                          metric_names[m], exact, zh ? metric_zh[m] : metric_en[m], human,
                          zh ? metric_unit_zh[m] : ""))
            return -1;
    }
    return add(out, "</div>\n");
}

static int render_split(struct dash *d, struct op_buf *out, const char *id, struct kv *arr,
                        size_t n, enum op_label_enum e)
{
    struct sink_bar bars[KV_MAX];
    qsort(arr, n, sizeof *arr, cmp_kv);
    for (size_t i = 0; i < n; i++) {
        const char *l = op_label(e, arr[i].sym, d->o->zh);
        bars[i].label = l ? l : arr[i].sym;
        bars[i].id = arr[i].sym;
        bars[i].href = NULL;
        bars[i].value = arr[i].fen;
    }
    return sink_chart_bars(out, id, "symbol", bars, n, SINK_UNIT_FEN, d->o->zh, 560);
}

/* The trend's points: every day of the campaign's span in this region (first_event_at ..
 * last_event_at, UTC+8), zero where no DAY rollup exists; without a usable span, the days
 * that have DAY rollups. DAY rollups count every event of the day, of any campaign. */
#define TREND_DAYS_MAX 1000

static int trend_points(struct dash *d, struct sink_point **pts, size_t *n)
{
    enum sink_metric m = d->o->metric;
    *pts = NULL;
    *n = 0;
    if (d->n_days > 1) /* qsort's base must not be NULL, even for 0 elements */
        qsort(d->days, d->n_days, sizeof *d->days, cmp_day);
    size_t w = 0; /* merge the provinces' entries of one day */
    for (size_t i = 0; i < d->n_days; i++) {
        if (w > 0 && d->days[w - 1].dn == d->days[i].dn) {
            for (int k = 0; k < SINK_METRICS; k++)
                d->days[w - 1].v[k] = sat_add(d->days[w - 1].v[k], d->days[i].v[k]);
        } else {
            d->days[w++] = d->days[i];
        }
    }
    d->n_days = w;
    long first, last;
    int span = parse_instant_day(d->first_at, &first) == 0 &&
               parse_instant_day(d->last_at, &last) == 0 && last >= first &&
               last - first < TREND_DAYS_MAX;
    size_t count = span ? (size_t)(last - first + 1) : d->n_days;
    size_t skip = count > TREND_DAYS_MAX ? count - TREND_DAYS_MAX : 0;
    if (count == 0)
        return 0;
    *pts = calloc(count - skip, sizeof **pts);
    if (!*pts)
        return -1;
    if (span) {
        size_t j = 0;
        for (long dn = first; dn <= last; dn++) {
            while (j < d->n_days && d->days[j].dn < dn)
                j++;
            struct sink_point *p = &(*pts)[*n];
            (*n)++;
            format_day(dn, p->day);
            p->value = j < d->n_days && d->days[j].dn == dn ? d->days[j].v[m] : 0;
        }
    } else {
        for (size_t i = skip; i < d->n_days; i++) {
            struct sink_point *p = &(*pts)[(*n)++];
            format_day(d->days[i].dn, p->day);
            p->value = d->days[i].v[m];
        }
    }
    return 0;
}

static int render_body(struct dash *d, const char *campaign, struct op_buf *out)
{
    const struct sink_dash_opts *o = d->o;
    int zh = o->zh, rc = -1;
    enum sink_metric m = o->metric;
    struct op_buf link = OP_BUF_INIT;
    struct sink_bar *bars = NULL;
    struct sink_point *pts = NULL;
    char **links = NULL;
    size_t n_pts = 0;
    const struct op_region *chain[3];
    size_t depth = o->region ? op_regions_chain(d->regions, o->region, chain) : 0;

    /* Where we are: 全国 › province › prefecture, each a link up. */
    if (href(&link, campaign, 0, m, zh) ||
        add(out, "<nav class=\"crumbs\" id=\"crumbs\"><a href=\"") ||
        sink_html_escape(out, (const char *)link.data) ||
        add(out, zh ? "\">全国</a>" : "\">All provinces</a>"))
        goto cleanup;
    for (size_t i = depth; i-- > 0;) {
        if (href(&link, campaign, chain[i]->code, m, zh) || add(out, " › <a href=\"") ||
            sink_html_escape(out, (const char *)link.data) || add(out, "\">") ||
            sink_html_escape(out, chain[i]->name) || add(out, "</a>"))
            goto cleanup;
    }
    if (add(out, "</nav>\n"))
        goto cleanup;
    long first, last;
    char f10[11], l10[11];
    if (parse_instant_day(d->first_at, &first) == 0 && parse_instant_day(d->last_at, &last) == 0) {
        format_day(first, f10);
        format_day(last, l10);
        if (op_buf_printf(out, "<p class=\"span\" id=\"span\">%s%s — %s%s</p>\n",
                          zh ? "活动数据：" : "Events from ", f10, l10,
                          zh ? "（北京时间）" : " (Beijing time)"))
            goto cleanup;
    }
    if (render_cards(d, out))
        goto cleanup;

    /* Metric tabs. */
    if (add(out, "<nav class=\"tabs\">"))
        goto cleanup;
    for (int k = 0; k < SINK_METRICS; k++)
        if (href(&link, campaign, o->region, (enum sink_metric)k, zh) ||
            add(out, k == (int)m ? "<a class=\"on\" href=\"" : "<a href=\"") ||
            sink_html_escape(out, (const char *)link.data) || add(out, "\">") ||
            add(out, zh ? metric_zh[k] : metric_en[k]) || add(out, "</a>"))
            goto cleanup;
    if (add(out, "</nav>\n"))
        goto cleanup;

    /* Bars of the level below. */
    for (size_t i = 0; i < d->n_children; i++)
        d->children[i].sort = d->children[i].v[m];
    if (d->n_children > 1)
        qsort(d->children, d->n_children, sizeof *d->children, cmp_child);
    bars = calloc(d->n_children + 1, sizeof *bars);
    links = calloc(d->n_children + 1, sizeof *links);
    if (!bars || !links)
        goto cleanup;
    char(*codes)[8] = calloc(d->n_children + 1, sizeof *codes);
    if (!codes)
        goto cleanup;
    for (size_t i = 0; i < d->n_children; i++) {
        const struct op_region *reg = op_regions_find(d->regions, d->children[i].code);
        snprintf(codes[i], sizeof codes[i], "%06u", (unsigned)d->children[i].code);
        bars[i].label = reg ? reg->name : codes[i];
        bars[i].id = codes[i];
        bars[i].value = d->children[i].v[m];
        if (reg && reg->level != OP_REGION_COUNTY) {
            if (href(&link, campaign, reg->code, m, zh) ||
                !(links[i] = strdup((const char *)link.data))) {
                free(codes);
                goto cleanup;
            }
            bars[i].href = links[i];
        }
    }
    static const char *const level_zh[] = {"各省（区、市）", "各市（州）", "各县（市、区）"};
    static const char *const level_en[] = {"province", "prefecture", "county"};
    size_t lv = depth < 3 ? depth : 2;
    int bad = (zh ? op_buf_printf(out, "<h2>%s%s</h2>\n", level_zh[lv], metric_zh[m])
                  : op_buf_printf(out, "<h2>%s by %s</h2>\n", metric_en[m], level_en[lv])) ||
              sink_chart_bars(out, "bars", "region", bars, d->n_children, metric_unit(m), zh, 960);
    free(codes);
    if (bad)
        goto cleanup;
    if (d->n_children > 0 && d->children[0].code % 100 != 0 &&
        add(out, zh ? "<p class=\"note\">县级为最低一级。</p>\n"
                    : "<p class=\"note\">Counties are the lowest level.</p>\n"))
        goto cleanup;

    /* Daily trend. */
    if (trend_points(d, &pts, &n_pts) ||
        op_buf_printf(out, "<h2>%s%s</h2>\n",
                      zh ? "每日趋势：" : "Daily trend: ", zh ? metric_zh[m] : metric_en[m]) ||
        sink_chart_trend(out, "trend", pts, n_pts, metric_unit(m), zh))
        goto cleanup;

    /* Funding by source and purpose. */
    if (add(out, zh ? "<div class=\"split\"><div><h2>资金来源</h2>\n"
                    : "<div class=\"split\"><div><h2>Funding by source</h2>\n") ||
        render_split(d, out, "by-source", d->src, d->n_src, OP_LABEL_FUNDING_SOURCE) ||
        add(out,
            zh ? "</div><div><h2>资金用途</h2>\n" : "</div><div><h2>Funding by purpose</h2>\n") ||
        render_split(d, out, "by-purpose", d->pur, d->n_pur, OP_LABEL_FUNDING_PURPOSE) ||
        add(out, "</div></div>\n"))
        goto cleanup;
    rc = 0;
cleanup:
    for (size_t i = 0; links && i < d->n_children; i++)
        free(links[i]);
    free(links);
    free(bars);
    free(pts);
    op_buf_free(&link);
    return rc;
}

int sink_dash_render(const struct sink_store *s, const struct op_regions *regions,
                     const struct sink_dash_opts *o, struct op_buf *out, char *chosen,
                     size_t chosen_size)
{
    struct dash d;
    struct op_buf want = OP_BUF_INIT;
    char **names = NULL;
    size_t n_names = 0;
    int rc = -1;
    memset(&d, 0, sizeof d);
    d.regions = regions;
    d.o = o;
    chosen[0] = 0;
    if (!(d.campaigns = op_map_new()))
        goto cleanup;
    sink_store_foreach(s, collect_campaigns, &d);
    if (d.failed)
        goto cleanup;

    /* The campaigns, sorted for the selector; the wanted one or the latest. */
    names = calloc(op_map_size(d.campaigns) + 1, sizeof *names);
    if (!names)
        goto cleanup;
    const char *latest = NULL, *latest_at = NULL, *k;
    size_t pos = 0, kl;
    void *v;
    while (op_map_next(d.campaigns, &pos, &k, &kl, &v)) {
        if (!(names[n_names] = strndup(k, kl)))
            goto cleanup;
        n_names++;
    }
    qsort(names, n_names, sizeof *names, cmp_str);
    for (size_t i = 0; i < n_names; i++) {
        const char *at = op_map_get(d.campaigns, names[i], strlen(names[i]));
        if (o->campaign && strcmp(o->campaign, names[i]) == 0) {
            latest = names[i];
            break;
        }
        if (!latest_at || strcmp(at, latest_at) >= 0) {
            latest = names[i];
            latest_at = at;
        }
    }

    int zh = o->zh;
    if (add(out, "<section id=\"dashboard\">\n"))
        goto cleanup;
    if (!latest) {
        if (add(out, zh ? "<p id=\"no-campaign\">尚未收到任何活动（CAMPAIGN）汇总数据。</p>\n"
                        : "<p id=\"no-campaign\">No campaign rollups received yet.</p>\n") ||
            add(out, "</section>\n"))
            goto cleanup;
        rc = 0;
        goto cleanup;
    }
    snprintf(chosen, chosen_size, "%s", latest);

    /* Campaign selector: a plain GET form, no script. */
    if (add(out, "<form method=\"get\" action=\"/\" class=\"pick\"><label>") ||
        add(out, zh ? "活动 " : "Campaign ") || add(out, "<select name=\"campaign\">"))
        goto cleanup;
    for (size_t i = 0; i < n_names; i++)
        if (add(out, "<option value=\"") || sink_html_escape(out, names[i]) ||
            add(out, names[i] == latest ? "\" selected>" : "\">") ||
            sink_html_escape(out, names[i]) || add(out, "</option>"))
            goto cleanup;
    if (add(out, "</select></label>") ||
        (o->metric != SINK_METRIC_FUNDING &&
         op_buf_printf(out, "<input type=\"hidden\" name=\"metric\" value=\"%s\">",
                       metric_names[o->metric])) ||
        (!zh && add(out, "<input type=\"hidden\" name=\"lang\" value=\"en\">")) ||
        add(out, zh ? " <button type=\"submit\">查看</button></form>\n"
                    : " <button type=\"submit\">Show</button></form>\n"))
        goto cleanup;
    if (add(out, "<h1 id=\"campaign\">") || sink_html_escape(out, latest) ||
        (o->region && (add(out, " · ") || sink_html_escape(out, region_name(&d, o->region)))) ||
        add(out, "</h1>\n"))
        goto cleanup;

    if (add(&want, "CAMPAIGN|") || add(&want, latest) || add(&want, "|") ||
        op_buf_append(&want, "", 1))
        goto cleanup;
    d.want = (const char *)want.data;
    d.want_len = want.len - 1;
    sink_store_foreach(s, collect_rollups, &d);
    if (d.failed || render_body(&d, latest, out) || add(out, "</section>\n"))
        goto cleanup;
    rc = 0;
cleanup:
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    op_map_destroy(d.campaigns, free);
    free(d.children);
    free(d.days);
    op_buf_free(&want);
    return rc;
}
