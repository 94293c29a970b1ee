/* dbreg baseline PKG@VERSION: adopt a database that already holds a
 * package's tables (made by hand, or by another tool). The target's
 * catalog is compared first, through verify and its one differ, with what
 * the package declares at VERSION; any difference refuses it, named (exit
 * 6). Then the package's migrations up to VERSION are recorded as applied,
 * with its package row and tools, without running one. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int baseline_run(struct cli_session *s)
{
	char *at = strrchr(s->args[0], '@');
	if (!at || at == s->args[0] || !at[1] || s->o.n_pins)
		return cli_usage(s, "baseline takes PKG@VERSION, as in dbreg baseline @ydtb/basic@1.1.0");
	*at = '\0';
	const char *pkg = s->args[0], *version = at + 1;
	struct dbreg_verify_result vr = {0};
	char err[1024];
	/* PKG@VERSION checked as --to checks it (a package of the project, a
	 * version, none above the declared one): a usage error, before any
	 * catalog is read and compared with a version that does not exist. */
	size_t i;
	int rc = cli_package(&i, s, pkg);
	if (rc < 0)
		return rc;
	s->o.pins[0] = (struct dbreg_pin){pkg, version};
	s->o.n_pins = 1;
	struct dbreg_plan *check = NULL;
	struct dbreg_plan_opts po = {.dialect = s->dialect, .pins = s->o.pins, .n_pins = 1, .only_package = pkg,
				     .no_warnings = true};
	rc = dbreg_plan_build(&check, s->reg, &po);
	dbreg_plan_free(check);
	if (rc < 0) {
		/* The planner says it of --to PKG@VERSION: here it is the argument. */
		const char *why = dbreg_registry_errmsg(s->reg);
		cli_fail(s, "baseline %s", strncmp(why, "--to ", 5) == 0 ? why + 5 : why);
		return rc;
	}
	rc = cli_connect(s, true);
	if (rc < 0)
		goto out;
	struct dbreg_verify_opts vo = {.state = s->state, .package = pkg, .version = version, .replay_url = s->url};
	rc = dbreg_verify_run_opts(&vr, s->conn, s->reg, &vo, err, sizeof err);
	if (rc == DBREG_EVERIFY) {
		cli_fail(s, "baseline %s@%s refused: the target does not hold what it declares (%zu difference%s); "
			 "nothing was recorded", pkg, version, vr.len, vr.len == 1 ? "" : "s");
		for (size_t i = 0; i < vr.len; i++)
			fprintf(s->err, "  %s%s%s%s%s\n", vr.items[i].table ? vr.items[i].table : "",
				vr.items[i].column ? "." : "", vr.items[i].column ? vr.items[i].column : "",
				vr.items[i].table ? ": " : "", vr.items[i].message);
		cli_hint(s, "make the database match, or apply the migrations instead");
		if (s->o.json)
			cli_json_problems(s, &vr);
		dbreg_state_log(s->state, "baseline", s->shown, "refused", "the catalog differs from the declared tables");
		goto out;
	}
	if (rc < 0) {
		cli_fail(s, "baseline: %s", err);
		goto out;
	}
	s->record_only = true;
	struct dbreg_plan_opts extra = {.only_package = pkg, .dependencies_installed = true};
	rc = cli_run_plan(s, "baseline", &extra, NULL);
out:
	dbreg_verify_result_dispose(&vr);
	return rc;
}

const struct cli_command cli_cmd_baseline = {
	.name = "baseline",
	.args = "PKG@VERSION",
	.summary = "adopt a database that holds a package's tables: record its migrations without running them",
	.help = "Compares the target's catalog with what PKG declares at VERSION (refused, naming every\n"
		"difference, exit 6, when they differ), then records its migrations up to VERSION as\n"
		"applied, with its package row and tools, without running one.",
	.options = (const char *const[]){"lock-timeout", NULL},
	.needs = CLI_NEEDS_VALID_SQL | CLI_NEEDS_TARGET | CLI_NEEDS_STATE,
	.min_args = 1,
	.max_args = 1,
	.complete_args = "packages",
	.run = baseline_run,
};
