/* .xlsx reader: the parts read whole through expat (relationships, workbook, styles, shared
 * strings, and the first pass over the sheet for its merged ranges). */
#include "xlsx_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- XML parts read whole ------------------------------------------------------------------ */

/* Joins a relationship target to the folder of the part that names it ("xl/"); "/x" is from the
 * root; "../" steps up. */
char *producer_xlsx_resolve(const char *base, const char *target)
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

void XMLCALL producer_xlsx_rels_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct part *pt = ud;
    if (strcmp(producer_xlsx_local(name), "Relationship") != 0)
        return;
    const char *id = producer_xlsx_attr(atts, "Id"), *type = producer_xlsx_attr(atts, "Type"),
               *target = producer_xlsx_attr(atts, "Target");
    const char *mode = producer_xlsx_attr(atts, "TargetMode");
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
        *slot = producer_xlsx_resolve(pt->base, target);
        if (!*slot)
            producer_xlsx_part_fail(pt, "out of memory");
        return;
    }
    for (size_t i = 0; i < pt->nsheets; i++)
        if (!pt->sheets[i].path && strcmp(pt->sheets[i].rid, id) == 0) {
            pt->sheets[i].worksheet = ends_with(type, "/worksheet");
            pt->sheets[i].path = producer_xlsx_resolve(pt->base, target);
            if (!pt->sheets[i].path)
                producer_xlsx_part_fail(pt, "out of memory");
        }
}

void XMLCALL producer_xlsx_workbook_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct part *pt = ud;
    const char *l = producer_xlsx_local(name);
    if (strcmp(l, "workbookPr") == 0) {
        const char *v = producer_xlsx_attr(atts, "date1904");
        pt->x->date1904 = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
    } else if (strcmp(l, "sheet") == 0) {
        const char *n = producer_xlsx_attr(atts, "name"), *rid = producer_xlsx_attr(atts, "id");
        if (!n || !rid)
            return;
        if (pt->nsheets == MAX_SHEETS) {
            producer_xlsx_part_fail(pt, "too many sheets");
            return;
        }
        struct sheet_ref *ns = realloc(pt->sheets, (pt->nsheets + 1) * sizeof *ns);
        if (!ns) {
            producer_xlsx_part_fail(pt, "out of memory");
            return;
        }
        pt->sheets = ns;
        struct sheet_ref *s = &pt->sheets[pt->nsheets];
        memset(s, 0, sizeof *s);
        s->name = strdup(n);
        s->rid = strdup(rid);
        pt->nsheets++;
        if (!s->name || !s->rid)
            producer_xlsx_part_fail(pt, "out of memory");
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

void XMLCALL producer_xlsx_styles_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct part *pt = ud;
    const char *l = producer_xlsx_local(name);
    if (strcmp(l, "numFmts") == 0)
        pt->in_numfmts = 1;
    else if (strcmp(l, "cellXfs") == 0)
        pt->in_cellxfs = 1;
    else if (pt->in_numfmts && strcmp(l, "numFmt") == 0) {
        const char *id = producer_xlsx_attr(atts, "numFmtId"),
                   *code = producer_xlsx_attr(atts, "formatCode");
        if (!id || !code || pt->nfmts == MAX_XFS)
            return;
        if (pt->nfmts == pt->fmtcap) {
            size_t cap = pt->fmtcap ? pt->fmtcap * 2 : 16;
            void *n = realloc(pt->fmts, cap * sizeof *pt->fmts);
            if (!n) {
                producer_xlsx_part_fail(pt, "out of memory");
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
            producer_xlsx_part_fail(pt, "out of memory");
            return;
        }
        x->is_date = n;
        const char *id = producer_xlsx_attr(atts, "numFmtId");
        long f = id ? strtol(id, NULL, 10) : 0;
        int date = builtin_is_date(f);
        for (size_t i = 0; i < pt->nfmts; i++)
            if (pt->fmts[i].id == f)
                date = pt->fmts[i].date;
        x->is_date[x->nxf++] = (unsigned char)date;
    }
}

void XMLCALL producer_xlsx_styles_end(void *ud, const XML_Char *name)
{
    struct part *pt = ud;
    const char *l = producer_xlsx_local(name);
    if (strcmp(l, "numFmts") == 0)
        pt->in_numfmts = 0;
    else if (strcmp(l, "cellXfs") == 0)
        pt->in_cellxfs = 0;
}

/* Shared strings: the text of <t> inside <si>, rich-text runs joined, phonetic runs (<rPh>)
 * left out. */
void XMLCALL producer_xlsx_sst_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    (void)atts;
    struct part *pt = ud;
    const char *l = producer_xlsx_local(name);
    if (strcmp(l, "si") == 0) {
        pt->in_si = 1;
        pt->si.len = 0;
    } else if (strcmp(l, "rPh") == 0)
        pt->in_rph = 1;
    else if (pt->in_si && !pt->in_rph && strcmp(l, "t") == 0)
        pt->in_t = 1;
}

void XMLCALL producer_xlsx_sst_end(void *ud, const XML_Char *name)
{
    struct part *pt = ud;
    struct producer_xlsx *x = pt->x;
    const char *l = producer_xlsx_local(name);
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
            producer_xlsx_part_fail(pt, m);
            return;
        }
        if (x->nss == x->ss_cap) {
            size_t cap = x->ss_cap ? x->ss_cap * 2 : 256;
            char **ns = realloc(x->ss, cap * sizeof *ns);
            if (!ns) {
                producer_xlsx_part_fail(pt, "out of memory");
                return;
            }
            x->ss = ns;
            size_t *nl = realloc(x->ss_len, cap * sizeof *nl);
            if (!nl) {
                producer_xlsx_part_fail(pt, "out of memory");
                return;
            }
            x->ss_len = nl;
            x->ss_cap = cap;
        }
        char *s = producer_xlsx_dupn(pt->si.len ? (const char *)pt->si.data : "", pt->si.len);
        if (!s) {
            producer_xlsx_part_fail(pt, "out of memory");
            return;
        }
        x->ss[x->nss] = s;
        x->ss_len[x->nss] = pt->si.len;
        x->nss++;
    }
}

void XMLCALL producer_xlsx_sst_text(void *ud, const XML_Char *s, int len)
{
    struct part *pt = ud;
    if (pt->in_si && pt->in_t && !pt->in_rph && op_buf_append(&pt->si, s, (size_t)len) != 0)
        producer_xlsx_part_fail(pt, "out of memory");
}

/* Merged ranges: <mergeCell ref="A1:F1"/> after the sheet's data, so a first pass collects
 * them. */
void XMLCALL producer_xlsx_merge_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct part *pt = ud;
    struct producer_xlsx *x = pt->x;
    if (strcmp(producer_xlsx_local(name), "mergeCell") != 0)
        return;
    const char *ref = producer_xlsx_attr(atts, "ref");
    const char *colon = ref ? strchr(ref, ':') : NULL;
    if (!colon || colon - ref > 15)
        return;
    char a[16];
    memcpy(a, ref, (size_t)(colon - ref));
    a[colon - ref] = 0;
    struct merge m;
    m.c1 = producer_xlsx_ref_col(a, &m.r1);
    m.c2 = producer_xlsx_ref_col(colon + 1, &m.r2);
    if (m.c1 < 0 || m.c2 < 0 || m.r1 <= 0 || m.r2 < m.r1 || m.c2 < m.c1)
        return;
    if (x->nmerge == PRODUCER_XLSX_MAX_MERGES) {
        producer_xlsx_part_fail(
            pt, "more than " PRODUCER_XLSX_STR(PRODUCER_XLSX_MAX_MERGES) " merged ranges");
        return;
    }
    if (x->nmerge % 256 == 0) {
        struct merge *n = realloc(x->merges, (x->nmerge + 256) * sizeof *n);
        if (!n) {
            producer_xlsx_part_fail(pt, "out of memory");
            return;
        }
        x->merges = n;
    }
    x->merges[x->nmerge++] = m;
}
