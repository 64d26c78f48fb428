/* Excel workbooks for the provincial office: per MONTH and CAMPAIGN window the latest rollup of
 * every region, one sheet per province in hierarchy order, amounts in yuan, SUMIF totals. */
#include "xlsx.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "clock.h"
#include "codec.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "map.h"
#include "transport.h"

/* The figures of a row, in column order after 地区代码, 地区名称, 级别. A source column sums
 * funding_by_source_fen entries: the named key, or (source "*") every key not named above it,
 * so the source columns always add up to 资金(元). */
static const struct col {
    const char *title;
    const char *field;  /* an integer field of the payload, or NULL for a source column */
    const char *source; /* funding_by_source_fen key */
    int money;          /* fen, shown in yuan */
    double width;
} cols[] = {
    {"资金(元)", "funding_fen", NULL, 1, 16},
    {"工会经费(元)", NULL, "UNION_FUNDS", 1, 15},
    {"政府资金(元)", NULL, "GOVERNMENT", 1, 15},
    {"社会捐助(元)", NULL, "SOCIAL_CHARITY", 1, 15},
    {"企业资金(元)", NULL, "ENTERPRISE", 1, 15},
    {"其他来源(元)", NULL, "*", 1, 15},
    {"受助人数", "recipients", NULL, 0, 10},
    {"走访慰问(次)", "visits", NULL, 0, 12},
    {"服务职工(人)", "workers_reached", NULL, 0, 12},
    {"户数", "households", NULL, 0, 10},
    {"工作人员(人)", "staff", NULL, 0, 12},
    {"调研(次)", "surveys", NULL, 0, 10},
    {"调研企业(家)", "enterprises", NULL, 0, 12},
    {"受访人数", "respondents", NULL, 0, 10},
    {"事件数", "event_count", NULL, 0, 10},
};
#define NCOLS (sizeof cols / sizeof cols[0])
#define FIRST_FIG 3 /* column of cols[0] */
#define HEAD_ROW 5  /* the column titles; data from the next row */

struct xrow {
    uint32_t code;
    enum op_region_level level;
    int own; /* a 本级 row of the sheet: what the region's rollup has beyond its children's */
    int64_t revision;
    int64_t v[NCOLS];
};

struct xwin {
    char *kind, *window;
    struct op_map *rows; /* "530102" → struct xrow */
    int dirty;
};

struct reporter_xlsx {
    char *dir;
    const struct op_regions *regions;
    struct op_map *wins; /* "KIND|window" → struct xwin */
    size_t n_rows;
    uint64_t skipped;
    int64_t last_flush_ms; /* monotonic */
};

static void win_free(void *p)
{
    struct xwin *w = p;
    if (!w)
        return;
    op_map_destroy(w->rows, free);
    free(w->kind);
    free(w->window);
    free(w);
}

struct reporter_xlsx *reporter_xlsx_new(const char *dir, const struct op_regions *regions,
                                        char *errstr, size_t errstr_size)
{
    struct reporter_xlsx *x = calloc(1, sizeof *x);
    if (!x || !(x->dir = strdup(dir)) || !(x->wins = op_map_new())) {
        reporter_xlsx_destroy(x);
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    x->regions = regions;
    return x;
}

void reporter_xlsx_destroy(struct reporter_xlsx *x)
{
    if (!x)
        return;
    if (x->wins)
        op_map_destroy(x->wins, win_free);
    free(x->dir);
    free(x);
}

char *reporter_xlsx_dir_of_url(const char *url)
{
    if (strncmp(url, "xlsx://", 7) != 0)
        return NULL;
    const char *p = url + 7;
    if (strncmp(p, "localhost/", 10) == 0)
        p += 9;
    if (p[0] != '/')
        return NULL;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    if (memchr(p, '%', n))
        return NULL;
    return strndup(p, n);
}

size_t reporter_xlsx_windows(const struct reporter_xlsx *x)
{
    return op_map_size(x->wins);
}

size_t reporter_xlsx_rows(const struct reporter_xlsx *x)
{
    return x->n_rows;
}

uint64_t reporter_xlsx_skipped(const struct reporter_xlsx *x)
{
    return x->skipped;
}

/* ---- names ------------------------------------------------------------------------------ */

int reporter_xlsx_file_name(const char *kind, const char *window, char *out, size_t size)
{
    char w[REPORTER_XLSX_WINDOW_MAX + 1];
    size_t n = strlen(window), k = 0;
    int changed = 0;
    if (n > REPORTER_XLSX_WINDOW_MAX) {
        n = REPORTER_XLSX_WINDOW_MAX;
        while (n > 0 && ((unsigned char)window[n] & 0xC0) == 0x80)
            n--; /* window[n] continues a character: cut before it */
        changed = 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)window[i];
        int bad = c < 0x20 || c == 0x7f || c == '/' || c == '\\' || (i == 0 && c == '.');
        w[k++] = bad ? '_' : (char)c;
        changed |= bad;
    }
    w[k] = 0;
    char lk[16];
    size_t kl = 0;
    for (; kind[kl] && kl < sizeof lk - 1; kl++)
        lk[kl] = (kind[kl] >= 'A' && kind[kl] <= 'Z') ? (char)(kind[kl] - 'A' + 'a') : kind[kl];
    lk[kl] = 0;
    int len;
    if (changed)
        len = snprintf(out, size, "%s-%s-%08" PRIx32 ".xlsx", lk, k ? w : "_",
                       (uint32_t)op_codec_crc64(window, strlen(window)));
    else
        len = snprintf(out, size, "%s-%s.xlsx", lk, k ? w : "_");
    return len < 0 || (size_t)len >= size ? -1 : len;
}

void reporter_xlsx_sheet_name(const char *name, char out[125])
{
    size_t o = 0, chars = 0;
    for (size_t i = 0; name[i] && chars < 31; chars++) {
        unsigned char c = (unsigned char)name[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        for (size_t j = 1; j < len; j++)
            if (((unsigned char)name[i + j] & 0xC0) != 0x80)
                len = 1; /* not UTF-8 (the payload's strings are): one byte, replaced */
        if (len == 1) {
            int bad = c < 0x20 || c >= 0x7f || strchr("[]:*?/\\", c) != NULL;
            out[o++] = bad ? '_' : (char)c;
        } else {
            memcpy(out + o, name + i, len);
            o += len;
        }
        i += len;
    }
    out[o] = 0;
    if (o > 0 && out[0] == '\'')
        out[0] = '_';
    if (o > 0 && out[o - 1] == '\'')
        out[o - 1] = '_';
}

/* ---- state ------------------------------------------------------------------------------ */

static int get_int(json_t *o, const char *name, int64_t *out, char *errstr, size_t errstr_size)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_integer(v)) {
        op_set_err(errstr, errstr_size, "rollup: %s is missing or not an integer", name);
        return -1;
    }
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* Fills r->v from the payload. 0 or -1. */
static int row_values(struct xrow *r, json_t *rollup, char *errstr, size_t errstr_size)
{
    json_t *src = json_object_get(rollup, "funding_by_source_fen");
    if (!json_is_object(src)) {
        op_set_err(errstr, errstr_size, "rollup: funding_by_source_fen is missing");
        return -1;
    }
    for (size_t c = 0; c < NCOLS; c++) {
        if (cols[c].field) {
            if (get_int(rollup, cols[c].field, &r->v[c], errstr, errstr_size) != 0)
                return -1;
            continue;
        }
        r->v[c] = 0;
        const char *key;
        json_t *val;
        json_object_foreach(src, key, val)
        {
            int named = 0;
            for (size_t k = 0; k < c; k++)
                named |= cols[k].source && strcmp(cols[k].source, key) == 0;
            if (strcmp(cols[c].source, "*") == 0 ? !named : strcmp(cols[c].source, key) == 0)
                r->v[c] += json_is_integer(val) ? (int64_t)json_integer_value(val) : 0;
        }
    }
    return 0;
}

int reporter_xlsx_add(struct reporter_xlsx *x, json_t *rollup, char *errstr, size_t errstr_size)
{
    const char *kind = json_string_value(json_object_get(rollup, "window_kind"));
    const char *window = json_string_value(json_object_get(rollup, "window"));
    const char *region = json_string_value(json_object_get(rollup, "region"));
    int64_t rev;
    uint32_t code;
    if (!kind || !window || !region) {
        op_set_err(errstr, errstr_size, "rollup: window_kind, window or region is missing");
        return -1;
    }
    if (strcmp(kind, "MONTH") != 0 && strcmp(kind, "CAMPAIGN") != 0)
        return 0;
    if (get_int(rollup, "revision", &rev, errstr, errstr_size) != 0)
        return -1;
    const struct op_region *reg =
        op_regions_parse_code(region, &code) == 0 ? op_regions_find(x->regions, code) : NULL;
    if (!reg) {
        if (x->skipped++ % 10000 == 0)
            op_log(OP_LOG_WARNING,
                   "xlsx %s: rollup of unknown region %s (%s %s): not in a workbook", x->dir,
                   region, kind, window);
        return 0;
    }
    size_t kl = strlen(kind), wl = strlen(window);
    char *wkey = malloc(kl + wl + 2);
    if (!wkey)
        goto oom;
    memcpy(wkey, kind, kl);
    wkey[kl] = '|';
    memcpy(wkey + kl + 1, window, wl + 1);
    struct xwin *w = op_map_get(x->wins, wkey, kl + wl + 1);
    if (!w) {
        if (op_map_size(x->wins) >= REPORTER_XLSX_MAX_WINDOWS) {
            if (x->skipped++ % 10000 == 0)
                op_log(OP_LOG_ERR,
                       "xlsx %s: %d windows held already: %s %s has no workbook (limit "
                       "REPORTER_XLSX_MAX_WINDOWS)",
                       x->dir, REPORTER_XLSX_MAX_WINDOWS, kind, window);
            free(wkey);
            return 0;
        }
        w = calloc(1, sizeof *w);
        if (!w || !(w->kind = strdup(kind)) || !(w->window = strdup(window)) ||
            !(w->rows = op_map_new()) || op_map_put(x->wins, wkey, kl + wl + 1, w, NULL) != 0) {
            win_free(w);
            free(wkey);
            goto oom;
        }
    }
    free(wkey);
    struct xrow *r = op_map_get(w->rows, region, strlen(region));
    if (r && r->revision > rev)
        return 0;
    struct xrow nr = {code, reg->level, 0, rev, {0}};
    if (row_values(&nr, rollup, errstr, errstr_size) != 0)
        return -1;
    if (!r) {
        r = malloc(sizeof *r);
        if (!r || op_map_put(w->rows, region, strlen(region), r, NULL) != 0) {
            free(r);
            goto oom;
        }
        x->n_rows++;
    }
    *r = nr;
    w->dirty = 1;
    return 1;
oom:
    op_set_err(errstr, errstr_size, "out of memory");
    return -1;
}

/* ---- workbooks -------------------------------------------------------------------------- */

struct fmts {
    lxw_format *title, *note, *head, *text, *text_b, *name[3], *money, *money_b, *count, *count_b;
};

static void fmts_make(lxw_workbook *wb, struct fmts *f)
{
    f->title = workbook_add_format(wb);
    format_set_bold(f->title);
    format_set_font_size(f->title, 14);
    f->note = workbook_add_format(wb);
    format_set_font_color(f->note, 0x595959);
    f->head = workbook_add_format(wb);
    format_set_bold(f->head);
    format_set_bg_color(f->head, 0xDDEBF7);
    format_set_border(f->head, LXW_BORDER_THIN);
    format_set_text_wrap(f->head);
    format_set_align(f->head, LXW_ALIGN_CENTER);
    format_set_align(f->head, LXW_ALIGN_VERTICAL_CENTER);
    f->text = workbook_add_format(wb);
    f->text_b = workbook_add_format(wb);
    format_set_bold(f->text_b);
    for (int i = 0; i < 3; i++) {
        f->name[i] = workbook_add_format(wb);
        format_set_indent(f->name[i], (uint8_t)(i * 2));
        if (i == 0)
            format_set_bold(f->name[i]);
    }
    f->money = workbook_add_format(wb);
    format_set_num_format(f->money, "#,##0.00");
    f->money_b = workbook_add_format(wb);
    format_set_num_format(f->money_b, "#,##0.00");
    format_set_bold(f->money_b);
    f->count = workbook_add_format(wb);
    format_set_num_format(f->count, "#,##0");
    f->count_b = workbook_add_format(wb);
    format_set_num_format(f->count_b, "#,##0");
    format_set_bold(f->count_b);
}

static const char *level_zh(enum op_region_level l, int own)
{
    if (own)
        return l == OP_REGION_PROVINCE ? "省本级" : "市本级";
    return l == OP_REGION_PROVINCE ? "省级" : l == OP_REGION_PREFECTURE ? "地级" : "县级";
}

/* The rows of one province's sheet: rows[0..n) (code order) and, right after a province or a
 * prefecture with children, its 本级 row when its rollup exceeds the sum of its children
 * (events filed at the parent itself): then every parent row = its children + its 本级.
 * out has room for 2n rows; returns how many were written. */
static size_t sheet_rows(const struct op_regions *regions, struct xrow *const *rows, size_t n,
                         struct xrow *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct xrow *r = rows[i];
        out[k++] = *r;
        if (r->level == OP_REGION_COUNTY)
            continue;
        struct xrow own = *r;
        int kids = 0, differs = 0;
        own.own = 1;
        for (size_t j = i + 1; j < n; j++) {
            const struct op_region *c = op_regions_find(regions, rows[j]->code);
            if (!c || c->parent != r->code)
                continue;
            kids++;
            for (size_t m = 0; m < NCOLS; m++)
                own.v[m] -= rows[j]->v[m];
        }
        for (size_t m = 0; m < NCOLS; m++)
            differs |= own.v[m] != 0;
        if (differs && (kids > 0 || r->level == OP_REGION_PROVINCE))
            out[k++] = own;
    }
    return k;
}

/* text with control characters as '?': XML 1.0 cannot carry them (UTF-8 is valid here: the
 * payload came through jansson). Returns out. */
static char *display(const char *text, char *out, size_t size)
{
    size_t i = 0;
    for (; text[i] && i + 1 < size; i++)
        out[i] = ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) ? '?' : text[i];
    while (text[i] && i > 0 && ((unsigned char)text[i] & 0xC0) == 0x80)
        i--; /* cut inside a character: before its first byte */
    out[i] = 0;
    return out;
}

static double cell_value(size_t c, int64_t v)
{
    return cols[c].money ? (double)v / 100.0 : (double)v;
}

/* One sheet: the header lines, rows[0..n) (sorted by code), then a 合计 row of SUMIF formulas
 * over the rows of level total_level (cached values computed here, so readers without a
 * calculation engine see them too). */
static lxw_error write_sheet(lxw_worksheet *ws, const struct fmts *f,
                             const struct op_regions *regions, const char *title,
                             const char *window_line, const char *time_line,
                             struct xrow *const *rows, size_t n, enum op_region_level total_level)
{
    lxw_error e;
    worksheet_set_column(ws, 0, 0, 10, NULL);
    worksheet_set_column(ws, 1, 1, 26, NULL);
    worksheet_set_column(ws, 2, 2, 6, NULL);
    for (size_t c = 0; c < NCOLS; c++)
        worksheet_set_column(ws, (lxw_col_t)(FIRST_FIG + c), (lxw_col_t)(FIRST_FIG + c),
                             cols[c].width, NULL);
    worksheet_write_string(ws, 0, 0, title, f->title);
    worksheet_write_string(ws, 1, 0, window_line, f->note);
    worksheet_write_string(ws, 2, 0, time_line, f->note);
    worksheet_write_string(ws, 3, 0,
                           "说明: 数据取自汇总数据 (outreach.rollups, 每个地区的最新修订); "
                           "金额单位: 元; 本级 = 直接记在省、市的数字; "
                           "合计 = 各地级行 + 省本级 (汇总表: 各省之和)",
                           f->note);
    static const char *const fixed[] = {"地区代码", "地区名称", "级别"};
    for (int c = 0; c < 3; c++)
        worksheet_write_string(ws, HEAD_ROW, (lxw_col_t)c, fixed[c], f->head);
    for (size_t c = 0; c < NCOLS; c++)
        worksheet_write_string(ws, HEAD_ROW, (lxw_col_t)(FIRST_FIG + c), cols[c].title, f->head);
    worksheet_set_row(ws, HEAD_ROW, 30, NULL);
    worksheet_freeze_panes(ws, HEAD_ROW + 1, 3);
    int64_t sum[NCOLS] = {0};
    lxw_row_t row = HEAD_ROW + 1;
    for (size_t i = 0; i < n; i++, row++) {
        const struct xrow *r = rows[i];
        const struct op_region *reg = op_regions_find(regions, r->code);
        char code[8];
        int bold = r->level == OP_REGION_PROVINCE && !r->own;
        snprintf(code, sizeof code, "%06" PRIu32, r->code);
        worksheet_write_string(ws, row, 0, code, bold ? f->text_b : f->text);
        char name[128];
        snprintf(name, sizeof name, "%s%s", reg ? reg->name : code, r->own ? "本级" : "");
        worksheet_write_string(ws, row, 1, name, f->name[r->level - (r->own ? 0 : 1)]);
        worksheet_write_string(ws, row, 2, level_zh(r->level, r->own), bold ? f->text_b : f->text);
        for (size_t c = 0; c < NCOLS; c++) {
            lxw_format *fm =
                cols[c].money ? (bold ? f->money_b : f->money) : (bold ? f->count_b : f->count);
            e = worksheet_write_number(ws, row, (lxw_col_t)(FIRST_FIG + c), cell_value(c, r->v[c]),
                                       fm);
            if (e != LXW_NO_ERROR)
                return e;
            if ((r->level == total_level && !r->own) ||
                (total_level == OP_REGION_PREFECTURE && r->own && r->level == OP_REGION_PROVINCE))
                sum[c] += r->v[c];
        }
    }
    worksheet_write_string(ws, row, 0, "合计", f->text_b);
    worksheet_write_string(ws, row, 2, level_zh(total_level, 0), f->text_b);
    for (size_t c = 0; c < NCOLS; c++) {
        lxw_format *fm = cols[c].money ? f->money_b : f->count_b;
        lxw_col_t col = (lxw_col_t)(FIRST_FIG + c);
        if (n == 0) {
            e = worksheet_write_number(ws, row, col, 0, fm);
        } else {
            /* Rows HEAD_ROW+2 .. row (1-based) hold the data; columns A..Z suffice. A province
             * = its prefectures + 省本级. */
            char formula[256], own[128] = "";
            unsigned a = (unsigned)HEAD_ROW + 2, z = (unsigned)row;
            char cl = (char)('A' + col);
            if (total_level == OP_REGION_PREFECTURE)
                snprintf(own, sizeof own, "+SUMIF($C$%u:$C$%u,\"%s\",%c%u:%c%u)", a, z,
                         level_zh(OP_REGION_PROVINCE, 1), cl, a, cl, z);
            snprintf(formula, sizeof formula, "=SUMIF($C$%u:$C$%u,\"%s\",%c%u:%c%u)%s", a, z,
                     level_zh(total_level, 0), cl, a, cl, z, own);
            e = worksheet_write_formula_num(ws, row, col, formula, fm, cell_value(c, sum[c]));
        }
        if (e != LXW_NO_ERROR)
            return e;
    }
    return LXW_NO_ERROR;
}

static int cmp_row(const void *a, const void *b)
{
    const struct xrow *x = *(struct xrow *const *)a, *y = *(struct xrow *const *)b;
    return x->code < y->code ? -1 : x->code > y->code;
}

/* Adds a sheet named after name (or, if Excel refuses that, after code). */
static lxw_worksheet *add_sheet(lxw_workbook *wb, const char *name, uint32_t code)
{
    char sn[125];
    reporter_xlsx_sheet_name(name, sn);
    if (sn[0] && workbook_validate_sheet_name(wb, sn) == LXW_NO_ERROR)
        return workbook_add_worksheet(wb, sn);
    snprintf(sn, sizeof sn, "%06" PRIu32, code);
    return workbook_add_worksheet(wb, sn);
}

/* Writes the workbook of w to path. 0 or -1 with errstr. */
static int write_workbook(const struct reporter_xlsx *x, const struct xwin *w, const char *path,
                          int64_t now_ms, char *errstr, size_t errstr_size)
{
    size_t n = op_map_size(w->rows), k = 0, pos = 0;
    struct xrow **rows = malloc((n ? n : 1) * sizeof *rows), **prov = NULL, **dptr = NULL;
    struct xrow *disp = NULL;
    lxw_workbook *wb = NULL;
    void *val;
    int rc = -1;
    if (!rows) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    while (op_map_next(w->rows, &pos, NULL, NULL, &val) && k < n)
        rows[k++] = val;
    /* Codes nest (530000 < 530100 < 530102 < 530200): code order is hierarchy order. */
    qsort(rows, k, sizeof *rows, cmp_row);

    char window_line[512], time_line[96], title[512], dw[256];
    display(w->window, dw, sizeof dw);
    int campaign = strcmp(w->kind, "CAMPAIGN") == 0;
    snprintf(window_line, sizeof window_line, "统计窗口: %s %s (%s)", campaign ? "活动" : "月份",
             dw, w->kind);
    time_t t = (time_t)(now_ms / 1000) + 8 * 3600;
    struct tm tm;
    char when[32] = "?";
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(time_line, sizeof time_line, "生成时间: %s (北京时间 UTC+8)", when);

    lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = x->dir};
    prov = calloc(n ? n : 1, sizeof *prov);
    dptr = calloc(2 * n + 1, sizeof *dptr);
    disp = calloc(2 * n + 1, sizeof *disp);
    if (!prov || !dptr || !disp) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    wb = workbook_new_opt(path, &opt);
    if (!wb) {
        op_set_err(errstr, errstr_size, "%s: cannot create the workbook", path);
        goto cleanup;
    }
    lxw_doc_properties props = {.title = dw,
                                .subject = "送温暖统计报表",
                                .author = "outreach-reporter",
                                .comments = "figures from the outreach.rollups topic"};
    workbook_set_properties(wb, &props);
    struct fmts f;
    fmts_make(wb, &f);
    lxw_error e = LXW_NO_ERROR;

    /* First sheet: one row per province, then one sheet per province. */
    size_t np = 0;
    for (size_t i = 0; i < k; i++)
        if (rows[i]->level == OP_REGION_PROVINCE)
            prov[np++] = rows[i];
    lxw_worksheet *ws = workbook_add_worksheet(wb, "汇总");
    snprintf(title, sizeof title, "各省汇总 · %s %s", campaign ? "活动" : "月份", dw);
    e = ws ? write_sheet(ws, &f, x->regions, title, window_line, time_line, prov, np,
                         OP_REGION_PROVINCE)
           : LXW_ERROR_MEMORY_MALLOC_FAILED;
    for (size_t i = 0; i < k && e == LXW_NO_ERROR;) {
        uint32_t pc = op_region_province_code(rows[i]->code);
        size_t j = i;
        while (j < k && op_region_province_code(rows[j]->code) == pc)
            j++;
        const struct op_region *pr = op_regions_find(x->regions, pc);
        char code[8];
        snprintf(code, sizeof code, "%06" PRIu32, pc);
        const char *pname = pr ? pr->name : code;
        ws = add_sheet(wb, pname, pc);
        snprintf(title, sizeof title, "%s 送温暖工作统计表 · %s %s", pname,
                 campaign ? "活动" : "月份", dw);
        size_t nd = sheet_rows(x->regions, rows + i, j - i, disp);
        for (size_t m = 0; m < nd; m++)
            dptr[m] = &disp[m];
        e = ws ? write_sheet(ws, &f, x->regions, title, window_line, time_line, dptr, nd,
                             OP_REGION_PREFECTURE)
               : LXW_ERROR_MEMORY_MALLOC_FAILED;
        i = j;
    }
    lxw_error ce = workbook_close(wb); /* writes the file, frees wb */
    if (e == LXW_NO_ERROR)
        e = ce;
    if (e != LXW_NO_ERROR) {
        op_set_err(errstr, errstr_size, "%s: %s", path, lxw_strerror(e));
        unlink(path);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(rows);
    free(prov);
    free(dptr);
    free(disp);
    return rc;
}

/* Writes w's workbook under its name in x->dir, atomically. 0 or -1 with errstr. */
static int write_window(const struct reporter_xlsx *x, const struct xwin *w, int64_t now_ms,
                        char *errstr, size_t errstr_size)
{
    char name[256];
    if (reporter_xlsx_file_name(w->kind, w->window, name, sizeof name) < 0) {
        op_set_err(errstr, errstr_size, "window %s: no file name", w->window);
        return -1;
    }
    size_t n = strlen(x->dir) + strlen(name) + 48;
    char *tmp = malloc(n), *dst = malloc(n);
    int rc = -1, fd = -1;
    if (!tmp || !dst) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    snprintf(tmp, n, "%s/.%s.%ld.tmp", x->dir, name, (long)getpid());
    snprintf(dst, n, "%s/%s", x->dir, name);
    if (write_workbook(x, w, tmp, now_ms, errstr, errstr_size) != 0)
        goto cleanup;
    fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        op_set_err(errstr, errstr_size, "fsync %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, dst) != 0) {
        op_set_err(errstr, errstr_size, "rename to %s: %s", dst, strerror(errno));
        goto cleanup;
    }
    if (reporter_file_fsync_dir(x->dir) != 0) {
        op_set_err(errstr, errstr_size, "fsync %s: %s", x->dir, strerror(errno));
        goto cleanup; /* the new file is complete; rewritten on the retry */
    }
    rc = 0;
cleanup:
    if (fd >= 0)
        close(fd);
    if (rc != 0 && tmp)
        unlink(tmp);
    free(tmp);
    free(dst);
    return rc;
}

int reporter_xlsx_flush(struct reporter_xlsx *x, int64_t now_ms, char *errstr, size_t errstr_size)
{
    size_t pos = 0;
    void *val;
    int rc = 0;
    while (op_map_next(x->wins, &pos, NULL, NULL, &val)) {
        struct xwin *w = val;
        if (!w->dirty)
            continue;
        if (write_window(x, w, now_ms, errstr, errstr_size) != 0) {
            rc = -1;
            continue; /* the others may still be written; errstr has the last failure */
        }
        w->dirty = 0;
        op_log(OP_LOG_DEBUG, "xlsx %s: wrote %s %s (%zu regions)", x->dir, w->kind, w->window,
               op_map_size(w->rows));
    }
    x->last_flush_ms = op_clock_mono_ms();
    return rc;
}

int reporter_xlsx_deliver(struct reporter_xlsx *x, const struct reporter_batch *b, int more_queued,
                          char *errstr, size_t errstr_size)
{
    json_t *rollups = json_object_get(b->doc, "rollups");
    size_t i;
    json_t *r;
    json_array_foreach(rollups, i, r)
    {
        if (reporter_xlsx_add(x, r, errstr, errstr_size) < 0)
            return -1;
    }
    if (more_queued && op_clock_mono_ms() - x->last_flush_ms < REPORTER_XLSX_FLUSH_MS)
        return 0;
    return reporter_xlsx_flush(x, op_clock_wall_ms(), errstr, errstr_size);
}

/* ---- the engine's transport --------------------------------------------------------------- */

static void xlsx_send(void *impl, const struct reporter_send_args *a,
                      struct reporter_send_result *out)
{
    memset(out, 0, sizeof *out);
    out->retry_after_ms = -1;
    if (reporter_xlsx_deliver(impl, a->batch, a->more_queued, out->why, sizeof out->why) != 0) {
        out->verdict = REPORTER_RETRY;
        out->detail = out->why;
        out->detail_len = strlen(out->why);
    }
}

static int xlsx_flush(void *impl, char *errstr, size_t errstr_size)
{
    return reporter_xlsx_flush(impl, op_clock_wall_ms(), errstr, errstr_size);
}

static void xlsx_close(void *impl)
{
    reporter_xlsx_destroy(impl);
}

const struct reporter_transport reporter_xlsx_transport = {.kind = "xlsx",
                                                           .from_beginning = "xlsx workbooks",
                                                           .send = xlsx_send,
                                                           .flush = xlsx_flush,
                                                           .close = xlsx_close};
