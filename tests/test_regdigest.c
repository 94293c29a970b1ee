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
 * packages, as the header of regdigest.c spells them (Python's hashlib over
 * the same bytes; 0 is a NUL):
 *   k       = sha256("@ydtb/core" 0 "001_init" 0 "1.0.0" 0 "sha256:aa" 0 "@t/émile" 0 ... 0)
 *   history = sha256("2020-01-02T03:04:05.006Z" 0 "12" 0 0 "-5" 0 k)
 *   plan    = sha256("@t/émile" 0 "0.1.0" 0 "@ydtb/core" 0 "1.0.0" 0 k) */
static void test_regdigest__streamed_rows_give_the_defined_bytes(void **state)
{
	(void)state;
	struct dbreg_regdigest *d = NULL;
	assert_int_equal(dbreg_regdigest_new(&d), 0);
	dbreg_regdigest_row(d, "@ydtb/core", "001_init", "1.0.0", "sha256:aa", "2020-01-02T03:04:05.006Z", 12);
	dbreg_regdigest_row(d, "@t/\xc3\xa9mile", "001_cr\xc3\xa9\x65", "0.1.0", "sha256:bb", NULL, -5);
	dbreg_regdigest_package(d, "@t/\xc3\xa9mile", "0.1.0");
	dbreg_regdigest_package(d, "@ydtb/core", "1.0.0");
	assert_finished(d, "sha256:763142e6d560b2b0f95a813b0f3eab1e92b4b13cbf1c7f5f9fd2855fd5427f34",
			"sha256:f6cf109fae78acb21b4744d2e74ab72e114fc950a69db2bc649254050f5376f9", 2, 2);
}

/* Nothing installed: both are sha256(sha256("")). */
static void test_regdigest__an_empty_registry(void **state)
{
	(void)state;
	struct dbreg_regdigest *d = NULL;
	assert_int_equal(dbreg_regdigest_new(&d), 0);
	assert_finished(d, "sha256:5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456",
			"sha256:5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456", 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regdigest__streamed_rows_give_the_defined_bytes),
		cmocka_unit_test(test_regdigest__an_empty_registry),
	};
	return cmocka_run_group_tests_name("regdigest", tests, NULL, NULL);
}
