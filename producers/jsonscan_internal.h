/* Internal to the fast JSON Lines path (jsonscan.c: the per-type field tables and the
 * record; jsonscan_scan.c: the tokenizer; jsonscan_write.c: the Avro binary and canonical
 * JSON writers): its limits, the typed value tree and the scanner's state. Not for the rest of
 * the producer, which uses jsonscan.h. */
#ifndef PRODUCER_JSONSCAN_INTERNAL_H
#define PRODUCER_JSONSCAN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>

#include "buf.h"
#include "event.h"
#include "jsonscan.h"

#define JS_NODES 96
#define JS_FIELDS 96
#define JS_VALS 512    /* values of one record: arrays count one per item */
#define JS_DEF_VALS 96 /* values of the defaults */
#define JS_MAX_ITEMS 64
#define JS_MAX_DEPTH 8
#define JS_MAX_SYMBOLS 64

enum js_kind { JS_STRING, JS_INT, JS_LONG, JS_TS, JS_ENUM, JS_UNION, JS_ARRAY, JS_RECORD, JS_BOOL };

struct js_field;

struct js_node {
    enum js_kind kind;
    avro_schema_t schema;
    /* enum: symbols and their lengths (avro-c's lookups cost a call and a strlen each) */
    int nsym;
    const char *sym[JS_MAX_SYMBOLS];
    size_t symlen[JS_MAX_SYMBOLS];
    /* union: branch numbers of null and of the other branch */
    int null_index, other_index;
    struct js_node *inner; /* union: the other branch; array: the items */
    /* record */
    size_t nf;
    struct js_field *f;
    size_t sorted[32]; /* field numbers by name: the canonical order */
};

struct js_val;

struct js_field {
    const char *name;
    size_t len;
    struct js_node *node;
    const struct js_val *def; /* NULL: required */
    int not_canonical;        /* top level: event_id and reported_at stay out of derived ids */
    int is_event_id;
};

struct js_val {
    int64_t i; /* integers; enum symbol index */
    const char *s;
    size_t n;                   /* string length; array item count */
    const struct js_val *first; /* union: the branch (NULL: null); array: first item;
                                 * record: its nf field values, consecutive */
    const struct js_val *next;  /* next array item */
};

/* Where the event's fields are (field numbers of the top-level record, -1: absent). */
enum {
    EV_ID,
    EV_OCCURRED,
    EV_REPORTED,
    EV_AGENCY,
    EV_REGION,
    EV_CAMPAIGN,
    EV_ACTIVITY,
    EV_GROUPS,
    EV_WORKERS,
    EV_HOUSEHOLDS,
    EV_STAFF,
    EV_AMOUNT,
    EV_SOURCE,
    EV_PURPOSE,
    EV_RECIPIENTS,
    EV_TARGET,
    EV_METHOD,
    EV_ENTERPRISES,
    EV_RESPONDENTS,
    EV_TOPIC,
    EV_SATISFACTION,
    EV_NEEDS,
    EV_N
};

struct js_type {
    struct js_node *root; /* NULL: this type always takes the generic path */
    int ev[EV_N];
    int note; /* field number of the optional free-text note (v2, nullable), or -1 */
    /* Field numbers of correction (int), retracted (boolean) and correction_reason (nullable
     * string): visit.v3, funding.v3, survey.v2; -1 when the reader schema has none. */
    int correction, retracted, reason;
};

struct producer_jscan {
    struct js_type type[OP_EVENT_TYPES];
    struct js_node nodes[JS_NODES];
    size_t n_nodes;
    struct js_field fields[JS_FIELDS];
    size_t n_fields;
    struct js_val defs[JS_DEF_VALS];
    size_t n_defs;
    /* per record */
    struct js_val vals[JS_VALS];
    size_t n_vals;
    const char *end;
    int type_first; /* "type" came first: skip it among the members */
    int utf8_valid; /* the caller checked the whole text */
    struct op_buf canon, msg, strs, unesc;
};

/* ---- jsonscan.c ---- */

/* The index of enum symbol s (n bytes) among nd's symbols, or -1. */
int producer_js_sym_index(const struct js_node *nd, const char *s, size_t n);

/* ---- jsonscan_scan.c ---- */

/* p past any JSON whitespace (never past end). */
const char *producer_js_ws(const char *p, const char *end);

/* A string without control characters, in valid UTF-8: *s, *n (into the text, or decoded
 * into js->unesc when it has escapes); returns the byte after its closing quote, or NULL.
 * p is at the opening quote. */
const char *producer_js_str(struct producer_jscan *js, const char *p, const char *end,
                            const char **s, size_t *n);

/* An object's members into the record's field values (which the caller allocated, nf of
 * them); absent fields take their defaults. At the top, a "type" read by find_type is skipped. */
const char *producer_js_members(struct producer_jscan *js, const struct js_node *nd, const char *p,
                                struct js_val *fv, int top, int depth);

/* ---- jsonscan_write.c ---- */

/* Avro binary of v, as avro-c's avro_value_write writes it. */
int producer_js_encode(struct op_buf *b, const struct js_node *nd, const struct js_val *v);

/* Appends the canonical JSON of v, the content of derived ids: record fields in name order,
 * a field equal to its default left out, and at the top (top 1) event_id and reported_at
 * too. Returns 0, or -1 when out of memory. */
int producer_js_canon(struct op_buf *b, const struct js_node *nd, const struct js_val *v, int top);

#endif
