/* The apply engine alone, for bench_apply.sh (issue 7).
 *
 * usage: bench-apply-run DIR URL
 *
 * Loads DIR's manifests (validated with skip_sql: validation is not the
 * engine's cost), connects to URL, reads its history, plans, and times
 * dbreg_apply_run. Prints one line of key=value pairs, times in ms:
 *   load=... connect=... history=... plan=... run=... total=... applied=N
 * Exit status 0 on success, 1 on any failure (message on stderr). */
#include <dbreg.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bench-apply-run DIR URL\n");
		return 2;
	}
	struct dbreg_diag_list d = DBREG_DIAG_LIST_INIT;
	struct dbreg_project *proj = NULL;
	struct dbreg_registry *reg = NULL;
	struct dbreg_conn *conn = NULL;
	struct dbreg_applied *h = NULL;
	struct dbreg_plan *plan = NULL;
	struct dbreg_apply_result res = { 0 };
	size_t nh = 0;
	int status = 1;
	char err[1024];
	double t0 = now_ms();
	struct dbreg_validate_opts vo = { .skip_sql = true };
	if (dbreg_project_open(&proj, argv[1], &d) != 0 || dbreg_registry_new(&reg) != 0 ||
	    dbreg_registry_load_project(reg, proj) != 0 || dbreg_registry_validate(reg, &vo) != 0) {
		fprintf(stderr, "bench-apply-run: cannot load %s\n", argv[1]);
		goto out;
	}
	double t1 = now_ms();
	if (dbreg_target_connect(&conn, argv[2], err, sizeof err) != 0) {
		fprintf(stderr, "bench-apply-run: %s\n", err);
		goto out;
	}
	double t2 = now_ms();
	if (dbreg_target_history(conn, &h, &nh) != 0) {
		fprintf(stderr, "bench-apply-run: %s\n", dbreg_target_errmsg(conn));
		goto out;
	}
	double t3 = now_ms();
	struct dbreg_plan_opts po = { .dialect = dbreg_target_conn_dialect(conn), .history = h, .n_history = nh };
	if (dbreg_plan_build(&plan, reg, &po) != 0) {
		fprintf(stderr, "bench-apply-run: the plan has errors\n");
		goto out;
	}
	double t4 = now_ms();
	if (dbreg_apply_run(&res, conn, plan, NULL) != 0) {
		fprintf(stderr, "bench-apply-run: %s\n", res.errmsg);
		goto out;
	}
	double t5 = now_ms();
	dbreg_target_close(conn);
	conn = NULL;
	double t6 = now_ms();
	printf("load=%.2f connect=%.2f history=%.2f plan=%.2f run=%.2f close=%.2f total=%.2f applied=%zu\n", t1 - t0,
	       t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t6 - t0, res.applied);
	status = 0;
out:
	dbreg_apply_result_dispose(&res);
	dbreg_plan_free(plan);
	dbreg_applied_free(h, nh);
	dbreg_target_close(conn);
	dbreg_registry_free(reg);
	dbreg_project_free(proj);
	dbreg_diag_list_dispose(&d);
	return status;
}
