/* Reading a topic once from a start to the end it had when we looked: what outreach-dlq and
 * outreach-audit list. Assign only, read_committed, partition by partition. */
#include "topicread.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "err.h"
#include "kafka.h"
#include "log.h"

rd_kafka_t *op_topicread_new(const struct op_conf *conf, const char *group_id, char *errstr,
                             size_t errstr_size)
{
    /* Topics written in transactions: only committed messages are real, an aborted one was
     * written again by the retry. */
    const char *const settings[] = {"group.id",
                                    group_id,
                                    "enable.auto.commit",
                                    "false",
                                    "enable.auto.offset.store",
                                    "false",
                                    "enable.partition.eof",
                                    "true",
                                    "isolation.level",
                                    "read_committed",
                                    "auto.offset.reset",
                                    "earliest",
                                    NULL};
    struct op_kafka_client_opts o = {.settings = settings};
    return op_kafka_client_new(conf, RD_KAFKA_CONSUMER, &o, errstr, errstr_size);
}

void op_topicread_close(rd_kafka_t *rk)
{
    if (!rk)
        return;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

int op_topicread_watermarks(rd_kafka_t *rk, const char *topic, int32_t p, int timeout_ms,
                            int64_t *lo, int64_t *hi, char *errstr, size_t errstr_size)
{
    rd_kafka_resp_err_t e = op_kafka_watermarks(rk, topic, p, timeout_ms, lo, hi);
    if (!e)
        return 0;
    op_set_err(errstr, errstr_size, "%s [%" PRId32 "]: watermarks: %s", topic, p,
               rd_kafka_err2str(e));
    return -1;
}

/* One partition from start to hi (exclusive). Returns 0 or -1 with errstr. */
static int scan_partition(rd_kafka_t *rk, const char *topic, int32_t p, int64_t start, int64_t hi,
                          const struct op_topicread_opts *o, uint64_t *read, char *errstr,
                          size_t errstr_size)
{
    op_log(OP_LOG_DEBUG, "%s [%" PRId32 "]: reading offsets %" PRId64 "..%" PRId64, topic, p, start,
           hi - 1);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic, p)->offset = start;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e) {
        op_set_err(errstr, errstr_size, "assign %s [%" PRId32 "]: %s", topic, p,
                   rd_kafka_err2str(e));
        return -1;
    }
    int done = 0, rc = 0;
    int64_t last = op_clock_mono_ms(), at = start;
    while (!done && (!o->run || *o->run)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) {
            if (op_clock_mono_ms() - last > o->idle_timeout_ms) {
                op_set_err(errstr, errstr_size,
                           "%s [%" PRId32 "]: end (offset %" PRId64 ") not reached: nothing "
                           "received for %" PRId64 " ms at offset %" PRId64,
                           topic, p, hi, o->idle_timeout_ms, at);
                rc = -1;
                break;
            }
            continue;
        }
        /* Leftovers of the previous partition's assignment are not ours. */
        if (m->partition != p || !m->rkt || strcmp(rd_kafka_topic_name(m->rkt), topic)) {
            rd_kafka_message_destroy(m);
            continue;
        }
        last = op_clock_mono_ms();
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* With read_committed the end is the last stable offset: an open transaction
             * holds what follows, and waiting for it could take transaction.timeout.ms. */
            done = 1;
        } else if (m->err) {
            op_log(OP_LOG_WARNING, "%s [%" PRId32 "]: %s", topic, p, rd_kafka_message_errstr(m));
            if (m->err == RD_KAFKA_RESP_ERR__FATAL ||
                m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
                op_set_err(errstr, errstr_size, "%s [%" PRId32 "]: %s", topic, p,
                           rd_kafka_message_errstr(m));
                rc = -1;
            }
        } else if (m->offset >= hi) {
            done = 1; /* written after we started */
        } else {
            at = m->offset + 1;
            if (read)
                (*read)++;
            if (o->msg(m, o->opaque) != 0) {
                op_set_err(errstr, errstr_size, "stopped at %" PRId32 ":%" PRId64, p, m->offset);
                rc = -1;
            }
            if (m->offset >= hi - 1)
                done = 1;
        }
        rd_kafka_message_destroy(m);
        if (rc)
            break;
    }
    rd_kafka_assign(rk, NULL);
    return rc;
}

int op_topicread_scan(rd_kafka_t *rk, const char *topic, const struct op_topicread_opts *o,
                      uint64_t *read, char *errstr, size_t errstr_size)
{
    int parts = op_kafka_partition_count(rk, topic, o->metadata_timeout_ms, errstr, errstr_size);
    if (parts < 0)
        return -1;
    for (int32_t p = 0; p < parts && (!o->run || *o->run); p++) {
        int64_t start = o->start ? o->start(p, o->opaque) : RD_KAFKA_OFFSET_BEGINNING;
        if (start == OP_TOPICREAD_SKIP)
            continue;
        int64_t lo, hi;
        if (op_topicread_watermarks(rk, topic, p, o->metadata_timeout_ms, &lo, &hi, errstr,
                                    errstr_size) != 0)
            return -1;
        if (start == RD_KAFKA_OFFSET_BEGINNING || start < lo)
            start = lo;
        if (start >= hi)
            continue;
        if (scan_partition(rk, topic, p, start, hi, o, read, errstr, errstr_size) != 0)
            return -1;
    }
    return 0;
}
