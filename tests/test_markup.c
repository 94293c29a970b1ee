/* The escaping functions of core/src/markup.c on what validation keeps out
 * of the manifests that test_devtools renders (types with blanks or "[]",
 * keywords and odd characters as entity names, UTF-8, control characters),
 * held to the bytes worked out from each language's rules. test_devtools
 * reads whole pages back with markdown-it and Mermaid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "markup.h"

enum fn { MD_TEXT, MD_CELL, MD_CODE, MD_CODE_CELL, MD_URL, MERMAID_LABEL, MERMAID_ER_LINE, ER_ENTITY, ER_WORD };

static const struct {
	enum fn fn;
	const char *in, *out;
} cases[] = {
	/* Markdown text: markup escaped, a run of '_' inside a word left alone. */
	{MD_TEXT, "ydtb_basic_notes", "ydtb_basic_notes"},
	{MD_TEXT, "_x_ __y__ a_", "\\_x\\_ \\_\\_y\\_\\_ a\\_"},
	{MD_TEXT, "  # a\r\nb\n- c | d  ", "\\# a b - c | d"},
	{MD_TEXT, "12) x", "12\\) x"},
	{MD_TEXT, "---", "\\---"},
	{MD_TEXT, "a\x01" "b", "a\xe2\x90\x81" "b"},
	/* Bidirectional controls and separators reorder or break the text
	 * unseen ("Trojan Source"): shown as their code points. */
	{MD_TEXT, "a\xe2\x80\xae" "b\xe2\x81\xa6", "a\xe2\x9f\xa8U+202E\xe2\x9f\xa9" "b\xe2\x9f\xa8U+2066\xe2\x9f\xa9"},
	{MD_CODE, "x\xe2\x80\xa8y", "`x\xe2\x9f\xa8U+2028\xe2\x9f\xa9y`"},
	{MERMAID_LABEL, "\xe2\x80\x8f" "a \xc3\xa9", "\"\xe2\x9f\xa8U+200F\xe2\x9f\xa9" "a \xc3\xa9\""},
	{MD_CELL, "1. a | b", "1. a \\| b"},
	{MD_CELL, "<b>&amp;</b>", "\\<b\\>\\&amp;\\</b\\>"},
	/* Code spans: the fence outgrows the backticks inside. */
	{MD_CODE, "a`b", "``a`b``"},
	{MD_CODE, "`x`", "`` `x` ``"},
	{MD_CODE, " x ", "`  x  `"},
	{MD_CODE, "   ", "`   `"},
	{MD_CODE, "a\nb", "`a\xe2\x90\x8a" "b`"},
	{MD_CODE, "a|b", "`a|b`"},
	{MD_CODE_CELL, "a|b\\", "`a\\|b\\`"},
	{MD_CODE, "", ""},
	{MD_URL, "t-x/na.sty_x~1.md", "t-x/na.sty_x~1.md"},
	{MD_URL, "a b(c)|`.md", "a%20b%28c%29%7C%60.md"},
	/* Mermaid strings: entity codes; blanks too on an erDiagram line. */
	{MERMAID_LABEL, "@a/b 1.0.0", "\"@a/b 1.0.0\""},
	{MERMAID_LABEL, "\"#%\\:`<>&", "\"#quot;#35;#37;#92;#58;#96;#lt;#gt;#amp;\""},
	{MERMAID_LABEL, "a\r\nb\tc", "\"a b c\""},
	{MERMAID_ER_LINE, "direction TB", "\"direction#32;TB\""},
	/* erDiagram entity names: bare unless a keyword or not a plain name. */
	{ER_ENTITY, "ydtb_notes", "ydtb_notes"},
	{ER_ENTITY, "End", "\"End\""},
	{ER_ENTITY, "accDescr", "\"accDescr\""},
	{ER_ENTITY, "1x", "\"1x\""},
	{ER_ENTITY, "a-b", "\"a-b\""},
	{ER_ENTITY, "", "_"},
	/* erDiagram attribute words: what 11.14 takes, '_' before a key. */
	{ER_WORD, "varchar(20)[]", "varchar(20)[]"},
	{ER_WORD, "timestamp with time zone", "timestamp-with-time-zone"},
	{ER_WORD, "numeric(10,2)", "numeric(10-2)"},
	{ER_WORD, "\"char\"", "_-char-"},
	{ER_WORD, "PK", "_PK"},
	{ER_WORD, "uk(1)", "_uk(1)"},
	{ER_WORD, "pkey", "pkey"},
	{ER_WORD, "pk_id", "pk_id"},
	{ER_WORD, "9lives", "_9lives"},
	{ER_WORD, "caf\xc3\xa9", "caf\xc3\xa9"},
	{ER_WORD, "\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"},
	{ER_WORD, "a\xc2\xa0" "b", "a-b"},
	{ER_WORD, "x~y~", "x-y-"},
	{ER_WORD, "", "_"},
};

static void test_markup__each_language_escapes_as_its_grammar_says(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dbreg_buf b = DBREG_BUF_INIT;
		const char *in = cases[i].in;
		switch (cases[i].fn) {
		case MD_TEXT: dbreg_markup_md_text(&b, in, DBREG_MD_INLINE); break;
		case MD_CELL: dbreg_markup_md_text(&b, in, DBREG_MD_CELL); break;
		case MD_CODE: dbreg_markup_md_code(&b, in, DBREG_MD_INLINE); break;
		case MD_CODE_CELL: dbreg_markup_md_code(&b, in, DBREG_MD_CELL); break;
		case MD_URL: dbreg_markup_md_url(&b, in); break;
		case MERMAID_LABEL: dbreg_markup_mermaid_string(&b, in, DBREG_MERMAID_LABEL); break;
		case MERMAID_ER_LINE: dbreg_markup_mermaid_string(&b, in, DBREG_MERMAID_ER_LINE); break;
		case ER_ENTITY: dbreg_markup_er_entity(&b, in); break;
		case ER_WORD: dbreg_markup_er_word(&b, in); break;
		}
		char *got = dbreg_buf_detach(&b);
		if (strcmp(got, cases[i].out) != 0)
			print_error("case %zu: \"%s\" gave \"%s\", not \"%s\"\n", i, in, got, cases[i].out);
		assert_string_equal(got, cases[i].out);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_markup__each_language_escapes_as_its_grammar_says),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
