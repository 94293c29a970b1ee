/* DBR047's words for each kind of difference (dbr047.h). */
#include "dbr047.h"
#include "diag.h"
#include "rules.h"
#include "util.h"

#include <stdarg.h>
#include <stdlib.h>

int dbreg_dbr047_vadd(const struct dbreg_dbr047 *r, struct dbreg_pos pos, const char *table, const char *column,
		      const char *migration, const char *hint, const char *fmt, va_list ap)
{
	struct dbreg_diag_at at = {.file = r->file ? r->file : r->pkg->file, .line = pos.line, .column = pos.column,
				   .package = r->pkg->name, .table = table, .column_name = column,
				   .migration = migration};
	int rc = dbreg_diag_vaddf(r->diags, "DBR047", &at, fmt, ap);
	if (rc == 0 && hint)
		rc = dbreg_diag_hintf(r->diags, "%s", hint);
	return rc ? DBREG_ENOMEM : 0;
}

int dbreg_dbr047_add(const struct dbreg_dbr047 *r, struct dbreg_pos pos, const char *table, const char *column,
		     const char *migration, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = dbreg_dbr047_vadd(r, pos, table, column, migration, hint, fmt, ap);
	va_end(ap);
	return rc;
}

int dbreg_dbr047_failed(const struct dbreg_dbr047 *r, const struct dbreg_migration *m, const struct dbreg_sql *body,
			size_t position, const char *hint, const char *message)
{
	struct dbreg_pos pos = m->pos;
	struct dbreg_dbr047 in = *r;
	if (body && (position > 0 || body->pos.line)) {
		if (position > 0)
			dbreg_sql_loc(body, position - 1, &pos.line, &pos.column);
		else
			dbreg_sql_origin(body, &pos.line, &pos.column);
		/* Positions in a body are in its file: the manifest, or an up_file. */
		in.file = body->file;
	}
	const char *dialect = r->dialect == DBREG_DIALECT_POSTGRES ? "PostgreSQL" : "SQLite";
	return dbreg_dbr047_add(&in, pos, NULL, NULL, m->id, hint, "migration %s fails on %s: %s", m->id ? m->id : "",
				dialect, message);
}

/* The SQL of a default as the manifest means it, for messages. */
static void dbr047_default_text(struct dbreg_buf *b, const struct dbreg_schema_column *col)
{
	if (col->def.kind == DBREG_DV_NONE)
		dbreg_buf_puts(b, "none");
	else
		dbreg_schema_default_sql(b, &col->def);
}

/* The hint of a declaration the migrations do not build yet: the command
 * that writes the missing migration, then how to write it by hand. */
static const char *dbr047_generate(char *buf, size_t size, const struct dbreg_dbr047 *c, const char *by_hand)
{
	snprintf(buf, size, "dbreg generate %s%s appends the migration that builds what is declared%s%s",
		 c->pkg->name ? c->pkg->name : "PKG", c->dialect == DBREG_DIALECT_SQLITE ? "" : " --target URL",
		 by_hand ? "; by hand: " : "", by_hand ? by_hand : "");
	return buf;
}

/* Renders one difference between the declared tables (want) and what the
 * migrations produced (have) as a DBR047 at the declaration's position. */
int dbreg_dbr047_render(const struct dbreg_dbr047 *c, const struct dbreg_sdiff *d)
{
	char gen[512];
	/* "the migrations" on SQLite, where DBR047 has always looked;
	 * "the PostgreSQL migrations" when the bodies were replayed there. */
	const char *migs = c->dialect == DBREG_DIALECT_SQLITE ? "the migrations" : "the PostgreSQL migrations";
	int rc = 0;
	const struct dbreg_schema_table *t = d->want_table;
	const char *tn = t ? t->name : d->have_table->name;
	const struct dbreg_schema_column *wc = d->want_col, *hc = d->have_col;
	char *a = NULL, *b = NULL;
	/* dbreg's own tables, which the replay holds before any migration:
	 * declaring or creating one is DBR024's and DBR046's finding. */
	if (dbreg_rules_reserved_table(tn))
		return 0;
	switch (d->kind) {
	case DBREG_SDIFF_TABLE_MISSING:
		rc = dbreg_dbr047_add(c, t->pos, tn, NULL, NULL, dbr047_generate(gen, sizeof gen, c, "CREATE TABLE IF NOT EXISTS in a new migration"),
			"table %s is declared but %s do not create it", tn, migs);
		break;
	case DBREG_SDIFF_TABLE_EXTRA:
		break; /* rp_compare knows which tables the package created */
	case DBREG_SDIFF_COLUMN_MISSING:
		rc = dbreg_dbr047_add(c, wc->pos, tn, wc->name, NULL, dbr047_generate(gen, sizeof gen, c, "ALTER TABLE ... ADD COLUMN in a new migration"),
			"table %s: column %s is declared but %s do not create it", tn, wc->name, migs);
		break;
	case DBREG_SDIFF_COLUMN_EXTRA:
		rc = dbreg_dbr047_add(c, t->pos, tn, hc->name, NULL, "declare it among the table's columns, or drop it in a migration",
			"table %s: column %s is created by %s but not declared", tn, hc->name, migs);
		break;
	case DBREG_SDIFF_COLUMN_TYPE:
		if (c->dialect == DBREG_DIALECT_SQLITE) {
			rc = dbreg_dbr047_add(c, wc->pos, tn, wc->name, NULL, dbr047_generate(gen, sizeof gen, c, NULL),
				"table %s: column %s is declared %s (SQLite affinity %s) but %s create it as %s (affinity %s)",
				tn, wc->name, wc->type, wc->ptype.info ? wc->ptype.info->sqlite : "?", migs,
				hc->type && *hc->type ? hc->type : "untyped", dbreg_type_affinity(hc->type));
		} else {
			char want[128];
			dbreg_type_pg_spelling(&wc->ptype, want, sizeof want);
			rc = dbreg_dbr047_add(c, wc->pos, tn, wc->name, NULL, dbr047_generate(gen, sizeof gen, c, NULL),
				"table %s: column %s is declared %s (PostgreSQL %s) but %s create it as %s", tn, wc->name,
				wc->type, want, migs, hc->type && *hc->type ? hc->type : "untyped");
		}
		break;
	case DBREG_SDIFF_COLUMN_NULLABILITY:
		if (wc->not_null)
			rc = dbreg_dbr047_add(c, wc->pos, tn, wc->name, NULL, dbr047_generate(gen, sizeof gen, c, NULL),
				"table %s: column %s is declared not_null but %s leave it nullable", tn, wc->name, migs);
		else
			rc = dbreg_dbr047_add(c, wc->pos, tn, wc->name, NULL, "declare it with not_null = true",
				"table %s: column %s is NOT NULL in %s but not declared not_null", tn, wc->name, migs);
		break;
	case DBREG_SDIFF_COLUMN_DEFAULT: {
		if (dbreg_sdiff_lost_sequence(d)) {
			rc = dbreg_dbr047_add(c, wc->pos, tn, wc->name, NULL, dbr047_generate(gen, sizeof gen, c, NULL),
				"table %s: column %s is declared %s but %s give it no sequence (%s, not an identity column)",
				tn, wc->name, wc->type, migs, hc->def.text ? hc->def.text : "no default");
			break;
		}
		struct dbreg_buf w = DBREG_BUF_INIT;
		dbr047_default_text(&w, wc);
		rc = dbreg_dbr047_add(c, wc->pos, tn, wc->name, NULL, dbr047_generate(gen, sizeof gen, c, NULL),
			"table %s: column %s is declared with default %s but %s give it %s", tn, wc->name,
			w.ptr ? w.ptr : "", migs, hc->def.text ? hc->def.text : "none");
		dbreg_buf_dispose(&w);
		break;
	}
	case DBREG_SDIFF_PRIMARY_KEY:
		a = dbreg_schema_list_text(t->primary_key, t->n_primary_key);
		b = dbreg_schema_list_text(d->have_table->primary_key, d->have_table->n_primary_key);
		rc = dbreg_dbr047_add(c, t->pos, tn, NULL, NULL, dbr047_generate(gen, sizeof gen, c, NULL), "table %s: the primary key is declared %s but %s create %s",
			tn, a ? a : "", migs, d->have_table->n_primary_key ? (b ? b : "") : "none");
		break;
	case DBREG_SDIFF_UNIQUE_MISSING:
		a = dbreg_schema_list_text(d->want_uq->columns, d->want_uq->n_columns);
		rc = dbreg_dbr047_add(c, d->want_uq->pos, tn, d->want_uq->n_columns == 1 ? d->want_uq->columns[0] : NULL, NULL,
			dbr047_generate(gen, sizeof gen, c, NULL),
			"table %s: unique %s is declared but %s create no unique constraint on it", tn, a ? a : "", migs);
		break;
	case DBREG_SDIFF_FKEY_MISSING:
		rc = dbreg_dbr047_add(c, d->want_fk->pos, tn, d->want_fk->columns[0], NULL, dbr047_generate(gen, sizeof gen, c, NULL),
			"table %s: column %s is declared to reference %s(%s) but %s create no foreign key on it",
			tn, d->want_fk->columns[0], d->want_fk->ref_table, d->want_fk->ref_columns[0] ? d->want_fk->ref_columns[0] : "?", migs);
		break;
	case DBREG_SDIFF_FKEY_TARGET:
		rc = dbreg_dbr047_add(c, d->want_fk->pos, tn, d->want_fk->columns[0], NULL, dbr047_generate(gen, sizeof gen, c, NULL),
			"table %s: column %s is declared to reference %s(%s) but %s make it reference %s(%s)", tn,
			d->want_fk->columns[0], d->want_fk->ref_table, d->want_fk->ref_columns[0] ? d->want_fk->ref_columns[0] : "?", migs,
			d->have_fk->ref_table ? d->have_fk->ref_table : "?",
			d->have_fk->ref_columns[0] ? d->have_fk->ref_columns[0] : "?");
		break;
	case DBREG_SDIFF_FKEY_ACTION:
		rc = dbreg_dbr047_add(c, d->want_fk->pos, tn, d->want_fk->columns[0], NULL, dbr047_generate(gen, sizeof gen, c, NULL),
			"table %s: column %s is declared %s = \"%s\" but %s' foreign key says ON %s %s", tn,
			d->want_fk->columns[0], d->on_update ? "on_update" : "on_delete",
			d->on_update ? d->want_fk->on_update : d->want_fk->on_delete, migs, d->on_update ? "UPDATE" : "DELETE",
			d->on_update ? d->have_fk->on_update : d->have_fk->on_delete);
		break;
	case DBREG_SDIFF_FKEY_EXTRA: {
		const struct dbreg_schema_column *col =
			d->have_fk->n_columns == 1 ? dbreg_schema_column(t, d->have_fk->columns[0]) : NULL;
		a = dbreg_schema_list_text(d->have_fk->columns, d->have_fk->n_columns);
		rc = dbreg_dbr047_add(c, col ? col->pos : t->pos, tn, col ? col->name : NULL, NULL,
			"declare it with references = \"table.column\"",
			"table %s: %s create a foreign key %s to %s that is not declared", tn, migs, a ? a : "",
			d->have_fk->ref_table ? d->have_fk->ref_table : "?");
		break;
	}
	case DBREG_SDIFF_INDEX_MISSING:
		a = dbreg_schema_list_text(d->want_ix->columns, d->want_ix->n_columns);
		rc = dbreg_dbr047_add(c, d->want_ix->pos, tn, NULL, NULL, dbr047_generate(gen, sizeof gen, c, NULL),
			"table %s: index %s %s is declared but %s do not create it", tn, d->want_ix->name, a ? a : "", migs);
		break;
	case DBREG_SDIFF_INDEX_NAME:
		rc = dbreg_dbr047_add(c, d->want_ix->pos, tn, NULL, NULL, "give the index the same name in the migration and the declaration",
			"table %s: index %s is declared but %s create it as %s", tn, d->want_ix->name, migs,
			d->have_ix->name);
		break;
	case DBREG_SDIFF_INDEX_COLUMNS:
		a = dbreg_schema_list_text(d->want_ix->columns, d->want_ix->n_columns);
		b = dbreg_schema_list_text(d->have_ix->columns, d->have_ix->n_columns);
		rc = dbreg_dbr047_add(c, d->want_ix->pos, tn, NULL, NULL, dbr047_generate(gen, sizeof gen, c, NULL),
			"table %s: index %s is declared on %s but %s create it on %s", tn, d->want_ix->name,
			a ? a : "", migs, b ? b : "");
		break;
	case DBREG_SDIFF_INDEX_UNIQUE:
		rc = dbreg_dbr047_add(c, d->want_ix->pos, tn, NULL, NULL, dbr047_generate(gen, sizeof gen, c, NULL),
			"table %s: index %s is declared %s but %s create it %s", tn, d->want_ix->name,
			d->want_ix->unique ? "unique" : "not unique", migs, d->have_ix->unique ? "unique" : "not unique");
		break;
	case DBREG_SDIFF_INDEX_EXTRA:
		a = dbreg_schema_list_text(d->have_ix->columns, d->have_ix->n_columns);
		rc = dbreg_dbr047_add(c, t->pos, tn, NULL, NULL, "declare it under [tables.NAME.indexes] (or as unique)",
			"table %s: %s create %sindex %s %s that is not declared", tn, migs,
			d->have_ix->unique ? "unique " : "", d->have_ix->name, a ? a : "");
		break;
	case DBREG_SDIFF_INDEX_INVALID:
		rc = dbreg_dbr047_add(c, t ? t->pos : (struct dbreg_pos){0, 0}, tn, NULL, NULL, NULL,
			"table %s: the migrations leave index %s INVALID", tn, d->have_ix->name);
		break;
	case DBREG_SDIFF_FKEY_INVALID:
		rc = dbreg_dbr047_add(c, d->want_fk->pos, tn, d->want_fk->columns[0], NULL,
			"validate it in a later migration: ALTER TABLE ... VALIDATE CONSTRAINT",
			"table %s: %s leave the foreign key on %s NOT VALID", tn, migs, d->want_fk->columns[0]);
		break;
	}
	free(a);
	free(b);
	return rc;
}
