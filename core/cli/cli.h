/* The command line: one table of commands (cli.c), one file per command
 * (cmd_<name>.c), all thin clients of the public API in dbreg.h. */
#ifndef DBREG_CLI_H
#define DBREG_CLI_H

#include <dbreg.h>
#include <stdbool.h>
#include <stdio.h>

#define CLI_MAX_PINS 64

/* Options common to every command, parsed once in main.c. */
struct cli_ctx {
	const char *dir;               /* -C DIR, default "." */
	const char *target;            /* --target T, NULL for the default */
	bool json, verbose, quiet, color;
	bool dry_run, refresh, sql;
	int lock_timeout;              /* seconds, --lock-timeout */
	int wait;                      /* seconds, --wait (init) */
	struct dbreg_pin pins[CLI_MAX_PINS];
	size_t n_pins;
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

/* Prints the diagnostics in human form on ctx->err (errors and warnings;
 * warnings hidden with -q). */
void cli_print_diags(struct cli_ctx *ctx, const struct dbreg_diag_list *list);

int cmd_validate(struct cli_ctx *ctx);

#endif
