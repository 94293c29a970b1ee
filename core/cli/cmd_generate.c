/* dbreg generate PKG [--dry-run]: append to the package's manifest the
 * migration that takes the schema its migrations produce to the tables it
 * declares (or print it with --dry-run). Never asks: destructive steps are
 * written with a comment and reported as DBR103 warnings. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cmd_generate(struct cli_ctx *ctx)
{
	if (ctx->n_args != 1) {
		fprintf(ctx->err, "usage: dbreg generate PKG [--dry-run] [--target POSTGRES]\n");
		return 2;
	}
	const char *name = ctx->args[0];
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct dbreg_generated gen = {0};
	char err[1024];
	char *path = NULL, *text = NULL, *next = NULL, *url = NULL;
	size_t len = 0;
	int rc = cli_open(ctx, &proj, &reg, false);
	if (rc < 0)
		goto out;
	size_t i = dbreg_registry_package_find(reg, name);
	if (i == (size_t)-1) {
		fprintf(ctx->err, "dbreg: no package %s in this project\n", name);
		rc = DBREG_EINVALID;
		goto out;
	}
	/* --target naming a PostgreSQL server: replay the PostgreSQL bodies
	 * there, where types compare exactly. */
	if (ctx->target) {
		enum dbreg_dialect d;
		if (dbreg_project_target_url(&url, proj, ctx->target, err, sizeof err) < 0) {
			fprintf(ctx->err, "dbreg: %s\n", err);
			rc = DBREG_EUSAGE;
			goto out;
		}
		if (dbreg_target_dialect(url, &d) < 0 || d != DBREG_DIALECT_POSTGRES) {
			free(url);
			url = NULL;
		}
	}
	rc = dbreg_generate_on(&gen, reg, name, url, err, sizeof err);
	if (rc < 0) {
		fprintf(ctx->err, "dbreg: %s\n", err);
		goto out;
	}
	cli_print_diags(ctx, &gen.diags);
	const char *file = dbreg_registry_package_file(reg, i);
	if (!gen.toml) {
		if (!ctx->quiet && !ctx->json)
			fprintf(ctx->err, "%s: nothing to generate, its migrations already produce the declared tables\n", name);
	} else if (ctx->dry_run) {
		if (!ctx->json)
			fputs(gen.toml, ctx->out);
	} else {
		path = dbreg_registry_package_path(reg, i);
		if (!path || cli_read_file(path, &text, &len) != 0) {
			fprintf(ctx->err, "dbreg: cannot read %s: %s\n", file, path ? strerror(errno) : "out of memory");
			rc = DBREG_EIO;
			goto out;
		}
		/* The manifest's bytes stay as they are: the migrations go after them. */
		size_t n = len + strlen(gen.toml) + 3;
		next = malloc(n);
		if (!next) {
			rc = DBREG_ENOMEM;
			goto out;
		}
		int w = snprintf(next, n, "%s%s%s%s", text, len && text[len - 1] != '\n' ? "\n" : "", len ? "\n" : "",
				 gen.toml);
		rc = dbreg_write_file(path, next, (size_t)w, err, sizeof err);
		if (rc < 0) {
			fprintf(ctx->err, "dbreg: %s\n", err);
			goto out;
		}
		if (!ctx->quiet && !ctx->json)
			fprintf(ctx->err, "appended %zu migration%s to %s: %s\n", gen.n_migrations,
				gen.n_migrations == 1 ? "" : "s", file, gen.summary);
	}
	if (ctx->json) {
		fprintf(ctx->out, "{\n  \"ok\": true,\n  \"package\": ");
		dbreg_json_str(ctx->out, name);
		fprintf(ctx->out, ",\n  \"file\": ");
		dbreg_json_str(ctx->out, file);
		fprintf(ctx->out, ",\n  \"written\": %s,\n  \"changes\": %zu,\n  \"summary\": ",
			gen.toml && !ctx->dry_run ? "true" : "false", gen.n_changes);
		dbreg_json_str(ctx->out, gen.summary);
		fprintf(ctx->out, ",\n  \"migrations\": ");
		dbreg_json_str(ctx->out, gen.toml);
		fprintf(ctx->out, ",\n  \"diagnostics\": ");
		dbreg_diag_list_json(ctx->out, &gen.diags);
		fputs("\n}\n", ctx->out);
		ctx->json_done = true;
	}
out:
	free(url);
	free(path);
	free(text);
	free(next);
	dbreg_generated_dispose(&gen);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}
