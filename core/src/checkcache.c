/* Per-package results of the SQL checks and of the SQLite replay (DBR047)
 * kept in the state file (table cache_checks), so a validation checks again
 * only the packages whose inputs changed since the last run (issue 18).
 *
 * Each result is keyed by a SHA-256 of exactly what it depends on:
 *   both: the build (cache.c's: versions and the binary's own stat, so a
 *         new dbreg trusts nothing), [isolation], and the package's own
 *         contents: its manifest's bytes and every SQL file it names;
 *   both: every package's name, core flag, dependencies and declared
 *         tables (ownership, the isolation rules and DBR047's "declared by
 *         another package" look at other packages' tables);
 *   replay: when its first run on an empty database went through (no
 *         table missing), nothing else; when it did not, the contents of
 *         every package it may pull in then (its dependencies transitively,
 *         and core). Each result is stored under the key that holds for it.
 * --allow is applied after the checks (validate.c), so it is not part of a
 * result. A result is stored only when the package was checked in full
 * (not past the time budget; for the replay, no package of its closure was
 * skipped as broken), and re-emitted diagnostic for diagnostic in the order
 * the check would have added them.
 *
 * What a package declares is a function of its manifest's bytes alone, so
 * the digest of its declarations is kept too (kind "decl", keyed by the
 * build and the manifest's checksum): a run writes the declarations of the
 * packages whose manifest changed only, not of the thousand others. */
#include "checkcache.h"
#include "cache.h"
#include "diag.h"
#include "model.h"
#include "registry.h"
#include "schema.h"
#include "state.h"
#include "util.h"
#include "workers.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cc_kind_name[DBREG_CC_KINDS] = {"sql", "replay"};

static void cc_free(struct dbreg_check_cache *cc)
{
	if (!cc)
		return;
	for (size_t k = 0; k < cc->n; k++)
		for (int j = 0; j < DBREG_CC_KINDS; j++)
			dbreg_diag_list_dispose(&cc->slot[k][j].found);
	free(cc->slot);
	free(cc->pkg);
	free(cc->decl);
	free(cc);
}

/* The package's own inputs: the manifest's bytes and each body read from
 * a file (bodies inside the manifest are in its bytes). */
static void cc_contents(struct dbreg_buf *b, const struct dbreg_package *p)
{
	dbreg_buf_printf(b, "package %s %s\n", p->file ? p->file : "", p->manifest_sha256);
	for (size_t k = 0; k < p->n_migrations; k++) {
		const struct dbreg_migration *m = &p->migrations[k];
		for (size_t j = 0; j < DBREG_MIGRATION_BODIES; j++) {
			const struct dbreg_sql *body = dbreg_migration_file_body(m, j);
			if (!body)
				continue;
			char sum[72];
			dbreg_sha256_hex(body->text, body->len, sum);   /* raw bytes: CR included */
			dbreg_buf_printf(b, "file %zu %zu %s %s\n", k, j, body->file ? body->file : "", sum);
		}
	}
}

/* The digest of what package p declares, as every package's SQL checks
 * see it: name, core flag, dependencies and its tables' schema. */
static int cc_declaration(const struct dbreg_package *p, char out[72])
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_printf(&b, "decl %s %d\n", p->name ? p->name : "", (int)p->core);
	for (size_t d = 0; d < p->n_deps; d++)
		dbreg_buf_printf(&b, "dep %s\n", p->deps[d].name ? p->deps[d].name : "");
	struct dbreg_schema *s = NULL;
	int rc = dbreg_schema_new(&s, DBREG_SCHEMA_DECLARED, DBREG_DIALECT_POSTGRES);
	if (rc == 0)
		rc = dbreg_schema_add_package(s, p);
	if (rc == 0)
		rc = dbreg_schema_write(&b, s);
	dbreg_schema_free(s);
	if (rc == 0 && b.oom)
		rc = DBREG_ENOMEM;
	if (rc == 0)
		dbreg_sha256_hex(b.ptr, b.len, out);
	dbreg_buf_dispose(&b);
	return rc;
}

/* The memo's key for a package: the build and its manifest's bytes. */
static void cc_decl_key(const char *build, const struct dbreg_package *p, char out[72])
{
	char text[256];
	int n = snprintf(text, sizeof text, "decl\n%s\n%s\n", build, p->manifest_sha256);
	dbreg_sha256_hex(text, (size_t)n, out);
}

struct cc_memo {
	struct dbreg_registry *reg;
	struct dbreg_check_cache *cc;
};

/* A stored declaration digest whose key still holds. */
static int cc_memo_row(void *arg, const char *kind, const char *package, const char *key, const void *blob, size_t len)
{
	struct cc_memo *m = arg;
	if (strcmp(kind, "decl") != 0 || len != 71)
		return 0;
	size_t k = dbreg_registry_index(m->reg, package);
	if (k >= m->cc->n || strcmp(key, m->cc->decl[k].key) != 0)
		return 0;
	memcpy(m->cc->decl[k].sum, blob, 71);
	m->cc->decl[k].sum[71] = '\0';
	m->cc->decl[k].stored = true;
	return 0;
}

#define CC_MAX_WORKERS 2

/* The declaration digest of reg->packages[k] when the memo had none
 * (dbreg_worker_fn). */
static int cc_declaration_item(void *arg, size_t worker, size_t k, struct dbreg_diag_list *unused)
{
	(void)worker;
	(void)unused;
	struct dbreg_registry *reg = arg;
	struct dbreg_check_cache *cc = reg->check_cache;
	return cc->decl[k].stored ? 0 : cc_declaration(reg->packages[k], cc->decl[k].sum);
}

/* What every package's SQL checks see of the others: one digest per
 * package, from the memo when its manifest is as it was. */
static int cc_declarations(struct dbreg_registry *reg, struct dbreg_state *st, const char *build,
			   struct dbreg_buf *b)
{
	struct dbreg_check_cache *cc = reg->check_cache;
	for (size_t i = 0; i < reg->n_packages; i++)
		cc_decl_key(build, reg->packages[i], cc->decl[i].key);
	struct cc_memo m = {reg, cc};
	if (dbreg_state_check_results(st, cc_memo_row, &m) < 0)
		for (size_t i = 0; i < reg->n_packages; i++)
			cc->decl[i].stored = false;   /* unreadable: computed, as without it */
	/* Each package's digest is its own: worked out on the workers. */
	struct dbreg_diag_list none = {0};
	int rc = dbreg_workers_run(&none, reg->n_packages, dbreg_workers_count(reg->n_packages, CC_MAX_WORKERS),
				   cc_declaration_item, reg);
	dbreg_diag_list_dispose(&none);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < reg->n_packages; i++)
		dbreg_buf_printf(b, "%s\n", cc->decl[i].sum);
	return b->oom ? DBREG_ENOMEM : 0;
}

/* The key of what the replay of reg->packages[i] may pull in: its own
 * contents with the same key of each dependency, so it changes with
 * anything in its closure (a hash over the dependency graph, each package
 * once). A cycle (no replay runs then) keys as such. */
static void cc_closure_key(const struct dbreg_registry *reg, size_t i, char (*own)[72], char (*closure)[72],
			   unsigned char *state)
{
	if (state[i] == 2)
		return;
	if (state[i] == 1) {
		snprintf(closure[i], 72, "cycle");
		return;
	}
	state[i] = 1;
	const struct dbreg_package *p = reg->packages[i];
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_printf(&b, "%s\n", own[i]);
	for (size_t d = 0; d < p->n_deps; d++) {
		size_t j = dbreg_registry_index(reg, p->deps[d].name);
		if (j >= reg->n_packages || j == i)
			continue;
		cc_closure_key(reg, j, own, closure, state);
		dbreg_buf_printf(&b, "dep %s %s\n", p->deps[d].name, state[j] == 2 ? closure[j] : "cycle");
	}
	if (b.oom)
		snprintf(closure[i], 72, "sha256:unavailable");
	else
		dbreg_sha256_hex(b.ptr, b.len, closure[i]);
	dbreg_buf_dispose(&b);
	state[i] = 2;
}

static void cc_key(const struct dbreg_buf *b, char out[72])
{
	if (b->oom)
		snprintf(out, 72, "sha256:unavailable");   /* matches nothing stored */
	else
		dbreg_sha256_hex(b->ptr, b->len, out);
}

/* The stored form of a list: per diagnostic its severity, line, column and
 * eight strings, each a 32-bit length (UINT32_MAX: none) and its bytes. */
static void cc_put_u32(struct dbreg_buf *b, uint32_t v)
{
	dbreg_buf_append(b, (const char *)&v, sizeof v);
}

static void cc_put_str(struct dbreg_buf *b, const char *s)
{
	cc_put_u32(b, s ? (uint32_t)strlen(s) : UINT32_MAX);
	if (s)
		dbreg_buf_append(b, s, strlen(s));
}

static void cc_encode(struct dbreg_buf *b, const struct dbreg_diag_list *l)
{
	cc_put_u32(b, (uint32_t)l->len);
	for (size_t i = 0; i < l->len; i++) {
		const struct dbreg_diag *d = &l->items[i];
		cc_put_u32(b, (uint32_t)d->severity);
		cc_put_u32(b, d->line);
		cc_put_u32(b, d->column);
		const char *s[] = {d->code, d->file, d->package, d->table, d->column_name, d->migration, d->message, d->hint};
		for (size_t k = 0; k < sizeof s / sizeof s[0]; k++)
			cc_put_str(b, s[k]);
	}
}

struct cc_reader {
	const unsigned char *p, *end;
	bool bad;
};

static uint32_t cc_u32(struct cc_reader *r)
{
	uint32_t v = 0;
	if ((size_t)(r->end - r->p) < sizeof v) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, sizeof v);
	r->p += sizeof v;
	return v;
}

/* A malloc'd copy of the next string, NULL for none (or when bad). */
static char *cc_str(struct cc_reader *r)
{
	uint32_t n = cc_u32(r);
	if (r->bad || n == UINT32_MAX)
		return NULL;
	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		return NULL;
	}
	char *s = dbreg_strndup((const char *)r->p, n);
	if (!s)
		r->bad = true;
	r->p += n;
	return s;
}

/* Reads one list (as cc_encode wrote it) into out; r->bad when the bytes
 * are not one. Returns 0 or DBREG_ENOMEM. */
static int cc_read_list(struct cc_reader *rd, struct dbreg_diag_list *out)
{
	struct cc_reader r = *rd;
	uint32_t n = cc_u32(&r);
	int rc = 0;
	for (uint32_t i = 0; i < n && !r.bad && rc == 0; i++) {
		struct dbreg_diag d = {0};
		d.severity = cc_u32(&r) == DBREG_SEV_ERROR ? DBREG_SEV_ERROR : DBREG_SEV_WARNING;
		d.line = cc_u32(&r);
		d.column = cc_u32(&r);
		char *code = cc_str(&r);
		d.file = cc_str(&r);
		d.package = cc_str(&r);
		d.table = cc_str(&r);
		d.column_name = cc_str(&r);
		d.migration = cc_str(&r);
		d.message = cc_str(&r);
		d.hint = cc_str(&r);
		enum dbreg_severity sev;
		if (!r.bad && code && d.message && dbreg_diag_title(code, &sev)) {
			d.code = code;
			rc = dbreg_diag_copy(out, &d);
		} else {
			r.bad = true;
		}
		free(code);
		free(d.file);
		free(d.package);
		free(d.table);
		free(d.column_name);
		free(d.migration);
		free(d.message);
		free(d.hint);
	}
	*rd = r;
	return rc;
}

/* Decodes into out; DBREG_EINVALID for a blob this build did not write
 * (the caller checks again), DBREG_ENOMEM. */
static int cc_decode(const void *blob, size_t len, struct dbreg_diag_list *out)
{
	struct cc_reader r = {blob, (const unsigned char *)blob + len, false};
	int rc = cc_read_list(&r, out);
	if (rc == 0 && (r.bad || r.p != r.end))
		rc = DBREG_EINVALID;
	return rc;
}

struct cc_load {
	struct dbreg_registry *reg;
	struct dbreg_check_cache *cc;
	int rc;
};

static int cc_row(void *arg, const char *kind, const char *package, const char *key, const void *blob, size_t len)
{
	struct cc_load *l = arg;
	int j = strcmp(kind, cc_kind_name[DBREG_CC_SQL]) == 0 ? DBREG_CC_SQL
		: strcmp(kind, cc_kind_name[DBREG_CC_REPLAY]) == 0 ? DBREG_CC_REPLAY
								   : -1;
	size_t k = dbreg_registry_index(l->reg, package);
	if (j < 0 || k >= l->cc->n)
		return 0;
	struct dbreg_check_slot *s = &l->cc->slot[k][j];
	bool alone = j == DBREG_CC_REPLAY && strcmp(key, s->key_alone) == 0;
	if (!alone && strcmp(key, s->key) != 0)
		return 0;
	s->hit_alone = alone;
	int rc = cc_decode(blob, len, &s->found);
	if (rc == 0) {
		s->hit = true;
	} else {
		dbreg_diag_list_dispose(&s->found);
		if (rc == DBREG_ENOMEM)
			return l->rc = rc;
	}
	return 0;
}

int dbreg_check_cache_lookup(struct dbreg_registry *reg, struct dbreg_state *st)
{
	if (reg->check_cache_free)
		reg->check_cache_free(reg->check_cache);
	reg->check_cache = NULL;
	struct dbreg_check_cache *cc = calloc(1, sizeof *cc);
	size_t n = reg->n_packages;
	if (!cc || !(cc->pkg = calloc(n + 1, sizeof *cc->pkg)) || !(cc->slot = calloc(n + 1, sizeof *cc->slot)) ||
	    !(cc->decl = calloc(n + 1, sizeof *cc->decl))) {
		cc_free(cc);
		return DBREG_ENOMEM;
	}
	cc->n = n;
	reg->check_cache = cc;
	reg->check_cache_free = cc_free;
	/* What both kinds share, and what the SQL checks see of all packages. */
	struct dbreg_buf common = DBREG_BUF_INIT, decl = DBREG_BUF_INIT;
	char build[72], decl_sum[72];
	dbreg_cache_build_key("per-package checks", build);
	dbreg_buf_printf(&common, "%s\nisolation %d %s %d\n", build, (int)reg->isolation.row_level_security,
			 reg->isolation.setting, (int)reg->isolation.workspace_keys);
	int rc = cc_declarations(reg, st, build, &decl);
	cc_key(&decl, decl_sum);
	dbreg_buf_dispose(&decl);
	/* Each package's own contents, hashed once. */
	char (*own)[72] = calloc(n + 1, sizeof *own), (*closure)[72] = calloc(n + 1, sizeof *closure);
	unsigned char *state = calloc(n + 1, 1);
	if (!own || !closure || !state)
		rc = DBREG_ENOMEM;
	for (size_t k = 0; k < n && rc == 0; k++) {
		struct dbreg_buf b = DBREG_BUF_INIT;
		cc_contents(&b, reg->packages[k]);
		cc_key(&b, own[k]);
		dbreg_buf_dispose(&b);
		cc->pkg[k] = reg->packages[k];
	}
	/* Every core package, which any replay may use. */
	struct dbreg_buf cores = DBREG_BUF_INIT;
	char core_sum[72];
	for (size_t k = 0; k < n && rc == 0; k++)
		if (reg->packages[k]->core)
			dbreg_buf_printf(&cores, "%s\n", own[k]);
	cc_key(&cores, core_sum);
	dbreg_buf_dispose(&cores);
	for (size_t k = 0; k < n && rc == 0; k++) {
		struct dbreg_buf b = DBREG_BUF_INIT;
		dbreg_buf_printf(&b, "sql\n%s%s\n%s\n", common.ptr ? common.ptr : "", decl_sum, own[k]);
		cc_key(&b, cc->slot[k][DBREG_CC_SQL].key);
		dbreg_buf_dispose(&b);
		/* The replay: the package with what it may pull in (its closure
		 * and core), or alone. */
		cc_closure_key(reg, k, own, closure, state);
		dbreg_buf_printf(&b, "replay\n%s%s\n%s\ncore %s\n", common.ptr ? common.ptr : "", decl_sum, closure[k],
				 core_sum);
		cc_key(&b, cc->slot[k][DBREG_CC_REPLAY].key);
		dbreg_buf_dispose(&b);
		dbreg_buf_printf(&b, "replay alone\n%s%s\n%s\n", common.ptr ? common.ptr : "", decl_sum, own[k]);
		cc_key(&b, cc->slot[k][DBREG_CC_REPLAY].key_alone);
		dbreg_buf_dispose(&b);
	}
	if (common.oom)
		rc = DBREG_ENOMEM;
	dbreg_buf_dispose(&common);
	free(own);
	free(closure);
	free(state);
	struct cc_load l = {reg, cc, 0};
	if (rc == 0 && dbreg_state_check_results(st, cc_row, &l) < 0)
		rc = DBREG_EIO;   /* an unreadable cache: everything is checked */
	if (rc == 0)
		rc = l.rc;
	if (rc == DBREG_EIO) {
		for (size_t k = 0; k < n; k++)
			for (int j = 0; j < DBREG_CC_KINDS; j++) {
				cc->slot[k][j].hit = false;
				dbreg_diag_list_dispose(&cc->slot[k][j].found);
			}
		rc = 0;
	}
	return rc;
}

int dbreg_check_cache_load(struct dbreg_registry *reg, struct dbreg_state *st)
{
	int rc = dbreg_check_cache_lookup(reg, st);
	return rc == DBREG_ENOMEM ? dbreg_registry_fail(reg, rc, "out of memory") : rc;
}

void dbreg_check_cache_counts(const struct dbreg_registry *reg, size_t *sql_checked, size_t *replay_checked,
			      size_t *reused)
{
	const struct dbreg_check_cache *cc = reg->check_cache;
	*sql_checked = *replay_checked = *reused = 0;
	for (size_t k = 0; cc && k < cc->n; k++) {
		*sql_checked += cc->slot[k][DBREG_CC_SQL].captured;
		*replay_checked += cc->slot[k][DBREG_CC_REPLAY].captured;
		*reused += cc->slot[k][DBREG_CC_SQL].hit + cc->slot[k][DBREG_CC_REPLAY].hit;
	}
}

int dbreg_check_cache_save(struct dbreg_registry *reg, struct dbreg_state *st)
{
	struct dbreg_check_cache *cc = reg->check_cache;
	if (!cc)
		return 0;
	bool any = false;
	for (size_t k = 0; k < cc->n && !any; k++)
		any = (!cc->decl[k].stored && cc->decl[k].sum[0]) || cc->slot[k][DBREG_CC_SQL].captured ||
		      cc->slot[k][DBREG_CC_REPLAY].captured;
	if (!any)
		return 0;
	int rc = dbreg_state_batch_begin(st);
	for (size_t k = 0; k < cc->n && rc == 0; k++) {
		const struct dbreg_package *p = reg->packages[k];
		if (!cc->decl[k].stored && cc->decl[k].sum[0] && p->name && cc->pkg[k] == p)
			rc = dbreg_state_check_result_put(st, "decl", p->name, cc->decl[k].key, cc->decl[k].sum, 71);
	}
	for (size_t k = 0; k < cc->n && rc == 0; k++)
		for (int j = 0; j < DBREG_CC_KINDS && rc == 0; j++) {
			const struct dbreg_check_slot *s = &cc->slot[k][j];
			const struct dbreg_package *p = reg->packages[k];
			if (!s->captured || !p->name || cc->pkg[k] != p)
				continue;
			struct dbreg_buf b = DBREG_BUF_INIT;
			cc_encode(&b, &s->found);
			rc = b.oom ? DBREG_ENOMEM
				   : dbreg_state_check_result_put(st, cc_kind_name[j], p->name, s->alone ? s->key_alone : s->key,
								 b.ptr, b.len);
			dbreg_buf_dispose(&b);
		}
	if (rc == 0)
		return dbreg_state_batch_commit(st);
	dbreg_state_batch_commit(st);
	return rc;
}


/* ---- the planner's warnings (kind "warn") ----------------------------------
 * What dbreg_plan_build warns about in a step (DBR103, from the body read
 * alone with the PostgreSQL grammar: dbreg_sqlcheck_text) is a function of
 * the body's bytes and of this dbreg binary only; its place in the manifest
 * is worked out after. So each package's row holds, under the build's key,
 * the warnings of the bodies checked before, each under the SHA-256 of its
 * raw bytes (checkcache.h): a body whose bytes changed has another digest
 * and is checked again, and another binary matches no row. The rows are
 * read when the planner first asks (a plan with nothing to run reads none). */

static void pm_entries_free(struct dbreg_plan_memo_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		dbreg_diag_list_dispose(&v[i].found);
	free(v);
}

void dbreg_plan_memo_free(struct dbreg_plan_memo *m)
{
	if (!m)
		return;
	for (size_t k = 0; k < m->n; k++) {
		pm_entries_free(m->p[k].stored, m->p[k].n_stored);
		pm_entries_free(m->p[k].fresh, m->p[k].n_fresh);
		free(m->p[k].slots);
	}
	free(m->p);
	free(m->pkg);
	free(m);
}

static int pm_sum_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* A row: a count, then per body its digest (71 bytes) and its list as
 * cc_encode writes it. DBREG_EINVALID for a blob this build did not write. */
static int pm_decode(const void *blob, size_t len, struct dbreg_plan_memo_package *p)
{
	struct cc_reader r = {blob, (const unsigned char *)blob + len, false};
	uint32_t n = cc_u32(&r);
	if (r.bad || n > len / 75)   /* each entry takes at least 75 bytes */
		return DBREG_EINVALID;
	struct dbreg_plan_memo_entry *v = calloc((size_t)n + 1, sizeof *v);
	if (!v)
		return DBREG_ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0 && !r.bad; i++) {
		if ((size_t)(r.end - r.p) < 71) {
			r.bad = true;
			break;
		}
		memcpy(v[i].sum, r.p, 71);
		r.p += 71;
		rc = cc_read_list(&r, &v[i].found);
	}
	if (rc == 0 && (r.bad || r.p != r.end))
		rc = DBREG_EINVALID;
	if (rc != 0) {
		pm_entries_free(v, n);
		return rc;
	}
	qsort(v, n, sizeof *v, pm_sum_cmp);   /* the digest comes first in an entry */
	p->stored = v;
	p->n_stored = n;
	return 0;
}

static int pm_row(void *arg, const char *kind, const char *package, const char *key, const void *blob, size_t len)
{
	struct dbreg_plan_memo *m = arg;
	if (strcmp(kind, "warn") != 0 || strcmp(key, m->key) != 0)
		return 0;
	size_t k = dbreg_registry_index(m->reg, package);
	if (k >= m->n || m->p[k].stored)
		return 0;
	int rc = pm_decode(blob, len, &m->p[k]);
	return rc == DBREG_ENOMEM ? rc : 0;   /* a row this build cannot read: its bodies are checked again */
}

/* dbreg_plan_memo.read: the rows, once. An unreadable cache is an empty one. */
static int pm_read(struct dbreg_plan_memo *m)
{
	if (m->read_done)
		return 0;
	m->read_done = true;
	int rc = m->st ? dbreg_state_check_results(m->st, pm_row, m) : 0;
	if (rc == 0 || rc == DBREG_ENOMEM)
		return rc;
	for (size_t k = 0; k < m->n; k++) {
		pm_entries_free(m->p[k].stored, m->p[k].n_stored);
		m->p[k].stored = NULL;
		m->p[k].n_stored = 0;
	}
	return 0;
}

int dbreg_plan_memo_new(struct dbreg_plan_memo **out, struct dbreg_state *st, const struct dbreg_registry *reg)
{
	*out = NULL;
	struct dbreg_plan_memo *m = calloc(1, sizeof *m);
	size_t n = reg->n_packages;
	if (!m || !(m->p = calloc(n + 1, sizeof *m->p)) || !(m->pkg = calloc(n + 1, sizeof *m->pkg))) {
		dbreg_plan_memo_free(m);
		return DBREG_ENOMEM;
	}
	m->st = st;
	m->reg = reg;
	m->n = n;
	m->read = pm_read;
	for (size_t k = 0; k < n; k++)
		m->pkg[k] = reg->packages[k];
	dbreg_cache_build_key("plan warnings", m->key);
	*out = m;
	return 0;
}

static void pm_put_entry(struct dbreg_buf *b, const struct dbreg_plan_memo_entry *e, uint32_t *count)
{
	dbreg_buf_append(b, e->sum, 71);
	cc_encode(b, &e->found);
	(*count)++;
}

/* One package's row: what this run checked, and what was stored of bodies
 * the package still has (an applied migration is not planned, but the next
 * target may need it). A body is in one of the two lists only: a fresh
 * entry is made when none was stored. */
static int pm_save_package(struct dbreg_plan_memo *m, size_t k)
{
	const struct dbreg_plan_memo_package *p = &m->p[k];
	const struct dbreg_package *pkg = m->reg->packages[k];
	char (*current)[72] = calloc(pkg->n_migrations + 1, sizeof *current);
	if (!current)
		return DBREG_ENOMEM;
	size_t n_current = 0;
	for (size_t i = 0; p->n_stored && i < pkg->n_migrations; i++) {
		const struct dbreg_sql *body = dbreg_plan_memo_checked(&pkg->migrations[i]);
		if (body)
			dbreg_plan_memo_key(body, current[n_current++]);
	}
	qsort(current, n_current, sizeof *current, pm_sum_cmp);
	struct dbreg_buf b = DBREG_BUF_INIT;
	uint32_t count = 0;
	cc_put_u32(&b, 0);
	for (size_t i = 0; i < p->n_fresh; i++)
		pm_put_entry(&b, &p->fresh[i], &count);
	for (size_t i = 0; i < p->n_stored; i++)
		if (bsearch(p->stored[i].sum, current, n_current, sizeof *current, pm_sum_cmp))
			pm_put_entry(&b, &p->stored[i], &count);
	free(current);
	if (!b.oom)
		memcpy(b.ptr, &count, sizeof count);
	int rc = b.oom ? DBREG_ENOMEM : dbreg_state_check_result_put(m->st, "warn", pkg->name, m->key, b.ptr, b.len);
	dbreg_buf_dispose(&b);
	return rc;
}

int dbreg_plan_memo_save(struct dbreg_plan_memo *m)
{
	bool any = false;
	for (size_t k = 0; m && m->st && k < m->n && !any; k++)
		any = m->p[k].n_fresh > 0;
	if (!any)
		return 0;
	int rc = dbreg_state_batch_begin(m->st);
	for (size_t k = 0; k < m->n && rc == 0; k++)
		if (m->p[k].n_fresh && m->pkg[k] == m->reg->packages[k] && m->reg->packages[k]->name)
			rc = pm_save_package(m, k);
	if (rc == 0)
		return dbreg_state_batch_commit(m->st);
	dbreg_state_batch_commit(m->st);
	return rc;
}
