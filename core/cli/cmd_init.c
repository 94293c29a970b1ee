/* dbreg init: the initialization pipeline. (1) connect, retrying with
 * backoff until --wait runs out; (2-4) register every package in the state
 * file and run all pending migrations, core first, in one transaction;
 * (5) verify the database against the declared tables; (6) report. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double init_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void init_sleep(double seconds)
{
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	nanosleep(&ts, NULL);
}

/* Connects, retrying with exponential backoff (0.25 s doubling to 4 s)
 * until `wait` seconds have passed, but only what waiting can fix (the
 * server refused, timed out or is starting up); a wrong password, a
 * missing database or a bad path fails at once with a hint that fits.
 * Read-only: cli_run_plan opens the connection to write once the plan is
 * known to be fine, so a refused init creates nothing. */
static int init_connect(struct cli_session *s, const char **hint)
{
	double start = init_now(), delay = 0.25;
	char err[1024];
	int attempts = 0;
	for (;;) {
		attempts++;
		int rc = dbreg_target_connect_readonly(&s->conn, s->url, err, sizeof(err));
		if (rc == 0) {
			s->conn_readonly = true;
			*hint = NULL;
			return 0;
		}
		if (rc == DBREG_EUSAGE) {
			cli_fail(s, "%s", err);
			return rc;
		}
		bool transient = true;
		*hint = dbreg_target_connect_advice(s->url, err, &transient);
		if (!transient) {
			cli_fail(s, "cannot connect to %s: %s", s->shown, err);
			return DBREG_ECONNECT;
		}
		double left = (double)s->o.wait - (init_now() - start);
		if (left <= 0) {
			cli_fail(s, "cannot connect to %s after %d attempt%s in %d s: %s", s->shown, attempts,
				 attempts == 1 ? "" : "s", s->o.wait, err);
			return DBREG_ECONNECT;
		}
		if (s->o.verbose && !s->o.json)
			fprintf(s->err, "  connection refused (%s); retrying in %.2f s\n", err, delay);
		init_sleep(delay < left ? delay : left);
		delay = delay * 2 > 4 ? 4 : delay * 2;
	}
}

static int init_run(struct cli_session *s)
{
	if (s->o.fleet)
		return cli_fleet(s, "init");
	bool say = !s->o.json && !s->o.quiet;
	double start = init_now();
	size_t applied = 0, np = dbreg_registry_package_count(s->reg);
	const char *connect_hint = NULL;
	int rc;

	if ((rc = cli_check_pins(s)) < 0)
		return rc;
	if (say) {
		fprintf(s->out, "dbreg init: %zu package%s from %s into %s\n", np, np == 1 ? "" : "s", s->proj->dir,
			s->shown);
		fprintf(s->out, "  [1/5] connecting to %s\n", s->shown);
	}
	if ((rc = init_connect(s, &connect_hint)) < 0) {
		/* The plan never ran, so nothing else records this attempt. */
		dbreg_state_log(s->state, "init", s->shown, "failed", "cannot connect");
		goto fail;
	}
	if (say) {
		fprintf(s->out, "  [2/5] registering packages and planning (%s)\n", cli_dialect_name(s->dialect));
		fprintf(s->out, "  [3/5] %s pending migrations, core first\n", s->o.dry_run ? "showing" : "applying");
	}
	if ((rc = cli_run_plan(s, "init", NULL, &applied)) < 0)
		goto fail;
	if (s->o.dry_run)
		return 0;
	if (say)
		fprintf(s->out, "  [4/5] verifying the database against the declared tables\n");
	if ((rc = cli_verify(s, true)) < 0)
		goto fail;
	if (say)
		fprintf(s->out, "  [5/5] done in %.0f ms: %zu migration%s applied, %zu package%s installed\n",
			(init_now() - start) * 1000, applied, applied == 1 ? "" : "s", np, np == 1 ? "" : "s");
	return 0;
fail:
	cli_hint(s, "%s",
		 rc == DBREG_ECONNECT && connect_hint ? connect_hint
		 : rc == DBREG_ECONNECT ? "is the server up? check host, port and credentials; --wait SECONDS waits longer"
		 : rc == DBREG_ELOCKED ? "another run holds the registry lock; wait for it or raise --lock-timeout"
		 : rc == DBREG_EMIGRATION ? "fix the migration named above and run init again: nothing was changed"
		 : rc == DBREG_EVERIFY ? "the database differs from the manifests: see the differences above"
		 : "fix the errors above and run init again");
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
