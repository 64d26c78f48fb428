/* Unit tests for common/conf: every routing branch, typed validation, files with exact
 * `path:line: reason` errors, pattern keys, secrets from files and masking. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "kafka.h"
#include "log.h"

/* The program's settings the table binds (typed settings), and one endpoint's. */
struct test_settings {
    int batch_size;
    long long retry_max;
    const char *spool_dir, *api_token, *default_url;
    bool dry_run;
};
struct test_endpoint {
    const char *url, *token;
};
#define S_AT(member) OP_CONF_AT(struct test_settings, member)
#define E_AT(member) OP_CONF_AT(struct test_endpoint, member)

static const struct op_conf_def defs[] = {
    {"batch.size", OP_CONF_INT, "500", "Events per batch", 1, 10000, S_AT(batch_size)},
    {"retry.max", OP_CONF_INT, "-1", "Retries, -1 for ever", 0, 0, S_AT(retry_max)},
    {"spool.dir", OP_CONF_STRING, "/var/spool/outreach", "Spool directory", 0, 0, S_AT(spool_dir)},
    {"dry.run", OP_CONF_BOOL, "false", "Validate only", 0, 0, S_AT(dry_run)},
    {"api.token", OP_CONF_SECRET, "changeme", "Token for the API", 0, 0, S_AT(api_token)},
    {"endpoint.*.url", OP_CONF_STRING, NULL, "URL of endpoint NAME", 0, 0, E_AT(url)},
    {"endpoint.*.token", OP_CONF_SECRET, NULL, "Bearer token of endpoint NAME", 0, 0, E_AT(token)},
    {"agency.*.regions", OP_CONF_STRING, "", "Region prefixes agency NAME may read", 0, 0,
     OP_CONF_OWNED},
    {"endpoint.default.url", OP_CONF_STRING, "http://localhost:8080/", "Fallback endpoint", 0, 0,
     S_AT(default_url)},
    {0},
};

static struct test_settings bound(const struct op_conf *conf)
{
    struct test_settings s;
    memset(&s, 0xa5, sizeof s); /* every field must be written */
    op_conf_bind(conf, &s);
    return s;
}

/* ---- helpers ---------------------------------------------------------------------------- */

struct tmpfile_path {
    char path[64];
};

static void write_file(struct tmpfile_path *t, const char *content)
{
    snprintf(t->path, sizeof(t->path), "/tmp/test_conf_XXXXXX");
    int fd = mkstemp(t->path);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
}

static struct op_conf *new_conf(int with_kafka)
{
    struct op_conf *conf = with_kafka ? op_conf_new_kafka(defs) : op_conf_new(defs);
    assert_non_null(conf);
    return conf;
}

static void set_ok(struct op_conf *conf, const char *key, const char *value)
{
    char err[512] = "";
    if (op_conf_set(conf, key, value, err, sizeof(err)) != 0)
        fail_msg("%s=%s: %s", key, value, err);
}

static void set_fails(struct op_conf *conf, const char *key, const char *value, const char *want)
{
    char err[512] = "";
    assert_int_equal(op_conf_set(conf, key, value, err, sizeof(err)), -1);
    assert_string_equal(err, want);
}

static const char *kget(struct op_conf *conf, const char *key)
{
    static char buf[256];
    return op_conf_kafka_get(conf, key, buf, sizeof(buf));
}

/* Runs fn(conf, out) into a memory stream and returns the text (caller frees). */
static char *capture_stream(const struct op_conf *conf, void (*fn)(const struct op_conf *, FILE *))
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    fn(conf, out);
    fclose(out);
    return text;
}

/* ---- our keys --------------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(0);

    assert_string_equal(op_conf_get(conf, "batch.size"), "500");
    assert_int_equal(bound(conf).batch_size, 500);
    assert_int_equal(bound(conf).retry_max, -1);
    assert_string_equal(op_conf_get(conf, "spool.dir"), "/var/spool/outreach");
    assert_int_equal(bound(conf).dry_run, 0);
    assert_string_equal(op_conf_get(conf, "api.token"), "changeme");
    assert_string_equal(op_conf_get(conf, "agency.yunnan.regions"), "");
    assert_null(op_conf_get(conf, "endpoint.x.url"));
    assert_string_equal(op_conf_get(conf, "endpoint.default.url"), "http://localhost:8080/");
    struct test_settings b = bound(conf);
    assert_int_equal(b.batch_size, 500);
    assert_true(b.retry_max == -1);
    assert_string_equal(b.spool_dir, "/var/spool/outreach");
    assert_false(b.dry_run);
    assert_string_equal(b.api_token, "changeme");
    assert_string_equal(b.default_url, "http://localhost:8080/");
    op_conf_destroy(conf);
    op_conf_destroy(NULL);
}

static void test_set_typed(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(0);
    static const char *const yes[] = {"true", "TRUE", "1", "yes", "Yes", "on"};
    static const char *const no[] = {"false", "False", "0", "no", "off", "OFF"};

    set_ok(conf, "batch.size", "42");
    assert_int_equal(bound(conf).batch_size, 42);
    set_ok(conf, "batch.size", "10000");
    set_ok(conf, "batch.size", "1");
    set_ok(conf, "batch.size", "+7");
    assert_int_equal(bound(conf).batch_size, 7);
    set_ok(conf, "retry.max", "-9223372036854775808");
    assert_true(bound(conf).retry_max == INT64_MIN);
    set_ok(conf, "spool.dir", "");
    assert_string_equal(op_conf_get(conf, "spool.dir"), "");
    for (size_t i = 0; i < 6; i++) {
        set_ok(conf, "dry.run", yes[i]);
        assert_int_equal(bound(conf).dry_run, 1);
        set_ok(conf, "dry.run", no[i]);
        assert_int_equal(bound(conf).dry_run, 0);
    }
    op_conf_destroy(conf);
}

static void test_bad_values(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(0);
    static const char *const bad_ints[] = {"abc", "",      " 5", "5 ",   "12abc",
                                           "0",   "10001", "-1", "0x10", "99999999999999999999"};
    char want[256];

    set_ok(conf, "batch.size", "77");
    for (size_t i = 0; i < sizeof(bad_ints) / sizeof(bad_ints[0]); i++) {
        snprintf(want, sizeof(want),
                 "bad value \"%s\" for batch.size: expected an integer in 1..10000", bad_ints[i]);
        set_fails(conf, "batch.size", bad_ints[i], want);
    }
    /* A rejected value leaves the previous one in place. */
    assert_int_equal(bound(conf).batch_size, 77);

    set_fails(conf, "batch.size", "x",
              "bad value \"x\" for batch.size: expected an integer in 1..10000");
    set_fails(conf, "retry.max", "abc", "bad value \"abc\" for retry.max: expected an integer");
    set_fails(conf, "retry.max", "99999999999999999999",
              "bad value \"99999999999999999999\" for retry.max: expected an integer");
    set_fails(conf, "dry.run", "maybe",
              "bad value \"maybe\" for dry.run: expected true/false, yes/no, on/off or 1/0");
    set_fails(conf, "dry.run", "",
              "bad value \"\" for dry.run: expected true/false, yes/no, on/off or 1/0");
    set_fails(conf, "", "x", "empty configuration key");
    set_fails(conf, "spool.dir", NULL, "no value for spool.dir");

    char *big = malloc(OP_CONF_VALUE_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', OP_CONF_VALUE_MAX + 1);
    big[OP_CONF_VALUE_MAX + 1] = '\0';
    set_fails(conf, "spool.dir", big,
              "value for spool.dir is too long (65537 bytes, at most 65536)");
    big[OP_CONF_VALUE_MAX] = '\0';
    set_ok(conf, "spool.dir", big);
    assert_int_equal(strlen(op_conf_get(conf, "spool.dir")), 65536);
    free(big);
    op_conf_destroy(conf);
}

static void test_unknown_without_kafka(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(0);
    char buf[64];

    set_fails(conf, "nope", "1", "No such configuration property: \"nope\"");
    set_fails(conf, "bootstrap.servers", "k:9092",
              "No such configuration property: \"bootstrap.servers\"");
    set_fails(conf, "topic.acks", "all", "No such configuration property: \"topic.acks\"");
    assert_null(op_conf_kafka_dup(conf));
    assert_null(op_conf_kafka_get(conf, "bootstrap.servers", buf, sizeof(buf)));
    op_conf_destroy(conf);
}

/* ---- librdkafka routing ----------------------------------------------------------------- */

static void test_kafka_routing(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(1);

    /* Our key even with librdkafka present. */
    set_ok(conf, "batch.size", "9");
    assert_int_equal(bound(conf).batch_size, 9);

    set_ok(conf, "bootstrap.servers", "k1:9092,k2:9092");
    assert_string_equal(kget(conf, "bootstrap.servers"), "k1:9092,k2:9092");

    /* topic. prefix: the default topic config, prefix stripped. */
    set_ok(conf, "topic.message.timeout.ms", "1234");
    assert_string_equal(kget(conf, "topic.message.timeout.ms"), "1234");
    /* A topic-level key without the prefix lands in the same default topic config. */
    set_ok(conf, "request.timeout.ms", "4321");
    assert_string_equal(kget(conf, "topic.request.timeout.ms"), "4321");
    assert_string_equal(kget(conf, "request.timeout.ms"), "4321");
    /* librdkafka's own global keys that start with "topic.". */
    set_ok(conf, "topic.metadata.refresh.interval.ms", "1000");
    assert_string_equal(kget(conf, "topic.metadata.refresh.interval.ms"), "1000");

    set_fails(conf, "foo", "1", "No such configuration property: \"foo\"");
    /* Unknown keys are named as typed, prefix included. */
    set_fails(conf, "topic.foo", "1", "No such configuration property: \"topic.foo\"");
    set_fails(conf, "session.timeout.ms", "abc",
              "Invalid value for configuration property \"session.timeout.ms\"");
    set_fails(conf, "topic.acks", "maybe",
              "Invalid value for configuration property \"request.required.acks\"");
    assert_null(kget(conf, "foo"));
    assert_null(kget(conf, "sasl.password")); /* known but unset */

    char small[4];
    assert_null(op_conf_kafka_get(conf, "bootstrap.servers", small, sizeof(small)));
    op_conf_destroy(conf);
}

static const char *dup_get(rd_kafka_conf_t *kc, const char *key, char *buf, size_t size)
{
    return rd_kafka_conf_get(kc, key, buf, &size) == RD_KAFKA_CONF_OK ? buf : "(unset)";
}

static const char *dup_topic_get(rd_kafka_conf_t *kc, const char *key, char *buf, size_t size)
{
    rd_kafka_topic_conf_t *tc = rd_kafka_conf_get_default_topic_conf(kc);
    assert_non_null(tc);
    return rd_kafka_topic_conf_get(tc, key, buf, &size) == RD_KAFKA_CONF_OK ? buf : "(unset)";
}

static void test_kafka_dup(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(1);
    char buf[256];

    set_ok(conf, "bootstrap.servers", "k1:9092");
    set_ok(conf, "topic.message.timeout.ms", "5000");
    set_ok(conf, "acks", "all");
    /* Global and topic-level (legacy) both exist: librdkafka's consumer reads the global one. */
    set_ok(conf, "enable.auto.commit", "false");

    rd_kafka_conf_t *kc = op_conf_kafka_dup(conf);
    assert_non_null(kc);
    set_ok(conf, "bootstrap.servers", "changed:9092");
    set_ok(conf, "topic.message.timeout.ms", "6000");

    assert_string_equal(dup_get(kc, "bootstrap.servers", buf, sizeof(buf)), "k1:9092");
    assert_string_equal(dup_get(kc, "enable.auto.commit", buf, sizeof(buf)), "false");
    assert_string_equal(dup_topic_get(kc, "message.timeout.ms", buf, sizeof(buf)), "5000");
    assert_string_equal(dup_topic_get(kc, "request.required.acks", buf, sizeof(buf)), "-1");
    assert_string_equal(dup_topic_get(kc, "enable.auto.commit", buf, sizeof(buf)), "true");
    rd_kafka_conf_destroy(kc);
    op_conf_destroy(conf);
}

static void test_kafka_dup_logs_through_op_log(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(1);
    char errstr[256];
    int saved_level = op_log_level;

    /* No bootstrap.servers: librdkafka warns from rd_kafka_new() on this thread. */
    rd_kafka_conf_t *kc = op_conf_kafka_dup(conf);
    assert_non_null(kc);
    op_log_level = OP_LOG_DEBUG;
    op_log_set_json(0);
    op_log_set_prog("test_conf");
    fflush(stderr);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
    if (rk)
        rd_kafka_destroy(rk);
    else
        rd_kafka_conf_destroy(kc);
    dup2(saved, STDERR_FILENO);
    close(saved);
    op_log_level = saved_level;
    assert_non_null(rk);

    char text[8192] = "";
    rewind(tmp);
    size_t n = fread(text, 1, sizeof(text) - 1, tmp);
    text[n] = '\0';
    fclose(tmp);
    assert_non_null(strstr(text, " test_conf["));
    assert_non_null(strstr(text, "] NOTICE: rdkafka CONFWARN: [thrd:app]: No `bootstrap.servers` "
                                 "configured: client will not be able to connect to Kafka "
                                 "cluster\n"));
    op_conf_destroy(conf);
}

/* ---- secrets from files ----------------------------------------------------------------- */

static void test_file_secrets(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(1);
    struct tmpfile_path pw, tok, crlf, empty, blank, words, num;
    char want[512];

    write_file(&pw, "s3cret-pw\nsecond line\n");
    write_file(&tok, "tok-a");
    write_file(&crlf, "ssl-pw\r\n");
    write_file(&empty, "");
    write_file(&blank, "\nlater\n");
    write_file(&words, "lots\n");
    write_file(&num, "2500\n");

    set_ok(conf, "sasl.password.file", pw.path);
    assert_string_equal(kget(conf, "sasl.password"), "s3cret-pw");
    set_ok(conf, "ssl.key.password.file", crlf.path);
    assert_string_equal(kget(conf, "ssl.key.password"), "ssl-pw");
    set_ok(conf, "api.token.file", crlf.path);
    assert_string_equal(op_conf_get(conf, "api.token"), "ssl-pw");
    set_ok(conf, "endpoint.a.token.file", tok.path);
    assert_string_equal(op_conf_get(conf, "endpoint.a.token"), "tok-a");
    set_ok(conf, "topic.message.timeout.ms.file", num.path);
    assert_string_equal(kget(conf, "topic.message.timeout.ms"), "2500");

    set_fails(conf, "sasl.password.file", "/nonexistent/kafka.pass",
              "cannot read sasl.password.file \"/nonexistent/kafka.pass\": "
              "No such file or directory");
    set_fails(conf, "api.token.file", "/tmp",
              "cannot read api.token.file \"/tmp\": Is a directory");
    snprintf(want, sizeof(want), "sasl.password.file \"%s\" is empty", empty.path);
    set_fails(conf, "sasl.password.file", empty.path, want);
    snprintf(want, sizeof(want), "api.token.file \"%s\": the first line is empty", blank.path);
    set_fails(conf, "api.token.file", blank.path, want);
    /* Invalid content: the message names the file, never what is in it. */
    snprintf(want, sizeof(want),
             "batch.size.file \"%s\": its content is not a valid value for batch.size", words.path);
    set_fails(conf, "batch.size.file", words.path, want);
    snprintf(
        want, sizeof(want),
        "message.max.bytes.file \"%s\": its content is not a valid value for message.max.bytes",
        words.path);
    set_fails(conf, "message.max.bytes.file", words.path, want);
    /* A stem that is no key at all: the full key is reported unknown. */
    set_fails(conf, "foo.file", pw.path, "No such configuration property: \"foo.file\"");
    set_fails(conf, "endpoint.a.b.token.file", tok.path,
              "No such configuration property: \"endpoint.a.b.token.file\"");
    op_conf_destroy(conf);

    conf = new_conf(0);
    set_fails(conf, "sasl.password.file", pw.path,
              "No such configuration property: \"sasl.password.file\"");
    set_ok(conf, "api.token.file", pw.path);
    assert_string_equal(op_conf_get(conf, "api.token"), "s3cret-pw");
    op_conf_destroy(conf);

    unlink(pw.path);
    unlink(tok.path);
    unlink(crlf.path);
    unlink(empty.path);
    unlink(blank.path);
    unlink(words.path);
    unlink(num.path);
}

/* ---- files and arguments ---------------------------------------------------------------- */

static void test_load_file(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(1);
    struct tmpfile_path t;
    char err[512] = "";

    write_file(&t, "# outreach producer\n"
                   "   batch.size = 250  \n"
                   "\n"
                   "\t\n"
                   "  # indented comment\n"
                   "spool.dir=/srv/spool # not a comment\n"
                   "endpoint.b.url = http://b/\r\n"
                   "endpoint.a.url=http://a/?x=1&y==2\n"
                   "bootstrap.servers = k1:9092,k2:9092\n"
                   "topic.message.timeout.ms=5000\n"
                   "dry.run=yes");
    assert_int_equal(op_conf_load_file(conf, t.path, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(bound(conf).batch_size, 250);
    assert_string_equal(op_conf_get(conf, "spool.dir"), "/srv/spool # not a comment");
    assert_string_equal(op_conf_get(conf, "endpoint.b.url"), "http://b/");
    assert_string_equal(op_conf_get(conf, "endpoint.a.url"), "http://a/?x=1&y==2");
    assert_string_equal(kget(conf, "bootstrap.servers"), "k1:9092,k2:9092");
    assert_string_equal(kget(conf, "topic.message.timeout.ms"), "5000");
    assert_int_equal(bound(conf).dry_run, 1);
    unlink(t.path);
    op_conf_destroy(conf);
}

static void test_load_file_errors(void **state)
{
    (void)state;
    static const struct {
        const char *content, *reason;
    } cases[] = {
        {"batch.size=1\nnot a pair\n", "2: expected key=value"},
        {"\n\n = x\n", "3: missing key before \"=\""},
        {"batch.size=abc", "1: bad value \"abc\" for batch.size: expected an integer in 1..10000"},
        {"# c\nnope=1\n", "2: No such configuration property: \"nope\""},
        {"# c\n\ntopic.nope = 1\n", "3: No such configuration property: \"topic.nope\""},
        {"batch.size = 0\n", "1: bad value \"0\" for batch.size: expected an integer in 1..10000"},
        {"session.timeout.ms=x\n",
         "1: Invalid value for configuration property \"session.timeout.ms\""},
        {"sasl.password.file=/nonexistent/p\n",
         "1: cannot read sasl.password.file \"/nonexistent/p\": No such file or directory"},
    };
    char err[512], want[512];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct op_conf *conf = new_conf(1);
        struct tmpfile_path t;
        write_file(&t, cases[i].content);
        assert_int_equal(op_conf_load_file(conf, t.path, err, sizeof(err)), -1);
        snprintf(want, sizeof(want), "%s:%s", t.path, cases[i].reason);
        assert_string_equal(err, want);
        unlink(t.path);
        op_conf_destroy(conf);
    }

    /* It stops at the first error: later lines are not applied. */
    struct op_conf *conf = new_conf(0);
    struct tmpfile_path t;
    write_file(&t, "batch.size=7\nbogus\nspool.dir=/x\n");
    assert_int_equal(op_conf_load_file(conf, t.path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: expected key=value", t.path);
    assert_string_equal(err, want);
    assert_int_equal(bound(conf).batch_size, 7);
    assert_string_equal(op_conf_get(conf, "spool.dir"), "/var/spool/outreach");
    unlink(t.path);

    assert_int_equal(op_conf_load_file(conf, "/nonexistent/op.conf", err, sizeof(err)), -1);
    assert_string_equal(err, "/nonexistent/op.conf: No such file or directory");
    op_conf_destroy(conf);
}

static void test_apply_arg(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(1);
    char err[512];

    assert_int_equal(op_conf_apply_arg(conf, "batch.size=9", err, sizeof(err)), 0);
    assert_int_equal(bound(conf).batch_size, 9);
    assert_int_equal(op_conf_apply_arg(conf, "endpoint.c.url=http://c/?a=b", err, sizeof(err)), 0);
    assert_string_equal(op_conf_get(conf, "endpoint.c.url"), "http://c/?a=b");
    assert_int_equal(op_conf_apply_arg(conf, "client.id=outreach", err, sizeof(err)), 0);
    assert_string_equal(kget(conf, "client.id"), "outreach");

    assert_int_equal(op_conf_apply_arg(conf, "batch.size", err, sizeof(err)), -1);
    assert_string_equal(err, "expected key=value, got \"batch.size\"");
    assert_int_equal(op_conf_apply_arg(conf, "=5", err, sizeof(err)), -1);
    assert_string_equal(err, "missing key before \"=\" in \"=5\"");
    assert_int_equal(op_conf_apply_arg(conf, "batch.size=", err, sizeof(err)), -1);
    assert_string_equal(err, "bad value \"\" for batch.size: expected an integer in 1..10000");
    assert_int_equal(op_conf_apply_arg(conf, "foo=1", err, sizeof(err)), -1);
    assert_string_equal(err, "No such configuration property: \"foo\"");

    assert_true(op_conf_is_list_request("list"));
    assert_false(op_conf_is_list_request("List"));
    assert_false(op_conf_is_list_request("list=1"));
    assert_false(op_conf_is_list_request(NULL));
    op_conf_destroy(conf);
}

/* ---- pattern keys ----------------------------------------------------------------------- */

struct seen {
    char text[512];
    int calls, stop_after;
};

static int collect(const char *name, const char *key, const char *value, void *opaque)
{
    struct seen *s = opaque;
    size_t len = strlen(s->text);

    snprintf(s->text + len, sizeof(s->text) - len, "%s|%s|%s;", name, key, value);
    return ++s->calls == s->stop_after ? 7 : 0;
}

static void test_patterns(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(0);
    struct seen s = {.stop_after = -1};

    set_ok(conf, "endpoint.b.url", "http://b/");
    set_ok(conf, "endpoint.a.url", "http://a/");
    set_ok(conf, "endpoint.c-1.url", "http://c/");
    set_ok(conf, "endpoint.default.url", "http://d/"); /* its own plain key */
    set_ok(conf, "endpoint.a.token", "tok");
    set_ok(conf, "agency.yunnan.regions", "53");
    set_ok(conf, "endpoint.b.url", "http://b2/"); /* replaced, not added */

    set_fails(conf, "endpoint.a.b.url", "x",
              "No such configuration property: \"endpoint.a.b.url\"");
    set_fails(conf, "endpoint..url", "x", "No such configuration property: \"endpoint..url\"");
    set_fails(conf, "endpoint.url", "x", "No such configuration property: \"endpoint.url\"");
    set_fails(conf, "xendpoint.a.url", "x", "No such configuration property: \"xendpoint.a.url\"");

    assert_int_equal(op_conf_foreach(conf, "endpoint.*.url", collect, &s), 0);
    assert_string_equal(s.text, "a|endpoint.a.url|http://a/;b|endpoint.b.url|http://b2/;"
                                "c-1|endpoint.c-1.url|http://c/;");
    assert_int_equal(s.calls, 3);

    memset(&s, 0, sizeof(s));
    s.stop_after = 2;
    assert_int_equal(op_conf_foreach(conf, "endpoint.*.url", collect, &s), 7);
    assert_string_equal(s.text, "a|endpoint.a.url|http://a/;b|endpoint.b.url|http://b2/;");

    memset(&s, 0, sizeof(s));
    s.stop_after = -1;
    assert_int_equal(op_conf_foreach(conf, "agency.*.regions", collect, &s), 0);
    assert_string_equal(s.text, "yunnan|agency.yunnan.regions|53;");

    memset(&s, 0, sizeof(s));
    assert_int_equal(op_conf_foreach(conf, "endpoint.*.token", collect, &s), 0);
    assert_string_equal(s.text, "a|endpoint.a.token|tok;");

    assert_int_equal(op_conf_foreach(conf, "batch.size", collect, &s), -1);
    assert_int_equal(op_conf_foreach(conf, "nope.*", collect, &s), -1);

    assert_string_equal(op_conf_get(conf, "endpoint.default.url"), "http://d/");
    assert_string_equal(op_conf_get(conf, "agency.other.regions"), "");
    op_conf_destroy(conf);
}

/* ---- typed settings --------------------------------------------------------------------- */

/* Runs fn in a child process and returns the signal that ended it (0: it returned). */
static int dies_of(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        op_log_level = 0; /* the programming-error line is expected */
        fn();
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void get_unknown_key(void)
{
    struct op_conf *conf = new_conf(0);
    (void)op_conf_get(conf, "batch.sise"); /* a typo: not NULL, a programming error */
}

static void get_known_key(void)
{
    struct op_conf *conf = new_conf(0);
    (void)op_conf_get(conf, "endpoint.x.url");
    op_conf_destroy(conf);
}

static void bind_unknown_instance(void)
{
    struct op_conf *conf = new_conf(0);
    struct test_endpoint e;
    op_conf_bind_instance(conf, "endpoints", "a", &e);
}

static void bind_module_key_missing(void)
{
    struct module {
        const char *level;
    };
    static const struct op_conf_def keys[] = {
        {"log.level", OP_CONF_STRING, "info", "", 0, 0, OP_CONF_AT(struct module, level)}, {0}};
    struct op_conf *conf = new_conf(0);
    struct module m;
    op_conf_bind_keys(conf, keys, &m);
}

static void bind_unbound_table(void)
{
    static const struct op_conf_def plain[] = {{"n", OP_CONF_INT, "1", "", 0, 0, OP_CONF_NOBIND},
                                               {0}};
    struct op_conf *conf = op_conf_new(plain);
    long long n;
    op_conf_bind(conf, &n);
}

static void test_unknown_key_is_a_programming_error(void **state)
{
    (void)state;
    assert_int_equal(dies_of(get_known_key), 0);
    assert_int_equal(dies_of(get_unknown_key), SIGABRT);
    assert_int_equal(dies_of(bind_unknown_instance), SIGABRT);
    assert_int_equal(dies_of(bind_module_key_missing), SIGABRT);
    assert_int_equal(dies_of(bind_unbound_table), SIGABRT);
}

static void test_set_pairs(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(1);
    char err[256] = "";
    static const char *const good[] = {"batch.size", "11", "bootstrap.servers", "k:1", NULL};
    static const char *const bad[] = {"batch.size", "12",  "batch.size", "0",
                                      "dry.run",    "yes", NULL};

    assert_int_equal(op_conf_set_pairs(conf, good, err, sizeof err), 0);
    assert_int_equal(bound(conf).batch_size, 11);
    assert_string_equal(kget(conf, "bootstrap.servers"), "k:1");
    /* Stops at the first bad pair: what came before it is set, nothing after. */
    assert_int_equal(op_conf_set_pairs(conf, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "batch.size"));
    assert_int_equal(bound(conf).batch_size, 12);
    assert_false(bound(conf).dry_run);
    assert_int_equal(op_conf_set_pairs(conf, NULL, err, sizeof err), 0);
    op_conf_destroy(conf);
}

static void test_bind_instance(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(0);
    struct test_endpoint a, b;

    set_ok(conf, "endpoint.a.url", "http://a/");
    set_ok(conf, "endpoint.a.token", "tok");
    set_ok(conf, "endpoint.b.url", "http://b/");
    memset(&a, 0xa5, sizeof a);
    memset(&b, 0xa5, sizeof b);
    op_conf_bind_instance(conf, "endpoint", "a", &a);
    op_conf_bind_instance(conf, "endpoint", "b", &b);
    assert_string_equal(a.url, "http://a/");
    assert_string_equal(a.token, "tok");
    assert_string_equal(b.url, "http://b/");
    assert_null(b.token); /* unset, no default */
    /* A plain key beside the pattern is not an instance's. */
    assert_string_equal(bound(conf).default_url, "http://localhost:8080/");
    op_conf_destroy(conf);
}

static void test_bind_module_keys(void **state)
{
    (void)state;
    struct module {
        bool dry;
        int batch;
    };
    /* A module's own table: the same keys as the program's, bound into its struct. */
    static const struct op_conf_def keys[] = {
        {"dry.run", OP_CONF_BOOL, "false", "", 0, 0, OP_CONF_AT(struct module, dry)},
        {"batch.size", OP_CONF_INT, "500", "", 1, 10000, OP_CONF_AT(struct module, batch)},
        {0}};
    struct op_conf *conf = new_conf(0);
    struct module m;

    op_conf_bind_keys(conf, keys, &m);
    assert_false(m.dry);
    assert_int_equal(m.batch, 500);
    set_ok(conf, "dry.run", "yes");
    set_ok(conf, "batch.size", "12");
    op_conf_bind_keys(conf, keys, &m);
    assert_true(m.dry);
    assert_int_equal(m.batch, 12);
    op_conf_destroy(conf);
}

static void test_binding_tables(void **state)
{
    (void)state;
    struct fields {
        const char *s;
        long long ll;
        int i;
        bool b;
    };
#define F_AT(m) OP_CONF_AT(struct fields, m)
    static const struct op_conf_def int_as_string[] = {{"n", OP_CONF_INT, "1", "", 0, 0, F_AT(s)},
                                                       {0}};
    static const struct op_conf_def string_as_int[] = {
        {"s", OP_CONF_STRING, "x", "", 0, 0, F_AT(ll)}, {0}};
    static const struct op_conf_def unbounded_int[] = {{"n", OP_CONF_INT, "1", "", 0, 0, F_AT(i)},
                                                       {0}};
    static const struct op_conf_def wide_int[] = {
        {"n", OP_CONF_INT, "1", "", 0, 1LL << 40, F_AT(i)}, {0}};
    static const struct op_conf_def bool_as_int[] = {{"b", OP_CONF_BOOL, "true", "", 0, 1, F_AT(i)},
                                                     {0}};
    static const struct op_conf_def passed_nowhere[] = {
        {"n", OP_CONF_INT, "1", "", 0, 0, OP_CONF_PASSED(0)}, {0}};
    static const struct op_conf_def half_bound[] = {
        {"n", OP_CONF_INT, "1", "", 0, 0, F_AT(ll)},
        {"m", OP_CONF_INT, "1", "", 0, 0, OP_CONF_NOBIND},
        {0}};
    static const struct op_conf_def good[] = {
        {"s", OP_CONF_SECRET, NULL, "", 0, 0, F_AT(s)},
        {"ll", OP_CONF_INT, "-5", "", 0, 0, F_AT(ll)},
        {"i", OP_CONF_INT, "7", "", -10, 10, F_AT(i)},
        {"b", OP_CONF_BOOL, "on", "", 0, 0, F_AT(b)},
        {"c", OP_CONF_STRING, "lz4", "", 0, 0, OP_CONF_PASSED(OP_CONF_TO_PRODUCER)},
        {"m", OP_CONF_STRING, "x", "", 0, 0, OP_CONF_OWNED},
        {0}};
    const struct op_conf_def *bad[] = {int_as_string, string_as_int,  unbounded_int, wide_int,
                                       bool_as_int,   passed_nowhere, half_bound};
#undef F_AT
    int saved_level = op_log_level;
    op_log_level = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(op_conf_new(bad[i]));
    assert_int_equal(op_conf_table_bound(half_bound), 0);
    op_log_level = saved_level;

    assert_int_equal(op_conf_table_bound(good), 1);
    assert_int_equal(op_conf_table_bound(defs), 1);
    struct op_conf *conf = op_conf_new(good);
    assert_non_null(conf);
    struct fields f;
    memset(&f, 0xa5, sizeof f);
    op_conf_bind(conf, &f);
    assert_null(f.s);
    assert_true(f.ll == -5);
    assert_int_equal(f.i, 7);
    assert_true(f.b);
    set_ok(conf, "i", "-10");
    set_ok(conf, "s", "pw");
    op_conf_bind(conf, &f);
    assert_int_equal(f.i, -10);
    assert_string_equal(f.s, "pw");
    assert_ptr_equal(op_conf_table(conf), good);
    op_conf_destroy(conf);
}

static void test_bad_tables(void **state)
{
    (void)state;
    static const struct op_conf_def bad_default[] = {
        {"n", OP_CONF_INT, "ten", "", 0, 0, OP_CONF_NOBIND}, {0}};
    static const struct op_conf_def out_of_range[] = {
        {"n", OP_CONF_INT, "0", "", 1, 5, OP_CONF_NOBIND}, {0}};
    static const struct op_conf_def bad_bool[] = {
        {"b", OP_CONF_BOOL, "maybe", "", 0, 0, OP_CONF_NOBIND}, {0}};
    static const struct op_conf_def partial_star[] = {
        {"a*.b", OP_CONF_STRING, 0, "", 0, 0, OP_CONF_NOBIND}, {0}};
    static const struct op_conf_def two_stars[] = {
        {"a.*.*", OP_CONF_STRING, 0, "", 0, 0, OP_CONF_NOBIND}, {0}};
    static const struct op_conf_def empty_key[] = {
        {"", OP_CONF_STRING, 0, "", 0, 0, OP_CONF_NOBIND}, {0}};
    const struct op_conf_def *tables[] = {bad_default,  out_of_range, bad_bool,
                                          partial_star, two_stars,    empty_key};

    /* The reasons go to the log; keep them out of the test output. */
    int saved_level = op_log_level;
    op_log_level = 0;
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        assert_null(op_conf_new(tables[i]));
    op_log_level = saved_level;
    assert_null(op_conf_new(NULL));
}

/* ---- listing, dumping, help ------------------------------------------------------------- */

static void test_dump_masks_secrets(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(1);

    set_ok(conf, "batch.size", "250");
    set_ok(conf, "api.token", "topsecret");
    set_ok(conf, "endpoint.a.url", "http://a/");
    set_ok(conf, "endpoint.a.token", "tok-a-secret");
    set_ok(conf, "bootstrap.servers", "k1:9092");
    set_ok(conf, "security.protocol", "sasl_ssl");
    set_ok(conf, "sasl.mechanisms", "PLAIN");
    set_ok(conf, "sasl.username", "alice");
    set_ok(conf, "sasl.password", "hunter2");
    set_ok(conf, "ssl.key.password", "pw-ssl-key");
    set_ok(conf, "sasl.oauthbearer.config", "clientSecret=oauth-xyz");
    set_ok(conf, "topic.message.timeout.ms", "5000");
    set_ok(conf, "acks", "all");
    set_ok(conf, "bootstrap.servers", "k2:9092"); /* listed once, current value */

    char *text = capture_stream(conf, op_conf_dump);
    assert_string_equal(text, "batch.size=250\n"
                              "retry.max=-1\n"
                              "spool.dir=/var/spool/outreach\n"
                              "dry.run=false\n"
                              "api.token=***\n"
                              "endpoint.a.url=http://a/\n"
                              "endpoint.a.token=***\n"
                              "endpoint.default.url=http://localhost:8080/\n"
                              "bootstrap.servers=k2:9092\n"
                              "security.protocol=sasl_ssl\n"
                              "sasl.mechanisms=PLAIN\n"
                              "sasl.username=alice\n"
                              "sasl.password=***\n"
                              "ssl.key.password=***\n"
                              "sasl.oauthbearer.config=***\n"
                              "topic.message.timeout.ms=5000\n"
                              "acks=-1\n");
    free(text);
    op_conf_destroy(conf);
}

static void test_dump_secret_from_file(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(1);
    struct tmpfile_path pw;

    write_file(&pw, "hunter2\n");
    set_ok(conf, "sasl.password.file", pw.path);
    char *text = capture_stream(conf, op_conf_dump);
    assert_non_null(strstr(text, "\nsasl.password=***\n"));
    assert_null(strstr(text, "hunter2"));
    assert_null(strstr(text, "changeme"));
    free(text);
    unlink(pw.path);
    op_conf_destroy(conf);
}

static void test_list(void **state)
{
    (void)state;
    struct op_conf *conf = new_conf(1);

    char *text = capture_stream(conf, op_conf_list);
    assert_non_null(strstr(text, "batch.size                       | int 1..10000     | 500"
                                 "                  | Events per batch\n"));
    assert_non_null(strstr(text, "\nendpoint.*.url                   | string           | "
                                 "                     | URL of endpoint NAME\n"));
    assert_non_null(strstr(text, "\napi.token                        | secret           | ***"
                                 "                  | Token for the API\n"));
    assert_null(strstr(text, "changeme"));
    /* librdkafka's own table follows. */
    assert_non_null(strstr(text, "\nbootstrap.servers "));
    assert_non_null(strstr(text, "\nmessage.timeout.ms "));
    free(text);
    op_conf_destroy(conf);

    conf = new_conf(0);
    text = capture_stream(conf, op_conf_list);
    assert_non_null(strstr(text, "\nbatch.size "));
    assert_null(strstr(text, "bootstrap.servers"));
    free(text);
    op_conf_destroy(conf);
}

static void print_help_of_defs(const struct op_conf *conf, FILE *out)
{
    (void)conf;
    op_conf_print_help(defs, out);
}

static void test_print_help(void **state)
{
    (void)state;
    char *text = capture_stream(NULL, print_help_of_defs);

    assert_string_equal(
        text,
        "  batch.size=N                   Events per batch (1..10000) [default: 500]\n"
        "  retry.max=N                    Retries, -1 for ever [default: -1]\n"
        "  spool.dir=STRING               Spool directory [default: /var/spool/outreach]\n"
        "  dry.run=BOOL                   Validate only [default: false]\n"
        "  api.token=SECRET               Token for the API [default: ***]\n"
        "  endpoint.*.url=STRING          URL of endpoint NAME\n"
        "  endpoint.*.token=SECRET        Bearer token of endpoint NAME\n"
        "  agency.*.regions=STRING        Region prefixes agency NAME may read [default: \"\"]\n"
        "  endpoint.default.url=STRING    Fallback endpoint [default: http://localhost:8080/]\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set_typed),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_unknown_without_kafka),
        cmocka_unit_test(test_kafka_routing),
        cmocka_unit_test(test_kafka_dup),
        cmocka_unit_test(test_kafka_dup_logs_through_op_log),
        cmocka_unit_test(test_file_secrets),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_apply_arg),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_bad_tables),
        cmocka_unit_test(test_unknown_key_is_a_programming_error),
        cmocka_unit_test(test_set_pairs),
        cmocka_unit_test(test_bind_instance),
        cmocka_unit_test(test_bind_module_keys),
        cmocka_unit_test(test_binding_tables),
        cmocka_unit_test(test_dump_masks_secrets),
        cmocka_unit_test(test_dump_secret_from_file),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_print_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
