/* Internal to record conversion (record.c: the context, the JSON path and the common tail
 * into Avro and the rules; record_id.c: canonical content and derived ids; record_csv.c: CSV
 * header mapping and cell conversion): the helpers they share. Not for the rest of the
 * producer, which uses record.h. */
#ifndef PRODUCER_RECORD_INTERNAL_H
#define PRODUCER_RECORD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>
#include <jansson.h>

#include "record.h"

/* How many bytes of s (n long) to quote in a message: at most max, cut at a character. */
int producer_rec_clip(const char *s, size_t n, size_t max);

/* `s` with any named-type links followed. */
avro_schema_t producer_rec_deref(avro_schema_t s);

/* The common tail of both formats: the JSON object `obj` of type t into Avro, the derived id
 * when it has no event_id, the event's checks (common/event.c) and the rules of
 * docs/events.md that common/event.c does not check (yet; see docs/producer.md), and the
 * encoded message into `out`. Returns 0, or -1 with field and reason set. */
int producer_rec_finish(struct producer_conv *conv, int t, json_t *obj, int64_t now_ms,
                        struct producer_rec *out, char *field, size_t field_size, char *reason,
                        size_t reason_size);

/* The record type named by `name` (NULL: none given). */
int producer_rec_pick_type(const struct producer_conv *conv, const char *name, size_t len,
                           char *field, size_t field_size, char *reason, size_t reason_size);

/* Writes the reason for an unparsable timestamp text. */
void producer_rec_bad_ts(const char *fname, const char *s, size_t n, const char *why, char *field,
                         size_t field_size, char *reason, size_t reason_size);

#endif
