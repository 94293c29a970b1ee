/* What a target's registry tables hold, as two digests (issue 17): the
 * bytes are written here once, and by the drivers that compute them where
 * the rows are (driver v10 registry_digest), so a visit that finds nothing
 * changed transfers one row instead of the whole history. */
#ifndef DBREG_REGDIGEST_H
#define DBREG_REGDIGEST_H

#include "dbreg/driver.h"

#include <openssl/evp.h>

/* The digests being computed: rows first, in history order, then the
 * packages in byte order of their names (regdigest.c says the bytes). */
struct dbreg_regdigest_part {
	EVP_MD_CTX *ctx;
	size_t len;
	unsigned char buf[8192];       /* gathered, hashed when full: thousands of short texts a row apart */
};
struct dbreg_regdigest {
	struct dbreg_regdigest_part part[3];   /* keys, applied, packages */
	size_t n_rows, n_packages;
	bool failed;
};

int dbreg_regdigest_begin(struct dbreg_regdigest *d);
/* One history row; NULL fields digest as empty text. */
void dbreg_regdigest_row(struct dbreg_regdigest *d, const char *package, const char *migration,
			 const char *version, const char *checksum, const char *applied_at, long long duration_ms);
/* One installed package, after every row, in strcmp order of names. */
void dbreg_regdigest_package(struct dbreg_regdigest *d, const char *name, const char *version);
/* Fills out and frees d (also after a failure). 0 or DBREG_ENOMEM. */
int dbreg_regdigest_end(struct dbreg_regdigest *d, struct dbreg_registry_digest *out);

/* The digests of rows read (history order) and of n packages (any order). */
int dbreg_regdigest_of(struct dbreg_registry_digest *out, const struct dbreg_applied *rows, size_t n_rows,
		       char *const *names, char *const *versions, size_t n_pkgs);

#endif
