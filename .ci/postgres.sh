#!/usr/bin/env bash
# Starts a local PostgreSQL for the store tests, idempotently, and prints the DSN export line.
# Usage: eval "$(bash .ci/postgres.sh)"   — everything but the export line goes to stderr.
set -euo pipefail

DB=${WEIR_PG_DB:-weir_test}
USER_NAME=${WEIR_PG_USER:-weir}
PASS=${WEIR_PG_PASSWORD:-weir}
PORT=${WEIR_PG_PORT:-5432}

log() { echo "postgres.sh: $*" >&2; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
	log "installing postgresql"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2
	apt-get install -y postgresql >&2
fi

# The Debian package creates a cluster; make one if it does not exist (e.g. after a manual drop).
if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
	VER=$(ls /usr/lib/postgresql | sort -n | tail -1)
	log "creating cluster $VER/main"
	pg_createcluster "$VER" main --port "$PORT" >&2
fi
read -r VER CLUSTER CPORT STATUS _ < <(pg_lsclusters -h | head -1)
PORT=$CPORT
if [ "$STATUS" != "online" ]; then
	log "starting cluster $VER/$CLUSTER on port $PORT"
	pg_ctlcluster "$VER" "$CLUSTER" start >&2
fi

# Wait until it accepts connections (bounded: 30 s).
for _ in $(seq 1 60); do
	if su postgres -c "psql -p $PORT -tAc 'select 1'" >/dev/null 2>&1; then break; fi
	sleep 0.5
done

psql_su() { su postgres -c "psql -p $PORT -v ON_ERROR_STOP=1 -tAc \"$1\""; }

if [ "$(psql_su "select 1 from pg_roles where rolname='$USER_NAME'")" != "1" ]; then
	log "creating role $USER_NAME"
	psql_su "create role $USER_NAME login password '$PASS'" >&2
fi
if [ "$(psql_su "select 1 from pg_database where datname='$DB'")" != "1" ]; then
	log "creating database $DB"
	psql_su "create database $DB owner $USER_NAME" >&2
fi

echo "export WEIR_TEST_POSTGRES_DSN='postgres://$USER_NAME:$PASS@127.0.0.1:$PORT/$DB?sslmode=disable'"
