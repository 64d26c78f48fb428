/* outreach-dlq's engine: reads a dead-letter topic (read_committed) up to the end each
 * partition had when the command started, and lists, shows or re-produces its messages. */
#ifndef DLQ_DLQ_H
#define DLQ_DLQ_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"

/* The program's configuration table (our keys; everything else goes to librdkafka), in
 * config.c: each key is bound to a field of struct dlq_settings or owned by a common/ module. */
extern const struct op_conf_def dlq_conf_defs[];

/* Our keys of dlq_conf_defs, bound once by main (op_conf_bind); strings point into the
 * configuration. */
struct dlq_settings {
    const char *topic;       /* dlq.topic: the dead-letter topic when --topic is not given */
    int read_timeout_ms;     /* read.timeout.ms */
    int metadata_timeout_ms; /* metadata.timeout.ms */
    int message_timeout_ms;  /* message.timeout.ms: also passed to the replay producer */
};

/* Settings applied before -F and -X (bootstrap.servers=127.0.0.1:9092).
 * Returns 0 or -1 with errstr. */
int dlq_conf_defaults(struct op_conf *conf, char *errstr, size_t errstr_size);

/* Exit statuses, also documented in --help. */
#define DLQ_EXIT_OK 0         /* done: everything selected was listed, shown or replayed */
#define DLQ_EXIT_INCOMPLETE 1 /* show: no message there; replay: some were not replayed */
#define DLQ_EXIT_ERROR 2      /* usage, configuration, or Kafka unreachable / topic missing */

#define DLQ_MAX_FROM 64
#define DLQ_MAX_REASONS 16

/* A message of the dead-letter topic. */
struct dlq_position {
    int32_t partition;
    int64_t offset;
};

struct dlq_opts {
    const char *topic; /* the dead-letter topic (--topic, else dlq.topic) */
    const char *to;    /* replay: destination; NULL: each message's dlq.source.topic */
    const char *reasons[DLQ_MAX_REASONS]; /* --reason: only these (none: all) */
    size_t n_reasons;
    struct dlq_position from[DLQ_MAX_FROM]; /* --from: only these partitions, from there */
    size_t n_from;
    int dry_run; /* replay: print what would be replayed, produce nothing */
};

/* Parses "PARTITION:OFFSET" (both non-negative integers). Returns 0 or -1. */
int dlq_parse_position(const char *s, struct dlq_position *pos);

/* The commands below build their Kafka clients and registry client from conf (whose table is
 * dlq_conf_defs) and take their timeouts from s, bound from that conf. */

/* One line per selected message to out. Returns a DLQ_EXIT_* status; errors go to the log. */
int dlq_list(const struct op_conf *conf, const struct dlq_settings *s, const struct dlq_opts *o,
             FILE *out, volatile sig_atomic_t *run);

/* Headers and value (decoded as JSON, else a hex dump) of the message at `at`. */
int dlq_show(const struct op_conf *conf, const struct dlq_settings *s, const struct dlq_opts *o,
             struct dlq_position at, FILE *out, volatile sig_atomic_t *run);

/* Re-produces the original key and value of every selected message (idempotent producer,
 * acks=all) with the header dlq.replayed=PARTITION:OFFSET, one line per delivered message. */
int dlq_replay(const struct op_conf *conf, const struct dlq_settings *s, const struct dlq_opts *o,
               FILE *out, volatile sig_atomic_t *run);

#endif
