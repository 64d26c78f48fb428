/* Record splitting over a fixed-size read buffer: JSON Lines end at '\n', CSV records at a
 * '\n' outside quotes. Reading uses read(2) so that a pipe delivers records as they come;
 * only .gz inputs go through zlib. */
#include "input.h"
#include "err.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum producer_format producer_format_from_name(const char *name)
{
    if (!strcmp(name, "jsonl") || !strcmp(name, "json") || !strcmp(name, "ndjson"))
        return PRODUCER_FORMAT_JSONL;
    if (!strcmp(name, "csv"))
        return PRODUCER_FORMAT_CSV;
    if (!strcmp(name, "xlsx"))
        return PRODUCER_FORMAT_XLSX;
    return PRODUCER_FORMAT_AUTO;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

enum producer_format producer_format_from_path(const char *path)
{
    size_t n = strlen(path);
    if (ends_with(path, n, ".gz"))
        n -= 3;
    if (ends_with(path, n, ".jsonl") || ends_with(path, n, ".json") ||
        ends_with(path, n, ".ndjson"))
        return PRODUCER_FORMAT_JSONL;
    if (ends_with(path, n, ".csv"))
        return PRODUCER_FORMAT_CSV;
    if (ends_with(path, n, ".xlsx"))
        return PRODUCER_FORMAT_XLSX;
    return PRODUCER_FORMAT_AUTO;
}

const char *producer_format_name(enum producer_format f)
{
    return f == PRODUCER_FORMAT_JSONL  ? "jsonl"
           : f == PRODUCER_FORMAT_CSV  ? "csv"
           : f == PRODUCER_FORMAT_XLSX ? "xlsx"
                                       : "auto";
}

/* Reads more bytes into the chunk. Returns the count, 0 at the end, -1 on error. */
static long fill(struct producer_input *in)
{
    if (in->eof)
        return 0;
    long n;
    if (in->gz) {
        int r = gzread(in->gz, in->chunk, PRODUCER_INPUT_CHUNK);
        if (r < 0) {
            int zerr;
            const char *msg = gzerror(in->gz, &zerr);
            op_set_err(in->error, sizeof in->error, "%s", zerr == Z_ERRNO ? strerror(errno) : msg);
            return -1;
        }
        n = r;
    } else {
        ssize_t r;
        do
            r = read(in->fd, in->chunk, PRODUCER_INPUT_CHUNK);
        while (r < 0 && errno == EINTR && !(in->run && !*in->run));
        if (r < 0 && errno == EINTR) {
            op_set_err(in->error, sizeof in->error, "interrupted");
            return -1;
        }
        if (r < 0) {
            op_set_err(in->error, sizeof in->error, "%s", strerror(errno));
            return -1;
        }
        n = (long)r;
    }
    in->chunk_len = (size_t)n;
    in->chunk_pos = 0;
    if (n == 0)
        in->eof = 1;
    return n;
}

long producer_input_fill(struct producer_input *in)
{
    return fill(in);
}

/* Opens a file of a directory that others write to (the spool): a symbolic link, FIFO,
 * directory or device is refused before a byte of it is read. lstat first, so that a device is
 * never opened at all; O_NOFOLLOW and O_NONBLOCK (a FIFO must not block the daemon), then
 * fstat, so that what was opened is the regular file that lstat saw. Returns the fd or -1 with
 * the reason in errstr. */
static int open_regular(const char *path, char *errstr, size_t errstr_size)
{
    struct stat ls, fs;
    if (lstat(path, &ls) != 0) {
        op_set_err(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    const char *kind = S_ISLNK(ls.st_mode)    ? "a symbolic link"
                       : S_ISDIR(ls.st_mode)  ? "a directory"
                       : S_ISFIFO(ls.st_mode) ? "a FIFO"
                       : S_ISSOCK(ls.st_mode) ? "a socket"
                       : S_ISREG(ls.st_mode)  ? NULL
                                              : "a device";
    if (kind) {
        op_set_err(errstr, errstr_size, "%s: not a regular file (%s): not read", path, kind);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        op_set_err(errstr, errstr_size, "%s: %s", path,
                   errno == ELOOP ? "not a regular file (a symbolic link): not read"
                                  : strerror(errno));
        return -1;
    }
    if (fstat(fd, &fs) != 0 || !S_ISREG(fs.st_mode) || fs.st_dev != ls.st_dev ||
        fs.st_ino != ls.st_ino) {
        close(fd);
        op_set_err(errstr, errstr_size, "%s: replaced while it was opened: not read", path);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        op_set_err(errstr, errstr_size, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int input_open(struct producer_input *in, const char *path, enum producer_format format,
                      size_t max_record, int regular_only, char *errstr, size_t errstr_size)
{
    memset(in, 0, sizeof *in);
    in->fd = -1;
    in->max_record = max_record;
    in->next_line = 1;
    int is_stdin = strcmp(path, "-") == 0;
    if (regular_only && !is_stdin && (in->fd = open_regular(path, errstr, errstr_size)) < 0)
        return -1;
    int fd = in->fd >= 0 ? in->fd : is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    in->fd = -1;
    if (fd < 0) {
        op_set_err(errstr, errstr_size, "%s: %s", is_stdin ? "stdin" : path, strerror(errno));
        return -1;
    }
    in->chunk = malloc(PRODUCER_INPUT_CHUNK);
    if (!in->chunk) {
        close(fd);
        op_set_err(errstr, errstr_size, "%s: out of memory", path);
        return -1;
    }
    if (!is_stdin && ends_with(path, strlen(path), ".gz")) {
        in->gz = gzdopen(fd, "rb");
        if (!in->gz) {
            close(fd);
            producer_input_close(in);
            op_set_err(errstr, errstr_size, "%s: cannot read as gzip", path);
            return -1;
        }
        gzbuffer(in->gz, 128 * 1024);
    } else
        in->fd = fd;
    if (format == PRODUCER_FORMAT_AUTO && !is_stdin)
        format = producer_format_from_path(path);
    if (format == PRODUCER_FORMAT_AUTO) {
        /* Sniff: the first byte after a BOM and white space. */
        if (fill(in) < 0) {
            op_set_err(errstr, errstr_size, "%s: %s", is_stdin ? "stdin" : path, in->error);
            producer_input_close(in);
            return -1;
        }
        size_t i = 0;
        if (in->chunk_len >= 3 && !memcmp(in->chunk, "\xEF\xBB\xBF", 3))
            i = 3;
        while (i < in->chunk_len && strchr(" \t\r\n", in->chunk[i]))
            i++;
        format =
            i < in->chunk_len && in->chunk[i] == '{' ? PRODUCER_FORMAT_JSONL : PRODUCER_FORMAT_CSV;
        if (!in->gz && in->chunk_len >= 4 && !memcmp(in->chunk, "PK\x03\x04", 4))
            format = PRODUCER_FORMAT_XLSX;
    }
    if (format == PRODUCER_FORMAT_XLSX && in->gz) {
        op_set_err(errstr, errstr_size, "%s: an .xlsx is compressed already: give it without .gz",
                   path);
        producer_input_close(in);
        return -1;
    }
    in->format = format;
    return 0;
}

int producer_input_open(struct producer_input *in, const char *path, enum producer_format format,
                        size_t max_record, char *errstr, size_t errstr_size)
{
    return input_open(in, path, format, max_record, 0, errstr, errstr_size);
}

int producer_input_open_regular(struct producer_input *in, const char *path,
                                enum producer_format format, size_t max_record, char *errstr,
                                size_t errstr_size)
{
    return input_open(in, path, format, max_record, 1, errstr, errstr_size);
}

void producer_input_close(struct producer_input *in)
{
    if (in->gz)
        gzclose(in->gz);
    if (in->fd >= 0)
        close(in->fd);
    free(in->chunk);
    op_buf_free(&in->rec);
    in->gz = NULL;
    in->fd = -1;
    in->chunk = NULL;
}

static int blank(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return 0;
    return 1;
}

/* Where the CSV record splitter is. A quote only opens a quoted cell at the start of a cell;
 * anywhere else it is an error of the record (RFC 4180), and so is text after a closing
 * quote. Such a record ends at the physical line end (CSV_LINE): one bad cell must not turn
 * the quoting of every following line inside out. */
enum csv_state { CSV_CELL_START, CSV_UNQUOTED, CSV_QUOTED, CSV_QUOTE_IN_QUOTED, CSV_LINE };

/* Reads one record into in->rec. Returns 1, 0 at the end, -1 on error; sets *overlong and
 * *lines (the physical lines it spans). An overlong record is still split by the same rules
 * (its quoted cells may hold line ends), so the next record starts where it would have. */
static int read_record(struct producer_input *in, long *start, int *overlong, long *lines)
{
    int csv = in->format == PRODUCER_FORMAT_CSV;
    enum csv_state st = CSV_CELL_START;
    in->rec.len = 0;
    *overlong = 0;
    *start = in->next_line;
    for (;;) {
        if (in->chunk_pos == in->chunk_len) {
            long r = fill(in);
            if (r < 0)
                return -1;
            if (r == 0) {
                /* An unterminated last line is a line too. */
                *lines = in->next_line - *start + 1;
                return in->rec.len > 0 || *overlong;
            }
        }
        const unsigned char *p = in->chunk + in->chunk_pos;
        size_t avail = in->chunk_len - in->chunk_pos, n = avail;
        int done = 0;
        if (!csv || st == CSV_LINE) {
            const unsigned char *nl = memchr(p, '\n', avail);
            if (nl) {
                n = (size_t)(nl - p) + 1;
                done = 1;
                in->next_line++;
            }
        } else {
            for (size_t i = 0; i < avail && !done; i++) {
                unsigned char ch = p[i];
                switch (st) {
                case CSV_CELL_START:
                case CSV_UNQUOTED:
                    if (ch == '"')
                        st = st == CSV_CELL_START ? CSV_QUOTED : CSV_LINE;
                    else if (in->bom_done || in->rec.len + i >= 3 ||
                             ch != (unsigned char)"\xEF\xBB\xBF"[in->rec.len + i])
                        st = ch == ',' ? CSV_CELL_START : CSV_UNQUOTED; /* a BOM is no text */
                    break;
                case CSV_QUOTED:
                    if (ch == '"')
                        st = CSV_QUOTE_IN_QUOTED;
                    break;
                case CSV_QUOTE_IN_QUOTED:
                    st = ch == '"'    ? CSV_QUOTED
                         : ch == ','  ? CSV_CELL_START
                         : ch == '\n' ? CSV_UNQUOTED
                                      : CSV_LINE;
                    break;
                case CSV_LINE:
                    break;
                }
                if (ch == '\n') {
                    in->next_line++;
                    if (st != CSV_QUOTED) {
                        n = i + 1;
                        done = 1;
                    }
                }
            }
        }
        size_t room = in->rec.len < in->max_record ? in->max_record - in->rec.len : 0;
        size_t take = n < room ? n : room;
        if (take && op_buf_append(&in->rec, p, take) != 0) {
            op_set_err(in->error, sizeof in->error, "out of memory");
            return -1;
        }
        if (take < n)
            *overlong = 1;
        in->chunk_pos += n;
        if (done) {
            *lines = in->next_line - *start;
            return 1;
        }
    }
}

int producer_input_next(struct producer_input *in, struct producer_raw *raw)
{
    for (;;) {
        long start, lines;
        int overlong;
        int r = read_record(in, &start, &overlong, &lines);
        if (r <= 0)
            return r;
        in->lines += lines;
        unsigned char *d = in->rec.data;
        size_t len = in->rec.len;
        if (!in->bom_done) {
            in->bom_done = 1;
            if (len >= 3 && !memcmp(d, "\xEF\xBB\xBF", 3)) {
                d += 3;
                len -= 3;
                in->bom = 1;
            }
        }
        if (!overlong && blank(d, len)) {
            in->blank_lines += lines;
            continue;
        }
        size_t text = len;
        if (!overlong && text && d[text - 1] == '\n') {
            text--;
            if (text && d[text - 1] == '\r')
                text--;
        }
        raw->data = (const char *)d;
        raw->len = len;
        raw->text_len = text;
        raw->line = start;
        raw->lines = lines;
        raw->overlong = overlong;
        return 1;
    }
}

/* ---- CSV cells -------------------------------------------------------------------------- */

void producer_cells_free(struct producer_cells *c)
{
    free(c->cell);
    free(c->len);
    op_buf_free(&c->text);
    memset(c, 0, sizeof *c);
}

static int add_cell(struct producer_cells *c, char *at)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        char **nc = realloc(c->cell, cap * sizeof *nc);
        if (!nc)
            return -1;
        c->cell = nc;
        size_t *nl = realloc(c->len, cap * sizeof *nl);
        if (!nl)
            return -1;
        c->len = nl;
        c->cap = cap;
    }
    c->cell[c->n] = at;
    c->len[c->n] = 0;
    c->n++;
    return 0;
}

int producer_csv_split(const char *text, size_t len, struct producer_cells *c, size_t *bad,
                       const char **why)
{
    c->n = 0;
    c->text.len = 0;
    /* Cells and their NULs never take more than len + 1 bytes: one reservation, no moves. */
    if (op_buf_reserve(&c->text, len + 1) != 0) {
        *bad = 0;
        *why = "out of memory";
        return -1;
    }
    size_t i = 0;
    for (;;) {
        size_t start = c->text.len;
        if (add_cell(c, (char *)c->text.data + start) != 0) {
            *bad = c->n;
            *why = "out of memory";
            return -1;
        }
        unsigned char *out = c->text.data;
        if (i < len && text[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    *bad = c->n - 1;
                    *why = "unterminated quoted cell";
                    return -1;
                }
                if (text[i] == '"') {
                    if (i + 1 < len && text[i + 1] == '"') {
                        out[c->text.len++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                out[c->text.len++] = (unsigned char)text[i++];
            }
            if (i < len && text[i] != ',') {
                *bad = c->n - 1;
                *why = "text after the closing quote";
                return -1;
            }
        } else {
            while (i < len && text[i] != ',') {
                if (text[i] == '"') {
                    *bad = c->n - 1;
                    *why = "quote in an unquoted cell (enclose the cell in quotes and "
                           "double the quote)";
                    return -1;
                }
                out[c->text.len++] = (unsigned char)text[i++];
            }
        }
        c->len[c->n - 1] = c->text.len - start;
        out[c->text.len++] = 0;
        if (i >= len)
            break;
        i++; /* the ',' */
    }
    return 0;
}

size_t producer_utf8_check(const char *str, size_t len)
{
    return op_utf8_check(str, len);
}
