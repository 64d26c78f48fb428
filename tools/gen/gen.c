/* outreach-gen logic: draws events from weighted tables modelled on the seed article and
 * renders them as JSON Lines or CSV, with duplicates, late reports and id-less rows. */
#include "gen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CAMPAIGN_LABEL "2025 两节送温暖"
#define AGENCY_PREFIX "ACFTU-"

/* The longest line is far below this: a visit naming all 13 groups or a survey with all 15
 * needs and seven-digit counts stays under 1.2 KB in either format. */
#define LINE_CAP 4096
/* How far back a duplicate may reach: a district re-sending a recent export. */
#define RING_CAP 4096
/* Days before the main window and after it from which --outside-rate events are drawn:
 * surveys and services run all year, not only in the campaign. */
#define OUTSIDE_BEFORE 150
#define OUTSIDE_AFTER 60
/* Share (percent) of events that follow one of the article's own stories. */
#define ANCHOR_PCT 4
/* Retries before an id-less event that keeps colliding with an earlier one gets an id. */
#define UNIQUE_TRIES 64
/* Originals held back behind their correction (out of order), at most. */
#define PENDING_CAP 64
/* Event limits of common/event.h that a ×10 correction must respect. */
#define COUNT_MAX 10000000
#define AMOUNT_MAX INT64_C(100000000000)

enum ev_type { T_VISIT, T_FUNDING, T_SURVEY };

/* ---- enum symbols, in schema order ------------------------------------------------------ */

enum act {
    ACT_CONDOLENCE,
    ACT_HOME,
    ACT_FORUM,
    ACT_CLINIC,
    ACT_CHECK,
    ACT_LEGAL,
    ACT_JOB,
    ACT_SKILLS,
    ACT_PSYCH,
    ACT_MEALS,
    ACT_PERF,
    ACT_OTHER,
    ACT_COUNT
};
static const char *const act_sym[ACT_COUNT] = {
    "CONDOLENCE_VISIT",      "HOME_VISIT", "FORUM",       "FREE_CLINIC",
    "HEALTH_CHECK",          "LEGAL_AID",  "JOB_FAIR",    "SKILLS_TRAINING",
    "PSYCHOLOGICAL_SERVICE", "MEALS",      "PERFORMANCE", "OTHER"};

enum grp {
    GRP_HARDSHIP,
    GRP_MIGRANT,
    GRP_MODEL,
    GRP_POLICE,
    GRP_BORDER,
    GRP_PUBLIC,
    GRP_PLATEAU,
    GRP_ONDUTY,
    GRP_NEWEMP,
    GRP_SANIT,
    GRP_CONSTR,
    GRP_DISPATCH,
    GRP_OTHER,
    GRP_COUNT
};
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

enum ven {
    VEN_UNSPEC,
    VEN_WORK,
    VEN_HOME,
    VEN_STATION,
    VEN_MOBILE,
    VEN_COMMUNITY,
    VEN_PUBLIC,
    VEN_ONLINE,
    VEN_OTHER,
    VEN_COUNT
};
static const char *const ven_sym[VEN_COUNT] = {"UNSPECIFIED",   "WORKPLACE",      "HOME",
                                               "UNION_STATION", "MOBILE_STATION", "COMMUNITY",
                                               "PUBLIC_SPACE",  "ONLINE",         "OTHER"};

enum src { SRC_UNION, SRC_GOV, SRC_SOCIAL, SRC_ENT, SRC_OTHER, SRC_COUNT };
static const char *const src_sym[SRC_COUNT] = {"UNION_FUNDS", "GOVERNMENT", "SOCIAL_CHARITY",
                                               "ENTERPRISE", "OTHER"};

enum pur { PUR_CASH, PUR_GOODS, PUR_MEDICAL, PUR_HARDSHIP, PUR_SERVICE, PUR_OTHER, PUR_COUNT };
static const char *const pur_sym[PUR_COUNT] = {
    "CASH_GRANT", "GOODS", "MEDICAL_MUTUAL_AID", "HARDSHIP_RELIEF", "SERVICE_PROJECT", "OTHER"};

enum dis { DIS_UNSPEC, DIS_CASH, DIS_BANK, DIS_KIND, DIS_VOUCHER, DIS_CARD, DIS_OTHER, DIS_COUNT };
static const char *const dis_sym[DIS_COUNT] = {
    "UNSPECIFIED", "CASH", "BANK_TRANSFER", "IN_KIND", "VOUCHER", "UNION_CARD", "OTHER"};

enum met { MET_FORUM, MET_FIELD, MET_QUEST, MET_MIXED, MET_OTHER, MET_COUNT };
static const char *const met_sym[MET_COUNT] = {"FORUM", "FIELD_VISIT", "QUESTIONNAIRE", "MIXED",
                                               "OTHER"};

enum top {
    TOP_WAGES,
    TOP_SAFETY,
    TOP_HEALTH,
    TOP_SKILLS,
    TOP_RIGHTS,
    TOP_SATIS,
    TOP_OTHER,
    TOP_COUNT
};
static const char *const top_sym[TOP_COUNT] = {"WAGES",  "SAFETY",       "HEALTH", "SKILLS",
                                               "RIGHTS", "SATISFACTION", "OTHER"};

enum need {
    NEED_ARREARS,
    NEED_HOUSING,
    NEED_CHILD,
    NEED_MEDICAL,
    NEED_SKILLS,
    NEED_LEGAL,
    NEED_EMPLOY,
    NEED_ELDER,
    NEED_TRANSPORT,
    NEED_PAY,
    NEED_MENTAL,
    NEED_INSURANCE,
    NEED_DATING,
    NEED_REST,
    NEED_OTHER,
    NEED_COUNT
};
static const char *const need_sym[NEED_COUNT] = {
    "WAGES_ARREARS", "HOUSING",          "CHILD_EDUCATION", "MEDICAL",         "SKILLS_TRAINING",
    "LEGAL",         "EMPLOYMENT",       "ELDER_CARE",      "TRANSPORT_HOME",  "PAY_RAISE",
    "MENTAL_HEALTH", "SOCIAL_INSURANCE", "MARRIAGE_DATING", "REST_FACILITIES", "OTHER"};

static const char *const type_name[3] = {"visit", "funding", "survey"};

/* Remarks as offices type them; one has ASCII quotes and one a comma so that the producer's
 * JSON unescaping and field splitting are exercised by ordinary runs. */
enum note {
    NOTE_CONDOLENCE,
    NOTE_HOME,
    NOTE_FORUM,
    NOTE_CLINIC,
    NOTE_CHECK,
    NOTE_LEGAL,
    NOTE_JOB,
    NOTE_SKILLS,
    NOTE_PSYCH,
    NOTE_MEALS,
    NOTE_PERF,
    NOTE_OTHER, /* by Activity */
    NOTE_GRAIN,
    NOTE_CARD,
    NOTE_VOUCHER,
    NOTE_SCHOOL,
    NOTE_MUTUAL,
    NOTE_CHARITY, /* funding */
    NOTE_BAIHETAN,
    NOTE_EAP,
    NOTE_BEILUN,
    NOTE_CANGSHAN,
    NOTE_XIAMEN, /* the article */
};
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

/* ---- shapes: how big each kind of activity is -------------------------------------------- */

/* Activity mix and sizes per activity at county level (workers reached, staff, minutes). */
static const struct {
    uint16_t weight;
    uint16_t w_lo, w_hi, skew; /* workers reached; skew = factors in the product of uniforms */
    uint16_t st_lo, st_hi;     /* staff and volunteers */
    uint16_t d_lo, d_hi;       /* duration in minutes when reported */
    uint16_t scales;           /* grows with the level of the region */
} act_shape[ACT_COUNT] = {
    [ACT_CONDOLENCE] = {30, 5, 600, 2, 3, 15, 60, 240, 1},
    [ACT_HOME] = {25, 1, 6, 2, 2, 8, 20, 120, 0},
    [ACT_FORUM] = {7, 8, 60, 1, 3, 12, 60, 180, 1},
    [ACT_CLINIC] = {5, 30, 400, 2, 4, 20, 120, 360, 1},
    [ACT_CHECK] = {5, 20, 300, 2, 5, 20, 120, 480, 1},
    [ACT_LEGAL] = {5, 20, 800, 2, 3, 15, 60, 240, 1},
    [ACT_JOB] = {3, 50, 3000, 3, 5, 40, 120, 360, 1},
    [ACT_SKILLS] = {3, 15, 150, 1, 2, 10, 90, 480, 1},
    [ACT_PSYCH] = {4, 8, 80, 2, 1, 6, 60, 180, 1},
    [ACT_MEALS] = {6, 20, 400, 2, 4, 30, 90, 240, 1},
    [ACT_PERF] = {3, 80, 2000, 2, 10, 60, 90, 180, 1},
    [ACT_OTHER] = {4, 10, 500, 2, 2, 20, 60, 300, 1},
};

/* Who each activity serves (columns in TargetGroup order). */
static const uint16_t act_groups[ACT_COUNT][GRP_COUNT] = {
    [ACT_CONDOLENCE] = {15, 10, 8, 8, 6, 10, 4, 20, 10, 10, 8, 3, 3},
    [ACT_HOME] = {60, 5, 25, 10, 0, 0, 0, 0, 0, 0, 0, 0, 5},
    [ACT_FORUM] = {5, 15, 8, 2, 2, 20, 2, 5, 25, 5, 8, 5, 3},
    [ACT_CLINIC] = {8, 10, 2, 2, 2, 20, 2, 8, 20, 15, 10, 2, 5},
    [ACT_CHECK] = {5, 10, 2, 5, 2, 15, 2, 5, 30, 10, 10, 2, 5},
    [ACT_LEGAL] = {5, 45, 0, 0, 2, 2, 2, 2, 15, 3, 20, 15, 3},
    [ACT_JOB] = {20, 55, 0, 0, 2, 0, 0, 0, 10, 0, 5, 3, 10},
    [ACT_SKILLS] = {10, 30, 10, 0, 2, 5, 2, 2, 25, 2, 8, 4, 5},
    [ACT_PSYCH] = {5, 8, 2, 12, 2, 15, 2, 5, 20, 3, 30, 3, 3},
    [ACT_MEALS] = {10, 10, 2, 3, 2, 8, 2, 20, 30, 20, 10, 2, 3},
    [ACT_PERF] = {5, 20, 5, 5, 5, 10, 5, 20, 10, 5, 15, 3, 5},
    [ACT_OTHER] = {10, 10, 5, 5, 3, 10, 3, 10, 20, 10, 10, 5, 10},
};

/* Where each activity happens (columns in Venue order; UNSPECIFIED is chosen elsewhere). */
static const uint16_t act_venues[ACT_COUNT][VEN_COUNT] = {
    [ACT_CONDOLENCE] = {0, 70, 5, 5, 0, 10, 5, 0, 5},
    [ACT_HOME] = {0, 0, 95, 0, 0, 5, 0, 0, 0},
    [ACT_FORUM] = {0, 35, 0, 40, 0, 15, 0, 5, 5},
    [ACT_CLINIC] = {0, 30, 0, 20, 10, 20, 15, 0, 5},
    [ACT_CHECK] = {0, 45, 0, 15, 25, 10, 5, 0, 0},
    [ACT_LEGAL] = {0, 35, 0, 20, 5, 15, 15, 8, 2},
    [ACT_JOB] = {0, 10, 0, 10, 0, 15, 40, 20, 5},
    [ACT_SKILLS] = {0, 40, 0, 30, 0, 10, 0, 15, 5},
    [ACT_PSYCH] = {0, 25, 0, 35, 25, 10, 0, 5, 0},
    [ACT_MEALS] = {0, 20, 0, 45, 0, 25, 5, 0, 5},
    [ACT_PERF] = {0, 45, 0, 5, 0, 20, 25, 5, 0},
    [ACT_OTHER] = {0, 20, 0, 20, 5, 20, 25, 5, 5},
};

static const uint16_t pur_weight[PUR_COUNT] = {40, 30, 6, 12, 8, 4};
static const uint16_t pur_sources[PUR_COUNT][SRC_COUNT] = {
    [PUR_CASH] = {75, 10, 5, 8, 2},     [PUR_GOODS] = {65, 5, 12, 15, 3},
    [PUR_MEDICAL] = {85, 10, 0, 0, 5},  [PUR_HARDSHIP] = {60, 30, 8, 0, 2},
    [PUR_SERVICE] = {45, 10, 35, 8, 2}, [PUR_OTHER] = {40, 20, 20, 10, 10},
};
static const uint16_t pur_groups[PUR_COUNT][GRP_COUNT] = {
    [PUR_CASH] = {25, 6, 15, 6, 3, 6, 2, 15, 10, 8, 4, 0, 2},
    [PUR_GOODS] = {10, 10, 3, 4, 3, 8, 2, 15, 20, 20, 10, 3, 2},
    [PUR_MEDICAL] = {30, 20, 0, 0, 0, 5, 0, 0, 20, 5, 5, 10, 5},
    [PUR_HARDSHIP] = {85, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5},
    [PUR_SERVICE] = {5, 10, 0, 2, 2, 8, 2, 5, 40, 15, 15, 3, 5},
    [PUR_OTHER] = {10, 10, 5, 5, 5, 5, 5, 10, 10, 10, 10, 5, 10},
};
static const uint16_t pur_disb[PUR_COUNT][DIS_COUNT] = {
    [PUR_CASH] = {0, 40, 30, 0, 0, 25, 5},     [PUR_GOODS] = {0, 0, 0, 70, 25, 3, 2},
    [PUR_MEDICAL] = {0, 0, 60, 0, 0, 20, 20},  [PUR_HARDSHIP] = {0, 30, 60, 0, 0, 10, 0},
    [PUR_SERVICE] = {0, 0, 30, 10, 10, 0, 50}, [PUR_OTHER] = {0, 20, 20, 20, 10, 10, 20},
};
/* 慰问金 per worker in yuan, as offices hand it out: round sums from 500 to 2000. */
static const uint16_t cash_yuan[] = {500, 600, 800, 1000, 1000, 1200, 1500, 2000};

static const uint16_t met_weight[MET_COUNT] = {35, 20, 30, 12, 3};
static const struct {
    uint16_t e_lo, e_hi, e_zero_pct; /* enterprises; zero_pct: not enterprise-based */
    uint16_t r_lo, r_hi, r_skew;     /* respondents */
} met_shape[MET_COUNT] = {
    [MET_FORUM] = {1, 8, 0, 6, 50, 1},      [MET_FIELD] = {1, 15, 0, 10, 200, 2},
    [MET_QUEST] = {1, 60, 40, 40, 3000, 2}, [MET_MIXED] = {3, 20, 0, 80, 900, 2},
    [MET_OTHER] = {1, 10, 30, 10, 300, 2},
};
static const uint16_t top_weight[TOP_COUNT] = {15, 15, 15, 12, 18, 20, 5};
static const uint16_t top_needs[TOP_COUNT][NEED_COUNT] = {
    [TOP_WAGES] = {25, 2, 2, 2, 12, 3, 8, 0, 0, 35, 0, 8, 0, 0, 5},
    [TOP_SAFETY] = {2, 2, 0, 20, 8, 12, 2, 0, 0, 2, 10, 25, 0, 15, 5},
    [TOP_HEALTH] = {0, 2, 2, 35, 2, 0, 0, 5, 0, 0, 35, 4, 0, 12, 5},
    [TOP_SKILLS] = {0, 2, 2, 0, 50, 0, 15, 0, 0, 25, 0, 0, 0, 0, 6},
    [TOP_RIGHTS] = {25, 5, 3, 3, 0, 30, 5, 0, 0, 3, 0, 25, 0, 0, 6},
    [TOP_SATIS] = {3, 10, 12, 12, 5, 3, 5, 8, 15, 10, 6, 4, 6, 12, 5},
    [TOP_OTHER] = {5, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 5, 8, 8},
};
/* Answers on the 1-5 scale in per mille before jitter: mostly satisfied, a tail of 1s. */
static const uint16_t sat_profile[5] = {20, 50, 180, 420, 330};
static const uint16_t nneeds_weight[6] = {20, 25, 25, 18, 8, 4};

static const uint16_t type_weight[3] = {60, 30, 10};
/* Office levels (province, prefecture, county): a county office reports least each, but
 * there are so many that most events are theirs. */
static const uint16_t level_weight[3] = {7, 18, 75};
/* Hour of day an activity starts: mornings and mid-afternoons, a few evening meals and
 * shows; nothing starts after 20:59. */
static const uint16_t hour_weight[24] = {0, 0, 0, 0, 0, 0, 0, 1, 4, 9, 10, 8,
                                         3, 2, 6, 9, 9, 7, 3, 2, 1, 0, 0,  0};

/* ---- the event ---------------------------------------------------------------------------- */

/* Why a correction was made (struct event.why): what it changed, or a retraction's reason. */
#define WHY_AMOUNT 1u
#define WHY_COUNT 2u
#define WHY_REGION 4u
#define WHY_TIME 8u
#define WHY_RETRACT 0x80u /* | index into retract_reasons */

static const char *const fix_reasons[4] = {"金额录入错误", "人数录入错误", "区县填错",
                                           "活动日期填错"};
static const char *const retract_reasons[3] = {"重复上报", "活动未举办", "误报"};

/* One event as drawn. Presentation choices (null or omitted campaign, v2 fields written or
 * not) are part of it, so a duplicate re-renders to the same bytes. */
struct event {
    uint8_t type, has_id, has_v2, campaign_null, late, outside;
    uint8_t level;          /* of region: enum op_region_level */
    int8_t note;            /* index into notes, -1 for none */
    uint8_t retracted, why; /* corrections: WHY_* */
    int32_t correction;     /* 0: the original report */
    uint64_t seq;
    int64_t occurred, reported; /* Shanghai wall-clock seconds since 1970-01-01T00:00 */
    uint32_t agency, region;
    union {
        struct {
            uint8_t activity, venue, ngroups, groups[GRP_COUNT];
            int32_t workers, households, staff, duration;
        } v;
        struct {
            int64_t amount;
            uint8_t source, purpose, group, disb;
            int32_t recipients;
        } f;
        struct {
            uint8_t method, topic, nneeds, needs[NEED_COUNT];
            int32_t enterprises, respondents, sat[5], counts[NEED_COUNT];
        } s;
    };
};

struct gen;
struct anchor {
    uint32_t agency, region;
    uint8_t type;
    void (*fill)(struct gen *g, struct event *ev);
};

struct rng {
    uint64_t s[4];
};

struct gen {
    struct gen_opts o;
    const struct op_regions *regs;
    struct rng rng;
    uint64_t thr_dup, thr_late, thr_noid, thr_outside;

    size_t nregions;
    uint32_t *desc_end; /* per region index: end of the range of its descendants */
    uint32_t *offices;  /* selected offices as region indexes, code order */
    size_t noffices;
    uint32_t *by_level[3]; /* the same, split by level (province, prefecture, county) */
    size_t nlevel[3];

    int64_t day0;               /* first day of the date table */
    uint64_t *cum;              /* cumulative day weights */
    size_t ndays, in_lo, in_hi; /* main window: table indexes [in_lo, in_hi] */
    int64_t campaign_first, campaign_last;

    const struct anchor *anchors[32];
    size_t nanchors;

    struct event *ring; /* the last RING_CAP originals, for duplicates */
    size_t ring_n, ring_pos;

    /* Corrections (--correct-rate, --retract-rate): one draw per line, [0, thr_correct) a
     * correction, [thr_correct, thr_fix_end) a retraction. */
    int corrections; /* either rate > 0: also the CSV's three correction columns */
    uint64_t thr_correct, thr_fix_end;
    struct hist {
        struct event first, last; /* the original and the last version sent */
        int32_t max;              /* highest correction sent */
    } * hist;                     /* the last RING_CAP originals with an event_id */
    size_t hist_n, hist_pos;
    struct event pending[PENDING_CAP]; /* originals held back behind their correction */
    uint64_t pending_due[PENDING_CAP]; /* written once this many lines are out */
    size_t npending;
    struct event fix; /* the correction line being written */
    uint64_t *keys;   /* content keys of id-less events: open addressing, 0 = empty */
    size_t keys_cap, keys_n;

    uint64_t seq;
    int header_done;
    struct gen_stats st;
    char line[LINE_CAP];
};

/* ---- PRNG: xoshiro256** seeded by splitmix64, the same numbers on every platform ------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [lo, hi]: the top 32 bits scaled by the span, which avoids the modulo and is
 * unbiased to well below anything a test could see. */
static inline uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
    uint64_t span = (uint64_t)hi - lo + 1;
    return lo + (uint32_t)(((rng_next(r) >> 32) * span) >> 32);
}

/* In [lo, hi], skewed towards lo: the product of k uniforms (mean 1/2^k of the span) gives
 * the long right tail of real counts without floating point. */
static uint32_t rng_skew(struct rng *r, uint32_t lo, uint32_t hi, unsigned k)
{
    uint64_t f = UINT32_MAX;
    for (unsigned i = 0; i < k; i++)
        f = (f * (rng_next(r) >> 32)) >> 32;
    uint64_t span = (uint64_t)hi - lo + 1;
    return lo + (uint32_t)((f * span) >> 32);
}

static inline int rng_pct(struct rng *r, uint32_t pct)
{
    return rng_range(r, 0, 99) < pct;
}

/* True with the probability whose threshold rate_threshold() computed. */
static inline int rng_chance(struct rng *r, uint64_t thr)
{
    return (rng_next(r) >> 11) < thr;
}

/* p * 2^53 is exact in binary floating point, so the threshold is the same everywhere. */
static uint64_t rate_threshold(double p)
{
    return (uint64_t)(p * 9007199254740992.0);
}

/* Index drawn by integer weights; the last index (OTHER in every enum) if all are 0. */
static unsigned rng_pick(struct rng *r, const uint16_t *w, unsigned n)
{
    uint32_t sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += w[i];
    if (sum == 0)
        return n - 1;
    uint32_t x = rng_range(r, 0, sum - 1);
    for (unsigned i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* Draws up to k distinct indexes by weight into out; returns how many (fewer if the
 * weights run out). */
static unsigned rng_pick_distinct(struct rng *r, const uint16_t *weights, unsigned n, unsigned k,
                                  uint8_t *out)
{
    uint16_t w[16];
    unsigned got = 0;
    memcpy(w, weights, n * sizeof w[0]);
    while (got < k) {
        uint32_t sum = 0;
        for (unsigned i = 0; i < n; i++)
            sum += w[i];
        if (sum == 0)
            break;
        unsigned i = rng_pick(r, w, n);
        out[got++] = (uint8_t)i;
        w[i] = 0;
    }
    return got;
}

/* ---- calendar (proleptic Gregorian, H. Hinnant's algorithms) ------------------------------ */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int gen_parse_date(const char *s, int32_t *day)
{
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    unsigned y =
        (unsigned)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0'));
    unsigned m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    unsigned d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
    if (y < 2000 || y > 2099 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return -1;
    *day = (int32_t)days_from_civil(y, m, d);
    return 0;
}

/* Relative activity of a day: working days over weekends, the launch days of the campaign
 * and the week before Spring Festival (2025-01-29) busiest, the holiday itself quieter. */
static uint32_t day_weight(int64_t day)
{
    static const struct {
        unsigned y0, m0, d0, y1, m1, d1, factor; /* factor 0: a flat weight of 3 */
    } spans[] = {
        {2025, 1, 28, 2025, 2, 4, 0},
        {2024, 12, 20, 2024, 12, 24, 2},
        {2025, 1, 20, 2025, 1, 27, 2},
    };
    unsigned wd = (unsigned)((day % 7 + 11) % 7); /* 0 = Sunday: 1970-01-01 was a Thursday */
    uint32_t w = wd == 0 ? 2 : wd == 6 ? 3 : 5;
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
        if (day >= days_from_civil(spans[i].y0, spans[i].m0, spans[i].d0) &&
            day <= days_from_civil(spans[i].y1, spans[i].m1, spans[i].d1))
            return spans[i].factor ? w * spans[i].factor : 3;
    }
    return w;
}

/* ---- options --------------------------------------------------------------------------- */

enum opt_kind { OPT_U64, OPT_U32, OPT_RATE, OPT_DATE, OPT_FORMAT, OPT_TYPES };

/* One table drives parsing, defaults and --help. */
static const struct opt_def {
    const char *name, *arg;
    enum opt_kind kind;
    size_t off;
    const char *def, *help;
} opt_defs[] = {
    {"seed", "S", OPT_U64, offsetof(struct gen_opts, seed), NULL,
     "PRNG seed, 0..2^64-1 (required)"},
    {"events", "N", OPT_U64, offsetof(struct gen_opts, events), NULL,
     "event lines to write, duplicates included (required)"},
    {"format", "jsonl|csv", OPT_FORMAT, offsetof(struct gen_opts, format), "jsonl",
     "output format (see FORMATS)"},
    {"types", "LIST", OPT_TYPES, offsetof(struct gen_opts, types), "visit,funding,survey",
     "comma-separated, mixed 60:30:10"},
    {"start", "YYYY-MM-DD", OPT_DATE, offsetof(struct gen_opts, start_day), "2024-12-20",
     "first day of the main window, 2000..2099"},
    {"end", "YYYY-MM-DD", OPT_DATE, offsetof(struct gen_opts, end_day), "2025-02-12",
     "last day of the main window"},
    {"agencies", "K", OPT_U32, offsetof(struct gen_opts, agencies), "0",
     "distinct reporting offices, 0 = all"},
    {"dup-rate", "P", OPT_RATE, offsetof(struct gen_opts, dup_rate), "0.02",
     "share of lines repeating one of the last 4096 events"},
    {"late-rate", "P", OPT_RATE, offsetof(struct gen_opts, late_rate), "0.05",
     "share reported 2 to 10 weeks after occurring"},
    {"no-id-rate", "P", OPT_RATE, offsetof(struct gen_opts, no_id_rate), "0.1",
     "share without event_id (the producer derives it)"},
    {"outside-rate", "P", OPT_RATE, offsetof(struct gen_opts, outside_rate), "0.1",
     "share in the 150 days before or 60 after the window"},
    {"correct-rate", "P", OPT_RATE, offsetof(struct gen_opts, correct_rate), "0",
     "share of lines correcting one of the last 4096 events with an event_id (see CORRECTIONS)"},
    {"retract-rate", "P", OPT_RATE, offsetof(struct gen_opts, retract_rate), "0",
     "share of lines retracting one of them (retracted: true)"},
};
#define OPT_COUNT (sizeof opt_defs / sizeof opt_defs[0])

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_types(const char *s, unsigned *mask)
{
    unsigned m = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        unsigned bit = 0;
        for (unsigned t = 0; t < 3; t++)
            if (strlen(type_name[t]) == n && memcmp(s, type_name[t], n) == 0)
                bit = 1u << t;
        if (!bit)
            return -1;
        m |= bit;
        s += n;
        if (*s == ',' && *++s == '\0')
            return -1;
    }
    if (!m)
        return -1;
    *mask = m;
    return 0;
}

int gen_opts_set(struct gen_opts *opts, const char *name, const char *value, char *errstr,
                 size_t errstr_size)
{
    const struct opt_def *d = NULL;
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (strcmp(opt_defs[i].name, name) == 0)
            d = &opt_defs[i];
    if (!d) {
        snprintf(errstr, errstr_size, "--%s: unknown option", name);
        return -1;
    }
    if (!value) {
        snprintf(errstr, errstr_size, "--%s: needs a value (%s)", name, d->arg);
        return -1;
    }
    /* Each kind parses into a local and stores only on success: a bad value changes nothing. */
    char *p = (char *)opts + d->off;
    int ok = 0;
    switch (d->kind) {
    case OPT_U64: {
        uint64_t u;
        if ((ok = parse_u64(value, &u) == 0))
            memcpy(p, &u, sizeof u);
        break;
    }
    case OPT_U32: {
        uint64_t u;
        if ((ok = parse_u64(value, &u) == 0 && u <= UINT32_MAX)) {
            uint32_t v = (uint32_t)u;
            memcpy(p, &v, sizeof v);
        }
        break;
    }
    case OPT_RATE: {
        char *end;
        errno = 0;
        double r = strtod(value, &end);
        /* NaN fails both comparisons. */
        if ((ok = end != value && !*end && !errno && r >= 0.0 && r <= 1.0))
            memcpy(p, &r, sizeof r);
        break;
    }
    case OPT_DATE: {
        int32_t day;
        if ((ok = gen_parse_date(value, &day) == 0))
            memcpy(p, &day, sizeof day);
        break;
    }
    case OPT_FORMAT: {
        enum gen_format f = strcmp(value, "csv") == 0 ? GEN_FORMAT_CSV : GEN_FORMAT_JSONL;
        if ((ok = strcmp(value, "jsonl") == 0 || strcmp(value, "csv") == 0))
            memcpy(p, &f, sizeof f);
        break;
    }
    case OPT_TYPES: {
        unsigned m;
        if ((ok = parse_types(value, &m) == 0))
            memcpy(p, &m, sizeof m);
        break;
    }
    }
    if (!ok) {
        snprintf(errstr, errstr_size, "--%s: invalid value \"%s\" (expected %s)", name, value,
                 d->kind == OPT_RATE ? "a probability 0..1" : d->arg);
        return -1;
    }
    if (strcmp(name, "seed") == 0)
        opts->have_seed = 1;
    else if (strcmp(name, "events") == 0)
        opts->have_events = 1;
    return 0;
}

void gen_opts_init(struct gen_opts *opts)
{
    char err[128];
    memset(opts, 0, sizeof *opts);
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (opt_defs[i].def)
            (void)gen_opts_set(opts, opt_defs[i].name, opt_defs[i].def, err, sizeof err);
}

int gen_opts_check(const struct gen_opts *opts, char *errstr, size_t errstr_size)
{
    if (!opts->have_seed || !opts->have_events) {
        snprintf(errstr, errstr_size, "--%s is required", opts->have_seed ? "events" : "seed");
        return -1;
    }
    if (opts->start_day > opts->end_day) {
        snprintf(errstr, errstr_size, "--start is after --end");
        return -1;
    }
    if (!(opts->types & GEN_TYPE_ALL)) {
        snprintf(errstr, errstr_size, "--types: no type selected");
        return -1;
    }
    if (opts->correct_rate + opts->retract_rate > 1.0) {
        snprintf(errstr, errstr_size, "--correct-rate and --retract-rate add up to more than 1");
        return -1;
    }
    return 0;
}

void gen_opts_print_help(FILE *out)
{
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const struct opt_def *d = &opt_defs[i];
        char head[64];
        snprintf(head, sizeof head, "--%s %s", d->name, d->arg);
        fprintf(out, "  %-26s %s", head, d->help);
        if (d->def)
            fprintf(out, " [%s]", d->def);
        fputc('\n', out);
    }
}

/* ---- regions and offices ------------------------------------------------------------------ */

/* Table rows that group counties but have no union office of their own (北京 市辖区,
 * 省直辖县级行政区划, 重庆 县): an event is filed with the county or the province. */
static int is_pseudo_prefecture(const struct op_region *r)
{
    return r->level == OP_REGION_PREFECTURE &&
           (strcmp(r->name, "市辖区") == 0 || strcmp(r->name, "县") == 0 ||
            strstr(r->name, "直辖") != NULL);
}

static int is_border_province(uint32_t code)
{
    switch (code / 10000) {
    case 15:
    case 21:
    case 22:
    case 23:
    case 45:
    case 53:
    case 54:
    case 62:
    case 65:
        return 1;
    default:
        return 0;
    }
}

static uint32_t level_divisor(enum op_region_level level)
{
    return level == OP_REGION_PROVINCE ? 10000 : level == OP_REGION_PREFECTURE ? 100 : 1;
}

static const struct op_region *region_at(const struct gen *g, size_t i)
{
    return op_regions_at(g->regs, i);
}

/* A region of the given level among the descendants of region index oi, or oi itself if a
 * few tries find none: descendants are a contiguous run in code order. */
static uint32_t pick_descendant(struct gen *g, size_t oi, enum op_region_level level)
{
    uint32_t lo = (uint32_t)oi + 1, hi = g->desc_end[oi];
    if (hi <= lo)
        return (uint32_t)oi;
    for (int tries = 0; tries < 16; tries++) {
        uint32_t i = rng_range(&g->rng, lo, hi - 1);
        const struct op_region *r = region_at(g, i);
        if (r->level == level && !is_pseudo_prefecture(r))
            return i;
    }
    return (uint32_t)oi;
}

/* Region of an event by the office at region index oi: its own code, or below it. */
static uint32_t pick_region(struct gen *g, size_t oi)
{
    const struct op_region *o = region_at(g, oi);
    uint32_t x;
    switch (o->level) {
    case OP_REGION_PROVINCE:
        x = rng_range(&g->rng, 0, 99);
        if (x < 25)
            return pick_descendant(g, oi, OP_REGION_COUNTY);
        if (x < 45)
            return pick_descendant(g, oi, OP_REGION_PREFECTURE);
        return (uint32_t)oi;
    case OP_REGION_PREFECTURE:
        if (rng_pct(&g->rng, 45))
            return pick_descendant(g, oi, OP_REGION_COUNTY);
        return (uint32_t)oi;
    default:
        return (uint32_t)oi;
    }
}

/* ---- the article's own stories ------------------------------------------------------------ */

/* Minutes as offices note them: in tens. */
static void set_duration(struct gen *g, struct event *ev, unsigned duration_lo,
                         unsigned duration_hi)
{
    ev->v.duration =
        (int32_t)(duration_lo + 10 * rng_range(&g->rng, 0, (duration_hi - duration_lo) / 10));
}

static void anchor_yunnan_funding(struct gen *g, struct event *ev)
{
    /* 云南省总: 4000余万元 over 8 groups, so 350..650万元 per group and disbursement. */
    static const uint8_t groups[8] = {GRP_HARDSHIP, GRP_MIGRANT, GRP_MODEL,   GRP_POLICE,
                                      GRP_BORDER,   GRP_PUBLIC,  GRP_PLATEAU, GRP_ONDUTY};
    static const uint16_t purposes[PUR_COUNT] = {55, 25, 0, 20, 0, 0};
    ev->f.group = groups[rng_range(&g->rng, 0, 7)];
    ev->f.source = SRC_UNION;
    ev->f.purpose = (uint8_t)rng_pick(&g->rng, purposes, PUR_COUNT);
    ev->f.amount = (int64_t)rng_range(&g->rng, 350, 650) * 1000000;
    ev->f.recipients = (int32_t)(ev->f.amount / ((int64_t)rng_range(&g->rng, 800, 2000) * 100));
    ev->f.disb = (uint8_t)rng_pick(&g->rng, pur_disb[ev->f.purpose], DIS_COUNT);
}

static void anchor_yunnan_visit(struct gen *g, struct event *ev)
{
    /* The provincial 慰问组 at 巧家县: 白鹤滩 site, a 劳模 and a 困难职工 at home, a forum
     * with 10 bus drivers and 10 riders. */
    uint32_t x = rng_range(&g->rng, 0, 99);
    if (x < 50) {
        ev->v.activity = ACT_CONDOLENCE;
        ev->v.groups[ev->v.ngroups++] = GRP_ONDUTY;
        ev->v.workers = (int32_t)rng_range(&g->rng, 200, 400);
        ev->v.staff = (int32_t)rng_range(&g->rng, 10, 15);
        ev->v.venue = VEN_WORK;
        ev->note = rng_pct(&g->rng, 50) ? NOTE_BAIHETAN : -1;
        set_duration(g, ev, 90, 180);
    } else if (x < 80) {
        ev->v.activity = ACT_HOME;
        ev->v.groups[ev->v.ngroups++] = rng_pct(&g->rng, 50) ? GRP_MODEL : GRP_HARDSHIP;
        ev->v.workers = ev->v.households = 1;
        ev->v.staff = (int32_t)rng_range(&g->rng, 4, 8);
        ev->v.venue = VEN_HOME;
        set_duration(g, ev, 30, 90);
    } else {
        ev->v.activity = ACT_FORUM;
        ev->v.groups[ev->v.ngroups++] = GRP_PUBLIC;
        ev->v.groups[ev->v.ngroups++] = GRP_NEWEMP;
        ev->v.workers = (int32_t)rng_range(&g->rng, 18, 22);
        ev->v.staff = 6;
        ev->v.venue = VEN_STATION;
        set_duration(g, ev, 60, 120);
    }
}

static void anchor_tianshan_goods(struct gen *g, struct event *ev)
{
    /* 天山区总: rice, flour and oil for 2100余 sanitation workers. */
    ev->f.group = GRP_SANIT;
    ev->f.source = SRC_UNION;
    ev->f.purpose = PUR_GOODS;
    ev->f.recipients = (int32_t)rng_range(&g->rng, 2000, 2200);
    ev->f.amount = (int64_t)ev->f.recipients * rng_range(&g->rng, 150, 250) * 100;
    ev->f.disb = DIS_KIND;
    ev->note = rng_pct(&g->rng, 70) ? NOTE_GRAIN : -1;
}

static void anchor_liuzhou_survey(struct gen *g, struct event *ev)
{
    /* 柳州市总: 12 enterprises by 座谈, 实地走访 and 问卷 on 能级工资; one survey, MIXED. */
    int32_t r = (int32_t)rng_range(&g->rng, 240, 480);
    ev->s.method = MET_MIXED;
    ev->s.enterprises = (int32_t)rng_range(&g->rng, 10, 14);
    ev->s.respondents = r;
    ev->s.topic = TOP_WAGES;
    ev->s.needs[0] = NEED_PAY;
    ev->s.counts[0] = r * (int32_t)rng_range(&g->rng, 50, 65) / 100;
    ev->s.needs[1] = NEED_SKILLS;
    ev->s.counts[1] = r * (int32_t)rng_range(&g->rng, 20, 30) / 100;
    ev->s.needs[2] = NEED_OTHER;
    ev->s.counts[2] = r * (int32_t)rng_range(&g->rng, 3, 8) / 100;
    ev->s.nneeds = 3;
}

static void anchor_laoshan_eap(struct gen *g, struct event *ev)
{
    /* 崂山区总: ~400 psychological-service activities, 1万 person-times, mobile EAP stations
     * that follow the building projects. */
    static const uint16_t venues[VEN_COUNT] = {0, 15, 0, 35, 50, 0, 0, 0, 0};
    ev->v.activity = ACT_PSYCH;
    ev->v.groups[ev->v.ngroups++] = GRP_CONSTR;
    if (rng_pct(&g->rng, 20))
        ev->v.groups[ev->v.ngroups++] = GRP_NEWEMP;
    ev->v.workers = (int32_t)rng_range(&g->rng, 10, 40);
    ev->v.staff = (int32_t)rng_range(&g->rng, 1, 4);
    ev->v.venue = (uint8_t)rng_pick(&g->rng, venues, VEN_COUNT);
    ev->note = rng_pct(&g->rng, 25) ? NOTE_EAP : -1;
    set_duration(g, ev, 60, 150);
}

static void anchor_laoshan_forum(struct gen *g, struct event *ev)
{
    /* The forums with project unions that revealed the construction workers' stress. */
    int32_t r = (int32_t)rng_range(&g->rng, 30, 60), left = r;
    ev->s.method = MET_FORUM;
    ev->s.enterprises = (int32_t)rng_range(&g->rng, 3, 8);
    ev->s.respondents = r;
    ev->s.topic = TOP_HEALTH;
    for (int i = 0; i < 4; i++) {
        ev->s.sat[i] = (int32_t)rng_range(&g->rng, 0, (uint32_t)left / (uint32_t)(5 - i));
        left -= ev->s.sat[i];
    }
    ev->s.sat[4] = left;
    ev->s.needs[0] = NEED_MENTAL;
    ev->s.counts[0] = (int32_t)rng_range(&g->rng, (uint32_t)r / 2, (uint32_t)r);
    ev->s.needs[1] = NEED_REST;
    ev->s.counts[1] = (int32_t)rng_range(&g->rng, 1, (uint32_t)r / 3);
    ev->s.nneeds = 2;
}

static void anchor_hohhot_clinic(struct gen *g, struct event *ev)
{
    /* 6 medical experts for bus drivers and outdoor workers at the launch in 呼和浩特. */
    ev->v.activity = ACT_CLINIC;
    ev->v.groups[ev->v.ngroups++] = GRP_PUBLIC;
    ev->v.groups[ev->v.ngroups++] = GRP_OTHER;
    ev->v.workers = (int32_t)rng_range(&g->rng, 100, 200);
    ev->v.staff = 6 + (int32_t)rng_range(&g->rng, 0, 4);
    ev->v.venue = rng_pct(&g->rng, 60) ? VEN_PUBLIC : VEN_WORK;
    set_duration(g, ev, 120, 240);
}

static void anchor_hohhot_bus(struct gen *g, struct event *ev)
{
    /* 10万元 慰问金 and goods for the bus company's hardship, model and front-line workers. */
    ev->f.source = SRC_UNION;
    if (rng_pct(&g->rng, 60)) {
        ev->f.purpose = PUR_CASH;
        ev->f.group = rng_pct(&g->rng, 70) ? GRP_HARDSHIP : GRP_MODEL;
        ev->f.recipients = (int32_t)rng_range(&g->rng, 20, 40);
        ev->f.amount = (int64_t)ev->f.recipients * 2000 * 100;
        ev->f.disb = DIS_CASH;
    } else {
        ev->f.purpose = PUR_GOODS;
        ev->f.group = GRP_PUBLIC;
        ev->f.recipients = (int32_t)rng_range(&g->rng, 150, 250);
        ev->f.amount = (int64_t)ev->f.recipients * 200 * 100;
        ev->f.disb = DIS_KIND;
    }
}

static void anchor_beilun_check(struct gen *g, struct event *ev)
{
    /* Mobile check-ups at the 圆通 depot in 北仑 for couriers who work 05:30 to 21:00. */
    ev->v.activity = ACT_CHECK;
    ev->v.groups[ev->v.ngroups++] = GRP_NEWEMP;
    ev->v.workers = (int32_t)rng_range(&g->rng, 50, 120);
    ev->v.staff = (int32_t)rng_range(&g->rng, 8, 12);
    ev->v.venue = rng_pct(&g->rng, 70) ? VEN_WORK : VEN_MOBILE;
    ev->note = rng_pct(&g->rng, 30) ? NOTE_BEILUN : -1;
    set_duration(g, ev, 120, 240);
}

static void anchor_cangshan_meals(struct gen *g, struct event *ev)
{
    /* Making 米时 and 元宵 with 32 couriers and riders in a 仓山 union station. */
    ev->v.activity = ACT_MEALS;
    ev->v.groups[ev->v.ngroups++] = GRP_NEWEMP;
    ev->v.workers = (int32_t)rng_range(&g->rng, 25, 40);
    ev->v.staff = (int32_t)rng_range(&g->rng, 3, 8);
    ev->v.venue = VEN_STATION;
    ev->note = rng_pct(&g->rng, 40) ? NOTE_CANGSHAN : -1;
    set_duration(g, ev, 120, 180);
}

static void anchor_fuzhou_charity(struct gen *g, struct event *ev)
{
    /* 164 charity activities in ~100 stations levering 120万元 of 爱心公益资金. */
    ev->f.source = SRC_SOCIAL;
    ev->f.purpose = PUR_SERVICE;
    ev->f.group = GRP_NEWEMP;
    ev->f.recipients = (int32_t)rng_range(&g->rng, 100, 600);
    ev->f.amount = (int64_t)rng_range(&g->rng, 5000, 9600) * 100;
    ev->f.disb = DIS_OTHER;
    ev->note = rng_pct(&g->rng, 30) ? NOTE_CHARITY : -1;
}

static void anchor_xiamen_market(struct gen *g, struct event *ev)
{
    /* 会员服务日 at 五一广场: 112 merchants, free clinic and haircuts, the union card. */
    ev->v.activity = ACT_OTHER;
    if (rng_pct(&g->rng, 40))
        ev->v.groups[ev->v.ngroups++] = GRP_NEWEMP;
    ev->v.groups[ev->v.ngroups++] = GRP_OTHER;
    ev->v.workers = (int32_t)rng_range(&g->rng, 200, 800);
    ev->v.staff = (int32_t)rng_range(&g->rng, 10, 30);
    ev->v.venue = VEN_PUBLIC;
    ev->note = rng_pct(&g->rng, 50) ? NOTE_XIAMEN : -1;
    set_duration(g, ev, 180, 360);
}

static void anchor_ningbo_voucher(struct gen *g, struct event *ev)
{
    /* 宁波 "温暖加倍": 福袋 and 消费券 for the "城市超人" on duty over the holidays. */
    static const uint8_t groups[3] = {GRP_NEWEMP, GRP_SANIT, GRP_ONDUTY};
    ev->f.source = SRC_UNION;
    ev->f.purpose = PUR_GOODS;
    ev->f.group = groups[rng_range(&g->rng, 0, 2)];
    ev->f.recipients = (int32_t)rng_range(&g->rng, 200, 1500);
    ev->f.amount = (int64_t)ev->f.recipients * rng_range(&g->rng, 100, 300) * 100;
    ev->f.disb = DIS_VOUCHER;
    ev->note = rng_pct(&g->rng, 40) ? NOTE_VOUCHER : -1;
}

/* In priority order: with --agencies K, the first offices named here are kept. */
static const struct anchor anchor_table[] = {
    {530000, 530000, T_FUNDING, anchor_yunnan_funding},
    {530000, 530622, T_VISIT, anchor_yunnan_visit},
    {650102, 650102, T_FUNDING, anchor_tianshan_goods},
    {450200, 450200, T_SURVEY, anchor_liuzhou_survey},
    {370212, 370212, T_VISIT, anchor_laoshan_eap},
    {370212, 370212, T_SURVEY, anchor_laoshan_forum},
    {150000, 150100, T_VISIT, anchor_hohhot_clinic},
    {150000, 150100, T_FUNDING, anchor_hohhot_bus},
    {330206, 330206, T_VISIT, anchor_beilun_check},
    {350104, 350104, T_VISIT, anchor_cangshan_meals},
    {350100, 350100, T_FUNDING, anchor_fuzhou_charity},
    {350200, 350200, T_VISIT, anchor_xiamen_market},
    {330200, 330200, T_FUNDING, anchor_ningbo_voucher},
};
#define ANCHOR_COUNT (sizeof anchor_table / sizeof anchor_table[0])

/* ---- drawing events ---------------------------------------------------------------------- */

/* Group weights with the groups that cannot occur in this region removed. */
static void local_groups(uint32_t region, const uint16_t *in, uint16_t *out)
{
    memcpy(out, in, GRP_COUNT * sizeof out[0]);
    if (!is_border_province(region))
        out[GRP_BORDER] = 0;
    if (region / 10000 != 53) /* the nine plateau lakes are all in Yunnan */
        out[GRP_PLATEAU] = 0;
}

/* A multiplier by the level of the event's region: a provincial handout is bigger. */
static uint32_t level_scale(const struct event *ev, uint32_t county, uint32_t prefecture,
                            uint32_t province)
{
    return ev->level == OP_REGION_PROVINCE     ? province
           : ev->level == OP_REGION_PREFECTURE ? prefecture
                                               : county;
}

static void draw_visit(struct gen *g, struct event *ev)
{
    struct rng *r = &g->rng;
    uint16_t wact[ACT_COUNT], wgrp[GRP_COUNT];
    for (unsigned i = 0; i < ACT_COUNT; i++)
        wact[i] = act_shape[i].weight;
    unsigned a = rng_pick(r, wact, ACT_COUNT);
    uint32_t scale = act_shape[a].scales ? level_scale(ev, 1, 2, 3) : 1;

    ev->v.activity = (uint8_t)a;
    local_groups(ev->region, act_groups[a], wgrp);
    uint32_t x = rng_range(r, 0, 99);
    unsigned k = a == ACT_HOME ? (x < 70 ? 1 : 2) : x < 60 ? 1 : x < 88 ? 2 : x < 98 ? 3 : 4;
    ev->v.ngroups = (uint8_t)rng_pick_distinct(r, wgrp, GRP_COUNT, k, ev->v.groups);

    ev->v.workers =
        (int32_t)(scale * rng_skew(r, act_shape[a].w_lo, act_shape[a].w_hi, act_shape[a].skew));
    ev->v.staff = (int32_t)(scale * rng_range(r, act_shape[a].st_lo, act_shape[a].st_hi));
    if (a == ACT_HOME)
        ev->v.households = rng_pct(r, 80) ? ev->v.workers : (ev->v.workers + 1) / 2;
    else if (a == ACT_CONDOLENCE && rng_pct(r, 30))
        ev->v.households =
            (int32_t)rng_range(r, 1, (uint32_t)(ev->v.workers < 60 ? ev->v.workers : 60));
    else if (a == ACT_MEALS && rng_pct(r, 10))
        ev->v.households = (int32_t)rng_range(r, 1, (uint32_t)ev->v.workers / 3 + 1);

    ev->v.venue = (uint8_t)rng_pick(r, act_venues[a], VEN_COUNT);
    if (rng_pct(r, 90))
        set_duration(g, ev, act_shape[a].d_lo, act_shape[a].d_hi);
    ev->note = rng_pct(r, 8) ? (int8_t)(NOTE_CONDOLENCE + a) : -1;
}

/* A remark that fits the disbursement, or -1. */
static int funding_note(const struct event *ev)
{
    switch (ev->f.purpose) {
    case PUR_GOODS:
        return ev->f.disb == DIS_VOUCHER ? NOTE_VOUCHER : ev->f.disb == DIS_KIND ? NOTE_GRAIN : -1;
    case PUR_CASH:
        return ev->f.disb == DIS_CARD ? NOTE_CARD : -1;
    case PUR_HARDSHIP:
        return NOTE_SCHOOL;
    case PUR_MEDICAL:
        return NOTE_MUTUAL;
    case PUR_SERVICE:
        return ev->f.source == SRC_SOCIAL ? NOTE_CHARITY : -1;
    default:
        return -1;
    }
}

static void draw_funding(struct gen *g, struct event *ev)
{
    struct rng *r = &g->rng;
    uint16_t wgrp[GRP_COUNT];
    unsigned p = rng_pick(r, pur_weight, PUR_COUNT);
    uint32_t scale = level_scale(ev, 1, 4, 15);
    int64_t per_fen = 0;
    uint32_t recipients = 0;

    ev->f.purpose = (uint8_t)p;
    ev->f.source = (uint8_t)rng_pick(r, pur_sources[p], SRC_COUNT);
    local_groups(ev->region, pur_groups[p], wgrp);
    ev->f.group = (uint8_t)rng_pick(r, wgrp, GRP_COUNT);
    switch (p) {
    case PUR_CASH:
        recipients = rng_skew(r, 5, 300, 2);
        per_fen =
            (int64_t)cash_yuan[rng_range(r, 0, sizeof cash_yuan / sizeof cash_yuan[0] - 1)] * 100;
        break;
    case PUR_GOODS:
        /* Bought goods carry odd prices, so some totals have fen: exactness must survive. */
        recipients = rng_skew(r, 20, 2500, 2);
        per_fen = (int64_t)rng_range(r, 80, 600) * 100 + (rng_pct(r, 20) ? rng_range(r, 1, 99) : 0);
        break;
    case PUR_MEDICAL:
        recipients = rng_skew(r, 10, 1000, 2);
        per_fen = (int64_t)(30 + 10 * rng_range(r, 0, 27)) * 100;
        break;
    case PUR_HARDSHIP:
        recipients = rng_skew(r, 1, 80, 2);
        per_fen = (int64_t)(2000 + 500 * rng_range(r, 0, 16)) * 100;
        break;
    case PUR_SERVICE:
        if (rng_pct(r, 5)) {
            /* A funded station or project with nobody counted yet: a lump sum. */
            recipients = 0;
            ev->f.amount = (int64_t)rng_range(r, 5, 50) * 10000 * 100;
        } else {
            recipients = rng_skew(r, 30, 3000, 2);
            per_fen = (int64_t)rng_range(r, 20, 200) * 100;
        }
        break;
    default:
        recipients = rng_skew(r, 5, 300, 2);
        per_fen = (int64_t)(50 * rng_range(r, 1, 20)) * 100;
        break;
    }
    recipients *= scale;
    ev->f.recipients = (int32_t)recipients;
    if (recipients)
        ev->f.amount = (int64_t)recipients * per_fen;
    ev->f.disb = (uint8_t)rng_pick(r, pur_disb[p], DIS_COUNT);
    if (rng_pct(r, 8))
        ev->note = (int8_t)funding_note(ev);
}

static void draw_survey(struct gen *g, struct event *ev)
{
    struct rng *r = &g->rng;
    unsigned m = rng_pick(r, met_weight, MET_COUNT);
    unsigned t = rng_pick(r, top_weight, TOP_COUNT);

    ev->s.method = (uint8_t)m;
    ev->s.topic = (uint8_t)t;
    if (!rng_pct(r, met_shape[m].e_zero_pct))
        ev->s.enterprises = (int32_t)(level_scale(ev, 1, 2, 3) *
                                      rng_skew(r, met_shape[m].e_lo, met_shape[m].e_hi, 1));
    int32_t resp =
        (int32_t)(level_scale(ev, 1, 2, 4) *
                  rng_skew(r, met_shape[m].r_lo, met_shape[m].r_hi, met_shape[m].r_skew));
    ev->s.respondents = resp;

    uint32_t asked_pct = t == TOP_SATIS ? 100 : m == MET_QUEST ? 70 : 35;
    if (rng_pct(r, asked_pct)) {
        int64_t answered = (int64_t)resp * rng_range(r, 60, 100) / 100, w[5], sum = 0, given = 0;
        for (int i = 0; i < 5; i++) {
            w[i] = (int64_t)sat_profile[i] * rng_range(r, 50, 150);
            sum += w[i];
        }
        for (int i = 0; i < 5; i++) {
            ev->s.sat[i] = (int32_t)(answered * w[i] / sum);
            given += ev->s.sat[i];
        }
        ev->s.sat[3] += (int32_t)(answered - given); /* rounding goes to "satisfied" */
    }

    unsigned k = rng_pick(r, nneeds_weight, 6);
    ev->s.nneeds = (uint8_t)rng_pick_distinct(r, top_needs[t], NEED_COUNT, k, ev->s.needs);
    uint32_t most = (uint32_t)resp * 7 / 10;
    for (unsigned i = 0; i < ev->s.nneeds; i++)
        ev->s.counts[i] = (int32_t)rng_skew(r, 1, most > 1 ? most : 1, 2);
}

static int64_t draw_day(struct gen *g, int outside)
{
    struct rng *r = &g->rng;
    size_t lo, hi; /* table indexes [lo, hi] */
    if (outside) {
        uint64_t before = g->cum[g->in_lo - 1], after = g->cum[g->ndays - 1] - g->cum[g->in_hi];
        if (rng_range(r, 0, (uint32_t)(before + after - 1)) < before)
            lo = 0, hi = g->in_lo - 1;
        else
            lo = g->in_hi + 1, hi = g->ndays - 1;
    } else {
        lo = g->in_lo, hi = g->in_hi;
    }
    uint64_t base = lo ? g->cum[lo - 1] : 0;
    uint64_t x = base + rng_range(r, 0, (uint32_t)(g->cum[hi] - base - 1));
    /* First index whose cumulative weight passes x. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return g->day0 + (int64_t)lo;
}

/* occurred_at and reported_at: activities in working hours; reports the same day or within
 * a week, late ones 15 to 70 days later. */
static void draw_times(struct gen *g, struct event *ev)
{
    struct rng *r = &g->rng;
    ev->outside = (uint8_t)rng_chance(r, g->thr_outside);
    int64_t day = draw_day(g, ev->outside);
    unsigned hour = rng_pick(r, hour_weight, 24);
    uint32_t x = rng_range(r, 0, 99);
    unsigned minute = x < 55 ? 0 : x < 80 ? 30 : rng_range(r, 0, 59);
    ev->occurred = day * 86400 + hour * 3600 + minute * 60;

    ev->late = (uint8_t)rng_chance(r, g->thr_late);
    unsigned second = rng_pct(r, 50) ? rng_range(r, 0, 59) : 0;
    if (ev->late) {
        int64_t rday = day + rng_range(r, 15, 70);
        ev->reported = rday * 86400 + rng_range(r, 8 * 60, 22 * 60 - 1) * 60 + second;
    } else {
        x = rng_range(r, 0, 99);
        if (x < 30) {
            ev->reported = ev->occurred + rng_range(r, 30, 360) * 60 + second;
        } else {
            int64_t rday = day + (x < 60 ? 1 : x < 75 ? 2 : rng_range(r, 3, 7));
            ev->reported = rday * 86400 + rng_range(r, 8 * 60, 22 * 60 - 1) * 60 + second;
        }
    }
}

static void draw_event(struct gen *g, struct event *ev)
{
    struct rng *r = &g->rng;
    if (g->nanchors && rng_pct(r, ANCHOR_PCT)) {
        const struct anchor *a = g->anchors[rng_range(r, 0, (uint32_t)g->nanchors - 1)];
        ev->type = a->type;
        ev->agency = a->agency;
        ev->region = a->region;
        ev->level = (uint8_t)op_regions_find(g->regs, a->region)->level;
        draw_times(g, ev);
        a->fill(g, ev);
    } else {
        uint16_t wt[3], wl[3];
        for (unsigned t = 0; t < 3; t++)
            wt[t] = (g->o.types & (1u << t)) ? type_weight[t] : 0;
        ev->type = (uint8_t)rng_pick(r, wt, 3);
        for (unsigned l = 0; l < 3; l++)
            wl[l] = g->nlevel[l] ? level_weight[l] : 0;
        unsigned level = rng_pick(r, wl, 3);
        uint32_t oi = g->by_level[level][rng_range(r, 0, (uint32_t)g->nlevel[level] - 1)];
        ev->agency = region_at(g, oi)->code;
        const struct op_region *reg = region_at(g, pick_region(g, oi));
        ev->region = reg->code;
        ev->level = (uint8_t)reg->level;
        draw_times(g, ev);
        if (ev->type == T_VISIT)
            draw_visit(g, ev);
        else if (ev->type == T_FUNDING)
            draw_funding(g, ev);
        else
            draw_survey(g, ev);
    }
    /* What a v1-era spreadsheet would not have: no v2 columns at all. */
    if (ev->type == T_VISIT)
        ev->has_v2 = (uint8_t)rng_pct(r, 85);
    else if (ev->type == T_FUNDING)
        ev->has_v2 = (uint8_t)rng_pct(r, 88);
    if (!ev->has_v2) {
        /* Keep the struct equal to what is written: the schema defaults. */
        ev->note = -1;
        if (ev->type == T_VISIT)
            ev->v.duration = 0, ev->v.venue = VEN_UNSPEC;
        else if (ev->type == T_FUNDING)
            ev->f.disb = DIS_UNSPEC;
    }
    ev->campaign_null = (uint8_t)rng_pct(r, 50);
}

/* ---- content keys: id-less events must differ in what the producer hashes --------------- */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
    h *= UINT64_C(0xff51afd7ed558ccd);
    return h ^ (h >> 33);
}

/* Covers the v1 fields except reported_at, so two id-less events differ in content even to
 * a producer that ignores reported_at or reads CSV (which has no v2 columns). */
static uint64_t event_key(const struct event *ev)
{
    uint64_t h = mix(0, ev->type);
    h = mix(h, (uint64_t)ev->occurred);
    h = mix(h, ((uint64_t)ev->agency << 32) | ev->region);
    if (ev->type == T_VISIT) {
        h = mix(h, ev->v.activity);
        for (unsigned i = 0; i < ev->v.ngroups; i++)
            h = mix(h, ev->v.groups[i] + 1000u * i);
        h = mix(h, (uint64_t)(uint32_t)ev->v.workers << 32 | (uint32_t)ev->v.households);
        h = mix(h, (uint64_t)(uint32_t)ev->v.staff);
    } else if (ev->type == T_FUNDING) {
        h = mix(h, (uint64_t)ev->f.amount);
        h = mix(h, (uint64_t)ev->f.source << 24 | (uint64_t)ev->f.purpose << 16 | ev->f.group);
        h = mix(h, (uint64_t)(uint32_t)ev->f.recipients);
    } else {
        h = mix(h, (uint64_t)ev->s.method << 8 | ev->s.topic);
        h = mix(h, (uint64_t)(uint32_t)ev->s.enterprises << 32 | (uint32_t)ev->s.respondents);
        for (int i = 0; i < 5; i++)
            h = mix(h, (uint64_t)(uint32_t)ev->s.sat[i] + ((uint64_t)i << 40));
        for (unsigned i = 0; i < ev->s.nneeds; i++)
            h = mix(h, (uint64_t)ev->s.needs[i] << 32 | (uint32_t)ev->s.counts[i]);
    }
    return h ? h : 1;
}

/* Inserts key. Returns 1 if it was new, 0 if already there, -1 if the set cannot grow. */
static int keys_insert(struct gen *g, uint64_t key)
{
    if (2 * (g->keys_n + 1) > g->keys_cap) {
        size_t ncap = g->keys_cap ? 2 * g->keys_cap : 4096;
        uint64_t *nk = calloc(ncap, sizeof *nk);
        if (!nk)
            return -1;
        for (size_t i = 0; i < g->keys_cap; i++) {
            if (!g->keys[i])
                continue;
            size_t j = (size_t)g->keys[i] & (ncap - 1);
            while (nk[j])
                j = (j + 1) & (ncap - 1);
            nk[j] = g->keys[i];
        }
        free(g->keys);
        g->keys = nk;
        g->keys_cap = ncap;
    }
    size_t j = (size_t)key & (g->keys_cap - 1);
    while (g->keys[j]) {
        if (g->keys[j] == key)
            return 0;
        j = (j + 1) & (g->keys_cap - 1);
    }
    g->keys[j] = key;
    g->keys_n++;
    return 1;
}

static void make_original(struct gen *g, struct event *ev, int force_id)
{
    uint64_t seq = ++g->seq;
    int has_id = force_id || !rng_chance(&g->rng, g->thr_noid);
    for (int tries = 0;; tries++) {
        memset(ev, 0, sizeof *ev);
        ev->seq = seq;
        ev->has_id = (uint8_t)has_id;
        ev->note = -1;
        draw_event(g, ev);
        if (has_id)
            break;
        int rc = keys_insert(g, event_key(ev));
        if (rc == 1)
            break;
        if (rc < 0 || tries == UNIQUE_TRIES - 1) {
            /* Out of memory or a run too narrow to stay unique: an id keeps it distinct. */
            ev->has_id = 1;
            break;
        }
    }
    g->st.originals++;
    g->st.by_type[ev->type]++;
    g->st.late += ev->late;
    g->st.outside += ev->outside;
    g->st.no_id += !ev->has_id;
}

/* ---- corrections and retractions --------------------------------------------------------- */

/* The region index of an office by its code (offices are in code order), or -1. */
static long office_index(const struct gen *g, uint32_t code)
{
    size_t lo = 0, hi = g->noffices;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t c = region_at(g, g->offices[mid])->code;
        if (c == code)
            return (long)g->offices[mid];
        if (c < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ×10 or ÷10, as in 4亿 typed for 4000万, within the limits of common/event.h. */
static int64_t scale10(struct gen *g, int64_t v, int64_t max)
{
    if (rng_pct(&g->rng, 50) && v <= max / 10)
        return v * 10;
    return v / 10;
}

/* Changes some of the amount or counts, the region (to another one the same office may
 * report for) and occurred_at (by 1 to 5 days), and reports it again later. */
static void fix_event(struct gen *g, struct event *ev)
{
    struct rng *r = &g->rng;
    unsigned want = 0, why = 0;
    if (rng_pct(r, 60))
        want |= WHY_COUNT;
    if (rng_pct(r, 30))
        want |= WHY_REGION;
    if (rng_pct(r, 30))
        want |= WHY_TIME;
    if (want & WHY_REGION) {
        long oi = office_index(g, ev->agency);
        for (int tries = 0; oi >= 0 && tries < 8; tries++) {
            const struct op_region *reg = region_at(g, pick_region(g, (size_t)oi));
            if (reg->code != ev->region) {
                ev->region = reg->code;
                ev->level = (uint8_t)reg->level;
                why |= WHY_REGION;
                break;
            }
        }
    }
    if (want & WHY_TIME) {
        int64_t days = rng_range(r, 1, 5);
        ev->occurred += (rng_pct(r, 50) ? days : -days) * 86400;
        why |= WHY_TIME;
    }
    if ((want & WHY_COUNT) || !why) {
        if (ev->type == T_FUNDING) {
            ev->f.amount = scale10(g, ev->f.amount, AMOUNT_MAX);
            why |= WHY_AMOUNT;
        } else if (ev->type == T_VISIT) {
            ev->v.workers = (int32_t)scale10(g, ev->v.workers, COUNT_MAX);
            why |= WHY_COUNT;
        } else {
            int32_t answers = 0;
            for (int i = 0; i < 5; i++)
                answers += ev->s.sat[i];
            if (rng_pct(r, 50) && ev->s.respondents <= COUNT_MAX / 10 &&
                ev->s.enterprises <= COUNT_MAX / 10) {
                ev->s.respondents *= 10;
                ev->s.enterprises *= 10;
            } else {
                ev->s.enterprises /= 10;
                if (answers <= ev->s.respondents / 10) /* s1+…+s5 <= respondents */
                    ev->s.respondents /= 10;
            }
            why |= WHY_COUNT;
        }
    }
    int64_t base = ev->reported > ev->occurred ? ev->reported : ev->occurred;
    ev->reported = base + rng_range(r, 1, 72) * 3600 + rng_range(r, 0, 59) * 60;
    ev->why = (uint8_t)why;
    ev->retracted = 0;
}

/* A history entry: uniformly among the last RING_CAP, or (prefer) one already corrected. */
static struct hist *pick_hist(struct gen *g, int prefer_corrected, int32_t min_max)
{
    struct hist *h = NULL;
    for (int tries = 0; tries < (prefer_corrected ? 256 : 1); tries++) {
        h = &g->hist[(g->hist_pos + RING_CAP - 1 - rng_range(&g->rng, 0, (uint32_t)g->hist_n - 1)) %
                     RING_CAP];
        if (h->max >= min_max)
            return h;
    }
    return prefer_corrected && min_max > 0 ? NULL : h;
}

static struct hist *hist_push(struct gen *g, const struct event *ev)
{
    struct hist *h = &g->hist[g->hist_pos];
    h->first = h->last = *ev;
    h->max = 0;
    g->hist_pos = (g->hist_pos + 1) % RING_CAP;
    if (g->hist_n < RING_CAP)
        g->hist_n++;
    return h;
}

/* A correction line: mostly the next correction of an event, with some exact repeats, stale
 * (lower) numbers and corrections written before their original. */
static const struct event *make_correction(struct gen *g)
{
    struct event *out = &g->fix;
    struct hist *h;
    uint32_t x = rng_range(&g->rng, 0, 99);
    if (x < 10) { /* the last version sent, again: a duplicate */
        h = pick_hist(g, 1, 1);
        if (!h)
            h = pick_hist(g, 0, 0);
        *out = h->last;
        g->st.correction_dups++;
        return out;
    }
    if (x < 15 && (h = pick_hist(g, 1, 1)) != NULL) { /* an older number: stale */
        if (h->max >= 2) {
            *out = h->last;
            fix_event(g, out);
            out->correction = (int32_t)rng_range(&g->rng, 1, (uint32_t)h->max - 1);
        } else {
            *out = h->first; /* the original, sent again after its correction */
        }
        g->st.stale++;
        return out;
    }
    if (x >= 15 && x < 20 && g->npending < PENDING_CAP) {
        /* Out of order: the correction of a new event first, its original a few lines on. */
        size_t k = g->npending++;
        make_original(g, &g->pending[k], 1);
        g->pending_due[k] = g->st.events + 1 + rng_range(&g->rng, 1, 50);
        h = hist_push(g, &g->pending[k]);
        *out = h->first;
        fix_event(g, out);
        out->correction = h->max = 1;
        h->last = *out;
        g->st.out_of_order++;
        return out;
    }
    h = pick_hist(g, 0, 0);
    *out = h->last;
    fix_event(g, out); /* a retracted event is reinstated */
    out->correction = ++h->max;
    h->last = *out;
    g->st.corrections++;
    return out;
}

/* A retraction: the last version of an event, withdrawn, with the next number. */
static const struct event *make_retraction(struct gen *g)
{
    struct hist *h = pick_hist(g, 0, 0);
    struct event *out = &g->fix;
    *out = h->last;
    out->correction = ++h->max;
    out->retracted = 1;
    out->why = (uint8_t)(WHY_RETRACT | rng_range(&g->rng, 0, 2));
    out->reported += rng_range(&g->rng, 1, 72) * 3600;
    h->last = *out;
    g->st.retractions++;
    return out;
}

/* The correction_reason of ev: the retraction's, or what the correction changed. */
static void reason_text(const struct event *ev, char *buf, size_t size)
{
    if (ev->why & WHY_RETRACT) {
        snprintf(buf, size, "%s", retract_reasons[(ev->why & 0x7f) % 3]);
        return;
    }
    size_t n = 0;
    buf[0] = 0;
    for (unsigned b = 0; b < 4; b++)
        if (ev->why & (1u << b))
            n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "；" : "",
                                  fix_reasons[b]);
}

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
    unsigned sod = (unsigned)(t % 86400), m, d;
    civil_from_days(day, &y, &m, &d);
    put_digits(b, (unsigned)y, 4);
    b[4] = '-';
    put_digits(b + 5, m, 2);
    b[7] = '-';
    put_digits(b + 8, d, 2);
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
    put_str(o, type_name[ev->type]);
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
        reason_text(ev, why, sizeof why);
        PUTS(o, ",\"correction\":");
        put_i64(o, ev->correction);
        if (ev->retracted)
            PUTS(o, ",\"retracted\":true");
        PUTS(o, ",\"correction_reason\":");
        put_jstr(o, why);
    }
    PUTS(o, "}\n");
}

#define CSV_COLUMNS                                                                                \
    "type,event_id,occurred_at,reported_at,agency_id,region,campaign,activity,target_groups,"      \
    "workers_reached,households,staff,amount_fen,source,purpose,recipients,target_group,"          \
    "method,enterprises,respondents,topic,s1,s2,s3,s4,s5,needs"
#define CSV_HEADER CSV_COLUMNS "\n"
/* With --correct-rate or --retract-rate: three more columns. */
#define CSV_HEADER_FIX CSV_COLUMNS ",correction,retracted,correction_reason\n"

static void render_csv(const struct gen *g, const struct event *ev, struct out *o)
{
    put_str(o, type_name[ev->type]);
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
            reason_text(ev, why, sizeof why);
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

/* ---- lifecycle ------------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Chooses the reporting offices: the article's first (they anchor the realistic stories),
 * then a seeded sample of the rest, kept in code order. */
static int select_offices(struct gen *g, char *errstr, size_t errstr_size)
{
    int rc = -1;
    uint32_t *cand = NULL;
    size_t ncand = 0, want;

    cand = malloc(g->nregions * sizeof *cand);
    g->offices = malloc(g->nregions * sizeof *g->offices);
    for (int l = 0; l < 3; l++)
        g->by_level[l] = malloc(g->nregions * sizeof *g->by_level[l]);
    if (!cand || !g->offices || !g->by_level[0] || !g->by_level[1] || !g->by_level[2]) {
        snprintf(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < g->nregions; i++)
        if (!is_pseudo_prefecture(region_at(g, i)))
            cand[ncand++] = (uint32_t)i;
    if (ncand == 0) {
        snprintf(errstr, errstr_size, "the region table has no union offices");
        goto cleanup;
    }
    want = g->o.agencies ? g->o.agencies : ncand;
    if (want > ncand) {
        snprintf(errstr, errstr_size, "--agencies: %zu exceeds the %zu offices of the region table",
                 want, ncand);
        goto cleanup;
    }

    /* Anchor offices go to the front of the candidates, in table order. */
    size_t front = 0;
    for (size_t a = 0; a < ANCHOR_COUNT; a++) {
        uint32_t code = anchor_table[a].agency;
        for (size_t i = front; i < ncand; i++) {
            if (region_at(g, cand[i])->code == code) {
                uint32_t t = cand[front];
                cand[front++] = cand[i];
                cand[i] = t;
                break;
            }
        }
    }
    /* Partial Fisher-Yates over the others: a seeded sample of the size asked for. */
    for (size_t i = front; i < want; i++) {
        size_t j = i + rng_range(&g->rng, 0, (uint32_t)(ncand - i - 1));
        uint32_t t = cand[i];
        cand[i] = cand[j];
        cand[j] = t;
    }
    memcpy(g->offices, cand, want * sizeof *cand);
    g->noffices = want;
    qsort(g->offices, want, sizeof *g->offices, cmp_u32);
    for (size_t i = 0; i < want; i++) {
        int l = (int)region_at(g, g->offices[i])->level - 1;
        g->by_level[l][g->nlevel[l]++] = g->offices[i];
    }
    rc = 0;

cleanup:
    free(cand);
    return rc;
}

static int office_selected(const struct gen *g, uint32_t code)
{
    for (size_t i = 0; i < g->noffices; i++)
        if (region_at(g, g->offices[i])->code == code)
            return 1;
    return 0;
}

static int build_days(struct gen *g, char *errstr, size_t errstr_size)
{
    int64_t first = (int64_t)g->o.start_day - OUTSIDE_BEFORE;
    int64_t last = (int64_t)g->o.end_day + OUTSIDE_AFTER;
    uint64_t sum = 0;

    g->day0 = first;
    g->ndays = (size_t)(last - first + 1);
    g->in_lo = OUTSIDE_BEFORE;
    g->in_hi = g->ndays - 1 - OUTSIDE_AFTER;
    g->cum = malloc(g->ndays * sizeof *g->cum);
    if (!g->cum) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < g->ndays; i++) {
        sum += day_weight(first + (int64_t)i);
        g->cum[i] = sum;
    }
    return 0;
}

struct gen *gen_new(const struct gen_opts *opts, const struct op_regions *regs, char *errstr,
                    size_t errstr_size)
{
    struct gen *g = NULL, *ret = NULL;

    if (gen_opts_check(opts, errstr, errstr_size) != 0)
        goto cleanup;
    g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    g->o = *opts;
    g->regs = regs;
    g->nregions = op_regions_count(regs);
    rng_seed(&g->rng, opts->seed);
    g->thr_dup = rate_threshold(opts->dup_rate);
    g->thr_late = rate_threshold(opts->late_rate);
    g->thr_noid = rate_threshold(opts->no_id_rate);
    g->thr_outside = rate_threshold(opts->outside_rate);
    g->thr_correct = rate_threshold(opts->correct_rate);
    g->thr_fix_end = g->thr_correct + rate_threshold(opts->retract_rate);
    g->corrections = g->thr_fix_end > 0;
    g->campaign_first = days_from_civil(2024, 12, 20);
    g->campaign_last = days_from_civil(2025, 2, 12);

    g->desc_end = malloc((g->nregions ? g->nregions : 1) * sizeof *g->desc_end);
    g->ring = malloc(RING_CAP * sizeof *g->ring);
    if (g->corrections)
        g->hist = malloc(RING_CAP * sizeof *g->hist);
    if (!g->desc_end || !g->ring || (g->corrections && !g->hist)) {
        snprintf(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    /* Descendants follow their ancestor in code order and share its leading digits. */
    for (size_t i = 0; i < g->nregions; i++) {
        const struct op_region *r = region_at(g, i);
        uint32_t div = level_divisor(r->level), j = (uint32_t)i + 1;
        if (r->level != OP_REGION_COUNTY)
            while (j < g->nregions && region_at(g, j)->code / div == r->code / div)
                j++;
        g->desc_end[i] = j;
    }
    if (select_offices(g, errstr, errstr_size) != 0 || build_days(g, errstr, errstr_size) != 0)
        goto cleanup;
    for (size_t a = 0; a < ANCHOR_COUNT; a++) {
        const struct anchor *an = &anchor_table[a];
        if ((opts->types & (1u << an->type)) && office_selected(g, an->agency) &&
            op_regions_find(regs, an->region))
            g->anchors[g->nanchors++] = an;
    }
    ret = g; /* the caller owns it now */
    g = NULL;

cleanup:
    gen_destroy(g);
    return ret;
}

void gen_destroy(struct gen *g)
{
    if (!g)
        return;
    free(g->desc_end);
    free(g->offices);
    for (int l = 0; l < 3; l++)
        free(g->by_level[l]);
    free(g->cum);
    free(g->ring);
    free(g->hist);
    free(g->keys);
    free(g);
}

int gen_next(struct gen *g, const char **line, size_t *len)
{
    struct out o = {g->line, g->line + LINE_CAP};

    if (g->o.format == GEN_FORMAT_CSV && !g->header_done) {
        g->header_done = 1;
        *line = g->corrections ? CSV_HEADER_FIX : CSV_HEADER;
        *len = strlen(*line);
        return 1;
    }
    if (g->st.events >= g->o.events)
        return 0;

    const struct event *ev = NULL;
    if (g->corrections) {
        uint64_t left = g->o.events - g->st.events;
        if (g->npending && (g->st.events >= g->pending_due[0] || left <= g->npending)) {
            /* An original held back behind its correction (stale once it arrives). */
            g->fix = g->pending[0];
            g->npending--;
            memmove(g->pending, g->pending + 1, g->npending * sizeof *g->pending);
            memmove(g->pending_due, g->pending_due + 1, g->npending * sizeof *g->pending_due);
            ev = &g->fix;
            g->st.late_originals++;
        } else if (g->hist_n) {
            uint64_t u = rng_next(&g->rng) >> 11; /* as rng_chance: 53 bits */
            if (u < g->thr_correct && left > g->npending + 1)
                ev = make_correction(g);
            else if (u >= g->thr_correct && u < g->thr_fix_end)
                ev = make_retraction(g);
        }
    }
    if (ev) {
    } else if (g->ring_n && rng_chance(&g->rng, g->thr_dup)) {
        ev =
            &g->ring[(g->ring_pos + RING_CAP - 1 - rng_range(&g->rng, 0, (uint32_t)g->ring_n - 1)) %
                     RING_CAP];
        g->st.duplicates++;
    } else {
        struct event *slot = &g->ring[g->ring_pos];
        make_original(g, slot, 0);
        if (g->corrections && slot->has_id)
            hist_push(g, slot);
        g->ring_pos = (g->ring_pos + 1) % RING_CAP;
        if (g->ring_n < RING_CAP)
            g->ring_n++;
        ev = slot;
    }
    if (g->o.format == GEN_FORMAT_CSV)
        render_csv(g, ev, &o);
    else
        render_jsonl(g, ev, &o);
    g->st.events++;
    *line = g->line;
    *len = (size_t)(o.p - g->line);
    return 1;
}

int gen_write(struct gen *g, FILE *out)
{
    const char *line;
    size_t len;
    while (gen_next(g, &line, &len))
        if (fwrite(line, 1, len, out) != len)
            return -1;
    return fflush(out) == 0 ? 0 : -1;
}

const struct gen_stats *gen_get_stats(const struct gen *g)
{
    return &g->st;
}

size_t gen_agency_count(const struct gen *g)
{
    return g->noffices;
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
