#!/usr/bin/env bash
# deploy/local/browser.sh {install|status}
#
# What the browser tests need: Debian's Chromium (/usr/bin/chromium, package
# `chromium`, installed with apt-get when missing and running as root) and
# the npm packages of e2e/browser (playwright-core, pinned in its
# package-lock.json, installed with `npm ci`). status exits 0 when both are
# there.
#
#   EKYC_CHROMIUM   the browser binary (default /usr/bin/chromium)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHROMIUM="${EKYC_CHROMIUM:-/usr/bin/chromium}"
E2E="$ROOT/e2e/browser"

log() { printf 'browser.sh: %s\n' "$*" >&2; }

status() {
	[ -x "$CHROMIUM" ] || { log "no browser at $CHROMIUM"; return 1; }
	[ -d "$E2E/node_modules/playwright-core" ] || { log "e2e/browser: npm packages not installed"; return 1; }
	return 0
}

install() {
	if [ ! -x "$CHROMIUM" ]; then
		if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
			log "Chromium is missing and apt-get cannot run here (needs root on Debian): apt-get install chromium"
			return 1
		fi
		log "installing Debian's chromium (apt-get)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null ||
			{ apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; }
	fi
	command -v npm >/dev/null || { log "npm is missing"; return 1; }
	if [ ! -d "$E2E/node_modules/playwright-core" ]; then
		log "npm ci in e2e/browser"
		(cd "$E2E" && npm ci --no-audit --no-fund --loglevel=error)
	fi
	status
	log "ready: $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
}

case "${1:-}" in
install) install ;;
status) status ;;
*)
	echo "usage: $0 {install|status}" >&2
	exit 2
	;;
esac
