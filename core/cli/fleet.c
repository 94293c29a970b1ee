/* apply, init, plan and status with --fleet NAME: the fleet engine of the
 * library (dbreg_fleet_run) with a line per target as it finishes, a
 * summary, or the JSON of cli.md; --resume from the state file's record of
 * the last run; SIGINT stops starting targets and lets running ones end,
 * and a signal that ends the process still gets the fleet's document. */
#include "cli.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t fleet_interrupted;
static struct sigaction fleet_old_sa;

/* The first SIGINT stops the run from starting targets; a second one is
 * handed to the action that was there before (main's handler, which cancels
 * every target's running statement and, with --json, still writes the one
 * document), not to SIG_DFL as SA_RESETHAND would. */
static void fleet_on_sigint(int sig)
{
	if (!fleet_interrupted) {
		fleet_interrupted = 1;
		return;
	}
	void (*before)(int) = fleet_old_sa.sa_handler;
	if (!(fleet_old_sa.sa_flags & SA_SIGINFO) && before != SIG_DFL && before != SIG_IGN) {
		before(sig);
		return;
	}
	if (before == SIG_IGN)
		return;
	dbreg_cancel_all(NULL);
	signal(sig, SIG_DFL);
	raise(sig);
}

struct fleet_print {
	struct cli_session *s;
	const struct dbreg_fleet *f;
	enum dbreg_fleet_action action;
	size_t width;                  /* of the target column */
	size_t done, total;
};

static const char *fleet_status_word(const struct dbreg_fleet_outcome *o)
{
	switch (o->status) {
	case DBREG_FLEET_OK: return "ok";
	case DBREG_FLEET_FAILED: return "FAILED";
	case DBREG_FLEET_DONE_BEFORE: return "done before";
	default: return "not reached";
	}
}

/* The exit code of one target; the run's is the highest. */
static int fleet_exit(const struct dbreg_fleet_outcome *o)
{
	return o->status == DBREG_FLEET_FAILED ? cli_exit_code(o->rc ? o->rc : DBREG_EMIGRATION) : 0;
}

/* Why the run left targets unstarted, for the summary and each target's
 * error: only a canary that failed stops the rest for being a canary. */
static const char *fleet_not_reached_why(const struct dbreg_fleet *f, const struct dbreg_fleet_outcome *o,
					 bool interrupted)
{
	if (interrupted)
		return "interrupted";
	for (size_t i = 0; i < f->n_members; i++)
		if (f->members[i].canary && o[i].status == DBREG_FLEET_FAILED)
			return "a canary failed: the rest were left alone";
	return "the run stopped at the failure limit";
}

/* A count, or null when it is unknown. */
static void fleet_json_count(FILE *fp, bool known, size_t n)
{
	if (known)
		fprintf(fp, "%zu", n);
	else
		fputs("null", fp);
}

/* A target's object in the document. o NULL: a target that was running
 * when a signal ended the process (main's handler cancelled its statement,
 * and what it had not committed rolls back), so its outcome is unknown. */
static void fleet_json_target(FILE *fp, const struct dbreg_fleet_member *m, const struct dbreg_fleet_outcome *o,
			      enum dbreg_fleet_action action, const char *not_reached)
{
	static const struct dbreg_fleet_outcome unknown = { .status = DBREG_FLEET_FAILED };
	bool running = !o;
	if (running)
		o = &unknown;
	/* A target the run never started did not succeed, and has no exit
	 * code of its own: a script that checks each target's ok is told,
	 * and its error says why (what its wait saw, else the run's reason). */
	bool reached = o->status != DBREG_FLEET_NOT_REACHED && !running;
	fputs("{\"target\": ", fp);
	dbreg_json_str(fp, m->shown);
	fprintf(fp, ", \"ok\": %s, \"exit_code\": ", reached && o->status != DBREG_FLEET_FAILED ? "true" : "false");
	if (reached)
		fprintf(fp, "%d", fleet_exit(o));
	else
		fputs("null", fp);
	fprintf(fp, ", \"status\": \"%s\", \"canary\": %s, \"applied\": ",
		running ? "interrupted" : dbreg_fleet_status_name(o->status), m->canary ? "true" : "false");
	fleet_json_count(fp, !running, o->applied);
	fputs(", \"pending\": ", fp);
	fleet_json_count(fp, !running, o->pending);
	fputs(", \"installed\": ", fp);
	fleet_json_count(fp, !running, o->installed);
	fprintf(fp, ", \"plan_shared\": %s, \"ms\": ", o->plan_shared ? "true" : "false");
	if (running)
		fputs("null", fp);
	else
		fprintf(fp, "%lld", o->ms);
	fputs(", \"error\": ", fp);
	char why[160];
	snprintf(why, sizeof why, "not reached: %s", not_reached);
	dbreg_json_str(fp, running ? "interrupted before it finished: its running statement, if any, is cancelled, "
				     "and what it had not committed is rolled back"
			   : reached || o->error ? o->error : why);
	fputs(", \"failed\": ", fp);
	if (o->failed_migration) {
		fputs("{\"package\": ", fp);
		dbreg_json_str(fp, o->failed_package);
		fputs(", \"migration\": ", fp);
		dbreg_json_str(fp, o->failed_migration);
		fputc('}', fp);
	} else {
		fputs("null", fp);
	}
	if (action == DBREG_FLEET_PLAN) {
		size_t n = 0;
		while (o->steps && o->steps[n])
			n++;
		fputs(", \"steps\": ", fp);
		cli_json_strings(fp, o->steps, n);
	} else {
		fputs(", \"repaired\": ", fp);
		cli_json_strings(fp, o->repaired, o->n_repaired);
	}
	fputs(", \"diagnostics\": ", fp);
	dbreg_diag_list_json(fp, &o->diags);
	fputc('}', fp);
}

/* The keys of the document before "targets". */
static void fleet_json_head(struct cli_session *s, const struct dbreg_fleet *f, const char *command, size_t jobs,
			    bool interrupted)
{
	cli_json_key(s, "fleet");
	dbreg_json_str(s->out, f->name);
	cli_json_key(s, "command");
	fprintf(s->out, "\"%s\"", command);
	cli_json_key(s, "jobs");
	fprintf(s->out, "%zu", jobs);
	cli_json_key(s, "dry_run");
	fputs(s->o.dry_run ? "true" : "false", s->out);
	cli_json_key(s, "interrupted");
	fputs(interrupted ? "true" : "false", s->out);
	cli_json_key(s, "ms");
}

/* ---- the document of a run a signal ends (main.c's handler) ---------------
 * Rendered before the run: the keys, and each target as not started and as
 * running; as each target finishes, its object (fleet_done). Published
 * through atomics and never freed, so the handler, which may interrupt any
 * thread (one rendering a target's object too), reads only whole strings,
 * without malloc, stdio or locks. */
struct fleet_signal_target {
	char *waiting;                 /* not started: not reached (or, --resume, done before) */
	char *running;
	_Atomic(char *) done;
	atomic_bool started;
};

static struct fleet_signal_target *fleet_signal_targets;
static size_t fleet_signal_n;
static char *fleet_signal_head;        /* the keys up to "ms": */
static double fleet_signal_t0;         /* dbreg_clock_ms at the start */

struct fleet_head {
	const struct dbreg_fleet *f;
	const char *command;
	size_t jobs;
};

static void fleet_print_head(struct cli_session *s, const void *arg)
{
	const struct fleet_head *h = arg;
	fleet_json_head(s, h->f, h->command, h->jobs, true);
}

/* A target's object as text (fleet_json_target); NULL when out of memory. */
static char *fleet_render_target(const struct dbreg_fleet_member *m, const struct dbreg_fleet_outcome *o,
				 enum dbreg_fleet_action action)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	if (!fp)
		return NULL;
	fleet_json_target(fp, m, o, action, "interrupted");
	bool bad = ferror(fp);
	fclose(fp);
	if (bad) {
		free(text);
		return NULL;
	}
	return text;
}

/* In the handler: the keys, each target as far as it got, and ",\n". */
static void fleet_signal_keys(void)
{
	char num[24];
	double ms = dbreg_clock_ms() - fleet_signal_t0;
	cli_signal_write(fleet_signal_head);
	cli_signal_write(cli_signal_digits(num, ms > 0 ? (unsigned long long)ms : 0));
	cli_signal_write(",\n  \"targets\": [");
	for (size_t i = 0; i < fleet_signal_n; i++) {
		struct fleet_signal_target *t = &fleet_signal_targets[i];
		const char *done = atomic_load(&t->done);
		cli_signal_write(i ? ",\n    " : "\n    ");
		cli_signal_write(done ? done : atomic_load(&t->started) ? t->running : t->waiting);
	}
	cli_signal_write("\n  ],\n");
}

/* Before the run, with --json: what the handler needs. Out of memory, the
 * handler keeps main's document without the fleet's keys. */
static void fleet_signal_prepare(struct cli_session *s, const struct dbreg_fleet *f, const char *command,
				 size_t jobs, enum dbreg_fleet_action action, const bool *skip)
{
	if (!s->o.json || fleet_signal_targets)
		return;
	struct fleet_signal_target *t = calloc(f->n_members + 1, sizeof *t);
	struct fleet_head h = { f, command, jobs };
	char *head = cli_json_keys_text(s, fleet_print_head, &h);
	bool ok = t && head;
	for (size_t i = 0; ok && i < f->n_members; i++) {
		struct dbreg_fleet_outcome before = {
			.status = skip && skip[i] ? DBREG_FLEET_DONE_BEFORE : DBREG_FLEET_NOT_REACHED,
		};
		t[i].waiting = fleet_render_target(&f->members[i], &before, action);
		t[i].running = fleet_render_target(&f->members[i], NULL, action);
		ok = t[i].waiting && t[i].running;
	}
	if (!ok) {
		for (size_t i = 0; t && i < f->n_members; i++) {
			free(t[i].waiting);
			free(t[i].running);
		}
		free(t);
		free(head);
		return;
	}
	fleet_signal_targets = t;
	fleet_signal_n = f->n_members;
	fleet_signal_head = head;
	fleet_signal_t0 = dbreg_clock_ms();
	/* Last: the handler reads the above only once this is set. */
	cli_signal_writer(s, fleet_signal_keys);
}

static void fleet_started(void *arg, const struct dbreg_fleet_member *m)
{
	struct fleet_print *p = arg;
	if (fleet_signal_targets)
		atomic_store(&fleet_signal_targets[m - p->f->members].started, true);
}

/* A line per target as it finishes (called one at a time by the engine),
 * with the warnings of the row-level security its run made again; with
 * --json, its object for the document of a signal (fleet_signal_keys). */
static void fleet_done(void *arg, const struct dbreg_fleet_member *m, const struct dbreg_fleet_outcome *o)
{
	struct fleet_print *p = arg;
	struct cli_session *s = p->s;
	p->done++;
	if (fleet_signal_targets)
		atomic_store(&fleet_signal_targets[m - p->f->members].done, fleet_render_target(m, o, p->action));
	if (s->o.json)
		return;
	if (s->o.quiet && o->status != DBREG_FLEET_FAILED)
		return;   /* its warnings too, as -q's of a single target */
	FILE *fp = s->out;
	fprintf(fp, "[%*zu/%zu] %-6s %-*s ", p->total >= 100 ? 3 : p->total >= 10 ? 2 : 1, p->done, p->total,
		fleet_status_word(o), (int)p->width, m->shown);
	if (p->action == DBREG_FLEET_PLAN)
		fprintf(fp, "%zu pending", o->pending);
	else
		fprintf(fp, "%s %3zu", s->o.dry_run ? "would apply" : "applied", o->applied);
	fprintf(fp, " %6lld ms", o->ms);
	if (o->unopened && s->o.verbose)
		fputs("  unchanged since the last run: not opened", fp);
	if (o->error)
		fprintf(fp, "  %s", o->error);
	fputc('\n', fp);
	fflush(fp);
	cli_warn_repaired(s, m->shown, o->repaired, o->n_repaired);
}

/* The summary: counts by outcome, then the targets that did not succeed. */
static void fleet_summary(struct cli_session *s, const struct dbreg_fleet *f, const struct dbreg_fleet_outcome *o,
			  size_t jobs, double seconds, bool interrupted, enum dbreg_fleet_action action,
			  const char *not_reached)
{
	size_t count[4] = { 0 }, applied = 0, pending = 0;
	for (size_t i = 0; i < f->n_members; i++) {
		count[o[i].status]++;
		applied += o[i].applied;
		pending += o[i].pending;
	}
	FILE *fp = s->out;
	fprintf(fp, "\nfleet %s: %zu target%s, jobs %zu, %.2f s%s\n", f->name, f->n_members,
		f->n_members == 1 ? "" : "s", jobs, seconds, interrupted ? ", INTERRUPTED (SIGINT)" : "");
	fprintf(fp, "  %-12s %7s\n", "outcome", "targets");
	static const char *const rows[] = { "ok", "failed", "not reached", "done before" };
	static const enum dbreg_fleet_status order[] = { DBREG_FLEET_OK, DBREG_FLEET_FAILED, DBREG_FLEET_NOT_REACHED,
							 DBREG_FLEET_DONE_BEFORE };
	for (size_t r = 0; r < 4; r++)
		if (count[order[r]] || r < 2)
			fprintf(fp, "  %-12s %7zu\n", rows[r], count[order[r]]);
	if (action == DBREG_FLEET_PLAN)
		fprintf(fp, "  %-12s %7zu\n", "pending", pending);
	else
		fprintf(fp, "  %-12s %7zu\n", s->o.dry_run ? "would apply" : "migrations", applied);
	for (size_t i = 0; i < f->n_members; i++)
		if (o[i].status == DBREG_FLEET_FAILED)
			fprintf(fp, "  failed: %s: %s\n", f->members[i].shown, o[i].error ? o[i].error : "");
	if (count[DBREG_FLEET_NOT_REACHED])
		fprintf(fp, "  %zu target%s not reached (%s): dbreg %s --fleet %s --resume runs %s\n",
			count[DBREG_FLEET_NOT_REACHED], count[DBREG_FLEET_NOT_REACHED] == 1 ? "" : "s", not_reached,
			action == DBREG_FLEET_INIT ? "init" : "apply", f->name,
			count[DBREG_FLEET_FAILED] ? "them and the failed ones" : "them");
}

/* An offline plan of the fleet: a target whose copy of its history a run
 * left marked (dbreg_state_run_begin) is warned about, as one target's
 * offline plan is. */
static void fleet_warn_stale(struct cli_session *s, const struct dbreg_fleet *f, struct dbreg_state *state)
{
	size_t n = 0;
	if (s->o.json)
		cli_json_key(s, "stale_copy");   /* the targets, as one target's document says it */
	if (s->o.json)
		fputc('[', s->out);
	for (size_t i = 0; i < f->n_members; i++) {
		char *command = NULL, *at = NULL;
		if (dbreg_state_run_left(state, f->members[i].shown, &command, &at) == 1) {
			cli_warn_stale_copy(s, f->members[i].shown, command, at, "with --refresh");
			if (s->o.json) {
				if (n++)
					fputs(", ", s->out);
				cli_json_stale_copy(s->out, f->members[i].shown, command, at);
			}
		}
		free(command);
		free(at);
	}
	if (s->o.json)
		fputc(']', s->out);
}

/* status --fleet: per target what the last run did, and installed and
 * pending from the state file's copy (or, --refresh, from the targets). */
static bool fleet_status_print(struct cli_session *s, const struct dbreg_fleet *f, const struct dbreg_fleet_outcome *o,
			       const struct dbreg_fleet_record *rec, size_t n_rec, const char *run_at, bool interrupted)
{
	FILE *fp = s->out;
	if (s->o.json) {
		cli_json_key(s, "fleet");
		dbreg_json_str(fp, f->name);
		cli_json_key(s, "last_run");
		dbreg_json_str(fp, run_at);
		cli_json_key(s, "interrupted");
		fputs(interrupted ? "true" : "false", fp);
		cli_json_key(s, "source");
		fprintf(fp, "\"%s\"", s->o.refresh ? "targets" : "state");
		cli_json_key(s, "targets");
		fputc('[', fp);
	} else {
		fprintf(fp, "fleet %s: %zu targets; last run %s%s; installed and pending from %s\n", f->name,
			f->n_members, run_at ? run_at : "never", interrupted ? " (interrupted)" : "",
			s->o.refresh ? "the targets" : "the state file (--refresh reads the targets)");
		fprintf(fp, "  %-40s %-12s %-20s %9s %7s  %s\n", "target", "last run", "at", "installed", "pending",
			"error");
	}
	bool ok = true;
	for (size_t i = 0; i < f->n_members; i++) {
		const struct dbreg_fleet_record *r = NULL;
		for (size_t k = 0; k < n_rec && !r; k++)
			if (strcmp(rec[k].target, f->members[i].shown) == 0)
				r = &rec[k];
		const char *last = r ? r->status : "never";
		const char *at = r ? r->at : NULL;   /* a resumed run keeps the time of the one that did it */
		const char *err = o[i].error ? o[i].error : r ? r->error : NULL;
		ok &= o[i].status == DBREG_FLEET_OK && o[i].pending == 0;
		if (s->o.json) {
			fprintf(fp, "%s\n    {\"target\": ", i ? "," : "");
			dbreg_json_str(fp, f->members[i].shown);
			fprintf(fp, ", \"last_run\": \"%s\", \"at\": ", last);
			dbreg_json_str(fp, at);
			fprintf(fp, ", \"installed\": %zu, \"pending\": %zu, \"error\": ", o[i].installed, o[i].pending);
			dbreg_json_str(fp, err);
			fputc('}', fp);
		} else {
			fprintf(fp, "  %-40s %-12s %-20s %9zu %7zu  %s\n", f->members[i].shown, last, at ? at : "-",
				o[i].installed, o[i].pending, err ? err : "");
		}
	}
	if (s->o.json)
		fputs("\n  ]", fp);
	return ok;
}

int cli_fleet(struct cli_session *s, const char *command)
{
	enum dbreg_fleet_action action = strcmp(command, "init") == 0 ? DBREG_FLEET_INIT
		: strcmp(command, "apply") == 0 ? DBREG_FLEET_APPLY : DBREG_FLEET_PLAN;
	bool status = strcmp(command, "status") == 0;
	if (s->o.target)
		return cli_usage(s, "--fleet and --target exclude each other");
	if (s->o.n_allow)
		return cli_usage(s, "--allow is for one development target, not a fleet");
	if (s->o.resume && action == DBREG_FLEET_PLAN)
		return cli_usage(s, "--resume is for apply and init");
	if (s->o.sql)
		return cli_usage(s, "--sql prints the script of one target: use --target, not --fleet");
	int rc = cli_check_pins(s);
	if (rc < 0)
		return rc;
	struct dbreg_project *proj = s->proj;
	struct dbreg_registry *reg = s->reg;
	struct dbreg_fleet *f = NULL;
	struct dbreg_state *state = s->state;
	struct dbreg_fleet_outcome *o = NULL;
	struct dbreg_fleet_record *rec = NULL;
	size_t n_rec = 0;
	char *run_at = NULL;
	bool *skip = NULL, last_interrupted = false;
	char err[1024];
	int exit_code = 0;

	/* The session loaded and validated the registry once, for every target. */
	if ((rc = dbreg_fleet_open(&f, proj, s->o.fleet, err, sizeof err)) < 0) {
		cli_fail(s, "%s", err);
		goto out;
	}
	if ((s->o.resume || status) &&
	    (rc = dbreg_state_fleet_last(state, f->name, &rec, &n_rec, &run_at, &last_interrupted)) < 0) {
		cli_fail_state(s, rc, dbreg_state_errmsg(state));
		goto out;
	}
	if (s->o.resume) {
		if (!(skip = calloc(f->n_members + 1, sizeof *skip))) {
			rc = DBREG_ENOMEM;
			goto out;
		}
		size_t left = f->n_members;
		for (size_t i = 0; i < f->n_members; i++) {
			for (size_t k = 0; k < n_rec; k++)
				if (strcmp(rec[k].target, f->members[i].shown) == 0)
					skip[i] = strcmp(rec[k].status, "ok") == 0 || strcmp(rec[k].status, "done_before") == 0;
			left -= skip[i];
		}
		if (!s->o.json)
			fprintf(s->err, n_rec ? "dbreg: resuming the run of %s: %zu of %zu targets failed or were not reached\n"
						: "dbreg: fleet %s has no recorded run: running all %zu of %zu targets\n",
				n_rec ? run_at : f->name, left, f->n_members);
	}
	if (action != DBREG_FLEET_PLAN && !s->o.dry_run && (rc = dbreg_state_register(state, reg)) < 0) {
		cli_fail_state(s, rc, dbreg_state_errmsg(state));
		goto out;
	}

	struct fleet_print pr = { .s = s, .f = f, .action = action, .total = f->n_members };
	for (size_t i = 0; i < f->n_members; i++) {
		size_t w = strlen(f->members[i].shown);
		pr.width = w > pr.width ? w : pr.width;
		pr.total -= skip && skip[i];
	}
	if (pr.width > 60)
		pr.width = 60;
	struct dbreg_fleet_opts fo = {
		.action = action,
		.jobs = s->o.jobs,
		.keep_going = s->o.keep_going,
		.max_failures = s->o.max_failures,
		.dry_run = s->o.dry_run,
		.offline = !s->o.refresh,
		.skip = skip,
		.pins = s->o.pins,
		.n_pins = s->o.n_pins,
		.lock_timeout_s = s->o.lock_timeout,
		.wait_s = s->o.wait,
		.stop = (const volatile int *)&fleet_interrupted,
		.state = state,
		.command = command,
		.done = status ? NULL : fleet_done,
		.done_arg = &pr,
		.started = status ? NULL : fleet_started,
	};
	size_t jobs = fo.jobs ? fo.jobs : f->jobs;
	if (!status)
		fleet_signal_prepare(s, f, command, jobs, action, skip);
	if (!s->o.json && !s->o.quiet && !status)
		fprintf(s->out, "fleet %s: %s on %zu target%s, %zu at a time%s\n", f->name, command, pr.total,
			pr.total == 1 ? "" : "s", jobs < pr.total ? jobs : pr.total ? pr.total : 1,
			s->o.dry_run ? " (dry run: nothing is changed)" : "");

	/* SIGINT: start no new target; the running ones finish or roll back.
	 * A second one ends the process as it would have without the fleet. */
	struct sigaction sa = { 0 };
	sa.sa_handler = fleet_on_sigint;
	sa.sa_flags = SA_RESTART;
	/* SIGTERM waits too, so main's handler, called from here, runs once. */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	fleet_interrupted = 0;
	sigaction(SIGINT, &sa, &fleet_old_sa);
	double t0 = dbreg_clock_ms();
	rc = dbreg_fleet_run(&o, reg, f, &fo);
	double t1 = dbreg_clock_ms();
	sigaction(SIGINT, &fleet_old_sa, NULL);
	bool interrupted = fleet_interrupted != 0;
	if (rc < 0 && !o) {
		cli_fail(s, "fleet %s: %s", f->name, rc == DBREG_ENOMEM ? "out of memory" : dbreg_state_errmsg(state));
		goto out;
	}
	/* Targets changed while the state file refused records: their copies
	 * may be behind, which a script has to notice (exit 1 at least). */
	size_t changed = 0;
	for (size_t i = 0; i < f->n_members; i++)
		changed += o[i].applied > 0;
	bool stale = rc < 0 && changed > 0;
	if (rc < 0 && !stale)
		fprintf(s->err, "dbreg: warning: the record of the run is incomplete: %s\n", dbreg_state_errmsg(state));
	for (size_t i = 0; i < f->n_members; i++) {
		int e = fleet_exit(&o[i]);
		exit_code = e > exit_code ? e : exit_code;
	}
	if (stale && exit_code == 0)
		exit_code = cli_exit_code(rc);
	if (action == DBREG_FLEET_PLAN && fo.offline)
		fleet_warn_stale(s, f, state);
	if (interrupted)
		exit_code = 130;
	const char *why = fleet_not_reached_why(f, o, interrupted);
	double seconds = (t1 - t0) / 1e3;
	if (status) {
		fleet_status_print(s, f, o, rec, n_rec, run_at, last_interrupted);
	} else if (s->o.json) {
		fleet_json_head(s, f, command, jobs, interrupted);
		fprintf(s->out, "%.0f", seconds * 1000);
		cli_json_key(s, "targets");
		fputc('[', s->out);
		for (size_t i = 0; i < f->n_members; i++) {
			fputs(i ? ",\n    " : "\n    ", s->out);
			fleet_json_target(s->out, &f->members[i], &o[i], action, why);
		}
		fputs("\n  ]", s->out);
	} else {
		if (action == DBREG_FLEET_PLAN && !s->o.quiet)
			for (size_t i = 0; i < f->n_members; i++)
				for (size_t k = 0; s->o.verbose && o[i].steps && o[i].steps[k]; k++)
					fprintf(s->out, "  %s: %s\n", f->members[i].shown, o[i].steps[k]);
		for (size_t i = 0; i < f->n_members; i++)
			if (o[i].diags.len)
				cli_print_diags(s, &o[i].diags);
		/* -q: the summary only when something did not succeed. */
		if (!s->o.quiet || exit_code)
			fleet_summary(s, f, o, jobs, seconds, interrupted, action, why);
	}
	/* A state file that refused the record would refuse the log, after its own wait. */
	if (action != DBREG_FLEET_PLAN && !s->o.dry_run && rc == 0)
		dbreg_state_log(state, strcmp(command, "init") == 0 ? "init" : "apply", f->name,
				exit_code == 0 ? "ok" : interrupted ? "interrupted" : "failed", "fleet run");
	/* The exit code is the worst of the targets' (130 when interrupted). */
	size_t failed = 0;
	for (size_t i = 0; i < f->n_members; i++)
		failed += o[i].status == DBREG_FLEET_FAILED;
	rc = exit_code > 0 && exit_code <= 6 ? -exit_code : 0;
	if (exit_code)
		s->exit_code = exit_code;
	if (stale) {
		cli_fail(s, "fleet %s: %zu target%s %s changed, but the state file %s could not record the run: %s", f->name,
			 changed, changed == 1 ? "" : "s", changed == 1 ? "WAS" : "WERE", s->state_path,
			 dbreg_state_errmsg(state));
		cli_hint(s, "the state file's copies of their histories may be behind: once it can be written, "
			    "`dbreg plan --fleet %s --refresh` reads them again from the targets (whose history tables are "
			    "the truth); until then an offline plan warns that its copy may be stale", f->name);
	} else if (exit_code && failed)
		cli_error_set(s, "fleet %s: %zu of %zu target%s failed", f->name, failed, f->n_members,
			      f->n_members == 1 ? "" : "s");
	else if (interrupted)
		cli_error_set(s, "fleet %s: interrupted (SIGINT)", f->name);
out:
	dbreg_fleet_outcomes_free(o, f ? f->n_members : 0);
	dbreg_fleet_records_free(rec, n_rec);
	free(run_at);
	free(skip);
	dbreg_fleet_free(f);
	return rc;
}
