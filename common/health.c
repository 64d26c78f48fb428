/* Health and metrics over HTTP with libmicrohttpd's internal polling thread, bound to the
 * configured address only (loopback by default in the example configs). */
#include "health.h"
#include "err.h"
#include "httpd.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct op_health {
    struct MHD_Daemon *daemon;
    op_health_ready_cb ready;
    op_health_metrics_cb metrics;
    void *opaque;
    int port;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const void *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)con_cls;
    struct op_health *h = cls;
    if (*upload_size) {
        *upload_size = 0; /* we take no bodies */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, 405, "text/plain", "method not allowed\n", 19);
    if (strcmp(url, "/healthz") == 0)
        return reply(c, 200, "text/plain", "ok\n", 3);
    if (strcmp(url, "/readyz") == 0) {
        char why[256] = "not ready";
        int ok = h->ready ? h->ready(h->opaque, why, sizeof why) : 1;
        char body[300];
        int n = snprintf(body, sizeof body, "%s\n", ok ? "ready" : why);
        return reply(c, ok ? 200 : 503, "text/plain", body,
                     (size_t)(n < 0                   ? 0
                              : n >= (int)sizeof body ? (int)sizeof body - 1
                                                      : n));
    }
    if (strcmp(url, "/metrics") == 0) {
        struct op_buf out = OP_BUF_INIT;
        if (h->metrics)
            h->metrics(h->opaque, &out);
        enum MHD_Result ret = reply(c, 200, "text/plain; version=0.0.4; charset=utf-8",
                                    out.data ? (void *)out.data : "", out.len);
        op_buf_free(&out);
        return ret;
    }
    return reply(c, 404, "text/plain", "not found\n", 10);
}

struct op_health *op_health_start(const char *listen, op_health_ready_cb ready,
                                  op_health_metrics_cb metrics, void *opaque, char *errstr,
                                  size_t errstr_size)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    char host[64];
    if (!colon || (size_t)(colon - listen) >= sizeof host) {
        op_set_err(errstr, errstr_size, "health.listen \"%s\": want HOST:PORT",
                   listen ? listen : "");
        return NULL;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (*end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        op_set_err(errstr, errstr_size, "health.listen \"%s\": want IPv4-ADDRESS:PORT", listen);
        return NULL;
    }
    struct op_health *h = calloc(1, sizeof *h);
    if (!h) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    h->ready = ready;
    h->metrics = metrics;
    h->opaque = opaque;
    /* A few probes and scrapers per address; the rest of the slots stay free for others. */
    struct op_httpd_limits limits = {64, 8};
    struct MHD_OptionItem opts[OP_HTTPD_OPTIONS];
    op_httpd_options(&limits, opts);
    h->daemon =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle,
                         h, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!h->daemon) {
        op_set_err(errstr, errstr_size, "health.listen %s: cannot listen (port in use?)", listen);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : (int)port;
    return h;
}

int op_health_port(const struct op_health *h)
{
    return h->port;
}

void op_health_stop(struct op_health *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}

void op_prom_header(struct op_buf *out, const char *name, const char *type, const char *help)
{
    char line[512];
    int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    if (n > 0)
        op_buf_append(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void op_prom_sample(struct op_buf *out, const char *name, const char *labels, double value)
{
    char line[512];
    int n = snprintf(line, sizeof line, "%s%s%s%s %.17g\n", name, labels ? "{" : "",
                     labels ? labels : "", labels ? "}" : "", value);
    if (n > 0)
        op_buf_append(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void op_prom_sample_u64(struct op_buf *out, const char *name, const char *labels, uint64_t v)
{
    char line[512];
    int n = snprintf(line, sizeof line, "%s%s%s%s %" PRIu64 "\n", name, labels ? "{" : "",
                     labels ? labels : "", labels ? "}" : "", v);
    if (n > 0)
        op_buf_append(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}
