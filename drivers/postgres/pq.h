/* libpq, loaded by the driver when it is first needed (pq.c): a run that
 * never reaches PostgreSQL (validate, SQLite targets, --help) does not pay
 * for loading it and the twenty libraries it brings (about 2.5 ms at every
 * start). Include it in place of <libpq-fe.h>: the driver's calls then go
 * through the table. A function is named twice below, in the list and in
 * its #define; the linker holds the two together, since nothing links
 * libpq itself: a function missing from either is called directly, an
 * undefined reference. */
#ifndef DBREG_PQ_H
#define DBREG_PQ_H

#include <libpq-fe.h>
#include <stddef.h>

/* Every libpq function the driver calls. */
#define DBREG_PQ_FUNCTIONS(X)                                                                           \
	X(PQclear) X(PQcmdStatus) X(PQconnectdbParams) X(PQconninfoFree) X(PQconninfoParse)             \
	X(PQerrorMessage) X(PQescapeIdentifier) X(PQexec) X(PQexecParams) X(PQexecPrepared) X(PQfinish) \
	X(PQfreemem) X(PQgetCopyData) X(PQgetResult) X(PQgetisnull) X(PQgetvalue) X(PQhost) X(PQnfields) \
	X(PQntuples) X(PQport) X(PQprepare) X(PQputCopyEnd) X(PQresultErrorField)                       \
	X(PQresultErrorMessage) X(PQresultStatus) X(PQsendQuery) X(PQserverVersion)                     \
	X(PQsetNoticeProcessor) X(PQstatus) X(PQtransactionStatus)                                       \
	X(PQcancel) X(PQfreeCancel) X(PQgetCancel)

struct dbreg_pq {
#define DBREG_PQ_MEMBER(f) __typeof__(f) *f;
	DBREG_PQ_FUNCTIONS(DBREG_PQ_MEMBER)
#undef DBREG_PQ_MEMBER
};

extern struct dbreg_pq dbreg_pq;

/* Loads libpq once (thread-safe). 0, or -1 with why in err. */
int dbreg_pq_load(char *err, size_t errsize);

/* pq.c itself names the functions as libpq does. */
#ifndef DBREG_PQ_LOADER
#define PQclear dbreg_pq.PQclear
#define PQcmdStatus dbreg_pq.PQcmdStatus
#define PQconnectdbParams dbreg_pq.PQconnectdbParams
#define PQconninfoFree dbreg_pq.PQconninfoFree
#define PQconninfoParse dbreg_pq.PQconninfoParse
#define PQerrorMessage dbreg_pq.PQerrorMessage
#define PQescapeIdentifier dbreg_pq.PQescapeIdentifier
#define PQexec dbreg_pq.PQexec
#define PQexecParams dbreg_pq.PQexecParams
#define PQexecPrepared dbreg_pq.PQexecPrepared
#define PQfinish dbreg_pq.PQfinish
#define PQfreemem dbreg_pq.PQfreemem
#define PQgetCopyData dbreg_pq.PQgetCopyData
#define PQgetResult dbreg_pq.PQgetResult
#define PQgetisnull dbreg_pq.PQgetisnull
#define PQgetvalue dbreg_pq.PQgetvalue
#define PQhost dbreg_pq.PQhost
#define PQnfields dbreg_pq.PQnfields
#define PQntuples dbreg_pq.PQntuples
#define PQport dbreg_pq.PQport
#define PQprepare dbreg_pq.PQprepare
#define PQputCopyEnd dbreg_pq.PQputCopyEnd
#define PQresultErrorField dbreg_pq.PQresultErrorField
#define PQresultErrorMessage dbreg_pq.PQresultErrorMessage
#define PQresultStatus dbreg_pq.PQresultStatus
#define PQsendQuery dbreg_pq.PQsendQuery
#define PQserverVersion dbreg_pq.PQserverVersion
#define PQsetNoticeProcessor dbreg_pq.PQsetNoticeProcessor
#define PQstatus dbreg_pq.PQstatus
#define PQtransactionStatus dbreg_pq.PQtransactionStatus
#define PQcancel dbreg_pq.PQcancel
#define PQfreeCancel dbreg_pq.PQfreeCancel
#define PQgetCancel dbreg_pq.PQgetCancel
#endif

#endif
