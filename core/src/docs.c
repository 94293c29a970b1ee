/* `dbreg docs`: Markdown pages with Mermaid diagrams of what the manifests
 * declare: an index with the dependency graph, and one page per package
 * ("@ydtb/basic" -> "ydtb/basic.md"). The pages are a function of the
 * manifests alone (no dates, no paths outside the project, packages in name
 * order, tables in file order), so `--check` can compare bytes. */
#include "ddl.h"
#include "markup.h"
#include "registry.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DOCS_HEADER "<!-- Written by `dbreg docs` from the package manifests; do not edit. -->\n"

/* "@ydtb/basic" -> "ydtb/basic.md", "plain" -> "plain.md". */
static char *docs_page(const char *name)
{
	return dbreg_printf("%s.md", name[0] == '@' ? name + 1 : name);
}

/* The link from one page to another (pages of scoped packages sit one
 * folder down). */
static void docs_link(struct dbreg_buf *b, const char *from, const char *to_name, enum dbreg_md_where where)
{
	char *page = docs_page(to_name);
	dbreg_buf_puts(b, "[");
	dbreg_markup_md_text(b, to_name, where);
	dbreg_buf_puts(b, "](");
	dbreg_buf_puts(b, from && from[0] == '@' ? "../" : "");
	dbreg_markup_md_url(b, page ? page : "");
	dbreg_buf_puts(b, ")");
	free(page);
}

/* Text in a table cell, and a code span in one. */
static void docs_cell(struct dbreg_buf *b, const char *s)
{
	dbreg_markup_md_text(b, s, DBREG_MD_CELL);
}

static void docs_code(struct dbreg_buf *b, const char *s)
{
	dbreg_markup_md_code(b, s, DBREG_MD_CELL);
}

/* A default as the DDL writes it: a string as an SQL literal, quotes
 * doubled ('it''s'); a number, a boolean or default_sql as written. */
static void docs_default(struct dbreg_buf *b, const struct dbreg_column *c)
{
	if (c->default_kind == DBREG_DEFAULT_NONE)
		return;
	struct dbreg_buf sql = DBREG_BUF_INIT;
	if (c->default_kind == DBREG_DEFAULT_STRING)
		dbreg_ddl_literal(&sql, c->default_text);
	else
		dbreg_buf_puts(&sql, c->default_text ? c->default_text : "");
	docs_code(b, sql.ptr);
	b->oom |= sql.oom;
	dbreg_buf_dispose(&sql);
}

static void docs_columns_list(struct dbreg_buf *b, char *const *cols, size_t n, enum dbreg_md_where where)
{
	for (size_t i = 0; i < n; i++) {
		dbreg_buf_puts(b, i ? ", " : "");
		dbreg_markup_md_code(b, cols[i], where);
	}
}

static void docs_table(struct dbreg_buf *b, const struct dbreg_table *t)
{
	dbreg_buf_puts(b, "### ");
	dbreg_markup_md_text(b, t->name, DBREG_MD_INLINE);
	dbreg_buf_puts(b, "\n\n");
	if (t->description) {
		dbreg_markup_md_text(b, t->description, DBREG_MD_INLINE);
		dbreg_buf_puts(b, "\n\n");
	}
	if (t->renamed_from) {
		dbreg_buf_puts(b, "Renamed from ");
		dbreg_markup_md_code(b, t->renamed_from, DBREG_MD_INLINE);
		dbreg_buf_puts(b, ".\n\n");
	}
	dbreg_buf_puts(b, "| column | type | null | default | references | description |\n"
			  "|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < t->n_columns; i++) {
		const struct dbreg_column *c = &t->columns[i];
		bool pk = dbreg_strv_has(t->primary_key, t->n_primary_key, c->name);
		dbreg_buf_puts(b, "| ");
		docs_code(b, c->name);
		dbreg_buf_puts(b, pk ? " (PK)" : "");
		dbreg_buf_puts(b, " | ");
		docs_cell(b, c->type);
		dbreg_buf_printf(b, " | %s | ", c->not_null || pk ? "no" : "yes");
		docs_default(b, c);
		dbreg_buf_puts(b, " | ");
		if (c->ref_table) {
			char *ref = dbreg_printf("%s.%s", c->ref_table, c->ref_column ? c->ref_column : "");
			docs_code(b, ref ? ref : "");
			b->oom |= !ref;
			free(ref);
			if (c->on_delete) {
				dbreg_buf_puts(b, " on delete ");
				docs_cell(b, c->on_delete);
			}
			if (c->on_update) {
				dbreg_buf_puts(b, " on update ");
				docs_cell(b, c->on_update);
			}
		}
		dbreg_buf_puts(b, " | ");
		docs_cell(b, c->description);
		if (c->implicit)
			dbreg_buf_puts(b, c->description ? " (workspace_scoped)" : "added by `workspace_scoped`");
		if (c->unique)
			dbreg_buf_puts(b, c->description || c->implicit ? "; unique" : "unique");
		if (c->renamed_from) {
			dbreg_buf_puts(b, c->description || c->implicit || c->unique ? "; renamed from " : "renamed from ");
			docs_code(b, c->renamed_from);
		}
		dbreg_buf_puts(b, " |\n");
	}
	dbreg_buf_puts(b, "\n");
	if (t->n_primary_key) {
		dbreg_buf_puts(b, "Primary key: ");
		docs_columns_list(b, t->primary_key, t->n_primary_key, DBREG_MD_INLINE);
		dbreg_buf_puts(b, ".\n");
	}
	for (size_t i = 0; i < t->n_uniques; i++) {
		dbreg_buf_puts(b, i ? "; " : "Unique: ");
		dbreg_buf_puts(b, "(");
		docs_columns_list(b, t->uniques[i].columns, t->uniques[i].n_columns, DBREG_MD_INLINE);
		dbreg_buf_puts(b, ")");
	}
	dbreg_buf_puts(b, t->n_uniques ? ".\n" : "");
	dbreg_buf_puts(b, "\n");
	if (t->n_indexes) {
		dbreg_buf_puts(b, "| index | columns | unique |\n|---|---|---|\n");
		for (size_t i = 0; i < t->n_indexes; i++) {
			const struct dbreg_index *ix = &t->indexes[i];
			dbreg_buf_puts(b, "| ");
			docs_code(b, ix->name);
			dbreg_buf_puts(b, " | ");
			docs_columns_list(b, ix->columns, ix->n_columns, DBREG_MD_CELL);
			dbreg_buf_printf(b, " | %s |\n", ix->unique ? "yes" : "no");
		}
		dbreg_buf_puts(b, "\n");
	}
}

/* The package's tables as an erDiagram, with each foreign key as a
 * relationship (tables of other packages appear by name only). */
static void docs_er(struct dbreg_buf *b, const struct dbreg_package *p)
{
	dbreg_buf_puts(b, "```mermaid\nerDiagram\n");
	for (size_t i = 0; i < p->n_tables; i++) {
		const struct dbreg_table *t = &p->tables[i];
		dbreg_buf_puts(b, "  ");
		dbreg_markup_er_entity(b, t->name);
		dbreg_buf_puts(b, " {\n");
		for (size_t k = 0; k < t->n_columns; k++) {
			const struct dbreg_column *c = &t->columns[k];
			dbreg_buf_puts(b, "    ");
			dbreg_markup_er_word(b, c->type ? c->type : "text");
			dbreg_buf_puts(b, " ");
			dbreg_markup_er_word(b, c->name);
			const char *keys[3];
			size_t nk = 0;
			if (dbreg_strv_has(t->primary_key, t->n_primary_key, c->name))
				keys[nk++] = "PK";
			if (c->ref_table)
				keys[nk++] = "FK";
			if (c->unique)
				keys[nk++] = "UK";
			for (size_t j = 0; j < nk; j++)
				dbreg_buf_printf(b, "%s%s", j ? ", " : " ", keys[j]);
			if (c->description) {
				dbreg_buf_puts(b, " ");
				dbreg_markup_mermaid_string(b, c->description, DBREG_MERMAID_LABEL);
			}
			dbreg_buf_puts(b, "\n");
		}
		dbreg_buf_puts(b, "  }\n");
	}
	for (size_t i = 0; i < p->n_tables; i++) {
		const struct dbreg_table *t = &p->tables[i];
		for (size_t k = 0; k < t->n_columns; k++) {
			const struct dbreg_column *c = &t->columns[k];
			if (!c->ref_table)
				continue;
			bool one = c->unique || (t->n_primary_key == 1 && strcmp(t->primary_key[0], c->name) == 0);
			bool required = c->not_null || dbreg_strv_has(t->primary_key, t->n_primary_key, c->name);
			dbreg_buf_puts(b, "  ");
			dbreg_markup_er_entity(b, c->ref_table);
			dbreg_buf_printf(b, " %s--%s ", required ? "||" : "|o", one ? "o|" : "o{");
			dbreg_markup_er_entity(b, t->name);
			dbreg_buf_puts(b, " : ");
			dbreg_markup_mermaid_string(b, c->name, DBREG_MERMAID_ER_LINE);
			dbreg_buf_puts(b, "\n");
		}
	}
	dbreg_buf_puts(b, "```\n\n");
}

static int docs_cmp_pkg(const void *a, const void *b)
{
	const struct dbreg_package *x = *(const struct dbreg_package *const *)a;
	const struct dbreg_package *y = *(const struct dbreg_package *const *)b;
	return strcmp(x->name, y->name);
}

static bool docs_depends(const struct dbreg_package *p, const char *name)
{
	for (size_t i = 0; i < p->n_deps; i++)
		if (p->deps[i].name && strcmp(p->deps[i].name, name) == 0)
			return true;
	return false;
}

/* The manifest's path relative to the project folder, whatever the
 * current folder: pages must not change with -C. */
static const char *docs_rel(const struct dbreg_package *p, const char *project_dir, char *buf, size_t size)
{
	const char *slash = strrchr(p->file, '/');
	const char *base = slash ? slash + 1 : p->file;
	const char *dir = p->base_dir ? p->base_dir : ".";
	size_t n = project_dir ? strlen(project_dir) : 0;
	if (n && strcmp(project_dir, ".") != 0 && strncmp(dir, project_dir, n) == 0 && (dir[n] == '/' || !dir[n]))
		dir += n + (dir[n] == '/');
	else if (strcmp(dir, ".") == 0 || strncmp(dir, "./", 2) == 0)
		dir += dir[1] == '/' ? 2 : 1;
	snprintf(buf, size, "%s%s%s", dir, *dir ? "/" : "", base);
	return buf;
}

static void docs_package(struct dbreg_buf *b, const struct dbreg_package *p, const struct dbreg_package *const *all,
			 size_t n_all, const char *project_dir)
{
	char rel[1024];
	dbreg_buf_puts(b, DOCS_HEADER "# ");
	dbreg_markup_md_text(b, p->name, DBREG_MD_INLINE);
	dbreg_buf_puts(b, "\n\n");
	if (p->description) {
		dbreg_markup_md_text(b, p->description, DBREG_MD_INLINE);
		dbreg_buf_puts(b, "\n\n");
	}
	dbreg_buf_puts(b, "| | |\n|---|---|\n| version | ");
	docs_cell(b, p->version_text);
	dbreg_buf_printf(b, " |\n| kind | %s |\n| manifest | ", p->core ? "core" : "package");
	docs_code(b, docs_rel(p, project_dir, rel, sizeof rel));
	dbreg_buf_puts(b, " |\n");
	if (p->n_deps) {
		dbreg_buf_puts(b, "| depends on | ");
		for (size_t i = 0; i < p->n_deps; i++) {
			dbreg_buf_puts(b, i ? ", " : "");
			docs_link(b, p->name, p->deps[i].name, DBREG_MD_CELL);
			dbreg_buf_puts(b, " ");
			docs_code(b, p->deps[i].range_text);
		}
		dbreg_buf_puts(b, " |\n");
	}
	bool any = false;
	for (size_t i = 0; i < n_all; i++) {
		if (!docs_depends(all[i], p->name))
			continue;
		dbreg_buf_puts(b, any ? ", " : "| used by | ");
		docs_link(b, p->name, all[i]->name, DBREG_MD_CELL);
		any = true;
	}
	dbreg_buf_puts(b, any ? " |\n\n" : "\n");

	dbreg_buf_printf(b, "## Tables\n\n");
	if (p->n_tables == 0)
		dbreg_buf_puts(b, "None.\n\n");
	for (size_t i = 0; i < p->n_tables; i++)
		docs_table(b, &p->tables[i]);
	if (p->n_tables) {
		dbreg_buf_puts(b, "## Diagram\n\n");
		docs_er(b, p);
	}
	if (p->n_tools) {
		dbreg_buf_puts(b, "## Tools\n\n| id | name | description | icon |\n|---|---|---|---|\n");
		for (size_t i = 0; i < p->n_tools; i++) {
			const struct dbreg_tool *t = &p->tools[i];
			dbreg_buf_puts(b, "| ");
			docs_code(b, t->id);
			dbreg_buf_puts(b, " | ");
			docs_cell(b, t->name);
			dbreg_buf_puts(b, " | ");
			docs_cell(b, t->description);
			dbreg_buf_puts(b, " | ");
			docs_cell(b, t->icon);
			dbreg_buf_puts(b, " |\n");
		}
		dbreg_buf_puts(b, "\n");
	}
	dbreg_buf_puts(b, "## Migrations\n\n");
	if (p->n_migrations == 0)
		dbreg_buf_puts(b, "None.\n");
	else
		dbreg_buf_puts(b, "| id | version | description | transaction | down |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < p->n_migrations; i++) {
		const struct dbreg_migration *m = &p->migrations[i];
		bool down_pg = dbreg_migration_body(m, DBREG_DIALECT_POSTGRES, false) != NULL;
		bool down_sq = dbreg_migration_body(m, DBREG_DIALECT_SQLITE, false) != NULL;
		dbreg_buf_puts(b, "| ");
		docs_code(b, m->id);
		dbreg_buf_puts(b, " | ");
		docs_cell(b, m->version_text);
		dbreg_buf_puts(b, " | ");
		docs_cell(b, m->description);
		dbreg_buf_printf(b, " | %s | %s |\n", m->transaction ? "yes" : "no",
				 down_pg && down_sq ? "yes" : down_pg ? "PostgreSQL only" : down_sq ? "SQLite only" : "no");
	}
}

static void docs_index(struct dbreg_buf *b, const struct dbreg_package *const *all, size_t n)
{
	size_t tables = 0;
	for (size_t i = 0; i < n; i++)
		tables += all[i]->n_tables;
	dbreg_buf_printf(b, DOCS_HEADER "# Database schema\n\n%zu package%s, %zu table%s.\n\n", n, n == 1 ? "" : "s",
			 tables, tables == 1 ? "" : "s");
	dbreg_buf_puts(b, "| package | version | kind | tables | description |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++) {
		dbreg_buf_puts(b, "| ");
		docs_link(b, NULL, all[i]->name, DBREG_MD_CELL);
		dbreg_buf_puts(b, " | ");
		docs_cell(b, all[i]->version_text);
		dbreg_buf_printf(b, " | %s | %zu | ", all[i]->core ? "core" : "package", all[i]->n_tables);
		docs_cell(b, all[i]->description);
		dbreg_buf_puts(b, " |\n");
	}
	/* Declared dependencies as solid edges labelled with their range; the
	 * implicit dependency of every package on core as a dotted one. */
	dbreg_buf_puts(b, "\n## Dependencies\n\nSolid: declared, with the range; dotted: the implicit dependency on "
			  "the core package.\n\n```mermaid\ngraph TD\n");
	const struct dbreg_package *core = NULL;
	for (size_t i = 0; i < n; i++) {
		char *label = dbreg_printf("%s %s", all[i]->name, all[i]->version_text ? all[i]->version_text : "");
		dbreg_buf_printf(b, "  p%zu[", i);
		dbreg_markup_mermaid_string(b, label ? label : "", DBREG_MERMAID_LABEL);
		dbreg_buf_puts(b, "]\n");
		b->oom |= !label;
		free(label);
		if (all[i]->core)
			core = all[i];
	}
	for (size_t i = 0; i < n; i++) {
		const struct dbreg_package *p = all[i];
		for (size_t d = 0; d < p->n_deps; d++)
			for (size_t j = 0; j < n; j++)
				if (p->deps[d].name && strcmp(all[j]->name, p->deps[d].name) == 0) {
					dbreg_buf_printf(b, "  p%zu -->|", i);
					dbreg_markup_mermaid_string(b, p->deps[d].range_text, DBREG_MERMAID_LABEL);
					dbreg_buf_printf(b, "| p%zu\n", j);
				}
		if (core && p != core && !docs_depends(p, core->name))
			for (size_t j = 0; j < n; j++)
				if (all[j] == core)
					dbreg_buf_printf(b, "  p%zu -.-> p%zu\n", i, j);
	}
	dbreg_buf_puts(b, "```\n");
}

void dbreg_docs_dispose(struct dbreg_docs *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->files[i].path);
		free(d->files[i].text);
	}
	free(d->files);
	d->files = NULL;
	d->n = 0;
}

static int docs_push(struct dbreg_docs *d, char *path, struct dbreg_buf *b)
{
	struct dbreg_doc_file *f = realloc(d->files, (d->n + 1) * sizeof *f);
	if (!f || !path || b->oom) {
		if (f)
			d->files = f;
		free(path);
		dbreg_buf_dispose(b);
		return DBREG_ENOMEM;
	}
	d->files = f;
	f[d->n].path = path;
	f[d->n].len = b->len;
	f[d->n].text = dbreg_buf_detach(b);
	d->n++;
	return 0;
}

int dbreg_docs_render(struct dbreg_docs *out, const struct dbreg_registry *reg, const char *project_dir)
{
	out->files = NULL;
	out->n = 0;
	size_t n = 0;
	const struct dbreg_package **all = calloc(reg->n_packages + 1, sizeof *all);
	if (!all)
		return DBREG_ENOMEM;
	for (size_t i = 0; i < reg->n_packages; i++)
		if (reg->packages[i]->name)
			all[n++] = reg->packages[i];
	qsort(all, n, sizeof *all, docs_cmp_pkg);
	struct dbreg_buf b = DBREG_BUF_INIT;
	docs_index(&b, all, n);
	int rc = docs_push(out, dbreg_strdup("README.md"), &b);
	for (size_t i = 0; i < n && rc == 0; i++) {
		docs_package(&b, all[i], all, n, project_dir);
		rc = docs_push(out, docs_page(all[i]->name), &b);
	}
	free(all);
	if (rc < 0)
		dbreg_docs_dispose(out);
	return rc;
}

/* ---- writing and checking a folder of pages ---- */

static int docs_mkdirs(const char *path)
{
	/* Every folder above the file, as mkdir -p. */
	char *p = dbreg_strdup(path);
	if (!p)
		return DBREG_ENOMEM;
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			free(p);
			return DBREG_EIO;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

static bool docs_known(const struct dbreg_docs *d, const char *rel)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->files[i].path, rel) == 0)
			return true;
	return false;
}

/* Pages written by an earlier run for a package that is gone: *.md files
 * under dir that start with our header and are not in d. Files someone
 * else wrote are never touched. */
static int docs_stale(const struct dbreg_docs *d, const char *dir, const char *rel, int depth, char ***out,
		      size_t *n)
{
	char *full = rel[0] ? dbreg_printf("%s/%s", dir, rel) : dbreg_strdup(dir);
	if (!full)
		return DBREG_ENOMEM;
	DIR *dp = opendir(full);
	int rc = 0;
	struct dirent *e;
	while (dp && rc == 0 && (e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *child = rel[0] ? dbreg_printf("%s/%s", rel, e->d_name) : dbreg_strdup(e->d_name);
		char *child_full = dbreg_printf("%s/%s", full, e->d_name);
		struct stat st;
		size_t len = strlen(e->d_name);
		if (!child || !child_full) {
			rc = DBREG_ENOMEM;
		} else if (lstat(child_full, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (depth < 4)
				rc = docs_stale(d, dir, child, depth + 1, out, n);
		} else if (S_ISREG(st.st_mode) && len > 3 && strcmp(e->d_name + len - 3, ".md") == 0 &&
			   !docs_known(d, child)) {
			char *text = NULL;
			size_t tlen = 0;
			if (dbreg_read_file(child_full, &text, &tlen) == 0 &&
			    strncmp(text, DOCS_HEADER, strlen(DOCS_HEADER)) == 0)
				rc = dbreg_strv_push(out, n, child);
			free(text);
		}
		free(child);
		free(child_full);
	}
	if (dp)
		closedir(dp);
	free(full);
	return rc;
}

int dbreg_docs_sync(const struct dbreg_docs *d, const char *dir, bool check, char ***changed, size_t *n_changed,
		    char *err, size_t errsize)
{
	*changed = NULL;
	*n_changed = 0;
	int rc = 0;
	for (size_t i = 0; i < d->n && rc == 0; i++) {
		char *path = dbreg_printf("%s/%s", dir, d->files[i].path);
		char *text = NULL;
		size_t len = 0;
		if (!path)
			return DBREG_ENOMEM;
		bool same = dbreg_read_file(path, &text, &len) == 0 && len == d->files[i].len &&
			    memcmp(text, d->files[i].text, len) == 0;
		free(text);
		if (!same) {
			rc = dbreg_strv_push(changed, n_changed, d->files[i].path);
			if (rc == 0 && !check) {
				if (docs_mkdirs(path) != 0) {
					snprintf(err, errsize, "cannot create the folders of %s: %s", path, strerror(errno));
					rc = DBREG_EIO;
				} else {
					rc = dbreg_write_file(path, d->files[i].text, d->files[i].len, err, errsize);
				}
			}
		}
		free(path);
	}
	char **stale = NULL;
	size_t n_stale = 0;
	if (rc == 0)
		rc = docs_stale(d, dir, "", 0, &stale, &n_stale);
	for (size_t i = 0; i < n_stale && rc == 0; i++) {
		rc = dbreg_strv_push(changed, n_changed, stale[i]);
		char *path = dbreg_printf("%s/%s", dir, stale[i]);
		if (rc == 0 && !check && path && unlink(path) != 0) {
			snprintf(err, errsize, "cannot remove %s: %s", path, strerror(errno));
			rc = DBREG_EIO;
		}
		free(path);
	}
	dbreg_strv_free(stale, n_stale);
	if (rc == DBREG_ENOMEM)
		snprintf(err, errsize, "out of memory");
	return rc;
}
