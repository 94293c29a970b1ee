/* The local state file: what was registered, and per target the history
 * last seen there, so `plan` works without a connection. It is a SQLite
 * database with a schema of its own, versioned by PRAGMA user_version and
 * upgraded by the steps of state_schema[], one SQL body per version.
 *
 * Schema (version 11):
 *   packages   (name PK, version, manifest_checksum, registered_at)
 *   migrations (package -> packages, id, version, checksum_postgres,
 *               checksum_sqlite; PK (package, id))
 *   history    (target, package, migration, version, checksum, applied_at,
 *               duration_ms; PK (target, package, migration)); rows of a
 *               target in rowid order are oldest first
 *   events     (id, at, who, event, target, outcome, detail): append-only,
 *               enforced by triggers
 *   registry_checks (checksum PK, kind, at): registries (by
 *               dbreg_registry_checksum) that validated clean ('validated')
 *               or were last registered ('registered'), so unchanged
 *               inputs are neither re-checked nor re-written
 *   package_schemas (package, version, schema, registered_at; PK
 *               (package, version)): each registered version's declared
 *               tables (state_schema_record, dbreg_state_package_schema)
 *   cache_registry, cache_noop (version 5): cache.c's, described there
 *   fleet_runs (id, fleet, command, started_at, finished_at, outcome,
 *               interrupted) and fleet_targets (run -> fleet_runs, target,
 *               status, exit_rc, applied, ms, error, at): each fleet run and
 *               what each of its targets did (version 6); the last
 *               STATE_FLEET_RUNS_KEPT runs of each fleet are kept
 *   cache_checks (kind, package, key, findings; PK (kind, package)):
 *               checkcache.c's per-package check results (version 7)
 *   history_digests (target PK, digest): per target, the digest of its
 *               rows of history (state_history_digest), written with them
 *               (version 8)
 *   cache_noop.stamp (version 9): stamp.c's content stamp of the target
 *               the memo was verified on; NULL when none (older files)
 *   cache_fingerprints (target PK, build, fingerprint, n_rows,
 *               n_packages, history, plan): fprint.c's fingerprint memo
 *               (version 10)
 *   runs_open (target, pid PK, command, started_at): a run (of process
 *               pid) with steps to run on target began and has not
 *               recorded its result yet
 *               (dbreg_state_run_begin); a row left behind says the copy of
 *               target's history may be stale (version 11). The file is
 *               marked dbreg's by PRAGMA application_id from version 11 on.
 * Targets are names or redacted URLs; a password never reaches this file. */
#include "dbreg.h"
#include "cache.h"
#include "regdigest.h"
#include "registry.h"
#include "schema.h"
#include "state.h"
#include "target.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Step i brings the schema from version i to i + 1. Steps only ever get
 * appended: a released step never changes. Each step is parenthesised:
 * one SQL text of several literals, not several steps. */
static const char *const state_schema[] = {
	/* 0 -> 1 */
	("CREATE TABLE packages (name TEXT PRIMARY KEY, version TEXT NOT NULL,"
	" manifest_checksum TEXT NOT NULL, registered_at TEXT NOT NULL);"
	"CREATE TABLE migrations (package TEXT NOT NULL REFERENCES packages(name) ON DELETE CASCADE,"
	" id TEXT NOT NULL, version TEXT NOT NULL, checksum_postgres TEXT, checksum_sqlite TEXT,"
	" PRIMARY KEY (package, id));"
	"CREATE TABLE history (target TEXT NOT NULL, package TEXT NOT NULL, migration TEXT NOT NULL,"
	" version TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL,"
	" PRIMARY KEY (target, package, migration));"),
	/* 1 -> 2: run durations, and the event log. */
	("ALTER TABLE history ADD COLUMN duration_ms INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL,"
	" event TEXT NOT NULL, target TEXT, outcome TEXT NOT NULL, detail TEXT);"
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
	" BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
	" BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;"),
	/* 2 -> 3: memo of registries already checked or registered. */
	("CREATE TABLE registry_checks (checksum TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,"
	" PRIMARY KEY (kind, checksum));"),
	/* 3 -> 4: the declared schema of every registered package version
	 * (schema.c's text form), for verify on a target at another version. */
	("CREATE TABLE package_schemas (package TEXT NOT NULL, version TEXT NOT NULL, schema TEXT NOT NULL,"
	" registered_at TEXT NOT NULL, PRIMARY KEY (package, version));"
	/* The registry registered last is recorded again, schemas included. */
	"DELETE FROM registry_checks WHERE kind = 'registered';"),
	/* 4 -> 5: the caches of cache.c (issue 18). */
	("CREATE TABLE cache_registry (project TEXT PRIMARY KEY, build TEXT NOT NULL, files TEXT NOT NULL,"
	" checksum TEXT NOT NULL, at TEXT NOT NULL);"
	"CREATE TABLE cache_noop (target TEXT PRIMARY KEY, build TEXT NOT NULL, registry TEXT NOT NULL,"
	" dialect TEXT NOT NULL, digest TEXT NOT NULL, at TEXT NOT NULL);"),
	/* 5 -> 6: fleet runs, so --resume knows what failed or was not reached. */
	("CREATE TABLE fleet_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, fleet TEXT NOT NULL,"
	" command TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, outcome TEXT NOT NULL,"
	" interrupted INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE fleet_targets (run INTEGER NOT NULL REFERENCES fleet_runs(id) ON DELETE CASCADE,"
	" target TEXT NOT NULL, status TEXT NOT NULL, exit_rc INTEGER NOT NULL DEFAULT 0,"
	" applied INTEGER NOT NULL DEFAULT 0, ms INTEGER NOT NULL DEFAULT 0, error TEXT, at TEXT,"
	" PRIMARY KEY (run, target));"
	"CREATE INDEX fleet_runs_by_fleet ON fleet_runs (fleet, id);"),
	/* 6 -> 7: per-package results of the SQL checks and the replay
	 * (checkcache.c, issue 18), one row per kind and package. */
	("CREATE TABLE cache_checks (kind TEXT NOT NULL, package TEXT NOT NULL, key TEXT NOT NULL,"
	" findings BLOB NOT NULL, PRIMARY KEY (kind, package));"),
	/* 7 -> 8: a digest of each target's stored history, so storing what
	 * was just read (every no-op visit of a fleet) compares one row, not
	 * every row. A target without one is compared row by row once and
	 * gets it then. */
	("CREATE TABLE history_digests (target TEXT PRIMARY KEY, digest TEXT NOT NULL);"),
	/* 8 -> 9: the no-op memo's content stamp (stamp.c, issue 17): a memo
	 * stored before has none, and its target is opened once more. */
	("ALTER TABLE cache_noop ADD COLUMN stamp TEXT;"),
	/* 9 -> 10: the fingerprint memo (fprint.c, issue 17): empty, filled
	 * by the next digest each target's server computes. */
	("CREATE TABLE cache_fingerprints (target TEXT PRIMARY KEY, build TEXT NOT NULL, fingerprint TEXT NOT NULL,"
	" n_rows INTEGER NOT NULL, n_packages INTEGER NOT NULL, history TEXT NOT NULL, plan TEXT NOT NULL);"),
	/* 10 -> 11: the marker of a run that has not recorded its result, and
	 * the file's mark as dbreg's (STATE_APPLICATION_ID, "dbrg"). */
	("CREATE TABLE runs_open (target TEXT NOT NULL, pid INTEGER NOT NULL, command TEXT NOT NULL,"
	" started_at TEXT NOT NULL, PRIMARY KEY (target, pid));"
	"PRAGMA application_id = 1684173415;"),
};
#define STATE_VERSION ((int)(sizeof(state_schema) / sizeof(state_schema[0])))
/* PRAGMA application_id of a state file, "dbrg" (set by step 10 -> 11). */
#define STATE_APPLICATION_ID 0x64627267

struct dbreg_state {
	sqlite3 *db;
	char *path;                    /* as opened, for messages */
	char errmsg[1024];
	bool nested;                   /* the open writer is a savepoint inside a batch (dbreg_state_batch_begin) */
	sqlite3_stmt *put_result;      /* dbreg_state_check_result_put's, kept: two a package per validation */
	sqlite3_stmt *get_history;     /* state_history_query's, kept: a fleet reads one per target */
	sqlite3_stmt *get_digest;      /* state_digest_get's, kept: a fleet compares one per target */
	sqlite3_stmt *has_history;     /* dbreg_state_has_history's, kept: a fleet asks per target */
	sqlite3_stmt *end_run;         /* dbreg_state_run_end's, kept: every history write clears the marker */
};

static char *state_col(sqlite3_stmt *q, int i);

/* Whether SQLite's last error says the file itself is damaged. */
static bool state_damaged(struct dbreg_state *st)
{
	int e = st->db ? sqlite3_errcode(st->db) : SQLITE_OK;
	return e == SQLITE_CORRUPT || e == SQLITE_NOTADB;
}

/* The one message of a file that is not a usable state file, whichever
 * check or read found it: "state file PATH is not usable: WHY; WHAT" (what
 * was done with it: left as it is by the open's checks; a damage found
 * later, after the run may have written pages, stops its use). */
static int state_unusable(char *err, size_t errsize, const char *path, const char *why, const char *what)
{
	snprintf(err, errsize, "state file %s is not usable: %s; %s", path, why, what);
	return DBREG_ESTATE;
}
#define STATE_LEFT "it was left as it is"

static int state_fail(struct dbreg_state *st, int code, const char *what)
{
	/* Damage found by any read or write is said as the open check says it. */
	if (state_damaged(st)) {
		char why[600];
		snprintf(why, sizeof why, "it is damaged (SQLite: %s, while the state file was asked: %s)",
			 sqlite3_errmsg(st->db), what);
		return state_unusable(st->errmsg, sizeof st->errmsg, st->path ? st->path : "", why,
				      "dbreg stopped using it");
	}
	snprintf(st->errmsg, sizeof st->errmsg, "state file: %s: %s", what,
		 st->db ? sqlite3_errmsg(st->db) : "no database");
	return code;
}

static void state_now(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Creates each missing folder of path's parent, mode 0700: the folder
 * holds the only copy of the state and nobody else needs to list it. */
static int state_mkdirs(const char *path)
{
	char *dir = dbreg_strdup(path);
	if (!dir)
		return -1;
	char *slash = strrchr(dir, '/');
	int rc = 0;
	if (slash && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1; *p; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (mkdir(dir, 0700) != 0 && errno != EEXIST)
				rc = -1;
			*p = '/';
		}
		if (rc == 0 && mkdir(dir, 0700) != 0 && errno != EEXIST)
			rc = -1;
	}
	free(dir);
	return rc;
}

static int state_exec(struct dbreg_state *st, const char *sql)
{
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int state_user_version(struct dbreg_state *st, int *v)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(q) == SQLITE_ROW ? 0 : -1;
	*v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return rc;
}

/* ---- what a state file must be (checked before anything is written) ---- */

static uint32_t state_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The checks of the file's first 100 bytes (SQLite's database header):
 * 0 when it is a SQLite database of the size its header says, or empty (a
 * new file); 1 with why when it is not; -1 (errno) when it cannot be read. */
static int state_check_header(int fd, bool wal_frames, char *why, size_t n)
{
	struct stat sb;
	unsigned char h[100];
	if (fstat(fd, &sb) != 0)
		return -1;
	if (sb.st_size == 0)
		return 0;
	ssize_t got = pread(fd, h, sizeof h, 0);
	if (got < 0)
		return -1;
	if (got < (ssize_t)sizeof h || memcmp(h, "SQLite format 3", 16) != 0) {
		snprintf(why, n, "it is not a SQLite database (its first bytes are not SQLite's header)");
		return 1;
	}
	unsigned page = (unsigned)h[16] << 8 | h[17];
	if (page == 1)
		page = 65536;
	if (page < 512 || (page & (page - 1)) != 0) {
		snprintf(why, n, "it is damaged (its header gives a page size of %u)", page);
		return 1;
	}
	/* The page count in the header counts only when its "valid for" is
	 * the change counter (a file written by SQLite 3.7.0 or later), and
	 * only without frames in the WAL: a checkpoint (another run's now, or
	 * one a crash cut short, which the WAL redoes) writes page 1 first, so
	 * the file may be shorter than its header says for a while. */
	uint32_t pages = state_be32(h + 28);
	if (pages && !wal_frames && state_be32(h + 24) == state_be32(h + 92) &&
	    (long long)pages * page > (long long)sb.st_size) {
		snprintf(why, n, "it is truncated (its header says %lld bytes, %u pages of %u; the file has %lld)",
			 (long long)pages * page, (unsigned)pages, page, (long long)sb.st_size);
		return 1;
	}
	return 0;
}

static int state_pragma_int(struct dbreg_state *st, const char *sql, int *v)
{
	sqlite3_stmt *q;
	*v = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(q) == SQLITE_ROW ? 0 : -1;
	*v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return rc;
}

/* Whether the open file is dbreg's, of a schema version this dbreg knows,
 * with the tables of that version (those that state_schema's steps up to it
 * create; no step drops one): 0; 1 with why when not; -1 when SQLite
 * failed otherwise (its message in st->db). Reads the header's fields
 * through SQLite (a -wal file may hold newer ones) and sqlite_schema. */
static int state_check_schema(struct dbreg_state *st, char *why, size_t n)
{
	int app, v;
	if (state_pragma_int(st, "PRAGMA application_id", &app) != 0 || state_user_version(st, &v) != 0)
		goto failed;
	if (app != 0 && (uint32_t)app != STATE_APPLICATION_ID) {
		snprintf(why, n, "it is another program's SQLite database (application_id 0x%08x; a dbreg state file's "
			 "is 0x%08x)", (uint32_t)app, STATE_APPLICATION_ID);
		return 1;
	}
	if (v < 0) {
		snprintf(why, n, "it is damaged, or not dbreg's: its schema version is %d", v);
		return 1;
	}
	if (v > STATE_VERSION) {
		snprintf(why, n, "it was written by a newer dbreg (schema version %d; this dbreg knows versions up to "
			 "%d): run that dbreg", v, STATE_VERSION);
		return 1;
	}
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite!_%'"
			       " ESCAPE '!' ORDER BY name", -1, &q, NULL) != SQLITE_OK)
		goto failed;
	struct dbreg_buf names = DBREG_BUF_INIT;   /* ",a,b," */
	size_t count = 0;
	int step;
	dbreg_buf_puts(&names, ",");
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		dbreg_buf_printf(&names, "%s,", (const char *)sqlite3_column_text(q, 0));
		count++;
	}
	sqlite3_finalize(q);
	int rc = step == SQLITE_DONE ? 0 : -1;
	if (rc == 0 && v == 0 && count > 0) {
		/* Tables without a schema version: never dbreg's (a new file gets
		 * its version in the transaction that makes its tables). */
		size_t len = names.len > 200 ? 200 : names.len - 1;
		snprintf(why, n, "it is a SQLite database without dbreg's schema (schema version 0; tables %.*s%s)",
			 (int)(len - 1), names.ptr + 1, names.len - 1 > len ? "..." : "");
		rc = 1;
	}
	for (int i = 0; rc == 0 && i < v; i++) {
		for (const char *c = strstr(state_schema[i], "CREATE TABLE "); c && rc == 0;
		     c = strstr(c + 1, "CREATE TABLE ")) {
			const char *name = c + strlen("CREATE TABLE ");
			size_t len = strcspn(name, " (");
			char want[80];
			snprintf(want, sizeof want, ",%.*s,", (int)len, name);
			if (!names.ptr || !strstr(names.ptr, want)) {
				snprintf(why, n, "it is damaged, or not dbreg's: its schema version %d has no table %.*s", v,
					 (int)len, name);
				rc = 1;
			}
		}
	}
	dbreg_buf_dispose(&names);
	if (rc >= 0)
		return rc;
failed:
	if (!state_damaged(st))
		return -1;
	snprintf(why, n, "it is damaged (SQLite: %s)", sqlite3_errmsg(st->db));
	return 1;
}

/* Whether path's WAL (its name in wal) holds frames: more than its header. */
static bool state_wal_frames(const char *path, char *wal, size_t size)
{
	struct stat ws;
	return snprintf(wal, size, "%s-wal", path) < (int)size && stat(wal, &ws) == 0 && ws.st_size > 32;
}

/* The header check on the file at path, read through a descriptor of its
 * own that is closed again BEFORE SQLite opens the file: closing any
 * descriptor of a file drops every POSIX lock the process holds on it,
 * SQLite's among them, and another process would then checkpoint and reset
 * a WAL this one still reads (SQLite's "How To Corrupt", 2.2.1). create:
 * make it, 0600 from its first byte whatever the umask (SQLite would make
 * it 0644). 0, or DBREG_ESTATE/DBREG_EIO with the message in err. */
static int state_check_file(const char *path, bool create, char *err, size_t errsize)
{
	/* A device, a FIFO or a folder: SQLite would write its journal beside
	 * it (/dev/null-journal) or wait on the FIFO. */
	struct stat sb;
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
		return state_unusable(err, errsize, path,
				      S_ISDIR(sb.st_mode) ? "it is a folder, not a file" : "it is not a regular file",
				      STATE_LEFT);
	int fd = open(path, create ? O_RDWR | O_CREAT | O_CLOEXEC : O_RDONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errsize, "state file %s: %s", path, strerror(errno));
		return DBREG_EIO;
	}
	char why[600], wal[4096];
	int h = state_check_header(fd, state_wal_frames(path, wal, sizeof wal), why, sizeof why);
	int saved = errno;
	close(fd);
	if (h < 0) {
		snprintf(err, errsize, "state file %s: %s", path, strerror(saved));
		return DBREG_EIO;
	}
	return h ? state_unusable(err, errsize, path, why, STATE_LEFT) : 0;
}

/* The schema check on the file open in st->db: 0, or DBREG_ESTATE/
 * DBREG_EIO with the message in err. */
static int state_check(struct dbreg_state *st, const char *path, char *err, size_t errsize)
{
	char why[600];
	/* One read transaction, so that a run creating the file beside this
	 * one is seen before its steps or after them, never between the
	 * version and the tables it read (version 0 with every table). */
	int c = state_exec(st, "BEGIN") == 0 ? state_check_schema(st, why, sizeof why) : -1;
	if (sqlite3_get_autocommit(st->db) == 0)
		state_exec(st, "COMMIT");
	if (c < 0) {
		snprintf(err, errsize, "state file %s: %s", path, sqlite3_errmsg(st->db));
		return DBREG_EIO;
	}
	return c ? state_unusable(err, errsize, path, why, STATE_LEFT) : 0;
}

/* Brings the schema to STATE_VERSION, each step in its own transaction
 * together with the new user_version, so a crash leaves a valid version. */
static int state_upgrade(struct dbreg_state *st)
{
	int v;
	if (state_exec(st, "BEGIN IMMEDIATE") != 0)
		return state_fail(st, DBREG_EIO, "cannot lock");
	if (state_user_version(st, &v) != 0) {
		state_exec(st, "ROLLBACK");
		return state_fail(st, DBREG_EIO, "cannot read the schema version");
	}
	if (v > STATE_VERSION) {
		state_exec(st, "ROLLBACK");
		snprintf(st->errmsg, sizeof st->errmsg,
			 "state file: schema version %d is newer than this dbreg understands (%d)", v,
			 STATE_VERSION);
		return DBREG_EIO;
	}
	for (; v < STATE_VERSION; v++) {
		char pragma[64];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
		if (state_exec(st, state_schema[v]) != 0 || state_exec(st, pragma) != 0) {
			char what[64];
			snprintf(what, sizeof what, "upgrade to schema version %d failed", v + 1);
			state_fail(st, DBREG_EIO, what);
			state_exec(st, "ROLLBACK");
			return DBREG_EIO;
		}
	}
	if (state_exec(st, "COMMIT") != 0)
		return state_fail(st, DBREG_EIO, "cannot commit the schema");
	return 0;
}

/* Switches a new file to WAL. Two runs that create the state file at the
 * same moment both ask; the switch needs the file to itself and SQLite
 * does not wait for it through the busy handler, so wait here, as long as
 * the busy timeout would. */
static int state_wal(struct dbreg_state *st)
{
	for (int waited_ms = 0;; waited_ms += 10) {
		int rc = sqlite3_exec(st->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waited_ms >= 5000)
			return -1;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

int dbreg_state_open(struct dbreg_state **out, const char *path, char *err, size_t errsize)
{
	*out = NULL;
	struct dbreg_state *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errsize, "out of memory");
		return DBREG_ENOMEM;
	}
	int rc = DBREG_EIO;
	if (state_mkdirs(path) != 0) {
		snprintf(err, errsize, "state file %s: cannot create its folder: %s", path, strerror(errno));
		goto out;
	}
	if ((rc = state_check_file(path, true, err, errsize)) != 0)
		goto out;
	rc = DBREG_EIO;
	if (!(st->path = dbreg_strdup(path))) {
		snprintf(err, errsize, "out of memory");
		rc = DBREG_ENOMEM;
		goto out;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(err, errsize, "state file %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(st->db, 5000);
	/* Before the switch to WAL, which would write another program's file. */
	if ((rc = state_check(st, path, err, errsize)) != 0)
		goto out;
	rc = DBREG_EIO;
	if (state_wal(st) != 0 || state_exec(st, "PRAGMA foreign_keys = ON") != 0) {
		snprintf(err, errsize, "state file %s: %s", path, sqlite3_errmsg(st->db));
		goto out;
	}
	if (state_upgrade(st) != 0) {
		snprintf(err, errsize, "%s (%s)", st->errmsg, path);
		goto out;
	}
	rc = 0;
out:
	if (rc == 0)
		*out = st;
	else
		dbreg_state_close(st);
	return rc;
}

void dbreg_state_close(struct dbreg_state *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->put_result);
	sqlite3_finalize(st->get_history);
	sqlite3_finalize(st->get_digest);
	sqlite3_finalize(st->has_history);
	sqlite3_finalize(st->end_run);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

const char *dbreg_state_errmsg(const struct dbreg_state *st)
{
	return st ? st->errmsg : "";
}

const char *dbreg_state_path(const struct dbreg_state *st)
{
	return st && st->path ? st->path : "";
}

sqlite3 *dbreg_state_db(struct dbreg_state *st)
{
	return st ? st->db : NULL;
}

/* Binds a string or NULL. */
static int state_bind(sqlite3_stmt *q, int i, const char *s)
{
	return s ? sqlite3_bind_text(q, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(q, i);
}

/* Runs the one-row write q and finalizes it; 0, or DBREG_EIO with the
 * message "what" and SQLite's, taken before the finalize. */
static int state_step_once(struct dbreg_state *st, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : state_fail(st, DBREG_EIO, what);
	sqlite3_finalize(q);
	return rc;
}

/* Starts a writer: BEGIN IMMEDIATE, or a savepoint when a batch is open. */
static int state_begin(struct dbreg_state *st)
{
	st->nested = !sqlite3_get_autocommit(st->db);
	return state_exec(st, st->nested ? "SAVEPOINT state_writer" : "BEGIN IMMEDIATE");
}

/* Ends a writer: commit when rc is 0, else roll back and keep rc. */
static int state_finish(struct dbreg_state *st, int rc, const char *what)
{
	if (st->nested) {
		st->nested = false;
		if (rc == 0 && state_exec(st, "RELEASE state_writer") == 0)
			return 0;
		if (rc == 0)
			rc = state_fail(st, DBREG_EIO, what);
		state_exec(st, "ROLLBACK TO state_writer");
		state_exec(st, "RELEASE state_writer");
		return rc;
	}
	if (rc == 0 && state_exec(st, "COMMIT") == 0)
		return 0;
	if (rc == 0)
		rc = state_fail(st, DBREG_EIO, what);
	state_exec(st, "ROLLBACK");
	return rc;
}

/* Whether registry_checks holds (kind, checksum). */
static bool state_checked(struct dbreg_state *st, const char *kind, const char *checksum)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM registry_checks WHERE kind = ?1 AND checksum = ?2", -1, &q,
			       NULL) != SQLITE_OK)
		return false;
	state_bind(q, 1, kind);
	state_bind(q, 2, checksum);
	bool found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return found;
}

/* Records (kind, checksum); 'registered' keeps only the latest one. */
static int state_set_checked(struct dbreg_state *st, const char *kind, const char *checksum)
{
	char now[32];
	state_now(now);
	sqlite3_stmt *q;
	if (strcmp(kind, "registered") == 0 &&
	    state_exec(st, "DELETE FROM registry_checks WHERE kind = 'registered'") != 0)
		return state_fail(st, DBREG_EIO, "cannot record the registry");
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO registry_checks (checksum, kind, at) VALUES (?1, ?2, ?3)",
			       -1, &q, NULL) != SQLITE_OK)
		return state_fail(st, DBREG_EIO, "cannot record the registry");
	state_bind(q, 1, checksum);
	state_bind(q, 2, kind);
	state_bind(q, 3, now);
	return state_step_once(st, q, "cannot record the registry");
}

bool dbreg_state_validated(struct dbreg_state *st, const char *registry_checksum)
{
	return st && registry_checksum && state_checked(st, "validated", registry_checksum);
}

int dbreg_state_set_validated(struct dbreg_state *st, const char *registry_checksum)
{
	if (!st || !registry_checksum)
		return DBREG_EUSAGE;
	return state_set_checked(st, "validated", registry_checksum);
}

/* Records the declared tables of every registered package version
 * (package_schemas), inside the registration's transaction. */
static int state_schema_record(struct dbreg_state *st, const struct dbreg_registry *reg, const char *now)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO package_schemas (package, version, schema, registered_at) VALUES (?1, ?2, ?3, ?4)"
			       " ON CONFLICT (package, version) DO UPDATE SET schema = ?3, registered_at = ?4"
			       " WHERE schema <> ?3",
			       -1, &q, NULL) != SQLITE_OK)
		return state_fail(st, DBREG_EIO, "cannot prepare");
	int rc = 0;
	for (size_t i = 0; i < reg->n_packages && rc == 0; i++) {
		const struct dbreg_package *p = reg->packages[i];
		if (!p->name || !p->version_text)
			continue;
		struct dbreg_schema *s = NULL;
		struct dbreg_buf text = DBREG_BUF_INIT;
		rc = dbreg_schema_new(&s, DBREG_SCHEMA_DECLARED, DBREG_DIALECT_POSTGRES);
		if (rc == 0)
			rc = dbreg_schema_add_package(s, p);
		if (rc == 0)
			rc = dbreg_schema_write(&text, s);
		if (rc == 0) {
			sqlite3_reset(q);
			state_bind(q, 1, p->name);
			state_bind(q, 2, p->version_text);
			sqlite3_bind_text(q, 3, text.ptr ? text.ptr : "", (int)text.len, SQLITE_TRANSIENT);
			state_bind(q, 4, now);
			if (sqlite3_step(q) != SQLITE_DONE)
				rc = state_fail(st, DBREG_EIO, "cannot record a package's schema");
		}
		dbreg_buf_dispose(&text);
		dbreg_schema_free(s);
	}
	sqlite3_finalize(q);
	return rc;
}

int dbreg_state_package_schema(struct dbreg_state *st, const char *package, const char *version, char **text)
{
	*text = NULL;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db, "SELECT schema FROM package_schemas WHERE package = ?1 AND version = ?2", -1, &q,
			       NULL) != SQLITE_OK)
		return state_fail(st, DBREG_EIO, "cannot read the recorded schemas");
	state_bind(q, 1, package);
	state_bind(q, 2, version);
	int rc = 1, step = sqlite3_step(q);
	if (step == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(q, 0);
		rc = (*text = dbreg_strdup(v ? (const char *)v : "")) ? 0 : DBREG_ENOMEM;
	} else if (step != SQLITE_DONE) {
		rc = state_fail(st, DBREG_EIO, "cannot read the recorded schemas");
	}
	sqlite3_finalize(q);
	return rc;
}

int dbreg_state_register(struct dbreg_state *st, const struct dbreg_registry *reg)
{
	if (!st || !reg)
		return DBREG_EUSAGE;
	char now[32], sum[72];
	state_now(now);
	/* Rewriting every migration row of a large registry costs ~200 ms:
	 * skip it when the registry is the one registered last. */
	dbreg_registry_checksum(reg, sum);
	if (state_checked(st, "registered", sum))
		return 0;
	sqlite3_stmt *pk = NULL, *del = NULL, *mig = NULL;
	if (state_begin(st) != 0)
		return state_fail(st, DBREG_EIO, "cannot lock");
	int rc = 0;
	/* registered_at changes only when the version or manifest does. */
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO packages (name, version, manifest_checksum, registered_at) VALUES (?1, ?2, ?3, ?4)"
			       " ON CONFLICT (name) DO UPDATE SET version = ?2, manifest_checksum = ?3, registered_at = ?4"
			       " WHERE version <> ?2 OR manifest_checksum <> ?3",
			       -1, &pk, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "DELETE FROM migrations WHERE package = ?1", -1, &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db,
			       "INSERT INTO migrations (package, id, version, checksum_postgres, checksum_sqlite)"
			       " VALUES (?1, ?2, ?3, ?4, ?5)",
			       -1, &mig, NULL) != SQLITE_OK) {
		rc = state_fail(st, DBREG_EIO, "cannot prepare");
		goto out;
	}
	for (size_t i = 0; i < reg->n_packages && rc == 0; i++) {
		const struct dbreg_package *p = reg->packages[i];
		if (!p->name || !p->version_text)
			continue;
		sqlite3_reset(pk);
		state_bind(pk, 1, p->name);
		state_bind(pk, 2, p->version_text);
		state_bind(pk, 3, p->manifest_sha256);
		state_bind(pk, 4, now);
		sqlite3_reset(del);
		state_bind(del, 1, p->name);
		if (sqlite3_step(pk) != SQLITE_DONE || sqlite3_step(del) != SQLITE_DONE) {
			rc = state_fail(st, DBREG_EIO, "cannot record a package");
			break;
		}
		for (size_t k = 0; k < p->n_migrations; k++) {
			const struct dbreg_migration *m = &p->migrations[k];
			if (!m->id)
				continue;
			char sums[2][72];
			const enum dbreg_dialect dl[2] = { DBREG_DIALECT_POSTGRES, DBREG_DIALECT_SQLITE };
			sqlite3_reset(mig);
			state_bind(mig, 1, p->name);
			state_bind(mig, 2, m->id);
			state_bind(mig, 3, m->version_text ? m->version_text : "");
			for (int d = 0; d < 2; d++) {
				const struct dbreg_sql *b = dbreg_migration_body(m, dl[d], true);
				if (b)
					dbreg_sql_checksum(b->text, b->len, sums[d]);
				state_bind(mig, 4 + d, b ? sums[d] : NULL);
			}
			/* A duplicate id is a DBR040 finding elsewhere; keep the first. */
			int s = sqlite3_step(mig);
			if (s != SQLITE_DONE && s != SQLITE_CONSTRAINT) {
				rc = state_fail(st, DBREG_EIO, "cannot record a migration");
				break;
			}
		}
	}
	if (rc == 0)
		rc = state_schema_record(st, reg, now);
	if (rc == 0)
		rc = state_set_checked(st, "registered", sum);
out:
	sqlite3_finalize(pk);
	sqlite3_finalize(del);
	sqlite3_finalize(mig);
	return state_finish(st, rc, "cannot commit the registration");
}

/* Targets are stored by their database's key (cli.md: one per database,
 * whatever the spelling), which never holds a password. */
static char *state_target(const char *target)
{
	return dbreg_target_key(target ? target : "");
}

/* state_target for a read of what is stored: when no key can be made, the
 * stored history cannot be found, and saying "nothing applied" would be a
 * wrong answer. */
static int state_target_of(struct dbreg_state *st, const char *target, char **t)
{
	if ((*t = state_target(target)))
		return 0;
	if (errno != ELIBACC)
		return DBREG_ENOMEM;
	/* What the driver lacks, in its words, and its advice for it. */
	const char *lacks = dbreg_target_lacks(target);
	bool transient;
	const char *advice = lacks ? dbreg_target_connect_advice(target, lacks, &transient) : NULL;
	char why[900];
	dbreg_target_error_line(why, sizeof why, lacks ? lacks : "its driver cannot read the URL", NULL, NULL, advice);
	char *shown = dbreg_url_redact(target ? target : "");
	snprintf(st->errmsg, sizeof st->errmsg,
		 "state file: cannot tell which database %s is, so its stored history cannot be found: %s",
		 shown ? shown : "the target", why);
	free(shown);
	return DBREG_ECONNECT;
}

/* The stored history of target key t, in its order, ready to step; given
 * back with state_history_done. NULL when it cannot be prepared. */
static sqlite3_stmt *state_history_query(struct dbreg_state *st, const char *t)
{
	if (!st->get_history &&
	    sqlite3_prepare_v3(st->db,
			       "SELECT package, migration, version, checksum, applied_at, duration_ms"
			       " FROM history WHERE target = ?1 ORDER BY rowid",
			       -1, SQLITE_PREPARE_PERSISTENT, &st->get_history, NULL) != SQLITE_OK) {
		st->get_history = NULL;
		return NULL;
	}
	state_bind(st->get_history, 1, t);
	return st->get_history;
}

static void state_history_done(sqlite3_stmt *q)
{
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
}

/* Whether the stored history of target t is exactly rows[0..n), in order.
 * A no-op apply stores what it just read, twice: comparing is a read of
 * the rows, rewriting them a delete and n inserts. */
static bool state_history_same(struct dbreg_state *st, const char *t, const struct dbreg_applied *rows, size_t n)
{
	sqlite3_stmt *q = state_history_query(st, t);
	if (!q)
		return false;
	size_t i = 0;
	bool same = true;
	while (same && sqlite3_step(q) == SQLITE_ROW) {
		if (i == n) {
			same = false;
			break;
		}
		const struct dbreg_applied *r = &rows[i++];
		const char *want[5] = { r->package, r->migration, r->version, r->checksum, r->applied_at };
		for (int c = 0; c < 5 && same; c++) {
			const unsigned char *got = sqlite3_column_text(q, c);
			same = strcmp(got ? (const char *)got : "", want[c] ? want[c] : "") == 0;
		}
		if (same)
			same = sqlite3_column_int64(q, 5) == r->duration_ms;
	}
	state_history_done(q);
	return same && i == n;
}

/* The digest of a history's rows, every column, in their order
 * (regdigest.c's history digest: what a driver computes without reading
 * them, so a fleet compares it with the copy's). */
static int state_history_digest(const struct dbreg_applied *rows, size_t n, char out[72])
{
	struct dbreg_registry_digest d;
	if (dbreg_regdigest_of(&d, rows, n, NULL, NULL, 0) != 0)
		return DBREG_ENOMEM;
	memcpy(out, d.history, 72);
	return 0;
}

/* Whether target t's stored digest is digest: 1 yes, 0 another, -1 none
 * stored (a state file from before version 8, or a failed read). */
static int state_digest_is(struct dbreg_state *st, const char *t, const char *digest)
{
	if (!st->get_digest &&
	    sqlite3_prepare_v3(st->db, "SELECT digest FROM history_digests WHERE target = ?1", -1,
			       SQLITE_PREPARE_PERSISTENT, &st->get_digest, NULL) != SQLITE_OK) {
		st->get_digest = NULL;
		return -1;
	}
	state_bind(st->get_digest, 1, t);
	int is = -1;
	if (sqlite3_step(st->get_digest) == SQLITE_ROW) {
		const unsigned char *d = sqlite3_column_text(st->get_digest, 0);
		is = d && strcmp((const char *)d, digest) == 0;
	}
	sqlite3_reset(st->get_digest);
	sqlite3_clear_bindings(st->get_digest);
	return is;
}

static int state_digest_put(struct dbreg_state *st, const char *t, const char *digest)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO history_digests (target, digest) VALUES (?1, ?2)", -1, &q,
			       NULL) != SQLITE_OK)
		return state_fail(st, DBREG_EIO, "cannot record the history");
	state_bind(q, 1, t);
	state_bind(q, 2, digest);
	return state_step_once(st, q, "cannot record the history");
}

/* Drops target t's row of cache_noop. */
static int state_forget_noop(struct dbreg_state *st, const char *t)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db, "DELETE FROM cache_noop WHERE target = ?1", -1, &q, NULL) != SQLITE_OK)
		return -1;
	state_bind(q, 1, t);
	int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(q);
	return rc;
}

/* ---- runs that have not recorded their result (runs_open) ------------- */

/* SQL dbreg_alive(pid): whether a process of that id runs on this host
 * (the state file is local: its runs are this host's). */
static void state_alive(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	sqlite3_int64 pid = sqlite3_value_int64(argv[0]);
	sqlite3_result_int(ctx, pid > 0 && pid == (pid_t)pid && (kill((pid_t)pid, 0) == 0 || errno != ESRCH));
}

/* Drops target t's markers that a history write just made true, in the
 * caller's transaction: this process's own, and those of runs whose
 * process is gone (what they committed is in the history just read). A
 * live run's stays until it records its result itself: a run beside it
 * (one that waited for the lock and gave up, a --refresh) must not take
 * away the mark that says it may commit without a record. A statement
 * kept: every history write runs it, for a fleet one per target; a DELETE
 * of no row changes no page, so a run without a marker writes nothing. */
static int state_run_clear(struct dbreg_state *st, const char *t)
{
	if (!st->end_run &&
	    (sqlite3_create_function(st->db, "dbreg_alive", 1, SQLITE_UTF8, NULL, state_alive, NULL, NULL) != SQLITE_OK ||
	     sqlite3_prepare_v3(st->db, "DELETE FROM runs_open WHERE target = ?1 AND (pid = ?2 OR NOT dbreg_alive(pid))", -1,
				SQLITE_PREPARE_PERSISTENT, &st->end_run, NULL) != SQLITE_OK)) {
		st->end_run = NULL;
		return state_fail(st, DBREG_EIO, "cannot clear the mark of a run");
	}
	state_bind(st->end_run, 1, t);
	sqlite3_bind_int64(st->end_run, 2, (sqlite3_int64)getpid());
	int rc = sqlite3_step(st->end_run) == SQLITE_DONE ? 0 : state_fail(st, DBREG_EIO, "cannot clear the mark of a run");
	sqlite3_reset(st->end_run);
	sqlite3_clear_bindings(st->end_run);
	return rc;
}

int dbreg_state_run_begin(struct dbreg_state *st, const char *target, const char *command)
{
	if (!st || !command)
		return DBREG_EUSAGE;
	if (dbreg_target_is_memory(target))
		return 0;   /* no copy of its history is kept */
	char *t, now[32];
	int rc = state_target_of(st, target, &t);
	if (rc != 0)
		return rc;
	state_now(now);
	sqlite3_stmt *q = NULL;
	if (state_begin(st) != 0) {
		free(t);
		return state_fail(st, DBREG_EIO, "cannot lock");
	}
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO runs_open (target, command, started_at, pid)"
			       " VALUES (?1, ?2, ?3, ?4)", -1, &q, NULL) != SQLITE_OK) {   /* this process's row */
		rc = state_fail(st, DBREG_EIO, "cannot mark the run");
	} else {
		state_bind(q, 1, t);
		state_bind(q, 2, command);
		state_bind(q, 3, now);
		sqlite3_bind_int64(q, 4, (sqlite3_int64)getpid());
		rc = state_step_once(st, q, "cannot mark the run");
	}
	free(t);
	return state_finish(st, rc, "cannot commit the mark of the run");
}

int dbreg_state_run_end(struct dbreg_state *st, const char *target)
{
	if (!st)
		return DBREG_EUSAGE;
	if (dbreg_target_is_memory(target))
		return 0;
	char *t;
	int rc = state_target_of(st, target, &t);
	if (rc != 0)
		return rc;
	if (state_begin(st) != 0) {
		free(t);
		return state_fail(st, DBREG_EIO, "cannot lock");
	}
	rc = state_run_clear(st, t);
	free(t);
	return state_finish(st, rc, "cannot commit the end of the run");
}

int dbreg_state_run_left(struct dbreg_state *st, const char *target, char **command, char **started_at)
{
	*command = *started_at = NULL;
	if (!st || dbreg_target_is_memory(target))
		return 0;
	char *t = state_target(target);
	if (!t)
		return 0;   /* no key, no copy: state_target_of says so where it is read */
	sqlite3_stmt *q = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT command, started_at FROM runs_open WHERE target = ?1 ORDER BY started_at",
			       -1, &q, NULL) !=
	    SQLITE_OK) {
		free(t);
		/* A read-only file of an older dbreg has no such table: no marker. */
		return sqlite3_errcode(st->db) == SQLITE_ERROR ? 0 : state_fail(st, DBREG_EIO, "cannot read the marks of runs");
	}
	state_bind(q, 1, t);
	int step = sqlite3_step(q);
	if (step == SQLITE_ROW) {
		*command = state_col(q, 0);
		*started_at = state_col(q, 1);
		rc = *command && *started_at ? 1 : DBREG_ENOMEM;
	} else if (step != SQLITE_DONE) {
		rc = state_fail(st, DBREG_EIO, "cannot read the marks of runs");
	}
	sqlite3_finalize(q);
	free(t);
	return rc;
}

size_t dbreg_state_runs_open(struct dbreg_state *st)
{
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	if (st && sqlite3_prepare_v2(st->db, "SELECT count(*) FROM runs_open", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		n = (size_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

int dbreg_state_set_history(struct dbreg_state *st, const char *target, const struct dbreg_applied *rows,
			    size_t n)
{
	if (!st)
		return DBREG_EUSAGE;
	/* Gone with its connection: a copy would make the next plan skip
	 * what the next run, on a new empty database, has to run. */
	if (dbreg_target_is_memory(target))
		return 0;
	char *t;
	int krc = state_target_of(st, target, &t);
	if (krc != 0)
		return krc;
	sqlite3_stmt *del = NULL, *ins = NULL;
	int rc = 0;
	char digest[72];
	if (state_history_digest(rows, n, digest) != 0) {
		free(t);
		return DBREG_ENOMEM;
	}
	if (state_begin(st) != 0) {
		free(t);
		return state_fail(st, DBREG_EIO, "cannot lock");
	}
	/* The copy is the target's history now: no run's marker stands. */
	if ((rc = state_run_clear(st, t)) != 0)
		goto out;
	/* The same rows as stored (a no-op apply stores what it just read):
	 * nothing written. Told by the digest; else the rows are compared
	 * before they are rewritten (a read, not n deletes and n inserts), so
	 * a copy stored before digests were, or with a digest in an older
	 * build's bytes, only gets its digest written, once. */
	int same = state_digest_is(st, t, digest);
	if (same == 1)
		goto out;
	if (state_history_same(st, t, rows, n)) {
		rc = state_digest_put(st, t, digest);
		goto out;
	}
	if (sqlite3_prepare_v2(st->db, "DELETE FROM history WHERE target = ?1", -1, &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db,
			       "INSERT OR REPLACE INTO history (target, package, migration, version, checksum,"
			       " applied_at, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			       -1, &ins, NULL) != SQLITE_OK) {
		rc = state_fail(st, DBREG_EIO, "cannot prepare");
		goto out;
	}
	state_bind(del, 1, t);
	if (sqlite3_step(del) != SQLITE_DONE) {
		rc = state_fail(st, DBREG_EIO, "cannot replace the history");
		goto out;
	}
	/* cache.c's no-op memo vouches for the copy it was stored with. */
	if (state_forget_noop(st, t) != 0) {
		rc = state_fail(st, DBREG_EIO, "cannot replace the history");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct dbreg_applied *r = &rows[i];
		sqlite3_reset(ins);
		state_bind(ins, 1, t);
		state_bind(ins, 2, r->package ? r->package : "");
		state_bind(ins, 3, r->migration ? r->migration : "");
		state_bind(ins, 4, r->version ? r->version : "");
		state_bind(ins, 5, r->checksum ? r->checksum : "");
		state_bind(ins, 6, r->applied_at ? r->applied_at : "");
		sqlite3_bind_int64(ins, 7, r->duration_ms);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			rc = state_fail(st, DBREG_EIO, "cannot record the history");
			goto out;
		}
	}
	rc = state_digest_put(st, t, digest);
out:
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	free(t);
	return state_finish(st, rc, "cannot commit the history");
}

static char *state_col(sqlite3_stmt *q, int i)
{
	const unsigned char *s = sqlite3_column_text(q, i);
	return dbreg_strdup(s ? (const char *)s : "");
}

void dbreg_applied_free(struct dbreg_applied *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].package);
		free(rows[i].migration);
		free(rows[i].version);
		free(rows[i].checksum);
		free(rows[i].applied_at);
	}
	free(rows);
}

int dbreg_state_get_history(struct dbreg_state *st, const char *target, struct dbreg_applied **rows,
			    size_t *n)
{
	*rows = NULL;
	*n = 0;
	if (!st)
		return DBREG_EUSAGE;
	if (dbreg_target_is_memory(target))
		return 0;   /* every run's is a new, empty database */
	char *t;
	int krc = state_target_of(st, target, &t);
	if (krc != 0)
		return krc;
	sqlite3_stmt *q = state_history_query(st, t);
	if (!q) {
		free(t);
		return state_fail(st, DBREG_EIO, "cannot read the history");
	}
	struct dbreg_applied *v = NULL;
	size_t len = 0, cap = 0;
	int rc = 0, s;
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct dbreg_applied *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				rc = DBREG_ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		struct dbreg_applied *r = &v[len++];
		r->package = state_col(q, 0);
		r->migration = state_col(q, 1);
		r->version = state_col(q, 2);
		r->checksum = state_col(q, 3);
		r->applied_at = state_col(q, 4);
		r->duration_ms = sqlite3_column_int64(q, 5);
		if (!r->package || !r->migration || !r->version || !r->checksum || !r->applied_at) {
			rc = DBREG_ENOMEM;
			break;
		}
	}
	if (rc == 0 && s != SQLITE_DONE)
		rc = state_fail(st, DBREG_EIO, "cannot read the history");
	state_history_done(q);
	free(t);
	if (rc != 0) {
		dbreg_applied_free(v, len);
		return rc;
	}
	*rows = v;
	*n = len;
	return 0;
}

/* Who runs dbreg: $USER, else the password database, else the uid. */
static void state_who(char *buf, size_t size)
{
	const char *u = getenv("USER");
	if (u && *u) {
		snprintf(buf, size, "%s", u);
		return;
	}
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_name)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "uid %ld", (long)getuid());
}

int dbreg_state_log(struct dbreg_state *st, const char *event, const char *target, const char *outcome,
		    const char *detail)
{
	if (!st || !event)
		return DBREG_EUSAGE;
	char now[32], who[128];
	state_now(now);
	state_who(who, sizeof who);
	/* The log says which target as it was named (redacted), not its key. */
	char *t = target ? dbreg_url_redact(target) : NULL;
	if (target && !t)
		return DBREG_ENOMEM;
	sqlite3_stmt *q;
	int rc = 0;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO events (at, who, event, target, outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			       -1, &q, NULL) != SQLITE_OK) {
		free(t);
		return state_fail(st, DBREG_EIO, "cannot log");
	}
	state_bind(q, 1, now);
	state_bind(q, 2, who);
	state_bind(q, 3, event);
	state_bind(q, 4, t);
	state_bind(q, 5, outcome ? outcome : "");
	state_bind(q, 6, detail);
	/* One statement is its own transaction: the log needs no BEGIN. */
	if (sqlite3_step(q) != SQLITE_DONE)
		rc = state_fail(st, DBREG_EIO, "cannot log");
	sqlite3_finalize(q);
	free(t);
	return rc;
}

/* ---- read-only state files and targets never seen (issue 13) ---------- */

int dbreg_state_open_readonly(struct dbreg_state **out, const char *path, char *err, size_t errsize)
{
	*out = NULL;
	struct stat sb;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errsize, "state file %s: %s", path, errno ? strerror(errno) : "not a regular file");
		return DBREG_EIO;
	}
	struct dbreg_state *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errsize, "out of memory");
		return DBREG_ENOMEM;
	}
	/* immutable=1: no locks and no -wal/-shm files, which a read-only
	 * folder could not hold; nothing writes through this handle. */
	char *uri = dbreg_printf("file:%s?immutable=1", path);
	int rc = DBREG_EIO;
	if (!uri) {
		snprintf(err, errsize, "out of memory");
		rc = DBREG_ENOMEM;
		goto out;
	}
	if (!(st->path = dbreg_strdup(path))) {
		snprintf(err, errsize, "out of memory");
		rc = DBREG_ENOMEM;
		goto out;
	}
	if ((rc = state_check_file(path, false, err, errsize)) != 0)
		goto out;
	rc = DBREG_EIO;
	/* immutable=1 reads the file alone: commits still in its WAL (a
	 * writer killed while another connection held off the checkpoint)
	 * would be missing from every answer, without a word. */
	char wal[4096];
	if (state_wal_frames(path, wal, sizeof wal)) {
		snprintf(err, errsize,
			 "state file %s: its last changes are in %s, which a read-only open cannot read (SQLite needs "
			 "to write beside it to read them); give this user write access to its folder, or name another "
			 "state file with --state PATH (or DBREG_STATE)",
			 path, wal);
		goto out;
	}
	if (sqlite3_open_v2(uri, &st->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
		snprintf(err, errsize, "state file %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
		goto out;
	}
	rc = state_check(st, path, err, errsize);
out:
	free(uri);
	if (rc == 0)
		*out = st;
	else
		dbreg_state_close(st);
	return rc;
}

bool dbreg_state_target_seen(struct dbreg_state *st, const char *target)
{
	if (!st)
		return false;
	/* Known without a look: empty. */
	if (dbreg_target_is_memory(target))
		return true;
	/* History, or a "seen" event (dbreg_state_mark_seen), by the database's
	 * key: not by the name it was shown as, which another folder's
	 * "sqlite:ydtb.db" shares. */
	char *t = state_target(target);
	sqlite3_stmt *q;
	bool seen = false;
	if (t && sqlite3_prepare_v2(st->db,
				    "SELECT EXISTS (SELECT 1 FROM history WHERE target = ?1)"
				    " OR EXISTS (SELECT 1 FROM events WHERE event = 'seen' AND detail = ?1)",
				    -1, &q, NULL) == SQLITE_OK) {
		state_bind(q, 1, t);
		seen = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
	}
	free(t);
	return seen;
}

int dbreg_state_mark_seen(struct dbreg_state *st, const char *target)
{
	if (dbreg_state_target_seen(st, target))
		return 0;
	char *t = state_target(target), *shown = dbreg_url_redact(target ? target : "");
	int rc = t && shown ? dbreg_state_log(st, "seen", shown, "ok", t) : DBREG_ENOMEM;
	free(t);
	free(shown);
	return rc;
}

bool dbreg_state_history_is(struct dbreg_state *st, const char *target, const char *digest)
{
	char *t = st && digest ? state_target(target) : NULL;
	bool is = t && state_digest_is(st, t, digest) == 1;
	free(t);
	return is;
}

size_t dbreg_state_history_rows(struct dbreg_state *st, const char *target)
{
	char *t = st ? state_target(target) : NULL;
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	if (t && sqlite3_prepare_v2(st->db, "SELECT count(*) FROM history WHERE target = ?1", -1, &q, NULL) == SQLITE_OK) {
		state_bind(q, 1, t);
		if (sqlite3_step(q) == SQLITE_ROW)
			n = (size_t)sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	free(t);
	return n;
}

bool dbreg_state_has_history(struct dbreg_state *st, const char *target)
{
	char *t = st ? state_target(target) : NULL;
	if (!t)
		return false;
	if (!st->has_history &&
	    sqlite3_prepare_v3(st->db, "SELECT EXISTS (SELECT 1 FROM history WHERE target = ?1)", -1,
			       SQLITE_PREPARE_PERSISTENT, &st->has_history, NULL) != SQLITE_OK) {
		st->has_history = NULL;
		free(t);
		return false;
	}
	state_bind(st->has_history, 1, t);
	bool has = sqlite3_step(st->has_history) == SQLITE_ROW && sqlite3_column_int(st->has_history, 0);
	sqlite3_reset(st->has_history);
	sqlite3_clear_bindings(st->has_history);
	free(t);
	return has;
}

/* ---- fleet runs (issue 17) ------------------------------------------------- */

/* The runs of a fleet kept: --resume and status --fleet read only the
 * last (a resumed run records what it skipped with the record of the run
 * that did it, so the last run alone says what is left); a few before it stay for whoever looks
 * into the file after a bad day (which run failed where, and when). Every
 * run adds a row per target, so without a bound a fleet of 250 targets
 * run hourly grows by 2 million rows a year; 10 runs of 250 targets are
 * 2,500 rows. */
#define STATE_FLEET_RUNS_KEPT 10

/* Drops the runs of fleet older than its last STATE_FLEET_RUNS_KEPT, with
 * their targets' rows; in the caller's transaction. A run still going
 * that STATE_FLEET_RUNS_KEPT later runs of its fleet overtook loses its
 * record: its later target updates find no row, which is no error. */
static int state_fleet_prune(struct dbreg_state *st, const char *fleet)
{
	static const char *const sql[] = {
		"DELETE FROM fleet_targets WHERE run IN (SELECT id FROM fleet_runs WHERE fleet = ?1 AND id <="
		" (SELECT id FROM fleet_runs WHERE fleet = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2))",
		"DELETE FROM fleet_runs WHERE fleet = ?1 AND id <="
		" (SELECT id FROM fleet_runs WHERE fleet = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
	};
	for (size_t i = 0; i < sizeof sql / sizeof *sql; i++) {
		sqlite3_stmt *q;
		if (sqlite3_prepare_v2(st->db, sql[i], -1, &q, NULL) != SQLITE_OK)
			return state_fail(st, DBREG_EIO, "cannot drop the old fleet runs");
		state_bind(q, 1, fleet);
		sqlite3_bind_int(q, 2, STATE_FLEET_RUNS_KEPT);
		int rc = state_step_once(st, q, "cannot drop the old fleet runs");
		if (rc != 0)
			return rc;
	}
	return 0;
}

int dbreg_state_fleet_begin(struct dbreg_state *st, const char *fleet, const char *command,
			    const char *const *targets, const char *const *status, size_t n, long long *run)
{
	char now[32];
	state_now(now);
	*run = 0;
	if (state_begin(st) != 0)
		return state_fail(st, DBREG_EIO, "cannot lock");
	sqlite3_stmt *q = NULL, *carry = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO fleet_runs (fleet, command, started_at, outcome)"
			       " VALUES (?1, ?2, ?3, 'running')", -1, &q, NULL) != SQLITE_OK) {
		rc = state_fail(st, DBREG_EIO, "cannot record the fleet run");
		goto out;
	}
	state_bind(q, 1, fleet);
	state_bind(q, 2, command);
	state_bind(q, 3, now);
	if (sqlite3_step(q) != SQLITE_DONE) {
		rc = state_fail(st, DBREG_EIO, "cannot record the fleet run");
		goto out;
	}
	*run = sqlite3_last_insert_rowid(st->db);
	sqlite3_finalize(q);
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO fleet_targets (run, target, status) VALUES (?1, ?2, ?3)",
			       -1, &q, NULL) != SQLITE_OK) {
		q = NULL;
		rc = state_fail(st, DBREG_EIO, "cannot record the fleet run");
		goto out;
	}
	/* A target a resumed run leaves alone keeps the record of the run
	 * that did it (its outcome, when, what it applied): the last run
	 * then still says what each target got and when, however many
	 * resumes with nothing left came after (audit aeng 11). */
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO fleet_targets (run, target, status, exit_rc, applied,"
			       " ms, error, at) SELECT ?1, ?2, p.status, p.exit_rc, p.applied, p.ms, p.error, p.at"
			       " FROM fleet_targets p WHERE p.target = ?2 AND p.status = 'ok' AND p.run ="
			       " (SELECT max(id) FROM fleet_runs WHERE fleet = ?3 AND id < ?1)", -1, &carry,
			       NULL) != SQLITE_OK) {
		rc = state_fail(st, DBREG_EIO, "cannot record the fleet run");
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool carried = false;
		if (strcmp(status[i], "done_before") == 0) {
			sqlite3_reset(carry);
			sqlite3_bind_int64(carry, 1, *run);
			state_bind(carry, 2, targets[i]);
			state_bind(carry, 3, fleet);
			if (sqlite3_step(carry) != SQLITE_DONE)
				rc = state_fail(st, DBREG_EIO, "cannot record the fleet run");
			carried = sqlite3_changes(st->db) > 0;
		}
		if (rc != 0 || carried)
			continue;
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, *run);
		state_bind(q, 2, targets[i]);
		state_bind(q, 3, status[i]);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = state_fail(st, DBREG_EIO, "cannot record the fleet run");
	}
	if (rc == 0)
		rc = state_fleet_prune(st, fleet);
out:
	sqlite3_finalize(carry);
	sqlite3_finalize(q);
	return state_finish(st, rc, "cannot commit the fleet run");
}

int dbreg_state_fleet_target(struct dbreg_state *st, long long run, const char *target, const char *status,
			     int rc_target, size_t applied, long long ms, const char *error)
{
	char now[32];
	state_now(now);
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "UPDATE fleet_targets SET status = ?3, exit_rc = ?4, applied = ?5, ms = ?6,"
			       " error = ?7, at = ?8 WHERE run = ?1 AND target = ?2", -1, &q, NULL) != SQLITE_OK)
		return state_fail(st, DBREG_EIO, "cannot record a fleet target");
	sqlite3_bind_int64(q, 1, run);
	state_bind(q, 2, target);
	state_bind(q, 3, status);
	sqlite3_bind_int(q, 4, rc_target);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)applied);
	sqlite3_bind_int64(q, 6, ms);
	state_bind(q, 7, error);
	state_bind(q, 8, now);
	return state_step_once(st, q, "cannot record a fleet target");
}

int dbreg_state_fleet_end(struct dbreg_state *st, long long run, const char *outcome, bool interrupted)
{
	char now[32];
	state_now(now);
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "UPDATE fleet_runs SET finished_at = ?2, outcome = ?3, interrupted = ?4"
			       " WHERE id = ?1", -1, &q, NULL) != SQLITE_OK)
		return state_fail(st, DBREG_EIO, "cannot record the end of the fleet run");
	sqlite3_bind_int64(q, 1, run);
	state_bind(q, 2, now);
	state_bind(q, 3, outcome);
	sqlite3_bind_int(q, 4, interrupted);
	return state_step_once(st, q, "cannot record the end of the fleet run");
}

void dbreg_fleet_records_free(struct dbreg_fleet_record *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].target);
		free(r[i].status);
		free(r[i].error);
		free(r[i].at);
	}
	free(r);
}

static char *state_col_dup(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	return t ? dbreg_strdup((const char *)t) : NULL;
}

int dbreg_state_fleet_last(struct dbreg_state *st, const char *fleet, struct dbreg_fleet_record **out, size_t *n,
			   char **run_at, bool *interrupted)
{
	*out = NULL;
	*n = 0;
	if (run_at)
		*run_at = NULL;
	if (interrupted)
		*interrupted = false;
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "SELECT id, started_at, interrupted FROM fleet_runs WHERE fleet = ?1"
			       " ORDER BY id DESC LIMIT 1", -1, &q, NULL) != SQLITE_OK)
		return state_fail(st, DBREG_EIO, "cannot read the fleet runs");
	state_bind(q, 1, fleet);
	int step = sqlite3_step(q);
	if (step != SQLITE_ROW) {
		sqlite3_finalize(q);
		return step == SQLITE_DONE ? 0 : state_fail(st, DBREG_EIO, "cannot read the fleet runs");
	}
	long long run = sqlite3_column_int64(q, 0);
	if (run_at)
		*run_at = state_col_dup(q, 1);
	if (interrupted)
		*interrupted = sqlite3_column_int(q, 2) != 0;
	sqlite3_finalize(q);
	if (sqlite3_prepare_v2(st->db, "SELECT target, status, exit_rc, applied, ms, error, at FROM fleet_targets"
			       " WHERE run = ?1 ORDER BY rowid", -1, &q, NULL) != SQLITE_OK)
		return state_fail(st, DBREG_EIO, "cannot read the fleet run");
	sqlite3_bind_int64(q, 1, run);
	size_t cap = 0;
	int rc = 0;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			struct dbreg_fleet_record *g = realloc(*out, cap * sizeof **out);
			if (!g) {
				rc = DBREG_ENOMEM;
				break;
			}
			*out = g;
		}
		struct dbreg_fleet_record *r = &(*out)[(*n)++];
		*r = (struct dbreg_fleet_record){
			.target = state_col_dup(q, 0),
			.status = state_col_dup(q, 1),
			.rc = sqlite3_column_int(q, 2),
			.applied = (size_t)sqlite3_column_int64(q, 3),
			.ms = sqlite3_column_int64(q, 4),
			.error = state_col_dup(q, 5),
			.at = state_col_dup(q, 6),
		};
		if (!r->target || !r->status) {
			rc = DBREG_ENOMEM;
			break;
		}
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = state_fail(st, DBREG_EIO, "cannot read the fleet run");
	sqlite3_finalize(q);
	if (rc != 0) {
		dbreg_fleet_records_free(*out, *n);
		*out = NULL;
		*n = 0;
		if (run_at) {
			free(*run_at);
			*run_at = NULL;
		}
	}
	return rc;
}

int dbreg_state_batch_begin(struct dbreg_state *st)
{
	return state_exec(st, "BEGIN IMMEDIATE") == 0 ? 0 : state_fail(st, DBREG_EIO, "cannot lock");
}

int dbreg_state_batch_commit(struct dbreg_state *st)
{
	if (sqlite3_get_autocommit(st->db))
		return 0;
	if (state_exec(st, "COMMIT") == 0)
		return 0;
	int rc = state_fail(st, DBREG_EIO, "cannot commit");
	state_exec(st, "ROLLBACK");
	return rc;
}

void dbreg_state_batch_rollback(struct dbreg_state *st)
{
	if (!sqlite3_get_autocommit(st->db))
		state_exec(st, "ROLLBACK");
}

int dbreg_state_check_results(struct dbreg_state *st,
			      int (*fn)(void *arg, const char *kind, const char *package, const char *key,
					const void *blob, size_t len),
			      void *arg)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db, "SELECT kind, package, key, findings FROM cache_checks", -1, &q, NULL) !=
	    SQLITE_OK)
		return state_fail(st, DBREG_EIO, "cannot prepare");
	int s, rc = 0;
	while (rc == 0 && (s = sqlite3_step(q)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(q, 0);
		const char *package = (const char *)sqlite3_column_text(q, 1);
		const char *key = (const char *)sqlite3_column_text(q, 2);
		const void *blob = sqlite3_column_blob(q, 3);
		size_t len = (size_t)sqlite3_column_bytes(q, 3);
		if (kind && package && key)
			rc = fn(arg, kind, package, key, blob ? blob : "", len);
	}
	if (rc == 0 && s != SQLITE_DONE)
		rc = state_fail(st, DBREG_EIO, "cannot read the check results");
	sqlite3_finalize(q);
	return rc;
}

int dbreg_state_check_result_put(struct dbreg_state *st, const char *kind, const char *package, const char *key,
				 const void *blob, size_t len)
{
	if (!st->put_result &&
	    sqlite3_prepare_v3(st->db,
			       "INSERT OR REPLACE INTO cache_checks (kind, package, key, findings) VALUES (?1, ?2, ?3, ?4)",
			       -1, SQLITE_PREPARE_PERSISTENT, &st->put_result, NULL) != SQLITE_OK) {
		st->put_result = NULL;
		return state_fail(st, DBREG_EIO, "cannot prepare");
	}
	sqlite3_stmt *q = st->put_result;
	state_bind(q, 1, kind);
	state_bind(q, 2, package);
	state_bind(q, 3, key);
	sqlite3_bind_blob(q, 4, len ? blob : "", (int)len, SQLITE_TRANSIENT);
	int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : state_fail(st, DBREG_EIO, "cannot record a check result");
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc;
}
