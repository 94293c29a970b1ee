/* The inside of struct dbreg_plan, shared by the planner (plan.c) and the
 * modules that run or print a plan (apply.c, the --sql script). Each step of
 * the public array has a twin here that points back into the registry. */
#ifndef DBREG_PLAN_H
#define DBREG_PLAN_H

#include "dbreg.h"
#include "model.h"

/* A package as the plan leaves it. */
struct dbreg_plan_pkg {
	const struct dbreg_package *pkg;   /* borrowed from the registry */
	const char *version;               /* target: the declared version or the --to pin */
	size_t n_steps;                    /* steps of this package in the plan */
	size_t n_unwritten;                /* ups to run that have no body yet (DBR042), not among the steps */
	bool in_scope;                     /* false: left out by only_package (`down PKG`) */
};

/* What a step runs, in the registry's terms. */
struct dbreg_plan_src {
	const struct dbreg_migration *mig; /* borrowed */
	const struct dbreg_sql *body;      /* the body that runs (borrowed) */
	size_t pkg;                        /* index into plan->pkgs */
};

struct dbreg_plan {
	const struct dbreg_registry *reg;
	enum dbreg_dialect dialect;
	struct dbreg_step *steps;          /* downs first (dependents first), then ups in topological order */
	struct dbreg_plan_src *src;        /* parallel to steps */
	size_t n_steps;
	struct dbreg_plan_pkg *pkgs;       /* in topological order (core first, ties by name) */
	size_t n_pkgs;
	char **owned;                      /* strings the plan copied (pin versions) */
	size_t n_owned;
	/* What the up steps (and a downgrade's downs) run may be unsafe
	 * (DBR103...): worked out once by dbreg_plan_build, each warning once,
	 * in step order. */
	struct dbreg_diag_list warnings;
	bool downgrade;                    /* `down`: its downs warned about (not reset's, watch's) */
	bool invalid;                      /* made despite errors (keep_invalid): to count, never to apply */
};

struct dbreg_buf;

/* Appends the upserts of a package's [[tools]] into ydtb_tools: one INSERT
 * ... ON CONFLICT (id) DO UPDATE per tool that writes only the columns the
 * core declares and only when a value differs, so that a tool another
 * package held is re-owned in place (what references its row stays).
 * Valid in both dialects. Appends nothing when the core has no usable
 * ydtb_tools. */
void dbreg_plan_tools_sql(struct dbreg_buf *b, const struct dbreg_plan *plan, const struct dbreg_package *pkg);

/* Whether the plan takes the package down to nothing (`down PKG --to
 * 0.0.0`): its row goes, and its tools are declared no more. */
bool dbreg_plan_pkg_removes(const struct dbreg_plan_pkg *p);

/* ydtb_tools as the target holds it, to leave alone the packages whose
 * tools are already written as dbreg_plan_tools_sql would write them. */
#define DBREG_PLAN_TOOL_COLUMNS 5
struct dbreg_tools_ref {
	const char *key;                   /* a cell of the row (NULL: SQL NULL) */
	size_t row;
};
struct dbreg_tools_view {
	char *const *cells;                /* borrowed: n_rows rows of n_cols cells */
	size_t n_rows, n_cols;
	int col[6];                        /* per column dbreg writes: its cell in a row, -1 when not read */
	struct dbreg_tools_ref *by_id, *by_pkg;   /* rows sorted by id, by package_name */
	bool usable;                       /* false: nothing is taken as current */
	bool read;                         /* rows were read (false: nothing is known of them) */
};

/* The columns of ydtb_tools to read for the view (id, package_name, name
 * and those of description and icon the core declares) into cols; 0 when
 * the core has no usable ydtb_tools. */
size_t dbreg_plan_tools_columns(const struct dbreg_plan *plan, const char *cols[DBREG_PLAN_TOOL_COLUMNS]);

/* Indexes rows read with those columns (cells stay the caller's).
 * Returns 0 or DBREG_ENOMEM. */
int dbreg_plan_tools_view(struct dbreg_tools_view *v, const struct dbreg_plan *plan, char *const *cells, size_t n_rows);
void dbreg_plan_tools_view_dispose(struct dbreg_tools_view *v);

/* Whether dbreg_plan_tools_sql(pkg, remove = false) would change nothing
 * in the rows the view was read from: no row of the package with an id it
 * does not declare, and each tool it writes there with the same values. */
bool dbreg_plan_tools_current(const struct dbreg_tools_view *v, const struct dbreg_package *pkg);

/* Appends, after every upsert of the run, the DELETE of the tools that no
 * package declares any more (a package taken down to nothing declares
 * none) among the rows of the packages covered (NULL: those in scope):
 * those of the view when read, else the same rule in SQL (the script).
 * Returns 0 or DBREG_ENOMEM. */
int dbreg_plan_tools_prune_sql(struct dbreg_buf *b, const struct dbreg_plan *plan, const struct dbreg_tools_view *v,
			       const bool *covered);

/* Whether a tool of package pi (one out of scope: `down` of another) is
 * held in the view by a package in scope, whose sync would leave it to
 * them: its upsert re-owns it. */
bool dbreg_plan_tools_taken(const struct dbreg_tools_view *v, const struct dbreg_plan *plan, size_t pi);

/* Appends a DBR103 for each tool a run of the plan deletes from the
 * target's ydtb_tools (dbreg_plan_tools_prune_sql's rule, on the rows read
 * through conn), with the rows of the tables referencing it with ON DELETE
 * CASCADE that go too, counted. Returns 0, DBREG_ENOMEM or the driver's
 * error. */
int dbreg_plan_tools_warn(const struct dbreg_plan *plan, struct dbreg_conn *conn, struct dbreg_diag_list *out);

/* Whether the core package declares ydtb_tools, where tools are upserted. */
bool dbreg_plan_has_tools_table(const struct dbreg_plan *plan);

#endif
