/* Unit tests of outreach-producer's input encodings: the UTF-8 / GB18030 check (BOM, ASCII,
 * Chinese in both, 4-byte GB18030, pieces of any size), the per-record decoder and its messages,
 * and --check runs over GB18030 CSV, JSON Lines and stdin with their reports and rejects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "kafka.h"
#include "../../producers/encoding.h"
#include "../../producers/input.h"
#include "../../producers/producer.h"

/* "2025 两节送温暖" in GB18030 (GBK: two bytes a character). */
#define GB_CAMPAIGN "2025 \xC1\xBD\xBD\xDA\xCB\xCD\xCE\xC2\xC5\xAF"
#define U8_CAMPAIGN "2025 两节送温暖"
/* U+3400 and U+1F600: four bytes in GB18030 (BMP and supplementary plane). */
#define GB_4BYTE "\x81\x39\xEE\x39\x94\x39\xFC\x36"
#define U8_4BYTE "\xE3\x90\x80\xF0\x9F\x98\x80"

static enum producer_encoding sniff(const char *data, size_t len, size_t piece, int complete,
                                    struct producer_sniff *out)
{
    char err[256];
    struct producer_sniff s;
    assert_int_equal(producer_sniff_init(&s, 1, err, sizeof err), 0);
    for (size_t i = 0; i < len; i += piece)
        producer_sniff_feed(&s, data + i, len - i < piece ? len - i : piece);
    enum producer_encoding e = producer_sniff_verdict(&s, complete);
    producer_sniff_free(&s);
    if (out)
        *out = s;
    return e;
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(producer_encoding_from_name("auto"), PRODUCER_ENCODING_AUTO);
    assert_int_equal(producer_encoding_from_name("UTF-8"), PRODUCER_ENCODING_UTF8);
    assert_int_equal(producer_encoding_from_name("utf8"), PRODUCER_ENCODING_UTF8);
    assert_int_equal(producer_encoding_from_name("gb18030"), PRODUCER_ENCODING_GB18030);
    assert_int_equal(producer_encoding_from_name("GBK"), PRODUCER_ENCODING_GB18030);
    assert_int_equal(producer_encoding_from_name("latin1"), -1);
    assert_int_equal(producer_encoding_from_name(""), -1);
    assert_string_equal(producer_encoding_name(PRODUCER_ENCODING_GB18030), "GB18030");
    assert_string_equal(producer_encoding_name(PRODUCER_ENCODING_UTF8), "UTF-8");
}

static void test_sniff(void **state)
{
    (void)state;
    struct producer_sniff s;
    /* Every piece size gives the same verdict: sequences cut between pieces carry over. */
    static const size_t pieces[] = {1, 2, 3, 5, 4096};
    for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
        size_t n = pieces[k];
        const char ascii[] = "type,region\nvisit,530622\n";
        assert_int_equal(sniff(ascii, sizeof ascii - 1, n, 1, &s), PRODUCER_ENCODING_UTF8);
        assert_false(s.utf8_bad || s.gb_bad);

        const char u8[] = "a,b\nvisit," U8_CAMPAIGN "," U8_4BYTE "\n";
        assert_int_equal(sniff(u8, sizeof u8 - 1, n, 1, &s), PRODUCER_ENCODING_UTF8);
        assert_false(s.utf8_bad);
        assert_true(s.gb_bad); /* UTF-8 Chinese is rarely GB18030 */

        const char gb[] = "a,b\n\nvisit," GB_CAMPAIGN "," GB_4BYTE "\n";
        assert_int_equal(sniff(gb, sizeof gb - 1, n, 1, &s), PRODUCER_ENCODING_GB18030);
        assert_true(s.utf8_bad);
        assert_int_equal(s.utf8_bad_line, 3);
        assert_false(s.gb_bad);

        /* 0xFF is neither: UTF-8, with the line of each first bad byte. */
        const char both[] = "a\n" GB_CAMPAIGN "\nb\xFF\n";
        assert_int_equal(sniff(both, sizeof both - 1, n, 1, &s), PRODUCER_ENCODING_UTF8);
        assert_true(s.utf8_bad && s.gb_bad);
        assert_int_equal(s.utf8_bad_line, 2);
        assert_int_equal(s.gb_bad_line, 3);

        /* Cut by the end: fine in a prefix, invalid at the end of the whole input. */
        const char cut_gb[] = "x," GB_CAMPAIGN "\x81\x39";
        assert_int_equal(sniff(cut_gb, sizeof cut_gb - 1, n, 0, &s), PRODUCER_ENCODING_GB18030);
        assert_int_equal(sniff(cut_gb, sizeof cut_gb - 1, n, 1, &s), PRODUCER_ENCODING_UTF8);
        assert_true(s.gb_bad);
        const char cut_u8[] = "x," U8_CAMPAIGN "\xF0\x9F";
        assert_int_equal(sniff(cut_u8, sizeof cut_u8 - 1, n, 0, &s), PRODUCER_ENCODING_UTF8);
        assert_false(s.utf8_bad);
        assert_int_equal(sniff(cut_u8, sizeof cut_u8 - 1, n, 1, &s), PRODUCER_ENCODING_UTF8);
        assert_true(s.utf8_bad);
    }
    /* UTF-8 the strict way: overlongs, surrogates and code points past U+10FFFF are not. */
    sniff("\xC0\xAF", 2, 1, 1, &s);
    assert_true(s.utf8_bad);
    sniff("\xED\xA0\x80", 3, 1, 1, &s);
    assert_true(s.utf8_bad);
    sniff("\xF4\x90\x80\x80", 4, 1, 1, &s);
    assert_true(s.utf8_bad);
    sniff("\xF0\x8F\xBF\xBF", 4, 1, 1, &s);
    assert_true(s.utf8_bad);
    /* GB18030 the iconv way: a 4-byte code past the assigned ranges is refused. */
    assert_int_equal(sniff("\xFE\x39\xFE\x39", 4, 1, 1, &s), PRODUCER_ENCODING_UTF8);
    assert_true(s.gb_bad);
}

/* One record through a decoder; returns its UTF-8 text or "ERR: reason" (static). */
static const char *decode(struct producer_decoder *d, const struct producer_input *in,
                          const char *data, long line)
{
    static char out[512];
    struct producer_raw raw = {data, strlen(data), strlen(data), line, 1, 0};
    if (raw.text_len && data[raw.text_len - 1] == '\n')
        raw.text_len--;
    if (raw.text_len && data[raw.text_len - 1] == '\r')
        raw.text_len--;
    const char *text;
    size_t len;
    char reason[256];
    if (producer_decoder_record(d, in, &raw, &text, &len, reason, sizeof reason) != 0)
        snprintf(out, sizeof out, "ERR: %s", reason);
    else
        snprintf(out, sizeof out, "%.*s", (int)len, text);
    return out;
}

static void test_decoder(void **state)
{
    (void)state;
    char err[256];
    struct producer_input in;
    memset(&in, 0, sizeof in);
    struct producer_decoder d;

    /* Forced GB18030: converted, 4-byte sequences too; a bad byte is named by its offset. */
    assert_int_equal(producer_decoder_init(&d, PRODUCER_ENCODING_GB18030, err, sizeof err), 0);
    producer_decoder_start(&d, "-", "stdin", NULL);
    assert_string_equal(decode(&d, &in,
                               "\x84\x31\x95\x33"
                               "a,b\n",
                               1),
                        "a,b"); /* its BOM */
    assert_string_equal(decode(&d, &in, "visit," GB_CAMPAIGN "," GB_4BYTE "\r\n", 2),
                        "visit," U8_CAMPAIGN "," U8_4BYTE);
    assert_string_equal(decode(&d, &in, "ok,\xC1\xBD\xFF,x\n", 3),
                        "ERR: invalid GB18030 at byte 6 (--encoding gb18030)");
    assert_string_equal(decode(&d, &in, "cut,\xC1\n", 4),
                        "ERR: invalid GB18030 at byte 5 (--encoding gb18030)");
    assert_string_equal(d.note, "");
    producer_decoder_free(&d);

    /* Forced UTF-8 on GB18030 bytes: the hint names the way out. */
    assert_int_equal(producer_decoder_init(&d, PRODUCER_ENCODING_UTF8, err, sizeof err), 0);
    producer_decoder_start(&d, "-", "stdin", NULL);
    assert_string_equal(decode(&d, &in, "x," GB_CAMPAIGN "\n", 1),
                        "ERR: invalid UTF-8 at byte 8 (--encoding utf-8; for GBK or GB18030 give "
                        "--encoding gb18030)");
    producer_decoder_free(&d);

    /* A stream: ASCII leaves it open; the first other record decides, with the bytes read
     * ahead (here a line that only GB18030 explains), and says so once. */
    assert_int_equal(producer_decoder_init(&d, PRODUCER_ENCODING_AUTO, err, sizeof err), 0);
    producer_decoder_start(&d, "-", "stdin", NULL);
    assert_string_equal(decode(&d, &in, "type,campaign\n", 1), "type,campaign");
    assert_int_equal(d.enc, PRODUCER_ENCODING_AUTO);
    unsigned char ahead[] = "visit," GB_CAMPAIGN "\n";
    in.chunk = ahead;
    in.chunk_len = sizeof ahead - 1;
    /* 一 in GB18030 is D2 BB, which is also UTF-8 (U+04BB). */
    assert_string_equal(decode(&d, &in, "visit,\xD2\xBB\n", 2), "visit,一");
    assert_int_equal(d.enc, PRODUCER_ENCODING_GB18030);
    assert_string_equal(d.note, "stdin: read as GB18030 (decided at line 2, the first that is "
                                "not ASCII: not valid UTF-8 from line 3, valid GB18030)");
    d.note[0] = 0;
    assert_string_equal(decode(&d, &in, "visit," GB_CAMPAIGN "\n", 3), "visit," U8_CAMPAIGN);
    assert_string_equal(d.note, "");

    /* The same with a UTF-8 BOM: UTF-8, whatever follows. */
    producer_decoder_start(&d, "-", "stdin", NULL);
    in.bom = 1;
    assert_string_equal(decode(&d, &in, "visit,\xD2\xBB\n", 2), "visit,\xD2\xBB");
    assert_int_equal(d.enc, PRODUCER_ENCODING_UTF8);
    assert_string_equal(decode(&d, &in, "visit," GB_CAMPAIGN "\n", 3),
                        "ERR: invalid UTF-8 at byte 12 (read as UTF-8; for GBK or GB18030 give "
                        "--encoding gb18030)");
    assert_string_equal(d.note, "");

    /* Neither encoding: UTF-8, with a warning. */
    producer_decoder_start(&d, "-", "stdin", NULL);
    in.bom = 0;
    in.chunk = NULL;
    in.chunk_len = 0;
    assert_string_equal(decode(&d, &in, "bad\xFF\n", 5),
                        "ERR: invalid UTF-8 at byte 4 (read as UTF-8; for GBK or GB18030 give "
                        "--encoding gb18030)");
    assert_int_equal(d.note_warning, 1);
    assert_string_equal(d.note, "stdin: read as UTF-8 (decided at line 5, the first that is not "
                                "ASCII: neither valid UTF-8 from line 5 nor valid GB18030 from "
                                "line 5); if it is GBK or GB18030, --encoding gb18030 reads it "
                                "as such");
    producer_decoder_free(&d);
}

/* ---- --check runs ----------------------------------------------------------------------- */

static char *temp_file(const char *suffix, const void *data, size_t len)
{
    char dir[] = "/tmp/test_encoding_XXXXXX";
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

static void rm_temp(char *path)
{
    char other[300];
    snprintf(other, sizeof other, "%s.errors", path);
    unlink(other);
    snprintf(other, sizeof other, "%s.rejects", path);
    unlink(other);
    unlink(path);
    char *slash = strrchr(path, '/');
    *slash = 0;
    rmdir(path);
    free(path);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return calloc(1, 1);
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, fp);
    buf[n] = 0;
    fclose(fp);
    return buf;
}

static struct producer *check_producer(struct op_conf **confp, const char *encoding)
{
    char err[512];
    struct op_conf *conf = op_conf_new_kafka(producer_conf_defs);
    assert_non_null(conf);
    assert_int_equal(producer_conf_defaults(conf, err, sizeof err), 0);
    assert_int_equal(op_conf_set(conf, "agency.530000-ZGH.regions", "53", err, sizeof err), 0);
    if (encoding)
        assert_int_equal(op_conf_set(conf, "input.encoding", encoding, err, sizeof err), 0);
    struct producer_opts opts = {PRODUCER_FORMAT_AUTO, -1, NULL, NULL, 0, 1};
    struct producer *p = producer_new(conf, &opts, err, sizeof err);
    if (!p)
        fail_msg("%s", err);
    *confp = conf;
    return p;
}

/* Publishes (--check) path as `name`; the .errors and .rejects contents into *errors and
 * *rejects (caller frees). */
static void check_run(const char *encoding, const char *path, const char *name,
                      struct producer_file *f, char **errors, char **rejects)
{
    char e[300], r[300];
    snprintf(e, sizeof e, "%s.errors", strcmp(path, "-") ? path : "/tmp/test_encoding_stdin");
    snprintf(r, sizeof r, "%s.rejects", strcmp(path, "-") ? path : "/tmp/test_encoding_stdin");
    unlink(e);
    unlink(r);
    struct op_conf *conf;
    struct producer *p = check_producer(&conf, encoding);
    struct producer_sink sink = {r, e, 0, NULL};
    volatile sig_atomic_t run = 1;
    producer_publish(p, path, name, &sink, f, &run);
    producer_destroy(p);
    op_conf_destroy(conf);
    *errors = slurp(e);
    *rejects = slurp(r);
    unlink(e);
    unlink(r);
}

#define HEADER                                                                                     \
    "type,event_id,occurred_at,reported_at,agency_id,region,campaign,activity,target_groups,"      \
    "workers_reached,households,staff,note"
#define ROW(id, campaign, note)                                                                    \
    "visit," id ",2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622," campaign \
    ",CONDOLENCE_VISIT,ON_DUTY_HOLIDAY,3,0,1," note "\r\n"

static void test_check_gb18030_csv(void **state)
{
    (void)state;
    /* Lines 3-4 hold a multi-line cell, line 7 a byte GB18030 does not have. */
    const char data[] = HEADER "\r\n" ROW("g-1", GB_CAMPAIGN, GB_4BYTE)
        ROW("g-2", GB_CAMPAIGN, "\"\xC1\xBD\r\n\xBD\xDA\"") "\r\n" ROW("g-3", "", "ascii")
            ROW("g-4", GB_CAMPAIGN, "\xC1\xBD\xFF");
    char *in = temp_file(".csv", data, sizeof data - 1);
    struct producer_file f;
    char *e, *r;

    /* Forced: every good row, the bad one named by its line, its bytes kept as they were. */
    check_run("gb18030", in, "gb.csv", &f, &e, &r);
    assert_int_equal(f.encoding, PRODUCER_ENCODING_GB18030);
    assert_int_equal(f.n.read, 4);
    assert_int_equal(f.n.published, 3);
    assert_int_equal(f.n.rejected, 1);
    assert_string_equal(e, "gb.csv:7: record: invalid GB18030 at byte 138 (--encoding gb18030)\n");
    assert_string_equal(r, HEADER "\r\n" ROW("g-4", GB_CAMPAIGN, "\xC1\xBD\xFF"));
    free(e);
    free(r);

    /* Detected: the file is neither UTF-8 nor (line 7) GB18030, so it is not guessed. */
    check_run(NULL, in, "gb.csv", &f, &e, &r);
    assert_int_equal(f.encoding, PRODUCER_ENCODING_UTF8);
    assert_int_equal(f.n.published, 1);
    assert_int_equal(f.n.rejected, 3);
    free(e);
    free(r);
    rm_temp(in);

    /* Without the bad row it is detected as GB18030. */
    const char good[] = HEADER "\r\n" ROW("g-1", GB_CAMPAIGN, GB_4BYTE)
        ROW("g-2", GB_CAMPAIGN, "\"\xC1\xBD\r\n\xBD\xDA\"") ROW("g-3", "", "ascii");
    in = temp_file(".csv", good, sizeof good - 1);
    check_run(NULL, in, "gb.csv", &f, &e, &r);
    assert_int_equal(f.encoding, PRODUCER_ENCODING_GB18030);
    assert_int_equal(f.n.read, 3);
    assert_int_equal(f.n.published, 3);
    assert_string_equal(e, "");
    assert_string_equal(r, "");
    free(e);
    free(r);

    /* Forced UTF-8: every row with GB18030 bytes is rejected with its own line. */
    check_run("utf-8", in, "gb.csv", &f, &e, &r);
    assert_int_equal(f.encoding, PRODUCER_ENCODING_UTF8);
    assert_int_equal(f.n.published, 1);
    assert_string_equal(e, "gb.csv:2: record: invalid UTF-8 at byte 86 (--encoding utf-8; for "
                           "GBK or GB18030 give --encoding gb18030)\n"
                           "gb.csv:3: record: invalid UTF-8 at byte 86 (--encoding utf-8; for "
                           "GBK or GB18030 give --encoding gb18030)\n");
    assert_string_equal(r, HEADER "\r\n" ROW("g-1", GB_CAMPAIGN, GB_4BYTE)
                               ROW("g-2", GB_CAMPAIGN, "\"\xC1\xBD\r\n\xBD\xDA\""));
    free(e);
    free(r);
    rm_temp(in);

    /* The same rows in UTF-8 with a BOM: UTF-8. */
    const char u8[] = "\xEF\xBB\xBF" HEADER "\r\n" ROW("g-1", U8_CAMPAIGN, U8_4BYTE);
    in = temp_file(".csv", u8, sizeof u8 - 1);
    check_run(NULL, in, "u8.csv", &f, &e, &r);
    assert_int_equal(f.encoding, PRODUCER_ENCODING_UTF8);
    assert_int_equal(f.n.published, 1);
    free(e);
    free(r);
    rm_temp(in);
}

#define JSON_VISIT(campaign)                                                                       \
    "{\"type\":\"visit\",\"occurred_at\":\"2025-01-06T10:00:00+08:00\",\"reported_at\":"           \
    "\"2025-01-08T17:30:00+08:00\",\"agency_id\":\"530000-ZGH\",\"region\":\"530622\","            \
    "\"campaign\":\"" campaign "\",\"activity\":\"CONDOLENCE_VISIT\",\"target_groups\":"           \
    "[\"ON_DUTY_HOLIDAY\"],\"workers_reached\":3,\"households\":0,\"staff\":1}\n"

static void test_check_gb18030_jsonl_and_stdin(void **state)
{
    (void)state;
    const char data[] = JSON_VISIT("ascii") JSON_VISIT(GB_CAMPAIGN) JSON_VISIT(GB_4BYTE);
    char *in = temp_file(".jsonl", data, sizeof data - 1);
    struct producer_file f;
    char *e, *r;
    check_run(NULL, in, "gb.jsonl", &f, &e, &r);
    assert_int_equal(f.encoding, PRODUCER_ENCODING_GB18030);
    assert_int_equal(f.n.published, 3);
    assert_string_equal(e, "");
    free(e);
    free(r);
    rm_temp(in);

    /* stdin (a pipe): decided at line 2, the first line that is not ASCII. */
    int fds[2], saved = dup(STDIN_FILENO);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], data, sizeof data - 1), (ssize_t)(sizeof data - 1));
    close(fds[1]);
    assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
    close(fds[0]);
    check_run(NULL, "-", "stdin", &f, &e, &r);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    assert_int_equal(f.encoding, PRODUCER_ENCODING_GB18030);
    assert_int_equal(f.n.published, 3);
    assert_string_equal(e, "");
    free(e);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_decoder),
        cmocka_unit_test(test_check_gb18030_csv),
        cmocka_unit_test(test_check_gb18030_jsonl_and_stdin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
