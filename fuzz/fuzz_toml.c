/* libFuzzer target for the TOML reader: parse any bytes; on success walk the
 * tree and map every offset of every string back to the source, checking the
 * positions stay inside the document. */
#include "toml.h"

#include <stdint.h>
#include <stdlib.h>

static void fuzz_walk(const struct dbreg_toml_doc *doc, const struct dbreg_toml_node *n)
{
	unsigned line, col;
	switch (n->type) {
	case DBREG_TOML_TABLE:
		for (size_t i = 0; i < n->u.table.len; i++) {
			if (n->u.table.items[i].line == 0 || n->u.table.items[i].column == 0)
				abort();
			fuzz_walk(doc, n->u.table.items[i].value);
		}
		break;
	case DBREG_TOML_ARRAY:
		for (size_t i = 0; i < n->u.array.len; i++)
			fuzz_walk(doc, n->u.array.items[i]);
		break;
	case DBREG_TOML_STRING:
		for (size_t off = 0; off <= n->u.str.len && off < 4096; off++) {
			if (dbreg_toml_string_pos(doc, n, off, &line, &col) != 0)
				abort();
			if (line < n->line || line == 0 || col == 0)
				abort();
		}
		if (dbreg_toml_string_pos(doc, n, n->u.str.len + 1, &line, &col) != -1)
			abort();
		break;
	default:
		break;
	}
	if (n->line == 0 || n->column == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbreg_toml_doc *doc;
	struct dbreg_toml_error err;
	int rc = dbreg_toml_parse(&doc, (const char *)data, size, &err);
	if (rc == 0) {
		fuzz_walk(doc, doc->root);
		dbreg_toml_doc_free(doc);
	} else if (rc == -1 && (err.line == 0 || err.column == 0 || err.message[0] == '\0')) {
		abort();
	}
	return 0;
}
