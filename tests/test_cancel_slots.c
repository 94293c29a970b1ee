/* The cancel slots of cancel.c with more connections than one block
 * holds (a fleet with --jobs above 255): every one is cancelled, each by a
 * child process of its own, and once the cancels went out no connection
 * registers, until dbreg_cancel_reset. A driver whose cancel writes one
 * byte to a pipe stands in for PostgreSQL (the harness allows 200
 * connections); the reset is shown on a real SQLite file. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cancel.h"
#include "dbreg.h"
#include "util.h"

#define SLOTS_CONNS 300

static int slots_pipe[2];

static int slots_cancel(struct dbreg_conn *conn)
{
	(void)conn;
	return write(slots_pipe[1], "c", 1) == 1 ? 0 : -1;
}

static const struct dbreg_driver slots_driver = {.version = 8, .name = "slots", .cancel = slots_cancel};

static void test_cancel__every_connection_past_256_is_cancelled_and_none_opens_after(void **state)
{
	(void)state;
	assert_int_equal(pipe(slots_pipe), 0);
	struct dbreg_conn *conns = calloc(SLOTS_CONNS, sizeof *conns);
	assert_non_null(conns);
	for (size_t i = 0; i < SLOTS_CONNS; i++) {
		conns[i].driver = &slots_driver;
		assert_int_equal(dbreg_cancel_register(&conns[i]), 0);
	}
	int open = 0;
	assert_int_equal(dbreg_cancel_all(&open), 0);
	assert_int_equal(open, SLOTS_CONNS);
	close(slots_pipe[1]);
	char buf[512];
	size_t got = 0;
	for (ssize_t r; (r = read(slots_pipe[0], buf, sizeof buf)) > 0;)
		got += (size_t)r;
	/* Each twice: the second round, CANCEL_AGAIN_MS after the first. */
	assert_int_equal(got, 2 * SLOTS_CONNS);
	/* The run is ending: a connection opened now is refused. */
	struct dbreg_conn late = {.driver = &slots_driver};
	assert_true(dbreg_cancel_ending());
	assert_int_equal(dbreg_cancel_register(&late), -1);
	for (size_t i = 0; i < SLOTS_CONNS; i++)
		dbreg_cancel_forget(&conns[i]);
	assert_int_equal(dbreg_cancel_all(&open), 0);
	assert_int_equal(open, 0);
	close(slots_pipe[0]);
	free(conns);
}

/* A cancel that takes 0.3 s (in cancel_all's child): a slow server. */
static int slots_slow_cancel(struct dbreg_conn *conn)
{
	(void)conn;
	usleep(300 * 1000);
	return 0;
}

static const struct dbreg_driver slots_slow_driver = {.version = 8, .name = "slow", .cancel = slots_slow_cancel};

static void *slots_cancel_main(void *arg)
{
	(void)arg;
	dbreg_cancel_all(NULL);
	return NULL;
}

static void test_cancel__reset_opens_connections_again_after_cancel_all(void **state)
{
	(void)state;
	char dir[] = "/tmp/dbreg-cancel-reset-XXXXXX", url[64], err[512];
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof url, "sqlite:%s/t.db", dir);
	struct dbreg_conn *c = NULL;
	assert_int_equal(dbreg_cancel_reset(), 0);
	assert_int_equal(dbreg_target_connect(&c, url, err, sizeof err), 0);
	dbreg_target_close(c);

	/* An embedder's interrupted run: from now on nothing connects. */
	dbreg_cancel_all(NULL);
	c = NULL;
	assert_int_equal(dbreg_target_connect(&c, url, err, sizeof err), DBREG_ECONNECT);
	assert_null(c);
	assert_non_null(strstr(err, "the run is ending"));

	/* Reset: the next run connects, and its connection counts for the
	 * next interrupt's cancels. */
	assert_int_equal(dbreg_cancel_reset(), 0);
	assert_false(dbreg_cancel_ending());
	assert_int_equal(dbreg_target_connect(&c, url, err, sizeof err), 0);
	int open = 0;
	dbreg_cancel_all(&open);
	assert_int_equal(open, 1);
	dbreg_target_close(c);

	/* A reset while a cancel_all still waits for its servers is refused. */
	assert_int_equal(dbreg_cancel_reset(), 0);
	struct dbreg_conn slow = {.driver = &slots_slow_driver};
	assert_int_equal(dbreg_cancel_register(&slow), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, slots_cancel_main, NULL), 0);
	while (!dbreg_cancel_ending())
		usleep(1000);
	usleep(100 * 1000);
	assert_int_equal(dbreg_cancel_reset(), DBREG_EUSAGE);
	assert_true(dbreg_cancel_ending());
	pthread_join(t, NULL);
	dbreg_cancel_forget(&slow);
	assert_int_equal(dbreg_cancel_reset(), 0);

	snprintf(url, sizeof url, "%s/t.db", dir);
	unlink(url);
	rmdir(dir);
}

/* A reset is refused from a cancel_all's first step to its return, also
 * while a second one waits for the first to end (review-11 #5): before,
 * the second said "ending" first and took the busy flag only after, and a
 * reset in between (the first one had just returned) reopened the run
 * under the second's cancels. Each cancel writes a byte (in its child)
 * and takes 0.3 s: the main thread tries resets, as fast as it can, until
 * the second call's first cancel has begun. */
static int reset_pipe[2];
static atomic_int reset_second_begun;

static int reset_cancel(struct dbreg_conn *conn)
{
	(void)conn;
	int ok = write(reset_pipe[1], "c", 1) == 1;
	usleep(300 * 1000);
	return ok ? 0 : -1;
}

static const struct dbreg_driver reset_driver = {.version = 8, .name = "reset", .cancel = reset_cancel};

static void *reset_second(void *arg)
{
	(void)arg;
	atomic_store(&reset_second_begun, 1);
	dbreg_cancel_all(NULL);
	return NULL;
}

static void test_cancel__no_reset_between_two_cancel_alls(void **state)
{
	(void)state;
	assert_int_equal(dbreg_cancel_reset(), 0);
	assert_int_equal(pipe(reset_pipe), 0);
	struct dbreg_conn conn = {.driver = &reset_driver};
	assert_int_equal(dbreg_cancel_register(&conn), 0);
	pthread_t first, second;
	char b;
	assert_int_equal(pthread_create(&first, NULL, slots_cancel_main, NULL), 0);
	assert_int_equal(read(reset_pipe[0], &b, 1), 1);   /* the first call's cancel is out */
	assert_int_equal(pthread_create(&second, NULL, reset_second, NULL), 0);
	while (!atomic_load(&reset_second_begun))
		usleep(1000);
	/* Two bytes of the first call (its cancel and the one 100 ms after),
	 * then the second's: until then one call or the other is under way. */
	int bytes = 1, won = 0, tries = 0;
	assert_int_equal(fcntl(reset_pipe[0], F_SETFL, O_NONBLOCK), 0);
	while (bytes < 3) {
		tries++;
		won += dbreg_cancel_reset() == 0;
		bytes += read(reset_pipe[0], &b, 1) == 1;
	}
	pthread_join(first, NULL);
	pthread_join(second, NULL);
	print_message("# %d of %d resets won while a cancel_all was under way\n", won, tries);
	assert_int_equal(won, 0);
	assert_true(dbreg_cancel_ending());
	dbreg_cancel_forget(&conn);
	assert_int_equal(dbreg_cancel_reset(), 0);
	close(reset_pipe[0]);
	close(reset_pipe[1]);
}

/* PostgreSQL drops a cancel that reaches a backend between two statements
 * (a client's next one may be on its way). A worker that checked the flag
 * just before the interrupt sends its statement, which the server reads
 * only after the first cancel landed: modelled by a "server" thread that
 * reads the cancels from a pipe and stops the statement only when it has
 * arrived, which it does only after the first cancel was dropped. */
static int race_pipe[2];
static atomic_int race_read, race_arrived, race_stopped;

static int race_cancel(struct dbreg_conn *conn)
{
	(void)conn;
	return write(race_pipe[1], "c", 1) == 1 ? 0 : -1;
}

static const struct dbreg_driver race_driver = {.version = 8, .name = "race", .cancel = race_cancel};

static void *race_server(void *arg)
{
	(void)arg;
	char b;
	while (read(race_pipe[0], &b, 1) == 1) {
		if (atomic_load(&race_arrived))
			atomic_store(&race_stopped, 1);
		atomic_fetch_add(&race_read, 1);
		/* The statement arrives right after the first cancel. */
		while (!atomic_load(&race_arrived))
			usleep(1000);
	}
	return NULL;
}

static void *race_worker(void *arg)
{
	(void)arg;
	while (atomic_load(&race_read) == 0)
		usleep(1000);
	atomic_store(&race_arrived, 1);
	return NULL;
}

static void test_cancel__a_statement_that_arrives_after_the_first_cancel_is_cancelled_too(void **state)
{
	(void)state;
	assert_int_equal(dbreg_cancel_reset(), 0);
	assert_int_equal(pipe(race_pipe), 0);
	struct dbreg_conn conn = {.driver = &race_driver};
	assert_int_equal(dbreg_cancel_register(&conn), 0);
	/* The worker passed its check of the flag: it sends its statement. */
	assert_false(dbreg_cancel_ending());
	pthread_t server, worker;
	assert_int_equal(pthread_create(&server, NULL, race_server, NULL), 0);
	assert_int_equal(pthread_create(&worker, NULL, race_worker, NULL), 0);
	double t0 = dbreg_clock_ms();
	assert_int_equal(dbreg_cancel_all(NULL), 0);
	double took = dbreg_clock_ms() - t0;
	pthread_join(worker, NULL);
	close(race_pipe[1]);
	pthread_join(server, NULL);
	close(race_pipe[0]);
	dbreg_cancel_forget(&conn);
	print_message("# cancel_all: %d cancels in %.0f ms\n", atomic_load(&race_read), took);
	assert_int_equal(atomic_load(&race_stopped), 1);
	assert_true(took < DBREG_CANCEL_WAIT_MS);
	assert_int_equal(dbreg_cancel_reset(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cancel__every_connection_past_256_is_cancelled_and_none_opens_after),
		cmocka_unit_test(test_cancel__reset_opens_connections_again_after_cancel_all),
		cmocka_unit_test(test_cancel__no_reset_between_two_cancel_alls),
		cmocka_unit_test(test_cancel__a_statement_that_arrives_after_the_first_cancel_is_cancelled_too),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
