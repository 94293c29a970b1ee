/* The inside of hot reload (reload.c): adding to a changes list, and the
 * declared schema's share of what changed between two loads of a package. */
#ifndef DBREG_RELOAD_H
#define DBREG_RELOAD_H

#include "dbreg.h"
#include "model.h"

/* Appends one change (strings copied; any may be NULL). NULL list: does
 * nothing. Returns 0 or DBREG_ENOMEM. */
int dbreg_changes_add(struct dbreg_changes *c, enum dbreg_change_what what, enum dbreg_change_kind kind,
		      const char *package, const char *table, const char *name, const char *detail);

/* Tables, columns and indexes a package declares that were added, removed
 * or changed between two loads of it (either may be NULL: a package added
 * or removed). Returns 0 or DBREG_ENOMEM. */
int dbreg_reload_schema_changes(struct dbreg_changes *c, const struct dbreg_package *old_pkg,
				const struct dbreg_package *new_pkg);

#endif
