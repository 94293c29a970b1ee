/* Unit tests of the type authority (types.c), the schema model and the one
 * differ (schema.c, schemadiff.c): how each database's spelling of a type
 * is judged, which typed difference each change gives, and the state
 * file's text form read back to the same model. Internals: meson says so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry.h"
#include "schemadiff.h"

#include <stdlib.h>
#include <string.h>

/* ---- types.c ------------------------------------------------------------- */

static void test_types__spellings_of_both_dialects_parse(void **state)
{
	(void)state;
	static const struct { const char *spelling, *type; int n_params; long p0, p1; } cases[] = {
		{"int", "integer", 0, 0, 0},
		{"INT4", "integer", 0, 0, 0},
		{"BOOLEAN", "boolean", 0, 0, 0},
		{"bool", "boolean", 0, 0, 0},
		{"double precision", "double", 0, 0, 0},
		{"timestamp with time zone", "timestamptz", 0, 0, 0},
		{"timestamp(3) with time zone", "timestamptz", 1, 3, 0},
		{"character varying(20)", "varchar", 1, 20, 0},
		{"VARCHAR ( 20 )", "varchar", 1, 20, 0},
		{"numeric(10, 2)", "numeric", 2, 10, 2},
		{"decimal", "numeric", 0, 0, 0},
		{"bpchar", "char", 0, 0, 0},
		{"serial8", "bigserial", 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dbreg_type t;
		if (dbreg_type_parse(cases[i].spelling, &t) != 0)
			fail_msg("%s does not parse", cases[i].spelling);
		assert_string_equal(t.info->name, cases[i].type);
		assert_int_equal(t.n_params, cases[i].n_params);
		assert_int_equal(t.params[0], cases[i].p0);
		assert_int_equal(t.params[1], cases[i].p1);
	}
	/* Habits from elsewhere are hints, not spellings a database takes. */
	struct dbreg_type t;
	assert_int_equal(dbreg_type_parse("string", &t), -1);
	assert_int_equal(dbreg_type_parse("datetime", &t), -1);
	assert_int_equal(dbreg_type_parse("varchar(1,2,3)", &t), -1);
	assert_null(t.info);
}

/* What a manifest may write: the portable names with the parameters
 * PostgreSQL takes, so that validate accepts no type init then fails on. */
static void test_types__lookup_takes_only_what_postgres_takes(void **state)
{
	(void)state;
	static const char *const ok[] = {"text", "VARCHAR(20)", "varchar ( 20 )", "varchar", "char(1)",
					 "varchar(10485760)", "numeric(1000,2)", "numeric(10)", "numeric(5,5)",
					 "timestamptz", NULL};
	static const char *const refused[] = {"char(0)", "varchar(0)", "varchar(10485761)", "numeric(0)",
					      "numeric(1001)", "numeric(5,6)", "numeric(2,-1)", "numeric(10,2,3)",
					      "varchar()", "varchar(20", "(20)varchar", "\"text\"", "int",
					      "double precision", "timestamp with time zone", "text[]",
					      "varchar(99999999999999999999)", "text(5)", NULL};
	for (size_t i = 0; ok[i]; i++)
		if (!dbreg_type_lookup(ok[i]))
			fail_msg("%s is refused", ok[i]);
	for (size_t i = 0; refused[i]; i++)
		if (dbreg_type_lookup(refused[i]))
			fail_msg("%s is taken", refused[i]);
	/* The hint still names the type meant. */
	assert_string_equal(dbreg_type_nearest("char(0)"), "char");
	assert_string_equal(dbreg_type_nearest("double   precision"), "double");
}

static void test_types__stores_judges_each_dialect(void **state)
{
	(void)state;
	static const struct { const char *declared, *spelling; enum dbreg_dialect d; bool ok; } cases[] = {
		/* SQLite: the same type in any spelling, or the declared affinity. */
		{"timestamptz", "timestamptz", DBREG_DIALECT_SQLITE, true},
		{"timestamptz", "TEXT", DBREG_DIALECT_SQLITE, true},
		/* NUMERIC keeps text that is not a number as it is: dates and
		 * times, blobs; not uuid or json text ('0001' becomes 1). */
		{"timestamptz", "datetime", DBREG_DIALECT_SQLITE, true},
		{"date", "date", DBREG_DIALECT_SQLITE, true},
		{"uuid", "uuid", DBREG_DIALECT_SQLITE, false},
		{"uuid", "varchar(36)", DBREG_DIALECT_SQLITE, true},
		{"json", "json", DBREG_DIALECT_SQLITE, false},
		{"jsonb", "jsonb", DBREG_DIALECT_SQLITE, false},
		{"jsonb", "TEXT", DBREG_DIALECT_SQLITE, true},
		{"numeric(10,2)", "integer", DBREG_DIALECT_SQLITE, false},
		{"bigserial", "bigserial", DBREG_DIALECT_SQLITE, true},
		{"double", "numeric", DBREG_DIALECT_SQLITE, false},
		{"text", "uuid", DBREG_DIALECT_SQLITE, false},
		{"boolean", "BOOLEAN", DBREG_DIALECT_SQLITE, true},
		{"boolean", "integer", DBREG_DIALECT_SQLITE, true},
		{"boolean", "text", DBREG_DIALECT_SQLITE, false},
		{"varchar(20)", "varchar(30)", DBREG_DIALECT_SQLITE, true},
		{"bytea", "bytea", DBREG_DIALECT_SQLITE, true},
		{"bytea", "integer", DBREG_DIALECT_SQLITE, false},
		{"serial", "integer", DBREG_DIALECT_SQLITE, true},
		/* PostgreSQL: the same type; parameters when declared. */
		{"timestamptz", "timestamp with time zone", DBREG_DIALECT_POSTGRES, true},
		{"timestamptz", "timestamp without time zone", DBREG_DIALECT_POSTGRES, false},
		{"varchar(20)", "character varying(20)", DBREG_DIALECT_POSTGRES, true},
		{"varchar(20)", "character varying(30)", DBREG_DIALECT_POSTGRES, false},
		{"varchar", "character varying(30)", DBREG_DIALECT_POSTGRES, true},
		{"numeric(10)", "numeric(10,0)", DBREG_DIALECT_POSTGRES, true},
		{"serial", "integer", DBREG_DIALECT_POSTGRES, true},
		{"bigserial", "integer", DBREG_DIALECT_POSTGRES, false},
		{"text", "character varying", DBREG_DIALECT_POSTGRES, false},
		{"double", "double precision", DBREG_DIALECT_POSTGRES, true},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dbreg_type want;
		assert_int_equal(dbreg_type_parse(cases[i].declared, &want), 0);
		if (dbreg_type_stores(&want, cases[i].spelling, cases[i].d) != cases[i].ok)
			fail_msg("declared %s, %s reports %s: expected %s", cases[i].declared,
				 cases[i].d == DBREG_DIALECT_SQLITE ? "SQLite" : "PostgreSQL", cases[i].spelling,
				 cases[i].ok ? "stores" : "does not store");
	}
}

/* ---- the differ -------------------------------------------------------------- */

static const char pkg_toml[] =
	"[package]\nname = \"@t/d\"\nversion = \"1.0.0\"\n"
	"[tables.ydtb_d]\ndescription = \"D\"\nworkspace_scoped = true\nunique = [[\"a\", \"b\"]]\n"
	"[tables.ydtb_d.columns]\n"
	"id = { type = \"serial\", primary_key = true }\n"
	"a = { type = \"varchar(20)\", not_null = true, default = \"x'y\" }\n"
	"b = { type = \"integer\", default = 3 }\n"
	"at = { type = \"timestamptz\", default_sql = \"now()\" }\n"
	"ref = { type = \"integer\", references = \"ydtb_d.id\", on_delete = \"set null\" }\n"
	"[tables.ydtb_d.indexes]\nydtb_d_ab_idx = { columns = [\"a\", \"b\"] }\n";

static struct dbreg_package *load(void)
{
	struct dbreg_package *pkg = NULL;
	struct dbreg_diag_list diags = DBREG_DIAG_LIST_INIT;
	assert_int_equal(dbreg_manifest_load(&pkg, &diags, "d.toml", NULL, pkg_toml, strlen(pkg_toml)), 0);
	assert_non_null(pkg);
	assert_int_equal(diags.errors, 0);
	dbreg_diag_list_dispose(&diags);
	return pkg;
}

/* dbreg_package_table over a package of many tables (a binary search of
 * the loader's index): every name found as the search in order finds it,
 * names that are prefixes of others or between them not. */
static void test_model__tables_found_by_name_among_many(void **state)
{
	(void)state;
	enum { N = 40 };
	char text[N * 160 + 64];
	size_t off = (size_t)snprintf(text, sizeof text, "[package]\nname = \"@t/d\"\nversion = \"1.0.0\"\n");
	for (int i = 0; i < N; i++) {
		int k = (i * 17) % N;   /* declared out of name order */
		off += (size_t)snprintf(text + off, sizeof text - off,
					"[tables.ydtb_d_t%d]\ndescription = \"t\"\n[tables.ydtb_d_t%d.columns]\nid = { type = \"text\", primary_key = true }\n",
					k, k);
		assert_true(off < sizeof text);
	}
	struct dbreg_package *pkg = NULL;
	struct dbreg_diag_list diags = DBREG_DIAG_LIST_INIT;
	assert_int_equal(dbreg_manifest_load(&pkg, &diags, "d.toml", NULL, text, off), 0);
	assert_non_null(pkg);
	assert_int_equal(pkg->n_tables, N);
	assert_non_null(pkg->table_index);
	for (size_t i = 0; i < pkg->n_tables; i++)
		assert_ptr_equal(dbreg_package_table(pkg, pkg->tables[i].name), &pkg->tables[i]);
	const char *absent[] = {"", "ydtb_d_t", "ydtb_d_t100", "ydtb_d_t05", "ydtb_d_t1 ", "ydtb_d_t40", "zzz", "a"};
	for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
		assert_null(dbreg_package_table(pkg, absent[i]));
	assert_null(dbreg_package_table(pkg, NULL));
	dbreg_package_free(pkg);
	dbreg_diag_list_dispose(&diags);
}

/* A catalog as PostgreSQL would report the declaration, for the tests to
 * change one thing at a time. */
struct cat_fixture {
	char *cols[6][3];              /* name, type, default */
	bool not_null[6];
	struct dbreg_cat_column columns[6];
	char *pk[1], *ix_cols[2], *ix2_cols[2], *fk_cols[1], *fk_ref[1];
	struct dbreg_cat_index indexes[3];
	struct dbreg_cat_fkey fkeys[3];
	struct dbreg_cat_table table;
	struct dbreg_catalog cat;
};

static void cat_fill(struct cat_fixture *f)
{
	static const char *const cols[6][3] = {
		{"id", "integer", "nextval('ydtb_d_id_seq'::regclass)"},
		{"workspace_id", "text", NULL},
		{"a", "character varying(20)", "'x''y'::character varying"},
		{"b", "integer", "3"},
		{"at", "timestamp with time zone", "now()"},
		{"ref", "integer", NULL},
	};
	static const bool nn[6] = {true, true, true, false, false, false};
	memset(f, 0, sizeof *f);
	for (int i = 0; i < 6; i++) {
		f->columns[i] = (struct dbreg_cat_column){.name = (char *)cols[i][0], .type = (char *)cols[i][1],
							  .not_null = nn[i], .default_expr = (char *)cols[i][2]};
	}
	f->pk[0] = "id";
	f->ix_cols[0] = "a";
	f->ix_cols[1] = "b";
	f->ix2_cols[0] = "workspace_id";
	f->indexes[0] = (struct dbreg_cat_index){.name = "ydtb_d_ab_idx", .columns = f->ix_cols, .n_columns = 2, .valid = true};
	f->indexes[1] = (struct dbreg_cat_index){.name = "ydtb_d_workspace_id_idx", .columns = f->ix2_cols, .n_columns = 1,
						 .valid = true};
	f->indexes[2] = (struct dbreg_cat_index){.name = "ydtb_d_a_b_key", .columns = f->ix_cols, .n_columns = 2,
						 .unique = true, .valid = true};
	f->fk_cols[0] = "ref";
	f->fk_ref[0] = "id";
	static char *ws_col[1] = {"workspace_id"}, *ws_ref[1] = {"id"};
	f->fkeys[0] = (struct dbreg_cat_fkey){.columns = f->fk_cols, .ref_columns = f->fk_ref, .n_columns = 1,
					      .ref_table = "ydtb_d", .on_delete = "set null", .on_update = "no action"};
	f->fkeys[1] = (struct dbreg_cat_fkey){.columns = ws_col, .ref_columns = ws_ref, .n_columns = 1,
					      .ref_table = "ydtb_workspaces", .on_delete = "cascade", .on_update = "no action"};
	f->table = (struct dbreg_cat_table){.name = "ydtb_d", .columns = f->columns, .n_columns = 6,
					    .primary_key = f->pk, .n_primary_key = 1, .fkeys = f->fkeys, .n_fkeys = 2,
					    .indexes = f->indexes, .n_indexes = 3};
	f->cat = (struct dbreg_catalog){.tables = &f->table, .n_tables = 1};
}

/* The kinds the differ finds between the package and the catalog of a
 * database of that dialect; *lost: whether the first is a serial that no
 * sequence fills. */
static size_t diff_kinds_of(const struct dbreg_package *pkg, const struct dbreg_catalog *cat, enum dbreg_dialect dl,
			    enum dbreg_sdiff_kind *out, size_t max, bool *lost)
{
	struct dbreg_schema *want = NULL, *have = NULL;
	assert_int_equal(dbreg_schema_new(&want, DBREG_SCHEMA_DECLARED, dl), 0);
	assert_int_equal(dbreg_schema_new(&have, DBREG_SCHEMA_CATALOG, dl), 0);
	assert_int_equal(dbreg_schema_add_package(want, pkg), 0);
	assert_int_equal(dbreg_schema_add_catalog(have, cat), 0);
	struct dbreg_sdiff_list l = DBREG_SDIFF_LIST_INIT;
	struct dbreg_sdiff_opts opts = {.defaults = true, .extra_tables = true};
	assert_int_equal(dbreg_schema_diff(&l, want, have, &opts), 0);
	size_t n = l.len;
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = l.items[i].kind;
	if (lost)
		*lost = n > 0 && dbreg_sdiff_lost_sequence(&l.items[0]);
	dbreg_sdiff_list_dispose(&l);
	dbreg_schema_free(want);
	dbreg_schema_free(have);
	return n;
}

static size_t diff_kinds(const struct dbreg_package *pkg, const struct dbreg_catalog *cat, enum dbreg_sdiff_kind *out,
			 size_t max)
{
	return diff_kinds_of(pkg, cat, DBREG_DIALECT_POSTGRES, out, max, NULL);
}

static void test_schemadiff__each_change_is_one_typed_difference(void **state)
{
	(void)state;
	struct dbreg_package *pkg = load();
	struct cat_fixture f;
	enum dbreg_sdiff_kind k[8];
	cat_fill(&f);
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 0);

	cat_fill(&f);
	f.table.n_columns = 5; /* ref gone (and with it nothing else: its fkey follows) */
	f.table.n_fkeys = 1;
	f.fkeys[0] = f.fkeys[1];
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 1);
	assert_int_equal(k[0], DBREG_SDIFF_COLUMN_MISSING);

	cat_fill(&f);
	f.columns[2].type = "character varying(30)";
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 1);
	assert_int_equal(k[0], DBREG_SDIFF_COLUMN_TYPE);

	cat_fill(&f);
	f.columns[2].not_null = false;
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 1);
	assert_int_equal(k[0], DBREG_SDIFF_COLUMN_NULLABILITY);

	cat_fill(&f);
	f.columns[3].default_expr = "4";
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 1);
	assert_int_equal(k[0], DBREG_SDIFF_COLUMN_DEFAULT);

	cat_fill(&f);
	f.fkeys[0].on_delete = "cascade";
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 1);
	assert_int_equal(k[0], DBREG_SDIFF_FKEY_ACTION);

	cat_fill(&f);
	f.table.n_indexes = 2; /* the unique (a, b) */
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 1);
	assert_int_equal(k[0], DBREG_SDIFF_UNIQUE_MISSING);

	/* The same index under another name is a naming difference, not a
	 * missing one and an extra one. */
	cat_fill(&f);
	f.indexes[0].name = "ab_idx";
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 1);
	assert_int_equal(k[0], DBREG_SDIFF_INDEX_NAME);

	cat_fill(&f);
	f.indexes[0].valid = false;
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 1);
	assert_int_equal(k[0], DBREG_SDIFF_INDEX_INVALID);
	dbreg_package_free(pkg);
}

/* A serial wants a sequence (a nextval() default or an identity); a
 * column declared without a default takes a sequence, nothing else. */
static void test_schemadiff__serial_needs_a_sequence_and_no_default_means_none(void **state)
{
	(void)state;
	struct dbreg_package *pkg = load();
	struct cat_fixture f;
	enum dbreg_sdiff_kind k[8];
	bool lost = false;

	cat_fill(&f);
	f.columns[0].default_expr = NULL; /* ALTER COLUMN id DROP DEFAULT */
	assert_int_equal(diff_kinds_of(pkg, &f.cat, DBREG_DIALECT_POSTGRES, k, 8, &lost), 1);
	assert_int_equal(k[0], DBREG_SDIFF_COLUMN_DEFAULT);
	assert_true(lost);

	cat_fill(&f);
	f.columns[0].default_expr = NULL;
	f.columns[0].identity = true; /* GENERATED BY DEFAULT AS IDENTITY */
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 0);

	/* SQLite has no sequence: its INTEGER PRIMARY KEY is the rowid. */
	cat_fill(&f);
	f.columns[0].default_expr = NULL;
	assert_int_equal(diff_kinds_of(pkg, &f.cat, DBREG_DIALECT_SQLITE, k, 8, NULL), 0);

	cat_fill(&f);
	f.columns[5].default_expr = "(1 + 1)"; /* ref: declared without a default */
	assert_int_equal(diff_kinds_of(pkg, &f.cat, DBREG_DIALECT_POSTGRES, k, 8, &lost), 1);
	assert_int_equal(k[0], DBREG_SDIFF_COLUMN_DEFAULT);
	assert_false(lost);

	cat_fill(&f);
	f.columns[5].default_expr = "nextval('ydtb_d_ref_seq'::regclass)";
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 0);

	/* A declared literal that is now an expression; on PostgreSQL
	 * without a server to print both, a declared expression against
	 * another cannot be told apart. */
	cat_fill(&f);
	f.columns[3].default_expr = "(1 + 1)"; /* b: declared 3 */
	assert_int_equal(diff_kinds_of(pkg, &f.cat, DBREG_DIALECT_SQLITE, k, 8, NULL), 1);
	assert_int_equal(k[0], DBREG_SDIFF_COLUMN_DEFAULT);
	dbreg_package_free(pkg);
}

/* Foreign keys are matched on their columns and their target: a second
 * one on the declared columns is not declared, before or after it. */
static void test_schemadiff__a_second_foreign_key_on_the_columns_is_extra(void **state)
{
	(void)state;
	struct dbreg_package *pkg = load();
	struct cat_fixture f;
	enum dbreg_sdiff_kind k[8];
	static char *ws_col[1] = {"workspace_id"}, *ws_ref[1] = {"id"};
	struct dbreg_cat_fkey extra = {.columns = ws_col, .ref_columns = ws_ref, .n_columns = 1,
				       .ref_table = "ydtb_workspaces", .on_delete = "no action", .on_update = "no action"};
	for (int before = 0; before < 2; before++) {
		cat_fill(&f);
		if (before) {
			f.fkeys[2] = f.fkeys[1];
			f.fkeys[1] = extra;
		} else {
			f.fkeys[2] = extra;
		}
		f.table.n_fkeys = 3;
		assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 1);
		assert_int_equal(k[0], DBREG_SDIFF_FKEY_EXTRA);
	}
	/* The declared one gone, the other stands for it: its action differs. */
	cat_fill(&f);
	f.fkeys[1] = extra;
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 1);
	assert_int_equal(k[0], DBREG_SDIFF_FKEY_ACTION);

	cat_fill(&f);
	f.fkeys[0].not_valid = true;
	assert_int_equal(diff_kinds(pkg, &f.cat, k, 8), 1);
	assert_int_equal(k[0], DBREG_SDIFF_FKEY_INVALID);
	dbreg_package_free(pkg);
}

/* Defaults against SQLite's catalog, which keeps the text a migration
 * wrote: numbers exactly, expressions as texts (case, blanks and outer
 * parentheses aside) where the declared side is not itself an
 * expression, which may be spelled for PostgreSQL. */
static void test_schemadiff__defaults_against_sqlite_text(void **state)
{
	(void)state;
	static const char toml[] =
		"[package]\nname = \"@t/e\"\nversion = \"1.0.0\"\n"
		"[tables.ydtb_e]\ndescription = \"E\"\n[tables.ydtb_e.columns]\n"
		"id = { type = \"text\", primary_key = true }\n"
		"big = { type = \"bigint\", default = 9007199254740993 }\n"
		"at = { type = \"timestamptz\", default_sql = \"CURRENT_TIMESTAMP\" }\n"
		"ref = { type = \"uuid\", default_sql = \"gen_random_uuid()\" }\n";
	struct dbreg_package *pkg = NULL;
	struct dbreg_diag_list diags = DBREG_DIAG_LIST_INIT;
	assert_int_equal(dbreg_manifest_load(&pkg, &diags, "e.toml", NULL, toml, strlen(toml)), 0);
	assert_int_equal(diags.errors, 0);
	dbreg_diag_list_dispose(&diags);
	static const struct { const char *big, *at, *ref; size_t n; } cases[] = {
		{"9007199254740993", "CURRENT_TIMESTAMP", "(lower(hex(randomblob(16))))", 0},
		{"'9007199254740993'", "(datetime('now'))", "(lower(hex(randomblob(16))))", 0},
		{"9007199254740992", "CURRENT_TIMESTAMP", "(lower(hex(randomblob(16))))", 1},
		{"9007199254740993", "CURRENT_DATE", "(lower(hex(randomblob(16))))", 1},
		{"9007199254740993", "current_time", "(lower(hex(randomblob(16))))", 1},
		{"9007199254740993", "CURRENT_TIMESTAMP", NULL, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dbreg_cat_column cols[4] = {
			{.name = "id", .type = "text", .not_null = true},
			{.name = "big", .type = "integer", .default_expr = (char *)cases[i].big},
			{.name = "at", .type = "text", .default_expr = (char *)cases[i].at},
			{.name = "ref", .type = "text", .default_expr = (char *)cases[i].ref},
		};
		char *pk[1] = {"id"};
		struct dbreg_cat_table t = {.name = "ydtb_e", .columns = cols, .n_columns = 4, .primary_key = pk,
					    .n_primary_key = 1};
		struct dbreg_catalog cat = {.tables = &t, .n_tables = 1};
		enum dbreg_sdiff_kind k[4];
		size_t n = diff_kinds_of(pkg, &cat, DBREG_DIALECT_SQLITE, k, 4, NULL);
		if (n != cases[i].n)
			fail_msg("case %zu (%s, %s, %s): %zu differences, expected %zu", i, cases[i].big, cases[i].at,
				 cases[i].ref ? cases[i].ref : "none", n, cases[i].n);
	}
	dbreg_package_free(pkg);
}

/* Two declared models (a reload, the state file's) compare expressions
 * by their text, case, blanks and outer parentheses aside. */
static void test_schemadiff__declared_expressions_compare_as_text(void **state)
{
	(void)state;
	static const char *const exprs[][2] = {
		{"lower('X')", "( LOWER( 'X' ) )"}, {"1 - -1", "1 - - 1"}, {"lower('X')", "lower('x')"},
		{"1 - -1", "1 --1"}, {"gen_random_uuid()", "md5(random()::text)::uuid"}, {"(1 + 1)", "3"},
	};
	static const bool same[] = {true, true, false, false, false, false};
	for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
		struct dbreg_schema *m[2] = {NULL, NULL};
		struct dbreg_package *pkgs[2] = {NULL, NULL};
		for (int j = 0; j < 2; j++) {
			char toml[512];
			int n = snprintf(toml, sizeof toml,
					 "[package]\nname = \"@t/e\"\nversion = \"1.0.0\"\n[tables.ydtb_e]\ndescription = \"E\"\n"
					 "[tables.ydtb_e.columns]\nid = { type = \"text\", primary_key = true }\n"
					 "v = { type = \"text\", default_sql = \"%s\" }\n", exprs[i][j]);
			struct dbreg_diag_list diags = DBREG_DIAG_LIST_INIT;
			assert_int_equal(dbreg_manifest_load(&pkgs[j], &diags, "e.toml", NULL, toml, (size_t)n), 0);
			dbreg_diag_list_dispose(&diags);
			assert_int_equal(dbreg_schema_new(&m[j], DBREG_SCHEMA_DECLARED, DBREG_DIALECT_POSTGRES), 0);
			assert_int_equal(dbreg_schema_add_package(m[j], pkgs[j]), 0);
		}
		struct dbreg_sdiff_list l = DBREG_SDIFF_LIST_INIT;
		struct dbreg_sdiff_opts opts = {.defaults = true};
		assert_int_equal(dbreg_schema_diff(&l, m[0], m[1], &opts), 0);
		if ((l.len == 0) != same[i])
			fail_msg("%s and %s: %zu differences", exprs[i][0], exprs[i][1], l.len);
		dbreg_sdiff_list_dispose(&l);
		for (int j = 0; j < 2; j++) {
			dbreg_schema_free(m[j]);
			dbreg_package_free(pkgs[j]);
		}
	}
}

/* The state file's form reads back to a model the differ finds equal, and
 * a changed copy is found different. */
static void test_schema__state_text_round_trips(void **state)
{
	(void)state;
	struct dbreg_package *pkg = load();
	struct dbreg_schema *a = NULL, *b = NULL;
	struct dbreg_buf text = DBREG_BUF_INIT;
	assert_int_equal(dbreg_schema_new(&a, DBREG_SCHEMA_DECLARED, DBREG_DIALECT_POSTGRES), 0);
	assert_int_equal(dbreg_schema_add_package(a, pkg), 0);
	assert_int_equal(dbreg_schema_write(&text, a), 0);
	assert_int_equal(dbreg_schema_new(&b, DBREG_SCHEMA_DECLARED, DBREG_DIALECT_POSTGRES), 0);
	assert_int_equal(dbreg_schema_add_text(b, text.ptr, text.len, "@t/d"), 0);
	struct dbreg_sdiff_list l = DBREG_SDIFF_LIST_INIT;
	struct dbreg_sdiff_opts opts = {.defaults = true, .extra_tables = true};
	assert_int_equal(dbreg_schema_diff(&l, a, b, &opts), 0);
	assert_int_equal(l.len, 0);
	assert_int_equal(dbreg_schema_diff(&l, b, a, &opts), 0);
	assert_int_equal(l.len, 0);
	const struct dbreg_schema_table *t = dbreg_schema_table(b, "ydtb_d");
	assert_non_null(t);
	assert_string_equal(t->package, "@t/d");
	const struct dbreg_schema_column *c = dbreg_schema_column(t, "a");
	assert_string_equal(c->def.str, "x'y");
	assert_true(c->def.literal);

	/* A text that is not the form is refused, not half read. */
	struct dbreg_schema *bad = NULL;
	assert_int_equal(dbreg_schema_new(&bad, DBREG_SCHEMA_DECLARED, DBREG_DIALECT_POSTGRES), 0);
	const char *broken = "[[tables]]\nname = \"t\"\n[[tables.columns]]\ntype = \"text\"\n";
	assert_int_equal(dbreg_schema_add_text(bad, broken, strlen(broken), NULL), DBREG_EINVALID);
	assert_int_equal(dbreg_schema_add_text(bad, "[[", 2, NULL), DBREG_EINVALID);
	dbreg_schema_free(bad);
	dbreg_sdiff_list_dispose(&l);
	dbreg_buf_dispose(&text);
	dbreg_schema_free(a);
	dbreg_schema_free(b);
	dbreg_package_free(pkg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types__spellings_of_both_dialects_parse),
		cmocka_unit_test(test_types__lookup_takes_only_what_postgres_takes),
		cmocka_unit_test(test_types__stores_judges_each_dialect),
		cmocka_unit_test(test_schemadiff__each_change_is_one_typed_difference),
		cmocka_unit_test(test_schemadiff__serial_needs_a_sequence_and_no_default_means_none),
		cmocka_unit_test(test_schemadiff__a_second_foreign_key_on_the_columns_is_extra),
		cmocka_unit_test(test_schemadiff__defaults_against_sqlite_text),
		cmocka_unit_test(test_schemadiff__declared_expressions_compare_as_text),
		cmocka_unit_test(test_schema__state_text_round_trips),
		cmocka_unit_test(test_model__tables_found_by_name_among_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
