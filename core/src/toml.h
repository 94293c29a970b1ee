/* TOML 1.0 reader: a whole document from a buffer into a tree of nodes.
 * Every node keeps the 1-based line and column where its value starts, every
 * table keeps its keys in file order, and string nodes can map an offset in
 * their decoded text back to the source (for SQL positions in manifests).
 * Lines and columns are 1-based; columns count bytes (a UTF-8 BOM at the
 * start is not counted). Multi-line strings read CRLF as LF. */
#ifndef DBREG_TOML_H
#define DBREG_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dbreg_toml_type {
	DBREG_TOML_TABLE,
	DBREG_TOML_ARRAY,
	DBREG_TOML_STRING,
	DBREG_TOML_INTEGER,
	DBREG_TOML_FLOAT,
	DBREG_TOML_BOOL,
	DBREG_TOML_DATETIME,       /* offset date-time */
	DBREG_TOML_DATETIME_LOCAL,
	DBREG_TOML_DATE_LOCAL,
	DBREG_TOML_TIME_LOCAL,
};

struct dbreg_toml_node;

/* One key of a table, in file order. */
struct dbreg_toml_kv {
	char *key;                     /* decoded key, NUL-terminated (a quoted key may hold \u0000: use key_len) */
	size_t key_len;
	unsigned line, column;         /* where the key itself is written (last segment of a dotted key) */
	struct dbreg_toml_node *value;
};

struct dbreg_toml_node {
	enum dbreg_toml_type type;
	unsigned line, column;         /* where the value starts; for a [header] table, the header */
	union {
		struct {                   /* DBREG_TOML_TABLE */
			struct dbreg_toml_kv *items;
			size_t len, cap;
		} table;
		struct {                   /* DBREG_TOML_ARRAY (also [[array of tables]]) */
			struct dbreg_toml_node **items;
			size_t len, cap;
		} array;
		struct {                   /* DBREG_TOML_STRING */
			char *ptr;             /* decoded, NUL-terminated */
			size_t len;            /* bytes, without the NUL */
		} str;
		int64_t integer;
		double fp;
		bool boolean;
		char *datetime;            /* date/time kinds: the text as written, 'T' separator and 'Z' normalised */
	} u;
	/* Internal to the reader: source span of a string token, flags for
	 * redefinition checks (inline, implicit, array of tables, ...). */
	size_t src_off, src_len;       /* byte span of the whole value token in the source */
	unsigned flags;
};

/* A parsed document. Owns all nodes and a copy of the source text. */
struct dbreg_toml_doc {
	struct dbreg_toml_node *root;  /* a DBREG_TOML_TABLE */
	char *src;                     /* copy of the input, for position mapping */
	size_t src_len;
};

/* Parse error: the first problem found, 1-based position of it. */
struct dbreg_toml_error {
	unsigned line, column;
	char message[256];             /* "expected '=' after key", without the position */
};

/* Parses `len` bytes of `buf` (need not be NUL-terminated) as TOML 1.0.
 * Returns 0 and sets *out (free with dbreg_toml_doc_free), or -1 and fills
 * *err (when err is not NULL) with *out set to NULL. Returns -2 on allocation
 * failure. Never reads outside buf[0..len). */
int dbreg_toml_parse(struct dbreg_toml_doc **out, const char *buf, size_t len,
		     struct dbreg_toml_error *err);

/* Frees a document and every node in it. NULL-safe. */
void dbreg_toml_doc_free(struct dbreg_toml_doc *doc);

/* The value of `key` in a table node, or NULL when absent or `table` is not
 * a table. Borrowed from the document. */
const struct dbreg_toml_node *dbreg_toml_get(const struct dbreg_toml_node *table, const char *key);

/* Maps byte `offset` of a string node's decoded text to the line and column
 * in the source where that byte was written (escapes, line-ending
 * backslashes and the newline trimmed after an opening """ are accounted
 * for). An offset equal to the length maps to the closing delimiter.
 * Returns 0, or -1 when `node` is not a string of `doc` or `offset` is past
 * the length. */
int dbreg_toml_string_pos(const struct dbreg_toml_doc *doc, const struct dbreg_toml_node *node,
			  size_t offset, unsigned *line, unsigned *column);

/* Where a lookup of dbreg_toml_string_pos_from stopped: a later offset of
 * the same string goes on from there, so the places of a body's statements,
 * asked in order, cost one pass over the string rather than one each. */
struct dbreg_toml_strpos {
	const struct dbreg_toml_doc *doc;   /* NULL: nothing walked yet */
	size_t off;                    /* the string's token in doc's source */
	const char *at;                /* source byte of decoded offset `dec` */
	size_t dec;
	unsigned line, column;         /* of `at` */
};

/* dbreg_toml_string_pos, resuming from *cur when it holds an earlier
 * offset of the same string, and leaving *cur at `offset`. cur may be NULL;
 * zero it before the first lookup. */
int dbreg_toml_string_pos_from(const struct dbreg_toml_doc *doc, const struct dbreg_toml_node *node,
			       size_t offset, struct dbreg_toml_strpos *cur, unsigned *line, unsigned *column);

/* Where a string value is written: all dbreg_toml_string_pos needs of
 * the node, so a reader that keeps only positions can let the tree go
 * (dbreg_toml_doc_strip) and still map offsets against the source. */
struct dbreg_toml_span {
	size_t off, len;               /* the token's bytes in the source, quotes included */
	size_t dec_len;                /* bytes of the decoded text */
	unsigned line, column;         /* where the token starts */
	unsigned head;                 /* a string written as is (no escape, no line-ending
					* backslash, no CR: its decoded text is its very source
					* bytes): the bytes before the text (opening quotes, the
					* trimmed LF); 0 for any other string */
};

/* The span of a string node; a zeroed span (len 0, which maps nothing)
 * when node is not a string. The places in a string written as is (head
 * set) can be found from its text alone (dbreg_toml_span_pos_text),
 * without the source. */
struct dbreg_toml_span dbreg_toml_string_span(const struct dbreg_toml_node *node);

/* dbreg_toml_string_pos_from for a string known by its span in doc. */
int dbreg_toml_span_pos_from(const struct dbreg_toml_doc *doc, const struct dbreg_toml_span *span, size_t offset,
			     struct dbreg_toml_strpos *cur, unsigned *line, unsigned *column);

/* The same for a string written as is (span->head set), from its decoded text;
 * doc only names the string in the cursor and may have lost its source.
 * Returns -1 when it is not one or offset is past the text. */
int dbreg_toml_span_pos_text(const struct dbreg_toml_doc *doc, const struct dbreg_toml_span *span, const char *text,
			     size_t offset, struct dbreg_toml_strpos *cur, unsigned *line, unsigned *column);

/* Frees a document's tree and decoded text, and its source unless
 * keep_source: root is NULL afterwards, every node and string pointer of
 * it gone; spans stay valid (against the source only when kept). A reader
 * that has copied what it keeps hands the memory back before the next
 * document is parsed. NULL-safe. */
void dbreg_toml_doc_strip(struct dbreg_toml_doc *doc, bool keep_source);

/* The name of a type as the toml-test suite spells it ("string", "integer",
 * "datetime-local", ...); "table" and "array" for the containers. */
const char *dbreg_toml_type_name(enum dbreg_toml_type type);

#endif
