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

/* The same replay, findings appended to dst and nothing written to reg (a
 * thread beside the planner: validate.c): a package is left out as broken
 * when one of the n_found lists says so (dbreg_replay_package_broken), and
 * a failure's message goes to err. */
int dbreg_replay_check_into(struct dbreg_diag_list *dst, const struct dbreg_registry *reg, const struct dbreg_graph *g,
			    const struct dbreg_diag_list *const *found, size_t n_found, char *err, size_t errsize);

/* Whether a package's declarations or migrations are broken in a way
 * (DBR001, DBR010, DBR013, ...) that makes comparing its schema
 * meaningless: every difference would repeat those findings. */
bool dbreg_replay_package_broken(const struct dbreg_registry *reg, const struct dbreg_package *pkg);

/* The first migration whose up body for the dialect names `table` as a
 * word, and where in the manifest it does (*pos); NULL and *pos unchanged
 * when none does, or when the body sits in an SQL file of its own. */
const char *dbreg_replay_where_named(const struct dbreg_package *pkg, enum dbreg_dialect dialect, const char *table,
				     struct dbreg_pos *pos);

/* DBR047 on a reachable PostgreSQL server (replay_pg.c): every package's
 * PostgreSQL up bodies, in plan order, run in a scratch schema inside one
 * transaction that is always rolled back (a migration with transaction =
 * false runs there without CONCURRENTLY); the scratch schema is read back
 * through the schema model and compared with the declared tables. Findings
 * are appended to the registry's diagnostics. Returns 0, DBREG_ENOMEM,
 * DBREG_EUSAGE when the connection is not to PostgreSQL, DBREG_ECONNECT
 * when the server refuses the scratch schema or the catalog (message in
 * the registry). */
int dbreg_replay_target(struct dbreg_registry *reg, struct dbreg_conn *conn);

#endif
