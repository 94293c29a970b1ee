/* The command line: one table of commands (commands.c lists the entries,
 * each cmd_<name>.c defines its own), one table of options (options.c), and
 * one session (session.c) that opens project, registry, state file and
 * target for every command. All thin clients of the public API in dbreg.h.
 *
 * How to add a command (see also core/cli/README.md):
 *   1. Write core/cli/cmd_<name>.c with `const struct cli_command cli_cmd_<name>`
 *      (name, args, summary, help, options, needs, min/max args, run).
 *   2. Add `&cli_cmd_<name>` to cli_commands[] in commands.c, declare it
 *      at the end of this header, add the file to meson.build.
 *   3. run() gets the session with what `needs` asked for already open and
 *      returns 0 or a DBREG_E* code; report a failure with cli_fail() (its
 *      message becomes "error.message" of the JSON document), JSON keys with
 *      cli_json_key(). --help, dbreg(1) and the completion follow by
 *      themselves.
 * How to add an option: one row in cli_options[] (options.c) with a field
 * in struct cli_opts, and its long name in the `options` list of every
 * command that takes it. */
#ifndef DBREG_CLI_H
#define DBREG_CLI_H

#include <dbreg.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_MAX_PINS 64
#define CLI_MAX_ARGS 64
#define CLI_MAX_ALLOW 64

struct cli_session;

/* The values of the parsed options. A row of cli_options[] names its field
 * with offsetof (flags: bool, strings: const char *, seconds: int). */
struct cli_opts {
	const char *dir;               /* -C DIR, default "." */
	const char *target;            /* --target T, NULL for the default */
	const char *state;             /* --state PATH (or DBREG_STATE), NULL: the project's */
	bool json, verbose, quiet, no_color, help;
	bool offline;                  /* status/history: the state file's copy, no connection */
	bool dry_run, refresh, sql;
	int lock_timeout;              /* seconds, --lock-timeout */
	int wait;                      /* seconds, --wait (init) */
	struct dbreg_pin pins[CLI_MAX_PINS];   /* --to, in the order given */
	size_t n_pins;
	const char *allow[CLI_MAX_ALLOW];   /* --allow CODE,...: development targets only */
	size_t n_allow;
	bool no_apply;                 /* watch --no-apply */
	int debounce_ms;               /* watch --debounce MS; 0: the library's 150 */
	/* --fleet NAME (apply, init, plan, status; fleet.c) */
	const char *fleet;
	bool keep_going;               /* --on-error continue */
	bool on_error;                 /* --on-error given (either way) */
	size_t max_failures;           /* --max-failures N, 0: not given */
	bool resume;                   /* --resume */
	size_t jobs;                   /* --jobs N, 0: the fleet's */
	const char *new_dir;           /* new package --dir DIR */
	const char *docs_out;          /* docs --out DIR */
	bool check;                    /* docs --check */
};

/* One option. `set` stores the value (cli_set_flag, cli_set_string,
 * cli_set_seconds use `off`; others parse their own) and returns 0, or
 * DBREG_EUSAGE after cli_fail. */
struct cli_option {
	const char *name;              /* long name without dashes: "dry-run" */
	char short_name;               /* 'v' for -v, 0: none */
	const char *arg;               /* the argument's name ("SECONDS"), NULL: a flag */
	const char *help;              /* one line for --help and dbreg(1) */
	int (*set)(struct cli_session *s, const struct cli_option *o, const char *arg);
	size_t off;                    /* offsetof(struct cli_opts, field) for the generic setters */
	bool common;                   /* every command takes it */
	const char *complete;          /* the argument's completion: "dirs", "files", "targets", "packages",
					* "fleets", NULL; an arg "a|b" completes its words */
};

/* What the session opens before a command runs (cli_command.needs). Each
 * implies the ones above it where it needs them. */
enum {
	CLI_NEEDS_PROJECT = 1 << 0,    /* dbreg.toml read (s->proj) */
	CLI_NEEDS_REGISTRY = 1 << 1,   /* manifests loaded, not validated (s->reg) */
	CLI_NEEDS_VALID = 1 << 2,      /* declarations validated; errors stop the command (exit 1) */
	CLI_NEEDS_VALID_SQL = 1 << 3,  /* and the SQL checks (cached in the state file) */
	CLI_NEEDS_STATE = 1 << 4,      /* the state file opened (s->state) */
	CLI_NEEDS_TARGET = 1 << 5,     /* --target resolved (s->url, s->shown, s->dialect) */
	CLI_STATE_READONLY = 1 << 6,   /* only reads the state file: a read-only one will do */
	CLI_DEV_ONLY = 1 << 7,         /* development targets only (reset): refused before anything is read */
	CLI_SQL_BESIDE = 1 << 8,       /* the SQL checks may run beside the command until cli_checks_wait (apply) */
	CLI_FOLDERS_NEW = 1 << 9,      /* no package folder made yet is an empty project (new package makes it) */
};

struct cli_command {
	const char *name;
	const char *args;              /* the synopsis after the name: "PKG --to VERSION" */
	const char *summary;           /* one line for the list of commands */
	const char *help;              /* what it does, for CMD --help and dbreg(1); may be NULL */
	const char *const *options;    /* its own options (long names), NULL-terminated; common ones not listed */
	unsigned needs;                /* CLI_NEEDS_* opened by the session before run */
	int min_args, max_args;        /* positional arguments */
	const char *complete_args;     /* completion of its positional arguments: "packages", "commands", NULL */
	/* Words its first argument is one of (new: package, migration), each
	 * "word" or "word:what complete_args names for the arguments after
	 * it" ("migration:packages"); NULL: none, complete_args from the first. */
	const char *const *complete_words;
	int (*run)(struct cli_session *s);   /* returns 0 or a DBREG_E* code */
	bool hidden;                   /* not listed (build helpers) */
	/* Tried before the session opens anything (may be NULL): true when it
	 * answered the command alone (apply's no-op from the caches). */
	bool (*shortcut)(struct cli_session *s);
	/* --json writes a document per round itself (NDJSON: watch); main adds
	 * one only when the command fails. */
	bool streams_json;
};

/* The table of commands, NULL-terminated (commands.c). */
extern const struct cli_command *const cli_commands[];
extern const struct cli_option cli_options[];

const struct cli_command *cli_command_find(const char *name);
const struct cli_option *cli_option_find(const char *name);
bool cli_command_takes(const struct cli_command *cmd, const struct cli_option *o);

/* Generic setters for option rows. */
int cli_set_flag(struct cli_session *s, const struct cli_option *o, const char *arg);
int cli_set_string(struct cli_session *s, const struct cli_option *o, const char *arg);
int cli_set_seconds(struct cli_session *s, const struct cli_option *o, const char *arg);

/* The failure of a run, as the JSON document's "error" object says it.
 * Strings owned by the session. */
struct cli_error {
	char *message, *detail, *hint, *file, *package, *migration, *statement;
	char sqlstate[6];
	unsigned line, column;
};

/* Everything a command works with. */
struct cli_session {
	struct cli_opts o;
	const struct cli_command *cmd;
	char *args[CLI_MAX_ARGS];      /* positional arguments after the command */
	int n_args;
	const char *sub;               /* the word after the command that names what it does ("migration"
					  of new migration), for messages; NULL when none */
	bool tty;                      /* stderr is a terminal */
	bool color;
	FILE *out;                     /* human report, or (--json) the document's keys */
	FILE *err;                     /* human messages, always stderr */
	size_t json_keys;              /* keys written so far (cli_json_key) */

	/* Opened by the session, per cmd->needs; NULL when not. */
	struct dbreg_project *proj;
	struct dbreg_registry *reg;
	struct dbreg_diag_list project_diags;   /* dbreg.toml's findings */
	struct dbreg_diag_list command_diags;   /* a command's own findings (generate): the document's
						   diagnostics instead of the registry's when not empty */
	struct dbreg_state *state;
	char *state_path;
	bool state_readonly;           /* opened read-only: nothing is written to it */
	long long loaded_at;           /* dbreg_cache_clock() before the manifests were read (the cache's
					  wall clock, compared with files' times) */
	double load_started_ms;        /* dbreg_clock_ms() then: how long the reading took */
	char *url;                     /* with ${NAME} expanded; holds the password: never print */
	char *shown;                   /* redacted: the one to print and the state file's key */
	enum dbreg_dialect dialect;
	long long lock_timeout_ms, statement_timeout_ms;   /* the target's, from dbreg.toml */
	struct dbreg_conn *conn;       /* NULL until cli_connect */
	bool conn_readonly;            /* conn was opened read-only (cli_connect_writable makes it write) */
	struct dbreg_applied *history; /* from cli_history */
	size_t n_history;
	bool history_online;           /* read from the target, not the state file's copy */
	struct dbreg_progress *progress;   /* read with the target's history: migrations that stopped part way */
	size_t n_progress;
	bool record_only;              /* baseline: cli_run_plan records the steps without running them */

	/* The SQL checks running beside the command (CLI_SQL_BESIDE): until
	 * cli_checks_wait, what it prints is held in memory, so that a failed
	 * check shows only what a validation would have shown. */
	struct dbreg_validate_job *checks;
	char checks_sum[72];           /* the registry's checksum, for the state file */
	bool checks_waited;
	int checks_rc;                 /* their verdict, once waited */
	FILE *real_out, *real_err;     /* s->out and s->err while they are held */
	char *held_out, *held_err;
	size_t held_out_len, held_err_len;

	struct cli_error error;        /* the first failure reported */
	int exit_code;                 /* nonzero: the exit code itself (a fleet's worst, 130 interrupted) */
	bool failed;
};

/* Exit code for a library return code (contract: 0..6). */
int cli_exit_code(int rc);

/* Reports a failure: "dbreg: MESSAGE" on stderr, and the JSON error's
 * message when none was set yet. cli_hint adds the hint. cli_usage is a
 * usage error: it says so, points at CMD --help, returns DBREG_EUSAGE. */
void cli_fail(struct cli_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_fail with the target's last failure (dbreg_target_errmsg) after
 * "what: ", its SQLSTATE, detail and hint in the JSON error's own keys. */
void cli_fail_target(struct cli_session *s, const char *what);
/* The JSON error's sqlstate, detail and hint, where none is set, from the
 * target's last failure (a library call that failed on s->conn). */
void cli_error_from_target(struct cli_session *s);
void cli_hint(struct cli_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_usage(struct cli_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the JSON error's message without printing (the command printed its own). */
void cli_error_set(struct cli_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A command's PKG argument: 0 and *out = the index of package `name` in
 * s->reg. Else the failure is said: DBREG_EINVALID (exit 1) with the
 * manifests' diagnostics when they have errors (the package may be in the
 * file that did not load), DBREG_EUSAGE (exit 2) naming the nearest package
 * when they loaded cleanly. */
int cli_package(size_t *out, struct cli_session *s, const char *name);
/* Reports a failure of the state file (message: its error), with the hint
 * for rc: for DBREG_ESTATE (not a usable state file) how to go on without
 * it. */
void cli_fail_state(struct cli_session *s, int rc, const char *message);
/* The hint of cli_fail_state alone. */
void cli_hint_state(struct cli_session *s, int rc);
/* A "stale_copy" object: {"target" (when not NULL), "command", "started_at"}. */
void cli_json_stale_copy(FILE *out, const char *target, const char *command, const char *at);
/* Warns (unless -q) that the state file's copy of target's history may be
 * stale: a run (command, started at) left its mark (dbreg_state_run_left);
 * fresh says how to read the target ("with --refresh"). */
void cli_warn_stale_copy(struct cli_session *s, const char *target, const char *command, const char *at,
			 const char *fresh);
/* Prints the registry's diagnostics and fails with "the manifests have N
 * errors; nothing was changed". */
void cli_fail_manifests(struct cli_session *s);
/* Refuses a bare --to VERSION (only down takes one). */
int cli_check_pins(struct cli_session *s);
/* Sets the error from a failed run (migration, statement, SQLSTATE ...). */
void cli_fail_apply(struct cli_session *s, const struct dbreg_apply_result *r);
/* Fills an empty error from a failed run, as cli_fail_apply does. */
void cli_error_from_apply(struct cli_error *e, const struct dbreg_apply_result *r);
/* Frees what an error holds and empties it. */
void cli_error_dispose(struct cli_error *e);
/* Writes the JSON "error" object of cli.md (unknown values null);
 * `message` when e has none. */
void cli_json_error(FILE *fp, const struct cli_error *e, const char *message);

/* --json: starts a key of the document ("key": ); the caller writes the value. */
void cli_json_key(struct cli_session *s, const char *key);
/* --json: the keys print writes, as text of their own (for the document
 * of a signal: main.c); NULL when out of memory. The document so far is
 * left as it was. */
char *cli_json_keys_text(struct cli_session *s, void (*print)(struct cli_session *s, const void *arg), const void *arg);
/* --json: a list of strings, ["a", "b"]. */
void cli_json_strings(FILE *fp, char *const *v, size_t n);
/* --json: the keys that name a migration inside an object (history rows,
 * plan steps), "package", "migration" and "version" (NULL: null); no braces. */
void cli_json_migration(FILE *fp, const char *package, const char *migration, const char *version);

/* The diagnostics that the document's "diagnostics" and a failed command
 * report: the registry's, else dbreg.toml's. */
const struct dbreg_diag_list *cli_diags(struct cli_session *s);
/* Prints diagnostics in human form on stderr (warnings hidden with -q). */
void cli_print_diags(struct cli_session *s, const struct dbreg_diag_list *list);

/* Opens what `needs` asks for (session.c). Returns 0 or a code, having
 * said why. cli_session_close frees everything. */
int cli_session_open(struct cli_session *s, unsigned needs);
void cli_session_close(struct cli_session *s);

/* Waits for the SQL checks running beside the command, if any, and lets
 * its held output out. When they failed, prints what the validation would
 * have printed (diagnostics, failure) instead of anything the command
 * said since, and returns their code; else returns rc. Idempotent. */
int cli_checks_wait(struct cli_session *s, int rc);

/* DBREG_CHECK_BUDGET_MS, or 0 for the library's default (30 s). */
unsigned cli_check_budget_ms(void);

/* The project folder as a path from the current folder (or absolute when
 * that reads better); malloc'd. Every opener of the project uses it: paths
 * and so the registry's checksum and caches depend on it. */
char *cli_relative_dir(const char *dir);

/* The state file's path: --state/DBREG_STATE, else the project's. malloc'd. */
char *cli_state_path(const struct cli_session *s, const struct dbreg_project *proj);
/* For a session that outlives its dbreg.toml (watch): proj's state file
 * opened in the stead of s->state when it is another file (--state and
 * DBREG_STATE stay as named). Returns 0 when it is the same file, 1 when
 * s->state is proj's now, or a negative code, err saying why, s->state
 * as it was. */
int cli_state_follow(struct cli_session *s, const struct dbreg_project *proj, char *err, size_t errsize);

/* apply's shortcut (noop.c): true when the state file's caches show there
 * is nothing to do, which it then reported; false to go the long way. */
bool cli_apply_noop(struct cli_session *s);
/* After a successful apply: lets the next one take the shortcut. */
void cli_apply_remember(struct cli_session *s);

/* Connects to the target (read-only: creates nothing on it). */
int cli_connect(struct cli_session *s, bool readonly);
/* A new connection in place of s->conn, of the same kind, for a session
 * that outlived its own (watch): the reason of a refusal in err, not
 * reported (the caller's round says it). */
int cli_reconnect(struct cli_session *s, char *err, size_t errsize);
/* Once the plan is fine: a read-only connection becomes one that writes
 * (dbreg_target_make_writable); nothing to do for any other. */
int cli_connect_writable(struct cli_session *s);
/* --json: a transaction = false migration's progress, {statements_done,
 * statements_total}, or null when it did not stop part way (done 0). */
void cli_json_partial(FILE *out, size_t done, size_t total);

/* Loads the history to plan against into s->history: the target's own
 * (connecting read-only if needed; refreshes the state file's copy), or
 * the state file's copy. An offline copy of a target the state file never
 * saw says so on stderr. */
int cli_history(struct cli_session *s, bool from_target);
const char *cli_dialect_name(enum dbreg_dialect d);
/* status, history: connects read-only unless --offline, and loads the history. */
int cli_read_target(struct cli_session *s);
/* status, history --json: the keys target and online (read by cli_read_target). */
void cli_json_target_keys(struct cli_session *s);

/* Builds the plan for s->history, the --to pins and --allow; `extra`
 * (may be NULL) adds only_package, reset and keep_invalid (then *plan may
 * be set with DBREG_EINVALID, the findings printed). */
int cli_build_plan(struct cli_session *s, const struct dbreg_plan_opts *extra, struct dbreg_plan **plan);
/* The end of the "applied N migrations" line of apply and init: what
 * another run applied meanwhile, and the transactions a migration that runs
 * on its own (transaction = false, or foreign_keys = false on SQLite) split
 * the run into. */
void cli_print_applied_tail(struct cli_session *s, const struct dbreg_apply_result *r);
/* The row-level security a successful run made again (dbreg_apply_result's
 * repaired): warnings on stderr, or the "repaired" key with --json. */
void cli_print_repaired(struct cli_session *s, const struct dbreg_apply_result *r, int rc);
/* apply's --json report of a run (plan NULL: one with no steps). */
void cli_print_applied_json(struct cli_session *s, const struct dbreg_plan *plan, const struct dbreg_apply_result *res,
			    int rc);
/* The warnings of lines a run made again on the target shown, unless -q;
 * of a dry run or a plan, the lines it would make again (stdout). */
void cli_warn_repaired(struct cli_session *s, const char *shown, char *const *lines, size_t n);
/* Whether [isolation] asks for row-level security on that dialect: then
 * every apply checks and repairs the policies, whatever its history says. */
bool cli_rls_on(const struct dbreg_project *proj, enum dbreg_dialect dialect);
/* Prints the plan's warnings (DBR103, ...) on stderr, unless -q. */
void cli_print_plan_warnings(struct cli_session *s, const struct dbreg_plan *plan);
/* Prints the plan: human lines, or the keys target, dialect and steps. */
void cli_print_plan(struct cli_session *s, const struct dbreg_plan *plan);
/* With --json, before a run of plan starts: its keys and the diagnostics
 * so far, for the document an interrupt writes instead (main.c). */
void cli_signal_keys(struct cli_session *s, const struct dbreg_plan *plan);
/* With --json, before a run whose keys change while it runs (a fleet's
 * targets as they finish): the diagnostics so far, and `keys`, which the
 * handler calls instead of writing cli_signal_keys' keys. keys writes the
 * document's keys, each followed by ",\n", with cli_signal_write only: it
 * runs in a signal handler (no malloc, no stdio, no locks). */
void cli_signal_writer(struct cli_session *s, void (*keys)(void));
/* From a signal handler: text to stdout, a full or non-blocking pipe
 * waited out; the digits of n (in buf, which it returns a pointer into). */
void cli_signal_write(const char *text);
/* A run inside dbreg_cancel_unwind_enter/leave that a SIGINT or SIGTERM
 * interrupted: cli_signal_deferred says so (the run reports nothing of its
 * own), and cli_signal_unwound, once it has recorded what the target
 * holds, ends the process as the handler would have (the same document or
 * words, the signal's exit status); without such a signal it returns. */
bool cli_signal_deferred(void);
void cli_signal_unwound(void);
const char *cli_signal_digits(char buf[24], unsigned long long n);
/* --dry-run of apply, down, init: the plan (human lines), then each step's
 * SQL after a "-- up|down package migration" line, then the row-level
 * security the run would repair (r's repaired, when rc is 0). */
void cli_print_dry_run(struct cli_session *s, const struct dbreg_plan *plan, const struct dbreg_apply_result *r,
		       int rc);

/* Plans against the target's own history and runs the plan (apply, down,
 * init); prints the report or the JSON keys. */
int cli_run_plan(struct cli_session *s, const char *event, const struct dbreg_plan_opts *extra, size_t *applied);
/* Verifies the target; with --json writes the key "verify" (nested) or
 * the verify keys at the top (nested=false). */
int cli_verify(struct cli_session *s, bool nested);
/* Prints a verify result (rc: what dbreg_verify_run returned) as cli_verify does. */
void cli_verify_print(struct cli_session *s, const struct dbreg_verify_result *vr, int rc, bool nested);
/* The document's "problems" key: the differences verify found. */
void cli_json_problems(struct cli_session *s, const struct dbreg_verify_result *vr);
/* Prints a failed run on stderr: the migration, where, what the database said. */
void cli_print_failure(struct cli_session *s, const struct dbreg_apply_result *r);

/* Refuses (usage error) a development-only feature (`what`: "--allow",
 * "reset", ...) unless the target is a development target; reads nothing
 * from the target. */
int cli_require_dev(struct cli_session *s, const char *what);
/* Prints the registry's DBR105 warnings (bypassed rules): a run that
 * bypassed a rule says so even when it succeeds. Those among the plan's
 * warnings (printed by cli_print_plan_warnings) are not said twice. */
void cli_print_bypasses(struct cli_session *s, const struct dbreg_plan *plan);
/* Once per apply or init run (one target or a fleet), on standard error:
 * tools that no ydtb_tools of the core holds were not written. That is
 * DBR016, so only a run that bypasses it (--allow DBR016 on a development
 * target) gets this far. */
void cli_note_tools(struct cli_session *s);
/* "dir/name" (just "name" when dir is "." or name absolute), malloc'd. */
char *cli_path_join(const char *dir, const char *name);
/* Reads a whole file into a malloc'd, NUL-terminated buffer; -1 with errno. */
int cli_read_file(const char *path, char **out, size_t *len);

/* apply, init, plan, status --fleet NAME (fleet.c): `command` is the
 * command's name. The exit code is the worst of the targets' (s->exit_code). */
int cli_fleet(struct cli_session *s, const char *command);

/* Progress callback for dbreg_apply_opts: a bar on the FILE* in arg. */
void cli_progress(void *arg, size_t done, size_t total, const struct dbreg_step *step);
/* The line a run prints on stderr before it waits for another run's
 * lock (arg: the session). */
void cli_waiting(void *arg, int timeout_s);
#define CLI_PROGRESS_MIN_STEPS 5

/* help.c: the generated texts. */
void cli_help_main(FILE *fp);
void cli_help_command(FILE *fp, const struct cli_command *cmd);
void cli_usage_line(FILE *fp, const struct cli_command *cmd);
/* The closest of `candidates` to `word` within a small edit distance, or NULL. */
const char *cli_suggest(const char *word, const char *const *candidates, size_t n);

/* commands.c: a command name that is not one, reported as a usage error
 * (exit 2) with what the user meant: dbreg's word for another tool's
 * command (migrate -> apply), or a near name. `what` is "unknown command"
 * or "no command". */
int cli_unknown_command(struct cli_session *s, const char *what, const char *name);

/* The command entries (one per cmd_<name>.c). */
extern const struct cli_command cli_cmd_validate, cli_cmd_plan, cli_cmd_apply, cli_cmd_init, cli_cmd_down,
	cli_cmd_status, cli_cmd_history, cli_cmd_verify, cli_cmd_reset, cli_cmd_watch, cli_cmd_new, cli_cmd_generate, cli_cmd_test, cli_cmd_docs, cli_cmd_baseline, cli_cmd_accept, cli_cmd_help, cli_cmd_man, cli_cmd_completion,
	cli_cmd_packages;

#endif
