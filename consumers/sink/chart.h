/* Server-rendered inline SVG for the sink's page: horizontal bar charts and a daily trend
 * line, every mark carrying its exact value in data attributes and a <title> tooltip. */
#ifndef SINK_CHART_H
#define SINK_CHART_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* What a value counts: money in fen (shown in yuan) or a plain count. */
enum sink_unit { SINK_UNIT_FEN, SINK_UNIT_COUNT };

/* The exact text of a value: yuan with two decimals ("12345.67", "-0.01") or the integer.
 * Writes at most size bytes (32 is always enough). */
void sink_fmt_exact(char *buf, size_t size, int64_t v, enum sink_unit unit);

/* The value for people: "1234.57万元" / "12.34万" from 10,000 up, else "1234.56元" / "42"
 * (zh); English: "12,345.67 yuan" / "12,345". size 48 is always enough. */
void sink_fmt_human(char *buf, size_t size, int64_t v, enum sink_unit unit, int zh);

struct sink_bar {
    const char *label; /* left of the bar (UTF-8, escaped here) */
    const char *id;    /* the value of the data-ATTR attribute (escaped here) */
    const char *href;  /* a link on the bar and label (escaped here), or NULL */
    int64_t value;
};

/* Appends <svg id="ID"> WIDTH pixels wide with one row per bar, in the given order: <rect
 * class="bar" data-ATTR="ID" data-value="EXACT"> holding <title>LABEL: HUMAN</title>. Negative
 * values draw no bar. 0 or -1 (allocation). */
int sink_chart_bars(struct op_buf *out, const char *id, const char *attr,
                    const struct sink_bar *bars, size_t n, enum sink_unit unit, int zh, int width);

struct sink_point {
    char day[11]; /* YYYY-MM-DD */
    int64_t value;
};

/* Appends <svg id="ID"> with a line through the points in the given order (one per day) and
 * a <circle class="pt" data-day="DAY" data-value="EXACT"> per point. 0 or -1. */
int sink_chart_trend(struct op_buf *out, const char *id, const struct sink_point *p, size_t n,
                     enum sink_unit unit, int zh);

#endif
