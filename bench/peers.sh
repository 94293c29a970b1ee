#!/usr/bin/env bash
# dbreg against its peers and the databases' own limits on one workload
# (issue 18), both dialects in one run: bench/gen_peers.py's 1,001
# migrations (a core table, then 1,000 tables each with a foreign key and
# an index), the same SQL for every tool, each run on a fresh database.
#
# usage: bench/peers.sh [BUILD_DIR] [RUNS]   (default build-rel, 5 runs)
# Peers come from npm into bench/.peers/ (ignored by git): dbmate (its npm
# package ships the binary) and node-pg-migrate (PostgreSQL only), at the
# versions bench/peers-package.json pins. PostgreSQL: $DBREG_BENCH_PG_URL,
# else a throwaway server from tests/pg-harness.sh.
#
# Cases (wall time of the whole process, median and spread of RUNS):
#   limit    sqlite3 -bail DB with BEGIN; every body; COMMIT;  |  psql -X -q -1 -f
#   dbmate   dbmate --no-dump-schema up
#   npm      node-pg-migrate up --single-transaction  (PostgreSQL)
#   fresh    dbreg apply from a fresh checkout: no state file, so validation
#            with SQL checks and the SQLite replay, then the apply
#   kept     dbreg apply with the state file kept (the registry known valid)
# Aim (issue 18): dbreg fresh at most 1.3 x the limit on SQLite.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build-rel}
runs=${2:-5}
dbreg=$build/dbreg
[ -x "$dbreg" ] || { echo "peers: $dbreg missing: meson compile -C $build" >&2; exit 1; }

peers=$here/.peers
if [ ! -x "$peers/node_modules/.bin/dbmate" ] || [ ! -x "$peers/node_modules/.bin/node-pg-migrate" ]; then
	mkdir -p "$peers"
	cp "$here/peers-package.json" "$peers/package.json"
	(cd "$peers" && npm install --no-audit --no-fund --loglevel=error >/dev/null) ||
		{ echo "peers: npm install failed" >&2; exit 1; }
fi
dbmate=$peers/node_modules/.bin/dbmate
npgm=$peers/node_modules/.bin/node-pg-migrate

tmp=$(mktemp -d)
chmod 711 "$tmp"
pgdir=""
cleanup() {
	if [ -n "$pgdir" ]; then "$root/tests/pg-harness.sh" stop "$pgdir" >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
python3 "$here/gen_peers.py" "$tmp/w"
w=$tmp/w
sleep 0.2   # files older than the caches' racy window (cache.c)

ms() { date +%s%N; }
elapsed() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s..%s", lo, hi }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# time_runs PREPARE COMMAND...: RUNS times PREPARE then COMMAND (timed);
# prints the list of milliseconds.
time_runs() {
	local prep=$1; shift
	local out=""
	for r in $(seq "$runs"); do
		eval "$prep"
		local t; t=$(ms)
		"$@" >/dev/null 2>"$tmp/err" || { echo "peers: $* failed: $(tail -3 "$tmp/err")" >&2; exit 1; }
		out="$out $(elapsed "$t")"
	done
	echo "$out"
}

declare -A med
report() { # DIALECT CASE LIST
	med[$1.$2]=$(echo "$3" | median)
	printf '%-9s %-7s median %8s ms  spread %-17s runs [%s ]\n' "$1" "$2" "${med[$1.$2]}" "$(echo "$3" | spread)" "$3"
}

limit_sqlite() { { echo "BEGIN;"; cat "$w/limit.sql"; echo "COMMIT;"; } | sqlite3 -bail "$tmp/l.db"; }
echo "workload: $(grep -c . "$w/limit.sql" | awk '{ print $1 / 2 + 0.5 }' | cut -d. -f1) migrations, each a table with a foreign key and an index"

# ---- SQLite ----
report sqlite limit "$(time_runs 'rm -f "$tmp"/l.db*' limit_sqlite)"
report sqlite dbmate "$(time_runs 'rm -f "$tmp"/m.db*' "$dbmate" --no-dump-schema --migrations-dir "$w/dbmate" --url "sqlite:$tmp/m.db" up)"
report sqlite fresh "$(time_runs 'rm -rf "$w/dbreg/.dbreg" "$tmp"/f.db*' "$dbreg" -C "$w/dbreg" -q apply --target "sqlite:$tmp/f.db")"
report sqlite kept "$(time_runs 'rm -f "$tmp"/k.db*' "$dbreg" -C "$w/dbreg" -q apply --target "sqlite:$tmp/k.db")"
for f in l m f k; do
	n=$(sqlite3 "$tmp/$f.db" "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'ydtb_app_t%'")
	[ "$n" = 1000 ] || { echo "peers: sqlite $f.db holds $n tables, not 1000" >&2; exit 1; }
done

# ---- PostgreSQL ----
url=${DBREG_BENCH_PG_URL:-}
if [ -z "$url" ]; then
	if url=$("$root/tests/pg-harness.sh" start "$tmp/pg" 2>"$tmp/pg.err"); then
		pgdir=$tmp/pg
	else
		echo "postgres: skipped (no server: $(tail -1 "$tmp/pg.err"))"
		url=""
	fi
fi
if [ -n "$url" ]; then
	base=${url%%\?*}
	base=${base%/*}
	pg() { psql -X -q -v ON_ERROR_STOP=1 "$url" -c "$1" >/dev/null 2>&1; }
	fresh() { pg "DROP DATABASE IF EXISTS $1"; pg "CREATE DATABASE $1"; }
	sep='?'; case $base in *\?*) sep='&';; esac
	report postgres limit "$(time_runs 'fresh peers_l' psql -X -q -1 -v ON_ERROR_STOP=1 -f "$w/limit.sql" "$base/peers_l")"
	report postgres dbmate "$(time_runs 'fresh peers_m' "$dbmate" --no-dump-schema --migrations-dir "$w/dbmate" --url "$base/peers_m?sslmode=disable" up)"
	report postgres npm "$(time_runs 'fresh peers_n' env DATABASE_URL="$base/peers_n" "$npgm" up --migrations-dir "$w/pgmigrate" --single-transaction --no-verbose --no-check-order)"
	report postgres fresh "$(time_runs 'fresh peers_f; rm -rf "$w/dbreg/.dbreg"' "$dbreg" -C "$w/dbreg" -q apply --target "$base/peers_f")"
	report postgres kept "$(time_runs 'fresh peers_k' "$dbreg" -C "$w/dbreg" -q apply --target "$base/peers_k")"
	for db in peers_l peers_m peers_n peers_f peers_k; do
		n=$(psql -X -At "$base/$db" -c "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'ydtb_app_t%'")
		[ "$n" = 1000 ] || { echo "peers: postgres $db holds $n tables, not 1000" >&2; exit 1; }
		pg "DROP DATABASE IF EXISTS $db"
	done
fi

echo
echo "==== peers summary (machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-9s | %-52s | %10s | %s\n' dialect tool "median ms" "ratio to the limit (aim)"
for d in sqlite postgres; do
	[ -n "${med[$d.limit]:-}" ] || continue
	for c in limit dbmate npm fresh kept; do
		[ -n "${med[$d.$c]:-}" ] || continue
		case $c in
		limit) what=$([ $d = sqlite ] && echo "sqlite3, the same SQL in one transaction" || echo "psql -1 -f, the same SQL");;
		dbmate) what="dbmate $("$dbmate" --version | awk '{ print $3 }')";;
		npm) what="node-pg-migrate $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$peers/node_modules/node-pg-migrate/package.json")";;
		fresh) what="dbreg apply, fresh checkout (validation + apply)";;
		kept) what="dbreg apply, state file kept (registry known valid)";;
		esac
		aim=""
		if [ "$d.$c" = sqlite.fresh ]; then aim=" (aim 1.3)"; fi
		printf '%-9s | %-52s | %10s | %s%s\n' "$d" "$what" "${med[$d.$c]}" "$(ratio "${med[$d.$c]}" "${med[$d.limit]}")" "$aim"
		echo "RESULT peers dialect=$d case=$c ms=${med[$d.$c]} ratio=$(ratio "${med[$d.$c]}" "${med[$d.limit]}")" >>"$tmp/results"
	done
done
cat "$tmp/results"
