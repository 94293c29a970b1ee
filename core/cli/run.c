/* What apply, down and init share: plan against the target's own history,
 * then run the plan through the apply engine. A failure leaves the target
 * as it was (exit 4) and says which statement, where, and why. */
#define _GNU_SOURCE
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_print_applied_tail(struct cli_session *s, const struct dbreg_apply_result *r)
{
	if (r->skipped)
		fprintf(s->out, " (%zu already applied by another run)", r->skipped);
	if (r->split)
		fprintf(s->out, " in %zu transactions (a migration with transaction = false or foreign_keys = false "
			"ran on its own)", r->segments);
}

void cli_warn_repaired(struct cli_session *s, const char *shown, char *const *lines, size_t n)
{
	/* A dry run's (and a plan's) are what it answers, on stdout. */
	for (size_t i = 0; i < n && !s->o.quiet; i++)
		if (s->o.dry_run || s->cmd == &cli_cmd_plan)
			fprintf(s->out, "%s: apply would repair %s\n", shown, lines[i]);
		else
			fprintf(s->err, "warning: %s: %s\n", shown, lines[i]);
}

bool cli_rls_on(const struct dbreg_project *proj, enum dbreg_dialect dialect)
{
	return proj && proj->isolation.row_level_security && dialect == DBREG_DIALECT_POSTGRES;
}

void cli_print_repaired(struct cli_session *s, const struct dbreg_apply_result *r, int rc)
{
	/* A failed run rolled its repairs back with the rest. */
	size_t n = rc == 0 ? r->n_repaired : 0;
	if (s->o.json) {
		cli_json_key(s, "repaired");
		cli_json_strings(s->out, r->repaired, n);
		return;
	}
	/* A dry run's are in its report (cli_print_dry_run). */
	if (!s->o.dry_run)
		cli_warn_repaired(s, s->shown, r->repaired, n);
}

/* Prints a failed run: the migration, the place in the manifest, what the
 * database said, and that nothing was changed. */
void cli_print_failure(struct cli_session *s, const struct dbreg_apply_result *r)
{
	FILE *err = s->err;
	if (r->failed_migration) {
		if (r->file && r->line)
			fprintf(err, "%s:%u:%u: ", r->file, r->line, r->column);
		fprintf(err, "error: migration %s %s of %s failed: %s", r->failed_up ? "up" : "down",
			r->failed_migration, r->failed_package, r->message ? r->message : r->errmsg);
		if (r->sqlstate[0])
			fprintf(err, " (SQLSTATE %s)", r->sqlstate);
		fputc('\n', err);
		if (r->statement)
			fprintf(err, "  statement: %s\n", r->statement);
		if (r->detail)
			fprintf(err, "  detail: %s\n", r->detail);
		if (r->hint)
			fprintf(err, "  hint: %s\n", r->hint);
	} else {
		fprintf(err, "dbreg: %s\n", r->errmsg);
		if (r->hint)
			fprintf(err, "  hint: %s\n", r->hint);
	}
	for (size_t i = 0; i < r->n_invalid_indexes; i++)
		fprintf(err, "  index %s was left INVALID: remove the cause and run `dbreg apply` again;"
			" it drops the INVALID index and builds it again\n", r->invalid_indexes[i]);
	if (r->statements_total > 0 && r->statements_done == 1)
		fprintf(err, "  the migration runs outside a transaction: statement 1 of %zu completed and is recorded;"
			" the next run resumes at statement 2\n", r->statements_total);
	else if (r->statements_total > 0 && r->statements_done > 1)
		fprintf(err, "  the migration runs outside a transaction: statements 1-%zu of %zu completed and are"
			" recorded; the next run resumes at statement %zu\n", r->statements_done, r->statements_total,
			r->statements_done + 1);
	else if (r->statements_total > 0)
		fprintf(err, "  the migration runs outside a transaction: its first statement failed, nothing of it is applied\n");
	/* What stays is counted in migrations: a transaction that ran none
	 * (opened before a first step that runs alone) changed nothing. */
	if (r->split && r->n_ran)
		fprintf(err, "  %zu migration%s committed before the failure stay%s applied; the failed one was rolled back\n",
			r->n_ran, r->n_ran == 1 ? "" : "s", r->n_ran == 1 ? "s" : "");
	else if (r->statements_done == 0)
		fprintf(err, "  nothing was changed: the run was rolled back\n");
}

/* The run is over on the target, and the state file refused its record
 * (read-only, full, locked past the busy timeout, damaged): said as a
 * failure, since the next offline plan works from a copy that is behind
 * when anything committed. The mark of the run stays: offline plan and
 * status warn until a --refresh or a later run records the history. */
static void run_record_failed(struct cli_session *s, const struct dbreg_apply_result *r, int rc, int wrc)
{
	const char *why = dbreg_state_errmsg(s->state);
	if (r->n_ran == 0) {
		/* Nothing committed: the copy is right; only the mark is left. */
		fprintf(s->err, "dbreg: warning: the state file %s could not record the end of the run on %s: %s\n",
			s->state_path, s->shown, why);
		return;
	}
	char *msg = NULL;
	if (asprintf(&msg, "%s WAS changed (%zu migration%s committed), but the state file %s could not record it: %s",
		     s->shown, r->applied, r->applied == 1 ? "" : "s", s->state_path, why) < 0)
		msg = NULL;
	if (rc < 0) {
		/* The run's own failure is the error; this one follows it. */
		fprintf(s->err, "dbreg: %s\n", msg ? msg : why);
	} else {
		cli_fail(s, "%s", msg ? msg : why);
		if (wrc == DBREG_ESTATE)
			cli_hint_state(s, wrc);
		else
			cli_hint(s, "the state file's copy of %s's history is behind: once the state file can be written, "
				    "`dbreg plan --refresh` reads it again from the target (whose history tables are the "
				    "truth); until then an offline plan warns that its copy may be stale", s->shown);
	}
	free(msg);
}

/* A failed down of a migration that had run in part: its down was written
 * for the whole up, and may expect what the rest would have made. */
static void run_print_partial_down(struct cli_session *s, const struct dbreg_plan *plan,
				   const struct dbreg_apply_result *r)
{
	for (size_t i = 0; r->failed_migration && !r->failed_up && i < dbreg_plan_count(plan); i++) {
		const struct dbreg_step *st = dbreg_plan_step(plan, i);
		if (!st->up && st->partial_done && strcmp(st->package, r->failed_package) == 0 &&
		    strcmp(st->migration, r->failed_migration) == 0)
			fprintf(s->err, "  the migration was partially applied (%zu of %zu statements): its down must also "
				"undo a part of it (DROP ... IF EXISTS); or delete its row with statements_done = %zu "
				"from ydtb_registry_migrations to forget it\n", st->partial_done, st->partial_total,
				st->partial_done);
	}
}

/* dbreg_apply_opts.gate: the SQL checks running beside the apply
 * (CLI_SQL_BESIDE) pass before its first commit. */
static int run_gate(void *arg)
{
	return cli_checks_wait(arg, 0) < 0;
}

void cli_print_applied_json(struct cli_session *s, const struct dbreg_plan *plan, const struct dbreg_apply_result *res,
			    int rc)
{
	cli_print_plan(s, plan);
	/* A dry run applies nothing: it says what is pending. */
	cli_json_key(s, "applied");
	fprintf(s->out, "%zu", s->o.dry_run ? 0 : res->applied);
	cli_json_key(s, "pending");
	fprintf(s->out, "%zu", s->o.dry_run ? res->applied : res->to_run - res->applied);
	cli_json_key(s, "dry_run");
	fputs(s->o.dry_run ? "true" : "false", s->out);
	/* transaction = false: how far a failed one got (recorded: the next
	 * run resumes there), and where this run resumed one. */
	if (res->statements_total) {
		cli_json_key(s, "statements_done");
		fprintf(s->out, "%zu", res->statements_done);
		cli_json_key(s, "statements_total");
		fprintf(s->out, "%zu", res->statements_total);
	}
	if (res->resumed_migration) {
		cli_json_key(s, "resumed");
		fputs("{\"package\": ", s->out);
		dbreg_json_str(s->out, res->resumed_package);
		fputs(", \"migration\": ", s->out);
		dbreg_json_str(s->out, res->resumed_migration);
		fprintf(s->out, ", \"statement\": %zu}", res->resumed_at);
	}
	cli_print_repaired(s, res, rc);
}

int cli_run_plan(struct cli_session *s, const char *event, const struct dbreg_plan_opts *extra, size_t *applied)
{
	struct dbreg_plan *plan = NULL;
	struct dbreg_apply_result res = {0};
	int rc;

	if ((rc = cli_history(s, true)) < 0)
		return rc;
	if ((rc = cli_build_plan(s, extra, &plan)) < 0) {
		if (s->o.json)
			cli_print_plan(s, NULL);   /* the document's target and dialect, no steps */
		dbreg_state_log(s->state, event, s->shown, "refused", "the plan has errors");
		return rc;
	}
	cli_print_plan_warnings(s, plan);
	bool marked = false;
	/* Planned against a read-only connection, so that a refused plan
	 * created nothing (not even an SQLite file): now one that writes. */
	if (!s->o.dry_run && (rc = cli_connect_writable(s)) < 0)
		goto out;
	cli_print_bypasses(s, plan);
	if (!s->o.dry_run && (rc = dbreg_state_register(s->state, s->reg)) < 0) {
		cli_fail_state(s, rc, dbreg_state_errmsg(s->state));
		goto out;
	}
	/* Before the target can change (the apply takes its lock first), and
	 * after the state file's other writes, so that the record of what ran
	 * is the one write left: the mark that the copy of the target's
	 * history is about to be behind, dropped with that record. A run with
	 * nothing to run writes none. From the mark to the record an
	 * interrupt lets the run roll back and record what the target holds
	 * (its mark goes with it) before the process ends. */
	marked = !s->o.dry_run && dbreg_plan_count(plan) > 0;
	if (marked)
		dbreg_cancel_unwind_enter();
	if (marked && (rc = dbreg_state_run_begin(s->state, s->shown, event)) < 0) {
		cli_fail_state(s, rc, dbreg_state_errmsg(s->state));
		goto out;
	}
	struct dbreg_apply_opts aopts = {
		.dry_run = s->o.dry_run,
		.lock_timeout_s = s->o.lock_timeout,
		.target_lock_timeout_ms = s->lock_timeout_ms,
		.target_statement_timeout_ms = s->statement_timeout_ms,
		.record_only = s->record_only,
		.log = s->o.verbose && !s->o.json ? s->err : NULL,
		.gate = s->checks ? run_gate : NULL,
		.gate_arg = s,
		.waiting = cli_waiting,
		.waiting_arg = s,
	};
	/* A bar only where a person watches, and not over the verbose lines. */
	if (s->tty && !s->o.json && !s->o.quiet && !s->o.verbose && !s->o.dry_run &&
	    dbreg_plan_count(plan) > CLI_PROGRESS_MIN_STEPS) {
		aopts.progress = cli_progress;
		aopts.progress_arg = s->err;
	}
	cli_signal_keys(s, plan);
	rc = dbreg_apply_run(&res, s->conn, plan, &aopts);
	/* Interrupted: the signal's words are the report (cli_signal_unwound). */
	bool stopped = cli_signal_deferred();
	/* A run that ended before its first commit did not wait for them:
	 * failed checks are the report, and the target was rolled back. */
	int checked = stopped ? 0 : cli_checks_wait(s, 0);
	if (checked < 0) {
		rc = checked;
		goto unmark;
	}
	if (applied)
		*applied = res.applied;
	if (stopped) {
		/* no report of its own */
	} else if (s->o.json) {
		cli_print_applied_json(s, plan, &res, rc);
	} else if (!s->o.quiet || rc < 0) {
		if (s->o.dry_run) {
			cli_print_dry_run(s, plan, &res, rc);
		} else if (rc == 0 && s->record_only) {
			fprintf(s->out, "%s: recorded %zu migration%s as applied without running %s\n", s->shown,
				res.applied, res.applied == 1 ? "" : "s", res.applied == 1 ? "it" : "them");
		} else if (rc == 0) {
			size_t downs = 0;
			for (size_t i = 0; i < res.n_ran; i++)
				downs += !dbreg_plan_step(plan, res.ran[i])->up;
			fprintf(s->out, "%s: ", s->shown);
			if (downs)
				fprintf(s->out, "reverted %zu migration%s, ", downs, downs == 1 ? "" : "s");
			fprintf(s->out, "applied %zu migration%s", res.applied - downs, res.applied - downs == 1 ? "" : "s");
			cli_print_applied_tail(s, &res);
			fputc('\n', s->out);
			if (res.resumed_migration)
				fprintf(s->out, "  resumed %s %s at statement %zu, where an earlier run had stopped\n",
					res.resumed_package, res.resumed_migration, res.resumed_at);
		}
	}
	if (!s->o.json && !stopped)
		cli_print_repaired(s, &res, rc);
	if (rc < 0 && !stopped) {
		cli_print_failure(s, &res);   /* on stderr, with --json too */
		run_print_partial_down(s, plan, &res);
		cli_fail_apply(s, &res);
	}
	if (!s->o.dry_run) {
		/* The offline copy follows the target, success or not; a run that
		 * changed nothing leaves it as the read before planning stored it.
		 * A history that cannot be read again leaves the mark: the copy
		 * may be behind. */
		int wrc = 0;
		if (res.applied > 0 || rc < 0) {
			dbreg_applied_free(s->history, s->n_history);
			s->history = NULL;
			s->n_history = 0;
			if (dbreg_target_history_after(&s->conn, s->url, rc, &s->history, &s->n_history) == 0)
				wrc = dbreg_state_set_history(s->state, s->shown, s->history, s->n_history);
		} else if (marked) {
			wrc = dbreg_state_run_end(s->state, s->shown);
		}
		if (wrc < 0) {
			run_record_failed(s, &res, rc, wrc);
			if (rc == 0 && res.n_ran > 0)
				rc = wrc;
			goto out;   /* the log would be refused as well, after its own wait */
		}
		/* The log names what ran, reverts included: the steps of the
		 * segments that committed. */
		char *ran = NULL;
		size_t n_ran = 0;
		FILE *fp = res.n_ran ? open_memstream(&ran, &n_ran) : NULL;
		for (size_t i = 0; fp && i < res.n_ran; i++) {
			const struct dbreg_step *st = dbreg_plan_step(plan, res.ran[i]);
			fprintf(fp, "%s%s %s %s", i ? ", " : "", s->record_only ? "recorded" : st->up ? "applied" : "reverted",
				st->package, st->migration);
		}
		if (fp)
			fclose(fp);
		char *detail = NULL;
		if (rc == 0)
			detail = ran;
		else if ((detail = malloc(strlen(res.message ? res.message : res.errmsg) + (ran ? strlen(ran) : 0) + 16)))
			sprintf(detail, "%s%s%s", res.message ? res.message : res.errmsg, ran ? "; before it: " : "",
				ran ? ran : "");
		dbreg_state_log(s->state, event, s->shown, rc == 0 ? "ok" : "failed", detail);
		if (detail != ran)
			free(detail);
		free(ran);
	}
	goto out;
unmark:
	/* Refused before the run: the target is as its copy says. */
	if (marked)
		dbreg_state_run_end(s->state, s->shown);
out:
	dbreg_apply_result_dispose(&res);
	dbreg_plan_free(plan);
	if (marked) {
		dbreg_cancel_unwind_leave();
		cli_signal_unwound();
	}
	return rc;
}
