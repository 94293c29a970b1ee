/* Escaping for `dbreg docs`, one function per output language. What each
 * language reads as markup is a table below, taken from its grammar:
 * CommonMark 0.31 with GFM tables for Markdown, and for Mermaid the jison
 * lexers of the erDiagram (packages/mermaid/src/diagrams/er/parser/
 * erDiagram.jison, 11.14 to 12.3) and of the flowchart, with the entity
 * codes (#quot;, #35;) that Mermaid decodes in any text it draws. The test
 * (tests/docsrender) reads the pages back with markdown-it and Mermaid. */
#include "markup.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* A C0 control character or DEL as its Unicode picture (U+2400 + c, U+2421). */
static void markup_picture(struct dbreg_buf *b, unsigned char c)
{
	char pic[4] = {'\xe2', '\x90', (char)(c == 0x7f ? 0xa1 : 0x80 + c), 0};
	dbreg_buf_puts(b, pic);
}

static bool markup_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static size_t markup_utf8(const unsigned char *p, uint32_t *cp);

/* The length of the character at p when it is one that reorders or breaks
 * the text around it unseen (bidirectional controls: "Trojan Source";
 * the line and paragraph separators), else 0. Shown as its code point. */
static size_t markup_invisible(const char *p, struct dbreg_buf *b)
{
	if ((unsigned char)*p < 0xc0)
		return 0;
	uint32_t cp;
	size_t n = markup_utf8((const unsigned char *)p, &cp);
	bool hidden = cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
		      (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
	if (!hidden)
		return 0;
	dbreg_buf_printf(b, "\xe2\x9f\xa8U+%04X\xe2\x9f\xa9", (unsigned)cp);   /* ⟨U+202E⟩ */
	return n;
}

/* ---- Markdown ---- */

/* ASCII punctuation that Markdown reads as markup anywhere in a line:
 * escapes, code spans, emphasis, strikethrough, links and images, raw HTML
 * and autolinks, entities, a heading's closing '#'s. Each is escaped with a
 * backslash; '_' only where it could open or close emphasis (a run of '_'
 * between letters or digits cannot). */
static const char md_inline[] = "\\`*_~[]<>&#";
/* ... and at the start of a paragraph: list items, thematic breaks and
 * setext underlines (ordered list markers are handled apart). */
static const char md_block_start[] = "-+=";

static bool md_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Whether the '_' at s[i] sits in a run of '_' between letters or digits. */
static bool md_intraword(const char *s, size_t n, size_t i)
{
	size_t a = i, z = i;
	while (a > 0 && s[a - 1] == '_')
		a--;
	while (z + 1 < n && s[z + 1] == '_')
		z++;
	return a > 0 && md_alnum(s[a - 1]) && z + 1 < n && md_alnum(s[z + 1]);
}

void dbreg_markup_md_text(struct dbreg_buf *b, const char *s, enum dbreg_md_where where)
{
	if (!s)
		return;
	/* Leading and trailing blanks render as nothing, and four leading
	 * spaces would start a code block. */
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	/* "1." or "1)" opening a paragraph would start an ordered list. */
	bool block = where == DBREG_MD_INLINE;
	size_t digits = strspn(s, "0123456789");
	size_t list_mark = block && digits && digits < n && (s[digits] == '.' || s[digits] == ')') ? digits : SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n') {
			i += c == '\r' && i + 1 < n && s[i + 1] == '\n';
			dbreg_buf_puts(b, " ");
			continue;
		}
		if (c == '\t') {
			dbreg_buf_puts(b, "\t");
			continue;
		}
		if (markup_control(c)) {
			markup_picture(b, c);
			continue;
		}
		size_t hid = markup_invisible(s + i, b);
		if (hid) {
			i += hid - 1;
			continue;
		}
		if ((strchr(md_inline, c) && !(c == '_' && md_intraword(s, n, i))) ||
		    (block && i == 0 && strchr(md_block_start, c)) || i == list_mark || (c == '|' && !block))
			dbreg_buf_puts(b, "\\");
		dbreg_buf_append(b, s + i, 1);
	}
}

void dbreg_markup_md_code(struct dbreg_buf *b, const char *s, enum dbreg_md_where where)
{
	if (!s || !*s)
		return;
	/* The fence is one backtick longer than the longest run inside. */
	size_t run = 0, longest = 0;
	for (const char *p = s; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		longest = run > longest ? run : longest;
	}
	size_t n = strlen(s);
	/* A space each side when the content starts or ends with a backtick
	 * (it would join the fence), or starts and ends with a space (the
	 * span would strip one). */
	bool pad = s[0] == '`' || s[n - 1] == '`' || (s[0] == ' ' && s[n - 1] == ' ' && strspn(s, " ") < n);
	for (size_t i = 0; i <= longest; i++)
		dbreg_buf_puts(b, "`");
	dbreg_buf_puts(b, pad ? " " : "");
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		size_t hid = markup_invisible(p, b);
		if (hid)
			p += hid - 1;
		else if (markup_control(c) && c != '\t')
			markup_picture(b, c);
		else if (c == '|' && where == DBREG_MD_CELL)
			dbreg_buf_puts(b, "\\|"); /* GFM: even inside a code span */
		else
			dbreg_buf_append(b, p, 1);
	}
	dbreg_buf_puts(b, pad ? " " : "");
	for (size_t i = 0; i <= longest; i++)
		dbreg_buf_puts(b, "`");
}

void dbreg_markup_md_url(struct dbreg_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~/", *p))
			dbreg_buf_append(b, (const char *)p, 1);
		else
			dbreg_buf_printf(b, "%%%02X", *p);
	}
}

/* ---- Mermaid ---- */

/* Characters a Mermaid string cannot hold as themselves, as entity codes:
 * '"' ends it; '#' would start an entity code; '%' could open a "%%{...}%%"
 * directive anywhere in the text, and an erDiagram quoted entity name takes
 * no '%' nor '\'; ':' would let Mermaid's entity encoder drop a ';' from a
 * line holding "style" and ":" then "#"; '`' opens a Markdown string in a
 * flowchart label; '<', '>' and '&' would be HTML where Mermaid draws
 * labels as HTML. */
static const struct {
	char c;
	const char *code;
} mermaid_codes[] = {
	{'"', "#quot;"}, {'#', "#35;"}, {'%', "#37;"}, {'\\', "#92;"}, {':', "#58;"},
	{'`', "#96;"},   {'<', "#lt;"}, {'>', "#gt;"}, {'&', "#amp;"},
};

void dbreg_markup_mermaid_string(struct dbreg_buf *b, const char *s, enum dbreg_mermaid_where where)
{
	dbreg_buf_puts(b, "\"");
	for (const char *p = s ? s : ""; *p; p++) {
		unsigned char c = (unsigned char)*p;
		const char *code = NULL;
		for (size_t i = 0; i < sizeof mermaid_codes / sizeof mermaid_codes[0] && !code; i++)
			if (mermaid_codes[i].c == *p)
				code = mermaid_codes[i].code;
		/* On an erDiagram line, a blank could complete "direction TB",
		 * which the lexer takes anywhere in the line. */
		bool blank = c == ' ' || markup_control(c);
		p += c == '\r' && p[1] == '\n'; /* a line break is one blank, as in Markdown */
		size_t hid = code || blank ? 0 : markup_invisible(p, b);
		if (hid)
			p += hid - 1;
		else if (code)
			dbreg_buf_puts(b, code);
		else if (blank)
			dbreg_buf_puts(b, where == DBREG_MERMAID_ER_LINE ? "#32;" : " ");
		else
			dbreg_buf_append(b, p, 1);
	}
	dbreg_buf_puts(b, "\"");
}

/* Words that the erDiagram lexer reads as keywords before it reads a name
 * (case-insensitive, each up to a word boundary; "accTitle" and "accDescr"
 * when a ':' or '{' follows, as it does after an entity name). */
static const char *const er_keywords[] = {
	"erdiagram", "style", "classdef", "class", "subgraph", "end", "many", "one", "to", "acctitle", "accdescr",
};

static bool er_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

void dbreg_markup_er_entity(struct dbreg_buf *b, const char *s)
{
	bool bare = s && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_');
	for (const char *p = s; bare && *p; p++)
		bare = er_word_char(*p);
	for (size_t i = 0; bare && i < sizeof er_keywords / sizeof er_keywords[0]; i++)
		bare = strcasecmp(s, er_keywords[i]) != 0;
	if (bare)
		dbreg_buf_puts(b, s);
	else if (!s || !*s)
		dbreg_buf_puts(b, "_");
	else
		dbreg_markup_mermaid_string(b, s, DBREG_MERMAID_ER_LINE);
}

/* The UTF-8 sequence at p: its length (1 for a stray byte) and code point. */
static size_t markup_utf8(const unsigned char *p, uint32_t *cp)
{
	size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 1;
	*cp = n == 1 ? *p : *p & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		*cp = *cp << 6 | (p[i] & 0x3f);
	}
	return n;
}

void dbreg_markup_er_word(struct dbreg_buf *b, const char *s)
{
	/* An attribute word: [*A-Za-z_\u00C0-\uFFFF][A-Za-z0-9\-_\[\]\(\)\u00C0-\uFFFF*]*
	 * (11.14; 11.17 adds '.' and ','); non-ASCII is taken from U+00C0 on. */
	struct dbreg_buf w = DBREG_BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
		uint32_t cp;
		size_t n = markup_utf8(p, &cp);
		bool ascii = cp < 0x80 && (er_word_char((char)cp) || strchr("-()[]*", (int)cp));
		if (cp >= 0xc0 && n > 1)
			dbreg_buf_append(&w, (const char *)p, n);
		else
			dbreg_buf_append(&w, ascii ? (const char *)p : "-", 1);
		p += n;
	}
	const char *t = w.ptr ? w.ptr : "";
	bool starts = (t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z') || t[0] == '_' || t[0] == '*' ||
		      (unsigned char)t[0] >= 0xc3;
	/* "PK", "FK", "UK" up to a word boundary are keys, whatever follows. */
	bool key = strlen(t) >= 2 && strchr("pfuPFU", t[0]) && (t[1] == 'k' || t[1] == 'K') && !er_word_char(t[2]);
	if (!starts || key)
		dbreg_buf_puts(b, "_");
	dbreg_buf_puts(b, t);
	if (w.oom)
		b->oom = true;
	dbreg_buf_dispose(&w);
}
