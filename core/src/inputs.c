/* Input limits (inputs.h): the checks every reader of manifests and SQL
 * makes before trusting sizes and shapes it does not control. */
#include "inputs.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

bool dbreg_past(long long deadline_ms)
{
	return deadline_ms > 0 && dbreg_clock_ms() > (double)deadline_ms;
}

const char *dbreg_io_strerror(int err)
{
	switch (err) {
	case DBREG_ENOTREG: return "not a regular file (a FIFO, device, socket or folder): only regular files are read";
	case DBREG_EDANGLING: return "a symbolic link to a file that does not exist";
	case DBREG_ETOOBIG: return "larger than the 16 MiB limit for a manifest or SQL file";
	default: return strerror(err);
	}
}

int dbreg_read_sql_file(const char *path, char **out, size_t *len)
{
	if (dbreg_read_file(path, out, len) != 0)
		return -1;
	if (*len >= 3 && memcmp(*out, "\xEF\xBB\xBF", 3) == 0) {
		memmove(*out, *out + 3, *len - 3 + 1);   /* with the NUL */
		*len -= 3;
	}
	return 0;
}

/* Operator characters of the PostgreSQL lexer. */
static bool shape_op(char c)
{
	return c && strchr("+-*/<>=~!@#%^&|`?", c) != NULL;
}

static bool shape_word(const char *s, size_t len, size_t i, const char *w)
{
	size_t n = strlen(w);
	if (i + n > len || strncasecmp(s + i, w, n) != 0)
		return false;
	return i + n == len || !(isalnum((unsigned char)s[i + n]) || s[i + n] == '_');
}

#define SHAPE_LEVELS 64

void dbreg_sql_shape(const char *s, size_t len, struct dbreg_sql_shape *out)
{
	memset(out, 0, sizeof(*out));
	/* run[d]: operators since the last ',' at parenthesis level d (the
	 * length of a left-deep chain); levels past SHAPE_LEVELS share one. */
	size_t run[SHAPE_LEVELS] = {0};
	size_t paren = 0, stmt_chars = 0;
	for (size_t i = 0; i < len;) {
		char c = s[i];
		if (c == '-' && i + 1 < len && s[i + 1] == '-') {
			while (i < len && s[i] != '\n')
				i++;
			continue;
		}
		if (c == '/' && i + 1 < len && s[i + 1] == '*') {
			size_t nest = 0;
			/* Comments nest in PostgreSQL. */
			while (i + 1 < len) {
				if (s[i] == '/' && s[i + 1] == '*') {
					nest++;
					i += 2;
				} else if (s[i] == '*' && s[i + 1] == '/') {
					i += 2;
					if (--nest == 0)
						break;
				} else {
					i++;
				}
			}
			if (nest)
				i = len;
			continue;
		}
		if (c == '\'' || c == '"') {
			stmt_chars++;
			for (i++; i < len; i++) {
				if (s[i] == c) {
					if (i + 1 < len && s[i + 1] == c) {
						i++;
						continue;
					}
					break;
				}
				if (s[i] == '\\' && c == '\'' && i + 1 < len)
					i++;   /* E'...' escapes; harmless for standard strings here */
			}
			i++;
			continue;
		}
		if (c == '$') {
			/* $tag$ ... $tag$ */
			size_t j = i + 1;
			while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '_'))
				j++;
			if (j < len && s[j] == '$' && !(j > i + 1 && isdigit((unsigned char)s[i + 1]))) {
				size_t tag = j - i + 1;
				const char *end = NULL;
				for (size_t k = j + 1; k + tag <= len; k++)
					if (s[k] == '$' && memcmp(s + k, s + i, tag) == 0) {
						end = s + k;
						break;
					}
				stmt_chars++;
				i = end ? (size_t)(end - s) + tag : len;
				continue;
			}
		}
		size_t lvl = paren < SHAPE_LEVELS ? paren : SHAPE_LEVELS - 1;
		size_t depth = 0;
		if (c == '(') {
			paren++;
			if (paren < SHAPE_LEVELS)
				run[paren] = 0;
			i++;
			stmt_chars++;
		} else if (c == ')') {
			if (paren)
				paren--;
			i++;
		} else if (c == ',') {
			run[lvl] = 0;
			i++;
		} else if (c == ';') {
			if (stmt_chars)
				out->statements++;
			stmt_chars = 0;
			paren = 0;
			run[0] = 0;
			i++;
		} else if (shape_op(c)) {
			while (i < len && shape_op(s[i]))
				i++;
			run[lvl]++;
			stmt_chars++;
		} else if (isalpha((unsigned char)c) || c == '_') {
			/* Keyword operators; AND/OR chains are flattened by the
			 * grammar but counted anyway: a safe overestimate. */
			if (shape_word(s, len, i, "NOT") || shape_word(s, len, i, "AND") || shape_word(s, len, i, "OR") ||
			    shape_word(s, len, i, "CASE") || shape_word(s, len, i, "IS"))
				run[lvl]++;
			while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_' || (unsigned char)s[i] >= 0x80))
				i++;
			stmt_chars++;
		} else {
			if (!isspace((unsigned char)c))
				stmt_chars++;
			i++;
		}
		/* Each level of parentheses costs a few tree levels (sub-select,
		 * target list, expression). */
		depth = paren * 4 + run[lvl];
		if (depth > out->depth) {
			out->depth = depth;
			out->depth_offset = i;
		}
	}
	if (stmt_chars)
		out->statements++;
}

bool dbreg_sql_parse_safe(const char *sql)
{
	struct dbreg_sql_shape sh;
	dbreg_sql_shape(sql, strlen(sql), &sh);
	return sh.depth <= DBREG_MAX_SQL_DEPTH;
}
