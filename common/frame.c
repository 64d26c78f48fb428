/* Writer framing: single-object or Confluent, chosen once at start (wire.format); in Confluent
 * mode the schema ids are bound at start so the hot path only copies five bytes. */
#include "frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "err.h"

#define MAX_BOUND 64

struct op_frame {
    enum op_wire_format format;
    int auto_register;
    char strategy[16];
    struct op_registry *registry;
    size_t n;
    struct {
        uint64_t fingerprint;
        int32_t id;
    } ids[MAX_BOUND];
};

static const char *const strategies[] = {"auto", "topic", "record", "topic_record", NULL};

static int strategy_known(const char *s)
{
    for (const char *const *k = strategies; *k; k++)
        if (strcmp(s, *k) == 0)
            return 1;
    return 0;
}

#define FRAME_AT(member) OP_CONF_AT(struct op_frame_settings, member)
static const struct op_conf_def frame_keys[] = {OP_FRAME_CONF_KEYS(FRAME_AT), {0}};

struct op_frame *op_frame_new_from_conf(const struct op_conf *conf, char *errstr,
                                        size_t errstr_size)
{
    struct op_frame_settings s;
    op_conf_bind_keys(conf, frame_keys, &s);
    const char *fmt = s.wire_format;
    const char *strategy = s.strategy;
    enum op_wire_format format;
    if (!fmt || strcmp(fmt, "single-object") == 0)
        format = OP_WIRE_SINGLE_OBJECT;
    else if (strcmp(fmt, "confluent") == 0)
        format = OP_WIRE_CONFLUENT;
    else {
        op_set_err(errstr, errstr_size,
                   "wire.format: \"%s\" is neither single-object nor confluent", fmt);
        return NULL;
    }
    if (!strategy)
        strategy = "auto";
    if (!strategy_known(strategy)) {
        op_set_err(errstr, errstr_size,
                   "schema.registry.subject.name.strategy: \"%s\" is none of auto, topic, "
                   "record, topic_record",
                   strategy);
        return NULL;
    }
    struct op_frame *f = calloc(1, sizeof *f);
    if (!f) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    f->format = format;
    f->auto_register = s.auto_register;
    snprintf(f->strategy, sizeof f->strategy, "%s", strategy);
    if (op_registry_new_from_conf(conf, &f->registry, errstr, errstr_size) != 0)
        goto fail;
    if (format == OP_WIRE_CONFLUENT && !f->registry) {
        op_set_err(errstr, errstr_size, "wire.format=confluent needs schema.registry.url");
        goto fail;
    }
    return f;
fail:
    op_frame_destroy(f);
    return NULL;
}

void op_frame_destroy(struct op_frame *f)
{
    if (!f)
        return;
    op_registry_destroy(f->registry);
    free(f);
}

enum op_wire_format op_frame_format(const struct op_frame *f)
{
    return f ? f->format : OP_WIRE_SINGLE_OBJECT;
}

struct op_registry *op_frame_registry(const struct op_frame *f)
{
    return f ? f->registry : NULL;
}

int op_frame_subject(const char *strategy, const char *topic, const char *record, int several,
                     char *out, size_t size)
{
    int n;
    if (strcmp(strategy, "auto") == 0)
        strategy = several ? "topic_record" : "topic";
    if (strcmp(strategy, "topic") == 0)
        n = snprintf(out, size, "%s-value", topic);
    else if (strcmp(strategy, "record") == 0)
        n = snprintf(out, size, "%s", record);
    else if (strcmp(strategy, "topic_record") == 0)
        n = snprintf(out, size, "%s-%s", topic, record);
    else
        return -1;
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* "namespace.Name" of a record schema's text (a name with a dot is already full). */
static int record_full_name(const struct op_schema *s, char *out, size_t size)
{
    const char *name = json_string_value(json_object_get(s->json, "name"));
    const char *ns = json_string_value(json_object_get(s->json, "namespace"));
    if (!name)
        return -1;
    int n = strchr(name, '.') || !ns || !ns[0] ? snprintf(out, size, "%s", name)
                                               : snprintf(out, size, "%s.%s", ns, name);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int op_frame_bind(struct op_frame *f, const char *topic, const struct op_schema *const *schemas,
                  size_t n, char *errstr, size_t errstr_size)
{
    if (f->format != OP_WIRE_CONFLUENT)
        return 0;
    /* Several record types on one topic: with auto, each gets its own subject. */
    int several = 0;
    char first[256] = "", rec[256], subject[512];
    for (size_t i = 0; i < n; i++) {
        if (record_full_name(schemas[i], rec, sizeof rec) != 0) {
            op_set_err(errstr, errstr_size, "%s: no record name", schemas[i]->name);
            return -1;
        }
        if (i == 0)
            snprintf(first, sizeof first, "%s", rec);
        else if (strcmp(first, rec) != 0)
            several = 1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct op_schema *s = schemas[i];
        if (op_frame_id(f, s) >= 0)
            continue;
        if (f->n == MAX_BOUND) {
            op_set_err(errstr, errstr_size, "more than %d schemas to bind", MAX_BOUND);
            return -1;
        }
        (void)record_full_name(s, rec, sizeof rec);
        if (op_frame_subject(f->strategy, topic, rec, several, subject, sizeof subject) != 0) {
            op_set_err(errstr, errstr_size, "%s: subject name too long", s->name);
            return -1;
        }
        /* The schema as written (docs and defaults included): the registry's compatibility
         * check needs the defaults, which the Parsing Canonical Form drops. */
        char *text = json_dumps(s->json, JSON_COMPACT);
        if (!text) {
            op_set_err(errstr, errstr_size, "out of memory");
            return -1;
        }
        int32_t id;
        char why[1024];
        int rc = op_registry_register(f->registry, subject, text, f->auto_register, &id, why,
                                      sizeof why);
        free(text);
        if (rc != 0) {
            op_set_err(errstr, errstr_size, "%s %s: %s",
                       f->auto_register ? "cannot register" : "cannot find", s->name, why);
            return -1;
        }
        f->ids[f->n].fingerprint = s->fingerprint;
        f->ids[f->n].id = id;
        f->n++;
    }
    return 0;
}

int32_t op_frame_id(const struct op_frame *f, const struct op_schema *s)
{
    for (size_t i = 0; f && i < f->n; i++)
        if (f->ids[i].fingerprint == s->fingerprint)
            return f->ids[i].id;
    return -1;
}

size_t op_frame_header(const struct op_frame *f, const struct op_schema *s, unsigned char *out)
{
    if (!f || f->format == OP_WIRE_SINGLE_OBJECT) {
        out[0] = OP_CODEC_MAGIC0;
        out[1] = OP_CODEC_MAGIC1;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (unsigned char)(s->fingerprint >> (8 * i));
        return OP_CODEC_HEADER_SIZE;
    }
    int32_t id = op_frame_id(f, s);
    if (id < 0)
        return 0;
    uint32_t u = (uint32_t)id;
    out[0] = OP_FRAME_CONFLUENT_MAGIC;
    out[1] = (unsigned char)(u >> 24);
    out[2] = (unsigned char)(u >> 16);
    out[3] = (unsigned char)(u >> 8);
    out[4] = (unsigned char)u;
    return OP_FRAME_CONFLUENT_HEADER_SIZE;
}

int op_frame_append_header(const struct op_frame *f, const struct op_schema *s, struct op_buf *out,
                           char *errstr, size_t errstr_size)
{
    unsigned char h[OP_FRAME_HEADER_MAX];
    size_t n = op_frame_header(f, s, h);
    if (n == 0) {
        op_set_err(errstr, errstr_size, "%s: no schema id bound (wire.format=confluent)", s->name);
        return -1;
    }
    if (op_buf_append(out, h, n) != 0) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 0;
}
