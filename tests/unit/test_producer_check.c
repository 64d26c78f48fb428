/* Unit tests of outreach-producer's --check runs over whole files (CSV, bad cells, a bad
 * header, JSON Lines) with their diagnostics and rejects files, and of receipts. */
#include "producer_test.h"

/* ---- a whole file, --check ------------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, fp);
    buf[n] = 0;
    fclose(fp);
    return buf;
}

/* A --check producer; max_record: input.max.record.bytes, or NULL for the default. */
static struct producer *check_producer(struct op_conf **confp, const char *max_record)
{
    char err[512];
    struct op_conf *conf = op_conf_new_kafka(producer_conf_defs);
    assert_non_null(conf);
    assert_int_equal(producer_conf_defaults(conf, err, sizeof err), 0);
    if (max_record)
        assert_int_equal(op_conf_set(conf, "input.max.record.bytes", max_record, err, sizeof err),
                         0);
    assert_int_equal(op_conf_set(conf, "agency.530000-ZGH.regions", "53", err, sizeof err), 0);
    assert_int_equal(op_conf_set(conf, "agency.370212-ZGH.regions", "370212", err, sizeof err), 0);
    struct producer_opts opts = {PRODUCER_FORMAT_AUTO, -1, NULL, NULL, 0, 1};
    struct producer *p = producer_new(conf, &opts, err, sizeof err);
    if (!p)
        fail_msg("%s", err);
    *confp = conf;
    return p;
}

static void test_check_run_csv(void **state)
{
    (void)state;
    const char data[] =
        "\xEF\xBB\xBF" CSV_HEADER "\r\n" CSV_VISIT "\r\n"
        "visit,t-2,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,999999,,"
        "CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,\r\n"
        "\r\n" CSV_SURVEY "\r\n"
        "visit,\"t-3\r\nwith a line break\",2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
        "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,\r\n"
        "visit,t-4,\"bad\"x,,,,,,,,,,,,,,,,,,,,,,,,\r\n"
        "visit,t-5\xff,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,,"
        "CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,\r\n";
    char *in = temp_file(".csv", data, sizeof data - 1);
    char errors[300], rejects[300];
    snprintf(errors, sizeof errors, "%s.errors", in);
    snprintf(rejects, sizeof rejects, "%s.rejects", in);
    struct op_conf *conf;
    struct producer *p = check_producer(&conf, NULL);
    struct producer_sink sink = {rejects, errors, 0, NULL};
    struct producer_file f;
    volatile sig_atomic_t run = 1;
    producer_publish(p, in, "in.csv", &sink, &f, &run);
    assert_int_equal(f.n.read, 6);
    assert_int_equal(f.n.published, 2);
    assert_int_equal(f.n.rejected, 4);
    assert_int_equal(f.n.failed, 0);
    char *e = slurp(errors), *r = slurp(rejects);
    assert_non_null(e);
    assert_non_null(r);
    assert_string_equal(e, "in.csv:3: region: unknown region code \"999999\"\n"
                           "in.csv:6: event_id: contains a control character\n"
                           "in.csv:8: occurred_at: text after the closing quote\n"
                           "in.csv:9: record: invalid UTF-8 at byte 10 (read as UTF-8; for GBK "
                           "or GB18030 give --encoding gb18030)\n");
    /* The header first (without the BOM), then each rejected record as it was. */
    const char *want_r = CSV_HEADER
        "\r\n"
        "visit,t-2,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,999999,,"
        "CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,\r\n"
        "visit,\"t-3\r\nwith a line break\",2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,"
        "530000-ZGH,530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,\r\n"
        "visit,t-4,\"bad\"x,,,,,,,,,,,,,,,,,,,,,,,,\r\n"
        "visit,t-5\xff,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,,"
        "CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,\r\n";
    assert_string_equal(r, want_r);
    free(e);
    free(r);
    unlink(errors);
    unlink(rejects);
    rm_temp(in);
    producer_destroy(p);
    op_conf_destroy(conf);
}

#define NOTE_ROW(id, agency, note)                                                                 \
    "visit," id ",2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00," agency                     \
    ",530622,,CONDOLENCE_VISIT,OTHER,3,0,1,,,,,,,,,,,,,,,," note "\r\n"

/* Issue #10: a bad cell costs its own record and nothing after it, and the counts account for
 * every physical line. */
static void test_check_run_csv_bad_cells(void **state)
{
    (void)state;
    struct op_buf b;
    memset(&b, 0, sizeof b);
    const char *head = CSV_HEADER ",note\r\n"                                         /* 1 */
        NOTE_ROW("t-1", "530000-ZGHx\"y", "")                                         /* 2 */
        NOTE_ROW("t-2", "530000-ZGH", "plain")                                        /* 3 */
        NOTE_ROW("t-3", "530000-ZGH", "\"two \"\"lines\"\", one\r\nbreak\r\nthree\"") /* 4-6 */
        NOTE_ROW("t-4", "530000-ZGH", "\"a\"b")                                       /* 7 */
        "\r\n"                                                                        /* 8 */
        NOTE_ROW("t-5", "530000-ZGH", "\"");                                          /* 9-210 */
    assert_int_equal(op_buf_append(&b, head, strlen(head)), 0);
    for (int i = 0; i < 200; i++)
        assert_int_equal(op_buf_append(&b, "x, \"\"y\"\"\r\n", 10), 0);
    const char *tail = "\"\r\n" NOTE_ROW("t-6", "530000-ZGH", "") /* 211 */
        NOTE_ROW("t-7", "530000-ZGH", "x\"y");                    /* 212 */
    assert_int_equal(op_buf_append(&b, tail, strlen(tail)), 0);
    char *in = temp_file(".csv", b.data, b.len);
    char errors[300], rejects[300];
    snprintf(errors, sizeof errors, "%s.errors", in);
    snprintf(rejects, sizeof rejects, "%s.rejects", in);
    struct op_conf *conf;
    struct producer *p = check_producer(&conf, "1024");
    struct producer_sink sink = {rejects, errors, 0, NULL};
    struct producer_file f;
    volatile sig_atomic_t run = 1;
    producer_publish(p, in, "b.csv", &sink, &f, &run);
    assert_int_equal(f.n.read, 7);
    assert_int_equal(f.n.published, 3);
    assert_int_equal(f.n.rejected, 4);
    assert_int_equal(f.n.lines, 212);
    assert_int_equal(f.n.header, 1);
    assert_int_equal(f.n.blank, 1);
    assert_int_equal(f.n.record_lines, 210);
    char *e = slurp(errors), *r = slurp(rejects);
    assert_non_null(e);
    assert_non_null(r);
    assert_string_equal(
        e, "b.csv:2: agency_id: quote in an unquoted cell (enclose the cell in quotes and double "
           "the quote)\n"
           "b.csv:7: note: text after the closing quote\n"
           "b.csv:9: record: longer than 1024 bytes (input.max.record.bytes); the rejects file "
           "has only its beginning\n"
           "b.csv:212: note: quote in an unquoted cell (enclose the cell in quotes and double "
           "the quote)\n");
    /* Rejected records as they were: the bad line alone, never the rows after it. */
    assert_non_null(
        strstr(r, NOTE_ROW("t-1", "530000-ZGHx\"y", "") NOTE_ROW("t-4", "530000-ZGH", "\"a\"b")));
    assert_null(strstr(r, "t-2"));
    assert_null(strstr(r, "t-3"));
    assert_null(strstr(r, "t-6"));
    char line[200];
    FILE *out = fmemopen(line, sizeof line, "w");
    assert_non_null(out);
    producer_print_counts(out, "b.csv: ", &f.n, 1);
    fclose(out);
    assert_string_equal(line, "b.csv: read 7, valid 3, rejected 4, failed 0 (212 lines: 1 header, "
                              "1 blank, 210 in records)\n");
    free(e);
    free(r);
    unlink(errors);
    unlink(rejects);
    rm_temp(in);
    producer_destroy(p);
    op_conf_destroy(conf);
    op_buf_free(&b);
}

static void test_check_run_bad_header_and_jsonl(void **state)
{
    (void)state;
    const char csv[] = "type,region,colour\nvisit,530622,red\n\nvisit,530622,blue";
    const char csv_kept[] = "type,region,colour\nvisit,530622,red\nvisit,530622,blue\n";
    char *in = temp_file(".csv", csv, sizeof csv - 1);
    char errors[300], rejects[300];
    snprintf(errors, sizeof errors, "%s.errors", in);
    snprintf(rejects, sizeof rejects, "%s.rejects", in);
    struct op_conf *conf;
    struct producer *p = check_producer(&conf, NULL);
    struct producer_sink sink = {rejects, errors, 0, NULL};
    struct producer_file f;
    volatile sig_atomic_t run = 1;
    producer_publish(p, in, "h.csv", &sink, &f, &run);
    assert_int_equal(f.header_error, 1);
    assert_int_equal(f.n.read, 2);
    assert_int_equal(f.n.rejected, 2);
    char *e = slurp(errors), *r = slurp(rejects);
    assert_string_equal(e, "h.csv:1: header: unknown column \"colour\"\n");
    assert_string_equal(r, csv_kept); /* blank lines are not records */
    free(e);
    free(r);
    unlink(errors);
    unlink(rejects);
    rm_temp(in);

    const char jsonl[] = "{" VISIT "}\n"
                         "{\"type\":\"visit\"\n"
                         "\n"
                         "{" FUNDING ",\"amount_fen\":-1}\n"
                         "{" SURVEY "}";
    in = temp_file(".jsonl", jsonl, sizeof jsonl - 1);
    snprintf(errors, sizeof errors, "%s.errors", in);
    snprintf(rejects, sizeof rejects, "%s.rejects", in);
    producer_publish(p, in, "j.jsonl", &sink, &f, &run);
    assert_int_equal(f.n.read, 4);
    assert_int_equal(f.n.published, 2);
    assert_int_equal(f.n.rejected, 2);
    e = slurp(errors);
    r = slurp(rejects);
    assert_string_equal(e, "j.jsonl:2: record: invalid JSON: '}' expected near end of file "
                           "(column 15)\n"
                           "j.jsonl:4: record: invalid JSON: duplicate object key near "
                           "'\"amount_fen\"' (column 291)\n");
    assert_string_equal(r, "{\"type\":\"visit\"\n{" FUNDING ",\"amount_fen\":-1}\n");
    free(e);
    free(r);
    unlink(errors);
    unlink(rejects);
    rm_temp(in);
    producer_destroy(p);
    op_conf_destroy(conf);
}

/* Receipts (receipt.c): sorted per file, failed deliveries left out, .xlsx rows named
 * FILE:SHEET!ROW, nothing at the final name before the commit, the temporary file gone after. */
static void test_receipt(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_receipt.XXXXXX", tmp[128], dest[128], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(tmp, sizeof tmp, "%s/r.tsv.1.tmp", dir);
    snprintf(dest, sizeof dest, "%s/r.tsv", dir);
    struct producer_receipt *r = producer_receipt_new(tmp, err, sizeof err);
    assert_non_null(r);
    /* Accounted in any order (as workers finish); line 4 failed after it was added. */
    assert_int_equal(producer_receipt_add(r, 7, "d-0123456789abcdef0123456789abcdef"), 0);
    assert_int_equal(producer_receipt_add(r, 2, "t-1"), 0);
    assert_int_equal(producer_receipt_add(r, 4, "t-4"), 0);
    producer_receipt_failed(r, 4);
    producer_receipt_failed(r, 9); /* never added (refused at once) */
    assert_int_equal(producer_receipt_end_file(r, "a\tb.csv", ""), 2);
    assert_int_equal(producer_receipt_add(r, 3, "x-3"), 0);
    assert_int_equal(producer_receipt_end_file(r, "book.xlsx", "走访"), 1);
    assert_int_equal(producer_receipt_end_file(r, "empty.jsonl", NULL), 0);
    assert_int_equal(producer_receipt_add(r, 4, "t-4b"), 0); /* the failure list was per file */
    assert_int_equal(producer_receipt_end_file(r, "c.jsonl", NULL), 1);
    assert_int_equal(access(dest, F_OK), -1);
    assert_int_equal(producer_receipt_commit(r, dest, err, sizeof err), 0);
    producer_receipt_destroy(r);
    char *got = slurp(dest);
    assert_non_null(got);
    assert_string_equal(got, "a?b.csv:2\tt-1\n"
                             "a?b.csv:7\td-0123456789abcdef0123456789abcdef\n"
                             "book.xlsx:走访!3\tx-3\n"
                             "c.jsonl:4\tt-4b\n");
    free(got);
    assert_int_equal(access(tmp, F_OK), -1);
    /* Not committed (a run that stopped): the temporary file goes, the old receipt stays. */
    r = producer_receipt_new(tmp, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(producer_receipt_add(r, 1, "z"), 0);
    producer_receipt_end_file(r, "z.csv", NULL);
    producer_receipt_destroy(r);
    assert_int_equal(access(tmp, F_OK), -1);
    got = slurp(dest);
    assert_non_null(got);
    assert_true(strncmp(got, "a?b.csv:2\t", 10) == 0);
    free(got);
    /* A directory that is not there: a clear error. */
    assert_null(producer_receipt_new("/nonexistent/dir/r.tmp", err, sizeof err));
    assert_string_equal(err, "/nonexistent/dir/r.tmp: No such file or directory");
    unlink(dest);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_run_csv),
        cmocka_unit_test(test_check_run_csv_bad_cells),
        cmocka_unit_test(test_check_run_bad_header_and_jsonl),
        cmocka_unit_test(test_receipt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
