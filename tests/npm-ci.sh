#!/usr/bin/env bash
# The one way the suite installs npm packages (tests/betterauth,
# tests/docsrender):
#   tests/npm-ci.sh DIR MIN_NODE_MAJOR WHY
# Installs the pinned packages of DIR/package-lock.json into DIR/node_modules
# with `npm ci`, only when the lock file or Node's ABI changed since the last
# install (a stamp in node_modules/ says which), one install at a time. A
# missing node or npm, a Node older than MIN_NODE_MAJOR (WHY says what needs
# it) or a failed install exits 1, with the reason on the first line of
# stdout and details on the next ones: the caller reports a failure, never a
# skip. After an install it prints "# npm ci: installed ... in N s".
set -uo pipefail

dir=$(cd "${1:?usage: npm-ci.sh DIR MIN_NODE_MAJOR WHY}" && pwd)
min=${2:?usage: npm-ci.sh DIR MIN_NODE_MAJOR WHY}
why=${3:-}

fail() {
  printf '%s\n' "$@"
  exit 1
}

command -v node >/dev/null || fail "node is missing" "bash .ci/install-deps installs it (Debian nodejs)"
command -v npm >/dev/null || fail "npm is missing" "bash .ci/install-deps installs it (Debian npm)"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge "$min" ] || fail "node $(node --version) is too old" "$why"

stamp_want=$(
  { sha256sum "$dir/package-lock.json"; node -p 'process.platform + "-" + process.arch + " abi " + process.versions.modules'; } |
    sha256sum | cut -d' ' -f1)
stamp=$dir/node_modules/.dbreg-installed
installed() { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_want" ]; }

installed && exit 0
exec 9>"$dir/.npm-install.lock"
# Another run may be installing: wait for it, then look again.
flock -w 420 9 || fail "waited 420 s for another npm install in $dir"
installed && exit 0
start=$(date +%s)
log=$(mktemp)
if ! (cd "$dir" && timeout 420 npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
  mapfile -t lines < <(tail -n 20 "$log")
  rm -f "$log"
  fail "npm ci failed in $dir" "${lines[@]}"
fi
rm -f "$log"
echo "$stamp_want" >"$stamp"
echo "# npm ci: installed $dir/package-lock.json in $(($(date +%s) - start)) s"
