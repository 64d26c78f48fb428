/* Unit tests of outreach-producer's input: the CSV splitter, the UTF-8 check and the
 * streaming reader (JSON Lines, multi-line and overlong CSV records, bad quotes, regular files
 * only, gzip and format detection). */
#include "producer_test.h"

/* ---- CSV and input ---------------------------------------------------------------------- */

static void expect_cells(const char *text, size_t n, const char *const *want)
{
    struct producer_cells c;
    memset(&c, 0, sizeof c);
    size_t bad = 99;
    const char *why = NULL;
    if (producer_csv_split(text, strlen(text), &c, &bad, &why) != 0)
        fail_msg("%s: cell %zu: %s", text, bad, why);
    assert_int_equal(c.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c.len[i], strlen(want[i]));
        assert_string_equal(c.cell[i], want[i]);
    }
    producer_cells_free(&c);
}

static void test_csv_split(void **state)
{
    (void)state;
    expect_cells("a,b,c", 3, (const char *const[]){"a", "b", "c"});
    expect_cells("", 1, (const char *const[]){""});
    expect_cells(",", 2, (const char *const[]){"", ""});
    expect_cells("a,,", 3, (const char *const[]){"a", "", ""});
    expect_cells("\"\"", 1, (const char *const[]){""});
    expect_cells("\"a,b\",c", 2, (const char *const[]){"a,b", "c"});
    expect_cells("\"say \"\"hi\"\"\",x", 2, (const char *const[]){"say \"hi\"", "x"});
    expect_cells("\"line1\r\nline2\",\"\"\"\"", 2, (const char *const[]){"line1\r\nline2", "\""});
    expect_cells(" a , b ", 2, (const char *const[]){" a ", " b "});
    expect_cells("大米、面粉、食用油,\"仓前山社区工会驿站, 米时和元宵\"", 2,
                 (const char *const[]){"大米、面粉、食用油", "仓前山社区工会驿站, 米时和元宵"});
    expect_cells("HOUSING:3;MEDICAL:1,", 2, (const char *const[]){"HOUSING:3;MEDICAL:1", ""});
}

static void test_csv_split_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t bad;
        const char *why;
    } v[] = {
        {"a,\"b", 1, "unterminated quoted cell"},
        {"\"a\"b,c", 0, "text after the closing quote"},
        {"a,\"b\" ,c", 1, "text after the closing quote"},
        {"a,b\"c", 1,
         "quote in an unquoted cell (enclose the cell in quotes and double the quote)"},
    };
    struct producer_cells c;
    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t bad = 99;
        const char *why = NULL;
        assert_int_equal(producer_csv_split(v[i].text, strlen(v[i].text), &c, &bad, &why), -1);
        assert_int_equal(bad, v[i].bad);
        assert_string_equal(why, v[i].why);
    }
    producer_cells_free(&c);
}

static void test_utf8_check(void **state)
{
    (void)state;
    assert_true(producer_utf8_check("ascii 两节送温暖 🎉", strlen("ascii 两节送温暖 🎉")) ==
                (size_t)-1);
    assert_int_equal(producer_utf8_check("ab\xff", 3), 2);
    assert_int_equal(producer_utf8_check("\xc0\xaf", 2), 0);         /* overlong '/' */
    assert_int_equal(producer_utf8_check("x\xed\xa0\x80", 4), 1);    /* surrogate */
    assert_int_equal(producer_utf8_check("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    assert_int_equal(producer_utf8_check("\xe4\xb8", 2), 0);         /* truncated */
    assert_int_equal(producer_utf8_check("\xc4\xe3\xba\xc3", 4), 0); /* GBK 你好 */
}

struct got {
    long line, lines;
    size_t len, text_len;
    int overlong;
    char text[256];
};

/* Physical lines of the last read_all(), and how many of them were blank. */
static long read_lines, read_blank;

static size_t read_all(const char *path, enum producer_format fmt, size_t max, struct got *g,
                       size_t n, enum producer_format *detected)
{
    struct producer_input in;
    char err[256];
    assert_int_equal(producer_input_open(&in, path, fmt, max, err, sizeof err), 0);
    if (detected)
        *detected = in.format;
    struct producer_raw raw;
    size_t k = 0;
    int r;
    while ((r = producer_input_next(&in, &raw)) == 1) {
        assert_true(k < n);
        g[k].line = raw.line;
        g[k].lines = raw.lines;
        g[k].len = raw.len;
        g[k].text_len = raw.text_len;
        g[k].overlong = raw.overlong;
        snprintf(g[k].text, sizeof g[k].text, "%.*s",
                 (int)(raw.text_len < 255 ? raw.text_len : 255), raw.data);
        k++;
    }
    assert_int_equal(r, 0);
    read_lines = in.lines;
    read_blank = in.blank_lines;
    producer_input_close(&in);
    return k;
}

static void test_reader_jsonl(void **state)
{
    (void)state;
    const char data[] = "\xEF\xBB\xBF{\"a\":1}\r\n\n   \r\n{\"b\":2}\n\t\n{\"c\":3}";
    char *path = temp_file(".jsonl", data, sizeof data - 1);
    struct got g[8];
    enum producer_format fmt;
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 1024, g, 8, &fmt), 3);
    assert_int_equal(fmt, PRODUCER_FORMAT_JSONL);
    assert_int_equal(g[0].line, 1);
    assert_string_equal(g[0].text, "{\"a\":1}");
    assert_int_equal(g[0].len, 9); /* CRLF kept in the original bytes, BOM not */
    assert_int_equal(g[1].line, 4);
    assert_string_equal(g[1].text, "{\"b\":2}");
    assert_int_equal(g[2].line, 6);
    assert_int_equal(g[2].len, 7); /* no terminator at the end of the file */
    assert_string_equal(g[2].text, "{\"c\":3}");
    rm_temp(path);
}

static void test_reader_csv_multiline(void **state)
{
    (void)state;
    const char data[] = "type,note\r\nvisit,\"two\r\nlines\"\r\n\r\nvisit,\"a \"\"q\"\"\"\r\n"
                        "visit,\"x\ny\nz\"\nvisit,end";
    char *path = temp_file(".data", data, sizeof data - 1);
    struct got g[8];
    enum producer_format fmt;
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 1024, g, 8, &fmt), 5);
    assert_int_equal(fmt, PRODUCER_FORMAT_CSV); /* sniffed: not '{' */
    long lines[] = {1, 2, 5, 6, 9};
    for (int i = 0; i < 5; i++)
        assert_int_equal(g[i].line, lines[i]);
    assert_string_equal(g[1].text, "visit,\"two\r\nlines\"");
    assert_string_equal(g[3].text, "visit,\"x\ny\nz\"");
    assert_string_equal(g[4].text, "visit,end");
    rm_temp(path);
}

/* Records longer than the read chunk, and longer than the limit. */
static void test_reader_long_records(void **state)
{
    (void)state;
    size_t big = 3 * PRODUCER_INPUT_CHUNK + 17;
    char *data = malloc(2 * big + 16);
    assert_non_null(data);
    size_t n = 0;
    data[n++] = '{';
    memset(data + n, 'x', big);
    n += big;
    data[n++] = '}';
    data[n++] = '\n';
    memcpy(data + n, "{\"ok\":1}\n", 9);
    n += 9;
    char *path = temp_file(".jsonl", data, n);
    struct got g[4];
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, big + 8, g, 4, NULL), 2);
    assert_int_equal(g[0].text_len, big + 2);
    assert_int_equal(g[0].overlong, 0);
    assert_string_equal(g[1].text, "{\"ok\":1}");
    assert_int_equal(g[1].line, 2);
    /* With a lower limit the first record is cut, and the next one is intact. */
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 4096, g, 4, NULL), 2);
    assert_int_equal(g[0].overlong, 1);
    assert_int_equal(g[0].len, 4096);
    assert_string_equal(g[1].text, "{\"ok\":1}");
    assert_int_equal(g[1].line, 2);
    rm_temp(path);
    free(data);
}

/* A quote that is not at the start of a cell, or text after a closing quote, spoils only its
 * own record: it ends at the physical line end, and the quoting of the next lines is intact. */
static void test_reader_csv_bad_quotes(void **state)
{
    (void)state;
    const char data[] = "type,note\n"                /* 1 */
                        "visit,a\"b\n"               /* 2: stray quote */
                        "visit,ok\n"                 /* 3 */
                        "visit,\"x\"\"y, z\r\nw\"\n" /* 4-5: legit multi-line cell */
                        "visit,\"a\"b,\"c\n"         /* 6: text after the closing quote */
                        "visit,ok2\n"                /* 7 */
                        "visit,x\"y,\"z\n"           /* 8: stray, then an opening quote */
                        "\n"                         /* 9: blank */
                        "visit,\"\",\"\"\"\"\n"      /* 10: empty and quote-only cells */
                        "visit,end";                 /* 11: no terminator */
    char *path = temp_file(".csv", data, sizeof data - 1);
    struct got g[16];
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 1024, g, 16, NULL), 9);
    static const struct {
        long line, lines;
        const char *text;
    } want[] = {
        {1, 1, "type,note"},        {2, 1, "visit,a\"b"},
        {3, 1, "visit,ok"},         {4, 2, "visit,\"x\"\"y, z\r\nw\""},
        {6, 1, "visit,\"a\"b,\"c"}, {7, 1, "visit,ok2"},
        {8, 1, "visit,x\"y,\"z"},   {10, 1, "visit,\"\",\"\"\"\""},
        {11, 1, "visit,end"},
    };
    for (size_t i = 0; i < 9; i++) {
        assert_int_equal(g[i].line, want[i].line);
        assert_int_equal(g[i].lines, want[i].lines);
        assert_string_equal(g[i].text, want[i].text);
    }
    assert_int_equal(read_lines, 11);
    assert_int_equal(read_blank, 1);
    rm_temp(path);
    /* After a BOM, a quote still opens the first cell. */
    const char bom[] = "\xEF\xBB\xBF\"ty\npe\",note\nvisit,x\n";
    path = temp_file(".csv", bom, sizeof bom - 1);
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 1024, g, 16, NULL), 2);
    assert_string_equal(g[0].text, "\"ty\npe\",note");
    assert_int_equal(g[0].lines, 2);
    assert_string_equal(g[1].text, "visit,x");
    rm_temp(path);
}

/* An over-long record whose quoted cell holds line ends, commas and doubled quotes is skipped
 * as a whole: the next record starts after the cell closes, not at the cell's next line. */
static void test_reader_csv_long_quoted_cell(void **state)
{
    (void)state;
    const char piece[] = "long, \"\"quoted\"\"\n";
    size_t reps = 3 * PRODUCER_INPUT_CHUNK / (sizeof piece - 1) + 5;
    struct op_buf b;
    memset(&b, 0, sizeof b);
    assert_int_equal(op_buf_append(&b, "type,note\nvisit,\"", 17), 0);
    for (size_t i = 0; i < reps; i++)
        assert_int_equal(op_buf_append(&b, piece, sizeof piece - 1), 0);
    assert_int_equal(op_buf_append(&b, "\"\nvisit,after\n", 14), 0);
    char *path = temp_file(".csv", b.data, b.len);
    struct got g[4];
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 4096, g, 4, NULL), 3);
    assert_int_equal(g[1].line, 2);
    assert_int_equal(g[1].overlong, 1);
    assert_int_equal(g[1].len, 4096);
    assert_int_equal(g[1].lines, (long)reps + 1);
    assert_int_equal(g[2].line, (long)reps + 3);
    assert_int_equal(g[2].overlong, 0);
    assert_string_equal(g[2].text, "visit,after");
    assert_int_equal(read_lines, (long)reps + 3);
    /* Under the limit the same cell is one record, "" at a chunk boundary included. */
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, b.len, g, 4, NULL), 3);
    assert_int_equal(g[1].overlong, 0);
    assert_int_equal(g[1].text_len, b.len - 10 - 13);
    assert_string_equal(g[2].text, "visit,after");
    rm_temp(path);
    op_buf_free(&b);
}

/* The spool opens only regular files: never through a link, never a FIFO (which would block). */
static void test_reader_regular_only(void **state)
{
    (void)state;
    char *path = temp_file(".csv", "type\nvisit\n", 11);
    char dir[256], link[300], fifo[300], want[400], err[512];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    snprintf(link, sizeof link, "%s/link.csv", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo.csv", dir);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    struct producer_input in;
    assert_int_equal(
        producer_input_open_regular(&in, path, PRODUCER_FORMAT_AUTO, 1024, err, sizeof err), 0);
    struct producer_raw raw;
    assert_int_equal(producer_input_next(&in, &raw), 1);
    producer_input_close(&in);
    static const struct {
        const char *which, *kind;
    } v[] = {{"link", "a symbolic link"}, {"fifo", "a FIFO"}, {"dir", "a directory"}};
    for (size_t i = 0; i < 3; i++) {
        const char *p = i == 0 ? link : i == 1 ? fifo : dir;
        assert_int_equal(
            producer_input_open_regular(&in, p, PRODUCER_FORMAT_AUTO, 1024, err, sizeof err), -1);
        snprintf(want, sizeof want, "%s: not a regular file (%s): not read", p, v[i].kind);
        assert_string_equal(err, want);
    }
    /* The one-shot reader still follows a link given on the command line. */
    assert_int_equal(producer_input_open(&in, link, PRODUCER_FORMAT_AUTO, 1024, err, sizeof err),
                     0);
    producer_input_close(&in);
    unlink(link);
    unlink(fifo);
    rm_temp(path);
}

static void test_reader_gzip_and_formats(void **state)
{
    (void)state;
    char *path = temp_file(".csv.gz", "", 0);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    gzputs(gz, "type,event_id\nvisit,a\nvisit,b\n");
    gzclose(gz);
    struct got g[4];
    enum producer_format fmt;
    assert_int_equal(read_all(path, PRODUCER_FORMAT_AUTO, 1024, g, 4, &fmt), 3);
    assert_int_equal(fmt, PRODUCER_FORMAT_CSV);
    assert_string_equal(g[2].text, "visit,b");
    rm_temp(path);
    assert_int_equal(producer_format_from_path("a.jsonl"), PRODUCER_FORMAT_JSONL);
    assert_int_equal(producer_format_from_path("a.json.gz"), PRODUCER_FORMAT_JSONL);
    assert_int_equal(producer_format_from_path("a.ndjson"), PRODUCER_FORMAT_JSONL);
    assert_int_equal(producer_format_from_path("dir.csv/a.CSV"), PRODUCER_FORMAT_AUTO);
    assert_int_equal(producer_format_from_path("a.csv"), PRODUCER_FORMAT_CSV);
    assert_int_equal(producer_format_from_name("csv"), PRODUCER_FORMAT_CSV);
    assert_int_equal(producer_format_from_name("xml"), PRODUCER_FORMAT_AUTO);
    struct producer_input in;
    char err[256];
    assert_int_equal(
        producer_input_open(&in, "/nonexistent/x.csv", PRODUCER_FORMAT_AUTO, 1024, err, sizeof err),
        -1);
    assert_string_equal(err, "/nonexistent/x.csv: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_split),
        cmocka_unit_test(test_csv_split_errors),
        cmocka_unit_test(test_utf8_check),
        cmocka_unit_test(test_reader_jsonl),
        cmocka_unit_test(test_reader_csv_multiline),
        cmocka_unit_test(test_reader_long_records),
        cmocka_unit_test(test_reader_csv_bad_quotes),
        cmocka_unit_test(test_reader_csv_long_quoted_cell),
        cmocka_unit_test(test_reader_regular_only),
        cmocka_unit_test(test_reader_gzip_and_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
