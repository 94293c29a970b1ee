/* Limits on inputs, so that no manifest, SQL file or statement can crash
 * dbreg or hold it for long (issue 13): only regular files are read, up
 * to DBREG_MAX_FILE bytes; a statement nested deeper than what
 * libpg_query's recursive tree output survives is refused before it is
 * parsed, as is a body of more statements than the offline checks take. */
#ifndef DBREG_INPUTS_H
#define DBREG_INPUTS_H

#include <stdbool.h>
#include <stddef.h>

#define DBREG_MAX_FILE (16u << 20)          /* bytes of one manifest or SQL file */
#define DBREG_MAX_SQL_DEPTH 2000            /* estimated parse-tree depth of one statement */
#define DBREG_MAX_SQL_STATEMENTS 200000     /* statements of one body checked offline */

/* errno values dbreg_read_file sets beyond the system's, for dbreg_io_strerror. */
#define DBREG_ENOTREG 100001                /* not a regular file (FIFO, device, socket, folder) */
#define DBREG_EDANGLING 100002              /* a symbolic link to nothing */
#define DBREG_ETOOBIG 100003                /* larger than DBREG_MAX_FILE */

/* The message for an errno from dbreg_read_file (the system's otherwise). */
const char *dbreg_io_strerror(int err);

/* An up_file or down_file as its SQL: dbreg_read_file without a leading
 * UTF-8 byte order mark (Notepad writes one; PostgreSQL and SQLite take it
 * for part of the first word). Its checksum is then that of the SQL, so a
 * file saved again with a mark is no change, as CRLF is none. */
int dbreg_read_sql_file(const char *path, char **out, size_t *len);

/* What a cheap scan of SQL text finds, without parsing it. */
struct dbreg_sql_shape {
	size_t depth;                  /* the deepest statement's estimated tree depth */
	size_t depth_offset;           /* byte offset of where that depth is reached */
	size_t statements;             /* statements (separated by ';' outside literals) */
};

/* Scans sql[0..len): quotes, dollar quotes, comments and identifiers are
 * skipped; the depth estimate counts parentheses and runs of operators
 * (a + b + c ... builds a left-deep tree) and NOT/unary chains. Linear. */
void dbreg_sql_shape(const char *sql, size_t len, struct dbreg_sql_shape *out);

/* The time budget of the offline checks (validate's SQL checks and
 * replay): past it, packages not yet checked are skipped and validation
 * fails with one DBR044 that says so, instead of running on. */
#define DBREG_CHECK_BUDGET_MS 30000
/* Whether a deadline (milliseconds of dbreg_clock_ms, util.h; 0: none) has passed. */
bool dbreg_past(long long deadline_ms);

/* Whether libpg_query may be handed this text: false when a statement is
 * too deep (its tree output recurses once per level). */
bool dbreg_sql_parse_safe(const char *sql);

#endif
