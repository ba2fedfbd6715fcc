#!/bin/sh
# SPDX-License-Identifier: MIT
# The older CPythons whose frames tests/e2e/test_lang.py checks (3.8, 3.9,
# 3.10: no Debian 12 package has them), built with pyenv as shared
# libraries (--enable-shared, CPython's default -g -O3) under
# $PYENV_ROOT/versions (default /root/.pyenv). Quiet and quick when they
# are there; building them needs the network (github.com for pyenv,
# python.org for the sources) and a few minutes each.
#   scripts/install-pythons.sh [VERSION...]   default: 3.8.18 3.9.18 3.10.13
set -eu

export PYENV_ROOT="${PYENV_ROOT:-/root/.pyenv}"
VERSIONS=${*:-3.8.18 3.9.18 3.10.13}
# What CPython's build needs for the modules the tests use (hashlib:
# libssl; threading, time: none) and the usual ones.
BUILD_PKGS="git make gcc libssl-dev zlib1g-dev libbz2-dev libreadline-dev
libsqlite3-dev libffi-dev liblzma-dev libncurses-dev uuid-dev xz-utils curl"

die() { echo "install-pythons: $*" >&2; exit 1; }

# The interpreter of VERSION 3.N.P: $PYENV_ROOT/versions/3.N.P/bin/python3.N
exe() { echo "$PYENV_ROOT/versions/$1/bin/python${1%.*}"; }

missing=""
for v in $VERSIONS; do
	[ -x "$(exe "$v")" ] || missing="$missing $v"
done
[ -z "$missing" ] && exit 0

[ "$(id -u)" = 0 ] || die "missing:$missing (run as root to build them)"
echo "install-pythons: building$missing with pyenv (minutes each)"
need=""
for p in $BUILD_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		need="$need $p"
done
if [ -n "$need" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
if [ ! -x "$PYENV_ROOT/bin/pyenv" ]; then
	git clone -q --depth 1 https://github.com/pyenv/pyenv "$PYENV_ROOT" ||
		die "could not clone pyenv into $PYENV_ROOT (network?)"
fi
for v in $missing; do
	PYTHON_CONFIGURE_OPTS=--enable-shared \
		"$PYENV_ROOT/bin/pyenv" install -s "$v" ||
		die "pyenv install $v failed (network? see its log above)"
	[ -x "$(exe "$v")" ] || die "$(exe "$v") missing after pyenv install $v"
done
