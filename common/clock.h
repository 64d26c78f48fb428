/* Clocks for the daemons: monotonic time for intervals and deadlines, wall time for what is
 * stored or shown, and a sleep that resumes after signals. */
#ifndef OP_CLOCK_H
#define OP_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: for timeouts, intervals and rates. */
int64_t op_clock_mono_ms(void);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): for timestamps. */
int64_t op_clock_wall_ms(void);

/* Sleeps `ms` milliseconds, resuming after interruptions by signals. */
void op_clock_sleep_ms(long ms);

#endif
