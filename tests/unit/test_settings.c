/* Every program's key table binds each of its keys exactly once (typed settings, #13): a key
 * left unbound, two keys on one field, or a field outside the settings struct would make a
 * setting silently ignored. For each table: op_conf_new accepts it, op_conf_table_bound holds,
 * the fields of plain keys do not overlap and lie inside the struct, and every key set to a
 * non-default value through op_conf_set comes back in its field after op_conf_bind. A few keys
 * per program are then read by member name, so a key bound to the wrong member shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "kafka.h"

#include "../../consumers/aggregator/aggregator.h"
#include "../../consumers/reporter/engine.h"
#include "../../consumers/sink/config.h"
#include "../../producers/producer.h"
#include "../../tools/audit/config.h"
#include "../../tools/codec/config.h"
#include "../../tools/dlq/dlq.h"
#include "../../tools/mockbroker/config.h"

static size_t field_size(enum op_conf_field f)
{
    switch (f) {
    case OP_CONF_FIELD_STRING:
        return sizeof(const char *);
    case OP_CONF_FIELD_LLONG:
        return sizeof(long long);
    case OP_CONF_FIELD_INT:
        return sizeof(int);
    case OP_CONF_FIELD_BOOL:
        return sizeof(bool);
    default:
        return 0;
    }
}

/* A valid value unlike the default, as text. */
static void other_value(const struct op_conf_def *d, char *buf, size_t size)
{
    long long def = d->def ? strtoll(d->def, NULL, 10) : 0;
    switch (d->type) {
    case OP_CONF_INT:
        if (d->min == 0 && d->max == 0)
            snprintf(buf, size, "%lld", def + 1);
        else
            snprintf(buf, size, "%lld", def == d->max ? d->min : d->max);
        return;
    case OP_CONF_BOOL:
        snprintf(buf, size, "%s",
                 d->def && (strcmp(d->def, "true") == 0 || strcmp(d->def, "1") == 0) ? "false"
                                                                                     : "true");
        return;
    default:
        snprintf(buf, size, "value-of-%s", d->key);
    }
}

/* Checks one table bound to a struct of `size` bytes; the bound settings are left in out. */
static void check_table(const struct op_conf_def *defs, size_t size, void *out,
                        struct op_conf **conf_out)
{
    assert_int_equal(op_conf_table_bound(defs), 1);
    struct op_conf *conf = op_conf_new_kafka(defs);
    assert_non_null(conf);
    char err[512];
    for (const struct op_conf_def *d = defs; d->key; d++) {
        size_t fs = field_size(d->field);
        if (strchr(d->key, '*') || !fs)
            continue;
        assert_true(d->offset + fs <= size);
        for (const struct op_conf_def *e = defs; e < d; e++) {
            size_t es = field_size(e->field);
            if (strchr(e->key, '*') || !es)
                continue;
            if (d->offset < e->offset + es && e->offset < d->offset + fs)
                fail_msg("%s and %s share a field", e->key, d->key);
        }
        char v[256];
        other_value(d, v, sizeof v);
        if (op_conf_set(conf, d->key, v, err, sizeof err) != 0)
            fail_msg("%s=%s: %s", d->key, v, err);
    }
    memset(out, 0xa5, size);
    op_conf_bind(conf, out);
    for (const struct op_conf_def *d = defs; d->key; d++) {
        if (strchr(d->key, '*') || !field_size(d->field))
            continue;
        char v[256], got[256];
        other_value(d, v, sizeof v);
        const char *at = (const char *)out + d->offset;
        const char *s;
        long long ll;
        int i;
        bool b;
        switch (d->field) {
        case OP_CONF_FIELD_STRING:
            memcpy(&s, at, sizeof s);
            snprintf(got, sizeof got, "%s", s ? s : "(null)");
            break;
        case OP_CONF_FIELD_LLONG:
            memcpy(&ll, at, sizeof ll);
            snprintf(got, sizeof got, "%lld", ll);
            break;
        case OP_CONF_FIELD_INT:
            memcpy(&i, at, sizeof i);
            snprintf(got, sizeof got, "%d", i);
            break;
        default:
            memcpy(&b, at, sizeof b);
            snprintf(got, sizeof got, "%s", b ? "true" : "false");
        }
        if (strcmp(got, v) != 0)
            fail_msg("%s: set %s, bound %s", d->key, v, got);
    }
    *conf_out = conf;
}

static void test_aggregator(void **state)
{
    (void)state;
    struct agg_settings s;
    struct op_conf *conf;
    check_table(aggregator_conf_defs, sizeof s, &s, &conf);
    assert_string_equal(s.rollups_topic, "value-of-rollups.topic");
    assert_string_equal(s.seen_topic, "value-of-seen.topic");
    assert_string_equal(s.state_dir, "value-of-state.dir");
    assert_true(s.commit_interval_ms == 60000);
    assert_true(s.restore_timeout_ms == 3600000);
    assert_true(s.message_timeout_ms == 900000);
    assert_true(s.transaction_timeout_ms == 900000);
    assert_int_equal(s.dedup_horizon_days, 36500);
    op_conf_destroy(conf);
}

static void test_producer(void **state)
{
    (void)state;
    struct producer_settings s;
    struct op_conf *conf;
    check_table(producer_conf_defs, sizeof s, &s, &conf);
    assert_string_equal(s.events_topic, "value-of-events.topic");
    assert_string_equal(s.regions_file, "value-of-regions.file");
    assert_string_equal(s.health_listen, "value-of-health.listen");
    assert_false(s.spool_receipts); /* default true */
    op_conf_destroy(conf);
}

static void test_reporter(void **state)
{
    (void)state;
    struct reporter_settings s;
    struct op_conf *conf;
    check_table(reporter_conf_defs, sizeof s, &s, &conf);
    assert_string_equal(s.rollups_topic, "value-of-rollups.topic");
    assert_string_equal(s.group_prefix, "value-of-group.prefix");
    op_conf_destroy(conf);
}

static void test_dlq(void **state)
{
    (void)state;
    struct dlq_settings s;
    struct op_conf *conf;
    check_table(dlq_conf_defs, sizeof s, &s, &conf);
    assert_string_equal(s.topic, "value-of-dlq.topic");
    op_conf_destroy(conf);
}

static void test_audit_tool(void **state)
{
    (void)state;
    struct audit_settings s;
    struct op_conf *conf;
    check_table(audit_conf_defs, sizeof s, &s, &conf);
    assert_string_equal(s.topic, "value-of-audit.topic");
    assert_string_equal(s.regions_file, "value-of-regions.file");
    op_conf_destroy(conf);
}

/* Programs whose keys all belong to common/ modules: no struct of their own. */
static void test_module_keys_only(void **state)
{
    (void)state;
    const struct op_conf_def *tables[] = {sink_conf_defs, codec_conf_defs, mockbroker_conf_defs};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char none;
        struct op_conf *conf;
        check_table(tables[i], 0, &none, &conf);
        op_conf_destroy(conf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregator), cmocka_unit_test(test_producer),
        cmocka_unit_test(test_reporter),   cmocka_unit_test(test_dlq),
        cmocka_unit_test(test_audit_tool), cmocka_unit_test(test_module_keys_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
