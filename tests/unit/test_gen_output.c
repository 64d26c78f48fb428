/* Unit tests of outreach-gen's output contract: every JSON line checked against the embedded
 * .avsc schemas, the CSV shape, and the corrections and retractions (issue #11). */
#include "gen_test.h"

#define CAMPAIGN "2025 两节送温暖"

/* ---- schema-driven validation of one JSON value ------------------------------------------ */

static json_t *load_schema(const char *name)
{
    const struct op_embed_file *f = op_embed_find(name);
    json_error_t jerr;
    if (!f)
        fail_msg("no embedded %s", name);
    json_t *s = json_loadb((const char *)f->data, f->size, 0, &jerr);
    if (!s)
        fail_msg("%s: %s", name, jerr.text);
    return s;
}

/* Checks v against Avro type t as the producer's input writes it (timestamps as strings).
 * Counts must be non-negative. Returns NULL or a static reason. */
static const char *check_value(const json_t *t, const json_t *v);

static const char *check_record(const json_t *rec, const json_t *obj, int top)
{
    const json_t *fields = json_object_get(rec, "fields");
    size_t i, nfields = json_array_size(fields);
    const char *key;
    json_t *val;

    if (!json_is_object(obj))
        return "not an object";
    json_object_foreach((json_t *)obj, key, val)
    {
        int known = top && strcmp(key, "type") == 0;
        for (i = 0; i < nfields && !known; i++)
            known =
                strcmp(key,
                       json_string_value(json_object_get(json_array_get(fields, i), "name"))) == 0;
        if (!known)
            return "unknown field";
    }
    for (i = 0; i < nfields; i++) {
        const json_t *f = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        const json_t *fv = json_object_get(obj, name);
        if (!fv) {
            /* Only fields with a default, and event_id (derived), may be left out. */
            if (json_object_get(f, "default") || (top && strcmp(name, "event_id") == 0))
                continue;
            return "required field missing";
        }
        const char *why = check_value(json_object_get(f, "type"), fv);
        if (why)
            return why;
    }
    return NULL;
}

static const char *check_value(const json_t *t, const json_t *v)
{
    if (json_is_string(t)) {
        const char *p = json_string_value(t);
        if (strcmp(p, "string") == 0)
            return json_is_string(v) ? NULL : "not a string";
        if (strcmp(p, "null") == 0)
            return json_is_null(v) ? NULL : "not null";
        if (strcmp(p, "int") == 0 || strcmp(p, "long") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return "not a non-negative integer";
            if (p[0] == 'i' && json_integer_value(v) > INT32_MAX)
                return "int out of range";
            return NULL;
        }
        return "unexpected type reference in schema";
    }
    if (json_is_array(t)) { /* union: any branch */
        for (size_t i = 0; i < json_array_size(t); i++)
            if (!check_value(json_array_get(t, i), v))
                return NULL;
        return "no union branch matches";
    }
    const char *kind = json_string_value(json_object_get(t, "type"));
    const json_t *lt = json_object_get(t, "logicalType");
    if (lt && strcmp(json_string_value(lt), "timestamp-millis") == 0) {
        if (!json_is_string(v))
            return "timestamp not a string";
        (void)parse_ts(json_string_value(v));
        return NULL;
    }
    if (strcmp(kind, "enum") == 0) {
        const json_t *syms = json_object_get(t, "symbols");
        if (!json_is_string(v))
            return "enum not a string";
        for (size_t i = 0; i < json_array_size(syms); i++)
            if (strcmp(json_string_value(json_array_get(syms, i)), json_string_value(v)) == 0)
                return NULL;
        return "unknown enum symbol";
    }
    if (strcmp(kind, "array") == 0) {
        if (!json_is_array(v))
            return "not an array";
        for (size_t i = 0; i < json_array_size(v); i++) {
            const char *why = check_value(json_object_get(t, "items"), json_array_get(v, i));
            if (why)
                return why;
        }
        return NULL;
    }
    if (strcmp(kind, "record") == 0)
        return check_record(t, v, 0);
    return check_value(json_object_get(t, "type"), v); /* {"type":"long"} and the like */
}

/* The authorised prefix of an "ACFTU-<code>" agency: 2, 4 or 6 digits by its level. */
static void agency_prefix(const char *agency, char prefix[7])
{
    uint32_t code;
    assert_true(strncmp(agency, "ACFTU-", 6) == 0);
    assert_int_equal(op_regions_parse_code(agency + 6, &code), 0);
    const struct op_region *r = op_regions_find(regs, code);
    if (!r)
        fail_msg("agency %s is not a region", agency);
    int digits = r->level == OP_REGION_PROVINCE ? 2 : r->level == OP_REGION_PREFECTURE ? 4 : 6;
    memcpy(prefix, agency + 6, (size_t)digits);
    prefix[digits] = '\0';
}

/* ---- JSON Lines against the contract ------------------------------------------------------ */

static void test_jsonl_contract(void **state)
{
    struct gen_opts o;
    struct op_buf out = OP_BUF_INIT;
    struct gen_stats st;
    json_t *schema[3] = {load_schema("visit.v2.avsc"), load_schema("funding.v2.avsc"),
                         load_schema("survey.v1.avsc")};
    static const char *const types[3] = {"visit", "funding", "survey"};
    size_t count[3] = {0}, level[4] = {0}, with_campaign = 0, nulls = 0, omitted = 0;
    size_t notes = 0, v1_shaped = 0, odd_fen = 0;
    (void)state;

    opts_for(&o, "7", "20000");
    run(&o, &out, &st);
    const char **lines;
    size_t *lens, n = split_lines(&out, &lines, &lens);
    assert_int_equal(n, 20000);

    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *j = json_loadb(lines[i], lens[i], 0, &jerr);
        if (!j)
            fail_msg("line %zu: %s: %.*s", i + 1, jerr.text, (int)lens[i], lines[i]);
        /* "type" is the first key. */
        assert_true(strncmp(lines[i], "{\"type\":\"", 9) == 0);
        const char *type = json_string_value(json_object_get(j, "type"));
        int t = -1;
        for (int k = 0; k < 3; k++)
            if (type && strcmp(type, types[k]) == 0)
                t = k;
        if (t < 0)
            fail_msg("line %zu: bad type", i + 1);
        count[t]++;
        const char *why = check_record(schema[t], j, 1);
        if (why)
            fail_msg("line %zu: %s: %.*s", i + 1, why, (int)lens[i], lines[i]);

        /* Region in the table; the agency may report for it. */
        const char *region = json_string_value(json_object_get(j, "region"));
        uint32_t code;
        assert_int_equal(op_regions_parse_code(region, &code), 0);
        const struct op_region *r = op_regions_find(regs, code);
        if (!r)
            fail_msg("line %zu: region %s not in the table", i + 1, region);
        level[r->level]++;
        char prefix[7];
        agency_prefix(json_string_value(json_object_get(j, "agency_id")), prefix);
        assert_true(op_region_matches_prefix(code, prefix));

        /* Time order and the campaign label. */
        const char *occ = json_string_value(json_object_get(j, "occurred_at"));
        const char *rep = json_string_value(json_object_get(j, "reported_at"));
        assert_true(parse_ts(rep) > parse_ts(occ));
        json_t *camp = json_object_get(j, "campaign");
        if (in_window(occ, "2024-12-20", "2025-02-12")) {
            assert_true(json_is_string(camp));
            assert_string_equal(json_string_value(camp), CAMPAIGN);
            with_campaign++;
        } else {
            assert_true(!camp || json_is_null(camp));
            if (camp)
                nulls++;
            else
                omitted++;
        }
        if (json_object_get(j, "note"))
            notes++;

        const char *id = json_string_value(json_object_get(j, "event_id"));
        if (id)
            assert_true(strncmp(id, "gen-7-", 6) == 0 && strlen(id) >= 12);

        if (t == 0) {
            json_t *groups = json_object_get(j, "target_groups");
            assert_true(json_array_size(groups) >= 1);
            for (size_t a = 0; a < json_array_size(groups); a++)
                for (size_t b = a + 1; b < json_array_size(groups); b++)
                    assert_false(json_equal(json_array_get(groups, a), json_array_get(groups, b)));
            if (!json_object_get(j, "venue"))
                v1_shaped++;
            if (strcmp(json_string_value(json_object_get(j, "activity")), "HOME_VISIT") == 0)
                assert_true(json_integer_value(json_object_get(j, "households")) <=
                            json_integer_value(json_object_get(j, "workers_reached")));
        } else if (t == 1) {
            json_int_t amount = json_integer_value(json_object_get(j, "amount_fen"));
            json_int_t recipients = json_integer_value(json_object_get(j, "recipients"));
            const char *purpose = json_string_value(json_object_get(j, "purpose"));
            if (amount % 100)
                odd_fen++;
            /* 慰问金: 500..2000 yuan a head (a whole-万元 grant split leaves a little over). */
            if (strcmp(purpose, "CASH_GRANT") == 0 && recipients > 0) {
                json_int_t per = amount / recipients;
                if (per < 50000 || per > 210000)
                    fail_msg("line %zu: %lld fen per recipient", i + 1, (long long)per);
            }
            assert_true(amount > 0);
        } else {
            json_t *sat = json_object_get(j, "satisfaction");
            json_int_t sum = 0;
            static const char *const s[5] = {"s1", "s2", "s3", "s4", "s5"};
            for (int k = 0; k < 5; k++)
                sum += json_integer_value(json_object_get(sat, s[k]));
            assert_true(sum <= json_integer_value(json_object_get(j, "respondents")));
            json_t *needs = json_object_get(j, "needs");
            for (size_t a = 0; a < json_array_size(needs); a++) {
                json_t *na = json_array_get(needs, a);
                assert_true(json_integer_value(json_object_get(na, "count")) >= 1);
                for (size_t b = a + 1; b < json_array_size(needs); b++)
                    assert_false(json_equal(json_object_get(na, "need"),
                                            json_object_get(json_array_get(needs, b), "need")));
            }
        }
        json_decref(j);
    }
    /* Mix and shape: roughly 60:30:10, mostly counties, all three levels, every variant. */
    assert_true(count[0] > 10000 && count[1] > 4500 && count[2] > 1200);
    assert_true(level[OP_REGION_COUNTY] > n * 70 / 100);
    assert_true(level[OP_REGION_PREFECTURE] > n / 20 && level[OP_REGION_PROVINCE] > n / 100);
    assert_true(with_campaign > n * 80 / 100);
    assert_true(nulls > 0 && omitted > 0 && notes > 0 && v1_shaped > 0 && odd_fen > 0);
    assert_int_equal(st.originals + st.duplicates, n);

    free(lines);
    free(lens);
    for (int k = 0; k < 3; k++)
        json_decref(schema[k]);
    op_buf_free(&out);
}

/* ---- CSV --------------------------------------------------------------------------------- */

/* Splits one RFC 4180 row into cells (unquoted into buf); returns the cell count. */
static size_t csv_split(const char *s, size_t n, char cells[][128], size_t max)
{
    size_t k = 0, i = 0;
    for (;;) {
        size_t len = 0;
        assert_true(k < max);
        if (i < n && s[i] == '"') {
            for (i++;; i++) {
                assert_true(i < n); /* unterminated quote */
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"')
                        i++;
                    else
                        break;
                }
                assert_true(len < 127);
                cells[k][len++] = s[i];
            }
            i++;
            assert_true(i == n || s[i] == ',');
        } else {
            for (; i < n && s[i] != ','; i++) {
                assert_true(s[i] != '"');
                assert_true(len < 127);
                cells[k][len++] = s[i];
            }
        }
        cells[k++][len] = '\0';
        if (i >= n)
            return k;
        i++; /* the comma */
    }
}

static void test_csv(void **state)
{
    static const char header[] =
        "type,event_id,occurred_at,reported_at,agency_id,region,campaign,activity,target_groups,"
        "workers_reached,households,staff,amount_fen,source,purpose,recipients,target_group,"
        "method,enterprises,respondents,topic,s1,s2,s3,s4,s5,needs";
    struct gen_opts o;
    struct op_buf out = OP_BUF_INIT;
    static char cells[32][128];
    size_t seen[3] = {0};
    (void)state;

    opts_for(&o, "11", "20000");
    set(&o, "format", "csv");
    run(&o, &out, NULL);
    const char **lines;
    size_t *lens, n = split_lines(&out, &lines, &lens);
    assert_int_equal(n, 20001);
    assert_int_equal(lens[0], strlen(header));
    assert_memory_equal(lines[0], header, lens[0]);

    for (size_t i = 1; i < n; i++) {
        size_t k = csv_split(lines[i], lens[i], cells, 32);
        if (k != 27)
            fail_msg("row %zu: %zu cells: %.*s", i, k, (int)lens[i], lines[i]);
        uint32_t code;
        assert_int_equal(op_regions_parse_code(cells[5], &code), 0);
        assert_non_null(op_regions_find(regs, code));
        (void)parse_ts(cells[2]);
        (void)parse_ts(cells[3]);
        assert_true(cells[6][0] == '\0' || strcmp(cells[6], CAMPAIGN) == 0);
        /* Exactly the cells of the row's own type are filled. */
        int lo = 0, hi = 0, t = 0;
        if (strcmp(cells[0], "visit") == 0)
            t = 0, lo = 7, hi = 11;
        else if (strcmp(cells[0], "funding") == 0)
            t = 1, lo = 12, hi = 16;
        else if (strcmp(cells[0], "survey") == 0)
            t = 2, lo = 17, hi = 26;
        else
            fail_msg("row %zu: type %s", i, cells[0]);
        seen[t]++;
        for (int c = 7; c < 27; c++) {
            int own = c >= lo && c <= hi;
            if (!own && cells[c][0])
                fail_msg("row %zu: cell %d of another type is set", i, c);
            if (own && !cells[c][0] && c != 26) /* needs may be empty */
                fail_msg("row %zu: cell %d is empty", i, c);
        }
        if (t == 2 && cells[26][0]) {
            /* needs: KIND:count;... */
            for (char *p = cells[26]; *p;) {
                char *colon = strchr(p, ':');
                assert_non_null(colon);
                assert_true(colon[1] >= '1' && colon[1] <= '9');
                p = strchr(colon, ';');
                if (!p)
                    break;
                p++;
            }
        }
    }
    assert_true(seen[0] && seen[1] && seen[2]);

    /* RFC 4180 quoting of single cells. */
    char cell[32];
    assert_int_equal(gen_csv_cell("plain", 5, cell, sizeof cell), 5);
    assert_string_equal(cell, "plain");
    assert_int_equal(gen_csv_cell("a,b", 3, cell, sizeof cell), 5);
    assert_string_equal(cell, "\"a,b\"");
    assert_int_equal(gen_csv_cell("say \"hi\"", 8, cell, sizeof cell), 12);
    assert_string_equal(cell, "\"say \"\"hi\"\"\"");
    assert_int_equal(gen_csv_cell("two\nlines", 9, cell, sizeof cell), 11);
    assert_string_equal(cell, "\"two\nlines\"");
    assert_int_equal(gen_csv_cell("", 0, cell, sizeof cell), 0);
    assert_string_equal(cell, "");
    assert_true(gen_csv_cell("a,b", 3, cell, 5) == (size_t)-1);
    assert_true(gen_csv_cell("abcd", 4, cell, 4) == (size_t)-1);
    assert_int_equal(gen_csv_cell("abc", 3, cell, 4), 3);

    free(lines);
    free(lens);
    op_buf_free(&out);
}

/* ---- corrections (issue #11) ------------------------------------------------------------- */

/* What the test knows of one event_id, from the output alone. */
struct idstate {
    int32_t max;      /* highest correction seen */
    int original;     /* a correction-0 line was seen */
    int first_corr;   /* the first line of the id was a correction */
    size_t last;      /* the line of the highest correction (or the original) */
    json_t *last_obj; /* that line, parsed */
};

static void free_idstate(void *v)
{
    struct idstate *st = v;
    json_decref(st->last_obj);
    free(st);
}

/* The fields a retraction keeps from the version it withdraws. */
static json_t *without_fix_fields(json_t *o)
{
    json_t *c = json_deep_copy(o);
    json_object_del(c, "correction");
    json_object_del(c, "retracted");
    json_object_del(c, "correction_reason");
    json_object_del(c, "reported_at");
    return c;
}

static int64_t jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return v ? json_integer_value(v) : 0;
}

static void test_corrections(void **state)
{
    struct gen_opts o;
    struct op_buf out = OP_BUF_INIT, out2 = OP_BUF_INIT, csv = OP_BUF_INIT;
    struct gen_stats st, st2;
    char err[256], id[32], prefix[16];
    (void)state;

    opts_for(&o, "11", "20000");
    set(&o, "correct-rate", "0.1");
    set(&o, "retract-rate", "0.03");
    set(&o, "dup-rate", "0");
    run(&o, &out, &st);
    run(&o, &out2, &st2);
    assert_int_equal(out.len, out2.len); /* deterministic by seed */
    assert_memory_equal(out.data, out2.data, out.len);

    /* The producer's own conversion, with the run's offices as the only authorised agencies:
     * every line, region moves included, must be valid. */
    struct op_codec *codec = op_codec_new_default(err, sizeof err);
    struct op_authz *authz = op_authz_new();
    assert_non_null(codec);
    assert_non_null(authz);
    struct gen *g = gen_new(&o, regs, err, sizeof err);
    assert_non_null(g);
    for (size_t i = 0; i < gen_agency_count(g); i++) {
        assert_int_equal(gen_agency_at(g, i, id, sizeof id, prefix, sizeof prefix), 0);
        assert_int_equal(op_authz_add(authz, id, prefix, err, sizeof err), 0);
    }
    gen_destroy(g);
    struct producer_conv conv;
    assert_int_equal(producer_conv_init(&conv, codec, regs, authz, 600000, -1, err, sizeof err), 0);
    const int64_t now = INT64_C(1798761600000); /* 2027-01-01 */

    const char **lines;
    size_t *lens, n = split_lines(&out, &lines, &lens);
    assert_int_equal(n, 20000);
    struct op_map *ids = op_map_new();
    size_t fixes = 0, retractions = 0, dups = 0, stale = 0, ooo = 0, region_moves = 0,
           time_moves = 0, scaled = 0, funding_fixes = 0, with_corr = 0, with_retr = 0;
    for (size_t i = 0; i < n; i++) {
        char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX];
        struct producer_rec rec;
        if (producer_conv_json(&conv, lines[i], lens[i], now, &rec, field, sizeof field, reason,
                               sizeof reason) != 0)
            fail_msg("line %zu: %s: %s\n%.*s", i + 1, field, reason, (int)lens[i], lines[i]);
        json_t *obj = json_loadb(lines[i], lens[i], 0, NULL);
        assert_non_null(obj);
        json_t *idj = json_object_get(obj, "event_id");
        int32_t c = (int32_t)jint(obj, "correction");
        int retracted = json_is_true(json_object_get(obj, "retracted"));
        with_corr += c > 0;
        with_retr += retracted;
        if (c > 0) {
            const char *why = json_string_value(json_object_get(obj, "correction_reason"));
            assert_non_null(idj); /* a correction names its event */
            assert_true(why && *why);
        } else {
            assert_null(json_object_get(obj, "correction_reason"));
            assert_false(retracted);
        }
        if (!idj) {
            json_decref(obj);
            continue;
        }
        const char *key = json_string_value(idj);
        struct idstate *s = op_map_get(ids, key, strlen(key));
        if (!s) {
            s = calloc(1, sizeof *s);
            assert_non_null(s);
            assert_int_equal(op_map_put(ids, key, strlen(key), s, NULL), 0);
            s->max = -1;
            s->first_corr = c > 0;
            if (c > 0) { /* out of order: correction 1 before its original */
                assert_int_equal(c, 1);
                assert_false(retracted);
                ooo++;
            }
        } else if (c > s->max) {
            assert_int_equal(c, s->max + 1); /* the highest sent + 1 */
            if (retracted) {
                /* Everything of the last version but the report time. */
                json_t *a = without_fix_fields(obj), *b = without_fix_fields(s->last_obj);
                if (!json_equal(a, b))
                    fail_msg("line %zu retracts with other fields than line %zu", i + 1,
                             s->last + 1);
                json_decref(a);
                json_decref(b);
                retractions++;
            } else {
                fixes++;
                json_t *prev = s->last_obj;
                region_moves += strcmp(json_string_value(json_object_get(obj, "region")),
                                       json_string_value(json_object_get(prev, "region"))) != 0;
                time_moves += strcmp(json_string_value(json_object_get(obj, "occurred_at")),
                                     json_string_value(json_object_get(prev, "occurred_at"))) != 0;
                if (json_object_get(obj, "amount_fen")) {
                    int64_t x = jint(obj, "amount_fen"), y = jint(prev, "amount_fen");
                    funding_fixes++;
                    if (x != y) {
                        assert_true(x == y * 10 || x == y / 10); /* 4亿 for 4000万 */
                        scaled++;
                    }
                }
            }
        } else if (c == s->max) { /* a duplicate: the very same line again */
            assert_int_equal(lens[i], lens[s->last]);
            assert_memory_equal(lines[i], lines[s->last], lens[i]);
            dups++;
        } else {
            stale++;
        }
        if (c == 0)
            s->original = 1;
        if (c > s->max) {
            s->max = c;
            s->last = i;
            json_decref(s->last_obj);
            s->last_obj = json_incref(obj);
        }
        json_decref(obj);
    }
    /* Every id corrected out of order got its original later; counts as the generator says. */
    size_t pos = 0, klen;
    const char *k;
    void *v;
    while (op_map_next(ids, &pos, &k, &klen, &v))
        assert_true(((struct idstate *)v)->original);
    assert_int_equal(fixes, st.corrections);
    assert_int_equal(retractions, st.retractions);
    assert_int_equal(dups, st.correction_dups);
    assert_int_equal(ooo, st.out_of_order);
    assert_int_equal(stale, st.stale + st.late_originals);
    assert_int_equal(st.late_originals, st.out_of_order);
    size_t fix_lines = st.corrections + st.correction_dups + st.stale + st.out_of_order;
    assert_rate("correction lines", fix_lines, n, 0.1);
    assert_rate("retractions", retractions, n, 0.03);
    /* Shares among the correction lines: about 10 % repeats, 5 % stale, 5 % out of order. */
    assert_true(dups > fix_lines * 6 / 100 && dups < fix_lines * 14 / 100);
    assert_true(st.stale > fix_lines * 2 / 100 && st.stale < fix_lines * 8 / 100);
    assert_true(ooo > fix_lines * 2 / 100 && ooo < fix_lines * 8 / 100);
    print_message("corrections: %zu new, %zu repeated, %zu stale, %zu out of order, %zu "
                  "retractions; %zu region and %zu time moves, %zu of %zu amounts x10 or /10\n",
                  fixes, dups, st.stale, ooo, retractions, region_moves, time_moves, scaled,
                  funding_fixes);
    assert_true(region_moves > fixes / 20 && time_moves > fixes / 5);
    assert_true(scaled > funding_fixes / 3);
    free(lines);
    free(lens);
    op_map_destroy(ids, free_idstate);

    /* CSV: the same events, three more columns, every row valid for the producer. */
    set(&o, "format", "csv");
    run(&o, &csv, NULL);
    n = split_lines(&csv, &lines, &lens);
    assert_int_equal(n, 20001);
    struct producer_cells cells;
    struct producer_csv_header hdr;
    memset(&cells, 0, sizeof cells);
    size_t bad;
    const char *why;
    char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX];
    assert_int_equal(producer_csv_split(lines[0], lens[0], &cells, &bad, &why), 0);
    assert_int_equal(cells.n, 30);
    assert_int_equal(producer_csv_header_init(&hdr, &conv, cells.cell, cells.len, cells.n, field,
                                              sizeof field, reason, sizeof reason),
                     0);
    size_t csv_fixes = 0, csv_retractions = 0;
    for (size_t i = 1; i < n; i++) {
        struct producer_rec rec;
        assert_int_equal(producer_csv_split(lines[i], lens[i], &cells, &bad, &why), 0);
        if (producer_conv_csv(&conv, &hdr, cells.cell, cells.len, cells.n, now, &rec, field,
                              sizeof field, reason, sizeof reason) != 0)
            fail_msg("CSV line %zu: %s: %s", i + 1, field, reason);
        csv_fixes += rec.ev.correction > 0;
        csv_retractions += rec.ev.retracted;
    }
    assert_int_equal(csv_fixes, with_corr);
    assert_int_equal(csv_retractions, with_retr);
    producer_csv_header_free(&hdr);
    producer_cells_free(&cells);
    free(lines);
    free(lens);

    /* Rates at 0 (the default): no correction anywhere, the CSV keeps its 27 columns. */
    op_buf_free(&out);
    opts_for(&o, "11", "3000");
    run(&o, &out, &st);
    assert_int_equal(op_buf_append(&out, "", 1), 0);
    assert_null(strstr((const char *)out.data, "correction"));
    assert_int_equal(st.corrections + st.retractions + st.correction_dups + st.stale, 0);
    op_buf_free(&csv);
    set(&o, "format", "csv");
    run(&o, &csv, NULL);
    assert_int_equal(op_buf_append(&csv, "", 1), 0);
    assert_null(strstr((const char *)csv.data, "correction"));
    assert_int_equal(strcspn((const char *)csv.data, "\n"),
                     strlen("type,event_id,occurred_at,"
                            "reported_at,agency_id,region,campaign,activity,target_groups,workers_"
                            "reached,households,"
                            "staff,amount_fen,source,purpose,recipients,target_group,method,"
                            "enterprises,respondents,"
                            "topic,s1,s2,s3,s4,s5,needs"));

    set(&o, "correct-rate", "0.7");
    assert_int_equal(gen_opts_set(&o, "retract-rate", "0.4", err, sizeof err), 0);
    assert_int_equal(gen_opts_check(&o, err, sizeof err), -1);
    assert_string_equal(err, "--correct-rate and --retract-rate add up to more than 1");

    producer_conv_free(&conv);
    op_authz_destroy(authz);
    op_codec_destroy(codec);
    op_buf_free(&out);
    op_buf_free(&out2);
    op_buf_free(&csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_contract),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_corrections),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
