/* Agency authorisation map: a hash map from agency id to its list of region prefixes. */
#include "authz.h"
#include "err.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "regions.h"

struct grants {
    size_t n, cap;
    char (*prefix)[7];
};

struct op_authz {
    struct op_map *agencies; /* agency id -> struct grants */
    int default_allow;
};

static void grants_free(void *p)
{
    struct grants *g = p;
    if (g)
        free(g->prefix);
    free(g);
}

struct op_authz *op_authz_new(void)
{
    struct op_authz *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->agencies = op_map_new();
    if (!a->agencies) {
        free(a);
        return NULL;
    }
    return a;
}

void op_authz_destroy(struct op_authz *a)
{
    if (!a)
        return;
    op_map_destroy(a->agencies, grants_free);
    free(a);
}

void op_authz_set_default_allow(struct op_authz *a, int allow)
{
    a->default_allow = allow;
}

int op_authz_add(struct op_authz *a, const char *agency, const char *prefixes, char *errstr,
                 size_t errstr_size)
{
    size_t alen = strlen(agency);
    struct grants *g = op_map_get(a->agencies, agency, alen);
    if (!g) {
        g = calloc(1, sizeof *g);
        if (!g || op_map_put(a->agencies, agency, alen, g, NULL) != 0) {
            free(g);
            op_set_err(errstr, errstr_size, "out of memory");
            return -1;
        }
    }
    const char *p = prefixes;
    for (;;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ", ");
        char prefix[8];
        if (n == 0 || n > 6) {
            op_set_err(errstr, errstr_size, "agency %s: bad region prefix \"%.*s\"", agency,
                       (int)(n > 16 ? 16 : n), p);
            return -1;
        }
        memcpy(prefix, p, n);
        prefix[n] = 0;
        if (!op_region_prefix_valid(prefix)) {
            op_set_err(errstr, errstr_size,
                       "agency %s: bad region prefix \"%s\" (want 2, 4 or 6 digits)", agency,
                       prefix);
            return -1;
        }
        if (g->n == g->cap) {
            size_t cap = g->cap ? g->cap * 2 : 4;
            char(*np)[7] = realloc(g->prefix, cap * sizeof *np);
            if (!np) {
                op_set_err(errstr, errstr_size, "out of memory");
                return -1;
            }
            g->prefix = np;
            g->cap = cap;
        }
        memcpy(g->prefix[g->n++], prefix, n + 1);
        p += n;
        while (*p == ' ')
            p++;
        if (*p != ',')
            break;
        p++;
    }
    if (*p) {
        op_set_err(errstr, errstr_size, "agency %s: unexpected \"%s\" in region prefixes", agency,
                   p);
        return -1;
    }
    return 0;
}

struct load_ctx {
    struct op_authz *a;
    char *errstr;
    size_t errstr_size;
};

static int load_one(const char *name, const char *key, const char *value, void *opaque)
{
    (void)key;
    struct load_ctx *c = opaque;
    return op_authz_add(c->a, name, value, c->errstr, c->errstr_size) ? 1 : 0;
}

struct authz_settings {
    const char *default_policy;
};
#define AUTHZ_AT(member) OP_CONF_AT(struct authz_settings, member)
static const struct op_conf_def authz_keys[] = {OP_AUTHZ_CONF_KEYS(AUTHZ_AT), {0}};

struct op_authz *op_authz_new_from_conf(const struct op_conf *conf, char *errstr,
                                        size_t errstr_size)
{
    struct op_authz *a = op_authz_new();
    if (!a) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    struct authz_settings s;
    op_conf_bind_keys(conf, authz_keys, &s);
    const char *def = s.default_policy;
    if (def && strcmp(def, "allow") == 0)
        a->default_allow = 1;
    else if (def && strcmp(def, "deny") != 0) {
        op_set_err(errstr, errstr_size, "authz.default must be allow or deny, not \"%s\"", def);
        op_authz_destroy(a);
        return NULL;
    }
    struct load_ctx c = {a, errstr, errstr_size};
    if (op_conf_foreach(conf, "agency.*.regions", load_one, &c) != 0) {
        op_authz_destroy(a);
        return NULL;
    }
    if (op_authz_count(a) == 0)
        op_log(OP_LOG_WARNING,
               "no agency.*.regions configured: authz.default=%s applies to every agency",
               a->default_allow ? "allow" : "deny");
    return a;
}

int op_authz_check(const struct op_authz *a, const char *agency, uint32_t code)
{
    const struct grants *g = op_map_get(a->agencies, agency, strlen(agency));
    if (!g)
        return a->default_allow;
    for (size_t i = 0; i < g->n; i++)
        if (op_region_matches_prefix(code, g->prefix[i]))
            return 1;
    return 0;
}

size_t op_authz_count(const struct op_authz *a)
{
    return op_map_size(a->agencies);
}
