/* The apply engine: plan steps -> driver calls. Steps run in transactional
 * segments: one transaction holds every step up to a `transaction = false`
 * step together with their history rows, so a failure leaves the target as
 * the segment found it. The history is re-read under the registry lock, so
 * a step another run applied meanwhile is skipped, never run twice. */
#include "plan.h"
#include "isolation.h"
#include "util.h"
#include "dbreg/driver.h"

#include <pg_query.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A (package, migration) membership test over the target's history.
 * Linear per lookup but over a sorted copy with bsearch: O((H + S) log H). */
struct apply_key {
	const char *package, *migration;
};

static int apply_key_cmp(const void *a, const void *b)
{
	const struct apply_key *x = a, *y = b;
	int c = strcmp(x->package, y->package);
	return c ? c : strcmp(x->migration, y->migration);
}

static long long apply_ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long long)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

void dbreg_apply_result_dispose(struct dbreg_apply_result *r)
{
	if (!r)
		return;
	free(r->ran);
	free(r->file);
	free(r->statement);
	free(r->message);
	free(r->detail);
	free(r->hint);
	for (size_t i = 0; i < r->n_invalid_indexes; i++)
		free(r->invalid_indexes[i]);
	free(r->invalid_indexes);
	memset(r, 0, sizeof(*r));
}

/* Where the statement starting at or after `p` really begins: past white
 * space and comments. */
static size_t apply_skip_blank(const char *sql, size_t p, size_t end)
{
	while (p < end) {
		char c = sql[p];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			p++;
		} else if (c == '-' && p + 1 < end && sql[p + 1] == '-') {
			while (p < end && sql[p] != '\n')
				p++;
		} else if (c == '/' && p + 1 < end && sql[p + 1] == '*') {
			const char *e = strstr(sql + p + 2, "*/");
			p = (e && (size_t)(e - sql) + 2 <= end) ? (size_t)(e - sql) + 2 : end;
		} else {
			break;
		}
	}
	return p;
}

/* The statement of `sql` that holds byte `off` (0-based): from the end of
 * the previous ';' to the next one, skipping ';' inside quotes, dollar
 * quotes and comments. A copy, without the white space and comments
 * around it; NULL when none. */
static char *apply_statement_at(const char *sql, size_t off)
{
	size_t len = strlen(sql), start = 0, i = 0;
	if (off > len)
		off = len;
	while (i < len) {
		char c = sql[i];
		if (c == '\'' || c == '"') {
			for (i++; i < len && sql[i] != c; i++)
				;
			i++;
		} else if (c == '-' && i + 1 < len && sql[i + 1] == '-') {
			while (i < len && sql[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < len && sql[i + 1] == '*') {
			const char *e = strstr(sql + i + 2, "*/");
			i = e ? (size_t)(e - sql) + 2 : len;
		} else if (c == '$') {
			/* $tag$ ... $tag$ */
			size_t j = i + 1;
			while (j < len && (sql[j] == '_' || (sql[j] >= 'a' && sql[j] <= 'z') ||
					   (sql[j] >= 'A' && sql[j] <= 'Z') || (sql[j] >= '0' && sql[j] <= '9')))
				j++;
			if (j < len && sql[j] == '$') {
				size_t tag = j - i + 1;
				const char *p = sql + j + 1, *e = NULL;
				while ((p = strchr(p, '$')) != NULL) {
					if (strncmp(p, sql + i, tag) == 0) {
						e = p;
						break;
					}
					p++;
				}
				i = e ? (size_t)(e - sql) + tag : len;
			} else {
				i++;
			}
		} else if (c == ';') {
			if (i >= off)
				break;
			start = i + 1;
			i++;
		} else {
			i++;
		}
	}
	size_t end = i < len ? i : len;
	start = apply_skip_blank(sql, start, end);
	while (end > start && (sql[end - 1] == ' ' || sql[end - 1] == '\n' || sql[end - 1] == '\t' ||
			       sql[end - 1] == '\r'))
		end--;
	return end > start ? dbreg_strndup(sql + start, end - start) : NULL;
}

/* PostgreSQL: the byte range [*start, *end) of the failing statement of a
 * body, as the server split it (libpg_query's parser, its scanner when the
 * parser refuses the text): the one holding byte `off` (0-based) when the
 * server gave a position, else the `index`th (1-based) the driver counted.
 * Returns false when it cannot be found. */
static bool apply_pg_statement(const char *sql, size_t index, size_t off, size_t *start, size_t *end)
{
	PgQuerySplitResult r = pg_query_split_with_parser(sql);
	if (r.error) {
		pg_query_free_split_result(r);
		r = pg_query_split_with_scanner(sql);
	}
	bool found = false;
	size_t len = strlen(sql);
	for (int i = 0; !r.error && i < r.n_stmts && !found; i++) {
		const PgQuerySplitStmt *st = r.stmts[i];
		if (st->stmt_location < 0 || (size_t)st->stmt_location > len || st->stmt_len < 0)
			continue;
		size_t s = (size_t)st->stmt_location;
		size_t e = st->stmt_len == 0 ? len : s + (size_t)st->stmt_len;
		if (e > len)
			e = len;
		if (off != SIZE_MAX ? (off >= s && off < e) : (size_t)i + 1 == index) {
			*start = apply_skip_blank(sql, s, e);
			while (e > *start && (sql[e - 1] == ' ' || sql[e - 1] == '\n' || sql[e - 1] == '\t' ||
					      sql[e - 1] == '\r' || sql[e - 1] == ';'))
				e--;
			*end = e;
			found = e > *start;
		}
	}
	pg_query_free_split_result(r);
	return found;
}

/* Fills the failure part of the result from conn->err and the step. */
static void apply_fill_failure(struct dbreg_apply_result *out, struct dbreg_conn *conn,
			       const struct dbreg_plan *plan, size_t i)
{
	const struct dbreg_step *st = &plan->steps[i];
	const struct dbreg_plan_src *src = &plan->src[i];
	const struct dbreg_db_error *e = &conn->err;
	out->failed_package = st->package;
	out->failed_migration = st->migration;
	out->failed_up = st->up;
	out->file = dbreg_strdup(src->body->file);
	snprintf(out->sqlstate, sizeof out->sqlstate, "%s", e->sqlstate);
	out->message = dbreg_strdup(e->message);
	out->detail = e->detail[0] ? dbreg_strdup(e->detail) : NULL;
	out->hint = e->hint[0] ? dbreg_strdup(e->hint) : NULL;
	size_t s0, s1;
	if (conn->driver->dialect == DBREG_DIALECT_POSTGRES && (e->statement > 0 || e->position > 0) &&
	    apply_pg_statement(st->sql, e->statement, e->position > 0 ? e->position - 1 : SIZE_MAX, &s0, &s1)) {
		/* The server's exact position when it gave one, else where the
		 * failing statement starts. */
		dbreg_sql_loc(src->body, e->position > 0 ? e->position - 1 : s0, &out->line, &out->column);
		out->statement = dbreg_strndup(st->sql + s0, s1 - s0);
	} else if (e->position > 0) {
		size_t off = e->position - 1;
		dbreg_sql_loc(src->body, off, &out->line, &out->column);
		out->statement = apply_statement_at(st->sql, off);
	} else {
		/* Without a position, the migration's place in the manifest. */
		out->line = src->body->pos.line;
		out->column = src->body->pos.column;
	}
	snprintf(out->errmsg, sizeof out->errmsg, "%s:%u:%u: migration %s of %s (%s) failed: %s%s%s%s",
		 out->file ? out->file : "?", out->line, out->column, st->migration, st->package,
		 st->up ? "up" : "down", e->message, e->sqlstate[0] ? " [SQLSTATE " : "", e->sqlstate,
		 e->sqlstate[0] ? "]" : "");
}

/* After a failed non-transactional step on PostgreSQL: a failed CREATE
 * INDEX CONCURRENTLY leaves an INVALID index behind; name every one. */
static void apply_find_invalid(struct dbreg_apply_result *out, struct dbreg_conn *conn)
{
	if (conn->driver->dialect != DBREG_DIALECT_POSTGRES)
		return;
	struct dbreg_db_error saved = conn->err;
	struct dbreg_catalog cat = { 0 };
	if (conn->driver->catalog_read(conn, &cat) == 0) {
		for (size_t t = 0; t < cat.n_tables; t++) {
			const struct dbreg_cat_table *tb = &cat.tables[t];
			for (size_t k = 0; k < tb->n_indexes; k++) {
				if (tb->indexes[k].valid)
					continue;
				char **v = realloc(out->invalid_indexes, (out->n_invalid_indexes + 1) * sizeof(*v));
				if (!v)
					break;
				out->invalid_indexes = v;
				char *name = dbreg_printf("%s.%s", tb->name, tb->indexes[k].name);
				if (name)
					out->invalid_indexes[out->n_invalid_indexes++] = name;
			}
		}
	}
	dbreg_catalog_dispose(&cat);
	conn->err = saved;
}

static int apply_push_ran(struct dbreg_apply_result *out, size_t i)
{
	size_t *v = realloc(out->ran, (out->n_ran + 1) * sizeof(*v));
	if (!v)
		return DBREG_ENOMEM;
	v[out->n_ran++] = i;
	out->ran = v;
	return 0;
}

/* A statement of the engine's own (history, packages, tools) failed. */
static int apply_own_fail(struct dbreg_apply_result *out, struct dbreg_conn *conn, int rc, const char *what)
{
	if (rc == DBREG_ENOMEM) {
		snprintf(out->errmsg, sizeof out->errmsg, "out of memory");
		return rc;
	}
	snprintf(out->errmsg, sizeof out->errmsg, "%s: %s", what, conn->err.message);
	return rc == DBREG_ELOCKED ? rc : DBREG_ECONNECT;
}

/* Runs one step's body and writes its history row; on a failure fills the
 * result and returns DBREG_EMIGRATION (or the code of the history write). */
/* What the --verbose log of one body's statements needs. */
struct apply_trace {
	FILE *log;
	const char *sql;
};

/* Logs a statement of a body with its time: its number and first line. */
static void apply_log_statement(void *arg, size_t statement, double ms)
{
	const struct apply_trace *t = arg;
	size_t start = 0, end = 0;
	if (apply_pg_statement(t->sql, statement, SIZE_MAX, &start, &end)) {
		size_t eol = start;
		while (eol < end && t->sql[eol] != '\n')
			eol++;
		fprintf(t->log, "    %zu. %.*s%s  %.2f ms\n", statement, (int)(eol - start > 72 ? 72 : eol - start),
			t->sql + start, eol - start > 72 || eol < end ? " ..." : "", ms);
	} else {
		fprintf(t->log, "    %zu.  %.2f ms\n", statement, ms);
	}
}

static int apply_step(struct dbreg_apply_result *out, struct dbreg_conn *conn, const struct dbreg_plan *plan,
		      size_t i, const struct dbreg_apply_opts *opts)
{
	FILE *log = opts->log;
	const struct dbreg_step *st = &plan->steps[i];
	struct apply_trace trace = {log, st->sql};
	if (log) {
		fprintf(log, "%s %s %s (%s)%s\n", st->up ? "applying" : "reverting", st->package, st->migration,
			st->version, st->transaction ? "" : " outside a transaction");
		conn->on_statement = apply_log_statement;
		conn->on_statement_arg = &trace;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = conn->driver->exec(conn, st->sql);
	conn->on_statement = NULL;
	conn->on_statement_arg = NULL;
	if (rc != 0) {
		apply_fill_failure(out, conn, plan, i);
		return DBREG_EMIGRATION;
	}
	struct dbreg_applied row = { (char *)st->package, (char *)st->migration, (char *)st->version,
				     (char *)st->checksum, NULL, apply_ms_since(&t0) };
	rc = conn->driver->history_record(conn, &row, st->up);
	if (rc != 0)
		return apply_own_fail(out, conn, rc, "cannot record the history row");
	if (log)
		fprintf(log, "%s %s %s (%s)%s: %lld ms\n", st->up ? "applied" : "reverted", st->package,
			st->migration, st->version, st->transaction ? "" : " outside a transaction", row.duration_ms);
	out->applied++;
	if (opts->progress)
		opts->progress(opts->progress_arg, out->applied, out->to_run, st);
	return apply_push_ran(out, i);
}

/* Reads the target's history under the lock and keeps the steps still to
 * run: ups not applied, downs applied. */
static int apply_select(struct dbreg_apply_result *out, struct dbreg_conn *conn, const struct dbreg_plan *plan,
			bool *run)
{
	struct dbreg_history h = DBREG_HISTORY_INIT;
	int rc = conn->driver->history_read(conn, &h);
	if (rc != 0) {
		dbreg_history_dispose(&h);
		return apply_own_fail(out, conn, rc, "cannot read the history");
	}
	struct apply_key *keys = calloc(h.len + 1, sizeof(*keys));
	if (!keys) {
		dbreg_history_dispose(&h);
		return DBREG_ENOMEM;
	}
	for (size_t i = 0; i < h.len; i++)
		keys[i] = (struct apply_key){ h.rows[i].package, h.rows[i].migration };
	qsort(keys, h.len, sizeof(*keys), apply_key_cmp);
	for (size_t i = 0; i < plan->n_steps; i++) {
		struct apply_key k = { plan->steps[i].package, plan->steps[i].migration };
		bool applied = bsearch(&k, keys, h.len, sizeof(*keys), apply_key_cmp) != NULL;
		/* A down earlier in this plan (reset, watch re-running a changed
		 * migration) takes it out of the history before its up runs. */
		for (size_t j = 0; applied && plan->steps[i].up && j < i && !plan->steps[j].up; j++)
			applied = !(run[j] && strcmp(plan->steps[j].package, k.package) == 0 &&
				    strcmp(plan->steps[j].migration, k.migration) == 0);
		run[i] = plan->steps[i].up ? !applied : applied;
		if (!run[i])
			out->skipped++;
		else
			out->to_run++;
	}
	free(keys);
	dbreg_history_dispose(&h);
	return 0;
}

/* Records the version of each package that changed, and upserts its tools. */
static int apply_packages(struct dbreg_apply_result *out, struct dbreg_conn *conn, const struct dbreg_plan *plan,
			  const bool *touched, bool *wrote)
{
	char **names = NULL, **versions = NULL;
	size_t n = 0;
	int rc = conn->driver->package_read(conn, &names, &versions, &n);
	if (rc != 0)
		return apply_own_fail(out, conn, rc, "cannot read the installed packages");
	bool tools = dbreg_plan_has_tools_table(plan);
	for (size_t i = 0; i < plan->n_pkgs && rc == 0; i++) {
		const struct dbreg_plan_pkg *p = &plan->pkgs[i];
		const char *installed = NULL;
		for (size_t k = 0; k < n; k++)
			if (strcmp(names[k], p->pkg->name) == 0)
				installed = versions[k];
		/* Record a package when something of it ran, when its version
		 * moved, or when it is not installed yet (a package without
		 * migrations still brings its tools). */
		if (!touched[i] && (!p->in_scope || (installed && strcmp(installed, p->version) == 0)))
			continue;
		rc = conn->driver->package_record(conn, p->pkg->name, p->version);
		if (rc != 0) {
			rc = apply_own_fail(out, conn, rc, "cannot record the package version");
			break;
		}
		*wrote = true;
		if (tools && p->pkg->n_tools > 0) {
			struct dbreg_buf b = DBREG_BUF_INIT;
			dbreg_plan_tools_sql(&b, p->pkg);
			if (b.oom) {
				dbreg_buf_dispose(&b);
				rc = DBREG_ENOMEM;
				break;
			}
			rc = conn->driver->exec(conn, b.ptr);
			dbreg_buf_dispose(&b);
			if (rc != 0)
				rc = apply_own_fail(out, conn, rc, "cannot record the package's tools in ydtb_tools");
		}
	}
	for (size_t k = 0; k < n; k++) {
		free(names[k]);
		free(versions[k]);
	}
	free(names);
	free(versions);
	return rc;
}

/* [isolation] row_level_security: makes the policies of package k exist
 * (isolation.c writes the SQL; nothing when the registry or the dialect
 * has no row-level security); done[k] records that it ran. */
static int apply_rls(struct dbreg_apply_result *out, struct dbreg_conn *conn, const struct dbreg_plan *plan,
		     size_t k, bool *done, bool *wrote)
{
	done[k] = true;
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_rls_sql(&b, plan->reg, conn->driver->dialect, plan->pkgs[k].pkg);
	if (b.oom) {
		dbreg_buf_dispose(&b);
		return DBREG_ENOMEM;
	}
	int rc = 0;
	if (b.len) {
		*wrote = true;
		if ((rc = conn->driver->exec(conn, b.ptr)) != 0)
			rc = apply_own_fail(out, conn, rc, "cannot make the row-level security policies");
	}
	dbreg_buf_dispose(&b);
	return rc;
}

int dbreg_apply_run(struct dbreg_apply_result *out, struct dbreg_conn *conn, const struct dbreg_plan *plan,
		    const struct dbreg_apply_opts *opts)
{
	memset(out, 0, sizeof(*out));
	struct dbreg_apply_opts none = { 0 };
	if (!opts)
		opts = &none;
	if (!conn || !plan) {
		snprintf(out->errmsg, sizeof out->errmsg, "no connection or no plan");
		return DBREG_EUSAGE;
	}
	const struct dbreg_driver *drv = conn->driver;
	bool locked = false, in_tx = false;
	size_t seg_start = 0;          /* out->ran[seg_start..] is the open, uncommitted segment */
	bool *run = calloc(plan->n_steps + 1, sizeof(*run));
	bool *touched = calloc(plan->n_pkgs + 1, sizeof(*touched));
	bool *rls_done = calloc(plan->n_pkgs + 1, sizeof(*rls_done));
	int rc = 0;
	if (!run || !touched || !rls_done) {
		rc = DBREG_ENOMEM;
		goto out;
	}

	/* Lock before reading history: otherwise two runs plan the same step. */
	if (!opts->dry_run && drv->lock) {
		rc = drv->lock(conn, opts->lock_timeout_s > 0 ? opts->lock_timeout_s : 60);
		if (rc != 0) {
			rc = apply_own_fail(out, conn, rc, "cannot take the registry lock");
			goto out;
		}
		locked = true;
	}
	if (opts->dry_run) {
		rc = apply_select(out, conn, plan, run);
		if (rc != 0)
			goto out;
		for (size_t i = 0; i < plan->n_steps && rc == 0; i++) {
			if (!run[i])
				continue;
			if (opts->log)
				fprintf(opts->log, "would %s %s %s (%s)%s\n", plan->steps[i].up ? "apply" : "revert",
					plan->steps[i].package, plan->steps[i].migration, plan->steps[i].version,
					plan->steps[i].transaction ? "" : " outside a transaction");
			out->applied++;
			rc = apply_push_ran(out, i);
		}
		goto out;
	}

	/* The first segment opens before the history is read: on SQLite the
	 * write lock of BEGIN IMMEDIATE is what serialises two runs. */
	rc = drv->begin(conn);
	if (rc != 0) {
		rc = apply_own_fail(out, conn, rc, "cannot begin a transaction");
		goto out;
	}
	in_tx = true;
	if ((rc = drv->history_ensure(conn)) != 0) {
		rc = apply_own_fail(out, conn, rc, "cannot create the history tables");
		goto out;
	}
	if ((rc = apply_select(out, conn, plan, run)) != 0)
		goto out;

	bool wrote = false;
	for (size_t i = 0; i < plan->n_steps; i++) {
		if (!run[i])
			continue;
		const struct dbreg_step *st = &plan->steps[i];
		touched[plan->src[i].pkg] = true;
		wrote = true;
		if (st->transaction) {
			if (!in_tx) {
				if ((rc = drv->begin(conn)) != 0) {
					rc = apply_own_fail(out, conn, rc, "cannot begin a transaction");
					goto out;
				}
				in_tx = true;
			}
			if ((rc = apply_step(out, conn, plan, i, opts)) != 0)
				goto out;
			/* The policies commit with their package's migrations. */
			if (dbreg_rls_after_step(plan, run, i) &&
			    (rc = apply_rls(out, conn, plan, plan->src[i].pkg, rls_done, &wrote)) != 0)
				goto out;
			continue;
		}
		/* transaction = false: commit what is open, run alone. */
		if (in_tx) {
			rc = drv->commit(conn);
			in_tx = false;
			if (rc != 0) {
				rc = apply_own_fail(out, conn, rc, "cannot commit");
				goto out;
			}
			out->segments++;
			seg_start = out->n_ran;
		}
		out->split = true;
		if (opts->log)
			fprintf(opts->log, "%s %s runs outside a transaction: the run is split here\n", st->package,
				st->migration);
		if ((rc = apply_step(out, conn, plan, i, opts)) != 0) {
			if (rc == DBREG_EMIGRATION)
				apply_find_invalid(out, conn);
			goto out;
		}
		seg_start = out->n_ran;
		if ((rc = apply_rls(out, conn, plan, plan->src[i].pkg, rls_done, &wrote)) != 0)
			goto out;
	}

	if (!in_tx) {
		if ((rc = drv->begin(conn)) != 0) {
			rc = apply_own_fail(out, conn, rc, "cannot begin a transaction");
			goto out;
		}
		in_tx = true;
	}
	if ((rc = apply_packages(out, conn, plan, touched, &wrote)) != 0)
		goto out;
	/* Every run repairs the policies of the packages it covers, even
	 * when no migration is pending. */
	for (size_t k = 0; k < plan->n_pkgs && rc == 0; k++)
		if (plan->pkgs[k].in_scope && !rls_done[k])
			rc = apply_rls(out, conn, plan, k, rls_done, &wrote);
	if (rc != 0)
		goto out;
	if (!wrote) {
		/* Nothing to do: leave the target untouched. */
		rc = drv->rollback(conn);
		in_tx = false;
		if (rc != 0)
			rc = apply_own_fail(out, conn, rc, "cannot end the transaction");
		goto out;
	}
	rc = drv->commit(conn);
	in_tx = false;
	if (rc == DBREG_EMIGRATION) {
		/* A deferred constraint failed at commit: the last segment's fault. */
		snprintf(out->errmsg, sizeof out->errmsg, "the migrations were rolled back at commit: %s",
			 conn->err.message);
		out->message = dbreg_strdup(conn->err.message);
		snprintf(out->sqlstate, sizeof out->sqlstate, "%s", conn->err.sqlstate);
		out->n_ran = seg_start;
		out->applied = seg_start;
		goto out;
	}
	if (rc != 0) {
		rc = apply_own_fail(out, conn, rc, "cannot commit");
		goto out;
	}
	out->segments++;

out:
	if (in_tx) {
		/* Keep the error that brought us here, not the rollback's. */
		struct dbreg_db_error saved = conn->err;
		drv->rollback(conn);
		conn->err = saved;
		/* The rolled-back steps did not happen. */
		out->n_ran = seg_start;
		out->applied = seg_start;
	}
	if (locked && drv->unlock) {
		struct dbreg_db_error saved = conn->err;
		drv->unlock(conn);
		conn->err = saved;
	}
	if (rc == DBREG_ENOMEM && !out->errmsg[0])
		snprintf(out->errmsg, sizeof out->errmsg, "out of memory");
	free(run);
	free(touched);
	free(rls_done);
	return rc;
}
