#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser tests (chromedp drives
# it headless) when it is missing, and prints where it is:
#   export SCIMBRIDGE_CHROMIUM=/usr/bin/chromium
# for `eval "$(scripts/chromium-install.sh)"`. Nothing is started: each test
# launches its own headless browser with a fresh profile directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

find_chromium() { command -v chromium || command -v chromium-browser || true; }
bin=$(find_chromium)
if [ -z "$bin" ]; then
	# fonts-liberation: pages need a font with Latin glyphs to render
	# readable screenshots.
	apt_install chromium fonts-liberation
	bin=$(find_chromium)
	[ -n "$bin" ] || die "chromium installed, but not found on PATH"
fi
echo "export SCIMBRIDGE_CHROMIUM=$bin"
