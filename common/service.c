/* One daemon shell instead of one per daemon: the copies had drifted (five watchdog styles,
 * a plain int log level written on SIGHUP while other threads read it, -v lost on reload). */
#include "service.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "notify.h"

volatile sig_atomic_t op_service_run = 1;
volatile sig_atomic_t op_service_reload = 0;

/* The watchdog is the process's, as $WATCHDOG_USEC is: module state, so any file can ping
 * without carrying the service around. */
static atomic_llong watchdog_ms, last_ping_ms;

struct op_service {
    struct op_health *health;
    int ready;
};

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        op_service_reload = 1;
        return;
    }
    if (!op_service_run) /* second signal: the operator means it */
        _exit(128 + sig);
    op_service_run = 0;
}

void op_service_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

int op_service_reload_requested(void)
{
    if (!op_service_reload)
        return 0;
    op_service_reload = 0;
    return 1;
}

int64_t op_service_watchdog_interval_ms(const char *usec, const char *pid, long self_pid)
{
    if (!usec || *usec < '0' || *usec > '9')
        return 0;
    if (pid && *pid) {
        char *end;
        errno = 0;
        long p = strtol(pid, &end, 10);
        if (errno || *end || p != self_pid)
            return 0;
    }
    char *end;
    errno = 0;
    unsigned long long us = strtoull(usec, &end, 10);
    if (errno || *end || us == 0)
        return 0;
    if (us / 2000 > (unsigned long long)INT64_MAX)
        return INT64_MAX;
    return us / 2000 ? (int64_t)(us / 2000) : 1;
}

struct op_service *op_service_start(const char *listen, op_health_ready_cb ready,
                                    op_health_metrics_cb metrics, void *opaque, char *errstr,
                                    size_t errstr_size)
{
    struct op_service *s = calloc(1, sizeof *s);
    if (!s) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (listen && *listen) {
        s->health = op_health_start(listen, ready, metrics, opaque, errstr, errstr_size);
        if (!s->health) {
            free(s);
            return NULL;
        }
        op_log(OP_LOG_INFO, "health and metrics on %s (port %d)", listen,
               op_health_port(s->health));
    }
    atomic_store(&last_ping_ms, op_clock_mono_ms());
    atomic_store(&watchdog_ms,
                 op_service_watchdog_interval_ms(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"),
                                                 (long)getpid()));
    return s;
}

void op_service_ready(struct op_service *s, const char *status)
{
    char state[256];
    snprintf(state, sizeof state, "READY=1\nSTATUS=%s", status ? status : "running");
    op_notify(state);
    if (s)
        s->ready = 1;
}

void op_service_stopping(struct op_service *s)
{
    if (!s || !s->ready)
        return;
    op_notify("STOPPING=1");
    s->ready = 0;
}

void op_service_stop(struct op_service *s)
{
    if (!s)
        return;
    op_health_stop(s->health);
    free(s);
}

int op_service_health_port(const struct op_service *s)
{
    return s && s->health ? op_health_port(s->health) : 0;
}

void op_service_ping(void)
{
    long long every = atomic_load_explicit(&watchdog_ms, memory_order_relaxed);
    if (!every)
        return;
    long long now = op_clock_mono_ms();
    long long last = atomic_load_explicit(&last_ping_ms, memory_order_relaxed);
    /* One winner per interval when threads ping at once. */
    if (now - last >= every && atomic_compare_exchange_strong(&last_ping_ms, &last, now))
        op_notify("WATCHDOG=1");
}

int op_service_apply_log_level(const struct op_conf *conf)
{
    struct op_cli_settings s = {0};
    if (conf)
        op_cli_bind(conf, &s);
    return op_log_set_level_name(s.log_level);
}
