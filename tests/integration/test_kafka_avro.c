/* Integration test against a real broker ($KAFKA_BOOTSTRAP): Avro events produced with the
 * idempotent producer come back from a consumer byte-for-byte decodable, keyed by province. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "avrojson.h"
#include "codec.h"
#include "kafka.h"

#define N_EVENTS 600

static const char *bootstrap(void)
{
    const char *b = getenv("KAFKA_BOOTSTRAP");
    return b && *b ? b : "127.0.0.1:9092";
}

static rd_kafka_conf_t *base_conf(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap(), err, sizeof err) !=
        RD_KAFKA_CONF_OK)
        fail_msg("%s", err);
    return conf;
}

static void conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[512];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
        fail_msg("%s=%s: %s", k, v, err);
}

struct sent {
    char event_id[32];
    char key[7];
    const char *type;
    json_t *json; /* as the reader schema should return it */
};

static int delivered, delivery_failed;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        delivery_failed++;
        print_error("delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else
        delivered++;
}

/* Event i as JSON in the input of its writer schema; regions spread over provinces. */
static json_t *make_event(int i, const char **schema_name)
{
    static const char *const regions[] = {"650102", "530000", "450200", "370212",
                                          "110105", "441900", "540102", "230103"};
    const char *region = regions[i % 8];
    char id[32];
    snprintf(id, sizeof id, "it-%05d", i);
    json_t *j;
    switch (i % 4) {
    case 0:
        *schema_name = "visit.v2";
        j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:[s,s], s:i, s:i, s:i, s:i, s:s, "
                      "s:s}",
                      "event_id", id, "occurred_at", (json_int_t)1735000000000 + i, "reported_at",
                      (json_int_t)1735100000000, "agency_id", "ACFTU-x", "region", region,
                      "campaign", "2025 两节送温暖", "activity", "PSYCHOLOGICAL_SERVICE",
                      "target_groups", "SANITATION", "NEW_EMPLOYMENT_FORMS", "workers_reached",
                      i * 3, "households", i % 7, "staff", 4, "duration_minutes", 120, "venue",
                      "UNION_STATION", "note", "心理服务 沙龙");
        break;
    case 1:
        *schema_name = "visit.v1"; /* an old writer: must come out as v2 with defaults */
        j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:n, s:s, s:[], s:i, s:i, s:i}", "event_id", id,
                      "occurred_at", (json_int_t)1735000000000 + i, "reported_at",
                      (json_int_t)1735100000000, "agency_id", "ACFTU-y", "region", region,
                      "campaign", "activity", "HOME_VISIT", "target_groups", "workers_reached", i,
                      "households", i, "staff", 1);
        break;
    case 2:
        *schema_name = "funding.v2";
        j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:n, s:I, s:s, s:s, s:i, s:s, s:s, s:n}",
                      "event_id", id, "occurred_at", (json_int_t)1735000000000 + i, "reported_at",
                      (json_int_t)1735100000000, "agency_id", "ACFTU-z", "region", region,
                      "campaign", "amount_fen", (json_int_t)4000000000LL + i, "source",
                      "UNION_FUNDS", "purpose", "CASH_GRANT", "recipients", 2100, "target_group",
                      "SANITATION", "disbursement", "IN_KIND", "note");
        break;
    default:
        *schema_name = "survey.v1";
        j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:n, s:s, s:i, s:i, s:s, "
                      "s:{s:i,s:i,s:i,s:i,s:i}, s:[{s:s,s:i}]}",
                      "event_id", id, "occurred_at", (json_int_t)1735000000000 + i, "reported_at",
                      (json_int_t)1735100000000, "agency_id", "ACFTU-w", "region", region,
                      "campaign", "method", "FIELD_VISIT", "enterprises", 12, "respondents", 300,
                      "topic", "WAGES", "satisfaction", "s1", 1, "s2", 2, "s3", 3, "s4", 4, "s5", i,
                      "needs", "need", "HOUSING", "count", 3);
        break;
    }
    assert_non_null(j);
    return j;
}

static void test_produce_consume_avro(void **state)
{
    (void)state;
    char err[512];
    struct op_codec *codec = op_codec_new_default(err, sizeof err);
    assert_non_null(codec);
    char topic[96], group[96];
    snprintf(topic, sizeof topic, "itest.avro.%ld.%d", (long)time(NULL), (int)getpid());
    snprintf(group, sizeof group, "itest-group-%ld-%d", (long)time(NULL), (int)getpid());

    /* Producer: idempotent, acks=all, compressed — the settings the producer daemon uses. */
    rd_kafka_conf_t *pconf = base_conf();
    conf_set(pconf, "enable.idempotence", "true");
    conf_set(pconf, "acks", "all");
    conf_set(pconf, "compression.codec", "zstd");
    conf_set(pconf, "linger.ms", "5");
    rd_kafka_conf_set_dr_msg_cb(pconf, dr_cb);
    rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof err);
    if (!producer)
        fail_msg("producer: %s", err);
    pconf = NULL; /* rd_kafka_new() took ownership */

    static const char *const cfg[] = {"retention.ms", "3600000", NULL};
    struct op_kafka_topic_spec spec = {topic, 3, -1, cfg};
    int parts = 0;
    if (op_kafka_ensure_topics(producer, &spec, 1, 30000, &parts, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(parts, 3);
    /* Ensuring again is a no-op on an existing topic. */
    assert_int_equal(op_kafka_ensure_topics(producer, &spec, 1, 30000, &parts, err, sizeof err), 0);

    static struct sent sent[N_EVENTS];
    struct op_buf buf = OP_BUF_INIT;
    for (int i = 0; i < N_EVENTS; i++) {
        const char *sname;
        json_t *j = make_event(i, &sname);
        const struct op_schema *ws = op_codec_by_name(codec, sname);
        assert_non_null(ws);
        avro_value_t v;
        assert_int_equal(avro_generic_value_new(ws->iface, &v), 0);
        if (op_avrojson_from_json(ws, &v, j, err, sizeof err) != 0)
            fail_msg("%s", err);
        buf.len = 0;
        assert_int_equal(op_codec_encode(ws, &v, &buf, err, sizeof err), 0);
        avro_value_decref(&v);

        struct sent *s = &sent[i];
        snprintf(s->event_id, sizeof s->event_id, "%s",
                 json_string_value(json_object_get(j, "event_id")));
        assert_int_equal(
            op_kafka_province_key(json_string_value(json_object_get(j, "region")), s->key), 0);
        s->type = ws->type;
        /* What the newest reader (visit.v3, funding.v3, survey.v2) must see: the fields as
         * written plus the defaults of those added since — visit.v2's for a v1 visit, and
         * the corrections fields of v3 (survey v2) for every writer here. */
        if (strcmp(sname, "visit.v1") == 0) {
            json_object_set_new(j, "duration_minutes", json_integer(0));
            json_object_set_new(j, "venue", json_string("UNSPECIFIED"));
            json_object_set_new(j, "note", json_null());
        }
        json_object_set_new(j, "correction", json_integer(0));
        json_object_set_new(j, "retracted", json_false());
        json_object_set_new(j, "correction_reason", json_null());
        s->json = j;
        rd_kafka_resp_err_t e;
        do {
            e = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(s->key, 6),
                                  RD_KAFKA_V_VALUE(buf.data, buf.len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_HEADER("type", s->type, -1), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(producer, 100);
        } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_poll(producer, 0);
    }
    op_buf_free(&buf);
    rd_kafka_flush(producer, 30000);
    assert_int_equal(rd_kafka_outq_len(producer), 0);
    assert_int_equal(delivery_failed, 0);
    assert_int_equal(delivered, N_EVENTS);
    rd_kafka_destroy(producer);

    /* Consumer: a fresh group reading committed data from the beginning. */
    rd_kafka_conf_t *cconf = base_conf();
    conf_set(cconf, "group.id", group);
    conf_set(cconf, "auto.offset.reset", "earliest");
    conf_set(cconf, "isolation.level", "read_committed");
    conf_set(cconf, "enable.auto.commit", "false");
    rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, err, sizeof err);
    if (!consumer)
        fail_msg("consumer: %s", err);
    cconf = NULL;
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(consumer, sub), 0);
    rd_kafka_topic_partition_list_destroy(sub);

    static int seen[N_EVENTS];
    int got = 0, key_partition[100];
    for (int k = 0; k < 100; k++)
        key_partition[k] = -1;
    time_t deadline = time(NULL) + 60;
    while (got < N_EVENTS && time(NULL) < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 500);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                print_error("consume: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        avro_value_t *v;
        const struct op_schema *r;
        int rc = op_codec_decode(codec, m->payload, m->len, &v, NULL, &r, err, sizeof err);
        if (rc != 0)
            fail_msg("decode at offset %lld: %s", (long long)m->offset, err);
        json_t *j = op_avrojson_to_json(v);
        const char *id = json_string_value(json_object_get(j, "event_id"));
        assert_non_null(id);
        int idx = atoi(id + 3);
        assert_true(idx >= 0 && idx < N_EVENTS);
        assert_int_equal(seen[idx], 0);
        seen[idx] = 1;
        struct sent *s = &sent[idx];
        if (!json_equal(j, s->json)) {
            char *a = json_dumps(j, JSON_SORT_KEYS), *b = json_dumps(s->json, JSON_SORT_KEYS);
            fail_msg("event %s differs:\n got %s\nwant %s", id, a, b);
        }
        assert_string_equal(r->type, s->type);
        assert_int_equal(m->key_len, 6);
        assert_memory_equal(m->key, s->key, 6);
        /* Every message of a province sits in one partition: per-key order holds. */
        int prov = (s->key[0] - '0') * 10 + (s->key[1] - '0');
        if (key_partition[prov] < 0)
            key_partition[prov] = m->partition;
        assert_int_equal(key_partition[prov], m->partition);
        rd_kafka_headers_t *hdrs = NULL;
        const void *hv;
        size_t hl;
        assert_int_equal(rd_kafka_message_headers(m, &hdrs), 0);
        assert_int_equal(rd_kafka_header_get_last(hdrs, "type", &hv, &hl), 0);
        assert_int_equal(hl, strlen(s->type));
        assert_memory_equal(hv, s->type, hl);
        json_decref(j);
        rd_kafka_message_destroy(m);
        got++;
    }
    assert_int_equal(got, N_EVENTS);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    for (int i = 0; i < N_EVENTS; i++)
        json_decref(sent[i].json);
    op_codec_destroy(codec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_produce_consume_avro),
    };
    return cmocka_run_group_tests_name("kafka-avro", tests, NULL, NULL);
}
