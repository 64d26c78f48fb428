/* outreach-sink's routes: POST /rollups and /audit (the injected failures, gzip, the store), the
 * views (/, /rollups, /table.txt, /audit, /audit.html), /stats, /metrics, /control and the
 * health probes. */
#include "server_internal.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "health.h"
#include "log.h"
#include "page.h"

/* ---- routes ----------------------------------------------------------------------------- */

static const char *const mode_names[] = {"ok", "503", "400", "slow", "drop"};

int sink_fail_mode_parse(const char *s, enum sink_fail_mode *mode)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(s, mode_names[i]) == 0) {
            *mode = (enum sink_fail_mode)i;
            return 0;
        }
    return -1;
}

const char *sink_fail_mode_name(enum sink_fail_mode mode)
{
    return (unsigned)mode < 5 ? mode_names[mode] : "?";
}

/* The Idempotency-Key: an RFC 8941 sf-string ("..."), quotes removed; a bare token is taken
 * as it is. Returns the length written to out (0: missing or malformed). */
static size_t idem_key(struct MHD_Connection *c, char *out, size_t size)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    if (!h)
        return 0;
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
        h++;
        n -= 2;
    }
    if (n == 0 || n >= size || memchr(h, '"', n) || memchr(h, '\\', n))
        return 0;
    memcpy(out, h, n);
    out[n] = 0;
    return n;
}

/* Saves a received body as DIR/NNNNNN.body plus DIR/NNNNNN.meta.json (headers that matter). */
static void dump_body(struct sink_server *s, struct MHD_Connection *c, const struct req *rq,
                      const char *key, const char *mode)
{
    uint64_t seq;
    pthread_mutex_lock(&s->lock);
    seq = ++s->dumps;
    pthread_mutex_unlock(&s->lock);
    size_t n = strlen(s->dump_dir) + 48;
    char *path = malloc(n);
    if (!path)
        return;
    const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
    json_t *meta = json_pack("{s:I,s:s,s:s?,s:s?,s:s,s:I}", "seq", (json_int_t)seq,
                             "idempotency_key", key, "content_encoding", enc, "content_type",
                             MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
                             "mode", mode, "bytes", (json_int_t)rq->body.len);
    char *text = meta ? json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    const struct {
        const char *suffix;
        const void *data;
        size_t len;
    } files[2] = {{"body", rq->body.data, rq->body.len},
                  {"meta.json", text, text ? strlen(text) : 0}};
    for (int i = 0; i < 2; i++) {
        snprintf(path, n, "%s/%06" PRIu64 ".%s", s->dump_dir, seq, files[i].suffix);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        ssize_t w = fd >= 0 && files[i].len ? write(fd, files[i].data, files[i].len) : 0;
        if (fd < 0 || w < 0 || (size_t)w != files[i].len)
            op_log(OP_LOG_WARNING, "dump %s: %s", path,
                   fd < 0 || w < 0 ? strerror(errno) : "short write");
        if (fd >= 0)
            close(fd);
    }
    free(text);
    json_decref(meta);
    free(path);
}

/* The request body without its Content-Encoding (gzip or identity): *body and *len point into
 * rq->body or plain (the caller frees plain). 0, or -1 with *status and the reason in err. */
static int plain_body(struct sink_server *s, struct MHD_Connection *c, struct req *rq,
                      struct op_buf *plain, const char **body, size_t *len, unsigned *status,
                      char *err, size_t err_size)
{
    const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
    *body = (const char *)rq->body.data;
    *len = rq->body.len;
    if (enc && (strcasecmp(enc, "gzip") == 0 || strcasecmp(enc, "x-gzip") == 0)) {
        /* Each inflate may take SINK_BODY_MAX + 1 bytes: their number bounds the memory. */
        if (atomic_fetch_add(&s->inflating, 1) >= s->max_inflates) {
            atomic_fetch_sub(&s->inflating, 1);
            *status = 503;
            op_set_err(err, err_size, "too many gzip bodies at once (over %d): retry",
                       s->max_inflates);
            return -1;
        }
        int g = sink_gunzip(rq->body.data, rq->body.len, plain, SINK_BODY_MAX);
        atomic_fetch_sub(&s->inflating, 1);
        if (g != 0) {
            op_buf_free(plain);
            *status = g == -2 ? 413 : g == -3 ? 500 : 400;
            op_set_err(err, err_size, "%s",
                       g == -2   ? "gunzip: over 64 MiB"
                       : g == -3 ? "out of memory"
                                 : "bad gzip");
            return -1;
        }
        *body = (const char *)plain->data;
        *len = plain->len;
    } else if (enc && strcasecmp(enc, "identity") != 0) {
        *status = 415;
        op_set_err(err, err_size, "Content-Encoding: only gzip or identity");
        return -1;
    }
    return 0;
}

/* The injected failure for this POST (counting it down), and the delay of "slow". */
static enum sink_fail_mode take_mode(struct sink_server *s, long *delay)
{
    pthread_mutex_lock(&s->lock);
    enum sink_fail_mode mode = s->mode;
    *delay = s->delay_ms;
    if (mode != SINK_FAIL_OK) {
        s->injected++;
        if (s->remaining > 0 && --s->remaining == 0)
            s->mode = SINK_FAIL_OK;
    }
    pthread_mutex_unlock(&s->lock);
    return mode;
}

static void slow_answer(struct sink_server *s, long delay)
{
    int64_t until = op_clock_mono_ms() + delay;
    while (op_clock_mono_ms() < until && !atomic_load(&s->stopping))
        op_clock_sleep_ms(20);
}

static enum MHD_Result post_rollups(struct sink_server *s, struct MHD_Connection *c, struct req *rq,
                                    const char *method, const char *url)
{
    char key[SINK_KEY_MAX] = "", detail[SINK_KEY_MAX + 256], err[512];
    long delay;
    enum sink_fail_mode mode = take_mode(s, &delay);
    size_t kl = idem_key(c, key, sizeof key);
    if (s->dump_dir && !rq->too_large)
        dump_body(s, c, rq, key, sink_fail_mode_name(mode));

    unsigned status;
    enum MHD_Result rc;
    if (mode == SINK_FAIL_DROP) {
        snprintf(detail, sizeof detail, "key=\"%s\" injected=drop: connection closed", key);
        sink_log_request(c, method, url, 0, rq, detail);
        return MHD_NO;
    }
    if (mode == SINK_FAIL_503 || mode == SINK_FAIL_400) {
        status = mode == SINK_FAIL_503 ? 503 : 400;
        snprintf(detail, sizeof detail, "key=\"%s\" injected=%s", key, mode_names[mode]);
        sink_log_request(c, method, url, status, rq, detail);
        return sink_respond_error(c, status,
                                  mode == SINK_FAIL_503 ? "injected 503" : "injected 400",
                                  mode == SINK_FAIL_503 ? MHD_HTTP_HEADER_RETRY_AFTER : NULL, "1");
    }
    if (rq->too_large) {
        sink_log_request(c, method, url, 413, rq, "body too large");
        return sink_respond_error(c, 413, "body over 64 MiB", NULL, NULL);
    }
    if (kl == 0) {
        sink_log_request(c, method, url, 400, rq, "no Idempotency-Key");
        return sink_respond_error(c, 400, "Idempotency-Key: missing or not a quoted string", NULL,
                                  NULL);
    }
    struct op_buf plain = OP_BUF_INIT;
    const char *body;
    size_t len;
    if (plain_body(s, c, rq, &plain, &body, &len, &status, err, sizeof err) != 0) {
        snprintf(detail, sizeof detail, "key=\"%s\" %s", key, err);
        sink_log_request(c, method, url, status, rq, detail);
        return sink_respond_error(c, status, err,
                                  status == 503 ? MHD_HTTP_HEADER_RETRY_AFTER : NULL, "1");
    }
    size_t accepted = 0, applied = 0;
    pthread_mutex_lock(&s->lock);
    enum sink_result res = sink_store_apply(s->store, key, body ? body : "", len, &accepted,
                                            &applied, err, sizeof err);
    pthread_mutex_unlock(&s->lock);
    op_buf_free(&plain);
    json_t *answer;
    switch (res) {
    case SINK_ACCEPTED:
    case SINK_DUPLICATE:
        status = 200;
        answer = json_pack("{s:I,s:I,s:b}", "accepted", (json_int_t)accepted, "applied",
                           (json_int_t)applied, "duplicate", res == SINK_DUPLICATE);
        snprintf(detail, sizeof detail, "key=\"%s\" accepted=%zu applied=%zu duplicate=%s", key,
                 accepted, applied, res == SINK_DUPLICATE ? "true" : "false");
        break;
    default:
        status = res == SINK_CONFLICT  ? 422
                 : res == SINK_INVALID ? 400
                 : res == SINK_FULL    ? 507
                                       : 500;
        answer = json_pack("{s:s}", "error", err);
        snprintf(detail, sizeof detail, "key=\"%s\" %.200s", key, err);
        break;
    }
    if (mode == SINK_FAIL_SLOW) {
        /* Stored already: an answer that comes too late is the case idempotency exists for. */
        slow_answer(s, delay);
        size_t dl = strlen(detail);
        snprintf(detail + dl, sizeof detail - dl, " injected=slow:%ldms", delay);
    }
    sink_log_request(c, method, url, status, rq, detail);
    rc = sink_respond_json(c, status, answer, NULL, NULL);
    return rc;
}

/* POST /audit: audit entries (更正/撤回) for the page's audit view; same auth, size and
 * encoding rules as /rollups. No Idempotency-Key needed: entries are kept once per
 * (event_id, correction_to), so a re-sent body changes nothing. */
static enum MHD_Result post_audit(struct sink_server *s, struct MHD_Connection *c, struct req *rq,
                                  const char *method, const char *url)
{
    char err[512], detail[600];
    unsigned status;
    long delay;
    enum sink_fail_mode mode = take_mode(s, &delay);
    if (mode == SINK_FAIL_DROP) {
        sink_log_request(c, method, url, 0, rq, "injected=drop: connection closed");
        return MHD_NO;
    }
    if (mode == SINK_FAIL_503 || mode == SINK_FAIL_400) {
        status = mode == SINK_FAIL_503 ? 503 : 400;
        sink_log_request(c, method, url, status, rq,
                         mode == SINK_FAIL_503 ? "injected=503" : "injected=400");
        return sink_respond_error(c, status,
                                  mode == SINK_FAIL_503 ? "injected 503" : "injected 400",
                                  mode == SINK_FAIL_503 ? MHD_HTTP_HEADER_RETRY_AFTER : NULL, "1");
    }
    if (rq->too_large) {
        sink_log_request(c, method, url, 413, rq, "body too large");
        return sink_respond_error(c, 413, "body over 64 MiB", NULL, NULL);
    }
    struct op_buf plain = OP_BUF_INIT;
    const char *body;
    size_t len, received = 0, added = 0;
    if (plain_body(s, c, rq, &plain, &body, &len, &status, err, sizeof err) != 0) {
        sink_log_request(c, method, url, status, rq, err);
        return sink_respond_error(c, status, err,
                                  status == 503 ? MHD_HTTP_HEADER_RETRY_AFTER : NULL, "1");
    }
    pthread_mutex_lock(&s->lock);
    int rc = sink_audit_apply(s->audit, body ? body : "", len, &received, &added, err, sizeof err);
    pthread_mutex_unlock(&s->lock);
    op_buf_free(&plain);
    if (rc != 0) {
        status = rc == -1 ? 400 : 500;
        snprintf(detail, sizeof detail, "audit: %.500s", err);
        sink_log_request(c, method, url, status, rq, detail);
        return sink_respond_error(c, status, err, NULL, NULL);
    }
    snprintf(detail, sizeof detail, "audit: received=%zu added=%zu%s", received, added,
             mode == SINK_FAIL_SLOW ? " injected=slow" : "");
    if (mode == SINK_FAIL_SLOW)
        slow_answer(s, delay);
    sink_log_request(c, method, url, 200, rq, detail);
    return sink_respond_json(c, 200,
                             json_pack("{s:I,s:I,s:I}", "received", (json_int_t)received, "added",
                                       (json_int_t)added, "duplicates",
                                       (json_int_t)(received - added)),
                             NULL, NULL);
}

/* GET /audit?region=CODE (JSON) and /audit.html?region=CODE&lang=zh|en (the view). */
static enum MHD_Result audit_view(struct sink_server *s, struct MHD_Connection *c, struct req *rq,
                                  const char *method, const char *url, int html)
{
    const char *region = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "region");
    const char *lang = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "lang");
    const char *limit_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    uint32_t code = 0;
    unsigned long long limit = 0;
    char *end = NULL;
    const char *bad = NULL;
    if (region && region[0] &&
        (op_regions_parse_code(region, &code) != 0 || !op_regions_find(s->regions, code)))
        bad = "region: not a 6-digit code of the region table";
    else if (lang && strcmp(lang, "zh") != 0 && strcmp(lang, "en") != 0)
        bad = "lang: zh or en";
    else if (limit_s && (limit_s[0] < '0' || limit_s[0] > '9' ||
                         (limit = strtoull(limit_s, &end, 10), *end) || limit > SIZE_MAX))
        bad = "limit: a number of entries (0: all)";
    if (bad) {
        sink_log_request(c, method, url, 400, rq, bad);
        return sink_respond_error(c, 400, bad, NULL, NULL);
    }
    struct op_buf b = OP_BUF_INIT;
    pthread_mutex_lock(&s->lock);
    int rc = html
                 ? sink_audit_page(s->audit, s->regions, code, !lang || strcmp(lang, "zh") == 0, &b)
                 : sink_audit_json(s->audit, code, (size_t)limit, &b);
    pthread_mutex_unlock(&s->lock);
    if (rc != 0 || (!html && op_buf_append(&b, "\n", 1) != 0)) {
        op_buf_free(&b);
        sink_log_request(c, method, url, 500, rq, "out of memory");
        return sink_respond_error(c, 500, "out of memory", NULL, NULL);
    }
    sink_log_request(c, method, url, 200, rq, "");
    return sink_respond(c, 200, html ? "text/html; charset=utf-8" : "application/json", &b, NULL,
                        NULL);
}

static json_t *control_state(struct sink_server *s)
{
    return json_pack("{s:s,s:I,s:I}", "mode", sink_fail_mode_name(s->mode), "count",
                     (json_int_t)s->remaining, "delay_ms", (json_int_t)s->delay_ms);
}

static enum MHD_Result control(struct sink_server *s, struct MHD_Connection *c, struct req *rq,
                               const char *method, const char *url)
{
    json_t *j = NULL, *answer;
    if (strcmp(method, "POST") == 0) {
        json_error_t jerr;
        enum sink_fail_mode mode = SINK_FAIL_OK;
        j = json_loadb(rq->body.data ? (const char *)rq->body.data : "", rq->body.len, 0, &jerr);
        json_t *m = json_object_get(j, "mode"), *n = json_object_get(j, "count"),
               *d = json_object_get(j, "delay_ms");
        if (!json_is_object(j) || !json_is_string(m) ||
            sink_fail_mode_parse(json_string_value(m), &mode) != 0 ||
            (n && (!json_is_integer(n) || json_integer_value(n) < 0)) ||
            (d && (!json_is_integer(d) || json_integer_value(d) < 0 ||
                   json_integer_value(d) > 3600000))) {
            json_decref(j);
            sink_log_request(c, method, url, 400, rq, "bad control request");
            return sink_respond_error(c, 400,
                                      "expected {\"mode\":\"ok|503|400|slow|drop\",\"count\":N,"
                                      "\"delay_ms\":M}",
                                      NULL, NULL);
        }
        pthread_mutex_lock(&s->lock);
        s->mode = mode;
        s->remaining = mode == SINK_FAIL_OK ? 0 : n ? (long)json_integer_value(n) : 0;
        if (d)
            s->delay_ms = (long)json_integer_value(d);
        pthread_mutex_unlock(&s->lock);
        json_decref(j);
    }
    pthread_mutex_lock(&s->lock);
    answer = control_state(s);
    pthread_mutex_unlock(&s->lock);
    char detail[128];
    snprintf(detail, sizeof detail, "mode=%s count=%lld delay_ms=%lld",
             json_string_value(json_object_get(answer, "mode")),
             (long long)json_integer_value(json_object_get(answer, "count")),
             (long long)json_integer_value(json_object_get(answer, "delay_ms")));
    sink_log_request(c, method, url, 200, rq, detail);
    return sink_respond_json(c, 200, answer, NULL, NULL);
}

static enum MHD_Result stats(struct sink_server *s, struct MHD_Connection *c, struct req *rq,
                             const char *method, const char *url)
{
    pthread_mutex_lock(&s->lock);
    const struct sink_stats *st = sink_store_stats(s->store);
    json_t *j = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:I,s:I}", "requests",
        (json_int_t)s->requests, "connections", (json_int_t)s->connections, "batches",
        (json_int_t)st->batches, "duplicates", (json_int_t)st->duplicates, "conflicts",
        (json_int_t)st->conflicts, "invalid", (json_int_t)st->invalid, "full", (json_int_t)st->full,
        "rollups", (json_int_t)sink_store_count(s->store), "rollups_received",
        (json_int_t)st->rollups_received, "rollups_applied", (json_int_t)st->rollups_applied,
        "idempotency_keys", (json_int_t)sink_store_keys(s->store), "injected",
        (json_int_t)s->injected, "fail_mode", sink_fail_mode_name(s->mode), "fail_remaining",
        (json_int_t)s->remaining, "uptime_ms", (json_int_t)(op_clock_mono_ms() - s->started_ms));
    const struct sink_audit_stats *as = sink_audit_stats(s->audit);
    json_object_set_new(
        j, "audit",
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "entries", (json_int_t)sink_audit_size(s->audit),
                  "posts", (json_int_t)as->posts, "invalid", (json_int_t)as->invalid, "received",
                  (json_int_t)as->received, "added", (json_int_t)as->added, "duplicates",
                  (json_int_t)as->duplicates, "evicted", (json_int_t)as->evicted));
    pthread_mutex_unlock(&s->lock);
    sink_log_request(c, method, url, 200, rq, "");
    return sink_respond_json(c, 200, j, NULL, NULL);
}

/* Prometheus text: the store's counters, read under the lock like /stats. */
static enum MHD_Result metrics(struct sink_server *s, struct MHD_Connection *c, struct req *rq,
                               const char *method, const char *url)
{
    struct op_buf b = OP_BUF_INIT;
    static const char *const results[] = {"accepted", "duplicate", "conflict", "invalid", "full"};
    pthread_mutex_lock(&s->lock);
    const struct sink_stats *st = sink_store_stats(s->store);
    const uint64_t v[] = {st->batches, st->duplicates, st->conflicts, st->invalid, st->full};
    uint64_t rollups = sink_store_count(s->store);
    const struct sink_audit_stats as = *sink_audit_stats(s->audit);
    uint64_t audit_entries = sink_audit_size(s->audit);
    pthread_mutex_unlock(&s->lock);
    op_prom_header(&b, "outreach_sink_batches_total", "counter",
                   "POST /rollups answers: accepted (stored), duplicate (Idempotency-Key seen), "
                   "conflict (key reused for another body), invalid (refused), full (over "
                   "--max-rollups)");
    for (int i = 0; i < 5; i++) {
        char labels[32];
        snprintf(labels, sizeof labels, "result=\"%s\"", results[i]);
        op_prom_sample_u64(&b, "outreach_sink_batches_total", labels, v[i]);
    }
    op_prom_header(&b, "outreach_sink_rollups", "gauge", "rollup keys stored");
    op_prom_sample_u64(&b, "outreach_sink_rollups", NULL, rollups);
    op_prom_header(&b, "outreach_sink_audit_entries", "gauge",
                   "audit entries held (POST /audit; at most --max-audit)");
    op_prom_sample_u64(&b, "outreach_sink_audit_entries", NULL, audit_entries);
    op_prom_header(&b, "outreach_sink_audit_received_total", "counter",
                   "audit entries in accepted POST /audit bodies: added (new) or duplicate "
                   "((event_id, correction_to) already held)");
    op_prom_sample_u64(&b, "outreach_sink_audit_received_total", "result=\"added\"", as.added);
    op_prom_sample_u64(&b, "outreach_sink_audit_received_total", "result=\"duplicate\"",
                       as.duplicates);
    op_prom_header(&b, "outreach_sink_audit_invalid_total", "counter",
                   "POST /audit bodies refused (400)");
    op_prom_sample_u64(&b, "outreach_sink_audit_invalid_total", NULL, as.invalid);
    op_prom_header(&b, "outreach_sink_audit_evicted_total", "counter",
                   "audit entries dropped, oldest first, to stay within --max-audit");
    op_prom_sample_u64(&b, "outreach_sink_audit_evicted_total", NULL, as.evicted);
    op_prom_header(&b, "outreach_sink_ready", "gauge",
                   "1 when /readyz answers 200 (state loaded, listening)");
    op_prom_sample_u64(&b, "outreach_sink_ready", NULL, 1);
    sink_log_request(c, method, url, 200, rq, "");
    return sink_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", &b, NULL, NULL);
}

static enum MHD_Result read_view(struct sink_server *s, struct MHD_Connection *c, struct req *rq,
                                 const char *method, const char *url, int page)
{
    struct op_buf b = OP_BUF_INIT;
    int rc;
    char err[256] = "";
    pthread_mutex_lock(&s->lock);
    const char *window = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "window");
    if (page == 1) {
        struct sink_page_query q = {
            window,
            MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "campaign"),
            MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "region"),
            MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "lang"),
            MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "metric"),
        };
        rc = sink_page_render(s->store, s->regions, &q, &b, err, sizeof err);
    } else if (page == 2) {
        rc = sink_table_render(s->store, window, &b);
    } else {
        rc = sink_store_rollups_json(s->store, &b);
    }
    pthread_mutex_unlock(&s->lock);
    if (rc == -2) {
        op_buf_free(&b);
        sink_log_request(c, method, url, 400, rq, err);
        return sink_respond_error(c, 400, err, NULL, NULL);
    }
    if (rc != 0) {
        op_buf_free(&b);
        sink_log_request(c, method, url, 500, rq, "out of memory");
        return sink_respond_error(c, 500, "out of memory", NULL, NULL);
    }
    sink_log_request(c, method, url, 200, rq, "");
    return sink_respond(c, 200,
                        page == 1   ? "text/html; charset=utf-8"
                        : page == 2 ? "text/plain; charset=utf-8"
                                    : "application/json",
                        &b, NULL, NULL);
}

enum MHD_Result sink_dispatch(struct sink_server *s, struct MHD_Connection *c, const char *url,
                              const char *method, struct req *rq)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    if (strcmp(url, "/rollups") == 0) {
        if (post)
            return post_rollups(s, c, rq, method, url);
        if (get)
            return read_view(s, c, rq, method, url, 0);
    } else if (strcmp(url, "/audit") == 0) {
        if (post)
            return post_audit(s, c, rq, method, url);
        if (get)
            return audit_view(s, c, rq, method, url, 0);
    } else if (strcmp(url, "/audit.html") == 0) {
        if (get)
            return audit_view(s, c, rq, method, url, 1);
    } else if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
        if (get)
            return read_view(s, c, rq, method, url, 1);
    } else if (strcmp(url, "/table.txt") == 0) {
        if (get)
            return read_view(s, c, rq, method, url, 2);
    } else if (strcmp(url, "/stats") == 0) {
        if (get)
            return stats(s, c, rq, method, url);
    } else if (strcmp(url, "/control") == 0 && s->enable_control) {
        if (get || post)
            return control(s, c, rq, method, url);
    } else if (strcmp(url, "/metrics") == 0) {
        if (get)
            return metrics(s, c, rq, method, url);
    } else if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0) {
        /* Ready = alive: the daemon only answers once the state is loaded and it listens. */
        if (get) {
            struct op_buf b = OP_BUF_INIT;
            sink_log_request(c, method, url, 200, rq, "");
            if (op_buf_append(&b, "ok\n", 3))
                return MHD_NO;
            return sink_respond(c, 200, "text/plain", &b, NULL, NULL);
        }
    } else {
        sink_log_request(c, method, url, 404, rq, "");
        return sink_respond_error(c, 404, "not found", NULL, NULL);
    }
    sink_log_request(c, method, url, 405, rq, "");
    return sink_respond_error(c, 405, "method not allowed", MHD_HTTP_HEADER_ALLOW,
                              strcmp(url, "/rollups") == 0 || strcmp(url, "/audit") == 0
                                  ? "GET, HEAD, POST"
                              : strcmp(url, "/control") == 0 ? "GET, POST"
                                                             : "GET, HEAD");
}
