/* The content stamp (issue 17): a target whose driver can tell, without
 * connecting, that its database did not change since a run found nothing
 * to do there (driver v11 content_stamp: for a SQLite file its identity,
 * times and header, the file change counter among them) is a no-op without
 * being opened. The stamp is kept with the no-op memo (cache.c, the stamp
 * column of cache_noop), so it only ever vouches together with the memo's
 * build and registry checksum, and for a memo whose history copy was read
 * from the target.
 *
 * It is taken twice around the visit that verified the target: before the
 * verifying read, and after its connection closed (the file as that
 * connection left it); it is kept only when the two are equal, so a write
 * by anyone in between leaves none. It is dropped before a run writes to
 * the target (dbreg_stamp_forget), so a run that dies part way (a failed
 * migration, a crash) cannot leave a stamp for a file it changed, even on a
 * file system whose times are too coarse to tell. */
#include "cache.h"
#include "target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dbreg_stamp_take(const char *url, char out[DBREG_STAMP_SIZE])
{
	return dbreg_target_content_stamp(url, out, DBREG_STAMP_SIZE);
}

bool dbreg_stamp_unchanged(struct dbreg_state *st, const char *target, const char *url, const char *registry_checksum)
{
	char *kept = url ? dbreg_cache_noop_stamp(st, target, registry_checksum) : NULL, now[DBREG_STAMP_SIZE];
	bool same = kept && dbreg_stamp_take(url, now) == 0 && strcmp(now, kept) == 0;
	free(kept);
	return same;
}

int dbreg_stamp_store(struct dbreg_state *st, const char *target, const char *url, const char *registry_checksum,
		      const char *before)
{
	if (!st || !target || !url || !registry_checksum || !before)
		return DBREG_EUSAGE;
	char now[DBREG_STAMP_SIZE];
	if (!before[0] || dbreg_stamp_take(url, now) != 0 || strcmp(now, before) != 0)
		return 0;   /* none, or something wrote during the visit */
	return dbreg_cache_noop_set_stamp(st, target, registry_checksum, now);
}

int dbreg_stamp_forget(struct dbreg_state *st, const char *target, char *err, size_t errsize)
{
	int rc = dbreg_cache_noop_forget_stamp(st, target);
	if (rc != 0)
		snprintf(err, errsize, "state file: cannot drop the content stamp of %s before writing to it: %s", target,
			 rc == DBREG_ENOMEM ? "out of memory" : sqlite3_errmsg(dbreg_state_db(st)));
	return rc;
}
