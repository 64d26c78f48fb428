/* Unit tests of the string map: a long random sequence of puts and removes checked against a
 * plain array kept by the test, plus iteration and ownership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "map.h"

#define KEYS 2000

static void test_against_reference(void **state)
{
    (void)state;
    struct op_map *m = op_map_new();
    assert_non_null(m);
    static intptr_t ref[KEYS]; /* 0 = absent, else the stored value */
    uint64_t r = 7;
    size_t present = 0;
    for (int step = 0; step < 200000; step++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        int k = (int)((r >> 33) % KEYS);
        char key[32];
        int len = snprintf(key, sizeof key, "DAY|2025-01-%02d|%06d", k % 31, k);
        if ((r >> 20) % 3 == 0) {
            void *v = op_map_remove(m, key, (size_t)len);
            assert_true((intptr_t)v == ref[k]);
            if (ref[k])
                present--;
            ref[k] = 0;
        } else {
            void *old = NULL;
            intptr_t val = (intptr_t)step + 1;
            assert_int_equal(op_map_put(m, key, (size_t)len, (void *)val, &old), 0);
            assert_true((intptr_t)old == ref[k]);
            if (!ref[k])
                present++;
            ref[k] = val;
        }
        assert_int_equal(op_map_size(m), present);
    }
    for (int k = 0; k < KEYS; k++) {
        char key[32];
        int len = snprintf(key, sizeof key, "DAY|2025-01-%02d|%06d", k % 31, k);
        assert_true((intptr_t)op_map_get(m, key, (size_t)len) == ref[k]);
    }
    size_t pos = 0, seen = 0;
    const char *key;
    size_t klen;
    void *v;
    while (op_map_next(m, &pos, &key, &klen, &v)) {
        int k = atoi(strrchr(key, '|') + 1);
        assert_true((intptr_t)v == ref[k]);
        assert_int_equal(strlen(key), klen);
        seen++;
    }
    assert_int_equal(seen, present);
    op_map_destroy(m, NULL);
}

static void test_binary_keys_and_free(void **state)
{
    (void)state;
    struct op_map *m = op_map_new();
    char a[] = {'x', 0, 'y'}, b[] = {'x', 0, 'z'};
    assert_int_equal(op_map_put(m, a, 3, strdup("A"), NULL), 0);
    assert_int_equal(op_map_put(m, b, 3, strdup("B"), NULL), 0);
    assert_string_equal(op_map_get(m, a, 3), "A");
    assert_string_equal(op_map_get(m, b, 3), "B");
    assert_null(op_map_get(m, "x", 1));
    op_map_destroy(m, free); /* valgrind/ASan prove the values are freed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_binary_keys_and_free),
    };
    return cmocka_run_group_tests_name("map", tests, NULL, NULL);
}
