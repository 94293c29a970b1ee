/* The cancels of the open target connections (cancel.c): target.c
 * registers a connection when it opens and forgets it before it closes;
 * dbreg_cancel_all (dbreg.h) reads them from a signal handler. */
#ifndef DBREG_CANCEL_H
#define DBREG_CANCEL_H

#include "dbreg/driver.h"

#include <stdbool.h>

/* Counts conn as open and, when its driver can cancel (version 8's
 * cancel), gives it a slot; one without (SQLite, or no memory for more
 * slots) is left to the process's exit. Returns -1, with conn forgotten
 * again, when dbreg_cancel_all was called already: the run is ending, and
 * a statement on a connection opened now could outlive it. */
int dbreg_cancel_register(struct dbreg_conn *conn);
/* Frees conn's slot, waiting for a handler that is using it now: after
 * it, conn may be closed. NULL-safe; a conn without a slot is fine. */
void dbreg_cancel_forget(struct dbreg_conn *conn);
/* dbreg_cancel_ending (dbreg/driver.h): a fleet starts no new target, and
 * the apply engine no new statement. */

/* Around the statements of a transaction = false step (apply.c): while
 * one runs, an interrupt leaves the ones it completed applied
 * (dbreg_cancel_outside_transaction). */
void dbreg_cancel_outside_enter(void);
void dbreg_cancel_outside_leave(void);
/* After a commit of n steps (apply.c): dbreg_cancel_committed. */
void dbreg_cancel_note_committed(size_t n);

#endif
