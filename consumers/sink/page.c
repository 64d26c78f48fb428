/* The sink's human page: a window picker and the province → prefecture table of that window.
 * Values are the stored JSON's own text (integers as written, yuan strings as sent). */
#include "page.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dash.h"
#include "err.h"
#include "labels.h"
#include "map.h"

/* Columns: field name in the rollup JSON, header, Chinese header. */
static const char *const columns[][3] = {
    {"region", "Code", "代码"},
    {"region_name", "Region", "地区"},
    {"level", "Level", "级别"},
    {"event_count", "Events", "事件数"},
    {"visits", "Visits", "走访慰问"},
    {"workers_reached", "Workers reached", "服务职工"},
    {"households", "Households", "户数"},
    {"funding_yuan", "Funding (yuan)", "资金（元）"},
    {"recipients", "Recipients", "受助人数"},
    {"surveys", "Surveys", "调研"},
    {"respondents", "Respondents", "受访人数"},
    {"satisfaction_mean", "Satisfaction", "满意度"},
    {"revision", "Revision", "版本"},
    {"corrections", "Corrections", "更正"},
};
#define N_COLUMNS (sizeof columns / sizeof columns[0])

static int add(struct op_buf *b, const char *s)
{
    return op_buf_append(b, s, strlen(s));
}

int sink_html_escape(struct op_buf *out, const char *s)
{
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        }
        if (rep ? add(out, rep) : op_buf_append(out, s, 1))
            return -1;
    }
    return 0;
}

int sink_url_encode(struct op_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            if (op_buf_append(out, p, 1))
                return -1;
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (op_buf_append(out, e, 3))
                return -1;
        }
    }
    return 0;
}

struct row {
    uint32_t code;
    json_t *r;
};

struct collect {
    struct op_map *windows; /* "KIND|window" set */
    const char *want;       /* the chosen window, second pass */
    size_t want_len;
    struct row *rows;
    size_t n_rows, cap_rows;
    int failed;
};

static int collect_windows(const char *key, const char *json, size_t len, void *opaque)
{
    struct collect *c = opaque;
    (void)json;
    (void)len;
    const char *bar = strrchr(key, '|');
    if (!bar)
        return 0;
    size_t wl = (size_t)(bar - key);
    if (!op_map_get(c->windows, key, wl) && op_map_put(c->windows, key, wl, (void *)1, NULL)) {
        c->failed = 1;
        return 1;
    }
    return 0;
}

static int collect_rows(const char *key, const char *json, size_t len, void *opaque)
{
    struct collect *c = opaque;
    if (strncmp(key, c->want, c->want_len) != 0 || key[c->want_len] != '|' ||
        strchr(key + c->want_len + 1, '|'))
        return 0;
    json_t *r = json_loadb(json, len, 0, NULL);
    const char *level = json_string_value(json_object_get(r, "level"));
    const char *region = json_string_value(json_object_get(r, "region"));
    if (!level || !region || strcmp(level, "COUNTY") == 0) {
        json_decref(r);
        return 0;
    }
    if (c->n_rows == c->cap_rows) {
        size_t cap = c->cap_rows ? c->cap_rows * 2 : 64;
        struct row *nr = realloc(c->rows, cap * sizeof *nr);
        if (!nr) {
            json_decref(r);
            c->failed = 1;
            return 1;
        }
        c->rows = nr;
        c->cap_rows = cap;
    }
    c->rows[c->n_rows].code = (uint32_t)strtoul(region, NULL, 10);
    c->rows[c->n_rows++].r = r;
    return 0;
}

static int cmp_row(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    return x->code < y->code ? -1 : x->code > y->code;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A cell's text: strings as they are, integers in decimal, null as an em dash. */
static int cell(struct op_buf *out, json_t *v)
{
    char num[32];
    if (json_is_string(v))
        return sink_html_escape(out, json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return add(out, num);
    }
    return add(out, "\xE2\x80\x94");
}

static const char style[] =
    "body{font-family:'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','Microsoft YaHei',"
    "sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}"
    "th,td{border:1px solid #bbb;padding:.25em .6em}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums}tr.province{background:#eef3fb;font-weight:bold}"
    "tr.prefecture td.name{padding-left:2em}header{display:flex;justify-content:space-between;"
    "border-bottom:3px solid #c0392b;padding-bottom:.4em}.brand{font-weight:bold;color:#c0392b}"
    ".cards{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}.card{border:1px solid #e3c4c0;"
    "border-radius:6px;padding:.6em 1.2em;min-width:12em;background:#fff8f6}.card .k{color:#777}"
    ".card .v{font-size:1.6em;font-weight:bold;color:#c0392b}.card small{font-size:.6em;"
    "margin-left:.2em}.tabs a{margin-right:1em}.tabs a.on{font-weight:bold;color:#c0392b;"
    "text-decoration:none;border-bottom:2px solid #c0392b}svg{display:block;max-width:100%;"
    "height:auto;font-size:13px}svg text{fill:#333}rect.bar{fill:#c0392b}a:hover rect.bar{"
    "fill:#e67e22}svg a text.label{fill:#1a4f9c;text-decoration:underline}.split{display:flex;"
    "gap:2em;flex-wrap:wrap}.split>div{flex:1;min-width:30em}polyline.line{fill:none;"
    "stroke:#c0392b;stroke-width:2}circle.pt{fill:#c0392b}line.grid{stroke:#ddd}"
    "text.axis{fill:#777;font-size:11px}.note{color:#777;font-size:.9em}";

/* What both views show: the sorted window names, the chosen window and its province and
 * prefecture rows in code order. Free with view_free. */
struct view {
    struct collect c;
    char **names;
    size_t n_names;
    const char *chosen;
};

static void view_free(struct view *v)
{
    for (size_t i = 0; i < v->c.n_rows; i++)
        json_decref(v->c.rows[i].r);
    free(v->c.rows);
    for (size_t i = 0; i < v->n_names; i++)
        free(v->names[i]);
    free(v->names);
    op_map_destroy(v->c.windows, NULL);
}

/* The window: `window` if the store has it, else `fallback` if it has that, else ALL|all, else
 * the first in byte order. */
static int view_build(const struct sink_store *s, const char *window, const char *fallback,
                      struct view *v)
{
    memset(v, 0, sizeof *v);
    v->c.windows = op_map_new();
    if (!v->c.windows)
        return -1;
    sink_store_foreach(s, collect_windows, &v->c);
    if (v->c.failed)
        return -1;
    v->names = malloc((op_map_size(v->c.windows) + 1) * sizeof *v->names);
    if (!v->names)
        return -1;
    size_t pos = 0, kl;
    const char *k;
    void *val;
    while (op_map_next(v->c.windows, &pos, &k, &kl, &val)) {
        v->names[v->n_names] = strndup(k, kl);
        if (!v->names[v->n_names])
            return -1;
        v->n_names++;
    }
    qsort(v->names, v->n_names, sizeof *v->names, cmp_str);
    for (size_t i = 0; i < v->n_names && window; i++)
        if (strcmp(v->names[i], window) == 0)
            v->chosen = v->names[i];
    for (size_t i = 0; i < v->n_names && fallback && !v->chosen; i++)
        if (strcmp(v->names[i], fallback) == 0)
            v->chosen = v->names[i];
    for (size_t i = 0; i < v->n_names && !v->chosen; i++)
        if (strcmp(v->names[i], "ALL|all") == 0)
            v->chosen = v->names[i];
    if (!v->chosen && v->n_names)
        v->chosen = v->names[0];
    if (v->chosen) {
        v->c.want = v->chosen;
        v->c.want_len = strlen(v->chosen);
        sink_store_foreach(s, collect_rows, &v->c);
        if (v->c.failed)
            return -1;
        qsort(v->c.rows, v->c.n_rows, sizeof *v->c.rows, cmp_row);
    }
    return 0;
}

/* The page's words in Chinese and English. */
struct words {
    const char *html_lang, *title, *other_lang, *other_lang_name, *table, *window, *show, *more,
        *empty;
};
static const struct words zh_words = {
    "zh-CN",
    "送温暖 数据看板",
    "en",
    "English",
    "明细表",
    "统计窗口",
    "查看",
    "县级及全部字段：<a href=\"/rollups\">/rollups</a>；计数：<a href=\"/stats\">/stats</a>。",
    "尚未收到汇总数据。",
};
static const struct words en_words = {
    "en",
    "Send warmth dashboard",
    "zh",
    "中文",
    "Detail table",
    "Window",
    "Show",
    "Counties and every field: <a href=\"/rollups\">/rollups</a>; counters: "
    "<a href=\"/stats\">/stats</a>.",
    "No rollups received yet.",
};

/* The same query with lang switched: the link of the language switch, NUL-terminated. */
static int lang_link(struct op_buf *b, const struct sink_page_query *q, const char *campaign,
                     int zh)
{
    if (add(b, "/?lang=") || add(b, zh ? "en" : "zh"))
        return -1;
    if (campaign && campaign[0] && (add(b, "&campaign=") || sink_url_encode(b, campaign)))
        return -1;
    if (q->region && (add(b, "&region=") || sink_url_encode(b, q->region)))
        return -1;
    if (q->metric && (add(b, "&metric=") || sink_url_encode(b, q->metric)))
        return -1;
    if (q->window && (add(b, "&window=") || sink_url_encode(b, q->window)))
        return -1;
    return op_buf_append(b, "", 1);
}

int sink_page_render(const struct sink_store *s, const struct op_regions *regions,
                     const struct sink_page_query *q, struct op_buf *out, char *errstr,
                     size_t errstr_size)
{
    struct sink_dash_opts o = {q->campaign, 0, SINK_METRIC_FUNDING, 1};
    if (q->lang && strcmp(q->lang, "zh") != 0 && strcmp(q->lang, "en") != 0) {
        op_set_err(errstr, errstr_size, "lang: zh or en");
        return -2;
    }
    o.zh = !q->lang || strcmp(q->lang, "zh") == 0;
    if (q->metric && sink_metric_parse(q->metric, &o.metric) != 0) {
        op_set_err(errstr, errstr_size, "metric: funding, visits, workers or surveys");
        return -2;
    }
    if (q->region && q->region[0] &&
        (op_regions_parse_code(q->region, &o.region) != 0 || !op_regions_find(regions, o.region))) {
        op_set_err(errstr, errstr_size, "region: not a 6-digit code of the region table");
        return -2;
    }
    const struct words *w = o.zh ? &zh_words : &en_words;
    struct op_buf dash = OP_BUF_INIT, link = OP_BUF_INIT;
    char campaign[SINK_KEY_MAX], fallback[SINK_KEY_MAX + 16];
    struct view view;
    int rc = -1, have_view = 0;
    if (sink_dash_render(s, regions, &o, &dash, campaign, sizeof campaign) != 0)
        goto cleanup;
    snprintf(fallback, sizeof fallback, "CAMPAIGN|%s", campaign);
    if (view_build(s, q->window, fallback, &view) != 0) {
        view_free(&view);
        goto cleanup;
    }
    have_view = 1;
    struct collect c = view.c;
    char **names = view.names;
    size_t n_names = view.n_names;
    const char *chosen = view.chosen;

    if (lang_link(&link, q, campaign, o.zh) ||
        op_buf_printf(out,
                      "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width\"><title>%s",
                      w->html_lang, w->title) ||
        (campaign[0] && (add(out, " — ") || sink_html_escape(out, campaign))) ||
        add(out, "</title><style>") || add(out, style) ||
        op_buf_printf(out,
                      "</style></head>\n<body><header><span class=\"brand\">%s</span> "
                      "<a id=\"lang\" hreflang=\"%s\" href=\"",
                      w->title, w->other_lang) ||
        sink_html_escape(out, (const char *)link.data) ||
        op_buf_printf(out, "\">%s</a></header>\n", w->other_lang_name) ||
        op_buf_append(out, dash.data, dash.len) ||
        op_buf_printf(out,
                      "<section id=\"detail\"><h2>%s</h2>\n<form method=\"get\" action=\"/\">"
                      "<label>%s <select name=\"window\">",
                      w->table, w->window))
        goto cleanup;
    for (size_t i = 0; i < n_names; i++)
        if (add(out, "<option value=\"") || sink_html_escape(out, names[i]) ||
            add(out, names[i] == chosen ? "\" selected>" : "\">") ||
            sink_html_escape(out, names[i]) || add(out, "</option>"))
            goto cleanup;
    char count[160];
    if (o.zh)
        snprintf(count, sizeof count, "共 %zu 个地区（省、市两级），库中汇总 %zu 条", c.n_rows,
                 sink_store_count(s));
    else
        snprintf(count, sizeof count, "%zu regions (provinces and prefectures) of %zu rollups",
                 c.n_rows, sink_store_count(s));
    if (add(out, "</select></label>") ||
        (campaign[0] && (add(out, "<input type=\"hidden\" name=\"campaign\" value=\"") ||
                         sink_html_escape(out, campaign) || add(out, "\">"))) ||
        (!o.zh && add(out, "<input type=\"hidden\" name=\"lang\" value=\"en\">")) ||
        op_buf_printf(out, " <button type=\"submit\">%s</button></form>\n<p><strong id=\"window\">",
                      w->show) ||
        (chosen && sink_html_escape(out, chosen)) || add(out, "</strong>: ") || add(out, count) ||
        add(out, ". ") || add(out, w->more) ||
        add(out, "</p>\n<table id=\"rollups\" data-window=\"") ||
        (chosen && sink_html_escape(out, chosen)) || add(out, "\"><thead><tr>"))
        goto cleanup;
    for (size_t i = 0; i < N_COLUMNS; i++)
        if (add(out, "<th>") || add(out, columns[i][o.zh ? 2 : 1]) || add(out, "</th>"))
            goto cleanup;
    if (add(out, "</tr></thead>\n<tbody>\n"))
        goto cleanup;
    for (size_t i = 0; i < c.n_rows; i++) {
        json_t *r = c.rows[i].r;
        const char *level = json_string_value(json_object_get(r, "level"));
        const char *key = json_string_value(json_object_get(r, "key"));
        if (add(out, strcmp(level, "PROVINCE") == 0 ? "<tr class=\"province\" data-key=\""
                                                    : "<tr class=\"prefecture\" data-key=\""))
            goto cleanup;
        if (key ? sink_html_escape(out, key)
                : (sink_html_escape(out, chosen) || add(out, "|") ||
                   sink_html_escape(out, json_string_value(json_object_get(r, "region")))))
            goto cleanup;
        if (add(out, "\">"))
            goto cleanup;
        for (size_t k = 0; k < N_COLUMNS; k++) {
            json_t *v = json_object_get(r, columns[k][0]);
            const char *cls = k == 1 ? "name" : json_is_string(v) ? "t" : "n";
            /* The level in the reader's language; the symbol itself stays in data-value. */
            const char *shown = strcmp(columns[k][0], "level") == 0 && json_is_string(v)
                                    ? op_label(OP_LABEL_LEVEL, json_string_value(v), o.zh)
                                    : NULL;
            if (add(out, "<td class=\"") || add(out, cls) || add(out, "\" data-field=\"") ||
                add(out, columns[k][0]) || add(out, "\""))
                goto cleanup;
            /* Corrections link to the audit entries of the region (and the regions under it);
             * the count stays in data-value. */
            int audit_link = strcmp(columns[k][0], "corrections") == 0 && json_is_integer(v) &&
                             json_integer_value(v) > 0;
            if (audit_link) {
                if (add(out, " data-value=\"") || cell(out, v) ||
                    add(out, "\"><a class=\"audit\" href=\"/audit.html?region=") ||
                    sink_url_encode(out, json_string_value(json_object_get(r, "region"))
                                             ? json_string_value(json_object_get(r, "region"))
                                             : "") ||
                    add(out, o.zh ? "" : "&amp;lang=en") || add(out, "\">") || cell(out, v) ||
                    add(out, " →</a>"))
                    goto cleanup;
            } else if (shown ? add(out, " data-value=\"") || cell(out, v) || add(out, "\">") ||
                                   add(out, shown)
                             : add(out, ">") || cell(out, v))
                goto cleanup;
            if (add(out, "</td>"))
                goto cleanup;
        }
        if (add(out, "</tr>\n"))
            goto cleanup;
    }
    if (add(out, "</tbody></table>\n"))
        goto cleanup;
    if (n_names == 0 && op_buf_printf(out, "<p id=\"empty\">%s</p>\n", w->empty))
        goto cleanup;
    if (add(out, "</section></body></html>\n"))
        goto cleanup;
    rc = 0;
cleanup:
    if (have_view)
        view_free(&view);
    op_buf_free(&dash);
    op_buf_free(&link);
    return rc;
}

/* Display columns of UTF-8 text: East Asian characters (U+1100 and up, roughly) take two. */
static size_t display_width(const char *t)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        if ((*p & 0xC0) == 0x80)
            continue;
        w += *p >= 0xE1 ? 2 : 1;
    }
    return w;
}

static int pad(struct op_buf *out, const char *text, size_t width, int right)
{
    size_t w = display_width(text);
    for (size_t i = w; right && i < width; i++)
        if (add(out, " "))
            return -1;
    if (add(out, text))
        return -1;
    for (size_t i = w; !right && i < width; i++)
        if (add(out, " "))
            return -1;
    return 0;
}

int sink_table_render(const struct sink_store *s, const char *window, struct op_buf *out)
{
    struct view v;
    int rc = -1;
    if (view_build(s, window, NULL, &v) != 0)
        goto cleanup;
    /* Width of each column: the longest of its header and its cells. */
    size_t width[N_COLUMNS];
    char cellbuf[64];
    for (size_t k = 0; k < N_COLUMNS; k++)
        width[k] = display_width(columns[k][1]);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            char title[512];
            snprintf(title, sizeof title, "%s: %zu provinces and prefectures\n",
                     v.chosen ? v.chosen : "(no rollups yet)", v.c.n_rows);
            if (add(out, title))
                goto cleanup;
            for (size_t k = 0; k < N_COLUMNS; k++)
                if (pad(out, columns[k][1], width[k], k > 2) ||
                    add(out, k + 1 < N_COLUMNS ? "  " : "\n"))
                    goto cleanup;
        }
        for (size_t i = 0; i < v.c.n_rows; i++) {
            json_t *r = v.c.rows[i].r;
            int prefecture =
                strcmp(json_string_value(json_object_get(r, "level")), "PROVINCE") != 0;
            for (size_t k = 0; k < N_COLUMNS; k++) {
                json_t *j = json_object_get(r, columns[k][0]);
                const char *text = cellbuf;
                if (json_is_string(j))
                    text = json_string_value(j);
                else if (json_is_integer(j))
                    snprintf(cellbuf, sizeof cellbuf, "%" JSON_INTEGER_FORMAT,
                             json_integer_value(j));
                else
                    snprintf(cellbuf, sizeof cellbuf, "-");
                char named[256];
                if (k == 1) { /* prefectures indented under their province */
                    snprintf(named, sizeof named, "%s%s", prefecture ? "  " : "", text);
                    text = named;
                }
                if (pass == 0) {
                    size_t w = display_width(text);
                    if (w > width[k])
                        width[k] = w;
                } else if (pad(out, text, width[k], k > 2) ||
                           add(out, k + 1 < N_COLUMNS ? "  " : "\n"))
                    goto cleanup;
            }
        }
    }
    rc = 0;
cleanup:
    view_free(&v);
    return rc;
}
