/* fkdrop.h: a SQLite DROP TABLE whose foreign key actions change other
 * tables' rows. The statements come from the driver's split (SQLite's own
 * tokenizer), the tables that exist from the replay database before the
 * body runs (so a child created by a later migration is not one), and the
 * children of other packages from their declarations (a dependent's
 * tables exist wherever it is installed). */
#include "fkdrop.h"
#include "registry.h"
#include "suppress.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The actions that write to the child when its parent row goes; NO ACTION
 * and RESTRICT fail the DROP instead, which loses nothing. */
static const char *const fk_writes[] = {"cascade", "set null", "set default", NULL};

static bool fk_action_writes(const char *action)
{
	for (size_t i = 0; action && fk_writes[i]; i++)
		if (strcasecmp(action, fk_writes[i]) == 0)
			return true;
	return false;
}

/* Matches the keyword kw (case-insensitive, whole word) at *p, after blanks
 * and comments; moves *p past it. */
static bool fk_word(const char *sql, size_t *p, size_t end, const char *kw)
{
	size_t at = dbreg_sql_skip_blank(sql, *p, end), n = strlen(kw);
	if (at + n > end || strncasecmp(sql + at, kw, n) != 0 ||
	    (at + n < end && (isalnum((unsigned char)sql[at + n]) || sql[at + n] == '_')))
		return false;
	*p = at + n;
	return true;
}

/* Reads a name at *p: bare, "quoted", `quoted` or [quoted], the last part
 * of schema.name. Empty when there is none. */
static void fk_name(const char *sql, size_t p, size_t end, char *out, size_t size)
{
	out[0] = '\0';
	for (;;) {
		p = dbreg_sql_skip_blank(sql, p, end);
		size_t n = 0;
		char close = sql[p] == '"' ? '"' : sql[p] == '`' ? '`' : sql[p] == '[' ? ']' : '\0';
		if (close) {
			for (p++; p < end && sql[p] != close && n + 1 < size; p++)
				out[n++] = sql[p];
			p++;
		} else {
			for (; p < end && (isalnum((unsigned char)sql[p]) || sql[p] == '_' || sql[p] == '$') && n + 1 < size;
			     p++)
				out[n++] = sql[p];
		}
		out[n] = '\0';
		p = dbreg_sql_skip_blank(sql, p, end);
		if (p >= end || sql[p] != '.')
			return;
		p++;
	}
}

/* The table a DROP TABLE statement drops, into name; false for any other
 * statement. */
static bool fk_dropped(const char *sql, size_t start, size_t end, char *name, size_t size)
{
	size_t p = start;
	if (!fk_word(sql, &p, end, "drop") || !fk_word(sql, &p, end, "table"))
		return false;
	size_t q = p;
	if (fk_word(sql, &q, end, "if") && fk_word(sql, &q, end, "exists"))
		p = q;
	fk_name(sql, p, end, name, size);
	return name[0] != '\0';
}

static bool fk_in(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], name) == 0)
			return true;
	return false;
}

/* Appends "child (ON DELETE ACTION)" to the list, once per child. */
static void fk_note(struct dbreg_buf *list, char ***seen, size_t *n_seen, const char *child, const char *action)
{
	if (fk_in(*seen, *n_seen, child))
		return;
	char **v = realloc(*seen, (*n_seen + 1) * sizeof *v);
	if (!v) {
		list->oom = true;
		return;
	}
	*seen = v;
	v[(*n_seen)++] = (char *)child;
	char up[16];
	size_t k = 0;
	for (; action[k] && k + 1 < sizeof up; k++)
		up[k] = (char)toupper((unsigned char)action[k]);
	up[k] = '\0';
	dbreg_buf_printf(list, "%s%s (ON DELETE %s)", list->len ? ", " : "", child, up);
}

/* The children of `table` whose rows its DROP changes: tables of the
 * database (cat) and tables other packages declare, neither dropped
 * before in the body. */
static void fk_children(struct dbreg_buf *list, const struct dbreg_registry *reg, const struct dbreg_package *pkg,
			const struct dbreg_catalog *cat, const char *table, char *const *dropped, size_t n_dropped)
{
	char **seen = NULL;
	size_t n_seen = 0;
	for (size_t t = 0; t < cat->n_tables; t++) {
		const struct dbreg_cat_table *ct = &cat->tables[t];
		if (!ct->name || strcasecmp(ct->name, table) == 0 || fk_in(dropped, n_dropped, ct->name))
			continue;
		for (size_t f = 0; f < ct->n_fkeys; f++)
			if (ct->fkeys[f].ref_table && strcasecmp(ct->fkeys[f].ref_table, table) == 0 &&
			    fk_action_writes(ct->fkeys[f].on_delete))
				fk_note(list, &seen, &n_seen, ct->name, ct->fkeys[f].on_delete);
	}
	for (size_t p = 0; p < reg->n_packages; p++) {
		const struct dbreg_package *o = reg->packages[p];
		if (o == pkg)
			continue;   /* the package's own tables: what its migrations made (cat) */
		for (size_t t = 0; t < o->n_tables; t++) {
			const struct dbreg_table *dt = &o->tables[t];
			if (!dt->name || strcasecmp(dt->name, table) == 0 || fk_in(dropped, n_dropped, dt->name))
				continue;
			for (size_t c = 0; c < dt->n_columns; c++)
				if (dt->columns[c].ref_table && strcasecmp(dt->columns[c].ref_table, table) == 0 &&
				    fk_action_writes(dt->columns[c].on_delete))
					fk_note(list, &seen, &n_seen, dt->name, dt->columns[c].on_delete);
		}
	}
	free(seen);
}

static int fk_vadd(struct dbreg_diag_list *diags, struct dbreg_suppress *sup, const struct dbreg_diag_at *at,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fk_vadd(struct dbreg_diag_list *diags, struct dbreg_suppress *sup, const struct dbreg_diag_at *at,
		   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = dbreg_suppress_vaddf(diags, sup, "DBR103", at, fmt, ap);
	va_end(ap);
	return rc;
}

/* The finding, at the DROP; its hint is the manifest key that avoids it. */
static int fk_add(struct dbreg_diag_list *diags, struct dbreg_suppress *sup, const struct dbreg_diag_at *at,
		  const char *table, const char *children)
{
	size_t before = diags->len;
	int rc = fk_vadd(diags, sup, at,
			 "DROP TABLE %s runs with foreign keys on: SQLite deletes its rows first, and their foreign "
			 "key actions empty or change %s",
			 table, children);
	/* A suppressed finding (DBR105) keeps its own words. */
	if (rc == 0 && diags->len > before && strcmp(diags->items[diags->len - 1].code, "DBR103") == 0)
		rc = dbreg_diag_hintf(diags, "set foreign_keys = false on this migration");
	return rc;
}

/* fkdrop.h */
int dbreg_fkdrop_check(struct dbreg_diag_list *diags, const struct dbreg_registry *reg,
		       const struct dbreg_package *pkg, const struct dbreg_migration *m, const struct dbreg_driver *drv,
		       struct dbreg_conn *conn)
{
	const struct dbreg_sql *body = dbreg_migration_body(m, DBREG_DIALECT_SQLITE, true);
	if (!m->foreign_keys || !body || !body->text || drv->version < 4 || !drv->split)
		return 0;
	/* Most bodies drop nothing: no split, no catalog. */
	bool any = false;
	for (const char *at = body->text; *at && !any; at++)
		any = strncasecmp(at, "drop", 4) == 0;
	if (!any)
		return 0;
	struct dbreg_span *spans = NULL;
	size_t n = 0;
	int rc = drv->split(conn, body->text, &spans, &n);
	if (rc != 0)
		return rc == DBREG_ENOMEM ? rc : 0;   /* a body that does not split fails when it runs */
	char **dropped = calloc(n + 1, sizeof *dropped);
	size_t n_dropped = 0;
	struct dbreg_catalog cat = {0};
	bool have_cat = false;
	struct dbreg_sql_cursor cur = DBREG_SQL_CURSOR_INIT;
	rc = dropped ? 0 : DBREG_ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char name[256];
		if (!fk_dropped(body->text, spans[i].start, spans[i].end, name, sizeof name))
			continue;
		if (!have_cat) {
			have_cat = true;
			if (drv->catalog_read(conn, &cat) != 0)
				break;   /* nothing to compare with: the replay reports the database's failure */
		}
		struct dbreg_buf list = DBREG_BUF_INIT;
		fk_children(&list, reg, pkg, &cat, name, dropped, n_dropped);
		if (list.oom) {
			rc = DBREG_ENOMEM;
		} else if (list.len) {
			struct dbreg_diag_at at = {.file = body->file, .package = pkg->name, .table = name,
						   .migration = m->id};
			dbreg_sql_loc_next(body, &cur, spans[i].start, &at.line, &at.column);
			struct dbreg_suppress sup;
			dbreg_suppress_find(&sup, body->text, i ? spans[i - 1].end + 1 : 0, spans[i].start);
			rc = fk_add(diags, &sup, &at, name, list.ptr);
		}
		dbreg_buf_dispose(&list);
		if (rc == 0 && !(dropped[n_dropped++] = dbreg_strdup(name)))
			rc = DBREG_ENOMEM;
	}
	for (size_t i = 0; i < n_dropped; i++)
		free(dropped[i]);
	free(dropped);
	dbreg_catalog_dispose(&cat);
	free(spans);
	return rc;
}

/* Appends name as a double-quoted identifier. */
static void fk_ident(struct dbreg_buf *b, const char *name)
{
	dbreg_buf_puts(b, "\"");
	for (const char *p = name; *p; p++)
		dbreg_buf_append(b, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
	dbreg_buf_puts(b, "\"");
}

/* fkdrop.h */
int dbreg_fkdrop_guard(const struct dbreg_driver *drv, struct dbreg_conn *conn, const char *sql, struct dbreg_buf *on,
		       struct dbreg_buf *off)
{
	bool any = false;
	for (const char *at = sql; *at && !any; at++)
		any = strncasecmp(at, "drop", 4) == 0;
	if (!any || drv->version < 4 || !drv->split)
		return 0;
	struct dbreg_span *spans = NULL;
	size_t n = 0;
	struct dbreg_db_error saved = conn->err;
	int rc = drv->split(conn, sql, &spans, &n);
	if (rc != 0) {
		conn->err = saved;
		return rc == DBREG_ENOMEM ? rc : 0;   /* the body fails when it runs */
	}
	char **dropped = calloc(n + 1, sizeof *dropped);
	size_t n_dropped = 0, n_guards = 0;
	struct dbreg_catalog cat = {0};
	bool have_cat = false;
	rc = dropped ? 0 : DBREG_ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char name[256];
		if (!fk_dropped(sql, spans[i].start, spans[i].end, name, sizeof name))
			continue;
		if (!have_cat) {
			have_cat = true;
			if ((rc = drv->catalog_read(conn, &cat)) != 0)
				break;
		}
		for (size_t t = 0; t < cat.n_tables; t++) {
			const struct dbreg_cat_table *ct = &cat.tables[t];
			if (!ct->name || strcasecmp(ct->name, name) == 0 || fk_in(dropped, n_dropped, ct->name))
				continue;
			for (size_t f = 0; f < ct->n_fkeys; f++) {
				const struct dbreg_cat_fkey *fk = &ct->fkeys[f];
				if (!fk->ref_table || strcasecmp(fk->ref_table, name) != 0 || !fk_action_writes(fk->on_delete))
					continue;
				bool del = strcasecmp(fk->on_delete, "cascade") == 0;
				/* The message is a string literal: the names are
				 * checked names (manifest.md rule 3), no quote in them. */
				dbreg_buf_printf(on, "CREATE TEMP TRIGGER dbreg_fkdrop_%zu BEFORE %s ON main.", n_guards,
						 del ? "DELETE" : "UPDATE");
				fk_ident(on, ct->name);
				dbreg_buf_printf(on, " BEGIN SELECT RAISE(ABORT, '" DBREG_FKDROP_PREFIX "DROP TABLE %s would %s"
						     " rows of table %s (ON DELETE %s)'); END;\n",
						 strchr(name, '\'') ? "?" : name, del ? "delete" : "change",
						 strchr(ct->name, '\'') ? "?" : ct->name, del ? "CASCADE" : "SET NULL or SET DEFAULT");
				dbreg_buf_printf(off, "DROP TRIGGER IF EXISTS temp.dbreg_fkdrop_%zu;\n", n_guards);
				n_guards++;
			}
		}
		if (!(dropped[n_dropped++] = dbreg_strdup(name)))
			rc = DBREG_ENOMEM;
	}
	if (rc == 0 && (on->oom || off->oom))
		rc = DBREG_ENOMEM;
	for (size_t i = 0; i < n_dropped; i++)
		free(dropped[i]);
	free(dropped);
	dbreg_catalog_dispose(&cat);
	free(spans);
	return rc;
}
