/* How a writer frames its Avro messages (wire.format): Avro single-object encoding (C3 01 +
 * 8-byte fingerprint) or Confluent Schema Registry framing (00 + 4-byte big-endian schema id). */
#ifndef OP_FRAME_H
#define OP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "registry.h"

/* Longest header either framing writes. */
#define OP_FRAME_HEADER_MAX 10
/* Confluent framing: magic byte 0, then the schema id (big-endian int32). */
#define OP_FRAME_CONFLUENT_MAGIC 0x00
#define OP_FRAME_CONFLUENT_HEADER_SIZE 5

/* Keys of every program that writes Avro messages (with OP_REGISTRY_CONF_DEFS). */
#define OP_FRAME_CONF_KEYS(BIND)                                                                   \
    {"wire.format",                                                                                \
     OP_CONF_STRING,                                                                               \
     "single-object",                                                                              \
     "framing of the Avro messages written: single-object (C3 01 + 8-byte schema fingerprint) "    \
     "or confluent (00 + 4-byte schema id; needs schema.registry.url). Readers take both",         \
     0,                                                                                            \
     0,                                                                                            \
     BIND(wire_format)},                                                                           \
        {"auto.register.schemas",                                                                  \
         OP_CONF_BOOL,                                                                             \
         "true",                                                                                   \
         "wire.format=confluent: register our schemas at start (false: only look their ids up; "   \
         "a schema missing from the subject is then a start-up error)",                            \
         0,                                                                                        \
         0,                                                                                        \
         BIND(auto_register)},                                                                     \
    {                                                                                              \
        "schema.registry.subject.name.strategy", OP_CONF_STRING, "auto",                           \
            "subject of a schema: topic (TOPIC-value), record (the record's full name), "          \
            "topic_record (TOPIC-FULLNAME) or auto (topic for a topic of one record type, "        \
            "topic_record for one of several, e.g. the events topic)",                             \
            0, 0, BIND(strategy)                                                                   \
    }
#define OP_FRAME_CONF_DEFS OP_FRAME_CONF_KEYS(OP_CONF_OWNED_BY)

/* The OP_FRAME_CONF_DEFS keys, bound by op_frame_new_from_conf. */
struct op_frame_settings {
    const char *wire_format, *strategy;
    bool auto_register;
};

enum op_wire_format { OP_WIRE_SINGLE_OBJECT = 0, OP_WIRE_CONFLUENT = 1 };

struct op_schema;

/* A writer's framing: the format, and in confluent mode the registry and the id of every
 * schema bound at start. Read-only after op_frame_bind, so threads may share it. */
struct op_frame;

/* From wire.format and the registry keys of conf. The registry client is created whenever
 * schema.registry.url is set (readers use it through op_frame_registry). NULL with errstr on
 * a bad setting (confluent without a URL, an unknown format or strategy). */
struct op_frame *op_frame_new_from_conf(const struct op_conf *conf, char *errstr,
                                        size_t errstr_size);
void op_frame_destroy(struct op_frame *f);

enum op_wire_format op_frame_format(const struct op_frame *f);

/* The registry client (owned by the frame), or NULL without schema.registry.url. */
struct op_registry *op_frame_registry(const struct op_frame *f);

/* Confluent mode: registers (auto.register.schemas=true) or looks up each of the n schemas a
 * writer sends to `topic`, under the subject the strategy gives, and remembers its id; a no-op
 * in single-object mode. Returns 0, or -1 with errstr naming the schema, the subject and the
 * registry's reason (e.g. a compatibility violation). Not thread-safe: call at start. */
int op_frame_bind(struct op_frame *f, const char *topic, const struct op_schema *const *schemas,
                  size_t n, char *errstr, size_t errstr_size);

/* The subject of a schema whose record full name is `record` on `topic`, per strategy
 * ("topic", "record", "topic_record"; "auto" with `several` record types on the topic picks
 * topic_record, else topic). Returns 0 or -1 (unknown strategy, or out too small). */
int op_frame_subject(const char *strategy, const char *topic, const char *record, int several,
                     char *out, size_t size);

/* The id bound to schema s (by fingerprint), or -1. */
int32_t op_frame_id(const struct op_frame *f, const struct op_schema *s);

/* Writes the header of a message of schema s into out (at least OP_FRAME_HEADER_MAX bytes).
 * f NULL means single-object. Returns its length, or 0 when s has no id bound (confluent). */
size_t op_frame_header(const struct op_frame *f, const struct op_schema *s, unsigned char *out);

/* Appends that header to out. Returns 0, or -1 with errstr (no id bound, out of memory). */
int op_frame_append_header(const struct op_frame *f, const struct op_schema *s, struct op_buf *out,
                           char *errstr, size_t errstr_size);

#endif
