/* dbreg: the package database registry. This header is the whole public API:
 * the command line, the tests and embedding applications use nothing else.
 * Failures return a negative DBREG_E* code whose message is kept in the
 * handle (dbreg_registry_errmsg); validation findings are data, a list of
 * diagnostics, never "the last error".
 *
 * Threads: a handle (registry, plan, connection, state file) is used by one
 * thread at a time, and distinct handles on distinct threads need no lock.
 * A validated registry may be read by many threads at once (planning and
 * applying read it; dbreg_fleet_run does so on its workers). Drivers are
 * registered (dbreg_driver_register) before other threads connect. */
#ifndef DBREG_H
#define DBREG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DBREG_VERSION_STRING "0.1.0"

/* The version of the library the program runs with, which after an
 * upgrade of the shared library may be newer than the DBREG_VERSION_STRING
 * the program was compiled with (SQLite's sqlite3_libversion). */
const char *dbreg_version(void);

/* Return codes. The CLI's exit code is the negated value for -1..-6. */
enum dbreg_error {
	DBREG_OK = 0,
	DBREG_EINVALID = -1,   /* manifests or plan have errors; nothing changed */
	DBREG_EUSAGE = -2,     /* bad arguments */
	DBREG_ECONNECT = -3,   /* cannot connect, or a statement outside a migration refused */
	DBREG_EMIGRATION = -4, /* a migration failed; the target was rolled back */
	DBREG_ELOCKED = -5,    /* timed out waiting for another run's lock */
	DBREG_EVERIFY = -6,    /* the database differs from the declared schema */
	DBREG_ENOMEM = -7,     /* out of memory */
	DBREG_EIO = -8,        /* a file could not be read or written */
	DBREG_ESTATE = -9,     /* the state file is not a usable one (not SQLite, truncated, another program's
				* or a newer dbreg's schema, damaged): left as it is, nothing changed */
};

/* The SQL dialects dbreg plans for. */
enum dbreg_dialect { DBREG_DIALECT_POSTGRES, DBREG_DIALECT_SQLITE };

/* ---- diagnostics ------------------------------------------------------- */

enum dbreg_severity { DBREG_SEV_ERROR, DBREG_SEV_WARNING };

/* A place in a file; line and column are 1-based, 0 when unknown. */
struct dbreg_loc {
	const char *file;
	unsigned line, column;
};

/* One finding. Every string is owned by the list that holds it; NULL where
 * the value is unknown. */
struct dbreg_diag {
	enum dbreg_severity severity;
	const char *code;              /* "DBR020", static, from the code table */
	char *file;
	unsigned line, column;
	char *package, *table, *column_name, *migration;
	char *message;
	char *hint;
};

struct dbreg_diag_list {
	struct dbreg_diag *items;
	size_t len, cap;
	size_t errors, warnings;       /* counts by severity */
};
#define DBREG_DIAG_LIST_INIT { NULL, 0, 0, 0, 0 }

/* Frees every diagnostic and resets the list. NULL-safe. */
void dbreg_diag_list_dispose(struct dbreg_diag_list *list);

/* Sorts by file, line, column, code (stable), so output never depends on
 * the order checks ran in. */
void dbreg_diag_list_sort(struct dbreg_diag_list *list);

/* The severity and one-line title of a code ("DBR020" -> "package table
 * without the ydtb_ prefix"); NULL title for an unknown code. */
const char *dbreg_diag_title(const char *code, enum dbreg_severity *severity);

/* Output flags for the printers. */
enum { DBREG_PRINT_COLOR = 1 };

/* Human form, one line each:
 * `tomls/basic.toml:14:3: error[DBR020]: message (hint: ...)`. */
void dbreg_diag_print(FILE *fp, const struct dbreg_diag *d, unsigned flags);

/* Appends the list as a JSON array of diagnostic objects (keys of cli.md,
 * unknown values null). */
void dbreg_diag_list_json(FILE *fp, const struct dbreg_diag_list *list);

/* Writes one diagnostic as a JSON object, on one line (the list's shape). */
void dbreg_diag_json(FILE *fp, const struct dbreg_diag *d);

/* Writes s as a JSON string literal, or null for NULL. */
void dbreg_json_str(FILE *fp, const char *s);

/* ---- projects and the registry ----------------------------------------- */

struct dbreg_target_def {
	char *name;                    /* "dev" */
	char *url;                     /* as written, ${NAME} not yet expanded */
	long long lock_timeout_ms;     /* lock_timeout ("5s"): PostgreSQL, every migration; 0 none */
	long long statement_timeout_ms;/* statement_timeout ("10min"); 0 none */
	int dev;                       /* dev = true: 1, dev = false: 0, not said: -1 */
};

/* [fleets.NAME] as written in dbreg.toml; resolved by dbreg_fleet_open. */
struct dbreg_fleet_def {
	char *name;
	char **targets;                /* target names or URLs, ${NAME} not yet expanded */
	size_t n_targets;
	char *urls_file;               /* one URL per line, relative to the project; NULL: none */
	char **canary;                 /* names or URLs among the fleet's targets */
	size_t n_canary;
	size_t jobs;                   /* targets at a time; 0: the number of CPUs */
};

/* [isolation] of dbreg.toml (issue 16; manifest.md, "Workspace isolation in
 * the database"). Zeroed: no row-level security, no DBR106. */
struct dbreg_isolation {
	bool row_level_security;       /* PostgreSQL policies on every workspace table */
	char setting[64];              /* the setting the policies read; "": app.workspace_id */
	bool workspace_keys;           /* DBR106 warnings */
};

/* A project folder and its optional dbreg.toml. */
struct dbreg_project {
	char *dir;                     /* the project folder */
	char **package_dirs;           /* relative to dir, spelled plainly ("./tomls/": "tomls"); default {"tomls"} */
	size_t n_package_dirs;
	unsigned packages_line, packages_column;   /* of [registry] packages in dbreg.toml; 0: the default */
	char *state_path;              /* relative to dir, spelled plainly; default ".dbreg/state.db" */
	struct dbreg_target_def *targets;
	size_t n_targets;
	struct dbreg_fleet_def *fleets;    /* [fleets.NAME] (issue 17) */
	size_t n_fleets;
	struct dbreg_isolation isolation;  /* [isolation] */
};

/* Reads DIR/dbreg.toml when present (problems go to diags with code DBR001,
 * DBR013 or DBR014). Returns 0, DBREG_EINVALID when dbreg.toml has errors,
 * DBREG_ENOMEM. *out is set on success; free with dbreg_project_free. */
int dbreg_project_open(struct dbreg_project **out, const char *dir, struct dbreg_diag_list *diags);
void dbreg_project_free(struct dbreg_project *p);

/* Resolves a target name or URL (NULL: "dev" if defined, else
 * "sqlite:ydtb.db") into a URL with ${NAME} expanded from the environment.
 * A relative sqlite path is taken relative to the project folder.
 * Returns 0 and a malloc'd *url, or DBREG_EUSAGE with a message in err. */
int dbreg_project_target_url(char **url, const struct dbreg_project *p, const char *target,
			     char *err, size_t errsize);

/* The target named `target` in dbreg.toml (NULL: "dev"), or NULL when it
 * names none (a URL). Borrowed from p. */
const struct dbreg_target_def *dbreg_project_target(const struct dbreg_project *p, const char *target);
/* ---- development targets and bypass flags (issue 14) ---------------------- */

/* Whether a target is a development target, where bypass flags (--allow),
 * reset and watch may change it (cli.md): its [targets.NAME] says dev =
 * true, or it is a SQLite file and does not say dev = false; an in-memory
 * SQLite database always is. `target` is the name or URL as given (NULL:
 * the default), `url` what dbreg_project_target_url made of it. */
bool dbreg_project_target_is_dev(const struct dbreg_project *p, const char *target, const char *url);
/* The [targets.NAME] whose dev = true or false decides for the database
 * that target (name or URL, NULL: the default) and url are: any naming the
 * same database (dbreg_target_key) that says dev = false, so a database
 * marked not for development is not reset by another spelling; else the
 * named target's own, or for a URL one naming its database that says
 * dev = true. NULL: none says. */
const struct dbreg_target_def *dbreg_project_target_saying_dev(const struct dbreg_project *p, const char *target,
							      const char *url);

/* Whether a code names an error that --allow may turn into a DBR105
 * warning: any error code of the table. */
bool dbreg_diag_code_allowable(const char *code);

struct dbreg_registry;

/* Creates an empty registry. Returns 0 or DBREG_ENOMEM. */
int dbreg_registry_new(struct dbreg_registry **out);

/* Frees the registry and everything loaded into it. NULL-safe. */
void dbreg_registry_free(struct dbreg_registry *reg);

/* Loads every manifest of the project (its package folders, recursively,
 * every *.toml except dbreg.toml, in byte order of path). Problems go to
 * the registry's diagnostics. Returns 0 (even with diagnostics),
 * DBREG_EIO when a folder cannot be read, DBREG_ENOMEM. */
int dbreg_registry_load_project(struct dbreg_registry *reg, const struct dbreg_project *p);

/* Registers one manifest file. Returns as above. */
int dbreg_registry_add_file(struct dbreg_registry *reg, const char *path);

/* Registers a manifest held in memory (runtime registration); `name` stands
 * for the file in messages, and up_file paths are relative to `base_dir`
 * (may be NULL: current folder). */
int dbreg_registry_add_string(struct dbreg_registry *reg, const char *name, const char *base_dir,
			      const char *text, size_t len);

/* Validation options. */
struct dbreg_validate_opts {
	bool skip_sql;                 /* only declarations, no SQL analysis (DBR043..DBR047, DBR103) */
	/* --allow on a development target: errors with these codes become
	 * DBR105 warnings for this run (the caller checks the target). */
	const char *const *allow;
	size_t n_allow;
	FILE *log;                     /* -v: each phase with its timing; NULL: silent */
	/* The time budget of the SQL checks in milliseconds (0: 30 s); past
	 * it the packages left are not checked and validation fails (DBR044). */
	unsigned budget_ms;
	/* The state file whose stored check results the SQL checks re-use
	 * (dbreg_check_cache_load), looked up on a thread of their own while
	 * the declarations are checked (dbreg_registry_validate and
	 * dbreg_registry_validate_start; not with skip_sql). The caller does
	 * not use it during the call. NULL: none, or loaded before. */
	struct dbreg_state *results;
};

/* ---- workspace isolation (issue 16: isolation.c) -------------------------- */

/* Sets what [isolation] says for this registry: DBR106 when validating,
 * the row-level security policies that plans, runs and verify make and
 * check. dbreg_registry_load_project takes them from the project. The
 * setting must be a custom option name "prefix.name" of lowercase letters,
 * digits and '_' (else DBREG_EUSAGE with the message in the handle). */
int dbreg_registry_set_isolation(struct dbreg_registry *reg, const struct dbreg_isolation *iso);

/* Runs every check of the contract over what is registered; findings are
 * appended to the registry's diagnostics. Returns 0 when there is no
 * error-severity diagnostic, DBREG_EINVALID when there is, DBREG_ENOMEM. */
int dbreg_registry_validate(struct dbreg_registry *reg, const struct dbreg_validate_opts *opts);

/* ---- validation beside a cold apply (issue 18: validate.c) ---------------- */

/* The SQL checks of a validation running on a thread of their own. */
struct dbreg_validate_job;

/* As dbreg_registry_validate, except that when the declarations have no
 * error the SQL checks start on a thread of their own and 0 is returned
 * with *job set: the registry may then be planned (its plan order is set)
 * while they run, and gets its verdict from dbreg_validate_job_wait. *job
 * is NULL when everything ran here (then the verdict is returned as
 * dbreg_registry_validate's): declaration errors, opts NULL, skip_sql or
 * --allow. */
int dbreg_registry_validate_start(struct dbreg_validate_job **job, struct dbreg_registry *reg,
				  const struct dbreg_validate_opts *opts);

/* Waits for the SQL checks and returns what dbreg_registry_validate would
 * have, with its diagnostics where it would have put them (those added
 * since the start, e.g. by the planner, stay after them). Idempotent:
 * later calls return the same. NULL returns 0. */
int dbreg_validate_job_wait(struct dbreg_validate_job *job);

/* Waits (when not yet) and frees. NULL-safe. */
void dbreg_validate_job_free(struct dbreg_validate_job *job);

/* The diagnostics so far, sorted. Borrowed from the registry. */
const struct dbreg_diag_list *dbreg_registry_diags(struct dbreg_registry *reg);

/* Message of the last failure, or "". Borrowed until the next call. */
const char *dbreg_registry_errmsg(const struct dbreg_registry *reg);

/* A checksum of everything the registry was loaded from (every manifest's
 * bytes, every up_file/down_file body) and of this build of dbreg, so
 * that equal checksums mean validate would find the same. out: 72 bytes,
 * "sha256:<hex>". */
void dbreg_registry_checksum(const struct dbreg_registry *reg, char out[72]);

/* Number of packages registered, and read-only views of them in name order. */
size_t dbreg_registry_package_count(const struct dbreg_registry *reg);
const char *dbreg_registry_package_name(const struct dbreg_registry *reg, size_t i);
const char *dbreg_registry_package_version(const struct dbreg_registry *reg, size_t i);
/* Whether every migration of the i-th package has a body for SQLite, so
 * that validate's offline replay can compare what they produce with its
 * declared tables (DBR047); a package written for PostgreSQL alone is
 * compared only by validate --target on a PostgreSQL server. */
bool dbreg_registry_package_replayable(const struct dbreg_registry *reg, size_t i);

/* The first package that declares [[tools]] while the one core package
 * declares no ydtb_tools table, so that apply writes its tools nowhere; NULL
 * when every tool has its table (or there are none). Validation says so as
 * DBR016; this is for the note of a run that bypassed it. */
const char *dbreg_registry_tools_unwritten(const struct dbreg_registry *reg);


/* ---- hot reload: what changed between two loads (reload.c, issue 14) ------ */

enum dbreg_change_what {
	DBREG_CHANGE_FILE,             /* name: a manifest or SQL file, as the registry names it */
	DBREG_CHANGE_PACKAGE,          /* name: the package; detail: "version 1.0.0 -> 1.1.0" */
	DBREG_CHANGE_TABLE,
	DBREG_CHANGE_COLUMN,           /* table: its table */
	DBREG_CHANGE_INDEX,            /* table: its table */
	DBREG_CHANGE_MIGRATION,        /* name: the migration id */
};

enum dbreg_change_kind { DBREG_CHANGE_ADDED, DBREG_CHANGE_REMOVED, DBREG_CHANGE_CHANGED };

/* One change. Strings owned by the list; NULL where not about one. */
struct dbreg_change {
	enum dbreg_change_what what;
	enum dbreg_change_kind kind;
	char *package, *table, *name;
	char *detail;                  /* what changed, in words ("type text -> integer"); NULL */
};

struct dbreg_changes {
	struct dbreg_change *items;    /* files first, then per package in name order */
	size_t len, cap;
	size_t n_files;                /* items that are DBREG_CHANGE_FILE */
	size_t loaded;                 /* manifests read and parsed again */
	size_t rechecked;              /* packages whose SQL checks ran again */
	double ms;                     /* the whole reload, validation included */
	size_t stand_ins;              /* manifests that are not TOML now, whose last package stands in
					  (dbreg_registry_reload): nothing is to be planned from this load */
	/* dbreg_watch_run's, about dbreg.toml (borrowed for the callback): */
	const struct dbreg_project *project;   /* read again and good: the project from now on; else NULL */
	const struct dbreg_diag_list *project_diags;   /* read again and has errors (reg is NULL) */
	bool project_broken;           /* it has errors since it was last read: the last good one is in use */
};
#define DBREG_CHANGES_INIT { NULL, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, false }

/* Frees every change and zeroes the list. NULL-safe. */
void dbreg_changes_dispose(struct dbreg_changes *c);

/* The words of a kind and of a what: "added", "table", ... (static). */
const char *dbreg_change_kind_name(enum dbreg_change_kind kind);
const char *dbreg_change_what_name(enum dbreg_change_what what);

struct dbreg_reload_opts {
	/* Files known to have changed (a watcher's events), spelled as the
	 * registry opens them (dbreg_watch reports them so); a manifest not
	 * among them, none of whose SQL files is, is taken over without being
	 * read. NULL: every file is read and compared by content. */
	const char *const *changed;
	size_t n_changed;
	const struct dbreg_validate_opts *validate;   /* NULL: everything, no bypass */
	FILE *log;                     /* -v: what was read and re-checked, and why, with timings; NULL: silent */
};

/* Loads the project again into a new validated registry *out, re-reading
 * only the manifests (and up_file/down_file bodies) whose content changed
 * and re-running the SQL checks only where a change can matter: a changed
 * package; a package whose other findings changed; a package whose SQL
 * names a table whose owner changed, or a table of a changed package it
 * depends on. Unchanged packages are moved from `old` into *out with their
 * findings; `old` keeps only the packages that were replaced or removed,
 * as they were (the bodies that were applied from them: see
 * dbreg_plan_opts.previous), and is still the caller's to free. old may be
 * NULL: a first, full load that later reloads can build on. A manifest
 * that loaded before and is not TOML now (a save half way through an
 * edit) keeps its last package in *out beside the file's DBR001, so that
 * nothing of it reads as removed and the reload after the fix shows only
 * what changed since that package. What changed
 * (files, packages, tables, columns, indexes, migrations) is appended to
 * *changes (may be NULL). Returns 0; DBREG_EINVALID when the new registry
 * has errors (its diagnostics say which; *out is set); DBREG_EIO when a
 * package folder cannot be read (old is then untouched, *out NULL);
 * DBREG_ENOMEM. */
int dbreg_registry_reload(struct dbreg_registry **out, struct dbreg_registry *old, const struct dbreg_project *p,
			  const struct dbreg_reload_opts *opts, struct dbreg_changes *changes);

/* ---- watching the project (watch.c, issue 14) ------------------------------ */

struct dbreg_watch;

/* Watches the package folders of a project, recursively (folders, not
 * files: editors save by renaming a new file over the old one), and its
 * dbreg.toml, with inotify. Folders created later are watched as they
 * appear, and so is a package folder not there yet, at any depth (made,
 * made again, moved in: its files count as changed). Returns 0,
 * DBREG_EIO with a message in err. Close with dbreg_watch_close. */
int dbreg_watch_open(struct dbreg_watch **out, const struct dbreg_project *p, char *err, size_t errsize);

/* Also watches the folders of every up_file/down_file of the registry
 * (kept: folders already watched stay). Returns 0 or DBREG_EIO/ENOMEM. */
int dbreg_watch_add_registry(struct dbreg_watch *w, const struct dbreg_registry *reg);

/* Waits until a file under the watched folders is written, created, moved
 * or deleted, then for `debounce_ms` (0: 150) of quiet, and hands over the
 * files that changed (spelled as dbreg_registry_reload expects; *paths
 * freed by the caller, each string and the array). Returns 1 with paths;
 * 0 when `stop_fd` (>= 0, e.g. a signalfd) became readable or timeout_ms
 * (< 0: none) passed; DBREG_EIO. */
int dbreg_watch_wait(struct dbreg_watch *w, int stop_fd, int timeout_ms, int debounce_ms, char ***paths,
		     size_t *n_paths);

/* Closes the inotify descriptor and frees the watcher. NULL-safe. */
void dbreg_watch_close(struct dbreg_watch *w);

/* Called once per reload that changed something (and once for the first
 * load, with old NULL): the new registry (validated: its diagnostics are
 * the findings), the registry that kept what was replaced, and the
 * changes. A non-zero return stops the loop with that value. */
typedef int (*dbreg_reload_fn)(void *arg, struct dbreg_registry *reg, struct dbreg_registry *old,
			       const struct dbreg_changes *changes, int reload_rc);

struct dbreg_watch_opts {
	int stop_fd;                   /* readable: stop (a signalfd for SIGINT/SIGTERM); -1: none */
	int debounce_ms;               /* 0: 150 */
	const struct dbreg_validate_opts *validate;
	FILE *log;                     /* as dbreg_reload_opts.log */
};

/* The development loop of an embedding application: loads the project,
 * calls back, then on every change of its files reloads (dbreg_registry_reload)
 * and calls back with what changed; a change that leaves every file's
 * content as it was calls nothing. Runs until stop_fd is readable (returns
 * 0) or the callback returns non-zero (returns that). A reload that failed
 * (a folder unreadable) is passed to the callback as reload_rc with reg
 * NULL, and the loop goes on with the last good registry. A dbreg.toml
 * whose content changed is read again: good, the loop goes on with it (its
 * new package folders watched, every manifest compared, and a call even
 * when no manifest changed, with changes->project set); with errors, a call
 * with reg NULL, reload_rc DBREG_EINVALID and changes->project_diags, and
 * the loop goes on with the last good project. *reg holds the last
 * registry on return (the caller frees it). */
int dbreg_watch_run(const struct dbreg_project *p, struct dbreg_registry **reg, const struct dbreg_watch_opts *opts,
		    dbreg_reload_fn fn, void *arg);

/* ---- state file, plans, runs (state.c, plan.c, apply.c) -------------------- */

/* One applied migration as a target's history holds it. */
struct dbreg_applied {
	char *package, *migration, *version, *checksum;
	char *applied_at;              /* ISO 8601 UTC */
	long long duration_ms;
};

/* The local state file: registered packages, migration checksums, and per
 * target the history last seen there. */
struct dbreg_state;

/* Opens (creating with mode 0600, WAL, busy timeout, foreign keys on) and
 * upgrades the state file's own schema. Before anything is written, checks
 * what a state file must be, from its header and its table of tables (not
 * its every page): a SQLite database, not shorter than its header says,
 * dbreg's application_id (or none: a file of an older dbreg), a schema
 * version this dbreg knows, the tables of that version. Returns 0;
 * DBREG_ESTATE, the file left as it is, when it is not a usable state
 * file; DBREG_EIO when it cannot be opened or created; a message in err. */
int dbreg_state_open(struct dbreg_state **out, const char *path, char *err, size_t errsize);
void dbreg_state_close(struct dbreg_state *st);

/* Records every registered package version with its manifest checksum and
 * migration checksums per dialect, in one transaction. */
int dbreg_state_register(struct dbreg_state *st, const struct dbreg_registry *reg);

/* Replaces the stored copy of a target's history (target = redacted URL or
 * target name). */
int dbreg_state_set_history(struct dbreg_state *st, const char *target,
			    const struct dbreg_applied *rows, size_t n);

/* The marker of a run (runs_open): dbreg_state_run_begin records, before a
 * run with steps to run on target changes it, that the state file's copy
 * of target's history is about to be behind; whatever records the history
 * read from the target afterwards (dbreg_state_set_history) drops it, and
 * so does dbreg_state_run_end (a run that found its history unchanged).
 * A marker left behind (a run killed, or whose record failed) is told by
 * dbreg_state_run_left: 1 with the run's command and start time
 * (malloc'd), 0 when none, or a failure code. The others return 0 or a
 * failure code (DBREG_EIO, DBREG_ESTATE) with the message in the state. */
int dbreg_state_run_begin(struct dbreg_state *st, const char *target, const char *command);
int dbreg_state_run_end(struct dbreg_state *st, const char *target);
int dbreg_state_run_left(struct dbreg_state *st, const char *target, char **command, char **started_at);

/* Reads the stored history of a target, oldest first; *rows owned by the
 * caller, freed with dbreg_applied_free. */
int dbreg_state_get_history(struct dbreg_state *st, const char *target, struct dbreg_applied **rows,
			    size_t *n);
void dbreg_applied_free(struct dbreg_applied *rows, size_t n);

/* Whether a registry with this checksum (dbreg_registry_checksum) passed
 * validation, SQL checks included, without an error. Commands that change
 * a target skip the SQL checks then: the same inputs give the same
 * findings. */
bool dbreg_state_validated(struct dbreg_state *st, const char *registry_checksum);

/* Records that a registry with this checksum validated without error. */
int dbreg_state_set_validated(struct dbreg_state *st, const char *registry_checksum);

/* Appends to the event log (plan, apply, fail, downgrade, init). */
int dbreg_state_log(struct dbreg_state *st, const char *event, const char *target, const char *outcome,
		    const char *detail);

const char *dbreg_state_errmsg(const struct dbreg_state *st);

/* A stop for one package: "--to PKG@VERSION". */
struct dbreg_pin {
	const char *package;
	const char *version;
};

/* A transaction = false migration that stopped part way on a target
 * (dbreg_target_progress): `done` of its `total` statements ran, and the
 * next one starts at byte `resume` of its up body. */
struct dbreg_progress {
	char *package, *migration;
	size_t done, total, resume;
};

struct dbreg_plan_opts {
	enum dbreg_dialect dialect;
	const struct dbreg_applied *history;   /* what the target has applied */
	size_t n_history;
	const struct dbreg_progress *progress; /* its migrations that stopped part way (none: NULL) */
	size_t n_progress;
	const struct dbreg_pin *pins;
	size_t n_pins;
	const char *only_package;      /* `down PKG`: plan steps of this package only (NULL: all) */
	bool dependencies_installed;   /* `baseline`: only_package goes on top of the history, so each of
					  its dependencies must be installed there in a version its range
					  accepts (DBR031 otherwise) */
	bool downgrade;                /* `down`: a pin below applied migrations runs their downs, newest
					  first; false: such a pin is refused (DBREG_EUSAGE) */
	/* Development targets only (the caller checks): */
	const char *const *allow;      /* --allow: these plan errors become DBR105 warnings */
	size_t n_allow;
	bool reset;                    /* `reset`: every applied migration down, newest first, then every up */
	bool redo_changed;             /* watch: an applied migration whose body changed runs its down,
					  then its new up (instead of DBR045) */
	const struct dbreg_registry *previous;   /* watch: the registry the changed migrations were
					  applied from; their down bodies come from it (NULL: the current) */
	struct dbreg_plan_memo *memo;  /* the warnings of bodies checked before (dbreg_plan_memo_new); NULL: none */
	bool no_warnings;              /* nobody is shown the plan's warnings (-q without --json): the bodies
					  are not read for them, and the plan and the registry get none */
	bool keep_invalid;             /* status: with DBREG_EINVALID from the history's conflicts (DBR045),
					  *out is still the plan, its steps as if they were not there, to
					  count what is pending; never to apply */
	struct dbreg_conn *target;     /* the target, open: the tools the run would delete from its ydtb_tools
					  (no package declares them any more) are warned about (DBR103), with
					  what cascades from them; NULL: not read */
	bool count_unwritten;          /* status: an up with no body yet (DBR042) is counted
					  (dbreg_plan_unwritten) and its DBR042 a DBR105 warning;
					  the plan is then never applied */
};

/* One step of a plan. Strings borrowed from the registry/plan. */
struct dbreg_step {
	const char *package, *migration, *version;
	bool up;                       /* false: a down body */
	bool transaction;
	bool out_of_order;             /* older than something applied after it */
	char checksum[72];             /* "sha256:<hex>" of the body for the dialect */
	const char *sql;               /* the body that will run */
	const char *file;              /* where the body is written, for messages */
	bool foreign_keys;             /* false: SQLite runs it alone with enforcement off (manifest.md) */
	/* The migration stopped part way on the target (opts.progress):
	 * partial_done of partial_total statements ran. An up resumes at byte
	 * resume of sql; a down undoes what ran (and forgets the progress). */
	size_t partial_done, partial_total, resume;
};

struct dbreg_plan;

/* Computes the ordered steps from a validated registry and a history. A
 * registry whose diagnostics hold errors is refused (DBREG_EINVALID, *out
 * NULL) unless opts->keep_invalid, whose plan is for counting. Conflicts (DBR042 no body for the dialect, DBR045 checksum drift, applied
 * migrations no manifest knows, downgrades refused) are added to the
 * registry's diagnostics and make it return DBREG_EINVALID with *out NULL
 * (the plan, with opts->keep_invalid, once every step was worked out). */
int dbreg_plan_build(struct dbreg_plan **out, struct dbreg_registry *reg,
		     const struct dbreg_plan_opts *opts);
void dbreg_plan_free(struct dbreg_plan *plan);
size_t dbreg_plan_count(const struct dbreg_plan *plan);
/* The ups of package to run that have no body yet (DBR042): pending, and
 * not among the steps. */
size_t dbreg_plan_unwritten(const struct dbreg_plan *plan, const char *package);
const struct dbreg_step *dbreg_plan_step(const struct dbreg_plan *plan, size_t i);

/* Appends to out the warnings about what the plan's up steps run
 * (DBR103: an operation unsafe on a live database), placed in their
 * manifests, so that plan and apply show them as validate does; one that
 * out holds already (same code and place) is not added again.
 * dbreg_plan_build adds them to the registry's diagnostics. Returns 0 or
 * DBREG_ENOMEM. */
int dbreg_plan_warnings(const struct dbreg_plan *plan, struct dbreg_diag_list *out);

/* The dialect the plan was built for. */
enum dbreg_dialect dbreg_plan_dialect(const struct dbreg_plan *plan);

/* The whole plan as one SQL script for its dialect, the way apply runs it:
 * the history tables created if missing, then BEGIN, each body followed by
 * its history row, the package versions and tools, COMMIT; a step with
 * transaction = false closes the transaction, runs alone, and opens a new
 * one. A step of a migration that stopped part way (opts.progress) starts
 * at the statement after those that ran, and its history row replaces the
 * progress row, as apply's does. Ready for `sqlite3 DB < script` or `psql -v ON_ERROR_STOP=1 -f`.
 * Returns a malloc'd string, NULL on allocation failure. */
char *dbreg_plan_script(const struct dbreg_plan *plan);
/* The same, for a PostgreSQL target whose dbreg.toml sets lock_timeout or
 * statement_timeout (ms, 0: none): SET for the session first, as apply
 * does. */
char *dbreg_plan_script_timeouts(const struct dbreg_plan *plan, long long lock_timeout_ms, long long statement_timeout_ms);

/* ---- running a plan (apply.c) ---------------------------------------------- */

struct dbreg_conn;                 /* a driver connection: dbreg/driver.h */

struct dbreg_apply_opts {
	bool dry_run;                  /* read history, report what would run, change nothing */
	int lock_timeout_s;            /* wait for another run's lock; 0: the default 60; < 0: no wait */
	long long target_lock_timeout_ms;      /* the target's lock_timeout (cli.md), 0: none */
	long long target_statement_timeout_ms; /* the target's statement_timeout, 0: none */
	bool record_only;              /* baseline: record the steps as applied, run none of their bodies */
	FILE *log;                     /* one line per step run, segment and skip; NULL: silent */
	/* Called after each step that ran (done of total), e.g. for a progress
	 * bar; NULL: not called. */
	void (*progress)(void *arg, size_t done, size_t total, const struct dbreg_step *step);
	void *progress_arg;
	/* Called once before the run's first commit and before its first
	 * statement outside a transaction (issue 18: the SQL checks running
	 * beside a cold apply must pass first). Non-zero rolls back what ran
	 * and ends the run with DBREG_EINVALID. NULL: not called. */
	int (*gate)(void *arg);
	void *gate_arg;
	/* Called once when another run holds the registry lock, before this
	 * one waits up to timeout_s for it; NULL: it waits silently. */
	void (*waiting)(void *arg, int timeout_s);
	void *waiting_arg;
};

/* What a run did, or where it failed. Strings owned by the result. */
struct dbreg_apply_result {
	size_t applied;                /* steps run (dry run: steps that would run) */
	size_t to_run;                 /* steps still pending once the history was read under the lock */
	size_t skipped;                /* planned steps another run had already applied */
	size_t segments;               /* transactions committed */
	bool split;                    /* a transaction = false step split the run */
	size_t *ran;                   /* indexes into the plan of the steps run, in order */
	size_t n_ran;
	/* On DBREG_EMIGRATION: the failing step and what the database said. */
	const char *failed_package, *failed_migration;  /* borrowed from the plan */
	bool failed_up;
	char *file;                    /* the manifest or SQL file holding the body */
	unsigned line, column;         /* of the failing statement's error position, 0 unknown */
	char *statement;               /* the failing statement, when it can be found */
	char sqlstate[6];
	char *message, *detail, *hint;
	char **invalid_indexes;        /* PostgreSQL: "table.index" left INVALID by a failed non-transactional step */
	size_t n_invalid_indexes;
	char errmsg[2048];             /* one line for any failure */
	/* A transaction = false step that stopped part way: on failure, how
	 * many of its statements completed (recorded on the target, so the
	 * next run resumes after them) and how many it has. */
	size_t statements_done, statements_total;
	/* The first step this run resumed where an earlier run had stopped
	 * (borrowed from the plan; NULL: none), at which statement (1-based). */
	const char *resumed_package, *resumed_migration;
	size_t resumed_at;
	/* [isolation] row-level security that the run found missing on tables
	 * no step of it touched, and made again, one line each ("ydtb_notes:
	 * row-level security was off: enabled"), committed with the run; a
	 * dry run: what it would make again (dbreg_apply_repairs). */
	char **repaired;
	size_t n_repaired;
};

/* Frees what a result owns and zeroes it. NULL-safe. */
void dbreg_apply_result_dispose(struct dbreg_apply_result *r);

/* Runs a plan on a connection. Holds the driver's registry lock (when it
 * has one) for the whole run and re-reads the history under it, so steps
 * another run applied meanwhile are skipped, never run twice. Transactional
 * steps run in one transaction with their history rows, the package
 * versions and the tools (ydtb_tools); a transaction = false step commits
 * what is open, runs alone, records its history row, and a new segment
 * starts. Returns 0; DBREG_EMIGRATION when a step failed (the open segment
 * rolled back; details in *out); DBREG_ELOCKED; DBREG_ECONNECT when a
 * statement outside a migration failed; DBREG_ENOMEM; DBREG_EINVALID for
 * a plan made despite errors (keep_invalid) and DBREG_EUSAGE for a plan of
 * another dialect than the connection's, before anything runs. *out is
 * filled in every case; dispose it with dbreg_apply_result_dispose. */
int dbreg_apply_run(struct dbreg_apply_result *out, struct dbreg_conn *conn, const struct dbreg_plan *plan,
		    const struct dbreg_apply_opts *opts);

/* [isolation] row-level security that running the plan would make again
 * (out->repaired, the lines of a run's "repaired", in its words; a dry run
 * fills them the same way), read from the target's catalog and checked as
 * verify checks it; nothing for a dialect or registry without row-level
 * security. Changes nothing. Returns 0, DBREG_ECONNECT (out->errmsg says
 * why), DBREG_ENOMEM; dispose out with dbreg_apply_result_dispose. */
int dbreg_apply_repairs(struct dbreg_apply_result *out, struct dbreg_conn *conn, const struct dbreg_plan *plan);

/* ---- lifecycle: accept (apply.c) ------------------------------------------ */

/* What dbreg_apply_accept found. */
struct dbreg_accept_result {
	char old_checksum[72];         /* as the target recorded it */
	char new_checksum[72];         /* of the manifest's body now; equal: nothing to accept */
	char errmsg[1024];
};

/* Records the current checksum of an applied migration whose body changed
 * on purpose (a comment, formatting), under the registry lock and in one
 * transaction, keeping its applied time. Returns 0 (also when the checksum
 * did not change: then nothing is written), DBREG_EUSAGE when the package
 * or migration is unknown or not applied on the target, DBREG_ELOCKED,
 * DBREG_ECONNECT, DBREG_ENOMEM; errmsg says why. */
int dbreg_apply_accept(struct dbreg_accept_result *out, struct dbreg_conn *conn, const struct dbreg_registry *reg,
		       const char *package, const char *migration, int lock_timeout_s);

/* ---- checking a target against the declared tables (verify.c) -------------- */

/* One difference: table and column NULL when not about one. Owned by the result. */
struct dbreg_problem {
	char *table, *column, *message;
};

struct dbreg_not_compared;

struct dbreg_verify_result {
	struct dbreg_problem *items;
	size_t len, cap;
	/* Packages left out of the comparison, each with the reason (see
	 * "verify against recorded schemas" below). Owned by the result. */
	struct dbreg_not_compared *not_compared;
	size_t n_not_compared;
	/* Appended (issue 16): a static sentence about what could not be
	 * checked on this target ("SQLite has no row-level security ..."), or NULL. */
	const char *notice;
};
#define DBREG_VERIFY_RESULT_INIT { NULL, 0, 0, NULL, 0, NULL }

void dbreg_verify_result_dispose(struct dbreg_verify_result *r);

/* Reads the target's catalog and compares it with every table the
 * registry declares: presence, columns, types (through the portable type
 * table for the connection's dialect), not null, primary keys, foreign keys
 * with their actions, indexes, and indexes PostgreSQL left INVALID. A
 * package installed at another version than it declares (--to, down) is
 * not compared (out->not_compared): dbreg_verify_run_opts with the state
 * file compares it with the schema recorded for that version. Returns
 * 0 when they match, DBREG_EVERIFY with the differences in *out,
 * DBREG_ECONNECT when the catalog cannot be read (message in errbuf),
 * DBREG_ENOMEM. */
int dbreg_verify_run(struct dbreg_verify_result *out, struct dbreg_conn *conn,
		     const struct dbreg_registry *reg, char *errbuf, size_t errsize);

/* ---- verify against recorded schemas (schema.c, schemadiff.c) --------------- */

/* A package verify did not compare, and why: installed at another version
 * than it declares, with no declared schema recorded for that version in
 * the state file. Of such a package only the declared tables that its
 * migrations up to the installed version create are looked for (missing
 * ones are problems). Strings owned by the result. */
struct dbreg_not_compared {
	char *package, *version, *reason;
};

struct dbreg_verify_opts {
	/* The state file: a package installed at another version than it
	 * declares is compared with the schema recorded when that version was
	 * registered. NULL: such a package is reported as not compared. */
	struct dbreg_state *state;
	/* Appended for baseline: compare only this package's tables, as if it
	 * were installed at `version` (NULL: the version it declares), and
	 * nothing else (no undeclared tables, no row-level security). A
	 * version with no recorded schema is a difference, not "not compared". */
	const char *package, *version;
	/* A PostgreSQL target's package at another version than it declares,
	 * with no schema of that version recorded, is compared with what its
	 * migrations up to it produce in a scratch schema on the server at
	 * this URL (the target's: dropped afterwards; NULL: no replay, only the
	 * presence of its tables is checked). A SQLite target's is replayed in
	 * memory whatever this says. */
	const char *replay_url;
	/* init's --to: a package these hold that the target does not have
	 * installed (held at 0.0.0, or below its first migration) was not
	 * meant to be: its tables are not looked for. */
	const struct dbreg_pin *held;
	size_t n_held;
};

/* dbreg_verify_run with options (NULL: none). Besides the declared tables,
 * reports tables with the ydtb_ prefix that no package declares, indexes
 * on declared tables that nothing declares, and INVALID indexes anywhere.
 * Returns as dbreg_verify_run; a package not compared is listed in
 * out->not_compared and is not a difference by itself (its missing
 * tables are). */
int dbreg_verify_run_opts(struct dbreg_verify_result *out, struct dbreg_conn *conn,
			  const struct dbreg_registry *reg, const struct dbreg_verify_opts *opts,
			  char *errbuf, size_t errsize);

/* ---- validate against a reachable PostgreSQL (replay_pg.c) ------------------ */

/* DBR047 on PostgreSQL bodies: after dbreg_registry_validate, replays every
 * package's PostgreSQL up bodies (plan order) on conn, in a scratch schema
 * inside a transaction that is always rolled back (migrations with
 * transaction = false run there without CONCURRENTLY), reads the scratch
 * schema back and compares it with the declared tables. Nothing is left on
 * the server. Findings are appended to the registry's diagnostics. Returns
 * 0; DBREG_EINVALID when it found errors; DBREG_EUSAGE when conn is not a
 * PostgreSQL connection; DBREG_ECONNECT when the server refused the
 * scratch schema; DBREG_ENOMEM (message in dbreg_registry_errmsg). */
int dbreg_registry_validate_target(struct dbreg_registry *reg, struct dbreg_conn *conn);

/* ---- targets ------------------------------------------------------------- */

/* The dialect of a target URL, from the driver that claims it. Returns 0,
 * or DBREG_EUSAGE when no driver claims the URL. */
int dbreg_target_dialect(const char *url, enum dbreg_dialect *out);

/* The key the state file keeps a target under: one per database, whatever
 * the spelling (for SQLite the file's absolute path; for PostgreSQL host,
 * port, database and user), never holding a password. malloc'd; NULL with
 * errno ENOMEM when out of memory, or ELIBACC when the driver cannot read
 * URLs (PostgreSQL's without libpq). A URL no driver reads as a database
 * is keyed redacted. */
char *dbreg_target_key(const char *url);

/* ---- in-memory targets ----------------------------------------------------- */

/* Whether url names a database that lives as long as its connection
 * (SQLite's :memory:): nothing of it outlives a run, so the state file keeps
 * no history of it (planning for it plans everything, as apply will run
 * everything), and it is always a development target. */
bool dbreg_target_is_memory(const char *url);

/* Connects to a target. On failure returns DBREG_ECONNECT or DBREG_EUSAGE
 * with a message in err that never holds the password. Close with
 * dbreg_target_close. */
int dbreg_target_connect(struct dbreg_conn **out, const char *url, char *err, size_t errsize);

/* How long, in seconds, a connection waits at open for a database another
 * process holds locked (SQLite: the write lock of a run that is
 * committing), before it fails with DBREG_ELOCKED; default 60, 0 none.
 * The CLI sets it from --lock-timeout. Process-wide: set it before threads
 * connect. Drivers read it with dbreg_target_lock_wait (driver.h). */
void dbreg_target_set_lock_wait(int seconds);
void dbreg_target_close(struct dbreg_conn *conn);

/* Like dbreg_target_connect, for commands that only read (a dry run,
 * status, history, verify): nothing is created or changed on the target,
 * and a SQLite file that does not exist reads as an empty database
 * instead of being created. */
int dbreg_target_connect_readonly(struct dbreg_conn **out, const char *url, char *err, size_t errsize);

/* After dbreg_target_connect_readonly, once writing is decided: *conn
 * becomes a connection that writes. A driver with a read-only mode of its
 * own (SQLite) connects again (on failure *conn is NULL, the reason in
 * err); another's connection is kept, since it writes already. */
int dbreg_target_make_writable(struct dbreg_conn **conn, const char *url, char *err, size_t errsize);

/* About a failed dbreg_target_connect (its message in err): whether
 * retrying may help (*transient: refused, timed out, starting up) or not
 * (wrong password, missing database, a SQLite folder that does not exist),
 * and a hint that fits (static, NULL for none). */
const char *dbreg_target_connect_advice(const char *url, const char *err, bool *transient);

/* The dialect of an open connection. */
enum dbreg_dialect dbreg_target_conn_dialect(const struct dbreg_conn *conn);

/* Reads the target's applied migrations, oldest first (an empty target has
 * none). *rows owned by the caller: dbreg_applied_free. */
int dbreg_target_history(struct dbreg_conn *conn, struct dbreg_applied **rows, size_t *n);
/* The same after a run on *conn that returned run_rc, for the copy in the
 * state file: a failed run may have lost its session (the server ended
 * it), so its history is then read on a new read-only connection to url,
 * which replaces *conn (NULL when none could be opened). */
int dbreg_target_history_after(struct dbreg_conn **conn, const char *url, int run_rc, struct dbreg_applied **rows,
			       size_t *n);

/* The registry's transaction = false migrations that stopped part way on
 * the target and would resume (their first statements unchanged): *rows
 * owned by the caller, dbreg_progress_free. The history's n rows are
 * skipped (applied in full). 0, or a failure code with conn->err set. */
int dbreg_target_progress(struct dbreg_conn *conn, const struct dbreg_registry *reg, const struct dbreg_applied *history,
			  size_t n, struct dbreg_progress **rows, size_t *n_rows);
void dbreg_progress_free(struct dbreg_progress *rows, size_t n);

/* ---- an interrupt stops the server's work (cancel.c) ---------------------- */

/* How long dbreg_cancel_all waits for the servers to take the requests. */
#define DBREG_CANCEL_WAIT_MS 3000

/* Asks the database of every open target connection to stop the statement
 * it runs now (PostgreSQL: a cancel request, as psql's Ctrl-C), so that an
 * interrupted run does not leave the server running it, holding its locks
 * and the registry lock, after the process ends. The requests go out side
 * by side (a child process each, SIGCHLD at its default while they run),
 * so a server that does not answer delays none of the others; DBREG_CANCEL_WAIT_MS after the call the ones still
 * unanswered are given up. Each is sent once more 0.1 s after the first (a
 * server drops a cancel that comes between two statements, so a statement
 * sent just before the call and read just after its cancel is stopped too):
 * the call takes at least that long when a connection was open. From then on the run is ending: a target
 * connection opened later is refused (DBREG_ECONNECT) and a fleet starts no
 * new target. For SIGINT and SIGTERM handlers: async-signal-safe, no locks,
 * nothing allocated. The connections stay open; their running statement
 * fails. Returns how many requests could not be sent, counting connections
 * that had no slot (0 when all were, or none was needed); *open (NULL-safe)
 * is how many target connections were open, with a cancel or not. */
int dbreg_cancel_all(int *open);

/* How many transaction = false migrations are running their statements
 * now (any thread): an interrupt rolls back only the statement each runs;
 * those it completed stay applied, recorded, and the next run resumes
 * after them. For handlers: async-signal-safe. */
int dbreg_cancel_outside_transaction(void);

/* How many steps the runs of this process have committed on their targets
 * (any thread): what an interrupted run leaves applied, for the report of
 * a handler. A commit the server made that the call did not yet return
 * from is not counted. For handlers: async-signal-safe. */
unsigned long dbreg_cancel_committed(void);

/* A run that ends on its own after an interrupt: between enter and leave
 * (nested calls count), dbreg_cancel_unwinds is true, and a handler that
 * sees it sends the cancels (dbreg_cancel_all) and returns instead of
 * ending the process. The run's statements then fail (or do not start:
 * the apply engine and the drivers' lock waits check dbreg_cancel_ending),
 * it rolls back, records what the target holds in the state file, its
 * mark (dbreg_state_run_begin) with it, and leaves; its caller then ends
 * as the signal asks. Entered just before the mark is written and left
 * after the record, where a run can tell what it committed. For handlers:
 * dbreg_cancel_unwinds is async-signal-safe. */
void dbreg_cancel_unwind_enter(void);
void dbreg_cancel_unwind_leave(void);
bool dbreg_cancel_unwinds(void);

/* Ends the "run is ending" that dbreg_cancel_all began, for a program that
 * embeds dbreg and goes on after an interrupted run (a server, a shell):
 * target connections open again and a fleet starts its targets. Call it
 * once the interrupted calls have returned, when none runs on another
 * thread: a statement sent before would not be cancelled. Returns 0, or
 * DBREG_EUSAGE (nothing changed) while a dbreg_cancel_all is still running
 * (from its first step to its return, on any thread). One atomic step:
 * a handler may interrupt it. */
int dbreg_cancel_reset(void);

/* ---- a watch's copy of the history (issue 14: target.c) ------------------- */

/* Whether another connection may have written the target since this one
 * last asked: *changed is true the first time, when the driver cannot
 * tell (then every time), and when it has committed since. The answer
 * does not move for this connection's own commits, so a caller that read
 * the history and follows what it applies itself keeps a copy that is
 * exact while *changed stays false. Returns 0 or the driver's failure. */
int dbreg_target_changed(struct dbreg_conn *conn, unsigned long long *stamp, bool *changed);

/* Reads the target's installed packages (ydtb_registry_packages) into
 * parallel arrays owned by the caller (free each string and both arrays). */
int dbreg_target_packages(struct dbreg_conn *conn, char ***names, char ***versions, size_t *n);

/* The message of the last failure on conn, with SQLSTATE, detail and hint
 * where the database gave them. Borrowed until the next call on conn. */
const char *dbreg_target_errmsg(const struct dbreg_conn *conn);
/* The same failure in its parts, for a JSON error: the SQLSTATE, the
 * database's detail and hint, each "" when it gave none. Borrowed as above. */
void dbreg_target_error_parts(const struct dbreg_conn *conn, const char **sqlstate, const char **detail,
			      const char **hint);

/* ---- a no-op visit in one read (issue 17, the fleet's runtime: target.c) ---- */

/* dbreg_target_history and dbreg_target_packages together, in one round
 * trip where the driver can (its registry_read), else the two reads.
 * expect_tables: this target had history rows when last seen (a hint
 * that saves asking whether the tables exist; a wrong one costs a round
 * trip, never a wrong result). Outputs owned by the caller, empty on
 * failure. */
int dbreg_target_read(struct dbreg_conn *conn, bool expect_tables, struct dbreg_applied **rows, size_t *n_rows,
		      char ***names, char ***versions, size_t *n_pkgs);

/* ---- state files for the command line (issue 13) ----------------------- */

/* Opens an existing state file for reading only (a read-only file or
 * checkout): nothing is created, upgraded or locked; writes through it
 * fail. The checks of dbreg_state_open first. Returns 0, DBREG_ESTATE or
 * DBREG_EIO with a message in err. */
int dbreg_state_open_readonly(struct dbreg_state **out, const char *path, char *err, size_t errsize);

/* Whether the state file ever saw the target: it holds history rows for it,
 * or a "seen" event (an empty history read from the target). An offline
 * answer for a target never seen is a guess. */
bool dbreg_state_target_seen(struct dbreg_state *st, const char *target);
/* After an empty history was read from the target: a "seen" event under
 * its database's key, unless it was seen already. Returns 0 or a failure. */
int dbreg_state_mark_seen(struct dbreg_state *st, const char *target);

/* ---- versions (semver.c) ---------------------------------------------------- */

/* Compares two versions by Semantic Versioning precedence: -1, 0 or 1.
 * Text that is not semver compares bytewise. */
int dbreg_version_compare(const char *a, const char *b);

/* ---- the initialization pipeline (issue 13: init.c) ------------------------ */

/* The phases of dbreg_init_run, in order, as its phase callback names them. */
enum dbreg_init_phase {
	DBREG_INIT_CONNECT = 1,        /* connect, retrying for wait_s */
	DBREG_INIT_PLAN,               /* read the target's history, plan (core first) */
	DBREG_INIT_APPLY,              /* run the plan in one transaction (or show it: dry_run) */
	DBREG_INIT_VERIFY,             /* compare the target's catalog with the declared tables */
	DBREG_INIT_RECORD,             /* failed only: the target changed, the state file refused the record
					* (DBREG_EIO or DBREG_ESTATE; no phase callback of its own) */
};

struct dbreg_init_opts {
	int wait_s;                    /* retry a refused connection this long (backoff 0.25 s to 4 s); 0: once */
	const struct dbreg_pin *pins;  /* --to PKG@VERSION stops */
	size_t n_pins;
	bool dry_run;                  /* connect read-only, plan, change nothing, no verify */
	bool validated;                /* the caller validated reg (SQL checks included); else init does */
	int lock_timeout_s;            /* another run's lock: wait this long (0: 60; < 0: no wait) */
	long long target_lock_timeout_ms, target_statement_timeout_ms;   /* the target's (cli.md) */
	/* The state file (may be NULL): packages registered, the history copy
	 * kept under state_target (NULL: the redacted URL), the run logged. */
	struct dbreg_state *state;
	const char *state_target;
	FILE *log;                     /* a line per step and retry; NULL: silent */
	void (*progress)(void *arg, size_t done, size_t total, const struct dbreg_step *step);
	void *progress_arg;
	/* Called as each phase starts; NULL: not called. */
	void (*phase)(void *arg, enum dbreg_init_phase phase);
	void *phase_arg;
	void (*waiting)(void *arg, int timeout_s);   /* as dbreg_apply_opts's */
	void *waiting_arg;
	/* --allow on a development target (the caller checks it is one):
	 * these plan errors become DBR105 warnings. */
	const char *const *allow;
	size_t n_allow;
};

/* What dbreg_init_run did. Owned by the result: dbreg_init_result_dispose. */
struct dbreg_init_result {
	enum dbreg_init_phase failed;  /* the phase that failed; 0 on success */
	unsigned attempts;             /* connection attempts */
	double ms;                     /* the whole run */
	struct dbreg_plan *plan;       /* what was planned (NULL when planning failed) */
	struct dbreg_apply_result apply;   /* the run: applied, or where it failed */
	struct dbreg_verify_result verify; /* the differences verify found */
	const char *hint;              /* static advice for a failure, NULL */
	char errmsg[1024];             /* one line for any failure, never a password */
};

/* The whole of `dbreg init`: validate (unless opts->validated), connect
 * with retry (only what waiting can fix: refused, timed out, starting up),
 * plan against the target's history, run the plan in one transaction,
 * verify the target against the declared tables. Returns 0, or the code of
 * the failing phase (DBREG_EINVALID, DBREG_ECONNECT, DBREG_EMIGRATION,
 * DBREG_ELOCKED, DBREG_EVERIFY, DBREG_ENOMEM) with out->failed and
 * out->errmsg set. A failure leaves the target as it was. opts may be NULL. */
int dbreg_init_run(struct dbreg_init_result *out, struct dbreg_registry *reg, const char *url,
		   const struct dbreg_init_opts *opts);
void dbreg_init_result_dispose(struct dbreg_init_result *r);

/* ---- URLs ------------------------------------------------------------------ */

/* Writes `url` with any password replaced by "***" (postgres://u:***@h/db,
 * password=*** in keyword strings). Returns a malloc'd string. */
char *dbreg_url_redact(const char *url);

/* ---- time (util.c) ------------------------------------------------------- */

/* Milliseconds on the monotonic clock, with the fraction: the one clock read
 * for durations, timeouts and deadlines (never a time of day), in the
 * library, its drivers and the command line alike. */
double dbreg_clock_ms(void);

/* ---- caches in the state file (issue 18; cache.c) --------------------- */

/* Wall-clock nanoseconds: take it before loading a registry and hand it to
 * dbreg_cache_registry_store. */
long long dbreg_cache_clock(void);

/* The key under which this build caches a verdict on a registry of that
 * checksum (dbreg_state_validated): another binary, even of the same
 * version, has another key. out holds 72 bytes. */
void dbreg_cache_build_key(const char *checksum, char out[72]);

/* Whether the registry of project p is the one the state file last saw
 * loaded clean: the same manifests in its package folders, the same SQL
 * files, each with the same device, inode, size, modification and change
 * time, read by the same build of dbreg. Reads no file's contents; when
 * *unchanged, checksum holds its dbreg_registry_checksum. Returns 0 (a
 * missing or stale cache is *unchanged = false) or DBREG_ENOMEM. */
int dbreg_cache_registry_check(struct dbreg_state *st, const struct dbreg_project *p, char checksum[72],
			       bool *unchanged);

/* Records the files of a registry that validated clean, loaded from p by
 * a load that began at loaded_at (dbreg_cache_clock). Stores nothing when
 * the registry has errors, when the folders no longer hold what was
 * loaded, or when a file changed too shortly before the load to be
 * trusted. Returns 0, DBREG_ENOMEM or DBREG_EIO. */
int dbreg_cache_registry_store(struct dbreg_state *st, const struct dbreg_project *p,
			       const struct dbreg_registry *reg, long long loaded_at);

/* Whether target (its history and installed packages, read here once) is
 * in a state that the registry of that checksum was found to plan nothing
 * for: then `apply` has nothing to do. Returns 0 or the failure of reading
 * the target. */
int dbreg_cache_noop_check(struct dbreg_state *st, struct dbreg_conn *conn, const char *target,
			   const char *registry_checksum, bool *noop);

/* Whether the state file holds a no-op memo for target that this build
 * stored for the registry of that checksum: when not, no read of the
 * target can make dbreg_cache_noop_check say yes (so nothing connects). */
bool dbreg_cache_noop_known(struct dbreg_state *st, const char *target, const char *registry_checksum);

/* Reads target's history and installed packages and, when the (validated)
 * registry plans nothing for them and records no package version, stores
 * their digest as the target's no-op memo (and the history as the state
 * file's copy). Returns 0 or a failure code. */
int dbreg_cache_noop_store(struct dbreg_state *st, struct dbreg_conn *conn, const char *target,
			   struct dbreg_registry *reg);

/* ---- the content stamp (issue 17; stamp.c) ------------------------------ */

/* Room for a content stamp, its NUL included. */
#define DBREG_STAMP_SIZE 512

/* The content stamp of the database url names, taken without connecting
 * (its driver's content_stamp: for a SQLite file its identity, times and
 * header): 0 with it in out; 1 when there is none to trust (out is then
 * ""): a server's database, a file that is missing, in WAL mode, with a
 * journal beside it or changed too recently (dbreg_time_racy: 100 ms, 2 s
 * on a file system that keeps whole seconds). */
int dbreg_stamp_take(const char *url, char out[DBREG_STAMP_SIZE]);

/* Whether target's no-op memo, stored by this build for the registry of
 * that checksum, keeps a content stamp equal to url's now: then the target
 * holds what that registry plans nothing for, and apply need not open it.
 * false when not, or when it cannot tell. */
bool dbreg_stamp_unchanged(struct dbreg_state *st, const char *target, const char *url,
			   const char *registry_checksum);

/* After a visit that stored target's no-op memo for the registry of that
 * checksum (dbreg_cache_noop_store) and closed its connection: takes url's
 * stamp again and keeps it with the memo when it equals `before`, taken
 * before the visit's verifying read (so nothing wrote in between). Keeps
 * nothing otherwise, or when before is "". Returns 0, DBREG_ENOMEM or
 * DBREG_EIO. */
int dbreg_stamp_store(struct dbreg_state *st, const char *target, const char *url, const char *registry_checksum,
		      const char *before);

/* Drops target's stamp: called before a run writes to the target (before
 * its connection that writes opens), so that a run that stops part way
 * never leaves a stamp vouching for what it changed. Returns 0,
 * DBREG_ENOMEM or DBREG_EIO, the failure worded in err (the caller must
 * not write then, and reports err as it is: the one wording of it). */
int dbreg_stamp_forget(struct dbreg_state *st, const char *target, char *err, size_t errsize);
/* ---- package developer tools: new, docs, generate, test ------------------- */
/* (scaffold.c, docs.c, generate.c, roundtrip.c) */

/* The manifest file of the i-th package, as loaded (relative to the
 * current folder when the project was); NULL when out of range. */
const char *dbreg_registry_package_file(const struct dbreg_registry *reg, size_t i);

/* A path that opens the i-th package's manifest from the current folder,
 * malloc'd; NULL when out of range or out of memory. */
char *dbreg_registry_package_path(const struct dbreg_registry *reg, size_t i);

/* The index of the package of that name, or (size_t)-1 when none. */
size_t dbreg_registry_package_find(const struct dbreg_registry *reg, const char *name);

/* Whether the i-th package has a migration with that id. */
bool dbreg_registry_package_has_migration(const struct dbreg_registry *reg, size_t i, const char *id);

/* The text of a new manifest for package `name`: a workspace-scoped example
 * table, its first migration for both dialects, a description, version
 * 0.1.0, and a dependency on the core package of `reg` (may be NULL: no
 * dependency). The text is read back through the manifest reader before it
 * is returned. Returns 0 and a malloc'd *out; DBREG_EINVALID with the
 * reader's message in err (an invalid name); DBREG_ENOMEM. */
int dbreg_scaffold_package(char **out, const char *name, const struct dbreg_registry *reg, char *err,
			   size_t errsize);

/* The text of a core package for a registry that has none (a new
 * project): @ydtb/core 1.0.0 with the one table every package table
 * refers to, ydtb_workspaces, and its migration for both dialects, read
 * back like a package's. *out is NULL when reg has a core package already.
 * Returns 0, DBREG_EINVALID (message in err) or DBREG_ENOMEM. */
int dbreg_scaffold_core(char **out, const struct dbreg_registry *reg, char *err, size_t errsize);

/* The manifest file name for a package: "@acme/crm" -> "crm.toml". */
const char *dbreg_scaffold_file_name(const char *name, char *out, size_t size);

/* `text` (a manifest's bytes) with `tail` (TOML, lines ending in "\n")
 * after it: the old bytes are a prefix of *out, a missing final newline
 * is supplied, one blank line separates them, and a file whose lines end
 * in CRLF gets CRLF lines. Returns 0 and a malloc'd *out of *out_len
 * bytes; DBREG_EINVALID (message in err) when text is TOML that the tail
 * would make invalid (its migrations an inline array, say); DBREG_ENOMEM. */
int dbreg_manifest_append(char **out, size_t *out_len, const char *text, size_t len, const char *tail, char *err,
			  size_t errsize);

/* `text` with an empty migration (id, version, empty bodies for both
 * dialects in both directions) appended as dbreg_manifest_append does.
 * Returns 0 and a malloc'd *out of *out_len bytes; DBREG_EUSAGE (a bad
 * id) or DBREG_EINVALID (a file that cannot take it), message in err;
 * DBREG_ENOMEM. */
int dbreg_scaffold_migration(char **out, size_t *out_len, const char *text, size_t len, const char *id,
			     const char *version, char *err, size_t errsize);

/* Replaces the file at path with len bytes of text, atomically (a
 * temporary file in the same folder, renamed over it; the old file's mode
 * is kept, 0644 for a new one). Returns 0 or DBREG_EIO with a message in
 * err. */
int dbreg_write_file(const char *path, const char *text, size_t len, char *err, size_t errsize);

/* One page of `dbreg docs`: path relative to the output folder. */
struct dbreg_doc_file {
	char *path;                    /* "README.md", "ydtb/basic.md" */
	char *text;
	size_t len;
};

struct dbreg_docs {
	struct dbreg_doc_file *files;  /* the index first, then packages by name */
	size_t n;
};
#define DBREG_DOCS_INIT { NULL, 0 }

/* Renders the pages of every loaded package: README.md (the packages and
 * their dependency graph as a Mermaid diagram) and one page per package
 * (tables, columns, keys, indexes, an erDiagram, tools, migrations). The
 * output depends on the manifests alone; project_dir (may be NULL) is
 * stripped from the manifest paths shown. Returns 0 or DBREG_ENOMEM;
 * dispose *out with dbreg_docs_dispose. */
int dbreg_docs_render(struct dbreg_docs *out, const struct dbreg_registry *reg, const char *project_dir);
void dbreg_docs_dispose(struct dbreg_docs *d);

/* Compares the pages with the files under dir: *changed lists (relative
 * paths, malloc'd, free with each string and the vector) the pages that
 * are missing or differ, and pages an earlier run wrote for packages that
 * are gone. Unless check, writes those that differ and removes the stale
 * ones. Returns 0, DBREG_EIO (message in err), DBREG_ENOMEM. */
int dbreg_docs_sync(const struct dbreg_docs *d, const char *dir, bool check, char ***changed, size_t *n_changed,
		    char *err, size_t errsize);

/* ---- fleets: one plan over many targets (fleet.c, issue 17) --------------- */

/* One target of a resolved fleet. */
struct dbreg_fleet_member {
	char *url;                     /* ${NAME} expanded; holds the password: never print */
	char *shown;                   /* redacted: the one to print and the state file's key */
	const struct dbreg_target_def *def;   /* the [targets.NAME] it names (borrowed from the project: its
					  timeouts apply), NULL for a URL */
	enum dbreg_dialect dialect;
	bool canary;
};

struct dbreg_fleet {
	char *name;
	struct dbreg_fleet_member *members;   /* in the order written: targets, then urls_file */
	size_t n_members;
	size_t jobs;                   /* >= 1 */
};

/* Resolves [fleets.NAME] of a project: each target name or URL through
 * dbreg_project_target_url (${NAME} expanded, relative SQLite paths under
 * the project), then each line of urls_file (blank lines and lines starting
 * with # skipped). A database listed twice, a canary that is not among the
 * targets, an unknown fleet or an unreadable urls_file is DBREG_EUSAGE with
 * the reason in err ("tenants.txt:3: ..." for a line of the file). Free
 * *out with dbreg_fleet_free. */
int dbreg_fleet_open(struct dbreg_fleet **out, const struct dbreg_project *p, const char *name, char *err,
		     size_t errsize);
void dbreg_fleet_free(struct dbreg_fleet *f);

enum dbreg_fleet_action {
	DBREG_FLEET_APPLY,             /* apply: plan against each target's history and run it */
	DBREG_FLEET_INIT,              /* init: apply, then verify against the declared tables */
	DBREG_FLEET_PLAN,              /* plan, status: read the history, plan, change nothing */
};

enum dbreg_fleet_status {
	DBREG_FLEET_NOT_REACHED,       /* never started: the run stopped first (on-error stop, max failures, SIGINT, a canary) */
	DBREG_FLEET_DONE_BEFORE,       /* --resume: succeeded in the previous run, left alone */
	DBREG_FLEET_OK,
	DBREG_FLEET_FAILED,
};

/* "not_reached", "done_before", "ok", "failed": the state file's and the
 * JSON's word for a status. */
const char *dbreg_fleet_status_name(enum dbreg_fleet_status s);

/* What happened on one target. Strings owned by the outcome. */
struct dbreg_fleet_outcome {
	enum dbreg_fleet_status status;
	int rc;                        /* 0, or the DBREG_E* code it failed with */
	size_t applied;                /* steps run (a dry run: that would run) */
	size_t pending;                /* steps the plan had for it */
	size_t installed;              /* rows of its history when it finished */
	long long ms;                  /* wall time of the target, connecting included */
	char *error;                   /* one line, no password, not the target (the report names it); NULL: ok */
	char *failed_package, *failed_migration;   /* DBREG_EMIGRATION: the failing step */
	char **steps;                  /* DBREG_FLEET_PLAN: "package migration" of each step */
	struct dbreg_diag_list diags;  /* the plan's findings on this target (conflicts, DBR105) */
	bool plan_shared;              /* its plan was built for another target of the run (same history
					  and declared packages), not for it */
	bool unopened;                 /* appended: its content stamp was the one kept with its no-op memo
					  (stamp.c), so it was not opened */
	/* Appended: [isolation] row-level security the run found missing on
	 * this target and made again (dbreg_apply_result.repaired), one line
	 * each; none unless its apply succeeded. */
	char **repaired;
	size_t n_repaired;
};

struct dbreg_fleet_opts {
	enum dbreg_fleet_action action;
	size_t jobs;                   /* 0: the fleet's */
	bool keep_going;               /* --on-error continue: failures do not stop the run */
	size_t max_failures;           /* start no target after this many failures; 0: 1 unless keep_going, else no limit */
	bool dry_run;                  /* apply/init: connect, read, report what would run, change nothing */
	bool offline;                  /* DBREG_FLEET_PLAN: the state file's copy of each history, no connection */
	const bool *skip;              /* per member: true leaves it alone (DONE_BEFORE); NULL: none */
	const struct dbreg_pin *pins;  /* --to, for every target */
	size_t n_pins;
	int lock_timeout_s;            /* as dbreg_apply_opts */
	const volatile int *stop;      /* non-zero (SIGINT): start no new target; running ones finish or roll back */
	struct dbreg_state *state;     /* histories and the run record (dbreg_state_fleet_*); NULL: none */
	const char *command;           /* recorded with the run: "apply", "init" */
	/* Called for each target as it finishes (not for those never started),
	 * one call at a time, from the worker thread that ran it. */
	void (*done)(void *arg, const struct dbreg_fleet_member *m, const struct dbreg_fleet_outcome *o);
	void *done_arg;
	/* Appended: DBREG_FLEET_INIT retries a refused connection to each target
	 * this many seconds, as dbreg_init_opts.wait_s (init --wait); 0: once. */
	int wait_s;
	/* Appended: called with done_arg as each target starts, before it is
	 * opened (not for those never started), one call at a time with
	 * done's, from the worker thread that runs it; NULL: not told. */
	void (*started)(void *arg, const struct dbreg_fleet_member *m);
};

/* Runs the fleet: the canaries first, `jobs` at a time, then, only if every
 * canary succeeded, the rest. Each target on a worker thread with its own
 * connection, lock and transaction (dbreg_apply_run), all sharing `reg`,
 * which must be validated already: it is read, and the planner's findings
 * pass through its list (one thread at a time) to each outcome's diags. A target with nothing
 * pending costs one read of its history tables and no write, unless the
 * registry asks for row-level security on its dialect ([isolation]): an
 * apply or init then runs on it all the same, as on a single target, to
 * make again what was disabled or altered by hand; an apply of
 * the whole registry (no pins, no dry run) opens no target whose content
 * stamp is the one kept with its no-op memo (stamp.c), and keeps one for
 * each no-op it verifies. The state
 * file (when given) gets each target's history and outcome as it finishes,
 * written by one thread at a time, and the run itself (dbreg_state_fleet_*)
 * unless it is a plan or a dry run. *out gets f->n_members outcomes in the
 * fleet's order (free with dbreg_fleet_outcomes_free). Returns 0 when the
 * run happened, whatever the targets did; DBREG_EIO when the state file
 * could not record it (*out NULL when that was before any target started,
 * else filled); DBREG_ENOMEM. */
int dbreg_fleet_run(struct dbreg_fleet_outcome **out, struct dbreg_registry *reg, const struct dbreg_fleet *f,
		    const struct dbreg_fleet_opts *opts);
void dbreg_fleet_outcomes_free(struct dbreg_fleet_outcome *o, size_t n);

/* One target of a recorded fleet run. Strings owned by the array. */
struct dbreg_fleet_record {
	char *target;                  /* redacted URL */
	char *status;                  /* "ok", "failed", "not_reached", "done_before" */
	int rc;
	size_t applied;
	long long ms;
	char *error;
	char *at;                      /* when it finished (ISO 8601 UTC); NULL when never started */
};

/* The targets of the newest recorded run of `fleet` (by apply or init),
 * *run_at its start (malloc'd) and *interrupted whether SIGINT stopped it;
 * *n = 0 when the fleet never ran. Free the rows with
 * dbreg_fleet_records_free. Returns 0 or DBREG_EIO. */
int dbreg_state_fleet_last(struct dbreg_state *st, const char *fleet, struct dbreg_fleet_record **out, size_t *n,
			   char **run_at, bool *interrupted);
void dbreg_fleet_records_free(struct dbreg_fleet_record *r, size_t n);
/* What `dbreg generate` wrote. Owned; dispose with dbreg_generated_dispose. */
struct dbreg_generated {
	char *toml;                    /* the [[migrations]] to append; NULL when nothing differs */
	char *summary;                 /* "add column t.c; create table u" */
	size_t n_changes, n_migrations;
	struct dbreg_diag_list diags;  /* DBR103 for the destructive steps */
};
void dbreg_generated_dispose(struct dbreg_generated *r);

/* The migration (or two: a transaction = false one after it for indexes
 * built CONCURRENTLY and foreign keys validated on tables that have rows)
 * that takes the schema the package's migrations produce, replayed on a
 * scratch SQLite database, to the tables it declares, with PostgreSQL and
 * SQLite bodies and their downs. Renames only where renamed_from says so.
 * reg must be loaded and validated. Returns 0 (out->toml NULL when there
 * is nothing to do); DBREG_EINVALID with the reason in err (no such
 * package, a migration that fails on SQLite, a renamed_from naming nothing
 * the migrations build, which would make a rename a drop: then with its
 * findings in out->diags, to dispose); DBREG_ENOMEM. */
int dbreg_generate(struct dbreg_generated *out, struct dbreg_registry *reg, const char *package, char *err,
		   size_t errsize);

/* The same, replaying the PostgreSQL bodies in a scratch schema of the
 * server at url (dropped afterwards) instead of the SQLite ones: the types
 * compare exactly there, so a change within one SQLite storage class
 * (varchar(20) to varchar(100), integer to bigint) is seen too. Returns
 * as above, or DBREG_ECONNECT. */
int dbreg_generate_on(struct dbreg_generated *out, struct dbreg_registry *reg, const char *package, const char *url,
		      char *err, size_t errsize);

/* `dbreg test`: each migration of the package (NULL: of every package,
 * in plan order, each on a database of its own after its dependencies) up,
 * down and up again on an in-memory SQLite database (url NULL) or in a
 * scratch schema of the PostgreSQL server at url, dropped afterwards. The
 * schema after each down must equal the one before its up, and after the
 * second up the one the first produced; each difference, and a missing or
 * failing body, is a problem in *out naming table and column. *n_run:
 * migrations run. Returns 0, DBREG_EINVALID (problems found, or no such
 * package: message in err), DBREG_ECONNECT, DBREG_ENOMEM. */
int dbreg_roundtrip(struct dbreg_verify_result *out, size_t *n_run, struct dbreg_registry *reg, const char *package,
		    const char *url, char *err, size_t errsize);

/* ---- per-package check results in the state file (issue 18: checkcache.c) ---- */

/* Before dbreg_registry_validate (or by it: dbreg_validate_opts.results):
 * looks up in the state file the results of
 * the SQL checks and of the SQLite replay of each package, keyed by a hash
 * of what each depends on (its manifest and SQL files, the declarations of
 * the others or the contents of what its replay may pull in, [isolation],
 * this very dbreg binary); validation then re-emits those and checks the
 * other packages only. An unreadable cache checks everything. Returns 0 or
 * DBREG_ENOMEM. */
int dbreg_check_cache_load(struct dbreg_registry *reg, struct dbreg_state *st);

/* After it: stores the results of the packages checked in full and the
 * declaration digests it computed (nothing when there is nothing new).
 * Returns 0, DBREG_EIO (message in st), DBREG_ENOMEM. */
int dbreg_check_cache_save(struct dbreg_registry *reg, struct dbreg_state *st);

/* How many packages the last validation checked (SQL checks, replay) and
 * how many results it re-used. */
void dbreg_check_cache_counts(const struct dbreg_registry *reg, size_t *sql_checked, size_t *replay_checked,
			      size_t *reused);

/* ---- the planner's warnings kept in the state file (issue 18: checkcache.c) ---- */

/* What dbreg_plan_build warns about in each body it plans (DBR103) is kept
 * in the state file per package, keyed by this very dbreg binary and each
 * body's bytes, so that a plan of bodies checked before (a registry applied
 * to one more target) does not read them again. A memo made here for reg,
 * passed as dbreg_plan_opts.memo, reads the state file (st, borrowed; may
 * be NULL: nothing stored) when the first step asks; dbreg_plan_memo_save
 * then stores the bodies that were checked anew (nothing when none). Both
 * return 0, DBREG_ENOMEM, or (save) DBREG_EIO with the message in st. */
struct dbreg_plan_memo;
int dbreg_plan_memo_new(struct dbreg_plan_memo **out, struct dbreg_state *st, const struct dbreg_registry *reg);
int dbreg_plan_memo_save(struct dbreg_plan_memo *memo);
void dbreg_plan_memo_free(struct dbreg_plan_memo *memo);

#ifdef __cplusplus
}
#endif

#endif
