/* Unit tests of common/health.c under hostile clients: idle connections from one address
 * must not lock out /healthz from another (the per-address limit), and the server closes a
 * silent connection by itself (the idle timeout). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "health.h"

/* A TCP connection to 127.0.0.1:port from source address src, with receive timeout. */
static int connect_from(const char *src, int port, int timeout_s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    inet_pton(AF_INET, src, &a.sin_addr);
    struct timeval tv = {timeout_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* GET /healthz from src; the first bytes of the answer into buf ("" on timeout/close). */
static void healthz_from(const char *src, int port, int timeout_s, char *buf, size_t size)
{
    buf[0] = 0;
    int fd = connect_from(src, port, timeout_s);
    if (fd < 0)
        return;
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1)) {
        ssize_t n = read(fd, buf, size - 1);
        buf[n > 0 ? n : 0] = 0;
    }
    close(fd);
}

static void test_idle_connections(void **state)
{
    (void)state;
    char err[256], answer[256];
    struct op_health *h = op_health_start("127.0.0.1:0", NULL, NULL, NULL, err, sizeof err);
    assert_non_null(h);
    int port = op_health_port(h);
    int idle[64];
    for (int i = 0; i < 64; i++)
        idle[i] = connect_from("127.0.0.1", port, 60);
    /* Another address still gets an answer at once; 5 s is only "at all". */
    healthz_from("127.0.0.2", port, 5, answer, sizeof answer);
    assert_true(strncmp(answer, "HTTP/1.1 200", 12) == 0);
    /* A silent connection is closed by the server (EOF, not our 60 s receive timeout). */
    char c;
    assert_int_equal(read(idle[0], &c, 1), 0);
    for (int i = 0; i < 64; i++)
        if (idle[i] >= 0)
            close(idle[i]);
    /* The same address is served again once the server has cleaned up its connections
     * (which may lag the close we saw by a moment): "at all", within a generous bound. */
    for (int tries = 0; tries < 100; tries++) {
        healthz_from("127.0.0.1", port, 30, answer, sizeof answer);
        if (strncmp(answer, "HTTP/1.1 200", 12) == 0)
            break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(strncmp(answer, "HTTP/1.1 200", 12) == 0);
    op_health_stop(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
