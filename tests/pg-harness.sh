#!/usr/bin/env bash
# A throwaway PostgreSQL for the test suite.
#   tests/pg-harness.sh start DIR   initdb into DIR, start on 127.0.0.1 at a free port
#                                   and on a socket in DIR; prints the libpq URL
#   tests/pg-harness.sh stop DIR    stop the server and remove DIR
# PostgreSQL refuses to run as root, so as root the server runs as the
# unprivileged user "postgres" (created by Debian's postgresql package).
# TCP connections need a password (scram-sha-256), so tests exercise the
# path where a password sits in the URL; the socket trusts local users.
# PG_HARNESS_OPTS: more server options ("-c name=value ..."), appended.
set -euo pipefail

cmd=${1:?usage: pg-harness.sh start|stop DIR}
dir=${2:?usage: pg-harness.sh start|stop DIR}

bindir=""
for cand in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
  if [ -n "$cand" ] && [ -x "$cand/initdb" ] && [ -x "$cand/pg_ctl" ]; then bindir=$cand; fi
done
if [ -z "$bindir" ]; then
  echo "pg-harness: no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql-15" >&2
  exit 1
fi

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
start)
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$dir"
    chmod 700 "$dir"
  fi
  password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s\n' "$password" > "$dir/pwfile"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir/pwfile"; fi
  as_pg "$bindir/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"
  # A free port: bind to port 0 and read back what the kernel chose.
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_pg "$bindir/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/server.log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200 ${PG_HARNESS_OPTS:-}" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  echo "postgresql://postgres:$password@127.0.0.1:$port/postgres"
  ;;
stop)
  if [ -d "$dir/data" ]; then
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: pg-harness.sh start|stop DIR" >&2
  exit 2
  ;;
esac
