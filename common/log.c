/* Logging: formats each event into one bounded line on the stack and writes it with a
 * single write(2), so threads (ours and librdkafka's) never interleave partial lines. */
#include "log.h"
#include "clock.h"
#include "timefmt.h"
#include "utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PROG "outreach"

atomic_int op_log_level = OP_LOG_INFO;
static atomic_int log_pinned; /* -v/-q, 0 when none */

/* Set once at startup and only read afterwards, so no lock is needed. */
static int log_json;
static char log_prog[64] = DEFAULT_PROG;
/* The JSON form is escaped once here rather than on every event. Worst case 6 bytes per
 * input byte ("\u00XX"). */
static char log_prog_json[64 * 6 + 1] = DEFAULT_PROG;

static const char *const level_names[] = {"emerg",   "alert",  "crit", "error",
                                          "warning", "notice", "info", "debug"};
static const char *const level_names_upper[] = {"EMERG",   "ALERT",  "CRIT", "ERROR",
                                                "WARNING", "NOTICE", "INFO", "DEBUG"};

static int clamp_level(int level)
{
    if (level < 0)
        return 0;
    if (level > 7)
        return 7;
    return level;
}

const char *op_log_level_name(int level)
{
    return level_names[clamp_level(level)];
}

void op_log_set_level(int level)
{
    atomic_store(&op_log_level, clamp_level(level));
}

void op_log_pin_level(int level)
{
    atomic_store(&log_pinned, level > 0 ? clamp_level(level) : 0);
}

int op_log_pinned_level(void)
{
    return atomic_load(&log_pinned);
}

int op_log_set_level_name(const char *name)
{
    int level = atomic_load(&log_pinned);
    if (!level) {
        if (!name)
            return 0;
        if (op_log_level_parse(name, &level) != 0)
            return -1;
    }
    op_log_set_level(level);
    return 0;
}

int op_log_level_parse(const char *name, int *level)
{
    static const struct {
        const char *name;
        int level;
    } names[] = {{"err", OP_LOG_ERR},      {"error", OP_LOG_ERR},     {"warning", OP_LOG_WARNING},
                 {"warn", OP_LOG_WARNING}, {"notice", OP_LOG_NOTICE}, {"info", OP_LOG_INFO},
                 {"debug", OP_LOG_DEBUG}};

    if (!name || !level)
        return -1;
    if (name[0] >= '0' + OP_LOG_ERR && name[0] <= '0' + OP_LOG_DEBUG && name[1] == '\0') {
        *level = name[0] - '0';
        return 0;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *level = names[i].level;
            return 0;
        }
    }
    return -1;
}

/* Appends src escaped for the mode to dst[*len..limit). Stops before a character that does
 * not fit, so no escape or UTF-8 sequence is ever cut. Returns 0 if all of src fit, else -1. */
static int append_escaped(char *dst, size_t *len, size_t limit, const char *src, size_t n, int json)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        char esc[8];
        const char *out = esc;
        size_t out_len = 0, used = 1;

        if (c >= 0x80) {
            size_t u = op_utf8_seq_len(s + i, n - i);
            if (u) {
                out = src + i;
                out_len = used = u;
            } else if (json) {
                out = "\\ufffd";
                out_len = 6;
            } else {
                out_len = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c);
            }
        } else if (c == '\n') {
            out = "\\n";
            out_len = 2;
        } else if (c == '\r') {
            out = "\\r";
            out_len = 2;
        } else if (c == '\t') {
            out = json ? "\\t" : "\t";
            out_len = strlen(out);
        } else if (json && (c == '"' || c == '\\')) {
            esc[0] = '\\';
            esc[1] = (char)c;
            out_len = 2;
        } else if (c < 0x20 || (!json && c == 0x7f)) {
            out_len = (size_t)(json ? snprintf(esc, sizeof(esc), "\\u%04x", c)
                                    : snprintf(esc, sizeof(esc), "\\x%02x", c));
        } else {
            out = src + i;
            out_len = 1;
        }
        if (out_len > limit - *len)
            return -1;
        memcpy(dst + *len, out, out_len);
        *len += out_len;
        i += used;
    }
    return 0;
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* stderr is gone: there is nowhere left to report it */
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* Writes the line's prefix (everything before the message) and returns its length. */
static size_t format_prefix(char *line, size_t size, int level)
{
    char when[OP_TIMEFMT_ISO_MAX];
    int n;

    (void)op_timefmt_iso8601_ms(op_clock_wall_ms(), when, sizeof when);
    level = clamp_level(level);
    if (log_json)
        n = snprintf(line, size,
                     "{\"ts\":\"%s\",\"prog\":\"%s\",\"pid\":%ld,"
                     "\"level\":\"%s\",\"msg\":\"",
                     when, log_prog_json, (long)getpid(), level_names[level]);
    else
        n = snprintf(line, size, "%s %s[%ld] %s: ", when, log_prog, (long)getpid(),
                     level_names_upper[level]);
    if (n < 0)
        return 0;
    /* The prefix is bounded by the prog buffers, far below the line size. */
    return (size_t)n < size ? (size_t)n : size - 1;
}

void op_log_write(int level, const char *fmt, ...)
{
    int saved_errno = errno;
    char msg[OP_LOG_LINE_MAX];
    char line[OP_LOG_LINE_MAX];
    const char *tail = log_json ? "\"}\n" : "\n";
    size_t tail_len = strlen(tail), marker_len = strlen(OP_LOG_TRUNCATED);
    size_t msg_len, len;
    int truncated = 0;
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = snprintf(msg, sizeof(msg), "(unformattable log message: %s)", fmt);
        if (n < 0)
            n = 0;
    }
    if ((size_t)n >= sizeof(msg)) {
        truncated = 1;
        msg_len = sizeof(msg) - 1;
    } else {
        msg_len = (size_t)n;
    }

    len = format_prefix(line, sizeof(line), level);
    /* Room for the marker and the tail is reserved up front so they always fit. */
    if (append_escaped(line, &len, sizeof(line) - tail_len - marker_len, msg, msg_len, log_json) !=
        0)
        truncated = 1;
    if (truncated) {
        memcpy(line + len, OP_LOG_TRUNCATED, marker_len);
        len += marker_len;
    }
    memcpy(line + len, tail, tail_len);
    len += tail_len;
    write_all(STDERR_FILENO, line, len);
    errno = saved_errno;
}

void op_log_set_json(int on)
{
    log_json = on != 0;
}

void op_log_set_prog(const char *prog)
{
    size_t len = 0, n;

    if (!prog || !*prog)
        prog = DEFAULT_PROG;
    n = strlen(prog);
    if (n >= sizeof(log_prog))
        n = sizeof(log_prog) - 1;
    memcpy(log_prog, prog, n);
    log_prog[n] = '\0';
    /* Cannot fail: log_prog_json has room for the worst-case escaping of log_prog. */
    (void)append_escaped(log_prog_json, &len, sizeof(log_prog_json) - 1, log_prog, n, 1);
    log_prog_json[len] = '\0';
}
