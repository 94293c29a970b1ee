/* Workspace isolation, in two halves that share one idea (a workspace table
 * is one whose workspace_id references ydtb_workspaces.id):
 *
 * 1. The isolation rules (DBR020-DBR023, DBR027, and DBR046 for what a
 *    migration creates) over the effect of every statement of a package's
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
struct dbreg_catalog;

/* ---- 1. the rules per statement ------------------------------------------ */

/* The statement an event comes from: borrowed strings, valid until the
 * package's check ends. */
struct dbreg_iso_at {
	const char *file;
	unsigned line, column;
	const char *migration;
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
 * known (SELECT *). */
void dbreg_iso_create(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
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
void dbreg_iso_drop_constraint(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			       const char *name);
void dbreg_iso_alter_constraint(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
				const char *name, bool deferrable);
void dbreg_iso_rename_table(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			    const char *newname);
void dbreg_iso_set_schema(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			  const char *schema);
void dbreg_iso_drop_table(struct dbreg_iso *iso, const char *table);

/* Reports what the package's migrations leave broken, each at the
 * statement that broke it. Returns 0 or DBREG_ENOMEM (also for any
 * earlier event that ran out of memory). */
int dbreg_iso_finish(struct dbreg_iso *iso);

/* ---- 2. row-level security --------------------------------------------- */

/* [isolation] of dbreg.toml. */
struct dbreg_isolation_opts {
	bool row_level_security;
	const char *setting;           /* NULL: "app.workspace_id" */
	bool workspace_keys;           /* DBR106 */
};

/* The policy's name, and the setting it reads by default. */
#define DBREG_RLS_POLICY "ydtb_workspace_isolation"
#define DBREG_RLS_SETTING "app.workspace_id"

/* Whether a declared table is a workspace table: a workspace_id column
 * that references ydtb_workspaces.id. */
bool dbreg_iso_workspace_table(const struct dbreg_table *t);

/* Whether a setting name can be written into the policy as it is: a
 * custom option name "prefix.name" of identifier characters. */
bool dbreg_iso_setting_ok(const char *setting);

/* Whether a dialect has row-level security, and appends (when it has) the
 * idempotent SQL that makes the policies exist on every workspace table
 * of pkg that exists: ENABLE and FORCE ROW LEVEL SECURITY where off, the
 * policy created, or replaced where its text differs; nothing is changed
 * (and no lock taken) where all is as it should be. */
bool dbreg_rls_supported(enum dbreg_dialect dialect);
void dbreg_rls_sql(struct dbreg_buf *b, enum dbreg_dialect dialect, const struct dbreg_package *pkg,
		   const char *setting);

/* One finding of the RLS check (verify). */
typedef int (*dbreg_rls_report_fn)(void *arg, const char *table, const char *message);

/* Compares the catalog with the policies every declared workspace table of
 * the registry's installed packages should have (tables absent from the
 * catalog are verify's other business). Calls report once per problem;
 * returns 0, or what report returned when it failed. */
int dbreg_rls_check(const struct dbreg_catalog *cat, const struct dbreg_registry *reg, const char *setting,
		    bool (*installed)(void *arg, const struct dbreg_package *pkg), void *installed_arg,
		    dbreg_rls_report_fn report, void *arg);

#endif
