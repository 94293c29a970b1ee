/* What target.c shares with the rest of the core: the one-line form of a
 * database's failure, for every report that gives it on one line, and what
 * a driver lacks. */
#ifndef DBREG_TARGET_H
#define DBREG_TARGET_H

#include "dbreg/driver.h"

#include <stddef.h>

/* Writes "message (SQLSTATE s); detail: d; hint: h" into buf (size bytes,
 * truncated to fit), each part the database gave (NULL or "": left out):
 * the hint is the server's own advice (max_locks_per_transaction for "out
 * of shared memory"), so no one-line report may drop it. */
void dbreg_target_error_line(char *buf, size_t size, const char *message, const char *sqlstate, const char *detail,
			     const char *hint);

/* What the driver of url lacks on this machine (its lacks method: a
 * library it cannot load), in its words; NULL when nothing or no driver. */
const char *dbreg_target_lacks(const char *url);

/* The digests of what dbreg_target_read would return (regdigest.h), from
 * the driver without reading the rows (its registry_digest): 0 with *out
 * filled; 1 when it cannot tell (no such method, a registry table absent):
 * read the rows; or an error. expect_tables as dbreg_target_read's. */
int dbreg_target_digest(struct dbreg_conn *conn, bool expect_tables, struct dbreg_registry_digest *out);

/* dbreg_target_digest, and the fingerprint of what it digested (the
 * driver's registry_digest_since; "" when none): 2 with *out zeroed when
 * since (not NULL) is still the fingerprint, nothing digested. */
int dbreg_target_digest_since(struct dbreg_conn *conn, bool expect_tables, const char *since,
			      char fp[DBREG_FINGERPRINT_SIZE], struct dbreg_registry_digest *out);

/* The content stamp of the database url names, without connecting (the
 * driver's content_stamp): 0 with the stamp in buf; 1 when there is none
 * (no such method, no driver, nothing the driver trusts). */
int dbreg_target_content_stamp(const char *url, char *buf, size_t size);

#endif
