/* The validation pipeline, above a plain registry: the dependency graph is
 * built once and shared, then the declaration rules, the static SQL checks
 * and the replay (DBR047) run over what is registered. The registry is the
 * container they read; nothing below this file calls back up into it. */
#include "checkcache.h"
#include "diag.h"
#include "inputs.h"
#include "graph.h"
#include "registry.h"
#include "replay.h"
#include "rules.h"
#include "sqlcheck.h"
#include "util.h"
#include "workers.h"

#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -v: a full validation, or how many packages re-used a stored result. */
static void validate_log_sql(FILE *log, const struct dbreg_registry *reg, double ms)
{
	size_t stored = 0;
	for (size_t k = 0; k < reg->n_packages; k++) {
		const struct dbreg_check_slot *a = DBREG_CHECK_SLOT(reg, k, DBREG_CC_SQL);
		const struct dbreg_check_slot *b = DBREG_CHECK_SLOT(reg, k, DBREG_CC_REPLAY);
		stored += (a && a->hit) || (b && b->hit);
	}
	if (stored)
		fprintf(log, "  validate: SQL checks of %zu packages, %zu of them from stored results, in %.1f ms\n",
			reg->n_packages, stored, ms);
	else
		fprintf(log, "  validate: SQL checks of all %zu packages (a full validation) in %.1f ms\n",
			reg->n_packages, ms);
}

int dbreg_validate_declarations(struct dbreg_registry *reg, struct dbreg_graph **g)
{
	*g = NULL;
	int rc = dbreg_graph_build(g, reg);
	/* Each check's findings are data; only running out of memory stops
	 * the pipeline (a replay that cannot open its database says so in the
	 * registry's message and leaves DBR047 unchecked). */
	if (rc == 0)
		rc = dbreg_graph_check(reg, *g);
	if (rc == 0)
		rc = dbreg_rules_check(reg);
	return rc == DBREG_ENOMEM ? dbreg_registry_fail(reg, rc, "out of memory") : 0;
}

int dbreg_validate_sql(struct dbreg_registry *reg, const struct dbreg_graph *g)
{
	int rc = dbreg_sqlcheck_registry(reg);
	if (rc != DBREG_ENOMEM)
		rc = dbreg_replay_check(reg, g);
	return rc == DBREG_ENOMEM ? dbreg_registry_fail(reg, rc, "out of memory") : 0;
}

int dbreg_validate_finish(struct dbreg_registry *reg, struct dbreg_graph *g, const struct dbreg_validate_opts *opts)
{
	if (g && g->order) {
		/* The planner's order, kept until a package is added. */
		free(reg->order);
		reg->order = g->order;
		g->order = NULL;
	}
	dbreg_graph_free(g);
	if (opts && opts->n_allow &&
	    dbreg_diag_list_bypass(&reg->diags, 0, opts->allow, opts->n_allow, "--allow on a development target"))
		return dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	dbreg_diag_list_sort(&reg->diags);
	if (reg->diags.errors > 0)
		return dbreg_registry_fail(reg, DBREG_EINVALID, "%zu error%s in the manifests",
					   reg->diags.errors, reg->diags.errors == 1 ? "" : "s");
	return 0;
}

/* The SQL checks' time budget in milliseconds. */
static unsigned validate_budget(const struct dbreg_validate_opts *opts)
{
	return opts && opts->budget_ms ? opts->budget_ms : DBREG_CHECK_BUDGET_MS;
}

/* Said once: the checks that ran out of time skipped the rest (DBR044). */
static int validate_past_budget(struct dbreg_registry *reg, const struct dbreg_validate_opts *opts)
{
	struct dbreg_diag_at at = {0};
	if (dbreg_diag_addf(&reg->diags, "DBR044", &at,
			    "the SQL checks ran past their time budget of %.1f s: packages left unchecked",
			    validate_budget(opts) / 1000.0) != 0)
		return dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	return 0;
}

/* What follows the declarations (g from dbreg_validate_declarations): the
 * SQL checks unless skipped, then the verdict; frees g. */
static int validate_sql_and_finish(struct dbreg_registry *reg, struct dbreg_graph *g,
				   const struct dbreg_validate_opts *opts)
{
	FILE *log = opts ? opts->log : NULL;
	double t1 = dbreg_clock_ms();
	int rc = 0;
	if (opts == NULL || !opts->skip_sql) {
		reg->check_deadline_ms = (long long)dbreg_clock_ms() + validate_budget(opts);
		rc = dbreg_validate_sql(reg, g);
		if (rc == 0 && dbreg_past(reg->check_deadline_ms))
			rc = validate_past_budget(reg, opts);
		reg->check_deadline_ms = 0;
		if (rc == 0 && log)
			validate_log_sql(log, reg, dbreg_clock_ms() - t1);
	} else if (log) {
		fprintf(log, "  validate: SQL checks skipped (this registry passed them before)\n");
	}
	if (rc != 0) {
		dbreg_graph_free(g);
		return rc;
	}
	return dbreg_validate_finish(reg, g, opts);
}

/* dbreg_validate_declarations, said in the -v log; *g NULL on failure. */
static int validate_declarations_logged(struct dbreg_registry *reg, struct dbreg_graph **g,
					const struct dbreg_validate_opts *opts)
{
	double t0 = dbreg_clock_ms();
	int rc = dbreg_validate_declarations(reg, g);
	if (rc != 0) {
		dbreg_graph_free(*g);
		*g = NULL;
	} else if (opts && opts->log) {
		fprintf(opts->log, "  validate: graph and rules over %zu packages in %.1f ms\n", reg->n_packages,
			dbreg_clock_ms() - t0);
	}
	return rc;
}

/* The declaration checks (item 0, on the calling thread) and, when the
 * SQL checks will run and opts->results names a state file, the lookup of
 * their stored results (item 1, beside them). Neither touches what the
 * other writes: the lookup writes reg->check_cache only, reading the
 * packages, reg->isolation and the state file; the checks write
 * reg->diags (and the message, on ENOMEM) and the graph, reading the
 * packages; the caller must not use the state file meanwhile. */
struct validate_first {
	struct dbreg_registry *reg;
	struct dbreg_state *results;
	const struct dbreg_validate_opts *opts;
	struct dbreg_graph *g;
};

static int validate_first_item(void *arg, size_t worker, size_t item, struct dbreg_diag_list *unused)
{
	(void)worker;
	(void)unused;
	struct validate_first *f = arg;
	return item == 0 ? validate_declarations_logged(f->reg, &f->g, f->opts)
			 : dbreg_check_cache_lookup(f->reg, f->results);
}

/* validate_declarations_logged with the lookup beside it; *g NULL on failure. */
static int validate_declarations_first(struct dbreg_registry *reg, struct dbreg_graph **g,
				       const struct dbreg_validate_opts *opts)
{
	struct validate_first f = {reg, opts && !opts->skip_sql ? opts->results : NULL, opts, NULL};
	if (!f.results)
		return validate_declarations_logged(reg, g, opts);
	struct dbreg_diag_list none = {0};
	int rc = dbreg_workers_run(&none, 2, 2, validate_first_item, &f);
	dbreg_diag_list_dispose(&none);
	*g = f.g;
	if (rc != 0) {
		dbreg_graph_free(*g);
		*g = NULL;
		/* The declarations set their own message; the lookup fails only
		 * for memory. */
		if (rc == DBREG_ENOMEM)
			return dbreg_registry_fail(reg, rc, "out of memory");
	}
	return rc;
}

int dbreg_registry_validate(struct dbreg_registry *reg, const struct dbreg_validate_opts *opts)
{
	struct dbreg_graph *g = NULL;
	int rc = dbreg_registry_checks_begin(reg);
	if (rc != 0)
		return rc;
	rc = validate_declarations_first(reg, &g, opts);
	return rc != 0 ? rc : validate_sql_and_finish(reg, g, opts);
}

int dbreg_registry_validate_target(struct dbreg_registry *reg, struct dbreg_conn *conn)
{
	size_t errors = reg->diags.errors;
	int rc = dbreg_replay_target(reg, conn);
	if (rc != 0)
		return rc;
	if (reg->diags.errors > errors)
		return dbreg_registry_fail(reg, DBREG_EINVALID, "%zu error%s in the PostgreSQL bodies",
					   reg->diags.errors - errors, reg->diags.errors - errors == 1 ? "" : "s");
	return 0;
}

/* ---- the SQL checks beside a cold apply (issue 18) -------------------------
 * A fresh checkout's apply pays for the SQL checks before its first
 * statement: on SQLite the replay costs about what the apply does. Here they
 * run on a thread of their own while the caller plans and applies up to its
 * first commit (dbreg_apply_opts.gate), and their findings are merged
 * exactly where dbreg_registry_validate would have put them. The thread
 * writes nothing of the registry's: its findings go to a list of its own,
 * and its failure to a buffer of its own. */
struct dbreg_validate_job {
	struct dbreg_registry *reg;
	struct dbreg_graph *g;             /* the thread reads its order; freed by the verdict */
	struct dbreg_validate_opts opts;
	struct dbreg_diag_list decl;       /* a copy of the declarations' findings, for the thread */
	struct dbreg_diag_list found;      /* the SQL checks' findings, in validate's order */
	double t0;                         /* when the SQL checks started (dbreg_clock_ms) */
	double ms;                         /* how long they ran */
	bool past;                         /* they ran past their time budget */
	int rc;                            /* of the thread: 0, DBREG_ENOMEM, or a replay failure */
	char err[512];                     /* the replay failure's message */
	pthread_t thread;
	bool started, joined;
	int verdict;                       /* dbreg_validate_job_wait's, once joined */
};

/* dbreg_validate_sql's two checks, into job->found. */
static void *validate_job_main(void *arg)
{
	struct dbreg_validate_job *job = arg;
	struct dbreg_registry *reg = job->reg;
	int rc = dbreg_sqlcheck_registry_into(&job->found, reg);
	if (rc != DBREG_ENOMEM) {
		/* What dbreg_validate_sql's replay reads in reg->diags then. */
		const struct dbreg_diag_list *lists[] = {&job->decl, &job->found};
		rc = dbreg_replay_check_into(&job->found, reg, job->g, lists, 2, job->err, sizeof job->err);
	}
	job->past = dbreg_past(reg->check_deadline_ms);
	job->ms = dbreg_clock_ms() - job->t0;
	job->rc = rc;
	return NULL;
}

int dbreg_registry_validate_start(struct dbreg_validate_job **out, struct dbreg_registry *reg,
				  const struct dbreg_validate_opts *opts)
{
	*out = NULL;
	/* Only a plain run: --allow rewrites findings, and skip_sql has no
	 * SQL checks to run beside anything. */
	if (!opts || opts->skip_sql || opts->n_allow)
		return dbreg_registry_validate(reg, opts);
	struct dbreg_validate_job *job = calloc(1, sizeof *job);
	if (!job)
		return dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	job->reg = reg;
	job->opts = *opts;
	int rc = dbreg_registry_checks_begin(reg);
	if (rc == 0)
		rc = validate_declarations_first(reg, &job->g, opts);
	if (rc != 0) {
		free(job);
		return rc;
	}
	/* Declarations with errors fail the run anyway: then everything runs
	 * here, as before, and nothing is planned. The thread reads a copy of
	 * their findings, since the planner appends to the registry's. */
	bool beside = reg->diags.errors == 0 && job->g->order;
	size_t *order = beside ? malloc((reg->n_packages + 1) * sizeof *order) : NULL;
	if (beside && order && dbreg_diag_list_copy(&job->decl, &reg->diags) == 0) {
		memcpy(order, job->g->order, reg->n_packages * sizeof *order);
		free(reg->order);
		reg->order = order;   /* the planner's, as dbreg_validate_finish leaves it */
		reg->check_deadline_ms = (long long)dbreg_clock_ms() + validate_budget(opts);
		job->t0 = dbreg_clock_ms();
		job->started = dbreg_thread_start(&job->thread, validate_job_main, job) == 0;
		if (job->started) {
			*out = job;
			return 0;
		}
	} else {
		free(order);
	}
	dbreg_diag_list_dispose(&job->decl);
	/* Here, as dbreg_registry_validate does the rest. */
	rc = validate_sql_and_finish(reg, job->g, opts);
	free(job);
	return rc;
}

static bool validate_same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether two findings say the same. */
static bool validate_same_diag(const struct dbreg_diag *a, const struct dbreg_diag *b)
{
	return a->severity == b->severity && strcmp(a->code, b->code) == 0 && a->line == b->line &&
	       a->column == b->column && validate_same_str(a->file, b->file) &&
	       validate_same_str(a->package, b->package) && validate_same_str(a->table, b->table) &&
	       validate_same_str(a->column_name, b->column_name) && validate_same_str(a->migration, b->migration) &&
	       validate_same_str(a->message, b->message) && validate_same_str(a->hint, b->hint);
}

int dbreg_validate_job_wait(struct dbreg_validate_job *job)
{
	if (!job)
		return 0;
	if (job->joined)
		return job->verdict;
	pthread_join(job->thread, NULL);
	job->joined = true;
	struct dbreg_registry *reg = job->reg;
	/* What the planner added since start goes back after the verdict's
	 * findings, as it would have come after a validation: the list is
	 * the declarations' (the job's copy, in the order they were added),
	 * the SQL checks', then the rest. The registry's list may have been
	 * sorted meanwhile (dbreg_registry_diags), so the declarations' are
	 * told apart by content, not place. */
	struct dbreg_diag_list later = DBREG_DIAG_LIST_INIT;
	bool *used = calloc(job->decl.len + 1, sizeof *used);
	int rc = used ? 0 : DBREG_ENOMEM;
	for (size_t i = 0; rc == 0 && i < reg->diags.len; i++) {
		bool decl = false;
		for (size_t j = 0; j < job->decl.len && !decl; j++)
			if (!used[j] && validate_same_diag(&reg->diags.items[i], &job->decl.items[j]))
				decl = used[j] = true;
		if (!decl)
			rc = dbreg_diag_copy(&later, &reg->diags.items[i]);
	}
	free(used);
	if (rc == 0) {
		dbreg_diag_list_dispose(&reg->diags);
		rc = dbreg_diag_list_move(&reg->diags, &job->decl);
	}
	if (rc == 0)
		rc = dbreg_diag_list_move(&reg->diags, &job->found);
	if (rc == 0 && job->rc == DBREG_ENOMEM)
		rc = DBREG_ENOMEM;
	else if (rc == 0 && job->rc != 0 && job->err[0])
		dbreg_registry_fail(reg, job->rc, "%s", job->err);   /* DBR047 left unchecked, as validate does */
	if (rc == 0 && job->past && validate_past_budget(reg, &job->opts) != 0)
		rc = DBREG_ENOMEM;
	reg->check_deadline_ms = 0;
	if (rc == 0 && job->opts.log)
		validate_log_sql(job->opts.log, reg, job->ms);
	if (rc == 0) {
		rc = dbreg_validate_finish(reg, job->g, &job->opts);
	} else {
		dbreg_graph_free(job->g);
		rc = dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	}
	job->g = NULL;
	for (size_t i = 0; i < later.len; i++) {
		/* The planner leaves out a warning the list holds already
		 * (dbreg_plan_warnings): it could not see the SQL checks' then. */
		const struct dbreg_diag *d = &later.items[i];
		bool known = false;
		for (size_t j = 0; d->severity == DBREG_SEV_WARNING && j < reg->diags.len && !known; j++) {
			const struct dbreg_diag *o = &reg->diags.items[j];
			known = strcmp(o->code, d->code) == 0 && o->line == d->line && o->column == d->column && o->file &&
				d->file && strcmp(o->file, d->file) == 0;
		}
		if (!known && dbreg_diag_copy(&reg->diags, d) != 0 && rc == 0)
			rc = dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	}
	dbreg_diag_list_dispose(&later);
	job->verdict = rc;
	return rc;
}

void dbreg_validate_job_free(struct dbreg_validate_job *job)
{
	if (!job)
		return;
	if (job->started && !job->joined)
		dbreg_validate_job_wait(job);
	dbreg_diag_list_dispose(&job->decl);
	dbreg_diag_list_dispose(&job->found);
	dbreg_graph_free(job->g);
	free(job);
}
