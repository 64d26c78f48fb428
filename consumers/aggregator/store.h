/* The aggregator's local state store: an LMDB environment per instance holding, per input
 * partition, the rollups and the counted event ids, and the changelog offsets they reflect.
 * A cache of the compacted topics, never the truth: what it cannot vouch for is rebuilt. */
#ifndef AGG_STORE_H
#define AGG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

/* Whose changelogs the store mirrors: a store made for anything else is foreign. */
struct agg_store_identity {
    const char *cluster_id;
    const char *rollups_topic, *seen_topic;
    int partitions;
};

struct agg_store;

/* Opens (or creates) the store in directory dir (created if missing). A store that cannot be
 * trusted — unreadable, truncated, of another format, or of another identity — is removed
 * and created anew; *reason then says why ("" when the store was reused or new). map_mb is
 * the largest size the file may grow to. NULL with errstr when the directory is unusable. */
struct agg_store *agg_store_open(const char *dir, size_t map_mb,
                                 const struct agg_store_identity *id, char *reason,
                                 size_t reason_size, char *errstr, size_t errstr_size);
void agg_store_close(struct agg_store *st);

/* Removes the store's files (after a storage error: the next start rebuilds from Kafka). */
void agg_store_remove(const char *dir);

/* The changelog offsets partition p's content reflects (next offset to read of the rollups
 * and seen topics). 1 when recorded, 0 when the partition has no complete state here. */
int agg_store_partition(struct agg_store *st, int32_t p, int64_t *rollups_next, int64_t *seen_next);

/* The campaign window names by number (store-owned, valid until the next write). */
int agg_store_windows(struct agg_store *st, char ***names, size_t *n);

/* Reads, from the last committed write (or the open write transaction, unless it is written
 * elsewhere). */
int agg_store_get_rollup(struct agg_store *st, int32_t p, uint64_t id, struct agg_rollup *out);
int agg_store_has_seen(struct agg_store *st, int32_t p, const char *event_id, size_t n);
/* The same, appending the id's record (see agg_seen_get) to info when not NULL. */
int agg_store_get_seen(struct agg_store *st, int32_t p, const char *event_id, size_t n,
                       struct op_buf *info);

/* The backing that makes an agg_state read from this store. */
struct agg_backing agg_store_backing(struct agg_store *st);

/* Writes: one write transaction at a time, begin → puts → commit (atomic, durable). */
int agg_store_begin(struct agg_store *st);
/* Forgets partition p's recorded offsets; with wipe also every rollup and id of it. */
int agg_store_reset_partition(struct agg_store *st, int32_t p, int wipe);
int agg_store_put_rollup(struct agg_store *st, int32_t p, const struct agg_rollup *r);
/* The same from a rollup's encoding (agg_rollup_encode). */
int agg_store_put_encoded(struct agg_store *st, int32_t p, uint64_t id, const void *data,
                          size_t len);
/* An id's first-seen time and record (info, len; may be empty). */
int agg_store_put_seen(struct agg_store *st, int32_t p, const char *event_id, size_t n, int64_t ms,
                       const void *info, size_t len);
int agg_store_set_partition(struct agg_store *st, int32_t p, int64_t rollups_next,
                            int64_t seen_next);
int agg_store_put_window(struct agg_store *st, uint16_t window, const char *name);
/* On (before another thread begins writing): the reads of this thread stop looking at the
 * write transaction and keep to their snapshot; off (once that thread is done, joined):
 * the next read takes a new snapshot, with the writes. The writing thread uses begin, the
 * puts and commit; nothing else may use the store meanwhile but the reads above and
 * agg_store_counts / agg_store_bytes. */
void agg_store_write_elsewhere(struct agg_store *st, int on);

/* Puts since begin, to cut long restores into bounded transactions. */
size_t agg_store_pending(const struct agg_store *st);
int agg_store_commit(struct agg_store *st);
void agg_store_abort(struct agg_store *st);

/* The time before which counted ids may have been forgotten (pruned, or lost to the seen
 * topic's retention before a restore): 0 when none was. The put is part of the open write. */
int64_t agg_store_forgotten_before(struct agg_store *st);
int agg_store_put_forgotten_before(struct agg_store *st, int64_t ms);

/* Deletes ids first seen before cutoff_ms (own write transaction). Returns how many, or -1. */
long agg_store_prune_seen(struct agg_store *st, int64_t cutoff_ms);

/* Bytes of the store file in use (its last commit's pages), for metrics. */
uint64_t agg_store_bytes(struct agg_store *st);

/* Entries held, for metrics. */
void agg_store_counts(struct agg_store *st, uint64_t *rollups, uint64_t *seen);

/* The last storage error, for logs. */
const char *agg_store_error(const struct agg_store *st);

/* Fault injection for the kill -9 tests: when the environment variable
 * OUTREACH_AGG_FAULT names `point` (e.g. "after-kafka-commit") and its count (":N", default 1)
 * is reached, the process exits at once with status 86 (as kill -9 would leave it). */
void agg_fault(const char *point);

#endif
