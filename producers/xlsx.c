/* .xlsx reader: the zip through minizip (positional reads on the caller's fd), every XML part
 * through expat; the worksheet is streamed and the parser suspended at each </row>. */
#include "xlsx.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <expat.h>
#include <unzip.h>

#include "err.h"

#define CHUNK (64 * 1024)
#define PRODUCER_XLSX_STR2(x) #x
#define PRODUCER_XLSX_STR(x) PRODUCER_XLSX_STR2(x)
#define MAX_SHEETS 4096
#define MAX_XFS 65536

/* ---- zip over a file descriptor ------------------------------------------------------------ */

/* minizip's I/O callbacks over the caller's fd with pread: the reader owns no file, so the spool's
 * checks (regular file, no link) on that fd hold for everything read. */
struct zfd {
    int fd;
    ZPOS64_T pos;
    int err;
};

static voidpf ZCALLBACK zf_open(voidpf opaque, const void *filename, int mode)
{
    (void)filename;
    (void)mode;
    return opaque;
}

static uLong ZCALLBACK zf_read(voidpf opaque, voidpf stream, void *buf, uLong size)
{
    (void)opaque;
    struct zfd *z = stream;
    ssize_t r;
    do
        r = pread(z->fd, buf, size, (off_t)z->pos);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        z->err = errno;
        return 0;
    }
    z->pos += (ZPOS64_T)r;
    return (uLong)r;
}

static uLong ZCALLBACK zf_write(voidpf opaque, voidpf stream, const void *buf, uLong size)
{
    (void)opaque;
    (void)stream;
    (void)buf;
    (void)size;
    return 0;
}

static ZPOS64_T ZCALLBACK zf_tell(voidpf opaque, voidpf stream)
{
    (void)opaque;
    return ((struct zfd *)stream)->pos;
}

static long ZCALLBACK zf_seek(voidpf opaque, voidpf stream, ZPOS64_T offset, int origin)
{
    (void)opaque;
    struct zfd *z = stream;
    struct stat st;
    switch (origin) {
    case ZLIB_FILEFUNC_SEEK_SET:
        z->pos = offset;
        return 0;
    case ZLIB_FILEFUNC_SEEK_CUR:
        z->pos += offset;
        return 0;
    case ZLIB_FILEFUNC_SEEK_END:
        if (fstat(z->fd, &st) != 0) {
            z->err = errno;
            return -1;
        }
        z->pos = (ZPOS64_T)st.st_size + offset;
        return 0;
    default:
        return -1;
    }
}

static int ZCALLBACK zf_close(voidpf opaque, voidpf stream)
{
    (void)opaque;
    (void)stream;
    return 0;
}

static int ZCALLBACK zf_error(voidpf opaque, voidpf stream)
{
    (void)opaque;
    return ((struct zfd *)stream)->err;
}

/* ---- the reader ---------------------------------------------------------------------------- */

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

static char empty_cell[1];

/* Expat names with namespaces come as "URI|local": parts use prefixes freely. */
static const char *local(const char *name)
{
    const char *bar = strrchr(name, '|');
    return bar ? bar + 1 : name;
}

static const char *attr(const char **atts, const char *name)
{
    for (size_t i = 0; atts[i]; i += 2)
        if (strcmp(local(atts[i]), name) == 0)
            return atts[i + 1];
    return NULL;
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* "AB12" -> column 27 (0-based); -1 when it is not a cell reference. */
static long ref_col(const char *r, long *row)
{
    long col = 0;
    size_t i = 0;
    for (; (r[i] >= 'A' && r[i] <= 'Z') || (r[i] >= 'a' && r[i] <= 'z'); i++) {
        col = col * 26 + ((r[i] | 0x20) - 'a' + 1);
        if (col > PRODUCER_XLSX_MAX_COLS)
            return -1;
    }
    if (i == 0)
        return -1;
    long rw = 0;
    size_t k = i;
    for (; r[k] >= '0' && r[k] <= '9'; k++) {
        rw = rw * 10 + (r[k] - '0');
        if (rw > 1048576)
            return -1;
    }
    if (r[k] || (k > i && rw == 0))
        return -1;
    if (row)
        *row = k > i ? rw : 0;
    return col - 1;
}

static void col_name(long col, char *out, size_t size)
{
    char tmp[8];
    size_t n = 0;
    for (long c = col + 1; c > 0 && n < sizeof tmp; c = (c - 1) / 26)
        tmp[n++] = (char)('A' + (c - 1) % 26);
    size_t k = 0;
    while (n && k + 1 < size)
        out[k++] = tmp[--n];
    out[k] = 0;
}

/* ---- XML parts read whole ------------------------------------------------------------------ */

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

static void part_fail(struct part *pt, const char *msg)
{
    if (!pt->err[0])
        op_set_err(pt->err, sizeof pt->err, "%s", msg);
    XML_StopParser(pt->p, XML_FALSE);
}

static void XMLCALL no_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    struct part *pt = ud;
    part_fail(pt, "a document type declaration (not written by spreadsheets)");
}

/* Joins a relationship target to the folder of the part that names it ("xl/"); "/x" is from the
 * root; "../" steps up. */
static char *resolve(const char *base, const char *target)
{
    if (target[0] == '/')
        return strdup(target + 1);
    size_t bl = strlen(base);
    while (strncmp(target, "../", 3) == 0) {
        target += 3;
        if (bl)
            bl--;
        while (bl && base[bl - 1] != '/')
            bl--;
    }
    size_t tl = strlen(target);
    char *s = malloc(bl + tl + 1);
    if (s) {
        memcpy(s, base, bl);
        memcpy(s + bl, target, tl + 1);
    }
    return s;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void XMLCALL rels_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct part *pt = ud;
    if (strcmp(local(name), "Relationship") != 0)
        return;
    const char *id = attr(atts, "Id"), *type = attr(atts, "Type"), *target = attr(atts, "Target");
    const char *mode = attr(atts, "TargetMode");
    if (!id || !type || !target || (mode && strcmp(mode, "External") == 0))
        return;
    char **slot = NULL;
    if (ends_with(type, "/officeDocument"))
        slot = &pt->office;
    else if (ends_with(type, "/sharedStrings"))
        slot = &pt->shared;
    else if (ends_with(type, "/styles"))
        slot = &pt->styles;
    if (slot && !*slot) {
        *slot = resolve(pt->base, target);
        if (!*slot)
            part_fail(pt, "out of memory");
        return;
    }
    for (size_t i = 0; i < pt->nsheets; i++)
        if (!pt->sheets[i].path && strcmp(pt->sheets[i].rid, id) == 0) {
            pt->sheets[i].worksheet = ends_with(type, "/worksheet");
            pt->sheets[i].path = resolve(pt->base, target);
            if (!pt->sheets[i].path)
                part_fail(pt, "out of memory");
        }
}

static void XMLCALL workbook_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct part *pt = ud;
    const char *l = local(name);
    if (strcmp(l, "workbookPr") == 0) {
        const char *v = attr(atts, "date1904");
        pt->x->date1904 = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
    } else if (strcmp(l, "sheet") == 0) {
        const char *n = attr(atts, "name"), *rid = attr(atts, "id");
        if (!n || !rid)
            return;
        if (pt->nsheets == MAX_SHEETS) {
            part_fail(pt, "too many sheets");
            return;
        }
        struct sheet_ref *ns = realloc(pt->sheets, (pt->nsheets + 1) * sizeof *ns);
        if (!ns) {
            part_fail(pt, "out of memory");
            return;
        }
        pt->sheets = ns;
        struct sheet_ref *s = &pt->sheets[pt->nsheets];
        memset(s, 0, sizeof *s);
        s->name = strdup(n);
        s->rid = strdup(rid);
        pt->nsheets++;
        if (!s->name || !s->rid)
            part_fail(pt, "out of memory");
    }
}

/* A number format shows a date when it has a date or time token outside quotes, brackets
 * ([Red], [$-804]) and escapes: y, m, d, h, s, or the Chinese 年月日时分秒 forms go in quotes. */
static int format_is_date(const char *f)
{
    for (size_t i = 0; f[i]; i++) {
        char c = f[i];
        if (c == '"') {
            while (f[i + 1] && f[i + 1] != '"')
                i++;
            if (f[i + 1])
                i++;
        } else if (c == '[') {
            while (f[i + 1] && f[i + 1] != ']')
                i++;
            if (f[i + 1])
                i++;
        } else if ((c == '\\' || c == '_' || c == '*') && f[i + 1]) {
            i++;
        } else if (strchr("yYmMdDhHsS", c))
            return 1;
        else if (c == ';') /* the first section decides */
            return 0;
    }
    return 0;
}

/* Built-in formats that show dates (ECMA-376 18.8.30, with the CJK ones 27-36 and 50-58). */
static int builtin_is_date(long id)
{
    return (id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) ||
           (id >= 50 && id <= 58);
}

static void XMLCALL styles_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct part *pt = ud;
    const char *l = local(name);
    if (strcmp(l, "numFmts") == 0)
        pt->in_numfmts = 1;
    else if (strcmp(l, "cellXfs") == 0)
        pt->in_cellxfs = 1;
    else if (pt->in_numfmts && strcmp(l, "numFmt") == 0) {
        const char *id = attr(atts, "numFmtId"), *code = attr(atts, "formatCode");
        if (!id || !code || pt->nfmts == MAX_XFS)
            return;
        if (pt->nfmts == pt->fmtcap) {
            size_t cap = pt->fmtcap ? pt->fmtcap * 2 : 16;
            void *n = realloc(pt->fmts, cap * sizeof *pt->fmts);
            if (!n) {
                part_fail(pt, "out of memory");
                return;
            }
            pt->fmts = n;
            pt->fmtcap = cap;
        }
        pt->fmts[pt->nfmts].id = strtol(id, NULL, 10);
        pt->fmts[pt->nfmts].date = format_is_date(code);
        pt->nfmts++;
    } else if (pt->in_cellxfs && strcmp(l, "xf") == 0) {
        struct producer_xlsx *x = pt->x;
        if (x->nxf == MAX_XFS)
            return;
        unsigned char *n = realloc(x->is_date, x->nxf + 1);
        if (!n) {
            part_fail(pt, "out of memory");
            return;
        }
        x->is_date = n;
        const char *id = attr(atts, "numFmtId");
        long f = id ? strtol(id, NULL, 10) : 0;
        int date = builtin_is_date(f);
        for (size_t i = 0; i < pt->nfmts; i++)
            if (pt->fmts[i].id == f)
                date = pt->fmts[i].date;
        x->is_date[x->nxf++] = (unsigned char)date;
    }
}

static void XMLCALL styles_end(void *ud, const XML_Char *name)
{
    struct part *pt = ud;
    const char *l = local(name);
    if (strcmp(l, "numFmts") == 0)
        pt->in_numfmts = 0;
    else if (strcmp(l, "cellXfs") == 0)
        pt->in_cellxfs = 0;
}

/* Shared strings: the text of <t> inside <si>, rich-text runs joined, phonetic runs (<rPh>)
 * left out. */
static void XMLCALL sst_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    (void)atts;
    struct part *pt = ud;
    const char *l = local(name);
    if (strcmp(l, "si") == 0) {
        pt->in_si = 1;
        pt->si.len = 0;
    } else if (strcmp(l, "rPh") == 0)
        pt->in_rph = 1;
    else if (pt->in_si && !pt->in_rph && strcmp(l, "t") == 0)
        pt->in_t = 1;
}

static void XMLCALL sst_end(void *ud, const XML_Char *name)
{
    struct part *pt = ud;
    struct producer_xlsx *x = pt->x;
    const char *l = local(name);
    if (strcmp(l, "rPh") == 0)
        pt->in_rph = 0;
    else if (strcmp(l, "t") == 0)
        pt->in_t = 0;
    else if (strcmp(l, "si") == 0 && pt->in_si) {
        pt->in_si = 0;
        x->ss_bytes += pt->si.len + 1 + sizeof(char *) + sizeof(size_t);
        if (x->ss_bytes > x->ss_max) {
            char m[200];
            snprintf(m, sizeof m,
                     "more than %zu bytes of shared strings (split the sheet into smaller "
                     "files, or save it as CSV)",
                     x->ss_max);
            part_fail(pt, m);
            return;
        }
        if (x->nss == x->ss_cap) {
            size_t cap = x->ss_cap ? x->ss_cap * 2 : 256;
            char **ns = realloc(x->ss, cap * sizeof *ns);
            if (!ns) {
                part_fail(pt, "out of memory");
                return;
            }
            x->ss = ns;
            size_t *nl = realloc(x->ss_len, cap * sizeof *nl);
            if (!nl) {
                part_fail(pt, "out of memory");
                return;
            }
            x->ss_len = nl;
            x->ss_cap = cap;
        }
        char *s = dupn(pt->si.len ? (const char *)pt->si.data : "", pt->si.len);
        if (!s) {
            part_fail(pt, "out of memory");
            return;
        }
        x->ss[x->nss] = s;
        x->ss_len[x->nss] = pt->si.len;
        x->nss++;
    }
}

static void XMLCALL sst_text(void *ud, const XML_Char *s, int len)
{
    struct part *pt = ud;
    if (pt->in_si && pt->in_t && !pt->in_rph && op_buf_append(&pt->si, s, (size_t)len) != 0)
        part_fail(pt, "out of memory");
}

/* Merged ranges: <mergeCell ref="A1:F1"/> after the sheet's data, so a first pass collects
 * them. */
static void XMLCALL merge_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct part *pt = ud;
    struct producer_xlsx *x = pt->x;
    if (strcmp(local(name), "mergeCell") != 0)
        return;
    const char *ref = attr(atts, "ref");
    const char *colon = ref ? strchr(ref, ':') : NULL;
    if (!colon || colon - ref > 15)
        return;
    char a[16];
    memcpy(a, ref, (size_t)(colon - ref));
    a[colon - ref] = 0;
    struct merge m;
    m.c1 = ref_col(a, &m.r1);
    m.c2 = ref_col(colon + 1, &m.r2);
    if (m.c1 < 0 || m.c2 < 0 || m.r1 <= 0 || m.r2 < m.r1 || m.c2 < m.c1)
        return;
    if (x->nmerge == PRODUCER_XLSX_MAX_MERGES) {
        part_fail(pt, "more than " PRODUCER_XLSX_STR(PRODUCER_XLSX_MAX_MERGES) " merged ranges");
        return;
    }
    if (x->nmerge % 256 == 0) {
        struct merge *n = realloc(x->merges, (x->nmerge + 256) * sizeof *n);
        if (!n) {
            part_fail(pt, "out of memory");
            return;
        }
        x->merges = n;
    }
    x->merges[x->nmerge++] = m;
}

static const char *unz_reason(int e)
{
    switch (e) {
    case UNZ_CRCERROR:
        return "corrupt zip data (CRC mismatch)";
    case UNZ_BADZIPFILE:
        return "corrupt zip file";
    case UNZ_ERRNO:
        return "read error";
    case UNZ_END_OF_LIST_OF_FILE:
        return "missing";
    default:
        return "corrupt zip data";
    }
}

/* Streams one part of the zip through a fresh expat parser. Returns 0, 1 when the part is
 * absent, -1 with errstr. */
static int parse_part(struct producer_xlsx *x, const char *path, struct part *pt,
                      XML_StartElementHandler st, XML_EndElementHandler en,
                      XML_CharacterDataHandler ch, size_t max_bytes, char *errstr,
                      size_t errstr_size)
{
    if (unzLocateFile(x->uf, path, 2) != UNZ_OK)
        return 1;
    int rc = -1, zerr;
    if ((zerr = unzOpenCurrentFile(x->uf)) != UNZ_OK) {
        op_set_err(errstr, errstr_size, "%s: %s: %s", x->name, path, unz_reason(zerr));
        return -1;
    }
    XML_Parser p = XML_ParserCreateNS(NULL, '|');
    unsigned char *buf = malloc(CHUNK);
    if (!p || !buf) {
        op_set_err(errstr, errstr_size, "%s: out of memory", x->name);
        goto cleanup;
    }
    pt->x = x;
    pt->p = p;
    pt->name = path;
    pt->err[0] = 0;
    XML_SetUserData(p, pt);
    XML_SetElementHandler(p, st, en);
    XML_SetCharacterDataHandler(p, ch);
    XML_SetStartDoctypeDeclHandler(p, no_doctype);
    size_t total = 0;
    for (;;) {
        int n = unzReadCurrentFile(x->uf, buf, CHUNK);
        if (n < 0) {
            op_set_err(errstr, errstr_size, "%s: %s: %s", x->name, path, unz_reason(n));
            goto cleanup;
        }
        total += (size_t)n;
        if (max_bytes && total > max_bytes) {
            op_set_err(errstr, errstr_size, "%s: %s: larger than %zu bytes", x->name, path,
                       max_bytes);
            goto cleanup;
        }
        if (XML_Parse(p, (const char *)buf, n, n == 0) != XML_STATUS_OK) {
            if (pt->err[0])
                op_set_err(errstr, errstr_size, "%s: %s: %s", x->name, path, pt->err);
            else
                op_set_err(errstr, errstr_size, "%s: %s: XML %s at line %lu", x->name, path,
                           XML_ErrorString(XML_GetErrorCode(p)),
                           (unsigned long)XML_GetCurrentLineNumber(p));
            goto cleanup;
        }
        if (n == 0)
            break;
    }
    rc = 0;
cleanup:
    zerr = unzCloseCurrentFile(x->uf);
    if (rc == 0 && zerr != UNZ_OK) {
        op_set_err(errstr, errstr_size, "%s: %s: %s", x->name, path, unz_reason(zerr));
        rc = -1;
    }
    if (p)
        XML_ParserFree(p);
    free(buf);
    return rc;
}

/* ---- the sheet, streamed -----------------------------------------------------------------------
 */

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
    const char *l = local(name);
    if (!x->in_sheetdata) {
        if (strcmp(l, "sheetData") == 0)
            x->in_sheetdata = 1;
        return;
    }
    if (strcmp(l, "row") == 0) {
        const char *r = attr(atts, "r");
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
        const char *r = attr(atts, "r"), *t = attr(atts, "t"), *s = attr(atts, "s");
        long col = x->prev_col + 1;
        if (r) {
            long rr;
            col = ref_col(r, &rr);
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
            f->val = dupn(x->row.cell[m.c1], f->len);
            if (!f->val)
                return -1;
            x->nfill++;
        }
    }
    for (size_t i = 0; i < x->nh; i++)
        if (x->hactive[i].r1 <= rn) {
            struct merge *m = &x->hactive[i];
            char a[8], b[8];
            col_name(m->c1, a, sizeof a);
            col_name(m->c2, b, sizeof b);
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
    const char *l = local(name);
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

static int sheet_begin(struct producer_xlsx *x, char *errstr, size_t errstr_size)
{
    if (unzLocateFile(x->uf, x->sheet_path, 2) != UNZ_OK) {
        op_set_err(errstr, errstr_size, "%s: sheet \"%s\": its part %s is missing", x->name,
                   x->sheet, x->sheet_path);
        return -1;
    }
    int zerr = unzOpenCurrentFile(x->uf);
    if (zerr != UNZ_OK) {
        op_set_err(errstr, errstr_size, "%s: %s: %s", x->name, x->sheet_path, unz_reason(zerr));
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
                           unz_reason(n));
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
                           unz_reason(zerr));
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

/* ---- open -------------------------------------------------------------------------------------
 */

static void part_free(struct part *pt)
{
    for (size_t i = 0; i < pt->nsheets; i++) {
        free(pt->sheets[i].name);
        free(pt->sheets[i].rid);
        free(pt->sheets[i].path);
    }
    free(pt->sheets);
    free(pt->office);
    free(pt->shared);
    free(pt->styles);
    free(pt->fmts);
    op_buf_free(&pt->si);
    memset(pt, 0, sizeof *pt);
}

static int cmp_merge(const void *a, const void *b)
{
    const struct merge *x = a, *y = b;
    return x->r1 < y->r1 ? -1 : x->r1 > y->r1;
}

struct producer_xlsx *producer_xlsx_open(int fd, const char *name, const char *sheet,
                                         const struct producer_xlsx_limits *limits, char *errstr,
                                         size_t errstr_size)
{
    struct part pt;
    memset(&pt, 0, sizeof pt);
    struct producer_xlsx *x = calloc(1, sizeof *x);
    if (!x || !(x->name = strdup(name))) {
        op_set_err(errstr, errstr_size, "%s: out of memory", name);
        goto fail;
    }
    x->ss_max = limits && limits->max_shared_bytes ? limits->max_shared_bytes
                                                   : PRODUCER_XLSX_MAX_SHARED_BYTES;
    x->max_row = limits && limits->max_row_bytes ? limits->max_row_bytes : 1024 * 1024;
    x->zfd.fd = fd;
    unsigned char magic[4];
    ssize_t got = pread(fd, magic, 4, 0);
    if (got < 0) {
        op_set_err(errstr, errstr_size, "%s: %s", name,
                   errno == ESPIPE ? "an .xlsx must be a file, not a pipe (a zip is read out of "
                                     "order)"
                                   : strerror(errno));
        goto fail;
    }
    if (got < 4 || memcmp(magic, "PK\x03\x04", 4) != 0) {
        op_set_err(errstr, errstr_size,
                   "%s: not an .xlsx file (no zip signature; an old .xls or a renamed CSV? "
                   "save it as .xlsx or CSV)",
                   name);
        goto fail;
    }
    zlib_filefunc64_def ff = {zf_open, zf_read,  zf_write, zf_tell,
                              zf_seek, zf_close, zf_error, NULL};
    ff.opaque = &x->zfd;
    x->uf = unzOpen2_64(name, &ff);
    if (!x->uf) {
        op_set_err(errstr, errstr_size, "%s: corrupt zip file (not a readable .xlsx)", name);
        goto fail;
    }
    /* The workbook: where _rels/.rels says, else where every writer puts it. */
    pt.base = "";
    int rc = parse_part(x, "_rels/.rels", &pt, rels_start, NULL, NULL, PRODUCER_XLSX_MAX_PART_BYTES,
                        errstr, errstr_size);
    if (rc < 0)
        goto fail;
    char *wb = pt.office ? pt.office : strdup("xl/workbook.xml");
    pt.office = NULL;
    part_free(&pt);
    if (!wb) {
        op_set_err(errstr, errstr_size, "%s: out of memory", name);
        goto fail;
    }
    rc = parse_part(x, wb, &pt, workbook_start, NULL, NULL, PRODUCER_XLSX_MAX_PART_BYTES, errstr,
                    errstr_size);
    if (rc != 0) {
        if (rc > 0)
            op_set_err(errstr, errstr_size, "%s: a zip, but not an .xlsx (no %s)", name, wb);
        free(wb);
        goto fail;
    }
    /* Its relationships: xl/_rels/workbook.xml.rels. */
    const char *slash = strrchr(wb, '/');
    size_t dl = slash ? (size_t)(slash - wb) + 1 : 0;
    char base[256], rels[512];
    snprintf(base, sizeof base, "%.*s", (int)dl, wb);
    snprintf(rels, sizeof rels, "%s_rels/%s.rels", base, wb + dl);
    free(wb);
    pt.base = base;
    rc = parse_part(x, rels, &pt, rels_start, NULL, NULL, PRODUCER_XLSX_MAX_PART_BYTES, errstr,
                    errstr_size);
    if (rc != 0) {
        if (rc > 0)
            op_set_err(errstr, errstr_size, "%s: a zip, but not an .xlsx (no %s)", name, rels);
        goto fail;
    }
    struct sheet_ref *pick = NULL;
    for (size_t i = 0; i < pt.nsheets && !pick; i++)
        if (pt.sheets[i].path &&
            (sheet ? strcmp(pt.sheets[i].name, sheet) == 0 : pt.sheets[i].worksheet))
            pick = &pt.sheets[i];
    if (!pick || (sheet && !pick->worksheet)) {
        char list[300] = "";
        size_t ll = 0;
        for (size_t i = 0; i < pt.nsheets && ll + 1 < sizeof list; i++) {
            int w = snprintf(list + ll, sizeof list - ll, "%s%s", i ? ", " : "", pt.sheets[i].name);
            ll += w > 0 ? (size_t)w : 0;
        }
        if (ll >= sizeof list)
            snprintf(list + sizeof list - 5, 5, "...");
        if (sheet && pick)
            op_set_err(errstr, errstr_size, "%s: sheet \"%s\" is a chart, not a worksheet", name,
                       sheet);
        else if (sheet)
            op_set_err(errstr, errstr_size, "%s: no sheet named \"%s\" (the sheets: %s)", name,
                       sheet, pt.nsheets ? list : "none");
        else
            op_set_err(errstr, errstr_size, "%s: no worksheet in the workbook", name);
        goto fail;
    }
    x->sheet = strdup(pick->name);
    x->sheet_path = strdup(pick->path);
    char *shared = pt.shared ? pt.shared : resolve(base, "sharedStrings.xml");
    char *styles = pt.styles ? pt.styles : resolve(base, "styles.xml");
    pt.shared = pt.styles = NULL;
    part_free(&pt);
    if (!x->sheet || !x->sheet_path || !shared || !styles) {
        free(shared);
        free(styles);
        op_set_err(errstr, errstr_size, "%s: out of memory", name);
        goto fail;
    }
    rc = parse_part(x, styles, &pt, styles_start, styles_end, NULL, PRODUCER_XLSX_MAX_PART_BYTES,
                    errstr, errstr_size);
    part_free(&pt);
    if (rc >= 0)
        rc = parse_part(x, shared, &pt, sst_start, sst_end, sst_text, 0, errstr, errstr_size);
    part_free(&pt);
    free(shared);
    free(styles);
    if (rc < 0)
        goto fail;
    /* Merged ranges come after the rows: a first pass over the sheet finds them. */
    rc = parse_part(x, x->sheet_path, &pt, merge_start, NULL, NULL, 0, errstr, errstr_size);
    part_free(&pt);
    if (rc != 0) {
        if (rc > 0)
            op_set_err(errstr, errstr_size, "%s: sheet \"%s\": its part %s is missing", name,
                       x->sheet, x->sheet_path);
        goto fail;
    }
    if (x->nmerge)
        qsort(x->merges, x->nmerge, sizeof *x->merges, cmp_merge);
    if (sheet_begin(x, errstr, errstr_size) != 0)
        goto fail;
    return x;
fail:
    part_free(&pt);
    producer_xlsx_close(x);
    return NULL;
}

void producer_xlsx_close(struct producer_xlsx *x)
{
    if (!x)
        return;
    if (x->xp)
        XML_ParserFree(x->xp);
    if (x->uf) {
        unzCloseCurrentFile(x->uf);
        unzClose(x->uf);
    }
    for (size_t i = 0; i < x->nss; i++)
        free(x->ss[i]);
    free(x->ss);
    free(x->ss_len);
    for (size_t i = 0; i < x->nfill; i++)
        free(x->fills[i].val);
    free(x->fills);
    free(x->hactive);
    free(x->merges);
    free(x->is_date);
    free(x->chunk);
    free(x->ent);
    free(x->cells);
    free(x->lens);
    op_buf_free(&x->text);
    free(x->sheet_path);
    free(x->sheet);
    free(x->name);
    free(x);
}

/* ---- dates and CSV ----------------------------------------------------------------------------
 */

/* Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int producer_xlsx_serial_text(double serial, int date1904, char *out, size_t out_size,
                              const char **why)
{
    if (!isfinite(serial)) {
        *why = "not a number";
        return -1;
    }
    if (serial < 0) {
        *why = "a negative date";
        return -1;
    }
    if (serial >= 2958466) {
        *why = "after 9999-12-31";
        return -1;
    }
    double days; /* since 1970-01-01, fraction = time of day */
    if (date1904)
        days = serial - 24107;
    else if (serial < 1) {
        *why = "a time of day without a date";
        return -1;
    } else if (serial >= 60 && serial < 61) {
        *why = "1900-02-29, a day that does not exist (Excel's 1900 leap-year bug)";
        return -1;
    } else
        days = serial < 60 ? serial - 25568 : serial - 25569;
    int64_t ms = llround(days * 86400000.0);
    int64_t day = ms >= 0 ? ms / 86400000 : -((-ms + 86400000 - 1) / 86400000);
    int64_t rest = ms - day * 86400000;
    int64_t y;
    unsigned mo, d;
    civil_from_days(day, &y, &mo, &d);
    int h = (int)(rest / 3600000), mi = (int)(rest / 60000 % 60), s = (int)(rest / 1000 % 60);
    int frac = (int)(rest % 1000);
    char f[8] = "";
    if (frac)
        snprintf(f, sizeof f, ".%03d", frac);
    snprintf(out, out_size, "%04lld-%02u-%02uT%02d:%02d:%02d%s+08:00", (long long)y, mo, d, h, mi,
             s, f);
    return 0;
}

int producer_xlsx_csv_line(char *const *cells, const size_t *lens, size_t n, struct op_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = cells[i];
        size_t len = lens[i];
        if (i && op_buf_append(out, ",", 1) != 0)
            return -1;
        int quote = len && (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' ||
                            s[len - 1] == '\t' || memchr(s, ',', len) || memchr(s, '"', len) ||
                            memchr(s, '\r', len) || memchr(s, '\n', len));
        if (!quote) {
            if (op_buf_append(out, s, len) != 0)
                return -1;
            continue;
        }
        if (op_buf_append(out, "\"", 1) != 0)
            return -1;
        for (size_t k = 0; k < len; k++)
            if (op_buf_append(out, s + k, 1) != 0 ||
                (s[k] == '"' && op_buf_append(out, "\"", 1) != 0))
                return -1;
        if (op_buf_append(out, "\"", 1) != 0)
            return -1;
    }
    return op_buf_append(out, "\r\n", 2);
}
