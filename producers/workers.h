/* Conversion threads of outreach-producer: the reading thread cuts the input into batches of
 * records, N workers convert (and publish) them, and the batches come back in the order they
 * were cut, so that rejects and counts stay in input order whatever thread finished first. */
#ifndef PRODUCER_WORKERS_H
#define PRODUCER_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* What became of one record. The reader sets CONVERT (or REJECTED with a note, for what it
 * refused itself); the worker sets the rest. */
enum producer_job_state {
    PRODUCER_JOB_CONVERT = 0,
    PRODUCER_JOB_OK,       /* published (handed to librdkafka) or, with --check, valid */
    PRODUCER_JOB_REJECTED, /* note: "field\0reason\0" at note_off */
    PRODUCER_JOB_FAILED    /* the producer refused it at once: err */
};

struct producer_job {
    long line;                 /* physical line where the record starts */
    size_t raw_off, raw_len;   /* original bytes, for the rejects file (in data) */
    size_t text_off, text_len; /* the record in UTF-8, to convert (in data) */
    enum producer_job_state state;
    int err;         /* FAILED: the rd_kafka_resp_err_t */
    size_t note_off; /* REJECTED: in notes; OK with a receipt: the event id, in notes */
};

struct producer_batch {
    size_t n, cap;
    struct producer_job *jobs;
    struct op_buf data;  /* bytes of the records */
    struct op_buf notes; /* field and reason of rejected records, NUL-terminated */
    /* pool bookkeeping */
    int done;
    struct producer_batch *qnext, *pnext;
};

/* Appends a record to be converted (copies raw and text; text may be raw itself). Returns the
 * job, or NULL when out of memory. */
struct producer_job *producer_batch_add(struct producer_batch *b, long line, const char *raw,
                                        size_t raw_len, const char *text, size_t text_len);

/* Marks job j as rejected with field and reason (copied). Returns 0 or -1 (out of memory: the
 * reason then reads "out of memory"). */
int producer_batch_reject(struct producer_batch *b, struct producer_job *j, const char *field,
                          const char *reason);

/* The field and reason of a rejected job. */
const char *producer_batch_field(const struct producer_batch *b, const struct producer_job *j);
const char *producer_batch_reason(const struct producer_batch *b, const struct producer_job *j);

/* Keeps the event id of a published job (OK) for the receipt. Returns 0 or -1 (out of memory:
 * producer_batch_id then gives NULL). */
int producer_batch_set_id(struct producer_batch *b, struct producer_job *j, const char *id);
const char *producer_batch_id(const struct producer_batch *b, const struct producer_job *j);

struct producer_pool;

/* Converts every CONVERT job of a batch, on worker thread `worker` (0 … n-1). */
typedef void (*producer_pool_fn)(void *arg, int worker, struct producer_batch *b);

/* Starts n worker threads running fn. At most max_batches batches exist at a time (cut,
 * queued, converting or waiting to be collected), which bounds memory. NULL with errstr. */
struct producer_pool *producer_pool_new(int n, int max_batches, producer_pool_fn fn, void *arg,
                                        char *errstr, size_t errstr_size);
/* Stops and joins the workers (after they finish what was submitted) and frees every batch. */
void producer_pool_destroy(struct producer_pool *pool);

/* An empty batch, or NULL when max_batches are in use (collect one first) or out of memory. */
struct producer_batch *producer_pool_batch(struct producer_pool *pool);
/* Queues a batch for the workers; it comes back from producer_pool_collect in this order. */
void producer_pool_submit(struct producer_pool *pool, struct producer_batch *b);
/* The oldest submitted batch once it is converted; NULL when none is pending, or (wait == 0)
 * when the oldest is not finished yet. Give it back with producer_pool_release. */
struct producer_batch *producer_pool_collect(struct producer_pool *pool, int wait);
void producer_pool_release(struct producer_pool *pool, struct producer_batch *b);
/* Batches submitted and not yet collected. */
int producer_pool_pending(struct producer_pool *pool);

#endif
