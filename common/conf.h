/* Configuration: key=value files and -X key=value arguments, routed like kcat does: our
 * keys to a static table, the rest to a passthrough (librdkafka's, see op_conf_new_kafka in
 * kafka.h: `topic.*` to the default topic config, other keys to the global one). This part
 * knows no Kafka, so programs without Kafka (the sink) link neither librdkafka nor avro-c. */
#ifndef OP_CONF_H
#define OP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Longest value accepted, in bytes; longer ones are rejected, never truncated. */
#define OP_CONF_VALUE_MAX (64 * 1024)

enum op_conf_type {
    OP_CONF_STRING,
    OP_CONF_INT,    /* base-10 long long, within [min, max] unless both are 0 */
    OP_CONF_BOOL,   /* true/false, yes/no, on/off, 1/0 (any case) */
    OP_CONF_SECRET, /* a string that list, dump and help show as *** */
};

/* Where a key's value goes (typed settings, in the manner of Fluent Bit's config maps): each
 * program binds its keys once into a settings struct (op_conf_bind) and reads fields, never
 * strings, so a mistyped key is a compile error. OP_CONF_AT(T, member) gives a key its field;
 * the field's C type follows the key's type: STRING and SECRET `const char *` (NULL when unset
 * without default), INT `long long` (or `int` when min..max fits), BOOL `bool`. */
enum op_conf_field {
    OP_CONF_UNBOUND = 0,  /* a table without bindings (tests of op_conf itself) */
    OP_CONF_FIELD_STRING, /* const char * */
    OP_CONF_FIELD_LLONG,  /* long long */
    OP_CONF_FIELD_INT,    /* int */
    OP_CONF_FIELD_BOOL,   /* bool */
    OP_CONF_MODULE,       /* read by the common/ module that owns the key (op_conf_bind_keys) */
    OP_CONF_CLIENT,       /* no field: only passed to the Kafka clients named in `clients` */
    OP_CONF_ACCEPTED,     /* no field: another program's key, accepted so a shared file loads */
};

/* Kafka clients a key of our table is passed to, as a string, by op_kafka_client_new. */
enum { OP_CONF_TO_PRODUCER = 1, OP_CONF_TO_CONSUMER = 2 };

/* The binding of a key to `member` of settings struct T; a member of a type no key type maps
 * to does not compile. OP_CONF_AT_TO also passes the key to Kafka clients (OP_CONF_TO_*). */
#define OP_CONF_AT_TO(T, member, to)                                                               \
    offsetof(T, member),                                                                           \
        _Generic(((T *)0)->member, const char *: OP_CONF_FIELD_STRING,                             \
                 long long: OP_CONF_FIELD_LLONG, int: OP_CONF_FIELD_INT, bool: OP_CONF_FIELD_BOOL), \
        (to)
#define OP_CONF_AT(T, member) OP_CONF_AT_TO(T, member, 0)
/* A key owned by a common/ module, which binds it into its own struct (op_conf_bind_keys).
 * OP_CONF_OWNED_BY(member) is the BIND argument of a module's key macro in programs' tables. */
#define OP_CONF_OWNED 0, OP_CONF_MODULE, 0
#define OP_CONF_OWNED_BY(member) OP_CONF_OWNED
/* A key with no field, only passed to Kafka clients (OP_CONF_TO_* bits). */
#define OP_CONF_PASSED(to) 0, OP_CONF_CLIENT, (to)
/* Another program's key this one accepts and never reads (a configuration file shared by
 * both loads in either). */
#define OP_CONF_NOT_READ 0, OP_CONF_ACCEPTED, 0
/* No binding: for tables that exercise op_conf itself. */
#define OP_CONF_NOBIND 0, OP_CONF_UNBOUND, 0

/* One key of a program's table; the table ends with {0}. A key may contain one `*` segment
 * (e.g. "endpoint.*.url") that matches exactly one non-empty, dot-free name. `def` is the
 * default (NULL: none) and must be valid for the type. `help` is one line. `offset` and
 * `field` come from OP_CONF_AT / OP_CONF_OWNED / OP_CONF_PASSED / OP_CONF_NOT_READ; a pattern key's
 * offset is into the struct of one instance (op_conf_bind_instance). `clients`: OP_CONF_TO_* bits.
 */
struct op_conf_def {
    const char *key;
    enum op_conf_type type;
    const char *def;
    const char *help;
    long long min, max;
    size_t offset;
    enum op_conf_field field;
    unsigned clients;
};

struct op_conf;

/* Where keys outside the table go (e.g. librdkafka's configuration). */
struct op_conf_passthrough {
    void *(*create)(void); /* NULL on allocation failure */
    void (*destroy)(void *obj);
    /* 0 set, 1 unknown key, -1 invalid value (message in errstr) */
    int (*set)(void *obj, const char *key, const char *value, char *errstr, size_t errstr_size);
    /* rd_kafka_conf_get's contract: 0 when the key is known and set, value into buf (NULL:
     * size only), *size in: room, out: needed; -1 otherwise */
    int (*get)(void *obj, const char *key, char *buf, size_t *size);
    void (*list)(FILE *out); /* -X list: its part of the table */
};

/* Creates a configuration over `defs`, which must outlive it; keys outside the table are
 * errors. (op_conf_new_kafka, kafka.h, also routes them to librdkafka.) Returns NULL on
 * allocation failure or if the table is malformed (a bad key pattern or default; logged at
 * OP_LOG_ERR). */
struct op_conf *op_conf_new(const struct op_conf_def *defs);

/* op_conf_new with a passthrough for keys outside the table (pt must outlive the
 * configuration; NULL: none). */
struct op_conf *op_conf_new_with(const struct op_conf_def *defs,
                                 const struct op_conf_passthrough *pt);

/* The passthrough's object (what pt->create returned), or NULL. */
void *op_conf_passthrough_obj(const struct op_conf *conf);

void op_conf_destroy(struct op_conf *conf);

/* Sets one key, routed in this order:
 *   1. a key of the table: validated by its type;
 *   2. `STEM.file` where STEM is known (table or librdkafka): STEM is set to the first line
 *      of that file (newline stripped); errors name the path, never the content;
 *   3. `topic.NAME`: NAME on the default topic config (falling back to the global config
 *      for librdkafka's own `topic.metadata.*` keys);
 *   4. anything else: rd_kafka_conf_set(), so topic-level keys land on the default topic
 *      config just as librdkafka does it.
 * Returns 0, or -1 with a message in errstr: librdkafka's own for a bad value of its keys;
 * for a key nobody knows, librdkafka's wording with the key as typed
 * (`No such configuration property: "topic.foo"`). A value is copied. Not thread-safe. */
int op_conf_set(struct op_conf *conf, const char *key, const char *value, char *errstr,
                size_t errstr_size);

/* Sets each pair of a NULL-terminated key, value list (a program's defaults), in order.
 * Stops at the first error; returns 0 or -1. */
int op_conf_set_pairs(struct op_conf *conf, const char *const *kv, char *errstr,
                      size_t errstr_size);

/* Applies a file of `key=value` lines: `#` starts a comment line, blank lines are skipped,
 * whitespace around key and value is trimmed, a value runs to the end of the line (so it
 * may contain `#` and `=`). Stops at the first error: `path:line: reason`, or
 * `path: reason` if the file cannot be read. Returns 0 or -1. */
int op_conf_load_file(struct op_conf *conf, const char *path, char *errstr, size_t errstr_size);

/* Applies one `-X key=value` argument (split at the first `=`, nothing trimmed).
 * Returns 0 or -1. */
int op_conf_apply_arg(struct op_conf *conf, const char *kv, char *errstr, size_t errstr_size);

/* True if a -X argument is `list` (print every key with op_conf_list and exit). */
int op_conf_is_list_request(const char *kv);

/* The value of one of our keys (a concrete key for pattern keys, e.g. "endpoint.a.url"):
 * the set value, else the table default, else NULL. The string is owned by conf and valid
 * until that key is set again or conf is destroyed. Programs read settings through
 * op_conf_bind; this is for op_conf's own helpers and tests. A key that is not in the table
 * is a programming error: it is logged and the process aborts (a test catches it). */
const char *op_conf_get(const struct op_conf *conf, const char *key);

/* Binds every plain key of conf's table that has an OP_CONF_AT field into `settings` (the
 * struct the table's OP_CONF_AT name): the set value, else the default, else NULL / 0 /
 * false. Strings point into conf (valid while conf lives and the key is not set again).
 * Aborts on a programming error: a plain key of the table without a binding. */
void op_conf_bind(const struct op_conf *conf, void *settings);

/* Binds the pattern keys PREFIX.*.REST of conf's table for one NAME (the values of
 * PREFIX.NAME.REST) into `instance`, the struct their OP_CONF_AT name. Aborts if the table has
 * no such key or one is unbound (programming errors). */
void op_conf_bind_instance(const struct op_conf *conf, const char *prefix, const char *name,
                           void *instance);

/* For common/ modules: binds the keys of `keys` (a table of the module's own, OP_CONF_AT into
 * its struct) from conf, whose table must hold each of them (with OP_CONF_OWNED): aborts on a
 * key conf's table lacks or one of another type (programming errors). */
void op_conf_bind_keys(const struct op_conf *conf, const struct op_conf_def *keys, void *settings);

/* 1 if every key of the table is bound (a field, OP_CONF_OWNED, OP_CONF_NOT_READ or
 * OP_CONF_PASSED with clients), else 0 with the first unbound key logged: each program's table is
 * checked by a unit test. op_conf_new refuses a table with some keys bound and others not. */
int op_conf_table_bound(const struct op_conf_def *defs);

/* The table conf was created with. */
const struct op_conf_def *op_conf_table(const struct op_conf *conf);

/* Calls cb for every key that was set and matches `pattern`, a `*` key of the table, in
 * byte order of the full key. `name` is the segment the `*` matched, `key` the full key,
 * `value` its value: strings owned by conf, valid during the call (cb must not set keys).
 * Returns 0 after the last key, the first non-zero value cb returned (iteration stops
 * there), or -1 if `pattern` is not a `*` key of the table. */
int op_conf_foreach(const struct op_conf *conf, const char *pattern,
                    int (*cb)(const char *name, const char *key, const char *value, void *opaque),
                    void *opaque);

/* `-X list`: a table of our keys (type, default, help), then librdkafka's properties. */
void op_conf_list(const struct op_conf *conf, FILE *out);

/* The effective settings, one `key=value` line each, for startup logs: our keys with a
 * value (table order, pattern instances in key order), then the librdkafka keys that were
 * set, in the order first set. SECRET keys and librdkafka keys that may hold credentials
 * (password, secret, key, token, credential, jaas, sasl.* except sasl.mechanism(s) and
 * sasl.username) are shown as ***. */
void op_conf_dump(const struct op_conf *conf, FILE *out);

/* 1 if setting key to value puts a credential in the text that holds it (an -X argument
 * in the process list): a SECRET key of the table (other keys of the table are not, whatever
 * their name, e.g. endpoint.NAME.oauth2.token_url), a key naming a password, secret or
 * token (ssl.key.password, sasl.password, endpoint.NAME.token, ...), ssl.key.pem,
 * sasl.oauthbearer.config, or a value that is a URL with user:password@. `KEY.file` keys
 * are not (they name a file). conf may be NULL (no table). */
int op_conf_key_is_secret(const struct op_conf *conf, const char *key, const char *value);

/* For --help: one entry per key of the table with its help and default. */
void op_conf_print_help(const struct op_conf_def *defs, FILE *out);

#endif
