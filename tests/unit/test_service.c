/* Unit tests for common/service: the watchdog interval read from systemd's variables, the
 * READY/WATCHDOG/STOPPING datagrams, and the log level a reload applies (-v/-q kept), also
 * while other threads read it (run under TSan by make tsan-test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "clock.h"
#include "log.h"
#include "service.h"

static const struct op_conf_def defs[] = {OP_CLI_CONF_DEFS, {0}};

static void usage(FILE *out)
{
    fprintf(out, "usage: test\n");
}

/* ---- watchdog interval ------------------------------------------------------------------ */

static void test_watchdog_interval(void **state)
{
    (void)state;
    long self = 4242;
    /* systemd sets WATCHDOG_USEC=30000000 for WatchdogSec=30: ping every 15 s. */
    assert_int_equal(op_service_watchdog_interval_ms("30000000", NULL, self), 15000);
    assert_int_equal(op_service_watchdog_interval_ms("30000000", "", self), 15000);
    assert_int_equal(op_service_watchdog_interval_ms("30000000", "4242", self), 15000);
    /* Meant for another process (a child started by the daemon inherits the variables). */
    assert_int_equal(op_service_watchdog_interval_ms("30000000", "4243", self), 0);
    assert_int_equal(op_service_watchdog_interval_ms("30000000", "42x", self), 0);
    /* None, or nonsense: no watchdog rather than a ping storm or a wrong period. */
    assert_int_equal(op_service_watchdog_interval_ms(NULL, NULL, self), 0);
    assert_int_equal(op_service_watchdog_interval_ms("", NULL, self), 0);
    assert_int_equal(op_service_watchdog_interval_ms("0", NULL, self), 0);
    assert_int_equal(op_service_watchdog_interval_ms("-5", NULL, self), 0);
    assert_int_equal(op_service_watchdog_interval_ms(" 30", NULL, self), 0);
    assert_int_equal(op_service_watchdog_interval_ms("30s", NULL, self), 0);
    assert_int_equal(op_service_watchdog_interval_ms("99999999999999999999999", NULL, self), 0);
    /* Below 2 ms: still a ping each millisecond, never 0 (which means off). */
    assert_int_equal(op_service_watchdog_interval_ms("1500", NULL, self), 1);
    assert_int_equal(op_service_watchdog_interval_ms("2000", NULL, self), 1);
    assert_int_equal(op_service_watchdog_interval_ms("5000", NULL, self), 2);
}

/* ---- sd_notify datagrams ---------------------------------------------------------------- */

/* Next datagram on fd within 2 s, NUL-terminated in buf; "" when none came. */
static const char *recv_state(int fd, char *buf, size_t size)
{
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

static int no_datagram(int fd)
{
    char buf[64];
    return recv(fd, buf, sizeof buf, MSG_DONTWAIT) < 0;
}

static void test_notify_states(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_service.XXXXXX", path[64], buf[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/notify", dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    setenv("NOTIFY_SOCKET", path, 1);
    setenv("WATCHDOG_USEC", "20000", 1); /* ping every 10 ms */
    unsetenv("WATCHDOG_PID");

    char err[256];
    struct op_service *s = op_service_start(NULL, NULL, NULL, NULL, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(op_service_health_port(s), 0);
    op_service_stopping(s); /* never said READY: nothing to take back */
    assert_true(no_datagram(fd));
    op_service_ready(s, "testing");
    assert_string_equal(recv_state(fd, buf, sizeof buf), "READY=1\nSTATUS=testing");
    op_service_ping(); /* just started: not due yet */
    assert_true(no_datagram(fd));
    op_clock_sleep_ms(15);
    op_service_ping();
    assert_string_equal(recv_state(fd, buf, sizeof buf), "WATCHDOG=1");
    op_service_ping(); /* just pinged */
    assert_true(no_datagram(fd));
    op_service_stopping(s);
    assert_string_equal(recv_state(fd, buf, sizeof buf), "STOPPING=1");
    op_service_stopping(s);
    assert_true(no_datagram(fd));
    op_service_stop(s);
    op_service_stop(NULL);

    /* WatchdogSec meant for another process: no pings at all. */
    setenv("WATCHDOG_PID", "1", 1);
    s = op_service_start("", NULL, NULL, NULL, err, sizeof err);
    assert_non_null(s);
    op_clock_sleep_ms(15);
    op_service_ping();
    assert_true(no_datagram(fd));
    op_service_stop(s);

    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    close(fd);
    unlink(path);
    rmdir(dir);
}

static void test_health_bind_error(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(op_service_start("not-an-address", NULL, NULL, NULL, err, sizeof err));
    assert_true(err[0] != 0);
}

/* ---- the log level across reloads ------------------------------------------------------- */

/* What a daemon does: op_cli_load at start, op_cli_load again on SIGHUP (the same argv, the
 * -F files read anew), then op_service_apply_log_level on the new configuration. */
static int level_after_reload(int argc, char **argv, const char *reloaded_level)
{
    struct op_cli_program p = {"test", defs, NULL, usage, argc, argv};
    enum op_cli_result r;
    struct op_conf *start = op_cli_load(&p, &r);
    assert_non_null(start);
    struct op_conf *again = op_cli_load(&p, &r);
    assert_non_null(again);
    if (reloaded_level) { /* the file changed between start and SIGHUP */
        char err[256];
        assert_int_equal(op_conf_set(again, "log.level", reloaded_level, err, sizeof err), 0);
    }
    assert_int_equal(op_service_apply_log_level(again), 0);
    op_conf_destroy(again);
    op_conf_destroy(start);
    return atomic_load(&op_log_level);
}

static void test_reload_keeps_verbose(void **state)
{
    (void)state;
    char *v[] = {"test", "-v", "-X", "log.level=warning", NULL};
    assert_int_equal(level_after_reload(4, v, NULL), OP_LOG_DEBUG);
    assert_int_equal(level_after_reload(4, v, "err"), OP_LOG_DEBUG);
    /* -v after -X, or before: the command line wins either way. */
    char *v2[] = {"test", "-X", "log.level=notice", "-v", NULL};
    assert_int_equal(level_after_reload(4, v2, "info"), OP_LOG_DEBUG);
}

static void test_reload_keeps_quiet(void **state)
{
    (void)state;
    char *q[] = {"test", "-q", NULL};
    assert_int_equal(level_after_reload(2, q, NULL), OP_LOG_WARNING);
    assert_int_equal(level_after_reload(2, q, "debug"), OP_LOG_WARNING);
}

static void test_reload_follows_log_level(void **state)
{
    (void)state;
    /* Without -v/-q the reloaded log.level applies (and a daemon started with -v before,
     * in the same process, leaves nothing pinned behind). */
    char *plain[] = {"test", "-X", "log.level=notice", NULL};
    assert_int_equal(level_after_reload(3, plain, NULL), OP_LOG_NOTICE);
    assert_int_equal(level_after_reload(3, plain, "debug"), OP_LOG_DEBUG);
    assert_int_equal(level_after_reload(3, plain, "err"), OP_LOG_ERR);
    /* Not a level: -1 and the level stays. */
    op_log_pin_level(0);
    op_log_set_level(OP_LOG_INFO);
    assert_int_equal(op_log_set_level_name("loud"), -1);
    assert_int_equal(atomic_load(&op_log_level), OP_LOG_INFO);
    assert_int_equal(op_service_apply_log_level(NULL), 0);
    assert_int_equal(atomic_load(&op_log_level), OP_LOG_INFO);
}

/* Threads log while the main thread reloads: the level is one atomic int, so this is no
 * data race (ThreadSanitizer checks it in make tsan-test). */
static atomic_int readers_run;

static void *reader(void *arg)
{
    atomic_long *seen = arg;
    while (atomic_load(&readers_run)) {
        op_log(8, "never written: no level passes 8"); /* reads op_log_level */
        atomic_fetch_add(seen, 1);
    }
    return NULL;
}

static void test_level_change_under_readers(void **state)
{
    (void)state;
    pthread_t t[2];
    atomic_long seen = 0;
    atomic_store(&readers_run, 1);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, &seen), 0);
    char *plain[] = {"test", NULL};
    struct op_cli_program p = {"test", defs, NULL, usage, 1, plain};
    enum op_cli_result r;
    struct op_conf *c = op_cli_load(&p, &r);
    assert_non_null(c);
    char err[256];
    static const char *const names[] = {"debug", "err", "warning", "info"};
    for (int i = 0; i < 400 || atomic_load(&seen) < 100; i++) {
        assert_int_equal(op_conf_set(c, "log.level", names[i % 4], err, sizeof err), 0);
        assert_int_equal(op_service_apply_log_level(c), 0);
    }
    assert_int_equal(op_conf_set(c, "log.level", "notice", err, sizeof err), 0);
    assert_int_equal(op_service_apply_log_level(c), 0);
    atomic_store(&readers_run, 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&op_log_level), OP_LOG_NOTICE);
    op_conf_destroy(c);
}

static void test_reload_flag(void **state)
{
    (void)state;
    op_service_install_signals();
    assert_int_equal(op_service_reload_requested(), 0);
    raise(SIGHUP);
    assert_int_equal(op_service_reload_requested(), 1);
    assert_int_equal(op_service_reload_requested(), 0);
    assert_int_equal(op_service_run, 1);
    signal(SIGHUP, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watchdog_interval),
        cmocka_unit_test(test_notify_states),
        cmocka_unit_test(test_health_bind_error),
        cmocka_unit_test(test_reload_keeps_verbose),
        cmocka_unit_test(test_reload_keeps_quiet),
        cmocka_unit_test(test_reload_follows_log_level),
        cmocka_unit_test(test_level_change_under_readers),
        cmocka_unit_test(test_reload_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
