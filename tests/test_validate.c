/* Declaration validation through the public API only: small manifests fed
 * from strings (dbreg_registry_add_string), validated without the SQL
 * analysis, each test asserting a code at its line and column, and its
 * hint. The real manifests (folder in argv[1]) must validate cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dbreg.h"

static const char *tomls_dir = "tomls";

/* A minimal valid core package. */
#define CORE_TOML                                                                        \
	"[package]\n"                                                                     \
	"name = \"@ydtb/core\"\n"                                                         \
	"version = \"1.0.0\"\n"                                                           \
	"kind = \"core\"\n"                                                               \
	"\n"                                                                              \
	"[tables.ydtb_workspaces]\n"                                                      \
	"description = \"Tenants\"\n"                                                     \
	"\n"                                                                              \
	"[tables.ydtb_workspaces.columns]\n"                                              \
	"id = { type = \"text\", primary_key = true }\n"                                  \
	"name = { type = \"text\", not_null = true }\n"
static const char core_toml[] = CORE_TOML;
/* And the ydtb_tools that [[tools]] are written into. */
static const char core_tools_toml[] = CORE_TOML
	"[tables.ydtb_tools]\ndescription = \"Tools\"\n[tables.ydtb_tools.columns]\n"
	"id = { type = \"text\", primary_key = true }\nname = { type = \"text\", not_null = true }\n"
	"package_name = { type = \"text\", not_null = true }\n";

/* ---- helpers ----------------------------------------------------------- */

#define DBREG_PASS(reg, expr)                                                            \
	do {                                                                             \
		int rc_ = (expr);                                                        \
		if (rc_ != 0)                                                            \
			print_error("%s failed (%d): %s\n", #expr, rc_,                 \
				    dbreg_registry_errmsg(reg));                         \
		assert_int_equal(rc_, 0);                                                \
	} while (0)

static void dump(const struct dbreg_diag_list *list)
{
	for (size_t i = 0; i < list->len; i++)
		dbreg_diag_print(stderr, &list->items[i], 0);
}

/* Validates the manifests given (NULL-terminated pairs of name, text),
 * without SQL analysis. */
static struct dbreg_registry *validate_texts(const char *const *named)
{
	struct dbreg_registry *reg = NULL;
	assert_int_equal(dbreg_registry_new(&reg), 0);
	for (size_t i = 0; named[i]; i += 2)
		DBREG_PASS(reg, dbreg_registry_add_string(reg, named[i], NULL, named[i + 1],
							  strlen(named[i + 1])));
	struct dbreg_validate_opts opts = { .skip_sql = true };
	int rc = dbreg_registry_validate(reg, &opts);
	assert_true(rc == 0 || rc == DBREG_EINVALID);
	return reg;
}

/* The core package plus one manifest named pkg.toml. */
static struct dbreg_registry *validate_pkg(const char *text)
{
	const char *named[] = { "core.toml", core_toml, "pkg.toml", text, NULL };
	return validate_texts(named);
}

/* The diagnostic with that code at that place, or a failure listing all. */
static const struct dbreg_diag *find_diag(const struct dbreg_diag_list *list, const char *code,
					  unsigned line, unsigned col)
{
	for (size_t i = 0; i < list->len; i++) {
		const struct dbreg_diag *d = &list->items[i];
		if (strcmp(d->code, code) == 0 && d->line == line && d->column == col)
			return d;
	}
	print_error("expected %s at %u:%u among:\n", code, line, col);
	dump(list);
	fail();
	return NULL;
}

#define assert_diag(list, code, line, col) find_diag((list), (code), (line), (col))

/* The diagnostic's hint contains `part`. */
static void assert_hint(const struct dbreg_diag *d, const char *part)
{
	if (d->hint == NULL || strstr(d->hint, part) == NULL) {
		print_error("%s: hint \"%s\" lacks \"%s\"\n", d->code, d->hint ? d->hint : "(none)", part);
		fail();
	}
}

/* Exactly `n` diagnostics in all (so a test sees no stray finding). */
static void assert_count(const struct dbreg_diag_list *list, size_t n)
{
	if (list->len != n) {
		print_error("expected %zu diagnostics, got %zu:\n", n, list->len);
		dump(list);
	}
	assert_int_equal(list->len, n);
}

static size_t count_code(const struct dbreg_diag_list *list, const char *code)
{
	size_t n = 0;
	for (size_t i = 0; i < list->len; i++)
		n += strcmp(list->items[i].code, code) == 0;
	return n;
}

/* A package with one good table: the base most tests vary. */
#define PKG_HEAD "[package]\nname = \"@ydtb/notes\"\nversion = \"1.0.0\"\n"

/* ---- a clean package ----------------------------------------------------- */

static void test_validate__clean_package_has_no_diagnostics(void **state)
{
	(void)state;
	const char *text =
		PKG_HEAD
		"[dependencies]\n"
		"\"@ydtb/core\" = \"^1.0.0\"\n"
		"[tables.ydtb_notes]\n"
		"description = \"Notes\"\n"
		"workspace_scoped = true\n"
		"[tables.ydtb_notes.columns]\n"
		"id = { type = \"text\", primary_key = true }\n"
		"title = { type = \"varchar(200)\", not_null = true, default = \"\" }\n"
		"[[tools]]\n"
		"id = \"notes\"\n"
		"name = \"Notes\"\n"
		"[[migrations]]\n"
		"id = \"0001_init\"\n"
		"version = \"1.0.0\"\n"
		"up = \"CREATE TABLE IF NOT EXISTS ydtb_notes (id text);\"\n";
	/* The core has no ydtb_tools (manifest.md requires only
	 * ydtb_workspaces): still no finding. */
	const char *named[] = { "core.toml", core_toml, "pkg.toml", text, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	assert_count(dbreg_registry_diags(reg), 0);
	assert_int_equal(dbreg_registry_package_count(reg), 2);
	assert_string_equal(dbreg_registry_package_name(reg, 0), "@ydtb/core");
	assert_string_equal(dbreg_registry_package_name(reg, 1), "@ydtb/notes");
	assert_string_equal(dbreg_registry_package_version(reg, 1), "1.0.0");
	dbreg_registry_free(reg);
}

/* ---- DBR001 .. DBR015 ---------------------------------------------------- */

/* Validating again works the findings out again, it does not add them a
 * second time (the audit: every finding was reported twice); a file
 * added after a validation drops the validation's findings, and the next
 * validation reports the load's finding once and its own once. */
static void test_validate__twice_reports_each_finding_once(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg("[package]\nname = \"@t/x\"\nversion = \"1.0.0\"\n"
						  "[tables.notes]\ndescription = \"n\"\n"
						  "[tables.notes.columns]\nid = { type = \"text\", primary_key = true }\n");
	size_t len = dbreg_registry_diags(reg)->len, errors = dbreg_registry_diags(reg)->errors;
	assert_true(errors > 0);
	struct dbreg_validate_opts opts = { .skip_sql = true };
	assert_int_equal(dbreg_registry_validate(reg, &opts), DBREG_EINVALID);
	assert_int_equal(dbreg_registry_diags(reg)->len, len);
	assert_int_equal(dbreg_registry_diags(reg)->errors, errors);
	const char bad[] = "[package\n";
	DBREG_PASS(reg, dbreg_registry_add_string(reg, "bad.toml", NULL, bad, strlen(bad)));
	assert_int_equal(dbreg_registry_diags(reg)->len, 1);
	assert_int_equal(dbreg_registry_validate(reg, &opts), DBREG_EINVALID);
	assert_int_equal(dbreg_registry_diags(reg)->len, len + 1);
	assert_int_equal(dbreg_registry_diags(reg)->errors, errors + 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr001_toml_syntax_error(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(PKG_HEAD "kind = \n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR001", 4, 8);
	assert_string_equal(d->file, "pkg.toml");
	assert_count(l, 1); /* the package is not registered at all */
	assert_int_equal(dbreg_registry_package_count(reg), 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr010_missing_package_section(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg("[tables.ydtb_x]\n");
	const struct dbreg_diag *d = assert_diag(dbreg_registry_diags(reg), "DBR010", 1, 1);
	assert_hint(d, "[package]");
	dbreg_registry_free(reg);
}

static void test_validate__dbr010_invalid_name(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg("[package]\nname = \"@YDTB/Notes\"\nversion = \"1.0.0\"\n");
	const struct dbreg_diag *d = assert_diag(dbreg_registry_diags(reg), "DBR010", 2, 8);
	assert_hint(d, "@ydtb/notes");
	dbreg_registry_free(reg);
}

static void test_validate__dbr010_missing_name(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg("\n[package]\nversion = \"1.0.0\"\n");
	const struct dbreg_diag *d = assert_diag(dbreg_registry_diags(reg), "DBR010", 2, 1);
	assert_non_null(strstr(d->message, "name"));
	dbreg_registry_free(reg);
}

static void test_validate__dbr011_bad_package_version(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg("[package]\nname = \"@ydtb/notes\"\nversion = \"1.0\"\n");
	const struct dbreg_diag *d = assert_diag(dbreg_registry_diags(reg), "DBR011", 3, 11);
	assert_hint(d, "1.0.0");
	assert_string_equal(d->package, "@ydtb/notes");
	dbreg_registry_free(reg);
}

static void test_validate__dbr012_duplicate_package(void **state)
{
	(void)state;
	const char *named[] = { "core.toml", core_toml, "a.toml", PKG_HEAD, "b.toml", PKG_HEAD, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR012", 2, 8);
	assert_string_equal(d->file, "b.toml");
	assert_non_null(strstr(d->message, "a.toml"));
	assert_int_equal(count_code(l, "DBR012"), 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr013_unknown_key_with_nearest(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "descripton = \"x\"\n"
		"[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
		"[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_kye = true }\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_hint(assert_diag(l, "DBR013", 4, 1), "\"description\"");
	assert_hint(assert_diag(l, "DBR013", 9, 23), "\"primary_key\"");
	dbreg_registry_free(reg);
}

/* A key holding a NUL is none of the known keys, even when its text up to
 * the NUL is one: unknown (DBR013), and a required key written so is
 * still missing; a required key of the wrong type is not missing (DBR014
 * only). The manifest reader finds keys by index (manifest.c). */
static void test_validate__keys_holding_nul_and_wrong_types(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "\"kind\\u0000x\" = \"core\"\n"                               /* 4 */
		"[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"  /* 5-7 */
		"[tables.ydtb_notes.columns]\n"                                            /* 8 */
		"id = { \"type\\u0000\" = \"text\", primary_key = true }\n"              /* 9 */
		"n = { type = 5 }\n");                                                    /* 10 */
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_diag(l, "DBR013", 4, 1);
	assert_diag(l, "DBR013", 9, 8);
	assert_diag(l, "DBR026", 9, 6);
	assert_diag(l, "DBR014", 10, 14);
	assert_int_equal(count_code(l, "DBR026"), 1);
	assert_int_equal(count_code(l, "DBR015"), 0);   /* the NUL key did not make it a second core */
	dbreg_registry_free(reg);
}

static void test_validate__dbr013_unknown_section(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(PKG_HEAD "[tabels.ydtb_notes]\n");
	assert_hint(assert_diag(dbreg_registry_diags(reg), "DBR013", 4, 2), "\"tables\"");
	dbreg_registry_free(reg);
}

static void test_validate__dbr014_wrong_type(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = \"yes\"\n"
		"[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n");
	const struct dbreg_diag *d = assert_diag(dbreg_registry_diags(reg), "DBR014", 6, 20);
	assert_non_null(strstr(d->message, "boolean"));
	assert_string_equal(d->table, "ydtb_notes");
	dbreg_registry_free(reg);
}

static void test_validate__dbr014_bad_fk_action(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
		"[tables.ydtb_notes.columns]\n"
		"id = { type = \"text\", primary_key = true }\n"
		"w = { type = \"text\", references = \"ydtb_workspaces.id\", on_delete = \"cascad\" }\n");
	const struct dbreg_diag *d = assert_diag(dbreg_registry_diags(reg), "DBR014", 9, 69);
	assert_hint(d, "cascade");
	assert_string_equal(d->column_name, "w");
	dbreg_registry_free(reg);
}

/* manifest.md: [package] description is one line; a line break in it
 * (a multi-line string, an escaped \n) is refused at the key, and a
 * table's description may have several. */
static void test_validate__dbr014_package_description_of_two_lines(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "description = \"\"\"\nNotes\nand more\"\"\"\n"
		"[tables.ydtb_notes]\ndescription = \"Notes\\nof a workspace\"\nworkspace_scoped = true\n"
		"[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n");
	const struct dbreg_diag *d = assert_diag(dbreg_registry_diags(reg), "DBR014", 4, 1);
	assert_non_null(strstr(d->message, "one line"));
	assert_hint(d, "move the rest to a table description or README");
	assert_int_equal(dbreg_registry_diags(reg)->errors, 1);
	dbreg_registry_free(reg);
	reg = validate_pkg(PKG_HEAD "description = \"Notes\\r\"\n");
	assert_diag(dbreg_registry_diags(reg), "DBR014", 4, 1);
	dbreg_registry_free(reg);
}

/* TOML allows \u0000 in a string; C strings, SQL text and Markdown end
 * there: the rest of a default or description was silently cut off. */
static void test_validate__dbr014_a_nul_in_a_string(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
		"[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n"
		"z = { type = \"text\", default = \"a\\u0000b\" }\n");
	const struct dbreg_diag *d = assert_diag(dbreg_registry_diags(reg), "DBR014", 9, 32);
	assert_non_null(strstr(d->message, "NUL character"));
	assert_string_equal(d->column_name, "z");
	assert_int_equal(dbreg_registry_diags(reg)->errors, 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr015_no_core(void **state)
{
	(void)state;
	const char *named[] = { "pkg.toml", PKG_HEAD, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	/* manifest.md: every diagnostic names a file; no place is wrong, so
	 * the [package] of the first manifest, which needs the core. */
	const struct dbreg_diag *d = assert_diag(dbreg_registry_diags(reg), "DBR015", 1, 1);
	assert_non_null(d->file);
	assert_string_equal(d->file, "pkg.toml");
	assert_hint(d, "@ydtb/core");
	dbreg_registry_free(reg);
}

static void test_validate__dbr015_two_cores(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(PKG_HEAD "kind = \"core\"\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	/* @ydtb/core sorts first: the second one is @ydtb/notes. */
	const struct dbreg_diag *d = assert_diag(l, "DBR015", 4, 8);
	assert_string_equal(d->file, "pkg.toml");
	assert_hint(d, "kind");
	dbreg_registry_free(reg);
}

static void test_validate__dbr015_core_without_workspaces(void **state)
{
	(void)state;
	const char *named[] = { "core.toml", "[package]\nname = \"@ydtb/core\"\nversion = \"1.0.0\"\nkind = \"core\"\n",
				NULL };
	struct dbreg_registry *reg = validate_texts(named);
	assert_hint(assert_diag(dbreg_registry_diags(reg), "DBR015", 1, 1), "ydtb_workspaces");
	dbreg_registry_free(reg);
}

/* ---- DBR020 .. DBR028 ---------------------------------------------------- */

static void test_validate__dbr020_prefix(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
		"[tables.notes.columns]\nid = { type = \"text\", primary_key = true }\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR020", 4, 9);
	assert_hint(d, "rename it \"ydtb_notes\"");
	assert_string_equal(d->table, "notes");
	assert_count(l, 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr020_not_for_core(void **state)
{
	(void)state;
	/* The core's own tables (user, session, ...) need no prefix. */
	const char *core2 = "[package]\nname = \"@ydtb/core\"\nversion = \"1.0.0\"\nkind = \"core\"\n"
			    "[tables.ydtb_workspaces.columns]\nid = { type = \"text\", primary_key = true }\n"
			    "[tables.user.columns]\nid = { type = \"text\", primary_key = true }\n";
	const char *named[] = { "core.toml", core2, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	assert_count(dbreg_registry_diags(reg), 0);
	dbreg_registry_free(reg);
}

static void test_validate__dbr021_no_workspace_id(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\n"
		"[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_hint(assert_diag(l, "DBR021", 4, 9), "workspace_scoped = true");
	assert_count(l, 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr022_dbr023_workspace_id_declared_badly(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\n"
		"[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n"
		"workspace_id = { type = \"text\" }\n"
		"[tables.ydtb_notes.indexes]\nydtb_notes_ws_idx = { columns = [\"workspace_id\"] }\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_hint(assert_diag(l, "DBR022", 8, 1), "ydtb_workspaces.id");
	assert_hint(assert_diag(l, "DBR023", 8, 1), "not_null = true");
	assert_count(l, 2);
	dbreg_registry_free(reg);
}

static void test_validate__dbr022_wrong_reference(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\n"
		"[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n"
		"workspace_id = { type = \"text\", not_null = true, references = \"ydtb_workspaces.name\" }\n"
		"[tables.ydtb_notes.indexes]\nydtb_notes_ws_idx = { columns = [\"workspace_id\"] }\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_diag(l, "DBR022", 8, 63);
	assert_count(l, 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr024_table_in_two_packages(void **state)
{
	(void)state;
	const char *other = "[package]\nname = \"@ydtb/other\"\nversion = \"1.0.0\"\n"
			    "[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
			    "[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n";
	const char *mine = PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
				    "[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n";
	const char *named[] = { "core.toml", core_toml, "notes.toml", mine, "other.toml", other, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	/* notes.toml is read before other.toml: other's table is the second. */
	const struct dbreg_diag *d = assert_diag(l, "DBR024", 4, 9);
	assert_string_equal(d->file, "other.toml");
	assert_non_null(strstr(d->message, "@ydtb/notes"));
	assert_count(l, 1);
	dbreg_registry_free(reg);

	/* By the files, not the names: @ydtb/other in a.toml is read first,
	 * so @ydtb/notes in z.toml is the one to blame (it sorts first). */
	const char *files[] = { "core.toml", core_toml, "z.toml", mine, "a.toml", other, NULL };
	reg = validate_texts(files);
	l = dbreg_registry_diags(reg);
	d = assert_diag(l, "DBR024", 4, 9);
	assert_string_equal(d->file, "z.toml");
	assert_non_null(strstr(d->message, "already declared by package \"@ydtb/other\" (a.toml)"));
	assert_count(l, 1);
	dbreg_registry_free(reg);
}

/* A core table declared again by a package whose name sorts before the
 * core's: the package is blamed, not the core. */
static void test_validate__dbr024_a_core_table_in_a_package(void **state)
{
	(void)state;
	const char *mine = "[package]\nname = \"@a/ws\"\nversion = \"1.0.0\"\n"
			   "[tables.ydtb_workspaces]\ndescription = \"Mine\"\n"
			   "[tables.ydtb_workspaces.columns]\nid = { type = \"text\", primary_key = true }\n"
			   "workspace_id = { type = \"text\", not_null = true, references = \"ydtb_workspaces.id\" }\n"
			   "[tables.ydtb_workspaces.indexes]\nydtb_ws_ws = { columns = [\"workspace_id\"] }\n";
	const char *named[] = { "core.toml", core_toml, "a.toml", mine, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR024", 4, 9);
	assert_string_equal(d->file, "a.toml");
	assert_non_null(strstr(d->message, "@ydtb/core"));
	assert_int_equal(count_code(l, "DBR024"), 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr025_invalid_identifiers(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.ydtb_Notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
		"[tables.ydtb_Notes.columns]\nid = { type = \"text\", primary_key = true }\n"
		"\"bad-name\" = { type = \"text\" }\n"
		"[tables.ydtb_Notes.indexes]\n"
		"ydtb_notes_this_index_name_is_far_too_long_for_postgres_identifiers = { columns = [\"id\"] }\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_hint(assert_diag(l, "DBR025", 4, 9), "rename it \"ydtb_notes\"");
	assert_hint(assert_diag(l, "DBR025", 9, 1), "rename it \"bad_name\"");
	assert_diag(l, "DBR025", 11, 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr025_applies_to_core(void **state)
{
	(void)state;
	const char *core2 = "[package]\nname = \"@ydtb/core\"\nversion = \"1.0.0\"\nkind = \"core\"\n"
			    "[tables.ydtb_workspaces.columns]\nid = { type = \"text\", primary_key = true }\n"
			    "Slug = { type = \"text\" }\n";
	const char *named[] = { "core.toml", core2, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	assert_hint(assert_diag(dbreg_registry_diags(reg), "DBR025", 7, 1), "\"slug\"");
	dbreg_registry_free(reg);
}

static void test_validate__dbr026_unknown_type(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
		"[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n"
		"n = { type = \"integr\" }\n"
		"b = { type = \"bool\" }\n"
		"v = { type = \"varchar(1,2)\" }\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_hint(assert_diag(l, "DBR026", 9, 14), "\"integer\"");
	assert_hint(assert_diag(l, "DBR026", 10, 14), "\"boolean\"");
	assert_hint(assert_diag(l, "DBR026", 11, 14), "\"varchar\"");
	assert_count(l, 3);
	dbreg_registry_free(reg);
}

static void test_validate__dbr027_unknown_table_and_column(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
		"[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n"
		"a = { type = \"text\", references = \"ydtb_workspace.id\" }\n"
		"b = { type = \"text\", references = \"ydtb_workspaces.idd\" }\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_hint(assert_diag(l, "DBR027", 9, 35), "\"ydtb_workspaces.id\"");
	assert_hint(assert_diag(l, "DBR027", 10, 35), "\"ydtb_workspaces.id\"");
	assert_count(l, 2);
	dbreg_registry_free(reg);
}

static void test_validate__dbr027_package_not_depended_on(void **state)
{
	(void)state;
	const char *tags = "[package]\nname = \"@ydtb/tags\"\nversion = \"1.2.0\"\n"
			   "[tables.ydtb_tags]\ndescription = \"Tags\"\nworkspace_scoped = true\n"
			   "[tables.ydtb_tags.columns]\nid = { type = \"text\", primary_key = true }\n";
	const char *mine = PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
				    "[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n"
				    "tag = { type = \"text\", references = \"ydtb_tags.id\" }\n";
	const char *named[] = { "core.toml", core_toml, "tags.toml", tags, "notes.toml", mine, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR027", 9, 37);
	assert_hint(d, "\"@ydtb/tags\" = \"^1.2.0\"");
	assert_count(l, 1);
	dbreg_registry_free(reg);

	/* Through a package it depends on, the reference is fine. */
	const char *mid = "[package]\nname = \"@ydtb/mid\"\nversion = \"1.0.0\"\n"
			  "[dependencies]\n\"@ydtb/tags\" = \"^1.0.0\"\n";
	const char *mine2 = PKG_HEAD "[dependencies]\n\"@ydtb/mid\" = \"1.x\"\n"
				     "[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
				     "[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n"
				     "tag = { type = \"text\", references = \"ydtb_tags.id\" }\n";
	const char *named2[] = { "core.toml", core_toml, "tags.toml", tags, "mid.toml", mid,
				 "notes.toml", mine2, NULL };
	reg = validate_texts(named2);
	assert_count(dbreg_registry_diags(reg), 0);
	dbreg_registry_free(reg);
}

static void test_validate__dbr028_no_primary_key(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
		"[tables.ydtb_notes.columns]\ntitle = { type = \"text\" }\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_hint(assert_diag(l, "DBR028", 4, 9), "primary_key");
	assert_count(l, 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr028_composite_key_names_unknown_column(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\nworkspace_scoped = true\n"
		"primary_key = [\"workspace_id\", \"titel\"]\n"
		"[tables.ydtb_notes.columns]\ntitle = { type = \"text\" }\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	/* At the primary_key value, as a unique constraint's unknown column is. */
	assert_hint(assert_diag(l, "DBR028", 7, 15), "\"title\"");
	assert_count(l, 1);
	dbreg_registry_free(reg);
}

/* ---- DBR029 ---------------------------------------------------------------- */

/* A foreign key PostgreSQL cannot implement (text against integer) is found
 * offline; types of one family (integer and bigint, text and varchar) are
 * fine, and so is the implicit workspace_id of workspace_scoped. */
static void test_validate__dbr029_foreign_key_type_mismatch(void **state)
{
	(void)state;
	const char *core_int = "[package]\nname = \"@ydtb/core\"\nversion = \"1.0.0\"\nkind = \"core\"\n"
			       "[tables.ydtb_workspaces]\ndescription = \"Tenants\"\n"
			       "[tables.ydtb_workspaces.columns]\nid = { type = \"integer\", primary_key = true }\n"
			       "[tables.ydtb_kinds]\ndescription = \"Kinds\"\n"
			       "[tables.ydtb_kinds.columns]\ncode = { type = \"varchar(20)\", primary_key = true }\n";
	const char *pkg = PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\n"
			  "[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n"
			  "workspace_id = { type = \"text\", not_null = true, references = \"ydtb_workspaces.id\", on_delete = \"cascade\" }\n"
			  "big_ws = { type = \"bigint\", references = \"ydtb_workspaces.id\" }\n"
			  "kind = { type = \"text\", references = \"ydtb_kinds.code\" }\n"
			  "when = { type = \"timestamptz\", references = \"ydtb_kinds.code\" }\n";
	const char *named[] = { "core.toml", core_int, "pkg.toml", pkg, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR029", 8, 63);
	assert_string_equal(d->message,
			    "column \"workspace_id\" is text but references \"ydtb_workspaces.id\", which is integer");
	assert_string_equal(d->column_name, "workspace_id");
	assert_hint(d, "type = \"integer\"");
	assert_diag(l, "DBR029", 11, 45);
	assert_int_equal(count_code(l, "DBR029"), 2);
	dbreg_registry_free(reg);
}

/* ---- DBR030 .. DBR033 ---------------------------------------------------- */

static void test_validate__dbr030_unregistered_dependency(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(PKG_HEAD "[dependencies]\n\"@ydtb/cor\" = \"^1.0.0\"\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_hint(assert_diag(l, "DBR030", 5, 1), "\"@ydtb/core\"");
	assert_count(l, 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr031_range_not_satisfied(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(PKG_HEAD "[dependencies]\n\"@ydtb/core\" = \"^2.0.0\"\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR031", 5, 1);
	assert_non_null(strstr(d->message, "1.0.0"));
	assert_hint(d, "1.0.0");
	assert_count(l, 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr032_cycle_named_whole(void **state)
{
	(void)state;
	const char *x = "[package]\nname = \"@a/x\"\nversion = \"1.0.0\"\n[dependencies]\n\"@a/y\" = \"*\"\n";
	const char *y = "[package]\nname = \"@a/y\"\nversion = \"1.0.0\"\n[dependencies]\n\"@a/z\" = \"*\"\n";
	const char *z = "[package]\nname = \"@a/z\"\nversion = \"1.0.0\"\n[dependencies]\n\"@a/x\" = \"*\"\n";
	const char *named[] = { "core.toml", core_toml, "x.toml", x, "y.toml", y, "z.toml", z, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR032", 5, 1);
	assert_string_equal(d->file, "z.toml");
	/* Named from the package it is said at: z's dependency on x closes it. */
	assert_non_null(strstr(d->message, "circular dependency: @a/z -> @a/x -> @a/y -> @a/z"));
	assert_count(l, 1);
	dbreg_registry_free(reg);

	/* The core depending on a package closes a cycle through the implicit
	 * dependency of every package on the core: said at the core's own
	 * dependency, not at the other package's first line. */
	static const char core[] = CORE_TOML "[dependencies]\n\"@a/x\" = \"*\"\n";
	const char *plain = "[package]\nname = \"@a/x\"\nversion = \"1.0.0\"\n";
	const char *named2[] = { "core.toml", core, "x.toml", plain, NULL };
	reg = validate_texts(named2);
	l = dbreg_registry_diags(reg);
	d = NULL;
	for (size_t i = 0; i < l->len && !d; i++)
		if (strcmp(l->items[i].code, "DBR032") == 0)
			d = &l->items[i];
	assert_non_null(d);
	assert_string_equal(d->file, "core.toml");
	assert_non_null(strstr(d->message, "circular dependency: @ydtb/core -> @a/x -> @ydtb/core"));
	assert_non_null(strstr(d->hint, "remove its dependency on \"@a/x\""));
	dbreg_registry_free(reg);
}

static void test_validate__dbr032_self_dependency(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(PKG_HEAD "[dependencies]\n\"@ydtb/notes\" = \"*\"\n");
	const struct dbreg_diag *d = assert_diag(dbreg_registry_diags(reg), "DBR032", 5, 1);
	assert_non_null(strstr(d->message, "@ydtb/notes -> @ydtb/notes"));
	dbreg_registry_free(reg);
}

static void test_validate__dbr033_invalid_range(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(PKG_HEAD "[dependencies]\n\"@ydtb/core\" = \"^^1\"\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_hint(assert_diag(l, "DBR033", 5, 16), "^1.2.0");
	assert_count(l, 1);
	dbreg_registry_free(reg);
}

/* ---- migrations, tools, warnings ----------------------------------------- */

static void test_validate__dbr040_duplicate_migration_id(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[[migrations]]\nid = \"0001\"\nversion = \"1.0.0\"\nup = \"SELECT 1;\"\n"
		"[[migrations]]\nid = \"0001\"\nversion = \"1.0.0\"\nup = \"SELECT 2;\"\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR040", 8, 1);
	assert_string_equal(d->migration, "0001");
	assert_non_null(d->hint);
	assert_count(l, 1);
	dbreg_registry_free(reg);
}

static void test_validate__dbr041_migration_versions(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		"[package]\nname = \"@ydtb/notes\"\nversion = \"1.1.0\"\n"
		"[[migrations]]\nid = \"a\"\nversion = \"1.1.0\"\n"
		"[[migrations]]\nid = \"b\"\nversion = \"1.0.0\"\n"
		"[[migrations]]\nid = \"c\"\nversion = \"2.0.0\"\n"
		"[[migrations]]\nid = \"d\"\nversion = \"one\"\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_hint(assert_diag(l, "DBR041", 9, 11), "\"a\"");     /* lower than the one before */
	assert_hint(assert_diag(l, "DBR041", 12, 11), "2.0.0");    /* above the package */
	assert_diag(l, "DBR041", 15, 11);                          /* not semver */
	assert_count(l, 3);
	dbreg_registry_free(reg);
}

static void test_validate__dbr050_tool_ids(void **state)
{
	(void)state;
	const char *other = "[package]\nname = \"@ydtb/other\"\nversion = \"1.0.0\"\n"
			    "[[tools]]\nid = \"notes\"\nname = \"Other notes\"\n";
	const char *mine = PKG_HEAD "[[tools]]\nid = \"notes\"\nname = \"Notes\"\n"
				    "[[tools]]\nid = \"Bad_Id\"\nname = \"Bad\"\n";
	const char *named[] = { "core.toml", core_toml, "notes.toml", mine, "other.toml", other, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR050", 5, 6);
	assert_string_equal(d->file, "other.toml");
	assert_non_null(d->hint);
	d = assert_diag(l, "DBR050", 8, 6);
	assert_string_equal(d->file, "notes.toml");
	assert_count(l, 2);
	dbreg_registry_free(reg);
}

/* DBR016: the core declares ydtb_tools without a column dbreg writes; one
 * without updated_at (which the contract does not name) is fine. */
static void test_validate__dbr016_tools_table_lacks_a_column(void **state)
{
	(void)state;
	char core[2048];
	snprintf(core, sizeof core, "%s[tables.ydtb_tools]\ndescription = \"t\"\n[tables.ydtb_tools.columns]\n"
		 "id = { type = \"text\", primary_key = true }\nname = { type = \"text\" }\n", core_toml);
	const char *mine = PKG_HEAD "[[tools]]\nid = \"notes\"\nname = \"Notes\"\n";
	const char *named[] = { "core.toml", core, "notes.toml", mine, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR016", 5, 6);
	assert_string_equal(d->file, "notes.toml");
	assert_non_null(strstr(d->message, "package_name"));
	assert_hint(d, "package_name");
	assert_count(l, 1);
	dbreg_registry_free(reg);

	snprintf(core + strlen(core), sizeof core - strlen(core), "package_name = { type = \"text\" }\n");
	const char *fixed[] = { "core.toml", core, "notes.toml", mine, NULL };
	reg = validate_texts(fixed);
	assert_int_equal(count_code(dbreg_registry_diags(reg), "DBR016"), 0);
	dbreg_registry_free(reg);
}

/* Tools, and a core without ydtb_tools to write them into: no finding
 * (manifest.md requires no ydtb_tools of a core), but the registry names
 * the package whose tools apply writes nowhere, for apply's note; none once
 * the core has the table. */
static void test_validate__tools_without_a_tools_table_are_no_finding(void **state)
{
	(void)state;
	const char *mine = PKG_HEAD "[[tools]]\nid = \"notes\"\nname = \"Notes\"\n";
	const char *named[] = { "core.toml", core_toml, "notes.toml", mine, NULL };
	struct dbreg_registry *reg = validate_texts(named);
	assert_count(dbreg_registry_diags(reg), 0);
	assert_string_equal(dbreg_registry_tools_unwritten(reg), "@ydtb/notes");
	dbreg_registry_free(reg);

	const char *fixed[] = { "core.toml", core_tools_toml, "notes.toml", mine, NULL };
	reg = validate_texts(fixed);
	assert_count(dbreg_registry_diags(reg), 0);
	assert_null(dbreg_registry_tools_unwritten(reg));
	dbreg_registry_free(reg);
}

/* DBR048: CREATE INDEX CONCURRENTLY and VACUUM in a migration that runs in
 * a transaction, with the hint transaction = false; none once it says so. */
static void test_validate__dbr048_statement_outside_transaction(void **state)
{
	(void)state;
	const char *fmt = PKG_HEAD "[[migrations]]\nid = \"0001\"\nversion = \"1.0.0\"\n%s"
			  "up_postgres = \"\"\"\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON ydtb_workspaces (name);\n"
			  "CREATE INDEX IF NOT EXISTS j ON ydtb_workspaces (name);\nVACUUM ydtb_workspaces;\n"
			  "REINDEX INDEX CONCURRENTLY i;\nANALYZE ydtb_workspaces;\n\"\"\"\n"
			  "up_sqlite = \"SELECT 1;\"\n";
	char text[2048];
	snprintf(text, sizeof text, fmt, "");
	struct dbreg_registry *reg = NULL;
	assert_int_equal(dbreg_registry_new(&reg), 0);
	DBREG_PASS(reg, dbreg_registry_add_string(reg, "core.toml", NULL, core_toml, strlen(core_toml)));
	DBREG_PASS(reg, dbreg_registry_add_string(reg, "pkg.toml", NULL, text, strlen(text)));
	assert_int_equal(dbreg_registry_validate(reg, NULL), DBREG_EINVALID);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	assert_int_equal(count_code(l, "DBR048"), 3);
	const struct dbreg_diag *d = assert_diag(l, "DBR048", 8, 1);
	assert_non_null(strstr(d->message, "CREATE INDEX CONCURRENTLY"));
	assert_hint(d, "transaction = false");
	assert_non_null(strstr(assert_diag(l, "DBR048", 10, 1)->message, "VACUUM"));
	assert_non_null(strstr(assert_diag(l, "DBR048", 11, 1)->message, "REINDEX CONCURRENTLY"));
	dbreg_registry_free(reg);

	snprintf(text, sizeof text, fmt, "transaction = false\n");
	assert_int_equal(dbreg_registry_new(&reg), 0);
	DBREG_PASS(reg, dbreg_registry_add_string(reg, "core.toml", NULL, core_toml, strlen(core_toml)));
	DBREG_PASS(reg, dbreg_registry_add_string(reg, "pkg.toml", NULL, text, strlen(text)));
	dbreg_registry_validate(reg, NULL);
	assert_int_equal(count_code(dbreg_registry_diags(reg), "DBR048"), 0);
	dbreg_registry_free(reg);
}

static void test_validate__dbr101_no_workspace_index(void **state)
{
	(void)state;
	struct dbreg_registry *reg = validate_pkg(
		PKG_HEAD "[tables.ydtb_notes]\ndescription = \"Notes\"\n"
		"[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n"
		"workspace_id = { type = \"text\", not_null = true, references = \"ydtb_workspaces.id\" }\n");
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR101", 4, 9);
	assert_int_equal(d->severity, DBREG_SEV_WARNING);
	assert_hint(d, "ydtb_notes_workspace_id_idx");
	assert_count(l, 1);
	assert_int_equal(l->errors, 0);
	dbreg_registry_free(reg);
}

static void test_validate__dbr102_no_description(void **state)
{
	(void)state;
	struct dbreg_registry *reg = NULL;
	const char *named[] = { "core.toml", core_toml, "pkg.toml",
				PKG_HEAD "[tables.ydtb_notes]\nworkspace_scoped = true\n"
					 "[tables.ydtb_notes.columns]\nid = { type = \"text\", primary_key = true }\n",
				NULL };
	reg = validate_texts(named);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR102", 4, 9);
	assert_int_equal(d->severity, DBREG_SEV_WARNING);
	assert_hint(d, "description");
	assert_count(l, 1);
	dbreg_registry_free(reg);
}

/* ---- files next to the manifest, the project file ------------------------ */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_validate__up_file_read_relative_to_manifest(void **state)
{
	(void)state;
	char dir[] = "/tmp/dbreg_validate_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/up.sql", dir);
	write_file(path, "SELECT 1;\r\n");
	const char *text = PKG_HEAD "[[migrations]]\nid = \"a\"\nversion = \"1.0.0\"\nup_file = \"up.sql\"\n"
				    "[[migrations]]\nid = \"b\"\nversion = \"1.0.0\"\nup_file = \"missing.sql\"\n";
	struct dbreg_registry *reg = NULL;
	assert_int_equal(dbreg_registry_new(&reg), 0);
	DBREG_PASS(reg, dbreg_registry_add_string(reg, "core.toml", NULL, core_toml, strlen(core_toml)));
	DBREG_PASS(reg, dbreg_registry_add_string(reg, "pkg.toml", dir, text, strlen(text)));
	struct dbreg_validate_opts opts = { .skip_sql = true };
	assert_int_equal(dbreg_registry_validate(reg, &opts), DBREG_EINVALID);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	const struct dbreg_diag *d = assert_diag(l, "DBR014", 11, 11);
	assert_non_null(strstr(d->message, "missing.sql"));
	assert_hint(d, "relative to the manifest");
	assert_count(l, 1);
	dbreg_registry_free(reg);
	remove(path);
	rmdir(dir);
}

static void test_validate__project_file_keys_and_targets(void **state)
{
	(void)state;
	char dir[] = "/tmp/dbreg_project_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/dbreg.toml", dir);
	write_file(path, "[registry]\npackages = [\"pk\"]\n\n[targets.prod]\nurl = \"${DBREG_TEST_UNSET_VAR}\"\n"
			 "[targets.dev]\nurl = \"sqlite:dev.db\"\n");
	struct dbreg_project *p = NULL;
	struct dbreg_diag_list pd = DBREG_DIAG_LIST_INIT;
	assert_int_equal(dbreg_project_open(&p, dir, &pd), 0);
	assert_int_equal(pd.len, 0);
	assert_int_equal(p->n_package_dirs, 1);
	assert_string_equal(p->package_dirs[0], "pk");
	char *url = NULL, err[256];
	assert_int_equal(dbreg_project_target_url(&url, p, NULL, err, sizeof err), 0);
	char want[300];
	snprintf(want, sizeof want, "sqlite:%s/dev.db", dir);
	assert_string_equal(url, want);
	free(url);
	assert_int_equal(dbreg_project_target_url(&url, p, "prod", err, sizeof err), DBREG_EUSAGE);
	assert_non_null(strstr(err, "DBREG_TEST_UNSET_VAR"));
	assert_int_equal(dbreg_project_target_url(&url, p, "staging", err, sizeof err), DBREG_EUSAGE);
	dbreg_project_free(p);

	write_file(path, "[registry]\npackage = [\"pk\"]\n");
	assert_int_equal(dbreg_project_open(&p, dir, &pd), DBREG_EINVALID);
	assert_null(p);
	assert_hint(assert_diag(&pd, "DBR013", 2, 1), "\"packages\"");
	dbreg_diag_list_dispose(&pd);
	remove(path);
	rmdir(dir);
}

/* ---- the real manifests -------------------------------------------------- */

static void test_validate__real_manifests_have_no_error(void **state)
{
	(void)state;
	struct dbreg_project *p = NULL;
	struct dbreg_diag_list pd = DBREG_DIAG_LIST_INIT;
	/* The folder holding tomls/ is the project. */
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/..", tomls_dir);
	assert_int_equal(dbreg_project_open(&p, dir, &pd), 0);
	dbreg_diag_list_dispose(&pd);
	struct dbreg_registry *reg = NULL;
	assert_int_equal(dbreg_registry_new(&reg), 0);
	DBREG_PASS(reg, dbreg_registry_load_project(reg, p));
	struct dbreg_validate_opts opts = { .skip_sql = true };
	int rc = dbreg_registry_validate(reg, &opts);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	if (l->errors)
		dump(l);
	assert_int_equal(rc, 0);
	assert_int_equal(l->errors, 0);
	assert_true(dbreg_registry_package_count(reg) >= 2);
	dbreg_registry_free(reg);
	dbreg_project_free(p);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		tomls_dir = argv[1];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate__clean_package_has_no_diagnostics),
		cmocka_unit_test(test_validate__twice_reports_each_finding_once),
		cmocka_unit_test(test_validate__dbr001_toml_syntax_error),
		cmocka_unit_test(test_validate__dbr010_missing_package_section),
		cmocka_unit_test(test_validate__dbr010_invalid_name),
		cmocka_unit_test(test_validate__dbr010_missing_name),
		cmocka_unit_test(test_validate__dbr011_bad_package_version),
		cmocka_unit_test(test_validate__dbr012_duplicate_package),
		cmocka_unit_test(test_validate__dbr013_unknown_key_with_nearest),
		cmocka_unit_test(test_validate__keys_holding_nul_and_wrong_types),
		cmocka_unit_test(test_validate__dbr013_unknown_section),
		cmocka_unit_test(test_validate__dbr014_wrong_type),
		cmocka_unit_test(test_validate__dbr014_bad_fk_action),
		cmocka_unit_test(test_validate__dbr014_package_description_of_two_lines),
		cmocka_unit_test(test_validate__dbr014_a_nul_in_a_string),
		cmocka_unit_test(test_validate__dbr015_no_core),
		cmocka_unit_test(test_validate__dbr015_two_cores),
		cmocka_unit_test(test_validate__dbr015_core_without_workspaces),
		cmocka_unit_test(test_validate__dbr020_prefix),
		cmocka_unit_test(test_validate__dbr020_not_for_core),
		cmocka_unit_test(test_validate__dbr021_no_workspace_id),
		cmocka_unit_test(test_validate__dbr022_dbr023_workspace_id_declared_badly),
		cmocka_unit_test(test_validate__dbr022_wrong_reference),
		cmocka_unit_test(test_validate__dbr024_table_in_two_packages),
		cmocka_unit_test(test_validate__dbr024_a_core_table_in_a_package),
		cmocka_unit_test(test_validate__dbr025_invalid_identifiers),
		cmocka_unit_test(test_validate__dbr025_applies_to_core),
		cmocka_unit_test(test_validate__dbr026_unknown_type),
		cmocka_unit_test(test_validate__dbr027_unknown_table_and_column),
		cmocka_unit_test(test_validate__dbr027_package_not_depended_on),
		cmocka_unit_test(test_validate__dbr028_no_primary_key),
		cmocka_unit_test(test_validate__dbr028_composite_key_names_unknown_column),
		cmocka_unit_test(test_validate__dbr029_foreign_key_type_mismatch),
		cmocka_unit_test(test_validate__dbr030_unregistered_dependency),
		cmocka_unit_test(test_validate__dbr031_range_not_satisfied),
		cmocka_unit_test(test_validate__dbr032_cycle_named_whole),
		cmocka_unit_test(test_validate__dbr032_self_dependency),
		cmocka_unit_test(test_validate__dbr033_invalid_range),
		cmocka_unit_test(test_validate__dbr040_duplicate_migration_id),
		cmocka_unit_test(test_validate__dbr041_migration_versions),
		cmocka_unit_test(test_validate__dbr050_tool_ids),
		cmocka_unit_test(test_validate__dbr016_tools_table_lacks_a_column),
		cmocka_unit_test(test_validate__tools_without_a_tools_table_are_no_finding),
		cmocka_unit_test(test_validate__dbr048_statement_outside_transaction),
		cmocka_unit_test(test_validate__dbr101_no_workspace_index),
		cmocka_unit_test(test_validate__dbr102_no_description),
		cmocka_unit_test(test_validate__up_file_read_relative_to_manifest),
		cmocka_unit_test(test_validate__project_file_keys_and_targets),
		cmocka_unit_test(test_validate__real_manifests_have_no_error),
	};
	return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
