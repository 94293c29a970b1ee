#!/usr/bin/env bash
# Apply speed against the database's own client (issue 7), in one run.
#
# usage: bench/bench_apply.sh [BUILD_DIR] [RUNS]
#   BUILD_DIR  holds dbreg and bench/bench-apply-run (default build-rel)
#   RUNS       runs per case, the median is reported (default 5)
# PostgreSQL: $DBREG_BENCH_PG_URL if set (databases bench_* are created and
# dropped there), else a throwaway server from tests/pg-harness.sh; without
# server binaries the PostgreSQL half is skipped.
#
# The registry: bench/gen_registry.py, 50 packages x 20 migrations (5 tables
# each: CREATE TABLE + index, then ALTER TABLE ADD COLUMN) plus @ydtb/core,
# 1003 migrations. Every run starts from a fresh, empty database.
#
# Cases, each timed as wall time of the whole process:
#   dbreg   `dbreg -C DIR -q apply --target URL` from a fresh checkout (no
#           state file): the whole command (process start, loading and
#           validating the manifests, which apply does with SQL checks, state
#           file, the run)
#   engine  bench-apply-run, in process: connect, read the history, plan,
#           dbreg_apply_run (lock, history, every body, history rows,
#           packages, tools), close; loading the manifests left out
#   client  the baseline: the SQL of `dbreg plan --sql` for that target, i.e.
#           the same bodies, history inserts, package rows and tools upserts
#           that apply runs, with its BEGIN/COMMIT lines removed and fed as
#           ONE transaction: `sqlite3 -bail DB` with BEGIN; ... COMMIT; around
#           it, `psql -X -q -1 -v ON_ERROR_STOP=1 -f`.
# Ratios: dbreg/client (the command) and engine/client (the engine).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build-rel}
runs=${2:-5}
dbreg=$build/dbreg
engine=$build/bench/bench-apply-run
for b in "$dbreg" "$engine"; do
	[ -x "$b" ] || { echo "bench_apply: $b missing: meson compile -C $build" >&2; exit 1; }
done

tmp=$(mktemp -d)
chmod 711 "$tmp"
pgdir=""
cleanup() {
	if [ -n "$pgdir" ]; then "$root/tests/pg-harness.sh" stop "$pgdir" >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

proj=$tmp/proj
python3 "$here/gen_registry.py" "$proj" 50 5 20

ms() { date +%s%N; }
# elapsed START: milliseconds since START (from ms), one decimal.
elapsed() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The engine's part of a bench-apply-run line: total minus loading.
engine_ms() { echo "$1" | tr ' ' '\n' | awk -F= '$1 == "load" { l = $2 } $1 == "total" { t = $2 } END { printf "%.1f", t - l }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# The baseline script for a URL: plan --sql against the empty history, its
# own BEGIN/COMMIT lines removed (the client wraps the whole file in one).
script_for() {
	"$dbreg" -C "$proj" plan --sql --target "$1" | sed '/^BEGIN;$/d; /^COMMIT;$/d' >"$2"
}

# report NAME DBREG ENGINE CLIENT (lists of ms)
report() {
	local d e c
	d=$(echo "$2" | median)
	e=$(echo "$3" | median)
	c=$(echo "$4" | median)
	echo "$1: runs (ms): dbreg [$2] engine [$3] client [$4]"
	printf '%s: median of %s: dbreg apply %s ms, engine %s ms, client (one transaction) %s ms\n' "$1" "$runs" "$d" "$e" "$c"
	echo "RESULT $1 dbreg_ms=$d engine_ms=$e client_ms=$c ratio_dbreg=$(ratio "$d" "$c") ratio_engine=$(ratio "$e" "$c")"
}

steps=$("$dbreg" -C "$proj" plan --target "sqlite:$tmp/none.db" | grep -c '^ *[0-9]*\. ')
echo "registry: 51 packages, $steps migrations ($proj)"

# ---- SQLite ----
script_for "sqlite:$tmp/plan.db" "$tmp/sqlite.sql"
lines_d=""; lines_e=""; lines_c=""
for r in $(seq "$runs"); do
	rm -f "$tmp"/d.db* "$tmp"/e.db* "$tmp"/c.db*
	rm -rf "$proj/.dbreg"   # a fresh checkout: validation with SQL checks, then the apply
	t=$(ms); "$dbreg" -C "$proj" -q apply --target "sqlite:$tmp/d.db" >/dev/null; lines_d="$lines_d $(elapsed "$t")"
	out=$("$engine" "$proj" "sqlite:$tmp/e.db")
	lines_e="$lines_e $(engine_ms "$out")"
	t=$(ms); { echo "BEGIN;"; cat "$tmp/sqlite.sql"; echo "COMMIT;"; } | sqlite3 -bail "$tmp/c.db" >/dev/null
	lines_c="$lines_c $(elapsed "$t")"
done
for f in d e c; do
	n=$(sqlite3 "$tmp/$f.db" "SELECT count(*) FROM ydtb_registry_migrations")
	[ "$n" = "$steps" ] || { echo "bench_apply: sqlite $f.db holds $n history rows, not $steps" >&2; exit 1; }
done
echo "sqlite: engine breakdown of the last run: $out"
report sqlite "$lines_d" "$lines_e" "$lines_c"

# ---- PostgreSQL ----
url=${DBREG_BENCH_PG_URL:-}
if [ -z "$url" ]; then
	if url=$("$root/tests/pg-harness.sh" start "$tmp/pg" 2>"$tmp/pg.err"); then
		pgdir=$tmp/pg
	else
		echo "postgres: skipped (no server: $(tail -1 "$tmp/pg.err"))"
		exit 0
	fi
fi
# The same server, another database: replace the path of the URL.
base=${url%%\?*}
base=${base%/*}
pg() { psql -X -q -v ON_ERROR_STOP=1 "$url" -c "$1" >/dev/null 2>&1; }
fresh() { pg "DROP DATABASE IF EXISTS $1"; pg "CREATE DATABASE $1"; }
fresh bench_plan
script_for "$base/bench_plan" "$tmp/pg.sql"
lines_d=""; lines_e=""; lines_c=""
for r in $(seq "$runs"); do
	fresh bench_d; fresh bench_e; fresh bench_c
	t=$(ms); "$dbreg" -C "$proj" -q apply --target "$base/bench_d" >/dev/null; lines_d="$lines_d $(elapsed "$t")"
	out=$("$engine" "$proj" "$base/bench_e")
	lines_e="$lines_e $(engine_ms "$out")"
	t=$(ms); psql -X -q -1 -v ON_ERROR_STOP=1 -f "$tmp/pg.sql" "$base/bench_c" >/dev/null
	lines_c="$lines_c $(elapsed "$t")"
done
for db in bench_d bench_e bench_c; do
	n=$(psql -X -At "$base/$db" -c "SELECT count(*) FROM ydtb_registry_migrations")
	[ "$n" = "$steps" ] || { echo "bench_apply: postgres $db holds $n history rows, not $steps" >&2; exit 1; }
done
echo "postgres: engine breakdown of the last run: $out"
report postgres "$lines_d" "$lines_e" "$lines_c"
for db in bench_plan bench_d bench_e bench_c; do pg "DROP DATABASE IF EXISTS $db"; done
