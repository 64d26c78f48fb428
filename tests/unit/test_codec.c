/* Unit tests of the Avro codec: fingerprints, canonical form, framing, round trips of every
 * shipped schema, every evolution path, and hostile bytes. Expected values are written by hand
 * from the Avro specification, never computed by the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "avrojson.h"
#include "codec.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static struct op_codec *default_codec(void)
{
    char err[512];
    struct op_codec *c = op_codec_new_default(err, sizeof err);
    if (!c)
        fail_msg("op_codec_new_default: %s", err);
    return c;
}

/* Encodes JSON text `json` as schema `name` into `out`. */
static void encode_json(struct op_codec *c, const char *name, const char *json, struct op_buf *out)
{
    const struct op_schema *s = op_codec_by_name(c, name);
    assert_non_null(s);
    json_error_t jerr;
    json_t *j = json_loads(json, 0, &jerr);
    if (!j)
        fail_msg("bad test JSON: %s", jerr.text);
    avro_value_t v;
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    char err[512];
    if (op_avrojson_from_json(s, &v, j, err, sizeof err) != 0)
        fail_msg("from_json: %s", err);
    if (op_codec_encode(s, &v, out, err, sizeof err) != 0)
        fail_msg("encode: %s", err);
    avro_value_decref(&v);
    json_decref(j);
}

/* Decodes `buf` and returns its JSON (caller frees), failing the test on a decode error. */
static json_t *decode_json(struct op_codec *c, const unsigned char *buf, size_t len,
                           const char **writer, const char **reader)
{
    avro_value_t *v;
    const struct op_schema *w, *r;
    char err[512];
    int rc = op_codec_decode(c, buf, len, &v, &w, &r, err, sizeof err);
    if (rc != 0)
        fail_msg("decode: %s: %s", op_codec_err_name(rc), err);
    if (writer)
        *writer = w->name;
    if (reader)
        *reader = r->name;
    json_t *j = op_avrojson_to_json(v);
    assert_non_null(j);
    return j;
}

static void assert_json_equal(json_t *got, const char *expected_text)
{
    json_error_t jerr;
    json_t *want = json_loads(expected_text, 0, &jerr);
    if (!want)
        fail_msg("bad expected JSON: %s", jerr.text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        print_error("got:  %s\nwant: %s\n", g, w);
        free(g);
        free(w);
        json_decref(want);
        fail();
    }
    json_decref(want);
}

/* ---- fingerprint and canonical form ----------------------------------------------------- */

static void test_crc64_vectors(void **state)
{
    (void)state;
    /* The Avro specification's CRC-64-AVRO: the empty input is the seed itself, and the
     * fingerprint of the schema "null" (quotes included) is given in DESIGN.md. */
    assert_true(op_codec_crc64("", 0) == UINT64_C(0xc15d213aa4d7a795));
    assert_true(op_codec_crc64("\"null\"", 6) == UINT64_C(7195948357588979594));
}

static void test_canonical_form(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"{\"type\":\"int\"}", "\"int\""},
        {"\"long\"", "\"long\""},
        {"{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", "\"long\""},
        {"[\"null\", {\"type\":\"string\"}]", "[\"null\",\"string\"]"},
        /* attribute order, namespaces, stripped doc/default/aliases, named-type reuse */
        {"{\"namespace\":\"a.b\",\"doc\":\"d\",\"fields\":[{\"name\":\"f\",\"doc\":\"x\","
         "\"default\":1,\"type\":{\"type\":\"int\"}},{\"type\":{\"symbols\":[\"A\",\"B\"],"
         "\"type\":\"enum\",\"name\":\"E\",\"default\":\"A\"},\"name\":\"e\"},{\"name\":\"e2\","
         "\"type\":\"E\"},{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"c.F\","
         "\"size\":4}},{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":{\"type\":"
         "\"array\",\"items\":\"c.F\"}}}],\"type\":\"record\",\"name\":\"R\",\"aliases\":[\"Q\"]}",
         "{\"name\":\"a.b.R\",\"type\":\"record\",\"fields\":[{\"name\":\"f\",\"type\":\"int\"},"
         "{\"name\":\"e\",\"type\":{\"name\":\"a.b.E\",\"type\":\"enum\",\"symbols\":[\"A\","
         "\"B\"]}},{\"name\":\"e2\",\"type\":\"a.b.E\"},{\"name\":\"x\",\"type\":{\"name\":"
         "\"c.F\",\"type\":\"fixed\",\"size\":4}},{\"name\":\"m\",\"type\":{\"type\":\"map\","
         "\"values\":{\"type\":\"array\",\"items\":\"c.F\"}}}]}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL, err[256];
        int rc = op_codec_canonical_form(cases[i].in, strlen(cases[i].in), &out, err, sizeof err);
        if (rc != 0)
            fail_msg("case %zu: %s", i, err);
        assert_string_equal(out, cases[i].out);
        free(out);
    }
}

static void test_canonical_form_named_reuse(void **state)
{
    (void)state;
    const char *in = "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"n\",\"fields\":["
                     "{\"name\":\"a\",\"type\":{\"type\":\"fixed\",\"name\":\"x.F\",\"size\":2}},"
                     "{\"name\":\"b\",\"type\":\"x.F\"},"
                     "{\"name\":\"c\",\"type\":{\"type\":\"record\",\"name\":\"S\",\"fields\":"
                     "[{\"name\":\"z\",\"type\":\"R\"}]}}]}";
    const char *want = "{\"name\":\"n.R\",\"type\":\"record\",\"fields\":[{\"name\":\"a\","
                       "\"type\":{\"name\":\"x.F\",\"type\":\"fixed\",\"size\":2}},{\"name\":"
                       "\"b\",\"type\":\"x.F\"},{\"name\":\"c\",\"type\":{\"name\":\"n.S\","
                       "\"type\":\"record\",\"fields\":[{\"name\":\"z\",\"type\":\"n.R\"}]}}]}";
    char *out = NULL, err[256];
    if (op_codec_canonical_form(in, strlen(in), &out, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(out, want);
    free(out);
}

static void test_registry(void **state)
{
    (void)state;
    struct op_codec *c = default_codec();
    const char *names[] = {"visit.v1",  "visit.v2",  "visit.v3",  "funding.v1", "funding.v3",
                           "survey.v1", "survey.v2", "rollup.v1", "rollup.v2"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct op_schema *s = op_codec_by_name(c, names[i]);
        assert_non_null(s);
        assert_ptr_equal(op_codec_by_fingerprint(c, s->fingerprint), s);
        /* The fingerprint is the CRC of the canonical text. */
        assert_true(s->fingerprint == op_codec_crc64(s->canonical, strlen(s->canonical)));
    }
    assert_string_equal(op_codec_reader(c, "visit")->name, "visit.v3");
    assert_string_equal(op_codec_reader(c, "survey")->name, "survey.v2");
    assert_null(op_codec_reader(c, "nothing"));

    char err[256];
    assert_int_equal(op_codec_add(c, "visit.v2", "\"int\"", 5, err, sizeof err), -1);
    assert_int_equal(op_codec_add(c, "novers", "{}", 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "TYPE.vN"));
    const struct op_schema *v1 = op_codec_by_name(c, "visit.v1");
    /* Same schema text under another name: same fingerprint, refused. */
    const char *text = v1->canonical;
    assert_int_equal(op_codec_add(c, "copy.v1", text, strlen(text), err, sizeof err), -1);
    assert_non_null(strstr(err, "visit.v1"));
    op_codec_destroy(c);
}

/* ---- framing and round trips ------------------------------------------------------------ */

#define VISIT_V1                                                                                   \
    "{\"event_id\":\"e-1\",\"occurred_at\":1735700000000,\"reported_at\":1735790000000,"           \
    "\"agency_id\":\"ACFTU-650102\",\"region\":\"650102\",\"campaign\":\"2025 两节送温暖\","  \
    "\"activity\":\"CONDOLENCE_VISIT\",\"target_groups\":[\"SANITATION\",\"MIGRANT_WORKERS\"],"    \
    "\"workers_reached\":2100,\"households\":0,\"staff\":12}"

static void test_single_object_framing(void **state)
{
    (void)state;
    struct op_codec *c = default_codec();
    struct op_buf b = OP_BUF_INIT;
    encode_json(c, "visit.v1", VISIT_V1, &b);
    const struct op_schema *s = op_codec_by_name(c, "visit.v1");
    assert_true(b.len > OP_CODEC_HEADER_SIZE);
    assert_int_equal(b.data[0], 0xC3);
    assert_int_equal(b.data[1], 0x01);
    uint64_t fp = 0;
    for (int i = 0; i < 8; i++) /* little-endian */
        fp |= (uint64_t)b.data[2 + i] << (8 * i);
    assert_true(fp == s->fingerprint);
    /* The body starts with event_id: zigzag length 3 → 0x06, then "e-1". */
    assert_int_equal(b.data[10], 0x06);
    assert_memory_equal(b.data + 11, "e-1", 3);
    op_buf_free(&b);
    op_codec_destroy(c);
}

static void test_round_trip_events(void **state)
{
    (void)state;
    struct op_codec *c = default_codec();
    static const struct {
        const char *schema, *json;
    } cases[] = {
        {"visit.v3",
         "{\"event_id\":\"v2-1\",\"occurred_at\":1734652800000,\"reported_at\":1734739200000,"
         "\"agency_id\":\"530000-ZGH\",\"region\":\"530000\",\"campaign\":null,\"activity\":"
         "\"HOME_VISIT\",\"target_groups\":[],\"workers_reached\":8,\"households\":8,\"staff\":3,"
         "\"duration_minutes\":90,\"venue\":\"UNSPECIFIED\",\"note\":\"入户走访 "
         "困难职工\",\"correction\":0,\"retracted\":false,"
         "\"correction_reason\":null}"},
        {"funding.v3",
         "{\"event_id\":\"f-1\",\"occurred_at\":1734652800000,\"reported_at\":1734652800001,"
         "\"agency_id\":\"530000-ZGH\",\"region\":\"530000\",\"campaign\":\"2025 两节送温暖\","
         "\"amount_fen\":4000000000,\"source\":\"UNION_FUNDS\",\"purpose\":\"CASH_GRANT\","
         "\"recipients\":16000,\"target_group\":\"HARDSHIP_WORKERS\",\"disbursement\":"
         "\"UNION_CARD\",\"note\":\"慰问金\",\"correction\":2,\"retracted\":false,"
         "\"correction_reason\":\"金额录入错误：4亿应为4000万\"}"},
        {"survey.v2",
         "{\"event_id\":\"s-1\",\"occurred_at\":1734652800000,\"reported_at\":1734652800000,"
         "\"agency_id\":\"450200-ZGH\",\"region\":\"450200\",\"campaign\":null,\"method\":"
         "\"FORUM\",\"enterprises\":12,\"respondents\":300,\"topic\":\"WAGES\",\"satisfaction\":"
         "{\"s1\":1,\"s2\":2,\"s3\":30,\"s4\":100,\"s5\":167},\"needs\":[{\"need\":\"OTHER\","
         "\"count\":3}],\"correction\":1,\"retracted\":true,"
         "\"correction_reason\":\"重复上报\"}"},
        {"rollup.v2",
         "{\"window_kind\":\"CAMPAIGN\",\"window\":\"2025 两节送温暖\",\"region\":\"650100\","
         "\"level\":\"PREFECTURE\",\"revision\":3,\"event_count\":2,\"first_event_at\":1,"
         "\"last_event_at\":2,\"visits\":1,\"visits_by_activity\":{\"CONDOLENCE_VISIT\":1},"
         "\"workers_reached\":2100,\"workers_by_group\":{\"SANITATION\":2100},\"households\":0,"
         "\"staff\":12,\"funding_fen\":0,\"funding_by_source_fen\":{},"
         "\"funding_by_purpose_fen\":{},\"recipients\":0,\"surveys\":0,\"enterprises\":0,"
         "\"respondents\":0,\"satisfaction\":{\"s1\":0,\"s2\":0,\"s3\":0,\"s4\":0,\"s5\":0},"
         "\"needs\":{},\"corrections\":4}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct op_buf b = OP_BUF_INIT;
        encode_json(c, cases[i].schema, cases[i].json, &b);
        const char *w, *r;
        json_t *got = decode_json(c, b.data, b.len, &w, &r);
        assert_string_equal(w, cases[i].schema);
        assert_json_equal(got, cases[i].json);
        json_decref(got);
        op_buf_free(&b);
    }
    op_codec_destroy(c);
}

/* A deterministic pseudo-random value for any schema, to round-trip every shipped schema
 * without knowing its fields. */
static uint64_t rng = 42;
static uint32_t next_rand(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33);
}

static void fill_random(avro_value_t *v, int depth)
{
    avro_schema_t s = avro_value_get_schema(v);
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        avro_value_set_null(v);
        break;
    case AVRO_BOOLEAN:
        avro_value_set_boolean(v, (int)(next_rand() & 1));
        break;
    case AVRO_INT32:
        avro_value_set_int(v, (int32_t)next_rand());
        break;
    case AVRO_INT64:
        avro_value_set_long(v, (int64_t)(((uint64_t)next_rand() << 32) | next_rand()));
        break;
    case AVRO_STRING: {
        static const char *const words[] = {"", "送温暖", "Ürümqi", "a\"b\\c", "x"};
        const char *w = words[next_rand() % 5];
        avro_value_set_string(v, w);
        break;
    }
    case AVRO_ENUM:
        avro_value_set_enum(v,
                            (int)(next_rand() % (uint32_t)avro_schema_enum_number_of_symbols(s)));
        break;
    case AVRO_UNION: {
        avro_value_t br;
        avro_value_set_branch(v, (int)(next_rand() % avro_schema_union_size(s)), &br);
        fill_random(&br, depth + 1);
        break;
    }
    case AVRO_ARRAY:
    case AVRO_MAP: {
        size_t n = depth > 3 ? 0 : next_rand() % 4;
        for (size_t i = 0; i < n; i++) {
            avro_value_t child;
            char key[16];
            snprintf(key, sizeof key, "k%zu", i);
            if (avro_value_get_type(v) == AVRO_ARRAY)
                avro_value_append(v, &child, NULL);
            else
                avro_value_add(v, key, &child, NULL, NULL);
            fill_random(&child, depth + 1);
        }
        break;
    }
    case AVRO_RECORD: {
        size_t n;
        avro_value_get_size(v, &n);
        for (size_t i = 0; i < n; i++) {
            avro_value_t child;
            avro_value_get_by_index(v, i, &child, NULL);
            fill_random(&child, depth + 1);
        }
        break;
    }
    default:
        fail_msg("unexpected type in shipped schema");
    }
}

static void test_round_trip_every_schema_random(void **state)
{
    (void)state;
    struct op_codec *c = default_codec();
    for (size_t i = 0; i < op_codec_count(c); i++) {
        const struct op_schema *s = op_codec_at(c, i);
        if (op_codec_reader(c, s->type) != s)
            continue; /* older versions are covered by the evolution tests */
        for (int round = 0; round < 200; round++) {
            avro_value_t v;
            assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
            fill_random(&v, 0);
            struct op_buf b = OP_BUF_INIT;
            char err[256];
            assert_int_equal(op_codec_encode(s, &v, &b, err, sizeof err), 0);
            avro_value_t *out;
            int rc = op_codec_decode(c, b.data, b.len, &out, NULL, NULL, err, sizeof err);
            if (rc != 0)
                fail_msg("%s round %d: %s", s->name, round, err);
            assert_true(avro_value_equal(&v, out));
            /* JSON and back gives the same bytes. */
            json_t *j = op_avrojson_to_json(out);
            assert_non_null(j);
            avro_value_t again;
            assert_int_equal(avro_generic_value_new(s->iface, &again), 0);
            if (op_avrojson_from_json(s, &again, j, err, sizeof err) != 0)
                fail_msg("%s: from_json of to_json: %s", s->name, err);
            struct op_buf b2 = OP_BUF_INIT;
            assert_int_equal(op_codec_encode(s, &again, &b2, err, sizeof err), 0);
            assert_int_equal(b.len, b2.len);
            assert_memory_equal(b.data, b2.data, b.len);
            op_buf_free(&b2);
            avro_value_decref(&again);
            json_decref(j);
            op_buf_free(&b);
            avro_value_decref(&v);
        }
    }
    op_codec_destroy(c);
}

/* ---- evolution -------------------------------------------------------------------------- */

static void test_evolution_shipped(void **state)
{
    (void)state;
    struct op_codec *c = default_codec();
    struct op_buf b = OP_BUF_INIT;
    encode_json(c, "visit.v1", VISIT_V1, &b);
    const char *w, *r;
    json_t *got = decode_json(c, b.data, b.len, &w, &r);
    assert_string_equal(w, "visit.v1");
    assert_string_equal(r, "visit.v3");
    /* v1 fields as written; the fields v2 and v3 added carry their schema's defaults. */
    assert_json_equal(got, "{\"event_id\":\"e-1\",\"occurred_at\":1735700000000,"
                           "\"reported_at\":1735790000000,\"agency_id\":\"ACFTU-650102\","
                           "\"region\":\"650102\",\"campaign\":\"2025 两节送温暖\","
                           "\"activity\":\"CONDOLENCE_VISIT\",\"target_groups\":[\"SANITATION\","
                           "\"MIGRANT_WORKERS\"],\"workers_reached\":2100,\"households\":0,"
                           "\"staff\":12,\"duration_minutes\":0,\"venue\":\"UNSPECIFIED\","
                           "\"note\":null,\"correction\":0,\"retracted\":false,"
                           "\"correction_reason\":null}");
    json_decref(got);
    op_buf_free(&b);

    encode_json(c, "funding.v1",
                "{\"event_id\":\"f\",\"occurred_at\":1,\"reported_at\":2,\"agency_id\":\"a\","
                "\"region\":\"650102\",\"amount_fen\":123456789012,\"source\":\"ENTERPRISE\","
                "\"purpose\":\"GOODS\",\"recipients\":2100,\"target_group\":\"SANITATION\"}",
                &b);
    got = decode_json(c, b.data, b.len, &w, &r);
    assert_string_equal(r, "funding.v3");
    assert_json_equal(got, "{\"event_id\":\"f\",\"occurred_at\":1,\"reported_at\":2,"
                           "\"agency_id\":\"a\",\"region\":\"650102\",\"campaign\":null,"
                           "\"amount_fen\":123456789012,\"source\":\"ENTERPRISE\",\"purpose\":"
                           "\"GOODS\",\"recipients\":2100,\"target_group\":\"SANITATION\","
                           "\"disbursement\":\"UNSPECIFIED\",\"note\":null,"
                           "\"correction\":0,\"retracted\":false,\"correction_reason\":null}");
    json_decref(got);
    op_buf_free(&b);
    op_codec_destroy(c);
}

/* A writer and a reader written for this test, covering every resolution rule we rely on. */
static const char EVO_V1[] =
    "{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"t\",\"fields\":["
    "{\"name\":\"keep\",\"type\":\"string\"},"
    "{\"name\":\"dropped\",\"type\":{\"type\":\"array\",\"items\":\"long\"}},"
    "{\"name\":\"grow\",\"type\":\"int\"},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"color\",\"type\":{\"type\":\"enum\",\"name\":\"Color\",\"symbols\":"
    "[\"RED\",\"GREEN\",\"MAUVE\"]}},"
    "{\"name\":\"opt\",\"type\":\"string\"},"
    "{\"name\":\"u\",\"type\":[\"null\",\"int\"]},"
    "{\"name\":\"sub\",\"type\":{\"type\":\"record\",\"name\":\"Sub\",\"fields\":"
    "[{\"name\":\"a\",\"type\":\"int\"}]}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"int\"}}]}";
static const char EVO_V2[] =
    "{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"t\",\"fields\":["
    "{\"name\":\"keep\",\"type\":\"string\"},"
    "{\"name\":\"grow\",\"type\":\"long\"},"
    "{\"name\":\"f\",\"type\":\"double\"},"
    "{\"name\":\"color\",\"type\":{\"type\":\"enum\",\"name\":\"Color\",\"symbols\":"
    "[\"GREEN\",\"RED\",\"OTHER\"],\"default\":\"OTHER\"}},"
    "{\"name\":\"opt\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"u\",\"type\":[\"null\",\"long\"]},"
    "{\"name\":\"sub\",\"type\":{\"type\":\"record\",\"name\":\"Sub\",\"fields\":"
    "[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\",\"default\":\"β\"}]}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"long\"}},"
    "{\"name\":\"n_int\",\"type\":\"int\",\"default\":7},"
    "{\"name\":\"n_str\",\"type\":\"string\",\"default\":\"两节\"},"
    "{\"name\":\"n_enum\",\"type\":\"Color\",\"default\":\"RED\"},"
    "{\"name\":\"n_arr\",\"type\":{\"type\":\"array\",\"items\":\"int\"},\"default\":[1,2]},"
    "{\"name\":\"n_map\",\"type\":{\"type\":\"map\",\"values\":\"string\"},\"default\":{\"k\":"
    "\"v\"}},"
    "{\"name\":\"n_rec\",\"type\":\"Sub\",\"default\":{\"a\":5}},"
    "{\"name\":\"n_union\",\"type\":[\"null\",\"Sub\"],\"default\":null},"
    "{\"name\":\"n_bool\",\"type\":\"boolean\",\"default\":true},"
    "{\"name\":\"n_long\",\"type\":\"long\",\"default\":9007199254740993}]}";

static void test_evolution_all_rules(void **state)
{
    (void)state;
    struct op_codec *c = op_codec_new();
    char err[512];
    assert_int_equal(op_codec_add(c, "t.v1", EVO_V1, strlen(EVO_V1), err, sizeof err), 0);
    assert_int_equal(op_codec_add(c, "t.v2", EVO_V2, strlen(EVO_V2), err, sizeof err), 0);
    struct op_buf b = OP_BUF_INIT;
    encode_json(c, "t.v1",
                "{\"keep\":\"k\",\"dropped\":[1,2,3],\"grow\":-2147483648,\"f\":1.5,"
                "\"color\":\"RED\",\"opt\":\"present\",\"u\":42,\"sub\":{\"a\":1},"
                "\"m\":{\"x\":2147483647}}",
                &b);
    json_t *got = decode_json(c, b.data, b.len, NULL, NULL);
    assert_json_equal(got,
                      "{\"keep\":\"k\",\"grow\":-2147483648,\"f\":1.5,\"color\":\"RED\","
                      "\"opt\":\"present\",\"u\":42,\"sub\":{\"a\":1,\"b\":\"β\"},"
                      "\"m\":{\"x\":2147483647},\"n_int\":7,\"n_str\":\"两节\",\"n_enum\":"
                      "\"RED\",\"n_arr\":[1,2],\"n_map\":{\"k\":\"v\"},\"n_rec\":{\"a\":5,\"b\":"
                      "\"β\"},\"n_union\":null,\"n_bool\":true,\"n_long\":9007199254740993}");
    json_decref(got);
    op_buf_free(&b);

    /* A symbol the reader lacks resolves to the reader's enum default; null stays null. */
    encode_json(c, "t.v1",
                "{\"keep\":\"\",\"dropped\":[],\"grow\":0,\"f\":0,\"color\":\"MAUVE\","
                "\"opt\":\"\",\"u\":null,\"sub\":{\"a\":0},\"m\":{}}",
                &b);
    got = decode_json(c, b.data, b.len, NULL, NULL);
    json_t *color = json_object_get(got, "color");
    assert_string_equal(json_string_value(color), "OTHER");
    assert_true(json_is_null(json_object_get(got, "u")));
    json_decref(got);
    op_buf_free(&b);
    op_codec_destroy(c);
}

static void test_evolution_missing_default_fails(void **state)
{
    (void)state;
    struct op_codec *c = op_codec_new();
    char err[512];
    const char *w = "{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":"
                    "\"int\"}]}";
    const char *r = "{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":"
                    "\"int\"},{\"name\":\"b\",\"type\":\"int\"},{\"name\":\"e\",\"type\":{"
                    "\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\"]},\"default\":\"X\"}]}";
    assert_int_equal(op_codec_add(c, "t.v1", w, strlen(w), err, sizeof err), 0);
    assert_int_equal(op_codec_add(c, "t.v2", r, strlen(r), err, sizeof err), 0);
    struct op_buf b = OP_BUF_INIT;
    encode_json(c, "t.v1", "{\"a\":1}", &b);
    avro_value_t *v;
    int rc = op_codec_decode(c, b.data, b.len, &v, NULL, NULL, err, sizeof err);
    assert_int_equal(rc, OP_CODEC_ERR_RESOLVE);
    assert_string_equal(err, "t.v1 as t.v2: b: the writer lacks this field and the reader has "
                             "no default");
    op_buf_free(&b);
    op_codec_destroy(c);
}

/* ---- hostile input ---------------------------------------------------------------------- */

struct hostile {
    const char *what;
    const unsigned char *body;
    size_t len;
    int err;
    const char *reason; /* substring of the message */
};

/* Schema for the hostile cases: one of each length-carrying type. */
static const char HOSTILE_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"H\",\"fields\":["
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}},"
    "{\"name\":\"u\",\"type\":[\"null\",\"int\"]},"
    "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"null\"}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"long\"}}]}";

static void test_hostile_bodies(void **state)
{
    (void)state;
    struct op_codec *c = op_codec_new();
    char err[512];
    assert_int_equal(
        op_codec_add(c, "h.v1", HOSTILE_SCHEMA, strlen(HOSTILE_SCHEMA), err, sizeof err), 0);
    uint64_t fp = op_codec_by_name(c, "h.v1")->fingerprint;

    /* A valid body: s="ok", e=B, u=int 3, a=[] , m={} */
    static const unsigned char ok[] = {0x04, 'o', 'k', 0x02, 0x02, 0x06, 0x00, 0x00};
    static const unsigned char trunc_str[] = {0x0a, 0x01, 0x00};            /* len 5, 2 bytes */
    static const unsigned char neg_len[] = {0xff, 0x2f, 0x9b};              /* len -3072 */
    static const unsigned char huge_len[] = {0xfe, 0xff, 0xff, 0xff, 0x0f}; /* len 2^31-1 */
    static const unsigned char bad_enum[] = {0x00, 0x04, 0x00, 0x00, 0x00};
    static const unsigned char neg_enum[] = {0x00, 0x01, 0x00, 0x00, 0x00};
    static const unsigned char bad_union[] = {0x00, 0x00, 0x04, 0x00, 0x00};
    static const unsigned char many_nulls[] = {0x00, 0x00, 0x00, 0xfe, 0xff,
                                               0xff, 0xff, 0x0f, 0x00, 0x00};
    static const unsigned char map_count[] = {0x00, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0x0f, 0x00};
    static const unsigned char min_block[] = {0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
                                              0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const unsigned char long_varint[] = {0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 'k',
                                                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                0xff, 0xff, 0xff, 0x01, 0x00};
    static const unsigned char bad_utf8[] = {0x04, 0xc3, 0x28, 0x00, 0x00, 0x00, 0x00};
    static const unsigned char nul_str[] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const unsigned char trailing[] = {0x04, 'o', 'k', 0x02, 0x02, 0x06, 0x00, 0x00, 0x00};
    const struct hostile cases[] = {
        {"valid", ok, sizeof ok, 0, NULL},
        {"truncated string", trunc_str, sizeof trunc_str, OP_CODEC_ERR_MALFORMED,
         "s: string length 5 outside the 2 bytes left"},
        {"negative length", neg_len, sizeof neg_len, OP_CODEC_ERR_MALFORMED,
         "s: string length -3072 outside the 1 bytes left"},
        {"huge length", huge_len, sizeof huge_len, OP_CODEC_ERR_MALFORMED,
         "s: string length 2147483647 outside"},
        {"enum index", bad_enum, sizeof bad_enum, OP_CODEC_ERR_MALFORMED,
         "e: enum E index 2 out of range"},
        {"negative enum", neg_enum, sizeof neg_enum, OP_CODEC_ERR_MALFORMED,
         "e: enum E index -1 out of range"},
        {"union branch", bad_union, sizeof bad_union, OP_CODEC_ERR_MALFORMED,
         "u: union branch 2 out of range"},
        {"billion nulls", many_nulls, sizeof many_nulls, OP_CODEC_ERR_MALFORMED,
         "a: array claims 2147483647 items"},
        {"map count", map_count, sizeof map_count, OP_CODEC_ERR_MALFORMED,
         "m: map claims 16777215 items"},
        {"INT64_MIN block", min_block, sizeof min_block, OP_CODEC_ERR_MALFORMED,
         "m: block count out of range"},
        {"11-byte varint", long_varint, sizeof long_varint, OP_CODEC_ERR_MALFORMED,
         "m: long varint longer than 10 bytes"},
        {"invalid UTF-8", bad_utf8, sizeof bad_utf8, OP_CODEC_ERR_MALFORMED,
         "s: string is not UTF-8 or contains NUL"},
        {"NUL in string", nul_str, sizeof nul_str, OP_CODEC_ERR_MALFORMED,
         "s: string is not UTF-8 or contains NUL"},
        {"trailing byte", trailing, sizeof trailing, OP_CODEC_ERR_MALFORMED,
         "1 trailing bytes after the record"},
        {"empty body", ok, 0, OP_CODEC_ERR_MALFORMED, "s: truncated string length"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char msg[64];
        msg[0] = 0xC3;
        msg[1] = 0x01;
        for (int k = 0; k < 8; k++)
            msg[2 + k] = (unsigned char)(fp >> (8 * k));
        assert_true(cases[i].len <= sizeof msg - 10);
        memcpy(msg + 10, cases[i].body, cases[i].len);
        avro_value_t *v;
        err[0] = 0;
        int rc = op_codec_decode(c, msg, 10 + cases[i].len, &v, NULL, NULL, err, sizeof err);
        if (rc != cases[i].err)
            fail_msg("%s: rc %d (%s), want %d", cases[i].what, rc, err, cases[i].err);
        if (cases[i].reason && !strstr(err, cases[i].reason))
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].what, err, cases[i].reason);
    }
    op_codec_destroy(c);
}

static void test_hostile_framing(void **state)
{
    (void)state;
    struct op_codec *c = default_codec();
    char err[256];
    avro_value_t *v;
    static const unsigned char shortmsg[] = {0xC3, 0x01, 0x00};
    assert_int_equal(op_codec_decode(c, shortmsg, sizeof shortmsg, &v, NULL, NULL, err, sizeof err),
                     OP_CODEC_ERR_FRAMING);
    assert_string_equal(err, "3 bytes: shorter than the 10-byte single-object header");
    static const unsigned char confluent[] = {0x00, 0x00, 0x00, 0x00, 0x07, 0x02,
                                              0x41, 0x42, 0x43, 0x44, 0x45};
    assert_int_equal(
        op_codec_decode(c, confluent, sizeof confluent, &v, NULL, NULL, err, sizeof err),
        OP_CODEC_ERR_UNKNOWN);
    assert_string_equal(err, "schema id 7: Confluent framing, and no schema.registry.url to look "
                             "the id up");
    static const unsigned char other[] = {0x4F, 0x62, 0x6A, 0x01, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(op_codec_decode(c, other, sizeof other, &v, NULL, NULL, err, sizeof err),
                     OP_CODEC_ERR_FRAMING);
    assert_string_equal(
        err, "magic 4F 62: neither Avro single-object encoding (C3 01) nor Confluent framing (00)");
    static const unsigned char short_confluent[] = {0x00, 0x00, 0x01};
    assert_int_equal(op_codec_decode(c, short_confluent, sizeof short_confluent, &v, NULL, NULL,
                                     err, sizeof err),
                     OP_CODEC_ERR_FRAMING);
    assert_string_equal(err, "3 bytes: shorter than the 5-byte Confluent header");
    static const unsigned char unknown[] = {0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x00};
    assert_int_equal(op_codec_decode(c, unknown, sizeof unknown, &v, NULL, NULL, err, sizeof err),
                     OP_CODEC_ERR_UNKNOWN);
    assert_string_equal(err, "unknown schema fingerprint 0807060504030201");
    assert_string_equal(op_codec_err_name(OP_CODEC_ERR_UNKNOWN), "unknown-schema");
    op_codec_destroy(c);
}

/* Every prefix of a valid message fails cleanly (no crash, no leak under ASan/valgrind). */
static void test_every_truncation(void **state)
{
    (void)state;
    struct op_codec *c = default_codec();
    struct op_buf b = OP_BUF_INIT;
    encode_json(c, "visit.v1", VISIT_V1, &b);
    for (size_t n = 0; n < b.len; n++) {
        avro_value_t *v;
        char err[256];
        int rc = op_codec_decode(c, b.data, n, &v, NULL, NULL, err, sizeof err);
        assert_true(rc == OP_CODEC_ERR_FRAMING || rc == OP_CODEC_ERR_MALFORMED);
    }
    /* And a flipped byte anywhere in the body never crashes. */
    for (size_t i = OP_CODEC_HEADER_SIZE; i < b.len; i++) {
        unsigned char saved = b.data[i];
        for (int x = 1; x < 256; x <<= 1) {
            b.data[i] = (unsigned char)(saved ^ x);
            avro_value_t *v;
            char err[256];
            (void)op_codec_decode(c, b.data, b.len, &v, NULL, NULL, err, sizeof err);
        }
        b.data[i] = saved;
    }
    op_buf_free(&b);
    op_codec_destroy(c);
}

static void test_json_errors(void **state)
{
    (void)state;
    struct op_codec *c = default_codec();
    const struct op_schema *s = op_codec_by_name(c, "visit.v1");
    avro_value_t v;
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    static const struct {
        const char *json, *err;
    } cases[] = {
        {"{\"event_id\":1}", "event_id: expected a string, got an integer"},
        {"{\"event_id\":\"x\"}", "occurred_at: required field missing"},
        {"{\"event_id\":\"x\",\"bogus\":1}", "bogus: unknown field"},
        {"{\"event_id\":\"x\",\"occurred_at\":1,\"reported_at\":1,\"agency_id\":\"a\","
         "\"region\":\"1\",\"activity\":\"DANCE\"}",
         "activity: unknown value \"DANCE\" (expected one of CONDOLENCE_VISIT, HOME_VISIT,"},
        {"{\"event_id\":\"x\",\"occurred_at\":1,\"reported_at\":1,\"agency_id\":\"a\","
         "\"region\":\"1\",\"activity\":\"FORUM\",\"target_groups\":[\"SANITATION\",5]}",
         "target_groups[1]: expected a symbol string, got an integer"},
        {"{\"event_id\":\"x\",\"occurred_at\":1,\"reported_at\":1,\"agency_id\":\"a\","
         "\"region\":\"1\",\"activity\":\"FORUM\",\"target_groups\":[],\"workers_reached\":"
         "3000000000}",
         "workers_reached: 3000000000 does not fit a 32-bit int"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_loads(cases[i].json, 0, NULL);
        assert_non_null(j);
        char err[512];
        assert_int_equal(op_avrojson_from_json(s, &v, j, err, sizeof err), -1);
        if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
            fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, err, cases[i].err);
        json_decref(j);
    }
    avro_value_decref(&v);
    op_codec_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc64_vectors),
        cmocka_unit_test(test_canonical_form),
        cmocka_unit_test(test_canonical_form_named_reuse),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_single_object_framing),
        cmocka_unit_test(test_round_trip_events),
        cmocka_unit_test(test_round_trip_every_schema_random),
        cmocka_unit_test(test_evolution_shipped),
        cmocka_unit_test(test_evolution_all_rules),
        cmocka_unit_test(test_evolution_missing_default_fails),
        cmocka_unit_test(test_hostile_bodies),
        cmocka_unit_test(test_hostile_framing),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_json_errors),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
