# scimbridge — see README.md. `make help` lists the targets.
SHELL := /bin/bash
export GOTOOLCHAIN := local
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# The embedded default keeps its files here (state store, Pharos database,
# the first Tenant URL and token).
export SCIMBRIDGE_DATA_DIR ?= $(CURDIR)/data

.DEFAULT_GOAL := help

##@ Run

.PHONY: run
run: ## Start the bridge on the embedded default (SQLite Pharos store + SQLite state); nothing to install
	$(GO) run -ldflags "$(LDFLAGS)" ./bridge/cmd/scimbridge serve --config configs/bridge.yaml

##@ Build

.PHONY: build
build: ## Build bin/scimbridge
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/scimbridge ./bridge/cmd/scimbridge

.PHONY: release
release: ## Static binaries for linux/amd64 and linux/arm64 in dist/, named by VERSION, with dist/SHA256SUMS
	VERSION=$(VERSION) scripts/release.sh dist

##@ Test

.PHONY: test
test: ## Run every test (starts a throwaway PostgreSQL), then each fuzz target briefly
	scripts/test.sh

.PHONY: test-short
test-short: ## Unit and SQLite tests only, no servers started (not what CI runs)
	$(GO) test -race ./...

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZ executions (default 30000x)
	scripts/fuzz.sh $(or $(FUZZ),30000x)

.PHONY: bench
bench: ## Bridge vs raw LDAP, both state stores, issue-5 targets (BENCH_FLAGS="-users 100000 -profile DIR"; go run ./scripts/bench -h)
	scripts/bench.sh

.PHONY: bench-go
bench-go: ## Go micro benchmarks, go test -bench (BENCH=regexp, BENCHTIME, default 300x)
	scripts/bench-go.sh

##@ Lint

.PHONY: lint
lint: ## gofmt, go vet, the import rules (imports_test.go) and the config/mapping check on every shipped config
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -run '^TestImportRules$$' .
	$(GO) run ./bridge/cmd/scimbridge mapping check --config configs/bridge.yaml

##@ Help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)
