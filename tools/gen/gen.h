/* outreach-gen logic: synthetic 送温暖 events (visit, funding, survey) shaped like the seed
 * article, deterministic by seed, written in the input format of outreach-producer. */
#ifndef GEN_H
#define GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "regions.h"

/*
 * Output contract (the producer reads exactly this; keep --help in main.c in step)
 * =================================================================================
 * Field names, enum symbols and types are those of the newest schemas: visit.v3, funding.v3,
 * survey.v2 (the .avsc files in schemas/, docs/events.md). Every string is UTF-8.
 *
 * JSON Lines (--format jsonl, the default): one object per line, "\n"-terminated,
 *   - "type": "visit" | "funding" | "survey" is the first key, then the schema's fields in
 *     schema order;
 *   - "event_id": "gen-<seed>-<seq>" (seq: 1-based number of the original event, at least
 *     6 digits, so ids are unique per seed), omitted on a --no-id-rate fraction of events:
 *     the producer derives those from the content. Two id-less events never share their
 *     content, even ignoring reported_at and every v2 field;
 *   - "occurred_at", "reported_at": "YYYY-MM-DDTHH:MM:SS+08:00" (Asia/Shanghai wall clock);
 *   - "agency_id": "ACFTU-<code>", the union office of region <code>; it reports for its
 *     own code and the codes below it (authorised prefix: 2 digits for a province office,
 *     4 for a prefecture, all 6 for a county; see gen_agency_at);
 *   - "region": the 6-digit code as a string, always present in the region table;
 *   - "campaign": "2025 两节送温暖" when occurred_at's date is in 2024-12-20..2025-02-12,
 *     otherwise null or omitted (both occur);
 *   - enums as symbol strings; money as integer fen; counts as non-negative integers;
 *   - visit: "activity", "target_groups": [symbols, distinct, at least one],
 *     "workers_reached", "households", "staff", and the v2 fields "duration_minutes",
 *     "venue", "note" (note only when there is one); an event whose source reported no v2
 *     detail omits all three;
 *   - funding: "amount_fen" (int64), "source", "purpose", "recipients", "target_group", and
 *     the v2 "disbursement" and "note" (omitted when not reported);
 *   - survey: "method", "enterprises", "respondents", "topic",
 *     "satisfaction": {"s1":..,"s2":..,"s3":..,"s4":..,"s5":..} (all 0 when not asked,
 *     sum <= respondents), "needs": [{"need":"HOUSING","count":3}, ...] (distinct kinds,
 *     count >= 1, possibly empty);
 *   - correction lines only (see Corrections below): "correction" (>= 1), "retracted": true
 *     (retractions only) and "correction_reason" (Chinese text), last, in that order. An
 *     original never writes them (their defaults: 0, false, null).
 *
 * CSV (--format csv): a header row, then one row per event, "\n"-terminated, 27 columns:
 *   type,event_id,occurred_at,reported_at,agency_id,region,campaign,activity,target_groups,
 *   workers_reached,households,staff,amount_fen,source,purpose,recipients,target_group,
 *   method,enterprises,respondents,topic,s1,s2,s3,s4,s5,needs
 *   Cells of another type's fields are empty; an empty event_id means "derive it"; an empty
 *   campaign means null. target_groups joins symbols with ';', needs joins NEED:count with
 *   ';' (e.g. HOUSING:3;MEDICAL:1). A cell containing ',', '"', CR or LF is quoted with
 *   '"' and its quotes doubled (RFC 4180). The v2-only fields have no column (their
 *   defaults apply). With --correct-rate or --retract-rate above 0 the header has three more
 *   columns, correction,retracted,correction_reason: empty on originals, "N,,reason" on a
 *   correction and "N,true,reason" on a retraction.
 *
 * Duplicates (--dup-rate) repeat an earlier line of the same run byte for byte: the same
 * event reported twice. Late events (--late-rate) have reported_at 2 to 10 weeks after
 * occurred_at; every other event is reported within 8 days.
 *
 * Corrections (--correct-rate, --retract-rate; both 0 by default, and then the output is
 * byte for byte that of the versions before them). One draw per line picks a correction
 * (probability correct-rate), a retraction (retract-rate) or else what the other options
 * say. Both name one of the last 4096 events with an explicit event_id. Of the correction
 * lines, about 80 % are the next correction of the event (correction = highest sent + 1,
 * changing some of: amount_fen or the counts x10 or /10, the region to another one the same
 * office may report for, occurred_at by 1 to 5 days; reported_at 1 to 72 h after the version
 * corrected); 10 % repeat the last version sent byte for byte; 5 % carry a number lower than
 * the highest sent (stale: the original again, or a changed version under an older number);
 * 5 % are correction 1 of a new event, whose original follows 2 to 51 lines later (always
 * within the run). A retraction is the last version with the next number, retracted: true,
 * a reason and a later reported_at; a later correction reinstates the event. gen_stats
 * counts each kind.
 *
 * The same options give the same bytes on any machine: the generator uses only its own
 * PRNG (xoshiro256** seeded by splitmix64) and integer arithmetic. JSON Lines and CSV runs
 * with the same options hold the same events.
 */

#define GEN_TYPE_VISIT 1u
#define GEN_TYPE_FUNDING 2u
#define GEN_TYPE_SURVEY 4u
#define GEN_TYPE_ALL (GEN_TYPE_VISIT | GEN_TYPE_FUNDING | GEN_TYPE_SURVEY)

enum gen_format { GEN_FORMAT_JSONL, GEN_FORMAT_CSV };

/* Options of one run. Fill with gen_opts_init(), then gen_opts_set() per option. */
struct gen_opts {
    uint64_t seed;
    uint64_t events; /* lines of events to write, duplicates included */
    enum gen_format format;
    unsigned types;             /* GEN_TYPE_* mask, non-empty */
    int32_t start_day, end_day; /* main window, days since 1970-01-01, inclusive */
    uint32_t agencies;          /* distinct reporting offices; 0 = all of them */
    double dup_rate, late_rate, no_id_rate, outside_rate; /* probabilities in [0, 1] */
    double correct_rate, retract_rate; /* shares of lines; 0 (default): no corrections */
    int have_seed, have_events;        /* both options are required */
};

/* Sets every option to its default. */
void gen_opts_init(struct gen_opts *opts);

/* Sets the option called `name` (without the leading "--", e.g. "dup-rate") from its
 * command-line text. Returns 0, or -1 with "--name: reason" in errstr. */
int gen_opts_set(struct gen_opts *opts, const char *name, const char *value, char *errstr,
                 size_t errstr_size);

/* Checks what single options cannot: required options given, start <= end.
 * Returns 0, or -1 with the reason in errstr. */
int gen_opts_check(const struct gen_opts *opts, char *errstr, size_t errstr_size);

/* One line per option (name, argument, default, meaning), for --help. */
void gen_opts_print_help(FILE *out);

/* Parses "YYYY-MM-DD" (a real calendar date in 2000..2099) into days since 1970-01-01.
 * Returns 0, or -1 leaving *day unchanged. */
int gen_parse_date(const char *s, int32_t *day);

struct gen;

/* Creates a generator for one run. `regs` is borrowed and must outlive the generator.
 * Returns NULL with the reason in errstr (invalid options, allocation failure, a region
 * table without offices). */
struct gen *gen_new(const struct gen_opts *opts, const struct op_regions *regs, char *errstr,
                    size_t errstr_size);
void gen_destroy(struct gen *g);

/* The next output line, '\n' included: in CSV the header comes first. Returns 1 with
 * *line and *len set (the bytes belong to g and stay valid until the next call), or 0 once
 * every event has been produced. Never fails. */
int gen_next(struct gen *g, const char **line, size_t *len);

/* Writes every remaining line to out. Returns 0, or -1 if a write failed (errno set). */
int gen_write(struct gen *g, FILE *out);

/* What the run has produced so far, for tests and the summary on stderr. */
struct gen_stats {
    uint64_t events;     /* event lines, duplicates included */
    uint64_t originals;  /* events generated (not duplicates) */
    uint64_t duplicates; /* lines repeating an earlier one */
    uint64_t late;       /* originals reported 2+ weeks after they occurred */
    uint64_t no_id;      /* originals without event_id */
    uint64_t outside;    /* originals outside the main window */
    uint64_t by_type[3]; /* originals per type: visit, funding, survey */
    /* --correct-rate lines, by kind; every one names an event_id. */
    uint64_t corrections;     /* the next number of an event: highest sent + 1 */
    uint64_t correction_dups; /* the last version of an event sent again, byte for byte */
    uint64_t stale;           /* a number lower than the highest sent */
    uint64_t out_of_order;    /* correction 1 of a new event, written before its original */
    uint64_t late_originals;  /* those originals, written after their correction */
    uint64_t retractions;     /* --retract-rate lines: retracted, highest + 1 */
};
const struct gen_stats *gen_get_stats(const struct gen *g);

/* The reporting offices of this run, in code order: i in [0, gen_agency_count()).
 * Writes the agency id (e.g. "ACFTU-530000") and the region prefix it may report for
 * (e.g. "53") into the buffers (at least 16 bytes each). Returns 0, or -1 past the end. */
size_t gen_agency_count(const struct gen *g);
int gen_agency_at(const struct gen *g, size_t i, char *id, size_t id_size, char *prefix,
                  size_t prefix_size);

/* Writes the CSV cell for s (n bytes) into out, quoted per RFC 4180 when it contains ',',
 * '"', CR or LF, and NUL-terminates it. Returns the cell's length, or (size_t)-1 if it does
 * not fit in out_size bytes (then out holds ""). */
size_t gen_csv_cell(const char *s, size_t n, char *out, size_t out_size);

#endif
