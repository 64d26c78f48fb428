/* outreach-reporter's typed settings (consumers/reporter/config.c): every key of its table is
 * bound, the values an operator sets reach the engine's fields (and defaults the ones left
 * unset), an audit stream shares its endpoint's settings, and the old names endpoint.NAME.ca,
 * .cert and .key still work with the same rules and messages as tls.ca, tls.cert, tls.key.
 * reporter_new is run for real; its Kafka consumers point at a closed port and never
 * connect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <unistd.h>

#include "../../consumers/reporter/engine.h"
#include "../../consumers/reporter/reporter.h"
#include "log.h"

static char dir[64];   /* a file:// endpoint's directory */
static char pem[96];   /* a readable file for the TLS keys (its content is not parsed here) */
static char other[96]; /* another one */

/* reporter_new over reporter_conf_defs and `kv` (NULL-terminated key, value pairs); the
 * Kafka clients go to a closed port. *conf_out: the configuration, for the caller to destroy
 * after the reporter. */
static struct reporter *build(const char *const *kv, struct op_conf **conf_out, char *err,
                              size_t err_size)
{
    struct op_conf *conf = op_conf_new_kafka(reporter_conf_defs);
    assert_non_null(conf);
    assert_int_equal(reporter_conf_defaults(conf, err, err_size), 0);
    assert_int_equal(op_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", err, err_size), 0);
    for (; kv[0]; kv += 2)
        if (op_conf_set(conf, kv[0], kv[1], err, err_size) != 0)
            fail_msg("%s=%s: %s", kv[0], kv[1], err);
    *conf_out = conf;
    err[0] = '\0';
    return reporter_new(conf, err, err_size);
}

/* reporter_new must fail with exactly `want`. */
static void expect_error(const char *const *kv, const char *want)
{
    struct op_conf *conf;
    char err[1024];
    struct reporter *r = build(kv, &conf, err, sizeof err);
    if (r) {
        reporter_destroy(r);
        op_conf_destroy(conf);
        fail_msg("accepted, expected: %s", want);
    }
    assert_string_equal(err, want);
    op_conf_destroy(conf);
}

/* reporter_new must succeed. */
static void expect_ok(const char *const *kv)
{
    struct op_conf *conf;
    char err[1024];
    struct reporter *r = build(kv, &conf, err, sizeof err);
    if (!r)
        fail_msg("refused: %s", err);
    reporter_destroy(r);
    op_conf_destroy(conf);
}

static void test_table_bound(void **state)
{
    (void)state;
    assert_int_equal(op_conf_table_bound(reporter_conf_defs), 1);
}

static void test_values_reach_fields(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof url, "file://%s", dir);
    const char *const kv[] = {"rollups.topic",
                              "rt.rollups",
                              "group.prefix",
                              "gp",
                              "dlq.topic.prefix",
                              "dp",
                              "dlq.topic.replication",
                              "2",
                              "retry.backoff.ms",
                              "50",
                              "retry.backoff.max.ms",
                              "60",
                              "retry.after.max.ms",
                              "70",
                              "status.interval.ms",
                              "0",
                              "health.listen",
                              "127.0.0.1:0",
                              "instance.id",
                              "inst-1",
                              "endpoint.a.url",
                              url,
                              "endpoint.a.batch.size",
                              "7",
                              "endpoint.a.max.delay.ms",
                              "0",
                              "endpoint.a.max.retries",
                              "1000000000",
                              "endpoint.a.gzip.level",
                              "9",
                              "endpoint.a.timeout.ms",
                              "100",
                              "endpoint.b.url",
                              url,
                              NULL};
    struct op_conf *conf;
    char err[1024];
    struct reporter *r = build(kv, &conf, err, sizeof err);
    if (!r)
        fail_msg("refused: %s", err);
    assert_string_equal(r->set.rollups_topic, "rt.rollups");
    assert_string_equal(r->set.health_listen, "127.0.0.1:0");
    assert_null(r->set.regions_file);
    assert_int_equal(r->set.dlq_replication, 2);
    assert_int_equal(r->set.backoff_ms, 50);
    assert_int_equal(r->set.backoff_max_ms, 60);
    assert_int_equal(r->set.retry_after_max_ms, 70);
    assert_int_equal(r->set.status_interval_ms, 0);
    assert_string_equal(r->instance, "inst-1");
    assert_int_equal(reporter_endpoint_count(r), 2);
    struct reporter_endpoint *a = reporter_endpoint_find(r, "a"),
                             *b = reporter_endpoint_find(r, "b");
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a->url, url);
    assert_string_equal(a->topic, "rt.rollups");
    assert_string_equal(a->group, "gp.a");
    assert_string_equal(a->dlq_topic, "dp.a");
    assert_string_equal(a->member_id, "outreach-reporter-inst-1-a");
    assert_int_equal(a->set.batch_size, 7);
    assert_int_equal(a->set.max_delay_ms, 0);
    assert_int_equal(a->set.max_retries, 1000000000);
    assert_int_equal(a->set.gzip_level, 9);
    assert_int_equal(a->set.timeout_ms, 100);
    /* b: the defaults --help documents. */
    assert_int_equal(b->set.batch_size, 500);
    assert_int_equal(b->set.max_delay_ms, 1000);
    assert_int_equal(b->set.max_retries, 0);
    assert_int_equal(b->set.gzip_level, 1);
    assert_int_equal(b->set.timeout_ms, 10000);
    assert_true(b->set.tls_verify);
    assert_string_equal(b->set.oauth2_client_auth, "client_secret_basic");
    assert_null(b->set.token);
    assert_null(b->set.audit_topic);
    assert_string_equal(b->group, "gp.b");
    reporter_destroy(r);
    op_conf_destroy(conf);
}

static void test_defaults(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof url, "file://%s", dir);
    const char *const kv[] = {"endpoint.a.url", url, NULL};
    struct op_conf *conf;
    char err[1024];
    struct reporter *r = build(kv, &conf, err, sizeof err);
    if (!r)
        fail_msg("refused: %s", err);
    assert_string_equal(r->set.rollups_topic, "outreach.rollups");
    assert_null(r->set.health_listen);
    assert_int_equal(r->set.dlq_replication, 0);
    assert_int_equal(r->set.backoff_ms, 200);
    assert_int_equal(r->set.backoff_max_ms, 30000);
    assert_int_equal(r->set.retry_after_max_ms, 600000);
    assert_int_equal(r->set.status_interval_ms, 60000);
    struct reporter_endpoint *a = reporter_endpoint_find(r, "a");
    assert_non_null(a);
    assert_string_equal(a->group, "outreach-reporter.a");
    assert_string_equal(a->dlq_topic, "outreach.rollups.dlq.a");
    reporter_destroy(r);
    op_conf_destroy(conf);
}

/* NAME.audit reads endpoint.NAME.*: its URL's last segment becomes audit. */
static void test_audit_stream_shares_settings(void **state)
{
    (void)state;
    const char *const kv[] = {"endpoint.a.url",
                              "http://127.0.0.1:1/in/rollups?x=1",
                              "endpoint.a.audit.topic",
                              "au.trail",
                              "endpoint.a.batch.size",
                              "9",
                              "endpoint.a.token",
                              "tok",
                              NULL};
    struct op_conf *conf;
    char err[1024];
    struct reporter *r = build(kv, &conf, err, sizeof err);
    if (!r)
        fail_msg("refused: %s", err);
    assert_int_equal(reporter_endpoint_count(r), 2);
    struct reporter_endpoint *au = reporter_endpoint_find(r, "a.audit");
    assert_non_null(au);
    assert_string_equal(au->cname, "a");
    assert_true(au->audit);
    assert_string_equal(au->topic, "au.trail");
    assert_string_equal(au->url, "http://127.0.0.1:1/in/audit");
    assert_int_equal(au->set.batch_size, 9);
    assert_string_equal(au->set.token, "tok");
    assert_string_equal(au->group, "outreach-reporter.a.audit");
    assert_string_equal(reporter_endpoint_find(r, "a")->topic, "outreach.rollups");
    reporter_destroy(r);
    op_conf_destroy(conf);
}

/* endpoint.NAME.ca/cert/key: either name, or both with the same value; the checks and the
 * messages are those of tls.ca/cert/key. */
static void test_old_tls_names(void **state)
{
    (void)state;
    const char *u = "https://127.0.0.1:1/x";
    {
        const char *const kv[] = {"endpoint.a.url", u, "endpoint.a.ca", "/nonexistent/ca.pem",
                                  NULL};
        expect_error(kv, "endpoint a: tls.ca: cannot read /nonexistent/ca.pem: No such file or "
                         "directory");
    }
    {
        const char *const kv[] = {"endpoint.a.url", u, "endpoint.a.key", "/nonexistent/k.pem",
                                  NULL};
        expect_error(kv, "endpoint a: tls.key: cannot read /nonexistent/k.pem: No such file or "
                         "directory");
    }
    {
        const char *const kv[] = {"endpoint.a.url", u, "endpoint.a.cert", pem, NULL};
        expect_error(kv, "endpoint a: set both tls.cert and tls.key, or neither");
    }
    {
        const char *const kv[] = {
            "endpoint.a.url", u, "endpoint.a.tls.cert", pem, "endpoint.a.key", pem, NULL};
        expect_ok(kv); /* an old and a new name mixed */
    }
    {
        const char *const kv[] = {"endpoint.a.url",
                                  u,
                                  "endpoint.a.cert",
                                  pem,
                                  "endpoint.a.key",
                                  pem,
                                  "endpoint.a.ca",
                                  pem,
                                  NULL};
        expect_ok(kv);
    }
    {
        const char *const kv[] = {
            "endpoint.a.url", u, "endpoint.a.tls.ca", pem, "endpoint.a.ca", pem, NULL};
        expect_ok(kv); /* both names, one value */
    }
    {
        const char *const kv[] = {
            "endpoint.a.url", u, "endpoint.a.tls.ca", pem, "endpoint.a.ca", other, NULL};
        expect_error(kv, "endpoint a: set endpoint.a.tls.ca or its old name endpoint.a.ca, not "
                         "both");
    }
    {
        const char *const kv[] = {"endpoint.a.url",
                                  u,
                                  "endpoint.a.tls.cert",
                                  pem,
                                  "endpoint.a.cert",
                                  other,
                                  "endpoint.a.tls.key",
                                  pem,
                                  NULL};
        expect_error(kv, "endpoint a: set endpoint.a.tls.cert or its old name endpoint.a.cert, "
                         "not both");
    }
    {
        const char *const kv[] = {"endpoint.a.url", u, "endpoint.b.ca", pem, NULL};
        expect_error(kv, "endpoint.b.ca is set but endpoint.b.url is not");
    }
}

static void test_endpoint_errors(void **state)
{
    (void)state;
    const char *u = "https://127.0.0.1:1/x";
    {
        const char *const kv[] = {"endpoint.a.url", u, "endpoint.a.oauth2.client_id", "c", NULL};
        expect_error(kv, "endpoint a: oauth2.* is set but oauth2.token_url is not");
    }
    {
        const char *const kv[] = {"endpoint.a.url",
                                  u,
                                  "endpoint.a.oauth2.token_url",
                                  "https://127.0.0.1:1/t",
                                  "endpoint.a.oauth2.client_id",
                                  "c",
                                  "endpoint.a.oauth2.client_secret",
                                  "s",
                                  "endpoint.a.oauth2.client_auth",
                                  "basic",
                                  NULL};
        expect_error(kv, "endpoint.a.oauth2.client_auth: \"basic\": use client_secret_basic or "
                         "client_secret_post");
    }
    {
        const char *const kv[] = {"endpoint.a.url", u, "endpoint.a.tls.key.password", "pw", NULL};
        expect_error(kv, "endpoint a: tls.key.password is set without tls.key");
    }
    {
        const char *const kv[] = {
            "endpoint.a.url", u, "retry.backoff.ms", "500", "retry.backoff.max.ms", "499", NULL};
        expect_error(kv, "retry.backoff.max.ms is below retry.backoff.ms");
    }
    {
        const char *const kv[] = {"endpoint.a.url", u, "dlq.topic.prefix", "bad/p", NULL};
        expect_error(kv, "endpoint a: \"bad/p.a\" is not a valid topic name (check "
                         "dlq.topic.prefix)");
    }
}

int main(void)
{
    op_log_set_prog("test_reporter_conf");
    op_log_set_level(OP_LOG_ERR - 1); /* quiet: the closed port's connection errors */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(dir, sizeof dir, "/tmp/test_reporter_conf.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(pem, sizeof pem, "%s/a.pem", dir);
    snprintf(other, sizeof other, "%s/b.pem", dir);
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(i ? other : pem, "w");
        if (!f || fputs("not parsed before the first request\n", f) < 0 || fclose(f) != 0)
            return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_bound),   cmocka_unit_test(test_values_reach_fields),
        cmocka_unit_test(test_defaults),      cmocka_unit_test(test_audit_stream_shares_settings),
        cmocka_unit_test(test_old_tls_names), cmocka_unit_test(test_endpoint_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(pem);
    unlink(other);
    rmdir(dir);
    curl_global_cleanup();
    return rc;
}
