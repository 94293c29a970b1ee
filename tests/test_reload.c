#define _GNU_SOURCE
/* Hot reload and watching through the public API: a project in a temporary
 * folder, edited the way an editor saves (a new file renamed over the old),
 * reloaded with dbreg_registry_reload; every reload's findings must equal
 * those of a full load and validation of the same files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dbreg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char core_toml[] =
	"[package]\nname = \"@t/core\"\nversion = \"1.0.0\"\nkind = \"core\"\n"
	"[tables.ydtb_workspaces]\ndescription = \"w\"\n"
	"[tables.ydtb_workspaces.columns]\nid = { type = \"text\", primary_key = true }\n"
	"[[migrations]]\nid = \"0001_ws\"\nversion = \"1.0.0\"\n"
	"up = \"CREATE TABLE IF NOT EXISTS ydtb_workspaces (id text PRIMARY KEY);\"\n"
	"down = \"DROP TABLE IF EXISTS ydtb_workspaces;\"\n";

/* A package @t/NAME with one table whose columns are `cols` (TOML lines)
 * and whose migrations are `migs` (TOML). */
static char *pkg(const char *name, const char *cols, const char *migs)
{
	char *s = NULL;
	assert_true(asprintf(&s,
			     "[package]\nname = \"@t/%s\"\nversion = \"1.0.0\"\n"
			     "[tables.ydtb_%s_items]\ndescription = \"items\"\nworkspace_scoped = true\n"
			     "[tables.ydtb_%s_items.columns]\nid = { type = \"text\", primary_key = true }\n%s\n%s",
			     name, name, name, cols, migs) > 0);
	return s;
}

static char *mig(const char *name, const char *id, const char *sql)
{
	char *s = NULL;
	assert_true(asprintf(&s, "[[migrations]]\nid = \"%s\"\nversion = \"1.0.0\"\nup = \"\"\"\n%s\n\"\"\"\n"
				 "down = \"DROP TABLE IF EXISTS ydtb_%s_items;\"\n",
			     id, sql, name) > 0);
	return s;
}

#define ITEMS(name, extra)                                                                          \
	"CREATE TABLE IF NOT EXISTS ydtb_" name "_items (id text PRIMARY KEY, workspace_id text NOT NULL " \
	"REFERENCES ydtb_workspaces(id) ON DELETE CASCADE" extra ");\n"                                    \
	"CREATE INDEX IF NOT EXISTS ydtb_" name "_items_workspace_id_idx ON ydtb_" name "_items (workspace_id);"

struct fixture {
	char dir[64];
	struct dbreg_project *proj;
};

static void save(struct fixture *f, const char *name, const char *text)
{
	char path[256], tmp[256];
	snprintf(path, sizeof path, "%s/tomls/%s", f->dir, name);
	snprintf(tmp, sizeof tmp, "%s/tomls/.%s.tmp", f->dir, name);
	FILE *fp = fopen(tmp, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(rename(tmp, path), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof f->dir, "/tmp/dbreg-reload-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char sub[96];
	snprintf(sub, sizeof sub, "%s/tomls", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	save(f, "core.toml", core_toml);
	char *m1 = mig("a", "0001", ITEMS("a", ""));
	char *a = pkg("a", "", m1);
	save(f, "a.toml", a);
	free(a);
	free(m1);
	char *m2 = mig("b", "0001", ITEMS("b", ""));
	char *b = pkg("b", "", m2);
	save(f, "b.toml", b);
	free(b);
	free(m2);
	assert_int_equal(dbreg_project_open(&f->proj, f->dir, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	dbreg_project_free(f->proj);
	free(f);
	return 0;
}

/* Findings as one text, for comparing a reload with a full validation. */
static char *diags_text(struct dbreg_registry *reg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	for (size_t i = 0; i < l->len; i++)
		dbreg_diag_print(fp, &l->items[i], 0);
	fclose(fp);
	return buf;
}

static void assert_same_as_full(struct fixture *f, struct dbreg_registry *reg)
{
	struct dbreg_registry *full = NULL;
	assert_int_equal(dbreg_registry_new(&full), 0);
	assert_int_equal(dbreg_registry_load_project(full, f->proj), 0);
	dbreg_registry_validate(full, NULL);
	char *a = diags_text(reg), *b = diags_text(full);
	assert_string_equal(a, b);
	assert_int_equal(dbreg_registry_package_count(reg), dbreg_registry_package_count(full));
	free(a);
	free(b);
	dbreg_registry_free(full);
}

static const struct dbreg_change *find_change(const struct dbreg_changes *c, enum dbreg_change_what what,
					      enum dbreg_change_kind kind, const char *name)
{
	for (size_t i = 0; i < c->len; i++)
		if (c->items[i].what == what && c->items[i].kind == kind && c->items[i].name &&
		    strcmp(c->items[i].name, name) == 0)
			return &c->items[i];
	return NULL;
}

/* Reloads (knowing, like a watcher, which file changed, or not) and checks
 * the result against a full validation. */
static struct dbreg_registry *reload(struct fixture *f, struct dbreg_registry *old, const char *changed,
				     struct dbreg_changes *ch)
{
	char path[256];
	const char *paths[1] = {path};
	snprintf(path, sizeof path, "%s/tomls/%s", f->dir, changed ? changed : "");
	struct dbreg_reload_opts o = {.changed = changed ? paths : NULL, .n_changed = changed ? 1 : 0};
	struct dbreg_registry *next = NULL;
	int rc = dbreg_registry_reload(&next, old, f->proj, &o, ch);
	assert_true(rc == 0 || rc == DBREG_EINVALID);
	assert_non_null(next);
	assert_same_as_full(f, next);
	dbreg_registry_free(old);
	return next;
}

static void test_reload__an_edit_rereads_and_rechecks_one_package(void **state)
{
	struct fixture *f = *state;
	struct dbreg_changes ch = DBREG_CHANGES_INIT;
	struct dbreg_registry *reg = reload(f, NULL, NULL, &ch);
	assert_int_equal(ch.loaded, 3);
	assert_int_equal(ch.rechecked, 3);
	dbreg_changes_dispose(&ch);

	/* Saved without a change: nothing read again, nothing changed. */
	reg = reload(f, reg, NULL, &ch);
	assert_int_equal(ch.len, 0);
	assert_int_equal(ch.loaded, 0);
	assert_int_equal(ch.rechecked, 0);
	dbreg_changes_dispose(&ch);

	/* A column and a migration added to @t/a: only it is read and checked. */
	char *m1 = mig("a", "0001", ITEMS("a", ""));
	char *m2 = NULL;
	assert_true(asprintf(&m2, "%s[[migrations]]\nid = \"0002_title\"\nversion = \"1.0.0\"\n"
				  "up = \"ALTER TABLE ydtb_a_items ADD COLUMN IF NOT EXISTS title text;\"\n",
			     m1) > 0);
	char *a = pkg("a", "title = { type = \"text\" }", m2);
	save(f, "a.toml", a);
	reg = reload(f, reg, "a.toml", &ch);
	assert_int_equal(ch.loaded, 1);
	assert_int_equal(ch.rechecked, 1);
	assert_non_null(find_change(&ch, DBREG_CHANGE_COLUMN, DBREG_CHANGE_ADDED, "title"));
	assert_non_null(find_change(&ch, DBREG_CHANGE_MIGRATION, DBREG_CHANGE_ADDED, "0002_title"));
	assert_null(find_change(&ch, DBREG_CHANGE_MIGRATION, DBREG_CHANGE_ADDED, "0001"));
	assert_int_equal(ch.n_files, 1);
	dbreg_changes_dispose(&ch);

	/* The same edit found without being told which file. */
	char *a2 = pkg("a", "title = { type = \"integer\" }", m2);
	save(f, "a.toml", a2);
	reg = reload(f, reg, NULL, &ch);
	const struct dbreg_change *c = find_change(&ch, DBREG_CHANGE_COLUMN, DBREG_CHANGE_CHANGED, "title");
	assert_non_null(c);
	assert_string_equal(c->detail, "type text -> integer");
	assert_int_equal(ch.loaded, 1);
	dbreg_changes_dispose(&ch);

	/* Broken TOML: the file's DBR001 at its position, and only it (the
	 * package's SQL error above was about a text that is gone); the
	 * package as it last loaded stands in, so nothing of it reads as
	 * removed. Unlike a full load, which has no package to stand in. */
	save(f, "a.toml", "[package\nname = ");
	char apath[256];
	const char *achanged[1] = {apath};
	snprintf(apath, sizeof apath, "%s/tomls/a.toml", f->dir);
	struct dbreg_registry *next = NULL;
	struct dbreg_reload_opts ao = {.changed = achanged, .n_changed = 1};
	assert_int_equal(dbreg_registry_reload(&next, reg, f->proj, &ao, &ch), DBREG_EINVALID);
	dbreg_registry_free(reg);
	reg = next;
	const struct dbreg_diag_list *dl = dbreg_registry_diags(reg);
	size_t a_errors = 0;
	for (size_t i = 0; i < dl->len; i++)
		if (strstr(dl->items[i].file ? dl->items[i].file : "", "a.toml") && dl->items[i].severity == DBREG_SEV_ERROR) {
			assert_string_equal(dl->items[i].code, "DBR001");
			assert_int_equal(dl->items[i].line, 1);
			assert_non_null(dl->items[i].hint);
			a_errors++;
		}
	assert_int_equal(a_errors, 1);
	assert_true(dbreg_registry_package_find(reg, "@t/a") < dbreg_registry_package_count(reg));
	assert_int_equal(ch.len, 1);
	assert_int_equal(ch.stand_ins, 1);
	assert_non_null(find_change(&ch, DBREG_CHANGE_FILE, DBREG_CHANGE_CHANGED, "tomls/a.toml"));
	dbreg_changes_dispose(&ch);

	/* Fixed as it was: nothing but the file changed since the last good load. */
	save(f, "a.toml", a2);
	reg = reload(f, reg, "a.toml", &ch);
	assert_string_not_equal(dbreg_registry_diags(reg)->items[0].code, "DBR001");
	assert_int_equal(ch.stand_ins, 0);
	assert_int_equal(ch.len, 1);
	assert_int_equal(ch.n_files, 1);
	dbreg_changes_dispose(&ch);

	/* A file removed. */
	char path[256];
	snprintf(path, sizeof path, "%s/tomls/b.toml", f->dir);
	assert_int_equal(unlink(path), 0);
	reg = reload(f, reg, "b.toml", &ch);
	assert_non_null(find_change(&ch, DBREG_CHANGE_FILE, DBREG_CHANGE_REMOVED, "tomls/b.toml"));
	assert_non_null(find_change(&ch, DBREG_CHANGE_TABLE, DBREG_CHANGE_REMOVED, "ydtb_b_items"));
	dbreg_changes_dispose(&ch);

	free(a);
	free(a2);
	free(m1);
	free(m2);
	dbreg_registry_free(reg);
}

static void test_reload__a_table_renamed_rechecks_who_names_it(void **state)
{
	struct fixture *f = *state;
	struct dbreg_changes ch = DBREG_CHANGES_INIT;
	struct dbreg_registry *reg = reload(f, NULL, NULL, &ch);
	dbreg_changes_dispose(&ch);
	/* @t/b's migration now touches @t/a's table: DBR046 belongs to b, and
	 * must go when a's declaration changes under it. */
	char *mb = mig("b", "0001", ITEMS("b", "") "\nCREATE INDEX IF NOT EXISTS ydtb_b_x ON ydtb_a_items (id);");
	char *b = pkg("b", "", mb);
	save(f, "b.toml", b);
	reg = reload(f, reg, "b.toml", &ch);
	assert_true(dbreg_registry_diags(reg)->errors > 0);
	dbreg_changes_dispose(&ch);
	/* @t/a renames its table: b, which names the old name, is checked again. */
	char *ma = mig("a2", "0001", ITEMS("a2", ""));
	char *a = NULL;
	assert_true(asprintf(&a, "[package]\nname = \"@t/a\"\nversion = \"1.0.0\"\n"
				 "[tables.ydtb_a2_items]\ndescription = \"items\"\nworkspace_scoped = true\n"
				 "[tables.ydtb_a2_items.columns]\nid = { type = \"text\", primary_key = true }\n%s",
			     ma) > 0);
	save(f, "a.toml", a);
	reg = reload(f, reg, "a.toml", &ch);
	assert_true(ch.rechecked >= 2);
	dbreg_changes_dispose(&ch);
	free(mb);
	free(b);
	free(ma);
	free(a);
	dbreg_registry_free(reg);
}

static void test_watch__a_rename_over_a_manifest_is_reported_once(void **state)
{
	struct fixture *f = *state;
	struct dbreg_watch *w = NULL;
	char err[256];
	assert_int_equal(dbreg_watch_open(&w, f->proj, err, sizeof err), 0);
	char **paths = NULL;
	size_t n = 0;
	/* Nothing happens: the wait ends at its timeout. */
	assert_int_equal(dbreg_watch_wait(w, -1, 50, 20, &paths, &n), 0);
	save(f, "core.toml", core_toml);
	save(f, "core.toml", core_toml);
	assert_int_equal(dbreg_watch_wait(w, -1, 5000, 50, &paths, &n), 1);
	char want[256];
	snprintf(want, sizeof want, "%s/tomls/core.toml", f->dir);
	bool seen = false;
	for (size_t i = 0; i < n; i++) {
		seen |= strcmp(paths[i], want) == 0;
		free(paths[i]);
	}
	free(paths);
	assert_true(seen);
	/* A folder created later is watched too, and its files reported. */
	char sub[128], file[160];
	snprintf(sub, sizeof sub, "%s/tomls/more", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(file, sizeof file, "%s/c.toml", sub);
	FILE *fp = fopen(file, "w");
	fputs("x = 1\n", fp);
	fclose(fp);
	assert_int_equal(dbreg_watch_wait(w, -1, 5000, 50, &paths, &n), 1);
	seen = false;
	for (size_t i = 0; i < n; i++) {
		seen |= strcmp(paths[i], file) == 0;
		free(paths[i]);
	}
	free(paths);
	assert_true(seen);
	dbreg_watch_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reload__an_edit_rereads_and_rechecks_one_package, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload__a_table_renamed_rechecks_who_names_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch__a_rename_over_a_manifest_is_reported_once, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
