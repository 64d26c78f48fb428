/* The Chinese header aliases. Names follow the Chinese in the schema docs (schemas/NAME.avsc) and
 * what union offices' statistics tables say; each field keeps its English name too. */
#include "aliases.h"

#include <string.h>

const struct producer_alias producer_aliases[] = {
    {"类型", "type", NULL},
    {"事件类型", "type", NULL},
    {"事件编号", "event_id", NULL},
    {"编号", "event_id", NULL},
    {"发生时间", "occurred_at", NULL},
    {"活动时间", "occurred_at", NULL},
    {"上报时间", "reported_at", NULL},
    {"填报时间", "reported_at", NULL},
    {"单位编号", "agency_id", NULL},
    {"机构编号", "agency_id", NULL},
    {"填报单位", "agency_id", NULL},
    {"行政区划代码", "region", NULL},
    {"地区代码", "region", NULL},
    {"区划代码", "region", NULL},
    {"活动名称", "campaign", NULL},
    {"专项活动", "campaign", NULL},
    {"备注", "note", NULL},
    /* corrections (visit.v3, funding.v3, survey.v2) */
    {"更正次数", "correction", NULL},
    {"撤回", "retracted", NULL},
    {"更正原因", "correction_reason", NULL},
    /* visit */
    {"活动类型", "activity", NULL},
    {"服务对象", "target_groups", NULL},
    {"慰问对象", "target_groups", "visit"},
    {"服务职工人次", "workers_reached", NULL},
    {"职工人次", "workers_reached", NULL},
    {"户数", "households", NULL},
    {"工作人员数", "staff", NULL},
    {"活动时长(分钟)", "duration_minutes", NULL},
    {"活动地点", "venue", NULL},
    /* funding */
    {"金额(分)", "amount_fen", NULL},
    {"资金来源", "source", NULL},
    {"资金用途", "purpose", NULL},
    {"受益人数", "recipients", NULL},
    {"受慰问职工人数", "recipients", NULL},
    {"慰问对象", "target_group", "funding"},
    {"受助对象", "target_group", NULL},
    {"发放方式", "disbursement", NULL},
    /* survey */
    {"调研方式", "method", NULL},
    {"调研企业数", "enterprises", NULL},
    {"受访职工人数", "respondents", NULL},
    {"受访人数", "respondents", NULL},
    {"调研主题", "topic", NULL},
    {"满意度1", "s1", NULL},
    {"满意度2", "s2", NULL},
    {"满意度3", "s3", NULL},
    {"满意度4", "s4", NULL},
    {"满意度5", "s5", NULL},
    {"急难愁盼", "needs", NULL},
    {"需求", "needs", NULL},
    {NULL, NULL, NULL},
};

/* The next character of s for comparison: spaces skipped, （ ） as ( ). Returns its length in
 * s (0 at the end) and the character in *c (a full-width bracket as '(' or ')'). */
static size_t next_char(const char *s, size_t n, size_t i, size_t *skip, const char **c)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    *skip = i;
    if (i >= n)
        return 0;
    if (n - i >= 3 && !memcmp(s + i, "\xEF\xBC\x88", 3)) { /* （ */
        *c = "(";
        return 3;
    }
    if (n - i >= 3 && !memcmp(s + i, "\xEF\xBC\x89", 3)) { /* ） */
        *c = ")";
        return 3;
    }
    *c = s + i;
    return 1;
}

static int same(const char *a, const char *name, size_t len)
{
    size_t al = strlen(a), i = 0, k = 0;
    for (;;) {
        const char *ca, *cb;
        size_t si, sk;
        size_t na = next_char(a, al, i, &si, &ca), nb = next_char(name, len, k, &sk, &cb);
        if (!na || !nb)
            return !na && !nb;
        if (*ca != *cb)
            return 0;
        i = si + na;
        k = sk + nb;
    }
}

const char *producer_alias_field(const char *name, size_t len, const char *type)
{
    for (const struct producer_alias *a = producer_aliases; a->alias; a++)
        if ((!type || !a->type || strcmp(type, a->type) == 0) && same(a->alias, name, len))
            return a->field;
    return NULL;
}

const char *producer_alias_hint(const char *name, size_t len)
{
    if (same("金额", name, len) || same("金额(元)", name, len) || same("金额(万元)", name, len))
        return " (amounts are in fen: name the column 金额(分) or amount_fen, and write 100 for "
               "1 yuan)";
    return "";
}
