/* Semantic Versioning 2.0.0 versions and node-semver ranges (without loose
 * mode). A range is parsed once into sets of plain comparators, so checking
 * a version is a loop over integers and identifiers. */
#ifndef DBREG_SEMVER_H
#define DBREG_SEMVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A parsed version. Numeric parts are at most 2^53-1 (node-semver's limit),
 * the whole string at most 256 characters. */
struct dbreg_semver {
	uint64_t major, minor, patch;
	char *prerelease;              /* dot-joined identifiers, or NULL; owned */
	char *build;                   /* dot-joined identifiers, or NULL; owned */
};
#define DBREG_SEMVER_INIT { 0, 0, 0, NULL, NULL }

/* Parses a strict SemVer 2.0.0 string (no leading 'v', no whitespace).
 * Returns 0, -1 when invalid (with a short reason in why, when not NULL,
 * e.g. "leading zero in minor"), -2 on allocation failure. */
int dbreg_semver_parse(struct dbreg_semver *out, const char *text, const char **why);

/* Frees what a version owns and resets it to DBREG_SEMVER_INIT. NULL-safe. */
void dbreg_semver_dispose(struct dbreg_semver *v);

/* Precedence by SemVer 2.0.0 item 11: -1, 0 or 1. Build metadata ignored. */
int dbreg_semver_compare(const struct dbreg_semver *a, const struct dbreg_semver *b);

/* Writes the canonical text "1.2.3-pre+build" into buf (truncated to size).
 * Returns the length it needed, like snprintf. */
int dbreg_semver_format(const struct dbreg_semver *v, char *buf, size_t size);

struct dbreg_range;  /* opaque: alternatives of comparator sets */

/* Parses a node-semver range: ^ ~ ~> comparators, x-ranges, hyphen ranges,
 * space-joined sets and || alternatives. Returns 0 and sets *out (free with
 * dbreg_range_free), -1 when invalid (why set as above), -2 on allocation
 * failure. */
int dbreg_range_parse(struct dbreg_range **out, const char *text, const char **why);

void dbreg_range_free(struct dbreg_range *r);

/* Whether v satisfies r, with node-semver's default prerelease rule. */
bool dbreg_range_satisfies(const struct dbreg_range *r, const struct dbreg_semver *v);

/* The canonical form of node-semver's validRange ("^1.2.3" -> ">=1.2.3 <2.0.0-0",
 * "<0.0.0-0" when nothing can satisfy, "*" for any). Returns a malloc'd
 * string owned by the caller, NULL on allocation failure. */
char *dbreg_range_format(const struct dbreg_range *r);

#endif
