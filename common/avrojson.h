/* Avro values <-> plain JSON: records as objects, enums as symbol names, a nullable union as
 * null or its value, other unions as {"branch-type": value}. Used for JSON Lines input, the
 * codec and DLQ tools, and tests. */
#ifndef OP_AVROJSON_H
#define OP_AVROJSON_H

#include <stddef.h>

#include <avro.h>
#include <jansson.h>

#include "codec.h"

/* A new JSON reference for `v`, or NULL on allocation failure or a non-UTF-8 string. */
json_t *op_avrojson_to_json(avro_value_t *v);

/* Sets record value `dst` of schema `s` from JSON object `j`. Fields absent from `j` take the
 * schema's default; a missing field without default, an unknown field, a wrong type or an
 * unknown enum symbol fails with "FIELD: reason" (nested fields as a.b, items as a[3]) in
 * errstr. `dst` is reset first. Returns 0 or -1. */
int op_avrojson_from_json(const struct op_schema *s, avro_value_t *dst, json_t *j, char *errstr,
                          size_t errstr_size);

/* "an object", "an array", "a string", "an integer", "a number", "a boolean" or "null":
 * the kind of `j` as error messages name it. */
const char *op_avrojson_kind(json_t *j);

#endif
