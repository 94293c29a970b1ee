/* The initialization pipeline (dbreg_init_run): what `dbreg init` and an
 * embedding application run at start-up, in one call. Connects read-only
 * first, so that a refused plan creates nothing (not even a SQLite file),
 * and opens the connection to write only once the plan is known to be fine. */
#include "dbreg.h"
#include "cancel.h"
#include "connect.h"
#include "state.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void init_phase(const struct dbreg_init_opts *o, enum dbreg_init_phase p)
{
	if (o->phase)
		o->phase(o->phase_arg, p);
}

static int init_fail(struct dbreg_init_result *out, enum dbreg_init_phase p, int rc, const char *fmt, const char *arg)
{
	out->failed = p;
	snprintf(out->errmsg, sizeof(out->errmsg), fmt, arg ? arg : "");
	return rc;
}

/* Connects read-only (dbreg_connect_waiting), the failure said as init says it. */
static int init_connect(struct dbreg_init_result *out, struct dbreg_conn **conn, const char *url,
			const struct dbreg_init_opts *o)
{
	char err[900];
	double t0 = dbreg_clock_ms();
	int rc = dbreg_connect_waiting(conn, url, true, o->wait_s, NULL, o->log, &out->attempts, &out->hint, err, sizeof err);
	if (rc == DBREG_EUSAGE)
		return init_fail(out, DBREG_INIT_CONNECT, rc, "%s", err);
	if (rc < 0) {
		char *shown = dbreg_url_redact(url);
		out->failed = DBREG_INIT_CONNECT;
		/* The time it took, not --wait's: a failure that waiting cannot
		 * mend (a wrong password) is not retried. */
		snprintf(out->errmsg, sizeof(out->errmsg), "cannot %s %s after %u attempt%s in %.1f s: %s",
			 rc == DBREG_ELOCKED ? "open" : "connect to", shown ? shown : "the target", out->attempts,
			 out->attempts == 1 ? "" : "s", (dbreg_clock_ms() - t0) / 1e3, err);
		free(shown);
		return rc == DBREG_ELOCKED ? rc : DBREG_ECONNECT;
	}
	return 0;
}

int dbreg_init_run(struct dbreg_init_result *out, struct dbreg_registry *reg, const char *url,
		   const struct dbreg_init_opts *opts)
{
	static const struct dbreg_init_opts none = {0};
	const struct dbreg_init_opts *o = opts ? opts : &none;
	memset(out, 0, sizeof(*out));
	out->verify = (struct dbreg_verify_result)DBREG_VERIFY_RESULT_INIT;
	double start = dbreg_clock_ms();
	struct dbreg_conn *conn = NULL;
	struct dbreg_applied *hist = NULL;
	size_t n_hist = 0;
	char *key = NULL;
	const char *target = NULL;
	char err[900] = "";
	char refused[700] = "";   /* the state file's refusal of a record after a commit */
	bool marked = false, ran = false;   /* the run's mark written; the run reached the target */
	int rc;

	if (!o->validated) {
		struct dbreg_validate_opts vo = {.skip_sql = false};
		if ((rc = dbreg_registry_validate(reg, &vo)) < 0) {
			init_fail(out, DBREG_INIT_PLAN, rc, "%s", dbreg_registry_errmsg(reg));
			goto out;
		}
	}
	key = dbreg_url_redact(url);
	target = o->state_target ? o->state_target : key;
	if (!key) {
		rc = init_fail(out, DBREG_INIT_CONNECT, DBREG_ENOMEM, "out of memory", NULL);
		goto out;
	}
	init_phase(o, DBREG_INIT_CONNECT);
	if ((rc = init_connect(out, &conn, url, o)) < 0)
		goto out;

	init_phase(o, DBREG_INIT_PLAN);
	if ((rc = dbreg_target_history(conn, &hist, &n_hist)) < 0) {
		init_fail(out, DBREG_INIT_PLAN, rc, "reading the history: %s", dbreg_target_errmsg(conn));
		goto out;
	}
	if (o->state)
		dbreg_state_set_history(o->state, target, hist, n_hist);
	struct dbreg_plan_opts po = {
		.dialect = dbreg_target_conn_dialect(conn),
		.history = hist,
		.n_history = n_hist,
		.pins = o->pins,
		.n_pins = o->n_pins,
		.allow = o->allow,
		.n_allow = o->n_allow,
		.target = conn,
	};
	if ((rc = dbreg_plan_build(&out->plan, reg, &po)) < 0) {
		init_fail(out, DBREG_INIT_PLAN, rc, "%s", rc == DBREG_EINVALID ? "the plan has errors (see the diagnostics)"
									     : dbreg_registry_errmsg(reg));
		goto out;
	}
	/* The plan is fine: now the connection may write. */
	if (!o->dry_run) {
		/* No content stamp may outlive a run that writes (stamp.c). */
		if (o->state && dbreg_stamp_forget(o->state, target, err, sizeof err) != 0) {
			rc = init_fail(out, DBREG_INIT_PLAN, DBREG_EIO, "%s", err);
			goto out;
		}
		if ((rc = dbreg_target_make_writable(&conn, url, err, sizeof(err))) < 0) {
			init_fail(out, DBREG_INIT_CONNECT, rc, "%s", err);
			goto out;
		}
		if (o->state && (rc = dbreg_state_register(o->state, reg)) < 0) {
			init_fail(out, DBREG_INIT_PLAN, rc, "%s", dbreg_state_errmsg(o->state));
			goto out;
		}
		/* Before the apply takes the target's lock, and after the state
		 * file's other writes (as apply's, run.c): the copy of its history
		 * is about to be behind (dbreg_state_run_begin). From here an
		 * interrupt lets the run roll back and record what the target
		 * holds, its mark with it, before the process ends. */
		marked = o->state && dbreg_plan_count(out->plan) > 0;
		if (marked)
			dbreg_cancel_unwind_enter();
		if (marked && (rc = dbreg_state_run_begin(o->state, target, "init")) < 0) {
			init_fail(out, DBREG_INIT_PLAN, rc, "%s", dbreg_state_errmsg(o->state));
			goto out;
		}
	}
	ran = true;

	init_phase(o, DBREG_INIT_APPLY);
	struct dbreg_apply_opts ao = {
		.dry_run = o->dry_run,
		.lock_timeout_s = o->lock_timeout_s,
		.target_lock_timeout_ms = o->target_lock_timeout_ms,
		.target_statement_timeout_ms = o->target_statement_timeout_ms,
		.log = o->log,
		.progress = o->progress,
		.progress_arg = o->progress_arg,
		.waiting = o->waiting,
		.waiting_arg = o->waiting_arg,
	};
	rc = dbreg_apply_run(&out->apply, conn, out->plan, &ao);
	int wrc = 0;
	if (!o->dry_run && o->state) {
		/* The offline copy follows the target, success or not; one that
		 * cannot be read again keeps the mark. */
		dbreg_applied_free(hist, n_hist);
		hist = NULL;
		n_hist = 0;
		if (dbreg_target_history_after(&conn, url, rc, &hist, &n_hist) == 0)
			wrc = dbreg_state_set_history(o->state, target, hist, n_hist);
	}
	/* Interrupted: what the target holds is recorded; verify does not run. */
	if (marked && dbreg_cancel_ending() && rc == 0)
		rc = init_fail(out, DBREG_INIT_APPLY, DBREG_EMIGRATION, "interrupted", NULL);
	/* What committed stays: the refused record is the failure once the run
	 * and verify are done (the run's own failure comes first). */
	if (wrc < 0 && out->apply.n_ran > 0)
		snprintf(refused, sizeof refused, "%s WAS changed (%zu migration%s committed), but the state file %.200s "
			 "could not record it: %.300s", target, out->apply.applied, out->apply.applied == 1 ? "" : "s",
			 dbreg_state_path(o->state), dbreg_state_errmsg(o->state));
	if (rc < 0) {
		init_fail(out, DBREG_INIT_APPLY, rc, "%.1000s", out->apply.errmsg);   /* errmsg holds 1024 */
		goto out;
	}
	if (o->dry_run)
		goto out;

	init_phase(o, DBREG_INIT_VERIFY);
	struct dbreg_verify_opts vo = {.state = o->state, .replay_url = url, .held = o->pins, .n_held = o->n_pins};
	rc = dbreg_verify_run_opts(&out->verify, conn, reg, &vo, err, sizeof(err));
	if (rc == DBREG_EVERIFY)
		init_fail(out, DBREG_INIT_VERIFY, rc, "the database differs from the declared tables%s", "");
	else if (rc < 0)
		init_fail(out, DBREG_INIT_VERIFY, rc, "verify: %s", err);
	if (rc == 0 && refused[0]) {
		rc = init_fail(out, DBREG_INIT_RECORD, wrc, "%s", refused);
		out->hint = "the state file's copy of the target's history is behind: once the state file can be "
			    "written, `dbreg plan --refresh` reads it again from the target (whose history tables are "
			    "the truth); until then an offline plan warns that its copy may be stale";
	}
out:
	/* Refused before the run: the target is as its copy says. */
	if (marked && !ran)
		dbreg_state_run_end(o->state, target);
	if (marked)
		dbreg_cancel_unwind_leave();
	/* A state file that refused the record would refuse the log, after its own wait. */
	if (o->state && !o->dry_run && key && !refused[0])
		dbreg_state_log(o->state, "init", target, rc == 0 ? "ok" : "failed", rc == 0 ? NULL : out->errmsg);
	out->ms = dbreg_clock_ms() - start;
	dbreg_applied_free(hist, n_hist);
	dbreg_target_close(conn);
	free(key);
	return rc;
}

void dbreg_init_result_dispose(struct dbreg_init_result *r)
{
	if (!r)
		return;
	dbreg_plan_free(r->plan);
	dbreg_apply_result_dispose(&r->apply);
	dbreg_verify_result_dispose(&r->verify);
	memset(r, 0, sizeof(*r));
	r->verify = (struct dbreg_verify_result)DBREG_VERIFY_RESULT_INIT;
}
