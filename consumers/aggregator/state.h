/* Aggregator state: per input partition, the working set of rollups (those touched since the
 * last flush) and the event ids newly counted. Pure logic, no Kafka, no disk: the rest of the
 * state lives behind a backing (the LMDB store of store.c) that the daemon plugs in. */
#ifndef AGG_STATE_H
#define AGG_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>

#include "buf.h"
#include "codec.h"
#include "event.h"
#include "map.h"
#include "regions.h"

#define AGG_DIM 32 /* most symbols of any enum dimension (5 bits of a dimension tag) */

enum agg_window_kind { AGG_DAY = 0, AGG_MONTH, AGG_CAMPAIGN, AGG_ALL, AGG_KINDS };
enum agg_dim { AGG_ACTIVITY = 0, AGG_GROUP, AGG_SOURCE, AGG_PURPOSE, AGG_NEED, AGG_DIMS };

struct agg_campaign {
    char *name;
    int64_t start_ms, end_ms; /* [start, end): from the first day's 00:00 to after the last
                                 day, Asia/Shanghai */
    uint16_t window;          /* interned window number (see agg_model_intern) */
};

/* What the schemas and the configuration fix for the whole run. */
struct agg_model {
    const struct op_regions *regions;
    const struct op_schema *rollup; /* writer schema of rollups */
    const struct op_frame *frame;   /* wire.format of rollups (frame.h); NULL: single-object */
    const struct op_schema *readers[OP_EVENT_TYPES];
    /* symbol names per dimension, in the reader schemas' order */
    const char *symbols[AGG_DIMS][AGG_DIM];
    int n_symbols[AGG_DIMS];
    int kind_index[AGG_KINDS]; /* WindowKind symbol index in the rollup schema */
    int level_index[4];        /* Level symbol index by enum op_region_level */
    int direct;                /* the rollup schema has the field order agg_rollup_write knows */
    int rollup_corrections;    /* the rollup schema has the corrections field (v2 on) */
    struct agg_campaign *campaigns;
    size_t n_campaigns;
    /* Campaign window names by number: a rollup stores the number, not the name. The table
     * only grows (the store persists it), so numbers stay valid across configurations. */
    char **windows;
    size_t n_windows;
};

/* One nonzero entry of a dimension map (visits by activity, workers by group, ...). */
struct agg_dimval {
    uint8_t tag; /* dim << 5 | symbol index */
    int64_t v;
};

/* A rollup, compact: the (kind, window, region) identity packed in `id`, the dimension maps
 * sparse. Regions and levels come from the region table, window names from the model. */
struct agg_rollup {
    uint64_t id; /* kind << 48 | window << 32 | region code */
    int64_t revision, event_count, first_at, last_at;
    int64_t visits, workers_reached, households, staff;
    int64_t funding_fen, recipients, surveys, enterprises, respondents, satisfaction[5];
    int64_t corrections; /* applied corrections and retractions of its events */
    struct agg_dimval *dims;
    uint16_t n_dims, cap_dims;
    int dirty; /* changed since the last take_dirty */
};

/* Where rollups and ids not in memory are looked up (the store). Either may be NULL. */
struct agg_backing {
    /* 1 and *out filled (caller-owned rollup, dims allocated) when found, 0 when absent,
     * -1 on a storage error. */
    int (*load_rollup)(void *opaque, int32_t partition, uint64_t id, struct agg_rollup *out);
    /* 1 when event_id (length n) was counted before, its record (agg_seen_get) appended to
     * info when not NULL; 0 when not; -1 on a storage error. */
    int (*get_seen)(void *opaque, int32_t partition, const char *event_id, size_t n,
                    struct op_buf *info);
    void *opaque;
};

struct agg_state {
    int32_t partition;
    struct agg_backing backing;
    struct op_map *live; /* 8-byte id -> struct agg_rollup: the working set */
    /* event_id -> (offset + 1) in seen_data of its entry: counted since the last flush. An
     * entry is the first-seen time in ms (8 bytes), the record's length (2 bytes) and the
     * record (agg_seen_put): what the event contributed, for corrections. */
    struct op_map *seen;
    struct op_buf seen_data;
    /* The previous generation, committed to Kafka and being written to the backing by another
     * thread: read-only until agg_state_thaw; looked up between the working set and the
     * backing. Rollups are kept in their store encoding (a quarter of the memory of live
     * ones). NULL / n 0 when none. */
    struct agg_frozen {
        struct op_buf data; /* encoded rollups back to back */
        uint64_t *id;       /* per rollup: id, and its bytes data[off, off + len) */
        uint32_t *off, *len;
        size_t n;
        uint32_t *slot; /* open addressing on id: index + 1, 0 empty */
        size_t mask;
        int on;
    } frozen;
    struct op_map *frozen_seen;
    struct op_buf frozen_seen_data;
    struct agg_rollup **dirty;
    size_t n_dirty, cap_dirty;
    struct op_buf scratch; /* a seen record being read or written (correct.c) */
};

/* Builds the model from the default codec's schemas. campaigns is "NAME:YYYY-MM-DD:YYYY-MM-DD"
 * entries separated by ';' (both days inclusive), may be empty; each campaign's name is
 * interned in order. Returns 0 or -1 with errstr. */
int agg_model_init(struct agg_model *m, const struct op_codec *codec,
                   const struct op_regions *regions, const char *campaigns, char *errstr,
                   size_t errstr_size);
void agg_model_free(struct agg_model *m);

/* The window number of a campaign name, appending it to the table when new (*added = 1).
 * Returns 0, or -1 when the table is full (65536 names) or on allocation failure. */
int agg_model_intern(struct agg_model *m, const char *name, uint16_t *window, int *added);

/* Replaces the window table with names[0..n) (the store's, in number order) and re-interns
 * the configured campaigns against it. 0 or -1 (allocation). */
int agg_model_set_windows(struct agg_model *m, char *const *names, size_t n);

/* Parses a campaign list as above into a new array. Returns 0 or -1 with errstr. */
int agg_campaigns_parse(const char *text, struct agg_campaign **out, size_t *n, char *errstr,
                        size_t errstr_size);

struct agg_state *agg_state_new(int32_t partition, const struct agg_backing *backing);
void agg_state_destroy(struct agg_state *s);

/* The Asia/Shanghai calendar day ("YYYY-MM-DD") and month ("YYYY-MM") of ms since the epoch. */
void agg_day_of(int64_t ms, char day[11]);
void agg_month_of(int64_t ms, char month[8]);

/* Identity of a rollup. */
uint64_t agg_rollup_id(int kind, uint16_t window, uint32_t region);
int agg_rollup_kind(const struct agg_rollup *r);
uint16_t agg_rollup_window(const struct agg_rollup *r);
uint32_t agg_rollup_region(const struct agg_rollup *r);
/* The Kafka key "KIND|window|region" of a rollup. Returns its length, or -1 when the window
 * number is unknown to the model or the key does not fit. */
int agg_rollup_key(const struct agg_model *m, const struct agg_rollup *r, char *out,
                   size_t out_size);
/* The value of dimension dim, symbol sym (0 when absent). */
int64_t agg_rollup_dim(const struct agg_rollup *r, int dim, int sym);
/* Frees what r owns (not r itself) and zeroes it. */
void agg_rollup_clear(struct agg_rollup *r);

/* Compact binary form of a rollup's content (the store's value): appends to out. 0 or -1. */
int agg_rollup_encode(const struct agg_rollup *r, struct op_buf *out);
/* Reads it back into r (cleared first; r->id is left as it was). 0, or -1 when malformed. */
int agg_rollup_decode(struct agg_rollup *r, const void *data, size_t len);

/* 1 when event_id was already counted in this partition (since the last flush, or in the
 * backing), else records it (at now_ms, with an empty record) and returns 0; -1 on
 * allocation or storage failure. */
int agg_seen_check_add(struct agg_state *s, const char *event_id, int64_t now_ms);

/* An event id's entry: 1 with its record copied into info (cleared first) and its first-seen
 * time in *ms (when not NULL), looked up in the working set, the frozen generation and the
 * backing; 0 when the id is unknown; -1 on allocation or storage failure. An empty record
 * is an id counted before records were kept. */
int agg_seen_get(struct agg_state *s, const char *event_id, size_t n, struct op_buf *info,
                 int64_t *ms);
/* Records (or replaces, in the working set) event_id's entry. 0 or -1 (allocation, or a
 * record over 65535 bytes). */
int agg_seen_put(struct agg_state *s, const char *event_id, size_t n, int64_t ms, const void *info,
                 size_t len);

/* Adds a valid event to every window and every level of its region; touched rollups get
 * revision + 1 once per take_dirty cycle and join the dirty list. 0 or -1 (allocation or
 * storage failure). */
int agg_apply(const struct agg_model *m, struct agg_state *s, const struct op_event *ev);

/* A window an event counts in: its kind and number (day and month numbers, a campaign's
 * interned number, 0 for ALL). */
struct agg_window {
    int kind;
    uint16_t number;
};
#define AGG_MAX_WINDOWS (AGG_KINDS + 16)
/* The windows an event that occurred at occurred_at counts in under the model's campaigns;
 * returns how many (at most AGG_MAX_WINDOWS). */
size_t agg_event_windows(const struct agg_model *m, int64_t occurred_at,
                         struct agg_window out[AGG_MAX_WINDOWS]);

/* The scalar figures a correction's audit entry reports, by rollup field name. */
#define AGG_DELTAS 10
extern const char *const agg_delta_names[AGG_DELTAS];
extern const char *const agg_kind_names[AGG_KINDS]; /* "DAY", "MONTH", "CAMPAIGN", "ALL" */

/* Rollups an event's changes touched, each with the sum of its scalar changes. */
#define AGG_MAX_TOUCH (2 * AGG_MAX_WINDOWS * 3)
struct agg_touch {
    size_t n;
    uint64_t id[AGG_MAX_TOUCH];
    int64_t d[AGG_MAX_TOUCH][AGG_DELTAS];
};

/* Adds (sign 1) or takes away (sign -1) ev's figures in windows w[0..nw) at every level of
 * ev->region, as agg_apply; with touch, records each rollup and its changes there. 0 or -1
 * (allocation or storage failure, or an enum outside the model). */
int agg_apply_windows(const struct agg_model *m, struct agg_state *s, const struct op_event *ev,
                      const struct agg_window *w, size_t nw, int sign, struct agg_touch *touch);

/* Counts one more correction in every rollup of t. 0 or -1. */
int agg_touch_count_correction(struct agg_state *s, const struct agg_touch *t);

/* The name of window number w of a kind: "YYYY-MM-DD", "YYYY-MM", the campaign, "all"; out
 * holds computed names. NULL when the number is unknown. */
const char *agg_window_name(const struct agg_model *m, int kind, uint16_t w, char out[11]);

/* Hands the dirty rollups to cb (in the order they became dirty) and clears the list. Stops
 * at and returns the first non-zero cb result; then the remaining stay dirty. */
int agg_take_dirty(struct agg_state *s, int (*cb)(struct agg_rollup *r, void *opaque),
                   void *opaque);

/* Calls cb for every rollup of the working set, then for every newly seen id; stops at and
 * returns the first non-zero result. For the store's write after a Kafka commit. */
typedef int (*agg_seen_cb)(const char *id, size_t n, int64_t ms, const void *info, size_t len,
                           void *opaque);
int agg_state_each(struct agg_state *s, int (*rollup_cb)(const struct agg_rollup *r, void *opaque),
                   agg_seen_cb seen_cb, void *opaque);

/* Forgets the working set and the newly seen ids (after they are stored, or after an abort:
 * the backing, with the frozen generation, then holds the committed state). */
void agg_state_release(struct agg_state *s);

/* After a commit: the working set and the new ids (nothing dirty) become the frozen
 * generation, and a new, empty working set starts. Their content stays visible to look-ups
 * until agg_state_thaw. -1 (nothing changed) when a generation is still frozen, a rollup is
 * dirty, or on allocation failure. */
int agg_state_freeze(struct agg_state *s);
/* The frozen generation in key order: each rollup's id and store encoding (as
 * agg_rollup_encode), then the ids as agg_state_each. It only reads, so another thread may
 * call it while this one goes on with the working set. 0 when none is frozen. */
int agg_state_each_frozen(const struct agg_state *s,
                          int (*rollup_cb)(uint64_t id, const void *data, size_t len, void *opaque),
                          agg_seen_cb seen_cb, void *opaque);
/* Frees the frozen generation (once the backing holds it). */
void agg_state_thaw(struct agg_state *s);

size_t agg_state_live(const struct agg_state *s);

/* Fills rollup value `v` (of m->rollup) from r. 0 or -1 with errstr. */
int agg_rollup_to_value(const struct agg_model *m, const struct agg_rollup *r, avro_value_t *v,
                        char *errstr, size_t errstr_size);

/* Appends r as a framed rollup message (single-object encoding of m->rollup), written
 * directly in the schema's field order: the same bytes as agg_rollup_to_value followed by
 * op_codec_encode, several times faster. Falls back to that path when the schema's fields
 * are not the ones it knows (m->direct == 0). 0 or -1 with errstr. */
int agg_rollup_write(const struct agg_model *m, const struct agg_rollup *r, avro_value_t *scratch,
                     struct op_buf *out, char *errstr, size_t errstr_size);

/* Restore: fills r (cleared first) from a rollup record v, interning a campaign window the
 * model does not know yet (*interned = 1 then). 0 or -1 with errstr. */
int agg_rollup_from_value(struct agg_model *m, avro_value_t *v, struct agg_rollup *r, int *interned,
                          char *errstr, size_t errstr_size);

#endif
