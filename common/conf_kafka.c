/* librdkafka as the passthrough of a configuration (conf.c): `topic.*` keys go to the
 * default topic config, the rest to the global one; the copy each client starts from. */
#include "conf.h"
#include "kafka.h"

#include <string.h>

#define TOPIC_PREFIX "topic."

static void *kconf_create(void)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_topic_conf_t *t = rd_kafka_topic_conf_new();
    if (!c || !t) {
        if (c)
            rd_kafka_conf_destroy(c);
        if (t)
            rd_kafka_topic_conf_destroy(t);
        return NULL;
    }
    /* An explicit default topic config: `topic.*` keys and librdkafka's own fallthrough
     * for topic-level keys then share one object that rd_kafka_conf_dup() copies. */
    rd_kafka_conf_set_default_topic_conf(c, t);
    return c;
}

static void kconf_destroy(void *obj)
{
    rd_kafka_conf_destroy(obj);
}

static int kconf_set(void *obj, const char *key, const char *value, char *errstr,
                     size_t errstr_size)
{
    rd_kafka_conf_t *c = obj;
    rd_kafka_conf_res_t res;

    if (strncmp(key, TOPIC_PREFIX, strlen(TOPIC_PREFIX)) == 0) {
        res = rd_kafka_topic_conf_set(rd_kafka_conf_get_default_topic_conf(c),
                                      key + strlen(TOPIC_PREFIX), value, errstr, errstr_size);
        /* librdkafka has global keys that start with "topic." (topic.metadata.*). */
        if (res == RD_KAFKA_CONF_UNKNOWN)
            res = rd_kafka_conf_set(c, key, value, errstr, errstr_size);
    } else {
        res = rd_kafka_conf_set(c, key, value, errstr, errstr_size);
    }
    return res == RD_KAFKA_CONF_OK ? 0 : res == RD_KAFKA_CONF_UNKNOWN ? 1 : -1;
}

static int kconf_get(void *obj, const char *key, char *buf, size_t *size)
{
    rd_kafka_conf_t *c = obj;
    rd_kafka_conf_res_t res = RD_KAFKA_CONF_UNKNOWN;

    if (strncmp(key, TOPIC_PREFIX, strlen(TOPIC_PREFIX)) == 0)
        res = rd_kafka_topic_conf_get(rd_kafka_conf_get_default_topic_conf(c),
                                      key + strlen(TOPIC_PREFIX), buf, size);
    if (res == RD_KAFKA_CONF_UNKNOWN)
        res = rd_kafka_conf_get(c, key, buf, size);
    return res == RD_KAFKA_CONF_OK ? 0 : -1;
}

static void kconf_list(FILE *out)
{
    fprintf(out, "\nlibrdkafka properties (topic-level ones may take a \"topic.\" prefix):\n");
    rd_kafka_conf_properties_show(out);
}

static const struct op_conf_passthrough kafka_passthrough = {
    kconf_create, kconf_destroy, kconf_set, kconf_get, kconf_list,
};

struct op_conf *op_conf_new_kafka(const struct op_conf_def *defs)
{
    return op_conf_new_with(defs, &kafka_passthrough);
}

rd_kafka_conf_t *op_conf_kafka_dup(const struct op_conf *conf)
{
    rd_kafka_conf_t *c = op_conf_passthrough_obj(conf), *dup;

    if (!c)
        return NULL;
    /* Copies the default topic config along with the global one. */
    dup = rd_kafka_conf_dup(c);
    if (dup) {
        rd_kafka_conf_set_log_cb(dup, op_log_rdkafka_cb);
        rd_kafka_conf_set_error_cb(dup, op_kafka_error_cb);
    }
    return dup;
}

const char *op_conf_kafka_get(const struct op_conf *conf, const char *key, char *buf, size_t size)
{
    void *c = op_conf_passthrough_obj(conf);
    size_t n = size;

    if (!c || !key || !buf || size == 0)
        return NULL;
    /* librdkafka truncates into a small buffer yet returns OK and the needed size. */
    if (kconf_get(c, key, buf, &n) != 0 || n > size)
        return NULL;
    return buf;
}
