#!/usr/bin/env bash
# Runs the Go micro benchmarks (`go test -bench`) against real servers,
# started here like `make test` does (throwaway PostgreSQL, slapd and
# redis-server). Each benchmark measures the bridge and the raw target in
# the same run and reports the ratio (x-raw): on a shared 2-core machine
# absolute numbers are noise, ratios are not.
# BENCHTIME (default 300x) sets -benchtime; BENCH (default .) selects
# benchmarks by name. scripts/bench.sh is the issue-5 bench program.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

cleanup() {
	if [[ -n "${SCIMBRIDGE_PG_DIR:-}" ]]; then scripts/pg-stop.sh "$SCIMBRIDGE_PG_DIR" || true; fi
	if [[ -n "${SCIMBRIDGE_LDAP_DIR:-}" ]]; then scripts/slapd-stop.sh "$SCIMBRIDGE_LDAP_DIR" || true; fi
	if [[ -n "${SCIMBRIDGE_REDIS_DIR:-}" ]]; then scripts/redis-stop.sh "$SCIMBRIDGE_REDIS_DIR" || true; fi
}
trap cleanup EXIT

# BenchmarkCardsImport measures the import's peak RSS with /usr/bin/time.
. scripts/lib.sh
[ -x /usr/bin/time ] || apt_install time

eval "$(scripts/pg-start.sh)"
eval "$(scripts/slapd-start.sh)"
eval "$(scripts/redis-start.sh)"

go test -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-300x}" -benchmem ./... | grep -Ev '^(PASS|ok |\?|goos|goarch|cpu|pkg)'
