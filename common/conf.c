/* Configuration store and router: validates our keys against the program's table, passes
 * the rest to a passthrough (librdkafka's, from conf_kafka.c, in the Kafka part of the
 * library), reads secrets from files, and prints the key table and settings. */
#include "conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_internal.h"
#include "log.h"
#include "url.h"

#define FILE_SUFFIX ".file"
#define MASK "***"

enum set_result { SET_OK, SET_INVALID, SET_UNKNOWN };

static void errno_string(int err, char *buf, size_t size)
{
    /* strerror_r: conf may be loaded while librdkafka threads already run. */
    if (strerror_r(err, buf, size) != 0)
        snprintf(buf, size, "error %d", err);
}

int conf_parse_int(const char *s, long long *out)
{
    char *end;

    /* strtoll would skip leading whitespace and accept an empty string as 0. */
    if (!s || !(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int conf_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};

    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

int conf_has_bounds(const struct op_conf_def *def)
{
    return def->min != 0 || def->max != 0;
}

/* Matches key against a table key; for a `*` key, reports the matched segment. */
static int key_matches(const char *pattern, const char *key, const char **seg, size_t *seg_len)
{
    const char *star = strchr(pattern, '*');

    if (!star)
        return strcmp(pattern, key) == 0;
    size_t pre = (size_t)(star - pattern), suf = strlen(star + 1), len = strlen(key);
    if (len < pre + suf + 1 || strncmp(key, pattern, pre) != 0 ||
        strcmp(key + len - suf, star + 1) != 0)
        return 0;
    if (memchr(key + pre, '.', len - pre - suf))
        return 0;
    if (seg) {
        *seg = key + pre;
        *seg_len = len - pre - suf;
    }
    return 1;
}

/* Plain keys win over patterns, so `endpoint.default.url` can be its own key beside
 * `endpoint.*.url`. */
const struct op_conf_def *conf_find_def(const struct op_conf_def *defs, const char *key,
                                        const char **seg, size_t *seg_len)
{
    for (const struct op_conf_def *d = defs; d->key; d++)
        if (!strchr(d->key, '*') && strcmp(d->key, key) == 0)
            return d;
    for (const struct op_conf_def *d = defs; d->key; d++)
        if (strchr(d->key, '*') && key_matches(d->key, key, seg, seg_len))
            return d;
    return NULL;
}

static int check_value(const struct op_conf_def *def, const char *key, const char *value,
                       char *errstr, size_t errstr_size)
{
    long long v;
    int b;

    switch (def->type) {
    case OP_CONF_INT:
        if (conf_parse_int(value, &v) == 0 &&
            (!conf_has_bounds(def) || (v >= def->min && v <= def->max)))
            return 0;
        if (conf_has_bounds(def))
            snprintf(errstr, errstr_size,
                     "bad value \"%s\" for %s: expected an integer in %lld..%lld", value, key,
                     def->min, def->max);
        else
            snprintf(errstr, errstr_size, "bad value \"%s\" for %s: expected an integer", value,
                     key);
        return -1;
    case OP_CONF_BOOL:
        if (conf_parse_bool(value, &b) == 0)
            return 0;
        snprintf(errstr, errstr_size,
                 "bad value \"%s\" for %s: expected true/false, yes/no, on/off or 1/0", value, key);
        return -1;
    case OP_CONF_STRING:
    case OP_CONF_SECRET:
        return 0;
    }
    snprintf(errstr, errstr_size, "%s: unknown type in the configuration table", key);
    return -1;
}

/* A mistake in program text (a table, a key read that the table lacks): log it and stop, so
 * the first test that reaches it fails instead of a daemon running on a NULL setting. */
_Noreturn void conf_programming_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    op_log(OP_LOG_ERR, "programming error: %s", msg);
    abort();
}

/* The table is program text, so a mistake in it is a bug: report it loudly at startup. */
static int check_table(const struct op_conf_def *defs)
{
    char err[256];
    int bound = 0;

    for (const struct op_conf_def *d = defs; d->key; d++)
        bound |= d->field != OP_CONF_UNBOUND;
    if (bound && !op_conf_table_bound(defs))
        return -1;
    for (const struct op_conf_def *d = defs; d->key; d++) {
        const char *problem = conf_binding_problem(d);
        if (problem) {
            op_log(OP_LOG_ERR, "configuration table: %s is %s", d->key, problem);
            return -1;
        }
        const char *star = strchr(d->key, '*');
        if (!*d->key) {
            op_log(OP_LOG_ERR, "configuration table: empty key");
            return -1;
        }
        if (star && (strchr(star + 1, '*') || (star != d->key && star[-1] != '.') ||
                     (star[1] != '\0' && star[1] != '.'))) {
            op_log(OP_LOG_ERR, "configuration table: %s: `*` must be one whole segment", d->key);
            return -1;
        }
        if (d->def && check_value(d, d->key, d->def, err, sizeof(err)) != 0) {
            op_log(OP_LOG_ERR, "configuration table: default: %s", err);
            return -1;
        }
    }
    return 0;
}

struct op_conf *op_conf_new_with(const struct op_conf_def *defs,
                                 const struct op_conf_passthrough *pt)
{
    struct op_conf *conf = NULL;

    if (!defs || check_table(defs) != 0)
        return NULL;
    conf = calloc(1, sizeof(*conf));
    if (!conf)
        return NULL;
    conf->defs = defs;
    if (pt) {
        conf->pt = pt;
        conf->pt_obj = pt->create();
        if (!conf->pt_obj) {
            free(conf);
            return NULL;
        }
    }
    return conf;
}

struct op_conf *op_conf_new(const struct op_conf_def *defs)
{
    return op_conf_new_with(defs, NULL);
}

void *op_conf_passthrough_obj(const struct op_conf *conf)
{
    return conf ? conf->pt_obj : NULL;
}

void op_conf_destroy(struct op_conf *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < conf->n_entries; i++) {
        free(conf->entries[i].key);
        free(conf->entries[i].value);
        free(conf->entries[i].name);
    }
    free(conf->entries);
    for (size_t i = 0; i < conf->n_kafka_keys; i++)
        free(conf->kafka_keys[i]);
    free(conf->kafka_keys);
    if (conf->pt)
        conf->pt->destroy(conf->pt_obj);
    free(conf);
}

/* Index of key, or of where it would be inserted (with *found = 0). */
static size_t entry_index(const struct op_conf *conf, const char *key, int *found)
{
    size_t lo = 0, hi = conf->n_entries;

    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(conf->entries[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int entry_set(struct op_conf *conf, const struct op_conf_def *def, const char *key,
                     const char *seg, size_t seg_len, const char *value)
{
    int found, rc = -1;
    size_t i = entry_index(conf, key, &found);
    char *v = strdup(value), *k = NULL, *name = NULL;

    if (!v)
        goto cleanup;
    if (found) {
        free(conf->entries[i].value);
        conf->entries[i].value = v;
        v = NULL;
        rc = 0;
        goto cleanup;
    }
    k = strdup(key);
    if (!k || (seg && !(name = strndup(seg, seg_len))))
        goto cleanup;
    if (conf->n_entries == conf->cap_entries) {
        size_t cap = conf->cap_entries ? conf->cap_entries * 2 : 16;
        struct conf_entry *e = realloc(conf->entries, cap * sizeof(*e));
        if (!e)
            goto cleanup;
        conf->entries = e;
        conf->cap_entries = cap;
    }
    memmove(&conf->entries[i + 1], &conf->entries[i],
            (conf->n_entries - i) * sizeof(conf->entries[0]));
    conf->entries[i] = (struct conf_entry){.key = k, .value = v, .name = name, .def = def};
    conf->n_entries++;
    k = v = name = NULL;
    rc = 0;
cleanup:
    free(k);
    free(v);
    free(name);
    return rc;
}

static int track_kafka_key(struct op_conf *conf, const char *key)
{
    for (size_t i = 0; i < conf->n_kafka_keys; i++)
        if (strcmp(conf->kafka_keys[i], key) == 0)
            return 0;
    if (conf->n_kafka_keys == conf->cap_kafka_keys) {
        size_t cap = conf->cap_kafka_keys ? conf->cap_kafka_keys * 2 : 8;
        char **keys = realloc(conf->kafka_keys, cap * sizeof(*keys));
        if (!keys)
            return -1;
        conf->kafka_keys = keys;
        conf->cap_kafka_keys = cap;
    }
    if (!(conf->kafka_keys[conf->n_kafka_keys] = strdup(key)))
        return -1;
    conf->n_kafka_keys++;
    return 0;
}

static enum set_result set_kafka(struct op_conf *conf, const char *key, const char *value,
                                 char *errstr, size_t errstr_size)
{
    int res = conf->pt->set(conf->pt_obj, key, value, errstr, errstr_size);

    if (res > 0)
        return SET_UNKNOWN;
    if (res < 0)
        return SET_INVALID;
    if (track_kafka_key(conf, key) != 0) {
        snprintf(errstr, errstr_size, "out of memory");
        return SET_INVALID;
    }
    return SET_OK;
}

static enum set_result set_routed(struct op_conf *conf, const char *key, const char *value,
                                  int allow_file, char *errstr, size_t errstr_size);

/* Volatile stores so the compiler cannot drop them as dead before free(). */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    for (size_t i = 0; i < n; i++)
        v[i] = 0;
}

/* Sets STEM from the first line of the file named by STEM.file. Returns SET_UNKNOWN if
 * STEM is not a key either, so the caller can report the full key as unknown. Messages name
 * the path and never the content: these files hold passwords. */
static enum set_result set_from_file(struct op_conf *conf, const char *key, const char *path,
                                     char *errstr, size_t errstr_size)
{
    enum set_result rc = SET_INVALID;
    size_t stem_len = strlen(key) - strlen(FILE_SUFFIX), n;
    /* Room for the longest value plus "\r\n" and the NUL, so one more byte means too long. */
    size_t line_size = OP_CONF_VALUE_MAX + 4;
    char *stem = strndup(key, stem_len), *line = malloc(line_size);
    char reason[128], err[512] = "";
    FILE *f = NULL;

    if (!stem || !line) {
        snprintf(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    f = fopen(path, "r");
    if (!f || !fgets(line, (int)line_size, f)) {
        if (f && !ferror(f)) {
            snprintf(errstr, errstr_size, "%s \"%s\" is empty", key, path);
        } else {
            errno_string(errno, reason, sizeof(reason));
            snprintf(errstr, errstr_size, "cannot read %s \"%s\": %s", key, path, reason);
        }
        goto cleanup;
    }
    n = strlen(line);
    if (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    if (n > 0 && line[n - 1] == '\r')
        line[--n] = '\0';
    if (n == 0) {
        snprintf(errstr, errstr_size, "%s \"%s\": the first line is empty", key, path);
        goto cleanup;
    }
    if (n > OP_CONF_VALUE_MAX) {
        snprintf(errstr, errstr_size, "%s \"%s\": the first line is longer than %d bytes", key,
                 path, OP_CONF_VALUE_MAX);
        goto cleanup;
    }
    rc = set_routed(conf, stem, line, 0, err, sizeof(err));
    if (rc == SET_INVALID)
        snprintf(errstr, errstr_size, "%s \"%s\": its content is not a valid value for %s", key,
                 path, stem);
cleanup:
    if (f)
        fclose(f);
    /* Leave no password behind in freed memory (librdkafka may have quoted it in err). */
    wipe(line, line ? line_size : 0);
    wipe(err, sizeof(err));
    free(line);
    free(stem);
    return rc;
}

static enum set_result set_routed(struct op_conf *conf, const char *key, const char *value,
                                  int allow_file, char *errstr, size_t errstr_size)
{
    const struct op_conf_def *def;
    const char *seg = NULL;
    size_t seg_len = 0, key_len;

    if (!key || !*key) {
        snprintf(errstr, errstr_size, "empty configuration key");
        return SET_INVALID;
    }
    if (!value) {
        snprintf(errstr, errstr_size, "no value for %s", key);
        return SET_INVALID;
    }
    if (strlen(value) > OP_CONF_VALUE_MAX) {
        snprintf(errstr, errstr_size, "value for %s is too long (%zu bytes, at most %d)", key,
                 strlen(value), OP_CONF_VALUE_MAX);
        return SET_INVALID;
    }

    def = conf_find_def(conf->defs, key, &seg, &seg_len);
    if (def) {
        if (check_value(def, key, value, errstr, errstr_size) != 0)
            return SET_INVALID;
        if (entry_set(conf, def, key, seg, seg_len, value) != 0) {
            snprintf(errstr, errstr_size, "out of memory");
            return SET_INVALID;
        }
        return SET_OK;
    }

    key_len = strlen(key);
    if (allow_file && key_len > strlen(FILE_SUFFIX) &&
        strcmp(key + key_len - strlen(FILE_SUFFIX), FILE_SUFFIX) == 0) {
        enum set_result rc = set_from_file(conf, key, value, errstr, errstr_size);
        if (rc != SET_UNKNOWN)
            return rc;
    }

    if (conf->pt) {
        enum set_result rc = set_kafka(conf, key, value, errstr, errstr_size);
        if (rc != SET_UNKNOWN)
            return rc;
    }
    /* Same wording as librdkafka so every unknown key reads alike. */
    snprintf(errstr, errstr_size, "No such configuration property: \"%s\"", key);
    return SET_UNKNOWN;
}

int op_conf_set(struct op_conf *conf, const char *key, const char *value, char *errstr,
                size_t errstr_size)
{
    return set_routed(conf, key, value, 1, errstr, errstr_size) == SET_OK ? 0 : -1;
}

int op_conf_set_pairs(struct op_conf *conf, const char *const *kv, char *errstr, size_t errstr_size)
{
    for (; kv && kv[0]; kv += 2)
        if (op_conf_set(conf, kv[0], kv[1], errstr, errstr_size) != 0)
            return -1;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static char *trim(char *s)
{
    size_t n;

    while (is_space(*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        s[--n] = '\0';
    return s;
}

int op_conf_load_file(struct op_conf *conf, const char *path, char *errstr, size_t errstr_size)
{
    int rc = -1;
    char *line = NULL, reason[1024];
    size_t cap = 0;
    unsigned long lineno = 0;
    FILE *f = fopen(path, "r");

    if (!f) {
        errno_string(errno, reason, sizeof(reason));
        snprintf(errstr, errstr_size, "%s: %s", path, reason);
        goto cleanup;
    }
    while (getline(&line, &cap, f) >= 0) {
        char *s = trim(line), *eq, *key;
        lineno++;
        if (*s == '\0' || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (!eq) {
            snprintf(errstr, errstr_size, "%s:%lu: expected key=value", path, lineno);
            goto cleanup;
        }
        *eq = '\0';
        key = trim(s);
        if (*key == '\0') {
            snprintf(errstr, errstr_size, "%s:%lu: missing key before \"=\"", path, lineno);
            goto cleanup;
        }
        if (op_conf_set(conf, key, trim(eq + 1), reason, sizeof(reason)) != 0) {
            snprintf(errstr, errstr_size, "%s:%lu: %s", path, lineno, reason);
            goto cleanup;
        }
    }
    if (ferror(f)) {
        errno_string(errno, reason, sizeof(reason));
        snprintf(errstr, errstr_size, "%s: %s", path, reason);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(line);
    if (f)
        fclose(f);
    return rc;
}

int op_conf_apply_arg(struct op_conf *conf, const char *kv, char *errstr, size_t errstr_size)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    char *key = NULL;
    int rc = -1;

    if (!eq) {
        snprintf(errstr, errstr_size, "expected key=value, got \"%s\"", kv ? kv : "");
        goto cleanup;
    }
    if (eq == kv) {
        snprintf(errstr, errstr_size, "missing key before \"=\" in \"%s\"", kv);
        goto cleanup;
    }
    key = strndup(kv, (size_t)(eq - kv));
    if (!key) {
        snprintf(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    rc = op_conf_set(conf, key, eq + 1, errstr, errstr_size);
cleanup:
    free(key);
    return rc;
}

int op_conf_is_list_request(const char *kv)
{
    return kv && strcmp(kv, "list") == 0;
}

/* The value of a key of the table: set, else the default, else NULL. */
const char *conf_value_of(const struct op_conf *conf, const struct op_conf_def *def,
                          const char *key)
{
    int found;
    size_t i = entry_index(conf, key, &found);

    return found ? conf->entries[i].value : def->def;
}

const char *op_conf_get(const struct op_conf *conf, const char *key)
{
    const struct op_conf_def *def = conf && key ? conf_find_def(conf->defs, key, NULL, NULL) : NULL;

    if (!def)
        conf_programming_error("op_conf_get: \"%s\" is not a key of this program's table",
                               key ? key : "(null)");
    return conf_value_of(conf, def, key);
}

int op_conf_foreach(const struct op_conf *conf, const char *pattern,
                    int (*cb)(const char *name, const char *key, const char *value, void *opaque),
                    void *opaque)
{
    const struct op_conf_def *def = NULL;

    if (!conf || !pattern || !cb)
        return -1;
    for (const struct op_conf_def *d = conf->defs; d->key && !def; d++)
        if (strchr(d->key, '*') && strcmp(d->key, pattern) == 0)
            def = d;
    if (!def)
        return -1;
    for (size_t i = 0; i < conf->n_entries; i++) {
        const struct conf_entry *e = &conf->entries[i];
        if (e->def != def)
            continue;
        int rc = cb(e->name, e->key, e->value, opaque);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The passthrough's get with dest_size in/out; 0 when the key is known and set. */
static int kafka_get_raw(const struct op_conf *conf, const char *key, char *buf, size_t *size)
{
    return conf->pt ? conf->pt->get(conf->pt_obj, key, buf, size) : -1;
}

static const char *type_name(enum op_conf_type type)
{
    switch (type) {
    case OP_CONF_STRING:
        return "string";
    case OP_CONF_INT:
        return "int";
    case OP_CONF_BOOL:
        return "bool";
    case OP_CONF_SECRET:
        return "secret";
    }
    return "?";
}

static const char *shown_default(const struct op_conf_def *def)
{
    if (!def->def)
        return "";
    if (def->type == OP_CONF_SECRET)
        return MASK;
    return def->def;
}

void op_conf_list(const struct op_conf *conf, FILE *out)
{
    fprintf(out, "%-32s | %-16s | %-20s | %s\n", "Property", "Type", "Default", "Description");
    fprintf(out, "%.32s-|-%.16s-|-%.20s-|-%.11s\n", "--------------------------------",
            "--------------------------------", "--------------------------------",
            "--------------------------------");
    for (const struct op_conf_def *d = conf->defs; d->key; d++) {
        char type[64];
        if (d->type == OP_CONF_INT && conf_has_bounds(d))
            snprintf(type, sizeof(type), "int %lld..%lld", d->min, d->max);
        else
            snprintf(type, sizeof(type), "%s", type_name(d->type));
        fprintf(out, "%-32s | %-16s | %-20s | %s\n", d->key, type, shown_default(d),
                d->help ? d->help : "");
    }
    if (conf->pt)
        conf->pt->list(out);
}

static int kafka_key_is_sensitive(const char *key)
{
    static const char *const words[] = {"password", "secret", "key", "token", "credential", "jaas"};

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(key, words[i]))
            return 1;
    /* SASL settings may carry credentials (e.g. sasl.oauthbearer.config); only the ones an
     * operator needs to debug a login are shown. */
    if (strncmp(key, "sasl.", 5) == 0)
        return strcmp(key, "sasl.mechanisms") != 0 && strcmp(key, "sasl.mechanism") != 0 &&
               strcmp(key, "sasl.username") != 0;
    return 0;
}

static void dump_kafka_key(const struct op_conf *conf, const char *key, FILE *out)
{
    size_t size = 0;
    char *buf = NULL;

    if (kafka_key_is_sensitive(key)) {
        fprintf(out, "%s=%s\n", key, MASK);
        return;
    }
    if (kafka_get_raw(conf, key, NULL, &size) != 0 || !(buf = malloc(size + 1)) ||
        kafka_get_raw(conf, key, buf, &size) != 0) {
        fprintf(out, "%s=\n", key);
    } else {
        buf[size] = '\0';
        fprintf(out, "%s=%s\n", key, buf);
    }
    free(buf);
}

int op_conf_key_is_secret(const struct op_conf *conf, const char *key, const char *value)
{
    static const char *const words[] = {"password", "secret", "token"};
    static const char *const also[] = {"ssl.key.pem", "sasl.oauthbearer.config"};
    size_t n = key ? strlen(key) : 0;

    if (n == 0 ||
        (n > strlen(FILE_SUFFIX) && strcmp(key + n - strlen(FILE_SUFFIX), FILE_SUFFIX) == 0))
        return 0;
    const struct op_conf_def *def = conf ? conf_find_def(conf->defs, key, NULL, NULL) : NULL;
    if (value && op_url_has_userinfo(value))
        return 1;
    if (def) /* our table says it: e.g. endpoint.NAME.oauth2.token_url is an address */
        return def->type == OP_CONF_SECRET;
    if (strcmp(key, "sasl.oauthbearer.token.endpoint.url") == 0)
        return 0; /* an address, not a credential */
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(key, words[i]))
            return 1;
    for (size_t i = 0; i < sizeof(also) / sizeof(also[0]); i++)
        if (strcmp(key, also[i]) == 0)
            return 1;
    return 0;
}

void op_conf_dump(const struct op_conf *conf, FILE *out)
{
    for (const struct op_conf_def *d = conf->defs; d->key; d++) {
        if (strchr(d->key, '*')) {
            for (size_t i = 0; i < conf->n_entries; i++) {
                const struct conf_entry *e = &conf->entries[i];
                if (e->def == d) {
                    char url[1024];
                    fprintf(out, "%s=%s\n", e->key,
                            d->type == OP_CONF_SECRET ? MASK
                                                      : op_url_redact(e->value, url, sizeof(url)));
                }
            }
            continue;
        }
        const char *v = op_conf_get(conf, d->key);
        char url[1024];
        if (v)
            fprintf(out, "%s=%s\n", d->key,
                    d->type == OP_CONF_SECRET ? MASK : op_url_redact(v, url, sizeof(url)));
    }
    for (size_t i = 0; i < conf->n_kafka_keys; i++)
        dump_kafka_key(conf, conf->kafka_keys[i], out);
}

void op_conf_print_help(const struct op_conf_def *defs, FILE *out)
{
    static const char *const metavar[] = {"STRING", "N", "BOOL", "SECRET"};

    for (const struct op_conf_def *d = defs; d->key; d++) {
        char left[256];
        int n = snprintf(left, sizeof(left), "%s=%s", d->key,
                         (unsigned)d->type < 4 ? metavar[d->type] : "VALUE");
        /* Long keys push their help to the next line rather than breaking the column. */
        if (n < 0 || n > 30)
            fprintf(out, "  %s\n  %-30s %s", left, "", d->help ? d->help : "");
        else
            fprintf(out, "  %-30s %s", left, d->help ? d->help : "");
        if (d->type == OP_CONF_INT && conf_has_bounds(d))
            fprintf(out, " (%lld..%lld)", d->min, d->max);
        if (d->def)
            fprintf(out, " [default: %s]", d->def[0] ? shown_default(d) : "\"\"");
        fputc('\n', out);
    }
}
