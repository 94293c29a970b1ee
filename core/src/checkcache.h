/* Per-package results of the expensive checks (the SQL checks, the SQLite
 * replay of DBR047) kept in the state file between runs (checkcache.c).
 * sqlcheck.c and replay.c read and fill this through reg->check_cache
 * only; they call nothing here. */
#ifndef DBREG_CHECKCACHE_H
#define DBREG_CHECKCACHE_H

#include "dbreg.h"
#include "model.h"
#include "util.h"

#include <stdbool.h>
#include <string.h>

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

/* dbreg_check_cache_load without touching the registry's message, so that
 * it may run beside the declaration checks (validate.c): writes
 * reg->check_cache only, and reads reg->n_packages, reg->packages,
 * reg->isolation and the state file. Returns 0 or DBREG_ENOMEM. */
int dbreg_check_cache_lookup(struct dbreg_registry *reg, struct dbreg_state *st);

/* The planner's warnings kept per body (dbreg_plan_memo_new, checkcache.c).
 * plan.c looks bodies up and adds those it checked here, calling nothing
 * of checkcache.c but `read`. */
struct dbreg_plan_memo_entry {
	char sum[72];                  /* first: the SHA-256 of the body's raw bytes (dbreg_plan_memo_key) */
	struct dbreg_diag_list found;  /* what dbreg_sqlcheck_text reported, in its order */
};

struct dbreg_plan_memo_package {
	struct dbreg_plan_memo_entry *stored;   /* read from the state file, sorted by sum */
	size_t n_stored;
	struct dbreg_plan_memo_entry *fresh;    /* checked by this process, in that order */
	size_t n_fresh, cap_fresh;
	size_t *slots;                 /* fresh by sum: 1 + index, 0 empty (open addressing) */
	size_t cap_slots;              /* a power of two, more than twice n_fresh */
};

struct dbreg_plan_memo {
	struct dbreg_state *st;        /* borrowed; NULL: nothing stored */
	const struct dbreg_registry *reg;
	const void **pkg;              /* reg->packages[k] when made: another package there is a miss */
	struct dbreg_plan_memo_package *p;   /* per package of reg */
	size_t n;
	char key[72];                  /* of the build */
	int (*read)(struct dbreg_plan_memo *m);   /* fills `stored` once; 0 or DBREG_ENOMEM */
	bool read_done;
};

/* The body whose warnings the planner reads for a migration: what runs on
 * PostgreSQL (its up_postgres, else up), or NULL. */
static inline const struct dbreg_sql *dbreg_plan_memo_checked(const struct dbreg_migration *mig)
{
	return mig->up_postgres.text ? &mig->up_postgres : mig->up.text ? &mig->up : NULL;
}

/* A body's key: dbreg_sql_sum is of its raw bytes unless they hold a CR
 * (it reads CR LF as LF, where a column counts the CR). */
static inline void dbreg_plan_memo_key(const struct dbreg_sql *body, char out[72])
{
	if (!body->text || !memchr(body->text, '\r', body->len))
		dbreg_sql_sum(body, out);
	else
		dbreg_sha256_hex(body->text, body->len, out);
}

#endif
