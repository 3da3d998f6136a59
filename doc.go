// Package scimbridge holds no code. It is the module's root, and its tests
// are about the module as a whole: imports_test.go enforces the import
// rules (which package may import which project package and which driver),
// so that `go test ./...` and `make lint` fail on an import that crosses a
// boundary; packaging_test.go checks what an operator installs (the
// container file, the systemd unit, the release binaries). The bridge
// itself is bridge/cmd/scimbridge; see README.md.
package scimbridge
