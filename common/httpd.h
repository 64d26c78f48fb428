/* The libmicrohttpd settings every HTTP server of ours shares (the sink, the health and
 * metrics endpoint), so a limit fixed for one is fixed for all. */
#ifndef OP_HTTPD_H
#define OP_HTTPD_H

#include <microhttpd.h>

/* Seconds a connection may stay silent before it is closed: a client that opens a
 * connection and sends no (or no complete) request loses it after this long. libmicrohttpd
 * has one idle timeout, not a separate one for the headers. */
#define OP_HTTPD_TIMEOUT_S 10

struct op_httpd_limits {
    unsigned connections; /* open at once, all clients together */
    unsigned per_ip;      /* open at once from one address */
};

/* Entries op_httpd_options writes, MHD_OPTION_END included. */
#define OP_HTTPD_OPTIONS 4

/* Fills items for MHD_start_daemon(..., MHD_OPTION_ARRAY, items, ...): the connection
 * limits, the per-address limit and the idle timeout, then MHD_OPTION_END. */
void op_httpd_options(const struct op_httpd_limits *l,
                      struct MHD_OptionItem items[OP_HTTPD_OPTIONS]);

#endif
