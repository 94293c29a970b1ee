/* The one differ between two schema models: typed differences, rendered by
 * the caller (schemadiff.h has the contract and what each difference means
 * for DDL). Nothing here knows a message or a dialect's spelling: types go
 * through types.c, defaults through the values schema.c read. */
#include "schemadiff.h"

#include "dbreg/driver.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void dbreg_sdiff_list_dispose(struct dbreg_sdiff_list *list)
{
	if (!list)
		return;
	free(list->items);
	memset(list, 0, sizeof *list);
}

/* The differ's working state: where differences go, and the `have` model
 * that types are judged by. */
struct sd_ctx {
	struct dbreg_sdiff_list *out;
	const struct dbreg_schema *have;
	const struct dbreg_sdiff_opts *opts;
	int rc;
};

static void sd_add(struct sd_ctx *c, struct dbreg_sdiff d)
{
	if (c->rc)
		return;
	struct dbreg_sdiff_list *l = c->out;
	if (l->len == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct dbreg_sdiff *v = realloc(l->items, cap * sizeof *v);
		if (!v) {
			c->rc = DBREG_ENOMEM;
			return;
		}
		l->items = v;
		l->cap = cap;
	}
	l->items[l->len++] = d;
}

static bool sd_streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static bool sd_same_list(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!sd_streq(a[i], b[i]))
			return false;
	return true;
}

char *dbreg_schema_list_text(const char *const *cols, size_t n)
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_puts(&b, "(");
	for (size_t i = 0; i < n; i++)
		dbreg_buf_printf(&b, "%s%s", i ? ", " : "", cols[i] ? cols[i] : "?");
	dbreg_buf_puts(&b, ")");
	return dbreg_buf_detach(&b);
}

/* ---- columns ----------------------------------------------------------- */

static bool sd_type_same(const struct sd_ctx *c, const struct dbreg_schema_column *want,
			 const struct dbreg_schema_column *have)
{
	if (c->have->source == DBREG_SCHEMA_CATALOG)
		return dbreg_type_stores(&want->ptype, have->type, c->have->dialect);
	if (!want->ptype.info || !have->ptype.info)
		return true;
	return strcmp(want->ptype.info->storage, have->ptype.info->storage) == 0 &&
	       want->ptype.n_params == have->ptype.n_params && want->ptype.params[0] == have->ptype.params[0] &&
	       want->ptype.params[1] == have->ptype.params[1];
}

static bool sd_nullability_same(const struct dbreg_schema_column *want, const struct dbreg_schema_column *have)
{
	if (want->not_null && !have->not_null && !have->implied_not_null)
		return false;
	if (!want->not_null && !want->implied_not_null && have->not_null && !have->implied_not_null)
		return false;
	return true;
}

/* Whether two numbers are one: exactly when both are integers. */
static bool sd_number_same(const struct dbreg_schema_default *a, const struct dbreg_schema_default *b)
{
	return a->integral && b->integral ? a->ival == b->ival : a->num == b->num;
}

/* Whether a number spelled in s is the number n. */
static bool sd_number_is(const char *s, const struct dbreg_schema_default *n)
{
	struct dbreg_schema_default d;
	dbreg_schema_default_parse(&d, s, DBREG_DIALECT_POSTGRES, NULL, 0);
	return d.kind == DBREG_DV_NUMBER && sd_number_same(&d, n);
}

/* Whether a value can stand for the boolean b: PostgreSQL says true/false,
 * SQLite stores 0/1 (or 't'/'f' as text). */
static bool sd_is_bool(const struct dbreg_schema_default *v, bool *b)
{
	if (v->kind == DBREG_DV_BOOL) {
		*b = v->b;
		return true;
	}
	if (v->kind == DBREG_DV_NUMBER && (v->num == 0 || v->num == 1)) {
		*b = v->num == 1;
		return true;
	}
	if (v->kind == DBREG_DV_STRING && v->str) {
		static const char *const yes[] = {"t", "true", "1", "y", "yes", "on", NULL};
		static const char *const no[] = {"f", "false", "0", "n", "no", "off", NULL};
		for (size_t i = 0; yes[i]; i++) {
			if (strcasecmp(v->str, yes[i]) == 0) {
				*b = true;
				return true;
			}
			if (strcasecmp(v->str, no[i]) == 0) {
				*b = false;
				return true;
			}
		}
	}
	return false;
}

/* Whether two default values, neither an expression, are the same. */
static bool sd_same_value(const struct dbreg_schema_default *want, const struct dbreg_schema_default *got)
{
	bool b;
	switch (want->kind) {
	case DBREG_DV_BOOL:
		return sd_is_bool(got, &b) && b == want->b;
	case DBREG_DV_NUMBER:
		if (got->kind == DBREG_DV_NUMBER)
			return sd_number_same(got, want);
		return got->kind == DBREG_DV_STRING && sd_number_is(got->str, want);
	case DBREG_DV_STRING:
		if (got->kind == DBREG_DV_STRING)
			return sd_streq(got->str, want->str);
		if (got->kind == DBREG_DV_NUMBER)
			return sd_number_is(want->str, got);
		if (got->kind == DBREG_DV_BOOL)
			return sd_is_bool(want, &b) && b == got->b;
		return false;
	default:
		return want->kind == got->kind;
	}
}

/* PostgreSQL stores a typed literal in its own canonical form ('2020-01-01'
 * on a timestamptz column reads back '2020-01-01 00:00:00+00'): two strings
 * that differ on a column that is not text may still be the same value. */
static bool sd_pg_reformats(const struct sd_ctx *c, const struct dbreg_schema_column *want,
			    const struct dbreg_schema_column *have, const struct dbreg_schema_default *w,
			    const struct dbreg_schema_default *g)
{
	if (c->have->dialect != DBREG_DIALECT_POSTGRES || c->have->source != DBREG_SCHEMA_CATALOG ||
	    w->kind != DBREG_DV_STRING || g->kind != DBREG_DV_STRING)
		return false;
	const struct dbreg_type_info *ti = want->ptype.info;
	if (ti && (strcmp(ti->name, "text") == 0 || strcmp(ti->name, "varchar") == 0 || strcmp(ti->name, "char") == 0))
		return false;
	/* The database that holds the column knows; asked as the column's own
	 * type (as it reads back), so both strings are read alike. */
	struct dbreg_conn *conn = c->opts->conn;
	bool same = true;
	if (conn && have->type && conn->driver->version >= 5 && conn->driver->values_equal &&
	    conn->driver->values_equal(conn, have->type, w->str ? w->str : "", g->str ? g->str : "", &same) == 0)
		return same;
	return true;
}

/* An expression reduced to what cannot change its meaning: letters'
 * case outside quotes, white space (one blank where two words or two
 * operators would otherwise join), parentheses around the whole. */
static void sd_expr_key(struct dbreg_buf *out, const char *s)
{
	static const char ops[] = "+-*/<>=~!@#%^&|`?";
	char last = 0;
	bool blank = false;
	for (const char *p = s ? s : ""; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (isspace(ch)) {
			blank = true;
			continue;
		}
		bool word = isalnum(ch) || ch == '_' || ch == '$' || ch >= 0x80;
		bool lword = isalnum((unsigned char)last) || last == '_' || last == '$' || (unsigned char)last >= 0x80;
		if (blank && last && ((word && lword) || (strchr(ops, ch) && strchr(ops, last))))
			dbreg_buf_puts(out, " ");
		blank = false;
		if (ch == '\'' || ch == '"') {
			/* A quoted string or name, as written ('' and "" stay inside). */
			const char *q = p + 1;
			while (*q && (*q != *p || q[1] == *p))
				q += *q == *p ? 2 : 1;
			size_t n = (size_t)(q - p) + (*q != '\0');
			dbreg_buf_append(out, p, n);
			p += n - 1;
			last = *p;
			continue;
		}
		char low = (char)tolower(ch);
		dbreg_buf_append(out, &low, 1);
		last = low;
	}
	/* (x) is x: strip parentheses that hold all of it. */
	while (out->ptr && out->len >= 2 && out->ptr[0] == '(' && out->ptr[out->len - 1] == ')') {
		int depth = 0;
		size_t k = 0;
		for (; k < out->len; k++) {
			char ch = out->ptr[k];
			if (ch == '\'' || ch == '"') {
				size_t q = k + 1;
				while (q < out->len && (out->ptr[q] != ch || (q + 1 < out->len && out->ptr[q + 1] == ch)))
					q += out->ptr[q] == ch ? 2 : 1;
				k = q;
			} else if (ch == '(') {
				depth++;
			} else if (ch == ')' && --depth == 0) {
				break;
			}
		}
		if (k != out->len - 1)
			break;
		memmove(out->ptr, out->ptr + 1, out->len - 2);
		out->len -= 2;
		out->ptr[out->len] = '\0';
	}
}

/* Whether two defaults, one of them an expression, are the same. A
 * PostgreSQL catalog's expression is as the server printed it (casts
 * added: lower('X'::text)): the server prints the declared one too and
 * compares (exprs_equal); a server that cannot tell (a default_sql
 * spelled for SQLite) leaves them the same. A SQLite catalog keeps the
 * text its migration wrote, in SQLite's words where default_sql may be
 * PostgreSQL's (gen_random_uuid(), lower(hex(randomblob(16)))): only a
 * declared literal (or the current time, against SQLite's other clock
 * words) can be told from it. Two declared models compare texts, case,
 * blanks and outer parentheses aside. */
static bool sd_expr_same(const struct sd_ctx *c, const struct dbreg_schema_column *want,
			 const struct dbreg_schema_column *have)
{
	bool pg_catalog = c->have->source == DBREG_SCHEMA_CATALOG && c->have->dialect == DBREG_DIALECT_POSTGRES;
	bool sqlite_catalog = c->have->source == DBREG_SCHEMA_CATALOG && !pg_catalog;
	if (sqlite_catalog && want->def.kind == DBREG_DV_EXPR)
		return true;
	struct dbreg_buf a = DBREG_BUF_INIT, b = DBREG_BUF_INIT;
	dbreg_schema_default_sql(&a, &want->def);
	dbreg_schema_default_sql(&b, &have->def);
	bool same = true;
	if (pg_catalog) {
		struct dbreg_conn *conn = c->opts->conn;
		bool eq = true;
		if (conn && have->type && conn->driver->version >= 14 && conn->driver->exprs_equal && !a.oom && !b.oom &&
		    conn->driver->exprs_equal(conn, have->type, a.ptr ? a.ptr : "", b.ptr ? b.ptr : "", &eq) == 0)
			same = eq;
	} else {
		struct dbreg_buf ka = DBREG_BUF_INIT, kb = DBREG_BUF_INIT;
		sd_expr_key(&ka, a.ptr);
		sd_expr_key(&kb, b.ptr);
		const char *x = ka.ptr ? ka.ptr : "", *y = kb.ptr ? kb.ptr : "";
		same = ka.oom || kb.oom || strcmp(x, y) == 0;
		if (sqlite_catalog && want->def.kind == DBREG_DV_NOW)
			same = strcmp(y, "current_date") != 0 && strcmp(y, "current_time") != 0;
		dbreg_buf_dispose(&ka);
		dbreg_buf_dispose(&kb);
	}
	dbreg_buf_dispose(&a);
	dbreg_buf_dispose(&b);
	return same;
}

static bool sd_default_same(const struct sd_ctx *c, const struct dbreg_schema_column *want,
			    const struct dbreg_schema_column *have)
{
	const struct dbreg_schema_default *w = &want->def, *g = &have->def;
	/* serial/bigserial on PostgreSQL: whatever fills it (nextval(), an
	 * identity), as long as something does. SQLite has no sequence to
	 * look for: its INTEGER PRIMARY KEY is the rowid whatever it says. */
	if (want->identity && w->kind == DBREG_DV_NONE)
		return have->identity || c->have->dialect == DBREG_DIALECT_SQLITE;
	/* A sequence's nextval() on a column declared without a default is
	 * how some write an integer key: not a difference. */
	if (w->kind == DBREG_DV_NONE)
		return g->kind == DBREG_DV_NONE || have->identity;
	if (g->kind == DBREG_DV_NONE)
		return false;
	if (w->kind == DBREG_DV_EXPR || g->kind == DBREG_DV_EXPR)
		return sd_expr_same(c, want, have);
	return sd_same_value(w, g) || sd_pg_reformats(c, want, have, w, g);
}

bool dbreg_sdiff_lost_sequence(const struct dbreg_sdiff *d)
{
	return d->kind == DBREG_SDIFF_COLUMN_DEFAULT && d->want_col->identity && d->want_col->def.kind == DBREG_DV_NONE &&
	       !d->have_col->identity;
}

static void sd_columns(struct sd_ctx *c, const struct dbreg_schema_table *wt, const struct dbreg_schema_table *ht)
{
	for (size_t i = 0; i < wt->n_columns; i++) {
		const struct dbreg_schema_column *w = &wt->columns[i];
		const struct dbreg_schema_column *h = dbreg_schema_column(ht, w->name);
		struct dbreg_sdiff d = {.want_table = wt, .have_table = ht, .want_col = w, .have_col = h};
		if (!h) {
			d.kind = DBREG_SDIFF_COLUMN_MISSING;
			sd_add(c, d);
			continue;
		}
		if (!sd_type_same(c, w, h)) {
			d.kind = DBREG_SDIFF_COLUMN_TYPE;
			sd_add(c, d);
		}
		if (!sd_nullability_same(w, h)) {
			d.kind = DBREG_SDIFF_COLUMN_NULLABILITY;
			sd_add(c, d);
		}
		if (c->opts->defaults && !sd_default_same(c, w, h)) {
			d.kind = DBREG_SDIFF_COLUMN_DEFAULT;
			sd_add(c, d);
		}
	}
	for (size_t i = 0; i < ht->n_columns; i++)
		if (!dbreg_schema_column(wt, ht->columns[i].name))
			sd_add(c, (struct dbreg_sdiff){.kind = DBREG_SDIFF_COLUMN_EXTRA, .want_table = wt, .have_table = ht,
						      .have_col = &ht->columns[i]});
}

/* ---- keys -------------------------------------------------------------- */

/* Whether have's foreign key points where want's does; a referenced column
 * SQLite leaves unnamed (the referenced table's key) matches any. */
static bool sd_fkey_target_same(const struct dbreg_schema_fkey *w, const struct dbreg_schema_fkey *h)
{
	if (!sd_streq(w->ref_table, h->ref_table) || w->n_columns != h->n_columns)
		return false;
	for (size_t i = 0; i < w->n_columns; i++)
		if (w->ref_columns[i] && h->ref_columns[i] && strcmp(w->ref_columns[i], h->ref_columns[i]) != 0)
			return false;
	return true;
}

/* The foreign key of t that stands for w: on the same columns, and of
 * those the one that is most alike (same target and actions, then same
 * target, then any), so that a second key on the columns is never taken
 * for the declared one. NULL when t has none on them. */
static const struct dbreg_schema_fkey *sd_fkey_for(const struct dbreg_schema_table *t,
						   const struct dbreg_schema_fkey *w)
{
	const struct dbreg_schema_fkey *best = NULL;
	int best_score = -1;
	for (size_t k = 0; k < t->n_fkeys; k++) {
		const struct dbreg_schema_fkey *h = &t->fkeys[k];
		if (!sd_same_list(h->columns, h->n_columns, w->columns, w->n_columns))
			continue;
		bool target = sd_fkey_target_same(w, h);
		int score = target ? 1 + (sd_streq(w->on_delete, h->on_delete) && sd_streq(w->on_update, h->on_update)) : 0;
		if (score > best_score) {
			best = h;
			best_score = score;
		}
	}
	return best;
}

/* Whether h stands for one of want's foreign keys. */
static bool sd_fkey_declared(const struct dbreg_schema_table *wt, const struct dbreg_schema_table *ht,
			     const struct dbreg_schema_fkey *h)
{
	for (size_t i = 0; i < wt->n_fkeys; i++)
		if (sd_fkey_for(ht, &wt->fkeys[i]) == h)
			return true;
	return false;
}

static void sd_keys(struct sd_ctx *c, const struct dbreg_schema_table *wt, const struct dbreg_schema_table *ht)
{
	struct dbreg_sdiff base = {.want_table = wt, .have_table = ht};
	if (!sd_same_list(wt->primary_key, wt->n_primary_key, ht->primary_key, ht->n_primary_key)) {
		struct dbreg_sdiff d = base;
		d.kind = DBREG_SDIFF_PRIMARY_KEY;
		sd_add(c, d);
	}
	for (size_t i = 0; i < wt->n_fkeys; i++) {
		const struct dbreg_schema_fkey *w = &wt->fkeys[i];
		/* A foreign key on a column `have` lacks follows from COLUMN_MISSING. */
		bool cols_there = true;
		for (size_t k = 0; k < w->n_columns; k++)
			cols_there = cols_there && dbreg_schema_column(ht, w->columns[k]);
		if (!cols_there)
			continue;
		struct dbreg_sdiff d = base;
		d.want_fk = w;
		d.have_fk = sd_fkey_for(ht, w);
		if (!d.have_fk) {
			d.kind = DBREG_SDIFF_FKEY_MISSING;
			sd_add(c, d);
			continue;
		}
		if (!sd_fkey_target_same(w, d.have_fk)) {
			d.kind = DBREG_SDIFF_FKEY_TARGET;
			sd_add(c, d);
			continue;
		}
		if (d.have_fk->not_valid && !w->not_valid) {
			d.kind = DBREG_SDIFF_FKEY_INVALID;
			sd_add(c, d);
		}
		d.kind = DBREG_SDIFF_FKEY_ACTION;
		if (!sd_streq(w->on_delete, d.have_fk->on_delete))
			sd_add(c, d);
		d.on_update = true;
		if (!sd_streq(w->on_update, d.have_fk->on_update))
			sd_add(c, d);
	}
	for (size_t k = 0; k < ht->n_fkeys; k++) {
		const struct dbreg_schema_fkey *h = &ht->fkeys[k];
		if (sd_fkey_declared(wt, ht, h))
			continue;
		/* On a column `want` lacks: COLUMN_EXTRA says it. */
		if (h->n_columns == 1 && !dbreg_schema_column(wt, h->columns[0]))
			continue;
		struct dbreg_sdiff d = base;
		d.kind = DBREG_SDIFF_FKEY_EXTRA;
		d.have_fk = h;
		sd_add(c, d);
	}
}

/* Whether `t` holds a unique constraint on exactly these columns: its
 * primary key (while `want` keeps it: a primary key that moves takes its
 * uniqueness along), a declared unique, or a unique index. */
static bool sd_has_unique(const struct dbreg_schema_table *wt, const struct dbreg_schema_table *t,
			  const char *const *cols, size_t n)
{
	bool pk_kept = sd_same_list(wt->primary_key, wt->n_primary_key, t->primary_key, t->n_primary_key);
	if (pk_kept && sd_same_list(t->primary_key, t->n_primary_key, cols, n))
		return true;
	for (size_t u = 0; u < t->n_uniques; u++)
		if (sd_same_list(t->uniques[u].columns, t->uniques[u].n_columns, cols, n))
			return true;
	for (size_t k = 0; k < t->n_indexes; k++)
		if (t->indexes[k].unique && (pk_kept || !t->indexes[k].primary) &&
		    sd_same_list(t->indexes[k].columns, t->indexes[k].n_columns, cols, n))
			return true;
	return false;
}

static const struct dbreg_schema_index *sd_index_named(const struct dbreg_schema_table *t, const char *name)
{
	for (size_t k = 0; t && name && k < t->n_indexes; k++)
		if (sd_streq(t->indexes[k].name, name))
			return &t->indexes[k];
	return NULL;
}

/* Whether have's index stands for a unique constraint or the primary key of
 * `want` (a catalog lists those among its indexes). */
static bool sd_index_is_constraint(const struct dbreg_schema_table *wt, const struct dbreg_schema_index *h)
{
	if (h->primary)
		return true;
	if (!h->unique)
		return false;
	if (sd_same_list(wt->primary_key, wt->n_primary_key, h->columns, h->n_columns))
		return true;
	for (size_t u = 0; u < wt->n_uniques; u++)
		if (sd_same_list(wt->uniques[u].columns, wt->uniques[u].n_columns, h->columns, h->n_columns))
			return true;
	return false;
}

/* An index of `have` that `want` does not name, not a constraint's, with
 * these columns and uniqueness: the same index under another name. */
static const struct dbreg_schema_index *sd_renamed(const struct dbreg_schema_table *wt,
						   const struct dbreg_schema_table *ht,
						   const struct dbreg_schema_index *w)
{
	for (size_t k = 0; k < ht->n_indexes; k++) {
		const struct dbreg_schema_index *h = &ht->indexes[k];
		if (!sd_index_named(wt, h->name) && !sd_index_is_constraint(wt, h) && h->unique == w->unique &&
		    sd_same_list(h->columns, h->n_columns, w->columns, w->n_columns))
			return h;
	}
	return NULL;
}

static void sd_indexes(struct sd_ctx *c, const struct dbreg_schema_table *wt, const struct dbreg_schema_table *ht)
{
	struct dbreg_sdiff base = {.want_table = wt, .have_table = ht};
	for (size_t u = 0; u < wt->n_uniques; u++) {
		const struct dbreg_schema_unique *w = &wt->uniques[u];
		if (sd_has_unique(wt, ht, w->columns, w->n_columns))
			continue;
		struct dbreg_sdiff d = base;
		d.kind = DBREG_SDIFF_UNIQUE_MISSING;
		d.want_uq = w;
		sd_add(c, d);
	}
	for (size_t i = 0; i < wt->n_indexes; i++) {
		const struct dbreg_schema_index *w = &wt->indexes[i];
		struct dbreg_sdiff d = base;
		d.want_ix = w;
		d.have_ix = sd_index_named(ht, w->name);
		if (!d.have_ix) {
			d.have_ix = sd_renamed(wt, ht, w);
			d.kind = d.have_ix ? DBREG_SDIFF_INDEX_NAME : DBREG_SDIFF_INDEX_MISSING;
			sd_add(c, d);
			continue;
		}
		if (!sd_same_list(w->columns, w->n_columns, d.have_ix->columns, d.have_ix->n_columns)) {
			d.kind = DBREG_SDIFF_INDEX_COLUMNS;
			sd_add(c, d);
		}
		if (w->unique != d.have_ix->unique) {
			d.kind = DBREG_SDIFF_INDEX_UNIQUE;
			sd_add(c, d);
		}
	}
	for (size_t k = 0; k < ht->n_indexes; k++) {
		const struct dbreg_schema_index *h = &ht->indexes[k];
		struct dbreg_sdiff d = base;
		d.have_ix = h;
		if (!h->valid) {
			d.want_ix = sd_index_named(wt, h->name);
			d.kind = DBREG_SDIFF_INDEX_INVALID;
			sd_add(c, d);
			continue;
		}
		if (sd_index_named(wt, h->name) || sd_index_is_constraint(wt, h))
			continue;
		/* Already reported as INDEX_NAME of a declared index. */
		bool renamed = false;
		for (size_t i = 0; i < wt->n_indexes && !renamed; i++)
			renamed = !sd_index_named(ht, wt->indexes[i].name) && sd_renamed(wt, ht, &wt->indexes[i]) == h;
		if (renamed)
			continue;
		d.kind = DBREG_SDIFF_INDEX_EXTRA;
		sd_add(c, d);
	}
}

/* ---- tables ------------------------------------------------------------ */

int dbreg_schema_diff_table(struct dbreg_sdiff_list *out, const struct dbreg_schema_table *want,
			    const struct dbreg_schema_table *have, const struct dbreg_schema *have_schema,
			    const struct dbreg_sdiff_opts *opts)
{
	static const struct dbreg_sdiff_opts none = {0};
	struct sd_ctx c = {.out = out, .have = have_schema, .opts = opts ? opts : &none};
	if (!have) {
		sd_add(&c, (struct dbreg_sdiff){.kind = DBREG_SDIFF_TABLE_MISSING, .want_table = want});
		return c.rc;
	}
	sd_columns(&c, want, have);
	sd_keys(&c, want, have);
	sd_indexes(&c, want, have);
	return c.rc;
}

int dbreg_schema_diff(struct dbreg_sdiff_list *out, struct dbreg_schema *want, struct dbreg_schema *have,
		      const struct dbreg_sdiff_opts *opts)
{
	static const struct dbreg_sdiff_opts none = {0};
	if (!opts)
		opts = &none;
	/* Sorted by the lookups below. */
	dbreg_schema_table(want, "");
	dbreg_schema_table(have, "");
	int rc = 0;
	for (size_t i = 0; i < want->n_tables && rc == 0; i++)
		rc = dbreg_schema_diff_table(out, &want->tables[i], dbreg_schema_table(have, want->tables[i].name), have,
					     opts);
	struct sd_ctx c = {.out = out, .have = have, .opts = opts};
	for (size_t i = 0; i < have->n_tables && rc == 0; i++) {
		const struct dbreg_schema_table *ht = &have->tables[i];
		if (dbreg_schema_table(want, ht->name))
			continue;
		if (opts->extra_tables)
			sd_add(&c, (struct dbreg_sdiff){.kind = DBREG_SDIFF_TABLE_EXTRA, .have_table = ht});
		/* An INVALID index is broken whatever declares it, or nothing does. */
		for (size_t k = 0; k < ht->n_indexes; k++)
			if (!ht->indexes[k].valid)
				sd_add(&c, (struct dbreg_sdiff){.kind = DBREG_SDIFF_INDEX_INVALID, .have_table = ht,
								.have_ix = &ht->indexes[k]});
		rc = c.rc;
	}
	return rc;
}
