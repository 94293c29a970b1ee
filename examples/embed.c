/* An application embedding libdbreg: at start-up it registers its
 * packages' manifests from memory (no files, no project folder), validates
 * them, and brings its SQLite database to the declared state: the same
 * pipeline as `dbreg init`, through the public API alone.
 *
 *   example-embed [DATABASE-URL]    (e.g. sqlite:app.db, postgres://...)
 *
 * Without a URL it uses a new SQLite file in a temporary folder, removed at
 * the end, so each run starts from an empty database.
 * Prints TAP so the test suite runs it as a test of the public API. */
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

/* Validates, plans against the target's history and applies; returns how
 * many migrations ran, or -1. */
static int bring_up(struct dbreg_registry *reg, const char *url)
{
	char err[512];
	struct dbreg_conn *conn = NULL;
	struct dbreg_applied *history = NULL;
	size_t n_history = 0;
	struct dbreg_plan *plan = NULL;
	struct dbreg_apply_result res = {0};
	int ran = -1;

	if (dbreg_target_connect(&conn, url, err, sizeof(err)) != 0) {
		fprintf(stderr, "connect: %s\n", err);
		goto out;
	}
	if (dbreg_target_history(conn, &history, &n_history) != 0)
		goto out;
	struct dbreg_plan_opts popts = {
		.dialect = dbreg_target_conn_dialect(conn),
		.history = history,
		.n_history = n_history,
	};
	if (dbreg_plan_build(&plan, reg, &popts) != 0)
		goto out;
	struct dbreg_apply_opts aopts = {.lock_timeout_s = 10};
	if (dbreg_apply_run(&res, conn, plan, &aopts) != 0) {
		fprintf(stderr, "apply: %s\n", res.errmsg);
		goto out;
	}
	struct dbreg_verify_result vr = DBREG_VERIFY_RESULT_INIT;
	int vrc = dbreg_verify_run(&vr, conn, reg, err, sizeof(err));
	dbreg_verify_result_dispose(&vr);
	if (vrc == 0)
		ran = (int)res.applied;
out:
	dbreg_apply_result_dispose(&res);
	dbreg_plan_free(plan);
	dbreg_applied_free(history, n_history);
	dbreg_target_close(conn);
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

	failed += !check(bring_up(reg, url) == 2, "init applies both migrations and verifies");
	failed += !check(bring_up(reg, url) == 0, "a second init is a no-op");

	dbreg_registry_free(reg);
	if (url == tmp_url) {
		unlink(path);
		rmdir(dir);
	}
	return failed ? 1 : 0;
}
