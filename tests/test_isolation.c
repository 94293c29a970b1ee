/* The workspace isolation rules over every statement of a PostgreSQL body
 * (isolation.c through sqlcheck.c), through the public API: each statement
 * that breaks a rule after a correct table creation is reported with its
 * code, message and line, and the form that keeps the rule passes with no
 * error at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dbreg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	"\n"
	"[[migrations]]\n"
	"id = \"0001_workspaces\"\n"
	"version = \"1.0.0\"\n"
	"up = \"CREATE TABLE IF NOT EXISTS ydtb_workspaces (id text PRIMARY KEY);\"\n"
	"down = \"DROP TABLE IF EXISTS ydtb_workspaces;\"\n";

/* Lines 1-15 of package @t/iso at version: its migration 0001 (version
 * 1.0.0) makes ydtb_t_items on SQLite; its PostgreSQL body comes next. */
#define ISO_HEAD(version)                                                                          \
	"[package]\n"                                                                    /*  1 */ \
	"name = \"@t/iso\"\n"                                                            /*  2 */ \
	"version = \"" version "\"\n"                                                     /*  3 */ \
	"\n"                                                                             /*  4 */ \
	"[tables.ydtb_t_items]\n"                                                        /*  5 */ \
	"description = \"Items\"\n"                                                      /*  6 */ \
	"workspace_scoped = true\n"                                                      /*  7 */ \
	"\n"                                                                             /*  8 */ \
	"[tables.ydtb_t_items.columns]\n"                                                /*  9 */ \
	"id = { type = \"text\", primary_key = true }\n"                                 /* 10 */ \
	"\n"                                                                             /* 11 */ \
	"[[migrations]]\n"                                                               /* 12 */ \
	"id = \"0001\"\n"                                                                /* 13 */ \
	"version = \"1.0.0\"\n"                                                          /* 14 */ \
	"up_sqlite = '''CREATE TABLE ydtb_t_items (id text PRIMARY KEY, workspace_id text NOT NULL " \
	"REFERENCES ydtb_workspaces(id) ON DELETE CASCADE); "                                        \
	"CREATE INDEX ydtb_t_items_workspace_id_idx ON ydtb_t_items (workspace_id);'''\n" /* 15 */

/* A package whose first migration creates ydtb_t_items correctly (lines
 * 17-18), then runs the statements under test from line 19 on. */
#define PKG_HEAD                                                                                     \
	ISO_HEAD("1.0.0")                                                                          \
	"up_postgres = '''\n"                                                            /* 16 */ \
	"CREATE TABLE IF NOT EXISTS ydtb_t_items (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE);\n" /* 17 */ \
	"CREATE INDEX IF NOT EXISTS ydtb_t_items_workspace_id_idx ON ydtb_t_items (workspace_id);\n" /* 18 */

#define PKG_TAIL "'''\n"

struct fixture {
	struct dbreg_registry *reg;
	const struct dbreg_diag_list *diags;
	int rc;
};

static void validate_with(struct fixture *f, const char *pkg, const char *extra)
{
	assert_int_equal(dbreg_registry_new(&f->reg), 0);
	assert_int_equal(dbreg_registry_add_string(f->reg, "core.toml", NULL, core_toml, strlen(core_toml)), 0);
	assert_int_equal(dbreg_registry_add_string(f->reg, "pkg.toml", NULL, pkg, strlen(pkg)), 0);
	if (extra)
		assert_int_equal(dbreg_registry_add_string(f->reg, "other.toml", NULL, extra, strlen(extra)), 0);
	struct dbreg_validate_opts opts = {.skip_sql = false};
	f->rc = dbreg_registry_validate(f->reg, &opts);
	assert_true(f->rc == 0 || f->rc == DBREG_EINVALID);
	f->diags = dbreg_registry_diags(f->reg);
}

static void dump(const struct dbreg_diag_list *l)
{
	for (size_t i = 0; i < l->len; i++)
		dbreg_diag_print(stderr, &l->items[i], 0);
}

static const struct dbreg_diag *find_diag(const struct dbreg_diag_list *l, const char *code, unsigned line)
{
	for (size_t i = 0; i < l->len; i++) {
		const struct dbreg_diag *d = &l->items[i];
		if (strcmp(d->code, code) == 0 && d->file && strcmp(d->file, "pkg.toml") == 0 && d->line == line)
			return d;
	}
	return NULL;
}

/* The same, whose message holds `words`. */
static const struct dbreg_diag *find_said(const struct dbreg_diag_list *l, const char *code, unsigned line,
					  const char *words)
{
	for (size_t i = 0; i < l->len; i++) {
		const struct dbreg_diag *d = &l->items[i];
		if (strcmp(d->code, code) == 0 && d->file && strcmp(d->file, "pkg.toml") == 0 && d->line == line &&
		    strstr(d->message, words))
			return d;
	}
	return NULL;
}

static size_t count_codes(const struct dbreg_diag_list *l, const char *const *codes)
{
	size_t n = 0;
	for (size_t i = 0; i < l->len; i++)
		for (size_t k = 0; codes[k]; k++)
			n += strcmp(l->items[i].code, codes[k]) == 0;
	return n;
}

static const char *const iso_codes[] = {"DBR020", "DBR021", "DBR022", "DBR023", "DBR027", "DBR046", NULL};

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct fixture));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	dbreg_registry_free(f->reg);
	free(f);
	return 0;
}

/* One statement that breaks a rule: the code, the line, words of the
 * message and of the hint, and the table named. */
struct broken {
	const char *what, *sql, *code;
	unsigned line;
	const char *message, *hint, *table;
};

static const struct broken broken_cases[] = {
	{"CREATE TABLE AS without workspace_id",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_copy AS SELECT id FROM ydtb_t_items;\n",
	 "DBR046", 19, "creates table ydtb_t_copy without a workspace_id column", "CREATE TABLE IF NOT EXISTS", "ydtb_t_copy"},
	{"CREATE TABLE AS copies no foreign key",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_copy AS SELECT * FROM ydtb_t_items;\n",
	 "DBR046", 19, "has no foreign key to ydtb_workspaces(id): a query copies no constraint", "REFERENCES ydtb_workspaces(id)",
	 "ydtb_t_copy"},
	{"SELECT INTO without workspace_id",
	 "SELECT id INTO ydtb_t_into FROM ydtb_t_items;\n",
	 "DBR046", 19, "SELECT ... INTO in migration 0001 creates table ydtb_t_into without a workspace_id column", NULL,
	 "ydtb_t_into"},
	{"SELECT INTO is not idempotent",
	 "SELECT id, workspace_id INTO ydtb_t_into FROM ydtb_t_items;\n",
	 "DBR043", 19, "SELECT ... INTO fails or changes the database when the migration runs twice",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_into", "ydtb_t_into"},
	{"CREATE TABLE LIKE copies no foreign key",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_like (LIKE ydtb_t_items INCLUDING ALL);\n",
	 "DBR046", 19, "LIKE copies no foreign key", "FOREIGN KEY (workspace_id) REFERENCES ydtb_workspaces(id)", "ydtb_t_like"},
	{"CREATE TABLE LIKE a declared table without workspace_id",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_users (LIKE ydtb_workspaces);\n",
	 "DBR046", 19, "creates table ydtb_t_users from ydtb_workspaces, which declares no workspace_id column", NULL,
	 "ydtb_t_users"},
	{"CREATE TABLE OF a type",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_of OF ydtb_t_row (workspace_id WITH OPTIONS NOT NULL);\n",
	 "DBR046", 19, "OF copies no foreign key", NULL, "ydtb_t_of"},
	{"CREATE TABLE PARTITION OF without the prefix",
	 "CREATE TABLE IF NOT EXISTS t_items_w1 PARTITION OF ydtb_t_items FOR VALUES IN ('w1');\n",
	 "DBR046", 19, "creates table t_items_w1 without the ydtb_ prefix", "name it ydtb_t_items_w1", "t_items_w1"},
	{"RENAME TO loses the prefix",
	 "ALTER TABLE IF EXISTS ydtb_t_items RENAME TO al_t;\n",
	 "DBR020", 19, "ALTER TABLE ydtb_t_items RENAME TO al_t: package table al_t loses the ydtb_ prefix",
	 "rename it ydtb_al_t", "al_t"},
	{"DROP CONSTRAINT on the workspace foreign key",
	 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_workspace_id_fkey;\n",
	 "DBR022", 19, "DROP CONSTRAINT ydtb_t_items_workspace_id_fkey drops the foreign key from workspace_id", "keep the workspace foreign key",
	 "ydtb_t_items"},
	{"ALTER CONSTRAINT makes the workspace foreign key deferrable",
	 "ALTER TABLE ydtb_t_items ALTER CONSTRAINT ydtb_t_items_workspace_id_fkey DEFERRABLE INITIALLY DEFERRED;\n",
	 "DBR022", 19, "DEFERRABLE lets a transaction write rows", "NOT DEFERRABLE", "ydtb_t_items"},
	{"DROP COLUMN workspace_id",
	 "ALTER TABLE ydtb_t_items DROP COLUMN IF EXISTS workspace_id;\n",
	 "DBR021", 19, "DROP COLUMN workspace_id leaves package table ydtb_t_items without workspace_id", "keep workspace_id",
	 "ydtb_t_items"},
	{"RENAME COLUMN workspace_id",
	 "ALTER TABLE ydtb_t_items RENAME COLUMN workspace_id TO tenant;\n",
	 "DBR021", 19, "RENAME COLUMN workspace_id TO tenant leaves package table ydtb_t_items without workspace_id", NULL,
	 "ydtb_t_items"},
	{"ALTER COLUMN workspace_id TYPE",
	 "ALTER TABLE ydtb_t_items ALTER COLUMN workspace_id TYPE integer USING 0;\n",
	 "DBR022", 19, "ALTER COLUMN workspace_id TYPE int4", "keep workspace_id text", "ydtb_t_items"},
	{"ALTER COLUMN workspace_id DROP NOT NULL",
	 "ALTER TABLE ydtb_t_items ALTER COLUMN workspace_id DROP NOT NULL;\n",
	 "DBR023", 19, "DROP NOT NULL lets rows of package table ydtb_t_items belong to no workspace", NULL, "ydtb_t_items"},
	{"ADD COLUMN workspace_id without NOT NULL",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_more (id text PRIMARY KEY);\n"
	 "ALTER TABLE ydtb_t_more ADD COLUMN IF NOT EXISTS workspace_id text REFERENCES ydtb_workspaces(id);\n",
	 "DBR023", 20, "ADD COLUMN workspace_id in migration 0001: workspace_id may be null", "NOT NULL", "ydtb_t_more"},
	{"SET SCHEMA",
	 "ALTER TABLE ydtb_t_items SET SCHEMA archive;\n",
	 "DBR020", 19, "SET SCHEMA archive moves package table ydtb_t_items out of the schema the registry manages", NULL,
	 "ydtb_t_items"},
	{"a workspace key to another schema's ydtb_workspaces",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_far (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES "
	 "other.ydtb_workspaces(id));\n",
	 "DBR046", 19, "workspace_id has no foreign key to ydtb_workspaces(id)", "REFERENCES ydtb_workspaces(id)",
	 "ydtb_t_far"},
	{"CREATE TABLE without a primary key",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_nokey (id text, workspace_id text NOT NULL REFERENCES ydtb_workspaces(id));\n",
	 "DBR046", 19, "table ydtb_t_nokey created by migration 0001 has no primary key", "PRIMARY KEY", "ydtb_t_nokey"},
	{"DROP CONSTRAINT on the primary key",
	 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_pkey;\n",
	 "DBR046", 19, "ALTER TABLE ydtb_t_items DROP CONSTRAINT ydtb_t_items_pkey leaves package table ydtb_t_items without a primary key",
	 "keep the primary key", "ydtb_t_items"},
	{"DROP COLUMN of the primary key",
	 "ALTER TABLE ydtb_t_items DROP COLUMN IF EXISTS id;\n",
	 "DBR046", 19, "DROP COLUMN id (a column of its primary key) leaves package table ydtb_t_items without a primary key",
	 "keep the primary key", "ydtb_t_items"},
	{"DROP CONSTRAINT on a renamed primary key",
	 "ALTER TABLE ydtb_t_items RENAME CONSTRAINT ydtb_t_items_pkey TO ydtb_t_items_pk;\n"
	 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_pk;\n",
	 "DBR046", 20, "DROP CONSTRAINT ydtb_t_items_pk leaves package table ydtb_t_items without a primary key", NULL,
	 "ydtb_t_items"},
	{"DROP CONSTRAINT on the workspace foreign key after an index of its name is renamed",
	 "ALTER INDEX IF EXISTS ydtb_t_items_workspace_id_fkey RENAME TO ydtb_t_items_other;\n"
	 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_workspace_id_fkey;\n",
	 "DBR022", 20, "DROP CONSTRAINT ydtb_t_items_workspace_id_fkey drops the foreign key from workspace_id", NULL,
	 "ydtb_t_items"},
	{"DROP CONSTRAINT on a renamed workspace foreign key",
	 "ALTER TABLE ydtb_t_items RENAME CONSTRAINT ydtb_t_items_workspace_id_fkey TO ydtb_t_items_ws;\n"
	 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_ws;\n",
	 "DBR022", 20, "DROP CONSTRAINT ydtb_t_items_ws drops the foreign key from workspace_id", NULL, "ydtb_t_items"},
	{"DROP COLUMN of a renamed key column",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_two (a text, b text, workspace_id text NOT NULL REFERENCES ydtb_workspaces(id),"
	 " CONSTRAINT ydtb_t_two_key PRIMARY KEY (a, b));\n"
	 "ALTER TABLE ydtb_t_two RENAME COLUMN b TO c;\n"
	 "ALTER TABLE ydtb_t_two DROP COLUMN IF EXISTS c;\n",
	 "DBR046", 21, "DROP COLUMN c (a column of its primary key) leaves package table ydtb_t_two without a primary key",
	 NULL, "ydtb_t_two"},
	{"CREATE TABLE AS copies no primary key",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_copy AS SELECT id, workspace_id FROM ydtb_t_items;\n"
	 "ALTER TABLE ydtb_t_copy ALTER COLUMN workspace_id SET NOT NULL;\n"
	 "ALTER TABLE ydtb_t_copy DROP CONSTRAINT IF EXISTS ydtb_t_copy_ws_fk;\n"
	 "ALTER TABLE ydtb_t_copy ADD CONSTRAINT ydtb_t_copy_ws_fk FOREIGN KEY (workspace_id) REFERENCES ydtb_workspaces(id);\n",
	 "DBR046", 19, "table ydtb_t_copy created by migration 0001 has no primary key", "PRIMARY KEY", "ydtb_t_copy"},
	{"a quoted column name that is no SQL identifier",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_q (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES ydtb_workspaces(id),"
	 " \"Title\" text);\n",
	 "DBR046", 19, "migration 0001 names column \"Title\", which is not a valid SQL identifier", "name it title", "ydtb_t_q"},
	{"a quoted column alias of CREATE TABLE AS that is no SQL identifier",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_qa AS SELECT id AS \"Key\", workspace_id FROM ydtb_t_items;\n",
	 "DBR046", 19, "migration 0001 names column \"Key\", which is not a valid SQL identifier", "name it key", "ydtb_t_qa"},
	{"a quoted column list of CREATE TABLE AS that is no SQL identifier",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_ql (\"Key\", workspace_id) AS SELECT id, workspace_id FROM ydtb_t_items;\n",
	 "DBR046", 19, "migration 0001 names column \"Key\", which is not a valid SQL identifier", "name it key", "ydtb_t_ql"},
	{"a quoted column past the column list of CREATE TABLE AS that is no SQL identifier",
	 "CREATE TABLE IF NOT EXISTS ydtb_t_qs (id) AS SELECT id, workspace_id, id AS \"Key\" FROM ydtb_t_items;\n",
	 "DBR046", 19, "migration 0001 names column \"Key\", which is not a valid SQL identifier", "name it key", "ydtb_t_qs"},
	{"a quoted column alias of SELECT INTO that is no SQL identifier",
	 "SELECT id AS \"Key\", workspace_id INTO ydtb_t_qi FROM ydtb_t_items;\n",
	 "DBR046", 19, "migration 0001 names column \"Key\", which is not a valid SQL identifier", "name it key", "ydtb_t_qi"},
	{"a quoted index name that is no SQL identifier",
	 "CREATE INDEX IF NOT EXISTS \"Items by id\" ON ydtb_t_items (id);\n",
	 "DBR046", 19, "migration 0001 names index \"Items by id\"", "name it items_by_id", "ydtb_t_items"},
	{"a foreign key to a table nothing declares",
	 "ALTER TABLE ydtb_t_items ADD COLUMN IF NOT EXISTS other_id text REFERENCES ydtb_nowhere(id);\n",
	 "DBR027", 19, "references ydtb_nowhere, which no package declares and no earlier migration creates", NULL,
	 "ydtb_t_items"},
};

static void test_isolation__every_breaking_statement_at_its_line(void **state)
{
	struct fixture *f = *state;
	char pkg[8192];
	for (size_t i = 0; i < sizeof(broken_cases) / sizeof(broken_cases[0]); i++) {
		const struct broken *b = &broken_cases[i];
		snprintf(pkg, sizeof(pkg), "%s%s%s", PKG_HEAD, b->sql, PKG_TAIL);
		validate_with(f, pkg, NULL);
		const struct dbreg_diag *d = find_said(f->diags, b->code, b->line, b->message);
		if (!d || f->rc != DBREG_EINVALID ||
		    (b->hint && (!d->hint || !strstr(d->hint, b->hint))) || !d->table || strcmp(d->table, b->table) != 0 ||
		    d->column != 1 || !d->migration || strcmp(d->migration, "0001") != 0) {
			dump(f->diags);
			fail_msg("%s: want %s at pkg.toml:%u:1 saying \"%s\"", b->what, b->code, b->line, b->message);
		}
		/* Nothing is blamed on the correct CREATE TABLE. */
		for (size_t k = 0; iso_codes[k]; k++)
			assert_null(find_diag(f->diags, iso_codes[k], 17));
		dbreg_registry_free(f->reg);
		f->reg = NULL;
	}
}

/* The forms that keep the rules: no error at all. */
static const char *const passing_cases[] = {
	/* CREATE TABLE AS whose column list is shorter than the query: workspace_id comes from the query */
	"CREATE TABLE IF NOT EXISTS ydtb_t_copy2 (id) AS SELECT id, workspace_id FROM ydtb_t_items;\n"
	"ALTER TABLE ydtb_t_copy2 ALTER COLUMN workspace_id SET NOT NULL;\n"
	"ALTER TABLE ydtb_t_copy2 DROP CONSTRAINT IF EXISTS ydtb_t_copy2_pkey;\n"
	"ALTER TABLE ydtb_t_copy2 ADD CONSTRAINT ydtb_t_copy2_pkey PRIMARY KEY (id);\n"
	"ALTER TABLE ydtb_t_copy2 DROP CONSTRAINT IF EXISTS ydtb_t_copy2_ws_fk;\n"
	"ALTER TABLE ydtb_t_copy2 ADD CONSTRAINT ydtb_t_copy2_ws_fk FOREIGN KEY (workspace_id) REFERENCES ydtb_workspaces(id) ON DELETE CASCADE;\n",
	/* the primary key dropped and made again in one migration */
	"ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_pkey;\n"
	"ALTER TABLE ydtb_t_items ADD CONSTRAINT ydtb_t_items_pkey PRIMARY KEY (id);\n",
	/* its index renamed, which renames the key: the old name dropped is no key */
	"ALTER INDEX IF EXISTS ydtb_t_items_pkey RENAME TO ydtb_t_items_pk;\n"
	"ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_pkey;\n",
	/* CREATE TABLE AS with workspace_id, then its NOT NULL, foreign key and primary key */
	"CREATE TABLE IF NOT EXISTS ydtb_t_copy AS SELECT id, workspace_id FROM ydtb_t_items;\n"
	"ALTER TABLE ydtb_t_copy ALTER COLUMN workspace_id SET NOT NULL;\n"
	"ALTER TABLE ydtb_t_copy DROP CONSTRAINT IF EXISTS ydtb_t_copy_pkey;\n"
	"ALTER TABLE ydtb_t_copy ADD CONSTRAINT ydtb_t_copy_pkey PRIMARY KEY (id);\n"
	"ALTER TABLE ydtb_t_copy DROP CONSTRAINT IF EXISTS ydtb_t_copy_ws_fk;\n"
	"ALTER TABLE ydtb_t_copy ADD CONSTRAINT ydtb_t_copy_ws_fk FOREIGN KEY (workspace_id) REFERENCES ydtb_workspaces(id) ON DELETE CASCADE;\n",
	/* LIKE with the foreign key declared next to it */
	"CREATE TABLE IF NOT EXISTS ydtb_t_like (LIKE ydtb_t_items INCLUDING ALL,"
	" CONSTRAINT ydtb_t_like_ws_fk FOREIGN KEY (workspace_id) REFERENCES ydtb_workspaces (id) ON DELETE CASCADE);\n",
	/* a partition has its parent's foreign key */
	"CREATE TABLE IF NOT EXISTS ydtb_t_items_w1 PARTITION OF ydtb_t_items FOR VALUES IN ('w1');\n",
	/* a rename that keeps the prefix */
	"ALTER TABLE IF EXISTS ydtb_t_items RENAME TO ydtb_t_things;\n",
	/* the foreign key dropped and added again in the same migration */
	"ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_workspace_id_fkey;\n"
	"ALTER TABLE ydtb_t_items ADD CONSTRAINT ydtb_t_items_workspace_id_fkey FOREIGN KEY (workspace_id)"
	" REFERENCES ydtb_workspaces (id) ON DELETE CASCADE;\n",
	/* another constraint dropped, another column's NOT NULL dropped */
	"ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_other_check;\n"
	"ALTER TABLE ydtb_t_items ALTER COLUMN id DROP NOT NULL;\n",
	/* ALTER CONSTRAINT ... NOT DEFERRABLE keeps it checked per statement */
	"ALTER TABLE ydtb_t_items ALTER CONSTRAINT ydtb_t_items_workspace_id_fkey NOT DEFERRABLE;\n",
	/* CREATE TABLE IF NOT EXISTS of a table already made does nothing */
	"CREATE TABLE IF NOT EXISTS ydtb_t_items (id text PRIMARY KEY);\n",
	/* DEFERRABLE undone by NOT DEFERRABLE in a later statement */
	"ALTER TABLE ydtb_t_items ALTER CONSTRAINT ydtb_t_items_workspace_id_fkey DEFERRABLE;\n"
	"ALTER TABLE ydtb_t_items ALTER CONSTRAINT ydtb_t_items_workspace_id_fkey NOT DEFERRABLE;\n",
	/* workspace_id as varchar still matches ydtb_workspaces.id */
	"ALTER TABLE ydtb_t_items ALTER COLUMN workspace_id TYPE varchar(64);\n",
	/* ADD COLUMN workspace_id done right */
	"CREATE TABLE IF NOT EXISTS ydtb_t_more (id text PRIMARY KEY);\n"
	"ALTER TABLE ydtb_t_more ADD COLUMN IF NOT EXISTS workspace_id text NOT NULL REFERENCES ydtb_workspaces(id);\n",
	/* a foreign key to a table of this package */
	"CREATE TABLE IF NOT EXISTS ydtb_t_sub (id text PRIMARY KEY, item_id text REFERENCES ydtb_t_items (id),"
	" workspace_id text NOT NULL REFERENCES ydtb_workspaces (id));\n",
	/* the core's table, in the default schema by name */
	"CREATE TABLE IF NOT EXISTS ydtb_t_pub (id text PRIMARY KEY,"
	" workspace_id text NOT NULL REFERENCES public.ydtb_workspaces (id));\n",
};

static void test_isolation__passing_forms_pass(void **state)
{
	struct fixture *f = *state;
	char pkg[8192];
	for (size_t i = 0; i < sizeof(passing_cases) / sizeof(passing_cases[0]); i++) {
		snprintf(pkg, sizeof(pkg), "%s%s%s", PKG_HEAD, passing_cases[i], PKG_TAIL);
		validate_with(f, pkg, NULL);
		if (f->rc != 0 || count_codes(f->diags, iso_codes) != 0) {
			dump(f->diags);
			fail_msg("passing form %zu has errors:\n%s", i, passing_cases[i]);
		}
		dbreg_registry_free(f->reg);
		f->reg = NULL;
	}
}

/* The case: DROP NOT NULL in a later migration is reported at the
 * ALTER, not at the CREATE TABLE of the first migration; a still later
 * SET NOT NULL clears it. */
static void test_isolation__drop_not_null_in_a_later_migration(void **state)
{
	struct fixture *f = *state;
	static const char later[] = PKG_HEAD PKG_TAIL
		"\n"                                                                  /* 20 */
		"[[migrations]]\n"                                                    /* 21 */
		"id = \"0002\"\n"
		"version = \"1.0.0\"\n"
		"up_sqlite = \"SELECT 1;\"\n"
		"up_postgres = '''\n"                                                 /* 25 */
		"-- nullable for an import\n"
		"ALTER TABLE ydtb_t_items\n"                                          /* 27 */
		"  ALTER COLUMN workspace_id DROP NOT NULL;\n"
		"'''\n";
	validate_with(f, later, NULL);
	assert_int_equal(f->rc, DBREG_EINVALID);
	const struct dbreg_diag *d = find_diag(f->diags, "DBR023", 27);
	if (!d)
		dump(f->diags);
	assert_non_null(d);
	assert_int_equal(d->column, 1);
	assert_string_equal(d->migration, "0002");
	assert_int_equal(count_codes(f->diags, iso_codes), 1);

	dbreg_registry_free(f->reg);
	static const char repaired[] = PKG_HEAD PKG_TAIL
		"\n"
		"[[migrations]]\n"
		"id = \"0002\"\n"
		"version = \"1.0.0\"\n"
		"up_sqlite = \"SELECT 1;\"\n"
		"up_postgres = '''\n"
		"ALTER TABLE ydtb_t_items ALTER COLUMN workspace_id DROP NOT NULL;\n"
		"UPDATE ydtb_t_items SET workspace_id = 'w1' WHERE workspace_id IS NULL;\n"
		"ALTER TABLE ydtb_t_items ALTER COLUMN workspace_id SET NOT NULL;\n"
		"'''\n";
	validate_with(f, repaired, NULL);
	assert_int_equal(count_codes(f->diags, iso_codes), 0);
}

/* Every version can be installed alone (apply --to PKG@V), so a key the
 * last migration of 1.0.0 leaves dropped is DBR046 there, though 1.1.0
 * adds it back; dropped and added back within 1.1.0 passes. The same for
 * the workspace foreign key (DBR022). */
static const char *version_pkg(char *out, size_t size, const char *v2, const char *drop, const char *add)
{
	snprintf(out, size,
		 ISO_HEAD("1.1.0")
		 "up_postgres = '''CREATE TABLE IF NOT EXISTS ydtb_t_items (id text PRIMARY KEY, workspace_id text NOT NULL "
		 "REFERENCES ydtb_workspaces(id) ON DELETE CASCADE); "
		 "CREATE INDEX IF NOT EXISTS ydtb_t_items_workspace_id_idx ON ydtb_t_items (workspace_id);'''\n"
		 "\n"
		 "[[migrations]]\n"
		 "id = \"0002\"\n"                                                    /* 19 */
		 "version = \"%s\"\n"
		 "up_sqlite = \"SELECT 1;\"\n"
		 "up_postgres = '''\n"
		 "%s'''\n"                                                            /* 23 */
		 "\n"
		 "[[migrations]]\n"
		 "id = \"0003\"\n"
		 "version = \"1.1.0\"\n"
		 "up_sqlite = \"SELECT 1;\"\n"
		 "up_postgres = '''\n"
		 "%s'''\n",
		 v2, drop, add);
	return out;
}

static void test_isolation__the_rules_hold_at_the_end_of_every_version(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *drop, *add, *code, *words;
	} cases[] = {
		{"ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_pkey;\n",
		 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_pkey;\n"
		 "ALTER TABLE ydtb_t_items ADD CONSTRAINT ydtb_t_items_pkey PRIMARY KEY (id);\n", "DBR046",
		 "without a primary key"},
		{"ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_workspace_id_fkey;\n",
		 "ALTER TABLE ydtb_t_items DROP CONSTRAINT IF EXISTS ydtb_t_items_workspace_id_fkey;\n"
		 "ALTER TABLE ydtb_t_items ADD CONSTRAINT ydtb_t_items_workspace_id_fkey FOREIGN KEY (workspace_id)"
		 " REFERENCES ydtb_workspaces (id) ON DELETE CASCADE;\n",
		 "DBR022", "drops the foreign key"},
	};
	char pkg[4096];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* 1.0.0 ends with it dropped: reported at the DROP, once */
		validate_with(f, version_pkg(pkg, sizeof(pkg), "1.0.0", cases[i].drop, cases[i].add), NULL);
		const struct dbreg_diag *d = find_said(f->diags, cases[i].code, 23, cases[i].words);
		if (!d || count_codes(f->diags, iso_codes) != 1) {
			dump(f->diags);
			fail_msg("case %zu: want one %s at pkg.toml:23", i, cases[i].code);
		}
		assert_int_equal(f->rc, DBREG_EINVALID);
		assert_string_equal(d->migration, "0002");
		assert_non_null(strstr(d->hint, "same version"));
		dbreg_registry_free(f->reg);
		f->reg = NULL;
		/* dropped and added back within 1.1.0: no version lacks it */
		validate_with(f, version_pkg(pkg, sizeof(pkg), "1.1.0", cases[i].drop, cases[i].add), NULL);
		if (f->rc != 0 || count_codes(f->diags, iso_codes) != 0) {
			dump(f->diags);
			fail_msg("case %zu: dropped and added back within one version must pass", i);
		}
		dbreg_registry_free(f->reg);
		f->reg = NULL;
	}
}

/* A table 1.0.0 creates without workspace_id and 1.1.0 mends: the finding
 * says it is about the end of 1.0.0; a LIKE copy of it made in 1.1.0 and
 * never mended is reported too (at the end, as before versions counted). */
static void test_isolation__a_version_mended_later_says_which_version(void **state)
{
	struct fixture *f = *state;
	static const char pkg[] =
		ISO_HEAD("1.1.0")
		"up_postgres = '''\n"
		"CREATE TABLE IF NOT EXISTS ydtb_t_items (id text PRIMARY KEY);\n"               /* 17 */
		"'''\n"
		"\n"
		"[[migrations]]\n"                                                                 /* 20 */
		"id = \"0002\"\n"
		"version = \"1.1.0\"\n"
		"up_sqlite = \"SELECT 1;\"\n"
		"up_postgres = '''\n"
		"CREATE TABLE IF NOT EXISTS ydtb_t_copy (LIKE ydtb_t_items);\n"                  /* 25 */
		"ALTER TABLE ydtb_t_items ADD COLUMN IF NOT EXISTS workspace_id text NOT NULL"
		" REFERENCES ydtb_workspaces(id) ON DELETE CASCADE;\n"
		"CREATE INDEX IF NOT EXISTS ydtb_t_items_workspace_id_idx ON ydtb_t_items (workspace_id);\n"
		"'''\n";
	validate_with(f, pkg, NULL);
	assert_int_equal(f->rc, DBREG_EINVALID);
	const struct dbreg_diag *items = NULL, *copy = NULL;
	for (size_t i = 0; i < f->diags->len; i++) {
		const struct dbreg_diag *d = &f->diags->items[i];
		if (strcmp(d->code, "DBR046") != 0 || !d->table)
			continue;
		if (strcmp(d->table, "ydtb_t_items") == 0)
			items = d;
		else if (strcmp(d->table, "ydtb_t_copy") == 0)
			copy = d;
	}
	if (!items || !copy || count_codes(f->diags, iso_codes) != 2) {
		dump(f->diags);
		fail_msg("want one DBR046 for ydtb_t_items (end of 1.0.0) and one for ydtb_t_copy");
	}
	assert_int_equal(items->line, 17);
	assert_non_null(strstr(items->message, "no workspace_id column at the end of version 1.0.0, which apply --to @t/iso@1.0.0 installs"));
	assert_non_null(strstr(items->hint, "by the end of version 1.0.0"));
	/* The copy is broken to the end: said as it always was. */
	assert_null(strstr(copy->message, "at the end of version"));

	/* 1.1.0 breaks it again elsewhere, mending nothing: no "mends it". */
	dbreg_registry_free(f->reg);
	f->reg = NULL;
	char again[sizeof pkg + 256];
	const char *cut = strstr(pkg, "CREATE TABLE IF NOT EXISTS ydtb_t_copy");
	snprintf(again, sizeof again, "%.*sALTER TABLE ydtb_t_items DROP COLUMN IF EXISTS workspace_id;\n'''\n",
		 (int)(cut - pkg), pkg);
	validate_with(f, again, NULL);
	assert_int_equal(f->rc, DBREG_EINVALID);
	size_t at_end_of_1_0 = 0;
	for (size_t i = 0; i < f->diags->len; i++) {
		const struct dbreg_diag *d = &f->diags->items[i];
		if (strstr(d->message, "mends it")) {
			dump(f->diags);
			fail_msg("nothing mends it: %s", d->message);
		}
		at_end_of_1_0 += strstr(d->message, "at the end of version 1.0.0") != NULL;
	}
	assert_int_equal(at_end_of_1_0, 1);
}

/* DBR027 at the statement: a foreign key to a table of a package that
 * is not a dependency; declaring the dependency clears it. */
static void test_isolation__foreign_key_to_a_package_not_depended_on(void **state)
{
	struct fixture *f = *state;
	static const char other[] =
		"[package]\n"
		"name = \"@t/other\"\n"
		"version = \"1.2.0\"\n"
		"\n"
		"[tables.ydtb_o_things]\n"
		"description = \"Things\"\n"
		"workspace_scoped = true\n"
		"\n"
		"[tables.ydtb_o_things.columns]\n"
		"id = { type = \"text\", primary_key = true }\n";
	validate_with(f, PKG_HEAD "ALTER TABLE ydtb_t_items ADD COLUMN IF NOT EXISTS thing_id text REFERENCES ydtb_o_things (id);\n" PKG_TAIL,
		      other);
	const struct dbreg_diag *d = find_diag(f->diags, "DBR027", 19);
	if (!d)
		dump(f->diags);
	assert_non_null(d);
	assert_non_null(strstr(d->message, "references ydtb_o_things, a table of @t/other, which @t/iso does not depend on"));
	assert_string_equal(d->hint, "add \"@t/other\" = \"^1.2.0\" to [dependencies]");
	dbreg_registry_free(f->reg);

	char pkg[8192];
	snprintf(pkg, sizeof(pkg), "%s", PKG_HEAD "ALTER TABLE ydtb_t_items ADD COLUMN IF NOT EXISTS thing_id text REFERENCES ydtb_o_things (id);\n" PKG_TAIL);
	/* The same package with the dependency declared. */
	char *deps = strstr(pkg, "\n\n[tables.ydtb_t_items]");
	assert_non_null(deps);
	char with[9000];
	snprintf(with, sizeof(with), "%.*s\n\n[dependencies]\n\"@t/other\" = \"^1.2.0\"%s", (int)(deps - pkg), pkg, deps);
	validate_with(f, with, other);
	assert_null(find_diag(f->diags, "DBR027", 22));
	assert_int_equal(count_codes(f->diags, iso_codes), 0);
}

/* Down bodies and the core package follow no isolation rule per statement. */
static void test_isolation__down_bodies_and_the_core_are_exempt(void **state)
{
	struct fixture *f = *state;
	validate_with(f, PKG_HEAD PKG_TAIL
		      "down_postgres = '''\n"
		      "ALTER TABLE IF EXISTS ydtb_t_items RENAME TO t_items_old;\n"
		      "DROP TABLE IF EXISTS t_items_old;\n"
		      "'''\n", NULL);
	assert_int_equal(count_codes(f->diags, iso_codes), 0);
}

/* [isolation] in dbreg.toml: the three keys read, wrong types and a bad
 * setting name refused with their line, an unknown key named. */
static void test_isolation__project_file_isolation_section(void **state)
{
	(void)state;
	char dir[] = "/tmp/dbreg-iso-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/dbreg.toml", dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("[isolation]\nrow_level_security = true\nsetting = \"tenant.id\"\nworkspace_keys = true\n", fp);
	fclose(fp);
	struct dbreg_diag_list diags = DBREG_DIAG_LIST_INIT;
	struct dbreg_project *p = NULL;
	assert_int_equal(dbreg_project_open(&p, dir, &diags), 0);
	assert_true(p->isolation.row_level_security);
	assert_true(p->isolation.workspace_keys);
	assert_string_equal(p->isolation.setting, "tenant.id");
	dbreg_project_free(p);

	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("[isolation]\nrow_level_security = \"yes\"\nsetting = \"app.workspace_id'; DROP TABLE x; --\"\nworkspace_key = true\n", fp);
	fclose(fp);
	p = NULL;
	assert_int_equal(dbreg_project_open(&p, dir, &diags), DBREG_EINVALID);
	assert_null(p);
	const char *want[][2] = {{"DBR014", "2"}, {"DBR014", "3"}, {"DBR013", "4"}};
	for (size_t k = 0; k < 3; k++) {
		bool found = false;
		for (size_t i = 0; i < diags.len; i++)
			found |= strcmp(diags.items[i].code, want[k][0]) == 0 && diags.items[i].line == (unsigned)atoi(want[k][1]);
		if (!found)
			dump(&diags);
		assert_true(found);
	}
	dbreg_diag_list_dispose(&diags);
	remove(path);
	rmdir(dir);
}

/* DBR106: a workspace table keyed by id alone, then by (workspace_id, id). */
static const char keys_toml[] =
	"[package]\n"                                                  /*  1 */
	"name = \"@t/keys\"\n"
	"version = \"1.0.0\"\n"
	"\n"
	"[tables.ydtb_k_items]\n"                                       /*  5 */
	"description = \"Items\"\n"
	"workspace_scoped = true\n"
	"%s"                                                           /*  8: primary_key = [...] or nothing */
	"\n"
	"[tables.ydtb_k_items.columns]\n"
	"id = { type = \"text\"%s }\n";                                /* 11 */

static void validate_keys(struct fixture *f, bool composite, bool workspace_keys)
{
	char pkg[1024];
	snprintf(pkg, sizeof(pkg), keys_toml, composite ? "primary_key = [\"workspace_id\", \"id\"]\n" : "\n",
		 composite ? ", not_null = true" : ", primary_key = true");
	assert_int_equal(dbreg_registry_new(&f->reg), 0);
	struct dbreg_isolation iso = {.workspace_keys = workspace_keys};
	assert_int_equal(dbreg_registry_set_isolation(f->reg, &iso), 0);
	assert_int_equal(dbreg_registry_add_string(f->reg, "core.toml", NULL, core_toml, strlen(core_toml)), 0);
	assert_int_equal(dbreg_registry_add_string(f->reg, "pkg.toml", NULL, pkg, strlen(pkg)), 0);
	struct dbreg_validate_opts opts = {.skip_sql = true};
	f->rc = dbreg_registry_validate(f->reg, &opts);
	f->diags = dbreg_registry_diags(f->reg);
}

static void test_isolation__dbr106_for_a_key_without_workspace_id(void **state)
{
	struct fixture *f = *state;
	static const char *const dbr106[] = {"DBR106", NULL};
	validate_keys(f, false, true);
	const struct dbreg_diag *d = find_diag(f->diags, "DBR106", 11);
	if (!d)
		dump(f->diags);
	assert_non_null(d);
	assert_int_equal(d->severity, DBREG_SEV_WARNING);
	assert_int_equal(f->rc, 0);
	assert_string_equal(d->table, "ydtb_k_items");
	assert_non_null(strstr(d->message, "primary key of workspace table \"ydtb_k_items\" does not include workspace_id"));
	assert_string_equal(d->hint, "declare primary_key = [\"workspace_id\", \"id\"] on [tables.ydtb_k_items]");
	assert_int_equal(count_codes(f->diags, dbr106), 1);
	dbreg_registry_free(f->reg);

	/* The composite key it names clears it. */
	validate_keys(f, true, true);
	assert_int_equal(count_codes(f->diags, dbr106), 0);
	assert_int_equal(f->rc, 0);
	dbreg_registry_free(f->reg);

	/* Silent by default. */
	validate_keys(f, false, false);
	assert_int_equal(count_codes(f->diags, dbr106), 0);
}

/* The real core's workspace tables follow DBR106 (tomls/core.toml). */
static void test_isolation__dbr106_the_core_workspace_tables_follow_it(void **state)
{
	struct fixture *f = *state;
	const char *tomls = getenv("DBREG_TOMLS");
	if (!tomls)
		skip();
	char path[1024];
	snprintf(path, sizeof(path), "%s/core.toml", tomls);
	assert_int_equal(dbreg_registry_new(&f->reg), 0);
	struct dbreg_isolation iso = {.workspace_keys = true};
	assert_int_equal(dbreg_registry_set_isolation(f->reg, &iso), 0);
	assert_int_equal(dbreg_registry_add_file(f->reg, path), 0);
	struct dbreg_validate_opts opts = {.skip_sql = true};
	assert_int_equal(dbreg_registry_validate(f->reg, &opts), 0);
	f->diags = dbreg_registry_diags(f->reg);
	static const char *const dbr106[] = {"DBR106", NULL};
	if (count_codes(f->diags, dbr106))
		dump(f->diags);
	assert_int_equal(count_codes(f->diags, dbr106), 0);
	/* A bad setting is refused. */
	struct dbreg_isolation bad = {.row_level_security = true};
	snprintf(bad.setting, sizeof(bad.setting), "%s", "app.x'; --");
	assert_int_equal(dbreg_registry_set_isolation(f->reg, &bad), DBREG_EUSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_isolation__every_breaking_statement_at_its_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation__passing_forms_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation__drop_not_null_in_a_later_migration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation__the_rules_hold_at_the_end_of_every_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation__a_version_mended_later_says_which_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation__foreign_key_to_a_package_not_depended_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation__down_bodies_and_the_core_are_exempt, setup, teardown),
		cmocka_unit_test(test_isolation__project_file_isolation_section),
		cmocka_unit_test_setup_teardown(test_isolation__dbr106_for_a_key_without_workspace_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation__dbr106_the_core_workspace_tables_follow_it, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
