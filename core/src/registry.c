/* The registry: the set of loaded packages and the diagnostics about them.
 * Packages are kept sorted by name (stable: equal names stay in load order),
 * so lookups are binary searches and every listing is deterministic. */
#include "diag.h"
#include "inputs.h"
#include "registry.h"
#include "util.h"
#include "workers.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int dbreg_registry_new(struct dbreg_registry **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? 0 : DBREG_ENOMEM;
}

void dbreg_registry_free(struct dbreg_registry *reg)
{
	if (reg == NULL)
		return;
	for (size_t i = 0; i < reg->n_packages; i++)
		dbreg_package_free(reg->packages[i]);
	free(reg->packages);
	free(reg->order);
	dbreg_diag_list_dispose(&reg->diags);
	free(reg->source);
	if (reg->reload && reg->reload_free)
		reg->reload_free(reg->reload);   /* reload.c's, freed without calling up into it */
	if (reg->check_cache && reg->check_cache_free)
		reg->check_cache_free(reg->check_cache);   /* checkcache.c's, the same way */
	free(reg);
}

int dbreg_registry_fail(struct dbreg_registry *reg, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reg->errmsg, sizeof reg->errmsg, fmt, ap);
	va_end(ap);
	return code;
}

const char *dbreg_registry_errmsg(const struct dbreg_registry *reg)
{
	return reg ? reg->errmsg : "";
}

/* Name order with nameless packages (DBR010) last. */
static int registry_cmp_name(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL);
	return strcmp(a, b);
}

static bool registry_not_after(const void *ctx, size_t i, const char *name)
{
	return registry_cmp_name(((const struct dbreg_registry *)ctx)->packages[i]->name, name) <= 0;
}

/* Inserts after every package whose name sorts before or equal. */
int dbreg_registry_insert(struct dbreg_registry *reg, struct dbreg_package *pkg)
{
	if (reg->n_packages == reg->cap_packages) {
		size_t cap = reg->cap_packages ? reg->cap_packages * 2 : 16;
		struct dbreg_package **p = realloc(reg->packages, cap * sizeof *p);
		if (p == NULL)
			return DBREG_ENOMEM;
		reg->packages = p;
		reg->cap_packages = cap;
	}
	size_t lo = dbreg_lower_bound(reg->n_packages, registry_not_after, reg, pkg->name);
	memmove(&reg->packages[lo + 1], &reg->packages[lo], (reg->n_packages - lo) * sizeof *reg->packages);
	/* A validation's plan order no longer holds. */
	free(reg->order);
	reg->order = NULL;
	reg->packages[lo] = pkg;
	reg->n_packages++;
	return 0;
}

static bool registry_below(const void *ctx, size_t i, const char *name)
{
	return registry_cmp_name(((const struct dbreg_registry *)ctx)->packages[i]->name, name) < 0;
}

size_t dbreg_registry_index(const struct dbreg_registry *reg, const char *name)
{
	if (reg == NULL || name == NULL)
		return reg ? reg->n_packages : 0;
	size_t lo = dbreg_lower_bound(reg->n_packages, registry_below, reg, name);
	if (lo < reg->n_packages && reg->packages[lo]->name && strcmp(reg->packages[lo]->name, name) == 0)
		return lo;
	return reg->n_packages;
}

struct dbreg_package *dbreg_registry_find(const struct dbreg_registry *reg, const char *name)
{
	size_t i = dbreg_registry_index(reg, name);
	return reg && i < reg->n_packages ? reg->packages[i] : NULL;
}

int dbreg_registry_checks_forget(struct dbreg_registry *reg)
{
	if (!reg->checked)
		return 0;
	struct dbreg_diag_list gone = DBREG_DIAG_LIST_INIT;
	int rc = dbreg_diag_list_move_from(&gone, &reg->diags, reg->checked_from);
	dbreg_diag_list_dispose(&gone);
	if (rc != 0)
		return dbreg_registry_fail(reg, rc, "out of memory");
	reg->checked = false;
	return 0;
}

int dbreg_registry_checks_begin(struct dbreg_registry *reg)
{
	int rc = dbreg_registry_checks_forget(reg);
	reg->checked = true;
	reg->checked_from = reg->diags.len;
	return rc;
}

int dbreg_registry_add_string(struct dbreg_registry *reg, const char *name, const char *base_dir,
			      const char *text, size_t len)
{
	struct dbreg_package *pkg = NULL;
	int rc = dbreg_registry_checks_forget(reg);
	if (rc != 0)
		return rc;
	rc = dbreg_manifest_load(&pkg, &reg->diags, name, base_dir, text, len);
	if (rc != 0)
		return dbreg_registry_fail(reg, rc, "cannot load %s: out of memory", name ? name : "manifest");
	if (pkg == NULL)
		return 0; /* not TOML: DBR001 says why */
	if (dbreg_registry_insert(reg, pkg) != 0) {
		dbreg_package_free(pkg);
		return dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	}
	return 0;
}

int dbreg_registry_unreadable(struct dbreg_diag_list *diags, const char *file, int err)
{
	static const struct {
		int err;
		const char *hint;
	} hints[] = {
		{ DBREG_ETOOBIG, "split it: one package per file; or keep large SQL in an up_file" },
		{ DBREG_EDANGLING, "point the link at the manifest, or remove it" },
		{ DBREG_ENOTREG, "make it a regular file, or give it a name that does not end in .toml" },
		{ EACCES, "make it readable by this user, or move it out of the package folders" },
	};
	const char *hint = "make it a readable manifest, or move it out of the package folders";
	for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
		if (hints[i].err == err)
			hint = hints[i].hint;
	struct dbreg_diag_at at = { .file = file };
	if (dbreg_diag_addf(diags, "DBR001", &at, "cannot read %s: %s", file, dbreg_io_strerror(err)) != 0 ||
	    dbreg_diag_hintf(diags, "%s", hint) != 0)
		return DBREG_ENOMEM;
	return 0;
}

/* Loads `path` (as read from disk) naming it `shown` in messages. */
static int registry_add_path(struct dbreg_registry *reg, const char *path, const char *shown)
{
	char *text = NULL;
	size_t len = 0;
	if (dbreg_read_file(path, &text, &len) != 0) {
		int rc = dbreg_registry_checks_forget(reg);
		if (rc == 0 && dbreg_registry_unreadable(&reg->diags, shown, errno) != 0)
			rc = DBREG_ENOMEM;
		return rc ? dbreg_registry_fail(reg, rc, "out of memory") : 0;
	}
	const char *slash = strrchr(path, '/');
	char *dir = slash ? dbreg_strndup(path, (size_t)(slash == path ? 1 : slash - path)) : dbreg_strdup(".");
	int rc = dir ? dbreg_registry_add_string(reg, shown, dir, text, len)
		     : dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	free(dir);
	free(text);
	return rc;
}

int dbreg_registry_add_file(struct dbreg_registry *reg, const char *path)
{
	return registry_add_path(reg, path, path);
}

/* Paths found under the package folders. */
struct registry_paths {
	char **v;
	size_t n, cap;
};

static int registry_paths_push(struct registry_paths *p, char *s)
{
	if (s == NULL)
		return DBREG_ENOMEM;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		char **v = realloc(p->v, cap * sizeof *v);
		if (v == NULL) {
			free(s);
			return DBREG_ENOMEM;
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = s;
	return 0;
}

static bool registry_is_manifest(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && strcmp(name + n - 5, ".toml") == 0 && strcmp(name, "dbreg.toml") != 0;
}

/* An editor's lock file beside a manifest being edited: Emacs makes
 * .#a.toml, a symbolic link to "user@host.pid:time", which is no file. It
 * comes and goes with the edit, and is no manifest. */
static bool registry_is_lock(const char *full, const char *name)
{
	struct stat st;
	return strncmp(name, ".#", 2) == 0 && lstat(full, &st) == 0 && S_ISLNK(st.st_mode) && stat(full, &st) != 0 &&
	       errno == ENOENT;
}

/* Collects manifests under `rel` (relative to the project folder `root`),
 * the folder `here` on the way down: symbolic links to folders are followed,
 * except back into a folder on the way (dbreg_walk_into), so a link loop
 * cannot hang. */
static int registry_scan(struct dbreg_registry *reg, const char *root, const char *rel,
			 struct registry_paths *out, int depth, const struct dbreg_walk_dir *here)
{
	/* An absolute folder in [registry] packages stands on its own. */
	char *full = strcmp(root, ".") == 0 || rel[0] == '/' ? dbreg_strdup(rel) : dbreg_printf("%s/%s", root, rel);
	if (full == NULL)
		return dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	struct dbreg_walk_dir top;
	if (!here && dbreg_walk_into(full, NULL, &top))
		here = &top;   /* a package folder: the top of its walk */
	DIR *d = opendir(full);
	if (d == NULL) {
		int rc = dbreg_registry_fail(reg, DBREG_EIO, "cannot read the package folder %s: %s", full,
					     strerror(errno));
		free(full);
		return rc;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		/* Hidden entries count too: the contract says every *.toml. */
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *child_full = dbreg_printf("%s/%s", full, e->d_name);
		char *child_rel = dbreg_printf("%s/%s", rel, e->d_name);
		struct dbreg_walk_dir sub;
		if (child_full == NULL || child_rel == NULL) {
			rc = dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
		} else if (dbreg_walk_into(child_full, here, &sub)) {
			if (depth < 32)
				rc = registry_scan(reg, root, child_rel, out, depth + 1, &sub);
		} else if (registry_is_manifest(e->d_name) && !registry_is_lock(child_full, e->d_name)) {
			/* A FIFO, device or dangling link named *.toml is listed
			 * too: reading it then says what it is (DBR001), never
			 * skips it. */
			rc = registry_paths_push(out, child_rel);
			child_rel = NULL;
			if (rc)
				dbreg_registry_fail(reg, rc, "out of memory");
		}
		free(child_full);
		free(child_rel);
	}
	closedir(d);
	free(full);
	return rc;
}

static int registry_cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A listed manifest and the file it is, to read each file once. */
struct registry_file {
	char *path;
	size_t dir;                    /* index of the package folder it was found under */
	bool known;                    /* stat succeeded: dev and ino say which file */
	dev_t dev;
	ino_t ino;
};

/* The same file together (by device and inode; by path when it cannot be
 * stat'ed), its spelling under the first-listed folder first, then in byte
 * order. */
static int registry_cmp_file(const void *a, const void *b)
{
	const struct registry_file *x = a, *y = b;
	if (x->known != y->known)
		return x->known ? -1 : 1;
	if (x->known && (x->dev != y->dev || x->ino != y->ino))
		return x->dev != y->dev ? (x->dev < y->dev ? -1 : 1) : (x->ino < y->ino ? -1 : 1);
	if (!x->known) {
		int r = strcmp(x->path, y->path);
		if (r)
			return r;
	}
	return x->dir != y->dir ? (x->dir < y->dir ? -1 : 1) : strcmp(x->path, y->path);
}

/* Keeps one spelling of each file: a folder listed twice ("tomls" and
 * "tomls/sub", or "tomls" and its absolute path, a link to it,
 * "../proj/tomls") would have every file read twice, each then in
 * conflict with itself (DBR012, DBR015, DBR046). dir_end[i] is where the
 * paths of folder i end. */
static int registry_paths_once(const struct dbreg_project *p, struct registry_paths *paths, const size_t *dir_end)
{
	if (paths->n == 0)
		return 0;   /* no folder held a manifest (and paths->v is NULL) */
	struct registry_file *f = calloc(paths->n + 1, sizeof *f);
	if (f == NULL)
		return DBREG_ENOMEM;
	size_t dir = 0;
	for (size_t i = 0; i < paths->n; i++) {
		while (i >= dir_end[dir])
			dir++;
		f[i].path = paths->v[i];
		f[i].dir = dir;
		char *full = dbreg_registry_full_path(p, f[i].path);
		struct stat st;
		if (full == NULL) {
			free(f);
			return DBREG_ENOMEM;
		}
		if (stat(full, &st) == 0)
			f[i] = (struct registry_file){ f[i].path, dir, true, st.st_dev, st.st_ino };
		free(full);
	}
	qsort(f, paths->n, sizeof *f, registry_cmp_file);
	size_t k = 0;
	for (size_t i = 0; i < paths->n; i++) {
		bool same = i > 0 && f[i].known == f[i - 1].known &&
			    (f[i].known ? f[i].dev == f[i - 1].dev && f[i].ino == f[i - 1].ino
					: strcmp(f[i].path, f[i - 1].path) == 0);
		if (same)
			free(f[i].path);
		else
			paths->v[k++] = f[i].path;
	}
	paths->n = k;
	free(f);
	qsort(paths->v, paths->n, sizeof *paths->v, registry_cmp_path);
	return 0;
}

int dbreg_registry_manifest_paths(struct dbreg_registry *reg, const struct dbreg_project *p, char ***out,
				  size_t *n_out)
{
	struct registry_paths paths = { NULL, 0, 0 };
	const char *root = p->dir ? p->dir : ".";
	/* Checked when dbreg.toml was read (project.c); the container only
	 * keeps it, so it calls no check (dbreg_registry_set_isolation, in
	 * isolation.c, is the embedder's setter). */
	reg->isolation = p->isolation;
	int rc = 0;
	static const char *const default_dirs[] = { "tomls" };
	const char *const *dirs = p->n_package_dirs ? (const char *const *)p->package_dirs : default_dirs;
	size_t n_dirs = p->n_package_dirs ? p->n_package_dirs : 1;
	*out = NULL;
	*n_out = 0;
	free(reg->source);
	reg->source = dbreg_registry_full_path(p, p->packages_line ? "dbreg.toml" : dirs[0]);
	reg->source_pos = (struct dbreg_pos){ p->packages_line, p->packages_column };
	if (!reg->source)
		return dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	size_t *dir_end = calloc(n_dirs, sizeof *dir_end);
	if (dir_end == NULL)
		return dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	for (size_t i = 0; i < n_dirs && rc == 0; i++) {
		rc = registry_scan(reg, root, dirs[i], &paths, 0, NULL);
		dir_end[i] = paths.n;
	}
	if (rc == 0 && registry_paths_once(p, &paths, dir_end) != 0)
		rc = dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	free(dir_end);
	if (rc != 0) {
		dbreg_strv_free(paths.v, paths.n);
		return rc;
	}
	*out = paths.v;
	*n_out = paths.n;
	return 0;
}

char *dbreg_registry_full_path(const struct dbreg_project *p, const char *rel)
{
	const char *root = p && p->dir ? p->dir : ".";
	/* An absolute folder in [registry] packages stands on its own. */
	return strcmp(root, ".") == 0 || rel[0] == '/' ? dbreg_strdup(rel) : dbreg_printf("%s/%s", root, rel);
}

/* One manifest of a project, read and loaded on a worker thread: its
 * package and findings are kept apart until every file is done, then
 * taken in path order, so the registry and its diagnostics are exactly
 * what loading them one after the other gives. */
struct registry_item {
	char *full;                    /* as opened and shown */
	struct dbreg_package *pkg;
	struct dbreg_diag_list diags;
	int rc;
	char errmsg[sizeof ((struct dbreg_registry *)0)->errmsg];
};

struct registry_job {
	const struct dbreg_project *proj;
	char **paths;
	struct registry_item *items;
};

static int registry_load_item(void *arg, size_t worker, size_t i, struct dbreg_diag_list *unused)
{
	(void)worker;
	(void)unused;
	struct registry_job *job = arg;
	struct registry_item *it = &job->items[i];
	/* Shown as opened: from the current folder when the project's
	 * folder was given relative to it, so editors find positions. */
	if (!(it->full = dbreg_registry_full_path(job->proj, job->paths[i]))) {
		it->rc = DBREG_ENOMEM;
		snprintf(it->errmsg, sizeof it->errmsg, "out of memory");
		return 0;
	}
	char *text = NULL;
	size_t len = 0;
	if (dbreg_read_file(it->full, &text, &len) != 0) {
		if ((it->rc = dbreg_registry_unreadable(&it->diags, it->full, errno)) != 0)
			snprintf(it->errmsg, sizeof it->errmsg, "out of memory");
		return 0;
	}
	const char *slash = strrchr(it->full, '/');
	char *dir = slash ? dbreg_strndup(it->full, (size_t)(slash == it->full ? 1 : slash - it->full)) : dbreg_strdup(".");
	it->rc = dir ? dbreg_manifest_load(&it->pkg, &it->diags, it->full, dir, text, len) : DBREG_ENOMEM;
	if (it->rc != 0)
		snprintf(it->errmsg, sizeof it->errmsg, dir ? "cannot load %s: out of memory" : "out of memory", it->full);
	free(dir);
	free(text);
	return 0;
}

/* Parsing a thousand manifests is most of a large registry's load: two
 * threads do it in about half the time. */
#define REGISTRY_MAX_WORKERS 2

int dbreg_registry_load_project(struct dbreg_registry *reg, const struct dbreg_project *p)
{
	char **paths = NULL;
	size_t n = 0;
	int rc = dbreg_registry_checks_forget(reg);
	if (rc == 0)
		rc = dbreg_registry_manifest_paths(reg, p, &paths, &n);
	struct registry_item *items = rc == 0 ? calloc(n + 1, sizeof *items) : NULL;
	if (rc == 0 && !items)
		rc = dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	struct registry_job job = {p, paths, items};
	struct dbreg_diag_list none = {0};
	if (rc == 0 && dbreg_workers_run(&none, n, dbreg_workers_count(n, REGISTRY_MAX_WORKERS), registry_load_item,
					 &job) != 0)
		rc = dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
	dbreg_diag_list_dispose(&none);
	for (size_t i = 0; items && i < n; i++) {
		struct registry_item *it = &items[i];
		/* As one after the other: the first failure ends the load, with
		 * what the files before it brought. */
		if (rc == 0 && it->rc != 0)
			rc = dbreg_registry_fail(reg, it->rc, "%s", it->errmsg);
		if (rc == 0 && dbreg_diag_list_move(&reg->diags, &it->diags) != 0)
			rc = dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
		if (rc == 0 && it->pkg && dbreg_registry_insert(reg, it->pkg) != 0)
			rc = dbreg_registry_fail(reg, DBREG_ENOMEM, "out of memory");
		else if (rc == 0)
			it->pkg = NULL;
		dbreg_package_free(it->pkg);
		dbreg_diag_list_dispose(&it->diags);
		free(it->full);
	}
	free(items);
	dbreg_strv_free(paths, n);
	return rc;
}

const struct dbreg_diag_list *dbreg_registry_diags(struct dbreg_registry *reg)
{
	dbreg_diag_list_sort(&reg->diags);
	return &reg->diags;
}

size_t dbreg_registry_package_count(const struct dbreg_registry *reg)
{
	return reg ? reg->n_packages : 0;
}

const char *dbreg_registry_package_name(const struct dbreg_registry *reg, size_t i)
{
	return reg && i < reg->n_packages ? reg->packages[i]->name : NULL;
}

const char *dbreg_registry_package_version(const struct dbreg_registry *reg, size_t i)
{
	return reg && i < reg->n_packages ? reg->packages[i]->version_text : NULL;
}

void dbreg_registry_checksum(const struct dbreg_registry *reg, char out[72])
{
	/* The manifests' own checksums (their bytes) and those of bodies read
	 * from SQL files, in name order, with the versions of dbreg and of the
	 * libraries whose verdicts validate reports. */
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_versions(&b);
	for (size_t i = 0; i < reg->n_packages; i++) {
		const struct dbreg_package *p = reg->packages[i];
		dbreg_buf_printf(&b, "%s %s\n", p->file ? p->file : "", p->manifest_sha256);
		for (size_t k = 0; k < p->n_migrations; k++) {
			const struct dbreg_migration *m = &p->migrations[k];
			for (size_t j = 0; j < DBREG_MIGRATION_BODIES; j++) {
				const struct dbreg_sql *body = dbreg_migration_file_body(m, j);
				if (!body)
					continue;   /* absent, or inside the manifest: already hashed */
				char sum[72];
				dbreg_sql_checksum(body->text, body->len, sum);
				dbreg_buf_printf(&b, "%s %zu %zu %s\n", body->file ? body->file : "", k, j, sum);
			}
		}
	}
	if (b.oom) {
		/* A checksum nobody can match: the cache is never used. */
		snprintf(out, 72, "sha256:unavailable");
	} else {
		dbreg_sha256_hex(b.ptr, b.len, out);
	}
	dbreg_buf_dispose(&b);
}
