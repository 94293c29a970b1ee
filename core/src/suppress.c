/* Suppression comments: finding the `-- dbreg:ignore` comment of a statement
 * and turning the findings it names into DBR105 warnings, so a suppression
 * stays visible. A comment alone on its line belongs to the statement after
 * it; one after code on a line belongs to the statement that line starts. */
#include "suppress.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char suppress_marker[] = "dbreg:ignore";

/* Parses `-- dbreg:ignore CODES reason` from p (at the "--" in sql) to the
 * end of its line. Returns whether it is a suppression comment. */
static bool suppress_parse(struct dbreg_suppress *out, const char *sql, const char *p)
{
	p += 2;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t mlen = sizeof(suppress_marker) - 1;
	if (strncmp(p, suppress_marker, mlen) != 0 || (p[mlen] != ' ' && p[mlen] != '\t'))
		return false;
	p += mlen;
	memset(out, 0, sizeof(*out));
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		size_t n = 0;
		while ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9'))
			n++;
		/* A code is DBR and three digits; what follows the codes is the reason. */
		if (n != 6 || strncmp(p, "DBR", 3) != 0 || (p[n] && p[n] != ',' && p[n] != ' ' && p[n] != '\t' &&
							     p[n] != '\n' && p[n] != '\r'))
			break;
		if (out->n_codes < DBREG_SUPPRESS_MAX_CODES) {
			memcpy(out->codes[out->n_codes], p, n);
			out->at[out->n_codes] = (size_t)(p - sql);
			out->codes[out->n_codes++][n] = '\0';
		}
		p += n;
		if (*p != ',')
			break;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strcspn(p, "\r\n");
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= sizeof(out->reason))
		n = sizeof(out->reason) - 1;
	memcpy(out->reason, p, n);
	out->reason[n] = '\0';
	return out->n_codes > 0;
}

bool dbreg_suppress_parse_at(struct dbreg_suppress *out, const char *sql, size_t at)
{
	memset(out, 0, sizeof(*out));
	return suppress_parse(out, sql, sql + at);
}

/* The "--" of a comment on the line from `p` to its end, outside quotes;
 * NULL when there is none. A dollar quote stops the search: its body may
 * hold anything. */
static const char *suppress_line_comment(const char *p)
{
	char quote = 0;
	for (; *p && *p != '\n'; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '$') {
			return NULL;
		} else if (p[0] == '-' && p[1] == '-') {
			return p;
		}
	}
	return NULL;
}

void dbreg_suppress_find(struct dbreg_suppress *out, const char *sql, size_t begin, size_t start)
{
	memset(out, 0, sizeof(*out));
	/* At the end of the statement's first line. */
	const char *c = suppress_line_comment(sql + start);
	if (c && suppress_parse(out, sql, c))
		return;
	/* Alone on the line before it, after the previous statement ended. */
	size_t line = start;
	while (line > begin && sql[line - 1] != '\n')
		line--;
	if (line == 0 || line <= begin)
		return;
	size_t prev = line - 1;
	while (prev > begin && sql[prev - 1] != '\n')
		prev--;
	if (prev > 0 && sql[prev - 1] != '\n')
		return;   /* that line holds the previous statement: its comment is its own */
	const char *p = sql + prev;
	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '-' && p[1] == '-')
		suppress_parse(out, sql, p);
}

/* The codes a comment may suppress among those a statement's finding can
 * carry (diag.c's table): the others dbreg_suppress_allowed lets through
 * are findings on tables (DBR101, DBR102, DBR106) or about suppression
 * itself (DBR105, DBR107), which no comment on a statement reaches. */
void dbreg_suppress_codes(char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; dbreg_diag_code(i) && n < size; i++) {
		const char *code = dbreg_diag_code(i);
		if (dbreg_diag_on_statement(code) && dbreg_suppress_allowed(code))
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", code);
	}
}

bool dbreg_suppress_allowed(const char *code)
{
	enum dbreg_severity sev;
	if (!dbreg_diag_title(code, &sev))
		return false;
	return sev == DBREG_SEV_WARNING || strcmp(code, "DBR043") == 0;
}

int dbreg_suppress_index(const struct dbreg_suppress *sup, const char *code)
{
	for (size_t i = 0; sup && i < sup->n_codes; i++)
		if (strcmp(sup->codes[i], code) == 0)
			return (int)i;
	return -1;
}

bool dbreg_suppress_same(const struct dbreg_suppress *a, const struct dbreg_suppress *b)
{
	return a->n_codes > 0 && b->n_codes > 0 && a->at[0] == b->at[0];
}

/* Whether sup names code, marking it used when it does. */
static bool suppress_names(struct dbreg_suppress *sup, const char *code)
{
	int i = dbreg_suppress_index(sup, code);
	if (i >= 0)
		sup->used |= 1u << i;
	return i >= 0;
}

void dbreg_suppress_refused(struct dbreg_suppress *sup, const char *code, char *buf, size_t size)
{
	buf[0] = '\0';
	if (suppress_names(sup, code) && !dbreg_suppress_allowed(code))
		snprintf(buf, size, " (a dbreg:ignore comment cannot suppress %s: only warnings and DBR043 can be)", code);
}

int dbreg_suppress_vaddf(struct dbreg_diag_list *diags, struct dbreg_suppress *sup, const char *code,
			 const struct dbreg_diag_at *at, const char *fmt, va_list ap)
{
	if (!suppress_names(sup, code))
		return dbreg_diag_vaddf(diags, code, at, fmt, ap);
	char *text = dbreg_vprintf(fmt, ap);
	if (!text)
		return DBREG_ENOMEM;
	int rc;
	if (dbreg_suppress_allowed(code)) {
		rc = dbreg_diag_addf(diags, "DBR105", at, "%s suppressed by a dbreg:ignore comment (%s): %s", code,
				     sup->reason[0] ? sup->reason : "no reason given", text);
	} else {
		char refused[128];
		dbreg_suppress_refused(sup, code, refused, sizeof refused);
		rc = dbreg_diag_addf(diags, code, at, "%s%s", text, refused);
	}
	free(text);
	return rc;
}
