/* libFuzzer target for the SQL checks: the input becomes the up_postgres
 * (or down_postgres) body of a migration in a manifest registered next to a
 * minimal core, validated through the public API with SQL analysis on.
 * The body is written as a TOML basic string with every byte that needs it
 * escaped, so any input reaches libpg_query and the position mapping; the
 * SQLite body stays fixed, since replaying arbitrary SQL on SQLite can run
 * for ever (recursive CTEs). Every diagnostic must sit inside the manifest. */
#include "dbreg.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char fuzz_core[] =
	"[package]\nname = \"@ydtb/core\"\nversion = \"1.0.0\"\nkind = \"core\"\n"
	"[tables.ydtb_workspaces]\ndescription = \"w\"\n"
	"[tables.ydtb_workspaces.columns]\nid = { type = \"text\", primary_key = true }\n"
	"[[migrations]]\nid = \"0001\"\nversion = \"1.0.0\"\n"
	"up = \"CREATE TABLE IF NOT EXISTS ydtb_workspaces (id text PRIMARY KEY);\"\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool down = size > 0 && (data[0] & 1);
	struct dbreg_buf b = DBREG_BUF_INIT;
	dbreg_buf_puts(&b, "[package]\nname = \"@f/pkg\"\nversion = \"1.0.0\"\n"
			   "[tables.ydtb_f_items]\ndescription = \"i\"\nworkspace_scoped = true\n"
			   "[tables.ydtb_f_items.columns]\nid = { type = \"text\", primary_key = true }\n"
			   "[[migrations]]\nid = \"0001\"\nversion = \"1.0.0\"\nup_sqlite = \"SELECT 1;\"\n");
	dbreg_buf_puts(&b, down ? "up_postgres = \"SELECT 1;\"\ndown_postgres = \"" : "up_postgres = \"");
	/* Newlines and tabs stay as escapes half the time, to move columns
	 * and lines apart in the manifest. */
	bool escape_newlines = size > 0 && (data[0] & 2);
	for (size_t i = 0; i < size; i++) {
		unsigned char c = data[i];
		if (c == '"' || c == '\\')
			dbreg_buf_printf(&b, "\\%c", c);
		else if (c == '\n' && escape_newlines)
			dbreg_buf_puts(&b, "\\n");
		else if (c == '\n' || (c >= 0x20 && c < 0x7f))
			dbreg_buf_append(&b, (const char *)&c, 1);
		else if (c == '\t')
			dbreg_buf_puts(&b, "\\t");
		else if (c != 0)
			dbreg_buf_printf(&b, "\\u%04X", c);
	}
	dbreg_buf_puts(&b, "\"\n");
	if (b.oom) {
		dbreg_buf_dispose(&b);
		return 0;
	}
	/* A raw newline is not allowed in a basic string: use the multi-line
	 * form when the input holds one. */
	if (!escape_newlines && memchr(data, '\n', size)) {
		char *p = strstr(b.ptr, down ? "down_postgres = \"" : "up_postgres = \"");
		struct dbreg_buf m = DBREG_BUF_INIT;
		size_t head = (size_t)(strchr(p, '"') - b.ptr) + 1;
		dbreg_buf_append(&m, b.ptr, head);
		dbreg_buf_puts(&m, "\"\"");
		dbreg_buf_append(&m, b.ptr + head, b.len - head - 2);
		dbreg_buf_puts(&m, "\"\"\"\n");
		dbreg_buf_dispose(&b);
		b = m;
		if (b.oom) {
			dbreg_buf_dispose(&b);
			return 0;
		}
	}

	struct dbreg_registry *reg = NULL;
	if (dbreg_registry_new(&reg) != 0) {
		dbreg_buf_dispose(&b);
		return 0;
	}
	dbreg_registry_add_string(reg, "core.toml", NULL, fuzz_core, strlen(fuzz_core));
	dbreg_registry_add_string(reg, "pkg.toml", NULL, b.ptr, b.len);
	struct dbreg_validate_opts opts = {.skip_sql = false};
	dbreg_registry_validate(reg, &opts);
	const struct dbreg_diag_list *diags = dbreg_registry_diags(reg);
	unsigned lines = 1;
	for (size_t i = 0; i < b.len; i++)
		lines += b.ptr[i] == '\n';
	for (size_t i = 0; i < diags->len; i++) {
		const struct dbreg_diag *d = &diags->items[i];
		if (!d->message || !d->code)
			abort();
		if (d->file && strcmp(d->file, "pkg.toml") == 0 && d->line > lines)
			abort();
	}
	dbreg_registry_free(reg);
	dbreg_buf_dispose(&b);
	return 0;
}
