/* Suppression comments in migration SQL (manifest.md "Suppressing a
 * finding"): `-- dbreg:ignore CODE[,CODE...] reason` on the line before a
 * statement, or at the end of its first line. sqlcheck.c finds the comment
 * of each statement and routes that statement's findings through here. */
#ifndef DBREG_SUPPRESS_H
#define DBREG_SUPPRESS_H

#include "diag.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define DBREG_SUPPRESS_MAX_CODES 8

struct dbreg_suppress {
	size_t n_codes;                /* 0: the statement has no comment */
	char codes[DBREG_SUPPRESS_MAX_CODES][8];
	size_t at[DBREG_SUPPRESS_MAX_CODES];   /* byte of each code in the SQL */
	char reason[256];              /* the rest of the comment's line, trimmed; "" when none */
	unsigned used;                 /* bit i: a finding of its statements carried codes[i] (marked below) */
};

/* Fills *out with the comment of the statement whose text starts at byte
 * `start` of `sql` (after blanks and comments) and whose raw extent starts
 * at `begin` (just after the previous statement's ';'). Nothing found:
 * out->n_codes == 0. */
void dbreg_suppress_find(struct dbreg_suppress *out, const char *sql, size_t begin, size_t start);

/* Fills *out with the suppression comment whose "--" is at byte `at` of
 * sql; returns whether it is one. */
bool dbreg_suppress_parse_at(struct dbreg_suppress *out, const char *sql, size_t at);

/* Writes the codes a comment on a statement can usefully suppress (DBR043,
 * DBR103), ", " between them, into buf (cut to size), for hints. */
void dbreg_suppress_codes(char *buf, size_t size);

/* Whether a comment may suppress a code: warnings (DBR1xx) and DBR043; the
 * isolation and schema rules (DBR02x, DBR046, DBR047) never. */
bool dbreg_suppress_allowed(const char *code);

/* The index of code among the comment's codes, -1 when it does not name
 * it (sup NULL: none). */
int dbreg_suppress_index(const struct dbreg_suppress *sup, const char *code);

/* Whether a and b are the same comment (two statements on its line share
 * it); no comment is never the same as another. */
bool dbreg_suppress_same(const struct dbreg_suppress *a, const struct dbreg_suppress *b);

/* Writes into buf (cut to size) the words a finding's message ends with
 * when the comment `sup` (NULL: none) names its code but cannot suppress
 * it, else "": the finding stays, and says why the comment did nothing.
 * This and dbreg_suppress_vaddf mark the code used in sup. */
void dbreg_suppress_refused(struct dbreg_suppress *sup, const char *code, char *buf, size_t size);

/* Adds a finding of the statement that `sup` belongs to: as a DBR105 warning
 * naming the code and the reason when the comment names the code and may
 * suppress it, else as itself (with a hint when the comment names a code it
 * cannot suppress). Returns 0 or DBREG_ENOMEM. */
int dbreg_suppress_vaddf(struct dbreg_diag_list *diags, struct dbreg_suppress *sup, const char *code,
			 const struct dbreg_diag_at *at, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

#endif
