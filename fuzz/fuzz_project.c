/* libFuzzer target for whole projects: the input is split into files at
 * lines "=== NAME" (the first part is dbreg.toml; NAME is a manifest under
 * tomls/ or an SQL file an up_file may name), written into a fresh folder,
 * and the project goes through what `dbreg validate` and `dbreg plan` do:
 * open, load, validate with the SQL checks (and their time budget), plan
 * for both dialects from an empty history, and the plan's script. Any
 * crash, leak, hang or a failure without a message is a finding. */
#include <dbreg.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_root[64];

/* A file name from the input: [A-Za-z0-9_.-] only, never ".." or empty. */
static void fuzz_name(const char *s, size_t n, char *out, size_t size)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < size && k < 40; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		    (c == '.' && k > 0))
			out[k++] = c;
	}
	out[k] = '\0';
	if (k == 0 || strstr(out, ".."))
		snprintf(out, size, "part.toml");
}

static void fuzz_write(const char *dir, const char *name, const char *data, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return;
	fwrite(data, 1, n, fp);
	fclose(fp);
}

static void fuzz_clean(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[512];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			fuzz_clean(path);
			rmdir(path);
		} else {
			unlink(path);
		}
	}
	closedir(d);
}

static void fuzz_plan(struct dbreg_registry *reg, enum dbreg_dialect dialect)
{
	struct dbreg_plan *plan = NULL;
	struct dbreg_plan_opts po = {.dialect = dialect};
	int rc = dbreg_plan_build(&plan, reg, &po);
	if (rc == 0) {
		for (size_t i = 0; i < dbreg_plan_count(plan); i++)
			if (!dbreg_plan_step(plan, i)->package || !dbreg_plan_step(plan, i)->sql)
				abort();
		free(dbreg_plan_script(plan));
	} else if (rc != DBREG_EINVALID && rc != DBREG_ENOMEM) {
		abort();
	}
	dbreg_plan_free(plan);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fuzz_root[0]) {
		snprintf(fuzz_root, sizeof(fuzz_root), "/tmp/dbreg-fuzz-project-%d", (int)getpid());
		mkdir(fuzz_root, 0700);
	}
	fuzz_clean(fuzz_root);
	char tomls[128];
	snprintf(tomls, sizeof(tomls), "%s/tomls", fuzz_root);
	mkdir(tomls, 0700);

	/* Split at "\n=== NAME\n". */
	const char *s = (const char *)data, *end = s + size;
	const char *part = s, *name = NULL;
	size_t name_len = 0;
	int parts = 0;
	for (;;) {
		const char *mark = NULL;
		for (const char *p = part; p + 5 <= end; p++)
			if (p[0] == '\n' && memcmp(p + 1, "=== ", 4) == 0) {
				mark = p;
				break;
			}
		const char *stop = mark ? mark : end;
		if (parts == 0) {
			fuzz_write(fuzz_root, "dbreg.toml", part, (size_t)(stop - part));
		} else {
			char fname[48];
			fuzz_name(name, name_len, fname, sizeof(fname));
			fuzz_write(tomls, fname, part, (size_t)(stop - part));
		}
		parts++;
		if (!mark || parts > 16)
			break;
		name = mark + 5;
		const char *nl = memchr(name, '\n', (size_t)(end - name));
		name_len = (size_t)((nl ? nl : end) - name);
		part = nl ? nl + 1 : end;
	}

	struct dbreg_diag_list pd = DBREG_DIAG_LIST_INIT;
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	int rc = dbreg_project_open(&proj, fuzz_root, &pd);
	if (rc == DBREG_EINVALID && pd.errors == 0)
		abort();   /* refused without saying why */
	if (rc == 0 && dbreg_registry_new(&reg) == 0) {
		rc = dbreg_registry_load_project(reg, proj);
		if (rc < 0 && rc != DBREG_ENOMEM && !dbreg_registry_errmsg(reg)[0])
			abort();
		if (rc == 0) {
			struct dbreg_validate_opts vo = {.budget_ms = 2000};
			rc = dbreg_registry_validate(reg, &vo);
			const struct dbreg_diag_list *d = dbreg_registry_diags(reg);
			if (rc == DBREG_EINVALID && d->errors == 0)
				abort();
			for (size_t i = 0; i < d->len; i++)
				if (!d->items[i].code || !d->items[i].message)
					abort();
			if (rc == 0) {
				fuzz_plan(reg, DBREG_DIALECT_SQLITE);
				fuzz_plan(reg, DBREG_DIALECT_POSTGRES);
			}
		}
	}
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	dbreg_diag_list_dispose(&pd);
	return 0;
}
