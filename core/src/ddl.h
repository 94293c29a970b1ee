/* DDL for one dialect from the schema model (schema.h): the statements
 * `dbreg generate` writes, each a template in a per-dialect table. A
 * template a dialect lacks (NULL) is a change that dialect cannot make in
 * place: on SQLite, the table is rebuilt (dbreg_ddl_rebuild). */
#ifndef DBREG_DDL_H
#define DBREG_DDL_H

#include "schema.h"
#include "util.h"

enum ddl_stmt {
	DDL_DROP_TABLE,
	DDL_RENAME_TABLE,
	DDL_RENAME_CONSTRAINTS,        /* after a table rename: <old>_... constraint names follow it */
	DDL_ADD_COLUMN,
	DDL_DROP_COLUMN,
	DDL_RENAME_COLUMN,
	DDL_SET_TYPE,
	DDL_SET_NOT_NULL,
	DDL_DROP_NOT_NULL,
	DDL_SET_DEFAULT,
	DDL_DROP_DEFAULT,
	DDL_DROP_PRIMARY_KEY,
	DDL_ADD_PRIMARY_KEY,
	DDL_ADD_FKEY,                  /* NOT VALID where the dialect has it */
	DDL_VALIDATE_FKEY,
	DDL_DROP_FKEY,
	DDL_ADD_UNIQUE,                /* a UNIQUE constraint (SQLite: in CREATE TABLE, by a rebuild) */
	DDL_DROP_UNIQUE,               /* a UNIQUE constraint, or a unique index of its name */
	DDL_CREATE_INDEX,
	DDL_CREATE_INDEX_ONLINE,       /* without blocking writes: a transaction = false migration */
	DDL_DROP_INDEX,
	DDL_DROP_INDEX_ONLINE,
	DDL_RENAME_INDEX,
	DDL_ADD_SEQUENCE,              /* a serial's: {n} owned by {t}.{c}, past its values, its default */
	DDL_DROP_SEQUENCE,             /* the default that reads it, then it */
	DDL_SET_SEQUENCE_TYPE,
	DDL_COUNT
};

/* What a template's {placeholders} stand for; NULL where unused. */
struct ddl_vars {
	const char *table;             /* {t} quoted, {T} as a string literal */
	const char *name;              /* {n} quoted: new name, index or constraint name */
	const char *column;            /* {c} quoted, {C} as a string literal */
	const char *coldef;            /* {def}: a column definition */
	const char *type;              /* {type} */
	const char *expr;              /* {expr}: a default expression */
	const char *cols;              /* {cols}: "(a, b)" quoted */
	const char *ref;               /* {ref}: REFERENCES clause */
	const char *unique;            /* {u}: "UNIQUE " or "" */
};

/* Whether the dialect has a statement for it. */
bool dbreg_ddl_has(enum dbreg_dialect d, enum ddl_stmt s);

/* Appends the statement (and a newline). */
void dbreg_ddl_emit(struct dbreg_buf *b, enum dbreg_dialect d, enum ddl_stmt s, const struct ddl_vars *v);

/* "name" with quotes doubled. */
void dbreg_ddl_ident(struct dbreg_buf *b, const char *name);
/* 'text' with quotes doubled: a string default as the DDL writes it. */
void dbreg_ddl_literal(struct dbreg_buf *b, const char *s);
/* ("a", "b") */
void dbreg_ddl_ident_list(struct dbreg_buf *b, const char *const *names, size_t n);

/* The column's type as the dialect writes it: from the portable type of a
 * declared column, or the catalog's own spelling on the dialect it came
 * from. src is the model the column belongs to. */
void dbreg_ddl_type(struct dbreg_buf *b, enum dbreg_dialect d, const struct dbreg_schema *src,
	      const struct dbreg_schema_column *c);

/* The column's default as the dialect writes it; false when it has none. */
bool dbreg_ddl_default(struct dbreg_buf *b, enum dbreg_dialect d, const struct dbreg_schema_column *c);

/* "name" type [NOT NULL] [DEFAULT x] [REFERENCES ...] (references only
 * when with_refs, for single-column foreign keys of t). */
void dbreg_ddl_column_def(struct dbreg_buf *b, enum dbreg_dialect d, const struct dbreg_schema *src,
		    const struct dbreg_schema_table *t, const struct dbreg_schema_column *c, bool with_refs);

/* REFERENCES "t" ("c") [ON DELETE x] [ON UPDATE y] */
void dbreg_ddl_references(struct dbreg_buf *b, const struct dbreg_schema_fkey *f);

/* The foreign key or constraint name PostgreSQL gives by default:
 * <table>_<cols>_fkey, <table>_pkey, <table>_<cols>_key. */
void dbreg_ddl_constraint_name(char *out, size_t size, const char *table, const char *const *cols, size_t n,
			 const char *suffix);

/* Whether a unique index of a PostgreSQL catalog is taken for a UNIQUE
 * constraint: it has the constraint's default name, <table>_<cols>_key. */
bool dbreg_ddl_unique_constraint(const struct dbreg_schema *src, const struct dbreg_schema_table *t,
				 const struct dbreg_schema_index *ix);

/* CREATE TABLE IF NOT EXISTS `as` (columns, primary key, unique
 * constraints, foreign keys); `as` NULL: the table's own name. */
void dbreg_ddl_create_table(struct dbreg_buf *b, enum dbreg_dialect d, const struct dbreg_schema *src,
		      const struct dbreg_schema_table *t, const char *as);

/* CREATE [UNIQUE] INDEX IF NOT EXISTS for each index of t that is not a
 * constraint's (declared indexes; a catalog's own, minus the primary key's
 * and SQLite's sqlite_autoindex_*). */
void dbreg_ddl_create_indexes(struct dbreg_buf *b, enum dbreg_dialect d, const struct dbreg_schema *src,
			const struct dbreg_schema_table *t);

/* SQLite's documented table rebuild (sqlite.org/lang_altertable.html,
 * "other kinds of table schema changes"), in a foreign_keys = false
 * migration: create the new shape under a temporary name, copy the rows
 * (from_cols[i] names the column of `from` that fills to's column i, NULL
 * for a new column, which takes its default, or fill[i], an SQL literal,
 * when fill is given and fill[i] is set), drop the old table, rename the
 * new one, recreate the indexes. */
void dbreg_ddl_rebuild(struct dbreg_buf *b, const struct dbreg_schema *to_src, const struct dbreg_schema_table *to,
		 const char *from_name, const char *const *from_cols, const char *const *fill);

#endif
