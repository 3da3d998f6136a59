#!/usr/bin/env bash
# Runs every fuzz target of the module for a fixed number of executions each
# (default 30000x). `go test -fuzz` takes one target in one package at a time.
#
# The budget is a count, not a duration: with a duration, Go 1.26's fuzz
# coordinator can report "context deadline exceeded" at the deadline when a
# starved worker has not acknowledged its last input (golang/go#75804, fixed
# in Go 1.27). A count has no deadline to race; on a busy machine it is only
# slower. A real finding still fails and writes its input under testdata/fuzz.
# Minimising a new interesting input is bounded the same way (the default is
# 60 s of wall clock, which stalls a 2-core machine for most of a run).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
budget="${1:-30000x}"
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "fuzz $pkg $target ($budget)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$budget" -fuzzminimizetime=200x -timeout=10m "$pkg"
	done
done
