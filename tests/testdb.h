/* The database under test, for the suites that run once per database
 * (test_driver, test_apply): `test_x sqlite` runs every case against a
 * fresh SQLite file in $TMPDIR (or /tmp), `test_x postgres` against a
 * fresh database on the server of DBREG_TEST_PG_URL, created and dropped
 * through an admin connection. Without that URL the PostgreSQL run fails
 * loudly, unless DBREG_TEST_NO_PG=1 says to skip it on purpose.
 *
 * main calls testdb_main_init once; cases get a fresh database from the
 * cmocka fixtures testdb_setup/testdb_teardown (or testdb_fresh and
 * testdb_drop), and connect with testdb_open. One copy of this machinery
 * so that both suites create, name and remove databases the same way. */
#ifndef DBREG_TESTS_TESTDB_H
#define DBREG_TESTS_TESTDB_H

#include <stdbool.h>
#include <stddef.h>

#include "dbreg/driver.h"

/* One test's database: its URL, and what teardown removes (the PostgreSQL
 * database name, or the SQLite file). */
struct testdb {
	char url[2048];
	char dbname[64];             /* PostgreSQL only */
	char path[512];              /* SQLite only */
};

/* testdb_main_init's answer when main should go on and run its cases. */
#define TESTDB_RUN (-1)

/* Calls expr; on failure prints what the database said and fails. */
#define DBREG_PASS(conn, expr)                                                                  \
	do {                                                                                    \
		int rc_ = (expr);                                                               \
		if (rc_ != 0) {                                                                 \
			print_error("%s failed with %d: [%s] %s (position %zu)\n", #expr, rc_,  \
				    (conn)->err.sqlstate, (conn)->err.message, (conn)->err.position); \
			fail();                                                                 \
		}                                                                               \
	} while (0)

/* Chooses the database from argv[1]: "sqlite" (the default), "postgres"
 * (the server of DBREG_TEST_PG_URL), or a PostgreSQL URL or keyword string.
 * `suite` names the program in messages ("driver"); `tag` goes into the
 * names of the fresh databases ("t" gives dbreg_t_<pid>_<n>). Returns
 * TESTDB_RUN, or the exit code main returns at once (after printing TAP
 * for a skipped or failed PostgreSQL run, or usage). */
int testdb_main_init(int argc, char **argv, const char *suite, const char *tag);

/* Whether this run is against PostgreSQL. */
bool testdb_is_pg(void);

/* The PostgreSQL server's URL of this run (NULL on SQLite). */
const char *testdb_server_url(void);

/* A fresh, empty database for one test; fails the test if it cannot. */
struct testdb *testdb_fresh(void);

/* Drops the database (or removes the file with its -wal and -shm) and
 * frees db. NULL-safe. */
void testdb_drop(struct testdb *db);

/* cmocka fixtures around testdb_fresh and testdb_drop: *state is the
 * struct testdb of the case. */
int testdb_setup(void **state);
int testdb_teardown(void **state);

/* Connects to url through the driver its scheme names; fails the test,
 * with the driver's message, if it cannot. */
struct dbreg_conn *testdb_open(const char *url);

/* Runs sql on the server's own database (CREATE/DROP DATABASE, roles). */
void testdb_admin_exec(const char *sql);

/* The server URL as a libpq keyword string with keys[i] set to vals[i]
 * (a NULL value drops the key). */
void testdb_pg_url_with(char *out, size_t size, const char *const *keys, const char *const *vals, size_t n);

/* One option of the server URL, or dflt, copied into buf; returns buf. */
const char *testdb_pg_opt(const char *key, const char *dflt, char *buf, size_t size);

#endif
