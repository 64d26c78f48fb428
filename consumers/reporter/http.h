/* outreach-reporter's HTTP client: one libcurl easy handle per endpoint (so the connection is
 * kept and reused), POSTing gzip JSON with a bearer token and an Idempotency-Key. */
#ifndef REPORTER_HTTP_H
#define REPORTER_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* At most this much of a response body is kept (for logs and the DLQ headers). */
#define REPORTER_HTTP_BODY_MAX 4096

struct reporter_http_opts {
    const char *url;             /* http:// or https:// */
    const char *token;           /* bearer token or NULL; never logged */
    const char *ca, *cert, *key; /* TLS files or NULL */
    int verify;                  /* 0 disables TLS peer and host verification (never by default) */
    long timeout_ms;             /* whole request */
};

struct reporter_http_result {
    long status;            /* HTTP status, 0 when there was no answer */
    int64_t retry_after_ms; /* from Retry-After (seconds or a date), -1 when absent */
    char error[320];        /* the transport error when status is 0 */
    struct op_buf body;     /* the first REPORTER_HTTP_BODY_MAX bytes of the answer */
    size_t body_total;      /* its full size */
    long new_connections;   /* connections opened by this request (0: one was reused) */
    int64_t elapsed_ms;
};

struct reporter_http;

/* Creates the handle; copies what it needs from opts. Returns NULL with errstr when libcurl
 * refuses an option (e.g. a URL scheme other than http/https). curl_global_init must have
 * been called. */
struct reporter_http *reporter_http_new(const struct reporter_http_opts *opts, char *errstr,
                                        size_t errstr_size);
void reporter_http_destroy(struct reporter_http *h);

/* POSTs len bytes of gzip JSON with `Idempotency-Key: "<idem_key>"`. The request is aborted
 * within about a second once *stop becomes non-zero (stop may be NULL). r must be zeroed once
 * before first use; it is reset here and its body buffer reused (free it with op_buf_free).
 * Returns 0 when an HTTP answer arrived (any status), -1 on a transport error (r->error says
 * which). */
int reporter_http_post(struct reporter_http *h, const void *body, size_t len, const char *idem_key,
                       const atomic_int *stop, struct reporter_http_result *r);

#endif
