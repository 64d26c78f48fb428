/* Unit tests for common/utf8, common/timefmt and common/crc64. The UTF-8 reference is built the
 * other way round, by encoding every code point (an encoder, not a decoder), so the decoder under
 * test is compared with an independent definition of "well-formed"; the timestamps were computed
 * with Python's datetime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "crc64.h"
#include "timefmt.h"
#include "utf8.h"

/* UTF-8 of cp per RFC 3629 section 3; returns the length. */
static size_t encode(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Every 1-, 2- and 3-byte string, and every 4-byte string with a lead byte of F0..F4 or a
 * few others: valid exactly when it is the encoding of a scalar value. */
static void test_utf8_exhaustive(void **state)
{
    (void)state;
    /* valid3[b0][b1][b2]: a 16 MiB table of which 3-byte strings are encodings. */
    unsigned char *valid2 = calloc(1u << 16, 1), *valid3 = calloc(1u << 24, 1);
    unsigned char *valid4 = calloc((size_t)8 << 18, 1); /* lead F0..F7, 18 bits of tail */
    assert_non_null(valid2);
    assert_non_null(valid3);
    assert_non_null(valid4);
    for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        unsigned char e[4];
        size_t n = encode(cp, e);
        if (n == 2)
            valid2[e[0] << 8 | e[1]] = 1;
        else if (n == 3)
            valid3[(uint32_t)e[0] << 16 | e[1] << 8 | e[2]] = 1;
        else if (n == 4)
            valid4[(size_t)(e[0] & 7) << 18 | (size_t)(e[1] & 0x3f) << 12 |
                   (size_t)(e[2] & 0x3f) << 6 | (e[3] & 0x3f)] = 1;
    }
    for (uint32_t b = 0; b < 256; b++) {
        unsigned char s[1] = {(unsigned char)b};
        assert_int_equal(op_utf8_seq_len(s, 1), b < 0x80 ? 1 : 0);
        assert_int_equal(op_utf8_check((const char *)s, 1), b < 0x80 ? (size_t)-1 : 0);
    }
    for (uint32_t v = 0x8000; v < 1u << 16; v++) { /* lead >= 0x80: 2 bytes */
        unsigned char s[2] = {(unsigned char)(v >> 8), (unsigned char)v};
        size_t want = valid2[v] ? 2 : 0;
        if (s[0] >= 0xe0) /* a lead of a longer sequence cut short */
            assert_int_equal(op_utf8_seq_len(s, 2), 0);
        else
            assert_int_equal(op_utf8_seq_len(s, 2), want);
    }
    for (uint32_t v = 0xe00000; v < 1u << 24; v++) {
        if (v >> 16 >= 0xf0)
            break;
        unsigned char s[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
        size_t want = valid3[v] ? 3 : 0;
        if (op_utf8_seq_len(s, 3) != want)
            fail_msg("%02x %02x %02x: got %zu", s[0], s[1], s[2], op_utf8_seq_len(s, 3));
        assert_int_equal(op_utf8_check((const char *)s, 3), want ? (size_t)-1 : 0);
    }
    for (uint32_t lead = 0xf0; lead <= 0xff; lead++)
        for (uint32_t t = 0; t < 1u << 18; t++) {
            /* continuation bytes 80..BF in the last two places; the second byte over all of
             * 00..FF for a few tails */
            unsigned char s[4] = {(unsigned char)lead, (unsigned char)(0x80 | (t >> 12 & 0x3f)),
                                  (unsigned char)(0x80 | (t >> 6 & 0x3f)),
                                  (unsigned char)(0x80 | (t & 0x3f))};
            size_t want = lead <= 0xf7 && valid4[(size_t)(lead & 7) << 18 | t] ? 4 : 0;
            if (op_utf8_seq_len(s, 4) != want)
                fail_msg("%02x %02x %02x %02x", s[0], s[1], s[2], s[3]);
        }
    unsigned char bad_tail[4] = {0xf0, 0x90, 0x41, 0x80}; /* 'A' where a continuation goes */
    assert_int_equal(op_utf8_seq_len(bad_tail, 4), 0);
    free(valid2);
    free(valid3);
    free(valid4);
}

static void test_utf8_check_offsets(void **state)
{
    (void)state;
    const char *ok =
        "plain ASCII, longer than eight bytes, then 中文 and an emoji \xf0\x9f\x98\x80";
    assert_int_equal(op_utf8_check(ok, strlen(ok)), (size_t)-1);
    assert_int_equal(op_utf8_check("", 0), (size_t)-1);
    /* NUL is a character like any other here. */
    assert_int_equal(op_utf8_check("a\0b", 3), (size_t)-1);
    /* The offset names the first bad byte, also after a run of ASCII. */
    const char *late = "0123456789abcdef\xc0\x80";
    assert_int_equal(op_utf8_check(late, strlen(late)), 16);
    const char *cut = "abc\xe4\xb8"; /* 中 without its last byte */
    assert_int_equal(op_utf8_check(cut, 5), 3);
    const char *sur = "xy\xed\xa0\x80"; /* U+D800 */
    assert_int_equal(op_utf8_check(sur, 5), 2);
    const char *big = "\xf4\x90\x80\x80"; /* U+110000 */
    assert_int_equal(op_utf8_check(big, 4), 0);
}

static void test_iso8601(void **state)
{
    (void)state;
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1736899200123, "2025-01-15T00:00:00.123Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {-1001, "1969-12-31T23:59:58.999Z"},
        {253402300799999, "9999-12-31T23:59:59.999Z"},
        {951782400000, "2000-02-29T00:00:00.000Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[OP_TIMEFMT_ISO_MAX];
        assert_int_equal(op_timefmt_iso8601_ms(cases[i].ms, out, sizeof out), 0);
        assert_string_equal(out, cases[i].want);
    }
    char small[10];
    assert_int_equal(op_timefmt_iso8601_ms(0, small, sizeof small), -1);
    assert_string_equal(small, "1970-01-0");
}

/* The Avro specification's CRC-64-AVRO values; and the codec's own copy (common/codec.c,
 * to be replaced by op_crc64) must agree with it on any input. */
static void test_crc64(void **state)
{
    (void)state;
    assert_true(op_crc64("", 0) == UINT64_C(0xc15d213aa4d7a795));
    assert_true(op_crc64(NULL, 0) == UINT64_C(0xc15d213aa4d7a795));
    assert_true(op_crc64("\"null\"", 6) == UINT64_C(7195948357588979594));
    unsigned char buf[4096];
    uint64_t x = 42;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        buf[i] = (unsigned char)(x >> 56);
    }
    for (size_t n = 0; n <= sizeof buf; n += 97)
        assert_true(op_crc64(buf, n) == op_codec_crc64(buf, n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_exhaustive),
        cmocka_unit_test(test_utf8_check_offsets),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_crc64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
