/* DBR047 (replay.c): each package's SQLite bodies replayed on an in-memory
 * database, read back through the schema model and compared with its
 * declared tables by the one differ. */
#ifndef DBREG_REPLAY_H
#define DBREG_REPLAY_H

#include "graph.h"

/* Appends the findings to the registry's diagnostics; `g` gives the plan
 * order (nothing is replayed on a cycle). Returns 0, DBREG_ENOMEM, or
 * DBREG_ECONNECT when no in-memory database can be had (message in the
 * registry). */
int dbreg_replay_check(struct dbreg_registry *reg, const struct dbreg_graph *g);

#endif
