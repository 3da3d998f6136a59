#!/usr/bin/env bash
# Installs the command-line tools the packaging and observability tests use,
# from the distribution's packages, when they are missing (never starting a
# service): systemd-analyze (package systemd: `systemd-analyze verify` of
# configs/systemd/scimbridge.service) and promtool (package prometheus:
# `promtool check rules` of configs/prometheus/) and sqlite3 (package sqlite3:
# the state backup of docs/operations.md §2.1). It prints nothing on
# stdout; run it before the tests (scripts/test.sh does).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
missing=()
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v promtool >/dev/null || missing+=(prometheus)
command -v sqlite3 >/dev/null || missing+=(sqlite3)
if [ ${#missing[@]} -gt 0 ]; then
	apt_install "${missing[@]}"
fi
command -v systemd-analyze >/dev/null || die "systemd-analyze not found after installing systemd"
command -v promtool >/dev/null || die "promtool not found after installing prometheus"
command -v sqlite3 >/dev/null || die "sqlite3 not found after installing sqlite3"
log "systemd-analyze $(systemd-analyze --version | head -n1 | cut -d' ' -f2), $(promtool --version 2>&1 | head -n1)"
