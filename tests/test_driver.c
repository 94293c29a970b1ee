/* One driver suite, run once per database: `test_driver sqlite` (a fresh
 * file per test) and `test_driver postgres` (a fresh database per test on
 * the server of DBREG_TEST_PG_URL). Also the registry of drivers and URL
 * redaction, which need no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dbreg.h"
#include "dbreg/driver.h"
#include "testdb.h"
#include "regdigest.h"
#include "util.h"

/* ---- helpers ------------------------------------------------------------ */

static struct dbreg_conn *open_fixture(void **state)
{
	return testdb_open(((struct testdb *)*state)->url);
}

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
static int closed_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t len = sizeof a;
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	return ntohs(a.sin_port);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle)) {
		print_error("'%s' does not contain '%s'\n", hay ? hay : "(null)", needle);
		fail();
	}
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (hay && strstr(hay, needle)) {
		print_error("'%s' contains '%s'\n", hay, needle);
		fail();
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- connections ---------------------------------------------------------- */

static void test_driver__connect_close(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	assert_int_equal(c->driver->dialect, testdb_is_pg() ? DBREG_DIALECT_POSTGRES : DBREG_DIALECT_SQLITE);
	char ver[64] = "";
	DBREG_PASS(c, c->driver->server_version(c, ver, sizeof ver));
	assert_true(ver[0] >= '1' && ver[0] <= '9');
	assert_non_null(strchr(ver, '.'));
	const struct dbreg_driver *drv = c->driver;
	drv->close(c);
	drv->close(NULL);
}

static void expect_connect(const char *url, int want, char *err, size_t size)
{
	const struct dbreg_driver *drv = dbreg_driver_for_url(url);
	assert_non_null(drv);
	struct dbreg_conn *c = (struct dbreg_conn *)1;
	err[0] = '\0';
	int rc = drv->connect(&c, url, err, size);
	if (rc != want)
		print_error("connect('%s') = %d, want %d: %s\n", url, rc, want, err);
	assert_int_equal(rc, want);
	assert_null(c);
	assert_true(err[0] != '\0');
}

static void test_driver__bad_url(void **state)
{
	(void)state;
	char err[512];
	assert_null(dbreg_driver_for_url("mysql://u@h/db"));
	if (testdb_is_pg()) {
		expect_connect("postgresql://u:Sekr3tPw@[::1/db", DBREG_EUSAGE, err, sizeof err);
		assert_lacks(err, "Sekr3tPw");
		assert_contains(err, "postgresql://u:***@");
		expect_connect("host=localhost password=Sekr3tPw port", DBREG_EUSAGE, err, sizeof err);
		assert_lacks(err, "Sekr3tPw");
		expect_connect("postgres://h/db?nosuchoption=1", DBREG_EUSAGE, err, sizeof err);
		assert_contains(err, "nosuchoption");
	} else {
		expect_connect("sqlite:", DBREG_EUSAGE, err, sizeof err);
		expect_connect("sqlite://host/x.db", DBREG_EUSAGE, err, sizeof err);
		assert_contains(err, "sqlite:PATH");
	}
}

static void test_driver__unreachable(void **state)
{
	(void)state;
	char err[512], url[256];
	if (testdb_is_pg()) {
		int port = closed_port();
		snprintf(url, sizeof url, "postgresql://nobody:Unre4chablePw@127.0.0.1:%d/x?connect_timeout=3", port);
		expect_connect(url, DBREG_ECONNECT, err, sizeof err);
		char want[64];
		snprintf(want, sizeof want, "127.0.0.1 port %d", port);
		assert_contains(err, want);
		assert_lacks(err, "Unre4chablePw");
	} else {
		expect_connect("sqlite:/nonexistent-dbreg-dir/sub/x.db", DBREG_ECONNECT, err, sizeof err);
		assert_contains(err, "/nonexistent-dbreg-dir/sub/x.db");
	}
}

static void test_driver__wrong_password_never_echoed(void **state)
{
	(void)state;
	testdb_admin_exec("DO $$ BEGIN"
		   " IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dbreg_pw_test') THEN"
		   " CREATE ROLE dbreg_pw_test LOGIN PASSWORD 'dbreg-right-pw-1';"
		   " END IF; END $$");
	char host[256], port[32], url[512], err[512];
	testdb_pg_opt("host", "127.0.0.1", host, sizeof host);
	testdb_pg_opt("port", "5432", port, sizeof port);
	const char *wrong = "Wr0ngPassw0rdXYZ";
	const char *keys[] = { "user", "password", "dbname" };
	const char *vals[] = { "dbreg_pw_test", wrong, "postgres" };
	testdb_pg_url_with(url, sizeof url, keys, vals, 3);

	const char *forms[2] = { url, NULL };
	char uri[512];
	if (host[0] != '/') {
		snprintf(uri, sizeof uri, "postgresql://dbreg_pw_test:%s@%s:%s/postgres", wrong, host, port);
		forms[1] = uri;
	}
	for (int i = 0; i < 2 && forms[i]; i++) {
		struct dbreg_conn *c = NULL;
		const struct dbreg_driver *drv = dbreg_driver_for_url(forms[i]);
		assert_non_null(drv);
		err[0] = '\0';
		int rc = drv->connect(&c, forms[i], err, sizeof err);
		if (rc == 0) {
			/* The server trusts TCP: only the no-echo part can be checked. */
			drv->close(c);
			continue;
		}
		assert_int_equal(rc, DBREG_ECONNECT);
		assert_lacks(err, wrong);
		assert_contains(err, host);
		assert_contains(err, port);
	}
}

/* ---- statements ------------------------------------------------------------ */

static void test_driver__exec_multi_statement(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	DBREG_PASS(c, c->driver->exec(c, "CREATE TABLE a (x integer);\n"
					 "INSERT INTO a VALUES (1);\n"
					 "INSERT INTO a VALUES (2);\n"
					 "CREATE TABLE b (y text);"));
	DBREG_PASS(c, c->driver->exec(c, ""));
	DBREG_PASS(c, c->driver->exec(c, "-- nothing but a comment\n"));
	struct dbreg_catalog cat = { 0 };
	DBREG_PASS(c, c->driver->catalog_read(c, &cat));
	assert_int_equal(cat.n_tables, 2);
	assert_string_equal(cat.tables[0].name, "a");
	assert_string_equal(cat.tables[1].name, "b");
	dbreg_catalog_dispose(&cat);
	c->driver->close(c);
}

static void test_driver__failing_statement_reports_where(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	const char *sql = "CREATE TABLE t1 (x integer);\n-- \xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" "de comment\n"
			  "SELECT * FROM missing_table;\nCREATE TABLE t9 (x integer);\n";
	assert_int_equal(c->driver->exec(c, sql), DBREG_EMIGRATION);
	assert_contains(c->err.message, "missing_table");
	size_t want = (size_t)(strstr(sql, "missing_table") - sql) + 1;
	if (testdb_is_pg()) {
		assert_string_equal(c->err.sqlstate, "42P01");
		assert_int_equal(c->err.position, want);
	} else {
		/* SQLite points at the token for some errors, else at the statement. */
		assert_string_equal(c->err.sqlstate, "");
		if (c->err.position != want)
			assert_int_equal(c->err.position, (size_t)(strstr(sql, "SELECT") - sql) + 1);
	}

	const char *syn = "CREATE TABLE t2 (x integer);\nCREATE TABLE t3 (x integer,);\n";
	assert_int_equal(c->driver->exec(c, syn), DBREG_EMIGRATION);
	if (testdb_is_pg())
		assert_string_equal(c->err.sqlstate, "42601");
	assert_int_equal(c->err.position, (size_t)(strstr(syn, ",)") - syn) + 2);
	assert_contains(c->err.message, "syntax error");

	/* A constraint failing while the statement runs. */
	DBREG_PASS(c, c->driver->exec(c, "CREATE TABLE u (x integer NOT NULL);"));
	const char *run = "INSERT INTO u VALUES (1);\n  INSERT INTO u VALUES (NULL);";
	assert_int_equal(c->driver->exec(c, run), DBREG_EMIGRATION);
	if (testdb_is_pg())
		assert_string_equal(c->err.sqlstate, "23502");
	else
		assert_int_equal(c->err.position, (size_t)(strstr(run, "  INSERT") - run) + 3);
	/* PostgreSQL gives no position for it: the driver counts which
	 * statement of the body failed (the second); a syntax error fails
	 * the whole body before any statement runs, so it names none. */
	if (testdb_is_pg()) {
		assert_int_equal(c->err.position, 0);
		assert_int_equal(c->err.statement, 2);
		assert_int_equal(c->driver->exec(c, "SELECT 1;\nSELECT 2;\nSELECT 1/0;"), DBREG_EMIGRATION);
		assert_int_equal(c->err.statement, 3);
		assert_int_equal(c->driver->exec(c, syn), DBREG_EMIGRATION);
		assert_int_equal(c->err.statement, 0);
	}
	c->driver->close(c);
}

static size_t count_tables(struct dbreg_conn *c)
{
	struct dbreg_catalog cat = { 0 };
	DBREG_PASS(c, c->driver->catalog_read(c, &cat));
	size_t n = cat.n_tables;
	dbreg_catalog_dispose(&cat);
	return n;
}

/* A read-only connection creates nothing: a SQLite file that does not
 * exist reads as an empty database and is still absent afterwards; one
 * that exists is read and refuses writes. */
static void test_driver__readonly_creates_nothing(void **state)
{
	struct testdb *f = *state;
	char err[512] = "";
	struct dbreg_conn *c = NULL;
	if (dbreg_target_connect_readonly(&c, f->url, err, sizeof err) != 0)
		fail_msg("connect_readonly: %s", err);
	struct dbreg_history h = DBREG_HISTORY_INIT;
	DBREG_PASS(c, c->driver->history_read(c, &h));
	assert_int_equal(h.len, 0);
	dbreg_history_dispose(&h);
	assert_int_equal(count_tables(c), 0);
	dbreg_target_close(c);
	if (testdb_is_pg())
		return;
	assert_int_not_equal(access(f->path, F_OK), 0);

	c = open_fixture(state);
	DBREG_PASS(c, c->driver->exec(c, "CREATE TABLE a (x integer);"));
	c->driver->close(c);
	if (dbreg_target_connect_readonly(&c, f->url, err, sizeof err) != 0)
		fail_msg("connect_readonly: %s", err);
	assert_int_equal(count_tables(c), 1);
	assert_int_equal(c->driver->exec(c, "CREATE TABLE b (x integer);"), DBREG_EMIGRATION);
	assert_contains(c->err.message, "readonly");
	dbreg_target_close(c);
}

/* dbreg_history_order is ORDER BY applied_at, <read order>: checked
 * against a plain insertion sort on rows with many equal times, at sizes
 * around the merge widths. */
static void test_driver__history_order_is_stable(void **state)
{
	(void)state;
	static char times[5][32] = {"2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.001Z", "2024-01-01T00:00:01.000Z",
				    "2024-02-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z"};
	for (size_t n = 0; n < 70; n++) {
		struct dbreg_history h = DBREG_HISTORY_INIT;
		struct dbreg_applied want[70];
		unsigned seed = (unsigned)n * 2654435761u + 1;
		for (size_t i = 0; i < n; i++) {
			char mig[16];
			snprintf(mig, sizeof mig, "%03zu", i);
			seed = seed * 1103515245u + 12345u;
			struct dbreg_applied r = {"p", mig, "1.0.0", "sha256:x", times[(seed >> 16) % 5], 0};
			assert_int_equal(dbreg_history_append(&h, &r), 0);
		}
		if (n)   /* h.rows is NULL when empty: no memcpy from it */
			memcpy(want, h.rows, n * sizeof *want);
		for (size_t i = 1; i < n; i++)   /* insertion sort: stable */
			for (size_t k = i; k > 0 && strcmp(want[k - 1].applied_at, want[k].applied_at) > 0; k--) {
				struct dbreg_applied t = want[k];
				want[k] = want[k - 1];
				want[k - 1] = t;
			}
		assert_int_equal(dbreg_history_order(&h), 0);
		for (size_t i = 0; i < n; i++)
			assert_ptr_equal(h.rows[i].migration, want[i].migration);
		dbreg_history_dispose(&h);
	}
}

static void test_driver__rollback_leaves_nothing(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	DBREG_PASS(c, c->driver->begin(c));
	DBREG_PASS(c, c->driver->exec(c, "CREATE TABLE r (x integer); INSERT INTO r VALUES (1);"));
	DBREG_PASS(c, c->driver->rollback(c));
	assert_int_equal(count_tables(c), 0);

	DBREG_PASS(c, c->driver->begin(c));
	DBREG_PASS(c, c->driver->exec(c, "CREATE TABLE r (x integer);"));
	DBREG_PASS(c, c->driver->commit(c));
	assert_int_equal(count_tables(c), 1);

	/* A failure inside the transaction, then rollback: the earlier statement goes too. */
	DBREG_PASS(c, c->driver->begin(c));
	DBREG_PASS(c, c->driver->exec(c, "CREATE TABLE s (x integer);"));
	assert_int_equal(c->driver->exec(c, "SELECT * FROM nope;"), DBREG_EMIGRATION);
	if (testdb_is_pg()) /* COMMIT of an aborted transaction must not look like success. */
		assert_int_not_equal(c->driver->commit(c), 0);
	DBREG_PASS(c, c->driver->rollback(c));
	assert_int_equal(count_tables(c), 1);
	DBREG_PASS(c, c->driver->rollback(c)); /* nothing open: harmless */
	c->driver->close(c);
}

/* ---- history --------------------------------------------------------------- */

static void test_driver__history_round_trip(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	struct dbreg_history h = DBREG_HISTORY_INIT;
	DBREG_PASS(c, c->driver->history_read(c, &h));
	assert_int_equal(h.len, 0);
	DBREG_PASS(c, c->driver->history_ensure(c));
	DBREG_PASS(c, c->driver->history_ensure(c));

	struct dbreg_applied rows[] = {
		{ "core", "001_init", "1.0.0", "sha256:aa", NULL, 12 },
		{ "core", "002_more", "1.1.0", "sha256:bb", NULL, 0 },
		{ "basic", "001_notes", "0.1.0", "sha256:cc", NULL, 1234567890123LL },
	};
	DBREG_PASS(c, c->driver->begin(c));
	for (size_t i = 0; i < 3; i++)
		DBREG_PASS(c, c->driver->history_record(c, &rows[i], true));
	DBREG_PASS(c, c->driver->commit(c));
	DBREG_PASS(c, c->driver->history_read(c, &h));
	assert_int_equal(h.len, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(h.rows[i].package, rows[i].package);
		assert_string_equal(h.rows[i].migration, rows[i].migration);
		assert_string_equal(h.rows[i].version, rows[i].version);
		assert_string_equal(h.rows[i].checksum, rows[i].checksum);
		assert_int_equal(h.rows[i].duration_ms, rows[i].duration_ms);
		/* 2024-01-02T03:04:05.678Z */
		assert_int_equal(strlen(h.rows[i].applied_at), 24);
		assert_int_equal(h.rows[i].applied_at[10], 'T');
		assert_int_equal(h.rows[i].applied_at[23], 'Z');
	}
	dbreg_history_dispose(&h);

	/* The same migration twice is refused by the primary key. */
	assert_int_not_equal(c->driver->history_record(c, &rows[0], true), 0);
	DBREG_PASS(c, c->driver->history_record(c, &rows[1], false));
	struct dbreg_applied dated = { "late", "001", "9.0.0", "sha256:dd", "2020-05-06T07:08:09.010Z", 5 };
	DBREG_PASS(c, c->driver->history_record(c, &dated, true));
	DBREG_PASS(c, c->driver->history_read(c, &h));
	assert_int_equal(h.len, 3);
	assert_string_equal(h.rows[0].package, "late"); /* oldest first */
	assert_string_equal(h.rows[0].applied_at, "2020-05-06T07:08:09.010Z");
	assert_string_equal(h.rows[1].migration, "001_init");
	assert_string_equal(h.rows[2].migration, "001_notes");
	dbreg_history_dispose(&h);
	dbreg_history_dispose(&h);
	dbreg_history_dispose(NULL);

	assert_int_equal(count_tables(c), 0); /* history tables are not user tables */
	c->driver->close(c);
}

static void test_driver__package_record_read(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	char **names, **versions;
	size_t n = 99;
	DBREG_PASS(c, c->driver->package_read(c, &names, &versions, &n));
	assert_int_equal(n, 0);
	free(names);
	free(versions);
	DBREG_PASS(c, c->driver->history_ensure(c));
	DBREG_PASS(c, c->driver->package_record(c, "core", "1.0.0"));
	DBREG_PASS(c, c->driver->package_record(c, "basic", "2.0.0"));
	DBREG_PASS(c, c->driver->package_record(c, "core", "1.1.0"));
	DBREG_PASS(c, c->driver->package_record(c, "gone", "0.1.0"));
	DBREG_PASS(c, c->driver->package_record(c, "gone", NULL));
	DBREG_PASS(c, c->driver->package_read(c, &names, &versions, &n));
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "basic");
	assert_string_equal(versions[0], "2.0.0");
	assert_string_equal(names[1], "core");
	assert_string_equal(versions[1], "1.1.0");
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
		free(versions[i]);
	}
	free(names);
	free(versions);
	c->driver->close(c);
}

/* The registry's tables dropped under a connection that read them (a
 * developer resetting the schema under a running watch): the next reads
 * find no history and no packages, as on a fresh database, instead of
 * failing on tables that are gone. */
static void test_driver__registry_dropped_under_a_connection(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	DBREG_PASS(c, c->driver->history_ensure(c));
	struct dbreg_applied row = { "core", "001_init", "1.0.0", "sha256:aa", NULL, 1 };
	DBREG_PASS(c, c->driver->history_record(c, &row, true));
	DBREG_PASS(c, c->driver->package_record(c, "core", "1.0.0"));
	struct dbreg_history h = DBREG_HISTORY_INIT;
	char **names = NULL, **versions = NULL;
	size_t n = 0;
	for (int round = 0; round < 2; round++) {
		DBREG_PASS(c, c->driver->history_read(c, &h));
		assert_int_equal(h.len, round == 0 ? 1 : 0);
		dbreg_history_dispose(&h);
		DBREG_PASS(c, c->driver->package_read(c, &names, &versions, &n));
		assert_int_equal(n, round == 0 ? 1 : 0);
		dbreg_strv_free(names, n);
		dbreg_strv_free(versions, n);
		names = versions = NULL;
		n = 0;
		/* The hint says the tables are there (they were): after the drop
		 * it is wrong, and the read still finds nothing rather than fail. */
		DBREG_PASS(c, c->driver->registry_read(c, true, &h, &names, &versions, &n));
		assert_int_equal(h.len, round == 0 ? 1 : 0);
		assert_int_equal(n, round == 0 ? 1 : 0);
		dbreg_history_dispose(&h);
		dbreg_strv_free(names, n);
		dbreg_strv_free(versions, n);
		names = versions = NULL;
		n = 0;
		if (round == 0)
			DBREG_PASS(c, c->driver->exec(c, "DROP TABLE ydtb_registry_migrations; DROP TABLE ydtb_registry_packages"));
	}
	c->driver->close(c);
}

/* registry_read, with either hint, gives exactly what history_read and
 * package_read give (want_rows rows, want_pkgs packages). */
static void assert_registry_read(struct dbreg_conn *c, size_t want_rows, size_t want_pkgs)
{
	assert_true(c->driver->version >= 7 && c->driver->registry_read);
	struct dbreg_history h1 = DBREG_HISTORY_INIT;
	char **n1 = NULL, **v1 = NULL;
	size_t k1 = 0;
	DBREG_PASS(c, c->driver->history_read(c, &h1));
	DBREG_PASS(c, c->driver->package_read(c, &n1, &v1, &k1));
	assert_int_equal(h1.len, want_rows);
	assert_int_equal(k1, want_pkgs);
	for (int expect = 0; expect < 2; expect++) {
		struct dbreg_history h2 = DBREG_HISTORY_INIT;
		char **n2 = NULL, **v2 = NULL;
		size_t k2 = 99;
		DBREG_PASS(c, c->driver->registry_read(c, expect, &h2, &n2, &v2, &k2));
		assert_int_equal(h2.len, h1.len);
		for (size_t i = 0; i < h1.len; i++) {
			assert_string_equal(h2.rows[i].package, h1.rows[i].package);
			assert_string_equal(h2.rows[i].migration, h1.rows[i].migration);
			assert_string_equal(h2.rows[i].version, h1.rows[i].version);
			assert_string_equal(h2.rows[i].checksum, h1.rows[i].checksum);
			assert_string_equal(h2.rows[i].applied_at, h1.rows[i].applied_at);
			assert_int_equal(h2.rows[i].duration_ms, h1.rows[i].duration_ms);
		}
		assert_int_equal(k2, k1);
		for (size_t i = 0; i < k1; i++) {
			assert_string_equal(n2[i], n1[i]);
			assert_string_equal(v2[i], v1[i]);
		}
		dbreg_history_dispose(&h2);
		dbreg_strv_free(n2, k2);
		dbreg_strv_free(v2, k2);
	}
	dbreg_history_dispose(&h1);
	dbreg_strv_free(n1, k1);
	dbreg_strv_free(v1, k1);
}

/* registry_read (a fleet's no-op visit): both reads at once, whatever the
 * hint says: on missing tables, on a table missing alone, inside a
 * transaction that must survive a table it does not find. */
static void test_driver__registry_read_is_both_reads(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	assert_registry_read(c, 0, 0);   /* no tables yet: the hint is wrong */
	DBREG_PASS(c, c->driver->history_ensure(c));
	assert_registry_read(c, 0, 0);
	struct dbreg_applied rows[] = {
		{ "core", "001_init", "1.0.0", "sha256:aa", NULL, 12 },
		{ "basic", "001_notes", "0.1.0", "sha256:cc", NULL, 7 },
		{ "late", "001", "9.0.0", "sha256:dd", "2020-05-06T07:08:09.010Z", 5 },
	};
	for (size_t i = 0; i < 3; i++)
		DBREG_PASS(c, c->driver->history_record(c, &rows[i], true));
	struct dbreg_applied part = { "core", "002_half", "1.1.0", "sha256:part", NULL, 0 };
	DBREG_PASS(c, c->driver->progress_record(c, &part, 1));   /* progress, not history */
	DBREG_PASS(c, c->driver->package_record(c, "core", "1.0.0"));
	DBREG_PASS(c, c->driver->package_record(c, "basic", "0.1.0"));
	assert_registry_read(c, 3, 2);

	/* Inside a transaction a table it does not find must not abort the
	 * caller's transaction (PostgreSQL: 25P02 on the next statement). */
	DBREG_PASS(c, c->driver->begin(c));
	DBREG_PASS(c, c->driver->exec(c, "DROP TABLE ydtb_registry_packages;"));
	struct dbreg_history h = DBREG_HISTORY_INIT;
	char **names = NULL, **versions = NULL;
	size_t n = 99;
	DBREG_PASS(c, c->driver->registry_read(c, true, &h, &names, &versions, &n));
	assert_int_equal(h.len, 3);
	assert_string_equal(h.rows[0].package, "late");   /* oldest first */
	assert_int_equal(n, 0);
	dbreg_history_dispose(&h);
	DBREG_PASS(c, c->driver->exec(c, "CREATE TABLE still_open (x integer);"));
	DBREG_PASS(c, c->driver->rollback(c));
	assert_registry_read(c, 3, 2);

	/* The packages' table gone alone, outside a transaction. */
	DBREG_PASS(c, c->driver->exec(c, "DROP TABLE ydtb_registry_packages;"));
	assert_registry_read(c, 3, 0);
	c->driver->close(c);
}

/* What registry_digest gives, checked against the digests of the rows
 * registry_read gives (regdigest.c's bytes, computed in the core): 0 and
 * equal, or 1 (cannot tell here). Returns the driver's answer. */
static int assert_digest_of_rows(struct dbreg_conn *c, struct dbreg_registry_digest *got)
{
	assert_true(c->driver->version >= 10 && c->driver->registry_digest);
	memset(got, 0, sizeof *got);
	int rc = c->driver->registry_digest(c, true, got);
	assert_true(rc == 0 || rc == 1);
	struct dbreg_history h = DBREG_HISTORY_INIT;
	char **names = NULL, **versions = NULL;
	size_t n = 0;
	DBREG_PASS(c, c->driver->registry_read(c, true, &h, &names, &versions, &n));
	struct dbreg_registry_digest want;
	assert_int_equal(dbreg_regdigest_of(&want, h.rows, h.len, names, versions, n), 0);
	if (rc == 0) {
		assert_string_equal(got->history, want.history);
		assert_string_equal(got->plan, want.plan);
		assert_int_equal(got->n_rows, h.len);
		assert_int_equal(got->n_packages, n);
	} else {
		*got = want;
	}
	dbreg_history_dispose(&h);
	dbreg_strv_free(names, n);
	dbreg_strv_free(versions, n);
	return rc;
}

/* registry_digest (driver v10, a no-op visit's one row): the digests of
 * the rows registry_read reads, byte for byte (texts in UTF-8 and with
 * tabs, packages whose byte order is not the locale's, progress rows left
 * out); a changed checksum, a removed row, a moved applied_at or another
 * package version each change what they must, and nothing else. */
static void test_driver__registry_digest_is_the_rows_digest(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	DBREG_PASS(c, c->driver->history_ensure(c));
	struct dbreg_applied rows[] = {
		{ "@ydtb/core", "001_init", "1.0.0", "sha256:aa", "2020-01-02T03:04:05.006Z", 12 },
		{ "@t/émile", "001_crée", "0.1.0", "sha256:bb", "2020-01-02T03:04:06.000Z", 0 },
		{ "@t/tab", "001_a\tb", "2.0.0", "sha256:cc", "2021-05-06T07:08:09.010Z", 123456789012LL },
		{ "@t/late", "001", "9.0.0", "sha256:dd", NULL, 5 },
	};
	for (size_t i = 0; i < 4; i++)
		DBREG_PASS(c, c->driver->history_record(c, &rows[i], true));
	struct dbreg_applied part = { "@t/late", "002_half", "9.1.0", "sha256:part", NULL, 0 };
	DBREG_PASS(c, c->driver->progress_record(c, &part, 1));
	const char *pkgs[][2] = { { "émile", "0.1.0" }, { "alpha", "1.0.0" }, { "Zeta", "3.0.0" }, { "_u", "2.0.0" } };
	for (size_t i = 0; i < 4; i++)
		DBREG_PASS(c, c->driver->package_record(c, pkgs[i][0], pkgs[i][1]));
	struct dbreg_registry_digest d0, d;
	assert_int_equal(assert_digest_of_rows(c, &d0), 0);
	assert_int_equal(d0.n_rows, 4);
	assert_int_equal(d0.n_packages, 4);

	/* Each change moves the digests it must and no other, and undone
	 * gives the first digests back. */
	static const struct {
		const char *change, *undo;
		bool history, plan;            /* which digests move */
	} moves[] = {
		/* A checksum changed: both. */
		{ "UPDATE ydtb_registry_migrations SET checksum = 'sha256:bx' WHERE migration = '001_crée';",
		  "UPDATE ydtb_registry_migrations SET checksum = 'sha256:bb' WHERE migration = '001_crée';", true, true },
		/* Only when a migration ran moved: the history's alone. */
		{ "UPDATE ydtb_registry_migrations SET duration_ms = 13 WHERE migration = '001_init';",
		  "UPDATE ydtb_registry_migrations SET duration_ms = 12 WHERE migration = '001_init';", true, false },
		{ "UPDATE ydtb_registry_migrations SET applied_at = '2020-01-02T03:04:05.007Z' WHERE migration = '001_init';",
		  "UPDATE ydtb_registry_migrations SET applied_at = '2020-01-02T03:04:05.006Z' WHERE migration = '001_init';",
		  true, false },
		/* A text's end moved into the next column (the same bytes run
		 * together): both, every text being framed. */
		{ "UPDATE ydtb_registry_migrations SET package = '@ydtb/cor', migration = 'e001_init'"
		  " WHERE migration = '001_init';",
		  "UPDATE ydtb_registry_migrations SET package = '@ydtb/core', migration = '001_init'"
		  " WHERE migration = 'e001_init';", true, true },
		/* Another package version: the plan's alone. */
		{ "UPDATE ydtb_registry_packages SET version = '1.0.1' WHERE name = 'alpha';",
		  "UPDATE ydtb_registry_packages SET version = '1.0.0' WHERE name = 'alpha';", false, true },
		/* Two packages' versions swapped: the plan's (a version stays
		 * tied to its name). */
		{ "UPDATE ydtb_registry_packages SET version = CASE name WHEN 'alpha' THEN '3.0.0' ELSE '1.0.0' END"
		  " WHERE name IN ('alpha', 'Zeta');",
		  "UPDATE ydtb_registry_packages SET version = CASE name WHEN 'alpha' THEN '1.0.0' ELSE '3.0.0' END"
		  " WHERE name IN ('alpha', 'Zeta');", false, true },
	};
	for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++) {
		DBREG_PASS(c, c->driver->exec(c, moves[i].change));
		assert_int_equal(assert_digest_of_rows(c, &d), 0);
		assert_int_equal(strcmp(d.history, d0.history) != 0, moves[i].history);
		assert_int_equal(strcmp(d.plan, d0.plan) != 0, moves[i].plan);
		DBREG_PASS(c, c->driver->exec(c, moves[i].undo));
		assert_int_equal(assert_digest_of_rows(c, &d), 0);
		assert_string_equal(d.history, d0.history);
		assert_string_equal(d.plan, d0.plan);
	}

	/* A row removed: both move, and the count says so. */
	DBREG_PASS(c, c->driver->history_record(c, &rows[2], false));
	assert_int_equal(assert_digest_of_rows(c, &d), 0);
	assert_int_equal(d.n_rows, 3);
	assert_string_not_equal(d.history, d0.history);
	assert_string_not_equal(d.plan, d0.plan);

	/* A row older than the ones before it (another tool wrote it): the
	 * history's order, or 1 where the driver does not sort. */
	struct dbreg_applied old = { "@t/old", "000", "0.0.1", "sha256:ee", "2019-01-01T00:00:00.000Z", 1 };
	DBREG_PASS(c, c->driver->history_record(c, &old, true));
	int rc = assert_digest_of_rows(c, &d);
	assert_int_equal(d.n_rows, 4);
	if (strcmp(c->driver->name, "postgres") == 0)
		assert_int_equal(rc, 0);

	/* Inside a transaction: 1 or the digest, and the transaction lives. */
	DBREG_PASS(c, c->driver->begin(c));
	DBREG_PASS(c, c->driver->exec(c, "DROP TABLE ydtb_registry_packages;"));
	rc = c->driver->registry_digest(c, true, &d);
	assert_true(rc == 1 || rc == 0);
	DBREG_PASS(c, c->driver->exec(c, "CREATE TABLE still_open (x integer);"));
	DBREG_PASS(c, c->driver->rollback(c));
	/* A registry table absent: 1, the caller reads the rows. */
	DBREG_PASS(c, c->driver->exec(c, "DROP TABLE ydtb_registry_packages;"));
	assert_int_equal(c->driver->registry_digest(c, true, &d), 1);
	/* A connection gone (an interrupt's cancel, a shutdown) is the visit's
	 * failure, told as one, not a silence that sends the next query. */
	if (strcmp(c->driver->name, "postgres") == 0) {
		c->driver->exec(c, "SELECT pg_terminate_backend(pg_backend_pid())");
		assert_true(c->driver->registry_digest(c, true, &d) < 0);
		assert_true(c->err.message[0] != '\0');
	}
	c->driver->close(c);
}

/* registry_digest_since (driver v12): the digests of registry_digest
 * with the fingerprint (rc 0), checked against the rows; 2 when since is
 * still the fingerprint. */
static int since_digest(struct dbreg_conn *c, const char *since, char fp[DBREG_FINGERPRINT_SIZE],
			struct dbreg_registry_digest *got)
{
	int rc = c->driver->registry_digest_since(c, true, since, fp, got);
	assert_true(rc == 0 || rc == 1 || rc == 2);
	if (rc == 2) {
		assert_string_equal(fp, since);
		return rc;
	}
	struct dbreg_registry_digest want;
	assert_int_equal(assert_digest_of_rows(c, &want), 0);
	if (rc == 0) {
		assert_string_equal(got->history, want.history);
		assert_string_equal(got->plan, want.plan);
	}
	return rc;
}

/* The fingerprint moves with every change of a registry row, however made
 * (a change to the same value, inside the row's own transaction, a
 * subtransaction, as a replica, a rewrite, a column dropped and added
 * again with a default, a table made again, a row put back where a
 * vacuumed one was), and not for what changes nothing (an update rolled
 * back, a freeze). When it is since's, the digest is not even evaluated:
 * a textsend that fails once evaluated, put before pg_catalog's, lets
 * the visit through, and fails it as soon as a row changed. */
static void test_driver__registry_digest_since_sees_every_change(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	if (c->driver->version < 12 || !c->driver->registry_digest_since) {
		c->driver->close(c);
		return;   /* SQLite's: the content stamp instead */
	}
	DBREG_PASS(c, c->driver->history_ensure(c));
	struct dbreg_applied rows[] = {
		{ "@ydtb/core", "001_init", "1.0.0", "sha256:aa", "2020-01-02T03:04:05.006Z", 12 },
		{ "@t/b", "001", "0.1.0", "sha256:bb", "2020-01-02T03:04:06.000Z", 0 },
	};
	for (size_t i = 0; i < 2; i++)
		DBREG_PASS(c, c->driver->history_record(c, &rows[i], true));
	DBREG_PASS(c, c->driver->package_record(c, "alpha", "1.0.0"));
	char fp[DBREG_FINGERPRINT_SIZE], was[DBREG_FINGERPRINT_SIZE];
	struct dbreg_registry_digest d;
	assert_int_equal(since_digest(c, NULL, fp, &d), 0);
	assert_true(strncmp(fp, "pgfp1:", 6) == 0);
	assert_int_equal(since_digest(c, fp, was, &d), 2);
	assert_int_equal(since_digest(c, "pgfp1:other", was, &d), 0);
	assert_string_equal(was, fp);

	static const struct {
		const char *sql;
		bool moves;
	} changes[] = {
		{ "INSERT INTO ydtb_registry_migrations (package, migration, version, checksum) VALUES ('@t/c', '001', '1', 'x');", true },
		{ "DELETE FROM ydtb_registry_migrations WHERE package = '@t/c';", true },
		{ "UPDATE ydtb_registry_migrations SET checksum = checksum WHERE migration = '001_init';", true },
		/* HOT: no indexed column changes. */
		{ "UPDATE ydtb_registry_migrations SET duration_ms = duration_ms WHERE migration = '001_init';", true },
		{ "UPDATE ydtb_registry_packages SET version = version;", true },
		{ "BEGIN; INSERT INTO ydtb_registry_packages VALUES ('beta', '1'); UPDATE ydtb_registry_packages"
		  " SET version = '2' WHERE name = 'beta'; COMMIT;", true },
		{ "BEGIN; SAVEPOINT s; UPDATE ydtb_registry_packages SET version = '3' WHERE name = 'beta';"
		  " RELEASE s; SAVEPOINT t; DELETE FROM ydtb_registry_packages; ROLLBACK TO t; COMMIT;", true },
		{ "BEGIN; UPDATE ydtb_registry_migrations SET checksum = 'y'; DELETE FROM ydtb_registry_packages; ROLLBACK;",
		  false },
		{ "SET session_replication_role = replica; UPDATE ydtb_registry_packages SET version = '4' WHERE name = 'beta';"
		  " SET session_replication_role = origin;", true },
		{ "BEGIN; CREATE TEMP TABLE keep ON COMMIT DROP AS SELECT * FROM ydtb_registry_migrations;"
		  " TRUNCATE ydtb_registry_migrations; INSERT INTO ydtb_registry_migrations SELECT * FROM keep; COMMIT;", true },
		{ "VACUUM FULL ydtb_registry_migrations;", true },
		{ "CLUSTER ydtb_registry_packages USING ydtb_registry_packages_pkey;", true },
		{ "ALTER TABLE ydtb_registry_migrations ALTER COLUMN duration_ms TYPE bigint USING duration_ms + 0;", true },
		/* No rewrite, no tuple touched: the rows read another value. */
		{ "ALTER TABLE ydtb_registry_migrations DROP COLUMN duration_ms;"
		  " ALTER TABLE ydtb_registry_migrations ADD COLUMN duration_ms bigint NOT NULL DEFAULT 7;", true },
		{ "ALTER TABLE ydtb_registry_migrations RENAME COLUMN version TO v;"
		  " ALTER TABLE ydtb_registry_migrations RENAME COLUMN checksum TO version;"
		  " ALTER TABLE ydtb_registry_migrations RENAME COLUMN v TO checksum;", true },
		{ "BEGIN; CREATE TEMP TABLE keep ON COMMIT DROP AS SELECT * FROM ydtb_registry_packages;"
		  " DROP TABLE ydtb_registry_packages; CREATE TABLE ydtb_registry_packages (LIKE keep INCLUDING ALL);"
		  " INSERT INTO ydtb_registry_packages SELECT * FROM keep; COMMIT;", true },
		{ "VACUUM (FREEZE) ydtb_registry_packages;", false },
	};
	struct dbreg_registry_digest before = d;
	for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
		DBREG_PASS(c, c->driver->exec(c, changes[i].sql));
		int rc = since_digest(c, fp, was, &d);
		if (changes[i].moves) {
			assert_int_equal(rc, 0);
			assert_string_not_equal(was, fp);
		} else if (rc == 0) {
			/* A fingerprint may move for nothing: then the digests stay. */
			assert_string_equal(d.history, before.history);
			assert_string_equal(d.plan, before.plan);
		}
		if (rc == 0) {
			strcpy(fp, was);
			before = d;
		}
		assert_int_equal(since_digest(c, fp, was, &d), 2);
	}

	/* A row deleted, vacuumed away and put back as it was, at its ctid. */
	DBREG_PASS(c, c->driver->exec(c, "CREATE TEMP TABLE was_at AS SELECT ctid AS t, * FROM ydtb_registry_packages"
					 " WHERE name = 'alpha'; DELETE FROM ydtb_registry_packages WHERE name = 'alpha';"));
	DBREG_PASS(c, c->driver->exec(c, "VACUUM (INDEX_CLEANUP ON) ydtb_registry_packages;"));
	DBREG_PASS(c, c->driver->exec(c, "INSERT INTO ydtb_registry_packages SELECT name, version, installed_at FROM was_at;"
					 " DO $$BEGIN IF NOT EXISTS (SELECT FROM ydtb_registry_packages p, was_at w"
					 " WHERE p.name = 'alpha' AND p.ctid = w.t) THEN RAISE EXCEPTION 'elsewhere'; END IF; END$$;"));
	assert_int_equal(since_digest(c, fp, was, &d), 0);
	assert_string_not_equal(was, fp);
	strcpy(fp, was);

	/* Not a plain table any more: no fingerprint. */
	DBREG_PASS(c, c->driver->exec(c, "ALTER TABLE ydtb_registry_packages ENABLE ROW LEVEL SECURITY;"));
	assert_int_equal(since_digest(c, fp, was, &d), 0);
	assert_string_equal(was, "");
	DBREG_PASS(c, c->driver->exec(c, "ALTER TABLE ydtb_registry_packages DISABLE ROW LEVEL SECURITY;"
					 "CREATE TABLE child () INHERITS (ydtb_registry_migrations);"));
	assert_int_equal(since_digest(c, fp, was, &d), 0);
	assert_string_equal(was, "");
	DBREG_PASS(c, c->driver->exec(c, "DROP TABLE child;"));

	/* The digest is not evaluated while the fingerprint holds. */
	DBREG_PASS(c, c->driver->exec(c, "DROP TABLE ydtb_registry_migrations; DROP TABLE ydtb_registry_packages;"));
	DBREG_PASS(c, c->driver->history_ensure(c));
	DBREG_PASS(c, c->driver->history_record(c, &rows[0], true));
	assert_int_equal(since_digest(c, NULL, fp, &d), 0);
	assert_true(fp[0] != '\0');
	DBREG_PASS(c, c->driver->exec(c, "CREATE SCHEMA trap; CREATE FUNCTION trap.textsend(text) RETURNS bytea"
					 " LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'digest evaluated'; END$$;"
					 " SET search_path = trap, pg_catalog, public;"));
	assert_int_equal(c->driver->registry_digest_since(c, true, fp, was, &d), 2);
	assert_int_equal(c->driver->registry_digest_since(c, true, fp, was, &d), 2);
	DBREG_PASS(c, c->driver->exec(c, "UPDATE ydtb_registry_migrations SET duration_ms = 13;"));
	assert_int_equal(c->driver->registry_digest_since(c, true, fp, was, &d), 1);   /* the trap fired */
	DBREG_PASS(c, c->driver->exec(c, "RESET search_path;"));
	assert_int_equal(since_digest(c, fp, was, &d), 0);
	c->driver->close(c);
}

/* The server's count of this database's transactions, fresh (outside the
 * caller's own: admin stays in one transaction block, whose count the
 * server takes only at its end). */
static long long pg_xacts(PGconn *admin)
{
	PQclear(PQexec(admin, "SELECT pg_stat_clear_snapshot()"));
	PGresult *r = PQexec(admin, "SELECT xact_commit + xact_rollback FROM pg_stat_database"
				    " WHERE datname = current_database()");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

#define PG_COUNTED_APP "dbreg_counted"

/* The transactions one driver session costs the server: connect, what
 * reads does (1 registry_read with the hint, 2 without, 3 history_read and
 * package_read), close. A backend hands its counts over before it leaves
 * pg_stat_activity, so its leaving is what is waited for. */
static long long pg_session_xacts(PGconn *admin, const char *url, int reads)
{
	long long before = pg_xacts(admin);
	struct dbreg_conn *c = testdb_open(url);
	struct dbreg_history h = DBREG_HISTORY_INIT;
	char **names = NULL, **versions = NULL;
	size_t n = 0;
	if (reads == 1 || reads == 2)
		DBREG_PASS(c, c->driver->registry_read(c, reads == 1, &h, &names, &versions, &n));
	if (reads == 3) {
		DBREG_PASS(c, c->driver->history_read(c, &h));
		DBREG_PASS(c, c->driver->package_read(c, &names, &versions, &n));
	}
	/* 4: the hinted read, then what an apply that writes does first (here
	 * outside a transaction, so each round trip is one). */
	if (reads == 4) {
		DBREG_PASS(c, c->driver->registry_read(c, true, &h, &names, &versions, &n));
		DBREG_PASS(c, c->driver->history_ensure(c));
	}
	if (reads)
		assert_true(h.len == 1 && n == 1);
	dbreg_history_dispose(&h);
	dbreg_strv_free(names, n);
	dbreg_strv_free(versions, n);
	c->driver->close(c);
	double t0 = now_s();
	for (;;) {
		PQclear(PQexec(admin, "SELECT pg_stat_clear_snapshot()"));
		PGresult *r = PQexec(admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"
					    PG_COUNTED_APP "'");
		bool gone = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "0") == 0;
		PQclear(r);
		if (gone)
			break;
		assert_true(now_s() - t0 < 30);
		usleep(1000);
	}
	return pg_xacts(admin) - before;
}

/* PostgreSQL: a no-op visit with the hint is one query on the server (one
 * transaction beyond the session's own start), two without (the probe,
 * then both reads); history_read and package_read apart took four. */
static void test_driver__pg_registry_read_is_one_round_trip(void **state)
{
	const char *url = ((struct testdb *)*state)->url;
	struct dbreg_conn *c = open_fixture(state);
	DBREG_PASS(c, c->driver->history_ensure(c));
	struct dbreg_applied row = { "core", "001_init", "1.0.0", "sha256:aa", NULL, 1 };
	DBREG_PASS(c, c->driver->history_record(c, &row, true));
	DBREG_PASS(c, c->driver->package_record(c, "core", "1.0.0"));
	c->driver->close(c);
	char counted[sizeof ((struct testdb *)0)->url + 64];
	bool keywords = strncmp(url, "postgres", 8) != 0;   /* a keyword string, not a URL */
	snprintf(counted, sizeof counted, "%s%capplication_name=" PG_COUNTED_APP, url,
		 keywords ? ' ' : strchr(url, '?') ? '&' : '?');
	PGconn *admin = PQconnectdb(url);
	assert_int_equal(PQstatus(admin), CONNECTION_OK);
	PQclear(PQexec(admin, "BEGIN"));
	long long bare = pg_session_xacts(admin, counted, 0);
	long long hinted = pg_session_xacts(admin, counted, 1);
	long long unhinted = pg_session_xacts(admin, counted, 2);
	long long apart = pg_session_xacts(admin, counted, 3);
	long long ensured = pg_session_xacts(admin, counted, 4);
	PQclear(PQexec(admin, "ROLLBACK"));
	PQfinish(admin);
	/* history_ensure after the hinted read: one round trip (the tables and
	 * whether statements_done is there asked together); it was two. */
	if (hinted - bare != 1 || unhinted - bare != 2 || apart - bare < 3 || ensured - bare != 2) {
		print_error("transactions beyond the session's own %lld: registry_read with the hint %lld, without %lld,"
			    " history_read + package_read %lld, the hinted read + history_ensure %lld\n", bare,
			    hinted - bare, unhinted - bare, apart - bare, ensured - bare);
		fail();
	}
}

/* The history in the server's ORDER BY applied_at, ctid: times equal to
 * the millisecond but not the microsecond, equal to the microsecond (then
 * written order), a row written again after a delete, and what another
 * tool may write (infinity either way, a year past 9999), which a sort on
 * the client's text of the times got wrong. */
static void test_driver__pg_history_in_server_order(void **state)
{
	const char *url = ((struct testdb *)*state)->url;
	struct dbreg_conn *c = open_fixture(state);
	DBREG_PASS(c, c->driver->history_ensure(c));
	DBREG_PASS(c, c->driver->exec(c,
		"INSERT INTO ydtb_registry_migrations (package, migration, version, checksum, applied_at) VALUES"
		" ('p', 'a', '1', 's', '2024-01-01 00:00:00.000500+00'),"
		" ('p', 'b', '1', 's', '2024-01-01 00:00:00.000100+00'),"
		" ('p', 'c', '1', 's', '2024-01-01 00:00:00.000100+00'),"
		" ('p', 'd', '1', 's', '2023-12-31 23:59:59.999999+00'),"
		" ('p', 'e', '1', 's', '2024-01-01 00:00:00.000500+00'),"
		" ('p', 'f', '1', 's', '2024-01-01 01:00:00+01'),"
		" ('p', 'g', '1', 's', 'infinity'),"
		" ('p', 'h', '1', 's', '-infinity'),"
		" ('p', 'i', '1', 's', '10000-01-01 00:00:00+00');"
		"DELETE FROM ydtb_registry_migrations WHERE migration = 'b';"
		"INSERT INTO ydtb_registry_migrations (package, migration, version, checksum, applied_at)"
		" VALUES ('p', 'b', '1', 's', '2024-01-01 00:00:00.000100+00');"));
	PGconn *pg = PQconnectdb(url);
	assert_int_equal(PQstatus(pg), CONNECTION_OK);
	PGresult *r = PQexec(pg, "SELECT migration FROM ydtb_registry_migrations ORDER BY applied_at, ctid");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	char want[16] = "", got[16] = "";
	for (int i = 0; i < PQntuples(r) && i < 15; i++)
		want[i] = PQgetvalue(r, i, 0)[0];
	PQclear(r);
	PQfinish(pg);
	assert_string_equal(want, "hdfcbaeig");   /* what the server says, spelled out */
	struct dbreg_history h = DBREG_HISTORY_INIT;
	char **names = NULL, **versions = NULL;
	size_t n = 0;
	for (int way = 0; way < 2; way++) {
		if (way == 0)
			DBREG_PASS(c, c->driver->history_read(c, &h));
		else
			DBREG_PASS(c, c->driver->registry_read(c, true, &h, &names, &versions, &n));
		for (size_t i = 0; i < h.len && i < 15; i++)
			got[i] = h.rows[i].migration[0];
		got[h.len < 15 ? h.len : 15] = '\0';
		assert_string_equal(got, want);
		assert_string_equal(h.rows[1].applied_at, "2023-12-31T23:59:59.999Z");
		assert_string_equal(h.rows[2].applied_at, "2024-01-01T00:00:00.000Z");   /* f, 01:00 at +01 */
		assert_string_equal(h.rows[7].applied_at, "10000-01-01T00:00:00.000Z");
		dbreg_history_dispose(&h);
	}
	c->driver->close(c);
}

/* history_read_packages: the rows of the named packages only, in
 * history_read's order (applied_at), progress rows left out as there. */
static void test_driver__history_of_some_packages(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	assert_true(c->driver->version >= 6 && c->driver->history_read_packages);
	const char *some[] = {"b", "c"};
	struct dbreg_history h = DBREG_HISTORY_INIT;
	DBREG_PASS(c, c->driver->history_read_packages(c, some, 2, &h));   /* no table yet */
	assert_int_equal(h.len, 0);
	DBREG_PASS(c, c->driver->history_ensure(c));
	struct dbreg_applied rows[] = {
		{ "a", "001", "1.0.0", "sha256:a1", "2024-01-01T00:00:03.000Z", 0 },
		{ "b", "002", "1.0.0", "sha256:b2", "2024-01-01T00:00:02.000Z", 0 },
		{ "c", "001", "1.0.0", "sha256:c1", "2024-01-01T00:00:04.000Z", 0 },
		{ "b", "001", "1.0.0", "sha256:b1", "2024-01-01T00:00:01.000Z", 0 },
		{ "bb", "001", "1.0.0", "sha256:bb", "2024-01-01T00:00:00.000Z", 0 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		DBREG_PASS(c, c->driver->history_record(c, &rows[i], true));
	struct dbreg_applied part = { "c", "002", "1.0.0", "sha256:part", NULL, 0 };
	DBREG_PASS(c, c->driver->progress_record(c, &part, 1));
	DBREG_PASS(c, c->driver->history_read_packages(c, some, 2, &h));
	assert_int_equal(h.len, 3);
	assert_string_equal(h.rows[0].checksum, "sha256:b1");
	assert_string_equal(h.rows[1].checksum, "sha256:b2");
	assert_string_equal(h.rows[2].checksum, "sha256:c1");
	assert_string_equal(h.rows[2].applied_at, "2024-01-01T00:00:04.000Z");
	dbreg_history_dispose(&h);
	DBREG_PASS(c, c->driver->history_read_packages(c, some, 0, &h));
	assert_int_equal(h.len, 0);
	const char *none[] = {"nope"};
	DBREG_PASS(c, c->driver->history_read_packages(c, none, 1, &h));
	assert_int_equal(h.len, 0);
	c->driver->close(c);
}

/* rows_read: the named columns of every row as text, NULL as NULL; an
 * absent table has no rows. */
static void test_driver__rows_read(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	assert_true(c->driver->version >= 6 && c->driver->rows_read);
	const char *cols[] = {"id", "note"};
	char **cells = NULL;
	size_t n = 99;
	DBREG_PASS(c, c->driver->rows_read(c, "ydtb_tools", cols, 2, &cells, &n));
	assert_int_equal(n, 0);
	assert_null(cells);
	DBREG_PASS(c, c->driver->exec(c, "CREATE TABLE ydtb_tools (id text PRIMARY KEY, note text, n integer);"
					 " INSERT INTO ydtb_tools VALUES ('x', 'it''s', 1), ('y', NULL, 2);"));
	DBREG_PASS(c, c->driver->rows_read(c, "ydtb_tools", cols, 2, &cells, &n));
	assert_int_equal(n, 2);
	bool x_first = strcmp(cells[0], "x") == 0;
	char **x = x_first ? cells : cells + 2, **y = x_first ? cells + 2 : cells;
	assert_string_equal(x[0], "x");
	assert_string_equal(x[1], "it's");
	assert_string_equal(y[0], "y");
	assert_null(y[1]);
	dbreg_strv_free(cells, n * 2);
	/* A column the table lacks is the database's error, not an empty read. */
	const char *bad[] = {"id", "icon"};
	assert_int_not_equal(c->driver->rows_read(c, "ydtb_tools", bad, 2, &cells, &n), 0);
	c->driver->close(c);
}

/* ---- catalog ---------------------------------------------------------------- */

static const struct dbreg_cat_index *find_index(const struct dbreg_cat_table *t, const char *name)
{
	for (size_t i = 0; i < t->n_indexes; i++) {
		if (strcmp(t->indexes[i].name, name) == 0)
			return &t->indexes[i];
	}
	print_error("no index %s on %s\n", name, t->name);
	fail();
	return NULL;
}

static void test_driver__catalog_exact(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	DBREG_PASS(c, c->driver->history_ensure(c));
	DBREG_PASS(c, c->driver->exec(c,
		"CREATE TABLE ydtb_workspaces (id integer PRIMARY KEY, name text NOT NULL UNIQUE);\n"
		"CREATE TABLE ydtb_notes (\n"
		"  id integer NOT NULL,\n"
		"  workspace_id integer NOT NULL REFERENCES ydtb_workspaces (id) ON DELETE CASCADE,\n"
		"  parent_id integer,\n"
		"  title varchar(200) DEFAULT 'x',\n"
		"  PRIMARY KEY (id, workspace_id),\n"
		"  FOREIGN KEY (parent_id, workspace_id) REFERENCES ydtb_notes (id, workspace_id)\n"
		"    ON DELETE SET NULL ON UPDATE RESTRICT\n"
		");\n"
		"CREATE INDEX ydtb_notes_title_idx ON ydtb_notes (workspace_id, title);\n"));
	struct dbreg_catalog cat = { 0 };
	DBREG_PASS(c, c->driver->catalog_read(c, &cat));
	assert_int_equal(cat.n_tables, 2);
	assert_null(dbreg_catalog_table(&cat, "ydtb_registry_migrations"));
	assert_null(dbreg_catalog_table(&cat, "nope"));

	const struct dbreg_cat_table *w = dbreg_catalog_table(&cat, "ydtb_workspaces");
	assert_non_null(w);
	assert_int_equal(w->n_columns, 2);
	assert_string_equal(w->columns[0].name, "id");
	assert_string_equal(w->columns[0].type, "integer");
	assert_true(w->columns[0].not_null);
	assert_string_equal(w->columns[1].name, "name");
	assert_string_equal(w->columns[1].type, "text");
	assert_true(w->columns[1].not_null);
	assert_null(w->columns[1].default_expr);
	assert_int_equal(w->n_primary_key, 1);
	assert_string_equal(w->primary_key[0], "id");
	assert_int_equal(w->n_fkeys, 0);
	/* The UNIQUE constraint's index, plus on PostgreSQL the primary key's. */
	assert_int_equal(w->n_indexes, testdb_is_pg() ? 2 : 1);
	const struct dbreg_cat_index *u = find_index(w, testdb_is_pg() ? "ydtb_workspaces_name_key" : "sqlite_autoindex_ydtb_workspaces_1");
	assert_true(u->unique);
	assert_false(u->primary);
	assert_true(u->valid);
	assert_int_equal(u->n_columns, 1);
	assert_string_equal(u->columns[0], "name");
	if (testdb_is_pg()) {
		const struct dbreg_cat_index *pk = find_index(w, "ydtb_workspaces_pkey");
		assert_true(pk->primary);
		assert_true(pk->unique);
	}

	const struct dbreg_cat_table *t = dbreg_catalog_table(&cat, "ydtb_notes");
	assert_non_null(t);
	assert_int_equal(t->n_columns, 4);
	const char *names[] = { "id", "workspace_id", "parent_id", "title" };
	const bool nn[] = { true, true, false, false };
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(t->columns[i].name, names[i]);
		assert_int_equal(t->columns[i].not_null, nn[i]);
	}
	assert_string_equal(t->columns[0].type, "integer");
	assert_string_equal(t->columns[3].type, testdb_is_pg() ? "character varying(200)" : "varchar(200)");
	assert_non_null(t->columns[3].default_expr);
	assert_contains(t->columns[3].default_expr, "'x'");
	assert_null(t->columns[2].default_expr);
	assert_int_equal(t->n_primary_key, 2);
	assert_string_equal(t->primary_key[0], "id");
	assert_string_equal(t->primary_key[1], "workspace_id");

	assert_int_equal(t->n_fkeys, 2);
	const struct dbreg_cat_fkey *fw = NULL, *fp = NULL;
	for (size_t i = 0; i < 2; i++) {
		if (strcmp(t->fkeys[i].ref_table, "ydtb_workspaces") == 0)
			fw = &t->fkeys[i];
		else
			fp = &t->fkeys[i];
	}
	assert_non_null(fw);
	assert_non_null(fp);
	assert_int_equal(fw->n_columns, 1);
	assert_string_equal(fw->columns[0], "workspace_id");
	assert_string_equal(fw->ref_columns[0], "id");
	assert_string_equal(fw->on_delete, "cascade");
	assert_string_equal(fw->on_update, "no action");
	assert_string_equal(fp->ref_table, "ydtb_notes");
	assert_int_equal(fp->n_columns, 2);
	assert_string_equal(fp->columns[0], "parent_id");
	assert_string_equal(fp->columns[1], "workspace_id");
	assert_string_equal(fp->ref_columns[0], "id");
	assert_string_equal(fp->ref_columns[1], "workspace_id");
	assert_string_equal(fp->on_delete, "set null");
	assert_string_equal(fp->on_update, "restrict");

	assert_int_equal(t->n_indexes, 2);
	const struct dbreg_cat_index *ix = find_index(t, "ydtb_notes_title_idx");
	assert_false(ix->unique);
	assert_false(ix->primary);
	assert_true(ix->valid);
	assert_int_equal(ix->n_columns, 2);
	assert_string_equal(ix->columns[0], "workspace_id");
	assert_string_equal(ix->columns[1], "title");
	const struct dbreg_cat_index *pk = find_index(t, testdb_is_pg() ? "ydtb_notes_pkey" : "sqlite_autoindex_ydtb_notes_1");
	assert_true(pk->primary);
	assert_true(pk->unique);
	assert_int_equal(pk->n_columns, 2);
	dbreg_catalog_dispose(&cat);
	dbreg_catalog_dispose(&cat);
	dbreg_catalog_dispose(NULL);
	c->driver->close(c);
}

/* SQLite's catalog as the pragma functions' ORDER BY gave it (the driver
 * reads plain PRAGMA statements since issue 18): indexes sorted by name,
 * byte order (upper case first), whatever order they were made in; a
 * REFERENCES without columns resolved to the parent's key columns by their
 * place in the key, also where a column named twice in PRIMARY KEY makes
 * the places skip a number (a, a, b: places 1 and 3); names with quotes. */
static void test_driver__sqlite_catalog_order(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	DBREG_PASS(c, c->driver->exec(c,
		"CREATE TABLE p (a text, b text, c text, PRIMARY KEY (a, a, b));\n"
		"CREATE TABLE \"it's\" (x text, y text, z text, FOREIGN KEY (x, y) REFERENCES p,\n"
		"  FOREIGN KEY (z) REFERENCES missing, FOREIGN KEY (y) REFERENCES p (c) ON DELETE CASCADE);\n"
		"CREATE INDEX zz ON \"it's\" (y, x);\n"
		"CREATE UNIQUE INDEX \"a'a\" ON \"it's\" (z);\n"
		"CREATE INDEX Mm ON \"it's\" (lower(x));\n"
		"CREATE INDEX _b ON \"it's\" (x);\n"));
	struct dbreg_catalog cat = { 0 };
	DBREG_PASS(c, c->driver->catalog_read(c, &cat));
	const struct dbreg_cat_table *p = dbreg_catalog_table(&cat, "p");
	assert_non_null(p);
	assert_int_equal(p->n_primary_key, 2);
	const struct dbreg_cat_table *t = dbreg_catalog_table(&cat, "it's");
	assert_non_null(t);
	assert_int_equal(t->n_indexes, 4);
	const char *order[] = { "Mm", "_b", "a'a", "zz" };
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(t->indexes[i].name, order[i]);
	assert_true(t->indexes[2].unique);
	assert_string_equal(t->indexes[0].columns[0], "<expression>");
	assert_int_equal(t->indexes[3].n_columns, 2);
	assert_string_equal(t->indexes[3].columns[0], "y");
	assert_string_equal(t->indexes[3].columns[1], "x");
	/* In declaration order, each with its columns in order. */
	assert_int_equal(t->n_fkeys, 3);
	const struct dbreg_cat_fkey *byid[3] = { NULL, NULL, NULL };
	for (size_t i = 0; i < 3; i++)
		byid[strcmp(t->fkeys[i].ref_table, "missing") == 0 ? 1 : t->fkeys[i].n_columns == 2 ? 0 : 2] = &t->fkeys[i];
	assert_non_null(byid[0]);
	assert_non_null(byid[1]);
	assert_non_null(byid[2]);
	assert_string_equal(byid[0]->columns[0], "x");
	assert_string_equal(byid[0]->columns[1], "y");
	assert_string_equal(byid[0]->ref_columns[0], "a");
	assert_string_equal(byid[0]->ref_columns[1], "b");
	assert_string_equal(byid[1]->ref_columns[0], "");
	assert_string_equal(byid[2]->ref_columns[0], "c");
	assert_string_equal(byid[2]->on_delete, "cascade");
	dbreg_catalog_dispose(&cat);
	c->driver->close(c);
}

/* ---- the registry lock -------------------------------------------------------- */

/* Both drivers hold a lock for a whole run: PostgreSQL an advisory lock
 * (naming the holder's session), SQLite an flock on the file (naming the
 * file and --lock-timeout); a waiter times out after its timeout, not
 * SQLite's busy timeout. */
static void test_driver__lock_times_out_naming_holder(void **state)
{
	bool pg = testdb_is_pg();
	struct dbreg_conn *a = open_fixture(state);
	struct dbreg_conn *b = open_fixture(state);
	if (pg)
		DBREG_PASS(a, a->driver->exec(a, "SET application_name = 'dbreg_holder_test'"));
	DBREG_PASS(a, a->driver->lock(a, 5));
	DBREG_PASS(a, a->driver->lock(a, 5)); /* held already: no second level */
	double t0 = now_s();
	assert_int_equal(b->driver->lock(b, 1), DBREG_ELOCKED);
	double waited = now_s() - t0;
	assert_true(waited >= 0.9 && waited < 5.0);
	if (pg) {
		assert_contains(b->err.message, "pid ");
		assert_contains(b->err.message, "dbreg_holder_test");
	} else {
		assert_contains(b->err.message, "timed out after 1 s (--lock-timeout)");
	}
	DBREG_PASS(a, a->driver->unlock(a));
	DBREG_PASS(b, b->driver->lock(b, 1));
	assert_int_equal(a->driver->lock(a, 0), DBREG_ELOCKED);
	DBREG_PASS(b, b->driver->unlock(b));
	DBREG_PASS(b, b->driver->unlock(b)); /* not held: harmless */
	if (pg) {
		/* Never inside a transaction. */
		DBREG_PASS(a, a->driver->begin(a));
		assert_int_equal(a->driver->lock(a, 1), DBREG_EUSAGE);
		DBREG_PASS(a, a->driver->rollback(a));
	}
	/* Closing the connection releases the lock. */
	DBREG_PASS(a, a->driver->lock(a, 1));
	a->driver->close(a);
	DBREG_PASS(b, b->driver->lock(b, 2));
	b->driver->close(b);
}

/* PostgreSQL 14+: the session that takes the registry lock has the server
 * check every second that its client lives (client_connection_check_interval),
 * so a SIGKILLed run's statement ends within a second; a value the user
 * gave (options in the URL, or a role's setting) stays. */
#define PG_CHECK_IS(v)                                                                               \
	"DO $$BEGIN IF current_setting('client_connection_check_interval') <> '" v "' THEN"             \
	" RAISE EXCEPTION 'client_connection_check_interval is %', current_setting('client_connection_check_interval');" \
	" END IF; END$$"
static void test_driver__pg_lock_has_the_server_check_its_client(void **state)
{
	const char *url = ((struct testdb *)*state)->url;
	struct dbreg_conn *c = open_fixture(state);
	DBREG_PASS(c, c->driver->exec(c, PG_CHECK_IS("0")));
	DBREG_PASS(c, c->driver->lock(c, 5));
	DBREG_PASS(c, c->driver->exec(c, PG_CHECK_IS("1s")));
	c->driver->close(c);
	char own[sizeof ((struct testdb *)0)->url + 96];
	bool keywords = strncmp(url, "postgres", 8) != 0;   /* a keyword string, not a URL */
	snprintf(own, sizeof own, "%s%s", url,
		 keywords ? " options='-c client_connection_check_interval=5000'"
			  : strchr(url, '?') ? "&options=-c%20client_connection_check_interval%3D5000"
					     : "?options=-c%20client_connection_check_interval%3D5000");
	c = testdb_open(own);
	DBREG_PASS(c, c->driver->lock(c, 5));
	DBREG_PASS(c, c->driver->exec(c, PG_CHECK_IS("5s")));
	c->driver->close(c);
}

/* SQLite: a connection that created its file and committed nothing to it
 * leaves no file when it unlocks (a refused or failed run creates no
 * database, issue 18); one that had opened the file meanwhile and waited
 * for the lock goes on with a file of its own at the path, which keeps
 * what it commits; a file it did not create stays, even empty. */
static void test_driver__sqlite_created_empty_file_is_removed(void **state)
{
	const char *path = ((struct testdb *)*state)->path;
	struct stat sb;
	unlink(path);
	struct dbreg_conn *a = open_fixture(state);
	assert_int_equal(stat(path, &sb), 0);
	struct dbreg_conn *b = open_fixture(state);
	DBREG_PASS(a, a->driver->lock(a, 5));
	DBREG_PASS(a, a->driver->begin(a));
	DBREG_PASS(a, a->driver->exec(a, "CREATE TABLE t (x)"));
	DBREG_PASS(a, a->driver->rollback(a));
	DBREG_PASS(a, a->driver->unlock(a));
	assert_int_not_equal(stat(path, &sb), 0);
	a->driver->close(a);
	DBREG_PASS(b, b->driver->lock(b, 5));
	DBREG_PASS(b, b->driver->begin(b));
	DBREG_PASS(b, b->driver->exec(b, "CREATE TABLE t (x); INSERT INTO t VALUES (1)"));
	DBREG_PASS(b, b->driver->commit(b));
	DBREG_PASS(b, b->driver->unlock(b));
	b->driver->close(b);
	struct dbreg_conn *c = open_fixture(state);
	char **names = NULL;
	size_t n = 0;
	DBREG_PASS(c, c->driver->table_names(c, &names, &n));
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "t");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	c->driver->close(c);
	/* An empty file that was there before is left alone. */
	unlink(path);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	struct dbreg_conn *d = open_fixture(state);
	DBREG_PASS(d, d->driver->lock(d, 5));
	DBREG_PASS(d, d->driver->unlock(d));
	d->driver->close(d);
	assert_int_equal(stat(path, &sb), 0);
}

/* content_stamp (driver v11): without a connection, the same stamp while
 * the database stays as it is, another after a commit, none while a write
 * could still be under way or go unseen. PostgreSQL has none. */
static void stamp_sleep_past_racy(void)
{
	struct timespec ts = {0, 150 * 1000 * 1000};   /* the driver trusts nothing changed in the last 100 ms */
	nanosleep(&ts, NULL);
}

static int stamp_of(const char *url, char buf[512])
{
	const struct dbreg_driver *drv = dbreg_driver_for_url(url);
	assert_non_null(drv);
	if (drv->version < 11 || !drv->content_stamp)
		return -1;
	return drv->content_stamp(url, buf, 512);
}

static void stamp_commit(void **state, const char *sql)
{
	struct dbreg_conn *c = open_fixture(state);
	DBREG_PASS(c, c->driver->begin(c));
	DBREG_PASS(c, c->driver->exec(c, sql));
	DBREG_PASS(c, c->driver->commit(c));
	c->driver->close(c);
}

static void test_driver__content_stamp(void **state)
{
	const struct testdb *db = *state;
	char a[512], b[512], side[600];
	if (testdb_is_pg()) {
		assert_int_equal(stamp_of(db->url, a), -1);
		return;
	}
	stamp_commit(state, "CREATE TABLE t (x)");
	assert_int_equal(stamp_of(db->url, a), 1);   /* just written */
	stamp_sleep_past_racy();
	assert_int_equal(stamp_of(db->url, a), 0);
	assert_int_equal(stamp_of(db->url, b), 0);
	assert_string_equal(a, b);
	/* A read changes nothing. */
	struct dbreg_conn *c = open_fixture(state);
	struct dbreg_history h = DBREG_HISTORY_INIT;
	DBREG_PASS(c, c->driver->history_read(c, &h));
	dbreg_history_dispose(&h);
	c->driver->close(c);
	assert_int_equal(stamp_of(db->url, b), 0);
	assert_string_equal(a, b);
	/* A commit: another stamp. */
	stamp_commit(state, "INSERT INTO t VALUES (1)");
	stamp_sleep_past_racy();
	assert_int_equal(stamp_of(db->url, b), 0);
	assert_string_not_equal(a, b);
	/* A journal beside the file: a write under way, or a crash's. */
	snprintf(side, sizeof side, "%s-journal", db->path);
	FILE *fp = fopen(side, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(stamp_of(db->url, a), 1);
	/* Reached through a symbolic link in another folder: SQLite journals
	 * beside the file the link leads to, so that is where one is looked for. */
	char dir[] = "/tmp/dbreg-stamp-link-XXXXXX", link[600], link_url[700];
	assert_non_null(mkdtemp(dir));
	snprintf(link, sizeof link, "%s/link.db", dir);
	snprintf(link_url, sizeof link_url, "sqlite:%s", link);
	assert_int_equal(symlink(db->path, link), 0);
	assert_int_equal(stamp_of(link_url, b), 1);
	unlink(side);
	assert_int_equal(stamp_of(link_url, b), 0);
	unlink(link);
	rmdir(dir);
	assert_int_equal(stamp_of(db->url, a), 0);
	/* Too small a buffer is no stamp, not a cut one. */
	const struct dbreg_driver *drv = dbreg_driver_for_url(db->url);
	assert_int_equal(drv->content_stamp(db->url, a, 40), 1);
	/* WAL mode: its commits leave the header's counter alone. */
	stamp_commit(state, "SELECT 1");
	sqlite3 *raw;
	assert_int_equal(sqlite3_open(db->path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "PRAGMA journal_mode = WAL", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	stamp_sleep_past_racy();
	assert_int_equal(stamp_of(db->url, a), 1);
	/* No file, and no file at all. */
	unlink(db->path);
	assert_int_equal(stamp_of(db->url, a), 1);
	assert_int_equal(stamp_of("sqlite::memory:", a), 1);
}

/* dbreg_time_racy: 100 ms after a time with nanoseconds, 2 s after one of
 * whole seconds (the file system may have cut 10.9 s down to 10 s). */
static void test_driver__time_racy_allows_for_whole_seconds(void **state)
{
	(void)state;
	const long long s = 1000000000LL, ms = 1000000LL;
	assert_true(dbreg_time_racy(10 * s + 50 * ms, 10 * s + 120 * ms));
	assert_false(dbreg_time_racy(10 * s + 50 * ms, 10 * s + 151 * ms));
	assert_true(dbreg_time_racy(10 * s, 10 * s + 900 * ms));
	assert_true(dbreg_time_racy(10 * s, 12 * s));
	assert_false(dbreg_time_racy(10 * s, 12 * s + 1));
}

/* SQLite's memory as the driver sets it up (sqlite_alloc.c keeps the small
 * blocks SQLite frees per thread): a block holds what was written to it
 * through a realloc up or down, across the kept sizes and past them, and
 * one freed on another thread serves that thread later. */
static void *free_blocks(void *arg)
{
	void **blocks = arg;
	for (size_t i = 0; blocks[i]; i++)
		sqlite3_free(blocks[i]);
	char *again = sqlite3_malloc(24);
	assert_non_null(again);
	sqlite3_free(again);
	return NULL;
}

static void test_driver__sqlite_memory_keeps_what_was_written(void **state)
{
	(void)state;
	/* Every size up to 1,200 bytes, then some up to past the largest kept
	 * (4,608), and each one around it. */
	enum { N_SIZES = 1199 + 36 + 17 };
	int sizes[N_SIZES];
	for (int i = 0; i < N_SIZES; i++)
		sizes[i] = i < 1199 ? i + 1 : i < 1199 + 36 ? 1200 + (i - 1199) * 101 : 4600 + (i - 1199 - 36);
	for (int round = 0; round < 2; round++) {
		char *blocks[N_SIZES + 1] = {0};
		for (int k = 0; k < N_SIZES; k++) {
			int n = sizes[k];
			blocks[k] = sqlite3_malloc(n);
			assert_non_null(blocks[k]);
			assert_true(sqlite3_msize(blocks[k]) >= (sqlite3_uint64)n);
			memset(blocks[k], n & 0x7f, (size_t)n);
		}
		for (int k = 0; k < N_SIZES; k++) {
			int n = sizes[k];
			char *p = blocks[k];
			for (int i = 0; i < n; i++)
				assert_int_equal(p[i], n & 0x7f);
			p = sqlite3_realloc(p, n * 3);
			assert_non_null(p);
			for (int i = 0; i < n; i++)
				assert_int_equal(p[i], n & 0x7f);
			p = sqlite3_realloc(p, n / 2 + 1);
			assert_non_null(p);
			for (int i = 0; i < n / 2 + 1; i++)
				assert_int_equal(p[i], n & 0x7f);
			blocks[k] = p;
		}
		/* Freed on another thread, which then ends. */
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, free_blocks, blocks), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
	}
	/* And a database on top of it. */
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x TEXT); INSERT INTO t VALUES (printf('%.5000c', 'y'));"
					  "ALTER TABLE t ADD COLUMN y TEXT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT length(x) FROM t", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 5000);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

#if defined(__SANITIZE_ADDRESS__)
#define DRIVER_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DRIVER_TEST_ASAN 1
#endif
#endif
#ifndef DRIVER_TEST_ASAN
#define DRIVER_TEST_ASAN 0
#endif

#if !DRIVER_TEST_ASAN
/* Blocks one thread takes and another frees (a pool of connections moving
 * between threads): the freeing thread keeps a bounded amount, so memory
 * stays flat however many rounds. Resident size from /proc. */
struct take_blocks {
	void **blocks;
	size_t n;
};

static void *take_blocks(void *arg)
{
	struct take_blocks *t = arg;
	for (size_t i = 0; i < t->n; i++) {
		t->blocks[i] = sqlite3_malloc(64);
		if (t->blocks[i])
			memset(t->blocks[i], 1, 64);
	}
	return NULL;
}

static long resident_kb(void)
{
	long pages = 0, rss = 0;
	FILE *fp = fopen("/proc/self/statm", "r");
	if (fp && fscanf(fp, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	if (fp)
		fclose(fp);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void test_driver__sqlite_memory_freed_elsewhere_stays_bounded(void **state)
{
	(void)state;
	enum { N = 200000, ROUNDS = 12 };   /* 12.8 MB of 64-byte blocks a round */
	struct take_blocks t = { calloc(N, sizeof(void *)), N };
	assert_non_null(t.blocks);
	long start = 0;
	for (int round = 0; round < ROUNDS; round++) {
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, take_blocks, &t), 0);
		assert_int_equal(pthread_join(th, NULL), 0);
		for (size_t i = 0; i < t.n; i++) {
			assert_non_null(t.blocks[i]);
			sqlite3_free(t.blocks[i]);
		}
		if (round == 1)
			start = resident_kb();
	}
	long grown = resident_kb() - start;
	free(t.blocks);
	/* Kept without a bound, ten more rounds keep 128 MB here. */
	if (grown > 48 * 1024)
		fail_msg("resident size grew by %ld kB over %d rounds", grown, ROUNDS - 2);
}
#endif

/* ---- version 4: statements and progress ---------------------------------------- */

/* split names the statements as the database runs them: a ';' in a
 * string, a comment or a trigger body (SQLite) / dollar quote
 * (PostgreSQL) does not end one, the comments between them are not part
 * of them. */
static void test_driver__split_finds_the_statements(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	const char *body = testdb_is_pg()
		? "SELECT ';' AS x;\n-- one; two\nDO $b$ BEGIN PERFORM 1; END $b$;\n/* c; */ SELECT 2"
		: "SELECT ';' AS x;\n-- one; two\nCREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; SELECT 2; END;\n/* c; */ SELECT 2";
	const char *want[3] = { "SELECT ';' AS x",
				testdb_is_pg() ? "DO $b$ BEGIN PERFORM 1; END $b$"
					       : "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; SELECT 2; END",
				"SELECT 2" };
	struct dbreg_span *v = NULL;
	size_t n = 0;
	assert_true(c->driver->version >= 4 && c->driver->split);
	DBREG_PASS(c, c->driver->split(c, body, &v, &n));
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		char got[256];
		snprintf(got, sizeof got, "%.*s", (int)(v[i].end - v[i].start), body + v[i].start);
		assert_string_equal(got, want[i]);
	}
	free(v);
	DBREG_PASS(c, c->driver->split(c, "  -- nothing\n", &v, &n));
	assert_int_equal(n, 0);
	free(v);
	c->driver->close(c);
}

/* A progress row is not history: history_read leaves it out, progress_read
 * finds it, history_record of the completed migration replaces it. */
static void test_driver__progress_is_not_history(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	DBREG_PASS(c, c->driver->history_ensure(c));
	struct dbreg_applied row = { "@t/p", "0001", "1.0.0", "sha256:prefix", NULL, 5 };
	DBREG_PASS(c, c->driver->progress_record(c, &row, 2));
	struct dbreg_history h = DBREG_HISTORY_INIT;
	DBREG_PASS(c, c->driver->history_read(c, &h));
	assert_int_equal(h.len, 0);
	dbreg_history_dispose(&h);
	size_t done = 0;
	char sum[72] = "";
	DBREG_PASS(c, c->driver->progress_read(c, "@t/p", "0001", &done, sum));
	assert_int_equal(done, 2);
	assert_string_equal(sum, "sha256:prefix");
	DBREG_PASS(c, c->driver->progress_record(c, &row, 3));
	DBREG_PASS(c, c->driver->progress_read(c, "@t/p", "0001", &done, sum));
	assert_int_equal(done, 3);
	DBREG_PASS(c, c->driver->progress_record(c, &row, 0));
	DBREG_PASS(c, c->driver->progress_read(c, "@t/p", "0001", &done, sum));
	assert_int_equal(done, 0);
	row.checksum = "sha256:whole";
	DBREG_PASS(c, c->driver->history_record(c, &row, true));
	/* Progress never overwrites a completed migration's row. */
	DBREG_PASS(c, c->driver->progress_record(c, &row, 1));
	DBREG_PASS(c, c->driver->history_read(c, &h));
	assert_int_equal(h.len, 1);
	assert_string_equal(h.rows[0].checksum, "sha256:whole");
	dbreg_history_dispose(&h);
	DBREG_PASS(c, c->driver->progress_read(c, "@t/p", "0001", &done, sum));
	assert_int_equal(done, 0);
	c->driver->close(c);
}

/* A history table made before statements_done existed reads as before and
 * gets the column from history_ensure, its rows kept. */
static void test_driver__old_history_table_is_upgraded(void **state)
{
	struct dbreg_conn *c = open_fixture(state);
	DBREG_PASS(c, c->driver->exec(c,
		"CREATE TABLE ydtb_registry_migrations (package text NOT NULL, migration text NOT NULL,"
		" version text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT '2024-01-01T00:00:00Z',"
		" duration_ms bigint NOT NULL DEFAULT 0, PRIMARY KEY (package, migration));"
		"INSERT INTO ydtb_registry_migrations (package, migration, version, checksum)"
		" VALUES ('@t/old', '0001', '1.0.0', 'sha256:old');"));
	struct dbreg_history h = DBREG_HISTORY_INIT;
	DBREG_PASS(c, c->driver->history_read(c, &h));
	assert_int_equal(h.len, 1);
	dbreg_history_dispose(&h);
	assert_registry_read(c, 1, 0);   /* no statements_done, no packages' table */
	size_t done = 9;
	char sum[72];
	DBREG_PASS(c, c->driver->progress_read(c, "@t/old", "0001", &done, sum));
	assert_int_equal(done, 0);
	DBREG_PASS(c, c->driver->history_ensure(c));
	struct dbreg_applied row = { "@t/old", "0002", "1.0.0", "sha256:p", NULL, 1 };
	DBREG_PASS(c, c->driver->progress_record(c, &row, 1));
	DBREG_PASS(c, c->driver->history_read(c, &h));
	assert_int_equal(h.len, 1);
	assert_string_equal(h.rows[0].checksum, "sha256:old");
	dbreg_history_dispose(&h);
	c->driver->close(c);
}

/* ---- registration --------------------------------------------------------------- */

static const char *const fake_schemes[] = { "faketest", NULL };
static const char *const dup_schemes[] = { "fakeother", "SQLite", NULL };

static void test_driver__registration_refuses_bad_vtables(void **state)
{
	(void)state;
	const struct dbreg_driver *sq = dbreg_driver_for_url("sqlite:x.db");
	const struct dbreg_driver *pg = dbreg_driver_for_url("postgres://h/db");
	assert_non_null(sq);
	assert_non_null(pg);
	assert_string_equal(sq->name, "sqlite");
	assert_string_equal(pg->name, "postgres");
	assert_ptr_equal(dbreg_driver_for_url("SQLITE::memory:"), sq);
	assert_ptr_equal(dbreg_driver_for_url("sqlite:///abs/x.db"), sq);
	assert_ptr_equal(dbreg_driver_for_url("postgresql://u@h/db"), pg);
	assert_ptr_equal(dbreg_driver_for_url("host=::1 dbname=d"), pg);
	assert_ptr_equal(dbreg_driver_for_url("dbname=d"), pg);
	assert_null(dbreg_driver_for_url("mysql://h/db"));
	assert_null(dbreg_driver_for_url(NULL));

	char err[256];
	static struct dbreg_driver fake;
	fake = *sq;
	fake.name = "fake";
	fake.schemes = fake_schemes;
	fake.commit = NULL;
	assert_int_equal(dbreg_driver_register(&fake, err, sizeof err), DBREG_EUSAGE);
	assert_string_equal(err, "incomplete driver 'fake': missing commit");

	fake = *pg;
	fake.name = "fake";
	fake.schemes = fake_schemes;
	fake.unlock = NULL;
	assert_int_equal(dbreg_driver_register(&fake, err, sizeof err), DBREG_EUSAGE);
	assert_string_equal(err, "incomplete driver 'fake': missing unlock");

	fake = *sq;
	fake.version = DBREG_DRIVER_VERSION + 1;
	fake.schemes = fake_schemes;
	assert_int_equal(dbreg_driver_register(&fake, err, sizeof err), DBREG_EUSAGE);

	static struct dbreg_driver dup;
	dup = *sq;
	dup.name = "dup";
	dup.schemes = dup_schemes;
	assert_int_equal(dbreg_driver_register(&dup, err, sizeof err), DBREG_EUSAGE);
	assert_contains(err, "'SQLite' is already taken by driver 'sqlite'");
	assert_null(dbreg_driver_for_url("fakeother:x"));

	fake = *sq;
	fake.name = "fake";
	fake.schemes = fake_schemes;
	assert_int_equal(dbreg_driver_register(&fake, err, sizeof err), 0);
	assert_ptr_equal(dbreg_driver_for_url("faketest:whatever"), &fake);
	assert_int_equal(dbreg_driver_register(&fake, err, sizeof err), DBREG_EUSAGE);
	assert_ptr_equal(dbreg_driver_for_url("sqlite:x.db"), sq);
}

/* ---- URL redaction ----------------------------------------------------------------- */

/* cli.md: one key per database, whatever the spelling; never a password. */
static void test_driver__target_key_is_one_per_database(void **state)
{
	(void)state;
	char cwd[4096], abs[4200];
	assert_non_null(getcwd(cwd, sizeof cwd));
	snprintf(abs, sizeof abs, "sqlite://%s/./k.db", cwd);
	static const char *const same[][4] = {
		{ "sqlite:k.db", "sqlite:./k.db", NULL, NULL },
		{ "postgres://u:secret@DB.example:5433/app", "postgresql://u@db.example:5433/app?sslmode=require",
		  "host=db.example port=5433 dbname=app user=u password=other", "postgres://u@db.example:5433/app" },
		{ "postgres://u@h/app", "host=h dbname=app user=u port=5432", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		char *first = dbreg_target_key(same[i][0]);
		assert_non_null(first);
		assert_null(strstr(first, "secret"));
		for (size_t k = 1; k < 4 && same[i][k]; k++) {
			char *other = dbreg_target_key(same[i][k]);
			assert_non_null(other);
			if (strcmp(first, other) != 0)
				fail_msg("'%s' keys as %s, '%s' as %s", same[i][0], first, same[i][k], other);
			free(other);
		}
		free(first);
	}
	char *a = dbreg_target_key("sqlite:k.db"), *b = dbreg_target_key(abs);
	assert_string_equal(a, b);
	assert_true(a[strlen("sqlite:")] == '/');
	free(b);
	/* Other databases, other keys. */
	static const char *const other[] = { "sqlite:l.db", "postgres://u@h/app2", "postgres://v@h/app",
					     "postgres://u@h:5433/app", "postgres://u@h2/app" };
	char *pg = dbreg_target_key("postgres://u@h/app");
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
		char *k = dbreg_target_key(other[i]);
		assert_string_not_equal(k, i == 0 ? a : pg);
		free(k);
	}
	free(pg);
	free(a);
}

static void test_driver__url_redaction(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "postgres://user:secret@host/db", "postgres://user:***@host/db" },
		{ "postgresql://user:secret@host:5432/db?sslmode=require",
		  "postgresql://user:***@host:5432/db?sslmode=require" },
		{ "postgres://user@host/db", "postgres://user@host/db" },
		{ "postgres://host/db", "postgres://host/db" },
		{ "postgres://:secret@host/db", "postgres://:***@host/db" },
		{ "postgres://u:p%40ss@host/db", "postgres://u:***@host/db" },
		{ "postgres://u:p@ss@host/db", "postgres://u:***@host/db" },
		{ "postgres://u:a:b@h1:5432,h2:5433/db", "postgres://u:***@h1:5432,h2:5433/db" },
		{ "postgres://host/db?password=secret&sslmode=disable",
		  "postgres://host/db?password=***&sslmode=disable" },
		{ "postgres://u:s1@host/db?application_name=a@b&PASSWORD=s2",
		  "postgres://u:***@host/db?application_name=a@b&PASSWORD=***" },
		{ "postgres://host/db?pass%77ord=secret", "postgres://host/db?pass%77ord=***" },
		{ "postgres://host/db?password=", "postgres://host/db?password=***" },
		{ "POSTGRES://u:secret@h/d", "POSTGRES://u:***@h/d" },
		{ "host=h password=secret dbname=d", "host=h password=*** dbname=d" },
		{ "host=h password = 'se cret\\' x' dbname=d", "host=h password = '***' dbname=d" },
		{ "password=a\\ b host=h", "password=*** host=h" },
		{ "  password='unterminated", "  password='***" },
		{ "PASSWORD=x", "PASSWORD=***" },
		{ "host=h passfile=/p dbname=d", "host=h passfile=/p dbname=d" },
		{ "host=h password=one password=two", "host=h password=*** password=***" },
		{ "host=h oops password=secret", "host=h oops password=***" /* malformed, still masked */ },
		{ "host=h password=se cret dbname=d", "host=h password=*** *** dbname=d" /* an unescaped space */ },
		{ "host=h password=a b c", "host=h password=*** *** ***" },
		{ "dev", "dev" /* a target's name is no keyword string */ },
		{ "postgres://u:se?cret@h/d", "postgres://u:***@h/d" /* libpq's password holds the '?' */ },
		{ "postgres://u:se?cret@h/d?password=x", "postgres://u:***@h/d?password=***" },
		{ "sqlite:/tmp/a:b@c.db", "sqlite:/tmp/a:b@c.db" },
		{ "sqlite:x.db?password=y", "sqlite:x.db?password=y" },
		{ "sqlite::memory:", "sqlite::memory:" },
		{ "sqlite:///abs/u:p@x.db", "sqlite:///abs/u:p@x.db" },
		{ "", "" },
		/* libpq's other secret: the passphrase of the client's key. */
		{ "postgres://u@h/d?sslpassword=secret&sslmode=require", "postgres://u@h/d?sslpassword=***&sslmode=require" },
		{ "host=h sslpassword=secret SSLPASSWORD='x y'", "host=h sslpassword=*** SSLPASSWORD='***'" },
		/* Spellings that are refused, with an error that shows them. */
		{ " postgres://app:secret@h/d", " postgres://app:***@h/d" },
		{ "\t\npostgresql://app:secret@h/d ", "\t\npostgresql://app:***@h/d " },
		{ "app:secret@127.0.0.1:5432/appdb", "app:***@127.0.0.1:5432/appdb" /* the scheme forgotten */ },
		{ "app:se/cret@h", "app:***@h" },
		{ "dbname=postgresql://app:secret@h/d host=x", "dbname=postgresql://app:***@h/d host=x" },
		{ "sqlite:postgres://app:secret@h/d", "sqlite:postgres://app:***@h/d" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = dbreg_url_redact(cases[i][0]);
		assert_non_null(got);
		if (strcmp(got, cases[i][1]) != 0)
			print_error("redact('%s') = '%s', want '%s'\n", cases[i][0], got, cases[i][1]);
		assert_string_equal(got, cases[i][1]);
		free(got);
	}
	assert_null(dbreg_url_redact(NULL));

	/* Every truncation of every case: no read past the end, and a password
	 * that survives is only ever a prefix cut before its end. */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = strlen(cases[i][0]);
		for (size_t k = 0; k <= len; k++) {
			char *in = strndup(cases[i][0], k);
			assert_non_null(in);
			char *got = dbreg_url_redact(in);
			assert_non_null(got);
			if (k == len)
				assert_lacks(got, "secret");
			char *sc = dbreg_url_scrub(in, in);
			assert_non_null(sc);
			free(sc);
			free(got);
			free(in);
		}
	}

	/* What libpq would read a piece of the password from as a host, port or
	 * database is refused, not passed on (dbreg_url_unclear). */
	assert_non_null(dbreg_url_unclear("postgres://u:p@ss@h/d"));
	assert_non_null(dbreg_url_unclear("postgres://u:p/ss@h/d"));
	assert_non_null(dbreg_url_unclear("postgresql://h/d@x"));
	assert_null(dbreg_url_unclear("postgres://u:p%40ss@h/d"));
	assert_null(dbreg_url_unclear("postgres://u:se?cret@h/d"));
	assert_null(dbreg_url_unclear("postgres://h/d?application_name=a@b"));
	assert_null(dbreg_url_unclear("host=h password=p@ss@x"));
	assert_null(dbreg_url_unclear("sqlite:///abs/u:p@x.db"));

	/* Scrubbing a message: the URL, the raw password and its decoded form. */
	char *s = dbreg_url_scrub("bad 'p@ss' in postgres://u:p%40ss@h/d (p%40ss)", "postgres://u:p%40ss@h/d");
	assert_string_equal(s, "bad '***' in postgres://u:***@h/d (***)");
	free(s);
	s = dbreg_url_scrub("it's sec'ret", "host=h password='sec\\'ret'");
	assert_string_equal(s, "it's ***");
	free(s);
	/* A short password is masked only where it stands as a whole token:
	 * "port" stays "port" (masking inside it would reveal the password). */
	s = dbreg_url_scrub("connection to server at \"h\", port 1 failed: p rejected (p)",
			    "postgres://u:p@h:1/d");
	assert_string_equal(s, "connection to server at \"h\", port 1 failed: *** rejected (***)");
	free(s);
	s = dbreg_url_scrub("postgres://u:p@h:1/d: pp p1 xp p", "postgres://u:p@h:1/d");
	assert_string_equal(s, "postgres://u:***@h:1/d: pp p1 xp ***");
	free(s);
	s = dbreg_url_scrub("nothing here", NULL);
	assert_string_equal(s, "nothing here");
	free(s);
	assert_null(dbreg_url_scrub(NULL, "x"));
}

int main(int argc, char **argv)
{
	int rc = testdb_main_init(argc, argv, "driver", "t");
	if (rc != TESTDB_RUN)
		return rc;
	bool is_pg = testdb_is_pg();

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_driver__connect_close, testdb_setup, testdb_teardown),
		cmocka_unit_test(test_driver__bad_url),
		cmocka_unit_test(test_driver__unreachable),
		cmocka_unit_test_setup_teardown(test_driver__exec_multi_statement, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__failing_statement_reports_where, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__rollback_leaves_nothing, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__readonly_creates_nothing, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__history_round_trip, testdb_setup, testdb_teardown),
		cmocka_unit_test(test_driver__history_order_is_stable),
		cmocka_unit_test_setup_teardown(test_driver__package_record_read, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__history_of_some_packages, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__registry_dropped_under_a_connection, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__registry_read_is_both_reads, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__registry_digest_is_the_rows_digest, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__registry_digest_since_sees_every_change, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__rows_read, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__catalog_exact, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__lock_times_out_naming_holder, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__split_finds_the_statements, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__progress_is_not_history, testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_driver__old_history_table_is_upgraded, testdb_setup, testdb_teardown),
		cmocka_unit_test(test_driver__registration_refuses_bad_vtables),
		cmocka_unit_test(test_driver__url_redaction),
		cmocka_unit_test(test_driver__target_key_is_one_per_database),
		cmocka_unit_test_setup_teardown(test_driver__content_stamp, testdb_setup, testdb_teardown),
		cmocka_unit_test(test_driver__time_racy_allows_for_whole_seconds),
	};
	/* Cases of one database only are left out of the other's run rather
	 * than skipped: meson reads cmocka's "not ok # SKIP" as a failure. */
	struct CMUnitTest all[sizeof(tests) / sizeof(tests[0]) + 6];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		all[n++] = tests[i];
	if (is_pg) {
		all[n++] = (struct CMUnitTest)cmocka_unit_test(test_driver__wrong_password_never_echoed);
		all[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_driver__pg_registry_read_is_one_round_trip,
									    testdb_setup, testdb_teardown);
		all[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_driver__pg_history_in_server_order,
									    testdb_setup, testdb_teardown);
		all[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_driver__pg_lock_has_the_server_check_its_client,
									    testdb_setup, testdb_teardown);
	}
	else
		all[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_driver__sqlite_created_empty_file_is_removed,
									    testdb_setup, testdb_teardown);
	if (!is_pg) {
		all[n++] = (struct CMUnitTest)cmocka_unit_test(test_driver__sqlite_memory_keeps_what_was_written);
#if !DRIVER_TEST_ASAN
		/* AddressSanitizer's quarantine keeps freed blocks by design
		 * (and sqlite_alloc.c is off under it): nothing to measure. */
		all[n++] = (struct CMUnitTest)cmocka_unit_test(test_driver__sqlite_memory_freed_elsewhere_stays_bounded);
#endif
		all[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_driver__sqlite_catalog_order, testdb_setup,
									      testdb_teardown);
	}
	return _cmocka_run_group_tests(is_pg ? "driver_postgres" : "driver_sqlite", all, n, NULL, NULL);
}
