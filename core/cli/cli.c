/* The table of commands and what every command shares: loading the
 * project, printing diagnostics, JSON strings, exit codes. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const struct cli_cmd cli_commands[] = {
	{"validate", "", "parse and validate every manifest and the SQL of every migration", cmd_validate},
	{"plan", "[--refresh] [--sql] [--to PKG@V]", "the steps apply would run, from the state file, offline", cmd_plan},
	{"apply", "[--dry-run] [--to PKG@V]", "run the plan on the target, atomically", cmd_apply},
	{"init", "[--dry-run] [--wait S]", "connect, apply core and every package, verify, report", cmd_init},
	{"down", "PKG --to VERSION", "downgrade one package by running its down bodies", cmd_down},
	{"status", "", "per package: declared, installed, pending", cmd_status},
	{"history", "", "the migrations applied on the target, oldest first", cmd_history},
	{"verify", "", "compare the target's catalog with the declared tables", cmd_verify},
	{"reset", "", "development targets only: every package down to nothing, then apply again", cmd_reset},
	{"watch", "[--no-apply] [--allow CODE,...]", "the development loop: reload, validate, plan and apply on every change", cmd_watch},
	{"new", "package NAME [--dir DIR] | migration PKG ID", "write a new package manifest, or append an empty migration", cmd_new},
	{"generate", "PKG [--dry-run]", "append the migration from what the migrations build to the declared tables", cmd_generate},
	{"test", "[PKG] [--target PG]", "every migration up, down and up again on a scratch database", cmd_test},
	{"docs", "[--out DIR] [--check]", "Markdown and Mermaid pages of every package's schema", cmd_docs},
	{"baseline", "PKG@VERSION", "adopt a database that holds a package's tables: record its migrations without running them", cmd_baseline},
	{"accept", "PKG MIGRATION", "record the new checksum of an applied migration changed on purpose", cmd_accept},
	{NULL, NULL, NULL, NULL},
};

int cli_exit_code(int rc)
{
	if (rc >= 0)
		return 0;
	if (rc >= DBREG_EVERIFY)
		return -rc;
	return 1;   /* out of memory, I/O: nothing was changed */
}

int cli_load(struct cli_ctx *ctx, struct dbreg_project **proj, struct dbreg_registry **reg,
	     bool skip_sql, struct dbreg_diag_list *project_diags)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = cli_load_only(ctx, proj, reg, project_diags);
	if (rc < 0)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* -v: what is checked, and how long each part took. */
	FILE *log = ctx->verbose && !ctx->json ? ctx->err : NULL;
	if (log)
		fprintf(log, "  validate: %zu manifests read in %.1f ms\n", dbreg_registry_package_count(*reg),
			(double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	struct dbreg_validate_opts vopts = {.skip_sql = skip_sql, .log = log};
	return dbreg_registry_validate(*reg, &vopts);
}

int cli_load_only(struct cli_ctx *ctx, struct dbreg_project **proj, struct dbreg_registry **reg,
		  struct dbreg_diag_list *project_diags)
{
	*proj = NULL;
	*reg = NULL;
	struct stat st;
	if (stat(ctx->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(ctx->err, "dbreg: no project folder '%s' (-C DIR names one)\n", ctx->dir);
		return DBREG_EUSAGE;
	}
	int rc = dbreg_project_open(proj, ctx->dir, project_diags);
	if (rc < 0)
		return rc;
	rc = dbreg_registry_new(reg);
	if (rc < 0)
		return rc;
	return dbreg_registry_load_project(*reg, *proj);
}

char *cli_state_path(const struct dbreg_project *proj)
{
	size_t size = strlen(proj->dir) + strlen(proj->state_path) + 2;
	char *path = malloc(size);
	if (!path)
		return NULL;
	if (proj->state_path[0] == '/')
		snprintf(path, size, "%s", proj->state_path);
	else
		snprintf(path, size, "%s/%s", proj->dir, proj->state_path);
	return path;
}

/* Validates, with the SQL checks unless the state file says this very
 * registry (same checksum, same dbreg) already passed them: they cost
 * seconds on a large registry and cannot find anything new. */
static int cli_validate_cached(struct cli_ctx *ctx, const struct dbreg_project *proj, struct dbreg_registry *reg,
			       long long loaded_at)
{
	char sum[72], err[512];
	struct dbreg_state *state = NULL;
	char *path = cli_state_path(proj);
	if (!path)
		return DBREG_ENOMEM;
	if (dbreg_state_open(&state, path, err, sizeof(err)) < 0) {
		fprintf(ctx->err, "dbreg: state file: %s\n", err);
		free(path);
		return DBREG_EIO;
	}
	free(path);
	dbreg_registry_checksum(reg, sum);
	/* Keyed by this very binary too: a rebuilt dbreg checks again. */
	dbreg_cache_build_key(sum, sum);
	bool known = dbreg_state_validated(state, sum);
	struct dbreg_validate_opts vopts = {.skip_sql = known, .allow = ctx->allow, .n_allow = ctx->n_allow};
	int rc = dbreg_registry_validate(reg, &vopts);
	/* A run with --allow passed only by bypassing: never a clean record. */
	if (rc == 0 && !known && ctx->n_allow == 0 && dbreg_state_set_validated(state, sum) < 0)
		fprintf(ctx->err, "dbreg: state file: %s\n", dbreg_state_errmsg(state));
	/* So that the next run knows the registry by its files' stat alone
	 * (a registry passed by --allow is no clean one). */
	if (rc == 0 && ctx->n_allow == 0)
		dbreg_cache_registry_store(state, proj, reg, loaded_at);
	dbreg_state_close(state);
	return rc;
}

int cli_open(struct cli_ctx *ctx, struct dbreg_project **proj, struct dbreg_registry **reg, bool check_sql)
{
	struct dbreg_diag_list pdiags = DBREG_DIAG_LIST_INIT;
	long long loaded_at = dbreg_cache_clock();
	int rc = cli_load_only(ctx, proj, reg, &pdiags);
	/* Before anything is read from the target, and before validating. */
	if (rc == 0 && ctx->n_allow)
		rc = cli_require_dev(ctx, *proj, "--allow");
	if (rc == 0 && check_sql) {
		rc = cli_validate_cached(ctx, *proj, *reg, loaded_at);
	} else if (rc == 0) {
		struct dbreg_validate_opts vopts = {.skip_sql = true, .allow = ctx->allow, .n_allow = ctx->n_allow};
		rc = dbreg_registry_validate(*reg, &vopts);
	}
	if (rc == DBREG_EINVALID && ctx->json) {
		/* The same document as validate's, so scripts see the findings. */
		fputs("{\n  \"ok\": false,\n  \"diagnostics\": ", ctx->out);
		dbreg_diag_list_json(ctx->out, *reg ? dbreg_registry_diags(*reg) : &pdiags);
		fputs("\n}\n", ctx->out);
		ctx->json_done = true;
	}
	if (rc < 0) {
		cli_print_diags(ctx, *reg ? dbreg_registry_diags(*reg) : &pdiags);
		/* The state file and usage errors were said where they happened. */
		const char *msg = *reg ? dbreg_registry_errmsg(*reg) : "cannot read the project";
		if (rc != DBREG_EINVALID && rc != DBREG_EUSAGE && msg[0])
			fprintf(ctx->err, "dbreg: %s\n", msg);
	}
	dbreg_diag_list_dispose(&pdiags);
	return rc;
}

void cli_json_end(struct cli_ctx *ctx, bool ok)
{
	if (!ctx->json || !ctx->json_open || ctx->json_done)
		return;
	fprintf(ctx->out, ",\n  \"ok\": %s\n}\n", ok ? "true" : "false");
	ctx->json_done = true;
}

int cli_no_extra_args(struct cli_ctx *ctx, int max)
{
	if (ctx->n_args <= max)
		return 0;
	fprintf(ctx->err, "dbreg: unexpected argument '%s'. Try 'dbreg --help'.\n", ctx->args[max]);
	return DBREG_EUSAGE;
}

void cli_print_diags(struct cli_ctx *ctx, const struct dbreg_diag_list *list)
{
	unsigned flags = ctx->color ? DBREG_PRINT_COLOR : 0;
	for (size_t i = 0; i < list->len; i++) {
		if (ctx->quiet && list->items[i].severity != DBREG_SEV_ERROR)
			continue;
		dbreg_diag_print(ctx->err, &list->items[i], flags);
	}
}

void cli_print_bypasses(struct cli_ctx *ctx, const struct dbreg_diag_list *list)
{
	unsigned flags = ctx->color ? DBREG_PRINT_COLOR : 0;
	for (size_t i = 0; i < list->len && !ctx->quiet; i++)
		if (strcmp(list->items[i].code, "DBR105") == 0)
			dbreg_diag_print(ctx->err, &list->items[i], flags);
}

char *cli_path_join(const char *dir, const char *name)
{
	if (strcmp(dir, ".") == 0 || name[0] == '/')
		return strdup(name);
	size_t n = strlen(dir);
	size_t size = n + strlen(name) + 2;
	char *p = malloc(size);
	if (p)
		snprintf(p, size, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
	return p;
}

int cli_read_file(const char *path, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n - 1, fp);
		n += got;
		if (got == 0)
			break;
		if (cap - n - 1 == 0) {
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	bool failed = !buf || ferror(fp);
	fclose(fp);
	if (failed) {
		free(buf);
		errno = buf ? EIO : ENOMEM;
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}
