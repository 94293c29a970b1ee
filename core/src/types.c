/* The portable column types: one table that says, for each type a manifest
 * may name, how many parameters it takes and how each dialect stores it,
 * and one table of the other spellings of those types. Manifest checks,
 * hints, DBR047 and verify read these tables and nothing else: whether a
 * catalog's column stores a declared type is decided here only. */
#include "model.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* sqlite_also: an affinity that stores the type's values as the one it
 * needs does. NUMERIC stores integers as INTEGER does (they differ only
 * in CAST: `boolean`, `serial` spelled in a body give NUMERIC); it keeps text
 * that is not a number as text, so it stores dates and times (ISO text
 * always has a '-' or ':') and blobs (never converted), but not uuid or
 * json text ('0001' turns into 1, 12345678901234567890 loses digits). */
static const struct dbreg_type_info types_table[] = {
	/* name        params PostgreSQL (format_type)      affinity   also       storage        family */
	{ "text",        0, "text",                        "TEXT",    NULL,      "text",        "text" },
	{ "varchar",     1, "character varying",           "TEXT",    NULL,      "varchar",     "text" },
	{ "char",        1, "character",                   "TEXT",    NULL,      "char",        "text" },
	{ "smallint",    0, "smallint",                    "INTEGER", "NUMERIC", "smallint",    "integer" },
	{ "integer",     0, "integer",                     "INTEGER", "NUMERIC", "integer",     "integer" },
	{ "bigint",      0, "bigint",                      "INTEGER", "NUMERIC", "bigint",      "integer" },
	{ "serial",      0, "integer",                     "INTEGER", "NUMERIC", "integer",     "integer" },
	{ "bigserial",   0, "bigint",                      "INTEGER", "NUMERIC", "bigint",      "integer" },
	{ "real",        0, "real",                        "REAL",    NULL,      "real",        "float" },
	{ "double",      0, "double precision",            "REAL",    NULL,      "double",      "float" },
	{ "numeric",     2, "numeric",                     "NUMERIC", NULL,      "numeric",     "numeric" },
	{ "boolean",     0, "boolean",                     "INTEGER", "NUMERIC", "boolean",     "boolean" },
	{ "date",        0, "date",                        "TEXT",    "NUMERIC", "date",        "datetime" },
	{ "time",        0, "time without time zone",      "TEXT",    "NUMERIC", "time",        "time" },
	{ "timestamp",   0, "timestamp without time zone", "TEXT",    "NUMERIC", "timestamp",   "datetime" },
	{ "timestamptz", 0, "timestamp with time zone",    "TEXT",    "NUMERIC", "timestamptz", "datetime" },
	{ "uuid",        0, "uuid",                        "TEXT",    NULL,      "uuid",        "uuid" },
	{ "json",        0, "json",                        "TEXT",    NULL,      "json",        NULL },
	{ "jsonb",       0, "jsonb",                       "TEXT",    NULL,      "jsonb",       "jsonb" },
	{ "bytea",       0, "bytea",                       "BLOB",    "NUMERIC", "bytea",       "bytea" },
};
#define TYPES_COUNT (sizeof(types_table) / sizeof(types_table[0]))

/* Other names of the portable types. `sql`: a spelling one of the dialects
 * itself takes for that type (read back from catalogs and migrations);
 * otherwise a habit from elsewhere, used only for hints. */
static const struct { const char *alias, *type; bool sql; } types_aliases[] = {
	{ "int", "integer", true },          { "int2", "smallint", true },      { "int4", "integer", true },
	{ "int8", "bigint", true },          { "bool", "boolean", true },       { "float8", "double", true },
	{ "float4", "real", true },          { "float", "double", true },       { "double precision", "double", true },
	{ "decimal", "numeric", true },      { "character varying", "varchar", true },
	{ "character", "char", true },       { "bpchar", "char", true },        { "serial4", "serial", true },
	{ "serial8", "bigserial", true },    { "timestamp with time zone", "timestamptz", true },
	{ "timestamp without time zone", "timestamp", true }, { "time without time zone", "time", true },
	{ "string", "text", false },         { "datetime", "timestamp", false }, { "blob", "bytea", false },
	{ "tinyint", "smallint", false },    { "binary", "bytea", false },      { "clob", "text", false },
};
#define TYPES_ALIASES (sizeof(types_aliases) / sizeof(types_aliases[0]))

static const struct dbreg_type_info *types_by_name(const char *name)
{
	for (size_t i = 0; i < TYPES_COUNT; i++)
		if (strcmp(name, types_table[i].name) == 0)
			return &types_table[i];
	return NULL;
}

static int types_read(const char *s, char *base, size_t size, struct dbreg_type *t);

const char *dbreg_type_nearest(const char *type)
{
	char base[64];
	struct dbreg_type t;
	if (type == NULL)
		return "text";
	if (types_read(type, base, sizeof base, &t) != 0) {
		/* Keep what precedes a malformed parameter list. */
		size_t n = strcspn(type, "(");
		if (n >= sizeof base)
			n = sizeof base - 1;
		for (size_t i = 0; i < n; i++)
			base[i] = (char)tolower((unsigned char)type[i]);
		base[n] = '\0';
	}
	for (size_t i = 0; i < TYPES_COUNT; i++)
		if (strcmp(base, types_table[i].name) == 0)
			return types_table[i].name; /* right name, wrong parameters */
	for (size_t i = 0; i < TYPES_ALIASES; i++)
		if (strcmp(base, types_aliases[i].alias) == 0)
			return types_aliases[i].type;
	const char *names[TYPES_COUNT + 1];
	for (size_t i = 0; i < TYPES_COUNT; i++)
		names[i] = types_table[i].name;
	names[TYPES_COUNT] = NULL;
	const char *best = dbreg_nearest(base, names);
	return best ? best : "text";
}

/* Reads a spelling as SQL writes it: words and one parameter list anywhere
 * among them ("timestamp(3) with time zone"), blanks collapsed, lowercased.
 * base gets the words joined by one blank. -1 when malformed. */
static int types_read(const char *s, char *base, size_t size, struct dbreg_type *t)
{
	size_t n = 0;
	bool params = false;
	t->n_params = 0;
	for (const char *p = s; *p;) {
		if (isspace((unsigned char)*p) || *p == '"') {
			p++;
			continue;
		}
		if (*p == '(') {
			if (params)
				return -1;
			params = true;
			for (p++;;) {
				while (isspace((unsigned char)*p))
					p++;
				char *end;
				long v = strtol(p, &end, 10);
				if (end == p || t->n_params == 2 || v < 0)
					return -1;
				t->params[t->n_params++] = v;
				p = end;
				while (isspace((unsigned char)*p))
					p++;
				if (*p == ',') {
					p++;
					continue;
				}
				if (*p != ')')
					return -1;
				p++;
				break;
			}
			continue;
		}
		if (n > 0 && n + 1 < size)
			base[n++] = ' ';
		while (*p && !isspace((unsigned char)*p) && *p != '(' && *p != '"') {
			if (n + 1 >= size)
				return -1;
			base[n++] = (char)tolower((unsigned char)*p++);
		}
	}
	base[n] = '\0';
	return n ? 0 : -1;
}

/* Whether a manifest's parameters are ones PostgreSQL takes (SQLite takes
 * any): a length from 1 to 10485760, a precision from 1 to 1000 and a scale
 * from 0 to the precision. Out of range, init would fail where validate
 * passed. */
static bool types_params_ok(const struct dbreg_type *t)
{
	if (t->n_params == 0)
		return true;
	if (strcmp(t->info->name, "numeric") == 0)
		return t->params[0] >= 1 && t->params[0] <= 1000 && (t->n_params < 2 || t->params[1] <= t->params[0]);
	return t->params[0] >= 1 && t->params[0] <= 10485760;
}

const struct dbreg_type_info *dbreg_type_lookup(const char *type)
{
	char base[64];
	struct dbreg_type t;
	/* A manifest writes the name, then its parameters: "varchar(20)". */
	if (type == NULL || strchr(type, '"') || type[strspn(type, " ")] == '(' ||
	    types_read(type, base, sizeof base, &t) != 0)
		return NULL;
	t.info = types_by_name(base);
	/* Parameters are optional (varchar, numeric) but never more than the
	 * type takes. */
	if (!t.info || t.n_params > t.info->n_params || !types_params_ok(&t))
		return NULL;
	return t.info;
}

int dbreg_type_parse(const char *spelling, struct dbreg_type *out)
{
	char base[96];
	memset(out, 0, sizeof *out);
	if (!spelling || types_read(spelling, base, sizeof base, out) != 0)
		return -1;
	const struct dbreg_type_info *ti = types_by_name(base);
	for (size_t i = 0; !ti && i < TYPES_ALIASES; i++)
		if (types_aliases[i].sql && strcmp(base, types_aliases[i].alias) == 0)
			ti = types_by_name(types_aliases[i].type);
	/* More parameters than a manifest may write are a database's own
	 * precision (timestamp(3) with time zone): still the type. */
	if (!ti) {
		out->n_params = 0;
		return -1;
	}
	out->info = ti;
	return 0;
}

const char *dbreg_type_affinity(const char *spelling)
{
	char low[128];
	size_t n = 0;
	for (; spelling && spelling[n] && n + 1 < sizeof low; n++)
		low[n] = (char)tolower((unsigned char)spelling[n]);
	low[n] = '\0';
	if (strstr(low, "int"))
		return "INTEGER";
	if (strstr(low, "char") || strstr(low, "clob") || strstr(low, "text"))
		return "TEXT";
	if (n == 0 || strstr(low, "blob"))
		return "BLOB";
	if (strstr(low, "real") || strstr(low, "floa") || strstr(low, "doub"))
		return "REAL";
	return "NUMERIC";
}

/* Parameters as PostgreSQL keeps them: numeric(P) is numeric(P,0). */
static int types_params(const struct dbreg_type *t, long out[2])
{
	out[0] = t->params[0];
	out[1] = t->params[1];
	if (t->info && strcmp(t->info->name, "numeric") == 0 && t->n_params == 1) {
		out[1] = 0;
		return 2;
	}
	return t->n_params;
}

bool dbreg_type_stores(const struct dbreg_type *want, const char *spelling, enum dbreg_dialect dialect)
{
	if (!want || !want->info)
		return true; /* not portable: DBR026 says so where it is declared */
	struct dbreg_type got;
	bool known = dbreg_type_parse(spelling, &got) == 0;
	bool same = known && strcmp(got.info->storage, want->info->storage) == 0;
	if (dialect == DBREG_DIALECT_SQLITE) {
		/* SQLite keeps neither lengths nor precisions: a value is stored
		 * by the column's affinity, which its spelling gives whatever
		 * type that spelling names elsewhere (uuid, jsonb: NUMERIC). */
		const char *aff = dbreg_type_affinity(spelling), *also = want->info->sqlite_also;
		return strcmp(aff, want->info->sqlite) == 0 || (also && strcmp(aff, also) == 0);
	}
	if (!same)
		return false;
	if (want->n_params == 0)
		return true; /* no parameters declared: any the database has */
	long a[2], b[2];
	int na = types_params(want, a), nb = types_params(&got, b);
	return na == nb && a[0] == b[0] && (na < 2 || a[1] == b[1]);
}

void dbreg_type_pg_spelling(const struct dbreg_type *t, char *out, size_t size)
{
	if (!t || !t->info) {
		snprintf(out, size, "?");
		return;
	}
	if (t->n_params == 0)
		snprintf(out, size, "%s", t->info->postgres);
	else if (t->n_params == 1)
		snprintf(out, size, "%s(%ld)", t->info->postgres, t->params[0]);
	else
		snprintf(out, size, "%s(%ld,%ld)", t->info->postgres, t->params[0], t->params[1]);
}

bool dbreg_type_is_serial(const struct dbreg_type_info *ti)
{
	return ti && (strcmp(ti->name, "serial") == 0 || strcmp(ti->name, "bigserial") == 0);
}

bool dbreg_type_fk_compatible(const struct dbreg_type_info *a, const struct dbreg_type_info *b)
{
	if (!a || !b)
		return true; /* not portable: DBR026 says so */
	return a->family && b->family && strcmp(a->family, b->family) == 0;
}
