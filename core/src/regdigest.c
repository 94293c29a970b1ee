/* The registry digests (regdigest.h). Every text goes in as its length in
 * bytes (decimal), a colon and its bytes, so no two histories make the
 * same input; NULL is empty text. A row ends with a newline.
 *   history: per row package, migration, version, checksum, applied_at,
 *            then duration_ms in decimal: every column the state file
 *            keeps of a target's history (state.c compares its copy by it)
 *   plan:    per row package, migration, version, checksum; then "--\n";
 *            then per package its name and version: what a plan and the
 *            packages to record depend on (the no-op memo of cache.c, the
 *            plan cache of fleet.c)
 * drivers/postgres/postgres.c writes the same bytes in SQL (PG_DIGEST_SQL);
 * tests/test_driver.c holds the two to the same result. */
#include "regdigest.h"
#include "util.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* The digests being computed. */
struct dbreg_regdigest_part {
	EVP_MD_CTX *ctx;
	size_t len;
	unsigned char buf[8192];       /* gathered, hashed when full: thousands of short texts a row apart */
};
struct dbreg_regdigest {
	struct dbreg_regdigest_part history, plan;
	size_t n_rows, n_packages;
	bool packages;                 /* the plan digest's "--\n" was written */
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

/* n in decimal, then end (a colon, a newline) */
static void regdigest_number(struct dbreg_regdigest *d, struct dbreg_regdigest_part *p, long long n, char end)
{
	char s[24];
	size_t k = sizeof s;
	unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
	s[--k] = end;
	do {
		s[--k] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (n < 0)
		s[--k] = '-';
	regdigest_put(d, p, s + k, sizeof s - k);
}

static void regdigest_text(struct dbreg_regdigest *d, struct dbreg_regdigest_part *p, const char *s, size_t n)
{
	regdigest_number(d, p, (long long)n, ':');
	regdigest_put(d, p, s ? s : "", n);
}

int dbreg_regdigest_new(struct dbreg_regdigest **out)
{
	struct dbreg_regdigest *d = *out = calloc(1, sizeof *d);
	if (!d)
		return DBREG_ENOMEM;
	d->history.ctx = EVP_MD_CTX_new();
	d->plan.ctx = EVP_MD_CTX_new();
	const EVP_MD *md = dbreg_sha256_md();
	if (!d->history.ctx || !d->plan.ctx || !md || !EVP_DigestInit_ex(d->history.ctx, md, NULL) ||
	    !EVP_DigestInit_ex(d->plan.ctx, md, NULL)) {
		EVP_MD_CTX_free(d->history.ctx);
		EVP_MD_CTX_free(d->plan.ctx);
		free(d);
		*out = NULL;
		return DBREG_ENOMEM;
	}
	return 0;
}

void dbreg_regdigest_row(struct dbreg_regdigest *d, const char *package, const char *migration,
			 const char *version, const char *checksum, const char *applied_at, long long duration_ms)
{
	const char *key[4] = { package, migration, version, checksum };
	for (int i = 0; i < 4; i++) {
		size_t n = key[i] ? strlen(key[i]) : 0;
		regdigest_text(d, &d->history, key[i], n);
		regdigest_text(d, &d->plan, key[i], n);
	}
	regdigest_text(d, &d->history, applied_at, applied_at ? strlen(applied_at) : 0);
	regdigest_number(d, &d->history, duration_ms, '\n');
	regdigest_put(d, &d->plan, "\n", 1);
	d->n_rows++;
}

void dbreg_regdigest_package(struct dbreg_regdigest *d, const char *name, const char *version)
{
	if (!d->packages)
		regdigest_put(d, &d->plan, "--\n", 3);
	d->packages = true;
	regdigest_text(d, &d->plan, name, name ? strlen(name) : 0);
	regdigest_text(d, &d->plan, version, version ? strlen(version) : 0);
	regdigest_put(d, &d->plan, "\n", 1);
	d->n_packages++;
}

static void regdigest_hex(struct dbreg_regdigest *d, struct dbreg_regdigest_part *p, char out[72])
{
	unsigned char md[32];
	unsigned int n = 0;
	out[0] = '\0';
	if (!EVP_DigestUpdate(p->ctx, p->buf, p->len) || !EVP_DigestFinal_ex(p->ctx, md, &n) || n != 32) {
		d->failed = true;
		return;
	}
	dbreg_sha256_format(md, out);
}

int dbreg_regdigest_finish(struct dbreg_regdigest *d, struct dbreg_registry_digest *out)
{
	memset(out, 0, sizeof *out);
	if (!d)
		return DBREG_ENOMEM;
	if (!d->packages)
		regdigest_put(d, &d->plan, "--\n", 3);
	regdigest_hex(d, &d->history, out->history);
	regdigest_hex(d, &d->plan, out->plan);
	out->n_rows = d->n_rows;
	out->n_packages = d->n_packages;
	EVP_MD_CTX_free(d->history.ctx);
	EVP_MD_CTX_free(d->plan.ctx);
	bool failed = d->failed;
	free(d);
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
