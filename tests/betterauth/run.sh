#!/usr/bin/env bash
# The Better Auth compatibility test (compat.mjs), as the suite runs it:
#   tests/betterauth/run.sh DBREG TOMLS_DIR
# Installs the pinned packages of package-lock.json into node_modules/ here
# with tests/npm-ci.sh (only when the lock file or Node's ABI changed), then
# runs compat.mjs, which prints TAP. A missing node or npm, a Node too old for
# the pinned packages, or a failed install is a failure, never a skip.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dbreg=${1:?usage: run.sh DBREG TOMLS_DIR}
tomls=${2:?usage: run.sh DBREG TOMLS_DIR}

fail() {
  echo "1..1"
  echo "not ok 1 - Better Auth compatibility: $1"
  shift
  for line in "$@"; do echo "# $line"; done
  exit 1
}

# better-sqlite3 12 and kysely (under Better Auth 1.7) need Node 20 or later.
if ! log=$(bash "$here/../npm-ci.sh" "$here" 20 "better-sqlite3 12 and Better Auth 1.7 need Node 20 or later"); then
  mapfile -t lines <<<"$log"
  fail "${lines[@]}"
fi
[ -z "$log" ] || echo "$log"

exec node "$here/compat.mjs" "$dbreg" "$tomls"
