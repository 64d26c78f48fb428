/* outreach-reporter's engine: per configured endpoint, one thread with its own consumer group
 * on the rollups topic, cutting per-partition batches and committing their offsets only
 * once the endpoint (or its DLQ) has them. main.c only parses arguments and signals. */
#ifndef REPORTER_REPORTER_H
#define REPORTER_REPORTER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* The program's configuration table (our keys; everything else goes to librdkafka). */
extern const struct op_conf_def reporter_conf_defs[];

/* librdkafka settings the reporter needs unless the operator overrides them; applied to conf
 * before -F and -X. Returns 0 or -1 with errstr. */
int reporter_conf_defaults(struct op_conf *conf, char *errstr, size_t errstr_size);

/* Counters of one endpoint; written by its thread only. */
struct reporter_endpoint_stats {
    uint64_t batches;     /* delivered (2xx or file written) */
    uint64_t rollups;     /* rollups in delivered batches */
    uint64_t superseded;  /* older revisions left out of batches */
    uint64_t attempts;    /* requests or file writes */
    uint64_t retries;     /* failed attempts that will be retried */
    uint64_t rejected;    /* batches put in the DLQ (4xx or retries exhausted) */
    uint64_t poison;      /* undecodable messages put in the DLQ */
    uint64_t connections; /* connections opened (connection reuse when far below attempts) */
    uint64_t commits, commit_failures;
    int64_t last_success_ms; /* Unix ms of the last delivered batch, 0 before the first */
    uint64_t token_requests; /* OAuth2 token requests */
    uint64_t queued;         /* messages received and not yet acknowledged (gauge) */
};

/* How often each endpoint refreshes its consumer lag (librdkafka's cached watermarks). */
#define REPORTER_LAG_INTERVAL_MS 2000

/* Consumer lag of one partition: end (the high watermark) minus base (the offset of the first
 * message not yet delivered, or the position when everything received was delivered); -1 when
 * either is unknown (negative), 0 when base is at or past end. */
int64_t reporter_lag(int64_t end, int64_t base);

struct reporter;

/* Builds the reporter from a configuration (which must outlive it): validates every endpoint
 * (name, URL, TLS files, batch settings) and creates its consumer, codec and HTTP handle.
 * curl_global_init must have been called. Returns NULL with errstr on a bad setting. */
struct reporter *reporter_new(struct op_conf *conf, char *errstr, size_t errstr_size);

/* Runs every endpoint in its own thread until *run becomes 0 (then each abandons its
 * uncommitted batch, which is re-sent with the same Idempotency-Key after a restart, and
 * closes its consumer: a static member, it keeps its partitions for its next start) or an
 * endpoint hits a fatal Kafka error. Returns 0 on a clean stop, 1
 * after a fatal error. */
int reporter_run(struct reporter *r, volatile sig_atomic_t *run,
                 volatile sig_atomic_t *reload_flag);

/* When *reload_flag is set, run() calls fn for a fresh configuration (engine-owned after the
 * call; NULL keeps the running one) and applies log.level and every new endpoint.NAME.url:
 * its thread starts delivering at once. Changed or removed endpoints need a restart. */
void reporter_set_reload(struct reporter *r, struct op_conf *(*fn)(void *opaque), void *opaque);

void reporter_destroy(struct reporter *r);

/* Number of endpoints, and the name and counters of the i-th (stable once run returned). */
size_t reporter_endpoint_count(const struct reporter *r);
const char *reporter_endpoint_name(const struct reporter *r, size_t i);
const struct reporter_endpoint_stats *reporter_endpoint_stats(const struct reporter *r, size_t i);

/* 1 if name can name an endpoint: 1..REPORTER_NAME_MAX of [A-Za-z0-9_-]. */
int reporter_name_valid(const char *name);

#endif
