/* Hot reload: a registry loaded again from a project, re-reading only the
 * files whose content changed and re-checking only what a change can
 * affect. The idea: each registry keeps, per manifest, its content checksum
 * and the findings that loading it and checking its SQL produced; the
 * cheap whole-registry checks (graph, rules) always run again, the costly
 * per-package SQL checks (sqlcheck.c, replay.c) only for the packages this
 * file decides on, and the other packages' findings are carried over. */
#include "diag.h"
#include "inputs.h"
#include "graph.h"
#include "registry.h"
#include "reload.h"
#include "schemadiff.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What one manifest left behind, for the next reload. */
struct reload_entry {
	char *file;                    /* as the registry names it (pkg->file) */
	struct dbreg_package *pkg;     /* borrowed from the registry; NULL: not TOML (DBR001) */
	char sum[72];                  /* of the manifest's bytes */
	struct dbreg_diag_list load;   /* findings of loading it */
	struct dbreg_diag_list sql;    /* findings of its SQL checks */
	uint64_t rules_fp;             /* fingerprint of its graph and rules findings */
	char **idents;                 /* every identifier its SQL bodies name, lowercased, sorted, unique */
	size_t n_idents;
	bool sql_checked;              /* sql holds a result (false after a skip_sql validation) */
	bool stand_in;                 /* the file is not TOML: pkg is the last one that loaded, and the
					  file's DBR001 its only finding */
};

struct dbreg_reload_cache {
	struct reload_entry *items;    /* sorted by file */
	size_t n;
};

static void reload_entry_dispose(struct reload_entry *e)
{
	free(e->file);
	dbreg_diag_list_dispose(&e->load);
	dbreg_diag_list_dispose(&e->sql);
	dbreg_strv_free(e->idents, e->n_idents);
	memset(e, 0, sizeof(*e));
}

static void reload_cache_free(struct dbreg_reload_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < cache->n; i++)
		reload_entry_dispose(&cache->items[i]);
	free(cache->items);
	free(cache);
}

static bool reload_below(const void *ctx, size_t i, const char *file)
{
	return strcmp(((const struct dbreg_reload_cache *)ctx)->items[i].file, file) < 0;
}

static struct reload_entry *reload_find(const struct dbreg_reload_cache *c, const char *file)
{
	size_t n = c ? c->n : 0, lo = dbreg_lower_bound(n, reload_below, c, file);
	return lo < n && strcmp(c->items[lo].file, file) == 0 ? &c->items[lo] : NULL;
}

/* ---- the changes list ------------------------------------------------------ */

void dbreg_changes_dispose(struct dbreg_changes *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->len; i++) {
		free(c->items[i].package);
		free(c->items[i].table);
		free(c->items[i].name);
		free(c->items[i].detail);
	}
	free(c->items);
	*c = (struct dbreg_changes)DBREG_CHANGES_INIT;
}

const char *dbreg_change_kind_name(enum dbreg_change_kind kind)
{
	static const char *const names[] = {"added", "removed", "changed"};
	return (size_t)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

const char *dbreg_change_what_name(enum dbreg_change_what what)
{
	static const char *const names[] = {"file", "package", "table", "column", "index", "migration"};
	return (size_t)what < sizeof(names) / sizeof(names[0]) ? names[what] : "?";
}

int dbreg_changes_add(struct dbreg_changes *c, enum dbreg_change_what what, enum dbreg_change_kind kind,
		      const char *package, const char *table, const char *name, const char *detail)
{
	if (!c)
		return 0;
	if (c->len == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct dbreg_change *items = realloc(c->items, cap * sizeof(*items));
		if (!items)
			return DBREG_ENOMEM;
		c->items = items;
		c->cap = cap;
	}
	struct dbreg_change *ch = &c->items[c->len];
	*ch = (struct dbreg_change){what, kind, dbreg_strdup(package), dbreg_strdup(table), dbreg_strdup(name),
				    dbreg_strdup(detail)};
	if ((package && !ch->package) || (table && !ch->table) || (name && !ch->name) || (detail && !ch->detail)) {
		free(ch->package);
		free(ch->table);
		free(ch->name);
		free(ch->detail);
		return DBREG_ENOMEM;
	}
	c->len++;
	if (what == DBREG_CHANGE_FILE)
		c->n_files++;
	return 0;
}

/* ---- per-package facts ------------------------------------------------------ */

/* The bodies of a migration, in one order. */
static void reload_bodies(const struct dbreg_migration *m, const struct dbreg_sql *out[6])
{
	out[0] = &m->up;
	out[1] = &m->up_postgres;
	out[2] = &m->up_sqlite;
	out[3] = &m->down;
	out[4] = &m->down_postgres;
	out[5] = &m->down_sqlite;
}

static int reload_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every identifier the package's SQL names (words and "quoted" names),
 * lowercased: whether a change to a table can matter to this package's
 * checks is then a binary search. */
static int reload_idents(struct reload_entry *e)
{
	const struct dbreg_package *pkg = e->pkg;
	for (size_t k = 0; pkg && k < pkg->n_migrations; k++) {
		const struct dbreg_sql *bodies[6];
		reload_bodies(&pkg->migrations[k], bodies);
		for (size_t j = 0; j < 6; j++) {
			const char *s = bodies[j]->text;
			for (size_t i = 0; s && s[i];) {
				unsigned char ch = (unsigned char)s[i];
				bool quoted = ch == '"';
				if (!quoted && !(ch == '_' || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z'))) {
					i++;
					continue;
				}
				size_t start = quoted ? i + 1 : i, end = start;
				while (s[end] && (quoted ? s[end] != '"'
						  : (s[end] == '_' || (s[end] >= '0' && s[end] <= '9') ||
						     ((s[end] | 0x20) >= 'a' && (s[end] | 0x20) <= 'z'))))
					end++;
				if (end > start && end - start < 64) {
					char word[64];
					for (size_t w = 0; w < end - start; w++)
						word[w] = (char)((s[start + w] >= 'A' && s[start + w] <= 'Z') ? s[start + w] | 0x20
														: s[start + w]);
					word[end - start] = '\0';
					if (dbreg_strv_push(&e->idents, &e->n_idents, word) != 0)
						return DBREG_ENOMEM;
				}
				i = quoted && s[end] ? end + 1 : end;
			}
		}
	}
	if (e->n_idents > 1) {
		qsort(e->idents, e->n_idents, sizeof(*e->idents), reload_strcmp);
		size_t k = 1;
		for (size_t i = 1; i < e->n_idents; i++) {
			if (strcmp(e->idents[i], e->idents[k - 1]) == 0)
				free(e->idents[i]);
			else
				e->idents[k++] = e->idents[i];
		}
		e->n_idents = k;
	}
	return 0;
}

static bool reload_names(const struct reload_entry *e, const char *word)
{
	return e->n_idents && bsearch(&word, e->idents, e->n_idents, sizeof(*e->idents), reload_strcmp) != NULL;
}

/* Whether the SQL files a package read still hold what it read. */
static bool reload_files_same(const struct dbreg_package *pkg)
{
	for (size_t k = 0; k < pkg->n_migrations; k++) {
		const struct dbreg_sql *bodies[6];
		reload_bodies(&pkg->migrations[k], bodies);
		for (size_t j = 0; j < 6; j++) {
			const struct dbreg_sql *b = bodies[j];
			if (!b->text || b->doc || !b->file)
				continue;
			char *text = NULL;
			size_t len = 0;
			bool same = dbreg_read_sql_file(b->file, &text, &len) == 0 && len == b->len &&
				    memcmp(text, b->text, len) == 0;
			free(text);
			if (!same)
				return false;
		}
	}
	return true;
}

/* A load finding that depends on a file outside the manifest: such a
 * package is read again on every reload (the file may have appeared). */
static bool reload_reads_missing_file(const struct reload_entry *e)
{
	for (size_t i = 0; i < e->load.len; i++)
		if (strcmp(e->load.items[i].code, "DBR014") == 0 && strstr(e->load.items[i].message, "cannot be read"))
			return true;
	return false;
}

static bool reload_in(const struct dbreg_reload_opts *o, const char *path)
{
	for (size_t i = 0; i < o->n_changed; i++)
		if (strcmp(o->changed[i], path) == 0)
			return true;
	return false;
}

/* Whether the watcher named a file of this package. */
static bool reload_touched(const struct dbreg_reload_opts *o, const char *full, const struct dbreg_package *pkg)
{
	if (reload_in(o, full))
		return true;
	for (size_t k = 0; pkg && k < pkg->n_migrations; k++) {
		const struct dbreg_sql *bodies[6];
		reload_bodies(&pkg->migrations[k], bodies);
		for (size_t j = 0; j < 6; j++)
			if (bodies[j]->text && !bodies[j]->doc && bodies[j]->file && reload_in(o, bodies[j]->file))
				return true;
	}
	return false;
}

/* Copies one finding to the end of a list. */
static uint64_t reload_fnv(uint64_t h, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

/* Which package (index into reg->packages) a finding is about, or n. */
static size_t reload_owner(const struct dbreg_registry *reg, const struct dbreg_diag *d,
			   const struct dbreg_reload_cache *cache)
{
	if (d->package) {
		size_t i = dbreg_registry_index(reg, d->package);
		if (i < reg->n_packages)
			return i;
	}
	const struct reload_entry *e = d->file ? reload_find(cache, d->file) : NULL;
	for (size_t i = 0; e && e->pkg && i < reg->n_packages; i++)
		if (reg->packages[i] == e->pkg)
			return i;
	return reg->n_packages;
}

struct reload_owner_ctx {
	const struct dbreg_registry *reg;
	const struct dbreg_reload_cache *cache;
	const size_t *ent_of;          /* package index -> cache entry */
};

static bool reload_about_stand_in(const struct dbreg_diag *d, const void *arg)
{
	const struct reload_owner_ctx *c = arg;
	size_t at = reload_owner(c->reg, d, c->cache);
	return at < c->reg->n_packages && c->cache->items[c->ent_of[at]].stand_in;
}

/* ---- what changed -------------------------------------------------------------- */

static bool reload_str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Migrations by id: added, removed, changed (any body). */
static int reload_migration_changes(struct dbreg_changes *c, const struct dbreg_package *o,
				    const struct dbreg_package *n)
{
	const char *name = n ? n->name : o->name;
	for (size_t k = 0; n && k < n->n_migrations; k++) {
		const struct dbreg_migration *m = &n->migrations[k], *om = NULL;
		for (size_t j = 0; o && j < o->n_migrations && !om; j++)
			if (reload_str_eq(o->migrations[j].id, m->id))
				om = &o->migrations[j];
		if (!om) {
			if (dbreg_changes_add(c, DBREG_CHANGE_MIGRATION, DBREG_CHANGE_ADDED, name, NULL, m->id, NULL))
				return DBREG_ENOMEM;
			continue;
		}
		const struct dbreg_sql *a[6], *b[6];
		reload_bodies(om, a);
		reload_bodies(m, b);
		static const char *const body_names[] = {"up", "up_postgres", "up_sqlite", "down", "down_postgres",
							 "down_sqlite"};
		struct dbreg_buf what = DBREG_BUF_INIT;
		for (size_t j = 0; j < 6; j++) {
			bool same = a[j]->len == b[j]->len && (!a[j]->text) == (!b[j]->text) &&
				    (!a[j]->text || memcmp(a[j]->text, b[j]->text, a[j]->len) == 0);
			if (!same)
				dbreg_buf_printf(&what, "%s%s", what.len ? ", " : "", body_names[j]);
		}
		if (!reload_str_eq(om->version_text, m->version_text))
			dbreg_buf_printf(&what, "%sversion %s -> %s", what.len ? ", " : "", om->version_text ? om->version_text : "?",
					 m->version_text ? m->version_text : "?");
		if (om->transaction != m->transaction)
			dbreg_buf_printf(&what, "%stransaction = %s", what.len ? ", " : "", m->transaction ? "true" : "false");
		int rc = 0;
		if (what.len)
			rc = dbreg_changes_add(c, DBREG_CHANGE_MIGRATION, DBREG_CHANGE_CHANGED, name, NULL, m->id, what.ptr);
		if (what.oom)
			rc = DBREG_ENOMEM;
		dbreg_buf_dispose(&what);
		if (rc)
			return rc;
	}
	for (size_t j = 0; o && j < o->n_migrations; j++) {
		bool kept = false;
		for (size_t k = 0; n && k < n->n_migrations && !kept; k++)
			kept = reload_str_eq(o->migrations[j].id, n->migrations[k].id);
		if (!kept && dbreg_changes_add(c, DBREG_CHANGE_MIGRATION, DBREG_CHANGE_REMOVED, name, NULL,
					       o->migrations[j].id, NULL))
			return DBREG_ENOMEM;
	}
	return 0;
}

/* One package's changes: itself, its declared schema, its migrations. */
static int reload_package_changes(struct dbreg_changes *c, const struct dbreg_package *o, const struct dbreg_package *n)
{
	const char *name = n ? n->name : o->name;
	if (!name)
		return 0;
	int rc = 0;
	if (!o)
		rc = dbreg_changes_add(c, DBREG_CHANGE_PACKAGE, DBREG_CHANGE_ADDED, name, NULL, name, n->version_text);
	else if (!n)
		rc = dbreg_changes_add(c, DBREG_CHANGE_PACKAGE, DBREG_CHANGE_REMOVED, name, NULL, name, NULL);
	else if (!reload_str_eq(o->version_text, n->version_text)) {
		char *d = dbreg_printf("version %s -> %s", o->version_text ? o->version_text : "?",
				       n->version_text ? n->version_text : "?");
		rc = d ? dbreg_changes_add(c, DBREG_CHANGE_PACKAGE, DBREG_CHANGE_CHANGED, name, NULL, name, d)
		       : DBREG_ENOMEM;
		free(d);
	}
	if (rc == 0)
		rc = dbreg_reload_schema_changes(c, o, n);
	if (rc == 0)
		rc = reload_migration_changes(c, o, n);
	return rc;
}

/* Files: manifests added, removed or changed, and SQL files whose text changed. */
static int reload_file_changes(struct dbreg_changes *c, const struct reload_entry *o, const struct reload_entry *n)
{
	if (!o || !n)
		return dbreg_changes_add(c, DBREG_CHANGE_FILE, o ? DBREG_CHANGE_REMOVED : DBREG_CHANGE_ADDED, NULL, NULL,
					 o ? o->file : n->file, NULL);
	if (strcmp(o->sum, n->sum) != 0 &&
	    dbreg_changes_add(c, DBREG_CHANGE_FILE, DBREG_CHANGE_CHANGED, NULL, NULL, n->file, NULL))
		return DBREG_ENOMEM;
	for (size_t k = 0; n->pkg && o->pkg && k < n->pkg->n_migrations; k++) {
		const struct dbreg_sql *b[6];
		reload_bodies(&n->pkg->migrations[k], b);
		for (size_t j = 0; j < 6; j++) {
			if (!b[j]->text || b[j]->doc || !b[j]->file)
				continue;
			bool same = false, seen = false;
			for (size_t i = 0; i < o->pkg->n_migrations && !seen; i++) {
				const struct dbreg_sql *a[6];
				reload_bodies(&o->pkg->migrations[i], a);
				for (size_t x = 0; x < 6 && !seen; x++) {
					if (a[x]->text && !a[x]->doc && a[x]->file && strcmp(a[x]->file, b[j]->file) == 0) {
						seen = true;
						same = a[x]->len == b[j]->len && memcmp(a[x]->text, b[j]->text, b[j]->len) == 0;
					}
				}
			}
			bool listed = false;
			for (size_t i = 0; i < c->len && !listed; i++)
				listed = c->items[i].what == DBREG_CHANGE_FILE && strcmp(c->items[i].name, b[j]->file) == 0;
			if (!same && !listed &&
			    dbreg_changes_add(c, DBREG_CHANGE_FILE, seen ? DBREG_CHANGE_CHANGED : DBREG_CHANGE_ADDED, NULL,
					      NULL, b[j]->file, NULL))
				return DBREG_ENOMEM;
		}
	}
	return 0;
}

/* ---- the reload ------------------------------------------------------------------ */

/* One manifest of the new load, before anything moves. */
struct reload_item {
	char *rel;                     /* as the registry names it */
	struct reload_entry *old;      /* the previous load's entry, NULL when new */
	bool reuse;                    /* take old->pkg over */
	bool stand_in;                 /* not TOML now (DBR001): old->pkg stands in for it, with this
					  file's sum and findings, so that nothing of it reads as removed */
	struct dbreg_package *pkg;     /* read anew (owned until inserted) */
	struct dbreg_diag_list load;
	char sum[72];
	const char *why;               /* for the log */
};

/* Whether the new registry holds the previous load's package for it. */
static bool reload_took_old(const struct reload_item *it)
{
	return it->reuse || it->stand_in;
}

static void reload_log(const struct dbreg_reload_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reload_log(const struct dbreg_reload_opts *o, const char *fmt, ...)
{
	if (!o->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("  reload: ", o->log);
	vfprintf(o->log, fmt, ap);
	fputc('\n', o->log);
	va_end(ap);
}

/* Reads and parses one manifest into it, unless its content is the old one's. */
static int reload_read(struct reload_item *it, const struct dbreg_project *p, const struct dbreg_reload_opts *o)
{
	char *full = dbreg_registry_full_path(p, it->rel);
	if (!full)
		return DBREG_ENOMEM;
	if (it->old && it->old->pkg && o->changed && !reload_touched(o, full, it->old->pkg) &&
	    !reload_reads_missing_file(it->old)) {
		it->reuse = true;
		free(full);
		return 0;
	}
	char *text = NULL;
	size_t len = 0;
	int rc = 0;
	if (dbreg_read_file(full, &text, &len) != 0) {
		/* Gone between the listing and now (an editor's rename): as a file that says nothing. */
		rc = dbreg_registry_unreadable(&it->load, full, errno);
		snprintf(it->sum, sizeof(it->sum), "unreadable");
		it->why = "its manifest changed";
		it->stand_in = rc == 0 && it->old && it->old->pkg;
		free(full);
		return rc;
	}
	dbreg_sha256_hex(text, len, it->sum);
	if (it->old && strcmp(it->old->sum, it->sum) == 0 && (!it->old->pkg || reload_files_same(it->old->pkg)) &&
	    !reload_reads_missing_file(it->old)) {
		it->reuse = true;   /* saved, but the same bytes: nothing changed */
	} else {
		it->why = !it->old ? "a new manifest" : strcmp(it->old->sum, it->sum) != 0 ? "its manifest changed"
											  : "an SQL file of it changed";
		const char *slash = strrchr(full, '/');
		char *dir = slash ? dbreg_strndup(full, (size_t)(slash == full ? 1 : slash - full)) : dbreg_strdup(".");
		/* Named as opened, as dbreg_registry_load_project names it. */
		rc = dir ? dbreg_manifest_load(&it->pkg, &it->load, full, dir, text, len) : DBREG_ENOMEM;
		free(dir);
	}
	/* A save half way through an edit: the last package that loaded
	 * stays, and the file's error stops the round (nothing is planned). */
	it->stand_in = rc == 0 && !it->reuse && !it->pkg && it->old && it->old->pkg;
	free(text);
	free(full);
	return rc;
}

int dbreg_registry_reload(struct dbreg_registry **out, struct dbreg_registry *old, const struct dbreg_project *p,
			  const struct dbreg_reload_opts *opts, struct dbreg_changes *changes)
{
	static const struct dbreg_reload_opts none = {0};
	const struct dbreg_reload_opts *o = opts ? opts : &none;
	const struct dbreg_validate_opts *vo = o->validate;
	double t0 = dbreg_clock_ms(), t_read, t_rules, t_sql;
	*out = NULL;
	struct dbreg_registry *reg = NULL;
	struct dbreg_reload_cache *cache = NULL, *prev = old ? old->reload : NULL;
	struct reload_item *items = NULL;
	char **paths = NULL;
	size_t n = 0;
	bool *check = NULL, *moved = NULL;
	struct dbreg_graph *graph = NULL;
	size_t *ent_of = NULL;
	int rc = dbreg_registry_new(&reg);
	if (rc)
		return rc;
	if ((rc = dbreg_registry_manifest_paths(reg, p, &paths, &n)) != 0) {
		if (old)
			dbreg_registry_fail(old, rc, "%s", reg->errmsg);
		goto fail;
	}
	items = calloc(n + 1, sizeof(*items));
	cache = calloc(1, sizeof(*cache));
	if (!items || !cache || !(cache->items = calloc(n + 1, sizeof(*cache->items))))
		goto oom;

	/* 1. Read what changed; nothing moves yet, so a failure leaves old whole. */
	size_t n_loaded = 0;
	for (size_t i = 0; i < n; i++) {
		items[i].rel = paths[i];
		items[i].old = reload_find(prev, paths[i]);
		if ((rc = reload_read(&items[i], p, o)) != 0)
			goto fail;
		if (!items[i].reuse) {
			n_loaded++;
			reload_log(o, "read %s (%s)%s", paths[i], items[i].why,
				   items[i].stand_in ? ": it does not load, its last good package stands in" : "");
		}
	}
	t_read = dbreg_clock_ms();

	/* 2. Build the new registry: packages taken over, and the new ones. */
	moved = old ? calloc(old->n_packages + 1, sizeof(*moved)) : NULL;
	if (old && !moved)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct reload_item *it = &items[i];
		struct reload_entry *e = &cache->items[cache->n];
		if (!(e->file = dbreg_strdup(it->rel)))
			goto oom;
		cache->n++;
		if (reload_took_old(it)) {
			e->pkg = it->old->pkg;
			memcpy(e->sum, it->reuse ? it->old->sum : it->sum, sizeof(e->sum));
			e->load = it->reuse ? it->old->load : it->load;
			*(it->reuse ? &it->old->load : &it->load) = (struct dbreg_diag_list)DBREG_DIAG_LIST_INIT;
			e->idents = it->old->idents;
			e->n_idents = it->old->n_idents;
			it->old->idents = NULL;
			it->old->n_idents = 0;
			e->rules_fp = it->old->rules_fp;
			e->stand_in = it->stand_in || it->old->stand_in;
		} else {
			e->pkg = it->pkg;
			memcpy(e->sum, it->sum, sizeof(e->sum));
			e->load = it->load;
			it->load = (struct dbreg_diag_list)DBREG_DIAG_LIST_INIT;
			if (reload_idents(e) != 0)
				goto oom;
		}
		if (e->pkg && dbreg_registry_insert(reg, e->pkg) != 0)
			goto oom;
		if (reload_took_old(it)) {
			for (size_t k = 0; k < old->n_packages; k++)
				if (old->packages[k] == e->pkg)
					moved[k] = true;
		} else {
			it->pkg = NULL;   /* the registry's now */
		}
		if (dbreg_diag_list_copy(&reg->diags, &e->load) != 0)
			goto oom;
	}
	/* From here on nothing fails but allocation: take the packages out of old. */
	if (old) {
		size_t k = 0;
		for (size_t i = 0; i < old->n_packages; i++)
			if (!moved[i])
				old->packages[k++] = old->packages[i];
		old->n_packages = k;
	}
	reg->reload = cache;
	reg->reload_free = reload_cache_free;
	ent_of = calloc(reg->n_packages + 1, sizeof(*ent_of));
	check = calloc(reg->n_packages + 1, sizeof(*check));
	if (!ent_of || !check)
		goto oom_late;
	for (size_t i = 0; i < reg->n_packages; i++)
		for (size_t k = 0; k < cache->n; k++)
			if (cache->items[k].pkg == reg->packages[i])
				ent_of[i] = k;

	/* 3. The whole-registry checks, and each package's share of them. */
	size_t mark = reg->diags.len;
	if ((rc = dbreg_validate_declarations(reg, &graph)) != 0)
		goto late_out;
	uint64_t *fp = calloc(reg->n_packages + 1, sizeof(*fp));
	if (!fp)
		goto oom_late;
	for (size_t i = 0; i < reg->n_packages; i++)
		fp[i] = 1469598103934665603ULL;
	for (size_t i = mark; i < reg->diags.len; i++) {
		const struct dbreg_diag *d = &reg->diags.items[i];
		size_t at = reload_owner(reg, d, cache);
		if (at < reg->n_packages)
			fp[at] = reload_fnv(reload_fnv(reload_fnv(fp[at], d->code), d->message), d->table);
	}
	/* A stand-in says nothing but its file's DBR001: what the checks find
	 * in it is about a text that is no longer there. */
	dbreg_diag_list_drop(&reg->diags, mark, reload_about_stand_in, &(struct reload_owner_ctx){reg, cache, ent_of});
	t_rules = dbreg_clock_ms();

	/* 4. Which packages' SQL to check again, and why. Tables whose
	 * declarations changed (any table of a package read anew or removed,
	 * before and after) matter to every package whose SQL names them. */
	struct dbreg_changes tables = DBREG_CHANGES_INIT;
	for (size_t i = 0; i < n; i++)
		if (!reload_took_old(&items[i]) && items[i].old && items[i].old->pkg)
			for (size_t t = 0; t < items[i].old->pkg->n_tables; t++)
				if (dbreg_changes_add(&tables, DBREG_CHANGE_TABLE, DBREG_CHANGE_CHANGED, NULL,
						      items[i].old->pkg->tables[t].name, NULL, NULL))
					goto oom_tables;
	for (size_t i = 0; prev && i < n; i++)
		for (size_t t = 0; !reload_took_old(&items[i]) && cache->items[i].pkg && t < cache->items[i].pkg->n_tables; t++)
			if (dbreg_changes_add(&tables, DBREG_CHANGE_TABLE, DBREG_CHANGE_CHANGED, NULL,
					      cache->items[i].pkg->tables[t].name, NULL, NULL))
				goto oom_tables;
	for (size_t i = 0; old && i < old->n_packages; i++)
		for (size_t t = 0; t < old->packages[i]->n_tables; t++)
			if (dbreg_changes_add(&tables, DBREG_CHANGE_TABLE, DBREG_CHANGE_CHANGED, NULL,
					      old->packages[i]->tables[t].name, NULL, NULL))
				goto oom_tables;
	size_t n_check = 0;
	bool skip_sql = vo && vo->skip_sql;
	for (size_t i = 0; i < reg->n_packages && !skip_sql; i++) {
		struct reload_entry *e = &cache->items[ent_of[i]];
		const struct reload_item *it = &items[ent_of[i]];
		const char *why = NULL, *which = NULL;
		if (e->stand_in)
			continue;
		if (!reload_took_old(it))
			why = it->why;
		else if (!it->old->sql_checked)
			why = "not checked before";
		else if (it->old->rules_fp != fp[i])
			why = "its other findings changed";
		for (size_t t = 0; !why && t < tables.len; t++)
			if (reload_names(e, tables.items[t].table))
				why = "it names a table that changed", which = tables.items[t].table;
		if (why) {
			check[i] = true;
			n_check++;
			if (o->log && (prev || n_check <= 3))
				reload_log(o, "checking the SQL of %s: %s%s%s%s", reg->packages[i]->name ? reg->packages[i]->name
													   : e->file,
					   why, which ? " (" : "", which ? which : "", which ? ")" : "");
		}
	}
	dbreg_changes_dispose(&tables);
	for (size_t i = 0; i < reg->n_packages; i++)
		cache->items[ent_of[i]].rules_fp = fp[i];
	free(fp);
	fp = NULL;
	if (o->log && !prev && n_check > 3)
		reload_log(o, "... and %zu more: a first load checks every package", n_check - 3);

	/* 5. The SQL checks of those packages; the others keep theirs. */
	mark = reg->diags.len;
	if (n_check) {
		reg->check_only = check;
		rc = dbreg_validate_sql(reg, graph);
		reg->check_only = NULL;
		if (rc != 0)
			goto late_out;
	}
	for (size_t i = mark; i < reg->diags.len; i++) {
		size_t at = reload_owner(reg, &reg->diags.items[i], cache);
		if (at < reg->n_packages && dbreg_diag_copy(&cache->items[ent_of[at]].sql, &reg->diags.items[i]))
			goto oom_late;
	}
	for (size_t i = 0; i < reg->n_packages; i++) {
		struct reload_entry *e = &cache->items[ent_of[i]];
		struct reload_item *it = &items[ent_of[i]];
		if (check[i]) {
			e->sql_checked = true;
		} else if (!skip_sql && it->reuse && !e->stand_in) {
			e->sql = it->old->sql;
			e->sql_checked = it->old->sql_checked;
			it->old->sql = (struct dbreg_diag_list)DBREG_DIAG_LIST_INIT;
			if (dbreg_diag_list_copy(&reg->diags, &e->sql) != 0)
				goto oom_late;
		}
	}
	t_sql = dbreg_clock_ms();

	/* 6. What changed, from the entries of both loads. */
	if (changes && prev) {
		for (size_t i = 0; i < n; i++)
			if (!items[i].reuse && reload_file_changes(changes, items[i].old, &cache->items[i]))
				goto oom_late;
		for (size_t i = 0; prev && i < prev->n; i++)
			if (!reload_find(cache, prev->items[i].file) && reload_file_changes(changes, &prev->items[i], NULL))
				goto oom_late;
		/* Packages in name order: the old side is what old kept. */
		for (size_t i = 0; i < reg->n_packages; i++) {
			const struct reload_item *it = &items[ent_of[i]];
			const struct dbreg_package *np = reg->packages[i];
			if (reload_took_old(it))
				continue;
			const struct dbreg_package *op = old && np->name ? dbreg_registry_find(old, np->name) : NULL;
			if (reload_package_changes(changes, op, np))
				goto oom_late;
		}
		for (size_t i = 0; old && i < old->n_packages; i++)
			if (old->packages[i]->name && !dbreg_registry_find(reg, old->packages[i]->name) &&
			    reload_package_changes(changes, old->packages[i], NULL))
				goto oom_late;
	}
	if (changes) {
		for (size_t i = 0; i < cache->n; i++)
			changes->stand_ins += cache->items[i].stand_in;
		changes->loaded = n_loaded;
		changes->rechecked = n_check;
	}

	if (old) {
		/* old keeps packages, not the findings about the registry it was. */
		reload_cache_free(old->reload);
		old->reload = NULL;
	}
	double t1 = dbreg_clock_ms();
	if (changes)
		changes->ms = t1 - t0;
	reload_log(o, "%zu of %zu manifests read in %.1f ms; graph and rules over %zu packages in %.1f ms; "
		      "SQL checks of %zu package%s in %.1f ms; %.1f ms in all",
		   n_loaded, n, t_read - t0, reg->n_packages, t_rules - t_read, n_check, n_check == 1 ? "" : "s",
		   t_sql - t_rules, t1 - t0);
	rc = 0;
	goto late_out;

oom_tables:
	dbreg_changes_dispose(&tables);
	free(fp);
oom_late:
	rc = DBREG_ENOMEM;
late_out:
	/* The packages moved already: the new registry is returned, as it is,
	 * so that nothing is lost; after a failure its message says what failed. */
	for (size_t i = 0; i < n; i++)
		dbreg_diag_list_dispose(&items[i].load);
	free(items);
	dbreg_strv_free(paths, n);
	free(check);
	free(moved);
	free(ent_of);
	*out = reg;
	if (rc == 0)
		return dbreg_validate_finish(reg, graph, vo);
	dbreg_graph_free(graph);
	return rc == DBREG_ENOMEM ? dbreg_registry_fail(reg, rc, "out of memory") : rc;

oom:
	rc = DBREG_ENOMEM;
fail:
	/* Packages read anew are the new registry's; those taken over are old's. */
	for (size_t i = 0; reg && i < reg->n_packages; i++) {
		bool from_old = false;
		for (size_t k = 0; old && k < old->n_packages && !from_old; k++)
			from_old = old->packages[k] == reg->packages[i];
		if (!from_old)
			dbreg_package_free(reg->packages[i]);
	}
	for (size_t i = 0; items && i < n; i++) {
		dbreg_package_free(items[i].pkg);
		dbreg_diag_list_dispose(&items[i].load);
	}
	/* Packages inserted but owned by old must not be freed with reg. */
	if (reg)
		reg->n_packages = 0;
	dbreg_registry_free(reg);
	reload_cache_free(cache);
	free(items);
	dbreg_strv_free(paths, n);
	free(moved);
	return rc;
}

/* ---- the declared schema's changes (through the one differ) ------------------- */

/* Words for a default: what the manifest wrote, or "none". */
static const char *reload_default_text(const struct dbreg_schema_column *c)
{
	return c && c->def.kind != DBREG_DV_NONE && c->def.text ? c->def.text : "none";
}

static int reload_sdiff_change(struct dbreg_changes *c, const char *pkg, const struct dbreg_sdiff *d)
{
	const char *table = d->want_table ? d->want_table->name : d->have_table ? d->have_table->name : NULL;
	const struct dbreg_schema_column *wc = d->want_col, *hc = d->have_col;
	const struct dbreg_schema_index *wi = d->want_ix, *hi = d->have_ix;
	char detail[512] = "";
	switch (d->kind) {
	case DBREG_SDIFF_TABLE_MISSING:
		return dbreg_changes_add(c, DBREG_CHANGE_TABLE, DBREG_CHANGE_ADDED, pkg, table, table, NULL);
	case DBREG_SDIFF_TABLE_EXTRA:
		return dbreg_changes_add(c, DBREG_CHANGE_TABLE, DBREG_CHANGE_REMOVED, pkg, table, table, NULL);
	case DBREG_SDIFF_COLUMN_MISSING:
		snprintf(detail, sizeof detail, "%s%s", wc->type ? wc->type : "", wc->not_null ? " not null" : "");
		return dbreg_changes_add(c, DBREG_CHANGE_COLUMN, DBREG_CHANGE_ADDED, pkg, table, wc->name, detail);
	case DBREG_SDIFF_COLUMN_EXTRA:
		return dbreg_changes_add(c, DBREG_CHANGE_COLUMN, DBREG_CHANGE_REMOVED, pkg, table, hc->name, NULL);
	case DBREG_SDIFF_COLUMN_TYPE:
		snprintf(detail, sizeof detail, "type %s -> %s", hc->type ? hc->type : "?", wc->type ? wc->type : "?");
		break;
	case DBREG_SDIFF_COLUMN_NULLABILITY:
		snprintf(detail, sizeof detail, "%s", wc->not_null ? "now not null" : "now nullable");
		break;
	case DBREG_SDIFF_COLUMN_DEFAULT:
		snprintf(detail, sizeof detail, "default %s -> %s", reload_default_text(hc), reload_default_text(wc));
		break;
	case DBREG_SDIFF_PRIMARY_KEY:
		return dbreg_changes_add(c, DBREG_CHANGE_TABLE, DBREG_CHANGE_CHANGED, pkg, table, table, "primary key");
	case DBREG_SDIFF_UNIQUE_MISSING:
		return dbreg_changes_add(c, DBREG_CHANGE_TABLE, DBREG_CHANGE_CHANGED, pkg, table, table,
					 "a unique constraint added");
	case DBREG_SDIFF_FKEY_MISSING:
	case DBREG_SDIFF_FKEY_EXTRA:
	case DBREG_SDIFF_FKEY_TARGET:
	case DBREG_SDIFF_FKEY_ACTION: {
		const struct dbreg_schema_fkey *fk = d->want_fk ? d->want_fk : d->have_fk;
		snprintf(detail, sizeof detail, "foreign key to %s %s", fk && fk->ref_table ? fk->ref_table : "?",
			 d->kind == DBREG_SDIFF_FKEY_MISSING ? "added" : d->kind == DBREG_SDIFF_FKEY_EXTRA ? "removed"
													    : "changed");
		if (fk && fk->n_columns == 1)
			return dbreg_changes_add(c, DBREG_CHANGE_COLUMN, DBREG_CHANGE_CHANGED, pkg, table, fk->columns[0],
						 detail);
		return dbreg_changes_add(c, DBREG_CHANGE_TABLE, DBREG_CHANGE_CHANGED, pkg, table, table, detail);
	}
	case DBREG_SDIFF_INDEX_MISSING:
		return dbreg_changes_add(c, DBREG_CHANGE_INDEX, DBREG_CHANGE_ADDED, pkg, table, wi->name, NULL);
	case DBREG_SDIFF_INDEX_EXTRA:
		return dbreg_changes_add(c, DBREG_CHANGE_INDEX, DBREG_CHANGE_REMOVED, pkg, table, hi->name, NULL);
	case DBREG_SDIFF_INDEX_COLUMNS:
	case DBREG_SDIFF_INDEX_UNIQUE:
		return dbreg_changes_add(c, DBREG_CHANGE_INDEX, DBREG_CHANGE_CHANGED, pkg, table, wi->name,
					 d->kind == DBREG_SDIFF_INDEX_COLUMNS ? "columns" : "uniqueness");
	case DBREG_SDIFF_INDEX_NAME:
		snprintf(detail, sizeof detail, "renamed from %s", hi->name);
		return dbreg_changes_add(c, DBREG_CHANGE_INDEX, DBREG_CHANGE_CHANGED, pkg, table, wi->name, detail);
	case DBREG_SDIFF_INDEX_INVALID:
	case DBREG_SDIFF_FKEY_INVALID:
		return 0;   /* a catalog's notion */
	}
	return dbreg_changes_add(c, DBREG_CHANGE_COLUMN, DBREG_CHANGE_CHANGED, pkg, table, wc ? wc->name : NULL, detail);
}

int dbreg_reload_schema_changes(struct dbreg_changes *c, const struct dbreg_package *old_pkg,
				const struct dbreg_package *new_pkg)
{
	struct dbreg_schema *want = NULL, *have = NULL;
	struct dbreg_sdiff_list diffs = DBREG_SDIFF_LIST_INIT;
	const char *pkg = new_pkg ? new_pkg->name : old_pkg->name;
	/* The new declarations are wanted, the old ones had: what is missing
	 * was added, what is extra was removed. */
	int rc = dbreg_schema_new(&want, DBREG_SCHEMA_DECLARED, DBREG_DIALECT_POSTGRES);
	if (rc == 0)
		rc = dbreg_schema_new(&have, DBREG_SCHEMA_DECLARED, DBREG_DIALECT_POSTGRES);
	if (rc == 0 && new_pkg)
		rc = dbreg_schema_add_package(want, new_pkg);
	if (rc == 0 && old_pkg)
		rc = dbreg_schema_add_package(have, old_pkg);
	struct dbreg_sdiff_opts so = {.defaults = true, .extra_tables = true};
	if (rc == 0)
		rc = dbreg_schema_diff(&diffs, want, have, &so);
	for (size_t i = 0; rc == 0 && i < diffs.len; i++)
		rc = reload_sdiff_change(c, pkg, &diffs.items[i]);
	dbreg_sdiff_list_dispose(&diffs);
	dbreg_schema_free(want);
	dbreg_schema_free(have);
	return rc;
}
