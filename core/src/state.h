/* Internal functions of the state file (state.c) that the public API does
 * not carry: the recorded declared schema of a package version, for
 * verify (schema.h reads the text); and what the fleet engine writes (the
 * public reading side is dbreg_state_fleet_last in dbreg.h). None of these
 * is thread-safe: the caller serialises every call on one state handle. */
#ifndef DBREG_STATE_H
#define DBREG_STATE_H

#include "dbreg.h"

/* The declared schema recorded when `package` was registered at
 * `version`, in dbreg_schema_write's form: 0 and a malloc'd *text; 1 when
 * none was recorded; DBREG_EIO (message in the state) or DBREG_ENOMEM. */
int dbreg_state_package_schema(struct dbreg_state *st, const char *package, const char *version, char **text);

/* The path the state file was opened at, for messages; valid until
 * dbreg_state_close. */
const char *dbreg_state_path(const struct dbreg_state *st);

/* How many marks of runs (dbreg_state_run_begin) the state file holds, of
 * every target; 0 also when it cannot tell. */
size_t dbreg_state_runs_open(struct dbreg_state *st);

/* Whether the state file holds rows of target's history (its registry
 * tables most likely exist); false also when it cannot tell. */
bool dbreg_state_has_history(struct dbreg_state *st, const char *target);

/* How many rows the stored copy of target's history holds; 0 also when
 * it cannot tell. */
size_t dbreg_state_history_rows(struct dbreg_state *st, const char *target);

/* Whether the stored copy of target's history has this digest (the
 * history digest of regdigest.h): it is then the target's history as it
 * is now, and needs no rewrite. false also when it cannot tell. */
bool dbreg_state_history_is(struct dbreg_state *st, const char *target, const char *digest);

/* Starts the record of a fleet run: its row and one row per target with
 * its initial status ("not_reached", "done_before"), in one transaction;
 * a done_before target the previous run has "ok" keeps that run's row.
 * *run gets the run's id. Returns 0 or DBREG_EIO. */
int dbreg_state_fleet_begin(struct dbreg_state *st, const char *fleet, const char *command,
			    const char *const *targets, const char *const *status, size_t n, long long *run);

/* Records what one target of run did ("ok", "failed") as it finishes. */
int dbreg_state_fleet_target(struct dbreg_state *st, long long run, const char *target, const char *status,
			     int rc, size_t applied, long long ms, const char *error);

/* Closes the record: outcome "ok", "failed", "interrupted". */
int dbreg_state_fleet_end(struct dbreg_state *st, long long run, const char *outcome, bool interrupted);

/* A batch: the writers above (and dbreg_state_set_history) called between
 * these two become savepoints of one transaction, committed (one sync of
 * the file) by dbreg_state_batch_commit. The fleet engine records many
 * targets a second this way. Returns 0 or DBREG_EIO. */
int dbreg_state_batch_begin(struct dbreg_state *st);
int dbreg_state_batch_commit(struct dbreg_state *st);
/* Rolls an open batch back (none open: nothing). */
void dbreg_state_batch_rollback(struct dbreg_state *st);

/* Per-package check results (checkcache.c): every stored row to fn (which
 * returns nonzero to stop, returned as is), and one row written (inside a
 * batch, or alone). Return 0 or DBREG_EIO (message in st). */
int dbreg_state_check_results(struct dbreg_state *st,
			      int (*fn)(void *arg, const char *kind, const char *package, const char *key,
					const void *blob, size_t len),
			      void *arg);
int dbreg_state_check_result_put(struct dbreg_state *st, const char *kind, const char *package, const char *key,
				 const void *blob, size_t len);

#endif
