/* Unit tests of outreach-producer's record conversion without a broker: timestamps, every
 * validation rule of a JSON record with its exact message, and derived event ids (stable, and
 * equal to an independent Python computation). CSV records: test_producer_csv.c. */
#include "producer_test.h"

/* ---- timestamps ------------------------------------------------------------------------- */

static void test_ts_valid(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } v[] = {
        /* reference values from Python's datetime.fromisoformat */
        {"2025-01-15T10:30:00+08:00", INT64_C(1736908200000)},
        {"2025-01-15T02:30:00Z", INT64_C(1736908200000)},
        {"2025-01-15t02:30:00z", INT64_C(1736908200000)},
        {"2025-01-15 10:30:00+08:00", INT64_C(1736908200000)},
        {"2025-01-15T10:30+08:00", INT64_C(1736908200000)},
        {"2000-01-01T00:00:00+08:00", INT64_C(946656000000)},
        {"2024-02-29T23:59:59.999-05:30", INT64_C(1709270999999)},
        {"2024-02-29T23:59:59.5-05:30", INT64_C(1709270999500)},
        {"2024-02-29T23:59:59.120000000-05:30", INT64_C(1709270999120)},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59Z", INT64_C(-1000)},
        {"2000-02-29T12:00:00+00:00", INT64_C(951825600000)},
        {"2100-12-31T23:59:59+14:00", INT64_C(4133930399000)},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int64_t ms = -42;
        const char *why = NULL;
        if (producer_ts_parse(v[i].text, strlen(v[i].text), &ms, &why) != 0)
            fail_msg("%s: %s", v[i].text, why);
        if (ms != v[i].ms)
            fail_msg("%s: %lld, want %lld", v[i].text, (long long)ms, (long long)v[i].ms);
    }
}

static void test_ts_invalid(void **state)
{
    (void)state;
    static const char syntax[] = "expected YYYY-MM-DDThh:mm:ss[.sss] and Z or ±hh:mm";
    static const struct {
        const char *text, *why;
    } v[] = {
        {"2025-02-30T10:00:00+08:00", "day out of range"},
        {"2023-02-29T10:00:00+08:00", "day out of range"},
        {"1900-02-29T10:00:00+08:00", "day out of range"},
        {"2025-04-31T10:00:00+08:00", "day out of range"},
        {"2025-01-00T10:00:00+08:00", "day out of range"},
        {"2025-13-01T10:00:00+08:00", "month out of range"},
        {"2025-00-01T10:00:00+08:00", "month out of range"},
        {"2025-01-15T24:00:00+08:00", "hour out of range"},
        {"2025-01-15T10:60:00+08:00", "minute out of range"},
        {"2025-01-15T10:30:60+08:00", "second out of range"},
        {"2025-01-15T10:30:00+24:00", "UTC offset out of range"},
        {"2025-01-15T10:30:00+08:60", "UTC offset out of range"},
        {"2025-01-15T10:30:00", "no UTC offset (add Z or an offset such as +08:00)"},
        {"2025-01-15T10:30:00.1234+08:00", "more precise than a millisecond"},
        {"2025-01-15", syntax},
        {"2025-1-15T10:30:00+08:00", syntax},
        {"2025/01/15T10:30:00+08:00", syntax},
        {"2025-01-15T10:30:00+0800", syntax},
        {"2025-01-15T10:30:00+08", syntax},
        {"2025-01-15T10:30:00.+08:00", syntax},
        {"2025-01-15T10:30:00+08:00 ", syntax},
        {"2025-01-15T10:30:00 +08:00", syntax},
        {"tomorrow", syntax},
        {"", syntax},
        {"2025-01-15T10:30:00.1230000000+08:00", syntax},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int64_t ms = -42;
        const char *why = NULL;
        if (producer_ts_parse(v[i].text, strlen(v[i].text), &ms, &why) == 0)
            fail_msg("%s: accepted as %lld", v[i].text, (long long)ms);
        if (strcmp(why, v[i].why) != 0)
            fail_msg("%s: \"%s\", want \"%s\"", v[i].text, why, v[i].why);
    }
}

/* ---- JSON records: every rule with its exact message ------------------------------------ */

static void test_json_valid_examples(void **state)
{
    struct fx *f = *state;
    struct producer_rec rec;
    assert_string_equal(json_verdict(f, "{" VISIT "}", &rec), "OK");
    assert_int_equal(rec.type, OP_EVENT_VISIT);
    assert_string_equal(rec.key, "530000");
    assert_string_equal(rec.ev.event_id, "t-1");
    assert_int_equal(rec.ev.occurred_at, INT64_C(1736128800000));
    assert_int_equal(rec.derived, 0);
    assert_string_equal(json_verdict(f, "{" FUNDING "}", &rec), "OK");
    assert_int_equal(rec.ev.amount_fen, 6000000);
    assert_string_equal(json_verdict(f, "{" SURVEY "}", &rec), "OK");
    assert_string_equal(rec.key, "370000");
    assert_int_equal(rec.ev.n_needs, 2);
    /* Integer milliseconds, and a null event_id that is derived. */
    expect_variant(f, VISIT, "{\"occurred_at\":1736128800000,\"event_id\":null}", 0, "OK");
    /* v2 fields, and an empty needs list. */
    expect_variant(f, VISIT, "{\"duration_minutes\":90,\"venue\":\"HOME\",\"note\":\"备注\"}", 0,
                   "OK");
    expect_variant(f, SURVEY, "{\"needs\":[],\"satisfaction\":{}}", 0, "OK");
}

static void test_json_syntax_messages(void **state)
{
    struct fx *f = *state;
    assert_string_equal(
        json_verdict(f, "{\"type\":\"visit\",", NULL),
        "record: invalid JSON: string or '}' expected near end of file (column 16)");
    assert_string_equal(json_verdict(f, "[1,2]", NULL),
                        "record: expected a JSON object, got an array");
    assert_string_equal(json_verdict(f, "{\"type\":\"visit\",\"type\":\"visit\"}", NULL),
                        "record: invalid JSON: duplicate object key near '\"type\"' (column 22)");
    assert_string_equal(json_verdict(f, "{\"event_id\":\"x\"}", NULL),
                        "type: missing (expected visit, funding or survey)");
    assert_string_equal(
        json_verdict(f, "{\"type\":\"meeting\"}", NULL),
        "type: unknown record type \"meeting\" (expected visit, funding or survey)");
    assert_string_equal(json_verdict(f, "{\"type\":3}", NULL),
                        "type: expected a string, got an integer");
}

static void test_json_field_messages(void **state)
{
    struct fx *f = *state;
    expect_variant(f, VISIT, "{\"staff\":null}", 1, "staff: required field missing");
    expect_variant(f, VISIT, "{\"colour\":\"red\"}", 0, "colour: unknown field");
    expect_variant(f, VISIT, "{\"amount_fen\":5}", 0, "amount_fen: unknown field");
    /* An empty key is named as "" (make fuzz found the error without a field). */
    expect_variant(f, VISIT, "{\"\":\"FORUM\"}", 0, "\"\": unknown field");
    expect_variant(f, VISIT, "{\"workers_reached\":\"300\"}", 0,
                   "workers_reached: expected an integer, got a string");
    expect_variant(f, VISIT, "{\"workers_reached\":3.5}", 0,
                   "workers_reached: expected an integer, got a number");
    expect_variant(f, VISIT, "{\"workers_reached\":3000000000}", 0,
                   "workers_reached: 3000000000 does not fit a 32-bit int");
    expect_variant(f, VISIT, "{\"activity\":\"PARTY\"}", 0,
                   "activity: unknown value \"PARTY\" (expected one of CONDOLENCE_VISIT, "
                   "HOME_VISIT, FORUM, FREE_CLINIC, HEALTH_CHECK, LEGAL_AID, JOB_FAIR, "
                   "SKILLS_TRAINING, PSYCHOLOGICAL_SERVICE, MEALS, PERFORMANCE, OTHER)");
    expect_variant(f, VISIT, "{\"target_groups\":[\"SANITATION\",\"RIDERS\"]}", 0,
                   "target_groups[1]: unknown value \"RIDERS\" (expected one of HARDSHIP_WORKERS, "
                   "MIGRANT_WORKERS, MODEL_WORKERS_CRAFTSMEN, POLICE_FIRE_BORDER, "
                   "BORDER_FRONTLINE, PUBLIC_SERVICE_FRONTLINE, PLATEAU_LAKE_FRONTLINE, "
                   "ON_DUTY_HOLIDAY, NEW_EMPLOYMENT_FORMS, SANITATION, CONSTRUCTION, "
                   "DISPATCHED_LABOR, OTHER)");
    expect_variant(f, VISIT, "{\"target_groups\":\"SANITATION\"}", 0,
                   "target_groups: expected an array, got a string");
    expect_variant(f, VISIT, "{\"campaign\":5}", 0, "campaign: expected a string, got an integer");
    expect_variant(f, SURVEY, "{\"satisfaction\":{\"s6\":1}}", 0, "satisfaction.s6: unknown field");
    expect_variant(f, SURVEY, "{\"needs\":[{\"need\":\"HOUSING\"}]}", 0,
                   "needs[0].count: required field missing");
    /* Timestamps */
    expect_variant(
        f, VISIT, "{\"occurred_at\":\"2025-02-30T10:00:00+08:00\"}", 0,
        "occurred_at: invalid timestamp \"2025-02-30T10:00:00+08:00\": day out of range");
    expect_variant(f, VISIT, "{\"reported_at\":\"2025-01-08 17:30\"}", 0,
                   "reported_at: invalid timestamp \"2025-01-08 17:30\": no UTC offset (add Z or "
                   "an offset such as +08:00)");
    expect_variant(f, VISIT, "{\"occurred_at\":true}", 0,
                   "occurred_at: expected an RFC 3339 string or integer milliseconds, got a "
                   "boolean");
    expect_variant(f, VISIT, "{\"occurred_at\":1.5e12}", 0,
                   "occurred_at: expected an RFC 3339 string or integer milliseconds, got a "
                   "number");
    expect_variant(
        f, VISIT, "{\"occurred_at\":\"2025-01-06T10:00:00+08:00 and some more text here\"}", 0,
        "occurred_at: invalid timestamp \"2025-01-06T10:00:00+08:00 and some more ...\": "
        "expected YYYY-MM-DDThh:mm:ss[.sss] and Z or ±hh:mm");
    /* Quoted input is cut at a character boundary, never inside one. */
    expect_variant(f, VISIT, "{\"occurred_at\":\"二〇二五年一月六日上午十点整北京时间\"}", 0,
                   "occurred_at: invalid timestamp \"二〇二五年一月六日上午十点...\": "
                   "expected YYYY-MM-DDThh:mm:ss[.sss] and Z or ±hh:mm");
}

/* The shared rules of common/event.c, as the producer reports them. */
static void test_validation_messages(void **state)
{
    struct fx *f = *state;
    char long_id[200], long_agency[100], long_campaign[200], patch[512];
    memset(long_id, 'i', 129);
    long_id[129] = 0;
    memset(long_agency, 'a', 65);
    long_agency[65] = 0;
    memset(long_campaign, 'c', 129);
    long_campaign[129] = 0;

    expect_variant(f, VISIT, "{\"event_id\":\"\"}", 0, "event_id: must not be empty");
    snprintf(patch, sizeof patch, "{\"event_id\":\"%s\"}", long_id);
    expect_variant(f, VISIT, patch, 0, "event_id: 129 bytes, at most 128");
    expect_variant(f, VISIT, "{\"event_id\":\"a\\tb\"}", 0,
                   "event_id: contains a control character");
    expect_variant(f, VISIT, "{\"agency_id\":\"\"}", 0, "agency_id: must not be empty");
    snprintf(patch, sizeof patch, "{\"agency_id\":\"%s\"}", long_agency);
    expect_variant(f, VISIT, patch, 0, "agency_id: 65 bytes, at most 64");
    snprintf(patch, sizeof patch, "{\"campaign\":\"%s\"}", long_campaign);
    expect_variant(f, VISIT, patch, 0, "campaign: 129 bytes, at most 128");
    expect_variant(f, VISIT, "{\"campaign\":\"a\\u0001\"}", 0,
                   "campaign: contains a control character");
    /* note (v2): free text with line breaks and tabs, but no other control character. */
    expect_variant(f, VISIT, "{\"note\":\"a\\u0007b\"}", 0,
                   "note: contains a control character (only tab and line breaks are allowed)");
    expect_variant(f, VISIT, "{\"note\":\"\\u001b[31mred\"}", 0,
                   "note: contains a control character (only tab and line breaks are allowed)");
    expect_variant(f, VISIT, "{\"note\":\"two\\r\\nlines\\tand a tab\"}", 0, "OK");
    expect_variant(f, VISIT, "{\"note\":\"仓前山社区工会驿站 米时和元宵\"}", 0, "OK");

    expect_variant(f, VISIT, "{\"occurred_at\":\"1999-12-31T23:59:59+08:00\"}", 0,
                   "occurred_at: before 2000-01-01");
    expect_variant(f, VISIT,
                   "{\"occurred_at\":\"2025-06-01T00:11:00Z\",\"reported_at\":"
                   "\"2025-06-01T00:12:00Z\"}",
                   0, "occurred_at: 660 s in the future (allowed skew 600 s)");
    expect_variant(f, VISIT,
                   "{\"occurred_at\":\"2025-06-01T00:10:00Z\",\"reported_at\":"
                   "\"2025-06-01T00:10:00Z\"}",
                   0, "OK"); /* exactly at the skew: still fine */
    expect_variant(f, VISIT, "{\"reported_at\":\"2026-01-01T00:00:00Z\"}", 0,
                   "reported_at: 18489600 s in the future (allowed skew 600 s)");
    expect_variant(f, VISIT, "{\"reported_at\":\"2025-01-06T09:59:59+08:00\"}", 0,
                   "reported_at: before occurred_at");

    expect_variant(f, VISIT, "{\"region\":\"539999\"}", 0,
                   "region: unknown region code \"539999\"");
    expect_variant(f, VISIT, "{\"region\":\"53\"}", 0, "region: unknown region code \"53\"");
    expect_variant(f, VISIT, "{\"region\":\"650102\"}", 0,
                   "region: agency 530000-ZGH is not authorised for region 650102");
    expect_variant(f, VISIT, "{\"agency_id\":\"999999-ZGH\"}", 0,
                   "region: agency 999999-ZGH is not authorised for region 530622");
    expect_variant(f, SURVEY, "{\"region\":\"370200\"}", 0,
                   "region: agency 370212-ZGH is not authorised for region 370200");

    expect_variant(f, VISIT, "{\"workers_reached\":-1}", 0, "workers_reached: -1 is negative");
    expect_variant(f, VISIT, "{\"workers_reached\":10000001}", 0,
                   "workers_reached: 10000001 exceeds the limit of 10000000");
    expect_variant(f, VISIT, "{\"workers_reached\":10000000}", 0, "OK");
    expect_variant(f, VISIT, "{\"households\":-2}", 0, "households: -2 is negative");
    expect_variant(f, VISIT, "{\"staff\":20000000}", 0,
                   "staff: 20000000 exceeds the limit of 10000000");
    expect_variant(f, VISIT, "{\"target_groups\":[\"SANITATION\",\"OTHER\",\"SANITATION\"]}", 0,
                   "target_groups: entry 2 repeats entry 0");
    expect_variant(f, VISIT, "{\"target_groups\":[]}", 0,
                   "target_groups: at least one group is required");
    expect_variant(f, VISIT,
                   "{\"target_groups\":[\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\","
                   "\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\","
                   "\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\",\"OTHER\"]}",
                   0, "target_groups: 17 groups, at most 16");

    expect_variant(f, FUNDING, "{\"amount_fen\":-100}", 0, "amount_fen: -100 is negative");
    expect_variant(f, FUNDING, "{\"amount_fen\":100000000001}", 0,
                   "amount_fen: 100000000001 exceeds the limit of 100000000000");
    expect_variant(f, FUNDING, "{\"recipients\":-1}", 0, "recipients: -1 is negative");

    expect_variant(f, SURVEY, "{\"enterprises\":-1}", 0, "enterprises: -1 is negative");
    expect_variant(f, SURVEY, "{\"respondents\":10000001}", 0,
                   "respondents: 10000001 exceeds the limit of 10000000");
    expect_variant(f, SURVEY, "{\"satisfaction\":{\"s3\":-4}}", 0,
                   "satisfaction.s3: -4 is negative");
    expect_variant(f, SURVEY, "{\"satisfaction\":{\"s1\":40,\"s5\":9}}", 0,
                   "satisfaction: s1+s2+s3+s4+s5 = 49 exceeds respondents (48)");
    expect_variant(f, SURVEY, "{\"needs\":[{\"need\":\"HOUSING\",\"count\":-3}]}", 0,
                   "needs[0].count: -3 is negative");
    expect_variant(f, SURVEY,
                   "{\"needs\":[{\"need\":\"HOUSING\",\"count\":3},{\"need\":\"MEDICAL\","
                   "\"count\":1},{\"need\":\"HOUSING\",\"count\":2}]}",
                   0, "needs[2].need: repeats needs[0]");
}

/* ---- derived ids ------------------------------------------------------------------------ */

static const char *id_of(struct fx *f, const char *line, char *buf)
{
    struct producer_rec rec;
    const char *v = json_verdict(f, line, &rec);
    if (strcmp(v, "OK") != 0)
        fail_msg("%s: %s", line, v);
    assert_int_equal(rec.derived, 1);
    strcpy(buf, rec.id);
    return buf;
}

#define NOID_VISIT                                                                                 \
    "{\"type\":\"visit\",\"occurred_at\":\"2024-12-23T10:00:00+08:00\",\"reported_at\":"           \
    "\"2024-12-27T09:00:00+08:00\",\"agency_id\":\"530000-ZGH\",\"region\":\"530100\","            \
    "\"campaign\":\"2025 两节送温暖\",\"activity\":\"FREE_CLINIC\",\"target_groups\":["       \
    "\"PUBLIC_SERVICE_FRONTLINE\",\"OTHER\"],\"workers_reached\":150,\"households\":0,"            \
    "\"staff\":6}"

static void test_id_stability(void **state)
{
    struct fx *f = *state;
    char a[PRODUCER_ID_SIZE], b[PRODUCER_ID_SIZE];
    id_of(f, NOID_VISIT, a);
    assert_int_equal(strlen(a), 34);
    assert_memory_equal(a, "d-", 2);
    /* Key order, export time, the same instant in another offset, set order of the groups,
     * v2 fields written out with their defaults: the same event, the same id. */
    static const char *const same[] = {
        "{\"staff\":6,\"households\":0,\"workers_reached\":150,\"target_groups\":[\"OTHER\","
        "\"PUBLIC_SERVICE_FRONTLINE\"],\"activity\":\"FREE_CLINIC\",\"campaign\":\"2025 "
        "两节送温暖\",\"region\":\"530100\",\"agency_id\":\"530000-ZGH\",\"reported_at\":"
        "\"2025-03-01T00:00:00Z\",\"occurred_at\":\"2024-12-23T02:00:00Z\",\"type\":\"visit\"}",
        "{\"type\":\"visit\",\"occurred_at\":1734919200000,\"reported_at\":1734919200000,"
        "\"agency_id\":\"530000-ZGH\",\"region\":\"530100\",\"campaign\":\"2025 两节送温暖\","
        "\"activity\":\"FREE_CLINIC\",\"target_groups\":[\"PUBLIC_SERVICE_FRONTLINE\",\"OTHER\"],"
        "\"workers_reached\":150,\"households\":0,\"staff\":6,\"duration_minutes\":0,\"venue\":"
        "\"UNSPECIFIED\",\"note\":null,\"event_id\":null}",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        assert_string_equal(id_of(f, same[i], b), a);
    /* Any other field changes the id. */
    static const char *const other[] = {
        "{\"workers_reached\":151}",
        "{\"occurred_at\":\"2024-12-23T10:00:01+08:00\"}",
        "{\"campaign\":null}",
        "{\"region\":\"530102\"}",
        "{\"agency_id\":\"530100-ZGH\"}",
        "{\"note\":\"上午场\"}",
        "{\"venue\":\"ONLINE\"}",
        "{\"target_groups\":[\"OTHER\"]}",
    };
    struct fx *open = fx_new(-1);
    op_authz_set_default_allow(open->authz, 1);
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        char base[1024];
        snprintf(base, sizeof base, "%.*s", (int)strlen(NOID_VISIT) - 2, NOID_VISIT + 1);
        char *line = variant(base, other[i], 0);
        id_of(open, line, b);
        if (strcmp(a, b) == 0)
            fail_msg("%s: same id %s", other[i], a);
        free(line);
    }
    void *st = open;
    teardown(&st);
    /* The same row as CSV gets the same id as JSON. */
    struct producer_rec rec;
    assert_string_equal(csv_verdict(f, CSV_HEADER,
                                    "visit,,2024-12-23T10:00:00+08:00,2024-12-27T09:00:00+08:00,"
                                    "530000-ZGH,530100,2025 两节送温暖,FREE_CLINIC,"
                                    "OTHER;PUBLIC_SERVICE_FRONTLINE,150,0,6,,,,,,,,,,,,,,,",
                                    &rec),
                        "OK");
    assert_string_equal(rec.id, a);
    /* The published value carries the id. */
    assert_string_equal(rec.ev.event_id, a);
}

#define GOLDEN_VISIT "d-1f1788ab0f37724803de9897c82c263b"
#define GOLDEN_SURVEY "d-7553ffdc1d20753ab7c3d0e0d90f1b1b"
#define GOLDEN_FUNDING "d-2d599ed8e02cfe44c83a7361e9ee71c1"
#define GOLDEN_SURVEY_EMPTY "d-d2e84be26c1539b4d4ed88ae81fbf1c0"

/* Ids computed by tests/integration/producer_check.py (an independent implementation of the
 * algorithm in docs/producer.md); a change here means every derived id changes. */
static void test_id_golden(void **state)
{
    struct fx *f = *state;
    char b[PRODUCER_ID_SIZE];
    assert_string_equal(id_of(f, NOID_VISIT, b), GOLDEN_VISIT);
    assert_string_equal(
        id_of(f,
              "{\"type\":\"survey\",\"occurred_at\":\"2024-05-20T09:00:00+08:00\","
              "\"reported_at\":\"2024-06-03T10:00:00+08:00\",\"agency_id\":"
              "\"450200-ZGH\",\"region\":\"450200\",\"method\":\"MIXED\","
              "\"enterprises\":12,\"respondents\":360,\"topic\":\"WAGES\","
              "\"satisfaction\":{\"s1\":0,\"s2\":0,\"s3\":0,\"s4\":0,\"s5\":0},"
              "\"needs\":[{\"need\":\"PAY_RAISE\",\"count\":210},{\"need\":"
              "\"SKILLS_TRAINING\",\"count\":95},{\"need\":\"OTHER\",\"count\":20}]}",
              b),
        GOLDEN_SURVEY);
    assert_string_equal(
        id_of(f,
              "{\"type\":\"funding\",\"occurred_at\":\"2024-12-22T10:00:00+08:00\","
              "\"reported_at\":\"2024-12-23T18:00:00+08:00\",\"agency_id\":"
              "\"530000-ZGH\",\"region\":\"530622\",\"campaign\":\"2025 两节送温暖\","
              "\"amount_fen\":42000000,\"source\":\"UNION_FUNDS\",\"purpose\":"
              "\"GOODS\",\"recipients\":2100,\"target_group\":\"SANITATION\","
              "\"disbursement\":\"IN_KIND\",\"note\":\"大米、面粉、食用油 \\\"a\\\\b\\\"\\n\"}",
              b),
        GOLDEN_FUNDING);
    /* An empty array (no needs reported). */
    assert_string_equal(
        id_of(f,
              "{\"type\":\"survey\",\"occurred_at\":\"2024-12-21T15:00:00+08:00\","
              "\"reported_at\":\"2024-12-23T09:00:00+08:00\",\"agency_id\":"
              "\"370212-ZGH\",\"region\":\"370212\",\"campaign\":\"2025 两节送温暖\","
              "\"method\":\"QUESTIONNAIRE\",\"enterprises\":0,\"respondents\":300,"
              "\"topic\":\"SATISFACTION\",\"satisfaction\":{\"s1\":2,\"s2\":8,"
              "\"s3\":40,\"s4\":130,\"s5\":120},\"needs\":[]}",
              b),
        GOLDEN_SURVEY_EMPTY);
}

/* The canonical text itself, for docs/producer.md. */
static void test_canonical_text(void **state)
{
    struct fx *f = *state;
    struct producer_rec rec;
    char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX];
    /* The generic path: the fast one has no Avro value to walk. */
    assert_int_equal(producer_conv_json_generic(&f->conv, NOID_VISIT, strlen(NOID_VISIT), NOW, &rec,
                                                field, sizeof field, reason, sizeof reason),
                     0);
    struct op_buf b = OP_BUF_INIT;
    assert_int_equal(producer_canonical(rec.schema, rec.value, NULL, &b), 0);
    assert_int_equal(op_buf_append(&b, "", 1), 0);
    assert_string_equal((char *)b.data,
                        "{\"activity\":\"FREE_CLINIC\",\"agency_id\":\"530000-ZGH\",\"campaign\":"
                        "\"2025 两节送温暖\",\"households\":0,\"occurred_at\":1734919200000,"
                        "\"region\":\"530100\",\"staff\":6,\"target_groups\":[\"OTHER\","
                        "\"PUBLIC_SERVICE_FRONTLINE\"],\"workers_reached\":150}");
    op_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts_valid),
        cmocka_unit_test(test_ts_invalid),
        cmocka_unit_test_setup_teardown(test_json_valid_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_syntax_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_field_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_stability, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_canonical_text, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
