/* The cancels of the open target connections (cancel.c): target.c
 * registers a connection when it opens and forgets it before it closes;
 * dbreg_cancel_all (dbreg.h) reads them from a signal handler. */
#ifndef DBREG_CANCEL_H
#define DBREG_CANCEL_H

#include "dbreg/driver.h"

/* Takes a free slot for conn when its driver can cancel (version 8's
 * cancel); a connection without one (SQLite, or every slot taken) is left
 * to the process's exit, as before. */
void dbreg_cancel_register(struct dbreg_conn *conn);
/* Frees conn's slot, waiting for a handler that is cancelling it now:
 * after it, conn may be closed. NULL-safe; a conn without a slot is fine. */
void dbreg_cancel_forget(struct dbreg_conn *conn);

#endif
