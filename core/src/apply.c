/* The apply engine: plan steps -> driver calls. Steps run in transactional
 * segments: one transaction holds every step up to a `transaction = false`
 * step together with their history rows, and each package's row and tools
 * ride with its last step, so a failure leaves the target as the segment
 * found it. A transaction = false step runs statement by statement, its
 * progress recorded after each, so a re-run resumes at the statement that
 * failed. The history is re-read under the registry lock, so a step
 * another run applied meanwhile is skipped, never run twice. */
#include "cancel.h"
#include "fkdrop.h"
#include "txcheck.h"
#include "plan.h"
#include "isolation.h"
#include "registry.h"
#include "semver.h"
#include "util.h"
#include "dbreg/driver.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A (package, migration) membership test over the target's history.
 * Linear per lookup but over a sorted copy with bsearch: O((H + S) log H). */
struct apply_key {
	const char *package, *migration;
};

/* Steps of at most this many packages: their history rows only are read. */
#define APPLY_FEW_PACKAGES 32

static int apply_key_cmp(const void *a, const void *b)
{
	const struct apply_key *x = a, *y = b;
	int c = strcmp(x->package, y->package);
	return c ? c : strcmp(x->migration, y->migration);
}

/* The seconds a run waits for another's lock: lock_timeout_s of the
 * options, 0 their default (60), below 0 none (one try). */
static int apply_lock_wait(int lock_timeout_s)
{
	return lock_timeout_s > 0 ? lock_timeout_s : lock_timeout_s < 0 ? 0 : 60;
}

static long long apply_ms_since(double t0)
{
	return (long long)(dbreg_clock_ms() - t0);
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
	dbreg_strv_free(r->invalid_indexes, r->n_invalid_indexes);
	dbreg_strv_free(r->repaired, r->n_repaired);
	memset(r, 0, sizeof(*r));
}

/* The statements of a body, from the driver (v4 split), else the whole
 * body as one. *out is malloc'd; NULL with *n 0 when there is none. */
static int apply_spans(struct dbreg_conn *conn, const char *sql, struct dbreg_span **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	const struct dbreg_driver *drv = conn->driver;
	if (drv->version >= 4 && drv->split) {
		struct dbreg_db_error saved = conn->err;
		int rc = drv->split(conn, sql, out, n);
		if (rc != DBREG_EMIGRATION)
			conn->err = saved;
		return rc;
	}
	size_t len = strlen(sql), start = dbreg_sql_skip_blank(sql, 0, len);
	if (start == len)
		return 0;
	if (!(*out = malloc(sizeof **out)))
		return DBREG_ENOMEM;
	(*out)[0] = (struct dbreg_span){ start, len };
	*n = 1;
	return 0;
}

/* The statement of a body that failed: the `index`th (1-based) when the
 * driver counted, else the one holding byte `off`. NULL when unknown. */
static const struct dbreg_span *apply_failed_span(const struct dbreg_span *v, size_t n, size_t index, size_t off)
{
	if (index > 0 && index <= n)
		return &v[index - 1];
	const struct dbreg_span *hit = NULL;
	for (size_t i = 0; off != SIZE_MAX && i < n; i++)
		if (v[i].start <= off)
			hit = &v[i];
	return hit ? hit : (off != SIZE_MAX && n ? &v[0] : NULL);
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
	/* row_security = off (dbreg_apply_run) made a query the policies would
	 * filter fail: PostgreSQL's hint (NO FORCE) would open the table to
	 * its owner for good. */
	if (strcmp(e->sqlstate, "42501") == 0 && strstr(e->message, "row-level security") && plan->reg &&
	    dbreg_rls_wanted(plan->reg, plan->dialect)) {
		free(out->hint);
		out->hint = dbreg_strdup("the workspace policies ([isolation] row_level_security) bind the role that runs "
					 "the migrations, and a migration sets no workspace, so this query would see no "
					 "rows: run migrations as a role with BYPASSRLS (ALTER ROLE ... BYPASSRLS) or a "
					 "superuser");
	}
	struct dbreg_span *spans = NULL;
	size_t n = 0;
	struct dbreg_db_error saved = *e;
	const struct dbreg_span *sp = NULL;
	if ((e->statement > 0 || e->position > 0) && apply_spans(conn, st->sql, &spans, &n) == 0)
		sp = apply_failed_span(spans, n, e->statement, e->position > 0 ? e->position - 1 : SIZE_MAX);
	conn->err = saved;
	if (sp) {
		/* The database's exact position when it gave one, else where the
		 * failing statement starts. */
		dbreg_sql_loc(src->body, e->position > 0 ? e->position - 1 : sp->start, &out->line, &out->column);
		out->statement = dbreg_strndup(st->sql + sp->start, sp->end - sp->start);
	} else if (e->position > 0) {
		dbreg_sql_loc(src->body, e->position - 1, &out->line, &out->column);
	} else {
		/* Without a position, where the body is. */
		dbreg_sql_origin(src->body, &out->line, &out->column);
	}
	free(spans);
	snprintf(out->errmsg, sizeof out->errmsg, "%s:%u:%u: migration %s of %s (%s) failed: %s%s%s%s",
		 out->file ? out->file : "?", out->line, out->column, st->migration, st->package,
		 st->up ? "up" : "down", e->message, e->sqlstate[0] ? " [SQLSTATE " : "", e->sqlstate,
		 e->sqlstate[0] ? "]" : "");
}

/* The indexes of the target that the database reports INVALID (a failed
 * CREATE INDEX CONCURRENTLY leaves one behind), as "table.index", sorted
 * as the catalog lists them. Keeps conn->err unless it fails. */
static int apply_invalid_indexes(struct dbreg_conn *conn, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	struct dbreg_db_error saved = conn->err;
	struct dbreg_catalog cat = { 0 };
	int rc = conn->driver->catalog_read(conn, &cat);
	for (size_t t = 0; rc == 0 && t < cat.n_tables; t++) {
		const struct dbreg_cat_table *tb = &cat.tables[t];
		for (size_t k = 0; rc == 0 && k < tb->n_indexes; k++) {
			if (tb->indexes[k].valid)
				continue;
			char *name = dbreg_printf("%s.%s", tb->name, tb->indexes[k].name);
			rc = name ? dbreg_strv_push(names, n, name) : DBREG_ENOMEM;
			free(name);
		}
	}
	dbreg_catalog_dispose(&cat);
	if (rc == 0)
		conn->err = saved;
	return rc;
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
	/* What the database said, as a failed migration reports it. */
	snprintf(out->sqlstate, sizeof out->sqlstate, "%s", conn->err.sqlstate);
	if (!out->detail && conn->err.detail[0])
		out->detail = dbreg_strdup(conn->err.detail);
	if (!out->hint && conn->err.hint[0])
		out->hint = dbreg_strdup(conn->err.hint);
	return rc == DBREG_ELOCKED ? rc : DBREG_ECONNECT;
}

/* One run: what every step of it shares. */
struct apply_run {
	struct dbreg_apply_result *out;
	struct dbreg_conn *conn;
	const struct dbreg_driver *drv;
	const struct dbreg_plan *plan;
	const struct dbreg_apply_opts *opts;
	bool *run;                     /* per step: still to run */
	size_t *last;                  /* per package: 1 + its last step to run, 0 none */
	bool *recorded;                /* per package: its row and tools written this run */
	bool *rls_done;                /* per package: its row-level security policies made */
	bool in_tx, fk_off, wrote;
	bool gated;                    /* opts->gate was called */
	bool splits;                   /* some step to run commits alone */
	bool rls_session;              /* row_security set off for the run */
	bool notice_oom;               /* a repaired line could not be kept */
	char **inst_names, **inst_versions; /* the installed packages, read once when splits */
	size_t n_inst;
	bool inst_read;
	size_t seg_start;              /* out->ran[seg_start..] is the open, uncommitted segment */
};

/* What the --verbose log of one body's statements needs. */
struct apply_trace {
	FILE *log;
	const char *sql;
	struct dbreg_span *spans;
	size_t n;
	size_t base;                   /* statements of the body before the text exec got */
};

/* Logs a statement of a body with its time: its number and first line. */
static void apply_log_statement(void *arg, size_t statement, double ms)
{
	const struct apply_trace *t = arg;
	size_t k = statement + t->base;
	if (k >= 1 && k <= t->n) {
		size_t start = t->spans[k - 1].start, end = t->spans[k - 1].end, eol = start;
		while (eol < end && t->sql[eol] != '\n')
			eol++;
		fprintf(t->log, "    %zu. %.*s%s  %.2f ms\n", k, (int)(eol - start > 72 ? 72 : eol - start),
			t->sql + start, eol - start > 72 || eol < end ? " ..." : "", ms);
	} else {
		fprintf(t->log, "    %zu.  %.2f ms\n", k, ms);
	}
}

static void apply_trace_on(struct apply_run *r, struct apply_trace *t, const char *sql)
{
	memset(t, 0, sizeof *t);
	if (!r->opts->log)
		return;
	t->log = r->opts->log;
	t->sql = sql;
	if (apply_spans(r->conn, sql, &t->spans, &t->n) != 0) {
		t->spans = NULL;
		t->n = 0;
	}
	r->conn->on_statement = apply_log_statement;
	r->conn->on_statement_arg = t;
}

static void apply_trace_off(struct apply_run *r, struct apply_trace *t)
{
	r->conn->on_statement = NULL;
	r->conn->on_statement_arg = NULL;
	free(t->spans);
	t->spans = NULL;
}

/* Writes a package's row (its version, or none when taken down to
 * nothing) and upserts its tools, inside the open transaction. The tools
 * no package declares any more go at the end of the run (apply_packages),
 * after every upsert: one moved to a package synced later is re-owned
 * then, never deleted first. */
static int apply_package(struct apply_run *r, size_t pi)
{
	const struct dbreg_plan_pkg *p = &r->plan->pkgs[pi];
	bool remove = dbreg_plan_pkg_removes(p);
	int rc = r->drv->package_record(r->conn, p->pkg->name, remove ? NULL : p->version);
	if (rc != 0)
		return apply_own_fail(r->out, r->conn, rc, "cannot record the package version");
	r->recorded[pi] = true;
	r->wrote = true;
	struct dbreg_buf b = DBREG_BUF_INIT;
	if (!remove)
		dbreg_plan_tools_sql(&b, r->plan, p->pkg);
	if (b.oom) {
		dbreg_buf_dispose(&b);
		return DBREG_ENOMEM;
	}
	if (b.len > 0 && (rc = r->drv->exec(r->conn, b.ptr)) != 0)
		rc = apply_own_fail(r->out, r->conn, rc, "cannot record the package's tools in ydtb_tools");
	dbreg_buf_dispose(&b);
	return rc;
}

/* [isolation] row_level_security: makes the policies of the n packages
 * exist (isolation.c writes the SQL, one statement; nothing when the
 * registry or the dialect has no row-level security), inside the open
 * transaction. */
static int apply_rls(struct apply_run *r, const struct dbreg_package *const *pkgs, size_t n)
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_rls_sql(&b, r->plan->reg, r->drv->dialect, pkgs, n);
	if (b.oom) {
		dbreg_buf_dispose(&b);
		return DBREG_ENOMEM;
	}
	int rc = 0;
	if (b.len) {
		r->wrote = true;
		if ((rc = r->drv->exec(r->conn, b.ptr)) != 0)
			rc = apply_own_fail(r->out, r->conn, rc, "cannot make the row-level security policies");
	}
	dbreg_buf_dispose(&b);
	return rc;
}

static void apply_rls_repaired(void *arg, const char *message)
{
	struct apply_run *r = arg;
	if (dbreg_strv_push(&r->out->repaired, &r->out->n_repaired, message) != 0)
		r->notice_oom = true;
}

/* Every run repairs the policies of the packages it covers, even when no
 * migration is pending: one statement for all those not made yet, whose
 * notices (isolation.c) say what it had to make again. */
static int apply_rls_rest(struct apply_run *r)
{
	const struct dbreg_plan *plan = r->plan;
	const struct dbreg_package **pkgs = calloc(plan->n_pkgs + 1, sizeof(*pkgs));
	if (!pkgs)
		return DBREG_ENOMEM;
	size_t n = 0;
	for (size_t k = 0; k < plan->n_pkgs; k++)
		if (plan->pkgs[k].in_scope && !r->rls_done[k])
			pkgs[n++] = plan->pkgs[k].pkg;
	bool hear = r->drv->version >= 13;
	if (hear) {
		r->conn->on_notice = apply_rls_repaired;
		r->conn->on_notice_arg = r;
	}
	int rc = n ? apply_rls(r, pkgs, n) : 0;
	if (hear)
		r->conn->on_notice = NULL;
	free(pkgs);
	return rc == 0 && r->notice_oom ? DBREG_ENOMEM : rc;
}

static int apply_repair_line(void *arg, const char *table, const char *message)
{
	struct dbreg_apply_result *out = arg;
	char *line = dbreg_printf("%s: %s", table, message);
	int rc = line ? dbreg_strv_push(&out->repaired, &out->n_repaired, line) : DBREG_ENOMEM;
	free(line);
	return rc;
}

/* What apply_rls_rest would make again, without running it: the packages
 * in scope that no step of the run touches (run NULL: every step of the
 * plan runs), their tables' row-level security read from the catalog and
 * checked as verify checks it (isolation.c), in the run's words. A package
 * with steps to run has its policies made after them, on the tables as its
 * migrations leave them, and the run lists no line for it either. */
static int apply_repairs_of(struct dbreg_apply_result *out, struct dbreg_conn *conn, const struct dbreg_plan *plan,
			    const bool *run)
{
	const struct dbreg_driver *drv = conn->driver;
	if (!dbreg_rls_wanted(plan->reg, drv->dialect))
		return 0;
	const struct dbreg_package **pkgs = calloc(plan->n_pkgs + 1, sizeof(*pkgs));
	bool *stepped = calloc(plan->n_pkgs + 1, sizeof(*stepped));
	char **names = NULL;
	size_t n = 0, n_names = 0;
	int rc = pkgs && stepped ? 0 : DBREG_ENOMEM;
	for (size_t i = 0; rc == 0 && i < plan->n_steps; i++)
		stepped[plan->src[i].pkg] |= !run || run[i];
	for (size_t k = 0; rc == 0 && k < plan->n_pkgs; k++) {
		const struct dbreg_package *pkg = plan->pkgs[k].pkg;
		if (!plan->pkgs[k].in_scope || stepped[k])
			continue;
		pkgs[n++] = pkg;
		for (size_t t = 0; rc == 0 && t < pkg->n_tables; t++)
			if (pkg->tables[t].name && dbreg_iso_workspace_table(&pkg->tables[t]))
				rc = dbreg_strv_push(&names, &n_names, pkg->tables[t].name);
	}
	struct dbreg_catalog cat = { 0 };
	struct dbreg_db_error saved = conn->err;
	if (rc == 0 && n_names) {
		rc = drv->version >= 2 && drv->catalog_read_tables
			     ? drv->catalog_read_tables(conn, (const char *const *)names, n_names, &cat)
			     : drv->catalog_read(conn, &cat);
		if (rc != 0)
			rc = apply_own_fail(out, conn, rc, "cannot read the row-level security of the tables");
		else
			conn->err = saved;
	}
	if (rc == 0 && n_names)
		rc = dbreg_rls_repairs(drv->dialect, &cat, plan->reg, pkgs, n, apply_repair_line, out);
	dbreg_catalog_dispose(&cat);
	dbreg_strv_free(names, n_names);
	free(stepped);
	free(pkgs);
	return rc;
}

int dbreg_apply_repairs(struct dbreg_apply_result *out, struct dbreg_conn *conn, const struct dbreg_plan *plan)
{
	memset(out, 0, sizeof(*out));
	if (!conn || !plan) {
		snprintf(out->errmsg, sizeof out->errmsg, "no connection or no plan");
		return DBREG_EUSAGE;
	}
	int rc = apply_repairs_of(out, conn, plan, NULL);
	if (rc == DBREG_ENOMEM && !out->errmsg[0])
		snprintf(out->errmsg, sizeof out->errmsg, "out of memory");
	return rc;
}

/* Whether version text v is above a package's installed version (none
 * installed: always). */
static int apply_above_installed(struct apply_run *r, const char *name, const struct dbreg_semver *v, bool *above)
{
	if (!r->inst_read) {
		int rc = r->drv->package_read(r->conn, &r->inst_names, &r->inst_versions, &r->n_inst);
		if (rc != 0)
			return apply_own_fail(r->out, r->conn, rc, "cannot read the installed packages");
		r->inst_read = true;
	}
	*above = true;
	for (size_t k = 0; k < r->n_inst; k++) {
		struct dbreg_semver iv;
		if (strcmp(r->inst_names[k], name) != 0 || dbreg_semver_parse(&iv, r->inst_versions[k], NULL) != 0)
			continue;
		*above = dbreg_semver_compare(v, &iv) > 0;
		dbreg_semver_dispose(&iv);
	}
	return 0;
}

/* In a run that splits, a package's steps can end up in several
 * segments. After its last step of one version, with steps of a higher
 * version still to come, its row says that version: a later segment's
 * failure then leaves the version it reached, not the one before the
 * run, as status and verify read it. */
static int apply_version_reached(struct apply_run *r, size_t i)
{
	const struct dbreg_plan *plan = r->plan;
	const struct dbreg_plan_src *s = &plan->src[i];
	if (!r->splits || !plan->steps[i].up || !s->mig->version_ok || r->last[s->pkg] == i + 1)
		return 0;
	size_t k = i + 1;
	while (k < plan->n_steps && !(r->run[k] && plan->src[k].pkg == s->pkg))
		k++;
	if (k == plan->n_steps || !plan->src[k].mig->version_ok ||
	    dbreg_semver_compare(&plan->src[k].mig->version, &s->mig->version) <= 0)
		return 0;
	bool above = true;
	int rc = apply_above_installed(r, plan->pkgs[s->pkg].pkg->name, &s->mig->version, &above);
	if (rc != 0 || !above)
		return rc;
	if ((rc = r->drv->package_record(r->conn, plan->pkgs[s->pkg].pkg->name, plan->steps[i].version)) != 0)
		return apply_own_fail(r->out, r->conn, rc, "cannot record the package version");
	r->wrote = true;
	return 0;
}

/* After step i committed or is about to: counts it, and writes its
 * package's row when it was the package's last step, and its policies
 * when the package's run of steps in this transaction ends (same
 * transaction). */
static int apply_step_done(struct apply_run *r, size_t i, long long ms)
{
	const struct dbreg_step *st = &r->plan->steps[i];
	struct dbreg_apply_result *out = r->out;
	if (r->opts->log)
		fprintf(r->opts->log, "%s %s %s (%s)%s: %lld ms\n", st->up ? "applied" : "reverted", st->package,
			st->migration, st->version, st->transaction ? "" : " outside a transaction", ms);
	size_t pi = r->plan->src[i].pkg;
	int rc;
	if (r->last[pi] == i + 1 && (rc = apply_package(r, pi)) != 0)
		return rc;
	if ((rc = apply_version_reached(r, i)) != 0)
		return rc;
	if (dbreg_rls_after_step(r->plan, r->run, i)) {
		r->rls_done[pi] = true;
		if ((rc = apply_rls(r, &r->plan->pkgs[pi].pkg, 1)) != 0)
			return rc;
	}
	out->applied++;
	if (r->opts->progress)
		r->opts->progress(r->opts->progress_arg, out->applied, out->to_run, st);
	return apply_push_ran(out, i);
}

static void apply_log_start(struct apply_run *r, const struct dbreg_step *st)
{
	if (r->opts->log)
		fprintf(r->opts->log, "%s %s %s (%s)%s\n", st->up ? "applying" : "reverting", st->package, st->migration,
			st->version, st->transaction ? "" : " outside a transaction");
}

/* Whether an interrupt's cancels went out (dbreg_cancel_all): then no step
 * starts, since a cancel that reached the server while this connection
 * was between two statements stopped nothing, and the statement sent now
 * would run on after the process ends. conn's error says so (57014, as
 * the server says of a cancelled one). */
static bool apply_interrupted(struct dbreg_conn *conn)
{
	if (!dbreg_cancel_ending())
		return false;
	memset(&conn->err, 0, sizeof conn->err);
	memcpy(conn->err.sqlstate, "57014", 6);
	snprintf(conn->err.message, sizeof conn->err.message,
		 "not started: the run was interrupted and its running statements are being cancelled");
	return true;
}

/* Runs one step's body inside the open transaction and writes its history
 * row; on a failure fills the result and returns DBREG_EMIGRATION (or the
 * code of the history write). */
static int apply_gate(struct apply_run *r);

static int apply_step(struct apply_run *r, size_t i)
{
	const struct dbreg_step *st = &r->plan->steps[i];
	/* A body with a COMMIT of its own would make what ran so far stay
	 * before the checks beside the run said whether it may: they go
	 * first (they refuse it, DBR048). SQLite's driver refuses such a
	 * statement itself. */
	if (r->opts->gate && !r->gated && !r->opts->record_only &&
	    dbreg_target_conn_dialect(r->conn) == DBREG_DIALECT_POSTGRES && dbreg_sql_has_transaction_statements(st->sql)) {
		int gate = apply_gate(r);
		if (gate != 0)
			return gate;
	}
	struct apply_trace trace;
	apply_log_start(r, st);
	apply_trace_on(r, &trace, st->sql);
	double t0 = dbreg_clock_ms();
	int rc = 0;
	if (!r->opts->record_only)
		rc = apply_interrupted(r->conn) ? DBREG_EMIGRATION : r->drv->exec(r->conn, st->sql);
	apply_trace_off(r, &trace);
	if (rc != 0) {
		apply_fill_failure(r->out, r->conn, r->plan, i);
		return DBREG_EMIGRATION;
	}
	struct dbreg_applied row = { (char *)st->package, (char *)st->migration, (char *)st->version,
				     (char *)st->checksum, NULL, apply_ms_since(t0) };
	r->wrote = true;
	rc = r->drv->history_record(r->conn, &row, st->up);
	if (rc != 0)
		return apply_own_fail(r->out, r->conn, rc, "cannot record the history row");
	return apply_step_done(r, i, row.duration_ms);
}

/* An up step on SQLite with foreign keys on: a DROP TABLE whose ON DELETE
 * action would delete or change rows of a table the body keeps is refused
 * (fkdrop.h): that is the table rebuild without foreign_keys = false, and
 * its DBR103 warning alone still loses the rows when it is not read. A
 * down (or a reset) drops what the ups made, rows with it, on purpose. */
static int apply_step_guarded(struct apply_run *r, size_t i, bool guard)
{
	if (!guard)
		return apply_step(r, i);
	struct dbreg_buf on = DBREG_BUF_INIT, off = DBREG_BUF_INIT;
	int rc = dbreg_fkdrop_guard(r->drv, r->conn, r->plan->steps[i].sql, &on, &off);
	if (rc != 0 && rc != DBREG_ENOMEM)
		rc = apply_own_fail(r->out, r->conn, rc, "cannot read the catalog to check the migration's DROP TABLE");
	else if (rc == 0 && on.len && (rc = r->drv->exec(r->conn, on.ptr)) != 0)
		rc = apply_own_fail(r->out, r->conn, rc, "cannot guard the migration's DROP TABLE");
	if (rc == 0) {
		rc = apply_step(r, i);
		if (rc == DBREG_EMIGRATION && r->out->message && strstr(r->out->message, DBREG_FKDROP_PREFIX)) {
			free(r->out->hint);
			r->out->hint = dbreg_strdup("set foreign_keys = false on this migration (the documented rebuild), "
						    "or drop the child table first");
		}
		struct dbreg_db_error saved = r->conn->err;
		int rc2 = on.len ? r->drv->exec(r->conn, off.ptr) : 0;
		if (rc == 0 && rc2 != 0)
			rc = apply_own_fail(r->out, r->conn, rc2, "cannot drop the migration's DROP TABLE guard");
		else
			r->conn->err = saved;
	}
	dbreg_buf_dispose(&on);
	dbreg_buf_dispose(&off);
	return rc;
}

/* The checksum of a body's first `done` statements: what a progress row
 * holds, so a re-run resumes only when those are unchanged. */
static void apply_prefix_sum(const char *sql, const struct dbreg_span *v, size_t done, char sum[72])
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	for (size_t k = 0; k < done; k++) {
		dbreg_buf_append(&b, sql + v[k].start, v[k].end - v[k].start);
		dbreg_buf_puts(&b, ";\n");
	}
	dbreg_sql_checksum(b.ptr ? b.ptr : "", b.len, sum);
	dbreg_buf_dispose(&b);
}

static bool apply_progress(const struct apply_run *r, const struct dbreg_step *st)
{
	return st->up && r->drv->version >= 4 && r->drv->progress_record && r->drv->progress_read;
}

/* Records that the first `done` statements of step i completed (0: forget it). */
static int apply_record_progress(struct apply_run *r, size_t i, const struct dbreg_span *v, size_t done, long long ms)
{
	const struct dbreg_step *st = &r->plan->steps[i];
	char sum[72];
	apply_prefix_sum(st->sql, v, done, sum);
	struct dbreg_applied row = { (char *)st->package, (char *)st->migration, (char *)st->version, sum, NULL, ms };
	struct dbreg_db_error saved = r->conn->err;
	int rc = r->drv->progress_record(r->conn, &row, done);
	if (rc != 0)
		return apply_own_fail(r->out, r->conn, rc, "cannot record the progress of a transaction = false migration");
	r->conn->err = saved;
	return 0;
}

/* Whether (package, migration) is one of the history's n rows. */
static bool apply_in_history(const struct dbreg_applied *h, size_t n, const char *package, const char *migration)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].package, package) == 0 && strcmp(h[i].migration, migration) == 0)
			return true;
	return false;
}

void dbreg_progress_free(struct dbreg_progress *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].package);
		free(rows[i].migration);
	}
	free(rows);
}

/* One progress_read per transaction = false migration not in the history:
 * such migrations are few, and the driver has no read of all progress rows. */
int dbreg_target_progress(struct dbreg_conn *conn, const struct dbreg_registry *reg, const struct dbreg_applied *history,
			  size_t n, struct dbreg_progress **rows, size_t *n_rows)
{
	const struct dbreg_driver *drv = conn->driver;
	*rows = NULL;
	*n_rows = 0;
	if (drv->version < 4 || !drv->progress_read)
		return 0;
	int rc = 0;
	size_t cap = 0;
	for (size_t i = 0; i < reg->n_packages && rc == 0; i++) {
		const struct dbreg_package *pkg = reg->packages[i];
		for (size_t k = 0; pkg->name && k < pkg->n_migrations && rc == 0; k++) {
			const struct dbreg_migration *m = &pkg->migrations[k];
			const struct dbreg_sql *body = m->id && !m->transaction
				? dbreg_migration_body(m, drv->dialect, true) : NULL;
			if (!body || !body->text || apply_in_history(history, n, pkg->name, m->id))
				continue;
			size_t done = 0, total = 0;
			char sum[72] = "", now[72];
			struct dbreg_span *v = NULL;
			if ((rc = drv->progress_read(conn, pkg->name, m->id, &done, sum)) != 0 || done == 0 ||
			    (rc = apply_spans(conn, body->text, &v, &total)) != 0) {
				free(v);
				/* A body that cannot be split is the run's to report. */
				if (rc == DBREG_EMIGRATION)
					rc = 0;
				continue;
			}
			/* A changed prefix is not resumed: apply refuses it, as it is. */
			if (done < total)
				apply_prefix_sum(body->text, v, done, now);
			if (done < total && strcmp(now, sum) == 0) {
				if (*n_rows == cap) {
					size_t ncap = cap ? cap * 2 : 4;
					struct dbreg_progress *r = realloc(*rows, ncap * sizeof *r);
					if (!r) {
						free(v);
						rc = DBREG_ENOMEM;
						break;
					}
					*rows = r;
					cap = ncap;
				}
				struct dbreg_progress *p = &(*rows)[(*n_rows)++];
				*p = (struct dbreg_progress){ dbreg_strdup(pkg->name), dbreg_strdup(m->id), done, total,
							      v[done].start };
				if (!p->package || !p->migration)
					rc = DBREG_ENOMEM;
			}
			free(v);
		}
	}
	if (rc != 0) {
		dbreg_progress_free(*rows, *n_rows);
		*rows = NULL;
		*n_rows = 0;
	}
	return rc;
}

/* Names the failed step in the result without a database error. */
static void apply_fail_step(struct apply_run *r, size_t i, const char *msg)
{
	const struct dbreg_step *st = &r->plan->steps[i];
	const struct dbreg_plan_src *src = &r->plan->src[i];
	struct dbreg_apply_result *out = r->out;
	out->failed_package = st->package;
	out->failed_migration = st->migration;
	out->failed_up = st->up;
	free(out->file);
	free(out->message);
	out->file = dbreg_strdup(src->body->file);
	dbreg_sql_origin(src->body, &out->line, &out->column);
	out->message = dbreg_strdup(msg);
	snprintf(out->errmsg, sizeof out->errmsg, "%s:%u:%u: migration %s of %s (%s) failed: %s", out->file ? out->file : "?",
		 out->line, out->column, st->migration, st->package, st->up ? "up" : "down", msg);
}

/* A transaction = false step: statement by statement, each in its own
 * implicit transaction, its progress recorded after each so that a re-run
 * resumes at the one that failed; then the indexes it built must be
 * valid; then its history row (and its package's row) in one transaction. */
static int apply_step_alone(struct apply_run *r, size_t i)
{
	const struct dbreg_step *st = &r->plan->steps[i];
	struct dbreg_apply_result *out = r->out;
	struct dbreg_conn *conn = r->conn;
	struct dbreg_span *v = NULL;
	char **before = NULL, **after = NULL;
	size_t n = 0, done = 0, nb = 0, na = 0;
	char sum[72] = "";
	double t0 = dbreg_clock_ms();
	bool outside = false;          /* dbreg_cancel_outside_enter was called */
	apply_log_start(r, st);
	int rc = apply_spans(conn, st->sql, &v, &n);
	if (rc == DBREG_EMIGRATION) {
		apply_fill_failure(out, conn, r->plan, i);
		goto out;
	}
	if (rc != 0)
		goto out;
	bool progress = apply_progress(r, st);
	if (progress && (rc = r->drv->progress_read(conn, st->package, st->migration, &done, sum)) != 0) {
		rc = apply_own_fail(out, conn, rc, "cannot read the progress of a transaction = false migration");
		goto out;
	}
	if (done > 0) {
		char now[72];
		apply_prefix_sum(st->sql, v, done <= n ? done : n, now);
		if (done >= n || strcmp(now, sum) != 0) {
			char msg[512];
			snprintf(msg, sizeof msg,
				 "an earlier run stopped after statement %zu of this migration, and its first %zu statement%s "
				 "changed since (or it has no statement after them): restore them, or delete its row with "
				 "statements_done = %zu from ydtb_registry_migrations",
				 done, done, done == 1 ? "" : "s", done);
			apply_fail_step(r, i, msg);
			rc = DBREG_EMIGRATION;
			goto out;
		}
		if (!out->resumed_migration) {
			out->resumed_package = st->package;
			out->resumed_migration = st->migration;
			out->resumed_at = done + 1;
		}
		if (r->opts->log)
			fprintf(r->opts->log, "  resuming at statement %zu of %zu: an earlier run completed the first %zu\n",
				done + 1, n, done);
	}
	if ((rc = apply_invalid_indexes(conn, &before, &nb)) != 0) {
		rc = apply_own_fail(out, conn, rc, "cannot read the indexes of the target");
		goto out;
	}
	r->wrote = true;
	dbreg_cancel_outside_enter();
	outside = true;
	for (size_t k = done; k < n; k++) {
		char *stmt = dbreg_strndup(st->sql + v[k].start, v[k].end - v[k].start);
		if (!stmt) {
			rc = DBREG_ENOMEM;
			goto out;
		}
		if (r->drv->version >= 4 && r->drv->index_prepare && (rc = r->drv->index_prepare(conn, stmt)) != 0) {
			free(stmt);
			rc = apply_own_fail(out, conn, rc, "cannot drop the INVALID index that the migration builds again");
			goto out;
		}
		struct apply_trace trace;
		apply_trace_on(r, &trace, st->sql);
		trace.base = k;
		rc = apply_interrupted(conn) ? DBREG_EMIGRATION : r->drv->exec(conn, stmt);
		apply_trace_off(r, &trace);
		free(stmt);
		if (rc != 0) {
			/* The database saw one statement: place its error in the body. */
			if (conn->err.position > 0)
				conn->err.position += v[k].start;
			conn->err.statement = k + 1;
			out->statements_done = k;
			out->statements_total = n;
			if (progress && k > done && (rc = apply_record_progress(r, i, v, k, apply_ms_since(t0))) != 0)
				goto out;
			apply_fill_failure(out, conn, r->plan, i);
			struct dbreg_db_error saved = conn->err;
			apply_invalid_indexes(conn, &out->invalid_indexes, &out->n_invalid_indexes);
			conn->err = saved;
			rc = DBREG_EMIGRATION;
			goto out;
		}
		if (progress && k + 1 < n && (rc = apply_record_progress(r, i, v, k + 1, apply_ms_since(t0))) != 0)
			goto out;
	}
	/* An index the step built but left INVALID is not built: the step
	 * failed, and the next run starts it over (index_prepare drops it). */
	if ((rc = apply_invalid_indexes(conn, &after, &na)) != 0) {
		rc = apply_own_fail(out, conn, rc, "cannot read the indexes the migration built");
		goto out;
	}
	for (size_t k = 0; k < na; k++) {
		if (dbreg_strv_has(before, nb, after[k]))
			continue;
		if ((rc = dbreg_strv_push(&out->invalid_indexes, &out->n_invalid_indexes, after[k])) != 0)
			goto out;
	}
	if (out->n_invalid_indexes > 0) {
		char msg[768];
		snprintf(msg, sizeof msg, "index %s is INVALID after the migration ran (a concurrent build did not finish): "
			 "the migration is not recorded", out->invalid_indexes[0]);
		apply_fail_step(r, i, msg);
		if (progress && done > 0)
			apply_record_progress(r, i, v, 0, 0);
		rc = DBREG_EMIGRATION;
		goto out;
	}
	/* The history row, the progress row gone, the package's row: at once. */
	if ((rc = r->drv->begin(conn)) != 0) {
		rc = apply_own_fail(out, conn, rc, "cannot begin a transaction");
		goto out;
	}
	r->in_tx = true;
	struct dbreg_applied row = { (char *)st->package, (char *)st->migration, (char *)st->version,
				     (char *)st->checksum, NULL, apply_ms_since(t0) };
	if (progress && (rc = r->drv->progress_record(conn, &row, 0)) != 0) {
		rc = apply_own_fail(out, conn, rc, "cannot record the history row");
		goto out;
	}
	if ((rc = r->drv->history_record(conn, &row, st->up)) != 0) {
		rc = apply_own_fail(out, conn, rc, "cannot record the history row");
		goto out;
	}
	if ((rc = apply_step_done(r, i, row.duration_ms)) != 0)
		goto out;
	rc = r->drv->commit(conn);
	r->in_tx = false;
	if (rc != 0) {
		rc = apply_own_fail(out, conn, rc, "cannot commit");
		out->n_ran = r->seg_start;
		out->applied = r->seg_start;
		goto out;
	}
	dbreg_cancel_note_committed(out->n_ran - r->seg_start);
	r->seg_start = out->n_ran;
out:
	if (outside)
		dbreg_cancel_outside_leave();
	dbreg_strv_free(before, nb);
	dbreg_strv_free(after, na);
	free(v);
	return rc;
}

/* Reads the target's history under the lock and keeps the steps still to
 * run: ups not applied, downs applied. */
/* The history rows the plan's steps can be in: those of their packages
 * when they are few and the driver reads a package's rows (v6), else all. */
static int apply_history(struct dbreg_conn *conn, const struct dbreg_plan *plan, struct dbreg_history *h)
{
	const struct dbreg_driver *drv = conn->driver;
	const char *names[APPLY_FEW_PACKAGES];
	size_t n = 0;
	bool few = drv->version >= 6 && drv->history_read_packages;
	for (size_t i = 0; few && i < plan->n_steps; i++) {
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = strcmp(names[k], plan->steps[i].package) == 0;
		if (!seen && n == APPLY_FEW_PACKAGES)
			few = false;
		else if (!seen)
			names[n++] = plan->steps[i].package;
	}
	return few ? drv->history_read_packages(conn, names, n, h) : drv->history_read(conn, h);
}

/* Whether the target still holds the progress row of st's migration. */
static int apply_partial(struct dbreg_apply_result *out, struct dbreg_conn *conn, const struct dbreg_step *st, bool *there)
{
	const struct dbreg_driver *drv = conn->driver;
	size_t done = 0;
	char sum[72];
	int rc = drv->version >= 4 && drv->progress_read
		? drv->progress_read(conn, st->package, st->migration, &done, sum) : 0;
	if (rc != 0)
		return apply_own_fail(out, conn, rc, "cannot read the progress of a transaction = false migration");
	*there = done > 0;
	return 0;
}

static int apply_select(struct dbreg_apply_result *out, struct dbreg_conn *conn, const struct dbreg_plan *plan,
			bool *run)
{
	struct dbreg_history h = DBREG_HISTORY_INIT;
	int rc = apply_history(conn, plan, &h);
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
		/* The down of a migration that stopped part way: while its
		 * progress row is there (another run may have finished it). */
		if (!applied && !plan->steps[i].up && plan->steps[i].partial_done &&
		    (rc = apply_partial(out, conn, &plan->steps[i], &run[i])) != 0)
			break;
		if (!run[i])
			out->skipped++;
		else
			out->to_run++;
	}
	free(keys);
	dbreg_history_dispose(&h);
	return rc;
}

/* At the end of a run, in its last transaction: the packages whose row no
 * step wrote (nothing of them ran, yet they are not installed or at
 * another version: a package without migrations still brings its tools),
 * and the tools of every other package in scope, which a manifest may have
 * changed without a new version. */
/* The installed version of a package, from package_read's arrays sorted
 * by name here (the server's ORDER BY follows its collation). */
struct apply_installed {
	const char *name, *version;
};

static int apply_installed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct apply_installed *)a)->name, ((const struct apply_installed *)b)->name);
}

/* ydtb_tools as the target holds it now (after this run's steps, in the
 * run's last transaction), when the driver reads rows (v6): the packages
 * whose tools are already as written are left alone. */
static int apply_tools_read(struct apply_run *r, struct dbreg_tools_view *v, char ***cells, size_t *n_rows)
{
	const char *cols[DBREG_PLAN_TOOL_COLUMNS];
	size_t n = dbreg_plan_tools_columns(r->plan, cols);
	*cells = NULL;
	*n_rows = 0;
	memset(v, 0, sizeof *v);
	if (n == 0 || r->drv->version < 6 || !r->drv->rows_read)
		return 0;
	int rc = r->drv->rows_read(r->conn, "ydtb_tools", cols, n, cells, n_rows);
	if (rc != 0)
		return apply_own_fail(r->out, r->conn, rc, "cannot record the packages' tools in ydtb_tools");
	return dbreg_plan_tools_view(v, r->plan, *cells, *n_rows);
}

static int apply_packages(struct apply_run *r)
{
	const struct dbreg_plan *plan = r->plan;
	char **names = NULL, **versions = NULL;
	size_t n = 0;
	int rc = r->drv->package_read(r->conn, &names, &versions, &n);
	if (rc != 0)
		return apply_own_fail(r->out, r->conn, rc, "cannot read the installed packages");
	struct apply_installed *inst = calloc(n + 1, sizeof *inst);
	char **cells = NULL;
	size_t n_rows = 0;
	struct dbreg_tools_view view;
	memset(&view, 0, sizeof view);
	if (!inst)
		rc = DBREG_ENOMEM;
	for (size_t k = 0; inst && k < n; k++)
		inst[k] = (struct apply_installed){names[k], versions[k]};
	if (inst)
		qsort(inst, n, sizeof *inst, apply_installed_cmp);
	if (rc == 0)
		rc = apply_tools_read(r, &view, &cells, &n_rows);
	struct dbreg_buf tools = DBREG_BUF_INIT;
	for (size_t i = 0; i < plan->n_pkgs && rc == 0; i++) {
		const struct dbreg_plan_pkg *p = &plan->pkgs[i];
		/* A package out of scope (`down` of another) re-owns its tools
		 * that one in scope holds, which would otherwise be left to it. */
		if (!p->in_scope && dbreg_plan_tools_taken(&view, plan, i))
			dbreg_plan_tools_sql(&tools, plan, p->pkg);
		if (r->recorded[i] || !p->in_scope)
			continue;
		struct apply_installed key = {p->pkg->name, NULL};
		const struct apply_installed *found =
			p->pkg->name ? bsearch(&key, inst, n, sizeof *inst, apply_installed_cmp) : NULL;
		const char *installed = found ? found->version : NULL;
		bool removes = dbreg_plan_pkg_removes(p);
		if (removes ? installed != NULL : !installed || strcmp(installed, p->version) != 0)
			rc = apply_package(r, i);
		else if (!removes && !dbreg_plan_tools_current(&view, p->pkg))
			dbreg_plan_tools_sql(&tools, plan, p->pkg);
	}
	/* Last, in the same transaction: the tools no package declares. */
	if (rc == 0)
		rc = dbreg_plan_tools_prune_sql(&tools, plan, &view, NULL);
	if (rc == 0 && tools.oom)
		rc = DBREG_ENOMEM;
	if (rc == 0 && tools.len > 0) {
		r->wrote = true;
		if ((rc = r->drv->exec(r->conn, tools.ptr)) != 0)
			rc = apply_own_fail(r->out, r->conn, rc, "cannot record the packages' tools in ydtb_tools");
	}
	dbreg_buf_dispose(&tools);
	dbreg_plan_tools_view_dispose(&view);
	dbreg_strv_free(cells, n_rows * view.n_cols);
	free(inst);
	dbreg_strv_free(names, n);
	dbreg_strv_free(versions, n);
	return rc;
}

static int apply_begin(struct apply_run *r)
{
	if (r->in_tx)
		return 0;
	int rc = r->drv->begin(r->conn);
	if (rc != 0)
		return apply_own_fail(r->out, r->conn, rc, "cannot begin a transaction");
	r->in_tx = true;
	return 0;
}

/* opts->gate, once: before anything of the run can stay. */
static int apply_gate(struct apply_run *r)
{
	if (!r->opts->gate || r->gated)
		return 0;
	r->gated = true;
	if (r->opts->gate(r->opts->gate_arg) == 0)
		return 0;
	snprintf(r->out->errmsg, sizeof r->out->errmsg, "the checks that must pass before the first commit failed");
	return DBREG_EINVALID;
}

/* Commits the open segment; a deferred constraint failing at commit is the
 * segment's fault (DBREG_EMIGRATION), and its steps did not happen. */
static int apply_commit(struct apply_run *r)
{
	struct dbreg_apply_result *out = r->out;
	int gate = apply_gate(r);
	if (gate != 0)
		return gate;   /* still in the transaction: dbreg_apply_run rolls it back */
	/* A run interrupted between its last statement and here ends rolled
	 * back, as one interrupted a statement earlier does. */
	if (apply_interrupted(r->conn)) {
		out->n_ran = r->seg_start;
		out->applied = r->seg_start;
		return apply_own_fail(out, r->conn, DBREG_EMIGRATION, "not committed");
	}
	int rc = r->drv->commit(r->conn);
	r->in_tx = false;
	if (rc == DBREG_EMIGRATION) {
		snprintf(out->errmsg, sizeof out->errmsg, "the migrations were rolled back at commit: %s",
			 r->conn->err.message);
		free(out->message);
		out->message = dbreg_strdup(r->conn->err.message);
		snprintf(out->sqlstate, sizeof out->sqlstate, "%s", r->conn->err.sqlstate);
	} else if (rc != 0) {
		rc = apply_own_fail(out, r->conn, rc, "cannot commit");
	}
	if (rc != 0) {
		out->n_ran = r->seg_start;
		out->applied = r->seg_start;
		return rc;
	}
	out->segments++;
	dbreg_cancel_note_committed(out->n_ran - r->seg_start);
	r->seg_start = out->n_ran;
	return 0;
}

/* A foreign_keys = false step on a database that can switch enforcement
 * off (SQLite): in a transaction of its own, enforcement off before BEGIN
 * (inside one SQLite ignores the pragma), the check before COMMIT. */
static int apply_step_fk(struct apply_run *r, size_t i)
{
	const struct dbreg_step *st = &r->plan->steps[i];
	int rc = r->drv->foreign_keys(r->conn, false);
	if (rc != 0)
		return apply_own_fail(r->out, r->conn, rc, "cannot switch foreign key enforcement off");
	r->fk_off = true;
	if ((rc = apply_begin(r)) != 0 || (rc = apply_step(r, i)) != 0)
		return rc;
	rc = r->drv->foreign_key_check(r->conn);
	if (rc == DBREG_EMIGRATION) {
		struct dbreg_db_error e = r->conn->err;
		apply_fail_step(r, i, e.message);
		if (e.hint[0]) {
			free(r->out->hint);
			r->out->hint = dbreg_strdup(e.hint);
		}
		return rc;
	}
	if (rc != 0)
		return apply_own_fail(r->out, r->conn, rc, "cannot check foreign keys");
	if (r->opts->log)
		fprintf(r->opts->log, "%s %s ran with foreign keys off: the foreign key check passed\n", st->package,
			st->migration);
	if ((rc = apply_commit(r)) != 0)
		return rc;
	r->fk_off = false;
	rc = r->drv->foreign_keys(r->conn, true);
	return rc ? apply_own_fail(r->out, r->conn, rc, "cannot switch foreign key enforcement on") : 0;
}

static void apply_drop_run(struct apply_run *r)
{
	free(r->run);
	free(r->last);
	free(r->recorded);
	free(r->rls_done);
	dbreg_strv_free(r->inst_names, r->n_inst);
	dbreg_strv_free(r->inst_versions, r->n_inst);
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
	if (plan->invalid) {
		snprintf(out->errmsg, sizeof out->errmsg, "the plan was made despite errors in the manifests or the "
			 "history (keep_invalid): it counts what is pending, and is never applied");
		return DBREG_EINVALID;
	}
	if (plan->dialect != drv->dialect) {
		snprintf(out->errmsg, sizeof out->errmsg, "the plan is for %s, the connection is to %s: plan for the "
			 "connection's dialect", plan->dialect == DBREG_DIALECT_POSTGRES ? "PostgreSQL" : "SQLite",
			 drv->dialect == DBREG_DIALECT_POSTGRES ? "PostgreSQL" : "SQLite");
		return DBREG_EUSAGE;
	}
	struct apply_run r = { .out = out, .conn = conn, .drv = drv, .plan = plan, .opts = opts };
	bool locked = false;
	bool fk_capable = drv->version >= 4 && drv->foreign_keys && drv->foreign_key_check;
	r.run = calloc(plan->n_steps + 1, sizeof(*r.run));
	r.last = calloc(plan->n_pkgs + 1, sizeof(*r.last));
	r.recorded = calloc(plan->n_pkgs + 1, sizeof(*r.recorded));
	r.rls_done = calloc(plan->n_pkgs + 1, sizeof(*r.rls_done));
	int rc = 0;
	if (!r.run || !r.last || !r.recorded || !r.rls_done) {
		rc = DBREG_ENOMEM;
		goto out;
	}

	/* An interrupt that came before the run (while it was marked, say)
	 * leaves the target alone. */
	if (!opts->dry_run && apply_interrupted(conn)) {
		rc = apply_own_fail(out, conn, DBREG_EMIGRATION, "not started");
		goto out;
	}
	/* Lock before reading history: otherwise two runs plan the same step. */
	if (!opts->dry_run && drv->lock) {
		int wait_s = apply_lock_wait(opts->lock_timeout_s);
		/* A run that would wait says so first, or it looks hung. */
		rc = opts->waiting && wait_s > 0 ? drv->lock(conn, 0) : DBREG_ELOCKED;
		if (rc == DBREG_ELOCKED) {
			if (opts->waiting && wait_s > 0)
				opts->waiting(opts->waiting_arg, wait_s);
			rc = drv->lock(conn, wait_s);
		}
		if (rc != 0) {
			rc = apply_own_fail(out, conn, rc, "cannot take the registry lock");
			goto out;
		}
		locked = true;
	}
	if (opts->dry_run) {
		rc = apply_select(out, conn, plan, r.run);
		if (rc != 0)
			goto out;
		for (size_t i = 0; i < plan->n_steps && rc == 0; i++) {
			if (!r.run[i])
				continue;
			if (opts->log)
				fprintf(opts->log, "would %s %s %s (%s)%s\n", plan->steps[i].up ? "apply" : "revert",
					plan->steps[i].package, plan->steps[i].migration, plan->steps[i].version,
					!plan->steps[i].transaction ? " outside a transaction"
					: !plan->steps[i].foreign_keys && fk_capable ? " alone with foreign keys off"
										    : "");
			out->applied++;
			rc = apply_push_ran(out, i);
		}
		if (rc == 0)
			rc = apply_repairs_of(out, conn, plan, r.run);
		goto out;
	}
	/* Session settings, before any transaction whose rollback would undo them. */
	if ((opts->target_lock_timeout_ms > 0 || opts->target_statement_timeout_ms > 0) && drv->version >= 4 &&
	    drv->set_timeouts &&
	    (rc = drv->set_timeouts(conn, opts->target_lock_timeout_ms, opts->target_statement_timeout_ms)) != 0) {
		rc = apply_own_fail(out, conn, rc, "cannot set the target's lock_timeout and statement_timeout");
		goto out;
	}

	/* The workspace policies bind the tables' owner too (FORCE), and a
	 * migration sets no workspace: a backfill would see no rows and change
	 * nothing, without a word. With row_security off, PostgreSQL fails
	 * such a query instead; roles that bypass the policies are not bound. */
	if (dbreg_rls_wanted(plan->reg, drv->dialect)) {
		if ((rc = drv->exec(conn, "SET row_security = off")) != 0) {
			rc = apply_own_fail(out, conn, rc, "cannot set row_security");
			goto out;
		}
		r.rls_session = true;
	}

	/* The first segment opens before the history is read: on SQLite the
	 * write lock of BEGIN IMMEDIATE is what serialises two runs. */
	if ((rc = apply_begin(&r)) != 0)
		goto out;
	if ((rc = drv->history_ensure(conn)) != 0) {
		rc = apply_own_fail(out, conn, rc, "cannot create the history tables");
		goto out;
	}
	if ((rc = apply_select(out, conn, plan, r.run)) != 0)
		goto out;
	for (size_t i = 0; i < plan->n_steps; i++)
		if (r.run[i])
			r.last[plan->src[i].pkg] = i + 1;

	for (size_t i = 0; i < plan->n_steps && !opts->record_only; i++)
		if (r.run[i] && (!plan->steps[i].transaction || (!plan->steps[i].foreign_keys && fk_capable)))
			r.splits = true;
	for (size_t i = 0; i < plan->n_steps; i++) {
		if (!r.run[i])
			continue;
		const struct dbreg_step *st = &plan->steps[i];
		bool fk_alone = !st->foreign_keys && fk_capable;
		/* Recording without running needs no step of its own. */
		if ((st->transaction && !fk_alone) || opts->record_only) {
			if ((rc = apply_begin(&r)) != 0 ||
			    (rc = apply_step_guarded(&r, i, fk_capable && st->up && !opts->record_only)) != 0)
				goto out;
			continue;
		}
		/* A step of its own: commit what is open first. */
		if ((rc = apply_gate(&r)) != 0 || (r.in_tx && (rc = apply_commit(&r)) != 0))
			goto out;
		out->split = true;
		if (opts->log)
			fprintf(opts->log, "%s %s runs %s: the run is split here\n", st->package, st->migration,
				st->transaction ? "alone with foreign keys off" : "outside a transaction");
		rc = st->transaction ? apply_step_fk(&r, i) : apply_step_alone(&r, i);
		if (rc != 0)
			goto out;
	}

	if ((rc = apply_begin(&r)) != 0 || (rc = apply_packages(&r)) != 0)
		goto out;
	if ((rc = apply_rls_rest(&r)) != 0)
		goto out;
	if (!r.wrote) {
		/* Nothing to do: leave the target untouched. */
		rc = drv->rollback(conn);
		r.in_tx = false;
		if (rc != 0)
			rc = apply_own_fail(out, conn, rc, "cannot end the transaction");
		goto out;
	}
	rc = apply_commit(&r);

out:
	if (r.in_tx) {
		/* Keep the error that brought us here, not the rollback's. */
		struct dbreg_db_error saved = conn->err;
		drv->rollback(conn);
		conn->err = saved;
		/* The rolled-back steps did not happen. */
		out->n_ran = r.seg_start;
		out->applied = r.seg_start;
	}
	if (r.fk_off) {
		struct dbreg_db_error saved = conn->err;
		drv->foreign_keys(conn, true);
		conn->err = saved;
	}
	if (r.rls_session) {
		/* The session as it was, for what the caller does next with it. */
		struct dbreg_db_error saved = conn->err;
		drv->exec(conn, "RESET row_security");
		conn->err = saved;
	}
	if (locked && drv->unlock) {
		struct dbreg_db_error saved = conn->err;
		drv->unlock(conn);
		conn->err = saved;
	}
	if (rc == DBREG_ENOMEM && !out->errmsg[0])
		snprintf(out->errmsg, sizeof out->errmsg, "out of memory");
	apply_drop_run(&r);
	return rc;
}

/* ---- accept: an intended change of an applied migration's body ----------- */

int dbreg_apply_accept(struct dbreg_accept_result *out, struct dbreg_conn *conn, const struct dbreg_registry *reg,
		       const char *package, const char *migration, int lock_timeout_s)
{
	memset(out, 0, sizeof(*out));
	const struct dbreg_package *pkg = package ? dbreg_registry_find(reg, package) : NULL;
	const struct dbreg_migration *m = NULL;
	for (size_t i = 0; pkg && migration && i < pkg->n_migrations; i++)
		if (pkg->migrations[i].id && strcmp(pkg->migrations[i].id, migration) == 0)
			m = &pkg->migrations[i];
	if (!pkg) {
		snprintf(out->errmsg, sizeof out->errmsg, "package \"%s\" is not registered", package ? package : "");
		return DBREG_EUSAGE;
	}
	if (!m) {
		snprintf(out->errmsg, sizeof out->errmsg, "package %s has no migration \"%s\"", pkg->name,
			 migration ? migration : "");
		return DBREG_EUSAGE;
	}
	const struct dbreg_driver *drv = conn->driver;
	const struct dbreg_sql *body = dbreg_migration_body(m, drv->dialect, true);
	if (!body) {
		snprintf(out->errmsg, sizeof out->errmsg, "migration %s of %s has no body for this database", migration,
			 package);
		return DBREG_EUSAGE;
	}
	dbreg_sql_checksum(body->text, body->len, out->new_checksum);
	struct dbreg_apply_result res = { 0 };
	bool locked = false, in_tx = false;
	struct dbreg_history h = DBREG_HISTORY_INIT;
	int rc = 0;
	if (drv->lock) {
		if ((rc = drv->lock(conn, apply_lock_wait(lock_timeout_s))) != 0)
			goto fail;
		locked = true;
	}
	if ((rc = drv->begin(conn)) != 0)
		goto fail;
	in_tx = true;
	if ((rc = drv->history_read(conn, &h)) != 0)
		goto fail;
	const struct dbreg_applied *row = NULL;
	size_t at = 0;
	for (size_t i = 0; i < h.len; i++)
		if (strcmp(h.rows[i].package, package) == 0 && strcmp(h.rows[i].migration, migration) == 0)
			row = &h.rows[i], at = i;
	if (!row) {
		snprintf(out->errmsg, sizeof out->errmsg,
			 "migration %s of %s is not applied on the target: there is no checksum to accept", migration, package);
		rc = DBREG_EUSAGE;
		goto out;
	}
	snprintf(out->old_checksum, sizeof out->old_checksum, "%s", row->checksum ? row->checksum : "");
	if (strcmp(out->old_checksum, out->new_checksum) == 0)
		goto out;
	/* Delete and insert again, with the rows after it: each keeps its time
	 * and duration, and rows of one millisecond their order (the history
	 * reads ties in the order rows were written). */
	for (size_t i = at; i < h.len; i++)
		if ((rc = drv->history_record(conn, &h.rows[i], false)) != 0)
			goto fail;
	for (size_t i = at; i < h.len; i++) {
		struct dbreg_applied again = h.rows[i];
		if (i == at)
			again.checksum = out->new_checksum;
		if ((rc = drv->history_record(conn, &again, true)) != 0)
			goto fail;
	}
	rc = drv->commit(conn);
	in_tx = false;
	if (rc != 0)
		goto fail;
	goto out;
fail:
	if (rc == DBREG_ENOMEM) {
		snprintf(out->errmsg, sizeof out->errmsg, "out of memory");
	} else {
		rc = apply_own_fail(&res, conn, rc, "cannot record the new checksum");
		snprintf(out->errmsg, sizeof out->errmsg, "%.1000s", res.errmsg);
	}
out:
	if (in_tx) {
		struct dbreg_db_error saved = conn->err;
		drv->rollback(conn);
		conn->err = saved;
	}
	if (locked && drv->unlock)
		drv->unlock(conn);
	dbreg_history_dispose(&h);
	return rc;
}
