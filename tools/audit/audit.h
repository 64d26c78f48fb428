/* outreach-audit's logic: which audit entries (schemas/audit.v1.avsc, as the JSON
 * op_avrojson_to_json gives) match the filters, and how one is shown in the Chinese table. */
#ifndef AUDIT_AUDIT_H
#define AUDIT_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "regions.h"

struct audit_filter {
    uint32_t region;    /* 0: any; else a change's region is it or lies under it */
    const char *agency; /* NULL: any; else agency_id equals it */
    const char *event;  /* NULL: any; else event_id equals it */
    int has_since;
    int64_t since_ms; /* with has_since: applied_at >= since_ms */
};

/* --since: YYYY-MM-DD (midnight, Asia/Shanghai) or an RFC 3339 time with offset. Returns 0,
 * or -1 with the reason in errstr. */
int audit_parse_since(const char *s, int64_t *ms, char *errstr, size_t errstr_size);

/* --region: a six-digit code of the region table. Returns 0, or -1 with errstr. */
int audit_parse_region(const struct op_regions *regs, const char *s, uint32_t *code, char *errstr,
                       size_t errstr_size);

/* 1 when entry e matches every filter of f, else 0. A change's region lies under f->region
 * when f->region is in its ancestor chain; a code missing from the table matches itself only. */
int audit_matches(const struct audit_filter *f, json_t *e, const struct op_regions *regs);

/* The table's header line. */
void audit_print_header(FILE *out);

/* One entry: a line under the header (时间 = applied_at in Asia/Shanghai, 事件编号, 单位,
 * 更正 from→to, 撤回, 原因), then one indented line per change: window, region code, name
 * and level, and its deltas (money in yuan with two decimals). Returns 0 or -1 (write error). */
int audit_print_entry(FILE *out, json_t *e, const struct op_regions *regs);

#endif
