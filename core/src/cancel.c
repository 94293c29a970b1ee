/* What an interrupt asks the databases: a fixed table of slots, one per open
 * connection that can cancel (the main one, a fleet's workers), claimed and
 * cleared with lock-free atomics so that a signal handler can walk it
 * without locks, malloc or stdio. */
#include "cancel.h"

#include <sched.h>
#include <stdatomic.h>

/* Room for a fleet of 255 workers beside the main connection; a connection
 * beyond that runs without a cancel (its server stops when the statement
 * ends, as before). */
#define CANCEL_SLOTS 256

_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
	       "a signal handler may only use lock-free atomics");

struct cancel_slot {
	_Atomic(struct dbreg_conn *) conn;
	atomic_int users;              /* handlers inside conn's cancel now */
};

static struct cancel_slot cancel_slots[CANCEL_SLOTS];

static bool cancel_can(const struct dbreg_conn *conn)
{
	return conn && conn->driver->version >= 8 && conn->driver->cancel;
}

void dbreg_cancel_register(struct dbreg_conn *conn)
{
	if (!cancel_can(conn))
		return;
	for (size_t i = 0; i < CANCEL_SLOTS; i++) {
		struct dbreg_conn *none = NULL;
		if (atomic_compare_exchange_strong(&cancel_slots[i].conn, &none, conn))
			return;
	}
}

void dbreg_cancel_forget(struct dbreg_conn *conn)
{
	if (!cancel_can(conn))
		return;
	for (size_t i = 0; i < CANCEL_SLOTS; i++) {
		struct dbreg_conn *mine = conn;
		if (!atomic_compare_exchange_strong(&cancel_slots[i].conn, &mine, NULL))
			continue;
		/* A handler that read the slot before it was cleared still uses
		 * conn: the close waits for it (a cancel is one round trip). */
		while (atomic_load(&cancel_slots[i].users) > 0)
			sched_yield();
		return;
	}
}

int dbreg_cancel_all(void)
{
	int failed = 0;
	for (size_t i = 0; i < CANCEL_SLOTS; i++) {
		struct cancel_slot *s = &cancel_slots[i];
		/* users first, then conn: a close that cleared conn after this
		 * read sees users and waits (both seq_cst). */
		atomic_fetch_add(&s->users, 1);
		struct dbreg_conn *conn = atomic_load(&s->conn);
		if (conn && conn->driver->cancel(conn) != 0)
			failed++;
		atomic_fetch_sub(&s->users, 1);
	}
	return failed;
}
