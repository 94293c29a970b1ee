/* A scratch database for the developer commands (generate, test): an
 * in-memory SQLite database, or a PostgreSQL schema of its own that is
 * dropped when it is closed. Migrations run there one body at a time and
 * the schema is read back through the schema model. */
#ifndef DBREG_SANDBOX_H
#define DBREG_SANDBOX_H

#include "registry.h"
#include "schema.h"

struct dbreg_sandbox {
	const struct dbreg_driver *drv;
	struct dbreg_conn *conn;
	enum dbreg_dialect dialect;
	char schema[64];               /* PostgreSQL: the scratch schema; "" for SQLite */
	char err[1024];                /* the last failure */
};

/* Opens an in-memory SQLite database (url NULL) or a scratch schema on the
 * PostgreSQL server at url. On PostgreSQL everything the bodies do runs in
 * one transaction that close rolls back, each body under a savepoint: a
 * statement that names another schema (public.t) changes nothing there.
 * Returns 0, DBREG_ECONNECT/DBREG_EUSAGE with the message in sb->err. */
int dbreg_sandbox_open(struct dbreg_sandbox *sb, const char *url);

/* Closes it; a PostgreSQL scratch schema is dropped first. NULL-safe. */
void dbreg_sandbox_close(struct dbreg_sandbox *sb);

/* Runs one body (of a migration with that `transaction`). Returns 0 or
 * DBREG_EMIGRATION with the database's words in sb->err (on PostgreSQL the
 * body's savepoint undone, so the next one runs; a body with transaction
 * statements of its own is refused, not run). */
int dbreg_sandbox_exec(struct dbreg_sandbox *sb, const char *sql, bool transaction);

/* A copy of sql with every CONCURRENTLY outside strings, quoted names and
 * comments blanked out (same length, so positions still match): how a
 * scratch database runs a transaction = false body in one round trip. */
char *dbreg_sql_without_concurrently(const char *sql);

/* Runs, in plan order, every migration (up) of the core package and of the
 * packages pkg depends on, directly or not, but not pkg's own. Returns 0
 * or DBREG_EMIGRATION (sb->err names the package and migration). */
int dbreg_sandbox_dependencies(struct dbreg_sandbox *sb, const struct dbreg_registry *reg,
			       const struct dbreg_package *pkg);

/* The tables pkg's own migrations create, run (up) after its dependencies'
 * (dbreg_sandbox_dependencies), read back into *out: what its migrations
 * produce, up to version upto (NULL: all of them). Returns 0, or
 * DBREG_EINVALID (a body missing or failing), DBREG_EMIGRATION,
 * DBREG_ECONNECT or DBREG_ENOMEM, with the message in sb->err. */
int dbreg_sandbox_package_schema(struct dbreg_sandbox *sb, struct dbreg_schema **out, const struct dbreg_registry *reg,
				 const struct dbreg_package *pkg, const struct dbreg_semver *upto);

/* Names of the tables in the database; free with dbreg_strv_free. */
int dbreg_sandbox_tables(struct dbreg_sandbox *sb, char ***names, size_t *n);

/* The schema of the named tables (all when names is NULL). */
int dbreg_sandbox_read(struct dbreg_sandbox *sb, struct dbreg_schema **out, char *const *names, size_t n);

#endif
