/* The sink's HTTP handlers on libmicrohttpd (a thread per connection, so a request told to be
 * slow never blocks /stats or /control). One mutex guards the store and the injected mode. */
#define ZLIB_CONST
#include "server_internal.h"
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "err.h"
#include "httpd.h"
#include "log.h"

/* ---- answers ---------------------------------------------------------------------------- */

/* Queues an answer; takes body's storage. extra_name/value: one more header or NULL. */
enum MHD_Result sink_respond(struct MHD_Connection *c, unsigned status, const char *type,
                             struct op_buf *body, const char *extra_name, const char *extra_value)
{
    struct MHD_Response *r;
    if (body->len > 0) {
        r = MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_FREE);
        if (r) {
            body->data = NULL;
            body->len = body->cap = 0;
        }
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    op_buf_free(body);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /* The page is self-contained: no script, no fetch, nothing loaded from anywhere. */
    if (strncmp(type, "text/html", 9) == 0)
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                "form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
    if (extra_name)
        MHD_add_response_header(r, extra_name, extra_value);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

enum MHD_Result sink_respond_json(struct MHD_Connection *c, unsigned status, json_t *j,
                                  const char *extra_name, const char *extra_value)
{
    struct op_buf b = OP_BUF_INIT;
    char *t = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!t || op_buf_append(&b, t, strlen(t)) || op_buf_append(&b, "\n", 1)) {
        free(t);
        op_buf_free(&b);
        return MHD_NO;
    }
    free(t);
    return sink_respond(c, status, "application/json", &b, extra_name, extra_value);
}

enum MHD_Result sink_respond_error(struct MHD_Connection *c, unsigned status, const char *msg,
                                   const char *extra_name, const char *extra_value)
{
    return sink_respond_json(c, status, json_pack("{s:s}", "error", msg), extra_name, extra_value);
}

/* ---- helpers ---------------------------------------------------------------------------- */

int sink_gunzip(const unsigned char *in, size_t len, struct op_buf *out, size_t max)
{
    /* One byte past max tells "too large"; the buffer never grows beyond that, so a bomb
     * costs at most max + 1 bytes however far it would inflate. */
    const size_t limit = max + 1;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return -3;
    zs.next_in = in;
    zs.avail_in = (uInt)len;
    int zrc, rc = 0;
    do {
        if (out->len == out->cap) {
            size_t cap = out->cap < 65536 ? 65536 : out->cap * 2;
            if (cap > limit)
                cap = limit;
            unsigned char *p = cap > out->cap ? realloc(out->data, cap) : NULL;
            if (!p) {
                rc = out->len >= limit ? -2 : -3;
                break;
            }
            out->data = p;
            out->cap = cap;
        }
        size_t room = out->cap - out->len;
        zs.next_out = out->data + out->len;
        zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        uInt before = zs.avail_out;
        zrc = inflate(&zs, Z_NO_FLUSH);
        out->len += before - zs.avail_out;
        if (out->len > max) {
            rc = -2;
            break;
        }
        if (zrc == Z_BUF_ERROR && zs.avail_in == 0) { /* truncated */
            rc = -1;
            break;
        }
        if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
            rc = -1;
            break;
        }
    } while (zrc != Z_STREAM_END);
    if (rc == 0 && zs.avail_in != 0) /* bytes after the end of the stream */
        rc = -1;
    inflateEnd(&zs);
    return rc;
}

/* Constant-time comparison of the Authorization header with "Bearer <token>". */
static int authorised(const struct sink_server *s, struct MHD_Connection *c)
{
    if (!s->token)
        return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    size_t a = strlen(h), b = strlen(s->token);
    unsigned char diff = (unsigned char)(a != b);
    for (size_t i = 0; i < a; i++)
        diff |= (unsigned char)(h[i] ^ s->token[i % (b ? b : 1)]);
    return diff == 0;
}

static unsigned long conn_id(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? (unsigned long)(uintptr_t)ci->socket_context : 0;
}

void sink_log_request(struct MHD_Connection *c, const char *method, const char *url,
                      unsigned status, const struct req *rq, const char *detail)
{
    op_log(OP_LOG_INFO, "%s %s %u in=%zu ms=%" PRId64 " conn=%lu%s%s", method, url, status,
           rq->body.len, op_clock_mono_ms() - rq->t0, conn_id(c), detail[0] ? " " : "", detail);
}

/* ---- libmicrohttpd callbacks: authorisation and body limits before a route --------------- */

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    struct sink_server *s = cls;
    struct req *rq = *con_cls;
    (void)version;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->t0 = op_clock_mono_ms();
        *con_cls = rq;
        pthread_mutex_lock(&s->lock);
        s->requests++;
        pthread_mutex_unlock(&s->lock);
        /* The headers are complete now: refuse before reading a byte of the body (no
         * 100 Continue goes out, and the connection is closed after the answer). */
        if (!authorised(s, c)) {
            rq->answered = 1;
            sink_log_request(c, method, url, 401, rq, "unauthorised");
            return sink_respond_error(c, 401, "bearer token required",
                                      MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        }
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > SINK_BODY_MAX) {
            rq->answered = 1;
            sink_log_request(c, method, url, 413, rq, "Content-Length over 64 MiB");
            return sink_respond_error(c, 413, "body over 64 MiB", NULL, NULL);
        }
        return MHD_YES;
    }
    if (rq->answered) { /* MHD may still offer upload data: drop it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!rq->too_large && (rq->body.len + *upload_data_size > SINK_BODY_MAX ||
                               op_buf_append(&rq->body, upload_data, *upload_data_size) != 0)) {
            rq->too_large = 1;
            op_buf_free(&rq->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return sink_dispatch(s, c, url, method, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (rq) {
        op_buf_free(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct sink_server *s = cls;
    (void)c;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    pthread_mutex_lock(&s->lock);
    *socket_context = (void *)(uintptr_t)++s->connections;
    pthread_mutex_unlock(&s->lock);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    op_log(OP_LOG_WARNING, "microhttpd: %s", line);
}

/* application/x-www-form-urlencoded: '+' is a space, %XX a byte. In place; returns the length. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    char *w = s;
    (void)cls;
    (void)c;
    for (const char *r = s; *r; r++) {
        if (*r == '+') {
            *w++ = ' ';
        } else if (r[0] == '%' && r[1] && r[2] && strchr("0123456789abcdefABCDEF", r[1]) &&
                   strchr("0123456789abcdefABCDEF", r[2])) {
            char hex[3] = {r[1], r[2], 0};
            *w++ = (char)strtol(hex, NULL, 16);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
    return (size_t)(w - s);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static char *slurp(const char *path, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "rb");
    struct op_buf b = OP_BUF_INIT;
    char chunk[4096];
    size_t n;
    if (!f) {
        op_set_err(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (op_buf_append(&b, chunk, n) != 0)
            break;
    int bad = ferror(f) || op_buf_append(&b, "", 1) != 0;
    fclose(f);
    if (bad) {
        op_set_err(errstr, errstr_size, "%s: cannot read", path);
        op_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (memcmp(a->s6_addr, v4mapped, 12) == 0 && a->s6_addr[12] == 127);
    }
    return 0;
}

/* Binds HOST:PORT and listens; the announce text gets the bound address. *loopback says
 * whether the address is a loopback one; with refuse_public, any other is refused before
 * binding. -1 with errstr. */
static int bind_listen(const char *spec, int refuse_public, int *loopback, int *v6, unsigned *port,
                       char *announce, size_t size, char *errstr, size_t errstr_size)
{
    char host[256];
    const char *p;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof host) {
            op_set_err(errstr, errstr_size, "--listen %s: expected [ADDRESS]:PORT", spec);
            return -1;
        }
        memcpy(host, spec + 1, (size_t)(end - spec - 1));
        host[end - spec - 1] = 0;
        p = end + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host) {
            op_set_err(errstr, errstr_size, "--listen %s: expected HOST:PORT", spec);
            return -1;
        }
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = 0;
        p = colon + 1;
    }
    char *end;
    unsigned long pn = strtoul(p, &end, 10);
    if (!*p || *end || pn > 65535) {
        op_set_err(errstr, errstr_size, "--listen %s: the port must be 0..65535", spec);
        return -1;
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int g = getaddrinfo(host[0] ? host : NULL, p, &hints, &ai);
    if (g != 0) {
        op_set_err(errstr, errstr_size, "--listen %s: %s", spec, gai_strerror(g));
        return -1;
    }
    *loopback = is_loopback(ai->ai_addr);
    if (refuse_public && !*loopback) {
        op_set_err(errstr, errstr_size,
                   "--listen %s is not a loopback address: give --token-file (and "
                   "--tls-cert/--tls-key), or --insecure-listen to serve it without a token",
                   spec);
        freeaddrinfo(ai);
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        op_set_err(errstr, errstr_size, "--listen %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char addr[INET6_ADDRSTRLEN] = "?";
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof addr);
        *port = ntohs(a->sin6_port);
        *v6 = 1;
        snprintf(announce, size, "listening on [%s]:%u", addr, *port);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, addr, sizeof addr);
        *port = ntohs(a->sin_port);
        *v6 = 0;
        snprintf(announce, size, "listening on %s:%u", addr, *port);
    }
    return fd;
}

struct sink_server *sink_server_start(const struct sink_server_opts *o, FILE *announce,
                                      char *errstr, size_t errstr_size)
{
    struct sink_server *s = calloc(1, sizeof *s);
    int fd = -1, v6 = 0;
    char line[INET6_ADDRSTRLEN + 64];
    if (!s) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->stopping, 0);
    atomic_init(&s->inflating, 0);
    s->max_inflates = o->max_inflates > 0 ? o->max_inflates : SINK_INFLATES_DEFAULT;
    s->enable_control = o->enable_control;
    s->mode = o->fail_mode;
    s->remaining = o->fail_mode == SINK_FAIL_OK ? 0 : o->fail_count;
    s->delay_ms = o->fail_delay_ms;
    s->started_ms = op_clock_mono_ms();
    if ((o->token && !(s->token = strdup(o->token))) ||
        (o->dump_dir && !(s->dump_dir = strdup(o->dump_dir)))) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if (o->dump_dir) {
        struct stat st;
        if (stat(o->dump_dir, &st) != 0 && mkdir(o->dump_dir, 0750) != 0) {
            op_set_err(errstr, errstr_size, "--dump-dir %s: %s", o->dump_dir, strerror(errno));
            goto fail;
        }
    }
    if (!o->tls_cert != !o->tls_key) {
        op_set_err(errstr, errstr_size, "--tls-cert and --tls-key go together");
        goto fail;
    }
    if (o->tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            op_set_err(errstr, errstr_size, "this libmicrohttpd has no TLS support");
            goto fail;
        }
        if (!(s->tls_cert = slurp(o->tls_cert, errstr, errstr_size)) ||
            !(s->tls_key = slurp(o->tls_key, errstr, errstr_size)))
            goto fail;
    }
    s->regions = o->regions ? op_regions_new_from_file(o->regions, errstr, errstr_size)
                            : op_regions_new_default(errstr, errstr_size);
    if (!s->regions)
        goto fail;
    s->store = sink_store_open(o->state, o->max_keys, errstr, errstr_size);
    if (!s->store)
        goto fail;
    sink_store_set_limits(s->store, s->regions, o->max_rollups);
    s->audit = sink_audit_new(o->max_audit, s->regions);
    if (!s->audit) {
        op_set_err(errstr, errstr_size, "out of memory (--max-audit %zu)", o->max_audit);
        goto fail;
    }
    int loopback = 0;
    fd = bind_listen(o->listen, !o->token && !o->insecure_listen, &loopback, &v6, &s->port, line,
                     sizeof line, errstr, errstr_size);
    if (fd < 0)
        goto fail;
    if (!loopback && !o->token)
        op_log(OP_LOG_WARNING,
               "--insecure-listen: serving %s without a bearer token: whoever reaches the port "
               "can post rollups%s",
               o->listen, o->enable_control ? " and inject failures (/control)" : "");
    else if (!loopback && !s->tls_cert)
        op_log(OP_LOG_WARNING,
               "serving %s over plain http: the bearer token crosses the network in clear "
               "(--tls-cert/--tls-key)",
               o->listen);
    /* Per address a few reporters and probes; one address cannot take every slot. */
    struct op_httpd_limits limits = {128, 16};
    struct MHD_OptionItem hardening[OP_HTTPD_OPTIONS];
    op_httpd_options(&limits, hardening);
    /* Read before the daemon starts: from then on /control may change it (under s->lock). */
    int injecting = s->mode != SINK_FAIL_OK;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0) | (s->tls_cert ? MHD_USE_TLS : 0);
    if (s->tls_cert)
        s->d = MHD_start_daemon(
            flags, 0, NULL, NULL, handler, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
            MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_ARRAY, hardening,
            MHD_OPTION_UNESCAPE_CALLBACK, unescape, s, MHD_OPTION_HTTPS_MEM_CERT, s->tls_cert,
            MHD_OPTION_HTTPS_MEM_KEY, s->tls_key, MHD_OPTION_END);
    else
        s->d = MHD_start_daemon(
            flags, 0, NULL, NULL, handler, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
            MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_ARRAY, hardening,
            MHD_OPTION_UNESCAPE_CALLBACK, unescape, s, MHD_OPTION_END);
    if (!s->d) {
        op_set_err(errstr, errstr_size, "cannot start the HTTP daemon on %s", o->listen);
        close(fd);
        goto fail;
    }
    /* The daemon owns fd now and closes it when stopped. */
    fprintf(announce, "%s\n", line);
    fflush(announce);
    op_log(OP_LOG_NOTICE, "%s%s (state %s%s%s%s)", line, s->tls_cert ? " (https)" : "",
           o->state ? o->state : "in memory only", s->token ? ", bearer token required" : "",
           injecting ? ", failure injection on" : "",
           s->enable_control ? ", /control enabled" : "");
    return s;
fail:
    sink_server_stop(s);
    return NULL;
}

void sink_server_stop(struct sink_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, 1);
    if (s->d)
        MHD_stop_daemon(s->d);
    sink_store_close(s->store);
    sink_audit_destroy(s->audit);
    op_regions_destroy(s->regions);
    pthread_mutex_destroy(&s->lock);
    if (s->token) {
        memset(s->token, 0, strlen(s->token));
        free(s->token);
    }
    free(s->dump_dir);
    free(s->tls_cert);
    if (s->tls_key) {
        memset(s->tls_key, 0, strlen(s->tls_key));
        free(s->tls_key);
    }
    free(s);
}

unsigned sink_server_port(const struct sink_server *s)
{
    return s->port;
}
