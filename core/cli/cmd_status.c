/* dbreg status: per package the declared version, the version installed on
 * the target and the pending migrations; read from the target, or with
 * --offline from the state file's copy of its history. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Connects (read-only) unless --offline, and loads the history: what
 * status and history share. */
int cli_read_target(struct cli_session *s)
{
	int rc;
	if (!s->o.offline && (rc = cli_connect(s, true)) < 0) {
		/* Not for a URL the driver refused to read (exit 2): that wants fixing. */
		if (rc == DBREG_ECONNECT || rc == DBREG_ELOCKED)
			cli_hint(s, "--offline shows the state file's copy of its history");
		return rc;
	}
	return cli_history(s, !s->o.offline);
}

void cli_json_target_keys(struct cli_session *s)
{
	cli_json_key(s, "target");
	dbreg_json_str(s->out, s->shown);
	cli_json_key(s, "online");
	fputs(s->conn ? "true" : "false", s->out);
}

/* The installed version of a package: the target's package table when
 * online, else the highest version among its applied migrations (not the
 * last applied: a migration merged late may be older). */
static const char *status_installed(struct cli_session *s, const char *name, char **names, char **versions,
				    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return versions[i];
	if (names)
		return NULL;
	const char *best = NULL;
	for (size_t i = 0; i < s->n_history; i++)
		if (strcmp(s->history[i].package, name) == 0 &&
		    (!best || dbreg_version_compare(s->history[i].version, best) > 0))
			best = s->history[i].version;
	return best;
}

static int status_run(struct cli_session *s)
{
	if (s->o.fleet)
		return cli_fleet(s, "status");
	struct dbreg_plan *plan = NULL;
	char **names = NULL, **versions = NULL;
	size_t n_installed = 0;
	FILE *out = s->out;

	int rc = cli_read_target(s);
	if (rc < 0)
		goto out;
	if (s->conn && (rc = dbreg_target_packages(s->conn, &names, &versions, &n_installed)) < 0) {
		cli_fail_target(s, NULL);
		goto out;
	}
	/* A plan with errors (DBR045 drift) still shows the table: the findings
	 * are printed with it, and the exit code is 1 all the same. */
	const struct dbreg_plan_opts report = { .keep_invalid = true, .count_unwritten = true };
	if ((rc = cli_build_plan(s, &report, &plan)) < 0 && !plan)
		goto out;

	size_t np = dbreg_registry_package_count(s->reg);
	if (s->o.json) {
		cli_json_target_keys(s);
		cli_json_key(s, "packages");
		fputc('[', out);
	} else {
		fprintf(out, "%s (%s)%s\n", s->shown, cli_dialect_name(s->dialect), s->conn ? "" : " [offline]");
		fprintf(out, "  %-28s %-12s %-12s %s\n", "package", "declared", "installed", "pending");
	}
	for (size_t i = 0; i < np; i++) {
		const char *name = dbreg_registry_package_name(s->reg, i);
		const char *inst = status_installed(s, name, names, versions, n_installed);
		size_t pending = dbreg_plan_unwritten(plan, name);
		for (size_t k = 0; k < dbreg_plan_count(plan); k++)
			pending += strcmp(dbreg_plan_step(plan, k)->package, name) == 0;
		if (s->o.json) {
			fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", out);
			dbreg_json_str(out, name);
			fputs(", \"declared_version\": ", out);
			dbreg_json_str(out, dbreg_registry_package_version(s->reg, i));
			fputs(", \"installed_version\": ", out);
			dbreg_json_str(out, inst);
			fprintf(out, ", \"pending\": %zu, \"partially_applied\": [", pending);
		} else {
			fprintf(out, "  %-28s %-12s %-12s %zu\n", name, dbreg_registry_package_version(s->reg, i),
				inst ? inst : "-", pending);
		}
		/* A pending transaction = false migration may have run in part. */
		size_t n_part = 0;
		for (size_t k = 0; k < s->n_progress; k++) {
			const struct dbreg_progress *p = &s->progress[k];
			if (strcmp(p->package, name) != 0)
				continue;
			if (s->o.json) {
				fputs(n_part++ ? ", {\"migration\": " : "{\"migration\": ", out);
				dbreg_json_str(out, p->migration);
				fprintf(out, ", \"statements_done\": %zu, \"statements_total\": %zu}", p->done, p->total);
			} else {
				fprintf(out, "    %s: partially applied (%zu of %zu statements); apply resumes at statement %zu\n",
					p->migration, p->done, p->total, p->done + 1);
			}
		}
		if (s->o.json)
			fputs("]}", out);
	}
	/* Installed on the target, declared by no manifest (removed, or another
	 * checkout's): shown, since the target holds its tables. */
	size_t shown = np, n_other = s->conn ? n_installed : s->n_history;
	for (size_t k = 0; k < n_other; k++) {
		const char *name = s->conn ? names[k] : s->history[k].package;
		bool seen = dbreg_registry_package_find(s->reg, name) < np;
		for (size_t j = 0; !seen && !s->conn && j < k; j++)
			seen = strcmp(s->history[j].package, name) == 0;
		if (seen)
			continue;
		const char *inst = status_installed(s, name, names, versions, n_installed);
		if (s->o.json) {
			fputs(shown++ ? ",\n    {\"name\": " : "\n    {\"name\": ", out);
			dbreg_json_str(out, name);
			fputs(", \"declared_version\": null, \"installed_version\": ", out);
			dbreg_json_str(out, inst);
			fputs(", \"pending\": 0, \"partially_applied\": []}", out);
		} else {
			fprintf(out, "  %-28s %-12s %-12s %d  (no manifest declares it)\n", name, "-", inst ? inst : "-", 0);
		}
	}
	if (s->o.json)
		fputs(shown ? "\n  ]" : "]", out);
out:
	for (size_t i = 0; i < n_installed; i++) {
		free(names[i]);
		free(versions[i]);
	}
	free(names);
	free(versions);
	dbreg_plan_free(plan);
	return rc;
}

const struct cli_command cli_cmd_status = {
	.name = "status",
	.args = "",
	.summary = "per package: declared, installed, pending",
	.help = "Reads the target (read-only) and prints, per package, the declared version, the\n"
		"version installed there and the number of pending migrations; --offline answers from\n"
		"the state file's copy of the target's history, without connecting. When the plan has\n"
		"errors (an applied migration changed: DBR045) it prints the table and the findings\n"
		"and exits 1. A migration whose up body is still to write is pending (apply refuses\n"
		"it: DBR042).",
	.options = (const char *const[]){"offline", "fleet", "refresh", "jobs", NULL},
	.needs = CLI_NEEDS_VALID | CLI_NEEDS_TARGET | CLI_NEEDS_STATE | CLI_STATE_READONLY,
	.run = status_run,
};
