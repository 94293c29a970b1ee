/* TOML 1.0 reader: one pass of recursive descent over the buffer into a tree.
 * Nodes live in chunks owned by the document, text and the arrays of tables
 * and arrays in a byte arena, so freeing never recurses; an error longjmps
 * back to dbreg_toml_parse, which frees the partial document (every
 * allocation is reachable from it). */
#include "toml.h"
#include "util.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tree depth limit: keeps the recursive value parser (and any recursive
 * consumer of the tree) far from the end of the stack. */
#define TOML_MAX_DEPTH 1000
#define TOML_NODE_CHUNK 256
#define TOML_BYTE_CHUNK 65536
#define TOML_INDEX_MIN 8        /* tables with this many keys use the hash index */

enum {
	TOML_F_INLINE = 1u << 0,   /* inline table or array value: frozen */
	TOML_F_IMPLICIT = 1u << 1, /* created as a prefix of a [header] */
	TOML_F_DEFINED = 1u << 2,  /* defined by a [header] (or the root) */
	TOML_F_DOTTED = 1u << 3,   /* created or extended by dotted keys */
	TOML_F_AOT = 1u << 4,      /* array made by [[header]]: may grow */
	TOML_F_VERBATIM = 1u << 5, /* string whose text is its source bytes (dbreg_toml_span.head) */
};
#define TOML_DEPTH_SHIFT 16
#define TOML_DEPTH(n) ((n)->flags >> TOML_DEPTH_SHIFT)

struct toml_node_chunk {
	struct toml_node_chunk *next;
	size_t used;
	struct dbreg_toml_node nodes[TOML_NODE_CHUNK];
};

struct toml_byte_chunk {
	struct toml_byte_chunk *next;
	size_t used, cap;
	char data[];
};

/* The document with the allocator state the public struct does not show. */
struct toml_doc_impl {
	struct dbreg_toml_doc pub;
	struct toml_node_chunk *nodes;
	struct toml_byte_chunk *bytes;
};

struct toml_seg {                /* one segment of a (dotted) key */
	char *ptr;                   /* decoded, in the byte arena */
	size_t len;
	size_t off;                  /* where it is written */
	unsigned line, column;
	uint64_t hash;               /* valid when hashed (toml_seg_hash): only tables with an index need it */
	bool hashed;
};

struct toml_idx {                /* hash index entry: key `i` of `table` */
	struct dbreg_toml_node *table;
	size_t i;
	uint64_t hash;
};

struct toml_buf {
	char *ptr;
	size_t len, cap;
};

struct toml_parser {
	const char *buf;
	size_t len, pos;
	unsigned line;
	size_t line_start;           /* offset of the first byte of the current line */
	struct toml_doc_impl *doc;
	struct dbreg_toml_error *err;
	jmp_buf jmp;
	int code;                    /* -1 syntax, -2 memory */
	struct toml_buf scratch;
	struct toml_seg *segs;
	size_t nsegs, segs_cap;
	struct toml_idx *idx;
	size_t idx_cap, idx_used;
	bool str_changed;            /* the multi-line string being read decoded an escape, a
				      * line-ending backslash or a CRLF: its text is not its source */
};

/* ---- errors ------------------------------------------------------------ */

static void toml_linecol(const struct toml_parser *p, size_t off, unsigned *line, unsigned *col)
{
	unsigned l = 1;
	size_t start = 0;
	if (p->len >= 3 && memcmp(p->buf, "\xEF\xBB\xBF", 3) == 0)
		start = 3;
	if (off > p->len)
		off = p->len;
	for (size_t i = 0; i < off; i++) {
		if (p->buf[i] == '\n') {
			l++;
			start = i + 1;
		}
	}
	*line = l;
	*col = (unsigned)(off - start + 1);
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static _Noreturn void toml_fail_at(struct toml_parser *p, size_t off, const char *fmt, ...)
{
	if (p->err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
		va_end(ap);
		toml_linecol(p, off, &p->err->line, &p->err->column);
	}
	p->code = -1;
	longjmp(p->jmp, 1);
}

static _Noreturn void toml_nomem(struct toml_parser *p)
{
	if (p->err) {
		snprintf(p->err->message, sizeof p->err->message, "out of memory");
		p->err->line = p->err->column = 0;
	}
	p->code = -2;
	longjmp(p->jmp, 1);
}

/* What is at the current position, for "expected X, found Y" messages. */
static const char *toml_found(const struct toml_parser *p, char *tmp, size_t tmpsz)
{
	if (p->pos >= p->len)
		return "end of input";
	unsigned char c = (unsigned char)p->buf[p->pos];
	if (c == '\n' || (c == '\r' && p->pos + 1 < p->len && p->buf[p->pos + 1] == '\n'))
		return "end of line";
	if (c == '\r')
		return "a carriage return not followed by a line feed";
	if (c >= 0x21 && c < 0x7f)
		snprintf(tmp, tmpsz, "'%c'", c);
	else if (c == ' ' || c == '\t')
		return "whitespace";
	else
		snprintf(tmp, tmpsz, "byte 0x%02X", c);
	return tmp;
}

#define TOML_EXPECTED(p, what) do { \
	char found_[16]; \
	toml_fail_at((p), (p)->pos, "expected %s, found %s", (what), toml_found((p), found_, sizeof found_)); \
} while (0)

/* ---- memory ------------------------------------------------------------- */

static void *toml_xrealloc(struct toml_parser *p, void *ptr, size_t n)
{
	void *q = realloc(ptr, n ? n : 1);
	if (!q)
		toml_nomem(p);
	return q;
}

static char *toml_arena(struct toml_parser *p, size_t n)
{
	struct toml_byte_chunk *c = p->doc->bytes;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > TOML_BYTE_CHUNK / 4 ? n : TOML_BYTE_CHUNK;
		c = malloc(sizeof *c + cap);
		if (!c)
			toml_nomem(p);
		c->used = 0;
		c->cap = cap;
		/* A big block goes behind the current one, which keeps its free room. */
		if (cap == n && p->doc->bytes) {
			c->next = p->doc->bytes->next;
			p->doc->bytes->next = c;
		} else {
			c->next = p->doc->bytes;
			p->doc->bytes = c;
		}
	}
	char *r = c->data + c->used;
	c->used += n;
	return r;
}

/* Room for n bytes of pointers and sizes in the byte arena: the arrays of
 * tables and arrays live there too, so a document is a few blocks to
 * malloc and free, not one per table. */
static void *toml_arena_aligned(struct toml_parser *p, size_t n)
{
	struct toml_byte_chunk *c = p->doc->bytes;
	if (c) {
		size_t pad = (sizeof(void *) - ((uintptr_t)(c->data + c->used) & (sizeof(void *) - 1))) & (sizeof(void *) - 1);
		c->used = c->cap - c->used < pad ? c->cap : c->used + pad;
	}
	return toml_arena(p, n);
}

/* An arena array grown to cap elements of size bytes (the old room stays
 * behind, at most as much again as the final array). */
static void *toml_grow(struct toml_parser *p, void *items, size_t len, size_t cap, size_t size)
{
	void *grown = toml_arena_aligned(p, cap * size);
	if (len)
		memcpy(grown, items, len * size);
	return grown;
}

static char *toml_strdup(struct toml_parser *p, const char *s, size_t n)
{
	char *r = toml_arena(p, n + 1);
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

static struct dbreg_toml_node *toml_node(struct toml_parser *p, enum dbreg_toml_type type,
					  unsigned depth, size_t off)
{
	if (depth > TOML_MAX_DEPTH)
		toml_fail_at(p, off, "nesting deeper than %d levels", TOML_MAX_DEPTH);
	struct toml_node_chunk *c = p->doc->nodes;
	if (!c || c->used == TOML_NODE_CHUNK) {
		c = malloc(sizeof *c);
		if (!c)
			toml_nomem(p);
		c->used = 0;
		c->next = p->doc->nodes;
		p->doc->nodes = c;
	}
	struct dbreg_toml_node *n = &c->nodes[c->used++];
	memset(n, 0, sizeof *n);
	n->type = type;
	n->flags = (unsigned)depth << TOML_DEPTH_SHIFT;
	n->src_off = off;
	return n;
}

/* Sets the node's position from the current line tracking. */
static void toml_place(const struct toml_parser *p, struct dbreg_toml_node *n, size_t off)
{
	n->line = p->line;
	n->column = (unsigned)(off - p->line_start + 1);
}

static void toml_buf_put(struct toml_parser *p, struct toml_buf *b, const char *s, size_t n)
{
	if (n == 0)
		return;  /* b->ptr may still be NULL */
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < n)
			cap *= 2;
		b->ptr = toml_xrealloc(p, b->ptr, cap);
		b->cap = cap;
	}
	memcpy(b->ptr + b->len, s, n);
	b->len += n;
}

static void toml_buf_putc(struct toml_parser *p, struct toml_buf *b, char c)
{
	if (b->len < b->cap)
		b->ptr[b->len++] = c;
	else
		toml_buf_put(p, b, &c, 1);
}

/* ---- tables ------------------------------------------------------------- */

static uint64_t toml_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static size_t toml_idx_slot(const struct dbreg_toml_node *t, uint64_t h, size_t cap)
{
	uint64_t x = h ^ ((uint64_t)(uintptr_t)t * 0x9E3779B97F4A7C15ull);
	x ^= x >> 29;
	return (size_t)x & (cap - 1);
}

static void toml_idx_insert(struct toml_parser *p, struct dbreg_toml_node *t, size_t i, uint64_t h);

static void toml_idx_grow(struct toml_parser *p)
{
	struct toml_idx *old = p->idx;
	size_t oldcap = p->idx_cap;
	size_t cap = oldcap ? oldcap * 2 : 1024;
	p->idx = calloc(cap, sizeof *p->idx);
	if (!p->idx) {
		p->idx = old;
		toml_nomem(p);
	}
	p->idx_cap = cap;
	p->idx_used = 0;
	for (size_t k = 0; k < oldcap; k++)
		if (old[k].table)
			toml_idx_insert(p, old[k].table, old[k].i, old[k].hash);
	free(old);
}

static void toml_idx_insert(struct toml_parser *p, struct dbreg_toml_node *t, size_t i, uint64_t h)
{
	if ((p->idx_used + 1) * 2 > p->idx_cap)
		toml_idx_grow(p);
	size_t s = toml_idx_slot(t, h, p->idx_cap);
	while (p->idx[s].table)
		s = (s + 1) & (p->idx_cap - 1);
	p->idx[s].table = t;
	p->idx[s].i = i;
	p->idx[s].hash = h;
	p->idx_used++;
}

static uint64_t toml_seg_hash(struct toml_seg *k)
{
	if (!k->hashed) {
		k->hash = toml_hash(k->ptr, k->len);
		k->hashed = true;
	}
	return k->hash;
}

static struct dbreg_toml_kv *toml_find(struct toml_parser *p, struct dbreg_toml_node *t, struct toml_seg *k)
{
	struct dbreg_toml_kv *items = t->u.table.items;
	if (t->u.table.len < TOML_INDEX_MIN) {
		for (size_t i = 0; i < t->u.table.len; i++)
			if (items[i].key_len == k->len && memcmp(items[i].key, k->ptr, k->len) == 0)
				return &items[i];
		return NULL;
	}
	uint64_t h = toml_seg_hash(k);
	for (size_t s = toml_idx_slot(t, h, p->idx_cap); p->idx[s].table; s = (s + 1) & (p->idx_cap - 1)) {
		const struct toml_idx *e = &p->idx[s];
		if (e->table == t && e->hash == h) {
			struct dbreg_toml_kv *kv = &items[e->i];
			if (kv->key_len == k->len && memcmp(kv->key, k->ptr, k->len) == 0)
				return kv;
		}
	}
	return NULL;
}

static void toml_add(struct toml_parser *p, struct dbreg_toml_node *t, struct toml_seg *k,
		     struct dbreg_toml_node *v)
{
	if (t->u.table.len == t->u.table.cap) {
		size_t cap = t->u.table.cap ? t->u.table.cap * 2 : 4;
		t->u.table.items = toml_grow(p, t->u.table.items, t->u.table.len, cap, sizeof *t->u.table.items);
		t->u.table.cap = cap;
	}
	struct dbreg_toml_kv *kv = &t->u.table.items[t->u.table.len++];
	kv->key = k->ptr;
	kv->key_len = k->len;
	kv->line = k->line;
	kv->column = k->column;
	kv->value = v;
	size_t n = t->u.table.len;
	if (n == TOML_INDEX_MIN) {
		for (size_t i = 0; i < n; i++)
			toml_idx_insert(p, t, i, toml_hash(t->u.table.items[i].key, t->u.table.items[i].key_len));
	} else if (n > TOML_INDEX_MIN) {
		toml_idx_insert(p, t, n - 1, toml_seg_hash(k));
	}
}

static void toml_push(struct toml_parser *p, struct dbreg_toml_node *a, struct dbreg_toml_node *v)
{
	if (a->u.array.len == a->u.array.cap) {
		size_t cap = a->u.array.cap ? a->u.array.cap * 2 : 4;
		a->u.array.items = toml_grow(p, a->u.array.items, a->u.array.len, cap, sizeof *a->u.array.items);
		a->u.array.cap = cap;
	}
	a->u.array.items[a->u.array.len++] = v;
}

/* ---- lexical helpers ---------------------------------------------------- */

static int toml_peek(const struct toml_parser *p, size_t ahead)
{
	return p->pos + ahead < p->len ? (unsigned char)p->buf[p->pos + ahead] : -1;
}

static void toml_newline(struct toml_parser *p, size_t after)
{
	p->line++;
	p->line_start = after;
}

static void toml_skip_ws(struct toml_parser *p)
{
	while (p->pos < p->len && (p->buf[p->pos] == ' ' || p->buf[p->pos] == '\t'))
		p->pos++;
}

/* Is the byte a control character TOML forbids in comments and strings? */
static int toml_is_ctrl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* The bytes that end a run of plain string text: either quote, the
 * backslash and the control characters (tab excepted). A run stops at a
 * byte its string does not treat specially too; the caller goes on. */
static const unsigned char toml_run_stop[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1, [0x07] = 1,
	[0x08] = 1, [0x0A] = 1, [0x0B] = 1, [0x0C] = 1, [0x0D] = 1, [0x0E] = 1, [0x0F] = 1,
	[0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
	[0x18] = 1, [0x19] = 1, [0x1A] = 1, [0x1B] = 1, [0x1C] = 1, [0x1D] = 1, [0x1E] = 1, [0x1F] = 1,
	['"'] = 1, ['\''] = 1, ['\\'] = 1, [0x7F] = 1,
};

/* Whether any of the eight bytes of w may stop a run: one below 0x20 (a
 * tab too, which does not: the byte loop then decides), a quote, a
 * backslash or 0x7F. Never false when one does. */
static int toml_word_may_stop(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
#define TOML_HAS_ZERO(v) (((v) - ones) & ~(v) & highs)
	uint64_t r = (w - ones * 0x20) & ~w & highs;   /* a byte below 0x20 */
	r |= TOML_HAS_ZERO(w ^ (ones * '"')) | TOML_HAS_ZERO(w ^ (ones * '\'')) | TOML_HAS_ZERO(w ^ (ones * '\\')) |
	     TOML_HAS_ZERO(w ^ (ones * 0x7F));
#undef TOML_HAS_ZERO
	return r != 0;
}

/* The end of the run of plain string bytes (none in toml_run_stop) that
 * starts at i: where the first stop byte is, or len. Eight bytes at a
 * time while no byte of them can stop it. */
static size_t toml_plain_run(const char *b, size_t i, size_t len)
{
	for (;;) {
		uint64_t w;
		while (len - i >= sizeof w && (memcpy(&w, b + i, sizeof w), !toml_word_may_stop(w)))
			i += sizeof w;
		size_t word_end = len - i >= sizeof w ? i + sizeof w : len;
		while (i < word_end && !toml_run_stop[(unsigned char)b[i]])
			i++;
		if (i < word_end || i >= len)
			return i;
	}
}

/* Skips a comment from '#' up to (not including) the end of line. */
static void toml_skip_comment(struct toml_parser *p)
{
	const char *b = p->buf;
	size_t i = p->pos + 1;
	while (i < p->len) {
		unsigned char c = (unsigned char)b[i];
		if (c >= 0x20 && c != 0x7f) {
			i++;
			continue;
		}
		if (c == '\t') {
			i++;
			continue;
		}
		if (c == '\n' || (c == '\r' && i + 1 < p->len && b[i + 1] == '\n'))
			break;
		toml_fail_at(p, i, "control character 0x%02X in comment", c);
	}
	p->pos = i;
}

/* Consumes "\n" or "\r\n" if present; returns whether it did. */
static int toml_eat_newline(struct toml_parser *p)
{
	int c = toml_peek(p, 0);
	if (c == '\n') {
		p->pos++;
	} else if (c == '\r' && toml_peek(p, 1) == '\n') {
		p->pos += 2;
	} else {
		return 0;
	}
	toml_newline(p, p->pos);
	return 1;
}

/* Whitespace, newlines and comments between array elements. */
static void toml_skip_ws_nl(struct toml_parser *p)
{
	for (;;) {
		toml_skip_ws(p);
		int c = toml_peek(p, 0);
		if (c == '#')
			toml_skip_comment(p);
		else if (!toml_eat_newline(p))
			return;
	}
}

static int toml_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static size_t toml_utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Checks the whole input is UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static void toml_check_utf8(struct toml_parser *p)
{
	const unsigned char *s = (const unsigned char *)p->buf;
	size_t n = p->len, i = 0;
	while (i < n) {
		/* ASCII, the bulk of a manifest, eight bytes at a time. */
		uint64_t w;
		while (n - i >= sizeof w && (memcpy(&w, s + i, sizeof w), (w & 0x8080808080808080ull) == 0))
			i += sizeof w;
		if (i >= n)
			break;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		unsigned char c = s[i];
		size_t need;
		uint32_t cp, min;
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1; cp = c & 0x1F; min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2; cp = c & 0x0F; min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3; cp = c & 0x07; min = 0x10000;
		} else {
			toml_fail_at(p, i, "invalid UTF-8 byte 0x%02X", c);
		}
		if (n - i <= need)
			toml_fail_at(p, i, "truncated UTF-8 sequence");
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				toml_fail_at(p, i, "invalid UTF-8 sequence");
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			toml_fail_at(p, i, "invalid UTF-8 sequence (overlong, surrogate or out of range)");
		i += need + 1;
	}
}

/* ---- strings ------------------------------------------------------------ */

/* Decodes the escape at p->pos (a backslash) into the scratch buffer. */
static void toml_escape(struct toml_parser *p)
{
	size_t at = p->pos;
	int c = toml_peek(p, 1);
	char e;
	switch (c) {
	case 'b': e = '\b'; break;
	case 't': e = '\t'; break;
	case 'n': e = '\n'; break;
	case 'f': e = '\f'; break;
	case 'r': e = '\r'; break;
	case '"': e = '"'; break;
	case '\\': e = '\\'; break;
	case 'u':
	case 'U': {
		size_t nd = c == 'u' ? 4 : 8;
		uint32_t cp = 0;
		for (size_t k = 0; k < nd; k++) {
			int h = dbreg_hexval(toml_peek(p, 2 + k));
			if (h < 0)
				toml_fail_at(p, at, "\\%c escape needs %zu hex digits", c, nd);
			cp = (cp << 4) | (uint32_t)h;
		}
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			toml_fail_at(p, at, "escape \\%c%.*s is not a Unicode scalar value", c, (int)nd,
				     p->buf + at + 2);
		char tmp[4];
		toml_buf_put(p, &p->scratch, tmp, toml_utf8_put(tmp, cp));
		p->pos += 2 + nd;
		return;
	}
	default:
		toml_fail_at(p, at, "invalid escape sequence in string");
	}
	toml_buf_putc(p, &p->scratch, e);
	p->pos += 2;
}

static void toml_string_ctrl(struct toml_parser *p, size_t at)
{
	unsigned char c = (unsigned char)p->buf[at];
	if (c == '\n' || c == '\r')
		toml_fail_at(p, at, "newline in single-line string");
	toml_fail_at(p, at, "control character 0x%02X in string", c);
}

/* A single-line basic or literal string; p->pos is at the opening quote.
 * Sets *len; returns the text in the scratch buffer or, when it holds no
 * escape, in the source. */
static const char *toml_string_line(struct toml_parser *p, int literal, size_t *len)
{
	const char *b = p->buf;
	char q = literal ? '\'' : '"';
	size_t start = ++p->pos, i = start;
	for (;;) {
		i = toml_plain_run(b, i, p->len);
		if (i >= p->len)
			toml_fail_at(p, start - 1, "unterminated string");
		unsigned char c = (unsigned char)b[i];
		if (c == (unsigned char)q) {
			p->pos = i + 1;
			*len = i - start;
			return b + start;
		}
		if (toml_is_ctrl(c))
			toml_string_ctrl(p, i);
		if (c == '\\' && !literal)
			break;
		i++;
	}
	/* Slow path: escapes. */
	p->scratch.len = 0;
	toml_buf_put(p, &p->scratch, b + start, i - start);
	p->pos = i;
	for (;;) {
		if (p->pos >= p->len)
			toml_fail_at(p, start - 1, "unterminated string");
		unsigned char c = (unsigned char)b[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c == '\\') {
			toml_escape(p);
			continue;
		}
		if (toml_is_ctrl(c))
			toml_string_ctrl(p, p->pos);
		toml_buf_putc(p, &p->scratch, (char)c);
		p->pos++;
	}
	*len = p->scratch.len;
	return p->scratch.ptr;
}

/* A multi-line string; p->pos is at the first of the three quotes. The text
 * goes to the scratch buffer, CRLF normalised to LF. */
static void toml_string_multi(struct toml_parser *p, int literal)
{
	const char *b = p->buf;
	char q = literal ? '\'' : '"';
	size_t open = p->pos;
	p->pos += 3;
	p->scratch.len = 0;
	p->str_changed = toml_peek(p, 0) == '\r';
	toml_eat_newline(p);  /* a newline right after the opening quotes is trimmed */
	for (;;) {
		if (p->pos >= p->len)
			toml_fail_at(p, open, "unterminated multi-line string");
		unsigned char c = (unsigned char)b[p->pos];
		if (c == (unsigned char)q) {
			size_t run = 0;
			while (p->pos + run < p->len && b[p->pos + run] == q)
				run++;
			if (run >= 3) {
				if (run > 5)
					toml_fail_at(p, p->pos + 5, "too many quotes at the end of a multi-line string");
				toml_buf_put(p, &p->scratch, b + p->pos, run - 3);
				p->pos += run;
				return;
			}
			toml_buf_put(p, &p->scratch, b + p->pos, run);
			p->pos += run;
			continue;
		}
		if (c == '\\' && !literal) {
			/* A backslash ending a line eats all whitespace up to the next text. */
			size_t k = p->pos + 1;
			while (k < p->len && (b[k] == ' ' || b[k] == '\t'))
				k++;
			p->str_changed = true;
			if (k < p->len && (b[k] == '\n' || (b[k] == '\r' && k + 1 < p->len && b[k + 1] == '\n'))) {
				p->pos = k;
				for (;;) {
					toml_skip_ws(p);
					if (!toml_eat_newline(p))
						break;
				}
				continue;
			}
			toml_escape(p);
			continue;
		}
		if (c == '\n') {
			toml_buf_putc(p, &p->scratch, '\n');
			toml_newline(p, ++p->pos);
			continue;
		}
		if (c == '\r' && toml_peek(p, 1) == '\n') {
			p->str_changed = true;
			toml_buf_putc(p, &p->scratch, '\n');
			p->pos += 2;
			toml_newline(p, p->pos);
			continue;
		}
		if (toml_is_ctrl(c))
			toml_fail_at(p, p->pos, "control character 0x%02X in string", c);
		/* Copy a run of plain bytes at once. */
		size_t k = toml_plain_run(b, p->pos + 1, p->len);
		toml_buf_put(p, &p->scratch, b + p->pos, k - p->pos);
		p->pos = k;
	}
}

static struct dbreg_toml_node *toml_string(struct toml_parser *p, unsigned depth)
{
	size_t start = p->pos;
	struct dbreg_toml_node *n = toml_node(p, DBREG_TOML_STRING, depth, start);
	toml_place(p, n, start);
	int literal = p->buf[start] == '\'';
	const char *s;
	size_t len;
	bool verbatim;
	if (toml_peek(p, 1) == p->buf[start] && toml_peek(p, 2) == p->buf[start]) {
		toml_string_multi(p, literal);
		s = p->scratch.ptr;
		len = p->scratch.len;
		verbatim = !p->str_changed;
	} else {
		s = toml_string_line(p, literal, &len);
		verbatim = s == p->buf + start + 1;   /* no escape: the text is read in place */
	}
	n->u.str.ptr = toml_strdup(p, s ? s : "", len);
	n->u.str.len = len;
	n->src_len = p->pos - start;
	if (verbatim)
		n->flags |= TOML_F_VERBATIM;
	return n;
}

/* ---- keys --------------------------------------------------------------- */

/* A-Z a-z 0-9 _ -, by table: a key is read a byte at a time. */
static const unsigned char toml_bare[256] = {
	['-'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
	['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
	['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1,
	['Z'] = 1, ['_'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
	['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,
	['z'] = 1,
};

static int toml_is_bare(int c)
{
	return c >= 0 && c < 256 && toml_bare[c];
}

/* Parses a (dotted) key at p->pos, appending its segments to p->segs. */
static void toml_key(struct toml_parser *p)
{
	for (;;) {
		if (p->nsegs == p->segs_cap) {
			size_t cap = p->segs_cap ? p->segs_cap * 2 : 16;
			p->segs = toml_xrealloc(p, p->segs, cap * sizeof *p->segs);
			p->segs_cap = cap;
		}
		struct toml_seg *s = &p->segs[p->nsegs];
		s->off = p->pos;
		s->line = p->line;
		s->column = (unsigned)(p->pos - p->line_start + 1);
		int c = toml_peek(p, 0);
		if (c == '"' || c == '\'') {
			if (toml_peek(p, 1) == c && toml_peek(p, 2) == c)
				toml_fail_at(p, p->pos, "a key cannot be a multi-line string");
			size_t len;
			const char *t = toml_string_line(p, c == '\'', &len);
			s->ptr = toml_strdup(p, t ? t : "", len);
			s->len = len;
		} else if (toml_is_bare(c)) {
			size_t start = p->pos;
			while (p->pos < p->len && toml_is_bare((unsigned char)p->buf[p->pos]))
				p->pos++;
			s->ptr = toml_strdup(p, p->buf + start, p->pos - start);
			s->len = p->pos - start;
		} else {
			TOML_EXPECTED(p, "a key");
		}
		s->hashed = false;
		p->nsegs++;
		toml_skip_ws(p);
		if (toml_peek(p, 0) != '.')
			return;
		p->pos++;
		toml_skip_ws(p);
	}
}

static char *toml_seg_desc(const struct toml_seg *s, char *tmp, size_t n)
{
	snprintf(tmp, n, "%.*s", (int)(s->len > 64 ? 64 : s->len), s->ptr);
	return tmp;
}

/* ---- values ------------------------------------------------------------- */

static struct dbreg_toml_node *toml_value(struct toml_parser *p, unsigned depth);

/* Parses `key = value` into table t (dotted segments create sub-tables). */
static void toml_keyval(struct toml_parser *p, struct dbreg_toml_node *t)
{
	size_t base = p->nsegs;
	char tmp[80];
	toml_key(p);
	if (toml_peek(p, 0) != '=')
		TOML_EXPECTED(p, "'=' after key");
	p->pos++;
	toml_skip_ws(p);
	for (size_t i = base; i + 1 < p->nsegs; i++) {
		struct toml_seg *s = &p->segs[i];
		struct dbreg_toml_kv *kv = toml_find(p, t, s);
		if (!kv) {
			struct dbreg_toml_node *n = toml_node(p, DBREG_TOML_TABLE, TOML_DEPTH(t) + 1, 0);
			n->line = s->line;
			n->column = s->column;
			n->flags |= TOML_F_DOTTED;
			toml_add(p, t, s, n);
			t = n;
			continue;
		}
		struct dbreg_toml_node *v = kv->value;
		if (v->type != DBREG_TOML_TABLE)
			toml_fail_at(p, s->off, "key '%s' already holds a value, cannot add keys to it",
				     toml_seg_desc(s, tmp, sizeof tmp));
		if (v->flags & (TOML_F_INLINE | TOML_F_DEFINED))
			toml_fail_at(p, s->off, "cannot add keys with dotted keys to table '%s' defined at %u:%u",
				     toml_seg_desc(s, tmp, sizeof tmp), v->line, v->column);
		v->flags |= TOML_F_DOTTED;
		t = v;
	}
	struct toml_seg last = p->segs[p->nsegs - 1];
	p->nsegs = base;
	struct dbreg_toml_kv *dup = toml_find(p, t, &last);
	if (dup) {
		toml_fail_at(p, last.off, "duplicate key '%s' (first defined at %u:%u)",
			     toml_seg_desc(&last, tmp, sizeof tmp), dup->line, dup->column);
	}
	struct dbreg_toml_node *v = toml_value(p, TOML_DEPTH(t) + 1);
	toml_add(p, t, &last, v);
}

static struct dbreg_toml_node *toml_array(struct toml_parser *p, unsigned depth)
{
	size_t start = p->pos;
	struct dbreg_toml_node *a = toml_node(p, DBREG_TOML_ARRAY, depth, start);
	toml_place(p, a, start);
	a->flags |= TOML_F_INLINE;
	p->pos++;
	for (;;) {
		toml_skip_ws_nl(p);
		if (toml_peek(p, 0) == ']')
			break;
		toml_push(p, a, toml_value(p, depth + 1));
		toml_skip_ws_nl(p);
		int c = toml_peek(p, 0);
		if (c == ',') {
			p->pos++;
			continue;
		}
		if (c == ']')
			break;
		TOML_EXPECTED(p, "',' or ']' in array");
	}
	p->pos++;
	a->src_len = p->pos - start;
	return a;
}

static struct dbreg_toml_node *toml_inline_table(struct toml_parser *p, unsigned depth)
{
	size_t start = p->pos;
	struct dbreg_toml_node *t = toml_node(p, DBREG_TOML_TABLE, depth, start);
	toml_place(p, t, start);
	p->pos++;
	toml_skip_ws(p);
	if (toml_peek(p, 0) == '}') {
		p->pos++;
	} else {
		for (;;) {
			toml_skip_ws(p);
			toml_keyval(p, t);
			toml_skip_ws(p);
			int c = toml_peek(p, 0);
			if (c == ',') {
				p->pos++;
				toml_skip_ws(p);
				if (toml_peek(p, 0) == '}')
					toml_fail_at(p, p->pos, "trailing comma in inline table");
				continue;
			}
			if (c == '}') {
				p->pos++;
				break;
			}
			TOML_EXPECTED(p, "',' or '}' in inline table");
		}
	}
	/* Frozen only now: dotted keys inside may extend their own tables. */
	t->flags |= TOML_F_INLINE;
	t->src_len = p->pos - start;
	return t;
}

static int toml_match(const struct toml_parser *p, const char *word)
{
	size_t n = strlen(word);
	return p->len - p->pos >= n && memcmp(p->buf + p->pos, word, n) == 0;
}

/* Reads exactly n digits at off into *out; returns 0 if they are not there. */
static int toml_digits(const struct toml_parser *p, size_t off, size_t n, int *out)
{
	int v = 0;
	if (off > p->len || p->len - off < n)
		return 0;
	for (size_t k = 0; k < n; k++) {
		char c = p->buf[off + k];
		if (!toml_is_digit(c))
			return 0;
		v = v * 10 + (c - '0');
	}
	*out = v;
	return 1;
}

static int toml_days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* HH:MM:SS[.frac] at p->pos. */
static void toml_time(struct toml_parser *p)
{
	int h, m, s;
	size_t at = p->pos;
	if (!toml_digits(p, at, 2, &h) || toml_peek(p, 2) != ':' || !toml_digits(p, at + 3, 2, &m) ||
	    toml_peek(p, 5) != ':' || !toml_digits(p, at + 6, 2, &s))
		toml_fail_at(p, at, "expected a time HH:MM:SS");
	if (h > 23 || m > 59 || s > 60)
		toml_fail_at(p, at, "time %02d:%02d:%02d out of range", h, m, s);
	p->pos += 8;
	if (toml_peek(p, 0) == '.') {
		if (!toml_is_digit(toml_peek(p, 1)))
			toml_fail_at(p, p->pos, "expected digits after '.' in time");
		p->pos++;
		while (toml_is_digit(toml_peek(p, 0)))
			p->pos++;
	}
}

static struct dbreg_toml_node *toml_datetime(struct toml_parser *p, unsigned depth, int has_date)
{
	size_t start = p->pos;
	enum dbreg_toml_type type = DBREG_TOML_TIME_LOCAL;
	if (has_date) {
		int y, mo, d;
		if (!toml_digits(p, start, 4, &y) || toml_peek(p, 4) != '-' || !toml_digits(p, start + 5, 2, &mo) ||
		    toml_peek(p, 7) != '-' || !toml_digits(p, start + 8, 2, &d))
			toml_fail_at(p, start, "expected a date YYYY-MM-DD");
		if (mo < 1 || mo > 12 || d < 1 || d > toml_days_in_month(y, mo))
			toml_fail_at(p, start, "date %04d-%02d-%02d does not exist", y, mo, d);
		p->pos += 10;
		type = DBREG_TOML_DATE_LOCAL;
		int c = toml_peek(p, 0);
		if (c == 'T' || c == 't' ||
		    (c == ' ' && toml_is_digit(toml_peek(p, 1)) && toml_is_digit(toml_peek(p, 2)) && toml_peek(p, 3) == ':')) {
			p->pos++;
			toml_time(p);
			type = DBREG_TOML_DATETIME_LOCAL;
			c = toml_peek(p, 0);
			if (c == 'Z' || c == 'z') {
				p->pos++;
				type = DBREG_TOML_DATETIME;
			} else if (c == '+' || c == '-') {
				int oh, om;
				if (!toml_digits(p, p->pos + 1, 2, &oh) || toml_peek(p, 3) != ':' ||
				    !toml_digits(p, p->pos + 4, 2, &om))
					toml_fail_at(p, p->pos, "expected a time offset +HH:MM");
				if (oh > 23 || om > 59)
					toml_fail_at(p, p->pos, "time offset out of range");
				p->pos += 6;
				type = DBREG_TOML_DATETIME;
			}
		}
	} else {
		toml_time(p);
	}
	struct dbreg_toml_node *n = toml_node(p, type, depth, start);
	toml_place(p, n, start);
	n->src_len = p->pos - start;
	char *s = toml_strdup(p, p->buf + start, n->src_len);
	if (n->src_len > 10 && has_date)
		s[10] = 'T';
	if (type == DBREG_TOML_DATETIME && s[n->src_len - 1] == 'z')
		s[n->src_len - 1] = 'Z';
	n->u.datetime = s;
	return n;
}

/* Checks digits with single underscores between them in s[0..n); returns
 * the number of digits or -1. `radix` picks which digits count. */
static int toml_digit_run_ok(const char *s, size_t n, int radix)
{
	if (n == 0)
		return 0;
	int prev_digit = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '_') {
			if (!prev_digit || i + 1 == n)
				return 0;
			prev_digit = 0;
			continue;
		}
		int v = dbreg_hexval(c);
		if (v < 0 || v >= radix)
			return 0;
		prev_digit = 1;
	}
	return 1;
}

static struct dbreg_toml_node *toml_number(struct toml_parser *p, unsigned depth)
{
	size_t start = p->pos, end = start;
	while (end < p->len) {
		int c = (unsigned char)p->buf[end];
		if (!toml_is_bare(c) && c != '+' && c != '.')
			break;
		end++;
	}
	const char *s = p->buf + start;
	size_t n = end - start;
	struct dbreg_toml_node *node = toml_node(p, DBREG_TOML_INTEGER, depth, start);
	toml_place(p, node, start);
	node->src_len = n;
	p->pos = end;

	size_t i = 0;
	int neg = 0;
	if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		i = 1;
	}
	if (n - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
		int radix = s[i + 1] == 'x' ? 16 : s[i + 1] == 'o' ? 8 : 2;
		if (i)
			toml_fail_at(p, start, "a sign is not allowed on a %s integer",
				     radix == 16 ? "hexadecimal" : radix == 8 ? "octal" : "binary");
		if (!toml_digit_run_ok(s + 2, n - 2, radix))
			toml_fail_at(p, start, "invalid %s integer '%.*s'",
				     radix == 16 ? "hexadecimal" : radix == 8 ? "octal" : "binary", (int)(n > 40 ? 40 : n), s);
		uint64_t v = 0;
		for (size_t k = 2; k < n; k++) {
			if (s[k] == '_')
				continue;
			uint64_t d = (uint64_t)dbreg_hexval((unsigned char)s[k]);
			if (v > ((uint64_t)INT64_MAX - d) / (uint64_t)radix)
				toml_fail_at(p, start, "integer out of 64-bit range");
			v = v * (uint64_t)radix + d;
		}
		node->u.integer = (int64_t)v;
		return node;
	}
	/* Decimal integer part: digits with inner underscores, no leading zero. */
	size_t ip = i;
	while (ip < n && (toml_is_digit(s[ip]) || s[ip] == '_'))
		ip++;
	if (!toml_digit_run_ok(s + i, ip - i, 10))
		toml_fail_at(p, start, "invalid number '%.*s'", (int)(n > 40 ? 40 : n), s);
	if (s[i] == '0' && ip - i > 1)
		toml_fail_at(p, start, "leading zeros are not allowed in '%.*s'", (int)(n > 40 ? 40 : n), s);
	if (ip == n) {
		uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		for (size_t k = i; k < n; k++) {
			if (s[k] == '_')
				continue;
			uint64_t d = (uint64_t)(s[k] - '0');
			if (v > (lim - d) / 10)
				toml_fail_at(p, start, "integer out of 64-bit range");
			v = v * 10 + d;
		}
		node->u.integer = neg ? (int64_t)(0 - v) : (int64_t)v;
		return node;
	}
	/* Float: [.digits][e[sign]digits], at least one of the two. */
	size_t k = ip;
	if (s[k] == '.') {
		size_t f = ++k;
		while (k < n && (toml_is_digit(s[k]) || s[k] == '_'))
			k++;
		if (!toml_digit_run_ok(s + f, k - f, 10))
			toml_fail_at(p, start, "expected digits after '.' in '%.*s'", (int)(n > 40 ? 40 : n), s);
	}
	if (k < n && (s[k] == 'e' || s[k] == 'E')) {
		k++;
		if (k < n && (s[k] == '+' || s[k] == '-'))
			k++;
		size_t f = k;
		while (k < n && (toml_is_digit(s[k]) || s[k] == '_'))
			k++;
		if (!toml_digit_run_ok(s + f, k - f, 10))
			toml_fail_at(p, start, "expected digits in the exponent of '%.*s'", (int)(n > 40 ? 40 : n), s);
	}
	if (k != n)
		toml_fail_at(p, start, "invalid number '%.*s'", (int)(n > 40 ? 40 : n), s);
	p->scratch.len = 0;
	for (k = 0; k < n; k++)
		if (s[k] != '_')
			toml_buf_putc(p, &p->scratch, s[k]);
	toml_buf_putc(p, &p->scratch, '\0');
	node->type = DBREG_TOML_FLOAT;
	node->u.fp = strtod(p->scratch.ptr, NULL);
	return node;
}

static struct dbreg_toml_node *toml_value(struct toml_parser *p, unsigned depth)
{
	int c = toml_peek(p, 0);
	size_t start = p->pos;
	struct dbreg_toml_node *n;
	switch (c) {
	case '"':
	case '\'':
		return toml_string(p, depth);
	case '[':
		return toml_array(p, depth);
	case '{':
		return toml_inline_table(p, depth);
	case 't':
	case 'f':
		if (!toml_match(p, c == 't' ? "true" : "false"))
			break;
		n = toml_node(p, DBREG_TOML_BOOL, depth, start);
		toml_place(p, n, start);
		n->u.boolean = c == 't';
		n->src_len = c == 't' ? 4 : 5;
		p->pos += n->src_len;
		return n;
	case '+':
	case '-':
	case 'i':
	case 'n': {
		size_t k = (c == '+' || c == '-') ? 1 : 0;
		p->pos += k;
		int inf = toml_match(p, "inf"), nan = toml_match(p, "nan");
		p->pos = start;
		if (!inf && !nan) {
			if (k && toml_is_digit(toml_peek(p, 1)))
				return toml_number(p, depth);
			break;
		}
		n = toml_node(p, DBREG_TOML_FLOAT, depth, start);
		toml_place(p, n, start);
		n->u.fp = inf ? (c == '-' ? -INFINITY : INFINITY) : (c == '-' ? -NAN : NAN);
		n->src_len = k + 3;
		p->pos += n->src_len;
		return n;
	}
	default:
		if (!toml_is_digit(c))
			break;
		if (toml_is_digit(toml_peek(p, 1)) && toml_peek(p, 2) == ':')
			return toml_datetime(p, depth, 0);
		if (toml_is_digit(toml_peek(p, 1)) && toml_is_digit(toml_peek(p, 2)) &&
		    toml_is_digit(toml_peek(p, 3)) && toml_peek(p, 4) == '-')
			return toml_datetime(p, depth, 1);
		return toml_number(p, depth);
	}
	TOML_EXPECTED(p, "a value");
}

/* ---- headers and the document ------------------------------------------- */

static struct dbreg_toml_node *toml_header(struct toml_parser *p, struct dbreg_toml_node *root)
{
	size_t start = p->pos;
	unsigned line = p->line, col = (unsigned)(start - p->line_start + 1);
	int aot = toml_peek(p, 1) == '[';
	char tmp[80];
	p->pos += aot ? 2 : 1;
	toml_skip_ws(p);
	p->nsegs = 0;
	toml_key(p);
	if (toml_peek(p, 0) != ']' || (aot && toml_peek(p, 1) != ']'))
		TOML_EXPECTED(p, aot ? "']]' to close the array of tables header" : "']' to close the table header");
	p->pos += aot ? 2 : 1;

	struct dbreg_toml_node *t = root;
	for (size_t i = 0; i + 1 < p->nsegs; i++) {
		struct toml_seg *s = &p->segs[i];
		struct dbreg_toml_kv *kv = toml_find(p, t, s);
		if (!kv) {
			struct dbreg_toml_node *n = toml_node(p, DBREG_TOML_TABLE, TOML_DEPTH(t) + 1, start);
			n->line = s->line;
			n->column = s->column;
			n->flags |= TOML_F_IMPLICIT;
			toml_add(p, t, s, n);
			t = n;
			continue;
		}
		struct dbreg_toml_node *v = kv->value;
		if (v->type == DBREG_TOML_TABLE && !(v->flags & TOML_F_INLINE)) {
			t = v;
		} else if (v->type == DBREG_TOML_ARRAY && (v->flags & TOML_F_AOT)) {
			t = v->u.array.items[v->u.array.len - 1];
		} else {
			toml_fail_at(p, s->off, "key '%s' (defined at %u:%u) is not a table that can be extended",
				     toml_seg_desc(s, tmp, sizeof tmp), kv->line, kv->column);
		}
	}
	struct toml_seg *s = &p->segs[p->nsegs - 1];
	struct dbreg_toml_kv *kv = toml_find(p, t, s);
	struct dbreg_toml_node *n;
	if (!aot) {
		if (!kv) {
			n = toml_node(p, DBREG_TOML_TABLE, TOML_DEPTH(t) + 1, start);
			toml_add(p, t, s, n);
		} else {
			n = kv->value;
			if (n->type != DBREG_TOML_TABLE ||
			    (n->flags & (TOML_F_INLINE | TOML_F_DEFINED | TOML_F_DOTTED)))
				toml_fail_at(p, start, "table '%s' already defined at %u:%u",
					     toml_seg_desc(s, tmp, sizeof tmp), kv->line, kv->column);
		}
	} else {
		struct dbreg_toml_node *a;
		if (!kv) {
			a = toml_node(p, DBREG_TOML_ARRAY, TOML_DEPTH(t) + 1, start);
			a->line = line;
			a->column = col;
			a->flags |= TOML_F_AOT;
			toml_add(p, t, s, a);
		} else {
			a = kv->value;
			if (a->type != DBREG_TOML_ARRAY || !(a->flags & TOML_F_AOT))
				toml_fail_at(p, start, "key '%s' (defined at %u:%u) is not an array of tables",
					     toml_seg_desc(s, tmp, sizeof tmp), kv->line, kv->column);
		}
		n = toml_node(p, DBREG_TOML_TABLE, TOML_DEPTH(a) + 1, start);
		toml_push(p, a, n);
	}
	n->flags |= TOML_F_DEFINED;
	n->line = line;
	n->column = col;
	n->src_off = start;
	n->src_len = p->pos - start;
	return n;
}

/* After a value or header: whitespace, an optional comment, then a newline. */
static void toml_end_of_line(struct toml_parser *p)
{
	toml_skip_ws(p);
	if (toml_peek(p, 0) == '#')
		toml_skip_comment(p);
	if (p->pos < p->len && !toml_eat_newline(p))
		TOML_EXPECTED(p, "end of line");
}

static void toml_document(struct toml_parser *p)
{
	struct dbreg_toml_node *root = toml_node(p, DBREG_TOML_TABLE, 0, 0);
	root->line = root->column = 1;
	root->flags |= TOML_F_DEFINED;
	p->doc->pub.root = root;
	struct dbreg_toml_node *cur = root;
	toml_check_utf8(p);
	if (p->len >= 3 && memcmp(p->buf, "\xEF\xBB\xBF", 3) == 0)
		p->pos = p->line_start = 3;
	while (p->pos < p->len) {
		toml_skip_ws(p);
		int c = toml_peek(p, 0);
		if (c < 0)
			break;
		if (c == '#' || c == '\n' || c == '\r') {
			toml_end_of_line(p);
			continue;
		}
		if (c == '[') {
			cur = toml_header(p, root);
		} else {
			p->nsegs = 0;
			toml_keyval(p, cur);
		}
		toml_end_of_line(p);
	}
}

/* ---- public API --------------------------------------------------------- */

/* Frees the nodes and the byte arena (the tree and its text). */
static void toml_doc_free_tree(struct toml_doc_impl *d)
{
	for (struct toml_node_chunk *c = d->nodes, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	for (struct toml_byte_chunk *c = d->bytes, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	d->nodes = NULL;
	d->bytes = NULL;
	d->pub.root = NULL;
}

static void toml_doc_free_impl(struct toml_doc_impl *d)
{
	if (!d)
		return;
	toml_doc_free_tree(d);
	free(d->pub.src);
	free(d);
}

/* The one setjmp, alone in its function so no local can be clobbered. */
static int toml_run(struct toml_parser *p)
{
	if (setjmp(p->jmp) != 0)
		return p->code;
	toml_document(p);
	return 0;
}

int dbreg_toml_parse(struct dbreg_toml_doc **out, const char *buf, size_t len,
		     struct dbreg_toml_error *err)
{
	*out = NULL;
	if (err) {
		err->line = err->column = 0;
		err->message[0] = '\0';
	}
	struct toml_doc_impl *d = calloc(1, sizeof *d);
	if (!d)
		return -2;
	d->pub.src = malloc(len ? len : 1);
	if (!d->pub.src) {
		free(d);
		return -2;
	}
	if (len)
		memcpy(d->pub.src, buf, len);
	d->pub.src_len = len;

	struct toml_parser p;
	memset(&p, 0, sizeof p);
	p.buf = d->pub.src;
	p.len = len;
	p.line = 1;
	p.doc = d;
	p.err = err;
	int rc = toml_run(&p);
	free(p.scratch.ptr);
	free(p.segs);
	free(p.idx);
	if (rc != 0) {
		toml_doc_free_impl(d);
		return rc;
	}
	*out = &d->pub;
	return 0;
}

void dbreg_toml_doc_free(struct dbreg_toml_doc *doc)
{
	/* pub is the first member, so the cast recovers the whole allocation. */
	toml_doc_free_impl((struct toml_doc_impl *)doc);
}

void dbreg_toml_doc_strip(struct dbreg_toml_doc *doc, bool keep_source)
{
	if (!doc)
		return;
	toml_doc_free_tree((struct toml_doc_impl *)doc);
	if (!keep_source) {
		free(doc->src);
		doc->src = NULL;
		doc->src_len = 0;
	}
}

const struct dbreg_toml_node *dbreg_toml_get(const struct dbreg_toml_node *table, const char *key)
{
	if (!table || !key || table->type != DBREG_TOML_TABLE)
		return NULL;
	size_t n = strlen(key);
	for (size_t i = 0; i < table->u.table.len; i++) {
		const struct dbreg_toml_kv *kv = &table->u.table.items[i];
		if (kv->key_len == n && memcmp(kv->key, key, n) == 0)
			return kv->value;
	}
	return NULL;
}

/* Length of the escape at s (a backslash) in the source and of its decoded
 * text; the source was validated by the parser. */
static void toml_escape_len(const char *s, size_t *src, size_t *dec)
{
	if (s[1] == 'u' || s[1] == 'U') {
		size_t nd = s[1] == 'u' ? 4 : 8;
		uint32_t cp = 0;
		char tmp[4];
		for (size_t k = 0; k < nd; k++)
			cp = (cp << 4) | (uint32_t)dbreg_hexval((unsigned char)s[2 + k]);
		*src = 2 + nd;
		*dec = toml_utf8_put(tmp, cp);
		return;
	}
	*src = 2;
	*dec = 1;
}

int dbreg_toml_string_pos(const struct dbreg_toml_doc *doc, const struct dbreg_toml_node *node,
			  size_t offset, unsigned *line, unsigned *column)
{
	return dbreg_toml_string_pos_from(doc, node, offset, NULL, line, column);
}

int dbreg_toml_string_pos_from(const struct dbreg_toml_doc *doc, const struct dbreg_toml_node *node,
			       size_t offset, struct dbreg_toml_strpos *cur, unsigned *line, unsigned *column)
{
	struct dbreg_toml_span span = dbreg_toml_string_span(node);
	return dbreg_toml_span_pos_from(doc, &span, offset, cur, line, column);
}

struct dbreg_toml_span dbreg_toml_string_span(const struct dbreg_toml_node *node)
{
	if (!node || node->type != DBREG_TOML_STRING)
		return (struct dbreg_toml_span){0};
	struct dbreg_toml_span span = {.off = node->src_off, .len = node->src_len, .dec_len = node->u.str.len,
				       .line = node->line, .column = node->column};
	if (node->flags & TOML_F_VERBATIM) {
		/* The source is the quotes, maybe a trimmed LF, the text and the
		 * quotes: 1 + text + 1, 3 + text + 3 or 3 + LF + text + 3 bytes. */
		size_t around = node->src_len - node->u.str.len;
		span.head = around == 2 ? 1 : (unsigned)(around - 3);
	}
	return span;
}

/* The rest of a position lookup in a string: lines and columns counted
 * from `from` (at l, col) up to target, the place kept in *cur for the
 * next lookup of the same string (dec: target's offset in the decoded
 * text), then given out. */
static int toml_pos_walk(const struct dbreg_toml_doc *doc, const struct dbreg_toml_span *span, const char *from,
			 const char *target, size_t dec, unsigned l, unsigned col, struct dbreg_toml_strpos *cur,
			 unsigned *line, unsigned *column)
{
	for (const char *k = from; k < target; k++) {
		if (*k == '\n') {
			l++;
			col = 1;
		} else {
			col++;
		}
	}
	if (cur)
		*cur = (struct dbreg_toml_strpos){.doc = doc, .off = span->off, .at = target, .dec = dec,
						  .line = l, .column = col};
	if (line)
		*line = l;
	if (column)
		*column = col;
	return 0;
}

int dbreg_toml_span_pos_text(const struct dbreg_toml_doc *doc, const struct dbreg_toml_span *span, const char *text,
			     size_t offset, struct dbreg_toml_strpos *cur, unsigned *line, unsigned *column)
{
	if (!span || !span->head || !text || offset > span->dec_len)
		return -1;
	/* As dbreg_toml_span_pos_from counts: every source byte a column, a
	 * newline a line; here the source bytes are the opening quotes, maybe
	 * a newline, then the text itself. */
	unsigned l = span->line, col = span->column + (span->head > 3 ? 3 : span->head);
	if (span->head > 3) {
		l++;
		col = 1;
	}
	const char *from = text;
	if (cur && cur->doc == doc && cur->off == span->off && offset >= cur->dec && cur->at) {
		from = cur->at;
		l = cur->line;
		col = cur->column;
	}
	return toml_pos_walk(doc, span, from, text + offset, offset, l, col, cur, line, column);
}

int dbreg_toml_span_pos_from(const struct dbreg_toml_doc *doc, const struct dbreg_toml_span *span, size_t offset,
			     struct dbreg_toml_strpos *cur, unsigned *line, unsigned *column)
{
	if (!doc || !span || span->len < 2 || span->off > doc->src_len || doc->src_len - span->off < span->len ||
	    offset > span->dec_len)
		return -1;
	const char *s = doc->src + span->off, *e = s + span->len;
	char q = s[0];
	if ((q != '"' && q != '\'') || e[-1] != q)
		return -1;
	int basic = q == '"';
	int multi = span->len >= 6 && s[1] == q && s[2] == q;
	const char *c = s + (multi ? 3 : 1), *end = e - (multi ? 3 : 1);
	if (multi) {
		if (c < end && *c == '\n')
			c++;
		else if (end - c >= 2 && c[0] == '\r' && c[1] == '\n')
			c += 2;
	}
	size_t dec = 0;
	const char *from = s;
	unsigned l = span->line, col = span->column;
	/* Go on from the last lookup of this string when it lies before. */
	if (cur && cur->off == span->off && cur->doc == doc && offset >= cur->dec) {
		c = cur->at;
		dec = cur->dec;
		from = cur->at;
		l = cur->line;
		col = cur->column;
	}
	const char *target = end;
	while (c < end) {
		size_t src = 1, n = 1;
		if (basic && *c == '\\') {
			const char *k = c + 1;
			while (k < end && (*k == ' ' || *k == '\t'))
				k++;
			if (multi && k < end && (*k == '\n' || *k == '\r')) {
				while (k < end && (*k == ' ' || *k == '\t' || *k == '\n' || *k == '\r'))
					k++;
				c = k;
				continue;
			}
			toml_escape_len(c, &src, &n);
		} else if (*c == '\r' && end - c >= 2 && c[1] == '\n') {
			src = 2;
		}
		if (offset < dec + n) {
			target = c;
			break;
		}
		dec += n;
		c += src;
	}
	return toml_pos_walk(doc, span, from, target, dec, l, col, cur, line, column);
}

const char *dbreg_toml_type_name(enum dbreg_toml_type type)
{
	switch (type) {
	case DBREG_TOML_TABLE: return "table";
	case DBREG_TOML_ARRAY: return "array";
	case DBREG_TOML_STRING: return "string";
	case DBREG_TOML_INTEGER: return "integer";
	case DBREG_TOML_FLOAT: return "float";
	case DBREG_TOML_BOOL: return "bool";
	case DBREG_TOML_DATETIME: return "datetime";
	case DBREG_TOML_DATETIME_LOCAL: return "datetime-local";
	case DBREG_TOML_DATE_LOCAL: return "date-local";
	case DBREG_TOML_TIME_LOCAL: return "time-local";
	}
	return "unknown";
}
