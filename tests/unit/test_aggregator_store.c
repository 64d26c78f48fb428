/* Unit tests of the aggregator's LMDB store: what is committed survives a reopen, what is not
 * does not, and a store that cannot be trusted (foreign, truncated, garbage) is rebuilt
 * from nothing with the reason said. */
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

#include "../../consumers/aggregator/store.h"

static char dir[64];

static const struct agg_store_identity ident = {"cluster-A", "t.rollups", "t.seen", 4};

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/outreach-store-test.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    agg_store_remove(dir);
    rmdir(dir);
    return 0;
}

static struct agg_store *open_store(const struct agg_store_identity *id, char *reason)
{
    char err[512];
    struct agg_store *st = agg_store_open(dir, 64, id, reason, 512, err, sizeof err);
    if (!st)
        print_error("open: %s\n", err);
    assert_non_null(st);
    return st;
}

static void fill(struct agg_store *st)
{
    struct agg_rollup r = {0};
    r.id = agg_rollup_id(AGG_ALL, 0, 650000);
    r.revision = 3;
    r.event_count = 2;
    r.workers_reached = 2100;
    assert_int_equal(agg_store_begin(st), 0);
    assert_int_equal(agg_store_put_rollup(st, 1, &r), 0);
    assert_int_equal(agg_store_put_seen(st, 1, "ev-1", 4, 1000, NULL, 0), 0);
    assert_int_equal(agg_store_put_seen(st, 1, "ev-2", 4, 9000, NULL, 0), 0);
    assert_int_equal(agg_store_put_window(st, 0, "2025 两节送温暖"), 0);
    assert_int_equal(agg_store_set_partition(st, 1, 17, 5), 0);
    assert_int_equal(agg_store_commit(st), 0);
}

static void test_commit_survives_reopen(void **state)
{
    (void)state;
    char reason[512];
    struct agg_store *st = open_store(&ident, reason);
    assert_string_equal(reason, "");
    fill(st);
    /* Not committed: gone after abort. */
    assert_int_equal(agg_store_begin(st), 0);
    assert_int_equal(agg_store_put_seen(st, 1, "ev-3", 4, 1000, NULL, 0), 0);
    assert_int_equal(agg_store_set_partition(st, 1, 99, 99), 0);
    agg_store_abort(st);
    agg_store_close(st);

    st = open_store(&ident, reason);
    assert_string_equal(reason, "");
    int64_t r = 0, s = 0;
    assert_int_equal(agg_store_partition(st, 1, &r, &s), 1);
    assert_true(r == 17 && s == 5);
    assert_int_equal(agg_store_partition(st, 2, &r, &s), 0);
    struct agg_rollup got = {0};
    assert_int_equal(agg_store_get_rollup(st, 1, agg_rollup_id(AGG_ALL, 0, 650000), &got), 1);
    assert_true(got.revision == 3 && got.event_count == 2 && got.workers_reached == 2100);
    assert_int_equal(agg_store_get_rollup(st, 0, agg_rollup_id(AGG_ALL, 0, 650000), &got), 0);
    assert_int_equal(agg_store_has_seen(st, 1, "ev-1", 4), 1);
    assert_int_equal(agg_store_has_seen(st, 0, "ev-1", 4), 0); /* per partition */
    assert_int_equal(agg_store_has_seen(st, 1, "ev-3", 4), 0);
    char **names;
    size_t n;
    agg_store_windows(st, &names, &n);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "2025 两节送温暖");
    uint64_t nr, ns;
    agg_store_counts(st, &nr, &ns);
    assert_true(nr == 1 && ns == 2);

    /* Prune: ids first seen before 5000 go. */
    assert_int_equal(agg_store_prune_seen(st, 5000), 1);
    assert_int_equal(agg_store_has_seen(st, 1, "ev-1", 4), 0);
    assert_int_equal(agg_store_has_seen(st, 1, "ev-2", 4), 1);

    /* Reset: forgets the offsets; with wipe, the partition's content too. */
    assert_int_equal(agg_store_reset_partition(st, 1, 1), 0);
    assert_int_equal(agg_store_commit(st), 0);
    assert_int_equal(agg_store_partition(st, 1, &r, &s), 0);
    assert_int_equal(agg_store_has_seen(st, 1, "ev-2", 4), 0);
    assert_int_equal(agg_store_get_rollup(st, 1, agg_rollup_id(AGG_ALL, 0, 650000), &got), 0);
    agg_rollup_clear(&got);
    agg_store_close(st);
}

static void test_foreign_store_is_rebuilt(void **state)
{
    (void)state;
    char reason[512];
    struct agg_store *st = open_store(&ident, reason);
    fill(st);
    agg_store_close(st);
    struct agg_store_identity other = ident;
    other.cluster_id = "cluster-B";
    st = open_store(&other, reason);
    assert_non_null(strstr(reason, "cluster.id"));
    int64_t r, s;
    assert_int_equal(agg_store_partition(st, 1, &r, &s), 0);
    assert_int_equal(agg_store_has_seen(st, 1, "ev-2", 4), 0);
    agg_store_close(st);
    other.partitions = 8; /* same cluster, resized topics */
    st = open_store(&other, reason);
    assert_non_null(strstr(reason, "partitions"));
    agg_store_close(st);
}

static void damage(int truncate_it)
{
    char file[128];
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    struct stat sb;
    assert_int_equal(stat(file, &sb), 0);
    if (truncate_it) {
        assert_int_equal(truncate(file, sb.st_size / 2), 0);
        return;
    }
    FILE *f = fopen(file, "r+b");
    assert_non_null(f);
    srand(7);
    for (off_t i = 0; i < sb.st_size; i++)
        fputc(rand() & 0xff, f);
    fclose(f);
}

static void test_damaged_store_is_rebuilt(void **state)
{
    (void)state;
    for (int truncate_it = 1; truncate_it >= 0; truncate_it--) {
        char reason[512];
        struct agg_store *st = open_store(&ident, reason);
        fill(st);
        /* enough pages that half the file loses committed ones */
        assert_int_equal(agg_store_begin(st), 0);
        for (int i = 0; i < 3000; i++) {
            char id[32];
            int n = snprintf(id, sizeof id, "bulk-%d", i);
            assert_int_equal(agg_store_put_seen(st, 2, id, (size_t)n, 1, NULL, 0), 0);
        }
        assert_int_equal(agg_store_commit(st), 0);
        agg_store_close(st);
        damage(truncate_it);
        st = open_store(&ident, reason);
        print_message("damaged (%s): %s\n", truncate_it ? "truncated" : "garbage", reason);
        assert_non_null(strstr(reason, truncate_it ? "truncated" : "unreadable"));
        int64_t r, s;
        assert_int_equal(agg_store_partition(st, 1, &r, &s), 0);
        assert_int_equal(agg_store_has_seen(st, 2, "bulk-1", 6), 0);
        agg_store_close(st);
    }
}

static void test_fault_hook_ignores_other_points(void **state)
{
    (void)state;
    setenv("OUTREACH_AGG_FAULT", "after-kafka-commit:3", 1);
    agg_fault("mid-store-write"); /* another point: no exit */
    agg_fault("after-kafka-commit");
    agg_fault("after-kafka-commit"); /* 2 of 3: still running */
    unsetenv("OUTREACH_AGG_FAULT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_store_is_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_store_is_rebuilt, setup, teardown),
        cmocka_unit_test(test_fault_hook_ignores_other_points),
    };
    return cmocka_run_group_tests_name("aggregator-store", tests, NULL, NULL);
}
