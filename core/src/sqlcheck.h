/* Internal API of the static SQL checks (sqlcheck.c): the registry pass
 * (DBR043, DBR044, DBR046, DBR103), and the entry point that analyses one
 * PostgreSQL body on its own, for unit tests and the corpus. */
#ifndef DBREG_SQLCHECK_H
#define DBREG_SQLCHECK_H

#include "dbreg.h"
#include "registry.h"

#include <stdbool.h>
#include <stddef.h>

/* Every PostgreSQL body of the registry, findings appended to its
 * diagnostics. Returns 0 or DBREG_ENOMEM. */
int dbreg_sqlcheck_registry(struct dbreg_registry *reg);

/* The same checks, their findings appended to dst and nothing written to
 * reg (a thread beside the planner: validate.c). */
int dbreg_sqlcheck_registry_into(struct dbreg_diag_list *dst, const struct dbreg_registry *reg);

/* Parses `sql` (NUL-terminated) with the PostgreSQL grammar and appends
 * DBR044 (syntax), DBR043 (not idempotent) and, when `up` is true, DBR103
 * (unsafe on a live database) to `diags`, positioned inside `sql` itself
 * (line 1, column 1 is its first byte) and attributed to `file`. No table
 * rules (DBR046): those need a registry. Returns 0 or DBREG_ENOMEM. */
int dbreg_sqlcheck_text(struct dbreg_diag_list *diags, const char *file, const char *sql, bool up);

/* The type the PostgreSQL up bodies of a package leave each column with,
 * read from their CREATE TABLE, ADD COLUMN, ALTER COLUMN TYPE and RENAME
 * statements in migration order: what generate compares the declared
 * types with on PostgreSQL's side, and its downs recreate there, when the
 * schema it replayed is SQLite's (whose types say only the storage class).
 * A type is NULL when it is not one spelling (an array); a DO block's
 * statements are not read. */
struct dbreg_pg_coltype {
	char *table, *column, *type;
};

struct dbreg_pg_coltypes {
	struct dbreg_pg_coltype *v;
	size_t n;
};

int dbreg_sqlcheck_pg_coltypes(const struct dbreg_package *pkg, struct dbreg_pg_coltypes *out);
/* The type of table.column, or NULL. */
const char *dbreg_pg_coltype(const struct dbreg_pg_coltypes *t, const char *table, const char *column);
void dbreg_pg_coltypes_dispose(struct dbreg_pg_coltypes *t);

#endif
