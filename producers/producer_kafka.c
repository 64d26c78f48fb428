/* The producer's Kafka side: delivery reports (served by the poller thread), producing with
 * back-pressure, the topic handle, and handing batches to the conversion workers and
 * accounting for them. */
#include "producer_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "kafka.h"
#include "log.h"
#include "receipt.h"

/* ---- Kafka ------------------------------------------------------------------------------ */

/* Delivery failures that re-publishing the file cannot fix. */
static int permanent(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
        return 1;
    default:
        return 0;
    }
}

/* Called with count_mu held. */
void producer_failed(struct producer *p, struct producer_file *f, long line, rd_kafka_resp_err_t e)
{
    f->n.failed++;
    if (p->sink && p->sink->receipt)
        producer_receipt_failed(p->sink->receipt, line);
    if (permanent(e))
        f->failed_permanent++;
    if (!f->first_failure[0])
        snprintf(f->first_failure, sizeof f->first_failure, "%s", rd_kafka_err2str(e));
    /* A broker outage fails every message: keep the report readable. */
    uint64_t limit = p->sink && p->sink->errors_path ? 1000 : 10;
    if (++f->failures_reported > limit)
        return;
    if (f->sheet[0]) /* .xlsx: FILE:SHEET!ROW */
        producer_diag_line(p, f, 1, "%s:%s!%ld: kafka: %s", f->name, f->sheet, line,
                           rd_kafka_err2str(e));
    else
        producer_diag_line(p, f, 1, "%s:%ld: kafka: %s", f->name, line, rd_kafka_err2str(e));
}

/* On the poller thread (or the main one in rd_kafka_flush at exit). The message leaves the
 * in-flight count last, so that producer_drain() finds it counted. */
void producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct producer *p = opaque;
    if (!m->err)
        atomic_fetch_add(&p->dr_published, 1);
    else {
        pthread_mutex_lock(&p->count_mu);
        if (p->cur)
            producer_failed(p, p->cur, (long)(uintptr_t)m->_private, m->err);
        pthread_mutex_unlock(&p->count_mu);
    }
    atomic_fetch_sub(&p->in_flight, 1);
}

void *producer_poller_main(void *arg)
{
    struct producer *p = arg;
    /* Short waits: stopping the thread at exit waits for the current one. */
    while (atomic_load(&p->poller_run))
        rd_kafka_poll(p->rk, 10);
    return NULL;
}

void producer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct producer *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        op_log(OP_LOG_ERR, "fatal producer error: %s: %s", rd_kafka_err2name(orig), buf);
        atomic_store(&p->fatal, 1);
        return;
    }
    if (op_kafka_note_error(err, reason)) { /* a wrong password or CA: retrying cannot help */
        atomic_store(&p->fatal, 1);
        return;
    }
    op_log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? OP_LOG_WARNING : OP_LOG_NOTICE,
           "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

int producer_ensure_topic(struct producer *p, int timeout_ms, char *errstr, size_t errstr_size)
{
    /* An existing topic needs no CreateTopics (which a producer-only ACL would refuse), and
     * a broker that does not answer needs no second wait. All topics are asked for: asking for
     * this one would let a broker with auto.create.topics.enable create it its own way. */
    const struct rd_kafka_metadata *md = NULL;
    /* In slices: the poller thread's error callback may meanwhile find the credentials
     * refused (p->fatal), which no longer wait can fix. */
    int64_t deadline = op_clock_mono_ms() + timeout_ms;
    rd_kafka_resp_err_t e;
    for (;;) {
        int64_t left = deadline - op_clock_mono_ms();
        e = rd_kafka_metadata(p->rk, 1, NULL, &md, left > 1000 ? 1000 : left < 1 ? 1 : (int)left);
        if (!e || atomic_load(&p->fatal) || op_clock_mono_ms() >= deadline)
            break;
    }
    if (e) {
        op_set_err(errstr, errstr_size, "metadata: %s",
                   atomic_load(&p->fatal) ? "gave up (see the error above)" : rd_kafka_err2str(e));
        return -1;
    }
    int exists = 0;
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, p->topic) && !md->topics[i].err &&
            md->topics[i].partition_cnt > 0)
            exists = 1;
    rd_kafka_metadata_destroy(md);
    if (exists)
        return 0;
    struct op_kafka_topic_spec spec = {p->topic, p->set.topic_partitions, p->set.topic_replication,
                                       NULL};
    return op_kafka_ensure_topics(p->rk, &spec, 1, timeout_ms, NULL, errstr, errstr_size);
}

/* The topic handle comes with the first message, after producer_ensure_topic: a handle
 * alone makes librdkafka ask for the topic. On the main thread, before records go out. */
void producer_topic_handle(struct producer *p)
{
    if (p->rk && !p->rkt && !p->rkt_err && !(p->rkt = rd_kafka_topic_new(p->rk, p->topic, NULL)))
        p->rkt_err = rd_kafka_last_error();
}

/* Hands one converted record to librdkafka (thread-safe), waiting for room while the poller
 * thread serves delivery reports; in flight when it returns 0. Called by the workers, and by
 * the main thread for .xlsx rows. */
rd_kafka_resp_err_t producer_produce_rec(struct producer *p, const struct producer_rec *r,
                                         long line)
{
    if (!p->rkt)
        return p->rkt_err;
    const char *type = op_event_type_name(r->type);
    rd_kafka_resp_err_t e;
    atomic_fetch_add(&p->in_flight, 1);
    for (;;) {
        e = rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(p->rkt), RD_KAFKA_V_KEY(r->key, 6),
                              RD_KAFKA_V_VALUE((void *)r->msg, r->msg_len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADER("type", type, -1),
                              RD_KAFKA_V_OPAQUE((void *)(uintptr_t)line), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || atomic_load(&p->fatal))
            break;
        op_clock_sleep_ms(1); /* back-pressure: the poller thread makes room */
    }
    if (e)
        atomic_fetch_sub(&p->in_flight, 1);
    return e;
}

/* On a worker thread: one record of a batch. */
static void produce(struct producer *p, struct producer_job *j, const struct producer_rec *r)
{
    rd_kafka_resp_err_t e = producer_produce_rec(p, r, j->line);
    j->state = e ? PRODUCER_JOB_FAILED : PRODUCER_JOB_OK;
    j->err = e;
}

/* The pool's work: convert (and publish) every record of a batch, on worker `wi`. */
void producer_convert_batch(void *arg, int wi, struct producer_batch *b)
{
    struct producer *p = arg;
    struct producer_worker *w = &p->workers[wi];
    char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX];
    int64_t now = op_clock_wall_ms();
    for (size_t i = 0; i < b->n; i++) {
        struct producer_job *j = &b->jobs[i];
        if (j->state != PRODUCER_JOB_CONVERT)
            continue;
        const char *text = (const char *)b->data.data + j->text_off;
        struct producer_rec rec;
        int rc;
        if (p->csv) {
            const struct producer_csv_header *h = p->hdr;
            size_t bad;
            const char *why;
            if (producer_csv_split(text, j->text_len, &w->cells, &bad, &why) != 0) {
                snprintf(field, sizeof field, "%s", bad < h->ncols ? h->names[bad] : "record");
                snprintf(reason, sizeof reason, "%s%s", why,
                         bad >= h->ncols ? " (past the last column)" : "");
                producer_batch_reject(b, j, field, reason);
                continue;
            }
            rc = producer_conv_csv(&w->conv, h, w->cells.cell, w->cells.len, w->cells.n, now, &rec,
                                   field, sizeof field, reason, sizeof reason);
        } else
            rc = producer_conv_json(&w->conv, text, j->text_len, now, &rec, field, sizeof field,
                                    reason, sizeof reason);
        if (rc != 0)
            producer_batch_reject(b, j, field, reason);
        else if (p->opts.check_only)
            j->state = PRODUCER_JOB_OK;
        else {
            produce(p, j, &rec);
            if (j->state == PRODUCER_JOB_OK && p->sink->receipt)
                producer_batch_set_id(b, j, rec.ev.event_id);
        }
    }
}

/* Accounts for a converted batch, in input order (the reading thread). */
static void account(struct producer *p, struct producer_file *f, struct producer_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct producer_job *j = &b->jobs[i];
        switch (j->state) {
        case PRODUCER_JOB_OK:
            if (p->opts.check_only)
                f->n.published++;
            else if (p->sink->receipt)
                producer_receipt_add(p->sink->receipt, j->line, producer_batch_id(b, j));
            break;
        case PRODUCER_JOB_FAILED:
            pthread_mutex_lock(&p->count_mu);
            producer_failed(p, f, j->line, (rd_kafka_resp_err_t)j->err);
            pthread_mutex_unlock(&p->count_mu);
            break;
        default:
            producer_reject(p, f, j->line, producer_batch_field(b, j), producer_batch_reason(b, j),
                            (const char *)b->data.data + j->raw_off, j->raw_len);
            break;
        }
    }
    producer_pool_release(p->pool, b);
}

/* Accounts for converted batches: those ready (wait 0) or all of them (wait 1). */
void producer_collect(struct producer *p, struct producer_file *f, int wait)
{
    struct producer_batch *b;
    while ((b = producer_pool_collect(p->pool, wait)) != NULL)
        account(p, f, b);
}

/* Hands the batch being cut to the workers. */
void producer_submit(struct producer *p, struct producer_file *f)
{
    struct producer_batch *b = p->batch;
    p->batch = NULL;
    if (!b)
        return;
    if (b->n == 0) {
        producer_pool_release(p->pool, b);
        return;
    }
    producer_topic_handle(p);
    producer_pool_submit(p->pool, b);
    producer_collect(p, f, 0);
}

/* The batch being cut, or a new one (accounting for finished ones while all are in use).
 * NULL when out of memory. */
struct producer_batch *producer_cut(struct producer *p, struct producer_file *f)
{
    while (!p->batch && !(p->batch = producer_pool_batch(p->pool))) {
        struct producer_batch *b = producer_pool_collect(p->pool, 1);
        if (!b)
            return NULL;
        account(p, f, b);
    }
    return p->batch;
}

/* Waits for the delivery report of every message produced so far. librdkafka fails each
 * message within message.timeout.ms; past a generous deadline the rest is purged so that no
 * report can arrive after the file was accounted for. */
void producer_drain(struct producer *p, struct producer_file *f)
{
    if (!p->rk)
        return;
    int64_t deadline = op_clock_mono_ms() + p->message_timeout_ms + 30000;
    int purged = 0;
    while (atomic_load(&p->in_flight) > 0) {
        op_clock_sleep_ms(5); /* the poller thread serves the reports */
        producer_progress(p, f, 0);
        if (!purged && op_clock_mono_ms() > deadline) {
            op_log(OP_LOG_ERR,
                   "%s: %" PRId64 " messages unacknowledged after %" PRId64 " ms: purging them",
                   f->name, atomic_load(&p->in_flight), p->message_timeout_ms + 30000);
            rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            purged = 1;
            deadline = op_clock_mono_ms() + 10000;
        } else if (purged && op_clock_mono_ms() > deadline) {
            /* Never seen; the accounting is now unreliable, so the producer must restart. */
            pthread_mutex_lock(&p->count_mu);
            f->n.failed += (uint64_t)atomic_exchange(&p->in_flight, 0);
            pthread_mutex_unlock(&p->count_mu);
            atomic_store(&p->fatal, 1);
        }
    }
}
