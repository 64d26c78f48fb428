/* outreach-audit's filters and table: pure functions over one audit entry as JSON, so the unit
 * tests exercise them without Kafka. */
#include "audit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "err.h"
#include "labels.h"
#include "money.h"
#include "timestamp.h"

int audit_parse_since(const char *s, int64_t *ms, char *errstr, size_t errstr_size)
{
    const char *why = NULL;
    size_t len = strlen(s);
    if (len == 10) {
        /* a day: its first moment in Asia/Shanghai */
        char full[32];
        snprintf(full, sizeof full, "%sT00:00:00+08:00", s);
        if (op_ts_parse(full, strlen(full), ms, &why) == 0)
            return 0;
    } else if (op_ts_parse(s, len, ms, &why) == 0) {
        return 0;
    }
    op_set_err(errstr, errstr_size,
               "--since %s: %s (expected YYYY-MM-DD, Asia/Shanghai, or an RFC 3339 time such as "
               "2025-01-16T08:00:00+08:00)",
               s, why ? why : "not a time");
    return -1;
}

int audit_parse_region(const struct op_regions *regs, const char *s, uint32_t *code, char *errstr,
                       size_t errstr_size)
{
    uint32_t c;
    if (op_regions_parse_code(s, &c) != 0) {
        op_set_err(errstr, errstr_size,
                   "--region %s: expected a six-digit region code, e.g. 530100", s);
        return -1;
    }
    if (!op_regions_find(regs, c)) {
        op_set_err(errstr, errstr_size, "--region %s: no such region in the region table", s);
        return -1;
    }
    *code = c;
    return 0;
}

static const char *str_field(json_t *e, const char *name)
{
    const char *s = json_string_value(json_object_get(e, name));
    return s ? s : "";
}

static int change_under(json_t *change, uint32_t code, const struct op_regions *regs)
{
    uint32_t rc;
    if (op_regions_parse_code(str_field(change, "region"), &rc) != 0)
        return 0;
    if (rc == code)
        return 1;
    const struct op_region *chain[3];
    size_t n = op_regions_chain(regs, rc, chain);
    for (size_t i = 0; i < n; i++)
        if (chain[i]->code == code)
            return 1;
    return 0;
}

int audit_matches(const struct audit_filter *f, json_t *e, const struct op_regions *regs)
{
    if (f->agency && strcmp(str_field(e, "agency_id"), f->agency) != 0)
        return 0;
    if (f->event && strcmp(str_field(e, "event_id"), f->event) != 0)
        return 0;
    if (f->has_since) {
        json_t *t = json_object_get(e, "applied_at");
        if (!json_is_integer(t) || json_integer_value(t) < f->since_ms)
            return 0;
    }
    if (f->region) {
        json_t *changes = json_object_get(e, "changes");
        size_t i;
        json_t *c;
        int hit = 0;
        json_array_foreach(changes, i, c) if (change_under(c, f->region, regs))
        {
            hit = 1;
            break;
        }
        if (!hit)
            return 0;
    }
    return 1;
}

void audit_print_header(FILE *out)
{
    fputs("时间\t事件编号\t单位\t更正\t撤回\t原因\n", out);
}

/* Text on one line of the table: tabs, newlines and other control bytes become spaces. */
static void put_cell(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, out);
}

static void print_change(FILE *out, json_t *c, const struct op_regions *regs)
{
    const char *kind = str_field(c, "window_kind");
    const char *kind_zh = op_label(OP_LABEL_WINDOW_KIND, kind, 1);
    fputs("  ", out);
    put_cell(out, kind_zh ? kind_zh : kind);
    fputc(' ', out);
    put_cell(out, str_field(c, "window"));
    fputs("  ", out);
    put_cell(out, str_field(c, "region"));
    uint32_t code;
    const struct op_region *r = op_regions_parse_code(str_field(c, "region"), &code) == 0
                                    ? op_regions_find(regs, code)
                                    : NULL;
    const char *level = op_label(OP_LABEL_LEVEL, str_field(c, "level"), 1);
    fprintf(out, " %s(%s)", r ? r->name : "?", level ? level : str_field(c, "level"));
    /* in the order of the rollup's fields, whatever the map's order */
    json_t *d = json_object_get(c, "deltas");
    static const char *const order[] = {"funding_fen", "recipients", "visits",  "workers_reached",
                                        "households",  "staff",      "surveys", "enterprises",
                                        "respondents", "event_count"};
    int shown = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        json_t *v = json_object_get(d, order[i]);
        if (!json_is_integer(v))
            continue;
        shown++;
        int64_t x = json_integer_value(v);
        char num[40];
        if (!strcmp(order[i], "funding_fen"))
            op_money_yuan(x, 1, num, sizeof num);
        else
            snprintf(num, sizeof num, "%+" PRId64, x);
        fprintf(out, "  %s %s", op_label(OP_LABEL_FIGURE, order[i], 1), num);
    }
    /* keys this build does not know still show, by their field name */
    const char *k;
    json_t *v;
    json_object_foreach(d, k, v)
    {
        if (op_label(OP_LABEL_FIGURE, k, 1) || !json_is_integer(v))
            continue;
        fputs("  ", out);
        put_cell(out, k);
        fprintf(out, " %+" PRId64, (int64_t)json_integer_value(v));
        shown++;
    }
    /* the rollup got a new revision (its corrections count) without a figure changing */
    fputs(shown ? "\n" : "  数字未变\n", out);
}

int audit_print_entry(FILE *out, json_t *e, const struct op_regions *regs)
{
    char when[32];
    json_t *t = json_object_get(e, "applied_at");
    if (json_is_integer(t))
        op_ts_format_shanghai(json_integer_value(t), when, sizeof when);
    else
        snprintf(when, sizeof when, "-");
    fprintf(out, "%s\t", when);
    put_cell(out, str_field(e, "event_id"));
    fputc('\t', out);
    put_cell(out, str_field(e, "agency_id"));
    fputc('\t', out);
    json_t *from = json_object_get(e, "correction_from");
    if (json_is_integer(from))
        fprintf(out, "%" PRId64, (int64_t)json_integer_value(from));
    else
        fputs("无", out); /* nothing counted before: the correction came first */
    fprintf(out, "→%" PRId64 "\t%s\t",
            (int64_t)json_integer_value(json_object_get(e, "correction_to")),
            json_is_true(json_object_get(e, "retracted")) ? "是" : "否");
    const char *reason = json_string_value(json_object_get(e, "reason"));
    put_cell(out, reason && reason[0] ? reason : "-");
    fputc('\n', out);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(e, "changes"), i, c) print_change(out, c, regs);
    return ferror(out) ? -1 : 0;
}
