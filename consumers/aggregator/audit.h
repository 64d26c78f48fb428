/* The audit trail: one record of schemas/audit.v1.avsc per applied correction or retraction,
 * produced to the audit topic in the same transaction as the rollups it changed. */
#ifndef AGG_AUDIT_H
#define AGG_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>

#include "buf.h"
#include "codec.h"
#include "correct.h"
#include "frame.h"

/* Where the correcting record came from and when it was applied. */
struct agg_audit_source {
    int32_t partition;
    int64_t offset;
    int64_t applied_at_ms;
};

/* Appends the audit entry of ev's outcome c (AGG_CORRECTED or AGG_RETRACTED) to out, framed
 * as frame says (wire.format); v is a scratch value of schema (audit.v1). 0 or -1 with
 * errstr. */
int agg_audit_write(const struct agg_model *m, const struct op_frame *frame,
                    const struct op_schema *schema, avro_value_t *v, const struct op_event *ev,
                    const struct agg_counted *c, const struct agg_audit_source *src,
                    struct op_buf *out, char *errstr, size_t errstr_size);

#endif
