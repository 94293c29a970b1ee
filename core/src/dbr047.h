/* DBR047's words: one difference between a package's declared tables and
 * what its migrations produced (schemadiff.h) rendered as a diagnostic at
 * the declaration's position in the manifest. Shared by the SQLite replay
 * (replay.c) and the PostgreSQL one (replay_pg.c), which differ only in the
 * dialect they name. */
#ifndef DBREG_DBR047_H
#define DBREG_DBR047_H

#include "schemadiff.h"

#include <stdarg.h>

/* Who the findings are about and where they go. */
struct dbreg_dbr047 {
	struct dbreg_diag_list *diags;
	const struct dbreg_package *pkg;   /* the package whose declarations are compared */
	enum dbreg_dialect dialect;        /* whose migrations produced `have` */
	const char *file;                  /* the file positions are in when not pkg's manifest
					    * (an up_file's); NULL: pkg->file */
};

/* Appends one DBR047 (printf-formatted) at pos about table/column/migration,
 * with a hint when not NULL. Returns 0 or DBREG_ENOMEM. */
int dbreg_dbr047_add(const struct dbreg_dbr047 *r, struct dbreg_pos pos, const char *table, const char *column,
		     const char *migration, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

int dbreg_dbr047_vadd(const struct dbreg_dbr047 *r, struct dbreg_pos pos, const char *table, const char *column,
		      const char *migration, const char *hint, const char *fmt, va_list ap)
	__attribute__((format(printf, 7, 0)));

/* Appends the DBR047 of a migration whose body failed where the database
 * said (position: 1-based byte offset in the body, 0 when it gave none): at
 * that place of the body's file, else where the body starts, else at the
 * migration. Returns 0 or DBREG_ENOMEM. */
int dbreg_dbr047_failed(const struct dbreg_dbr047 *r, const struct dbreg_migration *m, const struct dbreg_sql *body,
			size_t position, const char *hint, const char *message);

/* Renders a difference (TABLE_EXTRA is the caller's: only it knows which
 * package created the table). Returns 0 or DBREG_ENOMEM. */
int dbreg_dbr047_render(const struct dbreg_dbr047 *r, const struct dbreg_sdiff *d);

#endif
