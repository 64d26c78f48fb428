/* Internal to the codec's files (codec.c, codec_pcf.c, codec_check.c, codec_resolve.c): the
 * limits and helpers they share. Not for use outside the codec. */
#ifndef OP_CODEC_INTERNAL_H
#define OP_CODEC_INTERNAL_H

#include <stddef.h>

#include <avro.h>
#include <jansson.h>

/* Limit for hostile input: nesting deeper than this is refused (schemas and bodies alike). */
#define OP_CODEC_MAX_DEPTH 32

/* Full name of `name` in namespace `ns` (a name with a dot is already full); malloc'd, or
 * NULL when out of memory. (codec_pcf.c) */
char *op_codec_full_name(const char *name, const char *ns);

/* Canonical text (malloc'd) of the parsed schema `root` and, if wanted, its table of named
 * types (full name → definition object). NULL with errstr on error. (codec_pcf.c) */
char *op_codec_pcf_text(json_t *root, json_t **names_out, char *errstr, size_t errstr_size);

/* `s` with any named-type links followed. (codec_check.c) */
avro_schema_t op_codec_deref(avro_schema_t s);

/* Well-formed UTF-8 without NUL: what Avro strings and map keys must be here. (codec_check.c) */
int op_codec_utf8_ok(const unsigned char *s, size_t n);

#endif
