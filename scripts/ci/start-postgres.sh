#!/usr/bin/env bash
# Starts a local PostgreSQL for Berth's store tests and prints its URL on stdout (only the URL:
# callers capture it). Idempotent: installs Debian's postgresql when missing, creates or starts
# the cluster, creates the `berth` role and the `berth` database it owns (tests work in a schema
# of their own inside it). Listens on 127.0.0.1 only. Progress goes to stderr.
set -euo pipefail

# Test files start in parallel and may all call this at once.
exec 9>"${TMPDIR:-/tmp}/berth-start-postgres.lock"
flock 9

PG_USER="${BERTH_PG_USER:-berth}"
PG_PASSWORD="${BERTH_PG_PASSWORD:-berth}"
PG_DB="${BERTH_PG_DB:-berth}"
PG_CLUSTER="${BERTH_PG_CLUSTER:-main}"

log() { echo "start-postgres: $*" >&2; }

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"
  elif [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"
  else sudo -n -u postgres -- "$@"
  fi
}

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    log "PostgreSQL is not installed and this user cannot install it (run as root, or apt-get install postgresql)"
    exit 1
  fi
  log "installing Debian's postgresql (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi

PG_VERSION="$(ls -1 /usr/lib/postgresql | sort -V | tail -n 1)"

if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$PG_VERSION $PG_CLUSTER"; then
  log "creating cluster $PG_VERSION/$PG_CLUSTER"
  pg_createcluster "$PG_VERSION" "$PG_CLUSTER" >&2
fi

PG_PORT="$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $3}')"
PG_STATUS="$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}')"

if [ "$PG_STATUS" != online ]; then
  log "starting cluster $PG_VERSION/$PG_CLUSTER on 127.0.0.1:$PG_PORT"
  # listen_addresses is set on the command line so that the cluster never listens beyond loopback,
  # whatever its postgresql.conf says.
  # The lock fd (9) must not leak into the server, or the lock stays held as long as it runs.
  pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start -- -o "-c listen_addresses=127.0.0.1" 9>&- >&2 || {
    # Another caller may have started it between our check and our start.
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || { log "could not start the cluster"; exit 1; }
  }
fi

for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
  sleep 0.2
done
pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || { log "PostgreSQL is not accepting connections on 127.0.0.1:$PG_PORT"; exit 1; }

psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@"; }

if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != 1 ]; then
  log "creating role $PG_USER"
  psql_admin -c "CREATE ROLE \"$PG_USER\" LOGIN PASSWORD '$PG_PASSWORD'" >&2
else
  psql_admin -c "ALTER ROLE \"$PG_USER\" LOGIN PASSWORD '$PG_PASSWORD'" >&2
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
  log "creating database $PG_DB"
  psql_admin -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\"" >&2
fi

echo "postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
