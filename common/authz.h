/* Which union office may report for which regions: agency id -> region prefixes (2, 4 or 6
 * digits). Checked by the producer before publishing and by the aggregator on consumption. */
#ifndef OP_AUTHZ_H
#define OP_AUTHZ_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* Configuration keys every program that checks authorisation includes in its table. */
#define OP_AUTHZ_CONF_DEFS                                                                         \
    {"agency.*.regions",                                                                           \
     OP_CONF_STRING,                                                                               \
     NULL,                                                                                         \
     "region prefixes (2, 4 or 6 digits, comma-separated) agency * may report for",                \
     0,                                                                                            \
     0,                                                                                            \
     OP_CONF_OWNED},                                                                               \
        OP_AUTHZ_CONF_KEYS(OP_CONF_OWNED_BY)
/* The keys authz.c binds itself (BIND: OP_CONF_AT into its settings there). */
#define OP_AUTHZ_CONF_KEYS(BIND)                                                                   \
    {                                                                                              \
        "authz.default", OP_CONF_STRING, "deny",                                                   \
            "allow or deny events of agencies that have no agency.*.regions entry", 0, 0,          \
            BIND(default_policy)                                                                   \
    }

struct op_authz;

/* An empty map that denies every agency. NULL on allocation failure. */
struct op_authz *op_authz_new(void);
void op_authz_destroy(struct op_authz *a);

/* Authorises `agency` for each prefix of the comma-separated list (added to earlier grants).
 * Returns 0, or -1 with errstr naming the bad prefix. */
int op_authz_add(struct op_authz *a, const char *agency, const char *prefixes, char *errstr,
                 size_t errstr_size);

/* Whether agencies without an entry are allowed (default: no). */
void op_authz_set_default_allow(struct op_authz *a, int allow);

/* Builds a map from agency.*.regions and authz.default of `conf` (a warning is logged when no
 * agency has an entry: authz.default then decides for all). NULL with errstr. */
struct op_authz *op_authz_new_from_conf(const struct op_conf *conf, char *errstr,
                                        size_t errstr_size);

/* 1 if `agency` may report events for region `code`, else 0. */
int op_authz_check(const struct op_authz *a, const char *agency, uint32_t code);

/* Number of agencies with an entry. */
size_t op_authz_count(const struct op_authz *a);

#endif
