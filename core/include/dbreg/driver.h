/* For driver authors only: the table of functions through which the core
 * talks to a database without knowing which one. Like sqlite3_vfs, the
 * table starts with its version; methods are only ever appended, and the
 * optional ones are checked for NULL before a call. A connection embeds
 * struct dbreg_conn first; DBREG_CONN_OF recovers the driver's own type. */
#ifndef DBREG_DRIVER_H
#define DBREG_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "../dbreg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DBREG_DRIVER_VERSION 14

/* What the database said about the last failure. Fixed buffers, so a
 * failure path never allocates. */
struct dbreg_db_error {
	char sqlstate[6];              /* "42P01", or "" when the database has none */
	char message[1024];
	char detail[512];
	char hint[512];
	size_t position;               /* 1-based byte offset in the executed text, 0 unknown */
	/* Appended: which statement of a multi-statement body failed, 1-based
	 * in the order the database ran them, 0 unknown (so a zeroed error
	 * claims nothing). */
	size_t statement;
};

struct dbreg_driver;

/* One statement of a body: the byte range [start, end) of the text, from
 * its first token to its end (its ';' left out). */
struct dbreg_span {
	size_t start, end;
};

/* The base of every connection. */
struct dbreg_conn {
	const struct dbreg_driver *driver;
	struct dbreg_db_error err;     /* filled by a method that fails */
	/* Set by the core (for --verbose), zero otherwise: exec calls it after
	 * each statement of a body with the statement's 1-based number and
	 * how long it took. Drivers zero the connection when they create it. */
	void (*on_statement)(void *arg, size_t statement, double ms);
	void *on_statement_arg;
	/* Appended in version 13: the core sets them only on connections of
	 * drivers of version 13 or later (an older driver's connection ends
	 * above). exec calls it with the text of each notice a body raises
	 * that starts "dbreg: " (PL/pgSQL's RAISE NOTICE), that prefix left
	 * out: how a body the core wrote says what it did. */
	void (*on_notice)(void *arg, const char *message);
	void *on_notice_arg;
};

#define DBREG_CONN_OF(type, conn) ((type *)(void *)(conn))

/* Rows of ydtb_registry_migrations are struct dbreg_applied (dbreg.h). */
struct dbreg_history {
	struct dbreg_applied *rows;        /* oldest first; strings owned */
	size_t len, cap;
};
#define DBREG_HISTORY_INIT { NULL, 0, 0 }

/* What registry_read would return, digested (core/src/regdigest.c says
 * the bytes): equal digests, equal rows. */
struct dbreg_registry_digest {
	size_t n_rows, n_packages;
	char history[72];                  /* every column of every history row, in order */
	char plan[72];                     /* package, migration, version, checksum of each row, then the packages */
};

/* registry_digest_since's fingerprint, NUL included. */
#define DBREG_FINGERPRINT_SIZE 72

/* A registry digest computed from rows as a driver steps them, in the
 * bytes regdigest.c defines (so a driver's registry_digest need not write
 * them): every history row first, in history order, then every installed
 * package in strcmp order of names. Opaque. */
struct dbreg_regdigest;
/* Returns 0 with *out to fill, or DBREG_ENOMEM. */
int dbreg_regdigest_new(struct dbreg_regdigest **out);
/* One history row; NULL fields digest as empty text. */
void dbreg_regdigest_row(struct dbreg_regdigest *d, const char *package, const char *migration,
			 const char *version, const char *checksum, const char *applied_at, long long duration_ms);
/* One installed package, after every row. */
void dbreg_regdigest_package(struct dbreg_regdigest *d, const char *name, const char *version);
/* Fills out and frees d, also when the caller gives up half way (a
 * failed step): call it once for every dbreg_regdigest_new. Returns 0 or
 * DBREG_ENOMEM. */
int dbreg_regdigest_finish(struct dbreg_regdigest *d, struct dbreg_registry_digest *out);

/* Appends a copy of row (its strings are copied). Returns 0 or DBREG_ENOMEM. */
int dbreg_history_append(struct dbreg_history *h, const struct dbreg_applied *row);
void dbreg_history_dispose(struct dbreg_history *h);
/* Puts rows read in the order they were written into applied_at order, as
 * ORDER BY applied_at, <write order> would: a stable sort, and only a scan
 * when (as usual) they already are. Returns 0 or DBREG_ENOMEM. */
int dbreg_history_order(struct dbreg_history *h);

/* The catalog as read back from a database: what exists, not what is
 * declared. Types are spelled as the database reports them, lowercased. */
struct dbreg_cat_column {
	char *name;
	char *type;
	bool not_null;
	char *default_expr;            /* NULL when none (and for a generated column's expression) */
	/* Appended: an identity column (PostgreSQL's GENERATED ... AS
	 * IDENTITY). A column with a nextval() default says so by that
	 * default. */
	bool identity;
};

struct dbreg_cat_fkey {
	char **columns, **ref_columns;
	size_t n_columns;
	char *ref_table;
	char *on_delete, *on_update;   /* "cascade", "restrict", "set null", "set default", "no action" */
	/* Appended: PostgreSQL's NOT VALID (the rows there when it was added
	 * were never checked); false wherever the database has no such state. */
	bool not_valid;
};

struct dbreg_cat_index {
	char *name;
	char **columns;
	size_t n_columns;
	bool unique;
	bool primary;                  /* the index behind the primary key */
	bool valid;                    /* false: PostgreSQL left it INVALID (failed CONCURRENTLY) */
	char *predicate;               /* a partial index's WHERE condition; NULL for all rows */
	char *method;                  /* PostgreSQL's access method ("btree", "brin"); NULL when not told */
};

/* A row-level security policy (PostgreSQL). */
struct dbreg_cat_policy {
	char *name;
	char *command;                 /* "ALL", "SELECT", "INSERT", "UPDATE", "DELETE" */
	bool permissive;               /* false: AS RESTRICTIVE */
	char *roles;                   /* "public", or role names joined by ',' */
	char *using_expr, *check_expr; /* as the database prints them back; NULL when absent */
};

struct dbreg_cat_table {
	char *name;
	struct dbreg_cat_column *columns;  /* in ordinal order */
	size_t n_columns;
	char **primary_key;
	size_t n_primary_key;
	struct dbreg_cat_fkey *fkeys;
	size_t n_fkeys;
	struct dbreg_cat_index *indexes;   /* includes unique constraints' indexes */
	size_t n_indexes;
	/* Appended: row-level security, read by drivers whose database has
	 * it (left zero by the others). */
	bool rls_enabled, rls_forced;
	struct dbreg_cat_policy *policies; /* by name */
	size_t n_policies;
};

struct dbreg_catalog {
	struct dbreg_cat_table *tables;    /* by name */
	size_t n_tables;
};

void dbreg_catalog_dispose(struct dbreg_catalog *cat);
const struct dbreg_cat_table *dbreg_catalog_table(const struct dbreg_catalog *cat, const char *name);

struct dbreg_driver {
	unsigned int version;              /* DBREG_DRIVER_VERSION it was built for */
	const char *name;                  /* "postgres" */
	const char *const *schemes;        /* {"postgres", "postgresql", NULL}; "" matches a keyword string */
	enum dbreg_dialect dialect;

	/* Opens a connection. On failure returns DBREG_ECONNECT (or
	 * DBREG_EUSAGE for a malformed URL) with a message in errbuf that never
	 * contains the password. */
	int (*connect)(struct dbreg_conn **out, const char *url, char *errbuf, size_t errsize);
	void (*close)(struct dbreg_conn *conn);    /* NULL-safe */

	int (*begin)(struct dbreg_conn *conn);
	int (*commit)(struct dbreg_conn *conn);
	int (*rollback)(struct dbreg_conn *conn);

	/* Runs a body of one or more statements in one round trip where the
	 * database allows. On failure fills conn->err (position relative to sql)
	 * and returns DBREG_EMIGRATION. */
	int (*exec)(struct dbreg_conn *conn, const char *sql);

	/* Creates ydtb_registry_migrations and ydtb_registry_packages if missing. */
	int (*history_ensure)(struct dbreg_conn *conn);
	/* Reads the applied migrations, oldest first; an absent table reads as empty. */
	int (*history_read)(struct dbreg_conn *conn, struct dbreg_history *out);
	/* Inserts (up) or deletes (down) one history row, with a prepared statement. */
	int (*history_record)(struct dbreg_conn *conn, const struct dbreg_applied *row, bool up);
	/* Sets a package's installed version; version NULL removes the row. */
	int (*package_record)(struct dbreg_conn *conn, const char *name, const char *version);
	/* Reads installed packages into parallel arrays (owned by caller). */
	int (*package_read)(struct dbreg_conn *conn, char ***names, char ***versions, size_t *n);

	/* Reads every user table (dbreg's own history tables excluded). */
	int (*catalog_read)(struct dbreg_conn *conn, struct dbreg_catalog *out);
	int (*server_version)(struct dbreg_conn *conn, char *buf, size_t size);

	/* Optional: the registry-wide lock held for a whole run. lock returns
	 * DBREG_ELOCKED after timeout_s seconds with the holder named in
	 * conn->err.message when known. */
	int (*lock)(struct dbreg_conn *conn, int timeout_s);
	int (*unlock)(struct dbreg_conn *conn);

	/* Version 2 methods go below this line. All are optional: check
	 * version >= 2 and the pointer for NULL before a call. */

	/* The names of every user table (as catalog_read would list them),
	 * sorted; *names and its strings are owned by the caller. */
	int (*table_names)(struct dbreg_conn *conn, char ***names, size_t *n);
	/* Like catalog_read, but reads only the named tables that exist (names
	 * absent from the database are skipped), sorted by name. */
	int (*catalog_read_tables)(struct dbreg_conn *conn, const char *const *names, size_t n,
				   struct dbreg_catalog *out);
	/* Confines what exec runs from now on, for SQL taken from manifests
	 * that is only being checked: no ATTACH (so no VACUUM INTO either), no
	 * transaction statements inside a body (they become no-ops: begin,
	 * commit and rollback stay the caller's), and a body still running
	 * after budget_ms milliseconds is stopped: exec returns
	 * DBREG_EMIGRATION with conn->err saying so. */
	int (*sandbox)(struct dbreg_conn *conn, unsigned budget_ms);

	/* Version 3 methods go below this line. All are optional: check
	 * version >= 3 and the pointer for NULL before a call. */

	/* Like connect, for a run that only reads (dry runs, status, verify):
	 * the connection must not create or change anything, and a target that
	 * does not exist yet reads as an empty database. Without it, the core
	 * uses connect. */
	int (*connect_readonly)(struct dbreg_conn **out, const char *url, char *errbuf, size_t errsize);

	/* Version 4 methods go below this line. All are optional: check
	 * version >= 4 and the pointer for NULL before a call. */

	/* The statements of a body as the database would run them, in order:
	 * *out (malloc'd, the caller frees it) holds *n spans of sql. Used to
	 * run a transaction = false body one statement at a time and to name
	 * the failing statement of any body. Returns 0, DBREG_ENOMEM, or
	 * DBREG_EMIGRATION with conn->err set when the text cannot be split
	 * (an unterminated quote). */
	int (*split)(struct dbreg_conn *conn, const char *sql, struct dbreg_span **out, size_t *n);
	/* Called before each statement of a transaction = false body: when the
	 * statement builds an index that exists but is INVALID (an earlier
	 * CREATE INDEX CONCURRENTLY failed), drop it so that the statement
	 * builds it again instead of skipping it (IF NOT EXISTS). */
	int (*index_prepare)(struct dbreg_conn *conn, const char *statement);
	/* The progress of a transaction = false migration that stopped part
	 * way: a row of ydtb_registry_migrations with statements_done set
	 * (history_read leaves such rows out). progress_record writes it
	 * (row->checksum is that of the statements done) or, with done == 0,
	 * removes it; progress_read finds it: *done 0 when there is none,
	 * checksum (72 bytes) filled otherwise. */
	int (*progress_record)(struct dbreg_conn *conn, const struct dbreg_applied *row, size_t done);
	int (*progress_read)(struct dbreg_conn *conn, const char *package, const char *migration, size_t *done,
			     char *checksum);
	/* The target's timeouts (cli.md lock_timeout, statement_timeout), in
	 * milliseconds, 0 for none, set for every migration that follows. */
	int (*set_timeouts)(struct dbreg_conn *conn, long long lock_ms, long long statement_ms);
	/* A foreign_keys = false migration (SQLite): enforcement is switched
	 * off (on = false) outside a transaction, before its BEGIN, and on
	 * again after its COMMIT or ROLLBACK; foreign_key_check runs inside
	 * the transaction before COMMIT and returns DBREG_EMIGRATION, naming
	 * the table with rows that violate a foreign key in conn->err, when
	 * the migration added one: violations already there when enforcement
	 * went off are not the migration's (SQLite's driver counts them per
	 * table and parent then, and names them beside new ones). */
	int (*foreign_keys)(struct dbreg_conn *conn, bool on);
	int (*foreign_key_check)(struct dbreg_conn *conn);
	/* About a connect that failed with errmsg: whether waiting can fix it
	 * (*transient: the server refused, timed out or is starting up), and
	 * a hint that fits (static text; NULL for none). Without it, the core
	 * takes every failure as transient. */
	const char *(*connect_advice)(const char *errmsg, bool *transient);

	/* Version 5 methods go below this line. All are optional: check
	 * version >= 5 and the pointer for NULL before a call. */

	/* The database url names, as one key for every spelling of it (cli.md:
	 * the state file keeps a target's history under it): malloc'd, never
	 * holding a password; NULL when url is malformed or out of memory.
	 * Without it, the core keys a target by its redacted URL; but NULL
	 * with errno ELIBACC (a library the driver needs cannot be loaded)
	 * keys nothing: the target's stored history cannot be found. */
	char *(*target_key)(const char *url);
	/* Whether the literals a and b are one value of type (a type as
	 * catalog_read spells it), as the database reads them: *same. Returns
	 * 0, or nonzero when it cannot tell (a literal the type refuses, a
	 * type without equality); an open transaction survives either way. */
	int (*values_equal)(struct dbreg_conn *conn, const char *type, const char *a, const char *b, bool *same);

	/* Version 6 methods go below this line. All are optional: check
	 * version >= 6 and the pointer for NULL before a call. */

	/* history_read limited to the rows of the n named packages, in the
	 * same order: a run whose steps touch a few packages (a watch round)
	 * checks them without reading every row of a large history. */
	int (*history_read_packages)(struct dbreg_conn *conn, const char *const *names, size_t n,
				     struct dbreg_history *out);
	/* The n_columns named columns of every row of a user table, as text:
	 * *cells holds *n_rows * n_columns strings row by row (NULL for SQL
	 * NULL), owned by the caller (dbreg_strv_free). A table that does not
	 * exist reads as no rows. The apply engine compares ydtb_tools with
	 * the manifests' tools before writing them. */
	int (*rows_read)(struct dbreg_conn *conn, const char *table, const char *const *columns, size_t n_columns,
			 char ***cells, size_t *n_rows);
	/* A number that moves whenever another connection has committed to
	 * the target since this one last asked (never for this connection's
	 * own commits): a watch keeps the history it read while it stays. */
	int (*changed_stamp)(struct dbreg_conn *conn, unsigned long long *stamp);

	/* Version 7 methods go below this line. All are optional: check
	 * version >= 7 and the pointer for NULL before a call. */

	/* history_read and package_read at once, in one round trip where the
	 * database allows: the whole of a visit that finds nothing to do (a
	 * fleet's no-op target). Absent tables read as empty, as there, and
	 * nothing is written. expect_tables is a hint (the caller read rows
	 * from this target before), never trusted for the result: the driver
	 * may then read without asking first whether the tables exist, and
	 * ask only when the read fails. Outputs as history_read's and
	 * package_read's; on failure they are left empty. */
	int (*registry_read)(struct dbreg_conn *conn, bool expect_tables, struct dbreg_history *hist, char ***names,
			     char ***versions, size_t *n);

	/* Version 8 methods go below this line. All are optional: check
	 * version >= 8 and the pointer for NULL before a call. */

	/* Asks the database to stop the statement conn runs now, so that an
	 * interrupted run frees the server at once (its transaction then fails
	 * and is rolled back). Called from a SIGINT/SIGTERM handler, maybe on
	 * another thread while a method runs on conn: async-signal-safe calls
	 * only, nothing allocated (connect prepares what it needs). Returns 0
	 * when the request was sent. NULL when ending the process is enough
	 * (SQLite: the hot journal undoes the open transaction). */
	int (*cancel)(struct dbreg_conn *conn);

	/* Version 9 methods go below this line. All are optional: check
	 * version >= 9 and the pointer for NULL before a call. */

	/* What the driver lacks on this machine to work at all (a library it
	 * loads at first use that cannot be loaded), in its own words; NULL
	 * when nothing. Static or the driver's own text, valid until the
	 * process ends. The core says it where it cannot even tell which
	 * database a URL names (target_key's ELIBACC), without naming the
	 * library itself. NULL method: the driver needs nothing of its own. */
	const char *(*lacks)(void);

	/* Version 10 methods go below this line. All are optional: check
	 * version >= 10 and the pointer for NULL before a call. */

	/* registry_read's rows digested where they are (regdigest.c's bytes,
	 * computed by the database or without copying a row), so a visit
	 * that finds what it saw last time reads one row, not the history.
	 * expect_tables as registry_read's. Returns 0 with *out filled, 1
	 * when it cannot tell here (a registry table is absent: the caller
	 * reads the rows), or an error with conn->err filled. */
	int (*registry_digest)(struct dbreg_conn *conn, bool expect_tables, struct dbreg_registry_digest *out);

	/* Version 11 methods go below this line. All are optional: check
	 * version >= 11 and the pointer for NULL before a call. */

	/* A text that changes whenever the database url names changes, taken
	 * WITHOUT connecting (no lock, no open through the database's own
	 * library, nothing written): equal stamps, same contents. Written to
	 * buf (at most size bytes, NUL included). Returns 0 with the stamp, 1
	 * when there is none to trust (no such file, a write under way or
	 * just made, a mode whose commits the stamp would not see, a stamp
	 * longer than size). The core keeps one per target that a run found
	 * nothing to do for, and does not open a target whose stamp is the
	 * one kept (core/src/stamp.c). NULL: every visit connects (a server:
	 * its contents cannot be seen from here). */
	int (*content_stamp)(const char *url, char *buf, size_t size);

	/* Version 12 methods go below this line. All are optional: check
	 * version >= 12 and the pointer for NULL before a call. */

	/* registry_digest, and in the same read (one snapshot) a fingerprint
	 * of what it digested: a text that the database computes without
	 * reading the rows' contents and that changes whenever a row the
	 * digest covers does (a change that leaves it as it was may move it
	 * too). Given since, the fingerprint a call returned before (or
	 * NULL), returns 2 with fp = since and *out zeroed, nothing digested,
	 * when it is still the one; else as registry_digest, with fp the
	 * fingerprint, "" when there is none to trust. The core keeps the
	 * digests with it (core/src/cache.c, the fingerprint memo). NULL
	 * method: registry_digest every visit. */
	int (*registry_digest_since)(struct dbreg_conn *conn, bool expect_tables, const char *since,
				     char fp[DBREG_FINGERPRINT_SIZE], struct dbreg_registry_digest *out);

	/* Version 13 adds no method: struct dbreg_conn's on_notice. */

	/* Version 14 methods go below this line. All are optional: check
	 * version >= 14 and the pointer for NULL before a call. */

	/* Whether the SQL expressions a and b, each the default of a column of
	 * type (as catalog_read spells it), are one expression as the database
	 * itself prints them once parsed ('x' and 'x'::text, lower('X') and
	 * lower('X'::text)): *same. Nothing is evaluated that a default would
	 * not evaluate when the column is written. Returns 0, or nonzero when
	 * it cannot tell (either does not parse); an open transaction
	 * survives either way. */
	int (*exprs_equal)(struct dbreg_conn *conn, const char *type, const char *a, const char *b, bool *same);
};

/* ---- the core's helpers for what a driver hands it ----------------------
 * What a driver returns (strings, string vectors, catalogs, histories) is
 * freed by the core with free(), dbreg_strv_free, dbreg_catalog_dispose
 * and dbreg_history_dispose: these build it the way they free it. */

/* strdup that accepts NULL (returns NULL): a NULL read from the database
 * (sqlite3_column_text out of memory) turns into a NULL the caller takes
 * for DBREG_ENOMEM instead of a crash. */
char *dbreg_strdup(const char *s);
/* malloc'd printf, NULL on allocation failure. */
char *dbreg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Appends a copy of s ("" for NULL) to the string vector *v of *n items,
 * growing it by one. Returns 0 or DBREG_ENOMEM (the vector is unchanged
 * but may have moved). */
int dbreg_strv_push(char ***v, size_t *n, const char *s);
/* Frees the n strings of v and v itself; NULL-safe. */
void dbreg_strv_free(char **v, size_t n);
/* Appends one zeroed element of size bytes to the array whose pointer
 * variable is at arrp (a T ** passed as void *: a catalog's tables,
 * columns, ...) and whose length is *n. Returns the new element, or NULL
 * when out of memory (the array is kept as it was). */
void *dbreg_array_push(void *arrp, size_t *n, size_t size);
/* Where the SQL statement at or after byte p of sql really begins: past
 * white space, -- and block comments, never beyond end (a span's start,
 * as split reports it and the core looks for one). */
size_t dbreg_sql_skip_blank(const char *sql, size_t p, size_t end);
/* Copies `text` (a driver or server message about `url`) with the URL
 * replaced by its redacted form and every password of `url` (as written,
 * percent-decoded or unescaped) replaced by "***": what connect writes to
 * errbuf. Returns a malloc'd string, NULL on allocation failure. */
char *dbreg_url_scrub(const char *text, const char *url);
/* Why a URI cannot be told apart safely, or NULL: an '@' that libpq reads
 * as part of the host, port or database (postgres://u:p@ss@h/db, where the
 * password's '@' was not written %40, or u:p/ss@h, where its '/' was not
 * %2F), so that its messages and the history's key would hold a piece of
 * the password. Keyword strings and sqlite: URLs are never unclear. A
 * driver refuses such a URL (DBREG_EUSAGE) before it parses it. */
const char *dbreg_url_unclear(const char *url);

/* Whether a file's modification or change time t_ns (ns since the epoch)
 * is too close to now_ns for a later write to move it: one within the same
 * tick of the file system's clock leaves it as it is. The tick is taken as
 * 2 s for a time without a fraction of a second (FAT keeps 2 s; ext4 with
 * 128-byte inodes, HFS+ and some NFS servers whole seconds), else 100 ms
 * (above the kernel's clock tick). The one rule of the core's registry
 * cache and of SQLite's content_stamp. */
bool dbreg_time_racy(long long t_ns, long long now_ns);

/* The wait dbreg_target_set_lock_wait set, in seconds (60 unless set). */
int dbreg_target_lock_wait(void);

/* Whether an interrupt's cancels went out (dbreg_cancel_all, dbreg.h):
 * the run is ending. A driver's own waits (a lock it polls) give up, and
 * what it runs under a run's registry lock on its own (SQLite's
 * statements, which no cancel request reaches) stops, so that the run
 * rolls back and ends. Async-signal-safe. */
bool dbreg_cancel_ending(void);

/* Registers a driver. Refuses a vtable with a missing required method or a
 * scheme already taken: returns DBREG_EUSAGE with the reason in errbuf.
 * The table of drivers has no lock: register before other threads connect. */
int dbreg_driver_register(const struct dbreg_driver *drv, char *errbuf, size_t errsize);

/* The driver for a URL: by scheme ("sqlite:", "postgres://"), or the one
 * registered for "" when the URL has no scheme (libpq keyword strings).
 * Registers the built-in drivers on first use. NULL when none. */
const struct dbreg_driver *dbreg_driver_for_url(const char *url);

#ifdef __cplusplus
}
#endif

#endif
