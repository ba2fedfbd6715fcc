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
# shellcheck source=tests/lib/npm-install.sh
. "$ROOT/tests/lib/npm-install.sh"

die() { echo "install-node-deps: $*" >&2; exit 1; }

npm_install "$HERE" "$DEST" node_modules/kubernetes-models node_modules/yaml
