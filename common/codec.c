/* Avro codec: the registry of schemas (fingerprinted over their Parsing Canonical Form,
 * codec_pcf.c), encoding with single-object or Confluent framing, and decoding: framing, a
 * bounds check of every body before avro-c reads it (codec_check.c) and our own schema
 * resolution (codec_resolve.c). */
#include "codec.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"
#include "crc64.h"
#include "embed.h"
#include "err.h"
#include "frame.h"
#include "registry.h"

const char *const op_rollup_fields[] = {"window_kind",
                                        "window",
                                        "region",
                                        "level",
                                        "revision",
                                        "event_count",
                                        "first_event_at",
                                        "last_event_at",
                                        "visits",
                                        "visits_by_activity",
                                        "workers_reached",
                                        "workers_by_group",
                                        "households",
                                        "staff",
                                        "funding_fen",
                                        "funding_by_source_fen",
                                        "funding_by_purpose_fen",
                                        "recipients",
                                        "surveys",
                                        "enterprises",
                                        "respondents",
                                        "satisfaction",
                                        "needs",
                                        "corrections",
                                        NULL};

struct op_codec {
    struct op_schema **schemas;
    /* One reusable value per schema, created on first use; each allocated on its own so a
     * schema learnt from the registry during a decode moves none of them. */
    avro_value_t **values;
    size_t n, cap;
    avro_reader_t reader;
    struct op_registry *registry; /* borrowed; NULL: confluent ids are unknown-schema */
    struct {
        int32_t id;
        const struct op_schema *schema;
    } * ids; /* confluent schema ids seen, → their schema */
    size_t n_ids, cap_ids;
    int registry_seq; /* numbers schemas learnt from the registry */
};

const char *op_codec_err_name(int err)
{
    switch (err) {
    case OP_CODEC_OK:
        return "ok";
    case OP_CODEC_ERR_FRAMING:
        return "framing";
    case OP_CODEC_ERR_UNKNOWN:
        return "unknown-schema";
    case OP_CODEC_ERR_MALFORMED:
        return "malformed";
    case OP_CODEC_ERR_RESOLVE:
        return "unresolvable";
    case OP_CODEC_ERR_REGISTRY:
        return "registry-unavailable";
    default:
        return "internal";
    }
}

/* ---- CRC-64-AVRO ------------------------------------------------------------------------ */

uint64_t op_codec_crc64(const void *data, size_t len)
{
    return op_crc64(data, len);
}

/* ---- registry --------------------------------------------------------------------------- */

static void schema_free(struct op_schema *s)
{
    if (!s)
        return;
    if (s->iface)
        avro_value_iface_decref(s->iface);
    if (s->schema)
        avro_schema_decref(s->schema);
    json_decref(s->json);
    json_decref(s->names);
    free(s->canonical);
    free(s->type);
    free(s->name);
    free(s);
}

struct op_codec *op_codec_new(void)
{
    struct op_codec *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    static const char empty[1];
    c->reader = avro_reader_memory(empty, 0);
    if (!c->reader) {
        free(c);
        return NULL;
    }
    return c;
}

void op_codec_destroy(struct op_codec *codec)
{
    if (!codec)
        return;
    for (size_t i = 0; i < codec->n; i++) {
        if (codec->values[i]) {
            avro_value_decref(codec->values[i]);
            free(codec->values[i]);
        }
        schema_free(codec->schemas[i]);
    }
    free(codec->schemas);
    free(codec->values);
    free(codec->ids);
    avro_reader_free(codec->reader);
    free(codec);
}

/* "visit.v12" → type "visit", version 12. */
static int split_name(const char *name, char **type, int *version)
{
    const char *v = strstr(name, ".v");
    if (!v || v == name || v[2] < '0' || v[2] > '9')
        return -1;
    char *end;
    errno = 0;
    long ver = strtol(v + 2, &end, 10);
    if (*end || errno || ver < 1 || ver > 1000)
        return -1;
    *type = strndup(name, (size_t)(v - name));
    if (!*type)
        return -1;
    *version = (int)ver;
    return 0;
}

static pthread_mutex_t avro_error_lock = PTHREAD_MUTEX_INITIALIZER;

/* Completes s (name, type and version set; name NULL: out of memory) from the schema text
 * and appends it to the codec. Takes ownership of s. Returns s, or NULL with errstr. */
static struct op_schema *add_schema(struct op_codec *codec, struct op_schema *s, const char *json,
                                    size_t len, char *errstr, size_t errstr_size)
{
    if (!s->name || !s->type) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto fail;
    }
    const char *name = s->name;
    json_error_t jerr;
    s->json = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (!s->json) {
        op_set_err(errstr, errstr_size, "%s: line %d: %s", name, jerr.line, jerr.text);
        goto fail;
    }
    char perr[256];
    s->canonical = op_codec_pcf_text(s->json, &s->names, perr, sizeof perr);
    if (!s->canonical) {
        op_set_err(errstr, errstr_size, "%s: %s", name, perr);
        goto fail;
    }
    s->fingerprint = op_codec_crc64(s->canonical, strlen(s->canonical));
    const struct op_schema *clash = op_codec_by_fingerprint(codec, s->fingerprint);
    if (clash) {
        op_set_err(errstr, errstr_size, "%s: same canonical form as %s", name, clash->name);
        goto fail;
    }
    /* Schemas are added at start and, for ids learnt from a registry, on the reporter's
     * endpoint threads: avro-c's error text lives in one process-wide buffer (see
     * op_codec_field_index), so the parse and the read of its message are one step under a
     * lock. */
    pthread_mutex_lock(&avro_error_lock);
    int parsed = avro_schema_from_json_length(json, len, &s->schema) == 0;
    if (!parsed) {
        s->schema = NULL;
        op_set_err(errstr, errstr_size, "%s: avro-c: %s", name, avro_strerror());
    } else if (!is_avro_record(s->schema)) {
        op_set_err(errstr, errstr_size, "%s: top-level schema must be a record", name);
    } else if (!(s->iface = avro_generic_class_from_schema(s->schema))) {
        op_set_err(errstr, errstr_size, "%s: avro-c: %s", name, avro_strerror());
    }
    pthread_mutex_unlock(&avro_error_lock);
    if (!s->iface)
        goto fail;
    if (codec->n == codec->cap) {
        size_t cap = codec->cap ? codec->cap * 2 : 8;
        struct op_schema **ns = realloc(codec->schemas, cap * sizeof *ns);
        if (ns)
            codec->schemas = ns;
        avro_value_t **nv = realloc(codec->values, cap * sizeof *nv);
        if (nv)
            codec->values = nv;
        if (!ns || !nv) {
            op_set_err(errstr, errstr_size, "out of memory");
            goto fail;
        }
        codec->cap = cap;
    }
    codec->schemas[codec->n] = s;
    codec->values[codec->n] = NULL;
    codec->n++;
    return s;
fail:
    schema_free(s);
    return NULL;
}

int op_codec_add(struct op_codec *codec, const char *name, const char *json, size_t len,
                 char *errstr, size_t errstr_size)
{
    struct op_schema *s = calloc(1, sizeof *s);
    if (!s) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    if (split_name(name, &s->type, &s->version) != 0) {
        op_set_err(errstr, errstr_size, "%s: schema name must be TYPE.vN", name);
        schema_free(s);
        return -1;
    }
    if (op_codec_by_name(codec, name)) {
        op_set_err(errstr, errstr_size, "%s: registered twice", name);
        schema_free(s);
        return -1;
    }
    s->name = strdup(name);
    return add_schema(codec, s, json, len, errstr, errstr_size) ? 0 : -1;
}

struct op_codec *op_codec_new_default(char *errstr, size_t errstr_size)
{
    struct op_codec *codec = op_codec_new();
    if (!codec) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    for (const struct op_embed_file *f = op_embed_files; f->name; f++) {
        size_t nl = strlen(f->name);
        if (nl < 6 || strcmp(f->name + nl - 5, ".avsc") != 0)
            continue;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(nl - 5), f->name);
        if (op_codec_add(codec, name, (const char *)f->data, f->size, errstr, errstr_size) != 0) {
            op_codec_destroy(codec);
            return NULL;
        }
    }
    return codec;
}

const struct op_schema *op_codec_by_fingerprint(const struct op_codec *codec, uint64_t fp)
{
    for (size_t i = 0; i < codec->n; i++)
        if (codec->schemas[i]->fingerprint == fp)
            return codec->schemas[i];
    return NULL;
}

const struct op_schema *op_codec_by_name(const struct op_codec *codec, const char *name)
{
    for (size_t i = 0; i < codec->n; i++)
        if (strcmp(codec->schemas[i]->name, name) == 0)
            return codec->schemas[i];
    return NULL;
}

const struct op_schema *op_codec_reader(const struct op_codec *codec, const char *type)
{
    const struct op_schema *best = NULL;
    for (size_t i = 0; i < codec->n; i++) {
        const struct op_schema *s = codec->schemas[i];
        if (strcmp(s->type, type) == 0 && (!best || s->version > best->version))
            best = s;
    }
    return best;
}

size_t op_codec_count(const struct op_codec *codec)
{
    return codec->n;
}

const struct op_schema *op_codec_at(const struct op_codec *codec, size_t i)
{
    return i < codec->n ? codec->schemas[i] : NULL;
}

static avro_value_t *codec_value(struct op_codec *codec, const struct op_schema *s)
{
    for (size_t i = 0; i < codec->n; i++) {
        if (codec->schemas[i] != s)
            continue;
        if (!codec->values[i]) {
            avro_value_t *v = malloc(sizeof *v);
            if (!v)
                return NULL;
            if (avro_generic_value_new(s->iface, v) != 0) {
                free(v);
                return NULL;
            }
            codec->values[i] = v;
        }
        return codec->values[i];
    }
    return NULL;
}

/* ---- encode ----------------------------------------------------------------------------- */

int op_codec_encode(const struct op_schema *writer, avro_value_t *value, struct op_buf *out,
                    char *errstr, size_t errstr_size)
{
    return op_codec_encode_framed(NULL, writer, value, out, errstr, errstr_size);
}

int op_codec_encode_framed(const struct op_frame *frame, const struct op_schema *writer,
                           avro_value_t *value, struct op_buf *out, char *errstr,
                           size_t errstr_size)
{
    avro_schema_t vs = avro_value_get_schema(value);
    if (vs != writer->schema && !avro_schema_equal(vs, writer->schema)) {
        op_set_err(errstr, errstr_size, "value is not of schema %s", writer->name);
        return -1;
    }
    /* The producer's workers encode at once: no avro_strerror() here (see
     * op_codec_field_index). avro-c fails these only for a value that is not of its schema or
     * a writer too small, which the checks around them rule out. */
    size_t size;
    if (avro_value_sizeof(value, &size) != 0) {
        op_set_err(errstr, errstr_size, "avro-c cannot size a value of %s", writer->name);
        return -1;
    }
    if (op_buf_reserve(out, OP_FRAME_HEADER_MAX + size) != 0) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    unsigned char *h = out->data + out->len;
    size_t hlen = op_frame_header(frame, writer, h);
    if (hlen == 0) {
        op_set_err(errstr, errstr_size, "%s: no schema id bound (wire.format=confluent)",
                   writer->name);
        return -1;
    }
    avro_writer_t w = avro_writer_memory((const char *)h + hlen, (int64_t)size);
    if (!w) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    int rc = avro_value_write(w, value);
    int64_t written = avro_writer_tell(w);
    avro_writer_free(w);
    if (rc != 0 || written != (int64_t)size) {
        op_set_err(errstr, errstr_size, "avro-c cannot write a value of %s (%s)", writer->name,
                   rc ? "write failed" : "size mismatch");
        return -1;
    }
    out->len += hlen + size;
    return 0;
}

/* ---- decode ----------------------------------------------------------------------------- */

int op_codec_peek_fingerprint(const void *data, size_t len, uint64_t *fp)
{
    const unsigned char *p = data;
    if (len < OP_CODEC_HEADER_SIZE || p[0] != OP_CODEC_MAGIC0 || p[1] != OP_CODEC_MAGIC1)
        return OP_CODEC_ERR_FRAMING;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[2 + i] << (8 * i);
    *fp = v;
    return 0;
}

void op_codec_set_registry(struct op_codec *codec, struct op_registry *registry)
{
    codec->registry = registry;
}

/* A schema from the registry that matches none we know: a writer version of the type whose
 * reader record has the same full name, named TYPE.registry-ID, version 0 (never a reader).
 * Whether its data resolves to our reader is decided per message, by resolve(). */
static const struct op_schema *learn(struct op_codec *codec, int32_t id, const char *text,
                                     char *errstr, size_t errstr_size)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *ns = json_string_value(json_object_get(j, "namespace"));
    char *full = name ? op_codec_full_name(name, ns) : NULL;
    json_decref(j);
    if (!full) {
        op_set_err(errstr, errstr_size, "schema id %" PRId32 ": not a named record schema", id);
        return NULL;
    }
    const struct op_schema *known = NULL;
    for (size_t i = 0; i < codec->n && !known; i++) {
        const struct op_schema *k = codec->schemas[i];
        if (k->version < 1 || !is_avro_record(k->schema))
            continue;
        const char *kn = avro_schema_name(k->schema), *kns = avro_schema_namespace(k->schema);
        char *kf = kn ? op_codec_full_name(kn, kns) : NULL;
        if (kf && strcmp(kf, full) == 0)
            known = k;
        free(kf);
    }
    if (!known) {
        op_set_err(errstr, errstr_size, "schema id %" PRId32 ": record %s is none of our types", id,
                   full);
        free(full);
        return NULL;
    }
    free(full);
    struct op_schema *s = calloc(1, sizeof *s);
    if (!s) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    char nm[64];
    snprintf(nm, sizeof nm, "%.30s.registry-%" PRId32, known->type, id);
    s->name = strdup(nm);
    s->type = strdup(known->type);
    char why[256];
    const struct op_schema *added = add_schema(codec, s, text, strlen(text), why, sizeof why);
    if (!added)
        op_set_err(errstr, errstr_size, "schema id %" PRId32 ": %s", id, why);
    return added;
}

/* The writer schema of Confluent id `id`: remembered, else fetched from the registry and
 * matched to a schema we know by its Parsing Canonical Form, else learnt (see learn()).
 * Returns 0 or a negative enum op_codec_err with errstr. */
static int schema_of_id(struct op_codec *codec, int32_t id, const struct op_schema **out,
                        char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < codec->n_ids; i++)
        if (codec->ids[i].id == id) {
            *out = codec->ids[i].schema;
            return 0;
        }
    if (!codec->registry) {
        op_set_err(errstr, errstr_size,
                   "schema id %" PRId32
                   ": Confluent framing, and no schema.registry.url to look the "
                   "id up",
                   id);
        return OP_CODEC_ERR_UNKNOWN;
    }
    char *text = NULL, why[512];
    int rc = op_registry_schema_by_id(codec->registry, id, &text, why, sizeof why);
    if (rc != OP_REGISTRY_OK) {
        op_set_err(errstr, errstr_size, "%s", why);
        return rc == OP_REGISTRY_NOT_FOUND ? OP_CODEC_ERR_UNKNOWN : OP_CODEC_ERR_REGISTRY;
    }
    char *canon = NULL;
    const struct op_schema *s = NULL;
    if (op_codec_canonical_form(text, strlen(text), &canon, why, sizeof why) != 0)
        op_set_err(errstr, errstr_size, "schema id %" PRId32 ": %s", id, why);
    else if (!(s = op_codec_by_fingerprint(codec, op_codec_crc64(canon, strlen(canon)))))
        s = learn(codec, id, text, errstr, errstr_size);
    free(canon);
    free(text);
    if (!s)
        return OP_CODEC_ERR_UNKNOWN;
    if (codec->n_ids == codec->cap_ids) {
        size_t cap = codec->cap_ids ? codec->cap_ids * 2 : 8;
        void *n = realloc(codec->ids, cap * sizeof *codec->ids);
        if (!n) {
            op_set_err(errstr, errstr_size, "out of memory");
            return OP_CODEC_ERR_INTERNAL;
        }
        codec->ids = n;
        codec->cap_ids = cap;
    }
    codec->ids[codec->n_ids].id = id;
    codec->ids[codec->n_ids].schema = s;
    codec->n_ids++;
    *out = s;
    return 0;
}

/* The writer schema and body of a message in either framing. */
static int unframe(struct op_codec *codec, const unsigned char *p, size_t len,
                   const struct op_schema **w, size_t *hlen, char *errstr, size_t errstr_size)
{
    if (len >= 1 && p[0] == OP_FRAME_CONFLUENT_MAGIC) {
        if (len < OP_FRAME_CONFLUENT_HEADER_SIZE) {
            op_set_err(errstr, errstr_size, "%zu bytes: shorter than the 5-byte Confluent header",
                       len);
            return OP_CODEC_ERR_FRAMING;
        }
        int32_t id = (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 |
                               (uint32_t)p[4]);
        *hlen = OP_FRAME_CONFLUENT_HEADER_SIZE;
        return schema_of_id(codec, id, w, errstr, errstr_size);
    }
    uint64_t fp;
    if (op_codec_peek_fingerprint(p, len, &fp) != 0) {
        if (len < OP_CODEC_HEADER_SIZE)
            op_set_err(errstr, errstr_size,
                       "%zu bytes: shorter than the 10-byte single-object header", len);
        else
            op_set_err(errstr, errstr_size,
                       "magic %02X %02X: neither Avro single-object encoding (C3 01) nor Confluent "
                       "framing (00)",
                       p[0], p[1]);
        return OP_CODEC_ERR_FRAMING;
    }
    *w = op_codec_by_fingerprint(codec, fp);
    if (!*w) {
        op_set_err(errstr, errstr_size, "unknown schema fingerprint %016" PRIx64, fp);
        return OP_CODEC_ERR_UNKNOWN;
    }
    *hlen = OP_CODEC_HEADER_SIZE;
    return 0;
}

int op_codec_decode(struct op_codec *codec, const void *data, size_t len, avro_value_t **value,
                    const struct op_schema **writer_out, const struct op_schema **reader_out,
                    char *errstr, size_t errstr_size)
{
    const unsigned char *p = data;
    const struct op_schema *w = NULL;
    size_t hlen = 0;
    int urc = unframe(codec, p, len, &w, &hlen, errstr, errstr_size);
    if (urc != 0)
        return urc;
    const unsigned char *body = p + hlen;
    size_t blen = len - hlen;
    char why[256];
    if (op_codec_check_body(w->schema, body, blen, why, sizeof why) != 0) {
        op_set_err(errstr, errstr_size, "%s: %s", w->name, why);
        return OP_CODEC_ERR_MALFORMED;
    }
    const struct op_schema *r = op_codec_reader(codec, w->type);
    avro_value_t *wv = codec_value(codec, w);
    avro_value_t *rv = r == w ? wv : codec_value(codec, r);
    if (!wv || !rv) {
        op_set_err(errstr, errstr_size, "out of memory");
        return OP_CODEC_ERR_INTERNAL;
    }
    avro_value_reset(wv);
    avro_reader_memory_set_source(codec->reader, (const char *)body, (int64_t)blen);
    if (avro_value_read(codec->reader, wv) != 0) { /* after the body check: out of memory */
        op_set_err(errstr, errstr_size, "%s: avro-c could not read the body (out of memory?)",
                   w->name);
        return OP_CODEC_ERR_MALFORMED;
    }
    if (r != w) {
        avro_value_reset(rv);
        if (op_codec_resolve(r, rv, wv, why, sizeof why) != 0) {
            op_set_err(errstr, errstr_size, "%s as %s: %s", w->name, r->name, why);
            return OP_CODEC_ERR_RESOLVE;
        }
    }
    *value = rv;
    if (writer_out)
        *writer_out = w;
    if (reader_out)
        *reader_out = r;
    return 0;
}
