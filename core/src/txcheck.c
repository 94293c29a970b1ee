/* DBR048: which statements cannot run inside a transaction block. A table
 * of parse node types, with the field that decides when only some of them
 * cannot (CREATE INDEX is fine, CREATE INDEX CONCURRENTLY is not). */
#include "txcheck.h"

#include <string.h>
#include <strings.h>

struct txcheck_rule {
	const char *kind;              /* libpg_query node type */
	const char *field;             /* boolean field that must be true, NULL: always */
	const char *word;              /* or a word the statement must hold (ReindexStmt keeps it in a list) */
	const char *name;              /* as the message says it */
};

static const struct txcheck_rule txcheck_rules[] = {
	{ "IndexStmt", "concurrent", NULL, "CREATE INDEX CONCURRENTLY" },
	{ "DropStmt", "concurrent", NULL, "DROP INDEX CONCURRENTLY" },
	{ "ReindexStmt", NULL, "CONCURRENTLY", "REINDEX CONCURRENTLY" },
	{ "VacuumStmt", "is_vacuumcmd", NULL, "VACUUM" },
	{ "CreatedbStmt", NULL, NULL, "CREATE DATABASE" },
	{ "DropdbStmt", NULL, NULL, "DROP DATABASE" },
	{ "AlterSystemStmt", NULL, NULL, "ALTER SYSTEM" },
	{ "CreateTableSpaceStmt", NULL, NULL, "CREATE TABLESPACE" },
	{ "DropTableSpaceStmt", NULL, NULL, "DROP TABLESPACE" },
	{ "CreateSubscriptionStmt", NULL, NULL, "CREATE SUBSCRIPTION" },
};

static bool txcheck_ident(char ch)
{
	return ch == '_' || (ch >= '0' && ch <= '9') || ((ch | 32) >= 'a' && (ch | 32) <= 'z');
}

/* Whether text[0..len) holds word as a whole word, any case. */
static bool txcheck_has_word(const char *text, size_t len, const char *word)
{
	size_t w = strlen(word);
	for (size_t i = 0; i + w <= len; i++) {
		if (strncasecmp(text + i, word, w) != 0)
			continue;
		if ((i == 0 || !txcheck_ident(text[i - 1])) && (i + w == len || !txcheck_ident(text[i + w])))
			return true;
	}
	return false;
}

const char *dbreg_txcheck_reason(const char *kind, dbreg_txcheck_flag_fn flag, const void *node, const char *text,
				 size_t len)
{
	for (size_t i = 0; kind && i < sizeof txcheck_rules / sizeof txcheck_rules[0]; i++) {
		const struct txcheck_rule *r = &txcheck_rules[i];
		if (strcmp(r->kind, kind) != 0)
			continue;
		if (r->field && !(flag && flag(node, r->field)))
			return NULL;
		if (r->word && !(text && txcheck_has_word(text, len, r->word)))
			return NULL;
		return r->name;
	}
	return NULL;
}
