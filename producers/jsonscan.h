/* The fast JSON Lines path: a scanner for the flat shape of event records that writes the Avro
 * single-object encoding, the derived id and the event directly, without jansson or avro-c
 * values. It only ever accepts what the generic path (record.c) accepts, byte for byte. */
#ifndef PRODUCER_JSONSCAN_H
#define PRODUCER_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* Builds the scanner's tables from conv's reader schemas (which must outlive it). A type whose
 * schema has a shape the scanner does not know is left to the generic path. NULL only when
 * out of memory. */
struct producer_jscan *producer_jscan_new(const struct producer_conv *conv);
void producer_jscan_destroy(struct producer_jscan *js);

/* Converts one JSON Lines record the fast way. Returns 1 with *out filled (out->msg is the
 * encoded message, out->value NULL; valid until the next conversion on js), or 0 when the
 * record needs the generic path: anything the scanner does not handle (escapes in strings,
 * numbers with a fraction or exponent, keys out of order for the type, …) and every invalid
 * record, so that reasons come from one place. */
int producer_jscan_convert(struct producer_jscan *js, const struct producer_conv *conv,
                           const char *text, size_t len, int64_t now_ms, struct producer_rec *out);

#endif
