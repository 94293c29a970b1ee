/* Per-item checks on a few threads, each item's findings in a list of its
 * own, merged in item order so the output never depends on the threads. */
#ifndef DBREG_WORKERS_H
#define DBREG_WORKERS_H

#include "dbreg.h"

#include <pthread.h>
#include <stddef.h>

/* pthread_create, with SIGINT and SIGTERM blocked in the new thread: the
 * library's threads leave them to the caller's, so a handler (dbreg_cancel_all)
 * never runs on a thread that holds a target's transaction and lock, which
 * would stay held until the process ends. Returns pthread_create's code. */
int dbreg_thread_start(pthread_t *out, void *(*fn)(void *), void *arg);

/* Checks one item into `out` (a list of its own). `worker` (0..n_workers-1)
 * indexes the caller's per-thread state. A non-zero return stops this
 * worker; the others go on. */
typedef int (*dbreg_worker_fn)(void *arg, size_t worker, size_t item, struct dbreg_diag_list *out);

/* How many workers n_items deserve: one per CPU, at most max_workers, and
 * fewer when each would get only a few items. Always at least 1. */
size_t dbreg_workers_count(size_t n_items, size_t max_workers);

/* Calls fn for every item 0..n_items-1 on n_workers threads, items handed
 * out one at a time in order. With more than one worker the calling thread
 * only waits (it takes the signals, see dbreg_thread_start); it runs the
 * items itself only with one worker, or when no thread could start. Then, if
 * no call failed, moves each item's list to the end of dst in item order.
 * Returns 0, the first worker's (by number) non-zero return of fn, or
 * DBREG_ENOMEM; dst is left unchanged unless 0 is returned. */
int dbreg_workers_run(struct dbreg_diag_list *dst, size_t n_items, size_t n_workers, dbreg_worker_fn fn,
		      void *arg);

#endif
