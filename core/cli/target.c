/* What plan, apply, status and history share: which target, its dialect,
 * the state file, and the history to plan against. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_require_dev(struct cli_ctx *ctx, const struct dbreg_project *proj, const char *what)
{
	char err[512], *url = NULL;
	int rc = dbreg_project_target_url(&url, proj, ctx->target, err, sizeof(err));
	if (rc < 0) {
		fprintf(ctx->err, "dbreg: %s\n", err);
		return rc;
	}
	bool dev = dbreg_project_target_is_dev(proj, ctx->target, url);
	char *shown = dbreg_url_redact(url);
	free(url);
	if (!dev) {
		const char *name = ctx->target ? ctx->target : "dev";
		bool named = false;
		for (size_t i = 0; i < proj->n_targets; i++)
			named |= strcmp(proj->targets[i].name, name) == 0;
		fprintf(ctx->err, "dbreg: %s is for development targets only, and %s is not one (hint: %s)\n", what,
			shown ? shown : "the target",
			named ? "add dev = true to its [targets] table in dbreg.toml if it is a development database"
			      : "name a target marked dev = true in dbreg.toml, or a SQLite file");
	}
	free(shown);
	return dev ? 0 : DBREG_EUSAGE;
}

int cli_target_open(struct cli_ctx *ctx, struct cli_target *t, const struct dbreg_project *proj)
{
	char err[512];
	memset(t, 0, sizeof(*t));
	int rc = dbreg_project_target_url(&t->url, proj, ctx->target, err, sizeof(err));
	if (rc < 0) {
		fprintf(ctx->err, "dbreg: %s\n", err);
		return rc;
	}
	const struct dbreg_target_def *def = dbreg_project_target(proj, ctx->target);
	if (def) {
		t->lock_timeout_ms = def->lock_timeout_ms;
		t->statement_timeout_ms = def->statement_timeout_ms;
	}
	t->shown = dbreg_url_redact(t->url);
	if (!t->shown)
		return DBREG_ENOMEM;
	if (dbreg_target_dialect(t->url, &t->dialect) < 0) {
		fprintf(ctx->err, "dbreg: no driver for target %s (use sqlite:PATH or postgres://...)\n", t->shown);
		return DBREG_EUSAGE;
	}
	char *path = cli_state_path(proj);
	if (!path)
		return DBREG_ENOMEM;
	rc = dbreg_state_open(&t->state, path, err, sizeof(err));
	free(path);
	if (rc < 0) {
		fprintf(ctx->err, "dbreg: state file: %s\n", err);
		return rc;
	}
	return 0;
}

static int cli_connect(struct cli_ctx *ctx, struct cli_target *t, bool readonly)
{
	char err[1024];
	int rc = readonly ? dbreg_target_connect_readonly(&t->conn, t->url, err, sizeof(err))
			  : dbreg_target_connect(&t->conn, t->url, err, sizeof(err));
	if (rc < 0)
		fprintf(ctx->err, "dbreg: cannot connect to %s: %s\n", t->shown, err);
	t->readonly = readonly;
	return rc;
}

int cli_target_connect(struct cli_ctx *ctx, struct cli_target *t)
{
	return cli_connect(ctx, t, false);
}

int cli_target_connect_readonly(struct cli_ctx *ctx, struct cli_target *t)
{
	return cli_connect(ctx, t, true);
}

int cli_target_history(struct cli_ctx *ctx, struct cli_target *t, bool from_target)
{
	int rc;
	dbreg_applied_free(t->history, t->n_history);
	t->history = NULL;
	t->n_history = 0;
	if (from_target) {
		/* plan --refresh: reading the history changes nothing. */
		if (!t->conn && (rc = cli_target_connect_readonly(ctx, t)) < 0)
			return rc;
		rc = dbreg_target_history(t->conn, &t->history, &t->n_history);
		if (rc < 0) {
			fprintf(ctx->err, "dbreg: reading the history of %s: %s\n", t->shown,
				dbreg_target_errmsg(t->conn));
			return rc;
		}
		/* Keep the offline copy in step with what the target holds. */
		return dbreg_state_set_history(t->state, t->shown, t->history, t->n_history);
	}
	rc = dbreg_state_get_history(t->state, t->shown, &t->history, &t->n_history);
	if (rc < 0)
		fprintf(ctx->err, "dbreg: state file: %s\n", dbreg_state_errmsg(t->state));
	return rc;
}

void cli_target_close(struct cli_target *t)
{
	dbreg_applied_free(t->history, t->n_history);
	dbreg_target_close(t->conn);
	dbreg_state_close(t->state);
	free(t->url);
	free(t->shown);
	memset(t, 0, sizeof(*t));
}

const char *cli_dialect_name(enum dbreg_dialect d)
{
	return d == DBREG_DIALECT_POSTGRES ? "postgres" : "sqlite";
}
