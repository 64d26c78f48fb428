/* .xlsx input of outreach-producer: one worksheet read row by row as cells of text, the same
 * cells a CSV row gives, so both meet in producer_conv_csv. minizip reads the zip, expat the XML.
 */
#ifndef PRODUCER_XLSX_H
#define PRODUCER_XLSX_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Shared strings are held in memory for the whole sheet (cells point into the table): more
 * than this many bytes of them is refused, with a message saying so. */
#define PRODUCER_XLSX_MAX_SHARED_BYTES (64u * 1024 * 1024)
/* Workbook, relationships and styles are small; anything larger is not a spreadsheet. */
#define PRODUCER_XLSX_MAX_PART_BYTES (16u * 1024 * 1024)
/* Excel's own limit: column XFD. */
#define PRODUCER_XLSX_MAX_COLS 16384
/* Merged ranges remembered for a sheet. */
#define PRODUCER_XLSX_MAX_MERGES 100000

struct producer_xlsx_limits {
    size_t max_shared_bytes; /* 0: PRODUCER_XLSX_MAX_SHARED_BYTES */
    size_t max_row_bytes;    /* text of one row; past it the row is `overlong` (0: 1 MiB) */
};

enum producer_xlsx_row_kind {
    PRODUCER_XLSX_ROW_DATA = 0, /* cells with some text */
    PRODUCER_XLSX_ROW_EMPTY,    /* a <row> whose cells are all empty or blank */
    PRODUCER_XLSX_ROW_MERGED    /* crossed by a merged range of several columns (a title or a
                                 * total line), see `merge` */
};

/* One row as read. cell[i] is the text of column i (A = 0), NUL-terminated UTF-8, "" when the
 * sheet has no value there; n is one past the last column with a value. Numbers are their
 * shortest decimal text (integers without ".0"), booleans "true"/"false", numbers formatted as
 * dates RFC 3339 with +08:00 (the serial read as Asia/Shanghai wall time). Valid until the next
 * call. */
struct producer_xlsx_row {
    long row; /* Excel's row number, 1-based */
    enum producer_xlsx_row_kind kind;
    size_t n;
    char **cell;
    size_t *len;
    int overlong;   /* text past max_row_bytes: cells hold only its beginning */
    long bad_col;   /* a cell that could not be read, 0-based; -1: none; -2: the row */
    char why[160];  /* its reason when bad_col != -1 */
    char merge[40]; /* PRODUCER_XLSX_ROW_MERGED: the range, e.g. "A1:F1" */
    long filled;    /* cells filled down from a vertically merged cell above */
};

struct producer_xlsx;

/* Opens the worksheet named `sheet` (NULL: the first worksheet) of the .xlsx on fd (which stays
 * the caller's; it must be seekable) and reads its shared strings, styles and merged ranges.
 * `name` is the file as shown in messages. Returns the reader, or NULL with "NAME: reason" in
 * errstr (not a zip, a corrupt zip, no such sheet — the message lists the sheets —, too many
 * shared strings, XML that is not well-formed). */
struct producer_xlsx *producer_xlsx_open(int fd, const char *name, const char *sheet,
                                         const struct producer_xlsx_limits *limits, char *errstr,
                                         size_t errstr_size);
void producer_xlsx_close(struct producer_xlsx *x);

/* The name of the sheet being read. */
const char *producer_xlsx_sheet(const struct producer_xlsx *x);

/* The next <row> of the sheet (rows the sheet does not list at all are empty: the caller sees the
 * gap in the row numbers). Returns 1, 0 at the end, -1 when the rest cannot be read (corrupt
 * zip data, XML not well-formed) with the reason in producer_xlsx_error. Never blocks on a
 * signal; memory holds one row, not the sheet. */
int producer_xlsx_next(struct producer_xlsx *x, struct producer_xlsx_row **row);
const char *producer_xlsx_error(const struct producer_xlsx *x);

/* An Excel date serial number as RFC 3339 local time with +08:00 (Asia/Shanghai has no DST since
 * 1991, and events start in 2000): 45659.354166666664 -> "2025-01-02T08:30:00+08:00",
 * milliseconds only when not zero. date1904: the workbook's 1904 date system. In the 1900 system
 * serial 60 is 1900-02-29, a day that never was (Lotus 1-2-3's leap-year bug that Excel keeps),
 * and 1..59 are one day off from the rest. Returns 0, or -1 with a static reason. */
int producer_xlsx_serial_text(double serial, int date1904, char *out, size_t out_size,
                              const char **why);

/* Appends cells as one RFC 4180 CSV line ending in CRLF (a cell with ',', '"', CR, LF or a
 * leading/trailing space quoted, quotes doubled). Returns 0 or -1 (out of memory). */
int producer_xlsx_csv_line(char *const *cells, const size_t *lens, size_t n, struct op_buf *out);

#endif
