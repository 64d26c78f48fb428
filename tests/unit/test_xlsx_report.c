/* Unit tests of the reporter's xlsx:// endpoint: file and sheet names, what it keeps (windows,
 * revisions, limits), and workbooks read back by openpyxl (tests/unit/xlsx_report_check.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../../consumers/reporter/xlsx.h"
#include "regions.h"

static const char *const sources[] = {"UNION_FUNDS", "GOVERNMENT", "SOCIAL_CHARITY",
                                      "ENTERPRISE",  "OTHER",      "FUTURE_SOURCE"};
static const char *const counts[] = {"recipients",  "visits",      "workers_reached",
                                     "households",  "staff",       "surveys",
                                     "enterprises", "respondents", "event_count"};
#define NSRC (sizeof sources / sizeof sources[0])
#define NCNT (sizeof counts / sizeof counts[0])

/* The figures of one region, as the aggregator would sum them. */
struct figs {
    int64_t src[NSRC];
    int64_t cnt[NCNT];
};

static void figs_add(struct figs *a, const struct figs *b)
{
    for (size_t i = 0; i < NSRC; i++)
        a->src[i] += b->src[i];
    for (size_t i = 0; i < NCNT; i++)
        a->cnt[i] += b->cnt[i];
}

static json_t *payload(const char *kind, const char *window, const char *region, const char *level,
                       int64_t rev, const struct figs *f)
{
    json_t *o = json_object(), *src = json_object();
    int64_t total = 0;
    for (size_t i = 0; i < NSRC; i++)
        if (f->src[i]) {
            json_object_set_new(src, sources[i], json_integer(f->src[i]));
            total += f->src[i];
        }
    json_object_set_new(o, "window_kind", json_string(kind));
    json_object_set_new(o, "window", json_string(window));
    json_object_set_new(o, "region", json_string(region));
    json_object_set_new(o, "level", json_string(level));
    json_object_set_new(o, "revision", json_integer(rev));
    json_object_set_new(o, "funding_fen", json_integer(total));
    json_object_set_new(o, "funding_by_source_fen", src);
    for (size_t i = 0; i < NCNT; i++)
        json_object_set_new(o, counts[i], json_integer(f->cnt[i]));
    return o;
}

static uint64_t rng = 42;
static int64_t draw(int64_t max)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int64_t)((rng >> 33) % (uint64_t)(max + 1));
}

static void random_figs(struct figs *f)
{
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < NSRC; i++)
        f->src[i] = draw(3) ? draw(5000000) : 0; /* up to 50,000.00 yuan, odd fen */
    f->src[0] += 1;                              /* never a round yuan amount */
    for (size_t i = 0; i < NCNT; i++)
        f->cnt[i] = draw(2000);
}

/* Region tree of the test: two provinces, a prefecture without counties (东莞). */
static const char *const tree[][3] = {
    /* county, prefecture, province */
    {"530102", "530100", "530000"}, {"530103", "530100", "530000"}, {"530302", "530300", "530000"},
    {"441900", "441900", "440000"}, {"440103", "440100", "440000"}, {"440104", "440100", "440000"},
};
#define NTREE (sizeof tree / sizeof tree[0])

/* Adds a consistent window (parents = sums of children) to x and appends the rollups to log. */
static void add_window(struct reporter_xlsx *x, FILE *log, const char *kind, const char *window,
                       int64_t rev)
{
    const char *codes[NTREE * 3 + 1];
    const char *levels[NTREE * 3 + 1];
    struct figs f[NTREE * 3 + 1];
    size_t n = 0;
    memset(f, 0, sizeof f);
    for (size_t i = 0; i < NTREE; i++) {
        struct figs c;
        random_figs(&c);
        for (int l = 0; l < 3; l++) {
            if (l == 0 && strcmp(tree[i][0], tree[i][1]) == 0)
                continue; /* 东莞: events name the prefecture itself */
            size_t k = 0;
            while (k < n && strcmp(codes[k], tree[i][l]) != 0)
                k++;
            if (k == n) {
                codes[n] = tree[i][l];
                levels[n] = l == 0 ? "COUNTY" : l == 1 ? "PREFECTURE" : "PROVINCE";
                n++;
            }
            figs_add(&f[k], &c);
        }
    }
    /* Events filed at 昆明市 and 云南省 themselves, and a province with nothing else. */
    size_t km = 0, yn = 0;
    while (strcmp(codes[km], "530100") != 0)
        km++;
    while (strcmp(codes[yn], "530000") != 0)
        yn++;
    struct figs o;
    random_figs(&o);
    figs_add(&f[km], &o);
    figs_add(&f[yn], &o);
    random_figs(&o);
    figs_add(&f[yn], &o);
    codes[n] = "110000";
    levels[n] = "PROVINCE";
    random_figs(&f[n++]);
    for (size_t k = 0; k < n; k++) {
        json_t *p = payload(kind, window, codes[k], levels[k], rev, &f[k]);
        char err[256];
        assert_int_equal(reporter_xlsx_add(x, p, err, sizeof err), 1);
        char *line = json_dumps(p, JSON_COMPACT);
        fprintf(log, "%s\n", line);
        free(line);
        json_decref(p);
    }
}

static int exists(const char *dir, const char *name)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static void test_names(void **state)
{
    (void)state;
    char out[256];
    assert_true(reporter_xlsx_file_name("MONTH", "2025-01", out, sizeof out) > 0);
    assert_string_equal(out, "month-2025-01.xlsx");
    assert_true(reporter_xlsx_file_name("CAMPAIGN", "2025 两节送温暖", out, sizeof out) > 0);
    assert_string_equal(out, "campaign-2025 两节送温暖.xlsx");
    assert_true(reporter_xlsx_file_name("CAMPAIGN", "a/b\tc", out, sizeof out) > 0);
    assert_int_equal(strncmp(out, "campaign-a_b_c-", 15), 0);
    assert_int_equal(strlen(out), strlen("campaign-a_b_c-01234567.xlsx"));
    char other[256];
    reporter_xlsx_file_name("CAMPAIGN", "a_b_c", other, sizeof other);
    assert_string_equal(other, "campaign-a_b_c.xlsx"); /* no clash with the sanitised one */
    assert_true(reporter_xlsx_file_name("CAMPAIGN", "..", out, sizeof out) > 0);
    assert_int_equal(strncmp(out, "campaign-_.-", 12), 0);
    /* 100 three-byte characters: cut at a character boundary, under NAME_MAX. */
    char longw[301] = "";
    for (int i = 0; i < 100; i++)
        strcat(longw, "暖");
    int n = reporter_xlsx_file_name("CAMPAIGN", longw, out, sizeof out);
    assert_true(n > 0 && n < 255);
    assert_int_equal(strncmp(out + 9, "暖暖暖", 9), 0);
    assert_int_equal((strlen(out) - 9 - 5 - 9) % 3, 0);
    assert_int_equal(reporter_xlsx_file_name("MONTH", "2025-01", out, 10), -1);

    char sn[125];
    reporter_xlsx_sheet_name("新疆维吾尔自治区", sn);
    assert_string_equal(sn, "新疆维吾尔自治区");
    reporter_xlsx_sheet_name("'a[b]:c*d?e/f\\g'", sn);
    assert_string_equal(sn, "_a_b__c_d_e_f_g_");
    reporter_xlsx_sheet_name("一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三",
                             sn);
    assert_string_equal(sn, "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一");

    char *d = reporter_xlsx_dir_of_url("xlsx:///var/lib/x/");
    assert_string_equal(d, "/var/lib/x");
    free(d);
    assert_null(reporter_xlsx_dir_of_url("xlsx://host/x"));
    assert_null(reporter_xlsx_dir_of_url("file:///x"));
    assert_null(reporter_xlsx_dir_of_url("xlsx:///a%2fb"));
}

static void test_state(void **state)
{
    (void)state;
    char err[256];
    struct op_regions *regs = op_regions_new_default(err, sizeof err);
    assert_non_null(regs);
    struct reporter_xlsx *x = reporter_xlsx_new("/nonexistent", regs, err, sizeof err);
    assert_non_null(x);
    struct figs f;
    memset(&f, 0, sizeof f);
    f.src[0] = 100;
    json_t *p = payload("DAY", "2025-01-02", "530102", "COUNTY", 1, &f);
    assert_int_equal(reporter_xlsx_add(x, p, err, sizeof err), 0); /* DAY: not kept */
    json_decref(p);
    p = payload("ALL", "all", "530102", "COUNTY", 1, &f);
    assert_int_equal(reporter_xlsx_add(x, p, err, sizeof err), 0);
    json_decref(p);
    p = payload("MONTH", "2025-01", "999999", "COUNTY", 1, &f);
    assert_int_equal(reporter_xlsx_add(x, p, err, sizeof err), 0); /* unknown region */
    json_decref(p);
    assert_int_equal(reporter_xlsx_skipped(x), 1);
    p = payload("MONTH", "2025-01", "530102", "COUNTY", 5, &f);
    assert_int_equal(reporter_xlsx_add(x, p, err, sizeof err), 1);
    json_decref(p);
    p = payload("MONTH", "2025-01", "530102", "COUNTY", 4, &f);
    assert_int_equal(reporter_xlsx_add(x, p, err, sizeof err), 0); /* older revision */
    json_decref(p);
    p = payload("MONTH", "2025-01", "530102", "COUNTY", 5, &f);
    assert_int_equal(reporter_xlsx_add(x, p, err, sizeof err), 1); /* re-read after a restart */
    json_decref(p);
    p = json_object();
    json_object_set_new(p, "window_kind", json_string("MONTH"));
    json_object_set_new(p, "window", json_string("2025-01"));
    json_object_set_new(p, "region", json_string("530102"));
    assert_int_equal(reporter_xlsx_add(x, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "revision"));
    json_decref(p);
    assert_int_equal(reporter_xlsx_windows(x), 1);
    assert_int_equal(reporter_xlsx_rows(x), 1);
    /* A directory that does not exist: an error, nothing left behind. */
    assert_int_equal(reporter_xlsx_flush(x, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent"));
    /* The window limit: further windows are skipped, known ones still update. */
    for (int i = 0; i < REPORTER_XLSX_MAX_WINDOWS + 3; i++) {
        char w[32];
        snprintf(w, sizeof w, "c%d", i);
        p = payload("CAMPAIGN", w, "530000", "PROVINCE", 1, &f);
        reporter_xlsx_add(x, p, err, sizeof err);
        json_decref(p);
    }
    assert_int_equal(reporter_xlsx_windows(x), REPORTER_XLSX_MAX_WINDOWS);
    assert_int_equal(reporter_xlsx_skipped(x), 1 + 4);
    p = payload("MONTH", "2025-01", "530102", "COUNTY", 6, &f);
    assert_int_equal(reporter_xlsx_add(x, p, err, sizeof err), 1);
    json_decref(p);
    reporter_xlsx_destroy(x);
    op_regions_destroy(regs);
}

static void test_workbooks(void **state)
{
    (void)state;
    char err[256], dir[] = "/tmp/test_xlsx_report.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct op_regions *regs = op_regions_new_default(err, sizeof err);
    assert_non_null(regs);
    struct reporter_xlsx *x = reporter_xlsx_new(dir, regs, err, sizeof err);
    assert_non_null(x);
    char logpath[512];
    snprintf(logpath, sizeof logpath, "%s/input.jsonl", dir);
    FILE *log = fopen(logpath, "w");
    assert_non_null(log);
    add_window(x, log, "CAMPAIGN", "2025 两节送温暖", 3);
    add_window(x, log, "MONTH", "2025-01", 2);
    add_window(x, log, "MONTH", "2025-01", 7); /* later revisions of every region replace them */
    add_window(x, log, "CAMPAIGN", "odd/name\x01", 1);
    fclose(log);
    /* 2024-12-31 16:30:00 UTC = 2025-01-01 00:30:00 in Shanghai */
    assert_int_equal(reporter_xlsx_flush(x, 1735662600000LL, err, sizeof err), 0);
    assert_true(exists(dir, "campaign-2025 两节送温暖.xlsx"));
    assert_true(exists(dir, "month-2025-01.xlsx"));
    /* Nothing changed: nothing rewritten (the file is removed to see it). */
    char path[1024];
    snprintf(path, sizeof path, "%s/month-2025-01.xlsx", dir);
    char keep[1100];
    snprintf(keep, sizeof keep, "%s.keep", path);
    assert_int_equal(rename(path, keep), 0);
    assert_int_equal(reporter_xlsx_flush(x, 1735662600000LL, err, sizeof err), 0);
    assert_false(exists(dir, "month-2025-01.xlsx"));
    assert_int_equal(rename(keep, path), 0);
    /* No temp files left. */
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL) {
        assert_true(e->d_name[0] != '.' || strcmp(e->d_name, ".") == 0 ||
                    strcmp(e->d_name, "..") == 0);
        files += e->d_name[0] != '.';
    }
    closedir(d);
    assert_int_equal(files, 4); /* input.jsonl and three workbooks */
    reporter_xlsx_destroy(x);
    op_regions_destroy(regs);

    /* Debian's python3 (with python3-openpyxl), not whatever python3 is first on PATH. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 tests/unit/xlsx_report_check.py --regions schemas/regions.csv "
             "--generated '2025-01-01 00:30:00' '%s'",
             dir);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "test_xlsx_report: %s failed: workbooks kept in %s\n", cmd, dir);
    assert_int_equal(rc, 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_state),
        cmocka_unit_test(test_workbooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
