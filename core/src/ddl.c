/* The DDL that `dbreg generate` writes, as one table of templates per
 * dialect. PostgreSQL's are idempotent by construction (IF [NOT] EXISTS, a
 * DROP CONSTRAINT IF EXISTS before each ADD CONSTRAINT, a DO block that
 * checks the catalog before a column rename), so they pass DBR043; SQLite's
 * run once per database, in the transaction of their history row, and where
 * SQLite has no statement the table is rebuilt. */
#include "ddl.h"

#include <stdio.h>
#include <string.h>

static const char *const ddl_postgres[DDL_COUNT] = {
	[DDL_DROP_TABLE] = "DROP TABLE IF EXISTS {t};",
	[DDL_RENAME_TABLE] = "ALTER TABLE IF EXISTS {t} RENAME TO {n};",
	/* PostgreSQL keeps a renamed table's constraint names (<old>_pkey,
	 * <old>_<col>_fkey); later migrations name them after the table. */
	[DDL_RENAME_CONSTRAINTS] = "DO $$ DECLARE r record; BEGIN\n"
				   "  FOR r IN SELECT conname FROM pg_constraint WHERE conrelid = to_regclass({N})"
				   " AND left(conname, length({T}) + 1) = {T} || '_' LOOP\n"
				   "    EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', {N}, r.conname,"
				   " {N} || substr(r.conname, length({T}) + 1));\n"
				   "  END LOOP;\n"
				   "END $$;",
	[DDL_ADD_COLUMN] = "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS {def};",
	[DDL_DROP_COLUMN] = "ALTER TABLE {t} DROP COLUMN IF EXISTS {c};",
	[DDL_RENAME_COLUMN] = "DO $$ BEGIN\n"
			      "  IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
			      " AND table_name = {T} AND column_name = {C}) THEN\n"
			      "    ALTER TABLE {t} RENAME COLUMN {c} TO {n};\n"
			      "  END IF;\n"
			      "END $$;",
	[DDL_SET_TYPE] = "ALTER TABLE {t} ALTER COLUMN {c} TYPE {type} USING {c}::{type};",
	[DDL_SET_NOT_NULL] = "ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;",
	[DDL_DROP_NOT_NULL] = "ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL;",
	[DDL_SET_DEFAULT] = "ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {expr};",
	[DDL_DROP_DEFAULT] = "ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT;",
	[DDL_DROP_PRIMARY_KEY] = "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {n};",
	[DDL_ADD_PRIMARY_KEY] = "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {n};\n"
				"ALTER TABLE {t} ADD CONSTRAINT {n} PRIMARY KEY {cols};",
	/* NOT VALID: no scan under the lock that ADD CONSTRAINT takes; the
	 * rows are checked by VALIDATE CONSTRAINT, which lets writes go on. */
	[DDL_ADD_FKEY] = "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {n};\n"
			 "ALTER TABLE {t} ADD CONSTRAINT {n} FOREIGN KEY {cols} {ref} NOT VALID;",
	[DDL_VALIDATE_FKEY] = "ALTER TABLE {t} VALIDATE CONSTRAINT {n};",
	[DDL_DROP_FKEY] = "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {n};",
	[DDL_ADD_UNIQUE] = "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {n};\n"
			   "ALTER TABLE {t} ADD CONSTRAINT {n} UNIQUE {cols};",
	/* A unique constraint's index goes with it (DROP INDEX refuses it); a
	 * plain unique index of that name goes by DROP INDEX. */
	[DDL_DROP_UNIQUE] = "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {n};\n"
			    "DROP INDEX IF EXISTS {n};",
	[DDL_CREATE_INDEX] = "CREATE {u}INDEX IF NOT EXISTS {n} ON {t} {cols};",
	[DDL_CREATE_INDEX_ONLINE] = "CREATE {u}INDEX CONCURRENTLY IF NOT EXISTS {n} ON {t} {cols};",
	[DDL_DROP_INDEX] = "DROP INDEX IF EXISTS {n};",
	[DDL_DROP_INDEX_ONLINE] = "DROP INDEX CONCURRENTLY IF EXISTS {n};",
	[DDL_RENAME_INDEX] = "ALTER INDEX IF EXISTS {c} RENAME TO {n};",
	/* What a serial column is: PostgreSQL has no type bigserial to ALTER
	 * TYPE to. The next value comes after the rows' highest. */
	[DDL_ADD_SEQUENCE] = "CREATE SEQUENCE IF NOT EXISTS {n} AS {type} OWNED BY {t}.{c};\n"
			     "SELECT setval({N}, COALESCE(max({c}), 0) + 1, false) FROM {t};\n"
			     "ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT nextval({N}::regclass);",
	[DDL_DROP_SEQUENCE] = "ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT;\n"
			      "DROP SEQUENCE IF EXISTS {n};",
	[DDL_SET_SEQUENCE_TYPE] = "ALTER SEQUENCE IF EXISTS {n} AS {type};",
};

/* NULL: SQLite cannot do it in place (types, nullability, defaults, keys):
 * the table is rebuilt. */
static const char *const ddl_sqlite[DDL_COUNT] = {
	[DDL_DROP_TABLE] = "DROP TABLE IF EXISTS {t};",
	[DDL_RENAME_TABLE] = "ALTER TABLE {t} RENAME TO {n};",
	[DDL_ADD_COLUMN] = "ALTER TABLE {t} ADD COLUMN {def};",
	[DDL_DROP_COLUMN] = "ALTER TABLE {t} DROP COLUMN {c};",
	[DDL_RENAME_COLUMN] = "ALTER TABLE {t} RENAME COLUMN {c} TO {n};",
	[DDL_CREATE_INDEX] = "CREATE {u}INDEX IF NOT EXISTS {n} ON {t} {cols};",
	[DDL_CREATE_INDEX_ONLINE] = "CREATE {u}INDEX IF NOT EXISTS {n} ON {t} {cols};",
	[DDL_DROP_INDEX] = "DROP INDEX IF EXISTS {n};",
	[DDL_DROP_INDEX_ONLINE] = "DROP INDEX IF EXISTS {n};",
};

static const char *const *ddl_table(enum dbreg_dialect d)
{
	return d == DBREG_DIALECT_POSTGRES ? ddl_postgres : ddl_sqlite;
}

bool dbreg_ddl_has(enum dbreg_dialect d, enum ddl_stmt s)
{
	return ddl_table(d)[s] != NULL;
}

void dbreg_ddl_ident(struct dbreg_buf *b, const char *name)
{
	dbreg_buf_puts(b, "\"");
	for (const char *p = name ? name : ""; *p; p++)
		dbreg_buf_puts(b, *p == '"' ? "\"\"" : (char[]){*p, 0});
	dbreg_buf_puts(b, "\"");
}

void dbreg_ddl_literal(struct dbreg_buf *b, const char *s)
{
	dbreg_buf_puts(b, "'");
	for (const char *p = s ? s : ""; *p; p++)
		dbreg_buf_puts(b, *p == '\'' ? "''" : (char[]){*p, 0});
	dbreg_buf_puts(b, "'");
}

void dbreg_ddl_ident_list(struct dbreg_buf *b, const char *const *names, size_t n)
{
	dbreg_buf_puts(b, "(");
	for (size_t i = 0; i < n; i++) {
		dbreg_buf_puts(b, i ? ", " : "");
		dbreg_ddl_ident(b, names[i]);
	}
	dbreg_buf_puts(b, ")");
}

void dbreg_ddl_emit(struct dbreg_buf *b, enum dbreg_dialect d, enum ddl_stmt s, const struct ddl_vars *v)
{
	const char *t = ddl_table(d)[s];
	if (!t)
		return;
	static const struct {
		const char *key;
		size_t off;
		char how;              /* 'i' identifier, 'l' literal, 'r' raw */
	} keys[] = {
		{"{t}", offsetof(struct ddl_vars, table), 'i'},   {"{T}", offsetof(struct ddl_vars, table), 'l'},
		{"{n}", offsetof(struct ddl_vars, name), 'i'},    {"{N}", offsetof(struct ddl_vars, name), 'l'},
		{"{c}", offsetof(struct ddl_vars, column), 'i'},
		{"{C}", offsetof(struct ddl_vars, column), 'l'},  {"{def}", offsetof(struct ddl_vars, coldef), 'r'},
		{"{type}", offsetof(struct ddl_vars, type), 'r'}, {"{expr}", offsetof(struct ddl_vars, expr), 'r'},
		{"{cols}", offsetof(struct ddl_vars, cols), 'r'}, {"{ref}", offsetof(struct ddl_vars, ref), 'r'},
		{"{u}", offsetof(struct ddl_vars, unique), 'r'},
	};
	while (*t) {
		bool done = false;
		for (size_t k = 0; *t == '{' && k < sizeof keys / sizeof keys[0] && !done; k++) {
			size_t n = strlen(keys[k].key);
			if (strncmp(t, keys[k].key, n) != 0)
				continue;
			const char *val = *(const char *const *)((const char *)v + keys[k].off);
			if (keys[k].how == 'i')
				dbreg_ddl_ident(b, val);
			else if (keys[k].how == 'l')
				dbreg_ddl_literal(b, val);
			else
				dbreg_buf_puts(b, val ? val : "");
			t += n;
			done = true;
		}
		if (!done)
			dbreg_buf_append(b, t++, 1);
	}
	dbreg_buf_puts(b, "\n");
}

/* ---- columns ------------------------------------------------------------ */

void dbreg_ddl_type(struct dbreg_buf *b, enum dbreg_dialect d, const struct dbreg_schema *src,
	      const struct dbreg_schema_column *c)
{
	const struct dbreg_type *pt = &c->ptype;
	/* A catalog's spelling is the truth on its own dialect. */
	if (src->source == DBREG_SCHEMA_CATALOG && src->dialect == d && c->type && *c->type) {
		dbreg_buf_puts(b, c->type);
		return;
	}
	if (!pt->info) {
		dbreg_buf_puts(b, c->type && *c->type ? c->type : (d == DBREG_DIALECT_SQLITE ? "TEXT" : "text"));
		return;
	}
	if (d == DBREG_DIALECT_SQLITE) {
		dbreg_buf_puts(b, pt->info->sqlite);
		return;
	}
	if (dbreg_type_is_serial(pt->info) && src->source == DBREG_SCHEMA_DECLARED) {
		dbreg_buf_puts(b, pt->info->name);
		return;
	}
	char spelling[128];
	dbreg_type_pg_spelling(pt, spelling, sizeof spelling);
	dbreg_buf_puts(b, spelling);
}

bool dbreg_ddl_default(struct dbreg_buf *b, enum dbreg_dialect d, const struct dbreg_schema_column *c)
{
	const struct dbreg_schema_default *def = &c->def;
	bool boolean = c->ptype.info && strcmp(c->ptype.info->name, "boolean") == 0;
	switch (def->kind) {
	case DBREG_DV_NONE:
		return false;
	case DBREG_DV_STRING:
		dbreg_ddl_literal(b, def->str);
		return true;
	case DBREG_DV_BOOL:
		dbreg_buf_puts(b, d == DBREG_DIALECT_POSTGRES ? (def->b ? "true" : "false") : (def->b ? "1" : "0"));
		return true;
	case DBREG_DV_NUMBER:
		/* SQLite keeps a boolean's default as 0/1; PostgreSQL wants a boolean. */
		if (boolean && d == DBREG_DIALECT_POSTGRES) {
			dbreg_buf_puts(b, def->num != 0 ? "true" : "false");
			return true;
		}
		if (def->text && !def->literal) {
			dbreg_buf_puts(b, def->text);
		} else {
			char num[64];
			snprintf(num, sizeof num, "%.17g", def->num);
			dbreg_buf_puts(b, def->text && *def->text ? def->text : num);
		}
		return true;
	case DBREG_DV_NOW:
		dbreg_buf_puts(b, "CURRENT_TIMESTAMP");
		return true;
	case DBREG_DV_EXPR:
	default:
		if (!def->text || !*def->text)
			return false;
		/* SQLite's DEFAULT takes a literal or a parenthesized expression:
		 * lower('A') || 'b' alone is a syntax error there. */
		if (d == DBREG_DIALECT_SQLITE)
			dbreg_buf_printf(b, "(%s)", def->text);
		else
			dbreg_buf_puts(b, def->text);
		return true;
	}
}

static const struct dbreg_schema_fkey *ddl_single_fkey(const struct dbreg_schema_table *t, const char *col)
{
	for (size_t i = 0; i < t->n_fkeys; i++)
		if (t->fkeys[i].n_columns == 1 && t->fkeys[i].columns[0] && strcmp(t->fkeys[i].columns[0], col) == 0)
			return &t->fkeys[i];
	return NULL;
}

static void ddl_action(struct dbreg_buf *b, const char *what, const char *action)
{
	if (!action || strcmp(action, "no action") == 0)
		return;
	dbreg_buf_printf(b, " ON %s ", what);
	for (const char *p = action; *p; p++)
		dbreg_buf_append(b, (char[]){(char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p)}, 1);
}

void dbreg_ddl_references(struct dbreg_buf *b, const struct dbreg_schema_fkey *f)
{
	dbreg_buf_puts(b, "REFERENCES ");
	dbreg_ddl_ident(b, f->ref_table);
	bool named = true;
	for (size_t i = 0; i < f->n_columns; i++)
		named = named && f->ref_columns && f->ref_columns[i];
	if (named) {
		dbreg_buf_puts(b, " ");
		dbreg_ddl_ident_list(b, f->ref_columns, f->n_columns);
	}
	ddl_action(b, "DELETE", f->on_delete);
	ddl_action(b, "UPDATE", f->on_update);
}

void dbreg_ddl_column_def(struct dbreg_buf *b, enum dbreg_dialect d, const struct dbreg_schema *src,
		    const struct dbreg_schema_table *t, const struct dbreg_schema_column *c, bool with_refs)
{
	dbreg_ddl_ident(b, c->name);
	dbreg_buf_puts(b, " ");
	dbreg_ddl_type(b, d, src, c);
	/* SQLite lets a PRIMARY KEY column that is not an INTEGER hold NULL
	 * unless it says NOT NULL. */
	if (c->not_null || (c->implied_not_null && !c->identity))
		dbreg_buf_puts(b, " NOT NULL");
	struct dbreg_buf def = DBREG_BUF_INIT;
	if (dbreg_ddl_default(&def, d, c))
		dbreg_buf_printf(b, " DEFAULT %s", def.ptr);
	dbreg_buf_dispose(&def);
	const struct dbreg_schema_fkey *f = with_refs ? ddl_single_fkey(t, c->name) : NULL;
	if (f) {
		dbreg_buf_puts(b, " ");
		dbreg_ddl_references(b, f);
	}
}

void dbreg_ddl_constraint_name(char *out, size_t size, const char *table, const char *const *cols, size_t n,
			 const char *suffix)
{
	size_t len = (size_t)snprintf(out, size, "%s", table);
	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "_%s", cols[i]);
	if (len < size)
		snprintf(out + len, size - len, "_%s", suffix);
	/* PostgreSQL truncates names to 63 bytes; keep the suffix readable. */
	if (strlen(out) > 63) {
		size_t keep = 63 - strlen(suffix) - 1;
		snprintf(out + keep, size - keep, "_%s", suffix);
	}
}

/* A unique index of a catalog that stands for a UNIQUE constraint of the
 * table: SQLite names those sqlite_autoindex_<table>_<n>; PostgreSQL's
 * catalog does not tell, and its constraints' default name is taken for
 * one. */
static bool ddl_autoindex(const struct dbreg_schema *src, const struct dbreg_schema_table *t,
			  const struct dbreg_schema_index *ix)
{
	if (ix->primary || (ix->name && strncmp(ix->name, "sqlite_autoindex_", 17) == 0))
		return true;
	return dbreg_ddl_unique_constraint(src, t, ix);
}

bool dbreg_ddl_unique_constraint(const struct dbreg_schema *src, const struct dbreg_schema_table *t,
				 const struct dbreg_schema_index *ix)
{
	if (src->source != DBREG_SCHEMA_CATALOG || src->dialect != DBREG_DIALECT_POSTGRES || !ix->unique ||
	    !ix->name || ix->predicate)
		return false;
	char name[128];
	dbreg_ddl_constraint_name(name, sizeof name, t->name, ix->columns, ix->n_columns, "key");
	return strcmp(name, ix->name) == 0;
}

static bool ddl_same(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!a[i] || !b[i] || strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

void dbreg_ddl_create_table(struct dbreg_buf *b, enum dbreg_dialect d, const struct dbreg_schema *src,
		      const struct dbreg_schema_table *t, const char *as)
{
	dbreg_buf_puts(b, "CREATE TABLE IF NOT EXISTS ");
	dbreg_ddl_ident(b, as ? as : t->name);
	dbreg_buf_puts(b, " (");
	for (size_t i = 0; i < t->n_columns; i++) {
		dbreg_buf_puts(b, i ? ",\n  " : "\n  ");
		dbreg_ddl_column_def(b, d, src, t, &t->columns[i], true);
	}
	if (t->n_primary_key) {
		dbreg_buf_puts(b, ",\n  PRIMARY KEY ");
		dbreg_ddl_ident_list(b, t->primary_key, t->n_primary_key);
	}
	for (size_t i = 0; i < t->n_uniques; i++) {
		dbreg_buf_puts(b, ",\n  UNIQUE ");
		dbreg_ddl_ident_list(b, t->uniques[i].columns, t->uniques[i].n_columns);
	}
	/* A catalog holds its unique constraints as indexes. */
	for (size_t i = 0; src->source == DBREG_SCHEMA_CATALOG && i < t->n_indexes; i++) {
		const struct dbreg_schema_index *ix = &t->indexes[i];
		if (!ix->unique || ix->primary || !ddl_autoindex(src, t, ix) ||
		    ddl_same(ix->columns, ix->n_columns, t->primary_key, t->n_primary_key))
			continue;
		dbreg_buf_puts(b, ",\n  UNIQUE ");
		dbreg_ddl_ident_list(b, ix->columns, ix->n_columns);
	}
	for (size_t i = 0; i < t->n_fkeys; i++) {
		if (t->fkeys[i].n_columns == 1)
			continue;   /* written on its column */
		dbreg_buf_puts(b, ",\n  FOREIGN KEY ");
		dbreg_ddl_ident_list(b, t->fkeys[i].columns, t->fkeys[i].n_columns);
		dbreg_buf_puts(b, " ");
		dbreg_ddl_references(b, &t->fkeys[i]);
	}
	dbreg_buf_puts(b, "\n);\n");
}

void dbreg_ddl_create_indexes(struct dbreg_buf *b, enum dbreg_dialect d, const struct dbreg_schema *src,
			const struct dbreg_schema_table *t)
{
	for (size_t i = 0; i < t->n_indexes; i++) {
		const struct dbreg_schema_index *ix = &t->indexes[i];
		if (src->source == DBREG_SCHEMA_CATALOG && ddl_autoindex(src, t, ix))
			continue;
		struct dbreg_buf cols = DBREG_BUF_INIT;
		dbreg_ddl_ident_list(&cols, ix->columns, ix->n_columns);
		struct ddl_vars v = {.table = t->name, .name = ix->name, .cols = cols.ptr, .unique = ix->unique ? "UNIQUE " : ""};
		dbreg_ddl_emit(b, d, DDL_CREATE_INDEX, &v);
		dbreg_buf_dispose(&cols);
	}
}

void dbreg_ddl_rebuild(struct dbreg_buf *b, const struct dbreg_schema *to_src, const struct dbreg_schema_table *to,
		 const char *from_name, const char *const *from_cols, const char *const *fill)
{
	char tmp[80];
	snprintf(tmp, sizeof tmp, "%.60s__new", to->name);
	dbreg_buf_printf(b, "-- Rebuild of %s (SQLite cannot change it in place): new table, copy, drop, rename.\n"
			    "-- foreign_keys = false keeps ON DELETE CASCADE from emptying its child tables.\n",
			 to->name);
	dbreg_buf_puts(b, "DROP TABLE IF EXISTS ");
	dbreg_ddl_ident(b, tmp);
	dbreg_buf_puts(b, ";\n");
	dbreg_ddl_create_table(b, DBREG_DIALECT_SQLITE, to_src, to, tmp);
	dbreg_buf_puts(b, "INSERT INTO ");
	dbreg_ddl_ident(b, tmp);
	dbreg_buf_puts(b, " (");
	bool first = true;
	for (size_t i = 0; i < to->n_columns; i++) {
		if (!from_cols[i] && !(fill && fill[i]))
			continue;
		dbreg_buf_puts(b, first ? "" : ", ");
		dbreg_ddl_ident(b, to->columns[i].name);
		first = false;
	}
	dbreg_buf_puts(b, ")\n  SELECT ");
	first = true;
	for (size_t i = 0; i < to->n_columns; i++) {
		if (!from_cols[i] && !(fill && fill[i]))
			continue;
		dbreg_buf_puts(b, first ? "" : ", ");
		first = false;
		if (!from_cols[i]) {
			dbreg_buf_puts(b, fill[i]);
			continue;
		}
		/* A column becoming NOT NULL keeps its rows by taking its default
		 * where they held NULL. */
		struct dbreg_buf def = DBREG_BUF_INIT;
		if (to->columns[i].not_null && dbreg_ddl_default(&def, DBREG_DIALECT_SQLITE, &to->columns[i])) {
			dbreg_buf_puts(b, "COALESCE(");
			dbreg_ddl_ident(b, from_cols[i]);
			dbreg_buf_printf(b, ", %s)", def.ptr);
		} else {
			dbreg_ddl_ident(b, from_cols[i]);
		}
		dbreg_buf_dispose(&def);
	}
	dbreg_buf_puts(b, " FROM ");
	dbreg_ddl_ident(b, from_name);
	dbreg_buf_puts(b, ";\nDROP TABLE ");
	dbreg_ddl_ident(b, from_name);
	dbreg_buf_puts(b, ";\nALTER TABLE ");
	dbreg_ddl_ident(b, tmp);
	dbreg_buf_puts(b, " RENAME TO ");
	dbreg_ddl_ident(b, to->name);
	dbreg_buf_puts(b, ";\n");
	dbreg_ddl_create_indexes(b, DBREG_DIALECT_SQLITE, to_src, to);
}
