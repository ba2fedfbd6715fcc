#!/bin/sh
# SPDX-License-Identifier: MIT
# localhost/debian-lang:12: Debian 12 (tests/deploy/make-base-image.sh)
# with Debian's own python3 and nodejs from apt, for the tests of Python
# and Node.js frames in a container.
# Built once; later runs find the image and return at once.
set -eu

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BASE=${BASE:-localhost/debian:12}
IMAGE=${IMAGE:-localhost/debian-lang:12}

die() { echo "make-lang-image: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (root podman)"
command -v podman >/dev/null ||
	die "podman is not installed: apt-get install podman (scripts/install-deps.sh)"
podman image exists "$IMAGE" && { echo "$IMAGE"; exit 0; }
podman image exists "$BASE" || "$ROOT/tests/deploy/make-base-image.sh" >&2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
cat >"$dir/Containerfile" <<EOC
FROM $BASE
RUN apt-get update && apt-get install -y --no-install-recommends python3 nodejs && \
    rm -rf /var/lib/apt/lists/*
EOC
podman build --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
	-t "$IMAGE" "$dir" >&2 || die "podman build failed"
echo "$IMAGE"
