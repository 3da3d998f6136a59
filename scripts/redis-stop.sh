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
stop_by_pidfile redis-server "$DIR" .scimbridge-redis redis.pid
