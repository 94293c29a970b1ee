/* What cache.c needs of state.c: the state file's handle. (state.c drops
 * a target's no-op memo itself when it rewrites the history copy.) */
#ifndef DBREG_CACHE_H
#define DBREG_CACHE_H

#include "dbreg.h"

#include <sqlite3.h>

/* The state file's database handle (state.c); borrowed. */
sqlite3 *dbreg_state_db(struct dbreg_state *st);

#endif
