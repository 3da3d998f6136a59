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
stop_by_pidfile slapd "$DIR" .scimbridge-slapd slapd.pid
