/* Helpers over the in-memory model: freeing a package, choosing a
 * migration's body for a dialect, checksums and positions of SQL bodies. */
#include "model.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void model_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void model_sql_dispose(struct dbreg_sql *s)
{
	free(s->sum);
	if (s->doc)
		return;   /* a manifest string: borrowed from the package's document */
	free(s->text);
	free(s->file);
}

static void model_table_dispose(struct dbreg_table *t)
{
	free(t->name);
	free(t->description);
	free(t->renamed_from);
	for (size_t i = 0; i < t->n_columns; i++) {
		struct dbreg_column *c = &t->columns[i];
		free(c->name);
		free(c->type);
		free(c->default_text);
		free(c->ref_table);
		free(c->ref_column);
		free(c->on_delete);
		free(c->on_update);
		free(c->description);
		free(c->renamed_from);
	}
	free(t->columns);
	model_strv_free(t->primary_key, t->n_primary_key);
	for (size_t i = 0; i < t->n_uniques; i++)
		model_strv_free(t->uniques[i].columns, t->uniques[i].n_columns);
	free(t->uniques);
	for (size_t i = 0; i < t->n_indexes; i++) {
		free(t->indexes[i].name);
		model_strv_free(t->indexes[i].columns, t->indexes[i].n_columns);
	}
	free(t->indexes);
}

void dbreg_package_free(struct dbreg_package *pkg)
{
	if (pkg == NULL)
		return;
	free(pkg->file);
	free(pkg->base_dir);
	dbreg_toml_doc_free(pkg->doc);
	free(pkg->sql_text);
	free(pkg->name);
	free(pkg->version_text);
	dbreg_semver_dispose(&pkg->version);
	free(pkg->description);
	for (size_t i = 0; i < pkg->n_deps; i++) {
		free(pkg->deps[i].name);
		free(pkg->deps[i].range_text);
		dbreg_range_free(pkg->deps[i].range);
	}
	free(pkg->deps);
	for (size_t i = 0; i < pkg->n_tables; i++)
		model_table_dispose(&pkg->tables[i]);
	free(pkg->tables);
	free(pkg->table_index);
	for (size_t i = 0; i < pkg->n_tools; i++) {
		free(pkg->tools[i].id);
		free(pkg->tools[i].name);
		free(pkg->tools[i].description);
		free(pkg->tools[i].icon);
	}
	free(pkg->tools);
	for (size_t i = 0; i < pkg->n_migrations; i++) {
		struct dbreg_migration *m = &pkg->migrations[i];
		free(m->id);
		free(m->version_text);
		dbreg_semver_dispose(&m->version);
		free(m->description);
		model_sql_dispose(&m->up);
		model_sql_dispose(&m->up_postgres);
		model_sql_dispose(&m->up_sqlite);
		model_sql_dispose(&m->down);
		model_sql_dispose(&m->down_postgres);
		model_sql_dispose(&m->down_sqlite);
	}
	free(pkg->migrations);
	free(pkg);
}

const struct dbreg_sql *dbreg_migration_body(const struct dbreg_migration *m,
					     enum dbreg_dialect dialect, bool up)
{
	if (m == NULL)
		return NULL;
	const struct dbreg_sql *special, *generic;
	if (dialect == DBREG_DIALECT_POSTGRES) {
		special = up ? &m->up_postgres : &m->down_postgres;
	} else {
		special = up ? &m->up_sqlite : &m->down_sqlite;
	}
	generic = up ? &m->up : &m->down;
	if (special->text != NULL)
		return special;
	return generic->text != NULL ? generic : NULL;
}

void dbreg_sql_sum(const struct dbreg_sql *sql, char out[72])
{
	if (!sql) {
		out[0] = '\0';
		return;
	}
	const char *sum = __atomic_load_n(&sql->sum, __ATOMIC_ACQUIRE);
	if (sum) {
		memcpy(out, sum, 72);
		return;
	}
	/* A memo of a value that never changes: the body's text is fixed once
	 * loaded. Two threads asking at once both compute it; one keeps its copy. */
	dbreg_sql_checksum(sql->text, sql->len, out);
	char *mine = malloc(72), *none = NULL;
	if (!mine)
		return;
	memcpy(mine, out, 72);
	struct dbreg_sql *memo = (struct dbreg_sql *)sql;
	if (!__atomic_compare_exchange_n(&memo->sum, &none, mine, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		free(mine);
}

void dbreg_sql_checksum(const char *text, size_t len, char out[72])
{
	if (text == NULL)
		len = 0;
	if (len == 0 || memchr(text, '\r', len) == NULL) {
		dbreg_sha256_hex(len ? text : "", len, out);
		return;
	}
	char *copy = malloc(len);
	if (copy == NULL) {
		/* No memory for the copy: a value that matches no real checksum,
		 * so drift is reported rather than silently accepted. */
		memcpy(out, "sha256:unavailable", sizeof "sha256:unavailable");
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
			continue;
		copy[n++] = text[i];
	}
	dbreg_sha256_hex(copy, n, out);
	free(copy);
}

void dbreg_sql_loc(const struct dbreg_sql *sql, size_t offset, unsigned *line, unsigned *column)
{
	dbreg_sql_loc_next(sql, NULL, offset, line, column);
}

void dbreg_sql_origin(const struct dbreg_sql *sql, unsigned *line, unsigned *column)
{
	bool from_file = sql && sql->text && !sql->doc;
	*line = from_file ? 1 : sql ? sql->pos.line : 0;
	*column = from_file ? 1 : sql ? sql->pos.column : 0;
}

void dbreg_sql_loc_next(const struct dbreg_sql *sql, struct dbreg_sql_cursor *cur, size_t offset, unsigned *line,
			unsigned *column)
{
	unsigned l = 0, c = 0;
	if (cur && cur->sql != sql)
		*cur = (struct dbreg_sql_cursor){.sql = sql};
	if (sql != NULL && sql->text != NULL) {
		if (offset > sql->len)
			offset = sql->len;
		if (sql->doc != NULL) {
			struct dbreg_toml_strpos *at = cur ? &cur->str : NULL;
			if (!sql->span ||
			    (sql->span->head ? dbreg_toml_span_pos_text(sql->doc, sql->span, sql->text, offset, at, &l, &c)
					     : dbreg_toml_span_pos_from(sql->doc, sql->span, offset, at, &l, &c)) != 0) {
				l = sql->pos.line;
				c = sql->pos.column;
			}
		} else {
			/* An SQL file: count lines; a column counts bytes, a CR before
			 * LF is part of the line ending. Counting goes on from the
			 * cursor when it stands before offset. */
			size_t i = 0;
			l = 1;
			c = 1;
			if (cur && cur->line && cur->off <= offset) {
				i = cur->off;
				l = cur->line;
				c = cur->column;
			}
			for (; i < offset; i++) {
				if (sql->text[i] == '\n') {
					l++;
					c = 1;
				} else if (!(sql->text[i] == '\r' && i + 1 < sql->len && sql->text[i + 1] == '\n')) {
					c++;
				}
			}
			if (cur) {
				cur->off = offset;
				cur->line = l;
				cur->column = c;
			}
		}
	}
	if (line)
		*line = l;
	if (column)
		*column = c;
}

/* Whether table i sorts before table j: by name, unnamed last. */
static bool model_table_before(const struct dbreg_package *pkg, size_t i, size_t j)
{
	const char *x = pkg->tables[i].name, *y = pkg->tables[j].name;
	if (!x || !y)
		return x && !y;
	return strcmp(x, y) < 0;
}

/* A stable merge sort of v[0..n) (tmp as large): of tables with one name,
 * the first declared stays first, as the search in order finds it. */
static void model_sort_tables(const struct dbreg_package *pkg, size_t *v, size_t *tmp, size_t n)
{
	if (n < 2)
		return;
	size_t half = n / 2;
	model_sort_tables(pkg, v, tmp, half);
	model_sort_tables(pkg, v + half, tmp, n - half);
	size_t a = 0, b = half, o = 0;
	while (a < half && b < n)
		tmp[o++] = model_table_before(pkg, v[b], v[a]) ? v[b++] : v[a++];
	while (a < half)
		tmp[o++] = v[a++];
	while (b < n)
		tmp[o++] = v[b++];
	memcpy(v, tmp, n * sizeof *v);
}

int dbreg_package_index_tables(struct dbreg_package *pkg)
{
	free(pkg->table_index);
	pkg->table_index = NULL;
	if (pkg->n_tables < 8)
		return 0;   /* a few strcmp cost less than the search */
	size_t *v = malloc(2 * pkg->n_tables * sizeof *v);
	if (!v)
		return DBREG_ENOMEM;
	for (size_t i = 0; i < pkg->n_tables; i++)
		v[i] = i;
	model_sort_tables(pkg, v, v + pkg->n_tables, pkg->n_tables);
	pkg->table_index = v;
	return 0;
}

static bool model_table_below(const void *ctx, size_t i, const char *name)
{
	const struct dbreg_package *pkg = ctx;
	const char *t = pkg->tables[pkg->table_index[i]].name;
	return t && strcmp(t, name) < 0;
}

const struct dbreg_table *dbreg_package_table(const struct dbreg_package *pkg, const char *name)
{
	if (pkg == NULL || name == NULL)
		return NULL;
	if (pkg->table_index) {
		size_t lo = dbreg_lower_bound(pkg->n_tables, model_table_below, pkg, name);
		const struct dbreg_table *t = lo < pkg->n_tables ? &pkg->tables[pkg->table_index[lo]] : NULL;
		return t && t->name && strcmp(t->name, name) == 0 ? t : NULL;
	}
	for (size_t i = 0; i < pkg->n_tables; i++)
		if (pkg->tables[i].name && strcmp(pkg->tables[i].name, name) == 0)
			return &pkg->tables[i];
	return NULL;
}

const struct dbreg_column *dbreg_table_column(const struct dbreg_table *t, const char *name)
{
	if (t == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < t->n_columns; i++)
		if (t->columns[i].name && strcmp(t->columns[i].name, name) == 0)
			return &t->columns[i];
	return NULL;
}

/* ^[a-z_][a-z0-9_]*$, at most 63 bytes. NULL when fine, else why. */
const char *dbreg_ident_problem(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "it is empty";
	if (n > 63)
		return "it is longer than 63 bytes";
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return "it must start with a lowercase letter or '_'";
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return "it may hold only lowercase letters, digits and '_'";
	return NULL;
}

/* A suggestion for a bad identifier: lowercased, other characters to '_',
 * cut to 63 bytes. */
char *dbreg_ident_fix(const char *s)
{
	size_t n = strlen(s);
	if (n > 63)
		n = 63;
	char *f = malloc(n + 2);
	if (f == NULL)
		return NULL;
	size_t k = 0;
	if (n > 0 && s[0] >= '0' && s[0] <= '9')
		f[k++] = '_';
	for (size_t i = 0; i < n && k < 63; i++) {
		char ch = s[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
			ch = '_';
		f[k++] = ch;
	}
	f[k] = '\0';
	return f;
}
