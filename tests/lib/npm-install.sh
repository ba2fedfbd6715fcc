# SPDX-License-Identifier: MIT
# shellcheck shell=sh
#
# npm_install SRC DEST PATH...: installs SRC's package.json at the exact
# versions of its package-lock.json into DEST with `npm ci`, unless every
# PATH (relative to DEST) is there and DEST/.stamp holds the hash of the two
# files (then it is quick and offline). Prints DEST. --ignore-scripts:
# nothing of the packages runs at install time. Source it (POSIX sh); the
# caller defines die MESSAGE.
npm_install() {
	_npm_src=$1 _npm_dest=$2
	shift 2

	command -v node >/dev/null ||
		die "node is not installed: apt-get install nodejs (scripts/install-deps.sh)"
	command -v npm >/dev/null ||
		die "npm is not installed: apt-get install npm (scripts/install-deps.sh)"

	_npm_want=$(cat "$_npm_src/package.json" "$_npm_src/package-lock.json" | sha256sum | cut -c1-64)
	_npm_have=1
	for _npm_p in "$@"; do
		[ -e "$_npm_dest/$_npm_p" ] || _npm_have=""
	done
	if [ -n "$_npm_have" ] && [ "$(cat "$_npm_dest/.stamp" 2>/dev/null)" = "$_npm_want" ]; then
		echo "$_npm_dest"
		return 0
	fi

	mkdir -p "$_npm_dest"
	rm -f "$_npm_dest/.stamp"
	cp "$_npm_src/package.json" "$_npm_src/package-lock.json" "$_npm_dest/"
	if ! (cd "$_npm_dest" && npm ci --ignore-scripts --no-audit --no-fund \
		--loglevel=error >"$_npm_dest/npm.log" 2>&1); then
		cat "$_npm_dest/npm.log" >&2
		die "npm ci failed in $_npm_dest"
	fi
	echo "$_npm_want" >"$_npm_dest/.stamp"
	echo "$_npm_dest"
}
