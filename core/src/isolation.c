/* Workspace isolation: the rules over the effect of every migration
 * statement, and the row-level security that makes the database itself
 * enforce them. isolation.h explains the two halves. Each property of a
 * table (its name, its workspace_id, that column's NOT NULL, its foreign
 * key, its schema) is kept with the statement that last broke it, so the
 * finding lands where the damage was done. */
#include "isolation.h"
#include "diag.h"
#include "registry.h"
#include "suppress.h"
#include "util.h"
#include "plan.h"
#include "dbreg/driver.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- 1. the rules per statement ------------------------------------------ */

enum iso_state { ISO_OK, ISO_BAD, ISO_UNKNOWN };

/* A property and, when broken, who broke it and how to say so. */
struct iso_prop {
	enum iso_state state;
	const char *code;              /* "DBR046" for a creation, else the rule's own code */
	struct dbreg_iso_at at;
	char *message, *hint;          /* owned */
	unsigned mends;                /* how often it was set right: kept across sets */
};

struct iso_table {
	char *name;                    /* as the migrations left it */
	char *fk_name;                 /* the workspace foreign key's constraint name, when known */
	bool fk_deferrable;            /* the workspace foreign key was made DEFERRABLE (fk is BAD) */
	bool temp, dropped;
	struct iso_prop prefix, ws, not_null, fk, schema;
	struct iso_prop pk;             /* rule 6: a primary key */
	char *pk_name;                 /* its constraint's name, when it has one */
	char **pk_cols;                /* its columns */
	size_t n_pk_cols;
	struct iso_nn {                /* CHECK (column IS NOT NULL) constraints */
		char *name, *column;
		bool valid;            /* validated: SET NOT NULL then scans nothing */
	} *nn;
	size_t n_nn;
};

struct dbreg_iso {
	const struct dbreg_registry *reg;
	const struct dbreg_package *pkg;
	struct dbreg_diag_list *diags;
	struct iso_table *tables;
	size_t n, cap;
	const struct dbreg_package **deps;  /* every package pkg depends on, directly or not; NULL until needed */
	size_t n_deps;
	bool deps_done;
	/* What was broken at the end of a version before the last: reported
	 * at the end only when no longer so (else the end reports it). */
	struct iso_held {
		size_t table;
		size_t prop;           /* index in iso_props' order */
		struct dbreg_iso_at at;
		const char *code, *version;
		unsigned mends;        /* the property's then */
		char *name, *message, *hint;
	} *held;
	size_t n_held;
	int rc;
};

int dbreg_iso_new(struct dbreg_iso **out, const struct dbreg_registry *reg, const struct dbreg_package *pkg,
		  struct dbreg_diag_list *diags)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return DBREG_ENOMEM;
	(*out)->reg = reg;
	(*out)->pkg = pkg;
	(*out)->diags = diags;
	return 0;
}

/* Forgets a table's primary key: its name and columns. */
static void iso_pk_clear(struct iso_table *t)
{
	free(t->pk_name);
	for (size_t i = 0; i < t->n_pk_cols; i++)
		free(t->pk_cols[i]);
	free(t->pk_cols);
	t->pk_name = NULL;
	t->pk_cols = NULL;
	t->n_pk_cols = 0;
}

static void iso_nn_remove(struct iso_table *t, size_t i)
{
	free(t->nn[i].name);
	free(t->nn[i].column);
	t->nn[i] = t->nn[--t->n_nn];
}

static void iso_prop_clear(struct iso_prop *p)
{
	free(p->message);
	free(p->hint);
	memset(p, 0, sizeof(*p));
}

void dbreg_iso_free(struct dbreg_iso *iso)
{
	if (!iso)
		return;
	for (size_t i = 0; i < iso->n; i++) {
		struct iso_table *t = &iso->tables[i];
		free(t->name);
		free(t->fk_name);
		iso_pk_clear(t);
		while (t->n_nn)
			iso_nn_remove(t, 0);
		free(t->nn);
		struct iso_prop *props[] = {&t->prefix, &t->ws, &t->not_null, &t->fk, &t->schema, &t->pk};
		for (size_t k = 0; k < sizeof(props) / sizeof(props[0]); k++)
			iso_prop_clear(props[k]);
	}
	for (size_t i = 0; i < iso->n_held; i++) {
		free(iso->held[i].name);
		free(iso->held[i].message);
		free(iso->held[i].hint);
	}
	free(iso->held);
	free(iso->tables);
	free(iso->deps);
	free(iso);
}

static void iso_set(struct dbreg_iso *iso, struct iso_prop *p, enum iso_state state, const char *code,
		    const struct dbreg_iso_at *at, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* Sets a property; a broken one remembers the statement, its code, the
 * message and the hint. */
static void iso_set(struct dbreg_iso *iso, struct iso_prop *p, enum iso_state state, const char *code,
		    const struct dbreg_iso_at *at, const char *hint, const char *fmt, ...)
{
	unsigned mends = p->mends + (state != ISO_BAD);
	iso_prop_clear(p);
	p->state = state;
	p->mends = mends;
	if (state != ISO_BAD)
		return;
	p->code = code;
	p->at = *at;
	p->at.suppress = NULL; /* reported after the statement */
	struct dbreg_buf b = DBREG_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	dbreg_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	char refused[128];
	dbreg_suppress_refused(at->suppress, code, refused, sizeof refused);
	dbreg_buf_puts(&b, refused);
	p->message = dbreg_buf_detach(&b);
	p->hint = dbreg_strdup(hint);
	if (!p->message || (hint && !p->hint))
		iso->rc = DBREG_ENOMEM;
}

static void iso_ok(struct iso_prop *p)
{
	unsigned mends = p->mends + 1;
	iso_prop_clear(p);
	p->state = ISO_OK;
	p->mends = mends;
}

static void iso_copy(struct dbreg_iso *iso, struct iso_prop *dst, const struct iso_prop *src)
{
	iso_prop_clear(dst);
	*dst = *src;
	dst->message = dbreg_strdup(src->message);
	dst->hint = dbreg_strdup(src->hint);
	if ((src->message && !dst->message) || (src->hint && !dst->hint))
		iso->rc = DBREG_ENOMEM;
}

/* The live table of that name, or NULL. */
static struct iso_table *iso_find(struct dbreg_iso *iso, const char *name)
{
	if (!iso || !name)
		return NULL;
	for (size_t i = iso->n; i-- > 0;)
		if (!iso->tables[i].dropped && strcmp(iso->tables[i].name, name) == 0)
			return &iso->tables[i];
	return NULL;
}

static struct iso_table *iso_add(struct dbreg_iso *iso, const char *name)
{
	if (iso->n == iso->cap) {
		size_t cap = iso->cap ? iso->cap * 2 : 8;
		struct iso_table *v = realloc(iso->tables, cap * sizeof(*v));
		if (!v) {
			iso->rc = DBREG_ENOMEM;
			return NULL;
		}
		iso->tables = v;
		iso->cap = cap;
	}
	struct iso_table *t = &iso->tables[iso->n];
	memset(t, 0, sizeof(*t));
	if (!(t->name = dbreg_strdup(name))) {
		iso->rc = DBREG_ENOMEM;
		return NULL;
	}
	iso->n++;
	return t;
}

/* PostgreSQL's name for an unnamed foreign key on workspace_id:
 * <table>_workspace_id_fkey, the table part cut to fit 63 bytes. */
static char *iso_default_fk_name(const char *table)
{
	static const char suffix[] = "_workspace_id_fkey";
	size_t room = 63 - (sizeof(suffix) - 1), n = strlen(table);
	return dbreg_printf("%.*s%s", (int)(n < room ? n : room), table, suffix);
}

/* The table as the migrations left it, or, for a package table first met
 * in an ALTER (created by a DO block, say), one assumed to follow the
 * rules until a statement breaks them. NULL for another package's table:
 * sqlcheck reports touching it (DBR046). */
static struct iso_table *iso_get(struct dbreg_iso *iso, const char *name)
{
	if (!iso || !name || iso->rc)
		return NULL;
	struct iso_table *t = iso_find(iso, name);
	if (t)
		return t;
	for (size_t i = 0; i < iso->reg->n_packages; i++) {
		const struct dbreg_package *p = iso->reg->packages[i];
		if (p != iso->pkg && dbreg_package_table(p, name))
			return NULL;
	}
	if (!(t = iso_add(iso, name)))
		return NULL;
	t->fk_name = iso_default_fk_name(name);
	if (!t->fk_name)
		iso->rc = DBREG_ENOMEM;
	return t;
}

/* The declaration of a table the migrations have not made: this
 * package's first, else the first package's that declares it. */
static const struct dbreg_table *iso_declared(const struct dbreg_iso *iso, const char *name)
{
	const struct dbreg_table *t = name ? dbreg_package_table(iso->pkg, name) : NULL;
	for (size_t i = 0; name && !t && i < iso->reg->n_packages; i++)
		t = dbreg_package_table(iso->reg->packages[i], name);
	return t;
}

/* What a declared source gives a table created from it (LIKE, INHERITS,
 * PARTITION OF): its workspace_id and that column's NOT NULL, and for a
 * partition its foreign key too. */
static void iso_from_declared(struct dbreg_iso *iso, struct iso_table *t, const struct dbreg_table *decl,
			      const struct dbreg_iso_at *at, enum dbreg_iso_origin origin)
{
	const struct dbreg_column *ws = dbreg_table_column(decl, "workspace_id");
	if (!ws) {
		iso_set(iso, &t->ws, ISO_BAD, "DBR046", at,
			"add workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE to the new table",
			"migration %s creates table %s from %s, which declares no workspace_id column",
			at->migration ? at->migration : "", t->name, decl->name);
		return;
	}
	bool in_pk = false;
	for (size_t i = 0; i < decl->n_primary_key; i++)
		in_pk |= strcmp(decl->primary_key[i], "workspace_id") == 0;
	t->ws.state = ISO_OK;
	t->not_null.state = ws->not_null || in_pk ? ISO_OK : ISO_UNKNOWN;
	if (origin == DBREG_ISO_PARTITION_OF)
		t->fk.state = dbreg_iso_workspace_table(decl) ? ISO_OK : ISO_UNKNOWN;
}

static const char *const iso_fix_ws =
	"write workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE";

bool dbreg_iso_create(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
		      enum dbreg_iso_origin origin, const char *source, bool temp, int ws_listed)
{
	/* A table the migrations already made stays as it is: CREATE TABLE IF
	 * NOT EXISTS does nothing then (and without IF NOT EXISTS it fails). */
	if (!iso || !table || iso->rc || iso_find(iso, table))
		return false;
	/* The source's state is read before the new entry may move the array. */
	struct iso_table *src = iso_find(iso, source);
	size_t src_i = src ? (size_t)(src - iso->tables) : 0;
	struct iso_table *t = iso_add(iso, table);
	if (!t)
		return false;
	src = src ? &iso->tables[src_i] : NULL;
	t->temp = temp;
	const char *mig = at->migration ? at->migration : "";
	if (strncmp(table, "ydtb_", 5) != 0) {
		char hint[128];
		snprintf(hint, sizeof(hint), "name it ydtb_%s", table);
		iso_set(iso, &t->prefix, ISO_BAD, "DBR046", at, hint, "migration %s creates table %s without the ydtb_ prefix",
			mig, table);
	}
	t->fk_name = iso_default_fk_name(table);
	if (!t->fk_name)
		iso->rc = DBREG_ENOMEM;
	/* A primary key comes with the column list or a later ADD PRIMARY KEY;
	 * a query copies none. LIKE, OF, INHERITS and PARTITION OF may bring
	 * one we cannot see: assumed. */
	if (origin == DBREG_ISO_CREATE || origin == DBREG_ISO_CREATE_AS || origin == DBREG_ISO_SELECT_INTO)
		iso_set(iso, &t->pk, ISO_BAD, "DBR046", at, "add PRIMARY KEY to a column, or PRIMARY KEY (...) to the table",
			"table %s created by migration %s has no primary key", table, mig);
	switch (origin) {
	case DBREG_ISO_CREATE:
		/* The column definitions that follow say it all. */
		iso_set(iso, &t->ws, ISO_BAD, "DBR046", at,
			"add workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE",
			"table %s created by migration %s has no workspace_id column", table, mig);
		break;
	case DBREG_ISO_CREATE_AS:
	case DBREG_ISO_SELECT_INTO: {
		const char *how = origin == DBREG_ISO_CREATE_AS ? "CREATE TABLE ... AS" : "SELECT ... INTO";
		if (ws_listed == 0)
			iso_set(iso, &t->ws, ISO_BAD, "DBR046", at,
				"create the table with CREATE TABLE IF NOT EXISTS and its workspace_id column, then fill it with INSERT ... SELECT",
				"%s in migration %s creates table %s without a workspace_id column", how, mig, table);
		else
			t->ws.state = ws_listed > 0 ? ISO_OK : ISO_UNKNOWN;
		/* A query copies columns, never constraints. */
		iso_set(iso, &t->not_null, ISO_BAD, "DBR046", at,
			"create the table with CREATE TABLE IF NOT EXISTS (... workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ...), then INSERT ... SELECT",
			"%s in migration %s creates table %s whose workspace_id may be null: a query copies no NOT NULL",
			how, mig, table);
		iso_set(iso, &t->fk, ISO_BAD, "DBR046", at,
			"create the table with CREATE TABLE IF NOT EXISTS (... workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ...), then INSERT ... SELECT",
			"%s in migration %s creates table %s whose workspace_id has no foreign key to ydtb_workspaces(id): a query copies no constraint",
			how, mig, table);
		break;
	}
	case DBREG_ISO_LIKE:
	case DBREG_ISO_INHERITS:
	case DBREG_ISO_OF:
		/* LIKE and INHERITS copy columns and NOT NULL from a table this
		 * package made; OF takes columns from a type we cannot see. None
		 * copies a foreign key. */
		if (src && origin != DBREG_ISO_OF) {
			iso_copy(iso, &t->ws, &src->ws);
			iso_copy(iso, &t->not_null, &src->not_null);
		} else if (origin != DBREG_ISO_OF && iso_declared(iso, source)) {
			iso_from_declared(iso, t, iso_declared(iso, source), at, origin);
		} else {
			t->ws.state = t->not_null.state = ISO_UNKNOWN;
		}
		iso_set(iso, &t->fk, ISO_BAD, "DBR046", at,
			"add CONSTRAINT ... FOREIGN KEY (workspace_id) REFERENCES ydtb_workspaces(id) ON DELETE CASCADE to the new table",
			"%s in migration %s creates table %s without a foreign key from workspace_id to ydtb_workspaces(id): %s copies no foreign key",
			origin == DBREG_ISO_LIKE ? "CREATE TABLE ... (LIKE ...)"
			: origin == DBREG_ISO_OF ? "CREATE TABLE ... OF" : "CREATE TABLE ... INHERITS",
			mig, table, origin == DBREG_ISO_LIKE ? "LIKE" : origin == DBREG_ISO_OF ? "OF" : "INHERITS");
		break;
	case DBREG_ISO_PARTITION_OF:
		/* A partition has its parent's columns, NOT NULL and foreign keys. */
		if (src) {
			iso_copy(iso, &t->ws, &src->ws);
			iso_copy(iso, &t->not_null, &src->not_null);
			iso_copy(iso, &t->fk, &src->fk);
		} else if (iso_declared(iso, source)) {
			iso_from_declared(iso, t, iso_declared(iso, source), at, origin);
		} else {
			t->ws.state = t->not_null.state = t->fk.state = ISO_UNKNOWN;
		}
		break;
	}
	return true;
}

void dbreg_iso_ws_column(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table, bool in_create,
			 bool not_null, bool fk, const char *fk_name)
{
	struct iso_table *t = iso_get(iso, table);
	if (!t)
		return;
	const char *mig = at->migration ? at->migration : "";
	iso_ok(&t->ws);
	/* Inside a CREATE TABLE ... OF or LIKE, what the creation already
	 * said about the table stands unless the column repairs it. */
	if (not_null)
		iso_ok(&t->not_null);
	else if (in_create && t->not_null.state == ISO_BAD)
		;
	else if (in_create)
		iso_set(iso, &t->not_null, ISO_BAD, "DBR046", at, "write workspace_id text NOT NULL",
			"table %s created by migration %s: workspace_id may be null", table, mig);
	else
		iso_set(iso, &t->not_null, ISO_BAD, "DBR023", at, "write workspace_id text NOT NULL",
			"ALTER TABLE %s ADD COLUMN workspace_id in migration %s: workspace_id may be null", table, mig);
	t->fk_deferrable = false;
	if (fk) {
		iso_ok(&t->fk);
		char *name = fk_name ? dbreg_strdup(fk_name) : iso_default_fk_name(table);
		free(t->fk_name);
		if (!(t->fk_name = name))
			iso->rc = DBREG_ENOMEM;
	} else if (in_create && t->fk.state == ISO_BAD) {
		;
	} else if (in_create) {
		iso_set(iso, &t->fk, ISO_BAD, "DBR046", at, iso_fix_ws,
			"table %s created by migration %s: workspace_id has no foreign key to ydtb_workspaces(id)", table, mig);
	} else {
		iso_set(iso, &t->fk, ISO_BAD, "DBR022", at, iso_fix_ws,
			"ALTER TABLE %s ADD COLUMN workspace_id in migration %s: workspace_id has no foreign key to ydtb_workspaces(id)",
			table, mig);
	}
}

void dbreg_iso_ws_not_null(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table, bool not_null)
{
	struct iso_table *t = iso_get(iso, table);
	if (!t)
		return;
	if (not_null)
		iso_ok(&t->not_null);
	else
		iso_set(iso, &t->not_null, ISO_BAD, "DBR023", at,
			"drop this statement: workspace_id stays NOT NULL, or a row can belong to no workspace",
			"ALTER TABLE %s ALTER COLUMN workspace_id DROP NOT NULL lets rows of package table %s belong to no workspace",
			table, table);
}

/* The name PostgreSQL gives a primary key of `table` that names none. */
static char *iso_default_pk_name(const char *table)
{
	static const char suffix[] = "_pkey";
	size_t room = 63 - (sizeof(suffix) - 1), n = strlen(table);
	return dbreg_printf("%.*s%s", (int)(n < room ? n : room), table, suffix);
}

void dbreg_iso_primary_key(struct dbreg_iso *iso, const char *table, const char *name, const char *const *cols,
			   size_t n_cols)
{
	struct iso_table *t = iso_get(iso, table);
	if (!t)
		return;
	iso_ok(&t->pk);
	iso_pk_clear(t);
	/* Named as the table was named then: a later RENAME keeps it. */
	t->pk_name = name ? dbreg_strdup(name) : iso_default_pk_name(table);
	t->pk_cols = n_cols ? calloc(n_cols, sizeof(*t->pk_cols)) : NULL;
	if (!t->pk_name || (n_cols && !t->pk_cols)) {
		iso->rc = DBREG_ENOMEM;
		return;
	}
	for (; t->n_pk_cols < n_cols; t->n_pk_cols++)
		if (!cols[t->n_pk_cols] || !(t->pk_cols[t->n_pk_cols] = dbreg_strdup(cols[t->n_pk_cols])))
			break;
	if (t->n_pk_cols < n_cols && cols[t->n_pk_cols])
		iso->rc = DBREG_ENOMEM;
}

/* Rule 6 broken by an ALTER that takes the primary key away; a later ADD
 * PRIMARY KEY repairs it. */
static void iso_pk_lost(struct dbreg_iso *iso, struct iso_table *t, const struct dbreg_iso_at *at, const char *what)
{
	if (t->pk.state == ISO_BAD)
		return;
	iso_set(iso, &t->pk, ISO_BAD, "DBR046", at,
		"keep the primary key; to change it, drop it and add the new one in migrations of the same version",
		"ALTER TABLE %s %s leaves package table %s without a primary key", t->name, what, t->name);
	iso_pk_clear(t);
}

static bool iso_pk_has_column(const struct iso_table *t, const char *column)
{
	for (size_t i = 0; column && i < t->n_pk_cols; i++)
		if (strcmp(t->pk_cols[i], column) == 0)
			return true;
	return false;
}

void dbreg_iso_ws_fk(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table, const char *name)
{
	(void)at; /* a repair blames no statement */
	struct iso_table *t = iso_get(iso, table);
	if (!t)
		return;
	iso_ok(&t->fk);
	t->fk_deferrable = false;
	char *n = name ? dbreg_strdup(name) : iso_default_fk_name(table);
	free(t->fk_name);
	if (!(t->fk_name = n))
		iso->rc = DBREG_ENOMEM;
}

/* Fills iso->deps with every package pkg depends on, directly or not. */
static void iso_deps(struct dbreg_iso *iso)
{
	if (iso->deps_done)
		return;
	iso->deps_done = true;
	size_t cap = iso->reg->n_packages + 1;
	if (!(iso->deps = malloc(cap * sizeof(*iso->deps)))) {
		iso->rc = DBREG_ENOMEM;
		return;
	}
	const struct dbreg_package *from = iso->pkg;
	for (size_t next = 0;; next++) {
		for (size_t d = 0; d < from->n_deps; d++) {
			const struct dbreg_package *p = dbreg_registry_find(iso->reg, from->deps[d].name);
			bool seen = !p || p == iso->pkg;
			for (size_t k = 0; k < iso->n_deps && !seen; k++)
				seen = iso->deps[k] == p;
			if (!seen && iso->n_deps < cap)
				iso->deps[iso->n_deps++] = p;
		}
		if (next >= iso->n_deps)
			break;
		from = iso->deps[next];
	}
}

static void iso_report(struct dbreg_iso *iso, const char *code, const struct dbreg_iso_at *at, const char *table,
		       const char *hint, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void iso_report(struct dbreg_iso *iso, const char *code, const struct dbreg_iso_at *at, const char *table,
		       const char *hint, const char *fmt, ...)
{
	struct dbreg_diag_at where = {.file = at->file, .line = at->line, .column = at->column,
				      .package = iso->pkg->name, .table = table, .migration = at->migration};
	va_list ap;
	va_start(ap, fmt);
	if (dbreg_suppress_vaddf(iso->diags, at->suppress, code, &where, fmt, ap) != 0 ||
	    (hint && dbreg_diag_hintf(iso->diags, "%s", hint) != 0))
		iso->rc = DBREG_ENOMEM;
	va_end(ap);
}

void dbreg_iso_foreign_key(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			   const char *ref_table, const struct dbreg_package *ref_owner)
{
	if (!iso || !ref_table || iso->rc)
		return;
	if (ref_owner) {
		if (ref_owner == iso->pkg || ref_owner->core)
			return;
		iso_deps(iso);
		for (size_t k = 0; k < iso->n_deps; k++)
			if (iso->deps[k] == ref_owner)
				return;
		char hint[512];
		snprintf(hint, sizeof(hint), "add \"%s\" = \"^%s\" to [dependencies]", ref_owner->name ? ref_owner->name : "",
			 ref_owner->version_text ? ref_owner->version_text : "1.0.0");
		iso_report(iso, "DBR027", at, table, hint,
			   "migration %s: a foreign key of table %s references %s, a table of %s, which %s does not depend on",
			   at->migration ? at->migration : "", table ? table : "", ref_table,
			   ref_owner->name ? ref_owner->name : "another package", iso->pkg->name ? iso->pkg->name : "");
		return;
	}
	if (iso_find(iso, ref_table) || dbreg_package_table(iso->pkg, ref_table))
		return;
	iso_report(iso, "DBR027", at, table,
		   "create the table in an earlier statement, or reference a table of this package, of the core or of a dependency",
		   "migration %s: a foreign key of table %s references %s, which no package declares and no earlier migration creates",
		   at->migration ? at->migration : "", table ? table : "", ref_table);
}

void dbreg_iso_drop_column(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			   const char *column)
{
	if (!column)
		return;
	struct iso_table *t = iso_get(iso, table);
	if (!t)
		return;
	for (size_t i = t->n_nn; i-- > 0;)
		if (strcmp(t->nn[i].column, column) == 0)
			iso_nn_remove(t, i);
	if (iso_pk_has_column(t, column)) {
		char what[160];
		snprintf(what, sizeof what, "DROP COLUMN %s (a column of its primary key)", column);
		iso_pk_lost(iso, t, at, what);
	}
	if (strcmp(column, "workspace_id") != 0)
		return;
	iso_set(iso, &t->ws, ISO_BAD, "DBR021", at, "keep workspace_id: every package table belongs to a workspace",
		"ALTER TABLE %s DROP COLUMN workspace_id leaves package table %s without workspace_id", table, table);
	/* The column takes its NOT NULL and foreign key with it. */
	iso_prop_clear(&t->not_null);
	iso_prop_clear(&t->fk);
	t->not_null.state = t->fk.state = ISO_UNKNOWN;
}

/* Renames what *slot holds from name to newname; false when it held another. */
static bool iso_rename_name(struct dbreg_iso *iso, char **slot, const char *name, const char *newname)
{
	if (!*slot || strcmp(*slot, name) != 0)
		return false;
	char *n = dbreg_strdup(newname);
	if (!n) {
		iso->rc = DBREG_ENOMEM;
		return false;
	}
	free(*slot);
	*slot = n;
	return true;
}

void dbreg_iso_rename_column(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			     const char *column, const char *newname)
{
	bool from = column && strcmp(column, "workspace_id") == 0;
	bool to = newname && strcmp(newname, "workspace_id") == 0;
	struct iso_table *t = iso_get(iso, table);
	if (!t)
		return;
	for (size_t i = 0; newname && column && i < t->n_nn; i++)
		iso_rename_name(iso, &t->nn[i].column, column, newname);
	for (size_t i = 0; newname && column && i < t->n_pk_cols; i++)
		if (strcmp(t->pk_cols[i], column) == 0) {
			char *n = dbreg_strdup(newname);
			if (!n) {
				iso->rc = DBREG_ENOMEM;
				return;
			}
			free(t->pk_cols[i]);
			t->pk_cols[i] = n;
		}
	if (from == to)
		return;
	if (from) {
		iso_set(iso, &t->ws, ISO_BAD, "DBR021", at,
			"keep the name workspace_id: the rules, the policies and the application look for it",
			"ALTER TABLE %s RENAME COLUMN workspace_id TO %s leaves package table %s without workspace_id", table,
			newname, table);
		iso_prop_clear(&t->not_null);
		iso_prop_clear(&t->fk);
		t->not_null.state = t->fk.state = ISO_UNKNOWN;
	} else {
		/* What the renamed column holds is not known here. */
		iso_prop_clear(&t->ws);
		iso_prop_clear(&t->not_null);
		iso_prop_clear(&t->fk);
		t->ws.state = ISO_OK;
		t->not_null.state = t->fk.state = ISO_UNKNOWN;
	}
}

void dbreg_iso_alter_type(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			  const char *column, const char *type)
{
	if (!column || strcmp(column, "workspace_id") != 0 || !type)
		return;
	/* The type table says which types a foreign key to ydtb_workspaces.id
	 * (text) may have; a type it does not know is left alone. */
	struct dbreg_type parsed;
	if (dbreg_type_parse(type, &parsed) != 0 || dbreg_type_fk_compatible(parsed.info, dbreg_type_lookup("text")))
		return;
	struct iso_table *t = iso_get(iso, table);
	if (!t)
		return;
	iso_set(iso, &t->fk, ISO_BAD, "DBR022", at, "keep workspace_id text, the type of ydtb_workspaces.id",
		"ALTER TABLE %s ALTER COLUMN workspace_id TYPE %s: workspace_id of package table %s can no longer reference ydtb_workspaces(id), which is text",
		table, type, table);
}


void dbreg_iso_not_null_check(struct dbreg_iso *iso, const char *table, const char *name, const char *column,
			      bool valid)
{
	struct iso_table *t = column ? iso_get(iso, table) : NULL;
	if (!t)
		return;
	struct iso_nn *nn = realloc(t->nn, (t->n_nn + 1) * sizeof(*nn));
	if (!nn) {
		iso->rc = DBREG_ENOMEM;
		return;
	}
	t->nn = nn;
	nn = &t->nn[t->n_nn];
	*nn = (struct iso_nn){.name = name ? dbreg_strdup(name) : NULL, .column = dbreg_strdup(column), .valid = valid};
	if (!nn->column || (name && !nn->name)) {
		free(nn->name);
		free(nn->column);
		iso->rc = DBREG_ENOMEM;
		return;
	}
	t->n_nn++;
}

void dbreg_iso_validate_constraint(struct dbreg_iso *iso, const char *table, const char *name)
{
	struct iso_table *t = name ? iso_get(iso, table) : NULL;
	for (size_t i = 0; t && i < t->n_nn; i++)
		if (t->nn[i].name && strcmp(t->nn[i].name, name) == 0)
			t->nn[i].valid = true;
}

bool dbreg_iso_not_null_proven(struct dbreg_iso *iso, const char *table, const char *column)
{
	struct iso_table *t = column ? iso_find(iso, table) : NULL;
	for (size_t i = 0; t && i < t->n_nn; i++)
		if (t->nn[i].valid && strcmp(t->nn[i].column, column) == 0)
			return true;
	return false;
}

void dbreg_iso_rename_constraint(struct dbreg_iso *iso, const char *table, const char *name, const char *newname)
{
	if (!iso || iso->rc || !name || !newname)
		return;
	for (size_t i = 0; i < iso->n; i++) {
		struct iso_table *t = &iso->tables[i];
		if (t->dropped || (table && strcmp(t->name, table) != 0))
			continue;
		iso_rename_name(iso, &t->pk_name, name, newname);
		/* A foreign key or a CHECK has no index of its name to be renamed by. */
		if (!table)
			continue;
		iso_rename_name(iso, &t->fk_name, name, newname);
		for (size_t k = 0; k < t->n_nn; k++)
			iso_rename_name(iso, &t->nn[k].name, name, newname);
	}
}

void dbreg_iso_drop_constraint(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			       const char *name)
{
	struct iso_table *t = iso_get(iso, table);
	if (!t || !name)
		return;
	for (size_t i = t->n_nn; i-- > 0;)
		if (t->nn[i].name && strcmp(t->nn[i].name, name) == 0)
			iso_nn_remove(t, i);
	if (t->pk_name && strcmp(t->pk_name, name) == 0) {
		char what[160];
		snprintf(what, sizeof what, "DROP CONSTRAINT %s", name);
		iso_pk_lost(iso, t, at, what);
		return;
	}
	if (!t->fk_name || strcmp(t->fk_name, name) != 0 || t->fk.state != ISO_OK)
		return;
	iso_set(iso, &t->fk, ISO_BAD, "DBR022", at,
		"keep the workspace foreign key; to change it, drop and add it again in migrations of the same version",
		"ALTER TABLE %s DROP CONSTRAINT %s drops the foreign key from workspace_id to ydtb_workspaces(id)", table,
		name);
}

void dbreg_iso_alter_constraint(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
				const char *name, bool deferrable)
{
	struct iso_table *t = iso_get(iso, table);
	if (!t || !name || !t->fk_name || strcmp(t->fk_name, name) != 0)
		return;
	if (!deferrable) {
		/* NOT DEFERRABLE again undoes an earlier DEFERRABLE. */
		if (t->fk_deferrable)
			iso_ok(&t->fk);
		t->fk_deferrable = false;
		return;
	}
	if (t->fk.state != ISO_OK)
		return;
	t->fk_deferrable = true;
	iso_set(iso, &t->fk, ISO_BAD, "DBR022", at, "keep the workspace foreign key NOT DEFERRABLE",
		"ALTER TABLE %s ALTER CONSTRAINT %s DEFERRABLE lets a transaction write rows of %s whose workspace_id names no workspace, checked only at commit",
		table, name, table);
}

void dbreg_iso_rename_table(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			    const char *newname)
{
	struct iso_table *t = iso_get(iso, table);
	if (!t || !newname)
		return;
	char *n = dbreg_strdup(newname);
	if (!n) {
		iso->rc = DBREG_ENOMEM;
		return;
	}
	free(t->name);
	t->name = n;
	if (strncmp(newname, "ydtb_", 5) == 0) {
		iso_ok(&t->prefix);
		return;
	}
	char hint[160];
	snprintf(hint, sizeof(hint), "rename it ydtb_%s", newname);
	iso_set(iso, &t->prefix, ISO_BAD, "DBR020", at, hint,
		"ALTER TABLE %s RENAME TO %s: package table %s loses the ydtb_ prefix", table, newname, newname);
}

void dbreg_iso_set_schema(struct dbreg_iso *iso, const struct dbreg_iso_at *at, const char *table,
			  const char *schema)
{
	struct iso_table *t = iso_get(iso, table);
	if (!t)
		return;
	iso_set(iso, &t->schema, ISO_BAD, "DBR020", at,
		"keep package tables in the schema dbreg applies to: the rules, verify and the policies look there",
		"ALTER TABLE %s SET SCHEMA %s moves package table %s out of the schema the registry manages", table,
		schema ? schema : "", table);
}

void dbreg_iso_drop_table(struct dbreg_iso *iso, const char *table)
{
	struct iso_table *t = iso ? iso_find(iso, table) : NULL;
	if (t)
		t->dropped = true;
}

/* The properties of a live table that can be reported, in the order they
 * are: without the workspace column, its NOT NULL and foreign key say
 * nothing more. Returns how many (0 for a dropped or temporary table). */
static size_t iso_props(struct iso_table *t, struct iso_prop *out[6])
{
	if (t->dropped || t->temp)
		return 0;
	size_t n = 0;
	out[n++] = &t->prefix;
	out[n++] = &t->schema;
	out[n++] = &t->pk;
	out[n++] = &t->ws;
	if (t->ws.state != ISO_BAD) {
		out[n++] = &t->not_null;
		out[n++] = &t->fk;
	}
	return n;
}

static bool iso_broken(const struct iso_prop *p)
{
	return p->state == ISO_BAD && p->message;
}

static bool iso_same_at(const struct iso_held *h, const struct iso_prop *p)
{
	return h->code && p->code && strcmp(h->code, p->code) == 0 && h->at.line == p->at.line && h->at.column == p->at.column &&
	       h->at.migration == p->at.migration;
}

/* Every version can be installed alone (apply --to PKG@V, down --to V), so
 * the rules hold at the end of each version's last migration, not only at
 * the end of the package: what is broken here is held, and dbreg_iso_finish
 * reports it if a later version repaired it. */
void dbreg_iso_version_end(struct dbreg_iso *iso, const char *version)
{
	for (size_t i = 0; iso && i < iso->n && iso->rc == 0; i++) {
		struct iso_prop *props[6];
		size_t n = iso_props(&iso->tables[i], props);
		for (size_t k = 0; k < n; k++) {
			if (!iso_broken(props[k]))
				continue;
			bool known = false;
			for (size_t h = 0; h < iso->n_held && !known; h++)
				known = iso->held[h].table == i && iso->held[h].prop == k && iso_same_at(&iso->held[h], props[k]);
			if (known)
				continue;
			struct iso_held *h = dbreg_array_push(&iso->held, &iso->n_held, sizeof *h);
			if (!h) {
				iso->rc = DBREG_ENOMEM;
				return;
			}
			*h = (struct iso_held){.table = i, .prop = k, .at = props[k]->at, .code = props[k]->code,
					       .version = version, .mends = props[k]->mends, .name = dbreg_strdup(iso->tables[i].name),
					       .message = dbreg_strdup(props[k]->message),
					       .hint = props[k]->hint ? dbreg_strdup(props[k]->hint) : NULL};
			if (!h->name || !h->message || (props[k]->hint && !h->hint))
				iso->rc = DBREG_ENOMEM;
		}
	}
}

int dbreg_iso_finish(struct dbreg_iso *iso)
{
	if (!iso)
		return 0;
	for (size_t i = 0; i < iso->n && iso->rc == 0; i++) {
		struct iso_prop *props[6];
		size_t n = iso_props(&iso->tables[i], props);
		for (size_t k = 0; k < n; k++)
			if (iso_broken(props[k]))
				iso_report(iso, props[k]->code, &props[k]->at, iso->tables[i].name, props[k]->hint, "%s",
					   props[k]->message);
	}
	/* Broken at the end of an earlier version: said with that version
	 * when set right since, or broken again elsewhere (the end names only
	 * the last statement). */
	for (size_t i = 0; i < iso->n_held && iso->rc == 0; i++) {
		const struct iso_held *h = &iso->held[i];
		struct iso_prop *props[6];
		size_t n = iso_props(&iso->tables[h->table], props);
		bool gone = iso->tables[h->table].dropped;
		/* Its workspace column gone since: that is what the end says. */
		if (h->prop >= n && !gone)
			continue;
		bool mended = gone || props[h->prop]->mends > h->mends;
		if (!mended && iso_broken(props[h->prop]) && iso_same_at(h, props[h->prop]))
			continue;
		char hint[1024];
		snprintf(hint, sizeof hint,
			 "%s%severy version can be installed alone, so by the end of version %s (if %s is applied "
			 "somewhere already, mend that migration and record the change with dbreg accept)",
			 h->hint ? h->hint : "", h->hint ? "; " : "", h->version, h->version);
		iso_report(iso, h->code, &h->at, h->name, hint, "%s at the end of version %s, which apply --to %s@%s installs%s",
			   h->message, h->version, iso->pkg->name, h->version, mended ? " (a later version mends it)" : "");
	}
	return iso->rc;
}

/* ---- 2. row-level security --------------------------------------------- */

/* What each dialect has: the core never asks which database it talks to. */
static const struct {
	enum dbreg_dialect dialect;
	const char *name;
	bool rls;
} iso_dialects[] = {
	{DBREG_DIALECT_POSTGRES, "PostgreSQL", true},
	{DBREG_DIALECT_SQLITE, "SQLite", false},
};

static bool iso_dialect_rls(enum dbreg_dialect d, const char **name)
{
	for (size_t i = 0; i < sizeof(iso_dialects) / sizeof(iso_dialects[0]); i++)
		if (iso_dialects[i].dialect == d) {
			if (name)
				*name = iso_dialects[i].name;
			return iso_dialects[i].rls;
		}
	if (name)
		*name = "this database";
	return false;
}

bool dbreg_isolation_setting_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0, dots = 0;
	if (n == 0 || n > 63 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.')
			dots++;
		else if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return dots == 1;
}

int dbreg_registry_set_isolation(struct dbreg_registry *reg, const struct dbreg_isolation *iso)
{
	if (!reg || !iso)
		return DBREG_EUSAGE;
	if (iso->setting[0] && !dbreg_isolation_setting_ok(iso->setting))
		return dbreg_registry_fail(reg, DBREG_EUSAGE,
					   "isolation setting \"%.63s\" is not a custom setting name such as app.workspace_id",
					   iso->setting);
	reg->isolation = *iso;
	return 0;
}

static const char *iso_setting(const struct dbreg_registry *reg)
{
	return reg->isolation.setting[0] ? reg->isolation.setting : DBREG_RLS_SETTING;
}

bool dbreg_iso_workspace_table(const struct dbreg_table *t)
{
	const struct dbreg_column *ws = t ? dbreg_table_column(t, "workspace_id") : NULL;
	return ws && ws->ref_table && strcmp(ws->ref_table, "ydtb_workspaces") == 0 &&
	       (!ws->ref_column || strcmp(ws->ref_column, "id") == 0);
}

bool dbreg_rls_wanted(const struct dbreg_registry *reg, enum dbreg_dialect dialect)
{
	return reg && reg->isolation.row_level_security && iso_dialect_rls(dialect, NULL);
}

/* How the policy compares workspace_id with the setting (a text): directly
 * for text, through a cast of the column for the other string types
 * (varchar, char), and through a cast of the setting for every other type
 * (uuid, bigint...), which keeps an index on the column usable; NULLIF
 * because a transaction-local setting reads '' once its transaction ends,
 * and ''::uuid fails. */
enum iso_ws_kind { ISO_WS_TEXT, ISO_WS_STRING, ISO_WS_OTHER };

static enum iso_ws_kind iso_ws_kind_of(const char *type)
{
	static const char *const strings[] = {"character", "name", "citext", "\"char\""};
	if (!type || strcmp(type, "text") == 0)
		return ISO_WS_TEXT;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (strncmp(type, strings[i], strlen(strings[i])) == 0)
			return ISO_WS_STRING;
	return ISO_WS_OTHER;
}

/* The policy's expression as PostgreSQL prints it back (pg_get_expr): the
 * run creates the policy from this very text and compares with it, and
 * verify compares with it. type is the column's type as format_type
 * prints it; its modifiers (the "(N)" of a length) are left out of a cast. */
static void iso_policy_expr(char *out, size_t size, const char *setting, const char *type)
{
	switch (iso_ws_kind_of(type)) {
	case ISO_WS_TEXT:
		snprintf(out, size, "(workspace_id = current_setting('%s'::text, true))", setting);
		return;
	case ISO_WS_STRING:
		snprintf(out, size, "((workspace_id)::text = current_setting('%s'::text, true))", setting);
		return;
	case ISO_WS_OTHER:
		break;
	}
	char base[96];
	size_t n = 0;
	int depth = 0;
	for (const char *p = type; *p && n + 1 < sizeof(base); p++) {
		depth += *p == '(';
		if (depth == 0 && !(*p == ' ' && (p[1] == '(' || p[1] == 0 || (n && base[n - 1] == ' '))))
			base[n++] = *p;
		depth -= *p == ')' && depth > 0;
	}
	base[n] = 0;
	snprintf(out, size, "(workspace_id = (NULLIF(current_setting('%s'::text, true), ''::text))::%s)", setting, base);
}

/* What a run makes right on a table, in the order it checks: the words
 * of the DO block's notices (the "repaired" lines of a run) and of a dry
 * run's list, so the two say the same. */
enum iso_fix { ISO_FIX_ENABLE, ISO_FIX_FORCE, ISO_FIX_POLICY, ISO_N_FIX };

static const char *const iso_fix_said[ISO_N_FIX] = {
	[ISO_FIX_ENABLE] = "row-level security was off: enabled",
	[ISO_FIX_FORCE] = "row-level security was not forced (the owner bypassed it): forced",
	[ISO_FIX_POLICY] = "policy " DBREG_RLS_POLICY " was missing or not the one declared: made again",
};

void dbreg_rls_sql(struct dbreg_buf *b, const struct dbreg_registry *reg, enum dbreg_dialect dialect,
		   const struct dbreg_package *const *pkgs, size_t n_pkgs)
{
	if (!dbreg_rls_wanted(reg, dialect))
		return;
	size_t n = 0;
	for (size_t p = 0; p < n_pkgs; p++)
		for (size_t i = 0; i < pkgs[p]->n_tables; i++)
			n += pkgs[p]->tables[i].name && dbreg_iso_workspace_table(&pkgs[p]->tables[i]);
	if (n == 0)
		return;
	const char *setting = iso_setting(reg);
	char as_text[160], as_string[160], as_other[200];
	iso_policy_expr(as_text, sizeof(as_text), setting, "text");
	iso_policy_expr(as_string, sizeof(as_string), setting, "character varying");
	/* "%s" stands for the type, which the server fills in below. */
	iso_policy_expr(as_other, sizeof(as_other), setting, "%s");
	/* Table names and the setting are identifiers (DBR025 and
	 * dbreg_isolation_setting_ok), so they need no escaping inside the
	 * literals; quotes in the expressions are doubled. */
	dbreg_buf_puts(b, "-- row-level security: policy " DBREG_RLS_POLICY " on the workspace tables of");
	for (size_t p = 0; p < n_pkgs; p++)
		dbreg_buf_printf(b, "%s %s", p ? "," : "", pkgs[p]->name ? pkgs[p]->name : pkgs[p]->file);
	dbreg_buf_puts(b, "\nDO $dbreg_rls$\nDECLARE\n  t text;\n  r regclass;\n  expr text;\nBEGIN\n  FOREACH t IN ARRAY ARRAY[");
	size_t k = 0;
	for (size_t p = 0; p < n_pkgs; p++)
		for (size_t i = 0; i < pkgs[p]->n_tables; i++)
			if (pkgs[p]->tables[i].name && dbreg_iso_workspace_table(&pkgs[p]->tables[i]))
				dbreg_buf_printf(b, "%s'%s'", k++ ? ", " : "", pkgs[p]->tables[i].name);
	dbreg_buf_puts(b, "]::text[] LOOP\n"
			  "    r := to_regclass(quote_ident(t));\n"
			  "    -- A table not created yet (a version pinned by --to) waits for its migration.\n"
			  "    SELECT CASE WHEN a.atttypid = 'text'::regtype THEN ");
	/* The expected texts, with their quotes doubled for the literal. */
	const char *exprs[] = {as_text, as_string, as_other};
	const char *after[] = {" WHEN ty.typcategory = 'S' THEN ", " ELSE format(", ", format_type(a.atttypid, NULL)) END INTO expr\n"};
	for (size_t e = 0; e < 3; e++) {
		dbreg_buf_puts(b, "'");
		for (const char *p = exprs[e]; *p; p++)
			dbreg_buf_puts(b, *p == '\'' ? "''" : (char[]){*p, 0});
		dbreg_buf_printf(b, "'%s", after[e]);
	}
	dbreg_buf_printf(b,
			 "      FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid\n"
			 "      WHERE a.attrelid = r AND a.attname = 'workspace_id' AND a.attnum > 0 AND NOT a.attisdropped;\n"
			 "    CONTINUE WHEN expr IS NULL;\n"
			 "    IF NOT (SELECT relrowsecurity FROM pg_class WHERE oid = r) THEN\n"
			 "      EXECUTE format('ALTER TABLE %%I ENABLE ROW LEVEL SECURITY', t);\n"
			 "      RAISE NOTICE 'dbreg: %%: %s', t;\n"
			 "    END IF;\n"
			 "    IF NOT (SELECT relforcerowsecurity FROM pg_class WHERE oid = r) THEN\n"
			 "      EXECUTE format('ALTER TABLE %%I FORCE ROW LEVEL SECURITY', t);\n"
			 "      RAISE NOTICE 'dbreg: %%: %s', t;\n"
			 "    END IF;\n"
			 "    IF NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = r AND p.polname = '" DBREG_RLS_POLICY "'\n"
			 "        AND p.polcmd = '*' AND p.polpermissive AND p.polroles = '{0}'::oid[]\n"
			 "        AND pg_get_expr(p.polqual, p.polrelid) = expr AND pg_get_expr(p.polwithcheck, p.polrelid) = expr) THEN\n"
			 "      EXECUTE format('DROP POLICY IF EXISTS " DBREG_RLS_POLICY " ON %%I', t);\n"
			 "      EXECUTE format('CREATE POLICY " DBREG_RLS_POLICY " ON %%I AS PERMISSIVE FOR ALL TO PUBLIC'\n"
			 "        ' USING %%s WITH CHECK %%s', t, expr, expr);\n"
			 "      RAISE NOTICE 'dbreg: %%: %s', t;\n"
			 "    END IF;\n"
			 "  END LOOP;\n"
			 "END\n$dbreg_rls$;\n",
			 iso_fix_said[ISO_FIX_ENABLE], iso_fix_said[ISO_FIX_FORCE], iso_fix_said[ISO_FIX_POLICY]);
}

bool dbreg_rls_after_step(const struct dbreg_plan *plan, const bool *run, size_t i)
{
	const struct dbreg_step *st = &plan->steps[i];
	if (!st->transaction)
		return true;
	for (size_t j = i + 1; j < plan->n_steps; j++) {
		if (run && !run[j])
			continue;
		return !plan->steps[j].transaction || plan->src[j].pkg != plan->src[i].pkg;
	}
	return true;
}

/* Without [isolation] row_level_security, a table still holding dbreg's
 * policy (a project that turned it off, or lost the section): the database
 * enforces what the project no longer says, and an application that sets
 * no workspace sees no rows. Said; apply leaves it, since taking a
 * workspace's isolation away is not done on a missing line. */
static int iso_rls_unwanted(const struct dbreg_cat_table *ct, dbreg_rls_report_fn report, void *arg)
{
	for (size_t i = 0; i < ct->n_policies; i++)
		if (ct->policies[i].name && strcmp(ct->policies[i].name, DBREG_RLS_POLICY) == 0)
			return report(arg, ct->name,
				      "policy " DBREG_RLS_POLICY " is on the table, but dbreg.toml does not ask for row-level "
				      "security: set [isolation] row_level_security = true, or DROP POLICY "
				      DBREG_RLS_POLICY " and DISABLE ROW LEVEL SECURITY on it");
	return 0;
}

/* What a run would make right on one table (fix[], in the order
 * dbreg_rls_sql's block checks and makes them), from the catalog: the one
 * check behind verify's findings and a dry run's list, so they cannot
 * disagree. *pol: dbreg's policy as it is (NULL: none); want: its
 * expression as it should be. Returns false for a table without its
 * workspace_id column, which the block leaves alone. */
static bool iso_rls_state(const struct dbreg_cat_table *ct, const char *setting, bool fix[ISO_N_FIX],
			  const struct dbreg_cat_policy **pol, char *want, size_t want_size)
{
	const struct dbreg_cat_column *ws = NULL;
	for (size_t i = 0; i < ct->n_columns; i++)
		if (ct->columns[i].name && strcmp(ct->columns[i].name, "workspace_id") == 0)
			ws = &ct->columns[i];
	if (!ws)
		return false;
	iso_policy_expr(want, want_size, setting, ws->type);
	const struct dbreg_cat_policy *p = NULL;
	for (size_t i = 0; i < ct->n_policies; i++)
		if (ct->policies[i].name && strcmp(ct->policies[i].name, DBREG_RLS_POLICY) == 0)
			p = &ct->policies[i];
	*pol = p;
	fix[ISO_FIX_ENABLE] = !ct->rls_enabled;
	fix[ISO_FIX_FORCE] = !ct->rls_forced;
	fix[ISO_FIX_POLICY] = !p || strcmp(p->command ? p->command : "", "ALL") != 0 || !p->permissive ||
			      strcmp(p->roles ? p->roles : "", "public") != 0 || !p->using_expr ||
			      strcmp(p->using_expr, want) != 0 || !p->check_expr || strcmp(p->check_expr, want) != 0;
	return true;
}

/* Reports one table's problems with its policies. */
static int iso_rls_table(const struct dbreg_cat_table *ct, const char *setting, dbreg_rls_report_fn report, void *arg)
{
	char msg[1024], want[224];
	bool fix[ISO_N_FIX];
	const struct dbreg_cat_policy *pol;
	if (!iso_rls_state(ct, setting, fix, &pol, want, sizeof want))
		return 0; /* verify's column comparison says that */
	int rc = 0;
	if (fix[ISO_FIX_ENABLE] &&
	    (rc = report(arg, ct->name, "row-level security is off: every role that can read the table sees every "
					"workspace's rows (the next apply turns it on)")) != 0)
		return rc;
	if (fix[ISO_FIX_FORCE] &&
	    (rc = report(arg, ct->name, "row-level security is not forced: the table's owner bypasses the policy "
					"(the next apply forces it)")) != 0)
		return rc;
	if (!pol) {
		rc = report(arg, ct->name, "policy " DBREG_RLS_POLICY " is missing (the next apply creates it)");
	} else if (fix[ISO_FIX_POLICY]) {
		snprintf(msg, sizeof(msg),
			 "policy " DBREG_RLS_POLICY " differs: it is %s FOR %s TO %s USING %s WITH CHECK %s, not PERMISSIVE FOR ALL TO public USING %s WITH CHECK %s (the next apply replaces it)",
			 pol->permissive ? "PERMISSIVE" : "RESTRICTIVE", pol->command ? pol->command : "?",
			 pol->roles ? pol->roles : "?", pol->using_expr ? pol->using_expr : "(none)",
			 pol->check_expr ? pol->check_expr : "(none)", want, want);
		rc = report(arg, ct->name, msg);
	}
	/* Permissive policies add up: any other one widens what ours allows. */
	for (size_t i = 0; i < ct->n_policies && rc == 0; i++) {
		const struct dbreg_cat_policy *o = &ct->policies[i];
		if (o == pol || !o->permissive)
			continue;
		snprintf(msg, sizeof(msg),
			 "permissive policy %s widens what " DBREG_RLS_POLICY " allows: rows it lets through are visible whatever the workspace (make it AS RESTRICTIVE, or drop it)",
			 o->name ? o->name : "?");
		rc = report(arg, ct->name, msg);
	}
	return rc;
}

int dbreg_rls_repairs(enum dbreg_dialect dialect, const struct dbreg_catalog *cat, const struct dbreg_registry *reg,
		      const struct dbreg_package *const *pkgs, size_t n_pkgs, dbreg_rls_report_fn report, void *arg)
{
	if (!dbreg_rls_wanted(reg, dialect))
		return 0;
	const char *setting = iso_setting(reg);
	int rc = 0;
	for (size_t p = 0; p < n_pkgs && rc == 0; p++)
		for (size_t i = 0; i < pkgs[p]->n_tables && rc == 0; i++) {
			const struct dbreg_table *t = &pkgs[p]->tables[i];
			const struct dbreg_cat_table *ct =
				t->name && dbreg_iso_workspace_table(t) ? dbreg_catalog_table(cat, t->name) : NULL;
			char want[224];
			bool fix[ISO_N_FIX];
			const struct dbreg_cat_policy *pol;
			if (!ct || !iso_rls_state(ct, setting, fix, &pol, want, sizeof want))
				continue;
			for (size_t k = 0; k < ISO_N_FIX && rc == 0; k++)
				if (fix[k])
					rc = report(arg, t->name, iso_fix_said[k]);
		}
	return rc;
}

int dbreg_rls_verify(enum dbreg_dialect dialect, const struct dbreg_catalog *cat, const struct dbreg_registry *reg,
		     dbreg_rls_report_fn report, void *arg, const char **notice)
{
	if (!reg)
		return 0;
	const char *name;
	bool wanted = reg->isolation.row_level_security;
	if (!iso_dialect_rls(dialect, &name)) {
		if (wanted && notice)
			*notice = dialect == DBREG_DIALECT_SQLITE
					  ? "SQLite has no row-level security: [isolation] row_level_security is not checked there"
					  : "this database has no row-level security: [isolation] row_level_security is not checked there";
		return 0;
	}
	int rc = 0;
	const char *setting = iso_setting(reg);
	for (size_t p = 0; p < reg->n_packages && rc == 0; p++) {
		const struct dbreg_package *pkg = reg->packages[p];
		for (size_t i = 0; i < pkg->n_tables && rc == 0; i++) {
			const struct dbreg_table *t = &pkg->tables[i];
			if (!t->name || !dbreg_iso_workspace_table(t))
				continue;
			const struct dbreg_cat_table *ct = dbreg_catalog_table(cat, t->name);
			if (ct && wanted)
				rc = iso_rls_table(ct, setting, report, arg);
			else if (ct)
				rc = iso_rls_unwanted(ct, report, arg);
		}
	}
	return rc;
}
