/* outreach-reporter's engine state, shared by its parts (not by main.c or the tests):
 *   config.c   the settings table, endpoint.NAME.* parsing and validation, reporter_new
 *   deliver.c  the batch in flight: cut, attempt through the endpoint's transport, retries
 *              with back-off, dead-lettering, commit after delivery
 *   dlq.c      the endpoint's DLQ producer and topic, poison messages and rejected batches
 *   reporter.c the endpoint threads: consumer, rebalances, partition queues, lag, reload, run
 *   metrics.c  /readyz and /metrics from the endpoints' snapshots
 * One thread per endpoint owns everything in its struct reporter_endpoint except snap*,
 * which the HTTP thread reads under r->lock. */
#ifndef REPORTER_ENGINE_H
#define REPORTER_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "batch.h"
#include "buf.h"
#include "codec.h"
#include "conf.h"
#include "kafka.h"
#include "registry.h"
#include "regions.h"
#include "reporter.h"
#include "service.h"
#include "transport.h"

/* The plain keys of reporter_conf_defs (config.c), bound once per configuration
 * (op_conf_bind); strings point into that configuration. */
struct reporter_settings {
    const char *rollups_topic, *group_prefix, *instance_id, *dlq_topic_prefix, *regions_file,
        *health_listen;
    int dlq_replication;
    long long backoff_ms, backoff_max_ms, retry_after_max_ms, status_interval_ms;
};

/* The endpoint.NAME.* keys of one endpoint (op_conf_bind_instance); strings point into the
 * configuration. ca, cert and key are the old names of tls.ca, tls.cert and tls.key. */
struct reporter_endpoint_settings {
    const char *url, *token, *tls_ca, *tls_cert, *tls_key, *tls_key_password, *ca, *cert, *key;
    const char *oauth2_token_url, *oauth2_client_id, *oauth2_client_secret, *oauth2_scope,
        *oauth2_client_auth, *audit_topic;
    bool tls_verify;
    int batch_size, max_delay_ms, timeout_ms, max_retries, gzip_level;
};

/* Messages received from one partition and not yet in a batch, oldest first. */
struct part {
    struct reporter_msg *q;
    size_t n, cap;
    int64_t next; /* offset after the last message taken, -1 before the first */
    int assigned, paused;
    int64_t committed; /* the group's committed offset as last known, -1: not known */
    int64_t lag;       /* as last computed, -1: unknown */
};

/* The batch being delivered (one at a time per endpoint, so commits stay in order). */
struct inflight {
    int active;
    int32_t partition;
    struct reporter_msg *msgs;
    size_t n;
    struct reporter_batch batch;
    struct op_buf gz;
    unsigned attempt; /* failed attempts so far */
    int64_t next_at;  /* monotonic ms of the next attempt */
    int64_t cut_ms;
    int poison_done;    /* its undecodable messages are in the DLQ */
    int reject;         /* goes to the DLQ instead of the endpoint */
    long reject_status; /* 0: transport errors until max.retries */
    char reject_reason[32];
    struct op_buf reject_body;
};

struct reporter_endpoint {
    struct reporter *r;
    struct op_conf *conf; /* the configuration it was set up from (a reload brings a newer) */
    char name[REPORTER_NAME_MAX + 8];      /* NAME, or NAME.audit for its audit stream */
    char cname[REPORTER_NAME_MAX + 1];     /* NAME: its endpoint.NAME.* settings */
    struct reporter_endpoint_settings set; /* endpoint.NAME.* of conf */
    int audit;                             /* the audit stream of endpoint cname */
    const char *topic;                     /* rollups.topic, or endpoint.NAME.audit.topic */
    char audit_url[1024];
    const char *url;
    char url_shown[512]; /* url without user:password@, for messages (op_url_redact) */
    const struct reporter_transport *tp; /* its kind's table; NULL until set up */
    void *tp_impl;                       /* the transport's handle */
    char group[512], dlq_topic[512], client_id[128];
    char member_id[256]; /* group.instance.id: static membership, see reporter_consumer_open() */
    struct op_codec *codec;
    struct op_registry *registry; /* schema.registry.url: Confluent ids of rollups; or NULL */
    rd_kafka_t *consumer, *producer;
    int dlq_ready;
    struct part *parts;
    int n_parts;
    struct inflight fl;
    uint64_t rng;
    pthread_t thread;
    int started;
    atomic_int done;
    int fatal;
    int64_t last_status_ms;
    char last_error[1024];
    struct reporter_endpoint_stats stats;
    int assigned_once; /* a (possibly empty) assignment arrived: the group is joined */
    /* What the HTTP thread may read: copies refreshed by this endpoint's thread under r->lock. */
    struct reporter_endpoint_stats snap;
    int snap_ready;
    int64_t *snap_lag; /* per partition, -1: not assigned or unknown */
    int snap_n_lag;
    int oauth2;          /* uses OAuth2 client credentials */
    int64_t last_lag_ms; /* monotonic ms of the last lag refresh */
};

struct reporter {
    struct op_conf *conf;
    struct reporter_settings set; /* of conf */
    struct op_conf **reloaded;    /* configurations of SIGHUP reloads, kept for their endpoints */
    size_t n_reloaded;
    struct op_conf *(*reload_fn)(void *opaque);
    void *reload_opaque;
    struct op_regions *regions;
    char instance[OP_KAFKA_INSTANCE_MAX + 1]; /* instance.id, resolved once at start */
    struct reporter_endpoint **eps;
    size_t n_eps;
    atomic_int stop;
    pthread_mutex_t lock;       /* guards every endpoint's snap and snap_ready */
    struct op_service *service; /* health endpoint, sd_notify, watchdog */
};

/* ---- config.c --------------------------------------------------------------------------- */

/* An endpoint of r with the endpoint.CNAME.* settings of conf (CNAME: a valid name), set up
 * later: endpoint CNAME, or with audit its audit stream CNAME.audit. NULL when out of memory. */
struct reporter_endpoint *reporter_endpoint_alloc(struct reporter *r, struct op_conf *conf,
                                                  const char *cname, int audit);
/* Appends ep to r->eps (the caller holds r->lock once the HTTP thread runs). 0 or -1. */
int reporter_endpoint_append(struct reporter *r, struct reporter_endpoint *ep);
struct reporter_endpoint *reporter_endpoint_find(struct reporter *r, const char *name);
/* Validates endpoint ep->name's settings, opens its transport, codec and consumer; set: the
 * settings of ep->conf (its group.prefix and dlq.topic.prefix). 0, or -1 with errstr (the
 * caller destroys ep). */
int reporter_endpoint_setup(struct reporter_endpoint *ep, const struct reporter_settings *set,
                            char *errstr, size_t errstr_size);

/* ---- deliver.c -------------------------------------------------------------------------- */

/* Takes the oldest ready batch out of its partition queue into flight (if one is ready). */
void reporter_cut_batch(struct reporter_endpoint *ep);
/* One delivery attempt of the batch in flight: commits it once delivered or dead-lettered,
 * otherwise schedules the next attempt. */
void reporter_attempt(struct reporter_endpoint *ep);
void reporter_inflight_free(struct inflight *fl);
/* After a failed send (v: RETRY or REJECTED) of a batch that failed attempt times before:
 * NULL to retry it, else the DLQ's dlq.reason: "rejected" (REJECTED), "retries-exhausted"
 * (RETRY when max_retries > 0 retries were spent; 0 retries forever). */
const char *reporter_dlq_reason(enum reporter_verdict v, unsigned attempt, long max_retries);

/* ---- dlq.c ------------------------------------------------------------------------------ */

/* Dead-letter the undecodable messages of the batch in flight / the batch itself (value: its
 * JSON, headers: why). 0 once the broker has them, -1 with ep->last_error (retry later). */
int reporter_dlq_poison(struct reporter_endpoint *ep);
int reporter_dlq_batch(struct reporter_endpoint *ep);
/* Flushes (up to 10 s) and destroys the DLQ producer, if any. */
void reporter_dlq_close(struct reporter_endpoint *ep);

/* ---- reporter.c ------------------------------------------------------------------------- */

/* Creates ep's consumer (static member of its group; rebalances call back into the engine).
 * 0, or -1 with errstr. */
int reporter_consumer_open(struct reporter_endpoint *ep, char *errstr, size_t errstr_size);
/* Pauses (1) or resumes (0) fetching partition p. */
void reporter_pause(struct reporter_endpoint *ep, int32_t p, int pause);

/* ---- metrics.c -------------------------------------------------------------------------- */

/* op_service callbacks (opaque: the struct reporter). */
int reporter_ready_cb(void *opaque, char *why, size_t why_size);
void reporter_metrics_cb(void *opaque, struct op_buf *out);

#endif
