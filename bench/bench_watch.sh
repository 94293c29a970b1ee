#!/bin/sh
# The development loop on a large registry (issue 14): the time from a
# one-package edit (a new table and its migration, saved as an editor does:
# a temporary file renamed over the manifest) to the end of `dbreg watch
# --json`'s report of it, the new migration applied to a SQLite development
# target, against a full `dbreg validate` of the same registry measured in
# the same run.
# Usage: bench/bench_watch.sh [DBREG_BINARY] [PACKAGES] [EDITS]
# Defaults: a release build in build-rel/, 1000 packages of 5 tables and 20
# migrations (bench/gen_registry.py), 15 edits. The target's history is
# seeded with every migration (rows as apply writes them, checksums of the
# SQLite bodies), so the target is up to date when the watch starts, as a
# developer's database is. Edits are timed with --debounce 10 (the work)
# and with the default 150 ms (what a user waits).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${1:-}
pkgs=${2:-1000}
edits=${3:-15}
tmp=${DBREG_BENCH_TMP:-$(mktemp -d)}
mkdir -p "$tmp"
[ -n "${DBREG_BENCH_TMP:-}" ] || trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -z "$bin" ]; then
	if [ ! -f "$root/build-rel/build.ninja" ]; then
		meson setup "$root/build-rel" "$root" --buildtype=release >/dev/null
	fi
	meson compile -C "$root/build-rel" dbreg:executable >/dev/null
	bin="$root/build-rel/dbreg"
fi

python3 "$here/gen_registry.py" "$tmp/reg" "$pkgs" 5 20

python3 - "$bin" "$tmp/reg" "$edits" <<'PY'
import hashlib, json, os, queue, signal, sqlite3, statistics, subprocess, sys, threading, time
import tomllib

binary, reg, edits = sys.argv[1], sys.argv[2], int(sys.argv[3])
tomls = os.path.join(reg, "tomls")

# The target: every migration recorded as applied, as apply records it.
db = os.path.join(reg, "dev.db")
con = sqlite3.connect(db)
con.executescript("""
CREATE TABLE ydtb_registry_migrations (package TEXT NOT NULL, migration TEXT NOT NULL, version TEXT NOT NULL,
  checksum TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  duration_ms INTEGER NOT NULL DEFAULT 0, statements_done INTEGER, PRIMARY KEY (package, migration));
CREATE TABLE ydtb_registry_packages (name TEXT PRIMARY KEY NOT NULL, version TEXT NOT NULL,
  installed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE TABLE ydtb_workspaces (id TEXT PRIMARY KEY);
CREATE TABLE ydtb_tools (id TEXT PRIMARY KEY NOT NULL, package_name TEXT NOT NULL, name TEXT NOT NULL,
  description TEXT, icon TEXT, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
""")
n = 0
for name in sorted(os.listdir(tomls)):
    doc = tomllib.load(open(os.path.join(tomls, name), "rb"))
    pkg = doc["package"]
    for m in doc.get("migrations", []):
        body = m.get("up_sqlite", m.get("up"))
        if body is None:
            continue
        sum_ = "sha256:" + hashlib.sha256(body.replace("\r\n", "\n").encode()).hexdigest()
        con.execute("INSERT INTO ydtb_registry_migrations (package, migration, version, checksum, applied_at)"
                    " VALUES (?, ?, ?, ?, ?)", (pkg["name"], m["id"], m["version"], sum_, "2026-01-01T00:00:%09.6fZ" % (n / 1e6)))
        n += 1
    con.execute("INSERT INTO ydtb_registry_packages (name, version) VALUES (?, ?)", (pkg["name"], pkg["version"]))
con.commit()
con.close()
with open(os.path.join(reg, "dbreg.toml"), "w") as fp:
    fp.write('[targets.dev]\nurl = "sqlite:dev.db"\n')

def wall(args, env=None):
    """Wall and CPU time (user + sys of all its threads) of one run."""
    t = time.perf_counter()
    p = subprocess.Popen([binary, "-C", reg] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=dict(os.environ, **(env or {})))
    _, status, usage = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    err = p.stderr.read()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("dbreg %s failed: %s" % (" ".join(args), err[:2000]))
    return dt, usage.ru_utime + usage.ru_stime

def cpu_of(pid):
    """CPU seconds (user + sys, all threads) a running process has used."""
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def spread(xs):
    xs = sorted(xs)
    return "median %.1f ms (min %.1f, max %.1f, n=%d)" % (statistics.median(xs) * 1e3, xs[0] * 1e3, xs[-1] * 1e3, len(xs))

print("registry: %d manifests, %d migrations recorded as applied on the target" % (len(os.listdir(tomls)), n))
# The baseline is a full validation: every check run, none of the results
# a state file keeps (bench_validate.sh's no-state row). A run that finds
# them stored checks nothing and is printed next to it, not used.
runs = [wall(["validate", "-q"], {"DBREG_STATE": "/proc/self/no-state/state.db"}) for _ in range(3)]
full = [r[0] for r in runs]
full_cpu = [r[1] for r in runs]
print("baseline: full dbreg validate (no stored results): wall %s; cpu %s" % (spread(full), spread(full_cpu)))
wall(["validate", "-q"])
warm = [wall(["validate", "-q"]) for _ in range(3)]
print("dbreg validate with every result stored (not the baseline): wall %s; cpu %s" % (
    spread([r[0] for r in warm]), spread([r[1] for r in warm])))

target = os.path.join(tomls, "p%04d.toml" % (len(os.listdir(tomls)) // 2))
original = open(target).read()
pkgname = tomllib.loads(original)["package"]["name"]
short = os.path.basename(target)[:-5]

def extra(k):
    t = "ydtb_%s_extra%d" % (short, k)
    return """
[tables.%s]
description = "added while watching"
workspace_scoped = true

[tables.%s.columns]
id = { type = "text", primary_key = true }

[[migrations]]
id = "9%03d_extra"
version = "2.0.0"
up_postgres = "CREATE TABLE IF NOT EXISTS %s (id text PRIMARY KEY, workspace_id text NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE); CREATE INDEX IF NOT EXISTS %s_workspace_id_idx ON %s (workspace_id);"
up_sqlite = "CREATE TABLE IF NOT EXISTS %s (id TEXT PRIMARY KEY NOT NULL, workspace_id TEXT NOT NULL REFERENCES ydtb_workspaces(id) ON DELETE CASCADE); CREATE INDEX IF NOT EXISTS %s_workspace_id_idx ON %s (workspace_id);"
down = "DROP TABLE IF EXISTS %s;"
""" % (t, t, k, t, t, t, t, t, t, t)

def edited(k):
    """The manifest after k + 1 edits: each added one table and its migration."""
    return original + "".join(extra(j) for j in range(k + 1))

def session(debounce, count, start_k, extra_args=()):
    args = [binary, "-C", reg, "watch", "--json"] + (["--debounce", str(debounce)] if debounce else []) + list(extra_args)
    applying = "--no-apply" not in extra_args
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in p.stdout] + [lines.put(None)], daemon=True).start()
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    try:
        first = lines.get(timeout=600)
        doc = json.loads(first)
        if not doc["ok"] or (applying and doc["status"] != "up to date"):
            sys.exit("first round: %s" % first[:2000])
        times, works, cpus = [], [], []
        for k in range(start_k, start_k + count):
            text = edited(k)
            tmpf = os.path.join(tomls, ".edit.swp")
            with open(tmpf, "w") as fp:
                fp.write(text)
            c0 = cpu_of(p.pid)
            t = time.perf_counter()
            os.rename(tmpf, target)
            line = lines.get(timeout=60)
            dt = time.perf_counter() - t
            cpus.append(cpu_of(p.pid) - c0)
            doc = json.loads(line)
            ran = [s["migration"] for s in doc["steps"] if s["applied"] or not applying]
            if not doc["ok"] or ran[-1:] != ["9%03d_extra" % k] or doc["rechecked"] != 1 or doc["loaded"] != 1:
                sys.exit("edit %d: %s" % (k, line[:2000]))
            times.append(dt)
            works.append((doc["ms"], doc["ms_plan"], doc["ms_apply"]))
            time.sleep(0.3)
        return times, works, cpus
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)

fast, works, cpus = session(10, edits, 0)
print("edit to end of report, --debounce 10: wall %s; cpu of the round %s (clock ticks of 10 ms)" % (
    spread(fast), spread(cpus)))
print("  of which reload %.1f ms, plan %.1f ms, apply %.1f ms (medians, as the report says)" % tuple(
    statistics.median(w[i] for w in works) for i in range(3)))
slow, _, _ = session(0, max(3, edits // 3), edits)
# The same edits with --no-apply: the reload, the re-validation of one package, the plan and the report.
os.rename(target, target + ".bak")
with open(target, "w") as fp:
    fp.write(edited(edits + max(3, edits // 3) - 1))
os.remove(target + ".bak")
noapply, nworks, ncpus = session(10, max(5, edits // 2), edits + max(3, edits // 3), ["--no-apply"])
print("the same with --no-apply (reload, validate, plan, report): wall %s; cpu %s" % (spread(noapply), spread(ncpus)))
print("  of which reload %.1f ms, plan %.1f ms (medians)" % tuple(statistics.median(w[i] for w in nworks) for i in range(2)))
print("edit to end of report, default debounce 150 ms: %s" % spread(slow))
ratio = statistics.median(full) / statistics.median(fast)
cpu_ratio = statistics.median(full_cpu) / max(statistics.median(cpus), 0.01)
print("RESULT edit_ms=%.1f validate_ms=%.1f ratio=%.1f cpu_ratio=%.1f" % (
    statistics.median(fast) * 1e3, statistics.median(full) * 1e3, ratio, cpu_ratio))
print("ratio full validate / edit-to-report: wall %.1fx, cpu %.1fx (aim: >= 10x, edit-to-report < 100 ms)" % (
    ratio, cpu_ratio))
PY
