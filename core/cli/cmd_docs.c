/* dbreg docs [--out DIR] [--check]: the Markdown and Mermaid pages of every
 * package (default folder docs/schema/ of the project); --check writes
 * nothing and exits 1 when the files on disk differ from what it would
 * write. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int docs_run(struct cli_session *s)
{
	struct dbreg_docs docs = DBREG_DOCS_INIT;
	char **changed = NULL;
	size_t n_changed = 0;
	char err[512];
	char *dir = s->o.docs_out ? strdup(s->o.docs_out) : cli_path_join(s->proj->dir, "docs/schema");
	int rc = dir ? dbreg_docs_render(&docs, s->reg, s->proj->dir) : DBREG_ENOMEM;
	if (rc == 0)
		rc = dbreg_docs_sync(&docs, dir, s->o.check, &changed, &n_changed, err, sizeof err);
	if (rc < 0) {
		cli_fail(s, "%s", rc == DBREG_ENOMEM ? "out of memory" : err);
		goto out;
	}
	if (s->o.json) {
		cli_json_key(s, "dir");
		dbreg_json_str(s->out, dir);
		cli_json_key(s, "files");
		fprintf(s->out, "%zu", docs.n);
		cli_json_key(s, s->o.check ? "differ" : "written");
		cli_json_strings(s->out, changed, n_changed);
	} else {
		for (size_t i = 0; i < n_changed; i++)
			if (s->o.check || !s->o.quiet)
				fprintf(s->err, "%s %s/%s\n", s->o.check ? "differs:" : "wrote", dir, changed[i]);
		if (!s->o.quiet)
			fprintf(s->err, "%zu page%s in %s, %zu %s\n", docs.n, docs.n == 1 ? "" : "s", dir, n_changed,
				s->o.check ? (n_changed ? "out of date (run dbreg docs)" : "out of date") : "written");
	}
	if (s->o.check && n_changed) {
		cli_error_set(s, "%zu page%s in %s out of date", n_changed, n_changed == 1 ? "" : "s", dir);
		rc = DBREG_EINVALID;
	}
out:
	for (size_t i = 0; i < n_changed; i++)
		free(changed[i]);
	free(changed);
	free(dir);
	dbreg_docs_dispose(&docs);
	return rc;
}

const struct cli_command cli_cmd_docs = {
	.name = "docs",
	.args = "",
	.summary = "Markdown and Mermaid pages of every package's schema",
	.help = "Writes DIR/README.md (default docs/schema/): the packages and their dependency graph,\n"
		"and one page per package with its tables, columns, indexes, tools and migrations;\n"
		"--check exits 1 when the files on disk differ from what would be written.",
	.options = (const char *const[]){"out", "check", NULL},
	.needs = CLI_NEEDS_VALID,
	.run = docs_run,
};
