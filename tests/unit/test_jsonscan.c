/* Differential tests of the fast JSON Lines path (producers/jsonscan.c) against the generic one
 * (jansson + avro-c values, the reference): for generated records and many mutations of them,
 * the same verdict, the same field and reason, the same message bytes, id and event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authz.h"
#include "codec.h"
#include "regions.h"
#include "../../tools/gen/gen.h"
#include "../../producers/record.h"

/* 2026-01-01T00:00:00Z: later than every generated event of 2025. */
#define NOW INT64_C(1767225600000)

struct fx {
    struct op_codec *codec;
    struct op_regions *regions;
    struct op_authz *authz;
    struct producer_conv conv; /* fast path first, then generic */
    struct producer_conv ref;  /* generic only */
    uint64_t compared, valid, fast_valid;
};

static int setup_type(void **state, int default_type)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[256] = "";
    assert_non_null(f);
    f->codec = op_codec_new_default(err, sizeof err);
    f->regions = op_regions_new_default(err, sizeof err);
    f->authz = op_authz_new();
    assert_non_null(f->codec);
    assert_non_null(f->regions);
    assert_non_null(f->authz);
    /* Most agencies may publish; one region is refused to exercise authorisation. */
    op_authz_set_default_allow(f->authz, 1);
    assert_int_equal(op_authz_add(f->authz, "ACFTU-530000", "53", err, sizeof err), 0);
    assert_int_equal(producer_conv_init(&f->conv, f->codec, f->regions, f->authz, 600000,
                                        default_type, err, sizeof err),
                     0);
    assert_int_equal(producer_conv_init(&f->ref, f->codec, f->regions, f->authz, 600000,
                                        default_type, err, sizeof err),
                     0);
    assert_non_null(f->conv.fast);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_type(state, -1);
}

static int setup_default_visit(void **state)
{
    return setup_type(state, OP_EVENT_VISIT);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    producer_conv_free(&f->conv);
    producer_conv_free(&f->ref);
    op_authz_destroy(f->authz);
    op_regions_destroy(f->regions);
    op_codec_destroy(f->codec);
    free(f);
    return 0;
}

static void same_str(const char *a, const char *b, const char *what, const char *line)
{
    if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
        fail_msg("%s differs: \"%s\" vs \"%s\" in %s", what, a ? a : "(null)", b ? b : "(null)",
                 line);
}

/* Both paths over one line: everything the producer uses must be equal. */
static void compare(struct fx *f, const char *line, size_t len)
{
    char f1[PRODUCER_FIELD_MAX] = "", r1[PRODUCER_REASON_MAX] = "";
    char f2[PRODUCER_FIELD_MAX] = "", r2[PRODUCER_REASON_MAX] = "";
    struct producer_rec a, b;
    char shown[2000];
    snprintf(shown, sizeof shown, "%.*s", (int)(len < 1990 ? len : 1990), line);
    uint64_t fast_before = f->conv.n_fast;
    int ra = producer_conv_json(&f->conv, line, len, NOW, &a, f1, sizeof f1, r1, sizeof r1);
    int rb = producer_conv_json_generic(&f->ref, line, len, NOW, &b, f2, sizeof f2, r2, sizeof r2);
    f->compared++;
    if (ra != rb)
        fail_msg("verdict %d vs %d (%s: %s / %s: %s) in %s", ra, rb, f1, r1, f2, r2, shown);
    if (ra != 0) {
        same_str(f1, f2, "field", shown);
        same_str(r1, r2, "reason", shown);
        return;
    }
    f->valid++;
    f->fast_valid += f->conv.n_fast - fast_before;
    if (f->conv.n_fast == fast_before && getenv("JSONSCAN_SHOW_GENERIC"))
        print_message("generic path: %s\n", shown);
    assert_int_equal(a.type, b.type);
    assert_string_equal(a.schema->name, b.schema->name);
    if (a.msg_len != b.msg_len || memcmp(a.msg, b.msg, a.msg_len) != 0) {
        char hex[2][1024];
        for (int k = 0; k < 2; k++) {
            const struct producer_rec *r = k ? &b : &a;
            size_t o = 0;
            for (size_t i = 0; i < r->msg_len && o + 3 < sizeof hex[k]; i++)
                o += (size_t)snprintf(hex[k] + o, sizeof hex[k] - o, "%02x", r->msg[i]);
        }
        fail_msg("message bytes differ in %s:\nfast    %s\ngeneric %s", shown, hex[0], hex[1]);
    }
    assert_int_equal(a.derived, b.derived);
    if (a.derived)
        same_str(a.id, b.id, "derived id", shown);
    same_str(a.key, b.key, "key", shown);
    const struct op_event *x = &a.ev, *y = &b.ev;
    same_str(x->event_id, y->event_id, "event_id", shown);
    same_str(x->agency_id, y->agency_id, "agency_id", shown);
    same_str(x->region_text, y->region_text, "region", shown);
    same_str(x->campaign, y->campaign, "campaign", shown);
    same_str(x->note, y->note, "note", shown);
    same_str(x->correction_reason, y->correction_reason, "correction_reason", shown);
    assert_int_equal(x->correction, y->correction);
    assert_int_equal(x->retracted, y->retracted);
    assert_int_equal(x->type, y->type);
    assert_int_equal(x->occurred_at, y->occurred_at);
    assert_int_equal(x->reported_at, y->reported_at);
    assert_int_equal(x->region, y->region);
    assert_int_equal(x->activity, y->activity);
    assert_int_equal(x->n_groups, y->n_groups);
    assert_memory_equal(x->groups, y->groups, sizeof x->groups);
    assert_int_equal(x->workers_reached, y->workers_reached);
    assert_int_equal(x->households, y->households);
    assert_int_equal(x->staff, y->staff);
    assert_int_equal(x->amount_fen, y->amount_fen);
    assert_int_equal(x->source, y->source);
    assert_int_equal(x->purpose, y->purpose);
    assert_int_equal(x->target_group, y->target_group);
    assert_int_equal(x->recipients, y->recipients);
    assert_int_equal(x->method, y->method);
    assert_int_equal(x->topic, y->topic);
    assert_int_equal(x->enterprises, y->enterprises);
    assert_int_equal(x->respondents, y->respondents);
    assert_memory_equal(x->satisfaction, y->satisfaction, sizeof x->satisfaction);
    assert_int_equal(x->n_needs, y->n_needs);
    for (int i = 0; i < x->n_needs; i++) {
        assert_int_equal(x->needs[i].kind, y->needs[i].kind);
        assert_int_equal(x->needs[i].count, y->needs[i].count);
    }
}

static void compare_s(struct fx *f, const char *line)
{
    compare(f, line, strlen(line));
}

/* A small deterministic PRNG (xorshift64*), so a failure can be replayed. */
static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ULL;
}

/* Splices text: line[0..at) + ins + line[at+del..). */
static size_t splice(char *out, size_t cap, const char *line, size_t len, size_t at, size_t del,
                     const char *ins)
{
    size_t il = strlen(ins);
    if (at > len)
        at = len;
    if (at + del > len)
        del = len - at;
    if (at + il + (len - at - del) + 1 > cap)
        return 0;
    memcpy(out, line, at);
    memcpy(out + at, ins, il);
    memcpy(out + at + il, line + at + del, len - at - del);
    out[at + il + len - at - del] = 0;
    return at + il + len - at - del;
}

/* Offsets of the tokens' starts (after '{', ',', ':', '[') where mutations bite. */
static size_t pick_point(const char *line, size_t len)
{
    size_t pts[256], n = 0;
    int in_str = 0;
    for (size_t i = 0; i < len && n < 256; i++) {
        if (line[i] == '"' && (i == 0 || line[i - 1] != '\\'))
            in_str = !in_str;
        if (!in_str && (line[i] == '{' || line[i] == ',' || line[i] == ':' || line[i] == '['))
            pts[n++] = i + 1;
    }
    return n ? pts[rnd() % n] : 0;
}

static const char *const inserts[] = {" ",
                                      "\t",
                                      "\"x\":1,",
                                      "\"type\":\"visit\",",
                                      "\"event_id\":null,",
                                      "null,",
                                      "1.5,",
                                      "-0,",
                                      "01,",
                                      "1e3,",
                                      "\"\",",
                                      "\"a\\\"b\",",
                                      "\"\\u00e9\",",
                                      "[],",
                                      "{},",
                                      "true,",
                                      "99999999999,",
                                      "-1,",
                                      "\"OTHER\",",
                                      "\"\\n\",",
                                      "\"2025-02-30T00:00:00Z\",",
                                      "\"2025-01-01T00:00:00\",",
                                      "1736128800000,",
                                      "\"note\":\"备注\",",
                                      "\"venue\":\"HOME\",",
                                      "\"campaign\":null,",
                                      "\xff",
                                      "\"\x01\",",
                                      "\"satisfaction\":{\"s1\":1},",
                                      "\"needs\":[{\"need\":\"HOUSING\",\"count\":2}],",
                                      "\"target_groups\":[\"SANITATION\",\"SANITATION\"],",
                                      "123456789012345678901,",
                                      "\"correction\":2,",
                                      "\"correction\":\"2\",",
                                      "\"retracted\":true,",
                                      "\"retracted\":false,",
                                      "\"retracted\":1,",
                                      "\"correction_reason\":\"金额录入错误\",",
                                      "\"correction_reason\":null,",
                                      "\"correction\":1,\"correction_reason\":\"区县填错\",",
                                      "false,"};

static void mutate_and_compare(struct fx *f, const char *line, size_t len)
{
    char buf[8192];
    for (int m = 0; m < 6; m++) {
        size_t at = pick_point(line, len), n = 0;
        switch (rnd() % 4) {
        case 0: /* insert a token */
            n = splice(buf, sizeof buf, line, len, at, 0,
                       inserts[rnd() % (sizeof inserts / sizeof inserts[0])]);
            break;
        case 1: /* delete a few bytes */
            n = splice(buf, sizeof buf, line, len, at, 1 + rnd() % 12, "");
            break;
        case 2: { /* replace a byte */
            static const char repl[] = "\"{}[],:0-9aZ \\\x80";
            char one[2] = {repl[rnd() % (sizeof repl - 1)], 0};
            n = splice(buf, sizeof buf, line, len, at, 1, one);
            break;
        }
        default: /* cut the end */
            n = splice(buf, sizeof buf, line, at, at, 0, "");
            break;
        }
        if (n)
            compare(f, buf, n);
    }
}

/* Generated records of every type, with derived ids, late and out-of-window events, and (the
 * last seed) corrections and retractions. */
static void test_generated(void **state)
{
    struct fx *f = *state;
    char err[256];
    uint64_t seeds[] = {1, 2025, 77};
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        struct gen_opts o;
        gen_opts_init(&o);
        char seed[32];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)seeds[s]);
        assert_int_equal(gen_opts_set(&o, "seed", seed, err, sizeof err), 0);
        assert_int_equal(gen_opts_set(&o, "events", "4000", err, sizeof err), 0);
        assert_int_equal(gen_opts_set(&o, "start", "2025-01-01", err, sizeof err), 0);
        assert_int_equal(gen_opts_set(&o, "end", "2025-12-31", err, sizeof err), 0);
        assert_int_equal(gen_opts_set(&o, "no-id-rate", "0.3", err, sizeof err), 0);
        if (s == 2) { /* corrections and retractions (#11) */
            assert_int_equal(gen_opts_set(&o, "correct-rate", "0.15", err, sizeof err), 0);
            assert_int_equal(gen_opts_set(&o, "retract-rate", "0.05", err, sizeof err), 0);
        }
        struct gen *g = gen_new(&o, f->regions, err, sizeof err);
        assert_non_null(g);
        const char *line;
        size_t len;
        uint64_t valid0 = f->valid, fast0 = f->fast_valid;
        /* Generated text is valid UTF-8: the second seed runs as the producer's workers do,
         * without the fast path's own check. */
        f->conv.text_utf8_valid = s == 1;
        while (gen_next(g, &line, &len) == 1) {
            while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                len--;
            compare(f, line, len);
        }
        /* Every generated valid record took the fast path. */
        assert_true(f->valid - valid0 > 3000);
        assert_int_equal(f->fast_valid - fast0, f->valid - valid0);
        gen_destroy(g);
    }
}

/* Mutations of generated records: syntax errors, wrong kinds, unknown and repeated keys,
 * escapes, out-of-range numbers, invalid timestamps and UTF-8. */
static void test_mutations(void **state)
{
    struct fx *f = *state;
    char err[256];
    struct gen_opts o;
    gen_opts_init(&o);
    assert_int_equal(gen_opts_set(&o, "seed", "9", err, sizeof err), 0);
    assert_int_equal(gen_opts_set(&o, "events", "3000", err, sizeof err), 0);
    assert_int_equal(gen_opts_set(&o, "start", "2025-01-01", err, sizeof err), 0);
    assert_int_equal(gen_opts_set(&o, "end", "2025-12-31", err, sizeof err), 0);
    struct gen *g = gen_new(&o, f->regions, err, sizeof err);
    assert_non_null(g);
    const char *line;
    size_t len;
    while (gen_next(g, &line, &len) == 1) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        mutate_and_compare(f, line, len);
    }
    gen_destroy(g);
    print_message("compared %llu mutated records, %llu valid\n", (unsigned long long)f->compared,
                  (unsigned long long)f->valid);
}

/* Hand-picked shapes: key order, whitespace, defaults, nulls, and what goes to the generic
 * path (escapes, "type" not first). */
static void test_shapes(void **state)
{
    struct fx *f = *state;
    static const char *const lines[] = {
        "{\"type\":\"visit\",\"event_id\":\"a\",\"occurred_at\":\"2025-01-06T10:00:00+08:00\","
        "\"reported_at\":\"2025-01-08T17:30:00+08:00\",\"agency_id\":\"X\",\"region\":\"530622\","
        "\"activity\":\"FORUM\",\"target_groups\":[\"OTHER\"],\"workers_reached\":1,"
        "\"households\":0,\"staff\":1}",
        /* type last, spaces everywhere */
        " { \"event_id\" : \"a\" , \"occurred_at\" : 1736128800000 , \"reported_at\" : "
        "1736128800000 , \"agency_id\" : \"X\" , \"region\" : \"530622\" , \"activity\" : "
        "\"FORUM\" , \"target_groups\" : [ \"OTHER\" , \"SANITATION\" ] , \"workers_reached\" : 1 "
        ", \"households\" : 0 , \"staff\" : 1 , \"type\" : \"visit\" } ",
        /* derived id, defaults equal to their value, unordered groups */
        "{\"type\":\"visit\",\"occurred_at\":\"2025-01-06T10:00:00Z\",\"reported_at\":"
        "\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"530622\",\"campaign\":null,"
        "\"activity\":\"FORUM\",\"target_groups\":[\"SANITATION\",\"HARDSHIP_WORKERS\"],"
        "\"workers_reached\":1,\"households\":0,\"staff\":1,\"duration_minutes\":0,\"venue\":"
        "\"UNSPECIFIED\",\"note\":null}",
        "{\"type\":\"visit\",\"event_id\":null,\"occurred_at\":\"2025-01-06T10:00:00Z\","
        "\"reported_at\":\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"530622\","
        "\"activity\":\"FORUM\",\"target_groups\":[\"SANITATION\"],\"workers_reached\":1,"
        "\"households\":0,\"staff\":1,\"note\":\"备注 \\\"引号\\\"\"}",
        /* survey: empty needs, satisfaction defaults, derived */
        "{\"type\":\"survey\",\"occurred_at\":\"2025-01-06T10:00:00Z\",\"reported_at\":"
        "\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"370212\",\"method\":\"FORUM\","
        "\"enterprises\":1,\"respondents\":9,\"topic\":\"HEALTH\",\"satisfaction\":{\"s2\":3},"
        "\"needs\":[]}",
        "{\"type\":\"survey\",\"occurred_at\":\"2025-01-06T10:00:00Z\",\"reported_at\":"
        "\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"370212\",\"method\":\"FORUM\","
        "\"enterprises\":1,\"respondents\":9,\"topic\":\"HEALTH\",\"satisfaction\":{},"
        "\"needs\":[{\"count\":3,\"need\":\"PAY_RAISE\"},{\"need\":\"HOUSING\",\"count\":1}]}",
        /* funding, negative and huge amounts, unauthorised agency */
        "{\"type\":\"funding\",\"event_id\":\"f\",\"occurred_at\":\"2025-01-06T10:00:00Z\","
        "\"reported_at\":\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"530622\","
        "\"amount_fen\":-5,\"source\":\"GOVERNMENT\",\"purpose\":\"GOODS\",\"recipients\":1,"
        "\"target_group\":\"OTHER\"}",
        "{\"type\":\"funding\",\"event_id\":\"f\",\"occurred_at\":\"2025-01-06T10:00:00Z\","
        "\"reported_at\":\"2025-01-06T10:00:00Z\",\"agency_id\":\"ACFTU-530000\",\"region\":"
        "\"110101\",\"amount_fen\":5,\"source\":\"GOVERNMENT\",\"purpose\":\"GOODS\","
        "\"recipients\":1,\"target_group\":\"OTHER\"}",
        /* corrections: a fix, a retraction, their defaults written out, and the rules */
        "{\"type\":\"funding\",\"event_id\":\"f\",\"occurred_at\":\"2025-01-06T10:00:00Z\","
        "\"reported_at\":\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"530622\","
        "\"amount_fen\":400000000,\"source\":\"GOVERNMENT\",\"purpose\":\"GOODS\","
        "\"recipients\":1,\"target_group\":\"OTHER\",\"correction\":1,\"correction_reason\":"
        "\"金额录入错误\"}",
        "{\"type\":\"visit\",\"event_id\":\"a\",\"occurred_at\":\"2025-01-06T10:00:00Z\","
        "\"reported_at\":\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"530622\","
        "\"activity\":\"FORUM\",\"target_groups\":[\"OTHER\"],\"workers_reached\":1,"
        "\"households\":0,\"staff\":1,\"correction\":3,\"retracted\":true,"
        "\"correction_reason\":\"重复上报\\n见附件\"}",
        "{\"type\":\"visit\",\"occurred_at\":\"2025-01-06T10:00:00Z\","
        "\"reported_at\":\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"530622\","
        "\"activity\":\"FORUM\",\"target_groups\":[\"OTHER\"],\"workers_reached\":1,"
        "\"households\":0,\"staff\":1,\"correction\":0,\"retracted\":false,"
        "\"correction_reason\":null}",
        "{\"type\":\"survey\",\"event_id\":\"s\",\"occurred_at\":\"2025-01-06T10:00:00Z\","
        "\"reported_at\":\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"370212\","
        "\"method\":\"FORUM\",\"enterprises\":1,\"respondents\":9,\"topic\":\"HEALTH\","
        "\"satisfaction\":{},\"needs\":[],\"correction\":2,\"correction_reason\":\"区县填错\"}",
        /* derived id with a correction; retracted without a correction; no reason; negative */
        "{\"type\":\"survey\",\"occurred_at\":\"2025-01-06T10:00:00Z\","
        "\"reported_at\":\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"370212\","
        "\"method\":\"FORUM\",\"enterprises\":1,\"respondents\":9,\"topic\":\"HEALTH\","
        "\"satisfaction\":{},\"needs\":[],\"correction\":2,\"correction_reason\":\"区县填错\"}",
        "{\"type\":\"survey\",\"event_id\":\"s\",\"occurred_at\":\"2025-01-06T10:00:00Z\","
        "\"reported_at\":\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"370212\","
        "\"method\":\"FORUM\",\"enterprises\":1,\"respondents\":9,\"topic\":\"HEALTH\","
        "\"satisfaction\":{},\"needs\":[],\"retracted\":true}",
        "{\"type\":\"survey\",\"event_id\":\"s\",\"occurred_at\":\"2025-01-06T10:00:00Z\","
        "\"reported_at\":\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"370212\","
        "\"method\":\"FORUM\",\"enterprises\":1,\"respondents\":9,\"topic\":\"HEALTH\","
        "\"satisfaction\":{},\"needs\":[],\"correction\":1,\"correction_reason\":\"\"}",
        "{\"type\":\"survey\",\"event_id\":\"s\",\"occurred_at\":\"2025-01-06T10:00:00Z\","
        "\"reported_at\":\"2025-01-06T10:00:00Z\",\"agency_id\":\"X\",\"region\":\"370212\","
        "\"method\":\"FORUM\",\"enterprises\":1,\"respondents\":9,\"topic\":\"HEALTH\","
        "\"satisfaction\":{},\"needs\":[],\"correction\":-1}",
        "{\"type\":\"\"}",
        "{\"type\":\"parade\"}",
        "{\"type\":1}",
        "[]",
        "",
        "{}",
        "{\"type\":\"visit\"}x",
    };
    uint64_t valid0 = f->valid;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        compare_s(f, lines[i]);
    assert_true(f->conv.n_fast >= 9);
    assert_int_equal(f->valid - valid0, 10); /* 6 of the first ones, then 4 corrections */
}

/* With --type visit: records without "type" take the fast path, a late "type" does not. */
static void test_default_type(void **state)
{
    struct fx *f = *state;
    const char *no_type =
        "{\"event_id\":\"a\",\"occurred_at\":\"2025-01-06T10:00:00+08:00\","
        "\"reported_at\":\"2025-01-08T17:30:00+08:00\",\"agency_id\":\"X\",\"region\":\"530622\","
        "\"activity\":\"FORUM\",\"target_groups\":[\"OTHER\"],\"workers_reached\":1,"
        "\"households\":0,\"staff\":1}";
    uint64_t before = f->conv.n_fast;
    compare_s(f, no_type);
    assert_int_equal(f->conv.n_fast, before + 1);
    compare_s(f, "{\"event_id\":\"a\",\"type\":\"funding\"}");
    compare_s(f, "{\"type\":\"\",\"event_id\":\"a\",\"occurred_at\":\"2025-01-06T10:00:00+08:00\","
                 "\"reported_at\":\"2025-01-08T17:30:00+08:00\",\"agency_id\":\"X\",\"region\":"
                 "\"530622\",\"activity\":\"FORUM\",\"target_groups\":[\"OTHER\"],"
                 "\"workers_reached\":1,\"households\":0,\"staff\":1}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_type, setup_default_visit, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
