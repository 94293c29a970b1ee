/* The registry digests as a driver outside the core computes them: through
 * dbreg/driver.h alone (dbreg_regdigest_new ... _finish), in the bytes
 * core/src/regdigest.c defines, held to digests worked out by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dbreg.h>
#include <dbreg/driver.h>

#include <string.h>

/* Finishes d and holds what it gives to the digests and counts given. */
static void assert_finished(struct dbreg_regdigest *d, const char *history, const char *plan, size_t rows,
			    size_t packages)
{
	struct dbreg_registry_digest out;
	assert_int_equal(dbreg_regdigest_finish(d, &out), 0);
	assert_string_equal(out.history, history);
	assert_string_equal(out.plan, plan);
	assert_int_equal(out.n_rows, rows);
	assert_int_equal(out.n_packages, packages);
}

/* Two rows (UTF-8 texts, a NULL applied_at, a negative duration) and two
 * packages: sha256 of "10:@ydtb/core8:001_init5:1.0.09:sha256:aa24:2020-...12\n..."
 * as the header of regdigest.c spells it. */
static void test_regdigest__streamed_rows_give_the_defined_bytes(void **state)
{
	(void)state;
	struct dbreg_regdigest *d = NULL;
	assert_int_equal(dbreg_regdigest_new(&d), 0);
	dbreg_regdigest_row(d, "@ydtb/core", "001_init", "1.0.0", "sha256:aa", "2020-01-02T03:04:05.006Z", 12);
	dbreg_regdigest_row(d, "@t/\xc3\xa9mile", "001_cr\xc3\xa9\x65", "0.1.0", "sha256:bb", NULL, -5);
	dbreg_regdigest_package(d, "@t/\xc3\xa9mile", "0.1.0");
	dbreg_regdigest_package(d, "@ydtb/core", "1.0.0");
	assert_finished(d, "sha256:19d256381f8ec6c1832610411e9c760336a13882ee60bb0629c3148aec1534b6",
			"sha256:3de008dedfa8f520b2780936a011814459d8d556ba76e73d8aa30e752cec698b", 2, 2);
}

/* Nothing installed: the history digests no bytes, the plan "--\n". */
static void test_regdigest__an_empty_registry(void **state)
{
	(void)state;
	struct dbreg_regdigest *d = NULL;
	assert_int_equal(dbreg_regdigest_new(&d), 0);
	assert_finished(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			"sha256:342aaaeada71ead4b0fcf9dd8da01395f01b72c9107d777e97df847753e50276", 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regdigest__streamed_rows_give_the_defined_bytes),
		cmocka_unit_test(test_regdigest__an_empty_registry),
	};
	return cmocka_run_group_tests_name("regdigest", tests, NULL, NULL);
}
