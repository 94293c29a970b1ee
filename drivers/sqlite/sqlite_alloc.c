/* SQLite's memory, with the small blocks it frees kept per thread for its
 * next allocation of that size (issue 18). The replay of DBR047 opens a
 * database per package, and SQLite parses the whole schema again after
 * every ALTER TABLE ... ADD COLUMN: it frees and allocates the same small
 * blocks by the thousand, and glibc's per-thread cache keeps only 7 blocks
 * of a size, so most of them went through its slower bins. Kept here
 * without that limit, a replay costs a fifth less. Blocks up to 4.5 KiB
 * are kept, not only those of glibc's cache (up to 1 KiB): each parse
 * allocates a parser object of 2.4 KiB, a pager its 4 KiB pages and
 * structures of 1-4 KiB (half a million such blocks in a cold validate of
 * 1,000 packages). A thread keeps at most SQA_KEEP bytes (blocks one
 * thread takes and another frees, as a pool of connections moving between
 * threads would, must not pile up on the freeing thread), and frees them
 * when it ends.
 *
 * Set before SQLite starts (sqlite3_config refuses once it has, e.g. when
 * the program embedding dbreg started it first: then nothing changes). A
 * build with AddressSanitizer leaves SQLite on malloc so that it sees every
 * block. */
#include "sqlite_alloc.h"

#include <sqlite3.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define SQA_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SQA_OFF 1
#endif
#endif

#ifndef SQA_OFF

/* Blocks up to SQA_MAX bytes, in classes of SQA_STEP bytes: a page of
 * 4 KiB with SQLite's header for it (4,360 bytes) is the largest kept. */
#define SQA_STEP 16
#define SQA_MAX 4608
#define SQA_CLASSES (SQA_MAX / SQA_STEP)
/* Bytes of blocks a thread keeps: well above a replay's working set (a
 * package's schema parsed again), small next to a process's memory. */
#define SQA_KEEP (8u << 20)

/* Before each block: the size asked for (sqlite3_mem_methods.xSize), and
 * its class (0: a block of its own, neither kept nor taken from a list). */
struct sqa_head {
	uint64_t size;
	uint64_t cls;
};

/* A thread's kept blocks, one list per class, linked through their first
 * bytes. */
struct sqa_cache {
	void *head[SQA_CLASSES + 1];
	size_t kept;                   /* bytes in the lists, headers included: at most SQA_KEEP */
	bool registered;               /* sqa_key set, so that the thread's end frees them */
};

static __thread struct sqa_cache sqa_cache;
static pthread_key_t sqa_key;
static bool sqa_key_ok;

static void sqa_thread_end(void *arg)
{
	struct sqa_cache *c = arg;
	for (size_t k = 1; k <= SQA_CLASSES; k++)
		while (c->head[k]) {
			struct sqa_head *h = c->head[k];
			c->head[k] = *(void **)(h + 1);
			free(h);
		}
	/* A block freed after this (another key's destructor) registers again. */
	c->kept = 0;
	c->registered = false;
}

static void *sqa_malloc(int n)
{
	size_t cls = n > 0 ? ((size_t)n + SQA_STEP - 1) / SQA_STEP : 0;
	struct sqa_head *h;
	if (cls >= 1 && cls <= SQA_CLASSES) {
		if ((h = sqa_cache.head[cls]) != NULL) {
			sqa_cache.head[cls] = *(void **)(h + 1);
			sqa_cache.kept -= sizeof *h + cls * SQA_STEP;
		} else if (!(h = malloc(sizeof *h + cls * SQA_STEP))) {
			return NULL;
		}
	} else {
		cls = 0;
		if (!(h = malloc(sizeof *h + (n > 0 ? (size_t)n : 0))))
			return NULL;
	}
	h->size = n > 0 ? (uint64_t)n : 0;
	h->cls = cls;
	return h + 1;
}

static void sqa_free(void *p)
{
	if (!p)
		return;
	struct sqa_head *h = (struct sqa_head *)p - 1;
	if (h->cls == 0 || sqa_cache.kept + sizeof *h + h->cls * SQA_STEP > SQA_KEEP) {
		free(h);
		return;
	}
	/* Kept on the thread that frees it, which may not be the one that
	 * took it: any thread may use any block of a class. */
	if (!sqa_cache.registered && sqa_key_ok) {
		pthread_setspecific(sqa_key, &sqa_cache);
		sqa_cache.registered = true;
	}
	*(void **)p = sqa_cache.head[h->cls];
	sqa_cache.head[h->cls] = h;
	sqa_cache.kept += sizeof *h + h->cls * SQA_STEP;
}

static int sqa_size(void *p)
{
	return p ? (int)((struct sqa_head *)p - 1)->size : 0;
}

static void *sqa_realloc(void *p, int n)
{
	if (!p)
		return sqa_malloc(n);
	struct sqa_head *h = (struct sqa_head *)p - 1;
	if (h->cls && n > 0 && (size_t)n <= h->cls * SQA_STEP) {
		h->size = (uint64_t)n;
		return p;
	}
	if (h->cls == 0 && n > SQA_MAX) {
		struct sqa_head *g = realloc(h, sizeof *g + (size_t)n);
		if (!g)
			return NULL;
		g->size = (uint64_t)n;
		return g + 1;
	}
	void *q = sqa_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, h->size < (uint64_t)n ? (size_t)h->size : (size_t)n);
	sqa_free(p);
	return q;
}

static int sqa_roundup(int n)
{
	return n <= SQA_MAX ? (n + SQA_STEP - 1) / SQA_STEP * SQA_STEP : (n + 7) / 8 * 8;
}

static int sqa_init(void *arg)
{
	(void)arg;
	return SQLITE_OK;
}

static void sqa_shutdown(void *arg)
{
	(void)arg;
}

static const sqlite3_mem_methods sqa_methods = {
	sqa_malloc, sqa_free, sqa_realloc, sqa_size, sqa_roundup, sqa_init, sqa_shutdown, NULL,
};

void dbreg_sqlite_alloc_install(void)
{
	sqa_key_ok = pthread_key_create(&sqa_key, sqa_thread_end) == 0;
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &sqa_methods) != SQLITE_OK && sqa_key_ok) {
		pthread_key_delete(sqa_key);
		sqa_key_ok = false;
	}
}

#else

void dbreg_sqlite_alloc_install(void)
{
	/* SQLite allocates with malloc, where AddressSanitizer sees it. */
}

#endif
