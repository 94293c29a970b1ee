/* What an interrupt asks the databases: a table of slots, one per open
 * connection that can cancel (the main one, a fleet's workers), claimed and
 * cleared with lock-free atomics so that a signal handler can walk it
 * without locks, malloc or stdio. Each cancel is sent by a child process of
 * its own, so that one server that does not answer (a dropped network:
 * libpq 15's PQcancel has no timeout) holds up none of the others. Each
 * answered cancel is sent once more, CANCEL_AGAIN_MS later (see there). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* _Fork: a fork that is async-signal-safe */
#endif
#include "cancel.h"
#include "dbreg.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Slots come in blocks: the first is static, more are appended (never
 * freed) when a fleet runs more connections than that. */
#define CANCEL_BLOCK 256

/* PostgreSQL drops a cancel that reaches a backend between two statements.
 * A fleet worker that checked dbreg_cancel_ending just before the
 * interrupt sends its next statement; when the server reads it only after
 * the cancel landed (the worker was descheduled in between), it would run
 * on after the process ends. A second cancel this long after the first
 * stops it: then it escapes only when its worker stalled longer than this
 * between the check and the send. */
#define CANCEL_AGAIN_MS 100

_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_BOOL_LOCK_FREE == 2 &&
		       ATOMIC_LONG_LOCK_FREE == 2,
	       "a signal handler may only use lock-free atomics");

struct cancel_slot {
	_Atomic(struct dbreg_conn *) conn;
	atomic_int users;              /* callers inside conn's cancel now */
	pid_t child[2];                /* the children sending its two cancels; under cancel_busy */
	bool again;                    /* its second cancel is due; under cancel_busy */
};

struct cancel_block {
	struct cancel_slot slots[CANCEL_BLOCK];
	_Atomic(struct cancel_block *) next;
};

static struct cancel_block cancel_first;
/* One word, so that dbreg_cancel_reset sees both at once: bit 0, "the run
 * ends" (dbreg_cancel_all was called, until dbreg_cancel_reset); above it,
 * CANCEL_CALL times the dbreg_cancel_all calls begun and not returned. */
#define CANCEL_ENDING 1u
#define CANCEL_CALL 2u
static atomic_uint cancel_state;
static atomic_int cancel_open;         /* target connections open, with a slot or not */
static atomic_int cancel_outside;      /* transaction = false steps running their statements */
static atomic_int cancel_unslotted;    /* open ones that can cancel but got no slot */
static atomic_ulong cancel_committed;  /* steps committed (dbreg_cancel_committed) */
static atomic_int cancel_unwinding;    /* runs between dbreg_cancel_unwind_enter and _leave */
static atomic_flag cancel_busy = ATOMIC_FLAG_INIT;

static bool cancel_can(const struct dbreg_conn *conn)
{
	return conn && conn->driver->version >= 8 && conn->driver->cancel;
}

static bool cancel_claim(struct dbreg_conn *conn)
{
	for (struct cancel_block *b = &cancel_first; b;) {
		for (size_t i = 0; i < CANCEL_BLOCK; i++) {
			struct dbreg_conn *none = NULL;
			if (atomic_compare_exchange_strong(&b->slots[i].conn, &none, conn))
				return true;
		}
		struct cancel_block *next = atomic_load(&b->next);
		if (!next) {
			struct cancel_block *fresh = calloc(1, sizeof *fresh);
			if (!fresh)
				return false;
			/* Another thread may append first: then its block is used. */
			if (atomic_compare_exchange_strong(&b->next, &next, fresh))
				next = fresh;
			else
				free(fresh);
		}
		b = next;
	}
	return false;
}

int dbreg_cancel_register(struct dbreg_conn *conn)
{
	if (!conn)
		return 0;
	atomic_fetch_add(&cancel_open, 1);
	if (cancel_can(conn) && !cancel_claim(conn))
		atomic_fetch_add(&cancel_unslotted, 1);
	/* After the claim: a dbreg_cancel_all that set the flag later sees the
	 * slot; one that set it before would not, so the connection is refused
	 * (the statement it would run could outlive the process). */
	if (atomic_load(&cancel_state) & CANCEL_ENDING) {
		dbreg_cancel_forget(conn);
		return -1;
	}
	return 0;
}

void dbreg_cancel_forget(struct dbreg_conn *conn)
{
	if (!conn)
		return;
	atomic_fetch_sub(&cancel_open, 1);
	if (!cancel_can(conn))
		return;
	for (struct cancel_block *b = &cancel_first; b; b = atomic_load(&b->next))
		for (size_t i = 0; i < CANCEL_BLOCK; i++) {
			struct cancel_slot *s = &b->slots[i];
			struct dbreg_conn *mine = conn;
			if (!atomic_compare_exchange_strong(&s->conn, &mine, NULL))
				continue;
			/* A caller that read the slot before it was cleared still
			 * uses conn: the close waits for it (the length of a
			 * fork, or of one cancel when no child could start). */
			while (atomic_load(&s->users) > 0)
				sched_yield();
			return;
		}
	atomic_fetch_sub(&cancel_unslotted, 1);
}

int dbreg_cancel_reset(void)
{
	/* One compare-and-swap: it fails while a dbreg_cancel_all is under way
	 * (from its first instruction to its return), so none sees its run
	 * reopened halfway, nor can a handler find the reset half done. */
	unsigned st = atomic_load(&cancel_state);
	while (st < CANCEL_CALL)
		if (atomic_compare_exchange_weak(&cancel_state, &st, 0u))
			return 0;
	return DBREG_EUSAGE;
}

bool dbreg_cancel_ending(void)
{
	return atomic_load(&cancel_state) & CANCEL_ENDING;
}

static void cancel_nap(void)
{
	poll(NULL, 0, 2);
}

/* Starts cancel k (0, 1) of slot s: in a child when one can be made (it
 * has its own copy of conn, so the slot is free again at once), else here,
 * with no bound but the caller's. Returns -1 when it failed here, 1 when
 * it started (or was sent here), 0 when the slot holds no connection. */
static int cancel_start(struct cancel_slot *s, int k)
{
	/* users first, then conn: a close that cleared conn after this read
	 * sees users and waits (both seq_cst). */
	atomic_fetch_add(&s->users, 1);
	struct dbreg_conn *conn = atomic_load(&s->conn);
	int rc = 0;
	if (conn) {
		pid_t pid = _Fork();
		if (pid == 0)
			_exit(conn->driver->cancel(conn) == 0 ? 0 : 1);
		s->child[k] = pid > 0 ? pid : 0;
		rc = pid < 0 && conn->driver->cancel(conn) != 0 ? -1 : 1;
	}
	atomic_fetch_sub(&s->users, 1);
	return rc;
}

/* Reaps the child *child: true when it has ended (*failed counts a cancel
 * it could not send), false while it still runs. */
static bool cancel_reaped(pid_t *child, bool wait, int *failed)
{
	int st = 0;
	pid_t r;
	while ((r = waitpid(*child, &st, wait ? 0 : WNOHANG)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return false;
	/* ECHILD (someone else reaped it): whether it was sent is unknown. */
	if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		(*failed)++;
	*child = 0;
	return true;
}

int dbreg_cancel_all(int *open)
{
	/* dbreg_clock_ms is clock_gettime only: async-signal-safe. */
	double deadline = dbreg_clock_ms() + DBREG_CANCEL_WAIT_MS;
	/* "Ending" and "a call under way" in one step (see cancel_state). */
	unsigned st = atomic_load(&cancel_state);
	while (!atomic_compare_exchange_weak(&cancel_state, &st, (st | CANCEL_ENDING) + CANCEL_CALL))
		;
	if (open)
		*open = atomic_load(&cancel_open);
	/* One caller at a time (a handler on each of two threads, watch's
	 * guard): the second waits for the first, within the same bound. */
	while (atomic_flag_test_and_set(&cancel_busy)) {
		if (dbreg_clock_ms() >= deadline) {
			atomic_fetch_sub(&cancel_state, CANCEL_CALL);
			return 1;
		}
		cancel_nap();
	}
	/* A SIGCHLD the process ignores reaps the children itself, and every
	 * cancel would read as not sent: the default while they run. */
	struct sigaction dfl = {.sa_handler = SIG_DFL}, chld;
	bool restore = sigaction(SIGCHLD, &dfl, &chld) == 0;
	int failed = atomic_load(&cancel_unslotted);
	for (struct cancel_block *b = &cancel_first; b; b = atomic_load(&b->next))
		for (size_t i = 0; i < CANCEL_BLOCK; i++) {
			struct cancel_slot *s = &b->slots[i];
			int rc = cancel_start(s, 0);
			failed += rc < 0;
			s->again = rc > 0;
		}
	double again = dbreg_clock_ms() + CANCEL_AGAIN_MS;
	/* Every request is on its way; wait for them, each against the same
	 * deadline, and stop the children of the servers that did not answer.
	 * Meanwhile the second round, beside the first (a slow link delays
	 * both, not one after the other), for the connections whose first
	 * could be sent; only the first counts. */
	for (bool waiting = true; waiting;) {
		waiting = false;
		double now = dbreg_clock_ms();
		bool late = now >= deadline;
		for (struct cancel_block *b = &cancel_first; b; b = atomic_load(&b->next))
			for (size_t i = 0; i < CANCEL_BLOCK; i++) {
				struct cancel_slot *s = &b->slots[i];
				for (int k = 0; k < 2; k++) {
					if (s->child[k] <= 0)
						continue;
					int f = 0;
					if (late)
						kill(s->child[k], SIGKILL);
					if (!cancel_reaped(&s->child[k], late, &f)) {
						waiting = true;
					} else if (k == 0 && f) {
						failed++;
						s->again = false;
					}
				}
				if (!s->again || late)
					continue;
				if (now < again) {
					waiting = true;
				} else {
					s->again = false;
					waiting |= cancel_start(s, 1) > 0 && s->child[1] > 0;
				}
			}
		if (waiting)
			cancel_nap();
	}
	if (restore)
		sigaction(SIGCHLD, &chld, NULL);
	atomic_flag_clear(&cancel_busy);
	atomic_fetch_sub(&cancel_state, CANCEL_CALL);
	return failed;
}

void dbreg_cancel_outside_enter(void)
{
	atomic_fetch_add(&cancel_outside, 1);
}

void dbreg_cancel_outside_leave(void)
{
	atomic_fetch_sub(&cancel_outside, 1);
}

int dbreg_cancel_outside_transaction(void)
{
	return atomic_load(&cancel_outside);
}

void dbreg_cancel_note_committed(size_t n)
{
	atomic_fetch_add(&cancel_committed, n);
}

unsigned long dbreg_cancel_committed(void)
{
	return atomic_load(&cancel_committed);
}

void dbreg_cancel_unwind_enter(void)
{
	atomic_fetch_add(&cancel_unwinding, 1);
}

void dbreg_cancel_unwind_leave(void)
{
	atomic_fetch_sub(&cancel_unwinding, 1);
}

bool dbreg_cancel_unwinds(void)
{
	return atomic_load(&cancel_unwinding) > 0;
}
