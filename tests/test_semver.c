/* Versions and ranges against the shared vectors: every row of every TSV
 * file in the folder given as argv[1] is one cmocka test, plus a few
 * hand-written tests of formatting and error reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "semver.h"

#define ROW_MAX_FIELDS 6

struct row {
	const char *file;
	int line;
	int nfields;
	char *field[ROW_MAX_FIELDS];
	char *name;                    /* the test name, owned */
};

/* ---- helpers ----------------------------------------------------------- */

static struct dbreg_semver parse_ok(const char *text)
{
	struct dbreg_semver v = DBREG_SEMVER_INIT;
	const char *why = NULL;
	int rc = dbreg_semver_parse(&v, text, &why);
	if (rc != 0)
		print_error("version '%s' refused: %s\n", text, why ? why : "?");
	assert_int_equal(rc, 0);
	return v;
}

static struct dbreg_range *range_ok(const char *text)
{
	struct dbreg_range *r = NULL;
	const char *why = NULL;
	int rc = dbreg_range_parse(&r, text, &why);
	if (rc != 0)
		print_error("range '%s' refused: %s\n", text, why ? why : "?");
	assert_int_equal(rc, 0);
	assert_non_null(r);
	return r;
}

static const char *opt(const char *s) { return *s ? s : NULL; }

/* ---- one function per file --------------------------------------------- */

static void test_row_valid(void **state)
{
	const struct row *row = *state;
	struct dbreg_semver v = parse_ok(row->field[0]);
	char buf[300];

	assert_int_equal(row->nfields, 6);
	assert_int_equal(v.major, strtoull(row->field[1], NULL, 10));
	assert_int_equal(v.minor, strtoull(row->field[2], NULL, 10));
	assert_int_equal(v.patch, strtoull(row->field[3], NULL, 10));
	if (opt(row->field[4]))
		assert_string_equal(v.prerelease, row->field[4]);
	else
		assert_null(v.prerelease);
	if (opt(row->field[5]))
		assert_string_equal(v.build, row->field[5]);
	else
		assert_null(v.build);
	assert_int_equal(dbreg_semver_format(&v, buf, sizeof(buf)), (int)strlen(row->field[0]));
	assert_string_equal(buf, row->field[0]);
	dbreg_semver_dispose(&v);
}

static void test_row_invalid(void **state)
{
	const struct row *row = *state;
	struct dbreg_semver v = DBREG_SEMVER_INIT;
	const char *why = NULL;

	assert_int_equal(row->nfields, 2);
	assert_int_equal(dbreg_semver_parse(&v, row->field[0], &why), -1);
	assert_non_null(why);
	assert_null(v.prerelease);
	assert_null(v.build);
}

static void test_row_compare(void **state)
{
	const struct row *row = *state;
	struct dbreg_semver a, b;

	assert_int_equal(row->nfields, 3);
	a = parse_ok(row->field[0]);
	b = parse_ok(row->field[1]);
	assert_int_equal(dbreg_semver_compare(&a, &b), atoi(row->field[2]));
	assert_int_equal(dbreg_semver_compare(&b, &a), -atoi(row->field[2]));
	dbreg_semver_dispose(&a);
	dbreg_semver_dispose(&b);
}

static void check_satisfies(const char *range, const char *version, bool expected)
{
	struct dbreg_range *r = range_ok(range);
	struct dbreg_semver v = parse_ok(version);
	bool got = dbreg_range_satisfies(r, &v);
	if (got != expected) {
		char *canon = dbreg_range_format(r);
		print_error("'%s' (%s) %s '%s'\n", range, canon ? canon : "?",
		            got ? "accepts" : "refuses", version);
		free(canon);
	}
	assert_true(got == expected);
	dbreg_semver_dispose(&v);
	dbreg_range_free(r);
}

static void test_row_include(void **state)
{
	const struct row *row = *state;
	assert_int_equal(row->nfields, 2);
	check_satisfies(row->field[0], row->field[1], true);
}

static void test_row_exclude(void **state)
{
	const struct row *row = *state;
	assert_int_equal(row->nfields, 2);
	check_satisfies(row->field[0], row->field[1], false);
}

static void test_row_extension(void **state)
{
	const struct row *row = *state;
	assert_int_equal(row->nfields, 3);
	check_satisfies(row->field[0], row->field[1], strcmp(row->field[2], "1") == 0);
}

static void test_row_parse(void **state)
{
	const struct row *row = *state;
	struct dbreg_range *r = NULL;
	const char *why = NULL;

	assert_int_equal(row->nfields, 2);
	if (strcmp(row->field[1], "invalid") == 0) {
		assert_int_equal(dbreg_range_parse(&r, row->field[0], &why), -1);
		assert_null(r);
		assert_non_null(why);
		return;
	}
	r = range_ok(row->field[0]);
	char *canon = dbreg_range_format(r);
	assert_non_null(canon);
	assert_string_equal(canon, row->field[1]);
	/* The canonical form must itself parse to the same canonical form. */
	struct dbreg_range *again = range_ok(canon);
	char *canon2 = dbreg_range_format(again);
	assert_non_null(canon2);
	assert_string_equal(canon2, canon);
	free(canon2);
	dbreg_range_free(again);
	free(canon);
	dbreg_range_free(r);
}

/* ---- hand-written tests ------------------------------------------------ */

static void test_semver__format_truncates_like_snprintf(void **state)
{
	(void)state;
	struct dbreg_semver v = parse_ok("10.20.30-rc.1+build.5");
	char buf[8];
	assert_int_equal(dbreg_semver_format(&v, buf, sizeof(buf)), 21);
	assert_string_equal(buf, "10.20.3");
	assert_int_equal(dbreg_semver_format(&v, NULL, 0), 21);
	dbreg_semver_dispose(&v);
	dbreg_semver_dispose(&v);     /* disposing twice is harmless */
	dbreg_semver_dispose(NULL);
}

static void test_semver__reasons_name_the_part(void **state)
{
	static const struct { const char *text, *why; } cases[] = {
		{ "1.02.3", "leading zero in minor" },
		{ "01.2.3", "leading zero in major" },
		{ "1.2.03", "leading zero in patch" },
		{ "1.2", "missing patch" },
		{ "1", "missing minor" },
		{ "1.2.3-01", "leading zero in numeric prerelease identifier" },
		{ "1.2.3-a..b", "empty prerelease identifier" },
		{ "1.2.3+", "empty build identifier" },
		{ "0.9007199254740992.0", "minor above 2^53-1" },
		{ "v1.2.3", "a prefix before the major number" },
		{ " 1.2.3", "surrounding whitespace" },
		{ "", "empty version" },
		{ "1.2.3.4", "more than three version numbers" },
	};
	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct dbreg_semver v = DBREG_SEMVER_INIT;
		const char *why = NULL;
		assert_int_equal(dbreg_semver_parse(&v, cases[k].text, &why), -1);
		assert_string_equal(why, cases[k].why);
	}
	assert_int_equal(dbreg_semver_parse(NULL, "1.2.3", NULL), 0);
	assert_int_equal(dbreg_semver_parse(NULL, "x", NULL), -1);
}

static void test_semver__limits(void **state)
{
	(void)state;
	struct dbreg_semver v = parse_ok("9007199254740991.0.0");
	assert_true(v.major == 9007199254740991ULL);
	dbreg_semver_dispose(&v);
	/* Numeric prerelease identifiers of any size compare as numbers. */
	struct dbreg_semver a = parse_ok("1.0.0-99999999999999999999");
	struct dbreg_semver b = parse_ok("1.0.0-100000000000000000000");
	assert_int_equal(dbreg_semver_compare(&a, &b), -1);
	dbreg_semver_dispose(&a);
	dbreg_semver_dispose(&b);
}

static void test_range__canonical_forms(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "^1.2.3", ">=1.2.3 <2.0.0-0" },
		{ "", "*" },
		{ "   ", "*" },
		{ "1.2.3 ||", "*" },
		{ ">=0.0.0", "*" },
		{ ">= 1.0.0   <2", ">=1.0.0 <2.0.0-0" },
		{ "~> 1.2", ">=1.2.0 <1.3.0-0" },
		{ "=1.2.3", "1.2.3" },
		{ "v1.2.3", "1.2.3" },
		{ "1.2.3 1.2.3 =1.2.3", "1.2.3" },
		{ "<0.0.0-0 || <0.0.0-0", "<0.0.0-0" },
		{ "<0.0.0-0 || 1.2.3", "1.2.3" },
		{ "1.x - 2.x", ">=1.0.0 <3.0.0-0" },
		{ "x - x", "*" },
		{ "1.2.3-pre - 2.0.0-rc.1", ">=1.2.3-pre <=2.0.0-rc.1" },
		{ "<=1.2", "<1.3.0-0" },
		{ "~1.2.3-beta.2", ">=1.2.3-beta.2 <1.3.0-0" },
		{ "^0.0", "<0.1.0-0" },
		{ "^0.0.0", "<0.0.1-0" },
		{ "1.0.0||2.0.0", "1.0.0||2.0.0" },
		{ "\t1.0.0\n", "1.0.0" },
		/* node-semver's own readings of odd spacing, kept on purpose. */
		{ "~= 2", ">=2.0.0 <3.0.0-0" },
		{ "< =1", "<2.0.0-0" },   /* read as "<=1" */
		{ "1.2.3 +build", "1.2.3" },
		{ ">=v0.0.0", ">=0.0.0" },
	};
	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct dbreg_range *r = range_ok(cases[k].in);
		char *s = dbreg_range_format(r);
		assert_non_null(s);
		if (strcmp(s, cases[k].out) != 0)
			print_error("'%s' -> '%s', want '%s'\n", cases[k].in, s, cases[k].out);
		assert_string_equal(s, cases[k].out);
		free(s);
		dbreg_range_free(r);
	}
	dbreg_range_free(NULL);
}

static void test_range__refusals(void **state)
{
	static const char *const bad[] = {
		">", "^", "~", "1.2.3 -", "- 1.2.3", "1 - 2 - 3", ">=1.2.3 - 2", "1.2.3 | 2",
		"^1.2.3 || >", "01.2.3", "1.2-beta", "1.2.3-", "v=1.2.3", "=1.2.3 - 2", "1.2.3a",
		"^9007199254740991.0.0", ">1.9007199254740991", "9007199254740992", ">=1.2.3 <",
		"1.x.2", "*.1", "~1.2.3-01", "1.2.3+", "1.2.3+a..b", "abc", "1.2.3 xyz",
		"< = 3.x", "1 +b - 2", ">=v 1.2.3",
	};
	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct dbreg_range *r = (struct dbreg_range *)&r;
		const char *why = NULL;
		int rc = dbreg_range_parse(&r, bad[k], &why);
		if (rc != -1)
			print_error("range '%s' accepted\n", bad[k]);
		assert_int_equal(rc, -1);
		assert_null(r);
		assert_non_null(why);
	}
}

static void test_range__prerelease_rule(void **state)
{
	(void)state;
	check_satisfies("*", "1.0.0-rc.1", false);
	check_satisfies(">=1.0.0-rc.1", "1.0.0-rc.2", true);
	check_satisfies(">=1.0.0-rc.1", "1.0.1-rc.2", false);
	check_satisfies(">=1.0.0-rc.1 || >=1.0.1-0", "1.0.1-rc.2", true);
	check_satisfies("<0.0.0-0", "0.0.0", false);
}

/* ---- loading the vectors ----------------------------------------------- */

struct file_kind {
	const char *file;
	CMUnitTestFunction fn;
	int count;
};

static struct file_kind kinds[] = {
	{ "valid.tsv", test_row_valid, 0 },
	{ "invalid.tsv", test_row_invalid, 0 },
	{ "compare.tsv", test_row_compare, 0 },
	{ "range-include.tsv", test_row_include, 0 },
	{ "range-exclude.tsv", test_row_exclude, 0 },
	{ "range-extensions.tsv", test_row_extension, 0 },
	{ "range-parse.tsv", test_row_parse, 0 },
};

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t len = 0, cap = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *grown = realloc(data, cap);
			if (!grown) {
				free(data);
				fclose(f);
				return NULL;
			}
			data = grown;
		}
		size_t got = fread(data + len, 1, 4096, f);
		len += got;
		if (got < 4096)
			break;
	}
	fclose(f);
	data[len] = '\0';
	return data;
}

/* A readable, single-line test name: "file:line field0". */
static char *row_name(const char *file, int line, const char *first)
{
	char shown[61];
	size_t k = 0;
	for (; first[k] && k < sizeof(shown) - 1; k++) {
		unsigned char c = (unsigned char)first[k];
		shown[k] = (c < 0x20 || c == '#') ? '?' : (char)c;
	}
	shown[k] = '\0';
	size_t n = strlen(file) + strlen(shown) + 32;
	char *name = malloc(n);
	if (name)
		snprintf(name, n, "%s:%d [%s]%s", file, line, shown, first[k] ? "..." : "");
	return name;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "../shared/semver-vectors";
	static const struct CMUnitTest hand[] = {
		cmocka_unit_test(test_semver__format_truncates_like_snprintf),
		cmocka_unit_test(test_semver__reasons_name_the_part),
		cmocka_unit_test(test_semver__limits),
		cmocka_unit_test(test_range__canonical_forms),
		cmocka_unit_test(test_range__refusals),
		cmocka_unit_test(test_range__prerelease_rule),
	};
	size_t nhand = sizeof(hand) / sizeof(hand[0]);
	struct CMUnitTest *tests = NULL;
	struct row *rows = NULL;
	char *texts[sizeof(kinds) / sizeof(kinds[0])] = { 0 };
	size_t ntests = 0, nrows = 0, cap = 0;
	int failed;

	for (size_t f = 0; f < sizeof(kinds) / sizeof(kinds[0]); f++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, kinds[f].file);
		texts[f] = read_all(path);
		if (!texts[f]) {
			fprintf(stderr, "test_semver: cannot read %s (the shared conformance suites belong beside the "
				"source tree, ../shared, or: meson setup BUILD -Dshared_dir=DIR)\n", path);
			return 1;
		}
		char *p = texts[f];
		int line = 0;
		while (*p) {
			char *end = strchr(p, '\n');
			if (end)
				*end = '\0';
			line++;
			if (nrows == cap) {
				cap = cap ? cap * 2 : 256;
				struct row *grown = realloc(rows, cap * sizeof(*grown));
				if (!grown)
					return 1;
				rows = grown;
			}
			struct row *row = &rows[nrows++];
			memset(row, 0, sizeof(*row));
			row->file = kinds[f].file;
			row->line = line;
			char *field = p;
			for (;;) {
				char *tab = strchr(field, '\t');
				if (row->nfields < ROW_MAX_FIELDS)
					row->field[row->nfields] = field;
				row->nfields++;
				if (!tab)
					break;
				*tab = '\0';
				field = tab + 1;
			}
			for (int k = row->nfields; k < ROW_MAX_FIELDS; k++)
				row->field[k] = (char *)"";
			row->name = row_name(row->file, line, row->field[0]);
			kinds[f].count++;
			if (!end)
				break;
			p = end + 1;
		}
	}

	tests = calloc(nrows + nhand, sizeof(*tests));
	if (!tests)
		return 1;
	size_t r = 0;
	for (size_t f = 0; f < sizeof(kinds) / sizeof(kinds[0]); f++) {
		for (int k = 0; k < kinds[f].count; k++, r++) {
			struct CMUnitTest t = cmocka_unit_test_prestate(test_row_valid, &rows[r]);
			t.name = rows[r].name ? rows[r].name : kinds[f].file;
			t.test_func = kinds[f].fn;
			tests[ntests++] = t;
		}
		fprintf(stderr, "# %s: %d rows\n", kinds[f].file, kinds[f].count);
	}
	for (size_t k = 0; k < nhand; k++)
		tests[ntests++] = hand[k];

	failed = _cmocka_run_group_tests("semver", tests, ntests, NULL, NULL);

	for (size_t k = 0; k < nrows; k++)
		free(rows[k].name);
	free(rows);
	free(tests);
	for (size_t f = 0; f < sizeof(kinds) / sizeof(kinds[0]); f++)
		free(texts[f]);
	return failed ? 1 : 0;
}
