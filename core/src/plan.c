/* The planner: registry + a target's history -> ordered steps. Pending means
 * "(package, migration id) not in the history", a set membership test, never
 * a high-water mark, so a migration merged late still runs (out_of_order).
 * Every lookup goes through one small hash map, so planning is O(P + D + M). */
#include "plan.h"
#include "checkcache.h"
#include "isolation.h"
#include "diag.h"
#include "graph.h"
#include "registry.h"
#include "sqlcheck.h"
#include "util.h"
#include "dbreg/driver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a tiny open-addressing map: (a, b) string pair -> size_t ---------- */

struct plan_slot {
	const char *a, *b;             /* borrowed keys; a == NULL: empty slot */
	size_t value;
	uint64_t hash;                 /* of a and b: most slots a probe passes differ in it */
};

struct plan_map {
	struct plan_slot *slots;
	size_t cap;                    /* a power of two, at least twice the entries */
};

static uint64_t plan_hash(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL; /* separator: ("ab","c") != ("a","bc") */
	for (const unsigned char *p = (const unsigned char *)b; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

static int plan_map_init(struct plan_map *m, size_t entries)
{
	size_t cap = 16;
	while (cap < entries * 2 + 1)
		cap *= 2;
	m->slots = calloc(cap, sizeof(*m->slots));
	m->cap = cap;
	return m->slots ? 0 : DBREG_ENOMEM;
}

static struct plan_slot *plan_map_slot(const struct plan_map *m, const char *a, const char *b, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);
	for (;;) {
		struct plan_slot *s = &m->slots[i];
		if (s->a == NULL || (s->hash == h && strcmp(s->a, a) == 0 && strcmp(s->b, b) == 0))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

/* Inserts unless present; the first value wins. */
static void plan_map_put(struct plan_map *m, const char *a, const char *b, size_t value)
{
	uint64_t h = plan_hash(a, b);
	struct plan_slot *s = plan_map_slot(m, a, b, h);
	if (s->a == NULL) {
		s->a = a;
		s->b = b;
		s->value = value;
		s->hash = h;
	}
}

static bool plan_map_get(const struct plan_map *m, const char *a, const char *b, size_t *value)
{
	const struct plan_slot *s = plan_map_slot(m, a, b, plan_hash(a, b));
	if (s->a == NULL)
		return false;
	if (value)
		*value = s->value;
	return true;
}

/* ---- building ------------------------------------------------------------ */

static int plan_find_warnings(struct dbreg_plan *plan, struct dbreg_plan_memo *memo);

static const char *plan_dialect_name(enum dbreg_dialect d)
{
	return d == DBREG_DIALECT_POSTGRES ? "postgres" : "sqlite";
}

static int plan_push(struct dbreg_plan *plan, size_t *cap, const struct dbreg_plan_src *src, bool up)
{
	if (plan->n_steps == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		struct dbreg_step *s = realloc(plan->steps, ncap * sizeof(*s));
		if (!s)
			return DBREG_ENOMEM;
		plan->steps = s;
		struct dbreg_plan_src *r = realloc(plan->src, ncap * sizeof(*r));
		if (!r)
			return DBREG_ENOMEM;
		plan->src = r;
		*cap = ncap;
	}
	const struct dbreg_migration *m = src->mig;
	struct dbreg_step *st = &plan->steps[plan->n_steps];
	memset(st, 0, sizeof(*st));
	st->package = plan->pkgs[src->pkg].pkg->name;
	st->migration = m->id;
	st->version = m->version_text ? m->version_text : "";
	st->up = up;
	st->transaction = m->transaction;
	st->foreign_keys = m->foreign_keys;
	st->sql = src->body->text;
	st->file = src->body->file;
	dbreg_sql_sum(src->body, st->checksum);
	plan->src[plan->n_steps++] = *src;
	return 0;
}

/* The step just pushed, of a migration that stopped part way on the
 * target: how far it got, and for an up where it resumes. */
static void plan_partial(struct dbreg_plan *plan, const struct dbreg_plan_opts *opts, const struct plan_map *partial)
{
	struct dbreg_step *st = &plan->steps[plan->n_steps - 1];
	size_t p;
	if (!plan_map_get(partial, st->package, st->migration, &p))
		return;
	st->partial_done = opts->progress[p].done;
	st->partial_total = opts->progress[p].total;
	st->resume = st->up ? opts->progress[p].resume : 0;
}

static int plan_strv_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether package i of the plan has a migration applied once the plan has
 * run: an applied one that its pin does not take back (a pin below it that
 * plan, apply and init refuse counts as kept), or one the ups apply (not
 * above its target, in scope). A package that ends with none is not
 * installed. Applied and undone (redo_changed) is applied again if the ups
 * run it. */
static bool plan_ends_installed(const struct dbreg_plan *plan, size_t i, const struct dbreg_plan_opts *opts,
				const struct plan_map *applied, const struct plan_map *undone,
				const struct dbreg_semver *targets, const bool *pinned)
{
	const struct dbreg_package *pkg = plan->pkgs[i].pkg;
	bool ups = plan->pkgs[i].in_scope && (!opts->only_package || pinned[i]);
	for (size_t k = 0; pkg->name && k < pkg->n_migrations; k++) {
		const struct dbreg_migration *m = &pkg->migrations[k];
		if (!m->id)
			continue;
		bool above = m->version_ok && dbreg_semver_compare(&m->version, &targets[i]) > 0;
		if (plan_map_get(applied, pkg->name, m->id, NULL) && !plan_map_get(undone, pkg->name, m->id, NULL)) {
			if (!(above && pinned[i] && opts->downgrade && plan->pkgs[i].in_scope))
				return true;
		} else if (ups && !(above && pkg->version_ok)) {
			return true;
		}
	}
	return false;
}

/* A pin below what dependents accept would break them: name every one.
 * ends[i]: package i of the plan is installed once it has run
 * (plan_ends_installed); one that is not (never applied, or held at 0.0.0
 * too) needs nothing of pkg. */
static int plan_check_dependents(struct dbreg_registry *reg, const struct dbreg_plan *plan, const bool *ends,
				 const struct dbreg_package *pkg, const char *version_text, const struct dbreg_semver *v)
{
	const char **names = calloc(plan->n_pkgs + 1, sizeof(*names));
	if (!names)
		return DBREG_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < plan->n_pkgs; i++) {
		const struct dbreg_package *d = plan->pkgs[i].pkg;
		if (!ends[i])
			continue;
		for (size_t k = 0; d->name && k < d->n_deps; k++) {
			const struct dbreg_dependency *dep = &d->deps[k];
			if (dep->name && strcmp(dep->name, pkg->name) == 0 && dep->range &&
			    !dbreg_range_satisfies(dep->range, v)) {
				names[n++] = d->name;
				break;
			}
		}
	}
	int rc = 0;
	if (n > 0) {
		qsort(names, n, sizeof(*names), plan_strv_cmp);
		struct dbreg_buf b = DBREG_BUF_INIT;
		for (size_t i = 0; i < n; i++) {
			const struct dbreg_package *d = dbreg_registry_find(reg, names[i]);
			const char *range = "?";
			for (size_t k = 0; d && k < d->n_deps; k++)
				if (d->deps[k].name && strcmp(d->deps[k].name, pkg->name) == 0 && d->deps[k].range_text)
					range = d->deps[k].range_text;
			dbreg_buf_printf(&b, "%s%s (needs %s)", i ? ", " : "", names[i], range);
		}
		struct dbreg_diag_at at = { .file = pkg->file, .line = pkg->pos.line,
					    .column = pkg->pos.column, .package = pkg->name };
		rc = dbreg_diag_addf(&reg->diags, "DBR031", &at,
				     "cannot take %s to %s: %zu dependent%s would break: %s", pkg->name,
				     version_text, n, n == 1 ? "" : "s", b.ptr ? b.ptr : "");
		if (rc == 0)
			rc = dbreg_diag_hintf(&reg->diags, "downgrade or remove the dependents first");
		dbreg_buf_dispose(&b);
	}
	free(names);
	return rc;
}

/* A package planned alone (baseline PKG@VERSION) is put on top of what the
 * target has: each of its dependencies must be installed there in a
 * version its range accepts, as a whole plan would have made sure by
 * running theirs first. The installed version: the highest of its
 * applied migrations. */
static int plan_check_dependencies(struct dbreg_registry *reg, const struct dbreg_package *pkg,
				   const struct plan_map *applied)
{
	for (size_t k = 0; k < pkg->n_deps; k++) {
		const struct dbreg_dependency *dep = &pkg->deps[k];
		const struct dbreg_package *d = dep->name ? dbreg_registry_find(reg, dep->name) : NULL;
		if (!d || !dep->range)
			continue;   /* DBR030, DBR033: validation said it */
		const struct dbreg_semver *best = NULL;
		for (size_t m = 0; m < d->n_migrations; m++)
			if (d->migrations[m].id && d->migrations[m].version_ok &&
			    plan_map_get(applied, d->name, d->migrations[m].id, NULL) &&
			    (!best || dbreg_semver_compare(&d->migrations[m].version, best) > 0))
				best = &d->migrations[m].version;
		if (best && dbreg_range_satisfies(dep->range, best))
			continue;
		struct dbreg_diag_at at = { .file = pkg->file, .line = dep->pos.line, .column = dep->pos.column,
					    .package = pkg->name };
		if (dbreg_diag_addf(&reg->diags, "DBR031", &at,
				    "%s depends on %s %s, which the target does not have%s", pkg->name, d->name,
				    dep->range_text ? dep->range_text : "", best ? " in such a version" : " installed") ||
		    dbreg_diag_hintf(&reg->diags, "apply %s first, or baseline it if the database holds its tables", d->name))
			return DBREG_ENOMEM;
	}
	return 0;
}

/* A pin that would take a package the other way (plan_opts.downgrade):
 * below what is installed for plan, apply and init, above it for down.
 * m is the migration it would revert or apply. DBREG_EUSAGE. */
static int plan_pin_refused(struct dbreg_registry *reg, const char *pkg, const char *version,
			    const struct dbreg_migration *m, bool below)
{
	char cmd[600];
	if (below)
		snprintf(cmd, sizeof cmd, "dbreg down %s --to %s", pkg, version);
	else
		snprintf(cmd, sizeof cmd, "dbreg apply --to %s@%s", pkg, version);
	return dbreg_registry_fail(reg, DBREG_EUSAGE,
				   "--to %s@%s is %s what the target has installed (migration %s, version %s, is %s): "
				   "%s; to take the package %s, run: %s",
				   pkg, version, below ? "below" : "above", m->id, m->version_text,
				   below ? "applied" : "not applied",
				   below ? "plan, apply and init never revert a migration" : "down never applies a migration",
				   below ? "back" : "up", cmd);
}

/* Resolves --to pins into per-package target versions. Bad pins are usage
 * errors (exit 2), not findings about the manifests. */
static int plan_pins(struct dbreg_plan *plan, struct dbreg_registry *reg, const struct plan_map *pkgmap,
		     const struct dbreg_plan_opts *opts, struct dbreg_semver *targets, bool *pinned)
{
	for (size_t i = 0; i < opts->n_pins; i++) {
		const struct dbreg_pin *pin = &opts->pins[i];
		size_t at;
		if (!pin->package || !plan_map_get(pkgmap, pin->package, "", &at))
			return dbreg_registry_fail(reg, DBREG_EUSAGE, "--to names package \"%s\", which is not registered",
						   pin->package ? pin->package : "");
		const struct dbreg_package *pkg = plan->pkgs[at].pkg;
		struct dbreg_semver v = DBREG_SEMVER_INIT;
		const char *why = NULL;
		int prc = dbreg_semver_parse(&v, pin->version ? pin->version : "", &why);
		if (prc == -2)
			return DBREG_ENOMEM;
		if (prc != 0)
			return dbreg_registry_fail(reg, DBREG_EUSAGE, "--to %s@%s: not a semver version (%s)",
						   pin->package, pin->version ? pin->version : "", why ? why : "invalid");
		if (pkg->version_ok && dbreg_semver_compare(&v, &pkg->version) > 0) {
			dbreg_semver_dispose(&v);
			return dbreg_registry_fail(reg, DBREG_EUSAGE,
						   "--to %s@%s: above the declared version %s", pin->package,
						   pin->version, pkg->version_text);
		}
		if (pinned[at]) {
			dbreg_semver_dispose(&v);
			return dbreg_registry_fail(reg, DBREG_EUSAGE, "--to %s given twice", pin->package);
		}
		char *copy = dbreg_strdup(pin->version);
		if (!copy) {
			dbreg_semver_dispose(&v);
			return DBREG_ENOMEM;
		}
		plan->owned[plan->n_owned++] = copy;
		dbreg_semver_dispose(&targets[at]);
		targets[at] = v;
		pinned[at] = true;
		plan->pkgs[at].version = copy;
	}
	return 0;
}

/* The down body of an applied migration: watching, the one of the registry
 * it was applied from (the file may have changed both), else the current. */
static const struct dbreg_sql *plan_down_body(const struct dbreg_plan_opts *opts, const struct dbreg_package *pkg,
					      const struct dbreg_migration *m)
{
	const struct dbreg_package *old = opts->previous ? dbreg_registry_find(opts->previous, pkg->name) : NULL;
	for (size_t k = 0; old && k < old->n_migrations; k++) {
		if (old->migrations[k].id && strcmp(old->migrations[k].id, m->id) == 0) {
			const struct dbreg_sql *body = dbreg_migration_body(&old->migrations[k], opts->dialect, false);
			if (body)
				return body;
		}
	}
	return dbreg_migration_body(m, opts->dialect, false);
}

/* Watching: the migration of the registry the target was applied from, by
 * package and id; NULL when there is none or no previous registry. */
static const struct dbreg_migration *plan_previous(const struct dbreg_plan_opts *opts, const char *package,
						   const char *id)
{
	const struct dbreg_package *old = opts->previous ? dbreg_registry_find(opts->previous, package) : NULL;
	for (size_t k = 0; old && k < old->n_migrations; k++)
		if (old->migrations[k].id && strcmp(old->migrations[k].id, id) == 0)
			return &old->migrations[k];
	return NULL;
}

/* Steps down every applied migration (reset), or those from the oldest
 * changed one on of each package (redo_changed), newest first and packages
 * in reverse topological order, marking each in `undone` so the ups run it
 * again. A migration without a down body is DBR042: nothing runs. */
static int plan_undo(struct dbreg_plan *plan, struct dbreg_registry *reg, const struct dbreg_plan_opts *opts,
		     const struct plan_map *applied, const struct plan_map *partial, struct plan_map *undone,
		     const size_t *changed, const bool *removed,
		     const size_t *removed_in,
		     size_t *cap)
{
	for (size_t ii = plan->n_pkgs; ii-- > 0;) {
		const struct dbreg_package *pkg = plan->pkgs[ii].pkg;
		size_t from = opts->reset ? 0 : changed[ii] ? changed[ii] - 1 : pkg->n_migrations;
		if (!pkg->name)
			continue;
		/* Watching, a migration removed from the manifest after it was
		 * applied runs the down it had, newest first. */
		for (size_t h = opts->n_history; removed_in[ii] && h-- > 0;) {
			const struct dbreg_applied *row = &opts->history[h];
			if (!removed[h] || strcmp(row->package, pkg->name) != 0)
				continue;
			const struct dbreg_migration *m = plan_previous(opts, row->package, row->migration);
			struct dbreg_plan_src src = { m, dbreg_migration_body(m, opts->dialect, false), ii };
			if (plan_push(plan, cap, &src, false))
				return DBREG_ENOMEM;
			plan->pkgs[ii].n_steps++;
		}
		for (size_t k = pkg->n_migrations; k-- > from;) {
			const struct dbreg_migration *m = &pkg->migrations[k];
			/* A migration that stopped part way is undone too: what ran of
			 * it stays otherwise, and its up would resume on what the
			 * other downs left (the down is written to tolerate a part). */
			if (!m->id || (!plan_map_get(applied, pkg->name, m->id, NULL) &&
				       !plan_map_get(partial, pkg->name, m->id, NULL)))
				continue;
			const struct dbreg_sql *body = plan_down_body(opts, pkg, m);
			if (!body) {
				struct dbreg_diag_at at = { .file = pkg->file, .line = m->pos.line,
							    .column = m->pos.column, .package = pkg->name,
							    .migration = m->id };
				if (dbreg_diag_addf(&reg->diags, "DBR042", &at,
						    "cannot %s migration %s of %s: it has no down body for %s",
						    opts->reset ? "reset" : "re-run the changed", m->id, pkg->name,
						    plan_dialect_name(opts->dialect)) ||
				    dbreg_diag_hintf(&reg->diags, "add \"down\" or \"down_%s\" to migration %s",
						     plan_dialect_name(opts->dialect), m->id))
					return DBREG_ENOMEM;
				continue;
			}
			struct dbreg_plan_src src = { m, body, ii };
			if (plan_push(plan, cap, &src, false))
				return DBREG_ENOMEM;
			plan_partial(plan, opts, partial);
			plan_map_put(undone, pkg->name, m->id, k);
			plan->pkgs[ii].n_steps++;
		}
	}
	return 0;
}

int dbreg_plan_build(struct dbreg_plan **out, struct dbreg_registry *reg, const struct dbreg_plan_opts *opts)
{
	*out = NULL;
	struct dbreg_plan_opts none = { 0 };
	if (opts == NULL)
		opts = &none;

	size_t errors_before = reg->diags.errors, first_diag = reg->diags.len;
	/* What validate rejects never reaches a database: only status's
	 * counting (keep_invalid) plans from manifests with errors. */
	if (errors_before > 0 && !opts->keep_invalid)
		return dbreg_registry_fail(reg, DBREG_EINVALID, "the manifests have %zu error%s: nothing is planned from them",
					   errors_before, errors_before == 1 ? "" : "s");
	size_t *order = NULL;
	bool keep = false;             /* hand the plan out (rc 0, or DBREG_EINVALID with keep_invalid) */
	int rc = dbreg_graph_order(reg, &order);
	if (rc != 0)
		return rc;

	struct dbreg_plan *plan = calloc(1, sizeof(*plan));
	struct plan_map pkgmap = { 0 }, applied = { 0 }, known = { 0 }, undone = { 0 }, partial = { 0 };
	struct dbreg_semver *targets = NULL;
	bool *pinned = NULL, *ends = NULL;
	size_t *last_applied = NULL;   /* per package: 1 + index of the newest applied migration */
	size_t *changed = NULL;        /* per package: 1 + index of the oldest applied migration whose body changed (redo_changed) */
	bool *removed = NULL;          /* per history row: taken out of its manifest, undone from `previous` (redo_changed) */
	size_t *removed_in = NULL;     /* per package: how many of its rows are (the others skip the history) */
	size_t cap = 0, n_migs = 0;
	size_t np = reg->n_packages;
	if (!plan)
		goto oom;
	plan->reg = reg;
	plan->dialect = opts->dialect;
	plan->pkgs = calloc(np + 1, sizeof(*plan->pkgs));
	plan->owned = calloc(opts->n_pins + 1, sizeof(*plan->owned));
	targets = calloc(np + 1, sizeof(*targets));
	pinned = calloc(np + 1, sizeof(*pinned));
	ends = calloc(np + 1, sizeof(*ends));
	last_applied = calloc(np + 1, sizeof(*last_applied));
	changed = calloc(np + 1, sizeof(*changed));
	removed = calloc(opts->n_history + 1, sizeof(*removed));
	removed_in = calloc(np + 1, sizeof(*removed_in));
	if (!plan->pkgs || !plan->owned || !targets || !pinned || !ends || !last_applied || !changed || !removed || !removed_in)
		goto oom;
	for (size_t i = 0; i < np; i++)
		n_migs += reg->packages[order[i]]->n_migrations;
	if (plan_map_init(&pkgmap, np) || plan_map_init(&applied, opts->n_history) ||
	    plan_map_init(&known, n_migs) || plan_map_init(&undone, opts->n_history + opts->n_progress) ||
	    plan_map_init(&partial, opts->n_progress))
		goto oom;
	for (size_t p = 0; p < opts->n_progress; p++)
		plan_map_put(&partial, opts->progress[p].package, opts->progress[p].migration, p);

	for (size_t i = 0; i < np; i++) {
		const struct dbreg_package *pkg = reg->packages[order[i]];
		plan->pkgs[i].pkg = pkg;
		plan->pkgs[i].version = pkg->version_text;
		plan->pkgs[i].in_scope = !opts->only_package || (pkg->name && strcmp(pkg->name, opts->only_package) == 0);
		if (pkg->version_ok) {
			/* A copy of the declared version: pins replace it. */
			const char *why;
			if (dbreg_semver_parse(&targets[i], pkg->version_text, &why) == -2)
				goto oom;
		}
		if (pkg->name)
			plan_map_put(&pkgmap, pkg->name, "", i);
		for (size_t k = 0; k < pkg->n_migrations; k++)
			if (pkg->name && pkg->migrations[k].id)
				plan_map_put(&known, pkg->name, pkg->migrations[k].id, k);
	}
	plan->n_pkgs = np;

	rc = plan_pins(plan, reg, &pkgmap, opts, targets, pinned);
	if (rc != 0)
		goto out;

	/* The history: unknown migrations and checksum drift. An applied
	 * migration that no manifest knows is an error, not a warning: the
	 * target holds a change that nothing here can reproduce, check or undo
	 * (a removed package, a renamed id, a manifest from another branch), and
	 * planning on top of it would hide that until something breaks. DBR045
	 * fits: what was applied no longer matches the manifests. */
	for (size_t h = 0; h < opts->n_history; h++) {
		const struct dbreg_applied *row = &opts->history[h];
		if (!row->package || !row->migration)
			continue;
		plan_map_put(&applied, row->package, row->migration, h);
		size_t pi, mi;
		if (!plan_map_get(&pkgmap, row->package, "", &pi) ||
		    !plan_map_get(&known, row->package, row->migration, &mi)) {
			const struct dbreg_package *pkg = plan_map_get(&pkgmap, row->package, "", &pi)
				? plan->pkgs[pi].pkg : NULL;
			struct dbreg_diag_at at = { .file = pkg ? pkg->file : NULL, .package = row->package,
						    .migration = row->migration };
			/* Watching, a migration taken out of its package's manifest
			 * is undone with the down it had (the registry it was
			 * applied from still holds it). */
			const struct dbreg_migration *gone = opts->redo_changed && pkg
				? plan_previous(opts, row->package, row->migration) : NULL;
			if (gone && dbreg_migration_body(gone, opts->dialect, false)) {
				removed[h] = true;
				removed_in[pi]++;
				continue;
			}
			/* Watching, a package whose file was removed leaves its tables
			 * on the development target until reset: said, not refused. */
			if (opts->redo_changed && !pkg) {
				if (dbreg_diag_addf(&reg->diags, "DBR105", &at,
						    "package %s is no longer registered: its migration %s stays applied",
						    row->package, row->migration) ||
				    dbreg_diag_hintf(&reg->diags, "dbreg reset drops what only the removed package's "
							       "downs could undo; restore the file to keep it"))
					goto oom;
				continue;
			}
			if (dbreg_diag_addf(&reg->diags, "DBR045", &at,
					    "applied migration %s of package %s is not in any manifest%s",
					    row->migration, row->package,
					    pkg ? "" : " (the package is not registered)") ||
			    (pkg ? dbreg_diag_hintf(&reg->diags, "restore the migration in %s's manifest", row->package)
				 : dbreg_diag_hintf(&reg->diags, "restore the manifest that declared it; with it, "
								 "dbreg down %s --to 0.0.0 removes the package",
						    row->package)))
				goto oom;
			continue;
		}
		const struct dbreg_package *pkg = plan->pkgs[pi].pkg;
		const struct dbreg_migration *m = &pkg->migrations[mi];
		if (mi + 1 > last_applied[pi])
			last_applied[pi] = mi + 1;
		const struct dbreg_sql *body = dbreg_migration_body(m, opts->dialect, true);
		char sum[72];
		if (body)
			dbreg_sql_sum(body, sum);
		else
			dbreg_sql_checksum(NULL, 0, sum);
		if (row->checksum && strcmp(row->checksum, sum) != 0 && opts->redo_changed) {
			/* watch: the database follows the file (down, then the new up). */
			if (changed[pi] == 0 || mi + 1 < changed[pi])
				changed[pi] = mi + 1;
		} else if (row->checksum && strcmp(row->checksum, sum) != 0) {
			struct dbreg_diag_at at = { .file = body ? body->file : pkg->file,
						    .line = m->pos.line, .column = m->pos.column,
						    .package = pkg->name, .migration = m->id };
			if (body)
				dbreg_sql_origin(body, &at.line, &at.column);
			if (dbreg_diag_addf(&reg->diags, "DBR045", &at,
					    "migration %s of package %s changed after it was applied: "
					    "applied %s, manifest now %s",
					    m->id, pkg->name, row->checksum, sum) ||
			    dbreg_diag_hintf(&reg->diags, "restore the applied body and add a new migration for the change; "
					     "a change made on purpose that the database need not run (a comment, "
					     "formatting): dbreg accept %s %s", pkg->name, m->id))
				goto oom;
		}
	}

	/* reset and redo_changed: downs of applied migrations, newest first,
	 * dependents' packages before their dependencies. */
	if ((opts->reset || opts->redo_changed) &&
	    plan_undo(plan, reg, opts, &applied, &partial, &undone, changed, removed, removed_in, &cap) != 0)
		goto oom;

	/* Which packages are installed once the plan has run: a pin's
	 * dependents that are not need nothing of it. */
	for (size_t i = 0; i < np && opts->n_pins && !opts->reset; i++)
		ends[i] = plan_ends_installed(plan, i, opts, &applied, &undone, targets, pinned);

	/* Downgrades: a pin below applied migrations runs their downs, newest
	 * first, dependents' packages before their dependencies. */
	for (size_t ii = np; ii-- > 0 && !opts->reset;) {
		const struct dbreg_package *pkg = plan->pkgs[ii].pkg;
		if (!pinned[ii] || (opts->only_package && strcmp(opts->only_package, pkg->name) != 0))
			continue;
		if (plan_check_dependents(reg, plan, ends, pkg, plan->pkgs[ii].version, &targets[ii]))
			goto oom;
		for (size_t k = pkg->n_migrations; k-- > 0;) {
			const struct dbreg_migration *m = &pkg->migrations[k];
			/* `down` undoes one that stopped part way too, as plan_undo. */
			if (!m->version_ok || dbreg_semver_compare(&m->version, &targets[ii]) <= 0 ||
			    (!plan_map_get(&applied, pkg->name, m->id, NULL) &&
			     !(opts->downgrade && plan_map_get(&partial, pkg->name, m->id, NULL))))
				continue;
			/* A pin stops a package on its way up; only `down` goes back
			 * (as Flyway's -target and Sqitch's deploy --to never revert). */
			if (!opts->downgrade) {
				rc = plan_pin_refused(reg, pkg->name, plan->pkgs[ii].version, m, true);
				goto out;
			}
			const struct dbreg_sql *body = dbreg_migration_body(m, opts->dialect, false);
			if (!body) {
				struct dbreg_diag_at at = { .file = pkg->file, .line = m->pos.line,
							    .column = m->pos.column, .package = pkg->name,
							    .migration = m->id };
				if (dbreg_diag_addf(&reg->diags, "DBR042", &at,
						    "cannot take %s to %s: migration %s has no down body for %s "
						    "(the down is missing)",
						    pkg->name, plan->pkgs[ii].version, m->id,
						    plan_dialect_name(opts->dialect)) ||
				    dbreg_diag_hintf(&reg->diags, "add \"down\" or \"down_%s\" to migration %s",
						     plan_dialect_name(opts->dialect), m->id))
					goto oom;
				continue;
			}
			struct dbreg_plan_src src = { m, body, ii };
			if (plan_push(plan, &cap, &src, false))
				goto oom;
			plan_partial(plan, opts, &partial);
			plan->pkgs[ii].n_steps++;
		}
	}

	/* Ups, in topological order, each package's in file order. */
	for (size_t i = 0; i < np; i++) {
		const struct dbreg_package *pkg = plan->pkgs[i].pkg;
		if (!pkg->name || (opts->only_package && strcmp(opts->only_package, pkg->name) != 0))
			continue;
		if (opts->only_package && !pinned[i])
			continue;
		if (opts->dependencies_installed && plan_check_dependencies(reg, pkg, &applied))
			goto oom;
		for (size_t k = 0; k < pkg->n_migrations; k++) {
			const struct dbreg_migration *m = &pkg->migrations[k];
			if (!m->id || (plan_map_get(&applied, pkg->name, m->id, NULL) &&
				       !plan_map_get(&undone, pkg->name, m->id, NULL)))
				continue;
			if (m->version_ok && pkg->version_ok && dbreg_semver_compare(&m->version, &targets[i]) > 0)
				continue;
			if (opts->downgrade && pinned[i]) {
				rc = plan_pin_refused(reg, pkg->name, plan->pkgs[i].version, m, false);
				goto out;
			}
			const struct dbreg_sql *body = dbreg_migration_body(m, opts->dialect, true);
			/* An up body of blanks (as `new migration` writes it) would be
			 * recorded as applied, and the SQL written into it later be
			 * drift (DBR045): no body yet. */
			bool blank = body && body->text && body->text[strspn(body->text, " \t\r\n")] == '\0';
			if (!body || blank) {
				struct dbreg_diag_at at = { .file = pkg->file, .line = m->pos.line,
							    .column = m->pos.column, .package = pkg->name,
							    .migration = m->id };
				if (dbreg_diag_addf(&reg->diags, "DBR042", &at, "migration %s of package %s has %s up body for %s",
						    m->id, pkg->name, blank ? "an empty" : "no", plan_dialect_name(opts->dialect)) ||
				    dbreg_diag_hintf(&reg->diags, blank ? "write its SQL first: once applied, a change to it "
						     "is DBR045" : "add \"up\" or \"up_%s\"",
						     plan_dialect_name(opts->dialect)))
					goto oom;
				plan->pkgs[i].n_unwritten++;
				continue;
			}
			struct dbreg_plan_src src = { m, body, i };
			if (plan_push(plan, &cap, &src, true))
				goto oom;
			plan->steps[plan->n_steps - 1].out_of_order = k + 1 < last_applied[i] &&
				!plan_map_get(&undone, pkg->name, m->id, NULL);
			/* After its down (reset) it runs whole. */
			if (!plan_map_get(&undone, pkg->name, m->id, NULL))
				plan_partial(plan, opts, &partial);
			plan->pkgs[i].n_steps++;
		}
	}

	if (opts->n_allow && dbreg_diag_list_bypass(&reg->diags, first_diag, opts->allow, opts->n_allow,
						      "--allow on a development target"))
		goto oom;
	/* status counts a migration still to write as pending: that apply
	 * refuses it is said, and is no error of status. */
	static const char *const unwritten[] = { "DBR042" };
	size_t errors_found = reg->diags.errors;
	if (opts->count_unwritten &&
	    dbreg_diag_list_bypass(&reg->diags, first_diag, unwritten, 1, "status, which counts it pending (plan and "
				   "apply refuse it until its up body is written)"))
		goto oom;
	rc = reg->diags.errors > errors_before ? DBREG_EINVALID : 0;
	/* Every step is worked out by now: status may count them despite the errors. */
	keep = rc == 0 || opts->keep_invalid;
	plan->invalid = errors_found > 0;
	/* What the steps run may be unsafe (DBR103): said with the plan, also
	 * when the SQL checks of validate were skipped for a known registry,
	 * and also beside a plan's errors, as the run that validated said them. */
	plan->downgrade = opts->downgrade && !opts->reset;
	int wrc = opts->no_warnings ? 0 : plan_find_warnings(plan, opts->memo);
	/* And the tools the run deletes, with what cascades from them, when
	 * the caller has the target open. A failed read leaves them out: the
	 * run reads the table again and says what fails. */
	if (wrc == 0 && !opts->no_warnings && opts->target &&
	    dbreg_plan_tools_warn(plan, opts->target, &plan->warnings) == DBREG_ENOMEM)
		wrc = DBREG_ENOMEM;
	if (wrc == 0)
		wrc = dbreg_plan_warnings(plan, &reg->diags);
	if (wrc != 0)
		rc = wrc;
	goto out;
oom:
	rc = DBREG_ENOMEM;
out:
	for (size_t i = 0; targets && i < np; i++)
		dbreg_semver_dispose(&targets[i]);
	free(targets);
	free(pinned);
	free(ends);
	free(last_applied);
	free(changed);
	free(removed);
	free(removed_in);
	free(undone.slots);
	free(partial.slots);
	free(pkgmap.slots);
	free(applied.slots);
	free(known.slots);
	free(order);
	if (keep && (rc == 0 || rc == DBREG_EINVALID))
		*out = plan;
	else
		dbreg_plan_free(plan);
	return rc;
}

void dbreg_plan_free(struct dbreg_plan *plan)
{
	if (plan == NULL)
		return;
	free(plan->steps);
	free(plan->src);
	free(plan->pkgs);
	for (size_t i = 0; plan->owned && i < plan->n_owned; i++)
		free(plan->owned[i]);
	free(plan->owned);
	dbreg_diag_list_dispose(&plan->warnings);
	free(plan);
}

size_t dbreg_plan_count(const struct dbreg_plan *plan)
{
	return plan ? plan->n_steps : 0;
}

size_t dbreg_plan_unwritten(const struct dbreg_plan *plan, const char *package)
{
	for (size_t i = 0; plan && i < plan->n_pkgs; i++)
		if (plan->pkgs[i].pkg->name && strcmp(plan->pkgs[i].pkg->name, package) == 0)
			return plan->pkgs[i].n_unwritten;
	return 0;
}

const struct dbreg_step *dbreg_plan_step(const struct dbreg_plan *plan, size_t i)
{
	return plan && i < plan->n_steps ? &plan->steps[i] : NULL;
}

enum dbreg_dialect dbreg_plan_dialect(const struct dbreg_plan *plan)
{
	return plan ? plan->dialect : DBREG_DIALECT_SQLITE;
}

/* ---- the plan as one SQL script (plan --sql) ------------------------------ */

/* The history tables exactly as the drivers create them (history_ensure),
 * so a script-made database and an apply-made one read the same. */
static const char plan_history_postgres[] =
	"CREATE TABLE IF NOT EXISTS ydtb_registry_migrations ("
	" package text NOT NULL, migration text NOT NULL, version text NOT NULL, checksum text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now(), duration_ms bigint NOT NULL DEFAULT 0, statements_done bigint,"
	" PRIMARY KEY (package, migration));\n"
	"CREATE TABLE IF NOT EXISTS ydtb_registry_packages ("
	" name text PRIMARY KEY, version text NOT NULL, installed_at timestamptz NOT NULL DEFAULT now());\n";
#define PLAN_SQ_NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
static const char plan_history_sqlite[] =
	"CREATE TABLE IF NOT EXISTS ydtb_registry_migrations ("
	" package TEXT NOT NULL, migration TEXT NOT NULL, version TEXT NOT NULL, checksum TEXT NOT NULL,"
	" applied_at TEXT NOT NULL DEFAULT (" PLAN_SQ_NOW "), duration_ms INTEGER NOT NULL DEFAULT 0, statements_done INTEGER,"
	" PRIMARY KEY (package, migration));\n"
	"CREATE TABLE IF NOT EXISTS ydtb_registry_packages ("
	" name TEXT PRIMARY KEY NOT NULL, version TEXT NOT NULL,"
	" installed_at TEXT NOT NULL DEFAULT (" PLAN_SQ_NOW "));\n";

/* An SQL string literal, or NULL. */
static void plan_lit(struct dbreg_buf *b, const char *s)
{
	if (!s) {
		dbreg_buf_puts(b, "NULL");
		return;
	}
	dbreg_buf_puts(b, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			dbreg_buf_puts(b, "''");
		else
			dbreg_buf_append(b, p, 1);
	}
	dbreg_buf_puts(b, "'");
}

/* The core's ydtb_tools, where tools are upserted; NULL when it declares none. */
static const struct dbreg_table *plan_tools_table(const struct dbreg_plan *plan)
{
	for (size_t i = 0; i < plan->n_pkgs; i++)
		if (plan->pkgs[i].pkg->core)
			return dbreg_package_table(plan->pkgs[i].pkg, "ydtb_tools");
	return NULL;
}

/* The columns of ydtb_tools that dbreg writes, with the tool's value. id,
 * package_name and name are required (DBR016); the others are written only
 * where the core declares them, so a core without updated_at still works. */
enum { PLAN_TOOL_ID, PLAN_TOOL_PACKAGE, PLAN_TOOL_NAME, PLAN_TOOL_DESCRIPTION, PLAN_TOOL_ICON, PLAN_TOOL_UPDATED, PLAN_TOOL_N };
static const char *const plan_tool_columns[PLAN_TOOL_N] = {
	"id", "package_name", "name", "description", "icon", "updated_at",
};

/* Which of the columns dbreg writes the core's ydtb_tools declares; false
 * when it lacks one of those it must (or has no ydtb_tools). */
static bool plan_tools_has(const struct dbreg_plan *plan, bool has[PLAN_TOOL_N])
{
	const struct dbreg_table *t = plan_tools_table(plan);
	for (int c = 0; c < PLAN_TOOL_N; c++)
		has[c] = t && dbreg_table_column(t, plan_tool_columns[c]) != NULL;
	return has[PLAN_TOOL_ID] && has[PLAN_TOOL_PACKAGE] && has[PLAN_TOOL_NAME];
}

void dbreg_plan_tools_sql(struct dbreg_buf *b, const struct dbreg_plan *plan, const struct dbreg_package *pkg)
{
	bool has[PLAN_TOOL_N];
	if (!plan_tools_has(plan, has))
		return;
	for (size_t i = 0; i < pkg->n_tools; i++) {
		const struct dbreg_tool *tool = &pkg->tools[i];
		if (!tool->id || !tool->name)
			continue;
		const char *val[PLAN_TOOL_N] = { tool->id, pkg->name, tool->name, tool->description, tool->icon, NULL };
		dbreg_buf_puts(b, "INSERT INTO ydtb_tools (");
		for (int c = 0, k = 0; c < PLAN_TOOL_N; c++)
			if (has[c])
				dbreg_buf_printf(b, "%s%s", k++ ? ", " : "", plan_tool_columns[c]);
		dbreg_buf_puts(b, ") VALUES (");
		for (int c = 0, k = 0; c < PLAN_TOOL_N; c++) {
			if (!has[c])
				continue;
			dbreg_buf_puts(b, k++ ? ", " : "");
			if (c == PLAN_TOOL_UPDATED)
				dbreg_buf_puts(b, "CURRENT_TIMESTAMP");
			else
				plan_lit(b, val[c]);
		}
		/* Only a tool that changed is written, so updated_at says when. */
		dbreg_buf_puts(b, ") ON CONFLICT (id) DO UPDATE SET ");
		for (int c = 1, k = 0; c < PLAN_TOOL_N; c++)
			if (has[c])
				dbreg_buf_printf(b, "%s%s = %s%s", k++ ? ", " : "", plan_tool_columns[c],
						 c == PLAN_TOOL_UPDATED ? "" : "excluded.",
						 c == PLAN_TOOL_UPDATED ? "CURRENT_TIMESTAMP" : plan_tool_columns[c]);
		dbreg_buf_puts(b, " WHERE ");
		for (int c = 1, k = 0; c < PLAN_TOOL_UPDATED; c++)
			if (has[c])
				dbreg_buf_printf(b, "%sydtb_tools.%s IS DISTINCT FROM excluded.%s", k++ ? " OR " : "",
						 plan_tool_columns[c], plan_tool_columns[c]);
		dbreg_buf_puts(b, ";\n");
	}
}

/* ---- ydtb_tools as the target holds it ----------------------------------- */

size_t dbreg_plan_tools_columns(const struct dbreg_plan *plan, const char *cols[DBREG_PLAN_TOOL_COLUMNS])
{
	const struct dbreg_table *t = plan_tools_table(plan);
	size_t n = 0;
	/* updated_at is written, never compared: the upsert's WHERE leaves it out. */
	for (int c = 0; t && c < PLAN_TOOL_UPDATED; c++)
		if (dbreg_table_column(t, plan_tool_columns[c]))
			cols[n++] = plan_tool_columns[c];
	return t && dbreg_table_column(t, "id") && dbreg_table_column(t, "package_name") &&
			       dbreg_table_column(t, "name")
		       ? n
		       : 0;
}

static int tools_cmp_cell(const char *a, const char *b)
{
	return !a || !b ? (a != NULL) - (b != NULL) : strcmp(a, b);
}

static const char *tools_cell(const struct dbreg_tools_view *v, size_t row, int c)
{
	return v->col[c] < 0 ? NULL : v->cells[row * v->n_cols + (size_t)v->col[c]];
}

static int tools_cmp_ref(const void *a, const void *b)
{
	return tools_cmp_cell(((const struct dbreg_tools_ref *)a)->key, ((const struct dbreg_tools_ref *)b)->key);
}

static int tools_cmp_ids(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void dbreg_plan_tools_view_dispose(struct dbreg_tools_view *v)
{
	free(v->by_id);
	free(v->by_pkg);
	v->by_id = v->by_pkg = NULL;
	v->usable = false;
}

int dbreg_plan_tools_view(struct dbreg_tools_view *v, const struct dbreg_plan *plan, char *const *cells, size_t n_rows)
{
	memset(v, 0, sizeof *v);
	const char *cols[DBREG_PLAN_TOOL_COLUMNS];
	v->n_cols = dbreg_plan_tools_columns(plan, cols);
	v->cells = cells;
	v->n_rows = n_rows;
	v->read = v->n_cols > 0;
	for (int c = 0; c < PLAN_TOOL_N; c++)
		v->col[c] = -1;
	for (size_t k = 0; k < v->n_cols; k++)
		for (int c = 0; c < PLAN_TOOL_UPDATED; c++)
			if (strcmp(cols[k], plan_tool_columns[c]) == 0)
				v->col[c] = (int)k;
	if (v->n_cols == 0)
		return 0;
	/* A tool id declared twice (DBR050, let through by --allow): which
	 * package's upsert ends up in the row depends on their order, so
	 * nothing is taken as current then. */
	size_t n_ids = 0;
	for (size_t i = 0; i < plan->n_pkgs; i++)
		n_ids += plan->pkgs[i].pkg->n_tools;
	const char **ids = malloc((n_ids + 1) * sizeof *ids);
	v->by_id = malloc((n_rows + 1) * sizeof *v->by_id);
	v->by_pkg = malloc((n_rows + 1) * sizeof *v->by_pkg);
	if (!ids || !v->by_id || !v->by_pkg) {
		free(ids);
		dbreg_plan_tools_view_dispose(v);
		return DBREG_ENOMEM;
	}
	n_ids = 0;
	bool named = true;
	for (size_t i = 0; i < plan->n_pkgs; i++)
		for (size_t t = 0; t < plan->pkgs[i].pkg->n_tools; t++) {
			if (plan->pkgs[i].pkg->tools[t].id)
				ids[n_ids++] = plan->pkgs[i].pkg->tools[t].id;
			named &= plan->pkgs[i].pkg->name != NULL;
		}
	qsort(ids, n_ids, sizeof *ids, tools_cmp_ids);
	v->usable = named;
	for (size_t i = 1; i < n_ids; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			v->usable = false;
	free(ids);
	for (size_t i = 0; i < n_rows; i++) {
		v->by_id[i] = (struct dbreg_tools_ref){tools_cell(v, i, PLAN_TOOL_ID), i};
		v->by_pkg[i] = (struct dbreg_tools_ref){tools_cell(v, i, PLAN_TOOL_PACKAGE), i};
	}
	qsort(v->by_id, n_rows, sizeof *v->by_id, tools_cmp_ref);
	qsort(v->by_pkg, n_rows, sizeof *v->by_pkg, tools_cmp_ref);
	return 0;
}

static bool tools_below(const void *ctx, size_t i, const char *key)
{
	return tools_cmp_cell(((const struct dbreg_tools_ref *)ctx)[i].key, key) < 0;
}

/* The first entry of a sorted ref array whose key is `key`, or n. */
static size_t tools_find(const struct dbreg_tools_ref *v, size_t n, const char *key)
{
	size_t lo = dbreg_lower_bound(n, tools_below, v, key);
	return lo < n && tools_cmp_cell(v[lo].key, key) == 0 ? lo : n;
}

bool dbreg_plan_tools_current(const struct dbreg_tools_view *v, const struct dbreg_package *pkg)
{
	if (!v->usable || !pkg->name)
		return false;
	/* The DELETE: every row of the package has an id it declares. */
	for (size_t k = tools_find(v->by_pkg, v->n_rows, pkg->name); k < v->n_rows &&
	     tools_cmp_cell(v->by_pkg[k].key, pkg->name) == 0; k++) {
		const char *id = tools_cell(v, v->by_pkg[k].row, PLAN_TOOL_ID);
		bool declared = false;
		for (size_t t = 0; id && t < pkg->n_tools && !declared; t++)
			declared = pkg->tools[t].id && strcmp(pkg->tools[t].id, id) == 0;
		if (!declared)
			return false;
	}
	/* The upserts: each row there with every value as written. */
	for (size_t t = 0; t < pkg->n_tools; t++) {
		const struct dbreg_tool *tool = &pkg->tools[t];
		if (!tool->id || !tool->name)
			continue;
		size_t k = tools_find(v->by_id, v->n_rows, tool->id);
		if (k == v->n_rows || (k + 1 < v->n_rows && tools_cmp_cell(v->by_id[k + 1].key, tool->id) == 0))
			return false;   /* missing, or the id twice in a table without its primary key */
		size_t row = v->by_id[k].row;
		const char *val[PLAN_TOOL_UPDATED] = {tool->id, pkg->name, tool->name, tool->description, tool->icon};
		for (int c = 0; c < PLAN_TOOL_UPDATED; c++)
			if (v->col[c] >= 0 && tools_cmp_cell(tools_cell(v, row, c), val[c]) != 0)
				return false;
	}
	return true;
}

bool dbreg_plan_pkg_removes(const struct dbreg_plan_pkg *p)
{
	return p->version != p->pkg->version_text && strcmp(p->version, "0.0.0") == 0;
}

/* The tool ids some package still declares (not those of a package taken
 * down to nothing), sorted; NULL when out of memory. */
static const char **plan_tools_live(const struct dbreg_plan *plan, size_t *n)
{
	size_t cap = 0;
	for (size_t i = 0; i < plan->n_pkgs; i++)
		cap += plan->pkgs[i].pkg->n_tools;
	const char **ids = malloc((cap + 1) * sizeof *ids);
	*n = 0;
	for (size_t i = 0; ids && i < plan->n_pkgs; i++)
		for (size_t t = 0; !dbreg_plan_pkg_removes(&plan->pkgs[i]) && t < plan->pkgs[i].pkg->n_tools; t++)
			if (plan->pkgs[i].pkg->tools[t].id)
				ids[(*n)++] = plan->pkgs[i].pkg->tools[t].id;
	if (ids)
		qsort(ids, *n, sizeof *ids, tools_cmp_ids);
	return ids;
}

/* Calls fn for each row of the view that the sync deletes: a row of a
 * package covered (NULL: those in scope) whose id no package declares. A
 * declared id is re-owned by its upsert instead, so that what references
 * the row (ON DELETE CASCADE) stays. */
typedef int (*plan_tools_row_fn)(void *arg, const struct dbreg_package *owner, size_t row);
static int plan_tools_dropped(const struct dbreg_tools_view *v, const struct dbreg_plan *plan, const bool *covered,
			      plan_tools_row_fn fn, void *arg)
{
	size_t n_live;
	const char **live = plan_tools_live(plan, &n_live);
	if (!live)
		return DBREG_ENOMEM;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < plan->n_pkgs; i++) {
		const struct dbreg_package *pkg = plan->pkgs[i].pkg;
		if (!pkg->name || !(covered ? covered[i] : plan->pkgs[i].in_scope))
			continue;
		for (size_t k = tools_find(v->by_pkg, v->n_rows, pkg->name);
		     rc == 0 && k < v->n_rows && tools_cmp_cell(v->by_pkg[k].key, pkg->name) == 0; k++) {
			const char *id = tools_cell(v, v->by_pkg[k].row, PLAN_TOOL_ID);
			if (id && !bsearch(&id, live, n_live, sizeof *live, tools_cmp_ids))
				rc = fn(arg, pkg, v->by_pkg[k].row);
		}
	}
	free(live);
	return rc;
}

struct plan_prune {
	struct dbreg_buf *b;
	const struct dbreg_tools_view *v;
	size_t n;
};

static int plan_prune_row(void *arg, const struct dbreg_package *owner, size_t row)
{
	struct plan_prune *x = arg;
	(void)owner;
	dbreg_buf_puts(x->b, x->n++ ? ", " : "DELETE FROM ydtb_tools WHERE id IN (");
	plan_lit(x->b, tools_cell(x->v, row, PLAN_TOOL_ID));
	return 0;
}

int dbreg_plan_tools_prune_sql(struct dbreg_buf *b, const struct dbreg_plan *plan, const struct dbreg_tools_view *v,
			       const bool *covered)
{
	bool has[PLAN_TOOL_N];
	if (!plan_tools_has(plan, has))
		return 0;
	if (v && v->read) {
		struct plan_prune x = {b, v, 0};
		int rc = plan_tools_dropped(v, plan, covered, plan_prune_row, &x);
		if (x.n)
			dbreg_buf_puts(b, ");\n");
		return rc;
	}
	/* The rows unknown (the script): the same rule in SQL. */
	size_t n_live, n = 0;
	const char **live = plan_tools_live(plan, &n_live);
	if (!live)
		return DBREG_ENOMEM;
	for (size_t i = 0; i < plan->n_pkgs; i++) {
		const struct dbreg_package *pkg = plan->pkgs[i].pkg;
		if (!pkg->name || !(covered ? covered[i] : plan->pkgs[i].in_scope))
			continue;
		dbreg_buf_puts(b, n++ ? ", " : "DELETE FROM ydtb_tools WHERE package_name IN (");
		plan_lit(b, pkg->name);
	}
	for (size_t k = 0; n && k < n_live; k++) {
		dbreg_buf_puts(b, k ? ", " : ") AND id NOT IN (");
		plan_lit(b, live[k]);
	}
	if (n)
		dbreg_buf_puts(b, ");\n");
	free(live);
	return 0;
}

bool dbreg_plan_tools_taken(const struct dbreg_tools_view *v, const struct dbreg_plan *plan, size_t pi)
{
	const struct dbreg_package *pkg = plan->pkgs[pi].pkg;
	if (!v->read || !pkg->name || dbreg_plan_pkg_removes(&plan->pkgs[pi]))
		return false;
	for (size_t t = 0; t < pkg->n_tools; t++) {
		size_t k = pkg->tools[t].id ? tools_find(v->by_id, v->n_rows, pkg->tools[t].id) : v->n_rows;
		const char *owner = k < v->n_rows ? tools_cell(v, v->by_id[k].row, PLAN_TOOL_PACKAGE) : NULL;
		for (size_t j = 0; owner && strcmp(owner, pkg->name) != 0 && j < plan->n_pkgs; j++)
			if (plan->pkgs[j].in_scope && plan->pkgs[j].pkg->name &&
			    strcmp(plan->pkgs[j].pkg->name, owner) == 0)
				return true;
	}
	return false;
}

/* ---- the warning before a tool is deleted --------------------------------- */

/* What the warnings need while the dropped rows are walked. */
struct plan_tools_warn {
	const struct dbreg_plan *plan;
	struct dbreg_conn *conn;
	const struct dbreg_tools_view *v;
	struct dbreg_diag_list *out;
};

/* ", and ON DELETE CASCADE its N rows in T (M workspaces)" for each table
 * whose column references ydtb_tools with ON DELETE CASCADE, counted on the
 * target: what goes with the tool's row. */
static int plan_tools_cascade(struct plan_tools_warn *w, const char *id, struct dbreg_buf *b)
{
	const struct dbreg_plan *plan = w->plan;
	const struct dbreg_driver *drv = w->conn->driver;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < plan->n_pkgs; i++)
		for (size_t t = 0; rc == 0 && t < plan->pkgs[i].pkg->n_tables; t++) {
			const struct dbreg_table *tab = &plan->pkgs[i].pkg->tables[t];
			for (size_t c = 0; rc == 0 && c < tab->n_columns; c++) {
				const struct dbreg_column *col = &tab->columns[c];
				if (!col->ref_table || strcmp(col->ref_table, "ydtb_tools") != 0 || !col->on_delete ||
				    strcmp(col->on_delete, "cascade") != 0)
					continue;
				bool scoped = dbreg_table_column(tab, "workspace_id") && strcmp(col->name, "workspace_id");
				const char *cols[2] = {col->name, "workspace_id"};
				char **cells = NULL;
				size_t n_rows = 0, n = scoped ? 2 : 1, hits = 0, workspaces = 0;
				if ((rc = drv->rows_read(w->conn, tab->name, cols, n, &cells, &n_rows)) != 0)
					break;
				const char **ws = calloc(n_rows + 1, sizeof *ws);
				for (size_t r = 0; ws && r < n_rows; r++)
					if (cells[r * n] && strcmp(cells[r * n], id) == 0 && (!scoped || cells[r * n + 1]))
						ws[hits++] = scoped ? cells[r * n + 1] : "";
				if (ws)
					qsort(ws, hits, sizeof *ws, tools_cmp_ids);
				for (size_t r = 0; ws && r < hits; r++)
					workspaces += r == 0 || strcmp(ws[r - 1], ws[r]) != 0;
				if (!ws)
					rc = DBREG_ENOMEM;
				else if (scoped)
					dbreg_buf_printf(b, ", and ON DELETE CASCADE its %zu row%s in %s (%zu workspace%s)", hits,
							 hits == 1 ? "" : "s", tab->name, workspaces, workspaces == 1 ? "" : "s");
				else
					dbreg_buf_printf(b, ", and ON DELETE CASCADE its %zu row%s in %s", hits,
							 hits == 1 ? "" : "s", tab->name);
				free(ws);
				dbreg_strv_free(cells, n_rows * n);
			}
		}
	return rc;
}

static int plan_tools_warn_row(void *arg, const struct dbreg_package *owner, size_t row)
{
	struct plan_tools_warn *w = arg;
	const char *id = tools_cell(w->v, row, PLAN_TOOL_ID);
	bool removed = false;
	for (size_t i = 0; i < w->plan->n_pkgs; i++)
		if (w->plan->pkgs[i].pkg == owner)
			removed = dbreg_plan_pkg_removes(&w->plan->pkgs[i]);
	struct dbreg_buf cascade = DBREG_BUF_INIT;
	int rc = plan_tools_cascade(w, id, &cascade);
	if (rc == 0 && cascade.oom)
		rc = DBREG_ENOMEM;
	struct dbreg_diag_at at = {.file = owner->file, .line = owner->pos.line, .column = owner->pos.column,
				   .package = owner->name, .table = "ydtb_tools"};
	if (rc == 0)
		rc = dbreg_diag_addf(w->out, "DBR103", &at, "tool \"%s\" of %s %s: the run deletes it from ydtb_tools%s", id,
				     owner->name,
				     removed ? "goes with the package, taken down to 0.0.0" : "is declared by no package any more",
				     cascade.len ? cascade.ptr : "");
	if (rc == 0)
		rc = dbreg_diag_hintf(w->out, "declare it in some package's [[tools]] to keep it with the rows that "
					      "reference it: a tool moved to another package keeps them; else back those "
					      "rows up first");
	dbreg_buf_dispose(&cascade);
	return rc;
}

int dbreg_plan_tools_warn(const struct dbreg_plan *plan, struct dbreg_conn *conn, struct dbreg_diag_list *out)
{
	const char *cols[DBREG_PLAN_TOOL_COLUMNS];
	size_t n = dbreg_plan_tools_columns(plan, cols);
	if (n == 0 || conn->driver->version < 6 || !conn->driver->rows_read)
		return 0;
	char **cells = NULL;
	size_t n_rows = 0;
	int rc = conn->driver->rows_read(conn, "ydtb_tools", cols, n, &cells, &n_rows);
	if (rc != 0)
		return rc;
	struct dbreg_tools_view v;
	rc = dbreg_plan_tools_view(&v, plan, cells, n_rows);
	struct plan_tools_warn w = {plan, conn, &v, out};
	if (rc == 0)
		rc = plan_tools_dropped(&v, plan, NULL, plan_tools_warn_row, &w);
	dbreg_plan_tools_view_dispose(&v);
	dbreg_strv_free(cells, n_rows * n);
	return rc;
}

bool dbreg_plan_has_tools_table(const struct dbreg_plan *plan)
{
	return plan_tools_table(plan) != NULL;
}

/* Closes the script's open transaction; one that holds nothing yet (the
 * plan's first step runs alone) is taken out instead. */
static void plan_commit(struct dbreg_buf *b, size_t opened)
{
	static const char begin[] = "BEGIN;\n";
	if (b->len == opened && opened >= sizeof begin - 1) {
		b->len = opened - (sizeof begin - 1);
		b->ptr[b->len] = '\0';
		return;
	}
	dbreg_buf_puts(b, "COMMIT;\n");
}

char *dbreg_plan_script(const struct dbreg_plan *plan)
{
	return dbreg_plan_script_timeouts(plan, 0, 0);
}

char *dbreg_plan_script_timeouts(const struct dbreg_plan *plan, long long lock_timeout_ms, long long statement_timeout_ms)
{
	if (!plan)
		return NULL;
	struct dbreg_buf b = DBREG_BUF_INIT;
	bool pg = plan->dialect == DBREG_DIALECT_POSTGRES;
	bool *rls_done = calloc(plan->n_pkgs + 1, sizeof(*rls_done));
	if (!rls_done)
		return NULL;
	dbreg_buf_printf(&b, "-- dbreg %s: %zu step%s for %s\n", DBREG_VERSION_STRING, plan->n_steps,
			 plan->n_steps == 1 ? "" : "s", plan_dialect_name(plan->dialect));
	/* Where apply sets them: for the session, before anything else. */
	if (pg && lock_timeout_ms > 0)
		dbreg_buf_printf(&b, "SET lock_timeout = '%lldms';\n", lock_timeout_ms);
	if (pg && statement_timeout_ms > 0)
		dbreg_buf_printf(&b, "SET statement_timeout = '%lldms';\n", statement_timeout_ms);
	/* As apply: a query the workspace policies would filter fails. */
	if (dbreg_rls_wanted(plan->reg, plan->dialect))
		dbreg_buf_puts(&b, "SET row_security = off;\n");
	/* As the SQLite driver's connection: enforcement on, whatever the
	 * client's default (sqlite3's is off). */
	if (!pg)
		dbreg_buf_puts(&b, "PRAGMA foreign_keys = ON;\n");
	dbreg_buf_puts(&b, pg ? plan_history_postgres : plan_history_sqlite);
	dbreg_buf_puts(&b, "BEGIN;\n");
	size_t opened = b.len;
	for (size_t i = 0; i < plan->n_steps; i++) {
		const struct dbreg_step *st = &plan->steps[i];
		bool fk_alone = !pg && st->transaction && !st->foreign_keys;
		if (!st->transaction) {
			plan_commit(&b, opened);
			dbreg_buf_puts(&b, "-- transaction = false: runs alone\n");
		}
		if (fk_alone) {
			plan_commit(&b, opened);
			dbreg_buf_puts(&b, "-- foreign_keys = false: runs in a transaction of its own, enforcement off"
					   " before BEGIN (inside one SQLite ignores the pragma)\n"
					   "PRAGMA foreign_keys = OFF;\nBEGIN;\n");
		}
		dbreg_buf_printf(&b, "\n-- %s %s (%s) %s %s\n", st->package, st->migration, st->version,
				 st->up ? "up" : "down", st->checksum);
		/* As apply: an up that stopped part way resumes after the
		 * statements that ran; a down undoes them. */
		if (st->partial_done && st->up)
			dbreg_buf_printf(&b, "-- an earlier run stopped after statement %zu of %zu: this resumes at statement %zu\n",
					 st->partial_done, st->partial_total, st->partial_done + 1);
		else if (st->partial_done)
			dbreg_buf_printf(&b, "-- partially applied (%zu of %zu statements): its down undoes what ran\n",
					 st->partial_done, st->partial_total);
		const char *sql = st->sql + st->resume;
		dbreg_buf_puts(&b, sql);
		size_t n = strlen(sql);
		/* A body may end without ';' or inside a comment: close both. */
		dbreg_buf_puts(&b, n && sql[n - 1] == '\n' ? ";\n" : "\n;\n");
		if (st->up) {
			/* clock_timestamp(), as the driver does: rows of one
			 * transaction keep their order in history_read. */
			dbreg_buf_printf(&b, "INSERT INTO ydtb_registry_migrations (%spackage, migration, version, checksum)"
					     " VALUES (%s", pg ? "applied_at, " : "", pg ? "clock_timestamp(), " : "");
			plan_lit(&b, st->package);
			dbreg_buf_puts(&b, ", ");
			plan_lit(&b, st->migration);
			dbreg_buf_puts(&b, ", ");
			plan_lit(&b, st->version);
			dbreg_buf_puts(&b, ", ");
			plan_lit(&b, st->checksum);
			/* The progress row becomes the history row, as apply's does. */
			if (st->partial_done)
				dbreg_buf_printf(&b, ") ON CONFLICT (package, migration) DO UPDATE SET version = excluded.version,"
						     " checksum = excluded.checksum, applied_at = %s, statements_done = NULL"
						     " WHERE ydtb_registry_migrations.statements_done IS NOT NULL;\n",
						 pg ? "excluded.applied_at" : PLAN_SQ_NOW);
			else
				dbreg_buf_puts(&b, ");\n");
		} else {
			dbreg_buf_puts(&b, "DELETE FROM ydtb_registry_migrations WHERE package = ");
			plan_lit(&b, st->package);
			dbreg_buf_puts(&b, " AND migration = ");
			plan_lit(&b, st->migration);
			dbreg_buf_puts(&b, ";\n");
		}
		/* The policies of the step's package, in the transaction of its
		 * migrations (apply does the same: dbreg_rls_after_step). */
		if (dbreg_rls_after_step(plan, NULL, i)) {
			rls_done[plan->src[i].pkg] = true;
			dbreg_rls_sql(&b, plan->reg, plan->dialect, &plan->pkgs[plan->src[i].pkg].pkg, 1);
		}
		if (fk_alone)
			dbreg_buf_puts(&b, "-- apply refuses to commit when this check returns rows (orphans the migration"
					   " made); a script cannot abort on them: if it prints any, stop and roll back\n"
					   "PRAGMA foreign_key_check;\nCOMMIT;\nPRAGMA foreign_keys = ON;\n");
		if (!st->transaction || fk_alone) {
			dbreg_buf_puts(&b, "BEGIN;\n");
			opened = b.len;
		}
	}
	bool tools = dbreg_plan_has_tools_table(plan);
	for (size_t i = 0; i < plan->n_pkgs; i++) {
		const struct dbreg_plan_pkg *p = &plan->pkgs[i];
		if (p->n_steps == 0)
			continue;
		dbreg_buf_puts(&b, "INSERT INTO ydtb_registry_packages (name, version) VALUES (");
		plan_lit(&b, p->pkg->name);
		dbreg_buf_puts(&b, ", ");
		plan_lit(&b, p->version);
		dbreg_buf_printf(&b, ") ON CONFLICT (name) DO UPDATE SET version = excluded.version,"
				     " installed_at = %s;\n", pg ? "now()" : PLAN_SQ_NOW);
		if (tools)
			dbreg_plan_tools_sql(&b, plan, p->pkg);
	}
	/* After every upsert, as apply: a tool moved to another package was
	 * re-owned in place, and only those no package declares go. */
	bool *covered = calloc(plan->n_pkgs + 1, sizeof *covered);
	for (size_t i = 0; covered && i < plan->n_pkgs; i++)
		covered[i] = plan->pkgs[i].n_steps > 0;
	if (!covered || dbreg_plan_tools_prune_sql(&b, plan, NULL, covered) != 0)
		b.oom = true;
	free(covered);
	/* As apply: the policies of every package the plan covers, at once. */
	const struct dbreg_package **rest = calloc(plan->n_pkgs + 1, sizeof(*rest));
	size_t n_rest = 0;
	for (size_t i = 0; rest && i < plan->n_pkgs; i++)
		if (plan->pkgs[i].in_scope && !rls_done[i])
			rest[n_rest++] = plan->pkgs[i].pkg;
	if (!rest)
		b.oom = true;
	else
		dbreg_rls_sql(&b, plan->reg, plan->dialect, rest, n_rest);
	free(rest);
	free(rls_done);
	dbreg_buf_puts(&b, "COMMIT;\n");
	if (b.oom) {
		dbreg_buf_dispose(&b);
		return NULL;
	}
	return dbreg_buf_detach(&b);
}

/* ---- warnings about what the plan runs ------------------------------------ */

/* The byte offset of a 1-based line and column inside text. */
static size_t plan_offset(const char *text, unsigned line, unsigned column)
{
	size_t off = 0;
	for (unsigned l = 1; l < line && text[off]; off++)
		if (text[off] == '\n')
			l++;
	for (unsigned c = 1; c < column && text[off] && text[off] != '\n'; c++)
		off++;
	return off;
}

/* Whether out holds a finding with d's code at the same place. */
static bool plan_warned(const struct dbreg_diag_list *out, const struct dbreg_diag *d)
{
	for (size_t j = 0; j < out->len; j++)
		if (strcmp(out->items[j].code, d->code) == 0 && out->items[j].line == d->line &&
		    out->items[j].column == d->column && out->items[j].file && d->file &&
		    strcmp(out->items[j].file, d->file) == 0)
			return true;
	return false;
}

/* ---- the memo of each body's warnings (checkcache.h) ---- */

/* The package's slot of the memo, or NULL: not the package it was made for. */
static struct dbreg_plan_memo_package *plan_memo_package(struct dbreg_plan_memo *m, const struct dbreg_package *pkg)
{
	if (!pkg->name)
		return NULL;
	size_t k = dbreg_registry_index(m->reg, pkg->name);
	return k < m->n && m->pkg[k] == pkg ? &m->p[k] : NULL;
}

/* The slot of sum among the fresh entries: its entry's, or the empty one
 * where it goes. A digest's hex digits are hash enough. */
static size_t *plan_memo_slot(const struct dbreg_plan_memo_package *p, const char *sum)
{
	size_t h = 0;
	for (size_t i = strlen("sha256:"); sum[i] && i < strlen("sha256:") + 16; i++)
		h = h * 31 + (unsigned char)sum[i];
	for (size_t i = h & (p->cap_slots - 1);; i = (i + 1) & (p->cap_slots - 1))
		if (!p->slots[i] || strcmp(p->fresh[p->slots[i] - 1].sum, sum) == 0)
			return &p->slots[i];
}

static int plan_memo_cmp(const void *sum, const void *entry)
{
	return strcmp(sum, ((const struct dbreg_plan_memo_entry *)entry)->sum);
}

static const struct dbreg_plan_memo_entry *plan_memo_find(const struct dbreg_plan_memo_package *p, const char *sum)
{
	const struct dbreg_plan_memo_entry *e =
		p->n_stored ? bsearch(sum, p->stored, p->n_stored, sizeof *p->stored, plan_memo_cmp) : NULL;
	if (!e && p->n_fresh) {
		size_t *slot = plan_memo_slot(p, sum);
		e = *slot ? &p->fresh[*slot - 1] : NULL;
	}
	return e;
}

/* Keeps found under sum, for dbreg_plan_memo_save. */
static int plan_memo_put(struct dbreg_plan_memo_package *p, const char *sum, const struct dbreg_diag_list *found)
{
	if (p->n_fresh == p->cap_fresh) {
		size_t cap = p->cap_fresh ? 2 * p->cap_fresh : 16;
		struct dbreg_plan_memo_entry *v = realloc(p->fresh, cap * sizeof *v);
		if (!v)
			return DBREG_ENOMEM;
		p->fresh = v;
		p->cap_fresh = cap;
	}
	if (2 * (p->n_fresh + 1) > p->cap_slots) {
		size_t cap = p->cap_slots ? 2 * p->cap_slots : 32;
		size_t *slots = calloc(cap, sizeof *slots);
		if (!slots)
			return DBREG_ENOMEM;
		free(p->slots);
		p->slots = slots;
		p->cap_slots = cap;
		for (size_t i = 0; i < p->n_fresh; i++)
			*plan_memo_slot(p, p->fresh[i].sum) = i + 1;
	}
	struct dbreg_plan_memo_entry *e = &p->fresh[p->n_fresh];
	memset(e, 0, sizeof *e);
	memcpy(e->sum, sum, sizeof e->sum);
	if (dbreg_diag_list_copy(&e->found, found) != 0) {
		dbreg_diag_list_dispose(&e->found);
		return DBREG_ENOMEM;
	}
	*plan_memo_slot(p, e->sum) = ++p->n_fresh;
	return 0;
}

/* The warnings of one body read alone (dbreg_sqlcheck_text): those the
 * memo holds for its bytes, else read now and kept there. */
static int plan_body_warnings(const struct dbreg_plan *plan, size_t i, const struct dbreg_sql *body,
			      struct dbreg_plan_memo *memo, struct dbreg_diag_list *found)
{
	const struct dbreg_plan_src *src = &plan->src[i];
	struct dbreg_plan_memo_package *p = memo ? plan_memo_package(memo, plan->pkgs[src->pkg].pkg) : NULL;
	char sum[72];
	if (p) {
		int rc = memo->read(memo);
		if (rc != 0)
			return rc;
		dbreg_plan_memo_key(body, sum);
		const struct dbreg_plan_memo_entry *e = plan_memo_find(p, sum);
		if (e)
			return dbreg_diag_list_copy(found, &e->found);
	}
	int rc = dbreg_sqlcheck_text(found, body->file, body->text, true);
	if (rc == 0 && p)
		rc = plan_memo_put(p, sum, found);
	return rc;
}

/* Fills plan->warnings: each step's warnings placed in its manifest,
 * one already there (same code and place) not again. */
static int plan_find_warnings(struct dbreg_plan *plan, struct dbreg_plan_memo *memo)
{
	struct dbreg_diag_list *out = &plan->warnings;
	for (size_t i = 0; i < plan->n_steps; i++) {
		const struct dbreg_step *st = &plan->steps[i];
		const struct dbreg_plan_src *src = &plan->src[i];
		/* The body validate checks, whatever the dialect: what runs on
		 * PostgreSQL (a body for SQLite alone is not read with the
		 * PostgreSQL grammar). On SQLite too, so that a run whose
		 * validation the state file skips warns as the first one did. */
		const struct dbreg_sql *body = dbreg_plan_memo_checked(src->mig);
		/* A downgrade drops what its ups made, rows with it: said as an
		 * up's DROP is (DBR103), of the body that runs, at its place.
		 * Not for reset and watch, on development targets, where that is
		 * the point. */
		if (!st->up)
			body = plan->downgrade ? src->body : NULL;
		if (!body || !body->text)
			continue;
		struct dbreg_diag_list found = DBREG_DIAG_LIST_INIT;
		int rc = plan_body_warnings(plan, i, body, memo, &found);
		for (size_t k = 0; rc == 0 && k < found.len; k++) {
			const struct dbreg_diag *d = &found.items[k];
			if (d->severity != DBREG_SEV_WARNING)
				continue;
			struct dbreg_diag_at at = { .file = body->file, .package = st->package,
						    .table = d->table, .column_name = d->column_name,
						    .migration = st->migration };
			dbreg_sql_loc(body, plan_offset(body->text, d->line, d->column), &at.line, &at.column);
			struct dbreg_diag placed = { .code = d->code, .file = (char *)at.file, .line = at.line,
						     .column = at.column };
			if (plan_warned(out, &placed))
				continue;
			rc = dbreg_diag_addf(out, d->code, &at, "%s%s", st->up ? "" : "down: ", d->message);
			/* An up's hint is about a later release; a down's data is gone. */
			if (rc == 0 && !st->up && strstr(d->message, " deletes "))
				rc = dbreg_diag_hintf(out, "back the rows up first: applying the migration again does "
							   "not bring them back");
			else if (rc == 0 && d->hint)
				rc = dbreg_diag_hintf(out, "%s", d->hint);
		}
		dbreg_diag_list_dispose(&found);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int dbreg_plan_warnings(const struct dbreg_plan *plan, struct dbreg_diag_list *out)
{
	/* plan->warnings holds each once: checking against out alone gives
	 * what adding them one by one to out would. */
	size_t before = out->len;
	for (size_t i = 0; plan && i < plan->warnings.len; i++) {
		const struct dbreg_diag *d = &plan->warnings.items[i];
		bool known = false;
		for (size_t j = 0; j < before && !known; j++) {
			const struct dbreg_diag *o = &out->items[j];
			known = strcmp(o->code, d->code) == 0 && o->line == d->line && o->column == d->column &&
				o->file && d->file && strcmp(o->file, d->file) == 0;
		}
		if (!known && dbreg_diag_copy(out, d) != 0)
			return DBREG_ENOMEM;
	}
	return 0;
}
