#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Builds the sysscope image (Dockerfile at the repository's root) with root
# podman, FROM the local Debian 12 base (make-base-image.sh).
#
# Cached: the image carries a label with the hash of its inputs (the
# Dockerfile, .dockerignore, every file the build context holds and the
# base image's id); when the tagged image has the same hash nothing is
# built. Otherwise podman's layer cache still skips the package layers.
#
#   tests/deploy/build-image.sh     # prints the image name on stdout
#   IMAGE=... FORCE=1               # another tag / rebuild anyway
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${CACHE:-$ROOT/build/deploy}
IMAGE=${IMAGE:-localhost/sysscope:dev}
LOG=$CACHE/image-build.log

die() { echo "build-image: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (root podman)"
command -v podman >/dev/null ||
	die "podman is not installed: apt-get install podman (scripts/install-deps.sh)"
mkdir -p "$CACHE"
# One build at a time on this host (two test runs may start together).
exec 9>"$CACHE/.build-image.lock"
flock 9

base=$("$ROOT/tests/deploy/make-base-image.sh")
base_id=$(podman image inspect --format '{{.Id}}' "$base")

# The context as .dockerignore leaves it: Makefile bpf cgroup container src.
inputs=$(cd "$ROOT" && {
	echo "base $base_id"
	find Dockerfile .dockerignore Makefile bpf cgroup container src \
		-type f ! -name '*.o' ! -name '*.d' ! -name '*~' -print0 |
		LC_ALL=C sort -z | xargs -0 sha256sum
} | sha256sum | cut -c1-64)

have=$(podman image inspect --format '{{ index .Labels "sysscope.inputs" }}' \
	"$IMAGE" 2>/dev/null || true)
if [ "${FORCE:-0}" != 1 ] && [ "$have" = "$inputs" ]; then
	echo "build-image: $IMAGE is up to date" >&2
	echo "$IMAGE"
	exit 0
fi

old=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
echo "build-image: building $IMAGE FROM $base (log: $LOG)" >&2
start=$(date +%s)
# --network host: the build stages reach the apt mirror as the host does.
if ! podman build --network host --layers \
	--build-arg "BASE=$base" \
	--label "sysscope.inputs=$inputs" \
	-t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" >"$LOG" 2>&1; then
	tail -30 "$LOG" >&2
	die "podman build failed (log: $LOG)"
fi
echo "build-image: built in $(($(date +%s) - start)) s," \
	"$(podman image inspect --format '{{.Size}}' "$IMAGE") bytes" >&2
new=$(podman image inspect --format '{{.Id}}' "$IMAGE")
# The image this one replaces, now untagged.
if [ -n "$old" ] && [ "$old" != "$new" ]; then
	podman rmi "$old" >/dev/null 2>&1 || true
fi
# The layer cache: keep this build's intermediate images (the package
# layers among them), remove the previous build's others, newest first,
# so that source changes do not pile images up.
layers=$CACHE/image-layers.txt
sed -n 's/^--> \([0-9a-f]\{11,64\}\)$/\1/p' "$LOG" >"$layers.new"
if [ -f "$layers" ]; then
	tac "$layers" | while read -r id; do
		grep -qx "$id" "$layers.new" ||
			podman rmi "$id" >/dev/null 2>&1 || true
	done
fi
mv "$layers.new" "$layers"
echo "$IMAGE"
