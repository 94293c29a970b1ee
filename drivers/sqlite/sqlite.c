/* The SQLite driver: sqlite:PATH, sqlite:///abs/path, sqlite::memory:.
 * Foreign keys are switched on and writers serialise on BEGIN IMMEDIATE
 * (with a 5 s busy timeout); the registry lock of a whole run is an flock
 * on the database file, so a run split by a transaction = false step
 * cannot interleave with another, and a waiter waits --lock-timeout, not
 * the busy timeout. A body runs statement by statement over
 * sqlite3_prepare_v2's tail. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <unistd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dbreg/driver.h"
#include "sqlite_alloc.h"

/* The catalog's queries on sqlite_master, prepared once per connection
 * (sq_cached). The per-table ones are plain PRAGMA statements instead
 * (sq_pragma): a pragma table-valued function prepares that very PRAGMA
 * on each use anyway, and adds a virtual table declared per connection, an
 * outer query and its sort on top (issue 18). */
enum sq_query {
	SQ_Q_TABLES,          /* user tables, by name */
	SQ_Q_HAS,             /* a row when table ?1 (and column ?2, unless NULL) exists */
	SQ_Q_COUNT
};

static const char *const sq_query_sql[SQ_Q_COUNT] = {
	[SQ_Q_TABLES] = ("SELECT name FROM sqlite_master WHERE type = 'table'"
			 " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
			 " AND name NOT LIKE 'ydtb\\_registry\\_%' ESCAPE '\\'"
			 " ORDER BY name"),
	[SQ_Q_HAS] = "SELECT 1 FROM pragma_table_info(?1) WHERE ?2 IS NULL OR name = ?2 LIMIT 1",
};

struct sqlite_conn {
	struct dbreg_conn base;
	sqlite3 *db;
	sqlite3_stmt *hist_up, *hist_down;    /* prepared on first history_record */
	sqlite3_stmt *queries[SQ_Q_COUNT];    /* prepared on first use (sq_cached) */
	/* The sandbox (sq_sandbox): limits that hold only while exec runs a body. */
	bool sandboxed, in_body;
	unsigned budget_ms;
	double started;                        /* of the body being run (dbreg_clock_ms) */
	bool over_budget;
	const char *refused;                   /* what the authorizer refused, or NULL */
	char *path;                            /* the file, NULL for :memory: */
	int lock_fd;                           /* flock'd while the run holds the lock; -1 none */
	bool locked;
	/* This connection created the file (sq_unlock removes it if nothing
	 * was ever committed to it), and which file that was. */
	bool created;
	dev_t dev;
	ino_t ino;
	/* The foreign key violations there were when enforcement went off
	 * (sq_foreign_keys): what the check afterwards does not blame on the
	 * migration. */
	struct sq_orphans *orphans;
	size_t n_orphans;
};

/* Rows of one table whose reference to parent is missing. */
struct sq_orphans {
	char *table, *parent;
	long long rows;
};

static void sq_orphans_free(struct sqlite_conn *c);

/* The busy timeout outside a run's lock. */
#define SQ_BUSY_MS 5000

extern const struct dbreg_driver dbreg_driver_sqlite;

#define SQ(conn) DBREG_CONN_OF(struct sqlite_conn, conn)
#define SQ_NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

/* Fills conn->err from the handle; position is 1-based, 0 unknown. */
static void sq_fail(struct sqlite_conn *c, const char *what, size_t position)
{
	struct dbreg_db_error *e = &c->base.err;
	memset(e, 0, sizeof *e);
	if (what)
		snprintf(e->message, sizeof e->message, "%s: %s", what, sqlite3_errmsg(c->db));
	else
		snprintf(e->message, sizeof e->message, "%s", sqlite3_errmsg(c->db));
	int xrc = sqlite3_extended_errcode(c->db);
	snprintf(e->detail, sizeof e->detail, "%s (SQLite code %d)", sqlite3_errstr(xrc), xrc);
	e->position = position;
}

/* Runs one statement without results; DBREG_ECONNECT with conn->err on failure. */
static int sq_run(struct sqlite_conn *c, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sqlite3_free(msg);
		sq_fail(c, NULL, 0);
		return DBREG_ECONNECT;
	}
	return 0;
}

static int sq_prepare(struct sqlite_conn *c, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK) {
		sq_fail(c, NULL, 0);
		return DBREG_ECONNECT;
	}
	return 0;
}

/* Prepares the statement sql was built into, and finishes sql. */
static int sq_prepare_built(struct sqlite_conn *c, sqlite3_str *sql, sqlite3_stmt **st)
{
	int failed = sqlite3_str_errcode(sql);
	char *text = sqlite3_str_finish(sql);
	int rc = failed || !text ? DBREG_ENOMEM : sq_prepare(c, text, st);
	sqlite3_free(text);
	return rc;
}

/* One of the connection's cached queries, prepared on first use; hand it
 * back with sq_done. A statement left prepared across a schema change is
 * prepared again by sqlite3_step itself. */
static int sq_cached(struct sqlite_conn *c, enum sq_query q, sqlite3_stmt **st)
{
	*st = c->queries[q];
	if (*st)
		return 0;
	if (sqlite3_prepare_v3(c->db, sq_query_sql[q], -1, SQLITE_PREPARE_PERSISTENT, &c->queries[q], NULL) !=
	    SQLITE_OK) {
		sq_fail(c, NULL, 0);
		return DBREG_ECONNECT;
	}
	*st = c->queries[q];
	return 0;
}

/* Resets a cached query for its next use: a reset statement holds no
 * lock and does not keep a table from being dropped. */
static void sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Ends a loop over a cached statement's rows: a step that stopped on an
 * error rather than at the last row is the connection's failure, unless rc
 * already holds one. The statement is released (sq_done) either way. */
static int sq_rows_end(struct sqlite_conn *c, sqlite3_stmt *st, int step, int rc)
{
	if (!rc && step != SQLITE_DONE) {
		sq_fail(c, NULL, 0);
		rc = DBREG_ECONNECT;
	}
	sq_done(st);
	return rc;
}

/* The file name a URL names, or NULL for a malformed one. Borrowed from url. */
static const char *sq_path(const char *url)
{
	if (strncmp(url, "sqlite:", 7) != 0 && strncmp(url, "SQLITE:", 7) != 0)
		return NULL;
	const char *p = url + 7;
	if (strncmp(p, "//", 2) == 0) {
		/* sqlite:///abs/path: an empty authority, then the absolute path. */
		if (p[2] != '/')
			return NULL;
		p += 2;
	}
	return p[0] ? p : NULL;
}

/* Opens url; read-only opens with SQLITE_OPEN_READONLY, and a file that
 * does not exist as an empty in-memory database rather than creating it. */
/* The authorizer: only statements of a body are confined. A transaction
 * statement of the body's own is refused everywhere (dbreg runs each
 * migration in a transaction of its own, and a COMMIT in the body would
 * commit the run so far, so that a later failure could not roll it back);
 * a sandbox also refuses what would reach past its database. */
static int sq_auth(void *ctx, int action, const char *a, const char *b, const char *db, const char *trigger)
{
	struct sqlite_conn *c = ctx;
	(void)a;
	(void)b;
	(void)db;
	(void)trigger;
	if (!c->in_body)
		return SQLITE_OK;
	switch (action) {
	case SQLITE_ATTACH:
		if (!c->sandboxed)
			return SQLITE_OK;
		c->refused = "ATTACH DATABASE (it opens or writes files) is not allowed in a migration checked by dbreg validate";
		return SQLITE_DENY;
	case SQLITE_DETACH:
		if (!c->sandboxed)
			return SQLITE_OK;
		c->refused = "DETACH DATABASE is not allowed in a migration checked by dbreg validate";
		return SQLITE_DENY;
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		c->refused = "a transaction statement of the body's own (BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE) is "
			     "not allowed in a migration: dbreg runs each migration in a transaction of its own and commits it "
			     "with its history row (remove the statement)";
		return SQLITE_DENY;
	default:
		return SQLITE_OK;
	}
}

static int sq_open(struct dbreg_conn **out, const char *url, char *errbuf, size_t errsize, bool readonly)
{
	*out = NULL;
	const char *path = url ? sq_path(url) : NULL;
	if (!path) {
		snprintf(errbuf, errsize, "malformed SQLite URL '%s': expected sqlite:PATH, sqlite:///abs/path or sqlite::memory:",
			 url ? url : "(null)");
		return DBREG_EUSAGE;
	}
	struct sqlite_conn *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(errbuf, errsize, "out of memory");
		return DBREG_ENOMEM;
	}
	c->base.driver = &dbreg_driver_sqlite;
	c->lock_fd = -1;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	struct stat sb;
	bool existed = strcmp(path, ":memory:") == 0 || stat(path, &sb) == 0 || errno != ENOENT;
	if (readonly && strcmp(path, ":memory:") != 0) {
		if (stat(path, &sb) != 0 && errno == ENOENT) {
			/* Not created yet reads as empty; a folder that is not there
			 * fails as connect would. */
			const char *slash = strrchr(path, '/');
			char dir[4096];
			snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
			if (slash && slash != path && stat(dir, &sb) != 0) {
				snprintf(errbuf, errsize, "cannot open SQLite database '%s': unable to open database file"
					 " (folder %s: %s)", path, dir, strerror(errno));
				free(c);
				return DBREG_ECONNECT;
			}
			path = ":memory:";
		} else {
			flags = SQLITE_OPEN_READONLY;
		}
	}
	/* No mutex of SQLite's per connection: a dbreg_conn is used by one
	 * thread at a time (its own fields, the error and the cached queries,
	 * have no lock either; fleets and validate's threads each open their
	 * own), and each call of the replay's checks took and released it. */
	bool memory = strcmp(path, ":memory:") == 0;
	int rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(c->db, SQ_BUSY_MS);
	/* PRAGMA foreign_keys = ON, without a statement to parse. */
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, (int *)NULL);
	/* Every body's statements are confined (sq_auth): on a target too, a
	 * COMMIT of the body's own would end the run's transaction. */
	if (rc == SQLITE_OK)
		rc = sqlite3_set_authorizer(c->db, sq_auth, c);
	/* Opening is lazy: touch the file so a bad path fails here, not later
	 * (an in-memory database has no file to fail). */
	/* A run committing a large migration holds SQLite's exclusive lock:
	 * the touch waits for it as a run waits for another's (--lock-timeout),
	 * not the 5 s of the other statements. */
	if (rc == SQLITE_OK && !memory) {
		int wait = dbreg_target_lock_wait();
		sqlite3_busy_timeout(c->db, wait * 1000);
		rc = sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
		if (rc != SQLITE_BUSY)
			sqlite3_busy_timeout(c->db, SQ_BUSY_MS);
	}
	if (rc != SQLITE_OK) {
		/* Another process's write transaction outlasted the busy
		 * timeout: a lock waited for, not a file that cannot be opened. */
		bool busy = rc == SQLITE_BUSY;
		if (busy)
			snprintf(errbuf, errsize, "SQLite database '%s' is locked by another connection: it was still busy "
				 "after %d s (--lock-timeout; a process holds a write transaction on it)", path,
				 dbreg_target_lock_wait());
		else
			snprintf(errbuf, errsize, "cannot open SQLite database '%s': %s", path,
				 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		sqlite3_close(c->db);
		free(c);
		return busy ? DBREG_ELOCKED : DBREG_ECONNECT;
	}
	if (strcmp(path, ":memory:") != 0 && !(c->path = dbreg_strdup(path))) {
		sqlite3_close(c->db);
		free(c);
		snprintf(errbuf, errsize, "out of memory");
		return DBREG_ENOMEM;
	}
	if (!existed && flags != SQLITE_OPEN_READONLY && stat(path, &sb) == 0) {
		c->created = true;
		c->dev = sb.st_dev;
		c->ino = sb.st_ino;
	}
	*out = &c->base;
	return 0;
}

static int sq_connect(struct dbreg_conn **out, const char *url, char *errbuf, size_t errsize)
{
	return sq_open(out, url, errbuf, errsize, false);
}

static int sq_connect_readonly(struct dbreg_conn **out, const char *url, char *errbuf, size_t errsize)
{
	return sq_open(out, url, errbuf, errsize, true);
}

static void sq_close(struct dbreg_conn *conn)
{
	if (!conn)
		return;
	struct sqlite_conn *c = SQ(conn);
	sqlite3_finalize(c->hist_up);
	sqlite3_finalize(c->hist_down);
	for (int q = 0; q < SQ_Q_COUNT; q++)
		sqlite3_finalize(c->queries[q]);
	sqlite3_close(c->db);
	/* Closed only after SQLite's own descriptors: closing any descriptor
	 * of the file drops the process's POSIX locks on it, SQLite's too. */
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	sq_orphans_free(c);
	free(c->path);
	free(c);
}

static int sq_begin(struct dbreg_conn *conn)
{
	struct sqlite_conn *c = SQ(conn);
	/* IMMEDIATE takes the write lock now, so two runs serialise here
	 * rather than failing halfway through. */
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		sq_fail(c, "cannot begin a transaction", 0);
		return (sqlite3_errcode(c->db) == SQLITE_BUSY) ? DBREG_ELOCKED : DBREG_ECONNECT;
	}
	return 0;
}

static int sq_commit(struct dbreg_conn *conn)
{
	return sq_run(SQ(conn), "COMMIT");
}

static int sq_rollback(struct dbreg_conn *conn)
{
	struct sqlite_conn *c = SQ(conn);
	/* An error may already have rolled back (SQLITE_FULL, ...): nothing to do. */
	if (sqlite3_get_autocommit(c->db))
		return 0;
	return sq_run(c, "ROLLBACK");
}

/* Skips white space and comments: where the next statement really starts. */
static const char *sq_skip(const char *p)
{
	return p + dbreg_sql_skip_blank(p, 0, strlen(p));
}

static int sq_exec_body(struct sqlite_conn *c, const char *sql);

/* Rewrites the error of a body the sandbox stopped, so it says why. */
static void sq_sandbox_fail(struct sqlite_conn *c)
{
	struct dbreg_db_error *e = &c->base.err;
	if (c->over_budget)
		snprintf(e->message, sizeof e->message,
			 "stopped after %u ms: the statement runs too long to check (a recursive query without end?)",
			 c->budget_ms);
	else if (c->refused)
		snprintf(e->message, sizeof e->message, "%s", c->refused);
}

static int sq_exec(struct dbreg_conn *conn, const char *sql)
{
	struct sqlite_conn *c = SQ(conn);
	if (!c->sandboxed) {
		c->in_body = true;
		c->refused = NULL;
		int rc = sq_exec_body(c, sql);
		c->in_body = false;
		if (rc != 0 && c->refused)
			sq_sandbox_fail(c);
		return rc;
	}
	c->in_body = true;
	c->over_budget = false;
	c->refused = NULL;
	c->started = dbreg_clock_ms();
	int rc = sq_exec_body(c, sql);
	c->in_body = false;
	if (rc != 0)
		sq_sandbox_fail(c);
	return rc;
}

/* Milliseconds since *t0, and *t0 moved to now. */
static double sq_lap(double *t0)
{
	double t = dbreg_clock_ms(), ms = t - *t0;
	*t0 = t;
	return ms;
}

static int sq_exec_body(struct sqlite_conn *c, const char *sql)
{
	const char *p = sql;
	size_t n = 0;
	double t0 = dbreg_clock_ms();
	while (*p) {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		if (sqlite3_prepare_v2(c->db, p, -1, &st, &tail) != SQLITE_OK) {
			size_t pos = (size_t)(sq_skip(p) - sql) + 1;
#if SQLITE_VERSION_NUMBER >= 3038000
			int off = sqlite3_error_offset(c->db);
			if (off >= 0)
				pos = (size_t)(p - sql) + (size_t)off + 1;
#endif
			sq_fail(c, NULL, pos);
			return DBREG_EMIGRATION;
		}
		if (!st) { /* only white space or a comment was left */
			p = tail;
			continue;
		}
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE) {
			sq_fail(c, NULL, (size_t)(sq_skip(p) - sql) + 1);
			sqlite3_finalize(st);
			return DBREG_EMIGRATION;
		}
		sqlite3_finalize(st);
		p = tail;
		n++;
		if (c->base.on_statement)
			c->base.on_statement(c->base.on_statement_arg, n, sq_lap(&t0));
	}
	return 0;
}

/* 1 when the main database has the table (column NULL) or the table has
 * the column, 0 when not, negative on failure. Asked of the schema SQLite
 * has already parsed (sqlite3_table_column_metadata): no statement to
 * prepare, which on a fresh connection (each target of a fleet) cost more
 * than the reads. */
static int sq_has(struct sqlite_conn *c, const char *table, const char *column)
{
	int rc = sqlite3_table_column_metadata(c->db, "main", table, column, NULL, NULL, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return 1;
	/* Absence is SQLITE_ERROR, and so is a schema SQLite cannot read (an
	 * unsupported file format): the catalog tells the two apart, where
	 * the message's text would be all there is. */
	sqlite3_stmt *st;
	if (rc != SQLITE_ERROR || sq_cached(c, SQ_Q_HAS, &st) != 0) {
		sq_fail(c, NULL, 0);
		return DBREG_ECONNECT;
	}
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	if (column)
		sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	int has = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : DBREG_ECONNECT;
	if (has < 0)
		sq_fail(c, NULL, 0);
	sq_done(st);
	return has;
}

/* 1 when ydtb_registry_migrations has the statements_done column (rows of
 * transaction = false migrations that stopped part way), 0 when not. */
static int sq_has_progress(struct sqlite_conn *c)
{
	return sq_has(c, "ydtb_registry_migrations", "statements_done");
}

/* Adds statements_done to a history table made before it existed. */
static int sq_progress_column(struct sqlite_conn *c)
{
	int rc = sq_has_progress(c);
	if (rc < 0)
		return rc;
	return rc ? 0 : sq_run(c, "ALTER TABLE ydtb_registry_migrations ADD COLUMN statements_done INTEGER");
}

static int sq_history_ensure(struct dbreg_conn *conn)
{
	return sq_run(SQ(conn),
		      "CREATE TABLE IF NOT EXISTS ydtb_registry_migrations ("
		      " package TEXT NOT NULL,"
		      " migration TEXT NOT NULL,"
		      " version TEXT NOT NULL,"
		      " checksum TEXT NOT NULL,"
		      " applied_at TEXT NOT NULL DEFAULT (" SQ_NOW "),"
		      " duration_ms INTEGER NOT NULL DEFAULT 0,"
		      " statements_done INTEGER,"
		      " PRIMARY KEY (package, migration));"
		      "CREATE TABLE IF NOT EXISTS ydtb_registry_packages ("
		      " name TEXT PRIMARY KEY NOT NULL,"
		      " version TEXT NOT NULL,"
		      " installed_at TEXT NOT NULL DEFAULT (" SQ_NOW "));") ||
	       sq_progress_column(SQ(conn));
}

/* 1 when the table exists, 0 when not, negative on failure. */
static int sq_table_exists(struct sqlite_conn *c, const char *name)
{
	return sq_has(c, name, NULL);
}

static const char *sq_col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* The history read's text: rows of migrations that stopped part way are
 * progress, not history. Read in rowid order (the order rows were
 * written: a new rowid is above every one in use) and put in applied_at
 * order by the caller, which costs a scan where ORDER BY applied_at, rowid
 * sorted every row. With names, the rows of n packages (?1..?n). */
static void sq_history_sql(sqlite3_str *sql, int progress, const char *const *names, size_t n)
{
	sqlite3_str_appendall(sql, "SELECT package, migration, version, checksum, applied_at, duration_ms"
				   " FROM ydtb_registry_migrations");
	if (progress)
		sqlite3_str_appendall(sql, " WHERE statements_done IS NULL");
	for (size_t i = 0; names && i < n; i++)
		sqlite3_str_appendall(sql, i ? ", ?" : progress ? " AND package IN (?" : " WHERE package IN (?");
	sqlite3_str_appendall(sql, names ? ") ORDER BY rowid" : " ORDER BY rowid");
}

/* The history, or (names != NULL) the rows of n packages of it. */
static int sq_history_query(struct sqlite_conn *c, const char *const *names, size_t n, struct dbreg_history *out)
{
	int rc = sq_table_exists(c, "ydtb_registry_migrations");
	if (rc <= 0)
		return rc;
	int progress = sq_has_progress(c);
	if (progress < 0)
		return progress;
	if (names && n == 0)
		return 0;
	sqlite3_str *sql = sqlite3_str_new(c->db);
	sq_history_sql(sql, progress, names, n);
	sqlite3_stmt *st;
	if ((rc = sq_prepare_built(c, sql, &st)) != 0)
		return rc;
	for (size_t i = 0; names && i < n; i++)
		sqlite3_bind_text(st, (int)i + 1, names[i], -1, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct dbreg_applied row = {
			.package = (char *)sq_col(st, 0),
			.migration = (char *)sq_col(st, 1),
			.version = (char *)sq_col(st, 2),
			.checksum = (char *)sq_col(st, 3),
			.applied_at = (char *)sq_col(st, 4),
			.duration_ms = sqlite3_column_int64(st, 5),
		};
		if (dbreg_history_append(out, &row) != 0) {
			sqlite3_finalize(st);
			return DBREG_ENOMEM;
		}
	}
	if (step != SQLITE_DONE) {
		sq_fail(c, NULL, 0);
		rc = DBREG_ECONNECT;
	}
	sqlite3_finalize(st);
	return rc ? rc : dbreg_history_order(out);
}

static int sq_history_read(struct dbreg_conn *conn, struct dbreg_history *out)
{
	return sq_history_query(SQ(conn), NULL, 0, out);
}

static int sq_history_read_packages(struct dbreg_conn *conn, const char *const *names, size_t n,
				    struct dbreg_history *out)
{
	/* Beyond SQLite's limit on parameters: every row, filtered here. */
	if (n > 999) {
		int rc = sq_history_query(SQ(conn), NULL, 0, out);
		size_t k = 0;
		for (size_t i = 0; rc == 0 && i < out->len; i++) {
			bool keep = false;
			for (size_t j = 0; j < n && !keep; j++)
				keep = strcmp(out->rows[i].package, names[j]) == 0;
			if (keep) {
				out->rows[k++] = out->rows[i];
			} else {
				free(out->rows[i].package);
				free(out->rows[i].migration);
				free(out->rows[i].version);
				free(out->rows[i].checksum);
				free(out->rows[i].applied_at);
			}
		}
		if (rc == 0)
			out->len = k;
		return rc;
	}
	return sq_history_query(SQ(conn), names, n, out);
}

/* PRAGMA data_version: moves with every commit of another connection. */
static int sq_changed_stamp(struct dbreg_conn *conn, unsigned long long *stamp)
{
	struct sqlite_conn *c = SQ(conn);
	sqlite3_stmt *st;
	int rc = sq_prepare(c, "PRAGMA data_version", &st);
	if (rc)
		return rc;
	rc = sqlite3_step(st) == SQLITE_ROW ? 0 : DBREG_ECONNECT;
	if (rc)
		sq_fail(c, NULL, 0);
	else
		*stamp = (unsigned long long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

/* Every row of the named columns of a table, as text. */
static int sq_rows_read(struct dbreg_conn *conn, const char *table, const char *const *columns, size_t n_columns,
			char ***cells, size_t *n_rows)
{
	struct sqlite_conn *c = SQ(conn);
	*cells = NULL;
	*n_rows = 0;
	int rc = sq_table_exists(c, table);
	if (rc <= 0 || n_columns == 0)
		return rc;
	/* Backquoted: a double-quoted name the table lacks would read as a
	 * string literal (SQLite's old leniency) instead of failing. */
	sqlite3_str *sql = sqlite3_str_new(c->db);
	sqlite3_str_appendall(sql, "SELECT ");
	for (size_t i = 0; i <= n_columns; i++) {
		const char *name = i < n_columns ? columns[i] : table;
		sqlite3_str_appendall(sql, i == n_columns ? " FROM `" : i ? ", `" : "`");
		for (const char *p = name; *p; p++)
			sqlite3_str_appendall(sql, *p == '`' ? "``" : (char[2]){*p, 0});
		sqlite3_str_appendall(sql, "`");
	}
	sqlite3_stmt *st;
	if ((rc = sq_prepare_built(c, sql, &st)) != 0)
		return rc;
	char **v = NULL;
	size_t n = 0, cap = 0;
	int step;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n + n_columns > cap) {
			size_t grown = cap ? cap * 2 : 64 * n_columns;
			char **p = realloc(v, grown * sizeof *p);
			if (!p) {
				rc = DBREG_ENOMEM;
				break;
			}
			v = p;
			cap = grown;
		}
		for (size_t i = 0; i < n_columns; i++) {
			const char *t = sq_col(st, (int)i);
			v[n++] = t ? dbreg_strdup(t) : NULL;
			if (t && !v[n - 1])
				rc = DBREG_ENOMEM;
		}
	}
	if (rc == 0 && step != SQLITE_DONE) {
		sq_fail(c, NULL, 0);
		rc = DBREG_ECONNECT;
	}
	sqlite3_finalize(st);
	if (rc) {
		dbreg_strv_free(v, n);
		return rc;
	}
	*cells = v;
	*n_rows = n / n_columns;
	return 0;
}

static int sq_history_record(struct dbreg_conn *conn, const struct dbreg_applied *row, bool up)
{
	struct sqlite_conn *c = SQ(conn);
	sqlite3_stmt **st = up ? &c->hist_up : &c->hist_down;
	if (!*st) {
		int rc = sq_prepare(c,
				    up ? "INSERT INTO ydtb_registry_migrations"
					 " (package, migration, version, checksum, applied_at, duration_ms)"
					 " VALUES (?1, ?2, ?3, ?4, COALESCE(?5, " SQ_NOW "), ?6)"
				       : "DELETE FROM ydtb_registry_migrations WHERE package = ?1 AND migration = ?2",
				    st);
		if (rc)
			return rc;
	}
	sqlite3_bind_text(*st, 1, row->package, -1, SQLITE_STATIC);
	sqlite3_bind_text(*st, 2, row->migration, -1, SQLITE_STATIC);
	if (up) {
		sqlite3_bind_text(*st, 3, row->version, -1, SQLITE_STATIC);
		sqlite3_bind_text(*st, 4, row->checksum, -1, SQLITE_STATIC);
		sqlite3_bind_text(*st, 5, row->applied_at, -1, SQLITE_STATIC);
		sqlite3_bind_int64(*st, 6, row->duration_ms);
	}
	int rc = sqlite3_step(*st) == SQLITE_DONE ? 0 : DBREG_ECONNECT;
	if (rc)
		sq_fail(c, up ? "cannot record a migration" : "cannot remove a migration", 0);
	sqlite3_reset(*st);
	sqlite3_clear_bindings(*st);
	return rc;
}

static int sq_package_record(struct dbreg_conn *conn, const char *name, const char *version)
{
	struct sqlite_conn *c = SQ(conn);
	sqlite3_stmt *st;
	int rc = sq_prepare(c,
			    version ? "INSERT INTO ydtb_registry_packages (name, version, installed_at)"
				      " VALUES (?1, ?2, " SQ_NOW ")"
				      " ON CONFLICT (name) DO UPDATE SET version = excluded.version,"
				      " installed_at = excluded.installed_at"
				    : "DELETE FROM ydtb_registry_packages WHERE name = ?1",
			    &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (version)
		sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : DBREG_ECONNECT;
	if (rc)
		sq_fail(c, "cannot record a package", 0);
	sqlite3_finalize(st);
	return rc;
}

static int sq_package_read(struct dbreg_conn *conn, char ***names, char ***versions, size_t *n)
{
	struct sqlite_conn *c = SQ(conn);
	*names = *versions = NULL;
	*n = 0;
	int rc = sq_table_exists(c, "ydtb_registry_packages");
	if (rc <= 0)
		return rc;
	sqlite3_stmt *st;
	rc = sq_prepare(c, "SELECT name, version FROM ydtb_registry_packages ORDER BY name", &st);
	if (rc)
		return rc;
	size_t nv = 0;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = dbreg_strv_push(names, n, sq_col(st, 0))) != 0 ||
		    (rc = dbreg_strv_push(versions, &nv, sq_col(st, 1))) != 0)
			break;
	}
	if (!rc && step != SQLITE_DONE) {
		sq_fail(c, NULL, 0);
		rc = DBREG_ECONNECT;
	}
	sqlite3_finalize(st);
	if (rc) {
		dbreg_strv_free(*names, *n);
		dbreg_strv_free(*versions, nv);
		*names = *versions = NULL;
		*n = 0;
	}
	return rc;
}

/* The two reads together: a fleet's no-op visit. No round trips to save
 * here, so the hint goes unused. */
static int sq_registry_read(struct dbreg_conn *conn, bool expect, struct dbreg_history *hist, char ***names,
			    char ***versions, size_t *n)
{
	(void)expect;
	int rc = sq_history_query(SQ(conn), NULL, 0, hist);
	if (rc == 0)
		rc = sq_package_read(conn, names, versions, n);
	if (rc)
		dbreg_history_dispose(hist);
	return rc;
}

/* registry_read's rows digested as they are stepped, none copied. Rows
 * not in applied_at order (written by another tool), a registry table
 * absent or an applied_at too long for the buffer: 1, the caller reads
 * the rows (dbreg_history_order puts them right). */
static int sq_registry_digest(struct dbreg_conn *conn, bool expect, struct dbreg_registry_digest *out)
{
	(void)expect;
	struct sqlite_conn *c = SQ(conn);
	int rc = sq_table_exists(c, "ydtb_registry_migrations");
	if (rc > 0)
		rc = sq_table_exists(c, "ydtb_registry_packages");
	if (rc <= 0)
		return rc < 0 ? rc : 1;
	int progress = sq_has_progress(c);
	if (progress < 0)
		return progress;
	sqlite3_str *sql = sqlite3_str_new(c->db);
	sq_history_sql(sql, progress, NULL, 0);
	sqlite3_stmt *st;
	if ((rc = sq_prepare_built(c, sql, &st)) != 0)
		return rc;
	struct dbreg_regdigest *d;
	if (dbreg_regdigest_new(&d) != 0) {
		sqlite3_finalize(st);
		return DBREG_ENOMEM;
	}
	char prev[64] = "";
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *at = sq_col(st, 4);
		size_t len = at ? strlen(at) : 0;
		if (len >= sizeof prev || strcmp(prev, at ? at : "") > 0) {
			rc = 1;
			break;
		}
		memcpy(prev, at ? at : "", len + 1);
		dbreg_regdigest_row(d, sq_col(st, 0), sq_col(st, 1), sq_col(st, 2), sq_col(st, 3), at,
				    sqlite3_column_int64(st, 5));
	}
	if (rc == 0 && step != SQLITE_DONE) {
		sq_fail(c, NULL, 0);
		rc = DBREG_ECONNECT;
	}
	sqlite3_finalize(st);
	/* By name in bytes, as strcmp orders them. */
	if (rc == 0 && (rc = sq_prepare(c, "SELECT name, version FROM ydtb_registry_packages ORDER BY name COLLATE BINARY",
					&st)) == 0) {
		while ((step = sqlite3_step(st)) == SQLITE_ROW)
			dbreg_regdigest_package(d, sq_col(st, 0), sq_col(st, 1));
		if (step != SQLITE_DONE) {
			sq_fail(c, NULL, 0);
			rc = DBREG_ECONNECT;
		}
		sqlite3_finalize(st);
	}
	int end = dbreg_regdigest_finish(d, out);
	return rc ? rc : end;
}

static char *sq_lower(const char *s)
{
	char *out = dbreg_strdup(s ? s : "");
	for (char *p = out; p && *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return out;
}

/* Prepares "PRAGMA name='arg'", the statement a pragma table-valued
 * function would prepare for pragma_name(arg) (rows in the same order);
 * the caller finalizes it. */
static int sq_pragma(struct sqlite_conn *c, const char *name, const char *arg, sqlite3_stmt **st)
{
	*st = NULL;
	char *sql = sqlite3_mprintf("PRAGMA %s=%Q", name, arg ? arg : "");
	if (!sql)
		return DBREG_ENOMEM;
	int rc = sq_prepare(c, sql, st);
	sqlite3_free(sql);
	return rc;
}

/* Ends a loop over a PRAGMA's rows (sq_rows_end for a statement of its
 * own): a step that stopped on an error is the connection's failure unless
 * rc holds one; the statement is finalized either way. */
static int sq_pragma_end(struct sqlite_conn *c, sqlite3_stmt *st, int step, int rc)
{
	if (!rc && step != SQLITE_DONE) {
		sq_fail(c, NULL, 0);
		rc = DBREG_ECONNECT;
	}
	sqlite3_finalize(st);
	return rc;
}

/* PRAGMA table_info's columns. */
enum { SQ_TI_NAME = 1, SQ_TI_TYPE = 2, SQ_TI_NOTNULL = 3, SQ_TI_DFLT = 4, SQ_TI_PK = 5 };

static int sq_read_columns(struct sqlite_conn *c, struct dbreg_cat_table *t)
{
	sqlite3_stmt *st;
	int rc = sq_pragma(c, "table_info", t->name, &st);
	if (rc)
		return rc;
	int step, *pk = NULL;
	/* table_info's rows come in column order (cid). */
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct dbreg_cat_column *cols = realloc(t->columns, (t->n_columns + 1) * sizeof *cols);
		int *pks = realloc(pk, (t->n_columns + 1) * sizeof *pks);
		if (cols)
			t->columns = cols;
		if (pks)
			pk = pks;
		if (!cols || !pks) {
			rc = DBREG_ENOMEM;
			break;
		}
		struct dbreg_cat_column *col = &t->columns[t->n_columns];
		memset(col, 0, sizeof *col);
		pk[t->n_columns] = sqlite3_column_int(st, SQ_TI_PK);
		t->n_columns++;
		col->name = dbreg_strdup(sq_col(st, SQ_TI_NAME));
		col->type = sq_lower(sq_col(st, SQ_TI_TYPE));
		col->not_null = sqlite3_column_int(st, SQ_TI_NOTNULL) != 0;
		bool dflt = sqlite3_column_type(st, SQ_TI_DFLT) != SQLITE_NULL;
		if (dflt)
			col->default_expr = dbreg_strdup(sq_col(st, SQ_TI_DFLT));
		if (!col->name || !col->type || (dflt && !col->default_expr)) {
			rc = DBREG_ENOMEM;
			break;
		}
		if (pk[t->n_columns - 1] > 0)
			t->n_primary_key++;
	}
	rc = sq_pragma_end(c, st, step, rc);
	if (!rc && t->n_primary_key) {
		/* pk holds each column's 1-based place in the key. */
		t->primary_key = calloc(t->n_primary_key, sizeof *t->primary_key);
		if (!t->primary_key)
			rc = DBREG_ENOMEM;
		for (size_t i = 0; !rc && i < t->n_columns; i++) {
			if (pk[i] > 0 && (size_t)pk[i] <= t->n_primary_key &&
			    !(t->primary_key[pk[i] - 1] = dbreg_strdup(t->columns[i].name)))
				rc = DBREG_ENOMEM;
			/* An INTEGER PRIMARY KEY is the rowid: never NULL. */
			if (pk[i] > 0 && t->n_primary_key == 1 && strcmp(t->columns[i].type, "integer") == 0)
				t->columns[i].not_null = true;
		}
	}
	free(pk);
	return rc;
}

/* The parent's primary key column at place seq (0-based) of its key, for
 * a REFERENCES t with no column list: what "ORDER BY pk LIMIT 1 OFFSET
 * seq" over its key columns gives (their places may skip a number: a
 * column named twice in PRIMARY KEY (a, a, b) keeps its first), "" when
 * there is none. */
static char *sq_parent_pk(struct sqlite_conn *c, const char *parent, int seq)
{
	sqlite3_stmt *st;
	if (seq < 0 || sq_pragma(c, "table_info", parent, &st))
		return dbreg_strdup("");
	/* The key column of the (seq+1)-th smallest place: places are distinct,
	 * so it is the one with exactly seq places below it. */
	struct { int pk; char *name; } *keys = NULL;
	size_t n = 0;
	bool oom = false;
	while (!oom && sqlite3_step(st) == SQLITE_ROW) {
		int pk = sqlite3_column_int(st, SQ_TI_PK);
		if (pk <= 0)
			continue;
		void *grown = realloc(keys, (n + 1) * sizeof *keys);
		if (!grown) {
			oom = true;
			break;
		}
		keys = grown;
		keys[n].pk = pk;
		if (!(keys[n].name = dbreg_strdup(sq_col(st, SQ_TI_NAME))))
			oom = true;
		else
			n++;
	}
	sqlite3_finalize(st);
	char *name = NULL;
	for (size_t i = 0; !oom && !name && i < n; i++) {
		size_t below = 0;
		for (size_t j = 0; j < n; j++)
			below += keys[j].pk < keys[i].pk;
		if (below == (size_t)seq)
			name = dbreg_strdup(keys[i].name);
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i].name);
	free(keys);
	return name ? name : oom ? NULL : dbreg_strdup("");
}

static int sq_read_fkeys(struct sqlite_conn *c, struct dbreg_cat_table *t)
{
	sqlite3_stmt *st;
	int rc = sq_pragma(c, "foreign_key_list", t->name, &st);
	if (rc)
		return rc;
	/* Rows come by id, then seq: foreign_key_list's own order. */
	int step, last_id = -1;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int id = sqlite3_column_int(st, 0);
		if (id != last_id || t->n_fkeys == 0) {
			struct dbreg_cat_fkey *f = dbreg_array_push(&t->fkeys, &t->n_fkeys, sizeof *f);
			if (!f) {
				rc = DBREG_ENOMEM;
				break;
			}
			f->ref_table = dbreg_strdup(sq_col(st, 2));
			f->on_update = sq_lower(sq_col(st, 5));
			f->on_delete = sq_lower(sq_col(st, 6));
			last_id = id;
			if (!f->ref_table || !f->on_update || !f->on_delete) {
				rc = DBREG_ENOMEM;
				break;
			}
		}
		struct dbreg_cat_fkey *f = &t->fkeys[t->n_fkeys - 1];
		size_t n = f->n_columns, m = f->n_columns;
		char *to = sqlite3_column_type(st, 4) == SQLITE_NULL
				   ? sq_parent_pk(c, f->ref_table, sqlite3_column_int(st, 1))
				   : dbreg_strdup(sq_col(st, 4));
		if (!to || dbreg_strv_push(&f->columns, &n, sq_col(st, 3)) != 0 ||
		    dbreg_strv_push(&f->ref_columns, &m, to) != 0) {
			/* Keep both vectors the same length for the dispose. */
			if (n > f->n_columns)
				free(f->columns[--n]);
			free(to);
			rc = DBREG_ENOMEM;
			break;
		}
		free(to);
		f->n_columns++;
	}
	return sq_pragma_end(c, st, step, rc);
}

static int sq_read_index_columns(struct sqlite_conn *c, struct dbreg_cat_index *ix)
{
	sqlite3_stmt *st;
	int rc = sq_pragma(c, "index_info", ix->name, &st);
	if (rc)
		return rc;
	/* Rows come by seqno: the key's order. */
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = sq_col(st, 2);
		if ((rc = dbreg_strv_push(&ix->columns, &ix->n_columns, name ? name : "<expression>")) != 0)
			break;
	}
	return sq_pragma_end(c, st, step, rc);
}

static int sq_cmp_index(const void *a, const void *b)
{
	return strcmp(((const struct dbreg_cat_index *)a)->name, ((const struct dbreg_cat_index *)b)->name);
}

/* The WHERE of a partial index's CREATE INDEX, as written ("true" when
 * it cannot be read back). */
static int sq_index_predicate(struct sqlite_conn *c, struct dbreg_cat_index *ix)
{
	sqlite3_stmt *q = NULL;
	const char *where = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", -1, &q, NULL) ==
		    SQLITE_OK &&
	    sqlite3_bind_text(q, 1, ix->name, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
		const char *sql = (const char *)sqlite3_column_text(q, 0);
		for (const char *p = sql; p && *p; p++)
			if (strncasecmp(p, " where ", 7) == 0)
				where = p + 7;
	}
	ix->predicate = dbreg_strdup(where ? where : "true");
	sqlite3_finalize(q);
	return ix->predicate ? 0 : DBREG_ENOMEM;
}

static int sq_read_indexes(struct sqlite_conn *c, struct dbreg_cat_table *t)
{
	sqlite3_stmt *st;
	int rc = sq_pragma(c, "index_list", t->name, &st);
	if (rc)
		return rc;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct dbreg_cat_index *ix = dbreg_array_push(&t->indexes, &t->n_indexes, sizeof *ix);
		if (!ix) {
			rc = DBREG_ENOMEM;
			break;
		}
		ix->name = dbreg_strdup(sq_col(st, 1));
		ix->unique = sqlite3_column_int(st, 2) != 0;
		const char *origin = sq_col(st, 3);
		ix->primary = origin && strcmp(origin, "pk") == 0;
		ix->valid = true;
		/* A partial index: its WHERE, from the statement that made it. */
		if (sqlite3_column_int(st, 4) != 0 && ix->name && sq_index_predicate(c, ix) != 0) {
			rc = DBREG_ENOMEM;
			break;
		}
		if (!ix->name) {
			rc = DBREG_ENOMEM;
			break;
		}
	}
	rc = sq_pragma_end(c, st, step, rc);
	/* By name (BINARY, as ORDER BY name sorts): index_list's own order is
	 * the schema's. Names are unique in a database. */
	if (!rc && t->n_indexes > 1)
		qsort(t->indexes, t->n_indexes, sizeof *t->indexes, sq_cmp_index);
	for (size_t i = 0; !rc && i < t->n_indexes; i++)
		rc = sq_read_index_columns(c, &t->indexes[i]);
	return rc;
}

static int sq_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Reads the user tables into out, all of them or, when filter is not
 * NULL, those whose name is among the n sorted names of filter. */
static int sq_catalog_load(struct sqlite_conn *c, const char *const *filter, size_t n, struct dbreg_catalog *out)
{
	out->tables = NULL;
	out->n_tables = 0;
	sqlite3_stmt *st;
	int rc = sq_cached(c, SQ_Q_TABLES, &st);
	if (rc)
		return rc;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = sq_col(st, 0);
		if (filter && (!name || !bsearch(&name, filter, n, sizeof *filter, sq_cmp_str)))
			continue;
		struct dbreg_cat_table *t = realloc(out->tables, (out->n_tables + 1) * sizeof *t);
		if (!t) {
			rc = DBREG_ENOMEM;
			break;
		}
		out->tables = t;
		t = &out->tables[out->n_tables++];
		memset(t, 0, sizeof *t);
		if (!(t->name = dbreg_strdup(name))) {
			rc = DBREG_ENOMEM;
			break;
		}
	}
	rc = sq_rows_end(c, st, step, rc);
	for (size_t i = 0; !rc && i < out->n_tables; i++) {
		struct dbreg_cat_table *t = &out->tables[i];
		if ((rc = sq_read_columns(c, t)) == 0 && (rc = sq_read_fkeys(c, t)) == 0)
			rc = sq_read_indexes(c, t);
	}
	if (rc)
		dbreg_catalog_dispose(out);
	return rc;
}

static int sq_catalog_read(struct dbreg_conn *conn, struct dbreg_catalog *out)
{
	return sq_catalog_load(SQ(conn), NULL, 0, out);
}

static int sq_catalog_read_tables(struct dbreg_conn *conn, const char *const *names, size_t n,
				  struct dbreg_catalog *out)
{
	out->tables = NULL;
	out->n_tables = 0;
	if (n == 0)
		return 0;
	const char **sorted = malloc(n * sizeof *sorted);
	if (!sorted)
		return DBREG_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (names[i])
			sorted[k++] = names[i];
	qsort(sorted, k, sizeof *sorted, sq_cmp_str);
	int rc = sq_catalog_load(SQ(conn), sorted, k, out);
	free(sorted);
	return rc;
}

static int sq_table_names(struct dbreg_conn *conn, char ***names, size_t *n)
{
	struct sqlite_conn *c = SQ(conn);
	*names = NULL;
	*n = 0;
	sqlite3_stmt *st;
	int rc = sq_cached(c, SQ_Q_TABLES, &st);
	if (rc)
		return rc;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = dbreg_strv_push(names, n, sq_col(st, 0))) != 0)
			break;
	rc = sq_rows_end(c, st, step, rc);
	if (rc) {
		dbreg_strv_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return rc;
}

/* The sandbox's progress handler: non-zero stops the running statement. */
static int sq_progress(void *ctx)
{
	struct sqlite_conn *c = ctx;
	if (!c->in_body)
		return 0;
	if (dbreg_clock_ms() - c->started < (double)c->budget_ms)
		return 0;
	c->over_budget = true;
	return 1;
}

/* Bytes a string or blob of a confined body may hold: far above any seed
 * data, far below what would exhaust memory. */
#define SQ_SANDBOX_MAX_LENGTH (32 * 1024 * 1024)

static int sq_sandbox(struct dbreg_conn *conn, unsigned budget_ms)
{
	struct sqlite_conn *c = SQ(conn);
	/* A confined database only checks SQL and is thrown away, never rolled
	 * back (transaction statements in a body are no-ops, see sq_auth):
	 * without a rollback journal each statement costs less. */
	if (sq_run(c, "PRAGMA journal_mode = OFF") != 0)
		return DBREG_ECONNECT;
	sqlite3_limit(c->db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(c->db, SQLITE_LIMIT_LENGTH, SQ_SANDBOX_MAX_LENGTH);
	if (sqlite3_set_authorizer(c->db, sq_auth, c) != SQLITE_OK) {
		sq_fail(c, "cannot confine the database", 0);
		return DBREG_ECONNECT;
	}
	/* Every 1000 virtual machine steps: a clock read costs far less. */
	sqlite3_progress_handler(c->db, 1000, sq_progress, c);
	c->budget_ms = budget_ms;
	c->sandboxed = true;
	return 0;
}

/* ---- version 4: the run's lock, statements, progress, foreign keys ---- */

/* Opens the connection's file again from its path, on the same handle:
 * the file it had open was removed (sq_drop_if_empty). */
static int sq_reopen(struct sqlite_conn *c)
{
	char url[4200], err[512];
	struct dbreg_conn *fresh = NULL;
	snprintf(url, sizeof url, "sqlite:%s", c->path);
	int rc = sq_open(&fresh, url, err, sizeof err, false);
	if (rc != 0) {
		memset(&c->base.err, 0, sizeof c->base.err);
		snprintf(c->base.err.message, sizeof c->base.err.message, "%s", err);
		return rc;
	}
	struct sqlite_conn *f = SQ(fresh);
	sqlite3_finalize(c->hist_up);
	sqlite3_finalize(c->hist_down);
	c->hist_up = c->hist_down = NULL;
	for (int q = 0; q < SQ_Q_COUNT; q++) {
		sqlite3_finalize(c->queries[q]);
		c->queries[q] = NULL;
	}
	sqlite3_close(c->db);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	c->lock_fd = -1;
	c->db = f->db;
	/* Its authorizer's context is the struct that owns the handle now. */
	sqlite3_set_authorizer(c->db, sq_auth, c);
	c->created = f->created;
	c->dev = f->dev;
	c->ino = f->ino;
	f->db = NULL;
	sq_close(fresh);
	return 0;
}

/* The progress handler of a connection holding the run's lock: non-zero
 * (SQLITE_INTERRUPT) once an interrupt's cancels went out, so that a
 * statement that runs long, or one started after the signal, fails and
 * the run rolls back on its own (dbreg_cancel_unwinds); a handler that
 * ends the process ends it anyway. An atomic load every 1000 steps. */
static int sq_stop(void *ctx)
{
	(void)ctx;
	return dbreg_cancel_ending();
}

/* An flock on the database file, polled so that a waiter times out and
 * says so; SQLite's own locks are POSIX locks, which flock leaves alone.
 * For the run the busy timeout follows --lock-timeout too, so a writer
 * that is not dbreg is waited for as long. */
static int sq_lock(struct dbreg_conn *conn, int timeout_s)
{
	struct sqlite_conn *c = SQ(conn);
	if (c->locked || !c->path)
		return 0;
	/* Removed since this connection opened it (sq_drop_if_empty): the
	 * file now at the path, or a new one. */
	if (c->lock_fd < 0 && access(c->path, F_OK) != 0 && errno == ENOENT) {
		int rc = sq_reopen(c);
		if (rc != 0)
			return rc;
	}
	if (c->lock_fd < 0 && (c->lock_fd = open(c->path, O_RDONLY | O_CLOEXEC)) < 0) {
		memset(&c->base.err, 0, sizeof c->base.err);
		snprintf(c->base.err.message, sizeof c->base.err.message, "cannot open %s to lock it: %s", c->path,
			 strerror(errno));
		return DBREG_ECONNECT;
	}
	double deadline = dbreg_clock_ms() + (timeout_s > 0 ? timeout_s : 0) * 1e3;   /* ms */
	while (flock(c->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (dbreg_cancel_ending()) {
			memset(&c->base.err, 0, sizeof c->base.err);
			snprintf(c->base.err.message, sizeof c->base.err.message,
				 "interrupted while waiting for another dbreg run on %s", c->path);
			return DBREG_ELOCKED;
		}
		if ((errno != EWOULDBLOCK && errno != EINTR) || dbreg_clock_ms() >= deadline) {
			memset(&c->base.err, 0, sizeof c->base.err);
			if (errno == EWOULDBLOCK || errno == EINTR) {
				snprintf(c->base.err.message, sizeof c->base.err.message,
					 "timed out after %d s (--lock-timeout) waiting for another dbreg run on %s",
					 timeout_s, c->path);
				snprintf(c->base.err.hint, sizeof c->base.err.hint,
					 "another dbreg run is applying to this database; retry later or raise --lock-timeout");
				return DBREG_ELOCKED;
			}
			snprintf(c->base.err.message, sizeof c->base.err.message, "cannot lock %s: %s", c->path,
				 strerror(errno));
			return DBREG_ECONNECT;
		}
		struct timespec pause = { 0, 50 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	/* A run that created the file and committed nothing removes it as it
	 * unlocks (sq_unlock): one that waited meanwhile holds a removed,
	 * empty file, and goes on with the file now at the path instead. */
	struct stat held, now;
	if (fstat(c->lock_fd, &held) == 0 &&
	    (stat(c->path, &now) != 0 || held.st_dev != now.st_dev || held.st_ino != now.st_ino)) {
		flock(c->lock_fd, LOCK_UN);
		int rc = sq_reopen(c);
		if (rc != 0)
			return rc;
		double rest = (deadline - dbreg_clock_ms()) / 1e3;
		return sq_lock(conn, rest > 0 ? (int)(rest + 0.999) : 0);
	}
	double left = (deadline - dbreg_clock_ms()) / 1e3;
	sqlite3_busy_timeout(c->db, left > 1 ? (int)(left * 1000) : 1000);
	/* No cancel request reaches a statement that runs in this process:
	 * under the run's lock, an interrupt stops it here (sq_stop). */
	sqlite3_progress_handler(c->db, 1000, sq_stop, c);
	c->locked = true;
	return 0;
}

/* Removes the file this connection created when nothing was ever
 * committed to it (still empty): a failed or refused run leaves no
 * database where there was none. Only under the run's lock, which a
 * waiter checks (sq_lock). */
static void sq_drop_if_empty(struct sqlite_conn *c)
{
	struct stat sb;
	if (!c->created || stat(c->path, &sb) != 0 || sb.st_dev != c->dev || sb.st_ino != c->ino)
		return;
	/* In WAL mode what was committed may sit in the -wal file alone. */
	char wal[4096];
	struct stat wb;
	snprintf(wal, sizeof wal, "%s-wal", c->path);
	c->created = sb.st_size == 0 && sqlite3_get_autocommit(c->db) && (stat(wal, &wb) != 0 || wb.st_size == 0);
	if (c->created && unlink(c->path) == 0)
		c->created = false;
}

static int sq_unlock(struct dbreg_conn *conn)
{
	struct sqlite_conn *c = SQ(conn);
	if (!c->locked)
		return 0;
	sq_drop_if_empty(c);
	/* What the run does after it (its history read again) is no longer stopped. */
	sqlite3_progress_handler(c->db, 0, NULL, NULL);
	/* LOCK_UN, not close: see sq_close. */
	flock(c->lock_fd, LOCK_UN);
	sqlite3_busy_timeout(c->db, SQ_BUSY_MS);
	c->locked = false;
	return 0;
}

/* The statements as SQLite's own tokenizer ends them: a ';' ends one when
 * sqlite3_complete says the text up to it is whole (not inside a string,
 * a comment or a trigger's BEGIN ... END). */
static int sq_split(struct dbreg_conn *conn, const char *sql, struct dbreg_span **out, size_t *n)
{
	(void)conn;
	*out = NULL;
	*n = 0;
	size_t len = strlen(sql), cap = 0;
	char *buf = malloc(len + 1);
	if (!buf)
		return DBREG_ENOMEM;
	size_t start = (size_t)(sq_skip(sql) - sql);
	for (size_t i = start; start < len; i++) {
		bool last = i >= len;
		if (!last && sql[i] != ';')
			continue;
		if (!last) {
			memcpy(buf, sql + start, i - start + 1);
			buf[i - start + 1] = '\0';
			if (!sqlite3_complete(buf))
				continue;
		}
		size_t end = last ? len : i;
		while (end > start && (sql[end - 1] == ' ' || sql[end - 1] == '\t' || sql[end - 1] == '\n' ||
				       sql[end - 1] == '\r'))
			end--;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			struct dbreg_span *v = realloc(*out, cap * sizeof *v);
			if (!v) {
				free(*out);
				*out = NULL;
				*n = 0;
				free(buf);
				return DBREG_ENOMEM;
			}
			*out = v;
		}
		(*out)[(*n)++] = (struct dbreg_span){ start, end };
		if (last)
			break;
		start = (size_t)(sq_skip(sql + i + 1) - sql);
		i = start - 1;
	}
	free(buf);
	return 0;
}

static int sq_progress_record(struct dbreg_conn *conn, const struct dbreg_applied *row, size_t done)
{
	struct sqlite_conn *c = SQ(conn);
	int rc = sq_progress_column(c);
	if (rc)
		return rc;
	sqlite3_stmt *st;
	rc = sq_prepare(c,
			done ? "INSERT INTO ydtb_registry_migrations"
			       " (package, migration, version, checksum, applied_at, duration_ms, statements_done)"
			       " VALUES (?1, ?2, ?3, ?4, " SQ_NOW ", ?5, ?6)"
			       " ON CONFLICT (package, migration) DO UPDATE SET version = excluded.version,"
			       " checksum = excluded.checksum, applied_at = excluded.applied_at,"
			       " duration_ms = excluded.duration_ms, statements_done = excluded.statements_done"
			       " WHERE statements_done IS NOT NULL"
			     : "DELETE FROM ydtb_registry_migrations WHERE package = ?1 AND migration = ?2"
			       " AND statements_done IS NOT NULL",
			&st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, row->package, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row->migration, -1, SQLITE_STATIC);
	if (done) {
		sqlite3_bind_text(st, 3, row->version, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, row->checksum, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, row->duration_ms);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)done);
	}
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : DBREG_ECONNECT;
	if (rc)
		sq_fail(c, "cannot record the progress of a migration", 0);
	sqlite3_finalize(st);
	return rc;
}

static int sq_progress_read(struct dbreg_conn *conn, const char *package, const char *migration, size_t *done,
			    char *checksum)
{
	struct sqlite_conn *c = SQ(conn);
	*done = 0;
	int rc = sq_table_exists(c, "ydtb_registry_migrations");
	if (rc <= 0)
		return rc;
	if ((rc = sq_has_progress(c)) <= 0)
		return rc;
	sqlite3_stmt *st;
	if ((rc = sq_prepare(c,
			     "SELECT statements_done, checksum FROM ydtb_registry_migrations"
			     " WHERE package = ?1 AND migration = ?2 AND statements_done IS NOT NULL",
			     &st)))
		return rc;
	sqlite3_bind_text(st, 1, package, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, migration, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(st, 0);
		*done = v > 0 ? (size_t)v : 0;
		snprintf(checksum, 72, "%s", sq_col(st, 1) ? sq_col(st, 1) : "");
	} else if (step != SQLITE_DONE) {
		sq_fail(c, NULL, 0);
		rc = DBREG_ECONNECT;
	}
	sqlite3_finalize(st);
	return rc;
}

static void sq_orphans_free(struct sqlite_conn *c)
{
	for (size_t i = 0; i < c->n_orphans; i++) {
		free(c->orphans[i].table);
		free(c->orphans[i].parent);
	}
	free(c->orphans);
	c->orphans = NULL;
	c->n_orphans = 0;
}

/* The rows pragma_foreign_key_check finds, by table and parent. */
#define SQ_ORPHANS_SQL "SELECT \"table\", parent, count(*) FROM pragma_foreign_key_check GROUP BY 1, 2 ORDER BY 1, 2"

/* The violations already there when enforcement goes off: SQLite's
 * default is off, so an application's database may hold orphans that no
 * migration made (audit aeng finding 6). */
static int sq_orphans_note(struct sqlite_conn *c)
{
	sq_orphans_free(c);
	sqlite3_stmt *st;
	int rc = sq_prepare(c, SQ_ORPHANS_SQL, &st);
	if (rc)
		return rc;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct sq_orphans *v = realloc(c->orphans, (c->n_orphans + 1) * sizeof *v);
		if (!v) {
			rc = DBREG_ENOMEM;
			break;
		}
		c->orphans = v;
		v[c->n_orphans] = (struct sq_orphans){dbreg_strdup(sq_col(st, 0) ? sq_col(st, 0) : ""),
						      dbreg_strdup(sq_col(st, 1) ? sq_col(st, 1) : ""),
						      sqlite3_column_int64(st, 2)};
		if (!v[c->n_orphans].table || !v[c->n_orphans].parent) {
			free(v[c->n_orphans].table);
			free(v[c->n_orphans].parent);
			rc = DBREG_ENOMEM;
			break;
		}
		c->n_orphans++;
	}
	if (rc == 0 && step != SQLITE_DONE) {
		sq_fail(c, "cannot check foreign keys", 0);
		rc = DBREG_ECONNECT;
	}
	sqlite3_finalize(st);
	return rc;
}

static long long sq_orphans_before(const struct sqlite_conn *c, const char *table, const char *parent)
{
	for (size_t i = 0; i < c->n_orphans; i++)
		if (strcmp(c->orphans[i].table, table) == 0 && strcmp(c->orphans[i].parent, parent) == 0)
			return c->orphans[i].rows;
	return 0;
}

static int sq_foreign_keys(struct dbreg_conn *conn, bool on)
{
	struct sqlite_conn *c = SQ(conn);
	if (on)
		sq_orphans_free(c);
	int rc = sq_run(c, on ? "PRAGMA foreign_keys = ON" : "PRAGMA foreign_keys = OFF");
	return rc == 0 && !on ? sq_orphans_note(c) : rc;
}

/* Fails on the violations the migration added: a table and parent with
 * more orphans than when enforcement went off (counted, since a rebuilt
 * table's rows get new rowids). Those there before are named beside. */
static int sq_foreign_key_check(struct dbreg_conn *conn)
{
	struct sqlite_conn *c = SQ(conn);
	sqlite3_stmt *st;
	int rc = sq_prepare(c, SQ_ORPHANS_SQL, &st);
	if (rc)
		return rc;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *table = sq_col(st, 0) ? sq_col(st, 0) : "", *parent = sq_col(st, 1) ? sq_col(st, 1) : "";
		long long now = sqlite3_column_int64(st, 2), before = sq_orphans_before(c, table, parent);
		if (now <= before)
			continue;
		struct dbreg_db_error *e = &c->base.err;
		memset(e, 0, sizeof *e);
		char was[128] = "";
		if (before > 0)
			snprintf(was, sizeof was, " (and %lld more that %s already orphaned before it)", before,
				 before == 1 ? "was" : "were");
		snprintf(e->message, sizeof e->message,
			 "foreign key check failed: the migration left %lld row%s of table %s whose reference to %s is "
			 "missing%s",
			 now - before, now - before == 1 ? "" : "s", table, parent, was);
		snprintf(e->hint, sizeof e->hint,
			 "copy the rows the children reference into the rebuilt table, or delete the orphans in the migration");
		rc = DBREG_EMIGRATION;
		break;
	}
	if (rc == 0 && step != SQLITE_DONE) {
		sq_fail(c, "cannot check foreign keys", 0);
		rc = DBREG_ECONNECT;
	}
	sqlite3_finalize(st);
	return rc;
}

/* A file that cannot be opened stays so however long one waits. */
static const char *sq_connect_advice(const char *errmsg, bool *transient)
{
	*transient = errmsg && strstr(errmsg, "is locked by another connection");
	if (*transient)
		return "wait for the process that writes to it to commit, or stop it, then run again";
	return errmsg && strstr(errmsg, "unable to open")
		       ? "the folder of the SQLite file must exist and be writable: create it, or fix the path"
		       : "check the path of the SQLite file";
}

static int sq_server_version(struct dbreg_conn *conn, char *buf, size_t size)
{
	(void)conn;
	snprintf(buf, size, "%s", sqlite3_libversion());
	return 0;
}

/* sqlite: and the file's absolute path, symbolic links resolved (through
 * its folder when the file is not there yet), so that sqlite:x.db,
 * sqlite:./x.db and sqlite:///abs/x.db key one history. */
static char *sq_target_key(const char *url)
{
	const char *path = sq_path(url);
	if (!path)
		return NULL;
	if (strcmp(path, ":memory:") == 0)
		return dbreg_strdup("sqlite::memory:");
	char cwd[PATH_MAX], real[PATH_MAX];
	char *abs = path[0] == '/' ? dbreg_strdup(path)
		    : getcwd(cwd, sizeof cwd) ? dbreg_printf("%s/%s", cwd, path) : NULL;
	if (!abs)
		return NULL;
	char *key = NULL, *slash = strrchr(abs, '/');
	if (realpath(abs, real)) {
		key = dbreg_printf("sqlite:%s", real);
	} else {
		/* Not there yet: its folder resolved, else the path as given. */
		char *dir = strndup(abs, (size_t)(slash - abs));
		if (dir && realpath(dir[0] ? dir : "/", real))
			key = dbreg_printf("sqlite:%s%s", strcmp(real, "/") == 0 ? "" : real, slash);
		else if (dir)
			key = dbreg_printf("sqlite:%s", abs);
		free(dir);
	}
	free(abs);
	return key;
}

static long long sq_ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* Whether the file path + suffix exists (or cannot be told not to). */
static bool sq_beside(const char *path, const char *suffix)
{
	char side[PATH_MAX + 16];
	struct stat sb;
	if ((size_t)snprintf(side, sizeof side, "%s%s", path, suffix) >= sizeof side)
		return true;
	return lstat(side, &sb) == 0 || errno != ENOENT;
}

/* The file's identity and times (fstat) and its 100-byte header (pread:
 * the file change counter at offset 24, which every commit in rollback
 * mode increments, the page count at 28 with version-valid-for at 92, the
 * schema cookie at 40, ...; https://www.sqlite.org/fileformat.html). None
 * when the file is missing or not a database yet, when a -journal or -wal
 * is beside it (a write under way, or its hot journal left by a crash),
 * when the header says WAL (bytes 18 and 19: its commits go to the -wal
 * and leave the counter alone), and when it changed shortly before now.
 * The file is read by pread, never opened through SQLite: no lock taken,
 * nothing created. */
static int sq_content_stamp(const char *url, char *buf, size_t size)
{
	const char *path = url ? sq_path(url) : NULL;
	if (!path || strcmp(path, ":memory:") == 0)
		return 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 1;
	struct stat a, b;
	unsigned char h[100];
	int rc = 1;
	if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode) || pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
	    memcmp(h, "SQLite format 3", 16) != 0 || h[18] != 1 || h[19] != 1)
		goto out;
	/* The side files after the header: a writer creates its journal before
	 * it touches the file and deletes it after its commit. SQLite names
	 * them after the file a symbolic link leads to, not after the link. */
	char real[PATH_MAX];
	if (!realpath(path, real) || sq_beside(real, "-journal") || sq_beside(real, "-wal"))
		goto out;
	/* Unchanged while it was read, and not changed just now. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long long m = sq_ns(&a.st_mtim), c = sq_ns(&a.st_ctim);
	if (fstat(fd, &b) != 0 || b.st_size != a.st_size || sq_ns(&b.st_mtim) != m || sq_ns(&b.st_ctim) != c ||
	    dbreg_time_racy(m, sq_ns(&now)) || dbreg_time_racy(c, sq_ns(&now)))
		goto out;
	char hex[2 * sizeof h + 1];
	for (size_t i = 0; i < sizeof h; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	int n = snprintf(buf, size, "sqlite1 %llu:%llu:%lld:%lld:%lld %s", (unsigned long long)a.st_dev,
			 (unsigned long long)a.st_ino, (long long)a.st_size, m, c, hex);
	rc = n > 0 && (size_t)n < size ? 0 : 1;
out:
	close(fd);
	return rc;
}

static const char *const sq_schemes[] = { "sqlite", NULL };


const struct dbreg_driver dbreg_driver_sqlite = {
	.version = DBREG_DRIVER_VERSION,
	.name = "sqlite",
	.schemes = sq_schemes,
	.dialect = DBREG_DIALECT_SQLITE,
	.connect = sq_connect,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.exec = sq_exec,
	.history_ensure = sq_history_ensure,
	.history_read = sq_history_read,
	.history_read_packages = sq_history_read_packages,
	.rows_read = sq_rows_read,
	.changed_stamp = sq_changed_stamp,
	.registry_read = sq_registry_read,
	.history_record = sq_history_record,
	.package_record = sq_package_record,
	.package_read = sq_package_read,
	.catalog_read = sq_catalog_read,
	.server_version = sq_server_version,
	.lock = sq_lock,
	.unlock = sq_unlock,
	.table_names = sq_table_names,
	.catalog_read_tables = sq_catalog_read_tables,
	.sandbox = sq_sandbox,
	.connect_readonly = sq_connect_readonly,
	.split = sq_split,
	.index_prepare = NULL,             /* SQLite has no INVALID indexes */
	.progress_record = sq_progress_record,
	.progress_read = sq_progress_read,
	.set_timeouts = NULL,              /* --lock-timeout is the lock's */
	.foreign_keys = sq_foreign_keys,
	.foreign_key_check = sq_foreign_key_check,
	.connect_advice = sq_connect_advice,
	.target_key = sq_target_key,
	/* An interrupt ends the process, and with it the statement (SQLite
	 * runs in it); the hot journal undoes the open transaction and the
	 * flock goes with the descriptor. */
	.cancel = NULL,
	.lacks = NULL,                     /* SQLite is linked in, not loaded */
	.registry_digest = sq_registry_digest,
	.content_stamp = sq_content_stamp,
};

/* SQLite's memory statistics take a global mutex on every allocation: with
 * the replay's worker threads a sixth of validate's time went to that
 * mutex. dbreg reads no statistics, so they are off, set before SQLite
 * starts (sqlite3_config refuses once it has, e.g. when the program
 * embedding dbreg started it first: then nothing changes). An embedder
 * that needs sqlite3_memory_used or a soft heap limit calls
 * sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1) before its first use of
 * SQLite. */
__attribute__((constructor)) static void sq_no_memstatus(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	dbreg_sqlite_alloc_install();
}
