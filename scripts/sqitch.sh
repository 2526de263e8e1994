#!/usr/bin/env bash
# Run sqitch against a database of the private cluster, with the deploy variables that point
# the embedded `file` storage backend at var/storage and its public URL at the loopback
# file server (`make serve-storage`). Usage: sqitch.sh DB deploy|revert|verify|status [args]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
db=$1 command=$2
shift 2
export PGHOST="${PGHOST:-$root/var/pg/run}" PGPORT="${PGPORT:-54329}" PGUSER="${PGUSER:-postgres}" PGDATABASE="$db"
: "${STORAGE_PORT:=54380}"

cd "$root"
case "$command" in
    deploy)
        exec sqitch deploy --set "storage_root=$root/var/storage" \
            --set "storage_public_base_url=http://127.0.0.1:$STORAGE_PORT" "$@" ;;
    revert) exec sqitch revert -y "$@" ;;
    *) exec sqitch "$command" "$@" ;;
esac
