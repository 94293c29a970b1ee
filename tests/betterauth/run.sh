#!/usr/bin/env bash
# The Better Auth compatibility test (compat.mjs), as the suite runs it:
#   tests/betterauth/run.sh DBREG TOMLS_DIR
# Installs the pinned packages of package-lock.json into node_modules/ here
# with `npm ci`, only when the lock file or Node's ABI changed since the last
# install (a stamp in node_modules/ says which), one install at a time; then
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

command -v node >/dev/null || fail "node is missing" "bash .ci/install-deps installs it (Debian nodejs)"
command -v npm >/dev/null || fail "npm is missing" "bash .ci/install-deps installs it (Debian npm)"
# better-sqlite3 12 and kysely (under Better Auth 1.7) need Node 20 or later.
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || fail "node $(node --version) is too old" \
  "better-sqlite3 12 and Better Auth 1.7 need Node 20 or later"

stamp_want=$(
  { sha256sum "$here/package-lock.json"; node -p 'process.platform + "-" + process.arch + " abi " + process.versions.modules'; } |
    sha256sum | cut -d' ' -f1)
stamp=$here/node_modules/.dbreg-installed
installed() { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_want" ]; }

if ! installed; then
  exec 9>"$here/.npm-install.lock"
  # Another run may be installing: wait for it, then look again.
  flock -w 420 9 || fail "waited 420 s for another npm install in $here"
  if ! installed; then
    start=$(date +%s)
    log=$(mktemp)
    if ! (cd "$here" && timeout 420 npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
      mapfile -t lines < <(tail -n 20 "$log")
      rm -f "$log"
      fail "npm ci failed in $here" "${lines[@]}"
    fi
    rm -f "$log"
    echo "$stamp_want" >"$stamp"
    echo "# npm ci: installed package-lock.json in $(($(date +%s) - start)) s"
  fi
  exec 9>&-
fi

exec node "$here/compat.mjs" "$dbreg" "$tomls"
