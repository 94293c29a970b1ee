/* The dependency graph between packages: duplicate names, the one core
 * package, unresolved or unsatisfied dependencies, cycles (iterative DFS
 * with colors, linear time), and the deterministic topological order
 * (Kahn's algorithm with a min-heap: core first, then by name). */
#include "diag.h"
#include "graph.h"
#include "rules.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void graph_dispose(struct dbreg_graph *g)
{
	free(g->start);
	free(g->to);
	free(g->dep);
	free(g->order);
	memset(g, 0, sizeof *g);
}

/* The core package: of several (DBR015), the one in the file read first. */
static size_t graph_core(const struct dbreg_registry *reg)
{
	size_t core = reg->n_packages;
	for (size_t i = 0; i < reg->n_packages; i++)
		if (reg->packages[i]->core &&
		    (core == reg->n_packages ||
		     dbreg_rules_owner_cmp(reg->packages[i], i, reg->packages[core], core) < 0))
			core = i;
	return core;
}

/* Builds the edge rows from the dependencies that name a registered
 * package, plus every non-core package's implicit edge to the core. */
static int graph_build(struct dbreg_graph *g, const struct dbreg_registry *reg)
{
	size_t n = reg->n_packages, m = 0, core = graph_core(reg);
	memset(g, 0, sizeof *g);
	g->n = n;
	for (size_t i = 0; i < n; i++)
		m += reg->packages[i]->n_deps + 1;
	g->start = calloc(n + 1, sizeof *g->start);
	g->to = calloc(m + 1, sizeof *g->to);
	g->dep = calloc(m + 1, sizeof *g->dep);
	if (!g->start || !g->to || !g->dep) {
		graph_dispose(g);
		return DBREG_ENOMEM;
	}
	/* Names resolve by binary search: O(D log P) over the whole registry. */
	size_t e = 0;
	for (size_t i = 0; i < n; i++) {
		g->start[i] = e;
		const struct dbreg_package *p = reg->packages[i];
		bool has_core = false;
		for (size_t d = 0; d < p->n_deps; d++) {
			size_t j = dbreg_registry_index(reg, p->deps[d].name);
			if (j == n)
				continue;
			has_core |= j == core;
			g->to[e] = j;
			g->dep[e] = &p->deps[d];
			e++;
		}
		if (core < n && !p->core && !has_core) {
			g->to[e] = core;
			g->dep[e] = NULL;
			e++;
		}
	}
	g->start[n] = e;
	return 0;
}

static int graph_diag(struct dbreg_registry *reg, const char *code, const struct dbreg_package *p,
		      unsigned line, unsigned col, const char *fmt, const char *a, const char *b,
		      const char *c)
{
	struct dbreg_diag_at at = { .file = p ? p->file : NULL, .line = line, .column = col,
				    .package = p ? p->name : NULL };
	return dbreg_diag_addf(&reg->diags, code, &at, fmt, a, b, c);
}

/* The position of [package].name, or of [package]. */
static struct dbreg_pos graph_name_pos(const struct dbreg_package *p)
{
	return p->name_pos.line ? p->name_pos : p->pos;
}

/* The position of [package].kind, or of [package]. */
static struct dbreg_pos graph_kind_pos(const struct dbreg_package *p)
{
	return p->kind_pos.line ? p->kind_pos : p->pos;
}

/* DBR012 and DBR015. */
static int graph_check_names(struct dbreg_registry *reg)
{
	size_t ci = graph_core(reg);
	const struct dbreg_package *core = ci < reg->n_packages ? reg->packages[ci] : NULL;
	for (size_t i = 0; i < reg->n_packages; i++) {
		const struct dbreg_package *p = reg->packages[i];
		if (i > 0 && p->name && reg->packages[i - 1]->name &&
		    strcmp(p->name, reg->packages[i - 1]->name) == 0) {
			/* Sorted and stable: the first file keeps the name. */
			const struct dbreg_package *first = dbreg_registry_find(reg, p->name);
			struct dbreg_pos pos = graph_name_pos(p);
			if (graph_diag(reg, "DBR012", p, pos.line, pos.column,
				       "package \"%s\" is already declared in %s%s", p->name, first->file, "") ||
			    dbreg_diag_hintf(&reg->diags, "give this package another name, or remove one of the files"))
				return DBREG_ENOMEM;
		}
		if (!p->core || p == core)
			continue;
		struct dbreg_pos pos = graph_kind_pos(p);
		if (graph_diag(reg, "DBR015", p, pos.line, pos.column,
			       "a second core package \"%s\" (the core package is \"%s\" in %s)",
			       p->name ? p->name : "?", core->name ? core->name : "?", core->file) ||
		    dbreg_diag_hintf(&reg->diags, "remove kind = \"core\" from this manifest"))
			return DBREG_ENOMEM;
	}
	if (core == NULL) {
		/* No place is wrong, but a finding names a file (manifest.md):
		 * the first manifest, whose package needs the core, or, with no
		 * manifest at all, where they were looked for. */
		const struct dbreg_package *p = reg->n_packages ? reg->packages[0] : NULL;
		struct dbreg_pos pos = p ? p->pos : reg->source_pos;
		struct dbreg_diag_at at = { .file = p ? p->file : reg->source, .line = pos.line, .column = pos.column };
		if (dbreg_diag_addf(&reg->diags, "DBR015", &at, "%s",
				    "no core package: exactly one manifest must declare kind = \"core\"") ||
		    dbreg_diag_hintf(&reg->diags, p ? "register the core package (@ydtb/core)" :
				     "there is no package manifest (*.toml) here yet: 'dbreg new package NAME' writes"
				     " one, and the core package with it"))
			return DBREG_ENOMEM;
	}
	return 0;
}

/* A manifest that brought no package (it does not parse, or cannot be
 * read: DBR001), or NULL: the package a dependency names may be in it. */
static const char *graph_unloaded(const struct dbreg_registry *reg)
{
	for (size_t i = 0; i < reg->diags.len; i++) {
		const struct dbreg_diag *d = &reg->diags.items[i];
		if (strcmp(d->code, "DBR001") != 0 || !d->file)
			continue;
		bool loaded = false;
		for (size_t k = 0; k < reg->n_packages && !loaded; k++)
			loaded = reg->packages[k]->file && strcmp(reg->packages[k]->file, d->file) == 0;
		if (!loaded)
			return d->file;
	}
	return NULL;
}

/* The hint of a DBR030: the manifest that did not load, which may hold
 * the package; else the nearest other name (never the package's own: a
 * package does not depend on itself); else where to add it. */
static int graph_hint_unknown_dep(struct dbreg_registry *reg, const struct dbreg_package *p, const char *dep,
				  const char *const *names, size_t n_names)
{
	const char *unloaded = graph_unloaded(reg);
	if (unloaded)
		return dbreg_diag_hintf(&reg->diags, "%s does not load (DBR001) and may be the manifest of \"%s\": "
					"fix it first", unloaded, dep);
	const char **others = calloc(n_names + 1, sizeof *others);
	if (others == NULL)
		return DBREG_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n_names; i++)
		if (!p->name || strcmp(names[i], p->name) != 0)
			others[k++] = names[i];
	const char *near = dbreg_nearest(dep, others);
	int rc = near ? dbreg_diag_hintf(&reg->diags, "did you mean \"%s\"?", near)
		      : dbreg_diag_hintf(&reg->diags, "add the manifest of \"%s\" to the package folders", dep);
	free(others);
	return rc;
}

/* DBR030, DBR031. */
static int graph_check_deps(struct dbreg_registry *reg)
{
	const char **names = calloc(reg->n_packages + 1, sizeof *names);
	if (names == NULL)
		return DBREG_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < reg->n_packages; i++)
		if (reg->packages[i]->name)
			names[k++] = reg->packages[i]->name;
	int rc = 0;
	for (size_t i = 0; i < reg->n_packages && rc == 0; i++) {
		const struct dbreg_package *p = reg->packages[i];
		for (size_t d = 0; d < p->n_deps && rc == 0; d++) {
			const struct dbreg_dependency *dep = &p->deps[d];
			const struct dbreg_package *q = dbreg_registry_find(reg, dep->name);
			if (q == NULL) {
				rc = graph_diag(reg, "DBR030", p, dep->pos.line, dep->pos.column,
						"dependency \"%s\" is not a registered package%s%s", dep->name, "", "");
				if (rc == 0)
					rc = graph_hint_unknown_dep(reg, p, dep->name, names, k);
				continue;
			}
			if (dep->range == NULL || !q->version_ok)
				continue; /* DBR033 / DBR011 already */
			if (!dbreg_range_satisfies(dep->range, &q->version)) {
				rc = graph_diag(reg, "DBR031", p, dep->pos.line, dep->pos.column,
						"dependency \"%s\" requires \"%s\" but version %s is registered",
						dep->name, dep->range_text, q->version_text);
				if (rc == 0)
					rc = dbreg_diag_hintf(&reg->diags, "widen the range to accept %s, or register a matching version",
							      q->version_text);
			}
		}
	}
	free(names);
	return rc;
}

/* DBR032: iterative DFS; a grey target is a back edge, i.e. a cycle made of
 * the stack from that target to the top. */
static int graph_check_cycles(struct dbreg_registry *reg, const struct dbreg_graph *g)
{
	enum { WHITE, GREY, BLACK };
	size_t n = g->n;
	unsigned char *color = calloc(n ? n : 1, 1);
	size_t *stack = malloc((n ? n : 1) * sizeof *stack);
	size_t *next = malloc((n ? n : 1) * sizeof *next);     /* next edge to try */
	size_t *depth = malloc((n ? n : 1) * sizeof *depth);   /* place on the stack */
	int rc = 0;
	if (!color || !stack || !next || !depth) {
		rc = DBREG_ENOMEM;
		goto out;
	}
	for (size_t s = 0; s < n && rc == 0; s++) {
		if (color[s] != WHITE)
			continue;
		size_t top = 0;
		stack[top++] = s;
		color[s] = GREY;
		next[s] = g->start[s];
		depth[s] = 0;
		while (top > 0 && rc == 0) {
			size_t u = stack[top - 1];
			if (next[u] == g->start[u + 1]) {
				color[u] = BLACK;
				top--;
				continue;
			}
			size_t e = next[u]++;
			size_t v = g->to[e];
			if (color[v] == WHITE) {
				color[v] = GREY;
				next[v] = g->start[v];
				depth[v] = top;
				stack[top++] = v;
			} else if (color[v] == GREY) {
				/* Said at the dependency that a person wrote: this edge's,
				 * or, when it is the implicit one on the core, the core's
				 * own dependency in the cycle; the cycle is named from
				 * the package it is said at. */
				const struct dbreg_dependency *dep = g->dep[e];
				size_t at = top - 1;   /* u's place on the stack */
				if (!dep && depth[v] + 1 < top) {
					at = depth[v];
					for (size_t k = g->start[v]; k < g->start[v + 1] && !dep; k++)
						if (g->to[k] == stack[at + 1])
							dep = g->dep[k];
				}
				struct dbreg_buf b = DBREG_BUF_INIT;
				size_t len = top - depth[v];
				for (size_t i = 0; i < len; i++)
					dbreg_buf_printf(&b, "%s -> ", reg->packages[stack[depth[v] + (at - depth[v] + i) % len]]->name);
				dbreg_buf_puts(&b, reg->packages[stack[at]]->name);
				const struct dbreg_package *p = reg->packages[stack[at]];
				struct dbreg_pos pos = dep ? dep->pos : p->pos;
				if (b.oom) {
					rc = DBREG_ENOMEM;
				} else {
					rc = graph_diag(reg, "DBR032", p, pos.line, pos.column,
							"circular dependency: %s%s%s", b.ptr, "", "");
					if (rc == 0)
						rc = p->core
						     ? dbreg_diag_hintf(&reg->diags,
									"the core package may not depend on other packages%s%s%s",
									dep ? ": remove its dependency on \"" : "",
									dep ? dep->name : "", dep ? "\"" : "")
						     : dbreg_diag_hintf(&reg->diags,
									"remove the dependency of \"%s\" on \"%s\"",
									p->name, dep ? dep->name : "");
				}
				dbreg_buf_dispose(&b);
			}
		}
	}
out:
	free(color);
	free(stack);
	free(next);
	free(depth);
	return rc;
}

int dbreg_graph_check(struct dbreg_registry *reg, const struct dbreg_graph *g)
{
	int rc = graph_check_names(reg);
	if (rc == 0)
		rc = graph_check_deps(reg);
	if (rc == 0)
		rc = graph_check_cycles(reg, g);
	return rc;
}

/* Heap order: the core package first, then by name (nameless last), then
 * by index. */
static bool graph_before(const struct dbreg_registry *reg, size_t a, size_t b)
{
	const struct dbreg_package *pa = reg->packages[a], *pb = reg->packages[b];
	if (pa->core != pb->core)
		return pa->core;
	const char *na = pa->name, *nb = pb->name;
	if (na && nb) {
		int c = strcmp(na, nb);
		if (c)
			return c < 0;
	} else if (na || nb) {
		return na != NULL;
	}
	return a < b;
}

static void graph_heap_push(const struct dbreg_registry *reg, size_t *h, size_t *len, size_t v)
{
	size_t i = (*len)++;
	h[i] = v;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!graph_before(reg, h[i], h[parent]))
			break;
		size_t t = h[i];
		h[i] = h[parent];
		h[parent] = t;
		i = parent;
	}
}

static size_t graph_heap_pop(const struct dbreg_registry *reg, size_t *h, size_t *len)
{
	size_t top = h[0];
	h[0] = h[--(*len)];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < *len && graph_before(reg, h[l], h[m]))
			m = l;
		if (r < *len && graph_before(reg, h[r], h[m]))
			m = r;
		if (m == i)
			break;
		size_t t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
	return top;
}

/* Kahn's algorithm over the reversed edges, the ready set in a min-heap;
 * g->order stays NULL when a cycle leaves packages behind. */
static int graph_sort(struct dbreg_graph *g, const struct dbreg_registry *reg)
{
	size_t n = g->n, m = g->start[n];
	/* Reverse the edges: from a dependency to its dependents. */
	size_t *indeg = calloc(n + 1, sizeof *indeg);
	size_t *rstart = calloc(n + 2, sizeof *rstart);
	size_t *rto = malloc((m + 1) * sizeof *rto);
	size_t *heap = malloc((n + 1) * sizeof *heap);
	size_t *out = malloc((n + 1) * sizeof *out);
	int rc = 0;
	if (!indeg || !rstart || !rto || !heap || !out) {
		rc = DBREG_ENOMEM;
		goto done;
	}
	for (size_t u = 0; u < n; u++) {
		indeg[u] = g->start[u + 1] - g->start[u];
		for (size_t e = g->start[u]; e < g->start[u + 1]; e++)
			rstart[g->to[e] + 1]++;
	}
	for (size_t v = 0; v < n; v++)
		rstart[v + 1] += rstart[v];
	{
		size_t *fill = heap; /* borrowed as a cursor array before the heap is used */
		for (size_t v = 0; v < n; v++)
			fill[v] = rstart[v];
		for (size_t u = 0; u < n; u++)
			for (size_t e = g->start[u]; e < g->start[u + 1]; e++)
				rto[fill[g->to[e]]++] = u;
	}
	size_t hlen = 0, k = 0;
	for (size_t v = 0; v < n; v++)
		if (indeg[v] == 0)
			graph_heap_push(reg, heap, &hlen, v);
	while (hlen > 0) {
		size_t v = graph_heap_pop(reg, heap, &hlen);
		out[k++] = v;
		for (size_t e = rstart[v]; e < rstart[v + 1]; e++)
			if (--indeg[rto[e]] == 0)
				graph_heap_push(reg, heap, &hlen, rto[e]);
	}
	/* What is left (k < n) is on or behind a cycle: no order. */
	if (k == n) {
		g->order = out;
		out = NULL;
	}
done:
	free(indeg);
	free(rstart);
	free(rto);
	free(heap);
	free(out);
	return rc;
}

int dbreg_graph_build(struct dbreg_graph **out, const struct dbreg_registry *reg)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return DBREG_ENOMEM;
	int rc = graph_build(*out, reg);
	if (rc == 0)
		rc = graph_sort(*out, reg);
	if (rc != 0) {
		dbreg_graph_free(*out);
		*out = NULL;
	}
	return rc;
}

void dbreg_graph_free(struct dbreg_graph *g)
{
	if (!g)
		return;
	graph_dispose(g);
	free(g);
}

int dbreg_graph_order(const struct dbreg_registry *reg, size_t **order)
{
	*order = NULL;
	size_t n = reg->n_packages;
	if (reg->order) {
		/* The last validation's: the registry has not changed since. */
		if (!(*order = malloc((n + 1) * sizeof **order)))
			return DBREG_ENOMEM;
		memcpy(*order, reg->order, n * sizeof **order);
		return 0;
	}
	struct dbreg_graph *g;
	int rc = dbreg_graph_build(&g, reg);
	if (rc != 0)
		return rc;
	if (g->order) {
		*order = g->order;
		g->order = NULL;
	} else {
		rc = DBREG_EINVALID;
	}
	dbreg_graph_free(g);
	return rc;
}
