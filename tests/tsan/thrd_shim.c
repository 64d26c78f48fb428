/* Linked only into ThreadSanitizer builds (make SANITIZE=thread). Debian's librdkafka starts
 * its threads with C11 thrd_create, which glibc implements without calling the exported
 * pthread_create: GCC 12's and clang 14's TSan intercept only the latter, so a librdkafka
 * thread runs without TSan's per-thread state and crashes at its first malloc. Defining the
 * C11 thread calls here (the executable's definitions interpose on glibc's) routes them
 * through pthread_create/pthread_join/pthread_detach, which TSan sees. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg);
int thrd_join(thrd_t thr, int *res);
int thrd_detach(thrd_t thr);

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
