/* outreach-gen: renders events as JSON Lines or CSV (the contract is in gen.h) and the
 * offices as ids and region prefixes. */
#include "gen_internal.h"

#include "calendar.h"

#include <string.h>

/* ---- enum symbols, in schema order ------------------------------------------------------ */

static const char *const act_sym[ACT_COUNT] = {
    "CONDOLENCE_VISIT",      "HOME_VISIT", "FORUM",       "FREE_CLINIC",
    "HEALTH_CHECK",          "LEGAL_AID",  "JOB_FAIR",    "SKILLS_TRAINING",
    "PSYCHOLOGICAL_SERVICE", "MEALS",      "PERFORMANCE", "OTHER"};

static const char *const grp_sym[GRP_COUNT] = {"HARDSHIP_WORKERS",
                                               "MIGRANT_WORKERS",
                                               "MODEL_WORKERS_CRAFTSMEN",
                                               "POLICE_FIRE_BORDER",
                                               "BORDER_FRONTLINE",
                                               "PUBLIC_SERVICE_FRONTLINE",
                                               "PLATEAU_LAKE_FRONTLINE",
                                               "ON_DUTY_HOLIDAY",
                                               "NEW_EMPLOYMENT_FORMS",
                                               "SANITATION",
                                               "CONSTRUCTION",
                                               "DISPATCHED_LABOR",
                                               "OTHER"};

static const char *const ven_sym[VEN_COUNT] = {"UNSPECIFIED",   "WORKPLACE",      "HOME",
                                               "UNION_STATION", "MOBILE_STATION", "COMMUNITY",
                                               "PUBLIC_SPACE",  "ONLINE",         "OTHER"};

static const char *const src_sym[SRC_COUNT] = {"UNION_FUNDS", "GOVERNMENT", "SOCIAL_CHARITY",
                                               "ENTERPRISE", "OTHER"};

static const char *const pur_sym[PUR_COUNT] = {
    "CASH_GRANT", "GOODS", "MEDICAL_MUTUAL_AID", "HARDSHIP_RELIEF", "SERVICE_PROJECT", "OTHER"};

static const char *const dis_sym[DIS_COUNT] = {
    "UNSPECIFIED", "CASH", "BANK_TRANSFER", "IN_KIND", "VOUCHER", "UNION_CARD", "OTHER"};

static const char *const met_sym[MET_COUNT] = {"FORUM", "FIELD_VISIT", "QUESTIONNAIRE", "MIXED",
                                               "OTHER"};

static const char *const top_sym[TOP_COUNT] = {"WAGES",  "SAFETY",       "HEALTH", "SKILLS",
                                               "RIGHTS", "SATISFACTION", "OTHER"};

static const char *const need_sym[NEED_COUNT] = {
    "WAGES_ARREARS", "HOUSING",          "CHILD_EDUCATION", "MEDICAL",         "SKILLS_TRAINING",
    "LEGAL",         "EMPLOYMENT",       "ELDER_CARE",      "TRANSPORT_HOME",  "PAY_RAISE",
    "MENTAL_HEALTH", "SOCIAL_INSURANCE", "MARRIAGE_DATING", "REST_FACILITIES", "OTHER"};

const char *const gen_type_name[3] = {"visit", "funding", "survey"};

/* Remarks as offices type them; one has ASCII quotes and one a comma so that the producer's
 * JSON unescaping and field splitting are exercised by ordinary runs. */
static const char *const notes[] = {
    [NOTE_CONDOLENCE] = "走访慰问坚守岗位一线职工",
    [NOTE_HOME] = "入户送上慰问金和米面油",
    [NOTE_FORUM] = "座谈了解职工急难愁盼",
    [NOTE_CLINIC] = "义诊: 量血压、测血糖",
    [NOTE_CHECK] = "移动体检车开进站点",
    [NOTE_LEGAL] = "普法宣传, 发放法律资料",
    [NOTE_JOB] = "就业带岗直播",
    [NOTE_SKILLS] = "技能提升培训",
    [NOTE_PSYCH] = "心理健康沙龙",
    [NOTE_MEALS] = "工会驿站爱心餐",
    [NOTE_PERF] = "文艺轻骑兵送演出",
    [NOTE_OTHER] = "送\"福袋\"、春联和免费理发",
    [NOTE_GRAIN] = "大米、面粉、食用油",
    [NOTE_CARD] = "慰问金打入工会卡",
    [NOTE_VOUCHER] = "福袋消费券",
    [NOTE_SCHOOL] = "帮扶困难职工子女就学",
    [NOTE_MUTUAL] = "职工医疗互助保障",
    [NOTE_CHARITY] = "爱心公益资金",
    [NOTE_BAIHETAN] = "白鹤滩水电站节日慰问",
    [NOTE_EAP] = "流动EAP服务驿站心理健康沙龙",
    [NOTE_BEILUN] = "圆通站点移动体检",
    [NOTE_CANGSHAN] = "仓前山社区工会驿站 米时和元宵",
    [NOTE_XIAMEN] = "工会会员服务日 工会集市",
};

/* ---- rendering --------------------------------------------------------------------------- */

struct out {
    char *p, *end;
};

/* Bounds-checked although LINE_CAP exceeds every possible line: memory safety must not
 * depend on that arithmetic staying right. */
static inline void put(struct out *o, const char *s, size_t n)
{
    if ((size_t)(o->end - o->p) < n)
        n = (size_t)(o->end - o->p);
    memcpy(o->p, s, n);
    o->p += n;
}

#define PUTS(o, lit) put((o), (lit), sizeof(lit) - 1)

static inline void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_u64(struct out *o, uint64_t v)
{
    char tmp[20];
    int i = 20;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, tmp + i, (size_t)(20 - i));
}

static void put_i64(struct out *o, int64_t v)
{
    if (v < 0) {
        PUTS(o, "-");
        put_u64(o, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(o, (uint64_t)v);
    }
}

static void put_digits(char *p, unsigned v, int n)
{
    while (n-- > 0) {
        p[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* "YYYY-MM-DDTHH:MM:SS+08:00" from Shanghai wall-clock seconds. */
static void put_ts(struct out *o, int64_t t)
{
    char b[25];
    int64_t day = t / 86400, y;
    unsigned sod = (unsigned)(t % 86400);
    int m, d;
    op_civil_from_days(day, &y, &m, &d);
    put_digits(b, (unsigned)y, 4);
    b[4] = '-';
    put_digits(b + 5, (unsigned)m, 2);
    b[7] = '-';
    put_digits(b + 8, (unsigned)d, 2);
    b[10] = 'T';
    put_digits(b + 11, sod / 3600, 2);
    b[13] = ':';
    put_digits(b + 14, sod / 60 % 60, 2);
    b[16] = ':';
    put_digits(b + 17, sod % 60, 2);
    memcpy(b + 19, "+08:00", 6);
    put(o, b, sizeof b);
}

static void put_code(struct out *o, uint32_t code)
{
    char b[6];
    put_digits(b, code, 6);
    put(o, b, 6);
}

static void put_event_id(struct out *o, const struct gen *g, uint64_t seq)
{
    char b[20];
    PUTS(o, "gen-");
    put_u64(o, g->o.seed);
    PUTS(o, "-");
    if (seq < 1000000) {
        put_digits(b, (unsigned)seq, 6);
        put(o, b, 6);
    } else {
        put_u64(o, seq);
    }
}

/* A JSON string: UTF-8 passes through, quotes, backslashes and controls are escaped. */
static void put_jstr(struct out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    PUTS(o, "\"");
    for (const char *run = s;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c && c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, run, (size_t)(s - run));
        if (!c)
            break;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(o, e, 2);
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(o, e, 6);
        }
        run = s + 1;
    }
    PUTS(o, "\"");
}

size_t gen_csv_cell(const char *s, size_t n, char *out, size_t out_size)
{
    size_t quotes = 0, len = 0;
    int quote = 0;
    for (size_t i = 0; i < n; i++) {
        quotes += s[i] == '"';
        quote |= s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    }
    /* The whole cell and its NUL must fit before anything is written. */
    if ((quote ? n + quotes + 2 : n) + 1 > out_size) {
        if (out_size)
            out[0] = '\0';
        return (size_t)-1;
    }
    if (quote)
        out[len++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (quote && s[i] == '"')
            out[len++] = '"';
        out[len++] = s[i];
    }
    if (quote)
        out[len++] = '"';
    out[len] = '\0';
    return len;
}

static void put_cstr(struct out *o, const char *s)
{
    char cell[256];
    size_t n = gen_csv_cell(s, strlen(s), cell, sizeof cell);
    if (n != (size_t)-1)
        put(o, cell, n);
}

static int in_campaign(const struct gen *g, const struct event *ev)
{
    int64_t day = ev->occurred / 86400;
    return day >= g->campaign_first && day <= g->campaign_last;
}

static void render_jsonl(const struct gen *g, const struct event *ev, struct out *o)
{
    PUTS(o, "{\"type\":\"");
    put_str(o, gen_type_name[ev->type]);
    PUTS(o, "\"");
    if (ev->has_id) {
        PUTS(o, ",\"event_id\":\"");
        put_event_id(o, g, ev->seq);
        PUTS(o, "\"");
    }
    PUTS(o, ",\"occurred_at\":\"");
    put_ts(o, ev->occurred);
    PUTS(o, "\",\"reported_at\":\"");
    put_ts(o, ev->reported);
    PUTS(o, "\",\"agency_id\":\"" AGENCY_PREFIX);
    put_code(o, ev->agency);
    PUTS(o, "\",\"region\":\"");
    put_code(o, ev->region);
    PUTS(o, "\"");
    if (in_campaign(g, ev))
        PUTS(o, ",\"campaign\":\"" CAMPAIGN_LABEL "\"");
    else if (ev->campaign_null)
        PUTS(o, ",\"campaign\":null");

    if (ev->type == T_VISIT) {
        PUTS(o, ",\"activity\":\"");
        put_str(o, act_sym[ev->v.activity]);
        PUTS(o, "\",\"target_groups\":[");
        for (unsigned i = 0; i < ev->v.ngroups; i++) {
            if (i)
                PUTS(o, ",");
            PUTS(o, "\"");
            put_str(o, grp_sym[ev->v.groups[i]]);
            PUTS(o, "\"");
        }
        PUTS(o, "],\"workers_reached\":");
        put_i64(o, ev->v.workers);
        PUTS(o, ",\"households\":");
        put_i64(o, ev->v.households);
        PUTS(o, ",\"staff\":");
        put_i64(o, ev->v.staff);
        if (ev->has_v2) {
            PUTS(o, ",\"duration_minutes\":");
            put_i64(o, ev->v.duration);
            PUTS(o, ",\"venue\":\"");
            put_str(o, ven_sym[ev->v.venue]);
            PUTS(o, "\"");
        }
    } else if (ev->type == T_FUNDING) {
        PUTS(o, ",\"amount_fen\":");
        put_i64(o, ev->f.amount);
        PUTS(o, ",\"source\":\"");
        put_str(o, src_sym[ev->f.source]);
        PUTS(o, "\",\"purpose\":\"");
        put_str(o, pur_sym[ev->f.purpose]);
        PUTS(o, "\",\"recipients\":");
        put_i64(o, ev->f.recipients);
        PUTS(o, ",\"target_group\":\"");
        put_str(o, grp_sym[ev->f.group]);
        PUTS(o, "\"");
        if (ev->has_v2) {
            PUTS(o, ",\"disbursement\":\"");
            put_str(o, dis_sym[ev->f.disb]);
            PUTS(o, "\"");
        }
    } else {
        PUTS(o, ",\"method\":\"");
        put_str(o, met_sym[ev->s.method]);
        PUTS(o, "\",\"enterprises\":");
        put_i64(o, ev->s.enterprises);
        PUTS(o, ",\"respondents\":");
        put_i64(o, ev->s.respondents);
        PUTS(o, ",\"topic\":\"");
        put_str(o, top_sym[ev->s.topic]);
        PUTS(o, "\",\"satisfaction\":{");
        for (int i = 0; i < 5; i++) {
            char key[8] = {',', '"', 's', (char)('1' + i), '"', ':'};
            put(o, key + (i == 0), (size_t)(6 - (i == 0)));
            put_i64(o, ev->s.sat[i]);
        }
        PUTS(o, "},\"needs\":[");
        for (unsigned i = 0; i < ev->s.nneeds; i++) {
            put_str(o, i ? ",{\"need\":\"" : "{\"need\":\"");
            put_str(o, need_sym[ev->s.needs[i]]);
            PUTS(o, "\",\"count\":");
            put_i64(o, ev->s.counts[i]);
            PUTS(o, "}");
        }
        PUTS(o, "]");
    }
    if (ev->note >= 0) {
        PUTS(o, ",\"note\":");
        put_jstr(o, notes[ev->note]);
    }
    if (ev->correction > 0) { /* an original leaves the v3 fields at their defaults */
        char why[128];
        gen_reason_text(ev, why, sizeof why);
        PUTS(o, ",\"correction\":");
        put_i64(o, ev->correction);
        if (ev->retracted)
            PUTS(o, ",\"retracted\":true");
        PUTS(o, ",\"correction_reason\":");
        put_jstr(o, why);
    }
    PUTS(o, "}\n");
}

static void render_csv(const struct gen *g, const struct event *ev, struct out *o)
{
    put_str(o, gen_type_name[ev->type]);
    PUTS(o, ",");
    if (ev->has_id)
        put_event_id(o, g, ev->seq);
    PUTS(o, ",");
    put_ts(o, ev->occurred);
    PUTS(o, ",");
    put_ts(o, ev->reported);
    PUTS(o, "," AGENCY_PREFIX);
    put_code(o, ev->agency);
    PUTS(o, ",");
    put_code(o, ev->region);
    PUTS(o, ",");
    if (in_campaign(g, ev))
        put_cstr(o, CAMPAIGN_LABEL);

    if (ev->type == T_VISIT) {
        PUTS(o, ",");
        put_str(o, act_sym[ev->v.activity]);
        PUTS(o, ",");
        for (unsigned i = 0; i < ev->v.ngroups; i++) {
            if (i)
                PUTS(o, ";");
            put_str(o, grp_sym[ev->v.groups[i]]);
        }
        PUTS(o, ",");
        put_i64(o, ev->v.workers);
        PUTS(o, ",");
        put_i64(o, ev->v.households);
        PUTS(o, ",");
        put_i64(o, ev->v.staff);
        PUTS(o, ",,,,,,,,,,,,,,,"); /* 5 funding + 10 survey cells */
    } else if (ev->type == T_FUNDING) {
        PUTS(o, ",,,,,,"); /* 5 visit cells */
        put_i64(o, ev->f.amount);
        PUTS(o, ",");
        put_str(o, src_sym[ev->f.source]);
        PUTS(o, ",");
        put_str(o, pur_sym[ev->f.purpose]);
        PUTS(o, ",");
        put_i64(o, ev->f.recipients);
        PUTS(o, ",");
        put_str(o, grp_sym[ev->f.group]);
        PUTS(o, ",,,,,,,,,,"); /* 10 survey cells */
    } else {
        PUTS(o, ",,,,,,,,,,,"); /* 5 visit + 5 funding cells */
        put_str(o, met_sym[ev->s.method]);
        PUTS(o, ",");
        put_i64(o, ev->s.enterprises);
        PUTS(o, ",");
        put_i64(o, ev->s.respondents);
        PUTS(o, ",");
        put_str(o, top_sym[ev->s.topic]);
        for (int i = 0; i < 5; i++) {
            PUTS(o, ",");
            put_i64(o, ev->s.sat[i]);
        }
        PUTS(o, ",");
        for (unsigned i = 0; i < ev->s.nneeds; i++) {
            if (i)
                PUTS(o, ";");
            put_str(o, need_sym[ev->s.needs[i]]);
            PUTS(o, ":");
            put_i64(o, ev->s.counts[i]);
        }
    }
    if (g->corrections) {
        PUTS(o, ",");
        if (ev->correction > 0) {
            char why[128];
            gen_reason_text(ev, why, sizeof why);
            put_i64(o, ev->correction);
            PUTS(o, ",");
            if (ev->retracted)
                PUTS(o, "true");
            PUTS(o, ",");
            put_cstr(o, why);
        } else
            PUTS(o, ",,");
    }
    PUTS(o, "\n");
}

size_t gen_render(const struct gen *g, const struct event *ev, char *line, size_t cap)
{
    struct out o = {line, line + cap};

    if (g->o.format == GEN_FORMAT_CSV)
        render_csv(g, ev, &o);
    else
        render_jsonl(g, ev, &o);
    return (size_t)(o.p - line);
}

int gen_agency_at(const struct gen *g, size_t i, char *id, size_t id_size, char *prefix,
                  size_t prefix_size)
{
    if (i >= g->noffices)
        return -1;
    const struct op_region *r = region_at(g, g->offices[i]);
    int digits = r->level == OP_REGION_PROVINCE ? 2 : r->level == OP_REGION_PREFECTURE ? 4 : 6;
    char code[7];
    put_digits(code, r->code, 6);
    code[6] = '\0';
    snprintf(id, id_size, AGENCY_PREFIX "%s", code);
    snprintf(prefix, prefix_size, "%.*s", digits, code);
    return 0;
}
