/* Static checks of migration SQL for PostgreSQL, without a server: each
 * body is parsed by libpg_query (the server's own grammar) and the parse
 * tree is walked for syntax errors (DBR044), statements that fail or change
 * things on a second run (DBR043), table rules broken by what migrations
 * create (DBR046) and operations unsafe on a live database (DBR103).
 *
 * The tree is read from pg_query_parse's JSON rather than its protobuf form:
 * the protobuf-c runtime is vendored inside libpg_query.so, and compiling
 * against the system <protobuf-c/protobuf-c.h> would add a package and risk
 * a second, differently versioned copy of the same symbols in one process.
 * A small JSON reader has no such risk.
 *
 * Packages are checked on worker threads (libpg_query keeps its state per
 * thread), each into a list of its own; the lists are merged in registry
 * order, so the findings never depend on the threads. */
#include "sqlcheck.h"
#include "inputs.h"
#include "txcheck.h"
#include "checkcache.h"
#include "diag.h"
#include "isolation.h"
#include "registry.h"
#include "rules.h"
#include "suppress.h"
#include "util.h"
#include "workers.h"

#include <pg_query.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a minimal JSON reader for pg_query's output ------------------------- */

/* The reader allocates next to nothing (issue 18: building and freeing a
 * tree of mallocs per statement cost a third of the checks). Strings are
 * decoded in place in pg_query's own buffer, which only gets shorter (an
 * escape is never shorter than what it stands for) and is NUL-terminated
 * where the closing quote was; the members of an array or object are read
 * onto a stack, then copied in one piece into an arena that is emptied for
 * the next statement. */

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

struct json {
	enum json_type type;
	bool b;
	long long num;
	const char *str;
	const struct json *items;      /* array elements or object values */
	const char *const *keys;       /* object keys, parallel to items */
	size_t n;
};

/* The tree pg_query builds for deeply nested SQL is deep too; beyond this
 * the statement is not analysed rather than risking the stack. */
#define JSON_MAX_DEPTH 2000

/* Blocks of the arena: a chunk holds the trees of most statements. */
struct json_chunk {
	struct json_chunk *next;
	size_t size, used;
	max_align_t data[];
};

#define JSON_CHUNK_BYTES (64 * 1024)

struct json_arena {
	struct json_chunk *head;       /* the chunk in use; later ones are empty */
	struct json_chunk *first;
	/* The parser's stack, kept from one body to the next. */
	struct json *stack;
	const char **keys;
	size_t cap;
};

struct json_parser {
	char *p, *end;
	bool oom, bad;
	struct json_arena *arena;
	/* Members read so far of the arrays and objects being read. */
	struct json *stack;
	const char **keys;
	size_t n, cap;
};

static struct json_chunk *json_chunk_new(size_t size)
{
	size_t want = size > JSON_CHUNK_BYTES ? size : JSON_CHUNK_BYTES;
	struct json_chunk *c = malloc(sizeof *c + want);
	if (c)
		*c = (struct json_chunk){.size = want};
	return c;
}

static void *json_alloc(struct json_parser *jp, size_t size)
{
	struct json_arena *a = jp->arena;
	size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!a->first && !(a->head = a->first = json_chunk_new(size))) {
		jp->oom = true;
		return NULL;
	}
	struct json_chunk *c = a->head;
	while (c->size - c->used < size) {
		if (!c->next && !(c->next = json_chunk_new(size))) {
			jp->oom = true;
			return NULL;
		}
		c = c->next;
	}
	a->head = c;
	void *at = (char *)c->data + c->used;
	c->used += size;
	return at;
}

/* Empties the arena for the next statement; its chunks are kept. */
static void json_arena_reset(struct json_arena *a)
{
	for (struct json_chunk *c = a->first; c; c = c->next)
		c->used = 0;
	a->head = a->first;
}

static void json_arena_dispose(struct json_arena *a)
{
	while (a->first) {
		struct json_chunk *next = a->first->next;
		free(a->first);
		a->first = next;
	}
	free(a->stack);
	free(a->keys);
	memset(a, 0, sizeof *a);
}

/* A parser of text (modified in place) whose trees go to arena. */
static struct json_parser json_parser_start(char *text, struct json_arena *arena)
{
	return (struct json_parser){.p = text, .end = text ? text + strlen(text) : NULL, .arena = arena,
				    .stack = arena->stack, .keys = arena->keys, .cap = arena->cap};
}

/* Ends jp: its arena keeps the stack for the next parser, and is emptied. */
static void json_parser_end(struct json_parser *jp)
{
	jp->arena->stack = jp->stack;
	jp->arena->keys = jp->keys;
	jp->arena->cap = jp->cap;
	json_arena_reset(jp->arena);
}

static void json_ws(struct json_parser *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\n' || *jp->p == '\r' || *jp->p == '\t'))
		jp->p++;
}

static char *json_utf8(char *w, unsigned long cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xC0 | (cp >> 6));
		*w++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xE0 | (cp >> 12));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*w++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*w++ = (char)(0xF0 | (cp >> 18));
		*w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*w++ = (char)(0x80 | (cp & 0x3F));
	}
	return w;
}

static int json_hex4(struct json_parser *jp, unsigned long *cp)
{
	if (jp->end - jp->p < 4)
		return -1;
	*cp = 0;
	for (int i = 0; i < 4; i++) {
		char c = *jp->p++;
		*cp <<= 4;
		if (c >= '0' && c <= '9')
			*cp |= (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*cp |= (unsigned long)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*cp |= (unsigned long)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* Reads a string after its opening quote and decodes it in place: the
 * text, NUL-terminated, starts where the reader was. The writer never
 * passes the reader: each escape is at least as long as its bytes (\uXXXX
 * six for at most three, a surrogate pair twelve for four). */
static const char *json_string(struct json_parser *jp)
{
	char *start = jp->p, *w = jp->p;
	while (jp->p < jp->end && *jp->p != '"') {
		const char *run = jp->p;
		while (jp->p < jp->end && *jp->p != '"' && *jp->p != '\\')
			jp->p++;
		size_t n = (size_t)(jp->p - run);
		if (w != run)
			memmove(w, run, n);
		w += n;
		if (jp->p >= jp->end || *jp->p == '"')
			break;
		jp->p++; /* backslash */
		if (jp->p >= jp->end)
			break;
		char c = *jp->p++;
		unsigned long cp;
		switch (c) {
		case 'n': *w++ = '\n'; break;
		case 't': *w++ = '\t'; break;
		case 'r': *w++ = '\r'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'u':
			if (json_hex4(jp, &cp) < 0) {
				jp->bad = true;
				break;
			}
			if (cp >= 0xD800 && cp < 0xDC00 && jp->end - jp->p >= 6 && jp->p[0] == '\\' &&
			    jp->p[1] == 'u') {
				unsigned long lo;
				jp->p += 2;
				if (json_hex4(jp, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000)
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			w = json_utf8(w, cp);
			break;
		default: *w++ = c; break;
		}
	}
	/* w <= p <= end, and *end is the buffer's own NUL. */
	if (jp->p >= jp->end) {
		jp->bad = true;
		*w = '\0';
	} else {
		jp->p++; /* closing quote */
		*w = '\0';
	}
	return start;
}

/* A new member on the stack (its key, NULL in an array); its place, or
 * SIZE_MAX when out of memory. */
static size_t json_push(struct json_parser *jp, const char *key)
{
	if (jp->n == jp->cap) {
		size_t cap = jp->cap ? jp->cap * 2 : 64;
		struct json *stack = realloc(jp->stack, cap * sizeof *stack);
		if (stack)
			jp->stack = stack;
		const char **keys = stack ? realloc(jp->keys, cap * sizeof *keys) : NULL;
		if (!keys) {
			jp->oom = true;
			return SIZE_MAX;
		}
		jp->keys = keys;
		jp->cap = cap;
	}
	memset(&jp->stack[jp->n], 0, sizeof jp->stack[0]);
	jp->keys[jp->n] = key;
	return jp->n++;
}

/* Moves the members above place base from the stack into the arena, as
 * v's items (and keys, for an object). */
static void json_settle(struct json_parser *jp, struct json *v, size_t base)
{
	size_t n = jp->n - base;
	jp->n = base;
	if (n == 0 || jp->oom)
		return;
	struct json *items = json_alloc(jp, n * sizeof *items);
	const char **keys = v->type == JSON_OBJ ? json_alloc(jp, n * sizeof *keys) : NULL;
	if (!items || (v->type == JSON_OBJ && !keys))
		return;
	memcpy(items, jp->stack + base, n * sizeof *items);
	if (keys)
		memcpy(keys, jp->keys + base, n * sizeof *keys);
	v->items = items;
	v->keys = keys;
	v->n = n;
}

/* Reads a value into the stack's place at (a place, not a pointer: the
 * stack moves as it grows). */
static void json_value(struct json_parser *jp, size_t at, int depth)
{
	json_ws(jp);
	if (jp->p >= jp->end || depth > JSON_MAX_DEPTH) {
		jp->bad = true;
		return;
	}
	char c = *jp->p;
	if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';
		struct json v = {.type = c == '{' ? JSON_OBJ : JSON_ARR};
		size_t base = jp->n;
		jp->p++;
		json_ws(jp);
		if (jp->p < jp->end && *jp->p == close) {
			jp->p++;
			jp->stack[at] = v;
			return;
		}
		while (!jp->bad && !jp->oom) {
			const char *key = NULL;
			json_ws(jp);
			if (v.type == JSON_OBJ) {
				if (jp->p >= jp->end || *jp->p != '"') {
					jp->bad = true;
					break;
				}
				jp->p++;
				key = json_string(jp);
				json_ws(jp);
				if (jp->p >= jp->end || *jp->p != ':') {
					jp->bad = true;
					break;
				}
				jp->p++;
			}
			size_t k = json_push(jp, key);
			if (k == SIZE_MAX)
				break;
			json_value(jp, k, depth + 1);
			json_ws(jp);
			if (jp->p < jp->end && *jp->p == ',') {
				jp->p++;
				continue;
			}
			if (jp->p < jp->end && *jp->p == close) {
				jp->p++;
				break;
			}
			jp->bad = true;
		}
		/* What was read stays readable, as a partial tree did before. */
		json_settle(jp, &v, base);
		jp->stack[at] = v;
		return;
	}
	struct json *v = &jp->stack[at];
	if (c == '"') {
		jp->p++;
		v->type = JSON_STR;
		v->str = json_string(jp);
		return;
	}
	if (jp->end - jp->p >= 4 && memcmp(jp->p, "true", 4) == 0) {
		v->type = JSON_BOOL;
		v->b = true;
		jp->p += 4;
		return;
	}
	if (jp->end - jp->p >= 5 && memcmp(jp->p, "false", 5) == 0) {
		v->type = JSON_BOOL;
		jp->p += 5;
		return;
	}
	if (jp->end - jp->p >= 4 && memcmp(jp->p, "null", 4) == 0) {
		v->type = JSON_NULL;
		jp->p += 4;
		return;
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		/* Integers are all we read (locations, flags); other numbers are
		 * skipped over as text. */
		v->type = JSON_NUM;
		bool neg = c == '-';
		if (neg)
			jp->p++;
		long long n = 0;
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9') {
			if (n < LLONG_MAX / 10)
				n = n * 10 + (*jp->p - '0');
			jp->p++;
		}
		while (jp->p < jp->end && (strchr(".eE+-", *jp->p) || (*jp->p >= '0' && *jp->p <= '9')))
			jp->p++;
		v->num = neg ? -n : n;
		return;
	}
	jp->bad = true;
}

/* Reads one whole value (a member skipped, an element of "stmts") into *v:
 * its insides live in the arena until it is next emptied. */
static void json_read(struct json_parser *jp, struct json *v, int depth)
{
	*v = (struct json){0};
	size_t at = json_push(jp, NULL);
	if (at == SIZE_MAX)
		return;
	json_value(jp, at, depth);
	*v = jp->stack[at];
	jp->n = at;
}

/* Moves jp into the array that is the value of `key` in the top-level
 * object, just past its '['; false when there is none or it cannot be
 * read. The other members are read and dropped. */
static bool json_enter_array(struct json_parser *jp, const char *key)
{
	json_ws(jp);
	if (jp->p >= jp->end || *jp->p != '{') {
		jp->bad = true;
		return false;
	}
	jp->p++;
	for (;;) {
		json_ws(jp);
		if (jp->p < jp->end && *jp->p == '}')
			return false;
		if (jp->p >= jp->end || *jp->p != '"') {
			jp->bad = true;
			return false;
		}
		jp->p++;
		bool match = strcmp(json_string(jp), key) == 0;
		json_ws(jp);
		if (jp->p >= jp->end || *jp->p != ':') {
			jp->bad = true;
			return false;
		}
		jp->p++;
		json_ws(jp);
		if (match && jp->p < jp->end && *jp->p == '[') {
			jp->p++;
			return true;
		}
		struct json skip;
		json_read(jp, &skip, 1);
		json_arena_reset(jp->arena);
		if (jp->bad || jp->oom)
			return false;
		json_ws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p >= jp->end || *jp->p != '}')
			jp->bad = true;
		return false;
	}
}

/* Reads the next element of the array json_enter_array entered into *v
 * (first: none read yet); false at its end or when it cannot be read. The
 * arena is emptied first: the previous element's tree is gone. */
static bool json_next_item(struct json_parser *jp, struct json *v, bool first)
{
	json_arena_reset(jp->arena);
	*v = (struct json){0};
	json_ws(jp);
	if (jp->p < jp->end && *jp->p == ']')
		return false;
	if (!first) {
		if (jp->p >= jp->end || *jp->p != ',') {
			jp->bad = true;
			return false;
		}
		jp->p++;
	}
	json_read(jp, v, 2);
	return !jp->bad && !jp->oom;
}

/* Member `key` of an object, or NULL. */
static const struct json *jget(const struct json *v, const char *key)
{
	if (!v || v->type != JSON_OBJ)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->keys[i], key) == 0)
			return &v->items[i];
	return NULL;
}

static const char *jstr(const struct json *v, const char *key)
{
	const struct json *m = jget(v, key);
	return m && m->type == JSON_STR ? m->str : NULL;
}

static bool jbool(const struct json *v, const char *key)
{
	const struct json *m = jget(v, key);
	return m && m->type == JSON_BOOL && m->b;
}

static long long jnum(const struct json *v, const char *key)
{
	const struct json *m = jget(v, key);
	return m && m->type == JSON_NUM ? m->num : 0;
}

static size_t jlen(const struct json *v)
{
	return v && v->type == JSON_ARR ? v->n : 0;
}

/* A node of pg_query's tree is {"TypeName": {...}}: its one key and body. */
static const char *jnode(const struct json *v, const struct json **body)
{
	if (!v || v->type != JSON_OBJ || v->n != 1)
		return NULL;
	*body = &v->items[0];
	return v->keys[0];
}

/* The name an object is known by: the last String of a List, a TypeName or
 * an ObjectWithArgs, or a String itself. */
static const char *jname(const struct json *v)
{
	const struct json *body;
	const char *kind = jnode(v, &body);
	if (!kind)
		return NULL;
	if (strcmp(kind, "String") == 0)
		return jstr(body, "sval");
	const struct json *list = NULL;
	if (strcmp(kind, "List") == 0)
		list = jget(body, "items");
	else if (strcmp(kind, "TypeName") == 0)
		list = jget(body, "names");
	else if (strcmp(kind, "ObjectWithArgs") == 0)
		list = jget(body, "objname");
	size_t n = jlen(list);
	return n ? jname(&list->items[n - 1]) : NULL;
}

/* The last name of a list of String nodes ("names": [...]). */
static const char *jlast_name(const struct json *list)
{
	size_t n = jlen(list);
	return n ? jname(&list->items[n - 1]) : NULL;
}

/* ---- the analysis -------------------------------------------------------- */

struct sc_names {
	char **items;
	size_t n, cap;
};

/* Every declared table with the place of its package in reg->packages,
 * sorted by name then owner first (dbreg_rules_owner_cmp): who owns a
 * table, by binary search, instead of a scan of every package for each
 * statement. */
struct sc_owner {
	const char *table;             /* borrowed from the registry */
	size_t pkg;
	const struct dbreg_package *p; /* reg->packages[pkg] */
};

struct sc_owners {
	struct sc_owner *items;
	size_t n;
};

/* One body being analysed. */
struct sc_ctx {
	struct dbreg_diag_list *diags;
	const char *sql;
	const struct dbreg_sql *src;   /* NULL when analysing bare text */
	const char *file;
	const char *package, *migration;
	const struct dbreg_registry *reg;   /* NULL for bare text */
	const struct sc_owners *owners;     /* NULL for bare text */
	const struct dbreg_package *pkg;
	struct dbreg_iso *iso;         /* NULL: no isolation rules (down bodies, the core, bare text) */
	bool up;
	bool in_tx;                    /* the migration runs in a transaction (DBR048) */
	struct sc_names dropped;       /* names dropped IF EXISTS earlier in the body */
	struct sc_names created;       /* tables created earlier in the body */
	unsigned line, column;         /* of the current statement */
	struct dbreg_sql_cursor pos;   /* where sc_loc stopped in this body */
	struct dbreg_suppress suppress; /* the current statement's dbreg:ignore comment (suppress.c) */
	size_t *loose, n_loose;        /* byte of the "--" of each suppression comment between statements */
	size_t *adopted, n_adopted;    /* byte of the first code of each comment a statement took */
	struct json_arena arena;       /* the current statement's tree; kept for the next body */
	int rc;
};

static bool names_has(const struct sc_names *s, const char *name)
{
	if (!name)
		return false;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i], name) == 0)
			return true;
	return false;
}

static void names_add(struct sc_ctx *c, struct sc_names *s, const char *name)
{
	if (!name || names_has(s, name))
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **items = realloc(s->items, cap * sizeof(*items));
		if (!items) {
			c->rc = DBREG_ENOMEM;
			return;
		}
		s->items = items;
		s->cap = cap;
	}
	if (!(s->items[s->n] = dbreg_strdup(name))) {
		c->rc = DBREG_ENOMEM;
		return;
	}
	s->n++;
}

static void names_dispose(struct sc_names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->items[i]);
	free(s->items);
	memset(s, 0, sizeof(*s));
}

/* Line and column of byte `off` of the body. Statements are looked up in
 * increasing order: c->pos carries the count from one to the next, so a
 * body costs one pass however many statements it holds. */
static void sc_loc(struct sc_ctx *c, size_t off, unsigned *line, unsigned *column)
{
	if (c->src) {
		dbreg_sql_loc_next(c->src, &c->pos, off, line, column);
		return;
	}
	size_t i = 0;
	unsigned l = 1, col = 1;
	if (c->pos.line && c->pos.off <= off) {
		i = c->pos.off;
		l = c->pos.line;
		col = c->pos.column;
	}
	for (; i < off && c->sql[i]; i++) {
		if (c->sql[i] == '\n') {
			l++;
			col = 1;
		} else {
			col++;
		}
	}
	c->pos.off = i;
	c->pos.line = l;
	c->pos.column = col;
	*line = l;
	*column = col;
}

/* Skips blanks and comments: pg_query's stmt_location of every statement
 * but the first is just after the previous semicolon. */
static void sc_push_offset(struct sc_ctx *c, size_t **v, size_t *n, size_t at)
{
	size_t *slot = dbreg_array_push(v, n, sizeof *slot);
	if (slot)
		*slot = at;
	else
		c->rc = DBREG_ENOMEM;
}

/* The end of the blanks and comments from off, up to end. With c, the
 * suppression comments among them are noted (c->loose), so that one no
 * statement takes is said (sc_unused_codes). */
static size_t sc_skip_blank_noting(const char *s, size_t off, size_t end, struct sc_ctx *c)
{
	while (off < end) {
		char ch = s[off];
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v') {
			off++;
		} else if (ch == '-' && off + 1 < end && s[off + 1] == '-') {
			struct dbreg_suppress sup;
			if (c && dbreg_suppress_parse_at(&sup, s, off))
				sc_push_offset(c, &c->loose, &c->n_loose, off);
			while (off < end && s[off] != '\n')
				off++;
		} else if (ch == '/' && off + 1 < end && s[off + 1] == '*') {
			int depth = 0;
			while (off < end) {
				if (s[off] == '/' && off + 1 < end && s[off + 1] == '*') {
					depth++;
					off += 2;
				} else if (s[off] == '*' && off + 1 < end && s[off + 1] == '/') {
					off += 2;
					if (--depth == 0)
						break;
				} else {
					off++;
				}
			}
		} else {
			break;
		}
	}
	return off;
}

static void sc_diag(struct sc_ctx *c, const char *code, const char *table, const char *column, const char *hint,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Adds a diagnostic at the current statement. */
static void sc_diag(struct sc_ctx *c, const char *code, const char *table, const char *column, const char *hint,
		    const char *fmt, ...)
{
	struct dbreg_diag_at at = {
		.file = c->src && c->src->file ? c->src->file : c->file,
		.line = c->line,
		.column = c->column,
		.package = c->package,
		.table = table,
		.column_name = column,
		.migration = c->migration,
	};
	va_list ap;
	va_start(ap, fmt);
	if (dbreg_suppress_vaddf(c->diags, &c->suppress, code, &at, fmt, ap) != 0 ||
	    (hint && dbreg_diag_hintf(c->diags, "%s", hint) != 0))
		c->rc = DBREG_ENOMEM;
	va_end(ap);
}

static void sc_dbr043(struct sc_ctx *c, const char *table, const char *what, const char *fmt_hint, ...)
	__attribute__((format(printf, 4, 5)));

/* DBR043 with a printf-formatted hint that shows the fix. */
static void sc_dbr043(struct sc_ctx *c, const char *table, const char *what, const char *fmt_hint, ...)
{
	va_list ap;
	va_start(ap, fmt_hint);
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_vprintf(&b, fmt_hint, ap);
	va_end(ap);
	char *hint = dbreg_buf_detach(&b);
	if (!hint) {
		c->rc = DBREG_ENOMEM;
		return;
	}
	sc_diag(c, "DBR043", table, NULL, hint, "%s fails or changes the database when the migration runs twice",
		what);
	free(hint);
}

/* "OBJECT_MATVIEW" -> "MATERIALIZED VIEW", "OBJECT_FOREIGN_TABLE" -> "FOREIGN TABLE". */
static void sc_object_word(const char *objtype, char *out, size_t size)
{
	if (!objtype)
		objtype = "OBJECT";
	if (strcmp(objtype, "OBJECT_MATVIEW") == 0)
		objtype = "OBJECT_MATERIALIZED_VIEW";
	if (strncmp(objtype, "OBJECT_", 7) == 0)
		objtype += 7;
	size_t i = 0;
	for (; objtype[i] && i + 1 < size; i++)
		out[i] = objtype[i] == '_' ? ' ' : objtype[i];
	out[i] = '\0';
}

static int sc_owner_cmp(const void *a, const void *b)
{
	const struct sc_owner *x = a, *y = b;
	int r = strcmp(x->table, y->table);
	return r ? r : dbreg_rules_owner_cmp(x->p, x->pkg, y->p, y->pkg);
}

static bool sc_owner_below(const void *ctx, size_t i, const char *name)
{
	return strcmp(((const struct sc_owners *)ctx)->items[i].table, name) < 0;
}

/* The package that owns table `name`, when it is not the current one: the
 * one DBR024 names (the others that declare it are that error, not owners). */
static const struct dbreg_package *sc_other_owner(const struct sc_ctx *c, const char *name)
{
	if (!c->reg || !c->owners || !name)
		return NULL;
	const struct sc_owners *o = c->owners;
	size_t lo = dbreg_lower_bound(o->n, sc_owner_below, o, name);
	if (lo == o->n || strcmp(o->items[lo].table, name) != 0)
		return NULL;
	const struct dbreg_package *p = c->reg->packages[o->items[lo].pkg];
	return p != c->pkg ? p : NULL;
}

/* DBR046 when a migration touches another package's table. */
static void sc_check_owner(struct sc_ctx *c, const char *table, const char *verb)
{
	const char *own = dbreg_rules_reserved_table(table);
	if (own) {
		sc_diag(c, "DBR046", table, NULL, "leave the table to dbreg, which creates and writes it on every target; "
			"give the package's table another name", "migration %s %s table %s, which is dbreg's own (%s)",
			c->migration ? c->migration : "", verb, table, own);
		return;
	}
	const struct dbreg_package *other = sc_other_owner(c, table);
	/* A second manifest of the same package: DBR012 says it, and "belongs
	 * to @t/a" in a file that declares @t/a would contradict itself. */
	if (!other || (other->name && c->pkg && c->pkg->name && strcmp(other->name, c->pkg->name) == 0))
		return;
	sc_diag(c, "DBR046", table, NULL, "create the table or index in a migration of that package, or depend on it and use it as it is",
		"migration %s %s table %s, which belongs to %s", c->migration ? c->migration : "", verb, table,
		other->name ? other->name : other->file);
}

/* DBR046 when an up body names a table, column or index it makes with
 * something that is not an SQL identifier (rule 3): a quoted "Name". (The
 * parser has already cut a longer name to 63 bytes, as PostgreSQL does.) */
static void sc_check_ident(struct sc_ctx *c, const char *what, const char *name, const char *table,
			   const char *column)
{
	const char *why = c->up && name ? dbreg_ident_problem(name) : NULL;
	if (!why)
		return;
	char *fix = dbreg_ident_fix(name);
	char hint[96];
	if (fix && fix[0] && strcmp(fix, name) != 0)
		snprintf(hint, sizeof(hint), "name it %s", fix);
	else
		snprintf(hint, sizeof(hint), "use a name of at most 63 bytes");
	free(fix);
	sc_diag(c, "DBR046", table, column, hint, "migration %s names %s \"%s\", which is not a valid SQL identifier: %s",
		c->migration ? c->migration : "", what, name, why);
}

/* The column a ColumnRef node names (its last field), else NULL; *n_fields
 * gets its number of fields, and *star (may be NULL) is set for a `*`. */
static const char *sc_column_ref(const struct json *node, size_t *n_fields, bool *star)
{
	const struct json *ref = NULL, *last = NULL;
	const char *kind = node ? jnode(node, &ref) : NULL;
	const struct json *fields = kind && strcmp(kind, "ColumnRef") == 0 ? jget(ref, "fields") : NULL;
	size_t n = *n_fields = jlen(fields);
	const char *lk = n ? jnode(&fields->items[n - 1], &last) : NULL;
	if (lk && strcmp(lk, "A_Star") == 0 && star)
		*star = true;
	return lk && strcmp(lk, "String") == 0 ? jstr(last, "sval") : NULL;
}

/* The column of a CHECK expression `column IS NOT NULL`, else NULL. */
static const char *sc_not_null_test(const struct json *expr)
{
	const struct json *nt = NULL;
	const char *kind = expr ? jnode(expr, &nt) : NULL;
	if (!kind || strcmp(kind, "NullTest") != 0 || !jstr(nt, "nulltesttype") ||
	    strcmp(jstr(nt, "nulltesttype"), "IS_NOT_NULL") != 0)
		return NULL;
	size_t n;
	const char *column = sc_column_ref(jget(nt, "arg"), &n, NULL);
	return n == 1 ? column : NULL;
}

/* Where the current statement is, for the isolation rules. */
static struct dbreg_iso_at sc_iso_at(struct sc_ctx *c)
{
	return (struct dbreg_iso_at){c->src && c->src->file ? c->src->file : c->file, c->line, c->column, c->migration,
				     &c->suppress};
}

/* Whether a FOREIGN KEY constraint points at ydtb_workspaces(id): the
 * core's, unqualified or in public; other.ydtb_workspaces is another table. */
static bool sc_fk_to_workspaces(const struct json *con)
{
	const struct json *pk_table = jget(con, "pktable");
	const char *target = jstr(pk_table, "relname"), *schema = jstr(pk_table, "schemaname");
	if (!target || strcmp(target, "ydtb_workspaces") != 0 || jstr(pk_table, "catalogname") ||
	    (schema && strcmp(schema, "public") != 0))
		return false;
	const struct json *pk = jget(con, "pk_attrs");
	/* Without a column list the key references the primary key, id. */
	return jlen(pk) == 0 || (jlen(pk) == 1 && jname(&pk->items[0]) && strcmp(jname(&pk->items[0]), "id") == 0);
}

/* Tells the isolation rules about a foreign key of `table` (DBR027). */
static void sc_iso_fk_target(struct sc_ctx *c, const char *table, const struct json *con)
{
	const char *target = jstr(jget(con, "pktable"), "relname");
	if (!c->iso || !target)
		return;
	struct dbreg_iso_at at = sc_iso_at(c);
	dbreg_iso_foreign_key(c->iso, &at, table, target, sc_other_owner(c, target));
}

/* What a column definition says about workspace_id, and its foreign keys. */
static void sc_iso_column(struct sc_ctx *c, const char *table, const struct json *coldef, bool in_create)
{
	const char *name = jstr(coldef, "colname");
	if (!c->iso || !name)
		return;
	bool ws = strcmp(name, "workspace_id") == 0, not_null = false, fk = false;
	const char *fk_name = NULL;
	const struct json *cons = jget(coldef, "constraints");
	for (size_t i = 0; i < jlen(cons); i++) {
		const struct json *con;
		const char *kind = jnode(&cons->items[i], &con);
		const char *type = kind ? jstr(con, "contype") : NULL;
		if (!type)
			continue;
		if (strcmp(type, "CONSTR_PRIMARY") == 0)
			dbreg_iso_primary_key(c->iso, table, jstr(con, "conname"), &name, 1);
		if (strcmp(type, "CONSTR_NOTNULL") == 0 || strcmp(type, "CONSTR_PRIMARY") == 0) {
			not_null = true;
		} else if (strcmp(type, "CONSTR_FOREIGN") == 0) {
			sc_iso_fk_target(c, table, con);
			if (sc_fk_to_workspaces(con)) {
				fk = true;
				fk_name = jstr(con, "conname");
			}
		}
	}
	if (ws) {
		struct dbreg_iso_at at = sc_iso_at(c);
		dbreg_iso_ws_column(c->iso, &at, table, in_create, not_null, fk, fk_name);
	}
}

/* A table-level constraint (CREATE TABLE element or ADD CONSTRAINT). */
static void sc_iso_constraint(struct sc_ctx *c, const char *table, const struct json *con)
{
	const char *type = jstr(con, "contype");
	if (!c->iso || !type)
		return;
	struct dbreg_iso_at at = sc_iso_at(c);
	if (strcmp(type, "CONSTR_PRIMARY") == 0) {
		const struct json *keys = jget(con, "keys");
		const char *cols[32];          /* PostgreSQL's INDEX_MAX_KEYS: a key has no more */
		size_t n = 0;
		for (size_t i = 0; i < jlen(keys); i++) {
			const char *col = jname(&keys->items[i]);
			if (col && n < sizeof cols / sizeof cols[0])
				cols[n++] = col;
			if (col && strcmp(col, "workspace_id") == 0)
				dbreg_iso_ws_not_null(c->iso, &at, table, true);
		}
		/* USING INDEX names no columns here, and its constraint takes the
		 * index's name when it is given none. */
		const char *name = jstr(con, "conname");
		dbreg_iso_primary_key(c->iso, table, name ? name : jstr(con, "indexname"), cols, n);
	} else if (strcmp(type, "CONSTR_FOREIGN") == 0) {
		sc_iso_fk_target(c, table, con);
		const struct json *cols = jget(con, "fk_attrs");
		if (jlen(cols) == 1 && jname(&cols->items[0]) && strcmp(jname(&cols->items[0]), "workspace_id") == 0 &&
		    sc_fk_to_workspaces(con))
			dbreg_iso_ws_fk(c->iso, &at, table, jstr(con, "conname"));
	}
}

/* The name of column i of a table made from a query (CREATE TABLE ... AS,
 * SELECT ... INTO): the column list's, and past its end the query's (an
 * alias, else a bare column's own name); NULL when the query does not say
 * (an expression). *star is set when the query has a `*`, whose columns
 * are unknown here. */
static const char *sc_query_column(const struct json *colnames, const struct json *targets, size_t i, bool *star)
{
	const struct json *rt = NULL;
	const char *from_query = NULL;
	if (i < jlen(targets) && jnode(&targets->items[i], &rt)) {
		size_t n;
		const char *column = sc_column_ref(jget(rt, "val"), &n, star);
		from_query = jstr(rt, "name") ? jstr(rt, "name") : column;
	}
	return i < jlen(colnames) ? jname(&colnames->items[i]) : from_query;
}

/* How many columns sc_query_column can name. */
static size_t sc_query_columns(const struct json *colnames, const struct json *targets)
{
	return jlen(targets) > jlen(colnames) ? jlen(targets) : jlen(colnames);
}

/* For CREATE TABLE AS and SELECT INTO: whether the table's columns
 * include workspace_id: 1, 0, or -1 (a `*`, or a query without a target
 * list of its own: UNION, VALUES, ...). */
static int sc_query_has_ws(const struct json *colnames, const struct json *select)
{
	const struct json *targets = jget(select, "targetList");
	bool star = false;
	for (size_t i = 0, n = sc_query_columns(colnames, targets); i < n; i++) {
		const char *name = sc_query_column(colnames, targets, i, &star);
		if (name && strcmp(name, "workspace_id") == 0)
			return 1;
	}
	if (!targets)
		return jlen(colnames) ? 0 : -1;
	return star ? -1 : 0;
}

/* sc_check_ident for the columns a query makes a table with (CREATE TABLE
 * ... AS, SELECT ... INTO), as sc_query_column names them. */
static void sc_check_query_columns(struct sc_ctx *c, const char *table, const struct json *colnames,
				   const struct json *select)
{
	const struct json *targets = jget(select, "targetList");
	bool star = false;
	for (size_t i = 0, n = sc_query_columns(colnames, targets); i < n; i++) {
		const char *name = sc_query_column(colnames, targets, i, &star);
		sc_check_ident(c, "column", name, table, name);
	}
}

/* Whether a table is new in this body: created by an earlier statement of
 * it, so it holds no rows and no reader yet. */
static bool sc_is_new(const struct sc_ctx *c, const char *table)
{
	return names_has(&c->created, table);
}

static void sc_create_table(struct sc_ctx *c, const struct json *st, bool as)
{
	const struct json *rel = as ? jget(jget(st, "into"), "rel") : jget(st, "relation");
	const char *name = jstr(rel, "relname");
	if (!name)
		return;
	bool matview = as && jstr(st, "objtype") && strcmp(jstr(st, "objtype"), "OBJECT_MATVIEW") == 0;
	if (!jbool(st, "if_not_exists") && !names_has(&c->dropped, name)) {
		if (matview)
			sc_dbr043(c, name, "CREATE MATERIALIZED VIEW without IF NOT EXISTS",
				  "write CREATE MATERIALIZED VIEW IF NOT EXISTS %s", name);
		else
			sc_dbr043(c, name, "CREATE TABLE without IF NOT EXISTS",
				  "write CREATE TABLE IF NOT EXISTS %s", name);
	}
	if (matview)
		return;
	sc_check_owner(c, name, "creates");
	names_add(c, &c->created, name);
	sc_check_ident(c, "table", name, name, NULL);
	const struct json *elts = jget(st, "tableElts");
	for (size_t i = 0; i < jlen(elts); i++) {
		const struct json *body;
		const char *kind = jnode(&elts->items[i], &body);
		if (kind && strcmp(kind, "ColumnDef") == 0)
			sc_check_ident(c, "column", jstr(body, "colname"), name, jstr(body, "colname"));
	}
	if (as)
		sc_check_query_columns(c, name, jget(jget(st, "into"), "colNames"), jget(jget(st, "query"), "SelectStmt"));
	if (!c->iso)
		return;
	const char *persist = jstr(rel, "relpersistence");
	bool temp = persist && strcmp(persist, "t") == 0;
	struct dbreg_iso_at at = sc_iso_at(c);
	if (as) {
		dbreg_iso_create(c->iso, &at, name, DBREG_ISO_CREATE_AS, NULL, temp,
				 sc_query_has_ws(jget(jget(st, "into"), "colNames"), jget(jget(st, "query"), "SelectStmt")));
		return;
	}
	/* Where the columns come from: the first LIKE, the parent, the type. */
	enum dbreg_iso_origin origin = DBREG_ISO_CREATE;
	const struct json *parents = jget(st, "inhRelations");
	const char *source = jlen(parents) ? jstr(jget(&parents->items[0], "RangeVar"), "relname") : NULL;
	if (jget(st, "partbound"))
		origin = DBREG_ISO_PARTITION_OF;
	else if (jget(st, "ofTypename"))
		origin = DBREG_ISO_OF;
	else if (jlen(parents))
		origin = DBREG_ISO_INHERITS;
	for (size_t i = 0; i < jlen(elts) && origin == DBREG_ISO_CREATE; i++) {
		const struct json *body;
		const char *kind = jnode(&elts->items[i], &body);
		if (kind && strcmp(kind, "TableLikeClause") == 0) {
			origin = DBREG_ISO_LIKE;
			source = jstr(jget(body, "relation"), "relname");
		}
	}
	if (!dbreg_iso_create(c->iso, &at, name, origin, source, temp, 0))
		return;
	for (size_t i = 0; i < jlen(elts); i++) {
		const struct json *body;
		const char *kind = jnode(&elts->items[i], &body);
		if (!kind)
			continue;
		if (strcmp(kind, "ColumnDef") == 0)
			sc_iso_column(c, name, body, true);
		else if (strcmp(kind, "Constraint") == 0)
			sc_iso_constraint(c, name, body);
	}
}

/* SELECT ... INTO t creates t from a query, and cannot say IF NOT EXISTS. */
static void sc_select_into(struct sc_ctx *c, const struct json *st)
{
	const struct json *rel = jget(jget(st, "intoClause"), "rel");
	const char *name = jstr(rel, "relname");
	if (!name)
		return;
	if (!names_has(&c->dropped, name))
		sc_dbr043(c, name, "SELECT ... INTO",
			  "write CREATE TABLE IF NOT EXISTS %s (...) with its columns, then INSERT INTO %s SELECT ... ON CONFLICT DO NOTHING",
			  name, name);
	sc_check_owner(c, name, "creates");
	names_add(c, &c->created, name);
	sc_check_query_columns(c, name, jget(jget(st, "intoClause"), "colNames"), st);
	if (!c->iso)
		return;
	const char *persist = jstr(rel, "relpersistence");
	struct dbreg_iso_at at = sc_iso_at(c);
	dbreg_iso_create(c->iso, &at, name, DBREG_ISO_SELECT_INTO, NULL, persist && strcmp(persist, "t") == 0,
			 sc_query_has_ws(jget(jget(st, "intoClause"), "colNames"), st));
}

static void sc_create_index(struct sc_ctx *c, const struct json *st)
{
	const char *table = jstr(jget(st, "relation"), "relname");
	const char *name = jstr(st, "idxname");
	bool unique = jbool(st, "unique");
	if (!jbool(st, "if_not_exists") && !names_has(&c->dropped, name)) {
		if (name)
			sc_dbr043(c, table, "CREATE INDEX without IF NOT EXISTS",
				  "write CREATE %sINDEX %sIF NOT EXISTS %s ON %s", unique ? "UNIQUE " : "",
				  jbool(st, "concurrent") ? "CONCURRENTLY " : "", name, table ? table : "...");
		else
			sc_dbr043(c, table, "CREATE INDEX without a name and IF NOT EXISTS",
				  "name the index and write CREATE %sINDEX IF NOT EXISTS %s_..._idx ON %s",
				  unique ? "UNIQUE " : "", table ? table : "table", table ? table : "...");
	}
	if (!table)
		return;
	sc_check_ident(c, "index", name, table, NULL);
	sc_check_owner(c, table, "indexes");
	if (c->up && !jbool(st, "concurrent") && !sc_is_new(c, table))
		sc_diag(c, "DBR103", table, NULL,
			"write CREATE INDEX CONCURRENTLY IF NOT EXISTS ... in a migration with transaction = false",
			"CREATE INDEX on existing table %s blocks every write to it until the index is built", table);
}

/* Defaults PostgreSQL (11+) cannot store once for every row, so that ADD
 * COLUMN writes each row again: a serial type's nextval, and calls of the
 * volatile functions a default is written with. */
static char *const sc_volatile_defaults[] = {
	"random", "clock_timestamp", "timeofday", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v4",
	"nextval", "txid_current", "statement_timestamp",
};
static char *const sc_serial_types[] = { "serial", "serial4", "bigserial", "serial8", "smallserial", "serial2" };
#define SC_N(list) (sizeof(list) / sizeof((list)[0]))

/* What makes this column definition's default rewrite a table ("a serial
 * type", "a volatile default (random())"), or NULL. */
static const char *sc_rewriting_default(const struct json *coldef)
{
	if (dbreg_strv_has(sc_serial_types, SC_N(sc_serial_types), jlast_name(jget(jget(coldef, "typeName"), "names"))))
		return "a serial type";
	const struct json *cons = jget(coldef, "constraints");
	for (size_t i = 0; i < jlen(cons); i++) {
		const struct json *con, *call;
		const char *type = jnode(&cons->items[i], &con) ? jstr(con, "contype") : NULL;
		const struct json *expr = type && strcmp(type, "CONSTR_DEFAULT") == 0 ? jget(con, "raw_expr") : NULL;
		const char *kind = expr ? jnode(expr, &call) : NULL;
		if (kind && strcmp(kind, "FuncCall") == 0 &&
		    dbreg_strv_has(sc_volatile_defaults, SC_N(sc_volatile_defaults), jlast_name(jget(call, "funcname"))))
			return "a volatile default";
	}
	return NULL;
}

static void sc_alter_cmd(struct sc_ctx *c, const char *table, bool is_table, const struct json *cmd)
{
	const char *sub = jstr(cmd, "subtype");
	const char *name = jstr(cmd, "name");
	const struct json *def = jget(cmd, "def");
	const struct json *defbody = NULL;
	const char *defkind = def ? jnode(def, &defbody) : NULL;
	bool missing_ok = jbool(cmd, "missing_ok");
	bool existing = is_table && c->up && !sc_is_new(c, table);
	/* The isolation rules follow what happens to tables, in up bodies. */
	struct dbreg_iso *iso = is_table ? c->iso : NULL;
	struct dbreg_iso_at at = sc_iso_at(c);
	if (!sub)
		return;
	if (strcmp(sub, "AT_AddColumn") == 0 && defkind && strcmp(defkind, "ColumnDef") == 0) {
		const char *col = jstr(defbody, "colname");
		if (!missing_ok && !names_has(&c->dropped, col))
			sc_dbr043(c, table, "ALTER TABLE ... ADD COLUMN without IF NOT EXISTS",
				  "write ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s ...", table ? table : "...",
				  col ? col : "...");
		sc_check_ident(c, "column", col, table, col);
		if (iso)
			sc_iso_column(c, table, defbody, false);
		if (existing) {
			bool not_null = false, has_default = false;
			const struct json *cons = jget(defbody, "constraints");
			for (size_t i = 0; i < jlen(cons); i++) {
				const struct json *con;
				const char *type = jnode(&cons->items[i], &con) ? jstr(con, "contype") : NULL;
				if (!type)
					continue;
				if (strcmp(type, "CONSTR_NOTNULL") == 0 || strcmp(type, "CONSTR_PRIMARY") == 0)
					not_null = true;
				if (strcmp(type, "CONSTR_DEFAULT") == 0 || strcmp(type, "CONSTR_IDENTITY") == 0 ||
				    strcmp(type, "CONSTR_GENERATED") == 0)
					has_default = true;
			}
			if (not_null && !has_default)
				sc_diag(c, "DBR103", table, col,
					"add the column nullable, backfill it, then SET NOT NULL; or give it a DEFAULT",
					"ADD COLUMN %s NOT NULL without a DEFAULT fails on table %s as soon as it has rows",
					col ? col : "", table);
			const char *why = sc_rewriting_default(defbody);
			if (why)
				sc_diag(c, "DBR103", table, col,
					"add the column without it, then set the DEFAULT (ALTER COLUMN ... SET DEFAULT) and "
					"backfill existing rows in batches",
					"ADD COLUMN %s with %s rewrites table %s under a lock that blocks reads and writes",
					col ? col : "", why, table);
		}
	} else if (strcmp(sub, "AT_DropColumn") == 0) {
		if (!missing_ok)
			sc_dbr043(c, table, "ALTER TABLE ... DROP COLUMN without IF EXISTS",
				  "write ALTER TABLE %s DROP COLUMN IF EXISTS %s", table ? table : "...", name ? name : "...");
		else
			names_add(c, &c->dropped, name);
		dbreg_iso_drop_column(iso, &at, table, name);
		if (existing)
			sc_diag(c, "DBR103", table, name,
				"stop reading the column in a release first, and drop it in a later migration once no running version uses it",
				"DROP COLUMN %s deletes its data in table %s for good, and breaks code that still reads it",
				name ? name : "", table);
	} else if (strcmp(sub, "AT_DropConstraint") == 0) {
		if (!missing_ok)
			sc_dbr043(c, table, "ALTER TABLE ... DROP CONSTRAINT without IF EXISTS",
				  "write ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s", table ? table : "...",
				  name ? name : "...");
		else
			names_add(c, &c->dropped, name);
		dbreg_iso_drop_constraint(iso, &at, table, name);
	} else if (strcmp(sub, "AT_AlterConstraint") == 0 && defkind && strcmp(defkind, "Constraint") == 0) {
		dbreg_iso_alter_constraint(iso, &at, table, jstr(defbody, "conname"), jbool(defbody, "deferrable"));
	} else if (strcmp(sub, "AT_AddConstraint") == 0 && defkind && strcmp(defkind, "Constraint") == 0) {
		const char *con = jstr(defbody, "conname");
		const char *type = jstr(defbody, "contype");
		if (!names_has(&c->dropped, con)) {
			if (con)
				sc_dbr043(c, table, "ALTER TABLE ... ADD CONSTRAINT",
					  "write ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s; before it, or add it in a DO block that checks pg_constraint",
					  table ? table : "...", con);
			else
				sc_dbr043(c, table, "ALTER TABLE ... ADD CONSTRAINT without a name",
					  "name the constraint and write ALTER TABLE %s DROP CONSTRAINT IF EXISTS <name>; before adding it",
					  table ? table : "...");
		}
		if (iso)
			sc_iso_constraint(c, table, defbody);
		if (iso && type && strcmp(type, "CONSTR_CHECK") == 0)
			dbreg_iso_not_null_check(iso, table, con, sc_not_null_test(jget(defbody, "raw_expr")),
						 !jbool(defbody, "skip_validation"));
		if (existing && type && strcmp(type, "CONSTR_FOREIGN") == 0 && !jbool(defbody, "skip_validation"))
			sc_diag(c, "DBR103", table, NULL,
				"add it NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a later migration",
				"ADD FOREIGN KEY on existing table %s scans it under a lock that blocks writes", table);
		if (existing && type && strcmp(type, "CONSTR_CHECK") == 0 && !jbool(defbody, "skip_validation"))
			sc_diag(c, "DBR103", table, NULL,
				"add it NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a later migration",
				"ADD CHECK on existing table %s scans it under a lock that blocks reads and writes", table);
	} else if (strcmp(sub, "AT_ValidateConstraint") == 0) {
		dbreg_iso_validate_constraint(iso, table, name);
	} else if (strcmp(sub, "AT_AlterColumnType") == 0) {
		if (defkind && strcmp(defkind, "ColumnDef") == 0)
			dbreg_iso_alter_type(iso, &at, table, name, jlast_name(jget(jget(defbody, "typeName"), "names")));
		if (existing)
			sc_diag(c, "DBR103", table, name,
				"add a column of the new type, backfill it in batches, switch readers, then drop the old column",
				"ALTER COLUMN %s TYPE may rewrite table %s under a lock that blocks reads and writes",
				name ? name : "", table);
	} else if (iso && name && strcmp(name, "workspace_id") == 0 &&
		   (strcmp(sub, "AT_SetNotNull") == 0 || strcmp(sub, "AT_DropNotNull") == 0)) {
		dbreg_iso_ws_not_null(iso, &at, table, strcmp(sub, "AT_SetNotNull") == 0);
	}
	if (existing && strcmp(sub, "AT_SetNotNull") == 0 && !dbreg_iso_not_null_proven(iso, table, name))
		sc_diag(c, "DBR103", table, name,
			"add CHECK (... IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT NULL (PostgreSQL 12+ "
			"then skips the scan)",
			"SET NOT NULL on column %s scans table %s under a lock that blocks reads and writes", name ? name : "",
			table);
}

static void sc_alter_table(struct sc_ctx *c, const struct json *st)
{
	const char *table = jstr(jget(st, "relation"), "relname");
	const char *objtype = jstr(st, "objtype");
	bool is_table = table && objtype && strcmp(objtype, "OBJECT_TABLE") == 0;
	if (is_table)
		sc_check_owner(c, table, "alters");
	const struct json *cmds = jget(st, "cmds");
	for (size_t i = 0; i < jlen(cmds) && c->rc == 0; i++) {
		const struct json *cmd;
		const char *kind = jnode(&cmds->items[i], &cmd);
		if (kind && strcmp(kind, "AlterTableCmd") == 0)
			sc_alter_cmd(c, table, is_table, cmd);
	}
}

static void sc_drop(struct sc_ctx *c, const struct json *st)
{
	const char *objtype = jstr(st, "removeType");
	char word[64];
	sc_object_word(objtype, word, sizeof(word));
	bool is_table = objtype && strcmp(objtype, "OBJECT_TABLE") == 0;
	const struct json *objs = jget(st, "objects");
	bool missing_ok = jbool(st, "missing_ok");
	for (size_t i = 0; i < jlen(objs) && c->rc == 0; i++) {
		const char *name = jname(&objs->items[i]);
		if (!name)
			continue;
		if (missing_ok)
			names_add(c, &c->dropped, name);
		else {
			char what[128];
			snprintf(what, sizeof(what), "DROP %s without IF EXISTS", word);
			sc_dbr043(c, is_table ? name : NULL, what, "write DROP %s IF EXISTS %s", word, name);
		}
		if (!is_table)
			continue;
		sc_check_owner(c, name, "drops");
		dbreg_iso_drop_table(c->iso, name);
		/* Down bodies exist to drop what up created: only up bodies warn. */
		if (c->up && !sc_is_new(c, name))
			sc_diag(c, "DBR103", name, NULL,
				"keep the table until no running version reads it, back it up, then drop it in a later release",
				"DROP TABLE %s deletes the table and all its rows for good", name);
	}
}

/* DBR103 for a statement that empties a table the body did not create
 * (TRUNCATE, DELETE without WHERE): its rows are gone for good. */
static void sc_drops_rows(struct sc_ctx *c, const char *table, const char *what)
{
	if (!table || !c->up || sc_is_new(c, table))
		return;
	char stmt[160];
	snprintf(stmt, sizeof(stmt), what, table);
	sc_diag(c, "DBR103", table, NULL, "back the rows up first, or delete only the rows no release reads (with a WHERE)",
		"%s deletes every row of the table for good", stmt);
}

/* DBR103 for a statement that holds a lock on a table the body did not
 * create while it rewrites it or until the migration commits. */
static void sc_locks_table(struct sc_ctx *c, const char *table, const char *what, const char *hint)
{
	if (!table || !c->up || sc_is_new(c, table))
		return;
	char stmt[240];
	snprintf(stmt, sizeof(stmt), what, table);
	sc_diag(c, "DBR103", table, NULL, hint, "%s", stmt);
}

#define SC_REWRITE_HINT "run it outside migrations, in a maintenance window (or rebuild the table online with pg_repack)"
#define SC_LOCK_HINT "drop the LOCK: each statement takes the lock it needs, for as short a time as it can"

/* VACUUM with FULL (not FULL false). */
static bool sc_vacuum_full(const struct json *st)
{
	const struct json *opts = jget(st, "options");
	for (size_t i = 0; i < jlen(opts); i++) {
		const struct json *de;
		const char *kind = jnode(&opts->items[i], &de);
		if (kind && strcmp(kind, "DefElem") == 0 && jstr(de, "defname") && strcmp(jstr(de, "defname"), "full") == 0)
			return !jget(de, "arg");
	}
	return false;
}

static void sc_rename(struct sc_ctx *c, const struct json *st)
{
	const char *type = jstr(st, "renameType");
	const char *table = jstr(jget(st, "relation"), "relname");
	const char *newname = jstr(st, "newname");
	char word[64];
	sc_object_word(type, word, sizeof(word));
	if (type && strcmp(type, "OBJECT_TABLE") == 0)
		sc_check_ident(c, "table", newname, table, NULL);
	else if (type && strcmp(type, "OBJECT_INDEX") == 0)
		sc_check_ident(c, "index", newname, NULL, NULL);
	else if (type && strcmp(type, "OBJECT_COLUMN") == 0)
		sc_check_ident(c, "column", newname, table, newname);
	if (c->iso && type && strcmp(type, "OBJECT_TABLE") == 0) {
		struct dbreg_iso_at at = sc_iso_at(c);
		dbreg_iso_rename_table(c->iso, &at, table, newname);
	} else if (c->iso && type && strcmp(type, "OBJECT_COLUMN") == 0) {
		struct dbreg_iso_at at = sc_iso_at(c);
		dbreg_iso_rename_column(c->iso, &at, table, jstr(st, "subname"), newname);
	} else if (c->iso && type && strcmp(type, "OBJECT_TABCONSTRAINT") == 0) {
		dbreg_iso_rename_constraint(c->iso, table, jstr(st, "subname"), newname);
	} else if (c->iso && type && strcmp(type, "OBJECT_INDEX") == 0) {
		/* A key's index renamed renames its constraint. */
		dbreg_iso_rename_constraint(c->iso, NULL, table, newname);
	}
	/* ALTER TABLE/INDEX/VIEW IF EXISTS old RENAME TO new is a no-op once
	 * renamed: the old name is gone, so the second run only notices. */
	static const char *const relkinds[] = {"OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_VIEW", "OBJECT_MATVIEW",
					       "OBJECT_SEQUENCE", "OBJECT_FOREIGN_TABLE", NULL};
	for (size_t i = 0; type && relkinds[i]; i++)
		if (strcmp(type, relkinds[i]) == 0 && jbool(st, "missing_ok"))
			return;
	if (type && (strcmp(type, "OBJECT_TABLE") == 0 || strcmp(type, "OBJECT_COLUMN") == 0))
		sc_check_owner(c, table, "renames");
	if (type && strcmp(type, "OBJECT_COLUMN") == 0)
		sc_dbr043(c, table, "RENAME COLUMN",
			  "a second run fails because column %s is gone: rename it in a DO block that first checks information_schema.columns",
			  jstr(st, "subname") ? jstr(st, "subname") : "");
	else
		sc_dbr043(c, table, "RENAME",
			  "a second run fails because the %s is already called %s: write ALTER %s IF EXISTS ... RENAME TO %s, or use a DO block that checks the catalog",
			  word, newname ? newname : "", word, newname ? newname : "");
}

/* One statement of the body: dispatch on its node type. */
static void sc_statement(struct sc_ctx *c, const char *kind, const struct json *st)
{
	if (strcmp(kind, "CreateStmt") == 0) {
		sc_create_table(c, st, false);
	} else if (strcmp(kind, "CreateTableAsStmt") == 0) {
		sc_create_table(c, st, true);
	} else if (strcmp(kind, "IndexStmt") == 0) {
		sc_create_index(c, st);
	} else if (strcmp(kind, "AlterTableStmt") == 0) {
		sc_alter_table(c, st);
	} else if (strcmp(kind, "DropStmt") == 0) {
		sc_drop(c, st);
	} else if (strcmp(kind, "RenameStmt") == 0) {
		sc_rename(c, st);
	} else if (strcmp(kind, "SelectStmt") == 0 && jget(st, "intoClause")) {
		sc_select_into(c, st);
	} else if (strcmp(kind, "AlterObjectSchemaStmt") == 0 && jstr(st, "objectType") &&
		   strcmp(jstr(st, "objectType"), "OBJECT_TABLE") == 0) {
		const char *table = jstr(jget(st, "relation"), "relname");
		sc_check_owner(c, table, "moves");
		if (c->iso) {
			struct dbreg_iso_at at = sc_iso_at(c);
			dbreg_iso_set_schema(c->iso, &at, table, jstr(st, "newschema"));
		}
	} else if (strcmp(kind, "InsertStmt") == 0) {
		const char *table = jstr(jget(st, "relation"), "relname");
		if (!jget(st, "onConflictClause"))
			sc_dbr043(c, table, "INSERT without ON CONFLICT",
				  "write INSERT INTO %s ... ON CONFLICT DO NOTHING (or ON CONFLICT (...) DO UPDATE)",
				  table ? table : "...");
	} else if (strcmp(kind, "TruncateStmt") == 0) {
		const struct json *rels = jget(st, "relations");
		for (size_t i = 0; i < jlen(rels); i++)
			sc_drops_rows(c, jstr(jget(&rels->items[i], "RangeVar"), "relname"), "TRUNCATE %s");
	} else if (strcmp(kind, "DeleteStmt") == 0 && !jget(st, "whereClause")) {
		sc_drops_rows(c, jstr(jget(st, "relation"), "relname"), "DELETE FROM %s without WHERE");
	} else if (strcmp(kind, "VacuumStmt") == 0 && jbool(st, "is_vacuumcmd") && sc_vacuum_full(st)) {
		const struct json *rels = jget(st, "rels");
		for (size_t i = 0; i < jlen(rels); i++)
			sc_locks_table(c, jstr(jget(jget(&rels->items[i], "VacuumRelation"), "relation"), "relname"),
				       "VACUUM FULL %s rewrites the table under a lock that blocks reads and writes",
				       SC_REWRITE_HINT);
	} else if (strcmp(kind, "ClusterStmt") == 0) {
		sc_locks_table(c, jstr(jget(st, "relation"), "relname"),
			       "CLUSTER %s rewrites the table under a lock that blocks reads and writes", SC_REWRITE_HINT);
	} else if (strcmp(kind, "LockStmt") == 0 && jnum(st, "mode") >= 5) {
		/* SHARE (5) and stronger: writes wait until the migration commits. */
		const struct json *rels = jget(st, "relations");
		for (size_t i = 0; i < jlen(rels); i++)
			sc_locks_table(c, jstr(jget(&rels->items[i], "RangeVar"), "relname"),
				       jnum(st, "mode") == 8 ? "LOCK TABLE %s blocks reads and writes until the migration commits"
							     : "LOCK TABLE %s blocks writes until the migration commits",
				       SC_LOCK_HINT);
	} else if (strcmp(kind, "CreateSeqStmt") == 0) {
		const char *name = jstr(jget(st, "sequence"), "relname");
		if (!jbool(st, "if_not_exists") && !names_has(&c->dropped, name))
			sc_dbr043(c, NULL, "CREATE SEQUENCE without IF NOT EXISTS",
				  "write CREATE SEQUENCE IF NOT EXISTS %s", name ? name : "...");
	} else if (strcmp(kind, "ViewStmt") == 0) {
		const char *name = jstr(jget(st, "view"), "relname");
		if (!jbool(st, "replace") && !names_has(&c->dropped, name))
			sc_dbr043(c, NULL, "CREATE VIEW without OR REPLACE", "write CREATE OR REPLACE VIEW %s",
				  name ? name : "...");
	} else if (strcmp(kind, "CreateEnumStmt") == 0 || strcmp(kind, "CompositeTypeStmt") == 0 ||
		   strcmp(kind, "CreateRangeStmt") == 0 || strcmp(kind, "CreateDomainStmt") == 0 ||
		   (strcmp(kind, "DefineStmt") == 0 && jstr(st, "kind") && strcmp(jstr(st, "kind"), "OBJECT_TYPE") == 0)) {
		const struct json *names = jget(st, "typeName");
		if (!names)
			names = jget(st, "defnames");
		const char *name = jlast_name(names);
		if (!name && strcmp(kind, "CompositeTypeStmt") == 0)
			name = jstr(jget(st, "typevar"), "relname");
		bool domain = strcmp(kind, "CreateDomainStmt") == 0;
		if (!names_has(&c->dropped, name))
			sc_dbr043(c, NULL, domain ? "CREATE DOMAIN" : "CREATE TYPE",
				  "%s has no IF NOT EXISTS: create %s in a DO block that first checks pg_type (IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = '%s'))",
				  domain ? "CREATE DOMAIN" : "CREATE TYPE", name ? name : "it", name ? name : "...");
	} else if (strcmp(kind, "AlterEnumStmt") == 0) {
		if (!jstr(st, "oldVal") && !jbool(st, "skipIfNewValExists"))
			sc_dbr043(c, NULL, "ALTER TYPE ... ADD VALUE without IF NOT EXISTS",
				  "write ALTER TYPE %s ADD VALUE IF NOT EXISTS '%s'", jlast_name(jget(st, "typeName")) ? jlast_name(jget(st, "typeName")) : "...",
				  jstr(st, "newVal") ? jstr(st, "newVal") : "...");
	} else if (strcmp(kind, "CreateFunctionStmt") == 0) {
		const char *name = jlast_name(jget(st, "funcname"));
		if (!jbool(st, "replace") && !names_has(&c->dropped, name))
			sc_dbr043(c, NULL, jbool(st, "is_procedure") ? "CREATE PROCEDURE without OR REPLACE" : "CREATE FUNCTION without OR REPLACE",
				  "write CREATE OR REPLACE %s %s", jbool(st, "is_procedure") ? "PROCEDURE" : "FUNCTION",
				  name ? name : "...");
	} else if (strcmp(kind, "CreateTrigStmt") == 0) {
		const char *name = jstr(st, "trigname");
		if (!jbool(st, "replace") && !names_has(&c->dropped, name))
			sc_dbr043(c, jstr(jget(st, "relation"), "relname"), "CREATE TRIGGER without OR REPLACE",
				  "write DROP TRIGGER IF EXISTS %s ON %s; before it, or CREATE OR REPLACE TRIGGER (PostgreSQL 14+)",
				  name ? name : "...", jstr(jget(st, "relation"), "relname") ? jstr(jget(st, "relation"), "relname") : "...");
	} else if (strcmp(kind, "CreateSchemaStmt") == 0) {
		const char *name = jstr(st, "schemaname");
		if (!jbool(st, "if_not_exists") && !names_has(&c->dropped, name))
			sc_dbr043(c, NULL, "CREATE SCHEMA without IF NOT EXISTS", "write CREATE SCHEMA IF NOT EXISTS %s",
				  name ? name : "...");
	} else if (strcmp(kind, "CreateExtensionStmt") == 0) {
		const char *name = jstr(st, "extname");
		if (!jbool(st, "if_not_exists") && !names_has(&c->dropped, name))
			sc_dbr043(c, NULL, "CREATE EXTENSION without IF NOT EXISTS",
				  "write CREATE EXTENSION IF NOT EXISTS %s", name ? name : "...");
	} else if (strcmp(kind, "CreatePolicyStmt") == 0) {
		const char *name = jstr(st, "policy_name");
		const char *table = jstr(jget(st, "table"), "relname");
		if (!names_has(&c->dropped, name))
			sc_dbr043(c, table, "CREATE POLICY",
				  "write DROP POLICY IF EXISTS %s ON %s; before it", name ? name : "...", table ? table : "...");
	} else if (strcmp(kind, "RuleStmt") == 0) {
		const char *name = jstr(st, "rulename");
		if (!jbool(st, "replace") && !names_has(&c->dropped, name))
			sc_dbr043(c, NULL, "CREATE RULE without OR REPLACE", "write CREATE OR REPLACE RULE %s",
				  name ? name : "...");
	}
	/* Everything else (DO blocks, UPDATE, DELETE, COMMENT, GRANT, SET,
	 * ALTER ... SET, REFRESH, ...) either repeats harmlessly or is not
	 * analysed: the contract names DO blocks as the escape hatch. */
}

/* Byte offset of a 1-based character position (PostgreSQL counts
 * characters in cursorpos; the parser runs in UTF-8). */
static size_t sc_char_to_byte(const char *s, int pos)
{
	size_t off = 0;
	if (pos <= 1)
		return 0;
	for (int ch = 1; ch < pos && s[off]; ch++) {
		off++;
		while (s[off] && ((unsigned char)s[off] & 0xC0) == 0x80)
			off++;
	}
	return off;
}

static const char *sc_field(const void *node, const char *field)
{
	const struct json *m = jget(node, field);
	if (!m || (m->type == JSON_BOOL && !m->b))
		return NULL;
	return m->type == JSON_BOOL ? "true" : m->type == JSON_STR ? m->str : "";
}

/* DBR048: a statement PostgreSQL refuses inside a transaction block, in a
 * migration that runs in one (txcheck.c has the table). */
static void sc_dbr048(struct sc_ctx *c, const char *kind, const struct json *st, size_t off, size_t end)
{
	const char *why = dbreg_txcheck_reason(kind, sc_field, st, c->sql + off, end - off);
	/* The table it works on, where the statement names one (an index's,
	 * a REINDEX TABLE's): "table" in JSON. */
	const char *table = jstr(jget(st, "relation"), "relname");
	if (why)
		sc_diag(c, "DBR048", table, NULL, "add transaction = false to the migration (its statements then run one by one)",
			"%s cannot run inside a transaction, and migration %s runs in one", why,
			c->migration ? c->migration : "");
}

/* DBR048 too: a transaction statement of the body's own (BEGIN, COMMIT,
 * ROLLBACK, SAVEPOINT...). dbreg runs a migration in its transaction and
 * records it there: a COMMIT in the body commits the run so far and what
 * follows runs outside it, so a later failure cannot roll back; a
 * ROLLBACK undoes the migrations before it and leaves history behind. In
 * a transaction = false migration a BEGIN would hold the statements after
 * it in one transaction that dbreg's progress record knows nothing of. */
static void sc_transaction_stmt(struct sc_ctx *c, const char *kind, size_t start, size_t end)
{
	if (strcmp(kind, "TransactionStmt") != 0)
		return;
	size_t n = 0;
	while (start + n < end && n < 12 && ((c->sql[start + n] | 32) >= 'a' && (c->sql[start + n] | 32) <= 'z'))
		n++;
	sc_diag(c, "DBR048", NULL, NULL,
		c->in_tx ? "remove it: dbreg runs each migration in a transaction of its own, and commits it with its history row"
			 : "remove it: a transaction = false migration's statements run one by one, each in its own transaction",
		"transaction statement %.*s in migration %s: %s", (int)n, c->sql + start, c->migration ? c->migration : "",
		c->in_tx ? "the migration runs in dbreg's transaction, which the body must leave alone (a COMMIT there makes "
			   "what ran so far stay though a later step fails, a ROLLBACK undoes the steps before it)"
			 : "a transaction of the body's own is not one dbreg's record of the migration's progress knows of");
}

/* A body libpg_query must not see (inputs.h): a statement deeper than its
 * recursive tree output survives (a 200,000-term sum crashed it), or more
 * statements than the offline checks take in their time budget. */
static bool sc_too_big(struct sc_ctx *c)
{
	/* Every statement has a character of its own, and every level of the
	 * estimated depth one too (a parenthesis counts 4, any other level 1):
	 * a body this short can be neither (no need to measure it). */
	size_t len = c->src ? c->src->len : strlen(c->sql);   /* never shorter than the text up to its NUL */
	if (len <= DBREG_MAX_SQL_DEPTH / 4 && len <= DBREG_MAX_SQL_STATEMENTS)
		return false;
	struct dbreg_sql_shape sh;
	dbreg_sql_shape(c->sql, strlen(c->sql), &sh);
	if (sh.depth > DBREG_MAX_SQL_DEPTH) {
		sc_loc(c, sh.depth_offset, &c->line, &c->column);
		sc_diag(c, "DBR044", NULL, NULL, "split the expression, or build it in steps (a temporary table, a function)",
			"statement nested too deeply to check: about %zu levels where dbreg checks up to %d", sh.depth,
			DBREG_MAX_SQL_DEPTH);
		return true;
	}
	if (sh.statements > DBREG_MAX_SQL_STATEMENTS) {
		sc_loc(c, 0, &c->line, &c->column);
		sc_diag(c, "DBR044", NULL, NULL, "split the body into several migrations, or load bulk data outside them",
			"body of %zu statements: dbreg checks up to %d in one body", sh.statements, DBREG_MAX_SQL_STATEMENTS);
		return true;
	}
	return false;
}

/* DBR107 about code i of the comment sup, placed at the code. */
static void sc_dbr107(struct sc_ctx *c, const struct dbreg_suppress *sup, size_t i, const char *fmt,
		      const char *hint, ...) __attribute__((format(printf, 5, 6)));

static void sc_dbr107(struct sc_ctx *c, const struct dbreg_suppress *sup, size_t i, const char *fmt,
		      const char *hint, ...)
{
	/* A cursor of its own: the comment may come before the statement. */
	struct dbreg_sql_cursor keep = c->pos;
	c->pos = (struct dbreg_sql_cursor)DBREG_SQL_CURSOR_INIT;
	struct dbreg_diag_at at = {
		.file = c->src && c->src->file ? c->src->file : c->file,
		.package = c->package,
		.migration = c->migration,
	};
	sc_loc(c, sup->at[i], &at.line, &at.column);
	c->pos = keep;
	const char *code = sup->codes[i];
	enum dbreg_severity sev = DBREG_SEV_WARNING;
	const char *title = dbreg_diag_title(code, &sev);
	char what[160];
	if (title)
		snprintf(what, sizeof what, "%s (%s)", code, title);
	else
		snprintf(what, sizeof what, "%s", code);
	va_list ap;
	va_start(ap, hint);
	char *words = dbreg_vprintf(hint, ap);
	va_end(ap);
	if (!words || dbreg_diag_addf(c->diags, "DBR107", &at, fmt, what) != 0 ||
	    dbreg_diag_hintf(c->diags, "%s", words) != 0)
		c->rc = DBREG_ENOMEM;
	free(words);
}

/* The codes of a dbreg:ignore comment that suppress nothing, DBR107 at
 * each, once per comment (two statements on its line share it), when the
 * comment is done with (its last statement checked): a code that is no
 * dbreg code (a typo: DBR430 for DBR043), a code no statement's finding
 * carries (DBR047, reported at the declared table), a code a comment may
 * not suppress (DBR021, an isolation rule), and a code it may suppress
 * that no finding of its statements carries (DBR043 on an idempotent
 * statement, or on the line before the wrong one). */
static void sc_unused_codes(struct sc_ctx *c)
{
	char codes[256];
	dbreg_suppress_codes(codes, sizeof codes);
	for (size_t i = 0; i < c->suppress.n_codes && c->rc == 0; i++) {
		const char *code = c->suppress.codes[i];
		enum dbreg_severity sev = DBREG_SEV_WARNING;
		const char *title = dbreg_diag_title(code, &sev);
		if (!title)
			sc_dbr107(c, &c->suppress, i, "dbreg:ignore names %s, which is no dbreg code: it suppresses nothing",
				  "name the code of the finding to suppress; a comment can suppress %s", codes);
		else if (!dbreg_diag_on_statement(code) && sev == DBREG_SEV_ERROR)
			sc_dbr107(c, &c->suppress, i, "dbreg:ignore names %s, which no statement's finding carries: it suppresses nothing",
				  "a comment can suppress %s; mend what %s reports where it is reported, or pass --allow %s "
				  "for a development target", codes, code, code);
		else if (!dbreg_diag_on_statement(code))
			sc_dbr107(c, &c->suppress, i, "dbreg:ignore names %s, which no statement's finding carries: it suppresses nothing",
				  "a comment can suppress %s; %s is reported where it is found, and no comment there "
				  "suppresses it", codes, code);
		else if (!dbreg_suppress_allowed(code) && !(c->suppress.used & (1u << i)))
			sc_dbr107(c, &c->suppress, i, "dbreg:ignore names %s, which a comment cannot suppress: it suppresses nothing",
				  "a comment can suppress %s; the isolation and schema rules hold for every migration: "
				  "mend the statement, or pass --allow %s for a development target", codes, code);
		else if (dbreg_suppress_allowed(code) && !(c->suppress.used & (1u << i)))
			sc_dbr107(c, &c->suppress, i, "dbreg:ignore names %s, but its statement has no such finding: it suppresses nothing",
				  "remove %s from the comment, or move the comment to the line before the statement "
				  "with the finding (or the end of that statement's first line)", code);
	}
	memset(&c->suppress, 0, sizeof(c->suppress));
}

/* A suppression comment between statements that no statement took (a
 * blank line or another statement between it and the next, or the end of
 * the body after it) suppresses nothing: DBR107 at its first code. */
static void sc_loose_comments(struct sc_ctx *c)
{
	for (size_t i = 0; i < c->n_loose && c->rc == 0; i++) {
		struct dbreg_suppress sup;
		if (!dbreg_suppress_parse_at(&sup, c->sql, c->loose[i]))
			continue;
		bool taken = false;
		for (size_t k = 0; k < c->n_adopted && !taken; k++)
			taken = c->adopted[k] == sup.at[0];
		if (taken)
			continue;
		sc_dbr107(c, &sup, 0, "dbreg:ignore names %s on a line that belongs to no statement: it suppresses nothing",
			  "a comment belongs to the statement whose first line it ends, or, alone on its line, to the "
			  "statement on the next line (no blank line between)");
	}
}

/* Analyses one body; c carries where it comes from. */
static void sc_body(struct sc_ctx *c)
{
	c->pos = (struct dbreg_sql_cursor)DBREG_SQL_CURSOR_INIT;
	if (sc_too_big(c))
		return;
	PgQueryParseResult r = pg_query_parse(c->sql);
	if (r.error) {
		size_t off = sc_char_to_byte(c->sql, r.error->cursorpos);
		sc_loc(c, off, &c->line, &c->column);
		sc_diag(c, "DBR044", NULL, NULL, NULL, "SQL does not parse: %s",
			r.error->message ? r.error->message : "syntax error");
		pg_query_free_parse_result(r);
		return;
	}
	/* The tree is read one statement at a time, each freed before the
	 * next: a body of 100,000 statements would otherwise hold a tree of
	 * millions of nodes, and building and freeing it cost most of the
	 * check. */
	struct json_parser jp = json_parser_start(r.parse_tree, &c->arena);
	size_t sql_len = strlen(c->sql);
	bool more = r.parse_tree && json_enter_array(&jp, "stmts");
	size_t last_end = 0;           /* of the last statement read */
	for (size_t i = 0; more && c->rc == 0; i++) {
		/* The time budget is looked at every 1,024 statements (validate
		 * reports it once). */
		if ((i & 1023) == 1023 && c->reg && dbreg_past(c->reg->check_deadline_ms))
			break;
		struct json raw;
		if (!(more = json_next_item(&jp, &raw, i == 0)))
			break;
		long long loc = jnum(&raw, "stmt_location");
		size_t off = loc > 0 && (size_t)loc < sql_len ? (size_t)loc : 0;
		long long slen = jnum(&raw, "stmt_len");
		size_t end = slen > 0 && (size_t)slen <= sql_len - off ? off + (size_t)slen : sql_len;
		size_t start = sc_skip_blank_noting(c->sql, off, end, c);
		last_end = end;
		sc_loc(c, start, &c->line, &c->column);
		struct dbreg_suppress next;
		dbreg_suppress_find(&next, c->sql, off, start);
		if (!dbreg_suppress_same(&c->suppress, &next)) {
			sc_unused_codes(c);
			c->suppress = next;
			if (next.n_codes)
				sc_push_offset(c, &c->adopted, &c->n_adopted, next.at[0]);
		}
		const struct json *st;
		const char *kind = jnode(jget(&raw, "stmt"), &st);
		if (kind)
			sc_statement(c, kind, st);
		if (kind && c->in_tx)
			sc_dbr048(c, kind, st, off, end);
		if (kind)
			sc_transaction_stmt(c, kind, start, end);
	}
	json_parser_end(&jp);
	pg_query_free_parse_result(r);
	/* The last comment's statements are checked, unless the time budget
	 * or a statement too deep to read cut the body short. */
	if (!more && c->rc == 0) {
		sc_unused_codes(c);
		sc_skip_blank_noting(c->sql, last_end, sql_len, c);
		sc_loose_comments(c);
	}
	memset(&c->suppress, 0, sizeof(c->suppress));
	free(c->loose);
	free(c->adopted);
	c->loose = c->adopted = NULL;
	c->n_loose = c->n_adopted = 0;
	/* A statement whose tree cannot be read (too deep) ends the analysis of
	 * the body there: the server parses it, so it is not a syntax error. */
	if (jp.oom)
		c->rc = DBREG_ENOMEM;
}

static void sc_ctx_dispose(struct sc_ctx *c)
{
	names_dispose(&c->dropped);
	names_dispose(&c->created);
}

int dbreg_sqlcheck_text(struct dbreg_diag_list *diags, const char *file, const char *sql, bool up)
{
	struct sc_ctx c = {.diags = diags, .sql = sql ? sql : "", .file = file, .up = up};
	sc_body(&c);
	sc_ctx_dispose(&c);
	json_arena_dispose(&c.arena);
	return c.rc;
}

/* The PostgreSQL body of a migration in a direction: what runs there. A
 * generic body shadowed by a *_postgres one runs on SQLite only and, like
 * *_sqlite bodies, is exempt. */
static const struct dbreg_sql *sc_pg_body(const struct dbreg_migration *m, bool up)
{
	const struct dbreg_sql *specific = up ? &m->up_postgres : &m->down_postgres;
	const struct dbreg_sql *generic = up ? &m->up : &m->down;
	if (specific->text)
		return specific;
	return generic->text ? generic : NULL;
}

/* Whether m is the last migration of its version (DBR041 keeps them in
 * order; an unreadable version ends none). */
static bool sc_version_ends(const struct dbreg_migration *m, const struct dbreg_migration *next)
{
	return m->version_ok && next->version_ok && dbreg_semver_compare(&m->version, &next->version) != 0;
}

/* Checks one package's bodies, its findings appended to diags. */
static int sc_package(struct dbreg_diag_list *diags, const struct dbreg_registry *reg, const struct sc_owners *owners,
		      const struct dbreg_package *pkg)
{
	struct dbreg_iso *iso = NULL;
	/* Past the time budget: validate says so once (validate.c). */
	if (dbreg_past(reg->check_deadline_ms))
		return 0;
	/* The core package's tables follow no prefix or workspace rule. */
	if (!pkg->core && dbreg_iso_new(&iso, reg, pkg, diags) != 0)
		return DBREG_ENOMEM;
	struct sc_ctx c = {.diags = diags, .reg = reg, .owners = owners, .pkg = pkg, .package = pkg->name,
			   .file = pkg->file};
	for (size_t i = 0; i < pkg->n_migrations && c.rc == 0; i++) {
		const struct dbreg_migration *m = &pkg->migrations[i];
		for (int dir = 1; dir >= 0 && c.rc == 0; dir--) {
			const struct dbreg_sql *body = sc_pg_body(m, dir == 1);
			if (!body)
				continue;
			c.sql = body->text;
			c.src = body;
			c.migration = m->id;
			c.up = dir == 1;
			c.in_tx = m->transaction;
			c.iso = c.up ? iso : NULL;
			sc_body(&c);
			sc_ctx_dispose(&c);
		}
		if (i + 1 < pkg->n_migrations && sc_version_ends(m, &pkg->migrations[i + 1]))
			dbreg_iso_version_end(iso, m->version_text);
	}
	c.src = NULL;
	int rc = dbreg_iso_finish(iso);
	if (c.rc == 0)
		c.rc = rc;
	dbreg_iso_free(iso);
	sc_ctx_dispose(&c);
	json_arena_dispose(&c.arena);
	return c.rc;
}

/* At most this many threads check packages. */
#define SC_MAX_WORKERS 4

/* What every worker shares: nothing is per worker. */
struct sc_job {
	const struct dbreg_registry *reg;
	const struct sc_owners *owners;
};

/* Checks reg->packages[k] into out (dbreg_worker_fn). */
static int sc_item(void *arg, size_t worker, size_t k, struct dbreg_diag_list *out)
{
	(void)worker;
	struct sc_job *job = arg;
	if (job->reg->check_only && !job->reg->check_only[k])
		return 0;   /* a reload keeps this package's findings (reload.c) */
	struct dbreg_check_slot *slot = DBREG_CHECK_SLOT(job->reg, k, DBREG_CC_SQL);
	if (slot && slot->hit)
		return dbreg_diag_list_copy(out, &slot->found);   /* the stored result (checkcache.c) */
	int rc = sc_package(out, job->reg, job->owners, job->reg->packages[k]);
	/* Kept only when checked in full, not cut short by the budget. */
	if (rc == 0 && slot && !dbreg_past(job->reg->check_deadline_ms)) {
		rc = dbreg_diag_list_copy(&slot->found, out);
		slot->captured = rc == 0;
	}
	return rc;
}

/* Checks every package on up to SC_MAX_WORKERS threads, then appends the
 * findings to dst in registry order. */
static int sc_packages(struct dbreg_diag_list *dst, const struct dbreg_registry *reg, const struct sc_owners *owners)
{
	struct sc_job job = {.reg = reg, .owners = owners};
	size_t n = reg->n_packages;
	return dbreg_workers_run(dst, n, dbreg_workers_count(n, SC_MAX_WORKERS), sc_item, &job);
}

int dbreg_sqlcheck_registry(struct dbreg_registry *reg)
{
	return dbreg_sqlcheck_registry_into(&reg->diags, reg);
}

int dbreg_sqlcheck_registry_into(struct dbreg_diag_list *dst, const struct dbreg_registry *reg)
{
	struct sc_owners owners = {0};
	size_t total = 0;
	for (size_t i = 0; i < reg->n_packages; i++)
		total += reg->packages[i]->n_tables;
	if (total && !(owners.items = malloc(total * sizeof *owners.items)))
		return DBREG_ENOMEM;
	for (size_t i = 0; i < reg->n_packages; i++)
		for (size_t t = 0; t < reg->packages[i]->n_tables; t++)
			if (reg->packages[i]->tables[t].name)
				owners.items[owners.n++] = (struct sc_owner){reg->packages[i]->tables[t].name, i, reg->packages[i]};
	if (owners.n)
		qsort(owners.items, owners.n, sizeof *owners.items, sc_owner_cmp);
	int rc = sc_packages(dst, reg, &owners);
	free(owners.items);
	return rc;
}

/* ---- the column types the PostgreSQL bodies give (generate's downs) ------- */

static struct dbreg_pg_coltype *pgt_find(const struct dbreg_pg_coltypes *t, const char *table, const char *column)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].table, table) == 0 && strcmp(t->v[i].column, column) == 0)
			return &t->v[i];
	return NULL;
}

/* The portable spelling of a TypeName: its last name and its type
 * modifiers ("varchar(20)", "numeric(10,2)", "int8"); NULL for an array. */
static char *pgt_type_text(const struct json *tn)
{
	const char *base = jlast_name(jget(tn, "names"));
	if (!base || jlen(jget(tn, "arrayBounds")))
		return NULL;
	if (strcmp(base, "bpchar") == 0)
		base = "char";
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_puts(&b, base);
	const struct json *mods = jget(tn, "typmods");
	for (size_t i = 0; i < jlen(mods); i++) {
		const struct json *body;
		const char *kind = jnode(&mods->items[i], &body);
		if (!kind || strcmp(kind, "A_Const") != 0) {
			dbreg_buf_dispose(&b);
			return NULL;
		}
		dbreg_buf_printf(&b, "%s%lld", i ? "," : "(", jnum(jget(body, "ival"), "ival"));
	}
	if (jlen(mods))
		dbreg_buf_puts(&b, ")");
	if (b.oom) {
		dbreg_buf_dispose(&b);
		return NULL;
	}
	return dbreg_buf_detach(&b);
}

/* Sets table.column's type (no TypeName, or one not written as a
 * portable spelling: forgets it). */
static int pgt_set(struct dbreg_pg_coltypes *t, const char *table, const char *column, const struct json *tn)
{
	if (!table || !column)
		return 0;
	struct dbreg_pg_coltype *e = pgt_find(t, table, column);
	if (!e) {
		if (!(e = dbreg_array_push(&t->v, &t->n, sizeof *e)))
			return DBREG_ENOMEM;
		e->table = dbreg_strdup(table);
		e->column = dbreg_strdup(column);
		if (!e->table || !e->column)
			return DBREG_ENOMEM;
	}
	free(e->type);
	e->type = tn ? pgt_type_text(tn) : NULL;
	return 0;
}

static int pgt_rename(struct dbreg_pg_coltypes *t, const char *table, const char *from, const char *to)
{
	for (size_t i = 0; table && to && i < t->n; i++) {
		char **field = from ? &t->v[i].column : &t->v[i].table;
		if (strcmp(t->v[i].table, table) != 0 || (from && strcmp(t->v[i].column, from) != 0))
			continue;
		char *copy = dbreg_strdup(to);
		if (!copy)
			return DBREG_ENOMEM;
		free(*field);
		*field = copy;
	}
	return 0;
}

static int pgt_statement(struct dbreg_pg_coltypes *t, const char *kind, const struct json *st)
{
	int rc = 0;
	if (strcmp(kind, "CreateStmt") == 0) {
		const char *table = jstr(jget(st, "relation"), "relname");
		const struct json *elts = jget(st, "tableElts");
		for (size_t i = 0; i < jlen(elts) && rc == 0; i++) {
			const struct json *body;
			const char *k = jnode(&elts->items[i], &body);
			if (k && strcmp(k, "ColumnDef") == 0)
				rc = pgt_set(t, table, jstr(body, "colname"), jget(body, "typeName"));
		}
	} else if (strcmp(kind, "AlterTableStmt") == 0) {
		const char *table = jstr(jget(st, "relation"), "relname");
		const struct json *cmds = jget(st, "cmds");
		for (size_t i = 0; i < jlen(cmds) && rc == 0; i++) {
			const struct json *cmd, *def;
			const char *k = jnode(&cmds->items[i], &cmd);
			const char *sub = k && strcmp(k, "AlterTableCmd") == 0 ? jstr(cmd, "subtype") : NULL;
			const char *dk = sub ? jnode(jget(cmd, "def"), &def) : NULL;
			bool coldef = dk && strcmp(dk, "ColumnDef") == 0;
			if (sub && strcmp(sub, "AT_AddColumn") == 0 && coldef)
				rc = pgt_set(t, table, jstr(def, "colname"), jget(def, "typeName"));
			else if (sub && strcmp(sub, "AT_AlterColumnType") == 0 && coldef)
				rc = pgt_set(t, table, jstr(cmd, "name"), jget(def, "typeName"));
		}
	} else if (strcmp(kind, "RenameStmt") == 0) {
		const char *type = jstr(st, "renameType");
		const char *table = jstr(jget(st, "relation"), "relname");
		if (type && strcmp(type, "OBJECT_COLUMN") == 0)
			rc = pgt_rename(t, table, jstr(st, "subname"), jstr(st, "newname"));
		else if (type && strcmp(type, "OBJECT_TABLE") == 0)
			rc = pgt_rename(t, table, NULL, jstr(st, "newname"));
	}
	return rc;
}

int dbreg_sqlcheck_pg_coltypes(const struct dbreg_package *pkg, struct dbreg_pg_coltypes *out)
{
	memset(out, 0, sizeof *out);
	struct json_arena arena = {0};
	int rc = 0;
	for (size_t m = 0; m < pkg->n_migrations && rc == 0; m++) {
		const struct dbreg_sql *body = sc_pg_body(&pkg->migrations[m], true);
		if (!body || !body->text)
			continue;
		PgQueryParseResult r = pg_query_parse(body->text);
		if (!r.error && r.parse_tree) {
			struct json_parser jp = json_parser_start(r.parse_tree, &arena);
			bool more = json_enter_array(&jp, "stmts");
			for (size_t i = 0; more && rc == 0; i++) {
				struct json raw;
				if (!(more = json_next_item(&jp, &raw, i == 0)))
					break;
				const struct json *st;
				const char *kind = jnode(jget(&raw, "stmt"), &st);
				if (kind)
					rc = pgt_statement(out, kind, st);
			}
			if (jp.oom)
				rc = DBREG_ENOMEM;
			json_parser_end(&jp);
		}
		pg_query_free_parse_result(r);
	}
	json_arena_dispose(&arena);
	if (rc != 0)
		dbreg_pg_coltypes_dispose(out);
	return rc;
}

const char *dbreg_pg_coltype(const struct dbreg_pg_coltypes *t, const char *table, const char *column)
{
	const struct dbreg_pg_coltype *e = table && column ? pgt_find(t, table, column) : NULL;
	return e ? e->type : NULL;
}

void dbreg_pg_coltypes_dispose(struct dbreg_pg_coltypes *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].table);
		free(t->v[i].column);
		free(t->v[i].type);
	}
	free(t->v);
	memset(t, 0, sizeof *t);
}
