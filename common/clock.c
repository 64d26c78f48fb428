/* clock_gettime wrappers shared by every daemon and tool. */
#include "clock.h"

#include <errno.h>
#include <time.h>

static int64_t ms_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t op_clock_mono_ms(void)
{
    return ms_of(CLOCK_MONOTONIC);
}

int64_t op_clock_wall_ms(void)
{
    return ms_of(CLOCK_REALTIME);
}

void op_clock_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
