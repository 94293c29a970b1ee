/* dbreg apply: plan against the target's own history and run the plan, all
 * of it in one transaction unless a migration says transaction = false. */
#include "cli.h"

static int apply_run(struct cli_session *s)
{
	int rc;
	if (s->o.fleet)
		rc = cli_fleet(s, "apply");
	else if ((rc = cli_check_pins(s)) >= 0 && (rc = cli_connect(s, true)) >= 0 &&
		 (rc = cli_run_plan(s, "apply", NULL, NULL)) == 0)
		cli_apply_remember(s);   /* read-only until the plan was known to be fine (cli_run_plan) */
	cli_note_tools(s);
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
