/* Unit tests of outreach-reporter's transports: file snapshots (atomic write, no temp file
 * left, file:// URLs), the HTTP client (retries' inputs, OAuth2) against a tiny server, and
 * the transport tables the delivery loop sends through (verdicts, DLQ detail, stop).
 * (Batch logic: test_reporter_batch.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../../consumers/reporter/file.h"
#include "../../consumers/reporter/http.h"
#include "../../consumers/reporter/reporter.h"
#include "../../consumers/reporter/transport.h"

/* ---- file endpoints --------------------------------------------------------------------- */

static void test_file_write(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_reporter_XXXXXX", err[512], path[512];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(reporter_file_write(dir, "k-1", "{\"a\":1}\n", 8, err, sizeof err), 0);
    assert_int_equal(reporter_file_write(dir, "k-1", "{\"a\":1}\n", 8, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/k-1.jsonl", dir);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[64];
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "{\"a\":1}\n");
    fclose(fp);
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' || strstr(e->d_name, ".tmp"))
            files++; /* temp files start with '.': none may be left */
    closedir(d);
    assert_int_equal(files, 1);
    unlink(path);
    rmdir(dir);
    assert_int_equal(reporter_file_write("/nonexistent/dir", "k", "x", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/dir/.k.jsonl"));

    char *p = reporter_file_dir_of_url("file:///var/lib/x/");
    assert_string_equal(p, "/var/lib/x");
    free(p);
    p = reporter_file_dir_of_url("file://localhost/srv");
    assert_string_equal(p, "/srv");
    free(p);
    assert_null(reporter_file_dir_of_url("file://host/srv"));
    assert_null(reporter_file_dir_of_url("file:relative"));
    assert_null(reporter_file_dir_of_url("file:///a%20b"));
    assert_null(reporter_file_dir_of_url("http://x/"));
}

/* ---- the HTTP client against a one-connection server ------------------------------------ */

struct mini {
    int lfd;
    unsigned port;
    const char *const *answers; /* one raw HTTP answer per request; NULL: stay silent */
    int n_answers;
    char requests[4][8192];
    int n_requests;
    int accepts;
};

/* Reads one request (headers and Content-Length body) into buf. Returns its size or -1. */
static int read_request(int fd, char *buf, size_t size)
{
    size_t n = 0;
    char *end = NULL;
    while (!end) {
        if (n + 1 >= size)
            return -1;
        ssize_t r = read(fd, buf + n, size - 1 - n);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    const char *cl = strstr(buf, "Content-Length: ");
    size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
    while (n < want && n + 1 < size) {
        ssize_t r = read(fd, buf + n, want - n);
        if (r <= 0)
            return -1;
        n += (size_t)r;
    }
    return (int)n;
}

static void *mini_main(void *opaque)
{
    struct mini *s = opaque;
    int i = 0;
    while (i < s->n_answers) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        s->accepts++;
        while (i < s->n_answers) {
            char *buf = s->requests[i < 4 ? i : 3];
            if (read_request(fd, buf, sizeof s->requests[0]) < 0)
                break;
            s->n_requests++;
            const char *a = s->answers[i++];
            if (!a) { /* silent: let the client time out */
                sleep(1);
                break;
            }
            if (write(fd, a, strlen(a)) < 0)
                break;
        }
        close(fd);
    }
    return NULL;
}

static void mini_start(struct mini *s, pthread_t *t)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(t, NULL, mini_main, s), 0);
}

static void test_http(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 4\r\n\r\nbusy",
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
        "{\"accepted\":1}\n",
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 5000\r\n\r\n",
    };
    char body5k[5200];
    char answer3[5300];
    memset(body5k, 'x', 5000);
    body5k[5000] = 0;
    snprintf(answer3, sizeof answer3, "%s%s", answers[2], body5k);
    const char *const all[] = {answers[0], answers[1], answer3};
    struct mini s;
    memset(&s, 0, sizeof s);
    s.answers = all;
    s.n_answers = 3;
    pthread_t t;
    mini_start(&s, &t);
    char url[64], err[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/rollups", s.port);
    struct reporter_http_opts o = {url, "sekrit", NULL, NULL, NULL, 1, 5000, NULL, NULL};
    struct reporter_http *h = reporter_http_new(&o, err, sizeof err);
    assert_non_null(h);
    struct reporter_http_result r;
    memset(&r, 0, sizeof r);
    const char body[] = "\x1f\x8b pretend gzip";
    assert_int_equal(reporter_http_post(h, body, sizeof body - 1, "k-1", NULL, &r), 0);
    assert_int_equal(r.status, 503);
    assert_int_equal(r.retry_after_ms, 7000);
    assert_int_equal(r.body.len, 4);
    assert_memory_equal(r.body.data, "busy", 4);
    assert_int_equal(r.new_connections, 1);
    assert_int_equal(reporter_http_post(h, body, sizeof body - 1, "k-1", NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.retry_after_ms, -1);
    assert_int_equal(r.new_connections, 0); /* the connection was reused */
    assert_int_equal(reporter_http_post(h, body, sizeof body - 1, "k-2", NULL, &r), 0);
    assert_int_equal(r.status, 400);
    assert_int_equal(r.body.len, REPORTER_HTTP_BODY_MAX); /* kept: the first 4 KiB */
    assert_int_equal(r.body_total, 5000);
    pthread_join(t, NULL);
    assert_int_equal(s.accepts, 1);
    assert_int_equal(s.n_requests, 3);
    const char *req = s.requests[0];
    assert_memory_equal(req, "POST /rollups HTTP/1.1\r\n", 24);
    assert_non_null(strstr(req, "\r\nIdempotency-Key: \"k-1\"\r\n"));
    assert_non_null(strstr(req, "\r\nContent-Encoding: gzip\r\n"));
    assert_non_null(strstr(req, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(req, "\r\nAuthorization: Bearer sekrit\r\n"));
    assert_null(strstr(req, "Expect:"));
    assert_non_null(strstr(req, "\r\n\r\n\x1f\x8b pretend gzip"));
    assert_non_null(strstr(s.requests[2], "\r\nIdempotency-Key: \"k-2\"\r\n"));
    close(s.lfd);

    /* Nobody listening: a transport error, status 0. */
    assert_int_equal(reporter_http_post(h, body, sizeof body - 1, "k-3", NULL, &r), -1);
    assert_int_equal(r.status, 0);
    assert_true(strlen(r.error) > 0);
    reporter_http_destroy(h);

    /* A silent server: the timeout; then the stop flag cuts a request short. */
    static const char *const silent[] = {NULL, NULL};
    memset(&s, 0, sizeof s);
    s.answers = silent;
    s.n_answers = 2;
    mini_start(&s, &t);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/rollups", s.port);
    struct reporter_http_opts o2 = {url, NULL, NULL, NULL, NULL, 1, 300, NULL, NULL};
    h = reporter_http_new(&o2, err, sizeof err);
    assert_non_null(h);
    assert_int_equal(reporter_http_post(h, body, sizeof body - 1, "k-4", NULL, &r), -1);
    assert_non_null(strstr(r.error, "Timeout"));
    reporter_http_destroy(h);
    o2.timeout_ms = 60000;
    h = reporter_http_new(&o2, err, sizeof err);
    atomic_int stop;
    atomic_init(&stop, 1);
    assert_int_equal(reporter_http_post(h, body, sizeof body - 1, "k-5", &stop, &r), -1);
    assert_true(r.elapsed_ms < 2000);
    reporter_http_destroy(h);
    shutdown(s.lfd, SHUT_RDWR); /* wakes the server if it still waits in accept() */
    pthread_join(t, NULL);
    close(s.lfd);
    op_buf_free(&r.body);

    /* Only http and https. */
    struct reporter_http_opts o3 = {
        "ftp://example.org/", NULL, NULL, NULL, NULL, 1, 1000, NULL, NULL};
    h = reporter_http_new(&o3, err, sizeof err);
    if (h) { /* the scheme is checked at transfer time by some libcurl builds */
        assert_int_equal(reporter_http_post(h, body, 1, "k", NULL, &r), -1);
        reporter_http_destroy(h);
        op_buf_free(&r.body);
    }
}

/* OAuth2 client credentials against a token server and a resource server: the token is
 * fetched once and cached, a 401 fetches a fresh one and sends again (once), and a refused
 * secret is a transport error naming the token endpoint, never the secret. */
static void test_oauth2(void **state)
{
    (void)state;
    static const char *const tokens[] = {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 65\r\n\r\n"
        "{\"access_token\":\"tok-A\",\"token_type\":\"bearer\",\"expires_in\":3600}\n",
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 25\r\n\r\n"
        "{\"access_token\":\"tok-B\"}\n",
    };
    static const char *const resources[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 7\r\n\r\nexpired",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    };
    struct mini ts, rs;
    memset(&ts, 0, sizeof ts);
    memset(&rs, 0, sizeof rs);
    ts.answers = tokens;
    ts.n_answers = 2;
    rs.answers = resources;
    rs.n_answers = 4;
    pthread_t tt, rt;
    mini_start(&ts, &tt);
    mini_start(&rs, &rt);
    char url[64], turl[64], err[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/rollups", rs.port);
    snprintf(turl, sizeof turl, "http://127.0.0.1:%u/token", ts.port);
    struct reporter_oauth2_opts oa = {turl, "client-1", "s3cr:t&x", "rollups:write", 0};
    struct reporter_http_opts o = {url, NULL, NULL, NULL, NULL, 1, 5000, NULL, &oa};
    struct reporter_http *h = reporter_http_new(&o, err, sizeof err);
    assert_non_null(h);
    struct reporter_http_result r;
    memset(&r, 0, sizeof r);
    const char body[] = "gz";
    assert_int_equal(reporter_http_post(h, body, 2, "k-1", NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.token_requests, 1);
    assert_int_equal(reporter_http_post(h, body, 2, "k-2", NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.token_requests, 0); /* cached */
    assert_int_equal(reporter_http_post(h, body, 2, "k-3", NULL, &r), 0);
    assert_int_equal(r.status, 200); /* 401, a fresh token, sent again */
    assert_int_equal(r.token_requests, 1);
    pthread_join(tt, NULL);
    pthread_join(rt, NULL);
    assert_int_equal(ts.n_requests, 2);
    assert_int_equal(rs.n_requests, 4);
    const char *treq = ts.requests[0];
    assert_memory_equal(treq, "POST /token HTTP/1.1\r\n", 22);
    /* RFC 6749 2.3.1: id and secret form-encoded, then Basic. */
    assert_non_null(strstr(treq, "\r\nAuthorization: Basic Y2xpZW50LTE6czNjciUzQXQlMjZ4\r\n"));
    assert_non_null(strstr(treq, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    assert_non_null(strstr(treq, "\r\n\r\ngrant_type=client_credentials&scope=rollups%3Awrite"));
    assert_null(strstr(treq, "client_secret="));
    assert_non_null(strstr(rs.requests[0], "\r\nAuthorization: Bearer tok-A\r\n"));
    assert_non_null(strstr(rs.requests[1], "\r\nAuthorization: Bearer tok-A\r\n"));
    assert_non_null(strstr(rs.requests[2], "\r\nAuthorization: Bearer tok-A\r\n"));
    assert_non_null(strstr(rs.requests[3], "\r\nAuthorization: Bearer tok-B\r\n"));
    assert_non_null(strstr(rs.requests[3], "\r\nIdempotency-Key: \"k-3\"\r\n"));
    reporter_http_destroy(h);
    close(ts.lfd);
    close(rs.lfd);

    /* client_secret_post, and a refused secret: no request to the endpoint at all. */
    static const char *const refused[] = {
        "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 27\r\n"
        "\r\n{\"error\":\"invalid_client\"}\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"nope\":1}\n\n",
    };
    memset(&ts, 0, sizeof ts);
    ts.answers = refused;
    ts.n_answers = 2;
    mini_start(&ts, &tt);
    snprintf(turl, sizeof turl, "http://127.0.0.1:%u/token", ts.port);
    struct reporter_oauth2_opts oa2 = {turl, "client-1", "wrong-secret", NULL, 1};
    o.oauth2 = &oa2;
    snprintf(url, sizeof url, "http://127.0.0.1:1/never");
    h = reporter_http_new(&o, err, sizeof err);
    assert_non_null(h);
    assert_int_equal(reporter_http_post(h, body, 2, "k-4", NULL, &r), -1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.token_requests, 1);
    assert_non_null(strstr(r.error, "OAuth2 token endpoint http://127.0.0.1:"));
    assert_non_null(strstr(r.error, "HTTP 401"));
    assert_non_null(strstr(r.error, "invalid_client"));
    assert_null(strstr(r.error, "wrong-secret"));
    /* A 2xx answer without an access_token. */
    assert_int_equal(reporter_http_post(h, body, 2, "k-5", NULL, &r), -1);
    assert_non_null(strstr(r.error, "without a usable access_token"));
    pthread_join(tt, NULL);
    assert_non_null(strstr(ts.requests[0],
                           "\r\n\r\ngrant_type=client_credentials&client_id=client-1&"
                           "client_secret=wrong-secret"));
    assert_null(strstr(ts.requests[0], "Authorization:"));
    reporter_http_destroy(h);
    close(ts.lfd);
    op_buf_free(&r.body);

    /* A fixed token and OAuth2 exclude each other. */
    o.token = "fixed";
    assert_null(reporter_http_new(&o, err, sizeof err));
}
/* ---- the transport tables the delivery loop sends through -------------------------------- */

/* A batch of two rollups (only what the transports read: key, counts, doc, json). */
static void transport_batch(struct reporter_batch *b, struct op_buf *gz)
{
    memset(b, 0, sizeof *b);
    snprintf(b->key, sizeof b->key, "%s", "ep-t-0-5-9-00000000000000ab");
    b->rollups = 2;
    b->doc = json_loads("{\"rollups\":[{\"region\":\"110000\",\"n\":1},{\"region\":\"120000\","
                        "\"n\":2}]}",
                        JSON_PRESERVE_ORDER, NULL);
    assert_non_null(b->doc);
    *gz = (struct op_buf)OP_BUF_INIT;
    static const char pretend[] = "\x1f\x8b pretend gzip";
    assert_int_equal(op_buf_append(gz, pretend, sizeof pretend - 1), 0);
}

static void test_transports(void **state)
{
    (void)state;
    /* What the loop relies on of each kind. */
    assert_int_equal(reporter_http_transport.gzip, 1);
    assert_null(reporter_http_transport.from_beginning);
    assert_int_equal(reporter_file_transport.gzip, 0);
    assert_null(reporter_file_transport.from_beginning);
    assert_int_equal(reporter_xlsx_transport.gzip, 0);
    assert_non_null(reporter_xlsx_transport.from_beginning); /* windows live in memory */
    assert_non_null(reporter_xlsx_transport.flush);

    struct reporter_batch b;
    struct op_buf gz;
    transport_batch(&b, &gz);
    atomic_int stop;
    atomic_init(&stop, 0);
    struct reporter_send_args a = {"ep", &b, &gz, 0, &stop};
    struct reporter_send_result out;

    /* http: 503 with Retry-After is retried, 200 delivered, 400 rejected with its body. */
    static const char *const answers[] = {
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 4\r\n\r\nbusy",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad region!",
    };
    struct mini s;
    memset(&s, 0, sizeof s);
    s.answers = answers;
    s.n_answers = 3;
    pthread_t t;
    mini_start(&s, &t);
    char url[64], err[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/rollups", s.port);
    struct reporter_http_opts o = {url, NULL, NULL, NULL, NULL, 1, 5000, NULL, NULL};
    void *h = reporter_http_new(&o, err, sizeof err);
    assert_non_null(h);
    reporter_http_transport.send(h, &a, &out);
    assert_int_equal(out.verdict, REPORTER_RETRY);
    assert_int_equal(out.aborted, 0);
    assert_int_equal(out.status, 503);
    assert_int_equal(out.retry_after_ms, 7000);
    assert_string_equal(out.why, "HTTP 503 busy");
    assert_int_equal(out.detail_len, 4);
    assert_memory_equal(out.detail, "busy", 4);
    assert_int_equal(out.new_connections, 1);
    reporter_http_transport.send(h, &a, &out);
    assert_int_equal(out.verdict, REPORTER_DELIVERED);
    assert_int_equal(out.status, 200);
    assert_int_equal(out.new_connections, 0);
    reporter_http_transport.send(h, &a, &out);
    assert_int_equal(out.verdict, REPORTER_REJECTED);
    assert_int_equal(out.status, 400);
    assert_string_equal(out.why, "HTTP 400 bad region!");
    assert_int_equal(out.detail_len, 11);
    assert_memory_equal(out.detail, "bad region!", 11);
    pthread_join(t, NULL);
    assert_non_null(
        strstr(s.requests[0], "\r\nIdempotency-Key: \"ep-t-0-5-9-00000000000000ab\"\r\n"));
    assert_non_null(strstr(s.requests[0], "\r\n\r\n\x1f\x8b pretend gzip"));
    close(s.lfd);
    /* Nobody listening: retried, the transport error is the reason and the DLQ body. */
    reporter_http_transport.send(h, &a, &out);
    assert_int_equal(out.verdict, REPORTER_RETRY);
    assert_int_equal(out.status, 0);
    assert_true(strlen(out.why) > 0);
    assert_int_equal(out.detail_len, strlen(out.why));
    assert_memory_equal(out.detail, out.why, out.detail_len);
    /* ... unless the reporter is stopping: neither delivered nor failed. */
    atomic_store(&stop, 1);
    reporter_http_transport.send(h, &a, &out);
    assert_int_equal(out.aborted, 1);
    atomic_store(&stop, 0);
    reporter_http_transport.close(h);

    /* file: one JSON Lines snapshot named by the batch key, one rollup a line. */
    char dir[] = "/tmp/test_reporter_tp_XXXXXX", path[512];
    assert_non_null(mkdtemp(dir));
    reporter_file_transport.send(dir, &a, &out);
    assert_int_equal(out.verdict, REPORTER_DELIVERED);
    snprintf(path, sizeof path, "%s/%s.jsonl", dir, b.key);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[128];
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "{\"region\":\"110000\",\"n\":1}\n");
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "{\"region\":\"120000\",\"n\":2}\n");
    assert_null(fgets(line, sizeof line, fp));
    fclose(fp);
    unlink(path);
    rmdir(dir);
    /* A directory gone: retried (never rejected), the error names the file. */
    reporter_file_transport.send(dir, &a, &out);
    assert_int_equal(out.verdict, REPORTER_RETRY);
    assert_int_equal(out.status, 0);
    assert_int_equal(out.retry_after_ms, -1);
    assert_non_null(strstr(out.why, dir));
    assert_int_equal(out.detail_len, strlen(out.why));
    assert_memory_equal(out.detail, out.why, out.detail_len);
    reporter_file_transport.close(strdup(dir));

    json_decref(b.doc);
    op_buf_free(&gz);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_write),
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_oauth2),
        cmocka_unit_test(test_transports),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
