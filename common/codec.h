/* Avro codec: schema registry by CRC-64-AVRO fingerprint, single-object framing, hostile-input
 * checks before avro-c sees the bytes, and writer → reader schema resolution with defaults. */
#ifndef OP_CODEC_H
#define OP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>
#include <jansson.h>

#include "buf.h"

struct op_frame;
struct op_registry;

/* Single-object encoding: C3 01, then the 8-byte little-endian fingerprint, then the body. */
#define OP_CODEC_MAGIC0 0xC3
#define OP_CODEC_MAGIC1 0x01
#define OP_CODEC_HEADER_SIZE 10

/* Decode failures, as negative return values; the DLQ uses op_codec_err_name() as reason. */
enum op_codec_err {
    OP_CODEC_OK = 0,
    OP_CODEC_ERR_FRAMING = -1,   /* too short or wrong magic: not single-object encoded */
    OP_CODEC_ERR_UNKNOWN = -2,   /* fingerprint of no schema we know */
    OP_CODEC_ERR_MALFORMED = -3, /* body does not match its writer schema */
    OP_CODEC_ERR_RESOLVE = -4,   /* writer data cannot be read as the reader schema */
    OP_CODEC_ERR_INTERNAL = -5,  /* allocation or avro-c failure */
    OP_CODEC_ERR_REGISTRY = -6   /* Confluent id: the schema registry did not answer in time */
};

/* "framing", "unknown-schema", "malformed", "unresolvable", "internal",
 * "registry-unavailable". */
const char *op_codec_err_name(int err);

/* The fields of schemas/rollup.avsc in their order, NULL-terminated: what the aggregator's
 * direct writer emits and the reporter's JSON accepts. */
extern const char *const op_rollup_fields[];

/* CRC-64-AVRO (the Rabin fingerprint of the Avro spec) of `len` bytes. */
uint64_t op_codec_crc64(const void *data, size_t len);

/* Parsing Canonical Form of a schema given as JSON text. On success *out is a malloc'd
 * NUL-terminated string owned by the caller. Returns 0 or -1 with a message in errstr. */
int op_codec_canonical_form(const char *json, size_t len, char **out, char *errstr,
                            size_t errstr_size);

/* One known writer schema version. Owned by the codec that registered it. */
struct op_schema {
    char *name;           /* e.g. "visit.v2" (learnt from a registry: "visit.registry-7") */
    char *type;           /* record kind, e.g. "visit": the part of the name before ".v" */
    int version;          /* the N of ".vN"; 0: learnt from a schema registry (writer only) */
    uint64_t fingerprint; /* CRC-64-AVRO of `canonical` */
    char *canonical;      /* Parsing Canonical Form */
    avro_schema_t schema;
    avro_value_iface_t *iface;
    json_t *json;  /* the parsed schema text, for defaults */
    json_t *names; /* full name → definition object, for defaults of named types */
};

/* Opaque registry of schemas plus the decoder's reusable values. One per thread: avro-c
 * values and its error buffer are not thread-safe. */
struct op_codec;

/* An empty codec. NULL on allocation failure. */
struct op_codec *op_codec_new(void);

/* A codec holding every schema compiled into the library (every schemas/ .avsc file). */
struct op_codec *op_codec_new_default(char *errstr, size_t errstr_size);

void op_codec_destroy(struct op_codec *codec);

/* Registers a schema under `name` ("TYPE.vN"). Fails on a parse error, a name that is not of
 * that shape, a duplicate name or a fingerprint collision. Returns 0 or -1 with errstr. */
int op_codec_add(struct op_codec *codec, const char *name, const char *json, size_t len,
                 char *errstr, size_t errstr_size);

/* Lookups; NULL when absent. The reader schema of a type is its newest version. */
const struct op_schema *op_codec_by_fingerprint(const struct op_codec *codec, uint64_t fp);
const struct op_schema *op_codec_by_name(const struct op_codec *codec, const char *name);
const struct op_schema *op_codec_reader(const struct op_codec *codec, const char *type);

/* Number of registered schemas and the i-th, in registration order. */
size_t op_codec_count(const struct op_codec *codec);
const struct op_schema *op_codec_at(const struct op_codec *codec, size_t i);

/* Appends the single-object encoding of `value` (whose schema must be `writer`'s) to `out`.
 * Returns 0 or -1 with errstr. */
int op_codec_encode(const struct op_schema *writer, avro_value_t *value, struct op_buf *out,
                    char *errstr, size_t errstr_size);

/* Appends `value` framed by `frame` (frame.h; NULL: single-object). Returns 0 or -1 with
 * errstr (also when the frame has no id for `writer`). */
int op_codec_encode_framed(const struct op_frame *frame, const struct op_schema *writer,
                           avro_value_t *value, struct op_buf *out, char *errstr,
                           size_t errstr_size);

/* Lets op_codec_decode look Confluent schema ids up in `registry` (borrowed: it must outlive
 * the codec; NULL: none, such ids are unknown-schema). An id's schema is matched to a known
 * one by its Parsing Canonical Form; a schema we do not know whose record full name is one of
 * our types' is learnt as a writer-only version of that type ("TYPE.registry-ID", version 0),
 * and its data is resolved to our reader like any older version's (unresolvable if it cannot
 * be). Ids are remembered for the codec's lifetime; registry failures are not (the registry
 * client caches those briefly). */
void op_codec_set_registry(struct op_codec *codec, struct op_registry *registry);

/* Decodes one message, Avro single-object encoded (C3 01 + fingerprint) or Confluent framed
 * (00 + schema id, see op_codec_set_registry), into the newest schema of its type. On success
 * *value points to a value owned by the codec, valid until the next decode of the same type or
 * op_codec_destroy, and *writer / *reader (either may be NULL) name the schemas involved.
 * Hostile input only ever yields a negative enum op_codec_err and a reason in errstr. */
int op_codec_decode(struct op_codec *codec, const void *data, size_t len, avro_value_t **value,
                    const struct op_schema **writer, const struct op_schema **reader, char *errstr,
                    size_t errstr_size);

/* Reads the fingerprint of a framed message without decoding it. 0, or OP_CODEC_ERR_FRAMING. */
int op_codec_peek_fingerprint(const void *data, size_t len, uint64_t *fp);

/* Checks that `len` bytes are exactly one datum of `schema`: every length, count, union
 * branch and enum index within bounds, no trailing bytes. Returns 0 or -1 with errstr.
 * Exposed for tests and fuzzing; op_codec_decode calls it before avro-c reads anything. */
int op_codec_check_body(avro_schema_t schema, const void *data, size_t len, char *errstr,
                        size_t errstr_size);

/* Sets `dst` (a value of schema `reader`) from `src` (a value of another schema), following
 * Avro schema resolution; fields the writer lacks take the reader's defaults. */
int op_codec_resolve(const struct op_schema *reader, avro_value_t *dst, avro_value_t *src,
                     char *errstr, size_t errstr_size);

/* Lookups that never write avro-c's error message. Debian's libavro (1.11, built without
 * THREADSAFE) keeps that message in one process-wide buffer that avro_set_error() writes and
 * avro_strerror() reads, so two threads that take an avro-c error path at once race (the
 * producer's workers each have their own codec and values, but share the buffer). avro-c's
 * own lookups by name (avro_schema_record_field_get_index, avro_value_get_by_name,
 * avro_schema_enum_get_by_name) write it whenever the name is absent, which for a field probe
 * or a symbol from the input is a normal outcome; these return -1 instead, touching nothing.
 * Code that may run on several threads looks names up here and then calls avro-c by index,
 * which cannot fail for an index below the size, and does not read avro_strerror().
 *
 * Index of field `name` of record schema `record` (links followed), or -1. */
int op_codec_field_index(avro_schema_t record, const char *name);

/* Index of symbol `name` of enum schema `e` (links followed), or -1. */
int op_codec_enum_index(avro_schema_t e, const char *name);

/* The declared default (borrowed reference) of field `field` of record schema `rec` as the
 * schema text of `s` gives it, or NULL when it has none. */
json_t *op_codec_field_default(const struct op_schema *s, avro_schema_t rec, const char *field);

/* Sets every field of a fresh record value `dst` of schema `s` to its default, where one is
 * declared (fields without a default are left as avro-c initialised them). */
int op_codec_set_defaults(const struct op_schema *s, avro_value_t *dst, char *errstr,
                          size_t errstr_size);

#endif
