#!/usr/bin/env bash
# Runs every benchmark in bench/ on a release build and ends with a summary
# table. Usage: bench/run.sh [RUNS]   (RUNS for bench-plan and bench_apply,
# default 5). Builds build-rel/ (meson, --buildtype=release) when missing;
# each benchmark's full output is printed as it runs, then the table.
# PostgreSQL for bench_apply.sh: $DBREG_BENCH_PG_URL, else a throwaway server.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build-rel
runs=${1:-5}

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$root" --buildtype=release >/dev/null || exit 1
fi
meson compile -C "$build" >/dev/null || { echo "run.sh: the build failed" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
rows=()
row() { rows+=("$(printf '%-10s | %-52s | %-34s | %s' "$1" "$2" "$3" "$4")"); }
# val FILE KEY: the value of KEY=... on the file's RESULT lines.
val() { grep '^RESULT' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }

run() {
	local name=$1; shift
	echo "==== $name: $*"
	"$@" 2>&1 | tee "$tmp/$name.out"
	local rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || echo "==== $name FAILED (exit $rc)"
	echo
	return "$rc"
}

# toml
if run toml "$here/bench_toml.sh" "$build/bench/bench-toml"; then
	a=$(grep -m1 'MB/s' "$tmp/toml.out" | sed -n 's/.* \([0-9.]*\) MB\/s$/\1/p')
	b=$(grep 'tomllib' "$tmp/toml.out" | sed -n 's/.* \([0-9.]*\) MB\/s$/\1/p')
	r=$(sed -n 's/^ratio: //p' "$tmp/toml.out")
	row toml "TOML reader, MB/s" "${a:-?} MB/s vs tomllib ${b:-?} MB/s" "${r:-?}"
else
	row toml "TOML reader" "FAILED" "-"
fi

# validate (issue 4; aims of issue 18)
if [ -x "$here/bench_validate.sh" ] || [ -f "$here/bench_validate.sh" ]; then
	if run validate sh "$here/bench_validate.sh" "$build/dbreg"; then
		w=$(sed -n 's/^dbreg validate -q: best of 3 \([0-9.]*\) s.*/\1/p' "$tmp/validate.out")
		rss=$(sed -n 's/.*peak RSS \([0-9.]*\) MB.*/\1/p' "$tmp/validate.out" | head -1)
		b=$(sed -n 's/^python tomllib parse only: best of 3 \([0-9.]*\) s/\1/p' "$tmp/validate.out")
		r=$(sed -n 's/^ratio dbreg\/tomllib: //p' "$tmp/validate.out")
		one=$(sed -n 's/^dbreg validate -q, one package changed ([0-9]* runs[^)]*): wall median \([0-9.]*\) ms.*/\1/p' "$tmp/validate.out")
		onecpu=$(sed -n 's/^dbreg validate -q, one package changed .*CPU median \([0-9.]*\) ms.*/\1/p' "$tmp/validate.out")
		onerss=$(sed -n 's/^dbreg validate -q, one package changed .*peak RSS \([0-9.]*\) MB.*/\1/p' "$tmp/validate.out")
		nost=$(sed -n 's/^dbreg validate -q, no state file .*CPU median \([0-9.]*\) ms.*/\1/p' "$tmp/validate.out")
		row validate "dbreg validate, 1000 pkgs / 20000 migrations, cold" "${w:-?} s (aim 1), ${rss:-?} MB (aim 200)" "${r:-?} x tomllib ${b:-?} s (aim 0.5)"
		row validate "dbreg validate, one package changed (median of 5)" "${one:-?} ms wall, ${onecpu:-?} ms CPU (aim 100), ${onerss:-?} MB (aim 200)" "CPU vs ${nost:-?} ms without stored results"
	else
		row validate "dbreg validate" "FAILED" "-"
	fi
fi

# SQL checks on one big body (issue 18): linear in its size
if run sqlcheck "$here/bench_sqlcheck.sh" "$build/dbreg" 3; then
	for n in 10000 100000; do
		m=$(grep "^RESULT n=$n where=manifest " "$tmp/sqlcheck.out" | sed -n 's/.*validate_ms=//p')
		sq=$(grep "^RESULT n=$n where=sqlite3 " "$tmp/sqlcheck.out" | sed -n 's/.*validate_ms=//p')
		aim=""; [ "$n" = 100000 ] && aim=" (aim 2000)"
		row sqlcheck "validate, one body of $n statements" "${m:-?} ms$aim" \
			"$(awk -v a="${m:-0}" -v b="${sq:-1}" 'BEGIN { printf "%.2f", a / b }') x sqlite3 running them"
	done
else
	row sqlcheck "SQL checks of one big body" "FAILED" "-"
fi

# plan and no-op apply
python3 "$here/gen_registry.py" "$tmp/reg" 1000 5 20
sleep 0.2   # older than the caches' racy window (core/src/cache.c)
if run plan "$build/bench/bench-plan" "$tmp/reg" "$runs" "$build/dbreg"; then
	f=$tmp/plan.out
	row plan "plan_build, 1000 pkgs, half of 20003 applied" "$(val "$f" plan_build_ms) ms (aim 100), $(val "$f" peak_rss_kb) KB" \
		"$(val "$f" ratio_vs_sha256) x SHA-256 of bodies"
	row noop "no-op apply, engine (library, with the caches)" "$(val "$f" noop_engine_ms) ms (aim 20)" \
		"$(val "$f" ratio_vs_select) x SELECT * in process"
	row noop "no-op apply, engine without the caches" "$(val "$f" uncached_engine_ms) ms" "-"
	row noop "no-op apply, library with CLI's state writes" "$(val "$f" library_sequence_ms) ms" "-"
	row noop "no-op apply, dbreg -C DIR apply (whole)" "$(val "$f" noop_cli_ms) ms (aim 50)" \
		"$(val "$f" ratio_vs_sqlite3_cli) x sqlite3 SELECT * (aim 3)"
else
	row plan "plan / no-op apply" "FAILED" "-"
fi
rm -rf "$tmp/reg"

# apply
if run apply "$here/bench_apply.sh" "$build" "$runs"; then
	for db in sqlite postgres; do
		line=$(grep "^RESULT $db " "$tmp/apply.out")
		if [ -z "$line" ]; then
			row apply "1003 migrations on $db" "skipped" "-"
			continue
		fi
		g() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
		aim=1.3; [ "$db" = postgres ] && aim=1.05
		row apply "1003 migrations on $db, dbreg apply, fresh checkout" "$(g dbreg_ms) ms vs client $(g client_ms) ms" "$(g ratio_dbreg) (aim $aim)"
		row apply "1003 migrations on $db, engine" "$(g engine_ms) ms vs client $(g client_ms) ms" "$(g ratio_engine) (aim $aim)"
	done
else
	row apply "apply" "FAILED" "-"
fi

# generate (issue 15): 100 tables, fresh and changed, against validate
if run generate "$here/bench_generate.sh" "$build/dbreg" "$runs"; then
	for shape in fresh changed; do
		l=$(grep "^RESULT shape=$shape " "$tmp/generate.out")
		gs=$(echo "$l" | tr ' ' '\n' | sed -n 's/^generate_s=//p')
		vs=$(echo "$l" | tr ' ' '\n' | sed -n 's/^validate_s=//p')
		r=$(sed -n "s/^ratio generate\/validate ($shape): //p" "$tmp/generate.out")
		row generate "dbreg generate, 100 tables ($shape)" "${gs:-?} s (aim < 1 s) vs validate ${vs:-?} s" "${r:-?}"
	done
else
	row generate "dbreg generate" "FAILED" "-"
fi

# peers (issue 18): dbreg, dbmate, node-pg-migrate and the limits, both dialects
if run peers "$here/peers.sh" "$build" "$runs"; then
	while read -r _ _ d c m ratio; do
		d=${d#dialect=}; c=${c#case=}; m=${m#ms=}; ratio=${ratio#ratio=}
		aim=""; [ "$d.$c" = sqlite.fresh ] && aim=" (aim 1.3)"
		row peers "1001 tables with FK + index, $d, $c" "$m ms" "$ratio x the limit$aim"
	done < <(grep '^RESULT peers ' "$tmp/peers.out")
else
	row peers "peers" "FAILED" "-"
fi

# rls: what the workspace policy costs a workspace-filtered query (issue 16)
if run rls "$here/bench_rls.sh" "$runs"; then
	for q in page count; do
		line=$(grep "^RESULT $q " "$tmp/rls.out")
		g() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
		row rls "1M rows, $q query of one workspace, policy vs none" "$(g rls_ms) ms vs $(g plain_ms) ms" \
			"$(g ratio) ($(g ratio_min)-$(g ratio_max), aim 1.10)"
	done
else
	row rls "row-level security" "FAILED" "-"
fi

# watch (issue 14): a one-package edit to the end of its report, against a full validate
# (every check run: no stored results, bench_watch.sh's baseline)
if run watch sh "$here/bench_watch.sh" "$build/dbreg" 1000 15; then
	f=$tmp/watch.out
	row watch "watch: one-package edit to report, 1000 pkgs (wall)" "$(val "$f" edit_ms) ms (aim 100) vs full validate $(val "$f" validate_ms) ms" \
		"$(val "$f" ratio) (aim 10)"
	row watch "the same, CPU time of the round vs of validate" "-" "$(val "$f" cpu_ratio) (aim 10)"
else
	row watch "dbreg watch" "FAILED" "-"
fi

echo "==== summary (machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-10s | %-52s | %-34s | %s\n' bench what measured "ratio vs baseline"
printf '%s\n' "$(printf '%.0s-' $(seq 130))"
printf '%s\n' "${rows[@]}"
