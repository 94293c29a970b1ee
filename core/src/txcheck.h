/* DBR048: statements PostgreSQL refuses inside a transaction block
 * (CREATE INDEX CONCURRENTLY, VACUUM, CREATE DATABASE, ...), which fail at
 * apply in a migration that runs in one. One table, read by sqlcheck.c for
 * each statement of a transactional migration's PostgreSQL body; and the
 * transaction statements of a body's own, which end the run's. */
#ifndef DBREG_TXCHECK_H
#define DBREG_TXCHECK_H

#include <stdbool.h>
#include <stddef.h>

/* A field of the statement's parse node as text: "true" for a true
 * boolean ("concurrent"), a string's or an enum's value ("kind"), "" for
 * anything else present, NULL when it is absent or false. */
typedef const char *(*dbreg_txcheck_field_fn)(const void *node, const char *field);

/* What makes the statement impossible inside a transaction, as the
 * message names it ("CREATE INDEX CONCURRENTLY"), or NULL when it can run
 * in one. kind is the parse node's type ("IndexStmt"), node is passed to
 * field, text[0..len) is the statement's SQL. */
const char *dbreg_txcheck_reason(const char *kind, dbreg_txcheck_field_fn field, const void *node, const char *text,
				 size_t len);

/* Whether the body holds BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ... of its own
 * (as the PostgreSQL grammar reads it): it would end the transaction that
 * keeps a server unchanged, or a run's. A body that does not parse is not:
 * the server says what is wrong with it. Parses only a body that holds one
 * of their words. */
bool dbreg_sql_has_transaction_statements(const char *sql);

#endif
