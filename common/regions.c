/* Region table: parses and validates the GB/T 2260 CSV into a code-sorted array, so lookups
 * bisect and every parent chain is known to end at a province. */
#include "regions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"

#define HEADER "code,name,level,parent"
#define EMBEDDED_NAME "regions.csv"
#define EMBEDDED_ORIGIN "embedded:regions.csv"
/* The real table is ~110 KB; anything near this is not a region table. */
#define FILE_MAX (64u * 1024 * 1024)

struct op_regions {
    struct op_region *v; /* sorted by code */
    size_t n;
    char *names; /* every name, NUL-terminated, back to back */
};

/* A parsed line, kept with its line number until validation is done. */
struct row {
    uint32_t code, parent;
    enum op_region_level level;
    size_t name_off;
    unsigned long line;
};

struct parser {
    const char *origin;
    struct row *rows;
    size_t n, cap;
    char *names;
    size_t names_len, names_cap;
    char *errstr;
    size_t errstr_size;
};

static int parse_code_n(const char *s, size_t len, uint32_t *code)
{
    uint32_t v = 0;

    if (len != 6)
        return -1;
    for (size_t i = 0; i < 6; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    *code = v;
    return 0;
}

int op_regions_parse_code(const char *s, uint32_t *code)
{
    if (!s || !code || strlen(s) != 6)
        return -1;
    return parse_code_n(s, 6, code);
}

uint32_t op_region_province_code(uint32_t code)
{
    return code / 10000 * 10000;
}

const char *op_region_level_name(enum op_region_level level)
{
    switch (level) {
    case OP_REGION_PROVINCE:
        return "province";
    case OP_REGION_PREFECTURE:
        return "prefecture";
    case OP_REGION_COUNTY:
        return "county";
    }
    return "?";
}

int op_region_prefix_valid(const char *prefix)
{
    size_t n;

    if (!prefix)
        return 0;
    n = strlen(prefix);
    if (n != 2 && n != 4 && n != 6)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (prefix[i] < '0' || prefix[i] > '9')
            return 0;
    return 1;
}

int op_region_matches_prefix(uint32_t code, const char *prefix)
{
    uint32_t want = 0, divisor = 1;
    size_t n;

    if (!op_region_prefix_valid(prefix) || code > 999999)
        return 0;
    n = strlen(prefix);
    for (size_t i = 0; i < n; i++)
        want = want * 10 + (uint32_t)(prefix[i] - '0');
    for (size_t i = n; i < 6; i++)
        divisor *= 10;
    return code / divisor == want;
}

/* Whether the code has the shape GB/T 2260 gives its level: NN0000, NNMM00, NNMMCC. */
static int code_fits_level(uint32_t code, enum op_region_level level)
{
    switch (level) {
    case OP_REGION_PROVINCE:
        return code % 10000 == 0 && code / 10000 != 0;
    case OP_REGION_PREFECTURE:
        return code % 100 == 0 && code / 100 % 100 != 0;
    case OP_REGION_COUNTY:
        return code % 100 != 0 && code / 100 % 100 != 0;
    }
    return 0;
}

static int parse_level(const char *s, size_t len, enum op_region_level *level)
{
    static const struct {
        const char *name;
        enum op_region_level level;
    } levels[] = {{"province", OP_REGION_PROVINCE},
                  {"prefecture", OP_REGION_PREFECTURE},
                  {"county", OP_REGION_COUNTY}};

    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strlen(levels[i].name) == len && memcmp(levels[i].name, s, len) == 0) {
            *level = levels[i].level;
            return 0;
        }
    }
    return -1;
}

static int add_name(struct parser *p, const char *s, size_t len, size_t *off)
{
    if (p->names_cap - p->names_len < len + 1) {
        size_t cap = p->names_cap ? p->names_cap : 4096;
        while (cap - p->names_len < len + 1)
            cap *= 2;
        char *names = realloc(p->names, cap);
        if (!names)
            return -1;
        p->names = names;
        p->names_cap = cap;
    }
    memcpy(p->names + p->names_len, s, len);
    p->names[p->names_len + len] = '\0';
    *off = p->names_len;
    p->names_len += len + 1;
    return 0;
}

static int add_row(struct parser *p, const struct row *r)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        struct row *rows = realloc(p->rows, cap * sizeof(*rows));
        if (!rows)
            return -1;
        p->rows = rows;
        p->cap = cap;
    }
    p->rows[p->n++] = *r;
    return 0;
}

/* Field lengths are passed to "%.*s" as int; lines are bounded by FILE_MAX. */
static int parse_row(struct parser *p, const char *line, size_t len, unsigned long lineno)
{
    const char *f[4];
    size_t flen[4], nf = 0;
    const char *s = line, *end = line + len;
    struct row r = {.line = lineno};

    for (;;) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        if (nf < 4) {
            f[nf] = s;
            flen[nf] = (size_t)(stop - s);
        }
        nf++;
        if (!comma)
            break;
        s = comma + 1;
    }
    if (nf != 4) {
        snprintf(p->errstr, p->errstr_size, "%s:%lu: expected 4 fields (" HEADER "), got %zu",
                 p->origin, lineno, nf);
        return -1;
    }
    if (parse_code_n(f[0], flen[0], &r.code) != 0) {
        snprintf(p->errstr, p->errstr_size, "%s:%lu: bad code \"%.*s\"", p->origin, lineno,
                 (int)flen[0], f[0]);
        return -1;
    }
    if (flen[1] == 0) {
        snprintf(p->errstr, p->errstr_size, "%s:%lu: empty name for %06u", p->origin, lineno,
                 (unsigned)r.code);
        return -1;
    }
    if (parse_level(f[2], flen[2], &r.level) != 0) {
        snprintf(p->errstr, p->errstr_size, "%s:%lu: unknown level \"%.*s\"", p->origin, lineno,
                 (int)flen[2], f[2]);
        return -1;
    }
    if (!code_fits_level(r.code, r.level)) {
        static const char *const shapes[] = {"", "NN0000", "NNMM00 with MM not 00",
                                             "NNMMCC with MM and CC not 00"};
        snprintf(p->errstr, p->errstr_size, "%s:%lu: code %06u is not a %s code (%s)", p->origin,
                 lineno, (unsigned)r.code, op_region_level_name(r.level), shapes[r.level]);
        return -1;
    }
    if (r.level == OP_REGION_PROVINCE) {
        if (flen[3] != 0) {
            snprintf(p->errstr, p->errstr_size, "%s:%lu: province %06u must have no parent",
                     p->origin, lineno, (unsigned)r.code);
            return -1;
        }
    } else if (parse_code_n(f[3], flen[3], &r.parent) != 0) {
        snprintf(p->errstr, p->errstr_size, "%s:%lu: bad parent code \"%.*s\"", p->origin, lineno,
                 (int)flen[3], f[3]);
        return -1;
    }
    if (add_name(p, f[1], flen[1], &r.name_off) != 0 || add_row(p, &r) != 0) {
        snprintf(p->errstr, p->errstr_size, "%s: out of memory", p->origin);
        return -1;
    }
    return 0;
}

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;

    if (x->code != y->code)
        return x->code < y->code ? -1 : 1;
    return x->line < y->line ? -1 : (x->line > y->line);
}

static const struct row *find_row(const struct parser *p, uint32_t code)
{
    size_t lo = 0, hi = p->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->rows[mid].code == code)
            return &p->rows[mid];
        if (p->rows[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Runs after sorting, so errors are looked for everywhere and the earliest line is
 * reported, as if the file had been read top to bottom. */
static int check_relations(struct parser *p)
{
    const struct row *bad = NULL, *dup_first = NULL;
    size_t run = 0; /* first row of the current run of equal codes: the first occurrence */

    for (size_t i = 1; i < p->n; i++) {
        if (p->rows[i].code != p->rows[run].code) {
            run = i;
            continue;
        }
        if (!bad || p->rows[i].line < bad->line) {
            bad = &p->rows[i];
            dup_first = &p->rows[run];
        }
    }
    if (bad) {
        snprintf(p->errstr, p->errstr_size, "%s:%lu: duplicate code %06u (first on line %lu)",
                 p->origin, bad->line, (unsigned)bad->code, dup_first->line);
        return -1;
    }

    for (size_t i = 0; i < p->n; i++) {
        const struct row *r = &p->rows[i], *parent;
        if (r->level == OP_REGION_PROVINCE || (bad && bad->line < r->line))
            continue;
        parent = find_row(p, r->parent);
        if (!parent || parent->level != r->level - 1 ||
            (r->level == OP_REGION_PREFECTURE ? r->code / 10000 != parent->code / 10000
                                              : r->code / 100 != parent->code / 100))
            bad = r;
    }
    if (!bad)
        return 0;
    const struct row *parent = find_row(p, bad->parent);
    unsigned code = bad->code, pcode = bad->parent;
    if (!parent)
        snprintf(p->errstr, p->errstr_size, "%s:%lu: parent %06u of %06u not found", p->origin,
                 bad->line, pcode, code);
    else if (parent->level != bad->level - 1)
        snprintf(p->errstr, p->errstr_size, "%s:%lu: parent %06u of %06u is a %s, expected a %s",
                 p->origin, bad->line, pcode, code, op_region_level_name(parent->level),
                 op_region_level_name(bad->level - 1));
    else
        snprintf(p->errstr, p->errstr_size, "%s:%lu: code %06u is not within its parent %06u",
                 p->origin, bad->line, code, pcode);
    return -1;
}

struct op_regions *op_regions_new_from_buffer(const char *csv, size_t len, const char *origin,
                                              char *errstr, size_t errstr_size)
{
    struct parser p = {
        .origin = origin ? origin : "regions", .errstr = errstr, .errstr_size = errstr_size};
    struct op_regions *regs = NULL;
    const char *s, *end;
    unsigned long lineno = 0, header_line = 0;

    if (!csv) {
        csv = "";
        len = 0;
    }
    s = csv;
    end = csv + len;
    /* Spreadsheet exports often start with a UTF-8 byte order mark. */
    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        s += 3;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *stop = nl ? nl : end;
        size_t n = (size_t)(stop - s);
        const char *line = s;

        s = nl ? nl + 1 : end;
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0)
            continue;
        if (memchr(line, '\0', n)) {
            snprintf(errstr, errstr_size, "%s:%lu: NUL byte in line", p.origin, lineno);
            goto cleanup;
        }
        if (!header_line) {
            if (n != strlen(HEADER) || memcmp(line, HEADER, n) != 0) {
                snprintf(errstr, errstr_size, "%s:%lu: expected header \"" HEADER "\"", p.origin,
                         lineno);
                goto cleanup;
            }
            header_line = lineno;
            continue;
        }
        if (parse_row(&p, line, n, lineno) != 0)
            goto cleanup;
    }
    if (!header_line) {
        snprintf(errstr, errstr_size, "%s:%lu: expected header \"" HEADER "\"", p.origin,
                 lineno ? lineno : 1);
        goto cleanup;
    }
    if (p.n == 0) {
        snprintf(errstr, errstr_size, "%s:%lu: no regions after the header", p.origin, header_line);
        goto cleanup;
    }
    qsort(p.rows, p.n, sizeof(p.rows[0]), row_cmp);
    if (check_relations(&p) != 0)
        goto cleanup;

    regs = calloc(1, sizeof(*regs));
    if (!regs || !(regs->v = malloc(p.n * sizeof(regs->v[0])))) {
        snprintf(errstr, errstr_size, "%s: out of memory", p.origin);
        op_regions_destroy(regs);
        regs = NULL;
        goto cleanup;
    }
    regs->names = p.names;
    p.names = NULL;
    regs->n = p.n;
    for (size_t i = 0; i < p.n; i++)
        regs->v[i] = (struct op_region){.code = p.rows[i].code,
                                        .name = regs->names + p.rows[i].name_off,
                                        .level = p.rows[i].level,
                                        .parent = p.rows[i].parent};
cleanup:
    free(p.rows);
    free(p.names);
    return regs;
}

struct op_regions *op_regions_new_from_file(const char *path, char *errstr, size_t errstr_size)
{
    struct op_regions *regs = NULL;
    char *buf = NULL, reason[128];

    if (!path)
        return op_regions_new_default(errstr, errstr_size);
    size_t len = 0, cap = 0;
    FILE *f = fopen(path, "rb");

    if (!f)
        goto io_error;
    for (;;) {
        if (cap - len < 65536) {
            if (cap >= FILE_MAX) {
                snprintf(errstr, errstr_size, "%s: larger than %u bytes", path, FILE_MAX);
                goto cleanup;
            }
            cap = cap ? cap * 2 : 131072;
            char *b = realloc(buf, cap);
            if (!b) {
                snprintf(errstr, errstr_size, "%s: out of memory", path);
                goto cleanup;
            }
            buf = b;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f))
        goto io_error;
    regs = op_regions_new_from_buffer(buf, len, path, errstr, errstr_size);
    goto cleanup;
io_error:
    if (strerror_r(errno, reason, sizeof(reason)) != 0)
        snprintf(reason, sizeof(reason), "error %d", errno);
    snprintf(errstr, errstr_size, "%s: %s", path, reason);
cleanup:
    free(buf);
    if (f)
        fclose(f);
    return regs;
}

struct op_regions *op_regions_new_default(char *errstr, size_t errstr_size)
{
    const struct op_embed_file *f = op_embed_find(EMBEDDED_NAME);

    if (!f) {
        snprintf(errstr, errstr_size, "%s: not compiled into this build", EMBEDDED_ORIGIN);
        return NULL;
    }
    return op_regions_new_from_buffer((const char *)f->data, f->size, EMBEDDED_ORIGIN, errstr,
                                      errstr_size);
}

void op_regions_destroy(struct op_regions *regs)
{
    if (!regs)
        return;
    free(regs->v);
    free(regs->names);
    free(regs);
}

const struct op_region *op_regions_find(const struct op_regions *regs, uint32_t code)
{
    size_t lo = 0, hi;

    if (!regs)
        return NULL;
    hi = regs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (regs->v[mid].code == code)
            return &regs->v[mid];
        if (regs->v[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t op_regions_chain(const struct op_regions *regs, uint32_t code,
                        const struct op_region *out[3])
{
    const struct op_region *r = op_regions_find(regs, code);
    size_t n = 0;

    /* Validation guarantees each parent exists and is one level up, so this ends at a
     * province within three steps. */
    while (r && n < 3) {
        out[n++] = r;
        r = r->level == OP_REGION_PROVINCE ? NULL : op_regions_find(regs, r->parent);
    }
    return n;
}

size_t op_regions_count(const struct op_regions *regs)
{
    return regs ? regs->n : 0;
}

const struct op_region *op_regions_at(const struct op_regions *regs, size_t i)
{
    return regs && i < regs->n ? &regs->v[i] : NULL;
}
