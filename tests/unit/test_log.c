/* Unit tests for common/log: level parsing and filtering, the text and JSON line formats,
 * escaping, truncation and whole-line writes from concurrent threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "kafka.h"
#include "log.h"

/* ---- capturing stderr ---------------------------------------------------------------- */

struct capture {
    int saved_fd;
    FILE *tmp;
};

static void capture_begin(struct capture *c)
{
    fflush(stderr);
    c->tmp = tmpfile();
    assert_non_null(c->tmp);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(fileno(c->tmp), STDERR_FILENO) >= 0);
}

/* Restores stderr and returns what was written (caller frees). */
static char *capture_end(struct capture *c)
{
    long size;
    char *text;

    assert_true(dup2(c->saved_fd, STDERR_FILENO) >= 0);
    close(c->saved_fd);
    assert_int_equal(fseek(c->tmp, 0, SEEK_END), 0);
    size = ftell(c->tmp);
    assert_true(size >= 0);
    rewind(c->tmp);
    text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, c->tmp), (size_t)size);
    text[size] = '\0';
    fclose(c->tmp);
    return text;
}

static int reset(void **state)
{
    (void)state;
    op_log_level = OP_LOG_INFO;
    op_log_set_json(0);
    op_log_set_prog("outreach-producer");
    return 0;
}

/* The clock the log reads (CLOCK_REALTIME), in seconds. time() may use a coarser clock that
 * lags it by a tick, so a line stamped just after a second turned could look "after" it. */
static time_t wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

/* Checks `YYYY-MM-DDTHH:MM:SS.mmmZ` and that it lies between two readings of the clock,
 * which works because ISO 8601 UTC strings sort like the times they name. */
static void assert_timestamp(const char *ts, time_t before, time_t after)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    char lo[32], hi[32];
    struct tm tm;

    for (size_t i = 0; i < strlen(shape); i++) {
        if (shape[i] == 'd')
            assert_true(ts[i] >= '0' && ts[i] <= '9');
        else
            assert_int_equal(ts[i], shape[i]);
    }
    strftime(lo, sizeof(lo), "%Y-%m-%dT%H:%M:%S.000Z", gmtime_r(&before, &tm));
    strftime(hi, sizeof(hi), "%Y-%m-%dT%H:%M:%S.999Z", gmtime_r(&after, &tm));
    assert_true(strncmp(lo, ts, 24) <= 0);
    assert_true(strncmp(ts, hi, 24) <= 0);
}

/* ---- levels ----------------------------------------------------------------------------- */

static void test_level_parse(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int level;
    } good[] = {{"err", 3},  {"error", 3},  {"ERROR", 3}, {"warning", 4}, {"warn", 4},
                {"Warn", 4}, {"notice", 5}, {"info", 6},  {"INFO", 6},    {"debug", 7},
                {"3", 3},    {"4", 4},      {"5", 5},     {"6", 6},       {"7", 7}};
    static const char *const bad[] = {"",     "2",     "8",     "0",     "37",
                                      "03",   "inf",   "infos", "warn ", " info",
                                      "crit", "emerg", "-6",    "6.0",   "errors"};
    int level;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        level = -1;
        assert_int_equal(op_log_level_parse(good[i].name, &level), 0);
        assert_int_equal(level, good[i].level);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        level = 42;
        assert_int_equal(op_log_level_parse(bad[i], &level), -1);
        assert_int_equal(level, 42);
    }
    assert_int_equal(op_log_level_parse(NULL, &level), -1);
    assert_int_equal(OP_LOG_ERR, 3);
    assert_int_equal(OP_LOG_DEBUG, 7);
}

static void test_level_name(void **state)
{
    (void)state;
    assert_string_equal(op_log_level_name(OP_LOG_ERR), "error");
    assert_string_equal(op_log_level_name(OP_LOG_WARNING), "warning");
    assert_string_equal(op_log_level_name(OP_LOG_NOTICE), "notice");
    assert_string_equal(op_log_level_name(OP_LOG_INFO), "info");
    assert_string_equal(op_log_level_name(OP_LOG_DEBUG), "debug");
    assert_string_equal(op_log_level_name(2), "crit");
    assert_string_equal(op_log_level_name(0), "emerg");
}

static int side_effects;

static int bump(void)
{
    return ++side_effects;
}

static void test_filtering(void **state)
{
    (void)state;
    struct capture c;
    char *out;

    op_log_level = OP_LOG_WARNING;
    side_effects = 0;
    capture_begin(&c);
    op_log(OP_LOG_DEBUG, "debug %d", bump());
    op_log(OP_LOG_INFO, "info %d", bump());
    op_log(OP_LOG_NOTICE, "notice %d", bump());
    op_log(OP_LOG_WARNING, "warning %d", bump());
    op_log(OP_LOG_ERR, "err %d", bump());
    out = capture_end(&c);
    /* Filtered events must not even evaluate their arguments. */
    assert_int_equal(side_effects, 2);
    assert_non_null(strstr(out, " WARNING: warning 1\n"));
    assert_non_null(strstr(out, " ERROR: err 2\n"));
    assert_null(strstr(out, "info"));
    assert_null(strstr(out, "debug"));
    assert_null(strstr(out, "notice"));
    free(out);

    op_log_level = OP_LOG_DEBUG;
    capture_begin(&c);
    op_log(OP_LOG_DEBUG, "now visible");
    out = capture_end(&c);
    assert_non_null(strstr(out, " DEBUG: now visible\n"));
    free(out);
}

/* ---- text format ------------------------------------------------------------------------ */

static void test_text_line(void **state)
{
    (void)state;
    struct capture c;
    char want[128];
    time_t before = wall_seconds();

    capture_begin(&c);
    op_log(OP_LOG_INFO, "sent %d events to %s", 42, "visits");
    char *out = capture_end(&c);
    time_t after = wall_seconds();

    assert_timestamp(out, before, after);
    snprintf(want, sizeof(want), " outreach-producer[%ld] INFO: sent 42 events to visits\n",
             (long)getpid());
    assert_string_equal(out + 24, want);
    free(out);
}

static void test_text_escaping(void **state)
{
    (void)state;
    struct capture c;
    char want[256];

    capture_begin(&c);
    op_log(OP_LOG_NOTICE, "%s",
           "a\nb\rc\td\x01"
           "e\x7f"
           "f \"q\" \\ 工会 \xff!");
    char *out = capture_end(&c);
    snprintf(want, sizeof(want),
             " outreach-producer[%ld] NOTICE: a\\nb\\rc\td\\x01e\\x7ff \"q\" \\ 工会 \\xff!\n",
             (long)getpid());
    assert_string_equal(out + 24, want);
    free(out);
}

/* ---- JSON format ------------------------------------------------------------------------ */

/* Parses a single JSON line with jansson, an independent implementation. */
static json_t *parse_line(const char *line)
{
    json_error_t jerr;
    size_t len = strlen(line);

    assert_true(len > 0 && line[len - 1] == '\n');
    assert_true(strchr(line, '\n') == line + len - 1);
    json_t *obj = json_loadb(line, len - 1, 0, &jerr);
    if (!obj)
        fail_msg("not JSON (%s): %s", jerr.text, line);
    return obj;
}

static void test_json_line(void **state)
{
    (void)state;
    struct capture c;
    char want[512];
    time_t before = wall_seconds();

    op_log_set_json(1);
    op_log_set_prog("out\"reach");
    capture_begin(&c);
    op_log(OP_LOG_WARNING, "%s", "say \"hi\" \\ \n\t\x01\x1f\x7f 工会 😀 \xff\xc3( end");
    char *out = capture_end(&c);
    time_t after = wall_seconds();

    assert_memory_equal(out, "{\"ts\":\"", 7);
    assert_timestamp(out + 7, before, after);
    snprintf(
        want, sizeof(want),
        "\",\"prog\":\"out\\\"reach\",\"pid\":%ld,\"level\":\"warning\","
        "\"msg\":\"say \\\"hi\\\" \\\\ \\n\\t\\u0001\\u001f\x7f 工会 😀 \\ufffd\\ufffd( end\"}\n",
        (long)getpid());
    assert_string_equal(out + 7 + 24, want);

    json_t *obj = parse_line(out);
    assert_string_equal(json_string_value(json_object_get(obj, "msg")),
                        "say \"hi\" \\ \n\t\x01\x1f\x7f 工会 😀 \xef\xbf\xbd\xef\xbf\xbd( end");
    assert_string_equal(json_string_value(json_object_get(obj, "prog")), "out\"reach");
    assert_string_equal(json_string_value(json_object_get(obj, "level")), "warning");
    assert_int_equal(json_integer_value(json_object_get(obj, "pid")), getpid());
    json_decref(obj);
    free(out);
}

static void test_json_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"\xc0\xaf", "\\ufffd\\ufffd"},                       /* overlong '/' */
        {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},            /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* above U+10FFFF */
        {"\xe5\xb7", "\\ufffd\\ufffd"},                       /* cut short */
        {"\xc3\xa9", "é"},
        {"\xf0\x9f\x98\x80", "😀"},
    };

    op_log_set_json(1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct capture c;
        char want[128];
        capture_begin(&c);
        op_log(OP_LOG_INFO, "<%s>", cases[i].in);
        char *out = capture_end(&c);
        snprintf(want, sizeof(want), "\"msg\":\"<%s>\"}\n", cases[i].want);
        const char *msg = strstr(out, "\"msg\":");
        assert_non_null(msg);
        assert_string_equal(msg, want);
        json_decref(parse_line(out));
        free(out);
    }
}

/* ---- truncation ------------------------------------------------------------------------- */

static char *log_captured(const char *msg)
{
    struct capture c;

    capture_begin(&c);
    op_log(OP_LOG_INFO, "%s", msg);
    return capture_end(&c);
}

static char *repeat(const char *unit, size_t times)
{
    size_t n = strlen(unit);
    char *s = malloc(n * times + 1);

    assert_non_null(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * n, unit, n);
    s[n * times] = '\0';
    return s;
}

static void test_truncation_text(void **state)
{
    (void)state;
    char *msg = repeat("a", 10000);
    char *out = log_captured(msg);
    size_t len = strlen(out);

    assert_true(len <= OP_LOG_LINE_MAX);
    assert_true(len > OP_LOG_LINE_MAX - 16);
    assert_string_equal(out + len - 13, " [truncated]\n");
    assert_int_equal(strchr(out, '\n') - out, (long)len - 1);
    free(out);
    free(msg);

    /* A message that fits exactly is not marked. */
    msg = repeat("b", 100);
    out = log_captured(msg);
    assert_null(strstr(out, "[truncated]"));
    free(out);
    free(msg);
}

static void test_truncation_json(void **state)
{
    (void)state;
    /* Multi-byte characters and 6-byte escapes must never be cut in half. */
    static const char *const units[] = {"工", "\x01", "\"", "\\", "😀"};

    op_log_set_json(1);
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        char *msg = repeat(units[u], 5000);
        char *out = log_captured(msg);
        assert_true(strlen(out) <= OP_LOG_LINE_MAX);
        json_t *obj = parse_line(out);
        const char *m = json_string_value(json_object_get(obj, "msg"));
        assert_non_null(m);
        size_t mlen = strlen(m), ulen = strlen(units[u]);
        assert_true(mlen > 12);
        assert_string_equal(m + mlen - 12, " [truncated]");
        assert_int_equal((mlen - 12) % ulen, 0);
        for (size_t i = 0; i + 12 < mlen; i += ulen)
            assert_memory_equal(m + i, units[u], ulen);
        json_decref(obj);
        free(out);
        free(msg);
    }
}

/* ---- librdkafka callback, errno -------------------------------------------------------- */

static void test_rdkafka_cb(void **state)
{
    (void)state;
    struct capture c;
    char want[256];

    capture_begin(&c);
    op_log_rdkafka_cb(NULL, 6, "BROKER", "[thrd:app]: localhost:9092: up");
    op_log_rdkafka_cb(NULL, 7, "PROTOERR", "hidden at info");
    op_log_rdkafka_cb(NULL, 2, "FAIL", "critical");
    char *out = capture_end(&c);
    snprintf(want, sizeof(want),
             " outreach-producer[%ld] INFO: rdkafka BROKER: [thrd:app]: localhost:9092: up\n",
             (long)getpid());
    assert_memory_equal(out + 24, want, strlen(want));
    char *second = out + 24 + strlen(want);
    snprintf(want, sizeof(want), " outreach-producer[%ld] CRIT: rdkafka FAIL: critical\n",
             (long)getpid());
    assert_string_equal(second + 24, want);
    assert_null(strstr(out, "hidden"));
    free(out);

    op_log_set_json(1);
    capture_begin(&c);
    op_log_rdkafka_cb(NULL, 4, "CONFWARN", "x");
    out = capture_end(&c);
    json_t *obj = parse_line(out);
    assert_string_equal(json_string_value(json_object_get(obj, "level")), "warning");
    assert_string_equal(json_string_value(json_object_get(obj, "msg")), "rdkafka CONFWARN: x");
    json_decref(obj);
    free(out);
}

static void test_errno_preserved(void **state)
{
    (void)state;
    struct capture c;

    capture_begin(&c);
    errno = ERANGE;
    op_log(OP_LOG_ERR, "failed: %s", "x");
    int saved = errno;
    free(capture_end(&c));
    assert_int_equal(saved, ERANGE);
}

static void test_prog(void **state)
{
    (void)state;
    char want[128];
    char *long_name = repeat("p", 100);

    op_log_set_prog(long_name);
    char *out = log_captured("m");
    snprintf(want, sizeof(want), " %.63s[%ld] INFO: m\n", long_name, (long)getpid());
    assert_string_equal(out + 24, want);
    free(out);

    op_log_set_prog(NULL);
    out = log_captured("m");
    snprintf(want, sizeof(want), " outreach[%ld] INFO: m\n", (long)getpid());
    assert_string_equal(out + 24, want);
    free(out);
    free(long_name);
}

/* ---- concurrency ------------------------------------------------------------------------ */

#define THREADS 4
#define LINES 300

static void *writer(void *arg)
{
    int id = *(int *)arg;
    char body[1500];

    /* Long bodies so an interleaved write would be visible. */
    memset(body, 'A' + id, sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    for (int i = 0; i < LINES; i++)
        op_log(OP_LOG_INFO, "t%d %d %s", id, i, body);
    return NULL;
}

static void test_concurrent_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/test_log_XXXXXX";
    pthread_t threads[THREADS];
    int ids[THREADS], saved, fd = mkstemp(path);
    int seen[THREADS] = {0};

    assert_true(fd >= 0);
    /* O_APPEND as a log file opened by a supervisor would be. */
    assert_int_equal(fcntl(fd, F_SETFL, O_APPEND), 0);
    saved = dup(STDERR_FILENO);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    for (int i = 0; i < THREADS; i++) {
        ids[i] = i;
        assert_int_equal(pthread_create(&threads[i], NULL, writer, &ids[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        int id, i, off = 0;
        const char *msg = strstr(line, " INFO: ");
        assert_non_null(msg);
        assert_int_equal(sscanf(msg, " INFO: t%d %d %n", &id, &i, &off), 2);
        assert_true(id >= 0 && id < THREADS);
        assert_int_equal(i, seen[id]);
        seen[id]++;
        const char *body = msg + off;
        assert_int_equal(strspn(body, (char[]){(char)('A' + id), 0}), 1499);
        assert_string_equal(body + 1499, "\n");
    }
    free(line);
    fclose(f);
    unlink(path);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(seen[i], LINES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_level_parse, reset),
        cmocka_unit_test_setup(test_level_name, reset),
        cmocka_unit_test_setup(test_filtering, reset),
        cmocka_unit_test_setup(test_text_line, reset),
        cmocka_unit_test_setup(test_text_escaping, reset),
        cmocka_unit_test_setup(test_json_line, reset),
        cmocka_unit_test_setup(test_json_invalid_utf8, reset),
        cmocka_unit_test_setup(test_truncation_text, reset),
        cmocka_unit_test_setup(test_truncation_json, reset),
        cmocka_unit_test_setup(test_rdkafka_cb, reset),
        cmocka_unit_test_setup(test_errno_preserved, reset),
        cmocka_unit_test_setup(test_prog, reset),
        cmocka_unit_test_setup(test_concurrent_lines, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
