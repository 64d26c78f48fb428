/* systemd's readiness protocol without libsystemd: READY=1, STOPPING=1, WATCHDOG=1 datagrams
 * to $NOTIFY_SOCKET. Every call is a no-op when the daemon is not run by systemd. */
#ifndef OP_NOTIFY_H
#define OP_NOTIFY_H

/* Sends `state` (e.g. "READY=1\nSTATUS=consuming") to $NOTIFY_SOCKET. Returns 1 when sent,
 * 0 when there is no socket, -1 on error (errno set). */
int op_notify(const char *state);

/* The watchdog interval: op_service_watchdog_interval_ms (service.h). */

#endif
