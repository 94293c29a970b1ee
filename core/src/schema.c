/* The schema model's readers: declared tables of a package, a database's
 * catalog. What each side spells its own way (types, defaults, actions) is
 * read into one form here, so the differ compares like with like. */
#include "schema.h"
#include "toml.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the string pool ----------------------------------------------------- */

struct schema_chunk {
	struct schema_chunk *next;
	size_t used, size;
	char data[];
};

struct schema_pool {
	struct schema_chunk *head;
	bool oom;
};

static void *pool_alloc(struct dbreg_schema *s, size_t n)
{
	struct schema_pool *p = s->pool;
	n = (n + 7) & ~(size_t)7;
	if (!p->head || p->head->size - p->head->used < n) {
		size_t size = n > 16384 ? n : 16384;
		struct schema_chunk *c = malloc(sizeof *c + size);
		if (!c) {
			p->oom = true;
			return NULL;
		}
		c->next = p->head;
		c->used = 0;
		c->size = size;
		p->head = c;
	}
	void *r = p->head->data + p->head->used;
	p->head->used += n;
	return r;
}

static const char *pool_str(struct dbreg_schema *s, const char *str)
{
	if (!str)
		return NULL;
	size_t n = strlen(str);
	char *r = pool_alloc(s, n + 1);
	if (r)
		memcpy(r, str, n + 1);
	return r;
}

/* A copy of n strings (each may be NULL), or NULL when n is 0. */
static const char **pool_strv(struct dbreg_schema *s, char *const *v, size_t n)
{
	if (n == 0)
		return NULL;
	const char **r = pool_alloc(s, n * sizeof *r);
	for (size_t i = 0; r && i < n; i++)
		r[i] = pool_str(s, v[i]);
	return r;
}

static void *pool_array(struct dbreg_schema *s, size_t n, size_t size)
{
	if (n == 0)
		return NULL;
	void *r = pool_alloc(s, n * size);
	if (r)
		memset(r, 0, n * size);
	return r;
}

int dbreg_schema_new(struct dbreg_schema **out, enum dbreg_schema_source source, enum dbreg_dialect dialect)
{
	struct dbreg_schema *s = calloc(1, sizeof *s);
	if (s)
		s->pool = calloc(1, sizeof *s->pool);
	if (!s || !s->pool) {
		free(s);
		*out = NULL;
		return DBREG_ENOMEM;
	}
	s->source = source;
	s->dialect = dialect;
	s->sorted = true;
	*out = s;
	return 0;
}

void dbreg_schema_free(struct dbreg_schema *s)
{
	if (!s)
		return;
	for (struct schema_chunk *c = s->pool ? s->pool->head : NULL, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(s->pool);
	free(s->tables);
	free(s);
}

static struct dbreg_schema_table *schema_push_table(struct dbreg_schema *s, const char *name)
{
	if (s->n_tables == s->cap_tables) {
		size_t cap = s->cap_tables ? s->cap_tables * 2 : 16;
		struct dbreg_schema_table *t = realloc(s->tables, cap * sizeof *t);
		if (!t)
			return NULL;
		s->tables = t;
		s->cap_tables = cap;
	}
	struct dbreg_schema_table *t = &s->tables[s->n_tables];
	memset(t, 0, sizeof *t);
	if (!(t->name = pool_str(s, name)))
		return NULL;
	t->seq = s->n_tables;
	if (s->n_tables > 0 && strcmp(s->tables[s->n_tables - 1].name, name) >= 0)
		s->sorted = false;
	s->n_tables++;
	return t;
}

static int schema_cmp_table(const void *a, const void *b)
{
	int c = strcmp(((const struct dbreg_schema_table *)a)->name, ((const struct dbreg_schema_table *)b)->name);
	if (c)
		return c;
	/* The first added wins a duplicate name. */
	size_t x = ((const struct dbreg_schema_table *)a)->seq, y = ((const struct dbreg_schema_table *)b)->seq;
	return x < y ? -1 : x > y;
}

static void schema_sort(struct dbreg_schema *s)
{
	if (s->sorted)
		return;
	qsort(s->tables, s->n_tables, sizeof *s->tables, schema_cmp_table);
	/* Drop later duplicates. */
	size_t o = 0;
	for (size_t i = 0; i < s->n_tables; i++)
		if (o == 0 || strcmp(s->tables[o - 1].name, s->tables[i].name) != 0)
			s->tables[o++] = s->tables[i];
	s->n_tables = o;
	s->sorted = true;
}

static bool schema_table_below(const void *ctx, size_t i, const char *name)
{
	return strcmp(((const struct dbreg_schema *)ctx)->tables[i].name, name) < 0;
}

const struct dbreg_schema_table *dbreg_schema_table(struct dbreg_schema *s, const char *name)
{
	if (!s || !name)
		return NULL;
	schema_sort(s);
	size_t lo = dbreg_lower_bound(s->n_tables, schema_table_below, s, name);
	return lo < s->n_tables && strcmp(s->tables[lo].name, name) == 0 ? &s->tables[lo] : NULL;
}

const struct dbreg_schema_column *dbreg_schema_column(const struct dbreg_schema_table *t, const char *name)
{
	for (size_t i = 0; t && name && i < t->n_columns; i++)
		if (t->columns[i].name && strcmp(t->columns[i].name, name) == 0)
			return &t->columns[i];
	return NULL;
}

/* ---- defaults -------------------------------------------------------------
 * A declared default and the catalog's default expression are spelled
 * differently by each side ('x'::text, 0 for false on SQLite, now() for
 * CURRENT_TIMESTAMP), so both are reduced to a value: a string, a number,
 * a boolean, "the current time", or an expression not understood. */

/* A number spelled as an integer that fits 64 bits, compared exactly
 * (9007199254740993 and 9007199254740992 are one double). */
struct schema_int {
	bool ok;
	long long v;
};

enum schema_dkind { VD_NONE, VD_NULL, VD_STR, VD_NUM, VD_BOOL, VD_NOW, VD_OTHER };

struct schema_dval {
	enum schema_dkind kind;
	char str[256];                 /* VD_STR: the string's value */
	double num;                    /* VD_NUM */
	struct schema_int ival;        /* VD_NUM: exactly, when it is an integer */
	bool b;                        /* VD_BOOL */
};

/* Whether [p, e) spells a number; its value in *out, and in *iv when it
 * is an integer (iv may be NULL). */
static bool schema_number(const char *p, const char *e, double *out, struct schema_int *iv)
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
	if (iv) {
		iv->ok = !strpbrk(buf, ".eE");
		errno = 0;
		iv->v = iv->ok ? strtoll(buf, NULL, 10) : 0;
		iv->ok = iv->ok && errno == 0;
	}
	return true;
}

/* Whether [p, e) is exactly the case-insensitive word w. */
static bool schema_word(const char *p, const char *e, const char *w)
{
	size_t n = strlen(w);
	return (size_t)(e - p) == n && strncasecmp(p, w, n) == 0;
}

/* The end of the quoted literal starting at p (on its closing quote), or
 * NULL when it does not close before e. */
static const char *schema_quote_end(const char *p, const char *e)
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
static void schema_dval_sql(struct schema_dval *v, const char *p, const char *e, enum dbreg_dialect dialect)
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
					q = schema_quote_end(q, e);
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
				q = schema_quote_end(q, e);
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
		const char *q = schema_quote_end(p, e);
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
	if (schema_number(p, e, &v->num, &v->ival)) {
		v->kind = VD_NUM;
		return;
	}
	if (schema_word(p, e, "true") || schema_word(p, e, "false")) {
		v->kind = VD_BOOL;
		v->b = tolower((unsigned char)*p) == 't';
		return;
	}
	if (schema_word(p, e, "null")) {
		v->kind = VD_NULL;
		return;
	}
	/* The time the transaction started, however it is spelled. */
	static const char *const now[] = { "current_timestamp", "now()", "transaction_timestamp()", NULL };
	for (size_t i = 0; now[i]; i++)
		if (schema_word(p, e, now[i]))
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


void dbreg_schema_default_parse(struct dbreg_schema_default *out, const char *expr, enum dbreg_dialect dialect,
				char *buf, size_t size)
{
	struct schema_dval v;
	memset(&v, 0, sizeof v);
	memset(out, 0, sizeof *out);
	out->text = expr;
	if (!expr) {
		out->kind = DBREG_DV_NONE;
		return;
	}
	schema_dval_sql(&v, expr, expr + strlen(expr), dialect);
	static const enum dbreg_default_value map[] = {
		[VD_NONE] = DBREG_DV_NONE, [VD_NULL] = DBREG_DV_NONE, [VD_STR] = DBREG_DV_STRING,
		[VD_NUM] = DBREG_DV_NUMBER, [VD_BOOL] = DBREG_DV_BOOL, [VD_NOW] = DBREG_DV_NOW,
		[VD_OTHER] = DBREG_DV_EXPR,
	};
	out->kind = map[v.kind];
	out->num = v.num;
	out->integral = v.ival.ok;
	out->ival = v.ival.v;
	out->b = v.b;
	if (v.kind == VD_STR && buf && size) {
		snprintf(buf, size, "%s", v.str);
		out->str = buf;
	}
}

void dbreg_schema_default_sql(struct dbreg_buf *b, const struct dbreg_schema_default *d)
{
	if (!d->literal || d->kind != DBREG_DV_STRING) {
		dbreg_buf_puts(b, d->text ? d->text : "");
		return;
	}
	dbreg_buf_puts(b, "'");
	for (const char *p = d->text ? d->text : ""; *p; p++) {
		dbreg_buf_append(b, p, 1);
		if (*p == '\'')
			dbreg_buf_append(b, p, 1); /* '' inside an SQL literal */
	}
	dbreg_buf_puts(b, "'");
}

/* The declared default of a column as a value. */
static void schema_declared_default(struct dbreg_schema *s, struct dbreg_schema_default *d,
				    const struct dbreg_column *c)
{
	memset(d, 0, sizeof *d);
	const char *t = pool_str(s, c->default_text);
	d->text = t;
	d->literal = c->default_kind != DBREG_DEFAULT_SQL && c->default_kind != DBREG_DEFAULT_NONE;
	switch (c->default_kind) {
	case DBREG_DEFAULT_STRING:
		d->kind = DBREG_DV_STRING;
		d->str = t ? t : "";
		return;
	case DBREG_DEFAULT_INTEGER:
	case DBREG_DEFAULT_FLOAT:
	{
		struct schema_int iv = {0};
		d->kind = t && schema_number(t, t + strlen(t), &d->num, &iv) ? DBREG_DV_NUMBER : DBREG_DV_EXPR;
		d->integral = iv.ok;
		d->ival = iv.v;
		return;
	}
	case DBREG_DEFAULT_BOOL:
		d->kind = DBREG_DV_BOOL;
		d->b = t && strcmp(t, "true") == 0;
		return;
	case DBREG_DEFAULT_SQL: {
		char buf[256];
		dbreg_schema_default_parse(d, t, s->dialect, buf, sizeof buf);
		d->literal = false;
		if (d->kind == DBREG_DV_STRING)
			d->str = pool_str(s, buf);
		return;
	}
	default:
		d->kind = DBREG_DV_NONE;
		return;
	}
}

/* ---- readers ---------------------------------------------------------------- */


/* A foreign key action as the differ compares it: lowercased, "no action"
 * for none. */
static const char *schema_action(struct dbreg_schema *s, const char *a)
{
	if (!a || !*a)
		return "no action";
	char low[32];
	size_t n = 0;
	for (; a[n] && n + 1 < sizeof low; n++)
		low[n] = (char)tolower((unsigned char)a[n]);
	low[n] = '\0';
	return pool_str(s, low);
}

static int schema_add_table(struct dbreg_schema *s, const struct dbreg_package *pkg, const struct dbreg_table *t)
{
	struct dbreg_schema_table *st = schema_push_table(s, t->name);
	if (!st)
		return DBREG_ENOMEM;
	st->package = pool_str(s, pkg->name);
	st->file = pool_str(s, pkg->file);
	st->pos = t->pos;
	st->primary_key = pool_strv(s, t->primary_key, t->n_primary_key);
	st->n_primary_key = t->n_primary_key;
	st->columns = pool_array(s, t->n_columns, sizeof *st->columns);
	size_t n_fk = 0, n_uq = t->n_uniques;
	for (size_t i = 0; i < t->n_columns; i++) {
		n_fk += t->columns[i].ref_table != NULL;
		n_uq += t->columns[i].unique;
	}
	st->fkeys = pool_array(s, n_fk, sizeof *st->fkeys);
	st->uniques = pool_array(s, n_uq, sizeof *st->uniques);
	st->indexes = pool_array(s, t->n_indexes, sizeof *st->indexes);
	if (s->pool->oom)
		return DBREG_ENOMEM;
	for (size_t i = 0; i < t->n_columns; i++) {
		const struct dbreg_column *c = &t->columns[i];
		struct dbreg_schema_column *sc = &st->columns[st->n_columns++];
		sc->name = pool_str(s, c->name);
		sc->type = pool_str(s, c->type);
		dbreg_type_parse(c->type, &sc->ptype);
		sc->not_null = c->not_null;
		sc->identity = dbreg_type_is_serial(sc->ptype.info);
		sc->implied_not_null = c->primary_key || sc->identity ||
				       dbreg_strv_has(t->primary_key, t->n_primary_key, c->name);
		sc->pos = c->pos;
		schema_declared_default(s, &sc->def, c);
		if (c->ref_table) {
			struct dbreg_schema_fkey *f = &st->fkeys[st->n_fkeys++];
			f->columns = pool_strv(s, (char *const *)&c->name, 1);
			f->ref_columns = pool_strv(s, (char *const *)&c->ref_column, 1);
			f->n_columns = 1;
			f->ref_table = pool_str(s, c->ref_table);
			f->on_delete = schema_action(s, c->on_delete);
			f->on_update = schema_action(s, c->on_update);
			f->pos = c->pos;
		}
		if (c->unique) {
			struct dbreg_schema_unique *u = &st->uniques[st->n_uniques++];
			u->columns = pool_strv(s, (char *const *)&c->name, 1);
			u->n_columns = 1;
			u->from_column = true;
			u->pos = c->pos;
		}
	}
	for (size_t i = 0; i < t->n_uniques; i++) {
		struct dbreg_schema_unique *u = &st->uniques[st->n_uniques++];
		u->columns = pool_strv(s, t->uniques[i].columns, t->uniques[i].n_columns);
		u->n_columns = t->uniques[i].n_columns;
		u->pos = t->uniques[i].pos.line ? t->uniques[i].pos : t->pos;
	}
	for (size_t i = 0; i < t->n_indexes; i++) {
		const struct dbreg_index *ix = &t->indexes[i];
		struct dbreg_schema_index *si = &st->indexes[st->n_indexes++];
		si->name = pool_str(s, ix->name);
		si->columns = pool_strv(s, ix->columns, ix->n_columns);
		si->n_columns = ix->n_columns;
		si->unique = ix->unique;
		si->valid = true;
		si->pos = ix->pos.line ? ix->pos : t->pos;
	}
	return s->pool->oom ? DBREG_ENOMEM : 0;
}

int dbreg_schema_add_package(struct dbreg_schema *s, const struct dbreg_package *pkg)
{
	for (size_t i = 0; i < pkg->n_tables; i++) {
		if (!pkg->tables[i].name)
			continue;
		int rc = schema_add_table(s, pkg, &pkg->tables[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static int schema_add_cat_table(struct dbreg_schema *s, const struct dbreg_cat_table *ct)
{
	struct dbreg_schema_table *st = schema_push_table(s, ct->name ? ct->name : "");
	if (!st)
		return DBREG_ENOMEM;
	st->primary_key = pool_strv(s, ct->primary_key, ct->n_primary_key);
	st->n_primary_key = ct->n_primary_key;
	st->columns = pool_array(s, ct->n_columns, sizeof *st->columns);
	st->fkeys = pool_array(s, ct->n_fkeys, sizeof *st->fkeys);
	st->indexes = pool_array(s, ct->n_indexes, sizeof *st->indexes);
	if (s->pool->oom)
		return DBREG_ENOMEM;
	for (size_t i = 0; i < ct->n_columns; i++) {
		const struct dbreg_cat_column *c = &ct->columns[i];
		if (!c->name)
			continue;
		struct dbreg_schema_column *sc = &st->columns[st->n_columns++];
		sc->name = pool_str(s, c->name);
		sc->type = pool_str(s, c->type ? c->type : "");
		dbreg_type_parse(c->type, &sc->ptype);
		sc->not_null = c->not_null;
		sc->implied_not_null = dbreg_strv_has(ct->primary_key, ct->n_primary_key, c->name);
		char buf[256];
		dbreg_schema_default_parse(&sc->def, pool_str(s, c->default_expr), s->dialect, buf, sizeof buf);
		if (sc->def.kind == DBREG_DV_STRING)
			sc->def.str = pool_str(s, buf);
		sc->identity = c->identity || (c->default_expr && strncasecmp(c->default_expr, "nextval(", 8) == 0);
	}
	for (size_t i = 0; i < ct->n_fkeys; i++) {
		const struct dbreg_cat_fkey *f = &ct->fkeys[i];
		struct dbreg_schema_fkey *sf = &st->fkeys[st->n_fkeys++];
		sf->columns = pool_strv(s, f->columns, f->n_columns);
		sf->ref_columns = pool_strv(s, f->ref_columns, f->n_columns);
		sf->n_columns = f->n_columns;
		sf->ref_table = pool_str(s, f->ref_table);
		sf->on_delete = schema_action(s, f->on_delete);
		sf->on_update = schema_action(s, f->on_update);
		sf->not_valid = f->not_valid;
	}
	for (size_t i = 0; i < ct->n_indexes; i++) {
		const struct dbreg_cat_index *ix = &ct->indexes[i];
		struct dbreg_schema_index *si = &st->indexes[st->n_indexes++];
		si->name = pool_str(s, ix->name);
		si->columns = pool_strv(s, ix->columns, ix->n_columns);
		si->n_columns = ix->n_columns;
		si->unique = ix->unique;
		si->primary = ix->primary;
		si->valid = ix->valid;
		si->predicate = ix->predicate ? pool_str(s, ix->predicate) : NULL;
		si->method = ix->method ? pool_str(s, ix->method) : NULL;
	}
	return s->pool->oom ? DBREG_ENOMEM : 0;
}

int dbreg_schema_add_catalog(struct dbreg_schema *s, const struct dbreg_catalog *cat)
{
	for (size_t i = 0; i < cat->n_tables; i++) {
		int rc = schema_add_cat_table(s, &cat->tables[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int dbreg_schema_read_conn(struct dbreg_schema **out, struct dbreg_conn *conn, const char *const *names,
			   size_t n_names)
{
	const struct dbreg_driver *drv = conn->driver;
	int rc = dbreg_schema_new(out, DBREG_SCHEMA_CATALOG, drv->dialect);
	if (rc)
		return rc;
	struct dbreg_catalog cat = {0};
	rc = names && drv->version >= 2 && drv->catalog_read_tables ? drv->catalog_read_tables(conn, names, n_names, &cat)
								    : drv->catalog_read(conn, &cat);
	if (rc == 0)
		rc = dbreg_schema_add_catalog(*out, &cat);
	else if (rc != DBREG_ENOMEM)
		rc = DBREG_ECONNECT;
	dbreg_catalog_dispose(&cat);
	if (rc) {
		dbreg_schema_free(*out);
		*out = NULL;
	}
	return rc;
}

/* ---- the state file's form -------------------------------------------------
 * One TOML document: [[tables]] with name and primary_key, and arrays of
 * tables for columns, fkeys, uniques and indexes. A declared default is kept
 * as the manifest gave it (default = "string" | "number" | "bool" | "sql",
 * default_text), and read again the way the manifest's is. */

static const char *const schema_default_names[] = {"none", "string", "number", "bool", "sql"};

static void schema_w_strv(struct dbreg_buf *b, const char *key, const char *const *v, size_t n)
{
	dbreg_buf_puts(b, key);
	dbreg_buf_puts(b, " = [");
	for (size_t i = 0; i < n; i++) {
		if (i)
			dbreg_buf_puts(b, ", ");
		dbreg_buf_json_str(b, v[i] ? v[i] : "");
	}
	dbreg_buf_puts(b, "]\n");
}

static void schema_w_str(struct dbreg_buf *b, const char *key, const char *v)
{
	dbreg_buf_puts(b, key);
	dbreg_buf_puts(b, " = ");
	dbreg_buf_json_str(b, v ? v : "");
	dbreg_buf_puts(b, "\n");
}

int dbreg_schema_write(struct dbreg_buf *b, struct dbreg_schema *s)
{
	schema_sort(s);
	for (size_t i = 0; i < s->n_tables; i++) {
		const struct dbreg_schema_table *t = &s->tables[i];
		dbreg_buf_puts(b, "[[tables]]\n");
		schema_w_str(b, "name", t->name);
		schema_w_strv(b, "primary_key", t->primary_key, t->n_primary_key);
		for (size_t k = 0; k < t->n_columns; k++) {
			const struct dbreg_schema_column *c = &t->columns[k];
			dbreg_buf_puts(b, "[[tables.columns]]\n");
			schema_w_str(b, "name", c->name);
			schema_w_str(b, "type", c->type);
			dbreg_buf_puts(b, c->not_null ? "not_null = true\n" : "not_null = false\n");
			dbreg_buf_puts(b, c->implied_not_null ? "implied_not_null = true\n" : "implied_not_null = false\n");
			dbreg_buf_puts(b, c->identity ? "identity = true\n" : "identity = false\n");
			size_t kind = c->def.kind == DBREG_DV_NONE ? 0
				      : !c->def.literal ? 4
				      : c->def.kind == DBREG_DV_STRING ? 1
				      : c->def.kind == DBREG_DV_BOOL ? 3 : 2;
			schema_w_str(b, "default", schema_default_names[kind]);
			if (kind)
				schema_w_str(b, "default_text", c->def.text);
		}
		for (size_t k = 0; k < t->n_fkeys; k++) {
			const struct dbreg_schema_fkey *f = &t->fkeys[k];
			dbreg_buf_puts(b, "[[tables.fkeys]]\n");
			schema_w_strv(b, "columns", f->columns, f->n_columns);
			schema_w_strv(b, "ref_columns", f->ref_columns, f->n_columns);
			schema_w_str(b, "ref_table", f->ref_table);
			schema_w_str(b, "on_delete", f->on_delete);
			schema_w_str(b, "on_update", f->on_update);
		}
		for (size_t k = 0; k < t->n_uniques; k++) {
			const struct dbreg_schema_unique *u = &t->uniques[k];
			dbreg_buf_puts(b, "[[tables.uniques]]\n");
			schema_w_strv(b, "columns", u->columns, u->n_columns);
			dbreg_buf_printf(b, "from_column = %s\n", u->from_column ? "true" : "false");
		}
		for (size_t k = 0; k < t->n_indexes; k++) {
			const struct dbreg_schema_index *x = &t->indexes[k];
			dbreg_buf_puts(b, "[[tables.indexes]]\n");
			schema_w_str(b, "name", x->name);
			schema_w_strv(b, "columns", x->columns, x->n_columns);
			dbreg_buf_printf(b, "unique = %s\n", x->unique ? "true" : "false");
		}
	}
	return b->oom || s->pool->oom ? DBREG_ENOMEM : 0;
}

static const char *schema_r_str(struct dbreg_schema *s, const struct dbreg_toml_node *t, const char *key)
{
	const struct dbreg_toml_node *n = dbreg_toml_get(t, key);
	return n && n->type == DBREG_TOML_STRING ? pool_str(s, n->u.str.ptr) : NULL;
}

static bool schema_r_bool(const struct dbreg_toml_node *t, const char *key)
{
	const struct dbreg_toml_node *n = dbreg_toml_get(t, key);
	return n && n->type == DBREG_TOML_BOOL && n->u.boolean;
}

/* A string array; an empty string stands for NULL (an unnamed column). */
static const char **schema_r_strv(struct dbreg_schema *s, const struct dbreg_toml_node *t, const char *key,
				  size_t *n)
{
	const struct dbreg_toml_node *a = dbreg_toml_get(t, key);
	*n = 0;
	if (!a || a->type != DBREG_TOML_ARRAY || a->u.array.len == 0)
		return NULL;
	const char **v = pool_array(s, a->u.array.len, sizeof *v);
	for (size_t i = 0; v && i < a->u.array.len; i++) {
		const struct dbreg_toml_node *e = a->u.array.items[i];
		v[i] = e->type == DBREG_TOML_STRING && e->u.str.len ? pool_str(s, e->u.str.ptr) : NULL;
	}
	*n = v ? a->u.array.len : 0;
	return v;
}

/* The array of tables `key` of t: its items and count. */
static const struct dbreg_toml_node *const *schema_r_items(const struct dbreg_toml_node *t, const char *key,
							    size_t *n)
{
	const struct dbreg_toml_node *a = dbreg_toml_get(t, key);
	*n = a && a->type == DBREG_TOML_ARRAY ? a->u.array.len : 0;
	return *n ? (const struct dbreg_toml_node *const *)a->u.array.items : NULL;
}

static void schema_r_default(struct dbreg_schema *s, struct dbreg_schema_column *c, const struct dbreg_toml_node *n)
{
	const char *kind = schema_r_str(s, n, "default");
	const char *text = schema_r_str(s, n, "default_text");
	struct dbreg_column col = {.default_text = (char *)text};
	col.default_kind = !kind || strcmp(kind, "none") == 0 ? DBREG_DEFAULT_NONE
			   : strcmp(kind, "string") == 0      ? DBREG_DEFAULT_STRING
			   : strcmp(kind, "number") == 0      ? DBREG_DEFAULT_FLOAT
			   : strcmp(kind, "bool") == 0        ? DBREG_DEFAULT_BOOL
							      : DBREG_DEFAULT_SQL;
	schema_declared_default(s, &c->def, &col);
}

int dbreg_schema_add_text(struct dbreg_schema *s, const char *text, size_t len, const char *package)
{
	struct dbreg_toml_doc *doc = NULL;
	int prc = dbreg_toml_parse(&doc, text, len, NULL);
	if (prc == -2)
		return DBREG_ENOMEM;
	if (prc != 0)
		return DBREG_EINVALID;
	size_t n_tables;
	const struct dbreg_toml_node *const *tables = schema_r_items(doc->root, "tables", &n_tables);
	int rc = 0;
	for (size_t i = 0; i < n_tables && rc == 0; i++) {
		const struct dbreg_toml_node *tn = tables[i];
		const struct dbreg_toml_node *name = dbreg_toml_get(tn, "name");
		if (!name || name->type != DBREG_TOML_STRING) {
			rc = DBREG_EINVALID;
			break;
		}
		struct dbreg_schema_table *t = schema_push_table(s, name->u.str.ptr);
		if (!t) {
			rc = DBREG_ENOMEM;
			break;
		}
		t->package = pool_str(s, package);
		t->primary_key = schema_r_strv(s, tn, "primary_key", &t->n_primary_key);
		size_t n;
		const struct dbreg_toml_node *const *items = schema_r_items(tn, "columns", &n);
		t->columns = pool_array(s, n, sizeof *t->columns);
		for (size_t k = 0; t->columns && k < n; k++) {
			struct dbreg_schema_column *c = &t->columns[t->n_columns++];
			c->name = schema_r_str(s, items[k], "name");
			c->type = schema_r_str(s, items[k], "type");
			dbreg_type_parse(c->type, &c->ptype);
			c->not_null = schema_r_bool(items[k], "not_null");
			c->implied_not_null = schema_r_bool(items[k], "implied_not_null");
			c->identity = schema_r_bool(items[k], "identity");
			schema_r_default(s, c, items[k]);
		}
		items = schema_r_items(tn, "fkeys", &n);
		t->fkeys = pool_array(s, n, sizeof *t->fkeys);
		for (size_t k = 0; t->fkeys && k < n; k++) {
			struct dbreg_schema_fkey *f = &t->fkeys[t->n_fkeys++];
			size_t nr = 0;
			f->columns = schema_r_strv(s, items[k], "columns", &f->n_columns);
			f->ref_columns = schema_r_strv(s, items[k], "ref_columns", &nr);
			if (nr != f->n_columns)
				rc = DBREG_EINVALID;
			f->ref_table = schema_r_str(s, items[k], "ref_table");
			f->on_delete = schema_r_str(s, items[k], "on_delete");
			f->on_update = schema_r_str(s, items[k], "on_update");
		}
		items = schema_r_items(tn, "uniques", &n);
		t->uniques = pool_array(s, n, sizeof *t->uniques);
		for (size_t k = 0; t->uniques && k < n; k++) {
			struct dbreg_schema_unique *u = &t->uniques[t->n_uniques++];
			u->columns = schema_r_strv(s, items[k], "columns", &u->n_columns);
			u->from_column = schema_r_bool(items[k], "from_column");
		}
		items = schema_r_items(tn, "indexes", &n);
		t->indexes = pool_array(s, n, sizeof *t->indexes);
		for (size_t k = 0; t->indexes && k < n; k++) {
			struct dbreg_schema_index *x = &t->indexes[t->n_indexes++];
			x->name = schema_r_str(s, items[k], "name");
			x->columns = schema_r_strv(s, items[k], "columns", &x->n_columns);
			x->unique = schema_r_bool(items[k], "unique");
			x->valid = true;
		}
		/* Every name the differ looks at must be there. */
		for (size_t k = 0; rc == 0 && k < t->n_columns; k++)
			if (!t->columns[k].name || !t->columns[k].type)
				rc = DBREG_EINVALID;
		for (size_t k = 0; rc == 0 && k < t->n_fkeys; k++)
			if (!t->fkeys[k].ref_table || !t->fkeys[k].on_delete || !t->fkeys[k].on_update ||
			    !t->fkeys[k].n_columns)
				rc = DBREG_EINVALID;
		for (size_t k = 0; rc == 0 && k < t->n_indexes; k++)
			if (!t->indexes[k].name)
				rc = DBREG_EINVALID;
		if (s->pool->oom)
			rc = DBREG_ENOMEM;
	}
	dbreg_toml_doc_free(doc);
	return rc;
}
