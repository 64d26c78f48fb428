/* The producer's diagnostics: the run's counts, the progress line, FILE:LINE: FIELD: reason
 * lines (stderr or the spool's .errors report) and the rejects file. */
#include "producer_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "service.h"

void producer_print_counts(FILE *out, const char *prefix, const struct producer_counts *c,
                           int check_only)
{
    char header[40] = "";
    if (c->header)
        snprintf(header, sizeof header, "%" PRIu64 " header, ", c->header);
    fprintf(out,
            "%sread %" PRIu64 ", %s %" PRIu64 ", rejected %" PRIu64 ", failed %" PRIu64 " (%" PRIu64
            " %s: %s%" PRIu64 " blank, %" PRIu64 " in records)\n",
            prefix, c->read, check_only ? "valid" : "published", c->published, c->rejected,
            c->failed, c->lines, c->lines == 1 ? "line" : "lines", header, c->blank,
            c->record_lines);
}

/* A progress line on a terminal is redrawn in place: wipe it before other output. */
void producer_clear_progress(struct producer *p)
{
    if (p->progress_shown && p->tty) {
        fputs("\r\033[K", stderr);
        p->progress_shown = 0;
    }
}

void producer_progress(struct producer *p, struct producer_file *f, int force)
{
    int64_t now = op_clock_mono_ms();
    op_service_ping(); /* spool under systemd: a long file must not look like a hang */
    if (!p->progress)
        return;
    if (!force && now - p->progress_at < 1000)
        return;
    double dt = (double)(now - p->progress_at) / 1000.0;
    double rate = dt > 0 ? (double)(f->n.read - p->progress_read) / dt : 0;
    char line[512];
    pthread_mutex_lock(&p->count_mu);
    uint64_t failed_n = f->n.failed;
    pthread_mutex_unlock(&p->count_mu);
    snprintf(line, sizeof line,
             "%s: read %" PRIu64 " (%.0f/s), %s %" PRIu64 ", rejected %" PRIu64 ", failed %" PRIu64
             ", in flight %" PRId64,
             f->name, f->n.read, rate, p->opts.check_only ? "valid" : "published",
             f->n.published + atomic_load(&p->dr_published), f->n.rejected, failed_n,
             atomic_load(&p->in_flight));
    p->progress_at = now;
    p->progress_read = f->n.read;
    if (p->opts.spool)
        op_log(OP_LOG_INFO, "progress: %s", line);
    else {
        pthread_mutex_lock(&p->diag_mu);
        if (p->tty) {
            fprintf(stderr, "\r%s\033[K", line);
            p->progress_shown = 1;
        } else
            fprintf(stderr, "progress: %s\n", line);
        pthread_mutex_unlock(&p->diag_mu);
    }
}

void producer_diag_line(struct producer *p, struct producer_file *f, int quiet, const char *fmt,
                        ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* Delivery failures come from the poller thread while the reader reports rejects. */
    pthread_mutex_lock(&p->diag_mu);
    f->reported++;
    if (!p->sink || !p->sink->errors_path) {
        producer_clear_progress(p);
        fprintf(stderr, "%s\n", line);
        pthread_mutex_unlock(&p->diag_mu);
        return;
    }
    if (!p->errors) {
        p->errors = fopen(p->sink->errors_path, "w");
        if (!p->errors)
            op_log(OP_LOG_ERR, "%s: %s", p->sink->errors_path, strerror(errno));
    }
    if (p->errors)
        fprintf(p->errors, "%s\n", line);
    if (!quiet) {
        if (++f->logged <= 20)
            op_log(OP_LOG_WARNING, "%s", line);
        else if (f->logged == 21)
            op_log(OP_LOG_WARNING, "%s: more problems than logged here: see its .errors report",
                   f->name);
    }
    pthread_mutex_unlock(&p->diag_mu);
}

static int write_all(FILE *fp, const void *data, size_t len)
{
    return len && fwrite(data, 1, len, fp) != len ? -1 : 0;
}

/* Appends the original text of a rejected record (and, first, the CSV header). */
void producer_keep_reject(struct producer *p, struct producer_file *f, const char *data, size_t len)
{
    if (!p->sink || !p->sink->rejects_path)
        return;
    if (!p->rejects) {
        p->rejects = fopen(p->sink->rejects_path, "w");
        if (!p->rejects) {
            diag(p, f, "%s: cannot write rejects: %s", p->sink->rejects_path, strerror(errno));
            f->open_error = 1;
            return;
        }
        free(p->rejects_path);
        p->rejects_path = strdup(p->sink->rejects_path);
        p->rejects_written = 0;
    }
    int rc = 0;
    if (p->csv_header.len && !f->rejects_header_done) {
        rc |= write_all(p->rejects, p->csv_header.data, p->csv_header.len);
        if (p->csv_header.data[p->csv_header.len - 1] != '\n')
            rc |= write_all(p->rejects, "\n", 1);
        f->rejects_header_done = 1;
    }
    rc |= write_all(p->rejects, data, len);
    if (len == 0 || data[len - 1] != '\n')
        rc |= write_all(p->rejects, "\n", 1);
    if (rc) {
        diag(p, f, "%s: cannot write rejects: %s", p->sink->rejects_path, strerror(errno));
        f->open_error = 1;
    }
    p->rejects_written++;
}

uint64_t producer_close_rejects(struct producer *p)
{
    uint64_t n = p->rejects_written;
    if (p->rejects && fclose(p->rejects) != 0)
        op_log(OP_LOG_ERR, "%s: %s", p->rejects_path ? p->rejects_path : "rejects",
               strerror(errno));
    p->rejects = NULL;
    free(p->rejects_path);
    p->rejects_path = NULL;
    p->rejects_written = 0;
    return n;
}

void producer_reject(struct producer *p, struct producer_file *f, long line, const char *field,
                     const char *reason, const char *data, size_t len)
{
    f->n.rejected++;
    diag(p, f, "%s:%ld: %s: %s", f->name, line, field, reason);
    producer_keep_reject(p, f, data, len);
}

/* How a file is read, said once: on stderr, or in the log for the spool. Not a diagnostic of a
 * record, so it is neither counted nor written to the .errors report. */
void producer_say_encoding(struct producer *p)
{
    if (!p->dec.note[0])
        return;
    if (p->opts.spool)
        op_log(p->dec.note_warning ? OP_LOG_WARNING : OP_LOG_NOTICE, "%s", p->dec.note);
    else {
        producer_clear_progress(p);
        fprintf(stderr, "%s\n", p->dec.note);
    }
    p->dec.note[0] = 0;
}
