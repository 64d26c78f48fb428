/* Reading a topic once, like a report: only committed messages (read_committed), partition by
 * partition, from a start to the end each partition had when we looked, with assign() only
 * (no group join, no offset commit), so a listing terminates while the topic keeps growing. */
#ifndef OP_TOPICREAD_H
#define OP_TOPICREAD_H

#include <signal.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "conf.h"

/* A consumer for op_topicread_scan over conf's librdkafka settings, with group.id (never
 * joined: it only satisfies librdkafka), no auto commit, partition EOF events and
 * isolation.level=read_committed. Returns NULL with errstr. */
rd_kafka_t *op_topicread_new(const struct op_conf *conf, const char *group_id, char *errstr,
                             size_t errstr_size);

/* Closes and destroys a reader; NULL is a no-op. */
void op_topicread_close(rd_kafka_t *rk);

/* Low and high watermarks of one partition, retrying while leadership settles (up to
 * timeout_ms). Returns 0, or -1 with "TOPIC [P]: watermarks: reason" in errstr. */
int op_topicread_watermarks(rd_kafka_t *rk, const char *topic, int32_t p, int timeout_ms,
                            int64_t *lo, int64_t *hi, char *errstr, size_t errstr_size);

/* Returned by a start callback: do not read this partition. */
#define OP_TOPICREAD_SKIP INT64_MIN

/* Where to start partition p: an offset (below the low watermark: from the low watermark),
 * RD_KAFKA_OFFSET_BEGINNING, or OP_TOPICREAD_SKIP. */
typedef int64_t (*op_topicread_start_cb)(int32_t p, void *opaque);

/* Called for each committed message in partition then offset order; returns 0 to go on,
 * non-zero to stop the scan with an error. */
typedef int (*op_topicread_msg_cb)(const rd_kafka_message_t *m, void *opaque);

struct op_topicread_opts {
    int metadata_timeout_ms;     /* topic metadata and each watermark query */
    int64_t idle_timeout_ms;     /* fail when a partition's end is not reached after this long
                                  * without a message */
    volatile sig_atomic_t *run;  /* stop between messages when it becomes 0 (may be NULL) */
    op_topicread_start_cb start; /* NULL: every partition from its beginning */
    op_topicread_msg_cb msg;
    void *opaque;
};

/* Reads every partition of topic from its start to the high watermark it had just before it
 * was read (with read_committed, the end is reached at the last stable offset: an open
 * transaction is not waited for). *read (may be NULL) counts the messages passed to msg.
 * Returns 0 (also when *run became 0: check it), or -1 with errstr (unknown topic, no end
 * reached, a fatal consumer error, or "stopped at P:O" when msg returned non-zero). */
int op_topicread_scan(rd_kafka_t *rk, const char *topic, const struct op_topicread_opts *o,
                      uint64_t *read, char *errstr, size_t errstr_size);

#endif
