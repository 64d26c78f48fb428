/* Aggregator state: per input partition, one rollup per (window, region) at every level, and
 * the event ids already counted. Pure logic, no Kafka: the daemon and the tests drive it. */
#ifndef AGG_STATE_H
#define AGG_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>

#include "codec.h"
#include "event.h"
#include "map.h"
#include "regions.h"

#define AGG_DIM 32 /* most symbols of any enum dimension */

enum agg_window_kind { AGG_DAY = 0, AGG_MONTH, AGG_CAMPAIGN, AGG_ALL, AGG_KINDS };
enum agg_dim { AGG_ACTIVITY = 0, AGG_GROUP, AGG_SOURCE, AGG_PURPOSE, AGG_NEED, AGG_DIMS };

struct agg_campaign {
    char *name;
    int64_t start_ms, end_ms; /* [start, end): from the first day's 00:00 to after the last
                                 day, Asia/Shanghai */
};

/* What the schemas and the configuration fix for the whole run. */
struct agg_model {
    const struct op_regions *regions;
    const struct op_schema *rollup; /* writer schema of rollups */
    const struct op_schema *readers[OP_EVENT_TYPES];
    /* symbol names per dimension, in the reader schemas' order */
    const char *symbols[AGG_DIMS][AGG_DIM];
    int n_symbols[AGG_DIMS];
    int kind_index[AGG_KINDS]; /* WindowKind symbol index in the rollup schema */
    int level_index[4];        /* Level symbol index by enum op_region_level */
    struct agg_campaign *campaigns;
    size_t n_campaigns;
};

struct agg_rollup {
    int kind; /* enum agg_window_kind */
    uint32_t region;
    int level; /* enum op_region_level */
    int dirty; /* changed since the last take_dirty */
    int64_t revision, event_count, first_at, last_at;
    int64_t visits, by_activity[AGG_DIM], workers_reached, by_group[AGG_DIM], households, staff;
    int64_t funding_fen, by_source[AGG_DIM], by_purpose[AGG_DIM], recipients;
    int64_t surveys, enterprises, respondents, satisfaction[5], needs[AGG_DIM];
    char *window; /* "2025-01-15", "2025-01", a campaign name, "all" */
    char *key;    /* "KIND|window|region": the Kafka key of the rollup */
};

struct agg_state {
    int32_t partition;
    struct op_map *rollups; /* key -> struct agg_rollup */
    struct op_map *seen;    /* event_id -> first-seen time in ms (cast to pointer) */
    struct agg_rollup **dirty;
    size_t n_dirty, cap_dirty;
};

/* Builds the model from the default codec's schemas. campaigns is "NAME:YYYY-MM-DD:YYYY-MM-DD"
 * entries separated by ';' (both days inclusive), may be empty. Returns 0 or -1 with errstr. */
int agg_model_init(struct agg_model *m, const struct op_codec *codec,
                   const struct op_regions *regions, const char *campaigns, char *errstr,
                   size_t errstr_size);
void agg_model_free(struct agg_model *m);

/* Parses a campaign list as above into a new array. Returns 0 or -1 with errstr. */
int agg_campaigns_parse(const char *text, struct agg_campaign **out, size_t *n, char *errstr,
                        size_t errstr_size);

struct agg_state *agg_state_new(int32_t partition);
void agg_state_destroy(struct agg_state *s);

/* The Asia/Shanghai calendar day ("YYYY-MM-DD") and month ("YYYY-MM") of ms since the epoch. */
void agg_day_of(int64_t ms, char day[11]);
void agg_month_of(int64_t ms, char month[8]);

/* 1 when event_id was already counted in this partition, else records it (at now_ms) and
 * returns 0; -1 on allocation failure. */
int agg_seen_check_add(struct agg_state *s, const char *event_id, int64_t now_ms);

/* Records event_id as seen (restore path). 0 or -1. */
int agg_seen_restore(struct agg_state *s, const char *event_id, int64_t seen_ms);

/* Forgets ids first seen before cutoff_ms (the dedup horizon). Returns how many. */
size_t agg_seen_prune(struct agg_state *s, int64_t cutoff_ms);

/* Adds a valid event to every window and every level of its region; touched rollups get
 * revision + 1 once per take_dirty cycle and join the dirty list. 0 or -1 (allocation). */
int agg_apply(const struct agg_model *m, struct agg_state *s, const struct op_event *ev);

/* Hands the dirty rollups to cb (in the order they became dirty) and clears the list. Stops
 * at and returns the first non-zero cb result; then the remaining stay dirty. */
int agg_take_dirty(struct agg_state *s, int (*cb)(struct agg_rollup *r, void *opaque),
                   void *opaque);

/* Fills rollup value `v` (of m->rollup) from r. 0 or -1 with errstr. */
int agg_rollup_to_value(const struct agg_model *m, const struct agg_rollup *r, avro_value_t *v,
                        char *errstr, size_t errstr_size);

/* Restore: replaces the rollup of v's key in s with v's content (not dirty). 0 or -1. */
int agg_rollup_restore(const struct agg_model *m, struct agg_state *s, avro_value_t *v,
                       char *errstr, size_t errstr_size);

#endif
