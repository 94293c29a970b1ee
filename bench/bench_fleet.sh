#!/usr/bin/env bash
# Fleet apply (issue 17) against a shell loop of single-target applies, in
# one run.
#
# usage: bench/bench_fleet.sh [BUILD_DIR] [RUNS] [PACKAGES] [MIGRATIONS]
#   BUILD_DIR   holds dbreg (default build-rel)
#   RUNS        runs per case; medians and min..max are reported (default 3)
#   PACKAGES, MIGRATIONS  the generated registry (bench/gen_registry.py,
#               2 tables per package; default 10 packages x 4 migrations
#               plus @ydtb/core's: 45 migrations). Not the 1,000-package
#               bench registry by default: its 20,005 migrations on 250
#               targets are 5 million migrations per cold run, hours on
#               this machine (but see DBREG_BENCH_FLEET_REGISTRY below).
# PostgreSQL: $DBREG_BENCH_PG_URL if set (databases bench_fleet_* are
# created and dropped there), else a throwaway server from
# tests/pg-harness.sh.
#
# The fleet: 200 SQLite tenant files and 50 PostgreSQL databases. Cases,
# each the wall time of the whole thing, every case in every run:
#   loop cold   for each target: `dbreg -q apply --target URL` (a shell loop,
#               what users write today), every target empty
#   loop noop   the same loop again: nothing pending anywhere
#   fleet cold  `dbreg -q apply --fleet tenants --jobs J`, J = 1, 2, 4, on
#               empty targets
#   fleet noop  the same again: nothing pending
# Ratios: loop / fleet for the same state (cold with cold, noop with noop).
# DBREG_BENCH_FLEET_CASES=noop times the no-op cases only (the targets
# applied once, untimed, by a fleet run): a few seconds a run, not a minute.
#
# DBREG_BENCH_FLEET_REGISTRY=bench: the no-op cases over the bench registry
# (bench/run.sh's: 1,000 packages x 5 tables x 20 migrations; with
# @ydtb/core's, 20,005 migrations), on DBREG_BENCH_FLEET_SQLITE (default 40) SQLite files and
# DBREG_BENCH_FLEET_PG (default 10) databases, a fifth of the fleet above
# in the same mix. A cold apply of it takes 448 s on one SQLite file here
# (2026-12-01), so two seed targets (one of each) are applied by a fleet
# run, timed and printed, and the others are copies of them (cp, CREATE
# DATABASE ... TEMPLATE), checked like the rest; every target then holds
# 5,000 tables and 20,005 history rows. One transaction creating 5,000
# tables with their indexes takes more locks than PostgreSQL's default
# lock table holds (out of shared memory, SQLSTATE 53200): the bench's own
# server gets max_locks_per_transaction=512; a DBREG_BENCH_PG_URL server
# needs the same. The socket runs below are made with it too: with
# histories this long a no-op visit is its reads more than its connection,
# and over the socket the connection costs least.
#
# DBREG_BENCH_FLEET_BASE=PATH: another dbreg binary (a baseline) timed in
# the same run on the same targets, the no-op cases only, with a project
# and state file of its own: each run times the two in turn, the order
# swapped every run (base first in odd runs), and each binary's ratios are
# its own loop against its own fleet; "base/new" is the baseline's median
# over this build's. Both binaries first visit every target once, untimed
# (a fleet run and a loop: their state files learn the targets).
#
# Then, in the same run, what a PostgreSQL connection costs here (the floor
# of any no-op run: one connection per database): connections a second
# with 4 clients, and at 1 client the wall time of one, the client's CPU
# in it (pgbench's own, mostly scram-sha-256's key derivation in libpq) and,
# when the bench runs its own server, the server's (its backends'); libpq's
# defaults sslmode=prefer and gssencmode=prefer against disable. When the
# bench runs its own server, the no-op cases once more over the Unix socket
# with trust authentication (the same databases by socket URL): how far the
# ratio moves when setting up a connection costs less.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build-rel}
runs=${2:-3}
packages=${3:-10}
migrations=${4:-4}
dbreg=$build/dbreg
[ -x "$dbreg" ] || { echo "bench_fleet: $dbreg missing: meson compile -C $build" >&2; exit 1; }
base_dbreg=${DBREG_BENCH_FLEET_BASE:-}
if [ -n "$base_dbreg" ]; then
	[ -x "$base_dbreg" ] || { echo "bench_fleet: DBREG_BENCH_FLEET_BASE: $base_dbreg is not executable" >&2; exit 1; }
fi
n_sqlite=200
n_pg=50
cases=${DBREG_BENCH_FLEET_CASES:-all}
case $cases in all | noop) ;; *) echo "bench_fleet: DBREG_BENCH_FLEET_CASES is all or noop" >&2; exit 1 ;; esac
if [ -n "$base_dbreg" ]; then cases=noop; fi
big=""
tables=2
case ${DBREG_BENCH_FLEET_REGISTRY:-small} in
small) ;;
bench)
	big=1
	packages=1000 tables=5 migrations=20 cases=noop
	n_sqlite=${DBREG_BENCH_FLEET_SQLITE:-40}
	n_pg=${DBREG_BENCH_FLEET_PG:-10}
	;;
*) echo "bench_fleet: DBREG_BENCH_FLEET_REGISTRY is small or bench" >&2; exit 1 ;;
esac

tmp=$(mktemp -d)
chmod 711 "$tmp"
pgdir=""
url=${DBREG_BENCH_PG_URL:-}
cleanup() {
	if [ -n "$url" ]; then
		for i in $(seq -w 1 $n_pg); do echo "SET client_min_messages = warning; DROP DATABASE IF EXISTS bench_fleet_$i WITH (FORCE);"; done |
			psql -X -q "$url" >/dev/null 2>&1 || true
	fi
	if [ -n "$pgdir" ]; then "$root/tests/pg-harness.sh" stop "$pgdir" >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

if [ -z "$url" ]; then
	if [ -n "$big" ]; then export PG_HARNESS_OPTS="-c max_locks_per_transaction=512"; fi
	url=$("$root/tests/pg-harness.sh" start "$tmp/pg")
	pgdir=$tmp/pg
fi
base=${url%%\?*}
base=${base%/*}

proj=$tmp/proj
python3 "$here/gen_registry.py" "$proj" "$packages" "$tables" "$migrations"
: >"$proj/tenants.txt"
for i in $(seq -w 1 $n_sqlite); do echo "sqlite:$tmp/t/tenant_$i.db" >>"$proj/tenants.txt"; done
for i in $(seq -w 1 $n_pg); do echo "$base/bench_fleet_$i" >>"$proj/tenants.txt"; done
printf '[fleets.tenants]\nurls_file = "tenants.txt"\n' >"$proj/dbreg.toml"
"$dbreg" -C "$proj" -q validate >/dev/null
steps=$("$dbreg" -C "$proj" plan --target "sqlite:$tmp/none.db" | grep -c '^ *[0-9]*\. ')
echo "registry: $packages packages x $migrations migrations ($tables tables each) + @ydtb/core = $steps migrations"
echo "fleet: $n_sqlite SQLite files + $n_pg PostgreSQL databases; $(nproc) CPUs; $runs runs"
# The binaries timed, each with its project (the same manifests and
# targets, a state file of its own).
declare -A bin_of proj_of
bins="new"
bin_of[new]=$dbreg
proj_of[new]=$proj
if [ -n "$base_dbreg" ]; then
	bins="base new"
	bin_of[base]=$base_dbreg
	proj_of[base]=$tmp/proj_base
	cp -r "$proj" "${proj_of[base]}"
	rm -rf "${proj_of[base]}/.dbreg"   # this build's state file: the baseline starts its own
	echo "baseline: $base_dbreg, interleaved (base first in odd runs)"
fi

# The databases once; every target empty again before each cold case:
# SQLite files removed, each database's public schema re-created (faster
# than DROP DATABASE, which waits for a checkpoint).
for i in $(seq -w 1 $n_pg); do
	echo "SET client_min_messages = warning; DROP DATABASE IF EXISTS bench_fleet_$i; CREATE DATABASE bench_fleet_$i;"
done | psql -X -q -v ON_ERROR_STOP=1 "$url" >/dev/null
fresh() {
	rm -rf "$tmp/t" && mkdir -p "$tmp/t"
	for i in $(seq -w 1 $n_pg); do
		psql -X -q -v ON_ERROR_STOP=1 "$base/bench_fleet_$i" \
			-c "SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public;" >/dev/null
	done
}
ms() { date +%s%N; }
elapsed() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.0f", (b - a) / 1e6 }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s..%s", lo, hi }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
spread_f() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f..%.2f", lo, hi }'; }
median_f() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.2f\n", v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Every target holds every migration exactly once.
check() {
	local bad=0 n
	for i in $(seq -w 1 $n_sqlite); do
		n=$(sqlite3 "$tmp/t/tenant_$i.db" "SELECT count(DISTINCT package || ' ' || migration) || '/' || count(*) FROM ydtb_registry_migrations")
		[ "$n" = "$steps/$steps" ] || bad=$((bad + 1))
	done
	for i in $(seq -w 1 $n_pg); do
		n=$(psql -X -At "$base/bench_fleet_$i" -c "SELECT count(DISTINCT package || ' ' || migration) || '/' || count(*) FROM ydtb_registry_migrations")
		[ "$n" = "$steps/$steps" ] || bad=$((bad + 1))
	done
	[ "$bad" = 0 ] || { echo "bench_fleet: $1: $bad targets without every migration exactly once" >&2; exit 1; }
}
# loop [BINARY [LIST]]: the shell loop of single-target applies ("new",
# "tenants" by default).
loop() {
	local target b=${1:-new}
	while read -r target; do "${bin_of[$b]}" -C "${proj_of[$b]}" -q apply --target "$target" >/dev/null; done \
		<"${proj_of[$b]}/${2:-tenants}.txt"
}
# fleet BINARY JOBS [FLEET]
fleet() { "${bin_of[$1]}" -C "${proj_of[$1]}" -q apply --fleet "${3:-tenants}" --jobs "$2" >/dev/null; }
# The order of the binaries in run r: swapped every run. (Not awk's printf
# with a bare `i > 1 ? ...` among its arguments: that `>` redirects, into a
# file named " ", and even runs timed nothing.)
order() {
	local b out=""
	if [ $(($1 % 2)) = 1 ]; then echo "$bins"; return; fi
	for b in $bins; do out="$b${out:+ $out}"; done
	echo "$out"
}

declare -A times
if [ -n "$big" ]; then
	# The seeds applied by a fleet run, the rest copied from them.
	fresh
	s1=$(printf '%s/t/tenant_%0*d.db' "$tmp" ${#n_sqlite} 1)
	p1=bench_fleet_$(printf '%0*d' ${#n_pg} 1)
	printf 'sqlite:%s\n%s/%s\n' "$s1" "$base" "$p1" >"$proj/seed.txt"
	printf '[fleets.seed]\nurls_file = "seed.txt"\n' >>"$proj/dbreg.toml"
	t=$(ms)
	"$dbreg" -C "$proj" -q apply --fleet seed --jobs 2 >/dev/null
	echo "seed: 2 targets (1 SQLite, 1 PostgreSQL) applied by apply --fleet seed --jobs 2 in $(elapsed "$t") ms" \
		"(load $(cut -d' ' -f1-3 /proc/loadavg))"
	t=$(ms)
	for i in $(seq -w 2 $n_sqlite); do cp "$s1" "$tmp/t/tenant_$i.db"; done
	for i in $(seq -w 2 $n_pg); do
		echo "SET client_min_messages = warning; DROP DATABASE IF EXISTS bench_fleet_$i; CREATE DATABASE bench_fleet_$i TEMPLATE $p1;"
	done | psql -X -q -v ON_ERROR_STOP=1 "$url" >/dev/null
	check "the seeds and their copies"
	echo "copies: $((n_sqlite - 1)) SQLite files and $((n_pg - 1)) databases in $(elapsed "$t") ms"
elif [ "$cases" = noop ]; then
	fresh
	"$dbreg" -C "$proj" -q apply --fleet tenants --jobs 2 >/dev/null
	check "fleet apply"
fi
if [ "$cases" = noop ]; then
	# Untimed, as a first no-op run of each: the state file learns every
	# target (the fleet's copies of their history, the loop's no-op memos).
	for b in $bins; do
		t=$(ms)
		fleet "$b" 2
		echo "$b: first no-op fleet run (state file learns the copies): $(elapsed "$t") ms"
		t=$(ms)
		loop "$b"
		echo "$b: first no-op loop (memos): $(elapsed "$t") ms (load $(cut -d' ' -f1-3 /proc/loadavg))"
	done
fi
for r in $(seq "$runs"); do
	if [ "$cases" = noop ]; then
		for b in $(order "$r"); do
			t=$(ms); loop "$b"; times[${b}_loop_noop]+=" $(elapsed "$t")"
			for j in 1 2 4; do
				t=$(ms); fleet "$b" $j; times[${b}_fleet_noop_$j]+=" $(elapsed "$t")"
			done
			echo "run $r $b (ms): loop noop ${times[${b}_loop_noop]##* }," \
				"fleet noop jobs 1/2/4 ${times[${b}_fleet_noop_1]##* }/${times[${b}_fleet_noop_2]##* }/${times[${b}_fleet_noop_4]##* }" \
				"(load $(cut -d' ' -f1-3 /proc/loadavg))"
		done
		continue
	fi
	fresh
	t=$(ms); loop; times[new_loop_cold]+=" $(elapsed "$t")"
	check "loop cold"
	t=$(ms); loop; times[new_loop_noop]+=" $(elapsed "$t")"
	for j in 1 2 4; do
		fresh
		t=$(ms); "$dbreg" -C "$proj" -q apply --fleet tenants --jobs $j >/dev/null; times[new_fleet_cold_$j]+=" $(elapsed "$t")"
		check "fleet cold jobs $j"
		t=$(ms); "$dbreg" -C "$proj" -q apply --fleet tenants --jobs $j >/dev/null; times[new_fleet_noop_$j]+=" $(elapsed "$t")"
	done
	echo "run $r (ms): loop cold ${times[new_loop_cold]##* }, loop noop ${times[new_loop_noop]##* }," \
		"fleet cold jobs 1/2/4 ${times[new_fleet_cold_1]##* }/${times[new_fleet_cold_2]##* }/${times[new_fleet_cold_4]##* }," \
		"fleet noop jobs 1/2/4 ${times[new_fleet_noop_1]##* }/${times[new_fleet_noop_2]##* }/${times[new_fleet_noop_4]##* }" \
		"(load $(cut -d' ' -f1-3 /proc/loadavg))"
done

# table PREFIX CASES...: median, spread and loop/fleet of each case (times
# keyed PREFIX_CASE; the loop of the same state is PREFIX_loop_cold,
# PREFIX_sock_loop or PREFIX_loop_noop).
table() {
	local pre=$1 c m x
	shift
	printf '%-22s %10s %16s %11s\n' case "median ms" "min..max ms" "loop/fleet"
	for c in "$@"; do
		# A run that timed nothing would leave a median of fewer runs.
		if [ "$(echo "${times[${pre}_$c]:-}" | wc -w)" != "$runs" ]; then
			echo "bench_fleet: ${pre}_$c: $(echo "${times[${pre}_$c]:-}" | wc -w) times of $runs runs" >&2
			exit 1
		fi
		m=$(echo "${times[${pre}_$c]}" | median)
		case $c in
		*loop*) x="-" ;;
		*cold*) x=$(ratio "$(echo "${times[${pre}_loop_cold]}" | median)" "$m") ;;
		sock_*) x=$(ratio "$(echo "${times[${pre}_sock_loop]}" | median)" "$m") ;;
		*) x=$(ratio "$(echo "${times[${pre}_loop_noop]}" | median)" "$m") ;;
		esac
		printf '%-22s %10s %16s %11s\n' "${pre}_$c" "$m" "$(echo "${times[${pre}_$c]}" | spread)" "$x"
	done
}
# against PREFIX CASES...: the baseline's median over this build's, per case.
against() {
	local c line="base/new (median over median):"
	for c in "$@"; do
		line+=" $c $(ratio "$(echo "${times[base_$c]}" | median)" "$(echo "${times[new_$c]}" | median)"),"
	done
	echo "${line%,}"
}
echo
all_cases="loop_cold fleet_cold_1 fleet_cold_2 fleet_cold_4 loop_noop fleet_noop_1 fleet_noop_2 fleet_noop_4"
if [ "$cases" = noop ]; then all_cases="loop_noop fleet_noop_1 fleet_noop_2 fleet_noop_4"; fi
for b in $bins; do
	# shellcheck disable=SC2086
	table "$b" $all_cases
done
# shellcheck disable=SC2086
if [ -n "$base_dbreg" ]; then against $all_cases; fi
for b in $bins; do
	label=fleet
	[ "$b" = new ] || label=fleet_$b
	ln=$(echo "${times[${b}_loop_noop]}" | median)
	if [ "$cases" = noop ]; then
		echo "RESULT $label targets=$((n_sqlite + n_pg)) migrations=$steps" \
			"noop_ratio_j1=$(ratio "$ln" "$(echo "${times[${b}_fleet_noop_1]}" | median)")" \
			"noop_ratio_j2=$(ratio "$ln" "$(echo "${times[${b}_fleet_noop_2]}" | median)")" \
			"noop_ratio_j4=$(ratio "$ln" "$(echo "${times[${b}_fleet_noop_4]}" | median)")"
	else
		lc=$(echo "${times[new_loop_cold]}" | median)
		f1=$(echo "${times[new_fleet_cold_1]}" | median)
		echo "RESULT fleet targets=$((n_sqlite + n_pg)) migrations=$steps" \
			"noop_ratio_j1=$(ratio "$ln" "$(echo "${times[new_fleet_noop_1]}" | median)")" \
			"noop_ratio_j4=$(ratio "$ln" "$(echo "${times[new_fleet_noop_4]}" | median)")" \
			"cold_ratio_j1=$(ratio "$lc" "$f1")" \
			"cold_speedup_j2=$(ratio "$f1" "$(echo "${times[new_fleet_cold_2]}" | median)")" \
			"cold_speedup_j4=$(ratio "$f1" "$(echo "${times[new_fleet_cold_4]}" | median)")"
	fi
done
ln=$(echo "${times[new_loop_noop]}" | median)

# What a PostgreSQL connection costs, measured now: every PostgreSQL target
# costs one (cli.md: one history read per target), the loop's and the
# fleet's alike. pgbench -C opens a connection per transaction of one
# SELECT 1. The real binary, not Debian's Perl wrapper, whose start would
# count as client CPU.
pgbench=""
for cand in "$(command -v pg_config >/dev/null && pg_config --bindir)/pgbench" /usr/lib/postgresql/*/bin/pgbench; do
	if [ -x "$cand" ]; then pgbench=$cand; fi
done
[ -n "$pgbench" ] || pgbench=$(command -v pgbench || true)
printf 'SELECT 1;\n' >"$tmp/one.sql"
# pgbench -C -c CLIENTS -t N against URL (environment before it): "tps cpu_s",
# cpu_s the user + system time pgbench itself used.
conn_run() {
	local clients=$1 n=$2 url=$3 out
	shift 3
	out=$( { TIMEFORMAT='%U %S'; time env "$@" "$pgbench" -n -C -c "$clients" -j "$clients" -f "$tmp/one.sql" \
		-t "$n" "$url" 2>/dev/null; } 2>&1) || return 0
	echo "$out" | awk '/^tps = / { t = $3 } NF == 2 && $1 ~ /^[0-9.]+$/ { c = $1 + $2 } END { if (t) print t, c }'
}
# The postmaster's reaped children (the backends' CPU), when the bench runs
# the server.
pm=""
if [ -n "$pgdir" ] && [ -r "$pgdir/data/postmaster.pid" ]; then
	pm=$(head -1 "$pgdir/data/postmaster.pid")
	tck=$(getconf CLK_TCK)
fi
reaped() { awk '{ print $16 + $17 }' "/proc/$pm/stat"; }
# The same no-op cases over the Unix socket with trust (the harness's
# socket is in its folder; the same 50 databases, the same SQLite files).
sock_ratio=""
if [ -n "$pgdir" ]; then
	port=${base##*:}
	for b in $bins; do
		p=${proj_of[$b]}
		grep -v '^postgres' "$p/tenants.txt" >"$p/sock.txt"
		for i in $(seq -w 1 $n_pg); do echo "postgresql://postgres@/bench_fleet_$i?host=$pgdir&port=$port" >>"$p/sock.txt"; done
		printf '[fleets.sock]\nurls_file = "sock.txt"\n' >>"$p/dbreg.toml"
		# Untimed: the state file learns these keys (the fleet's copies, the
		# loop's no-op memos), as the TCP runs above did.
		fleet "$b" 2 sock
		loop "$b" sock
	done
	for r in $(seq "$runs"); do
		for b in $(order "$r"); do
			t=$(ms); loop "$b" sock; times[${b}_sock_loop]+=" $(elapsed "$t")"
			for j in 1 2 4; do
				t=$(ms); fleet "$b" $j sock; times[${b}_sock_fleet_$j]+=" $(elapsed "$t")"
			done
			echo "socket run $r $b (ms): loop noop ${times[${b}_sock_loop]##* }," \
				"fleet noop jobs 1/2/4 ${times[${b}_sock_fleet_1]##* }/${times[${b}_sock_fleet_2]##* }/${times[${b}_sock_fleet_4]##* }" \
				"(load $(cut -d' ' -f1-3 /proc/loadavg))"
		done
	done
	echo
	echo "the no-op cases over the Unix socket, trust authentication (same databases, same SQLite files):"
	for b in $bins; do table "$b" sock_loop sock_fleet_1 sock_fleet_2 sock_fleet_4; done
	if [ -n "$base_dbreg" ]; then against sock_loop sock_fleet_1 sock_fleet_2 sock_fleet_4; fi
	sl=$(echo "${times[new_sock_loop]}" | median)
	sock_ratio=$(ratio "$sl" "$(echo "${times[new_sock_fleet_4]}" | median)")
fi

if [ -n "$pgbench" ]; then
	echo
	echo "a PostgreSQL connection here (pgbench -C, one SELECT 1 a connection; load $(cut -d' ' -f1-3 /proc/loadavg)):"
	# The most connections a second this machine makes, whoever asks, with
	# as many clients as the fleet's widest run: 50 targets take at least
	# that long, before a single SQLite target or history read.
	floor() { # label url
		local tps
		tps=$(conn_run 4 50 "$2" | cut -d' ' -f1)
		if [ -z "$tps" ]; then echo "  $1: pgbench made no connection"; return 0; fi
		awk -v t="$tps" -v n="$n_pg" -v l="$3" -v what="$1" 'BEGIN {
			f = n * 1000 / t
			printf "  %s, 4 clients: %.0f connections a second: %d databases take %.0f ms; the no-op loop over that: %.1fx, the most any no-op fleet run could reach here\n", what, t, n, f, l / f }'
	}
	floor "TCP, scram-sha-256" "$base/bench_fleet_01" "$ln"
	if [ -n "$pgdir" ]; then floor "Unix socket, trust" "postgresql://postgres@/bench_fleet_01?host=$pgdir&port=$port" "$sl"; fi
	# One client, 200 connections: the wall time of one, the client's CPU
	# in it and (own server) the server's. Then libpq's defaults against
	# disable: sslmode=prefer asks the server for TLS first (a round trip
	# when it says no), gssencmode=prefer looks for Kerberos credentials
	# first; 5 rounds, interleaved, medians.
	share() { # label url
		local a b out
		if [ -n "$pm" ]; then a=$(reaped); fi
		out=$(conn_run 1 200 "$2")
		if [ -n "$pm" ]; then sleep 0.2; b=$(reaped); fi
		if [ -z "$out" ]; then echo "  $1: pgbench made no connection"; return 0; fi
		echo "$out" | awk -v what="$1" -v a="${a:-}" -v b="${b:-}" -v k="${tck:-100}" '{
			w = 1000 / $1; c = $2 * 1000 / 200
			printf "  %s, 1 client: %.2f ms a connection, the client'"'"'s CPU %.2f ms of it (pgbench'"'"'s own)", what, w, c
			if (a != "") { s = (b - a) * 1000 / k / 200; printf ", the server'"'"'s %.2f ms: the client %.0f%% of the CPU", s, 100 * c / (c + s) }
			printf "\n" }'
	}
	share "TCP, scram-sha-256" "$base/bench_fleet_01"
	if [ -n "$pgdir" ]; then share "Unix socket, trust" "postgresql://postgres@/bench_fleet_01?host=$pgdir&port=$port"; fi
	declare -A dflt
	for r in 1 2 3 4 5; do
		for v in default PGSSLMODE=disable PGGSSENCMODE=disable both; do
			case $v in
			default) e=() ;;
			both) e=(PGSSLMODE=disable PGGSSENCMODE=disable) ;;
			*) e=("$v") ;;
			esac
			out=$(conn_run 1 100 "$base/bench_fleet_01" "${e[@]}")
			if [ -n "$out" ]; then
				dflt[$v]+=" $(echo "$out" | awk '{ printf "%.3f", 1000 / $1 }')"
				dflt[cpu_$v]+=" $(echo "$out" | awk '{ printf "%.3f", $2 * 10 }')"
			fi
		done
	done
	if [ -n "${dflt[default]:-}" ]; then
		echo "  libpq's defaults, TCP, 1 client, medians of 5 x 100 connections (ms a connection, client CPU):"
		for v in default PGSSLMODE=disable PGGSSENCMODE=disable both; do
			printf '    %-22s %6s ms (%s), client CPU %s ms (%s)\n' "$v" "$(echo "${dflt[$v]}" | median_f)" \
				"$(echo "${dflt[$v]}" | spread_f)" "$(echo "${dflt[cpu_$v]}" | median_f)" "$(echo "${dflt[cpu_$v]}" | spread_f)"
		done
	fi
fi

# What the server spends per PostgreSQL target of a no-op fleet run at
# jobs 1, against a bare connection above. On a machine of few cores this
# CPU is taken from the fleet's own. Then, each binary's digest queries
# (driver v10 registry_digest, or v12 registry_digest_since: the
# fingerprint and, when it moved, the digest) as the server times them
# (log_min_duration_statement = 0 for that one run): median and spread of
# the statement's server milliseconds a visit.
if [ -n "$pm" ]; then
	for b in $bins; do
		a=$(reaped)
		fleet "$b" 1
		sleep 0.2
		c=$(reaped)
		awk -v a="$a" -v b="$c" -v k="$tck" -v n="$n_pg" -v who="$b" 'BEGIN {
			printf "%s: server CPU: %.2f ms a PostgreSQL target of the no-op fleet (TCP)\n", who, (b - a) * 1000 / k / n }'
	done
	log=$pgdir/server.log
	for b in $bins; do
		psql -X -q "$url" -c "ALTER SYSTEM SET log_min_duration_statement = 0" -c "SELECT pg_reload_conf()" >/dev/null
		sleep 0.2
		from=$(($(wc -l <"$log") + 1))
		fleet "$b" 1
		psql -X -q "$url" -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()" >/dev/null
		d=$(tail -n +"$from" "$log" | awk '/duration: [0-9.]+ ms +(statement|execute [^:]*): (SELECT h\.n|WITH d AS \(SELECT h\.n)/ {
			for (i = 1; i <= NF; i++) if ($i == "duration:") print $(i + 1) }')
		n=$(echo "$d" | grep -c . || true)
		if [ "$n" -gt 0 ]; then
			echo "$b: digest query, server ms a visit (jobs 1, $n visits by digest): median $(echo "$d" | median_f)," \
				"min..max $(echo "$d" | spread_f)"
		else
			echo "$b: no visit by digest logged"
		fi
	done
fi
if [ -n "$sock_ratio" ]; then echo "RESULT fleet_socket noop_ratio_j4=$sock_ratio"; fi
exit 0
