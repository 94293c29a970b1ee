/* Workspace isolation, in two halves that share one idea (a workspace table
 * is one whose workspace_id references ydtb_workspaces.id):
 *
 * 1. The isolation rules (DBR020-DBR023, DBR027, and DBR046 for what a
 *    migration creates, which must also have a primary key) over the effect of every statement of a package's
 *    PostgreSQL up bodies. sqlcheck.c reads libpg_query's tree and tells
 *    this module what each statement does (a table created, a column
 *    dropped, a constraint dropped, a table renamed, ...); the module keeps
 *    what the migrations have left each table like and, once the package's
 *    bodies are all read, reports each rule still broken at the statement
 *    that broke it (so a DROP NOT NULL is reported at the ALTER, and a
 *    later migration that repairs a table clears it).
 *
 * 2. Row-level security (manifest.md, "Workspace isolation in the
 *    database"): the SQL that makes the policies exist on every workspace
 *    table, and the check of a catalog against it (verify). */
#ifndef DBREG_ISOLATION_H
#define DBREG_ISOLATION_H

#include "dbreg.h"
#include "model.h"

#include <stdbool.h>

struct dbreg_registry;
struct dbreg_buf;

/* ---- 1. the rules per statement ------------------------------------------ */

/* The statement an event comes from: borrowed strings, valid until the
 * package's check ends. */
struct dbreg_suppress;

struct dbreg_iso_at {
	const char *file;
	unsigned line, column;
	const char *migration;
	/* The statement's dbreg:ignore comment (NULL: none), read during the
	 * call only: a finding it names but cannot suppress says so. */
	struct dbreg_suppress *suppress;
};

/* How a table came to exist. */
enum dbreg_iso_origin {
	DBREG_ISO_CREATE,              /* CREATE TABLE (columns ...) */
	DBREG_ISO_CREATE_AS,           /* CREATE TABLE ... AS SELECT */
	DBREG_ISO_SELECT_INTO,         /* SELECT ... INTO */
	DBREG_ISO_LIKE,                /* CREATE TABLE (LIKE source) */
	DBREG_ISO_OF,                  /* CREATE TABLE ... OF type */
	DBREG_ISO_PARTITION_OF,        /* CREATE TABLE ... PARTITION OF parent */
	DBREG_ISO_INHERITS,            /* CREATE TABLE (...) INHERITS (parent) */
};

/* What one package's migrations do to its tables. */
struct dbreg_iso;

/* Starts the check of one (non-core) package; findings go to diags.
 * Returns 0 or DBREG_ENOMEM. */
int dbreg_iso_new(struct dbreg_iso **out, const struct dbreg_registry *reg, const struct dbreg_package *pkg,
		  struct dbreg_diag_list *diags);
void dbreg_iso_free(struct dbreg_iso *iso);

/* A table created. `source` is the LIKE, INHERITS or PARTITION OF table
 * (NULL otherwise). For CREATE TABLE AS and SELECT INTO, `ws_listed` says
 * whether the query's columns include workspace_id: 1 yes, 0 no, -1 not
 * known (SELECT *). Returns false when it changes nothing: a table of that
 * name is already there (CREATE TABLE IF NOT EXISTS is then a no-op), so
 * the statement's column definitions are not to be told either. */
bool dbreg_iso_create(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
		      enum dbreg_iso_origin origin, const char *source, bool temp, int ws_listed);

/* A workspace_id column defined (CREATE TABLE element, ADD COLUMN):
 * whether it says NOT NULL (or PRIMARY KEY) and REFERENCES
 * ydtb_workspaces(id), and the name of that constraint (NULL: unnamed).
 * in_create: part of the CREATE TABLE (DBR046), else an ADD COLUMN. */
void dbreg_iso_ws_column(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table, bool in_create,
			 bool not_null, bool fk, const char *fk_name);

/* workspace_id made NOT NULL (SET NOT NULL, a primary key holding it) or
 * nullable (DROP NOT NULL). */
void dbreg_iso_ws_not_null(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table, bool not_null);

/* A primary key given to a table (column or table constraint, ADD PRIMARY
 * KEY): its constraint's name (NULL: PostgreSQL's default) and columns, so
 * that dropping either takes it away again. */
void dbreg_iso_primary_key(struct dbreg_iso *iso, const char *table, const char *name, const char *const *cols,
			   size_t n_cols);

/* A table-level FOREIGN KEY (workspace_id) REFERENCES ydtb_workspaces(id). */
void dbreg_iso_ws_fk(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table, const char *name);

/* Any foreign key of `table` pointing at `ref_table`, which `ref_owner`
 * declares (NULL: no other package does): DBR027 when it is a table of a
 * package not depended on, or a table nothing declares or creates. */
void dbreg_iso_foreign_key(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			   const char *ref_table, const struct dbreg_package *ref_owner);

void dbreg_iso_drop_column(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			   const char *column);
void dbreg_iso_rename_column(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			     const char *column, const char *newname);
/* ALTER COLUMN ... TYPE: `type` is the last name of the new type. */
void dbreg_iso_alter_type(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			  const char *column, const char *type);
/* CHECK (column IS NOT NULL) added to a table (valid: without NOT VALID),
 * a constraint validated (VALIDATE CONSTRAINT), and whether the column is
 * proven not null by a valid such check: PostgreSQL 12+ then sets NOT NULL
 * without scanning the table (DBR103's advice). */
void dbreg_iso_not_null_check(struct dbreg_iso *iso, const char *table, const char *name, const char *column,
			      bool valid);
void dbreg_iso_validate_constraint(struct dbreg_iso *iso, const char *table, const char *name);
bool dbreg_iso_not_null_proven(struct dbreg_iso *iso, const char *table, const char *column);
/* Constraint `name` of `table` renamed to newname; table NULL: index
 * `name` renamed, which renames the primary key it belongs to, if any. */
void dbreg_iso_rename_constraint(struct dbreg_iso *iso, const char *table, const char *name, const char *newname);
void dbreg_iso_drop_constraint(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			       const char *name);
void dbreg_iso_alter_constraint(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
				const char *name, bool deferrable);
void dbreg_iso_rename_table(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			    const char *newname);
void dbreg_iso_set_schema(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			  const char *schema);
void dbreg_iso_drop_table(struct dbreg_iso *iso, const char *table);

/* Holds what the migrations so far leave broken at the end of a version
 * (the last of its migrations checked; version is kept, not copied). */
void dbreg_iso_version_end(struct dbreg_iso *iso, const char *version);
/* Reports what the package's migrations leave broken, and what they left
 * broken at the end of a version and mended later, each at the statement
 * that broke it. Returns 0 or DBREG_ENOMEM (also for any
 * earlier event that ran out of memory). */
int dbreg_iso_finish(struct dbreg_iso *iso);

/* ---- 2. row-level security --------------------------------------------- */

struct dbreg_plan;

/* The policy's name, and the setting it reads by default. */
#define DBREG_RLS_POLICY "ydtb_workspace_isolation"
#define DBREG_RLS_SETTING "app.workspace_id"

/* Whether a declared table is a workspace table: a workspace_id column
 * that references ydtb_workspaces.id. */
bool dbreg_iso_workspace_table(const struct dbreg_table *t);

/* Whether a setting name can be written into the policy as it is: a
 * custom option name "prefix.name" of lowercase letters, digits and '_',
 * at most 63 bytes. */
bool dbreg_isolation_setting_ok(const char *setting);

/* Whether the registry's [isolation] asks for row-level security and the
 * dialect has it. */
bool dbreg_rls_wanted(const struct dbreg_registry *reg, enum dbreg_dialect dialect);

/* Appends the idempotent SQL (one DO block) that makes the policies exist
 * on every workspace table of the n packages that exists with its
 * workspace_id column: ENABLE
 * and FORCE ROW LEVEL SECURITY where off, the policy created, or replaced
 * where its text differs; where all is as it should be it only reads the
 * catalog (no lock). Appends nothing when the registry does not want row-
 * level security on that dialect, or the packages have no workspace table. */
void dbreg_rls_sql(struct dbreg_buf *b, const struct dbreg_registry *reg, enum dbreg_dialect dialect,
		   const struct dbreg_package *const *pkgs, size_t n);

/* Whether the policies of step i's package are made right after it: it
 * is the last step of its package in its transaction (the next step that
 * runs is another package's or runs outside a transaction), or it runs
 * outside one itself. run[k] says whether step k runs (NULL: all do). */
bool dbreg_rls_after_step(const struct dbreg_plan *plan, const bool *run, size_t i);

/* One finding of the policy check: 0 to go on, else a code to stop with. */
typedef int (*dbreg_rls_report_fn)(void *arg, const char *table, const char *message);

struct dbreg_catalog;

/* verify's part, over the catalog it read: checks that every declared
 * workspace table present with its workspace_id has row-level security on
 * and forced, the policy as dbreg_rls_sql makes it, and no other
 * permissive policy. Without [isolation] row_level_security it reports
 * the tables that still hold dbreg's policy. On a dialect without
 * row-level security it checks nothing and, when the registry asks for
 * it, sets *notice to a static sentence saying so. Returns 0, what report
 * returned, or DBREG_ENOMEM. */
int dbreg_rls_verify(enum dbreg_dialect dialect, const struct dbreg_catalog *cat, const struct dbreg_registry *reg,
		     dbreg_rls_report_fn report, void *arg, const char **notice);

/* What dbreg_rls_sql's block for the n packages would make right on the
 * tables of the catalog, from the check verify makes: one report per
 * change, with the words of the block's notice for it ("row-level security
 * was off: enabled"), in the order it makes them. Nothing when the
 * registry does not want row-level security on that dialect. Returns 0 or
 * what report returned. */
int dbreg_rls_repairs(enum dbreg_dialect dialect, const struct dbreg_catalog *cat, const struct dbreg_registry *reg,
		      const struct dbreg_package *const *pkgs, size_t n, dbreg_rls_report_fn report, void *arg);

#endif
