/* The session: opens, in order, what a command's entry asks for (project,
 * manifests, validation, state file, target), so that no command repeats
 * that prologue, and closes it all. Failures are reported once, here. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The project folder as a path from the current folder, so that every
 * position printed opens in an editor started here, whatever -C said. */
char *cli_relative_dir(const char *dir)
{
	char cwd[PATH_MAX], abs[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)) || !realpath(dir, abs))
		return strdup(dir);
	size_t common = 0, i = 0;
	/* The longest common prefix that ends at a folder boundary. */
	for (;; i++) {
		char a = cwd[i], b = abs[i];
		if ((a == '/' || a == '\0') && (b == '/' || b == '\0'))
			common = i;
		if (a != b || a == '\0')
			break;
	}
	if (cwd[common] == '\0' && abs[common] == '\0')
		return strdup(".");
	size_t ups = 0;
	for (const char *p = cwd + common; *p; p++)
		ups += *p == '/';
	if (strcmp(cwd, "/") == 0)
		ups = 0;
	/* Deep below, or far away: the absolute path reads better. */
	if (ups > 2)
		return strdup(abs);
	const char *rest = abs[common] == '/' ? abs + common + 1 : abs + common;
	size_t size = ups * 3 + strlen(rest) + 2;
	char *out = malloc(size);
	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t k = 0; k < ups; k++)
		strcat(out, k + 1 < ups || *rest ? "../" : "..");
	strcat(out, rest);
	if (!out[0])
		strcpy(out, ".");
	return out;
}

static int session_project(struct cli_session *s)
{
	struct stat st;
	if (stat(s->o.dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cli_fail(s, "no project folder '%s'", s->o.dir);
		cli_hint(s, "-C DIR names the folder that holds dbreg.toml and tomls/");
		return DBREG_EUSAGE;
	}
	char *dir = cli_relative_dir(s->o.dir);
	if (!dir)
		return DBREG_ENOMEM;
	int rc = dbreg_project_open(&s->proj, dir, &s->project_diags);
	free(dir);
	if (rc == DBREG_EINVALID) {
		dbreg_diag_list_sort(&s->project_diags);   /* in the file's order, as validate prints */
		cli_print_diags(s, &s->project_diags);
		cli_fail(s, "dbreg.toml has %zu error%s", s->project_diags.errors,
			 s->project_diags.errors == 1 ? "" : "s");
	} else if (rc < 0) {
		cli_fail(s, "cannot read the project in %s", s->o.dir);
	}
	return rc;
}

/* How many of the project's package folders do not exist. */
static size_t session_missing_folders(const struct cli_session *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->proj->n_package_dirs; i++) {
		const char *rel = s->proj->package_dirs[i];
		char *path = rel[0] == '/' ? strdup(rel) : cli_path_join(s->proj->dir, rel);
		struct stat st;
		n += path && stat(path, &st) != 0 && errno == ENOENT;
		free(path);
	}
	return n;
}

static int session_registry(struct cli_session *s, bool folders_new)
{
	int rc = dbreg_registry_new(&s->reg);
	if (rc < 0)
		return rc;
	s->loaded_at = dbreg_cache_clock();
	s->load_started_ms = dbreg_clock_ms();
	rc = dbreg_registry_load_project(s->reg, s->proj);
	size_t missing = rc < 0 ? session_missing_folders(s) : 0;
	/* A project not begun yet: the command makes its folder. */
	if (missing && folders_new && missing == s->proj->n_package_dirs) {
		dbreg_registry_free(s->reg);
		s->reg = NULL;
		return dbreg_registry_new(&s->reg);
	}
	if (rc < 0)
		cli_fail(s, "%s", dbreg_registry_errmsg(s->reg));
	if (missing) {
		/* Run from another folder (build/), or a folder misnamed. */
		char *toml = cli_path_join(s->proj->dir, "dbreg.toml");
		struct stat st;
		if (toml && stat(toml, &st) == 0)
			cli_hint(s, "[registry] packages in %s names it: create the folder, or correct the name", toml);
		else
			cli_hint(s, "run dbreg in the project folder (the one that holds tomls/ or dbreg.toml), or name "
				    "it with -C DIR; 'dbreg new package NAME' starts a project here");
		free(toml);
	}
	return rc;
}

char *cli_state_path(const struct cli_session *s, const struct dbreg_project *proj)
{
	/* --state and DBREG_STATE are paths from the current folder, as any
	 * path on a command line; the project's is from the project. */
	if (s->o.state)
		return strdup(s->o.state);
	if (!proj)
		return strdup(".dbreg/state.db");
	if (proj->state_path[0] == '/' || strcmp(proj->dir, ".") == 0)
		return strdup(proj->state_path);
	char *path = NULL;
	if (asprintf(&path, "%s/%s", proj->dir, proj->state_path) < 0)
		return NULL;
	return path;
}

/* Whether two paths name one file (another spelling, a link). */
static bool session_same_file(const char *a, const char *b)
{
	struct stat x, y;
	return strcmp(a, b) == 0 ||
	       (stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino);
}

int cli_state_follow(struct cli_session *s, const struct dbreg_project *proj, char *err, size_t errsize)
{
	char *path = cli_state_path(s, proj);
	if (!path) {
		snprintf(err, errsize, "out of memory");
		return DBREG_ENOMEM;
	}
	if (session_same_file(path, s->state_path)) {
		free(path);
		return 0;
	}
	struct dbreg_state *st = NULL;
	int rc = dbreg_state_open(&st, path, err, errsize);
	/* A connection that writes opened with its stamp forgotten
	 * (session_open): so it is in this file too. */
	if (rc == 0 && s->conn && !s->conn_readonly && (rc = dbreg_stamp_forget(st, s->shown, err, errsize)) < 0)
		dbreg_state_close(st);
	if (rc < 0) {
		free(path);
		return rc;
	}
	dbreg_state_close(s->state);
	s->state = st;
	s->state_readonly = false;
	free(s->state_path);
	s->state_path = path;
	return 1;
}

static int session_state(struct cli_session *s, bool readonly_ok)
{
	char err[1600];
	if (!(s->state_path = cli_state_path(s, s->proj)))
		return DBREG_ENOMEM;
	int rc = dbreg_state_open(&s->state, s->state_path, err, 512);
	/* Not a state file: no read-only second try, which would say less. */
	if (rc < 0 && rc != DBREG_ESTATE && readonly_ok) {
		/* A read-only file or checkout still answers offline reads. */
		char err2[1024];
		if (dbreg_state_open_readonly(&s->state, s->state_path, err2, sizeof(err2)) == 0) {
			s->state_readonly = true;
			return 0;
		}
		/* What the read-only try ran into is the rest of the answer. */
		size_t n = strlen(err);
		snprintf(err + n, sizeof err - n, "; opened read-only: %s", err2);
	}
	if (rc < 0)
		cli_fail_state(s, rc, err);
	return rc;
}

void cli_fail_state(struct cli_session *s, int rc, const char *message)
{
	cli_fail(s, "%s", message);
	cli_hint_state(s, rc);
}

void cli_hint_state(struct cli_session *s, int rc)
{
	/* A newer dbreg's file is sound: moved aside, what only it keeps
	 * (fleet runs, the accept log, recorded schemas) would be lost. */
	if (rc == DBREG_ESTATE && s->error.message && strstr(s->error.message, "written by a newer dbreg"))
		cli_hint(s, "run a dbreg of that version or newer on it, or name another state file with --state PATH "
			    "(or DBREG_STATE)");
	else if (rc == DBREG_ESTATE)
		cli_hint(s, "move it aside (mv %s %s.broken): the next run makes a new one, and `dbreg plan --refresh` or "
			    "`dbreg apply` read each target's history from the target, whose history tables are the truth; "
			    "--state PATH (or DBREG_STATE) names another state file", s->state_path, s->state_path);
	else
		cli_hint(s, "--state PATH (or DBREG_STATE) names another state file");
}

/* What follows a validation: the state file's records of a clean one,
 * and the report of a failed one. */
static int session_validated(struct cli_session *s, int rc, bool sql, bool known, const char *sum)
{
	/* A run with --allow passed only by bypassing: never a clean record. */
	if (rc == 0 && sql && !known && s->state && !s->state_readonly && s->o.n_allow == 0 &&
	    dbreg_state_set_validated(s->state, sum) < 0)
		fprintf(s->err, "dbreg: %s\n", dbreg_state_errmsg(s->state));
	/* So that the next run knows the registry by its files' stat alone
	 * (a registry passed by --allow is no clean one). */
	if (rc == 0 && sql && s->state && !s->state_readonly && s->o.n_allow == 0)
		dbreg_cache_registry_store(s->state, s->proj, s->reg, s->loaded_at);
	if (rc == DBREG_EINVALID) {
		cli_fail_manifests(s);
	} else if (rc < 0) {
		cli_fail(s, "%s", dbreg_registry_errmsg(s->reg));
	}
	return rc;
}

/* Whether the SQL checks may run beside the command: only where nothing
 * but its result is printed as it goes (no --json document, -v log or
 * progress bar to hold back), and without --allow (which rewrites
 * findings). */
static bool session_beside(const struct cli_session *s)
{
	return (s->cmd->needs & CLI_SQL_BESIDE) && !s->o.dry_run && !s->o.json && !s->o.verbose && !s->o.n_allow &&
	       !s->o.fleet && !(s->tty && !s->o.quiet);
}

/* Holds what the command prints until cli_checks_wait. */
static int session_hold(struct cli_session *s)
{
	FILE *out = open_memstream(&s->held_out, &s->held_out_len);
	FILE *err = out ? open_memstream(&s->held_err, &s->held_err_len) : NULL;
	if (!err) {
		if (out)
			fclose(out);
		return DBREG_ENOMEM;
	}
	s->real_out = s->out;
	s->real_err = s->err;
	s->out = out;
	s->err = err;
	return 0;
}

/* Ends the hold; what was held is written out when `keep`, else dropped. */
static void session_release(struct cli_session *s, bool keep)
{
	if (!s->real_out)
		return;
	fclose(s->out);
	fclose(s->err);
	s->out = s->real_out;
	s->err = s->real_err;
	s->real_out = s->real_err = NULL;
	if (keep) {
		fwrite(s->held_err, 1, s->held_err_len, s->err);
		fwrite(s->held_out, 1, s->held_out_len, s->out);
	}
	free(s->held_out);
	free(s->held_err);
	s->held_out = s->held_err = NULL;
	s->held_out_len = s->held_err_len = 0;
}

int cli_checks_wait(struct cli_session *s, int rc)
{
	if (s->checks_waited)
		return s->checks_rc < 0 ? s->checks_rc : rc;
	if (!s->checks)
		return rc;
	int v = dbreg_validate_job_wait(s->checks);
	dbreg_validate_job_free(s->checks);
	s->checks = NULL;
	s->checks_waited = true;
	s->checks_rc = v;
	session_release(s, v == 0);
	if (v < 0) {
		/* The validation's report instead of what the command said since:
		 * today's order, where nothing ran before it. */
		cli_error_dispose(&s->error);
		s->failed = false;
		s->exit_code = 0;
	}
	session_validated(s, v, true, false, s->checks_sum);
	return v < 0 ? v : rc;
}

/* Validates, with the SQL checks unless the state file says this very
 * registry (same checksum, same dbreg) already passed them: they cost
 * seconds on a large registry and cannot find anything new. A command
 * that can wait for them (CLI_SQL_BESIDE) gets them on a thread of their
 * own, joined by cli_checks_wait before its first commit. */
static int session_validate(struct cli_session *s, bool sql)
{
	char sum[72];
	bool known = false;
	if (sql && s->state) {
		dbreg_registry_checksum(s->reg, sum);
		/* Keyed by this very binary too: a rebuilt dbreg checks again. */
		dbreg_cache_build_key(sum, sum);
		known = dbreg_state_validated(s->state, sum);
	}
	struct dbreg_validate_opts vopts = {.skip_sql = !sql || known, .allow = s->o.allow, .n_allow = s->o.n_allow,
					    .budget_ms = cli_check_budget_ms()};
	int rc;
	if (sql && !known && s->state && session_beside(s)) {
		rc = dbreg_registry_validate_start(&s->checks, s->reg, &vopts);
		if (rc == 0 && s->checks) {
			memcpy(s->checks_sum, sum, sizeof sum);
			if ((rc = session_hold(s)) == 0)
				return 0;
			rc = cli_checks_wait(s, 0);   /* no memory to hold output in: wait now */
			return rc < 0 ? rc : 0;
		}
		return session_validated(s, rc, sql, known, sum);
	}
	rc = dbreg_registry_validate(s->reg, &vopts);
	return session_validated(s, rc, sql, known, sum);
}

static int session_target(struct cli_session *s)
{
	char err[512];
	int rc = dbreg_project_target_url(&s->url, s->proj, s->o.target, err, sizeof(err));
	if (rc < 0) {
		cli_fail(s, "%s", err);
		return rc;
	}
	const struct dbreg_target_def *def = dbreg_project_target(s->proj, s->o.target);
	if (def) {
		s->lock_timeout_ms = def->lock_timeout_ms;
		s->statement_timeout_ms = def->statement_timeout_ms;
	}
	if (!(s->shown = dbreg_url_redact(s->url)))
		return DBREG_ENOMEM;
	if (dbreg_target_dialect(s->url, &s->dialect) < 0) {
		cli_fail(s, "no driver for target %s", s->shown);
		cli_hint(s, "use sqlite:PATH or postgres://...");
		return DBREG_EUSAGE;
	}
	return 0;
}

unsigned cli_check_budget_ms(void)
{
	/* DBREG_CHECK_BUDGET_MS: the offline checks' time budget (default 30 s). */
	const char *v = getenv("DBREG_CHECK_BUDGET_MS");
	char *end;
	unsigned long ms = v && *v ? strtoul(v, &end, 10) : 0;
	return v && *v && *end == '\0' && ms > 0 && ms < 86400000UL ? (unsigned)ms : 0;
}

int cli_require_dev(struct cli_session *s, const char *what)
{
	char err[512], *url = NULL;
	int rc = dbreg_project_target_url(&url, s->proj, s->o.target, err, sizeof(err));
	if (rc < 0) {
		cli_fail(s, "%s", err);
		return rc;
	}
	bool dev = dbreg_project_target_is_dev(s->proj, s->o.target, url);
	char *shown = dbreg_url_redact(url);
	if (!dev) {
		const char *name = s->o.target ? s->o.target : "dev";
		bool named = false;
		for (size_t i = 0; i < s->proj->n_targets; i++)
			named |= strcmp(s->proj->targets[i].name, name) == 0;
		/* Named as the command line or dbreg.toml names it. */
		const struct dbreg_target_def *said = dbreg_project_target_saying_dev(s->proj, s->o.target, url);
		if (named && said && said->dev == 0 && strcmp(said->name, name) != 0)
			cli_fail(s, "%s is for development targets only, and target %s (%s) is not one: its database is "
				 "target %s's too, which says dev = false", what, name, shown ? shown : "its URL", said->name);
		else if (named)
			cli_fail(s, "%s is for development targets only, and target %s (%s) is not one", what, name,
				 shown ? shown : "its URL");
		else if (said)
			cli_fail(s, "%s is for development targets only, and %s is not one: it is the database of "
				 "target %s, which says dev = false", what, shown ? shown : "the target", said->name);
		else
			cli_fail(s, "%s is for development targets only, and %s is not one", what, shown ? shown : "the target");
		/* The target that says dev = false is the one to change. */
		if (said && (!named || strcmp(said->name, name) != 0))
			cli_hint(s, "if it is a development database, say dev = true in [targets.%s] of dbreg.toml", said->name);
		else
			cli_hint(s, "%s", named ? "add dev = true to its [targets] table in dbreg.toml if it is a development database"
					      : "name a target marked dev = true in dbreg.toml, or a SQLite file");
	}
	free(url);
	free(shown);
	return dev ? 0 : DBREG_EUSAGE;
}

int cli_session_open(struct cli_session *s, unsigned needs)
{
	int rc = 0;
	bool valid = needs & (CLI_NEEDS_VALID | CLI_NEEDS_VALID_SQL);
	bool registry = valid || (needs & CLI_NEEDS_REGISTRY);
	/* A fleet resolves its targets itself (fleet.c). */
	bool target = (needs & CLI_NEEDS_TARGET) && !s->o.fleet;
	bool state = target || (needs & (CLI_NEEDS_STATE | CLI_NEEDS_VALID_SQL));
	bool project = registry || state || (needs & CLI_NEEDS_PROJECT);

	if (project && (rc = session_project(s)) < 0)
		return rc;
	/* Before the manifests are checked and before anything is read from
	 * a target that is not a development one. */
	if ((needs & CLI_DEV_ONLY) && (rc = cli_require_dev(s, s->cmd->name)) < 0)
		return rc;
	if (s->o.n_allow && !s->o.fleet && (rc = cli_require_dev(s, "--allow")) < 0)
		return rc;
	/* The options of a fleet run mean nothing to one target: said, not
	 * ignored (an --resume that runs everything). */
	const char *fleet_only = s->o.resume ? "--resume" : s->o.on_error ? "--on-error" : s->o.max_failures ? "--max-failures"
				 : s->o.jobs ? "--jobs" : NULL;
	if (fleet_only && !s->o.fleet)
		return cli_usage(s, "%s is for a run over a fleet: add --fleet NAME", fleet_only);
	if (registry && (rc = session_registry(s, needs & CLI_FOLDERS_NEW)) < 0)
		return rc;
	/* The state file before validation: it remembers registries that
	 * passed the SQL checks. */
	if (state && (rc = session_state(s, needs & CLI_STATE_READONLY)) < 0)
		return rc;
	if (valid && (rc = session_validate(s, needs & CLI_NEEDS_VALID_SQL)) < 0)
		return rc;
	if (target && (rc = session_target(s)) < 0)
		return rc;
	return 0;
}

void cli_session_close(struct cli_session *s)
{
	session_release(s, true);
	dbreg_validate_job_free(s->checks);
	s->checks = NULL;
	dbreg_applied_free(s->history, s->n_history);
	dbreg_progress_free(s->progress, s->n_progress);
	dbreg_target_close(s->conn);
	dbreg_state_close(s->state);
	dbreg_registry_free(s->reg);
	dbreg_project_free(s->proj);
	dbreg_diag_list_dispose(&s->project_diags);
	dbreg_diag_list_dispose(&s->command_diags);
	free(s->state_path);
	free(s->url);
	free(s->shown);
	cli_error_dispose(&s->error);
	s->history = NULL;
	s->conn = NULL;
	s->state = NULL;
	s->reg = NULL;
	s->proj = NULL;
}

/* Before a connection that writes: the target's content stamp goes
 * (stamp.c), so that a run stopped part way leaves none. */
static int session_forget_stamp(struct cli_session *s)
{
	char err[1200];
	if (!s->state || s->state_readonly || dbreg_stamp_forget(s->state, s->shown, err, sizeof err) == 0)
		return 0;
	cli_fail(s, "%s (%s)", err, s->state_path);
	return DBREG_EIO;
}

/* Opens s->conn; a refused connection's reason in err, unreported. */
static int session_open(struct cli_session *s, bool readonly, char *err, size_t errsize)
{
	if (!readonly && session_forget_stamp(s) < 0) {
		snprintf(err, errsize, "the state file %s refused to forget the target's content stamp", s->state_path);
		return DBREG_EIO;
	}
	int rc = readonly ? dbreg_target_connect_readonly(&s->conn, s->url, err, errsize)
			  : dbreg_target_connect(&s->conn, s->url, err, errsize);
	s->conn_readonly = readonly;
	return rc;
}

int cli_connect(struct cli_session *s, bool readonly)
{
	char err[1024];
	int rc = session_open(s, readonly, err, sizeof err);
	if (rc == DBREG_ELOCKED)
		cli_fail(s, "cannot open %s: %s", s->shown, err);
	else if (rc < 0 && rc != DBREG_EIO)
		cli_fail(s, "cannot connect to %s: %s", s->shown, err);
	return rc;
}

int cli_reconnect(struct cli_session *s, char *err, size_t errsize)
{
	dbreg_target_close(s->conn);
	s->conn = NULL;
	return session_open(s, s->conn_readonly, err, errsize);
}

int cli_connect_writable(struct cli_session *s)
{
	if (!s->conn_readonly)
		return 0;
	char err[1024];
	if (session_forget_stamp(s) < 0)
		return DBREG_EIO;
	int rc = dbreg_target_make_writable(&s->conn, s->url, err, sizeof(err));
	if (rc < 0)
		cli_fail(s, "cannot connect to %s: %s", s->shown, err);
	s->conn_readonly = rc < 0;
	return rc;
}

void cli_warn_stale_copy(struct cli_session *s, const char *target, const char *command, const char *at,
			 const char *fresh)
{
	if (!s->o.quiet)
		fprintf(s->err,
			"dbreg: warning: the state file %s's copy of %s's history may be stale: a run (%s, started %s) "
			"did not record its result (it was stopped, or the state file refused the record)\n"
			"  hint: run %s to read the history from the target\n",
			s->state_path, target, command, at, fresh);
}

void cli_json_stale_copy(FILE *out, const char *target, const char *command, const char *at)
{
	fputc('{', out);
	if (target) {
		fputs("\"target\": ", out);
		dbreg_json_str(out, target);
		fputs(", ", out);
	}
	fputs("\"command\": ", out);
	dbreg_json_str(out, command);
	fputs(", \"started_at\": ", out);
	dbreg_json_str(out, at);
	fputc('}', out);
}

/* An offline read: a run's mark left in the state file (dbreg_state_run_begin)
 * says the copy may be behind the target; warned, and with --json the
 * document's "stale_copy" says which run. */
static int session_stale_copy(struct cli_session *s, const char *fresh)
{
	char *command = NULL, *at = NULL;
	int rc = dbreg_state_run_left(s->state, s->shown, &command, &at);
	if (rc < 0) {
		cli_fail_state(s, rc, dbreg_state_errmsg(s->state));
		return rc;
	}
	if (rc == 1)
		cli_warn_stale_copy(s, s->shown, command, at, fresh);
	if (rc == 1 && s->o.json) {
		cli_json_key(s, "stale_copy");
		cli_json_stale_copy(s->out, NULL, command, at);
	}
	free(command);
	free(at);
	return 0;
}

int cli_history(struct cli_session *s, bool from_target)
{
	int rc;
	dbreg_applied_free(s->history, s->n_history);
	s->history = NULL;
	s->n_history = 0;
	dbreg_progress_free(s->progress, s->n_progress);
	s->progress = NULL;
	s->n_progress = 0;
	s->history_online = from_target;
	if (from_target) {
		/* Reading the history changes nothing. */
		if (!s->conn && (rc = cli_connect(s, true)) < 0)
			return rc;
		rc = dbreg_target_history(s->conn, &s->history, &s->n_history);
		/* Only the target knows how far a transaction = false migration
		 * got (of the registry's: history reads with none loaded). */
		if (rc == 0 && s->reg)
			rc = dbreg_target_progress(s->conn, s->reg, s->history, s->n_history, &s->progress,
						   &s->n_progress);
		if (rc < 0) {
			char what[1100];
			snprintf(what, sizeof what, "reading the history of %s", s->shown);
			cli_fail_target(s, what);
			return rc;
		}
		if (s->state_readonly)
			return 0;
		/* An empty history leaves no row: remember the target was seen. */
		if (s->n_history == 0)
			dbreg_state_mark_seen(s->state, s->shown);
		/* Keep the offline copy in step with what the target holds. */
		rc = dbreg_state_set_history(s->state, s->shown, s->history, s->n_history);
		if (rc < 0)
			cli_fail_state(s, rc, dbreg_state_errmsg(s->state));
		return rc;
	}
	rc = dbreg_state_get_history(s->state, s->shown, &s->history, &s->n_history);
	if (rc < 0) {
		cli_fail_state(s, rc, dbreg_state_errmsg(s->state));
		return rc;
	}
	const char *fresh = cli_command_takes(s->cmd, cli_option_find("refresh")) ? "with --refresh" : "without --offline";
	if (s->n_history == 0 && !dbreg_state_target_seen(s->state, s->shown) && !s->o.quiet)
		fprintf(s->err,
			"dbreg: note: the state file %s has never seen %s: this answer assumes an empty database; "
			"run %s to read the target\n",
			s->state_path, s->shown, fresh);
	return session_stale_copy(s, fresh);
}
