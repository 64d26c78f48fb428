/* Fast JSON Lines records: one pass over the text into a small value tree typed by the reader
 * schema, then Avro binary, the canonical content of derived ids and the event, written
 * directly. Whatever it does not handle, or finds invalid, goes to the generic path.
 * Here: the per-type field tables built from the reader schemas, and the record (type, scan,
 * checks, derived id, encoding); the tokenizer is jsonscan_scan.c, the writers
 * jsonscan_write.c. */
#include "jsonscan.h"

#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "input.h"
#include "jsonscan_internal.h"
#include "kafka.h"
#include "sha256.h"

static const char *const ev_names[EV_N] = {
    "event_id",    "occurred_at",   "reported_at",     "agency_id",    "region", "campaign",
    "activity",    "target_groups", "workers_reached", "households",   "staff",  "amount_fen",
    "source",      "purpose",       "recipients",      "target_group", "method", "enterprises",
    "respondents", "topic",         "satisfaction",    "needs"};

/* Per event field: its kind, the kind of its items (-1: none), the type it belongs to (-1:
 * every type). */
static const int ev_kinds[EV_N][3] = {{JS_STRING, -1, -1},
                                      {JS_TS, -1, -1},
                                      {JS_TS, -1, -1},
                                      {JS_STRING, -1, -1},
                                      {JS_STRING, -1, -1},
                                      {JS_STRING, -1, -1},
                                      {JS_ENUM, -1, OP_EVENT_VISIT},
                                      {JS_ARRAY, JS_ENUM, OP_EVENT_VISIT},
                                      {JS_INT, -1, OP_EVENT_VISIT},
                                      {JS_INT, -1, OP_EVENT_VISIT},
                                      {JS_INT, -1, OP_EVENT_VISIT},
                                      {JS_LONG, -1, OP_EVENT_FUNDING},
                                      {JS_ENUM, -1, OP_EVENT_FUNDING},
                                      {JS_ENUM, -1, OP_EVENT_FUNDING},
                                      {JS_INT, -1, OP_EVENT_FUNDING},
                                      {JS_ENUM, -1, OP_EVENT_FUNDING},
                                      {JS_ENUM, -1, OP_EVENT_SURVEY},
                                      {JS_INT, -1, OP_EVENT_SURVEY},
                                      {JS_INT, -1, OP_EVENT_SURVEY},
                                      {JS_ENUM, -1, OP_EVENT_SURVEY},
                                      {JS_RECORD, -1, OP_EVENT_SURVEY},
                                      {JS_ARRAY, JS_RECORD, OP_EVENT_SURVEY}};

/* ---- tables ----------------------------------------------------------------------------- */

static avro_schema_t deref(avro_schema_t s)
{
    while (s && is_avro_link(s))
        s = avro_schema_link_target(s);
    return s;
}

static struct js_node *build(struct producer_jscan *js, const struct op_schema *os, avro_schema_t s,
                             int ts, int depth);

static struct js_val *def_val(struct producer_jscan *js, size_t n)
{
    if (js->n_defs + n > JS_DEF_VALS)
        return NULL;
    struct js_val *v = &js->defs[js->n_defs];
    js->n_defs += n;
    memset(v, 0, n * sizeof *v);
    return v;
}

int producer_js_sym_index(const struct js_node *nd, const char *s, size_t n)
{
    for (int k = 0; k < nd->nsym; k++)
        if (nd->symlen[k] == n && memcmp(nd->sym[k], s, n) == 0)
            return k;
    return -1;
}

/* A schema default (JSON) as a value, as op_avrojson_from_json would read it. */
static int from_default(struct producer_jscan *js, const struct js_node *nd, json_t *j,
                        struct js_val *v, int depth)
{
    if (depth > JS_MAX_DEPTH)
        return -1;
    switch (nd->kind) {
    case JS_STRING:
        if (!json_is_string(j) || memchr(json_string_value(j), 0, json_string_length(j)))
            return -1;
        v->s = json_string_value(j);
        v->n = json_string_length(j);
        return 0;
    case JS_INT:
        if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
            json_integer_value(j) > INT32_MAX)
            return -1;
        v->i = json_integer_value(j);
        return 0;
    case JS_LONG:
    case JS_TS:
        if (!json_is_integer(j))
            return -1;
        v->i = json_integer_value(j);
        return 0;
    case JS_ENUM:
        if (!json_is_string(j))
            return -1;
        v->i = producer_js_sym_index(nd, json_string_value(j), json_string_length(j));
        return v->i < 0 ? -1 : 0;
    case JS_BOOL:
        if (!json_is_boolean(j))
            return -1;
        v->i = json_is_true(j);
        return 0;
    case JS_UNION: {
        if (json_is_null(j)) {
            v->first = NULL;
            return 0;
        }
        struct js_val *b = def_val(js, 1);
        v->first = b;
        return b ? from_default(js, nd->inner, j, b, depth + 1) : -1;
    }
    case JS_ARRAY: {
        if (!json_is_array(j))
            return -1;
        struct js_val *prev = NULL;
        for (size_t k = 0; k < json_array_size(j); k++) {
            struct js_val *it = def_val(js, 1);
            if (!it || from_default(js, nd->inner, json_array_get(j, k), it, depth + 1) != 0)
                return -1;
            if (prev)
                prev->next = it;
            else
                v->first = it;
            prev = it;
            v->n++;
        }
        return 0;
    }
    case JS_RECORD: {
        if (!json_is_object(j))
            return -1;
        const char *key;
        json_t *val;
        json_object_foreach(j, key, val)
        {
            size_t k = 0;
            while (k < nd->nf && strcmp(nd->f[k].name, key) != 0)
                k++;
            if (k == nd->nf)
                return -1;
        }
        struct js_val *fv = def_val(js, nd->nf);
        if (!fv)
            return -1;
        v->first = fv;
        for (size_t k = 0; k < nd->nf; k++) {
            json_t *fj = json_object_get(j, nd->f[k].name);
            if (!fj) {
                if (!nd->f[k].def)
                    return -1;
                fv[k] = *nd->f[k].def;
            } else if (from_default(js, nd->f[k].node, fj, &fv[k], depth + 1) != 0)
                return -1;
        }
        return 0;
    }
    }
    return -1;
}

static int cmp_name(const void *a, const void *b, const struct js_node *nd)
{
    return strcmp(nd->f[*(const size_t *)a].name, nd->f[*(const size_t *)b].name);
}

static struct js_node *build_record(struct producer_jscan *js, const struct op_schema *os,
                                    avro_schema_t s, int depth)
{
    size_t nf = avro_schema_record_size(s);
    if (nf > 32 || js->n_fields + nf > JS_FIELDS || js->n_nodes >= JS_NODES)
        return NULL;
    struct js_node *nd = &js->nodes[js->n_nodes++];
    memset(nd, 0, sizeof *nd);
    nd->kind = JS_RECORD;
    nd->schema = s;
    nd->nf = nf;
    nd->f = &js->fields[js->n_fields];
    js->n_fields += nf;
    for (size_t k = 0; k < nf; k++) {
        struct js_field *f = &nd->f[k];
        f->name = avro_schema_record_field_name(s, (int)k);
        f->len = strlen(f->name);
        f->is_event_id = depth == 0 && strcmp(f->name, "event_id") == 0;
        f->not_canonical = f->is_event_id || (depth == 0 && strcmp(f->name, "reported_at") == 0);
        f->node = build(js, os, avro_schema_record_field_get_by_index(s, (int)k), 0, depth + 1);
        if (!f->node)
            return NULL;
        f->def = NULL;
    }
    for (size_t k = 0; k < nf; k++) {
        json_t *d = op_codec_field_default(os, s, nd->f[k].name);
        if (!d)
            continue;
        struct js_val *v = def_val(js, 1);
        if (!v || from_default(js, nd->f[k].node, d, v, 0) != 0)
            return NULL;
        nd->f[k].def = v;
    }
    for (size_t k = 0; k < nf; k++)
        nd->sorted[k] = k;
    /* Insertion sort: a few fields, and qsort has no context argument. */
    for (size_t k = 1; k < nf; k++)
        for (size_t m = k; m > 0 && cmp_name(&nd->sorted[m - 1], &nd->sorted[m], nd) > 0; m--) {
            size_t t = nd->sorted[m];
            nd->sorted[m] = nd->sorted[m - 1];
            nd->sorted[m - 1] = t;
        }
    return nd;
}

static struct js_node *build(struct producer_jscan *js, const struct op_schema *os, avro_schema_t s,
                             int ts, int depth)
{
    s = deref(s);
    if (depth > JS_MAX_DEPTH)
        return NULL;
    if (is_avro_record(s))
        return build_record(js, os, s, depth);
    if (js->n_nodes >= JS_NODES)
        return NULL;
    struct js_node *nd = &js->nodes[js->n_nodes++];
    memset(nd, 0, sizeof *nd);
    nd->schema = s;
    if (is_avro_string(s))
        nd->kind = JS_STRING;
    else if (is_avro_int32(s))
        nd->kind = JS_INT;
    else if (is_avro_int64(s))
        nd->kind = ts ? JS_TS : JS_LONG;
    else if (is_avro_boolean(s))
        nd->kind = JS_BOOL;
    else if (is_avro_enum(s)) {
        nd->kind = JS_ENUM;
        nd->nsym = avro_schema_enum_number_of_symbols(s);
        if (nd->nsym > JS_MAX_SYMBOLS)
            return NULL;
        for (int k = 0; k < nd->nsym; k++) {
            nd->sym[k] = avro_schema_enum_get(s, k);
            nd->symlen[k] = strlen(nd->sym[k]);
        }
    } else if (is_avro_union(s) && avro_schema_union_size(s) == 2) {
        /* Only [null, X] (either order): the generic path's "nullable" reading. */
        nd->kind = JS_UNION;
        nd->null_index = -1;
        for (int b = 0; b < 2; b++)
            if (is_avro_null(deref(avro_schema_union_branch(s, b))))
                nd->null_index = b;
        if (nd->null_index < 0)
            return NULL;
        nd->other_index = 1 - nd->null_index;
        avro_schema_t o = deref(avro_schema_union_branch(s, nd->other_index));
        if (is_avro_union(o))
            return NULL;
        nd->inner = build(js, os, o, 0, depth + 1);
        if (!nd->inner)
            return NULL;
    } else if (is_avro_array(s)) {
        nd->kind = JS_ARRAY;
        nd->inner = build(js, os, avro_schema_array_items(s), 0, depth + 1);
        if (!nd->inner)
            return NULL;
    } else
        return NULL;
    return nd;
}

struct producer_jscan *producer_jscan_new(const struct producer_conv *conv)
{
    struct producer_jscan *js = calloc(1, sizeof *js);
    if (!js)
        return NULL;
    for (int t = 0; t < OP_EVENT_TYPES; t++) {
        const struct op_schema *os = conv->reader[t];
        struct js_type *ty = &js->type[t];
        size_t save_nodes = js->n_nodes, save_fields = js->n_fields, save_defs = js->n_defs;
        struct js_node *root = build_record(js, os, os->schema, 0);
        if (root) {
            /* Timestamp fields: integer milliseconds or RFC 3339 text, at the top level only. */
            for (size_t k = 0; k < root->nf; k++)
                if (conv->is_ts[t][k] && root->f[k].node->kind == JS_LONG)
                    root->f[k].node->kind = JS_TS;
            ty->note = -1;
            for (size_t k = 0; k < root->nf; k++) {
                const struct js_node *fn = root->f[k].node;
                if (strcmp(root->f[k].name, "note") == 0 &&
                    (fn->kind == JS_STRING ||
                     (fn->kind == JS_UNION && fn->inner->kind == JS_STRING)))
                    ty->note = (int)k;
            }
            ty->correction = ty->retracted = ty->reason = -1;
            for (size_t k = 0; k < root->nf; k++) {
                const struct js_node *fn = root->f[k].node;
                const char *fname = root->f[k].name;
                if (!strcmp(fname, "correction") && fn->kind == JS_INT)
                    ty->correction = (int)k;
                else if (!strcmp(fname, "retracted") && fn->kind == JS_BOOL)
                    ty->retracted = (int)k;
                else if (!strcmp(fname, "correction_reason") && fn->kind == JS_UNION &&
                         fn->inner->kind == JS_STRING)
                    ty->reason = (int)k;
            }
            /* All three or none, as op_event_from_value reads them. */
            if ((ty->correction < 0) != (ty->retracted < 0) ||
                (ty->correction < 0) != (ty->reason < 0))
                root = NULL;
            for (int e = 0; e < EV_N; e++) {
                ty->ev[e] = -1;
                for (size_t k = 0; k < root->nf; k++)
                    if (strcmp(root->f[k].name, ev_names[e]) == 0)
                        ty->ev[e] = (int)k;
            }
            /* What op_event_from_value reads must be there, with the kinds it reads. */
            for (int e = 0; root && e < EV_N; e++) {
                int want = ev_kinds[e][0], k = ty->ev[e];
                if (ev_kinds[e][2] != -1 && ev_kinds[e][2] != t)
                    continue;
                const struct js_node *fn = k >= 0 ? root->f[k].node : NULL;
                if (fn && e == EV_CAMPAIGN && fn->kind == JS_UNION)
                    fn = fn->inner;
                if (!fn || (int)fn->kind != want ||
                    (ev_kinds[e][1] >= 0 && (int)fn->inner->kind != ev_kinds[e][1]))
                    root = NULL;
            }
        }
        if (!root) {
            js->n_nodes = save_nodes;
            js->n_fields = save_fields;
            js->n_defs = save_defs;
        }
        ty->root = root;
    }
    return js;
}

void producer_jscan_destroy(struct producer_jscan *js)
{
    if (!js)
        return;
    op_buf_free(&js->canon);
    op_buf_free(&js->msg);
    op_buf_free(&js->strs);
    op_buf_free(&js->unesc);
    free(js);
}

/* ---- the record ------------------------------------------------------------------------- */

/* The type named at the start (the common case) or anywhere among the top-level members. */
static int find_type(struct producer_jscan *js, const struct producer_conv *conv, const char *p,
                     const char *end)
{
    p = producer_js_ws(p, end);
    if (p >= end || *p != '{')
        return -1;
    p = producer_js_ws(p + 1, end);
    const char *k, *s;
    size_t kn, n;
    if (p < end && *p == '"' && (p = producer_js_str(js, p, end, &k, &kn)) && kn == 4 &&
        memcmp(k, "type", 4) == 0) {
        p = producer_js_ws(p, end);
        if (p >= end || *p != ':')
            return -1;
        p = producer_js_ws(p + 1, end);
        if (p >= end || *p != '"' || !producer_js_str(js, p, end, &s, &n))
            return -1;
        if (n == 0)
            return conv->default_type;
        for (int t = 0; t < OP_EVENT_TYPES; t++) {
            const char *tn = op_event_type_name((enum op_event_type)t);
            if (strlen(tn) == n && memcmp(tn, s, n) == 0)
                return t;
        }
        return -1;
    }
    /* Not first: the default type, if any; a "type" further on leaves the record to the
     * generic path (producer_js_members() refuses it). */
    return -2;
}

/* A NUL-terminated copy of a string value for struct op_event (offset into js->strs). */
static int keep_str(struct producer_jscan *js, const struct js_val *v, size_t *off)
{
    *off = js->strs.len;
    return op_buf_append(&js->strs, v->s, v->n) || op_buf_append(&js->strs, "", 1);
}

int producer_jscan_convert(struct producer_jscan *js, const struct producer_conv *conv,
                           const char *text, size_t len, int64_t now_ms, struct producer_rec *out)
{
    const char *end = text + len;
    /* Decoded strings are never longer than the text: reserved once, they stay put. */
    js->utf8_valid = conv->text_utf8_valid;
    js->unesc.len = 0;
    if (op_buf_reserve(&js->unesc, len + 1) != 0)
        return 0;
    int t = find_type(js, conv, text, end);
    js->type_first = t >= 0;
    if (t == -2)
        t = conv->default_type;
    if (t < 0 || !js->type[t].root)
        return 0;
    const struct js_type *ty = &js->type[t];
    const struct js_node *root = ty->root;
    const struct op_schema *s = conv->reader[t];
    js->end = end;
    js->n_vals = 0;
    struct js_val top;
    memset(&top, 0, sizeof top);
    const char *p = producer_js_ws(text, end);
    if (p >= end || *p != '{')
        return 0;
    top.first = &js->vals[0];
    memset(js->vals, 0, root->nf * sizeof js->vals[0]);
    js->n_vals = root->nf;
    if (!(p = producer_js_members(js, root, p + 1, js->vals, 1, 0)))
        return 0;
    if (producer_js_ws(p, end) != end)
        return 0;
    struct js_val *fv = js->vals;
    struct js_val *idv = &fv[ty->ev[EV_ID]];
    int derive = idv->s == NULL;
    if (derive) {
        /* The canonical content does not include event_id: derive first, as record.c does. */
        struct op_buf *c = &js->canon;
        c->len = 0;
        if (op_buf_append(c, PRODUCER_ID_DOMAIN "\n", sizeof PRODUCER_ID_DOMAIN) ||
            op_buf_append(c, s->type, strlen(s->type)) || op_buf_append(c, "\n", 1) ||
            producer_js_canon(c, root, &top, 1) != 0)
            return 0;
        unsigned char d[OP_SHA256_SIZE];
        op_sha256(c->data, c->len, d);
        memcpy(out->id, PRODUCER_ID_PREFIX, sizeof PRODUCER_ID_PREFIX - 1);
        op_sha256_hex(d, PRODUCER_ID_HEX / 2, out->id + sizeof PRODUCER_ID_PREFIX - 1);
        idv->s = out->id;
        idv->n = strlen(out->id);
    }
    /* The event, as op_event_from_value reads the value. */
    struct op_event *ev = &out->ev;
    memset(ev, 0, sizeof *ev);
    ev->type = (enum op_event_type)t;
    js->strs.len = 0;
    size_t o_id, o_agency, o_region, o_campaign = 0;
    const struct js_val *camp = &fv[ty->ev[EV_CAMPAIGN]];
    const struct js_node *camp_nd = root->f[ty->ev[EV_CAMPAIGN]].node;
    if (camp_nd->kind == JS_UNION)
        camp = camp->first;
    else if (camp_nd->kind != JS_STRING)
        return 0;
    /* The note, as op_event_validate checks it: NULL when null. */
    size_t o_note = 0;
    const struct js_val *note = ty->note >= 0 ? &fv[ty->note] : NULL;
    if (note && root->f[ty->note].node->kind == JS_UNION)
        note = note->first;
    if (note && !note->s)
        note = NULL;
    /* Corrections, as op_event_from_value reads them (correction_reason NULL when null). */
    const struct js_val *why = ty->reason >= 0 ? fv[ty->reason].first : NULL;
    size_t o_why = 0;
    if (ty->correction >= 0) {
        ev->correction = (int32_t)fv[ty->correction].i;
        ev->retracted = fv[ty->retracted].i != 0;
    }
    /* A correction names the event it corrects: the generic path says so. */
    if (derive && ev->correction > 0)
        return 0;
    if (keep_str(js, &fv[ty->ev[EV_ID]], &o_id) || (why && keep_str(js, why, &o_why)) ||
        keep_str(js, &fv[ty->ev[EV_AGENCY]], &o_agency) ||
        keep_str(js, &fv[ty->ev[EV_REGION]], &o_region) ||
        (camp && keep_str(js, camp, &o_campaign)) || (note && keep_str(js, note, &o_note)))
        return 0;
    const char *base = (const char *)js->strs.data;
    ev->event_id = base + o_id;
    ev->agency_id = base + o_agency;
    ev->region_text = base + o_region;
    ev->campaign = camp ? base + o_campaign : NULL;
    ev->note = note ? base + o_note : NULL;
    ev->correction_reason = why ? base + o_why : NULL;
    ev->occurred_at = fv[ty->ev[EV_OCCURRED]].i;
    ev->reported_at = fv[ty->ev[EV_REPORTED]].i;
    if (op_regions_parse_code(ev->region_text, &ev->region) != 0)
        ev->region = 0;
/* Kinds were checked when the tables were built (ev_kinds). */
#define INT_OF(e) (fv[ty->ev[e]].i)
    switch (ev->type) {
    case OP_EVENT_VISIT: {
        const struct js_val *g = &fv[ty->ev[EV_GROUPS]];
        if (root->f[ty->ev[EV_GROUPS]].node->kind != JS_ARRAY ||
            root->f[ty->ev[EV_GROUPS]].node->inner->kind != JS_ENUM || g->n > OP_EVENT_MAX_GROUPS)
            return 0;
        for (const struct js_val *i = g->first; i; i = i->next)
            ev->groups[ev->n_groups++] = (int)i->i;
        ev->activity = (int)INT_OF(EV_ACTIVITY);
        ev->workers_reached = (int32_t)INT_OF(EV_WORKERS);
        ev->households = (int32_t)INT_OF(EV_HOUSEHOLDS);
        ev->staff = (int32_t)INT_OF(EV_STAFF);
        break;
    }
    case OP_EVENT_FUNDING:
        if (root->f[ty->ev[EV_AMOUNT]].node->kind != JS_LONG)
            return 0;
        ev->amount_fen = fv[ty->ev[EV_AMOUNT]].i;
        ev->source = (int)INT_OF(EV_SOURCE);
        ev->purpose = (int)INT_OF(EV_PURPOSE);
        ev->recipients = (int32_t)INT_OF(EV_RECIPIENTS);
        ev->target_group = (int)INT_OF(EV_TARGET);
        break;
    case OP_EVENT_SURVEY: {
        ev->method = (int)INT_OF(EV_METHOD);
        ev->topic = (int)INT_OF(EV_TOPIC);
        ev->enterprises = (int32_t)INT_OF(EV_ENTERPRISES);
        ev->respondents = (int32_t)INT_OF(EV_RESPONDENTS);
        const struct js_node *sn = root->f[ty->ev[EV_SATISFACTION]].node;
        const struct js_val *sv = &fv[ty->ev[EV_SATISFACTION]];
        if (sn->kind != JS_RECORD)
            return 0;
        static const char *const s_names[5] = {"s1", "s2", "s3", "s4", "s5"};
        for (int i = 0; i < 5; i++) {
            size_t k = 0;
            while (k < sn->nf && strcmp(sn->f[k].name, s_names[i]) != 0)
                k++;
            if (k == sn->nf || sn->f[k].node->kind != JS_INT)
                return 0;
            ev->satisfaction[i] = (int32_t)sv->first[k].i;
        }
        const struct js_node *nn = root->f[ty->ev[EV_NEEDS]].node;
        const struct js_val *nv = &fv[ty->ev[EV_NEEDS]];
        if (nn->kind != JS_ARRAY || nn->inner->kind != JS_RECORD || nv->n > OP_EVENT_MAX_NEEDS)
            return 0;
        const struct js_node *item = nn->inner;
        int k_need = -1, k_count = -1;
        for (size_t k = 0; k < item->nf; k++) {
            if (strcmp(item->f[k].name, "need") == 0 && item->f[k].node->kind == JS_ENUM)
                k_need = (int)k;
            if (strcmp(item->f[k].name, "count") == 0 && item->f[k].node->kind == JS_INT)
                k_count = (int)k;
        }
        if (k_need < 0 || k_count < 0)
            return 0;
        for (const struct js_val *i = nv->first; i; i = i->next, ev->n_needs++) {
            ev->needs[ev->n_needs].kind = (int)i->first[k_need].i;
            ev->needs[ev->n_needs].count = (int32_t)i->first[k_count].i;
        }
        break;
    }
    }
#undef INT_OF
    struct op_event_rules rules = {conv->regions, conv->authz, now_ms, conv->max_future_ms};
    char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX];
    if (op_event_validate(ev, &rules, field, sizeof field, reason, sizeof reason) !=
            OP_EVENT_VALID ||
        op_kafka_province_key(ev->region_text, out->key) != 0)
        return 0;
    /* The message: the header of wire.format (frame.h), then the body. */
    struct op_buf *m = &js->msg;
    m->len = 0;
    if (op_buf_reserve(m, len + OP_FRAME_HEADER_MAX) != 0 ||
        !(m->len = op_frame_header(conv->frame, s, m->data)))
        return 0;
    if (producer_js_encode(m, root, &top) != 0)
        return 0;
    out->type = (enum op_event_type)t;
    out->schema = s;
    out->value = NULL;
    out->derived = derive;
    if (!derive)
        out->id[0] = 0;
    out->msg = m->data;
    out->msg_len = m->len;
    return 1;
}
