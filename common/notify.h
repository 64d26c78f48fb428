/* systemd's readiness protocol without libsystemd: READY=1, STOPPING=1, WATCHDOG=1 datagrams
 * to $NOTIFY_SOCKET. Every call is a no-op when the daemon is not run by systemd. */
#ifndef OP_NOTIFY_H
#define OP_NOTIFY_H

#include <stdint.h>

/* Sends `state` (e.g. "READY=1\nSTATUS=consuming") to $NOTIFY_SOCKET. Returns 1 when sent,
 * 0 when there is no socket, -1 on error (errno set). */
int op_notify(const char *state);

/* The watchdog interval systemd asks for (WatchdogSec=), in microseconds, or 0 if none or
 * if WATCHDOG_PID names another process. Ping at half of it. */
uint64_t op_notify_watchdog_usec(void);

#endif
