/* Avro codec: CRC-64-AVRO fingerprints over Parsing Canonical Form, single-object framing,
 * a bounds check of every body before avro-c reads it, and our own schema resolution. */
#include "codec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc64.h"
#include "embed.h"
#include "err.h"
#include "utf8.h"
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

/* Limits for hostile input. Our events are a few hundred bytes; these bound the work and the
 * memory avro-c would spend on a message that claims more. */
#define MAX_DEPTH 32
#define MAX_ZERO_SIZE_ITEMS 4096

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

/* ---- Parsing Canonical Form ------------------------------------------------------------- */

static int is_primitive(const char *t)
{
    static const char *const prims[] = {"null",  "boolean", "int",   "long",
                                        "float", "double",  "bytes", "string"};
    for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
        if (strcmp(t, prims[i]) == 0)
            return 1;
    return 0;
}

/* Full name of `name` in namespace `ns` (a name with a dot is already full). */
static char *full_name(const char *name, const char *ns)
{
    size_t nl = strlen(name), sl = ns ? strlen(ns) : 0;
    char *out = malloc(nl + sl + 2);
    if (!out)
        return NULL;
    if (strchr(name, '.') || sl == 0)
        memcpy(out, name, nl + 1);
    else {
        memcpy(out, ns, sl);
        out[sl] = '.';
        memcpy(out + sl + 1, name, nl + 1);
    }
    return out;
}

/* Builds the canonical JSON of schema `s` within namespace `ns`. `names` collects each named
 * type's definition object (for defaults later); a second use of a name becomes its full
 * name only. Returns a new reference, or NULL with errstr set. */
static json_t *pcf_build(json_t *s, const char *ns, json_t *names, int depth, char *errstr,
                         size_t errstr_size)
{
    if (depth > MAX_DEPTH) {
        op_set_err(errstr, errstr_size, "schema nested deeper than %d", MAX_DEPTH);
        return NULL;
    }
    if (json_is_string(s)) {
        const char *t = json_string_value(s);
        if (is_primitive(t))
            return json_string(t);
        char *fn = full_name(t, ns);
        if (!fn)
            return NULL;
        if (!json_object_get(names, fn)) {
            op_set_err(errstr, errstr_size, "unknown type name \"%s\"", fn);
            free(fn);
            return NULL;
        }
        json_t *r = json_string(fn);
        free(fn);
        return r;
    }
    if (json_is_array(s)) {
        json_t *out = json_array();
        size_t i;
        json_t *b;
        json_array_foreach(s, i, b)
        {
            json_t *c = pcf_build(b, ns, names, depth + 1, errstr, errstr_size);
            if (!c || json_array_append_new(out, c) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    if (!json_is_object(s)) {
        op_set_err(errstr, errstr_size, "a schema must be a string, an array or an object");
        return NULL;
    }
    json_t *type = json_object_get(s, "type");
    if (!json_is_string(type)) {
        if (type && (json_is_object(type) || json_is_array(type)))
            return pcf_build(type, ns, names, depth + 1, errstr, errstr_size);
        op_set_err(errstr, errstr_size, "schema object without a \"type\"");
        return NULL;
    }
    const char *t = json_string_value(type);
    if (is_primitive(t))
        return json_string(t);

    json_t *out = json_object();
    if (!out)
        return NULL;
    if (strcmp(t, "array") == 0 || strcmp(t, "map") == 0) {
        const char *key = t[0] == 'a' ? "items" : "values";
        json_t *sub = json_object_get(s, key);
        json_t *c = sub ? pcf_build(sub, ns, names, depth + 1, errstr, errstr_size) : NULL;
        if (!sub)
            op_set_err(errstr, errstr_size, "%s without \"%s\"", t, key);
        if (!c) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, "type", json_string(t));
        json_object_set_new(out, key, c);
        return out;
    }
    if (strcmp(t, "record") != 0 && strcmp(t, "error") != 0 && strcmp(t, "enum") != 0 &&
        strcmp(t, "fixed") != 0) {
        /* A bare type reference in object form, e.g. {"type": "org.x.Y"}. */
        json_decref(out);
        return pcf_build(type, ns, names, depth + 1, errstr, errstr_size);
    }

    json_t *jname = json_object_get(s, "name");
    if (!json_is_string(jname)) {
        json_decref(out);
        op_set_err(errstr, errstr_size, "%s without a \"name\"", t);
        return NULL;
    }
    json_t *jns = json_object_get(s, "namespace");
    const char *own_ns = json_is_string(jns) ? json_string_value(jns) : ns;
    char *fn = full_name(json_string_value(jname), own_ns);
    if (!fn) {
        json_decref(out);
        return NULL;
    }
    if (json_object_get(names, fn)) {
        /* Already defined: canonical form refers to it by name. */
        json_decref(out);
        json_t *r = json_string(fn);
        free(fn);
        return r;
    }
    json_object_set(names, fn, s);
    /* Names inside take the namespace of this type's full name. */
    char *inner_ns = NULL;
    const char *dot = strrchr(fn, '.');
    if (dot) {
        inner_ns = strndup(fn, (size_t)(dot - fn));
        if (!inner_ns)
            goto fail;
    }

    json_object_set_new(out, "name", json_string(fn));
    json_object_set_new(out, "type", json_string(strcmp(t, "error") == 0 ? "record" : t));
    if (strcmp(t, "record") == 0 || strcmp(t, "error") == 0) {
        json_t *fields = json_object_get(s, "fields");
        if (!json_is_array(fields)) {
            op_set_err(errstr, errstr_size, "record %s without \"fields\"", fn);
            goto fail;
        }
        json_t *ofields = json_array();
        json_object_set_new(out, "fields", ofields);
        size_t i;
        json_t *f;
        json_array_foreach(fields, i, f)
        {
            json_t *fname = json_object_get(f, "name");
            json_t *ftype = json_object_get(f, "type");
            if (!json_is_string(fname) || !ftype) {
                op_set_err(errstr, errstr_size, "record %s: field %zu needs a name and a type", fn,
                           i);
                goto fail;
            }
            json_t *c = pcf_build(ftype, inner_ns, names, depth + 1, errstr, errstr_size);
            if (!c)
                goto fail;
            json_t *of = json_object();
            json_object_set_new(of, "name", json_string(json_string_value(fname)));
            json_object_set_new(of, "type", c);
            json_array_append_new(ofields, of);
        }
    } else if (strcmp(t, "enum") == 0) {
        json_t *symbols = json_object_get(s, "symbols");
        if (!json_is_array(symbols)) {
            op_set_err(errstr, errstr_size, "enum %s without \"symbols\"", fn);
            goto fail;
        }
        json_object_set(out, "symbols", symbols);
    } else {
        json_t *size = json_object_get(s, "size");
        if (!json_is_integer(size)) {
            op_set_err(errstr, errstr_size, "fixed %s without an integer \"size\"", fn);
            goto fail;
        }
        json_object_set_new(out, "size", json_integer(json_integer_value(size)));
    }
    free(inner_ns);
    free(fn);
    return out;
fail:
    free(inner_ns);
    free(fn);
    json_decref(out);
    return NULL;
}

/* Parses `json`, returns its canonical text (malloc'd) and, if wanted, the names table. */
static char *pcf_text(json_t *root, json_t **names_out, char *errstr, size_t errstr_size)
{
    json_t *names = json_object();
    if (!names)
        return NULL;
    json_t *c = pcf_build(root, NULL, names, 0, errstr, errstr_size);
    char *text = NULL;
    if (c) {
        text = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        json_decref(c);
        if (!text)
            op_set_err(errstr, errstr_size, "cannot serialise the canonical form");
    }
    if (text && names_out)
        *names_out = names;
    else
        json_decref(names);
    return text;
}

int op_codec_canonical_form(const char *json, size_t len, char **out, char *errstr,
                            size_t errstr_size)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        op_set_err(errstr, errstr_size, "schema JSON: line %d: %s", jerr.line, jerr.text);
        return -1;
    }
    char *text = pcf_text(root, NULL, errstr, errstr_size);
    json_decref(root);
    if (!text)
        return -1;
    *out = text;
    return 0;
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
    s->canonical = pcf_text(s->json, &s->names, perr, sizeof perr);
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
    if (avro_schema_from_json_length(json, len, &s->schema) != 0) {
        s->schema = NULL;
        op_set_err(errstr, errstr_size, "%s: avro-c: %s", name, avro_strerror());
        goto fail;
    }
    if (!is_avro_record(s->schema)) {
        op_set_err(errstr, errstr_size, "%s: top-level schema must be a record", name);
        goto fail;
    }
    s->iface = avro_generic_class_from_schema(s->schema);
    if (!s->iface) {
        op_set_err(errstr, errstr_size, "%s: avro-c: %s", name, avro_strerror());
        goto fail;
    }
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
    size_t size;
    if (avro_value_sizeof(value, &size) != 0) {
        op_set_err(errstr, errstr_size, "avro-c: %s", avro_strerror());
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
        op_set_err(errstr, errstr_size, "avro-c: %s", rc ? avro_strerror() : "size mismatch");
        return -1;
    }
    out->len += hlen + size;
    return 0;
}

/* ---- bounds check ----------------------------------------------------------------------- */

struct cursor {
    const unsigned char *p, *end;
    char *errstr;
    size_t errstr_size;
};

static int read_varint(struct cursor *c, int64_t *out, int max_bytes, const char *what)
{
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; i++) {
        if (c->p >= c->end) {
            op_set_err(c->errstr, c->errstr_size, "truncated %s", what);
            return -1;
        }
        unsigned char b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = (int64_t)((v >> 1) ^ (0 - (v & 1)));
            return 0;
        }
    }
    op_set_err(c->errstr, c->errstr_size, "%s varint longer than %d bytes", what, max_bytes);
    return -1;
}

static avro_schema_t deref(avro_schema_t s)
{
    while (s && is_avro_link(s))
        s = avro_schema_link_target(s);
    return s;
}

/* Smallest encoding of a datum of `s` in bytes (0 for null and empty records). */
static size_t min_size(avro_schema_t s, int depth)
{
    s = deref(s);
    if (depth > MAX_DEPTH)
        return 1;
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_FLOAT:
        return 4;
    case AVRO_DOUBLE:
        return 8;
    case AVRO_FIXED:
        return (size_t)avro_schema_fixed_size(s);
    case AVRO_RECORD: {
        size_t sum = 0;
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            sum += min_size(avro_schema_record_field_get_by_index(s, (int)i), depth + 1);
        return sum;
    }
    default:
        return 1;
    }
}

/* Well-formed UTF-8 without NUL: what Avro strings and map keys must be here. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    return memchr(s, 0, n) == NULL && op_utf8_check((const char *)s, n) == (size_t)-1;
}

static int check_datum(struct cursor *c, avro_schema_t s, int depth);

static int check_blocks(struct cursor *c, avro_schema_t items, int is_map, int depth)
{
    size_t item_min = min_size(items, depth + 1) + (is_map ? 1 : 0);
    uint64_t total = 0;
    for (;;) {
        int64_t count;
        if (read_varint(c, &count, 10, is_map ? "map block count" : "array block count") != 0)
            return -1;
        if (count == 0)
            return 0;
        if (count < 0) {
            if (count == INT64_MIN) {
                op_set_err(c->errstr, c->errstr_size, "block count out of range");
                return -1;
            }
            count = -count;
            int64_t bytes;
            if (read_varint(c, &bytes, 10, "block size") != 0)
                return -1;
            if (bytes < 0 || (uint64_t)bytes > (uint64_t)(c->end - c->p)) {
                op_set_err(c->errstr, c->errstr_size, "block size %" PRId64 " exceeds message",
                           bytes);
                return -1;
            }
        }
        total += (uint64_t)count;
        size_t left = (size_t)(c->end - c->p);
        if ((item_min > 0 && total > left / item_min) ||
            (item_min == 0 && total > MAX_ZERO_SIZE_ITEMS)) {
            op_set_err(c->errstr, c->errstr_size,
                       "%s claims %" PRIu64 " items, more than the message can hold",
                       is_map ? "map" : "array", total);
            return -1;
        }
        for (int64_t i = 0; i < count; i++) {
            if (is_map) {
                int64_t kl;
                if (read_varint(c, &kl, 10, "map key length") != 0)
                    return -1;
                if (kl < 0 || (uint64_t)kl > (uint64_t)(c->end - c->p) ||
                    !utf8_ok(c->p, (size_t)kl)) {
                    op_set_err(c->errstr, c->errstr_size, "bad map key (length %" PRId64 ")", kl);
                    return -1;
                }
                c->p += kl;
            }
            if (check_datum(c, items, depth + 1) != 0)
                return -1;
        }
    }
}

static int check_datum(struct cursor *c, avro_schema_t s, int depth)
{
    s = deref(s);
    if (depth > MAX_DEPTH) {
        op_set_err(c->errstr, c->errstr_size, "nesting deeper than %d", MAX_DEPTH);
        return -1;
    }
    int64_t v;
    size_t left = (size_t)(c->end - c->p);
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (left < 1 || *c->p > 1) {
            op_set_err(c->errstr, c->errstr_size,
                       left ? "boolean byte not 0 or 1" : "truncated boolean");
            return -1;
        }
        c->p++;
        return 0;
    case AVRO_INT32:
        if (read_varint(c, &v, 5, "int") != 0)
            return -1;
        if (v < INT32_MIN || v > INT32_MAX) {
            op_set_err(c->errstr, c->errstr_size, "int out of range");
            return -1;
        }
        return 0;
    case AVRO_INT64:
        return read_varint(c, &v, 10, "long");
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        size_t n = avro_typeof(s) == AVRO_FLOAT ? 4 : 8;
        if (left < n) {
            op_set_err(c->errstr, c->errstr_size, "truncated %s", n == 4 ? "float" : "double");
            return -1;
        }
        c->p += n;
        return 0;
    }
    case AVRO_STRING:
    case AVRO_BYTES: {
        int is_string = avro_typeof(s) == AVRO_STRING;
        if (read_varint(c, &v, 10, is_string ? "string length" : "bytes length") != 0)
            return -1;
        left = (size_t)(c->end - c->p);
        if (v < 0 || (uint64_t)v > left) {
            op_set_err(c->errstr, c->errstr_size,
                       "%s length %" PRId64 " outside the %zu bytes left",
                       is_string ? "string" : "bytes", v, left);
            return -1;
        }
        if (is_string && !utf8_ok(c->p, (size_t)v)) {
            op_set_err(c->errstr, c->errstr_size, "string is not UTF-8 or contains NUL");
            return -1;
        }
        c->p += v;
        return 0;
    }
    case AVRO_FIXED: {
        int64_t n = avro_schema_fixed_size(s);
        if (n < 0 || (uint64_t)n > left) {
            op_set_err(c->errstr, c->errstr_size, "truncated fixed");
            return -1;
        }
        c->p += n;
        return 0;
    }
    case AVRO_ENUM:
        if (read_varint(c, &v, 5, "enum index") != 0)
            return -1;
        if (v < 0 || v >= avro_schema_enum_number_of_symbols(s)) {
            op_set_err(c->errstr, c->errstr_size, "enum %s index %" PRId64 " out of range",
                       avro_schema_name(s), v);
            return -1;
        }
        return 0;
    case AVRO_UNION:
        if (read_varint(c, &v, 10, "union index") != 0)
            return -1;
        if (v < 0 || (uint64_t)v >= avro_schema_union_size(s)) {
            op_set_err(c->errstr, c->errstr_size, "union branch %" PRId64 " out of range", v);
            return -1;
        }
        return check_datum(c, avro_schema_union_branch(s, (int)v), depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++) {
            avro_schema_t f = avro_schema_record_field_get_by_index(s, (int)i);
            if (check_datum(c, f, depth + 1) != 0) {
                /* Prefix the field name once, innermost first. */
                char inner[200];
                snprintf(inner, sizeof inner, "%s", c->errstr);
                op_set_err(c->errstr, c->errstr_size, "%s: %s",
                           avro_schema_record_field_name(s, (int)i), inner);
                return -1;
            }
        }
        return 0;
    case AVRO_ARRAY:
        return check_blocks(c, avro_schema_array_items(s), 0, depth);
    case AVRO_MAP:
        return check_blocks(c, avro_schema_map_values(s), 1, depth);
    default:
        op_set_err(c->errstr, c->errstr_size, "unsupported schema type");
        return -1;
    }
}

int op_codec_check_body(avro_schema_t schema, const void *data, size_t len, char *errstr,
                        size_t errstr_size)
{
    char buf[256] = "";
    struct cursor c = {data, (const unsigned char *)data + len, buf, sizeof buf};
    if (check_datum(&c, schema, 0) != 0) {
        op_set_err(errstr, errstr_size, "%s", buf);
        return -1;
    }
    if (c.p != c.end) {
        op_set_err(errstr, errstr_size, "%zu trailing bytes after the record",
                   (size_t)(c.end - c.p));
        return -1;
    }
    return 0;
}

/* ---- defaults and resolution ------------------------------------------------------------ */

static char *schema_full_name(avro_schema_t s)
{
    const char *ns = avro_schema_namespace(s);
    return full_name(avro_schema_name(s), ns && *ns ? ns : NULL);
}

/* The definition object of named type `s` in the reader's schema text. */
static json_t *named_def(const struct op_schema *rd, avro_schema_t s)
{
    char *fn = schema_full_name(s);
    json_t *d = fn ? json_object_get(rd->names, fn) : NULL;
    free(fn);
    return d;
}

json_t *op_codec_field_default(const struct op_schema *rd, avro_schema_t rec, const char *field)
{
    json_t *def = named_def(rd, rec);
    json_t *fields = json_object_get(def, "fields");
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        if (json_is_string(json_object_get(f, "name")) &&
            strcmp(json_string_value(json_object_get(f, "name")), field) == 0)
            return json_object_get(f, "default");
    }
    return NULL;
}

static int set_default(const struct op_schema *rd, avro_value_t *dst, avro_schema_t s, json_t *j,
                       const char *path, int depth, char *errstr, size_t errstr_size)
{
    s = deref(s);
    int rc = 0;
    if (depth > MAX_DEPTH)
        goto bad;
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        if (!json_is_null(j))
            goto bad;
        return avro_value_set_null(dst);
    case AVRO_BOOLEAN:
        if (!json_is_boolean(j))
            goto bad;
        return avro_value_set_boolean(dst, json_is_true(j));
    case AVRO_INT32:
        if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
            json_integer_value(j) > INT32_MAX)
            goto bad;
        return avro_value_set_int(dst, (int32_t)json_integer_value(j));
    case AVRO_INT64:
        if (!json_is_integer(j))
            goto bad;
        return avro_value_set_long(dst, json_integer_value(j));
    case AVRO_FLOAT:
        if (!json_is_number(j))
            goto bad;
        return avro_value_set_float(dst, (float)json_number_value(j));
    case AVRO_DOUBLE:
        if (!json_is_number(j))
            goto bad;
        return avro_value_set_double(dst, json_number_value(j));
    case AVRO_STRING:
        if (!json_is_string(j))
            goto bad;
        return avro_value_set_string_len(dst, json_string_value(j), json_string_length(j) + 1);
    case AVRO_BYTES:
        /* JSON defaults of bytes are strings of code points 0-255; ASCII covers ours. */
        if (!json_is_string(j))
            goto bad;
        return avro_value_set_bytes(dst, (void *)json_string_value(j), json_string_length(j));
    case AVRO_ENUM: {
        int idx = json_is_string(j) ? avro_schema_enum_get_by_name(s, json_string_value(j)) : -1;
        if (idx < 0)
            goto bad;
        return avro_value_set_enum(dst, idx);
    }
    case AVRO_FIXED:
        if (!json_is_string(j) || (int64_t)json_string_length(j) != avro_schema_fixed_size(s))
            goto bad;
        return avro_value_set_fixed(dst, (void *)json_string_value(j), json_string_length(j));
    case AVRO_UNION: {
        avro_value_t br;
        if (avro_value_set_branch(dst, 0, &br) != 0)
            return -1;
        return set_default(rd, &br, avro_schema_union_branch(s, 0), j, path, depth + 1, errstr,
                           errstr_size);
    }
    case AVRO_ARRAY: {
        if (!json_is_array(j))
            goto bad;
        avro_value_reset(dst);
        size_t i;
        json_t *e;
        json_array_foreach(j, i, e)
        {
            avro_value_t child;
            if (avro_value_append(dst, &child, NULL) != 0 ||
                set_default(rd, &child, avro_schema_array_items(s), e, path, depth + 1, errstr,
                            errstr_size) != 0)
                return -1;
        }
        return 0;
    }
    case AVRO_MAP: {
        if (!json_is_object(j))
            goto bad;
        avro_value_reset(dst);
        const char *k;
        json_t *e;
        json_object_foreach(j, k, e)
        {
            avro_value_t child;
            if (avro_value_add(dst, k, &child, NULL, NULL) != 0 ||
                set_default(rd, &child, avro_schema_map_values(s), e, path, depth + 1, errstr,
                            errstr_size) != 0)
                return -1;
        }
        return 0;
    }
    case AVRO_RECORD: {
        if (!json_is_object(j))
            goto bad;
        for (size_t i = 0; i < avro_schema_record_size(s); i++) {
            const char *fname = avro_schema_record_field_name(s, (int)i);
            json_t *fj = json_object_get(j, fname);
            if (!fj)
                fj = op_codec_field_default(rd, s, fname);
            avro_value_t child;
            if (!fj || avro_value_get_by_index(dst, i, &child, NULL) != 0) {
                op_set_err(errstr, errstr_size, "%s: default lacks field %s", path, fname);
                return -1;
            }
            rc = set_default(rd, &child, avro_schema_record_field_get_by_index(s, (int)i), fj, path,
                             depth + 1, errstr, errstr_size);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    default:
        goto bad;
    }
bad:
    op_set_err(errstr, errstr_size, "%s: default value does not match the reader's %s", path,
               avro_schema_type_name(s));
    return -1;
}

int op_codec_set_defaults(const struct op_schema *s, avro_value_t *dst, char *errstr,
                          size_t errstr_size)
{
    for (size_t i = 0; i < avro_schema_record_size(s->schema); i++) {
        const char *fname = avro_schema_record_field_name(s->schema, (int)i);
        json_t *d = op_codec_field_default(s, s->schema, fname);
        avro_value_t child;
        if (!d)
            continue;
        if (avro_value_get_by_index(dst, i, &child, NULL) != 0 ||
            set_default(s, &child, avro_schema_record_field_get_by_index(s->schema, (int)i), d,
                        fname, 0, errstr, errstr_size) != 0)
            return -1;
    }
    return 0;
}

static int same_named(avro_schema_t a, avro_schema_t b)
{
    char *fa = schema_full_name(a), *fb = schema_full_name(b);
    int same = fa && fb && strcmp(fa, fb) == 0;
    free(fa);
    free(fb);
    return same;
}

/* Whether data of writer schema w can be read as reader schema r (no union on either side).
 * exact=1 accepts only the same type; exact=0 also the Avro promotions. */
static int branch_matches(avro_schema_t r, avro_schema_t w, int exact)
{
    r = deref(r);
    w = deref(w);
    avro_type_t rt = avro_typeof(r), wt = avro_typeof(w);
    if (rt == wt) {
        if (rt == AVRO_RECORD || rt == AVRO_ENUM || rt == AVRO_FIXED)
            return same_named(r, w);
        return 1;
    }
    if (exact)
        return 0;
    switch (wt) {
    case AVRO_INT32:
        return rt == AVRO_INT64 || rt == AVRO_FLOAT || rt == AVRO_DOUBLE;
    case AVRO_INT64:
        return rt == AVRO_FLOAT || rt == AVRO_DOUBLE;
    case AVRO_FLOAT:
        return rt == AVRO_DOUBLE;
    case AVRO_STRING:
        return rt == AVRO_BYTES;
    case AVRO_BYTES:
        return rt == AVRO_STRING;
    default:
        return 0;
    }
}

static int resolve(const struct op_schema *rd, avro_value_t *dst, avro_value_t *src,
                   const char *path, int depth, char *errstr, size_t errstr_size)
{
    avro_schema_t rs = deref(avro_value_get_schema(dst));
    avro_schema_t ws = deref(avro_value_get_schema(src));
    avro_type_t rt = avro_typeof(rs), wt = avro_typeof(ws);
    if (depth > MAX_DEPTH) {
        op_set_err(errstr, errstr_size, "%s: nesting too deep", path);
        return -1;
    }
    if (wt == AVRO_UNION) {
        avro_value_t branch;
        if (avro_value_get_current_branch(src, &branch) != 0)
            goto internal;
        return resolve(rd, dst, &branch, path, depth + 1, errstr, errstr_size);
    }
    if (rt == AVRO_UNION) {
        size_t n = avro_schema_union_size(rs);
        for (int exact = 1; exact >= 0; exact--)
            for (size_t i = 0; i < n; i++)
                if (branch_matches(avro_schema_union_branch(rs, (int)i), ws, exact)) {
                    avro_value_t branch;
                    if (avro_value_set_branch(dst, (int)i, &branch) != 0)
                        goto internal;
                    return resolve(rd, &branch, src, path, depth + 1, errstr, errstr_size);
                }
        op_set_err(errstr, errstr_size, "%s: no branch of the reader's union takes a %s", path,
                   avro_schema_type_name(ws));
        return -1;
    }
    if (!branch_matches(rs, ws, 0)) {
        op_set_err(errstr, errstr_size, "%s: writer's %s cannot be read as %s", path,
                   avro_schema_type_name(ws), avro_schema_type_name(rs));
        return -1;
    }

    switch (wt) {
    case AVRO_NULL:
        return avro_value_set_null(dst);
    case AVRO_BOOLEAN: {
        int b;
        return avro_value_get_boolean(src, &b) || avro_value_set_boolean(dst, b);
    }
    case AVRO_INT32:
    case AVRO_INT64: {
        int64_t v;
        int32_t v32;
        if (wt == AVRO_INT32) {
            if (avro_value_get_int(src, &v32) != 0)
                goto internal;
            v = v32;
        } else if (avro_value_get_long(src, &v) != 0)
            goto internal;
        switch (rt) {
        case AVRO_INT32:
            return avro_value_set_int(dst, (int32_t)v);
        case AVRO_INT64:
            return avro_value_set_long(dst, v);
        case AVRO_FLOAT:
            return avro_value_set_float(dst, (float)v);
        default:
            return avro_value_set_double(dst, (double)v);
        }
    }
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        float f;
        double d;
        if (wt == AVRO_FLOAT) {
            if (avro_value_get_float(src, &f) != 0)
                goto internal;
            d = f;
        } else if (avro_value_get_double(src, &d) != 0)
            goto internal;
        return rt == AVRO_FLOAT ? avro_value_set_float(dst, (float)d)
                                : avro_value_set_double(dst, d);
    }
    case AVRO_STRING:
    case AVRO_BYTES: {
        const void *p;
        size_t n;
        if (wt == AVRO_STRING) {
            const char *str;
            if (avro_value_get_string(src, &str, &n) != 0)
                goto internal;
            p = str;
            n = n ? n - 1 : 0; /* avro-c counts the NUL */
        } else if (avro_value_get_bytes(src, &p, &n) != 0)
            goto internal;
        if (rt == AVRO_BYTES)
            return avro_value_set_bytes(dst, (void *)p, n);
        if (!utf8_ok(p, n)) {
            op_set_err(errstr, errstr_size, "%s: bytes are not a UTF-8 string", path);
            return -1;
        }
        char *tmp = strndup(p, n);
        if (!tmp)
            goto internal;
        int rc = avro_value_set_string_len(dst, tmp, n + 1);
        free(tmp);
        return rc;
    }
    case AVRO_FIXED: {
        const void *p;
        size_t n;
        if (avro_schema_fixed_size(rs) != avro_schema_fixed_size(ws)) {
            op_set_err(errstr, errstr_size, "%s: fixed sizes differ", path);
            return -1;
        }
        if (avro_value_get_fixed(src, &p, &n) != 0)
            goto internal;
        return avro_value_set_fixed(dst, (void *)p, n);
    }
    case AVRO_ENUM: {
        int idx;
        if (avro_value_get_enum(src, &idx) != 0)
            goto internal;
        const char *sym = avro_schema_enum_get(ws, idx);
        int ridx = sym ? avro_schema_enum_get_by_name(rs, sym) : -1;
        if (ridx < 0) {
            /* Avro 1.9 enum default: unknown symbols map to it. */
            json_t *d = json_object_get(named_def(rd, rs), "default");
            if (json_is_string(d))
                ridx = avro_schema_enum_get_by_name(rs, json_string_value(d));
        }
        if (ridx < 0) {
            op_set_err(errstr, errstr_size, "%s: symbol %s unknown to the reader's enum %s", path,
                       sym ? sym : "?", avro_schema_name(rs));
            return -1;
        }
        return avro_value_set_enum(dst, ridx);
    }
    case AVRO_ARRAY:
    case AVRO_MAP: {
        size_t n;
        if (avro_value_get_size(src, &n) != 0)
            goto internal;
        avro_value_reset(dst);
        for (size_t i = 0; i < n; i++) {
            avro_value_t sc, dc;
            const char *key = NULL;
            if (avro_value_get_by_index(src, i, &sc, &key) != 0)
                goto internal;
            int rc = wt == AVRO_ARRAY ? avro_value_append(dst, &dc, NULL)
                                      : avro_value_add(dst, key, &dc, NULL, NULL);
            if (rc != 0)
                goto internal;
            if (resolve(rd, &dc, &sc, path, depth + 1, errstr, errstr_size) != 0)
                return -1;
        }
        return 0;
    }
    case AVRO_RECORD: {
        size_t n = avro_schema_record_size(rs);
        for (size_t i = 0; i < n; i++) {
            const char *fname = avro_schema_record_field_name(rs, (int)i);
            char fpath[256];
            snprintf(fpath, sizeof fpath, "%s%s%s", path, *path ? "." : "", fname);
            avro_value_t dc, sc;
            if (avro_value_get_by_index(dst, i, &dc, NULL) != 0)
                goto internal;
            int widx = avro_schema_record_field_get_index(ws, fname);
            if (widx >= 0) {
                if (avro_value_get_by_index(src, (size_t)widx, &sc, NULL) != 0)
                    goto internal;
                if (resolve(rd, &dc, &sc, fpath, depth + 1, errstr, errstr_size) != 0)
                    return -1;
                continue;
            }
            json_t *d = op_codec_field_default(rd, rs, fname);
            if (!d) {
                op_set_err(errstr, errstr_size,
                           "%s: the writer lacks this field and the reader has no default", fpath);
                return -1;
            }
            if (set_default(rd, &dc, avro_schema_record_field_get_by_index(rs, (int)i), d, fpath,
                            depth + 1, errstr, errstr_size) != 0)
                return -1;
        }
        return 0;
    }
    default:
        break;
    }
internal:
    op_set_err(errstr, errstr_size, "%s: avro-c: %s", path, avro_strerror());
    return -1;
}

int op_codec_resolve(const struct op_schema *reader, avro_value_t *dst, avro_value_t *src,
                     char *errstr, size_t errstr_size)
{
    return resolve(reader, dst, src, "", 0, errstr, errstr_size);
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
    char *full = name ? full_name(name, ns) : NULL;
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
        char *kf = kn ? full_name(kn, kns) : NULL;
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
    if (avro_value_read(codec->reader, wv) != 0) {
        op_set_err(errstr, errstr_size, "%s: avro-c: %s", w->name, avro_strerror());
        return OP_CODEC_ERR_MALFORMED;
    }
    if (r != w) {
        avro_value_reset(rv);
        if (resolve(r, rv, wv, "", 0, why, sizeof why) != 0) {
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
