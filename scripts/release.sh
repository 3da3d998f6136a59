#!/usr/bin/env bash
# Builds the release binaries: one static scimbridge per platform
# (CGO_ENABLED=0, -trimpath, stripped, the version linked in as main.version)
# and a SHA256SUMS file over them, in sha256sum's format:
#
#   scripts/release.sh [DIR]          # default DIR: dist
#   cd dist && sha256sum -c SHA256SUMS
#
# VERSION defaults to `git describe --tags --always --dirty`; PLATFORMS to
# "linux/amd64 linux/arm64". Each binary is named
# scimbridge-$VERSION-$GOOS-$GOARCH. configs/container/Containerfile builds
# with the same flags (a test checks that they agree).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
export GOTOOLCHAIN=local

OUT=${1:-dist}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64}
case "$VERSION" in
*[!A-Za-z0-9._+-]*) die "VERSION $VERSION: only letters, digits and . _ + - (it becomes a file name)" ;;
esac

mkdir -p "$OUT"
names=()
for p in $PLATFORMS; do
	goos=${p%/*} goarch=${p#*/}
	name="scimbridge-$VERSION-$goos-$goarch"
	log "building $name"
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath \
		-ldflags "-s -w -X main.version=$VERSION" -o "$OUT/$name" ./bridge/cmd/scimbridge
	names+=("$name")
done
(cd "$OUT" && sha256sum "${names[@]}" >SHA256SUMS)
log "wrote $OUT/SHA256SUMS"
cat "$OUT/SHA256SUMS" >&2
