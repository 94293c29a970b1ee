/* The fingerprint memo (issue 17): per target, the fingerprint its driver
 * computed with its registry digests (driver v12 registry_digest_since:
 * on PostgreSQL from the rows' system columns and the tables' catalog
 * rows, a fifth of the digest's cost on a long history) and those
 * digests. A visit whose fingerprint is the one kept has the digests
 * without the server computing them, in the same single round trip. The
 * fingerprint vouches for the rows by itself, so the memo needs no
 * dropping; it carries the build (the caller's dbreg_cache_build_key):
 * another binary may digest other bytes. */
#include "fprint.h"
#include "target.h"

#include <stdlib.h>
#include <string.h>

void dbreg_fprint_lookup(sqlite3 *db, const char *build, const char *target, struct dbreg_fprint *kept)
{
	memset(kept, 0, sizeof *kept);
	char *t = db && build && target ? dbreg_target_key(target) : NULL;
	sqlite3_stmt *q = NULL;
	if (t && sqlite3_prepare_v2(db,
				    "SELECT fingerprint, n_rows, n_packages, history, plan FROM cache_fingerprints"
				    " WHERE target = ?1 AND build = ?2",
				    -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, t, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, build, -1, SQLITE_STATIC);
		const char *fp, *h, *p;
		if (sqlite3_step(q) == SQLITE_ROW && (fp = (const char *)sqlite3_column_text(q, 0)) &&
		    (h = (const char *)sqlite3_column_text(q, 3)) && (p = (const char *)sqlite3_column_text(q, 4)) &&
		    strlen(fp) < sizeof kept->fp && strlen(h) < sizeof kept->d.history && strlen(p) < sizeof kept->d.plan) {
			strcpy(kept->fp, fp);
			kept->d.n_rows = (size_t)sqlite3_column_int64(q, 1);
			kept->d.n_packages = (size_t)sqlite3_column_int64(q, 2);
			strcpy(kept->d.history, h);
			strcpy(kept->d.plan, p);
			kept->known = true;
		}
	}
	sqlite3_finalize(q);
	free(t);
}

/* Below this many history rows the plain digest costs a visit less than
 * the fingerprint's larger statement, whose parsing and planning on a
 * fresh backend is most of it (bench_fleet, 45 rows: about 1 ms more a
 * PostgreSQL target; 20,005 rows: 5.5 ms against 29 ms). A short history
 * is kept as such (fp ""), and digested plainly until it grows. */
#define FPRINT_MIN_ROWS 1000

int dbreg_fprint_digest(struct dbreg_conn *conn, const struct dbreg_fprint *kept, struct dbreg_fprint *now,
			struct dbreg_registry_digest *out)
{
	memset(now, 0, sizeof *now);
	if (kept->known && !kept->fp[0] && kept->d.n_rows < FPRINT_MIN_ROWS) {
		int rc = dbreg_target_digest(conn, true, out);
		if (rc == 0 && out->n_rows >= FPRINT_MIN_ROWS) {
			now->d = *out;   /* grown: the next visit learns a fingerprint */
			now->keep = true;
		}
		return rc;
	}
	int rc = dbreg_target_digest_since(conn, true, kept->fp[0] ? kept->fp : NULL, now->fp, out);
	if (rc == 2) {
		*out = kept->d;
		now->fp[0] = '\0';   /* nothing new to keep */
		return 0;
	}
	if (rc == 0 && now->fp[0]) {
		now->d = *out;
		now->keep = true;
		if (out->n_rows < FPRINT_MIN_ROWS)
			now->fp[0] = '\0';   /* short: kept as such */
	} else {
		now->fp[0] = '\0';   /* a driver or tables without fingerprints: nothing to keep */
	}
	return rc;
}

int dbreg_fprint_keep(sqlite3 *db, const char *build, const char *target, const struct dbreg_fprint *now)
{
	if (!now->keep)
		return 0;
	if (!db || !build || !target)
		return DBREG_EUSAGE;
	char *t = dbreg_target_key(target);
	if (!t)
		return DBREG_ENOMEM;
	sqlite3_stmt *q = NULL;
	int rc = DBREG_EIO;
	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO cache_fingerprints (target, build, fingerprint, n_rows, n_packages,"
			       " history, plan) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, t, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, build, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, now->fp, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 4, (sqlite3_int64)now->d.n_rows);
		sqlite3_bind_int64(q, 5, (sqlite3_int64)now->d.n_packages);
		sqlite3_bind_text(q, 6, now->d.history, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 7, now->d.plan, -1, SQLITE_STATIC);
		rc = sqlite3_step(q) == SQLITE_DONE ? 0 : DBREG_EIO;
	}
	sqlite3_finalize(q);
	free(t);
	return rc;
}
