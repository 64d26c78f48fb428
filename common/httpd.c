/* Shared libmicrohttpd limits: one address cannot take every connection slot, and a silent
 * connection is closed after OP_HTTPD_TIMEOUT_S instead of holding its slot. */
#include "httpd.h"

#include <stdint.h>

void op_httpd_options(const struct op_httpd_limits *l,
                      struct MHD_OptionItem items[OP_HTTPD_OPTIONS])
{
    items[0] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)l->connections, NULL};
    items[1] =
        (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)l->per_ip, NULL};
    items[2] =
        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)OP_HTTPD_TIMEOUT_S, NULL};
    items[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}
