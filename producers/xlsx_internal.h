/* .xlsx reader internals: the reader's state and what its files share.
 *   xlsx.c        the zip over the caller's fd, open and close, shared helpers, dates and CSV
 *   xlsx_parts.c  the parts read whole: relationships, workbook, styles, shared strings,
 *                 merged ranges
 *   xlsx_sheet.c  the worksheet, streamed row by row, cells to text */
#ifndef PRODUCER_XLSX_INTERNAL_H
#define PRODUCER_XLSX_INTERNAL_H

#include "xlsx.h"

#include <expat.h>
#include <unzip.h>

#define CHUNK (64 * 1024)
#define PRODUCER_XLSX_STR2(x) #x
#define PRODUCER_XLSX_STR(x) PRODUCER_XLSX_STR2(x)
#define MAX_SHEETS 4096
#define MAX_XFS 65536

/* minizip's I/O callbacks over the caller's fd with pread: the reader owns no file, so the spool's
 * checks (regular file, no link) on that fd hold for everything read. */
struct zfd {
    int fd;
    ZPOS64_T pos;
    int err;
};

struct sheet_ref {
    char *name, *rid, *path;
    int worksheet;
};

struct merge {
    long r1, r2, c1, c2;
};

struct fill { /* a vertically merged cell: its value shown in the rows below its top */
    long r1, r2, c;
    char *val;
    size_t len;
};

struct entry {
    long col;
    size_t off, len;
    const char *ext; /* a shared string (not in text) */
};

struct producer_xlsx {
    char *name;
    char *sheet;
    struct zfd zfd;
    unzFile uf;
    int date1904;
    unsigned char *is_date; /* per cellXfs index */
    size_t nxf;
    /* shared strings */
    char **ss;
    size_t *ss_len;
    size_t nss, ss_cap, ss_bytes, ss_max;
    /* merged ranges, sorted by first row */
    struct merge *merges;
    size_t nmerge, next_merge;
    struct merge *hactive;
    size_t nh, hcap;
    struct fill *fills;
    size_t nfill, fcap;
    /* streaming the sheet */
    char *sheet_path;
    XML_Parser xp;
    unsigned char *chunk;
    int final_fed, suspended, done, failed;
    char error[512];
    size_t max_row;
    /* the row being read */
    int in_sheetdata, in_row, in_c, collect, in_is, rph;
    long prev_row, prev_col, cur_col, cur_style;
    char cur_type[12];
    size_t cell_start, row_bytes;
    struct op_buf text;
    struct entry *ent;
    size_t nent, entcap;
    int row_ready;
    struct producer_xlsx_row row;
    char **cells;
    size_t *lens;
    size_t ccap;
};

struct part {
    struct producer_xlsx *x;
    XML_Parser p;
    const char *name;
    char err[256];
    int depth;
    /* workbook */
    struct sheet_ref *sheets;
    size_t nsheets;
    /* relationships */
    const char *base;
    char *office; /* _rels/.rels: the workbook */
    char *shared, *styles;
    /* styles */
    int in_numfmts, in_cellxfs;
    struct {
        long id;
        int date;
    } * fmts;
    size_t nfmts, fmtcap;
    /* shared strings */
    int in_si, in_t, in_rph;
    struct op_buf si;
    /* merges */
};

/* xlsx.c: an expat name without its namespace ("URI|local"); an attribute's value or NULL;
 * a NUL-terminated copy of n bytes; the column of a cell reference and its row ("AB12" ->
 * 27, 12; -1 when it is none); a column's letters; failing a part with a message (the first
 * one stays); a minizip error as text. */
const char *producer_xlsx_local(const char *name);
const char *producer_xlsx_attr(const char **atts, const char *name);
char *producer_xlsx_dupn(const char *s, size_t n);
long producer_xlsx_ref_col(const char *r, long *row);
void producer_xlsx_col_name(long col, char *out, size_t size);
void producer_xlsx_part_fail(struct part *pt, const char *msg);
const char *producer_xlsx_unz_reason(int e);

/* xlsx_parts.c: expat handlers of the parts read whole, and where a relationship points. */
char *producer_xlsx_resolve(const char *base, const char *target);
void XMLCALL producer_xlsx_rels_start(void *ud, const XML_Char *name, const XML_Char **atts);
void XMLCALL producer_xlsx_workbook_start(void *ud, const XML_Char *name, const XML_Char **atts);
void XMLCALL producer_xlsx_styles_start(void *ud, const XML_Char *name, const XML_Char **atts);
void XMLCALL producer_xlsx_styles_end(void *ud, const XML_Char *name);
void XMLCALL producer_xlsx_sst_start(void *ud, const XML_Char *name, const XML_Char **atts);
void XMLCALL producer_xlsx_sst_end(void *ud, const XML_Char *name);
void XMLCALL producer_xlsx_sst_text(void *ud, const XML_Char *s, int len);
void XMLCALL producer_xlsx_merge_start(void *ud, const XML_Char *name, const XML_Char **atts);

/* xlsx_sheet.c: opens the sheet's part and its streaming parser. */
int producer_xlsx_sheet_begin(struct producer_xlsx *x, char *errstr, size_t errstr_size);

#endif
