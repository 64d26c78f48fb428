/* Unit tests of SHA-256 against the FIPS 180-4 / NIST example vectors, including the
 * padding edge cases (55, 56, 63, 64 bytes) and streaming in uneven pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"

static void hex_of(const void *data, size_t len, char out[OP_SHA256_HEX_SIZE])
{
    unsigned char d[OP_SHA256_SIZE];
    op_sha256(data, len, d);
    op_sha256_hex(d, sizeof d, out);
}

static void test_nist_vectors(void **state)
{
    (void)state;
    char hex[OP_SHA256_HEX_SIZE];
    hex_of("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(m448, strlen(m448), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 =
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
        "klmnopqrlmnopqrsmnopqrstnopqrstu";
    hex_of(m896, strlen(m896), hex);
    assert_string_equal(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a_streamed(void **state)
{
    (void)state;
    struct op_sha256 c;
    op_sha256_init(&c);
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        op_sha256_update(&c, chunk, n);
        left -= n;
    }
    unsigned char d[OP_SHA256_SIZE];
    op_sha256_final(&c, d);
    char hex[OP_SHA256_HEX_SIZE];
    op_sha256_hex(d, sizeof d, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Padding boundaries: streamed byte by byte must equal one-shot. Reference digests from
 * Python's hashlib for 'x' * n. */
static void test_padding_boundaries(void **state)
{
    (void)state;
    static const struct {
        size_t n;
        const char *hex;
    } v[] = {
        {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
        {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
        {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
        {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
        {119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"},
        {120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"},
    };
    char x[128];
    memset(x, 'x', sizeof x);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char hex[OP_SHA256_HEX_SIZE];
        hex_of(x, v[i].n, hex);
        assert_string_equal(hex, v[i].hex);
    }
    for (size_t n = 0; n < 200; n++) {
        char *buf = malloc(n + 1);
        assert_non_null(buf);
        memset(buf, 'x', n);
        unsigned char one[OP_SHA256_SIZE], two[OP_SHA256_SIZE];
        op_sha256(buf, n, one);
        struct op_sha256 c;
        op_sha256_init(&c);
        for (size_t i = 0; i < n; i++)
            op_sha256_update(&c, buf + i, 1);
        op_sha256_final(&c, two);
        assert_memory_equal(one, two, OP_SHA256_SIZE);
        free(buf);
    }
}

static void test_hex_prefix(void **state)
{
    (void)state;
    unsigned char d[OP_SHA256_SIZE];
    op_sha256("abc", 3, d);
    char hex[OP_SHA256_HEX_SIZE];
    op_sha256_hex(d, 16, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nist_vectors),
        cmocka_unit_test(test_million_a_streamed),
        cmocka_unit_test(test_padding_boundaries),
        cmocka_unit_test(test_hex_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
