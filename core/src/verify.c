/* verify: the target's catalog against the declared tables. Both are read
 * into the schema model and compared by the one differ (schemadiff.h);
 * this file only renders each difference as a problem {table, column,
 * message}. */
#include "isolation.h"
#include "registry.h"
#include "sandbox.h"
#include "schemadiff.h"
#include "semver.h"
#include "state.h"
#include "util.h"
#include "dbreg/driver.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void dbreg_verify_result_dispose(struct dbreg_verify_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->len; i++) {
		free(r->items[i].table);
		free(r->items[i].column);
		free(r->items[i].message);
	}
	free(r->items);
	for (size_t i = 0; i < r->n_not_compared; i++) {
		free(r->not_compared[i].package);
		free(r->not_compared[i].version);
		free(r->not_compared[i].reason);
	}
	free(r->not_compared);
	memset(r, 0, sizeof(*r));
}

static int verify_add(struct dbreg_verify_result *r, const char *table, const char *column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int verify_add(struct dbreg_verify_result *r, const char *table, const char *column, const char *fmt, ...)
{
	if (r->len == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct dbreg_problem *v = realloc(r->items, cap * sizeof(*v));
		if (!v)
			return DBREG_ENOMEM;
		r->items = v;
		r->cap = cap;
	}
	struct dbreg_buf b = DBREG_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	dbreg_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	struct dbreg_problem *p = &r->items[r->len];
	p->table = dbreg_strdup(table);
	p->column = dbreg_strdup(column);
	p->message = dbreg_buf_detach(&b);
	if (!p->message || (table && !p->table) || (column && !p->column)) {
		free(p->table);
		free(p->column);
		free(p->message);
		return DBREG_ENOMEM;
	}
	r->len++;
	return 0;
}

static int verify_render_default(struct dbreg_verify_result *r, const char *tn, const struct dbreg_sdiff *diff)
{
	const struct dbreg_schema_column *w = diff->want_col, *h = diff->have_col;
	if (dbreg_sdiff_lost_sequence(diff))
		return verify_add(r, tn, w->name,
				  "column %s: no sequence fills it (%s, not an identity column); declared %s", w->name,
				  h->def.text ? h->def.text : "no default", w->type);
	if (w->def.kind == DBREG_DV_NONE)
		return verify_add(r, tn, w->name, "column %s: default is %s, declared none", w->name, h->def.text);
	struct dbreg_buf d = DBREG_BUF_INIT;
	dbreg_schema_default_sql(&d, &w->def);
	int rc = h->def.kind == DBREG_DV_NONE
			 ? verify_add(r, tn, w->name, "column %s: no default, declared %s", w->name, d.ptr ? d.ptr : "")
			 : verify_add(r, tn, w->name, "column %s: default is %s, declared %s", w->name, h->def.text,
				      d.ptr ? d.ptr : "");
	if (d.oom)
		rc = DBREG_ENOMEM;
	dbreg_buf_dispose(&d);
	return rc;
}

/* Renders one difference between the declared tables (want) and the
 * target (have) as a problem. */
static int verify_render(struct dbreg_verify_result *r, const struct dbreg_sdiff *d, enum dbreg_dialect dialect)
{
	const struct dbreg_schema_table *t = d->want_table;
	const char *tn = t ? t->name : d->have_table->name;
	const struct dbreg_schema_column *w = d->want_col, *h = d->have_col;
	const struct dbreg_schema_fkey *wf = d->want_fk, *hf = d->have_fk;
	char *a = NULL, *b = NULL;
	int rc = 0;
	switch (d->kind) {
	case DBREG_SDIFF_TABLE_MISSING:
		rc = verify_add(r, tn, NULL, "table %s of %s is missing", tn, t->package ? t->package : "?");
		break;
	case DBREG_SDIFF_TABLE_EXTRA:
		rc = verify_add(r, tn, NULL, "table %s is not declared by any package", tn);
		break;
	case DBREG_SDIFF_COLUMN_MISSING:
		rc = verify_add(r, tn, w->name, "column %s is missing", w->name);
		break;
	case DBREG_SDIFF_COLUMN_EXTRA:
		rc = verify_add(r, tn, h->name, "column %s is not declared", h->name);
		break;
	case DBREG_SDIFF_COLUMN_TYPE:
		if (dialect == DBREG_DIALECT_SQLITE) {
			rc = verify_add(r, tn, w->name, "column %s has type %s (affinity %s); declared %s needs affinity %s",
					w->name, h->type ? h->type : "", dbreg_type_affinity(h->type), w->type,
					w->ptype.info ? w->ptype.info->sqlite : "?");
		} else {
			char want[128];
			dbreg_type_pg_spelling(&w->ptype, want, sizeof want);
			rc = verify_add(r, tn, w->name, "column %s has type %s; declared %s (%s)", w->name,
					h->type ? h->type : "", w->type, want);
		}
		break;
	case DBREG_SDIFF_COLUMN_NULLABILITY:
		rc = w->not_null ? verify_add(r, tn, w->name, "column %s allows NULL; declared not null", w->name)
				 : verify_add(r, tn, w->name, "column %s is NOT NULL; declared nullable", w->name);
		break;
	case DBREG_SDIFF_COLUMN_DEFAULT:
		rc = verify_render_default(r, tn, d);
		break;
	case DBREG_SDIFF_PRIMARY_KEY:
		a = dbreg_schema_list_text(t->primary_key, t->n_primary_key);
		b = dbreg_schema_list_text(d->have_table->primary_key, d->have_table->n_primary_key);
		rc = verify_add(r, tn, NULL, "primary key is %s; declared %s",
				d->have_table->n_primary_key ? (b ? b : "") : "missing", a ? a : "");
		break;
	case DBREG_SDIFF_UNIQUE_MISSING:
		a = dbreg_schema_list_text(d->want_uq->columns, d->want_uq->n_columns);
		rc = d->want_uq->from_column
			     ? verify_add(r, tn, d->want_uq->columns[0], "unique constraint on %s is missing",
					  d->want_uq->columns[0])
			     : verify_add(r, tn, NULL, "unique constraint %s is missing", a ? a : "");
		break;
	case DBREG_SDIFF_FKEY_MISSING:
		rc = verify_add(r, tn, wf->columns[0], "foreign key %s -> %s.%s is missing", wf->columns[0], wf->ref_table,
				wf->ref_columns[0] ? wf->ref_columns[0] : "?");
		break;
	case DBREG_SDIFF_FKEY_TARGET:
		rc = verify_add(r, tn, wf->columns[0], "foreign key %s references %s.%s; declared %s.%s", wf->columns[0],
				hf->ref_table ? hf->ref_table : "?", hf->ref_columns[0] ? hf->ref_columns[0] : "?",
				wf->ref_table, wf->ref_columns[0] ? wf->ref_columns[0] : "?");
		break;
	case DBREG_SDIFF_FKEY_ACTION:
		rc = verify_add(r, tn, wf->columns[0], "foreign key %s -> %s is ON %s %s; declared %s", wf->columns[0],
				wf->ref_table, d->on_update ? "UPDATE" : "DELETE", d->on_update ? hf->on_update : hf->on_delete,
				d->on_update ? wf->on_update : wf->on_delete);
		break;
	case DBREG_SDIFF_FKEY_INVALID:
		rc = verify_add(r, tn, wf->columns[0],
				"foreign key %s -> %s is NOT VALID: the rows there when it was added were never checked "
				"(ALTER TABLE ... VALIDATE CONSTRAINT checks them)",
				wf->columns[0], wf->ref_table);
		break;
	case DBREG_SDIFF_FKEY_EXTRA:
		a = dbreg_schema_list_text(hf->columns, hf->n_columns);
		rc = verify_add(r, tn, hf->n_columns == 1 ? hf->columns[0] : NULL, "foreign key %s -> %s is not declared",
				a ? a : "", hf->ref_table ? hf->ref_table : "?");
		break;
	case DBREG_SDIFF_INDEX_MISSING:
		rc = verify_add(r, tn, NULL, "index %s is missing", d->want_ix->name);
		break;
	case DBREG_SDIFF_INDEX_NAME:
		rc = verify_add(r, tn, NULL, "index %s is missing; the index on the same columns is named %s",
				d->want_ix->name, d->have_ix->name);
		break;
	case DBREG_SDIFF_INDEX_COLUMNS:
		a = dbreg_schema_list_text(d->want_ix->columns, d->want_ix->n_columns);
		b = dbreg_schema_list_text(d->have_ix->columns, d->have_ix->n_columns);
		rc = verify_add(r, tn, NULL, "index %s is on %s; declared %s", d->want_ix->name, b ? b : "", a ? a : "");
		break;
	case DBREG_SDIFF_INDEX_UNIQUE:
		rc = verify_add(r, tn, NULL, "index %s is %sunique; declared %sunique", d->want_ix->name,
				d->have_ix->unique ? "" : "not ", d->want_ix->unique ? "" : "not ");
		break;
	case DBREG_SDIFF_INDEX_EXTRA:
		a = dbreg_schema_list_text(d->have_ix->columns, d->have_ix->n_columns);
		rc = verify_add(r, tn, NULL, "index %s %s is not declared", d->have_ix->name ? d->have_ix->name : "?",
				a ? a : "");
		break;
	case DBREG_SDIFF_INDEX_INVALID:
		rc = verify_add(r, tn, NULL,
				"index %s is INVALID (a failed CREATE INDEX CONCURRENTLY): drop it and run the migration again",
				d->have_ix->name ? d->have_ix->name : "?");
		break;
	}
	free(a);
	free(b);
	return rc;
}

static bool verify_declared(const struct dbreg_registry *reg, const char *name)
{
	for (size_t p = 0; p < reg->n_packages; p++)
		if (dbreg_package_table(reg->packages[p], name))
			return true;
	return false;
}

/* The indexes with the application's prefix on a table verify leaves
 * alone (another program's, undeclared): the prefix says a package made
 * them, and none declares them. */
static int verify_prefixed_indexes(struct dbreg_verify_result *r, const struct dbreg_schema_table *t)
{
	int rc = 0;
	for (size_t i = 0; i < t->n_indexes && rc == 0; i++) {
		const struct dbreg_schema_index *ix = &t->indexes[i];
		if (!ix->name || strncmp(ix->name, "ydtb_", 5) != 0)
			continue;
		char *cols = dbreg_schema_list_text(ix->columns, ix->n_columns);
		rc = verify_add(r, t->name, NULL, "index %s %s on table %s is not declared by any package", ix->name,
				cols ? cols : "", t->name);
		free(cols);
	}
	return rc;
}

static int verify_not_compared(struct dbreg_verify_result *r, const char *package, const char *version,
			       const char *reason)
{
	struct dbreg_not_compared *v = realloc(r->not_compared, (r->n_not_compared + 1) * sizeof *v);
	if (!v)
		return DBREG_ENOMEM;
	r->not_compared = v;
	struct dbreg_not_compared *n = &v[r->n_not_compared];
	n->package = dbreg_strdup(package);
	n->version = dbreg_strdup(version);
	n->reason = dbreg_strdup(reason);
	if (!n->package || !n->version || !n->reason) {
		free(n->package);
		free(n->version);
		free(n->reason);
		return DBREG_ENOMEM;
	}
	r->n_not_compared++;
	return 0;
}

/* Whether [p, ...) starts with the word w (case-insensitive); *p moves past
 * it and the blanks after. */
static bool verify_word_at(const char **p, const char *w)
{
	size_t n = strlen(w);
	if (strncasecmp(*p, w, n) != 0 || isalnum((unsigned char)(*p)[n]) || (*p)[n] == '_')
		return false;
	*p += n;
	while (isspace((unsigned char)**p))
		(*p)++;
	return true;
}

/* Whether an SQL body creates `table` (CREATE [UNLOGGED|TEMP] TABLE [IF NOT
 * EXISTS] [schema.]name, quoted or not): a scan of the text, enough to
 * tell which declared tables a version's migrations build. */
static bool verify_body_creates(const char *sql, const char *table)
{
	size_t n = strlen(table);
	for (const char *p = sql; p && *p; p++) {
		if (p != sql && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		const char *q = p;
		if (!verify_word_at(&q, "create"))
			continue;
		if (!verify_word_at(&q, "unlogged") && !verify_word_at(&q, "temporary"))
			verify_word_at(&q, "temp");
		if (!verify_word_at(&q, "table"))
			continue;
		if (verify_word_at(&q, "if") && !(verify_word_at(&q, "not") && verify_word_at(&q, "exists")))
			continue;
		/* The last part of a qualified name is the table's. */
		for (;;) {
			bool quoted = *q == '"';
			const char *start = q + quoted, *e = start;
			while (*e && (quoted ? *e != '"' : (isalnum((unsigned char)*e) || *e == '_')))
				e++;
			const char *after = e + (quoted && *e == '"');
			if (*after == '.') {
				q = after + 1;
				continue;
			}
			if ((size_t)(e - start) == n && strncasecmp(start, table, n) == 0)
				return true;
			break;
		}
	}
	return false;
}

/* Whether a migration at or below `version` creates `table` in its up body
 * for the dialect. */
static bool verify_created_by(const struct dbreg_package *pkg, const struct dbreg_semver *version, const char *table,
			      enum dbreg_dialect dialect)
{
	for (size_t i = 0; i < pkg->n_migrations; i++) {
		const struct dbreg_migration *m = &pkg->migrations[i];
		if (!m->version_ok || dbreg_semver_compare(&m->version, version) > 0)
			continue;
		const struct dbreg_sql *b = dbreg_migration_body(m, dialect, true);
		if (b && b->text && verify_body_creates(b->text, table))
			return true;
	}
	return false;
}

/* Without a recorded schema of the installed version, the one thing known
 * about it is which declared tables its migrations create: those must
 * exist. Columns, keys and indexes are not compared (the reason says so). */
static int verify_presence_only(struct dbreg_verify_result *out, struct dbreg_schema *have,
				const struct dbreg_package *pkg, const char *installed, enum dbreg_dialect dialect,
				const char *why)
{
	struct dbreg_semver v = DBREG_SEMVER_INIT;
	int prc = dbreg_semver_parse(&v, installed, NULL);
	if (prc == -2)
		return DBREG_ENOMEM;
	int rc = 0;
	for (size_t i = 0; prc == 0 && rc == 0 && i < pkg->n_tables; i++) {
		const char *t = pkg->tables[i].name;
		if (t && !dbreg_schema_table(have, t) && verify_created_by(pkg, &v, t, dialect))
			rc = verify_add(out, t, NULL, "table %s of %s is missing (its migrations up to %s create it)", t,
					pkg->name, installed);
	}
	dbreg_semver_dispose(&v);
	if (rc)
		return rc;
	char reason[512];
	snprintf(reason, sizeof reason,
		 "%s; only the presence of the tables its migrations up to %s create was checked", why, installed);
	return verify_not_compared(out, pkg->name, installed, reason);
}

/* A package at an older version than declared, with no schema of it
 * recorded: its migrations up to that version, replayed on an in-memory
 * database (a SQLite target) or in a scratch schema on the target's server
 * (a PostgreSQL one, when replay_url is given: an SQLite replay does not
 * have PostgreSQL's types), say what it holds. Adds those tables to want
 * and returns 0; 1 when that cannot tell (no replay_url, a body that
 * fails, a server that refuses the scratch schema), why saying so. */
static int verify_replayed(struct dbreg_schema *want, const struct dbreg_registry *reg, const struct dbreg_package *pkg,
			   const char *installed, enum dbreg_dialect dialect, const char *replay_url, char *why,
			   size_t size)
{
	if (dialect != DBREG_DIALECT_SQLITE && !replay_url) {
		size_t n = strlen(why);
		snprintf(why + n, size - n, "; its migrations up to %s were not replayed on the server", installed);
		return 1;
	}
	struct dbreg_semver v = DBREG_SEMVER_INIT;
	int prc = dbreg_semver_parse(&v, installed, NULL);
	if (prc != 0) {
		dbreg_semver_dispose(&v);
		return prc == -2 ? DBREG_ENOMEM : 1;
	}
	struct dbreg_sandbox sb;
	struct dbreg_schema *made = NULL;
	struct dbreg_buf text = DBREG_BUF_INIT;
	int rc = dbreg_sandbox_open(&sb, dialect == DBREG_DIALECT_SQLITE ? NULL : replay_url);
	if (rc == 0)
		rc = dbreg_sandbox_package_schema(&sb, &made, reg, pkg, &v);
	if (rc == 0)
		rc = dbreg_schema_write(&text, made);
	if (rc == 0)
		rc = dbreg_schema_add_text(want, text.ptr ? text.ptr : "", text.len, pkg->name);
	else if (rc != DBREG_ENOMEM) {
		size_t n = strlen(why);
		snprintf(why + n, size - n, "; its migrations up to %s cannot be replayed: %s", installed, sb.err);
	}
	dbreg_sandbox_close(&sb);
	dbreg_schema_free(made);
	dbreg_buf_dispose(&text);
	dbreg_semver_dispose(&v);
	return rc == 0 || rc == DBREG_ENOMEM ? rc : 1;
}

/* The tables `want` holds for a package: the ones it declares when the
 * target has the version it declares (or none installed: then they are
 * missing), else the ones the state file recorded for the installed
 * version, else (SQLite) the ones its migrations up to it produce;
 * failing that, the package is listed as not compared, and only the
 * tables its migrations up to that version create are looked for. */
#define VERIFY_NEWER "it is newer than these manifests"

static int verify_newer(char *why, size_t size, const struct dbreg_package *pkg)
{
	size_t n = strlen(why);
	snprintf(why + n, size - n, "; " VERIFY_NEWER ", which have none of its migrations past %s", pkg->version_text);
	return 1;
}

static int verify_want_package(struct dbreg_verify_result *out, struct dbreg_schema *want, struct dbreg_schema *have,
			       const struct dbreg_registry *reg, const struct dbreg_package *pkg, const char *installed,
			       const struct dbreg_verify_opts *opts, bool *newer_out)
{
	*newer_out = false;
	struct dbreg_state *state = opts ? opts->state : NULL;
	const char *replay_url = opts ? opts->replay_url : NULL;
	if (!installed || !pkg->version_text || strcmp(installed, pkg->version_text) == 0)
		return dbreg_schema_add_package(want, pkg);
	enum dbreg_dialect dialect = have->dialect;
	char why[1536];
	/* A version above the declared one (an older checkout verifying a
	 * newer database): the manifests have none of the migrations past
	 * theirs, so a replay would make the declared schema and call the
	 * newer tables and columns undeclared. Its recorded schema, or the
	 * presence of the tables the migrations known here create. */
	struct dbreg_semver iv = DBREG_SEMVER_INIT;
	int prc = dbreg_semver_parse(&iv, installed, NULL);
	bool newer = prc == 0 && pkg->version_ok && dbreg_semver_compare(&iv, &pkg->version) > 0;
	dbreg_semver_dispose(&iv);
	if (prc == -2)
		return DBREG_ENOMEM;
	*newer_out = newer;
	if (!state) {
		snprintf(why, sizeof why, "installed at %s but declared at %s, and no state file was given", installed,
			 pkg->version_text);
		int rc = newer ? verify_newer(why, sizeof why, pkg) : verify_replayed(want, reg, pkg, installed, dialect,
										 replay_url, why, sizeof why);
		return rc == 1 ? verify_presence_only(out, have, pkg, installed, dialect, why) : rc;
	}
	char *text = NULL;
	int rc = dbreg_state_package_schema(state, pkg->name, installed, &text);
	if (rc == 1) {
		snprintf(why, sizeof why,
			 "installed at %s but declared at %s, and the state file holds no schema of %s (it was never registered here)",
			 installed, pkg->version_text, installed);
		rc = newer ? verify_newer(why, sizeof why, pkg)
			   : verify_replayed(want, reg, pkg, installed, dialect, replay_url, why, sizeof why);
		return rc == 1 ? verify_presence_only(out, have, pkg, installed, dialect, why) : rc;
	}
	if (rc == DBREG_ENOMEM)
		return rc;
	if (rc != 0)
		return verify_presence_only(out, have, pkg, installed, dialect, dbreg_state_errmsg(state));
	rc = dbreg_schema_add_text(want, text, strlen(text), pkg->name);
	free(text);
	if (rc == DBREG_EINVALID)
		return verify_presence_only(out, have, pkg, installed, dialect,
					    "the schema the state file recorded cannot be read");
	return rc;
}

/* Whether a pin (opts->held) names package name. */
static bool verify_held(const struct dbreg_verify_opts *opts, const char *name)
{
	for (size_t i = 0; opts && name && i < opts->n_held; i++)
		if (opts->held[i].package && strcmp(opts->held[i].package, name) == 0)
			return true;
	return false;
}

static int verify_rls_report(void *arg, const char *table, const char *message)
{
	return verify_add(arg, table, NULL, "%s", message);
}

int dbreg_verify_run(struct dbreg_verify_result *out, struct dbreg_conn *conn, const struct dbreg_registry *reg,
		     char *errbuf, size_t errsize)
{
	return dbreg_verify_run_opts(out, conn, reg, NULL, errbuf, errsize);
}

/* A declared index is over all rows, in PostgreSQL's default btree: one of
 * that name that is partial (WHERE false enforces no UNIQUE at all) or of
 * another access method is not the index declared. */
static int verify_index_kinds(struct dbreg_verify_result *out, struct dbreg_schema *want, struct dbreg_schema *have)
{
	int rc = 0;
	for (size_t t = 0; t < want->n_tables && rc == 0; t++) {
		const struct dbreg_schema_table *wt = &want->tables[t];
		const struct dbreg_schema_table *ht = dbreg_schema_table(have, wt->name);
		for (size_t i = 0; ht && i < wt->n_indexes && rc == 0; i++) {
			const struct dbreg_schema_index *hi = NULL;
			for (size_t k = 0; k < ht->n_indexes && !hi; k++)
				if (ht->indexes[k].name && wt->indexes[i].name && strcmp(ht->indexes[k].name, wt->indexes[i].name) == 0)
					hi = &ht->indexes[k];
			if (hi && hi->predicate)
				rc = verify_add(out, wt->name, NULL, "index %s is partial (WHERE %s): it is declared over every row%s",
						hi->name, hi->predicate, hi->unique ? ", so rows outside it are not kept unique" : "");
			else if (hi && hi->method && strcmp(hi->method, "btree") != 0)
				rc = verify_add(out, wt->name, NULL, "index %s uses %s: it is declared as a btree index",
						hi->name, hi->method);
		}
	}
	return rc;
}

int dbreg_verify_run_opts(struct dbreg_verify_result *out, struct dbreg_conn *conn, const struct dbreg_registry *reg,
			  const struct dbreg_verify_opts *opts, char *errbuf, size_t errsize)
{
	memset(out, 0, sizeof(*out));
	if (!conn || !reg) {
		snprintf(errbuf, errsize, "no connection or no registry");
		return DBREG_EUSAGE;
	}
	enum dbreg_dialect dialect = conn->driver->dialect;
	struct dbreg_schema *have = NULL, *want = NULL;
	struct dbreg_sdiff_list diffs = DBREG_SDIFF_LIST_INIT;
	/* One read of the catalog: the tables compared, then the policies. */
	struct dbreg_catalog cat = {0};
	int rc = conn->driver->catalog_read(conn, &cat);
	if (rc == 0 && (rc = dbreg_schema_new(&have, DBREG_SCHEMA_CATALOG, dialect)) == 0)
		rc = dbreg_schema_add_catalog(have, &cat);
	if (rc != 0) {
		snprintf(errbuf, errsize, "cannot read the catalog: %s",
			 rc == DBREG_ENOMEM ? "out of memory" : conn->err.message);
		dbreg_schema_free(have);
		dbreg_catalog_dispose(&cat);
		return rc == DBREG_ENOMEM ? rc : DBREG_ECONNECT;
	}
	char **names = NULL, **versions = NULL;
	size_t n_installed = 0;
	rc = conn->driver->package_read(conn, &names, &versions, &n_installed);
	if (rc != 0) {
		snprintf(errbuf, errsize, "cannot read the installed packages: %s", dbreg_target_errmsg(conn));
		dbreg_schema_free(have);
		dbreg_catalog_dispose(&cat);
		return rc == DBREG_ENOMEM ? rc : DBREG_ECONNECT;
	}
	rc = dbreg_schema_new(&want, DBREG_SCHEMA_DECLARED, dialect);
	const char *only = opts ? opts->package : NULL;
	bool newer_seen = false;       /* a package not compared for being newer */
	struct dbreg_buf maybe = DBREG_BUF_INIT;
	for (size_t p = 0; p < reg->n_packages && rc == 0; p++) {
		const struct dbreg_package *pkg = reg->packages[p];
		const char *installed = NULL;
		for (size_t k = 0; pkg->name && k < n_installed; k++)
			if (strcmp(names[k], pkg->name) == 0)
				installed = versions[k];
		if (only && pkg->name && strcmp(pkg->name, only) == 0)
			installed = opts->version ? opts->version : pkg->version_text;
		else if (only)
			continue;
		if (!installed && verify_held(opts, pkg->name))
			continue;
		bool newer = false;
		size_t before = out->n_not_compared;
		if (pkg->name)
			rc = verify_want_package(out, want, have, reg, pkg, installed, opts, &newer);
		newer_seen |= rc == 0 && newer && out->n_not_compared > before;
	}
	/* baseline: a version whose schema is unknown cannot be adopted. */
	for (size_t i = 0; only && rc == 0 && i < out->n_not_compared; i++)
		rc = verify_add(out, NULL, NULL, "%s@%s: %s", out->not_compared[i].package, out->not_compared[i].version,
				out->not_compared[i].reason);
	const struct dbreg_sdiff_opts dopts = {.defaults = true, .extra_tables = !only, .conn = conn};
	if (rc == 0)
		rc = dbreg_schema_diff(&diffs, want, have, &dopts);
	for (size_t i = 0; i < diffs.len && rc == 0; i++) {
		const struct dbreg_sdiff *d = &diffs.items[i];
		/* A table no package declares is reported when it has the
		 * application's prefix, else only its indexes that have it; one a
		 * package declares is there for a package not compared. */
		if (d->kind == DBREG_SDIFF_TABLE_EXTRA && (strncmp(d->have_table->name, "ydtb_", 5) != 0 ||
							  verify_declared(reg, d->have_table->name))) {
			if (!verify_declared(reg, d->have_table->name))
				rc = verify_prefixed_indexes(out, d->have_table);
			continue;
		}
		/* A package newer than its manifest may hold it: not a finding. */
		if (d->kind == DBREG_SDIFF_TABLE_EXTRA && newer_seen) {
			dbreg_buf_printf(&maybe, "%s%s", maybe.len ? ", " : "", d->have_table->name);
			continue;
		}
		rc = verify_render(out, d, dialect);
	}
	for (size_t i = 0; rc == 0 && maybe.len && i < out->n_not_compared; i++) {
		if (!strstr(out->not_compared[i].reason, VERIFY_NEWER))
			continue;
		char *r = dbreg_printf("%s; tables no package declares, which the newer versions may hold, are not reported: %s",
				       out->not_compared[i].reason, maybe.ptr);
		if (!r) {
			rc = DBREG_ENOMEM;
			break;
		}
		free(out->not_compared[i].reason);
		out->not_compared[i].reason = r;
	}
	dbreg_buf_dispose(&maybe);
	if (rc == 0)
		rc = verify_index_kinds(out, want, have);
	dbreg_sdiff_list_dispose(&diffs);
	dbreg_schema_free(want);
	dbreg_schema_free(have);
	/* Row-level security, with [isolation]: isolation.c says what each
	 * workspace table needs. */
	if (rc == 0 && !only)
		rc = dbreg_rls_verify(conn->driver->dialect, &cat, reg, verify_rls_report, out, &out->notice);
	dbreg_catalog_dispose(&cat);
	for (size_t k = 0; k < n_installed; k++) {
		free(names[k]);
		free(versions[k]);
	}
	free(names);
	free(versions);
	if (rc != 0) {
		if (rc != DBREG_ECONNECT)
			snprintf(errbuf, errsize, "out of memory");
		return rc;
	}
	return out->len ? DBREG_EVERIFY : 0;
}
