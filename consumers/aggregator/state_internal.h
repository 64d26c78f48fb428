/* What the aggregator's state files (model.c, rollup.c, state.c) share and nobody else
 * uses. */
#ifndef AGG_STATE_INTERNAL_H
#define AGG_STATE_INTERNAL_H

#include <stdint.h>

#include "state.h"

/* Day windows are numbered by days since 1970-01-01 (Asia/Shanghai), months by
 * year * 12 + month - 1. */
uint16_t agg_day_number(int64_t ms);
uint16_t agg_month_number(int64_t ms);

/* The number of window name w of a kind (a campaign name is interned into the model, with
 * *interned = 1 when new); -1 when the name does not parse. */
int agg_window_number(struct agg_model *m, int kind, const char *w, int *interned);

/* Adds v to dimension dim, symbol sym of r (an entry back at 0 is dropped). 0 or -1. */
int agg_dim_add(struct agg_rollup *r, int dim, int sym, int64_t v);

/* Frees a heap rollup and its dimensions (an op_map value destructor). */
void agg_rollup_free(void *p);

#endif
