/* The no-op apply without loading anything (issue 18): when the state file
 * says the registry's files are the ones it last saw (by stat, as git's
 * index does) and the target holds what this registry was found to plan
 * nothing for (one read of its history, or none when its content stamp is
 * the one kept with the memo: stamp.c), apply has nothing to do and says
 * so in a few milliseconds. Anything else (a changed file, another binary,
 * a new migration on the target, any failure) goes the long way, which
 * reports its own errors. So does a run that does more than its history
 * and packages tell: with row-level security on PostgreSQL every apply
 * repairs the policies, whatever the history says. */
#include "cli.h"

#include <stdlib.h>
#include <sys/stat.h>

bool cli_apply_noop(struct cli_session *s)
{
	/* --to and --dry-run print what the long way prints; --allow passes
	 * what a clean registry would not; --fleet is about other targets than
	 * the one the caches speak of (and its options without it are refused
	 * the long way). --json takes the shortcut too: the same run may not
	 * wait for the registry lock (exit 5) in one output mode and not in
	 * the other (audit aeng 9). */
	if (s->o.n_pins || s->o.dry_run || s->o.n_allow || s->o.fleet || s->o.resume || s->o.on_error ||
	    s->o.max_failures || s->o.jobs)
		return false;
	struct stat sb;
	if (stat(s->o.dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return false;
	struct dbreg_diag_list diags = DBREG_DIAG_LIST_INIT;
	struct dbreg_project *proj = NULL;
	struct dbreg_state *state = NULL;
	struct dbreg_conn *conn = NULL;
	char *url = NULL, *shown = NULL, *path = NULL, *dir = cli_relative_dir(s->o.dir);
	char err[1024], sum[72];
	bool same = false, noop = false;
	if (!dir || dbreg_project_open(&proj, dir, &diags) != 0 ||
	    dbreg_project_target_url(&url, proj, s->o.target, err, sizeof err) != 0 || !(shown = dbreg_url_redact(url)) ||
	    !(path = cli_state_path(s, proj)) || dbreg_state_open(&state, path, err, sizeof err) != 0)
		goto out;
	enum dbreg_dialect dialect;
	if (dbreg_target_dialect(url, &dialect) != 0 || cli_rls_on(proj, dialect))
		goto out;
	if (dbreg_cache_registry_check(state, proj, sum, &same) != 0 || !same)
		goto out;
	/* A target with no memo (a new one) goes the long way without a
	 * connection of its own here first. */
	if (!dbreg_cache_noop_known(state, shown, sum))
		goto out;
	/* Its content stamp as the memo keeps it: not even opened. */
	bool unopened = dbreg_stamp_unchanged(state, shown, url, sum);
	if (!unopened) {
		char before[DBREG_STAMP_SIZE];
		dbreg_stamp_take(url, before);
		if (dbreg_target_connect_readonly(&conn, url, err, sizeof err) != 0 ||
		    dbreg_cache_noop_check(state, conn, shown, sum, &noop) != 0 || !noop)
			goto out;
		dbreg_target_close(conn);
		conn = NULL;
		dbreg_stamp_store(state, shown, url, sum, before);   /* costs speed when it fails, not correctness */
	}
	noop = true;
	if (s->o.verbose)
		fprintf(s->err, "%s: the registry and the target are as the state file last saw them: nothing to re-read%s\n",
			shown, unopened ? " (unchanged since the last run: not opened)" : "");
	dbreg_state_log(state, "apply", shown, "ok", NULL);
	if (s->o.json) {
		/* The long way's document of a run with no steps. */
		struct dbreg_apply_result none = {0};
		s->dialect = dialect;
		s->shown = shown;
		shown = NULL;   /* the session's now */
		cli_print_applied_json(s, NULL, &none, 0);
	} else if (!s->o.quiet) {
		fprintf(s->out, "%s: applied 0 migrations\n", shown);
	}
out:
	dbreg_target_close(conn);
	dbreg_state_close(state);
	free(path);
	free(dir);
	free(shown);
	free(url);
	dbreg_project_free(proj);
	dbreg_diag_list_dispose(&diags);
	return noop;
}

void cli_apply_remember(struct cli_session *s)
{
	/* A cache that cannot be written costs speed, not correctness. A run
	 * with a note to say (tools with no table to hold them) says it every
	 * time: the shortcut, which loads nothing, could not. */
	if (s->o.n_pins || s->o.dry_run || s->o.n_allow || !s->conn || !s->state || s->state_readonly ||
	    cli_rls_on(s->proj, s->dialect) || dbreg_registry_tools_unwritten(s->reg))
		return;
	/* The stamp around the memo's read, the second once the connection
	 * is closed: the file as the run left it, unless something else wrote. */
	char before[DBREG_STAMP_SIZE], sum[72];
	dbreg_stamp_take(s->url, before);
	if (dbreg_cache_noop_store(s->state, s->conn, s->shown, s->reg) != 0 || !before[0])
		return;
	dbreg_target_close(s->conn);
	s->conn = NULL;
	dbreg_registry_checksum(s->reg, sum);
	dbreg_stamp_store(s->state, s->shown, s->url, sum, before);
}
