/* outreach-reporter's transports: what the delivery loop needs of an endpoint kind. One table
 * per kind (http.c: http:// and https://, file.c: file://, xlsx.c: xlsx://); the loop
 * (deliver.c) cuts, retries, dead-letters and commits the same way whatever the kind. */
#ifndef REPORTER_TRANSPORT_H
#define REPORTER_TRANSPORT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "buf.h"

/* One send of a batch. */
struct reporter_send_args {
    const char *endpoint;               /* its name, for log lines */
    const struct reporter_batch *batch; /* rollups > 0 */
    const struct op_buf *gz;            /* batch->json gzipped (transports with gzip set) */
    int more_queued;                    /* more messages wait behind this batch */
    const atomic_int *stop;             /* non-zero: the reporter is stopping */
};

/* What it came to. */
struct reporter_send_result {
    enum reporter_verdict verdict; /* DELIVERED: commit; RETRY; REJECTED: to the DLQ */
    int aborted;                   /* cut short by the stop: neither delivered nor failed */
    long status;                   /* HTTP status; 0 for files and transport errors */
    int64_t retry_after_ms;        /* the endpoint's Retry-After, -1 when none */
    char why[512];                 /* not delivered: for the log and the last error */
    const void *detail;            /* not delivered: the DLQ's dlq.body (owned by the */
    size_t detail_len;             /* transport, valid until its next send) */
    long new_connections;          /* connections opened by this send */
    unsigned token_requests;       /* OAuth2 token requests made by this send */
};

struct reporter_transport {
    const char *kind; /* "http", "file" or "xlsx" */
    int gzip;         /* wants the batch JSON gzipped (args->gz) */
    /* Non-NULL: the transport's state lives in memory only, so every assignment reads the
     * topic from the beginning; says why in the log ("xlsx workbooks"). */
    const char *from_beginning;
    void (*send)(void *impl, const struct reporter_send_args *a, struct reporter_send_result *out);
    /* When the endpoint stops (NULL: nothing to do). 0, or -1 with errstr. */
    int (*flush)(void *impl, char *errstr, size_t errstr_size);
    void (*close)(void *impl);
};

/* impl: a struct reporter_http (http.c). */
extern const struct reporter_transport reporter_http_transport;
/* impl: the malloc'd directory of a file:// URL (file.c). */
extern const struct reporter_transport reporter_file_transport;
/* impl: a struct reporter_xlsx (xlsx.c). */
extern const struct reporter_transport reporter_xlsx_transport;

#endif
