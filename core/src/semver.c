/* Semantic Versioning 2.0.0 versions and node-semver ranges (no loose mode).
 * A range is desugared at parse time the way node-semver does it (carets,
 * tildes, x-ranges and hyphens become plain comparators), so satisfies() and
 * format() work on a list of sets of (operator, version) pairs. */
#include "semver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEMVER_MAX_LENGTH 256
#define SEMVER_MAX_SAFE 9007199254740991ULL  /* 2^53-1, JavaScript's MAX_SAFE_INTEGER */

/* ---- versions ---------------------------------------------------------- */

static bool sv_is_digit(char c) { return c >= '0' && c <= '9'; }

static bool sv_is_ident(char c)
{
	return sv_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

static bool sv_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static char *sv_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Reads a numeric part (0|[1-9][0-9]*, at most 2^53-1) at s[*i]. The reason
 * strings are indexed by which part: major, minor, patch. With saturate, a
 * larger number is read as 2^53 instead of refused: a range refuses it only
 * where node-semver would, when it lands in a comparator. */
static int sv_scan_number_ex(const char *s, size_t n, size_t *i, uint64_t *out, int which, bool saturate,
                             const char **why)
{
	static const char *const empty[] = { "empty major", "empty minor", "empty patch" };
	static const char *const zero[] = { "leading zero in major", "leading zero in minor", "leading zero in patch" };
	static const char *const big[] = { "major above 2^53-1", "minor above 2^53-1", "patch above 2^53-1" };
	size_t start = *i;
	uint64_t v = 0;
	bool over = false;

	while (*i < n && sv_is_digit(s[*i])) {
		if (!over) {
			v = v * 10 + (uint64_t)(s[*i] - '0');
			over = v > SEMVER_MAX_SAFE;
		}
		(*i)++;
	}
	if (*i == start) {
		*why = empty[which];
		return -1;
	}
	if (s[start] == '0' && *i - start > 1) {
		*why = zero[which];
		return -1;
	}
	if (over && !saturate) {
		*why = big[which];
		return -1;
	}
	*out = over ? SEMVER_MAX_SAFE + 1 : v;
	return 0;
}

static int sv_scan_number(const char *s, size_t n, size_t *i, uint64_t *out, int which, const char **why)
{
	return sv_scan_number_ex(s, n, i, out, which, false, why);
}

/* Reads dot-separated identifiers [0-9A-Za-z-]+ at s[*i]; prerelease ones
 * may not be numeric with a leading zero. Stops at the first other byte. */
static int sv_scan_idents(const char *s, size_t n, size_t *i, bool pre, const char **why)
{
	for (;;) {
		size_t start = *i;
		bool numeric = true;
		while (*i < n && sv_is_ident(s[*i])) {
			numeric = numeric && sv_is_digit(s[*i]);
			(*i)++;
		}
		if (*i == start) {
			*why = pre ? "empty prerelease identifier" : "empty build identifier";
			return -1;
		}
		if (pre && numeric && s[start] == '0' && *i - start > 1) {
			*why = "leading zero in numeric prerelease identifier";
			return -1;
		}
		if (*i < n && s[*i] == '.') {
			(*i)++;
			continue;
		}
		return 0;
	}
}

int dbreg_semver_parse(struct dbreg_semver *out, const char *text, const char **why)
{
	static const char *const missing[] = { "", "missing minor", "missing patch" };
	const char *dummy;
	uint64_t parts[3];
	size_t n, i = 0, pre_at = 0, pre_len = 0, build_at = 0, build_len = 0;

	if (!why)
		why = &dummy;
	if (out)
		*out = (struct dbreg_semver)DBREG_SEMVER_INIT;
	if (!text || !*text) {
		*why = "empty version";
		return -1;
	}
	n = strlen(text);
	if (n > SEMVER_MAX_LENGTH) {
		*why = "longer than 256 characters";
		return -1;
	}
	if (sv_is_space(text[0]) || sv_is_space(text[n - 1])) {
		*why = "surrounding whitespace";
		return -1;
	}
	if (text[0] == 'v' || text[0] == 'V' || text[0] == '=') {
		*why = "a prefix before the major number";
		return -1;
	}
	for (int k = 0; k < 3; k++) {
		if (k > 0) {
			if (i >= n) {
				*why = missing[k];
				return -1;
			}
			if (text[i] != '.') {
				*why = "unexpected character in the version numbers";
				return -1;
			}
			i++;
		}
		if (sv_scan_number(text, n, &i, &parts[k], k, why) < 0) {
			if (k == 0 && i == 0 && text[0] != '.')
				*why = "not a version";
			return -1;
		}
	}
	if (i < n && text[i] == '-') {
		pre_at = ++i;
		if (sv_scan_idents(text, n, &i, true, why) < 0)
			return -1;
		pre_len = i - pre_at;
	}
	if (i < n && text[i] == '+') {
		build_at = ++i;
		if (sv_scan_idents(text, n, &i, false, why) < 0)
			return -1;
		build_len = i - build_at;
	}
	if (i < n) {
		if (text[i] == '.')
			*why = "more than three version numbers";
		else if (text[i] == '+')
			*why = "a second '+'";
		else if (sv_is_space(text[i]))
			*why = "whitespace inside the version";
		else if (pre_len || build_len)
			*why = "invalid character in prerelease or build";
		else
			*why = "unexpected character after the patch number";
		return -1;
	}
	if (!out)
		return 0;
	out->major = parts[0];
	out->minor = parts[1];
	out->patch = parts[2];
	if (pre_len && !(out->prerelease = sv_strndup(text + pre_at, pre_len)))
		goto oom;
	if (build_len && !(out->build = sv_strndup(text + build_at, build_len)))
		goto oom;
	return 0;
oom:
	dbreg_semver_dispose(out);
	*why = "out of memory";
	return -2;
}

void dbreg_semver_dispose(struct dbreg_semver *v)
{
	if (!v)
		return;
	free(v->prerelease);
	free(v->build);
	*v = (struct dbreg_semver)DBREG_SEMVER_INIT;
}

static int sv_cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

/* Compares one identifier of each list (lengths given): numeric ones as
 * numbers of any size, numeric before alphanumeric, others in ASCII order. */
static int sv_cmp_ident(const char *a, size_t an, const char *b, size_t bn)
{
	bool anum = true, bnum = true;
	for (size_t k = 0; k < an; k++)
		anum = anum && sv_is_digit(a[k]);
	for (size_t k = 0; k < bn; k++)
		bnum = bnum && sv_is_digit(b[k]);
	if (anum && bnum) {
		/* No leading zeros, so the longer number is the larger one. */
		if (an != bn)
			return an < bn ? -1 : 1;
		int c = memcmp(a, b, an);
		return c < 0 ? -1 : c > 0;
	}
	if (anum != bnum)
		return anum ? -1 : 1;
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c < 0 ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

static int sv_cmp_pre(const char *a, const char *b)
{
	if (!a || !*a)
		return (!b || !*b) ? 0 : 1;   /* a release sorts after its prereleases */
	if (!b || !*b)
		return -1;
	for (;;) {
		size_t an = strcspn(a, "."), bn = strcspn(b, ".");
		int c = sv_cmp_ident(a, an, b, bn);
		if (c)
			return c;
		a += an;
		b += bn;
		if (!*a || !*b)
			return *a ? 1 : *b ? -1 : 0;
		a++;
		b++;
	}
}

int dbreg_semver_compare(const struct dbreg_semver *a, const struct dbreg_semver *b)
{
	int c = sv_cmp_u64(a->major, b->major);
	if (!c)
		c = sv_cmp_u64(a->minor, b->minor);
	if (!c)
		c = sv_cmp_u64(a->patch, b->patch);
	if (!c)
		c = sv_cmp_pre(a->prerelease, b->prerelease);
	return c;
}

int dbreg_semver_format(const struct dbreg_semver *v, char *buf, size_t size)
{
	bool pre = v->prerelease && *v->prerelease, build = v->build && *v->build;
	return snprintf(buf, size, "%llu.%llu.%llu%s%s%s%s",
	                (unsigned long long)v->major, (unsigned long long)v->minor,
	                (unsigned long long)v->patch, pre ? "-" : "", pre ? v->prerelease : "",
	                build ? "+" : "", build ? v->build : "");
}

/* ---- ranges ------------------------------------------------------------ */

enum range_op { OP_ANY, OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };

struct range_cmp {
	enum range_op op;
	struct dbreg_semver v;         /* unused for OP_ANY; never has build */
};

struct range_set {
	struct range_cmp *c;
	size_t n, cap;
};

struct dbreg_range {
	struct range_set *s;
	size_t n, cap;
};

/* A partial version as written in a range: a [v= ]* prefix, one to three
 * numbers or x, X, "*"; a prerelease only after three parts, any build. */
struct range_xver {
	bool present[3], isx[3];
	uint64_t num[3];
	const char *pre;               /* points into the range text, or NULL */
	size_t pre_len;
	bool plain_prefix;             /* a full version with this prefix still reads as one */
	bool v_prefix;                 /* plain_prefix with a 'v' (">=v0.0.0" is not "any") */
};

/* isX of node-semver: a missing part counts as x. */
static bool rx_x(const struct range_xver *x, int k) { return !x->present[k] || x->isx[k]; }

static int range_parse_xver(struct range_xver *x, const char *s, size_t n, const char **why)
{
	size_t i = 0, pstart;
	memset(x, 0, sizeof(*x));
	while (i < n && (s[i] == 'v' || s[i] == '=' || s[i] == ' '))
		i++;
	/* What node-semver can still read after ">=" or "<=" once it drops
	 * one space: "", "v", " ", " v". */
	{
		size_t k = (i > 0 && s[0] == ' ') ? 1 : 0;
		x->plain_prefix = i == k || (i == k + 1 && s[k] == 'v');
		x->v_prefix = x->plain_prefix && i == k + 1;
	}
	for (int k = 0; k < 3; k++) {
		if (k > 0) {
			if (i >= n || s[i] != '.')
				break;
			i++;
		}
		if (i < n && (s[i] == 'x' || s[i] == 'X' || s[i] == '*')) {
			x->isx[k] = true;
			i++;
		} else if (sv_scan_number_ex(s, n, &i, &x->num[k], k, true, why) < 0) {
			if (strncmp(*why, "empty", 5) == 0)
				*why = "expected a version number, x or *";
			return -1;
		}
		x->present[k] = true;
	}
	if (x->present[2] && i < n && s[i] == '-') {
		pstart = ++i;
		if (sv_scan_idents(s, n, &i, true, why) < 0)
			return -1;
		x->pre = s + pstart;
		x->pre_len = i - pstart;
	}
	if (i < n && s[i] == '+') {
		i++;
		if (sv_scan_idents(s, n, &i, false, why) < 0)
			return -1;
	}
	if (i < n) {
		*why = "unexpected character in a range version";
		return -1;
	}
	return 0;
}

static void range_set_dispose(struct range_set *set)
{
	for (size_t k = 0; k < set->n; k++)
		dbreg_semver_dispose(&set->c[k].v);
	free(set->c);
	set->c = NULL;
	set->n = set->cap = 0;
}

void dbreg_range_free(struct dbreg_range *r)
{
	if (!r)
		return;
	for (size_t k = 0; k < r->n; k++)
		range_set_dispose(&r->s[k]);
	free(r->s);
	free(r);
}

static size_t range_digits(uint64_t v)
{
	size_t d = 1;
	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

/* Appends one comparator. A ">=0.0.0" written without "v" means any version
 * (node-semver's replaceGTE0). Returns 0, -1 when a number or the length
 * exceeds node-semver's limits, -2 on allocation failure. */
static int range_emit(struct range_set *set, enum range_op op, uint64_t M, uint64_t m, uint64_t p,
                      const char *pre, size_t pre_len, bool v_prefix, const char **why)
{
	struct range_cmp *c;

	if (M > SEMVER_MAX_SAFE || m > SEMVER_MAX_SAFE || p > SEMVER_MAX_SAFE) {
		*why = "version number above 2^53-1";
		return -1;
	}
	if (op != OP_ANY && range_digits(M) + range_digits(m) + range_digits(p) + 2 +
	    (pre ? pre_len + 1 : 0) + (v_prefix ? 1 : 0) > SEMVER_MAX_LENGTH) {
		*why = "version longer than 256 characters";
		return -1;
	}
	if (op == OP_GE && !M && !m && !p && !pre && !v_prefix)
		op = OP_ANY;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 4;
		struct range_cmp *grown = realloc(set->c, cap * sizeof(*grown));
		if (!grown)
			return -2;
		set->c = grown;
		set->cap = cap;
	}
	c = &set->c[set->n];
	c->op = op;
	c->v = (struct dbreg_semver)DBREG_SEMVER_INIT;
	if (op != OP_ANY) {
		c->v.major = M;
		c->v.minor = m;
		c->v.patch = p;
		if (pre && !(c->v.prerelease = sv_strndup(pre, pre_len)))
			return -2;
	}
	set->n++;
	return 0;
}

/* Internal: the text is not this form; node-semver then tries its last
 * resort (range_star_fallback). */
#define RANGE_NO_MATCH (-3)

/* Shorthands for emitting: a comparator without prerelease, and the
 * exclusive upper bound "<M.m.p-0" that keeps prereleases of M.m.p out. */
#define EMIT(op, M, m, p) range_emit(set, (op), (M), (m), (p), NULL, 0, false, why)
#define EMIT_UPPER(M, m, p) range_emit(set, OP_LT, (M), (m), (p), "0", 1, false, why)

static int range_caret(struct range_set *set, const struct range_xver *x, const char **why)
{
	uint64_t M = x->num[0], m = x->num[1], p = x->num[2];
	int rc;

	if (rx_x(x, 0))
		return EMIT(OP_ANY, 0, 0, 0);
	if (rx_x(x, 1))
		return (rc = EMIT(OP_GE, M, 0, 0)) ? rc : EMIT_UPPER(M + 1, 0, 0);
	if (rx_x(x, 2)) {
		if ((rc = EMIT(OP_GE, M, m, 0)))
			return rc;
		return M == 0 ? EMIT_UPPER(0, m + 1, 0) : EMIT_UPPER(M + 1, 0, 0);
	}
	if ((rc = range_emit(set, OP_GE, M, m, p, x->pre, x->pre_len, false, why)))
		return rc;
	if (M == 0)
		return m == 0 ? EMIT_UPPER(0, 0, p + 1) : EMIT_UPPER(0, m + 1, 0);
	return EMIT_UPPER(M + 1, 0, 0);
}

static int range_tilde(struct range_set *set, const struct range_xver *x, const char **why)
{
	uint64_t M = x->num[0], m = x->num[1], p = x->num[2];
	int rc;

	if (rx_x(x, 0))
		return EMIT(OP_ANY, 0, 0, 0);
	if (rx_x(x, 1))
		return (rc = EMIT(OP_GE, M, 0, 0)) ? rc : EMIT_UPPER(M + 1, 0, 0);
	if (rx_x(x, 2))
		return (rc = EMIT(OP_GE, M, m, 0)) ? rc : EMIT_UPPER(M, m + 1, 0);
	if ((rc = range_emit(set, OP_GE, M, m, p, x->pre, x->pre_len, false, why)))
		return rc;
	return EMIT_UPPER(M, m + 1, 0);
}

/* A plain comparator: operator (OP_ANY standing for none) and a partial
 * version, desugared like node-semver's replaceXRange. */
static int range_xrange(struct range_set *set, enum range_op op, const struct range_xver *x, const char **why)
{
	uint64_t M = x->num[0], m = x->num[1];
	bool xM = rx_x(x, 0), xm = xM || rx_x(x, 1), xp = xm || rx_x(x, 2);
	int rc;

	if (!xp) {
		if (!x->plain_prefix) {
			*why = "only 'v' may stand between an operator and a version";
			return -1;
		}
		return range_emit(set, op == OP_ANY ? OP_EQ : op, M, m, x->num[2], x->pre, x->pre_len,
		                  x->v_prefix, why);
	}
	if ((xM && !rx_x(x, 1)) || (rx_x(x, 1) && x->present[2] && !rx_x(x, 2))) {
		*why = "a number after an x in a range";
		return RANGE_NO_MATCH;
	}
	if (op == OP_EQ)
		op = OP_ANY;
	if (xM)
		return (op == OP_GT || op == OP_LT) ? EMIT_UPPER(0, 0, 0) : EMIT(OP_ANY, 0, 0, 0);
	if (op != OP_ANY) {
		if (xm)
			m = 0;
		if (op == OP_GT) {
			op = OP_GE;
			if (xm)
				M++;
			else
				m++;
		} else if (op == OP_LE) {
			op = OP_LT;
			if (xm)
				M++;
			else
				m++;
		}
		return op == OP_LT ? EMIT_UPPER(M, m, 0) : EMIT(op, M, m, 0);
	}
	if (xm)
		return (rc = EMIT(OP_GE, M, 0, 0)) ? rc : EMIT_UPPER(M + 1, 0, 0);
	return (rc = EMIT(OP_GE, M, m, 0)) ? rc : EMIT_UPPER(M, m + 1, 0);
}

/* "A - B" (node-semver's hyphenReplace without includePrerelease). */
static int range_hyphen(struct range_set *set, const char *a, size_t an, const char *b, size_t bn,
                        const char **why)
{
	struct range_xver f, t;
	int rc;

	if (range_parse_xver(&f, a, an, why) < 0 || range_parse_xver(&t, b, bn, why) < 0)
		return -1;
	/* node-semver copies a full version's own text after ">=" or "<=", so
	 * a prefix other than "v" makes an invalid comparator there. */
	if (rx_x(&f, 0))
		rc = 0;
	else if (rx_x(&f, 1))
		rc = EMIT(OP_GE, f.num[0], 0, 0);
	else if (rx_x(&f, 2))
		rc = EMIT(OP_GE, f.num[0], f.num[1], 0);
	else if (!f.plain_prefix)
		rc = (*why = "only 'v' may prefix a version in a hyphen range", -1);
	else
		rc = range_emit(set, OP_GE, f.num[0], f.num[1], f.num[2], f.pre, f.pre_len, f.v_prefix, why);
	if (rc)
		return rc;

	if (rx_x(&t, 0))
		rc = 0;
	else if (rx_x(&t, 1))
		rc = EMIT_UPPER(t.num[0] + 1, 0, 0);
	else if (rx_x(&t, 2))
		rc = EMIT_UPPER(t.num[0], t.num[1] + 1, 0);
	else if (t.pre)
		rc = range_emit(set, OP_LE, t.num[0], t.num[1], t.num[2], t.pre, t.pre_len, false, why);
	else if (!t.plain_prefix)
		rc = (*why = "only 'v' may prefix a version in a hyphen range", -1);
	else
		rc = EMIT(OP_LE, t.num[0], t.num[1], t.num[2]);
	if (rc)
		return rc;
	if (set->n == 0)
		return EMIT(OP_ANY, 0, 0, 0);
	return 0;
}

/* node-semver's last resort for a comparator no pattern took: it deletes
 * the first "*" (with a "<", ">" or "=" before it) and reads what is left as
 * a plain "<op>[v]1.2.3" comparator, or as "any" when nothing is left. */
static int range_star_fallback(struct range_set *set, const char *s, size_t n, const char **why)
{
	const char *star = memchr(s, '*', n);
	struct dbreg_semver v = DBREG_SEMVER_INIT;
	enum range_op op = OP_EQ;
	size_t k, from, i = 0;
	bool has_v;
	char *t;
	int rc;

	if (!star) {
		*why = "invalid comparator";
		return -1;
	}
	k = (size_t)(star - s);
	from = k;
	if (k >= 2 && (s[k - 2] == '<' || s[k - 2] == '>') && s[k - 1] == '=')
		from = k - 2;
	else if (k >= 1 && (s[k - 1] == '<' || s[k - 1] == '>' || s[k - 1] == '='))
		from = k - 1;
	if (!(t = malloc(n)))
		return -2;
	memcpy(t, s, from);
	memcpy(t + from, s + k + 1, n - k - 1);
	t[from + n - k - 1] = '\0';
	if (!t[0]) {
		free(t);
		return range_emit(set, OP_ANY, 0, 0, 0, NULL, 0, false, why);
	}
	if (t[i] == '<' || t[i] == '>') {
		op = t[i] == '<' ? OP_LT : OP_GT;
		if (t[++i] == '=') {
			op = op == OP_LT ? OP_LE : OP_GE;
			i++;
		}
	} else if (t[i] == '=') {
		i++;
	}
	has_v = t[i] == 'v';
	i += has_v;
	rc = dbreg_semver_parse(&v, t + i, why);
	if (rc == 0 && strlen(t + i) + has_v > SEMVER_MAX_LENGTH)
		rc = (*why = "version longer than 256 characters", -1);
	if (rc == 0)
		rc = range_emit(set, op, v.major, v.minor, v.patch, v.prerelease,
		                v.prerelease ? strlen(v.prerelease) : 0, has_v, why);
	else if (rc == -1)
		*why = "invalid comparator";
	dbreg_semver_dispose(&v);
	free(t);
	return rc;
}

/* One space-free comparator such as "^1.2", "~>3", ">=1.0.0-rc.1". */
static int range_comparator(struct range_set *set, const char *s, size_t n, const char **why)
{
	struct range_xver x;
	enum range_op op = OP_ANY;
	size_t i = 0;
	int kind = 0, rc;              /* kind: 0 plain, 1 caret, 2 tilde */

	if (s[0] == '~') {
		kind = 2;
		i = (n > 1 && s[1] == '>') ? 2 : 1;
	} else if (s[0] == '^') {
		kind = 1;
		i = 1;
	} else if (s[0] == '<' || s[0] == '>') {
		bool eq = n > 1 && s[1] == '=';
		op = s[0] == '<' ? (eq ? OP_LE : OP_LT) : (eq ? OP_GE : OP_GT);
		i = eq ? 2 : 1;
	} else if (s[0] == '=') {
		op = OP_EQ;
		i = 1;
	}
	if (i == n || range_parse_xver(&x, s + i, n - i, why) < 0)
		rc = RANGE_NO_MATCH;
	else if (kind == 1)
		rc = range_caret(set, &x, why);
	else if (kind == 2)
		rc = range_tilde(set, &x, why);
	else
		rc = range_xrange(set, op, &x, why);
	return rc == RANGE_NO_MATCH ? range_star_fallback(set, s, n, why) : rc;
}

static bool range_same(const struct range_cmp *a, const struct range_cmp *b)
{
	if (a->op != b->op)
		return false;
	if (a->op == OP_ANY)
		return true;
	/* node-semver keys comparators by their text, build excluded. */
	return a->v.major == b->v.major && a->v.minor == b->v.minor && a->v.patch == b->v.patch &&
	       strcmp(a->v.prerelease ? a->v.prerelease : "", b->v.prerelease ? b->v.prerelease : "") == 0;
}

static bool range_is_null(const struct range_cmp *c)
{
	return c->op == OP_LT && !c->v.major && !c->v.minor && !c->v.patch && c->v.prerelease &&
	       strcmp(c->v.prerelease, "0") == 0;
}

static bool range_set_is_null(const struct range_set *set)
{
	return set->n > 0 && range_is_null(&set->c[0]);
}

static bool range_set_is_any(const struct range_set *set)
{
	return set->n == 1 && set->c[0].op == OP_ANY;
}

/* node-semver's parseRange tail: a null-set comparator swallows the set,
 * "any" disappears next to anything else, duplicates keep the first. */
static void range_set_normalize(struct range_set *set)
{
	size_t w = 0;

	for (size_t k = 0; k < set->n; k++) {
		if (range_is_null(&set->c[k])) {
			for (size_t j = 0; j < set->n; j++)
				if (j != k)
					dbreg_semver_dispose(&set->c[j].v);
			set->c[0] = set->c[k];
			set->n = 1;
			return;
		}
	}
	bool others = false;
	for (size_t k = 0; k < set->n; k++)
		others = others || set->c[k].op != OP_ANY;
	for (size_t k = 0; k < set->n; k++) {
		bool drop = others && set->c[k].op == OP_ANY;
		for (size_t j = 0; j < w && !drop; j++)
			drop = range_same(&set->c[j], &set->c[k]);
		if (drop)
			dbreg_semver_dispose(&set->c[k].v);
		else
			set->c[w++] = set->c[k];
	}
	set->n = w;
}

/* Deletes every "+ident(.ident)*" in place (node-semver strips build
 * metadata from the whole alternative before reading it). */
static size_t range_strip_builds(char *t, size_t n)
{
	size_t r = 0, w = 0;
	while (r < n) {
		if (t[r] == '+' && r + 1 < n && sv_is_ident(t[r + 1])) {
			size_t j = r + 1;
			for (;;) {
				while (j < n && sv_is_ident(t[j]))
					j++;
				if (j + 1 < n && t[j] == '.' && sv_is_ident(t[j + 1]))
					j++;
				else
					break;
			}
			r = j;
			continue;
		}
		t[w++] = t[r++];
	}
	return w;
}

/* Skips a version's [v= ]* prefix and its space-free body; false when the
 * body is empty. */
static bool range_skip_word(const char *t, size_t n, size_t *i)
{
	size_t body;
	while (*i < n && (t[*i] == 'v' || t[*i] == '=' || t[*i] == ' '))
		(*i)++;
	body = *i;
	while (*i < n && t[*i] != ' ')
		(*i)++;
	return *i > body;
}

/* Whether t is "A - B" (node-semver's HYPHENRANGE); sets the spans of A and
 * B, each with its [v= ]* prefix. */
static bool range_match_hyphen(const char *t, size_t n, size_t *a, size_t *an, size_t *b, size_t *bn)
{
	size_t i = 0;
	/* node-semver's "safe" regular expressions allow one space where
	 * they say \s* or \s+; stripped builds can leave two. */
	if (i < n && t[i] == ' ')
		i++;
	*a = i;
	if (!range_skip_word(t, n, &i))
		return false;
	*an = i - *a;
	if (i + 2 >= n || t[i] != ' ' || t[i + 1] != '-' || t[i + 2] != ' ')
		return false;
	i += 3;
	*b = i;
	if (!range_skip_word(t, n, &i))
		return false;
	*bn = i - *b;
	if (i < n && t[i] == ' ')
		i++;
	return i == n;
}

/* node-semver's COMPARATORTRIM: drops the spaces between an operator and
 * the version after it ("> 1.2" -> ">1.2"), but not those inside a "v = "
 * prefix, so "< = 1" stays two words. Writes into out (n bytes). */
static size_t range_trim_operators(const char *t, size_t n, char *out)
{
	size_t p = 0, w = 0;
	while (p < n) {
		size_t q = p, g, sp, r;
		if (q < n && t[q] == ' ')
			q++;
		g = q;
		if (g < n && (t[g] == '<' || t[g] == '>'))
			g++;
		if (g < n && t[g] == '=')
			g++;
		sp = g;
		if (sp < n && t[sp] == ' ')
			sp++;
		r = sp;
		while (r < n && (t[r] == 'v' || t[r] == '=' || t[r] == ' '))
			r++;
		if (r < n && (sv_is_digit(t[r]) || t[r] == 'x' || t[r] == 'X' || t[r] == '*')) {
			/* A match: keep it minus the spaces after the operator,
			 * and go on after the version it ate. */
			memcpy(out + w, t + p, g - p);
			w += g - p;
			while (r < n && (sv_is_ident(t[r]) || t[r] == '.' || t[r] == '+' || t[r] == '*'))
				r++;
			memcpy(out + w, t + sp, r - sp);
			w += r - sp;
			p = r;
		} else {
			out[w++] = t[p++];
		}
	}
	return w;
}

/* TILDETRIM and CARETTRIM: "~ 1" and "~> 1" -> "~1"; "^ 1" -> "^1". */
static size_t range_trim_lone(char *t, size_t n, char lone)
{
	size_t r = 0, w = 0;
	while (r < n) {
		if (t[r] == lone) {
			size_t j = r + 1;
			if (lone == '~' && j < n && t[j] == '>')
				j++;
			if (j < n && t[j] == ' ') {
				t[w++] = lone;
				r = j + 1;
				continue;
			}
		}
		t[w++] = t[r++];
	}
	return w;
}

/* Parses one alternative (the text between "||") by node-semver's steps:
 * whitespace collapsed, builds stripped, "A - B", operator trimming, then
 * one comparator per word. */
static int range_parse_set(struct range_set *set, const char *s, size_t n, const char **why)
{
	char *t = malloc(n + 1), *u = malloc(n + 1);
	size_t m = 0, a, an, b, bn;
	int rc = 0;

	if (!t || !u) {
		rc = -2;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!sv_is_space(s[i]))
			t[m++] = s[i];
		else if (m > 0 && t[m - 1] != ' ')
			t[m++] = ' ';
	}
	if (m > 0 && t[m - 1] == ' ')
		m--;
	m = range_strip_builds(t, m);
	if (range_match_hyphen(t, m, &a, &an, &b, &bn)) {
		rc = range_hyphen(set, t + a, an, t + b, bn, why);
		goto out;
	}
	m = range_trim_operators(t, m, u);
	m = range_trim_lone(u, m, '~');
	m = range_trim_lone(u, m, '^');
	for (size_t i = 0; i < m && rc == 0;) {
		size_t start = i;
		while (i < m && u[i] != ' ')
			i++;
		if (i > start)
			rc = range_comparator(set, u + start, i - start, why);
		while (i < m && u[i] == ' ')
			i++;
	}
	if (rc == 0 && set->n == 0)
		rc = range_emit(set, OP_ANY, 0, 0, 0, NULL, 0, false, why);
out:
	free(t);
	free(u);
	return rc;
}

static int range_add_set(struct dbreg_range *r, struct range_set *set)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 2;
		struct range_set *grown = realloc(r->s, cap * sizeof(*grown));
		if (!grown)
			return -2;
		r->s = grown;
		r->cap = cap;
	}
	r->s[r->n++] = *set;
	*set = (struct range_set){ NULL, 0, 0 };
	return 0;
}

int dbreg_range_parse(struct dbreg_range **out, const char *text, const char **why)
{
	const char *dummy;
	struct dbreg_range *r;
	const char *p;
	int rc = 0;

	if (!why)
		why = &dummy;
	*out = NULL;
	if (!text) {
		*why = "no range";
		return -1;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -2;
	p = text;
	for (;;) {
		const char *bar = strstr(p, "||");
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		struct range_set set = { NULL, 0, 0 };
		rc = range_parse_set(&set, p, n, why);
		if (rc == 0)
			range_set_normalize(&set);
		if (rc == 0)
			rc = range_add_set(r, &set);
		range_set_dispose(&set);
		if (rc)
			break;
		if (!bar)
			break;
		p = bar + 2;
	}
	if (rc) {
		if (rc == -2)
			*why = "out of memory";
		dbreg_range_free(r);
		return rc;
	}
	/* node-semver's Range constructor: drop null sets unless all are,
	 * and a set that accepts anything makes the whole range "*". */
	if (r->n > 1) {
		size_t w = 0;
		for (size_t k = 0; k < r->n; k++)
			if (!range_set_is_null(&r->s[k]))
				w++;
		if (w == 0) {
			for (size_t k = 1; k < r->n; k++)
				range_set_dispose(&r->s[k]);
			r->n = 1;
		} else {
			w = 0;
			for (size_t k = 0; k < r->n; k++) {
				if (range_set_is_null(&r->s[k]))
					range_set_dispose(&r->s[k]);
				else
					r->s[w++] = r->s[k];
			}
			r->n = w;
		}
		for (size_t k = 0; r->n > 1 && k < r->n; k++) {
			if (range_set_is_any(&r->s[k])) {
				struct range_set any = r->s[k];
				for (size_t j = 0; j < r->n; j++)
					if (j != k)
						range_set_dispose(&r->s[j]);
				r->s[0] = any;
				r->n = 1;
			}
		}
	}
	*out = r;
	return 0;
}

static bool range_cmp_test(const struct range_cmp *c, const struct dbreg_semver *v)
{
	int d;
	if (c->op == OP_ANY)
		return true;
	d = dbreg_semver_compare(v, &c->v);
	switch (c->op) {
	case OP_EQ: return d == 0;
	case OP_LT: return d < 0;
	case OP_LE: return d <= 0;
	case OP_GT: return d > 0;
	case OP_GE: return d >= 0;
	default: return true;
	}
}

static bool range_set_test(const struct range_set *set, const struct dbreg_semver *v)
{
	for (size_t k = 0; k < set->n; k++)
		if (!range_cmp_test(&set->c[k], v))
			return false;
	if (!v->prerelease || !*v->prerelease)
		return true;
	/* A prerelease only passes when the set names a prerelease of the
	 * same major.minor.patch: ^1.2.3-pr.1 admits 1.2.3-pr.2, not 1.2.4-x. */
	for (size_t k = 0; k < set->n; k++) {
		const struct dbreg_semver *a = &set->c[k].v;
		if (set->c[k].op != OP_ANY && a->prerelease && *a->prerelease && a->major == v->major &&
		    a->minor == v->minor && a->patch == v->patch)
			return true;
	}
	return false;
}

bool dbreg_range_satisfies(const struct dbreg_range *r, const struct dbreg_semver *v)
{
	if (!r || !v)
		return false;
	for (size_t k = 0; k < r->n; k++)
		if (range_set_test(&r->s[k], v))
			return true;
	return false;
}

char *dbreg_range_format(const struct dbreg_range *r)
{
	static const char *const opstr[] = { "", "", "<", "<=", ">", ">=" };
	size_t cap = 64, len = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t k = 0; r && k < r->n; k++) {
		const struct range_set *set = &r->s[k];
		for (size_t j = 0; j <= set->n; j++) {
			char piece[SEMVER_MAX_LENGTH + 16];
			int pn;
			if (j == set->n) {
				if (k + 1 == r->n)
					break;
				pn = snprintf(piece, sizeof(piece), "||");
			} else if (set->c[j].op == OP_ANY) {
				continue;
			} else {
				size_t o = strlen(opstr[set->c[j].op]);
				memcpy(piece, opstr[set->c[j].op], o);
				pn = (int)o + dbreg_semver_format(&set->c[j].v, piece + o, sizeof(piece) - o);
				if (j + 1 < set->n && (size_t)pn + 1 < sizeof(piece))
					piece[pn++] = ' ';
			}
			if ((size_t)pn >= sizeof(piece))
				pn = (int)sizeof(piece) - 1;  /* cannot happen: versions are <= 256 */
			if (len + (size_t)pn + 2 > cap) {
				while (len + (size_t)pn + 2 > cap)
					cap *= 2;
				char *grown = realloc(out, cap);
				if (!grown) {
					free(out);
					return NULL;
				}
				out = grown;
			}
			memcpy(out + len, piece, (size_t)pn);
			len += (size_t)pn;
			out[len] = '\0';
		}
	}
	if (len == 0) {
		free(out);
		out = sv_strndup("*", 1);
	}
	return out;
}

int dbreg_version_compare(const char *a, const char *b)
{
	struct dbreg_semver x = DBREG_SEMVER_INIT, y = DBREG_SEMVER_INIT;
	const char *why;
	int c;
	if (dbreg_semver_parse(&x, a ? a : "", &why) == 0 && dbreg_semver_parse(&y, b ? b : "", &why) == 0)
		c = dbreg_semver_compare(&x, &y);
	else
		c = strcmp(a ? a : "", b ? b : "");
	dbreg_semver_dispose(&x);
	dbreg_semver_dispose(&y);
	return c < 0 ? -1 : c > 0;
}
