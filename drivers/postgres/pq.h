/* libpq, loaded by the driver when it is first needed (pq.c): a run that
 * never reaches PostgreSQL (validate, SQLite targets, --help) does not pay
 * for loading it and the twenty libraries it brings (about 2.5 ms at every
 * start). Include it in place of <libpq-fe.h>: the driver's calls then go
 * through the table. A function is named once, in DBREG_PQ_FUNCTIONS: the
 * table's member and its loading come from it here and in pq.c, and the
 * #define that sends a call through the table from the build (pq_calls.py
 * writes pq_calls.h). One the list lacks is called directly: since nothing
 * links libpq itself, an undefined reference. */
#ifndef DBREG_PQ_H
#define DBREG_PQ_H

#include <libpq-fe.h>
#include <stddef.h>

/* Every libpq function the driver calls. */
#define DBREG_PQ_FUNCTIONS(X)                                                                           \
	X(PQclear) X(PQcmdStatus) X(PQconnectdbParams) X(PQconninfoFree) X(PQconninfoParse)             \
	X(PQerrorMessage) X(PQescapeIdentifier) X(PQexec) X(PQexecParams) X(PQexecPrepared)             \
	X(PQfinish) X(PQfreemem) X(PQgetCopyData) X(PQgetResult) X(PQgetisnull) X(PQgetvalue)           \
	X(PQhost) X(PQnfields) X(PQntuples) X(PQparameterStatus) X(PQport) X(PQprepare)                 \
	X(PQputCopyEnd) X(PQresultErrorField) X(PQresultErrorMessage) X(PQresultStatus)                 \
	X(PQsendQuery) X(PQserverVersion) X(PQsetNoticeReceiver) X(PQstatus)                           \
	X(PQtransactionStatus) X(PQcancel) X(PQfreeCancel) X(PQgetCancel) X(PQsslInUse) X(PQgssEncInUse)

struct dbreg_pq {
#define DBREG_PQ_MEMBER(f) __typeof__(f) *f;
	DBREG_PQ_FUNCTIONS(DBREG_PQ_MEMBER)
#undef DBREG_PQ_MEMBER
};

extern struct dbreg_pq dbreg_pq;

/* Loads libpq once (thread-safe). 0, or -1 with why in err. */
int dbreg_pq_load(char *err, size_t errsize);
/* Loads libpq once, as dbreg_pq_load: NULL, or why it cannot be loaded
 * (static text, set once). */
const char *dbreg_pq_error(void);

/* pq.c itself names the functions as libpq does. */
#ifndef DBREG_PQ_LOADER
#include "pq_calls.h"
#endif

#endif
