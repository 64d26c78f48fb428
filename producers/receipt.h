/* Receipts of outreach-producer (--receipt, the spool's NAME.receipt): one line per published
 * record, SOURCE:LINE<TAB>event_id, so that an office can correct an event whose id was derived. */
#ifndef PRODUCER_RECEIPT_H
#define PRODUCER_RECEIPT_H

#include <stddef.h>

struct producer_receipt;

/* Starts a receipt in the temporary file tmp_path (created or truncated, mode 0644), which must
 * be in the directory of the final name so that producer_receipt_commit can rename it. NULL
 * with errstr when it cannot be created. */
struct producer_receipt *producer_receipt_new(const char *tmp_path, char *errstr,
                                              size_t errstr_size);

/* Removes the temporary file unless the receipt was committed. NULL is fine. */
void producer_receipt_destroy(struct producer_receipt *r);

/* A record of the current file was handed to the broker under event id `id` (copied). Called
 * by one thread at a time (the reading thread); id NULL marks the receipt broken. Returns 0, or -1
 * when out of memory (then the receipt is marked broken and producer_receipt_commit fails). */
int producer_receipt_add(struct producer_receipt *r, long line, const char *id);

/* The delivery of the current file's record at `line` failed: it is left out. Thread-safe
 * (delivery reports come on their own thread). */
void producer_receipt_failed(struct producer_receipt *r, long line);

/* The current file is finished (every delivery report is in): its lines, sorted by line and
 * without the failed ones, go to the temporary file as NAME:LINE<TAB>id, or
 * NAME:SHEET!ROW<TAB>id when sheet is not empty. Returns the number of lines written, or -1
 * (an I/O error: producer_receipt_commit then fails too). */
long producer_receipt_end_file(struct producer_receipt *r, const char *name, const char *sheet);

/* Makes the receipt durable under dest_path (fsync, rename over any older file). Returns 0 or
 * -1 with errstr; the temporary file is then removed by producer_receipt_destroy. */
int producer_receipt_commit(struct producer_receipt *r, const char *dest_path, char *errstr,
                            size_t errstr_size);

#endif
