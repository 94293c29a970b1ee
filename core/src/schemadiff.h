/* The one differ between two schema models (schema.h): what `want` has and
 * `have` lacks or holds differently, as a list of typed differences. It
 * renders nothing: DBR047 turns each difference into a diagnostic at the
 * manifest position of the `want` side, verify into a problem of the
 * target, and a generator into DDL.
 *
 * Every difference points into both models (borrowed: valid while both
 * live), so a caller has everything it needs without looking again:
 *
 *   kind                want_*                  have_*              DDL that removes it
 *   TABLE_MISSING       table                   -                   CREATE TABLE want_table
 *   TABLE_EXTRA         -                       table               DROP TABLE (or declare it)
 *   COLUMN_MISSING      table, col              table               ALTER TABLE ADD COLUMN want_col
 *   COLUMN_EXTRA        table                   table, col          ALTER TABLE DROP COLUMN have_col
 *   COLUMN_TYPE         table, col              table, col          ALTER COLUMN TYPE want_col->ptype
 *   COLUMN_NULLABILITY  table, col              table, col          SET / DROP NOT NULL (want_col->not_null)
 *   COLUMN_DEFAULT      table, col              table, col          SET / DROP DEFAULT (want_col->def)
 *   PRIMARY_KEY         table                   table               drop and add the primary key
 *   UNIQUE_MISSING      table, uq               table               ADD UNIQUE (want_uq->columns)
 *   FKEY_MISSING        table, fk               table               ADD FOREIGN KEY want_fk
 *   FKEY_EXTRA          table                   table, fk           DROP CONSTRAINT
 *   FKEY_TARGET         table, fk               table, fk           drop and add the foreign key
 *   FKEY_ACTION         table, fk               table, fk           drop and add (on_update: which action)
 *   FKEY_INVALID        table, fk               table, fk           ALTER TABLE VALIDATE CONSTRAINT (NOT VALID)
 *   INDEX_MISSING       table, ix               table               CREATE INDEX want_ix
 *   INDEX_EXTRA         table                   table, ix           DROP INDEX have_ix
 *   INDEX_COLUMNS       table, ix               table, ix           drop and create
 *   INDEX_UNIQUE        table, ix               table, ix           drop and create
 *   INDEX_NAME          table, ix               table, ix           ALTER INDEX have_ix RENAME TO want_ix
 *   INDEX_INVALID       table (or NULL)         table, ix           drop and create again (REINDEX)
 *
 * INDEX_NAME is the one naming difference: an index `want` names is absent
 * under that name, and `have` holds one of the same columns and uniqueness
 * that `want` does not name. It is reported instead of a MISSING/EXTRA
 * pair, so that baseline can refuse a database that differs only in names
 * and a generator can rename instead of rebuilding.
 *
 * Types compare through types.c alone: a `have` read from a catalog is
 * judged by dbreg_type_stores for its dialect; two declared models by
 * their portable types. Nullability counts NOT NULL that neither side has
 * to write (a primary key column, serial) as either. Defaults compare as
 * values (schema.h); when either is an expression, as the database prints
 * them (a PostgreSQL catalog: the server, through opts->conn's
 * exprs_equal; a server that cannot tell leaves them the same) or else
 * as texts, case, blanks and outer parentheses aside. A serial/bigserial
 * declared without a default wants a column a sequence fills on
 * PostgreSQL (a nextval() default or an identity): COLUMN_DEFAULT when
 * none does (dbreg_sdiff_lost_sequence). A foreign key of `have` stands
 * for the declared one on the same columns that is most alike (target,
 * then actions); any other on those columns is FKEY_EXTRA. */
#ifndef DBREG_SCHEMADIFF_H
#define DBREG_SCHEMADIFF_H

#include "schema.h"

enum dbreg_sdiff_kind {
	DBREG_SDIFF_TABLE_MISSING,
	DBREG_SDIFF_TABLE_EXTRA,
	DBREG_SDIFF_COLUMN_MISSING,
	DBREG_SDIFF_COLUMN_EXTRA,
	DBREG_SDIFF_COLUMN_TYPE,
	DBREG_SDIFF_COLUMN_NULLABILITY,
	DBREG_SDIFF_COLUMN_DEFAULT,
	DBREG_SDIFF_PRIMARY_KEY,
	DBREG_SDIFF_UNIQUE_MISSING,
	DBREG_SDIFF_FKEY_MISSING,
	DBREG_SDIFF_FKEY_EXTRA,
	DBREG_SDIFF_FKEY_TARGET,
	DBREG_SDIFF_FKEY_ACTION,
	DBREG_SDIFF_FKEY_INVALID,
	DBREG_SDIFF_INDEX_MISSING,
	DBREG_SDIFF_INDEX_EXTRA,
	DBREG_SDIFF_INDEX_COLUMNS,
	DBREG_SDIFF_INDEX_UNIQUE,
	DBREG_SDIFF_INDEX_NAME,
	DBREG_SDIFF_INDEX_INVALID,
};

/* One difference; see the table above for which pointers are set. */
struct dbreg_sdiff {
	enum dbreg_sdiff_kind kind;
	const struct dbreg_schema_table *want_table, *have_table;
	const struct dbreg_schema_column *want_col, *have_col;
	const struct dbreg_schema_unique *want_uq;
	const struct dbreg_schema_fkey *want_fk, *have_fk;
	const struct dbreg_schema_index *want_ix, *have_ix;
	bool on_update;                /* FKEY_ACTION: the ON UPDATE action differs (else ON DELETE) */
};

struct dbreg_sdiff_list {
	struct dbreg_sdiff *items;
	size_t len, cap;
};
#define DBREG_SDIFF_LIST_INIT { NULL, 0, 0 }

struct dbreg_sdiff_opts {
	bool defaults;                 /* compare defaults */
	bool extra_tables;             /* report TABLE_EXTRA for tables of `have` that `want` lacks */
	/* The connection `have` was read from, or NULL: when its driver can
	 * (values_equal), a string default on a column that is not text is
	 * compared by the database, which reads '2020-01-01' and
	 * '2020-01-01 00:00:00+00' as one timestamptz; without it two such
	 * strings are taken as the same. Likewise expressions (exprs_equal). */
	struct dbreg_conn *conn;
};

/* Compares every table of `want` with the table of that name in `have`,
 * then (opts->extra_tables) lists the tables of `have` that `want` lacks,
 * and the INVALID indexes of those. Differences are appended to out in
 * table-name order, and within a table: columns (in `want` order), primary
 * key, foreign keys, unique constraints, indexes. Returns 0 or
 * DBREG_ENOMEM. Both models may be sorted by the call. */
int dbreg_schema_diff(struct dbreg_sdiff_list *out, struct dbreg_schema *want, struct dbreg_schema *have,
		      const struct dbreg_sdiff_opts *opts);

/* The same for one pair of tables (have may be NULL: TABLE_MISSING);
 * have_schema gives the dialect and source that types are judged by. */
int dbreg_schema_diff_table(struct dbreg_sdiff_list *out, const struct dbreg_schema_table *want,
			    const struct dbreg_schema_table *have, const struct dbreg_schema *have_schema,
			    const struct dbreg_sdiff_opts *opts);

/* Whether d is a serial/bigserial that no sequence fills any more (no
 * nextval() default, not an identity column). */
bool dbreg_sdiff_lost_sequence(const struct dbreg_sdiff *d);

/* Frees the list (not the models it points into) and zeroes it. NULL-safe. */
void dbreg_sdiff_list_dispose(struct dbreg_sdiff_list *list);

/* "(a, b)" for messages: malloc'd, NULL on allocation failure. */
char *dbreg_schema_list_text(const char *const *cols, size_t n);

#endif
