/* Client of a Confluent-compatible schema registry (Confluent, Apicurio's /apis/ccompat/v7,
 * Redpanda, Karapace): registers or looks up a schema under a subject, fetches one by id. */
#ifndef OP_REGISTRY_H
#define OP_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* Keys of every program that reads or writes Confluent-framed Avro. `.file` variants of the
 * two SECRET keys come with op_conf (`schema.registry.bearer.token.file=PATH`). */
/* BIND(member) binds a key: OP_CONF_OWNED_BY in programs' tables, OP_CONF_AT into struct
 * op_registry_settings in registry.c's own. */
#define OP_REGISTRY_CONF_KEYS(BIND)                                                                \
    {"schema.registry.url",                                                                        \
     OP_CONF_STRING,                                                                               \
     NULL,                                                                                         \
     "Confluent-compatible schema registry, e.g. http://127.0.0.1:8081/apis/ccompat/v7: ids of "   \
     "0x00-framed messages are fetched there; wire.format=confluent registers schemas there",      \
     0,                                                                                            \
     0,                                                                                            \
     BIND(url)},                                                                                   \
        {"schema.registry.basic.auth.user.info",                                                   \
         OP_CONF_SECRET,                                                                           \
         NULL,                                                                                     \
         "USER:PASSWORD for the registry (HTTP basic auth); or .file=PATH",                        \
         0,                                                                                        \
         0,                                                                                        \
         BIND(user_info)},                                                                         \
        {"schema.registry.bearer.token",                                                           \
         OP_CONF_SECRET,                                                                           \
         NULL,                                                                                     \
         "bearer token for the registry (read at start); or .file=PATH",                           \
         0,                                                                                        \
         0,                                                                                        \
         BIND(bearer_token)},                                                                      \
        {"schema.registry.ssl.ca.location",                                                        \
         OP_CONF_STRING,                                                                           \
         NULL,                                                                                     \
         "CA certificates (PEM file) that sign the registry's TLS certificate (default: the "      \
         "system's)",                                                                              \
         0,                                                                                        \
         0,                                                                                        \
         BIND(ca_location)},                                                                       \
    {                                                                                              \
        "schema.registry.timeout.ms", OP_CONF_INT, "3000",                                         \
            "longest one registry request may take (a reader waits this long at most for an "      \
            "unknown schema id, then dead-letters the message as registry-unavailable)",           \
            100, 60000, BIND(timeout_ms)                                                           \
    }
#define OP_REGISTRY_CONF_DEFS OP_REGISTRY_CONF_KEYS(OP_CONF_OWNED_BY)

/* The OP_REGISTRY_CONF_DEFS keys, bound by op_registry_new_from_conf. */
struct op_registry_settings {
    const char *url, *user_info, *bearer_token, *ca_location;
    int timeout_ms;
};

/* Results of op_registry_schema_by_id. */
enum op_registry_result {
    OP_REGISTRY_OK = 0,
    OP_REGISTRY_NOT_FOUND = -1,   /* the registry answered: no such id (or not an Avro schema) */
    OP_REGISTRY_UNAVAILABLE = -2, /* no answer: transport error, timeout, 5xx, 401/403, garbage */
};

/* Negative results are remembered this long, so a burst of messages of one bad id costs one
 * request: an unknown id (the registry said so), and an unreachable registry (then for every
 * id not cached yet: an outage costs at most one timeout per this period). */
#define OP_REGISTRY_NOT_FOUND_TTL_MS 30000
#define OP_REGISTRY_UNAVAILABLE_TTL_MS 10000

struct op_registry_opts {
    const char *url;          /* base URL, e.g. http://127.0.0.1:8081/apis/ccompat/v7 */
    const char *user_info;    /* USER:PASSWORD or NULL */
    const char *bearer_token; /* or NULL; not with user_info */
    const char *ca_location;  /* PEM CA file or NULL */
    long timeout_ms;          /* per request; 0: 3000 */
};

/* Opaque client; thread-safe (a mutex guards its cache; requests run outside it). */
struct op_registry;

/* A client; no request is made yet. Calls curl_global_init (call it single-threaded, at start).
 * NULL with errstr on a bad option (no URL, both auth kinds, a URL not http(s)). */
struct op_registry *op_registry_new(const struct op_registry_opts *opts, char *errstr,
                                    size_t errstr_size);

/* From the OP_REGISTRY_CONF_DEFS keys of conf: 0 with *out NULL when schema.registry.url is
 * unset or empty, 0 with a client, or -1 with errstr. */
int op_registry_new_from_conf(const struct op_conf *conf, struct op_registry **out, char *errstr,
                              size_t errstr_size);

void op_registry_destroy(struct op_registry *r);

/* The URL without credentials, for messages. */
const char *op_registry_url(const struct op_registry *r);

/* The id of `schema_json` (schema text) under `subject`: with `register_it`, POST
 * /subjects/SUBJECT/versions (registers a new version unless the registry has it already;
 * the registry checks the subject's compatibility rule), else POST /subjects/SUBJECT (look-up
 * only). The id is cached with its text. Returns 0, or -1 with errstr naming the subject, the
 * HTTP status and the registry's own message (e.g. its compatibility verdict). */
int op_registry_register(struct op_registry *r, const char *subject, const char *schema_json,
                         int register_it, int32_t *id, char *errstr, size_t errstr_size);

/* The schema text of `id` (GET /schemas/ids/ID), from the cache when known. On OP_REGISTRY_OK
 * *schema_json is a malloc'd copy owned by the caller. Otherwise an enum op_registry_result
 * with errstr; negative results are cached (see the TTLs above), so the call returns at once
 * while they last. */
int op_registry_schema_by_id(struct op_registry *r, int32_t id, char **schema_json, char *errstr,
                             size_t errstr_size);

#endif
