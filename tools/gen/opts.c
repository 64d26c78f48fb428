/* outreach-gen options (one table drives parsing, defaults and --help) and the --start date
 * they take (the calendar itself is common/calendar.c). */
#include "gen_internal.h"

#include "calendar.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gen_parse_date(const char *s, int32_t *day)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 2000 || y > 2099 || d < 1 || d > op_days_in_month(y, m))
        return -1;
    *day = (int32_t)op_days_from_civil(y, m, d);
    return 0;
}

/* ---- options --------------------------------------------------------------------------- */

enum opt_kind { OPT_U64, OPT_U32, OPT_RATE, OPT_DATE, OPT_FORMAT, OPT_TYPES };

/* One table drives parsing, defaults and --help. */
static const struct opt_def {
    const char *name, *arg;
    enum opt_kind kind;
    size_t off;
    const char *def, *help;
} opt_defs[] = {
    {"seed", "S", OPT_U64, offsetof(struct gen_opts, seed), NULL,
     "PRNG seed, 0..2^64-1 (required)"},
    {"events", "N", OPT_U64, offsetof(struct gen_opts, events), NULL,
     "event lines to write, duplicates included (required)"},
    {"format", "jsonl|csv", OPT_FORMAT, offsetof(struct gen_opts, format), "jsonl",
     "output format (see FORMATS)"},
    {"types", "LIST", OPT_TYPES, offsetof(struct gen_opts, types), "visit,funding,survey",
     "comma-separated, mixed 60:30:10"},
    {"start", "YYYY-MM-DD", OPT_DATE, offsetof(struct gen_opts, start_day), "2024-12-20",
     "first day of the main window, 2000..2099"},
    {"end", "YYYY-MM-DD", OPT_DATE, offsetof(struct gen_opts, end_day), "2025-02-12",
     "last day of the main window"},
    {"agencies", "K", OPT_U32, offsetof(struct gen_opts, agencies), "0",
     "distinct reporting offices, 0 = all"},
    {"dup-rate", "P", OPT_RATE, offsetof(struct gen_opts, dup_rate), "0.02",
     "share of lines repeating one of the last 4096 events"},
    {"late-rate", "P", OPT_RATE, offsetof(struct gen_opts, late_rate), "0.05",
     "share reported 2 to 10 weeks after occurring"},
    {"no-id-rate", "P", OPT_RATE, offsetof(struct gen_opts, no_id_rate), "0.1",
     "share without event_id (the producer derives it)"},
    {"outside-rate", "P", OPT_RATE, offsetof(struct gen_opts, outside_rate), "0.1",
     "share in the 150 days before or 60 after the window"},
    {"correct-rate", "P", OPT_RATE, offsetof(struct gen_opts, correct_rate), "0",
     "share of lines correcting one of the last 4096 events with an event_id (see CORRECTIONS)"},
    {"retract-rate", "P", OPT_RATE, offsetof(struct gen_opts, retract_rate), "0",
     "share of lines retracting one of them (retracted: true)"},
};
#define OPT_COUNT (sizeof opt_defs / sizeof opt_defs[0])

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_types(const char *s, unsigned *mask)
{
    unsigned m = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        unsigned bit = 0;
        for (unsigned t = 0; t < 3; t++)
            if (strlen(gen_type_name[t]) == n && memcmp(s, gen_type_name[t], n) == 0)
                bit = 1u << t;
        if (!bit)
            return -1;
        m |= bit;
        s += n;
        if (*s == ',' && *++s == '\0')
            return -1;
    }
    if (!m)
        return -1;
    *mask = m;
    return 0;
}

int gen_opts_set(struct gen_opts *opts, const char *name, const char *value, char *errstr,
                 size_t errstr_size)
{
    const struct opt_def *d = NULL;
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (strcmp(opt_defs[i].name, name) == 0)
            d = &opt_defs[i];
    if (!d) {
        snprintf(errstr, errstr_size, "--%s: unknown option", name);
        return -1;
    }
    if (!value) {
        snprintf(errstr, errstr_size, "--%s: needs a value (%s)", name, d->arg);
        return -1;
    }
    /* Each kind parses into a local and stores only on success: a bad value changes nothing. */
    char *p = (char *)opts + d->off;
    int ok = 0;
    switch (d->kind) {
    case OPT_U64: {
        uint64_t u;
        if ((ok = parse_u64(value, &u) == 0))
            memcpy(p, &u, sizeof u);
        break;
    }
    case OPT_U32: {
        uint64_t u;
        if ((ok = parse_u64(value, &u) == 0 && u <= UINT32_MAX)) {
            uint32_t v = (uint32_t)u;
            memcpy(p, &v, sizeof v);
        }
        break;
    }
    case OPT_RATE: {
        char *end;
        errno = 0;
        double r = strtod(value, &end);
        /* NaN fails both comparisons. */
        if ((ok = end != value && !*end && !errno && r >= 0.0 && r <= 1.0))
            memcpy(p, &r, sizeof r);
        break;
    }
    case OPT_DATE: {
        int32_t day;
        if ((ok = gen_parse_date(value, &day) == 0))
            memcpy(p, &day, sizeof day);
        break;
    }
    case OPT_FORMAT: {
        enum gen_format f = strcmp(value, "csv") == 0 ? GEN_FORMAT_CSV : GEN_FORMAT_JSONL;
        if ((ok = strcmp(value, "jsonl") == 0 || strcmp(value, "csv") == 0))
            memcpy(p, &f, sizeof f);
        break;
    }
    case OPT_TYPES: {
        unsigned m;
        if ((ok = parse_types(value, &m) == 0))
            memcpy(p, &m, sizeof m);
        break;
    }
    }
    if (!ok) {
        snprintf(errstr, errstr_size, "--%s: invalid value \"%s\" (expected %s)", name, value,
                 d->kind == OPT_RATE ? "a probability 0..1" : d->arg);
        return -1;
    }
    if (strcmp(name, "seed") == 0)
        opts->have_seed = 1;
    else if (strcmp(name, "events") == 0)
        opts->have_events = 1;
    return 0;
}

void gen_opts_init(struct gen_opts *opts)
{
    char err[128];
    memset(opts, 0, sizeof *opts);
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (opt_defs[i].def)
            (void)gen_opts_set(opts, opt_defs[i].name, opt_defs[i].def, err, sizeof err);
}

int gen_opts_check(const struct gen_opts *opts, char *errstr, size_t errstr_size)
{
    if (!opts->have_seed || !opts->have_events) {
        snprintf(errstr, errstr_size, "--%s is required", opts->have_seed ? "events" : "seed");
        return -1;
    }
    if (opts->start_day > opts->end_day) {
        snprintf(errstr, errstr_size, "--start is after --end");
        return -1;
    }
    if (!(opts->types & GEN_TYPE_ALL)) {
        snprintf(errstr, errstr_size, "--types: no type selected");
        return -1;
    }
    if (opts->correct_rate + opts->retract_rate > 1.0) {
        snprintf(errstr, errstr_size, "--correct-rate and --retract-rate add up to more than 1");
        return -1;
    }
    return 0;
}

void gen_opts_print_help(FILE *out)
{
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const struct opt_def *d = &opt_defs[i];
        char head[64];
        snprintf(head, sizeof head, "--%s %s", d->name, d->arg);
        fprintf(out, "  %-26s %s", head, d->help);
        if (d->def)
            fprintf(out, " [%s]", d->def);
        fputc('\n', out);
    }
}
