/* Planner and no-op apply speed on a generated registry (issue 6).
 *
 * usage: bench-plan DIR [RUNS] [DBREG_BINARY]
 *
 * DIR is a project made by bench/gen_registry.py (e.g. 1000 packages x 20
 * migrations). Prints, each best of RUNS:
 *   - loading the manifests and validating them with skip_sql (what every
 *     command pays before it plans);
 *   - dbreg_plan_build against a history holding the first half of the
 *     migrations, and against one holding every other migration, with the
 *     peak RSS; baseline: SHA-256 of every step body with OpenSSL, the
 *     checksums a plan cannot avoid;
 *   - a no-op apply on a SQLite file whose history holds every migration,
 *     through the library (the CLI's own sequence, each part timed) and
 *     through the command (`dbreg -C DIR -q apply --target sqlite:DB`);
 *     baselines: reading the same history in process with sqlite3_exec and
 *     `sqlite3 DB "SELECT * FROM ydtb_registry_migrations"` as a process;
 *   - the same no-op as `dbreg apply` runs it once the state file's caches
 *     know the registry and the target (core/src/cache.c, core/cli/noop.c):
 *     the registry's files stat'ed, the history read once and digested,
 *     nothing loaded. Its total is RESULT noop_engine_ms (aim 20 ms); the
 *     uncached library sequence is uncached_engine_ms.
 *
 * The no-op target is seeded through the driver (history rows and package
 * versions exactly as apply writes them) rather than by running 20,000
 * bodies: SQLite re-reads its whole schema after every ALTER TABLE, so a
 * real run of that size takes many minutes, and a no-op apply only ever
 * reads the history and the installed packages. */
/* wait4, for a child's own peak RSS. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include <dbreg.h>
#include <dbreg/driver.h>

#include <openssl/sha.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench-plan: %s: %s\n", what, msg ? msg : "");
	exit(1);
}

/* Loads and validates (skip_sql) the project; the registry is returned. */
static struct dbreg_registry *load(const char *dir, struct dbreg_project **proj, bool skip_sql)
{
	struct dbreg_diag_list d = DBREG_DIAG_LIST_INIT;
	struct dbreg_registry *reg = NULL;
	if (dbreg_project_open(proj, dir, &d) != 0)
		die("project", dir);
	dbreg_diag_list_dispose(&d);
	if (dbreg_registry_new(&reg) != 0 || dbreg_registry_load_project(reg, *proj) != 0)
		die("load", reg ? dbreg_registry_errmsg(reg) : "out of memory");
	struct dbreg_validate_opts vo = { .skip_sql = skip_sql };
	if (dbreg_registry_validate(reg, &vo) != 0)
		die("validate", "the generated registry has errors");
	return reg;
}

/* History rows for the steps of `plan` picked by `pick` (0: first half, 1:
 * every other step). Strings borrowed from the plan. */
static struct dbreg_applied *history_of(const struct dbreg_plan *plan, int pick, size_t *n)
{
	size_t total = dbreg_plan_count(plan);
	struct dbreg_applied *rows = calloc(total + 1, sizeof(*rows));
	if (!rows)
		die("history", "out of memory");
	*n = 0;
	for (size_t i = 0; i < total; i++) {
		if (pick == 0 ? i >= total / 2 : i % 2 == 1)
			continue;
		const struct dbreg_step *s = dbreg_plan_step(plan, i);
		rows[(*n)++] = (struct dbreg_applied){ (char *)s->package, (char *)s->migration,
						       (char *)s->version, (char *)s->checksum,
						       (char *)"2024-01-01T00:00:00.000Z", 1 };
	}
	return rows;
}

static double bench_plan(struct dbreg_registry *reg, const struct dbreg_applied *h, size_t nh, int runs,
			 size_t *steps)
{
	double best = 1e9;
	for (int r = 0; r < runs; r++) {
		struct dbreg_plan_opts po = { .dialect = DBREG_DIALECT_SQLITE, .history = h, .n_history = nh };
		struct dbreg_plan *p = NULL;
		double t0 = now_s();
		if (dbreg_plan_build(&p, reg, &po) != 0)
			die("plan", "refused");
		double t = now_s() - t0;
		*steps = dbreg_plan_count(p);
		dbreg_plan_free(p);
		if (t < best)
			best = t;
	}
	return best;
}

/* The checksums a plan must compute: one SHA-256 per body. */
static double bench_sha(const struct dbreg_plan *plan, int runs)
{
	double best = 1e9;
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned sink = 0;
	for (int r = 0; r < runs; r++) {
		double t0 = now_s();
		for (size_t i = 0; i < dbreg_plan_count(plan); i++) {
			const char *sql = dbreg_plan_step(plan, i)->sql;
			SHA256((const unsigned char *)sql, strlen(sql), md);
			sink += md[0];
		}
		double t = now_s() - t0;
		if (t < best)
			best = t;
	}
	if (sink == 0xFFFFFFFFu)
		puts("");
	return best;
}

/* Writes the history rows and package versions of `plan` into a fresh
 * SQLite file through the driver, as apply records them. */
static void seed_target(const char *url, const char *path, const struct dbreg_plan *plan,
			struct dbreg_registry *reg)
{
	char err[512];
	struct dbreg_conn *c = NULL;
	unlink(path);
	if (dbreg_target_connect(&c, url, err, sizeof err) != 0)
		die("connect", err);
	const struct dbreg_driver *d = c->driver;
	if (d->begin(c) || d->history_ensure(c))
		die("seed", c->err.message);
	/* The core's own bodies do run: apply writes each installed package's
	 * tools into the core's ydtb_tools on every run. */
	for (size_t i = 0; i < dbreg_plan_count(plan); i++) {
		const struct dbreg_step *s = dbreg_plan_step(plan, i);
		if (strcmp(s->package, "@ydtb/core") == 0 && d->exec(c, s->sql))
			die("seed", c->err.message);
	}
	for (size_t i = 0; i < dbreg_plan_count(plan); i++) {
		const struct dbreg_step *s = dbreg_plan_step(plan, i);
		struct dbreg_applied row = { (char *)s->package, (char *)s->migration, (char *)s->version,
					     (char *)s->checksum, NULL, 1 };
		if (d->history_record(c, &row, true))
			die("seed", c->err.message);
	}
	for (size_t i = 0; i < dbreg_registry_package_count(reg); i++)
		if (d->package_record(c, dbreg_registry_package_name(reg, i), dbreg_registry_package_version(reg, i)))
			die("seed", c->err.message);
	if (d->commit(c))
		die("seed", c->err.message);
	dbreg_target_close(c);
}

/* The CLI's apply sequence through the library, each part timed into t[]. */
enum { P_CONNECT, P_HIST1, P_STATE_HIST1, P_PLAN, P_REGISTER, P_RUN, P_HIST2, P_STATE_HIST2, P_LOG, P_CLOSE, P_N };
static const char *part_names[P_N] = {
	"connect", "read target history", "state: store history copy", "plan_build",
	"state: register packages", "apply_run (lock, history, packages)", "re-read target history",
	"state: store history copy again", "state: event log", "close",
};

static size_t noop_apply(struct dbreg_registry *reg, struct dbreg_state *st, const char *url, double t[P_N])
{
	char err[512];
	struct dbreg_conn *c = NULL;
	struct dbreg_applied *h = NULL;
	size_t nh = 0;
	double t0 = now_s(), t1;
#define LAP(i) (t1 = now_s(), t[i] = t1 - t0, t0 = t1)
	if (dbreg_target_connect(&c, url, err, sizeof err) != 0)
		die("connect", err);
	LAP(P_CONNECT);
	if (dbreg_target_history(c, &h, &nh) != 0)
		die("history", dbreg_target_errmsg(c));
	LAP(P_HIST1);
	if (dbreg_state_set_history(st, url, h, nh) != 0)
		die("state", dbreg_state_errmsg(st));
	LAP(P_STATE_HIST1);
	struct dbreg_plan_opts po = { .dialect = DBREG_DIALECT_SQLITE, .history = h, .n_history = nh };
	struct dbreg_plan *p = NULL;
	if (dbreg_plan_build(&p, reg, &po) != 0)
		die("plan", "refused");
	LAP(P_PLAN);
	if (dbreg_state_register(st, reg) != 0)
		die("state", dbreg_state_errmsg(st));
	LAP(P_REGISTER);
	struct dbreg_apply_result res;
	if (dbreg_apply_run(&res, c, p, NULL) != 0)
		die("apply", res.errmsg);
	size_t applied = res.applied;
	dbreg_apply_result_dispose(&res);
	LAP(P_RUN);
	dbreg_applied_free(h, nh);
	if (dbreg_target_history(c, &h, &nh) != 0)
		die("history", dbreg_target_errmsg(c));
	LAP(P_HIST2);
	if (dbreg_state_set_history(st, url, h, nh) != 0)
		die("state", dbreg_state_errmsg(st));
	LAP(P_STATE_HIST2);
	if (dbreg_state_log(st, "apply", url, "ok", NULL) != 0)
		die("state", dbreg_state_errmsg(st));
	LAP(P_LOG);
	dbreg_applied_free(h, nh);
	dbreg_plan_free(p);
	dbreg_target_close(c);
	LAP(P_CLOSE);
#undef LAP
	return applied;
}

/* The CLI's cached no-op (core/cli/noop.c) through the library, each part
 * timed into t[]: the state file's caches say the registry's files and the
 * target's history are as last seen, so nothing is loaded. */
enum { C_PROJECT, C_STATE, C_REGISTRY, C_CONNECT, C_NOOP, C_LOG, C_CLOSE, C_N };
static const char *cached_names[C_N] = {
	"project open (dbreg.toml)", "state open", "registry check (stat of every file)", "connect",
	"no-op check (history + packages read once, digest)", "state: event log", "close",
};

static bool noop_cached(const char *dir, const char *state_path, const char *url, double t[C_N])
{
	struct dbreg_diag_list d = DBREG_DIAG_LIST_INIT;
	struct dbreg_project *proj = NULL;
	struct dbreg_state *st = NULL;
	struct dbreg_conn *c = NULL;
	char err[512], sum[72];
	bool same = false, noop = false;
	double t0 = now_s(), t1;
#define LAP(i) (t1 = now_s(), t[i] = t1 - t0, t0 = t1)
	if (dbreg_project_open(&proj, dir, &d) != 0)
		die("project", dir);
	LAP(C_PROJECT);
	if (dbreg_state_open(&st, state_path, err, sizeof err) != 0)
		die("state", err);
	LAP(C_STATE);
	if (dbreg_cache_registry_check(st, proj, sum, &same) != 0)
		die("cache", "registry check failed");
	LAP(C_REGISTRY);
	if (dbreg_target_connect(&c, url, err, sizeof err) != 0)
		die("connect", err);
	LAP(C_CONNECT);
	if (same && dbreg_cache_noop_check(st, c, url, sum, &noop) != 0)
		die("cache", dbreg_target_errmsg(c));
	LAP(C_NOOP);
	if (dbreg_state_log(st, "apply", url, "ok", NULL) != 0)
		die("state", dbreg_state_errmsg(st));
	LAP(C_LOG);
	dbreg_target_close(c);
	dbreg_state_close(st);
	dbreg_project_free(proj);
	dbreg_diag_list_dispose(&d);
	LAP(C_CLOSE);
#undef LAP
	return same && noop;
}

static int count_row(void *arg, int n, char **v, char **names)
{
	(void)v;
	(void)names;
	*(size_t *)arg += (size_t)n > 0;
	return 0;
}

/* Runs argv with stdout/stderr to /dev/null; returns wall seconds, the
 * child's peak RSS in *rss_kb and its exit status in *status. fork, not
 * posix_spawn: a vfork-style child would report the parent's peak RSS. */
static double spawn_time(char *const argv[], long *rss_kb, int *status)
{
	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0)
		die("fork", argv[0]);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	struct rusage ru;
	if (wait4(pid, status, 0, &ru) < 0)
		die("wait", argv[0]);
	double t = now_s() - t0;
	*rss_kb = ru.ru_maxrss;
	return t;
}

static double spawn_best(char *const argv[], int runs, long *rss_kb, const char *what)
{
	double best = 1e9;
	for (int r = 0; r < runs; r++) {
		int status;
		double t = spawn_time(argv, rss_kb, &status);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			die(what, "the command failed");
		if (t < best)
			best = t;
	}
	return best;
}

/* The command-line figures, measured by a child forked before anything is
 * loaded: a child forked later starts with this process's pages, and the
 * kernel counts them in its peak RSS. */
struct cli_figures {
	double t_start, t_cli, t_sq;
	long rss_cli, rss_sq;
};

static void cli_measure(const char *bin, const char *dir, char *db, int runs, struct cli_figures *f)
{
	long rss;
	char *ver[] = { (char *)bin, (char *)"--version", NULL };
	f->t_start = spawn_best(ver, runs, &rss, "dbreg --version");
	char target[4300];
	snprintf(target, sizeof target, "sqlite:%s", db);
	char *app[] = { (char *)bin, (char *)"-C", (char *)dir, (char *)"-q", (char *)"apply",
			(char *)"--target", target, NULL };
	spawn_best(app, 1, &rss, "dbreg apply"); /* the first run fills the state file */
	f->t_cli = spawn_best(app, runs, &f->rss_cli, "dbreg apply");
	char q[] = "SELECT * FROM ydtb_registry_migrations";
	char *sq[] = { (char *)"sqlite3", db, q, NULL };
	f->t_sq = spawn_best(sq, runs, &f->rss_sq, "sqlite3");
}

/* Forks the measuring child: it waits for a byte on *go, then writes a
 * struct cli_figures on *back. */
static pid_t cli_spawner(const char *bin, const char *dir, char *db, int runs, int *go, int *back)
{
	int a[2], b[2];
	if (pipe(a) != 0 || pipe(b) != 0)
		die("pipe", "");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", "");
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		char c;
		if (read(a[0], &c, 1) != 1)
			_exit(0);
		struct cli_figures f = { 0 };
		cli_measure(bin, dir, db, runs, &f);
		_exit(write(b[1], &f, sizeof f) == (ssize_t)sizeof f ? 0 : 1);
	}
	close(a[0]);
	close(b[1]);
	*go = a[1];
	*back = b[0];
	return pid;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench-plan DIR [RUNS] [DBREG_BINARY]\n");
		return 2;
	}
	const char *dir = argv[1];
	int runs = argc > 2 ? atoi(argv[2]) : 7;
	const char *bin = argc > 3 ? argv[3] : NULL;
	if (runs < 1)
		runs = 1;
	char db[4096], url[4200], state[4200];
	snprintf(db, sizeof db, "%s/bench-noop.db", dir);
	snprintf(url, sizeof url, "sqlite:%s", db);
	snprintf(state, sizeof state, "%s/bench-state.db", dir);
	int go = -1, back = -1;
	pid_t spawner = bin ? cli_spawner(bin, dir, db, runs, &go, &back) : 0;

	/* Loading: best of a few, every registry but the last freed. */
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	double best_load = 1e9;
	for (int r = 0; r < (runs < 3 ? runs : 3); r++) {
		dbreg_registry_free(reg);
		dbreg_project_free(proj);
		double t0 = now_s();
		reg = load(dir, &proj, true);
		double t = now_s() - t0;
		if (t < best_load)
			best_load = t;
	}
	size_t n_pkgs = dbreg_registry_package_count(reg);
	long rss_loaded = peak_rss_kb();

	struct dbreg_plan *full = NULL;
	struct dbreg_plan_opts po = { .dialect = DBREG_DIALECT_SQLITE };
	if (dbreg_plan_build(&full, reg, &po) != 0)
		die("plan", "refused against an empty history");
	size_t n_steps = dbreg_plan_count(full);
	printf("registry: %zu packages, %zu migrations (SQLite dialect)\n", n_pkgs, n_steps);
	printf("load + validate (skip_sql), best of %d: %.1f ms, peak RSS %ld KB\n", runs < 3 ? runs : 3,
	       best_load * 1e3, rss_loaded);

	size_t got, nh;
	double t_empty = bench_plan(reg, NULL, 0, runs, &got);
	printf("plan_build, empty history: %.2f ms (%zu steps)\n", t_empty * 1e3, got);
	struct dbreg_applied *half = history_of(full, 0, &nh);
	double t_half = bench_plan(reg, half, nh, runs, &got);
	long rss_plan = peak_rss_kb();
	printf("plan_build, history = first half (%zu rows), best of %d: %.2f ms (%zu steps), peak RSS %ld KB (+%ld KB over loading)\n",
	       nh, runs, t_half * 1e3, got, rss_plan, rss_plan - rss_loaded);
	struct dbreg_applied *alt = history_of(full, 1, &nh);
	double t_alt = bench_plan(reg, alt, nh, runs, &got);
	printf("plan_build, history = every other step (%zu rows): %.2f ms (%zu steps, out of order)\n", nh,
	       t_alt * 1e3, got);
	double t_sha = bench_sha(full, runs);
	printf("baseline: SHA-256 of the %zu bodies (OpenSSL): %.2f ms\n", n_steps, t_sha * 1e3);
	printf("RESULT plan_build_ms=%.2f aim=100 ratio_vs_sha256=%.2f peak_rss_kb=%ld\n", t_half * 1e3,
	       t_half / t_sha, rss_plan);
	free(half);
	free(alt);

	double t_full = 0;
	if (bin) {
		/* What `dbreg apply` does before planning: validation with the SQL checks. */
		struct dbreg_project *p2 = NULL;
		double t0 = now_s();
		struct dbreg_registry *r2 = load(dir, &p2, false);
		t_full = now_s() - t0;
		printf("load + validate with SQL checks (what dbreg apply runs), one run: %.1f ms\n", t_full * 1e3);
		dbreg_registry_free(r2);
		dbreg_project_free(p2);
	}

	/* ---- no-op apply on a SQLite file holding every migration ---- */
	seed_target(url, db, full, reg);
	unlink(state);
	char err[512];
	struct dbreg_state *st = NULL;
	if (dbreg_state_open(&st, state, err, sizeof err) != 0)
		die("state", err);
	double best[P_N], total_best = 1e9;
	for (int i = 0; i < P_N; i++)
		best[i] = 1e9;
	for (int r = 0; r < runs; r++) {
		double t[P_N], total = 0;
		if (noop_apply(reg, st, url, t) != 0)
			die("apply", "a no-op apply ran steps");
		for (int i = 0; i < P_N; i++) {
			total += t[i];
			if (t[i] < best[i])
				best[i] = t[i];
		}
		if (total < total_best)
			total_best = total;
	}
	/* What the next `apply` finds: the caches filled as the CLI fills them. */
	char cached_state[4300];
	snprintf(cached_state, sizeof cached_state, "%s/bench-cache.db", dir);
	unlink(cached_state);
	struct dbreg_state *cst = NULL;
	if (dbreg_state_open(&cst, cached_state, err, sizeof err) != 0)
		die("state", err);
	{
		struct dbreg_project *p3 = NULL;
		long long at = dbreg_cache_clock() + 0;
		struct dbreg_registry *r3 = load(dir, &p3, true);
		struct dbreg_conn *c3 = NULL;
		if (dbreg_cache_registry_store(cst, p3, r3, at) != 0 || dbreg_target_connect(&c3, url, err, sizeof err) != 0 ||
		    dbreg_cache_noop_store(cst, c3, url, r3) != 0)
			die("cache", "cannot fill the caches");
		dbreg_target_close(c3);
		dbreg_registry_free(r3);
		dbreg_project_free(p3);
	}
	dbreg_state_close(cst);
	double cbest[C_N], ctotal_best = 1e9;
	for (int i = 0; i < C_N; i++)
		cbest[i] = 1e9;
	for (int r = 0; r < runs; r++) {
		double t[C_N], total = 0;
		if (!noop_cached(dir, cached_state, url, t))
			die("cache", "the cached no-op was not taken (files changed within 100 ms of the load?)");
		for (int i = 0; i < C_N; i++) {
			total += t[i];
			if (t[i] < cbest[i])
				cbest[i] = t[i];
		}
		if (total < ctotal_best)
			ctotal_best = total;
	}
	dbreg_state_close(st);
	printf("no-op apply through the library (the CLI's sequence without the caches), best of %d: %.2f ms\n", runs,
	       total_best * 1e3);
	for (int i = 0; i < P_N; i++)
		printf("  %-40s %8.2f ms\n", part_names[i], best[i] * 1e3);
	double engine = best[P_CONNECT] + best[P_HIST1] + best[P_PLAN] + best[P_RUN] + best[P_CLOSE];
	printf("  engine only (connect, history, plan, apply_run, close): %.2f ms\n", engine * 1e3);
	printf("no-op apply with the state file's caches (what `dbreg apply` runs), best of %d: %.2f ms\n", runs,
	       ctotal_best * 1e3);
	for (int i = 0; i < C_N; i++)
		printf("  %-50s %8.2f ms\n", cached_names[i], cbest[i] * 1e3);

	/* Baseline in process: read the whole history once. */
	double best_read = 1e9;
	for (int r = 0; r < runs; r++) {
		sqlite3 *s = NULL;
		size_t rows = 0;
		double t0 = now_s();
		if (sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
		    sqlite3_exec(s, "SELECT * FROM ydtb_registry_migrations", count_row, &rows, NULL) != SQLITE_OK)
			die("sqlite3", sqlite3_errmsg(s));
		sqlite3_close(s);
		double t = now_s() - t0;
		if (t < best_read)
			best_read = t;
		if (rows != n_steps)
			die("sqlite3", "history row count differs");
	}
	printf("baseline: sqlite3_exec SELECT * FROM ydtb_registry_migrations in process: %.2f ms\n",
	       best_read * 1e3);
	printf("RESULT noop_engine_ms=%.2f aim=20 ratio_vs_select=%.1f library_sequence_ms=%.2f uncached_engine_ms=%.2f\n",
	       ctotal_best * 1e3, ctotal_best / best_read, total_best * 1e3, engine * 1e3);

	if (bin) {
		struct cli_figures f;
		int status;
		if (write(go, "g", 1) != 1 || read(back, &f, sizeof f) != (ssize_t)sizeof f)
			die("dbreg apply", "the measuring child failed");
		waitpid(spawner, &status, 0);
		printf("process start (dbreg --version): %.2f ms\n", f.t_start * 1e3);
		printf("no-op `dbreg -C DIR -q apply --target sqlite:DB`, best of %d: %.2f ms, peak RSS %ld KB\n", runs,
		       f.t_cli * 1e3, f.rss_cli);
		/* The cached no-op loads no manifest: the load is what it saves. */
		printf("  of which process start %.2f ms; it loads nothing (load + validate with SQL checks: %.2f ms)\n",
		       f.t_start * 1e3, t_full * 1e3);
		printf("baseline: sqlite3 DB \"SELECT * FROM ydtb_registry_migrations\": %.2f ms, peak RSS %ld KB\n",
		       f.t_sq * 1e3, f.rss_sq);
		printf("RESULT noop_cli_ms=%.2f ratio_vs_sqlite3_cli=%.1f\n", f.t_cli * 1e3, f.t_cli / f.t_sq);
	}
	dbreg_plan_free(full);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	/* DIR/bench-noop.db stays: `dbreg -C DIR apply --target sqlite:DIR/bench-noop.db`
	 * reproduces the no-op run (under perf, with -v). */
	return 0;
}
