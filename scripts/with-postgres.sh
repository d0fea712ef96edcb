#!/usr/bin/env bash
# Runs a command against a throw-away PostgreSQL cluster: `scripts/with-postgres.sh CMD ARGS...`.
# The cluster is initdb'd into a fresh temporary directory owned by the unprivileged `postgres`
# user (the server refuses to run as root), listens only on a unix socket in that directory (no
# TCP), trusts local connections, and is stopped and removed when the command ends. The command
# sees ODU_TEST_DATABASE_URL (a postgres:// URL naming the socket directory) and its exit status
# is this script's.
set -euo pipefail

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$BIN/initdb" ] || { echo "with-postgres: PostgreSQL is not installed (scripts/bootstrap.sh installs it)" >&2; exit 1; }
id postgres >/dev/null 2>&1 || { echo "with-postgres: no 'postgres' user" >&2; exit 1; }

# Runs a command as the postgres user (when root) or as ourselves (when not root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

DIR=$(mktemp -d /tmp/odu-pg.XXXXXX)
chmod 755 "$DIR"
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"
cleanup() {
  as_pg "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >"$DIR/initdb.log" 2>&1 \
  || { cat "$DIR/initdb.log" >&2; exit 1; }
as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
  -o "-c listen_addresses='' -k $DIR -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$DIR/server.log" >&2; exit 1; }

export ODU_TEST_DATABASE_URL="postgres://postgres@localhost/postgres?host=$DIR"
"$@"
