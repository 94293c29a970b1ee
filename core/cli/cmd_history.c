/* dbreg history: the migrations applied on the target, oldest first; with
 * --offline, the state file's copy. */
#include "cli.h"

static int history_run(struct cli_session *s)
{
	FILE *out = s->out;
	int rc = cli_read_target(s);
	if (rc < 0)
		return rc;
	if (s->o.json) {
		cli_json_target_keys(s);
		cli_json_key(s, "migrations");
		fputc('[', out);
	} else if (s->n_history == 0) {
		fprintf(out, "%s: no migration applied\n", s->shown);
	}
	for (size_t i = 0; i < s->n_history; i++) {
		const struct dbreg_applied *a = &s->history[i];
		if (s->o.json) {
			fputs(i ? ",\n    {" : "\n    {", out);
			cli_json_migration(out, a->package, a->migration, a->version);
			fputs(", \"checksum\": ", out);
			dbreg_json_str(out, a->checksum);
			fputs(", \"applied_at\": ", out);
			dbreg_json_str(out, a->applied_at);
			fprintf(out, ", \"duration_ms\": %lld}", a->duration_ms);
		} else {
			fprintf(out, "%s  %-24s %-32s %-10s %6lld ms\n", a->applied_at ? a->applied_at : "-", a->package,
				a->migration, a->version, a->duration_ms);
		}
	}
	if (s->o.json)
		fputs(s->n_history ? "\n  ]" : "]", out);
	return 0;
}

const struct cli_command cli_cmd_history = {
	.name = "history",
	.args = "",
	.summary = "the migrations applied on the target, oldest first",
	.help = "Reads the target's history table (read-only); --offline prints the state file's copy.",
	.options = (const char *const[]){"offline", NULL},
	/* The target's tables alone: readable while a manifest is being mended. */
	.needs = CLI_NEEDS_PROJECT | CLI_NEEDS_TARGET | CLI_NEEDS_STATE | CLI_STATE_READONLY,
	.run = history_run,
};
