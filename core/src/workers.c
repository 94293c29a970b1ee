/* A small thread pool over items: a shared counter hands out the next item,
 * so a slow item does not leave the other threads idle. Its threads, like
 * every thread of the library, start with SIGINT and SIGTERM blocked. */
#include "workers.h"
#include "diag.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

struct workers_pool {
	dbreg_worker_fn fn;
	void *arg;
	struct dbreg_diag_list *lists; /* one per item */
	size_t n_items;
	pthread_mutex_t lock;
	size_t next;                   /* the next item to hand out, under lock */
};

struct workers_one {
	struct workers_pool *pool;
	size_t index;
	int rc;
	bool started;                  /* thread is a thread of its own, to join */
	pthread_t thread;
};

static void *workers_main(void *arg)
{
	struct workers_one *w = arg;
	struct workers_pool *p = w->pool;
	while (w->rc == 0) {
		pthread_mutex_lock(&p->lock);
		size_t k = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (k >= p->n_items)
			break;
		w->rc = p->fn(p->arg, w->index, k, &p->lists[k]);
	}
	return NULL;
}

int dbreg_thread_start(pthread_t *out, void *(*fn)(void *), void *arg)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	/* The new thread inherits the mask it was created under. */
	int mrc = pthread_sigmask(SIG_BLOCK, &block, &old);
	int rc = pthread_create(out, NULL, fn, arg);
	if (mrc == 0)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

size_t dbreg_workers_count(size_t n_items, size_t max_workers)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = cpus > 1 ? (size_t)cpus : 1;
	if (n > max_workers)
		n = max_workers;
	/* A thread is worth its start only with a few items each. */
	while (n > 1 && n_items < 4 * n)
		n--;
	return n;
}

int dbreg_workers_run(struct dbreg_diag_list *dst, size_t n_items, size_t n_workers, dbreg_worker_fn fn,
		      void *arg)
{
	if (n_workers < 1)
		n_workers = 1;
	struct workers_pool p = {.fn = fn, .arg = arg, .n_items = n_items};
	p.lists = calloc(n_items + 1, sizeof *p.lists);
	struct workers_one *workers = calloc(n_workers, sizeof *workers);
	if (!p.lists || !workers) {
		free(p.lists);
		free(workers);
		return DBREG_ENOMEM;
	}
	pthread_mutex_init(&p.lock, NULL);
	/* A thread that cannot start leaves its share to the others; when none
	 * could, worker 0 runs here. One worker runs here anyway. */
	bool any = false;
	for (size_t i = 0; i < n_workers; i++) {
		workers[i] = (struct workers_one){.pool = &p, .index = i};
		if (n_workers > 1 && dbreg_thread_start(&workers[i].thread, workers_main, &workers[i]) == 0)
			any = workers[i].started = true;
	}
	if (!any)
		workers_main(&workers[0]);
	for (size_t i = 0; i < n_workers; i++)
		if (workers[i].started)
			pthread_join(workers[i].thread, NULL);
	pthread_mutex_destroy(&p.lock);
	int rc = 0;
	for (size_t i = 0; i < n_workers && rc == 0; i++)
		rc = workers[i].rc;
	for (size_t k = 0; k < n_items; k++) {
		if (rc == 0 && dbreg_diag_list_move(dst, &p.lists[k]) != 0)
			rc = DBREG_ENOMEM;
		dbreg_diag_list_dispose(&p.lists[k]);
	}
	free(p.lists);
	free(workers);
	return rc;
}
