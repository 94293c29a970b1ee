/* The portable column types: one table that says, for each type a manifest
 * may name, how many parameters it takes and how each dialect stores it.
 * Lookup, hints, the planner and verify all read this same table. */
#include "model.h"
#include "util.h"

#include <ctype.h>
#include <string.h>

static const struct dbreg_type_info types_table[] = {
	{ "text",        0, "text",             "TEXT" },
	{ "varchar",     1, "varchar",          "TEXT" },
	{ "char",        1, "char",             "TEXT" },
	{ "smallint",    0, "smallint",         "INTEGER" },
	{ "integer",     0, "integer",          "INTEGER" },
	{ "bigint",      0, "bigint",           "INTEGER" },
	{ "serial",      0, "serial",           "INTEGER" },
	{ "bigserial",   0, "bigserial",        "INTEGER" },
	{ "real",        0, "real",             "REAL" },
	{ "double",      0, "double precision", "REAL" },
	{ "numeric",     2, "numeric",          "NUMERIC" },
	{ "boolean",     0, "boolean",          "INTEGER" },
	{ "date",        0, "date",             "TEXT" },
	{ "time",        0, "time",             "TEXT" },
	{ "timestamp",   0, "timestamp",        "TEXT" },
	{ "timestamptz", 0, "timestamptz",      "TEXT" },
	{ "uuid",        0, "uuid",             "TEXT" },
	{ "json",        0, "json",             "TEXT" },
	{ "jsonb",       0, "jsonb",            "TEXT" },
	{ "bytea",       0, "bytea",            "BLOB" },
};
#define TYPES_COUNT (sizeof(types_table) / sizeof(types_table[0]))

/* Spellings people write from habit, mapped to the portable name for hints. */
static const struct { const char *alias, *type; } types_aliases[] = {
	{ "int", "integer" },         { "int2", "smallint" },     { "int4", "integer" },
	{ "int8", "bigint" },         { "bool", "boolean" },      { "string", "text" },
	{ "float", "double" },        { "float8", "double" },     { "float4", "real" },
	{ "double precision", "double" }, { "decimal", "numeric" }, { "datetime", "timestamp" },
	{ "timestamp with time zone", "timestamptz" }, { "blob", "bytea" },
	{ "character varying", "varchar" }, { "character", "char" }, { "tinyint", "smallint" },
	{ "binary", "bytea" },         { "clob", "text" },
};

/* Splits "name(params)" into the lowercased base name (trailing blanks
 * dropped) and the parameter count; returns -1 when malformed. */
static int types_split(const char *type, char *base, size_t size, int *n_params)
{
	size_t n = 0;
	const char *p = type;
	while (*p == ' ')
		p++;
	while (*p && *p != '(' && n + 1 < size)
		base[n++] = (char)tolower((unsigned char)*p++);
	while (n > 0 && base[n - 1] == ' ')
		n--;
	base[n] = '\0';
	*n_params = 0;
	if (*p == '\0')
		return 0;
	if (*p != '(')
		return -1; /* base name too long */
	p++;
	for (;;) {
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		size_t digits = 0;
		while (isdigit((unsigned char)*p)) {
			p++;
			if (++digits > 9)
				return -1;
		}
		(*n_params)++;
		while (*p == ' ')
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
	while (*p == ' ')
		p++;
	return *p == '\0' ? 0 : -1;
}

const struct dbreg_type_info *dbreg_type_lookup(const char *type)
{
	char base[64];
	int n_params;
	if (type == NULL || types_split(type, base, sizeof base, &n_params) != 0)
		return NULL;
	for (size_t i = 0; i < TYPES_COUNT; i++) {
		const struct dbreg_type_info *t = &types_table[i];
		if (strcmp(base, t->name) != 0)
			continue;
		/* Parameters are optional (varchar, numeric) but never more than
		 * the type takes. */
		return n_params <= t->n_params ? t : NULL;
	}
	return NULL;
}

const char *dbreg_type_nearest(const char *type)
{
	char base[64];
	int n_params;
	if (type == NULL)
		return "text";
	if (types_split(type, base, sizeof base, &n_params) != 0) {
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
	for (size_t i = 0; i < sizeof types_aliases / sizeof types_aliases[0]; i++)
		if (strcmp(base, types_aliases[i].alias) == 0)
			return types_aliases[i].type;
	const char *names[TYPES_COUNT + 1];
	for (size_t i = 0; i < TYPES_COUNT; i++)
		names[i] = types_table[i].name;
	names[TYPES_COUNT] = NULL;
	const char *best = dbreg_nearest(base, names);
	return best ? best : "text";
}
