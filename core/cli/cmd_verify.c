/* dbreg verify: read the target's catalog and compare it with the declared
 * tables; exit 6 with every difference named. */
#include "cli.h"

int cli_verify(struct cli_session *s, bool nested)
{
	struct dbreg_verify_result vr = DBREG_VERIFY_RESULT_INIT;
	char err[1024] = "";
	struct dbreg_verify_opts vo = {.state = s->state, .replay_url = s->url};
	int rc = dbreg_verify_run_opts(&vr, s->conn, s->reg, &vo, err, sizeof(err));
	if (rc < 0 && rc != DBREG_EVERIFY) {
		cli_fail(s, "verify: %s", err);
		if (rc == DBREG_ECONNECT)
			cli_error_from_target(s);
	} else
		cli_verify_print(s, &vr, rc, nested);
	dbreg_verify_result_dispose(&vr);
	return rc;
}

/* Element i of a verify array (problems, not_compared): an object of three
 * string keys, one line each, indented by ind. */
static void verify_json_item(FILE *out, const char *ind, size_t i, const char *k0, const char *v0, const char *k1,
			     const char *v1, const char *k2, const char *v2)
{
	fprintf(out, "%s%s  {\"%s\": ", i ? ",\n" : "\n", ind, k0);
	dbreg_json_str(out, v0);
	fprintf(out, ", \"%s\": ", k1);
	dbreg_json_str(out, v1);
	fprintf(out, ", \"%s\": ", k2);
	dbreg_json_str(out, v2);
	fputc('}', out);
}

/* The array of problems, indented by ind. */
static void verify_json_problems(FILE *out, const char *ind, const struct dbreg_verify_result *vr)
{
	fputc('[', out);
	for (size_t i = 0; i < vr->len; i++)
		verify_json_item(out, ind, i, "table", vr->items[i].table, "column", vr->items[i].column, "message",
				 vr->items[i].message);
	fprintf(out, "%s%s]", vr->len ? "\n" : "", vr->len ? ind : "");
}

void cli_json_problems(struct cli_session *s, const struct dbreg_verify_result *vr)
{
	cli_json_key(s, "problems");
	verify_json_problems(s->out, "  ", vr);
}

void cli_verify_print(struct cli_session *s, const struct dbreg_verify_result *vr_in, int rc, bool nested)
{
	const struct dbreg_verify_result vr = *vr_in;
	FILE *out = s->out;
	if (s->o.json) {
		/* Nested in init's document one level deeper. */
		const char *ind = nested ? "    " : "  ";
		if (nested) {
			cli_json_key(s, "verify");
			fputs("{\n    \"target\": ", out);
			dbreg_json_str(out, s->shown);
			fprintf(out, ",\n    \"ok\": %s,\n    \"problems\": ", rc == 0 ? "true" : "false");
		} else {
			cli_json_key(s, "target");
			dbreg_json_str(out, s->shown);
			cli_json_key(s, "problems");
		}
		verify_json_problems(out, ind, &vr);
		if (nested)
			fputs(",\n    \"not_compared\": ", out);
		else
			cli_json_key(s, "not_compared");
		fputc('[', out);
		for (size_t i = 0; i < vr.n_not_compared; i++)
			verify_json_item(out, ind, i, "package", vr.not_compared[i].package, "version",
					 vr.not_compared[i].version, "reason", vr.not_compared[i].reason);
		fprintf(out, "%s]", vr.n_not_compared ? (nested ? "\n    " : "\n  ") : "");
		if (nested) {
			fputs(",\n    \"notice\": ", out);
			dbreg_json_str(out, vr.notice);
			fputs("\n  }", out);
		} else {
			cli_json_key(s, "notice");
			dbreg_json_str(out, vr.notice);
		}
	} else {
		for (size_t i = 0; i < vr.len; i++) {
			const struct dbreg_problem *pr = &vr.items[i];
			fprintf(s->err, "%s: verify: %s%s%s%s%s\n", s->shown, pr->table ? pr->table : "",
				pr->column ? "." : "", pr->column ? pr->column : "", pr->table ? ": " : "", pr->message);
		}
		/* Never silently skipped: what was not compared is said, and why. */
		for (size_t i = 0; i < vr.n_not_compared; i++)
			fprintf(s->err, "%s: verify: %s %s not compared: %s\n", s->shown, vr.not_compared[i].package,
				vr.not_compared[i].version, vr.not_compared[i].reason);
		if (vr.notice && !s->o.quiet)
			fprintf(s->err, "%s: note: %s\n", s->shown, vr.notice);
		/* Only what was compared matches: the rest was said above. */
		if (rc == 0 && !s->o.quiet && vr.n_not_compared)
			fprintf(out, "%s matches the declared tables of every package compared (%zu not compared)\n",
				s->shown, vr.n_not_compared);
		else if (rc == 0 && !s->o.quiet)
			fprintf(out, "%s matches the declared tables\n", s->shown);
	}
	if (rc == DBREG_EVERIFY)
		cli_error_set(s, "%s differs from the declared tables: %zu difference%s", s->shown, vr.len,
			      vr.len == 1 ? "" : "s");
	if (rc == DBREG_EVERIFY && !s->o.json)
		fprintf(s->err, "%s\n", s->error.message ? s->error.message : "");
}


static int verify_run(struct cli_session *s)
{
	int rc = cli_connect(s, true);
	if (rc < 0)
		return rc;
	return cli_verify(s, false);
}

const struct cli_command cli_cmd_verify = {
	.name = "verify",
	.args = "",
	.summary = "compare the target's catalog with the declared tables",
	.help = "Reads the target's catalog and compares it with the declared tables, columns, keys\n"
		"and indexes; also ydtb_ tables and indexes no package declares, and INVALID indexes.\n"
		"Exit 6 when they differ, with every difference named.",
	/* The state file holds the schema of each registered version. */
	.needs = CLI_NEEDS_VALID | CLI_NEEDS_TARGET | CLI_NEEDS_STATE | CLI_STATE_READONLY,
	.run = verify_run,
};
