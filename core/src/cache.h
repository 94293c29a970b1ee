/* What cache.c needs of state.c (the state file's handle) and what it
 * shares with the core's other users of the no-op memo (the fleet,
 * stamp.c). state.c drops a target's memo itself when it rewrites the
 * history copy. */
#ifndef DBREG_CACHE_H
#define DBREG_CACHE_H

#include "dbreg.h"

#include <sqlite3.h>

/* The state file's database handle (state.c); borrowed. */
sqlite3 *dbreg_state_db(struct dbreg_state *st);

/* Stores target's no-op memo, without a stamp: this build found the
 * registry of that checksum to plan nothing for what target holds, whose
 * plan digest (regdigest.h, every installed package) is digest, and the
 * state file's copy of its history is what it holds. The caller made sure
 * (dbreg_cache_noop_store, a fleet's no-op visit). Returns 0,
 * DBREG_ENOMEM or DBREG_EIO. */
int dbreg_cache_noop_put(struct dbreg_state *st, const char *target, enum dbreg_dialect dialect,
			 const char *registry_checksum, const char *digest);

/* The content stamp kept with target's memo (stamp.c), when this build
 * stored the memo for the registry of that checksum: malloc'd, NULL when
 * there is none. */
char *dbreg_cache_noop_stamp(struct dbreg_state *st, const char *target, const char *registry_checksum);

/* Keeps stamp with target's memo, if the memo is this build's for the
 * registry of that checksum (else nothing). Returns 0, DBREG_ENOMEM or
 * DBREG_EIO. */
int dbreg_cache_noop_set_stamp(struct dbreg_state *st, const char *target, const char *registry_checksum,
			       const char *stamp);

/* Drops the stamp of target's memo, whoever stored it. Returns 0,
 * DBREG_ENOMEM or DBREG_EIO. */
int dbreg_cache_noop_forget_stamp(struct dbreg_state *st, const char *target);

#endif
