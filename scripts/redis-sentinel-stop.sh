#!/usr/bin/env bash
# Stops a Sentinel group started by redis-sentinel-start.sh and removes its
# directory: scripts/redis-sentinel-stop.sh "$SCIMBRIDGE_REDIS_SENTINEL_DIR".
# Safe to run twice; it refuses a directory without the start script's
# marker and signals only the pids written in it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=${1:-${SCIMBRIDGE_REDIS_SENTINEL_DIR:-}}
[ -n "$DIR" ] || die "usage: $0 DIR (the SCIMBRIDGE_REDIS_SENTINEL_DIR redis-sentinel-start.sh printed)"
stop_nodes redis-server "$DIR" .scimbridge-redis-sentinel
