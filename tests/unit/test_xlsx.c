/* Unit tests of the .xlsx reader (producers/xlsx.c) and of --check runs over .xlsx files, on
 * fixtures that real spreadsheet libraries write at test time (tests/unit/xlsx_fixtures.py). */
#include <fcntl.h>
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

#include "conf.h"
#include "kafka.h"
#include "../../producers/aliases.h"
#include "../../producers/producer.h"
#include "../../producers/xlsx.h"

static char dir[64];

static int make_fixtures(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_xlsx.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char cmd[512];
    /* Debian's python3 (with python3-openpyxl), not whatever python3 is first on PATH. */
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/unit/xlsx_fixtures.py %s", dir);
    if (system(cmd) != 0) {
        fprintf(stderr,
                "test_xlsx: %s failed (make deps installs python3-openpyxl and "
                "python3-xlsxwriter; run from the repository root)\n",
                cmd);
        return -1;
    }
    return 0;
}

static int remove_fixtures(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *fixture(const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        *len = 0;
        return calloc(1, 1);
    }
    unsigned char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 20) - 1, fp);
    buf[*len] = 0;
    fclose(fp);
    return buf;
}

static struct producer_xlsx *open_fixture(const char *name, const char *sheet, int *fd, char *err,
                                          size_t err_size)
{
    *fd = open(fixture(name), O_RDONLY);
    assert_true(*fd >= 0);
    return producer_xlsx_open(*fd, name, sheet, NULL, err, err_size);
}

/* ---- dates -------------------------------------------------------------------------------- */

static void expect_serial(double serial, int date1904, const char *want)
{
    char out[64];
    const char *why = NULL;
    int rc = producer_xlsx_serial_text(serial, date1904, out, sizeof out, &why);
    if (rc != 0)
        fail_msg("serial %.17g: %s", serial, why);
    assert_string_equal(out, want);
}

static void expect_serial_error(double serial, int date1904, const char *want)
{
    char out[64];
    const char *why = NULL;
    assert_int_equal(producer_xlsx_serial_text(serial, date1904, out, sizeof out, &why), -1);
    assert_string_equal(why, want);
}

static void test_serial_dates(void **state)
{
    (void)state;
    /* Values as Excel shows them (and as XlsxWriter and openpyxl store them). */
    expect_serial(45659.35416666666, 0, "2025-01-02T08:30:00+08:00");
    expect_serial(45659.354166666664, 0, "2025-01-02T08:30:00+08:00");
    expect_serial(45659.35417245371, 0, "2025-01-02T08:30:00.500+08:00");
    expect_serial(45659.5, 0, "2025-01-02T12:00:00+08:00");
    expect_serial(45659.99998842592, 0, "2025-01-02T23:59:59+08:00");
    expect_serial(45659, 0, "2025-01-02T00:00:00+08:00");
    expect_serial(25569, 0, "1970-01-01T00:00:00+08:00");
    expect_serial(36526, 0, "2000-01-01T00:00:00+08:00");
    expect_serial(45717, 0, "2025-03-01T00:00:00+08:00"); /* 2025 is no leap year */
    expect_serial(45716, 0, "2025-02-28T00:00:00+08:00");
    expect_serial(2958465, 0, "9999-12-31T00:00:00+08:00");
    /* The 1900 leap-year bug: 1..59 count from 1899-12-31, 61.. from 1899-12-30. */
    expect_serial(1, 0, "1900-01-01T00:00:00+08:00");
    expect_serial(59, 0, "1900-02-28T00:00:00+08:00");
    expect_serial(59.75, 0, "1900-02-28T18:00:00+08:00");
    expect_serial(61, 0, "1900-03-01T00:00:00+08:00");
    expect_serial_error(60, 0,
                        "1900-02-29, a day that does not exist (Excel's 1900 leap-year bug)");
    expect_serial_error(60.5, 0,
                        "1900-02-29, a day that does not exist (Excel's 1900 leap-year bug)");
    expect_serial_error(0.5, 0, "a time of day without a date");
    expect_serial_error(-1, 0, "a negative date");
    expect_serial_error(2958466, 0, "after 9999-12-31");
    /* The 1904 system (old Mac Excel): serial 0 is 1904-01-01. */
    expect_serial(0, 1, "1904-01-01T00:00:00+08:00");
    expect_serial(1462, 1, "1908-01-02T00:00:00+08:00");
    expect_serial(44197.25, 1, "2025-01-02T06:00:00+08:00");
}

static void test_csv_line(void **state)
{
    (void)state;
    char *cells[] = {"a", "", "b,c", "say \"hi\"", " pad", "line\nend", "两节"};
    size_t lens[] = {1, 0, 3, 8, 4, 8, 6};
    struct op_buf b = OP_BUF_INIT;
    assert_int_equal(producer_xlsx_csv_line(cells, lens, 7, &b), 0);
    assert_int_equal(b.len,
                     strlen("a,,\"b,c\",\"say \"\"hi\"\"\",\" pad\",\"line\nend\",两节\r\n"));
    assert_memory_equal(b.data, "a,,\"b,c\",\"say \"\"hi\"\"\",\" pad\",\"line\nend\",两节\r\n",
                        b.len);
    op_buf_free(&b);
}

/* ---- the reader ----------------------------------------------------------------------------- */

static void expect_row(struct producer_xlsx *x, long rownum, enum producer_xlsx_row_kind kind,
                       const char *const *want, size_t n)
{
    struct producer_xlsx_row *r;
    int rc = producer_xlsx_next(x, &r);
    if (rc != 1)
        fail_msg("row %ld: next returned %d: %s", rownum, rc, producer_xlsx_error(x));
    assert_int_equal(r->row, rownum);
    assert_int_equal(r->kind, kind);
    if (kind != PRODUCER_XLSX_ROW_DATA)
        return;
    assert_int_equal(r->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r->cell[i], want[i]);
        assert_int_equal(r->len[i], strlen(want[i]));
    }
}

static void test_read_basic(void **state)
{
    (void)state;
    char err[512];
    int fd;
    struct producer_xlsx *x = open_fixture("basic.xlsx", NULL, &fd, err, sizeof err);
    if (!x)
        fail_msg("%s", err);
    assert_string_equal(producer_xlsx_sheet(x), "数据");
    struct producer_xlsx_row *r;

    assert_int_equal(producer_xlsx_next(x, &r), 1); /* the merged title */
    assert_int_equal(r->row, 1);
    assert_int_equal(r->kind, PRODUCER_XLSX_ROW_MERGED);
    assert_string_equal(r->merge, "A1:D1");

    static const char *const header[] = {"名称", "文本", "数", "时间"};
    expect_row(x, 2, PRODUCER_XLSX_ROW_DATA, header, 4);
    static const char *const r3[] = {"shared", "两节送温暖", "150", "2025-01-02T08:30:00+08:00"};
    expect_row(x, 3, PRODUCER_XLSX_ROW_DATA, r3, 4);
    static const char *const r4[] = {"second", "两节送温暖", "2.5",
                                     "2025-01-02T08:30:00.500+08:00"};
    expect_row(x, 4, PRODUCER_XLSX_ROW_DATA, r4, 4);
    expect_row(x, 5, PRODUCER_XLSX_ROW_EMPTY, NULL, 0); /* a formatted blank cell */
    /* Rows 6 and 7 are not in the sheet: the gap is the caller's to see. */
    static const char *const r8[] = {"merged", "true", "530100", "0.3"};
    expect_row(x, 8, PRODUCER_XLSX_ROW_DATA, r8, 4);
    /* C9 is covered by the merged C8:C9: it shows 530100. */
    assert_int_equal(producer_xlsx_next(x, &r), 1);
    assert_int_equal(r->row, 9);
    assert_int_equal(r->n, 3);
    assert_string_equal(r->cell[0], "below");
    assert_string_equal(r->cell[1], "false");
    assert_string_equal(r->cell[2], "530100");
    assert_int_equal(r->filled, 1);
    assert_int_equal(r->bad_col, -1);

    assert_int_equal(producer_xlsx_next(x, &r), 1);
    assert_int_equal(r->row, 10);
    assert_int_equal(r->kind, PRODUCER_XLSX_ROW_DATA);
    assert_int_equal(r->bad_col, 3);
    assert_string_equal(r->why, "the cell holds the Excel error #N/A");

    /* Rich text: the runs joined, the phonetic reading left out. */
    static const char *const r11[] = {"phonetic", "北京市"};
    expect_row(x, 11, PRODUCER_XLSX_ROW_DATA, r11, 2);
    assert_int_equal(producer_xlsx_next(x, &r), 0);
    assert_int_equal(producer_xlsx_next(x, &r), 0);
    producer_xlsx_close(x);
    close(fd);

    /* Another sheet by name. */
    x = open_fixture("basic.xlsx", "Other", &fd, err, sizeof err);
    if (!x)
        fail_msg("%s", err);
    static const char *const o1[] = {"x"};
    expect_row(x, 1, PRODUCER_XLSX_ROW_DATA, o1, 1);
    assert_int_equal(producer_xlsx_next(x, &r), 0);
    producer_xlsx_close(x);
    close(fd);
}

static void test_read_inline(void **state)
{
    (void)state;
    char err[512];
    int fd;
    struct producer_xlsx *x = open_fixture("inline.xlsx", NULL, &fd, err, sizeof err);
    if (!x)
        fail_msg("%s", err);
    static const char *const r1[] = {"a", "b"};
    expect_row(x, 1, PRODUCER_XLSX_ROW_DATA, r1, 2);
    static const char *const r2[] = {" 行内 & \"字符串\" ", "7"};
    expect_row(x, 2, PRODUCER_XLSX_ROW_DATA, r2, 2);
    struct producer_xlsx_row *r;
    assert_int_equal(producer_xlsx_next(x, &r), 0);
    producer_xlsx_close(x);
    close(fd);
}

static void test_open_errors(void **state)
{
    (void)state;
    char err[512];
    int fd;
    /* A sheet that is not there: the message lists those that are. */
    assert_null(open_fixture("basic.xlsx", "汇总", &fd, err, sizeof err));
    assert_string_equal(err, "basic.xlsx: no sheet named \"汇总\" (the sheets: 数据, Other)");
    close(fd);

    /* Not a zip. */
    char *path = fixture("text.xlsx");
    write_file(path, "type,event_id\nvisit,1\n", 22);
    fd = open(path, O_RDONLY);
    assert_null(producer_xlsx_open(fd, "text.xlsx", NULL, NULL, err, sizeof err));
    assert_string_equal(err, "text.xlsx: not an .xlsx file (no zip signature; an old .xls or a "
                             "renamed CSV? save it as .xlsx or CSV)");
    close(fd);
    write_file(path, "", 0);
    fd = open(path, O_RDONLY);
    assert_null(producer_xlsx_open(fd, "text.xlsx", NULL, NULL, err, sizeof err));
    assert_non_null(strstr(err, "not an .xlsx file"));
    close(fd);

    /* A pipe cannot be read out of order. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "PK\3\4", 4), 4);
    assert_null(producer_xlsx_open(fds[0], "stdin", NULL, NULL, err, sizeof err));
    assert_string_equal(err, "stdin: an .xlsx must be a file, not a pipe (a zip is read out of "
                             "order)");
    close(fds[0]);
    close(fds[1]);

    /* Shared strings past the cap. */
    struct producer_xlsx_limits lim = {100000, 0};
    fd = open(fixture("wide.xlsx"), O_RDONLY);
    assert_null(producer_xlsx_open(fd, "wide.xlsx", NULL, &lim, err, sizeof err));
    assert_string_equal(err, "wide.xlsx: xl/sharedStrings.xml: more than 100000 bytes of shared "
                             "strings (split the sheet into smaller files, or save it as CSV)");
    close(fd);
    lim.max_shared_bytes = 300000;
    fd = open(fixture("wide.xlsx"), O_RDONLY);
    struct producer_xlsx *x = producer_xlsx_open(fd, "wide.xlsx", NULL, &lim, err, sizeof err);
    if (!x)
        fail_msg("%s", err);
    struct producer_xlsx_row *r;
    long rows = 0;
    while (producer_xlsx_next(x, &r) == 1)
        rows++;
    assert_int_equal(rows, 200);
    producer_xlsx_close(x);
    close(fd);
}

/* Every corruption of a real file: truncated at every 97th byte, a flipped byte at every 89th.
 * Whatever happens, an error or rows, never a crash (ASan/valgrind watch the rest). */
static void test_corrupt(void **state)
{
    (void)state;
    size_t len;
    unsigned char *orig = read_file(fixture("basic.xlsx"), &len);
    assert_true(len > 1000);
    char *path = fixture("corrupt.xlsx");
    char err[512];
    int errors = 0;
    for (size_t cut = 0; cut < len + 89; cut += 89) {
        int truncate = cut >= len;
        size_t at = truncate ? (cut - len) * 11 % len : cut;
        unsigned char *copy = malloc(len);
        assert_non_null(copy);
        memcpy(copy, orig, len);
        copy[at] ^= 0x5A;
        write_file(path, copy, truncate ? at : len);
        free(copy);
        int fd = open(path, O_RDONLY);
        struct producer_xlsx *x =
            producer_xlsx_open(fd, "corrupt.xlsx", NULL, NULL, err, sizeof err);
        if (!x) {
            assert_true(strncmp(err, "corrupt.xlsx: ", 14) == 0);
            errors++;
        } else {
            struct producer_xlsx_row *r;
            int rc;
            while ((rc = producer_xlsx_next(x, &r)) == 1)
                ;
            if (rc < 0) {
                assert_true(strncmp(producer_xlsx_error(x), "corrupt.xlsx:", 13) == 0);
                errors++;
            }
            producer_xlsx_close(x);
        }
        close(fd);
    }
    assert_true(errors > 0);
    /* Cut in half: the zip's directory is gone. */
    write_file(path, orig, len / 2);
    int fd = open(path, O_RDONLY);
    assert_null(producer_xlsx_open(fd, "corrupt.xlsx", NULL, NULL, err, sizeof err));
    assert_string_equal(err, "corrupt.xlsx: corrupt zip file (not a readable .xlsx)");
    close(fd);
    free(orig);
}

/* ---- aliases -------------------------------------------------------------------------------- */

static void test_aliases(void **state)
{
    (void)state;
    assert_string_equal(producer_alias_field("事件编号", strlen("事件编号"), NULL), "event_id");
    assert_string_equal(producer_alias_field("类型", strlen("类型"), "visit"), "type");
    assert_string_equal(producer_alias_field("发生时间", strlen("发生时间"), NULL), "occurred_at");
    assert_string_equal(producer_alias_field("行政区划代码", strlen("行政区划代码"), NULL),
                        "region");
    /* Full-width brackets and spaces. */
    const char *fw = "金额（分）";
    assert_string_equal(producer_alias_field(fw, strlen(fw), NULL), "amount_fen");
    assert_string_equal(producer_alias_field("金额 (分)", strlen("金额 (分)"), NULL), "amount_fen");
    /* One word, two fields. */
    const char *w = "慰问对象";
    assert_string_equal(producer_alias_field(w, strlen(w), "visit"), "target_groups");
    assert_string_equal(producer_alias_field(w, strlen(w), "funding"), "target_group");
    assert_null(producer_alias_field(w, strlen(w), "survey"));
    assert_null(producer_alias_field("金额", strlen("金额"), NULL));
    assert_string_not_equal(producer_alias_hint("金额", strlen("金额")), "");
    /* Prefixes are no match. */
    assert_null(producer_alias_field("事件", strlen("事件"), NULL));
    assert_null(producer_alias_field("事件编号码", strlen("事件编号码"), NULL));
}

/* ---- --check runs ------------------------------------------------------------------------- */

static void check_run(const char *path, const char *name, const char *sheet,
                      struct producer_file *f, char **errors, char **rejects)
{
    char e[300], r[300], err[512];
    snprintf(e, sizeof e, "%s.errors", path);
    snprintf(r, sizeof r, "%s.rejects", path);
    unlink(e);
    unlink(r);
    struct op_conf *conf = op_conf_new_kafka(producer_conf_defs);
    assert_non_null(conf);
    assert_int_equal(producer_conf_defaults(conf, err, sizeof err), 0);
    assert_int_equal(op_conf_set(conf, "agency.530000-ZGH.regions", "53", err, sizeof err), 0);
    if (sheet)
        assert_int_equal(op_conf_set(conf, "input.sheet", sheet, err, sizeof err), 0);
    struct producer_opts opts = {PRODUCER_FORMAT_AUTO, -1, NULL, NULL, 0, 1};
    struct producer *p = producer_new(conf, &opts, err, sizeof err);
    if (!p)
        fail_msg("%s", err);
    struct producer_sink sink = {r, e, 0, NULL};
    volatile sig_atomic_t run = 1;
    producer_publish(p, path, name, &sink, f, &run);
    producer_destroy(p);
    op_conf_destroy(conf);
    size_t len;
    *errors = (char *)read_file(e, &len);
    *rejects = (char *)read_file(r, &len);
    unlink(e);
    unlink(r);
}

static void test_check_run(void **state)
{
    (void)state;
    struct producer_file f;
    char *e, *r;
    check_run(fixture("check.xlsx"), "check.xlsx", NULL, &f, &e, &r);
    assert_string_equal(f.sheet, "走访");
    assert_int_equal(f.n.read, 4);
    assert_int_equal(f.n.published, 2);
    assert_int_equal(f.n.rejected, 2);
    assert_int_equal(f.n.header, 1);
    assert_int_equal(f.n.blank, 1);
    assert_int_equal(f.n.lines, 6);
    assert_int_equal(f.n.record_lines, 4);
    assert_false(f.open_error);
    assert_string_equal(
        e, "check.xlsx:走访!3: activity: unknown value \"PARTY\" (expected one of "
           "CONDOLENCE_VISIT, HOME_VISIT, FORUM, FREE_CLINIC, HEALTH_CHECK, LEGAL_AID, JOB_FAIR, "
           "SKILLS_TRAINING, PSYCHOLOGICAL_SERVICE, MEALS, PERFORMANCE, OTHER)\n"
           "check.xlsx:走访!5: occurred_at: before 2000-01-01\n");
    /* A CSV for Excel: BOM, the header as it was, the rows with their dates as RFC 3339. */
    assert_string_equal(
        r, "\xEF\xBB\xBF"
           "类型,事件编号,发生时间,上报时间,单位编号,行政区划代码,活动名称,活动类型,服务对象,"
           "服务职工人次,户数,工作人员数\r\n"
           "visit,x-2,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,,"
           "PARTY,ON_DUTY_HOLIDAY,3,0,1\r\n"
           "visit,x-3,1900-03-01T00:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,,"
           "HOME_VISIT,SANITATION,3,0,1\r\n");
    free(e);
    free(r);

    /* The rejects file is itself an input (CSV, the same aliases): once fixed, it passes. */
    char *fixed = strdup(fixture("fixed.csv"));
    check_run(fixture("check.xlsx"), "check.xlsx", NULL, &f, &e, &r);
    char *p = strstr(r, "PARTY");
    assert_non_null(p);
    memcpy(p, "FORUM", 5);
    p = strstr(r, "1900-03-01");
    assert_non_null(p);
    memcpy(p, "2025-01-05", 10);
    write_file(fixed, r, strlen(r));
    free(e);
    free(r);
    check_run(fixed, "fixed.csv", NULL, &f, &e, &r);
    assert_string_equal(e, "");
    assert_int_equal(f.n.read, 2);
    assert_int_equal(f.n.published, 2);
    free(e);
    free(r);
    free(fixed);

    /* A missing sheet: the file cannot be read, named with the reason. */
    check_run(fixture("check.xlsx"), "check.xlsx", "Sheet1", &f, &e, &r);
    assert_true(f.open_error);
    assert_string_equal(e, "check.xlsx: no sheet named \"Sheet1\" (the sheets: 走访)\n");
    assert_int_equal(f.n.read, 0);
    free(e);
    free(r);

    /* A header that is no header: reported once, every row kept. */
    check_run(fixture("basic.xlsx"), "basic.xlsx", NULL, &f, &e, &r);
    assert_int_equal(f.n.header, 1);
    assert_true(f.header_error);
    assert_int_equal(f.n.read, 6);
    assert_int_equal(f.n.rejected, 6);
    assert_int_equal(f.n.blank, 4); /* the merged title, rows 5, 6 and 7 */
    assert_int_equal(f.n.lines, 11);
    assert_string_equal(e, "basic.xlsx:数据!2: header: unknown column \"名称\"\n");
    free(e);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serial_dates), cmocka_unit_test(test_csv_line),
        cmocka_unit_test(test_read_basic),   cmocka_unit_test(test_read_inline),
        cmocka_unit_test(test_open_errors),  cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_aliases),      cmocka_unit_test(test_check_run),
    };
    return cmocka_run_group_tests(tests, make_fixtures, remove_fixtures);
}
