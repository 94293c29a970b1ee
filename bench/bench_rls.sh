#!/usr/bin/env bash
# What the workspace policy costs (issue 16): a workspace-filtered query on
# 1,000,000 rows with and without row-level security, in one run.
#
# usage: bench/bench_rls.sh [RUNS] [SECONDS]
#   RUNS     pgbench runs per case, alternating the cases (default 5)
#   SECONDS  length of each run (default 5)
# PostgreSQL: $DBREG_BENCH_PG_URL if set (a superuser URL; a database
# bench_rls_* and two roles are created and dropped there), else a
# throwaway server from tests/pg-harness.sh.
#
# Two tables with the same 1,000,000 rows (1,000 workspaces x 1,000 rows)
# and the same indexes, led by workspace_id: the primary key
# (workspace_id, id) and (workspace_id, created_at). bench_plain has no
# row-level security; bench_rls has what dbreg makes (ENABLE, FORCE, policy
# ydtb_workspace_isolation ... USING/WITH CHECK workspace_id =
# current_setting('app.workspace_id', true)). Both belong to an owner role
# and are read by `app`, a role that owns nothing and has no BYPASSRLS.
# Each pgbench transaction is what the application does per request:
#   BEGIN; SELECT set_config('app.workspace_id', 'wN', true);
#   <query of workspace wN>; COMMIT;
# for a random workspace N, one client, both tables' transactions mixed
# at random in each pgbench run. The queries:
#   page   SELECT id, title FROM T WHERE workspace_id = 'wN'
#          ORDER BY created_at DESC LIMIT 50
#   count  SELECT count(*) FROM T WHERE workspace_id = 'wN'
# The baseline is bench_plain in the same runs; the ratio is the average
# latency with the policy over the one without, per run, and its median
# over the runs (1.10 = the policy costs 10%). The spread is
# (max - min) / median of each case's average latencies over the runs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${1:-5}
secs=${2:-5}

tmp=$(mktemp -d)
chmod 711 "$tmp"
pgdir=""
url=${DBREG_BENCH_PG_URL:-}
tag=$$
db=bench_rls_$tag
owner=bench_rls_owner_$tag
app=bench_rls_app_$tag
cleanup() {
	if [ -n "$url" ]; then
		psql -X -q -d "$url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP ROLE IF EXISTS $app" \
			-c "DROP ROLE IF EXISTS $owner" >/dev/null 2>&1 || true
	fi
	if [ -n "$pgdir" ]; then "$root/tests/pg-harness.sh" stop "$pgdir" >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

if [ -z "$url" ]; then
	pgdir=$tmp/pg
	url=$("$root/tests/pg-harness.sh" start "$pgdir")
fi
base=${url%/*}
hostpart=${base#*@}

psql -X -q -v ON_ERROR_STOP=1 -d "$url" \
	-c "CREATE ROLE $owner LOGIN PASSWORD 'owner-$tag' NOSUPERUSER NOBYPASSRLS" \
	-c "CREATE ROLE $app LOGIN PASSWORD 'app-$tag' NOSUPERUSER NOBYPASSRLS" \
	-c "CREATE DATABASE $db OWNER $owner"
owner_url="postgresql://$owner:owner-$tag@$hostpart/$db"
app_url="postgresql://$app:app-$tag@$hostpart/$db"

echo "loading 2 x 1,000,000 rows ..."
psql -X -q -v ON_ERROR_STOP=1 -d "$owner_url" <<SQL
CREATE TABLE bench_plain (
  workspace_id text NOT NULL,
  id text NOT NULL,
  title text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);
CREATE TABLE bench_rls (LIKE bench_plain INCLUDING ALL);
INSERT INTO bench_plain
  SELECT 'w' || (g % 1000), 'r' || g, 'title ' || g, timestamptz '2026-01-01' + g * interval '1 second'
  FROM generate_series(0, 999999) AS g;
INSERT INTO bench_rls SELECT * FROM bench_plain;
CREATE INDEX bench_plain_created_idx ON bench_plain (workspace_id, created_at);
CREATE INDEX bench_rls_created_idx ON bench_rls (workspace_id, created_at);
ALTER TABLE bench_rls ENABLE ROW LEVEL SECURITY;
ALTER TABLE bench_rls FORCE ROW LEVEL SECURITY;
CREATE POLICY ydtb_workspace_isolation ON bench_rls AS PERMISSIVE FOR ALL TO PUBLIC
  USING (workspace_id = current_setting('app.workspace_id', true))
  WITH CHECK (workspace_id = current_setting('app.workspace_id', true));
GRANT SELECT ON bench_plain, bench_rls TO $app;
VACUUM ANALYZE bench_plain;
VACUUM ANALYZE bench_rls;
SQL

# The policy really filters: app sees one workspace, and nothing without it.
check=$(psql -X -q -At -d "$app_url" <<'SQL'
BEGIN;
SELECT set_config('app.workspace_id', 'w7', true) \g /dev/null
SELECT count(*), count(DISTINCT workspace_id) FROM bench_rls;
COMMIT;
SELECT count(*) FROM bench_rls;
SQL
)
echo "app sees with w7: $(echo "$check" | sed -n 1p) (rows|workspaces); without the setting: $(echo "$check" | sed -n 2p) rows"
[ "$(echo "$check" | sed -n 1p)" = "1000|1" ] && [ "$(echo "$check" | sed -n 2p)" = "0" ] || {
	echo "bench_rls: the policy does not filter as it should" >&2; exit 1; }

for q in page count; do
	for t in bench_plain bench_rls; do
		case $q in
		page) sql="SELECT id, title FROM $t WHERE workspace_id = 'w' || :ws ORDER BY created_at DESC LIMIT 50;" ;;
		count) sql="SELECT count(*) FROM $t WHERE workspace_id = 'w' || :ws;" ;;
		esac
		printf '%s\n' '\set ws random(0, 999)' 'BEGIN;' \
			"SELECT set_config('app.workspace_id', 'w' || :ws, true);" "$sql" 'COMMIT;' >"$tmp/$q-$t.sql"
	done
	echo "plan of $q on bench_rls, as app:"
	psql -X -q -At -d "$app_url" -c "BEGIN" -c "SELECT set_config('app.workspace_id', 'w7', true)" \
		-c "EXPLAIN $(sed -n 4p "$tmp/$q-bench_rls.sql" | sed "s/'w' || :ws/'w7'/")" -c "COMMIT" | sed 's/^/  /' | grep -v '^  w7$'
done

# One pgbench run mixes both scripts at random, transaction by transaction
# (-f A@1 -f B@1), so whatever else the machine does slows both alike;
# each script's average latency comes out of the same run.
# lat FILE_A FILE_B: "latencyA latencyB" in ms.
lat() {
	pgbench -n -c 1 -T "$secs" -f "$1@1" -f "$2@1" "$app_url" 2>/dev/null |
		sed -n 's/^ - latency average = \([0-9.]*\) ms$/\1/p' | tr '\n' ' '
}
stats() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.4f %.4f %.4f %.3f\n", m, v[1], v[NR], (v[NR] - v[1]) / m }'; }

for q in page count; do
	plain="" rls="" ratios=""
	for i in $(seq "$runs"); do
		read -r a b <<<"$(lat "$tmp/$q-bench_plain.sql" "$tmp/$q-bench_rls.sql")"
		plain="$plain $a" rls="$rls $b"
		ratios="$ratios $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b / a }')"
	done
	read -r pm pmin pmax psp <<<"$(echo "$plain" | stats)"
	read -r rm rmin rmax rsp <<<"$(echo "$rls" | stats)"
	read -r xm xmin xmax xsp <<<"$(echo "$ratios" | stats)"
	echo "$q: latency without policy median $pm ms (min $pmin, max $pmax, spread $psp);" \
		"with policy median $rm ms (min $rmin, max $rmax, spread $rsp);" \
		"with/without per run: median $xm (min $xmin, max $xmax)"
	echo "RESULT $q plain_ms=$pm plain_spread=$psp rls_ms=$rm rls_spread=$rsp ratio=$xm ratio_min=$xmin ratio_max=$xmax runs=$runs seconds=$secs"
done
