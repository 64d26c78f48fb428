/* Batches for the endpoints: decode, keep the latest revision per key, shape the JSON of
 * schemas/rollup-batch.schema.json deterministically, derive the Idempotency-Key, gzip. */
#define ZLIB_CONST
#include "batch.h"
#include "err.h"
#include "timefmt.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "avrojson.h"
#include "map.h"
#include "money.h"

/* ---- exact formatting ------------------------------------------------------------------- */

int reporter_format_yuan(int64_t fen, char *out, size_t size)
{
    return op_money_yuan(fen, 0, out, size);
}

/* Adds x (any value) to the fraction q + r/t with r < t, without overflow. */
static void frac_add(uint64_t *q, uint64_t *r, uint64_t x, uint64_t t)
{
    *q += x / t;
    uint64_t add = x % t;
    if (*r >= t - add) {
        *r -= t - add;
        (*q)++;
    } else {
        *r += add;
    }
}

/* The next decimal digit of r/t (r < t): floor(10r/t), and r becomes 10r mod t. */
static unsigned next_digit(uint64_t *r, uint64_t t)
{
    uint64_t acc = 0, x = *r;
    unsigned d = 0;
    for (int i = 0; i < 10; i++) {
        if (acc >= t - x) {
            acc -= t - x;
            d++;
        } else {
            acc += x;
        }
    }
    *r = acc;
    return d;
}

int reporter_format_mean(const int64_t counts[5], char out[REPORTER_MEAN_MAX])
{
    uint64_t total = 0;
    for (int i = 0; i < 5; i++) {
        if (counts[i] < 0 || (uint64_t)counts[i] > (uint64_t)INT64_MAX - total)
            return -1;
        total += (uint64_t)counts[i];
    }
    if (total == 0)
        return -1;
    /* mean - 1 = (0*s1 + 1*s2 + 2*s3 + 3*s4 + 4*s5) / total, kept as q + r/total. */
    uint64_t q = 0, r = 0;
    for (int i = 1; i < 5; i++)
        for (int k = 0; k < i; k++)
            frac_add(&q, &r, (uint64_t)counts[i], total);
    unsigned d1 = next_digit(&r, total), d2 = next_digit(&r, total);
    uint64_t hundredths = (1 + q) * 100 + d1 * 10 + d2;
    if (r >= total - r) /* the rest is at least one half: round half up */
        hundredths++;
    int n = snprintf(out, REPORTER_MEAN_MAX, "%" PRIu64 ".%02u", hundredths / 100,
                     (unsigned)(hundredths % 100));
    return n > 0 && n < REPORTER_MEAN_MAX ? 0 : -1;
}

void reporter_iso8601(int64_t ms, char out[REPORTER_ISO_MAX])
{
    (void)op_timefmt_iso8601_ms(ms, out, REPORTER_ISO_MAX);
}

uint64_t reporter_rand(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

int64_t reporter_backoff_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms, uint64_t *rng)
{
    if (base_ms <= 0 || cap_ms <= 0)
        return 0;
    int64_t bound = cap_ms;
    if (attempt < 62 && base_ms <= (cap_ms >> attempt))
        bound = base_ms << attempt;
    return (int64_t)(reporter_rand(rng) % ((uint64_t)bound + 1));
}

enum reporter_verdict reporter_classify(long status)
{
    if (status >= 200 && status < 300)
        return REPORTER_DELIVERED;
    /* 401/403/404 say the configuration is wrong (token, URL), not the batch: retrying
     * keeps the endpoint lagging until ops fix it, instead of emptying it into the DLQ. */
    if (status == 408 || status == 429 || status == 401 || status == 403 || status == 404)
        return REPORTER_RETRY;
    if (status >= 400 && status < 500)
        return REPORTER_REJECTED;
    return REPORTER_RETRY;
}

void reporter_msg_free(struct reporter_msg *m)
{
    if (!m)
        return;
    free(m->key);
    free(m->value);
    m->key = NULL;
    m->value = NULL;
}

/* ---- one rollup ------------------------------------------------------------------------- */

static int get_int(json_t *o, const char *name, int64_t *v, char *errstr, size_t errstr_size)
{
    json_t *j = json_object_get(o, name);
    if (!json_is_integer(j)) {
        op_set_err(errstr, errstr_size, "%s: %s", name, j ? "not an integer" : "missing");
        return -1;
    }
    *v = json_integer_value(j);
    return 0;
}

static const char *get_str(json_t *o, const char *name, char *errstr, size_t errstr_size)
{
    json_t *j = json_object_get(o, name);
    if (!json_is_string(j)) {
        op_set_err(errstr, errstr_size, "%s: %s", name, j ? "not a string" : "missing");
        return NULL;
    }
    return json_string_value(j);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Copies a map of integers with sorted keys into fen (and, when yuan is not NULL, its yuan
 * strings). Returns 0 or -1. */
static int copy_map(json_t *src, const char *name, json_t *dst_fen, json_t *dst_yuan, char *errstr,
                    size_t errstr_size)
{
    if (!json_is_object(src)) {
        op_set_err(errstr, errstr_size, "%s: %s", name, src ? "not an object" : "missing");
        return -1;
    }
    size_t n = json_object_size(src), i = 0;
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, cmp_str);
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++) {
        v = json_object_get(src, keys[i]);
        if (!json_is_integer(v)) {
            op_set_err(errstr, errstr_size, "%s.%s: not an integer", name, keys[i]);
            rc = -1;
            break;
        }
        json_int_t fen = json_integer_value(v);
        rc = json_object_set_new(dst_fen, keys[i], json_integer(fen));
        if (rc == 0 && dst_yuan) {
            char y[REPORTER_YUAN_MAX];
            reporter_format_yuan(fen, y, sizeof y);
            rc = json_object_set_new(dst_yuan, keys[i], json_string(y));
        }
        if (rc != 0)
            op_set_err(errstr, errstr_size, "out of memory");
    }
    free(keys);
    return rc;
}

static int is_known(const char *name)
{
    for (const char *const *f = op_rollup_fields; *f; f++)
        if (strcmp(*f, name) == 0)
            return 1;
    return 0;
}

/* Sets name to an integer field of avro; 0 or -1. */
static int put_int(json_t *o, json_t *avro, const char *name, char *errstr, size_t errstr_size)
{
    int64_t v;
    if (get_int(avro, name, &v, errstr, errstr_size) != 0)
        return -1;
    if (json_object_set_new(o, name, json_integer(v)) != 0) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 0;
}

static int put_time(json_t *o, json_t *avro, const char *name, char *errstr, size_t errstr_size)
{
    int64_t v;
    char iso[REPORTER_ISO_MAX];
    if (get_int(avro, name, &v, errstr, errstr_size) != 0)
        return -1;
    reporter_iso8601(v, iso);
    if (json_object_set_new(o, name, json_string(iso)) != 0) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 0;
}

/* Sets fen_name and yuan_name (maps of the same source) on o. */
static int put_money_map(json_t *o, json_t *avro, const char *fen_name, const char *yuan_name,
                         char *errstr, size_t errstr_size)
{
    json_t *fen = json_object(), *yuan = json_object();
    int rc = -1;
    if (!fen || !yuan) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    if (copy_map(json_object_get(avro, fen_name), fen_name, fen, yuan, errstr, errstr_size) != 0)
        goto cleanup;
    if (json_object_set(o, fen_name, fen) != 0 || json_object_set(o, yuan_name, yuan) != 0) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    rc = 0;
cleanup:
    json_decref(fen);
    json_decref(yuan);
    return rc;
}

static int put_map(json_t *o, json_t *avro, const char *name, char *errstr, size_t errstr_size)
{
    json_t *m = json_object();
    if (!m) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    if (copy_map(json_object_get(avro, name), name, m, NULL, errstr, errstr_size) != 0 ||
        json_object_set(o, name, m) != 0) {
        json_decref(m);
        return -1;
    }
    json_decref(m);
    return 0;
}

json_t *reporter_rollup_payload(json_t *avro, const struct op_regions *regions, char *key,
                                int64_t *rev, char *errstr, size_t errstr_size)
{
    json_t *o = NULL;
    const char *kind = get_str(avro, "window_kind", errstr, errstr_size);
    const char *window = kind ? get_str(avro, "window", errstr, errstr_size) : NULL;
    const char *region = window ? get_str(avro, "region", errstr, errstr_size) : NULL;
    const char *level = region ? get_str(avro, "level", errstr, errstr_size) : NULL;
    uint32_t code;
    if (!level)
        return NULL;
    if (op_regions_parse_code(region, &code) != 0) {
        op_set_err(errstr, errstr_size, "region: \"%.16s\" is not a 6-digit code", region);
        return NULL;
    }
    if (get_int(avro, "revision", rev, errstr, errstr_size) != 0)
        return NULL;
    int kl = snprintf(key, REPORTER_KEY_MAX, "%s|%s|%s", kind, window, region);
    if (kl < 0 || kl >= REPORTER_KEY_MAX) {
        op_set_err(errstr, errstr_size, "window: longer than %d bytes", REPORTER_KEY_MAX - 20);
        return NULL;
    }
    const struct op_region *reg = regions ? op_regions_find(regions, code) : NULL;
    o = json_object();
    if (!o)
        goto oom;
    if (json_object_set_new(o, "key", json_string(key)) ||
        json_object_set_new(o, "region", json_string(region)) ||
        json_object_set_new(o, "region_name", reg ? json_string(reg->name) : json_null()) ||
        json_object_set_new(o, "level", json_string(level)) ||
        json_object_set_new(o, "window_kind", json_string(kind)) ||
        json_object_set_new(o, "window", json_string(window)))
        goto oom;
    if (put_int(o, avro, "revision", errstr, errstr_size) ||
        put_int(o, avro, "event_count", errstr, errstr_size) ||
        put_time(o, avro, "first_event_at", errstr, errstr_size) ||
        put_time(o, avro, "last_event_at", errstr, errstr_size) ||
        put_int(o, avro, "visits", errstr, errstr_size) ||
        put_map(o, avro, "visits_by_activity", errstr, errstr_size) ||
        put_int(o, avro, "workers_reached", errstr, errstr_size) ||
        put_map(o, avro, "workers_by_group", errstr, errstr_size) ||
        put_int(o, avro, "households", errstr, errstr_size) ||
        put_int(o, avro, "staff", errstr, errstr_size) ||
        put_int(o, avro, "funding_fen", errstr, errstr_size))
        goto fail;
    {
        char y[REPORTER_YUAN_MAX];
        reporter_format_yuan(json_integer_value(json_object_get(o, "funding_fen")), y, sizeof y);
        if (json_object_set_new(o, "funding_yuan", json_string(y)))
            goto oom;
    }
    if (put_money_map(o, avro, "funding_by_source_fen", "funding_by_source_yuan", errstr,
                      errstr_size) ||
        put_money_map(o, avro, "funding_by_purpose_fen", "funding_by_purpose_yuan", errstr,
                      errstr_size) ||
        put_int(o, avro, "recipients", errstr, errstr_size) ||
        put_int(o, avro, "surveys", errstr, errstr_size) ||
        put_int(o, avro, "enterprises", errstr, errstr_size) ||
        put_int(o, avro, "respondents", errstr, errstr_size))
        goto fail;
    {
        json_t *sat = json_object_get(avro, "satisfaction");
        json_t *out = json_object();
        int64_t counts[5];
        char mean[REPORTER_MEAN_MAX];
        if (!json_is_object(sat)) {
            json_decref(out);
            op_set_err(errstr, errstr_size, "satisfaction: %s", sat ? "not an object" : "missing");
            goto fail;
        }
        if (!out || json_object_set_new(o, "satisfaction", out))
            goto oom;
        for (int i = 0; i < 5; i++) {
            char name[4] = {'s', (char)('1' + i), 0, 0};
            if (get_int(sat, name, &counts[i], errstr, errstr_size) != 0) {
                char inner[200];
                snprintf(inner, sizeof inner, "%s", errstr);
                op_set_err(errstr, errstr_size, "satisfaction.%s", inner);
                goto fail;
            }
            if (json_object_set_new(out, name, json_integer(counts[i])))
                goto oom;
        }
        if (json_object_set_new(o, "satisfaction_mean",
                                reporter_format_mean(counts, mean) == 0 ? json_string(mean)
                                                                        : json_null()))
            goto oom;
    }
    /* rollup.v1 messages resolve to the v2 reader with corrections 0 */
    if (put_map(o, avro, "needs", errstr, errstr_size) ||
        put_int(o, avro, "corrections", errstr, errstr_size))
        goto fail;
    /* Fields of newer rollup versions: passed through, after the known ones, sorted. */
    {
        size_t n = json_object_size(avro), i = 0;
        const char **extra = malloc((n ? n : 1) * sizeof *extra);
        const char *k;
        json_t *v;
        if (!extra)
            goto oom;
        json_object_foreach(avro, k, v) if (!is_known(k)) extra[i++] = k;
        qsort(extra, i, sizeof *extra, cmp_str);
        for (size_t j = 0; j < i; j++)
            if (!json_object_get(o, extra[j]) &&
                json_object_set(o, extra[j], json_object_get(avro, extra[j]))) {
                free(extra);
                goto oom;
            }
        free(extra);
    }
    return o;
oom:
    op_set_err(errstr, errstr_size, "out of memory");
fail:
    json_decref(o);
    return NULL;
}

/* ---- batches ---------------------------------------------------------------------------- */

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* CRC-64-AVRO over a fixed record per message: offset, key length and CRC, value length
 * (all ones for a tombstone) and CRC, after a format tag. */
static int content_digest(const struct reporter_msg *msgs, size_t n, uint64_t *out)
{
    static const char tag[8] = "rbatch1";
    size_t size = sizeof tag + n * 40;
    unsigned char *buf = malloc(size), *p;
    if (!buf)
        return -1;
    memcpy(buf, tag, sizeof tag);
    p = buf + sizeof tag;
    for (size_t i = 0; i < n; i++, p += 40) {
        const struct reporter_msg *m = &msgs[i];
        put_le64(p, (uint64_t)m->offset);
        put_le64(p + 8, (uint64_t)m->key_len);
        put_le64(p + 16, op_codec_crc64(m->key ? m->key : "", m->key ? m->key_len : 0));
        put_le64(p + 24, m->value ? (uint64_t)m->len : UINT64_MAX);
        put_le64(p + 32,
                 op_codec_crc64(m->value ? (const void *)m->value : "", m->value ? m->len : 0));
    }
    *out = op_codec_crc64(buf, size);
    free(buf);
    return 0;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return op_buf_append(data, buffer, size);
}

static int add_poison(struct reporter_batch *b, size_t index, const char *reason,
                      const char *detail)
{
    struct reporter_poison *np = realloc(b->poison, (b->n_poison + 1) * sizeof *np);
    if (!np)
        return -1;
    b->poison = np;
    struct reporter_poison *p = &np[b->n_poison++];
    p->index = index;
    snprintf(p->reason, sizeof p->reason, "%s", reason);
    snprintf(p->detail, sizeof p->detail, "%s", detail);
    return 0;
}

int reporter_batch_build(struct reporter_batch *b, struct op_codec *codec,
                         const struct op_regions *regions, const char *endpoint, const char *topic,
                         int32_t partition, const struct reporter_msg *msgs, size_t n, char *errstr,
                         size_t errstr_size)
{
    return reporter_batch_build_kind(b, codec, regions, endpoint, topic, partition, msgs, n, 0,
                                     errstr, errstr_size);
}

int reporter_batch_build_kind(struct reporter_batch *b, struct op_codec *codec,
                              const struct op_regions *regions, const char *endpoint,
                              const char *topic, int32_t partition, const struct reporter_msg *msgs,
                              size_t n, int audit, char *errstr, size_t errstr_size)
{
    const char *kind = audit ? "audit" : "rollup";
    memset(b, 0, sizeof *b);
    struct op_map *latest = NULL; /* rollup key -> index + 1 of the kept message */
    json_t **kept = NULL;
    int64_t *revs = NULL;
    int rc = -1;
    uint64_t digest;
    if (n == 0) {
        op_set_err(errstr, errstr_size, "empty batch");
        return -1;
    }
    b->partition = partition;
    b->first_offset = msgs[0].offset;
    b->last_offset = msgs[n - 1].offset;
    b->messages = n;
    if (content_digest(msgs, n, &digest) != 0)
        goto oom;
    int kl =
        snprintf(b->key, sizeof b->key, "%s-%s-%" PRId32 "-%" PRId64 "-%" PRId64 "-%016" PRIx64,
                 endpoint, topic, partition, b->first_offset, b->last_offset, digest);
    if (kl < 0 || (size_t)kl >= sizeof b->key) {
        op_set_err(errstr, errstr_size, "batch key longer than %d bytes", REPORTER_KEY_MAX - 1);
        goto cleanup;
    }
    latest = op_map_new();
    kept = calloc(n, sizeof *kept);
    revs = calloc(n, sizeof *revs);
    if (!latest || !kept || !revs)
        goto oom;
    int64_t newest_ts = -1;
    for (size_t i = 0; i < n; i++) {
        const struct reporter_msg *m = &msgs[i];
        char err[512], key[REPORTER_KEY_MAX];
        if (m->timestamp > newest_ts)
            newest_ts = m->timestamp;
        if (!m->value) {
            b->tombstones++;
            continue;
        }
        avro_value_t *v;
        const struct op_schema *reader = NULL;
        int drc = op_codec_decode(codec, m->value, m->len, &v, NULL, &reader, err, sizeof err);
        if (drc != 0) {
            if (add_poison(b, i, op_codec_err_name(drc), err) != 0)
                goto oom;
            continue;
        }
        if (strcmp(reader->type, kind) != 0) {
            snprintf(err, sizeof err, "a %s record, not %s", reader->type,
                     audit ? "an audit entry" : "a rollup");
            if (add_poison(b, i, audit ? "not-an-audit-entry" : "not-a-rollup", err) != 0)
                goto oom;
            continue;
        }
        json_t *aj = op_avrojson_to_json(v);
        if (!aj) {
            if (add_poison(b, i, "malformed", "not representable as JSON (invalid UTF-8?)") != 0)
                goto oom;
            continue;
        }
        int64_t rev = 0;
        json_t *pj;
        if (audit) { /* every entry is sent, as the record's JSON: nothing supersedes it */
            pj = aj;
            snprintf(key, sizeof key, "%" PRId64, m->offset);
        } else {
            pj = reporter_rollup_payload(aj, regions, key, &rev, err, sizeof err);
            json_decref(aj);
        }
        if (!pj) {
            if (add_poison(b, i, "invalid", err) != 0)
                goto oom;
            continue;
        }
        size_t klen = strlen(key);
        uintptr_t prev = (uintptr_t)op_map_get(latest, key, klen);
        if (prev && revs[prev - 1] > rev) {
            json_decref(pj); /* an older revision after a newer one: left out */
            b->superseded++;
            continue;
        }
        if (prev) {
            json_decref(kept[prev - 1]);
            kept[prev - 1] = NULL;
            b->superseded++;
        }
        if (op_map_put(latest, key, klen, (void *)(uintptr_t)(i + 1), NULL) != 0) {
            json_decref(pj);
            goto oom;
        }
        kept[i] = pj;
        revs[i] = rev;
    }
    char iso[REPORTER_ISO_MAX];
    reporter_iso8601(newest_ts < 0 ? 0 : newest_ts, iso);
    json_t *rollups = json_array();
    b->doc = json_object();
    json_t *source = json_object();
    if (!rollups || !b->doc || !source) {
        json_decref(rollups);
        json_decref(source);
        goto oom;
    }
    if (json_object_set_new(b->doc, "batch_id", json_string(b->key)) ||
        json_object_set_new(b->doc, "endpoint", json_string(endpoint)) ||
        json_object_set_new(b->doc, "generated_at", json_string(iso)) ||
        json_object_set_new(source, "topic", json_string(topic)) ||
        json_object_set_new(source, "partition", json_integer(partition)) ||
        json_object_set_new(source, "first_offset", json_integer(b->first_offset)) ||
        json_object_set_new(source, "last_offset", json_integer(b->last_offset)) ||
        json_object_set_new(source, "messages", json_integer((json_int_t)n)) ||
        json_object_set_new(b->doc, "source", source)) {
        json_decref(rollups);
        goto oom;
    }
    if (json_object_set_new(b->doc, audit ? "entries" : "rollups", rollups))
        goto oom;
    for (size_t i = 0; i < n; i++)
        if (kept[i]) {
            if (json_array_append_new(rollups, kept[i]))
                goto oom;
            kept[i] = NULL;
            b->rollups++;
        }
    if (json_dump_callback(b->doc, dump_cb, &b->json, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0)
        goto oom;
    rc = 0;
    goto cleanup;
oom:
    op_set_err(errstr, errstr_size, "out of memory");
cleanup:
    if (kept)
        for (size_t i = 0; i < n; i++)
            json_decref(kept[i]);
    free(kept);
    free(revs);
    op_map_destroy(latest, NULL);
    if (rc != 0)
        reporter_batch_free(b);
    return rc;
}

void reporter_batch_free(struct reporter_batch *b)
{
    if (!b)
        return;
    json_decref(b->doc);
    op_buf_free(&b->json);
    free(b->poison);
    memset(b, 0, sizeof *b);
}

int reporter_batch_jsonl(const struct reporter_batch *b, struct op_buf *out)
{
    json_t *rollups = json_object_get(b->doc, "rollups");
    size_t i;
    json_t *r;
    json_array_foreach(rollups, i, r)
    {
        if (json_dump_callback(r, dump_cb, out, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0 ||
            op_buf_append(out, "\n", 1) != 0)
            return -1;
    }
    return 0;
}

/* ---- gzip ------------------------------------------------------------------------------- */

int reporter_gzip(const void *data, size_t len, int level, struct op_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    const unsigned char *p = data;
    size_t left = len;
    int zrc, rc = -1;
    size_t want = (size_t)deflateBound(&zs, (uLong)(len < 0x40000000 ? len : 0x40000000)) + 64;
    do {
        if (op_buf_reserve(out, want) != 0)
            goto cleanup;
        want = 65536;
        size_t room = out->cap - out->len;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)(room < 0x40000000 ? room : 0x40000000);
        uInt before = zs.avail_out;
        if (zs.avail_in == 0 && left > 0) {
            size_t chunk = left < 0x40000000 ? left : 0x40000000;
            zs.next_in = p;
            zs.avail_in = (uInt)chunk;
            p += chunk;
            left -= chunk;
        }
        zrc = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
        out->len += before - zs.avail_out;
        if (zrc == Z_STREAM_ERROR)
            goto cleanup;
    } while (zrc != Z_STREAM_END);
    rc = 0;
cleanup:
    deflateEnd(&zs);
    return rc;
}
