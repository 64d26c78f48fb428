/* The producer's conversion on several threads at once, and what makes that safe: avro-c
 * (Debian's libavro 1.11, built without THREADSAFE) writes its error message into one
 * process-wide buffer, so no conversion, good or bad, and no decode with schema resolution may
 * take an avro-c path that writes it (common/codec.h). The threaded test is the one
 * `make tsan-test` would catch racing; the sentinel test catches a write on any build. */
#include "producer_test.h"

#include <pthread.h>

#include "avrojson.h"

#define SENTINEL "sentinel: no avro-c error since"

/* Records with the verdict each must get (a prefix of it for the long enum message): the
 * good ones of every type, and the input mistakes that used to reach avro-c's lookups by name
 * (an unknown key, an unknown symbol) or its field probes (survey has no "note"). */
static const struct {
    const char *base, *patch, *verdict;
} cases[] = {
    {VISIT, "{}", "OK"},
    {FUNDING, "{}", "OK"},
    {SURVEY, "{}", "OK"},
    {VISIT, "{\"colour\":\"blue\"}", "colour: unknown field"},
    {SURVEY, "{\"colour\":\"blue\"}", "colour: unknown field"},
    {VISIT, "{\"activity\":\"NOPE\"}", "activity: unknown value \"NOPE\" (expected one of "},
    {SURVEY, "{\"topic\":\"NOPE\"}", "topic: unknown value \"NOPE\" (expected one of "},
    {FUNDING, "{\"source\":\"NOPE\"}", "source: unknown value \"NOPE\" (expected one of "},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* The records as JSON lines, made once before any thread starts (read-only after). */
static char *lines[NCASES];

static int make_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++)
        lines[i] = variant(cases[i].base, cases[i].patch, 0);
    return 0;
}

static int free_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++) {
        free(lines[i]);
        lines[i] = NULL;
    }
    return 0;
}

static int verdict_ok(const char *got, const char *want)
{
    return strcmp(want, "OK") == 0 ? strcmp(got, "OK") == 0 : strncmp(got, want, strlen(want)) == 0;
}

/* Both JSON paths (the fast one falls back for what it cannot take) and CSV. */
static const char *generic_verdict(struct fx *f, const char *line)
{
    char field[PRODUCER_FIELD_MAX] = "", reason[PRODUCER_REASON_MAX] = "";
    struct producer_rec rec;
    if (producer_conv_json_generic(&f->conv, line, strlen(line), NOW, &rec, field, sizeof field,
                                   reason, sizeof reason) == 0)
        return "OK";
    snprintf(f->out, sizeof f->out, "%s: %s", field, reason);
    return f->out;
}

static void convert_all(struct fx *f)
{
    for (size_t i = 0; i < NCASES; i++) {
        const char *got = json_verdict(f, lines[i], NULL);
        if (!verdict_ok(got, cases[i].verdict))
            fail_msg("%s\n  got:  %s\n  want: %s", lines[i], got, cases[i].verdict);
        got = generic_verdict(f, lines[i]);
        if (!verdict_ok(got, cases[i].verdict))
            fail_msg("generic %s\n  got:  %s\n  want: %s", lines[i], got, cases[i].verdict);
    }
    if (strcmp(csv_verdict(f, CSV_HEADER, CSV_SURVEY, NULL), "OK") != 0 ||
        strcmp(csv_verdict(f, CSV_HEADER, CSV_VISIT, NULL), "OK") != 0)
        fail_msg("CSV: %s", f->out);
}

/* visit.v1 (no note, no correction fields) as test_codec.c writes it. */
#define VISIT_V1_JSON                                                                              \
    "{\"event_id\":\"e-1\",\"occurred_at\":1735700000000,\"reported_at\":1735790000000,"           \
    "\"agency_id\":\"ACFTU-650102\",\"region\":\"650102\",\"campaign\":\"2025 两节送温暖\","  \
    "\"activity\":\"CONDOLENCE_VISIT\",\"target_groups\":[\"SANITATION\",\"MIGRANT_WORKERS\"],"    \
    "\"workers_reached\":2100,\"households\":0,\"staff\":12}"

/* Decoding an old version resolves it to the newest: the reader's fields the writer lacks. */
static void decode_old_version(struct op_codec *c)
{
    const struct op_schema *v1 = op_codec_by_name(c, "visit.v1");
    assert_non_null(v1);
    json_t *j = json_loads(VISIT_V1_JSON, 0, NULL);
    assert_non_null(j);
    avro_value_t v;
    char err[512];
    struct op_buf b = OP_BUF_INIT;
    assert_int_equal(avro_generic_value_new(v1->iface, &v), 0);
    if (op_avrojson_from_json(v1, &v, j, err, sizeof err) != 0 ||
        op_codec_encode(v1, &v, &b, err, sizeof err) != 0)
        fail_msg("visit.v1: %s", err);
    avro_value_t *out;
    const struct op_schema *w, *r;
    int rc = op_codec_decode(c, b.data, b.len, &out, &w, &r, err, sizeof err);
    if (rc != 0)
        fail_msg("decode: %s", err);
    assert_string_equal(w->name, "visit.v1");
    assert_string_equal(r->name, "visit.v3");
    op_buf_free(&b);
    avro_value_decref(&v);
    json_decref(j);
}

static void test_no_avro_error_written(void **state)
{
    struct fx *f = *state;
    avro_set_error(SENTINEL);
    convert_all(f);
    decode_old_version(f->codec);
    assert_string_equal(avro_strerror(), SENTINEL);
}

/* op_codec_field_index and op_codec_enum_index against the schema text itself. */
static void test_lookups_match_schema_text(void **state)
{
    struct fx *f = *state;
    size_t checked = 0;
    for (size_t k = 0; k < op_codec_count(f->codec); k++) {
        const struct op_schema *s = op_codec_at(f->codec, k);
        json_t *fields = json_object_get(s->json, "fields");
        size_t i;
        json_t *fd;
        json_array_foreach(fields, i, fd)
        {
            const char *name = json_string_value(json_object_get(fd, "name"));
            assert_int_equal(op_codec_field_index(s->schema, name), (int)i);
            json_t *ty = json_object_get(fd, "type");
            if (json_is_object(ty) && json_is_string(json_object_get(ty, "type")) &&
                strcmp(json_string_value(json_object_get(ty, "type")), "enum") == 0) {
                avro_schema_t e = avro_schema_record_field_get_by_index(s->schema, (int)i);
                size_t si;
                json_t *sym;
                json_array_foreach(json_object_get(ty, "symbols"), si, sym)
                {
                    assert_int_equal(op_codec_enum_index(e, json_string_value(sym)), (int)si);
                    checked++;
                }
                assert_int_equal(op_codec_enum_index(e, "NO_SUCH_SYMBOL"), -1);
                /* not an enum schema: -1, not a crash */
                const char *first =
                    json_string_value(json_array_get(json_object_get(ty, "symbols"), 0));
                assert_int_equal(op_codec_enum_index(s->schema, first), -1);
            }
            checked++;
        }
        assert_int_equal(op_codec_field_index(s->schema, "no_such_field"), -1);
        assert_int_equal(op_codec_field_index(s->schema, ""), -1);
    }
    assert_true(checked > 100);
}

/* ---- several workers at once --------------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 50

struct worker {
    pthread_t thread;
    struct fx *f;
    int rounds_done;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t i = 0; i < NCASES; i++) {
            if (!verdict_ok(json_verdict(w->f, lines[i], NULL), cases[i].verdict) ||
                !verdict_ok(generic_verdict(w->f, lines[i]), cases[i].verdict))
                return NULL;
        }
        w->rounds_done++;
    }
    return NULL;
}

/* Each worker with its own codec and conversion context, as producer.threads starts them. */
static void test_workers_convert_at_once(void **state)
{
    (void)state;
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].f = fx_new(-1);
        w[i].rounds_done = 0;
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(w[i].thread, NULL);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].rounds_done, ROUNDS);
        void *st = w[i].f;
        teardown(&st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_avro_error_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookups_match_schema_text, setup, teardown),
        cmocka_unit_test(test_workers_convert_at_once),
    };
    return cmocka_run_group_tests(tests, make_lines, free_lines);
}
