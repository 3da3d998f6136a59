#!/usr/bin/env bash
# Stops a Redis Cluster started by redis-cluster-start.sh and removes its
# directory: scripts/redis-cluster-stop.sh "$SCIMBRIDGE_REDIS_CLUSTER_DIR".
# Safe to run twice; it refuses a directory without the start script's
# marker and signals only the pids written in it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=${1:-${SCIMBRIDGE_REDIS_CLUSTER_DIR:-}}
[ -n "$DIR" ] || die "usage: $0 DIR (the SCIMBRIDGE_REDIS_CLUSTER_DIR redis-cluster-start.sh printed)"
stop_nodes redis-server "$DIR" .scimbridge-redis-cluster
