#!/usr/bin/env bash
# The project's private PostgreSQL cluster: data, socket and log under var/pg, its own port.
# initdb refuses root, so the cluster belongs to the `postgres` OS user; the checkout path
# must therefore be traversable by that user (we add the search bit where it is missing).
# Usage: cluster.sh start|stop|status|createdb NAME|dropdb NAME
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
: "${PGPORT:=54329}"
: "${PG_BIN:=/usr/lib/postgresql/15/bin}"
data="$root/var/pg/data"
sock="$root/var/pg/run"
log="$root/var/pg/postgres.log"
storage="$root/var/storage"
owner=postgres

as_owner() { runuser -u "$owner" -- "$@"; }

grant_traversal() {
    local dir=$1
    while [ "$dir" != / ]; do
        as_owner test -x "$dir" 2>/dev/null || chmod o+x "$dir"
        dir=$(dirname "$dir")
    done
}

running() { [ -f "$data/postmaster.pid" ] && as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; }

start() {
    mkdir -p "$root/var/pg" "$sock" "$storage"
    chown "$owner:" "$root/var/pg" "$sock" "$storage"
    grant_traversal "$root/var/pg"
    if [ ! -s "$data/PG_VERSION" ]; then
        as_owner "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    running && return 0
    # PYTHONPATH lets PL/Python import the core package straight from the checkout.
    as_owner env PYTHONPATH="$root/py" "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 60 start -o \
        "-p $PGPORT -k $sock -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
}

stop() { running && as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true; }

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$PGPORT" -U postgres -d postgres "$@"; }

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) running && echo "running on port $PGPORT (socket $sock)" || { echo stopped; exit 3; } ;;
    createdb)
        start
        psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$2'" | grep -q 1 ||
            psql_admin -c "CREATE DATABASE \"$2\"" ;;
    dropdb)
        start
        psql_admin -c "DROP DATABASE IF EXISTS \"$2\" WITH (FORCE)" ;;
    *) echo "usage: $0 start|stop|status|createdb NAME|dropdb NAME" >&2; exit 2 ;;
esac
