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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void regdigest_text(struct dbreg_regdigest *d, EVP_MD_CTX *ctx, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char len[32];
	int k = snprintf(len, sizeof len, "%zu:", n);
	if (!EVP_DigestUpdate(ctx, len, (size_t)k) || (n && !EVP_DigestUpdate(ctx, s, n)))
		d->failed = true;
}

int dbreg_regdigest_begin(struct dbreg_regdigest *d)
{
	memset(d, 0, sizeof *d);
	d->history = EVP_MD_CTX_new();
	d->plan = EVP_MD_CTX_new();
	const EVP_MD *md = dbreg_sha256_md();
	if (!d->history || !d->plan || !md || !EVP_DigestInit_ex(d->history, md, NULL) ||
	    !EVP_DigestInit_ex(d->plan, md, NULL)) {
		EVP_MD_CTX_free(d->history);
		EVP_MD_CTX_free(d->plan);
		memset(d, 0, sizeof *d);
		return DBREG_ENOMEM;
	}
	return 0;
}

void dbreg_regdigest_row(struct dbreg_regdigest *d, const char *package, const char *migration,
			 const char *version, const char *checksum, const char *applied_at, long long duration_ms)
{
	const char *key[4] = { package, migration, version, checksum };
	for (int i = 0; i < 4; i++) {
		regdigest_text(d, d->history, key[i]);
		regdigest_text(d, d->plan, key[i]);
	}
	regdigest_text(d, d->history, applied_at);
	char ms[32];
	int k = snprintf(ms, sizeof ms, "%lld\n", duration_ms);
	if (!EVP_DigestUpdate(d->history, ms, (size_t)k) || !EVP_DigestUpdate(d->plan, "\n", 1))
		d->failed = true;
	d->n_rows++;
}

void dbreg_regdigest_package(struct dbreg_regdigest *d, const char *name, const char *version)
{
	if (!d->packages && !EVP_DigestUpdate(d->plan, "--\n", 3))
		d->failed = true;
	d->packages = true;
	regdigest_text(d, d->plan, name);
	regdigest_text(d, d->plan, version);
	if (!EVP_DigestUpdate(d->plan, "\n", 1))
		d->failed = true;
	d->n_packages++;
}

static void regdigest_hex(EVP_MD_CTX *ctx, char out[72], bool *failed)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int n = 0;
	out[0] = '\0';
	if (!EVP_DigestFinal_ex(ctx, md, &n) || n != 32) {
		*failed = true;
		return;
	}
	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[71] = '\0';
}

int dbreg_regdigest_end(struct dbreg_regdigest *d, struct dbreg_registry_digest *out)
{
	memset(out, 0, sizeof *out);
	if (!d->packages && !EVP_DigestUpdate(d->plan, "--\n", 3))
		d->failed = true;
	regdigest_hex(d->history, out->history, &d->failed);
	regdigest_hex(d->plan, out->plan, &d->failed);
	out->n_rows = d->n_rows;
	out->n_packages = d->n_packages;
	EVP_MD_CTX_free(d->history);
	EVP_MD_CTX_free(d->plan);
	bool failed = d->failed;
	memset(d, 0, sizeof *d);
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
	struct dbreg_regdigest d;
	struct regdigest_pkg *pkgs = calloc(n_pkgs + 1, sizeof *pkgs);
	if (!pkgs || dbreg_regdigest_begin(&d) != 0) {
		free(pkgs);
		return DBREG_ENOMEM;
	}
	for (size_t i = 0; i < n_rows; i++) {
		const struct dbreg_applied *r = &rows[i];
		dbreg_regdigest_row(&d, r->package, r->migration, r->version, r->checksum, r->applied_at, r->duration_ms);
	}
	for (size_t i = 0; i < n_pkgs; i++)
		pkgs[i] = (struct regdigest_pkg){ names[i], versions[i] };
	qsort(pkgs, n_pkgs, sizeof *pkgs, regdigest_pkg_cmp);
	for (size_t i = 0; i < n_pkgs; i++)
		dbreg_regdigest_package(&d, pkgs[i].name, pkgs[i].version);
	free(pkgs);
	return dbreg_regdigest_end(&d, out);
}
