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
# shellcheck source=tests/lib/npm-install.sh
. "$ROOT/tests/lib/npm-install.sh"

die() { echo "browser/install.sh: $*" >&2; exit 1; }

# playwright-core has no install script (npm ci --ignore-scripts); this
# also rules out any browser download.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD
npm_install "$HERE" "$DEST" node_modules/playwright-core/package.json
