/* Typed settings: binds the keys of a program's table (or a common/ module's) into the
 * fields their OP_CONF_AT names, once, so programs read fields instead of looking keys up. */
#include "conf_internal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Whether a key's binding fits its type: the field's C type, and for an int field a range
 * that fits an int. Returns NULL or what is wrong. */
const char *conf_binding_problem(const struct op_conf_def *d)
{
    switch (d->field) {
    case OP_CONF_UNBOUND:
    case OP_CONF_MODULE:
    case OP_CONF_ACCEPTED:
        return NULL;
    case OP_CONF_CLIENT:
        return d->clients ? NULL : "passed to no Kafka client";
    case OP_CONF_FIELD_STRING:
        return d->type == OP_CONF_STRING || d->type == OP_CONF_SECRET ? NULL
                                                                      : "bound to a string field";
    case OP_CONF_FIELD_LLONG:
        return d->type == OP_CONF_INT ? NULL : "bound to a long long field";
    case OP_CONF_FIELD_INT:
        if (d->type != OP_CONF_INT)
            return "bound to an int field";
        return conf_has_bounds(d) && d->min >= INT_MIN && d->max <= INT_MAX
                   ? NULL
                   : "bound to an int field but its range does not fit an int";
    case OP_CONF_FIELD_BOOL:
        return d->type == OP_CONF_BOOL ? NULL : "bound to a bool field";
    }
    return "has an unknown binding";
}

int op_conf_table_bound(const struct op_conf_def *defs)
{
    for (const struct op_conf_def *d = defs; d->key; d++)
        if (d->field == OP_CONF_UNBOUND) {
            op_log(OP_LOG_ERR, "configuration table: %s is bound to no field", d->key);
            return 0;
        }
    return 1;
}

const struct op_conf_def *op_conf_table(const struct op_conf *conf)
{
    return conf->defs;
}

/* Stores a validated value (or NULL: none) into the field `binding` describes. */
static void store(const struct op_conf_def *binding, const char *value, void *base)
{
    char *at = (char *)base + binding->offset;
    long long v = 0;
    int b = 0;

    switch (binding->field) {
    case OP_CONF_FIELD_STRING:
        memcpy(at, &value, sizeof value);
        return;
    case OP_CONF_FIELD_LLONG:
        if (value)
            (void)conf_parse_int(value, &v);
        memcpy(at, &v, sizeof v);
        return;
    case OP_CONF_FIELD_INT: {
        if (value)
            (void)conf_parse_int(value, &v);
        int i = (int)v; /* check_table made sure min..max fits */
        memcpy(at, &i, sizeof i);
        return;
    }
    case OP_CONF_FIELD_BOOL: {
        if (value)
            (void)conf_parse_bool(value, &b);
        bool x = b != 0;
        memcpy(at, &x, sizeof x);
        return;
    }
    case OP_CONF_UNBOUND:
    case OP_CONF_MODULE:
    case OP_CONF_CLIENT:
    case OP_CONF_ACCEPTED:
        break;
    }
    conf_programming_error("%s: no field to store into", binding->key);
}

void op_conf_bind(const struct op_conf *conf, void *settings)
{
    for (const struct op_conf_def *d = conf->defs; d->key; d++) {
        if (strchr(d->key, '*') || d->field == OP_CONF_MODULE || d->field == OP_CONF_CLIENT ||
            d->field == OP_CONF_ACCEPTED)
            continue;
        if (d->field == OP_CONF_UNBOUND)
            conf_programming_error("op_conf_bind: %s is bound to no field", d->key);
        store(d, conf_value_of(conf, d, d->key), settings);
    }
}

void op_conf_bind_instance(const struct op_conf *conf, const char *prefix, const char *name,
                           void *instance)
{
    size_t plen = strlen(prefix);
    int any = 0;

    for (const struct op_conf_def *d = conf->defs; d->key; d++) {
        if (strncmp(d->key, prefix, plen) != 0 || strncmp(d->key + plen, ".*.", 3) != 0)
            continue;
        if (d->field == OP_CONF_MODULE || d->field == OP_CONF_CLIENT ||
            d->field == OP_CONF_ACCEPTED)
            continue;
        if (d->field == OP_CONF_UNBOUND)
            conf_programming_error("op_conf_bind_instance: %s is bound to no field", d->key);
        char key[512];
        int n = snprintf(key, sizeof key, "%s.%s.%s", prefix, name, d->key + plen + 3);
        if (n < 0 || (size_t)n >= sizeof key)
            conf_programming_error("op_conf_bind_instance: %s.%s... is too long", prefix, name);
        store(d, conf_value_of(conf, d, key), instance);
        any = 1;
    }
    if (!any)
        conf_programming_error("op_conf_bind_instance: no key %s.*.NAME in this program's table",
                               prefix);
}

void op_conf_bind_keys(const struct op_conf *conf, const struct op_conf_def *keys, void *settings)
{
    for (const struct op_conf_def *k = keys; k->key; k++) {
        const struct op_conf_def *d = conf_find_def(conf->defs, k->key, NULL, NULL);
        if (!d || strcmp(d->key, k->key) != 0 || d->type != k->type)
            conf_programming_error(
                "op_conf_bind_keys: %s (%s) is not a key of this program's table", k->key,
                d ? "another type" : "missing");
        store(k, conf_value_of(conf, d, k->key), settings);
    }
}
