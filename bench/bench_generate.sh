#!/usr/bin/env bash
# dbreg generate on a package of 100 tables (issue 15: under 1 s), in two
# shapes: no migration yet (100 CREATE TABLEs to write), and 100 tables
# built by a migration whose declared tables then changed (a column added
# to each, a default changed on each: 100 SQLite rebuilds). Baseline, in the
# same run: `dbreg validate` of the same project, which replays the same
# migrations. Prints median and spread (min..max) of RUNS runs of each.
# Usage: bench/bench_generate.sh DBREG [RUNS]
set -euo pipefail
dbreg=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
runs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

python3 - "$tmp" "$root/tomls/core.toml" <<'EOF'
import os, shutil, sys
tmp, core = sys.argv[1], sys.argv[2]
N = 100

def tables(changed):
    out = []
    for i in range(N):
        t = "ydtb_big_t%03d" % i
        out.append('[tables.%s]\ndescription = "table %d"\nworkspace_scoped = true\n\n[tables.%s.columns]\n' % (t, i, t))
        out.append('id    = { type = "text", primary_key = true }\n')
        out.append('title = { type = "text", not_null = true }\n')
        out.append('n     = { type = "integer", not_null = true, default = %d }\n' % (2 if changed else 1))
        if i:
            out.append('prev  = { type = "text", references = "ydtb_big_t%03d.id", on_delete = "set null" }\n' % (i - 1))
        if changed:
            out.append('extra = { type = "text" }\n')
        out.append('\n[tables.%s.indexes]\n%s_title_idx = { columns = ["workspace_id", "title"] }\n\n' % (t, t))
    return "".join(out)

def migration():
    pg, sq = [], []
    for i in range(N):
        t = "ydtb_big_t%03d" % i
        prev = ',\n  "prev" %s REFERENCES "ydtb_big_t%03d" ("id") ON DELETE SET NULL' if i else "%s"
        for body, ty, it in ((pg, "text", "integer"), (sq, "TEXT", "INTEGER")):
            body.append('CREATE TABLE IF NOT EXISTS "%s" (\n  "id" %s PRIMARY KEY NOT NULL,\n  "title" %s NOT NULL,\n'
                        '  "n" %s NOT NULL DEFAULT 1,\n  "workspace_id" %s NOT NULL REFERENCES "ydtb_workspaces" ("id") ON DELETE CASCADE%s\n);\n'
                        % (t, ty, ty, it, ty, (prev % (ty, i - 1)) if i else ""))
            body.append('CREATE INDEX IF NOT EXISTS "%s_workspace_id_idx" ON "%s" ("workspace_id");\n' % (t, t))
            body.append('CREATE INDEX IF NOT EXISTS "%s_title_idx" ON "%s" ("workspace_id", "title");\n' % (t, t))
    down = "".join('DROP TABLE IF EXISTS "ydtb_big_t%03d";\n' % i for i in reversed(range(N)))
    return ('[[migrations]]\nid = "0001_create"\nversion = "1.0.0"\nup_postgres = """\n%s"""\nup_sqlite = """\n%s"""\ndown = """\n%s"""\n'
            % ("".join(pg), "".join(sq), down))

head = '[package]\nname = "@bench/big"\nversion = "1.0.0"\ndescription = "100 tables"\n\n'
for name, text in (("fresh", head + tables(False)), ("changed", head + tables(True) + migration())):
    os.makedirs(os.path.join(tmp, name, "tomls"))
    shutil.copy(core, os.path.join(tmp, name, "tomls", "core.toml"))
    with open(os.path.join(tmp, name, "tomls", "big.toml"), "w") as fp:
        fp.write(text)
EOF

# median and spread of one command's wall time, in seconds
# measure LABEL MAYFAIL CMD...: MAYFAIL=1 for validate, which finds DBR047
# on purpose here (the declared tables changed).
measure() {
	local label=$1 mayfail=$2; shift 2
	local times=()
	for _ in $(seq "$runs"); do
		local s e
		s=$(date +%s.%N)
		"$@" >/dev/null 2>"$tmp/err" || [ "$mayfail" = 1 ] || { echo "$label: failed: $*" >&2; tail -3 "$tmp/err" >&2; exit 1; }
		e=$(date +%s.%N)
		times+=("$(echo "$e - $s" | bc)")
	done
	printf '%s\n' "${times[@]}" | sort -n | awk -v l="$label" '{a[NR]=$1} END {
		m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2;
		printf "%s: median %.3f s (min %.3f, max %.3f, %d runs)\n", l, m, a[1], a[NR], NR }'
}

for shape in fresh changed; do
	cd "$tmp/$shape"
	g=$(measure "generate $shape" 0 "$dbreg" generate @bench/big --dry-run)
	v=$(measure "validate $shape" 1 "$dbreg" validate -q)
	echo "$g"
	echo "$v"
	gm=$(echo "$g" | sed -n 's/.*median \([0-9.]*\) s.*/\1/p')
	vm=$(echo "$v" | sed -n 's/.*median \([0-9.]*\) s.*/\1/p')
	echo "ratio generate/validate ($shape): $(echo "scale=2; $gm / $vm" | bc)"
	echo "RESULT shape=$shape generate_s=$gm validate_s=$vm"
done
"$dbreg" -C "$tmp/changed" generate @bench/big --dry-run 2>/dev/null | grep -c '^-- Rebuild of' | awk '{print "SQLite rebuilds written (changed, up and down): " $1}'
