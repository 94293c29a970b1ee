/* dbreg init: the initialization pipeline of the library (dbreg_init_run):
 * (1) connect, retrying with backoff until --wait runs out; (2-3) register
 * every package in the state file and run all pending migrations, core
 * first, in one transaction; (4) verify the database against the declared
 * tables; (5) report. This file only says what happens. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

struct init_ui {
	struct cli_session *s;
	const struct dbreg_init_result *r;   /* the run's, filled as it goes */
};

/* The "[n/5]" lines, as each phase of dbreg_init_run starts; the plan's
 * keys for an interrupt's document once it is made. */
static void init_phase(void *arg, enum dbreg_init_phase phase)
{
	const struct init_ui *ui = arg;
	struct cli_session *s = ui->s;
	if (phase == DBREG_INIT_APPLY && ui->r->plan)
		cli_signal_keys(s, ui->r->plan);
	if (s->o.json || s->o.quiet)
		return;
	switch (phase) {
	case DBREG_INIT_CONNECT:
		fprintf(s->out, "  [1/5] connecting to %s\n", s->shown);
		break;
	case DBREG_INIT_PLAN:
		fprintf(s->out, "  [2/5] registering packages and planning (%s)\n", cli_dialect_name(s->dialect));
		break;
	case DBREG_INIT_APPLY:
		fprintf(s->out, "  [3/5] %s pending migrations, core first\n", s->o.dry_run ? "showing" : "applying");
		break;
	case DBREG_INIT_VERIFY:
		fprintf(s->out, "  [4/5] verifying the database against the declared tables\n");
		break;
	case DBREG_INIT_RECORD:   /* a failure only, never a phase begun */
		break;
	}
	fflush(s->out);
}

/* The report of a run: the plan's keys (JSON) or what ran (human). */
static void init_report(struct cli_session *s, const struct dbreg_init_result *r, int rc)
{
	const struct dbreg_plan *plan = r->plan;
	/* verify, and the state file's record, fail after the run committed */
	int applied = r->failed == DBREG_INIT_VERIFY || r->failed == DBREG_INIT_RECORD ? 0 : rc;
	if (s->o.json) {
		cli_print_plan(s, plan);
		cli_json_key(s, "applied");
		fprintf(s->out, "%zu", s->o.dry_run ? 0 : r->apply.applied);
		cli_json_key(s, "pending");
		fprintf(s->out, "%zu", s->o.dry_run ? r->apply.applied : r->apply.to_run - r->apply.applied);
		cli_json_key(s, "dry_run");
		fputs(s->o.dry_run ? "true" : "false", s->out);
		cli_print_repaired(s, &r->apply, applied);
		return;
	}
	cli_print_repaired(s, &r->apply, applied);
	if (s->o.quiet && rc == 0)
		return;
	if (s->o.dry_run) {
		cli_print_dry_run(s, plan, &r->apply, applied);
	} else if (rc == 0 || r->failed == DBREG_INIT_VERIFY || r->failed == DBREG_INIT_RECORD) {
		/* else nothing ran, or apply's failure says what did */
		fprintf(s->out, "%s: applied %zu migration%s", s->shown, r->apply.applied, r->apply.applied == 1 ? "" : "s");
		cli_print_applied_tail(s, &r->apply);
		fputc('\n', s->out);
	}
}

static int init_run(struct cli_session *s)
{
	if (s->o.fleet) {
		int rc = cli_fleet(s, "init");
		cli_note_tools(s);
		return rc;
	}
	bool say = !s->o.json && !s->o.quiet;
	size_t np = dbreg_registry_package_count(s->reg);
	int rc;

	if ((rc = cli_check_pins(s)) < 0)
		return rc;
	if (say)
		fprintf(s->out, "dbreg init: %zu package%s from %s into %s\n", np, np == 1 ? "" : "s", s->proj->dir,
			s->shown);
	struct dbreg_init_result r;
	struct init_ui ui = {s, &r};
	struct dbreg_init_opts io = {
		.wait_s = s->o.wait,
		.pins = s->o.pins,
		.n_pins = s->o.n_pins,
		.dry_run = s->o.dry_run,
		.validated = true,   /* by the session, with the state file's memory of clean registries */
		.lock_timeout_s = s->o.lock_timeout,
		.target_lock_timeout_ms = s->lock_timeout_ms,
		.target_statement_timeout_ms = s->statement_timeout_ms,
		.state = s->state,
		.state_target = s->shown,
		.log = s->o.verbose && !s->o.json ? s->err : NULL,
		.phase = init_phase,
		.phase_arg = &ui,
		.waiting = cli_waiting,
		.waiting_arg = s,
		.allow = s->o.allow,
		.n_allow = s->o.n_allow,
	};
	/* A bar only where a person watches, and not over the verbose lines. */
	if (s->tty && !s->o.json && !s->o.quiet && !s->o.verbose && !s->o.dry_run) {
		io.progress = cli_progress;
		io.progress_arg = s->err;
	}
	rc = dbreg_init_run(&r, s->reg, s->url, &io);
	/* Interrupted, rolled back and recorded: the signal's words are the report. */
	cli_signal_unwound();
	if (r.plan) {
		cli_print_plan_warnings(s, r.plan);
		cli_print_bypasses(s, r.plan);
		init_report(s, &r, rc);
	} else if (s->o.json && r.failed != DBREG_INIT_CONNECT) {
		cli_print_plan(s, NULL);   /* a plan with errors: the target and dialect, no steps */
	}
	if (r.failed == DBREG_INIT_VERIFY || (rc == 0 && !s->o.dry_run))
		cli_verify_print(s, &r.verify, rc, true);
	/* An empty history leaves no row: the state file remembers the target. */
	if (r.failed != DBREG_INIT_CONNECT && r.failed != DBREG_INIT_RECORD && !s->o.dry_run)
		dbreg_state_mark_seen(s->state, s->shown);
	if (rc == 0) {
		if (say && !s->o.dry_run)
			fprintf(s->out, "  [5/5] done in %.0f ms: %zu migration%s applied, %zu package%s installed\n", r.ms,
				r.apply.applied, r.apply.applied == 1 ? "" : "s", np, np == 1 ? "" : "s");
	} else if (r.failed == DBREG_INIT_APPLY) {
		/* As apply says it: also a statement of dbreg's own (the history
		 * tables, the lock), with the server's SQLSTATE, detail and hint. */
		cli_print_failure(s, &r.apply);
		cli_fail_apply(s, &r.apply);
	} else if (rc == DBREG_EINVALID && r.plan == NULL) {
		const struct dbreg_diag_list *d = dbreg_registry_diags(s->reg);
		cli_print_diags(s, d);
		cli_fail(s, "the plan for %s has %zu error%s; nothing was changed", s->shown, d->errors,
			 d->errors == 1 ? "" : "s");
	} else if (rc != DBREG_EVERIFY) {
		cli_fail(s, "%s", r.errmsg);
	}
	/* The failure's own hint (the server's, the lock's) said it already. */
	if (rc < 0 && !s->error.hint)
		cli_hint(s, "%s",
			 r.hint ? r.hint
			 : rc == DBREG_ECONNECT && r.failed != DBREG_INIT_CONNECT
			 ? "the target accepted the connection but refused a statement of dbreg's own (above): check the role's privileges"
			 : rc == DBREG_ECONNECT ? "is the server up? check host, port and credentials; --wait SECONDS waits longer"
			 : rc == DBREG_ELOCKED ? "another run holds the registry lock; wait for it or raise --lock-timeout"
			 : rc == DBREG_EMIGRATION ? "fix the migration named above and run init again: nothing was changed"
			 : rc == DBREG_EVERIFY ? "the database differs from the manifests: see the differences above"
			 : "fix the errors above and run init again");
	dbreg_init_result_dispose(&r);
	cli_note_tools(s);
	return rc;
}

const struct cli_command cli_cmd_init = {
	.name = "init",
	.args = "",
	.summary = "connect, apply core and every package, verify, report",
	.help = "The initialization pipeline: connect (retrying for --wait seconds), register every\n"
		"package, run the pending migrations (core first) in one transaction, verify the\n"
		"database against the declared tables, and report.",
	.options = (const char *const[]){"dry-run", "to", "wait", "lock-timeout", "allow", "fleet", "on-error", "max-failures", "resume", "jobs", NULL},
	.needs = CLI_NEEDS_VALID_SQL | CLI_NEEDS_TARGET | CLI_NEEDS_STATE,
	.run = init_run,
};
