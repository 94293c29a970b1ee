#!/usr/bin/env bash
# What a reader of the pages `dbreg docs` wrote sees, as JSON (check.mjs):
#   tests/docsrender/run.sh FILE.md...
# Installs the pinned parsers of package-lock.json here with tests/npm-ci.sh
# (only when the lock file or Node's ABI changed). A missing node or npm or a
# failed install exits 1 with the reason on stderr: a failure, never a skip.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if ! log=$(bash "$here/../npm-ci.sh" "$here" 20 "jsdom 29 (for Mermaid outside a browser) needs Node 20.19 or later"); then
  printf '%s\n' "$log" >&2
  exit 1
fi
[ -z "$log" ] || echo "$log" >&2
exec node "$here/check.mjs" "$@"
