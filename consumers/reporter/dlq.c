/* outreach-reporter's dead-letter queue: per endpoint a topic <dlq.topic.prefix>.NAME and an
 * idempotent producer, both created when first needed, that take the undecodable messages of
 * a batch and the batches the endpoint rejects (or that ran out of retries), each with
 * headers saying why. */
#include "engine.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "clock.h"
#include "log.h"

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    int *result = m->_private;
    if (result)
        *result = m->err ? (int)m->err : 0;
}

/* The DLQ producer and topic, created when first needed so a broker outage at start or an
 * endpoint that never rejects anything costs nothing. Returns 0 or -1 (retry later). */
static int dlq_ready(struct reporter_endpoint *ep)
{
    char err[512];
    if (!ep->producer) {
        const char *const settings[] = {
            "client.id", ep->client_id,        "acks",  "all",       "enable.idempotence",
            "true",      "message.timeout.ms", "30000", "linger.ms", "5",
            NULL};
        struct op_kafka_client_opts o = {.settings = settings, .opaque = ep, .dr_msg_cb = dr_cb};
        ep->producer = op_kafka_client_new(ep->conf, RD_KAFKA_PRODUCER, &o, err, sizeof err);
        if (!ep->producer) {
            snprintf(ep->last_error, sizeof ep->last_error, "DLQ producer: %s", err);
            return -1;
        }
    }
    if (!ep->dlq_ready) {
        static const char *const cfg[] = {"retention.ms", "2592000000", NULL};
        struct op_kafka_topic_spec spec = {ep->dlq_topic, 1, ep->r->set.dlq_replication, cfg};
        if (op_kafka_ensure_topics(ep->producer, &spec, 1, 30000, NULL, err, sizeof err) != 0) {
            snprintf(ep->last_error, sizeof ep->last_error, "DLQ topic: %s", err);
            return -1;
        }
        ep->dlq_ready = 1;
    }
    return 0;
}

/* Produces one message to the DLQ and waits for its acknowledgement (acks=all). Takes the
 * headers in every case. Returns 0 once the broker has it, -1 otherwise (retry later). */
static int dlq_produce(struct reporter_endpoint *ep, const void *key, size_t key_len,
                       const void *value, size_t len, rd_kafka_headers_t *hdrs)
{
    if (dlq_ready(ep) != 0) {
        rd_kafka_headers_destroy(hdrs);
        return -1;
    }
    int result = -1;
    rd_kafka_resp_err_t e;
    for (;;) {
        e = rd_kafka_producev(
            ep->producer, RD_KAFKA_V_TOPIC(ep->dlq_topic), RD_KAFKA_V_KEY((void *)key, key_len),
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(&result), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(ep->producer, 100);
    }
    if (e) {
        /* producev did not take the headers on failure. */
        rd_kafka_headers_destroy(hdrs);
        snprintf(ep->last_error, sizeof ep->last_error, "DLQ produce: %s", rd_kafka_err2str(e));
        return -1;
    }
    /* message.timeout.ms bounds this: the delivery report always comes. */
    while (result == -1)
        rd_kafka_poll(ep->producer, 100);
    if (result != 0) {
        snprintf(ep->last_error, sizeof ep->last_error, "DLQ delivery: %s",
                 rd_kafka_err2str((rd_kafka_resp_err_t)result));
        return -1;
    }
    return 0;
}

static void hdr_int(rd_kafka_headers_t *h, const char *name, int64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRId64, v);
    rd_kafka_header_add(h, name, -1, s, -1);
}

int reporter_dlq_poison(struct reporter_endpoint *ep)
{
    struct inflight *fl = &ep->fl;
    for (size_t i = 0; i < fl->batch.n_poison; i++) {
        const struct reporter_poison *p = &fl->batch.poison[i];
        const struct reporter_msg *m = &fl->msgs[p->index];
        rd_kafka_headers_t *h = rd_kafka_headers_new(8);
        rd_kafka_header_add(h, "dlq.reason", -1, p->reason, -1);
        rd_kafka_header_add(h, "dlq.error", -1, p->detail, -1);
        rd_kafka_header_add(h, "dlq.endpoint", -1, ep->name, -1);
        rd_kafka_header_add(h, "dlq.source.topic", -1, ep->topic, -1);
        hdr_int(h, "dlq.source.partition", fl->partition);
        hdr_int(h, "dlq.source.offset", m->offset);
        hdr_int(h, "dlq.time", op_clock_wall_ms());
        if (dlq_produce(ep, m->key, m->key_len, m->value, m->len, h) != 0)
            return -1;
        op_log(OP_LOG_WARNING,
               "endpoint %s: %s [%" PRId32 "] @%" PRId64 " is not %s (%s: %s): "
               "dead-lettered to %s",
               ep->name, ep->topic, fl->partition, m->offset,
               ep->audit ? "an audit entry" : "a rollup", p->reason, p->detail, ep->dlq_topic);
        ep->stats.poison++;
    }
    return 0;
}

int reporter_dlq_batch(struct reporter_endpoint *ep)
{
    struct inflight *fl = &ep->fl;
    rd_kafka_headers_t *h = rd_kafka_headers_new(12);
    rd_kafka_header_add(h, "dlq.reason", -1, fl->reject_reason, -1);
    hdr_int(h, "dlq.status", fl->reject_status);
    rd_kafka_header_add(h, "dlq.body", -1,
                        fl->reject_body.data ? (const char *)fl->reject_body.data : "",
                        (ssize_t)fl->reject_body.len);
    rd_kafka_header_add(h, "dlq.endpoint", -1, ep->name, -1);
    rd_kafka_header_add(h, "dlq.batch_id", -1, fl->batch.key, -1);
    rd_kafka_header_add(h, "dlq.source.topic", -1, ep->topic, -1);
    hdr_int(h, "dlq.source.partition", fl->partition);
    hdr_int(h, "dlq.source.first_offset", fl->batch.first_offset);
    hdr_int(h, "dlq.source.last_offset", fl->batch.last_offset);
    hdr_int(h, "dlq.time", op_clock_wall_ms());
    rd_kafka_header_add(h, "type", -1, "rollup-batch", -1);
    return dlq_produce(ep, fl->batch.key, strlen(fl->batch.key), fl->batch.json.data,
                       fl->batch.json.len, h);
}

void reporter_dlq_close(struct reporter_endpoint *ep)
{
    if (!ep->producer)
        return;
    rd_kafka_flush(ep->producer, 10000);
    if (rd_kafka_outq_len(ep->producer) > 0)
        op_log(OP_LOG_WARNING, "endpoint %s: %d DLQ message(s) not delivered", ep->name,
               rd_kafka_outq_len(ep->producer));
    rd_kafka_destroy(ep->producer);
    ep->producer = NULL;
}
