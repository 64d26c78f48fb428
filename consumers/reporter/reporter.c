/* The endpoint threads of outreach-reporter: per endpoint a thread polls its own consumer
 * (a static member of the group <group.prefix>.NAME), queues messages per partition, hands
 * them to the delivery loop (deliver.c) and keeps its lag and counters for /metrics; plus
 * SIGHUP reloads, the run loop and teardown. Configuration: config.c. */
#include "engine.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "log.h"

/* ---- partition queues ------------------------------------------------------------------- */

static struct part *part_get(struct reporter_endpoint *ep, int32_t p)
{
    if (p < 0 || p > 100000)
        return NULL;
    if (p >= ep->n_parts) {
        int n = p + 1;
        struct part *np = realloc(ep->parts, (size_t)n * sizeof *np);
        if (!np)
            return NULL;
        memset(np + ep->n_parts, 0, (size_t)(n - ep->n_parts) * sizeof *np);
        ep->parts = np;
        ep->n_parts = n;
    }
    return &ep->parts[p];
}

static void part_clear(struct part *pt)
{
    for (size_t i = 0; i < pt->n; i++)
        reporter_msg_free(&pt->q[i]);
    pt->n = 0;
}

void reporter_pause(struct reporter_endpoint *ep, int32_t p, int pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, ep->topic, p);
    rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(ep->consumer, l)
                                  : rd_kafka_resume_partitions(ep->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        op_log(OP_LOG_WARNING, "endpoint %s: %s partition %" PRId32 ": %s", ep->name,
               pause ? "pause" : "resume", p, rd_kafka_err2str(e));
        return;
    }
    ep->parts[p].paused = pause;
}

/* ---- rebalancing ------------------------------------------------------------------------ */

/* "0,2,5": the partitions of an assignment, for the log (tests compare them); truncated to
 * fit out. */
static void partition_list(const rd_kafka_topic_partition_list_t *parts, char *out, size_t size)
{
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < parts->cnt && len + 1 < size; i++) {
        int n =
            snprintf(out + len, size - len, "%s%" PRId32, i ? "," : "", parts->elems[i].partition);
        if (n < 0)
            break;
        len += (size_t)n;
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct reporter_endpoint *ep = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++) {
            struct part *pt = part_get(ep, parts->elems[i].partition);
            if (!pt) {
                op_log(OP_LOG_ERR, "endpoint %s: out of memory", ep->name);
                ep->fatal = 1;
                continue;
            }
            part_clear(pt);
            pt->assigned = 1;
            pt->paused = 0;
            pt->next = -1;
            pt->committed = -1;
            pt->lag = -1;
        }
        ep->assigned_once = 1;
        if (ep->tp->from_beginning && parts->cnt > 0) {
            /* Its state lives in memory only: rebuilt from the whole compacted topic. */
            for (int i = 0; i < parts->cnt; i++)
                parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
            op_log(OP_LOG_INFO, "endpoint %s: reading %s from the beginning (%s)", ep->name,
                   ep->topic, ep->tp->from_beginning);
        }
        char list[256];
        partition_list(parts, list, sizeof list);
        op_log(OP_LOG_INFO, "endpoint %s: assigned %d partition(s) of %s: [%s] (member %s)",
               ep->name, parts->cnt, ep->topic, list, ep->member_id);
        if (coop)
            error = rd_kafka_incremental_assign(rk, parts);
        else if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
            op_log(OP_LOG_ERR, "endpoint %s: assign failed", ep->name);
    } else {
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            op_log(OP_LOG_ERR, "endpoint %s: rebalance: %s", ep->name, rd_kafka_err2str(err));
        for (int i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            if (p < 0 || p >= ep->n_parts)
                continue;
            part_clear(&ep->parts[p]);
            ep->parts[p].assigned = 0;
            ep->parts[p].paused = 0;
            ep->parts[p].lag = -1;
            if (ep->fl.active && ep->fl.partition == p) {
                /* Not committed: the new owner re-sends it from the committed offset. */
                op_log(OP_LOG_NOTICE,
                       "endpoint %s: partition %" PRId32
                       " revoked: batch %s left to its next owner",
                       ep->name, p, ep->fl.batch.key);
                reporter_inflight_free(&ep->fl);
            }
        }
        op_log(OP_LOG_INFO, "endpoint %s: %s %d partition(s)", ep->name,
               rd_kafka_assignment_lost(rk) ? "lost" : "revoked", parts->cnt);
        if (coop)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    }
    if (error) {
        op_log(OP_LOG_ERR, "endpoint %s: incremental rebalance: %s", ep->name,
               rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

/* ---- the consumer ----------------------------------------------------------------------- */

int reporter_consumer_open(struct reporter_endpoint *ep, char *errstr, size_t errstr_size)
{
    char err[512];
    /* session.timeout.ms and heartbeat.interval.ms: op_kafka_client_new passes them. */
    const char *const settings[] = {
        "group.id", ep->group, "client.id", ep->client_id, "enable.auto.commit", "false",
        "enable.auto.offset.store", "false", "isolation.level", "read_committed",
        "auto.offset.reset", "earliest", "enable.partition.eof", "false",
        /* Static membership: after a kill -9 (or any stop) the
         * restarted member fences its dead incarnation and gets
         * its partitions back without waiting out its session.
         * librdkafka 2.0.2 sends no LeaveGroup for a static
         * member on close, so a clean stop keeps them too. */
        "group.instance.id", ep->member_id, NULL};
    struct op_kafka_client_opts o = {
        .settings = settings, .opaque = ep, .rebalance_cb = rebalance_cb};
    ep->consumer = op_kafka_client_new(ep->conf, RD_KAFKA_CONSUMER, &o, err, sizeof err);
    if (!ep->consumer) {
        op_set_err(errstr, errstr_size, "endpoint %s: consumer: %s", ep->name, err);
        return -1;
    }
    rd_kafka_poll_set_consumer(ep->consumer);
    return 0;
}

static void on_message(struct reporter_endpoint *ep, rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            return;
        if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
            char reason[512];
            rd_kafka_fatal_error(ep->consumer, reason, sizeof reason);
            op_log(OP_LOG_ERR, "endpoint %s: consumer fatal error: %s", ep->name, reason);
            ep->fatal = 1;
            return;
        }
        op_log(OP_LOG_WARNING, "endpoint %s: consumer: %s", ep->name, rd_kafka_message_errstr(m));
        return;
    }
    struct part *pt = part_get(ep, m->partition);
    if (!pt || !pt->assigned)
        return; /* from before a revocation */
    if (pt->next >= 0 && m->offset < pt->next) {
        /* Fetched again (e.g. around a pause): we hold it already; batches stay the same. */
        op_log(OP_LOG_DEBUG, "endpoint %s: [%" PRId32 "] @%" PRId64 " again: skipped", ep->name,
               m->partition, m->offset);
        return;
    }
    if (pt->n == pt->cap) {
        size_t cap = pt->cap ? pt->cap * 2 : 64;
        struct reporter_msg *nq = realloc(pt->q, cap * sizeof *nq);
        if (!nq) {
            op_log(OP_LOG_ERR, "endpoint %s: out of memory", ep->name);
            ep->fatal = 1;
            return;
        }
        pt->q = nq;
        pt->cap = cap;
    }
    struct reporter_msg *qm = &pt->q[pt->n];
    memset(qm, 0, sizeof *qm);
    qm->offset = m->offset;
    qm->timestamp = rd_kafka_message_timestamp(m, NULL);
    qm->received_ms = op_clock_mono_ms();
    if (m->key) {
        qm->key = malloc(m->key_len ? m->key_len : 1);
        if (qm->key)
            memcpy(qm->key, m->key, m->key_len);
        qm->key_len = m->key_len;
    }
    if (m->payload) {
        qm->value = malloc(m->len ? m->len : 1);
        if (qm->value)
            memcpy(qm->value, m->payload, m->len);
        qm->len = m->len;
    }
    if ((m->key && !qm->key) || (m->payload && !qm->value)) {
        reporter_msg_free(qm);
        op_log(OP_LOG_ERR, "endpoint %s: out of memory", ep->name);
        ep->fatal = 1;
        return;
    }
    pt->n++;
    pt->next = m->offset + 1;
    /* Bounded memory: a partition holds at most one batch waiting behind the one in flight. */
    if (!pt->paused && pt->n >= (size_t)ep->set.batch_size)
        reporter_pause(ep, m->partition, 1);
}

static void log_status(struct reporter_endpoint *ep, const char *when)
{
    size_t queued = 0;
    for (int p = 0; p < ep->n_parts; p++)
        queued += ep->parts[p].n;
    const struct reporter_endpoint_stats *s = &ep->stats;
    op_log(OP_LOG_INFO,
           "endpoint %s%s: %" PRIu64 " batches delivered (%" PRIu64 " rollups, %" PRIu64
           " superseded revisions skipped), %" PRIu64 " attempts, %" PRIu64 " retries, %" PRIu64
           " batches and %" PRIu64 " messages dead-lettered, %" PRIu64
           " connections opened, %zu queued%s%s%s",
           ep->name, when, s->batches, s->rollups, s->superseded, s->attempts, s->retries,
           s->rejected, s->poison, s->connections, queued,
           ep->fl.active ? ", a batch in flight" : "", ep->last_error[0] ? ", last error: " : "",
           ep->last_error);
}

int64_t reporter_lag(int64_t end, int64_t base)
{
    if (end < 0 || base < 0)
        return -1;
    return end > base ? end - base : 0;
}

/* Messages received and not acknowledged: the partition queues and the batch in flight. */
static uint64_t queued_messages(const struct reporter_endpoint *ep)
{
    uint64_t n = ep->fl.active ? ep->fl.n : 0;
    for (int p = 0; p < ep->n_parts; p++)
        n += ep->parts[p].n;
    return n;
}

/* Refreshes the lag of every assigned partition from librdkafka's cached high watermark
 * (updated by every fetch response: no request of its own, so delivery never waits for it)
 * and the first offset not yet delivered: the batch in flight, else the partition's queue,
 * else the consumer's position, else the offset committed (after a restart with nothing
 * new). Only that last one may ask the broker, once per assignment, when nothing is waiting
 * to be delivered. */
static void update_lag(struct reporter_endpoint *ep)
{
    const char *topic = ep->topic;
    rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(ep->n_parts + 1);
    for (int p = 0; p < ep->n_parts; p++)
        if (ep->parts[p].assigned)
            rd_kafka_topic_partition_list_add(pos, topic, p);
    if (pos->cnt > 0 && rd_kafka_position(ep->consumer, pos) != RD_KAFKA_RESP_ERR_NO_ERROR)
        pos->cnt = 0;
    int idle = queued_messages(ep) == 0;
    for (int i = 0; i < pos->cnt; i++) {
        int32_t p = pos->elems[i].partition;
        struct part *pt = &ep->parts[p];
        int64_t lo = -1, hi = -1, base = -1;
        if (rd_kafka_get_watermark_offsets(ep->consumer, topic, p, &lo, &hi) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            hi = -1;
        if (ep->fl.active && ep->fl.partition == p && ep->fl.n > 0)
            base = ep->fl.msgs[0].offset;
        else if (pt->n > 0)
            base = pt->q[0].offset;
        else if (pos->elems[i].offset >= 0)
            base = pos->elems[i].offset;
        else if (pt->committed >= 0)
            base = pt->committed;
        else if (idle && hi >= 0) {
            rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(c, topic, p);
            if (rd_kafka_committed(ep->consumer, c, 500) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                !c->elems[0].err)
                /* No committed offset yet: everything from the start is to be delivered. */
                pt->committed = c->elems[0].offset >= 0 ? c->elems[0].offset : lo;
            rd_kafka_topic_partition_list_destroy(c);
            base = pt->committed;
        }
        pt->lag = reporter_lag(hi, base);
    }
    rd_kafka_topic_partition_list_destroy(pos);
}

/* Endpoint thread: copies its counters where the HTTP thread can read them. */
static void publish_snapshot(struct reporter_endpoint *ep, int ready)
{
    ep->stats.queued = queued_messages(ep);
    pthread_mutex_lock(&ep->r->lock);
    ep->snap = ep->stats;
    ep->snap_ready = ready;
    if (ep->snap_n_lag < ep->n_parts) {
        int64_t *nl = realloc(ep->snap_lag, (size_t)ep->n_parts * sizeof *nl);
        if (nl) {
            ep->snap_lag = nl;
            ep->snap_n_lag = ep->n_parts;
        }
    }
    for (int p = 0; p < ep->snap_n_lag; p++)
        ep->snap_lag[p] = p < ep->n_parts && ep->parts[p].assigned && ready ? ep->parts[p].lag : -1;
    pthread_mutex_unlock(&ep->r->lock);
}

static void *endpoint_main(void *opaque)
{
    struct reporter_endpoint *ep = opaque;
    struct reporter *r = ep->r;
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, ep->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(ep->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        op_log(OP_LOG_ERR, "endpoint %s: subscribe %s: %s", ep->name, ep->topic,
               rd_kafka_err2str(e));
        ep->fatal = 1;
    } else {
        op_log(OP_LOG_NOTICE, "endpoint %s: delivering %s to %s as group %s", ep->name, ep->topic,
               ep->url_shown, ep->group);
    }
    ep->last_status_ms = op_clock_mono_ms();
    while (!ep->fatal && !atomic_load(&r->stop)) {
        int timeout = 100;
        if (ep->fl.active) {
            int64_t d = ep->fl.next_at - op_clock_mono_ms();
            timeout = d < 0 ? 0 : d < timeout ? (int)d : timeout;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(ep->consumer, timeout);
        if (m) {
            on_message(ep, m);
            rd_kafka_message_destroy(m);
        }
        if (op_kafka_auth_failed(NULL, 0)) {
            ep->fatal = 1; /* a wrong password or CA, logged where it was noted */
            break;
        }
        if (!ep->fl.active && !ep->fatal)
            reporter_cut_batch(ep);
        if (ep->fl.active && !ep->fatal && op_clock_mono_ms() >= ep->fl.next_at)
            reporter_attempt(ep);
        if (ep->producer)
            rd_kafka_poll(ep->producer, 0);
        if (op_clock_mono_ms() - ep->last_lag_ms >= REPORTER_LAG_INTERVAL_MS) {
            ep->last_lag_ms = op_clock_mono_ms();
            update_lag(ep);
        }
        if (r->set.status_interval_ms > 0 &&
            op_clock_mono_ms() - ep->last_status_ms >= r->set.status_interval_ms) {
            ep->last_status_ms = op_clock_mono_ms();
            log_status(ep, "");
        }
        publish_snapshot(ep, ep->assigned_once && !ep->fatal);
    }
    if (ep->fl.active)
        op_log(OP_LOG_INFO, "endpoint %s: batch %s not delivered yet: sent again after restart",
               ep->name, ep->fl.batch.key);
    reporter_inflight_free(&ep->fl);
    if (ep->tp->flush) {
        char err[512];
        if (ep->tp->flush(ep->tp_impl, err, sizeof err) != 0)
            op_log(OP_LOG_WARNING, "endpoint %s: %s", ep->name, err);
    }
    /* Closes here so the rebalance callback runs on this thread. As a static member it does
     * not leave the group: the next start with the same instance.id takes the partitions
     * back at once (session.timeout.ms moves them elsewhere if it does not come back). */
    rd_kafka_consumer_close(ep->consumer);
    log_status(ep, " stopping");
    publish_snapshot(ep, 0);
    atomic_store(&ep->done, 1);
    return NULL;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void endpoint_destroy(struct reporter_endpoint *ep)
{
    if (!ep)
        return;
    reporter_inflight_free(&ep->fl);
    for (int p = 0; p < ep->n_parts; p++) {
        part_clear(&ep->parts[p]);
        free(ep->parts[p].q);
    }
    free(ep->parts);
    if (ep->consumer)
        rd_kafka_destroy(ep->consumer); /* closed by its thread, or never subscribed */
    reporter_dlq_close(ep);
    if (ep->tp)
        ep->tp->close(ep->tp_impl);
    free(ep->snap_lag);
    op_codec_destroy(ep->codec);
    op_registry_destroy(ep->registry);
    free(ep);
}
void reporter_set_reload(struct reporter *r, struct op_conf *(*fn)(void *opaque), void *opaque)
{
    r->reload_fn = fn;
    r->reload_opaque = opaque;
}

struct reload_ctx {
    struct reporter *r;
    struct op_conf *conf;
    const struct reporter_settings *set; /* of conf */
    size_t added;
};

/* One endpoint.NAME.url of the reloaded configuration: new names start delivering now. */
static int reload_endpoint(const char *name, const char *key, const char *value, void *opaque)
{
    struct reload_ctx *c = opaque;
    struct reporter *r = c->r;
    (void)key;
    struct reporter_endpoint *old = reporter_endpoint_find(r, name);
    if (old) {
        if (strcmp(old->url, value) != 0)
            op_log(OP_LOG_WARNING, "SIGHUP: endpoint %s has a new url: restart to apply it", name);
        return 0;
    }
    if (!reporter_name_valid(name)) {
        op_log(OP_LOG_ERR, "SIGHUP: endpoint name \"%s\" is not valid: ignored", name);
        return 0;
    }
    struct reporter_endpoint *ep = reporter_endpoint_alloc(r, c->conf, name, 0);
    char err[512];
    if (!ep) {
        op_log(OP_LOG_ERR, "SIGHUP: endpoint %s: out of memory", name);
        return 0;
    }
    if (reporter_endpoint_setup(ep, c->set, err, sizeof err) != 0) {
        op_log(OP_LOG_ERR, "SIGHUP: endpoint %s: %s; not added", name, err);
        endpoint_destroy(ep);
        return 0;
    }
    /* The HTTP thread walks r->eps under the lock. */
    pthread_mutex_lock(&r->lock);
    int appended = reporter_endpoint_append(r, ep) == 0;
    pthread_mutex_unlock(&r->lock);
    if (!appended) {
        op_log(OP_LOG_ERR, "SIGHUP: endpoint %s: out of memory", name);
        endpoint_destroy(ep);
        return 0;
    }
    atomic_init(&ep->done, 0);
    int e = pthread_create(&ep->thread, NULL, endpoint_main, ep);
    if (e != 0) {
        op_log(OP_LOG_ERR, "SIGHUP: endpoint %s: cannot start its thread: %s", name, strerror(e));
        return 0;
    }
    ep->started = 1;
    c->added++;
    op_log(OP_LOG_NOTICE, "SIGHUP: endpoint %s added (%s, group %s)", name, ep->url_shown,
           ep->group);
    if (ep->set.audit_topic)
        op_log(OP_LOG_WARNING, "SIGHUP: endpoint %s: restart to start its audit stream", name);
    return 0;
}

static void reload(struct reporter *r)
{
    if (!r->reload_fn)
        return;
    struct op_conf *conf = r->reload_fn(r->reload_opaque);
    if (!conf)
        return; /* the loader said why; the running settings stay */
    struct op_conf **nr = realloc(r->reloaded, (r->n_reloaded + 1) * sizeof *nr);
    if (!nr) {
        op_conf_destroy(conf);
        op_log(OP_LOG_ERR, "SIGHUP: out of memory");
        return;
    }
    r->reloaded = nr;
    r->reloaded[r->n_reloaded++] = conf;
    (void)op_service_apply_log_level(conf); /* -v/-q stay */
    struct reporter_settings set;
    op_conf_bind(conf, &set);
    struct reload_ctx c = {r, conf, &set, 0};
    op_conf_foreach(conf, "endpoint.*.url", reload_endpoint, &c);
    for (size_t i = 0; i < r->n_eps; i++) {
        struct reporter_endpoint_settings now;
        op_conf_bind_instance(conf, "endpoint", r->eps[i]->cname, &now);
        if (!now.url)
            op_log(OP_LOG_WARNING,
                   "SIGHUP: endpoint %s is no longer configured: restart to "
                   "remove it",
                   r->eps[i]->name);
    }
    op_log(OP_LOG_NOTICE, "SIGHUP: reloaded log.level; %zu endpoint(s) added, %zu running", c.added,
           r->n_eps);
}

int reporter_run(struct reporter *r, volatile sig_atomic_t *run, volatile sig_atomic_t *reload_flag)
{
    int rc = 0;
    char err[256];
    r->service = op_service_start(r->set.health_listen, reporter_ready_cb, reporter_metrics_cb, r,
                                  err, sizeof err);
    if (!r->service) {
        op_log(OP_LOG_ERR, "%s", err);
        return 2;
    }
    for (size_t i = 0; i < r->n_eps; i++) {
        struct reporter_endpoint *ep = r->eps[i];
        atomic_init(&ep->done, 0);
        int e = pthread_create(&ep->thread, NULL, endpoint_main, ep);
        if (e != 0) {
            op_log(OP_LOG_ERR, "endpoint %s: cannot start its thread: %s", ep->name, strerror(e));
            rc = 1;
            break;
        }
        ep->started = 1;
    }
    if (rc == 0)
        op_service_ready(r->service, "delivering");
    while (rc == 0 && *run) {
        op_clock_sleep_ms(100); /* the watchdog is pinged from this loop only */
        op_service_ping();
        for (size_t i = 0; i < r->n_eps; i++)
            if (atomic_load(&r->eps[i]->done) && r->eps[i]->fatal)
                rc = 1;
        if (reload_flag && *reload_flag) {
            *reload_flag = 0;
            reload(r);
        }
    }
    op_service_stopping(r->service);
    atomic_store(&r->stop, 1);
    for (size_t i = 0; i < r->n_eps; i++)
        if (r->eps[i]->started) {
            pthread_join(r->eps[i]->thread, NULL);
            r->eps[i]->started = 0;
            if (r->eps[i]->fatal)
                rc = 1;
        }
    if (rc)
        op_log(OP_LOG_ERR, "fatal error: exiting; a restart resumes from the committed offsets");
    return rc;
}

void reporter_destroy(struct reporter *r)
{
    if (!r)
        return;
    op_service_stop(r->service); /* first: its thread reads the snapshots */
    atomic_store(&r->stop, 1);
    for (size_t i = 0; i < r->n_eps; i++) {
        if (r->eps[i]->started)
            pthread_join(r->eps[i]->thread, NULL);
        endpoint_destroy(r->eps[i]);
    }
    free(r->eps);
    for (size_t i = 0; i < r->n_reloaded; i++)
        op_conf_destroy(r->reloaded[i]);
    free(r->reloaded);
    op_regions_destroy(r->regions);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

size_t reporter_endpoint_count(const struct reporter *r)
{
    return r->n_eps;
}

const char *reporter_endpoint_name(const struct reporter *r, size_t i)
{
    return i < r->n_eps ? r->eps[i]->name : NULL;
}

const struct reporter_endpoint_stats *reporter_endpoint_stats(const struct reporter *r, size_t i)
{
    return i < r->n_eps ? &r->eps[i]->stats : NULL;
}
