/* The table of commands: each entry is defined in its cmd_<name>.c (tmux's
 * cmd_entry); this list fixes their order in --help, dbreg(1) and the
 * completion. */
#include "cli.h"

#include <string.h>

const struct cli_command *const cli_commands[] = {
	&cli_cmd_validate,
	&cli_cmd_plan,
	&cli_cmd_apply,
	&cli_cmd_init,
	&cli_cmd_down,
	&cli_cmd_status,
	&cli_cmd_history,
	&cli_cmd_verify,
	&cli_cmd_reset,
	&cli_cmd_watch,
	&cli_cmd_new,
	&cli_cmd_generate,
	&cli_cmd_test,
	&cli_cmd_docs,
	&cli_cmd_baseline,
	&cli_cmd_accept,
	&cli_cmd_help,
	/* Build helpers, not listed: dbreg(1), the completion script, and the
	 * package names the completion offers. */
	&cli_cmd_man,
	&cli_cmd_completion,
	&cli_cmd_packages,
	NULL,
};

const struct cli_command *cli_command_find(const char *name)
{
	for (const struct cli_command *const *c = cli_commands; *c; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	return NULL;
}

bool cli_command_takes(const struct cli_command *cmd, const struct cli_option *o)
{
	if (o->common)
		return true;
	for (const char *const *n = cmd->options; n && *n; n++)
		if (strcmp(*n, o->name) == 0)
			return true;
	return false;
}
