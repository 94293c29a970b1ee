/* The validation pipeline, above a plain registry: the dependency graph is
 * built once and shared, then the declaration rules, the static SQL checks
 * and the replay (DBR047) run over what is registered. The registry is the
 * container they read; nothing below this file calls back up into it. */
#include "checkcache.h"
#include "diag.h"
#include "inputs.h"
#include "graph.h"
#include "registry.h"
#include "replay.h"
#include "rules.h"
#include "sqlcheck.h"
#include "util.h"

#include <pg_query.h>
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double validate_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* -v: a full validation, or how many packages re-used a stored result. */
static void validate_log_sql(FILE *log, const struct dbreg_registry *reg, double ms)
{
	size_t stored = 0;
	for (size_t k = 0; k < reg->n_packages; k++) {
		const struct dbreg_check_slot *a = DBREG_CHECK_SLOT(reg, k, DBREG_CC_SQL);
		const struct dbreg_check_slot *b = DBREG_CHECK_SLOT(reg, k, DBREG_CC_REPLAY);
		stored += (a && a->hit) || (b && b->hit);
	}
	if (stored)
		fprintf(log, "  validate: SQL checks of %zu packages, %zu of them from stored results, in %.1f ms\n",
			reg->n_packages, stored, ms);
	else
		fprintf(log, "  validate: SQL checks of all %zu packages (a full validation) in %.1f ms\n",
			reg->n_packages, ms);
}

int dbreg_validate_declarations(struct dbreg_registry *reg, struct dbreg_graph **g)
{
	*g = NULL;
	int rc = dbreg_graph_build(g, reg);
	/* Each check's findings are data; only running out of memory stops
	 * the pipeline (a replay that cannot open its database says so in the
	 * registry's message and leaves DBR047 unchecked). */
	if (rc == 0)
		rc = dbreg_graph_check(reg, *g);
	if (rc == 0)
		rc = dbreg_rules_check(reg);
	return rc == DBREG_ENOMEM ? dbreg_registry_fail(reg, rc, "out of memory") : 0;
}

int dbreg_validate_sql(struct dbreg_registry *reg, const struct dbreg_graph *g)
{
	int rc = dbreg_sqlcheck_registry(reg);
	if (rc != DBREG_ENOMEM)
		rc = dbreg_replay_check(reg, g);
	return rc == DBREG_ENOMEM ? dbreg_registry_fail(reg, rc, "out of memory") : 0;
}

int dbreg_validate_finish(struct dbreg_registry *reg, struct dbreg_graph *g, const struct dbreg_validate_opts *opts)
{
	if (g && g->order) {
		/* The planner's order, kept until a package is added. */
		free(reg->order);
		reg->order = g->order;
		g->order = NULL;
	}
	dbreg_graph_free(g);
	if (opts && opts->n_allow &&
	    dbreg_diag_list_bypass(&reg->diags, 0, opts->allow, opts->n_allow, "--allow on a development target"))
		return dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	dbreg_diag_list_sort(&reg->diags);
	if (reg->diags.errors > 0)
		return dbreg_registry_fail(reg, DBREG_EINVALID, "%zu error%s in the manifests",
					   reg->diags.errors, reg->diags.errors == 1 ? "" : "s");
	return 0;
}

int dbreg_registry_validate(struct dbreg_registry *reg, const struct dbreg_validate_opts *opts)
{
	FILE *log = opts ? opts->log : NULL;
	struct dbreg_graph *g = NULL;
	double t0 = validate_now_ms();
	int rc = dbreg_validate_declarations(reg, &g);
	double t1 = validate_now_ms();
	if (rc == 0 && log)
		fprintf(log, "  validate: graph and rules over %zu packages in %.1f ms\n", reg->n_packages, t1 - t0);
	if (rc == 0 && (opts == NULL || !opts->skip_sql)) {
		unsigned budget = opts && opts->budget_ms ? opts->budget_ms : DBREG_CHECK_BUDGET_MS;
		reg->check_deadline_ms = dbreg_now_ms() + budget;
		rc = dbreg_validate_sql(reg, g);
		/* Said once: the checks that ran out of time skipped the rest. */
		if (rc == 0 && dbreg_past(reg->check_deadline_ms)) {
			struct dbreg_diag_at at = {0};
			if (dbreg_diag_addf(&reg->diags, "DBR044", &at,
					    "the SQL checks ran past their time budget of %.1f s: packages left unchecked",
					    budget / 1000.0) != 0)
				rc = dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
		}
		reg->check_deadline_ms = 0;
		if (rc == 0 && log)
			validate_log_sql(log, reg, validate_now_ms() - t1);
	} else if (rc == 0 && log) {
		fprintf(log, "  validate: SQL checks skipped (this registry passed them before)\n");
	}
	if (rc != 0) {
		dbreg_graph_free(g);
		return rc;
	}
	return dbreg_validate_finish(reg, g, opts);
}

int dbreg_registry_validate_target(struct dbreg_registry *reg, struct dbreg_conn *conn)
{
	size_t errors = reg->diags.errors;
	int rc = dbreg_replay_target(reg, conn);
	if (rc != 0)
		return rc;
	if (reg->diags.errors > errors)
		return dbreg_registry_fail(reg, DBREG_EINVALID, "%zu error%s in the PostgreSQL bodies",
					   reg->diags.errors - errors, reg->diags.errors - errors == 1 ? "" : "s");
	return 0;
}

void dbreg_registry_checksum(const struct dbreg_registry *reg, char out[72])
{
	/* The manifests' own checksums (their bytes) and those of bodies read
	 * from SQL files, in name order, with the versions of dbreg and of the
	 * libraries whose verdicts validate reports. */
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_printf(&b, "dbreg %s sqlite %s pg_query %d\n", DBREG_VERSION_STRING, sqlite3_libversion(),
			 PG_VERSION_NUM);
	for (size_t i = 0; i < reg->n_packages; i++) {
		const struct dbreg_package *p = reg->packages[i];
		dbreg_buf_printf(&b, "%s %s\n", p->file ? p->file : "", p->manifest_sha256);
		for (size_t k = 0; k < p->n_migrations; k++) {
			const struct dbreg_migration *m = &p->migrations[k];
			const struct dbreg_sql *bodies[] = {&m->up, &m->up_postgres, &m->up_sqlite,
							    &m->down, &m->down_postgres, &m->down_sqlite};
			for (size_t j = 0; j < sizeof(bodies) / sizeof(bodies[0]); j++) {
				if (!bodies[j]->text || bodies[j]->doc)
					continue;   /* absent, or inside the manifest: already hashed */
				char sum[72];
				dbreg_sql_checksum(bodies[j]->text, bodies[j]->len, sum);
				dbreg_buf_printf(&b, "%s %zu %zu %s\n", bodies[j]->file ? bodies[j]->file : "", k, j, sum);
			}
		}
	}
	if (b.oom) {
		/* A checksum nobody can match: the cache is never used. */
		snprintf(out, 72, "sha256:unavailable");
	} else {
		dbreg_sha256_hex(b.ptr, b.len, out);
	}
	dbreg_buf_dispose(&b);
}
