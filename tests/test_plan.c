/* The planner and the state file through the public API: manifests come
 * from strings, histories are built by hand, plans are compared as text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dbreg.h>
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------- */

#define PASS(reg, expr)                                                                         \
	do {                                                                                    \
		int rc_ = (expr);                                                               \
		if (rc_ != 0)                                                                   \
			fail_msg("%s -> %d: %s", #expr, rc_, dbreg_registry_errmsg(reg));      \
	} while (0)

static const char core_toml[] =
	"[package]\nname = \"@t/core\"\nversion = \"1.0.0\"\nkind = \"core\"\n"
	"[tables.ydtb_workspaces]\ndescription = \"w\"\n"
	"[tables.ydtb_workspaces.columns]\nid = { type = \"text\", primary_key = true }\n"
	"[[migrations]]\nid = \"0001_ws\"\nversion = \"1.0.0\"\n"
	"up = \"CREATE TABLE IF NOT EXISTS ydtb_workspaces (id text PRIMARY KEY);\"\n"
	"down = \"DROP TABLE IF EXISTS ydtb_workspaces;\"\n";

/* A package "@t/NAME" at VERSION with dependencies DEPS ("\"@t/a\" = \"^1.0.0\"\n"
 * lines, may be "") and one migration per entry of VERSIONS ("1.0.0,1.1.0"),
 * ids 0001, 0002...; `nodown` lists ids without a down, `pgonly` ids with a
 * PostgreSQL body only. Returns a malloc'd manifest. */
static char *pkg_toml(const char *name, const char *version, const char *deps, const char *versions,
		      const char *nodown, const char *pgonly)
{
	size_t cap = 8192 + strlen(versions) * 200;
	char *s = malloc(cap);
	assert_non_null(s);
	size_t n = (size_t)snprintf(s, cap,
		"[package]\nname = \"@t/%s\"\nversion = \"%s\"\n[dependencies]\n%s"
		"[tables.ydtb_%s_items]\ndescription = \"items\"\nworkspace_scoped = true\n"
		"[tables.ydtb_%s_items.columns]\nid = { type = \"text\", primary_key = true }\n",
		name, version, deps, name, name);
	const char *p = versions;
	int k = 1;
	while (*p) {
		size_t len = strcspn(p, ",");
		char id[16];
		snprintf(id, sizeof id, "%04d", k);
		bool has_down = !nodown || !strstr(nodown, id);
		bool pg = pgonly && strstr(pgonly, id);
		n += (size_t)snprintf(s + n, cap - n,
			"[[migrations]]\nid = \"%s\"\nversion = \"%.*s\"\n%s = \"CREATE TABLE IF NOT EXISTS "
			"ydtb_%s_m%d (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES ydtb_workspaces(id));\"\n",
			id, (int)len, p, pg ? "up_postgres" : "up", name, k);
		if (has_down)
			n += (size_t)snprintf(s + n, cap - n, "down = \"DROP TABLE IF EXISTS ydtb_%s_m%d;\"\n", name, k);
		p += len;
		if (*p == ',')
			p++;
		k++;
	}
	return s;
}

/* Registers the manifests in the given order and validates them. */
static struct dbreg_registry *load(char **manifests, size_t n, const size_t *perm)
{
	struct dbreg_registry *reg;
	assert_int_equal(dbreg_registry_new(&reg), 0);
	for (size_t i = 0; i < n; i++) {
		const char *m = manifests[perm ? perm[i] : i];
		char name[32];
		snprintf(name, sizeof name, "m%zu.toml", perm ? perm[i] : i);
		PASS(reg, dbreg_registry_add_string(reg, name, NULL, m, strlen(m)));
	}
	struct dbreg_validate_opts vo = { .skip_sql = true };
	int rc = dbreg_registry_validate(reg, &vo);
	if (rc != 0) {
		const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
		for (size_t i = 0; i < l->len; i++)
			dbreg_diag_print(stderr, &l->items[i], 0);
		fail_msg("validation failed");
	}
	return reg;
}

/* The plan as text, one line per step. */
static char *plan_text(const struct dbreg_plan *plan)
{
	size_t cap = 256 + dbreg_plan_count(plan) * 160, n = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	s[0] = '\0';
	for (size_t i = 0; i < dbreg_plan_count(plan); i++) {
		const struct dbreg_step *st = dbreg_plan_step(plan, i);
		n += (size_t)snprintf(s + n, cap - n, "%s %s %s %s%s%s %s\n", st->package, st->migration,
				      st->version, st->up ? "up" : "down", st->transaction ? "" : " notx",
				      st->out_of_order ? " ooo" : "", st->checksum);
	}
	return s;
}

/* Just "package migration direction" lines, for order assertions. */
static char *plan_short(const struct dbreg_plan *plan)
{
	size_t cap = 64 + dbreg_plan_count(plan) * 64, n = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	s[0] = '\0';
	for (size_t i = 0; i < dbreg_plan_count(plan); i++) {
		const struct dbreg_step *st = dbreg_plan_step(plan, i);
		n += (size_t)snprintf(s + n, cap - n, "%s:%s%s%s;", st->package + 3, st->migration,
				      st->up ? "" : "-down", st->out_of_order ? "!" : "");
	}
	return s;
}

static void free_all(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
}

/* The diagnostic of that code, or fail. */
static const struct dbreg_diag *find_diag(struct dbreg_registry *reg, const char *code)
{
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	for (size_t i = 0; i < l->len; i++)
		if (strcmp(l->items[i].code, code) == 0)
			return &l->items[i];
	fail_msg("no %s diagnostic", code);
	return NULL;
}

/* A history row for (package, migration) with the checksum the plan for
 * an empty target gives it. */
struct hist {
	struct dbreg_applied rows[64];
	char sums[64][72];
	size_t n;
};

static void hist_add(struct hist *h, const struct dbreg_plan *full, const char *pkg, const char *mig)
{
	for (size_t i = 0; i < dbreg_plan_count(full); i++) {
		const struct dbreg_step *st = dbreg_plan_step(full, i);
		if (strcmp(st->package, pkg) == 0 && strcmp(st->migration, mig) == 0) {
			memcpy(h->sums[h->n], st->checksum, 72);
			h->rows[h->n] = (struct dbreg_applied){ (char *)st->package, (char *)st->migration,
								(char *)st->version, h->sums[h->n],
								(char *)"2026-01-01T00:00:00Z", 1 };
			h->n++;
			return;
		}
	}
	fail_msg("no step %s %s", pkg, mig);
}

/* ---- ordering ------------------------------------------------------------ */

static void test_plan__diamond_orders_by_name(void **state)
{
	(void)state;
	char *m[5] = {
		strdup(core_toml),
		pkg_toml("d", "1.0.0", "\"@t/b\" = \"^1.0.0\"\n\"@t/c\" = \"^1.0.0\"\n", "1.0.0", NULL, NULL),
		pkg_toml("c", "1.0.0", "\"@t/a\" = \"^1.0.0\"\n", "1.0.0", NULL, NULL),
		pkg_toml("b", "1.0.0", "\"@t/a\" = \"^1.0.0\"\n", "1.0.0", NULL, NULL),
		pkg_toml("a", "1.0.0", "", "1.0.0", NULL, NULL),
	};
	struct dbreg_registry *reg = load(m, 5, NULL);
	struct dbreg_plan *plan;
	PASS(reg, dbreg_plan_build(&plan, reg, &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE }));
	char *s = plan_short(plan);
	assert_string_equal(s, "core:0001_ws;a:0001;b:0001;c:0001;d:0001;");
	free(s);
	dbreg_plan_free(plan);
	dbreg_registry_free(reg);
	free_all(m, 5);
}

static void test_plan__independent_packages_by_name(void **state)
{
	(void)state;
	char *m[4] = {
		pkg_toml("zeta", "1.0.0", "", "1.0.0,1.0.0", NULL, NULL),
		pkg_toml("mid", "1.0.0", "", "1.0.0", NULL, NULL),
		strdup(core_toml),
		pkg_toml("alpha", "1.0.0", "", "1.0.0", NULL, NULL),
	};
	struct dbreg_registry *reg = load(m, 4, NULL);
	struct dbreg_plan *plan;
	PASS(reg, dbreg_plan_build(&plan, reg, &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_POSTGRES }));
	char *s = plan_short(plan);
	assert_string_equal(s, "core:0001_ws;alpha:0001;mid:0001;zeta:0001;zeta:0002;");
	free(s);
	dbreg_plan_free(plan);
	dbreg_registry_free(reg);
	free_all(m, 4);
}

/* n000 depends on n001 ... on n199: name order is the reverse of the
 * dependency order, so only the graph can get it right. */
static void test_plan__deep_chain(void **state)
{
	(void)state;
	enum { N = 200 };
	char *m[N + 1];
	m[0] = strdup(core_toml);
	for (int i = 0; i < N; i++) {
		char name[16], deps[64] = "";
		snprintf(name, sizeof name, "n%03d", i);
		if (i + 1 < N)
			snprintf(deps, sizeof deps, "\"@t/n%03d\" = \"1.x\"\n", i + 1);
		m[i + 1] = pkg_toml(name, "1.0.0", deps, "1.0.0", NULL, NULL);
	}
	struct dbreg_registry *reg = load(m, N + 1, NULL);
	struct dbreg_plan *plan;
	PASS(reg, dbreg_plan_build(&plan, reg, &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE }));
	assert_int_equal(dbreg_plan_count(plan), N + 1);
	assert_string_equal(dbreg_plan_step(plan, 0)->package, "@t/core");
	for (int i = 0; i < N; i++) {
		char want[16];
		snprintf(want, sizeof want, "@t/n%03d", N - 1 - i);
		assert_string_equal(dbreg_plan_step(plan, (size_t)i + 1)->package, want);
	}
	dbreg_plan_free(plan);
	dbreg_registry_free(reg);
	free_all(m, N + 1);
}

/* ---- versions: --to up and down ------------------------------------------ */

static char *three_versions(const char *nodown)
{
	return pkg_toml("a", "1.2.0", "", "1.0.0,1.1.0,1.2.0", nodown, NULL);
}

static void test_plan__pin_stops_upgrade(void **state)
{
	(void)state;
	char *m[2] = { strdup(core_toml), three_versions(NULL) };
	struct dbreg_registry *reg = load(m, 2, NULL);
	struct dbreg_pin pin = { "@t/a", "1.1.0" };
	struct dbreg_plan *plan;
	PASS(reg, dbreg_plan_build(&plan, reg,
				   &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .pins = &pin, .n_pins = 1 }));
	char *s = plan_short(plan);
	assert_string_equal(s, "core:0001_ws;a:0001;a:0002;");
	free(s);
	dbreg_plan_free(plan);

	/* From 1.1.0 to the declared 1.2.0: only the newer one. */
	struct dbreg_plan *full;
	PASS(reg, dbreg_plan_build(&full, reg, &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE }));
	struct hist h = { .n = 0 };
	hist_add(&h, full, "@t/core", "0001_ws");
	hist_add(&h, full, "@t/a", "0001");
	hist_add(&h, full, "@t/a", "0002");
	PASS(reg, dbreg_plan_build(&plan, reg,
				   &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .history = h.rows, .n_history = h.n }));
	s = plan_short(plan);
	assert_string_equal(s, "a:0003;");
	free(s);
	dbreg_plan_free(plan);

	/* A pin above the declared version is a usage error. */
	struct dbreg_pin high = { "@t/a", "2.0.0" };
	assert_int_equal(dbreg_plan_build(&plan, reg,
					  &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .pins = &high, .n_pins = 1 }),
			 DBREG_EUSAGE);
	assert_null(plan);
	assert_non_null(strstr(dbreg_registry_errmsg(reg), "above the declared version"));
	struct dbreg_pin unknown = { "@t/nope", "1.0.0" };
	assert_int_equal(dbreg_plan_build(&plan, reg,
					  &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .pins = &unknown, .n_pins = 1 }),
			 DBREG_EUSAGE);
	dbreg_plan_free(full);
	dbreg_registry_free(reg);
	free_all(m, 2);
}

static void test_plan__pin_below_installed_runs_downs_newest_first(void **state)
{
	(void)state;
	char *m[2] = { strdup(core_toml), three_versions(NULL) };
	struct dbreg_registry *reg = load(m, 2, NULL);
	struct dbreg_plan *full, *plan;
	PASS(reg, dbreg_plan_build(&full, reg, &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE }));
	struct hist h = { .n = 0 };
	hist_add(&h, full, "@t/core", "0001_ws");
	hist_add(&h, full, "@t/a", "0001");
	hist_add(&h, full, "@t/a", "0002");
	hist_add(&h, full, "@t/a", "0003");
	struct dbreg_pin pin = { "@t/a", "1.0.0" };
	/* Only `down` goes back: for plan, apply and init such a pin is refused. */
	plan = (void *)1;
	assert_int_equal(dbreg_plan_build(&plan, reg,
					  &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .history = h.rows,
								     .n_history = h.n, .pins = &pin, .n_pins = 1 }),
			 DBREG_EUSAGE);
	assert_null(plan);
	assert_non_null(strstr(dbreg_registry_errmsg(reg), "--to @t/a@1.0.0 is below what the target has installed "
							   "(migration 0003, version 1.2.0, is applied)"));
	assert_non_null(strstr(dbreg_registry_errmsg(reg), "dbreg down @t/a --to 1.0.0"));
	PASS(reg, dbreg_plan_build(&plan, reg,
				   &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .history = h.rows,
							      .n_history = h.n, .pins = &pin, .n_pins = 1,
							      .downgrade = true }));
	char *s = plan_short(plan);
	assert_string_equal(s, "a:0003-down;a:0002-down;");
	free(s);
	assert_non_null(strstr(dbreg_plan_step(plan, 0)->sql, "DROP TABLE IF EXISTS ydtb_a_m3"));
	dbreg_plan_free(plan);

	/* `down @t/a --to 1.1.0` touches nothing else. */
	struct dbreg_pin pin2 = { "@t/a", "1.1.0" };
	PASS(reg, dbreg_plan_build(&plan, reg,
				   &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .history = h.rows + 1,
							      .n_history = h.n - 1, .pins = &pin2, .n_pins = 1,
							      .only_package = "@t/a", .downgrade = true }));
	s = plan_short(plan);
	assert_string_equal(s, "a:0003-down;");
	free(s);
	dbreg_plan_free(plan);

	/* And `down` never goes up: 0002 and 0003 are not applied here. */
	struct dbreg_pin pin3 = { "@t/a", "1.2.0" };
	plan = (void *)1;
	assert_int_equal(dbreg_plan_build(&plan, reg,
					  &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .history = h.rows,
								     .n_history = 2, .pins = &pin3, .n_pins = 1,
								     .only_package = "@t/a", .downgrade = true }),
			 DBREG_EUSAGE);
	assert_null(plan);
	assert_non_null(strstr(dbreg_registry_errmsg(reg), "--to @t/a@1.2.0 is above what the target has installed "
							   "(migration 0002, version 1.1.0, is not applied)"));
	dbreg_plan_free(full);
	dbreg_registry_free(reg);
	free_all(m, 2);
}

static void test_plan__downgrade_refused_without_down(void **state)
{
	(void)state;
	char *m[2] = { strdup(core_toml), three_versions("0002") };
	struct dbreg_registry *reg = load(m, 2, NULL);
	struct dbreg_plan *full, *plan = (void *)1;
	PASS(reg, dbreg_plan_build(&full, reg, &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE }));
	struct hist h = { .n = 0 };
	hist_add(&h, full, "@t/a", "0001");
	hist_add(&h, full, "@t/a", "0002");
	hist_add(&h, full, "@t/a", "0003");
	struct dbreg_pin pin = { "@t/a", "1.0.0" };
	assert_int_equal(dbreg_plan_build(&plan, reg,
					  &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .history = h.rows,
								     .n_history = h.n, .pins = &pin, .n_pins = 1,
								     .downgrade = true }),
			 DBREG_EINVALID);
	assert_null(plan);
	const struct dbreg_diag *d = find_diag(reg, "DBR042");
	assert_string_equal(d->package, "@t/a");
	assert_string_equal(d->migration, "0002");
	assert_non_null(strstr(d->message, "down is missing"));
	dbreg_plan_free(full);
	dbreg_registry_free(reg);
	free_all(m, 2);
}

static void test_plan__downgrade_refused_names_broken_dependents(void **state)
{
	(void)state;
	char *m[5] = {
		strdup(core_toml), three_versions(NULL),
		pkg_toml("b", "1.0.0", "\"@t/a\" = \"^1.1.0\"\n", "1.0.0", NULL, NULL),
		pkg_toml("c", "1.0.0", "\"@t/a\" = \">=1.2.0\"\n", "1.0.0", NULL, NULL),
		pkg_toml("ok", "1.0.0", "\"@t/a\" = \"1.x\"\n", "1.0.0", NULL, NULL),
	};
	struct dbreg_registry *reg = load(m, 5, NULL);
	struct dbreg_plan *plan = (void *)1;
	struct dbreg_pin pin = { "@t/a", "1.0.0" };
	assert_int_equal(dbreg_plan_build(&plan, reg,
					  &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .pins = &pin, .n_pins = 1 }),
			 DBREG_EINVALID);
	assert_null(plan);
	const struct dbreg_diag *d = find_diag(reg, "DBR031");
	assert_non_null(strstr(d->message, "@t/b (needs ^1.1.0)"));
	assert_non_null(strstr(d->message, "@t/c (needs >=1.2.0)"));
	assert_null(strstr(d->message, "@t/ok"));
	dbreg_registry_free(reg);
	free_all(m, 5);
}

/* ---- pending, conflicts ---------------------------------------------------- */

static void test_plan__pending_is_set_membership_out_of_order_marked(void **state)
{
	(void)state;
	char *m[2] = { strdup(core_toml), three_versions(NULL) };
	struct dbreg_registry *reg = load(m, 2, NULL);
	struct dbreg_plan *full, *plan;
	PASS(reg, dbreg_plan_build(&full, reg, &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE }));
	struct hist h = { .n = 0 };
	hist_add(&h, full, "@t/core", "0001_ws");
	hist_add(&h, full, "@t/a", "0001");
	hist_add(&h, full, "@t/a", "0003");
	PASS(reg, dbreg_plan_build(&plan, reg,
				   &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .history = h.rows, .n_history = h.n }));
	char *s = plan_short(plan);
	assert_string_equal(s, "a:0002!;");
	free(s);
	assert_true(dbreg_plan_step(plan, 0)->out_of_order);
	dbreg_plan_free(plan);

	/* Everything applied: an empty plan. */
	hist_add(&h, full, "@t/a", "0002");
	PASS(reg, dbreg_plan_build(&plan, reg,
				   &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .history = h.rows, .n_history = h.n }));
	assert_int_equal(dbreg_plan_count(plan), 0);
	dbreg_plan_free(plan);
	dbreg_plan_free(full);
	dbreg_registry_free(reg);
	free_all(m, 2);
}

static void test_plan__no_body_for_dialect_is_dbr042(void **state)
{
	(void)state;
	char *m[2] = { strdup(core_toml), pkg_toml("a", "1.0.0", "", "1.0.0,1.0.0", NULL, "0002") };
	struct dbreg_registry *reg = load(m, 2, NULL);
	struct dbreg_plan *plan;
	PASS(reg, dbreg_plan_build(&plan, reg, &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_POSTGRES }));
	assert_int_equal(dbreg_plan_count(plan), 3);
	dbreg_plan_free(plan);
	assert_int_equal(dbreg_plan_build(&plan, reg, &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE }),
			 DBREG_EINVALID);
	assert_null(plan);
	const struct dbreg_diag *d = find_diag(reg, "DBR042");
	assert_string_equal(d->package, "@t/a");
	assert_string_equal(d->migration, "0002");
	assert_non_null(strstr(d->message, "0002"));
	assert_non_null(strstr(d->message, "@t/a"));
	assert_non_null(strstr(d->message, "sqlite"));
	assert_true(d->line > 0);
	dbreg_registry_free(reg);
	free_all(m, 2);
}

static void test_plan__checksum_drift_is_dbr045(void **state)
{
	(void)state;
	char *m[2] = { strdup(core_toml), three_versions(NULL) };
	struct dbreg_registry *reg = load(m, 2, NULL);
	struct dbreg_plan *full, *plan = (void *)1;
	PASS(reg, dbreg_plan_build(&full, reg, &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE }));
	struct hist h = { .n = 0 };
	hist_add(&h, full, "@t/a", "0001");
	const char *bad = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	strcpy(h.sums[0], bad);
	assert_int_equal(dbreg_plan_build(&plan, reg,
					  &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .history = h.rows, .n_history = h.n }),
			 DBREG_EINVALID);
	assert_null(plan);
	const struct dbreg_diag *d = find_diag(reg, "DBR045");
	assert_string_equal(d->package, "@t/a");
	assert_string_equal(d->migration, "0001");
	assert_non_null(strstr(d->message, bad));
	assert_non_null(strstr(d->message, dbreg_plan_step(full, 1)->checksum));
	dbreg_plan_free(full);
	dbreg_registry_free(reg);
	free_all(m, 2);
}

static void test_plan__unknown_applied_migration_is_an_error(void **state)
{
	(void)state;
	char *m[2] = { strdup(core_toml), three_versions(NULL) };
	struct dbreg_registry *reg = load(m, 2, NULL);
	struct dbreg_plan *plan = (void *)1;
	struct dbreg_applied rows[2] = {
		{ "@t/a", "0099_gone", "1.0.0", "sha256:00", "2026-01-01T00:00:00Z", 1 },
		{ "@t/removed", "0001", "1.0.0", "sha256:00", "2026-01-01T00:00:00Z", 1 },
	};
	assert_int_equal(dbreg_plan_build(&plan, reg,
					  &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_SQLITE, .history = rows, .n_history = 2 }),
			 DBREG_EINVALID);
	assert_null(plan);
	const struct dbreg_diag_list *l = dbreg_registry_diags(reg);
	int found = 0;
	for (size_t i = 0; i < l->len; i++) {
		if (strcmp(l->items[i].code, "DBR045") != 0)
			continue;
		assert_non_null(strstr(l->items[i].message, "not in any manifest"));
		found++;
	}
	assert_int_equal(found, 2);
	dbreg_registry_free(reg);
	free_all(m, 2);
}

/* ---- determinism --------------------------------------------------------- */

static void test_plan__shuffled_registration_gives_identical_plans(void **state)
{
	(void)state;
	enum { N = 8 };
	char *m[N] = {
		strdup(core_toml),
		pkg_toml("a", "1.1.0", "", "1.0.0,1.1.0", NULL, NULL),
		pkg_toml("b", "1.0.0", "\"@t/a\" = \"^1.0.0\"\n", "1.0.0", NULL, NULL),
		pkg_toml("c", "1.0.0", "\"@t/a\" = \"^1.0.0\"\n", "1.0.0,1.0.0", NULL, NULL),
		pkg_toml("d", "2.0.0", "\"@t/b\" = \"*\"\n\"@t/c\" = \"*\"\n", "1.0.0,2.0.0", NULL, NULL),
		pkg_toml("e", "1.0.0", "", "1.0.0", NULL, NULL),
		pkg_toml("f", "1.0.0", "\"@t/e\" = \"*\"\n", "1.0.0", NULL, NULL),
		pkg_toml("g", "1.0.0", "\"@t/d\" = \"*\"\n\"@t/f\" = \"*\"\n", "1.0.0", NULL, NULL),
	};
	char *first = NULL;
	srand(42);
	for (int round = 0; round < 12; round++) {
		size_t perm[N];
		for (size_t i = 0; i < N; i++)
			perm[i] = i;
		for (size_t i = N - 1; i > 0; i--) {
			size_t j = (size_t)rand() % (i + 1), t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		struct dbreg_registry *reg = load(m, N, perm);
		struct dbreg_plan *plan;
		PASS(reg, dbreg_plan_build(&plan, reg, &(struct dbreg_plan_opts){ .dialect = DBREG_DIALECT_POSTGRES }));
		char *s = plan_text(plan);
		if (first == NULL) {
			first = s;
			char *sh = plan_short(plan);
			assert_string_equal(sh, "core:0001_ws;a:0001;a:0002;b:0001;c:0001;c:0002;d:0001;d:0002;"
						"e:0001;f:0001;g:0001;");
			free(sh);
		} else {
			assert_string_equal(s, first);
			free(s);
		}
		dbreg_plan_free(plan);
		dbreg_registry_free(reg);
	}
	free(first);
	free_all(m, N);
}

/* ---- the state file ------------------------------------------------------ */

static char tmpdir[256];

static int state_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/dbreg-test-plan-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int state_teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_state__created_0600_with_folder(void **state)
{
	(void)state;
	char path[400], err[256];
	snprintf(path, sizeof path, "%s/proj/.dbreg/state.db", tmpdir);
	struct dbreg_state *st;
	mode_t old = umask(0);
	int rc = dbreg_state_open(&st, path, err, sizeof err);
	umask(old);
	if (rc != 0)
		fail_msg("state_open: %s", err);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(dbreg_state_log(st, "plan", "sqlite:x.db", "ok", "3 steps"), 0);
	dbreg_state_close(st);
	dbreg_state_close(NULL);
}

static void test_state__history_round_trip(void **state)
{
	(void)state;
	char path[400], err[256];
	snprintf(path, sizeof path, "%s/rt.db", tmpdir);
	struct dbreg_state *st;
	if (dbreg_state_open(&st, path, err, sizeof err) != 0)
		fail_msg("state_open: %s", err);
	struct dbreg_applied rows[3] = {
		{ "@t/core", "0001_ws", "1.0.0", "sha256:aa", "2026-01-01T00:00:00Z", 12 },
		{ "@t/a", "0001", "1.0.0", "sha256:bb", "2026-01-01T00:00:01Z", 0 },
		{ "@t/a", "0002", "1.1.0", "sha256:cc", "2026-01-02T00:00:00Z", 345 },
	};
	assert_int_equal(dbreg_state_set_history(st, "postgres://u:***@h/db", rows, 3), 0);
	assert_int_equal(dbreg_state_set_history(st, "dev", rows, 1), 0);
	/* Replacing drops what is gone. */
	assert_int_equal(dbreg_state_set_history(st, "dev", rows + 1, 1), 0);
	dbreg_state_close(st);

	if (dbreg_state_open(&st, path, err, sizeof err) != 0)
		fail_msg("state_open: %s", err);
	struct dbreg_applied *got;
	size_t n;
	assert_int_equal(dbreg_state_get_history(st, "postgres://u:***@h/db", &got, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(got[i].package, rows[i].package);
		assert_string_equal(got[i].migration, rows[i].migration);
		assert_string_equal(got[i].version, rows[i].version);
		assert_string_equal(got[i].checksum, rows[i].checksum);
		assert_string_equal(got[i].applied_at, rows[i].applied_at);
		assert_int_equal(got[i].duration_ms, rows[i].duration_ms);
	}
	dbreg_applied_free(got, n);
	assert_int_equal(dbreg_state_get_history(st, "dev", &got, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0].migration, "0001");
	dbreg_applied_free(got, n);
	assert_int_equal(dbreg_state_get_history(st, "never-seen", &got, &n), 0);
	assert_int_equal(n, 0);
	dbreg_applied_free(got, n);

	/* Registering packages. */
	char *m[2] = { strdup(core_toml), three_versions(NULL) };
	struct dbreg_registry *reg = load(m, 2, NULL);
	assert_int_equal(dbreg_state_register(st, reg), 0);
	assert_int_equal(dbreg_state_register(st, reg), 0);
	dbreg_registry_free(reg);
	free_all(m, 2);
	dbreg_state_close(st);

	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM packages", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 2);
	sqlite3_finalize(q);
	/* Registering the same registry twice wrote it once, and says so. */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM registry_checks WHERE kind = 'registered'", -1,
					    &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 1);
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM migrations", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 4);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* A state file as version 1 wrote it: no event log, no duration column. */
static void test_state__upgrades_a_version_1_file(void **state)
{
	(void)state;
	char path[400], err[256];
	snprintf(path, sizeof path, "%s/v1.db", tmpdir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	const char *v1 =
		"CREATE TABLE packages (name TEXT PRIMARY KEY, version TEXT NOT NULL,"
		" manifest_checksum TEXT NOT NULL, registered_at TEXT NOT NULL);"
		"CREATE TABLE migrations (package TEXT NOT NULL REFERENCES packages(name) ON DELETE CASCADE,"
		" id TEXT NOT NULL, version TEXT NOT NULL, checksum_postgres TEXT, checksum_sqlite TEXT,"
		" PRIMARY KEY (package, id));"
		"CREATE TABLE history (target TEXT NOT NULL, package TEXT NOT NULL, migration TEXT NOT NULL,"
		" version TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL,"
		" PRIMARY KEY (target, package, migration));"
		"INSERT INTO history VALUES ('dev', '@t/a', '0001', '1.0.0', 'sha256:aa', '2025-01-01T00:00:00Z');"
		/* The test's own: every write to history counted, so "not
		 * rewritten" can fail (a DELETE + INSERT would give the row
		 * rowid 1 again in the emptied table). */
		"CREATE TABLE test_history_writes (n INTEGER NOT NULL);"
		"INSERT INTO test_history_writes VALUES (0);"
		"CREATE TRIGGER test_history_del AFTER DELETE ON history"
		" BEGIN UPDATE test_history_writes SET n = n + 1; END;"
		"CREATE TRIGGER test_history_ins AFTER INSERT ON history"
		" BEGIN UPDATE test_history_writes SET n = n + 1; END;"
		"CREATE TRIGGER test_history_upd AFTER UPDATE ON history"
		" BEGIN UPDATE test_history_writes SET n = n + 1; END;"
		"PRAGMA user_version = 1;";
	char *msg = NULL;
	if (sqlite3_exec(db, v1, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("v1: %s", msg);
	sqlite3_close(db);

	struct dbreg_state *st;
	if (dbreg_state_open(&st, path, err, sizeof err) != 0)
		fail_msg("state_open: %s", err);
	struct dbreg_applied *got;
	size_t n;
	assert_int_equal(dbreg_state_get_history(st, "dev", &got, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0].checksum, "sha256:aa");
	assert_int_equal(got[0].duration_ms, 0);
	/* The same rows stored again: compared row by row (no digest yet),
	 * not rewritten, and the digest written. */
	assert_int_equal(dbreg_state_set_history(st, "dev", got, n), 0);
	dbreg_applied_free(got, n);
	assert_int_equal(dbreg_state_log(st, "apply", "dev", "ok", NULL), 0);
	dbreg_state_close(st);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 11);
	sqlite3_finalize(q);
	/* Version 8's digest of the history, written by the store above; the
	 * row from version 1 kept: no write to history since the fixture's
	 * (neither the upgrade nor the store). */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM history_digests),"
					" (SELECT n FROM test_history_writes), (SELECT count(*) FROM history)",
					-1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 1);
	assert_int_equal(sqlite3_column_int(q, 1), 0);
	assert_int_equal(sqlite3_column_int(q, 2), 1);
	sqlite3_finalize(q);
	/* Version 7's per-package check results exist and start empty. */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM cache_checks", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0);
	sqlite3_finalize(q);
	/* Version 6's fleet runs exist and start empty. */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM fleet_runs", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0);
	sqlite3_finalize(q);
	/* Version 4's recorded schemas exist and start empty. */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM package_schemas", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0);
	sqlite3_finalize(q);
	/* Version 3's memo of checked registries and version 5's caches exist
	 * and start empty; version 9's stamp is a column of the no-op memo. */
	static const char *const empty[] = {"SELECT count(*) FROM registry_checks", "SELECT count(*) FROM cache_registry",
					    "SELECT count(*) FROM cache_noop", "SELECT count(stamp) FROM cache_noop"};
	for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
		assert_int_equal(sqlite3_prepare_v2(db, empty[i], -1, &q, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(q, 0), 0);
		sqlite3_finalize(q);
	}
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT who, event, target, outcome FROM events", -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 1), "apply");
	assert_non_null(sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	/* The log is append-only. */
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM events", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE events SET outcome = 'x'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_state__refuses_a_newer_file(void **state)
{
	(void)state;
	char path[400], err[256] = "";
	snprintf(path, sizeof path, "%s/future.db", tmpdir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct dbreg_state *st = (void *)1;
	/* Not a state file this dbreg can use: refused, and left as it is. */
	assert_int_equal(dbreg_state_open(&st, path, err, sizeof err), DBREG_ESTATE);
	assert_null(st);
	assert_non_null(strstr(err, "newer"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan__diamond_orders_by_name),
		cmocka_unit_test(test_plan__independent_packages_by_name),
		cmocka_unit_test(test_plan__deep_chain),
		cmocka_unit_test(test_plan__pin_stops_upgrade),
		cmocka_unit_test(test_plan__pin_below_installed_runs_downs_newest_first),
		cmocka_unit_test(test_plan__downgrade_refused_without_down),
		cmocka_unit_test(test_plan__downgrade_refused_names_broken_dependents),
		cmocka_unit_test(test_plan__pending_is_set_membership_out_of_order_marked),
		cmocka_unit_test(test_plan__no_body_for_dialect_is_dbr042),
		cmocka_unit_test(test_plan__checksum_drift_is_dbr045),
		cmocka_unit_test(test_plan__unknown_applied_migration_is_an_error),
		cmocka_unit_test(test_plan__shuffled_registration_gives_identical_plans),
		cmocka_unit_test(test_state__created_0600_with_folder),
		cmocka_unit_test(test_state__history_round_trip),
		cmocka_unit_test(test_state__upgrades_a_version_1_file),
		cmocka_unit_test(test_state__refuses_a_newer_file),
	};
	return cmocka_run_group_tests_name("plan", tests, state_setup, state_teardown);
}
