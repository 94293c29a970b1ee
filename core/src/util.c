/* Buffers, string copies, string vectors, file reads, edit distance and SHA-256 (libcrypto). */
#include "util.h"
#include "inputs.h"
#include "dbreg.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pg_query.h>
#include <sqlite3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>

static bool buf_reserve(struct dbreg_buf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = realloc(b->ptr, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->ptr = p;
	b->cap = cap;
	return true;
}

void dbreg_buf_append(struct dbreg_buf *b, const char *data, size_t len)
{
	if (!buf_reserve(b, len))
		return;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
}

void dbreg_buf_puts(struct dbreg_buf *b, const char *s)
{
	dbreg_buf_append(b, s, strlen(s));
}

void dbreg_buf_vprintf(struct dbreg_buf *b, const char *fmt, va_list ap)
{
	/* Formatted once into the room left when it fits (nearly always: the
	 * buffer grows by doubling), a second time only when it did not. */
	if (b->oom || (b->cap - b->len < 64 && !buf_reserve(b, 64)))
		return;
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->ptr[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!buf_reserve(b, (size_t)n)) {
			b->ptr[b->len] = '\0';
			return;
		}
		vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
}

void dbreg_buf_printf(struct dbreg_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dbreg_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* The length of the valid UTF-8 sequence at p (shortest form, no
 * surrogates, at most U+10FFFF), or 0. */
static size_t util_utf8_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3 : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
	if (n == 0)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	if (n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0)))
		return 0;
	if (n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)))
		return 0;
	return n;
}

bool dbreg_strv_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (v[i] && strcmp(v[i], s) == 0)
			return true;
	return false;
}

bool dbreg_walk_into(const char *path, const struct dbreg_walk_dir *up, struct dbreg_walk_dir *here)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return false;
	for (const struct dbreg_walk_dir *a = up; a; a = a->up)
		if (a->dev == st.st_dev && a->ino == st.st_ino)
			return false;
	*here = (struct dbreg_walk_dir){st.st_dev, st.st_ino, up};
	return true;
}

size_t dbreg_utf8_valid_prefix(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t n = (unsigned char)s[i] < 0x80 ? 1 : util_utf8_len(s + i);
		if (n == 0 || n > len - i)
			break;
		i += n;
	}
	return i;
}

void dbreg_buf_json_str(struct dbreg_buf *b, const char *s)
{
	if (!s) {
		dbreg_buf_puts(b, "null");
		return;
	}
	dbreg_buf_append(b, "\"", 1);
	const char *run = s;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		const char *esc = NULL;
		char tmp[8];
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(tmp, sizeof(tmp), "\\u%04x", c);
				esc = tmp;
			} else if (c >= 0x80) {
				/* Bytes that are not UTF-8 (an SQL file in Latin-1) never
				 * reach the document raw: each becomes U+FFFD. */
				size_t n = util_utf8_len(p);
				if (n == 0)
					esc = "\\ufffd";
				else
					p += n - 1;
			}
		}
		if (esc) {
			dbreg_buf_append(b, run, (size_t)(p - run));
			dbreg_buf_puts(b, esc);
			run = p + 1;
		}
	}
	dbreg_buf_puts(b, run);
	dbreg_buf_append(b, "\"", 1);
}

char *dbreg_buf_detach(struct dbreg_buf *b)
{
	if (b->oom) {
		dbreg_buf_dispose(b);
		return NULL;
	}
	char *s = b->ptr ? b->ptr : dbreg_strdup("");
	*b = (struct dbreg_buf)DBREG_BUF_INIT;
	return s;
}

void dbreg_buf_dispose(struct dbreg_buf *b)
{
	if (!b)
		return;
	free(b->ptr);
	*b = (struct dbreg_buf)DBREG_BUF_INIT;
}

bool dbreg_time_racy(long long t_ns, long long now_ns)
{
	/* A file system that keeps whole seconds stores a write at 10.9 s as
	 * 10 s: 100 ms after that time another write can still land on it. */
	long long tick = t_ns % 1000000000LL == 0 ? 2000000000LL : 100000000LL;
	return t_ns >= now_ns - tick;
}

char *dbreg_strdup(const char *s)
{
	return s ? dbreg_strndup(s, strlen(s)) : NULL;
}

char *dbreg_strndup(const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *dbreg_path_plain(const char *path)
{
	size_t n = strlen(path), k = 0;
	char *out = malloc(n + 2);
	if (!out)
		return NULL;
	if (path[0] == '/')
		out[k++] = '/';
	for (size_t i = 0; i < n;) {
		size_t len = strcspn(path + i, "/");
		/* "." and empty names (a doubled or trailing slash) say nothing;
		 * ".." stays, since a symbolic link before it decides where it goes. */
		if (len && !(len == 1 && path[i] == '.')) {
			if (k && out[k - 1] != '/')
				out[k++] = '/';
			memcpy(out + k, path + i, len);
			k += len;
		}
		i += len + (path[i + len] == '/');
	}
	if (!k && n)
		out[k++] = '.';
	out[k] = '\0';
	return out;
}

char *dbreg_vprintf(const char *fmt, va_list ap)
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_vprintf(&b, fmt, ap);
	return dbreg_buf_detach(&b);
}

char *dbreg_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = dbreg_vprintf(fmt, ap);
	va_end(ap);
	return s;
}

int dbreg_strv_push(char ***v, size_t *n, const char *s)
{
	char **p = realloc(*v, (*n + 1) * sizeof *p);
	if (!p)
		return DBREG_ENOMEM;
	*v = p;
	if (!(p[*n] = dbreg_strdup(s ? s : "")))
		return DBREG_ENOMEM;
	(*n)++;
	return 0;
}

void *dbreg_array_push(void *arrp, size_t *n, size_t size)
{
	/* memcpy, not a cast to void **: arrp points to a T *, not a void *. */
	void *old;
	memcpy(&old, arrp, sizeof old);
	char *p = realloc(old, (*n + 1) * size);
	if (!p)
		return NULL;
	memcpy(arrp, &p, sizeof p);
	char *el = p + *n * size;
	memset(el, 0, size);
	(*n)++;
	return el;
}

void dbreg_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

double dbreg_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int dbreg_read_file(const char *path, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	/* Only regular files, and not too large: a FIFO would block, a
	 * device (/dev/zero) never end. O_NONBLOCK so that opening a FIFO
	 * does not wait for a writer; checked on the descriptor, not the name. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		if (errno == ENOENT && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			errno = DBREG_EDANGLING;
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)DBREG_MAX_FILE) {
		int e = errno;
		close(fd);
		errno = !S_ISREG(st.st_mode) ? DBREG_ENOTREG : st.st_size > (off_t)DBREG_MAX_FILE ? DBREG_ETOOBIG : e;
		return -1;
	}
	/* Read straight into a block of the size fstat gave, with a byte to
	 * spare that shows the end (or that it grew: then by doubling). */
	struct dbreg_buf b = DBREG_BUF_INIT;
	int err = 0;
	size_t want = (size_t)st.st_size + 1;
	for (;;) {
		if (b.cap - b.len < 2 && !buf_reserve(&b, want)) {
			err = ENOMEM;
			break;
		}
		ssize_t n = read(fd, b.ptr + b.len, b.cap - b.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? EIO : 0;
			break;
		}
		b.len += (size_t)n;
		/* The size may grow while it is read: the limit holds anyway. */
		if (b.len > DBREG_MAX_FILE) {
			err = DBREG_ETOOBIG;
			break;
		}
		want = b.len;
	}
	close(fd);
	if (b.ptr)
		b.ptr[b.len] = '\0';
	if (b.oom)
		err = ENOMEM;
	if (err) {
		dbreg_buf_dispose(&b);
		errno = err;
		return -1;
	}
	*len = b.len;
	*out = dbreg_buf_detach(&b);
	if (!*out) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

size_t dbreg_lower_bound(size_t n, bool (*below)(const void *ctx, size_t i, const char *key), const void *ctx,
			 const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (below(ctx, mid, key))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t dbreg_edit_distance(const char *a, const char *b, size_t cap)
{
	size_t la = strlen(a), lb = strlen(b);
	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	if (lb > 255)
		return cap + 1;
	/* The bytes one has more of than the other bound the distance from
	 * below (each edit mends at most one on each side): most candidates
	 * of a "did you mean" fail this before the table below is filled. */
	int count[256] = {0};
	for (size_t i = 0; i < la; i++)
		count[(unsigned char)a[i]]++;
	for (size_t j = 0; j < lb; j++)
		count[(unsigned char)b[j]]--;
	size_t more = 0, fewer = 0;
	for (size_t i = 0; i < la; i++) {
		int *k = &count[(unsigned char)a[i]];
		if (*k > 0)
			more += (size_t)*k;
		*k = 0;
	}
	for (size_t j = 0; j < lb; j++) {
		int *k = &count[(unsigned char)b[j]];
		if (*k < 0)
			fewer += (size_t)-*k;
		*k = 0;
	}
	if ((more > fewer ? more : fewer) > cap)
		return cap + 1;
	size_t row[256];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0], best = i;
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t sub = prev + (a[i - 1] != b[j - 1]);
			size_t del = row[j] + 1, ins = row[j - 1] + 1;
			row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
			if (row[j] < best)
				best = row[j];
			prev = cur;
		}
		if (best > cap)
			return cap + 1;
	}
	return row[lb] > cap ? cap + 1 : row[lb];
}

const char *dbreg_nearest(const char *word, const char *const *candidates)
{
	size_t unbounded = SIZE_MAX;
	return dbreg_nearest_budget(word, candidates, &unbounded);
}

const char *dbreg_nearest_budget(const char *word, const char *const *candidates, size_t *budget)
{
	size_t limit = strlen(word) / 3;
	if (limit < 2)
		limit = 2;
	const char *best = NULL;
	size_t best_d = limit + 1;
	/* Only a candidate nearer than the best so far can change the answer:
	 * the cap shrinks with it, so most distances stop after a few rows. */
	for (size_t i = 0; candidates[i] && best_d > 0; i++) {
		if (*budget == 0)
			return NULL;   /* not the nearest, maybe: none rather than a worse one */
		--*budget;
		size_t d = dbreg_edit_distance(word, candidates[i], best_d - 1);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best;
}

/* SHA-256 fetched from its provider once: EVP_sha256() makes every digest
 * look it up again, which costs more than hashing a short key (a
 * validation hashes thousands). Kept for the life of the process. */
static EVP_MD *util_sha256;
static pthread_once_t util_sha256_once = PTHREAD_ONCE_INIT;

static void util_sha256_fetch(void)
{
	util_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *dbreg_sha256_md(void)
{
	pthread_once(&util_sha256_once, util_sha256_fetch);
	return util_sha256 ? util_sha256 : EVP_sha256();
}

void dbreg_sha256_format(const unsigned char md[32], char out[72])
{
	static const char hex[] = "0123456789abcdef";
	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[71] = '\0';
}

void dbreg_sha256_hex(const void *data, size_t len, char out[72])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, len, md, &mdlen, dbreg_sha256_md(), NULL) || mdlen != 32) {
		memcpy(out, "sha256:", 8);
		return;
	}
	dbreg_sha256_format(md, out);
}

size_t dbreg_sql_skip_blank(const char *sql, size_t p, size_t end)
{
	while (p < end) {
		char c = sql[p];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			p++;
		} else if (c == '-' && p + 1 < end && sql[p + 1] == '-') {
			while (p < end && sql[p] != '\n')
				p++;
		} else if (c == '/' && p + 1 < end && sql[p + 1] == '*') {
			const char *e = strstr(sql + p + 2, "*/");
			p = (e && (size_t)(e - sql) + 2 <= end) ? (size_t)(e - sql) + 2 : end;
		} else {
			break;
		}
	}
	return p;
}

void dbreg_buf_versions(struct dbreg_buf *b)
{
	dbreg_buf_printf(b, "dbreg %s sqlite %s pg_query %d\n", DBREG_VERSION_STRING, sqlite3_libversion(),
			 PG_VERSION_NUM);
}

const char *dbreg_version(void)
{
	return DBREG_VERSION_STRING;
}
