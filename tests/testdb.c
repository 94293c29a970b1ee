/* The one implementation of the per-database test fixtures (see testdb.h):
 * which database this run uses, a fresh one per test, connecting, and
 * the admin connection that creates and drops PostgreSQL databases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbreg.h"
#include "testdb.h"

static bool is_pg;
static const char *pg_base_url;     /* the server's URL, from the environment or argv */
static const char *tmp_dir = "/tmp";
static const char *name_tag = "t";
static unsigned test_seq;

int testdb_main_init(int argc, char **argv, const char *suite, const char *tag)
{
	const char *which = argc > 1 ? argv[1] : "sqlite";
	name_tag = tag;
	if (strncmp(which, "postgres", 8) == 0 || strchr(which, '=')) {
		is_pg = true;
		pg_base_url = strcmp(which, "postgres") == 0 ? getenv("DBREG_TEST_PG_URL") : which;
		if (!pg_base_url || !pg_base_url[0]) {
			const char *no = getenv("DBREG_TEST_NO_PG");
			if (no && strcmp(no, "1") == 0) {
				printf("1..0 # SKIP DBREG_TEST_NO_PG=1: PostgreSQL %s tests not run\n", suite);
				return 0;
			}
			fprintf(stderr, "test_%s postgres: DBREG_TEST_PG_URL is not set. Start a server "
					"(tests/pg-harness.sh start DIR) and export its URL, or set "
					"DBREG_TEST_NO_PG=1 to skip the PostgreSQL run on purpose.\n", suite);
			printf("1..1\nnot ok 1 - DBREG_TEST_PG_URL is not set\n");
			return 1;
		}
	} else if (strcmp(which, "sqlite") != 0) {
		fprintf(stderr, "usage: test_%s sqlite|postgres|POSTGRES-URL\n", suite);
		return 2;
	}
	const char *tmp = getenv("TMPDIR");
	if (tmp && tmp[0])
		tmp_dir = tmp;
	return TESTDB_RUN;
}

bool testdb_is_pg(void)
{
	return is_pg;
}

const char *testdb_server_url(void)
{
	return pg_base_url;
}

/* Appends key='value' with libpq quoting. */
static void testdb_kw_append(char *out, size_t size, const char *key, const char *val)
{
	size_t o = strlen(out);
	o += (size_t)snprintf(out + o, size - o, "%s%s='", o ? " " : "", key);
	for (const char *p = val; *p && o + 3 < size; p++) {
		if (*p == '\'' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p;
	}
	if (o + 2 < size) {
		out[o++] = '\'';
		out[o] = '\0';
	}
}

void testdb_pg_url_with(char *out, size_t size, const char *const *keys, const char *const *vals, size_t n)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(pg_base_url, &err);
	assert_non_null(opts);
	out[0] = '\0';
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		bool replaced = false;
		for (size_t i = 0; i < n; i++)
			replaced |= strcmp(o->keyword, keys[i]) == 0;
		if (!replaced && o->val && o->val[0])
			testdb_kw_append(out, size, o->keyword, o->val);
	}
	for (size_t i = 0; i < n; i++) {
		if (vals[i])
			testdb_kw_append(out, size, keys[i], vals[i]);
	}
	PQconninfoFree(opts);
}

const char *testdb_pg_opt(const char *key, const char *dflt, char *buf, size_t size)
{
	PQconninfoOption *opts = PQconninfoParse(pg_base_url, NULL);
	snprintf(buf, size, "%s", dflt);
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (strcmp(o->keyword, key) == 0 && o->val && o->val[0])
			snprintf(buf, size, "%s", o->val);
	}
	PQconninfoFree(opts);
	return buf;
}

struct dbreg_conn *testdb_open(const char *url)
{
	const struct dbreg_driver *drv = dbreg_driver_for_url(url);
	assert_non_null(drv);
	struct dbreg_conn *conn = NULL;
	char err[512] = "";
	int rc = drv->connect(&conn, url, err, sizeof err);
	if (rc != 0)
		print_error("connect failed with %d: %s\n", rc, err);
	assert_int_equal(rc, 0);
	assert_non_null(conn);
	assert_ptr_equal(conn->driver, drv);
	return conn;
}

void testdb_admin_exec(const char *sql)
{
	struct dbreg_conn *c = testdb_open(pg_base_url);
	DBREG_PASS(c, c->driver->exec(c, sql));
	c->driver->close(c);
}

struct testdb *testdb_fresh(void)
{
	struct testdb *db = calloc(1, sizeof *db);
	assert_non_null(db);
	unsigned n = ++test_seq;
	if (is_pg) {
		snprintf(db->dbname, sizeof db->dbname, "dbreg_%s_%ld_%u", name_tag, (long)getpid(), n);
		char sql[128];
		/* CREATE DATABASE refuses a multi-statement body: two calls. */
		snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", db->dbname);
		testdb_admin_exec(sql);
		snprintf(sql, sizeof sql, "CREATE DATABASE %s", db->dbname);
		testdb_admin_exec(sql);
		const char *keys[] = { "dbname" }, *vals[] = { db->dbname };
		testdb_pg_url_with(db->url, sizeof db->url, keys, vals, 1);
	} else {
		snprintf(db->path, sizeof db->path, "%s/dbreg_%s_%ld_%u.db", tmp_dir, name_tag, (long)getpid(), n);
		unlink(db->path);
		snprintf(db->url, sizeof db->url, "sqlite:%s", db->path);
	}
	return db;
}

void testdb_drop(struct testdb *db)
{
	if (!db)
		return;
	if (is_pg) {
		char sql[128];
		snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db->dbname);
		testdb_admin_exec(sql);
	} else {
		/* A connection left in WAL mode leaves these beside the file. */
		static const char *const suffixes[] = { "", "-wal", "-shm" };
		for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
			char p[600];
			snprintf(p, sizeof p, "%s%s", db->path, suffixes[i]);
			unlink(p);
		}
	}
	free(db);
}

int testdb_setup(void **state)
{
	*state = testdb_fresh();
	return 0;
}

int testdb_teardown(void **state)
{
	testdb_drop(*state);
	return 0;
}
