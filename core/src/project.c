/* The project folder and its optional dbreg.toml: where manifests live,
 * where the state file is, and the named targets with ${NAME} expansion. */
#include "diag.h"
#include "inputs.h"
#include "isolation.h"
#include "toml.h"
#include "util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const project_sections[] = { "registry", "targets", "isolation", "fleets", NULL };
static const char *const project_isolation_keys[] = { "row_level_security", "setting", "workspace_keys", NULL };
static const char *const project_registry_keys[] = { "packages", "state", NULL };
static const char *const project_target_keys[] = { "url", "dev", "lock_timeout", "statement_timeout", NULL };
static const char *const project_fleet_keys[] = { "targets", "urls_file", "jobs", "canary", NULL };

static void project_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void project_fleet_dispose(struct dbreg_fleet_def *f)
{
	free(f->name);
	project_strv_free(f->targets, f->n_targets);
	free(f->urls_file);
	project_strv_free(f->canary, f->n_canary);
}

void dbreg_project_free(struct dbreg_project *p)
{
	if (p == NULL)
		return;
	free(p->dir);
	for (size_t i = 0; i < p->n_package_dirs; i++)
		free(p->package_dirs[i]);
	free(p->package_dirs);
	free(p->state_path);
	for (size_t i = 0; i < p->n_targets; i++) {
		free(p->targets[i].name);
		free(p->targets[i].url);
	}
	free(p->targets);
	for (size_t i = 0; i < p->n_fleets; i++)
		project_fleet_dispose(&p->fleets[i]);
	free(p->fleets);
	free(p);
}

struct pctx {
	struct dbreg_diag_list *diags;
	const char *file;
	bool oom;
};

/* A finding about dbreg.toml; hint says what to write instead (every one
 * has one: review-8 #7). */
static void project_diag(struct pctx *c, const char *code, unsigned line, unsigned col, const char *hint,
			 const char *fmt, const char *a, const char *b)
{
	struct dbreg_diag_at at = { .file = c->file, .line = line, .column = col };
	if (dbreg_diag_addf(c->diags, code, &at, fmt, a, b) != 0) {
		c->oom = true;
		return;
	}
	if (hint && dbreg_diag_hintf(c->diags, "%s", hint) != 0)
		c->oom = true;
}

/* A duration in milliseconds: "500ms", "5s", "10min", "2h", "1d", or a bare
 * number of milliseconds (as PostgreSQL reads one); -1 when invalid. */
static long long project_duration(const char *s)
{
	static const struct { const char *unit; long long ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "min", 60000 }, { "h", 3600000 }, { "d", 86400000 }, { "", 1 },
	};
	char *end;
	long long v = strtoll(s, &end, 10);
	if (end == s || v < 0 || v > 100000000)
		return -1;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(end, units[i].unit) == 0)
			return v * units[i].ms;
	return -1;
}

/* A target's lock_timeout or statement_timeout into *ms. */
static void project_timeout(struct pctx *c, const struct dbreg_toml_node *t, const char *key, long long *ms)
{
	const struct dbreg_toml_node *v = dbreg_toml_get(t, key);
	if (!v)
		return;
	*ms = v->type == DBREG_TOML_STRING ? project_duration(v->u.str.ptr)
	      : v->type == DBREG_TOML_INTEGER && v->u.integer >= 0 ? v->u.integer : -1;
	if (*ms < 0) {
		char hint[96];
		snprintf(hint, sizeof hint, "write it as %s = \"5s\"; units: ms, s, min, h, d", key);
		project_diag(c, "DBR014", v->line, v->column, hint, "%s%s must be a duration such as \"5s\" or \"10min\"",
			     "the target's ", key);
		*ms = 0;
	}
}

/* Unknown keys of a table (DBR013 with the nearest known key). */
static void project_keys(struct pctx *c, const struct dbreg_toml_node *t, const char *const *known,
			 const char *where)
{
	for (size_t i = 0; i < t->u.table.len; i++) {
		const struct dbreg_toml_kv *kv = &t->u.table.items[i];
		bool ok = false;
		for (size_t k = 0; known[k]; k++)
			ok |= strcmp(known[k], kv->key) == 0;
		if (ok)
			continue;
		/* The nearest known key, or all of them (as manifest.c says). */
		char hint[256];
		const char *near = dbreg_nearest(kv->key, known);
		if (near) {
			snprintf(hint, sizeof hint, "did you mean \"%s\"?", near);
		} else {
			size_t n = (size_t)snprintf(hint, sizeof hint, "known keys here:");
			for (size_t k = 0; known[k] && n < sizeof hint; k++)
				n += (size_t)snprintf(hint + n, sizeof hint - n, "%s %s", k ? "," : "", known[k]);
		}
		project_diag(c, "DBR013", kv->line, kv->column, hint, "unknown key \"%s\" in %s", kv->key, where);
	}
}

#define FLEET_EXAMPLE "[fleets.tenants] with targets = [\"tenant_a\"] or urls_file = \"tenants.txt\""

/* fix: the key or table written right, for the hint. */
static void project_wrong_type(struct pctx *c, const struct dbreg_toml_node *v, const char *what,
			       const char *want, const char *fix)
{
	char hint[160];
	snprintf(hint, sizeof hint, "write it as %s", fix);
	project_diag(c, "DBR014", v->line, v->column, hint, "%s must be %s", what, want);
}

/* An array of non-empty strings into a new vector; wrong types are DBR014. */
static void project_strv(struct pctx *c, const struct dbreg_toml_node *v, const char *what, const char *fix,
			 char ***out, size_t *n)
{
	if (v->type != DBREG_TOML_ARRAY) {
		project_wrong_type(c, v, what, "an array of target names or URLs", fix);
		return;
	}
	if ((*out = calloc(v->u.array.len + 1, sizeof **out)) == NULL) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < v->u.array.len; i++) {
		const struct dbreg_toml_node *e = v->u.array.items[i];
		if (e->type != DBREG_TOML_STRING || e->u.str.len == 0)
			project_wrong_type(c, e, what, "an array of target names or URLs", fix);
		else if (((*out)[*n] = dbreg_strdup(e->u.str.ptr)) == NULL)
			c->oom = true;
		else
			(*n)++;
	}
}

/* [fleets.NAME]: targets, urls_file, jobs, canary (cli.md). Resolving the
 * names and reading urls_file wait for dbreg_fleet_open: a project with a
 * fleet whose variables are unset still serves single-target commands. */
static void project_read_fleets(struct pctx *c, struct dbreg_project *p, const struct dbreg_toml_node *fl)
{
	if (fl->type != DBREG_TOML_TABLE) {
		project_wrong_type(c, fl, "fleets", "a table of [fleets.NAME]", FLEET_EXAMPLE);
		return;
	}
	if (fl->u.table.len == 0)
		return;
	if ((p->fleets = calloc(fl->u.table.len, sizeof *p->fleets)) == NULL) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < fl->u.table.len; i++) {
		const struct dbreg_toml_kv *kv = &fl->u.table.items[i];
		if (kv->value->type != DBREG_TOML_TABLE) {
			project_wrong_type(c, kv->value, "a fleet", "a table with targets or urls_file", FLEET_EXAMPLE);
			continue;
		}
		project_keys(c, kv->value, project_fleet_keys, "a fleet");
		struct dbreg_fleet_def *f = &p->fleets[p->n_fleets++];
		if ((f->name = dbreg_strdup(kv->key)) == NULL) {
			c->oom = true;
			continue;
		}
		const struct dbreg_toml_node *v;
		if ((v = dbreg_toml_get(kv->value, "targets")) != NULL)
			project_strv(c, v, "the targets of a fleet", "targets = [\"tenant_a\", \"tenant_b\"]", &f->targets,
				     &f->n_targets);
		if ((v = dbreg_toml_get(kv->value, "canary")) != NULL)
			project_strv(c, v, "the canary of a fleet", "canary = [\"tenant_a\"]", &f->canary, &f->n_canary);
		if ((v = dbreg_toml_get(kv->value, "urls_file")) != NULL) {
			if (v->type != DBREG_TOML_STRING || v->u.str.len == 0)
				project_wrong_type(c, v, "the urls_file of a fleet", "a file name",
						   "urls_file = \"tenants.txt\", a file of one URL a line");
			else if ((f->urls_file = dbreg_strdup(v->u.str.ptr)) == NULL)
				c->oom = true;
		}
		if ((v = dbreg_toml_get(kv->value, "jobs")) != NULL) {
			if (v->type != DBREG_TOML_INTEGER || v->u.integer < 1 || v->u.integer > 1024)
				project_wrong_type(c, v, "the jobs of a fleet", "a number from 1 to 1024", "jobs = 4");
			else
				f->jobs = (size_t)v->u.integer;
		}
		if (!dbreg_toml_get(kv->value, "targets") && !f->urls_file) {
			char hint[160];
			snprintf(hint, sizeof hint, "add targets = [\"tenant_a\"] or urls_file = "
				 "\"tenants.txt\" to [fleets.%s]", kv->key);
			project_diag(c, "DBR014", kv->line, kv->column, hint, "fleet \"%s\" has neither %s", kv->key,
				     "targets nor urls_file");
		}
	}
}

/* [isolation]: row_level_security, setting, workspace_keys. */
static void project_isolation(struct pctx *c, struct dbreg_project *p, const struct dbreg_toml_node *iso)
{
	if (iso == NULL)
		return;
	if (iso->type != DBREG_TOML_TABLE) {
		project_wrong_type(c, iso, "isolation", "a table", "[isolation] with row_level_security = true");
		return;
	}
	project_keys(c, iso, project_isolation_keys, "[isolation]");
	static const struct {
		const char *key;
		size_t offset;
	} flags[] = {
		{ "row_level_security", offsetof(struct dbreg_isolation, row_level_security) },
		{ "workspace_keys", offsetof(struct dbreg_isolation, workspace_keys) },
	};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		const struct dbreg_toml_node *v = dbreg_toml_get(iso, flags[i].key);
		if (v && v->type != DBREG_TOML_BOOL) {
			char hint[96];
			snprintf(hint, sizeof hint, "write it as %s = true or false, without quotes", flags[i].key);
			project_diag(c, "DBR014", v->line, v->column, hint, "isolation.%s must be %s", flags[i].key,
				     "true or false");
		} else if (v)
			*(bool *)((char *)&p->isolation + flags[i].offset) = v->u.boolean;
	}
	const struct dbreg_toml_node *s = dbreg_toml_get(iso, "setting");
	if (s && (s->type != DBREG_TOML_STRING || !dbreg_isolation_setting_ok(s->u.str.ptr))) {
		/* The value written, not the default, is what was refused. */
		char shown[100];
		if (s->type == DBREG_TOML_STRING)
			snprintf(shown, sizeof shown, "\"%.80s\"", s->u.str.ptr);
		else
			snprintf(shown, sizeof shown, "(not a string)");
		project_diag(c, "DBR014", s->line, s->column, "write it as setting = \"app.workspace_id\", the default",
			     "isolation.setting %s is not a custom setting name%s", shown,
			     " of lowercase letters, digits and '_' with one dot, at most 63 bytes");
	}
	else if (s)
		snprintf(p->isolation.setting, sizeof p->isolation.setting, "%s", s->u.str.ptr);
}

static void project_read(struct pctx *c, struct dbreg_project *p, const struct dbreg_toml_node *root)
{
	const struct dbreg_toml_node *fleets = dbreg_toml_get(root, "fleets");
	if (fleets)
		project_read_fleets(c, p, fleets);
	project_keys(c, root, project_sections, "dbreg.toml");
	const struct dbreg_toml_node *reg = dbreg_toml_get(root, "registry");
	if (reg && reg->type != DBREG_TOML_TABLE) {
		project_wrong_type(c, reg, "registry", "a table", "[registry] with packages = [\"tomls\"]");
	} else if (reg) {
		project_keys(c, reg, project_registry_keys, "[registry]");
		const struct dbreg_toml_node *pk = dbreg_toml_get(reg, "packages");
		if (pk && pk->type != DBREG_TOML_ARRAY) {
			project_wrong_type(c, pk, "registry.packages", "an array of folder names", "packages = [\"tomls\"]");
		} else if (pk && pk->u.array.len > 0) {
			p->packages_line = pk->line;
			p->packages_column = pk->column;
			p->package_dirs = calloc(pk->u.array.len, sizeof *p->package_dirs);
			if (p->package_dirs == NULL) {
				c->oom = true;
				return;
			}
			for (size_t i = 0; i < pk->u.array.len; i++) {
				const struct dbreg_toml_node *e = pk->u.array.items[i];
				if (e->type != DBREG_TOML_STRING || e->u.str.len == 0) {
					project_wrong_type(c, e, "registry.packages", "an array of folder names",
							   "packages = [\"tomls\"]");
					continue;
				}
				/* Spelled plainly: "./tomls" and "tomls/" name the files
				 * of "tomls" as it does, so a re-spelling is no change. */
				if ((p->package_dirs[p->n_package_dirs] = dbreg_path_plain(e->u.str.ptr)) == NULL)
					c->oom = true;
				else
					p->n_package_dirs++;
			}
		}
		const struct dbreg_toml_node *st = dbreg_toml_get(reg, "state");
		if (st && st->type != DBREG_TOML_STRING) {
			project_wrong_type(c, st, "registry.state", "a string", "state = \".dbreg/state.db\", the default");
		} else if (st) {
			free(p->state_path);
			if ((p->state_path = dbreg_path_plain(st->u.str.ptr)) == NULL)
				c->oom = true;
		}
	}
	project_isolation(c, p, dbreg_toml_get(root, "isolation"));
	const struct dbreg_toml_node *tg = dbreg_toml_get(root, "targets");
	if (tg && tg->type != DBREG_TOML_TABLE) {
		project_wrong_type(c, tg, "targets", "a table of [targets.NAME]", "[targets.dev] with url = \"sqlite:dev.db\"");
	} else if (tg && tg->u.table.len > 0) {
		p->targets = calloc(tg->u.table.len, sizeof *p->targets);
		if (p->targets == NULL) {
			c->oom = true;
			return;
		}
		for (size_t i = 0; i < tg->u.table.len; i++) {
			const struct dbreg_toml_kv *kv = &tg->u.table.items[i];
			if (kv->value->type != DBREG_TOML_TABLE) {
				project_wrong_type(c, kv->value, "a target", "a table with a url",
					   "[targets.NAME] with url = \"sqlite:PATH\" or \"postgres://...\"");
				continue;
			}
			project_keys(c, kv->value, project_target_keys, "a target");
			const struct dbreg_toml_node *url = dbreg_toml_get(kv->value, "url");
			if (url == NULL) {
				char hint[160];
				snprintf(hint, sizeof hint, "add url = \"sqlite:PATH\", \"postgres://...\" or \"${NAME}\" to [targets.%s]",
					 kv->key);
				project_diag(c, "DBR014", kv->value->line, kv->value->column, hint, "target \"%s\" has no url",
					     kv->key, NULL);
				continue;
			}
			if (url->type != DBREG_TOML_STRING) {
				project_wrong_type(c, url, "the url of a target", "a string",
						   "url = \"sqlite:PATH\", \"postgres://...\" or \"${NAME}\"");
				continue;
			}
			struct dbreg_target_def *t = &p->targets[p->n_targets];
			project_timeout(c, kv->value, "lock_timeout", &t->lock_timeout_ms);
			project_timeout(c, kv->value, "statement_timeout", &t->statement_timeout_ms);
			t->dev = -1;
			const struct dbreg_toml_node *dev = dbreg_toml_get(kv->value, "dev");
			if (dev && dev->type != DBREG_TOML_BOOL)
				project_wrong_type(c, dev, "the dev key of a target", "true or false", "dev = true or false, without quotes");
			else if (dev)
				t->dev = dev->u.boolean ? 1 : 0;
			t->name = dbreg_strdup(kv->key);
			t->url = dbreg_strdup(url->u.str.ptr);
			if (t->name == NULL || t->url == NULL) {
				free(t->name);
				free(t->url);
				c->oom = true;
				continue;
			}
			p->n_targets++;
		}
	}
}

int dbreg_project_open(struct dbreg_project **out, const char *dir, struct dbreg_diag_list *diags)
{
	*out = NULL;
	struct dbreg_diag_list local = DBREG_DIAG_LIST_INIT;
	if (diags == NULL)
		diags = &local;
	size_t errors_before = diags->errors;
	struct dbreg_project *p = calloc(1, sizeof *p);
	if (p == NULL)
		return DBREG_ENOMEM;
	p->dir = dbreg_strdup(dir && dir[0] ? dir : ".");
	p->state_path = dbreg_strdup(".dbreg/state.db");
	char *file = strcmp(p->dir ? p->dir : ".", ".") == 0 ? dbreg_strdup("dbreg.toml")
							    : dbreg_printf("%s/dbreg.toml", p->dir);
	int rc = 0;
	if (p->dir == NULL || p->state_path == NULL || file == NULL) {
		rc = DBREG_ENOMEM;
		goto out;
	}
	char *text = NULL;
	size_t len = 0;
	if (dbreg_read_file(file, &text, &len) == 0) {
		struct dbreg_toml_doc *doc = NULL;
		struct dbreg_toml_error err;
		memset(&err, 0, sizeof err);
		int prc = dbreg_toml_parse(&doc, text, len, &err);
		struct pctx c = { diags, file, false };
		if (prc == -2) {
			c.oom = true;
		} else if (prc != 0) {
			struct dbreg_diag_at at = { .file = file, .line = err.line, .column = err.column };
			err.message[sizeof err.message - 1] = '\0';
			c.oom |= dbreg_diag_invalid_toml(diags, &at, err.message) != 0;
		} else {
			project_read(&c, p, doc->root);
		}
		dbreg_toml_doc_free(doc);
		free(text);
		if (c.oom)
			rc = DBREG_ENOMEM;
	} else if (errno != ENOENT) {
		/* A dbreg.toml that exists but cannot be read is an error, not a default. */
		struct dbreg_diag_at at = { .file = file };
		if (dbreg_diag_addf(diags, "DBR001", &at, "cannot read dbreg.toml: %s", dbreg_io_strerror(errno)) != 0 ||
		    dbreg_diag_hintf(diags, "make it a file this user can read, or remove it: every key has a default") != 0)
			rc = DBREG_ENOMEM;
	}
	if (rc == 0 && p->n_package_dirs == 0) {
		free(p->package_dirs);
		p->package_dirs = calloc(1, sizeof *p->package_dirs);
		if (p->package_dirs == NULL || (p->package_dirs[0] = dbreg_strdup("tomls")) == NULL)
			rc = DBREG_ENOMEM;
		else
			p->n_package_dirs = 1;
	}
	if (rc == 0 && diags->errors > errors_before)
		rc = DBREG_EINVALID;
out:
	free(file);
	dbreg_diag_list_dispose(&local);
	if (rc != 0) {
		dbreg_project_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* Expands ${NAME} from the environment into a new string. */
static int project_expand(char **out, const char *in, const char *target, char *err, size_t errsize)
{
	struct dbreg_buf b = DBREG_BUF_INIT;
	const char *p = in;
	*out = NULL;
	while (*p) {
		const char *s = strstr(p, "${");
		if (s == NULL) {
			dbreg_buf_puts(&b, p);
			break;
		}
		dbreg_buf_append(&b, p, (size_t)(s - p));
		const char *e = strchr(s + 2, '}');
		if (e == NULL || e == s + 2) {
			snprintf(err, errsize, "target \"%s\": unterminated or empty ${...} in its url", target);
			dbreg_buf_dispose(&b);
			return DBREG_EUSAGE;
		}
		char name[256];
		size_t n = (size_t)(e - s - 2);
		if (n >= sizeof name) {
			snprintf(err, errsize, "target \"%s\": variable name too long in its url", target);
			dbreg_buf_dispose(&b);
			return DBREG_EUSAGE;
		}
		memcpy(name, s + 2, n);
		name[n] = '\0';
		const char *val = getenv(name);
		if (val == NULL) {
			snprintf(err, errsize, "target \"%s\" needs the environment variable %s, which is not set",
				 target, name);
			dbreg_buf_dispose(&b);
			return DBREG_EUSAGE;
		}
		dbreg_buf_puts(&b, val);
		p = e + 1;
	}
	*out = dbreg_buf_detach(&b);
	return *out ? 0 : DBREG_ENOMEM;
}

/* "unknown target", with what the user probably meant: a target of a near
 * name, a SQLite file (sqlite:PATH), or a target to define. */
static void project_unknown_target(const struct dbreg_project *p, const char *target, char *err, size_t errsize)
{
	struct dbreg_buf known = DBREG_BUF_INIT;
	const char *names[65];
	size_t n = 0;
	for (size_t i = 0; p && i < p->n_targets; i++) {
		dbreg_buf_printf(&known, "%s%s", i ? ", " : "", p->targets[i].name);
		if (n + 1 < sizeof names / sizeof *names)
			names[n++] = p->targets[i].name;
	}
	names[n] = NULL;
	const char *near = dbreg_nearest(target, names);
	const char *list = known.ptr && known.len ? known.ptr : "none";
	if (near)
		snprintf(err, errsize, "unknown target \"%s\"; did you mean \"%s\"? (targets in dbreg.toml: %s)", target,
			 near, list);
	else if (strchr(target, '/') || strchr(target, '.'))
		snprintf(err, errsize, "unknown target \"%s\": no target of dbreg.toml has that name, and a URL "
			 "names its scheme (a SQLite file: sqlite:%s)", target, target);
	else
		snprintf(err, errsize, "unknown target \"%s\" (targets in dbreg.toml: %s): define it in [targets.%s] "
			 "of dbreg.toml with url = \"...\", or give a URL (sqlite:PATH, postgres://...)", target, list,
			 target);
	dbreg_buf_dispose(&known);
}

int dbreg_project_target_url(char **url, const struct dbreg_project *p, const char *target,
			     char *err, size_t errsize)
{
	char dummy[8];
	if (err == NULL || errsize == 0) {
		err = dummy;
		errsize = sizeof dummy;
	}
	err[0] = '\0';
	*url = NULL;
	const char *raw = NULL, *name = target ? target : "dev";
	for (size_t i = 0; p && i < p->n_targets; i++)
		if (strcmp(p->targets[i].name, name) == 0)
			raw = p->targets[i].url;
	if (raw == NULL && target == NULL)
		raw = "sqlite:ydtb.db";
	if (raw == NULL) {
		/* Not a target name: a URL or a libpq keyword string, or a
		 * ${NAME} that holds one (a line of urls_file). */
		if (strchr(target, ':') == NULL && strchr(target, '=') == NULL && strstr(target, "${") == NULL) {
			project_unknown_target(p, target, err, errsize);
			return DBREG_EUSAGE;
		}
		raw = target;
	}
	char *expanded = NULL;
	int rc = project_expand(&expanded, raw, name, err, errsize);
	if (rc != 0)
		return rc;
	/* Blanks around it (a pasted secret, a CRLF .env file) belong to no
	 * URL: libpq would refuse a leading one, and take a trailing one into
	 * the database's name. */
	size_t lead = strspn(expanded, " \t\r\n\f\v"), len = strlen(expanded);
	while (len > lead && strchr(" \t\r\n\f\v", expanded[len - 1]))
		len--;
	memmove(expanded, expanded + lead, len - lead);
	expanded[len - lead] = '\0';
	if (expanded[0] == '\0' || strcmp(expanded, "sqlite:") == 0) {
		snprintf(err, errsize, "target \"%s\" is empty%s", raw == target ? target : name,
			 strchr(raw, '$') ? " (what its ${NAME} stands for is empty)" : "");
		free(expanded);
		return DBREG_EUSAGE;
	}
	const char *unclear = dbreg_url_unclear(expanded);
	if (unclear) {
		char *shown = dbreg_url_redact(expanded);
		snprintf(err, errsize, "malformed URL %s: %s", shown ? shown : "(url)", unclear);
		free(shown);
		free(expanded);
		return DBREG_EUSAGE;
	}
	/* sqlite:PATH with a relative PATH means relative to the project. */
	const char *dir = p && p->dir ? p->dir : ".";
	if (strncmp(expanded, "sqlite:", 7) == 0) {
		const char *path = expanded + 7;
		if (path[0] != '\0' && path[0] != '/' && strcmp(path, ":memory:") != 0 &&
		    strcmp(dir, ".") != 0) {
			char *joined = dbreg_printf("sqlite:%s/%s", dir, path);
			free(expanded);
			if (joined == NULL)
				return DBREG_ENOMEM;
			expanded = joined;
		}
	}
	*url = expanded;
	return 0;
}

const struct dbreg_target_def *dbreg_project_target(const struct dbreg_project *p, const char *target)
{
	const char *name = target ? target : "dev";
	for (size_t i = 0; p && i < p->n_targets; i++)
		if (strcmp(p->targets[i].name, name) == 0)
			return &p->targets[i];
	return NULL;
}

const struct dbreg_target_def *dbreg_project_target_saying_dev(const struct dbreg_project *p, const char *target,
							      const char *url)
{
	const struct dbreg_target_def *def = dbreg_project_target(p, target), *yes = NULL;
	/* The same database by another spelling: its URL, another name. A
	 * dev = false anywhere wins; a dev = true decides only for a URL (a
	 * named target that does not say dev = true is none, whatever another
	 * name of its database says). */
	char *key = url ? dbreg_target_key(url) : NULL;
	for (size_t i = 0; key && p && i < p->n_targets; i++) {
		if (p->targets[i].dev < 0)
			continue;
		char *u = NULL, *k = NULL, err[256];
		bool same = dbreg_project_target_url(&u, p, p->targets[i].name, err, sizeof err) == 0 &&
			    (k = dbreg_target_key(u)) != NULL && strcmp(k, key) == 0;
		free(k);
		free(u);
		if (same && p->targets[i].dev == 0) {
			free(key);
			return &p->targets[i];
		}
		if (same && !yes)
			yes = &p->targets[i];
	}
	free(key);
	if (def)
		return def->dev >= 0 ? def : NULL;
	return yes;
}

bool dbreg_project_target_is_dev(const struct dbreg_project *p, const char *target, const char *url)
{
	enum dbreg_dialect dialect;
	bool sqlite = url && dbreg_target_dialect(url, &dialect) == 0 && dialect == DBREG_DIALECT_SQLITE;
	/* An in-memory database lives as long as the run: nothing to protect. */
	if (dbreg_target_is_memory(url))
		return true;
	const struct dbreg_target_def *said = dbreg_project_target_saying_dev(p, target, url);
	return said ? said->dev == 1 : sqlite;
}
