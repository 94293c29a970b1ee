/* Connecting as `init` does: retried while waiting can help (connect.c).
 * Shared by the initialization pipeline (init.c) and a fleet's init (fleet.c). */
#ifndef DBREG_CONNECT_H
#define DBREG_CONNECT_H

#include "dbreg.h"

#include <stdbool.h>
#include <stdio.h>

/* Connects to url (read-only when asked), retrying with exponential backoff
 * (0.25 s doubling to 4 s) until wait_s seconds have passed, but only after
 * failures that waiting can fix (dbreg_target_connect_advice): a refused
 * connection, a server starting up. Returns 0, or the last attempt's code
 * with its message in err. *attempts counts the attempts; *hint (may be
 * NULL) gets the advice for the last failure; log (may be NULL) a line per
 * retry. stop (may be NULL; a fleet's SIGINT flag) ends the wait within
 * 0.25 s of becoming non-zero: then 1 is returned (err holds the last
 * failure), which a fleet tells as "not reached". */
int dbreg_connect_waiting(struct dbreg_conn **conn, const char *url, bool readonly, int wait_s,
			  const volatile int *stop, FILE *log, unsigned *attempts, const char **hint, char *err,
			  size_t errsize);

#endif
