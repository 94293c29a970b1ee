/* Loads libpq at the driver's first use (pq.h says why). The library is
 * the one the build compiled against, by its SONAME; a machine without it
 * can still validate and work on SQLite, and says what to install when a
 * PostgreSQL target is named. */
#define DBREG_PQ_LOADER
#include "pq.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

/* Debian's libpq5 (libpq.so.5 since PostgreSQL 8.2). */
#define PQ_SONAME "libpq.so.5"

struct dbreg_pq dbreg_pq;

static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static char pq_error[256];

static void pq_load_once(void)
{
	/* A program linked with -static has no dynamic loader (AT_BASE is
	 * 0): dlopen would bring a second C library in, which crashed in
	 * libpq's first call. Said instead. */
	if (getauxval(AT_BASE) == 0) {
		snprintf(pq_error, sizeof pq_error, "cannot load %s, PostgreSQL's client library, into a program linked "
			 "with -static: link libdbreg.a into a dynamically linked program", PQ_SONAME);
		return;
	}
	void *lib = dlopen(PQ_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(pq_error, sizeof pq_error, "cannot load %s, PostgreSQL's client library: %s", PQ_SONAME,
			 dlerror());
		return;
	}
	struct dbreg_pq t;
	void *sym;
	/* dlsym's void * copied into a function pointer, as POSIX allows. */
#define PQ_SYM(f)                                                                                       \
	if (!(sym = dlsym(lib, #f))) {                                                                  \
		snprintf(pq_error, sizeof pq_error, "cannot load %s: it has no %s (older than the build's)", \
			 PQ_SONAME, #f);                                                                 \
		dlclose(lib);                                                                           \
		return;                                                                                 \
	}                                                                                               \
	memcpy(&t.f, &sym, sizeof sym);
	DBREG_PQ_FUNCTIONS(PQ_SYM)
#undef PQ_SYM
	dbreg_pq = t;
}

const char *dbreg_pq_error(void)
{
	pthread_once(&pq_once, pq_load_once);
	return pq_error[0] ? pq_error : NULL;
}

int dbreg_pq_load(char *err, size_t errsize)
{
	pthread_once(&pq_once, pq_load_once);
	if (!pq_error[0])
		return 0;
	if (err && errsize)
		snprintf(err, errsize, "%s", pq_error);
	return -1;
}
