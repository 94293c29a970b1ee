/* DBR048: which statements cannot run inside a transaction block. A table
 * of parse node types, with the field that decides when only some of them
 * cannot (CREATE INDEX is fine, CREATE INDEX CONCURRENTLY is not). */
#include "txcheck.h"
#include "inputs.h"

#include <pg_query.h>

#include <string.h>
#include <strings.h>

struct txcheck_rule {
	const char *kind;              /* libpg_query node type */
	const char *field;             /* a field that decides, NULL: none does */
	const char *value;             /* what it must say ("true" for a boolean); NULL: it must be absent */
	const char *word;              /* or a word the statement must hold (kept in a list of options) */
	const char *name;              /* as the message says it */
};

static const struct txcheck_rule txcheck_rules[] = {
	{ "IndexStmt", "concurrent", "true", NULL, "CREATE INDEX CONCURRENTLY" },
	{ "DropStmt", "concurrent", "true", NULL, "DROP INDEX CONCURRENTLY" },
	{ "ReindexStmt", NULL, NULL, "CONCURRENTLY", "REINDEX CONCURRENTLY" },
	{ "ReindexStmt", "kind", "REINDEX_OBJECT_DATABASE", NULL, "REINDEX DATABASE" },
	{ "ReindexStmt", "kind", "REINDEX_OBJECT_SYSTEM", NULL, "REINDEX SYSTEM" },
	{ "ClusterStmt", "relation", NULL, NULL, "CLUSTER without a table" },
	{ "VacuumStmt", "is_vacuumcmd", "true", NULL, "VACUUM" },
	{ "CreatedbStmt", NULL, NULL, NULL, "CREATE DATABASE" },
	{ "DropdbStmt", NULL, NULL, NULL, "DROP DATABASE" },
	{ "AlterDatabaseStmt", NULL, NULL, "TABLESPACE", "ALTER DATABASE ... SET TABLESPACE" },
	{ "AlterSystemStmt", NULL, NULL, NULL, "ALTER SYSTEM" },
	{ "CreateTableSpaceStmt", NULL, NULL, NULL, "CREATE TABLESPACE" },
	{ "DropTableSpaceStmt", NULL, NULL, NULL, "DROP TABLESPACE" },
	{ "CreateSubscriptionStmt", NULL, NULL, NULL, "CREATE SUBSCRIPTION" },
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

const char *dbreg_txcheck_reason(const char *kind, dbreg_txcheck_field_fn field, const void *node, const char *text,
				 size_t len)
{
	for (size_t i = 0; kind && i < sizeof txcheck_rules / sizeof txcheck_rules[0]; i++) {
		const struct txcheck_rule *r = &txcheck_rules[i];
		if (strcmp(r->kind, kind) != 0)
			continue;
		if (r->field) {
			const char *v = field ? field(node, r->field) : NULL;
			if (r->value ? !v || strcmp(v, r->value) != 0 : v != NULL)
				continue;
		}
		if (r->word && !(text && txcheck_has_word(text, len, r->word)))
			continue;
		return r->name;
	}
	return NULL;
}

/* The first words of PostgreSQL's transaction statements. */
static const char *const txcheck_tx_words[] = {"begin", "commit", "end", "rollback", "abort", "start", "savepoint",
					       "release", "prepare"};

bool dbreg_sql_has_transaction_statements(const char *sql)
{
	size_t len = strlen(sql);
	bool word = false;
	for (size_t i = 0; !word && i < sizeof txcheck_tx_words / sizeof txcheck_tx_words[0]; i++)
		word = txcheck_has_word(sql, len, txcheck_tx_words[i]);
	if (!word || !dbreg_sql_parse_safe(sql))
		return false;   /* none; or too deep for libpg_query (inputs.h): validate refused it */
	PgQueryParseResult r = pg_query_parse(sql);
	bool found = !r.error && r.parse_tree && strstr(r.parse_tree, "\"TransactionStmt\"");
	pg_query_free_parse_result(r);
	return found;
}
