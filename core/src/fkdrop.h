/* DBR103 for a SQLite body that drops a table other tables reference with
 * ON DELETE CASCADE, SET NULL or SET DEFAULT, in a migration that runs with
 * foreign keys on: SQLite's DROP TABLE deletes the rows first, and the
 * action empties or changes the children (finding 2 of audit aeng). The
 * documented rebuild needs foreign_keys = false (manifest.md). */
#ifndef DBREG_FKDROP_H
#define DBREG_FKDROP_H

#include "diag.h"
#include "model.h"
#include "util.h"

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

/* What apply wraps a SQLite body with foreign keys on in (audit aeng
 * finding 2: a warning alone still loses the rows when ignored). For each
 * DROP TABLE of sql, and each table of the database on conn (read inside
 * the run's transaction) that references it with such an action and that
 * the body did not drop before, *on gets a TEMP trigger that aborts the
 * body when the DROP's cascade deletes or changes one of its rows, naming
 * both tables after DBREG_FKDROP_PREFIX; *off drops the triggers. Nothing
 * appended when no DROP is at risk; a DROP whose children hold no rows
 * that its rows reference is left alone. Returns 0, DBREG_ENOMEM, or the
 * driver's code when the catalog cannot be read. */
#define DBREG_FKDROP_PREFIX "dbreg refused: "
int dbreg_fkdrop_guard(const struct dbreg_driver *drv, struct dbreg_conn *conn, const char *sql, struct dbreg_buf *on,
		       struct dbreg_buf *off);

#endif
