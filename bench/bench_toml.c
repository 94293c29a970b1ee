/* Reader throughput: parses one file several times and prints the best run
 * in MB/s (1 MB = 2^20 bytes), with node counts as a sanity check.
 * Usage: bench-toml FILE [RUNS] */
#include "toml.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t bench_count(const struct dbreg_toml_node *n)
{
	size_t c = 1;
	if (n->type == DBREG_TOML_TABLE)
		for (size_t i = 0; i < n->u.table.len; i++)
			c += bench_count(n->u.table.items[i].value);
	else if (n->type == DBREG_TOML_ARRAY)
		for (size_t i = 0; i < n->u.array.len; i++)
			c += bench_count(n->u.array.items[i]);
	return c;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE [RUNS]\n", argv[0]);
		return 2;
	}
	int runs = argc > 2 ? atoi(argv[2]) : 7;
	if (runs < 1)
		runs = 1;
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc(sz > 0 ? (size_t)sz : 1);
	if (!buf || sz < 0 || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		fprintf(stderr, "%s: cannot read\n", argv[1]);
		fclose(f);
		free(buf);
		return 1;
	}
	fclose(f);
	size_t len = (size_t)sz;
	double best = 1e30;
	size_t nodes = 0;
	for (int r = 0; r < runs; r++) {
		struct dbreg_toml_doc *doc;
		struct dbreg_toml_error err;
		double t0 = bench_now();
		int rc = dbreg_toml_parse(&doc, buf, len, &err);
		if (rc != 0) {
			fprintf(stderr, "%s:%u:%u: %s\n", argv[1], err.line, err.column, err.message);
			free(buf);
			return 1;
		}
		dbreg_toml_doc_free(doc);
		double t = bench_now() - t0;
		if (t < best)
			best = t;
		if (r == 0) {
			dbreg_toml_parse(&doc, buf, len, &err);
			nodes = bench_count(doc->root);
			dbreg_toml_doc_free(doc);
		}
	}
	double mb = (double)len / 1048576.0;
	printf("dbreg_toml: %.2f MB, %zu nodes, best of %d: %.4f s (parse + free), %.1f MB/s\n",
	       mb, nodes, runs, best, mb / best);
	free(buf);
	return 0;
}
