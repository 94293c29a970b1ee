/* dbreg validate: every manifest and the SQL of every migration; prints the
 * diagnostics; exit 0, or 1 when any error. */
#include "cli.h"

#include <stdlib.h>

static int validate_on_target(struct cli_session *s)
{
	char err[512];
	int rc = dbreg_project_target_url(&s->url, s->proj, s->o.target, err, sizeof(err));
	if (rc < 0) {
		cli_fail(s, "%s", err);
		return rc;
	}
	if (!(s->shown = dbreg_url_redact(s->url)))
		return DBREG_ENOMEM;
	if (dbreg_target_dialect(s->url, &s->dialect) < 0) {
		cli_fail(s, "no driver for target %s", s->shown);
		return DBREG_EUSAGE;
	}
	if (s->dialect != DBREG_DIALECT_POSTGRES) {
		if (!s->o.quiet && !s->o.json)
			fprintf(s->err, "%s: the SQLite bodies were replayed in memory; only a PostgreSQL target adds a replay\n",
				s->shown);
		return 0;
	}
	if ((rc = cli_connect(s, false)) < 0)
		return rc;
	rc = dbreg_registry_validate_target(s->reg, s->conn);
	if (rc == DBREG_EINVALID)
		return 0;   /* findings: the diagnostics below */
	if (rc < 0)
		cli_fail(s, "validate on %s: %s", s->shown, dbreg_registry_errmsg(s->reg));
	return rc;
}

static int validate_run(struct cli_session *s)
{
	/* -v: what is checked, and how long each part took. */
	FILE *log = s->o.verbose && !s->o.json ? s->err : NULL;
	if (log)
		fprintf(log, "  validate: %zu manifests read in %.1f ms\n", dbreg_registry_package_count(s->reg),
			dbreg_clock_ms() - s->load_started_ms);
	/* Each package's SQL checks and replay, kept in the state file: only
	 * the packages whose inputs changed are checked again. A state file
	 * that cannot be opened or written only costs the time. */
	struct dbreg_state *own = NULL, *st = s->state;
	if (!st) {
		char err[512];
		s->state_path = cli_state_path(s, s->proj);
		int orc = s->state_path ? dbreg_state_open(&own, s->state_path, err, sizeof err) : DBREG_ENOMEM;
		/* One that is not a state file is said, as by every command. */
		if (orc == DBREG_ESTATE) {
			cli_fail_state(s, orc, err);
			return orc;
		}
		if (orc == 0)
			st = own;
		else if (log)
			fprintf(log, "  validate: no stored check results (%s)\n", s->state_path ? err : "out of memory");
	}
	struct dbreg_validate_opts vopts = {.skip_sql = false, .log = log, .budget_ms = cli_check_budget_ms(),
					    .results = st && !s->state_readonly ? st : NULL};
	int rc = dbreg_registry_validate(s->reg, &vopts);
	if ((rc == 0 || rc == DBREG_EINVALID) && st && !s->state_readonly) {
		size_t sql, replay, reused;
		dbreg_check_cache_counts(s->reg, &sql, &replay, &reused);
		if (log)
			fprintf(log, "  validate: checked the SQL of %zu and replayed %zu of %zu packages; %zu results re-used\n",
				sql, replay, dbreg_registry_package_count(s->reg), reused);
		if (dbreg_check_cache_save(s->reg, st) < 0 && log)
			fprintf(log, "  validate: check results not stored: %s\n", dbreg_state_errmsg(st));
	}
	dbreg_state_close(own);
	if (rc < 0 && rc != DBREG_EINVALID) {
		cli_fail(s, "%s", dbreg_registry_errmsg(s->reg));
		return rc;
	}
	/* --target naming a PostgreSQL server: the PostgreSQL bodies are
	 * replayed there too (rolled back), and DBR047 compares what they
	 * build. Without --target, validate never connects. */
	if (s->o.target && (rc = validate_on_target(s)) < 0)
		return rc;
	const struct dbreg_diag_list *diags = dbreg_registry_diags(s->reg);
	size_t packages = dbreg_registry_package_count(s->reg);
	/* A package the offline replay cannot run is said, not passed in
	 * silence: init on PostgreSQL would be the first to compare it. */
	bool on_pg = s->o.target && s->dialect == DBREG_DIALECT_POSTGRES;
	char **unreplayed = calloc(packages + 1, sizeof *unreplayed);
	size_t n_unreplayed = 0;
	if (!unreplayed)
		return DBREG_ENOMEM;
	for (size_t i = 0; i < packages && !on_pg; i++)
		if (!dbreg_registry_package_replayable(s->reg, i) && dbreg_registry_package_name(s->reg, i))
			unreplayed[n_unreplayed++] = (char *)dbreg_registry_package_name(s->reg, i);
	if (s->o.json) {
		cli_json_key(s, "not_replayed");
		cli_json_strings(s->out, unreplayed, n_unreplayed);
	}
	for (size_t i = 0; i < n_unreplayed && !s->o.json && !s->o.quiet; i++)
		fprintf(s->err, "dbreg: note: %s has migrations without a SQLite body, so what they build was not compared "
				"with its declared tables (DBR047): validate --target postgres://... compares it on a server\n",
			unreplayed[i]);
	free(unreplayed);
	/* With --json the document's diagnostics say it all. */
	if (!s->o.json) {
		cli_print_diags(s, diags);
		if (!s->o.quiet)
			fprintf(s->err, "%zu package%s, %zu error%s, %zu warning%s\n", packages,
				packages == 1 ? "" : "s", diags->errors, diags->errors == 1 ? "" : "s",
				diags->warnings, diags->warnings == 1 ? "" : "s");
	}
	if (diags->errors)
		cli_error_set(s, "%zu error%s in the manifests of %zu package%s", diags->errors,
			      diags->errors == 1 ? "" : "s", packages, packages == 1 ? "" : "s");
	return diags->errors ? DBREG_EINVALID : 0;
}

const struct cli_command cli_cmd_validate = {
	.name = "validate",
	.args = "",
	.summary = "parse and validate every manifest and the SQL of every migration",
	.help = "Reads every manifest under the package folders of dbreg.toml (default tomls/), checks\n"
		"declarations, dependencies and the SQL of every migration, and prints the findings\n"
		"as FILE:LINE:COLUMN: severity[CODE]: message (hint: ...). Exit 1 when any is an error.\n"
		"--target naming a PostgreSQL server also replays the PostgreSQL bodies there, in a\n"
		"scratch schema inside a transaction that is rolled back.",
	.needs = CLI_NEEDS_REGISTRY,
	.run = validate_run,
};
