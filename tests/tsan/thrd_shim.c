/* Linked only into ThreadSanitizer builds (make SANITIZE=thread). Debian's librdkafka starts
 * its threads with C11 thrd_create, which glibc implements without calling the exported
 * pthread_create: GCC 12's and clang 14's TSan intercept only the latter, so a librdkafka
 * thread runs without TSan's per-thread state and crashes at its first malloc. Defining the
 * C11 thread calls here (the executable's definitions interpose on glibc's) routes them
 * through pthread_create/pthread_join/pthread_detach, which TSan sees; and mtx_* / cnd_*
 * through pthread_mutex_* / pthread_cond_*, so that TSan sees the locks of librdkafka's
 * queues: a message a broker thread wrote is then ordered before the poll that hands it to
 * us. (glibc's mtx_t and cnd_t are pthread_mutex_t and pthread_cond_t underneath.) */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg);
int thrd_join(thrd_t thr, int *res);
int thrd_detach(thrd_t thr);
int mtx_init(mtx_t *m, int type);
int mtx_lock(mtx_t *m);
int mtx_trylock(mtx_t *m);
int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts);
int mtx_unlock(mtx_t *m);
void mtx_destroy(mtx_t *m);
int cnd_init(cnd_t *c);
int cnd_signal(cnd_t *c);
int cnd_broadcast(cnd_t *c);
int cnd_wait(cnd_t *c, mtx_t *m);
int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts);
void cnd_destroy(cnd_t *c);
void call_once(once_flag *flag, void (*func)(void));

_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "mtx_t is a pthread_mutex_t");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "cnd_t is a pthread_cond_t");
_Static_assert(sizeof(once_flag) == sizeof(pthread_once_t), "once_flag is a pthread_once_t");
#define PM(m) ((pthread_mutex_t *)(void *)(m))
#define PC(c) ((pthread_cond_t *)(void *)(c))

struct start {
    thrd_start_t func;
    void *arg;
};

static void *trampoline(void *p)
{
    struct start s = *(struct start *)p;
    free(p);
    return (void *)(intptr_t)s.func(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
    struct start *s = malloc(sizeof *s);
    if (!s)
        return thrd_nomem;
    s->func = func;
    s->arg = arg;
    pthread_t t;
    if (pthread_create(&t, NULL, trampoline, s) != 0) {
        free(s);
        return thrd_error;
    }
    *thr = (thrd_t)t;
    return thrd_success;
}

int thrd_join(thrd_t thr, int *res)
{
    void *r;
    if (pthread_join((pthread_t)thr, &r) != 0)
        return thrd_error;
    if (res)
        *res = (int)(intptr_t)r;
    return thrd_success;
}

int thrd_detach(thrd_t thr)
{
    return pthread_detach((pthread_t)thr) == 0 ? thrd_success : thrd_error;
}

static int result(int e)
{
    return e == 0           ? thrd_success
           : e == EBUSY     ? thrd_busy
           : e == ETIMEDOUT ? thrd_timedout
           : e == ENOMEM    ? thrd_nomem
                            : thrd_error;
}

int mtx_init(mtx_t *m, int type)
{
    pthread_mutexattr_t a;
    if (pthread_mutexattr_init(&a) != 0)
        return thrd_error;
    if (type & mtx_recursive)
        pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    int e = pthread_mutex_init(PM(m), &a);
    pthread_mutexattr_destroy(&a);
    return result(e);
}

int mtx_lock(mtx_t *m)
{
    return result(pthread_mutex_lock(PM(m)));
}

int mtx_trylock(mtx_t *m)
{
    return result(pthread_mutex_trylock(PM(m)));
}

int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts)
{
    return result(pthread_mutex_timedlock(PM(m), ts));
}

int mtx_unlock(mtx_t *m)
{
    return result(pthread_mutex_unlock(PM(m)));
}

void mtx_destroy(mtx_t *m)
{
    pthread_mutex_destroy(PM(m));
}

int cnd_init(cnd_t *c)
{
    return result(pthread_cond_init(PC(c), NULL));
}

int cnd_signal(cnd_t *c)
{
    return result(pthread_cond_signal(PC(c)));
}

int cnd_broadcast(cnd_t *c)
{
    return result(pthread_cond_broadcast(PC(c)));
}

int cnd_wait(cnd_t *c, mtx_t *m)
{
    return result(pthread_cond_wait(PC(c), PM(m)));
}

int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts)
{
    return result(pthread_cond_timedwait(PC(c), PM(m), ts));
}

void cnd_destroy(cnd_t *c)
{
    pthread_cond_destroy(PC(c));
}

void call_once(once_flag *flag, void (*func)(void))
{
    pthread_once((pthread_once_t *)(void *)flag, func);
}
