/* The sink's audit entries: validation of POST /audit bodies, a bounded in-memory set (a ring
 * in arrival order plus a map by (event_id, correction_to)), and the per-region listing. */
#include "audit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "map.h"

struct entry {
    char *text;      /* compact JSON */
    char *id;        /* "CORRECTION_TO|EVENT_ID" */
    uint32_t *codes; /* every change's region and its ancestors, no repeats */
    size_t n_codes;
    int64_t applied_at;
    uint64_t seq; /* arrival */
};

struct sink_audit {
    const struct op_regions *regions;
    size_t max;
    struct entry **ring; /* ring[(head + i) % max], i < count: oldest first */
    size_t head, count;
    struct op_map *ids; /* id → entry */
    uint64_t seq;
    struct sink_audit_stats st;
};

struct sink_audit *sink_audit_new(size_t max, const struct op_regions *regions)
{
    struct sink_audit *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->max = max ? max : SINK_AUDIT_MAX_DEFAULT;
    a->regions = regions;
    a->ring = calloc(a->max, sizeof *a->ring);
    a->ids = op_map_new();
    if (!a->ring || !a->ids) {
        sink_audit_destroy(a);
        return NULL;
    }
    return a;
}

static void entry_free(struct entry *e)
{
    if (!e)
        return;
    free(e->text);
    free(e->id);
    free(e->codes);
    free(e);
}

void sink_audit_destroy(struct sink_audit *a)
{
    if (!a)
        return;
    for (size_t i = 0; a->ring && i < a->count; i++)
        entry_free(a->ring[(a->head + i) % a->max]);
    free(a->ring);
    op_map_destroy(a->ids, NULL);
    free(a);
}

/* ---- validation ------------------------------------------------------------------------- */

static int one_of(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

static int is_int_in(json_t *v, json_int_t lo, json_int_t hi)
{
    return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

/* A text field: a string of 1..max bytes. */
static int is_text(json_t *v, size_t max)
{
    return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= max;
}

static int check_change(const struct sink_audit *a, json_t *c, char *why, size_t size)
{
    static const char *const kinds[] = {"DAY", "MONTH", "CAMPAIGN", "ALL", NULL};
    static const char *const levels[] = {"PROVINCE", "PREFECTURE", "COUNTY", NULL};
    if (!json_is_object(c)) {
        op_set_err(why, size, ": not an object");
        return -1;
    }
    json_t *region = json_object_get(c, "region"), *level = json_object_get(c, "level");
    json_t *deltas = json_object_get(c, "deltas");
    uint32_t code;
    if (!one_of(json_string_value(json_object_get(c, "window_kind")), kinds)) {
        op_set_err(why, size, ".window_kind: DAY, MONTH, CAMPAIGN or ALL");
        return -1;
    }
    if (!is_text(json_object_get(c, "window"), 256)) {
        op_set_err(why, size, ".window: a string of 1 to 256 bytes");
        return -1;
    }
    if (!json_is_string(region) || op_regions_parse_code(json_string_value(region), &code) != 0) {
        op_set_err(why, size, ".region: a six-digit code");
        return -1;
    }
    if (!one_of(json_string_value(level), levels)) {
        op_set_err(why, size, ".level: PROVINCE, PREFECTURE or COUNTY");
        return -1;
    }
    if (a->regions) {
        const struct op_region *r = op_regions_find(a->regions, code);
        if (!r) {
            op_set_err(why, size, ".region: %06u is not in the region table", (unsigned)code);
            return -1;
        }
        if (strcmp(levels[r->level - 1], json_string_value(level)) != 0) {
            op_set_err(why, size, ".level: %06u is a %s", (unsigned)code, levels[r->level - 1]);
            return -1;
        }
    }
    if (!json_is_object(deltas)) {
        op_set_err(why, size, ".deltas: not an object");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(deltas, k, v) if (!json_is_integer(v))
    {
        op_set_err(why, size, ".deltas.%.64s: not an integer", k);
        return -1;
    }
    return 0;
}

/* Checks one entry; "FIELD: reason" (FIELD relative to the entry) into why. */
static int check_entry(const struct sink_audit *a, json_t *e, char *why, size_t size)
{
    static const char *const types[] = {"VISIT", "FUNDING", "SURVEY", NULL};
    if (!json_is_object(e)) {
        op_set_err(why, size, ": not an object");
        return -1;
    }
    json_t *from = json_object_get(e, "correction_from"), *to = json_object_get(e, "correction_to");
    json_t *reason = json_object_get(e, "reason"), *changes = json_object_get(e, "changes");
    const char *bad = NULL;
    if (!is_text(json_object_get(e, "event_id"), SINK_AUDIT_ID_MAX))
        bad = ".event_id: a string of 1 to 256 bytes";
    else if (!one_of(json_string_value(json_object_get(e, "event_type")), types))
        bad = ".event_type: VISIT, FUNDING or SURVEY";
    else if (!is_text(json_object_get(e, "agency_id"), 256))
        bad = ".agency_id: a string of 1 to 256 bytes";
    else if (!is_int_in(to, 1, INT32_MAX))
        bad = ".correction_to: an integer from 1 to 2147483647";
    else if (from && !json_is_null(from) && !is_int_in(from, 0, json_integer_value(to) - 1))
        bad = ".correction_from: null or an integer from 0 to correction_to - 1";
    else if (!json_is_boolean(json_object_get(e, "retracted")))
        bad = ".retracted: true or false";
    else if (reason && !json_is_null(reason) && !json_is_string(reason))
        bad = ".reason: null or a string";
    else if (!json_is_integer(json_object_get(e, "reported_at")))
        bad = ".reported_at: an integer (ms since the epoch)";
    else if (!json_is_integer(json_object_get(e, "applied_at")))
        bad = ".applied_at: an integer (ms since the epoch)";
    else if (!is_int_in(json_object_get(e, "source_partition"), 0, INT32_MAX))
        bad = ".source_partition: an integer >= 0";
    else if (!is_int_in(json_object_get(e, "source_offset"), 0, INT64_MAX))
        bad = ".source_offset: an integer >= 0";
    else if (!json_is_array(changes) || json_array_size(changes) > SINK_AUDIT_CHANGES_MAX)
        bad = ".changes: an array of at most 4096 changes";
    if (bad) {
        op_set_err(why, size, "%s", bad);
        return -1;
    }
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        char inner[160];
        if (check_change(a, c, inner, sizeof inner) != 0) {
            op_set_err(why, size, ".changes[%zu]%s", i, inner);
            return -1;
        }
    }
    return 0;
}

/* ---- the set ---------------------------------------------------------------------------- */

static int add_code(struct entry *e, uint32_t code)
{
    for (size_t i = 0; i < e->n_codes; i++)
        if (e->codes[i] == code)
            return 0;
    uint32_t *p = realloc(e->codes, (e->n_codes + 1) * sizeof *p);
    if (!p)
        return -1;
    e->codes = p;
    e->codes[e->n_codes++] = code;
    return 0;
}

/* A new entry of a checked JSON object, or NULL (allocation). */
static struct entry *entry_new(const struct sink_audit *a, json_t *j, const char *id)
{
    struct entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    e->id = strdup(id);
    e->applied_at = json_integer_value(json_object_get(j, "applied_at"));
    if (!e->text || !e->id)
        goto fail;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(j, "changes"), i, c)
    {
        uint32_t code;
        if (op_regions_parse_code(json_string_value(json_object_get(c, "region")), &code) != 0)
            continue;
        const struct op_region *chain[3];
        size_t n = a->regions ? op_regions_chain(a->regions, code, chain) : 0;
        if (add_code(e, code) != 0)
            goto fail;
        for (size_t k = 0; k < n; k++)
            if (add_code(e, chain[k]->code) != 0)
                goto fail;
    }
    return e;
fail:
    entry_free(e);
    return NULL;
}

static void entry_id(json_t *j, char *id, size_t size)
{
    snprintf(id, size, "%" JSON_INTEGER_FORMAT "|%s",
             json_integer_value(json_object_get(j, "correction_to")),
             json_string_value(json_object_get(j, "event_id")));
}

/* Keeps e (taking it), evicting the oldest entry when full. 0 or -1 (allocation: e freed). */
static int keep(struct sink_audit *a, struct entry *e)
{
    if (a->count == a->max) {
        struct entry *old = a->ring[a->head];
        op_map_remove(a->ids, old->id, strlen(old->id));
        entry_free(old);
        a->ring[a->head] = NULL;
        a->head = (a->head + 1) % a->max;
        a->count--;
        a->st.evicted++;
    }
    if (op_map_put(a->ids, e->id, strlen(e->id), e, NULL) != 0) {
        entry_free(e);
        return -1;
    }
    e->seq = ++a->seq;
    a->ring[(a->head + a->count) % a->max] = e;
    a->count++;
    return 0;
}

int sink_audit_apply(struct sink_audit *a, const char *body, size_t len, size_t *received,
                     size_t *added, char *errstr, size_t errstr_size)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *entries = json_object_get(doc, "entries");
    size_t n_added = 0, i;
    json_t *e;
    int rc = -1;
    if (received)
        *received = 0;
    if (added)
        *added = 0;
    if (!doc) {
        op_set_err(errstr, errstr_size, "not JSON: line %d: %s", jerr.line, jerr.text);
        goto done;
    }
    if (!json_is_array(entries)) {
        op_set_err(errstr, errstr_size, "expected {\"entries\":[...]}");
        goto done;
    }
    json_array_foreach(entries, i, e)
    {
        char why[256];
        if (check_entry(a, e, why, sizeof why) != 0) {
            op_set_err(errstr, errstr_size, "entries[%zu]%s", i, why);
            goto done;
        }
    }
    rc = 0;
    json_array_foreach(entries, i, e)
    {
        char id[SINK_AUDIT_ID_MAX + 16];
        entry_id(e, id, sizeof id);
        if (op_map_get(a->ids, id, strlen(id))) {
            a->st.duplicates++;
            continue;
        }
        struct entry *en = entry_new(a, e, id);
        if (!en || keep(a, en) != 0) {
            op_set_err(errstr, errstr_size, "out of memory");
            rc = -2;
            break;
        }
        n_added++;
        a->st.added++;
    }
    a->st.received += json_array_size(entries);
done:
    if (rc == -1)
        a->st.invalid++;
    else if (rc == 0)
        a->st.posts++;
    if (received && rc == 0)
        *received = json_array_size(entries);
    if (added)
        *added = n_added;
    json_decref(doc);
    return rc;
}

static int matches(const struct entry *e, uint32_t code)
{
    if (code == 0)
        return 1;
    for (size_t i = 0; i < e->n_codes; i++)
        if (e->codes[i] == code)
            return 1;
    return 0;
}

static int newest_first(const void *pa, const void *pb)
{
    const struct entry *a = *(const struct entry *const *)pa, *b = *(const struct entry *const *)pb;
    if (a->applied_at != b->applied_at)
        return a->applied_at > b->applied_at ? -1 : 1;
    return a->seq > b->seq ? -1 : a->seq < b->seq;
}

const char **sink_audit_select(const struct sink_audit *a, uint32_t code, size_t limit, size_t *n)
{
    *n = 0;
    if (a->count == 0)
        return NULL;
    const struct entry **picked = malloc(a->count * sizeof *picked);
    if (!picked) {
        *n = SIZE_MAX;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < a->count; i++) {
        const struct entry *e = a->ring[(a->head + i) % a->max];
        if (matches(e, code))
            picked[k++] = e;
    }
    qsort(picked, k, sizeof *picked, newest_first);
    if (limit && k > limit)
        k = limit;
    if (k == 0) {
        free(picked);
        return NULL;
    }
    const char **texts = malloc(k * sizeof *texts);
    if (!texts) {
        free(picked);
        *n = SIZE_MAX;
        return NULL;
    }
    for (size_t i = 0; i < k; i++)
        texts[i] = picked[i]->text;
    free(picked);
    *n = k;
    return texts;
}

int sink_audit_json(const struct sink_audit *a, uint32_t code, size_t limit, struct op_buf *out)
{
    size_t n;
    const char **texts = sink_audit_select(a, code, limit, &n);
    if (n == SIZE_MAX)
        return -1;
    int rc = code ? op_buf_printf(out, "{\"region\":\"%06u\",", (unsigned)code)
                  : op_buf_printf(out, "{\"region\":null,");
    rc = rc || op_buf_printf(out, "\"count\":%zu,\"entries\":[", n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = (i && op_buf_append(out, ",", 1)) || op_buf_append(out, texts[i], strlen(texts[i]));
    rc = rc || op_buf_append(out, "]}", 2);
    free(texts);
    return rc ? -1 : 0;
}

size_t sink_audit_size(const struct sink_audit *a)
{
    return a->count;
}

const struct sink_audit_stats *sink_audit_stats(const struct sink_audit *a)
{
    return &a->st;
}
