/* DBR047: the schema a package's migrations produce, compared with the
 * tables it declares. Bodies run through the SQLite driver on an in-memory
 * database, and the catalog read back is compared table by table, so
 * reading a catalog is written once (in the driver) for verify and for this
 * check.
 *
 * Every package runs alone, on a fresh in-memory database of its own that
 * is closed once its tables are read: SQLite re-parses the whole schema on
 * each ALTER TABLE ... ADD COLUMN, so replaying the registry on one
 * database costs time quadratic in its size, while a package alone costs
 * the same whatever the registry around it. A fresh database in autocommit
 * with no rollback journal (the sandbox turns it off) is cheaper than a
 * transaction rolled back on a reused one: nothing is ever undone, the
 * database is thrown away instead. Only the tables the package declares or
 * created are read back.
 *
 * A package may use tables of its dependencies or of core (INSERT seed rows
 * into them, a trigger or an index on them, rows whose foreign key SQLite
 * checks). They are not replayed up front, since a dependency closure can be
 * most of the registry: only when a package fails with "no such table" is
 * it run again, on a fresh database, after the migrations of core and of
 * all its dependencies (transitively, in plan order), and the failure of
 * that second run, if any, is the one reported. Tables of packages it does
 * not depend on are never there, as on a real database where the plan may
 * order them after it.
 *
 * The database is confined (the driver's sandbox): no ATTACH, no VACUUM
 * INTO, and a body running longer than RP_BUDGET_MS is stopped and
 * reported. */
#include "checkcache.h"
#include "diag.h"
#include "inputs.h"
#include "dbr047.h"
#include "fkdrop.h"
#include "replay.h"
#include "util.h"
#include "workers.h"

#include "dbreg/driver.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One worker's view: the package it checks, where its findings go (a
 * list per package, merged in plan order so output never depends on
 * threads), and its failure, kept here until the workers are joined. */
struct rp_ctx {
	const struct dbreg_registry *reg;
	const struct dbreg_package *pkg;
	struct dbreg_diag_list *diags;
	bool alone;                    /* the package's replay ran alone: no dependency was pulled in */
	struct dbreg_diag_list fk;     /* fkdrop.h's findings of the package's last run */
	int rc;
	char err[512];
};

/* Keeps the first failure: "what: detail". */
static int rp_fail(struct rp_ctx *c, int code, const char *what, const char *detail)
{
	if (c->rc == 0) {
		c->rc = code;
		snprintf(c->err, sizeof c->err, "%s: %.400s", what, detail);
	}
	return c->rc;
}

static void rp_diag(struct rp_ctx *c, struct dbreg_pos pos, const char *table, const char *column,
		    const char *migration, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void rp_diag(struct rp_ctx *c, struct dbreg_pos pos, const char *table, const char *column,
		    const char *migration, const char *hint, const char *fmt, ...)
{
	struct dbreg_dbr047 r = {.diags = c->diags, .pkg = c->pkg, .dialect = DBREG_DIALECT_SQLITE};
	va_list ap;
	va_start(ap, fmt);
	if (dbreg_dbr047_vadd(&r, pos, table, column, migration, hint, fmt, ap) != 0)
		c->rc = DBREG_ENOMEM;
	va_end(ap);
}

static int rp_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether name is among the sorted table names of the database before the
 * package ran. */
static bool rp_existed(char *const *before, size_t n_before, const char *name)
{
	return n_before && bsearch(&name, before, n_before, sizeof *before, rp_cmp_str) != NULL;
}

/* replay.h */
const char *dbreg_replay_where_named(const struct dbreg_package *pkg, enum dbreg_dialect dialect, const char *table,
				     struct dbreg_pos *pos)
{
	size_t n = strlen(table);
	for (size_t k = 0; k < pkg->n_migrations; k++) {
		const struct dbreg_migration *m = &pkg->migrations[k];
		const struct dbreg_sql *b = dbreg_migration_body(m, dialect, true);
		if (!b || !b->text || !b->doc)
			continue;
		for (const char *at = b->text; *at; at++) {
			if (strncasecmp(at, table, n) != 0)
				continue;
			char before = at > b->text ? at[-1] : ' ', after = at[n];
			bool word = (before == ' ' || before == '"' || before == '\n' || before == '\t' ||
				     before == '`' || before == '[' || before == '.') &&
				    !(after == '_' || (after >= 'a' && after <= 'z') || (after >= 'A' && after <= 'Z') ||
				      (after >= '0' && after <= '9'));
			if (word) {
				dbreg_sql_loc(b, (size_t)(at - b->text), &pos->line, &pos->column);
				return m->id;
			}
		}
	}
	return NULL;
}

/* Compares one package's declared tables with the catalog; `before` holds
 * the sorted table names before its migrations ran, to tell which tables it
 * created. */
static void rp_compare(struct rp_ctx *c, char *const *before, size_t n_before, const struct dbreg_catalog *after)
{
	const struct dbreg_package *pkg = c->pkg;
	struct dbreg_schema *want = NULL, *have = NULL;
	struct dbreg_sdiff_list diffs = DBREG_SDIFF_LIST_INIT;
	int rc = dbreg_schema_new(&want, DBREG_SCHEMA_DECLARED, DBREG_DIALECT_SQLITE);
	if (rc == 0)
		rc = dbreg_schema_new(&have, DBREG_SCHEMA_CATALOG, DBREG_DIALECT_SQLITE);
	if (rc == 0)
		rc = dbreg_schema_add_package(want, pkg);
	if (rc == 0)
		rc = dbreg_schema_add_catalog(have, after);
	static const struct dbreg_sdiff_opts opts = {.defaults = true, .extra_tables = true};
	if (rc == 0)
		rc = dbreg_schema_diff(&diffs, want, have, &opts);
	if (rc)
		c->rc = rc;
	for (size_t i = 0; i < diffs.len && c->rc == 0; i++) {
		const struct dbreg_sdiff *d = &diffs.items[i];
		if (d->kind != DBREG_SDIFF_TABLE_EXTRA) {
			struct dbreg_dbr047 r = {.diags = c->diags, .pkg = pkg, .dialect = DBREG_DIALECT_SQLITE};
			if (dbreg_dbr047_render(&r, d) != 0)
				c->rc = DBREG_ENOMEM;
			continue;
		}
		const char *name = d->have_table->name;
		if (rp_existed(before, n_before, name))
			continue;
		/* A table another package declares is DBR046's finding (ownership). */
		bool elsewhere = false;
		for (size_t p = 0; p < c->reg->n_packages && !elsewhere; p++)
			elsewhere = dbreg_package_table(c->reg->packages[p], name) != NULL;
		if (elsewhere)
			continue;
		struct dbreg_pos where = pkg->pos;
		const char *mig = dbreg_replay_where_named(pkg, DBREG_DIALECT_SQLITE, name, &where);
		rp_diag(c, where, name, NULL, mig, "declare it under [tables.NAME], or drop it in a migration",
			"the migrations of %s create table %s, which the package does not declare",
			pkg->name ? pkg->name : pkg->file, name);
	}
	dbreg_sdiff_list_dispose(&diffs);
	dbreg_schema_free(want);
	dbreg_schema_free(have);
}

/* Codes that make a package's comparison meaningless: its declarations
 * are broken (unknown keys, wrong types, bad names or column types, missing
 * keys) or its migrations are (duplicate ids, bad versions), so any
 * difference would repeat those findings. */
static bool rp_broken_in(const struct dbreg_diag_list *list, const struct dbreg_package *pkg);

static const char *const rp_blocking[] = {"DBR001", "DBR010", "DBR013", "DBR014", "DBR025",
					  "DBR026", "DBR028", "DBR029", "DBR040", "DBR041", NULL};

bool dbreg_replay_package_broken(const struct dbreg_registry *reg, const struct dbreg_package *pkg)
{
	return rp_broken_in(&reg->diags, pkg);
}

/* Whether list holds a finding that makes pkg's comparison meaningless. */
static bool rp_broken_in(const struct dbreg_diag_list *list, const struct dbreg_package *pkg)
{
	if (!pkg->name)
		return true;
	for (size_t i = 0; i < list->len; i++) {
		const struct dbreg_diag *d = &list->items[i];
		if (d->severity != DBREG_SEV_ERROR)
			continue;
		bool mine = (d->package && strcmp(d->package, pkg->name) == 0) ||
			    (!d->package && d->file && pkg->file && strcmp(d->file, pkg->file) == 0);
		if (!mine)
			continue;
		for (size_t k = 0; rp_blocking[k]; k++)
			if (strcmp(d->code, rp_blocking[k]) == 0)
				return true;
	}
	return false;
}

enum rp_result { RP_DONE, RP_SKIPPED, RP_FAILED };

/* Runs a package's SQLite up bodies. RP_SKIPPED when a migration has no
 * SQLite body: a package written for PostgreSQL only cannot be replayed
 * here, and DBR042 belongs to planning for SQLite, so nothing is reported
 * for it. RP_FAILED when a body fails, with *failed set to its migration
 * and the database's words in conn->err. With c (the package checked, not
 * a dependency pulled in), each body's DROP TABLEs are checked against the
 * tables the bodies before it made (fkdrop.h), into c->fk, emptied first:
 * only the last run's findings count. */
static bool rp_replayable(const struct dbreg_package *pkg)
{
	for (size_t i = 0; i < pkg->n_migrations; i++)
		if (!dbreg_migration_body(&pkg->migrations[i], DBREG_DIALECT_SQLITE, true))
			return false;
	return true;
}

bool dbreg_registry_package_replayable(const struct dbreg_registry *reg, size_t i)
{
	return reg && i < reg->n_packages && rp_replayable(reg->packages[i]);
}

static enum rp_result rp_run(const struct dbreg_package *pkg, const struct dbreg_driver *drv, struct dbreg_conn *conn,
			     const struct dbreg_migration **failed, struct rp_ctx *c)
{
	if (c)
		dbreg_diag_list_dispose(&c->fk);
	if (!rp_replayable(pkg))
		return RP_SKIPPED;
	/* A body the SQL checks refuse for its size (DBR044) is not run: a
	 * million statements would take longer than the checks may. */
	for (size_t i = 0; i < pkg->n_migrations; i++) {
		const struct dbreg_sql *body = dbreg_migration_body(&pkg->migrations[i], DBREG_DIALECT_SQLITE, true);
		/* Every statement has a character of its own: a body no longer
		 * than the limit cannot hold more statements (no need to count). */
		if (!body->text || body->len <= DBREG_MAX_SQL_STATEMENTS)
			continue;
		struct dbreg_sql_shape sh;
		dbreg_sql_shape(body->text, body->len, &sh);
		if (sh.statements > DBREG_MAX_SQL_STATEMENTS)
			return RP_SKIPPED;
	}
	for (size_t i = 0; i < pkg->n_migrations; i++) {
		const struct dbreg_migration *m = &pkg->migrations[i];
		const struct dbreg_sql *body = dbreg_migration_body(m, DBREG_DIALECT_SQLITE, true);
		if (!body || !body->text)
			continue;
		if (c && c->rc == 0 && dbreg_fkdrop_check(&c->fk, c->reg, pkg, m, drv, conn) != 0)
			c->rc = DBREG_ENOMEM;
		if (drv->exec(conn, body->text) == 0)
			continue;
		if (failed)
			*failed = m;
		return RP_FAILED;
	}
	return RP_DONE;
}

/* Reports the failure rp_run left in conn->err. */
static void rp_report(struct rp_ctx *c, const struct dbreg_migration *m, const struct dbreg_conn *conn)
{
	struct dbreg_dbr047 r = {.diags = c->diags, .pkg = c->pkg, .dialect = DBREG_DIALECT_SQLITE};
	if (dbreg_dbr047_failed(&r, m, dbreg_migration_body(m, DBREG_DIALECT_SQLITE, true), conn->err.position,
				"fix the SQLite body (up_sqlite) so the package's schema can be checked", conn->err.message) != 0)
		c->rc = DBREG_ENOMEM;
}

/* A wall-time budget per body: far above any real migration on an empty
 * in-memory database, short enough that a runaway query does not stall
 * validate. */
#define RP_BUDGET_MS 2000

/* The replay's state shared by its steps. */
struct rp_run_state {
	const struct dbreg_driver *drv;
	struct dbreg_conn *conn;       /* the current run's database, or NULL */
	size_t *order;                 /* plan order: indexes into reg->packages */
	bool *mark;                    /* per package index: in the current closure */
	bool *need;                    /* per package index: replayed before a retry */
	const bool *broken;            /* per package index: dbreg_replay_package_broken */
};

/* The table names of the database, sorted. */
static int rp_names(struct rp_ctx *c, struct rp_run_state *s, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	int rc;
	if (s->drv->version >= 2 && s->drv->table_names) {
		rc = s->drv->table_names(s->conn, names, n);
	} else {
		struct dbreg_catalog cat = {0};
		rc = s->drv->catalog_read(s->conn, &cat);
		if (rc == 0 && cat.n_tables && !(*names = calloc(cat.n_tables, sizeof **names)))
			rc = DBREG_ENOMEM;
		for (size_t i = 0; rc == 0 && i < cat.n_tables; i++) {
			if (!((*names)[i] = dbreg_strdup(cat.tables[i].name ? cat.tables[i].name : "")))
				rc = DBREG_ENOMEM;
			*n = i + 1;
		}
		dbreg_catalog_dispose(&cat);
		if (rc == 0)
			qsort(*names, *n, sizeof **names, rp_cmp_str);
	}
	if (rc == DBREG_ENOMEM)
		return c->rc = DBREG_ENOMEM;
	if (rc != 0)
		return rp_fail(c, DBREG_ECONNECT, "cannot read the replay catalog", s->conn->err.message);
	return 0;
}

static void rp_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/* The catalog of the tables c->pkg declares and of those it created (in
 * `after` but not in `before`), then the comparison. */
static void rp_check(struct rp_ctx *c, struct rp_run_state *s, char **before, size_t n_before)
{
	/* A package that ran alone created every table there is: the ones
	 * it declares or created are all of them, read in one go. */
	if (n_before == 0) {
		struct dbreg_catalog all = {0};
		int rc = s->drv->catalog_read(s->conn, &all);
		if (rc == DBREG_ENOMEM)
			c->rc = DBREG_ENOMEM;
		else if (rc != 0)
			rp_fail(c, DBREG_ECONNECT, "cannot read the replay catalog", s->conn->err.message);
		else
			rp_compare(c, NULL, 0, &all);
		dbreg_catalog_dispose(&all);
		return;
	}
	char **after = NULL;
	size_t n_after = 0;
	if (rp_names(c, s, &after, &n_after) != 0)
		return;
	const struct dbreg_package *pkg = c->pkg;
	const char **want = calloc(pkg->n_tables + n_after + 1, sizeof *want);
	size_t n_want = 0;
	if (!want) {
		c->rc = DBREG_ENOMEM;
		rp_names_free(after, n_after);
		return;
	}
	for (size_t i = 0; i < pkg->n_tables; i++)
		if (pkg->tables[i].name)
			want[n_want++] = pkg->tables[i].name;
	for (size_t i = 0; i < n_after; i++)
		if (!rp_existed(before, n_before, after[i]))
			want[n_want++] = after[i];
	struct dbreg_catalog cat = {0};
	int rc = s->drv->version >= 2 && s->drv->catalog_read_tables
			 ? s->drv->catalog_read_tables(s->conn, want, n_want, &cat)
			 : s->drv->catalog_read(s->conn, &cat);
	if (rc == DBREG_ENOMEM)
		c->rc = DBREG_ENOMEM;
	else if (rc != 0)
		rp_fail(c, DBREG_ECONNECT, "cannot read the replay catalog", s->conn->err.message);
	else
		rp_compare(c, before, n_before, &cat);
	dbreg_catalog_dispose(&cat);
	free(want);
	rp_names_free(after, n_after);
}

/* Marks in s->mark the packages the one at plan place `at` depends on,
 * transitively, and every core package (which every package may use);
 * returns how many. */
static size_t rp_mark_deps(const struct dbreg_registry *reg, struct rp_run_state *s, size_t at)
{
	memset(s->mark, 0, reg->n_packages * sizeof *s->mark);
	s->mark[s->order[at]] = true;
	/* The plan order puts every dependency before its dependents, so one
	 * backward sweep reaches the whole closure. */
	for (size_t k = at + 1; k-- > 0;) {
		const struct dbreg_package *p = reg->packages[s->order[k]];
		if (p->core)
			s->mark[s->order[k]] = true;
		if (!s->mark[s->order[k]])
			continue;
		for (size_t d = 0; d < p->n_deps; d++) {
			size_t i = dbreg_registry_index(reg, p->deps[d].name);
			if (i < reg->n_packages)
				s->mark[i] = true;
		}
	}
	s->mark[s->order[at]] = false;
	size_t n = 0;
	for (size_t k = 0; k < at; k++)
		n += s->mark[s->order[k]];
	return n;
}

/* Closes the current run's database: what it holds is never needed again. */
static void rp_close(struct rp_run_state *s)
{
	s->drv->close(s->conn);
	s->conn = NULL;
}

/* Opens a fresh, empty, confined in-memory database for one run. */
static int rp_open(struct rp_ctx *c, struct rp_run_state *s)
{
	char err[256] = "";
	rp_close(s);
	int rc = s->drv->connect(&s->conn, "sqlite::memory:", err, sizeof(err));
	if (rc != 0) {
		s->conn = NULL;
		return rp_fail(c, rc, "cannot open an in-memory SQLite database", err);
	}
	if (s->drv->version >= 2 && s->drv->sandbox && s->drv->sandbox(s->conn, RP_BUDGET_MS) != 0)
		return rp_fail(c, DBREG_ECONNECT, "cannot confine the replay database", s->conn->err.message);
	return 0;
}

/* The plan place of the package (in the closure marked in s->mark) that
 * declares the table SQLite said is missing ("no such table: main.x"), or
 * SIZE_MAX when there is none. */
static size_t rp_missing_owner(const struct rp_ctx *c, const struct rp_run_state *s, size_t at, const char *msg)
{
	const char *p = strstr(msg, "no such table: ");
	if (!p)
		return SIZE_MAX;
	p += strlen("no such table: ");
	if (strncmp(p, "main.", 5) == 0)
		p += 5;
	char name[256];
	size_t n = 0;
	while (p[n] && p[n] != ' ' && p[n] != ',' && p[n] != ';' && n + 1 < sizeof name) {
		name[n] = p[n];
		n++;
	}
	name[n] = '\0';
	for (size_t k = 0; k < at; k++)
		if (s->mark[s->order[k]] && dbreg_package_table(c->reg->packages[s->order[k]], name))
			return k;
	return SIZE_MAX;
}

/* Replays the package at plan place `at` on a fresh database of its own,
 * compares, and closes the database. When it fails for a table
 * that one of its dependencies (or core) declares, it runs again after
 * that package; and so on, each missing table adding its owner (and a
 * needed package's own missing tables theirs), so only the packages really
 * used are replayed, however deep the dependency graph. */
static void rp_package(struct rp_ctx *c, struct rp_run_state *s, size_t at)
{
	const struct dbreg_driver *drv = s->drv;
	char **before = NULL;
	size_t n_before = 0;
	const struct dbreg_migration *failed = NULL;
	/* Past the time budget: validate says so once (validate.c). */
	if (dbreg_past(c->reg->check_deadline_ms))
		return;
	/* A fresh database: no table exists before the package runs. */
	if (rp_open(c, s) != 0)
		goto out;
	enum rp_result r = rp_run(c->pkg, drv, s->conn, &failed, c);
	c->alone = r != RP_FAILED;
	/* The package's own failure (reported), and the one whose missing
	 * table names the next package to replay (the package's or a needed
	 * dependency's). */
	struct dbreg_db_error own = s->conn->err, look = s->conn->err;
	bool marked = false;
	for (size_t round = 0; r == RP_FAILED && round < at; round++) {
		if (!marked) {
			rp_mark_deps(c->reg, s, at);
			memset(s->need, 0, c->reg->n_packages * sizeof *s->need);
			marked = true;
		}
		size_t owner = rp_missing_owner(c, s, at, look.message);
		if (owner == SIZE_MAX || s->need[s->order[owner]])
			break;
		s->need[s->order[owner]] = true;
		rp_names_free(before, n_before);
		before = NULL;
		n_before = 0;
		if (rp_open(c, s) != 0)
			goto out;
		bool again = false;
		for (size_t k = 0; k < at && !again; k++) {
			const struct dbreg_package *dep = c->reg->packages[s->order[k]];
			/* A broken dependency's own failure is reported on it. */
			if (!s->need[s->order[k]] || s->broken[s->order[k]])
				continue;
			if (rp_run(dep, drv, s->conn, NULL, NULL) == RP_FAILED) {
				size_t o = rp_missing_owner(c, s, at, s->conn->err.message);
				if ((again = o != SIZE_MAX && !s->need[s->order[o]]))
					look = s->conn->err;
			}
		}
		if (again)
			continue; /* the next round adds the dependency's dependency */
		if (rp_names(c, s, &before, &n_before) != 0)
			goto out;
		r = rp_run(c->pkg, drv, s->conn, &failed, c);
		own = look = s->conn->err;
	}
	s->conn->err = own;
	if (c->rc == 0 && dbreg_diag_list_move(c->diags, &c->fk) != 0)
		c->rc = DBREG_ENOMEM;
	/* A failed migration is reported; its package's tables are then left
	 * unchecked, since every difference would follow from it. */
	if (r == RP_FAILED)
		rp_report(c, failed, s->conn);
	else if (r == RP_DONE && c->rc == 0)
		rp_check(c, s, before, n_before);
out:
	dbreg_diag_list_dispose(&c->fk);
	rp_names_free(before, n_before);
	rp_close(s);
}

/* At most this many threads replay, each package on a database of its own. */
#define RP_MAX_WORKERS 4

/* What every worker shares, and each worker's own state (by worker number). */
struct rp_job {
	size_t *order;
	const bool *broken;
	bool any_broken;               /* some package is: closures are looked at */
	struct rp_ctx *ctx;
	struct rp_run_state *state;
};

/* Whether a package the one at plan place k may pull in is broken (and
 * so left out of its replay). */
static bool rp_closure_broken(const struct dbreg_registry *reg, struct rp_run_state *s, size_t k)
{
	rp_mark_deps(reg, s, k);
	for (size_t j = 0; j < k; j++)
		if (s->mark[s->order[j]] && s->broken[s->order[j]])
			return true;
	return false;
}

/* Replays the package at plan place k into out (dbreg_worker_fn). */
static int rp_item(void *arg, size_t worker, size_t k, struct dbreg_diag_list *out)
{
	struct rp_job *job = arg;
	struct rp_ctx *c = &job->ctx[worker];
	if (job->broken[job->order[k]] || (c->reg->check_only && !c->reg->check_only[job->order[k]]))
		return 0;   /* broken, or a reload keeps its findings (reload.c) */
	size_t i = job->order[k];
	struct dbreg_check_slot *slot = DBREG_CHECK_SLOT(c->reg, i, DBREG_CC_REPLAY);
	/* A stored result (checkcache.c) holds when the package ran alone, or
	 * when every package its replay may pull in ran then and runs now:
	 * none is broken. */
	if (slot && slot->hit && slot->hit_alone)
		return dbreg_diag_list_copy(out, &slot->found);
	bool whole = slot && !(job->any_broken && rp_closure_broken(c->reg, &job->state[worker], k));
	if (slot && slot->hit && whole)
		return dbreg_diag_list_copy(out, &slot->found);
	c->pkg = c->reg->packages[i];
	c->diags = out;
	c->alone = false;
	rp_package(c, &job->state[worker], k);
	if (c->rc == 0 && whole && !dbreg_past(c->reg->check_deadline_ms)) {
		c->rc = dbreg_diag_list_copy(&slot->found, out);
		slot->captured = c->rc == 0;
		slot->alone = c->alone;
	}
	return c->rc;
}

int dbreg_replay_check(struct dbreg_registry *reg, const struct dbreg_graph *g)
{
	const struct dbreg_diag_list *found[] = {&reg->diags};
	char err[512] = "";
	int rc = dbreg_replay_check_into(&reg->diags, reg, g, found, 1, err, sizeof err);
	return rc && err[0] ? dbreg_registry_fail(reg, rc, "%s", err) : rc;
}

int dbreg_replay_check_into(struct dbreg_diag_list *dst, const struct dbreg_registry *reg, const struct dbreg_graph *g,
			    const struct dbreg_diag_list *const *found, size_t n_found, char *err, size_t errsize)
{
	err[0] = '\0';
	/* A cycle is DBR032's finding: without an order there is nothing to replay. */
	size_t *order = g->order;
	if (!order)
		return 0;
	int rc;
	/* Looked up (and the built-in drivers registered) before any thread starts. */
	const struct dbreg_driver *drv = dbreg_driver_for_url("sqlite::memory:");
	if (!drv) {
		snprintf(err, errsize, "no SQLite driver to replay migrations on");
		return DBREG_ECONNECT;
	}
	size_t n = reg->n_packages;
	size_t n_workers = dbreg_workers_count(n, RP_MAX_WORKERS);
	bool *broken = calloc(n + 1, sizeof *broken);
	struct rp_ctx *ctx = calloc(n_workers, sizeof *ctx);
	struct rp_run_state *state = calloc(n_workers, sizeof *state);
	rc = broken && ctx && state ? 0 : DBREG_ENOMEM;
	for (size_t i = 0; i < n_workers && rc == 0; i++) {
		ctx[i].reg = reg;
		state[i] = (struct rp_run_state){.drv = drv, .order = order, .broken = broken};
		state[i].mark = calloc(n + 1, sizeof *state[i].mark);
		state[i].need = calloc(n + 1, sizeof *state[i].need);
		if (!state[i].mark || !state[i].need)
			rc = DBREG_ENOMEM;
	}
	if (rc == 0) {
		bool any = false;
		for (size_t i = 0; i < n; i++) {
			for (size_t f = 0; f < n_found && !broken[i]; f++)
				broken[i] = rp_broken_in(found[f], reg->packages[i]);
			any |= broken[i];
		}
		struct rp_job job = {.order = order, .broken = broken, .any_broken = any, .ctx = ctx, .state = state};
		rc = dbreg_workers_run(dst, n, n_workers, rp_item, &job);
	}
	/* A worker's failure keeps its message; out of memory has none. */
	for (size_t i = 0; i < n_workers && ctx && rc != 0 && rc != DBREG_ENOMEM; i++)
		if (ctx[i].rc != 0) {
			rc = ctx[i].rc;
			snprintf(err, errsize, "%s", ctx[i].err);
			break;
		}
	for (size_t i = 0; state && i < n_workers; i++) {
		free(state[i].mark);
		free(state[i].need);
	}
	free(state);
	free(ctx);
	free(broken);
	return rc;
}
