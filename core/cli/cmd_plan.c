/* dbreg plan: the steps apply would run on the target, from the state file
 * (or the target's own history with --refresh), without changing anything. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* A foreign_keys = false step on SQLite runs in a transaction of its own
 * (apply.c), so it splits the run as a transaction = false step does; on
 * PostgreSQL the key does nothing. */
static bool plan_fk_alone(const struct cli_session *s, const struct dbreg_step *st)
{
	return s->dialect == DBREG_DIALECT_SQLITE && st->transaction && !st->foreign_keys;
}

void cli_print_plan(struct cli_session *s, const struct dbreg_plan *plan)
{
	size_t n = dbreg_plan_count(plan);
	FILE *out = s->out;
	if (s->o.json) {
		cli_json_key(s, "target");
		dbreg_json_str(out, s->shown);
		cli_json_key(s, "dialect");
		fprintf(out, "\"%s\"", cli_dialect_name(s->dialect));
		cli_json_key(s, "steps");
		fputc('[', out);
		for (size_t i = 0; i < n; i++) {
			const struct dbreg_step *st = dbreg_plan_step(plan, i);
			fputs(i ? ",\n    {" : "\n    {", out);
			cli_json_migration(out, st->package, st->migration, st->version);
			fprintf(out, ", \"direction\": \"%s\", \"transaction\": %s, \"foreign_keys\": %s, \"out_of_order\": %s,"
				" \"checksum\": ", st->up ? "up" : "down", st->transaction ? "true" : "false",
				st->foreign_keys ? "true" : "false", st->out_of_order ? "true" : "false");
			dbreg_json_str(out, st->checksum);
			fputs(", \"partially_applied\": ", out);
			cli_json_partial(out, st->partial_done, st->partial_total);
			fputc('}', out);
		}
		fputs(n ? "\n  ]" : "]", out);
		return;
	}
	if (n == 0) {
		fprintf(out, "%s (%s) is up to date: nothing to run\n", s->shown, cli_dialect_name(s->dialect));
		return;
	}
	fprintf(out, "plan for %s (%s): %zu step%s\n", s->shown, cli_dialect_name(s->dialect), n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		const struct dbreg_step *st = dbreg_plan_step(plan, i);
		fprintf(out, "%4zu. %-4s %s %s (%s)%s%s", i + 1, st->up ? "up" : "down", st->package,
			st->migration, st->version,
			!st->transaction ? " [outside a transaction]"
			: plan_fk_alone(s, st) ? " [in a transaction of its own, foreign keys off: the run is split here]"
					       : "",
			st->out_of_order ? " [out of order: older than an applied migration]" : "");
		if (st->partial_done && st->up)
			fprintf(out, " [partially applied (%zu of %zu statements): resumes at statement %zu]",
				st->partial_done, st->partial_total, st->partial_done + 1);
		else if (st->partial_done)
			fprintf(out, " [partially applied (%zu of %zu statements): its down undoes them]",
				st->partial_done, st->partial_total);
		fputc('\n', out);
	}
}

void cli_json_partial(FILE *out, size_t done, size_t total)
{
	if (done)
		fprintf(out, "{\"statements_done\": %zu, \"statements_total\": %zu}", done, total);
	else
		fputs("null", out);
}

void cli_print_dry_run(struct cli_session *s, const struct dbreg_plan *plan, const struct dbreg_apply_result *r,
		       int rc)
{
	/* What would run, statement for statement. */
	cli_print_plan(s, plan);
	for (size_t i = 0; i < dbreg_plan_count(plan); i++) {
		const struct dbreg_step *st = dbreg_plan_step(plan, i);
		fprintf(s->out, "-- %s %s %s\n", st->up ? "up" : "down", st->package, st->migration);
		if (st->partial_done && st->up)
			fprintf(s->out, "-- resumes at statement %zu of %zu\n", st->partial_done + 1, st->partial_total);
		fprintf(s->out, "%s\n", st->sql + st->resume);
	}
	cli_warn_repaired(s, s->shown, r->repaired, rc == 0 ? r->n_repaired : 0);
	fprintf(s->out, "dry run: nothing was changed\n");
}

void cli_print_plan_warnings(struct cli_session *s, const struct dbreg_plan *plan)
{
	if (s->o.quiet)
		return;
	/* The plan's own list, worked out once by dbreg_plan_build. */
	struct dbreg_diag_list w = DBREG_DIAG_LIST_INIT;
	dbreg_plan_warnings(plan, &w);
	cli_print_diags(s, &w);
	dbreg_diag_list_dispose(&w);
}

int cli_build_plan(struct cli_session *s, const struct dbreg_plan_opts *extra, struct dbreg_plan **plan)
{
	struct dbreg_plan_opts opts = {
		.dialect = s->dialect,
		.history = s->history,
		.n_history = s->n_history,
		.progress = s->progress,
		.n_progress = s->n_progress,
		.pins = s->o.pins,
		.n_pins = s->o.n_pins,
		.only_package = extra ? extra->only_package : NULL,
		.allow = s->o.allow,
		.n_allow = s->o.n_allow,
		.reset = extra && extra->reset,
		.downgrade = extra && extra->downgrade,
		.dependencies_installed = extra && extra->dependencies_installed,
		.keep_invalid = extra && extra->keep_invalid,
		/* Read from the target: the tools the run deletes are warned about. */
		.target = s->history_online ? s->conn : NULL,
		.count_unwritten = extra && extra->count_unwritten,
		/* -q hides warnings, and only a --json document would carry them. */
		.no_warnings = s->o.quiet && !s->o.json,
	};
	/* The warnings of bodies planned before come from the state file. */
	struct dbreg_plan_memo *memo = NULL;
	if (s->state && dbreg_plan_memo_new(&memo, s->state, s->reg) < 0)
		return DBREG_ENOMEM;
	opts.memo = memo;
	int rc = dbreg_plan_build(plan, s->reg, &opts);
	/* A cache that cannot be written costs speed, not correctness. */
	if (rc == 0 && !s->state_readonly)
		dbreg_plan_memo_save(memo);
	dbreg_plan_memo_free(memo);
	if (rc == DBREG_EINVALID) {
		const struct dbreg_diag_list *d = dbreg_registry_diags(s->reg);
		cli_print_diags(s, d);
		cli_fail(s, "the plan for %s has %zu error%s; nothing was changed", s->shown, d->errors,
			 d->errors == 1 ? "" : "s");
	} else if (rc < 0) {
		cli_fail(s, "%s", dbreg_registry_errmsg(s->reg));
	}
	return rc;
}

/* --to names packages: PKG@VERSION, never a bare version. */
int cli_check_pins(struct cli_session *s)
{
	for (size_t i = 0; i < s->o.n_pins; i++)
		if (!s->o.pins[i].package)
			return cli_usage(s, "%s takes --to PKG@VERSION, not --to %s", s->cmd->name, s->o.pins[i].version);
	return 0;
}

/* Every apply also checks the row-level security of the tables no step
 * of it touches and repairs it (cli_rls_on), which the history does not
 * tell: with the target read (--refresh), what it would repair, from the
 * check verify makes; offline, that this plan cannot know. --json: the key
 * "repaired" (null: not known). */
static int plan_repairs(struct cli_session *s, const struct dbreg_plan *plan)
{
	bool online = s->history_online && s->conn;
	if (!cli_rls_on(s->proj, s->dialect) || !online) {
		bool unknown = cli_rls_on(s->proj, s->dialect);
		if (s->o.json) {
			cli_json_key(s, "repaired");
			fputs(unknown ? "null" : "[]", s->out);
		} else if (unknown && !s->o.quiet && !s->o.sql) {
			fprintf(s->err, "dbreg: note: every apply on PostgreSQL also checks the tables' row-level security "
					"([isolation]) and repairs it, which this offline plan cannot see: `dbreg plan "
					"--refresh` or `dbreg verify` shows what it would repair\n");
		}
		return 0;
	}
	struct dbreg_apply_result r;
	int rc = dbreg_apply_repairs(&r, s->conn, plan);
	if (rc == 0 && s->o.json) {
		cli_json_key(s, "repaired");
		cli_json_strings(s->out, r.repaired, r.n_repaired);
	} else if (rc == 0 && !s->o.sql) {
		cli_warn_repaired(s, s->shown, r.repaired, r.n_repaired);
	} else if (rc < 0) {
		char what[1100];
		snprintf(what, sizeof what, "reading the row-level security of %s", s->shown);
		if (rc == DBREG_ENOMEM)
			cli_fail(s, "out of memory");
		else
			cli_fail_target(s, what);
	}
	dbreg_apply_result_dispose(&r);
	return rc;
}

static int plan_run(struct cli_session *s)
{
	if (s->o.fleet)
		return cli_fleet(s, "plan");
	struct dbreg_plan *plan = NULL;
	char *script = NULL;
	int rc;
	if ((rc = cli_check_pins(s)) < 0)
		return rc;
	if ((rc = cli_history(s, s->o.refresh)) < 0)
		goto out;
	if ((rc = cli_build_plan(s, NULL, &plan)) < 0) {
		if (s->o.json)
			cli_print_plan(s, NULL);   /* the document's target and dialect, no steps */
		goto out;
	}
	if (s->o.sql && !(script = dbreg_plan_script_timeouts(plan, s->lock_timeout_ms, s->statement_timeout_ms))) {
		rc = DBREG_ENOMEM;
		goto out;
	}
	/* Warnings found while planning (DBR103) are in the registry's
	 * diagnostics too, so the JSON document carries them. */
	cli_print_plan_warnings(s, plan);
	if (s->o.sql && !s->o.json) {
		fputs(script, s->out);
	} else {
		cli_print_plan(s, plan);
		if (s->o.json && script) {
			cli_json_key(s, "sql");
			dbreg_json_str(s->out, script);
		}
	}
	if ((rc = plan_repairs(s, plan)) < 0)
		goto out;
	if (!s->state_readonly)
		dbreg_state_log(s->state, "plan", s->shown, "ok", NULL);
out:
	free(script);
	dbreg_plan_free(plan);
	return rc;
}

const struct cli_command cli_cmd_plan = {
	.name = "plan",
	.args = "",
	.summary = "the steps apply would run, from the state file, offline",
	.help = "Plans from the state file's copy of the target's history, without connecting;\n"
		"--refresh reads the target's history first, and with [isolation] row-level security\n"
		"on PostgreSQL lists what apply would repair (as verify checks it). --sql prints the\n"
		"whole script for the target's dialect (for sqlite3 or psql) instead of the steps.",
	.options = (const char *const[]){"refresh", "sql", "to", "fleet", "jobs", NULL},
	.needs = CLI_NEEDS_VALID_SQL | CLI_NEEDS_TARGET | CLI_NEEDS_STATE | CLI_STATE_READONLY,
	.run = plan_run,
};
