/* dbreg test [PKG] [--target T]: every migration up, down and up again,
 * offline on an in-memory SQLite database, and with --target naming a
 * PostgreSQL server also in a scratch schema there, dropped afterwards.
 * Exit 0 when every round trip leaves the schema as it found it, 1 with
 * the differences otherwise. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int test_run(struct cli_ctx *ctx, struct dbreg_registry *reg, const char *pkg, const char *url,
		    const char *shown, size_t *problems)
{
	struct dbreg_verify_result res = DBREG_VERIFY_RESULT_INIT;
	size_t n = 0;
	char err[1024] = "";
	int rc = dbreg_roundtrip(&res, &n, reg, pkg, url, err, sizeof err);
	if (rc < 0 && rc != DBREG_EINVALID)
		fprintf(ctx->err, "dbreg: %s: %s\n", shown, err);
	else if (rc == DBREG_EINVALID && res.len == 0)
		fprintf(ctx->err, "dbreg: %s\n", err);
	for (size_t i = 0; i < res.len; i++)
		fprintf(ctx->err, "%s: %s\n", shown, res.items[i].message);
	if (ctx->json) {
		fprintf(ctx->out, "%s{\"target\": ", *problems == (size_t)-1 ? "" : ", ");
		dbreg_json_str(ctx->out, shown);
		fprintf(ctx->out, ", \"ok\": %s, \"migrations\": %zu, \"problems\": [", rc == 0 ? "true" : "false", n);
		for (size_t i = 0; i < res.len; i++) {
			fputs(i ? ", " : "", ctx->out);
			fputs("{\"table\": ", ctx->out);
			dbreg_json_str(ctx->out, res.items[i].table);
			fputs(", \"column\": ", ctx->out);
			dbreg_json_str(ctx->out, res.items[i].column);
			fputs(", \"message\": ", ctx->out);
			dbreg_json_str(ctx->out, res.items[i].message);
			fputs("}", ctx->out);
		}
		fputs("]}", ctx->out);
	} else if (!ctx->quiet && rc == 0) {
		fprintf(ctx->err, "%s: %zu migration%s up, down and up again: the schema came back each time\n", shown, n,
			n == 1 ? "" : "s");
	}
	if (*problems == (size_t)-1)
		*problems = 0;
	*problems += res.len;
	dbreg_verify_result_dispose(&res);
	return rc;
}

int cmd_test(struct cli_ctx *ctx)
{
	if (cli_no_extra_args(ctx, 1))
		return 2;
	const char *pkg = ctx->n_args ? ctx->args[0] : NULL;
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	char *url = NULL, *shown = NULL;
	char err[512];
	size_t problems = (size_t)-1;
	int rc = cli_open(ctx, &proj, &reg, false);
	if (rc < 0)
		goto out;
	if (ctx->json)
		fputs("{\n  \"runs\": [", ctx->out);
	rc = test_run(ctx, reg, pkg, NULL, "SQLite (in memory)", &problems);
	if (ctx->target && rc != DBREG_ENOMEM) {
		enum dbreg_dialect d;
		if (dbreg_project_target_url(&url, proj, ctx->target, err, sizeof err) < 0) {
			fprintf(ctx->err, "dbreg: %s\n", err);
			rc = DBREG_EUSAGE;
		} else if (dbreg_target_dialect(url, &d) == 0 && d == DBREG_DIALECT_POSTGRES) {
			shown = dbreg_url_redact(url);
			int rc2 = test_run(ctx, reg, pkg, url, shown ? shown : "postgres", &problems);
			if (rc == 0 || (rc == DBREG_EINVALID && rc2 < DBREG_EINVALID))
				rc = rc2;
		}
	}
	if (ctx->json) {
		fprintf(ctx->out, "],\n  \"ok\": %s\n}\n", rc == 0 ? "true" : "false");
		ctx->json_done = true;
	}
out:
	free(url);
	free(shown);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	return cli_exit_code(rc);
}
