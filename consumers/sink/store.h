/* outreach-sink's state: the latest revision of every rollup and the Idempotency-Keys seen,
 * kept in memory and in an append-only JSON Lines log (fsync'd before a batch is answered,
 * replayed and compacted at start). Pure logic and file I/O; callers serialise access. */
#ifndef SINK_STORE_H
#define SINK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "regions.h"

/* Largest request body accepted, compressed or not. */
#define SINK_BODY_MAX ((size_t)64 << 20)
#define SINK_KEY_MAX 512 /* longest Idempotency-Key and rollup key */

enum sink_result {
    SINK_ACCEPTED = 0, /* stored (on disk when a state file is used) */
    SINK_DUPLICATE,    /* this Idempotency-Key was seen with the same body: nothing done */
    SINK_CONFLICT,     /* this Idempotency-Key was seen with another body: refused (422) */
    SINK_INVALID,      /* not a valid batch: refused (400) */
    SINK_IOERR,        /* the state file could not be written: nothing changed (500) */
    SINK_FULL          /* the batch would take the store over its rollup-key cap (507) */
};

struct sink_stats {
    uint64_t batches;          /* accepted */
    uint64_t duplicates;       /* repeated Idempotency-Keys */
    uint64_t conflicts;        /* keys reused for another body */
    uint64_t invalid;          /* refused batches */
    uint64_t full;             /* refused: over the rollup-key cap */
    uint64_t rollups_received; /* rollups in accepted batches */
    uint64_t rollups_applied;  /* of those, the ones that raised a key's revision */
};

struct sink_store;

/* Opens the store. With a path, replays that log (a torn last line from a crash is cut off
 * with a warning), then rewrites it compacted; a missing file is created. path NULL keeps
 * everything in memory only. max_keys bounds the Idempotency-Keys remembered (the oldest are
 * forgotten first). Returns NULL with errstr (`path:line: reason` for a corrupt log). */
struct sink_store *sink_store_open(const char *path, size_t max_keys, char *errstr,
                                   size_t errstr_size);
void sink_store_close(struct sink_store *s);

/* Default cap on the rollup keys kept (a year of national data is ~740k). */
#define SINK_MAX_ROLLUPS_DEFAULT 1000000

/* What new batches are held to (the log replayed at open is not: it was accepted before).
 * regions (not owned, outlives the store): rollups must name a region of the table, at its
 * level, and a window of the form of its kind; NULL checks neither. max_rollups: a batch
 * that would add rollup keys beyond this many is refused whole (SINK_FULL); 0: no cap. */
void sink_store_set_limits(struct sink_store *s, const struct op_regions *regions,
                           size_t max_rollups);

/* Applies one batch (the uncompressed JSON body) sent under idem_key: drops it if the key was
 * seen, else validates every rollup (all or nothing), keeps per rollup key the highest
 * revision, appends the change to the log and fsyncs it, and only then changes memory.
 * *accepted = rollups in the batch, *applied = those that raised a revision (either may be
 * NULL). errstr says why for SINK_INVALID, SINK_CONFLICT and SINK_IOERR. */
enum sink_result sink_store_apply(struct sink_store *s, const char *idem_key, const char *body,
                                  size_t len, size_t *accepted, size_t *applied, char *errstr,
                                  size_t errstr_size);

/* Appends {"count":N,"rollups":[...]} with every latest rollup, sorted by key (byte order),
 * each exactly as received. 0 or -1 (allocation). */
int sink_store_rollups_json(const struct sink_store *s, struct op_buf *out);

/* Calls cb for every rollup (unordered): key and the rollup's JSON text (NUL-terminated,
 * owned by the store, valid during the call). Stops at a non-zero return and returns it. */
int sink_store_foreach(const struct sink_store *s,
                       int (*cb)(const char *key, const char *json, size_t len, void *opaque),
                       void *opaque);

size_t sink_store_count(const struct sink_store *s);
size_t sink_store_keys(const struct sink_store *s); /* Idempotency-Keys remembered */
const struct sink_stats *sink_store_stats(const struct sink_store *s);

/* ---- validate.c ---- */

/* Checks one rollup object of a batch: the fields the sink relies on, their types, and that
 * every yuan string equals its fen integer. With regions, also that the region is in the
 * table at the rollup's level, and the window has the form of its kind: DAY YYYY-MM-DD (a
 * real date), MONTH YYYY-MM, ALL "all", CAMPAIGN 1..128 bytes without control characters.
 * Writes KIND|window|region to key (SINK_KEY_MAX bytes) and the revision to *rev. 0, or -1
 * with "field: reason". */
int sink_validate_rollup(json_t *r, const struct op_regions *regions, char *key, int64_t *rev,
                         char *errstr, size_t errstr_size);

/* Parses a yuan decimal string "-?DIGITS.DD" into fen, exactly. 0, or -1 if malformed or out
 * of int64 range. */
int sink_parse_yuan(const char *s, int64_t *fen);

#endif
