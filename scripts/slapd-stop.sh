#!/usr/bin/env bash
# Stops a slapd started by slapd-start.sh and removes its directory:
#   scripts/slapd-stop.sh "$SCIMBRIDGE_LDAP_DIR"
# Safe to run twice, or on a directory already gone. It refuses any directory
# slapd-start.sh did not create (no marker file), so a system instance is
# never touched, and it only signals the pid written in that directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=${1:-${SCIMBRIDGE_LDAP_DIR:-}}
[ -n "$DIR" ] || die "usage: $0 DIR (the SCIMBRIDGE_LDAP_DIR slapd-start.sh printed)"
if [ ! -e "$DIR" ]; then
	log "$DIR is already gone"
	exit 0
fi
[ -f "$DIR/.scimbridge-slapd" ] || die "$DIR was not created by slapd-start.sh (no .scimbridge-slapd marker): not touching it"

if [ -f "$DIR/slapd.pid" ]; then
	pid=$(cat "$DIR/slapd.pid")
	# A fault test may have left it stopped (SIGSTOP): wake it so that it
	# can act on SIGTERM.
	kill -CONT "$pid" 2>/dev/null || true
	if kill -TERM "$pid" 2>/dev/null; then
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "slapd $pid did not stop in 10 s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
fi
rm -rf "$DIR"
log "stopped and removed $DIR"
