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

/* ---- defaults ------------------------------------------------------------
 * A declared default and the catalog's default expression are spelled
 * differently by each side ('x'::text, 0 for false on SQLite, now() for
 * CURRENT_TIMESTAMP), so both are reduced to a value first: a string, a
 * number, a boolean, "the current time", or an expression we do not
 * understand, which is never reported (no false alarms). */

enum verify_dkind { VD_NONE, VD_NULL, VD_STR, VD_NUM, VD_BOOL, VD_NOW, VD_OTHER };

struct verify_dval {
	enum verify_dkind kind;
	char str[256];                 /* VD_STR: the string's value */
	double num;                    /* VD_NUM */
	bool b;                        /* VD_BOOL */
};

/* Whether [p, e) spells a number; its value in *out. */
static bool verify_number(const char *p, const char *e, double *out)
{
	char buf[64];
	size_t n = (size_t)(e - p);
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	const char *q = buf;
	if (*q == '+' || *q == '-')
		q++;
	bool digit = false;
	while (isdigit((unsigned char)*q))
		q++, digit = true;
	if (*q == '.')
		for (q++; isdigit((unsigned char)*q); q++)
			digit = true;
	if (!digit)
		return false;
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!isdigit((unsigned char)*q))
			return false;
		while (isdigit((unsigned char)*q))
			q++;
	}
	if (*q)
		return false;
	*out = strtod(buf, NULL);
	return true;
}

/* Whether [p, e) is exactly the case-insensitive word w. */
static bool verify_word(const char *p, const char *e, const char *w)
{
	size_t n = strlen(w);
	return (size_t)(e - p) == n && strncasecmp(p, w, n) == 0;
}

/* The end of the quoted literal starting at p (on its closing quote), or
 * NULL when it does not close before e. */
static const char *verify_quote_end(const char *p, const char *e)
{
	for (const char *q = p + 1; q < e; q++) {
		if (*q != '\'')
			continue;
		if (q + 1 < e && q[1] == '\'') {
			q++;
			continue;
		}
		return q;
	}
	return NULL;
}

/* Reduces an SQL default expression [p, e) to a value. */
static void verify_dval_sql(struct verify_dval *v, const char *p, const char *e, enum dbreg_dialect dialect)
{
	v->kind = VD_OTHER;
	for (;;) {
		while (p < e && isspace((unsigned char)*p))
			p++;
		while (e > p && isspace((unsigned char)e[-1]))
			e--;
		/* Whole-expression parentheses: SQLite keeps "(0)" as written. */
		if (p < e && *p == '(' && e[-1] == ')') {
			int depth = 0;
			const char *q = p;
			for (; q < e; q++) {
				if (*q == '\'') {
					q = verify_quote_end(q, e);
					if (!q)
						return;
				} else if (*q == '(') {
					depth++;
				} else if (*q == ')' && --depth == 0) {
					break;
				}
			}
			if (q == e - 1) {
				p++;
				e--;
				continue;
			}
		}
		/* A trailing cast, PostgreSQL's way of typing a literal:
		 * '-1'::integer, 'x'::character varying, '0.5'::numeric(4,2). */
		const char *cast = NULL;
		for (const char *q = p; q + 1 < e; q++) {
			if (*q == '\'') {
				q = verify_quote_end(q, e);
				if (!q)
					return;
			} else if (q[0] == ':' && q[1] == ':') {
				cast = q;
			}
		}
		if (!cast)
			break;
		for (const char *q = cast + 2; q < e; q++)
			if (!isalnum((unsigned char)*q) && !strchr(" _(),\"[].", *q))
				return;
		e = cast;
	}
	if (p >= e)
		return;
	if (*p == '\'') {
		const char *q = verify_quote_end(p, e);
		if (q != e - 1)
			return;
		size_t o = 0;
		for (const char *c = p + 1; c < q; c++) {
			if (*c == '\'')
				c++; /* '' is one quote */
			if (o + 1 >= sizeof v->str)
				return;
			v->str[o++] = *c;
		}
		v->str[o] = '\0';
		v->kind = VD_STR;
		return;
	}
	if (verify_number(p, e, &v->num)) {
		v->kind = VD_NUM;
		return;
	}
	if (verify_word(p, e, "true") || verify_word(p, e, "false")) {
		v->kind = VD_BOOL;
		v->b = tolower((unsigned char)*p) == 't';
		return;
	}
	if (verify_word(p, e, "null")) {
		v->kind = VD_NULL;
		return;
	}
	/* The time the transaction started, however it is spelled. */
	static const char *const now[] = { "current_timestamp", "now()", "transaction_timestamp()", NULL };
	for (size_t i = 0; now[i]; i++)
		if (verify_word(p, e, now[i]))
			v->kind = VD_NOW;
	if (dialect == DBREG_DIALECT_SQLITE && v->kind == VD_OTHER) {
		/* datetime('now'), strftime('%Y-...', 'now'): the current time in
		 * SQLite's text formats. */
		size_t n = (size_t)(e - p);
		if (n > 15 && (strncasecmp(p, "datetime(", 9) == 0 || strncasecmp(p, "strftime(", 9) == 0) &&
		    strncasecmp(e - 6, "'now')", 6) == 0)
			v->kind = VD_NOW;
	}
}

/* The declared default of a column as a value. */
static void verify_dval_declared(struct verify_dval *v, const struct dbreg_column *c, enum dbreg_dialect dialect)
{
	memset(v, 0, sizeof *v);
	const char *t = c->default_text;
	switch (c->default_kind) {
	case DBREG_DEFAULT_STRING:
		if (t && strlen(t) < sizeof v->str) {
			v->kind = VD_STR;
			memcpy(v->str, t, strlen(t) + 1);
		} else {
			v->kind = VD_OTHER;
		}
		return;
	case DBREG_DEFAULT_INTEGER:
	case DBREG_DEFAULT_FLOAT:
		v->kind = t && verify_number(t, t + strlen(t), &v->num) ? VD_NUM : VD_OTHER;
		return;
	case DBREG_DEFAULT_BOOL:
		v->kind = VD_BOOL;
		v->b = t && strcmp(t, "true") == 0;
		return;
	case DBREG_DEFAULT_SQL:
		if (t)
			verify_dval_sql(v, t, t + strlen(t), dialect);
		else
			v->kind = VD_OTHER;
		return;
	default:
		v->kind = VD_NONE;
		return;
	}
}

/* Whether the catalog's value `got` can stand for the boolean b: PostgreSQL
 * says true/false, SQLite stores 0/1 (or 'f'/'t' as text). */
static bool verify_is_bool(const struct verify_dval *got, bool *b)
{
	if (got->kind == VD_BOOL) {
		*b = got->b;
		return true;
	}
	if (got->kind == VD_NUM && (got->num == 0 || got->num == 1)) {
		*b = got->num == 1;
		return true;
	}
	if (got->kind == VD_STR) {
		static const char *const yes[] = { "t", "true", "1", "y", "yes", "on", NULL };
		static const char *const no[] = { "f", "false", "0", "n", "no", "off", NULL };
		for (size_t i = 0; yes[i]; i++) {
			if (strcasecmp(got->str, yes[i]) == 0) {
				*b = true;
				return true;
			}
			if (strcasecmp(got->str, no[i]) == 0) {
				*b = false;
				return true;
			}
		}
	}
	return false;
}

/* Whether a declared default and the catalog's are the same, or cannot be
 * told apart reliably (then they count as the same). */
static bool verify_same_default(const struct verify_dval *want, const struct verify_dval *got)
{
	if (want->kind == VD_OTHER || got->kind == VD_OTHER)
		return true;
	double n;
	bool b;
	switch (want->kind) {
	case VD_BOOL:
		return verify_is_bool(got, &b) && b == want->b;
	case VD_NUM:
		if (got->kind == VD_NUM)
			return got->num == want->num;
		return got->kind == VD_STR && verify_number(got->str, got->str + strlen(got->str), &n) &&
		       n == want->num;
	case VD_STR:
		if (got->kind == VD_STR)
			return strcmp(got->str, want->str) == 0;
		if (got->kind == VD_NUM)
			return verify_number(want->str, want->str + strlen(want->str), &n) && n == got->num;
		if (got->kind == VD_BOOL)
			return verify_is_bool(want, &b) && b == got->b;
		return false;
	default:
		return want->kind == got->kind;
	}
}

/* PostgreSQL stores a typed literal in its own canonical form ('2020-01-01'
 * on a timestamptz column reads back '2020-01-01 00:00:00+00'): two strings
 * that differ on a column that is not text may still be the same value. */
static bool verify_pg_reformats(const struct dbreg_column *c, const struct verify_dval *want,
				const struct verify_dval *got, enum dbreg_dialect dialect)
{
	if (dialect != DBREG_DIALECT_POSTGRES || want->kind != VD_STR || got->kind != VD_STR)
		return false;
	const struct dbreg_type_info *ti = dbreg_type_lookup(c->type);
	return !ti || (strcmp(ti->name, "text") != 0 && strcmp(ti->name, "varchar") != 0 &&
		       strcmp(ti->name, "char") != 0);
}

/* The declared default as the manifest means it, for messages. */
static void verify_declared_text(struct dbreg_buf *b, const struct dbreg_column *c)
{
	if (c->default_kind == DBREG_DEFAULT_STRING) {
		dbreg_buf_puts(b, "'");
		for (const char *p = c->default_text ? c->default_text : ""; *p; p++) {
			dbreg_buf_append(b, p, 1);
			if (*p == '\'')
				dbreg_buf_append(b, p, 1); /* '' inside an SQL literal */
		}
		dbreg_buf_puts(b, "'");
	} else {
		dbreg_buf_puts(b, c->default_text ? c->default_text : "");
	}
}

static bool verify_is_serial(const char *type)
{
	return type && (strcasecmp(type, "serial") == 0 || strcasecmp(type, "bigserial") == 0 ||
			strcasecmp(type, "smallserial") == 0);
}

/* Compares a column's declared default with the catalog's. */
static int verify_default(struct dbreg_verify_result *r, const struct dbreg_table *t, const struct dbreg_column *c,
			  const struct dbreg_cat_column *cc, enum dbreg_dialect dialect)
{
	struct verify_dval want, got;
	memset(&got, 0, sizeof got);
	verify_dval_declared(&want, c, dialect);
	if (cc->default_expr)
		verify_dval_sql(&got, cc->default_expr, cc->default_expr + strlen(cc->default_expr), dialect);
	else
		got.kind = VD_NONE;
	if (got.kind == VD_NULL)
		got.kind = VD_NONE; /* DEFAULT NULL is no default */
	if (want.kind == VD_NULL)
		want.kind = VD_NONE;
	if (want.kind == VD_NONE) {
		/* serial's nextval(...) and expressions we cannot read (a
		 * generated column's) are not reported. */
		if (got.kind == VD_NONE || got.kind == VD_OTHER || verify_is_serial(c->type))
			return 0;
		return verify_add(r, t->name, c->name, "column %s: default is %s, declared none", c->name,
				  cc->default_expr);
	}
	struct dbreg_buf d = DBREG_BUF_INIT;
	verify_declared_text(&d, c);
	int rc = 0;
	if (got.kind == VD_NONE)
		rc = verify_add(r, t->name, c->name, "column %s: no default, declared %s", c->name, d.ptr ? d.ptr : "");
	else if (!verify_same_default(&want, &got) && !verify_pg_reformats(c, &want, &got, dialect))
		rc = verify_add(r, t->name, c->name, "column %s: default is %s, declared %s", c->name, cc->default_expr,
				d.ptr ? d.ptr : "");
	if (d.oom)
		rc = DBREG_ENOMEM;
	dbreg_buf_dispose(&d);
	return rc;
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
		/* serial and bigserial are NOT NULL by definition. */
		if (c->not_null && !cc->not_null)
			rc = verify_add(r, t->name, c->name, "column %s allows NULL; declared not null", c->name);
		else if (!c->not_null && !in_pk && !verify_is_serial(c->type) && cc->not_null)
			rc = verify_add(r, t->name, c->name, "column %s is NOT NULL; declared nullable", c->name);
		if (rc == 0)
			rc = verify_default(r, t, c, cc, dialect);
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
