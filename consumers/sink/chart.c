/* Inline SVG charts for the sink's page, drawn on the server so the page needs no script and
 * no network. Positions are computed in double; the values shown are exact integers. */
#include "chart.h"

#include <stdio.h>
#include <string.h>

#include "page.h"

static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

void sink_fmt_exact(char *buf, size_t size, int64_t v, enum sink_unit unit)
{
    uint64_t m = magnitude(v);
    if (unit == SINK_UNIT_FEN)
        snprintf(buf, size, "%s%llu.%02llu", v < 0 ? "-" : "", (unsigned long long)(m / 100),
                 (unsigned long long)(m % 100));
    else
        snprintf(buf, size, "%s%llu", v < 0 ? "-" : "", (unsigned long long)m);
}

/* m with a comma every three digits. */
static void grouped(char *buf, size_t size, uint64_t m)
{
    char digits[24], outb[32];
    size_t n = (size_t)snprintf(digits, sizeof digits, "%llu", (unsigned long long)m), o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            outb[o++] = ',';
        outb[o++] = digits[i];
    }
    outb[o] = 0;
    snprintf(buf, size, "%s", outb);
}

void sink_fmt_human(char *buf, size_t size, int64_t v, enum sink_unit unit, int zh)
{
    uint64_t m = magnitude(v);
    const char *sign = v < 0 ? "-" : "";
    if (!zh) {
        char g[32];
        grouped(g, sizeof g, unit == SINK_UNIT_FEN ? m / 100 : m);
        if (unit == SINK_UNIT_FEN)
            snprintf(buf, size, "%s%s.%02llu yuan", sign, g, (unsigned long long)(m % 100));
        else
            snprintf(buf, size, "%s%s", sign, g);
        return;
    }
    /* 万 = 10,000 of the unit, shown with two decimals rounded half up. */
    uint64_t wan_unit = unit == SINK_UNIT_FEN ? 1000000 : 10000;
    if (m >= wan_unit) {
        uint64_t h = m / (wan_unit / 100) + (m % (wan_unit / 100) >= wan_unit / 200);
        snprintf(buf, size, "%s%llu.%02llu万%s", sign, (unsigned long long)(h / 100),
                 (unsigned long long)(h % 100), unit == SINK_UNIT_FEN ? "元" : "");
    } else if (unit == SINK_UNIT_FEN) {
        snprintf(buf, size, "%s%llu.%02llu元", sign, (unsigned long long)(m / 100),
                 (unsigned long long)(m % 100));
    } else {
        snprintf(buf, size, "%s%llu", sign, (unsigned long long)m);
    }
}

#define BAR_ROW 28
#define BAR_VALUE 120 /* room right of the longest bar for its value */

static int add(struct op_buf *b, const char *s)
{
    return op_buf_append(b, s, strlen(s));
}

int sink_chart_bars(struct op_buf *out, const char *id, const char *attr,
                    const struct sink_bar *bars, size_t n, enum sink_unit unit, int zh, int width)
{
    const int label_w = width / 4, bar_max = width - label_w - BAR_VALUE;
    int64_t max = 0;
    for (size_t i = 0; i < n; i++)
        if (bars[i].value > max)
            max = bars[i].value;
    size_t h = (n ? n : 1) * BAR_ROW + 12;
    if (op_buf_printf(out,
                      "<svg id=\"%s\" class=\"chart bars\" xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"%d\" height=\"%zu\" viewBox=\"0 0 %d %zu\" role=\"img\">\n",
                      id, width, h, width, h))
        return -1;
    if (n == 0 && op_buf_printf(out, "<text x=\"%d\" y=\"24\" class=\"empty\">%s</text>\n", label_w,
                                zh ? "暂无数据" : "No data"))
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct sink_bar *b = &bars[i];
        char exact[32], human[48];
        sink_fmt_exact(exact, sizeof exact, b->value, unit);
        sink_fmt_human(human, sizeof human, b->value, unit, zh);
        double w = b->value > 0 && max > 0 ? (double)b->value / (double)max * bar_max : 0;
        if (b->value > 0 && w < 1)
            w = 1;
        size_t y = 6 + i * BAR_ROW;
        if (add(out, "<g class=\"row\">") ||
            (b->href &&
             (add(out, "<a href=\"") || sink_html_escape(out, b->href) || add(out, "\">"))) ||
            op_buf_printf(out, "<text x=\"%d\" y=\"%zu\" text-anchor=\"end\" class=\"label\">",
                          label_w - 8, y + 15) ||
            sink_html_escape(out, b->label) ||
            op_buf_printf(out,
                          "</text><rect class=\"bar\" x=\"%d\" y=\"%zu\" width=\"%.1f\" "
                          "height=\"20\" data-%s=\"",
                          label_w, y, w, attr) ||
            sink_html_escape(out, b->id) ||
            op_buf_printf(out, "\" data-value=\"%s\"><title>", exact) ||
            sink_html_escape(out, b->label) || op_buf_printf(out, ": %s</title></rect>", human) ||
            (b->href && add(out, "</a>")) ||
            op_buf_printf(out, "<text x=\"%.1f\" y=\"%zu\" class=\"val\">%s</text></g>\n",
                          label_w + w + 6, y + 15, human))
            return -1;
    }
    return add(out, "</svg>\n");
}

#define TR_W 960
#define TR_H 300
#define TR_LEFT 110
#define TR_RIGHT 30
#define TR_TOP 20
#define TR_BOTTOM 44

int sink_chart_trend(struct op_buf *out, const char *id, const struct sink_point *p, size_t n,
                     enum sink_unit unit, int zh)
{
    const double pw = TR_W - TR_LEFT - TR_RIGHT, ph = TR_H - TR_TOP - TR_BOTTOM;
    int64_t max = 0, min = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i].value > max)
            max = p[i].value;
        if (p[i].value < min)
            min = p[i].value;
    }
    double span = (double)max - (double)min;
    if (span <= 0)
        span = 1;
    if (op_buf_printf(out,
                      "<svg id=\"%s\" class=\"chart trend\" xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
                      id, TR_W, TR_H, TR_W, TR_H))
        return -1;
    if (n == 0)
        return op_buf_printf(out, "<text x=\"%d\" y=\"40\" class=\"empty\">%s</text></svg>\n",
                             TR_LEFT, zh ? "暂无数据" : "No data");
    /* Three horizontal grid lines: min, the middle, max. */
    for (int g = 0; g <= 2; g++) {
        double v = (double)min + span * g / 2;
        double y = TR_TOP + ph - (v - (double)min) / span * ph;
        char human[48];
        sink_fmt_human(human, sizeof human, (int64_t)v, unit, zh);
        if (op_buf_printf(
                out,
                "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"axis\">%s</text>\n",
                TR_LEFT, y, TR_LEFT + pw, y, TR_LEFT - 8, y + 4, human))
            return -1;
    }
    if (add(out, "<polyline class=\"line\" points=\""))
        return -1;
    for (size_t i = 0; i < n; i++) {
        double x = TR_LEFT + (n == 1 ? pw / 2 : pw * (double)i / (double)(n - 1));
        double y = TR_TOP + ph - ((double)p[i].value - (double)min) / span * ph;
        if (op_buf_printf(out, "%s%.1f,%.1f", i ? " " : "", x, y))
            return -1;
    }
    if (add(out, "\"/>\n"))
        return -1;
    size_t step = n / 8 + 1; /* at most ~9 date labels */
    for (size_t i = 0; i < n; i++) {
        double x = TR_LEFT + (n == 1 ? pw / 2 : pw * (double)i / (double)(n - 1));
        double y = TR_TOP + ph - ((double)p[i].value - (double)min) / span * ph;
        char exact[32], human[48];
        sink_fmt_exact(exact, sizeof exact, p[i].value, unit);
        sink_fmt_human(human, sizeof human, p[i].value, unit, zh);
        if (op_buf_printf(out,
                          "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" data-day=\"%.10s\" "
                          "data-value=\"%s\"><title>%.10s: %s</title></circle>\n",
                          x, y, p[i].day, exact, p[i].day, human))
            return -1;
        if ((i % step == 0 || i + 1 == n) &&
            op_buf_printf(out,
                          "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"axis\">"
                          "%.5s</text>\n",
                          x, TR_H - TR_BOTTOM + 20, p[i].day + 5))
            return -1;
    }
    return add(out, "</svg>\n");
}
