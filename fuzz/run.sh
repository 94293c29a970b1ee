#!/usr/bin/env bash
# Builds one libFuzzer target with clang under ASan+UBSan and runs it for a
# bounded time on a seed corpus from the conformance suites.
#   fuzz/run.sh fuzz_toml 60
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: fuzz/run.sh TARGET SECONDS}
seconds=${2:-60}
build=$root/build-fuzz
shared=${DBREG_SHARED:-$root/../shared}

# Build output is shown only when the build fails.
if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" "$root" -Dfuzz=true --buildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false >"$build.setup.log" 2>&1 || {
    cat "$build.setup.log" >&2; echo "fuzz: meson setup failed" >&2; exit 1; }
fi
meson compile -C "$build" "fuzz/$name" >"$build.$name.log" 2>&1 || {
  grep -E 'error|FAILED' "$build.$name.log" | head -n 40 >&2; echo "fuzz: building $name failed" >&2; exit 1; }

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
case "$name" in
  fuzz_toml) find "$shared/toml-test" -name '*.toml' -exec cp {} "$corpus/" \; 2>/dev/null || true
             for f in "$root"/tomls/*.toml; do cp "$f" "$corpus/tomls-$(basename "$f")"; done ;;
  fuzz_sqlcheck) cp "$root"/tests/sql-corpus/*.sql "$corpus/" 2>/dev/null || true ;;
  # Whole projects: dbreg.toml, then "=== NAME" parts (manifests, SQL files).
  fuzz_project) { printf '[registry]\npackages = ["tomls"]\n[targets.dev]\nurl = "sqlite:x.db"\n';
                  for f in "$root"/tomls/*.toml; do printf '\n=== %s\n' "$(basename "$f")"; cat "$f"; done; } >"$corpus/tomls"
                  printf '\n=== a.toml\n[package]\nname = "@ydtb/a"\nversion = "1.0.0"\n[[migrations]]\nid = "1"\nversion = "1.0.0"\nup_file = "a.sql"\n=== a.sql\nCREATE TABLE IF NOT EXISTS ydtb_a (id text);\n' >"$corpus/upfile" ;;
esac
# Seeds with colliding names were overwritten; that is fine for a corpus.
echo "fuzz: $name for ${seconds}s"
"$build/fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 "$corpus" 2>"$build/$name.log" || {
  tail -n 60 "$build/$name.log" >&2
  echo "fuzz: $name found a failure" >&2
  exit 1
}
grep -E '^stat::number_of_executed_units' "$build/$name.log" | sed "s/^/fuzz: $name /"
