/* One schema model: tables, columns, keys and indexes, whatever they were
 * read from (the declared tables of a registry, or a database's catalog:
 * the SQLite replay of DBR047, a live target for verify). The differ
 * (schemadiff.h) compares two of them; nobody else compares schemas.
 *
 * A model owns every string it holds (copied into its own pool), so it
 * outlives the registry or catalog it was read from. Tables are kept in
 * name order once a reader is done (dbreg_schema_table is a binary search). */
#ifndef DBREG_SCHEMA_H
#define DBREG_SCHEMA_H

#include "model.h"
#include "util.h"

#include "dbreg/driver.h"

#include <stdbool.h>
#include <stddef.h>

/* Where a model was read from. */
enum dbreg_schema_source {
	DBREG_SCHEMA_DECLARED,         /* manifests: portable types, positions in the manifest */
	DBREG_SCHEMA_CATALOG,          /* a database: types as the database spells them */
};

/* A default reduced to a value, so that spellings of both sides compare:
 * 'x'::text and 'x', 0 and false on SQLite, now() and CURRENT_TIMESTAMP. */
enum dbreg_default_value {
	DBREG_DV_NONE,                 /* no default (DEFAULT NULL counts as none) */
	DBREG_DV_STRING,
	DBREG_DV_NUMBER,
	DBREG_DV_BOOL,
	DBREG_DV_NOW,                  /* the current time, however spelled */
	DBREG_DV_EXPR,                 /* another expression: compared as the database prints it (schemadiff.h) */
};

struct dbreg_schema_default {
	enum dbreg_default_value kind;
	const char *text;              /* as written: the declared literal or SQL, the catalog's expression */
	const char *str;               /* DBREG_DV_STRING: the value, quotes undone */
	double num;                    /* DBREG_DV_NUMBER */
	bool integral;                 /* DBREG_DV_NUMBER spelled as an integer of 64 bits: ival is it exactly */
	long long ival;
	bool b;                        /* DBREG_DV_BOOL */
	bool literal;                  /* declared with `default` (not default_sql): text is the bare value */
};

struct dbreg_schema_column {
	const char *name;
	const char *type;              /* as declared ("varchar(20)") or as the database reports it */
	struct dbreg_type ptype;       /* the portable type it names; ptype.info NULL when none */
	bool not_null;                 /* declared not_null, or NOT NULL in the catalog */
	bool implied_not_null;         /* NOT NULL without a word: in the primary key, serial */
	bool identity;                 /* filled by a sequence: serial/bigserial, nextval(), identity */
	struct dbreg_schema_default def;
	struct dbreg_pos pos;          /* declared: of the column's key; 0 for a catalog */
};

struct dbreg_schema_fkey {
	const char **columns, **ref_columns;   /* n_columns each; a ref column may be NULL (SQLite: the referenced key) */
	size_t n_columns;
	const char *ref_table;
	const char *on_delete, *on_update;     /* lowercased; "no action" when not given */
	bool not_valid;                        /* a catalog's NOT VALID key (PostgreSQL) */
	struct dbreg_pos pos;
};

struct dbreg_schema_unique {
	const char **columns;
	size_t n_columns;
	bool from_column;              /* declared as `unique = true` on its one column */
	struct dbreg_pos pos;
};

struct dbreg_schema_index {
	const char *name;
	const char **columns;          /* expressions as the database writes them */
	size_t n_columns;
	bool unique;
	bool primary;                  /* the index behind the primary key */
	bool valid;                    /* false: PostgreSQL left it INVALID */
	const char *predicate;         /* a catalog's partial index: its WHERE; NULL for all rows */
	const char *method;            /* a catalog's access method ("btree"); NULL when not told */
	struct dbreg_pos pos;
};

struct dbreg_schema_table {
	const char *name;
	const char *package, *file;    /* declared: the owning package and its manifest; NULL for a catalog */
	struct dbreg_pos pos;          /* of [tables.NAME] */
	struct dbreg_schema_column *columns;   /* in declared or ordinal order */
	size_t n_columns;
	const char **primary_key;
	size_t n_primary_key;
	struct dbreg_schema_unique *uniques;   /* declared only: a catalog's are among its unique indexes */
	size_t n_uniques;
	struct dbreg_schema_fkey *fkeys;
	size_t n_fkeys;
	struct dbreg_schema_index *indexes;
	size_t n_indexes;
	size_t seq;                    /* order added: of two tables of one name, the first is kept */
};

struct dbreg_schema {
	enum dbreg_schema_source source;
	enum dbreg_dialect dialect;    /* catalog: the database's; declared: the dialect defaults are read for */
	struct dbreg_schema_table *tables;
	size_t n_tables, cap_tables;
	bool sorted;
	struct schema_pool *pool;      /* every string of the model */
};

/* Creates an empty model. Returns 0 or DBREG_ENOMEM. */
int dbreg_schema_new(struct dbreg_schema **out, enum dbreg_schema_source source, enum dbreg_dialect dialect);

/* Frees a model and all it holds. NULL-safe. */
void dbreg_schema_free(struct dbreg_schema *s);

/* Adds the tables a package declares (workspace_scoped expanded: the
 * implicit workspace_id column, its foreign key and index). A table name
 * already in the model is kept once, the first. Returns 0 or DBREG_ENOMEM. */
int dbreg_schema_add_package(struct dbreg_schema *s, const struct dbreg_package *pkg);

/* Adds a catalog's tables. Returns 0 or DBREG_ENOMEM. */
int dbreg_schema_add_catalog(struct dbreg_schema *s, const struct dbreg_catalog *cat);

/* Reads a connection's catalog (only the named tables when names is not
 * NULL and the driver can) into a new model. Returns 0, DBREG_ENOMEM, or
 * DBREG_ECONNECT with the database's words in conn->err. */
int dbreg_schema_read_conn(struct dbreg_schema **out, struct dbreg_conn *conn, const char *const *names,
			   size_t n_names);

/* The table of that name, or NULL. Borrowed from the model. */
const struct dbreg_schema_table *dbreg_schema_table(struct dbreg_schema *s, const char *name);

/* The column of that name, or NULL. */
const struct dbreg_schema_column *dbreg_schema_column(const struct dbreg_schema_table *t, const char *name);

/* The state file's form of a model (the third reader): its tables as TOML
 * text, every field the differ reads, positions left out. Appends to out;
 * returns 0 or DBREG_ENOMEM. */
int dbreg_schema_write(struct dbreg_buf *out, struct dbreg_schema *s);

/* Adds the tables of a text dbreg_schema_write wrote (declared source:
 * `package` names their owner). Returns 0, DBREG_ENOMEM, or DBREG_EINVALID
 * when the text is not such a document. */
int dbreg_schema_add_text(struct dbreg_schema *s, const char *text, size_t len, const char *package);

/* A default as SQL: a declared literal string quoted ('it''s'), anything
 * else as written (text). For messages, and for the database that
 * compares two expressions. Appends to b. */
void dbreg_schema_default_sql(struct dbreg_buf *b, const struct dbreg_schema_default *d);

/* Reduces an SQL default expression, as a database of that dialect writes
 * it (or a manifest's default_sql), to a value; str is copied into buf. */
void dbreg_schema_default_parse(struct dbreg_schema_default *out, const char *expr, enum dbreg_dialect dialect,
				char *buf, size_t size);

#endif
