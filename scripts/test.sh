#!/usr/bin/env bash
# Runs every test against real servers: starts a throwaway PostgreSQL, slapd
# and redis-server (each script installs its server with apt-get when it is
# missing, never touching a system instance), installs chromium for the
# console's browser tests when it is missing, runs `go vet` and
# `go test -race ./...` with the servers' addresses in the environment,
# runs each fuzz target briefly, and stops the servers whatever happens.
# Tests that need a server fail (never skip) under CI=true when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

cleanup() {
	if [[ -n "${SCIMBRIDGE_PG_DIR:-}" ]]; then scripts/pg-stop.sh "$SCIMBRIDGE_PG_DIR" || true; fi
	if [[ -n "${SCIMBRIDGE_LDAP_DIR:-}" ]]; then scripts/slapd-stop.sh "$SCIMBRIDGE_LDAP_DIR" || true; fi
	if [[ -n "${SCIMBRIDGE_REDIS_DIR:-}" ]]; then scripts/redis-stop.sh "$SCIMBRIDGE_REDIS_DIR" || true; fi
	if [[ -n "${SCIMBRIDGE_389DS_DIR:-}" ]]; then scripts/389ds-stop.sh "$SCIMBRIDGE_389DS_DIR" || true; fi
	if [[ -n "${SCIMBRIDGE_AD_DIR:-}" ]]; then scripts/samba-stop.sh "$SCIMBRIDGE_AD_DIR" || true; fi
}
trap cleanup EXIT

eval "$(scripts/pg-start.sh)"
eval "$(scripts/slapd-start.sh)"
eval "$(scripts/redis-start.sh)"
eval "$(scripts/389ds-start.sh)"
eval "$(scripts/samba-start.sh)"
scripts/tools-install.sh
# The console's browser tests drive a headless Chromium.
eval "$(scripts/chromium-install.sh)"

go vet ./...
go test -race -count=1 -timeout 30m ./...
scripts/fuzz.sh "${FUZZ:-30000x}"
