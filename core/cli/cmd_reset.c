/* dbreg reset: on a development target only, every package's down to
 * nothing, newest first, then every up again, in one run of the apply
 * engine (one transaction unless a transaction = false step splits it). */
#include "cli.h"

static int reset_run(struct cli_session *s)
{
	struct dbreg_plan_opts extra = {.reset = true};
	/* Read-only until the plan is known to be fine (cli_run_plan). */
	int rc = cli_connect(s, true);
	if (rc < 0)
		return rc;
	return cli_run_plan(s, "reset", &extra, NULL);
}

const struct cli_command cli_cmd_reset = {
	.name = "reset",
	.args = "",
	.summary = "development targets only: every package down to nothing, then apply again",
	.help = "Runs every applied migration's down, newest first, then every up, in one run;\n"
		"refused (exit 2) before anything is read unless the target is a development target\n"
		"(dev = true, or a SQLite file that does not say dev = false).",
	.options = (const char *const[]){"dry-run", "lock-timeout", "allow", NULL},
	/* The development check comes first: nothing is read from another target. */
	.needs = CLI_DEV_ONLY | CLI_NEEDS_VALID_SQL | CLI_NEEDS_TARGET | CLI_NEEDS_STATE,
	.run = reset_run,
};
