/* What cache.c and state.c share: the state file's handle, and the memo
 * rows a rewritten history invalidates. */
#ifndef DBREG_CACHE_H
#define DBREG_CACHE_H

#include "dbreg.h"

#include <sqlite3.h>

/* The state file's database handle (state.c); borrowed. */
sqlite3 *dbreg_state_db(struct dbreg_state *st);

/* Drops the no-op memo of a target (its redacted name): called inside the
 * transaction that rewrites the target's history copy. Returns 0 or -1. */
int dbreg_cache_forget_target(struct dbreg_state *st, const char *target);

#endif
