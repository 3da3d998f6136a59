#!/usr/bin/env bash
# Stops a redis-server started by redis-start.sh and removes its directory:
#   scripts/redis-stop.sh "$SCIMBRIDGE_REDIS_DIR"
# Safe to run twice, or on a directory already gone. It refuses any directory
# redis-start.sh did not create (no marker file), so a system instance is
# never touched, and it only signals the pid written in that directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=${1:-${SCIMBRIDGE_REDIS_DIR:-}}
[ -n "$DIR" ] || die "usage: $0 DIR (the SCIMBRIDGE_REDIS_DIR redis-start.sh printed)"
if [ ! -e "$DIR" ]; then
	log "$DIR is already gone"
	exit 0
fi
[ -f "$DIR/.scimbridge-redis" ] || die "$DIR was not created by redis-start.sh (no .scimbridge-redis marker): not touching it"

if [ -f "$DIR/redis.pid" ]; then
	pid=$(cat "$DIR/redis.pid")
	# A fault test may have left it stopped (SIGSTOP): wake it so that it
	# can act on SIGTERM.
	kill -CONT "$pid" 2>/dev/null || true
	if kill -TERM "$pid" 2>/dev/null; then
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "redis-server $pid did not stop in 10 s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
fi
rm -rf "$DIR"
log "stopped and removed $DIR"
