#!/usr/bin/env bash
# SQL checking time against the size of one body (issue 18): `dbreg validate`
# of a project whose one package seeds a table with N INSERT statements in a
# single migration (bench/gen_seed.py), the body written in the manifest and
# in an up_file. Checking must grow linearly: the figure to watch is the
# time per 1,000 statements, the same at every N. Baseline in the same run:
# sqlite3 running the same statements on an in-memory database (what the
# SQLite replay of the body cannot do without).
# Usage: bench/bench_sqlcheck.sh [DBREG_BINARY] [RUNS]   (RUNS default 3)
# Aim: 100,000 statements in one body checked in under 2 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${1:-$root/build-rel/dbreg}
runs=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

ms() { date +%s%N; }
elapsed() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s..%s", lo, hi }'; }

for n in 10000 40000 100000; do
	for where in manifest file; do
		dir=$tmp/$n-$where
		python3 "$here/gen_seed.py" "$dir" "$n" "$where"
		times=""
		for r in $(seq "$runs"); do
			# Every run checks: no state file keeps the last run's results.
			rm -rf "$dir/.dbreg"
			t=$(ms)
			"$bin" -C "$dir" -q validate >/dev/null
			times="$times $(elapsed "$t")"
		done
		med=$(echo "$times" | median)
		echo "validate, one body of $n statements in the $where: median ${med} ms of [$times] ($(echo "$times" | spread)), $(awk -v m="$med" -v n="$n" 'BEGIN { printf "%.2f", m / (n / 1000) }') ms per 1,000 statements"
		echo "RESULT n=$n where=$where validate_ms=$med"
	done
	# The baseline: the file version's SQL through sqlite3, in memory.
	times=""
	for r in $(seq "$runs"); do
		t=$(ms)
		{ echo "CREATE TABLE ydtb_seed (id text PRIMARY KEY NOT NULL, label text NOT NULL); BEGIN;"; cat "$tmp/$n-file/tomls/seed.sql"; echo "COMMIT;"; } |
			sqlite3 -bail :memory: >/dev/null
		times="$times $(elapsed "$t")"
	done
	echo "baseline: sqlite3 :memory: running the $n statements: median $(echo "$times" | median) ms of [$times]"
	echo "RESULT n=$n where=sqlite3 validate_ms=$(echo "$times" | median)"
done
