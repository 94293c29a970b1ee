/* dbreg down PKG --to VERSION: downgrade one package by running its down
 * bodies, newest first, through the same engine as apply. */
#include "cli.h"

#include <string.h>

static int down_run(struct cli_session *s)
{
	const char *pkg = s->args[0];
	size_t i;
	int rc = cli_package(&i, s, pkg);   /* a typo gets its did-you-mean, as accept's does */
	if (rc < 0)
		return rc;
	if (s->o.n_pins != 1 || s->o.pins[0].version[0] == '\0')
		return cli_usage(s, "down needs one --to VERSION: dbreg down %s --to VERSION", pkg);
	if (s->o.pins[0].package && strcmp(s->o.pins[0].package, pkg) != 0)
		return cli_usage(s, "down %s --to names another package (%s)", pkg, s->o.pins[0].package);
	s->o.pins[0].package = pkg;
	/* Read-only until the plan is known to be fine (cli_run_plan). */
	rc = cli_connect(s, true);
	if (rc < 0)
		return rc;
	struct dbreg_plan_opts extra = {.only_package = pkg, .downgrade = true};
	return cli_run_plan(s, "downgrade", &extra, NULL);
}

const struct cli_command cli_cmd_down = {
	.name = "down",
	.args = "PKG --to VERSION",
	.summary = "downgrade one package by running its down bodies",
	.help = "Runs the down bodies of PKG's migrations newer than VERSION, newest first, in one\n"
		"transaction; packages that depend on it must allow the older version.",
	.options = (const char *const[]){"to", "dry-run", "lock-timeout", NULL},
	.needs = CLI_NEEDS_VALID_SQL | CLI_NEEDS_TARGET | CLI_NEEDS_STATE,
	.min_args = 1,
	.max_args = 1,
	.complete_args = "packages",
	.run = down_run,
};
