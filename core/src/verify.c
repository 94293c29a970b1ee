/* verify: the target's catalog against the declared tables. Each difference
 * becomes one problem {table, column, message}. Types compare through the
 * portable type table: PostgreSQL's format_type spelling, SQLite's affinity
 * (the rule of sqlite.org/datatype3.html 3.1), so "TEXT" satisfies
 * timestamptz on SQLite, as the manifests' SQLite bodies write it. */
#include "registry.h"
#include "util.h"
#include "dbreg/driver.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* SQLite's affinity of a declared type name. */
static const char *verify_affinity(const char *type)
{
	char low[128];
	size_t n = 0;
	for (; type && type[n] && n + 1 < sizeof low; n++)
		low[n] = (char)tolower((unsigned char)type[n]);
	low[n] = '\0';
	if (strstr(low, "int"))
		return "INTEGER";
	if (strstr(low, "char") || strstr(low, "clob") || strstr(low, "text"))
		return "TEXT";
	if (n == 0 || strstr(low, "blob"))
		return "BLOB";
	if (strstr(low, "real") || strstr(low, "floa") || strstr(low, "doub"))
		return "REAL";
	return "NUMERIC";
}

/* PostgreSQL's format_type spelling of a portable type ("varchar(20)" ->
 * "character varying(20)"). */
static void verify_pg_type(const char *declared, char *out, size_t size)
{
	static const struct { const char *portable, *pg; } map[] = {
		{ "varchar", "character varying" }, { "char", "character" }, { "serial", "integer" },
		{ "bigserial", "bigint" }, { "double", "double precision" },
		{ "time", "time without time zone" }, { "timestamp", "timestamp without time zone" },
		{ "timestamptz", "timestamp with time zone" },
	};
	char base[64], params[64] = "";
	size_t n = 0, k = 0;
	const char *p = declared;
	while (*p && *p != '(' && n + 1 < sizeof base)
		base[n++] = (char)tolower((unsigned char)*p++);
	while (n > 0 && base[n - 1] == ' ')
		n--;
	base[n] = '\0';
	for (; *p && k + 1 < sizeof params; p++)
		if (*p != ' ')
			params[k++] = *p;
	params[k] = '\0';
	const char *pg = base;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(base, map[i].portable) == 0)
			pg = map[i].pg;
	snprintf(out, size, "%s%s", pg, params);
}

static bool verify_same_cols(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static void verify_join(struct dbreg_buf *b, char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dbreg_buf_printf(b, "%s%s", i ? ", " : "", v[i]);
}

static int verify_columns(struct dbreg_verify_result *r, const struct dbreg_table *t,
			  const struct dbreg_cat_table *ct, enum dbreg_dialect dialect)
{
	int rc = 0;
	for (size_t i = 0; i < t->n_columns && rc == 0; i++) {
		const struct dbreg_column *c = &t->columns[i];
		const struct dbreg_cat_column *cc = NULL;
		for (size_t k = 0; k < ct->n_columns; k++)
			if (strcmp(ct->columns[k].name, c->name) == 0)
				cc = &ct->columns[k];
		if (!cc) {
			rc = verify_add(r, t->name, c->name, "column %s is missing", c->name);
			continue;
		}
		const struct dbreg_type_info *ti = dbreg_type_lookup(c->type);
		if (ti && dialect == DBREG_DIALECT_SQLITE) {
			const char *aff = verify_affinity(cc->type);
			if (strcmp(aff, ti->sqlite) != 0)
				rc = verify_add(r, t->name, c->name,
						"column %s has type %s (affinity %s); declared %s needs affinity %s",
						c->name, cc->type ? cc->type : "", aff, c->type, ti->sqlite);
		} else if (ti) {
			char want[128];
			verify_pg_type(c->type, want, sizeof want);
			/* A declared type without parameters accepts any the database has. */
			size_t wl = strlen(want);
			bool ok = cc->type && (strcmp(cc->type, want) == 0 ||
					       (!strchr(want, '(') && strncmp(cc->type, want, wl) == 0 && cc->type[wl] == '('));
			if (!ok)
				rc = verify_add(r, t->name, c->name, "column %s has type %s; declared %s (%s)", c->name,
						cc->type ? cc->type : "", c->type, want);
		}
		if (rc)
			break;
		bool in_pk = false;
		for (size_t k = 0; k < t->n_primary_key; k++)
			if (strcmp(t->primary_key[k], c->name) == 0)
				in_pk = true;
		/* SQLite lets a non-integer primary key hold NULL unless NOT NULL
		 * is written; PostgreSQL makes it NOT NULL itself. */
		if (c->not_null && !cc->not_null)
			rc = verify_add(r, t->name, c->name, "column %s allows NULL; declared not null", c->name);
		else if (!c->not_null && !in_pk && cc->not_null)
			rc = verify_add(r, t->name, c->name, "column %s is NOT NULL; declared nullable", c->name);
	}
	for (size_t k = 0; k < ct->n_columns && rc == 0; k++)
		if (!dbreg_table_column(t, ct->columns[k].name))
			rc = verify_add(r, t->name, ct->columns[k].name, "column %s is not declared",
					ct->columns[k].name);
	return rc;
}

static int verify_keys(struct dbreg_verify_result *r, const struct dbreg_table *t, const struct dbreg_cat_table *ct)
{
	int rc = 0;
	if (!verify_same_cols(t->primary_key, t->n_primary_key, ct->primary_key, ct->n_primary_key)) {
		struct dbreg_buf a = DBREG_BUF_INIT, b = DBREG_BUF_INIT;
		verify_join(&a, t->primary_key, t->n_primary_key);
		verify_join(&b, ct->primary_key, ct->n_primary_key);
		rc = verify_add(r, t->name, NULL, "primary key is (%s); declared (%s)", b.ptr ? b.ptr : "",
				a.ptr ? a.ptr : "");
		dbreg_buf_dispose(&a);
		dbreg_buf_dispose(&b);
	}
	for (size_t i = 0; i < t->n_columns && rc == 0; i++) {
		const struct dbreg_column *c = &t->columns[i];
		if (!c->ref_table || !dbreg_table_column(t, c->name))
			continue;
		const struct dbreg_cat_fkey *fk = NULL;
		for (size_t k = 0; k < ct->n_fkeys; k++) {
			const struct dbreg_cat_fkey *f = &ct->fkeys[k];
			if (f->n_columns == 1 && strcmp(f->columns[0], c->name) == 0 && f->ref_table &&
			    strcmp(f->ref_table, c->ref_table) == 0)
				fk = f;
		}
		if (!fk) {
			rc = verify_add(r, t->name, c->name, "foreign key %s -> %s.%s is missing", c->name, c->ref_table,
					c->ref_column ? c->ref_column : "?");
			continue;
		}
		const char *want_del = c->on_delete ? c->on_delete : "no action";
		const char *want_upd = c->on_update ? c->on_update : "no action";
		if (!fk->on_delete || strcmp(fk->on_delete, want_del) != 0)
			rc = verify_add(r, t->name, c->name, "foreign key %s -> %s is ON DELETE %s; declared %s", c->name,
					c->ref_table, fk->on_delete ? fk->on_delete : "?", want_del);
		else if (!fk->on_update || strcmp(fk->on_update, want_upd) != 0)
			rc = verify_add(r, t->name, c->name, "foreign key %s -> %s is ON UPDATE %s; declared %s", c->name,
					c->ref_table, fk->on_update ? fk->on_update : "?", want_upd);
	}
	return rc;
}

/* Whether some unique index covers exactly these columns. */
static bool verify_has_unique(const struct dbreg_cat_table *ct, char **cols, size_t n)
{
	for (size_t k = 0; k < ct->n_indexes; k++)
		if (ct->indexes[k].unique && verify_same_cols(ct->indexes[k].columns, ct->indexes[k].n_columns, cols, n))
			return true;
	return false;
}

static int verify_indexes(struct dbreg_verify_result *r, const struct dbreg_table *t, const struct dbreg_cat_table *ct)
{
	int rc = 0;
	for (size_t i = 0; i < t->n_indexes && rc == 0; i++) {
		const struct dbreg_index *ix = &t->indexes[i];
		const struct dbreg_cat_index *ci = NULL;
		for (size_t k = 0; k < ct->n_indexes; k++)
			if (ct->indexes[k].name && strcmp(ct->indexes[k].name, ix->name) == 0)
				ci = &ct->indexes[k];
		if (!ci) {
			rc = verify_add(r, t->name, NULL, "index %s is missing", ix->name);
		} else if (!verify_same_cols(ix->columns, ix->n_columns, ci->columns, ci->n_columns)) {
			struct dbreg_buf a = DBREG_BUF_INIT, b = DBREG_BUF_INIT;
			verify_join(&a, ix->columns, ix->n_columns);
			verify_join(&b, ci->columns, ci->n_columns);
			rc = verify_add(r, t->name, NULL, "index %s is on (%s); declared (%s)", ix->name,
					b.ptr ? b.ptr : "", a.ptr ? a.ptr : "");
			dbreg_buf_dispose(&a);
			dbreg_buf_dispose(&b);
		} else if (ci->unique != ix->unique) {
			rc = verify_add(r, t->name, NULL, "index %s is %sunique; declared %sunique", ix->name,
					ci->unique ? "" : "not ", ix->unique ? "" : "not ");
		}
	}
	for (size_t i = 0; i < t->n_columns && rc == 0; i++) {
		const struct dbreg_column *c = &t->columns[i];
		char *one[1] = { c->name };
		if (c->unique && !verify_has_unique(ct, one, 1))
			rc = verify_add(r, t->name, c->name, "unique constraint on %s is missing", c->name);
	}
	for (size_t i = 0; i < t->n_uniques && rc == 0; i++) {
		if (verify_has_unique(ct, t->uniques[i].columns, t->uniques[i].n_columns))
			continue;
		struct dbreg_buf a = DBREG_BUF_INIT;
		verify_join(&a, t->uniques[i].columns, t->uniques[i].n_columns);
		rc = verify_add(r, t->name, NULL, "unique constraint (%s) is missing", a.ptr ? a.ptr : "");
		dbreg_buf_dispose(&a);
	}
	return rc;
}

int dbreg_verify_run(struct dbreg_verify_result *out, struct dbreg_conn *conn, const struct dbreg_registry *reg,
		     char *errbuf, size_t errsize)
{
	memset(out, 0, sizeof(*out));
	if (!conn || !reg) {
		snprintf(errbuf, errsize, "no connection or no registry");
		return DBREG_EUSAGE;
	}
	struct dbreg_catalog cat = { 0 };
	int rc = conn->driver->catalog_read(conn, &cat);
	if (rc != 0) {
		snprintf(errbuf, errsize, "cannot read the catalog: %s", conn->err.message);
		dbreg_catalog_dispose(&cat);
		return rc == DBREG_ENOMEM ? rc : DBREG_ECONNECT;
	}
	/* A package installed at another version than it declares (stopped by
	 * --to, or downgraded) has an older schema on purpose: its declared
	 * tables describe a version the target does not have, so it is not
	 * compared. A package not installed at all is compared: its tables
	 * are missing. */
	char **names = NULL, **versions = NULL;
	size_t n_installed = 0;
	rc = conn->driver->package_read(conn, &names, &versions, &n_installed);
	if (rc != 0) {
		snprintf(errbuf, errsize, "cannot read the installed packages: %s", conn->err.message);
		dbreg_catalog_dispose(&cat);
		return rc == DBREG_ENOMEM ? rc : DBREG_ECONNECT;
	}
	enum dbreg_dialect dialect = conn->driver->dialect;
	for (size_t p = 0; p < reg->n_packages && rc == 0; p++) {
		const struct dbreg_package *pkg = reg->packages[p];
		bool other_version = false;
		for (size_t k = 0; pkg->name && pkg->version_text && k < n_installed; k++)
			if (strcmp(names[k], pkg->name) == 0 && strcmp(versions[k], pkg->version_text) != 0)
				other_version = true;
		if (other_version)
			continue;
		for (size_t i = 0; i < pkg->n_tables && rc == 0; i++) {
			const struct dbreg_table *t = &pkg->tables[i];
			if (!t->name)
				continue;
			const struct dbreg_cat_table *ct = dbreg_catalog_table(&cat, t->name);
			if (!ct) {
				rc = verify_add(out, t->name, NULL, "table %s of %s is missing", t->name,
						pkg->name ? pkg->name : "?");
				continue;
			}
			rc = verify_columns(out, t, ct, dialect);
			if (rc == 0)
				rc = verify_keys(out, t, ct);
			if (rc == 0)
				rc = verify_indexes(out, t, ct);
		}
	}
	/* An INVALID index is broken whatever declares it, or nothing does. */
	for (size_t t = 0; t < cat.n_tables && rc == 0; t++) {
		const struct dbreg_cat_table *ct = &cat.tables[t];
		for (size_t k = 0; k < ct->n_indexes && rc == 0; k++)
			if (!ct->indexes[k].valid)
				rc = verify_add(out, ct->name, NULL,
						"index %s is INVALID (a failed CREATE INDEX CONCURRENTLY): drop it and run the migration again",
						ct->indexes[k].name ? ct->indexes[k].name : "?");
	}
	dbreg_catalog_dispose(&cat);
	for (size_t k = 0; k < n_installed; k++) {
		free(names[k]);
		free(versions[k]);
	}
	free(names);
	free(versions);
	if (rc != 0) {
		snprintf(errbuf, errsize, "out of memory");
		return rc;
	}
	return out->len ? DBREG_EVERIFY : 0;
}
