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
	struct dbreg_isolation isolation;  /* [isolation] of the project (isolation.c) */
};

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
