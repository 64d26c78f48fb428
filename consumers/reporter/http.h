/* outreach-reporter's HTTP client: one libcurl easy handle per endpoint (so the connection is
 * kept and reused), POSTing gzip JSON with a bearer token (fixed, or an OAuth2 client
 * credentials token it fetches and caches) and an Idempotency-Key, over TLS with an optional
 * CA file and client certificate (mutual TLS). */
#ifndef REPORTER_HTTP_H
#define REPORTER_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* At most this much of a response body is kept (for logs and the DLQ headers). */
#define REPORTER_HTTP_BODY_MAX 4096

/* OAuth2 client credentials grant (RFC 6749 section 4.4). */
struct reporter_oauth2_opts {
    const char *token_url;     /* http:// or https:// token endpoint */
    const char *client_id;     /* required */
    const char *client_secret; /* required; never logged */
    const char *scope;         /* NULL: none sent */
    int client_secret_post;    /* 1: id and secret in the form body; 0: HTTP Basic (default) */
};

/* Token lifetime kept in the cache: expires_in minus a tenth of it, at most this much. */
#define REPORTER_OAUTH2_MARGIN_MAX_MS 60000

struct reporter_http_opts {
    const char *url;             /* http:// or https:// */
    const char *token;           /* bearer token or NULL; never logged */
    const char *ca, *cert, *key; /* TLS files or NULL */
    int verify;                  /* 0 disables TLS peer and host verification (never by default) */
    long timeout_ms;             /* whole request */
    const char *key_password;    /* passphrase of key or NULL; never logged */
    /* NULL: none. Not with token. The token endpoint is reached with the same ca and verify
     * settings (not with the client certificate). */
    const struct reporter_oauth2_opts *oauth2;
};

struct reporter_http_result {
    long status;            /* HTTP status, 0 when there was no answer */
    int64_t retry_after_ms; /* from Retry-After (seconds or a date), -1 when absent */
    char error[320];        /* the transport error when status is 0 */
    struct op_buf body;     /* the first REPORTER_HTTP_BODY_MAX bytes of the answer */
    size_t body_total;      /* its full size */
    long new_connections;   /* connections opened by this request (0: one was reused) */
    int64_t elapsed_ms;
    unsigned token_requests; /* OAuth2 token requests this call made (0: the cached one) */
};

struct reporter_http;

/* Creates the handle; copies what it needs from opts. Returns NULL with errstr when libcurl
 * refuses an option (e.g. a URL scheme other than http/https). curl_global_init must have
 * been called. */
struct reporter_http *reporter_http_new(const struct reporter_http_opts *opts, char *errstr,
                                        size_t errstr_size);
void reporter_http_destroy(struct reporter_http *h);

/* POSTs len bytes of gzip JSON with `Idempotency-Key: "<idem_key>"`. With OAuth2, a token is
 * first fetched when none is cached or the cached one is about to expire; a 401 answer drops
 * the cached token and, unless this call fetched it, the request is sent once more with a
 * fresh one. A failed token request is a transport error (status 0, r->error names the token
 * endpoint and what it said). The request is aborted
 * within about a second once *stop becomes non-zero (stop may be NULL). r must be zeroed once
 * before first use; it is reset here and its body buffer reused (free it with op_buf_free).
 * Returns 0 when an HTTP answer arrived (any status), -1 on a transport error (r->error says
 * which). */
int reporter_http_post(struct reporter_http *h, const void *body, size_t len, const char *idem_key,
                       const atomic_int *stop, struct reporter_http_result *r);

#endif
