/* dbreg generate PKG [--dry-run]: append to the package's manifest the
 * migration that takes the schema its migrations produce to the tables it
 * declares (or print it with --dry-run). Never asks: destructive steps are
 * written with a comment and reported as DBR103 warnings. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int generate_run(struct cli_session *s)
{
	const char *name = s->args[0];
	struct dbreg_registry *reg = s->reg;
	struct dbreg_generated gen = {0};
	char err[1024];
	char *path = NULL, *text = NULL, *next = NULL, *url = NULL;
	size_t len = 0;
	int rc;
	size_t i;
	if ((rc = cli_package(&i, s, name)) < 0)
		goto out;
	/* --target naming a PostgreSQL server: replay the PostgreSQL bodies
	 * there, where types compare exactly. */
	if (s->o.target) {
		enum dbreg_dialect d;
		if (dbreg_project_target_url(&url, s->proj, s->o.target, err, sizeof err) < 0) {
			cli_fail(s, "%s", err);
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
		cli_print_diags(s, &gen.diags);
		cli_fail(s, "%s", err);
		s->command_diags = gen.diags;
		memset(&gen.diags, 0, sizeof(gen.diags));
		goto out;
	}
	cli_print_diags(s, &gen.diags);
	const char *file = dbreg_registry_package_file(reg, i);
	if (!gen.toml) {
		if (!s->o.quiet && !s->o.json)
			fprintf(s->err, "%s: nothing to generate, its migrations already produce the declared tables\n", name);
	} else if (s->o.dry_run) {
		if (!s->o.json)
			fputs(gen.toml, s->out);
	} else {
		path = dbreg_registry_package_path(reg, i);
		if (!path || cli_read_file(path, &text, &len) != 0) {
			cli_fail(s, "cannot read %s: %s", file, path ? strerror(errno) : "out of memory");
			rc = DBREG_EIO;
			goto out;
		}
		/* The manifest's bytes stay as they are: the migrations go after them. */
		size_t w;
		rc = dbreg_manifest_append(&next, &w, text, len, gen.toml, err, sizeof err);
		if (rc < 0) {
			if (rc != DBREG_ENOMEM)
				cli_fail(s, "%s: %s", file, err);
			goto out;
		}
		rc = dbreg_write_file(path, next, w, err, sizeof err);
		if (rc < 0) {
			cli_fail(s, "%s", err);
			goto out;
		}
		if (!s->o.quiet && !s->o.json)
			fprintf(s->err, "appended %zu migration%s to %s: %s\n", gen.n_migrations,
				gen.n_migrations == 1 ? "" : "s", file, gen.summary);
	}
	if (s->o.json) {
		cli_json_key(s, "package");
		dbreg_json_str(s->out, name);
		cli_json_key(s, "file");
		dbreg_json_str(s->out, file);
		cli_json_key(s, "written");
		fputs(gen.toml && !s->o.dry_run ? "true" : "false", s->out);
		cli_json_key(s, "changes");
		fprintf(s->out, "%zu", gen.n_changes);
		cli_json_key(s, "summary");
		dbreg_json_str(s->out, gen.summary);
		cli_json_key(s, "migrations");
		dbreg_json_str(s->out, gen.toml);
	}
	/* Its findings (DBR103 for destructive steps) are the document's diagnostics. */
	s->command_diags = gen.diags;
	memset(&gen.diags, 0, sizeof(gen.diags));
out:
	free(url);
	free(path);
	free(text);
	free(next);
	dbreg_generated_dispose(&gen);
	return rc;
}

const struct cli_command cli_cmd_generate = {
	.name = "generate",
	.args = "PKG",
	.summary = "append the migration from what the migrations build to the declared tables",
	.help = "Compares the schema PKG's migrations produce with the tables it declares and appends the\n"
		"migration (PostgreSQL and SQLite bodies and their down) that closes the gap; renames only\n"
		"where renamed_from says so. --dry-run prints it instead; --target naming a PostgreSQL\n"
		"server replays the PostgreSQL bodies there, where types compare exactly.",
	.options = (const char *const[]){"dry-run", NULL},
	.needs = CLI_NEEDS_VALID,
	.min_args = 1,
	.max_args = 1,
	.complete_args = "packages",
	.run = generate_run,
};
