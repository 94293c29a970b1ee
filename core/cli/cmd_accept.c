/* dbreg accept PKG MIGRATION: an applied migration whose body changed on
 * purpose (a comment, formatting) gets its new checksum recorded on the
 * target, after both checksums are shown; the state file logs it. Without
 * it every later plan refuses the change (DBR045). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static int accept_run(struct cli_session *s)
{
	const char *pkg = s->args[0], *mig = s->args[1];
	struct dbreg_accept_result res;
	/* A name the manifests do not have is told before connecting, which
	 * would create a SQLite file that was not there. */
	size_t i;
	int rc = cli_package(&i, s, pkg);
	if (rc < 0)
		return rc;
	if (!dbreg_registry_package_has_migration(s->reg, i, mig)) {
		cli_fail(s, "accept: package %s has no migration \"%s\"", pkg, mig);
		cli_hint(s, "see 'dbreg history' for the migrations applied on the target");
		return DBREG_EUSAGE;
	}
	rc = cli_connect(s, false);
	if (rc < 0)
		return rc;
	rc = dbreg_apply_accept(&res, s->conn, s->reg, pkg, mig, s->o.lock_timeout);
	if (rc < 0) {
		cli_fail(s, "accept: %s", res.errmsg);
		dbreg_state_log(s->state, "accept", s->shown, "failed", res.errmsg);
		return rc;
	}
	bool changed = strcmp(res.old_checksum, res.new_checksum) != 0;
	if (s->o.json) {
		cli_json_key(s, "target");
		dbreg_json_str(s->out, s->shown);
		cli_json_key(s, "package");
		dbreg_json_str(s->out, pkg);
		cli_json_key(s, "migration");
		dbreg_json_str(s->out, mig);
		cli_json_key(s, "old_checksum");
		dbreg_json_str(s->out, res.old_checksum);
		cli_json_key(s, "new_checksum");
		dbreg_json_str(s->out, res.new_checksum);
		cli_json_key(s, "changed");
		fputs(changed ? "true" : "false", s->out);
	} else if (s->o.quiet) {
		/* As apply -q: an action says nothing when it did what was asked. */
	} else if (!changed) {
		fprintf(s->out, "%s: %s %s is unchanged (%s): nothing to accept\n", s->shown, pkg, mig, res.new_checksum);
	} else {
		fprintf(s->out, "%s: %s %s\n  applied with  %s\n  manifest now  %s\naccepted: the target records the new checksum\n",
			s->shown, pkg, mig, res.old_checksum, res.new_checksum);
	}
	if (changed) {
		char detail[512];
		snprintf(detail, sizeof detail, "%s %s: %s -> %s", pkg, mig, res.old_checksum, res.new_checksum);
		dbreg_state_log(s->state, "accept", s->shown, "ok", detail);
		cli_history(s, true);
	}
	return 0;
}

const struct cli_command cli_cmd_accept = {
	.name = "accept",
	.args = "PKG MIGRATION",
	.summary = "record the new checksum of an applied migration changed on purpose",
	.help = "Shows the checksum the migration was applied with and the one of its text now, and\n"
		"records the new one on the target (logged in the state file), so that a comment or a\n"
		"formatting change is no longer refused as drift (DBR045).",
	.options = (const char *const[]){"lock-timeout", NULL},
	/* The SQL too: a body that no longer builds the declared tables (DBR047)
	 * is not a comment or formatting change. */
	.needs = CLI_NEEDS_VALID_SQL | CLI_NEEDS_TARGET | CLI_NEEDS_STATE,
	.min_args = 2,
	.max_args = 2,
	.complete_args = "packages",
	.run = accept_run,
};
