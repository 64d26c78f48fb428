/* Avro codec, Parsing Canonical Form: the canonical JSON of a schema (whose CRC-64-AVRO is its
 * fingerprint) and the table of named types kept for defaults. */
#include "codec.h"

#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"
#include "err.h"

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
char *op_codec_full_name(const char *name, const char *ns)
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
    if (depth > OP_CODEC_MAX_DEPTH) {
        op_set_err(errstr, errstr_size, "schema nested deeper than %d", OP_CODEC_MAX_DEPTH);
        return NULL;
    }
    if (json_is_string(s)) {
        const char *t = json_string_value(s);
        if (is_primitive(t))
            return json_string(t);
        char *fn = op_codec_full_name(t, ns);
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
    char *fn = op_codec_full_name(json_string_value(jname), own_ns);
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
char *op_codec_pcf_text(json_t *root, json_t **names_out, char *errstr, size_t errstr_size)
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
    char *text = op_codec_pcf_text(root, NULL, errstr, errstr_size);
    json_decref(root);
    if (!text)
        return -1;
    *out = text;
    return 0;
}
