#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Installs the npm packages validate.mjs uses (tests/deploy/package.json,
# exact versions from package-lock.json) into build/node/, with `npm ci`
# from the npm registry. Quick and quiet when they are already there: a
# stamp holds the hash of the two files.
#
#   tests/deploy/install-node-deps.sh      # prints the folder
#   NODE_DEPS_DIR=... to install elsewhere
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DEST=${NODE_DEPS_DIR:-$ROOT/build/node}

die() { echo "install-node-deps: $*" >&2; exit 1; }

command -v node >/dev/null ||
	die "node is not installed: apt-get install nodejs (scripts/install-deps.sh)"
command -v npm >/dev/null ||
	die "npm is not installed: apt-get install npm (scripts/install-deps.sh)"

want=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -c1-64)
if [ -d "$DEST/node_modules/kubernetes-models" ] && [ -d "$DEST/node_modules/yaml" ] &&
	[ "$(cat "$DEST/.stamp" 2>/dev/null)" = "$want" ]; then
	echo "$DEST"
	exit 0
fi

mkdir -p "$DEST"
rm -f "$DEST/.stamp"
cp "$HERE/package.json" "$HERE/package-lock.json" "$DEST/"
# --ignore-scripts: nothing of these packages runs at install time.
if ! (cd "$DEST" && npm ci --ignore-scripts --no-audit --no-fund \
	--loglevel=error >"$DEST/npm.log" 2>&1); then
	cat "$DEST/npm.log" >&2
	die "npm ci failed in $DEST"
fi
echo "$want" >"$DEST/.stamp"
echo "$DEST"
