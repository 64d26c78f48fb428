/* One event inside the open transaction: decode, validate, count (or correct) it, or write
 * it to the dead-letter topic; and the audit entry of an applied correction. */
#include "err.h"
#include "aggregator.h"
#include "internal.h"
#include "clock.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "authz.h"
#include "cli.h"
#include "codec.h"
#include "health.h"
#include "service.h"
#include "event.h"
#include "kafka.h"
#include "log.h"
#include "regions.h"
#include "state.h"
#include "store.h"

#include "audit.h"
#include "correct.h"

static int dead_letter(struct aggregator *a, const rd_kafka_message_t *m, const char *reason,
                       const char *detail)
{
    char part[16], off[24], ts[24];
    snprintf(part, sizeof part, "%" PRId32, m->partition);
    snprintf(off, sizeof off, "%" PRId64, m->offset);
    snprintf(ts, sizeof ts, "%" PRId64, op_clock_wall_ms());
    /* Keep the event's own headers (type, dlq.replayed of a replay) beside ours. */
    rd_kafka_headers_t *orig = NULL, *h;
    if (rd_kafka_message_headers(m, &orig) == 0 && orig) {
        h = rd_kafka_headers_copy(orig);
        rd_kafka_header_remove(h, "dlq.reason");
        rd_kafka_header_remove(h, "dlq.error");
    } else
        h = rd_kafka_headers_new(6);
    rd_kafka_header_add(h, "dlq.reason", -1, reason, -1);
    rd_kafka_header_add(h, "dlq.error", -1, detail, -1);
    rd_kafka_header_add(h, "dlq.source.topic", -1, rd_kafka_topic_name(m->rkt), -1);
    rd_kafka_header_add(h, "dlq.source.partition", -1, part, -1);
    rd_kafka_header_add(h, "dlq.source.offset", -1, off, -1);
    rd_kafka_header_add(h, "dlq.time", -1, ts, -1);
    op_log(OP_LOG_WARNING, "dead letter %s [%" PRId32 "] @%" PRId64 ": %s: %s",
           rd_kafka_topic_name(m->rkt), m->partition, m->offset, reason, detail);
    if (agg_produce(a, a->set.dlq_topic, RD_KAFKA_PARTITION_UA, m->key, m->key_len, m->payload,
                    m->len, h) != 0)
        return -1;
    a->stats.dead_lettered++;
    return 0;
}

/* ---- events ----------------------------------------------------------------------------- */

/* The audit entry of the correction just applied (a->counted), in the open transaction. */
static int produce_audit(struct aggregator *a, const rd_kafka_message_t *m,
                         const struct op_event *ev)
{
    char err[256];
    struct agg_audit_source src = {m->partition, m->offset, op_clock_wall_ms()};
    a->buf.len = 0;
    if (agg_audit_write(&a->model, a->frame, a->audit_schema, &a->audit_value, ev, &a->counted,
                        &src, &a->buf, err, sizeof err) != 0) {
        op_log(OP_LOG_ERR, "%s", err);
        return -1;
    }
    op_log(OP_LOG_INFO, "event %s: correction %" PRId32 "%s applied (%zu rollups changed)",
           ev->event_id, ev->correction, ev->retracted ? " (retraction)" : "", a->counted.touch.n);
    return agg_produce(a, a->set.audit_topic, RD_KAFKA_PARTITION_UA, ev->event_id,
                       strlen(ev->event_id), a->buf.data, a->buf.len, NULL);
}

/* Processes one event inside the open transaction. Returns 0, or -1 when producing failed
 * (the transaction must abort). */
int agg_handle(struct aggregator *a, rd_kafka_message_t *m)
{
    int32_t p = m->partition;
    if (p < 0 || p >= a->partitions || !a->states[p]) {
        op_log(OP_LOG_WARNING, "message from unassigned partition %" PRId32 " ignored", p);
        return 0;
    }
    struct agg_state *s = a->states[p];
    a->stats.events_read++;
    char err[512], field[64], reason[400];
    avro_value_t *v;
    const struct op_schema *reader;
    int rc = op_codec_decode(a->codec, m->payload, m->payload ? m->len : 0, &v, NULL, &reader, err,
                             sizeof err);
    if (rc != 0) {
        rc = dead_letter(a, m, op_codec_err_name(rc), err);
        goto done;
    }
    struct op_event ev;
    if (op_event_from_value(&ev, reader, v, field, sizeof field, reason, sizeof reason) != 0) {
        snprintf(err, sizeof err, "%s: %s", field, reason);
        rc = dead_letter(a, m, "invalid", err);
        goto done;
    }
    struct op_event_rules rules = {a->regions, a->authz, op_clock_wall_ms(), a->max_future_ms};
    int verdict = op_event_validate(&ev, &rules, field, sizeof field, reason, sizeof reason);
    if (verdict != OP_EVENT_VALID) {
        snprintf(err, sizeof err, "%s: %s", field, reason);
        rc = dead_letter(a, m, verdict == OP_EVENT_UNAUTHORIZED ? "unauthorized" : "invalid", err);
        goto done;
    }
    int64_t now = op_clock_wall_ms();
    struct agg_count_rules crules = {a->authz, a->forgotten_before_ms, a->max_future_ms};
    size_t dirty_before = s->n_dirty;
    if (agg_count(&a->model, s, &ev, now, &crules, &a->counted) != 0) {
        agg_store_failed(a, "dedup or rollup look-up (or out of memory)");
        return -1;
    }
    a->n_dirty += s->n_dirty - dirty_before;
    /* The id and its contribution reach the seen topic with the transaction's batch
     * (produce_seen). */
    switch (a->counted.outcome) {
    case AGG_COUNTED:
        a->stats.events_counted++;
        break;
    case AGG_DUPLICATE:
        a->stats.duplicates++;
        op_log(OP_LOG_DEBUG, "duplicate event_id %s (correction %" PRId32 ") ignored", ev.event_id,
               ev.correction);
        break;
    case AGG_STALE:
        a->stats.stale++;
        op_log(OP_LOG_INFO,
               "stale: event %s correction %" PRId32 " arrived after correction %" PRId32
               " was applied; ignored",
               ev.event_id, ev.correction, a->counted.from);
        break;
    case AGG_EXPIRED:
        a->stats.expired++;
        rc = dead_letter(a, m, "correction-expired", a->counted.detail);
        break;
    case AGG_UNAUTHORIZED:
        rc = dead_letter(a, m, "unauthorized", a->counted.detail);
        break;
    case AGG_TYPE_CHANGED:
        rc = dead_letter(a, m, "invalid", a->counted.detail);
        break;
    case AGG_CORRECTED:
    case AGG_RETRACTED:
        if (a->counted.outcome == AGG_CORRECTED)
            a->stats.corrections++;
        else
            a->stats.retractions++;
        if (a->counted.from < 0) /* nothing of it counted before: it is counted now */
            a->stats.events_counted++;
        rc = produce_audit(a, m, &ev);
        break;
    }
done:
    a->positions[p] = m->offset + 1;
    return rc;
}
