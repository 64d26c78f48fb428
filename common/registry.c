/* Schema registry client over libcurl and jansson: one easy handle per request (requests are
 * rare: at start, and once per schema id a reader has not seen), an id → schema-text cache
 * with time-limited negative entries, and error messages that quote the registry. */
#include "registry.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "url.h"

/* A registry answer larger than this is garbage to us (our schemas are ~20 KB). */
#define MAX_RESPONSE (4 * 1024 * 1024)
/* Negative entries kept at most: a flood of random ids must not grow memory without bound. */
#define MAX_NEGATIVE 1024

struct entry {
    int32_t id;
    int result;       /* enum op_registry_result */
    char *schema;     /* OP_REGISTRY_OK */
    int64_t until_ms; /* negative entries: valid until (monotonic) */
    char why[200];    /* negative entries: the message to repeat */
};

struct op_registry {
    char *url; /* without a trailing '/' */
    char redacted[512];
    char *user_info;
    char *auth_header; /* "Authorization: Bearer ..." */
    char *ca;
    long timeout_ms;
    pthread_mutex_t mu;
    struct entry *cache;
    size_t n, cap, n_negative;
    /* After a failed request every uncached id fails at once until then (monotonic ms): an
     * outage costs the caller one timeout per OP_REGISTRY_UNAVAILABLE_TTL_MS, not one per id. */
    int64_t down_until_ms;
    char down_why[200];
};

struct op_registry *op_registry_new(const struct op_registry_opts *o, char *errstr,
                                    size_t errstr_size)
{
    if (!o->url || !o->url[0]) {
        op_set_err(errstr, errstr_size, "schema.registry.url: empty");
        return NULL;
    }
    char red[512];
    op_url_redact(o->url, red, sizeof red);
    if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0) {
        op_set_err(errstr, errstr_size, "schema.registry.url: %s: not an http:// or https:// URL",
                   red);
        return NULL;
    }
    if (o->user_info && o->bearer_token) {
        op_set_err(errstr, errstr_size,
                   "schema.registry.basic.auth.user.info and schema.registry.bearer.token are "
                   "exclusive: set one");
        return NULL;
    }
    if (o->user_info && !strchr(o->user_info, ':')) {
        op_set_err(errstr, errstr_size,
                   "schema.registry.basic.auth.user.info: expected USER:PASSWORD");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        op_set_err(errstr, errstr_size, "curl_global_init failed");
        return NULL;
    }
    struct op_registry *r = calloc(1, sizeof *r);
    if (!r) {
        curl_global_cleanup();
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    size_t ul = strlen(o->url);
    while (ul > 0 && o->url[ul - 1] == '/')
        ul--;
    r->url = strndup(o->url, ul);
    op_url_redact(r->url ? r->url : "", r->redacted, sizeof r->redacted);
    r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 3000;
    int bad = !r->url;
    if (o->user_info)
        bad |= !(r->user_info = strdup(o->user_info));
    if (o->bearer_token) {
        struct op_buf b = {0};
        bad |= op_buf_printf(&b, "Authorization: Bearer %s", o->bearer_token) != 0;
        r->auth_header = (char *)b.data;
    }
    if (o->ca_location && o->ca_location[0])
        bad |= !(r->ca = strdup(o->ca_location));
    if (bad) {
        op_registry_destroy(r);
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    return r;
}

#define REGISTRY_AT(member) OP_CONF_AT(struct op_registry_settings, member)
static const struct op_conf_def registry_keys[] = {OP_REGISTRY_CONF_KEYS(REGISTRY_AT), {0}};

int op_registry_new_from_conf(const struct op_conf *conf, struct op_registry **out, char *errstr,
                              size_t errstr_size)
{
    struct op_registry_settings s;

    *out = NULL;
    op_conf_bind_keys(conf, registry_keys, &s);
    if (!s.url || !s.url[0])
        return 0;
    struct op_registry_opts o = {
        s.url,
        s.user_info && s.user_info[0] ? s.user_info : NULL,
        s.bearer_token && s.bearer_token[0] ? s.bearer_token : NULL,
        s.ca_location,
        s.timeout_ms,
    };
    *out = op_registry_new(&o, errstr, errstr_size);
    return *out ? 0 : -1;
}

void op_registry_destroy(struct op_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->cache[i].schema);
    free(r->cache);
    free(r->url);
    if (r->user_info) {
        memset(r->user_info, 0, strlen(r->user_info));
        free(r->user_info);
    }
    if (r->auth_header) {
        memset(r->auth_header, 0, strlen(r->auth_header));
        free(r->auth_header);
    }
    free(r->ca);
    pthread_mutex_destroy(&r->mu);
    free(r);
    curl_global_cleanup();
}

const char *op_registry_url(const struct op_registry *r)
{
    return r->redacted;
}

/* ---- HTTP ------------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *opaque)
{
    struct op_buf *b = opaque;
    size_t len = size * n;
    if (b->len + len > MAX_RESPONSE || op_buf_append(b, data, len) != 0)
        return 0; /* curl reports a write error */
    return len;
}

#define SETOPT(h, opt, val)                                                                        \
    do {                                                                                           \
        CURLcode c_ = curl_easy_setopt(h, opt, val);                                               \
        if (c_ != CURLE_OK) {                                                                      \
            op_set_err(errstr, errstr_size, "curl: %s: %s", #opt, curl_easy_strerror(c_));         \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* One request to URL + path. Returns 0 when the registry answered (*status, body in resp;
 * resp NUL-terminated), -1 with errstr on a transport failure. */
static int request(struct op_registry *r, const char *path, const char *body, long *status,
                   struct op_buf *resp, char *errstr, size_t errstr_size)
{
    int rc = -1;
    struct curl_slist *hdr = NULL, *h2;
    struct op_buf url = {0};
    char cerr[CURL_ERROR_SIZE] = "";
    resp->len = 0;
    CURL *h = curl_easy_init();
    if (!h || op_buf_printf(&url, "%s%s", r->url, path) != 0) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    static const char *const headers[] = {
        "Accept: application/vnd.schemaregistry.v1+json, application/json",
        "Content-Type: application/vnd.schemaregistry.v1+json", NULL};
    for (const char *const *hl = headers; *hl; hl++) {
        if (!body && hl != headers)
            break;
        if (!(h2 = curl_slist_append(hdr, *hl)))
            goto oom;
        hdr = h2;
    }
    if (r->auth_header) {
        if (!(h2 = curl_slist_append(hdr, r->auth_header)))
            goto oom;
        hdr = h2;
    }
    SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    SETOPT(h, CURLOPT_URL, (const char *)url.data);
    SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(h, CURLOPT_HTTPHEADER, hdr);
    SETOPT(h, CURLOPT_ERRORBUFFER, cerr);
    SETOPT(h, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
    SETOPT(h, CURLOPT_USERAGENT, "outreach/1");
    SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(h, CURLOPT_WRITEDATA, resp);
    if (body)
        SETOPT(h, CURLOPT_POSTFIELDS, body);
    if (r->user_info) {
        SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SETOPT(h, CURLOPT_USERPWD, r->user_info);
    }
    if (r->ca)
        SETOPT(h, CURLOPT_CAINFO, r->ca);
    CURLcode c = curl_easy_perform(h);
    if (c != CURLE_OK) {
        op_set_err(errstr, errstr_size, "schema registry %s: %s", r->redacted,
                   cerr[0] ? cerr : curl_easy_strerror(c));
        goto cleanup;
    }
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status) != CURLE_OK ||
        op_buf_append(resp, "", 1) != 0) {
        op_set_err(errstr, errstr_size, "schema registry %s: no response code", r->redacted);
        goto cleanup;
    }
    resp->len--;
    rc = 0;
    goto cleanup;
oom:
    op_set_err(errstr, errstr_size, "out of memory");
cleanup:
    curl_slist_free_all(hdr);
    if (h)
        curl_easy_cleanup(h);
    op_buf_free(&url);
    return rc;
}

/* The registry's own words for a non-2xx answer: "message" (error N), else the body's start. */
static void registry_says(const struct op_buf *resp, char *out, size_t size)
{
    json_t *j = resp->len ? json_loadb((const char *)resp->data, resp->len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(j, "message"));
    json_t *code = json_object_get(j, "error_code");
    if (msg && json_is_integer(code))
        snprintf(out, size, "%s (error %" JSON_INTEGER_FORMAT ")", msg, json_integer_value(code));
    else if (msg)
        snprintf(out, size, "%s", msg);
    else
        snprintf(out, size, "%.*s", resp->len > 200 ? 200 : (int)resp->len,
                 resp->len ? (const char *)resp->data : "(empty body)");
    json_decref(j);
}

/* ---- cache ------------------------------------------------------------------------------ */

/* Caller holds r->mu. Expired negative entries count as absent. */
static struct entry *cache_find(struct op_registry *r, int32_t id, int64_t now)
{
    for (size_t i = 0; i < r->n; i++) {
        struct entry *e = &r->cache[i];
        if (e->id != id)
            continue;
        if (e->result != OP_REGISTRY_OK && now >= e->until_ms)
            return NULL;
        return e;
    }
    return NULL;
}

/* Caller holds r->mu. Stores (replaces) the entry of id; takes ownership of schema. */
static void cache_put(struct op_registry *r, int32_t id, int result, char *schema, const char *why)
{
    int64_t now = op_clock_mono_ms();
    struct entry *e = NULL;
    for (size_t i = 0; i < r->n && !e; i++)
        if (r->cache[i].id == id)
            e = &r->cache[i];
    if (!e && result != OP_REGISTRY_OK && r->n_negative >= MAX_NEGATIVE) {
        /* Reuse the negative entry that expires first. */
        for (size_t i = 0; i < r->n; i++)
            if (r->cache[i].result != OP_REGISTRY_OK && (!e || r->cache[i].until_ms < e->until_ms))
                e = &r->cache[i];
    }
    if (!e) {
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 16;
            struct entry *nc = realloc(r->cache, cap * sizeof *nc);
            if (!nc) {
                free(schema); /* not cached: the next look-up asks again */
                return;
            }
            r->cache = nc;
            r->cap = cap;
        }
        e = &r->cache[r->n++];
        memset(e, 0, sizeof *e);
        if (result != OP_REGISTRY_OK)
            r->n_negative++;
    } else {
        if (e->result != OP_REGISTRY_OK && result == OP_REGISTRY_OK)
            r->n_negative--;
        if (e->result == OP_REGISTRY_OK && result != OP_REGISTRY_OK)
            r->n_negative++;
        free(e->schema);
    }
    e->id = id;
    e->result = result;
    e->schema = schema;
    e->until_ms = now + (result == OP_REGISTRY_NOT_FOUND ? OP_REGISTRY_NOT_FOUND_TTL_MS
                                                         : OP_REGISTRY_UNAVAILABLE_TTL_MS);
    /* errstr holds a message only when the look-up failed. */
    snprintf(e->why, sizeof e->why, "%s", result != OP_REGISTRY_OK && why ? why : "");
}

/* ---- API -------------------------------------------------------------------------------- */

int op_registry_register(struct op_registry *r, const char *subject, const char *schema_json,
                         int register_it, int32_t *id, char *errstr, size_t errstr_size)
{
    int rc = -1;
    struct op_buf resp = {0}, path = {0};
    char *body = NULL, *esc = curl_easy_escape(NULL, subject, 0);
    json_t *req = json_pack("{s:s}", "schema", schema_json), *j = NULL;
    if (req)
        body = json_dumps(req, JSON_COMPACT);
    if (!esc || !body ||
        op_buf_printf(&path, "/subjects/%s%s", esc, register_it ? "/versions" : "") != 0) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    long status = 0;
    char why[400];
    if (request(r, (const char *)path.data, body, &status, &resp, why, sizeof why) != 0) {
        op_set_err(errstr, errstr_size, "subject %s: %s", subject, why);
        goto cleanup;
    }
    if (status < 200 || status > 299) {
        registry_says(&resp, why, sizeof why);
        op_set_err(errstr, errstr_size, "schema registry %s: subject %s: %s refused (HTTP %ld): %s",
                   r->redacted, subject, register_it ? "registration" : "look-up", status, why);
        goto cleanup;
    }
    j = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    json_t *jid = json_object_get(j, "id");
    if (!json_is_integer(jid) || json_integer_value(jid) < 0 ||
        json_integer_value(jid) > INT32_MAX) {
        op_set_err(errstr, errstr_size,
                   "schema registry %s: subject %s: answer without a valid \"id\": %.100s",
                   r->redacted, subject, (const char *)resp.data);
        goto cleanup;
    }
    *id = (int32_t)json_integer_value(jid);
    char *copy = strdup(schema_json);
    if (copy) {
        pthread_mutex_lock(&r->mu);
        cache_put(r, *id, OP_REGISTRY_OK, copy, NULL);
        pthread_mutex_unlock(&r->mu);
    }
    rc = 0;
cleanup:
    json_decref(j);
    json_decref(req);
    free(body);
    curl_free(esc);
    op_buf_free(&resp);
    op_buf_free(&path);
    return rc;
}

/* GET /schemas/ids/ID. Returns an enum op_registry_result; on OK *out is malloc'd. */
static int fetch(struct op_registry *r, int32_t id, char **out, char *errstr, size_t errstr_size)
{
    int rc = OP_REGISTRY_UNAVAILABLE;
    struct op_buf resp = {0};
    char path[64], why[400];
    long status = 0;
    json_t *j = NULL;
    snprintf(path, sizeof path, "/schemas/ids/%" PRId32, id);
    if (request(r, path, NULL, &status, &resp, why, sizeof why) != 0) {
        op_set_err(errstr, errstr_size, "schema id %" PRId32 ": %s", id, why);
        goto cleanup;
    }
    if (status == 404) {
        registry_says(&resp, why, sizeof why);
        op_set_err(errstr, errstr_size, "schema id %" PRId32 ": not in the registry %s: %s", id,
                   r->redacted, why);
        rc = OP_REGISTRY_NOT_FOUND;
        goto cleanup;
    }
    if (status < 200 || status > 299) {
        registry_says(&resp, why, sizeof why);
        op_set_err(errstr, errstr_size, "schema id %" PRId32 ": registry %s: HTTP %ld: %s", id,
                   r->redacted, status, why);
        goto cleanup;
    }
    j = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    const char *schema = json_string_value(json_object_get(j, "schema"));
    const char *type = json_string_value(json_object_get(j, "schemaType"));
    if (!schema) {
        op_set_err(errstr, errstr_size,
                   "schema id %" PRId32 ": registry %s: answer without a \"schema\" string", id,
                   r->redacted);
        goto cleanup;
    }
    if (type && strcmp(type, "AVRO") != 0) {
        op_set_err(errstr, errstr_size, "schema id %" PRId32 ": a %.20s schema, not Avro", id,
                   type);
        rc = OP_REGISTRY_NOT_FOUND;
        goto cleanup;
    }
    if (!(*out = strdup(schema))) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    rc = OP_REGISTRY_OK;
cleanup:
    json_decref(j);
    op_buf_free(&resp);
    return rc;
}

int op_registry_schema_by_id(struct op_registry *r, int32_t id, char **schema_json, char *errstr,
                             size_t errstr_size)
{
    *schema_json = NULL;
    pthread_mutex_lock(&r->mu);
    int64_t now = op_clock_mono_ms();
    struct entry *e = cache_find(r, id, now);
    if (!e && now < r->down_until_ms) {
        op_set_err(errstr, errstr_size, "schema id %" PRId32 ": %s (registry down, cached)", id,
                   r->down_why);
        pthread_mutex_unlock(&r->mu);
        return OP_REGISTRY_UNAVAILABLE;
    }
    if (e) {
        int res = e->result;
        if (res == OP_REGISTRY_OK && !(*schema_json = strdup(e->schema))) {
            op_set_err(errstr, errstr_size, "out of memory");
            res = OP_REGISTRY_UNAVAILABLE;
        } else if (res != OP_REGISTRY_OK)
            op_set_err(errstr, errstr_size, "%s (cached)", e->why);
        pthread_mutex_unlock(&r->mu);
        return res;
    }
    pthread_mutex_unlock(&r->mu);
    /* Outside the lock: another thread may fetch the same id meanwhile; both store the same. */
    char *text = NULL;
    int res = fetch(r, id, &text, errstr, errstr_size);
    char *copy = NULL;
    if (res == OP_REGISTRY_OK && !(copy = strdup(text))) {
        free(text);
        op_set_err(errstr, errstr_size, "out of memory");
        return OP_REGISTRY_UNAVAILABLE;
    }
    pthread_mutex_lock(&r->mu);
    cache_put(r, id, res, copy, errstr);
    if (res == OP_REGISTRY_UNAVAILABLE) {
        r->down_until_ms = op_clock_mono_ms() + OP_REGISTRY_UNAVAILABLE_TTL_MS;
        snprintf(r->down_why, sizeof r->down_why, "%s", errstr ? errstr : "");
    }
    pthread_mutex_unlock(&r->mu);
    *schema_json = text;
    return res;
}
