/* dbreg docs [--out DIR] [--check]: the Markdown and Mermaid pages of every
 * package (default folder docs/schema/ of the project); --check writes
 * nothing and exits 1 when the files on disk differ from what it would
 * write. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cmd_docs(struct cli_ctx *ctx)
{
	if (cli_no_extra_args(ctx, 0))
		return 2;
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct dbreg_docs docs = DBREG_DOCS_INIT;
	char **changed = NULL;
	size_t n_changed = 0;
	char *dir = NULL;
	char err[512];
	int rc = cli_open(ctx, &proj, &reg, false);
	if (rc < 0)
		goto out;
	dir = ctx->docs_out ? strdup(ctx->docs_out) : cli_path_join(proj->dir, "docs/schema");
	rc = dir ? dbreg_docs_render(&docs, reg, proj->dir) : DBREG_ENOMEM;
	if (rc == 0)
		rc = dbreg_docs_sync(&docs, dir, ctx->check, &changed, &n_changed, err, sizeof err);
	if (rc < 0) {
		fprintf(ctx->err, "dbreg: %s\n", rc == DBREG_ENOMEM ? "out of memory" : err);
		goto out;
	}
	if (ctx->json) {
		fprintf(ctx->out, "{\n  \"ok\": %s,\n  \"dir\": ", ctx->check && n_changed ? "false" : "true");
		dbreg_json_str(ctx->out, dir);
		fprintf(ctx->out, ",\n  \"files\": %zu,\n  \"%s\": [", docs.n, ctx->check ? "differ" : "written");
		for (size_t i = 0; i < n_changed; i++) {
			fputs(i ? ", " : "", ctx->out);
			dbreg_json_str(ctx->out, changed[i]);
		}
		fputs("]\n}\n", ctx->out);
		ctx->json_done = true;
	} else {
		for (size_t i = 0; i < n_changed; i++)
			if (ctx->check || !ctx->quiet)
				fprintf(ctx->err, "%s %s/%s\n", ctx->check ? "differs:" : "wrote", dir, changed[i]);
		if (!ctx->quiet)
			fprintf(ctx->err, "%zu page%s in %s, %zu %s\n", docs.n, docs.n == 1 ? "" : "s", dir, n_changed,
				ctx->check ? (n_changed ? "out of date (run dbreg docs)" : "out of date")
					   : "written");
	}
	if (ctx->check && n_changed)
		rc = DBREG_EINVALID;
out:
	for (size_t i = 0; i < n_changed; i++)
		free(changed[i]);
	free(changed);
	free(dir);
	dbreg_docs_dispose(&docs);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}
