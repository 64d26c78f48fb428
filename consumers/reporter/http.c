/* libcurl for the reporter: every CURLcode checked, CURLOPT_NOSIGNAL (threads), the handle
 * kept between requests so its connection cache keeps the endpoint's connection open. */
#include "http.h"
#include "err.h"
#include "clock.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "log.h"
#include "transport.h"
#include "url.h"

/* At most this much of a token endpoint's answer is read. */
#define TOKEN_BODY_MAX (64 * 1024)

/* The OAuth2 side of a handle: its own easy handle (its own connection) and the cached token. */
struct oauth2 {
    CURL *curl;
    struct curl_slist *headers;
    char *form;          /* grant_type=client_credentials[&scope=..][&client_id=..&..] */
    char *user, *pass;   /* form-encoded id and secret for HTTP Basic, or NULL */
    char url_shown[512]; /* token_url without userinfo, for messages */
    char errbuf[CURL_ERROR_SIZE];
    struct op_buf body; /* the answer being read */
    size_t body_total;
    char *access;     /* the cached token, NULL when none */
    int64_t until_ms; /* monotonic ms until which it is used */
};

struct reporter_http {
    CURL *curl;
    struct curl_slist *fixed; /* headers sent with every request */
    char errbuf[CURL_ERROR_SIZE];
    const atomic_int *stop;
    struct reporter_http_result *r; /* the result being filled */
    int https, has_cert;
    struct oauth2 *oa;                /* NULL without OAuth2 */
    struct reporter_http_result sent; /* the transport's last send (its body buffer reused) */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque)
{
    struct reporter_http *h = opaque;
    size_t n = size * nmemb, room;
    struct reporter_http_result *r = h->r;
    r->body_total += n;
    room = r->body.len < REPORTER_HTTP_BODY_MAX ? REPORTER_HTTP_BODY_MAX - r->body.len : 0;
    if (room > 0 && op_buf_append(&r->body, data, n < room ? n : room) != 0)
        return 0; /* out of memory: libcurl fails the transfer */
    return n;
}

static int on_progress(void *opaque, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct reporter_http *h = opaque;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return h->stop && atomic_load(h->stop) ? 1 : 0;
}

/* Sets one option; on failure says which. */
#define SETOPT(h, opt, val, errstr, errstr_size)                                                   \
    do {                                                                                           \
        CURLcode c_ = curl_easy_setopt((h)->curl, opt, val);                                       \
        if (c_ != CURLE_OK) {                                                                      \
            op_set_err(errstr, errstr_size, "%s: %s", #opt, curl_easy_strerror(c_));               \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

static int add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *n = curl_slist_append(*list, line);
    if (!n)
        return -1;
    *list = n;
    return 0;
}

/* Zeroes and frees a string that may hold a secret. */
static void free_secret(char *s)
{
    if (!s)
        return;
    volatile char *v = s;
    while (*v)
        *v++ = 0;
    free(s);
}

static size_t on_token_body(char *data, size_t size, size_t nmemb, void *opaque)
{
    struct oauth2 *oa = opaque;
    size_t n = size * nmemb;
    oa->body_total += n;
    if (oa->body.len + n > TOKEN_BODY_MAX)
        return 0; /* too large for a token answer: the transfer fails */
    return op_buf_append(&oa->body, data, n) == 0 ? n : 0;
}

/* application/x-www-form-urlencoded value (RFC 6749 appendix B), malloc'd, or NULL. */
static char *form_escape(CURL *c, const char *s)
{
    char *e = curl_easy_escape(c, s, 0);
    if (!e)
        return NULL;
    char *out = strdup(e);
    curl_free(e);
    return out;
}

/* Appends "&name=escaped(value)" (no '&' when *form is empty) to the malloc'd *form. */
static int form_add(CURL *c, char **form, const char *name, const char *value)
{
    char *e = form_escape(c, value);
    if (!e)
        return -1;
    size_t n = strlen(*form) + strlen(name) + strlen(e) + 3;
    char *nf = malloc(n);
    if (nf)
        snprintf(nf, n, "%s%s%s=%s", *form, **form ? "&" : "", name, e);
    free_secret(e);
    if (!nf)
        return -1;
    free_secret(*form);
    *form = nf;
    return 0;
}

static void oauth2_destroy(struct oauth2 *oa)
{
    if (!oa)
        return;
    if (oa->curl)
        curl_easy_cleanup(oa->curl);
    curl_slist_free_all(oa->headers);
    free_secret(oa->form);
    free_secret(oa->user);
    free_secret(oa->pass);
    free_secret(oa->access);
    op_buf_free(&oa->body);
    free(oa);
}

/* Sets one option of the token handle; on failure says which. */
#define TOKOPT(oa, opt, val, errstr, errstr_size)                                                  \
    do {                                                                                           \
        CURLcode c_ = curl_easy_setopt((oa)->curl, opt, val);                                      \
        if (c_ != CURLE_OK) {                                                                      \
            op_set_err(errstr, errstr_size, "oauth2: %s: %s", #opt, curl_easy_strerror(c_));       \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

static struct oauth2 *oauth2_new(const struct reporter_http_opts *o, struct reporter_http *h,
                                 char *errstr, size_t errstr_size)
{
    const struct reporter_oauth2_opts *g = o->oauth2;
    if (!g->token_url || !g->client_id || !g->client_secret) {
        op_set_err(errstr, errstr_size,
                   "oauth2: token_url, client_id and client_secret are needed");
        return NULL;
    }
    struct oauth2 *oa = calloc(1, sizeof *oa);
    if (!oa || !(oa->curl = curl_easy_init()) || !(oa->form = strdup(""))) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto fail;
    }
    op_url_redact(g->token_url, oa->url_shown, sizeof oa->url_shown);
    if (form_add(oa->curl, &oa->form, "grant_type", "client_credentials") ||
        (g->scope && *g->scope && form_add(oa->curl, &oa->form, "scope", g->scope))) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if (g->client_secret_post) {
        if (form_add(oa->curl, &oa->form, "client_id", g->client_id) ||
            form_add(oa->curl, &oa->form, "client_secret", g->client_secret)) {
            op_set_err(errstr, errstr_size, "out of memory");
            goto fail;
        }
    } else {
        /* RFC 6749 section 2.3.1: both are form-encoded before they go into Basic. */
        oa->user = form_escape(oa->curl, g->client_id);
        oa->pass = form_escape(oa->curl, g->client_secret);
        if (!oa->user || !oa->pass) {
            op_set_err(errstr, errstr_size, "out of memory");
            goto fail;
        }
        TOKOPT(oa, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC, errstr, errstr_size);
        TOKOPT(oa, CURLOPT_USERNAME, oa->user, errstr, errstr_size);
        TOKOPT(oa, CURLOPT_PASSWORD, oa->pass, errstr, errstr_size);
    }
    struct curl_slist *n = curl_slist_append(NULL, "Accept: application/json");
    if (!n) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto fail;
    }
    oa->headers = n;
    TOKOPT(oa, CURLOPT_NOSIGNAL, 1L, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_URL, g->token_url, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_PROTOCOLS_STR, "http,https", errstr, errstr_size);
    TOKOPT(oa, CURLOPT_FOLLOWLOCATION, 0L, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_POSTFIELDS, oa->form, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_HTTPHEADER, oa->headers, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_ERRORBUFFER, oa->errbuf, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_TIMEOUT_MS, o->timeout_ms, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms < 10000 ? o->timeout_ms : 10000L, errstr,
           errstr_size);
    TOKOPT(oa, CURLOPT_USERAGENT, "outreach-reporter/1", errstr, errstr_size);
    TOKOPT(oa, CURLOPT_WRITEFUNCTION, on_token_body, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_WRITEDATA, oa, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_XFERINFOFUNCTION, on_progress, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_XFERINFODATA, h, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_NOPROGRESS, 0L, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_SSL_VERIFYPEER, o->verify ? 1L : 0L, errstr, errstr_size);
    TOKOPT(oa, CURLOPT_SSL_VERIFYHOST, o->verify ? 2L : 0L, errstr, errstr_size);
    if (o->ca)
        TOKOPT(oa, CURLOPT_CAINFO, o->ca, errstr, errstr_size);
    return oa;
fail:
    oauth2_destroy(oa);
    return NULL;
}

/* Printable ASCII without spaces: what may follow "Bearer " in a header line. */
static int token_chars_ok(const char *t)
{
    if (!*t)
        return 0;
    for (; *t; t++)
        if (*t <= 0x20 || *t >= 0x7f)
            return 0;
    return 1;
}

/* Copies at most size - 1 bytes of an answer body into out, control characters as '?'. */
static void body_excerpt(const struct op_buf *b, char *out, size_t size)
{
    size_t n = b->len < size - 1 ? b->len : size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = b->data[i];
        out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[n] = 0;
}

/* Asks the token endpoint for a token and caches it. Returns 0, or -1 with r->error. */
static int oauth2_fetch(struct reporter_http *h, struct reporter_http_result *r)
{
    struct oauth2 *oa = h->oa;
    char excerpt[160];
    json_t *doc = NULL;
    int rc = -1;
    free_secret(oa->access);
    oa->access = NULL;
    oa->body.len = 0;
    oa->body_total = 0;
    oa->errbuf[0] = 0;
    r->token_requests++;
    CURLcode c = curl_easy_perform(oa->curl);
    if (c != CURLE_OK) {
        op_set_err(r->error, sizeof r->error, "OAuth2 token endpoint %s: %s%s%s", oa->url_shown,
                   curl_easy_strerror(c), oa->errbuf[0] ? ": " : "", oa->errbuf);
        goto cleanup;
    }
    long status = 0;
    if ((c = curl_easy_getinfo(oa->curl, CURLINFO_RESPONSE_CODE, &status)) != CURLE_OK) {
        op_set_err(r->error, sizeof r->error, "OAuth2 token endpoint %s: response code: %s",
                   oa->url_shown, curl_easy_strerror(c));
        goto cleanup;
    }
    body_excerpt(&oa->body, excerpt, sizeof excerpt);
    if (status < 200 || status > 299) {
        /* RFC 6749 section 5.2: {"error":"invalid_client",...}; never our secret. */
        op_set_err(r->error, sizeof r->error,
                   "OAuth2 token endpoint %s: HTTP %ld %s (check client_id and client_secret)",
                   oa->url_shown, status, excerpt);
        goto cleanup;
    }
    json_error_t je;
    doc = json_loadb((const char *)oa->body.data, oa->body.len, 0, &je);
    const char *tok = doc ? json_string_value(json_object_get(doc, "access_token")) : NULL;
    const char *type = doc ? json_string_value(json_object_get(doc, "token_type")) : NULL;
    json_t *exp = doc ? json_object_get(doc, "expires_in") : NULL;
    if (!tok || !token_chars_ok(tok)) {
        op_set_err(r->error, sizeof r->error,
                   "OAuth2 token endpoint %s: HTTP %ld without a usable access_token",
                   oa->url_shown, status);
        goto cleanup;
    }
    if (type && strcasecmp(type, "bearer") != 0) {
        op_set_err(r->error, sizeof r->error,
                   "OAuth2 token endpoint %s: token_type \"%.40s\", not Bearer", oa->url_shown,
                   type);
        goto cleanup;
    }
    int64_t now = op_clock_mono_ms();
    /* No expires_in (it is only RECOMMENDED): kept until the endpoint answers 401. */
    oa->until_ms = INT64_MAX;
    if (exp && (json_is_integer(exp) || json_is_real(exp))) {
        double secs = json_number_value(exp);
        if (secs < 0)
            secs = 0;
        if (secs > 86400.0 * 365)
            secs = 86400.0 * 365;
        int64_t life = (int64_t)(secs * 1000.0);
        int64_t margin =
            life / 10 < REPORTER_OAUTH2_MARGIN_MAX_MS ? life / 10 : REPORTER_OAUTH2_MARGIN_MAX_MS;
        oa->until_ms = now + life - margin;
    }
    oa->access = strdup(tok);
    if (!oa->access) {
        op_set_err(r->error, sizeof r->error, "out of memory");
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (doc) {
        /* The token's copy inside jansson's tree is wiped before the tree is freed. */
        json_t *t = json_object_get(doc, "access_token");
        if (json_is_string(t)) {
            volatile char *v = (volatile char *)json_string_value(t);
            while (*v)
                *v++ = 0;
        }
        json_decref(doc);
    }
    if (oa->body.data)
        memset(oa->body.data, 0, oa->body.cap);
    oa->body.len = 0;
    return rc;
}

struct reporter_http *reporter_http_new(const struct reporter_http_opts *o, char *errstr,
                                        size_t errstr_size)
{
    struct reporter_http *h = calloc(1, sizeof *h);
    if (!h) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    h->curl = curl_easy_init();
    if (!h->curl) {
        op_set_err(errstr, errstr_size, "curl_easy_init failed");
        goto fail;
    }
    if (add_header(&h->fixed, "Content-Type: application/json") ||
        add_header(&h->fixed, "Content-Encoding: gzip") ||
        add_header(&h->fixed, "Accept: application/json") ||
        /* No 100-continue round trip: the endpoint answers the whole request anyway. */
        add_header(&h->fixed, "Expect:")) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if (o->token) {
        size_t n = strlen(o->token) + sizeof "Authorization: Bearer ";
        char *line = malloc(n);
        if (!line) {
            op_set_err(errstr, errstr_size, "out of memory");
            goto fail;
        }
        snprintf(line, n, "Authorization: Bearer %s", o->token);
        int rc = add_header(&h->fixed, line);
        memset(line, 0, n);
        free(line);
        if (rc) {
            op_set_err(errstr, errstr_size, "out of memory");
            goto fail;
        }
    }
    SETOPT(h, CURLOPT_NOSIGNAL, 1L, errstr, errstr_size);
    SETOPT(h, CURLOPT_URL, o->url, errstr, errstr_size);
    SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https", errstr, errstr_size);
    SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L, errstr, errstr_size);
    SETOPT(h, CURLOPT_POST, 1L, errstr, errstr_size);
    SETOPT(h, CURLOPT_ERRORBUFFER, h->errbuf, errstr, errstr_size);
    SETOPT(h, CURLOPT_TIMEOUT_MS, o->timeout_ms, errstr, errstr_size);
    SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms < 10000 ? o->timeout_ms : 10000L, errstr,
           errstr_size);
    SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L, errstr, errstr_size);
    SETOPT(h, CURLOPT_USERAGENT, "outreach-reporter/1", errstr, errstr_size);
    SETOPT(h, CURLOPT_WRITEFUNCTION, on_body, errstr, errstr_size);
    SETOPT(h, CURLOPT_WRITEDATA, h, errstr, errstr_size);
    SETOPT(h, CURLOPT_XFERINFOFUNCTION, on_progress, errstr, errstr_size);
    SETOPT(h, CURLOPT_XFERINFODATA, h, errstr, errstr_size);
    SETOPT(h, CURLOPT_NOPROGRESS, 0L, errstr, errstr_size);
    SETOPT(h, CURLOPT_SSL_VERIFYPEER, o->verify ? 1L : 0L, errstr, errstr_size);
    SETOPT(h, CURLOPT_SSL_VERIFYHOST, o->verify ? 2L : 0L, errstr, errstr_size);
    if (o->ca)
        SETOPT(h, CURLOPT_CAINFO, o->ca, errstr, errstr_size);
    if (o->cert)
        SETOPT(h, CURLOPT_SSLCERT, o->cert, errstr, errstr_size);
    if (o->key)
        SETOPT(h, CURLOPT_SSLKEY, o->key, errstr, errstr_size);
    if (o->key_password)
        SETOPT(h, CURLOPT_KEYPASSWD, o->key_password, errstr, errstr_size);
    h->https = strncmp(o->url, "https:", 6) == 0;
    h->has_cert = o->cert != NULL;
    if (o->oauth2) {
        if (o->token) {
            op_set_err(errstr, errstr_size, "a fixed token and oauth2 exclude each other");
            goto fail;
        }
        h->oa = oauth2_new(o, h, errstr, errstr_size);
        if (!h->oa)
            goto fail;
    }
    return h;
fail:
    reporter_http_destroy(h);
    return NULL;
}

void reporter_http_destroy(struct reporter_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->fixed);
    oauth2_destroy(h->oa);
    op_buf_free(&h->sent.body);
    free(h);
}

/* Is this transport error about TLS? Then the message says so first. */
static int tls_error(CURLcode c)
{
    switch (c) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
        return 1;
    default:
        return 0;
    }
}

/* One request with the current headers; fills r. Returns 0 on an HTTP answer, else -1. */
static int post_once(struct reporter_http *h, const void *body, size_t len, const char *idem_key,
                     struct reporter_http_result *r)
{
    struct curl_slist *headers = NULL;
    char line[REPORTER_HTTP_BODY_MAX];
    int rc = -1;
    CURLcode c;

    r->status = 0;
    r->retry_after_ms = -1;
    r->error[0] = 0;
    r->body.len = 0;
    r->body_total = 0;
    h->errbuf[0] = 0;
    /* The fixed headers plus this request's key, as a fresh list: the fixed one is kept. */
    for (struct curl_slist *s = h->fixed; s; s = s->next)
        if (add_header(&headers, s->data) != 0)
            goto oom;
    snprintf(line, sizeof line, "Idempotency-Key: \"%s\"", idem_key);
    if (add_header(&headers, line) != 0)
        goto oom;
    if (h->oa && h->oa->access) {
        size_t n = strlen(h->oa->access) + sizeof "Authorization: Bearer ";
        char *auth = malloc(n);
        if (!auth)
            goto oom;
        snprintf(auth, n, "Authorization: Bearer %s", h->oa->access);
        int arc = add_header(&headers, auth);
        free_secret(auth);
        if (arc != 0)
            goto oom;
    }
    if ((c = curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers)) != CURLE_OK ||
        (c = curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body)) != CURLE_OK ||
        (c = curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len)) != CURLE_OK) {
        snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(c));
        goto cleanup;
    }
    c = curl_easy_perform(h->curl);
    long connects = 0;
    if (curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
        r->new_connections += connects;
    if (c != CURLE_OK) {
        /* A refused client certificate shows only when reading the answer (TLS 1.3). */
        int tls =
            tls_error(c) || (h->https && (strstr(h->errbuf, "SSL") || strstr(h->errbuf, "TLS")));
        int wants_cert = !h->has_cert && strstr(h->errbuf, "certificate required");
        op_set_err(r->error, sizeof r->error, "%s%s%s%s%s", tls ? "TLS: " : "",
                   curl_easy_strerror(c), h->errbuf[0] ? ": " : "", h->errbuf,
                   wants_cert
                       ? " (the endpoint wants a client certificate: set tls.cert and tls.key)"
                       : "");
        goto cleanup;
    }
    if ((c = curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status)) != CURLE_OK) {
        snprintf(r->error, sizeof r->error, "response code: %s", curl_easy_strerror(c));
        r->status = 0;
        goto cleanup;
    }
    curl_off_t ra = -1;
    if (curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
        r->retry_after_ms = (int64_t)ra * 1000;
    rc = 0;
    goto cleanup;
oom:
    snprintf(r->error, sizeof r->error, "out of memory");
cleanup:
    /* Unhook the request's list before freeing it: the handle outlives it. */
    (void)curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL); /* cannot fail for NULL */
    for (struct curl_slist *s = headers; s; s = s->next)
        if (strncmp(s->data, "Authorization:", 14) == 0)
            memset(s->data, 0, strlen(s->data));
    curl_slist_free_all(headers);
    return rc;
}

int reporter_http_post(struct reporter_http *h, const void *body, size_t len, const char *idem_key,
                       const atomic_int *stop, struct reporter_http_result *r)
{
    int rc = -1;
    r->status = 0;
    r->retry_after_ms = -1;
    r->error[0] = 0;
    r->body.len = 0;
    r->body_total = 0;
    r->new_connections = 0;
    r->elapsed_ms = 0;
    r->token_requests = 0;
    h->stop = stop;
    h->r = r;
    int64_t t0 = op_clock_mono_ms();
    for (int round = 0; round < 2; round++) {
        if (h->oa && (!h->oa->access || op_clock_mono_ms() >= h->oa->until_ms)) {
            r->status = 0;
            if (oauth2_fetch(h, r) != 0)
                break;
        }
        rc = post_once(h, body, len, idem_key, r);
        if (rc != 0 || !h->oa || r->status != 401)
            break;
        /* 401: the token was revoked or expired early. Fetched just now: the next attempt
         * (after the backoff) asks again; cached: a fresh one is tried at once, once. */
        free_secret(h->oa->access);
        h->oa->access = NULL;
        if (r->token_requests > 0 || (stop && atomic_load(stop)))
            break;
    }
    r->elapsed_ms = op_clock_mono_ms() - t0;
    h->r = NULL;
    h->stop = NULL;
    return rc;
}

/* ---- the engine's transport --------------------------------------------------------------- */

static void http_send(void *impl, const struct reporter_send_args *a,
                      struct reporter_send_result *out)
{
    struct reporter_http *h = impl;
    struct reporter_http_result *res = &h->sent;
    reporter_http_post(h, a->gz->data, a->gz->len, a->batch->key, a->stop, res);
    memset(out, 0, sizeof *out);
    out->new_connections = res->new_connections;
    out->token_requests = res->token_requests;
    out->status = res->status;
    out->retry_after_ms = res->retry_after_ms;
    if (atomic_load(a->stop) && res->status == 0) {
        out->aborted = 1; /* left uncommitted */
        return;
    }
    out->verdict = reporter_classify(res->status);
    if (out->verdict == REPORTER_DELIVERED) {
        op_log(OP_LOG_DEBUG, "endpoint %s: batch %s: HTTP %ld in %" PRId64 " ms%s", a->endpoint,
               a->batch->key, res->status, res->elapsed_ms,
               res->new_connections ? " (new connection)" : "");
        return;
    }
    if (res->status) {
        char body[200];
        size_t bl = res->body.len < sizeof body - 1 ? res->body.len : sizeof body - 1;
        memcpy(body, res->body.data ? (const char *)res->body.data : "", bl);
        body[bl] = 0;
        snprintf(out->why, sizeof out->why, "HTTP %ld %s", res->status, body);
        out->detail = res->body.data;
        out->detail_len = res->body.len;
    } else {
        snprintf(out->why, sizeof out->why, "%s", res->error);
        out->detail = res->error;
        out->detail_len = strlen(res->error);
    }
}

static void http_close(void *impl)
{
    reporter_http_destroy(impl);
}

const struct reporter_transport reporter_http_transport = {
    .kind = "http", .gzip = 1, .send = http_send, .close = http_close};
