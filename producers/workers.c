/* Batches of records and the worker threads that convert them: a FIFO for the workers and a
 * list in submission order for the reader, under one mutex (a batch holds hundreds of records,
 * so the lock is taken a few thousand times per million records). */
#include "workers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct producer_pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv;                 /* a batch was queued, or stop */
    pthread_cond_t done_cv;                 /* a batch was finished */
    struct producer_batch *q_head, *q_tail; /* queued, not yet taken by a worker */
    struct producer_batch *p_head, *p_tail; /* submitted, not yet collected, in order */
    struct producer_batch *free_list;
    int n_batches, max_batches, pending;
    int stop;
    producer_pool_fn fn;
    void *arg;
    int n;
    pthread_t *threads;
    struct worker_arg {
        struct producer_pool *pool;
        int index;
    } * args;
};

struct producer_job *producer_batch_add(struct producer_batch *b, long line, const char *raw,
                                        size_t raw_len, const char *text, size_t text_len)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        struct producer_job *j = realloc(b->jobs, cap * sizeof *j);
        if (!j)
            return NULL;
        b->jobs = j;
        b->cap = cap;
    }
    struct producer_job *j = &b->jobs[b->n];
    memset(j, 0, sizeof *j);
    j->line = line;
    j->raw_off = b->data.len;
    j->raw_len = raw_len;
    if (op_buf_append(&b->data, raw, raw_len) != 0)
        return NULL;
    if (text == raw && text_len <= raw_len) {
        j->text_off = j->raw_off;
    } else {
        j->text_off = b->data.len;
        if (op_buf_append(&b->data, text, text_len) != 0)
            return NULL;
    }
    j->text_len = text_len;
    j->state = PRODUCER_JOB_CONVERT;
    b->n++;
    return j;
}

int producer_batch_reject(struct producer_batch *b, struct producer_job *j, const char *field,
                          const char *reason)
{
    j->state = PRODUCER_JOB_REJECTED;
    j->note_off = b->notes.len;
    if (op_buf_append(&b->notes, field, strlen(field) + 1) != 0 ||
        op_buf_append(&b->notes, reason, strlen(reason) + 1) != 0) {
        j->note_off = (size_t)-1;
        return -1;
    }
    return 0;
}

const char *producer_batch_field(const struct producer_batch *b, const struct producer_job *j)
{
    return j->note_off == (size_t)-1 ? "record" : (const char *)b->notes.data + j->note_off;
}

const char *producer_batch_reason(const struct producer_batch *b, const struct producer_job *j)
{
    if (j->note_off == (size_t)-1)
        return "out of memory";
    const char *f = (const char *)b->notes.data + j->note_off;
    return f + strlen(f) + 1;
}

int producer_batch_set_id(struct producer_batch *b, struct producer_job *j, const char *id)
{
    j->note_off = b->notes.len;
    if (op_buf_append(&b->notes, id, strlen(id) + 1) != 0) {
        j->note_off = (size_t)-1;
        return -1;
    }
    return 0;
}

const char *producer_batch_id(const struct producer_batch *b, const struct producer_job *j)
{
    return j->note_off == (size_t)-1 ? NULL : (const char *)b->notes.data + j->note_off;
}

static void *worker_main(void *v)
{
    struct worker_arg *a = v;
    struct producer_pool *pool = a->pool;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (!pool->q_head && !pool->stop)
            pthread_cond_wait(&pool->work_cv, &pool->mu);
        struct producer_batch *b = pool->q_head;
        if (!b)
            break; /* stop, and nothing left */
        pool->q_head = b->qnext;
        if (!pool->q_head)
            pool->q_tail = NULL;
        pthread_mutex_unlock(&pool->mu);
        pool->fn(pool->arg, a->index, b);
        pthread_mutex_lock(&pool->mu);
        b->done = 1;
        pthread_cond_broadcast(&pool->done_cv);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

struct producer_pool *producer_pool_new(int n, int max_batches, producer_pool_fn fn, void *arg,
                                        char *errstr, size_t errstr_size)
{
    struct producer_pool *pool = calloc(1, sizeof *pool);
    if (!pool) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->work_cv, NULL);
    pthread_cond_init(&pool->done_cv, NULL);
    pool->fn = fn;
    pool->arg = arg;
    pool->max_batches = max_batches < 2 ? 2 : max_batches;
    pool->threads = calloc((size_t)n, sizeof *pool->threads);
    pool->args = calloc((size_t)n, sizeof *pool->args);
    if (!pool->threads || !pool->args) {
        op_set_err(errstr, errstr_size, "out of memory");
        producer_pool_destroy(pool);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        pool->args[i].pool = pool;
        pool->args[i].index = i;
        if (pthread_create(&pool->threads[i], NULL, worker_main, &pool->args[i]) != 0) {
            op_set_err(errstr, errstr_size, "cannot start worker thread %d", i + 1);
            producer_pool_destroy(pool);
            return NULL;
        }
        pool->n = i + 1;
    }
    return pool;
}

static void batch_free(struct producer_batch *b)
{
    free(b->jobs);
    op_buf_free(&b->data);
    op_buf_free(&b->notes);
    free(b);
}

void producer_pool_destroy(struct producer_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->n; i++)
        pthread_join(pool->threads[i], NULL);
    while (pool->p_head) {
        struct producer_batch *b = pool->p_head;
        pool->p_head = b->pnext;
        batch_free(b);
    }
    while (pool->free_list) {
        struct producer_batch *b = pool->free_list;
        pool->free_list = b->pnext;
        batch_free(b);
    }
    pthread_cond_destroy(&pool->work_cv);
    pthread_cond_destroy(&pool->done_cv);
    pthread_mutex_destroy(&pool->mu);
    free(pool->threads);
    free(pool->args);
    free(pool);
}

struct producer_batch *producer_pool_batch(struct producer_pool *pool)
{
    struct producer_batch *b = NULL;
    pthread_mutex_lock(&pool->mu);
    if (pool->free_list) {
        b = pool->free_list;
        pool->free_list = b->pnext;
    } else if (pool->n_batches < pool->max_batches && (b = calloc(1, sizeof *b)) != NULL)
        pool->n_batches++;
    pthread_mutex_unlock(&pool->mu);
    if (b) {
        b->n = 0;
        b->data.len = 0;
        b->notes.len = 0;
        b->done = 0;
        b->qnext = b->pnext = NULL;
    }
    return b;
}

void producer_pool_submit(struct producer_pool *pool, struct producer_batch *b)
{
    pthread_mutex_lock(&pool->mu);
    b->done = 0;
    b->qnext = b->pnext = NULL;
    if (pool->q_tail)
        pool->q_tail->qnext = b;
    else
        pool->q_head = b;
    pool->q_tail = b;
    if (pool->p_tail)
        pool->p_tail->pnext = b;
    else
        pool->p_head = b;
    pool->p_tail = b;
    pool->pending++;
    pthread_cond_signal(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
}

struct producer_batch *producer_pool_collect(struct producer_pool *pool, int wait)
{
    struct producer_batch *b = NULL;
    pthread_mutex_lock(&pool->mu);
    while (wait && pool->p_head && !pool->p_head->done)
        pthread_cond_wait(&pool->done_cv, &pool->mu);
    if (pool->p_head && pool->p_head->done) {
        b = pool->p_head;
        pool->p_head = b->pnext;
        if (!pool->p_head)
            pool->p_tail = NULL;
        pool->pending--;
    }
    pthread_mutex_unlock(&pool->mu);
    return b;
}

void producer_pool_release(struct producer_pool *pool, struct producer_batch *b)
{
    pthread_mutex_lock(&pool->mu);
    b->pnext = pool->free_list;
    pool->free_list = b;
    pthread_mutex_unlock(&pool->mu);
}

int producer_pool_pending(struct producer_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    int n = pool->pending;
    pthread_mutex_unlock(&pool->mu);
    return n;
}
