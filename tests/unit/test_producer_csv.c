/* Unit tests of outreach-producer's CSV records: header and row conversion with every
 * message, corrections and retractions in CSV and JSON, and the default type. */
#include "producer_test.h"

/* ---- CSV records ------------------------------------------------------------------------ */

static void test_csv_records(void **state)
{
    struct fx *f = *state;
    struct producer_rec rec;
    assert_string_equal(csv_verdict(f, CSV_HEADER, CSV_VISIT, &rec), "OK");
    assert_string_equal(rec.ev.event_id, "t-1");
    assert_string_equal(rec.ev.campaign, "2025 两节送温暖");
    assert_int_equal(rec.ev.workers_reached, 300);
    assert_string_equal(csv_verdict(f, CSV_HEADER, CSV_SURVEY, &rec), "OK");
    assert_int_equal(rec.ev.satisfaction[3], 22);
    assert_int_equal(rec.ev.n_needs, 2);
    assert_int_equal(rec.ev.needs[1].count, 12);
    assert_null(rec.ev.campaign);
    /* Survey without satisfaction answers and needs; trailing ';' and spaces in lists. */
    assert_string_equal(csv_verdict(f, CSV_HEADER,
                                    "survey,t-4,2024-11-15T14:30:00+08:00,2024-11-18T09:00:00Z,"
                                    "370212-ZGH,370212,,,,,,,,,,,,QUESTIONNAIRE,0,300,SATISFACTION"
                                    ",,,,,,",
                                    &rec),
                        "OK");
    assert_int_equal(rec.ev.n_needs, 0);
    assert_int_equal(rec.ev.satisfaction[0], 0);
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "visit,,1736128800000,2025-01-08T17:30:00+08:00,530000-ZGH,530622,,HOME_VISIT,"
                    " SANITATION ; OTHER;,2,2,6,,,,,,,,,,,,,,,",
                    &rec),
        "OK");
    assert_int_equal(rec.derived, 1);
    assert_int_equal(rec.ev.n_groups, 2);
    /* Columns in another order, v2 columns, no columns of other types. */
    assert_string_equal(csv_verdict(f,
                                    "region,type,agency_id,occurred_at,reported_at,activity,"
                                    "target_groups,workers_reached,households,staff,venue,note",
                                    "530622,visit,530000-ZGH,2025-01-06T10:00:00+08:00,"
                                    "2025-01-06T12:00:00+08:00,MEALS,NEW_EMPLOYMENT_FORMS,32,0,5,"
                                    "UNION_STATION,\"米时, 元宵\"",
                                    &rec),
                        "OK");
    assert_int_equal(rec.derived, 1);
}

static void test_csv_messages(void **state)
{
    struct fx *f = *state;
    assert_string_equal(csv_verdict(f, CSV_HEADER ",colour", CSV_VISIT, NULL),
                        "header: unknown column \"colour\"");
    assert_string_equal(csv_verdict(f, "type,region,type", CSV_VISIT, NULL),
                        "header: column \"type\" appears twice");
    assert_string_equal(csv_verdict(f, "type,,region", CSV_VISIT, NULL),
                        "header: column 2 has no name");
    assert_string_equal(csv_verdict(f, "event_id,region", CSV_VISIT, NULL),
                        "header: no \"type\" column (add one, or give --type)");
    assert_string_equal(csv_verdict(f, CSV_HEADER, "visit,t-1", NULL),
                        "record: 2 cells, the header has 27");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "VISIT,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,",
                    NULL),
        "type: unknown record type \"VISIT\" (expected visit, funding or survey)");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    ",t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,",
                    NULL),
        "type: missing (expected visit, funding or survey)");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "visit,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3,0,1,500,,,,,,,,,,,,,,",
                    NULL),
        "amount_fen: not a field of visit (leave the cell empty)");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "visit,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3a,0,1,,,,,,,,,,,,,,,",
                    NULL),
        "workers_reached: \"3a\" is not an integer");
    assert_string_equal(csv_verdict(f, CSV_HEADER,
                                    "visit,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,,0,1,,,,,,,,,,,,,,,",
                                    NULL),
                        "workers_reached: required field missing");
    assert_string_equal(csv_verdict(f, CSV_HEADER,
                                    "visit,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                                    ",530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,",
                                    NULL),
                        "agency_id: required field missing");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "visit,t-1,2025-02-30 10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,",
                    NULL),
        "occurred_at: invalid timestamp \"2025-02-30 10:00:00+08:00\": day out of "
        "range");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "visit,t-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                    "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER;X,3,0,1,,,,,,,,,,,,,,,",
                    NULL),
        "target_groups[1]: unknown value \"X\" (expected one of HARDSHIP_WORKERS, "
        "MIGRANT_WORKERS, MODEL_WORKERS_CRAFTSMEN, POLICE_FIRE_BORDER, "
        "BORDER_FRONTLINE, PUBLIC_SERVICE_FRONTLINE, PLATEAU_LAKE_FRONTLINE, "
        "ON_DUTY_HOLIDAY, NEW_EMPLOYMENT_FORMS, SANITATION, CONSTRUCTION, "
        "DISPATCHED_LABOR, OTHER)");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "survey,t-3,2024-11-15T14:30:00+08:00,2024-11-18T09:00:00+08:00,370212-ZGH,"
                    "370212,,,,,,,,,,,,FORUM,5,48,HEALTH,1,3,10,22,12,MENTAL_HEALTH:30;HOUSING",
                    NULL),
        "needs[1]: \"HOUSING\" is not need:count");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "survey,t-3,2024-11-15T14:30:00+08:00,2024-11-18T09:00:00+08:00,370212-ZGH,"
                    "370212,,,,,,,,,,,,FORUM,5,48,HEALTH,1,3,10,22,12,MENTAL_HEALTH:many",
                    NULL),
        "needs[0].count: \"many\" is not an integer");
    assert_string_equal(
        csv_verdict(f, CSV_HEADER,
                    "survey,t-3,2024-11-15T14:30:00+08:00,2024-11-18T09:00:00+08:00,370212-ZGH,"
                    "370212,,,,,,,,,,,,FORUM,5,48,HEALTH,1,x,10,22,12,",
                    NULL),
        "satisfaction.s2: \"x\" is not an integer");
}

/* Issue #11: correction, retracted, correction_reason in JSON and CSV, the rules of
 * common/event.c with their messages, and a correction that cannot name its event. */
static void test_corrections(void **state)
{
    struct fx *f = *state;
    struct producer_rec rec;
    char *line = variant(FUNDING, "{\"correction\":1,\"correction_reason\":\"金额录入错误\"}", 0);
    assert_string_equal(json_verdict(f, line, &rec), "OK");
    assert_int_equal(rec.ev.correction, 1);
    assert_int_equal(rec.ev.retracted, 0);
    assert_string_equal(rec.ev.correction_reason, "金额录入错误");
    free(line);
    line = variant(VISIT,
                   "{\"correction\":4,\"retracted\":true,\"correction_reason\":\"重复上报\"}", 0);
    assert_string_equal(json_verdict(f, line, &rec), "OK");
    assert_int_equal(rec.ev.correction, 4);
    assert_int_equal(rec.ev.retracted, 1);
    free(line);
    /* An original report: the defaults, written out or not. */
    assert_string_equal(json_verdict(f, "{" SURVEY "}", &rec), "OK");
    assert_int_equal(rec.ev.correction, 0);
    assert_null(rec.ev.correction_reason);
    expect_variant(f, SURVEY, "{\"correction\":0,\"retracted\":false,\"correction_reason\":null}",
                   0, "OK");

    expect_variant(f, FUNDING, "{\"correction\":-1}", 0, "correction: -1 is negative");
    expect_variant(f, FUNDING, "{\"correction\":1}", 0,
                   "correction_reason: required when correction > 0");
    expect_variant(f, FUNDING, "{\"correction\":1,\"correction_reason\":\"\"}", 0,
                   "correction_reason: required when correction > 0");
    expect_variant(f, FUNDING, "{\"retracted\":true,\"correction_reason\":\"重复上报\"}", 0,
                   "retracted: only a correction (correction > 0) can retract an event");
    expect_variant(f, FUNDING, "{\"correction\":1,\"correction_reason\":\"a\\u0007\"}", 0,
                   "correction_reason: contains a control character (only tab and line breaks "
                   "are allowed)");
    expect_variant(f, FUNDING, "{\"correction\":1,\"correction_reason\":\"两行\\n\\t说明\"}", 0,
                   "OK");
    char patch[700];
    char long_reason[520];
    memset(long_reason, 'r', 501);
    long_reason[501] = 0;
    snprintf(patch, sizeof patch, "{\"correction\":1,\"correction_reason\":\"%s\"}", long_reason);
    expect_variant(f, FUNDING, patch, 0, "correction_reason: 501 bytes, at most 500");
    expect_variant(f, FUNDING, "{\"correction\":\"2\"}", 0,
                   "correction: expected an integer, got a string");
    expect_variant(f, FUNDING, "{\"correction\":3000000000}", 0,
                   "correction: 3000000000 does not fit a 32-bit int");
    expect_variant(f, FUNDING, "{\"retracted\":1}", 0,
                   "retracted: expected true or false, got an integer");
    /* A correction without an id would get a new derived id: refused. */
    expect_variant(f, FUNDING, "{\"event_id\":null,\"correction\":1,\"correction_reason\":\"x\"}",
                   1,
                   "event_id: required when correction > 0: the id of the event corrected (for a "
                   "derived id, see the --receipt of its publication)");

    /* CSV, with the Chinese column names; booleans as true/false, 1/0, 是/否. */
    const char *hdr = "类型,事件编号,发生时间,上报时间,单位编号,行政区划代码,金额(分),资金来源,"
                      "资金用途,受益人数,受助对象,更正次数,撤回,更正原因";
#define CROW(corr, retr, why)                                                                      \
    "funding,t-2,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,"           \
    "400000000,UNION_FUNDS,CASH_GRANT,30,HARDSHIP_WORKERS," corr "," retr "," why
    static const struct {
        const char *row;
        int corr, retr;
    } ok[] = {
        {CROW("1", "", "金额录入错误"), 1, 0},
        {CROW(" 2 ", "true", "重复上报"), 2, 1},
        {CROW("2", "TRUE", "重复上报"), 2, 1},
        {CROW("2", "1", "重复上报"), 2, 1},
        {CROW("2", " 是 ", "重复上报"), 2, 1},
        {CROW("2", "否", "区县填错"), 2, 0},
        {CROW("2", "False", "区县填错"), 2, 0},
        {CROW("", "", ""), 0, 0},
        {CROW("0", "0", ""), 0, 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const char *got = csv_verdict(f, hdr, ok[i].row, &rec);
        if (strcmp(got, "OK") != 0)
            fail_msg("%s: %s", ok[i].row, got);
        assert_int_equal(rec.ev.correction, ok[i].corr);
        assert_int_equal(rec.ev.retracted, ok[i].retr);
    }
    assert_string_equal(csv_verdict(f, hdr, CROW("1", "", "金额录入错误"), &rec), "OK");
    assert_string_equal(rec.ev.correction_reason, "金额录入错误");
    assert_string_equal(csv_verdict(f, hdr, CROW("2", "yes", "x"), NULL),
                        "retracted: \"yes\" is not a boolean (write true or false, 1 or 0, 是 or "
                        "否)");
    assert_string_equal(csv_verdict(f, hdr, CROW("2", "2", "x"), NULL),
                        "retracted: \"2\" is not a boolean (write true or false, 1 or 0, 是 or "
                        "否)");
    assert_string_equal(csv_verdict(f, hdr, CROW("1.0", "", "x"), NULL),
                        "correction: \"1.0\" is not an integer");
    assert_string_equal(csv_verdict(f, hdr, CROW("1", "", ""), NULL),
                        "correction_reason: required when correction > 0");
    assert_string_equal(csv_verdict(f, hdr, CROW("", "是", "x"), NULL),
                        "retracted: only a correction (correction > 0) can retract an event");
    assert_string_equal(csv_verdict(f, "type,correction,更正次数", "visit,1,1", NULL),
                        "header: columns \"correction\" and \"更正次数\" are the same field");
#undef CROW
}

static void test_csv_default_type(void **state)
{
    (void)state;
    struct fx *f = fx_new(OP_EVENT_FUNDING);
    struct producer_rec rec;
    assert_string_equal(csv_verdict(f,
                                    "event_id,occurred_at,reported_at,agency_id,region,amount_fen,"
                                    "source,purpose,recipients,target_group",
                                    "f-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
                                    "530000-ZGH,530622,100,GOVERNMENT,GOODS,1,SANITATION",
                                    &rec),
                        "OK");
    assert_int_equal(rec.type, OP_EVENT_FUNDING);
    void *st = f;
    teardown(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_csv_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrections, setup, teardown),
        cmocka_unit_test(test_csv_default_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
