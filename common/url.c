/* Userinfo removal for URLs that end up in logs: the authority runs from "://" to the first
 * '/', '?' or '#', and its userinfo is what comes before the last '@' in it (RFC 3986). */
#include "url.h"

#include <stdio.h>
#include <string.h>

/* Length of the userinfo and its '@' after "://" (0: none); *start: where it begins. */
static size_t userinfo(const char *url, const char **start)
{
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep || sep == url || strcspn(url, ":/?#") != (size_t)(sep - url))
        return 0;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            at = auth + i;
    if (!at)
        return 0;
    *start = auth;
    return (size_t)(at - auth) + 1;
}

int op_url_has_userinfo(const char *url)
{
    const char *start;
    return userinfo(url, &start) > 0;
}

const char *op_url_redact(const char *url, char *out, size_t size)
{
    const char *start = NULL;
    size_t n = userinfo(url, &start);
    if (size == 0)
        return out;
    if (!n)
        snprintf(out, size, "%s", url ? url : "");
    else
        snprintf(out, size, "%.*s***@%s", (int)(start - url), url, start + n);
    return out;
}
