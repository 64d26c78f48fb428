/* Unit tests of writer framing (frame.c), the schema registry client (registry.c) and the
 * codec's Confluent decode path, against a small fake registry served by libmicrohttpd.
 * Expected bytes and subjects are written by hand from the Confluent wire format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>

#include "avrojson.h"
#include "codec.h"
#include "conf.h"
#include "embed.h"
#include "frame.h"
#include "registry.h"

/* ---- the fake registry ------------------------------------------------------------------ */

#define FAKE_IDS 16

static struct {
    struct MHD_Daemon *d;
    unsigned short port;
    int requests;
    char auth[256];        /* Authorization header of the last request */
    char *texts[FAKE_IDS]; /* schema text by id (registered or preset) */
    int next_id;
} fake;

struct upload {
    char *data;
    size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **state)
{
    (void)cls, (void)version;
    if (!*state) {
        *state = calloc(1, sizeof(struct upload));
        return MHD_YES;
    }
    struct upload *u = *state;
    if (*size) {
        u->data = realloc(u->data, u->len + *size + 1);
        memcpy(u->data + u->len, data, *size);
        u->len += *size;
        u->data[u->len] = 0;
        *size = 0;
        return MHD_YES;
    }
    fake.requests++;
    if (strncmp(url, "/apis/ccompat/v7/", 17) == 0)
        url += 16;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    snprintf(fake.auth, sizeof fake.auth, "%s", auth ? auth : "");
    int id;
    char body[65536];
    enum MHD_Result rc;
    if (strcmp(method, "GET") == 0 && sscanf(url, "/schemas/ids/%d", &id) == 1) {
        if (id == 5)
            rc = reply(c, 500, "{\"error_code\":50001,\"message\":\"storage down\"}");
        else if (id == 6)
            rc = reply(c, 200,
                       "{\"schema\":\"syntax = \\\"proto3\\\";\",\"schemaType\":\"PROTOBUF\"}");
        else if (id > 0 && id < FAKE_IDS && fake.texts[id]) {
            json_t *j = json_pack("{s:s}", "schema", fake.texts[id]);
            char *t = json_dumps(j, JSON_COMPACT);
            rc = reply(c, 200, t);
            free(t);
            json_decref(j);
        } else {
            snprintf(body, sizeof body,
                     "{\"error_code\":40403,\"message\":\"No content with ID '%d' was found.\"}",
                     id);
            rc = reply(c, 404, body);
        }
    } else if (strcmp(method, "POST") == 0 && strncmp(url, "/subjects/", 10) == 0) {
        json_t *req = u->data ? json_loads(u->data, 0, NULL) : NULL;
        const char *schema = json_string_value(json_object_get(req, "schema"));
        int versions = strstr(url, "/versions") != NULL;
        if (!schema)
            rc = reply(c, 422, "{\"error_code\":42201,\"message\":\"Invalid schema\"}");
        else if (strncmp(url, "/subjects/bad-value", 19) == 0)
            rc = reply(c, 409,
                       "{\"error_code\":409,\"message\":\"Incompatible: reader type STRING not "
                       "compatible with writer type INT\"}");
        else if (!versions)
            rc = reply(c, 404, "{\"error_code\":40401,\"message\":\"Subject not found.\"}");
        else {
            int found = 0;
            for (int i = 1; i < fake.next_id && !found; i++)
                if (fake.texts[i] && strcmp(fake.texts[i], schema) == 0)
                    found = i;
            if (!found && fake.next_id < FAKE_IDS) {
                found = fake.next_id++;
                fake.texts[found] = strdup(schema);
            }
            snprintf(body, sizeof body, "{\"id\":%d}", found);
            rc = reply(c, 200, body);
        }
        json_decref(req);
    } else
        rc = reply(c, 404, "{\"error_code\":404,\"message\":\"HTTP 404 Not Found\"}");
    return rc;
}

static void completed(void *cls, struct MHD_Connection *c, void **state,
                      enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)c, (void)code;
    struct upload *u = *state;
    if (u)
        free(u->data);
    free(u);
    *state = NULL;
}

static int fake_start(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof fake);
    fake.next_id = 7; /* ids 1..6 are the preset cases below */
    fake.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
                              MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (!fake.d)
        return -1;
    fake.port = MHD_get_daemon_info(fake.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static int fake_stop(void **state)
{
    (void)state;
    MHD_stop_daemon(fake.d);
    for (int i = 0; i < FAKE_IDS; i++)
        free(fake.texts[i]);
    return 0;
}

static const char *fake_url(void)
{
    static char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/apis/ccompat/v7/", fake.port);
    return url;
}

static char *schema_file(const char *name)
{
    for (const struct op_embed_file *f = op_embed_files; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return strndup((const char *)f->data, f->size);
    fail_msg("no embedded %s", name);
    return NULL;
}

static struct op_registry *fake_registry(const char *user_info, const char *token)
{
    struct op_registry_opts o = {fake_url(), user_info, token, NULL, 2000};
    char err[256];
    struct op_registry *r = op_registry_new(&o, err, sizeof err);
    if (!r)
        fail_msg("op_registry_new: %s", err);
    return r;
}

/* A visit.v1 record, encoded single-object by the default codec. */
static const char VISIT_V1[] =
    "{\"event_id\":\"e-1\",\"occurred_at\":1736000000000,\"reported_at\":1736000100000,"
    "\"agency_id\":\"ACFTU-110101\",\"region\":\"110101\",\"campaign\":null,"
    "\"activity\":\"FORUM\",\"target_groups\":[\"SANITATION\"],\"workers_reached\":12,"
    "\"households\":0,\"staff\":3}";

static void encode_framed(const struct op_frame *f, struct op_codec *c, const char *name,
                          const char *json, struct op_buf *out)
{
    const struct op_schema *s = op_codec_by_name(c, name);
    assert_non_null(s);
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    avro_value_t v;
    char err[512];
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    if (op_avrojson_from_json(s, &v, j, err, sizeof err) != 0 ||
        op_codec_encode_framed(f, s, &v, out, err, sizeof err) != 0)
        fail_msg("%s", err);
    avro_value_decref(&v);
    json_decref(j);
}

static void encode_as(struct op_codec *c, const char *name, const char *json, struct op_buf *out)
{
    encode_framed(NULL, c, name, json, out);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_subjects(void **state)
{
    (void)state;
    char s[128];
    const char *rec = "org.outreach.event.Visit";
    assert_int_equal(op_frame_subject("topic", "ev", rec, 1, s, sizeof s), 0);
    assert_string_equal(s, "ev-value");
    assert_int_equal(op_frame_subject("record", "ev", rec, 0, s, sizeof s), 0);
    assert_string_equal(s, "org.outreach.event.Visit");
    assert_int_equal(op_frame_subject("topic_record", "ev", rec, 0, s, sizeof s), 0);
    assert_string_equal(s, "ev-org.outreach.event.Visit");
    assert_int_equal(op_frame_subject("auto", "ev", rec, 0, s, sizeof s), 0);
    assert_string_equal(s, "ev-value");
    assert_int_equal(op_frame_subject("auto", "ev", rec, 1, s, sizeof s), 0);
    assert_string_equal(s, "ev-org.outreach.event.Visit");
    assert_int_equal(op_frame_subject("bogus", "ev", rec, 1, s, sizeof s), -1);
    assert_int_equal(op_frame_subject("topic", "ev", rec, 1, s, 5), -1);
}

static struct op_conf *frame_conf(const char *const *kv)
{
    static const struct op_conf_def defs[] = {OP_FRAME_CONF_DEFS, OP_REGISTRY_CONF_DEFS, {0}};
    struct op_conf *conf = op_conf_new(defs);
    assert_non_null(conf);
    char err[256];
    for (; kv && *kv; kv += 2)
        if (op_conf_set(conf, kv[0], kv[1], err, sizeof err) != 0)
            fail_msg("%s", err);
    return conf;
}

static void test_frame_settings(void **state)
{
    (void)state;
    char err[256];
    const char *const bogus[] = {"wire.format", "avro", NULL};
    struct op_conf *conf = frame_conf(bogus);
    assert_null(op_frame_new_from_conf(conf, err, sizeof err));
    assert_string_equal(err, "wire.format: \"avro\" is neither single-object nor confluent");
    op_conf_destroy(conf);
    const char *const nourl[] = {"wire.format", "confluent", NULL};
    conf = frame_conf(nourl);
    assert_null(op_frame_new_from_conf(conf, err, sizeof err));
    assert_string_equal(err, "wire.format=confluent needs schema.registry.url");
    op_conf_destroy(conf);
    const char *const both[] = {"wire.format",
                                "confluent",
                                "schema.registry.url",
                                "http://h:1",
                                "schema.registry.basic.auth.user.info",
                                "u:p",
                                "schema.registry.bearer.token",
                                "t",
                                NULL};
    conf = frame_conf(both);
    assert_null(op_frame_new_from_conf(conf, err, sizeof err));
    assert_non_null(strstr(err, "exclusive"));
    op_conf_destroy(conf);
    const char *const ftp[] = {"schema.registry.url", "ftp://u:secret@h/", NULL};
    conf = frame_conf(ftp);
    assert_null(op_frame_new_from_conf(conf, err, sizeof err));
    assert_string_equal(err, "schema.registry.url: ftp://***@h/: not an http:// or https:// URL");
    op_conf_destroy(conf);
    /* The default: single-object, no registry, the 10-byte header of the Avro spec. */
    conf = frame_conf(NULL);
    struct op_frame *f = op_frame_new_from_conf(conf, err, sizeof err);
    assert_non_null(f);
    assert_int_equal(op_frame_format(f), OP_WIRE_SINGLE_OBJECT);
    assert_null(op_frame_registry(f));
    struct op_schema s = {.name = "x.v1", .fingerprint = UINT64_C(0x0807060504030201)};
    unsigned char h[OP_FRAME_HEADER_MAX];
    static const unsigned char want[] = {0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(op_frame_header(f, &s, h), 10);
    assert_memory_equal(h, want, 10);
    assert_int_equal(op_frame_header(NULL, &s, h), 10);
    assert_memory_equal(h, want, 10);
    op_frame_destroy(f);
    op_conf_destroy(conf);
}

/* Binding registers each schema (auto subject per record type), the header carries the id
 * big-endian, and a codec with the registry decodes the message back. */
static void test_bind_encode_decode(void **state)
{
    (void)state;
    char err[1024];
    const char *const kv[] = {"wire.format",
                              "confluent",
                              "schema.registry.url",
                              fake_url(),
                              "schema.registry.bearer.token",
                              "tok-1",
                              NULL};
    struct op_conf *conf = frame_conf(kv);
    struct op_frame *f = op_frame_new_from_conf(conf, err, sizeof err);
    assert_non_null(f);
    struct op_codec *c = op_codec_new_default(err, sizeof err);
    assert_non_null(c);
    const struct op_schema *ws[] = {op_codec_by_name(c, "visit.v1"),
                                    op_codec_by_name(c, "funding.v1")};
    int before = fake.requests;
    if (op_frame_bind(f, "ev", ws, 2, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(fake.requests, before + 2);
    assert_string_equal(fake.auth, "Bearer tok-1");
    int32_t id = op_frame_id(f, ws[0]);
    assert_true(id >= 7);
    assert_int_not_equal(op_frame_id(f, ws[1]), id);
    /* What was registered is the schema with its defaults (not the canonical form). */
    assert_non_null(strstr(fake.texts[id], "\"doc\""));

    struct op_buf single = {0}, conf_msg = {0};
    encode_as(c, "visit.v1", VISIT_V1, &single);
    encode_framed(f, c, "visit.v1", VISIT_V1, &conf_msg);
    avro_value_t *v;
    const unsigned char head[] = {0x00, 0, 0, 0, (unsigned char)id};
    assert_int_equal(conf_msg.len, single.len - 10 + 5);
    assert_memory_equal(conf_msg.data, head, 5);
    assert_memory_equal(conf_msg.data + 5, single.data + 10, single.len - 10);

    /* A fresh codec (another process) learns the id from the registry, once. */
    struct op_codec *reader = op_codec_new_default(err, sizeof err);
    op_codec_set_registry(reader, op_frame_registry(f));
    const struct op_schema *rw, *rr;
    assert_int_equal(
        op_codec_decode(reader, conf_msg.data, conf_msg.len, &v, &rw, &rr, err, sizeof err), 0);
    assert_string_equal(rw->name, "visit.v1");
    assert_string_equal(rr->type, "visit");
    json_t *j = op_avrojson_to_json(v);
    assert_int_equal(json_integer_value(json_object_get(j, "workers_reached")), 12);
    assert_string_equal(json_string_value(json_object_get(j, "event_id")), "e-1");
    json_decref(j);
    before = fake.requests;
    assert_int_equal(
        op_codec_decode(reader, conf_msg.data, conf_msg.len, &v, &rw, &rr, err, sizeof err), 0);
    assert_int_equal(fake.requests, before);

    /* A schema without an id bound cannot be framed. */
    struct op_buf none = {0};
    assert_int_equal(
        op_frame_append_header(f, op_codec_by_name(c, "survey.v1"), &none, err, sizeof err), -1);
    assert_string_equal(err, "survey.v1: no schema id bound (wire.format=confluent)");
    op_buf_free(&none);
    op_buf_free(&single);
    op_buf_free(&conf_msg);
    op_codec_destroy(reader);
    op_codec_destroy(c);
    op_frame_destroy(f);
    op_conf_destroy(conf);
}

static void test_register_refused(void **state)
{
    (void)state;
    struct op_registry *r = fake_registry("alice:s3cret", NULL);
    char err[1024];
    int32_t id = -1;
    assert_int_equal(op_registry_register(r, "bad-value", "\"int\"", 1, &id, err, sizeof err), -1);
    char want[512];
    snprintf(want, sizeof want,
             "schema registry http://127.0.0.1:%u/apis/ccompat/v7: subject bad-value: "
             "registration refused (HTTP 409): Incompatible: reader type STRING not compatible "
             "with writer type INT (error 409)",
             fake.port);
    assert_string_equal(err, want);
    /* alice:s3cret in base64 */
    assert_string_equal(fake.auth, "Basic YWxpY2U6czNjcmV0");
    assert_int_equal(op_registry_register(r, "new-value", "\"int\"", 0, &id, err, sizeof err), -1);
    assert_non_null(strstr(err, "subject new-value: look-up refused (HTTP 404): Subject not "
                                "found. (error 40401)"));
    op_registry_destroy(r);
}

/* Unknown ids, a registry error and a non-Avro schema: distinct errors, remembered briefly. */
static void test_decode_failures(void **state)
{
    (void)state;
    char err[1024];
    struct op_codec *c = op_codec_new_default(err, sizeof err);
    struct op_registry *r = fake_registry(NULL, NULL);
    op_codec_set_registry(c, r);
    fake.texts[3] = strdup("{\"type\":\"record\",\"name\":\"Other\",\"namespace\":\"x\","
                           "\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}");
    fake.texts[1] = strdup("{\"type\":\"record\",\"name\":\"Broken\",\"fields\":[{");
    avro_value_t *v;
    unsigned char msg[] = {0x00, 0, 0, 0, 4, 0x02};
    int before = fake.requests;
    assert_int_equal(op_codec_decode(c, msg, sizeof msg, &v, NULL, NULL, err, sizeof err),
                     OP_CODEC_ERR_UNKNOWN);
    assert_non_null(strstr(err, "schema id 4: not in the registry"));
    assert_non_null(strstr(err, "No content with ID '4' was found. (error 40403)"));
    assert_int_equal(op_codec_decode(c, msg, sizeof msg, &v, NULL, NULL, err, sizeof err),
                     OP_CODEC_ERR_UNKNOWN);
    assert_non_null(strstr(err, "(cached)"));
    assert_int_equal(fake.requests, before + 1);

    msg[4] = 6;
    assert_int_equal(op_codec_decode(c, msg, sizeof msg, &v, NULL, NULL, err, sizeof err),
                     OP_CODEC_ERR_UNKNOWN);
    assert_string_equal(err, "schema id 6: a PROTOBUF schema, not Avro");
    msg[4] = 3;
    assert_int_equal(op_codec_decode(c, msg, sizeof msg, &v, NULL, NULL, err, sizeof err),
                     OP_CODEC_ERR_UNKNOWN);
    assert_string_equal(err, "schema id 3: record x.Other is none of our types");
    msg[4] = 1;
    assert_int_equal(op_codec_decode(c, msg, sizeof msg, &v, NULL, NULL, err, sizeof err),
                     OP_CODEC_ERR_UNKNOWN);
    assert_non_null(strstr(err, "schema id 1: "));
    /* A 5xx: registry-unavailable, and every id not known yet fails at once for a while. */
    msg[4] = 5;
    assert_int_equal(op_codec_decode(c, msg, sizeof msg, &v, NULL, NULL, err, sizeof err),
                     OP_CODEC_ERR_REGISTRY);
    assert_string_equal(op_codec_err_name(OP_CODEC_ERR_REGISTRY), "registry-unavailable");
    assert_non_null(strstr(err, "HTTP 500: storage down (error 50001)"));
    before = fake.requests;
    msg[4] = 11;
    assert_int_equal(op_codec_decode(c, msg, sizeof msg, &v, NULL, NULL, err, sizeof err),
                     OP_CODEC_ERR_REGISTRY);
    assert_non_null(strstr(err, "schema id 11: schema id 5: "));
    assert_non_null(strstr(err, "(registry down, cached)"));
    assert_int_equal(fake.requests, before);
    op_codec_destroy(c);
    op_registry_destroy(r);

    /* Nobody listening: registry-unavailable, not a hang. */
    struct op_registry_opts o = {"http://127.0.0.1:1", NULL, NULL, NULL, 1000};
    r = op_registry_new(&o, err, sizeof err);
    c = op_codec_new_default(err, sizeof err);
    op_codec_set_registry(c, r);
    msg[4] = 9;
    assert_int_equal(op_codec_decode(c, msg, sizeof msg, &v, NULL, NULL, err, sizeof err),
                     OP_CODEC_ERR_REGISTRY);
    assert_non_null(strstr(err, "schema id 9: schema registry http://127.0.0.1:1: "));
    op_codec_destroy(c);
    op_registry_destroy(r);
}

/* A Visit newer than ours (visit.v3 + a field with a default): learnt as a writer version of
 * visit, its data resolved to our visit.v3 (the extra field dropped). */
static void test_learn_newer(void **state)
{
    (void)state;
    char err[1024];
    char *v3 = schema_file("visit.v3.avsc");
    json_t *s = json_loads(v3, 0, NULL);
    free(v3);
    assert_non_null(s);
    json_array_append_new(
        json_object_get(s, "fields"),
        json_pack("{s:s,s:s,s:s}", "name", "weather", "type", "string", "default", ""));
    char *text = json_dumps(s, JSON_COMPACT);
    json_decref(s);
    fake.texts[2] = strdup(text);
    struct op_codec *w = op_codec_new();
    assert_int_equal(op_codec_add(w, "visit.v9", text, strlen(text), err, sizeof err), 0);
    free(text);
    struct op_buf b = {0};
    char rec[1024];
    snprintf(rec, sizeof rec,
             "%.*s,\"duration_minutes\":5,\"venue\":\"HOME\",\"note\":null,\"correction\":0,"
             "\"retracted\":false,\"correction_reason\":null,\"weather\":\"snow\"}",
             (int)strlen(VISIT_V1) - 1, VISIT_V1);
    encode_as(w, "visit.v9", rec, &b);
    b.data[5] = 0x00, b.data[6] = 0, b.data[7] = 0, b.data[8] = 0, b.data[9] = 2;

    struct op_codec *c = op_codec_new_default(err, sizeof err);
    struct op_registry *r = fake_registry(NULL, NULL);
    op_codec_set_registry(c, r);
    avro_value_t *v;
    const struct op_schema *ws, *rs;
    if (op_codec_decode(c, b.data + 5, b.len - 5, &v, &ws, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(ws->name, "visit.registry-2");
    assert_int_equal(ws->version, 0);
    assert_string_equal(rs->name, "visit.v3");
    assert_ptr_equal(op_codec_reader(c, "visit"), rs); /* a learnt schema is never the reader */
    json_t *j = op_avrojson_to_json(v);
    assert_string_equal(json_string_value(json_object_get(j, "venue")), "HOME");
    assert_int_equal(json_integer_value(json_object_get(j, "duration_minutes")), 5);
    assert_null(json_object_get(j, "weather"));
    json_decref(j);
    op_buf_free(&b);
    op_codec_destroy(c);
    op_codec_destroy(w);
    op_registry_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subjects),           cmocka_unit_test(test_frame_settings),
        cmocka_unit_test(test_bind_encode_decode), cmocka_unit_test(test_register_refused),
        cmocka_unit_test(test_decode_failures),    cmocka_unit_test(test_learn_newer),
    };
    return cmocka_run_group_tests(tests, fake_start, fake_stop);
}
