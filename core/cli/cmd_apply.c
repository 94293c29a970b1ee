/* dbreg apply and dbreg down PKG --to VERSION: plan against the target's own
 * history, then run the plan through the apply engine. A failure leaves the
 * target as it was (exit 4) and says which statement, where, and why. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Prints a failed run: the migration, the place in the manifest, what the
 * database said, and that nothing was changed. */
static void apply_print_failure(struct cli_ctx *ctx, const struct dbreg_apply_result *r)
{
	if (r->failed_migration) {
		if (r->file && r->line)
			fprintf(ctx->err, "%s:%u:%u: ", r->file, r->line, r->column);
		fprintf(ctx->err, "error: migration %s %s of %s failed: %s", r->failed_up ? "up" : "down",
			r->failed_migration, r->failed_package, r->message ? r->message : r->errmsg);
		if (r->sqlstate[0])
			fprintf(ctx->err, " (SQLSTATE %s)", r->sqlstate);
		fputc('\n', ctx->err);
		if (r->statement)
			fprintf(ctx->err, "  statement: %s\n", r->statement);
		if (r->detail)
			fprintf(ctx->err, "  detail: %s\n", r->detail);
		if (r->hint)
			fprintf(ctx->err, "  hint: %s\n", r->hint);
	} else {
		fprintf(ctx->err, "dbreg: %s\n", r->errmsg);
	}
	for (size_t i = 0; i < r->n_invalid_indexes; i++)
		fprintf(ctx->err, "  index %s was left INVALID: remove the cause and run `dbreg apply` again;"
			" it drops the INVALID index and builds it again\n", r->invalid_indexes[i]);
	if (r->statements_total > 0 && r->statements_done == 1)
		fprintf(ctx->err, "  the migration runs outside a transaction: statement 1 of %zu completed and is recorded;"
			" the next run resumes at statement 2\n", r->statements_total);
	else if (r->statements_total > 0 && r->statements_done > 1)
		fprintf(ctx->err, "  the migration runs outside a transaction: statements 1-%zu of %zu completed and are"
			" recorded; the next run resumes at statement %zu\n", r->statements_done, r->statements_total,
			r->statements_done + 1);
	else if (r->statements_total > 0)
		fprintf(ctx->err, "  the migration runs outside a transaction: its first statement failed, nothing of it is applied\n");
	if (r->split && r->segments)
		fprintf(ctx->err, "  %zu transaction%s committed before the failure stay applied; the failed one was rolled back\n",
			r->segments, r->segments == 1 ? "" : "s");
	else
		fprintf(ctx->err, "  nothing was changed: the run was rolled back\n");
}

int cli_run_plan(struct cli_ctx *ctx, struct cli_target *t, struct dbreg_registry *reg,
		 const char *event, const struct dbreg_plan_opts *extra, size_t *applied)
{
	struct dbreg_plan *plan = NULL;
	struct dbreg_apply_result res = {0};
	int rc;

	if ((rc = cli_target_history(ctx, t, true)) < 0)
		return rc;
	struct dbreg_plan_opts opts = {
		.dialect = t->dialect,
		.history = t->history,
		.n_history = t->n_history,
		.pins = ctx->pins,
		.n_pins = ctx->n_pins,
		.only_package = extra ? extra->only_package : NULL,
		.allow = ctx->allow,
		.n_allow = ctx->n_allow,
		.reset = extra && extra->reset,
	};
	rc = dbreg_plan_build(&plan, reg, &opts);
	if (rc < 0) {
		if (rc == DBREG_EINVALID)
			cli_print_diags(ctx, dbreg_registry_diags(reg));
		else
			fprintf(ctx->err, "dbreg: %s\n", dbreg_registry_errmsg(reg));
		dbreg_state_log(t->state, event, t->shown, "refused", "the plan has errors");
		return rc;
	}
	cli_print_plan_warnings(ctx, plan);
	/* Planned against a read-only connection, so that a refused plan
	 * created nothing (not even an SQLite file): now open it to write. */
	if (!ctx->dry_run && t->readonly) {
		dbreg_target_close(t->conn);
		t->conn = NULL;
		if ((rc = cli_target_connect(ctx, t)) < 0)
			goto out;
	}
	cli_print_bypasses(ctx, dbreg_registry_diags(reg));
	if (!ctx->dry_run && (rc = dbreg_state_register(t->state, reg)) < 0) {
		fprintf(ctx->err, "dbreg: state file: %s\n", dbreg_state_errmsg(t->state));
		goto out;
	}
	struct dbreg_apply_opts aopts = {
		.dry_run = ctx->dry_run,
		.lock_timeout_s = ctx->lock_timeout,
		.target_lock_timeout_ms = t->lock_timeout_ms,
		.target_statement_timeout_ms = t->statement_timeout_ms,
		.record_only = ctx->record_only,
		.log = ctx->verbose && !ctx->json ? ctx->err : NULL,
	};
	/* A bar only where a person watches, and not over the verbose lines. */
	if (ctx->tty && !ctx->json && !ctx->quiet && !ctx->verbose && !ctx->dry_run &&
	    dbreg_plan_count(plan) > CLI_PROGRESS_MIN_STEPS) {
		aopts.progress = cli_progress;
		aopts.progress_arg = ctx->err;
	}
	rc = dbreg_apply_run(&res, t->conn, plan, &aopts);
	if (applied)
		*applied = res.applied;
	if (ctx->json) {
		cli_print_plan(ctx, t, plan);
		/* A dry run applies nothing: it says what is pending. */
		fprintf(ctx->out, ",\n  \"applied\": %zu,\n  \"pending\": %zu,\n  \"dry_run\": %s",
			ctx->dry_run ? 0 : res.applied, ctx->dry_run ? res.applied : res.to_run - res.applied,
			ctx->dry_run ? "true" : "false");
		fputs(",\n  \"diagnostics\": ", ctx->out);
		dbreg_diag_list_json(ctx->out, dbreg_registry_diags(reg));
		if (rc < 0) {
			fputs(",\n  \"error\": ", ctx->out);
			dbreg_json_str(ctx->out, res.message ? res.message : res.errmsg);
			if (res.failed_migration) {
				fputs(",\n  \"failed\": {\"package\": ", ctx->out);
				dbreg_json_str(ctx->out, res.failed_package);
				fputs(", \"migration\": ", ctx->out);
				dbreg_json_str(ctx->out, res.failed_migration);
				fputs(", \"file\": ", ctx->out);
				dbreg_json_str(ctx->out, res.file);
				fprintf(ctx->out, ", \"line\": %u, \"column\": %u, \"sqlstate\": ", res.line, res.column);
				dbreg_json_str(ctx->out, res.sqlstate[0] ? res.sqlstate : NULL);
				fputs(", \"statement\": ", ctx->out);
				dbreg_json_str(ctx->out, res.statement);
				/* transaction = false: how far it got (recorded: the next run resumes there). */
				if (res.statements_total)
					fprintf(ctx->out, ", \"statements_done\": %zu, \"statements_total\": %zu",
						res.statements_done, res.statements_total);
				fputs("}", ctx->out);
			}
		}
		if (res.resumed_migration) {
			fputs(",\n  \"resumed\": {\"package\": ", ctx->out);
			dbreg_json_str(ctx->out, res.resumed_package);
			fputs(", \"migration\": ", ctx->out);
			dbreg_json_str(ctx->out, res.resumed_migration);
			fprintf(ctx->out, ", \"statement\": %zu}", res.resumed_at);
		}
	} else if (!ctx->quiet || rc < 0) {
		if (ctx->dry_run) {
			/* What would run, statement for statement. */
			cli_print_plan(ctx, t, plan);
			for (size_t i = 0; i < dbreg_plan_count(plan); i++)
				fprintf(ctx->out, "-- %s %s %s\n%s\n", dbreg_plan_step(plan, i)->up ? "up" : "down",
					dbreg_plan_step(plan, i)->package, dbreg_plan_step(plan, i)->migration,
					dbreg_plan_step(plan, i)->sql);
			fprintf(ctx->out, "dry run: nothing was changed\n");
		} else if (rc == 0 && ctx->record_only) {
			fprintf(ctx->out, "%s: recorded %zu migration%s as applied without running %s\n", t->shown,
				res.applied, res.applied == 1 ? "" : "s", res.applied == 1 ? "it" : "them");
		} else if (rc == 0) {
			size_t downs = 0;
			for (size_t i = 0; i < res.n_ran; i++)
				downs += !dbreg_plan_step(plan, res.ran[i])->up;
			fprintf(ctx->out, "%s: ", t->shown);
			if (downs)
				fprintf(ctx->out, "reverted %zu migration%s, ", downs, downs == 1 ? "" : "s");
			fprintf(ctx->out, "applied %zu migration%s", res.applied - downs,
				res.applied - downs == 1 ? "" : "s");
			if (res.skipped)
				fprintf(ctx->out, " (%zu already applied by another run)", res.skipped);
			if (res.split)
				fprintf(ctx->out, " in %zu transactions (a migration with transaction = false split the run)",
					res.segments);
			fputc('\n', ctx->out);
			if (res.resumed_migration)
				fprintf(ctx->out, "  resumed %s %s at statement %zu, where an earlier run had stopped\n",
					res.resumed_package, res.resumed_migration, res.resumed_at);
		}
	}
	if (rc < 0)
		apply_print_failure(ctx, &res);   /* on stderr, with --json too */
	if (!ctx->dry_run) {
		/* The offline copy follows the target, success or not; a run that
		 * changed nothing leaves it as the read before planning stored it. */
		if (res.applied > 0 || rc < 0)
			cli_target_history(ctx, t, true);
		/* The log names what ran, reverts included: the steps of the
		 * segments that committed. */
		char *ran = NULL;
		size_t n_ran = 0;
		FILE *fp = res.n_ran ? open_memstream(&ran, &n_ran) : NULL;
		for (size_t i = 0; fp && i < res.n_ran; i++) {
			const struct dbreg_step *st = dbreg_plan_step(plan, res.ran[i]);
			fprintf(fp, "%s%s %s %s", i ? ", " : "", ctx->record_only ? "recorded" : st->up ? "applied" : "reverted",
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
		dbreg_state_log(t->state, event, t->shown, rc == 0 ? "ok" : "failed", detail);
		if (detail != ran)
			free(detail);
		free(ran);
	}
out:
	dbreg_apply_result_dispose(&res);
	dbreg_plan_free(plan);
	return rc;
}

static int apply_common(struct cli_ctx *ctx, const char *event, const char *only_package)
{
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct cli_target t = {0};
	struct dbreg_plan_opts extra = {.only_package = only_package};

	if (!only_package && cli_apply_noop(ctx))
		return 0;
	int rc = cli_open(ctx, &proj, &reg, true);
	if (rc < 0)
		goto out;
	if ((rc = cli_target_open(ctx, &t, proj)) < 0)
		goto out;
	/* Read-only until the plan is known to be fine (cli_run_plan). */
	rc = cli_target_connect_readonly(ctx, &t);
	if (rc < 0)
		goto out;
	rc = cli_run_plan(ctx, &t, reg, event, &extra, NULL);
	if (rc == 0 && !only_package)
		cli_apply_remember(ctx, proj, &t, reg);
	cli_json_end(ctx, rc == 0);
out:
	cli_target_close(&t);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}

int cmd_apply(struct cli_ctx *ctx)
{
	if (ctx->fleet)
		return cli_fleet(ctx, "apply");
	if (cli_no_extra_args(ctx, 0))
		return 2;
	for (size_t i = 0; i < ctx->n_pins; i++) {
		if (!ctx->pins[i].package) {
			fprintf(ctx->err, "dbreg: apply takes --to PKG@VERSION\n");
			return 2;
		}
	}
	return apply_common(ctx, "apply", NULL);
}

int cmd_down(struct cli_ctx *ctx)
{
	if (ctx->n_args != 1 || ctx->n_pins != 1 || ctx->pins[0].version[0] == '\0') {
		fprintf(ctx->err, "usage: dbreg down PKG --to VERSION\n");
		return 2;
	}
	if (ctx->pins[0].package && strcmp(ctx->pins[0].package, ctx->args[0]) != 0) {
		fprintf(ctx->err, "dbreg: down %s --to names another package (%s)\n", ctx->args[0],
			ctx->pins[0].package);
		return 2;
	}
	ctx->pins[0].package = ctx->args[0];
	return apply_common(ctx, "downgrade", ctx->args[0]);
}
