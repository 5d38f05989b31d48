#!/bin/sh
# The official image's contract, in short: as root, own the data folder and go on as postgres; a first start
# creates the cluster (UTF-8, as the official image) with POSTGRES_USER / POSTGRES_PASSWORD (scram) and POSTGRES_DB; then `postgres` listens on
# every address.
set -eu
if [ "${1:-}" = "postgres" ]; then
    if [ "$(id -u)" = "0" ]; then
        mkdir -p "$PGDATA" /var/run/postgresql
        chown -R postgres:postgres "$PGDATA" /var/run/postgresql
        chmod 0700 "$PGDATA"
        exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
    fi
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
        user="${POSTGRES_USER:-postgres}"
        pwfile="$(mktemp)"
        printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
        initdb --encoding=UTF8 --locale=C.UTF-8 --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" >/dev/null
        rm -f "$pwfile"
        echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
        db="${POSTGRES_DB:-$user}"
        if [ "$db" != "postgres" ]; then
            echo "CREATE DATABASE \"$db\" OWNER \"$user\";" | postgres --single -D "$PGDATA" postgres >/dev/null
        fi
    fi
    shift
    exec postgres -c listen_addresses='*' "$@"
fi
exec "$@"
