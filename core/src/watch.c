/* Watching a project with inotify: folders, never files, because editors
 * save by writing a new file and renaming it over the old one (the old
 * file's watch would die with its inode). Every folder under the package
 * folders is watched, new ones as they appear, the folders of the
 * up_file/down_file bodies, the project folder for dbreg.toml alone, and
 * for a package folder not there, the nearest folder on its way; a
 * burst of events is debounced into one list of changed paths, spelled the
 * way the registry opens them, for dbreg_registry_reload. dbreg.toml
 * changed is read again (its content, not its save): the loop then goes on
 * with the new project, or with the last good one while the file has
 * errors. */
#include "diag.h"
#include "registry.h"
#include "reload.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* Folders deeper than this under a package folder are not watched (the
 * registry's scan stops there too). */
#define WATCH_MAX_DEPTH 32
#define WATCH_DEBOUNCE_MS 150
/* A burst that never stops is cut here: a reload still happens. */
#define WATCH_MAX_DEBOUNCE_MS 2000

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ONLYDIR)

struct watch_dir {
	int wd;
	char *path;                    /* as events are spelled: the registry's spelling */
	bool recursive;                /* under a package folder: subfolders are watched too */
	char *only;                    /* the one entry watched here, NULL: every entry */
	char *only_path;               /* that entry as pending spells it (dbreg.toml); NULL: a folder on the
					  way to an awaited package folder, whose making is awaited here */
};

struct dbreg_watch {
	int fd;
	struct watch_dir *dirs;        /* one wd may appear under several spellings */
	size_t n, cap;
	char **pending;                /* changed paths gathered so far */
	size_t n_pending;
	/* The project's package folders as the registry spells them, and
	 * those of them that are not there (listed before they were made,
	 * or removed: a branch switched). The nearest folder on the way to
	 * an awaited one that is there is watched for the next name on the
	 * way (watch_await): made, the one after it is, until the package
	 * folder is, which is then watched and read. */
	char **roots, **awaited;
	size_t n_roots, n_awaited;
};

/* Drops entry i of a vector of strings. */
static void watch_strv_drop(char **v, size_t *n, size_t i)
{
	free(v[i]);
	v[i] = v[--*n];
}

static void watch_dir_free(struct watch_dir *d)
{
	free(d->path);
	free(d->only);
	free(d->only_path);
}

/* `only`: one entry of the folder (`file`: as pending spells it, NULL:
 * a folder awaited there); NULL: all. */
static int watch_add_entry(struct dbreg_watch *w, const char *path, bool recursive, const char *only,
			   const char *file)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->dirs[i].path, path) == 0 && (!only) == (!w->dirs[i].only) &&
		    (!only || strcmp(only, w->dirs[i].only) == 0)) {
			w->dirs[i].recursive |= recursive;
			return 0;
		}
	int wd = inotify_add_watch(w->fd, path, WATCH_MASK);
	if (wd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 1 : DBREG_EIO;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct watch_dir *d = realloc(w->dirs, cap * sizeof(*d));
		if (!d)
			return DBREG_ENOMEM;
		w->dirs = d;
		w->cap = cap;
	}
	struct watch_dir *d = &w->dirs[w->n];
	*d = (struct watch_dir){.wd = wd, .recursive = recursive, .path = dbreg_strdup(path),
				.only = only ? dbreg_strdup(only) : NULL, .only_path = only ? dbreg_strdup(file) : NULL};
	if (!d->path || (only && !d->only) || (only && file && !d->only_path)) {
		watch_dir_free(d);
		return DBREG_ENOMEM;
	}
	w->n++;
	return 0;
}

static int watch_add_dir(struct dbreg_watch *w, const char *path, bool recursive)
{
	return watch_add_entry(w, path, recursive, NULL, NULL);
}

static int watch_pending_add(struct dbreg_watch *w, const char *path)
{
	for (size_t i = 0; i < w->n_pending; i++)
		if (strcmp(w->pending[i], path) == 0)
			return 0;
	return dbreg_strv_push(&w->pending, &w->n_pending, path);
}

/* Watches `path` and every folder under it, as registry.c's scan finds
 * them (symbolic links to folders too, never round a loop; `here` is path
 * on the way down, NULL at the top); with `report`, every file found
 * counts as changed (a folder moved in brings its manifests). */
static int watch_add_tree(struct dbreg_watch *w, const char *path, int depth, bool report,
			  const struct dbreg_walk_dir *here)
{
	struct dbreg_walk_dir top;
	if (!here && dbreg_walk_into(path, NULL, &top))
		here = &top;
	int rc = watch_add_dir(w, path, true);
	if (rc != 0)
		return rc < 0 ? rc : 0;   /* gone already: nothing to watch */
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *child = dbreg_printf("%s/%s", path, e->d_name);
		struct dbreg_walk_dir sub;
		if (!child)
			rc = DBREG_ENOMEM;
		else if (dbreg_walk_into(child, here, &sub) && depth < WATCH_MAX_DEPTH)
			rc = watch_add_tree(w, child, depth + 1, report, &sub);
		else if (report)
			rc = watch_pending_add(w, child);
		free(child);
	}
	closedir(d);
	return rc;
}

static bool watch_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Watches the folder awaited folder `root` will be made in, or the one
 * that folder will be made in, and so on up to one that is there; *there
 * when root is. A folder on the way made meanwhile (mkdir -p runs ahead of
 * the watches) is looked for once the watch is set, and the way taken
 * again from there. */
static int watch_await_root(struct dbreg_watch *w, const char *root, bool *there)
{
	*there = false;
	/* Bounded: folders made and removed over and over cannot hold the loop. */
	for (int again = 0; again <= WATCH_MAX_DEPTH; again++) {
		if ((*there = watch_is_dir(root)))
			return 0;
		char *way = dbreg_strdup(root);
		if (!way)
			return DBREG_ENOMEM;
		int rc = 1;
		while (rc == 1) {
			size_t len = strlen(way);
			while (len > 1 && way[len - 1] == '/')
				way[--len] = '\0';
			char *slash = strrchr(way, '/');
			const char *name = slash ? slash + 1 : way;
			/* The top ("/", ".", ".."): nothing above it to watch. */
			if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
				break;
			char *dir = slash ? dbreg_strndup(way, slash == way ? 1 : (size_t)(slash - way)) : dbreg_strdup(".");
			rc = dir ? watch_add_entry(w, dir, false, name, NULL) : DBREG_ENOMEM;
			if (rc == 1) {
				/* Not there either: one folder up. */
				free(way);
				way = dir;
			} else if (rc == 0 && !watch_is_dir(way)) {
				rc = 2;   /* watched where it will be made */
			}
			if (rc != 1)
				free(dir);
		}
		free(way);
		/* A folder that cannot be watched (EACCES): awaited still, tried
		 * again on the next event that may matter. */
		if (rc == DBREG_ENOMEM)
			return rc;
		if (rc != 0)
			return 0;   /* at the top, watched where the way goes on, or cannot be */
	}
	return 0;
}

/* Looks for the awaited package folders: those there now are watched and
 * their files read, the others awaited one folder nearer. */
static int watch_await(struct dbreg_watch *w)
{
	for (size_t a = 0; a < w->n_awaited;) {
		bool there;
		int rc = watch_await_root(w, w->awaited[a], &there);
		if (rc == 0 && there) {
			char *root = w->awaited[a];
			w->awaited[a] = NULL;
			watch_strv_drop(w->awaited, &w->n_awaited, a);
			rc = watch_add_tree(w, root, 0, true, NULL);
			free(root);
		} else {
			a++;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The project's package folders, and its dbreg.toml. Folders already
 * watched stay (a folder dbreg.toml no longer lists: its changes find
 * nothing to reload). */
static int watch_add_project(struct dbreg_watch *w, const struct dbreg_project *p, char *err, size_t errsize)
{
	char *file = dbreg_registry_full_path(p, "dbreg.toml");
	int rc = file ? watch_add_entry(w, p->dir ? p->dir : ".", false, "dbreg.toml", file) : DBREG_ENOMEM;
	free(file);
	if (rc < 0) {
		snprintf(err, errsize, "cannot watch %s/dbreg.toml: %s", p->dir ? p->dir : ".",
			 rc == DBREG_ENOMEM ? "out of memory" : strerror(errno));
		return rc;
	}
	static const char *const default_dirs[] = {"tomls"};
	const char *const *dirs = p->n_package_dirs ? (const char *const *)p->package_dirs : default_dirs;
	size_t n_dirs = p->n_package_dirs ? p->n_package_dirs : 1;
	for (size_t i = 0; i < n_dirs; i++) {
		char *full = dirs[i][0] == '/' ? dbreg_strdup(dirs[i]) : dbreg_registry_full_path(p, dirs[i]);
		int rc = full ? 0 : DBREG_ENOMEM;
		if (rc == 0 && !dbreg_strv_has(w->roots, w->n_roots, full))
			rc = dbreg_strv_push(&w->roots, &w->n_roots, full);
		if (rc == 0 && !watch_is_dir(full) && !dbreg_strv_has(w->awaited, w->n_awaited, full))
			rc = dbreg_strv_push(&w->awaited, &w->n_awaited, full);
		if (rc == 0)
			rc = watch_add_tree(w, full, 0, false, NULL);
		if (rc != 0) {
			snprintf(err, errsize, "cannot watch the package folder %s: %s", full ? full : dirs[i],
				 rc == DBREG_ENOMEM ? "out of memory"
				 : errno == ENOSPC ? "too many watches (raise fs.inotify.max_user_watches)"
						   : strerror(errno));
			free(full);
			return rc;
		}
		free(full);
	}
	rc = watch_await(w);
	if (rc != 0)
		snprintf(err, errsize, "cannot watch the folders awaited: %s",
			 rc == DBREG_ENOMEM ? "out of memory" : strerror(errno));
	return rc;
}

int dbreg_watch_open(struct dbreg_watch **out, const struct dbreg_project *p, char *err, size_t errsize)
{
	*out = NULL;
	struct dbreg_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return DBREG_ENOMEM;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		snprintf(err, errsize, "cannot watch files: inotify_init1: %s", strerror(errno));
		free(w);
		return DBREG_EIO;
	}
	int rc = watch_add_project(w, p, err, errsize);
	if (rc != 0) {
		dbreg_watch_close(w);
		return rc;
	}
	*out = w;
	return 0;
}

int dbreg_watch_add_registry(struct dbreg_watch *w, const struct dbreg_registry *reg)
{
	for (size_t i = 0; i < reg->n_packages; i++) {
		const struct dbreg_package *pkg = reg->packages[i];
		for (size_t k = 0; k < pkg->n_migrations; k++) {
			const struct dbreg_migration *m = &pkg->migrations[k];
			for (size_t j = 0; j < DBREG_MIGRATION_BODIES; j++) {
				const struct dbreg_sql *body = dbreg_migration_file_body(m, j);
				const char *file = body ? body->file : NULL;
				const char *slash = file ? strrchr(file, '/') : NULL;
				if (!file)
					continue;
				char *dir = slash ? dbreg_strndup(file, (size_t)(slash - file)) : dbreg_strdup(".");
				int rc = dir ? watch_add_dir(w, dir[0] ? dir : "/", false) : DBREG_ENOMEM;
				free(dir);
				if (rc < 0)
					return rc;
			}
		}
	}
	return 0;
}

void dbreg_watch_close(struct dbreg_watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	for (size_t i = 0; i < w->n; i++)
		watch_dir_free(&w->dirs[i]);
	free(w->dirs);
	dbreg_strv_free(w->pending, w->n_pending);
	dbreg_strv_free(w->roots, w->n_roots);
	dbreg_strv_free(w->awaited, w->n_awaited);
	free(w);
}

/* Reads what inotify has and records it. Returns the number of events
 * (0: none waiting), or a negative code. */
static int watch_drain(struct dbreg_watch *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int events = 0;
	for (;;) {
		ssize_t len = read(w->fd, buf, sizeof(buf));
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno == EAGAIN)
			return events;
		if (len <= 0)
			return DBREG_EIO;
		for (char *p = buf; p < buf + len;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			int rc;
			p += sizeof(*ev) + ev->len;
			events++;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Events were lost: every folder counts as changed, and
				 * an awaited one may be there. */
				for (size_t i = 0; i < w->n; i++)
					if (w->dirs[i].only ? w->dirs[i].only_path && watch_pending_add(w, w->dirs[i].only_path) < 0
							    : watch_add_tree(w, w->dirs[i].path, 0, true, NULL) < 0)
						return DBREG_ENOMEM;
				if ((rc = watch_await(w)) < 0)
					return rc;
				continue;
			}
			if (ev->mask & IN_IGNORED) {
				/* The folder is gone (or moved away): forget it. */
				size_t k = 0;
				for (size_t i = 0; i < w->n; i++) {
					if (w->dirs[i].wd != ev->wd) {
						w->dirs[k++] = w->dirs[i];
						continue;
					}
					/* A package folder: awaited, until it is made again. */
					if (!w->dirs[i].only && dbreg_strv_has(w->roots, w->n_roots, w->dirs[i].path) &&
					    !dbreg_strv_has(w->awaited, w->n_awaited, w->dirs[i].path) &&
					    dbreg_strv_push(&w->awaited, &w->n_awaited, w->dirs[i].path) != 0)
						return DBREG_ENOMEM;
					watch_dir_free(&w->dirs[i]);
				}
				w->n = k;
				/* A folder on the way to an awaited one may be what went. */
				if ((rc = watch_await(w)) < 0)
					return rc;
				continue;
			}
			if (!ev->len)
				continue;
			size_t n = w->n;   /* a new folder appends; its own entries need no visit */
			bool heard = false;   /* by an entry that watches that name */
			bool await = false;   /* a folder on the way to an awaited one made */
			for (size_t i = 0; i < n; i++) {
				if (w->dirs[i].wd != ev->wd)
					continue;
				if (w->dirs[i].only) {
					/* Not the name watched here (the SQLite target's
					 * journal beside dbreg.toml): no event, nor a longer
					 * debounce. */
					if (strcmp(ev->name, w->dirs[i].only) != 0)
						continue;
					heard = true;
					if (!w->dirs[i].only_path)
						await |= (ev->mask & (IN_CREATE | IN_MOVED_TO)) != 0;
					else if (watch_pending_add(w, w->dirs[i].only_path) < 0)
						return DBREG_ENOMEM;
					continue;
				}
				heard = true;
				char *path = dbreg_printf("%s/%s", w->dirs[i].path, ev->name);
				rc = path ? 0 : DBREG_ENOMEM;
				/* A folder made or moved in, or a symbolic link to one
				 * (inotify marks only the former IN_ISDIR). */
				struct dbreg_walk_dir linked;
				if (rc == 0 && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && w->dirs[i].recursive &&
				    ((ev->mask & IN_ISDIR) || dbreg_walk_into(path, NULL, &linked)))
					rc = watch_add_tree(w, path, 1, true, NULL);
				else if (rc == 0)
					rc = watch_pending_add(w, path);
				free(path);
				if (rc < 0)
					return rc;
			}
			/* The package folder, or the next on the way, made (or moved
			 * in): watched, and when it is the package folder, read. */
			if (await && (rc = watch_await(w)) < 0)
				return rc;
			events -= !heard;
		}
	}
}

int dbreg_watch_wait(struct dbreg_watch *w, int stop_fd, int timeout_ms, int debounce_ms, char ***paths,
		     size_t *n_paths)
{
	*paths = NULL;
	*n_paths = 0;
	if (debounce_ms <= 0)
		debounce_ms = WATCH_DEBOUNCE_MS;
	long long start = (long long)dbreg_clock_ms(), first = -1, last = -1;
	for (;;) {
		long long now = (long long)dbreg_clock_ms();
		int wait;
		if (first >= 0) {
			/* Quiet for debounce_ms, or the burst ran too long: hand over. */
			if (now - last >= debounce_ms || now - first >= WATCH_MAX_DEBOUNCE_MS)
				break;
			wait = (int)(debounce_ms - (now - last));
		} else if (timeout_ms >= 0) {
			if (now - start >= timeout_ms)
				return 0;
			wait = (int)(timeout_ms - (now - start));
		} else {
			wait = -1;
		}
		struct pollfd pfd[2] = {{.fd = w->fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
		int r = poll(pfd, stop_fd >= 0 ? 2 : 1, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return DBREG_EIO;
		if (stop_fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			return 0;
		if (pfd[0].revents & POLLIN) {
			int got = watch_drain(w);
			if (got < 0)
				return got;
			if (got > 0) {
				last = (long long)dbreg_clock_ms();
				if (first < 0)
					first = last;
			}
		}
	}
	if (w->n_pending == 0)
		return dbreg_watch_wait(w, stop_fd, timeout_ms < 0 ? -1 : 0, debounce_ms, paths, n_paths);
	*paths = w->pending;
	*n_paths = w->n_pending;
	w->pending = NULL;
	w->n_pending = 0;
	return 1;
}

/* The content of dbreg.toml, to tell a save that changed it from one
 * that did not: "absent" when there is none (every key has its default). */
static void watch_project_sum(const char *file, char sum[72])
{
	char *text = NULL;
	size_t len = 0;
	if (dbreg_read_file(file, &text, &len) == 0)
		dbreg_sha256_hex(text, len, sum);
	else
		snprintf(sum, 72, "%s", errno == ENOENT ? "absent" : "unreadable");
	free(text);
}

/* Takes `file` out of the paths; whether it was there. */
static bool watch_take_path(char **paths, size_t *n, const char *file)
{
	bool found = false;
	size_t k = 0;
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(paths[i], file) == 0) {
			found = true;
			free(paths[i]);
		} else {
			paths[k++] = paths[i];
		}
	}
	*n = k;
	return found;
}

/* What the loop knows of dbreg.toml. */
struct watch_project {
	const struct dbreg_project *cur;   /* the project in use: the caller's, or own */
	struct dbreg_project *own;         /* one read again, NULL until then */
	char *file;                        /* dbreg.toml as the registry spells it */
	char sum[72];                      /* of the content last read, good or not */
	bool broken;                       /* that content has errors: cur is the last good one */
	struct dbreg_diag_list diags;      /* its findings then */
};

/* dbreg.toml was saved: 0 when its content is what was read last time; 1
 * when it was read again: the new project in next (*next NULL: it has
 * errors, in wp->diags). */
static int watch_project_reread(struct watch_project *wp, struct dbreg_project **next)
{
	*next = NULL;
	char sum[72];
	watch_project_sum(wp->file, sum);
	if (strcmp(sum, wp->sum) == 0)
		return 0;
	memcpy(wp->sum, sum, sizeof sum);
	dbreg_diag_list_dispose(&wp->diags);
	int rc = dbreg_project_open(next, wp->cur->dir, &wp->diags);
	if (rc == DBREG_ENOMEM)
		return rc;
	wp->broken = rc != 0;
	if (wp->broken)
		dbreg_diag_list_sort(&wp->diags);
	return 1;
}

int dbreg_watch_run(const struct dbreg_project *p, struct dbreg_registry **reg, const struct dbreg_watch_opts *opts,
		    dbreg_reload_fn fn, void *arg)
{
	static const struct dbreg_watch_opts none = {.stop_fd = -1};
	const struct dbreg_watch_opts *o = opts ? opts : &none;
	struct dbreg_watch *w = NULL;
	struct dbreg_changes changes = DBREG_CHANGES_INIT;
	struct watch_project wp = {.cur = p, .diags = DBREG_DIAG_LIST_INIT};
	char err[512];
	*reg = NULL;
	if (!(wp.file = dbreg_registry_full_path(p, "dbreg.toml")))
		return DBREG_ENOMEM;
	watch_project_sum(wp.file, wp.sum);
	int rc = dbreg_watch_open(&w, p, err, sizeof(err));
	if (rc != 0)
		goto out;
	struct dbreg_reload_opts ro = {.validate = o->validate, .log = o->log};
	int lrc = dbreg_registry_reload(reg, NULL, p, &ro, &changes);
	rc = fn(arg, *reg, NULL, &changes, lrc);
	dbreg_changes_dispose(&changes);
	if (rc == 0 && *reg && (rc = dbreg_watch_add_registry(w, *reg)) != 0)
		goto out;
	bool unread = !*reg;   /* the last reload could not read the folders */
	while (rc == 0) {
		char **paths = NULL;
		size_t n = 0;
		int wr = dbreg_watch_wait(w, o->stop_fd, -1, o->debounce_ms, &paths, &n);
		if (wr <= 0) {
			rc = wr;
			break;
		}
		struct dbreg_project *np = NULL;
		int pr = watch_take_path(paths, &n, wp.file) ? watch_project_reread(&wp, &np) : 0;
		if (pr < 0) {
			dbreg_strv_free(paths, n);
			rc = pr;
			break;
		}
		/* Named from the project folder, as the manifests beside it are. */
		if (pr > 0 && dbreg_changes_add(&changes, DBREG_CHANGE_FILE, DBREG_CHANGE_CHANGED, NULL, NULL, "dbreg.toml",
						NULL) != 0) {
			dbreg_project_free(np);
			dbreg_strv_free(paths, n);
			rc = DBREG_ENOMEM;
			break;
		}
		if (pr > 0 && !np) {
			/* Not a project: said, and the loop goes on with the last
			 * good one (the manifests of this burst are read with it). */
			changes.project_diags = &wp.diags;
			rc = fn(arg, NULL, *reg, &changes, DBREG_EINVALID);
			dbreg_changes_dispose(&changes);
			if (rc != 0 || n == 0) {
				dbreg_strv_free(paths, n);
				continue;
			}
		}
		if (np) {
			/* New folders watched; every manifest compared by content,
			 * since events may have been missed while the list changed. */
			if ((rc = watch_add_project(w, np, err, sizeof err)) != 0) {
				dbreg_project_free(np);
				dbreg_strv_free(paths, n);
				break;
			}
			dbreg_project_free(wp.own);
			wp.own = np;
			wp.cur = np;
			changes.project = np;
		}
		changes.project_broken = wp.broken;
		/* Its findings stay the round's until it parses, as a broken
		 * manifest's DBR001 does. */
		if (wp.broken)
			changes.project_diags = &wp.diags;
		struct dbreg_registry *next = NULL, *old = *reg;
		ro.changed = np ? NULL : (const char *const *)paths;
		ro.n_changed = np ? 0 : n;
		/* Without a good registry to build on (the first load failed), a full load. */
		lrc = dbreg_registry_reload(&next, old, wp.cur, old ? &ro : &(struct dbreg_reload_opts){
			.validate = o->validate, .log = o->log}, &changes);
		dbreg_strv_free(paths, n);
		if (!next) {
			/* The folder could not be read: the last good registry stays. */
			rc = fn(arg, NULL, old, &changes, lrc);
			unread = true;
		} else if (old && changes.len == 0 && !unread) {
			/* Saved without a change of content: nothing to say. */
			*reg = next;
			dbreg_registry_free(old);
		} else {
			/* A round after one that could not read the folders says
			 * they read again, changed or not. */
			*reg = next;
			unread = false;
			rc = fn(arg, next, old, &changes, lrc);
			dbreg_registry_free(old);
			if (rc == 0)
				rc = dbreg_watch_add_registry(w, next);
		}
		dbreg_changes_dispose(&changes);
	}
out:
	dbreg_watch_close(w);
	dbreg_project_free(wp.own);
	dbreg_diag_list_dispose(&wp.diags);
	free(wp.file);
	return rc;
}
