/* .xlsx reader: the worksheet streamed through expat, the parser suspended at each </row>;
 * cells become the text a CSV cell would hold, merged ranges are applied. */
#include "xlsx_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* ---- the sheet, streamed -----------------------------------------------------------------------
 */

static char empty_cell[1];

static void sheet_fail(struct producer_xlsx *x, const char *reason)
{
    if (!x->error[0])
        op_set_err(x->error, sizeof x->error, "%s:%s: %s", x->name, x->sheet, reason);
    XML_StopParser(x->xp, XML_FALSE);
}

static void row_bad(struct producer_xlsx *x, long col, const char *reason)
{
    if (x->row.bad_col != -1)
        return;
    x->row.bad_col = col;
    op_set_err(x->row.why, sizeof x->row.why, "%s", reason);
}

static int blank_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

static void XMLCALL sheet_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct producer_xlsx *x = ud;
    const char *l = producer_xlsx_local(name);
    if (!x->in_sheetdata) {
        if (strcmp(l, "sheetData") == 0)
            x->in_sheetdata = 1;
        return;
    }
    if (strcmp(l, "row") == 0) {
        const char *r = producer_xlsx_attr(atts, "r");
        long rn = x->prev_row + 1;
        if (r) {
            char *end;
            rn = strtol(r, &end, 10);
            if (*end || rn <= 0 || rn > 1048576) {
                sheet_fail(x, "a row with a bad number");
                return;
            }
        }
        if (rn <= x->prev_row) {
            char m[96];
            snprintf(m, sizeof m, "row %ld comes after row %ld", rn, x->prev_row);
            sheet_fail(x, m);
            return;
        }
        x->in_row = 1;
        x->prev_col = -1;
        x->text.len = 0;
        x->row_bytes = 0;
        x->nent = 0;
        memset(&x->row, 0, sizeof x->row);
        x->row.row = rn;
        x->row.bad_col = -1;
        x->prev_row = rn;
    } else if (x->in_row && strcmp(l, "c") == 0) {
        const char *r = producer_xlsx_attr(atts, "r"), *t = producer_xlsx_attr(atts, "t"),
                   *s = producer_xlsx_attr(atts, "s");
        long col = x->prev_col + 1;
        if (r) {
            long rr;
            col = producer_xlsx_ref_col(r, &rr);
            if (col < 0 || (rr && rr != x->row.row)) {
                row_bad(x, -2, "a cell with a bad reference");
                col = -1;
            } else if (col <= x->prev_col)
                row_bad(x, col, "a cell given twice or out of order");
        }
        if (col >= PRODUCER_XLSX_MAX_COLS) {
            row_bad(x, -2, "a cell past column XFD");
            col = -1;
        }
        x->in_c = 1;
        x->cur_col = col;
        if (col >= 0)
            x->prev_col = col;
        snprintf(x->cur_type, sizeof x->cur_type, "%s", t ? t : "n");
        x->cur_style = s ? strtol(s, NULL, 10) : 0;
        x->cell_start = x->text.len;
    } else if (x->in_c && strcmp(l, "v") == 0)
        x->collect = 1;
    else if (x->in_c && strcmp(l, "is") == 0)
        x->in_is = 1;
    else if (x->in_is && strcmp(l, "rPh") == 0)
        x->rph = 1;
    else if (x->in_is && !x->rph && strcmp(l, "t") == 0)
        x->collect = 1;
}

static void XMLCALL sheet_text(void *ud, const XML_Char *s, int len)
{
    struct producer_xlsx *x = ud;
    if (!x->collect || x->cur_col < 0)
        return;
    if (x->text.len + (size_t)len > x->max_row) {
        x->row.overlong = 1;
        len = x->text.len < x->max_row ? (int)(x->max_row - x->text.len) : 0;
    }
    if (len && op_buf_append(&x->text, s, (size_t)len) != 0)
        sheet_fail(x, "out of memory");
}

/* Rewrites the current cell's text (the tail of x->text) as `v`. */
static int set_cell_text(struct producer_xlsx *x, const char *v, size_t n)
{
    x->text.len = x->cell_start;
    return op_buf_append(&x->text, v, n);
}

static int all_digits(const char *s, size_t n)
{
    size_t i = n && s[0] == '-' ? 1 : 0;
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The cell's raw text to what a CSV cell would hold. */
static void end_cell(struct producer_xlsx *x)
{
    long col = x->cur_col;
    if (col < 0)
        return;
    size_t n = x->text.len - x->cell_start;
    char *v = (char *)x->text.data + x->cell_start;
    const char *ext = NULL;
    size_t ext_len = 0;
    const char *t = x->cur_type;
    if (strcmp(t, "s") == 0) {
        if (n) {
            char idx[16];
            unsigned long i = (unsigned long)-1;
            if (n <= 9 && all_digits(v, n) && v[0] != '-') {
                snprintf(idx, sizeof idx, "%.*s", (int)n, v);
                i = strtoul(idx, NULL, 10);
            }
            if (i >= x->nss)
                row_bad(x, col, "a shared string that the workbook does not have");
            else {
                ext = x->ss[i];
                ext_len = x->ss_len[i];
            }
        }
        n = 0;
        x->text.len = x->cell_start;
    } else if (strcmp(t, "b") == 0) {
        const char *b = n == 1 && v[0] == '1' ? "true" : n == 1 && v[0] == '0' ? "false" : NULL;
        if (!b && n)
            row_bad(x, col, "a boolean cell that is neither 0 nor 1");
        if (set_cell_text(x, b ? b : "", b ? strlen(b) : 0) != 0)
            goto oom;
        n = b ? strlen(b) : 0;
    } else if (strcmp(t, "e") == 0) {
        char why[96];
        snprintf(why, sizeof why, "the cell holds the Excel error %.*s", n > 20 ? 20 : (int)n,
                 n ? v : "?");
        row_bad(x, col, why);
    } else if (strcmp(t, "d") == 0) {
        /* ISO 8601 without a zone is wall time: Asia/Shanghai, as for serial dates. */
        if (n) {
            char iso[64];
            snprintf(iso, sizeof iso, "%.*s", n > 40 ? 40 : (int)n, v);
            if (strlen(iso) == 10)
                snprintf(iso + 10, sizeof iso - 10, "T00:00:00");
            const char *tpart = strchr(iso, 'T');
            if (tpart && !strchr(tpart, 'Z') && !strchr(tpart, '+') && !strchr(tpart, '-'))
                snprintf(iso + strlen(iso), sizeof iso - strlen(iso), "+08:00");
            if (set_cell_text(x, iso, strlen(iso)) != 0)
                goto oom;
            n = strlen(iso);
        }
    } else if ((strcmp(t, "n") == 0) && n) {
        char num[64];
        snprintf(num, sizeof num, "%.*s", n > 60 ? 60 : (int)n, v);
        char *end;
        double d = strtod(num, &end);
        int date = x->cur_style >= 0 && (size_t)x->cur_style < x->nxf && x->is_date[x->cur_style];
        if (*end || n > 60 || !isfinite(d)) {
            row_bad(x, col, "a number cell that holds no number");
            n = 0;
        } else if (date) {
            const char *why;
            char ts[64];
            if (producer_xlsx_serial_text(d, x->date1904, ts, sizeof ts, &why) != 0) {
                char m[160];
                snprintf(m, sizeof m, "date serial %s: %s", num, why);
                row_bad(x, col, m);
                n = 0;
            } else if (set_cell_text(x, ts, strlen(ts)) != 0)
                goto oom;
            else
                n = strlen(ts);
        } else if (!all_digits(v, n)) {
            /* Excel keeps 15 significant digits: 2.9999999999999996 is the 3 it shows. */
            char g[64];
            snprintf(g, sizeof g, "%.15g", d);
            if (strcmp(g, "-0") == 0)
                snprintf(g, sizeof g, "0");
            if (set_cell_text(x, g, strlen(g)) != 0)
                goto oom;
            n = strlen(g);
        }
    }
    /* "str", "inlineStr": the text as it is. */
    if (x->nent == x->entcap) {
        size_t cap = x->entcap ? x->entcap * 2 : 32;
        struct entry *ne = realloc(x->ent, cap * sizeof *ne);
        if (!ne)
            goto oom;
        x->ent = ne;
        x->entcap = cap;
    }
    x->row_bytes += ext ? ext_len : n;
    if (x->row_bytes > x->max_row)
        x->row.overlong = 1;
    x->ent[x->nent].col = col;
    x->ent[x->nent].off = x->cell_start;
    x->ent[x->nent].len = ext ? ext_len : n;
    x->ent[x->nent].ext = ext;
    x->nent++;
    return;
oom:
    sheet_fail(x, "out of memory");
}

/* Merged ranges at row `rn`: ranges over several columns make it a title or total line; a range
 * down one column shows its top cell's value in the rows below, so they get that value. */
static int apply_merges(struct producer_xlsx *x, long rn, int empty)
{
    size_t k = 0;
    for (size_t i = 0; i < x->nh; i++)
        if (x->hactive[i].r2 >= rn)
            x->hactive[k++] = x->hactive[i];
    x->nh = k;
    k = 0;
    for (size_t i = 0; i < x->nfill; i++) {
        if (x->fills[i].r2 >= rn)
            x->fills[k++] = x->fills[i];
        else
            free(x->fills[i].val);
    }
    x->nfill = k;
    while (x->next_merge < x->nmerge && x->merges[x->next_merge].r1 <= rn) {
        struct merge m = x->merges[x->next_merge++];
        if (m.r2 < rn)
            continue;
        if (m.c2 > m.c1) {
            if (x->nh == x->hcap) {
                size_t cap = x->hcap ? x->hcap * 2 : 16;
                struct merge *n = realloc(x->hactive, cap * sizeof *n);
                if (!n)
                    return -1;
                x->hactive = n;
                x->hcap = cap;
            }
            x->hactive[x->nh++] = m;
        } else if (m.r2 > m.r1 && m.r1 == rn && (size_t)m.c1 < x->row.n && x->row.len[m.c1] > 0) {
            if (x->nfill == x->fcap) {
                size_t cap = x->fcap ? x->fcap * 2 : 16;
                struct fill *n = realloc(x->fills, cap * sizeof *n);
                if (!n)
                    return -1;
                x->fills = n;
                x->fcap = cap;
            }
            struct fill *f = &x->fills[x->nfill];
            f->r1 = m.r1;
            f->r2 = m.r2;
            f->c = m.c1;
            f->len = x->row.len[m.c1];
            f->val = producer_xlsx_dupn(x->row.cell[m.c1], f->len);
            if (!f->val)
                return -1;
            x->nfill++;
        }
    }
    for (size_t i = 0; i < x->nh; i++)
        if (x->hactive[i].r1 <= rn) {
            struct merge *m = &x->hactive[i];
            char a[8], b[8];
            producer_xlsx_col_name(m->c1, a, sizeof a);
            producer_xlsx_col_name(m->c2, b, sizeof b);
            snprintf(x->row.merge, sizeof x->row.merge, "%s%ld:%s%ld", a, m->r1, b, m->r2);
            x->row.kind = PRODUCER_XLSX_ROW_MERGED;
            return 0;
        }
    if (empty)
        return 0;
    for (size_t i = 0; i < x->nfill; i++) {
        struct fill *f = &x->fills[i];
        if (f->r1 >= rn)
            continue;
        if ((size_t)f->c >= x->row.n) {
            /* Widen the row to the filled column. */
            if ((size_t)f->c >= x->ccap) {
                size_t cap = (size_t)f->c + 1;
                char **nc = realloc(x->cells, cap * sizeof *nc);
                if (!nc)
                    return -1;
                x->cells = nc;
                size_t *nl = realloc(x->lens, cap * sizeof *nl);
                if (!nl)
                    return -1;
                x->lens = nl;
                x->ccap = cap;
            }
            for (size_t c = x->row.n; c <= (size_t)f->c; c++) {
                x->cells[c] = empty_cell;
                x->lens[c] = 0;
            }
            x->row.n = (size_t)f->c + 1;
            x->row.cell = x->cells;
            x->row.len = x->lens;
        }
        if (x->row.len[f->c] == 0) {
            x->row.cell[f->c] = f->val;
            x->row.len[f->c] = f->len;
            x->row.filled++;
        }
    }
    return 0;
}

/* </row>: the cells by column, then the parser is suspended until the caller took the row. */
static void end_row(struct producer_xlsx *x)
{
    size_t n = 0;
    int empty = 1;
    /* Cell texts become NUL-terminated in place: each gets its own terminator. */
    struct op_buf *t = &x->text;
    for (size_t i = 0; i < x->nent; i++) {
        struct entry *e = &x->ent[i];
        const char *s = e->ext ? e->ext : (const char *)t->data + e->off;
        if (e->len && !blank_text(s, e->len))
            empty = 0;
        if (e->len && (size_t)e->col + 1 > n)
            n = (size_t)e->col + 1;
    }
    if (x->row.bad_col != -1)
        empty = 0;
    /* Terminators: copy the in-text cells to a packed area after the row's text. */
    size_t need = 0;
    for (size_t i = 0; i < x->nent; i++)
        if (!x->ent[i].ext)
            need += x->ent[i].len + 1;
    if (op_buf_reserve(t, need) != 0) {
        sheet_fail(x, "out of memory");
        return;
    }
    for (size_t i = 0; i < x->nent; i++) {
        struct entry *e = &x->ent[i];
        if (e->ext)
            continue;
        memmove(t->data + t->len, t->data + e->off, e->len);
        e->off = t->len;
        t->len += e->len;
        t->data[t->len++] = 0;
    }
    if (n > x->ccap) {
        char **nc = realloc(x->cells, n * sizeof *nc);
        if (!nc) {
            sheet_fail(x, "out of memory");
            return;
        }
        x->cells = nc;
        size_t *nl = realloc(x->lens, n * sizeof *nl);
        if (!nl) {
            sheet_fail(x, "out of memory");
            return;
        }
        x->lens = nl;
        x->ccap = n;
    }
    for (size_t c = 0; c < n; c++) {
        x->cells[c] = empty_cell;
        x->lens[c] = 0;
    }
    for (size_t i = 0; i < x->nent; i++) {
        struct entry *e = &x->ent[i];
        if ((size_t)e->col >= n || e->len == 0)
            continue;
        x->cells[e->col] = e->ext ? (char *)e->ext : (char *)t->data + e->off;
        x->lens[e->col] = e->len;
    }
    x->row.n = n;
    x->row.cell = x->cells;
    x->row.len = x->lens;
    x->row.kind = empty ? PRODUCER_XLSX_ROW_EMPTY : PRODUCER_XLSX_ROW_DATA;
    if (apply_merges(x, x->row.row, empty) != 0) {
        sheet_fail(x, "out of memory");
        return;
    }
    x->row_ready = 1;
    XML_StopParser(x->xp, XML_TRUE);
}

static void XMLCALL sheet_end(void *ud, const XML_Char *name)
{
    struct producer_xlsx *x = ud;
    const char *l = producer_xlsx_local(name);
    if (!x->in_sheetdata)
        return;
    if (strcmp(l, "sheetData") == 0)
        x->in_sheetdata = 0;
    else if (strcmp(l, "row") == 0 && x->in_row) {
        x->in_row = 0;
        end_row(x);
    } else if (strcmp(l, "c") == 0 && x->in_c) {
        x->in_c = 0;
        x->in_is = 0;
        x->collect = 0;
        end_cell(x);
    } else if (strcmp(l, "v") == 0)
        x->collect = 0;
    else if (strcmp(l, "rPh") == 0)
        x->rph = 0;
    else if (strcmp(l, "t") == 0)
        x->collect = 0;
    else if (strcmp(l, "is") == 0)
        x->in_is = 0;
}

static void XMLCALL sheet_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                  const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    sheet_fail(ud, "a document type declaration (not written by spreadsheets)");
}

int producer_xlsx_sheet_begin(struct producer_xlsx *x, char *errstr, size_t errstr_size)
{
    if (unzLocateFile(x->uf, x->sheet_path, 2) != UNZ_OK) {
        op_set_err(errstr, errstr_size, "%s: sheet \"%s\": its part %s is missing", x->name,
                   x->sheet, x->sheet_path);
        return -1;
    }
    int zerr = unzOpenCurrentFile(x->uf);
    if (zerr != UNZ_OK) {
        op_set_err(errstr, errstr_size, "%s: %s: %s", x->name, x->sheet_path,
                   producer_xlsx_unz_reason(zerr));
        return -1;
    }
    x->xp = XML_ParserCreateNS(NULL, '|');
    x->chunk = malloc(CHUNK);
    if (!x->xp || !x->chunk) {
        op_set_err(errstr, errstr_size, "%s: out of memory", x->name);
        return -1;
    }
    XML_SetUserData(x->xp, x);
    XML_SetElementHandler(x->xp, sheet_start, sheet_end);
    XML_SetCharacterDataHandler(x->xp, sheet_text);
    XML_SetStartDoctypeDeclHandler(x->xp, sheet_doctype);
    return 0;
}

int producer_xlsx_next(struct producer_xlsx *x, struct producer_xlsx_row **row)
{
    for (;;) {
        if (x->failed)
            return -1;
        if (x->row_ready) {
            x->row_ready = 0;
            *row = &x->row;
            return 1;
        }
        if (x->done)
            return 0;
        enum XML_Status st;
        if (x->suspended)
            st = XML_ResumeParser(x->xp);
        else {
            int n = unzReadCurrentFile(x->uf, x->chunk, CHUNK);
            if (n < 0) {
                op_set_err(x->error, sizeof x->error, "%s:%s: %s", x->name, x->sheet,
                           producer_xlsx_unz_reason(n));
                x->failed = 1;
                continue;
            }
            x->final_fed = n == 0;
            st = XML_Parse(x->xp, (const char *)x->chunk, n, n == 0);
        }
        if (st == XML_STATUS_ERROR) {
            if (!x->error[0])
                op_set_err(x->error, sizeof x->error, "%s:%s: XML %s at line %lu of %s", x->name,
                           x->sheet, XML_ErrorString(XML_GetErrorCode(x->xp)),
                           (unsigned long)XML_GetCurrentLineNumber(x->xp), x->sheet_path);
            x->failed = 1;
            continue;
        }
        x->suspended = st == XML_STATUS_SUSPENDED;
        if (!x->suspended && x->final_fed) {
            x->done = 1;
            int zerr = unzCloseCurrentFile(x->uf);
            if (zerr != UNZ_OK) {
                op_set_err(x->error, sizeof x->error, "%s:%s: %s", x->name, x->sheet,
                           producer_xlsx_unz_reason(zerr));
                x->failed = 1;
            }
        }
    }
}

const char *producer_xlsx_error(const struct producer_xlsx *x)
{
    return x->error;
}

const char *producer_xlsx_sheet(const struct producer_xlsx *x)
{
    return x->sheet;
}
