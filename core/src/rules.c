/* The declaration rules over the whole registry: table rules (DBR020..
 * DBR028), migration ids and versions (DBR040, DBR041), tools (DBR050) and
 * the recommendations (DBR101, DBR102). Cross-package checks sort one flat
 * list of names, so they stay O(N log N) for large registries. */
#include "diag.h"
#include "isolation.h"
#include "rules.h"
#include "util.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Comparisons of names the did-you-mean hints of one pass may make: with
 * the usual prefilter about 0.2 s. A registry of N tables and M unknown
 * references costs N * M of them; 10,000 misspelled references among
 * 10,000 tables took 29 s. Past it, DBR027 comes without a hint. */
#define RULES_NEAR_BUDGET 2000000

struct rctx {
	struct dbreg_registry *reg;
	int rc;                        /* DBREG_ENOMEM once an allocation failed */
	size_t near_left;              /* of RULES_NEAR_BUDGET */
};

static void rdiag(struct rctx *c, const char *code, const struct dbreg_package *p, struct dbreg_pos pos,
		  const char *table, const char *column, const char *migration, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

static void rdiag(struct rctx *c, const char *code, const struct dbreg_package *p, struct dbreg_pos pos,
		  const char *table, const char *column, const char *migration, const char *fmt, ...)
{
	struct dbreg_diag_at at = { .file = p->file, .line = pos.line, .column = pos.column,
				    .package = p->name, .table = table, .column_name = column,
				    .migration = migration };
	va_list ap;
	va_start(ap, fmt);
	if (dbreg_diag_vaddf(&c->reg->diags, code, &at, fmt, ap) != 0)
		c->rc = DBREG_ENOMEM;
	va_end(ap);
}

static void rhint(struct rctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void rhint(struct rctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (dbreg_diag_vhintf(&c->reg->diags, fmt, ap) != 0)
		c->rc = DBREG_ENOMEM;
	va_end(ap);
}

/* Where a declared column's references value is written, else the column's key. */
static struct dbreg_pos rules_references_pos(const struct dbreg_column *col)
{
	return col->references_pos.line ? col->references_pos : col->pos;
}

static void rules_ident(struct rctx *c, const struct dbreg_package *p, struct dbreg_pos pos,
			const char *what, const char *name, const char *table, const char *column)
{
	const char *why = dbreg_ident_problem(name);
	if (why == NULL)
		return;
	rdiag(c, "DBR025", p, pos, table, column, NULL, "%s name \"%s\" is not a valid SQL identifier: %s",
	      what, name, why);
	char *fix = dbreg_ident_fix(name);
	if (fix && fix[0] && strcmp(fix, name) != 0)
		rhint(c, "rename it \"%s\"", fix);
	else if (strlen(name) > 63)
		rhint(c, "use a name of at most 63 bytes");
	free(fix);
}

/* Whether the named columns all exist; reports the first unknown one. */
static bool rules_columns_exist(struct rctx *c, const struct dbreg_package *p, const struct dbreg_table *t,
				char **cols, size_t n, struct dbreg_pos pos, const char *code,
				const char *what)
{
	for (size_t i = 0; i < n; i++) {
		if (dbreg_table_column(t, cols[i]))
			continue;
		rdiag(c, code, p, pos, t->name, cols[i], NULL, "%s of table \"%s\" names unknown column \"%s\"",
		      what, t->name, cols[i]);
		const char **names = calloc(t->n_columns + 1, sizeof *names);
		if (names == NULL) {
			c->rc = DBREG_ENOMEM;
			return false;
		}
		for (size_t k = 0; k < t->n_columns; k++)
			names[k] = t->columns[k].name;
		const char *near = dbreg_nearest_budget(cols[i], names, &c->near_left);
		if (near)
			rhint(c, "did you mean \"%s\"?", near);
		free(names);
		return false;
	}
	return true;
}

/* Names, keys and the workspace rules of one table. */
const char *dbreg_rules_reserved_table(const char *name)
{
	static const struct {
		const char *name, *what;
	} own[] = {
		{ "ydtb_registry_migrations", "its history of applied migrations" },
		{ "ydtb_registry_packages", "its record of installed packages" },
	};
	for (size_t i = 0; name && i < sizeof own / sizeof own[0]; i++)
		if (strcmp(name, own[i].name) == 0)
			return own[i].what;
	return NULL;
}

static void rules_table(struct rctx *c, const struct dbreg_package *p, const struct dbreg_table *t)
{
	rules_ident(c, p, t->pos, "table", t->name, t->name, NULL);
	/* DBR024 as for a table of two packages: dbreg owns it, and creates
	 * it before any migration runs. */
	const char *own = dbreg_rules_reserved_table(t->name);
	if (own) {
		rdiag(c, "DBR024", p, t->pos, t->name, NULL, NULL,
		      "table \"%s\" is dbreg's own (%s): no package may declare it", t->name, own);
		rhint(c, "give the table another name; dbreg creates and writes %s on every target itself", t->name);
	}
	for (size_t i = 0; i < t->n_columns; i++)
		rules_ident(c, p, t->columns[i].pos, "column", t->columns[i].name, t->name, t->columns[i].name);
	for (size_t i = 0; i < t->n_indexes; i++) {
		const struct dbreg_index *ix = &t->indexes[i];
		rules_ident(c, p, ix->pos, "index", ix->name, t->name, NULL);
		if (ix->implicit && dbreg_ident_problem(ix->name))
			rhint(c, "declare the workspace_id index yourself under [tables.%s.indexes] with a shorter name",
			      t->name);
		rules_columns_exist(c, p, t, ix->columns, ix->n_columns, ix->pos, "DBR027", "an index");
	}
	for (size_t i = 0; i < t->n_uniques; i++)
		rules_columns_exist(c, p, t, t->uniques[i].columns, t->uniques[i].n_columns, t->uniques[i].pos,
				    "DBR027", "a unique constraint");

	if (t->n_primary_key == 0) {
		rdiag(c, "DBR028", p, t->pos, t->name, NULL, NULL, "table \"%s\" has no primary key", t->name);
		rhint(c, "mark a column primary_key = true, or set primary_key = [\"...\"] on the table");
	} else {
		rules_columns_exist(c, p, t, t->primary_key, t->n_primary_key,
				    t->primary_key_pos.line ? t->primary_key_pos : t->pos, "DBR028", "the primary key");
	}

	if (p->core)
		return; /* rules 1, 2 and 7 are for package tables */

	if (strncmp(t->name, "ydtb_", 5) != 0) {
		rdiag(c, "DBR020", p, t->pos, t->name, NULL, NULL, "table \"%s\" must start with \"ydtb_\"", t->name);
		rhint(c, "rename it \"ydtb_%s\"", t->name);
	}
	const struct dbreg_column *ws = dbreg_table_column(t, "workspace_id");
	if (ws == NULL) {
		rdiag(c, "DBR021", p, t->pos, t->name, NULL, NULL, "table \"%s\" has no workspace_id column",
		      t->name);
		rhint(c, "add workspace_scoped = true to [tables.%s]", t->name);
	} else {
		bool in_pk = false;
		for (size_t i = 0; i < t->n_primary_key; i++)
			in_pk |= strcmp(t->primary_key[i], "workspace_id") == 0;
		if (!ws->not_null && !in_pk) {
			rdiag(c, "DBR023", p, ws->pos, t->name, ws->name, NULL,
			      "workspace_id of table \"%s\" may be null", t->name);
			rhint(c, "add not_null = true");
		}
		if (ws->ref_table == NULL || strcmp(ws->ref_table, "ydtb_workspaces") != 0 ||
		    strcmp(ws->ref_column, "id") != 0) {
			struct dbreg_pos pos = ws->ref_table ? rules_references_pos(ws) : ws->pos;
			rdiag(c, "DBR022", p, pos, t->name, ws->name, NULL,
			      "workspace_id of table \"%s\" must reference ydtb_workspaces.id", t->name);
			rhint(c, "references = \"ydtb_workspaces.id\", on_delete = \"cascade\"");
		}
		/* DBR101: an index (or key) led by workspace_id. */
		bool led = t->n_primary_key > 0 && strcmp(t->primary_key[0], "workspace_id") == 0;
		for (size_t i = 0; i < t->n_indexes && !led; i++)
			led = t->indexes[i].n_columns > 0 && strcmp(t->indexes[i].columns[0], "workspace_id") == 0;
		for (size_t i = 0; i < t->n_uniques && !led; i++)
			led = t->uniques[i].n_columns > 0 && strcmp(t->uniques[i].columns[0], "workspace_id") == 0;
		if (!led) {
			rdiag(c, "DBR101", p, t->pos, t->name, NULL, NULL,
			      "table \"%s\" has no index led by workspace_id", t->name);
			rhint(c, "%s_workspace_id_idx = { columns = [\"workspace_id\"] } under [tables.%s.indexes]",
			      t->name, t->name);
		}
	}
	if (t->description == NULL) {
		rdiag(c, "DBR102", p, t->pos, t->name, NULL, NULL, "table \"%s\" has no description", t->name);
		rhint(c, "add description = \"...\" to [tables.%s]", t->name);
	}
}

/* Whether a list of key columns holds workspace_id. */
static bool rules_has_ws(char *const *cols, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cols[i], "workspace_id") == 0)
			return true;
	return false;
}

/* The columns as a TOML array of strings, workspace_id first: the
 * composite key to declare. */
static void rules_ws_key(struct dbreg_buf *b, char *const *cols, size_t n)
{
	dbreg_buf_puts(b, "[\"workspace_id\"");
	for (size_t i = 0; i < n; i++)
		dbreg_buf_printf(b, ", \"%s\"", cols[i]);
	dbreg_buf_puts(b, "]");
}

/* DBR106 with [isolation] workspace_keys: a primary key or unique key of
 * a workspace table (core tables too) without workspace_id lets two
 * workspaces collide on it, and a distributed PostgreSQL (Citus) refuses
 * it. Foreign keys are checked where they resolve (rules_cross_tables). */
static void rules_workspace_keys(struct rctx *c, const struct dbreg_package *p, const struct dbreg_table *t)
{
	if (!c->reg->isolation.workspace_keys || !dbreg_iso_workspace_table(t))
		return;
	struct dbreg_buf key = DBREG_BUF_INIT;
	if (t->n_primary_key && !rules_has_ws(t->primary_key, t->n_primary_key)) {
		struct dbreg_pos pos = t->pos;
		if (t->n_primary_key == 1) {
			const struct dbreg_column *col = dbreg_table_column(t, t->primary_key[0]);
			if (col && col->primary_key)
				pos = col->pos;
		}
		rules_ws_key(&key, t->primary_key, t->n_primary_key);
		rdiag(c, "DBR106", p, pos, t->name, t->n_primary_key == 1 ? t->primary_key[0] : NULL, NULL,
		      "the primary key of workspace table \"%s\" does not include workspace_id: two workspaces can collide on it",
		      t->name);
		rhint(c, "declare primary_key = %s on [tables.%s]", key.ptr ? key.ptr : "", t->name);
		dbreg_buf_dispose(&key);
	}
	for (size_t i = 0; i < t->n_columns; i++) {
		const struct dbreg_column *col = &t->columns[i];
		if (!col->unique || strcmp(col->name, "workspace_id") == 0)
			continue;
		char *one[] = {col->name};
		rules_ws_key(&key, one, 1);
		rdiag(c, "DBR106", p, col->pos, t->name, col->name, NULL,
		      "unique column \"%s\" of workspace table \"%s\" does not include workspace_id: it is unique across all workspaces",
		      col->name, t->name);
		rhint(c, "drop unique = true and declare unique = [%s] on [tables.%s]", key.ptr ? key.ptr : "", t->name);
		dbreg_buf_dispose(&key);
	}
	for (size_t i = 0; i < t->n_uniques; i++) {
		const struct dbreg_unique *u = &t->uniques[i];
		if (rules_has_ws(u->columns, u->n_columns))
			continue;
		rules_ws_key(&key, u->columns, u->n_columns);
		rdiag(c, "DBR106", p, u->pos, t->name, NULL, NULL,
		      "a unique constraint of workspace table \"%s\" does not include workspace_id", t->name);
		rhint(c, "declare it as %s", key.ptr ? key.ptr : "");
		dbreg_buf_dispose(&key);
	}
	for (size_t i = 0; i < t->n_indexes; i++) {
		const struct dbreg_index *ix = &t->indexes[i];
		if (!ix->unique || rules_has_ws(ix->columns, ix->n_columns))
			continue;
		rules_ws_key(&key, ix->columns, ix->n_columns);
		rdiag(c, "DBR106", p, ix->pos, t->name, NULL, NULL,
		      "unique index \"%s\" of workspace table \"%s\" does not include workspace_id", ix->name, t->name);
		rhint(c, "declare it with columns = %s", key.ptr ? key.ptr : "");
		dbreg_buf_dispose(&key);
	}
	if (key.oom)
		c->rc = DBREG_ENOMEM;
}

/* Every table of the registry, sorted by name, for DBR024 and DBR027. */
struct rules_tref {
	const char *name;
	const struct dbreg_package *pkg;
	const struct dbreg_table *table;
	size_t pkg_index;
};

int dbreg_rules_owner_cmp(const struct dbreg_package *a, size_t ia, const struct dbreg_package *b, size_t ib)
{
	/* The core's table comes first: it is applied before every package,
	 * so the package that declares it again is the one to blame. */
	if (a->core != b->core)
		return a->core ? -1 : 1;
	/* Else the file read first (byte order of the path, manifest.md):
	 * the later file is the duplicate, whatever the packages are named. */
	int f = strcmp(a->file ? a->file : "", b->file ? b->file : "");
	if (f)
		return f < 0 ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static int rules_cmp_tref(const void *a, const void *b)
{
	const struct rules_tref *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : dbreg_rules_owner_cmp(x->pkg, x->pkg_index, y->pkg, y->pkg_index);
}

/* Resolved dependencies as compressed rows, and BFS scratch: a walk
 * marks with a fresh stamp, so no per-walk clearing. The walk from one
 * package is kept between its questions (the references of a package are
 * checked one after the other) and goes on only as far as the next
 * question needs. */
struct rules_deps {
	size_t *start, *to, *queue;
	unsigned *mark;
	unsigned stamp;
	size_t n;
	size_t walk_from;              /* whose walk the marks and the queue are; n: none */
	size_t head, tail;             /* of the queue of that walk */
};

static int rules_deps_build(struct rules_deps *g, const struct dbreg_registry *reg)
{
	size_t n = reg->n_packages, m = 0;
	for (size_t i = 0; i < n; i++)
		m += reg->packages[i]->n_deps;
	g->start = calloc(n + 1, sizeof *g->start);
	g->to = malloc((m + 1) * sizeof *g->to);
	g->queue = malloc((n + 1) * sizeof *g->queue);
	g->mark = calloc(n + 1, sizeof *g->mark);
	g->stamp = 0;
	g->n = n;
	g->walk_from = n;
	g->head = g->tail = 0;
	if (!g->start || !g->to || !g->queue || !g->mark)
		return DBREG_ENOMEM;
	size_t e = 0;
	for (size_t i = 0; i < n; i++) {
		g->start[i] = e;
		const struct dbreg_package *p = reg->packages[i];
		for (size_t d = 0; d < p->n_deps; d++) {
			size_t j = p->deps[d].name ? dbreg_registry_index(reg, p->deps[d].name) : n;
			if (j < n)
				g->to[e++] = j;
		}
	}
	g->start[n] = e;
	return 0;
}

static void rules_deps_dispose(struct rules_deps *g)
{
	free(g->start);
	free(g->to);
	free(g->queue);
	free(g->mark);
}

/* Whether package `from` depends on package `to` (another one), directly
 * or not. */
static bool rules_depends(struct rules_deps *g, size_t from, size_t to)
{
	assert(to != from);   /* from's own mark says nothing about a cycle */
	if (g->walk_from != from) {
		if (++g->stamp == 0) {
			/* The stamp wrapped: forget old marks once. */
			g->stamp = 1;
			memset(g->mark, 0, (g->n + 1) * sizeof *g->mark);
		}
		g->head = g->tail = 0;
		g->queue[g->tail++] = from;
		g->mark[from] = g->stamp;
		g->walk_from = from;
	}
	while (g->mark[to] != g->stamp && g->head < g->tail) {
		size_t u = g->queue[g->head++];
		for (size_t e = g->start[u]; e < g->start[u + 1]; e++) {
			size_t v = g->to[e];
			if (g->mark[v] != g->stamp) {
				g->mark[v] = g->stamp;
				g->queue[g->tail++] = v;
			}
		}
	}
	return g->mark[to] == g->stamp;
}

/* The nearest table name for each unknown one asked, kept: a renamed table
 * is referenced from many columns, and each search compares the name with
 * every table of the registry. Open addressing; without memory it only
 * stops remembering. */
struct rules_near {
	struct rules_near_entry {
		const char *word, *near;
	} *slot;
	size_t cap, used;
};

static size_t rules_near_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)(h ^ (h >> 32));
}

static const char *rules_nearest_table(struct rules_near *m, const char *word, const char *const *names,
				       size_t *budget)
{
	size_t i = 0;
	if (m->cap) {
		for (i = rules_near_hash(word) & (m->cap - 1); m->slot[i].word; i = (i + 1) & (m->cap - 1))
			if (strcmp(m->slot[i].word, word) == 0)
				return m->slot[i].near;
	}
	const char *near = dbreg_nearest_budget(word, names, budget);
	if ((m->used + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct rules_near_entry *slot = calloc(cap, sizeof *slot);
		if (!slot)
			return near;
		for (size_t k = 0; k < m->cap; k++) {
			if (!m->slot[k].word)
				continue;
			size_t j = rules_near_hash(m->slot[k].word) & (cap - 1);
			while (slot[j].word)
				j = (j + 1) & (cap - 1);
			slot[j] = m->slot[k];
		}
		free(m->slot);
		m->slot = slot;
		m->cap = cap;
		for (i = rules_near_hash(word) & (cap - 1); slot[i].word; i = (i + 1) & (cap - 1))
			;
	}
	m->slot[i] = (struct rules_near_entry){word, near};
	m->used++;
	return near;
}

static bool rules_tref_below(const void *ctx, size_t i, const char *name)
{
	return strcmp(((const struct rules_tref *)ctx)[i].name, name) < 0;
}

static const struct rules_tref *rules_find_table(const struct rules_tref *refs, size_t n, const char *name)
{
	size_t lo = dbreg_lower_bound(n, rules_tref_below, refs, name);
	return lo < n && strcmp(refs[lo].name, name) == 0 ? &refs[lo] : NULL;
}

/* DBR024 (a table in two packages) and DBR027 (foreign keys). */
static void rules_cross_tables(struct rctx *c)
{
	struct dbreg_registry *reg = c->reg;
	size_t n = 0;
	for (size_t i = 0; i < reg->n_packages; i++)
		n += reg->packages[i]->n_tables;
	struct rules_tref *refs = malloc((n ? n : 1) * sizeof *refs);
	struct rules_deps deps;
	int drc = rules_deps_build(&deps, reg);
	const char **names = malloc((n + 1) * sizeof *names);
	struct rules_near nearest = {0};
	if (!refs || drc || !names) {
		c->rc = DBREG_ENOMEM;
		goto out;
	}
	size_t k = 0;
	for (size_t i = 0; i < reg->n_packages; i++)
		for (size_t t = 0; t < reg->packages[i]->n_tables; t++) {
			const struct dbreg_table *tb = &reg->packages[i]->tables[t];
			if (tb->name)
				refs[k++] = (struct rules_tref){ tb->name, reg->packages[i], tb, i };
		}
	n = k;
	qsort(refs, n, sizeof *refs, rules_cmp_tref);
	for (size_t i = 1; i < n; i++) {
		const struct rules_tref *a = &refs[i - 1], *b = &refs[i];
		if (strcmp(a->name, b->name) != 0)
			continue;
		/* Same package name twice is DBR012; do not repeat it per table. */
		if (a->pkg->name && b->pkg->name && strcmp(a->pkg->name, b->pkg->name) == 0)
			continue;
		rdiag(c, "DBR024", b->pkg, b->table->pos, b->name, NULL, NULL,
		      "table \"%s\" is already declared by package \"%s\" (%s)", b->name,
		      a->pkg->name ? a->pkg->name : "?", a->pkg->file);
		rhint(c, "a table belongs to one package: rename it or depend on \"%s\"",
		      a->pkg->name ? a->pkg->name : "?");
	}
	for (size_t i = 0; i < n; i++)
		names[i] = refs[i].name;
	names[n] = NULL;

	for (size_t i = 0; i < reg->n_packages && c->rc == 0; i++) {
		const struct dbreg_package *p = reg->packages[i];
		for (size_t t = 0; t < p->n_tables; t++) {
			const struct dbreg_table *tb = &p->tables[t];
			for (size_t ci = 0; ci < tb->n_columns; ci++) {
				const struct dbreg_column *col = &tb->columns[ci];
				if (col->ref_table == NULL || col->ref_column == NULL)
					continue;
				struct dbreg_pos pos = rules_references_pos(col);
				/* Prefer the package's own table, then the core's, then any. */
				const struct dbreg_table *target = dbreg_package_table(p, col->ref_table);
				const struct dbreg_package *owner = target ? p : NULL;
				size_t owner_index = i;
				if (target == NULL) {
					const struct rules_tref *r = rules_find_table(refs, n, col->ref_table);
					for (const struct rules_tref *q = r; q && q < refs + n &&
					     strcmp(q->name, col->ref_table) == 0; q++) {
						if (owner == NULL || q->pkg->core) {
							owner = q->pkg;
							owner_index = q->pkg_index;
							target = q->table;
						}
					}
				}
				if (target == NULL) {
					rdiag(c, "DBR027", p, pos, tb->name, col->name, NULL,
					      "column \"%s\" references unknown table \"%s\"", col->name,
					      col->ref_table);
					const char *near = rules_nearest_table(&nearest, col->ref_table, names, &c->near_left);
					if (near)
						rhint(c, "did you mean \"%s.%s\"?", near, col->ref_column);
					continue;
				}
				if (owner != p && !owner->core &&
				    !rules_depends(&deps, i, owner_index)) {
					rdiag(c, "DBR027", p, pos, tb->name, col->name, NULL,
					      "column \"%s\" references table \"%s\" of package \"%s\", which \"%s\" does not depend on",
					      col->name, col->ref_table, owner->name ? owner->name : "?",
					      p->name ? p->name : "this package");
					rhint(c, "add \"%s\" = \"^%s\" to [dependencies]", owner->name ? owner->name : "?",
					      owner->version_text ? owner->version_text : "1.0.0");
					continue;
				}
				/* DBR106: one workspace's row may point at another's. */
				if (c->reg->isolation.workspace_keys && strcmp(col->name, "workspace_id") != 0 &&
				    dbreg_iso_workspace_table(tb) && dbreg_iso_workspace_table(target)) {
					rdiag(c, "DBR106", p, pos, tb->name, col->name, NULL,
					      "foreign key \"%s\" between workspace tables \"%s\" and \"%s\" does not include workspace_id: a row can reference another workspace's row",
					      col->name, tb->name, col->ref_table);
					rhint(c, "declare unique = [[\"workspace_id\", \"%s\"]] on [tables.%s] and write FOREIGN KEY (workspace_id, %s) REFERENCES %s (workspace_id, %s) in the migration",
					      col->ref_column, col->ref_table, col->name, col->ref_table, col->ref_column);
				}
				const struct dbreg_column *refd = dbreg_table_column(target, col->ref_column);
				const struct dbreg_type_info *ta = dbreg_type_lookup(col->type);
				const struct dbreg_type_info *tb_ = refd ? dbreg_type_lookup(refd->type) : NULL;
				if (refd && !dbreg_type_fk_compatible(ta, tb_)) {
					/* PostgreSQL refuses the migration ("foreign key constraint
					 * cannot be implemented"); SQLite would take it. */
					rdiag(c, "DBR029", p, pos, tb->name, col->name, NULL,
					      "column \"%s\" is %s but references \"%s.%s\", which is %s", col->name, col->type,
					      col->ref_table, col->ref_column, refd->type);
					rhint(c, "declare %s with type = \"%s\"", col->name, refd->type);
				}
				if (refd == NULL) {
					rdiag(c, "DBR027", p, pos, tb->name, col->name, NULL,
					      "column \"%s\" references unknown column \"%s.%s\"", col->name,
					      col->ref_table, col->ref_column);
					const char **cn = calloc(target->n_columns + 1, sizeof *cn);
					if (cn == NULL) {
						c->rc = DBREG_ENOMEM;
						break;
					}
					for (size_t q = 0; q < target->n_columns; q++)
						cn[q] = target->columns[q].name;
					const char *near = dbreg_nearest_budget(col->ref_column, cn, &c->near_left);
					if (near)
						rhint(c, "did you mean \"%s.%s\"?", col->ref_table, near);
					free(cn);
				}
			}
		}
	}
out:
	free(refs);
	rules_deps_dispose(&deps);
	free(names);
	free(nearest.slot);
}

/* The core package must hold ydtb_workspaces with the primary key id. */
static void rules_core(struct rctx *c, const struct dbreg_package *p)
{
	const struct dbreg_table *ws = dbreg_package_table(p, "ydtb_workspaces");
	if (ws == NULL) {
		rdiag(c, "DBR015", p, p->pos, NULL, NULL, NULL,
		      "the core package \"%s\" does not declare the table ydtb_workspaces",
		      p->name ? p->name : "?");
		rhint(c, "add [tables.ydtb_workspaces] with id = { type = \"text\", primary_key = true }");
		return;
	}
	bool ok = false;
	for (size_t i = 0; i < ws->n_primary_key; i++)
		ok |= strcmp(ws->primary_key[i], "id") == 0;
	if (!ok || ws->n_primary_key != 1) {
		rdiag(c, "DBR028", p, ws->pos, ws->name, NULL, NULL,
		      "ydtb_workspaces must have the primary key column \"id\"");
		rhint(c, "id = { type = \"text\", primary_key = true }");
	}
}

/* The one core package, or NULL when there is none or more than one
 * (DBR015 says so). */
static const struct dbreg_package *rules_the_core(const struct dbreg_registry *reg)
{
	const struct dbreg_package *core = NULL;
	for (size_t i = 0; i < reg->n_packages; i++)
		if (reg->packages[i]->core) {
			if (core)
				return NULL;
			core = reg->packages[i];
		}
	return core;
}

const char *dbreg_registry_tools_unwritten(const struct dbreg_registry *reg)
{
	const struct dbreg_package *core = reg ? rules_the_core(reg) : NULL;
	if (!core || dbreg_package_table(core, "ydtb_tools"))
		return NULL;
	for (size_t i = 0; i < reg->n_packages; i++)
		if (reg->packages[i]->n_tools)
			return reg->packages[i]->name;
	return NULL;
}

/* Whether ON CONFLICT (id), as dbreg upserts a tool, has a key to match
 * in t: a primary key, unique column or unique constraint of id alone. */
static bool rules_id_unique(const struct dbreg_table *t)
{
	const struct dbreg_column *id = dbreg_table_column(t, "id");
	if ((t->n_primary_key == 1 && strcmp(t->primary_key[0], "id") == 0) || (id && id->unique))
		return true;
	for (size_t i = 0; i < t->n_uniques; i++)
		if (t->uniques[i].n_columns == 1 && strcmp(t->uniques[i].columns[0], "id") == 0)
			return true;
	for (size_t i = 0; i < t->n_indexes; i++)
		if (t->indexes[i].unique && t->indexes[i].n_columns == 1 && strcmp(t->indexes[i].columns[0], "id") == 0)
			return true;
	return false;
}

/* DBR016: tools are upserted into the core's ydtb_tools (of `core`, found
 * once for all packages: rules_the_core), which, where it exists, must have
 * the columns dbreg always writes (the others are written when declared), and
 * a key on id alone for the upsert's ON CONFLICT (id). Said at the tools
 * of each package that declares some; the key, which only the core can
 * fix, once at the core's table. */
static void rules_tools_table(struct rctx *c, const struct dbreg_package *p, const struct dbreg_package *core)
{
	if (p->n_tools == 0 || !core)
		return;
	const char *cname = core->name ? core->name : "the core package";
	const struct dbreg_table *t = dbreg_package_table(core, "ydtb_tools");
	/* Without ydtb_tools the application keeps no tools table: nothing is
	 * written, and both manifests are valid (manifest.md's own example
	 * pairs tools with a core that need not declare it, and requires of a
	 * core only ydtb_workspaces): apply and init say so
	 * (dbreg_registry_tools_unwritten), validate does not. */
	if (!t)
		return;
	static const char *const need[] = { "id", "name", "package_name" };
	char missing[64] = "";
	const char *first = NULL;
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		if (!dbreg_table_column(t, need[i])) {
			first = first ? first : need[i];
			snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", missing[0] ? ", " : "",
				 need[i]);
		}
	if (missing[0]) {
		rdiag(c, "DBR016", p, p->tools[0].pos, "ydtb_tools", first, NULL,
		      "package %s declares tools, but ydtb_tools of %s lacks column%s %s, which dbreg writes",
		      p->name ? p->name : "?", cname, strchr(missing, ',') ? "s" : "", missing);
		rhint(c, "declare the columns id, name and package_name in ydtb_tools of %s (description, icon and "
			 "updated_at are written when declared)", cname);
	}
	/* Once, for the first package with tools (packages are in name order). */
	bool first_with_tools = true;
	for (size_t i = 0; i < c->reg->n_packages && c->reg->packages[i] != p; i++)
		first_with_tools &= c->reg->packages[i]->n_tools == 0;
	if (!first_with_tools || !dbreg_table_column(t, "id") || rules_id_unique(t))
		return;
	struct dbreg_pos pos = t->primary_key_pos.line ? t->primary_key_pos : t->pos;
	rdiag(c, "DBR016", core, pos, "ydtb_tools", "id", NULL,
	      "ydtb_tools.id of %s is not unique on its own, and dbreg writes the tools of %s with "
	      "ON CONFLICT (id), which needs a key of id alone", cname, p->name ? p->name : "?");
	rhint(c, "make id the primary key of ydtb_tools (id = { type = \"text\", primary_key = true }), or "
		 "give it unique = true");
}

static int rules_cmp_str(const void *a, const void *b)
{
	const struct dbreg_migration *x = *(const struct dbreg_migration *const *)a;
	const struct dbreg_migration *y = *(const struct dbreg_migration *const *)b;
	int r = strcmp(x->id, y->id);
	return r ? r : (x < y ? -1 : x > y);
}

/* DBR040, DBR041. */
static void rules_migrations(struct rctx *c, const struct dbreg_package *p)
{
	const struct dbreg_migration **v = malloc((p->n_migrations + 1) * sizeof *v);
	if (v == NULL) {
		c->rc = DBREG_ENOMEM;
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < p->n_migrations; i++)
		if (p->migrations[i].id)
			v[n++] = &p->migrations[i];
	qsort(v, n, sizeof *v, rules_cmp_str);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i]->id, v[i - 1]->id) != 0)
			continue;
		rdiag(c, "DBR040", p, v[i]->pos, NULL, NULL, v[i]->id,
		      "migration id \"%s\" is used twice (first at line %u)", v[i]->id, v[i - 1]->pos.line);
		rhint(c, "give each migration its own id, for example \"%04zu_%s\"", p->n_migrations, v[i]->id);
	}
	free(v);

	const struct dbreg_migration *prev = NULL;
	for (size_t i = 0; i < p->n_migrations; i++) {
		const struct dbreg_migration *m = &p->migrations[i];
		if (!m->version_ok)
			continue; /* invalid text reported while loading */
		struct dbreg_pos pos = m->version_pos.line ? m->version_pos : m->pos;
		if (p->version_ok && dbreg_semver_compare(&m->version, &p->version) > 0) {
			rdiag(c, "DBR041", p, pos, NULL, NULL, m->id,
			      "migration \"%s\" has version %s, above the package version %s", m->id ? m->id : "?",
			      m->version_text, p->version_text);
			rhint(c, "raise package.version to %s, or lower the migration's version", m->version_text);
		}
		if (prev && dbreg_semver_compare(&m->version, &prev->version) < 0) {
			rdiag(c, "DBR041", p, pos, NULL, NULL, m->id,
			      "migration \"%s\" has version %s, lower than the migration before it (%s, %s)",
			      m->id ? m->id : "?", m->version_text, prev->id ? prev->id : "?", prev->version_text);
			rhint(c, "migrations are listed oldest first: move it before \"%s\"", prev->id ? prev->id : "?");
		}
		prev = m;
	}
}

struct rules_toolref {
	const struct dbreg_tool *tool;
	const struct dbreg_package *pkg;
	size_t order;
};

static int rules_cmp_tool(const void *a, const void *b)
{
	const struct rules_toolref *x = a, *y = b;
	int r = strcmp(x->tool->id, y->tool->id);
	if (r == 0 && x->pkg != y->pkg)
		r = dbreg_rules_owner_cmp(x->pkg, 0, y->pkg, 0);   /* the file read first keeps the id */
	return r ? r : (x->order < y->order ? -1 : x->order > y->order);
}

/* DBR050: a tool id declared twice, in one package or across packages. */
static void rules_tools(struct rctx *c)
{
	struct dbreg_registry *reg = c->reg;
	size_t n = 0;
	for (size_t i = 0; i < reg->n_packages; i++)
		n += reg->packages[i]->n_tools;
	struct rules_toolref *v = malloc((n ? n : 1) * sizeof *v);
	if (v == NULL) {
		c->rc = DBREG_ENOMEM;
		return;
	}
	size_t k = 0;
	for (size_t i = 0; i < reg->n_packages; i++)
		for (size_t t = 0; t < reg->packages[i]->n_tools; t++)
			if (reg->packages[i]->tools[t].id)
				v[k] = (struct rules_toolref){ &reg->packages[i]->tools[t], reg->packages[i], k }, k++;
	qsort(v, k, sizeof *v, rules_cmp_tool);
	for (size_t i = 1; i < k; i++) {
		if (strcmp(v[i].tool->id, v[i - 1].tool->id) != 0)
			continue;
		if (v[i].pkg != v[i - 1].pkg && v[i].pkg->name && v[i - 1].pkg->name &&
		    strcmp(v[i].pkg->name, v[i - 1].pkg->name) == 0)
			continue; /* a duplicated package: DBR012 says it */
		if (v[i].pkg == v[i - 1].pkg) {
			rdiag(c, "DBR050", v[i].pkg, v[i].tool->pos, NULL, NULL, NULL,
			      "tool id \"%s\" is declared twice in this package (first at line %u)", v[i].tool->id,
			      v[i - 1].tool->pos.line);
			rhint(c, "give each [[tools]] entry its own id, or remove the second one");
			continue;
		}
		rdiag(c, "DBR050", v[i].pkg, v[i].tool->pos, NULL, NULL, NULL,
		      "tool id \"%s\" is already declared by package \"%s\"", v[i].tool->id,
		      v[i - 1].pkg->name ? v[i - 1].pkg->name : "?");
		rhint(c, "tool ids are unique across packages: prefix it, for example \"%.10s-%.9s\"",
		      v[i].pkg->name ? (strchr(v[i].pkg->name, '/') ? strchr(v[i].pkg->name, '/') + 1
								  : v[i].pkg->name)
				     : "pkg",
		      v[i].tool->id);
	}
	free(v);
}

int dbreg_rules_check(struct dbreg_registry *reg)
{
	struct rctx c = { reg, 0, RULES_NEAR_BUDGET };
	const struct dbreg_package *core = rules_the_core(reg);
	for (size_t i = 0; i < reg->n_packages && c.rc == 0; i++) {
		const struct dbreg_package *p = reg->packages[i];
		for (size_t t = 0; t < p->n_tables; t++)
			if (p->tables[t].name) {
				rules_table(&c, p, &p->tables[t]);
				rules_workspace_keys(&c, p, &p->tables[t]);
			}
		if (p->core)
			rules_core(&c, p);
		rules_tools_table(&c, p, core);
		rules_migrations(&c, p);
	}
	if (c.rc == 0)
		rules_cross_tables(&c);
	if (c.rc == 0)
		rules_tools(&c);
	return c.rc;
}
