/* The PostgreSQL driver over libpq: postgres://, postgresql:// and keyword
 * strings. A body goes to the server whole as one simple query (one round
 * trip), its results read one per statement; its statements, for a
 * transaction = false body run one by one and for naming the failing one,
 * are found by libpg_query, the server's own grammar;
 * the registry lock is a session advisory lock polled with
 * pg_try_advisory_lock, so a waiting run can time out and name the holder. */
#include "pq.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <unistd.h>
#include <pg_query.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbreg/driver.h"

struct pg_conn {
	struct dbreg_conn base;
	PGconn *pg;
	PGcancel *cancel;              /* made at connect: pg_cancel runs in a signal handler */
	bool prepared;                 /* the history statements exist on this session */
	bool locked;                   /* this session holds the registry lock */
	/* The history's statements_done column, once seen outside a
	 * transaction (pg_registry_probe, pg_history_ensure): dbreg never
	 * drops it. */
	bool progress_col;
};

extern const struct dbreg_driver dbreg_driver_postgres;

#define PG(conn) DBREG_CONN_OF(struct pg_conn, conn)

/* The registry lock's key: FNV-1a 64 of "dbreg" (0x4261fc4c45ed7f6f). In
 * pg_locks a bigint key shows as classid = high half, objid = low half. */
#define PG_LOCK_KEY "4783381683765084015"
#define PG_LOCK_CLASSID "1113717836"
#define PG_LOCK_OBJID "1173192559"

/* How often (ms) the server checks that the client is alive while a
 * statement runs (pg_lock). */
#define PG_CLIENT_CHECK_MS "1000"

/* Copies src into dst, turning line breaks and tabs into single spaces and
 * dropping the trailing newline libpq adds. */
static void pg_flatten(char *dst, size_t size, const char *src)
{
	size_t o = 0;
	bool space = false;
	for (const char *p = src ? src : ""; *p && o + 1 < size; p++) {
		if (*p == '\n' || *p == '\t' || *p == '\r') {
			space = true;
			continue;
		}
		if (space && o > 0 && dst[o - 1] != ' ' && o + 2 < size)
			dst[o++] = ' ';
		space = false;
		dst[o++] = *p;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	if (size)
		dst[o] = '\0';
}

/* The 1-based byte offset of the 1-based character position pos in a
 * UTF-8 text (the client encoding is forced to UTF8). */
static size_t pg_char_to_byte(const char *sql, long pos)
{
	if (!sql || pos <= 0)
		return 0;
	long chars = 0;
	for (size_t i = 0; sql[i]; i++) {
		if (((unsigned char)sql[i] & 0xC0) != 0x80 && ++chars == pos)
			return i + 1;
	}
	return strlen(sql) + 1; /* the end of the text: "unexpected end of input" */
}

/* Fills conn->err from a failed result (or the connection when res is NULL). */
static void pg_fail(struct pg_conn *c, const PGresult *res, const char *sql)
{
	struct dbreg_db_error *e = &c->base.err;
	memset(e, 0, sizeof *e);
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (primary) {
		snprintf(e->message, sizeof e->message, "%s", primary);
	} else {
		const char *m = res ? PQresultErrorMessage(res) : "";
		pg_flatten(e->message, sizeof e->message, (m && *m) ? m : PQerrorMessage(c->pg));
	}
	if (!e->message[0])
		snprintf(e->message, sizeof e->message, "unexpected result from the server");
	if (!res)
		return;
	const char *f;
	if ((f = PQresultErrorField(res, PG_DIAG_SQLSTATE)) != NULL)
		snprintf(e->sqlstate, sizeof e->sqlstate, "%s", f);
	if ((f = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) != NULL)
		snprintf(e->detail, sizeof e->detail, "%s", f);
	if ((f = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT)) != NULL)
		snprintf(e->hint, sizeof e->hint, "%s", f);
	if ((f = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION)) != NULL)
		e->position = pg_char_to_byte(sql, strtol(f, NULL, 10));
}

static bool pg_ok(const PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
}

/* Runs a statement outside a migration; DBREG_ECONNECT with conn->err on failure. */
static int pg_run(struct pg_conn *c, const char *sql)
{
	PGresult *r = PQexec(c->pg, sql);
	int rc = 0;
	if (!pg_ok(r)) {
		pg_fail(c, r, sql);
		rc = DBREG_ECONNECT;
	}
	PQclear(r);
	return rc;
}

/* Runs a query; the caller clears *out. DBREG_ECONNECT with conn->err on failure. */
static int pg_query(struct pg_conn *c, PGresult **out, const char *sql, int n, const char *const *params)
{
	*out = PQexecParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(*out) != PGRES_TUPLES_OK && PQresultStatus(*out) != PGRES_COMMAND_OK) {
		pg_fail(c, *out, sql);
		PQclear(*out);
		*out = NULL;
		return DBREG_ECONNECT;
	}
	return 0;
}

/* Server notices ("relation already exists, skipping") are not ours to
 * print; those of the core's own bodies ("dbreg: ...") go to on_notice. */
static void pg_notice(void *arg, const PGresult *res)
{
	struct dbreg_conn *conn = arg;
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (conn->on_notice && m && strncmp(m, "dbreg: ", 7) == 0)
		conn->on_notice(conn->on_notice_arg, m + 7);
}

/* Whether the connection string or the environment already sets `key`. */
static bool pg_given(const PQconninfoOption *opts, const char *key, const char *env)
{
	for (const PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (strcmp(o->keyword, key) == 0 && o->val && o->val[0])
			return true;
	}
	const char *v = getenv(env);
	return v && v[0];
}

/* libpq's own integer parse (parse_int_param): strtol's, within an int,
 * blanks after it allowed. */
static bool pg_int(const char *v, long lo, long hi)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (end == v || errno != 0 || n != (int)n || n < lo || n > hi)
		return false;
	end += strspn(end, " \t\n\r\f\v");
	return *end == '\0';
}

/* The option values libpq checks only when it connects: a wrong one is an
 * error in the URL the user wrote (exit 2), not a server that cannot be
 * reached (exit 3). values: the ones libpq 14 and later take; NULL: an integer (port: a comma-separated list of port
 * numbers). A value left empty, and every other option, is libpq's. */
static const struct {
	const char *key, *values;
} pg_checked[] = {
	{"sslmode", "disable, allow, prefer, require, verify-ca, verify-full"},
	{"gssencmode", "disable, prefer, require"},
	{"channel_binding", "disable, prefer, require"},
	{"target_session_attrs", "any, read-write, read-only, primary, standby, prefer-standby"},
	{"port", NULL},
	{"connect_timeout", NULL},
	{"keepalives", NULL},
	{"keepalives_idle", NULL},
	{"keepalives_interval", NULL},
	{"keepalives_count", NULL},
	{"tcp_user_timeout", NULL},
};

/* Whether v is a port list as libpq reads it: a port for each host,
 * comma-separated, an empty one the default ("5432,,5433"). */
static bool pg_ports(const char *v)
{
	for (;;) {
		size_t n = strcspn(v, ",");
		char one[16];
		if (n >= sizeof one)
			return false;
		memcpy(one, v, n);
		one[n] = '\0';
		if (n > 0 && !pg_int(one, 1, 65535))
			return false;
		if (!v[n])
			return true;
		v += n + 1;
	}
}

/* Whether value is one of values ("a, b, c"). */
static bool pg_word_of(const char *value, const char *values)
{
	size_t len = strlen(value);
	for (const char *w = values; *w; w += strspn(w, ", ")) {
		size_t n = strcspn(w, ",");
		if (n == len && strncmp(w, value, len) == 0)
			return true;
		w += n;
	}
	return false;
}

/* The first value of opts that libpq would refuse at connect, said in
 * why; false when there is none. */
static bool pg_bad_value(const PQconninfoOption *opts, char *why, size_t size)
{
	for (const PQconninfoOption *o = opts; o && o->keyword; o++) {
		for (size_t k = 0; o->val && o->val[0] && k < sizeof pg_checked / sizeof pg_checked[0]; k++) {
			if (strcmp(o->keyword, pg_checked[k].key) != 0)
				continue;
			const char *vs = pg_checked[k].values;
			bool port = strcmp(o->keyword, "port") == 0;
			if (vs ? pg_word_of(o->val, vs) : port ? pg_ports(o->val) : pg_int(o->val, INT_MIN, INT_MAX))
				break;
			snprintf(why, size, "invalid %s value \"%s\" (libpq takes %s%s)", o->keyword, o->val,
				 vs ? "one of " : "", vs ? vs : port ? "port numbers from 1 to 65535, one for each host, comma-separated"
					       : "an integer");
			return true;
		}
	}
	return false;
}

/* What libpq connects to for key: the URL's or keyword string's value,
 * else the environment's, else libpq's own default (fallback). */
static const char *pg_key_part(const PQconninfoOption *opts, const char *key, const char *env, const char *fallback)
{
	for (const PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, key) == 0 && o->val && o->val[0])
			return o->val;
	const char *v = getenv(env);
	return v && v[0] ? v : fallback;
}

/* postgres://user@host:port/database, whichever form named them: a URL and
 * a keyword string for one database give one key. Host names compare
 * without case; a socket folder is a path and keeps its case. */
static char *pg_lower(const char *s)
{
	char *out = dbreg_strdup(s);
	for (char *p = out; p && *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return out;
}

static char *pg_target_key(const char *url)
{
	/* Without libpq the key cannot be known: no other spelling stands in
	 * for it (the state file would read another target's history). */
	if (dbreg_pq_load(NULL, 0) != 0) {
		errno = ELIBACC;
		return NULL;
	}
	/* A key read from an unclear URI would hold a piece of its password. */
	if (dbreg_url_unclear(url))
		return NULL;
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	PQfreemem(perr);
	if (!opts)
		return NULL;
	/* The operating system's user name is looked up only when needed. */
	const char *user = pg_key_part(opts, "user", "PGUSER", NULL);
	const struct passwd *pw = user ? NULL : getpwuid(geteuid());
	if (!user)
		user = pw ? pw->pw_name : "";
	const char *host = pg_key_part(opts, "host", "PGHOST", NULL);
	if (!host)
		host = pg_key_part(opts, "hostaddr", "PGHOSTADDR", "/var/run/postgresql");
	char *name = host[0] == '/' ? dbreg_strdup(host) : pg_lower(host);
	char *key = name ? dbreg_printf("postgres://%s@%s:%s/%s", user, name, pg_key_part(opts, "port", "PGPORT", "5432"),
					pg_key_part(opts, "dbname", "PGDATABASE", user))
			 : NULL;
	free(name);
	PQconninfoFree(opts);
	return key;
}

/* ---- servers that refuse TLS ------------------------------------------- */

/* libpq's default sslmode=prefer opens every TCP connection with an
 * SSLRequest and, when the server answers 'N', goes on in plaintext: a
 * round trip a connection. A fleet connects to many databases on the same
 * servers, so for PG_PLAIN_TTL_MS after a host:port refused, later
 * connections to it do not ask (sslmode=disable). This loses nothing:
 * prefer protects against no attacker, who can strip TLS by answering 'N'
 * in the server's place. The time bound is for the processes that outlive
 * a run (watch, an embedder): a server that turns TLS on is asked again
 * within seconds, and gets it, as libpq would. A connection string or
 * environment that names sslmode, or anything that can choose it for
 * libpq, keeps libpq's behaviour. */
static const char *const pg_tls_keys[][2] = {
	{ "sslmode", "PGSSLMODE" },
	{ "requiressl", "PGREQUIRESSL" },
	{ "sslrootcert", "PGSSLROOTCERT" },    /* "system" implies verify-full (libpq 16+) */
	{ "sslnegotiation", "PGSSLNEGOTIATION" },
	{ "service", "PGSERVICE" },            /* a service file can set sslmode */
};

#define PG_PLAIN_MAX 64
#define PG_PLAIN_TTL_MS 10000.0   /* a fleet's burst; one more SSLRequest a server every 10 s */
static pthread_mutex_t pg_plain_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char key[300];
	double at;                     /* when it refused (dbreg_clock_ms) */
} pg_plain[PG_PLAIN_MAX];
static size_t pg_plain_n;

/* The host:port whose TLS refusal a connection may use or teach, in key;
 * false when libpq's own TLS negotiation stays (sslmode named, several
 * hosts, a socket, a key too long). */
static bool pg_plain_key(const PQconninfoOption *opts, char *key, size_t size)
{
	for (size_t i = 0; i < sizeof pg_tls_keys / sizeof pg_tls_keys[0]; i++)
		if (pg_given(opts, pg_tls_keys[i][0], pg_tls_keys[i][1]))
			return false;
	const char *host = pg_key_part(opts, "host", "PGHOST", "");
	const char *addr = pg_key_part(opts, "hostaddr", "PGHOSTADDR", "");
	const char *port = pg_key_part(opts, "port", "PGPORT", "5432");
	/* No host is the default socket; a socket never asks for TLS. */
	if ((!host[0] && !addr[0]) || host[0] == '/' || host[0] == '@' || strchr(host, ',') || strchr(addr, ',') ||
	    strchr(port, ','))
		return false;
	int n = snprintf(key, size, "%s %s %s", host, addr, port);
	return n > 0 && (size_t)n < size;
}

/* key's slot, or pg_plain_n; under pg_plain_lock. */
static size_t pg_plain_find(const char *key)
{
	size_t i = 0;
	while (i < pg_plain_n && strcmp(pg_plain[i].key, key) != 0)
		i++;
	return i;
}

/* Whether key is a server that refused TLS less than PG_PLAIN_TTL_MS ago;
 * an older refusal is forgotten, and the connection asks. */
static bool pg_plain_known(const char *key)
{
	pthread_mutex_lock(&pg_plain_lock);
	size_t i = pg_plain_find(key);
	bool known = i < pg_plain_n && dbreg_clock_ms() - pg_plain[i].at < PG_PLAIN_TTL_MS;
	if (i < pg_plain_n && !known)
		pg_plain[i] = pg_plain[--pg_plain_n];
	pthread_mutex_unlock(&pg_plain_lock);
	return known;
}

/* Learns (refused, now) or forgets key; a full table learns no more. */
static void pg_plain_set(const char *key, bool refused)
{
	pthread_mutex_lock(&pg_plain_lock);
	size_t i = pg_plain_find(key);
	if (refused && i == pg_plain_n && pg_plain_n < PG_PLAIN_MAX)
		snprintf(pg_plain[pg_plain_n++].key, sizeof pg_plain[0].key, "%s", key);
	if (refused && i < pg_plain_n)
		pg_plain[i].at = dbreg_clock_ms();
	else if (!refused && i < pg_plain_n)
		pg_plain[i] = pg_plain[--pg_plain_n];
	pthread_mutex_unlock(&pg_plain_lock);
}

static int pg_connect(struct dbreg_conn **out, const char *url, char *errbuf, size_t errsize)
{
	*out = NULL;
	if (!url) {
		snprintf(errbuf, errsize, "no PostgreSQL URL given");
		return DBREG_EUSAGE;
	}
	if (dbreg_pq_load(errbuf, errsize) != 0)
		return DBREG_ECONNECT;
	const char *unclear = dbreg_url_unclear(url);
	if (unclear) {
		char *red = dbreg_url_redact(url);
		snprintf(errbuf, errsize, "malformed PostgreSQL URL '%s': %s", red ? red : "***", unclear);
		free(red);
		return DBREG_EUSAGE;
	}
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	if (!opts) {
		char flat[512];
		pg_flatten(flat, sizeof flat, perr ? perr : "out of memory");
		char *msg = dbreg_url_scrub(flat, url);
		char *red = dbreg_url_redact(url);
		snprintf(errbuf, errsize, "malformed PostgreSQL URL '%s': %s", red ? red : "***",
			 msg ? msg : "out of memory");
		free(msg);
		free(red);
		PQfreemem(perr);
		return DBREG_EUSAGE;
	}
	char why[400];
	if (pg_bad_value(opts, why, sizeof why)) {
		char *msg = dbreg_url_scrub(why, url);
		char *red = dbreg_url_redact(url);
		snprintf(errbuf, errsize, "malformed PostgreSQL URL '%s': %s", red ? red : "***", msg ? msg : "out of memory");
		free(msg);
		free(red);
		PQconninfoFree(opts);
		return DBREG_EUSAGE;
	}
	/* Later keywords override earlier ones, and the URL expands at dbname:
	 * defaults go before it, what we insist on after it. */
	const char *kw[12], *val[12];
	int n = 0;
	if (!pg_given(opts, "application_name", "PGAPPNAME")) {
		kw[n] = "application_name";
		val[n++] = "dbreg";
	}
	if (!pg_given(opts, "connect_timeout", "PGCONNECT_TIMEOUT")) {
		kw[n] = "connect_timeout";
		val[n++] = "10";
	}
	/* A network that goes silent mid-migration (a dropped route, a frozen
	 * proxy) would leave the run waiting about two hours for the kernel's
	 * keepalive, the server's transaction open and its locks held: dead
	 * peers are found in about 30 s instead. A healthy server answers the
	 * probes however long its statement runs. The URL may say otherwise. */
	static const char *const keep[][2] = {
		{"keepalives_idle", "15"}, {"keepalives_interval", "5"}, {"keepalives_count", "3"},
		{"tcp_user_timeout", "30000"},
	};
	for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
		if (!pg_given(opts, keep[k][0], "")) {
			kw[n] = keep[k][0];
			val[n++] = keep[k][1];
		}
	char plain[sizeof pg_plain[0].key];
	bool learn = pg_plain_key(opts, plain, sizeof plain), skip_tls = learn && pg_plain_known(plain);
	if (skip_tls) {
		kw[n] = "sslmode";
		val[n++] = "disable";
	}
	PQconninfoFree(opts);
	kw[n] = "dbname";
	val[n++] = url;
	/* Error positions are characters; UTF8 lets us turn them into bytes. */
	kw[n] = "client_encoding";
	val[n++] = "UTF8";
	kw[n] = NULL;
	val[n] = NULL;

	struct pg_conn *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(errbuf, errsize, "out of memory");
		return DBREG_ENOMEM;
	}
	c->base.driver = &dbreg_driver_postgres;
	c->pg = PQconnectdbParams(kw, val, 1);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		const char *host = c->pg ? PQhost(c->pg) : NULL;
		const char *port = c->pg ? PQport(c->pg) : NULL;
		char flat[768];
		pg_flatten(flat, sizeof flat, c->pg ? PQerrorMessage(c->pg) : "out of memory");
		char *msg = dbreg_url_scrub(flat, url);
		snprintf(errbuf, errsize, "cannot connect to PostgreSQL at %s port %s: %s",
			 (host && host[0]) ? host : "(default host)", (port && port[0]) ? port : "5432",
			 msg ? msg : "out of memory");
		free(msg);
		PQfinish(c->pg);
		free(c);
		/* The server may have changed: the next connection asks again. */
		if (skip_tls)
			pg_plain_set(plain, false);
		return DBREG_ECONNECT;
	}
	/* Asked (not GSS-encrypted) and refused. */
	if (learn && !skip_tls && !PQsslInUse(c->pg) && !PQgssEncInUse(c->pg))
		pg_plain_set(plain, true);
	PQsetNoticeReceiver(c->pg, pg_notice, &c->base);
	/* NULL (out of memory) leaves the connection uncancellable, as before. */
	c->cancel = PQgetCancel(c->pg);
	*out = &c->base;
	return 0;
}

static void pg_close(struct dbreg_conn *conn)
{
	if (!conn)
		return;
	/* Ending the session releases the advisory lock too. */
	PQfreeCancel(PG(conn)->cancel);
	PQfinish(PG(conn)->pg);
	free(PG(conn));
}

static int pg_cancel(struct dbreg_conn *conn)
{
	/* libpq: PQcancel is safe in a signal handler with errbuf on its stack. */
	char errbuf[256];
	PGcancel *k = PG(conn)->cancel;
	return k && PQcancel(k, errbuf, (int)sizeof errbuf) == 1 ? 0 : -1;
}

static int pg_begin(struct dbreg_conn *conn)
{
	return pg_run(PG(conn), "BEGIN");
}

static int pg_commit(struct dbreg_conn *conn)
{
	struct pg_conn *c = PG(conn);
	PGresult *r = PQexec(c->pg, "COMMIT");
	int rc = 0;
	if (!pg_ok(r)) {
		pg_fail(c, r, "COMMIT");
		/* A deferred constraint failing at commit is the migration's fault. */
		rc = c->base.err.sqlstate[0] ? DBREG_EMIGRATION : DBREG_ECONNECT;
	} else if (strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
		/* COMMIT of an aborted transaction "succeeds" by rolling back. */
		memset(&c->base.err, 0, sizeof c->base.err);
		snprintf(c->base.err.message, sizeof c->base.err.message,
			 "the transaction was rolled back because a statement in it had failed");
		snprintf(c->base.err.sqlstate, sizeof c->base.err.sqlstate, "25P02");
		rc = DBREG_EMIGRATION;
	}
	PQclear(r);
	return rc;
}

static int pg_rollback(struct dbreg_conn *conn)
{
	return pg_run(PG(conn), "ROLLBACK");
}

/* Ends a COPY the body started: we have no data to give or take. */
static void pg_copy_abort(PGconn *pg, ExecStatusType st)
{
	if (st == PGRES_COPY_IN) {
		PQputCopyEnd(pg, "COPY FROM STDIN is not supported in a migration");
	} else {
		char *buf;
		while (PQgetCopyData(pg, &buf, 0) > 0)
			PQfreemem(buf);
	}
}

/* One round trip: the body goes out whole as a simple query, and the
 * server answers with one result per statement, in order, until the first
 * error; counting the results before it names the failing statement (its
 * runtime errors carry no position). A COPY is ended and its result
 * collected like any other. */
static int pg_exec(struct dbreg_conn *conn, const char *sql)
{
	struct pg_conn *c = PG(conn);
	if (!PQsendQuery(c->pg, sql)) {
		pg_fail(c, NULL, sql);
		return DBREG_EMIGRATION;
	}
	PGresult *r, *failed = NULL;
	size_t done = 0;
	/* The server sends each statement's result as it completes, so the
	 * time between two results is that statement's. */
	double t0 = dbreg_clock_ms();
	while ((r = PQgetResult(c->pg)) != NULL) {
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
			pg_copy_abort(c->pg, st);
			PQclear(r);
		} else if (failed) {
			PQclear(r); /* keep the first error */
		} else if (pg_ok(r)) {
			done++;
			PQclear(r);
			if (c->base.on_statement) {
				double t = dbreg_clock_ms();
				c->base.on_statement(c->base.on_statement_arg, done, t - t0);
				t0 = t;
			}
		} else {
			failed = r;
		}
	}
	if (!failed)
		return 0;
	pg_fail(c, failed, sql);
	/* A syntax error fails the whole body before any statement runs. */
	if (strcmp(c->base.err.sqlstate, "42601") != 0)
		c->base.err.statement = done + 1;
	PQclear(failed);
	return DBREG_EMIGRATION;
}

#define PG_HAS_PROGRESS_SQL                                                                          \
	"EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('ydtb_registry_migrations')" \
	" AND attname = 'statements_done' AND NOT attisdropped)"

/* The tables, and whether the history table has statements_done (one
 * made before the column existed gets it), asked in the same round trip
 * as creating them: an apply that writes comes here after a hinted read,
 * which cannot tell (pg_history_sql). ALTER TABLE only when the column is
 * missing, since it locks the table even when there is nothing to do. */
static int pg_history_ensure(struct dbreg_conn *conn)
{
	struct pg_conn *c = PG(conn);
	const char *tables = "CREATE TABLE IF NOT EXISTS ydtb_registry_migrations ("
			     " package text NOT NULL,"
			     " migration text NOT NULL,"
			     " version text NOT NULL,"
			     " checksum text NOT NULL,"
			     " applied_at timestamptz NOT NULL DEFAULT now(),"
			     " duration_ms bigint NOT NULL DEFAULT 0,"
			     " statements_done bigint,"
			     " PRIMARY KEY (package, migration));"
			     "CREATE TABLE IF NOT EXISTS ydtb_registry_packages ("
			     " name text PRIMARY KEY,"
			     " version text NOT NULL,"
			     " installed_at timestamptz NOT NULL DEFAULT now());";
	if (c->progress_col)
		return pg_run(c, tables);
	char *sql = dbreg_printf("%sSELECT " PG_HAS_PROGRESS_SQL, tables);
	if (!sql)
		return DBREG_ENOMEM;
	PGresult *r = PQexec(c->pg, sql);   /* the last statement's result */
	int rc = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		pg_fail(c, r, sql);
		rc = DBREG_ECONNECT;
	}
	bool has = rc == 0 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	/* Outside a transaction, whose rollback could take it away. */
	if (has && PQtransactionStatus(c->pg) == PQTRANS_IDLE)
		c->progress_col = true;
	free(sql);
	if (rc || has)
		return rc;
	return pg_run(c, "ALTER TABLE ydtb_registry_migrations ADD COLUMN IF NOT EXISTS statements_done bigint");
}

/* What the database holds of the registry's tables, asked in one round
 * trip and without failing, so an open transaction survives the question.
 * Asked every time: a developer may drop the schema under a running watch
 * (only the column, once seen outside a transaction, is remembered). */
struct pg_probe {
	bool history, packages, progress;
};

static int pg_registry_probe(struct pg_conn *c, struct pg_probe *out)
{
	PGresult *r;
	int rc = pg_query(c, &r,
			  "SELECT to_regclass('ydtb_registry_migrations') IS NOT NULL,"
			  " to_regclass('ydtb_registry_packages') IS NOT NULL, " PG_HAS_PROGRESS_SQL,
			  0, NULL);
	if (rc)
		return rc;
	bool v[3] = {false, false, false};
	for (int i = 0; i < 3 && PQntuples(r) == 1 && PQnfields(r) == 3; i++)
		v[i] = strcmp(PQgetvalue(r, 0, i), "t") == 0;
	PQclear(r);
	*out = (struct pg_probe){v[0], v[1], v[2] || c->progress_col};
	/* Outside a transaction, whose rollback could take it away. */
	if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
		c->progress_col |= v[2];
	return 0;
}

/* 1 when the table is visible on the search path, 0 when not; asks
 * without failing, so an open transaction survives the question. */
static int pg_table_exists(struct pg_conn *c, const char *name)
{
	PGresult *r;
	const char *p[1] = { name };
	int rc = pg_query(c, &r, "SELECT to_regclass($1) IS NOT NULL", 1, p);
	if (rc)
		return rc;
	rc = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return rc;
}

/* The history read's text: every row but those of migrations that
 * stopped part way (statements_done set), or, with names, the rows of n
 * packages ($1..$n). NULL when out of memory. A history table made before
 * statements_done existed is read by the same text, without asking first
 * and without an error: inside the LATERAL subquery the name resolves to
 * the table's column when it has one, else to the outer NULL (SQL looks
 * for a column from the innermost query outwards); the planner folds
 * either way into one scan of the table. The server sorts: applied_at is
 * whatever a timestamptz can hold (infinity, years past 9999, written by
 * another tool), which only its own order puts right. */
/* The history read's pieces, which the digest (PG_DIGEST_SQL) shares: its
 * rows and their text are the same or the digests say nothing. */
#define PG_APPLIED_AT "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define PG_HISTORY_FROM                                                                            \
	" FROM (VALUES (NULL::bigint)) AS absent (statements_done),"                                  \
	" LATERAL (SELECT package, migration, version, checksum, applied_at, duration_ms, ctid AS tid" \
	" FROM ydtb_registry_migrations WHERE statements_done IS NULL"

/* Closes fp, an open_memstream of *text: *text, or NULL (freed) when a
 * write failed or !ok. */
static char *pg_text_close(FILE *fp, char **text, bool ok)
{
	ok = !ferror(fp) && ok;
	if (fclose(fp) != 0 || !ok) {
		free(*text);
		*text = NULL;
	}
	return *text;
}

static char *pg_history_sql(bool names, size_t n)
{
	char *sql = NULL;
	size_t len;
	FILE *fp = open_memstream(&sql, &len);
	if (!fp)
		return NULL;
	fputs("SELECT package, migration, version, checksum, " PG_APPLIED_AT ", duration_ms" PG_HISTORY_FROM, fp);
	for (size_t i = 0; names && i < n; i++)
		fprintf(fp, "%s$%zu", i ? ", " : " AND package IN (", i + 1);
	fputs(names ? ")) h ORDER BY applied_at, tid" : ") h ORDER BY applied_at, tid", fp);
	return pg_text_close(fp, &sql, true);
}

#define PG_PACKAGES_SQL "SELECT name, version FROM ydtb_registry_packages ORDER BY name"

/* Appends the rows of a history read (pg_history_sql) to out, in its
 * order, applied_at to the millisecond as the other drivers give it. */
static int pg_history_rows(const PGresult *r, struct dbreg_history *out)
{
	int rc = 0;
	for (int i = 0; i < PQntuples(r) && !rc; i++) {
		struct dbreg_applied row = {
			.package = PQgetvalue(r, i, 0),
			.migration = PQgetvalue(r, i, 1),
			.version = PQgetvalue(r, i, 2),
			.checksum = PQgetvalue(r, i, 3),
			.applied_at = PQgetvalue(r, i, 4),
			.duration_ms = strtoll(PQgetvalue(r, i, 5), NULL, 10),
		};
		rc = dbreg_history_append(out, &row);
	}
	return rc;
}

/* The rows of PG_PACKAGES_SQL into package_read's arrays; on failure they
 * are left empty. */
static int pg_package_rows(const PGresult *r, char ***names, char ***versions, size_t *n)
{
	int rc = 0;
	size_t nv = 0;
	for (int i = 0; i < PQntuples(r) && !rc; i++) {
		if ((rc = dbreg_strv_push(names, n, PQgetvalue(r, i, 0))) == 0)
			rc = dbreg_strv_push(versions, &nv, PQgetvalue(r, i, 1));
	}
	if (rc) {
		dbreg_strv_free(*names, *n);
		dbreg_strv_free(*versions, nv);
		*names = *versions = NULL;
		*n = 0;
	}
	return rc;
}

/* The history, or (names != NULL) the rows of n packages of it. */
static int pg_history_query(struct pg_conn *c, const char *const *names, size_t n, struct dbreg_history *out)
{
	struct pg_probe probe;
	int rc = pg_registry_probe(c, &probe);
	if (rc || !probe.history)
		return rc;
	if (names && n == 0)
		return 0;
	if (n > 32767)
		return DBREG_EUSAGE;   /* above the protocol's limit of parameters: the caller reads it all */
	char *sql = pg_history_sql(names != NULL, n);
	if (!sql)
		return DBREG_ENOMEM;
	PGresult *r;
	rc = pg_query(c, &r, sql, (int)n, names);
	free(sql);
	if (rc)
		return rc;
	rc = pg_history_rows(r, out);
	PQclear(r);
	return rc;
}

static int pg_history_read(struct dbreg_conn *conn, struct dbreg_history *out)
{
	return pg_history_query(PG(conn), NULL, 0, out);
}

static int pg_history_read_packages(struct dbreg_conn *conn, const char *const *names, size_t n,
				    struct dbreg_history *out)
{
	return pg_history_query(PG(conn), names, n, out);
}

/* Every row of the named columns of a table, as text. */
static int pg_rows_read(struct dbreg_conn *conn, const char *table, const char *const *columns, size_t n_columns,
			char ***cells, size_t *n_rows)
{
	struct pg_conn *c = PG(conn);
	*cells = NULL;
	*n_rows = 0;
	int rc = pg_table_exists(c, table);
	if (rc <= 0 || n_columns == 0)
		return rc;
	char *sql = NULL, *t = NULL;
	size_t len;
	FILE *fp = open_memstream(&sql, &len);
	if (!fp)
		return DBREG_ENOMEM;
	fputs("SELECT ", fp);
	for (size_t i = 0; i < n_columns; i++) {
		char *q = PQescapeIdentifier(c->pg, columns[i], strlen(columns[i]));
		if (!q)
			goto escaped;
		fprintf(fp, "%s%s::text", i ? ", " : "", q);
		PQfreemem(q);
	}
	if ((t = PQescapeIdentifier(c->pg, table, strlen(table))))
		fprintf(fp, " FROM %s", t);
	PQfreemem(t);
escaped:
	if (!pg_text_close(fp, &sql, t != NULL))
		return DBREG_ENOMEM;
	PGresult *r;
	rc = pg_query(c, &r, sql, 0, NULL);
	free(sql);
	if (rc)
		return rc;
	size_t rows = (size_t)PQntuples(r);
	char **v = calloc(rows * n_columns + 1, sizeof *v);
	if (!v)
		rc = DBREG_ENOMEM;
	for (size_t i = 0; v && i < rows && rc == 0; i++)
		for (size_t k = 0; k < n_columns && rc == 0; k++)
			if (!PQgetisnull(r, (int)i, (int)k) &&
			    !(v[i * n_columns + k] = dbreg_strdup(PQgetvalue(r, (int)i, (int)k))))
				rc = DBREG_ENOMEM;
	PQclear(r);
	if (rc) {
		dbreg_strv_free(v, rows * n_columns);
		return rc;
	}
	*cells = v;
	*n_rows = rows;
	return 0;
}

static int pg_prepare(struct pg_conn *c, const char *name, const char *sql, int n)
{
	PGresult *r = PQprepare(c->pg, name, sql, n, NULL);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_fail(c, r, sql);
		rc = DBREG_ECONNECT;
	}
	PQclear(r);
	return rc;
}

static int pg_history_record(struct dbreg_conn *conn, const struct dbreg_applied *row, bool up)
{
	struct pg_conn *c = PG(conn);
	if (!c->prepared) {
		/* clock_timestamp, not now(): rows of one transaction keep their order. */
		int rc = pg_prepare(c, "dbreg_history_up",
				    "INSERT INTO ydtb_registry_migrations"
				    " (package, migration, version, checksum, applied_at, duration_ms)"
				    " VALUES ($1, $2, $3, $4, COALESCE($5::timestamptz, clock_timestamp()), $6::bigint)",
				    6);
		if (!rc)
			rc = pg_prepare(c, "dbreg_history_down",
					"DELETE FROM ydtb_registry_migrations WHERE package = $1 AND migration = $2", 2);
		if (rc)
			return rc;
		c->prepared = true;
	}
	char dur[32];
	snprintf(dur, sizeof dur, "%lld", row->duration_ms);
	const char *p[6] = { row->package, row->migration, row->version, row->checksum, row->applied_at, dur };
	PGresult *r = PQexecPrepared(c->pg, up ? "dbreg_history_up" : "dbreg_history_down", up ? 6 : 2, p,
				     NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_fail(c, r, NULL);
		rc = DBREG_ECONNECT;
	}
	PQclear(r);
	return rc;
}

static int pg_package_record(struct dbreg_conn *conn, const char *name, const char *version)
{
	struct pg_conn *c = PG(conn);
	PGresult *r;
	const char *p[2] = { name, version };
	int rc = version ? pg_query(c, &r,
				    "INSERT INTO ydtb_registry_packages (name, version, installed_at)"
				    " VALUES ($1, $2, now()) ON CONFLICT (name) DO UPDATE"
				    " SET version = excluded.version, installed_at = excluded.installed_at",
				    2, p)
			 : pg_query(c, &r, "DELETE FROM ydtb_registry_packages WHERE name = $1", 1, p);
	if (!rc)
		PQclear(r);
	return rc;
}

static int pg_package_read(struct dbreg_conn *conn, char ***names, char ***versions, size_t *n)
{
	struct pg_conn *c = PG(conn);
	*names = *versions = NULL;
	*n = 0;
	struct pg_probe probe;
	int rc = pg_registry_probe(c, &probe);
	if (rc || !probe.packages)
		return rc;
	PGresult *r;
	if ((rc = pg_query(c, &r, PG_PACKAGES_SQL, 0, NULL)))
		return rc;
	rc = pg_package_rows(r, names, versions, n);
	PQclear(r);
	return rc;
}

/* The history read (when history) and the packages read (when packages)
 * sent as one simple query: one round trip, both in one implicit
 * transaction. A failure stops what follows it and fills conn->err;
 * *missing says whether it was a table or a column that is not there
 * (42P01, 42703). */
static int pg_read_at_once(struct pg_conn *c, bool history, bool packages, struct dbreg_history *hist,
			   char ***names, char ***versions, size_t *n, bool *missing)
{
	*missing = false;
	char *h = history ? pg_history_sql(false, 0) : NULL;
	char *sql = history && !h ? NULL
		    : dbreg_printf("%s%s%s", h ? h : "", h && packages ? ";" : "", packages ? PG_PACKAGES_SQL : "");
	free(h);
	if (!sql)
		return DBREG_ENOMEM;
	int rc = 0;
	if (!PQsendQuery(c->pg, sql)) {
		pg_fail(c, NULL, NULL);
		rc = DBREG_ECONNECT;
	}
	free(sql);
	/* Every result is taken, a failed one's too, so the connection is
	 * ready for the next query whatever happened. */
	PGresult *r;
	for (int k = 0; (r = PQgetResult(c->pg)) != NULL; k++) {
		if (rc == 0 && PQresultStatus(r) != PGRES_TUPLES_OK) {
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			*missing = state && (strcmp(state, "42P01") == 0 || strcmp(state, "42703") == 0);
			pg_fail(c, r, NULL);
			rc = DBREG_ECONNECT;
		} else if (rc == 0) {
			rc = history && k == 0 ? pg_history_rows(r, hist) : pg_package_rows(r, names, versions, n);
		}
		PQclear(r);
	}
	return rc;
}

/* Empties registry_read's outputs after a failure. */
static void pg_read_reset(struct dbreg_history *hist, char ***names, char ***versions, size_t *n)
{
	dbreg_history_dispose(hist);
	dbreg_strv_free(*names, *n);
	dbreg_strv_free(*versions, *n);
	*names = *versions = NULL;
	*n = 0;
}

/* One round trip for a target seen before (expect): its tables are read
 * as they were (a history table with or without statements_done, see
 * pg_history_sql), and only when that fails for a missing table or column
 * (the tables dropped since) is the probe asked. Outside a transaction only: there the failed read is a
 * transaction of its own; inside one it would abort the caller's. Without
 * the hint: the probe, then the tables it found, in one more round trip. */
static int pg_registry_read(struct dbreg_conn *conn, bool expect, struct dbreg_history *hist, char ***names,
			    char ***versions, size_t *n)
{
	struct pg_conn *c = PG(conn);
	*names = *versions = NULL;
	*n = 0;
	bool missing = false;
	int rc;
	if (expect && PQtransactionStatus(c->pg) == PQTRANS_IDLE) {
		rc = pg_read_at_once(c, true, true, hist, names, versions, n, &missing);
		if (rc == 0)
			return 0;
		pg_read_reset(hist, names, versions, n);
		if (!missing)
			return rc;
	}
	struct pg_probe p;
	if ((rc = pg_registry_probe(c, &p)) != 0 || (!p.history && !p.packages))
		return rc;
	rc = pg_read_at_once(c, p.history, p.packages, hist, names, versions, n, &missing);
	if (rc)
		pg_read_reset(hist, names, versions, n);
	return rc;
}

/* registry_read's rows digested by the server, in regdigest.c's bytes:
 * the history read's rows and order (pg_history_sql), the packages in
 * byte order. textsend gives a text's bytes as the client would receive
 * them (in its encoding, UTF-8), and a NUL ends each; K is digested once,
 * in a subquery kept apart (OFFSET 0), for both digests. The rows are
 * sorted once, by the subquery, and aggregated in that order (what a
 * plain aggregate over a sorted subquery does); were they not, the digest
 * would differ from the rows' and the caller would read them: slower,
 * never wrong. Each table is read once. */
#define PG_NUL " || decode('00', 'hex')"
#define PG_DIGEST_SQL                                                                              \
	"SELECT h.n AS hn, p.n AS pn, encode(sha256(coalesce(h.a, '') || h.k), 'hex') AS hd,"          \
	" encode(sha256(coalesce(p.s, '') || h.k), 'hex') AS pd"                                      \
	" FROM (SELECT n, a, sha256(coalesce(k, '')) AS k FROM (SELECT count(*) AS n,"                \
	" string_agg(k, '') AS k, string_agg(a, '') AS a"                                             \
	" FROM (SELECT textsend(coalesce(package, ''))" PG_NUL " || textsend(coalesce(migration, ''))" \
	PG_NUL " || textsend(coalesce(version, ''))" PG_NUL " || textsend(coalesce(checksum, ''))"    \
	PG_NUL " AS k, textsend(coalesce(" PG_APPLIED_AT ", ''))" PG_NUL                              \
	" || textsend(coalesce(duration_ms, 0)::text)" PG_NUL " AS a"                                 \
	PG_HISTORY_FROM ") x ORDER BY applied_at, tid) r) s OFFSET 0) h,"                             \
	" (SELECT count(*) AS n, string_agg(textsend(coalesce(name, ''))" PG_NUL                      \
	" || textsend(coalesce(version, ''))" PG_NUL ", '' ORDER BY name COLLATE \"C\") AS s"        \
	" FROM ydtb_registry_packages) p"

/* The registry tables' fingerprint (registry_digest_since): NULL unless
 * both are plain tables (no rules, no children, no row security) whose
 * columns are of built-in types, so that what the digest reads is the
 * visible tuples' bytes and the columns' definitions. A visible tuple is
 * never rewritten in place: any change (insert, update, delete, truncate,
 * a rewrite) leaves a tuple set whose (ctid, xmin) differ, xids being
 * unique within a running server (its start time) and never handed out
 * twice short of a crash (the cumulative statistics' reset time, which a
 * crash restart resets) or a wraparound (relfrozenxid, which the vacuums
 * a wraparound forces move); a column renamed, dropped or added with a
 * default moves its pg_attribute row's xmin; another database, a restore,
 * a table made again moves an oid or a relfilenode. Same snapshot as the
 * digest (one statement). */
#define PG_FP_TABLES "('ydtb_registry_migrations'::regclass, 'ydtb_registry_packages'::regclass)"
#define PG_FP_ROWS(t) "(SELECT count(*) || ':' || min(tableoid) || ':' || md5(string_agg(ctid::text || xmin, ',')) FROM " t ")"
#define PG_FINGERPRINT_SQL                                                                         \
	"SELECT 'pgfp1:' || md5(concat_ws('|', pg_postmaster_start_time(),"                          \
	" (SELECT stats_reset FROM pg_stat_bgwriter),"                                                \
	" (SELECT oid FROM pg_database WHERE datname = current_database()),"                          \
	" current_setting('client_encoding'),"                                                         \
	" string_agg(concat_ws(':', c.oid, c.relfilenode, c.xmin, c.relfrozenxid, c.relminmxid,"     \
	" (SELECT string_agg(a.attnum || '.' || a.xmin, ',' ORDER BY a.attnum) FROM pg_attribute a"   \
	" WHERE a.attrelid = c.oid AND a.attnum > 0)), ';' ORDER BY c.oid),"                          \
	" " PG_FP_ROWS("ydtb_registry_migrations") ", " PG_FP_ROWS("ydtb_registry_packages") "))"   \
	" FROM pg_class c WHERE c.oid IN " PG_FP_TABLES " HAVING count(*) = 2"                        \
	" AND bool_and(c.relkind = 'r' AND NOT c.relhasrules AND NOT c.relhassubclass"                \
	" AND NOT c.relrowsecurity) AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid IN "  \
	PG_FP_TABLES " AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid >= 16384)"
/* The fingerprint (computed once: OFFSET 0 keeps it from being inlined
 * into each use), and the digests only when it is not $1's: each digest
 * column an init plan of the CASE's other branch, run only when taken,
 * and d, referenced four times, computed once. */
#define PG_DIGEST_UNLESS(col) " CASE WHEN f.fp = $1 THEN NULL ELSE (SELECT " col " FROM d) END"
#define PG_DIGEST_SINCE_SQL                                                                        \
	"WITH d AS (" PG_DIGEST_SQL ") SELECT" PG_DIGEST_UNLESS("hn") "," PG_DIGEST_UNLESS("pn") ","  \
	PG_DIGEST_UNLESS("hd") "," PG_DIGEST_UNLESS("pd") ", f.fp"                                    \
	" FROM (SELECT (" PG_FINGERPRINT_SQL ") AS fp OFFSET 0) f"

/* One row for the whole history. Only for a target seen before (expect)
 * and outside a transaction (a failed statement would abort the caller's):
 * a registry table or column dropped since, or a server before
 * PostgreSQL 11 (no sha256), says 1, and the caller's read of the rows
 * reports what is wrong; any other failure is the visit's. So does a server whose encoding is not UTF-8 (its
 * octet_length counts other bytes than the client's). With since (not
 * NULL: registry_digest_since), the fingerprint too, and 2 when it is
 * since's (nothing digested). */
static int pg_digest(struct dbreg_conn *conn, bool expect, const char *since, char fp[DBREG_FINGERPRINT_SIZE],
		     struct dbreg_registry_digest *out)
{
	struct pg_conn *c = PG(conn);
	memset(out, 0, sizeof *out);
	if (fp)
		fp[0] = '\0';
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		pg_fail(c, NULL, NULL);   /* the visit's failure, not a digest's silence */
		return DBREG_ECONNECT;
	}
	const char *encoding = PQparameterStatus(c->pg, "server_encoding");
	if (!expect || PQtransactionStatus(c->pg) != PQTRANS_IDLE || !encoding || strcmp(encoding, "UTF8") != 0)
		return 1;
	if (PQserverVersion(c->pg) < 110000)
		return 1;   /* sha256() came in 11: not a failed statement per visit */
	PGresult *r = fp ? PQexecParams(c->pg, PG_DIGEST_SINCE_SQL, 1, NULL, &since, NULL, NULL, 0)
			 : PQexec(c->pg, PG_DIGEST_SQL);
	int rc = 1;
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	bool one = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == (fp ? 5 : 4);
	if (PQresultStatus(r) != PGRES_TUPLES_OK &&
	    (PQstatus(c->pg) == CONNECTION_BAD || (state && (strncmp(state, "57", 2) == 0 || strncmp(state, "08", 2) == 0)))) {
		/* An interrupt's cancel, a shutdown or a lost connection is the
		 * visit's failure; anything else (a table dropped since) cannot
		 * tell, and the read of the rows says what is wrong. */
		pg_fail(c, r, NULL);
		rc = DBREG_ECONNECT;
	} else if (one && fp && !PQgetisnull(r, 0, 4) && strlen(PQgetvalue(r, 0, 4)) < DBREG_FINGERPRINT_SIZE &&
		   since && strcmp(PQgetvalue(r, 0, 4), since) == 0) {
		strcpy(fp, since);
		rc = 2;
	} else if (one && strlen(PQgetvalue(r, 0, 2)) == 64 && strlen(PQgetvalue(r, 0, 3)) == 64) {
		out->n_rows = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
		out->n_packages = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
		snprintf(out->history, sizeof out->history, "sha256:%s", PQgetvalue(r, 0, 2));
		snprintf(out->plan, sizeof out->plan, "sha256:%s", PQgetvalue(r, 0, 3));
		if (fp && strlen(PQgetvalue(r, 0, 4)) < DBREG_FINGERPRINT_SIZE)
			strcpy(fp, PQgetvalue(r, 0, 4));   /* "" when NULL: none to trust */
		rc = 0;
	}
	PQclear(r);
	return rc;
}

static int pg_registry_digest(struct dbreg_conn *conn, bool expect, struct dbreg_registry_digest *out)
{
	return pg_digest(conn, expect, NULL, NULL, out);
}

static int pg_registry_digest_since(struct dbreg_conn *conn, bool expect, const char *since,
				    char fp[DBREG_FINGERPRINT_SIZE], struct dbreg_registry_digest *out)
{
	return pg_digest(conn, expect, since, fp, out);
}

/* The server compares: json has no equality, so it is read as jsonb
 * (the same document whatever its spacing and key order). The type comes
 * from the catalog (format_type), not from a manifest. */
/* Runs a statement that the server may refuse (a literal its type does
 * not take, an expression that does not parse) with the extended protocol
 * (one statement only): inside a transaction under a savepoint, so that
 * only the savepoint is lost. *r is the result (PQclear it), NULL when
 * the savepoint itself fails. */
static int pg_exec_guarded(struct pg_conn *c, const char *sql, int n, const char *const *params, PGresult **r)
{
	*r = NULL;
	bool in_tx = PQtransactionStatus(c->pg) == PQTRANS_INTRANS;
	if (in_tx && pg_run(c, "SAVEPOINT dbreg_guarded") != 0)
		return DBREG_ECONNECT;
	*r = PQexecParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(*r) == PGRES_TUPLES_OK;
	if (in_tx && (ok ? pg_run(c, "RELEASE SAVEPOINT dbreg_guarded")
			 : pg_run(c, "ROLLBACK TO SAVEPOINT dbreg_guarded") ||
				   pg_run(c, "RELEASE SAVEPOINT dbreg_guarded")))
		return DBREG_ECONNECT;
	return ok ? 0 : DBREG_ECONNECT;
}

static int pg_values_equal(struct dbreg_conn *conn, const char *type, const char *a, const char *b, bool *same)
{
	struct pg_conn *c = PG(conn);
	const char *as = strcmp(type, "json") == 0 ? "jsonb" : type;
	char *sql = dbreg_printf("SELECT $1::%s IS NOT DISTINCT FROM $2::%s", as, as);
	if (!sql)
		return DBREG_ENOMEM;
	const char *params[2] = {a, b};
	PGresult *r;
	int rc = pg_exec_guarded(c, sql, 2, params, &r);
	free(sql);
	if (rc == 0 && PQntuples(r) == 1)
		*same = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	else
		rc = DBREG_ECONNECT;
	PQclear(r);
	return rc;
}

/* An expression as the server prints it once parsed, coerced to type and
 * planned (immutable calls folded, as on either side): EXPLAIN VERBOSE's
 * Output line, which runs nothing. *out malloc'd. */
static int pg_expr_printed(struct pg_conn *c, const char *type, const char *expr, char **out)
{
	*out = NULL;
	char *sql = dbreg_printf("EXPLAIN (VERBOSE, COSTS OFF) SELECT CAST((%s\n) AS %s)", expr, type);
	if (!sql)
		return DBREG_ENOMEM;
	PGresult *r;
	int rc = pg_exec_guarded(c, sql, 0, NULL, &r);
	free(sql);
	for (int i = 0; rc == 0 && !*out && i < PQntuples(r); i++) {
		const char *line = PQgetvalue(r, i, 0);
		line += strspn(line, " ");
		if (strncmp(line, "Output: ", 8) == 0 && !(*out = dbreg_strdup(line + 8)))
			rc = DBREG_ENOMEM;
	}
	PQclear(r);
	return rc ? rc : *out ? 0 : DBREG_ECONNECT;
}

static int pg_exprs_equal(struct dbreg_conn *conn, const char *type, const char *a, const char *b, bool *same)
{
	struct pg_conn *c = PG(conn);
	char *pa = NULL, *pb = NULL;
	int rc = pg_expr_printed(c, type, a, &pa);
	if (rc == 0)
		rc = pg_expr_printed(c, type, b, &pb);
	if (rc == 0)
		*same = strcmp(pa, pb) == 0;
	free(pa);
	free(pb);
	return rc;
}

/* ---- catalog ---------------------------------------------------------- */

/* The user tables of the current schema, dbreg's own left out. */
#define PG_TABLES                                                                                   \
	" c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())"         \
	" AND c.relkind IN ('r', 'p') AND NOT c.relispartition"                                      \
	" AND c.relname NOT LIKE 'ydtb\\_registry\\_%'"

/* A column's default; a generated column's expression (in pg_attrdef
 * too) is no default. attgenerated is PostgreSQL 12's: read through the
 * row as JSON, so that an older server reads it as absent. */
#define PG_COLUMN_DEFAULT                                                                           \
	"CASE WHEN COALESCE(to_jsonb(a) ->> 'attgenerated', '') = '' THEN pg_get_expr(d.adbin, d.adrelid) END"

static const char *pg_action(char code)
{
	switch (code) {
	case 'r': return "restrict";
	case 'c': return "cascade";
	case 'n': return "set null";
	case 'd': return "set default";
	default: return "no action";
	}
}

/* Whether row i names the same table (column 0) and constraint or index
 * (column 1) as row i - 1: then it adds a column to the previous one. */
static bool pg_row_continues(PGresult *r, int i)
{
	return i > 0 && strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)) == 0 &&
	       strcmp(PQgetvalue(r, i, 1), PQgetvalue(r, i - 1, 1)) == 0;
}

/* The table named in row i, column 0; rows come grouped by table. */
static struct dbreg_cat_table *pg_row_table(struct dbreg_catalog *cat, PGresult *r, int i, size_t *hint)
{
	const char *name = PQgetvalue(r, i, 0);
	if (*hint < cat->n_tables && strcmp(cat->tables[*hint].name, name) == 0)
		return &cat->tables[*hint];
	for (size_t k = 0; k < cat->n_tables; k++) {
		if (strcmp(cat->tables[k].name, name) == 0) {
			*hint = k;
			return &cat->tables[k];
		}
	}
	return NULL;
}

/* A column of the table (columns query: name, type, not null, default). */
static int pg_cat_column(struct dbreg_cat_table *t, PGresult *r, int i)
{
	struct dbreg_cat_column *col = dbreg_array_push(&t->columns, &t->n_columns, sizeof *col);
	if (!col)
		return DBREG_ENOMEM;
	col->name = dbreg_strdup(PQgetvalue(r, i, 1));
	col->type = pg_lower(PQgetvalue(r, i, 2));
	col->not_null = strcmp(PQgetvalue(r, i, 3), "t") == 0;
	col->identity = strcmp(PQgetvalue(r, i, 5), "t") == 0;
	if (!PQgetisnull(r, i, 4) && !(col->default_expr = dbreg_strdup(PQgetvalue(r, i, 4))))
		return DBREG_ENOMEM;
	return col->name && col->type ? 0 : DBREG_ENOMEM;
}

/* The next column of the table's primary key, in key order. */
static int pg_cat_primary_key(struct dbreg_cat_table *t, PGresult *r, int i)
{
	return dbreg_strv_push(&t->primary_key, &t->n_primary_key, PQgetvalue(r, i, 1));
}

/* A foreign key (its first row), and one column pair of it. */
static int pg_cat_fkey(struct dbreg_cat_table *t, PGresult *r, int i)
{
	if (!pg_row_continues(r, i) || t->n_fkeys == 0) {
		struct dbreg_cat_fkey *f = dbreg_array_push(&t->fkeys, &t->n_fkeys, sizeof *f);
		if (!f)
			return DBREG_ENOMEM;
		f->ref_table = dbreg_strdup(PQgetvalue(r, i, 2));
		f->on_delete = dbreg_strdup(pg_action(PQgetvalue(r, i, 3)[0]));
		f->on_update = dbreg_strdup(pg_action(PQgetvalue(r, i, 4)[0]));
		f->not_valid = strcmp(PQgetvalue(r, i, 7), "f") == 0;
		if (!f->ref_table || !f->on_delete || !f->on_update)
			return DBREG_ENOMEM;
	}
	struct dbreg_cat_fkey *f = &t->fkeys[t->n_fkeys - 1];
	size_t n = f->n_columns, m = f->n_columns;
	if (dbreg_strv_push(&f->columns, &n, PQgetvalue(r, i, 5)) != 0 ||
	    dbreg_strv_push(&f->ref_columns, &m, PQgetvalue(r, i, 6)) != 0) {
		if (n > f->n_columns)
			free(f->columns[--n]); /* keep both vectors n_columns long */
		return DBREG_ENOMEM;
	}
	f->n_columns++;
	return 0;
}

/* An index (its first row), and one key column or expression of it. */
static int pg_cat_index(struct dbreg_cat_table *t, PGresult *r, int i)
{
	if (!pg_row_continues(r, i) || t->n_indexes == 0) {
		struct dbreg_cat_index *ix = dbreg_array_push(&t->indexes, &t->n_indexes, sizeof *ix);
		if (!ix)
			return DBREG_ENOMEM;
		ix->unique = strcmp(PQgetvalue(r, i, 2), "t") == 0;
		ix->primary = strcmp(PQgetvalue(r, i, 3), "t") == 0;
		ix->valid = strcmp(PQgetvalue(r, i, 4), "t") == 0;
		if (!(ix->name = dbreg_strdup(PQgetvalue(r, i, 1))))
			return DBREG_ENOMEM;
		if (!PQgetisnull(r, i, 6) && !(ix->predicate = dbreg_strdup(PQgetvalue(r, i, 6))))
			return DBREG_ENOMEM;
		if (!PQgetisnull(r, i, 7) && !(ix->method = dbreg_strdup(PQgetvalue(r, i, 7))))
			return DBREG_ENOMEM;
	}
	struct dbreg_cat_index *ix = &t->indexes[t->n_indexes - 1];
	return dbreg_strv_push(&ix->columns, &ix->n_columns, PQgetvalue(r, i, 5));
}

/* Row-level security: the table's two flags (every row), and a policy
 * (none on the row of a table without one: the join is a LEFT JOIN). */
static int pg_cat_policy(struct dbreg_cat_table *t, PGresult *r, int i)
{
	t->rls_enabled = strcmp(PQgetvalue(r, i, 1), "t") == 0;
	t->rls_forced = strcmp(PQgetvalue(r, i, 2), "t") == 0;
	if (PQgetisnull(r, i, 3))
		return 0;
	struct dbreg_cat_policy *pol = dbreg_array_push(&t->policies, &t->n_policies, sizeof *pol);
	if (!pol)
		return DBREG_ENOMEM;
	pol->name = dbreg_strdup(PQgetvalue(r, i, 3));
	pol->command = dbreg_strdup(PQgetvalue(r, i, 4));
	pol->permissive = strcmp(PQgetvalue(r, i, 5), "t") == 0;
	pol->roles = dbreg_strdup(PQgetvalue(r, i, 6));
	if (!PQgetisnull(r, i, 7))
		pol->using_expr = dbreg_strdup(PQgetvalue(r, i, 7));
	if (!PQgetisnull(r, i, 8))
		pol->check_expr = dbreg_strdup(PQgetvalue(r, i, 8));
	if (!pol->name || !pol->command || !pol->roles || (!PQgetisnull(r, i, 7) && !pol->using_expr) ||
	    (!PQgetisnull(r, i, 8) && !pol->check_expr))
		return DBREG_ENOMEM;
	return 0;
}

/* What the catalog reads of each table after its name, one query each:
 * rows ordered by table (column 0, then what groups them), and what a row
 * adds to its table. A row of a table not listed is skipped. */
static const struct pg_cat_reader {
	const char *sql;
	int (*row)(struct dbreg_cat_table *t, PGresult *r, int i);
} pg_cat_readers[] = {
	{ "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
	  " " PG_COLUMN_DEFAULT ", a.attidentity <> ''"
	  " FROM pg_class c"
	  " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
	  " LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum"
	  " WHERE" PG_TABLES " ORDER BY c.relname, a.attnum",
	  pg_cat_column },
	{ "SELECT c.relname, a.attname FROM pg_class c"
	  " JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'"
	  " CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)"
	  " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum"
	  " WHERE" PG_TABLES " ORDER BY c.relname, u.ord",
	  pg_cat_primary_key },
	{ "SELECT c.relname, k.conname, rt.relname, k.confdeltype, k.confupdtype, a.attname, ra.attname,"
	  " k.convalidated"
	  " FROM pg_class c"
	  " JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'f'"
	  " JOIN pg_class rt ON rt.oid = k.confrelid"
	  " CROSS JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY AS u(attnum, refnum, ord)"
	  " JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum"
	  " JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = u.refnum"
	  " WHERE" PG_TABLES " ORDER BY c.relname, k.conname, u.ord",
	  pg_cat_fkey },
	{ "SELECT c.relname, ic.relname, i.indisunique, i.indisprimary, i.indisvalid,"
	  " CASE WHEN u.attnum = 0 THEN pg_get_indexdef(i.indexrelid, u.ord::int, true)"
	  " ELSE a.attname::text END,"
	  " pg_get_expr(i.indpred, i.indrelid, true), (SELECT amname FROM pg_am WHERE oid = ic.relam)"
	  " FROM pg_class c"
	  " JOIN pg_index i ON i.indrelid = c.oid"
	  " JOIN pg_class ic ON ic.oid = i.indexrelid"
	  " CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS u(attnum, ord)"
	  " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum"
	  " WHERE" PG_TABLES " AND u.ord <= i.indnkeyatts"
	  " ORDER BY c.relname, ic.relname, u.ord",
	  pg_cat_index },
	{ "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, p.polname,"
	  " CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'"
	  " WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, p.polpermissive,"
	  " array_to_string(ARRAY(SELECT CASE WHEN u.r = 0 THEN 'public' ELSE pg_get_userbyid(u.r)::text END"
	  " FROM unnest(p.polroles) AS u(r) ORDER BY 1), ','),"
	  " pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)"
	  " FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid"
	  " WHERE" PG_TABLES " ORDER BY c.relname, p.polname",
	  pg_cat_policy },
};

/* Runs one reader over the catalog's tables. */
static int pg_cat_read(struct pg_conn *c, struct dbreg_catalog *cat, const struct pg_cat_reader *rd)
{
	PGresult *r;
	int rc = pg_query(c, &r, rd->sql, 0, NULL);
	size_t hint = 0;
	for (int i = 0; !rc && i < PQntuples(r); i++) {
		struct dbreg_cat_table *t = pg_row_table(cat, r, i, &hint);
		if (t)
			rc = rd->row(t, r, i);
	}
	PQclear(r);
	return rc;
}

static int pg_catalog_read(struct dbreg_conn *conn, struct dbreg_catalog *out)
{
	struct pg_conn *c = PG(conn);
	out->tables = NULL;
	out->n_tables = 0;
	PGresult *r;
	int rc = pg_query(c, &r, "SELECT c.relname FROM pg_class c WHERE" PG_TABLES " ORDER BY c.relname", 0, NULL);
	if (rc)
		return rc;
	if (PQntuples(r) > 0 && !(out->tables = calloc((size_t)PQntuples(r), sizeof *out->tables)))
		rc = DBREG_ENOMEM;
	for (int i = 0; !rc && i < PQntuples(r); i++) {
		out->n_tables++;
		if (!(out->tables[i].name = dbreg_strdup(PQgetvalue(r, i, 0))))
			rc = DBREG_ENOMEM;
	}
	PQclear(r);
	for (size_t k = 0; !rc && out->n_tables && k < sizeof pg_cat_readers / sizeof pg_cat_readers[0]; k++)
		rc = pg_cat_read(c, out, &pg_cat_readers[k]);
	if (rc)
		dbreg_catalog_dispose(out);
	return rc;
}

static int pg_server_version(struct dbreg_conn *conn, char *buf, size_t size)
{
	int v = PQserverVersion(PG(conn)->pg);
	if (v >= 100000)
		snprintf(buf, size, "%d.%d", v / 10000, v % 10000);
	else
		snprintf(buf, size, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
	return 0;
}

/* ---- version 4: statements, INVALID indexes, progress, timeouts -------- */

/* The statements as the server's parser splits them (its scanner when the
 * parser refuses the text, so a body with a syntax error still splits). */
static int pg_split(struct dbreg_conn *conn, const char *sql, struct dbreg_span **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	PgQuerySplitResult r = pg_query_split_with_parser(sql);
	if (r.error) {
		pg_query_free_split_result(r);
		r = pg_query_split_with_scanner(sql);
	}
	if (r.error) {
		struct dbreg_db_error *e = &conn->err;
		memset(e, 0, sizeof *e);
		snprintf(e->message, sizeof e->message, "cannot split the body into statements: %s",
			 r.error->message ? r.error->message : "syntax error");
		pg_query_free_split_result(r);
		return DBREG_EMIGRATION;
	}
	size_t len = strlen(sql);
	int rc = 0;
	if (r.n_stmts > 0 && !(*out = calloc((size_t)r.n_stmts, sizeof **out)))
		rc = DBREG_ENOMEM;
	for (int i = 0; !rc && i < r.n_stmts; i++) {
		const PgQuerySplitStmt *st = r.stmts[i];
		if (st->stmt_location < 0 || (size_t)st->stmt_location > len || st->stmt_len < 0)
			continue;
		size_t s0 = (size_t)st->stmt_location;
		size_t e = st->stmt_len == 0 ? len : s0 + (size_t)st->stmt_len;
		if (e > len)
			e = len;
		s0 = dbreg_sql_skip_blank(sql, s0, e);
		while (e > s0 && (sql[e - 1] == ' ' || sql[e - 1] == '\n' || sql[e - 1] == '\t' ||
				  sql[e - 1] == '\r' || sql[e - 1] == ';'))
			e--;
		if (e > s0)
			(*out)[(*n)++] = (struct dbreg_span){ s0, e };
	}
	pg_query_free_split_result(r);
	return rc;
}

/* The index a CREATE INDEX statement names, from the parse tree's JSON
 * (idxname is IndexStmt's first field); "" when it builds none. */
static void pg_index_name(const char *stmt, char *name, size_t size)
{
	name[0] = '\0';
	PgQueryParseResult r = pg_query_parse(stmt);
	const char *t = r.error || !r.parse_tree ? NULL : strstr(r.parse_tree, "\"IndexStmt\":{\"idxname\":\"");
	if (t) {
		t += strlen("\"IndexStmt\":{\"idxname\":\"");
		size_t k = 0;
		while (t[k] && t[k] != '"' && t[k] != '\\' && k + 1 < size)
			k++;
		if (t[k] == '"') {
			memcpy(name, t, k);
			name[k] = '\0';
		}
	}
	pg_query_free_parse_result(r);
}

static int pg_index_prepare(struct dbreg_conn *conn, const char *statement)
{
	struct pg_conn *c = PG(conn);
	char name[256];
	pg_index_name(statement, name, sizeof name);
	if (!name[0])
		return 0;
	PGresult *r;
	const char *p[1] = { name };
	int rc = pg_query(c, &r,
			  "SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', n.nspname, ic.relname)"
			  " FROM pg_class ic JOIN pg_index i ON i.indexrelid = ic.oid"
			  " JOIN pg_namespace n ON n.oid = ic.relnamespace"
			  " WHERE ic.relname = $1 AND n.nspname = current_schema() AND NOT i.indisvalid",
			  1, p);
	if (rc)
		return rc;
	char *drop = PQntuples(r) == 1 ? dbreg_strdup(PQgetvalue(r, 0, 0)) : NULL;
	PQclear(r);
	if (drop)
		rc = pg_run(c, drop);
	free(drop);
	return rc;
}

static int pg_progress_record(struct dbreg_conn *conn, const struct dbreg_applied *row, size_t done)
{
	struct pg_conn *c = PG(conn);
	char dur[32], n[32];
	snprintf(dur, sizeof dur, "%lld", row->duration_ms);
	snprintf(n, sizeof n, "%zu", done);
	const char *p[6] = { row->package, row->migration, row->version, row->checksum, dur, n };
	PGresult *r;
	int rc = done ? pg_query(c, &r,
				 "INSERT INTO ydtb_registry_migrations"
				 " (package, migration, version, checksum, applied_at, duration_ms, statements_done)"
				 " VALUES ($1, $2, $3, $4, clock_timestamp(), $5::bigint, $6::bigint)"
				 " ON CONFLICT (package, migration) DO UPDATE SET version = excluded.version,"
				 " checksum = excluded.checksum, applied_at = excluded.applied_at,"
				 " duration_ms = excluded.duration_ms, statements_done = excluded.statements_done"
				 " WHERE ydtb_registry_migrations.statements_done IS NOT NULL",
				 6, p)
		      : pg_query(c, &r,
				 "DELETE FROM ydtb_registry_migrations WHERE package = $1 AND migration = $2"
				 " AND statements_done IS NOT NULL",
				 2, p);
	if (!rc)
		PQclear(r);
	return rc;
}

static int pg_progress_read(struct dbreg_conn *conn, const char *package, const char *migration, size_t *done,
			    char *checksum)
{
	struct pg_conn *c = PG(conn);
	*done = 0;
	struct pg_probe probe;
	int rc = pg_registry_probe(c, &probe);
	if (rc || !probe.history || !probe.progress)
		return rc;
	PGresult *r;
	const char *p[2] = { package, migration };
	if ((rc = pg_query(c, &r,
			   "SELECT statements_done, checksum FROM ydtb_registry_migrations"
			   " WHERE package = $1 AND migration = $2 AND statements_done IS NOT NULL",
			   2, p)))
		return rc;
	if (PQntuples(r) == 1) {
		long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		*done = v > 0 ? (size_t)v : 0;
		snprintf(checksum, 72, "%s", PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return 0;
}

/* Session settings, so they hold for transaction = false statements too;
 * set outside a transaction, whose rollback would undo them. */
static int pg_set_timeouts(struct dbreg_conn *conn, long long lock_ms, long long statement_ms)
{
	char l[32], s[32];
	snprintf(l, sizeof l, "%lldms", lock_ms > 0 ? lock_ms : 0);
	snprintf(s, sizeof s, "%lldms", statement_ms > 0 ? statement_ms : 0);
	const char *p[2] = { l, s };
	PGresult *r;
	int rc = pg_query(PG(conn), &r,
			  "SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)", 2, p);
	if (!rc)
		PQclear(r);
	return rc;
}

/* libpq's messages for failures that waiting cannot fix, with a hint;
 * anything else (refused, timed out, starting up, no socket yet, a name
 * not resolvable yet) may go away. */
static const struct { const char *says, *hint; } pg_permanent[] = {
	{ "cannot load libpq", "dbreg reaches PostgreSQL through libpq: apt-get install libpq5" },
	{ "password authentication failed", "check the user and the password (from the environment) of the target" },
	{ "no password supplied", "the server wants a password: put it in the URL's ${NAME} variable or PGPASSWORD" },
	{ "does not exist", "create the database and role first, or fix their names in the target's URL" },
	{ "no pg_hba.conf entry", "the server refuses this client, user or database: see its pg_hba.conf" },
	{ "SSL", "check sslmode in the URL and the server's SSL setup" },
};

static const char *pg_connect_advice(const char *errmsg, bool *transient)
{
	for (size_t i = 0; errmsg && i < sizeof pg_permanent / sizeof pg_permanent[0]; i++)
		if (strstr(errmsg, pg_permanent[i].says)) {
			*transient = false;
			return pg_permanent[i].hint;
		}
	*transient = true;
	return "is the server up? check the host and port; --wait SECONDS waits longer";
}

/* libpq, when it cannot be loaded (pq.c says why, naming the library). */
static const char *pg_lacks(void)
{
	return dbreg_pq_error();
}

/* ---- the registry lock ------------------------------------------------- */

/* Names the session that holds the lock in conn->err.message. */
static void pg_lock_holder(struct pg_conn *c, int timeout_s)
{
	PGresult *r = PQexec(c->pg,
			     "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''),"
			     " coalesce(host(a.client_addr), 'local socket'), to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')"
			     " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
			     " WHERE l.locktype = 'advisory' AND l.granted"
			     " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
			     " AND l.classid = " PG_LOCK_CLASSID " AND l.objid = " PG_LOCK_OBJID " AND l.objsubid = 1"
			     " LIMIT 1");
	struct dbreg_db_error *e = &c->base.err;
	memset(e, 0, sizeof *e);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetisnull(r, 0, 4)) {
		/* Another role's session: the server hides its client and start
		 * (no pg_read_all_stats), which is not a local socket. */
		snprintf(e->message, sizeof e->message,
			 "timed out after %d s waiting for the registry lock held by pid %s"
			 " (application_name '%s', user %s; its client is not visible to this role)",
			 timeout_s, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
	} else if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		snprintf(e->message, sizeof e->message,
			 "timed out after %d s waiting for the registry lock held by pid %s"
			 " (application_name '%s', user %s, client %s, connected %s)",
			 timeout_s, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
			 PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4));
	} else {
		snprintf(e->message, sizeof e->message,
			 "timed out after %d s waiting for the registry lock (holder not visible)", timeout_s);
	}
	snprintf(e->hint, sizeof e->hint, "another dbreg run is applying to this database; retry later or raise --lock-timeout");
	PQclear(r);
}

static int pg_lock(struct dbreg_conn *conn, int timeout_s)
{
	struct pg_conn *c = PG(conn);
	if (c->locked)
		return 0;
	/* A session lock taken inside a transaction outlives its rollback,
	 * and a failed transaction cannot even ask: refuse the muddle. */
	if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		memset(&c->base.err, 0, sizeof c->base.err);
		snprintf(c->base.err.message, sizeof c->base.err.message,
			 "the registry lock must be taken outside a transaction");
		return DBREG_EUSAGE;
	}
	double deadline = dbreg_clock_ms() + (timeout_s > 0 ? timeout_s : 0) * 1e3;
	/* A client killed (SIGKILL, a lost host) sends no cancel: without this
	 * the server runs its statement to the end, holding the lock and the
	 * transaction's locks. PostgreSQL 14+ checks for it while a statement
	 * runs; set (unless a role, database or options set it already) in the
	 * statement that takes the lock, so it costs no round trip. */
	const char *sql = PQserverVersion(c->pg) >= 140000 ?
		"SELECT pg_try_advisory_lock(" PG_LOCK_KEY "),"
		" CASE current_setting('client_connection_check_interval') WHEN '0'"
		" THEN set_config('client_connection_check_interval', '" PG_CLIENT_CHECK_MS "', false) END" :
		"SELECT pg_try_advisory_lock(" PG_LOCK_KEY ")";
	for (;;) {
		PGresult *r;
		/* Never the blocking pg_advisory_lock: it could not time out or say who holds it. */
		int rc = pg_query(c, &r, sql, 0, NULL);
		if (rc)
			return rc;
		bool got = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		PQclear(r);
		if (got) {
			c->locked = true;
			return 0;
		}
		if (dbreg_cancel_ending()) {
			memset(&c->base.err, 0, sizeof c->base.err);
			snprintf(c->base.err.message, sizeof c->base.err.message,
				 "interrupted while waiting for another dbreg run's registry lock");
			return DBREG_ELOCKED;
		}
		if (dbreg_clock_ms() >= deadline)
			break;
		struct timespec pause = { 0, 100 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	pg_lock_holder(c, timeout_s);
	return DBREG_ELOCKED;
}

static int pg_unlock(struct dbreg_conn *conn)
{
	struct pg_conn *c = PG(conn);
	if (!c->locked)
		return 0;
	int rc = pg_run(c, "SELECT pg_advisory_unlock(" PG_LOCK_KEY ")");
	if (!rc)
		c->locked = false;
	return rc;
}

static const char *const pg_schemes[] = { "postgres", "postgresql", "", NULL };

const struct dbreg_driver dbreg_driver_postgres = {
	.version = DBREG_DRIVER_VERSION,
	.name = "postgres",
	.schemes = pg_schemes,
	.dialect = DBREG_DIALECT_POSTGRES,
	.connect = pg_connect,
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.exec = pg_exec,
	.history_ensure = pg_history_ensure,
	.history_read = pg_history_read,
	.history_read_packages = pg_history_read_packages,
	.rows_read = pg_rows_read,
	.history_record = pg_history_record,
	.package_record = pg_package_record,
	.package_read = pg_package_read,
	.catalog_read = pg_catalog_read,
	.server_version = pg_server_version,
	.lock = pg_lock,
	.unlock = pg_unlock,
	.split = pg_split,
	.index_prepare = pg_index_prepare,
	.progress_record = pg_progress_record,
	.progress_read = pg_progress_read,
	.set_timeouts = pg_set_timeouts,
	.foreign_keys = NULL,              /* foreign_keys = false is SQLite's */
	.foreign_key_check = NULL,
	.connect_advice = pg_connect_advice,
	.target_key = pg_target_key,
	.values_equal = pg_values_equal,
	.registry_read = pg_registry_read,
	.cancel = pg_cancel,
	.lacks = pg_lacks,
	.registry_digest = pg_registry_digest,
	/* The database is the server's: nothing here tells that it did not
	 * change, so every visit connects. */
	.content_stamp = NULL,
	.registry_digest_since = pg_registry_digest_since,
	.exprs_equal = pg_exprs_equal,
};
