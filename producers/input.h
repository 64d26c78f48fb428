/* Streaming input: files, stdin and .gz read in chunks and cut into records (JSON Lines lines,
 * RFC 4180 CSV records that may span lines), with line numbers; memory is bounded by the
 * longest record accepted, never by the file. */
#ifndef PRODUCER_INPUT_H
#define PRODUCER_INPUT_H

#include <signal.h>
#include <stddef.h>

#include <zlib.h>

#include "buf.h"

enum producer_format {
    PRODUCER_FORMAT_AUTO = 0,
    PRODUCER_FORMAT_JSONL,
    PRODUCER_FORMAT_CSV,
    PRODUCER_FORMAT_XLSX /* read by xlsx.c from in->fd; producer_input_next is not used */
};

/* "jsonl"/"json"/"ndjson", "csv" or "xlsx"; PRODUCER_FORMAT_AUTO for anything else. */
enum producer_format producer_format_from_name(const char *name);
/* By extension of path, a trailing .gz ignored: .jsonl, .json, .ndjson, .csv, .xlsx; else
 * AUTO. */
enum producer_format producer_format_from_path(const char *path);
const char *producer_format_name(enum producer_format f);

#define PRODUCER_INPUT_CHUNK (64 * 1024)

struct producer_input {
    int fd;    /* plain files and stdin */
    gzFile gz; /* .gz files */
    enum producer_format format;
    unsigned char *chunk;
    size_t chunk_len, chunk_pos;
    struct op_buf rec;
    size_t max_record;
    long next_line;   /* physical line number of the next unread byte */
    long lines;       /* physical lines read so far (records and blank lines) */
    long blank_lines; /* of which blank lines skipped */
    int eof, bom_done;
    int bom; /* the input started with a UTF-8 BOM (skipped) */
    /* When set and 0, a read blocked on a pipe (stdin) gives up on a signal instead of
     * waiting on: producer_input_next then returns -1 with error "interrupted". */
    volatile sig_atomic_t *run;
    char error[256]; /* set when producer_input_next returned -1 */
};

/* One record as read. `data`/`len` are the original bytes, line terminator included (if the
 * file had one), BOM excluded; `text_len` excludes the terminator ("\n" or "\r\n").
 * Valid until the next call. */
struct producer_raw {
    const char *data;
    size_t len, text_len;
    long line;    /* physical line where the record starts, 1-based */
    long lines;   /* physical lines it spans (more than 1 when a quoted cell holds a line end) */
    int overlong; /* longer than max_record: data holds only the first max_record bytes */
};

/* Opens path ("-" = stdin; a name ending in .gz is decompressed). With PRODUCER_FORMAT_AUTO
 * the format comes from the extension, else from the first bytes ("PK\3\4", a zip: .xlsx;
 * '{': JSON Lines; else CSV). An .xlsx is not read here: in->fd is left for xlsx.c.
 * Returns 0, or -1 with "path: reason" in errstr. */
int producer_input_open(struct producer_input *in, const char *path, enum producer_format format,
                        size_t max_record, char *errstr, size_t errstr_size);
/* The same for a file of a directory that others write to (the spool): only a regular file
 * is opened, never through a symbolic link; anything else (link, FIFO, directory, device) is
 * refused with "path: not a regular file (KIND): not read" before any of it is read. */
int producer_input_open_regular(struct producer_input *in, const char *path,
                                enum producer_format format, size_t max_record, char *errstr,
                                size_t errstr_size);
void producer_input_close(struct producer_input *in);

/* The next record that is not blank (blank: only spaces, tabs and the terminator; blank lines
 * still count for line numbers). Returns 1, 0 at the end, -1 on a read error (in->error). */
int producer_input_next(struct producer_input *in, struct producer_raw *raw);

/* Reads the next chunk of raw bytes into in->chunk[0..n), bypassing records: for a pass over
 * the bytes of an input that was just opened (encoding.c's check of a whole file). Returns n,
 * 0 at the end, -1 on a read error (in->error). */
long producer_input_fill(struct producer_input *in);

/* CSV cells of one record (RFC 4180: fields separated by ',', optionally enclosed in '"'
 * with '""' for a quote, CR/LF allowed inside quotes). Cells are unquoted copies. */
struct producer_cells {
    size_t n, cap;
    char **cell; /* pointers into text, NUL-terminated */
    size_t *len;
    struct op_buf text;
};

/* Splits text (no terminator). Returns 0, or -1 with *bad the 0-based index of the faulty
 * cell and *why a static reason. */
int producer_csv_split(const char *text, size_t len, struct producer_cells *c, size_t *bad,
                       const char **why);
void producer_cells_free(struct producer_cells *c);

/* Offset of the first byte that is not valid UTF-8 (overlongs, surrogates and code points
 * past U+10FFFF included), or (size_t)-1 when all of it is valid. */
size_t producer_utf8_check(const char *s, size_t len);

#endif
