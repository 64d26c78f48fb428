/* URLs in messages: the one way a URL reaches a log line or an error, with any
 * user:password@ (or token@) replaced, so credentials in an endpoint URL never get logged. */
#ifndef OP_URL_H
#define OP_URL_H

#include <stddef.h>

/* Copies url into out (always NUL-terminated, cut at size - 1) with the userinfo of a
 * SCHEME://USERINFO@HOST... URL replaced by "***"; anything else is copied as it is.
 * Returns out, so it can be used inside a format call. */
const char *op_url_redact(const char *url, char *out, size_t size);

/* 1 if url has a userinfo part (a credential in the URL), else 0. */
int op_url_has_userinfo(const char *url);

#endif
