/* outreach-reporter's /readyz and /metrics: read from the snapshots each endpoint thread
 * publishes under r->lock (engine.h), never from the live counters. */
#include "engine.h"

#include <stdio.h>

#include "health.h"

int reporter_ready_cb(void *opaque, char *why, size_t why_size)
{
    struct reporter *r = opaque;
    const char *waiting = NULL;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_eps && !waiting; i++)
        if (!r->eps[i]->snap_ready)
            waiting = r->eps[i]->name;
    if (waiting)
        snprintf(why, why_size, "not ready: endpoint %s has not joined its consumer group",
                 waiting);
    pthread_mutex_unlock(&r->lock);
    return waiting == NULL;
}

void reporter_metrics_cb(void *opaque, struct op_buf *out)
{
    struct reporter *r = opaque;
    static const char *const results[] = {"ok", "failed", "rejected"};
    char labels[REPORTER_NAME_MAX + 64];
    pthread_mutex_lock(&r->lock);
    op_prom_header(out, "outreach_reporter_pushes_total", "counter",
                   "delivery attempts: ok (2xx or file written), failed (retried), rejected "
                   "(dead-lettered)");
    for (size_t i = 0; i < r->n_eps; i++) {
        const struct reporter_endpoint_stats *st = &r->eps[i]->snap;
        const uint64_t v[] = {st->batches, st->retries, st->rejected};
        for (int k = 0; k < 3; k++) {
            snprintf(labels, sizeof labels, "endpoint=\"%s\",result=\"%s\"", r->eps[i]->name,
                     results[k]);
            op_prom_sample_u64(out, "outreach_reporter_pushes_total", labels, v[k]);
        }
    }
    op_prom_header(out, "outreach_reporter_rollups_delivered_total", "counter",
                   "rollup records in acknowledged batches");
    for (size_t i = 0; i < r->n_eps; i++) {
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", r->eps[i]->name);
        op_prom_sample_u64(out, "outreach_reporter_rollups_delivered_total", labels,
                           r->eps[i]->snap.rollups);
    }
    op_prom_header(out, "outreach_reporter_dead_lettered_total", "counter",
                   "messages written to the endpoint's DLQ topic (rejected batches and "
                   "undecodable messages)");
    for (size_t i = 0; i < r->n_eps; i++) {
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", r->eps[i]->name);
        op_prom_sample_u64(out, "outreach_reporter_dead_lettered_total", labels,
                           r->eps[i]->snap.rejected + r->eps[i]->snap.poison);
    }
    op_prom_header(out, "outreach_reporter_last_success_timestamp_seconds", "gauge",
                   "Unix time of the last acknowledged batch (0: none since start)");
    for (size_t i = 0; i < r->n_eps; i++) {
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", r->eps[i]->name);
        op_prom_sample(out, "outreach_reporter_last_success_timestamp_seconds", labels,
                       (double)r->eps[i]->snap.last_success_ms / 1000.0);
    }
    op_prom_header(out, "outreach_reporter_consumer_lag", "gauge",
                   "rollup messages of an assigned partition not yet delivered to the endpoint "
                   "(high watermark minus the first offset not acknowledged), refreshed every "
                   "2 s");
    for (size_t i = 0; i < r->n_eps; i++)
        for (int p = 0; p < r->eps[i]->snap_n_lag; p++) {
            if (r->eps[i]->snap_lag[p] < 0)
                continue;
            snprintf(labels, sizeof labels, "endpoint=\"%s\",partition=\"%d\"", r->eps[i]->name, p);
            op_prom_sample_u64(out, "outreach_reporter_consumer_lag", labels,
                               (uint64_t)r->eps[i]->snap_lag[p]);
        }
    op_prom_header(out, "outreach_reporter_queued_messages", "gauge",
                   "messages received from Kafka and not yet acknowledged by the endpoint (its "
                   "partition queues and the batch in flight)");
    for (size_t i = 0; i < r->n_eps; i++) {
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", r->eps[i]->name);
        op_prom_sample_u64(out, "outreach_reporter_queued_messages", labels,
                           r->eps[i]->snap.queued);
    }
    op_prom_header(out, "outreach_reporter_oauth2_token_requests_total", "counter",
                   "requests to the endpoint's OAuth2 token endpoint (endpoints with oauth2 only)");
    for (size_t i = 0; i < r->n_eps; i++) {
        if (!r->eps[i]->oauth2)
            continue;
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", r->eps[i]->name);
        op_prom_sample_u64(out, "outreach_reporter_oauth2_token_requests_total", labels,
                           r->eps[i]->snap.token_requests);
    }
    int ready = 1;
    for (size_t i = 0; i < r->n_eps; i++)
        ready &= r->eps[i]->snap_ready;
    pthread_mutex_unlock(&r->lock);
    op_prom_header(out, "outreach_reporter_ready", "gauge",
                   "1 when every endpoint has joined its consumer group");
    op_prom_sample_u64(out, "outreach_reporter_ready", NULL, (uint64_t)ready);
}
