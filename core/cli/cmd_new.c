/* dbreg new package NAME [--dir DIR] | new migration PKG ID: write a new
 * manifest that validates as written, or append an empty migration to a
 * package's manifest, leaving the rest of the file byte for byte. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int new_package(struct cli_ctx *ctx, const char *name)
{
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct dbreg_diag_list pdiags = DBREG_DIAG_LIST_INIT;
	char err[512], file[256];
	char *text = NULL, *dir = NULL, *path = NULL;
	int rc = cli_load_only(ctx, &proj, &reg, &pdiags);
	if (rc < 0) {
		cli_print_diags(ctx, &pdiags);
		goto out;
	}
	if (dbreg_registry_package_find(reg, name) != (size_t)-1) {
		size_t i = dbreg_registry_package_find(reg, name);
		fprintf(ctx->err, "dbreg: package %s already exists in %s\n", name, dbreg_registry_package_file(reg, i));
		rc = DBREG_EINVALID;
		goto out;
	}
	rc = dbreg_scaffold_package(&text, name, reg, err, sizeof err);
	if (rc < 0) {
		fprintf(ctx->err, "dbreg: %s\n", rc == DBREG_ENOMEM ? "out of memory" : err);
		goto out;
	}
	/* --dir is a path as the user typed it; the default is the project's
	 * first package folder. */
	if (ctx->new_dir)
		dir = strdup(ctx->new_dir);
	else if (proj->package_dirs[0][0] == '/')
		dir = strdup(proj->package_dirs[0]);
	else
		dir = cli_path_join(proj->dir, proj->package_dirs[0]);
	dbreg_scaffold_file_name(name, file, sizeof file);
	path = dir ? cli_path_join(dir, file) : NULL;
	if (!path) {
		rc = DBREG_ENOMEM;
		goto out;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(ctx->err, "dbreg: cannot create %s: %s\n", dir, strerror(errno));
		rc = DBREG_EIO;
		goto out;
	}
	struct stat st;
	if (stat(path, &st) == 0) {
		fprintf(ctx->err, "dbreg: %s already exists (hint: --dir DIR writes it elsewhere)\n", path);
		rc = DBREG_EINVALID;
		goto out;
	}
	rc = dbreg_write_file(path, text, strlen(text), err, sizeof err);
	if (rc < 0) {
		fprintf(ctx->err, "dbreg: %s\n", err);
		goto out;
	}
	if (ctx->json) {
		fputs("{\n  \"ok\": true,\n  \"file\": ", ctx->out);
		dbreg_json_str(ctx->out, path);
		fputs("\n}\n", ctx->out);
		ctx->json_done = true;
	} else if (!ctx->quiet) {
		fprintf(ctx->err, "wrote %s (package %s 0.1.0)\n", path, name);
	}
out:
	free(text);
	free(dir);
	free(path);
	dbreg_diag_list_dispose(&pdiags);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}

static int new_migration(struct cli_ctx *ctx, const char *pkg, const char *id)
{
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct dbreg_diag_list pdiags = DBREG_DIAG_LIST_INIT;
	char err[512];
	char *text = NULL, *next = NULL, *path = NULL;
	size_t len = 0, next_len = 0;
	int rc = cli_load_only(ctx, &proj, &reg, &pdiags);
	if (rc < 0) {
		cli_print_diags(ctx, &pdiags);
		goto out;
	}
	size_t i = dbreg_registry_package_find(reg, pkg);
	if (i == (size_t)-1) {
		fprintf(ctx->err, "dbreg: no package %s in this project\n", pkg);
		rc = DBREG_EINVALID;
		goto out;
	}
	if (dbreg_registry_package_has_migration(reg, i, id)) {
		fprintf(ctx->err, "dbreg: %s already has a migration \"%s\"\n", pkg, id);
		rc = DBREG_EINVALID;
		goto out;
	}
	const char *file = dbreg_registry_package_file(reg, i);
	const char *version = dbreg_registry_package_version(reg, i);
	if (!version) {
		fprintf(ctx->err, "dbreg: %s: the package has no version\n", file);
		rc = DBREG_EINVALID;
		goto out;
	}
	path = dbreg_registry_package_path(reg, i);
	if (!path) {
		rc = DBREG_ENOMEM;
		goto out;
	}
	if (cli_read_file(path, &text, &len) != 0) {
		fprintf(ctx->err, "dbreg: cannot read %s: %s\n", file, strerror(errno));
		rc = DBREG_EIO;
		goto out;
	}
	rc = dbreg_scaffold_migration(&next, &next_len, text, len, id, version, err, sizeof err);
	if (rc == 0)
		rc = dbreg_write_file(path, next, next_len, err, sizeof err);
	if (rc < 0) {
		fprintf(ctx->err, "dbreg: %s\n", rc == DBREG_ENOMEM ? "out of memory" : err);
		goto out;
	}
	if (ctx->json) {
		fputs("{\n  \"ok\": true,\n  \"file\": ", ctx->out);
		dbreg_json_str(ctx->out, file);
		fputs(",\n  \"migration\": ", ctx->out);
		dbreg_json_str(ctx->out, id);
		fputs("\n}\n", ctx->out);
		ctx->json_done = true;
	} else if (!ctx->quiet) {
		fprintf(ctx->err, "appended migration %s (version %s) to %s\n", id, version, file);
	}
out:
	free(text);
	free(next);
	free(path);
	dbreg_diag_list_dispose(&pdiags);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}

int cmd_new(struct cli_ctx *ctx)
{
	if (ctx->n_args >= 1 && strcmp(ctx->args[0], "package") == 0 && ctx->n_args == 2)
		return new_package(ctx, ctx->args[1]);
	if (ctx->n_args >= 1 && strcmp(ctx->args[0], "migration") == 0 && ctx->n_args == 3 && !ctx->new_dir)
		return new_migration(ctx, ctx->args[1], ctx->args[2]);
	fprintf(ctx->err, "usage: dbreg new package NAME [--dir DIR]\n"
			  "       dbreg new migration PKG ID\n");
	return 2;
}
