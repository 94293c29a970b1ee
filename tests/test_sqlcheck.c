/* The SQL checks through the public API: manifests registered from strings,
 * validated with SQL analysis on, and the diagnostics asserted by code,
 * line and column in the manifest (DBR043, DBR044, DBR046, DBR047, DBR103). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dbreg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A minimal valid core package: ydtb_workspaces and its migration. */
static const char core_toml[] =
	"[package]\n"
	"name = \"@ydtb/core\"\n"
	"version = \"1.0.0\"\n"
	"kind = \"core\"\n"
	"\n"
	"[tables.ydtb_workspaces]\n"
	"description = \"A workspace\"\n"
	"\n"
	"[tables.ydtb_workspaces.columns]\n"
	"id   = { type = \"text\", primary_key = true }\n"
	"name = { type = \"text\", not_null = true }\n"
	"\n"
	"[[migrations]]\n"
	"id = \"0001_workspaces\"\n"
	"version = \"1.0.0\"\n"
	"up = \"\"\"\n"
	"CREATE TABLE IF NOT EXISTS ydtb_workspaces (\n"
	"  id text PRIMARY KEY,\n"
	"  name text NOT NULL\n"
	");\n"
	"\"\"\"\n"
	"down = \"DROP TABLE IF EXISTS ydtb_workspaces;\"\n";

/* The head of a package manifest with one workspace-scoped table
 * ydtb_t_items (id text primary key); 12 lines. */
#define PKG_HEAD(name)                                                    \
	"[package]\n"                                          /*  1 */ \
	"name = \"" name "\"\n"                                /*  2 */ \
	"version = \"1.0.0\"\n"                                /*  3 */ \
	"\n"                                                   /*  4 */ \
	"[tables.ydtb_t_items]\n"                              /*  5 */ \
	"description = \"Items\"\n"                            /*  6 */ \
	"workspace_scoped = true\n"                            /*  7 */ \
	"\n"                                                   /*  8 */ \
	"[tables.ydtb_t_items.columns]\n"                      /*  9 */ \
	"id = { type = \"text\", primary_key = true }\n"       /* 10 */ \
	"\n"                                                   /* 11 */ \
	"[[migrations]]\n"                                     /* 12 */

/* The SQLite body that creates ydtb_t_items exactly as declared. */
#define ITEMS_SQLITE                                                                       \
	"up_sqlite = '''CREATE TABLE ydtb_t_items (id text PRIMARY KEY, workspace_id text NOT NULL " \
	"REFERENCES ydtb_workspaces(id) ON DELETE CASCADE); "                                     \
	"CREATE INDEX ydtb_t_items_workspace_id_idx ON ydtb_t_items (workspace_id);'''\n"

struct fixture {
	struct dbreg_registry *reg;
	const struct dbreg_diag_list *diags;
};

/* Registers the core and `pkg` (as "pkg.toml"), validates with SQL checks. */
static void validate(struct fixture *f, const char *pkg)
{
	assert_int_equal(dbreg_registry_new(&f->reg), 0);
	assert_int_equal(dbreg_registry_add_string(f->reg, "core.toml", NULL, core_toml, strlen(core_toml)), 0);
	if (pkg)
		assert_int_equal(dbreg_registry_add_string(f->reg, "pkg.toml", NULL, pkg, strlen(pkg)), 0);
	struct dbreg_validate_opts opts = {.skip_sql = false};
	int rc = dbreg_registry_validate(f->reg, &opts);
	assert_true(rc == 0 || rc == DBREG_EINVALID);
	f->diags = dbreg_registry_diags(f->reg);
}

static void dump(const struct dbreg_diag_list *l)
{
	for (size_t i = 0; i < l->len; i++)
		dbreg_diag_print(stderr, &l->items[i], 0);
}

/* The diagnostic with that code at file:line:col, or NULL. */
static const struct dbreg_diag *find_diag(const struct dbreg_diag_list *l, const char *code, const char *file,
					  unsigned line, unsigned col)
{
	for (size_t i = 0; i < l->len; i++) {
		const struct dbreg_diag *d = &l->items[i];
		if (strcmp(d->code, code) == 0 && d->file && strcmp(d->file, file) == 0 && d->line == line &&
		    d->column == col)
			return d;
	}
	return NULL;
}

#define assert_diag(f, code, line, col) assert_diag_at((f), (code), "pkg.toml", (line), (col), __LINE__)

static const struct dbreg_diag *assert_diag_at(struct fixture *f, const char *code, const char *file, unsigned line,
					       unsigned col, int src_line)
{
	const struct dbreg_diag *d = find_diag(f->diags, code, file, line, col);
	if (!d) {
		dump(f->diags);
		fail_msg("line %d: no %s at %s:%u:%u", src_line, code, file, line, col);
	}
	return d;
}

static size_t count_code(const struct dbreg_diag_list *l, const char *code)
{
	size_t n = 0;
	for (size_t i = 0; i < l->len; i++)
		n += strcmp(l->items[i].code, code) == 0;
	return n;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	dbreg_registry_free(f->reg);
	free(f);
	return 0;
}

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct fixture));
	return *state ? 0 : -1;
}

/* ---- a clean registry: no false positives -------------------------------- */

static void test_sqlcheck__clean_package_has_no_sql_findings(void **state)
{
	struct fixture *f = *state;
	validate(f, PKG_HEAD("@t/clean")
		 "id = \"0001\"\n"
		 "version = \"1.0.0\"\n"
		 ITEMS_SQLITE
		 "up_postgres = '''\n"
		 "CREATE TABLE IF NOT EXISTS ydtb_t_items (\n"
		 "  id text PRIMARY KEY,\n"
		 "  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE\n"
		 ");\n"
		 "CREATE INDEX IF NOT EXISTS ydtb_t_items_workspace_id_idx ON ydtb_t_items (workspace_id);\n"
		 "DO $$ BEGIN CREATE TYPE ydtb_t_kind AS ENUM ('a'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;\n"
		 "'''\n"
		 "down = \"DROP TABLE IF EXISTS ydtb_t_items;\"\n");
	const char *codes[] = {"DBR043", "DBR044", "DBR046", "DBR047", "DBR103"};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (count_code(f->diags, codes[i]) != 0) {
			dump(f->diags);
			fail_msg("unexpected %s", codes[i]);
		}
	}
	assert_int_equal(f->diags->errors, 0);
}

/* ---- DBR043 ---------------------------------------------------------------- */

static void test_sqlcheck__dbr043_every_statement_kind(void **state)
{
	struct fixture *f = *state;
	validate(f, PKG_HEAD("@t/idem")
		 "id = \"0001\"\n"                                                           /* 13 */
		 "version = \"1.0.0\"\n"                                                     /* 14 */
		 ITEMS_SQLITE                                                                /* 15 */
		 "up_postgres = \"\"\"\n"                                                    /* 16 */
		 "CREATE TABLE ydtb_t_items (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES ydtb_workspaces(id));\n" /* 17 */
		 "CREATE INDEX ydtb_t_items_workspace_id_idx ON ydtb_t_items (workspace_id);\n" /* 18 */
		 "ALTER TABLE ydtb_t_items ADD COLUMN note text;\n"                          /* 19 */
		 "ALTER TABLE ydtb_t_items DROP COLUMN note;\n"                              /* 20 */
		 "ALTER TABLE ydtb_t_items DROP CONSTRAINT ydtb_t_items_chk;\n"              /* 21 */
		 "DROP TABLE ydtb_t_old;\n"                                                  /* 22 */
		 "DROP INDEX ydtb_t_old_idx;\n"                                              /* 23 */
		 "DROP TYPE ydtb_t_kind_old;\n"                                              /* 24 */
		 "DROP VIEW ydtb_t_view_old;\n"                                              /* 25 */
		 "DROP SEQUENCE ydtb_t_seq_old;\n"                                           /* 26 */
		 "INSERT INTO ydtb_t_items (id, workspace_id) VALUES ('a', 'w');\n"          /* 27 */
		 "CREATE TYPE ydtb_t_kind AS ENUM ('a', 'b');\n"                             /* 28 */
		 "CREATE SEQUENCE ydtb_t_seq; CREATE VIEW ydtb_t_view AS SELECT 1;\n"        /* 29 */
		 "ALTER TABLE ydtb_t_items ADD CONSTRAINT ydtb_t_items_chk CHECK (id <> '');\n" /* 30 */
		 "ALTER TABLE ydtb_t_tmp RENAME TO ydtb_t_tmp2;\n"                           /* 31 */
		 "ALTER TABLE ydtb_t_items RENAME COLUMN id TO key;\n"                       /* 32 */
		 "DO $$ BEGIN CREATE TABLE ydtb_t_x (); END $$;\n"                           /* 33 */
		 "  INSERT INTO ydtb_t_items (id, workspace_id) VALUES ('b', 'w') ON CONFLICT DO NOTHING;\n" /* 34 */
		 "\"\"\"\n");
	struct {
		unsigned line, col;
		const char *hint_part;
	} want[] = {
		{17, 1, "CREATE TABLE IF NOT EXISTS ydtb_t_items"},
		{18, 1, "CREATE INDEX IF NOT EXISTS ydtb_t_items_workspace_id_idx ON ydtb_t_items"},
		{19, 1, "ADD COLUMN IF NOT EXISTS note"},
		{20, 1, "DROP COLUMN IF EXISTS note"},
		{21, 1, "DROP CONSTRAINT IF EXISTS ydtb_t_items_chk"},
		{22, 1, "DROP TABLE IF EXISTS ydtb_t_old"},
		{23, 1, "DROP INDEX IF EXISTS ydtb_t_old_idx"},
		{24, 1, "DROP TYPE IF EXISTS ydtb_t_kind_old"},
		{25, 1, "DROP VIEW IF EXISTS ydtb_t_view_old"},
		{26, 1, "DROP SEQUENCE IF EXISTS ydtb_t_seq_old"},
		{27, 1, "ON CONFLICT DO NOTHING"},
		{28, 1, "pg_type"},
		{29, 1, "CREATE SEQUENCE IF NOT EXISTS ydtb_t_seq"},
		{29, 29, "CREATE OR REPLACE VIEW ydtb_t_view"},
		{31, 1, "RENAME TO ydtb_t_tmp2"},
		{32, 1, "information_schema.columns"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct dbreg_diag *d = assert_diag(f, "DBR043", want[i].line, want[i].col);
		assert_non_null(d->hint);
		if (!strstr(d->hint, want[i].hint_part))
			fail_msg("%u:%u: hint \"%s\" lacks \"%s\"", want[i].line, want[i].col, d->hint, want[i].hint_part);
		assert_string_equal(d->package, "@t/idem");
		assert_string_equal(d->migration, "0001");
	}
	/* ADD CONSTRAINT after DROP CONSTRAINT without IF EXISTS is still
	 * reported; the DO block and the guarded INSERT are not. */
	assert_diag(f, "DBR043", 30, 1);
	assert_null(find_diag(f->diags, "DBR043", "pkg.toml", 33, 1));
	assert_null(find_diag(f->diags, "DBR043", "pkg.toml", 34, 3));
	assert_int_equal(count_code(f->diags, "DBR043"), sizeof(want) / sizeof(want[0]) + 1);
}

/* Names come out of pg_query's parse tree (JSON, decoded in place since
 * issue 18) byte for byte: a quoted identifier holding a double quote, a
 * backslash, a tab, 2-, 3- and 4-byte UTF-8; one holding a backslash and
 * an n; and a later statement's name after them. */
static void test_sqlcheck__names_from_the_parse_tree_byte_for_byte(void **state)
{
	struct fixture *f = *state;
	validate(f, PKG_HEAD("@t/names")
		 "id = \"0001\"\n"                                                           /* 13 */
		 "version = \"1.0.0\"\n"                                                     /* 14 */
		 ITEMS_SQLITE                                                                /* 15 */
		 "up_postgres = '''\n"                                                       /* 16 */
		 "CREATE TABLE \"ydtb_t_we\"\"ird \\ \t \xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\" (id int);\n" /* 17 */
		 "DROP INDEX \"ydtb_t_\\n\";\n"                                              /* 18 */
		 "DROP TABLE ydtb_t_after;\n"                                                /* 19 */
		 "'''\n");
	struct {
		unsigned line;
		const char *hint_part;
	} want[] = {
		{17, "CREATE TABLE IF NOT EXISTS ydtb_t_we\"ird \\ \t \xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80"},
		{18, "DROP INDEX IF EXISTS ydtb_t_\\n"},
		{19, "DROP TABLE IF EXISTS ydtb_t_after"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct dbreg_diag *d = assert_diag(f, "DBR043", want[i].line, 1);
		assert_non_null(d->hint);
		if (!strstr(d->hint, want[i].hint_part))
			fail_msg("%u: hint \"%s\" lacks \"%s\"", want[i].line, d->hint, want[i].hint_part);
	}
}

static void test_sqlcheck__dbr043_guards_by_drop_if_exists_and_skips_sqlite_bodies(void **state)
{
	struct fixture *f = *state;
	validate(f, PKG_HEAD("@t/guard")
		 "id = \"0001\"\n"
		 "version = \"1.0.0\"\n"
		 ITEMS_SQLITE
		 "up_postgres = '''\n"
		 "CREATE TABLE IF NOT EXISTS ydtb_t_items (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE);\n"
		 "CREATE INDEX IF NOT EXISTS ydtb_t_items_workspace_id_idx ON ydtb_t_items (workspace_id);\n"
		 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_chk;\n"
		 "ALTER TABLE ydtb_t_items ADD CONSTRAINT ydtb_t_items_chk CHECK (id <> '');\n"
		 "'''\n"
		 "down_sqlite = \"DROP TABLE ydtb_t_items;\"\n"
		 "down_postgres = \"DROP TABLE IF EXISTS ydtb_t_items;\"\n");
	if (count_code(f->diags, "DBR043") != 0) {
		dump(f->diags);
		fail_msg("unexpected DBR043");
	}
}

static void test_sqlcheck__dbr043_in_generic_down_body(void **state)
{
	struct fixture *f = *state;
	validate(f, PKG_HEAD("@t/down")
		 "id = \"0001\"\n"                                       /* 13 */
		 "version = \"1.0.0\"\n"                                 /* 14 */
		 ITEMS_SQLITE                                            /* 15 */
		 "up_postgres = '''CREATE TABLE IF NOT EXISTS ydtb_t_items (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE); "
		 "CREATE INDEX IF NOT EXISTS ydtb_t_items_workspace_id_idx ON ydtb_t_items (workspace_id);'''\n" /* 16 */
		 "down = \"DELETE FROM ydtb_t_items; DROP TABLE ydtb_t_items;\"\n"); /* 17 */
	/* down = " is 8 characters: the body starts at column 9. */
	const struct dbreg_diag *d = assert_diag(f, "DBR043", 17, 9 + 26);
	assert_non_null(strstr(d->hint, "DROP TABLE IF EXISTS ydtb_t_items"));
	/* Down bodies drop by design: no DBR103 for them. */
	assert_int_equal(count_code(f->diags, "DBR103"), 0);
}

/* ---- DBR044 ---------------------------------------------------------------- */

static void test_sqlcheck__dbr044_at_error_cursor_in_multiline_string(void **state)
{
	struct fixture *f = *state;
	validate(f, PKG_HEAD("@t/syntax")
		 "id = \"0001\"\n"                                       /* 13 */
		 "version = \"1.0.0\"\n"                                 /* 14 */
		 ITEMS_SQLITE                                            /* 15 */
		 "up_postgres = \"\"\"\n"                                /* 16 */
		 "CREATE TABLE IF NOT EXISTS ydtb_t_items (\n"           /* 17 */
		 "  id text PRIMARY KEY,\n"                              /* 18 */
		 "  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id),\n" /* 19 */
		 "  title text NOT NULL DEFALUT 'x'\n"                   /* 20 */
		 ");\n"                                                  /* 21 */
		 "\"\"\"\n"
		 "\n"
		 "[[migrations]]\n"                                      /* 24 */
		 "id = \"0002\"\n"                                       /* 25 */
		 "version = \"1.0.0\"\n"                                 /* 26 */
		 "up_sqlite = \"SELECT 1;\"\n"                           /* 27 */
		 "up_postgres = \"SELECT 1;\\tSELEC 2;\"\n");            /* 28 */
	const struct dbreg_diag *d = assert_diag(f, "DBR044", 20, 23);
	assert_non_null(strstr(d->message, "syntax error at or near \"DEFALUT\""));
	/* An escape (\t) takes two characters in the manifest, one in the SQL. */
	d = assert_diag(f, "DBR044", 28, 27);
	assert_string_equal(d->migration, "0002");
	assert_int_equal(count_code(f->diags, "DBR044"), 2);
}

/* ---- DBR046 ---------------------------------------------------------------- */

static void test_sqlcheck__dbr046_table_rules_and_ownership(void **state)
{
	struct fixture *f = *state;
	validate(f, PKG_HEAD("@t/rules")
		 "id = \"0001\"\n"                                       /* 13 */
		 "version = \"1.0.0\"\n"                                 /* 14 */
		 ITEMS_SQLITE                                            /* 15 */
		 "up_postgres = '''\n"                                   /* 16 */
		 "CREATE TABLE IF NOT EXISTS ydtb_t_items (\n"           /* 17 */
		 "  id text PRIMARY KEY,\n"
		 "  workspace_id text NOT NULL,\n"
		 "  CONSTRAINT ydtb_t_items_ws_fk FOREIGN KEY (workspace_id) REFERENCES ydtb_workspaces (id) ON DELETE CASCADE\n"
		 ");\n"                                                  /* 21 */
		 "CREATE INDEX IF NOT EXISTS ydtb_t_items_workspace_id_idx ON ydtb_t_items (workspace_id);\n" /* 22 */
		 "CREATE TABLE IF NOT EXISTS notes (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES ydtb_workspaces(id));\n" /* 23 */
		 "CREATE TABLE IF NOT EXISTS ydtb_t_nows (id text PRIMARY KEY);\n" /* 24 */
		 "CREATE TABLE IF NOT EXISTS ydtb_t_loose (id text PRIMARY KEY, workspace_id text);\n" /* 25 */
		 "    CREATE INDEX IF NOT EXISTS ydtb_t_ws_name_idx ON ydtb_workspaces (name);\n" /* 26 */
		 "CREATE TABLE IF NOT EXISTS ydtb_t_later (id text PRIMARY KEY, workspace_id text);\n" /* 27 */
		 "'''\n"                                                 /* 28 */
		 "\n"
		 "[[migrations]]\n"                                      /* 30 */
		 "id = \"0002\"\n"
		 "version = \"1.0.0\"\n"
		 "up_sqlite = \"SELECT 1;\"\n"
		 "up_postgres = '''\n"                                   /* 34 */
		 "ALTER TABLE ydtb_t_later ALTER COLUMN workspace_id SET NOT NULL;\n" /* 35 */
		 "ALTER TABLE ydtb_t_later DROP CONSTRAINT IF EXISTS ydtb_t_later_ws_fk;\n"
		 "ALTER TABLE ydtb_t_later ADD CONSTRAINT ydtb_t_later_ws_fk FOREIGN KEY (workspace_id) REFERENCES ydtb_workspaces NOT VALID;\n"
		 "'''\n");
	const struct dbreg_diag *d = assert_diag(f, "DBR046", 23, 1);
	assert_non_null(strstr(d->message, "without the ydtb_ prefix"));
	assert_string_equal(d->hint, "name it ydtb_notes");
	d = assert_diag(f, "DBR046", 24, 1);
	assert_non_null(strstr(d->message, "no workspace_id column"));
	assert_string_equal(d->table, "ydtb_t_nows");
	/* ydtb_t_loose: nullable and without a foreign key, two findings. */
	size_t loose = 0;
	for (size_t i = 0; i < f->diags->len; i++) {
		const struct dbreg_diag *x = &f->diags->items[i];
		if (strcmp(x->code, "DBR046") == 0 && x->line == 25 && x->column == 1)
			loose++;
	}
	assert_int_equal(loose, 2);
	d = assert_diag(f, "DBR046", 26, 5);
	assert_non_null(strstr(d->message, "belongs to @ydtb/core"));
	/* A later migration that fixes the table clears it; the table-level
	 * foreign key of ydtb_t_items counts. */
	assert_null(find_diag(f->diags, "DBR046", "pkg.toml", 27, 1));
	assert_null(find_diag(f->diags, "DBR046", "pkg.toml", 17, 1));
	assert_int_equal(count_code(f->diags, "DBR046"), 5);
}

/* ---- DBR047 ---------------------------------------------------------------- */

static void test_sqlcheck__dbr047_schema_differs_from_declaration(void **state)
{
	struct fixture *f = *state;
	validate(f, "[package]\n"                                        /*  1 */
		 "name = \"@t/replay\"\n"
		 "version = \"1.0.0\"\n"
		 "\n"
		 "[tables.ydtb_t_notes]\n"                               /*  5 */
		 "description = \"Notes\"\n"
		 "workspace_scoped = true\n"
		 "\n"
		 "[tables.ydtb_t_notes.columns]\n"                       /*  9 */
		 "id     = { type = \"text\", primary_key = true }\n"   /* 10 */
		 "title  = { type = \"text\", not_null = true }\n"      /* 11 */
		 "pinned = { type = \"boolean\", not_null = true }\n"   /* 12 */
		 "  score  = { type = \"integer\" }\n"                  /* 13 */
		 "\n"
		 "[[migrations]]\n"                                      /* 15 */
		 "id = \"0001\"\n"
		 "version = \"1.0.0\"\n"
		 "up = '''\n"                                            /* 18 */
		 "CREATE TABLE IF NOT EXISTS ydtb_t_notes (\n"
		 "  id text PRIMARY KEY,\n"
		 "  workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE,\n"
		 "  title text NOT NULL,\n"
		 "  pinned boolean,\n"
		 "  extra text\n"
		 ");\n"
		 "CREATE INDEX IF NOT EXISTS ydtb_t_notes_workspace_id_idx ON ydtb_t_notes (workspace_id);\n"
		 "'''\n");
	const struct dbreg_diag *d = assert_diag(f, "DBR047", 12, 1);
	assert_string_equal(d->message,
			    "table ydtb_t_notes: column pinned is declared not_null but the migrations leave it nullable");
	assert_string_equal(d->table, "ydtb_t_notes");
	assert_string_equal(d->column_name, "pinned");
	d = assert_diag(f, "DBR047", 13, 3);
	assert_non_null(strstr(d->message, "column score is declared but the migrations do not create it"));
	d = assert_diag(f, "DBR047", 5, 9);
	assert_non_null(strstr(d->message, "column extra is created by the migrations but not declared"));
}

static void test_sqlcheck__dbr047_migration_failing_on_sqlite(void **state)
{
	struct fixture *f = *state;
	validate(f, PKG_HEAD("@t/fails")
		 "id = \"0001\"\n"                                       /* 13 */
		 "version = \"1.0.0\"\n"                                 /* 14 */
		 "up_postgres = \"SELECT 1;\"\n"                         /* 15 */
		 "up_sqlite = '''\n"                                     /* 16 */
		 "CREATE TABLE ydtb_t_items (id text PRIMARY KEY);\n"    /* 17 */
		 "CREATE INDEX ydtb_t_items_ws_idx ON ydtb_t_items (workspace_id);\n" /* 18 */
		 "'''\n");
	size_t n = 0;
	for (size_t i = 0; i < f->diags->len; i++) {
		const struct dbreg_diag *d = &f->diags->items[i];
		if (strcmp(d->code, "DBR047") != 0)
			continue;
		n++;
		assert_string_equal(d->migration, "0001");
		assert_non_null(strstr(d->message, "fails on SQLite"));
		assert_non_null(strstr(d->message, "workspace_id"));
		assert_true(d->line >= 16 && d->line <= 18);
	}
	/* The failure is reported once; the comparison that would follow from
	 * it is skipped. */
	assert_int_equal(n, 1);
}

/* The one DBR047 message of a validation, or NULL. */
static const char *only_dbr047(struct fixture *f)
{
	const char *msg = NULL;
	for (size_t i = 0; i < f->diags->len; i++) {
		if (strcmp(f->diags->items[i].code, "DBR047") == 0) {
			assert_null(msg);
			msg = f->diags->items[i].message;
		}
	}
	return msg;
}

/* The replay runs migration SQL during validate: it must not open or
 * write files, and must not hang on a query without end. */
static void test_sqlcheck__dbr047_replay_refuses_attach(void **state)
{
	struct fixture *f = *state;
	validate(f, PKG_HEAD("@t/attach")
		 "id = \"0001\"\n"
		 "version = \"1.0.0\"\n"
		 "up_postgres = \"SELECT 1;\"\n"
		 "up_sqlite = '''ATTACH DATABASE '/tmp/dbreg-replay-attach.db' AS x; "
		 "CREATE TABLE x.t (a);'''\n");
	const char *msg = only_dbr047(f);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "ATTACH"));
	FILE *fp = fopen("/tmp/dbreg-replay-attach.db", "rb");
	if (fp)
		fclose(fp);
	assert_null(fp);
}

static void test_sqlcheck__dbr047_replay_stops_a_query_without_end(void **state)
{
	struct fixture *f = *state;
	validate(f, PKG_HEAD("@t/forever")
		 "id = \"0001\"\n"
		 "version = \"1.0.0\"\n"
		 "up_postgres = \"SELECT 1;\"\n"
		 "up_sqlite = '''WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
		 "SELECT count(*) FROM n;'''\n");
	const char *msg = only_dbr047(f);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "too long"));
}

/* A table the migrations create but the package does not declare is shown
 * where the migration names it. */
static void test_sqlcheck__dbr047_undeclared_table_at_its_create(void **state)
{
	struct fixture *f = *state;
	validate(f, PKG_HEAD("@t/extra")
		 "id = \"0001\"\n"                                         /* 13 */
		 "version = \"1.0.0\"\n"                                   /* 14 */
		 "up_postgres = \"SELECT 1;\"\n"                           /* 15 */
		 ITEMS_SQLITE                                               /* 16 */
		 "[[migrations]]\n"                                         /* 17 */
		 "id = \"0002\"\n"                                         /* 18 */
		 "version = \"1.0.0\"\n"                                   /* 19 */
		 "up_postgres = \"SELECT 1;\"\n"                           /* 20 */
		 "up_sqlite = '''\n"                                        /* 21 */
		 "CREATE TABLE ydtb_t_extra (id text PRIMARY KEY);\n"       /* 22 */
		 "'''\n");
	const struct dbreg_diag *d = find_diag(f->diags, "DBR047", "pkg.toml", 22, 14);
	assert_non_null(d);
	assert_string_equal(d->migration, "0002");
	assert_non_null(strstr(d->message, "ydtb_t_extra"));
}

/* A package whose migration writes into its dependency's table is replayed
 * after that dependency: no false DBR047; without the dependency, the
 * INSERT fails and says so. */
static const char dep_toml[] =
	"[package]\nname = \"@t/dep\"\nversion = \"1.0.0\"\n"
	"[tables.ydtb_dep_kinds]\ndescription = \"Kinds\"\nworkspace_scoped = true\n"
	"[tables.ydtb_dep_kinds.columns]\nid = { type = \"text\", primary_key = true }\n"
	"[[migrations]]\nid = \"0001\"\nversion = \"1.0.0\"\nup_postgres = \"SELECT 1;\"\n"
	"up_sqlite = '''CREATE TABLE ydtb_dep_kinds (id text PRIMARY KEY, workspace_id text NOT NULL "
	"REFERENCES ydtb_workspaces(id) ON DELETE CASCADE); "
	"CREATE INDEX ydtb_dep_kinds_workspace_id_idx ON ydtb_dep_kinds (workspace_id);'''\n";

static const char user_toml[] =
	"[package]\nname = \"@t/user\"\nversion = \"1.0.0\"\n"
	"[dependencies]\n\"@t/dep\" = \"^1.0.0\"\n"
	"[tables.ydtb_t_items]\ndescription = \"Items\"\nworkspace_scoped = true\n"
	"[tables.ydtb_t_items.columns]\nid = { type = \"text\", primary_key = true }\n"
	"[[migrations]]\nid = \"0001\"\nversion = \"1.0.0\"\nup_postgres = \"SELECT 1;\"\n"
	ITEMS_SQLITE
	"[[migrations]]\nid = \"0002\"\nversion = \"1.0.0\"\nup_postgres = \"SELECT 1;\"\n"
	"up_sqlite = '''INSERT INTO ydtb_workspaces (id, name) VALUES ('w', 'W'); "
	"INSERT INTO ydtb_dep_kinds (id, workspace_id) VALUES ('k', 'w');'''\n";

static void test_sqlcheck__dbr047_replay_brings_in_a_dependencys_tables(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(dbreg_registry_new(&f->reg), 0);
	assert_int_equal(dbreg_registry_add_string(f->reg, "core.toml", NULL, core_toml, strlen(core_toml)), 0);
	assert_int_equal(dbreg_registry_add_string(f->reg, "dep.toml", NULL, dep_toml, strlen(dep_toml)), 0);
	assert_int_equal(dbreg_registry_add_string(f->reg, "user.toml", NULL, user_toml, strlen(user_toml)), 0);
	struct dbreg_validate_opts opts = {.skip_sql = false};
	assert_int_equal(dbreg_registry_validate(f->reg, &opts), 0);
	f->diags = dbreg_registry_diags(f->reg);
	assert_null(only_dbr047(f));
}

static void test_sqlcheck__dbr047_replay_without_the_dependency_fails(void **state)
{
	struct fixture *f = *state;
	validate(f, user_toml);
	const char *msg = only_dbr047(f);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "ydtb_dep_kinds"));
}

/* ---- DBR103 ---------------------------------------------------------------- */

static void test_sqlcheck__dbr103_unsafe_operations_on_existing_tables(void **state)
{
	struct fixture *f = *state;
	validate(f, PKG_HEAD("@t/unsafe")
		 "id = \"0001\"\n"                                       /* 13 */
		 "version = \"1.0.0\"\n"                                 /* 14 */
		 ITEMS_SQLITE                                            /* 15 */
		 "up_postgres = '''\n"                                   /* 16 */
		 "CREATE TABLE IF NOT EXISTS ydtb_t_items (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE);\n" /* 17 */
		 "CREATE INDEX IF NOT EXISTS ydtb_t_items_workspace_id_idx ON ydtb_t_items (workspace_id);\n" /* 18 */
		 "ALTER TABLE ydtb_t_items ADD COLUMN IF NOT EXISTS a text NOT NULL;\n" /* 19 */
		 "'''\n"
		 "\n"
		 "[[migrations]]\n"                                      /* 22 */
		 "id = \"0002\"\n"
		 "version = \"1.0.0\"\n"
		 "up_sqlite = \"SELECT 1;\"\n"
		 "up_postgres = '''\n"                                   /* 26 */
		 "CREATE INDEX IF NOT EXISTS ydtb_t_items_a_idx ON ydtb_t_items (a);\n" /* 27 */
		 "ALTER TABLE ydtb_t_items ADD COLUMN IF NOT EXISTS b text NOT NULL;\n" /* 28 */
		 "ALTER TABLE ydtb_t_items ADD COLUMN IF NOT EXISTS c text NOT NULL DEFAULT '';\n" /* 29 */
		 "ALTER TABLE ydtb_t_items DROP COLUMN IF EXISTS a;\n"  /* 30 */
		 "ALTER TABLE ydtb_t_items ALTER COLUMN c TYPE varchar(20);\n" /* 31 */
		 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_c_fk;\n" /* 32 */
		 "ALTER TABLE ydtb_t_items ADD CONSTRAINT ydtb_t_items_c_fk FOREIGN KEY (c) REFERENCES ydtb_t_items (id);\n" /* 33 */
		 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_d_fk;\n" /* 34 */
		 "ALTER TABLE ydtb_t_items ADD CONSTRAINT ydtb_t_items_d_fk FOREIGN KEY (c) REFERENCES ydtb_t_items (id) NOT VALID;\n" /* 35 */
		 "DELETE FROM ydtb_t_items WHERE c = '';\n"            /* 36 */
		 "DELETE FROM ydtb_t_items;\n"                          /* 37 */
		 "TRUNCATE ydtb_t_items;\n"                             /* 38 */
		 "ALTER TABLE ydtb_t_items ALTER COLUMN c SET NOT NULL;\n" /* 39 */
		 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_c_ck;\n" /* 40 */
		 "ALTER TABLE ydtb_t_items ADD CONSTRAINT ydtb_t_items_c_ck CHECK (c <> '');\n" /* 41 */
		 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_c_ck2;\n" /* 42 */
		 "ALTER TABLE ydtb_t_items ADD CONSTRAINT ydtb_t_items_c_ck2 CHECK (c <> 'x') NOT VALID;\n" /* 43 */
		 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_b_nn;\n" /* 44 */
		 "ALTER TABLE ydtb_t_items ADD CONSTRAINT ydtb_t_items_b_nn CHECK (b IS NOT NULL) NOT VALID;\n" /* 45 */
		 "ALTER TABLE ydtb_t_items ALTER COLUMN b SET NOT NULL;\n" /* 46 */
		 "ALTER TABLE ydtb_t_items VALIDATE CONSTRAINT ydtb_t_items_b_nn;\n" /* 47 */
		 "ALTER TABLE ydtb_t_items ALTER COLUMN b SET NOT NULL;\n" /* 48 */
		 "ALTER TABLE ydtb_t_items ADD COLUMN IF NOT EXISTS r double precision DEFAULT random();\n" /* 49 */
		 "ALTER TABLE ydtb_t_items ADD COLUMN IF NOT EXISTS k bigserial;\n" /* 50 */
		 "ALTER TABLE ydtb_t_items ADD COLUMN IF NOT EXISTS n timestamptz DEFAULT now();\n" /* 51 */
		 "VACUUM FULL ydtb_t_items;\n"                          /* 52 */
		 "CLUSTER ydtb_t_items USING ydtb_t_items_pkey;\n"      /* 53 */
		 "LOCK TABLE ydtb_t_items IN ACCESS EXCLUSIVE MODE;\n"  /* 54 */
		 "LOCK TABLE ydtb_t_items IN ACCESS SHARE MODE;\n"      /* 55 */
		 "VACUUM (ANALYZE) ydtb_t_items;\n"                     /* 56 */
		 "DROP TABLE IF EXISTS ydtb_t_items;\n"                 /* 57 */
		 "CREATE INDEX CONCURRENTLY IF NOT EXISTS ydtb_t_items_b_idx ON ydtb_t_items (b);\n" /* 58 */
		 "'''\n"
		 "transaction = false\n");
	struct {
		unsigned line;
		const char *part;
	} want[] = {
		{27, "CONCURRENTLY"},
		{28, "SET NOT NULL"},
		{30, "later migration"},
		{31, "backfill"},
		{33, "NOT VALID"},
		{37, "WHERE"},                 /* drops data: every row */
		{38, "back the rows up"},
		{39, "VALIDATE"},              /* locks the table for a scan */
		{41, "NOT VALID"},
		{46, "VALIDATE"},              /* its CHECK is not validated yet */
		{49, "SET DEFAULT"},           /* a volatile default writes every row */
		{50, "SET DEFAULT"},           /* so does a serial's nextval */
		{52, "maintenance window"},
		{53, "pg_repack"},
		{54, "drop the LOCK"},
		{57, "no running version"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct dbreg_diag *d = assert_diag(f, "DBR103", want[i].line, 1);
		assert_int_equal(d->severity, DBREG_SEV_WARNING);
		assert_non_null(d->hint);
		if (!strstr(d->hint, want[i].part))
			fail_msg("line %u: hint \"%s\" lacks \"%s\"", want[i].line, d->hint, want[i].part);
	}
	/* Tables created in the same migration hold no rows yet (lines 18, 19);
	 * a DEFAULT, NOT VALID, CONCURRENTLY, a WHERE and a validated CHECK
	 * (b IS NOT NULL) before SET NOT NULL (line 48) make the operation safe;
	 * now() is stable (stored once), ACCESS SHARE and a plain VACUUM block
	 * no writer (lines 51, 55, 56). */
	assert_int_equal(count_code(f->diags, "DBR103"), sizeof(want) / sizeof(want[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sqlcheck__clean_package_has_no_sql_findings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr043_every_statement_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__names_from_the_parse_tree_byte_for_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr043_guards_by_drop_if_exists_and_skips_sqlite_bodies,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr043_in_generic_down_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr044_at_error_cursor_in_multiline_string, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr046_table_rules_and_ownership, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr047_schema_differs_from_declaration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr047_migration_failing_on_sqlite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr047_undeclared_table_at_its_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr047_replay_refuses_attach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr047_replay_stops_a_query_without_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr047_replay_brings_in_a_dependencys_tables, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr047_replay_without_the_dependency_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlcheck__dbr103_unsafe_operations_on_existing_tables, setup, teardown),
	};
	return cmocka_run_group_tests_name("sqlcheck", tests, NULL, NULL);
}
