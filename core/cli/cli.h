/* The command line: one table of commands (cli.c), one file per command
 * (cmd_<name>.c), all thin clients of the public API in dbreg.h. */
#ifndef DBREG_CLI_H
#define DBREG_CLI_H

#include <dbreg.h>
#include <stdbool.h>
#include <stdio.h>

#define CLI_MAX_PINS 64
#define CLI_MAX_ALLOW 64

/* Options common to every command, parsed once in main.c. */
struct cli_ctx {
	const char *dir;               /* -C DIR, default "." */
	const char *target;            /* --target T, NULL for the default */
	bool json, verbose, quiet, color;
	bool tty;                      /* stderr is a terminal */
	bool offline;                  /* status/history: the state file's copy, no connection */
	bool json_open;                /* --json: the document's '{' is out */
	bool json_done;                /* --json: a whole document is out */
	bool dry_run, refresh, sql;
	const char *new_dir;           /* new package --dir DIR */
	const char *docs_out;          /* docs --out DIR */
	bool check;                    /* docs --check */
	int lock_timeout;              /* seconds, --lock-timeout */
	int wait;                      /* seconds, --wait (init) */
	bool record_only;              /* baseline: cli_run_plan records the steps without running them */
	struct dbreg_pin pins[CLI_MAX_PINS];
	size_t n_pins;
	bool no_apply;                 /* watch --no-apply */
	int debounce_ms;               /* watch --debounce MS; 0: the library's 150 */
	const char *allow[CLI_MAX_ALLOW];   /* --allow CODE,...: development targets only */
	size_t n_allow;
	/* --fleet NAME (apply, init, plan, status; fleet.c) */
	const char *fleet;
	bool keep_going;               /* --on-error continue */
	size_t max_failures;           /* --max-failures N, 0: not given */
	bool resume;                   /* --resume */
	size_t jobs;                   /* --jobs N, 0: the fleet's */
	char **args;                   /* positional arguments after the command */
	int n_args;
	FILE *out;                     /* stdout: the JSON document or the human report */
	FILE *err;                     /* stderr: human messages */
};

struct cli_cmd {
	const char *name;
	const char *usage;             /* arguments after the name */
	const char *summary;
	int (*run)(struct cli_ctx *ctx);   /* returns the exit code */
};

/* The table of commands, NULL-terminated. */
extern const struct cli_cmd cli_commands[];

/* Exit code for a library return code (contract: 0..6). */
int cli_exit_code(int rc);

/* Opens the project and loads and validates its manifests. Prints nothing;
 * the caller prints the diagnostics. Returns 0 or a library code; *proj and
 * *reg are set (free them) whenever they could be created. */
int cli_load(struct cli_ctx *ctx, struct dbreg_project **proj, struct dbreg_registry **reg,
	     bool skip_sql, struct dbreg_diag_list *project_diags);

/* The first half of cli_load: project and manifests, no validation. */
int cli_load_only(struct cli_ctx *ctx, struct dbreg_project **proj, struct dbreg_registry **reg,
		  struct dbreg_diag_list *project_diags);

/* The state file's path for a project; malloc'd. */
char *cli_state_path(const struct dbreg_project *proj);

/* cli_load for the commands that act on a valid registry, with the
 * findings printed when they stop it (with --json, as validate's document).
 * Commands that change a target check the SQL too (check_sql), so they
 * refuse what validate refuses, unless the state file records that this
 * same registry passed them; read-only ones check declarations only. */
int cli_open(struct cli_ctx *ctx, struct dbreg_project **proj, struct dbreg_registry **reg, bool check_sql);

/* --json: closes the document opened by cli_print_plan with its "ok" key
 * and marks it complete. Does nothing when no document was opened. */
void cli_json_end(struct cli_ctx *ctx, bool ok);

/* Refuses positional arguments beyond `max` (usage error, exit 2). */
int cli_no_extra_args(struct cli_ctx *ctx, int max);

/* Prints the diagnostics in human form on ctx->err (errors and warnings;
 * warnings hidden with -q). */
void cli_print_diags(struct cli_ctx *ctx, const struct dbreg_diag_list *list);

/* Prints the DBR105 warnings (bypassed rules) of a list in human form:
 * a run that bypassed a rule says so even when it succeeds. */
void cli_print_bypasses(struct cli_ctx *ctx, const struct dbreg_diag_list *list);

/* The target of a command, resolved and opened. */
struct cli_target {
	char *url;                     /* with ${NAME} expanded; holds the password: never print */
	char *shown;                   /* redacted: the one to print and the state file's key */
	enum dbreg_dialect dialect;
	struct dbreg_state *state;
	struct dbreg_conn *conn;       /* NULL until cli_target_connect */
	struct dbreg_applied *history;
	size_t n_history;
	long long lock_timeout_ms, statement_timeout_ms;   /* the target's, from dbreg.toml */
	bool readonly;                 /* conn was opened read-only (cli_run_plan reopens it to write) */
};

/* Refuses (usage error, printed) a development-only feature (`what`:
 * "--allow", "reset", ...) unless --target names a development target;
 * reads nothing from the target. */
int cli_require_dev(struct cli_ctx *ctx, const struct dbreg_project *proj, const char *what);

/* Resolves --target and opens the state file. Prints why on failure. */
int cli_target_open(struct cli_ctx *ctx, struct cli_target *t, const struct dbreg_project *proj);
int cli_target_connect(struct cli_ctx *ctx, struct cli_target *t);
/* For commands and dry runs that only read: creates nothing on the target. */
int cli_target_connect_readonly(struct cli_ctx *ctx, struct cli_target *t);
/* Loads the history to plan against: the target's own (and refreshes the
 * state file's copy), or the state file's copy when offline. */
int cli_target_history(struct cli_ctx *ctx, struct cli_target *t, bool from_target);
void cli_target_close(struct cli_target *t);
const char *cli_dialect_name(enum dbreg_dialect d);

/* Builds the plan for the target's history and the --to pins; prints the
 * conflicts when it cannot. */
int cli_build_plan(struct cli_ctx *ctx, struct dbreg_registry *reg, struct cli_target *t,
		   struct dbreg_plan **plan);
/* Prints the plan: human lines, or the JSON object's target, dialect and
 * steps keys without the closing brace (apply adds its own keys). */
void cli_print_plan(struct cli_ctx *ctx, const struct cli_target *t, const struct dbreg_plan *plan);

/* Prints the plan's warnings (DBR103, ...) on ctx->err, unless -q. */
void cli_print_plan_warnings(struct cli_ctx *ctx, const struct dbreg_plan *plan);

/* Plans against the target's own history and runs the plan (apply, down,
 * init); prints the report, or the plan JSON keys plus applied/ok without
 * the closing brace. */
int cli_run_plan(struct cli_ctx *ctx, struct cli_target *t, struct dbreg_registry *reg,
		 const char *event, const struct dbreg_plan_opts *extra, size_t *applied);
/* Verifies the target; with print_json, prints the verify JSON object. */
int cli_verify(struct cli_ctx *ctx, struct cli_target *t, struct dbreg_registry *reg, bool print_json);

/* apply's shortcut (noop.c): true when the state file's caches show there
 * is nothing to do, which it then reported; false to go the long way. */
bool cli_apply_noop(struct cli_ctx *ctx);
/* After a successful apply: lets the next one take the shortcut. */
void cli_apply_remember(struct cli_ctx *ctx, const struct dbreg_project *proj, struct cli_target *t,
			struct dbreg_registry *reg);

/* Progress callback for dbreg_apply_opts: a bar on the FILE* in arg. */
void cli_progress(void *arg, size_t done, size_t total, const struct dbreg_step *step);

/* Runs of more steps than this get a progress bar on a terminal. */
#define CLI_PROGRESS_MIN_STEPS 5

/* "dir/name" (just "name" when dir is "."), malloc'd; NULL when out of memory. */
char *cli_path_join(const char *dir, const char *name);
/* Reads a whole file into a malloc'd, NUL-terminated buffer; -1 with errno. */
int cli_read_file(const char *path, char **out, size_t *len);

/* apply, init, plan, status --fleet NAME: `command` is the command's name.
 * Returns the exit code: the worst of the targets'. */
int cli_fleet(struct cli_ctx *ctx, const char *command);

int cmd_validate(struct cli_ctx *ctx);
int cmd_new(struct cli_ctx *ctx);
int cmd_docs(struct cli_ctx *ctx);
int cmd_generate(struct cli_ctx *ctx);
int cmd_test(struct cli_ctx *ctx);
int cmd_apply(struct cli_ctx *ctx);
int cmd_init(struct cli_ctx *ctx);
int cmd_down(struct cli_ctx *ctx);
int cmd_status(struct cli_ctx *ctx);
int cmd_history(struct cli_ctx *ctx);
int cmd_verify(struct cli_ctx *ctx);
int cmd_plan(struct cli_ctx *ctx);
int cmd_accept(struct cli_ctx *ctx);
int cmd_baseline(struct cli_ctx *ctx);
int cmd_reset(struct cli_ctx *ctx);
int cmd_watch(struct cli_ctx *ctx);

#endif
