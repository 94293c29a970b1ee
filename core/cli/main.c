/* dbreg's entry point: parses the options every command shares, finds the
 * command in the table of cli.c and runs it. Exit codes: see cli.md. */
#include "cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_NO_COLOR = 256,
	OPT_DRY_RUN,
	OPT_REFRESH,
	OPT_SQL,
	OPT_TO,
	OPT_LOCK_TIMEOUT,
	OPT_WAIT,
	OPT_VERSION,
	OPT_OFFLINE,
	OPT_ALLOW,
	OPT_NO_APPLY,
	OPT_DEBOUNCE,
	OPT_DIR,
	OPT_OUT,
	OPT_CHECK,
	OPT_FLEET,
	OPT_ON_ERROR,
	OPT_MAX_FAILURES,
	OPT_RESUME,
	OPT_JOBS,
};

static const struct option long_options[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"target", required_argument, NULL, 't'},
	{"json", no_argument, NULL, 'j'},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"no-color", no_argument, NULL, OPT_NO_COLOR},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"refresh", no_argument, NULL, OPT_REFRESH},
	{"sql", no_argument, NULL, OPT_SQL},
	{"to", required_argument, NULL, OPT_TO},
	{"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
	{"wait", required_argument, NULL, OPT_WAIT},
	{"offline", no_argument, NULL, OPT_OFFLINE},
	{"allow", required_argument, NULL, OPT_ALLOW},
	{"no-apply", no_argument, NULL, OPT_NO_APPLY},
	{"debounce", required_argument, NULL, OPT_DEBOUNCE},
	{"dir", required_argument, NULL, OPT_DIR},
	{"out", required_argument, NULL, OPT_OUT},
	{"check", no_argument, NULL, OPT_CHECK},
	{"fleet", required_argument, NULL, OPT_FLEET},
	{"on-error", required_argument, NULL, OPT_ON_ERROR},
	{"max-failures", required_argument, NULL, OPT_MAX_FAILURES},
	{"resume", no_argument, NULL, OPT_RESUME},
	{"jobs", required_argument, NULL, OPT_JOBS},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: dbreg [options] <command> [args]\n\n"
		    "dbreg validates package manifests, plans their migrations by dependency\n"
		    "order, and applies them to SQLite or PostgreSQL.\n\ncommands:\n");
	for (const struct cli_cmd *c = cli_commands; c->name; c++) {
		char left[40];
		snprintf(left, sizeof(left), "%s%s%s", c->name, *c->usage ? " " : "", c->usage);
		fprintf(fp, "  %-26s %s\n", left, c->summary);
	}
	fprintf(fp, "\noptions:\n"
		    "  -C DIR                     the project folder (default: .)\n"
		    "  --target T                 a target name from dbreg.toml, or a URL\n"
		    "                             (default: target dev, else sqlite:ydtb.db)\n"
		    "  --json                     one JSON document on standard output\n"
		    "  -v, --verbose              more detail (each statement with its timing)\n"
		    "  -q, --quiet                errors only\n"
		    "  --no-color                 no colour (also NO_COLOR)\n"
		    "  --to PKG@VERSION           stop a package at a version (plan, apply, init; repeatable)\n"
		    "  --dry-run                  print what would run, change nothing (apply, init, down)\n"
		    "  --refresh                  read the target's history before planning (plan)\n"
		    "  --sql                      print the whole SQL script (plan)\n"
		    "  --offline                  from the state file, without connecting (status, history)\n"
		    "  --no-apply                 watch: validate and plan only\n"
		    "  --debounce MS              watch: quiet time before a reload (default 150)\n"
		    "  --allow CODE[,CODE...]     development targets only: those errors become DBR105\n"
		    "                             warnings for this run (apply, init, watch)\n"
		    "  --dir DIR                  the folder for a new package's manifest (new package)\n"
		    "  --out DIR                  where docs writes (default docs/schema)\n"
		    "  --check                    exit 1 when the files on disk differ (docs)\n"
		    "  --lock-timeout SECONDS     wait at most this long for another run (default 60)\n"
		    "  --fleet NAME               every target of [fleets.NAME] instead of one (apply, init,\n"
		    "                             plan, status)\n"
		    "  --on-error stop|continue   a failed target stops the fleet (default) or not\n"
		    "  --max-failures N           start no target after N failures (fleet)\n"
		    "  --resume                   only the targets the last run failed or did not reach (fleet)\n"
		    "  --jobs N                   targets at a time (fleet; default the fleet's jobs)\n"
		    "  --wait SECONDS             retry a refused connection this long (init, default 30)\n"
		    "  -h, --help                 this help\n"
		    "  --version                  the version\n\n"
		    "exit codes: 0 ok, 1 manifest or plan errors, 2 usage, 3 connection,\n"
		    "4 migration failed (rolled back), 5 lock timeout, 6 verify found differences\n");
}

static int parse_seconds(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 86400)
		return -1;
	*out = (int)v;
	return 0;
}

/* Applies one parsed option. Returns -1 to go on, or the exit code to
 * stop with (0 after --help/--version, 2 for a usage error). */
static int apply_option(struct cli_ctx *ctx, int c, char *arg, bool *no_color)
{
	switch (c) {
	case 'h':
		usage(stdout);
		return 0;
	case OPT_VERSION:
		printf("dbreg %s\n", DBREG_VERSION_STRING);
		return 0;
	case 'C': ctx->dir = arg; return -1;
	case 't': ctx->target = arg; return -1;
	case 'j': ctx->json = true; return -1;
	case 'v': ctx->verbose = true; return -1;
	case 'q': ctx->quiet = true; return -1;
	case OPT_NO_COLOR: *no_color = true; return -1;
	case OPT_DRY_RUN: ctx->dry_run = true; return -1;
	case OPT_REFRESH: ctx->refresh = true; return -1;
	case OPT_SQL: ctx->sql = true; return -1;
	case OPT_OFFLINE: ctx->offline = true; return -1;
	case OPT_DIR: ctx->new_dir = arg; return -1;
	case OPT_OUT: ctx->docs_out = arg; return -1;
	case OPT_CHECK: ctx->check = true; return -1;
	case OPT_FLEET: ctx->fleet = arg; return -1;
	case OPT_RESUME: ctx->resume = true; return -1;
	case OPT_ON_ERROR:
		if (strcmp(arg, "stop") != 0 && strcmp(arg, "continue") != 0) {
			fprintf(stderr, "dbreg: --on-error takes stop or continue\n");
			return 2;
		}
		ctx->keep_going = strcmp(arg, "continue") == 0;
		return -1;
	case OPT_MAX_FAILURES:
	case OPT_JOBS: {
		char *end;
		long v = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || v < 1 || v > 100000) {
			fprintf(stderr, "dbreg: --%s takes a number of at least 1\n", c == OPT_JOBS ? "jobs" : "max-failures");
			return 2;
		}
		*(c == OPT_JOBS ? &ctx->jobs : &ctx->max_failures) = (size_t)v;
		return -1;
	}
	case OPT_TO: {
		/* PKG@VERSION, split at the last '@' (scoped names start with
		 * one); a bare VERSION is for `down PKG --to VERSION`. */
		char *at = strrchr(arg, '@');
		if (ctx->n_pins == CLI_MAX_PINS || (at && (at == arg || !at[1]))) {
			fprintf(stderr, "dbreg: --to takes PKG@VERSION, as in --to @ydtb/basic@1.0.0\n");
			return 2;
		}
		if (at)
			*at = '\0';
		ctx->pins[ctx->n_pins].package = at ? arg : NULL;
		ctx->pins[ctx->n_pins].version = at ? at + 1 : arg;
		ctx->n_pins++;
		return -1;
	}
	case OPT_NO_APPLY: ctx->no_apply = true; return -1;
	case OPT_DEBOUNCE:
		if (parse_seconds(arg, &ctx->debounce_ms) || ctx->debounce_ms < 1 || ctx->debounce_ms > 10000) {
			fprintf(stderr, "dbreg: --debounce takes milliseconds, 1 to 10000\n");
			return 2;
		}
		return -1;
	case OPT_ALLOW:
		for (char *save = NULL, *code = strtok_r(arg, ",", &save); code; code = strtok_r(NULL, ",", &save)) {
			if (!dbreg_diag_code_allowable(code) || ctx->n_allow == CLI_MAX_ALLOW) {
				fprintf(stderr, "dbreg: --allow takes error codes such as DBR043; %s is not one\n", code);
				return 2;
			}
			ctx->allow[ctx->n_allow++] = code;
		}
		return -1;
	case OPT_LOCK_TIMEOUT:
		if (parse_seconds(arg, &ctx->lock_timeout)) {
			fprintf(stderr, "dbreg: --lock-timeout takes a number of seconds\n");
			return 2;
		}
		return -1;
	case OPT_WAIT:
		if (parse_seconds(arg, &ctx->wait)) {
			fprintf(stderr, "dbreg: --wait takes a number of seconds\n");
			return 2;
		}
		return -1;
	default:
		fprintf(stderr, "Try 'dbreg --help'.\n");
		return 2;
	}
}

/* Writes `text` as a JSON array of its non-empty lines. */
static void json_lines(FILE *fp, const char *text, size_t len)
{
	fputc('[', fp);
	bool first = true;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && text[j] != '\n')
			j++;
		if (j > i) {
			char *line = strndup(text + i, j - i);
			if (line) {
				fputs(first ? "" : ", ", fp);
				dbreg_json_str(fp, line);
				first = false;
				free(line);
			}
		}
		i = j + 1;
	}
	fputc(']', fp);
}

/* Runs a command with --json. Its output is held until it returns, so
 * that standard output gets exactly one JSON document: the command's when
 * it completed one, else one saying what failed. Human messages still go
 * to standard error, and are repeated in that document. */
static int run_json(struct cli_ctx *ctx, const struct cli_cmd *cmd)
{
	char *out = NULL, *err = NULL;
	size_t n_out = 0, n_err = 0;
	ctx->out = open_memstream(&out, &n_out);
	ctx->err = open_memstream(&err, &n_err);
	if (!ctx->out || !ctx->err) {
		if (ctx->out)
			fclose(ctx->out);
		if (ctx->err)
			fclose(ctx->err);
		free(out);
		free(err);
		fputs("dbreg: out of memory\n", stderr);
		return 1;
	}
	int rc = cmd->run(ctx);
	fclose(ctx->out);
	fclose(ctx->err);
	fwrite(err, 1, n_err, stderr);
	if (ctx->json_done) {
		fwrite(out, 1, n_out, stdout);
	} else {
		/* The command stopped before its document was whole. */
		printf("{\n  \"ok\": false,\n  \"exit_code\": %d,\n  \"command\": \"%s\",\n  \"errors\": ",
		       rc, cmd->name);
		json_lines(stdout, err, n_err);
		fputs("\n}\n", stdout);
	}
	free(out);
	free(err);
	return rc;
}

int main(int argc, char **argv)
{
	static char *positional[256];
	struct cli_ctx ctx = {
		.dir = ".",
		.lock_timeout = 60,
		.wait = 30,
		.args = positional,
		.out = stdout,
		.err = stderr,
	};
	const char *nc = getenv("NO_COLOR");
	bool no_color = nc && *nc;
	const char *name = NULL;
	int c, stop;

	/* '-' in optstring hands positional arguments over in order (as code 1),
	 * so options may stand before or after the command name. */
	while ((c = getopt_long(argc, argv, "-hC:t:jvq", long_options, NULL)) != -1) {
		if (c != 1) {
			if ((stop = apply_option(&ctx, c, optarg, &no_color)) >= 0)
				return stop;
		} else if (!name) {
			name = optarg;
		} else if (ctx.n_args < (int)(sizeof(positional) / sizeof(positional[0]))) {
			ctx.args[ctx.n_args++] = optarg;
		}
	}
	if (!name) {
		usage(stderr);
		return 2;
	}
	const struct cli_cmd *cmd = NULL;
	for (const struct cli_cmd *k = cli_commands; k->name; k++)
		if (strcmp(k->name, name) == 0)
			cmd = k;
	if (!cmd) {
		fprintf(stderr, "dbreg: unknown command '%s'. Try 'dbreg --help'.\n", name);
		return 2;
	}
	ctx.tty = isatty(fileno(stderr));
	ctx.color = !no_color && !ctx.json && ctx.tty;
	/* watch --json streams one line per round, so nothing is held back. */
	if (!ctx.json || cmd->run == cmd_watch)
		return cmd->run(&ctx);
	return run_json(&ctx, cmd);
}
