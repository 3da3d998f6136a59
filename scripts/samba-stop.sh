#!/usr/bin/env bash
# Stops a Samba AD DC started by samba-start.sh and removes its directory:
#   scripts/samba-stop.sh "$SCIMBRIDGE_AD_DIR"
# Safe to run twice, or on a directory already gone. It refuses any directory
# samba-start.sh did not create (no marker file), so a system instance is
# never touched, and it only signals the pid written in that directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR=${1:-${SCIMBRIDGE_AD_DIR:-}}
[ -n "$DIR" ] || die "usage: $0 DIR (the SCIMBRIDGE_AD_DIR samba-start.sh printed)"
stop_by_pidfile samba "$DIR" .scimbridge-samba run/samba.pid
