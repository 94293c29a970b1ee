#!/bin/sh
# TOML reader speed against Python's tomllib on the same generated ~12 MB
# manifest-like file, in one run. Usage: bench/bench_toml.sh [BENCH_BINARY] [MB]
# Without a binary, uses build/bench/bench-toml or compiles one with cc -O2.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${1:-}
mb=${2:-12}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -z "$bin" ]; then
	if [ -x "$root/build/bench/bench-toml" ]; then
		bin="$root/build/bench/bench-toml"
	else
		${CC:-cc} -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -I"$root/core/src" \
			"$root/core/src/toml.c" "$here/bench_toml.c" -o "$tmp/bench-toml"
		bin="$tmp/bench-toml"
	fi
fi

python3 "$here/gen_manifest.py" "$tmp/manifest.toml" "$mb"
ours=$("$bin" "$tmp/manifest.toml" 7)
echo "$ours"
theirs=$(python3 - "$tmp/manifest.toml" <<'PY'
import sys, time
try:
    import tomllib
except ImportError:
    print("tomllib: unavailable (Python %d.%d < 3.11)" % sys.version_info[:2])
    sys.exit(0)
data = open(sys.argv[1], "rb").read()
best = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    tomllib.loads(data.decode("utf-8"))
    best = min(best, time.perf_counter() - t0)
mb = len(data) / 1048576
print("tomllib (Python %d.%d.%d): %.2f MB, best of 3: %.4f s, %.1f MB/s"
      % (sys.version_info[:3] + (mb, best, mb / best)))
PY
)
echo "$theirs"
a=$(echo "$ours" | sed -n 's/.* \([0-9.]*\) MB\/s$/\1/p')
b=$(echo "$theirs" | sed -n 's/.* \([0-9.]*\) MB\/s$/\1/p')
if [ -n "$a" ] && [ -n "$b" ]; then
	awk -v a="$a" -v b="$b" 'BEGIN { printf "ratio: dbreg_toml is %.1fx tomllib\n", a / b }'
fi
