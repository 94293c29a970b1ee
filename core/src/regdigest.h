/* What a target's registry tables hold, as two digests (issue 17): the
 * bytes are written here once (the streaming half, dbreg_regdigest_new and
 * the rest, is in dbreg/driver.h for the drivers that compute them where
 * the rows are: driver v10 registry_digest), so a visit that finds nothing
 * changed transfers one row instead of the whole history. */
#ifndef DBREG_REGDIGEST_H
#define DBREG_REGDIGEST_H

#include "dbreg/driver.h"

/* The digests of rows read (history order) and of n packages (any order). */
int dbreg_regdigest_of(struct dbreg_registry_digest *out, const struct dbreg_applied *rows, size_t n_rows,
		       char *const *names, char *const *versions, size_t n_pkgs);

#endif
