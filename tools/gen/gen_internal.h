/* outreach-gen internals: what its files share (limits, enum symbols' indexes, the event and
 * the generator's state, the PRNG) and the functions one file calls in another. Not part of
 * the interface in gen.h.
 *   opts.c     options and the calendar
 *   gen.c      regions and offices, the date table, the run (gen_new, gen_next)
 *   anchors.c  the article's own stories
 *   draw.c     drawing events by type, content keys of id-less events, originals
 *   correct.c  corrections and retractions
 *   render.c   JSON Lines and CSV output */
#ifndef GEN_INTERNAL_H
#define GEN_INTERNAL_H

#include "gen.h"

#include <stdint.h>
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

enum src { SRC_UNION, SRC_GOV, SRC_SOCIAL, SRC_ENT, SRC_OTHER, SRC_COUNT };
enum pur { PUR_CASH, PUR_GOODS, PUR_MEDICAL, PUR_HARDSHIP, PUR_SERVICE, PUR_OTHER, PUR_COUNT };
enum dis { DIS_UNSPEC, DIS_CASH, DIS_BANK, DIS_KIND, DIS_VOUCHER, DIS_CARD, DIS_OTHER, DIS_COUNT };
enum met { MET_FORUM, MET_FIELD, MET_QUEST, MET_MIXED, MET_OTHER, MET_COUNT };

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

/* Remarks as offices type them (the texts are in render.c): by Activity, for funding, from
 * the article. */
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

/* ---- the event ---------------------------------------------------------------------------- */

/* Why a correction was made (struct event.why): what it changed, or a retraction's reason. */
#define WHY_AMOUNT 1u
#define WHY_COUNT 2u
#define WHY_REGION 4u
#define WHY_TIME 8u
#define WHY_RETRACT 0x80u /* | index into retract_reasons */

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

static inline uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline void rng_seed(struct rng *r, uint64_t seed)
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
static inline uint32_t rng_skew(struct rng *r, uint32_t lo, uint32_t hi, unsigned k)
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
static inline uint64_t rate_threshold(double p)
{
    return (uint64_t)(p * 9007199254740992.0);
}

/* Index drawn by integer weights; the last index (OTHER in every enum) if all are 0. */
static inline unsigned rng_pick(struct rng *r, const uint16_t *w, unsigned n)
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
static inline unsigned rng_pick_distinct(struct rng *r, const uint16_t *weights, unsigned n,
                                         unsigned k, uint8_t *out)
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

/* ---- helpers of several files ---------------------------------------------------------- */

static inline const struct op_region *region_at(const struct gen *g, size_t i)
{
    return op_regions_at(g->regs, i);
}

/* Minutes as offices note them: in tens. */
static inline void set_duration(struct gen *g, struct event *ev, unsigned duration_lo,
                                unsigned duration_hi)
{
    ev->v.duration =
        (int32_t)(duration_lo + 10 * rng_range(&g->rng, 0, (duration_hi - duration_lo) / 10));
}

/* ---- functions of one file that another calls ------------------------------------------ */

/* gen.c: the region of an event by the office at region index oi: its own code, or below it. */
uint32_t gen_pick_region(struct gen *g, size_t oi);

/* anchors.c: the article's stories, in priority order: with --agencies K, the first offices
 * named here are kept. */
extern const struct anchor gen_anchor_table[];
extern const size_t gen_anchor_count;

/* draw.c: how funding of each purpose is paid out (the anchors use it too). */
extern const uint16_t gen_pur_disb[PUR_COUNT][DIS_COUNT];
/* draw.c: a new original event (seq, id or content key, stats). */
void gen_make_original(struct gen *g, struct event *ev, int force_id);

/* correct.c: the history of events with an id, the correction and retraction lines, and
 * the correction_reason text of a line. */
struct hist *gen_hist_push(struct gen *g, const struct event *ev);
const struct event *gen_make_correction(struct gen *g);
const struct event *gen_make_retraction(struct gen *g);
void gen_reason_text(const struct event *ev, char *buf, size_t size);

/* The CSV header row (gen_next writes it; render.c the rows under it). */
#define CSV_COLUMNS                                                                                \
    "type,event_id,occurred_at,reported_at,agency_id,region,campaign,activity,target_groups,"      \
    "workers_reached,households,staff,amount_fen,source,purpose,recipients,target_group,"          \
    "method,enterprises,respondents,topic,s1,s2,s3,s4,s5,needs"
#define CSV_HEADER CSV_COLUMNS "\n"
/* With --correct-rate or --retract-rate: three more columns. */
#define CSV_HEADER_FIX CSV_COLUMNS ",correction,retracted,correction_reason\n"

/* render.c: the type names ("visit", ...), and ev rendered as one line into line (at most
 * cap bytes) in the run's format; returns its length. */
extern const char *const gen_type_name[3];
size_t gen_render(const struct gen *g, const struct event *ev, char *line, size_t cap);

#endif
