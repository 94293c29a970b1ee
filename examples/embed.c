/* An application embedding libdbreg: at start-up it registers its
 * packages' manifests from memory (no files, no project folder), validates
 * them, and brings its SQLite database to the declared state with
 * dbreg_init_run, the pipeline of `dbreg init`, through the public API alone.
 *
 *   example-embed [DATABASE-URL]    (e.g. sqlite:app.db, postgres://...)
 *
 * The build makes it as build/tests/example-embed; against an installed
 * dbreg (README, Install): cc examples/embed.c $(pkg-config --cflags --libs dbreg) -o embed
 * Without a URL it uses a new SQLite file in a temporary folder, removed at
 * the end, so each run starts from an empty database.
 * Prints TAP so the test suite runs it as a test of the public API. */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp, with -std=c11 too */
#include <dbreg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char core_manifest[] =
	"[package]\n"
	"name = \"@app/core\"\n"
	"version = \"1.0.0\"\n"
	"kind = \"core\"\n"
	"[tables.ydtb_workspaces]\n"
	"description = \"A tenant\"\n"
	"[tables.ydtb_workspaces.columns]\n"
	"id = { type = \"text\", primary_key = true }\n"
	"name = { type = \"text\", not_null = true }\n"
	"[[migrations]]\n"
	"id = \"0001_workspaces\"\n"
	"version = \"1.0.0\"\n"
	"up = \"CREATE TABLE IF NOT EXISTS ydtb_workspaces (id text PRIMARY KEY NOT NULL, name text NOT NULL);\"\n"
	"down = \"DROP TABLE IF EXISTS ydtb_workspaces;\"\n";

/* A plugin the application loads at run time. */
static const char plugin_manifest[] =
	"[package]\n"
	"name = \"@app/bookmarks\"\n"
	"version = \"1.0.0\"\n"
	"[dependencies]\n"
	"\"@app/core\" = \"^1.0.0\"\n"
	"[tables.ydtb_bookmarks]\n"
	"description = \"A saved link\"\n"
	"workspace_scoped = true\n"
	"[tables.ydtb_bookmarks.columns]\n"
	"id = { type = \"text\", primary_key = true }\n"
	"url = { type = \"text\", not_null = true }\n"
	"[[migrations]]\n"
	"id = \"0001_bookmarks\"\n"
	"version = \"1.0.0\"\n"
	"up = \"\"\"\n"
	"CREATE TABLE IF NOT EXISTS ydtb_bookmarks (\n"
	"  id text PRIMARY KEY NOT NULL,\n"
	"  url text NOT NULL,\n"
	"  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE\n"
	");\n"
	"CREATE INDEX IF NOT EXISTS ydtb_bookmarks_workspace_id_idx ON ydtb_bookmarks (workspace_id);\n"
	"\"\"\"\n"
	"down = \"DROP TABLE IF EXISTS ydtb_bookmarks;\"\n";

static int n_test;

static int check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++n_test, what);
	return ok;
}

/* The whole start-up pipeline in one call: connect (retrying while the
 * database starts), plan core first, apply in one transaction, verify.
 * Returns how many migrations ran, or -1 with the reason on stderr. */
static int bring_up(struct dbreg_registry *reg, const char *url)
{
	struct dbreg_init_result res;
	struct dbreg_init_opts opts = {.wait_s = 10, .validated = true, .lock_timeout_s = 10};
	int rc = dbreg_init_run(&res, reg, url, &opts);
	if (rc != 0)
		fprintf(stderr, "init: %s%s%s\n", res.errmsg, res.hint ? "; " : "", res.hint ? res.hint : "");
	/* A refused plan (DBREG_EINVALID) says why in the errors it added to
	 * the registry's findings (the registry validated without one): each
	 * names the package, the migration and what to do. */
	const struct dbreg_diag_list *diags = dbreg_registry_diags(reg);
	for (size_t i = 0; rc == DBREG_EINVALID && i < diags->len; i++)
		if (diags->items[i].severity == DBREG_SEV_ERROR)
			dbreg_diag_print(stderr, &diags->items[i], 0);
	int ran = rc == 0 ? (int)res.apply.applied : -1;
	dbreg_init_result_dispose(&res);
	return ran;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/dbreg-embed-XXXXXX", path[64], tmp_url[80];
	const char *url = argc > 1 ? argv[1] : NULL;
	struct dbreg_registry *reg = NULL;
	if (!url) {
		if (!mkdtemp(dir))
			return 1;
		snprintf(path, sizeof(path), "%s/app.db", dir);
		snprintf(tmp_url, sizeof(tmp_url), "sqlite:%s", path);
		url = tmp_url;
	}
	int failed = 0;

	printf("1..5\n");
	if (dbreg_registry_new(&reg) != 0)
		return 1;
	failed += !check(dbreg_registry_add_string(reg, "core (in memory)", NULL, core_manifest,
						   strlen(core_manifest)) == 0 &&
			 dbreg_registry_add_string(reg, "bookmarks (in memory)", NULL, plugin_manifest,
						   strlen(plugin_manifest)) == 0,
		 "register two manifests from memory");

	struct dbreg_validate_opts vopts = {.skip_sql = false};
	int vrc = dbreg_registry_validate(reg, &vopts);
	const struct dbreg_diag_list *diags = dbreg_registry_diags(reg);
	for (size_t i = 0; i < diags->len; i++)
		dbreg_diag_print(stderr, &diags->items[i], 0);
	failed += !check(vrc == 0 && diags->errors == 0, "the registry validates without error");
	failed += !check(dbreg_registry_package_count(reg) == 2 &&
				 strcmp(dbreg_registry_package_name(reg, 0), "@app/bookmarks") == 0,
			 "both packages are registered, listed by name");

	int first = bring_up(reg, url);
	failed += !check(first == 2, "init applies both migrations and verifies");
	/* After a failure the second run would only say it again. */
	failed += !check(first >= 0 && bring_up(reg, url) == 0, "a second init is a no-op");

	dbreg_registry_free(reg);
	if (url == tmp_url) {
		unlink(path);
		rmdir(dir);
	}
	return failed ? 1 : 0;
}
