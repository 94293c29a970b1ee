/* Scratch databases for generate and test: nothing done there outlives
 * the command. SQLite: a fresh in-memory database, confined like the DBR047
 * replay. PostgreSQL: a schema of its own, first on the search path, so
 * unqualified names in the bodies land there; dropped (CASCADE) on close.
 * An interrupt cannot drop it (the handler only cancels), so each scratch
 * schema is held by an advisory lock of its session, and the next open
 * drops the ones whose session has ended. */
#include "sandbox.h"
#include "txcheck.h"
#include "graph.h"
#include "inputs.h"
#include "target.h"
#include "util.h"

#include "dbreg/driver.h"

#include <pg_query.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SANDBOX_BUDGET_MS 10000
/* As the DBR047 replay on a server has them (replay_pg.c). */
#define SANDBOX_SETTINGS "SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '60s';"

/* The first key of the scratch schemas' advisory locks (the second is the
 * schema name's hash): the two-key space, apart from the registry lock's. */
#define SANDBOX_LOCK "1684173415"
/* Drops the scratch schemas left by runs that ended without their close
 * (an interrupt, a crash): the ones whose lock no session holds, named
 * exactly as dbreg_sandbox_open names them (a user's dbreg_scratch_x is
 * not ours). One this
 * role may not drop is left alone; a cancel still stops the loop. It is
 * part of a format: %% is one %. */
#define SANDBOX_SWEEP                                                                                    \
	"DO $dbreg$ DECLARE s name; BEGIN "                                                             \
	"FOR s IN SELECT nspname FROM pg_namespace WHERE nspname ~ '^dbreg_scratch_[0-9]+_[0-9]+$' LOOP "      \
	"IF pg_try_advisory_lock(" SANDBOX_LOCK ", hashtext(s)) THEN "                                  \
	"BEGIN EXECUTE format('DROP SCHEMA %%I CASCADE', s); EXCEPTION WHEN OTHERS THEN NULL; END; "     \
	"PERFORM pg_advisory_unlock(" SANDBOX_LOCK ", hashtext(s)); END IF; END LOOP; END $dbreg$;"

static int sandbox_fail(struct dbreg_sandbox *sb, int rc, const char *what)
{
	snprintf(sb->err, sizeof sb->err, "%s: %.900s", what, sb->conn ? sb->conn->err.message : "");
	return rc;
}

int dbreg_sandbox_open(struct dbreg_sandbox *sb, const char *url)
{
	memset(sb, 0, sizeof *sb);
	const char *u = url ? url : "sqlite::memory:";
	sb->drv = dbreg_driver_for_url(u);
	if (!sb->drv) {
		snprintf(sb->err, sizeof sb->err, "no driver for this target");
		return DBREG_EUSAGE;
	}
	sb->dialect = sb->drv->dialect;
	char err[512] = "";
	int rc = dbreg_target_connect(&sb->conn, u, err, sizeof err);
	if (rc != 0) {
		sb->conn = NULL;
		snprintf(sb->err, sizeof sb->err, "%s", err);
		return rc;
	}
	if (sb->dialect == DBREG_DIALECT_SQLITE) {
		if (sb->drv->version >= 2 && sb->drv->sandbox && sb->drv->sandbox(sb->conn, SANDBOX_BUDGET_MS) != 0)
			return sandbox_fail(sb, DBREG_ECONNECT, "cannot confine the scratch database");
		return 0;
	}
	snprintf(sb->schema, sizeof sb->schema, "dbreg_scratch_%ld_%ld", (long)getpid(), (long)time(NULL));
	/* The lock before the schema: a sweep never sees it unheld. */
	char sql[1024];
	snprintf(sql, sizeof sql,
		 SANDBOX_SWEEP " SELECT pg_advisory_lock(" SANDBOX_LOCK ", hashtext('%s')); CREATE SCHEMA \"%s\";"
			       " SET search_path TO \"%s\";",
		 sb->schema, sb->schema, sb->schema);
	if (sb->drv->exec(sb->conn, sql) != 0) {
		sb->schema[0] = '\0';
		return sandbox_fail(sb, DBREG_ECONNECT, "cannot create a scratch schema");
	}
	/* The bodies' own schema names reach the real tables: what they do
	 * there is rolled back at close, and a lock a live application holds
	 * stalls it for seconds, not for ever. */
	if (sb->drv->exec(sb->conn, "BEGIN; " SANDBOX_SETTINGS) != 0)
		return sandbox_fail(sb, DBREG_ECONNECT, "cannot begin the scratch transaction");
	return 0;
}

void dbreg_sandbox_close(struct dbreg_sandbox *sb)
{
	if (!sb || !sb->conn)
		return;
	if (sb->schema[0]) {
		char sql[160];
		snprintf(sql, sizeof sql, "ROLLBACK; DROP SCHEMA IF EXISTS \"%s\" CASCADE;", sb->schema);
		sb->drv->exec(sb->conn, sql);
	}
	dbreg_target_close(sb->conn);   /* its session's end frees the lock */
	sb->conn = NULL;
}

/* Whether [p, p + n) of the body is the keyword at a word boundary. */
static bool sandbox_word(const char *start, const char *p, const char *w)
{
	size_t n = strlen(w);
	return strncasecmp(p, w, n) == 0 && (p == start || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')) &&
	       !(isalnum((unsigned char)p[n]) || p[n] == '_');
}

/* A copy of sql with every CONCURRENTLY outside strings, quoted names and
 * comments blanked out (same length, so positions still match). */
char *dbreg_sql_without_concurrently(const char *sql)
{
	char *out = dbreg_strdup(sql);
	if (!out)
		return NULL;
	for (char *p = out; *p;) {
		if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			char *e = strstr(p + 2, "*/");
			p = e ? e + 2 : p + strlen(p);
		} else if (*p == '\'' || *p == '"') {
			char q = *p++;
			while (*p && !(*p == q && p[1] != q))
				p += (*p == q) ? 2 : 1;
			if (*p)
				p++;
		} else if (*p == '$') {
			/* $tag$ ... $tag$ */
			char *e = p + 1;
			while (isalnum((unsigned char)*e) || *e == '_')
				e++;
			if (*e != '$') {
				p++;
				continue;
			}
			size_t n = (size_t)(e - p) + 1;
			char tag[64];
			if (n >= sizeof tag) {
				p = e;
				continue;
			}
			memcpy(tag, p, n);
			tag[n] = '\0';
			char *close = strstr(e + 1, tag);
			p = close ? close + n : p + strlen(p);
		} else if (sandbox_word(out, p, "concurrently")) {
			memset(p, ' ', strlen("concurrently"));
			p += strlen("concurrently");
		} else {
			p++;
		}
	}
	return out;
}

int dbreg_sandbox_exec(struct dbreg_sandbox *sb, const char *sql, bool transaction)
{
	if (sb->dialect != DBREG_DIALECT_POSTGRES) {
		if (sb->drv->exec(sb->conn, sql) == 0)
			return 0;
		snprintf(sb->err, sizeof sb->err, "%s", sb->conn->err.message);
		return DBREG_EMIGRATION;
	}
	if (dbreg_sql_has_transaction_statements(sql)) {
		snprintf(sb->err, sizeof sb->err, "the body holds transaction statements of its own (BEGIN, COMMIT, ...): "
						  "not run on the server");
		return DBREG_EMIGRATION;
	}
	/* A transaction = false body runs in the scratch transaction too:
	 * without CONCURRENTLY it builds the same. */
	char *plain = transaction ? NULL : dbreg_sql_without_concurrently(sql);
	if (!transaction && !plain) {
		snprintf(sb->err, sizeof sb->err, "out of memory");
		return DBREG_ENOMEM;
	}
	int rc = sb->drv->exec(sb->conn, "SAVEPOINT dbreg_sandbox");
	if (rc == 0 && (rc = sb->drv->exec(sb->conn, plain ? plain : sql)) != 0) {
		snprintf(sb->err, sizeof sb->err, "%s", sb->conn->err.message);
		struct dbreg_db_error saved = sb->conn->err;
		sb->drv->exec(sb->conn, "ROLLBACK TO SAVEPOINT dbreg_sandbox");
		sb->conn->err = saved;
	} else if (rc == 0) {
		rc = sb->drv->exec(sb->conn, "RELEASE SAVEPOINT dbreg_sandbox");
	} else {
		snprintf(sb->err, sizeof sb->err, "%s", sb->conn->err.message);
	}
	free(plain);
	return rc == 0 ? 0 : DBREG_EMIGRATION;
}

/* Whether `pkg` depends on `dep`, directly or not (depth-bounded: the
 * graph check already refused cycles). */
static bool sandbox_depends(const struct dbreg_registry *reg, const struct dbreg_package *pkg,
			    const struct dbreg_package *dep, int depth)
{
	if (depth > 64)
		return false;
	for (size_t i = 0; i < pkg->n_deps; i++) {
		if (!pkg->deps[i].name)
			continue;
		if (dep->name && strcmp(pkg->deps[i].name, dep->name) == 0)
			return true;
		const struct dbreg_package *d = dbreg_registry_find(reg, pkg->deps[i].name);
		if (d && d != pkg && sandbox_depends(reg, d, dep, depth + 1))
			return true;
	}
	return false;
}

int dbreg_sandbox_dependencies(struct dbreg_sandbox *sb, const struct dbreg_registry *reg,
			       const struct dbreg_package *pkg)
{
	size_t *order = NULL;
	int rc = dbreg_graph_order(reg, &order);
	if (rc != 0) {
		snprintf(sb->err, sizeof sb->err, "the dependency graph has a cycle");
		return rc;
	}
	for (size_t k = 0; k < reg->n_packages && rc == 0; k++) {
		const struct dbreg_package *p = reg->packages[order[k]];
		if (p == pkg || (!p->core && !sandbox_depends(reg, pkg, p, 0)) || (pkg->core && p->core))
			continue;
		for (size_t i = 0; i < p->n_migrations && rc == 0; i++) {
			const struct dbreg_sql *body = dbreg_migration_body(&p->migrations[i], sb->dialect, true);
			if (!body || !body->text)
				continue;
			if (dbreg_sandbox_exec(sb, body->text, p->migrations[i].transaction) != 0) {
				char why[sizeof sb->err];
				snprintf(why, sizeof why, "%s", sb->err);
				snprintf(sb->err, sizeof sb->err, "%.100s migration %.100s: %.700s", p->name, p->migrations[i].id,
					 why);
				rc = DBREG_EMIGRATION;
			}
		}
	}
	free(order);
	return rc;
}

int dbreg_sandbox_package_schema(struct dbreg_sandbox *sb, struct dbreg_schema **out, const struct dbreg_registry *reg,
				 const struct dbreg_package *pkg, const struct dbreg_semver *upto)
{
	char **before = NULL, **after = NULL, **created = NULL;
	size_t n_before = 0, n_after = 0, n_created = 0;
	const char *dialect = sb->dialect == DBREG_DIALECT_POSTGRES ? "PostgreSQL" : "SQLite";
	*out = NULL;
	int rc = dbreg_sandbox_dependencies(sb, reg, pkg);
	if (rc == 0)
		rc = dbreg_sandbox_tables(sb, &before, &n_before);
	for (size_t i = 0; rc == 0 && i < pkg->n_migrations; i++) {
		const struct dbreg_migration *m = &pkg->migrations[i];
		if (upto && (!m->version_ok || dbreg_semver_compare(&m->version, upto) > 0))
			continue;
		const struct dbreg_sql *body = dbreg_migration_body(m, sb->dialect, true);
		if (!body || !body->text) {
			snprintf(sb->err, sizeof sb->err, "migration %s has no %s body to replay", m->id, dialect);
			rc = DBREG_EINVALID;
		} else if ((rc = dbreg_sandbox_exec(sb, body->text, m->transaction)) != 0) {
			char msg[sizeof sb->err];
			snprintf(msg, sizeof msg, "migration %.100s fails on %s: %.850s", m->id, dialect, sb->err);
			snprintf(sb->err, sizeof sb->err, "%s", msg);
			rc = DBREG_EINVALID;
		}
	}
	if (rc == 0)
		rc = dbreg_sandbox_tables(sb, &after, &n_after);
	for (size_t i = 0; rc == 0 && i < n_after; i++)
		if (!dbreg_strv_has(before, n_before, after[i]))
			rc = dbreg_strv_push(&created, &n_created, after[i]);
	if (rc == 0)
		rc = n_created ? dbreg_sandbox_read(sb, out, created, n_created)
			       : dbreg_schema_new(out, DBREG_SCHEMA_CATALOG, sb->dialect);
	if (rc == DBREG_ENOMEM)
		snprintf(sb->err, sizeof sb->err, "out of memory");
	dbreg_strv_free(before, n_before);
	dbreg_strv_free(after, n_after);
	dbreg_strv_free(created, n_created);
	return rc;
}

int dbreg_sandbox_tables(struct dbreg_sandbox *sb, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	if (sb->drv->version >= 2 && sb->drv->table_names) {
		if (sb->drv->table_names(sb->conn, names, n) != 0)
			return sandbox_fail(sb, DBREG_ECONNECT, "cannot list the tables");
		return 0;
	}
	struct dbreg_catalog cat = {0};
	if (sb->drv->catalog_read(sb->conn, &cat) != 0)
		return sandbox_fail(sb, DBREG_ECONNECT, "cannot read the catalog");
	int rc = 0;
	for (size_t i = 0; i < cat.n_tables && rc == 0; i++)
		rc = dbreg_strv_push(names, n, cat.tables[i].name);
	dbreg_catalog_dispose(&cat);
	return rc;
}

/* Only the named tables, for a driver that can read the whole catalog
 * alone (PostgreSQL's): the others are left out of the model. */
static int sandbox_read_some(struct dbreg_sandbox *sb, struct dbreg_schema **out, char *const *names, size_t n)
{
	struct dbreg_catalog cat = {0};
	if (sb->drv->catalog_read(sb->conn, &cat) != 0)
		return sandbox_fail(sb, DBREG_ECONNECT, "cannot read the catalog");
	struct dbreg_catalog some = {calloc(cat.n_tables + 1, sizeof *some.tables), 0};
	int rc = some.tables ? dbreg_schema_new(out, DBREG_SCHEMA_CATALOG, sb->dialect) : DBREG_ENOMEM;
	for (size_t i = 0; rc == 0 && i < cat.n_tables; i++)
		for (size_t k = 0; k < n; k++)
			if (cat.tables[i].name && strcmp(cat.tables[i].name, names[k]) == 0) {
				some.tables[some.n_tables++] = cat.tables[i];
				break;
			}
	if (rc == 0)
		rc = dbreg_schema_add_catalog(*out, &some);
	free(some.tables);   /* borrowed from cat */
	dbreg_catalog_dispose(&cat);
	if (rc != 0) {
		dbreg_schema_free(*out);
		*out = NULL;
	}
	return rc;
}

int dbreg_sandbox_read(struct dbreg_sandbox *sb, struct dbreg_schema **out, char *const *names, size_t n)
{
	if (names && !(sb->drv->version >= 2 && sb->drv->catalog_read_tables))
		return sandbox_read_some(sb, out, names, n);
	int rc = dbreg_schema_read_conn(out, sb->conn, (const char *const *)names, n);
	if (rc == DBREG_ECONNECT)
		return sandbox_fail(sb, rc, "cannot read the catalog");
	return rc;
}
