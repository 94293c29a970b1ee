/* dbreg watch: the development loop. One round at start, then on every
 * change of the project's files (dbreg_watch_run: inotify, debounced,
 * only content changes) the registry is reloaded and re-validated where the
 * change can matter, the plan rebuilt against the target's history, and on
 * a development target the pending steps applied; a migration applied
 * before whose text changed runs its down, then its new up. One short
 * report per round (--json: one JSON line). Runs until SIGINT, SIGTERM or SIGHUP,
 * then closes everything and exits 0.
 *
 * dbreg.toml read again is followed: its package folders and [isolation]
 * by the reload, its target's dev and timeouts and its state file here
 * (said once; the new file gets the target's history copy at once, so
 * that an offline plan with it is current). Its target naming
 * another database is not: the session's connection, history and state
 * file are that database's, so each round says so and applies nothing
 * until dbreg.toml names the database again or watch is started anew. */
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

struct watch_ui {
	FILE *out, *err;               /* the report (stdout: NDJSON with --json), messages */
	bool json, quiet, verbose, color;
	bool apply;                    /* a development target and no --no-apply */
	const char *why_not;           /* why nothing is applied */
	const struct dbreg_project *proj;   /* the project in use: dbreg.toml as last read without errors */
	char moved[1200];              /* dbreg.toml's target is not this session's database: why nothing is
					  applied; "" when it is */
	struct cli_session *t;         /* the target: conn, shown, dialect, state */
	const char *const *allow;
	size_t n_allow;
	int lock_timeout;
	int stop_fd;                   /* the signalfd of SIGINT and SIGTERM */
	unsigned round;
	/* The target's history as this session left it: read once, then kept
	 * in step with what the session applies, so a round does not read
	 * thousands of rows to plan one step (the apply engine still reads it
	 * under the lock, so a step another run applied is never run twice).
	 * Read again when another connection wrote the target since (the
	 * driver's stamp moved, or it has none), after a failure, a skipped
	 * step, or when not applying. */
	struct dbreg_applied *hist;
	size_t n_hist;
	bool hist_valid;
	unsigned long long stamp;      /* dbreg_target_changed's, taken before the history was read */
	bool dirty;                    /* applied something: the state file is updated at the end */
};

static void watch_row_free(struct dbreg_applied *a)
{
	free(a->package);
	free(a->migration);
	free(a->version);
	free(a->checksum);
	free(a->applied_at);
}

static void watch_hist_forget(struct watch_ui *ui)
{
	dbreg_applied_free(ui->hist, ui->n_hist);
	ui->hist = NULL;
	ui->n_hist = 0;
	ui->hist_valid = false;
}

/* Keeps the history copy in step with the steps a run did. */
static int watch_hist_follow(struct watch_ui *ui, const struct dbreg_plan *plan, const struct dbreg_apply_result *res)
{
	for (size_t k = 0; k < res->n_ran; k++) {
		const struct dbreg_step *s = dbreg_plan_step(plan, res->ran[k]);
		if (!s->up) {
			size_t j = 0;
			for (size_t i = 0; i < ui->n_hist; i++) {
				struct dbreg_applied *a = &ui->hist[i];
				if (a->package && a->migration && strcmp(a->package, s->package) == 0 &&
				    strcmp(a->migration, s->migration) == 0)
					watch_row_free(a);
				else
					ui->hist[j++] = *a;
			}
			ui->n_hist = j;
			continue;
		}
		struct dbreg_applied *grown = realloc(ui->hist, (ui->n_hist + 1) * sizeof(*grown));
		if (!grown)
			return DBREG_ENOMEM;
		ui->hist = grown;
		struct dbreg_applied *a = &ui->hist[ui->n_hist];
		memset(a, 0, sizeof(*a));
		a->package = strdup(s->package);
		a->migration = strdup(s->migration);
		a->version = strdup(s->version);
		a->checksum = strdup(s->checksum);
		ui->n_hist++;
		if (!a->package || !a->migration || !a->version || !a->checksum)
			return DBREG_ENOMEM;
	}
	return 0;
}

static const char *watch_sign(enum dbreg_change_kind k)
{
	return k == DBREG_CHANGE_ADDED ? "+" : k == DBREG_CHANGE_REMOVED ? "-" : "~";
}

/* One change in words: "+ column ydtb_memo_items.body (text)". */
static void watch_print_change(const struct watch_ui *ui, const struct dbreg_change *c)
{
	FILE *fp = ui->out;
	fprintf(fp, "  %s %s ", watch_sign(c->kind), dbreg_change_what_name(c->what));
	if ((c->what == DBREG_CHANGE_COLUMN || c->what == DBREG_CHANGE_INDEX) && c->table)
		fprintf(fp, "%s.%s", c->table, c->name ? c->name : "?");
	else if (c->what == DBREG_CHANGE_MIGRATION)
		fprintf(fp, "%s %s", c->package ? c->package : "?", c->name ? c->name : "?");
	else
		fprintf(fp, "%s", c->name ? c->name : "?");
	if (c->what != DBREG_CHANGE_PACKAGE && c->what != DBREG_CHANGE_MIGRATION && c->package &&
	    c->what == DBREG_CHANGE_TABLE)
		fprintf(fp, " (%s)", c->package);
	if (c->detail)
		fprintf(fp, ": %s", c->detail);
	fputc('\n', fp);
}

/* The JSON line's writer: compact, one object, no newline inside. */
static void watch_json_diags(FILE *fp, const struct dbreg_diag_list *l, bool warnings)
{
	fputc('[', fp);
	bool first = true;
	for (size_t i = 0; i < l->len; i++) {
		const struct dbreg_diag *d = &l->items[i];
		if (!warnings && d->severity != DBREG_SEV_ERROR)
			continue;
		fputs(first ? "" : ", ", fp);
		first = false;
		dbreg_diag_json(fp, d);
	}
	fputc(']', fp);
}

static void watch_json_changes(FILE *fp, const struct dbreg_changes *ch, bool files)
{
	fputc('[', fp);
	bool first = true;
	for (size_t i = 0; ch && i < ch->len; i++) {
		const struct dbreg_change *c = &ch->items[i];
		if ((c->what == DBREG_CHANGE_FILE) != files)
			continue;
		fputs(first ? "{" : ", {", fp);
		first = false;
		if (!files)
			fprintf(fp, "\"what\": \"%s\", ", dbreg_change_what_name(c->what));
		fprintf(fp, "\"change\": \"%s\", ", dbreg_change_kind_name(c->kind));
		if (files) {
			fputs("\"path\": ", fp);
			dbreg_json_str(fp, c->name);
		} else {
			fputs("\"package\": ", fp);
			dbreg_json_str(fp, c->package);
			fputs(", \"table\": ", fp);
			dbreg_json_str(fp, c->table);
			fputs(", \"name\": ", fp);
			dbreg_json_str(fp, c->name);
			fputs(", \"detail\": ", fp);
			dbreg_json_str(fp, c->detail);
		}
		fputc('}', fp);
	}
	fputc(']', fp);
}

static void watch_state_sync(struct watch_ui *ui, struct dbreg_registry *reg);

/* A SIGINT, SIGTERM or SIGHUP waits on the signalfd until the loop reads it after
 * the round, and so would wait for the round's statements to end. While a
 * round applies, a thread watches the descriptor (without reading it) and
 * then cancels the running statement, and again every 0.1 s, so that one
 * the apply starts later (after its lock) is stopped too: the round fails
 * and rolls back, and the loop stops, as at once as a single apply. */
struct watch_guard {
	int stop_fd;
	int quit;                      /* an eventfd: written when the apply ended */
	pthread_t thread;
	bool started;
	bool uncancellable;            /* SQLite: no cancel reaches its statement */
	atomic_bool fired;             /* the signal came while the round applied */
};

static void *watch_guard_main(void *arg)
{
	struct watch_guard *g = arg;
	struct pollfd p[2] = {{.fd = g->stop_fd, .events = POLLIN}, {.fd = g->quit, .events = POLLIN}};
	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
	if (p[1].revents || !(p[0].revents & POLLIN))
		return NULL;
	atomic_store(&g->fired, true);
	if (g->uncancellable) {
		/* A statement no cancel can reach: ending the process ends it,
		 * and the database rolls the open transaction back, as an
		 * interrupted apply's does. */
		static const char says[] = "dbreg watch: interrupted while a round applied; the database rolls back "
					   "the open transaction\n";
		ssize_t w = write(STDERR_FILENO, says, sizeof says - 1);
		(void)w;
		_exit(130);
	}
	for (;;) {
		dbreg_cancel_all(NULL);
		int r = poll(&p[1], 1, 100);
		if (r > 0 || (r < 0 && errno != EINTR))
			return NULL;
	}
}

/* Without a thread (none could start) the round goes on as before. */
static void watch_guard_start(struct watch_guard *g, int stop_fd, bool uncancellable)
{
	g->stop_fd = stop_fd;
	g->uncancellable = uncancellable;
	atomic_init(&g->fired, false);
	g->started = stop_fd >= 0 && (g->quit = eventfd(0, EFD_CLOEXEC)) >= 0;
	if (g->started && pthread_create(&g->thread, NULL, watch_guard_main, g) != 0) {
		close(g->quit);
		g->started = false;
	}
}

static void watch_guard_stop(struct watch_guard *g)
{
	if (!g->started)
		return;
	uint64_t one = 1;
	ssize_t w;
	do
		w = write(g->quit, &one, sizeof one);
	while (w < 0 && errno == EINTR);
	pthread_join(g->thread, NULL);
	close(g->quit);
}

/* What a round did, for its report. */
struct watch_result {
	bool ok;
	const char *status;            /* "applied", "up to date", "not applied", "pending" */
	char error[4096];              /* the failure, "" when none */
	int rc;                        /* its code, 0 when none: the document's exit_code */
	bool interrupted;              /* a signal stopped its apply: exit_code 130, as apply's */
	struct dbreg_plan *plan;
	struct dbreg_apply_result res;
	bool ran_apply;
	double ms_plan, ms_apply;
};

static void watch_json_steps(FILE *fp, const struct watch_result *r)
{
	fputc('[', fp);
	size_t n = dbreg_plan_count(r->plan);
	for (size_t i = 0; i < n; i++) {
		const struct dbreg_step *s = dbreg_plan_step(r->plan, i);
		bool ran = false;
		for (size_t k = 0; r->ran_apply && k < r->res.n_ran; k++)
			ran |= r->res.ran[k] == i;
		fputs(i ? ", {" : "{", fp);
		cli_json_migration(fp, s->package, s->migration, s->version);
		fprintf(fp, ", \"direction\": \"%s\", \"transaction\": %s, \"checksum\": ", s->up ? "up" : "down",
			s->transaction ? "true" : "false");
		dbreg_json_str(fp, s->checksum);
		fprintf(fp, ", \"applied\": %s}", ran ? "true" : "false");
	}
	fputc(']', fp);
}

/* Whether step i is the down half of a changed migration run again. */
static bool watch_is_redo(const struct dbreg_plan *plan, size_t i)
{
	const struct dbreg_step *s = dbreg_plan_step(plan, i);
	if (s->up)
		return false;
	for (size_t k = i + 1; k < dbreg_plan_count(plan); k++) {
		const struct dbreg_step *u = dbreg_plan_step(plan, k);
		if (u->up && strcmp(u->package, s->package) == 0 && strcmp(u->migration, s->migration) == 0)
			return true;
	}
	return false;
}

/* The round's first read (for PostgreSQL, its first statement). watch
 * outlives its session: one the server ended (a restart, a terminated
 * backend, idle_session_timeout) fails here with DBREG_ECONNECT, and so
 * does a round after a connection that could not be made again; a new
 * connection, and the read once more. Fails with r's rc and error. */
static int watch_read_history(struct watch_ui *ui, struct watch_result *r)
{
	struct cli_session *t = ui->t;
	bool changed;
	for (int tries = 0;; tries++) {
		/* The stamp before the read: a commit after it shows next round. */
		if (t->conn && dbreg_target_changed(t->conn, &ui->stamp, &changed) < 0)
			ui->stamp = 0;
		r->rc = t->conn ? dbreg_target_history(t->conn, &ui->hist, &ui->n_hist) : DBREG_ECONNECT;
		if (r->rc != DBREG_ECONNECT || tries == 1)
			break;
		char err[1024];
		ui->stamp = 0;
		if ((r->rc = cli_reconnect(t, err, sizeof err)) < 0) {
			snprintf(r->error, sizeof r->error, "cannot connect to %s again: %s", t->shown, err);
			return r->rc;
		}
	}
	if (r->rc < 0)
		snprintf(r->error, sizeof r->error, "reading the history of %s: %s", t->shown,
			 dbreg_target_errmsg(t->conn));
	return r->rc;
}

/* Plans against the target's history and, on a development target, applies. */
static void watch_plan_apply(struct watch_ui *ui, struct dbreg_registry *reg, struct dbreg_registry *old,
			     struct watch_result *r)
{
	struct cli_session *t = ui->t;
	double t0 = dbreg_clock_ms();
	bool changed = true;
	if (ui->hist_valid && ui->apply &&
	    (!t->conn || dbreg_target_changed(t->conn, &ui->stamp, &changed) < 0 || changed))
		watch_hist_forget(ui);
	if (!ui->hist_valid || !ui->apply) {
		watch_hist_forget(ui);
		if (watch_read_history(ui, r) < 0) {
			r->status = "not applied";
			return;
		}
		ui->hist_valid = true;
	}
	struct dbreg_plan_opts po = {
		.dialect = t->dialect,
		.history = ui->hist,
		.n_history = ui->n_hist,
		.allow = ui->allow,
		.n_allow = ui->n_allow,
		.redo_changed = true,
		.previous = old,
	};
	int rc = dbreg_plan_build(&r->plan, reg, &po);
	r->ms_plan = dbreg_clock_ms() - t0;
	if (rc < 0) {
		/* Its findings (DBR042, DBR045, ...) are the registry's now: the report prints them. */
		snprintf(r->error, sizeof r->error, "%s", rc == DBREG_EINVALID ? "the plan has errors" : dbreg_registry_errmsg(reg));
		r->rc = rc;
		r->status = "not applied";
		return;
	}
	if (dbreg_plan_count(r->plan) == 0) {
		r->status = "up to date";
		r->ok = true;
	} else if (!ui->apply) {
		r->status = "pending";
		r->ok = true;
	} else {
		double t1 = dbreg_clock_ms();
		struct dbreg_apply_opts ao = {
			.lock_timeout_s = ui->lock_timeout,
			.target_lock_timeout_ms = t->lock_timeout_ms,
			.target_statement_timeout_ms = t->statement_timeout_ms,
			.log = ui->verbose && !ui->json ? ui->err : NULL,
		};
		struct watch_guard guard;
		/* As apply marks its run: a watch killed before its record (a
		 * SIGKILL, an OOM) leaves the next offline plan a warning. */
		dbreg_state_run_begin(t->state, t->shown, "watch");
		watch_guard_start(&guard, ui->stop_fd, t->dialect == DBREG_DIALECT_SQLITE);
		rc = dbreg_apply_run(&r->res, t->conn, r->plan, &ao);
		watch_guard_stop(&guard);
		r->ran_apply = true;
		r->ms_apply = dbreg_clock_ms() - t1;
		if (rc < 0) {
			/* Worded as the JSON round's error.message words it; a
			 * cancel by the signal is no failed migration. */
			struct cli_error e = {0};
			cli_error_from_apply(&e, &r->res);
			r->interrupted = guard.started && atomic_load(&guard.fired);
			snprintf(r->error, sizeof r->error, "%s%s",
				 r->interrupted ? "interrupted while the round applied: its statements were cancelled and "
						  "the database rolled the round back; "
						: "",
				 e.message ? e.message : "out of memory");
			cli_error_dispose(&e);
			r->rc = rc;
			r->status = r->interrupted ? "interrupted" : "not applied";
		} else {
			r->status = "applied";
			r->ok = true;
		}
		if (rc < 0 || r->res.skipped > 0 || watch_hist_follow(ui, r->plan, &r->res) != 0)
			watch_hist_forget(ui);
		ui->dirty |= r->res.applied > 0;
		if (rc < 0)
			dbreg_state_log(t->state, "watch", t->shown, "failed", r->error);
		/* Recorded after each round that committed, not when the loop
		 * ends: an offline plan meanwhile, or after a kill, is current. */
		watch_state_sync(ui, reg);   /* its history write drops the mark */
		if (r->res.applied == 0)
			dbreg_state_run_end(t->state, t->shown);
	}
}

/* After a round that applied something, the state file follows the
 * target (registered packages, the history copy). */
static void watch_state_sync(struct watch_ui *ui, struct dbreg_registry *reg)
{
	struct cli_session *t = ui->t;
	if (!ui->dirty || !reg || !t->conn)
		return;
	ui->dirty = false;
	struct dbreg_applied *h = NULL;
	size_t n = 0;
	/* A registry left with errors was not what was applied: not registered. */
	if ((dbreg_registry_diags(reg)->errors == 0 && dbreg_state_register(t->state, reg) < 0) ||
	    (dbreg_target_history(t->conn, &h, &n) == 0 && dbreg_state_set_history(t->state, t->shown, h, n) < 0))
		fprintf(ui->err, "dbreg: state file: %s\n", dbreg_state_errmsg(t->state));
	dbreg_applied_free(h, n);
	dbreg_state_log(t->state, "watch", t->shown, "ok", NULL);
}

/* The reports: `d` the round's findings (the registry's, or dbreg.toml's),
 * `errors` what stops the round before its plan (r->error says what, or
 * they are the manifests' errors). */
static void watch_report_human(struct watch_ui *ui, struct dbreg_registry *reg, const struct dbreg_diag_list *d,
			       const struct dbreg_changes *ch, const struct watch_result *r, size_t errors)
{
	FILE *fp = ui->out;
	char clock[16];
	time_t now = time(NULL);
	strftime(clock, sizeof clock, "%H:%M:%S", localtime(&now));
	if (ui->round == 1) {
		fprintf(fp, "[%s] watching %zu package%s, target %s (%s)\n", clock, dbreg_registry_package_count(reg),
			dbreg_registry_package_count(reg) == 1 ? "" : "s", ui->t->shown,
			ui->apply ? "applying changes" : ui->why_not);
	} else {
		fprintf(fp, "[%s] #%u:", clock, ui->round);
		size_t shown = 0;
		for (size_t i = 0; i < ch->len; i++) {
			if (ch->items[i].what != DBREG_CHANGE_FILE)
				continue;
			if (shown++ < 4)
				fprintf(fp, "%s %s %s", shown > 1 ? "," : "", ch->items[i].name,
					dbreg_change_kind_name(ch->items[i].kind));
		}
		if (shown > 4)
			fprintf(fp, " and %zu more files", shown - 4);
		fprintf(fp, " (%.0f ms)\n", ch->ms);
		for (size_t i = 0; i < ch->len; i++)
			if (ch->items[i].what != DBREG_CHANGE_FILE)
				watch_print_change(ui, &ch->items[i]);
	}
	if (ch && ch->project_broken && ui->round > 1)
		fprintf(fp, "  dbreg.toml has errors: its last good content is in use\n");
	/* Errors always; warnings only about what changed, or the noise of
	 * every round would bury them. */
	unsigned flags = ui->color ? DBREG_PRINT_COLOR : 0;
	size_t hidden = 0;
	for (size_t i = 0; i < d->len; i++) {
		const struct dbreg_diag *x = &d->items[i];
		bool about_change = false;
		for (size_t k = 0; ch && k < ch->len && !about_change && ui->round > 1; k++)
			about_change = (x->package && ch->items[k].package && strcmp(x->package, ch->items[k].package) == 0) ||
				       (x->file && ch->items[k].what == DBREG_CHANGE_FILE && ch->items[k].name &&
					strcmp(x->file, ch->items[k].name) == 0);
		/* A bypass says so once at start, then when what it is about changes. */
		bool bypass = strcmp(x->code, "DBR105") == 0 && (ui->round == 1 || about_change);
		if (x->severity == DBREG_SEV_ERROR || bypass || (about_change && !ui->quiet))
			dbreg_diag_print(ui->err, x, flags);
		else
			hidden++;
	}
	if (hidden && !ui->quiet && ui->round == 1)
		fprintf(fp, "  %zu warning%s (dbreg validate lists them)\n", hidden, hidden == 1 ? "" : "s");
	if (errors) {
		if (r->error[0])
			fprintf(fp, "  not applied: %s; the database is unchanged\n", r->error);
		else
			fprintf(fp, "  not applied: %zu error%s; the database is unchanged\n", errors, errors == 1 ? "" : "s");
		return;
	}
	if (r->error[0]) {
		fprintf(fp, "  not applied: %s; the database is as it was\n", r->error);
		if (r->ran_apply && r->res.statement)
			fprintf(fp, "    statement: %s\n", r->res.statement);
		return;
	}
	size_t n = dbreg_plan_count(r->plan);
	if (n == 0) {
		fprintf(fp, "  up to date\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct dbreg_step *s = dbreg_plan_step(r->plan, i);
		bool ran = false;
		for (size_t k = 0; r->ran_apply && k < r->res.n_ran; k++)
			ran |= r->res.ran[k] == i;
		if (r->ran_apply && !ran)
			continue;
		const char *verb = !r->ran_apply ? (s->up ? "pending up" : "pending down") : s->up ? "applied" : "reverted";
		fprintf(fp, "  %s %s %s%s\n", verb, s->package, s->migration,
			watch_is_redo(r->plan, i) ? " (changed since it was applied: its down, then its new up)" : "");
	}
	if (!r->ran_apply)
		fprintf(fp, "  not applied: %s\n", ui->why_not);
}

/* The round's "error": null, or the object of a failed command; from the
 * failed run when the apply failed. */
static void watch_json_error(FILE *fp, int rc, const char *message, const struct dbreg_apply_result *res,
			     bool interrupted)
{
	if (rc == 0) {
		fputs("null", fp);
		return;
	}
	struct cli_error e = {0};
	if (res)
		cli_error_from_apply(&e, res);
	/* The statement's place stays; the words say what stopped it. */
	char *said = interrupted && message ? strdup(message) : NULL;
	if (said) {
		free(e.message);
		e.message = said;
	}
	cli_json_error(fp, &e, message);
	cli_error_dispose(&e);
}

static void watch_report_json(struct watch_ui *ui, const struct dbreg_diag_list *d, const struct dbreg_changes *ch,
			      const struct watch_result *r, size_t errors)
{
	FILE *fp = stdout;
	fprintf(fp, "{\"round\": %u, \"ok\": %s, \"target\": ", ui->round, !errors && r->ok ? "true" : "false");
	dbreg_json_str(fp, ui->t->shown);
	fputs(", \"state\": ", fp);
	dbreg_json_str(fp, ui->t->state_path);
	fprintf(fp, ", \"dialect\": \"%s\", \"apply\": %s, \"ms\": %.1f, \"loaded\": %zu, \"rechecked\": %zu, \"files\": ",
		cli_dialect_name(ui->t->dialect), ui->apply ? "true" : "false", ch ? ch->ms : 0.0, ch ? ch->loaded : 0,
		ch ? ch->rechecked : 0);
	watch_json_changes(fp, ui->round > 1 ? ch : NULL, true);
	fputs(", \"changes\": ", fp);
	watch_json_changes(fp, ui->round > 1 ? ch : NULL, false);
	fputs(", \"diagnostics\": ", fp);
	watch_json_diags(fp, d, true);
	fputs(", \"status\": ", fp);
	dbreg_json_str(fp, errors ? "not applied" : r->status);
	fputs(", \"steps\": ", fp);
	watch_json_steps(fp, r);
	/* A failed round reports as a failed command does (cli.md). */
	int rc = errors ? DBREG_EINVALID : r->rc;
	fprintf(fp, ", \"applied\": %zu, \"ms_plan\": %.1f, \"ms_apply\": %.1f, \"exit_code\": %d, \"error\": ",
		r->ran_apply && r->ok ? r->res.applied : 0, r->ms_plan, r->ms_apply,
		r->interrupted && !errors ? 130 : cli_exit_code(rc));
	watch_json_error(fp, rc, errors && !r->error[0] ? "the manifests have errors" : r->error,
			 r->ran_apply ? &r->res : NULL, r->interrupted && !errors);
	fputs("}\n", fp);
	fflush(fp);
}

/* dbreg.toml read again: its [registry] state, when it names another
 * file, is where the rounds are recorded from now on. */
static void watch_follow_state(struct watch_ui *ui, const struct dbreg_project *p)
{
	struct cli_session *t = ui->t;
	char err[1024], *was = strdup(t->state_path);
	int rc = was ? cli_state_follow(t, p, err, sizeof err) : DBREG_ENOMEM;
	if (rc > 0) {
		fprintf(ui->err, "dbreg watch: dbreg.toml names another state file: rounds are recorded in %s from now on "
			"(they were in %s)\n", t->state_path, was);
		/* The target's history copy and the registry, as after a round
		 * that applied (a session that applies only: one that does not
		 * writes no state file). */
		ui->dirty |= ui->apply;
	} else if (rc < 0) {
		char *want = cli_state_path(t, p);
		fprintf(ui->err, "dbreg watch: dbreg.toml names the state file %s, which cannot be used (%s): rounds are "
			"still recorded in %s\n", want ? want : "?", rc == DBREG_ENOMEM ? "out of memory" : err, t->state_path);
		free(want);
	}
	free(was);
}

/* dbreg.toml read again: what of its target this session can follow. */
static void watch_follow_project(struct watch_ui *ui, const struct dbreg_project *p)
{
	struct cli_session *t = ui->t;
	const char *name = t->o.target ? t->o.target : "the target";
	char err[512], *url = NULL;
	ui->proj = p;
	ui->moved[0] = '\0';
	if (dbreg_project_target_url(&url, p, t->o.target, err, sizeof err) < 0) {
		snprintf(ui->moved, sizeof ui->moved, "dbreg.toml: %s; watch stays on %s and applies nothing until "
			 "dbreg.toml names it again, or until dbreg watch is started anew", err, t->shown);
		return;
	}
	/* Another spelling of the same database (sqlite:./x.db, the keyword
	 * form, ?sslmode=...) is the same target: the state file's key says. */
	char *was = strcmp(url, t->url) != 0 ? dbreg_target_key(t->url) : NULL;
	char *now = was ? dbreg_target_key(url) : NULL;
	bool other = strcmp(url, t->url) != 0 && !(was && now && strcmp(was, now) == 0);
	free(was);
	free(now);
	if (other) {
		char *shown = dbreg_url_redact(url);
		snprintf(ui->moved, sizeof ui->moved, "dbreg.toml now names another database for %s (%s); watch stays "
			 "on %s and applies nothing until dbreg.toml names it again: start dbreg watch anew to follow it",
			 name, shown ? shown : "another URL", t->shown);
		free(shown);
		free(url);
		return;
	}
	const struct dbreg_target_def *def = dbreg_project_target(p, t->o.target);
	t->lock_timeout_ms = def ? def->lock_timeout_ms : 0;
	t->statement_timeout_ms = def ? def->statement_timeout_ms : 0;
	bool apply = dbreg_project_target_is_dev(p, t->o.target, url) && !t->o.no_apply;
	free(url);
	if (apply && t->conn_readonly) {
		/* Watched read-only so far: a connection that writes. One that
		 * cannot be made fails the round's read, which tries again. */
		t->conn_readonly = false;
		if (cli_reconnect(t, err, sizeof err) < 0)
			ui->stamp = 0;
	}
	if (apply != ui->apply)
		watch_hist_forget(ui);
	ui->apply = apply;
}

/* dbreg_reload_fn: one round. */
static int watch_round(void *arg, struct dbreg_registry *reg, struct dbreg_registry *old,
		       const struct dbreg_changes *ch, int reload_rc)
{
	struct watch_ui *ui = arg;
	ui->round++;
	struct watch_result r = {.status = "not applied"};
	if (ch && ch->project_diags && (!reg || ch->project_broken)) {
		/* dbreg.toml has errors: its findings are the round's, and the
		 * last good project stays; nothing is applied until it parses
		 * (the edit being typed may be dev = false). */
		size_t n = ch->project_diags->errors;
		snprintf(r.error, sizeof r.error,
			 "dbreg.toml has %zu error%s (its last good content stays in use; nothing is applied until it "
			 "parses)", n, n == 1 ? "" : "s");
		if (ui->json)
			watch_report_json(ui, ch->project_diags, ch, &r, n ? n : 1);
		else
			watch_report_human(ui, NULL, ch->project_diags, ch, &r, n ? n : 1);
		fflush(ui->out);
		return 0;
	}
	if (!reg) {
		/* The project could not be read at all: said, and the loop goes on. */
		char why[600];
		snprintf(why, sizeof why, "cannot reload (%s)",
			 reload_rc == DBREG_ENOMEM ? "out of memory" : old ? dbreg_registry_errmsg(old) : "the package folders");
		fprintf(ui->err, "dbreg watch: %s: waiting for the next change\n", why);
		if (ui->json) {
			/* A failed command's keys (cli.md), and the round's target. */
			fprintf(stdout, "{\"round\": %u, \"ok\": false, \"target\": ", ui->round);
			dbreg_json_str(stdout, ui->t->shown);
			fprintf(stdout, ", \"exit_code\": %d, \"error\": ", cli_exit_code(reload_rc < 0 ? reload_rc : DBREG_EIO));
			watch_json_error(stdout, DBREG_EIO, why, NULL, false);
			fputs(", \"diagnostics\": []}\n", stdout);
			fflush(stdout);
		}
		return reload_rc == DBREG_ENOMEM ? reload_rc : 0;
	}
	if (ch && ch->project) {
		watch_follow_project(ui, ch->project);
		watch_follow_state(ui, ch->project);
	}
	size_t errors = dbreg_registry_diags(reg)->errors;
	if (!errors && ch && ch->stand_ins) {
		/* Its finding bypassed (--allow DBR001) or not, a manifest that
		 * does not load is no package to plan from. */
		errors = ch->stand_ins;
		snprintf(r.error, sizeof r.error, "%zu manifest%s not load", errors, errors == 1 ? " does" : "s do");
	}
	if (!errors && ui->moved[0]) {
		snprintf(r.error, sizeof r.error, "%s", ui->moved);
		r.rc = DBREG_EUSAGE;
	} else if (!errors) {
		watch_plan_apply(ui, reg, old, &r);
	}
	/* A state file followed to: the target as it is, written before the
	 * report, so that what reads the state file after it finds it there. */
	watch_state_sync(ui, reg);
	const struct dbreg_diag_list *d = dbreg_registry_diags(reg);
	if (ui->json)
		watch_report_json(ui, d, ch, &r, errors);
	else
		watch_report_human(ui, reg, d, ch, &r, errors);
	if (ui->verbose && !ui->json)
		fprintf(ui->err, "  round %u: reload %.1f ms (%zu read, %zu re-checked), plan %.1f ms, apply %.1f ms\n",
			ui->round, ch ? ch->ms : 0.0, ch ? ch->loaded : 0, ch ? ch->rechecked : 0, r.ms_plan, r.ms_apply);
	fflush(ui->out);
	dbreg_plan_free(r.plan);
	dbreg_apply_result_dispose(&r.res);
	return 0;
}

static int watch_run(struct cli_session *s)
{
	struct dbreg_registry *reg = NULL;
	int sfd = -1;
	sigset_t mask, oldmask;
	bool dev = dbreg_project_target_is_dev(s->proj, s->o.target, s->url);
	struct watch_ui ui = {
		.out = s->o.json ? stderr : stdout,
		.err = stderr,
		.json = s->o.json,
		.quiet = s->o.quiet,
		.verbose = s->o.verbose,
		.color = s->color,
		.apply = dev && !s->o.no_apply,
		.why_not = s->o.no_apply ? "--no-apply" : "not a development target: mark it dev = true to apply",
		.proj = s->proj,
		.t = s,
		.allow = s->o.allow,
		.n_allow = s->o.n_allow,
		.lock_timeout = s->o.lock_timeout,
		.stop_fd = -1,
	};
	int rc = cli_connect(s, !ui.apply);
	if (rc < 0)
		return rc;
	/* Signals become a readable descriptor, so the loop's poll ends on
	 * them; blocked before any thread starts, so none takes them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);   /* its terminal closed: it ends as on SIGTERM */
	if (sigprocmask(SIG_BLOCK, &mask, &oldmask) != 0 || (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		cli_fail(s, "watch: cannot take SIGINT/SIGTERM/SIGHUP");
		rc = DBREG_EIO;
		goto restore;
	}
	ui.stop_fd = sfd;
	struct dbreg_validate_opts vopts = {.allow = s->o.allow, .n_allow = s->o.n_allow};
	struct dbreg_watch_opts wo = {
		.stop_fd = sfd,
		.debounce_ms = s->o.debounce_ms,
		.validate = &vopts,
		.log = s->o.verbose && !s->o.json ? s->err : NULL,
	};
	rc = dbreg_watch_run(s->proj, &reg, &wo, watch_round, &ui);
	watch_state_sync(&ui, reg);
	watch_hist_forget(&ui);
	if (rc < 0)
		cli_fail(s, "watch: %s", rc == DBREG_ENOMEM ? "out of memory" : "cannot watch the package folders (do they exist?)");
	else if (!s->o.quiet && !s->o.json)
		fprintf(s->err, "dbreg watch: stopped\n");
	/* Take the signal that stopped the loop, or unblocking delivers it. */
	struct signalfd_siginfo si;
	struct pollfd pfd = {.fd = sfd, .events = POLLIN};
	while (poll(&pfd, 1, 0) == 1 && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	close(sfd);
restore:
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	dbreg_registry_free(reg);
	return rc;
}

const struct cli_command cli_cmd_watch = {
	.name = "watch",
	.args = "",
	.summary = "the development loop: reload, validate, plan and apply on every change",
	.help = "One round at start, then on every change of the package folders, up_file SQL files and\n"
		"dbreg.toml (debounced, content changes only): reload, re-validate, re-plan, and on a\n"
		"development target apply; prints what changed. Runs until interrupted. --json: one line\n"
		"per round.",
	.options = (const char *const[]){"no-apply", "allow", "lock-timeout", "debounce", NULL},
	.needs = CLI_NEEDS_PROJECT | CLI_NEEDS_TARGET | CLI_NEEDS_STATE,
	.run = watch_run,
	.streams_json = true,
};
