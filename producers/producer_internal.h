/* Internal to the producer's engine (producer.c: configuration, setup and teardown, the
 * one-shot run; producer_diag.c: diagnostics, rejects and the progress line; producer_kafka.c:
 * delivery reports, producing and batching; producer_file.c: publishing one file or .xlsx
 * sheet). Not for the rest of the program, which uses producer.h. */
#ifndef PRODUCER_PRODUCER_INTERNAL_H
#define PRODUCER_PRODUCER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "authz.h"
#include "buf.h"
#include "codec.h"
#include "frame.h"
#include "producer.h"
#include "record.h"
#include "regions.h"
#include "workers.h"

/* A conversion thread's own state: avro-c values, schemas and its error buffer are not
 * thread-safe, so each worker has its codec (regions and authz are read-only and shared). */
struct producer_worker {
    struct op_codec *codec;
    struct producer_conv conv;
    int conv_ready;
    struct producer_cells cells;
};

struct producer {
    struct producer_settings set; /* bound from the configuration by producer_new */
    struct producer_opts opts;
    struct op_codec *codec;
    struct op_frame *frame; /* wire.format; its schema ids bound at start (not with --check) */
    struct op_regions *regions;
    struct op_authz *authz;
    struct producer_conv conv;
    int conv_ready;
    struct producer_decoder dec;
    int dec_ready;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    const char *topic;
    int64_t message_timeout_ms;
    size_t max_record;
    const char *sheet; /* input.sheet: NULL, the first worksheet */
    struct producer_cells cells;
    struct op_buf csv_header; /* raw header of the current CSV file, for its rejects */
    /* the file being published; delivery reports are counted into it */
    struct producer_file *cur;
    const struct producer_sink *sink;
    _Atomic int64_t in_flight;
    _Atomic uint64_t dr_published; /* acknowledged since the file started */
    atomic_int fatal;
    /* f->n.failed and the failure report: written by workers' results and delivery reports */
    pthread_mutex_t count_mu;
    /* diagnostics output (stderr, .errors, the progress line) */
    pthread_mutex_t diag_mu;
    int mutexes_ready;
    /* conversion threads (workers.c) */
    int n_workers;
    struct producer_worker *workers;
    struct producer_pool *pool;
    struct producer_batch *batch;          /* being cut */
    const struct producer_csv_header *hdr; /* the current CSV file's, for the workers */
    int csv;
    rd_kafka_resp_err_t rkt_err; /* why the topic handle could not be made */
    /* delivery reports: served by their own thread, never by the reading one */
    pthread_t poller;
    int poller_started;
    atomic_int poller_run;
    /* diagnostics */
    FILE *rejects;
    char *rejects_path;
    uint64_t rejects_written;
    FILE *errors;
    int progress, tty, progress_shown;
    int64_t progress_at;
    uint64_t progress_read;
};

/* ---- producer_diag.c ---- */

/* One diagnostic line: to stderr (one-shot) or the .errors file (spool, which also logs the
 * first ones unless quiet: delivery failures are summed up by the spool instead). */
void producer_diag_line(struct producer *p, struct producer_file *f, int quiet, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

#define diag(p, f, ...) producer_diag_line(p, f, 0, __VA_ARGS__)

/* A progress line on a terminal is redrawn in place: wipe it before other output. */
void producer_clear_progress(struct producer *p);

/* Pings the service watchdog and, when enabled, redraws the progress line (at most once a
 * second unless `force`). */
void producer_progress(struct producer *p, struct producer_file *f, int force);

/* Appends the original text of a rejected record (and, first, the CSV header). */
void producer_keep_reject(struct producer *p, struct producer_file *f, const char *data,
                          size_t len);

/* A rejected record: its diagnostic (FILE:LINE: FIELD: reason) and its original text. */
void producer_reject(struct producer *p, struct producer_file *f, long line, const char *field,
                     const char *reason, const char *data, size_t len);

/* How a file is read, said once: on stderr, or in the log for the spool. Not a diagnostic of a
 * record, so it is neither counted nor written to the .errors report. */
void producer_say_encoding(struct producer *p);

/* ---- producer_kafka.c ---- */

/* Called with count_mu held. */
void producer_failed(struct producer *p, struct producer_file *f, long line, rd_kafka_resp_err_t e);

/* On the poller thread (or the main one in rd_kafka_flush at exit). The message leaves the
 * in-flight count last, so that producer_drain() finds it counted. */
void producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* The poller thread: serves delivery reports and client events while poller_run is set. */
void *producer_poller_main(void *arg);

/* librdkafka's error callback: logs; a fatal error, or one retrying cannot fix (credentials,
 * TLS), marks the run fatal. */
void producer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque);

/* The topic handle comes with the first message, after producer_ensure_topic: a handle
 * alone makes librdkafka ask for the topic. On the main thread, before records go out. */
void producer_topic_handle(struct producer *p);

/* Hands one converted record to librdkafka (thread-safe), waiting for room while the poller
 * thread serves delivery reports; in flight when it returns 0. Called by the workers, and by
 * the main thread for .xlsx rows. */
rd_kafka_resp_err_t producer_produce_rec(struct producer *p, const struct producer_rec *r,
                                         long line);

/* The pool's work: convert (and publish) every record of a batch, on worker `wi`. */
void producer_convert_batch(void *arg, int wi, struct producer_batch *b);

/* Accounts for converted batches: those ready (wait 0) or all of them (wait 1). */
void producer_collect(struct producer *p, struct producer_file *f, int wait);

/* Hands the batch being cut to the workers. */
void producer_submit(struct producer *p, struct producer_file *f);

/* The batch being cut, or a new one (accounting for finished ones while all are in use).
 * NULL when out of memory. */
struct producer_batch *producer_cut(struct producer *p, struct producer_file *f);

/* Waits for the delivery report of every message produced so far. librdkafka fails each
 * message within message.timeout.ms; past a generous deadline the rest is purged so that no
 * report can arrive after the file was accounted for. */
void producer_drain(struct producer *p, struct producer_file *f);

#endif
