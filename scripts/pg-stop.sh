#!/usr/bin/env bash
# Stops a PostgreSQL started by pg-start.sh and removes its directory:
#   scripts/pg-stop.sh "$SCIMBRIDGE_PG_DIR"
# Safe to run twice, or on a directory already gone. It refuses any directory
# pg-start.sh did not create (no marker file), so a system cluster is never
# touched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=${1:-${SCIMBRIDGE_PG_DIR:-}}
[ -n "$DIR" ] || die "usage: $0 DIR (the SCIMBRIDGE_PG_DIR pg-start.sh printed)"
if [ ! -e "$DIR" ]; then
	log "$DIR is already gone"
	exit 0
fi
[ -f "$DIR/.scimbridge-pg" ] || die "$DIR was not created by pg-start.sh (no .scimbridge-pg marker): not touching it"

if [ -f "$DIR/data/postmaster.pid" ]; then
	BIN=/usr/lib/postgresql/$(cat "$DIR/data/PG_VERSION")/bin
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >&2 ||
			log "pg_ctl stop failed; removing the directory anyway"
	else
		"$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >&2 || log "pg_ctl stop failed; removing the directory anyway"
	fi
fi
rm -rf "$DIR"
log "stopped and removed $DIR"
