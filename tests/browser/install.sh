#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Installs playwright-core (tests/browser/package.json, the exact version of
# package-lock.json) into build/node-browser/ with `npm ci`, for
# agent_page.mjs. No browser is downloaded: the tests drive Debian's
# Chromium (/usr/bin/chromium, scripts/install-deps.sh). Quick and offline
# when it is already there: a stamp holds the hash of the two files.
#
#   tests/browser/install.sh      # prints the folder (its last line)
#   BROWSER_DEPS_DIR=... to install elsewhere
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DEST=${BROWSER_DEPS_DIR:-$ROOT/build/node-browser}

die() { echo "browser/install.sh: $*" >&2; exit 1; }

command -v node >/dev/null ||
	die "node is not installed: apt-get install nodejs (scripts/install-deps.sh)"
command -v npm >/dev/null ||
	die "npm is not installed: apt-get install nodejs (scripts/install-deps.sh)"

want=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -c1-64)
if [ -f "$DEST/node_modules/playwright-core/package.json" ] &&
	[ "$(cat "$DEST/.stamp" 2>/dev/null)" = "$want" ]; then
	echo "$DEST"
	exit 0
fi

mkdir -p "$DEST"
rm -f "$DEST/.stamp"
cp "$HERE/package.json" "$HERE/package-lock.json" "$DEST/"
# --ignore-scripts: nothing runs at install time (playwright-core has no
# install script; this also rules out any browser download).
if ! (cd "$DEST" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts \
	--no-audit --no-fund --loglevel=error >"$DEST/npm.log" 2>&1); then
	cat "$DEST/npm.log" >&2
	die "npm ci failed in $DEST"
fi
echo "$want" >"$DEST/.stamp"
echo "$DEST"
