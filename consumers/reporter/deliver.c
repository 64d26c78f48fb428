/* outreach-reporter's delivery of one batch at a time per endpoint: the oldest ready batch
 * is cut from its partition queue, sent through the endpoint's transport (transport.h) until
 * it is delivered, retried with exponential back-off (full jitter, Retry-After honoured up to
 * retry.after.max.ms), or dead-lettered (rejected, or max.retries exhausted), and only then
 * are its offsets committed. */
#include "engine.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

void reporter_inflight_free(struct inflight *fl)
{
    for (size_t i = 0; i < fl->n; i++)
        reporter_msg_free(&fl->msgs[i]);
    free(fl->msgs);
    reporter_batch_free(&fl->batch);
    op_buf_free(&fl->gz);
    op_buf_free(&fl->reject_body);
    memset(fl, 0, sizeof *fl);
}

/* Commits the offset after the batch in flight and forgets the batch. */
static void finish(struct reporter_endpoint *ep)
{
    struct inflight *fl = &ep->fl;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, ep->topic, fl->partition)->offset =
        fl->batch.last_offset + 1;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    /* Tried even when stopping: the endpoint has the batch, so committing saves a re-send. */
    for (int attempt = 0; attempt < 3; attempt++) {
        e = rd_kafka_commit(ep->consumer, l, 0);
        if (!e || e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
            e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || e == RD_KAFKA_RESP_ERR__STATE ||
            atomic_load(&ep->r->stop))
            break;
        op_clock_sleep_ms(200 << attempt);
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        /* Harmless but noisy: after a restart or rebalance the batch is re-sent under the same
         * key and the endpoint recognises it; a later commit of this partition covers it. */
        ep->stats.commit_failures++;
        op_log(OP_LOG_WARNING, "endpoint %s: commit of %s [%" PRId32 "] @%" PRId64 ": %s", ep->name,
               ep->topic, fl->partition, fl->batch.last_offset + 1, rd_kafka_err2str(e));
    } else {
        ep->stats.commits++;
        if (fl->partition < ep->n_parts)
            ep->parts[fl->partition].committed = fl->batch.last_offset + 1;
    }
    reporter_inflight_free(fl);
}

void reporter_cut_batch(struct reporter_endpoint *ep)
{
    int64_t now = op_clock_mono_ms();
    int best = -1;
    for (int p = 0; p < ep->n_parts; p++) {
        struct part *pt = &ep->parts[p];
        if (!pt->assigned || pt->n == 0)
            continue;
        if ((long)pt->n < ep->set.batch_size && now - pt->q[0].received_ms < ep->set.max_delay_ms)
            continue;
        if (best < 0 || pt->q[0].received_ms < ep->parts[best].q[0].received_ms)
            best = p;
    }
    if (best < 0)
        return;
    struct part *pt = &ep->parts[best];
    struct inflight *fl = &ep->fl;
    size_t k = pt->n < (size_t)ep->set.batch_size ? pt->n : (size_t)ep->set.batch_size;
    fl->msgs = malloc(k * sizeof *fl->msgs);
    if (!fl->msgs) {
        op_log(OP_LOG_ERR, "endpoint %s: out of memory", ep->name);
        ep->fatal = 1;
        return;
    }
    memcpy(fl->msgs, pt->q, k * sizeof *fl->msgs);
    memmove(pt->q, pt->q + k, (pt->n - k) * sizeof *pt->q);
    pt->n -= k;
    fl->n = k;
    fl->partition = best;
    fl->active = 1;
    fl->cut_ms = now;
    fl->next_at = now;
    if (pt->paused && pt->n < (size_t)ep->set.batch_size)
        reporter_pause(ep, best, 0);
    char err[512];
    if (reporter_batch_build_kind(&fl->batch, ep->codec, ep->r->regions, ep->name, ep->topic, best,
                                  fl->msgs, fl->n, ep->audit, err, sizeof err) != 0 ||
        (fl->batch.rollups > 0 && ep->tp->gzip &&
         reporter_gzip(fl->batch.json.data, fl->batch.json.len, ep->set.gzip_level, &fl->gz) !=
             0)) {
        op_log(OP_LOG_ERR, "endpoint %s: building a batch: %s", ep->name,
               fl->batch.doc ? "gzip failed" : err);
        ep->fatal = 1;
        return;
    }
    op_log(OP_LOG_DEBUG,
           "endpoint %s: batch %s: %zu messages, %zu rollups (%zu superseded), %zu bytes JSON, "
           "%zu gzip",
           ep->name, fl->batch.key, fl->n, fl->batch.rollups, fl->batch.superseded,
           fl->batch.json.len, fl->gz.len);
}

static void schedule_retry(struct reporter_endpoint *ep, int64_t retry_after_ms, const char *why)
{
    struct inflight *fl = &ep->fl;
    struct reporter *r = ep->r;
    int64_t delay =
        reporter_backoff_ms(fl->attempt, r->set.backoff_ms, r->set.backoff_max_ms, &ep->rng);
    if (retry_after_ms >= 0) {
        int64_t ra =
            retry_after_ms < r->set.retry_after_max_ms ? retry_after_ms : r->set.retry_after_max_ms;
        if (ra > delay)
            delay = ra;
    }
    fl->attempt++;
    fl->next_at = op_clock_mono_ms() + delay;
    ep->stats.retries++;
    op_log(OP_LOG_WARNING, "endpoint %s: batch %s: %s (attempt %u, next in %" PRId64 " ms)",
           ep->name, fl->batch.key, why, fl->attempt, delay);
}

/* The batch in flight goes to the DLQ and is committed: 0, or -1 (retried later). */
static int dead_letter(struct reporter_endpoint *ep)
{
    struct inflight *fl = &ep->fl;
    if (reporter_dlq_batch(ep) != 0)
        return -1;
    ep->stats.rejected++;
    op_log(OP_LOG_WARNING,
           "endpoint %s: batch %s (%zu rollups, %s [%" PRId32 "] %" PRId64 "..%" PRId64
           ") dead-lettered to %s: %s, status %ld",
           ep->name, fl->batch.key, fl->batch.rollups, ep->topic, fl->partition,
           fl->batch.first_offset, fl->batch.last_offset, ep->dlq_topic, fl->reject_reason,
           fl->reject_status);
    finish(ep);
    return 0;
}

const char *reporter_dlq_reason(enum reporter_verdict v, unsigned attempt, long max_retries)
{
    if (v == REPORTER_REJECTED)
        return "rejected";
    if (max_retries <= 0 || attempt < (unsigned long)max_retries)
        return NULL;
    return "retries-exhausted";
}

/* The transport said no (out): retried, or marked for the DLQ and sent there at once. */
static void failed(struct reporter_endpoint *ep, const struct reporter_send_result *out)
{
    struct inflight *fl = &ep->fl;
    const char *reason = reporter_dlq_reason(out->verdict, fl->attempt, ep->set.max_retries);
    snprintf(ep->last_error, sizeof ep->last_error, "%s", out->why);
    if (!reason) {
        schedule_retry(ep, out->retry_after_ms, out->why);
        return;
    }
    fl->reject = 1;
    fl->reject_status = out->status;
    snprintf(fl->reject_reason, sizeof fl->reject_reason, "%s", reason);
    fl->reject_body.len = 0;
    op_buf_append(&fl->reject_body, out->detail, out->detail_len);
    op_log(OP_LOG_WARNING, "endpoint %s: batch %s rejected: %s", ep->name, fl->batch.key, out->why);
    fl->next_at = op_clock_mono_ms();
    if (dead_letter(ep) != 0) /* straight to the DLQ */
        schedule_retry(ep, -1, ep->last_error);
}

void reporter_attempt(struct reporter_endpoint *ep)
{
    struct inflight *fl = &ep->fl;
    if (!fl->poison_done && fl->batch.n_poison > 0) {
        if (reporter_dlq_poison(ep) != 0) {
            schedule_retry(ep, -1, ep->last_error);
            return;
        }
        fl->poison_done = 1;
    }
    if (fl->reject) {
        if (dead_letter(ep) != 0)
            schedule_retry(ep, -1, ep->last_error);
        return;
    }
    if (fl->batch.rollups == 0) { /* only tombstones or dead letters */
        finish(ep);
        return;
    }
    ep->stats.attempts++;
    int more = 0;
    for (int p = 0; p < ep->n_parts; p++)
        more |= ep->parts[p].n > 0;
    struct reporter_send_args a = {ep->name, &fl->batch, &fl->gz, more, &ep->r->stop};
    struct reporter_send_result out;
    ep->tp->send(ep->tp_impl, &a, &out);
    ep->stats.connections += (uint64_t)out.new_connections;
    ep->stats.token_requests += out.token_requests;
    if (out.aborted)
        return; /* by the stop: left uncommitted */
    if (out.verdict != REPORTER_DELIVERED) {
        failed(ep, &out);
        return;
    }
    ep->stats.batches++;
    ep->stats.last_success_ms = op_clock_wall_ms();
    ep->stats.rollups += fl->batch.rollups;
    ep->stats.superseded += fl->batch.superseded;
    if (fl->attempt > 0)
        op_log(OP_LOG_NOTICE, "endpoint %s: batch %s delivered after %u failed attempt(s)",
               ep->name, fl->batch.key, fl->attempt);
    ep->last_error[0] = 0;
    finish(ep);
}
