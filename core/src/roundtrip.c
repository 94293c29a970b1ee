/* `dbreg test`: every migration up, down and up again on a scratch
 * database (sandbox.h), the schema read back through the schema model
 * after each step and compared by the one differ: after the down it must
 * equal the schema before the up, and after the second up the one the
 * first up produced; on PostgreSQL the up runs once more and must change
 * nothing (idempotent bodies). Each difference is a problem naming the
 * package, the migration, the table and the column. */
#include "graph.h"
#include "registry.h"
#include "sandbox.h"
#include "schemadiff.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt {
	struct dbreg_verify_result *out;
	struct dbreg_sandbox sb;
	const struct dbreg_package *pkg;
	const struct dbreg_migration *m;
	int rc;                        /* DBREG_ENOMEM or a connection failure */
};

static void rt_problem(struct rt *r, const char *table, const char *column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void rt_problem(struct rt *r, const char *table, const char *column, const char *fmt, ...)
{
	struct dbreg_verify_result *o = r->out;
	if (o->len == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		struct dbreg_problem *v = realloc(o->items, cap * sizeof *v);
		if (!v) {
			r->rc = DBREG_ENOMEM;
			return;
		}
		o->items = v;
		o->cap = cap;
	}
	struct dbreg_buf b = DBREG_BUF_INIT;
	/* Where the migration is written, as every finding says it. */
	if (r->m && r->pkg->file && r->m->pos.line)
		dbreg_buf_printf(&b, "%s:%u:%u: ", r->pkg->file, r->m->pos.line, r->m->pos.column);
	dbreg_buf_printf(&b, "%s migration %s: ", r->pkg->name, r->m ? r->m->id : "-");
	va_list ap;
	va_start(ap, fmt);
	dbreg_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	struct dbreg_problem *p = &o->items[o->len++];
	p->table = dbreg_strdup(table);
	p->column = dbreg_strdup(column);
	p->message = dbreg_buf_detach(&b);
	if (!p->message)
		r->rc = DBREG_ENOMEM;
}

/* One difference between the schema expected (`want`: before the up, or
 * after the first up) and the one found, in words. */
static void rt_render(struct rt *r, const char *when, const struct dbreg_sdiff *d)
{
	const char *t = d->want_table ? d->want_table->name : d->have_table ? d->have_table->name : "?";
	char *a = NULL;
	switch (d->kind) {
	case DBREG_SDIFF_TABLE_MISSING:
		rt_problem(r, t, NULL, "%s, table %s is missing", when, t);
		break;
	case DBREG_SDIFF_TABLE_EXTRA:
		rt_problem(r, t, NULL, "%s, table %s is still there", when, t);
		break;
	case DBREG_SDIFF_COLUMN_MISSING:
		rt_problem(r, t, d->want_col->name, "%s, column %s.%s is missing", when, t, d->want_col->name);
		break;
	case DBREG_SDIFF_COLUMN_EXTRA:
		rt_problem(r, t, d->have_col->name, "%s, column %s.%s is still there", when, t, d->have_col->name);
		break;
	case DBREG_SDIFF_COLUMN_TYPE:
		rt_problem(r, t, d->want_col->name, "%s, column %s.%s has type %s instead of %s", when, t,
			   d->want_col->name, d->have_col->type, d->want_col->type);
		break;
	case DBREG_SDIFF_COLUMN_NULLABILITY:
		rt_problem(r, t, d->want_col->name, "%s, column %s.%s is %s instead of %s", when, t, d->want_col->name,
			   d->have_col->not_null ? "NOT NULL" : "nullable", d->want_col->not_null ? "NOT NULL" : "nullable");
		break;
	case DBREG_SDIFF_COLUMN_DEFAULT:
		rt_problem(r, t, d->want_col->name, "%s, column %s.%s has default %s instead of %s", when, t,
			   d->want_col->name, d->have_col->def.text ? d->have_col->def.text : "none",
			   d->want_col->def.text ? d->want_col->def.text : "none");
		break;
	case DBREG_SDIFF_PRIMARY_KEY:
		a = dbreg_schema_list_text(d->have_table->primary_key, d->have_table->n_primary_key);
		rt_problem(r, t, NULL, "%s, the primary key of %s differs (now %s)", when, t, a ? a : "");
		break;
	case DBREG_SDIFF_UNIQUE_MISSING:
		a = dbreg_schema_list_text(d->want_uq->columns, d->want_uq->n_columns);
		rt_problem(r, t, NULL, "%s, the unique constraint %s of %s is missing", when, a ? a : "", t);
		break;
	case DBREG_SDIFF_FKEY_MISSING:
	case DBREG_SDIFF_FKEY_EXTRA:
	case DBREG_SDIFF_FKEY_TARGET:
	case DBREG_SDIFF_FKEY_ACTION:
	case DBREG_SDIFF_FKEY_INVALID: {
		const struct dbreg_schema_fkey *f = d->want_fk ? d->want_fk : d->have_fk;
		a = dbreg_schema_list_text(f->columns, f->n_columns);
		rt_problem(r, t, f->n_columns == 1 ? f->columns[0] : NULL, "%s, the foreign key %s%s %s", when, t,
			   a ? a : "",
			   d->kind == DBREG_SDIFF_FKEY_MISSING ? "is missing"
			   : d->kind == DBREG_SDIFF_FKEY_EXTRA ? "is still there"
							       : "differs");
		break;
	}
	default: {
		const struct dbreg_schema_index *ix = d->want_ix ? d->want_ix : d->have_ix;
		rt_problem(r, t, NULL, "%s, index %s of %s %s", when, ix ? ix->name : "?", t,
			   d->kind == DBREG_SDIFF_INDEX_MISSING ? "is missing"
			   : d->kind == DBREG_SDIFF_INDEX_EXTRA ? "is still there"
								: "differs");
		break;
	}
	}
	free(a);
}

/* Compares what the database holds now with `expected`; returns the
 * schema read (the caller frees it). */
static struct dbreg_schema *rt_compare(struct rt *r, struct dbreg_schema *expected, const char *when)
{
	struct dbreg_schema *now = NULL;
	int rc = dbreg_sandbox_read(&r->sb, &now, NULL, 0);
	if (rc != 0) {
		r->rc = rc;
		return NULL;
	}
	if (!expected)
		return now;
	struct dbreg_sdiff_list diffs = DBREG_SDIFF_LIST_INIT;
	const struct dbreg_sdiff_opts opts = {.defaults = true, .extra_tables = true, .conn = r->sb.conn};
	rc = dbreg_schema_diff(&diffs, expected, now, &opts);
	if (rc != 0)
		r->rc = rc;
	for (size_t i = 0; i < diffs.len && r->rc == 0; i++)
		rt_render(r, when, &diffs.items[i]);
	dbreg_sdiff_list_dispose(&diffs);
	return now;
}

/* The round trip of one package's migrations. Returns the number run. */
static size_t rt_package(struct rt *r, const struct dbreg_registry *reg, const char *url)
{
	size_t n = 0;
	r->m = NULL;
	int rc = dbreg_sandbox_open(&r->sb, url);
	if (rc != 0) {
		r->rc = rc;
		return 0;
	}
	if (dbreg_sandbox_dependencies(&r->sb, reg, r->pkg) != 0) {
		rt_problem(r, NULL, NULL, "cannot run its dependencies first: %s", r->sb.err);
		dbreg_sandbox_close(&r->sb);
		return 0;
	}
	enum dbreg_dialect dl = r->sb.dialect;
	const char *dname = dl == DBREG_DIALECT_POSTGRES ? "PostgreSQL" : "SQLite";
	for (size_t i = 0; i < r->pkg->n_migrations && r->rc == 0; i++) {
		r->m = &r->pkg->migrations[i];
		const struct dbreg_sql *up = dbreg_migration_body(r->m, dl, true);
		const struct dbreg_sql *down = dbreg_migration_body(r->m, dl, false);
		if (!up || !up->text) {
			rt_problem(r, NULL, NULL, "no up body for %s", dname);
			break;
		}
		struct dbreg_schema *before = rt_compare(r, NULL, NULL), *after = NULL;
		if (!before)
			break;
		if (dbreg_sandbox_exec(&r->sb, up->text, r->m->transaction) != 0) {
			rt_problem(r, NULL, NULL, "up fails on %s: %s", dname, r->sb.err);
			dbreg_schema_free(before);
			break;
		}
		after = rt_compare(r, NULL, NULL);
		n++;
		if (!down || !down->text) {
			rt_problem(r, NULL, NULL, "no down body for %s: it cannot be undone", dname);
		} else if (dbreg_sandbox_exec(&r->sb, down->text, r->m->transaction) != 0) {
			rt_problem(r, NULL, NULL, "down fails on %s: %s", dname, r->sb.err);
			i = r->pkg->n_migrations;   /* the database is in no known state */
		} else {
			dbreg_schema_free(rt_compare(r, before, "after its down"));
			if (dbreg_sandbox_exec(&r->sb, up->text, r->m->transaction) != 0) {
				rt_problem(r, NULL, NULL, "up after its down fails on %s: %s", dname, r->sb.err);
				i = r->pkg->n_migrations;
			} else if (after) {
				dbreg_schema_free(rt_compare(r, after, "after up, down and up again"));
				/* PostgreSQL bodies must be idempotent (manifest.md): a
				 * third up changes nothing and does not fail. SQLite runs
				 * each migration once. */
				if (dl == DBREG_DIALECT_POSTGRES && r->rc == 0) {
					if (dbreg_sandbox_exec(&r->sb, up->text, r->m->transaction) != 0) {
						rt_problem(r, NULL, NULL, "up run twice fails on %s (not idempotent): %s", dname,
							   r->sb.err);
						i = r->pkg->n_migrations;
					} else {
						dbreg_schema_free(rt_compare(r, after, "after its up ran twice"));
					}
				}
			}
		}
		dbreg_schema_free(before);
		dbreg_schema_free(after);
	}
	dbreg_sandbox_close(&r->sb);
	return n;
}

int dbreg_roundtrip(struct dbreg_verify_result *out, size_t *n_run, struct dbreg_registry *reg, const char *package,
		    const char *url, char *err, size_t errsize)
{
	*n_run = 0;
	struct rt r = {.out = out};
	size_t *order = NULL;
	if (package && !dbreg_registry_find(reg, package)) {
		snprintf(err, errsize, "no package %s in this project", package);
		return DBREG_EINVALID;
	}
	int rc = dbreg_graph_order(reg, &order);
	if (rc != 0) {
		snprintf(err, errsize, "the dependency graph has a cycle");
		return rc;
	}
	for (size_t k = 0; k < reg->n_packages && r.rc == 0; k++) {
		r.pkg = reg->packages[order[k]];
		if (!r.pkg->name || (package && strcmp(r.pkg->name, package) != 0))
			continue;
		*n_run += rt_package(&r, reg, url);
	}
	free(order);
	if (r.rc != 0)
		snprintf(err, errsize, "%s", r.rc == DBREG_ENOMEM ? "out of memory" : r.sb.err);
	return r.rc ? r.rc : out->len ? DBREG_EINVALID : 0;
}
