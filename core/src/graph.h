/* The dependency graph between packages (graph.c): built once per
 * validation and shared by the checks that need it (DBR012/015/030..033 and
 * the replay's plan order); the planner reads the order it left. */
#ifndef DBREG_GRAPH_H
#define DBREG_GRAPH_H

#include "registry.h"

/* Edges as compressed rows: the resolved dependencies of package i are
 * to[start[i] .. start[i+1]), each with the declaring entry (for
 * positions); the implicit edge to the core package has dep == NULL. */
struct dbreg_graph {
	size_t n;                      /* packages, as indexes into reg->packages */
	size_t *start;
	size_t *to;
	const struct dbreg_dependency **dep;
	size_t *order;                 /* deterministic topological order (core first, ties by name); NULL on a cycle */
};

/* Builds the graph of what is registered, and its order. Returns 0 or
 * DBREG_ENOMEM; a cycle is not a failure (order is NULL, DBR032 says it). */
int dbreg_graph_build(struct dbreg_graph **out, const struct dbreg_registry *reg);
void dbreg_graph_free(struct dbreg_graph *g);

/* DBR012, DBR015, DBR030..DBR033 on the registry's diagnostics. Returns 0
 * or DBREG_ENOMEM. */
int dbreg_graph_check(struct dbreg_registry *reg, const struct dbreg_graph *g);

/* A copy of the plan order (indexes into reg->packages) into *order: the
 * one the last validation computed, or computed now. Returns 0,
 * DBREG_EINVALID on a cycle, DBREG_ENOMEM. */
int dbreg_graph_order(const struct dbreg_registry *reg, size_t **order);

#endif
