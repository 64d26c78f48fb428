/* outreach-sink's audit entries (更正/撤回, schemas/audit.v1.avsc as JSON): validated, kept in
 * memory up to a bound (oldest evicted first, counted), deduplicated by (event_id,
 * correction_to), and listed per region, newest first. Pure logic; callers serialise access. */
#ifndef SINK_AUDIT_H
#define SINK_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "regions.h"

#define SINK_AUDIT_MAX_DEFAULT 100000
#define SINK_AUDIT_ID_MAX 256       /* longest event_id */
#define SINK_AUDIT_CHANGES_MAX 4096 /* changes per entry */

struct sink_audit_stats {
    uint64_t posts;      /* accepted POST /audit bodies */
    uint64_t invalid;    /* refused bodies */
    uint64_t received;   /* entries in accepted bodies */
    uint64_t added;      /* of those, new ones */
    uint64_t duplicates; /* of those, (event_id, correction_to) already held */
    uint64_t evicted;    /* dropped, oldest first, to stay within the bound */
};

struct sink_audit;

/* An empty set keeping at most max entries (0: SINK_AUDIT_MAX_DEFAULT). regions (not owned,
 * outlives the set) checks each change's region and level; NULL checks neither. */
struct sink_audit *sink_audit_new(size_t max, const struct op_regions *regions);
void sink_audit_destroy(struct sink_audit *a);

/* Applies a body {"entries":[ENTRY, ...]} (uncompressed JSON): every entry is validated first
 * (all or nothing), then each new (event_id, correction_to) is kept; a held one is counted as
 * a duplicate and changes nothing, so delivering the same entries again is harmless.
 * Returns 0 with *received and *added (either may be NULL), -1 with "entries[I].FIELD:
 * reason" in errstr for an invalid body, -2 on allocation failure. */
int sink_audit_apply(struct sink_audit *a, const char *body, size_t len, size_t *received,
                     size_t *added, char *errstr, size_t errstr_size);

/* The entries touching region code (a change's region is it or lies under it; 0: all),
 * newest applied_at first (for equal times the later arrival first), at most limit
 * (0: all). Each is the JSON text as normalised at arrival, NUL-terminated, owned by the set
 * and valid until the next apply. *n receives the count. NULL with *n 0 when none or on
 * allocation failure (*n then SIZE_MAX). The array is the caller's to free (not the texts). */
const char **sink_audit_select(const struct sink_audit *a, uint32_t code, size_t limit, size_t *n);

/* Appends {"region":CODE|null,"count":N,"entries":[...]} for sink_audit_select's choice.
 * 0 or -1 (allocation). */
int sink_audit_json(const struct sink_audit *a, uint32_t code, size_t limit, struct op_buf *out);

size_t sink_audit_size(const struct sink_audit *a);
const struct sink_audit_stats *sink_audit_stats(const struct sink_audit *a);

/* The HTML view (auditpage.c): the entries touching code (0: all), newest first, in Chinese
 * unless zh is 0, with region names from regions and money in yuan. 0 or -1 (allocation). */
int sink_audit_page(const struct sink_audit *a, const struct op_regions *regions, uint32_t code,
                    int zh, struct op_buf *out);

#endif
