/* Caches in the state file, so a run re-reads nothing that has not changed
 * since the state file last saw it (issue 18).
 *
 * The registry snapshot (cache_registry): every file a clean registry was
 * read from (the manifests the package folders hold, the SQL files they
 * name), each with its device, inode, size, modification and change times
 * as git's index keeps them, and the registry checksum computed from their
 * contents. A later run that finds the same files with the same stat knows
 * the checksum without reading a byte; one changed file (the change time
 * moves even when the size and the modification time are put back) sends
 * it the long way. As in git, a file changed shortly before the load began
 * could change again within the same clock tick unseen: then no snapshot
 * is stored, and the next run reads again.
 *
 * The no-op memo (cache_noop): per target, the digest of the history and
 * installed packages that this registry plans nothing for. A run that reads
 * the same digest from the target has nothing to do, without loading the
 * registry or reading the history twice. With it, the target's content
 * stamp when its driver has one (stamp.c decides when one is kept and
 * when it goes): a run that finds the same stamp does not even connect.
 *
 * Both carry the build (dbreg's version, its libraries', and the stat of
 * the running executable and of the library holding this code): another
 * binary trusts nothing a previous one cached. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include "cache.h"
#include "fprint.h"
#include "regdigest.h"
#include "registry.h"
#include "target.h"
#include "util.h"


#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int64_t cache_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

long long dbreg_cache_clock(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return cache_ns(&t);
}

/* Appends "<tag> <path> dev:ino:size:mtime:ctime\n"; -1 when the file
 * cannot be stat'ed, or (loaded_at > 0) changed too shortly before
 * loaded_at to tell a later change (dbreg_time_racy). */
static int cache_stat_line(struct dbreg_buf *b, const char *tag, const char *path, int64_t loaded_at)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	int64_t m = cache_ns(&st.st_mtim), c = cache_ns(&st.st_ctim);
	if (loaded_at > 0 && (dbreg_time_racy(m, loaded_at) || dbreg_time_racy(c, loaded_at)))
		return -1;
	dbreg_buf_printf(b, "%s %s %llu:%llu:%lld:%lld:%lld\n", tag, path, (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino, (long long)st.st_size, (long long)m, (long long)c);
	return 0;
}

/* The build this process runs: versions, and the executable and library
 * files themselves, so a rebuilt binary of the same version is another. */
static void cache_build(struct dbreg_buf *b)
{
	dbreg_buf_versions(b);
	if (cache_stat_line(b, "exe", "/proc/self/exe", 0) != 0)
		dbreg_buf_printf(b, "exe unknown %p\n", (void *)b);   /* matches no later run */
	Dl_info info;
	if (dladdr((void *)cache_build, &info) && info.dli_fname && info.dli_fname[0] == '/')
		cache_stat_line(b, "lib", info.dli_fname, 0);
}

void dbreg_cache_build_key(const char *checksum, char out[72])
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	cache_build(&b);
	dbreg_buf_printf(&b, "%s\n", checksum ? checksum : "");
	if (b.oom)
		snprintf(out, 72, "sha256:unavailable");   /* matches nothing stored */
	else
		dbreg_sha256_hex(b.ptr, b.len, out);
	dbreg_buf_dispose(&b);
}

/* The files of the snapshot: the manifests found in p's package folders
 * (M lines, paths relative to the project) and the SQL files (S lines, as
 * the loader named them). -1 when one is missing or racy. */
static int cache_files(struct dbreg_buf *b, const struct dbreg_project *p, char **manifests, size_t n_manifests,
		       char **sql, size_t n_sql, int64_t loaded_at)
{
	const char *root = p->dir ? p->dir : ".";
	for (size_t i = 0; i < n_manifests; i++) {
		char *full = dbreg_printf("%s/%s", root, manifests[i]);
		int rc = full ? cache_stat_line(b, "M", full, loaded_at) : -1;
		free(full);
		if (rc != 0)
			return -1;
	}
	for (size_t i = 0; i < n_sql; i++)
		if (cache_stat_line(b, "S", sql[i], loaded_at) != 0)
			return -1;
	return b->oom ? -1 : 0;
}

static int cache_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The S paths of a stored snapshot, in order. */
static int cache_sql_paths(const char *files, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	for (const char *line = files; *line;) {
		const char *eol = strchr(line, '\n');
		if (!eol)
			break;
		if (line[0] == 'S' && line[1] == ' ') {
			/* "S <path> <stat>": the path ends at the last blank. */
			const char *last = eol;
			while (last > line + 2 && last[-1] != ' ')
				last--;
			char *path = last > line + 3 ? dbreg_strndup(line + 2, (size_t)(last - 1 - (line + 2))) : NULL;
			if (!path || dbreg_strv_push(out, n, path) != 0) {
				free(path);
				dbreg_strv_free(*out, *n);
				*out = NULL;
				*n = 0;
				return DBREG_ENOMEM;
			}
			free(path);
		}
		line = eol + 1;
	}
	return 0;
}

/* The manifests p's package folders hold now. */
static int cache_manifests(const struct dbreg_project *p, char ***out, size_t *n)
{
	struct dbreg_registry *tmp = NULL;
	int rc = dbreg_registry_new(&tmp);
	if (rc == 0)
		rc = dbreg_registry_manifest_paths(tmp, p, out, n);
	dbreg_registry_free(tmp);
	return rc;
}

static const char *cache_project_key(const struct dbreg_project *p)
{
	return p->dir ? p->dir : ".";
}

int dbreg_cache_registry_check(struct dbreg_state *st, const struct dbreg_project *p, char checksum[72],
			       bool *unchanged)
{
	*unchanged = false;
	checksum[0] = '\0';
	sqlite3 *db = dbreg_state_db(st);
	if (!db || !p)
		return DBREG_EUSAGE;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, "SELECT build, files, checksum FROM cache_registry WHERE project = ?1", -1, &q,
			       NULL) != SQLITE_OK)
		return 0;   /* no cache is no failure: the long way */
	sqlite3_bind_text(q, 1, cache_project_key(p), -1, SQLITE_STATIC);
	int rc = 0;
	char **manifests = NULL, **sql = NULL;
	size_t n_manifests = 0, n_sql = 0;
	struct dbreg_buf now = DBREG_BUF_INIT, build = DBREG_BUF_INIT;
	if (sqlite3_step(q) != SQLITE_ROW)
		goto out;
	const char *was_build = (const char *)sqlite3_column_text(q, 0);
	const char *was_files = (const char *)sqlite3_column_text(q, 1);
	const char *was_sum = (const char *)sqlite3_column_text(q, 2);
	cache_build(&build);
	if (!was_build || !was_files || !was_sum || build.oom || strcmp(build.ptr, was_build) != 0)
		goto out;
	if ((rc = cache_sql_paths(was_files, &sql, &n_sql)) != 0 ||
	    (rc = cache_manifests(p, &manifests, &n_manifests)) != 0) {
		rc = rc == DBREG_ENOMEM ? rc : 0;
		goto out;
	}
	if (cache_files(&now, p, manifests, n_manifests, sql, n_sql, 0) == 0 && now.len &&
	    strcmp(now.ptr, was_files) == 0 && strlen(was_sum) < 72) {
		snprintf(checksum, 72, "%s", was_sum);
		*unchanged = true;
	}
out:
	sqlite3_finalize(q);
	dbreg_buf_dispose(&now);
	dbreg_buf_dispose(&build);
	dbreg_strv_free(manifests, n_manifests);
	dbreg_strv_free(sql, n_sql);
	return rc;
}

int dbreg_cache_registry_store(struct dbreg_state *st, const struct dbreg_project *p,
			       const struct dbreg_registry *reg, long long loaded_at)
{
	sqlite3 *db = dbreg_state_db(st);
	if (!db || !p || !reg)
		return DBREG_EUSAGE;
	if (reg->diags.errors)
		return 0;
	char **manifests = NULL, **sql = NULL, **loaded = NULL;
	size_t n_manifests = 0, n_sql = 0, n_loaded = 0;
	struct dbreg_buf files = DBREG_BUF_INIT, build = DBREG_BUF_INIT;
	int rc = cache_manifests(p, &manifests, &n_manifests);
	/* The folders must hold exactly what was loaded: a manifest removed
	 * since would otherwise vanish from the snapshot unseen. */
	for (size_t i = 0; rc == 0 && i < reg->n_packages; i++)
		if (dbreg_strv_push(&loaded, &n_loaded, reg->packages[i]->file ? reg->packages[i]->file : "") != 0)
			rc = DBREG_ENOMEM;
	if (rc != 0)
		goto out;
	if (n_loaded)
		qsort(loaded, n_loaded, sizeof *loaded, cache_cmp_str);
	if (n_loaded != n_manifests)
		goto out;
	/* The loader names a manifest by its full path (the project's folder
	 * joined, as it was given), the folders' scan relative to it. */
	for (size_t i = 0; i < n_loaded; i++) {
		char *full = dbreg_registry_full_path(p, manifests[i]);
		bool same = full && strcmp(loaded[i], full) == 0;
		free(full);
		if (!same)
			goto out;
	}
	for (size_t i = 0; i < reg->n_packages && rc == 0; i++) {
		const struct dbreg_package *pkg = reg->packages[i];
		for (size_t k = 0; k < pkg->n_migrations && rc == 0; k++) {
			const struct dbreg_migration *m = &pkg->migrations[k];
			for (size_t j = 0; j < DBREG_MIGRATION_BODIES && rc == 0; j++) {
				const struct dbreg_sql *body = dbreg_migration_file_body(m, j);
				if (body && body->file && dbreg_strv_push(&sql, &n_sql, body->file) != 0)
					rc = DBREG_ENOMEM;
			}
		}
	}
	if (rc != 0)
		goto out;
	if (n_sql)
		qsort(sql, n_sql, sizeof *sql, cache_cmp_str);
	size_t kept = 0;
	for (size_t i = 0; i < n_sql; i++) {
		if (kept && strcmp(sql[i], sql[kept - 1]) == 0)
			free(sql[i]);
		else
			sql[kept++] = sql[i];
	}
	n_sql = kept;
	if (cache_files(&files, p, manifests, n_manifests, sql, n_sql, loaded_at) != 0)
		goto out;   /* racy or gone: the next run reads again */
	cache_build(&build);
	char sum[72];
	dbreg_registry_checksum(reg, sum);
	if (build.oom || files.oom) {
		rc = DBREG_ENOMEM;
		goto out;
	}
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO cache_registry (project, build, files, checksum, at)"
			       " VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = DBREG_EIO;
		goto out;
	}
	sqlite3_bind_text(q, 1, cache_project_key(p), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, build.ptr, (int)build.len, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, files.ptr ? files.ptr : "", (int)files.len, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, sum, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		rc = DBREG_EIO;
	sqlite3_finalize(q);
out:
	dbreg_buf_dispose(&files);
	dbreg_buf_dispose(&build);
	dbreg_strv_free(manifests, n_manifests);
	dbreg_strv_free(sql, n_sql);
	dbreg_strv_free(loaded, n_loaded);
	return rc;
}

/* ---- the no-op memo ------------------------------------------------------ */

/* What the target holds, as a planner sees it. */
struct cache_target {
	struct dbreg_applied *rows;
	size_t n_rows;
	char **names, **versions;
	size_t n_pkgs;
	char digest[72];
};

static void cache_target_dispose(struct cache_target *t)
{
	dbreg_applied_free(t->rows, t->n_rows);
	dbreg_strv_free(t->names, t->n_pkgs);
	dbreg_strv_free(t->versions, t->n_pkgs);
	memset(t, 0, sizeof *t);
}

/* Reads the history (once) and the installed packages, and digests them
 * (regdigest.h's plan digest: the history in its own order, the packages
 * by name). Both reads go together (one round trip on PostgreSQL), told
 * that the registry's tables exist: a run that kept a memo or just applied
 * made them, and a wrong hint costs a round trip, never a wrong answer. */
static int cache_target_read(struct dbreg_conn *conn, struct cache_target *t)
{
	memset(t, 0, sizeof *t);
	int rc = dbreg_target_read(conn, true, &t->rows, &t->n_rows, &t->names, &t->versions, &t->n_pkgs);
	struct dbreg_registry_digest d;
	if (rc == 0 && (rc = dbreg_regdigest_of(&d, t->rows, t->n_rows, t->names, t->versions, t->n_pkgs)) == 0)
		memcpy(t->digest, d.plan, sizeof t->digest);
	return rc;
}

/* The same digest as cache_target_read's, from the driver without reading
 * a row when it can (registry_digest, or the fingerprint kept for target:
 * fprint.c), else from the rows. */
static int cache_target_digest(struct dbreg_state *st, const char *target, struct dbreg_conn *conn, char digest[72])
{
	struct dbreg_registry_digest d;
	struct dbreg_fprint kept, seen;
	char build[72];
	dbreg_cache_build_key(NULL, build);
	dbreg_fprint_lookup(dbreg_state_db(st), build, target, &kept);
	int rc = dbreg_fprint_digest(conn, &kept, &seen, &d);
	if (rc == 0) {
		dbreg_fprint_keep(dbreg_state_db(st), build, target, &seen);   /* a memo not kept costs the next visit speed only */
		memcpy(digest, d.plan, 72);
		return 0;
	}
	if (rc < 0)
		return rc;
	struct cache_target now;
	rc = cache_target_read(conn, &now);
	if (rc == 0)
		memcpy(digest, now.digest, 72);
	cache_target_dispose(&now);
	return rc;
}

static const char *cache_dialect(enum dbreg_dialect d)
{
	return d == DBREG_DIALECT_POSTGRES ? "postgres" : "sqlite";
}

/* Target key t's memo when this build stored it for registry_checksum:
 * its dialect and digest (malloc'd, the caller frees), and its content
 * stamp when stamp is not NULL (malloc'd; NULL when it has none); false
 * when there is none, another build or registry stored it, or out of
 * memory. */
static bool cache_noop_row(sqlite3 *db, const char *t, const char *registry_checksum, char **dialect, char **digest,
			   char **stamp)
{
	*dialect = *digest = NULL;
	if (stamp)
		*stamp = NULL;
	sqlite3_stmt *q = NULL;
	struct dbreg_buf build = DBREG_BUF_INIT;
	bool found = false;
	if (sqlite3_prepare_v2(db, "SELECT build, registry, dialect, digest, stamp FROM cache_noop WHERE target = ?1", -1,
			       &q, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(q, 1, t, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW)
		goto out;
	cache_build(&build);
	const char *was[5];
	for (int i = 0; i < 5; i++)
		was[i] = (const char *)sqlite3_column_text(q, i);
	if (!was[0] || !was[1] || !was[2] || !was[3] || build.oom || strcmp(was[0], build.ptr) != 0 ||
	    strcmp(was[1], registry_checksum) != 0)
		goto out;
	*dialect = dbreg_strdup(was[2]);
	*digest = dbreg_strdup(was[3]);
	found = *dialect && *digest && (!stamp || !was[4] || (*stamp = dbreg_strdup(was[4])));
	if (!found) {
		free(*dialect);
		free(*digest);
		*dialect = *digest = NULL;
	}
out:
	sqlite3_finalize(q);
	dbreg_buf_dispose(&build);
	return found;
}

bool dbreg_cache_noop_known(struct dbreg_state *st, const char *target, const char *registry_checksum)
{
	sqlite3 *db = dbreg_state_db(st);
	char *t = db && target && registry_checksum ? dbreg_target_key(target) : NULL;
	char *dialect = NULL, *digest = NULL;
	bool known = t && cache_noop_row(db, t, registry_checksum, &dialect, &digest, NULL);
	free(dialect);
	free(digest);
	free(t);
	return known;
}

int dbreg_cache_noop_check(struct dbreg_state *st, struct dbreg_conn *conn, const char *target,
			   const char *registry_checksum, bool *noop)
{
	*noop = false;
	sqlite3 *db = dbreg_state_db(st);
	if (!db || !conn || !target || !registry_checksum)
		return DBREG_EUSAGE;
	char *t = dbreg_target_key(target);
	if (!t)
		return DBREG_ENOMEM;
	char *dialect = NULL, *digest = NULL, now[72];
	int rc = 0;
	if (!cache_noop_row(db, t, registry_checksum, &dialect, &digest, NULL) ||
	    strcmp(dialect, cache_dialect(dbreg_target_conn_dialect(conn))) != 0)
		goto out;
	if ((rc = cache_target_digest(st, target, conn, now)) != 0)
		goto out;
	*noop = strcmp(now, digest) == 0;
out:
	free(dialect);
	free(digest);
	free(t);
	return rc;
}

int dbreg_cache_noop_store(struct dbreg_state *st, struct dbreg_conn *conn, const char *target,
			   struct dbreg_registry *reg)
{
	sqlite3 *db = dbreg_state_db(st);
	if (!db || !conn || !target || !reg)
		return DBREG_EUSAGE;
	if (reg->diags.errors)
		return 0;
	struct cache_target now = {0};
	struct dbreg_plan *plan = NULL;
	char *t = dbreg_target_key(target);
	int rc = t ? cache_target_read(conn, &now) : DBREG_ENOMEM;
	if (rc != 0)
		goto out;
	/* Nothing to run: the plan for what the target holds now is empty ... */
	enum dbreg_dialect dialect = dbreg_target_conn_dialect(conn);
	struct dbreg_plan_opts po = {.dialect = dialect, .history = now.rows, .n_history = now.n_rows};
	if (dbreg_plan_build(&plan, reg, &po) != 0 || dbreg_plan_count(plan) != 0)
		goto out;
	/* ... and no package version to record (apply records a package that
	 * is missing or at another version). */
	for (size_t i = 0; i < reg->n_packages; i++) {
		const struct dbreg_package *pkg = reg->packages[i];
		bool same = false;
		for (size_t k = 0; k < now.n_pkgs && !same && pkg->name && pkg->version_text; k++)
			same = strcmp(now.names[k], pkg->name) == 0 && strcmp(now.versions[k], pkg->version_text) == 0;
		if (!same)
			goto out;
	}
	/* The state file's copy of the history follows what the memo vouches
	 * for (a rewrite drops the memo, so it goes first). */
	if ((rc = dbreg_state_set_history(st, t, now.rows, now.n_rows)) != 0)
		goto out;
	char sum[72];
	dbreg_registry_checksum(reg, sum);
	rc = dbreg_cache_noop_put(st, target, dialect, sum, now.digest);
out:
	dbreg_plan_free(plan);
	cache_target_dispose(&now);
	free(t);
	return rc;
}

/* One write of target's memo row: sql with ?1 the target's key, ?2 this
 * build, ?3 the registry checksum, ?4 and ?5 the texts a and b. */
static int cache_noop_write(struct dbreg_state *st, const char *target, const char *sql,
			    const char *registry_checksum, const char *a, const char *b)
{
	sqlite3 *db = dbreg_state_db(st);
	if (!db || !target || !registry_checksum)
		return DBREG_EUSAGE;
	struct dbreg_buf build = DBREG_BUF_INIT;
	char *t = dbreg_target_key(target);
	sqlite3_stmt *q = NULL;
	int rc = 0;
	cache_build(&build);
	if (!t || build.oom) {
		rc = DBREG_ENOMEM;
		goto out;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		rc = DBREG_EIO;
		goto out;
	}
	sqlite3_bind_text(q, 1, t, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, build.ptr, (int)build.len, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, registry_checksum, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, a, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(q) >= 5)
		sqlite3_bind_text(q, 5, b, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		rc = DBREG_EIO;
out:
	sqlite3_finalize(q);
	dbreg_buf_dispose(&build);
	free(t);
	return rc;
}

int dbreg_cache_noop_put(struct dbreg_state *st, const char *target, enum dbreg_dialect dialect,
			 const char *registry_checksum, const char *digest)
{
	return cache_noop_write(st, target,
				"INSERT OR REPLACE INTO cache_noop (target, build, registry, dialect, digest, at)"
				" VALUES (?1, ?2, ?3, ?4, ?5, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
				registry_checksum, cache_dialect(dialect), digest);
}

int dbreg_cache_noop_set_stamp(struct dbreg_state *st, const char *target, const char *registry_checksum,
			       const char *stamp)
{
	/* Only onto the memo of this build and registry: the one just stored. */
	return cache_noop_write(st, target,
				"UPDATE cache_noop SET stamp = ?4 WHERE target = ?1 AND build = ?2 AND registry = ?3",
				registry_checksum, stamp, NULL);
}

char *dbreg_cache_noop_stamp(struct dbreg_state *st, const char *target, const char *registry_checksum)
{
	sqlite3 *db = dbreg_state_db(st);
	char *t = db && target && registry_checksum ? dbreg_target_key(target) : NULL;
	char *dialect = NULL, *digest = NULL, *stamp = NULL;
	if (t)
		cache_noop_row(db, t, registry_checksum, &dialect, &digest, &stamp);
	free(dialect);
	free(digest);
	free(t);
	return stamp;
}

int dbreg_cache_noop_forget_stamp(struct dbreg_state *st, const char *target)
{
	sqlite3 *db = dbreg_state_db(st);
	if (!db || !target)
		return DBREG_EUSAGE;
	char *t = dbreg_target_key(target);
	if (!t)   /* ELIBACC: a target without a key never had a stamp; else out of memory, and it stays */
		return errno == ELIBACC ? 0 : DBREG_ENOMEM;
	sqlite3_stmt *q = NULL;
	int rc = DBREG_EIO;
	if (sqlite3_prepare_v2(db, "UPDATE cache_noop SET stamp = NULL WHERE target = ?1 AND stamp IS NOT NULL", -1, &q,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, t, -1, SQLITE_STATIC);
		rc = sqlite3_step(q) == SQLITE_DONE ? 0 : DBREG_EIO;
	}
	sqlite3_finalize(q);
	free(t);
	return rc;
}
