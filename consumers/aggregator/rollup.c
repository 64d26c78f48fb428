/* A rollup's content: its dimension maps, the store's compact form, and its Avro record (to
 * and from avro-c values, and the direct writer of the framed record). */
#include "err.h"
#include "frame.h"
#include "state.h"
#include "state_internal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t agg_rollup_dim(const struct agg_rollup *r, int dim, int sym)
{
    uint8_t tag = (uint8_t)(dim << 5 | sym);
    for (uint16_t i = 0; i < r->n_dims; i++)
        if (r->dims[i].tag == tag)
            return r->dims[i].v;
    return 0;
}

int agg_dim_add(struct agg_rollup *r, int dim, int sym, int64_t v)
{
    uint8_t tag = (uint8_t)(dim << 5 | sym);
    for (uint16_t i = 0; i < r->n_dims; i++)
        if (r->dims[i].tag == tag) {
            r->dims[i].v += v;
            if (r->dims[i].v == 0) /* a correction took it back: keep the list sparse */
                r->dims[i] = r->dims[--r->n_dims];
            return 0;
        }
    if (v == 0)
        return 0;
    if (r->n_dims == r->cap_dims) {
        uint16_t cap = r->cap_dims ? (uint16_t)(r->cap_dims * 2) : 4;
        if (cap > AGG_DIMS * AGG_DIM)
            cap = AGG_DIMS * AGG_DIM;
        struct agg_dimval *d = realloc(r->dims, cap * sizeof *d);
        if (!d)
            return -1;
        r->dims = d;
        r->cap_dims = cap;
    }
    r->dims[r->n_dims].tag = tag;
    r->dims[r->n_dims++].v = v;
    return 0;
}

void agg_rollup_clear(struct agg_rollup *r)
{
    free(r->dims);
    uint64_t id = r->id;
    memset(r, 0, sizeof *r);
    r->id = id;
}

void agg_rollup_free(void *p)
{
    struct agg_rollup *r = p;
    if (!r)
        return;
    free(r->dims);
    free(r);
}

/* Scalars in the order of the compact form. */
#define AGG_SCALARS 19
static int64_t *scalars(struct agg_rollup *r, int64_t *out[AGG_SCALARS])
{
    int64_t *list[AGG_SCALARS] = {
        &r->revision,        &r->event_count,     &r->first_at,        &r->last_at,
        &r->visits,          &r->workers_reached, &r->households,      &r->staff,
        &r->funding_fen,     &r->recipients,      &r->surveys,         &r->enterprises,
        &r->respondents,     &r->satisfaction[0], &r->satisfaction[1], &r->satisfaction[2],
        &r->satisfaction[3], &r->satisfaction[4], &r->corrections};
    memcpy(out, list, sizeof list);
    return out[0];
}

/* First byte of the compact form. Format 1 (stores written before corrections) lacks the
 * last scalar, corrections, which then reads as 0. */
#define AGG_FORMAT 2

int agg_rollup_encode(const struct agg_rollup *r, struct op_buf *out)
{
    int64_t *s[AGG_SCALARS];
    scalars((struct agg_rollup *)r, s);
    unsigned char head[2] = {AGG_FORMAT, (unsigned char)0};
    if (op_buf_append(out, head, 1) != 0)
        return -1;
    for (int i = 0; i < AGG_SCALARS; i++)
        if (op_buf_put_varint(out, *s[i]) != 0)
            return -1;
    if (op_buf_put_varint(out, r->n_dims) != 0)
        return -1;
    for (uint16_t i = 0; i < r->n_dims; i++) {
        head[0] = r->dims[i].tag;
        if (op_buf_append(out, head, 1) != 0 || op_buf_put_varint(out, r->dims[i].v) != 0)
            return -1;
    }
    return 0;
}

int agg_rollup_decode(struct agg_rollup *r, const void *data, size_t len)
{
    const unsigned char *p = data, *end = p + len;
    agg_rollup_clear(r);
    int64_t *s[AGG_SCALARS], n;
    scalars(r, s);
    if (len < 1 || (*p != AGG_FORMAT && *p != 1))
        return -1;
    int n_scalars = *p++ == 1 ? AGG_SCALARS - 1 : AGG_SCALARS;
    for (int i = 0; i < n_scalars; i++)
        if (op_varint_get(&p, end, s[i]) != 0)
            return -1;
    if (op_varint_get(&p, end, &n) != 0 || n < 0 || n > AGG_DIMS * AGG_DIM)
        return -1;
    if (n > 0 && !(r->dims = malloc((size_t)n * sizeof *r->dims)))
        return -1;
    r->cap_dims = (uint16_t)n;
    for (int64_t i = 0; i < n; i++) {
        if (p >= end)
            goto bad;
        uint8_t tag = *p++;
        if ((tag >> 5) >= AGG_DIMS || op_varint_get(&p, end, &r->dims[i].v) != 0)
            goto bad;
        r->dims[i].tag = tag;
        r->n_dims++;
    }
    if (p != end)
        goto bad;
    return 0;
bad:
    agg_rollup_clear(r);
    return -1;
}

/* ---- rollup records --------------------------------------------------------------------- */

static int set_long(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_set_long(&f, v);
}

static int set_map(avro_value_t *rec, const char *name, const struct agg_rollup *r, int dim,
                   const char *const *syms, int n)
{
    avro_value_t f, e;
    if (avro_value_get_by_name(rec, name, &f, NULL))
        return -1;
    avro_value_reset(&f);
    for (int i = 0; i < n; i++) { /* zero entries are left out: a sparse, stable map */
        int64_t v = agg_rollup_dim(r, dim, i);
        if (v && (avro_value_add(&f, syms[i], &e, NULL, NULL) || avro_value_set_long(&e, v)))
            return -1;
    }
    return 0;
}

static const char *const map_fields[AGG_DIMS] = {"visits_by_activity", "workers_by_group",
                                                 "funding_by_source_fen", "funding_by_purpose_fen",
                                                 "needs"};
static const char *const s_names[5] = {"s1", "s2", "s3", "s4", "s5"};
static const char *const scalar_names[] = {
    "revision",        "event_count", "first_event_at", "last_event_at", "visits",
    "workers_reached", "households",  "staff",          "funding_fen",   "recipients",
    "surveys",         "enterprises", "respondents"};

/* The region and window name of r (window into wbuf when it is computed). 0 or -1. */
static int names_of(const struct agg_model *m, const struct agg_rollup *r, char wbuf[11],
                    const struct op_region **reg, const char **window, char *errstr,
                    size_t errstr_size)
{
    int kind = agg_rollup_kind(r);
    *reg = op_regions_find(m->regions, agg_rollup_region(r));
    *window = kind < AGG_KINDS ? agg_window_name(m, kind, agg_rollup_window(r), wbuf) : NULL;
    if (!*reg || !*window) {
        op_set_err(errstr, errstr_size, "rollup %016" PRIx64 ": unknown region or window", r->id);
        return -1;
    }
    return 0;
}

int agg_rollup_to_value(const struct agg_model *m, const struct agg_rollup *r, avro_value_t *v,
                        char *errstr, size_t errstr_size)
{
    avro_value_t f;
    char region[12], wbuf[11];
    int kind = agg_rollup_kind(r);
    const struct op_region *reg;
    const char *window;
    if (names_of(m, r, wbuf, &reg, &window, errstr, errstr_size) != 0)
        return -1;
    uint32_t code = reg->code;
    snprintf(region, sizeof region, "%06" PRIu32, code);
    int64_t *s[AGG_SCALARS];
    scalars((struct agg_rollup *)r, s);
    int bad = avro_value_get_by_name(v, "window_kind", &f, NULL) ||
              avro_value_set_enum(&f, m->kind_index[kind]) ||
              avro_value_get_by_name(v, "window", &f, NULL) || avro_value_set_string(&f, window) ||
              avro_value_get_by_name(v, "region", &f, NULL) || avro_value_set_string(&f, region) ||
              avro_value_get_by_name(v, "level", &f, NULL) ||
              avro_value_set_enum(&f, m->level_index[reg->level]);
    for (size_t i = 0; !bad && i < sizeof scalar_names / sizeof scalar_names[0]; i++)
        bad = set_long(v, scalar_names[i], *s[i]);
    if (!bad && m->rollup_corrections)
        bad = set_long(v, "corrections", r->corrections);
    for (int d = 0; !bad && d < AGG_DIMS; d++)
        bad = set_map(v, map_fields[d], r, d, m->symbols[d], m->n_symbols[d]);
    if (!bad) {
        avro_value_t sat;
        bad = avro_value_get_by_name(v, "satisfaction", &sat, NULL);
        for (int i = 0; !bad && i < 5; i++)
            bad = set_long(&sat, s_names[i], r->satisfaction[i]);
    }
    if (bad) {
        op_set_err(errstr, errstr_size, "rollup %s|%s|%s: avro-c: %s", agg_kind_names[kind], window,
                   region, avro_strerror());
        return -1;
    }
    return 0;
}

static int get_long(avro_value_t *rec, const char *name, int64_t *out)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_get_long(&f, out);
}

static int get_map(avro_value_t *rec, const char *name, struct agg_rollup *r, int dim,
                   const char *const *syms, int n, char *errstr, size_t errstr_size)
{
    avro_value_t f, e;
    size_t size;
    if (avro_value_get_by_name(rec, name, &f, NULL) || avro_value_get_size(&f, &size))
        return -1;
    for (size_t i = 0; i < size; i++) {
        const char *key;
        int64_t v;
        if (avro_value_get_by_index(&f, i, &e, &key) || avro_value_get_long(&e, &v))
            return -1;
        int k = 0;
        while (k < n && strcmp(syms[k], key) != 0)
            k++;
        if (k == n) {
            op_set_err(errstr, errstr_size, "%s: symbol %s unknown to this version", name, key);
            return -1;
        }
        if (agg_dim_add(r, dim, k, v) != 0)
            return -1;
    }
    return 0;
}

int agg_rollup_from_value(struct agg_model *m, avro_value_t *v, struct agg_rollup *r, int *interned,
                          char *errstr, size_t errstr_size)
{
    avro_value_t f;
    const char *window, *region_text;
    size_t n;
    int kind_idx;
    uint32_t code;
    agg_rollup_clear(r);
    if (avro_value_get_by_name(v, "window_kind", &f, NULL) || avro_value_get_enum(&f, &kind_idx) ||
        avro_value_get_by_name(v, "window", &f, NULL) || avro_value_get_string(&f, &window, &n) ||
        avro_value_get_by_name(v, "region", &f, NULL) ||
        avro_value_get_string(&f, &region_text, &n)) {
        op_set_err(errstr, errstr_size, "rollup record: avro-c: %s", avro_strerror());
        return -1;
    }
    int kind = -1;
    for (int k = 0; k < AGG_KINDS; k++)
        if (m->kind_index[k] == kind_idx)
            kind = k;
    int wn = kind >= 0 ? agg_window_number(m, kind, window, interned) : -1;
    if (wn < 0 || op_regions_parse_code(region_text, &code) != 0 ||
        !op_regions_find(m->regions, code)) {
        op_set_err(errstr, errstr_size, "rollup %s|%s: unknown window kind, window or region",
                   window, region_text);
        return -1;
    }
    r->id = agg_rollup_id(kind, (uint16_t)wn, code);
    int64_t *s[AGG_SCALARS];
    scalars(r, s);
    for (size_t i = 0; i < sizeof scalar_names / sizeof scalar_names[0]; i++)
        if (get_long(v, scalar_names[i], s[i])) {
            op_set_err(errstr, errstr_size, "rollup %s|%s: field %s: avro-c: %s", window,
                       region_text, scalar_names[i], avro_strerror());
            goto fail;
        }
    avro_value_t corr; /* rollup.v2; a v1 record restored as is has none */
    if (avro_value_get_by_name(v, "corrections", &corr, NULL) == 0 &&
        avro_value_get_long(&corr, &r->corrections)) {
        op_set_err(errstr, errstr_size, "rollup %s|%s: field corrections: avro-c: %s", window,
                   region_text, avro_strerror());
        goto fail;
    }
    char why[200] = "";
    for (int d = 0; d < AGG_DIMS; d++)
        if (get_map(v, map_fields[d], r, d, m->symbols[d], m->n_symbols[d], why, sizeof why)) {
            op_set_err(errstr, errstr_size, "rollup %s|%s: %s", window, region_text,
                       *why ? why : avro_strerror());
            goto fail;
        }
    avro_value_t sat;
    if (avro_value_get_by_name(v, "satisfaction", &sat, NULL)) {
        op_set_err(errstr, errstr_size, "rollup %s|%s: no satisfaction", window, region_text);
        goto fail;
    }
    for (int i = 0; i < 5; i++)
        if (get_long(&sat, s_names[i], &r->satisfaction[i])) {
            op_set_err(errstr, errstr_size, "rollup %s|%s: satisfaction.%s", window, region_text,
                       s_names[i]);
            goto fail;
        }
    return 0;
fail:
    agg_rollup_clear(r);
    return -1;
}

/* ---- direct rollup writer ------------------------------------------------------------------ */

static int put_string(struct op_buf *b, const char *str, size_t n)
{
    return op_buf_put_varint(b, (int64_t)n) || op_buf_append(b, str, n) ? -1 : 0;
}

/* A dimension's values by symbol, from the sparse list. */
static void dim_values(const struct agg_rollup *r, int64_t vals[AGG_DIMS][AGG_DIM])
{
    memset(vals, 0, sizeof(int64_t) * AGG_DIMS * AGG_DIM);
    for (uint16_t i = 0; i < r->n_dims; i++)
        vals[r->dims[i].tag >> 5][r->dims[i].tag & 31] = r->dims[i].v;
}

static int put_map(struct op_buf *b, const int64_t *vals, const char *const *syms, int n)
{
    int64_t count = 0;
    for (int i = 0; i < n; i++)
        count += vals[i] != 0;
    if (count && op_buf_put_varint(b, count))
        return -1;
    for (int i = 0; i < n; i++)
        if (vals[i] && (put_string(b, syms[i], strlen(syms[i])) || op_buf_put_varint(b, vals[i])))
            return -1;
    return op_buf_put_varint(b, 0); /* end of blocks */
}

int agg_rollup_write(const struct agg_model *m, const struct agg_rollup *r, avro_value_t *scratch,
                     struct op_buf *out, char *errstr, size_t errstr_size)
{
    if (!m->direct) {
        avro_value_reset(scratch);
        return agg_rollup_to_value(m, r, scratch, errstr, errstr_size) ||
                       op_codec_encode_framed(m->frame, m->rollup, scratch, out, errstr,
                                              errstr_size)
                   ? -1
                   : 0;
    }
    char region[12], wbuf[11];
    int kind = agg_rollup_kind(r);
    const struct op_region *reg;
    const char *window;
    if (names_of(m, r, wbuf, &reg, &window, errstr, errstr_size) != 0)
        return -1;
    uint32_t code = reg->code;
    int rl = snprintf(region, sizeof region, "%06" PRIu32, code);
    int64_t vals[AGG_DIMS][AGG_DIM];
    dim_values(r, vals);
    int bad =
        op_buf_reserve(out, 256) ||
        op_frame_append_header(m->frame, m->rollup, out, errstr, errstr_size) ||
        op_buf_put_varint(out, m->kind_index[kind]) || put_string(out, window, strlen(window)) ||
        put_string(out, region, (size_t)rl) || op_buf_put_varint(out, m->level_index[reg->level]) ||
        op_buf_put_varint(out, r->revision) || op_buf_put_varint(out, r->event_count) ||
        op_buf_put_varint(out, r->first_at) || op_buf_put_varint(out, r->last_at) ||
        op_buf_put_varint(out, r->visits) ||
        put_map(out, vals[AGG_ACTIVITY], m->symbols[AGG_ACTIVITY], m->n_symbols[AGG_ACTIVITY]) ||
        op_buf_put_varint(out, r->workers_reached) ||
        put_map(out, vals[AGG_GROUP], m->symbols[AGG_GROUP], m->n_symbols[AGG_GROUP]) ||
        op_buf_put_varint(out, r->households) || op_buf_put_varint(out, r->staff) ||
        op_buf_put_varint(out, r->funding_fen) ||
        put_map(out, vals[AGG_SOURCE], m->symbols[AGG_SOURCE], m->n_symbols[AGG_SOURCE]) ||
        put_map(out, vals[AGG_PURPOSE], m->symbols[AGG_PURPOSE], m->n_symbols[AGG_PURPOSE]) ||
        op_buf_put_varint(out, r->recipients) || op_buf_put_varint(out, r->surveys) ||
        op_buf_put_varint(out, r->enterprises) || op_buf_put_varint(out, r->respondents);
    for (int i = 0; !bad && i < 5; i++)
        bad = op_buf_put_varint(out, r->satisfaction[i]);
    if (bad || put_map(out, vals[AGG_NEED], m->symbols[AGG_NEED], m->n_symbols[AGG_NEED]) ||
        op_buf_put_varint(out, r->corrections)) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 0;
}
