/* dbreg new package NAME [--dir DIR] | new migration PKG ID: write a new
 * manifest that validates as written, or append an empty migration to a
 * package's manifest, leaving the rest of the file byte for byte. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* dir/file for a file that must not exist yet (malloc'd), or NULL with
 * the failure said. */
static char *new_path(struct cli_session *s, const char *dir, const char *file, int *rc)
{
	char *path = cli_path_join(dir, file);
	struct stat st;
	*rc = path ? 0 : DBREG_ENOMEM;
	if (path && stat(path, &st) == 0) {
		cli_fail(s, "%s already exists", path);
		cli_hint(s, "--dir DIR writes it elsewhere");
		*rc = DBREG_EINVALID;
		free(path);
		path = NULL;
	}
	return path;
}

/* path, absolute and canonical: its realpath, or its parent's with its
 * last name appended when it does not exist yet (mkdir makes one level).
 * NULL when neither exists. */
static char *new_canon(const char *path)
{
	char buf[PATH_MAX];
	if (realpath(path, buf))
		return strdup(buf);
	char *copy = strdup(path), *out = NULL;
	if (!copy)
		return NULL;
	size_t n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	char *slash = strrchr(copy, '/');
	const char *base = slash ? slash + 1 : copy;
	if (slash)
		*slash = '\0';
	const char *parent = !slash ? "." : slash == copy ? "/" : copy;
	if (*base && strcmp(base, ".") != 0 && strcmp(base, "..") != 0 && realpath(parent, buf) &&
	    (out = malloc(strlen(buf) + strlen(base) + 2)) != NULL)
		sprintf(out, "%s%s%s", buf, strcmp(buf, "/") == 0 ? "" : "/", base);
	free(copy);
	return out;
}

/* Project folder entry i (package_dirs) as a path from here. */
static char *new_package_dir(const struct dbreg_project *proj, size_t i)
{
	const char *rel = proj->package_dirs[i];
	return rel[0] == '/' ? strdup(rel) : cli_path_join(proj->dir, rel);
}

/* Whether path b (canonical) is folder a (canonical) or lies below it. */
static bool new_below(const char *a, const char *b)
{
	size_t k = strlen(a);
	return strcmp(a, "/") == 0 || (strncmp(a, b, k) == 0 && (b[k] == '/' || b[k] == '\0'));
}

/* Whether dir (canonical) is read by validate: one of the package folders
 * or below one (manifest.md: they are read recursively). */
static bool new_dir_read(const struct dbreg_project *proj, const char *dir)
{
	bool found = false;
	for (size_t i = 0; i < proj->n_package_dirs && !found; i++) {
		char *p = new_package_dir(proj, i), *c = p ? new_canon(p) : NULL;
		found = c && new_below(c, dir);
		free(p);
		free(c);
	}
	return found;
}

/* dir (canonical) as [registry] packages names it: from the project
 * folder when it is that folder or below it ("." for the folder itself),
 * else absolute. malloc'd. */
static char *new_rel(const struct dbreg_project *proj, const char *dir)
{
	char *top = new_canon(proj->dir);
	size_t k = top ? strlen(top) : 0;
	const char *rel = dir;
	if (top && strcmp(top, dir) == 0)
		rel = ".";
	else if (top && strcmp(top, "/") == 0)
		rel = dir + 1;
	else if (top && strncmp(dir, top, k) == 0 && dir[k] == '/')
		rel = dir + k + 1;
	char *out = strdup(rel);
	free(top);
	return out;
}

static void new_toml_str(FILE *fp, const char *v)
{
	fputc('"', fp);
	for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(fp, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(fp, "\\u%04x", *c);
		else
			fputc(*c, fp);
	}
	fputc('"', fp);
}

/* [registry] packages as it must be for validate to read dir (canonical)
 * too: the project's folders (only those that exist when `existing`), then
 * dir (from the project folder when below it). malloc'd; NULL when out of
 * memory. */
static char *new_packages_list(const struct dbreg_project *proj, const char *dir, bool existing)
{
	char *arr = NULL, *rel = new_rel(proj, dir);
	size_t an = 0;
	FILE *a = rel ? open_memstream(&arr, &an) : NULL;
	if (!a) {
		free(rel);
		return NULL;
	}
	fputc('[', a);
	for (size_t i = 0; i < proj->n_package_dirs; i++) {
		char *p = existing ? new_package_dir(proj, i) : NULL, *c = p ? new_canon(p) : NULL;
		struct stat st;
		/* One that dir holds is read through dir already. */
		if (!existing || (p && stat(p, &st) == 0 && S_ISDIR(st.st_mode) && c && !new_below(dir, c))) {
			new_toml_str(a, proj->package_dirs[i]);
			fputs(", ", a);
		}
		free(p);
		free(c);
	}
	new_toml_str(a, rel);
	fputc(']', a);
	free(rel);
	if (fclose(a) != 0) {
		free(arr);
		return NULL;
	}
	return arr;
}

/* For a --dir that validate does not read, in a project without
 * dbreg.toml: [registry] packages = the default folders that exist, then
 * dir. *list gets the array as written. Both malloc'd; NULL when out of
 * memory. */
static char *new_project_file(const struct dbreg_project *proj, const char *dir, char **list)
{
	char *text = NULL, *arr = new_packages_list(proj, dir, true);
	size_t tn = 0;
	FILE *t = arr ? open_memstream(&text, &tn) : NULL;
	if (!t) {
		free(arr);
		return NULL;
	}
	fprintf(t, "# The project file (cli.md). Written by dbreg new package --dir.\n"
		   "[registry]\npackages = %s\n", arr);
	if (fclose(t) != 0) {
		free(text);
		text = NULL;
	}
	*list = arr;
	return text;
}

static int new_package(struct cli_session *s, const char *name)
{
	struct dbreg_project *proj = s->proj;
	struct dbreg_registry *reg = s->reg;
	char err[512], file[256];
	char *text = NULL, *core = NULL, *dir = NULL, *path = NULL, *core_path = NULL;
	char *canon = NULL, *toml = NULL, *toml_text = NULL, *list = NULL;
	bool core_written = false, toml_written = false;
	int rc;
	if (dbreg_registry_package_find(reg, name) != (size_t)-1) {
		size_t i = dbreg_registry_package_find(reg, name);
		cli_fail(s, "package %s already exists in %s", name, dbreg_registry_package_file(reg, i));
		rc = DBREG_EINVALID;
		goto out;
	}
	/* --dir is a path as the user typed it; the default is the project's
	 * first package folder. */
	if (s->o.new_dir)
		dir = strdup(s->o.new_dir);
	else if (proj->package_dirs[0][0] == '/')
		dir = strdup(proj->package_dirs[0]);
	else
		dir = cli_path_join(proj->dir, proj->package_dirs[0]);
	if (!dir || !(toml = cli_path_join(proj->dir, "dbreg.toml"))) {
		rc = DBREG_ENOMEM;
		goto out;
	}
	/* validate reads [registry] packages only (cli.md): a --dir elsewhere
	 * is named there, in the dbreg.toml written for it, or refused when
	 * the user's dbreg.toml would need an edit. */
	canon = new_canon(dir);
	if (s->o.new_dir && !canon) {
		/* mkdir makes one level: the parent must exist. */
		cli_fail(s, "cannot create %s: %s", dir, strerror(ENOENT));
		cli_hint(s, "create its parent folder first, or name a folder whose parent exists");
		rc = DBREG_EIO;
		goto out;
	}
	if (s->o.new_dir && !new_dir_read(proj, canon)) {
		struct stat st;
		if (stat(toml, &st) == 0) {
			/* The whole list: adding to a default that is not written
			 * down would drop the default folder. */
			char *want = new_packages_list(proj, canon, false);
			cli_fail(s, "--dir %s is not in a package folder of the project, so validate would not read it", dir);
			cli_hint(s, "write packages = %s under [registry] in %s, or leave out --dir (it writes to %s)",
				 want ? want : dir, toml, proj->package_dirs[0]);
			free(want);
			rc = DBREG_EUSAGE;
			goto out;
		}
		if (!(toml_text = new_project_file(proj, canon, &list))) {
			rc = DBREG_ENOMEM;
			goto out;
		}
	}
	/* A project without a core package gets one: every package table
	 * refers to its ydtb_workspaces, so the package validates as written.
	 * Everything is checked before either file is written. */
	rc = dbreg_scaffold_core(&core, reg, err, sizeof err);
	if (rc == 0 && core) {
		struct stat st;
		if (!(core_path = cli_path_join(dir, "core.toml"))) {
			rc = DBREG_ENOMEM;
			goto out;
		}
		if (stat(core_path, &st) == 0) {
			cli_fail(s, "the project has no core package, and %s (where new would write one) already exists",
				 core_path);
			cli_hint(s, "give the manifest that owns ydtb_workspaces kind = \"core\", or move %s away", core_path);
			rc = DBREG_EINVALID;
			goto out;
		}
		rc = dbreg_registry_add_string(reg, core_path, dir, core, strlen(core));
	}
	if (rc == 0 && (rc = dbreg_scaffold_package(&text, name, reg, err, sizeof err)) == DBREG_EINVALID)
		rc = DBREG_EUSAGE;   /* the name on the command line: a usage error (exit 2), as cli.md has it */
	if (rc < 0) {
		cli_fail(s, "%s", rc == DBREG_ENOMEM ? "out of memory" : err);
		goto out;
	}
	dbreg_scaffold_file_name(name, file, sizeof file);
	if (!(path = new_path(s, dir, file, &rc)))
		goto out;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		cli_fail(s, "cannot create %s: %s", dir, strerror(errno));
		rc = DBREG_EIO;
		goto out;
	}
	if (toml_text) {
		if ((rc = dbreg_write_file(toml, toml_text, strlen(toml_text), err, sizeof err)) < 0) {
			cli_fail(s, "%s", err);
			goto out;
		}
		toml_written = true;
	}
	if (core_path) {
		if ((rc = dbreg_write_file(core_path, core, strlen(core), err, sizeof err)) < 0) {
			cli_fail(s, "%s", err);
			goto out;
		}
		core_written = true;
	}
	if ((rc = dbreg_write_file(path, text, strlen(text), err, sizeof err)) < 0) {
		cli_fail(s, "%s", err);
		goto out;
	}
	if (s->o.json) {
		cli_json_key(s, "file");
		dbreg_json_str(s->out, path);
		if (core_path) {
			cli_json_key(s, "core_file");
			dbreg_json_str(s->out, core_path);
		}
		if (toml_text) {
			cli_json_key(s, "project_file");
			dbreg_json_str(s->out, toml);
		}
	} else if (!s->o.quiet) {
		if (toml_text)
			fprintf(s->err, "wrote %s ([registry] packages = %s: the folder%s validate reads)\n", toml, list,
				strchr(list, ',') ? "s" : "");
		if (core_path)
			fprintf(s->err, "wrote %s (core package @ydtb/core 1.0.0: the workspaces every package table belongs to)\n",
				core_path);
		fprintf(s->err, "wrote %s (package %s 0.1.0)\n", path, name);
	}
out:
	/* Both files or neither. */
	if (rc < 0 && core_written)
		unlink(core_path);
	if (rc < 0 && toml_written)
		unlink(toml);
	free(canon);
	free(toml);
	free(toml_text);
	free(list);
	free(text);
	free(core);
	free(dir);
	free(path);
	free(core_path);
	return rc;
}

static int new_migration(struct cli_session *s, const char *pkg, const char *id)
{
	struct dbreg_registry *reg = s->reg;
	char err[512];
	char *text = NULL, *next = NULL, *path = NULL;
	size_t len = 0, next_len = 0;
	int rc;
	size_t i;
	if ((rc = cli_package(&i, s, pkg)) < 0)
		goto out;
	if (dbreg_registry_package_has_migration(reg, i, id)) {
		cli_fail(s, "%s already has a migration \"%s\"", pkg, id);
		rc = DBREG_EINVALID;
		goto out;
	}
	const char *file = dbreg_registry_package_file(reg, i);
	const char *version = dbreg_registry_package_version(reg, i);
	if (!version) {
		cli_fail(s, "%s: the package has no version", file);
		rc = DBREG_EINVALID;
		goto out;
	}
	path = dbreg_registry_package_path(reg, i);
	if (!path) {
		rc = DBREG_ENOMEM;
		goto out;
	}
	if (cli_read_file(path, &text, &len) != 0) {
		cli_fail(s, "cannot read %s: %s", file, strerror(errno));
		rc = DBREG_EIO;
		goto out;
	}
	rc = dbreg_scaffold_migration(&next, &next_len, text, len, id, version, err, sizeof err);
	if (rc == 0)
		rc = dbreg_write_file(path, next, next_len, err, sizeof err);
	if (rc < 0) {
		if (rc == DBREG_EINVALID)
			cli_fail(s, "%s: %s", file, err);
		else
			cli_fail(s, "%s", rc == DBREG_ENOMEM ? "out of memory" : err);
		goto out;
	}
	if (s->o.json) {
		cli_json_key(s, "file");
		dbreg_json_str(s->out, file);
		cli_json_key(s, "migration");
		dbreg_json_str(s->out, id);
	} else if (!s->o.quiet) {
		fprintf(s->err, "appended migration %s (version %s) to %s\n", id, version, file);
		/* Applied empty, its SQL written after would be drift: the
		 * planner refuses a blank up body (DBR042). */
		fprintf(s->err, "  its bodies are empty: write them; until its up body is written, plan and apply refuse it "
				"(DBR042)\n");
	}
out:
	free(text);
	free(next);
	free(path);
	return rc;
}

static int new_run(struct cli_session *s)
{
	if (strcmp(s->args[0], "package") == 0 && s->n_args == 2)
		return new_package(s, s->args[1]);
	if (strcmp(s->args[0], "migration") == 0 && s->n_args == 3) {
		s->sub = "migration";
		if (s->o.new_dir)
			return cli_usage(s, "--dir is for new package, not new migration");
		return new_migration(s, s->args[1], s->args[2]);
	}
	return cli_usage(s, "usage: dbreg new package NAME [--dir DIR] | dbreg new migration PKG ID");
}

const struct cli_command cli_cmd_new = {
	.name = "new",
	.args = "package NAME | migration PKG ID",
	.summary = "write a new package manifest, or append an empty migration",
	.help = "new package NAME writes tomls/<name>.toml (or --dir DIR): a workspace-scoped example\n"
		"table and its first migration for both dialects, version 0.1.0; it validates as written\n"
		"(in a project without a core package it writes tomls/core.toml first: @ydtb/core with\n"
		"the ydtb_workspaces table every package table refers to).\n"
		"A --dir that is neither a package folder nor below one is named in a dbreg.toml written\n"
		"for it ([registry] packages); with a dbreg.toml already there, add it to packages yourself.\n"
		"new migration PKG ID appends an empty migration with the package's version to its\n"
		"manifest, keeping the rest of the file byte for byte.",
	.options = (const char *const[]){"dir", NULL},
	.needs = CLI_NEEDS_REGISTRY | CLI_FOLDERS_NEW,
	.min_args = 2,
	.max_args = 3,
	.complete_words = (const char *const[]){"package", "migration:packages", NULL},
	.run = new_run,
};
