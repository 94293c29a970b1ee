/* dbreg reset: on a development target only, every package's down to
 * nothing, newest first, then every up again, in one run of the apply
 * engine (one transaction unless a transaction = false step splits it). */
#include "cli.h"

int cmd_reset(struct cli_ctx *ctx)
{
	if (cli_no_extra_args(ctx, 0))
		return 2;
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct cli_target t = {0};
	struct dbreg_plan_opts extra = {.reset = true};
	struct dbreg_diag_list pdiags = DBREG_DIAG_LIST_INIT;

	/* Refused before the manifests are even checked: nothing is read from
	 * a target that is not a development one. */
	int rc = dbreg_project_open(&proj, ctx->dir, &pdiags);
	if (rc == 0)
		rc = cli_require_dev(ctx, proj, "reset");
	else
		cli_print_diags(ctx, &pdiags);
	dbreg_diag_list_dispose(&pdiags);
	dbreg_project_free(proj);
	proj = NULL;
	if (rc < 0)
		goto out;
	if ((rc = cli_open(ctx, &proj, &reg, true)) < 0)
		goto out;
	if ((rc = cli_target_open(ctx, &t, proj)) < 0)
		goto out;
	rc = ctx->dry_run ? cli_target_connect_readonly(ctx, &t) : cli_target_connect(ctx, &t);
	if (rc < 0)
		goto out;
	rc = cli_run_plan(ctx, &t, reg, "reset", &extra, NULL);
	cli_json_end(ctx, rc == 0);
out:
	cli_target_close(&t);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}
