/* One input record (a JSON Lines object or a CSV row) to a validated Avro event of the newest
 * schema of its type: timestamps, CSV cells, derived event ids and every validation rule. */
#ifndef PRODUCER_RECORD_H
#define PRODUCER_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>
#include <jansson.h>

#include "authz.h"
#include "buf.h"
#include "codec.h"
#include "event.h"
#include "regions.h"

/* Derived ids: this prefix and the first 32 hex digits (128 bits) of a SHA-256. */
#define PRODUCER_ID_PREFIX "d-"
#define PRODUCER_ID_HEX 32
#define PRODUCER_ID_SIZE (sizeof PRODUCER_ID_PREFIX + PRODUCER_ID_HEX)
/* What the hash covers: this line, the type, then the canonical content (docs/producer.md). */
#define PRODUCER_ID_DOMAIN "outreach-event-id-v1"

/* Sizes of the caller's buffers for a rejected record's field and reason. */
#define PRODUCER_FIELD_MAX 96
#define PRODUCER_REASON_MAX 512

/* Parses an RFC 3339 timestamp with an explicit offset: YYYY-MM-DD, 'T' (or 't' or a space),
 * hh:mm, optional :ss and .fraction (digits past the millisecond must be 0), then 'Z' or
 * ±hh:mm. Calendar-checked (2025-02-30 fails). On success *ms is UTC milliseconds since the
 * epoch. Returns 0, or -1 with *why set to a static reason. */
int producer_ts_parse(const char *s, size_t len, int64_t *ms, const char **why);

/* A CSV header mapped onto the event schemas. */
struct producer_csv_header {
    size_t ncols;
    char **names;             /* trimmed column names */
    int type_col;             /* index of "type", or -1 */
    int *map[OP_EVENT_TYPES]; /* per type and column: top-level field index << 8 | (sub+1),
                               * sub = index inside a record-typed field; -1: not a field */
};

/* Field defaults remembered per (record schema, field index): op_codec_field_default walks
 * the schema text on every call. Borrowed references, valid as long as the codec. */
struct producer_defaults {
    size_t n;
    struct {
        avro_schema_t rec;
        size_t index;
        json_t *def;
    } e[128];
};

/* Conversion context: the reader schema and a reusable value per type, the rules, scratch. */
struct producer_conv {
    const struct op_codec *codec;
    const struct op_schema *reader[OP_EVENT_TYPES];
    avro_value_t value[OP_EVENT_TYPES];
    int have_value[OP_EVENT_TYPES];
    unsigned char is_ts[OP_EVENT_TYPES][64]; /* top-level field i is timestamp-millis */
    int id_index[OP_EVENT_TYPES];            /* the event_id field's index */
    const struct op_regions *regions;
    const struct op_authz *authz; /* NULL: no authorisation check */
    int64_t max_future_ms;
    int default_type; /* type of records that name none (--type), or -1 */
    struct op_buf canon;
    struct producer_defaults defaults;
    struct op_buf msg;           /* the last encoded message of the generic path */
    struct producer_jscan *fast; /* jsonscan.h; NULL: every JSON record takes the generic path */
    uint64_t n_fast, n_generic;  /* JSON records converted either way (tests, profiles) */
    /* Set by a caller whose every text was already checked as UTF-8 (the reader's decoder):
     * the fast path then skips its own check. 0 (the default) for any other input. */
    int text_utf8_valid;
    /* wire.format of every message (frame.h; shared, read-only); NULL: single-object. */
    const struct op_frame *frame;
};

/* The result of a successful conversion: valid until the next conversion on the same conv. */
struct producer_rec {
    enum op_event_type type;
    const struct op_schema *schema; /* the newest schema of the type: the writer */
    avro_value_t *value;            /* NULL when the fast JSON path converted the record */
    const unsigned char *msg;       /* the message: single-object encoding by the writer */
    size_t msg_len;
    struct op_event ev;
    char key[7]; /* province code */
    int derived; /* event_id was derived */
    char id[PRODUCER_ID_SIZE];
};

/* Prepares conv over a codec with every event schema (borrowed, as are regions and authz).
 * Returns 0 or -1 with errstr. */
int producer_conv_init(struct producer_conv *conv, const struct op_codec *codec,
                       const struct op_regions *regions, const struct op_authz *authz,
                       int64_t max_future_ms, int default_type, char *errstr, size_t errstr_size);
void producer_conv_free(struct producer_conv *conv);

/* Converts and validates one JSON Lines record (len bytes, no line terminator). now_ms is the
 * clock for the future-skew rule. Returns 0 with *out filled, or -1 with the field and the
 * reason of the first problem. Takes the fast path (jsonscan.c) when it can, else the generic
 * one: both give the same bytes, ids and reasons. Safe on any input (a fuzz target). */
int producer_conv_json(struct producer_conv *conv, const char *text, size_t len, int64_t now_ms,
                       struct producer_rec *out, char *field, size_t field_size, char *reason,
                       size_t reason_size);

/* The same through jansson and avro-c values only: the reference of the fast path's tests. */
int producer_conv_json_generic(struct producer_conv *conv, const char *text, size_t len,
                               int64_t now_ms, struct producer_rec *out, char *field,
                               size_t field_size, char *reason, size_t reason_size);

/* Maps header cells onto the schemas. Fails (field "header") on an unknown or repeated
 * column, or a file without a "type" column when conv has no default type. */
int producer_csv_header_init(struct producer_csv_header *h, const struct producer_conv *conv,
                             char *const *cells, const size_t *lens, size_t n, char *field,
                             size_t field_size, char *reason, size_t reason_size);
void producer_csv_header_free(struct producer_csv_header *h);

/* Converts and validates one CSV row given as cells (already unquoted). */
int producer_conv_csv(struct producer_conv *conv, const struct producer_csv_header *h,
                      char *const *cells, const size_t *lens, size_t n, int64_t now_ms,
                      struct producer_rec *out, char *field, size_t field_size, char *reason,
                      size_t reason_size);

/* The canonical content the derived id hashes (docs/producer.md): the record as compact JSON
 * with keys sorted, event_id and reported_at left out, fields equal to their schema default
 * left out, and array items sorted. Appended to out (not NUL-terminated). cache (may be NULL)
 * must only ever be used with the schemas of one codec. Returns 0 or -1. */
int producer_canonical(const struct op_schema *s, avro_value_t *v, struct producer_defaults *cache,
                       struct op_buf *out);

/* Appends s as a JSON string the way Python's json.dumps(ensure_ascii=False) writes it (the
 * canonical content's strings), so that an independent implementation can recompute ids. */
int producer_json_string(struct op_buf *b, const char *s, size_t n);

/* The derived id of value v of schema s: PRODUCER_ID_PREFIX + 32 hex digits of
 * SHA-256(PRODUCER_ID_DOMAIN "\n" type "\n" canonical). Returns 0 or -1 (out of memory). */
int producer_derive_id(const struct op_schema *s, avro_value_t *v, struct producer_defaults *cache,
                       struct op_buf *scratch, char out[PRODUCER_ID_SIZE]);

#endif
