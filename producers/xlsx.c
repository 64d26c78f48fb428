/* .xlsx reader: the zip through minizip (positional reads on the caller's fd), every XML part
 * through expat; the worksheet is streamed and the parser suspended at each </row>. */
#include "xlsx_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calendar.h"
#include "err.h"

/* ---- zip over a file descriptor ------------------------------------------------------------ */

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

/* ---- helpers of the parts and the sheet ------------------------------------------------ */

/* Expat names with namespaces come as "URI|local": parts use prefixes freely. */
const char *producer_xlsx_local(const char *name)
{
    const char *bar = strrchr(name, '|');
    return bar ? bar + 1 : name;
}

const char *producer_xlsx_attr(const char **atts, const char *name)
{
    for (size_t i = 0; atts[i]; i += 2)
        if (strcmp(producer_xlsx_local(atts[i]), name) == 0)
            return atts[i + 1];
    return NULL;
}

char *producer_xlsx_dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* "AB12" -> column 27 (0-based); -1 when it is not a cell reference. */
long producer_xlsx_ref_col(const char *r, long *row)
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

void producer_xlsx_col_name(long col, char *out, size_t size)
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

void producer_xlsx_part_fail(struct part *pt, const char *msg)
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
    producer_xlsx_part_fail(pt, "a document type declaration (not written by spreadsheets)");
}

const char *producer_xlsx_unz_reason(int e)
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
        op_set_err(errstr, errstr_size, "%s: %s: %s", x->name, path,
                   producer_xlsx_unz_reason(zerr));
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
            op_set_err(errstr, errstr_size, "%s: %s: %s", x->name, path,
                       producer_xlsx_unz_reason(n));
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
        op_set_err(errstr, errstr_size, "%s: %s: %s", x->name, path,
                   producer_xlsx_unz_reason(zerr));
        rc = -1;
    }
    if (p)
        XML_ParserFree(p);
    free(buf);
    return rc;
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
    int rc = parse_part(x, "_rels/.rels", &pt, producer_xlsx_rels_start, NULL, NULL,
                        PRODUCER_XLSX_MAX_PART_BYTES, errstr, errstr_size);
    if (rc < 0)
        goto fail;
    char *wb = pt.office ? pt.office : strdup("xl/workbook.xml");
    pt.office = NULL;
    part_free(&pt);
    if (!wb) {
        op_set_err(errstr, errstr_size, "%s: out of memory", name);
        goto fail;
    }
    rc = parse_part(x, wb, &pt, producer_xlsx_workbook_start, NULL, NULL,
                    PRODUCER_XLSX_MAX_PART_BYTES, errstr, errstr_size);
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
    rc = parse_part(x, rels, &pt, producer_xlsx_rels_start, NULL, NULL,
                    PRODUCER_XLSX_MAX_PART_BYTES, errstr, errstr_size);
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
    char *shared = pt.shared ? pt.shared : producer_xlsx_resolve(base, "sharedStrings.xml");
    char *styles = pt.styles ? pt.styles : producer_xlsx_resolve(base, "styles.xml");
    pt.shared = pt.styles = NULL;
    part_free(&pt);
    if (!x->sheet || !x->sheet_path || !shared || !styles) {
        free(shared);
        free(styles);
        op_set_err(errstr, errstr_size, "%s: out of memory", name);
        goto fail;
    }
    rc = parse_part(x, styles, &pt, producer_xlsx_styles_start, producer_xlsx_styles_end, NULL,
                    PRODUCER_XLSX_MAX_PART_BYTES, errstr, errstr_size);
    part_free(&pt);
    if (rc >= 0)
        rc = parse_part(x, shared, &pt, producer_xlsx_sst_start, producer_xlsx_sst_end,
                        producer_xlsx_sst_text, 0, errstr, errstr_size);
    part_free(&pt);
    free(shared);
    free(styles);
    if (rc < 0)
        goto fail;
    /* Merged ranges come after the rows: a first pass over the sheet finds them. */
    rc = parse_part(x, x->sheet_path, &pt, producer_xlsx_merge_start, NULL, NULL, 0, errstr,
                    errstr_size);
    part_free(&pt);
    if (rc != 0) {
        if (rc > 0)
            op_set_err(errstr, errstr_size, "%s: sheet \"%s\": its part %s is missing", name,
                       x->sheet, x->sheet_path);
        goto fail;
    }
    if (x->nmerge)
        qsort(x->merges, x->nmerge, sizeof *x->merges, cmp_merge);
    if (producer_xlsx_sheet_begin(x, errstr, errstr_size) != 0)
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
    int mo, d;
    op_civil_from_days(day, &y, &mo, &d);
    int h = (int)(rest / 3600000), mi = (int)(rest / 60000 % 60), s = (int)(rest / 1000 % 60);
    int frac = (int)(rest % 1000);
    char f[8] = "";
    if (frac)
        snprintf(f, sizeof f, ".%03d", frac);
    snprintf(out, out_size, "%04lld-%02d-%02dT%02d:%02d:%02d%s+08:00", (long long)y, mo, d, h, mi,
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
