/* Publishing one file: read and cut it into batches for the workers (CSV, JSON Lines) or
 * convert an .xlsx sheet row by row, wait for every delivery report, and account for it. */
#include "producer_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "receipt.h"
#include "xlsx.h"

/* A batch is cut after this many records or bytes: large enough that the hand-over costs
 * nothing, small enough that the workers share a file evenly. */
#define BATCH_RECORDS 512
#define BATCH_BYTES (256 * 1024)

/* ---- one .xlsx sheet ------------------------------------------------------------------- */

/* A row skipped (empty, merged) is said on stderr (the log in spool mode), not counted as a
 * diagnostic: it is no record. The first 20 of a file, then how many more. */
static void xlsx_note(struct producer *p, struct producer_file *f, unsigned *notes, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void xlsx_note(struct producer *p, struct producer_file *f, unsigned *notes, const char *fmt,
                      ...)
{
    (void)f;
    if (++*notes > 20)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (p->opts.spool)
        op_log(OP_LOG_NOTICE, "%s", line);
    else {
        producer_clear_progress(p);
        fprintf(stderr, "%s\n", line);
    }
}

static void xlsx_note_empty(struct producer *p, struct producer_file *f, unsigned *notes,
                            const char *name, long from, long to)
{
    if (from == to)
        xlsx_note(p, f, notes, "%s:%s!%ld: skipped: an empty row", name, f->sheet, from);
    else
        xlsx_note(p, f, notes, "%s:%s!%ld-%ld: skipped: %ld empty rows", name, f->sheet, from, to,
                  to - from + 1);
}

/* Publishes the worksheet of an .xlsx: each row's cells go through the CSV conversion, so the
 * rules are the same; messages are FILE:SHEET!ROW: field: reason, and the rejects file is a CSV
 * (UTF-8 with a BOM, for Excel) with the header row, ready to be fixed and sent again. */
static void publish_xlsx(struct producer *p, struct producer_file *f, struct producer_input *in,
                         const char *name, volatile sig_atomic_t *run)
{
    char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX], err[512];
    struct producer_xlsx_limits lim = {0, p->max_record};
    struct producer_xlsx *x = producer_xlsx_open(in->fd, name, p->sheet, &lim, err, sizeof err);
    if (!x) {
        diag(p, f, "%s", err);
        f->open_error = 1;
        return;
    }
    snprintf(f->sheet, sizeof f->sheet, "%s", producer_xlsx_sheet(x));
    const char *sh = f->sheet;
    struct producer_csv_header hdr;
    memset(&hdr, 0, sizeof hdr);
    struct op_buf line = OP_BUF_INIT;
    char **cells = NULL;
    size_t *lens = NULL, cap = 0;
    int have_header = 0;
    long last = 0, empty_from = 0, filled = 0;
    unsigned notes = 0;
    for (;;) {
        if (!*run || p->fatal) {
            f->interrupted = 1;
            break;
        }
        struct producer_xlsx_row *row;
        int r = producer_xlsx_next(x, &row);
        if (r < 0) {
            diag(p, f, "%s", producer_xlsx_error(x));
            f->open_error = 1;
            break;
        }
        if (r == 0)
            break;
        /* Rows the sheet does not list are empty. */
        if (row->row - last > 1 && !empty_from)
            empty_from = last + 1;
        f->n.blank += (uint64_t)(row->row - last - 1);
        last = row->row;
        if (row->kind == PRODUCER_XLSX_ROW_EMPTY) {
            f->n.blank++;
            if (!empty_from)
                empty_from = row->row;
            continue;
        }
        if (empty_from)
            xlsx_note_empty(p, f, &notes, name, empty_from, row->row - 1);
        empty_from = 0;
        if (row->kind == PRODUCER_XLSX_ROW_MERGED) {
            f->n.blank++;
            xlsx_note(p, f, &notes,
                      "%s:%s!%ld: skipped: merged cells %s (a title or a total line, not a record)",
                      name, sh, row->row, row->merge);
            continue;
        }
        /* The cells, as many as the header has (more when the row has more). */
        size_t n = row->n > hdr.ncols ? row->n : hdr.ncols;
        if (n > cap) {
            char **nc = realloc(cells, n * sizeof *nc);
            size_t *nl = nc ? realloc(lens, n * sizeof *nl) : NULL;
            if (nc)
                cells = nc;
            if (!nc || !nl) {
                diag(p, f, "%s:%s!%ld: record: out of memory", name, sh, row->row);
                f->open_error = 1;
                break;
            }
            lens = nl;
            cap = n;
        }
        for (size_t c = 0; c < n; c++) {
            cells[c] = c < row->n ? row->cell[c] : (char *)"";
            lens[c] = c < row->n ? row->len[c] : 0;
        }
        filled += row->filled;
        line.len = 0;
        if (!have_header) {
            have_header = 1;
            f->n.header++;
            /* The rejects file's first line: the header as it was (Chinese names included). */
            p->csv_header.len = 0;
            if (op_buf_append(&p->csv_header, "\xEF\xBB\xBF", 3) != 0 ||
                producer_xlsx_csv_line(cells, lens, n, &p->csv_header) != 0) {
                snprintf(reason, sizeof reason, "out of memory");
            } else if (row->overlong || row->bad_col != -1) {
                snprintf(reason, sizeof reason, "%s",
                         row->overlong ? "longer than input.max.record.bytes" : row->why);
            } else if (producer_csv_header_init(&hdr, &p->conv, cells, lens, n, field, sizeof field,
                                                reason, sizeof reason) == 0)
                continue;
            f->header_error = 1;
            diag(p, f, "%s:%s!%ld: header: %s", name, sh, row->row, reason);
            continue;
        }
        f->n.read++;
        f->n.record_lines++;
        if (producer_xlsx_csv_line(cells, lens, n, &line) != 0) {
            diag(p, f, "%s:%s!%ld: record: out of memory", name, sh, row->row);
            f->open_error = 1;
            break;
        }
        if (f->header_error) { /* no usable header: keep every row, quietly */
            f->n.rejected++;
            producer_keep_reject(p, f, (const char *)line.data, line.len);
            continue;
        }
        int bad = 1;
        if (row->overlong) {
            snprintf(field, sizeof field, "record");
            snprintf(reason, sizeof reason,
                     "longer than %zu bytes (input.max.record.bytes); the rejects file has only "
                     "its beginning",
                     p->max_record);
        } else if (row->bad_col != -1) {
            snprintf(field, sizeof field, "%s",
                     row->bad_col >= 0 && (size_t)row->bad_col < hdr.ncols ? hdr.names[row->bad_col]
                                                                           : "record");
            snprintf(reason, sizeof reason, "%s", row->why);
        } else if (row->n > hdr.ncols) {
            snprintf(field, sizeof field, "record");
            snprintf(reason, sizeof reason,
                     "a value in column %zu, past the last column of the header (%zu)", row->n,
                     hdr.ncols);
        } else {
            struct producer_rec rec;
            if (producer_conv_csv(&p->conv, &hdr, cells, lens, hdr.ncols, op_clock_wall_ms(), &rec,
                                  field, sizeof field, reason, sizeof reason) == 0) {
                bad = 0;
                if (p->opts.check_only)
                    f->n.published++;
                else {
                    producer_topic_handle(p);
                    rd_kafka_resp_err_t e = producer_produce_rec(p, &rec, row->row);
                    if (e) {
                        pthread_mutex_lock(&p->count_mu);
                        producer_failed(p, f, row->row, e);
                        pthread_mutex_unlock(&p->count_mu);
                    } else if (p->sink->receipt)
                        producer_receipt_add(p->sink->receipt, row->row, rec.ev.event_id);
                }
            }
        }
        if (bad) {
            f->n.rejected++;
            diag(p, f, "%s:%s!%ld: %s: %s", name, sh, row->row, field, reason);
            producer_keep_reject(p, f, (const char *)line.data, line.len);
        }
        if ((f->n.read & 255) == 0)
            producer_progress(p, f, 0);
    }
    if (empty_from && !f->interrupted && !f->open_error)
        xlsx_note_empty(p, f, &notes, name, empty_from, last);
    if (filled)
        xlsx_note(p, f, &notes,
                  "%s:%s: %ld cells in vertically merged ranges took the value shown at the top of "
                  "their range",
                  name, sh, filled);
    if (notes > 20) {
        unsigned hidden = notes - 20;
        notes = 0;
        xlsx_note(p, f, &notes, "%s:%s: %u more notes of skipped rows not shown", name, sh, hidden);
    }
    f->n.lines = f->n.header + f->n.blank + f->n.record_lines;
    producer_csv_header_free(&hdr);
    op_buf_free(&line);
    free(cells);
    free(lens);
    producer_xlsx_close(x);
}

/* ---- one file --------------------------------------------------------------------------- */

void producer_publish(struct producer *p, const char *path, const char *name,
                      const struct producer_sink *sink, struct producer_file *f,
                      volatile sig_atomic_t *run)
{
    char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX], err[512];
    memset(f, 0, sizeof *f);
    f->name = name;
    p->sink = sink;
    p->csv_header.len = 0;
    p->progress_at = op_clock_mono_ms();
    p->progress_read = 0;
    p->rkt_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    atomic_store(&p->dr_published, 0);
    struct producer_input in;
    /* A spool directory is written by others: only a regular file there is read, never what a
     * symbolic link points at, and a FIFO must not block the daemon. */
    int rc_open =
        p->opts.spool
            ? producer_input_open_regular(&in, path, p->opts.format, p->max_record, err, sizeof err)
            : producer_input_open(&in, path, p->opts.format, p->max_record, err, sizeof err);
    if (rc_open != 0) {
        /* "NAME: reason", as every other line of a report, not the path of processing/. */
        size_t pl = strlen(path);
        if (strncmp(err, path, pl) == 0)
            diag(p, f, "%s%s", name, err + pl);
        else
            diag(p, f, "%s", err);
        f->open_error = 1;
        goto done;
    }
    p->cur = f;
    in.run = run;
    if (in.format == PRODUCER_FORMAT_XLSX) {
        publish_xlsx(p, f, &in, name, run);
        producer_input_close(&in);
        producer_drain(p, f);
        f->n.published += atomic_exchange(&p->dr_published, 0);
        goto done;
    }
    producer_decoder_start(&p->dec, path, name, run);
    producer_say_encoding(p);
    int csv = in.format == PRODUCER_FORMAT_CSV, have_header = 0, read_error = 0;
    struct producer_csv_header hdr;
    memset(&hdr, 0, sizeof hdr);
    p->csv = csv;
    p->hdr = &hdr;
    struct producer_raw raw;
    for (;;) {
        if (!*run || atomic_load(&p->fatal)) {
            f->interrupted = 1;
            break;
        }
        int r = producer_input_next(&in, &raw);
        if (r < 0 && !*run) {
            f->interrupted = 1;
            break;
        }
        if (r < 0) {
            read_error = 1;
            break;
        }
        if (r == 0)
            break;
        int is_header = csv && !have_header;
        if (is_header) {
            have_header = 1;
            f->n.header += (uint64_t)raw.lines;
            if (op_buf_append(&p->csv_header, raw.data, raw.len) != 0) {
                f->header_error = 1;
                diag(p, f, "%s:%ld: header: out of memory", name, raw.line);
                continue;
            }
        } else {
            f->n.read++;
            f->n.record_lines += (uint64_t)raw.lines;
        }
        if (f->header_error) { /* no usable header: keep every row, quietly */
            f->n.rejected++;
            producer_keep_reject(p, f, raw.data, raw.len);
            continue;
        }
        size_t bad;
        const char *why, *text = raw.data;
        size_t text_len = raw.text_len;
        /* The record in UTF-8; raw keeps the original bytes for the rejects file. */
        int undecodable =
            !raw.overlong && producer_decoder_record(&p->dec, &in, &raw, &text, &text_len, reason,
                                                     sizeof reason) != 0;
        producer_say_encoding(p);
        if (raw.overlong) {
            snprintf(field, sizeof field, "%s", is_header ? "header" : "record");
            snprintf(reason, sizeof reason,
                     "longer than %zu bytes (input.max.record.bytes); the rejects file has "
                     "only its beginning",
                     p->max_record);
        } else if (undecodable) {
            snprintf(field, sizeof field, "%s", is_header ? "header" : "record");
        } else if (is_header) {
            if (producer_csv_split(text, text_len, &p->cells, &bad, &why) != 0) {
                snprintf(field, sizeof field, "header");
                snprintf(reason, sizeof reason, "%s", why);
            } else if (producer_csv_header_init(&hdr, &p->conv, p->cells.cell, p->cells.len,
                                                p->cells.n, field, sizeof field, reason,
                                                sizeof reason) == 0)
                continue;
        }
        if (is_header) {
            /* Without a header no row can be read: say it once, keep every row. */
            f->header_error = 1;
            diag(p, f, "%s:%ld: %s: %s", name, raw.line, field, reason);
            continue;
        }
        /* The record goes to the workers in a batch; what the reader refused itself rides
         * along as rejected, so that rejects stay in input order. */
        struct producer_batch *b = producer_cut(p, f);
        struct producer_job *j = b ? producer_batch_add(b, raw.line, raw.data, raw.len, text,
                                                        raw.overlong || undecodable ? 0 : text_len)
                                   : NULL;
        if (!j) {
            producer_reject(p, f, raw.line, "record", "out of memory", raw.data, raw.len);
            continue;
        }
        if (raw.overlong || undecodable)
            producer_batch_reject(b, j, field, reason);
        if (b->n >= BATCH_RECORDS || b->data.len >= BATCH_BYTES)
            producer_submit(p, f);
        if ((f->n.read & 255) == 0)
            producer_progress(p, f, 0);
    }
    producer_submit(p, f);
    producer_collect(p, f, 1);
    if (read_error) {
        diag(p, f, "%s: read error: %s", name, in.error);
        f->open_error = 1;
    }
    p->hdr = NULL;
    producer_csv_header_free(&hdr);
    f->n.lines = (uint64_t)in.lines;
    f->n.blank = (uint64_t)in.blank_lines;
    producer_input_close(&in);
    f->encoding = p->dec.enc;
    producer_drain(p, f);
    f->n.published += atomic_exchange(&p->dr_published, 0);
done:
    /* Every delivery report of the file is in: its receipt lines are final. */
    if (sink && sink->receipt) /* an I/O error is reported when the receipt is committed */
        producer_receipt_end_file(sink->receipt, name, f->sheet);
    if (f->failures_reported > 10 && !(sink && sink->errors_path))
        diag(p, f, "%s: %" PRIu64 " more failed deliveries not shown", name,
             f->failures_reported - 10);
    /* A terminal line is wiped for the counts; a log keeps a last line per file. */
    if (p->progress && !p->tty && f->n.read > 0)
        producer_progress(p, f, 1);
    producer_clear_progress(p);
    p->cur = NULL;
    if (p->errors) {
        fclose(p->errors);
        p->errors = NULL;
    }
    if (!(sink && sink->keep_rejects_open))
        producer_close_rejects(p);
    p->csv_header.len = 0;
    p->sink = NULL;
}
