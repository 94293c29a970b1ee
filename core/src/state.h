/* Internal functions of the state file (state.c) that the public API does
 * not carry: the recorded declared schema of a package version, for
 * verify (schema.h reads the text). */
#ifndef DBREG_STATE_H
#define DBREG_STATE_H

#include "dbreg.h"

/* The declared schema recorded when `package` was registered at
 * `version`, in dbreg_schema_write's form: 0 and a malloc'd *text; 1 when
 * none was recorded; DBREG_EIO (message in the state) or DBREG_ENOMEM. */
int dbreg_state_package_schema(struct dbreg_state *st, const char *package, const char *version, char **text);

#endif
