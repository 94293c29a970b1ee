/* dbreg verify: read the target's catalog and compare it with the declared
 * tables; exit 6 with every difference named. */
#include "cli.h"

int cli_verify(struct cli_ctx *ctx, struct cli_target *t, struct dbreg_registry *reg, bool print_json)
{
	struct dbreg_verify_result vr = DBREG_VERIFY_RESULT_INIT;
	char err[1024] = "";
	struct dbreg_verify_opts vo = {.state = t->state};
	int rc = dbreg_verify_run_opts(&vr, t->conn, reg, &vo, err, sizeof(err));
	if (rc < 0 && rc != DBREG_EVERIFY) {
		fprintf(ctx->err, "dbreg: verify: %s\n", err);
		goto out;
	}
	if (print_json) {
		/* Nested in init's document: indented, no newline after. */
		fputs("{\n  \"target\": ", ctx->out);
		dbreg_json_str(ctx->out, t->shown);
		fprintf(ctx->out, ",\n  \"ok\": %s,\n  \"problems\": [", rc == 0 ? "true" : "false");
		for (size_t i = 0; i < vr.len; i++) {
			fputs(i ? ",\n    {\"table\": " : "\n    {\"table\": ", ctx->out);
			dbreg_json_str(ctx->out, vr.items[i].table);
			fputs(", \"column\": ", ctx->out);
			dbreg_json_str(ctx->out, vr.items[i].column);
			fputs(", \"message\": ", ctx->out);
			dbreg_json_str(ctx->out, vr.items[i].message);
			fputc('}', ctx->out);
		}
		fputs(vr.len ? "\n  ]" : "]", ctx->out);
		fputs(",\n  \"not_compared\": [", ctx->out);
		for (size_t i = 0; i < vr.n_not_compared; i++) {
			fputs(i ? ",\n    {\"package\": " : "\n    {\"package\": ", ctx->out);
			dbreg_json_str(ctx->out, vr.not_compared[i].package);
			fputs(", \"version\": ", ctx->out);
			dbreg_json_str(ctx->out, vr.not_compared[i].version);
			fputs(", \"reason\": ", ctx->out);
			dbreg_json_str(ctx->out, vr.not_compared[i].reason);
			fputc('}', ctx->out);
		}
		fputs(vr.n_not_compared ? "\n  ]" : "]", ctx->out);
		fputs(",\n  \"notice\": ", ctx->out);
		dbreg_json_str(ctx->out, vr.notice);
		fputs("\n}", ctx->out);
	} else if (!ctx->json) {
		for (size_t i = 0; i < vr.len; i++) {
			const struct dbreg_problem *pr = &vr.items[i];
			fprintf(ctx->err, "%s: verify: %s%s%s%s%s\n", t->shown, pr->table ? pr->table : "",
				pr->column ? "." : "", pr->column ? pr->column : "", pr->table ? ": " : "", pr->message);
		}
		/* Never silently skipped: what was not compared is said, and why. */
		for (size_t i = 0; i < vr.n_not_compared; i++)
			fprintf(ctx->err, "%s: verify: %s %s not compared: %s\n", t->shown, vr.not_compared[i].package,
				vr.not_compared[i].version, vr.not_compared[i].reason);
		if (vr.notice && !ctx->quiet)
			fprintf(ctx->err, "%s: note: %s\n", t->shown, vr.notice);
		if (rc == 0 && !ctx->quiet)
			fprintf(ctx->out, "%s matches the declared tables\n", t->shown);
		else if (rc == DBREG_EVERIFY)
			fprintf(ctx->err, "%s differs from the declared tables: %zu difference%s\n", t->shown, vr.len,
				vr.len == 1 ? "" : "s");
	}
out:
	dbreg_verify_result_dispose(&vr);
	return rc;
}

int cmd_verify(struct cli_ctx *ctx)
{
	if (cli_no_extra_args(ctx, 0))
		return 2;
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct cli_target t = {0};

	int rc = cli_open(ctx, &proj, &reg, false);
	if (rc < 0)
		goto out;
	if ((rc = cli_target_open(ctx, &t, proj)) < 0 || (rc = cli_target_connect_readonly(ctx, &t)) < 0)
		goto out;
	rc = cli_verify(ctx, &t, reg, ctx->json);
	if (ctx->json && (rc == 0 || rc == DBREG_EVERIFY)) {
		fputc('\n', ctx->out);
		ctx->json_done = true;
	}
out:
	cli_target_close(&t);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}
