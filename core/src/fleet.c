/* Fleets: one validated registry applied to many targets, `jobs` at a time
 * on the thread pool of workers.c, each target with its own connection,
 * lock and transaction. What the threads share sits behind one lock: the
 * state file (one SQLite handle), the plan cache (most tenants have the same
 * history, so a plan is built once per distinct history, not per target),
 * the registry's diagnostic list that the planner appends to, the counters
 * and the caller's callback. libpg_query keeps its memory per thread and
 * frees it when the thread exits. */
#include "cache.h"
#include "cancel.h"
#include "connect.h"
#include "diag.h"
#include "fprint.h"
#include "isolation.h"
#include "plan.h"
#include "regdigest.h"
#include "registry.h"
#include "state.h"
#include "target.h"
#include "util.h"
#include "workers.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- resolving [fleets.NAME] ------------------------------------------------ */

void dbreg_fleet_free(struct dbreg_fleet *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n_members; i++) {
		free(f->members[i].url);
		free(f->members[i].shown);
	}
	free(f->members);
	free(f->name);
	free(f);
}

/* Resolves one entry (a target name or URL) and appends it. `where` prefixes
 * messages about a line of urls_file. */
static int fleet_add(struct dbreg_fleet *f, size_t *cap, const struct dbreg_project *p, const char *entry,
		     const char *where, char *err, size_t errsize)
{
	char e[512];
	char *url = NULL;
	int rc = dbreg_project_target_url(&url, p, entry, e, sizeof e);
	if (rc != 0) {
		snprintf(err, errsize, "fleet \"%s\": %s%s", f->name, where, e);
		return rc;
	}
	char *shown = dbreg_url_redact(url);
	if (!shown) {
		free(url);
		return DBREG_ENOMEM;
	}
	enum dbreg_dialect dialect;
	/* Asking for the driver here, on the calling thread, also registers the
	 * built-in drivers before any worker starts. */
	if (dbreg_target_dialect(url, &dialect) != 0) {
		snprintf(err, errsize, "fleet \"%s\": %sno driver for target %s (use sqlite:PATH or postgres://...)",
			 f->name, where, shown);
		free(url);
		free(shown);
		return DBREG_EUSAGE;
	}
	for (size_t i = 0; i < f->n_members; i++) {
		if (strcmp(f->members[i].shown, shown) == 0) {
			/* Twice in one run would wait on its own lock or apply twice. */
			snprintf(err, errsize, "fleet \"%s\": %s%s is listed twice", f->name, where, shown);
			free(url);
			free(shown);
			return DBREG_EUSAGE;
		}
	}
	if (f->n_members == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		struct dbreg_fleet_member *g = realloc(f->members, nc * sizeof *g);
		if (!g) {
			free(url);
			free(shown);
			return DBREG_ENOMEM;
		}
		f->members = g;
		*cap = nc;
	}
	struct dbreg_fleet_member *m = &f->members[f->n_members++];
	*m = (struct dbreg_fleet_member){ .url = url, .shown = shown, .dialect = dialect };
	m->def = dbreg_project_target(p, entry);
	return 0;
}

/* Whether line starts with a URL scheme ("postgres:", "sqlite:"); else
 * it is a libpq keyword string (or begins with a ${NAME}). */
static bool fleet_has_scheme(const char *s)
{
	size_t n = 0;
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
	       (n > 0 && ((s[n] >= '0' && s[n] <= '9') || s[n] == '+' || s[n] == '-' || s[n] == '.')))
		n++;
	return n > 0 && s[n] == ':';
}

/* Where line's comment starts, NULL when it has none: a # at its start or
 * after a blank. In a keyword string the blank and the # are read as
 * libpq's conninfo parser reads them: a backslash escapes the next
 * character, and a value quoted right after its = ('sec #ret') ends at
 * the next unescaped quote, so neither an escaped blank nor a quoted
 * value starts a comment. */
static char *fleet_comment(char *line)
{
	bool keywords = !fleet_has_scheme(line), quoted = false, after_eq = false, blank = true;
	for (char *c = line; *c; c++) {
		if (keywords && *c == '\\' && c[1]) {
			c++;
			blank = after_eq = false;
			continue;
		}
		if (quoted) {
			quoted = *c != '\'';
			continue;
		}
		if (*c == '#' && blank)
			return c;
		bool is_blank = *c == ' ' || *c == '\t';
		if (keywords && *c == '\'' && after_eq)
			quoted = true;
		after_eq = *c == '=' || (after_eq && is_blank);
		blank = is_blank;
	}
	return NULL;
}

/* Each URL of urls_file, its comment (fleet_comment) cut; blank lines
 * skipped. */
static int fleet_add_file(struct dbreg_fleet *f, size_t *cap, const struct dbreg_project *p, const char *file,
			  char *err, size_t errsize)
{
	const char *dir = p->dir ? p->dir : ".";
	char *path = file[0] == '/' || strcmp(dir, ".") == 0 ? dbreg_strdup(file) : dbreg_printf("%s/%s", dir, file);
	char *text = NULL;
	size_t len = 0;
	if (!path)
		return DBREG_ENOMEM;
	if (dbreg_read_file(path, &text, &len) != 0) {
		snprintf(err, errsize, "fleet \"%s\": cannot read its urls_file %s: %s", f->name, path, strerror(errno));
		free(path);
		return DBREG_EUSAGE;
	}
	int rc = 0;
	unsigned line = 0;
	for (char *s = text; rc == 0 && s && *s;) {
		char *nl = strchr(s, '\n');
		if (nl)
			*nl = '\0';
		line++;
		while (*s == ' ' || *s == '\t')
			s++;
		char *h = fleet_comment(s);
		if (h)
			*h = '\0';
		size_t n = strlen(s);
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
			s[--n] = '\0';
		if (n > 0) {
			char where[600];
			snprintf(where, sizeof where, "%s:%u: ", path, line);
			rc = fleet_add(f, cap, p, s, where, err, errsize);
		}
		s = nl ? nl + 1 : NULL;
	}
	free(text);
	free(path);
	return rc;
}

int dbreg_fleet_open(struct dbreg_fleet **out, const struct dbreg_project *p, const char *name, char *err,
		     size_t errsize)
{
	*out = NULL;
	const struct dbreg_fleet_def *def = NULL;
	for (size_t i = 0; p && i < p->n_fleets; i++)
		if (strcmp(p->fleets[i].name, name) == 0)
			def = &p->fleets[i];
	if (!def) {
		struct dbreg_buf known = DBREG_BUF_INIT;
		for (size_t i = 0; p && i < p->n_fleets; i++)
			dbreg_buf_printf(&known, "%s%s", i ? ", " : "", p->fleets[i].name);
		snprintf(err, errsize, "unknown fleet \"%s\" (fleets in dbreg.toml: %s)", name,
			 known.ptr && known.len ? known.ptr : "none: add a [fleets.NAME] table");
		dbreg_buf_dispose(&known);
		return DBREG_EUSAGE;
	}
	struct dbreg_fleet *f = calloc(1, sizeof *f);
	if (!f || !(f->name = dbreg_strdup(name))) {
		free(f);
		return DBREG_ENOMEM;
	}
	size_t cap = 0;
	int rc = 0;
	for (size_t i = 0; i < def->n_targets && rc == 0; i++)
		rc = fleet_add(f, &cap, p, def->targets[i], "", err, errsize);
	if (rc == 0 && def->urls_file)
		rc = fleet_add_file(f, &cap, p, def->urls_file, err, errsize);
	if (rc == 0 && f->n_members == 0) {
		snprintf(err, errsize, "fleet \"%s\" has no targets", name);
		rc = DBREG_EUSAGE;
	}
	for (size_t c = 0; c < def->n_canary && rc == 0; c++) {
		char e[512], *url = NULL, *shown = NULL;
		rc = dbreg_project_target_url(&url, p, def->canary[c], e, sizeof e);
		if (rc == 0 && !(shown = dbreg_url_redact(url)))
			rc = DBREG_ENOMEM;
		bool found = false;
		for (size_t i = 0; rc == 0 && i < f->n_members; i++) {
			if (strcmp(f->members[i].shown, shown) == 0) {
				f->members[i].canary = true;
				found = true;
			}
		}
		if (rc == DBREG_EUSAGE)
			snprintf(err, errsize, "fleet \"%s\": canary: %s", name, e);
		else if (rc == 0 && !found) {
			snprintf(err, errsize, "fleet \"%s\": canary %s is not one of its targets", name, shown);
			rc = DBREG_EUSAGE;
		}
		free(url);
		free(shown);
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	f->jobs = def->jobs ? def->jobs : cpus > 0 ? (size_t)cpus : 1;
	if (rc != 0) {
		dbreg_fleet_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

/* ---- running a fleet -------------------------------------------------------- */

/* One entry of the plan cache: the plan for a dialect, a history and the
 * packages installed, known by their digest (regdigest.h's plan digest:
 * package, migration, version, checksum of every row, then the packages),
 * which a driver can compute without sending the rows. A plan depends on
 * the packages the registry declares only: it is built for the digest
 * without the others, and a target whose driver's digest counts them gets
 * an alias entry, so the next target like it is found by that digest. */
struct fleet_plan {
	enum dbreg_dialect dialect;
	char digest[72];
	struct fleet_plan *alias;      /* the entry whose plan this digest shares; NULL: its own */
	struct dbreg_plan *plan;       /* NULL when planning failed */
	bool stale;                    /* a package's installed version is not the planned one */
	int rc;
	char *error;                   /* why planning failed */
	struct fleet_plan *next;
};

struct fleet_run {
	struct dbreg_registry *reg;    /* only read, but for the planner's diagnostics (under lock) */
	const struct dbreg_fleet *f;
	const struct dbreg_fleet_opts *o;
	struct dbreg_fleet_outcome *out;
	const size_t *order;           /* the members of the current phase */
	pthread_mutex_t lock;          /* everything below, the state file and o->done */
	size_t failures, max_failures;
	long long run_id;              /* the state file's record; 0: none */
	struct fleet_plan *plans;
	int state_rc;                  /* the first failure writing the state file */
	bool batch_open;               /* a state file transaction holds the records since batch_t0 */
	double batch_t0;               /* dbreg_clock_ms */
	/* A run that may skip a target by its content stamp and keep one for
	 * each no-op it verifies (stamp.c): an apply of the whole registry
	 * (not a plan, a dry run, init or --to) with a state file. */
	bool stamps;
	char checksum[72];             /* the registry's, as the no-op memo keys it */
	char build[72];                /* this build's key, as the fingerprint memo keys it */
	bool marks_left;               /* the state file held marks of runs (runs_open) when this one began */
};

/* Targets finish faster than a file syncs: their records go to the state
 * file in one transaction per this many milliseconds (a crash loses at most
 * that much record; --resume then re-runs those targets, which are no-ops). */
#define FLEET_BATCH_MS 200

static long long fleet_ms(double since)
{
	return (long long)(dbreg_clock_ms() - since);
}

static void fleet_fail(struct dbreg_fleet_outcome *o, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fleet_fail(struct dbreg_fleet_outcome *o, int rc, const char *fmt, ...)
{
	o->rc = rc;
	o->status = DBREG_FLEET_FAILED;
	free(o->error);
	va_list ap;
	va_start(ap, fmt);
	o->error = dbreg_vprintf(fmt, ap);
	va_end(ap);
}

/* Whether a plan without steps would still write: a package whose
 * installed version (names, versions: what the target holds) is not the
 * one planned (a version bump without a migration, a package not
 * installed yet). */
static bool fleet_packages_stale(const struct dbreg_plan *plan, char *const *names, char *const *versions, size_t n)
{
	for (size_t i = 0; i < plan->n_pkgs; i++) {
		const struct dbreg_plan_pkg *p = &plan->pkgs[i];
		if (!p->in_scope)
			continue;
		const char *installed = NULL;
		for (size_t k = 0; k < n && !installed; k++)
			if (strcmp(names[k], p->pkg->name) == 0)
				installed = versions[k];
		if (!installed || strcmp(installed, p->version) != 0)
			return true;
	}
	return false;
}

/* The cached entry for a dialect and a plan digest; NULL when none. Called
 * under the lock. */
static struct fleet_plan *fleet_plan_find(struct fleet_run *r, enum dbreg_dialect dialect, const char *digest)
{
	struct fleet_plan *e = r->plans;
	while (e && !(e->dialect == dialect && strcmp(e->digest, digest) == 0))
		e = e->next;
	return e && e->alias ? e->alias : e;
}

/* A new entry for digest at the head of the cache (under the lock); NULL
 * when out of memory. */
static struct fleet_plan *fleet_plan_add(struct fleet_run *r, enum dbreg_dialect dialect, const char *digest)
{
	struct fleet_plan *e = calloc(1, sizeof *e);
	if (e) {
		e->dialect = dialect;
		memcpy(e->digest, digest, sizeof e->digest);
		e->next = r->plans;
		r->plans = e;
	}
	return e;
}

/* The entry's plan, or NULL with o failed as planning failed. */
static const struct fleet_plan *fleet_plan_usable(const struct fleet_plan *e, struct dbreg_fleet_outcome *o)
{
	if (!e) {
		fleet_fail(o, DBREG_ENOMEM, "out of memory");
		return NULL;
	}
	if (e->rc != 0) {
		fleet_fail(o, e->rc, "%s", e->error ? e->error : "the plan failed");
		return NULL;
	}
	return e;
}

/* The plan for a history and the installed packages, from the cache or
 * built (under the lock: the planner appends its findings to the shared
 * registry; they are moved to the outcome of the target that first needed
 * that plan). */
static const struct fleet_plan *fleet_plan_get(struct fleet_run *r, enum dbreg_dialect dialect,
					       const struct dbreg_applied *hist, size_t nh, char *const *names,
					       char *const *versions, size_t n_pkgs, struct dbreg_fleet_outcome *o,
					       char plan_digest[72])
{
	/* The digest with every package (a driver's) and with the declared
	 * ones only (the plan's); the same unless some are undeclared. */
	struct dbreg_registry_digest d, dd;
	char **dn = calloc(n_pkgs + 1, sizeof *dn), **dv = calloc(n_pkgs + 1, sizeof *dv);
	size_t nd = 0;
	for (size_t i = 0; dn && dv && i < n_pkgs; i++)
		if (dbreg_registry_find(r->reg, names[i])) {
			dn[nd] = names[i];
			dv[nd++] = versions[i];
		}
	int drc = !dn || !dv ? DBREG_ENOMEM : dbreg_regdigest_of(&d, hist, nh, names, versions, n_pkgs);
	if (drc == 0 && nd == n_pkgs)
		dd = d;
	else if (drc == 0)
		drc = dbreg_regdigest_of(&dd, hist, nh, dn, dv, nd);
	free(dn);
	free(dv);
	if (drc != 0)
		return fleet_plan_usable(NULL, o);
	memcpy(plan_digest, d.plan, 72);
	pthread_mutex_lock(&r->lock);
	struct fleet_plan *e = fleet_plan_find(r, dialect, dd.plan);
	if (e) {
		o->plan_shared = true;
	} else if ((e = fleet_plan_add(r, dialect, dd.plan)) != NULL) {
		struct dbreg_plan_opts po = {
			.dialect = dialect, .history = hist, .n_history = nh,
			.pins = r->o->pins, .n_pins = r->o->n_pins,
		};
		size_t from = r->reg->diags.len;
		e->rc = dbreg_plan_build(&e->plan, r->reg, &po);
		if (e->rc == DBREG_EINVALID) {
			const struct dbreg_diag *dg = NULL;
			for (size_t i = from; i < r->reg->diags.len && !dg; i++)
				if (r->reg->diags.items[i].severity == DBREG_SEV_ERROR)
					dg = &r->reg->diags.items[i];
			e->error = dbreg_printf("the plan has errors: %s%s%s", dg && dg->code ? dg->code : "",
						dg && dg->code ? " " : "", dg && dg->message ? dg->message : "");
		} else if (e->rc != 0) {
			e->error = dbreg_strdup(dbreg_registry_errmsg(r->reg));
		}
		if (dbreg_diag_list_move_from(&o->diags, &r->reg->diags, from) != 0)
			e->rc = e->rc ? e->rc : DBREG_ENOMEM;
		if (e->rc == 0)
			e->stale = fleet_packages_stale(e->plan, names, versions, n_pkgs);
	}
	struct fleet_plan *a;
	if (e && strcmp(d.plan, dd.plan) != 0 && !fleet_plan_find(r, dialect, d.plan) &&
	    (a = fleet_plan_add(r, dialect, d.plan)) != NULL)
		a->alias = e;
	pthread_mutex_unlock(&r->lock);
	return fleet_plan_usable(e, o);
}

/* Whether the run reads each target's history from the state file's copy
 * alone (an offline plan), never from the target. */
static bool fleet_reads_copy(const struct dbreg_fleet_opts *o)
{
	return o->action == DBREG_FLEET_PLAN && o->offline;
}

/* One target from connection to report. *hist gets the history last read
 * from it (for the state file's copy); *online whether it came from the
 * target (NULL and false when the copy is the target's history already).
 * seen: the state file holds rows of this target's history (its registry
 * tables most likely exist). noop gets the plan digest (regdigest.h, every
 * installed package) of a target found to need nothing from the whole
 * registry (r->stamps), for its no-op memo; "" otherwise. */
static void fleet_target(struct fleet_run *r, const struct dbreg_fleet_member *m, struct dbreg_fleet_outcome *o,
			 bool seen, struct dbreg_applied **hist, size_t *nh, bool *online, bool *confirmed, char noop[72],
			 struct dbreg_fprint *fpn)
{
	const struct dbreg_fleet_opts *opt = r->o;
	struct dbreg_conn *conn = NULL;
	char err[1024];
	char **names = NULL, **versions = NULL;
	size_t n_pkgs = 0;
	int rc;
	bool readonly = opt->action == DBREG_FLEET_PLAN || opt->dry_run;
	const struct fleet_plan *e = NULL;
	struct dbreg_registry_digest dg;
	char digest[72] = "";
	o->status = DBREG_FLEET_OK;
	*online = false;
	*confirmed = false;
	noop[0] = '\0';
	if (fleet_reads_copy(opt)) {
		pthread_mutex_lock(&r->lock);
		rc = opt->state ? dbreg_state_get_history(opt->state, m->shown, hist, nh) : 0;
		if (rc != 0)
			fleet_fail(o, rc, "%s", dbreg_state_errmsg(opt->state));
		pthread_mutex_unlock(&r->lock);
		if (rc != 0)
			return;
	} else {
		/* init waits for each target as for one (--wait). */
		unsigned attempts = 0;
		rc = dbreg_connect_waiting(&conn, m->url, readonly, opt->action == DBREG_FLEET_INIT ? opt->wait_s : 0,
					   opt->stop, NULL, &attempts, NULL, err, sizeof err);
		/* SIGINT during the wait: nothing was done there, so the target
		 * was not reached rather than failed. */
		if (rc == 1) {
			o->status = DBREG_FLEET_NOT_REACHED;
			free(o->error);
			o->error = dbreg_printf("interrupted (SIGINT) while waiting to connect (--wait): %s", err);
			return;
		}
		if (rc != 0) {
			/* err says "cannot connect to ..."; the target is named
			 * where the outcome is reported, as for any failure. */
			fleet_fail(o, rc, "%s%s", err, attempts > 1 ? " (after retrying, --wait)" : "");
			return;
		}
		/* A target whose history the state file's copy is (told by the
		 * digest the driver computes where the rows are) and whose history
		 * and packages were planned for already: the one row of digests is
		 * the whole read. */
		pthread_mutex_lock(&r->lock);
		bool planned = false;
		for (const struct fleet_plan *p = r->plans; p && !planned; p = p->next)
			planned = p->dialect == m->dialect;
		/* Asked only when a plan of the dialect is cached: the first
		 * targets read their rows in one query, the digests come from
		 * them. */
		struct dbreg_fprint kept;
		if (seen && planned && opt->state)
			dbreg_fprint_lookup(dbreg_state_db(opt->state), r->build, m->shown, &kept);
		pthread_mutex_unlock(&r->lock);
		int dr = seen && planned && opt->state ? dbreg_fprint_digest(conn, &kept, fpn, &dg) : 1;
		if (dr < 0) {
			fleet_fail(o, dr, "reading the registry (its digest): %s", dbreg_target_errmsg(conn));
			goto out;
		}
		if (dr == 0) {
			pthread_mutex_lock(&r->lock);
			if (dbreg_state_history_is(opt->state, m->shown, dg.history))
				e = fleet_plan_find(r, m->dialect, dg.plan);
			pthread_mutex_unlock(&r->lock);
			if (e) {
				o->installed = dg.n_rows;
				o->plan_shared = true;
				memcpy(digest, dg.plan, sizeof digest);
				*confirmed = true;   /* the copy is the target's history */
			}
		}
		/* Else the history and the installed packages in one read: for a
		 * target with nothing to do, the whole visit. */
		if (!e && (rc = dbreg_target_read(conn, seen, hist, nh, &names, &versions, &n_pkgs)) != 0) {
			fleet_fail(o, rc, "reading the registry (its history and packages): %s",
				   dbreg_target_errmsg(conn));
			goto out;
		}
		*online = !e;
	}
	if (!e)
		o->installed = *nh;
	e = e ? fleet_plan_usable(e, o) : fleet_plan_get(r, m->dialect, *hist, *nh, names, versions, n_pkgs, o, digest);
	if (!e)
		goto out;
	const struct dbreg_plan *plan = e->plan;
	o->pending = dbreg_plan_count(plan);
	if (opt->action == DBREG_FLEET_PLAN) {
		o->steps = calloc(o->pending + 1, sizeof *o->steps);
		for (size_t i = 0; o->steps && i < o->pending; i++) {
			const struct dbreg_step *s = dbreg_plan_step(plan, i);
			o->steps[i] = dbreg_printf("%s %s %s", s->up ? "up" : "down", s->package, s->migration);
		}
		goto out;
	}
	/* Nothing pending: the history read was the whole visit, no lock, no
	 * transaction, no write (unless a package version moved, or the
	 * row-level security is to be made again where it was undone by hand:
	 * every run does that, as dbreg_apply_run does for one target). */
	if (o->pending > 0 || e->stale || (!readonly && dbreg_rls_wanted(r->reg, m->dialect))) {
		/* No content stamp may outlive a run that writes (stamp.c): dropped,
		 * and the drop committed, before the first write. */
		if (!opt->dry_run && opt->state) {
			char ferr[1200] = "";
			pthread_mutex_lock(&r->lock);
			int fr = 0;
			if (r->batch_open) {
				r->batch_open = false;
				if ((fr = dbreg_state_batch_commit(opt->state)) != 0)
					snprintf(ferr, sizeof ferr, "%s", dbreg_state_errmsg(opt->state));
			}
			/* With it, in the same transaction, the mark that the copy of
			 * the target's history is about to be behind (dropped by the
			 * record of what ran): a target with steps to run only. */
			if (fr == 0 && o->pending > 0)
				fr = dbreg_state_batch_begin(opt->state);
			if (fr == 0)
				fr = dbreg_stamp_forget(opt->state, m->shown, ferr, sizeof ferr);
			if (fr == 0 && o->pending > 0 &&
			    (fr = dbreg_state_run_begin(opt->state, m->shown, opt->command ? opt->command : "apply")) == 0)
				fr = dbreg_state_batch_commit(opt->state);
			if (fr != 0 && !ferr[0])
				snprintf(ferr, sizeof ferr, "%s", dbreg_state_errmsg(opt->state));
			if (fr != 0)
				dbreg_state_batch_rollback(opt->state);
			if (fr != 0 && r->state_rc == 0)
				r->state_rc = fr;
			pthread_mutex_unlock(&r->lock);
			if (fr != 0) {
				fleet_fail(o, DBREG_EIO, "%s", ferr);
				goto out;
			}
		}
		struct dbreg_apply_opts ao = {
			.dry_run = opt->dry_run,
			.lock_timeout_s = opt->lock_timeout_s,
			.target_lock_timeout_ms = m->def ? m->def->lock_timeout_ms : 0,
			.target_statement_timeout_ms = m->def ? m->def->statement_timeout_ms : 0,
		};
		/* The plan may be shared with other targets: the tools it deletes
		 * are this target's (DBR103), said before they go. */
		if (dbreg_plan_tools_warn(plan, conn, &o->diags) == DBREG_ENOMEM) {
			fleet_fail(o, DBREG_ENOMEM, "out of memory");
			goto out;
		}
		struct dbreg_apply_result res;
		rc = dbreg_apply_run(&res, conn, plan, &ao);
		o->applied = res.applied;
		if (rc == 0) {
			/* Committed with the run; a failed one rolled them back. */
			o->repaired = res.repaired;
			o->n_repaired = res.n_repaired;
			res.repaired = NULL;
			res.n_repaired = 0;
		}
		if (rc != 0) {
			fleet_fail(o, rc, "%s", res.message ? res.message : res.errmsg);
			if (res.failed_migration) {
				/* The database's words as dbreg_target_errmsg gives them,
				 * its detail and hint included. */
				char why[2200];
				dbreg_target_error_line(why, sizeof why, res.message ? res.message : res.errmsg,
							res.sqlstate, res.detail, res.hint);
				char *line = dbreg_printf("migration %s of %s failed: %s", res.failed_migration,
							  res.failed_package, why);
				if (line) {
					free(o->error);
					o->error = line;
				}
				o->failed_package = dbreg_strdup(res.failed_package);
				o->failed_migration = dbreg_strdup(res.failed_migration);
			}
		}
		dbreg_apply_result_dispose(&res);
		/* The offline copy follows the target, success or not. */
		if (!opt->dry_run && (o->applied > 0 || rc != 0)) {
			struct dbreg_applied *h2 = NULL;
			size_t n2 = 0;
			if (dbreg_target_history_after(&conn, m->url, rc, &h2, &n2) == 0) {
				dbreg_applied_free(*hist, *nh);
				*hist = h2;
				*nh = n2;
				*online = true;
				o->installed = n2;
			} else {
				*online = false;   /* unknown: keep the state file's copy as it was, and its mark */
				*confirmed = false;
			}
		}
		if (rc != 0)
			goto out;
	} else if (r->stamps && o->diags.len == 0) {
		memcpy(noop, digest, 72);   /* nothing to run, nothing to record, nothing said */
	}
	if (opt->action == DBREG_FLEET_INIT && !opt->dry_run) {
		struct dbreg_verify_result v = DBREG_VERIFY_RESULT_INIT;
		rc = dbreg_verify_run(&v, conn, r->reg, err, sizeof err);
		if (rc == DBREG_EVERIFY && v.len > 0) {
			fleet_fail(o, rc, "verify: %zu difference(s) from the declared tables, the first: %s", v.len,
				   v.items[0].message);
		} else if (rc != 0) {
			fleet_fail(o, rc, "verify: %s", err);
		}
		dbreg_verify_result_dispose(&v);
	}
out:
	dbreg_strv_free(names, n_pkgs);
	dbreg_strv_free(versions, n_pkgs);
	dbreg_target_close(conn);
}

const char *dbreg_fleet_status_name(enum dbreg_fleet_status s)
{
	static const char *const names[] = {
		[DBREG_FLEET_NOT_REACHED] = "not_reached", [DBREG_FLEET_DONE_BEFORE] = "done_before",
		[DBREG_FLEET_OK] = "ok", [DBREG_FLEET_FAILED] = "failed",
	};
	return names[s];
}

/* Whether the run has stopped starting targets: the caller's stop flag
 * (the first SIGINT), an interrupt's cancel (the run is ending, whatever
 * the signal), or too many failures. Called under the lock. */
static bool fleet_stopped(const struct fleet_run *r)
{
	return (r->o->stop && *r->o->stop) || dbreg_cancel_ending() || (r->max_failures && r->failures >= r->max_failures);
}

static int fleet_item(void *arg, size_t worker, size_t item, struct dbreg_diag_list *unused)
{
	(void)worker;
	(void)unused;
	struct fleet_run *r = arg;
	size_t i = r->order[item];
	const struct dbreg_fleet_member *m = &r->f->members[i];
	struct dbreg_fleet_outcome *o = &r->out[i];
	struct dbreg_state *st = r->o->state;
	bool seen = false;
	pthread_mutex_lock(&r->lock);
	bool stopped = fleet_stopped(r);
	if (!stopped && r->o->started)
		r->o->started(r->o->done_arg, m);
	/* Whether the state file holds a history of the target: then its
	 * tables exist, and the read needs no question first. An offline plan
	 * reads the copy itself instead (fleet_target), and only once. */
	if (!stopped && st && !fleet_reads_copy(r->o))
		seen = dbreg_state_has_history(st, m->shown);
	pthread_mutex_unlock(&r->lock);
	if (stopped)
		return 0;   /* stays not_reached */

	double t0 = dbreg_clock_ms();
	struct dbreg_applied *hist = NULL;
	size_t nh = 0;
	bool online = false, confirmed = false;
	char before[DBREG_STAMP_SIZE] = "", noop[72] = "";
	struct dbreg_fprint fpn = {0};
	/* Its content stamp the one kept with its no-op memo: not opened. */
	if (r->stamps) {
		pthread_mutex_lock(&r->lock);
		o->unopened = dbreg_stamp_unchanged(st, m->shown, m->url, r->checksum);
		if (o->unopened) {
			o->status = DBREG_FLEET_OK;
			o->installed = dbreg_state_history_rows(st, m->shown);
		}
		pthread_mutex_unlock(&r->lock);
		if (!o->unopened)
			dbreg_stamp_take(m->url, before);
	}
	if (!o->unopened)
		fleet_target(r, m, o, seen, &hist, &nh, &online, &confirmed, noop, &fpn);
	o->ms = fleet_ms(t0);

	pthread_mutex_lock(&r->lock);
	if (o->status == DBREG_FLEET_FAILED)
		r->failures++;
	if (st && !r->o->dry_run && r->state_rc == 0) {
		int rc = 0;
		if (!r->batch_open && (rc = dbreg_state_batch_begin(st)) == 0) {
			r->batch_open = true;
			r->batch_t0 = dbreg_clock_ms();
		}
		/* Written only when it differs from the copy (told by a digest). */
		if (online && rc == 0)
			rc = dbreg_state_set_history(st, m->shown, hist, nh);
		/* A copy found to be the target's history drops a mark an earlier
		 * run left; asked only when the run began with marks left. */
		else if (confirmed && r->marks_left && rc == 0)
			rc = dbreg_state_run_end(st, m->shown);
		/* A fingerprint not kept costs the next visit its digest only. */
		if (rc == 0)
			dbreg_fprint_keep(dbreg_state_db(st), r->build, m->shown, &fpn);
		/* A no-op verified, its connection closed: the memo, and the stamp
		 * when nothing wrote since the one taken before (a memo that cannot
		 * be written costs the next run speed, not correctness). */
		if (rc == 0 && noop[0] && before[0] &&
		    dbreg_cache_noop_put(st, m->shown, m->dialect, r->checksum, noop) == 0)
			dbreg_stamp_store(st, m->shown, m->url, r->checksum, before);
		if (rc == 0 && r->run_id)
			rc = dbreg_state_fleet_target(st, r->run_id, m->shown, dbreg_fleet_status_name(o->status), o->rc,
						      o->applied, o->ms, o->error);
		if (rc == 0 && r->batch_open && fleet_ms(r->batch_t0) >= FLEET_BATCH_MS) {
			r->batch_open = false;
			rc = dbreg_state_batch_commit(st);
		}
		if (rc != 0)
			r->state_rc = rc;
	}
	if (r->o->done)
		r->o->done(r->o->done_arg, m, o);
	pthread_mutex_unlock(&r->lock);
	dbreg_applied_free(hist, nh);
	return 0;
}

void dbreg_fleet_outcomes_free(struct dbreg_fleet_outcome *o, size_t n)
{
	for (size_t i = 0; o && i < n; i++) {
		free(o[i].error);
		free(o[i].failed_package);
		free(o[i].failed_migration);
		for (size_t k = 0; o[i].steps && o[i].steps[k]; k++)
			free(o[i].steps[k]);
		free(o[i].steps);
		dbreg_strv_free(o[i].repaired, o[i].n_repaired);
		dbreg_diag_list_dispose(&o[i].diags);
	}
	free(o);
}

/* Runs the members order[0..n) on the pool. */
static int fleet_phase(struct fleet_run *r, const size_t *order, size_t n, size_t jobs)
{
	if (n == 0)
		return 0;
	struct dbreg_diag_list none = DBREG_DIAG_LIST_INIT;
	r->order = order;
	int rc = dbreg_workers_run(&none, n, jobs < n ? jobs : n, fleet_item, r);
	dbreg_diag_list_dispose(&none);
	return rc;
}

int dbreg_fleet_run(struct dbreg_fleet_outcome **out, struct dbreg_registry *reg, const struct dbreg_fleet *f,
		    const struct dbreg_fleet_opts *opts)
{
	*out = NULL;
	size_t n = f->n_members;
	struct dbreg_fleet_outcome *o = calloc(n + 1, sizeof *o);
	size_t *canaries = calloc(n + 1, sizeof *canaries), *rest = calloc(n + 1, sizeof *rest);
	const char **shown = calloc(n + 1, sizeof *shown), **status = calloc(n + 1, sizeof *status);
	if (!o || !canaries || !rest || !shown || !status) {
		free(o);
		free(canaries);
		free(rest);
		free(shown);
		free(status);
		return DBREG_ENOMEM;
	}
	struct fleet_run r = { .reg = reg, .f = f, .o = opts, .out = o };
	r.stamps = opts->state && opts->action == DBREG_FLEET_APPLY && !opts->dry_run && opts->n_pins == 0;
	if (r.stamps)
		dbreg_registry_checksum(reg, r.checksum);
	dbreg_cache_build_key(NULL, r.build);
	r.marks_left = opts->state && dbreg_state_runs_open(opts->state) > 0;
	r.max_failures = opts->max_failures ? opts->max_failures
			 : opts->keep_going || opts->action == DBREG_FLEET_PLAN ? 0 : 1;
	size_t nc = 0, nr = 0;
	for (size_t i = 0; i < n; i++) {
		o[i].status = opts->skip && opts->skip[i] ? DBREG_FLEET_DONE_BEFORE : DBREG_FLEET_NOT_REACHED;
		shown[i] = f->members[i].shown;
		status[i] = dbreg_fleet_status_name(o[i].status);
		if (o[i].status == DBREG_FLEET_DONE_BEFORE)
			continue;
		if (f->members[i].canary)
			canaries[nc++] = i;
		else
			rest[nr++] = i;
	}
	int rc = 0;
	bool record = opts->state && opts->action != DBREG_FLEET_PLAN && !opts->dry_run;
	if (record)
		rc = dbreg_state_fleet_begin(opts->state, f->name, opts->command ? opts->command : "apply", shown, status,
					     n, &r.run_id);
	if (rc != 0) {
		/* Nothing ran: a run that cannot be recorded does not start. */
		free(canaries);
		free(rest);
		free(shown);
		free(status);
		dbreg_fleet_outcomes_free(o, n);
		return rc;
	}
	size_t jobs = opts->jobs ? opts->jobs : f->jobs ? f->jobs : 1;
	pthread_mutex_init(&r.lock, NULL);
	rc = fleet_phase(&r, canaries, nc, jobs);
	/* The rest only when every canary succeeded. */
	bool canaries_ok = true;
	for (size_t i = 0; i < nc; i++)
		canaries_ok &= o[canaries[i]].status == DBREG_FLEET_OK;
	if (rc == 0 && canaries_ok)
		rc = fleet_phase(&r, rest, nr, jobs);
	pthread_mutex_destroy(&r.lock);
	if (r.batch_open) {
		int brc = dbreg_state_batch_commit(opts->state);
		if (brc != 0 && r.state_rc == 0)
			r.state_rc = brc;
	}
	/* A state file that refused a record would refuse this one too, after its own wait. */
	if (rc == 0 && record && r.state_rc == 0) {
		bool interrupted = opts->stop && *opts->stop, failed = false, all = true;
		for (size_t i = 0; i < n; i++) {
			failed |= o[i].status == DBREG_FLEET_FAILED;
			all &= o[i].status == DBREG_FLEET_OK || o[i].status == DBREG_FLEET_DONE_BEFORE;
		}
		rc = dbreg_state_fleet_end(opts->state, r.run_id,
					   interrupted ? "interrupted" : failed || !all ? "failed" : "ok", interrupted);
	}
	if (rc == 0 && r.state_rc)
		rc = r.state_rc;
	while (r.plans) {
		struct fleet_plan *e = r.plans;
		r.plans = e->next;
		dbreg_plan_free(e->plan);
		free(e->error);
		free(e);
	}
	free(canaries);
	free(rest);
	free(shown);
	free(status);
	*out = o;
	return rc;
}
