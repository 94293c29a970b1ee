/* toml-test decoder: one TOML document on stdin, the tagged JSON of the
 * toml-test suite on stdout (exit 0), or "line:col: message" on stderr (exit 1). */
#include "toml.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void put_json_string(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\b': fputs("\\b", stdout); break;
		case '\f': fputs("\\f", stdout); break;
		default:
			if (c < 0x20 || c == 0x7f)
				printf("\\u%04x", c);
			else
				putchar(c);
		}
	}
	putchar('"');
}

static void put_scalar(const char *type, const char *value, size_t n)
{
	printf("{\"type\":\"%s\",\"value\":", type);
	put_json_string(value, n);
	putchar('}');
}

static void put_node(const struct dbreg_toml_node *n)
{
	char tmp[64];
	int len;
	switch (n->type) {
	case DBREG_TOML_TABLE:
		putchar('{');
		for (size_t i = 0; i < n->u.table.len; i++) {
			const struct dbreg_toml_kv *kv = &n->u.table.items[i];
			if (i)
				putchar(',');
			put_json_string(kv->key, kv->key_len);
			putchar(':');
			put_node(kv->value);
		}
		putchar('}');
		return;
	case DBREG_TOML_ARRAY:
		putchar('[');
		for (size_t i = 0; i < n->u.array.len; i++) {
			if (i)
				putchar(',');
			put_node(n->u.array.items[i]);
		}
		putchar(']');
		return;
	case DBREG_TOML_STRING:
		put_scalar("string", n->u.str.ptr, n->u.str.len);
		return;
	case DBREG_TOML_INTEGER:
		len = snprintf(tmp, sizeof tmp, "%" PRId64, n->u.integer);
		put_scalar("integer", tmp, (size_t)len);
		return;
	case DBREG_TOML_FLOAT:
		if (isnan(n->u.fp))
			len = snprintf(tmp, sizeof tmp, "nan");
		else if (isinf(n->u.fp))
			len = snprintf(tmp, sizeof tmp, "%sinf", n->u.fp < 0 ? "-" : "");
		else
			len = snprintf(tmp, sizeof tmp, "%.17g", n->u.fp);
		put_scalar("float", tmp, (size_t)len);
		return;
	case DBREG_TOML_BOOL:
		put_scalar("bool", n->u.boolean ? "true" : "false", n->u.boolean ? 4 : 5);
		return;
	case DBREG_TOML_DATETIME:
	case DBREG_TOML_DATETIME_LOCAL:
	case DBREG_TOML_DATE_LOCAL:
	case DBREG_TOML_TIME_LOCAL: {
		size_t dl = 0;
		while (n->u.datetime[dl])
			dl++;
		put_scalar(dbreg_toml_type_name(n->type), n->u.datetime, dl);
		return;
	}
	}
}

int main(void)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	if (!buf)
		return 2;
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				return 2;
			}
			buf = nb;
		}
		size_t got = fread(buf + len, 1, cap - len, stdin);
		if (got == 0)
			break;
		len += got;
	}
	struct dbreg_toml_doc *doc;
	struct dbreg_toml_error err;
	int rc = dbreg_toml_parse(&doc, buf, len, &err);
	free(buf);
	if (rc != 0) {
		fprintf(stderr, "%u:%u: %s\n", err.line, err.column, err.message);
		return 1;
	}
	put_node(doc->root);
	putchar('\n');
	dbreg_toml_doc_free(doc);
	return 0;
}
