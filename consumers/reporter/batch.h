/* outreach-reporter's batches: Kafka messages of one partition → latest revision per rollup key
 * → the JSON document endpoints receive (schemas/rollup-batch.schema.json), its
 * Idempotency-Key, gzip, and the exact money and mean formatting. Pure logic, no I/O. */
#ifndef REPORTER_BATCH_H
#define REPORTER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "codec.h"
#include "regions.h"

/* "-92233720368547758.08" and a NUL fit in this. */
#define REPORTER_YUAN_MAX 24
/* "5.00" and a NUL. */
#define REPORTER_MEAN_MAX 8
/* "2025-01-15T08:30:00.000Z", or with a 5- or 6-digit year, and a NUL. */
#define REPORTER_ISO_MAX 32
/* Longest endpoint name and topic name the reporter accepts: the batch key (made of both)
 * then stays below 255 bytes, so it is a valid file name for file:// endpoints. */
#define REPORTER_NAME_MAX 64
#define REPORTER_TOPIC_MAX 128
#define REPORTER_KEY_MAX 256

/* Formats `fen` as yuan with exactly two decimals ("12345.67", "0.05", "-0.01") by integer
 * division, exact for every int64 including INT64_MIN. Returns the length, or -1 if `size`
 * is too small (REPORTER_YUAN_MAX always suffices). */
int reporter_format_yuan(int64_t fen, char *out, size_t size);

/* The mean of a 1..5 histogram, (1*s1 + ... + 5*s5) / (s1 + ... + s5), rounded half up to two
 * decimals ("3.67"), computed exactly in integers for any counts. Returns 0, or -1 when the
 * mean is undefined (no answers, a negative count or a total beyond INT64_MAX): then the
 * payload says null. */
int reporter_format_mean(const int64_t counts[5], char out[REPORTER_MEAN_MAX]);

/* ms since the epoch as ISO-8601 UTC with milliseconds, e.g. "2025-01-15T08:30:00.000Z". */
void reporter_iso8601(int64_t ms, char out[REPORTER_ISO_MAX]);

/* splitmix64: the next pseudo-random number from *state (any seed). */
uint64_t reporter_rand(uint64_t *state);

/* Exponential backoff with full jitter: a uniform draw in [0, min(cap_ms, base_ms * 2^attempt)]
 * (attempt 0 is the first retry). Never overflows, whatever attempt is. */
int64_t reporter_backoff_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms, uint64_t *rng);

/* What to do with an HTTP answer (status 0: no answer, a transport error). */
enum reporter_verdict {
    REPORTER_DELIVERED = 0, /* 2xx: commit */
    REPORTER_RETRY = 1,     /* transport error, 408, 429, 5xx, and 1xx/3xx (misconfiguration:
                               retried so nothing is lost while an operator fixes it) */
    REPORTER_REJECTED = 2   /* any other 4xx: to the endpoint's DLQ, then commit */
};
enum reporter_verdict reporter_classify(long status);

/* One Kafka message of a batch, owned by whoever filled it (reporter_msg_free frees the
 * copies made by the engine). value is NULL for a tombstone. */
struct reporter_msg {
    int64_t offset;
    int64_t timestamp;   /* Kafka timestamp in ms, -1 if none */
    int64_t received_ms; /* monotonic time the reporter got it (for max.delay.ms) */
    char *key;
    size_t key_len;
    unsigned char *value;
    size_t len;
};
void reporter_msg_free(struct reporter_msg *m);

/* A message that cannot be a rollup (undecodable, another record type): dead-lettered. */
struct reporter_poison {
    size_t index; /* into the messages given to reporter_batch_build */
    char reason[32];
    char detail[256];
};

/* A built batch. Owns everything it points to; reporter_batch_free releases it. */
struct reporter_batch {
    char key[REPORTER_KEY_MAX]; /* Idempotency-Key and batch_id, without quotes */
    int32_t partition;
    int64_t first_offset, last_offset;
    size_t messages;   /* messages given */
    size_t rollups;    /* rollups in the payload: the latest revision per key */
    size_t superseded; /* older revisions left out */
    size_t tombstones;
    struct reporter_poison *poison;
    size_t n_poison;
    json_t *doc;        /* the whole payload document */
    struct op_buf json; /* doc serialised: compact UTF-8, fixed key order */
};

/* Builds the batch of messages msgs[0..n) (n >= 1, ascending offsets) of `partition` of `topic`
 * for endpoint `endpoint`:
 *  - each value is decoded with `codec` (which must hold the rollup schemas); what is not a
 *    rollup goes to b->poison; tombstones are counted and skipped;
 *  - per rollup key (window_kind|window|region, from the content) only the highest revision
 *    is kept (the later offset on a tie), in the offset order of the kept messages;
 *  - generated_at is the newest Kafka timestamp of the batch, so the same messages always
 *    give a byte-identical document, on every retry and after a restart;
 *  - the key is "<endpoint>-<topic>-<partition>-<first>-<last>-<digest>", digest being 16 hex
 *    digits of CRC-64-AVRO over every message's offset, key and value: the same offsets of an
 *    unchanged log give the same key; a different range or different content (compaction)
 *    gives another.
 * Returns 0, or -1 with errstr (allocation failure, or a key over REPORTER_KEY_MAX). */
int reporter_batch_build(struct reporter_batch *b, struct op_codec *codec,
                         const struct op_regions *regions, const char *endpoint, const char *topic,
                         int32_t partition, const struct reporter_msg *msgs, size_t n, char *errstr,
                         size_t errstr_size);
/* The same for an endpoint's audit stream (audit 1): the messages must be audit entries
 * (schemas/audit.v1.avsc; others are poison, reason not-an-audit-entry), each is sent as its
 * record's JSON, none supersedes another (b->rollups counts them), and the document holds them
 * in "entries" instead of "rollups". audit 0 is reporter_batch_build. */
int reporter_batch_build_kind(struct reporter_batch *b, struct op_codec *codec,
                              const struct op_regions *regions, const char *endpoint,
                              const char *topic, int32_t partition, const struct reporter_msg *msgs,
                              size_t n, int audit, char *errstr, size_t errstr_size);
void reporter_batch_free(struct reporter_batch *b);

/* Appends the batch's rollups as JSON Lines (one rollup object per line) to out. 0 or -1. */
int reporter_batch_jsonl(const struct reporter_batch *b, struct op_buf *out);

/* The endpoint payload object of one decoded rollup (the JSON of op_avrojson_to_json):
 * region_name added, times as ISO-8601, fen also as yuan strings, the satisfaction mean,
 * maps with sorted keys; fields of newer rollup schema versions are passed through after the
 * known ones. A new reference, or NULL with errstr when a required field is missing. The
 * rollup key is written to key (at least REPORTER_KEY_MAX bytes) and the revision to *rev. */
json_t *reporter_rollup_payload(json_t *avro, const struct op_regions *regions, char *key,
                                int64_t *rev, char *errstr, size_t errstr_size);

/* gzip (RFC 1952) of len bytes at `level` (1..9), appended to out: zlib deflateInit2 with
 * windowBits 15+16. Returns 0 or -1 (allocation or zlib failure). */
int reporter_gzip(const void *data, size_t len, int level, struct op_buf *out);

#endif
