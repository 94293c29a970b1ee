/* What every command shares: reporting a failure (one error object, one
 * JSON shape), diagnostics, exit codes. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_exit_code(int rc)
{
	if (rc >= 0)
		return 0;
	if (rc >= DBREG_EVERIFY)
		return -rc;
	return 1;   /* out of memory, I/O: nothing was changed */
}

static char *cli_vformat(const char *fmt, va_list ap)
{
	char *out = NULL;
	if (vasprintf(&out, fmt, ap) < 0)
		return NULL;
	return out;
}

void cli_fail(struct cli_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = cli_vformat(fmt, ap);
	va_end(ap);
	fprintf(s->err, "dbreg: %s\n", msg ? msg : "out of memory");
	if (!s->error.message)
		s->error.message = msg;
	else
		free(msg);
	s->failed = true;
}

void cli_error_from_target(struct cli_session *s)
{
	if (!s->conn)
		return;
	const char *state, *detail, *hint;
	dbreg_target_error_parts(s->conn, &state, &detail, &hint);
	if (!s->error.sqlstate[0])
		snprintf(s->error.sqlstate, sizeof s->error.sqlstate, "%s", state);
	if (!s->error.detail && detail[0])
		s->error.detail = strdup(detail);
	if (!s->error.hint && hint[0])
		s->error.hint = strdup(hint);
}

void cli_fail_target(struct cli_session *s, const char *what)
{
	cli_fail(s, "%s%s%s", what ? what : "", what ? ": " : "", dbreg_target_errmsg(s->conn));
	cli_error_from_target(s);
}

void cli_error_set(struct cli_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = cli_vformat(fmt, ap);
	va_end(ap);
	if (!s->error.message)
		s->error.message = msg;
	else
		free(msg);
	s->failed = true;
}

void cli_hint(struct cli_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = cli_vformat(fmt, ap);
	va_end(ap);
	if (!msg)
		return;
	fprintf(s->err, "  hint: %s\n", msg);
	if (!s->error.hint)
		s->error.hint = msg;
	else
		free(msg);
}

int cli_usage(struct cli_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = cli_vformat(fmt, ap);
	va_end(ap);
	cli_fail(s, "%s", msg ? msg : "usage error");
	free(msg);
	if (s->cmd)
		cli_hint(s, "see 'dbreg %s --help'", s->cmd->name);
	else
		cli_hint(s, "see 'dbreg --help'");
	return DBREG_EUSAGE;
}

void cli_fail_manifests(struct cli_session *s)
{
	const struct dbreg_diag_list *d = dbreg_registry_diags(s->reg);
	cli_print_diags(s, d);
	cli_fail(s, "the manifests have %zu error%s; nothing was changed", d->errors, d->errors == 1 ? "" : "s");
}

int cli_package(size_t *out, struct cli_session *s, const char *name)
{
	if ((*out = dbreg_registry_package_find(s->reg, name)) != (size_t)-1)
		return 0;
	if (dbreg_registry_diags(s->reg)->errors) {
		cli_fail_manifests(s);
		return DBREG_EINVALID;
	}
	size_t n = dbreg_registry_package_count(s->reg);
	const char **names = calloc(2 * n + 1, sizeof *names), **bare = names ? names + n : NULL;
	for (size_t k = 0; names && k < n; k++) {
		names[k] = dbreg_registry_package_name(s->reg, k);
		const char *slash = strchr(names[k], '/');
		bare[k] = slash ? slash + 1 : names[k];
	}
	const char *best = names ? cli_suggest(name, names, n) : NULL;
	/* "notes" for @acme/notes: the name without its scope. */
	const char *part = !best && names && !strchr(name, '/') ? cli_suggest(name, bare, n) : NULL;
	for (size_t k = 0; part && k < n; k++)
		if (bare[k] == part)
			best = names[k];
	cli_fail(s, "%s%s%s: no package %s in this project", s->cmd->name, s->sub ? " " : "", s->sub ? s->sub : "",
		 name);
	if (best)
		cli_hint(s, "did you mean %s?", best);
	else
		cli_hint(s, "see 'dbreg %s --help'", s->cmd->name);
	free(names);
	return DBREG_EUSAGE;
}

static char *cli_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void cli_error_from_apply(struct cli_error *e, const struct dbreg_apply_result *r)
{
	if (r->failed_migration) {
		if (asprintf(&e->message, "migration %s %s of %s failed: %s", r->failed_up ? "up" : "down",
			     r->failed_migration, r->failed_package, r->message ? r->message : r->errmsg) < 0)
			e->message = NULL;
	} else {
		e->message = cli_dup(r->errmsg);
	}
	e->detail = cli_dup(r->detail);
	e->hint = cli_dup(r->hint);
	e->file = cli_dup(r->file);
	e->line = r->line;
	e->column = r->column;
	e->package = cli_dup(r->failed_package);
	e->migration = cli_dup(r->failed_migration);
	e->statement = cli_dup(r->statement);
	memcpy(e->sqlstate, r->sqlstate, sizeof(e->sqlstate));
	e->sqlstate[sizeof(e->sqlstate) - 1] = '\0';
}

void cli_fail_apply(struct cli_session *s, const struct dbreg_apply_result *r)
{
	if (s->error.message)
		return;
	s->failed = true;
	cli_error_from_apply(&s->error, r);
}

void cli_error_dispose(struct cli_error *e)
{
	free(e->message);
	free(e->detail);
	free(e->hint);
	free(e->file);
	free(e->package);
	free(e->migration);
	free(e->statement);
	memset(e, 0, sizeof *e);
}

static void cli_json_error_field(FILE *fp, const char *key, const char *value, bool first)
{
	fprintf(fp, "%s\"%s\": ", first ? "" : ", ", key);
	dbreg_json_str(fp, value);
}

void cli_json_error(FILE *fp, const struct cli_error *e, const char *message)
{
	fputc('{', fp);
	cli_json_error_field(fp, "message", e->message ? e->message : message, true);
	cli_json_error_field(fp, "detail", e->detail, false);
	cli_json_error_field(fp, "hint", e->hint, false);
	cli_json_error_field(fp, "sqlstate", e->sqlstate[0] ? e->sqlstate : NULL, false);
	cli_json_error_field(fp, "file", e->file, false);
	if (e->line)
		fprintf(fp, ", \"line\": %u, \"column\": ", e->line);
	else
		fputs(", \"line\": null, \"column\": ", fp);
	if (e->line && e->column)
		fprintf(fp, "%u", e->column);
	else
		fputs("null", fp);
	cli_json_error_field(fp, "package", e->package, false);
	cli_json_error_field(fp, "migration", e->migration, false);
	cli_json_error_field(fp, "statement", e->statement, false);
	fputc('}', fp);
}

void cli_json_key(struct cli_session *s, const char *key)
{
	fprintf(s->out, "%s  \"%s\": ", s->json_keys++ ? ",\n" : "", key);
}

char *cli_json_keys_text(struct cli_session *s, void (*print)(struct cli_session *s, const void *arg), const void *arg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *held = s->out;
	size_t held_keys = s->json_keys;
	if (!(s->out = open_memstream(&text, &len))) {
		s->out = held;
		return NULL;
	}
	s->json_keys = 0;
	print(s, arg);
	bool bad = ferror(s->out);
	fclose(s->out);
	s->out = held;
	s->json_keys = held_keys;
	if (bad) {
		free(text);
		return NULL;
	}
	return text;
}

void cli_json_strings(FILE *fp, char *const *v, size_t n)
{
	fputc('[', fp);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : "", fp);
		dbreg_json_str(fp, v[i]);
	}
	fputc(']', fp);
}

void cli_json_migration(FILE *fp, const char *package, const char *migration, const char *version)
{
	fputs("\"package\": ", fp);
	dbreg_json_str(fp, package);
	fputs(", \"migration\": ", fp);
	dbreg_json_str(fp, migration);
	fputs(", \"version\": ", fp);
	dbreg_json_str(fp, version);
}

const struct dbreg_diag_list *cli_diags(struct cli_session *s)
{
	if (s->command_diags.len)
		return &s->command_diags;
	return s->reg ? dbreg_registry_diags(s->reg) : &s->project_diags;
}

void cli_print_diags(struct cli_session *s, const struct dbreg_diag_list *list)
{
	unsigned flags = s->color ? DBREG_PRINT_COLOR : 0;
	for (size_t i = 0; i < list->len; i++) {
		if (s->o.quiet && list->items[i].severity != DBREG_SEV_ERROR)
			continue;
		dbreg_diag_print(s->err, &list->items[i], flags);
	}
}

const char *cli_dialect_name(enum dbreg_dialect d)
{
	return d == DBREG_DIALECT_POSTGRES ? "postgres" : "sqlite";
}

void cli_print_bypasses(struct cli_session *s, const struct dbreg_plan *plan)
{
	if (s->o.quiet)
		return;
	const struct dbreg_diag_list *list = dbreg_registry_diags(s->reg);
	/* The plan's own list, to leave out what it printed already: its
	 * warnings are in the registry's too (dbreg_plan_build adds them). */
	struct dbreg_diag_list printed = DBREG_DIAG_LIST_INIT;
	dbreg_plan_warnings(plan, &printed);
	unsigned flags = s->color ? DBREG_PRINT_COLOR : 0;
	for (size_t i = 0; i < list->len; i++) {
		const struct dbreg_diag *d = &list->items[i];
		bool seen = false;
		for (size_t k = 0; k < printed.len && !seen; k++) {
			const struct dbreg_diag *p = &printed.items[k];
			seen = strcmp(p->code, d->code) == 0 && p->line == d->line && p->column == d->column &&
			       (p->file && d->file ? strcmp(p->file, d->file) == 0 : p->file == d->file);
		}
		if (!seen && strcmp(d->code, "DBR105") == 0)
			dbreg_diag_print(s->err, d, flags);
	}
	dbreg_diag_list_dispose(&printed);
}

void cli_note_tools(struct cli_session *s)
{
	const char *pkg = s->reg && !s->o.quiet ? dbreg_registry_tools_unwritten(s->reg) : NULL;
	if (pkg)
		fprintf(s->err, "dbreg: note: the [[tools]] of %s %s not written: the core package declares no ydtb_tools "
			"table to hold them\n", pkg, s->o.dry_run ? "would be" : "were");
}

char *cli_path_join(const char *dir, const char *name)
{
	if (strcmp(dir, ".") == 0 || name[0] == '/')
		return strdup(name);
	size_t n = strlen(dir);
	size_t size = n + strlen(name) + 2;
	char *p = malloc(size);
	if (p)
		snprintf(p, size, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
	return p;
}

int cli_read_file(const char *path, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n - 1, fp);
		n += got;
		if (got == 0)
			break;
		if (cap - n - 1 == 0) {
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	bool failed = !buf || ferror(fp);
	fclose(fp);
	if (failed) {
		free(buf);
		errno = buf ? EIO : ENOMEM;
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}
