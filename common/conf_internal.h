/* What conf.c (the store and router) and conf_bind.c (typed settings) share; not for other
 * files. */
#ifndef OP_CONF_INTERNAL_H
#define OP_CONF_INTERNAL_H

#include "conf.h"
#include "log.h"

struct conf_entry {
    char *key;
    char *value;
    char *name; /* the segment a `*` matched; NULL for plain keys */
    const struct op_conf_def *def;
};

struct op_conf {
    const struct op_conf_def *defs;
    struct conf_entry *entries; /* sorted by key so lookups bisect and foreach is ordered */
    size_t n_entries, cap_entries;
    char **kafka_keys; /* librdkafka keys as set, in first-set order, for op_conf_dump */
    size_t n_kafka_keys, cap_kafka_keys;
    const struct op_conf_passthrough *pt; /* NULL: keys outside the table are errors */
    void *pt_obj;
};

/* Base-10 integer / true-false-yes-no-on-off-1-0, the whole string; 0 or -1. */
int conf_parse_int(const char *s, long long *out);
int conf_parse_bool(const char *s, int *out);
/* Whether an INT key has a min..max range. */
int conf_has_bounds(const struct op_conf_def *def);
/* The table entry of key (plain keys before patterns), with the segment a `*` matched. */
const struct op_conf_def *conf_find_def(const struct op_conf_def *defs, const char *key,
                                        const char **seg, size_t *seg_len);
/* The value of a key of the table: set, else the default, else NULL. */
const char *conf_value_of(const struct op_conf *conf, const struct op_conf_def *def,
                          const char *key);
/* A mistake in program text: logged, then abort(). */
_Noreturn void conf_programming_error(const char *fmt, ...) OP_LOG_PRINTF(1, 2);
/* NULL, or what is wrong with a key's binding (the field's type, an int's range). */
const char *conf_binding_problem(const struct op_conf_def *d);

#endif
