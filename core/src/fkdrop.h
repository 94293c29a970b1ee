/* DBR103 for a SQLite body that drops a table other tables reference with
 * ON DELETE CASCADE, SET NULL or SET DEFAULT, in a migration that runs with
 * foreign keys on: SQLite's DROP TABLE deletes the rows first, and the
 * action empties or changes the children (finding 2 of audit aeng). The
 * documented rebuild needs foreign_keys = false (manifest.md). */
#ifndef DBREG_FKDROP_H
#define DBREG_FKDROP_H

#include "diag.h"
#include "model.h"

#include "dbreg/driver.h"

/* Checks migration m of pkg (its SQLite up body) before the replay runs it
 * on conn, whose tables are those the migrations before it made: a DROP
 * TABLE of a table that one of them, or a table another package of reg
 * declares, references with such an action is reported into diags at the
 * statement, unless the body dropped that child first. Nothing for a
 * foreign_keys = false migration or a driver without split. Returns 0 or
 * DBREG_ENOMEM. */
int dbreg_fkdrop_check(struct dbreg_diag_list *diags, const struct dbreg_registry *reg,
		       const struct dbreg_package *pkg, const struct dbreg_migration *m, const struct dbreg_driver *drv,
		       struct dbreg_conn *conn);

#endif
