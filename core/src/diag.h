/* Adding diagnostics to a list: the internal side of dbreg_diag_list.
 * Codes come from the one table in diag.c, which also fixes each code's
 * severity, so a check names only the code. */
#ifndef DBREG_DIAG_H
#define DBREG_DIAG_H

#include "dbreg.h"

#include <stdarg.h>

/* Where a finding is, and what it is about; any field may be NULL/0. */
struct dbreg_diag_at {
	const char *file;
	unsigned line, column;
	const char *package, *table, *column_name, *migration;
};

/* Whether code is one a migration statement's finding can carry (where a
 * dbreg:ignore comment is read): the isolation and SQL checks' codes. */
bool dbreg_diag_on_statement(const char *code);
/* The code table's i-th code, in order; NULL past its end. */
const char *dbreg_diag_code(size_t i);

/* Appends a diagnostic with a printf-formatted message. The severity comes
 * from the code table; an unknown code is a programming error (assert).
 * Returns 0 or DBREG_ENOMEM. */
int dbreg_diag_addf(struct dbreg_diag_list *list, const char *code, const struct dbreg_diag_at *at,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The same with a va_list, for the modules' own wrappers that add their
 * context (file, package, ...) and pass the caller's format through. */
int dbreg_diag_vaddf(struct dbreg_diag_list *list, const char *code, const struct dbreg_diag_at *at,
		     const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/* Sets the hint of the last diagnostic added (printf-formatted). */
int dbreg_diag_hintf(struct dbreg_diag_list *list, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int dbreg_diag_vhintf(struct dbreg_diag_list *list, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* A file that is not TOML (a manifest, dbreg.toml): DBR001 at the parser's
 * position with its message, and the one hint for it. Returns 0 or
 * DBREG_ENOMEM. */
int dbreg_diag_invalid_toml(struct dbreg_diag_list *list, const struct dbreg_diag_at *at, const char *message);

/* Development flags: turns every error from index `from` on whose code is
 * one of codes[0..n) into a DBR105 warning whose message names the code and
 * `why` ("--allow on a development target"). Returns 0 or DBREG_ENOMEM. */
int dbreg_diag_list_bypass(struct dbreg_diag_list *list, size_t from, const char *const *codes, size_t n,
			   const char *why);

/* Appends a copy of d (its severity kept, the counts with it), or of
 * every diagnostic of src, to dst. Returns 0 or DBREG_ENOMEM. */
int dbreg_diag_copy(struct dbreg_diag_list *dst, const struct dbreg_diag *d);
int dbreg_diag_list_copy(struct dbreg_diag_list *dst, const struct dbreg_diag_list *src);

/* Moves every diagnostic of src to the end of dst; src is left empty. */
int dbreg_diag_list_move(struct dbreg_diag_list *dst, struct dbreg_diag_list *src);

/* Moves the diagnostics of src from index `from` on to the end of dst,
 * leaving src's first `from`. Returns 0 or DBREG_ENOMEM (what did not fit
 * stays in src). */
/* Frees and takes out of the list, from index `from` on, the findings
 * `drop` says so of (ctx passed through); the counts follow. */
void dbreg_diag_list_drop(struct dbreg_diag_list *list, size_t from,
			  bool (*drop)(const struct dbreg_diag *d, const void *ctx), const void *ctx);
int dbreg_diag_list_move_from(struct dbreg_diag_list *dst, struct dbreg_diag_list *src, size_t from);

#endif
