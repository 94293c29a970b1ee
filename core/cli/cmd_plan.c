/* dbreg plan: the steps apply would run on the target, from the state file
 * (or the target's own history with --refresh), without changing anything. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void cli_print_plan(struct cli_ctx *ctx, const struct cli_target *t, const struct dbreg_plan *plan)
{
	size_t n = dbreg_plan_count(plan);
	if (ctx->json) {
		fputs("{\n  \"target\": ", ctx->out);
		ctx->json_open = true;
		dbreg_json_str(ctx->out, t->shown);
		fprintf(ctx->out, ",\n  \"dialect\": \"%s\",\n  \"steps\": [", cli_dialect_name(t->dialect));
		for (size_t i = 0; i < n; i++) {
			const struct dbreg_step *s = dbreg_plan_step(plan, i);
			fputs(i ? ",\n    {\"package\": " : "\n    {\"package\": ", ctx->out);
			dbreg_json_str(ctx->out, s->package);
			fputs(", \"migration\": ", ctx->out);
			dbreg_json_str(ctx->out, s->migration);
			fputs(", \"version\": ", ctx->out);
			dbreg_json_str(ctx->out, s->version);
			fprintf(ctx->out, ", \"direction\": \"%s\", \"transaction\": %s, \"out_of_order\": %s, \"checksum\": ",
				s->up ? "up" : "down", s->transaction ? "true" : "false",
				s->out_of_order ? "true" : "false");
			dbreg_json_str(ctx->out, s->checksum);
			fputc('}', ctx->out);
		}
		fputs(n ? "\n  ]" : "]", ctx->out);
		return;
	}
	if (n == 0) {
		fprintf(ctx->out, "%s (%s) is up to date: nothing to run\n", t->shown, cli_dialect_name(t->dialect));
		return;
	}
	fprintf(ctx->out, "plan for %s (%s): %zu step%s\n", t->shown, cli_dialect_name(t->dialect), n,
		n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		const struct dbreg_step *s = dbreg_plan_step(plan, i);
		fprintf(ctx->out, "%4zu. %-4s %s %s (%s)%s%s\n", i + 1, s->up ? "up" : "down", s->package,
			s->migration, s->version, s->transaction ? "" : " [outside a transaction]",
			s->out_of_order ? " [out of order: older than an applied migration]" : "");
	}
}

void cli_print_plan_warnings(struct cli_ctx *ctx, const struct dbreg_plan *plan)
{
	if (ctx->quiet)
		return;
	struct dbreg_diag_list w = DBREG_DIAG_LIST_INIT;
	dbreg_plan_warnings(plan, &w);
	cli_print_diags(ctx, &w);
	dbreg_diag_list_dispose(&w);
}

int cli_build_plan(struct cli_ctx *ctx, struct dbreg_registry *reg, struct cli_target *t,
		   struct dbreg_plan **plan)
{
	struct dbreg_plan_opts opts = {
		.dialect = t->dialect,
		.history = t->history,
		.n_history = t->n_history,
		.pins = ctx->pins,
		.n_pins = ctx->n_pins,
	};
	int rc = dbreg_plan_build(plan, reg, &opts);
	if (rc == DBREG_EINVALID)
		cli_print_diags(ctx, dbreg_registry_diags(reg));
	else if (rc < 0)
		fprintf(ctx->err, "dbreg: %s\n", dbreg_registry_errmsg(reg));
	return rc;
}

int cmd_plan(struct cli_ctx *ctx)
{
	if (ctx->fleet)
		return cli_fleet(ctx, "plan");
	if (cli_no_extra_args(ctx, 0))
		return 2;
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct cli_target t = {0};
	struct dbreg_plan *plan = NULL;

	int rc = cli_open(ctx, &proj, &reg, true);
	if (rc < 0)
		goto out;
	if ((rc = cli_target_open(ctx, &t, proj)) < 0)
		goto out;
	if ((rc = cli_target_history(ctx, &t, ctx->refresh)) < 0)
		goto out;
	if ((rc = cli_build_plan(ctx, reg, &t, &plan)) < 0)
		goto out;
	char *script = NULL;
	if (ctx->sql && !(script = dbreg_plan_script(plan))) {
		rc = DBREG_ENOMEM;
		goto out;
	}
	cli_print_plan_warnings(ctx, plan);
	if (ctx->sql && !ctx->json) {
		fputs(script, ctx->out);
	} else {
		cli_print_plan(ctx, &t, plan);
		if (ctx->json) {
			/* Warnings found while planning (DBR103) are among them. */
			fputs(",\n  \"diagnostics\": ", ctx->out);
			dbreg_diag_list_json(ctx->out, dbreg_registry_diags(reg));
		}
		if (ctx->json && script) {
			fputs(",\n  \"sql\": ", ctx->out);
			dbreg_json_str(ctx->out, script);
		}
		cli_json_end(ctx, true);
	}
	free(script);
	dbreg_state_log(t.state, "plan", t.shown, "ok", NULL);
out:
	dbreg_plan_free(plan);
	cli_target_close(&t);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}
