/* The registry's in-memory model: packages as the manifests declare them,
 * after loading and with workspace_scoped expanded. Every check, the planner
 * and the apply engine read this; only manifest.c builds it. All strings
 * are owned by the structure that holds them and freed by
 * dbreg_package_free. */
#ifndef DBREG_MODEL_H
#define DBREG_MODEL_H

#include "dbreg.h"
#include "semver.h"
#include "toml.h"

#include <stdbool.h>
#include <stddef.h>

/* A position in a manifest. `file` points at the package's file name. */
struct dbreg_pos {
	unsigned line, column;
};

enum dbreg_default_kind {
	DBREG_DEFAULT_NONE,
	DBREG_DEFAULT_STRING,
	DBREG_DEFAULT_INTEGER,
	DBREG_DEFAULT_FLOAT,
	DBREG_DEFAULT_BOOL,
	DBREG_DEFAULT_SQL,             /* default_sql: raw expression */
};

struct dbreg_column {
	char *name;
	struct dbreg_pos pos;          /* of the key */
	char *type;                    /* portable type as written, lowercased: "varchar(255)" */
	bool primary_key, not_null, unique;
	enum dbreg_default_kind default_kind;
	char *default_text;            /* the literal (string/number/bool as text) or the SQL expression */
	char *ref_table, *ref_column;  /* NULL when no foreign key */
	struct dbreg_pos references_pos;   /* of the references value; 0 when none */
	char *on_delete, *on_update;   /* lowercased action, NULL when not given */
	char *description;
	char *renamed_from;            /* previous name, for generate; NULL when none */
	bool implicit;                 /* added by workspace_scoped */
};

struct dbreg_index {
	char *name;
	struct dbreg_pos pos;
	char **columns;
	size_t n_columns;
	bool unique;
	bool implicit;                 /* added by workspace_scoped */
};

struct dbreg_unique {
	char **columns;
	size_t n_columns;
	struct dbreg_pos pos;
};

struct dbreg_package;

struct dbreg_table {
	char *name;
	struct dbreg_pos pos;          /* of the [tables.NAME] header or key */
	char *description;
	char *renamed_from;            /* previous name, for generate; NULL when none */
	bool workspace_scoped;
	struct dbreg_column *columns;  /* in file order */
	size_t n_columns;
	char **primary_key;            /* from the table key or the column flag(s) */
	size_t n_primary_key;
	struct dbreg_pos primary_key_pos;   /* of a primary_key = [...] value; 0 for column flags */
	struct dbreg_unique *uniques;
	size_t n_uniques;
	struct dbreg_index *indexes;
	size_t n_indexes;
	struct dbreg_package *owner;   /* borrowed */
};

struct dbreg_tool {
	char *id, *name, *description, *icon;
	struct dbreg_pos pos;
};

/* One SQL body: from a manifest string or from an SQL file. */
struct dbreg_sql {
	char *text;                    /* the SQL, NUL-terminated; NULL when absent */
	size_t len;
	char *file;                    /* the file holding it: the manifest, or the up_file */
	const struct dbreg_toml_doc *doc;   /* borrowed; NULL when it came from a file. When set,
					     * text and file are borrowed too (the package's copy
					     * of the string, the package's file), else owned */
	const struct dbreg_toml_span *span;   /* where the string is written in doc (in the
					       * package's sql_text block); NULL for a file */
	struct dbreg_pos pos;          /* of the key in the manifest */
	char *sum;                     /* dbreg_sql_sum's memo, malloc'd when first asked (most
					* bodies never are: only a plan wants them); NULL until then */
};

struct dbreg_migration {
	char *id;
	struct dbreg_pos pos;          /* of the [[migrations]] header */
	struct dbreg_pos version_pos;  /* of the version value; 0 when none */
	char *version_text;
	struct dbreg_semver version;   /* valid only when version_ok */
	bool version_ok;
	char *description;
	struct dbreg_sql up, up_postgres, up_sqlite;
	struct dbreg_sql down, down_postgres, down_sqlite;
	bool transaction;              /* default true */
	struct dbreg_package *owner;   /* borrowed */
	bool foreign_keys;             /* default true; false: SQLite runs it with enforcement off */
};

struct dbreg_dependency {
	char *name;
	char *range_text;
	struct dbreg_range *range;     /* NULL when the range did not parse */
	struct dbreg_pos pos;
};

struct dbreg_package {
	char *file;                    /* manifest path as given (relative to the project) */
	char *base_dir;                /* folder that up_file paths are relative to */
	struct dbreg_toml_doc *doc;    /* the manifest's source, kept for SQL positions (its tree
				        * is freed once the package is built: dbreg_toml_doc_strip) */
	char *sql_text;                /* the manifest strings' spans, then their bodies: one block
					* (sql->span and sql->text point in) */
	char *name;                    /* NULL when missing/invalid (DBR010) */
	struct dbreg_pos pos;          /* of [package] */
	struct dbreg_pos name_pos, kind_pos;   /* of those values; 0 when absent */
	char *version_text;
	struct dbreg_semver version;
	bool version_ok;
	bool core;
	char *description;
	struct dbreg_dependency *deps;
	size_t n_deps;
	struct dbreg_table *tables;
	size_t n_tables;
	size_t *table_index;           /* tables by name (dbreg_package_index_tables); NULL: looked up in order */
	struct dbreg_tool *tools;
	size_t n_tools;
	struct dbreg_migration *migrations;  /* in file order */
	size_t n_migrations;
	char manifest_sha256[72];      /* "sha256:<hex>" of the file bytes */
};

/* Sorts an index of the package's tables by name, so dbreg_package_table
 * is a binary search: the checks look tables up by name for every
 * statement and reference, and a package may hold a thousand of them.
 * Call once its tables are all there. Returns 0 or DBREG_ENOMEM. */
int dbreg_package_index_tables(struct dbreg_package *pkg);

/* Body of a migration for a dialect in a direction: the dialect-specific
 * one when present, else the generic one; NULL when there is none. */
const struct dbreg_sql *dbreg_migration_body(const struct dbreg_migration *m,
					     enum dbreg_dialect dialect, bool up);

/* Checksum "sha256:<64 hex>" of a body with CRLF turned into LF. out must
 * hold 72 bytes. */
void dbreg_sql_checksum(const char *text, size_t len, char out[72]);

/* The checksum of a body (as dbreg_sql_checksum) into out, computed once
 * per loaded body: a watch plans against thousands of applied migrations
 * each round, and a package taken over by a reload keeps its bodies.
 * Without memory for the memo it is computed again, never replaced by a
 * stand-in (a plan records it on the target). "" for NULL. */
void dbreg_sql_sum(const struct dbreg_sql *sql, char out[72]);

/* Maps a byte offset inside a body to a place in its file (manifest string
 * or SQL file). */
void dbreg_sql_loc(const struct dbreg_sql *sql, size_t offset, unsigned *line, unsigned *column);

/* Rule 3 of manifest.md, for declared names and the names migrations
 * create: ^[a-z_][a-z0-9_]*$, at most 63 bytes. NULL when fine, else why. */
const char *dbreg_ident_problem(const char *s);
/* A suggestion for a bad identifier (lowercased, other characters to '_',
 * cut to 63 bytes); caller frees; NULL without memory. */
char *dbreg_ident_fix(const char *s);

/* Where a body is as a whole, in sql->file: its key in the manifest, or the
 * start of its SQL file (an up_file's position in the manifest belongs to
 * another file than sql->file names). */
void dbreg_sql_origin(const struct dbreg_sql *sql, unsigned *line, unsigned *column);

/* Where the last dbreg_sql_loc_next of a body stopped, so places asked in
 * increasing order cost one pass over the body together (a body of many
 * statements is otherwise rescanned from its start for each). Zero it
 * (DBREG_SQL_CURSOR_INIT) before the first lookup; it resets itself when
 * handed another body. */
struct dbreg_sql_cursor {
	const struct dbreg_sql *sql;
	size_t off;                    /* SQL files: byte where the count stopped */
	unsigned line, column;         /* of off; line 0: nothing counted yet */
	struct dbreg_toml_strpos str;  /* manifest strings */
};
#define DBREG_SQL_CURSOR_INIT {0}

/* dbreg_sql_loc going on from *cur (NULL: from the start). */
void dbreg_sql_loc_next(const struct dbreg_sql *sql, struct dbreg_sql_cursor *cur, size_t offset, unsigned *line,
			unsigned *column);

/* Frees a package and everything it owns. NULL-safe. */
void dbreg_package_free(struct dbreg_package *pkg);

/* Finds a table/column by name; NULL when absent. */
const struct dbreg_table *dbreg_package_table(const struct dbreg_package *pkg, const char *name);
const struct dbreg_column *dbreg_table_column(const struct dbreg_table *t, const char *name);

/* ---- the portable column types (types.c, the one authority on types) ---- */

struct dbreg_type_info {
	const char *name;              /* "varchar" */
	int n_params;                  /* 0, 1 (N) or 2 (P,S) */
	const char *postgres;          /* PostgreSQL's format_type spelling: "character varying" */
	const char *sqlite;            /* affinity: "TEXT", "INTEGER", "REAL", "NUMERIC", "BLOB" */
	const char *sqlite_also;       /* another affinity that stores its values unchanged, or NULL */
	const char *storage;           /* the type a column of it holds: serial -> "integer" */
	const char *family;            /* types PostgreSQL compares with one another in a foreign key
					* (one btree operator family): "integer", "text", ...; NULL: none (json) */
};

/* A column type understood: the portable type and its parameters. */
struct dbreg_type {
	const struct dbreg_type_info *info;   /* NULL: the spelling names no portable type */
	int n_params;
	long params[2];
};

/* Looks up a type as a manifest writes it ("varchar(255)", "double"); NULL
 * when not portable. */
const struct dbreg_type_info *dbreg_type_lookup(const char *type);

/* Reads any spelling a database or a migration uses for a portable type:
 * the portable names, the SQL spellings of both dialects ("int",
 * "BOOLEAN", "double precision", "timestamp with time zone",
 * "character varying(20)", "int8"), with up to two parameters whatever
 * the portable type takes (a database's precision: "timestamp(3) with time
 * zone"). Returns 0, or -1 with out->info NULL when it names none. */
int dbreg_type_parse(const char *spelling, struct dbreg_type *out);

/* SQLite's affinity of a declared column type (the rule of section 3.1 of
 * sqlite.org/datatype3.html): "INTEGER", "TEXT", "BLOB", "REAL", "NUMERIC". */
const char *dbreg_type_affinity(const char *spelling);

/* Whether a column the database (of that dialect) reports with type
 * `spelling` stores the declared portable type `want`. PostgreSQL: the same
 * type (serial counts as integer), with the same parameters when the
 * declaration gives any. SQLite: the same portable type in any spelling, or
 * the declared type's affinity. */
bool dbreg_type_stores(const struct dbreg_type *want, const char *spelling, enum dbreg_dialect dialect);

/* Writes PostgreSQL's spelling of a type ("character varying(20)") into out. */
void dbreg_type_pg_spelling(const struct dbreg_type *t, char *out, size_t size);

/* Whether a portable type is serial or bigserial (NOT NULL and filled by a
 * sequence without saying so). */
bool dbreg_type_is_serial(const struct dbreg_type_info *ti);

/* Whether a foreign key column of type a can reference a column of type b:
 * both in one family (integer and bigint, text and varchar), as
 * PostgreSQL requires ("foreign key constraint cannot be implemented"). */
bool dbreg_type_fk_compatible(const struct dbreg_type_info *a, const struct dbreg_type_info *b);

/* The nearest portable type name for a hint, never NULL. */
const char *dbreg_type_nearest(const char *type);

/* A migration's body j (0..DBREG_MIGRATION_BODIES-1: up, up_postgres,
 * up_sqlite, down, down_postgres, down_sqlite; j is part of stored
 * checksums) when it was read from an SQL file, or NULL: absent, or
 * inside the manifest, whose own bytes hold it. */
enum { DBREG_MIGRATION_BODIES = 6 };

static inline const struct dbreg_sql *dbreg_migration_file_body(const struct dbreg_migration *m, size_t j)
{
	const struct dbreg_sql *b[DBREG_MIGRATION_BODIES] = {&m->up,   &m->up_postgres,   &m->up_sqlite,
							     &m->down, &m->down_postgres, &m->down_sqlite};
	return j < DBREG_MIGRATION_BODIES && b[j]->text && !b[j]->doc ? b[j] : NULL;
}

#endif
