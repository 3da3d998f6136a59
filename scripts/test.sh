#!/usr/bin/env bash
# Runs every test against real servers: starts a throwaway PostgreSQL (the
# script installs it with apt-get when missing), runs `go test -race ./...`
# with CI=true semantics for the server-backed tests (they fail, not skip,
# if their server is missing), runs each fuzz target briefly, and stops
# the servers whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

cleanup() {
	if [[ -n "${SCIMBRIDGE_PG_DIR:-}" ]]; then scripts/pg-stop.sh "$SCIMBRIDGE_PG_DIR" || true; fi
}
trap cleanup EXIT

eval "$(scripts/pg-start.sh)"
export SCIMBRIDGE_PG_DSN SCIMBRIDGE_PG_DIR

go vet ./...
go test -race -count=1 -timeout 20m ./...
scripts/fuzz.sh "${FUZZTIME:-10s}"
