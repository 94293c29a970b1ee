/* `dbreg new`: the text of a new package manifest, and a manifest with one
 * empty migration appended. Both are plain text edits: a new manifest is
 * checked by reading it back through the manifest reader, and an append
 * never rewrites a byte that was already in the file. */
#include "registry.h"
#include "toml.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest slug that keeps the table name, and the implicit
 * "<table>_workspace_id_idx", within 63 bytes. */
#define SCAFFOLD_SLUG_MAX 35

/* "@acme/crm" -> "acme_crm"; the ydtb scope is left out ("@ydtb/notes"
 * -> "notes"), as the application's own packages are named. */
static void scaffold_slug(const char *name, char *out, size_t size)
{
	size_t n = 0;
	const char *p = name;
	if (strncmp(p, "@ydtb/", 6) == 0)
		p += 6;
	for (; *p && n + 1 < size && n < SCAFFOLD_SLUG_MAX; p++) {
		char ch = (char)tolower((unsigned char)*p);
		if (ch == '@')
			continue;
		if (!isalnum((unsigned char)ch))
			ch = '_';
		if (ch == '_' && (n == 0 || out[n - 1] == '_'))
			continue;
		out[n++] = ch;
	}
	while (n > 0 && out[n - 1] == '_')
		n--;
	out[n] = '\0';
	if (n == 0)
		snprintf(out, size, "pkg");
}

const char *dbreg_scaffold_file_name(const char *name, char *out, size_t size)
{
	const char *slash = strrchr(name, '/');
	snprintf(out, size, "%s.toml", slash ? slash + 1 : name);
	return out;
}

/* Reads the manifest back and keeps its first error, so a name the reader
 * refuses (DBR010) is refused here with the reader's own message. */
static int scaffold_check(const char *text, size_t len, char *err, size_t errsize)
{
	struct dbreg_diag_list diags = DBREG_DIAG_LIST_INIT;
	struct dbreg_package *pkg = NULL;
	int rc = dbreg_manifest_load(&pkg, &diags, "new manifest", NULL, text, len);
	if (rc == 0 && diags.errors > 0) {
		for (size_t i = 0; i < diags.len; i++)
			if (diags.items[i].severity == DBREG_SEV_ERROR) {
				snprintf(err, errsize, "%s%s%s", diags.items[i].message,
					 diags.items[i].hint ? " (hint: " : "", diags.items[i].hint ? diags.items[i].hint : "");
				if (diags.items[i].hint)
					strncat(err, ")", errsize - strlen(err) - 1);
				break;
			}
		rc = DBREG_EINVALID;
	}
	dbreg_package_free(pkg);
	dbreg_diag_list_dispose(&diags);
	return rc;
}

static const char scaffold_core_text[] =
	"# The core package: the workspaces every package table belongs to, and\n"
	"# the tools packages offer them ([[tools]], upserted by dbreg).\n"
	"# Written by `dbreg new package` for a project that had no core; add the\n"
	"# application's shared tables (users, members) here, with migrations.\n\n"
	"[package]\n"
	"name = \"@ydtb/core\"\n"
	"version = \"1.0.0\"\n"
	"kind = \"core\"\n"
	"description = \"Shared schema: the workspaces (tenants) of the application and the tools packages offer\"\n\n"
	"[tables.ydtb_workspaces]\n"
	"description = \"A tenant: every package table row belongs to one workspace\"\n\n"
	"[tables.ydtb_workspaces.columns]\n"
	"id         = { type = \"text\", primary_key = true }\n"
	"name       = { type = \"text\", not_null = true }\n"
	"created_at = { type = \"timestamptz\", not_null = true, default_sql = \"CURRENT_TIMESTAMP\" }\n\n"
	"[tables.ydtb_tools]\n"
	"description = \"A tool offered by a package; rows are upserted by dbreg from the manifests' [[tools]]\"\n\n"
	"[tables.ydtb_tools.columns]\n"
	"id           = { type = \"text\", primary_key = true }\n"
	"package_name = { type = \"text\", not_null = true }\n"
	"name         = { type = \"text\", not_null = true }\n"
	"description  = { type = \"text\" }\n"
	"icon         = { type = \"text\" }\n\n"
	"[[migrations]]\n"
	"id = \"0001_workspaces\"\n"
	"version = \"1.0.0\"\n"
	"description = \"Workspaces and tools\"\n"
	"up_postgres = \"\"\"\n"
	"CREATE TABLE IF NOT EXISTS \"ydtb_workspaces\" (\n"
	"  \"id\" text PRIMARY KEY,\n"
	"  \"name\" text NOT NULL,\n"
	"  \"created_at\" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
	");\n"
	"CREATE TABLE IF NOT EXISTS \"ydtb_tools\" (\n"
	"  \"id\" text PRIMARY KEY,\n"
	"  \"package_name\" text NOT NULL,\n"
	"  \"name\" text NOT NULL,\n"
	"  \"description\" text,\n"
	"  \"icon\" text\n"
	");\n"
	"\"\"\"\n"
	"up_sqlite = \"\"\"\n"
	"CREATE TABLE IF NOT EXISTS \"ydtb_workspaces\" (\n"
	"  \"id\" TEXT PRIMARY KEY NOT NULL,\n"
	"  \"name\" TEXT NOT NULL,\n"
	"  \"created_at\" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
	");\n"
	"CREATE TABLE IF NOT EXISTS \"ydtb_tools\" (\n"
	"  \"id\" TEXT PRIMARY KEY NOT NULL,\n"
	"  \"package_name\" TEXT NOT NULL,\n"
	"  \"name\" TEXT NOT NULL,\n"
	"  \"description\" TEXT,\n"
	"  \"icon\" TEXT\n"
	");\n"
	"\"\"\"\n"
	"down = \"\"\"\n"
	"DROP TABLE IF EXISTS \"ydtb_tools\";\n"
	"DROP TABLE IF EXISTS \"ydtb_workspaces\";\n"
	"\"\"\"\n";

int dbreg_scaffold_core(char **out, const struct dbreg_registry *reg, char *err, size_t errsize)
{
	*out = NULL;
	for (size_t i = 0; reg && i < reg->n_packages; i++)
		if (reg->packages[i]->core)
			return 0;
	int rc = scaffold_check(scaffold_core_text, sizeof scaffold_core_text - 1, err, errsize);
	if (rc < 0)
		return rc;
	*out = dbreg_strdup(scaffold_core_text);
	return *out ? 0 : DBREG_ENOMEM;
}

int dbreg_scaffold_package(char **out, const char *name, const struct dbreg_registry *reg, char *err,
			   size_t errsize)
{
	*out = NULL;
	const char *core_name = NULL, *core_version = NULL;
	for (size_t i = 0; reg && i < reg->n_packages; i++)
		if (reg->packages[i]->core && reg->packages[i]->name && reg->packages[i]->version_ok) {
			core_name = reg->packages[i]->name;
			core_version = reg->packages[i]->version_text;
		}
	if (strchr(name, '"') || strchr(name, '\\') || strchr(name, '\n')) {
		snprintf(err, errsize, "invalid package name \"%s\"", name);
		return DBREG_EINVALID;
	}
	char slug[SCAFFOLD_SLUG_MAX + 1];
	scaffold_slug(name, slug, sizeof slug);
	char table[64];
	snprintf(table, sizeof table, "ydtb_%s_items", slug);

	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_printf(&b,
		"# %s: what it stores in every workspace.\n"
		"# Written by `dbreg new package`; `dbreg generate %s` writes the next\n"
		"# migration from the tables below once you change them.\n\n"
		"[package]\n"
		"name = \"%s\"\n"
		"version = \"0.1.0\"\n"
		"description = \"Items of %s in every workspace\"\n\n",
		name, name, name, name);
	if (core_name && core_version)
		dbreg_buf_printf(&b, "[dependencies]\n\"%s\" = \"^%s\"\n\n", core_name, core_version);
	dbreg_buf_printf(&b,
		"[tables.%1$s]\n"
		"description = \"An example item inside a workspace: rename or replace it\"\n"
		"workspace_scoped = true\n\n"
		"[tables.%1$s.columns]\n"
		"id         = { type = \"text\", primary_key = true }\n"
		"name       = { type = \"text\", not_null = true }\n"
		"created_at = { type = \"timestamptz\", not_null = true, default_sql = \"CURRENT_TIMESTAMP\" }\n\n"
		"[tables.%1$s.indexes]\n"
		"%1$s_created_idx = { columns = [\"workspace_id\", \"created_at\"] }\n\n"
		"# [[tools]]\n"
		"# id = \"items\"\n"
		"# name = \"Items\"\n\n"
		"[[migrations]]\n"
		"id = \"0001_create_items\"\n"
		"version = \"0.1.0\"\n"
		"description = \"Items\"\n"
		"up_postgres = \"\"\"\n"
		"CREATE TABLE IF NOT EXISTS \"%1$s\" (\n"
		"  \"id\" text PRIMARY KEY,\n"
		"  \"workspace_id\" text NOT NULL REFERENCES \"ydtb_workspaces\" (\"id\") ON DELETE CASCADE,\n"
		"  \"name\" text NOT NULL,\n"
		"  \"created_at\" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
		");\n"
		"CREATE INDEX IF NOT EXISTS \"%1$s_workspace_id_idx\" ON \"%1$s\" (\"workspace_id\");\n"
		"CREATE INDEX IF NOT EXISTS \"%1$s_created_idx\" ON \"%1$s\" (\"workspace_id\", \"created_at\");\n"
		"\"\"\"\n"
		"up_sqlite = \"\"\"\n"
		"CREATE TABLE IF NOT EXISTS \"%1$s\" (\n"
		"  \"id\" TEXT PRIMARY KEY NOT NULL,\n"
		"  \"workspace_id\" TEXT NOT NULL REFERENCES \"ydtb_workspaces\" (\"id\") ON DELETE CASCADE,\n"
		"  \"name\" TEXT NOT NULL,\n"
		"  \"created_at\" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
		");\n"
		"CREATE INDEX IF NOT EXISTS \"%1$s_workspace_id_idx\" ON \"%1$s\" (\"workspace_id\");\n"
		"CREATE INDEX IF NOT EXISTS \"%1$s_created_idx\" ON \"%1$s\" (\"workspace_id\", \"created_at\");\n"
		"\"\"\"\n"
		"down = \"\"\"\n"
		"DROP TABLE IF EXISTS \"%1$s\";\n"
		"\"\"\"\n",
		table);
	if (b.oom) {
		dbreg_buf_dispose(&b);
		return DBREG_ENOMEM;
	}
	int rc = scaffold_check(b.ptr, b.len, err, errsize);
	if (rc < 0) {
		dbreg_buf_dispose(&b);
		return rc;
	}
	*out = dbreg_buf_detach(&b);
	return 0;
}

static bool scaffold_id_ok(const char *id)
{
	if (*id == '\0')
		return false;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return false;
	return true;
}

int dbreg_scaffold_migration(char **out, size_t *out_len, const char *text, size_t len, const char *id,
			     const char *version, char *err, size_t errsize)
{
	*out = NULL;
	*out_len = 0;
	if (!scaffold_id_ok(id)) {
		snprintf(err, errsize, "invalid migration id \"%s\" (letters, digits, '_', '.', '-')", id);
		return DBREG_EUSAGE;
	}
	char *tail = dbreg_printf("[[migrations]]\n"
				  "id = \"%s\"\n"
				  "version = \"%s\"\n"
				  "description = \"\"\n"
				  "up_postgres = \"\"\"\n\"\"\"\n"
				  "up_sqlite = \"\"\"\n\"\"\"\n"
				  "down_postgres = \"\"\"\n\"\"\"\n"
				  "down_sqlite = \"\"\"\n\"\"\"\n",
				  id, version);
	if (!tail)
		return DBREG_ENOMEM;
	int rc = dbreg_manifest_append(out, out_len, text, len, tail, err, errsize);
	free(tail);
	return rc;
}

/* 0 when text parses as TOML, else -1 (or -2 out of memory) with the
 * error in *e. */
static int scaffold_parses(const char *text, size_t len, struct dbreg_toml_error *e)
{
	struct dbreg_toml_doc *doc = NULL;
	int rc = dbreg_toml_parse(&doc, text, len, e);
	dbreg_toml_doc_free(doc);
	return rc;
}

int dbreg_manifest_append(char **out, size_t *out_len, const char *text, size_t len, const char *tail, char *err,
			  size_t errsize)
{
	*out = NULL;
	*out_len = 0;
	/* The file's first line ending says how it writes them: an editor on
	 * Windows keeps CRLF, and a file of mixed endings is not ours to fix. */
	const char *nl = memchr(text, '\n', len);
	const char *eol = nl && nl > text && nl[-1] == '\r' ? "\r\n" : "\n";
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_append(&b, text, len);
	if (len > 0 && text[len - 1] != '\n')
		dbreg_buf_puts(&b, eol);
	if (len > 0)
		dbreg_buf_puts(&b, eol);
	for (const char *p = tail; *p; p++) {
		if (*p == '\n')
			dbreg_buf_puts(&b, eol);
		else
			dbreg_buf_append(&b, p, 1);
	}
	if (b.oom) {
		dbreg_buf_dispose(&b);
		return DBREG_ENOMEM;
	}
	/* Appending is text: a file that already holds `migrations = [...]`
	 * (or defines the tail's keys otherwise) would be broken by it. */
	struct dbreg_toml_error before, after;
	int was = scaffold_parses(text, len, &before), now = was == 0 ? scaffold_parses(b.ptr, b.len, &after) : 0;
	if (was == -2 || now == -2) {
		dbreg_buf_dispose(&b);
		return DBREG_ENOMEM;
	}
	if (now != 0) {
		snprintf(err, errsize,
			 "appending [[migrations]] would make the file invalid TOML (%s, at line %u): write its "
			 "migrations as [[migrations]] tables",
			 after.message, after.line);
		dbreg_buf_dispose(&b);
		return DBREG_EINVALID;
	}
	*out_len = b.len;
	*out = dbreg_buf_detach(&b);
	return 0;
}

/* ---- what the developer commands read of a registry ---- */

const char *dbreg_registry_package_file(const struct dbreg_registry *reg, size_t i)
{
	return reg && i < reg->n_packages ? reg->packages[i]->file : NULL;
}

char *dbreg_registry_package_path(const struct dbreg_registry *reg, size_t i)
{
	if (!reg || i >= reg->n_packages || !reg->packages[i]->file)
		return NULL;
	const struct dbreg_package *p = reg->packages[i];
	const char *slash = strrchr(p->file, '/');
	const char *base = slash ? slash + 1 : p->file;
	if (!p->base_dir || strcmp(p->base_dir, ".") == 0)
		return dbreg_strdup(base);
	return dbreg_printf("%s/%s", p->base_dir, base);
}

size_t dbreg_registry_package_find(const struct dbreg_registry *reg, const char *name)
{
	for (size_t i = 0; reg && i < reg->n_packages; i++)
		if (reg->packages[i]->name && strcmp(reg->packages[i]->name, name) == 0)
			return i;
	return (size_t)-1;
}

bool dbreg_registry_package_has_migration(const struct dbreg_registry *reg, size_t i, const char *id)
{
	if (!reg || i >= reg->n_packages)
		return false;
	const struct dbreg_package *p = reg->packages[i];
	for (size_t k = 0; k < p->n_migrations; k++)
		if (p->migrations[k].id && strcmp(p->migrations[k].id, id) == 0)
			return true;
	return false;
}

int dbreg_write_file(const char *path, const char *text, size_t len, char *err, size_t errsize)
{
	/* A temporary file renamed over the old one: an interrupted write
	 * never leaves half a manifest. */
	char *tmp = dbreg_printf("%s.dbreg-XXXXXX", path);
	if (!tmp)
		return DBREG_ENOMEM;
	struct stat st;
	mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		free(tmp);
		return DBREG_EIO;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	int saved = errno;
	bool ok = done == len && fchmod(fd, mode) == 0 && fsync(fd) == 0;
	if (!ok)
		saved = errno ? errno : saved;
	if (close(fd) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (ok && rename(tmp, path) != 0) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		snprintf(err, errsize, "%s: %s", path, strerror(saved));
		unlink(tmp);
	}
	free(tmp);
	return ok ? 0 : DBREG_EIO;
}
