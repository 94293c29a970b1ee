/* dbreg validate: every manifest and the SQL of every migration; prints the
 * diagnostics; exit 0, or 1 when any error. */
#include "cli.h"

int cmd_validate(struct cli_ctx *ctx)
{
	if (cli_no_extra_args(ctx, 0))
		return 2;
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct dbreg_diag_list pdiags = DBREG_DIAG_LIST_INIT;
	int rc = cli_load(ctx, &proj, &reg, false, &pdiags);

	if (rc < 0 && rc != DBREG_EINVALID) {
		fprintf(ctx->err, "dbreg: %s\n", reg ? dbreg_registry_errmsg(reg) : "cannot read the project");
		goto out;
	}
	/* --target naming a PostgreSQL server: the PostgreSQL bodies are
	 * replayed there too (rolled back), and DBR047 compares what they
	 * build. Without --target, validate never connects. */
	if (reg && ctx->target && rc != DBREG_ENOMEM) {
		struct cli_target t = {0};
		int trc = cli_target_open(ctx, &t, proj);
		if (trc == 0 && t.dialect != DBREG_DIALECT_POSTGRES) {
			if (!ctx->quiet && !ctx->json)
				fprintf(ctx->err, "%s: the SQLite bodies were replayed in memory; only a PostgreSQL target adds a replay\n",
					t.shown);
		} else if (trc == 0 && (trc = cli_target_connect(ctx, &t)) == 0) {
			trc = dbreg_registry_validate_target(reg, t.conn);
			if (trc == DBREG_EINVALID)
				trc = 0;
			else if (trc < 0)
				fprintf(ctx->err, "dbreg: validate on %s: %s\n", t.shown, dbreg_registry_errmsg(reg));
		}
		cli_target_close(&t);
		if (trc < 0) {
			rc = trc;
			goto out;
		}
	}
	/* dbreg_project_open stops at a broken dbreg.toml, so the findings are
	 * either the project file's or the manifests', never both. */
	const struct dbreg_diag_list *diags = reg ? dbreg_registry_diags(reg) : &pdiags;
	size_t packages = reg ? dbreg_registry_package_count(reg) : 0;

	if (ctx->json) {
		fprintf(ctx->out, "{\n  \"ok\": %s,\n  \"diagnostics\": ", diags->errors ? "false" : "true");
		dbreg_diag_list_json(ctx->out, diags);
		fputs("\n}\n", ctx->out);
		ctx->json_done = true;
	} else {
		cli_print_diags(ctx, diags);
		if (!ctx->quiet)
			fprintf(ctx->err, "%zu package%s, %zu error%s, %zu warning%s\n", packages,
				packages == 1 ? "" : "s", diags->errors, diags->errors == 1 ? "" : "s",
				diags->warnings, diags->warnings == 1 ? "" : "s");
	}
	rc = diags->errors ? DBREG_EINVALID : 0;
out:
	dbreg_diag_list_dispose(&pdiags);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}
