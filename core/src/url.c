/* Target URLs: finds the password in a postgres:// URI (userinfo and a
 * password= query parameter) or a libpq keyword string, so that it can be
 * masked. Every redaction in dbreg goes through here. */
#include "dbreg/driver.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dbreg.h"
#include "util.h"

#define URL_MAX_SPANS 16

/* A password's bytes in the URL, [start, end). */
struct url_span {
	size_t start, end;
	bool uri;                      /* percent-encoded (URI), else backslash-escaped */
};

static bool url_scheme_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

/* Length of the scheme before ':', 0 when there is none. */
static size_t url_scheme_len(const char *url)
{
	size_t n = 0;
	while (url_scheme_char(url[n], n == 0))
		n++;
	return (n > 0 && url[n] == ':') ? n : 0;
}

/* Percent-decodes [s, s+n) into a malloc'd string. */
static char *url_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && dbreg_hexval(s[i + 1]) >= 0 && dbreg_hexval(s[i + 2]) >= 0) {
			out[o++] = (char)(dbreg_hexval(s[i + 1]) * 16 + dbreg_hexval(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* Removes backslash escapes from [s, s+n) (libpq keyword values). */
static char *url_unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

/* The connection options libpq itself treats as secret (PQconndefaults'
 * dispchar "*"): the password, and the passphrase of the client's key. */
static const char *const url_secret_keys[] = {"password", "sslpassword"};

static bool url_key_is_password(const char *s, size_t n, bool uri)
{
	char *k = uri ? url_decode(s, n) : dbreg_strndup(s, n);
	/* Out of memory: assume the worst and mask. */
	bool yes = !k;
	for (size_t i = 0; k && i < sizeof(url_secret_keys) / sizeof(url_secret_keys[0]); i++)
		yes |= strcasecmp(k, url_secret_keys[i]) == 0;
	free(k);
	return yes;
}

static void url_add(struct url_span *spans, size_t *n, size_t start, size_t end, bool uri)
{
	if (*n < URL_MAX_SPANS)
		spans[(*n)++] = (struct url_span){ start, end, uri };
	else if (end > spans[*n - 1].end)
		spans[*n - 1].end = end; /* absurd input: widen the last span to the end */
}

/* Where libpq's URI parser ends the user information (fe-connect.c,
 * conninfo_uri_parse_options): at the first '@' before any '/' after the
 * "//", whatever comes before it ('?' too). 0 when it finds none. */
static size_t url_userinfo_end(const char *url, size_t auth)
{
	size_t i = auth;
	while (url[i] && url[i] != '@' && url[i] != '/')
		i++;
	return url[i] == '@' ? i : 0;
}

/* postgres://user:pw@host:port/db?password=pw&... */
static size_t url_uri_spans(const char *url, size_t auth, struct url_span *spans)
{
	size_t n = 0, len = strlen(url);
	const char *q = strchr(url + auth, '?');
	size_t qpos = q ? (size_t)(q - url) : len;
	/* The last '@' before the query: a stray '@' in the password (which
	 * should have been %40) then masks more rather than less; or libpq's
	 * end of the user information when it lies further (a '?' in the
	 * password, which libpq takes as the password's). */
	size_t at = len, info = url_userinfo_end(url, auth);
	for (size_t i = auth; i < qpos; i++) {
		if (url[i] == '@')
			at = i;
	}
	if (info && (at == len || info > at))
		at = info;
	if (at < len) {
		const char *colon = memchr(url + auth, ':', at - auth);
		if (colon)
			url_add(spans, &n, (size_t)(colon - url) + 1, at, true);
		if (at > qpos) {
			q = strchr(url + at, '?');
			qpos = q ? (size_t)(q - url) : len;
		}
	}
	size_t i = qpos + (q ? 1 : 0);
	while (i < len) {
		size_t end = i;
		while (end < len && url[end] != '&')
			end++;
		const char *eq = memchr(url + i, '=', end - i);
		if (eq && url_key_is_password(url + i, (size_t)(eq - url) - i, true))
			url_add(spans, &n, (size_t)(eq - url) + 1, end, true);
		i = end + 1;
	}
	return n;
}

static size_t url_spans(const char *url, struct url_span *spans);

/* The password spans of [start, end) of s, read as a URL of its own (a
 * value that holds one), added to the n of spans. */
static size_t url_nested_spans(const char *s, size_t start, size_t end, struct url_span *spans, size_t n)
{
	if (!memchr(s + start, '@', end - start))
		return n;
	char *v = dbreg_strndup(s + start, end - start);
	struct url_span inner[URL_MAX_SPANS];
	size_t k = v ? url_spans(v, inner) : 0;
	free(v);
	if (!v)
		url_add(spans, &n, start, end, false);
	for (size_t i = 0; i < k; i++)
		url_add(spans, &n, start + inner[i].start, start + inner[i].end, inner[i].uri);
	return n;
}

static bool url_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* host=h dbname=d password='it''s' ... as libpq's conninfo_parse reads it. */
static size_t url_keyword_spans(const char *s, struct url_span *spans)
{
	size_t n = 0, i = 0, len = strlen(s);
	bool after_pw = false;   /* the last word was a password's value */
	while (i < len) {
		while (i < len && url_space(s[i]))
			i++;
		size_t k = i;
		while (i < len && !url_space(s[i]) && s[i] != '=')
			i++;
		size_t klen = i - k;
		while (i < len && url_space(s[i]))
			i++;
		/* Malformed (libpq refuses it, naming the word): right after a
		 * password, masked, as the rest of one with an unescaped space. */
		if (i >= len || s[i] != '=') {
			if (klen && after_pw)
				url_add(spans, &n, k, k + klen, false);
			continue;
		}
		i++;
		while (i < len && url_space(s[i]))
			i++;
		bool pw = url_key_is_password(s + k, klen, false);
		size_t vstart, vend;
		if (i < len && s[i] == '\'') {
			vstart = ++i;
			while (i < len && s[i] != '\'') {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				i++;
			}
			vend = i;
			if (i < len)
				i++; /* the closing quote */
		} else {
			vstart = i;
			while (i < len && !url_space(s[i])) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				i++;
			}
			vend = i;
		}
		if (pw)
			url_add(spans, &n, vstart, vend, false);
		else if (vend > vstart)
			n = url_nested_spans(s, vstart, vend, spans, n);
		after_pw = pw;
	}
	return n;
}

/* Finds the password spans of any URL form dbreg accepts, and of the
 * spellings that are no URL dbreg accepts but hold a password all the
 * same, since they are echoed in the error that refuses them: leading
 * blanks, a URI forgotten its "//" or its scheme (user:pw@host/db), one
 * inside sqlite: or inside a keyword's value (dbname=postgres://...). */
static size_t url_spans(const char *url, struct url_span *spans)
{
	size_t lead = 0;
	while (url_space(url[lead]))
		lead++;
	size_t n = 0;
	char *rest = dbreg_strdup(url + lead);
	if (!rest) {
		/* Out of memory: all of it. */
		url_add(spans, &n, 0, strlen(url), false);
		return n;
	}
	size_t sch = url_scheme_len(rest);
	if (sch == 0) {
		n = url_keyword_spans(rest, spans);
	} else if (sch == 6 && strncasecmp(rest, "sqlite", 6) == 0) {
		n = url_nested_spans(rest, 7, strlen(rest), spans, 0);
	} else if (strncmp(rest + sch, "://", 3) == 0) {
		n = url_uri_spans(rest, sch + 3, spans);
	} else {
		/* user:password@host...: the scheme is the user name. */
		size_t at = rest[sch + 1] == '/' ? 0 : url_userinfo_end(rest, sch + 1);
		if (!at && rest[sch + 1] != '/') {
			const char *last = strrchr(rest + sch + 1, '@');
			at = last ? (size_t)(last - rest) : 0;
		}
		if (at)
			url_add(spans, &n, sch + 1, at, true);
	}
	free(rest);
	for (size_t i = 0; i < n; i++) {
		spans[i].start += lead;
		spans[i].end += lead;
	}
	return n;
}

const char *dbreg_url_unclear(const char *url)
{
	size_t sch = url ? url_scheme_len(url) : 0;
	if (sch == 0 || (sch == 6 && strncasecmp(url, "sqlite", 6) == 0) || strncmp(url + sch, "://", 3) != 0)
		return NULL;
	size_t auth = sch + 3, info = url_userinfo_end(url, auth);
	for (size_t i = info ? info + 1 : auth; url[i] && url[i] != '?'; i++) {
		if (url[i] == '@')
			return "an '@' after its user information (libpq would take part of the password for the host, "
			       "port or database): write '@' as %40 and '/' as %2F in a user name or password";
	}
	return NULL;
}

char *dbreg_url_redact(const char *url)
{
	if (!url)
		return NULL;
	struct url_span spans[URL_MAX_SPANS];
	size_t n = url_spans(url, spans);
	struct dbreg_buf b = DBREG_BUF_INIT;
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		dbreg_buf_append(&b, url + pos, spans[i].start - pos);
		dbreg_buf_puts(&b, "***");
		pos = spans[i].end;
	}
	dbreg_buf_puts(&b, url + pos);
	if (b.oom) {
		dbreg_buf_dispose(&b);
		return NULL;
	}
	return dbreg_buf_detach(&b);
}

static bool url_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Replaces every occurrence of `what` in *text by `with`; with `whole`,
 * only occurrences that stand as a token (no letter or digit right before
 * or after), so a short password like "p" does not turn "port" into
 * "***ort" and so reveal itself. */
static int url_replace_all(char **text, const char *what, const char *with, bool whole)
{
	size_t wlen = strlen(what);
	if (wlen == 0 || !strstr(*text, what))
		return 0;
	struct dbreg_buf b = DBREG_BUF_INIT;
	const char *p = *text, *hit;
	while ((hit = strstr(p, what)) != NULL) {
		if (whole && ((hit > *text && url_is_alnum(hit[-1])) || url_is_alnum(hit[wlen]))) {
			dbreg_buf_append(&b, p, (size_t)(hit - p) + 1);
			p = hit + 1;
			continue;
		}
		dbreg_buf_append(&b, p, (size_t)(hit - p));
		dbreg_buf_puts(&b, with);
		p = hit + wlen;
	}
	dbreg_buf_puts(&b, p);
	if (b.oom) {
		dbreg_buf_dispose(&b);
		return -1;
	}
	free(*text);
	*text = dbreg_buf_detach(&b);
	return 0;
}

char *dbreg_url_scrub(const char *text, const char *url)
{
	if (!text)
		return NULL;
	char *out = dbreg_strdup(text);
	if (!out || !url)
		return out;
	char *red = dbreg_url_redact(url);
	if (!red || url_replace_all(&out, url, red, false) != 0)
		goto oom;
	free(red);
	red = NULL;
	struct url_span spans[URL_MAX_SPANS];
	size_t n = url_spans(url, spans);
	for (size_t i = 0; i < n; i++) {
		size_t len = spans[i].end - spans[i].start;
		char *raw = dbreg_strndup(url + spans[i].start, len);
		char *dec = spans[i].uri ? url_decode(url + spans[i].start, len)
					 : url_unescape(url + spans[i].start, len);
		int rc = (!raw || !dec) ? -1 : url_replace_all(&out, raw, "***", true);
		if (rc == 0)
			rc = url_replace_all(&out, dec, "***", true);
		free(raw);
		free(dec);
		if (rc != 0)
			goto oom;
	}
	return out;
oom:
	free(red);
	free(out);
	return NULL;
}
