/* outreach-reporter's configuration: the settings table, the endpoint.NAME.* keys of each
 * endpoint (collected, checked for typos, validated) and the transport each URL selects
 * (http(s)://, file:///DIR, xlsx:///DIR), and reporter_new, which builds the engine. */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "err.h"
#include "file.h"
#include "http.h"
#include "log.h"
#include "url.h"
#include "xlsx.h"

#define R_AT(member) OP_CONF_AT(struct reporter_settings, member)
#define E_AT(member) OP_CONF_AT(struct reporter_endpoint_settings, member)

const struct op_conf_def reporter_conf_defs[] = {
    {"rollups.topic", OP_CONF_STRING, "outreach.rollups",
     "compacted topic the rollups are read from", 0, 0, R_AT(rollups_topic)},
    {"group.prefix", OP_CONF_STRING, "outreach-reporter",
     "consumer group of endpoint NAME is <group.prefix>.NAME (its offsets = its progress)", 0, 0,
     R_AT(group_prefix)},
    {"instance.id", OP_CONF_STRING, NULL,
     "stable name of this instance, 1-128 of [A-Za-z0-9._-] (unset: the host name; empty: an "
     "error), unique among running reporters of "
     "the same groups; endpoint NAME's consumer is the static member "
     "outreach-reporter-<instance.id>-NAME, so a restart takes its partitions back at once",
     0, 0, R_AT(instance_id)},
    {"dlq.topic.prefix", OP_CONF_STRING, "outreach.rollups.dlq",
     "batches endpoint NAME rejects (4xx) go to topic <dlq.topic.prefix>.NAME", 0, 0,
     R_AT(dlq_topic_prefix)},
    {"dlq.topic.replication", OP_CONF_INT, "0",
     "replication factor when the reporter creates a DLQ topic (0: min(3, brokers))", 0, 16,
     R_AT(dlq_replication)},
    {"retry.backoff.ms", OP_CONF_INT, "200",
     "first retry waits up to this long; each further one up to twice as long (full jitter)", 1,
     600000, R_AT(backoff_ms)},
    {"retry.backoff.max.ms", OP_CONF_INT, "30000", "longest wait between retries", 1, 3600000,
     R_AT(backoff_max_ms)},
    {"retry.after.max.ms", OP_CONF_INT, "600000",
     "a Retry-After from the endpoint is honoured up to this long", 0, 86400000,
     R_AT(retry_after_max_ms)},
    {"status.interval.ms", OP_CONF_INT, "60000",
     "how often each endpoint logs its counters (0: only at exit)", 0, 86400000,
     R_AT(status_interval_ms)},
    {"regions.file", OP_CONF_STRING, NULL,
     "region table CSV for region_name (default: the copy built in from schemas/regions.csv)", 0, 0,
     R_AT(regions_file)},
    {"endpoint.*.url", OP_CONF_STRING, NULL,
     "where endpoint NAME's batches go: http://..., https://..., file:///DIR (JSON Lines) or "
     "xlsx:///DIR (an Excel workbook per MONTH and CAMPAIGN window; re-reads the topic from "
     "the beginning at start); a user:password@ in it is logged as ***",
     0, 0, E_AT(url)},
    {"endpoint.*.token", OP_CONF_SECRET, NULL,
     "bearer token; give it as endpoint.NAME.token.file=PATH so it stays out of argv and logs", 0,
     0, E_AT(token)},
    {"endpoint.*.tls.ca", OP_CONF_STRING, NULL,
     "PEM CA bundle that verifies the endpoint (and its oauth2.token_url) (default: the "
     "system's trust store)",
     0, 0, E_AT(tls_ca)},
    {"endpoint.*.tls.cert", OP_CONF_STRING, NULL,
     "PEM client certificate (chain) for mutual TLS; needs endpoint.NAME.tls.key", 0, 0,
     E_AT(tls_cert)},
    {"endpoint.*.tls.key", OP_CONF_STRING, NULL, "PEM private key of endpoint.NAME.tls.cert", 0, 0,
     E_AT(tls_key)},
    {"endpoint.*.tls.key.password", OP_CONF_SECRET, NULL,
     "passphrase of an encrypted tls.key; give it as endpoint.NAME.tls.key.password.file=PATH", 0,
     0, E_AT(tls_key_password)},
    {"endpoint.*.ca", OP_CONF_STRING, NULL, "old name of endpoint.NAME.tls.ca", 0, 0, E_AT(ca)},
    {"endpoint.*.cert", OP_CONF_STRING, NULL, "old name of endpoint.NAME.tls.cert", 0, 0,
     E_AT(cert)},
    {"endpoint.*.key", OP_CONF_STRING, NULL, "old name of endpoint.NAME.tls.key", 0, 0, E_AT(key)},
    {"endpoint.*.oauth2.token_url", OP_CONF_STRING, NULL,
     "OAuth2 client credentials: the token endpoint (http(s)://); its access token, cached "
     "until expires_in minus 10% (at most 60 s), is sent as the bearer token (not with "
     "endpoint.NAME.token)",
     0, 0, E_AT(oauth2_token_url)},
    {"endpoint.*.oauth2.client_id", OP_CONF_STRING, NULL, "OAuth2 client id", 0, 0,
     E_AT(oauth2_client_id)},
    {"endpoint.*.oauth2.client_secret", OP_CONF_SECRET, NULL,
     "OAuth2 client secret; give it as endpoint.NAME.oauth2.client_secret.file=PATH", 0, 0,
     E_AT(oauth2_client_secret)},
    {"endpoint.*.oauth2.scope", OP_CONF_STRING, NULL,
     "space-separated scopes asked for (unset: none sent)", 0, 0, E_AT(oauth2_scope)},
    {"endpoint.*.oauth2.client_auth", OP_CONF_STRING, "client_secret_basic",
     "how the client authenticates to the token endpoint: client_secret_basic (HTTP Basic) or "
     "client_secret_post (in the form body)",
     0, 0, E_AT(oauth2_client_auth)},
    {"endpoint.*.tls.verify", OP_CONF_BOOL, "true",
     "verify the endpoint's certificate and host name (false only for tests)", 0, 0,
     E_AT(tls_verify)},
    {"endpoint.*.batch.size", OP_CONF_INT, "500", "most messages (rollup revisions) per batch", 1,
     100000, E_AT(batch_size)},
    {"endpoint.*.max.delay.ms", OP_CONF_INT, "1000",
     "a partial batch is sent once its oldest message waited this long", 0, 3600000,
     E_AT(max_delay_ms)},
    {"endpoint.*.timeout.ms", OP_CONF_INT, "10000", "longest one request may take", 100, 600000,
     E_AT(timeout_ms)},
    {"endpoint.*.max.retries", OP_CONF_INT, "0",
     "retries of a failing batch before it goes to the DLQ instead (0: retry forever)", 0,
     1000000000, E_AT(max_retries)},
    {"endpoint.*.audit.topic", OP_CONF_STRING, NULL,
     "also deliver the corrections audit trail of this topic (e.g. outreach.audit) to the "
     "endpoint's URL with its last path segment replaced by audit (http://H/rollups -> "
     "http://H/audit), as the stream NAME.audit (own group, DLQ, metrics); http(s) endpoints "
     "only (unset: off)",
     0, 0, E_AT(audit_topic)},
    {"endpoint.*.gzip.level", OP_CONF_INT, "1",
     "zlib level of the request body (1 fast .. 9 small)", 1, 9, E_AT(gzip_level)},
    {"health.listen", OP_CONF_STRING, NULL,
     "serve /healthz, /readyz and /metrics on this IPv4-ADDRESS:PORT (unset: off)", 0, 0,
     R_AT(health_listen)},
    OP_KAFKA_CONSUMER_CONF_DEFS,
    OP_REGISTRY_CONF_DEFS,
    OP_CLI_CONF_DEFS,
    {0},
};

int reporter_conf_defaults(struct op_conf *conf, char *errstr, size_t errstr_size)
{
    static const char *const defaults[] = {"bootstrap.servers", "127.0.0.1:9092", NULL};
    return op_conf_set_pairs(conf, defaults, errstr, errstr_size);
}

/* 1..max characters of [A-Za-z0-9_-], and '.' too when dot is set. */
static int chars_valid(const char *t, size_t max, int dot)
{
    size_t n = strlen(t);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || (dot && c == '.')))
            return 0;
    }
    return 1;
}

int reporter_name_valid(const char *name)
{
    return chars_valid(name, REPORTER_NAME_MAX, 0);
}

/* Kafka's rule for topic names, with our own length limit. */
static int topic_valid(const char *t, size_t max)
{
    return chars_valid(t, max, 1);
}

struct collect {
    struct reporter *r;
    char *errstr;
    size_t errstr_size;
};

struct reporter_endpoint *reporter_endpoint_alloc(struct reporter *r, struct op_conf *conf,
                                                  const char *cname, int audit)
{
    struct reporter_endpoint *ep = calloc(1, sizeof *ep);
    if (!ep)
        return NULL;
    ep->r = r;
    ep->conf = conf;
    ep->audit = audit;
    snprintf(ep->cname, sizeof ep->cname, "%.64s", cname);
    snprintf(ep->name, sizeof ep->name, audit ? "%.64s.audit" : "%.64s", cname);
    op_conf_bind_instance(conf, "endpoint", ep->cname, &ep->set);
    return ep;
}

int reporter_endpoint_append(struct reporter *r, struct reporter_endpoint *ep)
{
    struct reporter_endpoint **np = realloc(r->eps, (r->n_eps + 1) * sizeof *np);
    if (!np)
        return -1;
    r->eps = np;
    r->eps[r->n_eps++] = ep;
    return 0;
}

struct reporter_endpoint *reporter_endpoint_find(struct reporter *r, const char *name)
{
    for (size_t i = 0; i < r->n_eps; i++)
        if (strcmp(r->eps[i]->name, name) == 0)
            return r->eps[i];
    return NULL;
}

static int add_endpoint(const char *name, const char *key, const char *value, void *opaque)
{
    struct collect *c = opaque;
    struct reporter *r = c->r;
    (void)key;
    (void)value;
    if (!reporter_name_valid(name)) {
        op_set_err(c->errstr, c->errstr_size,
                   "endpoint name \"%s\": use 1 to %d letters, digits, '_' or '-'", name,
                   REPORTER_NAME_MAX);
        return -1;
    }
    struct reporter_endpoint *ep = reporter_endpoint_alloc(r, r->conf, name, 0);
    if (!ep || reporter_endpoint_append(r, ep) != 0) {
        free(ep);
        op_set_err(c->errstr, c->errstr_size, "out of memory");
        return -1;
    }
    return 0;
}

/* Every endpoint.NAME.* key must belong to an endpoint with a url: catches typos in names. */
static int check_orphan(const char *name, const char *key, const char *value, void *opaque)
{
    struct collect *c = opaque;
    (void)value;
    if (reporter_endpoint_find(c->r, name))
        return 0;
    op_set_err(c->errstr, c->errstr_size, "%s is set but endpoint.%s.url is not", key, name);
    return -1;
}

/* Reads endpoint NAME's oauth2.* keys into *oa and sets ep->oauth2 when token_url is set.
 * Returns 0, or -1 with errstr for an incomplete or contradictory setting. */
static int endpoint_oauth2(struct reporter_endpoint *ep, struct reporter_oauth2_opts *oa,
                           char *errstr, size_t errstr_size)
{
    memset(oa, 0, sizeof *oa);
    oa->token_url = ep->set.oauth2_token_url;
    oa->client_id = ep->set.oauth2_client_id;
    oa->client_secret = ep->set.oauth2_client_secret;
    oa->scope = ep->set.oauth2_scope;
    const char *auth = ep->set.oauth2_client_auth;
    ep->oauth2 = oa->token_url != NULL;
    if (!ep->oauth2) {
        if (oa->client_id || oa->client_secret || oa->scope) {
            op_set_err(errstr, errstr_size,
                       "endpoint %s: oauth2.* is set but oauth2.token_url is not", ep->name);
            return -1;
        }
        return 0;
    }
    if (strncmp(oa->token_url, "http://", 7) != 0 && strncmp(oa->token_url, "https://", 8) != 0) {
        char shown[512];
        op_set_err(errstr, errstr_size, "endpoint.%s.oauth2.token_url: \"%s\" is not http(s)://",
                   ep->name, op_url_redact(oa->token_url, shown, sizeof shown));
        return -1;
    }
    if (!oa->client_id || !*oa->client_id || !oa->client_secret || !*oa->client_secret) {
        op_set_err(errstr, errstr_size,
                   "endpoint %s: oauth2.token_url needs oauth2.client_id and "
                   "oauth2.client_secret (as oauth2.client_secret.file=PATH)",
                   ep->name);
        return -1;
    }
    if (strcmp(auth, "client_secret_basic") == 0)
        oa->client_secret_post = 0;
    else if (strcmp(auth, "client_secret_post") == 0)
        oa->client_secret_post = 1;
    else {
        op_set_err(errstr, errstr_size,
                   "endpoint.%s.oauth2.client_auth: \"%s\": use client_secret_basic or "
                   "client_secret_post",
                   ep->name, auth);
        return -1;
    }
    if (strncmp(oa->token_url, "http://", 7) == 0)
        op_log(OP_LOG_WARNING, "endpoint %s: the OAuth2 client secret goes over plain http://",
               ep->name);
    return 0;
}

/* The audit stream's URL: the endpoint's, its last path segment replaced by "audit" (query
 * kept out): http://h/rollups -> http://h/audit, http://h -> http://h/audit. */
static int audit_url(struct reporter_endpoint *ep, char *errstr, size_t errstr_size)
{
    const char *u = ep->url;
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
        op_set_err(errstr, errstr_size,
                   "endpoint.%s.audit.topic: only http(s) endpoints deliver the audit trail",
                   ep->cname);
        return -1;
    }
    const char *auth = strstr(u, "://") + 3;
    size_t path = strcspn(auth, "/?#");
    const char *end = auth + path + strcspn(auth + path, "?#");
    const char *slash = auth + path;
    for (const char *p = slash; p < end; p++)
        if (*p == '/')
            slash = p;
    int n = slash < end && *slash == '/'
                ? snprintf(ep->audit_url, sizeof ep->audit_url, "%.*s/audit", (int)(slash - u), u)
                : snprintf(ep->audit_url, sizeof ep->audit_url, "%.*s/audit", (int)(end - u), u);
    if (n < 0 || (size_t)n >= sizeof ep->audit_url) {
        op_set_err(errstr, errstr_size, "endpoint.%s.url: too long", ep->cname);
        return -1;
    }
    ep->url = ep->audit_url;
    return 0;
}

/* Endpoint NAME's audit stream, when endpoint.NAME.audit.topic is set: a second endpoint
 * object named NAME.audit over the same settings. 0, or -1 with errstr. */
static int add_audit_stream(struct reporter *r, struct reporter_endpoint *base, char *errstr,
                            size_t errstr_size)
{
    const char *topic = base->set.audit_topic;
    if (!topic)
        return 0;
    if (!topic_valid(topic, REPORTER_TOPIC_MAX)) {
        op_set_err(errstr, errstr_size,
                   "endpoint.%s.audit.topic \"%s\": use 1 to %d letters, digits, '.', '_' or '-'",
                   base->name, topic, REPORTER_TOPIC_MAX);
        return -1;
    }
    struct reporter_endpoint *ep = reporter_endpoint_alloc(r, base->conf, base->name, 1);
    if (!ep || reporter_endpoint_append(r, ep) != 0) {
        free(ep);
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    ep->topic = topic;
    return 0;
}

/* A file:// or xlsx:// endpoint: its directory (created when missing) must be writable. */
static int dir_setup(struct reporter_endpoint *ep, const char *token, int xlsx, char *errstr,
                     size_t errstr_size)
{
    char *dir = xlsx ? reporter_xlsx_dir_of_url(ep->url) : reporter_file_dir_of_url(ep->url);
    if (!dir) {
        op_set_err(errstr, errstr_size,
                   "endpoint.%s.url: \"%s\" is not %s:///ABSOLUTE/DIR (no %%-escapes)", ep->name,
                   ep->url_shown, xlsx ? "xlsx" : "file");
        return -1;
    }
    struct stat st;
    if (stat(dir, &st) != 0 && mkdir(dir, 0750) != 0) {
        op_set_err(errstr, errstr_size, "endpoint.%s.url: %s: %s", ep->name, dir, strerror(errno));
        free(dir);
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) != 0) {
        op_set_err(errstr, errstr_size, "endpoint.%s.url: %s is not a writable directory", ep->name,
                   dir);
        free(dir);
        return -1;
    }
    if (token)
        op_log(OP_LOG_WARNING, "endpoint %s: a file endpoint has no use for a token", ep->name);
    if (!xlsx) {
        ep->tp = &reporter_file_transport;
        ep->tp_impl = dir;
        return 0;
    }
    ep->tp_impl = reporter_xlsx_new(dir, ep->r->regions, errstr, errstr_size);
    free(dir);
    if (!ep->tp_impl)
        return -1;
    ep->tp = &reporter_xlsx_transport;
    return 0;
}

/* An http(s):// endpoint: TLS files readable, a token or OAuth2 (not both). */
static int http_setup(struct reporter_endpoint *ep, const char *token, char *errstr,
                      size_t errstr_size)
{
    const struct reporter_endpoint_settings *s = &ep->set;
    char err[512];
    int verify = s->tls_verify;
    struct reporter_oauth2_opts oa;
    struct reporter_http_opts o = {
        ep->url, token, NULL, NULL, NULL, verify, s->timeout_ms, s->tls_key_password, NULL};
    /* tls.ca, tls.cert and tls.key, or their old names ca, cert and key. */
    static const char *const tls_names[3] = {"ca", "cert", "key"};
    const char *const now_paths[3] = {s->tls_ca, s->tls_cert, s->tls_key};
    const char *const old_paths[3] = {s->ca, s->cert, s->key};
    const char **files[3] = {&o.ca, &o.cert, &o.key};
    for (int i = 0; i < 3; i++) {
        char tls_name[16];
        snprintf(tls_name, sizeof tls_name, "tls.%s", tls_names[i]);
        const char *now = now_paths[i], *old = old_paths[i];
        if (now && old && strcmp(now, old) != 0) {
            op_set_err(errstr, errstr_size,
                       "endpoint %s: set endpoint.%s.%s or its old name endpoint.%s.%s, not both",
                       ep->name, ep->name, tls_name, ep->name, tls_names[i]);
            return -1;
        }
        *files[i] = now ? now : old;
        if (*files[i] && access(*files[i], R_OK) != 0) {
            op_set_err(errstr, errstr_size, "endpoint %s: %s: cannot read %s: %s", ep->name,
                       tls_name, *files[i], strerror(errno));
            return -1;
        }
    }
    if (!o.cert != !o.key) {
        op_set_err(errstr, errstr_size, "endpoint %s: set both tls.cert and tls.key, or neither",
                   ep->name);
        return -1;
    }
    if (o.key_password && !o.key) {
        op_set_err(errstr, errstr_size, "endpoint %s: tls.key.password is set without tls.key",
                   ep->name);
        return -1;
    }
    if (endpoint_oauth2(ep, &oa, errstr, errstr_size) != 0)
        return -1;
    if (ep->oauth2) {
        if (token) {
            op_set_err(errstr, errstr_size,
                       "endpoint %s: set either endpoint.%s.token or endpoint.%s.oauth2.*, not "
                       "both",
                       ep->name, ep->name, ep->name);
            return -1;
        }
        o.oauth2 = &oa;
    }
    if (token && strncmp(ep->url, "http://", 7) == 0)
        op_log(OP_LOG_WARNING, "endpoint %s: the bearer token goes over plain http://", ep->name);
    if (!verify)
        op_log(OP_LOG_WARNING, "endpoint %s: TLS verification is off (tls.verify=false)", ep->name);
    ep->tp_impl = reporter_http_new(&o, err, sizeof err);
    if (!ep->tp_impl) {
        op_set_err(errstr, errstr_size, "endpoint %s: %s", ep->name, err);
        return -1;
    }
    ep->tp = &reporter_http_transport;
    return 0;
}

int reporter_endpoint_setup(struct reporter_endpoint *ep, const struct reporter_settings *set,
                            char *errstr, size_t errstr_size)
{
    char err[512];
    if (!ep->topic)
        ep->topic = ep->r->set.rollups_topic;
    ep->url = ep->set.url;
    if (ep->audit && audit_url(ep, errstr, errstr_size) != 0)
        return -1;
    op_url_redact(ep->url, ep->url_shown, sizeof ep->url_shown);
    ep->rng = (uint64_t)op_clock_wall_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)ep;
    snprintf(ep->group, sizeof ep->group, "%s.%s", set->group_prefix, ep->name);
    snprintf(ep->dlq_topic, sizeof ep->dlq_topic, "%s.%s", set->dlq_topic_prefix, ep->name);
    snprintf(ep->client_id, sizeof ep->client_id, "outreach-reporter-%s", ep->name);
    snprintf(ep->member_id, sizeof ep->member_id, "outreach-reporter-%s-%s", ep->r->instance,
             ep->name);
    if (!topic_valid(ep->dlq_topic, 249)) {
        op_set_err(errstr, errstr_size,
                   "endpoint %s: \"%s\" is not a valid topic name (check dlq.topic.prefix)",
                   ep->name, ep->dlq_topic);
        return -1;
    }
    const char *token = ep->set.token;
    int xlsx = strncmp(ep->url, "xlsx:", 5) == 0;
    int rc;
    if (xlsx || strncmp(ep->url, "file:", 5) == 0)
        rc = dir_setup(ep, token, xlsx, errstr, errstr_size);
    else if (strncmp(ep->url, "http://", 7) == 0 || strncmp(ep->url, "https://", 8) == 0)
        rc = http_setup(ep, token, errstr, errstr_size);
    else {
        op_set_err(
            errstr, errstr_size,
            "endpoint.%s.url: \"%s\" must start with http://, https://, file:/// or xlsx:///",
            ep->name, ep->url_shown);
        return -1;
    }
    if (rc != 0)
        return -1;
    ep->codec = op_codec_new_default(err, sizeof err);
    if (!ep->codec || !op_codec_reader(ep->codec, "rollup")) {
        op_set_err(errstr, errstr_size, "schemas: %s", ep->codec ? "no rollup schema" : err);
        return -1;
    }
    /* Rollups may be Confluent-framed (the aggregator's wire.format): ids are looked up. */
    if (op_registry_new_from_conf(ep->conf, &ep->registry, err, sizeof err) != 0) {
        op_set_err(errstr, errstr_size, "%s", err);
        return -1;
    }
    op_codec_set_registry(ep->codec, ep->registry);
    return reporter_consumer_open(ep, errstr, errstr_size);
}

struct reporter *reporter_new(struct op_conf *conf, char *errstr, size_t errstr_size)
{
    struct reporter *r = calloc(1, sizeof *r);
    if (!r) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    r->conf = conf;
    atomic_init(&r->stop, 0);
    pthread_mutex_init(&r->lock, NULL);
    op_conf_bind(conf, &r->set);
    const struct reporter_settings *set = &r->set;
    if (!topic_valid(set->rollups_topic, REPORTER_TOPIC_MAX)) {
        op_set_err(errstr, errstr_size,
                   "rollups.topic \"%s\": use 1 to %d letters, digits, '.', '_' or '-'",
                   set->rollups_topic, REPORTER_TOPIC_MAX);
        goto fail;
    }
    if (set->backoff_max_ms < set->backoff_ms) {
        op_set_err(errstr, errstr_size, "retry.backoff.max.ms is below retry.backoff.ms");
        goto fail;
    }
    if (op_kafka_instance_id(set->instance_id, r->instance, sizeof r->instance, errstr,
                             errstr_size) != 0)
        goto fail;
    r->regions = op_regions_new_from_file(set->regions_file, errstr, errstr_size);
    if (!r->regions)
        goto fail;
    struct collect c = {r, errstr, errstr_size};
    if (op_conf_foreach(conf, "endpoint.*.url", add_endpoint, &c) != 0)
        goto fail;
    if (r->n_eps == 0) {
        op_set_err(
            errstr, errstr_size,
            "no endpoint: set endpoint.NAME.url=http(s)://..., file:///DIR or xlsx:///DIR (see "
            "--help)");
        goto fail;
    }
    for (const struct op_conf_def *d = reporter_conf_defs; d->key; d++)
        if (strncmp(d->key, "endpoint.*.", 11) == 0 &&
            op_conf_foreach(conf, d->key, check_orphan, &c) != 0)
            goto fail;
    for (size_t i = 0, n = r->n_eps; i < n; i++)
        if (add_audit_stream(r, r->eps[i], errstr, errstr_size) != 0)
            goto fail;
    for (size_t i = 0; i < r->n_eps; i++)
        if (reporter_endpoint_setup(r->eps[i], set, errstr, errstr_size) != 0)
            goto fail;
    return r;
fail:
    reporter_destroy(r);
    return NULL;
}
