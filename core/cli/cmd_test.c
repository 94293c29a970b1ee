/* dbreg test [PKG] [--target T]: every migration up, down and up again,
 * offline on an in-memory SQLite database, and with --target naming a
 * PostgreSQL server also in a scratch schema there, dropped afterwards.
 * Exit 0 when every round trip leaves the schema as it found it, 1 with
 * the differences otherwise. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int test_run(struct cli_session *s, struct dbreg_registry *reg, const char *pkg, const char *url,
		    const char *shown, size_t *problems)
{
	struct dbreg_verify_result res = DBREG_VERIFY_RESULT_INIT;
	size_t n = 0;
	char err[1024] = "";
	int rc = dbreg_roundtrip(&res, &n, reg, pkg, url, err, sizeof err);
	if (rc < 0 && rc != DBREG_EINVALID)
		cli_fail(s, "%s: %s", shown, err);
	else if (rc == DBREG_EINVALID && res.len == 0)
		cli_fail(s, "%s", err);
	for (size_t i = 0; i < res.len; i++)
		fprintf(s->err, "%s: %s\n", shown, res.items[i].message);
	if (s->o.json) {
		fprintf(s->out, "%s{\"target\": ", *problems == (size_t)-1 ? "" : ", ");
		dbreg_json_str(s->out, shown);
		fprintf(s->out, ", \"ok\": %s, \"migrations\": %zu, \"problems\": [", rc == 0 ? "true" : "false", n);
		for (size_t i = 0; i < res.len; i++) {
			fputs(i ? ", " : "", s->out);
			fputs("{\"table\": ", s->out);
			dbreg_json_str(s->out, res.items[i].table);
			fputs(", \"column\": ", s->out);
			dbreg_json_str(s->out, res.items[i].column);
			fputs(", \"message\": ", s->out);
			dbreg_json_str(s->out, res.items[i].message);
			fputs("}", s->out);
		}
		fputs("]}", s->out);
	} else if (!s->o.quiet && rc == 0) {
		fprintf(s->err, "%s: %zu migration%s up, down and up again: the schema came back each time\n", shown, n,
			n == 1 ? "" : "s");
	}
	if (*problems == (size_t)-1)
		*problems = 0;
	*problems += res.len;
	dbreg_verify_result_dispose(&res);
	return rc;
}

static int test_cmd_run(struct cli_session *s)
{
	const char *pkg = s->n_args ? s->args[0] : NULL;
	struct dbreg_registry *reg = s->reg;
	struct dbreg_project *proj = s->proj;
	char *url = NULL, *shown = NULL;
	char err[512];
	size_t problems = (size_t)-1;
	int rc;
	size_t i;
	if (pkg && (rc = cli_package(&i, s, pkg)) < 0)
		return rc;
	if (s->o.json) {
		cli_json_key(s, "runs");
		fputc('[', s->out);
	}
	rc = test_run(s, reg, pkg, NULL, "SQLite (in memory)", &problems);
	if (s->o.target && rc != DBREG_ENOMEM) {
		enum dbreg_dialect d;
		if (dbreg_project_target_url(&url, proj, s->o.target, err, sizeof err) < 0) {
			cli_fail(s, "%s", err);
			rc = DBREG_EUSAGE;
		} else if (dbreg_target_dialect(url, &d) == 0 && d == DBREG_DIALECT_POSTGRES) {
			shown = dbreg_url_redact(url);
			int rc2 = test_run(s, reg, pkg, url, shown ? shown : "postgres", &problems);
			if (rc == 0 || (rc == DBREG_EINVALID && rc2 < DBREG_EINVALID))
				rc = rc2;
		}
	}
	if (s->o.json)
		fputc(']', s->out);
	if (rc == DBREG_EINVALID && !s->error.message)
		cli_error_set(s, "%zu round trip%s did not bring the schema back", problems, problems == 1 ? "" : "s");
	free(url);
	free(shown);
	return rc;
}

const struct cli_command cli_cmd_test = {
	.name = "test",
	.args = "[PKG]",
	.summary = "every migration up, down and up again on a scratch database",
	.help = "Runs every migration (of PKG, or all) up, down and up again on an in-memory SQLite\n"
		"database, and with --target naming a PostgreSQL server also in a scratch schema there,\n"
		"dropped afterwards; after each down the schema must equal the one before the up.",
	.needs = CLI_NEEDS_VALID,
	.max_args = 1,
	.complete_args = "packages",
	.run = test_cmd_run,
};
