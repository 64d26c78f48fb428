/* outreach-producer's engine: read files (or stdin), validate every record, publish the good
 * ones with the idempotent producer and account for each by its delivery report; the spool
 * daemon (spool.c) runs the same per-file routine. main.c only parses arguments and signals. */
#ifndef PRODUCER_PRODUCER_H
#define PRODUCER_PRODUCER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "conf.h"
#include "encoding.h"
#include "input.h"

/* The program's configuration table (our keys; everything else goes to librdkafka). Every
 * key is bound to a field of struct producer_settings, or owned by a common/ module. */
extern const struct op_conf_def producer_conf_defs[];

/* The keys of producer_conf_defs, bound once by producer_new. Strings point into the
 * configuration (NULL when unset without a default). */
struct producer_settings {
    const char *events_topic;
    int topic_partitions;
    int topic_replication; /* 0: min(3, brokers) */
    int max_future_skew_s;
    const char *regions_file; /* NULL: the built-in table */
    int max_record_bytes;     /* input.max.record.bytes */
    int threads;              /* producer.threads; 0: one per online core */
    const char *encoding;     /* input.encoding */
    const char *sheet;        /* input.sheet */
    const char *receipt;      /* input.receipt */
    bool spool_receipts;
    int spool_rescan_ms;
    int spool_settle_ms;
    int spool_retry_max_ms;
    const char *health_listen;
};

/* librdkafka settings the producer needs unless the operator overrides them (idempotence,
 * acks=all, lz4, linger, a bounded message timeout); applied before -F and -X.
 * Returns 0 or -1 with errstr. */
int producer_conf_defaults(struct op_conf *conf, char *errstr, size_t errstr_size);

/* Exit statuses of a one-shot run (also documented in --help). */
#define PRODUCER_EXIT_OK 0       /* every record published */
#define PRODUCER_EXIT_REJECTED 1 /* some records rejected, every good one published */
#define PRODUCER_EXIT_FATAL 2    /* deliveries failed, input unreadable, bad usage, interrupted */

struct producer_opts {
    enum producer_format format; /* --format; AUTO: by extension, else by content */
    int default_type;            /* --type: type of records without one, or -1 */
    const char *rejects;         /* --rejects FILE; NULL: FILE.rejects / stdin.rejects */
    const char *spool;           /* --spool DIR; NULL: one-shot */
    int progress;                /* --progress 1, --no-progress 0, -1: when stderr is a TTY */
    int check_only;              /* --check: validate only, publish nothing */
};

/* read = published + rejected + failed (+ in flight while a file is read). Every physical line
 * of the input is accounted for: lines = header + blank + record_lines, where record_lines is
 * more than read when a quoted cell spans lines. */
struct producer_counts {
    uint64_t read, published, rejected, failed;
    uint64_t lines, header, blank, record_lines;
};

struct producer_receipt; /* receipt.h */

/* Where one file's diagnostics go. */
struct producer_sink {
    const char *rejects_path; /* original text of rejected records; NULL: none */
    const char *errors_path;  /* FILE:LINE: FIELD: reason lines; NULL: stderr */
    int keep_rejects_open;    /* shared --rejects file: keep it open for the next file */
    /* Published records are added to it (producer_receipt_end_file is called for the file
     * once its deliveries are in); NULL: none. */
    struct producer_receipt *receipt;
};

/* The outcome of one file. */
struct producer_file {
    const char *name; /* as shown in messages */
    struct producer_counts n;
    uint64_t failed_permanent; /* deliveries that a retry cannot fix (e.g. too large) */
    int open_error;            /* not opened, or a read error: the rest was not read */
    int header_error;          /* CSV header unusable: every row was rejected */
    int interrupted;           /* stopped by a signal or a fatal Kafka error */
    uint64_t reported;         /* diagnostic lines written */
    uint64_t logged;           /* of them, also logged (spool) */
    uint64_t failures_reported;
    int rejects_header_done;
    char first_failure[160];
    char sheet[128]; /* .xlsx: the sheet read (messages say FILE:SHEET!ROW); "" otherwise */
    /* How it was read; AUTO: undecided (all of it was ASCII, or nothing was read). */
    enum producer_encoding encoding;
};

struct producer;

/* Builds the engine from a configuration (which must outlive it) and the options: regions,
 * schemas, authorisation, and (unless check_only) the Kafka producer. No broker contact yet.
 * Returns NULL with errstr on a bad setting. */
struct producer *producer_new(struct op_conf *conf, const struct producer_opts *opts, char *errstr,
                              size_t errstr_size);
void producer_destroy(struct producer *p);

/* One-shot: publishes every path ("-" = stdin) in order and prints the counts. Returns the
 * exit status (PRODUCER_EXIT_*). */
int producer_run_files(struct producer *p, char *const *paths, int n, volatile sig_atomic_t *run);

/* The spool daemon (spool.c): runs until *run becomes 0. Returns 0 after a clean stop, 2 on a
 * fatal error (the supervisor restarts it; unfinished files are re-published). */
int producer_spool_run(struct producer *p, const char *dir, volatile sig_atomic_t *run);

/* ---- used by spool.c and the tests ------------------------------------------------------ */

/* Creates the topic if missing (events.topic, topic.partitions, topic.replication), waiting
 * at most timeout_ms. Returns 0 or -1 with errstr. */
int producer_ensure_topic(struct producer *p, int timeout_ms, char *errstr, size_t errstr_size);

/* Reads, validates and publishes one file, then waits until every message it produced was
 * acknowledged or failed. `name` is used in messages. Stops early (f->interrupted) when *run
 * becomes 0 or the producer fails fatally. Counts and diagnostics go to f and sink. */
void producer_publish(struct producer *p, const char *path, const char *name,
                      const struct producer_sink *sink, struct producer_file *f,
                      volatile sig_atomic_t *run);

/* Closes the shared rejects file, if any. Returns the number of records written to it since
 * it was opened. */
uint64_t producer_close_rejects(struct producer *p);

/* The settings the producer was built with. */
const struct producer_settings *producer_settings(const struct producer *p);

/* Serves delivery reports and client events for up to timeout_ms (idle daemons). */
void producer_poll(struct producer *p, int timeout_ms);

/* Non-zero after a fatal producer error (e.g. an idempotence failure): restart needed. */
int producer_fatal(const struct producer *p);

/* Messages produced and not yet acknowledged (or failed) by the brokers: librdkafka's
 * out-queue. Thread-safe (for the /metrics thread); 0 before the Kafka client exists. */
int producer_queue_len(const struct producer *p);

/* Prints `read N, published N, rejected N, failed N (L lines: H header, B blank, R in
 * records)` for c, prefixed, to out (no "header" part when there was none). */
void producer_print_counts(FILE *out, const char *prefix, const struct producer_counts *c,
                           int check_only);

#endif
