/* Logging for every daemon: one line per event to stderr, as text or as JSON lines.
 * Levels use syslog numbering so librdkafka's log levels pass through unchanged. */
#ifndef OP_LOG_H
#define OP_LOG_H

#include <stdatomic.h>

#if defined(__GNUC__)
#define OP_LOG_PRINTF(fmt_idx, args_idx) __attribute__((format(printf, fmt_idx, args_idx)))
#else
#define OP_LOG_PRINTF(fmt_idx, args_idx)
#endif

enum { OP_LOG_ERR = 3, OP_LOG_WARNING = 4, OP_LOG_NOTICE = 5, OP_LOG_INFO = 6, OP_LOG_DEBUG = 7 };

/* A formatted line, prefix and newline included, never exceeds this many bytes: it is
 * PIPE_BUF on Linux, so one write(2) to a pipe (journald, a supervisor) is atomic.
 * Longer messages are cut at a character boundary and end with OP_LOG_TRUNCATED. */
#define OP_LOG_LINE_MAX 4096
#define OP_LOG_TRUNCATED " [truncated]"

/* Events with a level above this are dropped before their arguments are formatted.
 * Default OP_LOG_INFO. Atomic: every thread reads it while SIGHUP may change it; change it
 * with op_log_set_level_name (which honours -v/-q) or op_log_set_level. */
extern atomic_int op_log_level;

/* Logs one event if `level` passes op_log_level; the arguments are not evaluated
 * otherwise. */
#define op_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= atomic_load_explicit(&op_log_level, memory_order_relaxed))                  \
            op_log_write((level), __VA_ARGS__);                                                    \
    } while (0)

/* Sets the level (clamped to 0..7) from any thread. */
void op_log_set_level(int level);

/* -v or -q: the level the command line asked for, which wins over log.level at start and on
 * every reload. 0 clears it. */
void op_log_pin_level(int level);

/* The level pinned by op_log_pin_level, or 0. */
int op_log_pinned_level(void);

/* Applies a log.level setting: the pinned level if there is one, else `name` (NULL: keeps
 * the current level). Returns 0, or -1 when name is not a level (the level is unchanged). */
int op_log_set_level_name(const char *name);

/* Formats and writes one line with a single write(2), whatever op_log_level says.
 * Thread-safe and async-signal-unsafe; preserves errno. In text mode control characters
 * are shown as \n, \r or \xNN so an event stays on one line; invalid UTF-8 bytes are shown
 * as \xNN (text) or U+FFFD (JSON). */
void op_log_write(int level, const char *fmt, ...) OP_LOG_PRINTF(2, 3);

/* Non-zero: JSON lines {"ts":..,"prog":..,"pid":..,"level":"info","msg":..}. Zero (the
 * default): `2026-11-28T15:20:51.123Z prog[pid] INFO: message`. Call at startup. */
void op_log_set_json(int on);

/* Program name shown in each line (copied; at most 63 bytes are kept). NULL restores the
 * default "outreach". Call at startup. */
void op_log_set_prog(const char *prog);

/* Parses err/error, warning/warn, notice, info, debug (any case) or 3..7 into *level.
 * Returns 0, or -1 leaving *level unchanged. */
int op_log_level_parse(const char *name, int *level);

/* Lower-case name of a level ("error", "warning", ... "debug"; 0..2 are "emerg", "alert",
 * "crit"). Returns a static string. */
const char *op_log_level_name(int level);

#endif
