/* Per-package results of the expensive checks (the SQL checks, the SQLite
 * replay of DBR047) kept in the state file between runs (checkcache.c).
 * sqlcheck.c and replay.c read and fill this through reg->check_cache
 * only; they call nothing here. */
#ifndef DBREG_CHECKCACHE_H
#define DBREG_CHECKCACHE_H

#include "dbreg.h"

#include <stdbool.h>

enum { DBREG_CC_SQL, DBREG_CC_REPLAY, DBREG_CC_KINDS };

struct dbreg_check_slot {
	char key[72];                  /* of exactly what the result depends on */
	char key_alone[72];            /* replay: of the package alone (its first run needed no other) */
	bool hit;                      /* found: the stored findings, emitted instead of checking */
	bool hit_alone;                /* found by key_alone */
	bool captured;                 /* checked now, found holds the fresh result */
	bool alone;                    /* replay checked now: it ran alone, stored by key_alone */
	struct dbreg_diag_list found;
};

/* A package's declaration digest, stored (kind "decl") under the key of
 * its manifest's bytes. */
struct dbreg_check_decl {
	char key[72];                  /* of the build and the manifest's checksum */
	char sum[72];                  /* "sha256:..." of its declarations; "" until known */
	bool stored;                   /* read from the state file under key */
};

struct dbreg_check_cache {
	size_t n;                      /* reg->n_packages when loaded */
	const void **pkg;              /* reg->packages[k] when loaded: another registry order is a miss */
	struct dbreg_check_slot (*slot)[DBREG_CC_KINDS];
	struct dbreg_check_decl *decl; /* per package */
};

/* The slot of reg->packages[k] for a kind, or NULL: no cache, or another
 * package there than at load. */
#define DBREG_CHECK_SLOT(reg, k, kind)                                                                  \
	((reg)->check_cache && (k) < (reg)->check_cache->n && (reg)->check_cache->pkg[k] == (reg)->packages[k] \
		 ? &(reg)->check_cache->slot[k][kind]                                                    \
		 : NULL)

#endif
