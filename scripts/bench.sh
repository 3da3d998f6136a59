#!/usr/bin/env bash
# The issue-5 bench: starts a throwaway slapd and redis-server (the
# project's scripts, as `make test` does), runs the bench program
# (scripts/bench: the bridge as a process of its own against raw go-ldap on
# the same servers, with both state stores) and stops the servers whatever
# happens. Arguments and BENCH_FLAGS go to the program:
#   make bench BENCH_FLAGS="-users 100000"
#   scripts/bench.sh -stores redis -scenarios serial,throughput -profile /tmp/prof
#   go run ./scripts/bench -h      (every flag; it also starts its own servers)
# The servers are thrown away whole, so the program leaves its entries and
# keys in them (-cleanup=false) instead of deleting tens of thousands.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

cleanup() {
	if [[ -n "${SCIMBRIDGE_LDAP_DIR:-}" ]]; then scripts/slapd-stop.sh "$SCIMBRIDGE_LDAP_DIR" || true; fi
	if [[ -n "${SCIMBRIDGE_REDIS_DIR:-}" ]]; then scripts/redis-stop.sh "$SCIMBRIDGE_REDIS_DIR" || true; fi
}
trap cleanup EXIT

eval "$(scripts/slapd-start.sh)"
eval "$(scripts/redis-start.sh)"

# BENCH_FLAGS is split on spaces on purpose: several flags in one variable.
# shellcheck disable=SC2086
go run ./scripts/bench -cleanup=false ${BENCH_FLAGS:-} "$@"
