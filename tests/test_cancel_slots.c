/* The cancel slots of cancel.c with more connections than one block
 * holds (a fleet with --jobs above 255): every one is cancelled, each by a
 * child process of its own, and once the cancels went out no connection
 * registers. A driver whose cancel writes one byte to a pipe stands in for
 * PostgreSQL (the harness allows 200 connections). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "cancel.h"
#include "dbreg.h"

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
	assert_int_equal(got, SLOTS_CONNS);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cancel__every_connection_past_256_is_cancelled_and_none_opens_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
