/* dbreg apply: plan against the target's own history and run the plan, all
 * of it in one transaction unless a migration says transaction = false. */
#include "cli.h"

static int apply_run(struct cli_session *s)
{
	if (s->o.fleet)
		return cli_fleet(s, "apply");
	int rc;
	if ((rc = cli_check_pins(s)) < 0)
		return rc;
	/* Read-only until the plan is known to be fine (cli_run_plan). */
	if ((rc = cli_connect(s, true)) < 0)
		return rc;
	if ((rc = cli_run_plan(s, "apply", NULL, NULL)) == 0)
		cli_apply_remember(s);
	return rc;
}

const struct cli_command cli_cmd_apply = {
	.name = "apply",
	.args = "",
	.summary = "run the plan on the target, atomically",
	.help = "Reads the target's history, plans, and runs every pending migration in one\n"
		"transaction (a migration with transaction = false splits the run there). A failure\n"
		"rolls the target back to where it was and names the statement (exit 4).",
	.options = (const char *const[]){"dry-run", "to", "lock-timeout", "allow", "fleet", "on-error", "max-failures", "resume", "jobs", NULL},
	.needs = CLI_NEEDS_VALID_SQL | CLI_NEEDS_TARGET | CLI_NEEDS_STATE | CLI_SQL_BESIDE,
	.run = apply_run,
	.shortcut = cli_apply_noop,
};
