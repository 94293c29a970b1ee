/* dbreg baseline PKG@VERSION: adopt a database that already holds a
 * package's tables (made by hand, or by another tool). The target's
 * catalog is compared first, through verify and its one differ, with what
 * the package declares at VERSION; any difference refuses it, named (exit
 * 6). Then the package's migrations up to VERSION are recorded as applied,
 * with its package row and tools, without running one. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cmd_baseline(struct cli_ctx *ctx)
{
	char *at = ctx->n_args == 1 ? strrchr(ctx->args[0], '@') : NULL;
	if (!at || at == ctx->args[0] || !at[1] || ctx->n_pins) {
		fprintf(ctx->err, "usage: dbreg baseline PKG@VERSION (as in dbreg baseline @ydtb/basic@1.1.0)\n");
		return 2;
	}
	*at = '\0';
	const char *pkg = ctx->args[0], *version = at + 1;
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct cli_target t = {0};
	struct dbreg_verify_result vr = {0};
	char err[1024];
	int rc = cli_open(ctx, &proj, &reg, true);
	if (rc < 0)
		goto out;
	if ((rc = cli_target_open(ctx, &t, proj)) < 0 || (rc = cli_target_connect_readonly(ctx, &t)) < 0)
		goto out;
	struct dbreg_verify_opts vo = {.state = t.state, .package = pkg, .version = version};
	rc = dbreg_verify_run_opts(&vr, t.conn, reg, &vo, err, sizeof err);
	if (rc == DBREG_EVERIFY) {
		fprintf(ctx->err, "dbreg: baseline %s@%s refused: the target does not hold what it declares:\n", pkg, version);
		for (size_t i = 0; i < vr.len; i++)
			fprintf(ctx->err, "  %s%s%s%s%s\n", vr.items[i].table ? vr.items[i].table : "",
				vr.items[i].column ? "." : "", vr.items[i].column ? vr.items[i].column : "",
				vr.items[i].table ? ": " : "", vr.items[i].message);
		fprintf(ctx->err, "  nothing was recorded; make the database match, or apply the migrations instead\n");
		dbreg_state_log(t.state, "baseline", t.shown, "refused", "the catalog differs from the declared tables");
		goto out;
	}
	if (rc < 0) {
		fprintf(ctx->err, "dbreg: baseline: %s\n", err);
		goto out;
	}
	ctx->pins[0] = (struct dbreg_pin){pkg, version};
	ctx->n_pins = 1;
	ctx->record_only = true;
	struct dbreg_plan_opts extra = {.only_package = pkg};
	rc = cli_run_plan(ctx, &t, reg, "baseline", &extra, NULL);
	cli_json_end(ctx, rc == 0);
out:
	dbreg_verify_result_dispose(&vr);
	cli_target_close(&t);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}
