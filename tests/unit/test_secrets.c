/* Unit tests of what keeps secrets and bad names out (issue #12, item 6): URLs logged
 * without userinfo (op_url_redact), a warning per inline secret on the command line
 * (op_cli_parse), and instance.id validation (op_kafka_instance_id). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "kafka.h"
#include "log.h"
#include "url.h"

static void test_url_redact(void **state)
{
    (void)state;
    const struct {
        const char *in, *out;
    } cases[] = {
        {"https://user:pa55@stats.example.org:8443/rollups?x=1",
         "https://***@stats.example.org:8443/rollups?x=1"},
        {"http://token@127.0.0.1/rollups", "http://***@127.0.0.1/rollups"},
        {"https://stats.example.org/a@b", "https://stats.example.org/a@b"},
        {"https://stats.example.org?q=a@b", "https://stats.example.org?q=a@b"},
        {"http://u:p@h#frag@x", "http://***@h#frag@x"},
        {"file:///var/lib/outreach/archive", "file:///var/lib/outreach/archive"},
        {"not a url", "not a url"},
        {"", ""},
    };
    char out[128];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_string_equal(op_url_redact(cases[i].in, out, sizeof out), cases[i].out);
    /* Truncated, never with the secret. */
    char small[12];
    op_url_redact("https://user:secret@h/", small, sizeof small);
    assert_null(strstr(small, "sec"));
}

static const struct op_conf_def defs[] = {
    {"endpoint.*.url", OP_CONF_STRING, NULL, "url", 0, 0, OP_CONF_NOBIND},
    {"endpoint.*.token", OP_CONF_SECRET, NULL, "token", 0, 0, OP_CONF_NOBIND},
    {"endpoint.*.oauth2.token_url", OP_CONF_STRING, NULL, "an address", 0, 0, OP_CONF_NOBIND},
    {"endpoint.*.oauth2.client_secret", OP_CONF_SECRET, NULL, "secret", 0, 0, OP_CONF_NOBIND},
    {"instance.id", OP_CONF_STRING, NULL, "id", 0, 0, OP_CONF_NOBIND},
    {0},
};

static void usage(FILE *out)
{
    (void)out;
}

/* Runs op_cli_parse on argv with stderr captured into buf. */
static enum op_cli_result parse_captured(int argc, char **argv, char *buf, size_t size)
{
    struct op_conf *conf = op_conf_new_kafka(defs);
    assert_non_null(conf);
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    dup2(fileno(tmp), 2);
    int first;
    enum op_cli_result r = op_cli_parse(argc, argv, conf, defs, usage, NULL, NULL, &first);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(buf, 1, size - 1, tmp);
    buf[n] = 0;
    fclose(tmp);
    op_conf_destroy(conf);
    return r;
}

static void test_inline_secret_warnings(void **state)
{
    (void)state;
    char out[8192];
    char *argv[] = {"prog",
                    "-X",
                    "sasl.password=hunter2",
                    "-X",
                    "ssl.key.password=k3y",
                    "-X",
                    "endpoint.a.token=t0ken",
                    "-X",
                    "endpoint.a.url=https://u:p@h/x",
                    "-X",
                    "sasl.username=alice",
                    "-X",
                    "client.id=x",
                    "-X",
                    "endpoint.a.oauth2.token_url=https://auth/token",
                    "-X",
                    "endpoint.a.oauth2.client_secret=cl1ent",
                    NULL};
    assert_int_equal(parse_captured(17, argv, out, sizeof out), OP_CLI_OK);
    /* A key of the table is secret by its type, whatever its name says. */
    assert_null(strstr(out, "oauth2.token_url=..."));
    assert_non_null(strstr(out, "-X endpoint.a.oauth2.client_secret=... puts a secret"));
    assert_null(strstr(out, "cl1ent"));
    assert_non_null(strstr(out, "-X sasl.password=... puts a secret on the command line"));
    assert_non_null(strstr(out, "-X ssl.key.password=... puts a secret on the command line"));
    assert_non_null(strstr(out, "-X endpoint.a.token=... puts a secret on the command line"));
    assert_non_null(strstr(out, "sasl.password.file=PATH"));
    assert_null(strstr(out, "sasl.username"));
    assert_null(strstr(out, "client.id"));
    /* The values themselves are never printed. */
    assert_null(strstr(out, "hunter2"));
    assert_null(strstr(out, "t0ken"));
    assert_null(strstr(out, "k3y"));
    /* The URL's userinfo is a secret too. */
    assert_non_null(strstr(out, "-X endpoint.a.url=... puts a secret on the command line"));
}

static void test_instance_id(void **state)
{
    (void)state;
    char out[OP_KAFKA_INSTANCE_MAX + 1], err[256];
    assert_int_equal(op_kafka_instance_id("agg-1.a_b", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "agg-1.a_b");
    /* Not set: the host name. */
    assert_int_equal(op_kafka_instance_id(NULL, out, sizeof out, err, sizeof err), 0);
    assert_true(out[0] != 0);
    /* Set but empty: refused, never "outreach-aggregator-". */
    assert_int_equal(op_kafka_instance_id("", out, sizeof out, err, sizeof err), -1);
    assert_string_equal(err, "instance.id is set but empty: give a name of 1 to 128 letters, "
                             "digits, '.', '_' or '-', or leave it unset for the host name");
    assert_int_equal(op_kafka_instance_id("a b", out, sizeof out, err, sizeof err), -1);
    assert_int_equal(op_kafka_instance_id("a/b", out, sizeof out, err, sizeof err), -1);
    assert_int_equal(op_kafka_instance_id("..", out, sizeof out, err, sizeof err), -1);
}

/* Which client errors are credential/trust failures (fatal), and which are transient. */
static void test_auth_failure_classes(void **state)
{
    (void)state;
    char reason[512];
    assert_int_equal(op_kafka_auth_failed(reason, sizeof reason), 0);
    /* Transient: a broker down or restarting, a handshake cut short. */
    assert_int_equal(op_kafka_note_error(RD_KAFKA_RESP_ERR__TRANSPORT,
                                         "sasl_ssl://h:9093/1: Connect to ipv4#h:9093 failed: "
                                         "Connection refused (after 0ms in state CONNECT)"),
                     0);
    assert_int_equal(op_kafka_note_error(RD_KAFKA_RESP_ERR__SSL,
                                         "SSL handshake failed: Disconnected: connection closed "
                                         "by peer"),
                     0);
    assert_int_equal(
        op_kafka_note_error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "1/1 brokers are down"), 0);
    assert_int_equal(op_kafka_note_error(RD_KAFKA_RESP_ERR__TRANSPORT, NULL), 0);
    assert_int_equal(op_kafka_auth_failed(NULL, 0), 0);
    /* librdkafka 2.0.2 reports an untrusted broker certificate as _TRANSPORT. */
    assert_int_equal(op_kafka_note_error(RD_KAFKA_RESP_ERR__TRANSPORT,
                                         "sasl_ssl://h:9093/bootstrap: error:0A000086:SSL "
                                         "routines::certificate verify failed (after 6ms in "
                                         "state SSL_HANDSHAKE)"),
                     1);
    assert_int_equal(op_kafka_auth_failed(reason, sizeof reason), 1);
    assert_non_null(strstr(reason, "certificate verify failed"));
    /* A refused SASL login is fatal too; the first reason is kept. */
    assert_int_equal(op_kafka_note_error(RD_KAFKA_RESP_ERR__AUTHENTICATION,
                                         "SASL authentication error: Authentication failed"),
                     1);
    assert_int_equal(op_kafka_auth_failed(reason, sizeof reason), 1);
    assert_non_null(strstr(reason, "certificate verify failed"));
}

int main(void)
{
    op_log_set_prog("test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_redact),
        cmocka_unit_test(test_inline_secret_warnings),
        cmocka_unit_test(test_instance_id),
        cmocka_unit_test(test_auth_failure_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
