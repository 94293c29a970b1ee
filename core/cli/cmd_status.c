/* dbreg status and dbreg history: what the target holds, read from the
 * target; with --offline, from the state file's copy of its history,
 * without a connection. A target that does not answer is exit 3, with a
 * hint to use --offline. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Loads the project, the target and its history; online when the target
 * answers. Returns 0 or a library code. */
static int status_open(struct cli_ctx *ctx, struct dbreg_project **proj, struct dbreg_registry **reg,
		       struct cli_target *t, bool *online)
{
	int rc = cli_open(ctx, proj, reg, false);
	if (rc < 0)
		return rc;
	if ((rc = cli_target_open(ctx, t, *proj)) < 0)
		return rc;
	*online = !ctx->offline;
	if (*online && (rc = cli_target_connect_readonly(ctx, t)) < 0) {
		fprintf(ctx->err, "dbreg: --offline shows the state file's copy of its history\n");
		return rc;
	}
	return cli_target_history(ctx, t, *online);
}

static void status_close(struct dbreg_project *proj, struct dbreg_registry *reg, struct cli_target *t)
{
	cli_target_close(t);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
}

/* The installed version of a package: the target's package table when
 * online, else the highest version among its applied migrations (not the
 * last applied: a migration merged late may be older). */
static const char *status_installed(const char *name, char **names, char **versions, size_t n,
				    const struct cli_target *t)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return versions[i];
	if (names)
		return NULL;
	const char *best = NULL;
	for (size_t i = 0; i < t->n_history; i++)
		if (strcmp(t->history[i].package, name) == 0 &&
		    (!best || dbreg_version_compare(t->history[i].version, best) > 0))
			best = t->history[i].version;
	return best;
}

int cmd_status(struct cli_ctx *ctx)
{
	if (ctx->fleet)
		return cli_fleet(ctx, "status");
	if (cli_no_extra_args(ctx, 0))
		return 2;
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct cli_target t = {0};
	struct dbreg_plan *plan = NULL;
	char **names = NULL, **versions = NULL;
	size_t n_installed = 0;
	bool online = false;

	int rc = status_open(ctx, &proj, &reg, &t, &online);
	if (rc < 0)
		goto out;
	if (online && (rc = dbreg_target_packages(t.conn, &names, &versions, &n_installed)) < 0) {
		fprintf(ctx->err, "dbreg: %s\n", dbreg_target_errmsg(t.conn));
		goto out;
	}
	if ((rc = cli_build_plan(ctx, reg, &t, &plan)) < 0)
		goto out;

	size_t np = dbreg_registry_package_count(reg);
	if (ctx->json) {
		fputs("{\n  \"target\": ", ctx->out);
		dbreg_json_str(ctx->out, t.shown);
		fprintf(ctx->out, ",\n  \"online\": %s,\n  \"packages\": [", online ? "true" : "false");
	} else {
		fprintf(ctx->out, "%s (%s)%s\n", t.shown, cli_dialect_name(t.dialect), online ? "" : " [offline]");
		fprintf(ctx->out, "  %-28s %-12s %-12s %s\n", "package", "declared", "installed", "pending");
	}
	for (size_t i = 0; i < np; i++) {
		const char *name = dbreg_registry_package_name(reg, i);
		const char *inst = status_installed(name, names, versions, n_installed, &t);
		size_t pending = 0;
		for (size_t k = 0; k < dbreg_plan_count(plan); k++)
			pending += strcmp(dbreg_plan_step(plan, k)->package, name) == 0;
		if (ctx->json) {
			fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", ctx->out);
			dbreg_json_str(ctx->out, name);
			fputs(", \"declared_version\": ", ctx->out);
			dbreg_json_str(ctx->out, dbreg_registry_package_version(reg, i));
			fputs(", \"installed_version\": ", ctx->out);
			dbreg_json_str(ctx->out, inst);
			fprintf(ctx->out, ", \"pending\": %zu}", pending);
		} else {
			fprintf(ctx->out, "  %-28s %-12s %-12s %zu\n", name, dbreg_registry_package_version(reg, i),
				inst ? inst : "-", pending);
		}
	}
	if (ctx->json) {
		fputs(np ? "\n  ]\n}\n" : "]\n}\n", ctx->out);
		ctx->json_done = true;
	}
out:
	for (size_t i = 0; i < n_installed; i++) {
		free(names[i]);
		free(versions[i]);
	}
	free(names);
	free(versions);
	dbreg_plan_free(plan);
	status_close(proj, reg, &t);
	return cli_exit_code(rc);
}

int cmd_history(struct cli_ctx *ctx)
{
	if (cli_no_extra_args(ctx, 0))
		return 2;
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct cli_target t = {0};
	bool online = false;

	int rc = status_open(ctx, &proj, &reg, &t, &online);
	if (rc < 0)
		goto out;
	if (ctx->json) {
		fputs("{\n  \"target\": ", ctx->out);
		dbreg_json_str(ctx->out, t.shown);
		fprintf(ctx->out, ",\n  \"online\": %s,\n  \"migrations\": [", online ? "true" : "false");
	} else if (t.n_history == 0) {
		fprintf(ctx->out, "%s: no migration applied\n", t.shown);
	}
	for (size_t i = 0; i < t.n_history; i++) {
		const struct dbreg_applied *a = &t.history[i];
		if (ctx->json) {
			fputs(i ? ",\n    {\"package\": " : "\n    {\"package\": ", ctx->out);
			dbreg_json_str(ctx->out, a->package);
			fputs(", \"migration\": ", ctx->out);
			dbreg_json_str(ctx->out, a->migration);
			fputs(", \"version\": ", ctx->out);
			dbreg_json_str(ctx->out, a->version);
			fputs(", \"checksum\": ", ctx->out);
			dbreg_json_str(ctx->out, a->checksum);
			fputs(", \"applied_at\": ", ctx->out);
			dbreg_json_str(ctx->out, a->applied_at);
			fprintf(ctx->out, ", \"duration_ms\": %lld}", a->duration_ms);
		} else {
			fprintf(ctx->out, "%s  %-24s %-32s %-10s %6lld ms\n", a->applied_at ? a->applied_at : "-",
				a->package, a->migration, a->version, a->duration_ms);
		}
	}
	if (ctx->json) {
		fputs(t.n_history ? "\n  ]\n}\n" : "]\n}\n", ctx->out);
		ctx->json_done = true;
	}
out:
	status_close(proj, reg, &t);
	return cli_exit_code(rc);
}
