/* The sink's audit view (GET /audit.html?region=CODE): the corrections and retractions touching
 * a region or the regions under it, newest first, in Chinese (English with lang=en), linked
 * from the dashboard's 更正 column. Server-rendered, no script, like the page. */
#include "audit.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "labels.h"
#include "money.h"
#include "page.h"
#include "timestamp.h"

struct audit_words {
    const char *html_lang, *title, *all, *under, *count_pre, *count_post, *empty, *back,
        *other_lang, *other_lang_name, *yes, *no, *none;
    const char *cols[7];
};

static const struct audit_words zh = {
    "zh-CN",
    "更正记录",
    "全部地区",
    "及下辖地区",
    "共 ",
    " 条更正、撤回记录（最新的在前）",
    "暂无更正记录。",
    "← 返回统计",
    "en",
    "English",
    "是",
    "否",
    "无",
    {"时间", "事件编号", "单位", "更正", "撤回", "原因", "变更"},
};

static const struct audit_words en = {
    "en",
    "Corrections",
    "All regions",
    " and the regions under it",
    "",
    " corrections and retractions (newest first)",
    "No corrections yet.",
    "← Back to the figures",
    "zh",
    "中文",
    "yes",
    "no",
    "none",
    {"Applied", "Event", "Agency", "Correction", "Retracted", "Reason", "Changes"},
};

static const char style[] =
    "body{font-family:'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','Microsoft YaHei',"
    "sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}"
    "th,td{border:1px solid #bbb;padding:.25em .6em;vertical-align:top}"
    "header{display:flex;justify-content:space-between;border-bottom:3px solid #c0392b;"
    "padding-bottom:.4em}.brand{font-weight:bold;color:#c0392b}ul{margin:0;padding-left:1.2em}"
    "tr.retracted{background:#fbeeee}";

static int add(struct op_buf *b, const char *s)
{
    return op_buf_append(b, s, strlen(s));
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* One change: window, region name, the nonzero differences in the rollup's field order. */
static int change_item(struct op_buf *out, json_t *c, const struct op_regions *regions, int zhl)
{
    static const char *const order[] = {"funding_fen", "recipients", "visits",  "workers_reached",
                                        "households",  "staff",      "surveys", "enterprises",
                                        "respondents", "event_count"};
    const char *kind = str(c, "window_kind");
    const char *kind_name = op_label(OP_LABEL_WINDOW_KIND, kind, zhl);
    uint32_t code = 0;
    const struct op_region *r =
        op_regions_parse_code(str(c, "region"), &code) == 0 ? op_regions_find(regions, code) : NULL;
    if (add(out, "<li data-region=\"") || sink_html_escape(out, str(c, "region")) ||
        add(out, "\" data-window=\"") || sink_html_escape(out, kind) || add(out, "|") ||
        sink_html_escape(out, str(c, "window")) || add(out, "\">") ||
        sink_html_escape(out, kind_name ? kind_name : kind) || add(out, " ") ||
        sink_html_escape(out, str(c, "window")) || add(out, " · ") ||
        sink_html_escape(out, r ? r->name : str(c, "region")))
        return -1;
    json_t *d = json_object_get(c, "deltas");
    int shown = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        json_t *v = json_object_get(d, order[i]);
        if (!json_is_integer(v))
            continue;
        shown++;
        char num[OP_MONEY_YUAN_MAX + 8];
        if (strcmp(order[i], "funding_fen") == 0)
            op_money_yuan(json_integer_value(v), 1, num, sizeof num);
        else
            snprintf(num, sizeof num, "%+" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (add(out, " · ") || add(out, op_label(OP_LABEL_FIGURE, order[i], zhl)) ||
            op_buf_printf(out, " <span data-field=\"%s\">%s</span>", order[i], num))
            return -1;
    }
    if (!shown && add(out, zhl ? " · 数字未变" : " · no figure changed"))
        return -1;
    return add(out, "</li>");
}

static int entry_row(struct op_buf *out, json_t *e, const struct op_regions *regions,
                     const struct audit_words *w, int zhl)
{
    char when[32];
    json_t *at = json_object_get(e, "applied_at"), *from = json_object_get(e, "correction_from");
    int retracted = json_is_true(json_object_get(e, "retracted"));
    const char *reason = json_string_value(json_object_get(e, "reason"));
    op_ts_format_shanghai(json_integer_value(at), when, sizeof when);
    if (add(out, retracted ? "<tr class=\"retracted\" data-event=\"" : "<tr data-event=\"") ||
        sink_html_escape(out, str(e, "event_id")) ||
        op_buf_printf(out, "\" data-correction=\"%" JSON_INTEGER_FORMAT "\">",
                      json_integer_value(json_object_get(e, "correction_to"))) ||
        op_buf_printf(
            out, "<td data-field=\"applied_at\" data-value=\"%" JSON_INTEGER_FORMAT "\">%s</td>",
            json_integer_value(at), when) ||
        add(out, "<td data-field=\"event_id\">") || sink_html_escape(out, str(e, "event_id")) ||
        add(out, "</td><td data-field=\"agency_id\">") ||
        sink_html_escape(out, str(e, "agency_id")) ||
        add(out, "</td><td data-field=\"correction\">"))
        return -1;
    if (json_is_integer(from)
            ? op_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(from))
            : add(out, w->none))
        return -1;
    if (op_buf_printf(out, "→%" JSON_INTEGER_FORMAT "</td>",
                      json_integer_value(json_object_get(e, "correction_to"))) ||
        op_buf_printf(out, "<td data-field=\"retracted\" data-value=\"%s\">%s</td>",
                      retracted ? "true" : "false", retracted ? w->yes : w->no) ||
        add(out, "<td data-field=\"reason\">") ||
        sink_html_escape(out, reason && reason[0] ? reason : "—") ||
        add(out, "</td><td data-field=\"changes\"><ul>"))
        return -1;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(e, "changes"), i,
                       c) if (change_item(out, c, regions, zhl)) return -1;
    return add(out, "</ul></td></tr>\n");
}

int sink_audit_page(const struct sink_audit *a, const struct op_regions *regions, uint32_t code,
                    int zhl, struct op_buf *out)
{
    const struct audit_words *w = zhl ? &zh : &en;
    const struct op_region *r = code ? op_regions_find(regions, code) : NULL;
    char q[32] = "";
    if (code)
        snprintf(q, sizeof q, "region=%06u", (unsigned)code);
    size_t n;
    const char **texts = sink_audit_select(a, code, 0, &n);
    if (n == SIZE_MAX)
        return -1;
    int rc = -1;
    char count[160];
    snprintf(count, sizeof count, "%s%zu%s", w->count_pre, n, w->count_post);
    if (op_buf_printf(out,
                      "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width\"><title>%s — ",
                      w->html_lang, w->title) ||
        sink_html_escape(out, r ? r->name : w->all) || add(out, "</title><style>") ||
        add(out, style) ||
        op_buf_printf(out,
                      "</style></head>\n<body><header><span class=\"brand\">%s</span> "
                      "<a id=\"lang\" hreflang=\"%s\" href=\"/audit.html?%s%slang=%s\">%s</a>"
                      "</header>\n",
                      w->title, w->other_lang, q, q[0] ? "&amp;" : "", w->other_lang,
                      w->other_lang_name) ||
        op_buf_printf(out, "<p><a id=\"back\" href=\"/?%s%s%s\">%s</a></p>\n", q,
                      q[0] && !zhl ? "&amp;" : "", zhl ? "" : "lang=en", w->back) ||
        add(out, "<h1 id=\"region\"") ||
        (code && op_buf_printf(out, " data-region=\"%06u\"", (unsigned)code)) || add(out, ">") ||
        sink_html_escape(out, r ? r->name : w->all) ||
        (code && (op_buf_printf(out, "（%06u）", (unsigned)code) || add(out, w->under))) ||
        add(out, "</h1>\n<p id=\"count\">") || add(out, count) || add(out, "</p>\n"))
        goto cleanup;
    if (n == 0) {
        if (op_buf_printf(out, "<p id=\"empty\">%s</p>\n", w->empty))
            goto cleanup;
    } else {
        if (add(out, "<table id=\"audit\"><thead><tr>"))
            goto cleanup;
        for (int i = 0; i < 7; i++)
            if (op_buf_printf(out, "<th>%s</th>", w->cols[i]))
                goto cleanup;
        if (add(out, "</tr></thead>\n<tbody>\n"))
            goto cleanup;
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_loads(texts[i], 0, NULL);
            int bad = !e || entry_row(out, e, regions, w, zhl) != 0;
            json_decref(e);
            if (bad)
                goto cleanup;
        }
        if (add(out, "</tbody></table>\n"))
            goto cleanup;
    }
    rc = add(out, "</body></html>\n");
cleanup:
    free(texts);
    return rc;
}
