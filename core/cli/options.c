/* Every option of the command line, one row each (tmux's options-table.c):
 * the parser, --help, dbreg(1) and the completion read this table. Which
 * command takes which option is in the command's own entry. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define OFF(field) offsetof(struct cli_opts, field)

int cli_set_flag(struct cli_session *s, const struct cli_option *o, const char *arg)
{
	(void)arg;
	*(bool *)((char *)&s->o + o->off) = true;
	return 0;
}

int cli_set_string(struct cli_session *s, const struct cli_option *o, const char *arg)
{
	*(const char **)((char *)&s->o + o->off) = arg;
	return 0;
}

int cli_set_seconds(struct cli_session *s, const struct cli_option *o, const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || v < 0 || v > 86400)
		return cli_usage(s, "--%s takes a number of seconds (0 to 86400), not '%s'", o->name, arg);
	*(int *)((char *)&s->o + o->off) = (int)v;
	return 0;
}

/* --lock-timeout 0 is no wait at all; the library's 0 is its default. */
static int opt_lock_timeout(struct cli_session *s, const struct cli_option *o, const char *arg)
{
	int rc = cli_set_seconds(s, o, arg);
	if (rc == 0 && s->o.lock_timeout == 0)
		s->o.lock_timeout = -1;
	return rc;
}

/* --to PKG@VERSION, split at the last '@' (scoped names start with one);
 * a bare VERSION is for `down PKG --to VERSION`, which checks it. */
static int opt_to(struct cli_session *s, const struct cli_option *o, const char *arg)
{
	(void)o;
	const char *at = strrchr(arg, '@');
	if (s->o.n_pins == CLI_MAX_PINS || (at && (at == arg || !at[1])) || !arg[0])
		return cli_usage(s, "--to takes PKG@VERSION, as in --to @ydtb/basic@1.0.0");
	struct dbreg_pin *p = &s->o.pins[s->o.n_pins++];
	if (at) {
		/* The argument is argv's, which lives as long as the process. */
		char *pkg = (char *)arg;
		pkg[at - arg] = '\0';
		p->package = pkg;
		p->version = at + 1;
	} else {
		p->package = NULL;
		p->version = arg;
	}
	return 0;
}

/* --allow CODE[,CODE...]: error codes that may be bypassed (diag.c says
 * which); the development-target check is the session's. */
static int opt_allow(struct cli_session *s, const struct cli_option *o, const char *arg)
{
	(void)o;
	char *codes = (char *)arg;   /* argv's: split in place */
	for (char *save = NULL, *code = strtok_r(codes, ",", &save); code; code = strtok_r(NULL, ",", &save)) {
		if (!dbreg_diag_code_allowable(code) || s->o.n_allow == CLI_MAX_ALLOW)
			return cli_usage(s, "--allow takes error codes such as DBR043; %s is not one", code);
		s->o.allow[s->o.n_allow++] = code;
	}
	return 0;
}

/* --debounce MS: 1 to 10000 milliseconds. */
static int opt_debounce(struct cli_session *s, const struct cli_option *o, const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || v < 1 || v > 10000)
		return cli_usage(s, "--%s takes milliseconds, 1 to 10000, not '%s'", o->name, arg);
	*(int *)((char *)&s->o + o->off) = (int)v;
	return 0;
}

/* --on-error stop|continue */
static int opt_on_error(struct cli_session *s, const struct cli_option *o, const char *arg)
{
	(void)o;
	if (strcmp(arg, "stop") != 0 && strcmp(arg, "continue") != 0)
		return cli_usage(s, "--on-error takes stop or continue, not '%s'", arg);
	s->o.keep_going = strcmp(arg, "continue") == 0;
	s->o.on_error = true;
	return 0;
}

/* A count of at least 1 (--jobs, --max-failures), a size_t at `off`. */
static int opt_count(struct cli_session *s, const struct cli_option *o, const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || v < 1 || v > 100000)
		return cli_usage(s, "--%s takes a number of at least 1, not '%s'", o->name, arg);
	*(size_t *)((char *)&s->o + o->off) = (size_t)v;
	return 0;
}

const struct cli_option cli_options[] = {
	/* Common to every command. */
	{"help", 'h', NULL, "this help, or the command's", cli_set_flag, OFF(help), true, NULL},
	{"version", 0, NULL, "print the version and exit", NULL, 0, true, NULL},
	{"C", 'C', "DIR", "the project folder (default: the current one)", cli_set_string, OFF(dir), true, "dirs"},
	{"target", 't', "T",
	 "a target name from dbreg.toml or a URL, sqlite:PATH in the project folder (default: dev, else sqlite:ydtb.db)",
	 cli_set_string, OFF(target), true, "targets"},
	{"state", 0, "PATH",
	 "another state file (also DBREG_STATE), from the current folder: for read-only checkouts and CI",
	 cli_set_string, OFF(state), true, "files"},
	{"json", 0, NULL, "one JSON document on standard output, whatever happens", cli_set_flag, OFF(json), true, NULL},
	{"verbose", 'v', NULL, "more detail (each statement with its timing)", cli_set_flag, OFF(verbose), true, NULL},
	{"quiet", 'q', NULL, "errors only", cli_set_flag, OFF(quiet), true, NULL},
	{"no-color", 0, NULL, "no colour (also the NO_COLOR environment variable)", cli_set_flag, OFF(no_color), true, NULL},
	/* Per command: the commands that take one list it. */
	{"to", 0, "PKG@VERSION", "stop a package at a version (repeatable; down PKG takes --to VERSION)", opt_to, 0, false, "packages"},
	{"dry-run", 0, NULL, "print what would run, change nothing, connect only to read", cli_set_flag, OFF(dry_run), false, NULL},
	{"refresh", 0, NULL, "read the target's history first instead of the state file's copy",
	 cli_set_flag, OFF(refresh), false, NULL},
	{"sql", 0, NULL, "print the whole SQL script for the target's dialect", cli_set_flag, OFF(sql), false, NULL},
	{"offline", 0, NULL, "from the state file's copy of the history, without connecting",
	 cli_set_flag, OFF(offline), false, NULL},
	{"lock-timeout", 0, "SECONDS", "wait at most this long for another run's lock (default 60)",
	 opt_lock_timeout, OFF(lock_timeout), false, NULL},
	{"wait", 0, "SECONDS", "retry a refused connection this long (default 30)", cli_set_seconds, OFF(wait), false, NULL},
	{"allow", 0, "CODE[,CODE...]", "development targets only: those errors become DBR105 warnings for this run",
	 opt_allow, 0, false, NULL},
	{"fleet", 0, "NAME", "every target of [fleets.NAME] instead of one, canaries first", cli_set_string, OFF(fleet),
	 false, "fleets"},
	{"on-error", 0, "stop|continue", "a failed target stops the fleet (default) or not", opt_on_error, 0, false, NULL},
	{"max-failures", 0, "N", "start no target after N failures (fleet)", opt_count, OFF(max_failures), false, NULL},
	{"resume", 0, NULL, "only the targets the last run failed or did not reach (fleet)", cli_set_flag, OFF(resume),
	 false, NULL},
	{"jobs", 0, "N", "targets at a time (fleet; default the fleet's jobs)", opt_count, OFF(jobs), false, NULL},
	{"debounce", 0, "MS", "quiet time before a reload, in milliseconds (default 150)", opt_debounce, OFF(debounce_ms),
	 false, NULL},
	{"no-apply", 0, NULL, "validate and plan only, apply nothing", cli_set_flag, OFF(no_apply), false, NULL},
	{"dir", 0, "DIR", "the folder for the new package's manifest (default: the first package folder)",
	 cli_set_string, OFF(new_dir), false, "dirs"},
	{"out", 0, "DIR", "where the pages are written (default docs/schema)", cli_set_string, OFF(docs_out), false, "dirs"},
	{"check", 0, NULL, "write nothing; exit 1 when the files on disk differ", cli_set_flag, OFF(check), false, NULL},
	{NULL, 0, NULL, NULL, NULL, 0, false, NULL},
};

const struct cli_option *cli_option_find(const char *name)
{
	for (const struct cli_option *o = cli_options; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}
