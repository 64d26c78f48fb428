/* What the outreach-producer unit tests share (test_producer.c, test_producer_csv.c,
 * test_producer_input.c, test_producer_check.c): the conversion fixture, the example records
 * in JSON and CSV with their verdicts, and temporary input files. static inline: not every
 * program uses every helper. */
#ifndef TESTS_UNIT_PRODUCER_TEST_H
#define TESTS_UNIT_PRODUCER_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "authz.h"
#include "codec.h"
#include "conf.h"
#include "kafka.h"
#include "../../producers/input.h"
#include "../../producers/producer.h"
#include "../../producers/receipt.h"
#include "../../producers/record.h"
#include "regions.h"

/* 2025-06-01T00:00:00Z: the clock of the conversion tests. */
#define NOW INT64_C(1748736000000)

struct fx {
    struct op_codec *codec;
    struct op_regions *regions;
    struct op_authz *authz;
    struct producer_conv conv;
    char out[PRODUCER_FIELD_MAX + PRODUCER_REASON_MAX + 4];
};

static inline struct fx *fx_new(int default_type)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[256] = "";
    assert_non_null(f);
    f->codec = op_codec_new_default(err, sizeof err);
    f->regions = op_regions_new_default(err, sizeof err);
    f->authz = op_authz_new();
    assert_non_null(f->codec);
    assert_non_null(f->regions);
    assert_non_null(f->authz);
    assert_int_equal(op_authz_add(f->authz, "530000-ZGH", "53", err, sizeof err), 0);
    assert_int_equal(op_authz_add(f->authz, "370212-ZGH", "370212", err, sizeof err), 0);
    assert_int_equal(op_authz_add(f->authz, "450200-ZGH", "4502", err, sizeof err), 0);
    assert_int_equal(producer_conv_init(&f->conv, f->codec, f->regions, f->authz, 600000,
                                        default_type, err, sizeof err),
                     0);
    return f;
}

static inline int setup(void **state)
{
    *state = fx_new(-1);
    return 0;
}

static inline int teardown(void **state)
{
    struct fx *f = *state;
    producer_conv_free(&f->conv);
    op_authz_destroy(f->authz);
    op_regions_destroy(f->regions);
    op_codec_destroy(f->codec);
    free(f);
    return 0;
}

/* "FIELD: reason" of a JSON line, or "OK". */
static inline const char *json_verdict(struct fx *f, const char *line, struct producer_rec *rec)
{
    char field[PRODUCER_FIELD_MAX] = "", reason[PRODUCER_REASON_MAX] = "";
    struct producer_rec tmp;
    if (producer_conv_json(&f->conv, line, strlen(line), NOW, rec ? rec : &tmp, field, sizeof field,
                           reason, sizeof reason) == 0)
        return "OK";
    snprintf(f->out, sizeof f->out, "%s: %s", field, reason);
    return f->out;
}

#define VISIT                                                                                        \
    "\"type\":\"visit\",\"event_id\":\"t-1\",\"occurred_at\":\"2025-01-06T10:00:00+08:00\","         \
    "\"reported_at\":\"2025-01-08T17:30:00+08:00\",\"agency_id\":\"530000-ZGH\","                    \
    "\"region\":\"530622\",\"campaign\":\"2025 两节送温暖\",\"activity\":\"CONDOLENCE_VISIT\"," \
    "\"target_groups\":[\"ON_DUTY_HOLIDAY\"],\"workers_reached\":300,\"households\":0,"              \
    "\"staff\":12"
#define FUNDING                                                                                    \
    "\"type\":\"funding\",\"event_id\":\"t-2\",\"occurred_at\":\"2025-01-06T10:00:00+08:00\","     \
    "\"reported_at\":\"2025-01-08T17:30:00+08:00\",\"agency_id\":\"530000-ZGH\","                  \
    "\"region\":\"530622\",\"amount_fen\":6000000,\"source\":\"UNION_FUNDS\","                     \
    "\"purpose\":\"CASH_GRANT\",\"recipients\":30,\"target_group\":\"HARDSHIP_WORKERS\""
#define SURVEY                                                                                     \
    "\"type\":\"survey\",\"event_id\":\"t-3\",\"occurred_at\":\"2024-11-15T14:30:00+08:00\","      \
    "\"reported_at\":\"2024-11-18T09:00:00+08:00\",\"agency_id\":\"370212-ZGH\","                  \
    "\"region\":\"370212\",\"method\":\"FORUM\",\"enterprises\":5,\"respondents\":48,"             \
    "\"topic\":\"HEALTH\",\"satisfaction\":{\"s1\":1,\"s2\":3,\"s3\":10,\"s4\":22,\"s5\":12},"     \
    "\"needs\":[{\"need\":\"MENTAL_HEALTH\",\"count\":30},{\"need\":\"REST_FACILITIES\","          \
    "\"count\":12}]"

/* A base record with its keys replaced (or removed, when patch maps them to null and
 * `remove` is set) by the members of a JSON patch object. */
static inline char *variant(const char *base, const char *patch, int remove)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "{%s}", base);
    json_t *b = json_loads(buf, 0, NULL), *p = json_loads(patch, 0, NULL);
    assert_non_null(b);
    assert_non_null(p);
    const char *k;
    json_t *v;
    json_object_foreach(p, k, v)
    {
        if (remove && json_is_null(v))
            json_object_del(b, k);
        else
            json_object_set(b, k, v);
    }
    char *s = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(b);
    json_decref(p);
    return s;
}

static inline void expect_variant(struct fx *f, const char *base, const char *patch, int remove,
                                  const char *want)
{
    char *line = variant(base, patch, remove);
    const char *got = json_verdict(f, line, NULL);
    if (strcmp(got, want) != 0)
        fail_msg("%s\n  got:  %s\n  want: %s", line, got, want);
    free(line);
}

/* A file with `data` in a fresh directory: /tmp/test_producer_XXXXXX/inSUFFIX. */
static inline char *temp_file(const char *suffix, const void *data, size_t len)
{
    char dir[] = "/tmp/test_producer_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = malloc(256);
    assert_non_null(path);
    snprintf(path, 256, "%s/in%s", dir, suffix);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    return path;
}

/* Removes a temp_file() and its directory. */
static inline void rm_temp(char *path)
{
    unlink(path);
    char *slash = strrchr(path, '/');
    *slash = 0;
    rmdir(path);
    free(path);
}

#define CSV_HEADER                                                                                 \
    "type,event_id,occurred_at,reported_at,agency_id,region,campaign,activity,target_groups,"      \
    "workers_reached,households,staff,amount_fen,source,purpose,recipients,target_group,method,"   \
    "enterprises,respondents,topic,s1,s2,s3,s4,s5,needs"

struct csvfx {
    struct producer_cells cells;
    struct producer_csv_header hdr;
};

static inline const char *csv_verdict(struct fx *f, const char *header, const char *row,
                                      struct producer_rec *rec)
{
    struct csvfx c;
    memset(&c, 0, sizeof c);
    char field[PRODUCER_FIELD_MAX] = "", reason[PRODUCER_REASON_MAX] = "";
    size_t bad;
    const char *why;
    assert_int_equal(producer_csv_split(header, strlen(header), &c.cells, &bad, &why), 0);
    int rc = producer_csv_header_init(&c.hdr, &f->conv, c.cells.cell, c.cells.len, c.cells.n, field,
                                      sizeof field, reason, sizeof reason);
    if (rc == 0) {
        assert_int_equal(producer_csv_split(row, strlen(row), &c.cells, &bad, &why), 0);
        struct producer_rec tmp;
        rc = producer_conv_csv(&f->conv, &c.hdr, c.cells.cell, c.cells.len, c.cells.n, NOW,
                               rec ? rec : &tmp, field, sizeof field, reason, sizeof reason);
        producer_csv_header_free(&c.hdr);
    }
    producer_cells_free(&c.cells);
    if (rc == 0)
        return "OK";
    snprintf(f->out, sizeof f->out, "%s: %s", field, reason);
    return f->out;
}

#define CSV_VISIT                                                                                  \
    "visit,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,"             \
    "2025 两节送温暖,CONDOLENCE_VISIT,ON_DUTY_HOLIDAY,300,0,12,,,,,,,,,,,,,,,"
#define CSV_SURVEY                                                                                 \
    "survey,t-3,2024-11-15T14:30:00+08:00,2024-11-18T09:00:00+08:00,370212-ZGH,370212,,,,,,,,,,"   \
    ",,FORUM,5,48,HEALTH,1,3,10,22,12,MENTAL_HEALTH:30;REST_FACILITIES:12"

#endif
