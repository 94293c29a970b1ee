/* DBR048: statements PostgreSQL refuses inside a transaction block
 * (CREATE INDEX CONCURRENTLY, VACUUM, CREATE DATABASE, ...), which fail at
 * apply in a migration that runs in one. One table, read by sqlcheck.c for
 * each statement of a transactional migration's PostgreSQL body. */
#ifndef DBREG_TXCHECK_H
#define DBREG_TXCHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Reads a boolean field of the statement's parse node ("concurrent"). */
typedef bool (*dbreg_txcheck_flag_fn)(const void *node, const char *field);

/* What makes the statement impossible inside a transaction, as the
 * message names it ("CREATE INDEX CONCURRENTLY"), or NULL when it can run
 * in one. kind is the parse node's type ("IndexStmt"), node is passed to
 * flag, text[0..len) is the statement's SQL. */
const char *dbreg_txcheck_reason(const char *kind, dbreg_txcheck_flag_fn flag, const void *node, const char *text,
				 size_t len);

#endif
