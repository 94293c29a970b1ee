/* The inside of struct dbreg_registry, shared by the modules that load,
 * check and plan it. */
#ifndef DBREG_REGISTRY_H
#define DBREG_REGISTRY_H

#include "dbreg.h"
#include "model.h"

struct dbreg_registry {
	struct dbreg_package **packages;   /* owned; in load order until validate sorts by name */
	size_t n_packages, cap_packages;
	struct dbreg_diag_list diags;
	char errmsg[512];
	/* Hot reload (reload.c): */
	const bool *check_only;            /* SQL checks (sqlcheck, replay) of these packages only
					      (indexes into packages); NULL: all */
	struct dbreg_reload_cache *reload; /* per-package findings kept for the next reload; NULL */
};

/* Inserts a package in name order (after equal names). Returns 0 or
 * DBREG_ENOMEM (the package is then not the registry's). */
int dbreg_registry_insert(struct dbreg_registry *reg, struct dbreg_package *pkg);

/* The two halves of validation, for dbreg_registry_validate and reload.c:
 * the whole-registry checks (graph.c, rules.c), and the per-package SQL
 * checks (sqlcheck.c, replay.c; of reg->check_only when set). Findings go
 * to reg->diags unsorted. Return 0 or a failure code (message in reg). */
int dbreg_registry_check_declarations(struct dbreg_registry *reg);
int dbreg_registry_check_sql(struct dbreg_registry *reg);

/* Frees what reload.c keeps in a registry. NULL-safe. */
void dbreg_reload_cache_free(struct dbreg_reload_cache *cache);

/* The manifests of a project's package folders, relative to the project
 * folder, sorted and unique; *paths freed with dbreg_strv_free. Returns 0,
 * DBREG_EIO (message in reg), DBREG_ENOMEM. */
int dbreg_registry_manifest_paths(struct dbreg_registry *reg, const struct dbreg_project *p, char ***paths,
				  size_t *n);

/* The path to open for a manifest path relative to the project; malloc'd. */
char *dbreg_registry_full_path(const struct dbreg_project *p, const char *rel);

/* Sets the registry's message (printf-formatted) and returns `code`. */
int dbreg_registry_fail(struct dbreg_registry *reg, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The index in reg->packages (sorted by name) of the package of that
 * name, or reg->n_packages when there is none. O(log n). */
size_t dbreg_registry_index(const struct dbreg_registry *reg, const char *name);

/* The registered package of that name, or NULL. */
struct dbreg_package *dbreg_registry_find(const struct dbreg_registry *reg, const char *name);

/* Reads one manifest into a package (manifest.c). Problems become
 * diagnostics; *out is NULL when the file is not usable at all (DBR001).
 * Returns 0 or DBREG_ENOMEM/DBREG_EIO. */
int dbreg_manifest_load(struct dbreg_package **out, struct dbreg_diag_list *diags, const char *file,
			const char *base_dir, const char *text, size_t len);

/* Checks of rules.c: declared tables (DBR02x), tools (DBR050), migrations
 * ids/versions (DBR040/041), recommendations (DBR101/102). */
int dbreg_rules_check(struct dbreg_registry *reg);

/* Checks of graph.c: DBR012, DBR015, DBR030..DBR033. And the deterministic
 * topological order (core first, ties by name) written into *order as
 * indexes into reg->packages; returns DBREG_EINVALID on a cycle. */
int dbreg_graph_check(struct dbreg_registry *reg);
int dbreg_graph_order(const struct dbreg_registry *reg, size_t **order);

/* SQL checks of sqlcheck.c (DBR043, DBR044, DBR046, DBR103) and replay.c
 * (DBR047). */
int dbreg_sqlcheck_registry(struct dbreg_registry *reg);
int dbreg_replay_check(struct dbreg_registry *reg);

#endif
