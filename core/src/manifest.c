/* Manifest loading: a TOML tree becomes a struct dbreg_package. One static
 * key table per section (name, allowed TOML types, code when missing) drives
 * the unknown-key (DBR013) and wrong-type (DBR014) checks, so the loader
 * below reads only values whose type is already known to be right. */
#include "diag.h"
#include "inputs.h"
#include "registry.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Allowed TOML types of a key, as a bit mask. */
#define M_STR (1u << DBREG_TOML_STRING)
#define M_INT (1u << DBREG_TOML_INTEGER)
#define M_FLOAT (1u << DBREG_TOML_FLOAT)
#define M_BOOL (1u << DBREG_TOML_BOOL)
#define M_TABLE (1u << DBREG_TOML_TABLE)
#define M_ARRAY (1u << DBREG_TOML_ARRAY)

struct manifest_key {
	const char *name;
	size_t len;                    /* strlen(name) */
	unsigned types;
	const char *missing_code;      /* diagnostic when absent; NULL: optional */
	bool one_line;                 /* a string without a line break (DBR014) */
};
#define MKEY(name, types, code) { name, sizeof name - 1, types, code, false }
#define MKEY_LINE(name) { name, sizeof name - 1, M_STR, NULL, true }

/* Each table is indexed by its enum: the loader reads a section's values
 * from the array manifest_keys_find fills (mvals), by index. */
enum { R_PACKAGE, R_DEPENDENCIES, R_TABLES, R_TOOLS, R_MIGRATIONS, R_COUNT };
static const struct manifest_key root_keys[] = {
	[R_PACKAGE] = MKEY("package", M_TABLE, NULL),  /* DBR010 from manifest_package */
	[R_DEPENDENCIES] = MKEY("dependencies", M_TABLE, NULL),
	[R_TABLES] = MKEY("tables", M_TABLE, NULL),
	[R_TOOLS] = MKEY("tools", M_ARRAY, NULL),
	[R_MIGRATIONS] = MKEY("migrations", M_ARRAY, NULL),
	{ NULL, 0, 0, NULL, false },
};

enum { P_NAME, P_VERSION, P_KIND, P_DESCRIPTION, P_COUNT };
static const struct manifest_key package_keys[] = {
	[P_NAME] = MKEY("name", M_STR, "DBR010"),
	[P_VERSION] = MKEY("version", M_STR, "DBR011"),
	[P_KIND] = MKEY("kind", M_STR, NULL),
	[P_DESCRIPTION] = MKEY_LINE("description"),
	{ NULL, 0, 0, NULL, false },
};

enum { T_DESCRIPTION, T_WORKSPACE_SCOPED, T_PRIMARY_KEY, T_UNIQUE, T_COLUMNS, T_INDEXES, T_RENAMED_FROM, T_COUNT };
static const struct manifest_key table_keys[] = {
	[T_DESCRIPTION] = MKEY("description", M_STR, NULL),
	[T_WORKSPACE_SCOPED] = MKEY("workspace_scoped", M_BOOL, NULL),
	[T_PRIMARY_KEY] = MKEY("primary_key", M_ARRAY, NULL),
	[T_UNIQUE] = MKEY("unique", M_ARRAY, NULL),
	[T_COLUMNS] = MKEY("columns", M_TABLE, NULL),
	[T_INDEXES] = MKEY("indexes", M_TABLE, NULL),
	[T_RENAMED_FROM] = MKEY("renamed_from", M_STR, NULL),
	{ NULL, 0, 0, NULL, false },
};

enum { C_TYPE, C_PRIMARY_KEY, C_NOT_NULL, C_UNIQUE, C_DEFAULT, C_DEFAULT_SQL, C_REFERENCES, C_ON_DELETE,
       C_ON_UPDATE, C_DESCRIPTION, C_RENAMED_FROM, C_COUNT };
static const struct manifest_key column_keys[] = {
	[C_TYPE] = MKEY("type", M_STR, "DBR026"),
	[C_PRIMARY_KEY] = MKEY("primary_key", M_BOOL, NULL),
	[C_NOT_NULL] = MKEY("not_null", M_BOOL, NULL),
	[C_UNIQUE] = MKEY("unique", M_BOOL, NULL),
	[C_DEFAULT] = MKEY("default", M_STR | M_INT | M_FLOAT | M_BOOL, NULL),
	[C_DEFAULT_SQL] = MKEY("default_sql", M_STR, NULL),
	[C_REFERENCES] = MKEY("references", M_STR, NULL),
	[C_ON_DELETE] = MKEY("on_delete", M_STR, NULL),
	[C_ON_UPDATE] = MKEY("on_update", M_STR, NULL),
	[C_DESCRIPTION] = MKEY("description", M_STR, NULL),
	[C_RENAMED_FROM] = MKEY("renamed_from", M_STR, NULL),
	{ NULL, 0, 0, NULL, false },
};

enum { I_COLUMNS, I_UNIQUE, I_COUNT };
static const struct manifest_key index_keys[] = {
	[I_COLUMNS] = MKEY("columns", M_ARRAY, "DBR014"),
	[I_UNIQUE] = MKEY("unique", M_BOOL, NULL),
	{ NULL, 0, 0, NULL, false },
};

enum { TO_ID, TO_NAME, TO_DESCRIPTION, TO_ICON, TO_COUNT };
static const struct manifest_key tool_keys[] = {
	[TO_ID] = MKEY("id", M_STR, "DBR050"),
	[TO_NAME] = MKEY("name", M_STR, "DBR014"),
	[TO_DESCRIPTION] = MKEY("description", M_STR, NULL),
	[TO_ICON] = MKEY("icon", M_STR, NULL),
	{ NULL, 0, 0, NULL, false },
};

enum { MI_ID, MI_VERSION, MI_DESCRIPTION, MI_UP, MI_UP_POSTGRES, MI_UP_SQLITE, MI_UP_FILE, MI_DOWN,
       MI_DOWN_POSTGRES, MI_DOWN_SQLITE, MI_DOWN_FILE, MI_TRANSACTION, MI_FOREIGN_KEYS, MI_COUNT };
static const struct manifest_key migration_keys[] = {
	[MI_ID] = MKEY("id", M_STR, "DBR040"),
	[MI_VERSION] = MKEY("version", M_STR, "DBR041"),
	[MI_DESCRIPTION] = MKEY("description", M_STR, NULL),
	[MI_UP] = MKEY("up", M_STR, NULL),
	[MI_UP_POSTGRES] = MKEY("up_postgres", M_STR, NULL),
	[MI_UP_SQLITE] = MKEY("up_sqlite", M_STR, NULL),
	[MI_UP_FILE] = MKEY("up_file", M_STR, NULL),
	[MI_DOWN] = MKEY("down", M_STR, NULL),
	[MI_DOWN_POSTGRES] = MKEY("down_postgres", M_STR, NULL),
	[MI_DOWN_SQLITE] = MKEY("down_sqlite", M_STR, NULL),
	[MI_DOWN_FILE] = MKEY("down_file", M_STR, NULL),
	[MI_TRANSACTION] = MKEY("transaction", M_BOOL, NULL),
	[MI_FOREIGN_KEYS] = MKEY("foreign_keys", M_BOOL, NULL),
	{ NULL, 0, 0, NULL, false },
};

/* The most keys a section has (migration_keys), for the arrays below. */
#define MANIFEST_MAX_KEYS 13
/* Every table has a line per key of its enum (a missing last one would
 * move the end up) and fits the arrays below. */
#define MANIFEST_KEYS_FIT(count, keys) \
	_Static_assert(count <= MANIFEST_MAX_KEYS && sizeof keys / sizeof keys[0] == count + 1, \
		       #keys ": a line per key, then the end")
MANIFEST_KEYS_FIT(R_COUNT, root_keys);
MANIFEST_KEYS_FIT(P_COUNT, package_keys);
MANIFEST_KEYS_FIT(T_COUNT, table_keys);
MANIFEST_KEYS_FIT(C_COUNT, column_keys);
MANIFEST_KEYS_FIT(I_COUNT, index_keys);
MANIFEST_KEYS_FIT(TO_COUNT, tool_keys);
MANIFEST_KEYS_FIT(MI_COUNT, migration_keys);

/* A section's values by key index: the value of a key present with an
 * allowed type (a wrong type is reported by manifest_check_keys), else
 * NULL; `present` also for a wrong type (a required key is then not
 * "missing"). */
struct mvals {
	const struct dbreg_toml_node *v[MANIFEST_MAX_KEYS];
	bool present[MANIFEST_MAX_KEYS];
};

static const char *const fk_actions[] = {
	"cascade", "restrict", "set null", "set default", "no action", NULL,
};

/* A body read from a manifest string, until manifest_keep_sql. */
struct mbody {
	struct dbreg_sql *sql;
	const struct dbreg_toml_node *node;
};

/* What is being loaded, and where findings go. */
struct mctx {
	struct dbreg_diag_list *diags;
	struct dbreg_package *pkg;
	bool oom;
	struct mbody *bodies;          /* in the order read */
	size_t n_bodies;
};

/* Names a diagnostic's subject. */
struct msubject {
	const char *table, *column, *migration;
};

static void mdiag(struct mctx *c, const char *code, unsigned line, unsigned col,
		  const struct msubject *s, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void mvdiag(struct mctx *c, const char *code, const char *file, unsigned line, unsigned col,
		   const struct msubject *s, const char *fmt, va_list ap)
{
	struct dbreg_diag_at at = {
		.file = file,
		.line = line,
		.column = col,
		.package = c->pkg->name,
		.table = s ? s->table : NULL,
		.column_name = s ? s->column : NULL,
		.migration = s ? s->migration : NULL,
	};
	if (dbreg_diag_vaddf(c->diags, code, &at, fmt, ap) != 0)
		c->oom = true;
}

static void mdiag(struct mctx *c, const char *code, unsigned line, unsigned col,
		  const struct msubject *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	mvdiag(c, code, c->pkg->file, line, col, s, fmt, ap);
	va_end(ap);
}

/* mdiag in another file than the manifest (an up_file's own lines). */
static void mdiag_in(struct mctx *c, const char *code, const char *file, unsigned line, unsigned col,
		     const struct msubject *s, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void mdiag_in(struct mctx *c, const char *code, const char *file, unsigned line, unsigned col,
		     const struct msubject *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	mvdiag(c, code, file, line, col, s, fmt, ap);
	va_end(ap);
}

static void mhint(struct mctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mhint(struct mctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (dbreg_diag_vhintf(c->diags, fmt, ap) != 0)
		c->oom = true;
	va_end(ap);
}

/* strdup that records an allocation failure in the context. */
static char *mdup(struct mctx *c, const char *s)
{
	char *d = dbreg_strdup(s);
	if (s && !d)
		c->oom = true;
	return d;
}

/* The index in keys of the key of len bytes, or -1. */
static int manifest_key_named(const struct manifest_key *keys, const char *key, size_t len)
{
	for (int i = 0; keys[i].name; i++)
		if (keys[i].len == len && memcmp(keys[i].name, key, len) == 0)
			return i;
	return -1;
}

/* The index in keys of a key as written, or -1: a key holding a NUL is
 * none of them. */
static int manifest_find_key(const struct manifest_key *keys, const struct dbreg_toml_kv *kv)
{
	return manifest_key_named(keys, kv->key, kv->key_len);
}

/* Fills *out with the values of a table node's known keys. */
static void manifest_keys_find(const struct dbreg_toml_node *node, const struct manifest_key *keys, struct mvals *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < node->u.table.len; i++) {
		const struct dbreg_toml_kv *kv = &node->u.table.items[i];
		int k = manifest_find_key(keys, kv);
		if (k < 0)
			continue;
		out->present[k] = true;
		if (keys[k].types & (1u << kv->value->type))
			out->v[k] = kv->value;
	}
}

/* "a string", "an array", "a string, integer, float or boolean". */
static void manifest_type_words(struct dbreg_buf *b, unsigned mask)
{
	static const struct { unsigned bit; const char *word; } words[] = {
		{ M_STR, "string" }, { M_INT, "integer" }, { M_FLOAT, "float" },
		{ M_BOOL, "boolean" }, { M_TABLE, "table" }, { M_ARRAY, "array" },
	};
	size_t n = 0, total = 0;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		total += (mask & words[i].bit) != 0;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (!(mask & words[i].bit))
			continue;
		if (n > 0)
			dbreg_buf_puts(b, n + 1 == total ? " or " : ", ");
		else
			dbreg_buf_puts(b, strchr("aeiou", words[i].word[0]) ? "an " : "a ");
		dbreg_buf_puts(b, words[i].word);
		n++;
	}
}

/* Where a table is, for messages ("column \"%.60s\" of table \"%.60s\"",
 * with its two strings): written out only when a message needs it, as a
 * manifest of a thousand columns has none. */
struct mwhere {
	const char *fmt, *a, *b;
};

static const char *mwhere_text(const struct mwhere *w, char *buf, size_t size)
{
	snprintf(buf, size, w->fmt, w->a, w->b);
	return buf;
}

/* Checks every key of `node` against `keys`: unknown keys (DBR013, with the
 * nearest known key as hint), wrong types (DBR014), missing required keys
 * (the key's own code, at the section's position). */
static void manifest_check_keys(struct mctx *c, const struct dbreg_toml_node *node,
				const struct manifest_key *keys, const struct mwhere *w,
				const struct msubject *s, const struct mvals *vals)
{
	char where[200];
	for (size_t i = 0; i < node->u.table.len; i++) {
		const struct dbreg_toml_kv *kv = &node->u.table.items[i];
		int ki = manifest_find_key(keys, kv);
		if (ki < 0) {
			const char *names[24];
			size_t n = 0;
			for (size_t j = 0; keys[j].name && n + 1 < sizeof names / sizeof names[0]; j++)
				names[n++] = keys[j].name;
			names[n] = NULL;
			mdiag(c, "DBR013", kv->line, kv->column, s, "unknown key \"%s\" in %s", kv->key,
			      mwhere_text(w, where, sizeof where));
			const char *near = dbreg_nearest(kv->key, names);
			if (near) {
				mhint(c, "did you mean \"%s\"?", near);
			} else {
				struct dbreg_buf b = DBREG_BUF_INIT;
				for (size_t j = 0; j < n; j++)
					dbreg_buf_printf(&b, "%s%s", j ? ", " : "", names[j]);
				mhint(c, "known keys here: %s", b.ptr ? b.ptr : "");
				dbreg_buf_dispose(&b);
			}
			continue;
		}
		const struct manifest_key *k = &keys[ki];
		if (!(k->types & (1u << kv->value->type))) {
			struct dbreg_buf b = DBREG_BUF_INIT;
			manifest_type_words(&b, k->types);
			mdiag(c, "DBR014", kv->value->line, kv->value->column, s,
			      "\"%s\" in %s must be %s, not %s", kv->key, mwhere_text(w, where, sizeof where),
			      b.ptr ? b.ptr : "?", dbreg_toml_type_name(kv->value->type));
			dbreg_buf_dispose(&b);
		} else if (kv->value->type == DBREG_TOML_STRING && strlen(kv->value->u.str.ptr) != kv->value->u.str.len) {
			/* TOML allows \u0000; C strings, SQL text and Markdown end there. */
			mdiag(c, "DBR014", kv->value->line, kv->value->column, s,
			      "\"%s\" in %s holds a NUL character (\\u0000), which no SQL text can hold", kv->key,
			      mwhere_text(w, where, sizeof where));
			mhint(c, "remove the \\u0000");
		} else if (k->one_line && strpbrk(kv->value->u.str.ptr, "\n\r")) {
			mdiag(c, "DBR014", kv->line, kv->column, s, "\"%s\" in %s must be one line, not several",
			      kv->key, mwhere_text(w, where, sizeof where));
			mhint(c, "one line: move the rest to a table description or README");
		}
	}
	for (size_t i = 0; keys[i].name; i++) {
		if (keys[i].missing_code == NULL || vals->present[i])
			continue;
		mdiag(c, keys[i].missing_code, node->line, node->column, s,
		      "missing required key \"%s\" in %s", keys[i].name, mwhere_text(w, where, sizeof where));
	}
}

static const char *mstr(const struct mvals *vals, int key)
{
	const struct dbreg_toml_node *v = vals->v[key];
	return v && v->type == DBREG_TOML_STRING ? v->u.str.ptr : NULL;
}

static bool mbool(const struct mvals *vals, int key, bool dflt)
{
	const struct dbreg_toml_node *v = vals->v[key];
	return v && v->type == DBREG_TOML_BOOL ? v->u.boolean : dflt;
}

/* Reads an array of strings; a non-string element is DBR014 and skipped.
 * Returns the number kept; *out is a malloc'd vector. */
static size_t manifest_strv(struct mctx *c, const struct dbreg_toml_node *arr, char ***out,
			    const char *what, const struct msubject *s)
{
	*out = NULL;
	if (arr->u.array.len == 0)
		return 0;
	char **v = calloc(arr->u.array.len, sizeof *v);
	if (v == NULL) {
		c->oom = true;
		return 0;
	}
	size_t n = 0;
	for (size_t i = 0; i < arr->u.array.len; i++) {
		const struct dbreg_toml_node *e = arr->u.array.items[i];
		if (e->type != DBREG_TOML_STRING) {
			mdiag(c, "DBR014", e->line, e->column, s, "%s must hold strings, not %s", what,
			      dbreg_toml_type_name(e->type));
			continue;
		}
		v[n] = mdup(c, e->u.str.ptr);
		if (v[n])
			n++;
	}
	*out = v;
	return n;
}

/* npm package names: optional @scope/, then lowercase letters, digits and
 * - . _ ~; the name (and scope) may not start with . or _; 214 at most.
 * Returns NULL when valid, else why. */
static const char *manifest_name_problem(const char *name, size_t len)
{
	if (len == 0)
		return "it is empty";
	if (strlen(name) != len)
		return "it contains a NUL character";
	if (len > 214)
		return "it is longer than 214 characters";
	const char *p = name;
	if (*p == '@') {
		const char *slash = strchr(p, '/');
		if (slash == NULL)
			return "a scoped name is written @scope/name";
		if (slash == p + 1)
			return "the scope is empty";
		for (const char *q = p + 1; q < slash; q++)
			if (!(islower((unsigned char)*q) || isdigit((unsigned char)*q) || strchr("-._~", *q)))
				return "the scope may hold only lowercase letters, digits, '-', '.', '_' and '~'";
		if (p[1] == '.' || p[1] == '_')
			return "the scope may not start with '.' or '_'";
		p = slash + 1;
	}
	if (*p == '\0')
		return "the name after the scope is empty";
	if (*p == '.' || *p == '_')
		return "it may not start with '.' or '_'";
	for (const char *q = p; *q; q++)
		if (!(islower((unsigned char)*q) || isdigit((unsigned char)*q) || strchr("-._~", *q)))
			return "it may hold only lowercase letters, digits, '-', '.', '_' and '~' (and one @scope/)";
	return NULL;
}

static void manifest_package(struct mctx *c, const struct mvals *root)
{
	struct dbreg_package *pkg = c->pkg;
	const struct dbreg_toml_node *p = root->v[R_PACKAGE];
	if (p == NULL) {
		/* A mistyped package key is DBR014 from the root key check. */
		if (!root->present[R_PACKAGE]) {
			mdiag(c, "DBR010", 1, 1, NULL, "the manifest has no [package] section");
			mhint(c, "start the manifest with [package], name = \"@scope/name\" and version = \"1.0.0\"");
		}
		return;
	}
	pkg->pos.line = p->line;
	pkg->pos.column = p->column;
	struct mvals pv;
	manifest_keys_find(p, package_keys, &pv);

	const struct dbreg_toml_node *name = pv.v[P_NAME];
	if (name) {
		pkg->name_pos = (struct dbreg_pos){name->line, name->column};
		const char *why = manifest_name_problem(name->u.str.ptr, name->u.str.len);
		if (why) {
			mdiag(c, "DBR010", name->line, name->column, NULL, "invalid package name \"%s\": %s",
			      name->u.str.ptr, why);
			mhint(c, "use an npm-style name such as \"@ydtb/notes\"");
		} else {
			pkg->name = mdup(c, name->u.str.ptr);
		}
	}
	/* After the name: the findings about [package]'s keys name it too. */
	manifest_check_keys(c, p, package_keys, &(struct mwhere){"[package]", NULL, NULL}, NULL, &pv);
	const struct dbreg_toml_node *ver = pv.v[P_VERSION];
	if (ver) {
		pkg->version_text = mdup(c, ver->u.str.ptr);
		const char *why = NULL;
		int rc = dbreg_semver_parse(&pkg->version, ver->u.str.ptr, &why);
		if (rc == -2) {
			c->oom = true;
		} else if (rc != 0) {
			mdiag(c, "DBR011", ver->line, ver->column, NULL,
			      "package version \"%s\" is not semver 2.0.0: %s", ver->u.str.ptr,
			      why ? why : "invalid");
			mhint(c, "write MAJOR.MINOR.PATCH, for example \"1.0.0\"");
		} else {
			pkg->version_ok = true;
		}
	}
	const struct dbreg_toml_node *kind = pv.v[P_KIND];
	if (kind) {
		pkg->kind_pos = (struct dbreg_pos){kind->line, kind->column};
		if (strcmp(kind->u.str.ptr, "core") == 0) {
			pkg->core = true;
		} else if (strcmp(kind->u.str.ptr, "package") != 0) {
			mdiag(c, "DBR014", kind->line, kind->column, NULL,
			      "kind must be \"package\" or \"core\", not \"%s\"", kind->u.str.ptr);
			static const char *const kinds[] = { "package", "core", NULL };
			const char *near = dbreg_nearest(kind->u.str.ptr, kinds);
			mhint(c, "kind = \"%s\"", near ? near : "package");
		}
	}
	pkg->description = mdup(c, mstr(&pv, P_DESCRIPTION));
}

static void manifest_dependencies(struct mctx *c, const struct mvals *root)
{
	struct dbreg_package *pkg = c->pkg;
	const struct dbreg_toml_node *d = root->v[R_DEPENDENCIES];
	if (d == NULL || d->u.table.len == 0)
		return;
	pkg->deps = calloc(d->u.table.len, sizeof *pkg->deps);
	if (pkg->deps == NULL) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < d->u.table.len; i++) {
		const struct dbreg_toml_kv *kv = &d->u.table.items[i];
		if (kv->value->type != DBREG_TOML_STRING) {
			mdiag(c, "DBR014", kv->value->line, kv->value->column, NULL,
			      "dependency \"%s\" must be a semver range string, not %s", kv->key,
			      dbreg_toml_type_name(kv->value->type));
			mhint(c, "\"%s\" = \"^1.0.0\"", kv->key);
			continue;
		}
		struct dbreg_dependency *dep = &pkg->deps[pkg->n_deps++];
		dep->name = mdup(c, kv->key);
		dep->range_text = mdup(c, kv->value->u.str.ptr);
		dep->pos.line = kv->line;
		dep->pos.column = kv->column;
		const char *why = NULL;
		int rc = dbreg_range_parse(&dep->range, kv->value->u.str.ptr, &why);
		if (rc == -2) {
			c->oom = true;
		} else if (rc != 0) {
			dep->range = NULL;
			mdiag(c, "DBR033", kv->value->line, kv->value->column, NULL,
			      "invalid semver range \"%s\" for dependency \"%s\": %s", kv->value->u.str.ptr,
			      kv->key, why ? why : "invalid");
			mhint(c, "write a node-semver range such as \"^1.2.0\" or \">=1.0.0 <2.0.0\"");
		}
	}
}

/* The shortest text that reads back as the same double: 0.1 stays "0.1",
 * not %.17g's "0.10000000000000001". */
static char *manifest_float_text(double v)
{
	char buf[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return dbreg_strdup(buf);
}

/* Lowercases an action and checks it against fk_actions. */
static char *manifest_fk_action(struct mctx *c, const struct dbreg_toml_node *v, const char *key,
				const struct msubject *s)
{
	char *a = mdup(c, v->u.str.ptr);
	if (a == NULL)
		return NULL;
	for (char *q = a; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	for (size_t i = 0; fk_actions[i]; i++)
		if (strcmp(a, fk_actions[i]) == 0)
			return a;
	mdiag(c, "DBR014", v->line, v->column, s,
	      "%s must be \"cascade\", \"restrict\", \"set null\", \"set default\" or \"no action\", not \"%s\"",
	      key, v->u.str.ptr);
	const char *near = dbreg_nearest(a, fk_actions);
	if (near)
		mhint(c, "%s = \"%s\"", key, near);
	free(a);
	return NULL;
}

static void manifest_column(struct mctx *c, struct dbreg_table *t, const struct dbreg_toml_kv *kv)
{
	struct msubject s = { t->name, kv->key, NULL };
	if (kv->value->type != DBREG_TOML_TABLE) {
		mdiag(c, "DBR014", kv->value->line, kv->value->column, &s,
		      "column \"%s\" must be an inline table, not %s", kv->key,
		      dbreg_toml_type_name(kv->value->type));
		mhint(c, "%s = { type = \"text\" }", kv->key);
		return;
	}
	const struct dbreg_toml_node *n = kv->value;
	struct mvals cv;
	manifest_keys_find(n, column_keys, &cv);
	manifest_check_keys(c, n, column_keys, &(struct mwhere){"column \"%.60s\" of table \"%.60s\"", kv->key, t->name}, &s,
			    &cv);

	struct dbreg_column *col = &t->columns[t->n_columns++];
	col->name = mdup(c, kv->key);
	col->pos.line = kv->line;
	col->pos.column = kv->column;

	const struct dbreg_toml_node *type = cv.v[C_TYPE];
	if (type) {
		col->type = mdup(c, type->u.str.ptr);
		if (col->type)
			for (char *q = col->type; *q; q++)
				*q = (char)tolower((unsigned char)*q);
		if (dbreg_type_lookup(type->u.str.ptr) == NULL || strlen(type->u.str.ptr) != type->u.str.len) {
			mdiag(c, "DBR026", type->line, type->column, &s, "unknown column type \"%s\"",
			      type->u.str.ptr);
			mhint(c, "use the portable type \"%s\"", dbreg_type_nearest(type->u.str.ptr));
		}
	}
	col->primary_key = mbool(&cv, C_PRIMARY_KEY, false);
	col->not_null = mbool(&cv, C_NOT_NULL, false);
	col->unique = mbool(&cv, C_UNIQUE, false);

	const struct dbreg_toml_node *dflt = cv.v[C_DEFAULT];
	const struct dbreg_toml_node *dsql = cv.v[C_DEFAULT_SQL];
	if (dflt && dsql) {
		mdiag(c, "DBR014", dsql->line, dsql->column, &s,
		      "column \"%s\" has both default and default_sql", kv->key);
		mhint(c, "keep one of them");
	}
	if (dsql) {
		col->default_kind = DBREG_DEFAULT_SQL;
		col->default_text = mdup(c, dsql->u.str.ptr);
	} else if (dflt) {
		switch (dflt->type) {
		case DBREG_TOML_STRING:
			col->default_kind = DBREG_DEFAULT_STRING;
			col->default_text = mdup(c, dflt->u.str.ptr);
			break;
		case DBREG_TOML_INTEGER:
			col->default_kind = DBREG_DEFAULT_INTEGER;
			col->default_text = dbreg_printf("%" PRId64, dflt->u.integer);
			c->oom |= col->default_text == NULL;
			break;
		case DBREG_TOML_FLOAT:
			col->default_kind = DBREG_DEFAULT_FLOAT;
			col->default_text = manifest_float_text(dflt->u.fp);
			c->oom |= col->default_text == NULL;
			break;
		default:
			col->default_kind = DBREG_DEFAULT_BOOL;
			col->default_text = mdup(c, dflt->u.boolean ? "true" : "false");
			break;
		}
	}

	const struct dbreg_toml_node *ref = cv.v[C_REFERENCES];
	if (ref) {
		col->references_pos = (struct dbreg_pos){ref->line, ref->column};
		const char *r = ref->u.str.ptr;
		const char *dot = strchr(r, '.');
		if (dot == NULL || dot == r || dot[1] == '\0' || strchr(dot + 1, '.') ||
		    strlen(r) != ref->u.str.len) {
			mdiag(c, "DBR027", ref->line, ref->column, &s,
			      "references must be written \"table.column\", not \"%s\"", r);
			mhint(c, "references = \"ydtb_workspaces.id\"");
		} else {
			col->ref_table = dbreg_strndup(r, (size_t)(dot - r));
			col->ref_column = mdup(c, dot + 1);
			c->oom |= col->ref_table == NULL;
		}
	}
	const struct dbreg_toml_node *od = cv.v[C_ON_DELETE];
	if (od)
		col->on_delete = manifest_fk_action(c, od, "on_delete", &s);
	const struct dbreg_toml_node *ou = cv.v[C_ON_UPDATE];
	if (ou)
		col->on_update = manifest_fk_action(c, ou, "on_update", &s);
	if ((od || ou) && !ref) {
		mdiag(c, "DBR027", (od ? od : ou)->line, (od ? od : ou)->column, &s,
		      "%s without references", od ? "on_delete" : "on_update");
		mhint(c, "add references = \"table.column\"");
	}
	col->description = mdup(c, mstr(&cv, C_DESCRIPTION));
	col->renamed_from = mdup(c, mstr(&cv, C_RENAMED_FROM));
}

static void manifest_index(struct mctx *c, struct dbreg_table *t, const struct dbreg_toml_kv *kv)
{
	struct msubject s = { t->name, NULL, NULL };
	if (kv->value->type != DBREG_TOML_TABLE) {
		mdiag(c, "DBR014", kv->value->line, kv->value->column, &s,
		      "index \"%s\" must be an inline table, not %s", kv->key,
		      dbreg_toml_type_name(kv->value->type));
		mhint(c, "%s = { columns = [\"workspace_id\"] }", kv->key);
		return;
	}
	struct mvals iv;
	manifest_keys_find(kv->value, index_keys, &iv);
	manifest_check_keys(c, kv->value, index_keys, &(struct mwhere){"index \"%.60s\" of table \"%.60s\"", kv->key, t->name},
			    &s, &iv);
	struct dbreg_index *ix = &t->indexes[t->n_indexes++];
	ix->name = mdup(c, kv->key);
	ix->pos.line = kv->line;
	ix->pos.column = kv->column;
	ix->unique = mbool(&iv, I_UNIQUE, false);
	const struct dbreg_toml_node *cols = iv.v[I_COLUMNS];
	if (cols) {
		ix->n_columns = manifest_strv(c, cols, &ix->columns, "index columns", &s);
		if (cols->u.array.len == 0) {
			mdiag(c, "DBR014", cols->line, cols->column, &s, "index \"%s\" has no columns",
			      kv->key);
			mhint(c, "name at least one column");
		}
	}
}

/* workspace_scoped = true: the workspace_id column and its index, unless
 * the table declares them itself. Arrays have room for one more. */
static void manifest_workspace_scope(struct mctx *c, struct dbreg_table *t)
{
	if (dbreg_table_column(t, "workspace_id") == NULL) {
		struct dbreg_column *col = &t->columns[t->n_columns++];
		col->name = mdup(c, "workspace_id");
		col->pos = t->pos;
		col->type = mdup(c, "text");
		col->not_null = true;
		col->ref_table = mdup(c, "ydtb_workspaces");
		col->ref_column = mdup(c, "id");
		col->on_delete = mdup(c, "cascade");
		col->implicit = true;
	}
	char *name = dbreg_printf("%s_workspace_id_idx", t->name);
	if (name == NULL) {
		c->oom = true;
		return;
	}
	/* Its own index on workspace_id alone, under another name, is that
	 * index: a second one would be the same index twice. */
	for (size_t i = 0; i < t->n_indexes; i++) {
		const struct dbreg_index *o = &t->indexes[i];
		if ((o->name && strcmp(o->name, name) == 0) ||
		    (o->n_columns == 1 && o->columns[0] && strcmp(o->columns[0], "workspace_id") == 0)) {
			free(name);
			return;
		}
	}
	struct dbreg_index *ix = &t->indexes[t->n_indexes++];
	ix->name = name;
	ix->pos = t->pos;
	ix->implicit = true;
	ix->columns = calloc(1, sizeof *ix->columns);
	if (ix->columns == NULL) {
		c->oom = true;
		return;
	}
	ix->columns[0] = mdup(c, "workspace_id");
	ix->n_columns = ix->columns[0] ? 1 : 0;
}

static void manifest_table(struct mctx *c, struct dbreg_table *t, const struct dbreg_toml_kv *kv)
{
	const struct dbreg_toml_node *n = kv->value;
	struct msubject s = { kv->key, NULL, NULL };
	t->name = mdup(c, kv->key);
	t->pos.line = kv->line;
	t->pos.column = kv->column;
	t->owner = c->pkg;
	if (t->name == NULL)
		return;
	struct mvals tv;
	manifest_keys_find(n, table_keys, &tv);
	manifest_check_keys(c, n, table_keys, &(struct mwhere){"[tables.%.80s]", kv->key, NULL}, &s, &tv);

	t->description = mdup(c, mstr(&tv, T_DESCRIPTION));
	t->renamed_from = mdup(c, mstr(&tv, T_RENAMED_FROM));
	t->workspace_scoped = mbool(&tv, T_WORKSPACE_SCOPED, false);

	const struct dbreg_toml_node *cols = tv.v[T_COLUMNS];
	size_t ncols = cols ? cols->u.table.len : 0;
	t->columns = calloc(ncols + 1, sizeof *t->columns);
	const struct dbreg_toml_node *ixs = tv.v[T_INDEXES];
	size_t nix = ixs ? ixs->u.table.len : 0;
	t->indexes = calloc(nix + 1, sizeof *t->indexes);
	if (t->columns == NULL || t->indexes == NULL) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < ncols; i++)
		manifest_column(c, t, &cols->u.table.items[i]);
	for (size_t i = 0; i < nix; i++)
		manifest_index(c, t, &ixs->u.table.items[i]);

	const struct dbreg_toml_node *pk = tv.v[T_PRIMARY_KEY];
	size_t flagged = 0;
	for (size_t i = 0; i < t->n_columns; i++)
		flagged += t->columns[i].primary_key;
	if (pk) {
		t->n_primary_key = manifest_strv(c, pk, &t->primary_key, "primary_key", &s);
		t->primary_key_pos.line = pk->line;
		t->primary_key_pos.column = pk->column;
		if (flagged > 0) {
			mdiag(c, "DBR028", pk->line, pk->column, &s,
			      "table \"%s\" declares its primary key twice: primary_key = [...] and a column flag",
			      kv->key);
			mhint(c, "keep one of them");
		}
	} else if (flagged > 0) {
		t->primary_key = calloc(flagged, sizeof *t->primary_key);
		if (t->primary_key == NULL) {
			c->oom = true;
			return;
		}
		for (size_t i = 0; i < t->n_columns; i++)
			if (t->columns[i].primary_key)
				t->primary_key[t->n_primary_key++] = mdup(c, t->columns[i].name);
	}

	const struct dbreg_toml_node *uq = tv.v[T_UNIQUE];
	if (uq && uq->u.array.len > 0) {
		t->uniques = calloc(uq->u.array.len, sizeof *t->uniques);
		if (t->uniques == NULL) {
			c->oom = true;
			return;
		}
		for (size_t i = 0; i < uq->u.array.len; i++) {
			const struct dbreg_toml_node *e = uq->u.array.items[i];
			if (e->type != DBREG_TOML_ARRAY) {
				mdiag(c, "DBR014", e->line, e->column, &s,
				      "unique must be an array of arrays of column names, not of %s",
				      dbreg_toml_type_name(e->type));
				mhint(c, "unique = [[\"workspace_id\", \"name\"]]");
				continue;
			}
			struct dbreg_unique *u = &t->uniques[t->n_uniques++];
			u->pos.line = e->line;
			u->pos.column = e->column;
			u->n_columns = manifest_strv(c, e, &u->columns, "a unique constraint", &s);
		}
	}
	if (t->workspace_scoped)
		manifest_workspace_scope(c, t);
}

static void manifest_tables(struct mctx *c, const struct mvals *root)
{
	struct dbreg_package *pkg = c->pkg;
	const struct dbreg_toml_node *tables = root->v[R_TABLES];
	if (tables == NULL || tables->u.table.len == 0)
		return;
	pkg->tables = calloc(tables->u.table.len, sizeof *pkg->tables);
	if (pkg->tables == NULL) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < tables->u.table.len && !c->oom; i++) {
		const struct dbreg_toml_kv *kv = &tables->u.table.items[i];
		if (kv->value->type != DBREG_TOML_TABLE) {
			struct msubject s = { kv->key, NULL, NULL };
			mdiag(c, "DBR014", kv->value->line, kv->value->column, &s,
			      "tables.%s must be a table, not %s", kv->key,
			      dbreg_toml_type_name(kv->value->type));
			mhint(c, "declare it as [tables.%s]", kv->key);
			continue;
		}
		manifest_table(c, &pkg->tables[pkg->n_tables++], kv);
	}
	if (!c->oom && dbreg_package_index_tables(pkg) != 0)
		c->oom = true;
}

static void manifest_tools(struct mctx *c, const struct mvals *root)
{
	struct dbreg_package *pkg = c->pkg;
	const struct dbreg_toml_node *tools = root->v[R_TOOLS];
	if (tools == NULL || tools->u.array.len == 0)
		return;
	pkg->tools = calloc(tools->u.array.len, sizeof *pkg->tools);
	if (pkg->tools == NULL) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < tools->u.array.len; i++) {
		const struct dbreg_toml_node *n = tools->u.array.items[i];
		if (n->type != DBREG_TOML_TABLE) {
			mdiag(c, "DBR014", n->line, n->column, NULL, "tools must be an array of tables, not of %s",
			      dbreg_toml_type_name(n->type));
			mhint(c, "declare each tool under [[tools]]");
			continue;
		}
		struct mvals tv;
		manifest_keys_find(n, tool_keys, &tv);
		manifest_check_keys(c, n, tool_keys, &(struct mwhere){"[[tools]]", NULL, NULL}, NULL, &tv);
		struct dbreg_tool *tool = &pkg->tools[pkg->n_tools++];
		tool->pos.line = n->line;
		tool->pos.column = n->column;
		const struct dbreg_toml_node *id = tv.v[TO_ID];
		if (id) {
			/* The id is what DBR050 is about: point at it. */
			tool->pos.line = id->line;
			tool->pos.column = id->column;
			const char *p = id->u.str.ptr;
			bool ok = id->u.str.len >= 1 && id->u.str.len <= 20 && strlen(p) == id->u.str.len;
			for (; ok && *p; p++)
				ok = islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-';
			if (!ok) {
				mdiag(c, "DBR050", id->line, id->column, NULL,
				      "invalid tool id \"%s\": 1 to 20 lowercase letters, digits or '-'",
				      id->u.str.ptr);
				mhint(c, "for example id = \"notes\"");
			}
			tool->id = mdup(c, id->u.str.ptr);
		}
		tool->name = mdup(c, mstr(&tv, TO_NAME));
		tool->description = mdup(c, mstr(&tv, TO_DESCRIPTION));
		tool->icon = mdup(c, mstr(&tv, TO_ICON));
	}
}

/* Joins base_dir and a relative path ("a/b" + "x.sql"). */
static char *manifest_join(const char *base, const char *rel)
{
	if (rel[0] == '/' || base == NULL || base[0] == '\0' || strcmp(base, ".") == 0)
		return dbreg_strdup(rel);
	size_t bl = strlen(base);
	return dbreg_printf("%s%s%s", base, base[bl - 1] == '/' ? "" : "/", rel);
}

/* A body from a manifest string. */
static void manifest_sql_string(struct mctx *c, struct dbreg_sql *sql, const struct dbreg_toml_kv *kv)
{
	const struct dbreg_toml_node *v = kv->value;
	/* The body borrows the decoded string until manifest_keep_sql copies
	 * it out of the tree, and the manifest's name. */
	struct mbody *b = dbreg_array_push(&c->bodies, &c->n_bodies, sizeof *c->bodies);
	if (!b) {
		c->oom = true;
		return;
	}
	*b = (struct mbody){sql, v};
	sql->text = v->u.str.ptr;
	sql->file = c->pkg->file;
	sql->len = v->u.str.len;
	sql->doc = c->pkg->doc;
	sql->pos.line = kv->line;
	sql->pos.column = kv->column;
}

/* Bytes a body may not hold, which the checks would never see: a NUL ends
 * the text that sqlcheck, the replay and the drivers read (what follows it
 * would be checksummed but neither checked nor run, and PostgreSQL refuses
 * query text with one); and, in an up_file (the manifest's own bytes are
 * checked as TOML, DBR001), bytes that are not UTF-8, which PostgreSQL
 * refuses at apply time. DBR044 where the byte is: in the file's own
 * lines, or at the string's key with its place in the body. */
static void manifest_sql_bytes(struct mctx *c, const struct dbreg_sql *sql, const struct dbreg_toml_kv *kv,
			       const struct msubject *s, bool file)
{
	size_t nul = strlen(sql->text), bad = file ? dbreg_utf8_valid_prefix(sql->text, nul) : nul;
	size_t at = bad < nul ? bad : nul;
	if (at >= sql->len)
		return;
	unsigned line = 1, col = 1;
	for (size_t i = 0; i < at; i++, col++)
		if (sql->text[i] == '\n') {
			line++;
			col = 0;
		}
	static const char nul_says[] = "PostgreSQL refuses query text with one, and what follows it would be "
				       "neither checked nor run";
	if (file && at == nul) {
		mdiag_in(c, "DBR044", sql->file, line, col, s, "a NUL byte in the SQL of %s: %s", kv->key, nul_says);
		mhint(c, "remove the byte from the file");
	} else if (file) {
		mdiag_in(c, "DBR044", sql->file, line, col, s, "byte 0x%02X is not UTF-8 (the SQL of %s): PostgreSQL "
			 "refuses it", (unsigned char)sql->text[at], kv->key);
		mhint(c, "save the file as UTF-8");
	} else {
		mdiag(c, "DBR044", kv->value->line, kv->value->column, s,
		      "%s holds a NUL byte (line %u, column %u of its SQL): %s", kv->key, line, col, nul_says);
		mhint(c, "remove the \\u0000 from the string");
	}
}

/* A body from up_file/down_file, relative to the manifest's folder. */
static void manifest_sql_file(struct mctx *c, struct dbreg_sql *sql, const struct dbreg_toml_kv *kv,
			      const struct msubject *s)
{
	const struct dbreg_toml_node *v = kv->value;
	char *path = manifest_join(c->pkg->base_dir, v->u.str.ptr);
	if (path == NULL) {
		c->oom = true;
		return;
	}
	char *text = NULL;
	size_t len = 0;
	if (strlen(v->u.str.ptr) != v->u.str.len || dbreg_read_sql_file(path, &text, &len) != 0) {
		int e = errno;
		mdiag(c, "DBR014", v->line, v->column, s, "%s \"%s\" cannot be read: %s", kv->key,
		      v->u.str.ptr, dbreg_io_strerror(e ? e : EINVAL));
		mhint(c, "the path is relative to the manifest's folder");
		free(path);
		return;
	}
	sql->text = text;
	sql->len = len;
	sql->file = path;
	sql->pos.line = kv->line;
	sql->pos.column = kv->column;
	manifest_sql_bytes(c, sql, kv, s, true);
}

/* The six bodies of a migration by their keys, in the order of j in
 * dbreg_migration_file_body (model.h). */
static const struct { int key; size_t off; } manifest_bodies[DBREG_MIGRATION_BODIES] = {
	{ MI_UP, offsetof(struct dbreg_migration, up) },
	{ MI_UP_POSTGRES, offsetof(struct dbreg_migration, up_postgres) },
	{ MI_UP_SQLITE, offsetof(struct dbreg_migration, up_sqlite) },
	{ MI_DOWN, offsetof(struct dbreg_migration, down) },
	{ MI_DOWN_POSTGRES, offsetof(struct dbreg_migration, down_postgres) },
	{ MI_DOWN_SQLITE, offsetof(struct dbreg_migration, down_sqlite) },
};

static struct dbreg_sql *manifest_body(struct dbreg_migration *m, size_t b)
{
	return (struct dbreg_sql *)((char *)m + manifest_bodies[b].off);
}

static void manifest_migration(struct mctx *c, struct dbreg_migration *m, const struct dbreg_toml_node *n)
{
	m->owner = c->pkg;
	m->pos.line = n->line;
	m->pos.column = n->column;
	struct mvals mv;
	manifest_keys_find(n, migration_keys, &mv);
	m->transaction = mbool(&mv, MI_TRANSACTION, true);
	m->foreign_keys = mbool(&mv, MI_FOREIGN_KEYS, true);
	const struct dbreg_toml_node *id = mv.v[MI_ID];
	if (id) {
		m->id = mdup(c, id->u.str.ptr);
		bool ok = id->u.str.len > 0 && strlen(id->u.str.ptr) == id->u.str.len;
		for (const char *p = id->u.str.ptr; ok && *p; p++)
			ok = isalnum((unsigned char)*p) || strchr("_.-", *p);
		if (!ok) {
			struct msubject s = { NULL, NULL, id->u.str.ptr };
			mdiag(c, "DBR040", id->line, id->column, &s,
			      "invalid migration id \"%s\": letters, digits, '_', '.' and '-' only",
			      id->u.str.ptr);
			mhint(c, "for example id = \"0001_create_notes\"");
		}
	}
	struct msubject s = { NULL, NULL, m->id };
	manifest_check_keys(c, n, migration_keys, &(struct mwhere){"[[migrations]]", NULL, NULL}, &s, &mv);

	const struct dbreg_toml_node *ver = mv.v[MI_VERSION];
	if (ver) {
		m->version_pos = (struct dbreg_pos){ver->line, ver->column};
		m->version_text = mdup(c, ver->u.str.ptr);
		const char *why = NULL;
		int rc = dbreg_semver_parse(&m->version, ver->u.str.ptr, &why);
		if (rc == -2) {
			c->oom = true;
		} else if (rc != 0) {
			mdiag(c, "DBR041", ver->line, ver->column, &s,
			      "migration version \"%s\" is not semver 2.0.0: %s", ver->u.str.ptr,
			      why ? why : "invalid");
			mhint(c, "the package version that introduced it, for example \"1.0.0\"");
		} else {
			m->version_ok = true;
		}
	}
	m->description = mdup(c, mstr(&mv, MI_DESCRIPTION));

	/* Bodies are taken by the key's text up to a NUL (a key holding one is
	 * DBR013 above, and its body is read all the same). */
	for (size_t i = 0; i < n->u.table.len; i++) {
		const struct dbreg_toml_kv *kv = &n->u.table.items[i];
		if (kv->value->type != DBREG_TOML_STRING)
			continue;
		int k = manifest_key_named(migration_keys, kv->key, strlen(kv->key));
		for (size_t b = 0; b < DBREG_MIGRATION_BODIES; b++)
			if (k == manifest_bodies[b].key) {
				manifest_sql_string(c, manifest_body(m, b), kv);
				manifest_sql_bytes(c, manifest_body(m, b), kv, &s, false);
			}
	}
	for (size_t i = 0; i < n->u.table.len; i++) {
		const struct dbreg_toml_kv *kv = &n->u.table.items[i];
		int k = kv->value->type == DBREG_TOML_STRING ? manifest_key_named(migration_keys, kv->key, strlen(kv->key)) : -1;
		bool up = k == MI_UP_FILE;
		if (!up && k != MI_DOWN_FILE)
			continue;
		struct dbreg_sql *sql = up ? &m->up : &m->down;
		if (sql->text != NULL) {
			mdiag(c, "DBR014", kv->line, kv->column, &s, "%s and %s both given", kv->key,
			      up ? "up" : "down");
			mhint(c, "keep one of them");
			continue;
		}
		manifest_sql_file(c, sql, kv, &s);
	}
}

static void manifest_migrations(struct mctx *c, const struct mvals *root)
{
	struct dbreg_package *pkg = c->pkg;
	const struct dbreg_toml_node *ms = root->v[R_MIGRATIONS];
	if (ms == NULL || ms->u.array.len == 0)
		return;
	pkg->migrations = calloc(ms->u.array.len, sizeof *pkg->migrations);
	if (pkg->migrations == NULL) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < ms->u.array.len && !c->oom; i++) {
		const struct dbreg_toml_node *n = ms->u.array.items[i];
		if (n->type != DBREG_TOML_TABLE) {
			mdiag(c, "DBR014", n->line, n->column, NULL,
			      "migrations must be an array of tables, not of %s", dbreg_toml_type_name(n->type));
			mhint(c, "declare each migration under [[migrations]]");
			continue;
		}
		manifest_migration(c, &pkg->migrations[pkg->n_migrations++], n);
	}
}

/* The bodies written as manifest strings and their spans, copied into one
 * block of the package's (spans first), and the tree let go. Positions in
 * a body written as is (no escape, no CR: the usual case) are found from
 * its text; the source is kept only for the others. */
static void manifest_keep_sql(struct mctx *c)
{
	struct dbreg_package *pkg = c->pkg;
	size_t n = 0, total = 0;
	/* A body read twice (a key holding a NUL, see manifest_migration) was
	 * read last from the node whose text it holds. */
	for (size_t i = 0; i < c->n_bodies; i++)
		if (c->bodies[i].sql->text == c->bodies[i].node->u.str.ptr) {
			n++;
			total += c->bodies[i].sql->len + 1;
		}
	if (n == 0) {
		dbreg_toml_doc_strip(pkg->doc, false);
		return;
	}
	if (total > SIZE_MAX - n * sizeof(struct dbreg_toml_span) ||
	    !(pkg->sql_text = malloc(n * sizeof(struct dbreg_toml_span) + total))) {
		c->oom = true;
		return;
	}
	struct dbreg_toml_span *span = (struct dbreg_toml_span *)pkg->sql_text;
	char *at = pkg->sql_text + n * sizeof *span;
	bool keep_source = false;
	for (size_t i = 0; i < c->n_bodies; i++) {
		struct dbreg_sql *sql = c->bodies[i].sql;
		if (sql->text != c->bodies[i].node->u.str.ptr)
			continue;
		*span = dbreg_toml_string_span(c->bodies[i].node);
		keep_source |= span->head == 0;
		sql->span = span++;
		memcpy(at, sql->text, sql->len + 1);
		sql->text = at;
		at += sql->len + 1;
	}
	dbreg_toml_doc_strip(pkg->doc, keep_source);
}

int dbreg_manifest_load(struct dbreg_package **out, struct dbreg_diag_list *diags, const char *file,
			const char *base_dir, const char *text, size_t len)
{
	*out = NULL;
	struct dbreg_package *pkg = calloc(1, sizeof *pkg);
	if (pkg == NULL)
		return DBREG_ENOMEM;
	pkg->file = dbreg_strdup(file ? file : "<memory>");
	pkg->base_dir = dbreg_strdup(base_dir ? base_dir : ".");
	if (pkg->file == NULL || pkg->base_dir == NULL) {
		dbreg_package_free(pkg);
		return DBREG_ENOMEM;
	}
	dbreg_sha256_hex(text ? text : "", text ? len : 0, pkg->manifest_sha256);

	struct dbreg_toml_error err;
	memset(&err, 0, sizeof err);
	int rc = dbreg_toml_parse(&pkg->doc, text ? text : "", text ? len : 0, &err);
	struct mctx c = { .diags = diags, .pkg = pkg };
	if (rc == -2) {
		dbreg_package_free(pkg);
		return DBREG_ENOMEM;
	}
	if (rc != 0) {
		err.message[sizeof err.message - 1] = '\0';
		struct dbreg_diag_at at = {.file = pkg->file, .line = err.line, .column = err.column};
		c.oom |= dbreg_diag_invalid_toml(diags, &at, err.message) != 0;
		dbreg_package_free(pkg);
		return c.oom ? DBREG_ENOMEM : 0;
	}
	const struct dbreg_toml_node *root = pkg->doc->root;
	struct mvals rv;
	manifest_keys_find(root, root_keys, &rv);
	manifest_package(&c, &rv);
	/* Root-level checks after [package], so they can name the package. */
	manifest_check_keys(&c, root, root_keys, &(struct mwhere){"the manifest", NULL, NULL}, NULL, &rv);
	manifest_dependencies(&c, &rv);
	manifest_tables(&c, &rv);
	manifest_tools(&c, &rv);
	manifest_migrations(&c, &rv);
	if (!c.oom)
		manifest_keep_sql(&c);
	free(c.bodies);
	if (c.oom) {
		dbreg_package_free(pkg);
		return DBREG_ENOMEM;
	}
	*out = pkg;
	return 0;
}
