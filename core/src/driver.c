/* The table of registered drivers and the values they hand back (history
 * rows, catalogs). The core never names a driver: the built-ins come from
 * drivers/builtin.c and are registered the first time anyone asks. */
#include "dbreg/driver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* From drivers/builtin.c: the one list of drivers, NULL-terminated. */
extern const struct dbreg_driver *const dbreg_builtin_drivers[];

#define DRIVER_MAX 32

static const struct dbreg_driver *drivers[DRIVER_MAX];
static size_t n_drivers;
static pthread_once_t builtins_once = PTHREAD_ONCE_INIT;

static void driver_err(char *errbuf, size_t errsize, const char *fmt, const char *a, const char *b)
{
	if (errbuf && errsize)
		snprintf(errbuf, errsize, fmt, a, b ? b : "");
}

/* The registered driver that claims `scheme` (case-insensitive), or NULL. */
static const struct dbreg_driver *driver_by_scheme(const char *scheme, size_t len)
{
	for (size_t i = 0; i < n_drivers; i++) {
		for (const char *const *s = drivers[i]->schemes; *s; s++) {
			if (strlen(*s) == len && strncasecmp(*s, scheme, len) == 0)
				return drivers[i];
		}
	}
	return NULL;
}

static int driver_add(const struct dbreg_driver *drv, char *errbuf, size_t errsize)
{
	if (!drv || !drv->name || !drv->name[0]) {
		driver_err(errbuf, errsize, "driver without a name%s%s", "", "");
		return DBREG_EUSAGE;
	}
	if (drv->version < 1 || drv->version > DBREG_DRIVER_VERSION) {
		char v[24];
		snprintf(v, sizeof v, "%u", drv->version);
		driver_err(errbuf, errsize, "driver '%s' has unsupported vtable version %s", drv->name, v);
		return DBREG_EUSAGE;
	}
	/* Required methods, in the order of the vtable. */
	const struct { const char *name; bool present; } req[] = {
		{ "connect", drv->connect != NULL },
		{ "close", drv->close != NULL },
		{ "begin", drv->begin != NULL },
		{ "commit", drv->commit != NULL },
		{ "rollback", drv->rollback != NULL },
		{ "exec", drv->exec != NULL },
		{ "history_ensure", drv->history_ensure != NULL },
		{ "history_read", drv->history_read != NULL },
		{ "history_record", drv->history_record != NULL },
		{ "package_record", drv->package_record != NULL },
		{ "package_read", drv->package_read != NULL },
		{ "catalog_read", drv->catalog_read != NULL },
		{ "server_version", drv->server_version != NULL },
	};
	for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
		if (!req[i].present) {
			driver_err(errbuf, errsize, "incomplete driver '%s': missing %s", drv->name, req[i].name);
			return DBREG_EUSAGE;
		}
	}
	/* A lock that can never be released would outlive the run. */
	if ((drv->lock == NULL) != (drv->unlock == NULL)) {
		driver_err(errbuf, errsize, "incomplete driver '%s': missing %s", drv->name,
			   drv->lock ? "unlock" : "lock");
		return DBREG_EUSAGE;
	}
	if (!drv->schemes || !drv->schemes[0]) {
		driver_err(errbuf, errsize, "driver '%s' claims no URL scheme%s", drv->name, "");
		return DBREG_EUSAGE;
	}
	for (const char *const *s = drv->schemes; *s; s++) {
		const struct dbreg_driver *other = driver_by_scheme(*s, strlen(*s));
		if (other) {
			char what[64];
			snprintf(what, sizeof what, "'%s' is already taken by driver '%s'",
				 (*s)[0] ? *s : "(keyword strings)", other->name);
			driver_err(errbuf, errsize, "driver '%s': scheme %s", drv->name, what);
			return DBREG_EUSAGE;
		}
		/* A driver listing the same scheme twice is also a mistake. */
		for (const char *const *t = drv->schemes; t < s; t++) {
			if (strcasecmp(*t, *s) == 0) {
				driver_err(errbuf, errsize, "driver '%s' lists scheme '%s' twice", drv->name, *s);
				return DBREG_EUSAGE;
			}
		}
	}
	if (n_drivers == DRIVER_MAX) {
		driver_err(errbuf, errsize, "cannot register driver '%s': too many drivers%s", drv->name, "");
		return DBREG_EUSAGE;
	}
	drivers[n_drivers++] = drv;
	if (errbuf && errsize)
		errbuf[0] = '\0';
	return 0;
}

/* Registers the built-ins once, so a user driver registered before first
 * use cannot silently shadow one of them; once across threads too (fleet
 * workers connect at the same time). */
static void driver_builtins_add(void)
{
	for (size_t i = 0; dbreg_builtin_drivers[i]; i++) {
		char err[256];
		if (driver_add(dbreg_builtin_drivers[i], err, sizeof err) != 0)
			fprintf(stderr, "dbreg: built-in driver refused: %s\n", err);
	}
}

static void driver_builtins(void)
{
	pthread_once(&builtins_once, driver_builtins_add);
}

int dbreg_driver_register(const struct dbreg_driver *drv, char *errbuf, size_t errsize)
{
	driver_builtins();
	return driver_add(drv, errbuf, errsize);
}

const struct dbreg_driver *dbreg_driver_for_url(const char *url)
{
	if (!url)
		return NULL;
	driver_builtins();
	/* RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":".
	 * A libpq keyword string ("host=::1 dbname=x") fails this at '='. */
	size_t n = 0;
	if ((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')) {
		n = 1;
		while ((url[n] >= 'a' && url[n] <= 'z') || (url[n] >= 'A' && url[n] <= 'Z') ||
		       (url[n] >= '0' && url[n] <= '9') || url[n] == '+' || url[n] == '-' || url[n] == '.')
			n++;
		if (url[n] != ':')
			n = 0;
	}
	return driver_by_scheme(url, n);
}

/* ---- history ---------------------------------------------------------- */

static void history_row_free(struct dbreg_applied *r)
{
	free(r->package);
	free(r->migration);
	free(r->version);
	free(r->checksum);
	free(r->applied_at);
}

int dbreg_history_append(struct dbreg_history *h, const struct dbreg_applied *row)
{
	if (h->len == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct dbreg_applied *p = realloc(h->rows, cap * sizeof *p);
		if (!p)
			return DBREG_ENOMEM;
		h->rows = p;
		h->cap = cap;
	}
	struct dbreg_applied r = {
		.package = dbreg_strdup(row->package),
		.migration = dbreg_strdup(row->migration),
		.version = dbreg_strdup(row->version),
		.checksum = dbreg_strdup(row->checksum),
		.applied_at = dbreg_strdup(row->applied_at),
		.duration_ms = row->duration_ms,
	};
	if ((row->package && !r.package) || (row->migration && !r.migration) ||
	    (row->version && !r.version) || (row->checksum && !r.checksum) ||
	    (row->applied_at && !r.applied_at)) {
		history_row_free(&r);
		return DBREG_ENOMEM;
	}
	h->rows[h->len++] = r;
	return 0;
}

/* Merges the sorted runs a[lo, mid) and a[mid, hi) by applied_at through
 * tmp, the left run first on ties (stable). */
static void history_merge(struct dbreg_applied *a, struct dbreg_applied *tmp, size_t lo, size_t mid, size_t hi)
{
	size_t i = lo, j = mid, k = lo;
	while (i < mid && j < hi)
		tmp[k++] = strcmp(a[j].applied_at ? a[j].applied_at : "", a[i].applied_at ? a[i].applied_at : "") < 0
				   ? a[j++]
				   : a[i++];
	while (i < mid)
		tmp[k++] = a[i++];
	while (j < hi)
		tmp[k++] = a[j++];
	memcpy(a + lo, tmp + lo, (hi - lo) * sizeof *a);
}

int dbreg_history_order(struct dbreg_history *h)
{
	size_t n = h->len, sorted = 1;
	while (sorted < n && strcmp(h->rows[sorted - 1].applied_at ? h->rows[sorted - 1].applied_at : "",
				    h->rows[sorted].applied_at ? h->rows[sorted].applied_at : "") <= 0)
		sorted++;
	if (sorted >= n)
		return 0;   /* the usual case: rows come in the order they were written */
	struct dbreg_applied *tmp = malloc(n * sizeof *tmp);
	if (!tmp)
		return DBREG_ENOMEM;
	/* Bottom-up merge sort: stable, so equal times keep the read order. */
	for (size_t width = 1; width < n; width *= 2)
		for (size_t lo = 0; lo + width < n; lo += 2 * width)
			history_merge(h->rows, tmp, lo, lo + width, lo + 2 * width < n ? lo + 2 * width : n);
	free(tmp);
	return 0;
}

void dbreg_history_dispose(struct dbreg_history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->len; i++)
		history_row_free(&h->rows[i]);
	free(h->rows);
	h->rows = NULL;
	h->len = h->cap = 0;
}

/* ---- catalog ---------------------------------------------------------- */

static void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void dbreg_catalog_dispose(struct dbreg_catalog *cat)
{
	if (!cat)
		return;
	for (size_t i = 0; i < cat->n_tables; i++) {
		struct dbreg_cat_table *t = &cat->tables[i];
		free(t->name);
		for (size_t j = 0; j < t->n_columns; j++) {
			free(t->columns[j].name);
			free(t->columns[j].type);
			free(t->columns[j].default_expr);
		}
		free(t->columns);
		strv_free(t->primary_key, t->n_primary_key);
		for (size_t j = 0; j < t->n_fkeys; j++) {
			struct dbreg_cat_fkey *f = &t->fkeys[j];
			strv_free(f->columns, f->n_columns);
			strv_free(f->ref_columns, f->n_columns);
			free(f->ref_table);
			free(f->on_delete);
			free(f->on_update);
		}
		free(t->fkeys);
		for (size_t j = 0; j < t->n_indexes; j++) {
			free(t->indexes[j].name);
			free(t->indexes[j].predicate);
			free(t->indexes[j].method);
			strv_free(t->indexes[j].columns, t->indexes[j].n_columns);
		}
		free(t->indexes);
		for (size_t j = 0; j < t->n_policies; j++) {
			struct dbreg_cat_policy *pol = &t->policies[j];
			free(pol->name);
			free(pol->command);
			free(pol->roles);
			free(pol->using_expr);
			free(pol->check_expr);
		}
		free(t->policies);
	}
	free(cat->tables);
	cat->tables = NULL;
	cat->n_tables = 0;
}

const struct dbreg_cat_table *dbreg_catalog_table(const struct dbreg_catalog *cat, const char *name)
{
	if (!cat || !name)
		return NULL;
	for (size_t i = 0; i < cat->n_tables; i++) {
		if (cat->tables[i].name && strcmp(cat->tables[i].name, name) == 0)
			return &cat->tables[i];
	}
	return NULL;
}
