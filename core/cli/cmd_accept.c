/* dbreg accept PKG MIGRATION: an applied migration whose body changed on
 * purpose (a comment, formatting) gets its new checksum recorded on the
 * target, after both checksums are shown; the state file logs it. Without
 * it every later plan refuses the change (DBR045). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cmd_accept(struct cli_ctx *ctx)
{
	if (ctx->n_args != 2) {
		fprintf(ctx->err, "usage: dbreg accept PKG MIGRATION\n");
		return 2;
	}
	const char *pkg = ctx->args[0], *mig = ctx->args[1];
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct cli_target t = {0};
	struct dbreg_accept_result res;
	int rc = cli_open(ctx, &proj, &reg, false);
	if (rc < 0)
		goto out;
	if ((rc = cli_target_open(ctx, &t, proj)) < 0 || (rc = cli_target_connect(ctx, &t)) < 0)
		goto out;
	rc = dbreg_apply_accept(&res, t.conn, reg, pkg, mig, ctx->lock_timeout);
	if (rc < 0) {
		fprintf(ctx->err, "dbreg: accept: %s\n", res.errmsg);
		dbreg_state_log(t.state, "accept", t.shown, "failed", res.errmsg);
		goto out;
	}
	bool changed = strcmp(res.old_checksum, res.new_checksum) != 0;
	if (ctx->json) {
		fputs("{\n  \"target\": ", ctx->out);
		dbreg_json_str(ctx->out, t.shown);
		fputs(",\n  \"package\": ", ctx->out);
		dbreg_json_str(ctx->out, pkg);
		fputs(",\n  \"migration\": ", ctx->out);
		dbreg_json_str(ctx->out, mig);
		fputs(",\n  \"old_checksum\": ", ctx->out);
		dbreg_json_str(ctx->out, res.old_checksum);
		fputs(",\n  \"new_checksum\": ", ctx->out);
		dbreg_json_str(ctx->out, res.new_checksum);
		fprintf(ctx->out, ",\n  \"changed\": %s,\n  \"ok\": true\n}\n", changed ? "true" : "false");
		ctx->json_done = true;
	} else if (!changed) {
		fprintf(ctx->out, "%s: %s %s is unchanged (%s): nothing to accept\n", t.shown, pkg, mig, res.new_checksum);
	} else {
		fprintf(ctx->out, "%s: %s %s\n  applied with  %s\n  manifest now  %s\naccepted: the target records the new checksum\n",
			t.shown, pkg, mig, res.old_checksum, res.new_checksum);
	}
	if (changed) {
		char detail[512];
		snprintf(detail, sizeof detail, "%s %s: %s -> %s", pkg, mig, res.old_checksum, res.new_checksum);
		dbreg_state_log(t.state, "accept", t.shown, "ok", detail);
		cli_target_history(ctx, &t, true);
	}
out:
	cli_target_close(&t);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}
