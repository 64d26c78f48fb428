/* outreach-sink's HTTP server internals: the server's state and one request's, shared by
 * server.c (libmicrohttpd, authorisation, body limits, answers, listening) and routes.c
 * (what each URL does). */
#ifndef SINK_SERVER_INTERNAL_H
#define SINK_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "audit.h"
#include "buf.h"
#include "regions.h"
#include "server.h"
#include "store.h"

struct sink_server {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t lock;
    struct sink_store *store;
    struct sink_audit *audit;   /* POST /audit entries (memory only, bounded) */
    struct op_regions *regions; /* rollups must name one of these */
    char *token;
    char *dump_dir;
    char *tls_cert, *tls_key; /* PEM text, kept while the daemon runs */
    enum sink_fail_mode mode;
    long remaining; /* requests left in mode; 0: until reset */
    long delay_ms;
    atomic_int stopping;
    atomic_int inflating; /* gzip bodies being inflated now, at most max_inflates */
    int max_inflates;
    int enable_control;
    uint64_t requests, connections, injected, dumps;
    int64_t started_ms;
};

/* One request: its body as it arrives. */
struct req {
    struct op_buf body;
    int too_large;
    int answered; /* refused on its headers: the body is not read */
    int64_t t0;
};

/* server.c: answers and the request log line. */
/* Queues an answer; takes body's storage. extra_name/value: one more header or NULL. */
enum MHD_Result sink_respond(struct MHD_Connection *c, unsigned status, const char *type,
                             struct op_buf *body, const char *extra_name, const char *extra_value);
enum MHD_Result sink_respond_json(struct MHD_Connection *c, unsigned status, json_t *j,
                                  const char *extra_name, const char *extra_value);
enum MHD_Result sink_respond_error(struct MHD_Connection *c, unsigned status, const char *msg,
                                   const char *extra_name, const char *extra_value);
void sink_log_request(struct MHD_Connection *c, const char *method, const char *url,
                      unsigned status, const struct req *rq, const char *detail);

/* routes.c: answers a request whose headers passed and whose body is read. */
enum MHD_Result sink_dispatch(struct sink_server *s, struct MHD_Connection *c, const char *url,
                              const char *method, struct req *rq);

#endif
