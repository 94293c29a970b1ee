/* The fingerprint memo (issue 17; fprint.c). */
#ifndef DBREG_FPRINT_H
#define DBREG_FPRINT_H

#include "dbreg.h"
#include "dbreg/driver.h"

#include <sqlite3.h>

/* A fingerprint (driver v12 registry_digest_since) and the digests read
 * with it; fp "" when none, or when the history was short (see
 * FPRINT_MIN_ROWS in fprint.c). */
struct dbreg_fprint {
	char fp[DBREG_FINGERPRINT_SIZE];
	struct dbreg_registry_digest d;
	bool known;                    /* lookup: the state file had a row */
	bool keep;                     /* digest: *now is worth writing */
};

/* The fingerprint build (dbreg_cache_build_key(NULL, ...)) kept for
 * target in the state file db (its handle: dbreg_state_db), into *kept
 * (fp "" when none). */
void dbreg_fprint_lookup(sqlite3 *db, const char *build, const char *target, struct dbreg_fprint *kept);

/* dbreg_target_digest, skipping the digest when the fingerprint is still
 * kept's (then *out is kept's digests). *now is what to keep: fp "" when
 * nothing new. Returns as dbreg_target_digest. */
int dbreg_fprint_digest(struct dbreg_conn *conn, const struct dbreg_fprint *kept, struct dbreg_fprint *now,
			struct dbreg_registry_digest *out);

/* Keeps now (from dbreg_fprint_digest) for target, as build's; nothing
 * unless now->keep. Returns 0, DBREG_ENOMEM or DBREG_EIO. */
int dbreg_fprint_keep(sqlite3 *db, const char *build, const char *target, const struct dbreg_fprint *now);

#endif
