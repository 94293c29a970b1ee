/* Small helpers every module needs: a growable byte buffer, string copies,
 * whole-file reads, and the edit distance behind "did you mean" hints. */
#ifndef DBREG_UTIL_H
#define DBREG_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The helpers drivers use too (dbreg_strdup, dbreg_printf, string vectors,
 * dbreg_array_push, dbreg_sql_skip_blank) are declared for them there, and
 * dbreg_clock_ms in dbreg.h: public, one declaration each. */
#include "dbreg/driver.h"

struct dbreg_buf {
	char *ptr;                     /* NUL-terminated when len > 0 or after any append */
	size_t len, cap;
	bool oom;                      /* an append failed; the content is incomplete */
};
#define DBREG_BUF_INIT { NULL, 0, 0, false }

void dbreg_buf_append(struct dbreg_buf *b, const char *data, size_t len);
void dbreg_buf_puts(struct dbreg_buf *b, const char *s);
void dbreg_buf_printf(struct dbreg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends the line naming the versions of dbreg and of the libraries whose
 * verdicts it reports (SQLite, libpg_query): part of every cached result's key. */
void dbreg_buf_versions(struct dbreg_buf *b);
void dbreg_buf_vprintf(struct dbreg_buf *b, const char *fmt, va_list ap);
/* dbreg_printf's va_list form: a new string, NULL when out of memory. */
char *dbreg_vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Appends s as a JSON string literal with quotes; NULL appends null. */
void dbreg_buf_json_str(struct dbreg_buf *b, const char *s);
/* The length of the longest prefix of s[0..len) that is UTF-8 (shortest
 * forms, no surrogates, at most U+10FFFF): len when all of it is. s[len]
 * must be readable (a NUL ends the text of a file read whole). */
size_t dbreg_utf8_valid_prefix(const char *s, size_t len);

/* Whether s (not NULL) is one of the n strings of v (NULL ones skipped). */
bool dbreg_strv_has(char *const *v, size_t n, const char *s);

/* A folder on the way down a walk of package folders (registry.c's scan,
 * watch.c's watches): its device and inode, and the folder it is in. */
struct dbreg_walk_dir {
	dev_t dev;
	ino_t ino;
	const struct dbreg_walk_dir *up;
};
/* Whether path is a folder to walk into below up (NULL: the top), *here
 * filled: a symbolic link to a folder is one (a monorepo links package
 * folders in), unless it leads back to a folder on the way down (a loop). */
bool dbreg_walk_into(const char *path, const struct dbreg_walk_dir *up, struct dbreg_walk_dir *here);
/* Takes the buffer's string (never NULL unless oom: "" for empty); the
 * buffer is reset. Caller frees. */
char *dbreg_buf_detach(struct dbreg_buf *b);
void dbreg_buf_dispose(struct dbreg_buf *b);

char *dbreg_strndup(const char *s, size_t n);
/* A path spelled plainly, naming what it named: no "." names, no doubled
 * or trailing slash ("./tomls/" is "tomls", "./" is ".", "" stays ""); ".." stays.
 * Caller frees; NULL when out of memory. */
char *dbreg_path_plain(const char *path);




/* Reads a whole file. Returns 0 and a malloc'd, NUL-terminated *out (len
 * without the NUL), or -1 with errno set. */
int dbreg_read_file(const char *path, char **out, size_t *len);

/* The value of hex digit c (either case), or -1 when c is not one. Inline,
 * so a file built alone (bench-toml builds toml.c without util.c) has it. */
static inline int dbreg_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The first of n entries in ascending order that is not below key, or n:
 * below(ctx, i, key) says whether the i-th is (the one binary search of
 * every table kept sorted by name). */
size_t dbreg_lower_bound(size_t n, bool (*below)(const void *ctx, size_t i, const char *key), const void *ctx,
			 const char *key);

/* Levenshtein distance, capped at `cap` (returns cap+1 when larger). */
size_t dbreg_edit_distance(const char *a, const char *b, size_t cap);

/* The candidate nearest to `word` (NULL-terminated list), or NULL when none
 * is within a third of the word's length (at least 2 edits). */
const char *dbreg_nearest(const char *word, const char *const *candidates);
/* The same with a budget of comparisons, *budget lessened by the
 * candidates compared: NULL (no suggestion) once it is spent, so that many
 * unknown names among many candidates cost a bounded time, not their
 * product (audit aman 9). Deterministic, unlike a clock. */
const char *dbreg_nearest_budget(const char *word, const char *const *candidates, size_t *budget);


/* Writes "sha256:<64 hex>" of data into out (72 bytes). */
void dbreg_sha256_hex(const void *data, size_t len, char out[72]);
/* "sha256:" and the 64 hex digits of a SHA-256 digest md. */
void dbreg_sha256_format(const unsigned char md[32], char out[72]);
/* SHA-256 as fetched once for the process (for a digest in parts). */
const struct evp_md_st *dbreg_sha256_md(void);

#endif
