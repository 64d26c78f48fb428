/* outreach-sink's HTML page: one window's rollups as a province → prefecture table, every
 * number copied verbatim from the stored rollup JSON (the same text GET /rollups returns). */
#ifndef SINK_PAGE_H
#define SINK_PAGE_H

#include "buf.h"
#include "store.h"

/* Appends the page for `window` ("KIND|window", e.g. "CAMPAIGN|2025 两节送温暖"); NULL or an
 * unknown window shows "ALL|all" if present, else the first window in byte order. Each
 * row is <tr data-key="KEY"> with cells <td data-field="FIELD">. 0 or -1 (allocation). */
int sink_page_render(const struct sink_store *s, const char *window, struct op_buf *out);

/* Appends the same rows as plain text, columns aligned for a terminal (CJK characters
 * counted as two columns): what `make demo` prints. 0 or -1 (allocation). */
int sink_table_render(const struct sink_store *s, const char *window, struct op_buf *out);

/* Appends s with &, <, >, " and ' escaped. 0 or -1. */
int sink_html_escape(struct op_buf *out, const char *s);

/* Appends s percent-encoded for a query string value (all but A-Z a-z 0-9 - . _ ~). 0 or -1. */
int sink_url_encode(struct op_buf *out, const char *s);

#endif
