#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for tests and benchmarks: installs the
# distribution's package if no initdb is found (without starting its system
# service), initialises a cluster in a fresh temporary directory, starts it on
# a free loopback port with trust authentication, and creates the database
# `pharos`. It never touches a system cluster.
#
# stdout is exactly two lines, for `eval "$(scripts/pg-start.sh)"`:
#   export SCIMBRIDGE_PG_DSN=postgres://postgres@127.0.0.1:PORT/pharos?sslmode=disable
#   export SCIMBRIDGE_PG_DIR=DIR
# Stop it with scripts/pg-stop.sh "$SCIMBRIDGE_PG_DIR".
set -euo pipefail
. "$(dirname "$0")/lib.sh"

find_bindir() {
	local initdb
	initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$initdb" ] && dirname "$initdb"
}

BIN=$(find_bindir || true)
if [ -z "$BIN" ]; then
	apt_install postgresql
	BIN=$(find_bindir || true)
	[ -n "$BIN" ] || die "postgresql installed, but no /usr/lib/postgresql/*/bin/initdb"
fi

# initdb and postgres refuse to run as root: run them as postgres then.
if [ "$(id -u)" = 0 ]; then
	id postgres >/dev/null 2>&1 || die "no postgres user (the postgresql package creates it)"
	as_pg() { runuser -u postgres -- "$@"; }
	owner=postgres
else
	as_pg() { "$@"; }
	owner=$(id -un)
fi

# Always under /tmp, not $TMPDIR: the postgres user must be able to reach it,
# and the socket path (DIR/.s.PGSQL.PORT) must stay under ~100 bytes.
DIR=$(mktemp -d /tmp/scimbridge-pg.XXXXXX)
started="" keep=""
# On any failure, stop what was started and remove the directory.
on_exit() {
	[ -z "$keep" ] || return 0
	if [ -n "$started" ]; then
		as_pg "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$DIR"
}
trap on_exit EXIT
# The marker tells pg-stop.sh this directory is ours to remove.
echo "scimbridge throwaway PostgreSQL" >"$DIR/.scimbridge-pg"
chown "$owner" "$DIR"
chmod 700 "$DIR"

locale=C.UTF-8
locale -a 2>/dev/null | grep -qix 'c.utf-\?8' || locale=C
as_pg "$BIN/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 --locale="$locale" --no-sync >"$DIR/initdb.log" 2>&1 ||
	{ cat "$DIR/initdb.log" >&2; die "initdb failed"; }

for attempt in 1 2 3 4 5; do
	PORT=$(free_port)
	if as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 \
		-o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" start >/dev/null 2>&1; then
		started=1
		break
	fi
	log "start on port $PORT failed (attempt $attempt), trying another port"
	tail -n 5 "$DIR/log" >&2 2>/dev/null || true
done
[ -n "$started" ] || die "PostgreSQL did not start; log: $DIR/log"

as_pg "$BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
	-c 'CREATE DATABASE pharos' >&2 || die "create database failed"
keep=1

log "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT in $DIR"
echo "export SCIMBRIDGE_PG_DSN='postgres://postgres@127.0.0.1:$PORT/pharos?sslmode=disable'"
echo "export SCIMBRIDGE_PG_DIR='$DIR'"
