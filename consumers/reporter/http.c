/* libcurl for the reporter: every CURLcode checked, CURLOPT_NOSIGNAL (threads), the handle
 * kept between requests so its connection cache keeps the endpoint's connection open. */
#include "http.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

struct reporter_http {
    CURL *curl;
    struct curl_slist *fixed; /* headers sent with every request */
    char errbuf[CURL_ERROR_SIZE];
    const atomic_int *stop;
    struct reporter_http_result *r; /* the result being filled */
};

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

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
            set_err(errstr, errstr_size, "%s: %s", #opt, curl_easy_strerror(c_));                  \
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

struct reporter_http *reporter_http_new(const struct reporter_http_opts *o, char *errstr,
                                        size_t errstr_size)
{
    struct reporter_http *h = calloc(1, sizeof *h);
    if (!h) {
        set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    h->curl = curl_easy_init();
    if (!h->curl) {
        set_err(errstr, errstr_size, "curl_easy_init failed");
        goto fail;
    }
    if (add_header(&h->fixed, "Content-Type: application/json") ||
        add_header(&h->fixed, "Content-Encoding: gzip") ||
        add_header(&h->fixed, "Accept: application/json") ||
        /* No 100-continue round trip: the endpoint answers the whole request anyway. */
        add_header(&h->fixed, "Expect:")) {
        set_err(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if (o->token) {
        size_t n = strlen(o->token) + sizeof "Authorization: Bearer ";
        char *line = malloc(n);
        if (!line) {
            set_err(errstr, errstr_size, "out of memory");
            goto fail;
        }
        snprintf(line, n, "Authorization: Bearer %s", o->token);
        int rc = add_header(&h->fixed, line);
        memset(line, 0, n);
        free(line);
        if (rc) {
            set_err(errstr, errstr_size, "out of memory");
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
    free(h);
}

int reporter_http_post(struct reporter_http *h, const void *body, size_t len, const char *idem_key,
                       const atomic_int *stop, struct reporter_http_result *r)
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
    r->new_connections = 0;
    r->elapsed_ms = 0;
    h->errbuf[0] = 0;
    h->stop = stop;
    h->r = r;
    int64_t t0 = op_clock_mono_ms();

    /* The fixed headers plus this request's key, as a fresh list: the fixed one is kept. */
    for (struct curl_slist *s = h->fixed; s; s = s->next)
        if (add_header(&headers, s->data) != 0)
            goto oom;
    snprintf(line, sizeof line, "Idempotency-Key: \"%s\"", idem_key);
    if (add_header(&headers, line) != 0)
        goto oom;
    if ((c = curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers)) != CURLE_OK ||
        (c = curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body)) != CURLE_OK ||
        (c = curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len)) != CURLE_OK) {
        snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(c));
        goto cleanup;
    }
    c = curl_easy_perform(h->curl);
    r->elapsed_ms = op_clock_mono_ms() - t0;
    long connects = 0;
    if (curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
        r->new_connections = connects;
    if (c != CURLE_OK) {
        snprintf(r->error, sizeof r->error, "%s%s%s", curl_easy_strerror(c),
                 h->errbuf[0] ? ": " : "", h->errbuf);
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
    curl_slist_free_all(headers);
    h->r = NULL;
    h->stop = NULL;
    return rc;
}
