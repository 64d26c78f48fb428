/* outreach-sink's HTTP side (libmicrohttpd, a thread per connection): POST /rollups with
 * bearer auth, gunzip and Idempotency-Key, the read-only views, and failure injection. */
#ifndef SINK_SERVER_H
#define SINK_SERVER_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"

/* Injected failures for the next `count` POST /rollups requests (count 0: until reset). */
enum sink_fail_mode {
    SINK_FAIL_OK = 0, /* answer normally */
    SINK_FAIL_503,    /* 503 with Retry-After: 1, nothing stored */
    SINK_FAIL_400,    /* 400, nothing stored */
    SINK_FAIL_SLOW,   /* store, then wait delay_ms before answering */
    SINK_FAIL_DROP    /* read the request, store nothing, close without an answer */
};

/* "ok", "503", "400", "slow", "drop" → mode. 0 or -1. */
int sink_fail_mode_parse(const char *s, enum sink_fail_mode *mode);
const char *sink_fail_mode_name(enum sink_fail_mode mode);

#define SINK_INFLATES_DEFAULT 4

/* Decompresses one gzip (or zlib) stream into out. 0, -1 bad data, -2 over max bytes,
 * -3 out of memory. */
int sink_gunzip(const unsigned char *in, size_t len, struct op_buf *out, size_t max);

struct sink_server_opts {
    const char *listen;   /* HOST:PORT or [V6]:PORT; port 0 picks a free one */
    const char *state;    /* state log file, NULL: memory only */
    const char *token;    /* required bearer token, NULL: no auth */
    const char *dump_dir; /* every POST /rollups body is saved here as received, or NULL */
    const char *tls_cert, *tls_key; /* PEM files: serve HTTPS */
    size_t max_keys;                /* Idempotency-Keys remembered */
    int insecure_listen;            /* serve a non-loopback address without a token (warns) */
    int enable_control;             /* serve /control (failure injection); 404 otherwise */
    int max_inflates;               /* gzip bodies inflated at once (0: SINK_INFLATES_DEFAULT) */
    size_t max_rollups;             /* rollup keys kept at most (0: no cap) */
    size_t max_audit;               /* audit entries kept (0: SINK_AUDIT_MAX_DEFAULT) */
    const char *regions;            /* region table CSV, NULL: the built-in copy */
    enum sink_fail_mode fail_mode;
    long fail_count;
    long fail_delay_ms;
};

struct sink_server;

/* Opens the state, binds and starts serving; refuses a non-loopback address without a token
 * unless insecure_listen; writes `listening on ADDR:PORT` (the real port)
 * as one line to `announce` and flushes it. NULL with errstr on failure. */
struct sink_server *sink_server_start(const struct sink_server_opts *o, FILE *announce,
                                      char *errstr, size_t errstr_size);

/* Stops accepting, waits for the requests in progress (a slow one is cut short), closes the
 * state. NULL-safe. */
void sink_server_stop(struct sink_server *s);

/* The port actually bound. */
unsigned sink_server_port(const struct sink_server *s);

#endif
