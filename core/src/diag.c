/* The DBR code table and the two printers (human, JSON). Every check names
 * a code; its severity and title come from here, so adding a code is one
 * line in `codes`. */
#include "diag.h"
#include "util.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct code_info {
	const char *code;
	enum dbreg_severity severity;
	const char *title;
	bool statement;                /* a migration statement's finding, where a dbreg:ignore comment is read */
};

static const struct code_info codes[] = {
	{"DBR001", DBREG_SEV_ERROR, "the file is not valid TOML 1.0", false},
	{"DBR010", DBREG_SEV_ERROR, "[package] missing, or name missing or invalid", false},
	{"DBR011", DBREG_SEV_ERROR, "a version is not semver 2.0.0", false},
	{"DBR012", DBREG_SEV_ERROR, "two manifests declare the same package", false},
	{"DBR013", DBREG_SEV_ERROR, "unknown key", false},
	{"DBR014", DBREG_SEV_ERROR, "a key has the wrong type", false},
	{"DBR015", DBREG_SEV_ERROR, "not exactly one core package", false},
	{"DBR016", DBREG_SEV_ERROR, "a package declares tools but the core's ydtb_tools lacks a column dbreg writes", false},
	{"DBR020", DBREG_SEV_ERROR, "package table without the ydtb_ prefix", true},
	{"DBR021", DBREG_SEV_ERROR, "package table without workspace_id", true},
	{"DBR022", DBREG_SEV_ERROR, "workspace_id without a foreign key to ydtb_workspaces.id", true},
	{"DBR023", DBREG_SEV_ERROR, "workspace_id may be null", true},
	{"DBR024", DBREG_SEV_ERROR, "a table declared by two packages", false},
	{"DBR025", DBREG_SEV_ERROR, "invalid SQL identifier", false},
	{"DBR026", DBREG_SEV_ERROR, "unknown column type", false},
	{"DBR027", DBREG_SEV_ERROR, "foreign key to an unknown table or column, or to a package not depended on", true},
	{"DBR028", DBREG_SEV_ERROR, "table without a primary key", false},
	{"DBR029", DBREG_SEV_ERROR, "foreign key column whose type cannot reference the referenced column's", false},
	{"DBR030", DBREG_SEV_ERROR, "dependency on a package that is not registered", false},
	{"DBR031", DBREG_SEV_ERROR, "dependency range not satisfied by the registered version", false},
	{"DBR032", DBREG_SEV_ERROR, "circular dependency", false},
	{"DBR033", DBREG_SEV_ERROR, "invalid semver range", false},
	{"DBR040", DBREG_SEV_ERROR, "duplicate migration id in a package", false},
	{"DBR041", DBREG_SEV_ERROR, "migration version invalid, above the package version, or out of order", false},
	{"DBR042", DBREG_SEV_ERROR, "migration has no body for the dialect being planned", false},
	{"DBR043", DBREG_SEV_ERROR, "statement that is not idempotent", true},
	{"DBR044", DBREG_SEV_ERROR, "SQL that does not parse (PostgreSQL grammar)", true},
	{"DBR045", DBREG_SEV_ERROR, "applied migration changed (checksum drift)", false},
	{"DBR046", DBREG_SEV_ERROR, "a migration creates a table that breaks the table rules", true},
	{"DBR047", DBREG_SEV_ERROR, "the schema that migrations produce differs from the declared tables", false},
	{"DBR048", DBREG_SEV_ERROR, "a statement that cannot run inside a transaction, in a migration that runs in one", true},
	{"DBR050", DBREG_SEV_ERROR, "tool id invalid or declared twice", false},
	{"DBR101", DBREG_SEV_WARNING, "no index led by workspace_id", false},
	{"DBR102", DBREG_SEV_WARNING, "table without a description", false},
	{"DBR103", DBREG_SEV_WARNING, "unsafe operation for a live database", true},
	{"DBR105", DBREG_SEV_WARNING, "a rule was bypassed by a development flag or a suppression comment", false},
	{"DBR106", DBREG_SEV_WARNING, "a key between workspace tables without workspace_id", false},
	/* Not in manifest.md's table (it is silent on such comments): a
	 * warning, since the comment only has no effect. */
	{"DBR107", DBREG_SEV_WARNING, "a dbreg:ignore comment, or a code it names, suppresses nothing (no such code, no such finding on its statement, a code a comment cannot suppress, or no statement takes the comment)", false},
};

static const struct code_info *diag_lookup(const char *code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(codes[i].code, code) == 0)
			return &codes[i];
	return NULL;
}

bool dbreg_diag_on_statement(const char *code)
{
	const struct code_info *ci = code ? diag_lookup(code) : NULL;
	return ci && ci->statement;
}

const char *dbreg_diag_code(size_t i)
{
	return i < sizeof(codes) / sizeof(codes[0]) ? codes[i].code : NULL;
}

const char *dbreg_diag_title(const char *code, enum dbreg_severity *severity)
{
	const struct code_info *ci = code ? diag_lookup(code) : NULL;
	if (!ci)
		return NULL;
	if (severity)
		*severity = ci->severity;
	return ci->title;
}

static void diag_free_one(struct dbreg_diag *d)
{
	free(d->file);
	free(d->package);
	free(d->table);
	free(d->column_name);
	free(d->migration);
	free(d->message);
	free(d->hint);
}

void dbreg_diag_list_dispose(struct dbreg_diag_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->len; i++)
		diag_free_one(&list->items[i]);
	free(list->items);
	*list = (struct dbreg_diag_list)DBREG_DIAG_LIST_INIT;
}

static int diag_grow(struct dbreg_diag_list *list)
{
	if (list->len < list->cap)
		return 0;
	size_t cap = list->cap ? list->cap * 2 : 16;
	struct dbreg_diag *items = realloc(list->items, cap * sizeof(*items));
	if (!items)
		return DBREG_ENOMEM;
	list->items = items;
	list->cap = cap;
	return 0;
}

int dbreg_diag_addf(struct dbreg_diag_list *list, const char *code, const struct dbreg_diag_at *at,
		    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = dbreg_diag_vaddf(list, code, at, fmt, ap);
	va_end(ap);
	return rc;
}

int dbreg_diag_vaddf(struct dbreg_diag_list *list, const char *code, const struct dbreg_diag_at *at,
		     const char *fmt, va_list ap)
{
	const struct code_info *ci = diag_lookup(code);
	assert(ci && "diagnostic code missing from the table in diag.c");
	if (!ci || diag_grow(list))
		return DBREG_ENOMEM;

	struct dbreg_buf msg = DBREG_BUF_INIT;
	dbreg_buf_vprintf(&msg, fmt, ap);

	struct dbreg_diag *d = &list->items[list->len];
	memset(d, 0, sizeof(*d));
	d->severity = ci->severity;
	d->code = ci->code;
	d->message = dbreg_buf_detach(&msg);
	if (at) {
		d->file = dbreg_strdup(at->file);
		d->line = at->line;
		d->column = at->column;
		d->package = dbreg_strdup(at->package);
		d->table = dbreg_strdup(at->table);
		d->column_name = dbreg_strdup(at->column_name);
		d->migration = dbreg_strdup(at->migration);
	}
	if (!d->message || (at && ((at->file && !d->file) || (at->package && !d->package) ||
				   (at->table && !d->table) || (at->column_name && !d->column_name) ||
				   (at->migration && !d->migration)))) {
		diag_free_one(d);
		return DBREG_ENOMEM;
	}
	list->len++;
	if (d->severity == DBREG_SEV_ERROR)
		list->errors++;
	else
		list->warnings++;
	return 0;
}

int dbreg_diag_copy(struct dbreg_diag_list *dst, const struct dbreg_diag *d)
{
	struct dbreg_diag_at at = {.file = d->file, .line = d->line, .column = d->column, .package = d->package,
				   .table = d->table, .column_name = d->column_name, .migration = d->migration};
	if (dbreg_diag_addf(dst, d->code, &at, "%s", d->message) != 0)
		return DBREG_ENOMEM;
	if (d->hint && dbreg_diag_hintf(dst, "%s", d->hint) != 0)
		return DBREG_ENOMEM;
	/* The code table fixes the severity; a finding kept from a bypass
	 * (DBR105) or a suppression is a warning either way. */
	struct dbreg_diag *last = &dst->items[dst->len - 1];
	if (last->severity != d->severity) {
		if (last->severity == DBREG_SEV_ERROR) {
			dst->errors--;
			dst->warnings++;
		} else if (d->severity == DBREG_SEV_ERROR) {
			dst->warnings--;
			dst->errors++;
		}
		last->severity = d->severity;
	}
	return 0;
}

int dbreg_diag_list_copy(struct dbreg_diag_list *dst, const struct dbreg_diag_list *src)
{
	for (size_t i = 0; i < src->len; i++)
		if (dbreg_diag_copy(dst, &src->items[i]) != 0)
			return DBREG_ENOMEM;
	return 0;
}

int dbreg_diag_hintf(struct dbreg_diag_list *list, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = dbreg_diag_vhintf(list, fmt, ap);
	va_end(ap);
	return rc;
}

int dbreg_diag_vhintf(struct dbreg_diag_list *list, const char *fmt, va_list ap)
{
	if (list->len == 0)
		return 0;
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_vprintf(&b, fmt, ap);
	char *hint = dbreg_buf_detach(&b);
	if (!hint)
		return DBREG_ENOMEM;
	struct dbreg_diag *d = &list->items[list->len - 1];
	free(d->hint);
	d->hint = hint;
	return 0;
}

int dbreg_diag_invalid_toml(struct dbreg_diag_list *list, const struct dbreg_diag_at *at, const char *message)
{
	if (dbreg_diag_addf(list, "DBR001", at, "invalid TOML: %s", message) != 0)
		return DBREG_ENOMEM;
	return dbreg_diag_hintf(list, "correct the TOML syntax at this line and column");
}

int dbreg_diag_list_move(struct dbreg_diag_list *dst, struct dbreg_diag_list *src)
{
	for (size_t i = 0; i < src->len; i++) {
		if (diag_grow(dst))
			return DBREG_ENOMEM;
		dst->items[dst->len++] = src->items[i];
		if (src->items[i].severity == DBREG_SEV_ERROR)
			dst->errors++;
		else
			dst->warnings++;
	}
	free(src->items);
	*src = (struct dbreg_diag_list)DBREG_DIAG_LIST_INIT;
	return 0;
}

void dbreg_diag_list_drop(struct dbreg_diag_list *list, size_t from,
			  bool (*drop)(const struct dbreg_diag *d, const void *ctx), const void *ctx)
{
	size_t k = from;
	for (size_t i = from; i < list->len; i++) {
		struct dbreg_diag *d = &list->items[i];
		if (!drop(d, ctx)) {
			list->items[k++] = *d;
			continue;
		}
		if (d->severity == DBREG_SEV_ERROR)
			list->errors--;
		else
			list->warnings--;
		diag_free_one(d);
	}
	list->len = k;
}

int dbreg_diag_list_move_from(struct dbreg_diag_list *dst, struct dbreg_diag_list *src, size_t from)
{
	size_t i = from;
	for (; i < src->len; i++) {
		if (diag_grow(dst))
			break;
		dst->items[dst->len++] = src->items[i];
		if (src->items[i].severity == DBREG_SEV_ERROR) {
			dst->errors++;
			src->errors--;
		} else {
			dst->warnings++;
			src->warnings--;
		}
	}
	/* What could not move stays, after the first `from`. */
	size_t left = src->len - i;
	/* An empty list has no items array: memmove of NULL is undefined even for 0 bytes. */
	if (left)
		memmove(src->items + from, src->items + i, left * sizeof(*src->items));
	src->len = from + left;
	return left ? DBREG_ENOMEM : 0;
}

static int cmp_str(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int diag_cmp(const struct dbreg_diag *a, const struct dbreg_diag *b)
{
	int c = cmp_str(a->file, b->file);
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->column != b->column)
		return a->column < b->column ? -1 : 1;
	return strcmp(a->code, b->code);
}

void dbreg_diag_list_sort(struct dbreg_diag_list *list)
{
	/* Insertion sort into a scratch copy would be O(n^2); a merge sort keeps
	 * it stable and O(n log n) for registries with many findings. */
	size_t n = list->len;
	if (n < 2)
		return;
	struct dbreg_diag *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return;
	struct dbreg_diag *a = list->items;
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				tmp[k++] = diag_cmp(&a[j], &a[i]) < 0 ? a[j++] : a[i++];
			while (i < mid)
				tmp[k++] = a[i++];
			while (j < hi)
				tmp[k++] = a[j++];
		}
		memcpy(a, tmp, n * sizeof(*a));
	}
	free(tmp);
}

/* Writes s keeping a finding on one line and the terminal as it was: a
 * control character that a name or value brought along (a TOML "\n" or
 * "\u001b" in a key) is written as its C escape. */
static void diag_put_text(FILE *fp, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\n')
			fputs("\\n", fp);
		else if (ch == '\t')
			fputs("\\t", fp);
		else if (ch == '\r')
			fputs("\\r", fp);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(fp, "\\x%02x", ch);
		else
			fputc(ch, fp);
	}
}

void dbreg_diag_print(FILE *fp, const struct dbreg_diag *d, unsigned flags)
{
	bool color = flags & DBREG_PRINT_COLOR;
	const char *sev = d->severity == DBREG_SEV_ERROR ? "error" : "warning";
	const char *on = !color ? "" : d->severity == DBREG_SEV_ERROR ? "\033[1;31m" : "\033[1;33m";
	const char *off = color ? "\033[0m" : "";
	const char *bold = color ? "\033[1m" : "";

	if (d->file) {
		fputs(bold, fp);
		diag_put_text(fp, d->file);
		if (d->line) {
			fprintf(fp, ":%u", d->line);
			if (d->column)
				fprintf(fp, ":%u", d->column);
		}
		fprintf(fp, ":%s ", off);
	}
	fprintf(fp, "%s%s[%s]%s: ", on, sev, d->code, off);
	diag_put_text(fp, d->message ? d->message : "");
	if (d->hint) {
		fputs(" (hint: ", fp);
		diag_put_text(fp, d->hint);
		fputc(')', fp);
	}
	fputc('\n', fp);
}

static void json_key_str(struct dbreg_buf *b, const char *key, const char *val, bool comma)
{
	dbreg_buf_printf(b, "%s\"%s\": ", comma ? ", " : "", key);
	dbreg_buf_json_str(b, val);
}

static void json_key_uint(struct dbreg_buf *b, const char *key, unsigned val)
{
	if (val)
		dbreg_buf_printf(b, ", \"%s\": %u", key, val);
	else
		dbreg_buf_printf(b, ", \"%s\": null", key);
}

/* One finding as a JSON object: the shape of cli.md's diagnostics, written
 * once for validate's list and for watch's lines. */
static void diag_json_obj(struct dbreg_buf *b, const struct dbreg_diag *d)
{
	dbreg_buf_puts(b, "{");
	json_key_str(b, "code", d->code, false);
	json_key_str(b, "severity", d->severity == DBREG_SEV_ERROR ? "error" : "warning", true);
	json_key_str(b, "message", d->message, true);
	json_key_str(b, "file", d->file, true);
	json_key_uint(b, "line", d->line);
	json_key_uint(b, "column", d->column);
	json_key_str(b, "package", d->package, true);
	json_key_str(b, "table", d->table, true);
	json_key_str(b, "column_name", d->column_name, true);
	json_key_str(b, "migration", d->migration, true);
	json_key_str(b, "hint", d->hint, true);
	dbreg_buf_puts(b, "}");
}

static void diag_buf_write(FILE *fp, struct dbreg_buf *b)
{
	if (b->ptr)
		fwrite(b->ptr, 1, b->len, fp);
	dbreg_buf_dispose(b);
}

void dbreg_diag_list_json(FILE *fp, const struct dbreg_diag_list *list)
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_puts(&b, "[");
	for (size_t i = 0; i < list->len; i++) {
		dbreg_buf_puts(&b, i ? ",\n    " : "\n    ");
		diag_json_obj(&b, &list->items[i]);
	}
	dbreg_buf_puts(&b, list->len ? "\n  ]" : "]");
	diag_buf_write(fp, &b);
}

void dbreg_diag_json(FILE *fp, const struct dbreg_diag *d)
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	diag_json_obj(&b, d);
	diag_buf_write(fp, &b);
}

void dbreg_json_str(FILE *fp, const char *s)
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_json_str(&b, s);
	diag_buf_write(fp, &b);
}

bool dbreg_diag_code_allowable(const char *code)
{
	const struct code_info *ci = code ? diag_lookup(code) : NULL;
	return ci && ci->severity == DBREG_SEV_ERROR;
}

int dbreg_diag_list_bypass(struct dbreg_diag_list *list, size_t from, const char *const *codes, size_t n,
			   const char *why)
{
	const struct code_info *dbr105 = diag_lookup("DBR105");
	for (size_t i = from; i < list->len; i++) {
		struct dbreg_diag *d = &list->items[i];
		bool hit = false;
		for (size_t k = 0; k < n && !hit; k++)
			hit = d->severity == DBREG_SEV_ERROR && strcmp(d->code, codes[k]) == 0;
		if (!hit)
			continue;
		/* The original code stays in the message: the bypass is visible. */
		char *msg = dbreg_printf("%s bypassed by %s: %s", d->code, why, d->message);
		if (!msg)
			return DBREG_ENOMEM;
		free(d->message);
		d->message = msg;
		d->code = dbr105->code;
		d->severity = DBREG_SEV_WARNING;
		list->errors--;
		list->warnings++;
	}
	return 0;
}
