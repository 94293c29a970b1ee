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
static int init_connect(struct cli_ctx *ctx, struct cli_target *t, const char **hint)
{
	double start = init_now(), delay = 0.25;
	char err[1024];
	int attempts = 0;
	for (;;) {
		attempts++;
		int rc = dbreg_target_connect_readonly(&t->conn, t->url, err, sizeof(err));
		if (rc == 0) {
			t->readonly = true;
			*hint = NULL;
		}
		if (rc == 0 || rc == DBREG_EUSAGE) {
			if (rc < 0)
				fprintf(ctx->err, "dbreg: %s\n", err);
			return rc;
		}
		bool transient = true;
		*hint = dbreg_target_connect_advice(t->url, err, &transient);
		if (!transient) {
			fprintf(ctx->err, "dbreg: cannot connect to %s: %s\n", t->shown, err);
			return DBREG_ECONNECT;
		}
		double left = (double)ctx->wait - (init_now() - start);
		if (left <= 0) {
			fprintf(ctx->err, "dbreg: cannot connect to %s after %d attempt%s in %d s: %s\n", t->shown,
				attempts, attempts == 1 ? "" : "s", ctx->wait, err);
			return DBREG_ECONNECT;
		}
		if (ctx->verbose && !ctx->json)
			fprintf(ctx->err, "  connection refused (%s); retrying in %.2f s\n", err, delay);
		init_sleep(delay < left ? delay : left);
		delay = delay * 2 > 4 ? 4 : delay * 2;
	}
}

int cmd_init(struct cli_ctx *ctx)
{
	if (ctx->fleet)
		return cli_fleet(ctx, "init");
	if (cli_no_extra_args(ctx, 0))
		return 2;
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct cli_target t = {0};
	bool say = !ctx->json && !ctx->quiet;
	double start = init_now();
	size_t applied = 0;
	const char *connect_hint = NULL;

	for (size_t i = 0; i < ctx->n_pins; i++) {
		if (!ctx->pins[i].package) {
			fprintf(ctx->err, "dbreg: init takes --to PKG@VERSION\n");
			return 2;
		}
	}
	int rc = cli_open(ctx, &proj, &reg, true);
	if (rc < 0)
		goto out;
	if ((rc = cli_target_open(ctx, &t, proj)) < 0)
		goto out;
	if (say)
		fprintf(ctx->out, "dbreg init: %zu package%s from %s into %s\n", dbreg_registry_package_count(reg),
			dbreg_registry_package_count(reg) == 1 ? "" : "s", ctx->dir, t.shown);
	if (say)
		fprintf(ctx->out, "  [1/5] connecting to %s\n", t.shown);
	if ((rc = init_connect(ctx, &t, &connect_hint)) < 0) {
		/* The plan never ran, so nothing else records this attempt. */
		dbreg_state_log(t.state, "init", t.shown, "failed", "cannot connect");
		goto fail;
	}
	if (say)
		fprintf(ctx->out, "  [2/5] registering packages and planning (%s)\n", cli_dialect_name(t.dialect));
	if (say)
		fprintf(ctx->out, "  [3/5] %s pending migrations, core first\n",
			ctx->dry_run ? "showing" : "applying");
	rc = cli_run_plan(ctx, &t, reg, "init", NULL, &applied);
	if (rc < 0)
		goto fail;
	if (ctx->dry_run)
		goto out;
	if (say)
		fprintf(ctx->out, "  [4/5] verifying the database against the declared tables\n");
	if (ctx->json)
		fputs(",\n  \"verify\": ", ctx->out);
	rc = cli_verify(ctx, &t, reg, ctx->json);
	if (rc < 0)
		goto fail;
	if (say) {
		fprintf(ctx->out, "  [5/5] done in %.0f ms: %zu migration%s applied, %zu package%s installed",
			(init_now() - start) * 1000, applied, applied == 1 ? "" : "s",
			dbreg_registry_package_count(reg), dbreg_registry_package_count(reg) == 1 ? "" : "s");
		fputc('\n', ctx->out);
	}
	goto out;
fail:
	if (say) {
		const char *why = rc == DBREG_ECONNECT && connect_hint ? connect_hint
			: rc == DBREG_ECONNECT ? "is the server up? check host, port and credentials; --wait SECONDS waits longer"
			: rc == DBREG_ELOCKED ? "another run holds the registry lock; wait for it or raise --lock-timeout"
			: rc == DBREG_EMIGRATION ? "fix the migration named above and run init again: nothing was changed"
			: rc == DBREG_EVERIFY ? "the database differs from the manifests: see the differences above"
			: "fix the errors above and run init again";
		fprintf(ctx->err, "dbreg init failed: %s\n", why);
	}
out:
	cli_json_end(ctx, rc == 0);
	cli_target_close(&t);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}
