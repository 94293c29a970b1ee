/* The TOML reader's positions: where keys and values are, key order,
 * string offsets mapped back to the source, and where errors are reported.
 * Columns count bytes from 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
#include "toml.h"

/* ---- helpers ----------------------------------------------------------- */

/* Parses `text` from an exact-size heap copy (no NUL after it, so ASan sees
 * any read past the end); fails the test with the message on error. */
static struct dbreg_toml_doc *parse_ok(const char *text)
{
	size_t n = strlen(text);
	char *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, text, n);
	struct dbreg_toml_doc *doc = NULL;
	struct dbreg_toml_error err;
	int rc = dbreg_toml_parse(&doc, copy, n, &err);
	free(copy);
	if (rc != 0)
		print_error("refused: %u:%u: %s\n", err.line, err.column, err.message);
	assert_int_equal(rc, 0);
	assert_non_null(doc);
	return doc;
}

/* Asserts `text` is refused at line:col with a message containing `what`. */
static void parse_fails_at(const char *text, size_t n, unsigned line, unsigned col, const char *what)
{
	char *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, text, n);
	struct dbreg_toml_doc *doc = (struct dbreg_toml_doc *)1;
	struct dbreg_toml_error err;
	int rc = dbreg_toml_parse(&doc, copy, n, &err);
	free(copy);
	assert_int_equal(rc, -1);
	assert_null(doc);
	if (err.line != line || err.column != col || !strstr(err.message, what))
		print_error("got %u:%u: %s\n", err.line, err.column, err.message);
	assert_int_equal(err.line, line);
	assert_int_equal(err.column, col);
	assert_non_null(strstr(err.message, what));
}

static const struct dbreg_toml_node *get(const struct dbreg_toml_node *t, const char *key)
{
	const struct dbreg_toml_node *n = dbreg_toml_get(t, key);
	if (!n)
		print_error("no key '%s'\n", key);
	assert_non_null(n);
	return n;
}

static void assert_pos(const struct dbreg_toml_doc *doc, const struct dbreg_toml_node *s,
		       size_t off, unsigned line, unsigned col)
{
	unsigned l = 0, c = 0;
	assert_int_equal(dbreg_toml_string_pos(doc, s, off, &l, &c), 0);
	if (l != line || c != col)
		print_error("offset %zu of \"%s\": got %u:%u, want %u:%u\n", off, s->u.str.ptr, l, c, line, col);
	assert_int_equal(l, line);
	assert_int_equal(c, col);
}

/* ---- positions and order ----------------------------------------------- */

static const char manifest[] =
	"# a package\n"                          /* 1 */
	"name = \"shop\"\n"                      /* 2 */
	"version   =  '1.2.0'\n"                 /* 3 */
	"\n"                                     /* 4 */
	"[tables.ydtb_orders]\n"                 /* 5 */
	"  columns = [ 1,\n"                     /* 6 */
	"     2 ]\n"                             /* 7 */
	"  opts.fk.workspace_id = true\n"        /* 8 */
	"  inline = { a = 1, \"b c\" = 2.5 }\n"  /* 9 */
	"[[migrations]]\n"                       /* 10 */
	"id = 1\n"                               /* 11 */
	"[[migrations]]\n"                       /* 12 */
	"id = 2\n"                               /* 13 */
	"at = 1979-05-27 07:32:00Z\n";           /* 14 */

static void test_toml__key_and_value_positions(void **state)
{
	(void)state;
	struct dbreg_toml_doc *doc = parse_ok(manifest);
	const struct dbreg_toml_node *root = doc->root;
	assert_int_equal(root->type, DBREG_TOML_TABLE);
	assert_int_equal(root->u.table.len, 4);
	const struct dbreg_toml_kv *kv = root->u.table.items;
	assert_string_equal(kv[0].key, "name");
	assert_int_equal(kv[0].line, 2);
	assert_int_equal(kv[0].column, 1);
	assert_int_equal(kv[0].value->line, 2);
	assert_int_equal(kv[0].value->column, 8);
	assert_string_equal(kv[1].key, "version");
	assert_int_equal(kv[1].value->line, 3);
	assert_int_equal(kv[1].value->column, 14);
	assert_string_equal(kv[1].value->u.str.ptr, "1.2.0");

	const struct dbreg_toml_node *tables = get(root, "tables");
	assert_int_equal(tables->line, 5);   /* implicit: where its name is written */
	assert_int_equal(tables->column, 2);
	const struct dbreg_toml_node *orders = get(tables, "ydtb_orders");
	assert_int_equal(orders->line, 5);   /* a [header] table: the header */
	assert_int_equal(orders->column, 1);
	assert_int_equal(tables->u.table.items[0].column, 9);

	const struct dbreg_toml_node *cols = get(orders, "columns");
	assert_int_equal(cols->type, DBREG_TOML_ARRAY);
	assert_int_equal(cols->line, 6);
	assert_int_equal(cols->column, 13);
	assert_int_equal(cols->u.array.items[1]->line, 7);
	assert_int_equal(cols->u.array.items[1]->column, 6);
	assert_int_equal(cols->u.array.items[1]->u.integer, 2);

	/* A dotted key: each segment where it is written, the value after '='. */
	const struct dbreg_toml_node *opts = get(orders, "opts");
	assert_int_equal(opts->column, 3);
	const struct dbreg_toml_node *fk = get(opts, "fk");
	assert_int_equal(fk->column, 8);
	assert_int_equal(fk->u.table.items[0].line, 8);
	assert_int_equal(fk->u.table.items[0].column, 11);
	const struct dbreg_toml_node *ws = get(fk, "workspace_id");
	assert_int_equal(ws->type, DBREG_TOML_BOOL);
	assert_int_equal(ws->column, 26);

	const struct dbreg_toml_node *in = get(orders, "inline");
	assert_int_equal(in->column, 12);
	assert_string_equal(in->u.table.items[1].key, "b c");
	assert_int_equal(in->u.table.items[1].column, 21);
	assert_int_equal(get(in, "b c")->column, 29);

	const struct dbreg_toml_node *migs = get(root, "migrations");
	assert_int_equal(migs->type, DBREG_TOML_ARRAY);
	assert_int_equal(migs->u.array.len, 2);
	assert_int_equal(migs->line, 10);
	assert_int_equal(migs->u.array.items[1]->line, 12);
	const struct dbreg_toml_node *at = get(migs->u.array.items[1], "at");
	assert_int_equal(at->type, DBREG_TOML_DATETIME);
	assert_string_equal(at->u.datetime, "1979-05-27T07:32:00Z");
	assert_int_equal(at->line, 14);
	assert_int_equal(at->column, 6);
	dbreg_toml_doc_free(doc);
}

static void test_toml__keys_keep_file_order(void **state)
{
	(void)state;
	struct dbreg_toml_doc *doc = parse_ok("zeta = 1\nalpha = 2\n[mid]\nb = 1\na = 2\n[first]\n");
	const struct dbreg_toml_kv *kv = doc->root->u.table.items;
	assert_int_equal(doc->root->u.table.len, 4);
	assert_string_equal(kv[0].key, "zeta");
	assert_string_equal(kv[1].key, "alpha");
	assert_string_equal(kv[2].key, "mid");
	assert_string_equal(kv[3].key, "first");
	assert_string_equal(kv[2].value->u.table.items[0].key, "b");
	assert_string_equal(kv[2].value->u.table.items[1].key, "a");
	dbreg_toml_doc_free(doc);
}

/* Past a few keys a table is looked up through a hash index: order, lookup
 * and duplicate detection must not change. */
static void test_toml__large_table(void **state)
{
	(void)state;
	size_t cap = 40000, n = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(text + n, cap - n, "k%d = %d\n", (i * 7919) % 2000, i);
	struct dbreg_toml_doc *doc = parse_ok(text);
	assert_int_equal(doc->root->u.table.len, 2000);
	assert_string_equal(doc->root->u.table.items[1].key, "k1919");
	assert_int_equal(get(doc->root, "k1919")->u.integer, 1);
	assert_int_equal(get(doc->root, "k1919")->line, 2);
	dbreg_toml_doc_free(doc);
	n += (size_t)snprintf(text + n, cap - n, "k1234 = 0\n");
	parse_fails_at(text, n, 2001, 1, "duplicate key 'k1234'");
	free(text);
}

static void test_toml__values(void **state)
{
	(void)state;
	struct dbreg_toml_doc *doc = parse_ok(
		"a = 0xFF_ff\nb = -9223372036854775808\nc = 9223372036854775807\nd = 0o17\ne = 0b101\n"
		"f = 6.5e-1\ng = -inf\nh = 1979-05-27\ni = 07:32:00.5\nj = 1979-05-27t07:32:00\n"
		"k = \"\\u00e9\\U0001F600\"\nl = \"\"\"\r\nx\r\ny\"\"\"\n");
	const struct dbreg_toml_node *r = doc->root;
	assert_int_equal(get(r, "a")->u.integer, 0xFFFF);
	assert_true(get(r, "b")->u.integer == INT64_MIN);
	assert_true(get(r, "c")->u.integer == INT64_MAX);
	assert_int_equal(get(r, "d")->u.integer, 15);
	assert_int_equal(get(r, "e")->u.integer, 5);
	assert_true(get(r, "f")->u.fp == 0.65);
	assert_true(get(r, "g")->u.fp < -1e308);
	assert_int_equal(get(r, "h")->type, DBREG_TOML_DATE_LOCAL);
	assert_int_equal(get(r, "i")->type, DBREG_TOML_TIME_LOCAL);
	assert_string_equal(get(r, "j")->u.datetime, "1979-05-27T07:32:00");
	assert_string_equal(dbreg_toml_type_name(get(r, "j")->type), "datetime-local");
	assert_string_equal(get(r, "k")->u.str.ptr, "\xC3\xA9\xF0\x9F\x98\x80");
	assert_string_equal(get(r, "l")->u.str.ptr, "x\ny");  /* CRLF read as LF */
	assert_null(dbreg_toml_get(r, "missing"));
	assert_null(dbreg_toml_get(get(r, "a"), "x"));
	dbreg_toml_doc_free(doc);
	dbreg_toml_doc_free(NULL);
}

/* ---- string offsets back to the source --------------------------------- */

static void test_toml__string_pos_basic_escapes(void **state)
{
	(void)state;
	/*                              col: 123456789012345678 */
	struct dbreg_toml_doc *doc = parse_ok("s = \"a\\tb\\u00e9c\"\n");
	const struct dbreg_toml_node *s = get(doc->root, "s");
	assert_int_equal(s->u.str.len, 6);
	assert_pos(doc, s, 0, 1, 6);   /* a */
	assert_pos(doc, s, 1, 1, 7);   /* \t */
	assert_pos(doc, s, 2, 1, 9);   /* b */
	assert_pos(doc, s, 3, 1, 10);  /* first byte of e-acute: the \u escape */
	assert_pos(doc, s, 4, 1, 10);
	assert_pos(doc, s, 5, 1, 16);  /* c */
	assert_pos(doc, s, 6, 1, 17);  /* the length: closing quote */
	unsigned l, c;
	assert_int_equal(dbreg_toml_string_pos(doc, s, 7, &l, &c), -1);
	assert_int_equal(dbreg_toml_string_pos(doc, doc->root, 0, &l, &c), -1);
	assert_int_equal(dbreg_toml_string_pos(NULL, s, 0, &l, &c), -1);
	dbreg_toml_doc_free(doc);
}

static void test_toml__string_pos_literal(void **state)
{
	(void)state;
	struct dbreg_toml_doc *doc = parse_ok("x = 1\n  lit = 'C:\\a b'\n");
	const struct dbreg_toml_node *s = get(doc->root, "lit");
	assert_string_equal(s->u.str.ptr, "C:\\a b");
	assert_pos(doc, s, 0, 2, 10);
	assert_pos(doc, s, 2, 2, 12);  /* the backslash is plain text */
	assert_pos(doc, s, 5, 2, 15);
	assert_pos(doc, s, 6, 2, 16);
	dbreg_toml_doc_free(doc);
}

static void test_toml__string_pos_multiline(void **state)
{
	(void)state;
	struct dbreg_toml_doc *doc = parse_ok(
		"sql = \"\"\"\n"           /* 1: leading newline trimmed */
		"SELECT 1,\\n\n"           /* 2 */
		"  2 \\   \n"              /* 3: line-ending backslash */
		"\n"                       /* 4 */
		"    FROM t\"\"\"\n"        /* 5 */
		"raw = '''\n"              /* 6 */
		"a\r\n"                    /* 7: CRLF read as one LF */
		"b'''\n");                 /* 8 */
	const struct dbreg_toml_node *s = get(doc->root, "sql");
	assert_string_equal(s->u.str.ptr, "SELECT 1,\n\n  2 FROM t");
	assert_pos(doc, s, 0, 2, 1);   /* S */
	assert_pos(doc, s, 8, 2, 9);   /* , */
	assert_pos(doc, s, 9, 2, 10);  /* \n escape */
	assert_pos(doc, s, 10, 2, 12); /* the real newline */
	assert_pos(doc, s, 11, 3, 1);
	assert_pos(doc, s, 13, 3, 3);  /* 2 */
	assert_pos(doc, s, 14, 3, 4);  /* the space before the backslash */
	assert_pos(doc, s, 15, 5, 5);  /* F, after the trimmed whitespace */
	assert_pos(doc, s, 20, 5, 10); /* t */
	assert_pos(doc, s, 21, 5, 11); /* closing quotes */
	const struct dbreg_toml_node *r = get(doc->root, "raw");
	assert_string_equal(r->u.str.ptr, "a\nb");
	assert_pos(doc, r, 0, 7, 1);
	assert_pos(doc, r, 1, 7, 2);
	assert_pos(doc, r, 2, 8, 1);
	assert_pos(doc, r, 3, 8, 2);
	dbreg_toml_doc_free(doc);
}

/* ---- errors ------------------------------------------------------------ */

static void test_toml__error_positions(void **state)
{
	(void)state;
#define FAILS(text, l, c, what) parse_fails_at(text, sizeof(text) - 1, l, c, what)
	FAILS("a = 1\nb = = 2\n", 2, 5, "expected a value");
	FAILS("a = 1\nb 2\n", 2, 3, "expected '=' after key");
	FAILS("a = 1\n  a = 2\n", 2, 3, "duplicate key 'a'");
	FAILS("[t]\nx = 1\n[t]\n", 3, 1, "table 't' already defined");
	FAILS("x = 1\ns = \"abc\n", 2, 9, "newline in single-line string");
	FAILS("s = \"abc", 1, 5, "unterminated string");
	FAILS("a = 1 2\n", 1, 7, "expected end of line");
	FAILS("a = 1\nb = \"\xC3\x28\"\n", 2, 6, "UTF-8");
	FAILS("a = {x = 1}\n[a.b]\n", 2, 2, "not a table that can be extended");
	FAILS("d = 2023-02-29\n", 1, 5, "does not exist");
	FAILS("i = 9223372036854775808\n", 1, 5, "out of 64-bit range");
	FAILS("i = 0123\n", 1, 5, "leading zeros");
	FAILS("s = \"\\uD800\"\n", 1, 6, "not a Unicode scalar value");
	FAILS("[a]\nb.c = 1\n[a.b]\n", 3, 1, "already defined");
	FAILS("x = 1 # ok\r\ny = 2 # bad \x01\n", 2, 13, "control character");
	FAILS("a = [1, 2\n", 2, 1, "',' or ']'");
#undef FAILS
}

static void test_toml__deep_nesting_is_refused(void **state)
{
	(void)state;
	size_t n = 100000;
	char *text = malloc(n + 4);
	assert_non_null(text);
	memcpy(text, "a = ", 4);
	memset(text + 4, '[', n);
	struct dbreg_toml_doc *doc;
	struct dbreg_toml_error err;
	assert_int_equal(dbreg_toml_parse(&doc, text, n + 4, &err), -1);
	assert_non_null(strstr(err.message, "nesting"));
	/* Dotted keys nest too, without recursion in the parser. */
	size_t k = 0;
	for (int i = 0; i < 5000; i++)
		text[k++] = i ? '.' : 'a', text[k++] = 'b';
	memcpy(text + k, " = 1", 4);
	assert_int_equal(dbreg_toml_parse(&doc, text, k + 4, &err), -1);
	assert_non_null(strstr(err.message, "nesting"));
	free(text);
}

/* A lookup that goes on from the previous one lands where a lookup from
 * the start does, for every offset in order, after a jump back (the cursor
 * starts over) and across two strings sharing one cursor; the same for an
 * SQL file's body (model.c). */
static void test_toml__string_pos_from_cursor_matches_fresh_lookup(void **state)
{
	(void)state;
	struct dbreg_toml_doc *doc = parse_ok(
		"a = 1\n"
		"sql = \"\"\"\n"
		"SELECT 1,\\n\r\n"
		"  2 \\   \n"
		"\n"
		"  , '\\u00e9\xc3\xa9' ;\\tSELECT 3;\n"
		"\"\"\"\n"
		"lit = '''\nx\ny'''\n");
	const struct dbreg_toml_node *nodes[] = {get(doc->root, "sql"), get(doc->root, "lit")};
	struct dbreg_toml_strpos cur = {0};
	unsigned l1, c1, l2, c2;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < 2; k++) {
			const struct dbreg_toml_node *s = nodes[k];
			for (size_t off = 0; off <= s->u.str.len; off++) {
				assert_int_equal(dbreg_toml_string_pos(doc, s, off, &l1, &c1), 0);
				assert_int_equal(dbreg_toml_string_pos_from(doc, s, off, &cur, &l2, &c2), 0);
				if (l1 != l2 || c1 != c2)
					fail_msg("offset %zu: cursor %u:%u, fresh %u:%u", off, l2, c2, l1, c1);
				/* Every third offset is asked twice: a repeat stays put. */
				if (off % 3 == 0) {
					assert_int_equal(dbreg_toml_string_pos_from(doc, s, off, &cur, &l2, &c2), 0);
					assert_int_equal(l1, l2);
					assert_int_equal(c1, c2);
				}
			}
		}
	}
	/* Backwards: the cursor is past the offset and starts over. */
	assert_int_equal(dbreg_toml_string_pos(doc, nodes[0], 2, &l1, &c1), 0);
	assert_int_equal(dbreg_toml_string_pos_from(doc, nodes[0], nodes[0]->u.str.len, &cur, &l2, &c2), 0);
	assert_int_equal(dbreg_toml_string_pos_from(doc, nodes[0], 2, &cur, &l2, &c2), 0);
	assert_int_equal(l1, l2);
	assert_int_equal(c1, c2);

	/* An SQL file: bytes and CRLF line ends, in order and over again. */
	static const char text[] = "SELECT 1;\r\n  SELECT 2;\n\n\xc3\xa9 SELECT 3;";
	struct dbreg_sql body = {.text = (char *)text, .len = sizeof text - 1};
	struct dbreg_sql_cursor sc = DBREG_SQL_CURSOR_INIT;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t off = 0; off <= body.len; off++) {
			dbreg_sql_loc(&body, off, &l1, &c1);
			dbreg_sql_loc_next(&body, &sc, off, &l2, &c2);
			if (l1 != l2 || c1 != c2)
				fail_msg("file offset %zu: cursor %u:%u, fresh %u:%u", off, l2, c2, l1, c1);
		}
	}
	dbreg_toml_doc_free(doc);
}

/* A string written as is maps from its text alone, to the same places as
 * from the source, for every offset, fresh and by cursor, after the
 * source is gone; a string with an escape, a CR or a line-ending
 * backslash is not taken for one. */
static void test_toml__verbatim_spans_map_without_the_source(void **state)
{
	(void)state;
	struct dbreg_toml_doc *doc = parse_ok(
		"a = \"x y\"\n"
		"b = 'it\"s \\ raw'\n"
		"  c = \"\"\"\nSELECT 1;\n  SELECT 2;\n\xc3\xa9\"\"\"\"\n"
		"d = '''no newline first\n'''\n"
		"e = \"\"\"\"\"\"\n"
		"f = '''\n'''\n"
		"g = \"tab\\t\"\n"
		"h = \"\"\"\r\nx\"\"\"\n"
		"i = \"\"\"x \\\n  y\"\"\"\n"
		"j = '''x\r\ny'''\n");
	static const char *const as_is[] = {"a", "b", "c", "d", "e", "f"}, *const not[] = {"g", "h", "i", "j"};
	struct dbreg_toml_span spans[6];
	char *texts[6];
	for (size_t k = 0; k < 6; k++) {
		const struct dbreg_toml_node *s = get(doc->root, as_is[k]);
		spans[k] = dbreg_toml_string_span(s);
		if (!spans[k].head)
			fail_msg("%s not taken as written as is", as_is[k]);
		texts[k] = malloc(s->u.str.len + 1);
		assert_non_null(texts[k]);
		memcpy(texts[k], s->u.str.ptr, s->u.str.len + 1);
	}
	for (size_t k = 0; k < 4; k++) {
		const struct dbreg_toml_node *s = get(doc->root, not[k]);
		struct dbreg_toml_span sp = dbreg_toml_string_span(s);
		if (sp.head)
			fail_msg("%s taken as written as is", not[k]);
	}
	/* The places from the source, before it goes. */
	unsigned want[6][64][2];
	for (size_t k = 0; k < 6; k++) {
		assert_true(spans[k].dec_len < 64);
		for (size_t off = 0; off <= spans[k].dec_len; off++)
			assert_int_equal(dbreg_toml_span_pos_from(doc, &spans[k], off, NULL, &want[k][off][0],
								  &want[k][off][1]), 0);
	}
	dbreg_toml_doc_strip(doc, false);
	assert_null(doc->root);
	assert_null(doc->src);
	struct dbreg_toml_strpos cur = {0};
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < 6; k++)
			for (size_t off = 0; off <= spans[k].dec_len; off++) {
				unsigned l1, c1, l2, c2;
				assert_int_equal(dbreg_toml_span_pos_text(doc, &spans[k], texts[k], off, NULL, &l1, &c1), 0);
				assert_int_equal(dbreg_toml_span_pos_text(doc, &spans[k], texts[k], off, &cur, &l2, &c2), 0);
				if (l1 != want[k][off][0] || c1 != want[k][off][1] || l2 != l1 || c2 != c1)
					fail_msg("%s offset %zu: text %u:%u, cursor %u:%u, source %u:%u", as_is[k], off, l1,
						 c1, l2, c2, want[k][off][0], want[k][off][1]);
			}
	assert_int_equal(dbreg_toml_span_pos_text(doc, &spans[0], texts[0], spans[0].dec_len + 1, NULL, NULL, NULL), -1);
	for (size_t k = 0; k < 6; k++)
		free(texts[k]);
	dbreg_toml_doc_free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_toml__key_and_value_positions),
		cmocka_unit_test(test_toml__keys_keep_file_order),
		cmocka_unit_test(test_toml__large_table),
		cmocka_unit_test(test_toml__values),
		cmocka_unit_test(test_toml__string_pos_basic_escapes),
		cmocka_unit_test(test_toml__string_pos_literal),
		cmocka_unit_test(test_toml__string_pos_multiline),
		cmocka_unit_test(test_toml__string_pos_from_cursor_matches_fresh_lookup),
		cmocka_unit_test(test_toml__verbatim_spans_map_without_the_source),
		cmocka_unit_test(test_toml__error_positions),
		cmocka_unit_test(test_toml__deep_nesting_is_refused),
	};
	return cmocka_run_group_tests_name("toml", tests, NULL, NULL);
}
