/* The SQL corpus: realistic PostgreSQL migrations in tests/sql-corpus, each
 * run through the static checker (internal API: dbreg_sqlcheck_text). One
 * cmocka test per file: it parses (no DBR044), does not crash, and yields
 * the number of DBR043 findings that expected.tsv records for it.
 * Usage: test_sqlcorpus [CORPUS_DIR] (default: $DBREG_SQL_CORPUS, else the
 * sql-corpus folder next to this source file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dbreg.h"
#include "sqlcheck.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct corpus_row {
	char *file;                    /* as listed in expected.tsv */
	char *path;
	long expected;
};

static void corpus_check_file(void **state)
{
	const struct corpus_row *row = *state;
	char *text = NULL;
	size_t len = 0;
	if (dbreg_read_file(row->path, &text, &len) != 0)
		fail_msg("cannot read %s", row->path);
	struct dbreg_diag_list diags = DBREG_DIAG_LIST_INIT;
	assert_int_equal(dbreg_sqlcheck_text(&diags, row->file, text, true), 0);
	long n043 = 0;
	for (size_t i = 0; i < diags.len; i++) {
		const struct dbreg_diag *d = &diags.items[i];
		if (strcmp(d->code, "DBR044") == 0)
			fail_msg("%s:%u:%u: unexpected DBR044: %s", row->file, d->line, d->column, d->message);
		if (strcmp(d->code, "DBR043") == 0) {
			n043++;
			/* Every finding is placed inside the file and says how to fix it. */
			assert_true(d->line >= 1 && d->column >= 1);
			assert_non_null(d->hint);
		}
	}
	if (n043 != row->expected) {
		for (size_t i = 0; i < diags.len; i++)
			dbreg_diag_print(stderr, &diags.items[i], 0);
		fail_msg("%s: %ld DBR043 findings, expected %ld", row->file, n043, row->expected);
	}
	/* The down direction must not crash either, and gives no DBR103. */
	struct dbreg_diag_list down = DBREG_DIAG_LIST_INIT;
	assert_int_equal(dbreg_sqlcheck_text(&down, row->file, text, false), 0);
	for (size_t i = 0; i < down.len; i++)
		assert_string_not_equal(down.items[i].code, "DBR103");
	dbreg_diag_list_dispose(&down);
	dbreg_diag_list_dispose(&diags);
	free(text);
}

static const char *corpus_dir;
static size_t corpus_rows;

/* Every .sql file of the folder has a row in expected.tsv. */
static void corpus_every_file_listed(void **state)
{
	(void)state;
	DIR *d = opendir(corpus_dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l > 4 && strcmp(e->d_name + l - 4, ".sql") == 0)
			n++;
	}
	closedir(d);
	assert_int_equal(n, corpus_rows);
	assert_true(n >= 50);
}

static char *corpus_default_dir(void)
{
	const char *env = getenv("DBREG_SQL_CORPUS");
	if (env && *env)
		return dbreg_strdup(env);
	const char *src = __FILE__;
	const char *slash = strrchr(src, '/');
	if (!slash)
		return dbreg_strdup("sql-corpus");
	return dbreg_printf("%.*s/sql-corpus", (int)(slash - src), src);
}

int main(int argc, char **argv)
{
	char *dir = argc > 1 ? dbreg_strdup(argv[1]) : corpus_default_dir();
	char *tsv_path = dir ? dbreg_printf("%s/expected.tsv", dir) : NULL;
	FILE *fp = tsv_path ? fopen(tsv_path, "r") : NULL;
	if (!fp) {
		fprintf(stderr, "test_sqlcorpus: cannot open %s\n", tsv_path ? tsv_path : "expected.tsv");
		free(dir);
		free(tsv_path);
		return 1;
	}
	corpus_dir = dir;
	struct corpus_row *rows = NULL;
	size_t n = 0, cap = 0;
	char line[1024];
	while (fgets(line, sizeof(line), fp)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct corpus_row *r = realloc(rows, cap * sizeof(*r));
			if (!r)
				return 1;
			rows = r;
		}
		rows[n].file = dbreg_strdup(line);
		rows[n].path = dbreg_printf("%s/%s", dir, line);
		if (!rows[n].file || !rows[n].path)
			return 1;
		rows[n].expected = strtol(tab + 1, NULL, 10);
		n++;
	}
	fclose(fp);
	corpus_rows = n;
	struct CMUnitTest *tests = calloc(n + 1, sizeof(*tests));
	if (!tests)
		return 1;
	for (size_t i = 0; i < n; i++) {
		tests[i].name = rows[i].file;
		tests[i].test_func = corpus_check_file;
		tests[i].initial_state = &rows[i];
	}
	tests[n].name = "test_sqlcorpus__every_file_listed";
	tests[n].test_func = corpus_every_file_listed;
	int failed = _cmocka_run_group_tests("sqlcorpus", tests, n + 1, NULL, NULL);
	free(tests);
	for (size_t i = 0; i < n; i++) {
		free(rows[i].file);
		free(rows[i].path);
	}
	free(rows);
	free(tsv_path);
	free(dir);
	return failed;
}
