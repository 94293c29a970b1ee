/* DBR047 on a reachable PostgreSQL server: the PostgreSQL up bodies of
 * every package replayed in a scratch schema, read back through the schema
 * model and compared with the declared tables by the one differ, so drift
 * in up_postgres bodies is caught before anything is applied.
 *
 * Everything runs in one transaction that is always rolled back: the
 * scratch schema, the tables and whatever else a body does leave nothing
 * behind. Each migration runs under a savepoint, so a failing one is
 * reported and its package (and the packages depending on it) left out,
 * while the others go on. A migration with transaction = false runs without
 * CONCURRENTLY (the word is blanked, so error positions still match the
 * manifest); a body holding transaction statements of its own is not run
 * at all, since its COMMIT would end the transaction that keeps the server
 * unchanged. */
#include "dbr047.h"
#include "sandbox.h"
#include "txcheck.h"
#include "replay.h"
#include "inputs.h"
#include "util.h"

#include "dbreg/driver.h"

#include <pg_query.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Generous for migrations on an empty schema; short enough that a lock
 * held by a live application does not stall validate. */
#define RPG_SETTINGS "SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '60s';"

/* The replay's state shared by its steps. */
struct rpg {
	struct dbreg_registry *reg;
	struct dbreg_conn *conn;
	bool *failed;                  /* per package index: left out (failed, broken, or after one that was) */
	int rc;
};

static void rpg_fail(struct rpg *s, int code, const char *what)
{
	if (s->rc == 0)
		s->rc = dbreg_registry_fail(s->reg, code, "%s: %s", what, s->conn->err.message);
}

static void rpg_exec(struct rpg *s, const char *sql, const char *what)
{
	if (s->rc == 0 && s->conn->driver->exec(s->conn, sql) != 0)
		rpg_fail(s, DBREG_ECONNECT, what);
}

static void rpg_diag(struct rpg *s, const struct dbreg_package *pkg, struct dbreg_pos pos, const char *migration,
		     const char *hint, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void rpg_diag(struct rpg *s, const struct dbreg_package *pkg, struct dbreg_pos pos, const char *migration,
		     const char *hint, const char *fmt, ...)
{
	struct dbreg_dbr047 r = {.diags = &s->reg->diags, .pkg = pkg, .dialect = DBREG_DIALECT_POSTGRES};
	va_list ap;
	va_start(ap, fmt);
	if (s->rc == 0 && dbreg_dbr047_vadd(&r, pos, NULL, NULL, migration, hint, fmt, ap) != 0)
		s->rc = DBREG_ENOMEM;
	va_end(ap);
}

/* Runs one package's PostgreSQL up bodies, each under a savepoint; false
 * (reported) when one fails, and the savepoint undoes it. */
static bool rpg_package(struct rpg *s, const struct dbreg_package *pkg)
{
	for (size_t i = 0; i < pkg->n_migrations && s->rc == 0; i++) {
		const struct dbreg_migration *m = &pkg->migrations[i];
		const struct dbreg_sql *body = dbreg_migration_body(m, DBREG_DIALECT_POSTGRES, true);
		if (!body || !body->text)
			return false; /* no PostgreSQL body: DBR042 when planning, nothing to compare here */
		struct dbreg_pos at = body->pos.line ? body->pos : m->pos;
		if (dbreg_sql_has_transaction_statements(body->text)) {
			rpg_diag(s, pkg, at, m->id, "leave transactions to dbreg: remove BEGIN/COMMIT from the body",
				 "migration %s cannot be replayed on PostgreSQL: its body holds transaction statements",
				 m->id ? m->id : "");
			return false;
		}
		char *sql = m->transaction ? dbreg_strdup(body->text) : dbreg_sql_without_concurrently(body->text);
		if (!sql) {
			s->rc = DBREG_ENOMEM;
			return false;
		}
		rpg_exec(s, "SAVEPOINT dbreg_replay", "cannot set a savepoint");
		bool ok = s->rc == 0 && s->conn->driver->exec(s->conn, sql) == 0;
		free(sql);
		if (s->rc)
			return false;
		if (ok) {
			rpg_exec(s, "RELEASE SAVEPOINT dbreg_replay", "cannot release a savepoint");
			continue;
		}
		struct dbreg_db_error err = s->conn->err;
		rpg_exec(s, "ROLLBACK TO SAVEPOINT dbreg_replay", "cannot roll back to a savepoint");
		if (s->rc)
			return false;
		/* VACUUM, ALTER SYSTEM and their kind cannot run in any transaction:
		 * such a package is left uncompared, which is no finding. */
		if (!m->transaction && strcmp(err.sqlstate, "25001") == 0)
			return false;
		struct dbreg_dbr047 r = {.diags = &s->reg->diags, .pkg = pkg, .dialect = DBREG_DIALECT_POSTGRES};
		if (dbreg_dbr047_failed(&r, m, body, err.position,
					"fix the PostgreSQL body (up_postgres or up) so the package's schema can be checked",
					err.message) != 0)
			s->rc = DBREG_ENOMEM;
		return false;
	}
	return s->rc == 0;
}

/* Whether a package depends on one that was left out. */
static bool rpg_after_failed(const struct rpg *s, const struct dbreg_package *pkg)
{
	for (size_t d = 0; d < pkg->n_deps; d++) {
		size_t k = dbreg_registry_index(s->reg, pkg->deps[d].name);
		if (k < s->reg->n_packages && s->failed[k])
			return true;
	}
	return false;
}

/* The declared tables of the packages that ran, against the scratch schema. */
static void rpg_compare(struct rpg *s)
{
	struct dbreg_registry *reg = s->reg;
	struct dbreg_schema *want = NULL, *have = NULL;
	struct dbreg_sdiff_list diffs = DBREG_SDIFF_LIST_INIT;
	int rc = dbreg_schema_new(&want, DBREG_SCHEMA_DECLARED, DBREG_DIALECT_POSTGRES);
	for (size_t i = 0; i < reg->n_packages && rc == 0; i++)
		if (!s->failed[i])
			rc = dbreg_schema_add_package(want, reg->packages[i]);
	if (rc == 0) {
		rc = dbreg_schema_read_conn(&have, s->conn, NULL, 0);
		if (rc == DBREG_ECONNECT) {
			rpg_fail(s, rc, "cannot read the scratch schema");
			rc = 0;
		}
	}
	const struct dbreg_sdiff_opts opts = {.defaults = true, .extra_tables = true, .conn = s->conn};
	if (rc == 0 && s->rc == 0)
		rc = dbreg_schema_diff(&diffs, want, have, &opts);
	for (size_t i = 0; i < diffs.len && rc == 0 && s->rc == 0; i++) {
		const struct dbreg_sdiff *d = &diffs.items[i];
		if (d->kind != DBREG_SDIFF_TABLE_EXTRA) {
			struct dbreg_dbr047 r = {.diags = &reg->diags,
						 .pkg = dbreg_registry_find(reg, d->want_table->package),
						 .dialect = DBREG_DIALECT_POSTGRES};
			if (r.pkg)
				rc = dbreg_dbr047_render(&r, d);
			continue;
		}
		/* An undeclared table: shown at the first migration that names it.
		 * A table some package declares is DBR046's (ownership), or was
		 * left out with its failed package. */
		const char *name = d->have_table->name;
		bool declared = false;
		for (size_t p = 0; p < reg->n_packages && !declared; p++)
			declared = dbreg_package_table(reg->packages[p], name) != NULL;
		for (size_t p = 0; p < reg->n_packages && !declared; p++) {
			const struct dbreg_package *pkg = reg->packages[p];
			struct dbreg_pos where = pkg->pos;
			const char *mig = s->failed[p] ? NULL : dbreg_replay_where_named(pkg, DBREG_DIALECT_POSTGRES, name, &where);
			if (!mig)
				continue;
			rpg_diag(s, pkg, where, mig, "declare it under [tables.NAME], or drop it in a migration",
				 "the PostgreSQL migrations of %s create table %s, which the package does not declare",
				 pkg->name ? pkg->name : pkg->file, name);
			break;
		}
	}
	if (rc == DBREG_ENOMEM && s->rc == 0)
		s->rc = rc;
	dbreg_sdiff_list_dispose(&diffs);
	dbreg_schema_free(want);
	dbreg_schema_free(have);
}

int dbreg_replay_target(struct dbreg_registry *reg, struct dbreg_conn *conn)
{
	const struct dbreg_driver *drv = conn->driver;
	if (drv->dialect != DBREG_DIALECT_POSTGRES)
		return dbreg_registry_fail(reg, DBREG_EUSAGE,
					   "only a PostgreSQL target replays the PostgreSQL bodies (the SQLite ones are replayed in memory)");
	size_t *order = NULL;
	int rc = dbreg_graph_order(reg, &order);
	if (rc == DBREG_EINVALID)
		return 0; /* a cycle: DBR032, nothing to order */
	if (rc != 0)
		return dbreg_registry_fail(reg, rc, "out of memory");
	struct rpg s = {.reg = reg, .conn = conn};
	s.failed = calloc(reg->n_packages + 1, sizeof *s.failed);
	if (!s.failed) {
		free(order);
		return dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	}
	/* A name no application uses, fresh per run: two validations at once
	 * never meet, and nothing of it outlives the rollback. */
	char scratch[64], setup[256];
	snprintf(scratch, sizeof scratch, "dbreg_validate_%ld_%ld", (long)getpid(), (long)time(NULL));
	snprintf(setup, sizeof setup, RPG_SETTINGS " CREATE SCHEMA %s; SET LOCAL search_path TO %s, public;", scratch,
		 scratch);
	if (drv->begin(conn) != 0) {
		rpg_fail(&s, DBREG_ECONNECT, "cannot begin the replay's transaction");
	} else {
		rpg_exec(&s, setup, "cannot create the scratch schema");
		for (size_t k = 0; k < reg->n_packages && s.rc == 0; k++) {
			size_t i = order[k];
			const struct dbreg_package *pkg = reg->packages[i];
			if (dbreg_replay_package_broken(reg, pkg) || rpg_after_failed(&s, pkg) || !rpg_package(&s, pkg))
				s.failed[i] = true;
		}
		if (s.rc == 0)
			rpg_compare(&s);
		/* Whatever happened: the server keeps nothing of the replay. */
		if (drv->rollback(conn) != 0)
			rpg_fail(&s, DBREG_ECONNECT, "cannot roll the replay back");
	}
	free(s.failed);
	free(order);
	if (s.rc == 0)
		dbreg_diag_list_sort(&reg->diags);
	return s.rc;
}
