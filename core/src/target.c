/* The public face of drivers: connect to a target by URL, read its history,
 * say what went wrong. Everything here goes through the vtable, so the core
 * never names a driver. */
#include "cancel.h"
#include "dbreg/driver.h"
#include "target.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int dbreg_target_dialect(const char *url, enum dbreg_dialect *out)
{
	const struct dbreg_driver *drv = dbreg_driver_for_url(url);
	if (!drv)
		return DBREG_EUSAGE;
	*out = drv->dialect;
	return 0;
}

char *dbreg_target_key(const char *url)
{
	const struct dbreg_driver *drv = url ? dbreg_driver_for_url(url) : NULL;
	if (drv && drv->version >= 5 && drv->target_key) {
		errno = 0;
		char *key = drv->target_key(url);
		if (key || errno == ELIBACC)
			return key;   /* ELIBACC: no other spelling may stand in for the key */
	}
	return dbreg_url_redact(url ? url : "");
}

const char *dbreg_target_lacks(const char *url)
{
	const struct dbreg_driver *drv = url ? dbreg_driver_for_url(url) : NULL;
	return drv && drv->version >= 9 && drv->lacks ? drv->lacks() : NULL;
}

bool dbreg_target_is_memory(const char *url)
{
	enum dbreg_dialect dialect;
	if (!url || !strstr(url, ":memory:") || dbreg_target_dialect(url, &dialect) != 0 ||
	    dialect != DBREG_DIALECT_SQLITE)
		return false;
	/* The driver's key says which database it opens: sqlite:x:memory: is a file. */
	char *key = dbreg_target_key(url);
	bool memory = key && strcmp(key, "sqlite::memory:") == 0;
	free(key);
	return memory;
}

/* Whether drv opens read-only connections of its own kind (that cannot
 * write), not ordinary ones. */
static bool target_has_readonly(const struct dbreg_driver *drv)
{
	return drv->version >= 3 && drv->connect_readonly;
}

/* The driver for url, or DBREG_EUSAGE with the reason in err. */
static int target_driver(const struct dbreg_driver **drv, const char *url, char *err, size_t errsize)
{
	*drv = dbreg_driver_for_url(url);
	if (*drv)
		return 0;
	char *shown = dbreg_url_redact(url);
	snprintf(err, errsize, "no driver for target %s (use sqlite:PATH or postgres://...)", shown ? shown : "(url)");
	free(shown);
	return DBREG_EUSAGE;
}

/* Every connection a target opens can be cancelled by an interrupt; once
 * one came (dbreg_cancel_all), none opens. out is read after the connect:
 * an argument's order of evaluation is not. A refusal's message is
 * scrubbed of the URL's password whatever the driver (SQLite's echoes
 * its path, which may be a URL given to the wrong scheme). */
static int target_opened(int rc, struct dbreg_conn **out, const char *url, char *err, size_t errsize)
{
	if (rc != 0) {
		char *clean = dbreg_url_scrub(err, url);
		snprintf(err, errsize, "%s", clean ? clean : "cannot connect (no memory to say why)");
		free(clean);
		return rc;
	}
	if (dbreg_cancel_register(*out) == 0)
		return rc;
	(*out)->driver->close(*out);
	*out = NULL;
	snprintf(err, errsize, "interrupted: the run is ending, so no connection is opened");
	return DBREG_ECONNECT;
}

static int target_lock_wait_s = 60;

void dbreg_target_set_lock_wait(int seconds)
{
	target_lock_wait_s = seconds < 0 ? 0 : seconds;
}

int dbreg_target_lock_wait(void)
{
	return target_lock_wait_s;
}

int dbreg_target_connect(struct dbreg_conn **out, const char *url, char *err, size_t errsize)
{
	*out = NULL;
	const struct dbreg_driver *drv;
	int rc = target_driver(&drv, url, err, errsize);
	return rc ? rc : target_opened(drv->connect(out, url, err, errsize), out, url, err, errsize);
}

int dbreg_target_connect_readonly(struct dbreg_conn **out, const char *url, char *err, size_t errsize)
{
	*out = NULL;
	const struct dbreg_driver *drv;
	int rc = target_driver(&drv, url, err, errsize);
	if (rc)
		return rc;
	/* A driver without a read-only mode connects as usual (PostgreSQL
	 * creates nothing by connecting). */
	if (target_has_readonly(drv))
		return target_opened(drv->connect_readonly(out, url, err, errsize), out, url, err, errsize);
	return target_opened(drv->connect(out, url, err, errsize), out, url, err, errsize);
}

int dbreg_target_make_writable(struct dbreg_conn **conn, const char *url, char *err, size_t errsize)
{
	/* Without a read-only mode of its own, the connection writes already:
	 * a second one would cost a backend and a login (PostgreSQL). */
	if (*conn && !target_has_readonly((*conn)->driver))
		return 0;
	dbreg_target_close(*conn);
	*conn = NULL;
	return dbreg_target_connect(conn, url, err, errsize);
}

void dbreg_target_close(struct dbreg_conn *conn)
{
	if (!conn)
		return;
	dbreg_cancel_forget(conn);
	conn->driver->close(conn);
}

enum dbreg_dialect dbreg_target_conn_dialect(const struct dbreg_conn *conn)
{
	return conn->driver->dialect;
}

int dbreg_target_history(struct dbreg_conn *conn, struct dbreg_applied **rows, size_t *n)
{
	struct dbreg_history h = DBREG_HISTORY_INIT;
	*rows = NULL;
	*n = 0;
	int rc = conn->driver->history_read(conn, &h);
	if (rc < 0) {
		dbreg_history_dispose(&h);
		return rc;
	}
	/* The history's array is exactly an array of dbreg_applied: hand it over. */
	*rows = h.rows;
	*n = h.len;
	return 0;
}

int dbreg_target_history_after(struct dbreg_conn **conn, const char *url, int run_rc, struct dbreg_applied **rows,
			       size_t *n)
{
	int rc = *conn ? dbreg_target_history(*conn, rows, n) : DBREG_ECONNECT;
	if (rc == 0 || run_rc == 0)
		return rc;
	/* The session may have died with the run (the server ended it): a
	 * new one sees what stayed. */
	char err[1024];
	dbreg_target_close(*conn);
	*conn = NULL;
	if ((rc = dbreg_target_connect_readonly(conn, url, err, sizeof err)) != 0)
		return rc;
	return dbreg_target_history(*conn, rows, n);
}

int dbreg_target_changed(struct dbreg_conn *conn, unsigned long long *stamp, bool *changed)
{
	const struct dbreg_driver *drv = conn->driver;
	*changed = true;
	if (drv->version < 6 || !drv->changed_stamp)
		return 0;
	unsigned long long now = 0;
	int rc = drv->changed_stamp(conn, &now);
	if (rc < 0)
		return rc;
	/* 0 is what the caller starts from: never taken as unchanged. */
	*changed = *stamp == 0 || now == 0 || now != *stamp;
	*stamp = now;
	return 0;
}

int dbreg_target_packages(struct dbreg_conn *conn, char ***names, char ***versions, size_t *n)
{
	*names = *versions = NULL;
	*n = 0;
	return conn->driver->package_read(conn, names, versions, n);
}

void dbreg_target_error_line(char *buf, size_t size, const char *message, const char *sqlstate, const char *detail,
			     const char *hint)
{
	/* The message first, then what the database added. */
	int n = snprintf(buf, size, "%s", message ? message : "");
	if (sqlstate && sqlstate[0] && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, " (SQLSTATE %s)", sqlstate);
	if (detail && detail[0] && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, "; detail: %s", detail);
	if (hint && hint[0] && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, "; hint: %s", hint);
}

const char *dbreg_target_errmsg(const struct dbreg_conn *conn)
{
	/* Composed into a static buffer of the connection's error. */
	static _Thread_local char buf[2200];
	const struct dbreg_db_error *e = &conn->err;
	dbreg_target_error_line(buf, sizeof buf, e->message, e->sqlstate, e->detail, e->hint);
	return buf;
}

void dbreg_target_error_parts(const struct dbreg_conn *conn, const char **sqlstate, const char **detail,
			      const char **hint)
{
	*sqlstate = conn->err.sqlstate;
	*detail = conn->err.detail;
	*hint = conn->err.hint;
}

const char *dbreg_target_connect_advice(const char *url, const char *err, bool *transient)
{
	*transient = true;
	const struct dbreg_driver *drv = dbreg_driver_for_url(url);
	if (!drv || drv->version < 4 || !drv->connect_advice)
		return NULL;
	return drv->connect_advice(err, transient);
}

int dbreg_target_digest(struct dbreg_conn *conn, bool expect_tables, struct dbreg_registry_digest *out)
{
	const struct dbreg_driver *drv = conn->driver;
	if (drv->version >= 10 && drv->registry_digest)
		return drv->registry_digest(conn, expect_tables, out);
	return 1;
}

int dbreg_target_digest_since(struct dbreg_conn *conn, bool expect_tables, const char *since,
			      char fp[DBREG_FINGERPRINT_SIZE], struct dbreg_registry_digest *out)
{
	const struct dbreg_driver *drv = conn->driver;
	fp[0] = '\0';
	if (drv->version >= 12 && drv->registry_digest_since)
		return drv->registry_digest_since(conn, expect_tables, since, fp, out);
	return dbreg_target_digest(conn, expect_tables, out);
}

int dbreg_target_content_stamp(const char *url, char *buf, size_t size)
{
	const struct dbreg_driver *drv = url ? dbreg_driver_for_url(url) : NULL;
	if (size)
		buf[0] = '\0';
	if (!drv || drv->version < 11 || !drv->content_stamp || size == 0)
		return 1;
	int rc = drv->content_stamp(url, buf, size);
	if (rc != 0 || !memchr(buf, '\0', size) || !buf[0]) {
		buf[0] = '\0';   /* whatever the driver left: no stamp */
		return 1;
	}
	return 0;
}

int dbreg_target_read(struct dbreg_conn *conn, bool expect_tables, struct dbreg_applied **rows, size_t *n_rows,
		      char ***names, char ***versions, size_t *n_pkgs)
{
	const struct dbreg_driver *drv = conn->driver;
	*rows = NULL;
	*n_rows = 0;
	*names = *versions = NULL;
	*n_pkgs = 0;
	struct dbreg_history h = DBREG_HISTORY_INIT;
	int rc;
	if (drv->version >= 7 && drv->registry_read) {
		rc = drv->registry_read(conn, expect_tables, &h, names, versions, n_pkgs);
	} else {
		rc = drv->history_read(conn, &h);
		if (rc >= 0)
			rc = dbreg_target_packages(conn, names, versions, n_pkgs);
	}
	if (rc < 0) {
		dbreg_history_dispose(&h);
		return rc;
	}
	*rows = h.rows;
	*n_rows = h.len;
	return 0;
}
