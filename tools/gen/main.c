/* outreach-gen: writes synthetic 送温暖 events (JSON Lines or CSV) to stdout for demos,
 * load and end-to-end tests of the pipeline; arguments and output only, logic in the other files
 * (gen.h; gen_internal.h lists them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "regions.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: outreach-gen --seed S --events N [OPTIONS]\n"
                 "       outreach-gen --list-agencies [OPTIONS]\n"
                 "\n"
                 "Writes N synthetic union outreach events (visit, funding, survey) to stdout in\n"
                 "the input format of outreach-producer, shaped like the 2025 两节送温暖 reports:\n"
                 "every region of the embedded GB/T 2260 table, mostly counties. The same options\n"
                 "give the same bytes on any machine.\n"
                 "\n"
                 "Options (OPTION VALUE or OPTION=VALUE; [default]):\n");
    gen_opts_print_help(out);
    fprintf(out,
            "  --list-agencies            print the offices of this run instead of events, as\n"
            "                             configuration lines 'agency.ACFTU-530000.regions=53'\n"
            "                             (the region prefix each may report for)\n"
            "  --stats                    print a summary of the run to stderr\n"
            "  -h, --help                 this text\n"
            "\n"
            "FORMATS (field names, enum symbols and types of visit.v3, funding.v3, survey.v2)\n"
            "  jsonl  one object per line; \"type\" first, then the schema's fields in order:\n"
            "    {\"type\":\"visit\",\"event_id\":\"gen-7-000001\",\"occurred_at\":\n"
            "     \"2025-01-15T10:30:00+08:00\",\"reported_at\":\"2025-01-16T09:12:41+08:00\",\n"
            "     \"agency_id\":\"ACFTU-530000\",\"region\":\"530622\",\"campaign\":\"2025 "
            "两节送温暖\",\n"
            "     \"activity\":\"HOME_VISIT\",\"target_groups\":[\"HARDSHIP_WORKERS\"],\n"
            "     \"workers_reached\":1,\"households\":1,\"staff\":5,\"duration_minutes\":60,\n"
            "     \"venue\":\"HOME\"}\n"
            "    - event_id \"gen-<seed>-<seq>\" (seq >= 6 digits); omitted on --no-id-rate of\n"
            "      the events, which then never share content with another id-less event\n"
            "    - times: Asia/Shanghai wall clock with +08:00; agency_id \"ACFTU-<code>\"\n"
            "    - campaign \"2025 两节送温暖\" when occurred_at is in 2024-12-20..2025-02-12,\n"
            "      else null or omitted; region: 6-digit string in the region table\n"
            "    - amount_fen: integer fen; satisfaction {\"s1\":..,\"s5\":..};\n"
            "      needs [{\"need\":\"HOUSING\",\"count\":3}]\n"
            "    - v2 fields (duration_minutes, venue, disbursement, note) omitted when the\n"
            "      source reported none; note only when there is one\n"
            "    - correction, retracted, correction_reason: only on correction lines (below)\n"
            "  csv    header row, then 27 columns per row, empty cells for other types' fields:\n"
            "    type,event_id,occurred_at,reported_at,agency_id,region,campaign,activity,\n"
            "    target_groups,workers_reached,households,staff,amount_fen,source,purpose,\n"
            "    recipients,target_group,method,enterprises,respondents,topic,s1,s2,s3,s4,s5,\n"
            "    needs\n"
            "    - lists joined by ';' (needs as HOUSING:3;MEDICAL:1); empty event_id: derive\n"
            "      it; empty campaign: null; RFC 4180 quoting; lines end in LF; no v2 columns;\n"
            "      with --correct-rate or --retract-rate above 0, three more columns:\n"
            "      correction,retracted,correction_reason (empty on originals)\n"
            "\n"
            "Duplicates repeat an earlier line byte for byte; late events are reported 2 to 10\n"
            "weeks after they occurred, all others within 8 days.\n");
    fprintf(out,
            "\nCORRECTIONS (both rates 0 by default: the output is then that of earlier versions)\n"
            "  A line is a correction with probability --correct-rate, a retraction with\n"
            "  --retract-rate (the other lines: originals and --dup-rate duplicates). Both name\n"
            "  one of the last 4096 events that had an event_id. Of the correction lines:\n"
            "    ~80 %% the next correction: correction = highest sent for the id + 1, a Chinese\n"
            "          correction_reason saying what changed (金额录入错误, 人数录入错误,\n"
            "          区县填错, 活动日期填错), some of: amount_fen (funding), workers_reached\n"
            "          (visit) or respondents and enterprises (survey) x10 or /10; the region,\n"
            "          to another the same office may report for; occurred_at by 1 to 5 days;\n"
            "          reported_at 1 to 72 hours after the version it corrects\n"
            "    ~10 %% the last version of an event again, byte for byte (a duplicate)\n"
            "    ~5 %%  a lower number than the highest sent (stale): the original again, or a\n"
            "          changed version under an older correction number\n"
            "    ~5 %%  correction 1 of a new event, whose original follows 2 to 51 lines later\n"
            "          (out of order; written before the run ends)\n"
            "  A retraction is the last version with retracted: true, the next number, a reason\n"
            "  (重复上报, 活动未举办, 误报) and a later reported_at. A correction after it\n"
            "  reinstates the event.\n"
            "\n"
            "Exit status: 0 done, 1 write error, 2 usage or setup error.\n");
}

int main(int argc, char **argv)
{
    struct gen_opts opts;
    struct op_regions *regs = NULL;
    struct gen *g = NULL;
    char err[512];
    int rc = 2, list = 0, stats = 0;

    gen_opts_init(&opts);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            rc = 0;
            goto cleanup;
        }
        if (strcmp(arg, "--list-agencies") == 0) {
            list = 1;
            continue;
        }
        if (strcmp(arg, "--stats") == 0) {
            stats = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "outreach-gen: unexpected argument \"%s\" (try --help)\n", arg);
            goto cleanup;
        }
        /* --name=value or --name value */
        char name[64];
        const char *value;
        const char *eq = strchr(arg + 2, '=');
        size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (n >= sizeof name) {
            fprintf(stderr, "outreach-gen: unknown option \"%s\" (try --help)\n", arg);
            goto cleanup;
        }
        memcpy(name, arg + 2, n);
        name[n] = '\0';
        value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (gen_opts_set(&opts, name, value, err, sizeof err) != 0) {
            fprintf(stderr, "outreach-gen: %s (try --help)\n", err);
            goto cleanup;
        }
    }
    /* Listing offices needs no event count; the seed still picks them. */
    if (list) {
        if (!opts.have_seed)
            (void)gen_opts_set(&opts, "seed", "0", err, sizeof err);
        if (!opts.have_events)
            (void)gen_opts_set(&opts, "events", "0", err, sizeof err);
    }
    if (gen_opts_check(&opts, err, sizeof err) != 0) {
        fprintf(stderr, "outreach-gen: %s (try --help)\n", err);
        goto cleanup;
    }
    regs = op_regions_new_default(err, sizeof err);
    if (!regs) {
        fprintf(stderr, "outreach-gen: region table: %s\n", err);
        goto cleanup;
    }
    g = gen_new(&opts, regs, err, sizeof err);
    if (!g) {
        fprintf(stderr, "outreach-gen: %s\n", err);
        goto cleanup;
    }

    /* A large buffer: the generator is faster than small writes. */
    static char obuf[1 << 20];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    if (list) {
        /* In the configuration syntax of the producer and aggregator (agency.*.regions),
         * so the list can be loaded as it is. */
        char id[32], prefix[16];
        printf("# union offices of outreach-gen --seed %llu (%zu)\n", (unsigned long long)opts.seed,
               gen_agency_count(g));
        for (size_t i = 0; i < gen_agency_count(g); i++) {
            gen_agency_at(g, i, id, sizeof id, prefix, sizeof prefix);
            printf("agency.%s.regions=%s\n", id, prefix);
        }
        rc = fflush(stdout) == 0 ? 0 : 1;
    } else {
        rc = gen_write(g, stdout) == 0 ? 0 : 1;
    }
    if (rc != 0)
        fprintf(stderr, "outreach-gen: writing stdout: %s\n", strerror(errno));
    if (stats && !list) {
        const struct gen_stats *st = gen_get_stats(g);
        fprintf(stderr,
                "outreach-gen: %llu lines: %llu events (visit %llu, funding %llu, survey %llu), "
                "%llu duplicates, %llu late, %llu without id, %llu outside the window, "
                "%zu offices; corrections %llu (and %llu repeated, %llu stale, %llu before their "
                "original), retractions %llu\n",
                (unsigned long long)st->events, (unsigned long long)st->originals,
                (unsigned long long)st->by_type[0], (unsigned long long)st->by_type[1],
                (unsigned long long)st->by_type[2], (unsigned long long)st->duplicates,
                (unsigned long long)st->late, (unsigned long long)st->no_id,
                (unsigned long long)st->outside, gen_agency_count(g),
                (unsigned long long)st->corrections, (unsigned long long)st->correction_dups,
                (unsigned long long)st->stale, (unsigned long long)st->out_of_order,
                (unsigned long long)st->retractions);
    }

cleanup:
    gen_destroy(g);
    op_regions_destroy(regs);
    return rc;
}
