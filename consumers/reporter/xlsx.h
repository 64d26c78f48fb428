/* outreach-reporter's xlsx:// endpoints: the latest rollup of every region per MONTH and
 * CAMPAIGN window, kept in memory, written as one Excel workbook per window (一个省一张表). */
#ifndef REPORTER_XLSX_H
#define REPORTER_XLSX_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "batch.h"
#include "regions.h"

/* Most windows (MONTH and CAMPAIGN) one endpoint holds; each holds at most one row per region
 * of the table (3,348), ~200 bytes a row with the map: ≤ 128 × 3,348 rows, ~90 MB at worst.
 * Rollups of further windows are skipped (and logged); DAY and ALL windows are never kept. */
#define REPORTER_XLSX_MAX_WINDOWS 128
/* While more messages wait, workbooks are rewritten at most this often (catching up). */
#define REPORTER_XLSX_FLUSH_MS 5000
/* Longest window part of a file name, in bytes (cut at a UTF-8 character boundary). */
#define REPORTER_XLSX_WINDOW_MAX 180

struct reporter_xlsx;

/* An endpoint writing into dir (which must exist) with region names from regions (both must
 * outlive it). NULL with errstr on allocation failure. */
struct reporter_xlsx *reporter_xlsx_new(const char *dir, const struct op_regions *regions,
                                        char *errstr, size_t errstr_size);
void reporter_xlsx_destroy(struct reporter_xlsx *x);

/* The directory of an xlsx:// URL ("xlsx:///var/lib/x" → "/var/lib/x"), malloc'd, or NULL
 * when url is not xlsx:// with an absolute path (percent-escapes are refused). */
char *reporter_xlsx_dir_of_url(const char *url);

/* Takes one rollup as the endpoint payload object (reporter_rollup_payload's JSON): kept when
 * it is a MONTH or CAMPAIGN rollup of a known region with a revision at least that of the
 * one held, and its window is marked for rewriting. Returns 1 if kept, 0 if skipped (other
 * window kinds, unknown region, older revision, window limit), -1 with errstr when a field
 * is missing or out of memory. */
int reporter_xlsx_add(struct reporter_xlsx *x, json_t *rollup, char *errstr, size_t errstr_size);

/* Rewrites the workbook of every window changed since its last write, each atomically (temp
 * file in the directory, fsync, rename, fsync of the directory), with now_ms (Unix ms) as the
 * generation time. Returns 0, or -1 with errstr (those windows stay marked). */
int reporter_xlsx_flush(struct reporter_xlsx *x, int64_t now_ms, char *errstr, size_t errstr_size);

/* The engine's delivery of one batch: adds its rollups, then flushes unless more_queued says
 * more messages wait and the last flush is under REPORTER_XLSX_FLUSH_MS old (the workbooks
 * are rebuilt from the topic at every start, so a deferred write loses nothing). 0 or -1. */
int reporter_xlsx_deliver(struct reporter_xlsx *x, const struct reporter_batch *b, int more_queued,
                          char *errstr, size_t errstr_size);

/* Windows held, rows held, and rollups skipped for the window limit or an unknown region. */
size_t reporter_xlsx_windows(const struct reporter_xlsx *x);
size_t reporter_xlsx_rows(const struct reporter_xlsx *x);
uint64_t reporter_xlsx_skipped(const struct reporter_xlsx *x);

/* The file name (no directory) of a window's workbook: "<kind>-<window>.xlsx", kind in lower
 * case; '/', '\\', control characters and a leading '.' of the window become '_', a window
 * over REPORTER_XLSX_WINDOW_MAX bytes is cut, and a changed window gets "-<8 hex digits of
 * its CRC-64>" so two windows never share a file. UTF-8 stays as is. Returns the length or
 * -1 if size is too small (256 always suffices). */
int reporter_xlsx_file_name(const char *kind, const char *window, char *out, size_t size);

/* An Excel sheet name from name: []:*?/\ become '_', a leading or trailing ' becomes '_',
 * cut to 31 characters (not bytes). out needs 31 * 4 + 1 bytes. */
void reporter_xlsx_sheet_name(const char *name, char out[125]);

#endif
