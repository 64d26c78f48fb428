/* outreach-sink's HTML page: the campaign dashboard (dash.c, charts in chart.c), then one
 * window's rollups as a province → prefecture table, every number copied verbatim from the
 * stored rollup JSON (the same text GET /rollups returns). Chinese unless lang=en. */
#ifndef SINK_PAGE_H
#define SINK_PAGE_H

#include "buf.h"
#include "regions.h"
#include "store.h"

/* The page's query parameters, as received (NULL when absent). */
struct sink_page_query {
    const char *window;   /* the table's "KIND|window"; unknown: the campaign's, else ALL|all */
    const char *campaign; /* the dashboard's campaign; unknown: the latest */
    const char *region;   /* 6-digit code of the table to drill into; absent: the country */
    const char *lang;     /* "zh" (the default) or "en" */
    const char *metric;   /* "funding" (the default), "visits", "workers" or "surveys" */
};

/* Appends the page. Each table row is <tr data-key="KEY"> with cells <td data-field="FIELD">;
 * each chart bar a <rect class="bar" data-region="CODE" data-value="EXACT">. Returns 0, -1
 * (allocation) or -2 with errstr for a malformed lang, metric or region, or a region not in
 * regions. */
int sink_page_render(const struct sink_store *s, const struct op_regions *regions,
                     const struct sink_page_query *q, struct op_buf *out, char *errstr,
                     size_t errstr_size);

/* Appends the same rows as plain text, columns aligned for a terminal (CJK characters
 * counted as two columns): what `make demo` prints. 0 or -1 (allocation). */
int sink_table_render(const struct sink_store *s, const char *window, struct op_buf *out);

/* Appends s with &, <, >, " and ' escaped. 0 or -1. */
int sink_html_escape(struct op_buf *out, const char *s);

/* Appends s percent-encoded for a query string value (all but A-Z a-z 0-9 - . _ ~). 0 or -1. */
int sink_url_encode(struct op_buf *out, const char *s);

#endif
