/* The registry digests (regdigest.h). Every text goes in as its bytes and
 * a NUL: no text has one (C strings, PostgreSQL's text, SQLite's as the
 * drivers read it), so the bytes of a history are its one spelling. NULL
 * is empty text; duration_ms is in decimal. Three streams:
 *   K (keys):    per row package, migration, version, checksum
 *   A (applied): per row applied_at, duration_ms
 *   P (packages): per package, in byte order of names, name and version
 * and, with k = SHA-256(K) (32 bytes),
 *   history = SHA-256(A || k): every column the state file keeps of a
 *             target's history (state.c compares its copy by it)
 *   plan    = SHA-256(P || k): what a plan and the packages to record
 *             depend on (the no-op memo of cache.c, the plan cache of
 *             fleet.c)
 * K is digested once for both, and a row's texts are framed by NULs, not
 * by lengths written in decimal: what lets PostgreSQL compute them in half
 * the time (drivers/postgres/postgres.c writes the same bytes in SQL,
 * PG_DIGEST_SQL; tests/test_driver.c holds the two to the same result,
 * tests/test_regdigest.c these bytes to digests worked out by hand). A
 * state file's digests of the bytes before (lengths and colons) differ
 * from these: each such target is read in full once, its copy compared
 * row by row and its digest written anew (state.c). */
#include "regdigest.h"
#include "util.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The digests being computed: the streams of the header, in part[]. */
enum { REGDIGEST_K, REGDIGEST_A, REGDIGEST_P, REGDIGEST_PARTS };
struct dbreg_regdigest_part {
	EVP_MD_CTX *ctx;
	size_t len;
	unsigned char buf[8192];       /* gathered, hashed when full: thousands of short texts a row apart */
};
struct dbreg_regdigest {
	struct dbreg_regdigest_part part[REGDIGEST_PARTS];
	size_t n_rows, n_packages;
	bool failed;
};

static void regdigest_put(struct dbreg_regdigest *d, struct dbreg_regdigest_part *p, const void *data, size_t n)
{
	if (p->len + n > sizeof p->buf) {
		if (!EVP_DigestUpdate(p->ctx, p->buf, p->len))
			d->failed = true;
		p->len = 0;
		if (n > sizeof p->buf) {
			if (!EVP_DigestUpdate(p->ctx, data, n))
				d->failed = true;
			return;
		}
	}
	memcpy(p->buf + p->len, data, n);
	p->len += n;
}

/* A text and its NUL. */
static void regdigest_text(struct dbreg_regdigest *d, int part, const char *s)
{
	regdigest_put(d, &d->part[part], s ? s : "", (s ? strlen(s) : 0) + 1);
}

static void regdigest_free(struct dbreg_regdigest *d)
{
	for (int i = 0; i < REGDIGEST_PARTS; i++)
		EVP_MD_CTX_free(d->part[i].ctx);
	free(d);
}

int dbreg_regdigest_new(struct dbreg_regdigest **out)
{
	struct dbreg_regdigest *d = *out = calloc(1, sizeof *d);
	if (!d)
		return DBREG_ENOMEM;
	const EVP_MD *md = dbreg_sha256_md();
	bool ok = md != NULL;
	for (int i = 0; i < REGDIGEST_PARTS; i++) {
		struct dbreg_regdigest_part *p = &d->part[i];
		ok = (p->ctx = EVP_MD_CTX_new()) != NULL && ok && EVP_DigestInit_ex(p->ctx, md, NULL);
	}
	if (!ok) {
		regdigest_free(d);
		*out = NULL;
		return DBREG_ENOMEM;
	}
	return 0;
}

void dbreg_regdigest_row(struct dbreg_regdigest *d, const char *package, const char *migration,
			 const char *version, const char *checksum, const char *applied_at, long long duration_ms)
{
	char ms[24];
	snprintf(ms, sizeof ms, "%lld", duration_ms);
	regdigest_text(d, REGDIGEST_K, package);
	regdigest_text(d, REGDIGEST_K, migration);
	regdigest_text(d, REGDIGEST_K, version);
	regdigest_text(d, REGDIGEST_K, checksum);
	regdigest_text(d, REGDIGEST_A, applied_at);
	regdigest_text(d, REGDIGEST_A, ms);
	d->n_rows++;
}

void dbreg_regdigest_package(struct dbreg_regdigest *d, const char *name, const char *version)
{
	regdigest_text(d, REGDIGEST_P, name);
	regdigest_text(d, REGDIGEST_P, version);
	d->n_packages++;
}

/* The part's digest into md, after what it gathered. */
static void regdigest_final(struct dbreg_regdigest *d, int part, unsigned char md[32])
{
	struct dbreg_regdigest_part *p = &d->part[part];
	unsigned int n = 0;
	if (!EVP_DigestUpdate(p->ctx, p->buf, p->len) || !EVP_DigestFinal_ex(p->ctx, md, &n) || n != 32) {
		memset(md, 0, 32);
		d->failed = true;
	}
}

/* Part's digest, after what it gathered and then k, as "sha256:" and hex. */
static void regdigest_hex(struct dbreg_regdigest *d, int part, const unsigned char k[32], char out[72])
{
	unsigned char md[32];
	regdigest_put(d, &d->part[part], k, 32);
	regdigest_final(d, part, md);
	dbreg_sha256_format(md, out);
}

int dbreg_regdigest_finish(struct dbreg_regdigest *d, struct dbreg_registry_digest *out)
{
	memset(out, 0, sizeof *out);
	if (!d)
		return DBREG_ENOMEM;
	unsigned char k[32];
	regdigest_final(d, REGDIGEST_K, k);
	regdigest_hex(d, REGDIGEST_A, k, out->history);
	regdigest_hex(d, REGDIGEST_P, k, out->plan);
	out->n_rows = d->n_rows;
	out->n_packages = d->n_packages;
	bool failed = d->failed;
	regdigest_free(d);
	if (failed) {
		memset(out, 0, sizeof *out);
		return DBREG_ENOMEM;
	}
	return 0;
}

struct regdigest_pkg {
	const char *name, *version;
};

static int regdigest_pkg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct regdigest_pkg *)a)->name, ((const struct regdigest_pkg *)b)->name);
}

int dbreg_regdigest_of(struct dbreg_registry_digest *out, const struct dbreg_applied *rows, size_t n_rows,
		       char *const *names, char *const *versions, size_t n_pkgs)
{
	struct dbreg_regdigest *d;
	struct regdigest_pkg *pkgs = calloc(n_pkgs + 1, sizeof *pkgs);
	if (!pkgs || dbreg_regdigest_new(&d) != 0) {
		free(pkgs);
		return DBREG_ENOMEM;
	}
	for (size_t i = 0; i < n_rows; i++) {
		const struct dbreg_applied *r = &rows[i];
		dbreg_regdigest_row(d, r->package, r->migration, r->version, r->checksum, r->applied_at, r->duration_ms);
	}
	for (size_t i = 0; i < n_pkgs; i++)
		pkgs[i] = (struct regdigest_pkg){ names[i], versions[i] };
	qsort(pkgs, n_pkgs, sizeof *pkgs, regdigest_pkg_cmp);
	for (size_t i = 0; i < n_pkgs; i++)
		dbreg_regdigest_package(d, pkgs[i].name, pkgs[i].version);
	free(pkgs);
	return dbreg_regdigest_finish(d, out);
}
