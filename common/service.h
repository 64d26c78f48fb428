/* The shell every daemon shares: health and metrics endpoint, systemd readiness and
 * watchdog, the signal flags, and the log level a SIGHUP reload may change. */
#ifndef OP_SERVICE_H
#define OP_SERVICE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "health.h"

/* 1 until the first SIGINT/SIGTERM; a second one exits at once with status 130 (or 143).
 * op_service_reload is set to 1 by SIGHUP. Only the signal handler sets them; poll loops
 * read them (their timeouts stay short, <= 1 s). */
extern volatile sig_atomic_t op_service_run;
extern volatile sig_atomic_t op_service_reload;

/* Installs the handlers for SIGINT, SIGTERM and SIGHUP, and ignores SIGPIPE. */
void op_service_install_signals(void);

/* Returns 1 once after each SIGHUP (resetting the flag), else 0. */
int op_service_reload_requested(void);

struct op_service;

/* Starts the daemon's shell: the health and metrics endpoint on `listen` (NULL or "": none;
 * the callbacks run on its thread, see health.h) and the systemd watchdog from
 * $WATCHDOG_USEC. Logs the bound port. Returns NULL with errstr when the endpoint cannot
 * be bound or memory runs out. */
struct op_service *op_service_start(const char *listen, op_health_ready_cb ready,
                                    op_health_metrics_cb metrics, void *opaque, char *errstr,
                                    size_t errstr_size);

/* Tells systemd the daemon is ready: "READY=1\nSTATUS=<status>". */
void op_service_ready(struct op_service *s, const char *status);

/* Tells systemd the daemon stops (STOPPING=1), once and only if it said READY. */
void op_service_stopping(struct op_service *s);

/* Stops the endpoint (first: its thread reads the daemon's data) and frees s. NULL is fine. */
void op_service_stop(struct op_service *s);

/* Port of the health endpoint, or 0 when there is none. */
int op_service_health_port(const struct op_service *s);

/* Sends WATCHDOG=1 when half of systemd's WatchdogSec has passed since the last ping. Cheap;
 * any thread may call it, from every wait that can outlast WatchdogSec. A no-op until
 * op_service_start ran, and when systemd asked for no watchdog. */
void op_service_ping(void);

/* The ping interval for the values of $WATCHDOG_USEC and $WATCHDOG_PID: half of usec in
 * milliseconds (at least 1); 0 when usec is missing, not a positive decimal number, or when
 * pid is set and is not self_pid. */
int64_t op_service_watchdog_interval_ms(const char *usec, const char *pid, long self_pid);

/* Applies a (re)loaded configuration's log.level, atomically for every thread; a level given
 * on the command line (-v/-q) is kept. Returns 0, or -1 when log.level is not a level (the
 * level stays). */
int op_service_apply_log_level(const struct op_conf *conf);

#endif
