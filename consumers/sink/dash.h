/* The dashboard part of the sink's page: one campaign's headline figures, a bar chart of the
 * regions one level below the chosen one (links drill down), the daily trend and the funding
 * split by source and purpose, all computed from the stored rollups at request time. */
#ifndef SINK_DASH_H
#define SINK_DASH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "regions.h"
#include "store.h"

enum sink_metric {
    SINK_METRIC_FUNDING,
    SINK_METRIC_VISITS,
    SINK_METRIC_WORKERS,
    SINK_METRIC_SURVEYS
};
#define SINK_METRICS 4

/* "funding", "visits", "workers", "surveys" → metric. 0 or -1. */
int sink_metric_parse(const char *s, enum sink_metric *m);
const char *sink_metric_name(enum sink_metric m);

struct sink_dash_opts {
    const char *campaign; /* wanted campaign name; NULL or absent: the latest */
    uint32_t region;      /* 0: the whole country (provinces as bars) */
    enum sink_metric metric;
    int zh;
};

/* Appends the dashboard <section>. The latest campaign is the one whose newest province
 * rollup has the latest last_event_at. Writes the campaign shown into chosen (empty when the
 * store holds none; size SINK_KEY_MAX is enough). 0 or -1 (allocation). */
int sink_dash_render(const struct sink_store *s, const struct op_regions *regions,
                     const struct sink_dash_opts *o, struct op_buf *out, char *chosen,
                     size_t chosen_size);

#endif
