/* The health and metrics endpoint every daemon can serve (libmicrohttpd, own thread):
 * GET /healthz (alive), /readyz (200 only when the ready callback says so), /metrics
 * (Prometheus text format 0.0.4 written by the metrics callback). */
#ifndef OP_HEALTH_H
#define OP_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Both callbacks run on the HTTP thread: they must only read data the daemon publishes in
 * a thread-safe way (e.g. a snapshot under a mutex). */
typedef int (*op_health_ready_cb)(void *opaque, char *why, size_t why_size);
typedef void (*op_health_metrics_cb)(void *opaque, struct op_buf *out);

struct op_health;

/* Listens on `listen` ("HOST:PORT", port 0 = kernel-chosen). NULL with errstr on failure. */
struct op_health *op_health_start(const char *listen, op_health_ready_cb ready,
                                  op_health_metrics_cb metrics, void *opaque, char *errstr,
                                  size_t errstr_size);

/* The port actually bound. */
int op_health_port(const struct op_health *h);

/* Stops the server and frees it. NULL is fine. */
void op_health_stop(struct op_health *h);

/* Prometheus text helpers: "# HELP" and "# TYPE" once per metric, then samples. labels is
 * NULL or the inside of the braces, e.g. "partition=\"3\"". */
void op_prom_header(struct op_buf *out, const char *name, const char *type, const char *help);
void op_prom_sample(struct op_buf *out, const char *name, const char *labels, double value);
void op_prom_sample_u64(struct op_buf *out, const char *name, const char *labels, uint64_t v);

#endif
