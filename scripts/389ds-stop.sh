#!/usr/bin/env bash
# Stops a 389 DS started by 389ds-start.sh and removes its directory:
#   scripts/389ds-stop.sh "$SCIMBRIDGE_389DS_DIR"
# Safe to run twice, or on a directory already gone. It refuses any directory
# 389ds-start.sh did not create (no marker file), so a system instance is
# never touched, and it only signals the pid written in that directory. It
# also removes the instance's semaphore if a killed server left it behind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=${1:-${SCIMBRIDGE_389DS_DIR:-}}
[ -n "$DIR" ] || die "usage: $0 DIR (the SCIMBRIDGE_389DS_DIR 389ds-start.sh printed)"
pidfile=""
inst=""
if [ -f "$DIR/.scimbridge-389ds" ]; then
	for p in "$DIR"/run/dirsrv/slapd-scim*.pid; do
		[ -f "$p" ] || continue
		pidfile=${p#"$DIR"/}
		inst=$(basename "$p" .pid)
		inst=${inst#slapd-}
	done
fi
stop_by_pidfile ns-slapd "$DIR" .scimbridge-389ds "${pidfile:-run/dirsrv/none.pid}"
if [ -n "$inst" ]; then rm -f "/dev/shm/sem.slapd-$inst.stats"; fi
