#!/bin/sh
# `dbreg validate` on a large generated registry (issue 4), SQL checks
# included, against the least any validator must do: Python's tomllib merely
# parsing the same files, measured in the same run.
# Usage: bench/bench_validate.sh [DBREG_BINARY] [PACKAGES] [TABLES] [MIGRATIONS]
# Defaults: a release build in build-rel/ (set up and built when missing),
# 1000 packages of 5 tables and 20 migrations each (5,000 tables, 20,000
# migrations). Prints the best wall time of 3 runs and the peak RSS; wall
# time, CPU time and RSS come from os.wait4 (getrusage of the child), so
# the Debian package `time` is not needed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${1:-}
pkgs=${2:-1000}
tables=${3:-5}
migs=${4:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -z "$bin" ]; then
	if [ ! -f "$root/build-rel/build.ninja" ]; then
		meson setup "$root/build-rel" "$root" --buildtype=release >/dev/null
	fi
	meson compile -C "$root/build-rel" dbreg:executable >/dev/null
	bin="$root/build-rel/dbreg"
fi

python3 "$here/gen_registry.py" "$tmp/reg" "$pkgs" "$tables" "$migs"

python3 - "$bin" "$tmp/reg" "$pkgs" "$tables" "$migs" <<'PY'
import glob, os, shutil, statistics, subprocess, sys, time
import tomllib

binary, reg, pkgs, tables, migs = sys.argv[1:]
files = sorted(glob.glob(os.path.join(reg, "tomls", "*.toml")))
size = sum(os.path.getsize(f) for f in files)

def run_once(env=None):
    start = time.perf_counter()
    proc = subprocess.Popen([binary, "-C", reg, "validate", "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, **(env or {})))
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read() + proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit("dbreg validate exited %d:\n%s" % (code, out.decode(errors="replace")[:2000]))
    return wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime

def cold():
    # A fresh checkout: no state file, so no stored check results.
    shutil.rmtree(os.path.join(reg, ".dbreg"), ignore_errors=True)
    return run_once()

runs = [cold() for _ in range(3)]
best = min(w for w, _, _ in runs)
rss = max(r for _, r, _ in runs)
cpu = sorted(c for _, _, c in runs)

def parse_all():
    start = time.perf_counter()
    for f in files:
        with open(f, "rb") as fp:
            tomllib.load(fp)
    return time.perf_counter() - start

base = min(parse_all() for _ in range(3))

# One package changed since the last run (issue 18: aim 100 ms): each run
# edits another package's manifest after a run that stored every result.
# Baseline in the same run: the same validation without a state file to
# keep results in (what every run cost before the per-package cache).
nostate = [run_once({"DBREG_STATE": "/proc/self/no-state/state.db"}) for _ in range(3)]
run_once()
one = []
for i in range(5):
    f = files[(len(files) // 7) * (i + 1) % len(files)]
    with open(f, "a") as fp:
        fp.write("\n# changed %d\n" % i)
    one.append(run_once())
same = [run_once() for _ in range(3)]

def fig(rs):
    w = sorted(r[0] for r in rs)
    c = sorted(r[2] for r in rs)
    return ("wall median %.1f ms (%.1f-%.1f), CPU median %.1f ms (%.1f-%.1f), peak RSS %.1f MB"
            % (statistics.median(w) * 1e3, w[0] * 1e3, w[-1] * 1e3, statistics.median(c) * 1e3,
               c[0] * 1e3, c[-1] * 1e3, max(r[1] for r in rs)))

print("registry: %s packages x %s tables x %s migrations, %d files, %.1f MB"
      % (pkgs, tables, migs, len(files), size / 1e6))
print("dbreg validate -q: best of 3 %.3f s wall (runs: %s), peak RSS %.1f MB"
      % (best, ", ".join("%.3f" % w for w, _, _ in runs), rss))
# CPU time (all threads) moves far less than wall time on a shared machine.
print("dbreg validate -q: CPU user+sys median %.3f s (min %.3f, max %.3f)" % (cpu[1], cpu[0], cpu[2]))
print("python tomllib parse only: best of 3 %.3f s" % base)
print("ratio dbreg/tomllib: %.2f" % (best / base if base > 0 else float("inf")))
print("dbreg validate -q, no state file (no stored results, %d runs): %s" % (len(nostate), fig(nostate)))
print("dbreg validate -q, one package changed (%d runs, aim < 100 ms, < 200 MB): %s" % (len(one), fig(one)))
print("dbreg validate -q, nothing changed (%d runs): %s" % (len(same), fig(same)))
PY
