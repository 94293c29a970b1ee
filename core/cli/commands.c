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

/* What users of other migration tools type, and dbreg's command for it. */
static const struct {
	const char *word, *ours, *whose;
} commands_elsewhere[] = {
	{"migrate", "apply", "Flyway, Django, drizzle-kit and Prisma"},
	{"update", "apply", "Liquibase"},
	{"deploy", "apply", "Sqitch"},
	{"upgrade", "apply", "Alembic"},
	{"up", "apply", "dbmate and golang-migrate"},
	{"push", "apply", "drizzle-kit and Prisma (db push)"},
	{"revert", "down", "Sqitch"},
	{"rollback", "down", "Liquibase and dbmate"},
	{"downgrade", "down", "Alembic"},
	{"undo", "down", "Flyway"},
	{"info", "status", "Flyway"},
	{"showmigrations", "status", "Django"},
	{"log", "history", "Sqitch"},
	{"repair", "accept", "Flyway"},
	{"makemigrations", "generate", "Django"},
	{"diff", "generate", "Atlas (migrate diff) and Liquibase"},
	{"check", "validate", "drizzle-kit"},
	{"lint", "validate", "Atlas (migrate lint)"},
	{"clean", "reset", "Flyway"},
	{"version", "--version", "most tools"},
};

int cli_unknown_command(struct cli_session *s, const char *what, const char *name)
{
	for (size_t i = 0; i < sizeof commands_elsewhere / sizeof *commands_elsewhere; i++)
		if (strcmp(commands_elsewhere[i].word, name) == 0) {
			cli_fail(s, "%s '%s': what %s call %s is 'dbreg %s'", what, name, commands_elsewhere[i].whose,
				 name, commands_elsewhere[i].ours);
			cli_hint(s, "see 'dbreg --help'");
			return DBREG_EUSAGE;
		}
	const char *names[64];
	size_t n = 0;
	for (const struct cli_command *const *c = cli_commands; *c && n < 64; c++)
		if (!(*c)->hidden)
			names[n++] = (*c)->name;
	const char *best = cli_suggest(name, names, n);
	if (best)
		cli_fail(s, "%s '%s'; did you mean '%s'?", what, name, best);
	else
		cli_fail(s, "%s '%s'", what, name);
	cli_hint(s, "see 'dbreg --help'");
	return DBREG_EUSAGE;
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
