/* The inside of struct dbreg_registry: a plain container of loaded packages
 * and their diagnostics. The checks that use it sit above it (validate.c
 * conducts them); nothing here calls a check. */
#ifndef DBREG_REGISTRY_H
#define DBREG_REGISTRY_H

#include "dbreg.h"
#include "model.h"

struct dbreg_registry {
	struct dbreg_package **packages;   /* owned; in load order until validate sorts by name */
	size_t n_packages, cap_packages;
	struct dbreg_diag_list diags;
	size_t *order;                     /* plan order left by the last validation (validate.c); NULL: none */
	char errmsg[512];
	/* Hot reload (reload.c): */
	const bool *check_only;            /* SQL checks (sqlcheck, replay) of these packages only
					      (indexes into packages); NULL: all */
	struct dbreg_reload_cache *reload; /* per-package findings kept for the next reload; NULL */
	void (*reload_free)(struct dbreg_reload_cache *);   /* set by reload.c with `reload` */
	struct dbreg_isolation isolation;  /* [isolation] of the project (isolation.c) */
	/* Where the manifests were looked for, for a finding about all of them
	 * (none at all): dbreg.toml at its [registry] packages, else the
	 * default folder; as shown (dbreg_registry_full_path). NULL: not a
	 * project's. */
	char *source;
	struct dbreg_pos source_pos;
	/* Per-package results of the SQL checks and the replay kept in the
	 * state file (checkcache.c); NULL: every package is checked. */
	struct dbreg_check_cache *check_cache;
	void (*check_cache_free)(struct dbreg_check_cache *);   /* set by checkcache.c with check_cache */
	long long check_deadline_ms;       /* offline checks stop here (util.h: dbreg_clock_ms); 0: none */
	/* A validation's findings follow the loads' in diags: from
	 * checked_from on, once checked (dbreg_registry_checks_begin). */
	bool checked;
	size_t checked_from;
};

/* Before a validation or another load: the findings of the last
 * validation are dropped (they are worked out again), so validating twice
 * does not report each twice. Returns 0, or DBREG_ENOMEM. */
int dbreg_registry_checks_forget(struct dbreg_registry *reg);
/* At the start of a validation: forgets the last one's and marks where
 * this one's begin. */
int dbreg_registry_checks_begin(struct dbreg_registry *reg);

/* Inserts a package in name order (after equal names). Returns 0 or
 * DBREG_ENOMEM (the package is then not the registry's). */
int dbreg_registry_insert(struct dbreg_registry *reg, struct dbreg_package *pkg);

struct dbreg_graph;

/* The pipeline of dbreg_registry_validate in three steps, for it and for
 * reload.c (validate.c): the graph and the whole-registry checks (graph,
 * rules), the per-package SQL checks (sqlcheck, replay; of reg->check_only
 * when set), then the graph's order kept, --allow, sorting and the verdict
 * (frees g). Findings go to reg->diags. The first two return 0 or
 * DBREG_ENOMEM (message in reg); finish returns as validate does. */
int dbreg_validate_declarations(struct dbreg_registry *reg, struct dbreg_graph **g);
int dbreg_validate_sql(struct dbreg_registry *reg, const struct dbreg_graph *g);
int dbreg_validate_finish(struct dbreg_registry *reg, struct dbreg_graph *g, const struct dbreg_validate_opts *opts);

/* The manifests of a project's package folders, relative to the project
 * folder, sorted and unique; *paths freed with dbreg_strv_free. Returns 0,
 * DBREG_EIO (message in reg), DBREG_ENOMEM. */
int dbreg_registry_manifest_paths(struct dbreg_registry *reg, const struct dbreg_project *p, char ***paths,
				  size_t *n);

/* The path to open for a manifest path relative to the project; malloc'd. */
char *dbreg_registry_full_path(const struct dbreg_project *p, const char *rel);
/* DBR001 about a manifest `file` that cannot be read (errno `err`, as
 * dbreg_read_file sets it), with a hint for the cause: a finding like any
 * other, so the other manifests are still validated. */
int dbreg_registry_unreadable(struct dbreg_diag_list *diags, const char *file, int err);

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

#endif
