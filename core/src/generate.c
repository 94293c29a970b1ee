/* `dbreg generate PKG`: the migration from the schema the package's
 * migrations produce (run on a scratch SQLite database, read back through
 * the schema model) to the tables it declares, found by the one differ
 * (schemadiff.h) and written as DDL for both dialects (ddl.h), with the
 * down of each step.
 *
 * Renames come only from renamed_from: they are applied to a view of the
 * replayed schema before the differ runs, so a renamed column is never a
 * drop and an add. Every existing table may hold rows: PostgreSQL indexes
 * on them are built CONCURRENTLY and foreign keys are added NOT VALID, then
 * validated, in a second migration with transaction = false; on SQLite a
 * change ALTER TABLE cannot make rebuilds the table in a foreign_keys =
 * false migration. Destructive steps carry a comment naming the data they
 * lose and are reported as DBR103. Nothing ever asks a question. */
#include "ddl.h"
#include "graph.h"
#include "diag.h"
#include "registry.h"
#include "sandbox.h"
#include "schemadiff.h"
#include "sqlcheck.h"
#include "util.h"

#include <sqlite3.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the renamed view of the replayed schema ---------------------------- */

/* Allocations of the view, freed together. */
struct gen_arena {
	void **v;
	size_t n, cap;
	bool oom;
};

static void *gen_alloc(struct gen_arena *a, size_t size)
{
	void *p = calloc(1, size ? size : 1);
	if (p && a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		void **v = realloc(a->v, cap * sizeof *v);
		if (!v) {
			free(p);
			p = NULL;
		} else {
			a->v = v;
			a->cap = cap;
		}
	}
	if (!p) {
		a->oom = true;
		return NULL;
	}
	a->v[a->n++] = p;
	return p;
}

static void gen_arena_free(struct gen_arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

struct gen_rename {
	const char *table;             /* the table's name after the renames */
	const char *from, *to;         /* column (table == NULL: a table rename) */
};

/* Everything one run works on. */
struct gen {
	const struct dbreg_registry *reg;
	const struct dbreg_package *pkg;
	struct dbreg_schema *want, *have;
	struct dbreg_schema view;      /* have with the renames applied; tables owned by arena */
	struct gen_arena arena;
	struct gen_rename *renames;
	size_t n_renames;
	struct dbreg_sdiff_list diffs;
	struct dbreg_diag_list *diags;
	const char *url;               /* replay on this PostgreSQL server; NULL: in-memory SQLite */
	/* The bodies: main migration and the online one (transaction = false). */
	struct dbreg_buf up[2][2], down[2][2];   /* [migration][dialect] */
	bool rebuild;                  /* a SQLite rebuild: foreign_keys = false */
	char **trig_table, **trig_sql; /* the replay's triggers, read once a rebuild needs them */
	size_t n_trig, n_trig_table;
	bool trig_read;
	struct dbreg_pg_coltypes pgt;  /* the types the PostgreSQL bodies give the columns (offline) */
	struct dbreg_buf summary;
	size_t n_changes;
	char err[1024];
	int rc;
};

enum { GEN_MAIN, GEN_ONLINE };
#define PG DBREG_DIALECT_POSTGRES
#define SQ DBREG_DIALECT_SQLITE

static const char *gen_map(const struct gen *g, const char *table, const char *name)
{
	/* Column `name` of the replayed table, as it is called after the renames. */
	for (size_t i = 0; i < g->n_renames; i++)
		if (g->renames[i].table && strcmp(g->renames[i].table, table) == 0 &&
		    strcmp(g->renames[i].from, name) == 0)
			return g->renames[i].to;
	return name;
}

static const char *gen_map_table(const struct gen *g, const char *name)
{
	for (size_t i = 0; i < g->n_renames; i++)
		if (!g->renames[i].table && strcmp(g->renames[i].from, name) == 0)
			return g->renames[i].to;
	return name;
}

/* The replayed name of the table called `name` after the renames. */
static const char *gen_replayed_table(const struct gen *g, const char *name)
{
	for (size_t i = 0; i < g->n_renames; i++)
		if (!g->renames[i].table && strcmp(g->renames[i].to, name) == 0)
			return g->renames[i].from;
	return name;
}

static const char **gen_map_list(struct gen *g, const char *table, const char *const *v, size_t n)
{
	if (n == 0)
		return NULL;
	const char **r = gen_alloc(&g->arena, n * sizeof *r);
	for (size_t i = 0; r && i < n; i++)
		r[i] = v[i] ? gen_map(g, table, v[i]) : NULL;
	return r;
}

static void gen_add_rename(struct gen *g, const char *table, const char *from, const char *to)
{
	struct gen_rename *r = realloc(g->renames, (g->n_renames + 1) * sizeof *r);
	if (!r) {
		g->arena.oom = true;
		return;
	}
	g->renames = r;
	r[g->n_renames++] = (struct gen_rename){table, from, to};
}

/* A renamed_from that names nothing the migrations build, while the new
 * name is not built either: a typo, which would turn the rename the author
 * asked for into a drop (the rows lost) and an add. An error at the key,
 * with the nearest name the migrations do build; nothing is generated. A
 * renamed_from whose new name is built already is done, and stays quiet. */
static int gen_check_renames(struct gen *g)
{
	const struct dbreg_package *pkg = g->pkg;
	size_t errors = g->diags->errors;
	const char **names = calloc(g->have->n_tables + 1, sizeof *names);
	if (!names)
		return DBREG_ENOMEM;
	for (size_t i = 0; i < g->have->n_tables; i++)
		names[i] = g->have->tables[i].name;
	for (size_t i = 0; i < pkg->n_tables; i++) {
		const struct dbreg_table *t = &pkg->tables[i];
		struct dbreg_diag_at at = {.file = pkg->file, .line = t->pos.line, .column = t->pos.column,
					   .package = pkg->name, .table = t->name};
		if (t->renamed_from && !dbreg_schema_table(g->have, t->name) &&
		    !dbreg_schema_table(g->have, t->renamed_from)) {
			const char *near = dbreg_nearest(t->renamed_from, names);
			if (dbreg_diag_addf(g->diags, "DBR047", &at, "table %s says renamed_from = \"%s\", but the migrations "
					    "build no table %s: generate would create %s empty instead of renaming",
					    t->name, t->renamed_from, t->renamed_from, t->name) ||
			    (near ? dbreg_diag_hintf(g->diags, "did you mean renamed_from = \"%s\"?", near)
				  : dbreg_diag_hintf(g->diags, "name the table as the migrations build it, or remove "
						     "renamed_from to create the table")))
				goto oom;
		}
		const char *old = t->renamed_from && !dbreg_schema_table(g->have, t->name) ? t->renamed_from : t->name;
		const struct dbreg_schema_table *ht = dbreg_schema_table(g->have, old);
		const char **cols = ht ? calloc(ht->n_columns + 1, sizeof *cols) : NULL;
		if (ht && !cols)
			goto oom;
		for (size_t c = 0; ht && c < ht->n_columns; c++)
			cols[c] = ht->columns[c].name;
		for (size_t c = 0; ht && c < t->n_columns; c++) {
			const struct dbreg_column *col = &t->columns[c];
			if (!col->renamed_from || dbreg_schema_column(ht, col->name) ||
			    dbreg_schema_column(ht, col->renamed_from))
				continue;
			const char *near = dbreg_nearest(col->renamed_from, cols);
			struct dbreg_diag_at cat = at;
			cat.line = col->pos.line;
			cat.column = col->pos.column;
			cat.column_name = col->name;
			if (dbreg_diag_addf(g->diags, "DBR047", &cat, "column %s.%s says renamed_from = \"%s\", but the "
					    "migrations build no column %s in %s: generate would add %s empty (and drop "
					    "what it meant) instead of renaming", t->name, col->name, col->renamed_from,
					    col->renamed_from, ht->name, col->name) ||
			    (near ? dbreg_diag_hintf(g->diags, "did you mean renamed_from = \"%s\"?", near)
				  : dbreg_diag_hintf(g->diags, "name the column as the migrations build it, or remove "
						     "renamed_from to add the column"))) {
				free(cols);
				goto oom;
			}
		}
		free(cols);
	}
	free(names);
	return g->diags->errors > errors ? DBREG_EINVALID : 0;
oom:
	free(names);
	return DBREG_ENOMEM;
}

/* Whether the differences change the type of column c. */
static bool gen_type_changes(const struct dbreg_sdiff *d, size_t n, const struct dbreg_schema_column *c)
{
	for (size_t k = 0; k < n; k++)
		if (d[k].kind == DBREG_SDIFF_COLUMN_TYPE && d[k].want_col == c)
			return true;
	return false;
}

/* The type the package's PostgreSQL bodies give column c of view table v
 * (h: the replayed table it is a copy of, whose names the bodies use);
 * NULL when their parse does not know it. A column generate renamed is
 * renamed on PostgreSQL inside a DO block, which the parse does not read:
 * then the type is the one of its renamed_from. */
static const char *gen_pg_spelling(const struct gen *g, const struct dbreg_schema_table *h,
				   const struct dbreg_schema_table *v, size_t c)
{
	const char *s = dbreg_pg_coltype(&g->pgt, h->name, h->columns[c].name);
	if (s)
		return s;
	const struct dbreg_table *t = dbreg_package_table(g->pkg, v->name);
	const struct dbreg_column *col = t ? dbreg_table_column(t, v->columns[c].name) : NULL;
	return col && col->renamed_from ? dbreg_pg_coltype(&g->pgt, h->name, col->renamed_from) : NULL;
}

/* A declared column whose PostgreSQL type the parse does not know, while
 * the type SQLite's body spelled is another one for PostgreSQL: a change
 * only PostgreSQL would make (integer to bigint, a varchar's length) may
 * be missing from what generate writes. */
static void gen_pg_unseen(struct gen *g, const struct dbreg_schema_table *wt, const struct dbreg_schema_column *w,
			  const struct dbreg_schema_column *have)
{
	struct dbreg_type t;
	if (!w || !w->ptype.info || !have->type || dbreg_type_parse(have->type, &t) != 0 ||
	    dbreg_type_stores(&w->ptype, have->type, PG) || gen_type_changes(g->diffs.items, g->diffs.len, w))
		return;
	struct dbreg_diag_at at = {.file = g->pkg->file, .line = w->pos.line, .column = w->pos.column,
				   .package = g->pkg->name, .table = wt->name, .column_name = w->name};
	if (dbreg_diag_addf(g->diags, "DBR103", &at, "column %s.%s is declared %s; the migrations' SQLite body makes "
			    "it %s, and which type their PostgreSQL body gives it cannot be read offline: a type change "
			    "(a table rewrite) PostgreSQL needs may be missing from the generated migration",
			    wt->name, w->name, w->type, have->type) ||
	    dbreg_diag_hintf(g->diags, "pass --target a PostgreSQL URL: generate then replays the PostgreSQL bodies "
			     "there, where types compare exactly"))
		g->arena.oom = true;
}

/* Inserts x after the differences of its table and the tables before it
 * (the list is in `want` table order, each table's together). */
static int gen_diff_insert(struct dbreg_sdiff_list *l, const struct dbreg_schema *want, struct dbreg_sdiff x)
{
	if (l->len == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct dbreg_sdiff *v = realloc(l->items, cap * sizeof *v);
		if (!v)
			return DBREG_ENOMEM;
		l->items = v;
		l->cap = cap;
	}
	size_t key = (size_t)(x.want_table - want->tables), at = l->len;
	while (at > 0 && (!l->items[at - 1].want_table || (size_t)(l->items[at - 1].want_table - want->tables) > key))
		at--;
	memmove(&l->items[at + 1], &l->items[at], (l->len - at) * sizeof *l->items);
	l->items[at] = x;
	l->len++;
	return 0;
}

/* The replayed SQLite schema knows a column's storage class, not its type
 * (uuid, timestamptz and jsonb are TEXT, boolean and bigint INTEGER): the
 * view's columns take the types the package's PostgreSQL bodies give them
 * (sqlcheck's parse of their CREATE TABLE, ADD COLUMN, ALTER COLUMN TYPE
 * and RENAME), so that what a PostgreSQL body recreates (the down of a drop
 * or of a type change) has them. After the differ ran, so that what it
 * compared stays SQLite's; SQLite's own bodies spell the catalog's types
 * (dbreg_ddl_type).
 *
 * Then the differ runs once more on each table of the view, its types
 * spelled as PostgreSQL has them and judged as a PostgreSQL catalog's: a
 * type difference only PostgreSQL has (integer to bigint, varchar(20) to
 * varchar(50), text to varchar(10), timestamp to timestamptz: one storage
 * class on SQLite) joins the list, and its ALTER COLUMN TYPE is written for
 * PostgreSQL alone. */
static int gen_pg_types(struct gen *g)
{
	if (g->url || !g->view.tables)
		return 0;   /* replayed on PostgreSQL: the catalog's types are its own */
	int rc = dbreg_sqlcheck_pg_coltypes(g->pkg, &g->pgt);
	if (rc != 0)
		return rc;
	/* Only what the differ judges types by: the dialect of a catalog. */
	struct dbreg_schema pg = {.source = DBREG_SCHEMA_CATALOG, .dialect = PG};
	struct dbreg_sdiff_list found = DBREG_SDIFF_LIST_INIT;
	for (size_t i = 0; rc == 0 && i < g->view.n_tables; i++) {
		struct dbreg_schema_table *v = &g->view.tables[i];
		/* The view is sorted by the names after the renames: its
		 * replayed table by name, not by place. */
		const struct dbreg_schema_table *h = dbreg_schema_table(g->have, gen_replayed_table(g, v->name));
		if (!h || h->n_columns != v->n_columns)
			continue;
		const struct dbreg_schema_table *wt = dbreg_schema_table(g->want, v->name);
		struct dbreg_schema_column *cols = (struct dbreg_schema_column *)v->columns;
		struct dbreg_schema_column *typed = gen_alloc(&g->arena, (v->n_columns + 1) * sizeof *typed);
		if (!typed) {
			rc = DBREG_ENOMEM;
			break;
		}
		for (size_t c = 0; c < v->n_columns; c++) {
			struct dbreg_type t;
			const char *spelling = gen_pg_spelling(g, h, v, c);
			const struct dbreg_schema_column *w = wt ? dbreg_schema_column(wt, cols[c].name) : NULL;
			typed[c] = cols[c];
			if (spelling && dbreg_type_parse(spelling, &t) == 0) {
				cols[c].ptype = t;
				typed[c].type = spelling;
			} else {
				if (wt)
					gen_pg_unseen(g, wt, w, &cols[c]);
				/* Unknown: taken as what is declared. */
				typed[c].type = w ? w->type : cols[c].type;
			}
		}
		if (!wt)
			continue;
		struct dbreg_schema_table t = *v;
		t.columns = typed;
		static const struct dbreg_sdiff_opts types_only = {0};
		size_t from = found.len, kept = from;
		rc = dbreg_schema_diff_table(&found, wt, &t, &pg, &types_only);
		for (size_t k = from; rc == 0 && k < found.len; k++) {
			struct dbreg_sdiff x = found.items[k];
			if (x.kind != DBREG_SDIFF_COLUMN_TYPE || gen_type_changes(g->diffs.items, g->diffs.len, x.want_col))
				continue;
			x.have_table = v;
			x.have_col = &v->columns[x.have_col - typed];
			found.items[kept++] = x;
		}
		found.len = kept;
	}
	for (size_t k = 0; rc == 0 && k < found.len; k++)
		rc = gen_diff_insert(&g->diffs, g->want, found.items[k]);
	dbreg_sdiff_list_dispose(&found);
	return rc ? rc : g->arena.oom ? DBREG_ENOMEM : 0;
}

/* A key column whose type changes while a foreign key of another package
 * references it: PostgreSQL's ALTER COLUMN ... TYPE rebuilds that foreign
 * key with the new type, and refuses a type its column's cannot reference
 * ("foreign key constraint cannot be implemented", 42804), and generate
 * writes the package's own tables only. The referencing column's type is
 * the one its package's PostgreSQL bodies give it, else the declared one.
 * An error at the column, naming the package, table and column that
 * reference it; nothing is generated. */
static int gen_check_referenced(struct gen *g)
{
	size_t errors = g->diags->errors;
	for (size_t p = 0; p < g->reg->n_packages; p++) {
		const struct dbreg_package *other = g->reg->packages[p];
		struct dbreg_pg_coltypes pt = {0};
		bool read = false;
		for (size_t t = 0; t < other->n_tables && other != g->pkg; t++) {
			const struct dbreg_table *rt = &other->tables[t];
			for (size_t c = 0; c < rt->n_columns; c++) {
				const struct dbreg_column *rc = &rt->columns[c];
				const struct dbreg_sdiff *x = NULL;
				for (size_t k = 0; rc->ref_table && rc->ref_column && k < g->diffs.len && !x; k++) {
					const struct dbreg_sdiff *y = &g->diffs.items[k];
					if (y->kind == DBREG_SDIFF_COLUMN_TYPE && strcmp(y->want_col->name, rc->ref_column) == 0 &&
					    (strcmp(y->want_table->name, rc->ref_table) == 0 ||
					     strcmp(gen_replayed_table(g, y->want_table->name), rc->ref_table) == 0))
						x = y;
				}
				if (!x)
					continue;
				if (!read && dbreg_sqlcheck_pg_coltypes(other, &pt) != 0)
					return DBREG_ENOMEM;
				read = true;
				const char *spelling = dbreg_pg_coltype(&pt, rt->name, rc->name);
				struct dbreg_type have;
				if (!spelling || dbreg_type_parse(spelling, &have) != 0) {
					spelling = rc->type;
					if (dbreg_type_parse(spelling, &have) != 0)
						continue;
				}
				if (dbreg_type_fk_compatible(have.info, x->want_col->ptype.info))
					continue;
				char shown[96];
				dbreg_type_pg_spelling(&have, shown, sizeof shown);
				const struct dbreg_schema_column *w = x->want_col;
				struct dbreg_diag_at at = {.file = g->pkg->file, .line = w->pos.line, .column = w->pos.column,
							   .package = g->pkg->name, .table = x->want_table->name,
							   .column_name = w->name};
				if (dbreg_diag_addf(g->diags, "DBR029", &at, "column %s.%s cannot change to %s here: column "
						    "%s.%s of package %s references it and is %s, which cannot reference %s "
						    "(PostgreSQL refuses the change), and a migration of %s cannot change %s's tables",
						    x->want_table->name, w->name, w->type, rt->name, rc->name, other->name, shown,
						    w->type, g->pkg->name, other->name) ||
				    dbreg_diag_hintf(g->diags, "in steps: a release of %s whose migration drops that foreign key, "
						     "then this change, then one of %s that makes %s.%s %s and adds the key back",
						     other->name, other->name, rt->name, rc->name, w->type)) {
					dbreg_pg_coltypes_dispose(&pt);
					return DBREG_ENOMEM;
				}
			}
		}
		dbreg_pg_coltypes_dispose(&pt);
	}
	return g->diags->errors > errors ? DBREG_EINVALID : 0;
}

/* Finds the renames renamed_from asks for that the replayed schema still
 * needs, then builds the view: copies of the replayed tables under their
 * new names, with renamed columns and references. */
static void gen_view(struct gen *g)
{
	const struct dbreg_package *pkg = g->pkg;
	for (size_t i = 0; i < pkg->n_tables; i++) {
		const struct dbreg_table *t = &pkg->tables[i];
		if (t->renamed_from && !dbreg_schema_table(g->have, t->name) && dbreg_schema_table(g->have, t->renamed_from))
			gen_add_rename(g, NULL, t->renamed_from, t->name);
	}
	for (size_t i = 0; i < pkg->n_tables; i++) {
		const struct dbreg_table *t = &pkg->tables[i];
		const struct dbreg_schema_table *ht = dbreg_schema_table(g->have, gen_replayed_table(g, t->name));
		for (size_t c = 0; ht && c < t->n_columns; c++) {
			const struct dbreg_column *col = &t->columns[c];
			if (col->renamed_from && !dbreg_schema_column(ht, col->name) && dbreg_schema_column(ht, col->renamed_from))
				gen_add_rename(g, t->name, col->renamed_from, col->name);
		}
	}
	g->view = *g->have;
	g->view.tables = gen_alloc(&g->arena, (g->have->n_tables + 1) * sizeof *g->view.tables);
	g->view.cap_tables = g->have->n_tables;
	g->view.sorted = false;
	if (!g->view.tables)
		return;
	for (size_t i = 0; i < g->have->n_tables; i++) {
		const struct dbreg_schema_table *h = &g->have->tables[i];
		struct dbreg_schema_table *v = &g->view.tables[i];
		*v = *h;
		v->name = gen_map_table(g, h->name);
		struct dbreg_schema_column *cols = gen_alloc(&g->arena, (h->n_columns + 1) * sizeof *cols);
		struct dbreg_schema_fkey *fks = gen_alloc(&g->arena, (h->n_fkeys + 1) * sizeof *fks);
		struct dbreg_schema_index *ixs = gen_alloc(&g->arena, (h->n_indexes + 1) * sizeof *ixs);
		if (!cols || !fks || !ixs)
			return;
		for (size_t c = 0; c < h->n_columns; c++) {
			cols[c] = h->columns[c];
			cols[c].name = gen_map(g, v->name, h->columns[c].name);
		}
		for (size_t k = 0; k < h->n_fkeys; k++) {
			fks[k] = h->fkeys[k];
			fks[k].columns = gen_map_list(g, v->name, h->fkeys[k].columns, h->fkeys[k].n_columns);
			fks[k].ref_table = gen_map_table(g, h->fkeys[k].ref_table);
			fks[k].ref_columns = gen_map_list(g, fks[k].ref_table, h->fkeys[k].ref_columns, h->fkeys[k].n_columns);
		}
		for (size_t k = 0; k < h->n_indexes; k++) {
			ixs[k] = h->indexes[k];
			ixs[k].columns = gen_map_list(g, v->name, h->indexes[k].columns, h->indexes[k].n_columns);
		}
		v->columns = cols;
		v->fkeys = fks;
		v->indexes = ixs;
		v->primary_key = gen_map_list(g, v->name, h->primary_key, h->n_primary_key);
	}
}

/* ---- writing statements --------------------------------------------------- */

/* Two per dialect: what the main migration's up does, then its down. The
 * downs are collected in order and written reversed. */
struct gen_step {
	char *up[2], *down[2];
	int migration;
};

struct gen_steps {
	struct gen_step *v;
	size_t n, cap;
};

static void gen_step(struct gen *g, struct gen_steps *s, int migration, struct dbreg_buf up[2], struct dbreg_buf down[2])
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		struct gen_step *v = realloc(s->v, cap * sizeof *v);
		if (!v) {
			g->arena.oom = true;
			for (int d = 0; d < 2; d++) {
				dbreg_buf_dispose(&up[d]);
				dbreg_buf_dispose(&down[d]);
			}
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	struct gen_step *st = &s->v[s->n++];
	st->migration = migration;
	for (int d = 0; d < 2; d++) {
		g->arena.oom |= up[d].oom || down[d].oom;
		st->up[d] = up[d].len ? dbreg_buf_detach(&up[d]) : NULL;
		st->down[d] = down[d].len ? dbreg_buf_detach(&down[d]) : NULL;
		dbreg_buf_dispose(&up[d]);
		dbreg_buf_dispose(&down[d]);
	}
}

static void gen_note(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void gen_note(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (g->summary.len)
		dbreg_buf_puts(&g->summary, "; ");
	dbreg_buf_vprintf(&g->summary, fmt, ap);
	va_end(ap);
	g->n_changes++;
}

/* A destructive step: a comment in both bodies, and DBR103. */
static void gen_loss(struct gen *g, struct dbreg_buf up[2], const char *table, const char *column, const char *what)
{
	for (int d = 0; d < 2; d++)
		dbreg_buf_printf(&up[d], "-- DBR103: %s\n", what);
	struct dbreg_diag_at at = {.file = g->pkg->file, .package = g->pkg->name, .table = table, .column_name = column};
	dbreg_diag_addf(g->diags, "DBR103", &at, "generate wrote a destructive step: %s", what);
}

static void gen_cols(struct dbreg_buf *b, const char *const *cols, size_t n)
{
	dbreg_ddl_ident_list(b, cols, n);
}

/* ---- one kind of difference at a time --------------------------------------- */

static bool gen_sqlite_can_add(const struct dbreg_schema_table *t, const struct dbreg_schema_column *c)
{
	/* SQLite's ALTER TABLE ADD COLUMN: no PRIMARY KEY or UNIQUE, a
	 * constant default, NOT NULL only with a non-NULL default, and
	 * REFERENCES only with a NULL default. */
	for (size_t i = 0; i < t->n_primary_key; i++)
		if (strcmp(t->primary_key[i], c->name) == 0)
			return false;
	bool fk = false;
	for (size_t i = 0; i < t->n_fkeys; i++)
		for (size_t k = 0; k < t->fkeys[i].n_columns; k++)
			fk = fk || strcmp(t->fkeys[i].columns[k], c->name) == 0;
	bool has_default = c->def.kind != DBREG_DV_NONE;
	if (c->def.kind == DBREG_DV_NOW || c->def.kind == DBREG_DV_EXPR)
		return false;
	if (c->not_null && !has_default)
		return false;
	if (fk && (has_default || c->not_null))
		return false;
	return true;
}

static bool gen_sqlite_can_drop(const struct dbreg_schema_table *h, const struct dbreg_schema_column *c)
{
	/* Its down adds it back: SQLite cannot add a NOT NULL column without
	 * a default in place. */
	if (c->not_null && c->def.kind == DBREG_DV_NONE)
		return false;
	for (size_t i = 0; i < h->n_primary_key; i++)
		if (strcmp(h->primary_key[i], c->name) == 0)
			return false;
	for (size_t i = 0; i < h->n_fkeys; i++)
		for (size_t k = 0; k < h->fkeys[i].n_columns; k++)
			if (h->fkeys[i].columns[k] && strcmp(h->fkeys[i].columns[k], c->name) == 0)
				return false;
	/* A UNIQUE constraint's index cannot be dropped on its own. */
	for (size_t i = 0; i < h->n_indexes; i++)
		for (size_t k = 0; k < h->indexes[i].n_columns; k++)
			if (h->indexes[i].columns[k] && strcmp(h->indexes[i].columns[k], c->name) == 0 &&
			    h->indexes[i].name && strncmp(h->indexes[i].name, "sqlite_autoindex_", 17) == 0)
				return false;
	return true;
}

/* A replayed index that SQLite made for a UNIQUE constraint of CREATE
 * TABLE; on PostgreSQL the same constraint is <table>_<cols>_key. */
static bool gen_autoindex(const struct dbreg_schema_index *ix)
{
	return ix->name && strncmp(ix->name, "sqlite_autoindex_", 17) == 0;
}

/* Whether SQLite must rebuild the table for these differences (pg: the
 * replay was PostgreSQL's, whose catalog does not tell a unique
 * constraint's index from a unique index). */
static bool gen_needs_rebuild(const struct dbreg_sdiff *d, size_t n, bool pg)
{
	for (size_t i = 0; i < n; i++) {
		switch (d[i].kind) {
		case DBREG_SDIFF_COLUMN_TYPE:
			/* A type SQLite stores the column as already changes nothing
			 * there: a length (varchar(20) to varchar(100)), integer to
			 * bigint, seen by PostgreSQL only. */
			if (d[i].want_col->ptype.info && d[i].have_col->type &&
			    dbreg_type_stores(&d[i].want_col->ptype, d[i].have_col->type, SQ))
				break;
			return true;
		case DBREG_SDIFF_COLUMN_NULLABILITY:
		case DBREG_SDIFF_COLUMN_DEFAULT:
		case DBREG_SDIFF_PRIMARY_KEY:
		case DBREG_SDIFF_FKEY_MISSING:
		case DBREG_SDIFF_FKEY_EXTRA:
		case DBREG_SDIFF_FKEY_TARGET:
		case DBREG_SDIFF_FKEY_ACTION:
			return true;
		case DBREG_SDIFF_INDEX_EXTRA:
			/* A UNIQUE constraint's index: DROP INDEX refuses it. */
			if (gen_autoindex(d[i].have_ix) || (pg && d[i].have_ix->unique))
				return true;
			break;
		case DBREG_SDIFF_COLUMN_MISSING:
			if (!gen_sqlite_can_add(d[i].want_table, d[i].want_col))
				return true;
			break;
		case DBREG_SDIFF_COLUMN_EXTRA:
			if (!gen_sqlite_can_drop(d[i].have_table, d[i].have_col))
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}

static char *gen_coldef(enum dbreg_dialect dl, const struct dbreg_schema *src, const struct dbreg_schema_table *t,
			const struct dbreg_schema_column *c, bool refs)
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_ddl_column_def(&b, dl, src, t, c, refs);
	return dbreg_buf_detach(&b);
}

static char *gen_typetext(enum dbreg_dialect dl, const struct dbreg_schema *src, const struct dbreg_schema_column *c)
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_ddl_type(&b, dl, src, c);
	return dbreg_buf_detach(&b);
}

static char *gen_deftext(enum dbreg_dialect dl, const struct dbreg_schema_column *c)
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	if (!dbreg_ddl_default(&b, dl, c)) {
		dbreg_buf_dispose(&b);
		return NULL;
	}
	return dbreg_buf_detach(&b);
}

/* The integer type of a serial column (a declared serial, or a catalog's
 * column whose default reads a sequence); NULL for any other. */
static const char *gen_serial_int(const struct dbreg_schema_column *c)
{
	if (!c->identity)
		return NULL;
	const char *name = c->ptype.info ? c->ptype.info->name : "";
	return strcmp(name, "bigserial") == 0 || strcmp(name, "bigint") == 0 ? "bigint" : "integer";
}

/* A PostgreSQL column's type changed from one with default from_def (or
 * a serial) to `type` with to_def (or a serial of integer type to_int):
 * the old default (or sequence) goes first, then the type, then the new
 * default (or sequence). Up and down are the same steps the other way. */
static void gen_retype(struct dbreg_buf *b, struct ddl_vars *v, struct ddl_vars *sv, bool from_serial, bool to_serial,
		       const char *from_def, const char *to_def, const char *type, const char *to_int)
{
	if (from_def)
		dbreg_ddl_emit(b, DBREG_DIALECT_POSTGRES, DDL_DROP_DEFAULT, v);
	if (from_serial && !to_serial)
		dbreg_ddl_emit(b, DBREG_DIALECT_POSTGRES, DDL_DROP_SEQUENCE, sv);
	v->type = type;
	dbreg_ddl_emit(b, DBREG_DIALECT_POSTGRES, DDL_SET_TYPE, v);
	sv->type = to_int;
	if (to_serial)
		dbreg_ddl_emit(b, DBREG_DIALECT_POSTGRES, from_serial ? DDL_SET_SEQUENCE_TYPE : DDL_ADD_SEQUENCE, sv);
	v->expr = to_def;
	if (to_def)
		dbreg_ddl_emit(b, DBREG_DIALECT_POSTGRES, DDL_SET_DEFAULT, v);
}

static char *gen_list(const char *const *cols, size_t n)
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	gen_cols(&b, cols, n);
	return dbreg_buf_detach(&b);
}

static char *gen_refs(const struct dbreg_schema_fkey *f)
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_ddl_references(&b, f);
	return dbreg_buf_detach(&b);
}

static void gen_fk_name(char *out, size_t size, const char *table, const struct dbreg_schema_fkey *f)
{
	dbreg_ddl_constraint_name(out, size, table, f->columns, f->n_columns, "fkey");
}

/* The value a down gives the rows of a NOT NULL column without a default
 * that it adds back (its values are gone with the up): without one, ADD
 * COLUMN (PostgreSQL) and the rebuild's copy (SQLite) fail on any row, and
 * the down could never run on a table that has them. By portable type,
 * then by SQLite's affinity. */
static const struct {
	const char *type, *postgres, *sqlite;
} gen_fills[] = {
	{"text", "''", "''"},           {"varchar", "''", "''"},       {"char", "''", "''"},
	{"smallint", "0", "0"},         {"integer", "0", "0"},         {"bigint", "0", "0"},
	{"numeric", "0", "0"},          {"real", "0", "0"},            {"double", "0", "0"},
	{"boolean", "false", "0"},      {"date", "'1970-01-01'", "'1970-01-01'"},
	{"time", "'00:00:00'", "'00:00:00'"},
	{"timestamp", "'1970-01-01 00:00:00'", "'1970-01-01 00:00:00'"},
	{"timestamptz", "'1970-01-01 00:00:00+00'", "'1970-01-01 00:00:00+00'"},
	{"uuid", "'00000000-0000-0000-0000-000000000000'", "'00000000-0000-0000-0000-000000000000'"},
	{"json", "'null'", "'null'"},   {"jsonb", "'null'", "'null'"}, {"bytea", "''", "X''"},
	{"TEXT", NULL, "''"},           {"INTEGER", NULL, "0"},        {"REAL", NULL, "0"},
	{"NUMERIC", NULL, "0"},         {"BLOB", NULL, "X''"},
};

static const char *gen_fill(const struct dbreg_schema_column *c, enum dbreg_dialect dl)
{
	if (!c->not_null || c->def.kind != DBREG_DV_NONE || c->identity)
		return NULL;
	const char *names[2] = {c->ptype.info ? c->ptype.info->name : NULL, dbreg_type_affinity(c->type)};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; names[k] && i < sizeof gen_fills / sizeof gen_fills[0]; i++)
			if (strcmp(gen_fills[i].type, names[k]) == 0)
				return dl == PG ? gen_fills[i].postgres : gen_fills[i].sqlite;
	return NULL;
}

/* Whether a type change can lose values: anything but a change to a wider
 * type of the same family. */
static bool gen_narrowing(const struct dbreg_type *to, const struct dbreg_type *from)
{
	static const char *const ladders[][4] = {
		{"smallint", "integer", "bigint", "numeric"},
		{"real", "double", "numeric", NULL},
		{"char", "varchar", "text", NULL},
		{"timestamp", "timestamptz", NULL, NULL},
		{"json", "jsonb", "text", NULL},
	};
	if (!to->info || !from->info)
		return true;
	if (strcmp(to->info->name, "text") == 0)
		return false;   /* every value has a text form */
	for (size_t l = 0; l < sizeof ladders / sizeof ladders[0]; l++) {
		int a = -1, b = -1;
		for (int k = 0; k < 4 && ladders[l][k]; k++) {
			if (strcmp(ladders[l][k], from->info->storage) == 0 || strcmp(ladders[l][k], from->info->name) == 0)
				a = k;
			if (strcmp(ladders[l][k], to->info->storage) == 0 || strcmp(ladders[l][k], to->info->name) == 0)
				b = k;
		}
		if (a >= 0 && b >= 0 && b > a)
			return false;
		if (a >= 0 && b == a)
			return to->n_params > 0 && from->n_params > 0 && to->params[0] < from->params[0];
	}
	/* integer kinds into numeric and real kinds: no integer is lost */
	return !(strcmp(to->info->name, "numeric") == 0 && to->n_params == 0);
}

/* The triggers the package's SQLite migrations create, with their tables:
 * DROP TABLE takes a table's triggers with it, so a rebuild creates them
 * again. The catalog reader of the drivers has no triggers, so the SQLite
 * bodies run once more on a private in-memory database, read there. */
static void gen_read_triggers(struct gen *g)
{
	if (g->trig_read)
		return;
	g->trig_read = true;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return;
	}
	size_t *order = NULL;
	bool ok = dbreg_graph_order(g->reg, &order) == 0;
	for (size_t k = 0; ok && k < g->reg->n_packages; k++) {
		const struct dbreg_package *p = g->reg->packages[order[k]];
		for (size_t i = 0; i < p->n_migrations; i++) {
			const struct dbreg_sql *b = dbreg_migration_body(&p->migrations[i], SQ, true);
			if (b && b->text)
				sqlite3_exec(db, b->text, NULL, NULL, NULL);   /* as far as it goes: only triggers matter */
		}
		if (p == g->pkg)
			break;
	}
	free(order);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger' AND sql IS NOT NULL"
				   " ORDER BY name", -1, &st, NULL) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (dbreg_strv_push(&g->trig_table, &g->n_trig_table, (const char *)sqlite3_column_text(st, 0)) != 0 ||
			    dbreg_strv_push(&g->trig_sql, &g->n_trig, (const char *)sqlite3_column_text(st, 1)) != 0) {
				g->arena.oom = true;
				break;
			}
		}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* CREATE TRIGGER again for each trigger on `table` (as the replay names it). */
static void gen_triggers(struct gen *g, struct dbreg_buf *b, const char *table)
{
	gen_read_triggers(g);
	for (size_t i = 0; i < g->n_trig; i++)
		if (strcmp(g->trig_table[i], table) == 0)
			dbreg_buf_printf(b, "%s;\n", g->trig_sql[i]);
}

/* ---- foreign keys on a key that changes ------------------------------------- */

/* The keys of the replayed table that these differences drop on
 * PostgreSQL: its primary key when it changes, unique indexes that go or
 * are built again, and a column whose type changes to another family
 * (integer to text): PostgreSQL rebuilds a foreign key on it with the new
 * type, and refuses one whose column's type, changed in this migration
 * too but later, cannot reference it yet. */
struct gen_keys {
	const char *const *cols[16];
	size_t n[16], len;
};

static void gen_dropped_keys(const struct dbreg_sdiff *d, size_t n, struct gen_keys *k)
{
	const struct dbreg_schema_table *ht = d[0].have_table;
	k->len = 0;
	for (size_t i = 0; i < n && k->len < 16; i++) {
		const struct dbreg_sdiff *x = &d[i];
		if (x->kind == DBREG_SDIFF_PRIMARY_KEY && ht->n_primary_key) {
			k->cols[k->len] = ht->primary_key;
			k->n[k->len++] = ht->n_primary_key;
		} else if ((x->kind == DBREG_SDIFF_INDEX_EXTRA || x->kind == DBREG_SDIFF_INDEX_COLUMNS ||
			    x->kind == DBREG_SDIFF_INDEX_UNIQUE) && x->have_ix->unique) {
			k->cols[k->len] = x->have_ix->columns;
			k->n[k->len++] = x->have_ix->n_columns;
		} else if (x->kind == DBREG_SDIFF_COLUMN_TYPE &&
			   !dbreg_type_fk_compatible(x->have_col->ptype.info, x->want_col->ptype.info)) {
			k->cols[k->len] = &x->have_col->name;
			k->n[k->len++] = 1;
		}
	}
}

/* Whether foreign key f points at one of the keys of ht: PostgreSQL ties
 * it to that key's index, and dropping the key fails (2BP01, dependent
 * objects) while the foreign key stands. A referenced column SQLite
 * leaves unnamed is the primary key's. */
static bool gen_fk_on_keys(const struct dbreg_schema_fkey *f, const struct dbreg_schema_table *ht,
			   const struct gen_keys *k)
{
	if (!f->ref_table || strcmp(f->ref_table, ht->name) != 0)
		return false;
	for (size_t j = 0; j < k->len; j++) {
		if (k->n[j] != f->n_columns)
			continue;
		bool all = true;
		for (size_t c = 0; c < f->n_columns && all; c++) {
			const char *r = f->ref_columns && f->ref_columns[c] ? f->ref_columns[c]
				      : c < ht->n_primary_key ? ht->primary_key[c] : NULL;
			bool in = false;
			for (size_t m = 0; r && m < k->n[j] && !in; m++)
				in = k->cols[j][m] && strcmp(k->cols[j][m], r) == 0;
			all = in;
		}
		if (all)
			return true;
	}
	return false;
}

/* The foreign keys of the package's tables on keys of ht that this table's
 * changes drop. after = false: the step before the table's, which drops
 * them on PostgreSQL (its down adds them back and validates them); after
 * = true: the step after, which adds each back as declared, NOT VALID and
 * validated online (its down drops it again). A foreign key the package no
 * longer declares is not added back: its own difference drops it. Returns
 * whether there are any. */
static bool gen_dependents(struct gen *g, struct gen_steps *steps, const struct dbreg_sdiff *d, size_t n, bool after)
{
	const struct dbreg_schema_table *ht = d[0].have_table;
	struct gen_keys k;
	gen_dropped_keys(d, n, &k);
	if (!k.len)
		return false;
	bool any = false;
	struct dbreg_buf up[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT}, down[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT};
	struct dbreg_buf oup[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT}, odown[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT};
	for (size_t i = 0; i < g->view.n_tables; i++) {
		const struct dbreg_schema_table *vt = &g->view.tables[i];
		for (size_t f = 0; f < vt->n_fkeys; f++) {
			const struct dbreg_schema_fkey *hf = &vt->fkeys[f];
			if (!gen_fk_on_keys(hf, ht, &k))
				continue;
			any = true;
			char name[128];
			gen_fk_name(name, sizeof name, vt->name, hf);
			char *cols = gen_list(hf->columns, hf->n_columns);
			struct ddl_vars v = {.table = vt->name, .name = name, .cols = cols};
			if (!after) {
				/* The down adds it back on the old key: named, since the
				 * table's key by default is the new one by then. */
				struct dbreg_schema_fkey named = *hf;
				const char **rc = gen_alloc(&g->arena, (hf->n_columns + 1) * sizeof *rc);
				for (size_t c = 0; rc && c < hf->n_columns; c++)
					rc[c] = hf->ref_columns && hf->ref_columns[c] ? hf->ref_columns[c] : ht->primary_key[c];
				named.ref_columns = rc;
				char *ref = rc ? gen_refs(&named) : NULL;
				v.ref = ref;
				dbreg_ddl_emit(&up[PG], PG, DDL_DROP_FKEY, &v);
				dbreg_ddl_emit(&down[PG], PG, DDL_ADD_FKEY, &v);
				dbreg_ddl_emit(&down[PG], PG, DDL_VALIDATE_FKEY, &v);
				free(ref);
			} else {
				const struct dbreg_schema_table *wt = dbreg_schema_table(g->want, vt->name);
				const struct dbreg_schema_fkey *wf = NULL;
				for (size_t w = 0; wt && w < wt->n_fkeys && !wf; w++) {
					bool same = wt->fkeys[w].n_columns == hf->n_columns;
					for (size_t c = 0; same && c < hf->n_columns; c++)
						same = strcmp(wt->fkeys[w].columns[c], hf->columns[c]) == 0;
					if (same)
						wf = &wt->fkeys[w];
				}
				if (wf) {
					char *ref = gen_refs(wf);
					v.ref = ref;
					dbreg_ddl_emit(&up[PG], PG, DDL_ADD_FKEY, &v);
					dbreg_ddl_emit(&oup[PG], PG, DDL_VALIDATE_FKEY, &v);
					dbreg_ddl_emit(&down[PG], PG, DDL_DROP_FKEY, &v);
					free(ref);
				}
			}
			free(cols);
		}
	}
	gen_step(g, steps, GEN_MAIN, up, down);
	gen_step(g, steps, GEN_ONLINE, oup, odown);
	return any;
}

/* Statements for the differences of one existing table; dependents: the
 * foreign keys on a key it drops were dropped before (gen_dependents), and
 * the unique key they come back on is built here, not online. */
static void gen_table(struct gen *g, struct gen_steps *steps, const struct dbreg_sdiff *d, size_t n, bool dependents)
{
	const struct dbreg_schema_table *wt = d[0].want_table, *ht = d[0].have_table;
	const char *t = wt->name;
	bool rebuild = gen_needs_rebuild(d, n, g->url != NULL);
	struct dbreg_buf up[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT}, down[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT};
	struct dbreg_buf oup[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT}, odown[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT};
	struct dbreg_buf later[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT};   /* the downs of the passes after this one */
	char name[128];
	/* Drops first (indexes and keys, then the columns they were on), then
	 * additions and changes; the down undoes the passes in reverse (the
	 * column comes back before the index on it). */
	for (int pass = 0; pass < 3; pass++) {
		for (int dl = 0; dl < 2; dl++) {
			if (later[dl].len)
				dbreg_buf_puts(&down[dl], later[dl].ptr);
			g->arena.oom |= later[dl].oom;
			dbreg_buf_dispose(&later[dl]);
			later[dl] = down[dl];
			down[dl] = (struct dbreg_buf)DBREG_BUF_INIT;
		}
		for (size_t i = 0; i < n; i++) {
			const struct dbreg_sdiff *x = &d[i];
			struct ddl_vars v = {.table = t};
			int want_pass = x->kind == DBREG_SDIFF_INDEX_EXTRA || x->kind == DBREG_SDIFF_FKEY_EXTRA ? 0
					: x->kind == DBREG_SDIFF_COLUMN_EXTRA				      ? 1
													      : 2;
			if (pass != want_pass)
				continue;
			char *a = NULL, *b = NULL, *c = NULL;
			switch (x->kind) {
			case DBREG_SDIFF_INDEX_EXTRA:
				a = gen_list(x->have_ix->columns, x->have_ix->n_columns);
				v.cols = a;
				if (gen_autoindex(x->have_ix) || dbreg_ddl_unique_constraint(g->have, ht, x->have_ix)) {
					/* A UNIQUE constraint: PostgreSQL's by its default
					 * name, SQLite's by the rebuild. */
					dbreg_ddl_constraint_name(name, sizeof name, t, x->have_ix->columns,
								  x->have_ix->n_columns, "key");
					v.name = name;
					dbreg_ddl_emit(&up[PG], PG, DDL_DROP_UNIQUE, &v);
					dbreg_ddl_emit(&down[PG], PG, DDL_ADD_UNIQUE, &v);
					b = dbreg_schema_list_text(x->have_ix->columns, x->have_ix->n_columns);
					gen_note(g, "drop unique %s%s", t, b ? b : "");
					break;
				}
				v.name = x->have_ix->name;
				/* A unique one may be a constraint on PostgreSQL (a replay
				 * there), which DROP INDEX refuses. */
				dbreg_ddl_emit(&up[PG], PG, x->have_ix->unique ? DDL_DROP_UNIQUE : DDL_DROP_INDEX, &v);
				if (!rebuild)
					dbreg_ddl_emit(&up[SQ], SQ, DDL_DROP_INDEX, &v);
				v.unique = x->have_ix->unique ? "UNIQUE " : "";
				dbreg_ddl_emit(&down[PG], PG, DDL_CREATE_INDEX, &v);
				if (!rebuild)
					dbreg_ddl_emit(&down[SQ], SQ, DDL_CREATE_INDEX, &v);
				gen_note(g, "drop index %s", x->have_ix->name);
				break;
			case DBREG_SDIFF_FKEY_EXTRA:
				gen_fk_name(name, sizeof name, t, x->have_fk);
				v.name = name;
				dbreg_ddl_emit(&up[PG], PG, DDL_DROP_FKEY, &v);
				a = gen_list(x->have_fk->columns, x->have_fk->n_columns);
				b = gen_refs(x->have_fk);
				v.cols = a;
				v.ref = b;
				/* Its rows were checked once: the down checks them again
				 * (a NOT VALID key stays unchecked for good). */
				dbreg_ddl_emit(&down[PG], PG, DDL_ADD_FKEY, &v);
				dbreg_ddl_emit(&down[PG], PG, DDL_VALIDATE_FKEY, &v);
				gen_note(g, "drop the foreign key %s.%s", t, x->have_fk->columns[0]);
				break;
			case DBREG_SDIFF_COLUMN_EXTRA: {
				char what[512];
				snprintf(what, sizeof what, "drops column %s of %s and every value it holds", x->have_col->name, t);
				gen_loss(g, up, t, x->have_col->name, what);
				v.column = x->have_col->name;
				dbreg_ddl_emit(&up[PG], PG, DDL_DROP_COLUMN, &v);
				if (!rebuild)
					dbreg_ddl_emit(&up[SQ], SQ, DDL_DROP_COLUMN, &v);
				for (int dl = 0; dl < 2; dl++) {
					if (dl == SQ && rebuild)
						continue;
					const char *fill = gen_fill(x->have_col, (enum dbreg_dialect)dl);
					struct dbreg_schema_column filled = *x->have_col;
					if (fill)
						filled.def = (struct dbreg_schema_default){.kind = DBREG_DV_EXPR, .text = fill};
					char *def = gen_coldef((enum dbreg_dialect)dl, g->have, ht, &filled, true);
					v.coldef = def;
					if (fill)
						dbreg_buf_printf(&down[dl], "-- the values of the dropped column are not restored: "
									    "its rows take %s\n", fill);
					else
						dbreg_buf_puts(&down[dl], "-- the values of the dropped column are not restored\n");
					dbreg_ddl_emit(&down[dl], (enum dbreg_dialect)dl, DDL_ADD_COLUMN, &v);
					if (fill)
						dbreg_ddl_emit(&down[dl], (enum dbreg_dialect)dl, DDL_DROP_DEFAULT, &v);
					free(def);
				}
				gen_note(g, "drop column %s.%s", t, x->have_col->name);
				break;
			}
			case DBREG_SDIFF_COLUMN_MISSING: {
				v.column = x->want_col->name;
				a = gen_coldef(PG, g->want, wt, x->want_col, false);
				v.coldef = a;
				dbreg_ddl_emit(&up[PG], PG, DDL_ADD_COLUMN, &v);
				dbreg_ddl_emit(&down[PG], PG, DDL_DROP_COLUMN, &v);
				if (!rebuild) {
					b = gen_coldef(SQ, g->want, wt, x->want_col, true);
					v.coldef = b;
					dbreg_ddl_emit(&up[SQ], SQ, DDL_ADD_COLUMN, &v);
					dbreg_ddl_emit(&down[SQ], SQ, DDL_DROP_COLUMN, &v);
				}
				/* Its foreign key, which the differ leaves to this column. */
				for (size_t k = 0; k < wt->n_fkeys; k++) {
					const struct dbreg_schema_fkey *f = &wt->fkeys[k];
					if (f->n_columns != 1 || strcmp(f->columns[0], x->want_col->name) != 0)
						continue;
					gen_fk_name(name, sizeof name, t, f);
					c = gen_list(f->columns, f->n_columns);
					char *r = gen_refs(f);
					struct ddl_vars fv = {.table = t, .name = name, .cols = c, .ref = r};
					dbreg_ddl_emit(&up[PG], PG, DDL_ADD_FKEY, &fv);
					dbreg_ddl_emit(&oup[PG], PG, DDL_VALIDATE_FKEY, &fv);
					free(r);
				}
				if (x->want_col->not_null && x->want_col->def.kind == DBREG_DV_NONE && !x->want_col->identity)
				{
					struct dbreg_diag_at at = {.file = g->pkg->file, .package = g->pkg->name, .table = t,
								   .column_name = x->want_col->name};
					dbreg_diag_addf(g->diags, "DBR103", &at,
							"column %s.%s is NOT NULL without a default: adding it fails once the table has rows (give it a default)",
							t, x->want_col->name);
				}
				gen_note(g, "add column %s.%s", t, x->want_col->name);
				break;
			}
			case DBREG_SDIFF_COLUMN_TYPE: {
				v.column = x->want_col->name;
				a = gen_typetext(PG, g->want, x->want_col);
				b = gen_typetext(PG, g->have, x->have_col);
				if (gen_narrowing(&x->want_col->ptype, &x->have_col->ptype)) {
					char what[512];
					snprintf(what, sizeof what,
						 "changes column %s.%s from %s to %s: values the new type cannot hold are lost or refused",
						 t, x->want_col->name, b, a);
					gen_loss(g, up, t, x->want_col->name, what);
				}
				/* A default that does not cast to the new type (false to
				 * integer) fails the change: dropped first, then the
				 * column's own set again (the default entry says none).
				 * A serial is its integer type and a sequence that
				 * gives the default (there is no type bigserial to
				 * ALTER TYPE to). */
				bool ws = x->want_col->identity, hs = x->have_col->identity;
				char *wd = ws ? NULL : gen_deftext(PG, x->want_col);
				char *hd = hs ? NULL : gen_deftext(PG, x->have_col);
				const char *wt_int = gen_serial_int(x->want_col), *ht_int = gen_serial_int(x->have_col);
				char seq[128];
				dbreg_ddl_constraint_name(seq, sizeof seq, t, (const char *const[]){x->want_col->name}, 1, "seq");
				struct ddl_vars sv = {.table = t, .column = x->want_col->name, .name = seq};
				gen_retype(&up[PG], &v, &sv, hs, ws, hd, wd, wt_int ? wt_int : a, wt_int);
				gen_retype(&down[PG], &v, &sv, ws, hs, wd, hd, ht_int ? ht_int : b, ht_int);
				free(wd);
				free(hd);
				gen_note(g, "change the type of %s.%s to %s", t, x->want_col->name, x->want_col->type);
				break;
			}
			case DBREG_SDIFF_COLUMN_NULLABILITY:
				v.column = x->want_col->name;
				if (x->want_col->not_null) {
					/* As SQLite's rebuild does (COALESCE): the rows holding
					 * NULL take the default, else the step fails on them. */
					struct dbreg_buf def = DBREG_BUF_INIT;
					if (dbreg_ddl_default(&def, PG, x->want_col)) {
						dbreg_buf_puts(&up[PG], "UPDATE ");
						dbreg_ddl_ident(&up[PG], t);
						dbreg_buf_puts(&up[PG], " SET ");
						dbreg_ddl_ident(&up[PG], x->want_col->name);
						dbreg_buf_printf(&up[PG], " = %s WHERE ", def.ptr);
						dbreg_ddl_ident(&up[PG], x->want_col->name);
						dbreg_buf_puts(&up[PG], " IS NULL;\n");
					} else {
						dbreg_buf_printf(&up[PG], "-- fails while a row of %s holds NULL in %s: fill them first\n",
								 t, x->want_col->name);
					}
					if (def.oom)
						g->arena.oom = true;
					dbreg_buf_dispose(&def);
					dbreg_ddl_emit(&up[PG], PG, DDL_SET_NOT_NULL, &v);
					dbreg_ddl_emit(&down[PG], PG, DDL_DROP_NOT_NULL, &v);
				} else {
					dbreg_ddl_emit(&up[PG], PG, DDL_DROP_NOT_NULL, &v);
					dbreg_ddl_emit(&down[PG], PG, DDL_SET_NOT_NULL, &v);
				}
				gen_note(g, "%s.%s %s", t, x->want_col->name, x->want_col->not_null ? "NOT NULL" : "nullable");
				break;
			case DBREG_SDIFF_COLUMN_DEFAULT:
				if (gen_type_changes(d, n, x->want_col))
					break;   /* set with the type, after it */
				v.column = x->want_col->name;
				a = gen_deftext(PG, x->want_col);
				b = gen_deftext(PG, x->have_col);
				v.expr = a;
				dbreg_ddl_emit(&up[PG], PG, a ? DDL_SET_DEFAULT : DDL_DROP_DEFAULT, &v);
				v.expr = b;
				dbreg_ddl_emit(&down[PG], PG, b ? DDL_SET_DEFAULT : DDL_DROP_DEFAULT, &v);
				gen_note(g, "default of %s.%s", t, x->want_col->name);
				break;
			case DBREG_SDIFF_PRIMARY_KEY:
				dbreg_ddl_constraint_name(name, sizeof name, t, NULL, 0, "pkey");
				v.name = name;
				a = gen_list(wt->primary_key, wt->n_primary_key);
				b = gen_list(ht->primary_key, ht->n_primary_key);
				v.cols = a;
				dbreg_ddl_emit(&up[PG], PG, wt->n_primary_key ? DDL_ADD_PRIMARY_KEY : DDL_DROP_PRIMARY_KEY, &v);
				v.cols = b;
				dbreg_ddl_emit(&down[PG], PG, ht->n_primary_key ? DDL_ADD_PRIMARY_KEY : DDL_DROP_PRIMARY_KEY, &v);
				gen_note(g, "primary key of %s", t);
				break;
			case DBREG_SDIFF_FKEY_MISSING:
			case DBREG_SDIFF_FKEY_TARGET:
			case DBREG_SDIFF_FKEY_ACTION: {
				if (x->kind == DBREG_SDIFF_FKEY_ACTION && x->on_update) {
					/* Both actions differ: the ON DELETE entry already rewrote the key. */
					bool seen = false;
					for (size_t k = 0; k < i; k++)
						seen = seen || (d[k].kind == DBREG_SDIFF_FKEY_ACTION && d[k].want_fk == x->want_fk);
					if (seen)
						break;
				}
				const struct dbreg_schema_fkey *f = x->want_fk;
				gen_fk_name(name, sizeof name, t, f);
				v.name = name;
				a = gen_list(f->columns, f->n_columns);
				b = gen_refs(f);
				v.cols = a;
				v.ref = b;
				dbreg_ddl_emit(&up[PG], PG, DDL_ADD_FKEY, &v);
				dbreg_ddl_emit(&oup[PG], PG, DDL_VALIDATE_FKEY, &v);
				if (x->have_fk) {
					c = gen_refs(x->have_fk);
					v.ref = c;
					dbreg_ddl_emit(&down[PG], PG, DDL_ADD_FKEY, &v);
					dbreg_ddl_emit(&down[PG], PG, DDL_VALIDATE_FKEY, &v);
				} else {
					dbreg_ddl_emit(&down[PG], PG, DDL_DROP_FKEY, &v);
				}
				gen_note(g, "foreign key %s.%s -> %s", t, f->columns[0], f->ref_table);
				break;
			}
			case DBREG_SDIFF_UNIQUE_MISSING:
				dbreg_ddl_constraint_name(name, sizeof name, t, x->want_uq->columns, x->want_uq->n_columns, "key");
				v.name = name;
				a = gen_list(x->want_uq->columns, x->want_uq->n_columns);
				v.cols = a;
				v.unique = "UNIQUE ";
				if (dependents) {
					/* A foreign key added back after this step may need it. */
					dbreg_ddl_emit(&up[PG], PG, DDL_CREATE_INDEX, &v);
					dbreg_ddl_emit(&down[PG], PG, DDL_DROP_INDEX, &v);
				} else {
					dbreg_ddl_emit(&oup[PG], PG, DDL_CREATE_INDEX_ONLINE, &v);
					dbreg_ddl_emit(&odown[PG], PG, DDL_DROP_INDEX_ONLINE, &v);
				}
				if (!rebuild) {
					dbreg_ddl_emit(&oup[SQ], SQ, DDL_CREATE_INDEX_ONLINE, &v);
					dbreg_ddl_emit(&odown[SQ], SQ, DDL_DROP_INDEX_ONLINE, &v);
				}
				{
					char *names = dbreg_schema_list_text(x->want_uq->columns, x->want_uq->n_columns);
					gen_note(g, "unique %s%s", t, names ? names : "");
					free(names);
				}
				break;
			case DBREG_SDIFF_INDEX_MISSING:
			case DBREG_SDIFF_INDEX_COLUMNS:
			case DBREG_SDIFF_INDEX_UNIQUE: {
				if (x->kind == DBREG_SDIFF_INDEX_UNIQUE) {
					bool seen = false;
					for (size_t k = 0; k < i; k++)
						seen = seen || (d[k].kind == DBREG_SDIFF_INDEX_COLUMNS && d[k].want_ix == x->want_ix);
					if (seen)
						break;
				}
				v.name = x->want_ix->name;
				a = gen_list(x->want_ix->columns, x->want_ix->n_columns);
				v.cols = a;
				v.unique = x->want_ix->unique ? "UNIQUE " : "";
				if (x->kind != DBREG_SDIFF_INDEX_MISSING) {
					/* The old one goes in the main migration, its
					 * successor is built online. */
					dbreg_ddl_emit(&up[PG], PG, DDL_DROP_INDEX, &v);
					if (!rebuild)
						dbreg_ddl_emit(&up[SQ], SQ, DDL_DROP_INDEX, &v);
					struct ddl_vars hv = v;
					b = gen_list(x->have_ix->columns, x->have_ix->n_columns);
					hv.cols = b;
					hv.unique = x->have_ix->unique ? "UNIQUE " : "";
					dbreg_ddl_emit(&down[PG], PG, DDL_CREATE_INDEX, &hv);
					if (!rebuild)
						dbreg_ddl_emit(&down[SQ], SQ, DDL_CREATE_INDEX, &hv);
				}
				dbreg_ddl_emit(&oup[PG], PG, DDL_CREATE_INDEX_ONLINE, &v);
				dbreg_ddl_emit(&odown[PG], PG, DDL_DROP_INDEX_ONLINE, &v);
				if (!rebuild) {
					dbreg_ddl_emit(&oup[SQ], SQ, DDL_CREATE_INDEX_ONLINE, &v);
					dbreg_ddl_emit(&odown[SQ], SQ, DDL_DROP_INDEX_ONLINE, &v);
				}
				gen_note(g, "index %s", x->want_ix->name);
				break;
			}
			case DBREG_SDIFF_INDEX_NAME: {
				v.column = x->have_ix->name;
				v.name = x->want_ix->name;
				dbreg_ddl_emit(&up[PG], PG, DDL_RENAME_INDEX, &v);
				struct ddl_vars back = {.table = t, .column = x->want_ix->name, .name = x->have_ix->name};
				dbreg_ddl_emit(&down[PG], PG, DDL_RENAME_INDEX, &back);
				if (!rebuild) {
					a = gen_list(x->want_ix->columns, x->want_ix->n_columns);
					struct ddl_vars dv = {.table = t, .name = x->have_ix->name};
					struct ddl_vars cv = {.table = t, .name = x->want_ix->name, .cols = a,
							      .unique = x->want_ix->unique ? "UNIQUE " : ""};
					dbreg_ddl_emit(&up[SQ], SQ, DDL_DROP_INDEX, &dv);
					dbreg_ddl_emit(&up[SQ], SQ, DDL_CREATE_INDEX, &cv);
					struct ddl_vars dv2 = {.table = t, .name = x->want_ix->name};
					struct ddl_vars cv2 = cv;
					cv2.name = x->have_ix->name;
					dbreg_ddl_emit(&down[SQ], SQ, DDL_DROP_INDEX, &dv2);
					dbreg_ddl_emit(&down[SQ], SQ, DDL_CREATE_INDEX, &cv2);
				}
				gen_note(g, "rename index %s to %s", x->have_ix->name, x->want_ix->name);
				break;
			}
			default:
				break;
			}
			free(a);
			free(b);
			free(c);
		}
	}
	for (int dl = 0; dl < 2; dl++) {
		if (later[dl].len)
			dbreg_buf_puts(&down[dl], later[dl].ptr);
		g->arena.oom |= later[dl].oom;
		dbreg_buf_dispose(&later[dl]);
	}
	if (rebuild) {
		/* SQLite: the whole table to its declared shape at once. */
		const char **from = gen_alloc(&g->arena, (wt->n_columns + 1) * sizeof *from);
		const char **back = gen_alloc(&g->arena, (ht->n_columns + 1) * sizeof *back);
		const char **fill = gen_alloc(&g->arena, (ht->n_columns + 1) * sizeof *fill);
		if (from && back && fill) {
			for (size_t i = 0; i < wt->n_columns; i++)
				from[i] = dbreg_schema_column(ht, wt->columns[i].name) ? wt->columns[i].name : NULL;
			for (size_t i = 0; i < ht->n_columns; i++) {
				back[i] = dbreg_schema_column(wt, ht->columns[i].name) ? ht->columns[i].name : NULL;
				fill[i] = back[i] ? NULL : gen_fill(&ht->columns[i], SQ);
			}
			/* Triggers are named by the replayed table (a rename in this
			 * migration has carried them over already). */
			const char *replayed = gen_replayed_table(g, t);
			dbreg_ddl_rebuild(&up[SQ], g->want, wt, t, from, NULL);
			gen_triggers(g, &up[SQ], replayed);
			/* The view holds the replayed table under its new names:
			 * rebuilding back to it restores the old shape. */
			for (size_t i = 0; i < ht->n_columns; i++)
				if (fill[i])
					dbreg_buf_printf(&down[SQ], "-- the values of the dropped column %s are not restored: "
								    "its rows take %s\n", ht->columns[i].name, fill[i]);
			dbreg_ddl_rebuild(&down[SQ], &g->view, ht, t, back, fill);
			gen_triggers(g, &down[SQ], replayed);
		}
		g->rebuild = true;
	}
	gen_step(g, steps, GEN_MAIN, up, down);
	gen_step(g, steps, GEN_ONLINE, oup, odown);
}

/* A table the package declares and its migrations do not create yet. */
static void gen_new_table(struct gen *g, struct gen_steps *steps, const struct dbreg_schema_table *wt)
{
	struct dbreg_buf up[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT}, down[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT};
	for (int dl = 0; dl < 2; dl++) {
		/* A new table has no rows: plain indexes, in the transaction. */
		dbreg_ddl_create_table(&up[dl], (enum dbreg_dialect)dl, g->want, wt, NULL);
		dbreg_ddl_create_indexes(&up[dl], (enum dbreg_dialect)dl, g->want, wt);
		struct ddl_vars v = {.table = wt->name};
		dbreg_ddl_emit(&down[dl], (enum dbreg_dialect)dl, DDL_DROP_TABLE, &v);
	}
	gen_note(g, "create table %s", wt->name);
	gen_step(g, steps, GEN_MAIN, up, down);
}

/* A table the migrations create that the package no longer declares. */
static void gen_drop_table(struct gen *g, struct gen_steps *steps, const struct dbreg_schema_table *ht)
{
	struct dbreg_buf up[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT}, down[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT};
	char what[300];
	snprintf(what, sizeof what, "drops table %s and all its rows", ht->name);
	gen_loss(g, up, ht->name, NULL, what);
	for (int dl = 0; dl < 2; dl++) {
		struct ddl_vars v = {.table = ht->name};
		dbreg_ddl_emit(&up[dl], (enum dbreg_dialect)dl, DDL_DROP_TABLE, &v);
		dbreg_buf_puts(&down[dl], "-- the rows of the dropped table are not restored\n");
		dbreg_ddl_create_table(&down[dl], (enum dbreg_dialect)dl, g->have, ht, NULL);
		dbreg_ddl_create_indexes(&down[dl], (enum dbreg_dialect)dl, g->have, ht);
	}
	gen_note(g, "drop table %s", ht->name);
	gen_step(g, steps, GEN_MAIN, up, down);
}

static void gen_renames(struct gen *g, struct gen_steps *steps)
{
	for (size_t i = 0; i < g->n_renames; i++) {
		const struct gen_rename *r = &g->renames[i];
		struct dbreg_buf up[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT}, down[2] = {DBREG_BUF_INIT, DBREG_BUF_INIT};
		for (int dl = 0; dl < 2; dl++) {
			if (!r->table) {
				struct ddl_vars v = {.table = r->from, .name = r->to}, back = {.table = r->to, .name = r->from};
				dbreg_ddl_emit(&up[dl], (enum dbreg_dialect)dl, DDL_RENAME_TABLE, &v);
				dbreg_ddl_emit(&up[dl], (enum dbreg_dialect)dl, DDL_RENAME_CONSTRAINTS, &v);
				dbreg_ddl_emit(&down[dl], (enum dbreg_dialect)dl, DDL_RENAME_TABLE, &back);
				dbreg_ddl_emit(&down[dl], (enum dbreg_dialect)dl, DDL_RENAME_CONSTRAINTS, &back);
			} else {
				struct ddl_vars v = {.table = r->table, .column = r->from, .name = r->to};
				struct ddl_vars back = {.table = r->table, .column = r->to, .name = r->from};
				dbreg_ddl_emit(&up[dl], (enum dbreg_dialect)dl, DDL_RENAME_COLUMN, &v);
				dbreg_ddl_emit(&down[dl], (enum dbreg_dialect)dl, DDL_RENAME_COLUMN, &back);
			}
		}
		if (r->table)
			gen_note(g, "rename column %s.%s to %s", r->table, r->from, r->to);
		else
			gen_note(g, "rename table %s to %s", r->from, r->to);
		gen_step(g, steps, GEN_MAIN, up, down);
	}
}

/* New tables in an order where each one's referenced new tables come
 * first (a cycle keeps file order). */
static void gen_new_tables(struct gen *g, struct gen_steps *steps)
{
	size_t n = 0;
	for (size_t i = 0; i < g->diffs.len; i++)
		n += g->diffs.items[i].kind == DBREG_SDIFF_TABLE_MISSING;
	const struct dbreg_schema_table **v = gen_alloc(&g->arena, (n + 1) * sizeof *v);
	bool *done = gen_alloc(&g->arena, n + 1);
	if (!v || !done)
		return;
	n = 0;
	for (size_t i = 0; i < g->diffs.len; i++)
		if (g->diffs.items[i].kind == DBREG_SDIFF_TABLE_MISSING)
			v[n++] = g->diffs.items[i].want_table;
	for (size_t emitted = 0, round = 0; emitted < n && round <= n; round++)
		for (size_t i = 0; i < n; i++) {
			if (done[i])
				continue;
			bool ready = true;
			for (size_t k = 0; k < v[i]->n_fkeys && ready && round < n; k++)
				for (size_t j = 0; j < n; j++)
					if (!done[j] && j != i && strcmp(v[i]->fkeys[k].ref_table, v[j]->name) == 0)
						ready = false;
			if (!ready)
				continue;
			gen_new_table(g, steps, v[i]);
			done[i] = true;
			emitted++;
		}
}

/* ---- the manifest text ------------------------------------------------------ */

/* A TOML multi-line basic string: backslashes escaped, and no run of
 * three quotes. */
static void gen_toml_body(struct dbreg_buf *b, const char *key, const char *sql)
{
	dbreg_buf_printf(b, "%s = \"\"\"\n", key);
	int quotes = 0;
	for (const char *p = sql; *p; p++) {
		if (*p == '\\') {
			dbreg_buf_puts(b, "\\\\");
			quotes = 0;
			continue;
		}
		if (*p == '"' && quotes == 2) {
			dbreg_buf_puts(b, "\\\"");
			quotes = 0;
			continue;
		}
		quotes = *p == '"' ? quotes + 1 : 0;
		dbreg_buf_append(b, p, 1);
	}
	if (quotes)
		dbreg_buf_puts(b, "\\\n");   /* a body ending in a quote before the closing """ */
	dbreg_buf_puts(b, "\"\"\"\n");
}

static void gen_toml_str(struct dbreg_buf *b, const char *s)
{
	dbreg_buf_puts(b, "\"");
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			dbreg_buf_printf(b, "\\%c", *p);
		else if ((unsigned char)*p >= 0x20)
			dbreg_buf_append(b, p, 1);
	}
	dbreg_buf_puts(b, "\"");
}

static void gen_migration(struct gen *g, struct dbreg_buf *out, const char *id, int m, const char *description)
{
	static const char *const keys[2][2] = {{"up_postgres", "up_sqlite"}, {"down_postgres", "down_sqlite"}};
	dbreg_buf_printf(out, "[[migrations]]\nid = \"%s\"\nversion = \"%s\"\ndescription = ", id, g->pkg->version_text);
	gen_toml_str(out, description);
	dbreg_buf_puts(out, "\n");
	if (m == GEN_ONLINE)
		dbreg_buf_puts(out, "# PostgreSQL builds these without blocking writes: outside a transaction.\n"
				    "transaction = false\n");
	else if (g->rebuild)
		dbreg_buf_puts(out, "# SQLite rebuilds tables here: foreign key enforcement off, checked before COMMIT.\n"
				    "foreign_keys = false\n");
	for (int dir = 0; dir < 2; dir++)
		for (int dl = 0; dl < 2; dl++) {
			struct dbreg_buf *body = dir == 0 ? &g->up[m][dl] : &g->down[m][dl];
			gen_toml_body(out, keys[dir][dl], body->len ? body->ptr : "-- nothing to do on this dialect\n");
		}
}

/* ---- the whole run ------------------------------------------------------------ */

static int gen_replay(struct gen *g)
{
	struct dbreg_sandbox sb;
	int rc = dbreg_sandbox_open(&sb, g->url);
	if (rc == 0)
		rc = dbreg_sandbox_package_schema(&sb, &g->have, g->reg, g->pkg, NULL);
	if (rc != 0)
		snprintf(g->err, sizeof g->err, "%s", sb.err);
	dbreg_sandbox_close(&sb);
	return rc;
}

void dbreg_generated_dispose(struct dbreg_generated *r)
{
	if (!r)
		return;
	free(r->toml);
	free(r->summary);
	dbreg_diag_list_dispose(&r->diags);
	memset(r, 0, sizeof *r);
}

/* The id of the generated migration: its one change as a word
 * ("0003_add_column_crm_items_email", as Django names its migrations),
 * or "generate" for several; the next free number. */
static void gen_id(const struct dbreg_package *p, size_t n, const struct gen *g, char *out, size_t size)
{
	char name[49] = "generate";
	size_t k = 0;
	for (const char *c = g->n_changes == 1 && g->summary.ptr ? g->summary.ptr : ""; *c && k + 1 < sizeof name; c++) {
		/* Every package table says ydtb_: no word of the name. */
		if (strncmp(c, "ydtb_", 5) == 0 && (k == 0 || name[k - 1] == '_')) {
			c += 4;
			continue;
		}
		bool word = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9');
		char ch = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : word ? *c : '_';
		if (ch != '_' || (k > 0 && name[k - 1] != '_'))
			name[k++] = ch;
	}
	while (k > 0 && name[k - 1] == '_')
		k--;
	if (k > 0)
		name[k] = '\0';
	for (;; n++) {
		snprintf(out, size, "%04zu_%s", n, name);
		bool taken = false;
		for (size_t i = 0; i < p->n_migrations && !taken; i++)
			taken = p->migrations[i].id && strcmp(p->migrations[i].id, out) == 0;
		if (!taken)
			return;
	}
}

int dbreg_generate(struct dbreg_generated *out, struct dbreg_registry *reg, const char *package, char *err,
		   size_t errsize)
{
	return dbreg_generate_on(out, reg, package, NULL, err, errsize);
}

int dbreg_generate_on(struct dbreg_generated *out, struct dbreg_registry *reg, const char *package, const char *url,
		      char *err, size_t errsize)
{
	memset(out, 0, sizeof *out);
	struct gen g = {.reg = reg, .diags = &out->diags, .url = url};
	for (int m = 0; m < 2; m++)
		for (int d = 0; d < 2; d++)
			g.up[m][d] = g.down[m][d] = (struct dbreg_buf)DBREG_BUF_INIT;
	g.summary = (struct dbreg_buf)DBREG_BUF_INIT;
	struct gen_steps steps = {0};
	g.pkg = dbreg_registry_find(reg, package);
	int rc = 0;
	if (!g.pkg) {
		snprintf(err, errsize, "no package %s in this project", package);
		return DBREG_EINVALID;
	}
	if (!g.pkg->version_text) {
		snprintf(err, errsize, "%s has no version", package);
		return DBREG_EINVALID;
	}
	/* Declared defaults are read as the replay's dialect writes them. */
	rc = dbreg_schema_new(&g.want, DBREG_SCHEMA_DECLARED, url ? PG : SQ);
	if (rc == 0)
		rc = dbreg_schema_add_package(g.want, g.pkg);
	if (rc == 0 && (rc = gen_replay(&g)) != 0)
		snprintf(err, errsize, "%s", g.err);
	if (rc == 0 && (rc = gen_check_renames(&g)) == DBREG_EINVALID)
		snprintf(err, errsize, "%s: a renamed_from names nothing its migrations build (above): nothing was "
			 "generated", package);
	if (rc == 0) {
		gen_view(&g);
		static const struct dbreg_sdiff_opts opts = {.defaults = true, .extra_tables = true};
		rc = g.arena.oom ? DBREG_ENOMEM : dbreg_schema_diff(&g.diffs, g.want, &g.view, &opts);
		if (rc == 0)
			rc = gen_pg_types(&g);
		if (rc == 0 && (rc = gen_check_referenced(&g)) == DBREG_EINVALID)
			snprintf(err, errsize, "%s: a column another package's foreign key references would change to a "
				 "type that key cannot have (above): nothing was generated", package);
	}
	if (rc == 0) {
		gen_renames(&g, &steps);
		gen_new_tables(&g, &steps);
		/* The differences of each existing table, [from, to) of the list. */
		size_t *from = gen_alloc(&g.arena, (g.diffs.len + 1) * sizeof *from);
		size_t *to = gen_alloc(&g.arena, (g.diffs.len + 1) * sizeof *to);
		bool *deps = gen_alloc(&g.arena, g.diffs.len + 1);
		size_t n_groups = 0;
		for (size_t i = 0; from && to && deps && i < g.diffs.len;) {
			size_t j = i;
			const struct dbreg_sdiff *x = &g.diffs.items[i];
			if (x->kind == DBREG_SDIFF_TABLE_MISSING || x->kind == DBREG_SDIFF_TABLE_EXTRA ||
			    x->kind == DBREG_SDIFF_INDEX_INVALID || !x->want_table) {
				i++;
				continue;
			}
			while (j < g.diffs.len && g.diffs.items[j].want_table == x->want_table &&
			       g.diffs.items[j].kind != DBREG_SDIFF_TABLE_MISSING)
				j++;
			from[n_groups] = i;
			to[n_groups++] = j;
			i = j;
		}
		/* Foreign keys on a key that a table drops or retypes go before
		 * any table changes and come back after all of them (PostgreSQL;
		 * SQLite's rebuild keeps them on their tables): the table holding
		 * one may change its column's type too, before or after. */
		for (size_t k = 0; k < n_groups; k++)
			deps[k] = gen_dependents(&g, &steps, &g.diffs.items[from[k]], to[k] - from[k], false);
		for (size_t k = 0; k < n_groups; k++)
			gen_table(&g, &steps, &g.diffs.items[from[k]], to[k] - from[k], deps[k]);
		for (size_t k = 0; k < n_groups; k++)
			if (deps[k])
				gen_dependents(&g, &steps, &g.diffs.items[from[k]], to[k] - from[k], true);
		for (size_t i = 0; i < g.diffs.len; i++)
			if (g.diffs.items[i].kind == DBREG_SDIFF_TABLE_EXTRA)
				gen_drop_table(&g, &steps, g.diffs.items[i].have_table);
		/* Ups in order, downs in reverse. */
		for (size_t i = 0; i < steps.n; i++)
			for (int d = 0; d < 2; d++)
				if (steps.v[i].up[d])
					dbreg_buf_puts(&g.up[steps.v[i].migration][d], steps.v[i].up[d]);
		for (size_t i = steps.n; i-- > 0;)
			for (int d = 0; d < 2; d++)
				if (steps.v[i].down[d])
					dbreg_buf_puts(&g.down[steps.v[i].migration][d], steps.v[i].down[d]);
		rc = g.arena.oom ? DBREG_ENOMEM : 0;
	}
	if (rc == 0 && g.n_changes > 0) {
		struct dbreg_buf toml = DBREG_BUF_INIT;
		char id[64], id2[80], desc[400];
		gen_id(g.pkg, g.pkg->n_migrations + 1, &g, id, sizeof id);
		snprintf(desc, sizeof desc, "%.360s%s", g.summary.ptr ? g.summary.ptr : "",
			 g.summary.len > 360 ? " ..." : "");
		gen_migration(&g, &toml, id, GEN_MAIN, desc);
		bool online = g.up[GEN_ONLINE][PG].len || g.up[GEN_ONLINE][SQ].len;
		if (online) {
			snprintf(id2, sizeof id2, "%s_online", id);
			dbreg_buf_puts(&toml, "\n");
			gen_migration(&g, &toml, id2, GEN_ONLINE, "Indexes and foreign key checks of the migration before, "
								  "without blocking writes");
		}
		out->n_migrations = online ? 2 : 1;
		out->n_changes = g.n_changes;
		out->summary = dbreg_buf_detach(&g.summary);
		rc = toml.oom ? DBREG_ENOMEM : 0;
		out->toml = dbreg_buf_detach(&toml);
	}
	if (rc == DBREG_ENOMEM)
		snprintf(err, errsize, "out of memory");
	for (size_t i = 0; i < steps.n; i++)
		for (int d = 0; d < 2; d++) {
			free(steps.v[i].up[d]);
			free(steps.v[i].down[d]);
		}
	free(steps.v);
	for (int m = 0; m < 2; m++)
		for (int d = 0; d < 2; d++) {
			dbreg_buf_dispose(&g.up[m][d]);
			dbreg_buf_dispose(&g.down[m][d]);
		}
	dbreg_buf_dispose(&g.summary);
	dbreg_sdiff_list_dispose(&g.diffs);
	gen_arena_free(&g.arena);
	free(g.renames);
	dbreg_strv_free(g.trig_table, g.n_trig_table);
	dbreg_strv_free(g.trig_sql, g.n_trig);
	dbreg_pg_coltypes_dispose(&g.pgt);
	dbreg_schema_free(g.want);
	dbreg_schema_free(g.have);
	if (rc != 0) {
		/* The findings that refused it are the caller's to print. */
		struct dbreg_diag_list keep = out->diags;
		memset(&out->diags, 0, sizeof out->diags);
		dbreg_generated_dispose(out);
		if (rc == DBREG_EINVALID)
			out->diags = keep;
		else
			dbreg_diag_list_dispose(&keep);
	}
	return rc;
}
