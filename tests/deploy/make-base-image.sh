#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Makes the Debian 12 base image the Dockerfile starts FROM, locally: no
# registry, only Debian's apt mirror. debootstrap (minbase) -> a tarball
# cached under build/deploy/ -> `podman import` -> localhost/debian:12.
#
# Idempotent: the tarball is made once (delete it, or FORCE=1, to remake
# it); the image is imported again only when it is missing or was made
# from another tarball (its label sysscope.rootfs-sha256 says which).
#
#   tests/deploy/make-base-image.sh            # prints the image name
#   DEBIAN_MIRROR=http://... IMAGE=... FORCE=1  # overrides
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${CACHE:-$ROOT/build/deploy}
IMAGE=${IMAGE:-localhost/debian:12}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
TARBALL=$CACHE/debian-12-$(dpkg --print-architecture)-rootfs.tar

die() { echo "make-base-image: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and root podman)"
for tool in debootstrap podman; do
	command -v "$tool" >/dev/null ||
		die "$tool is not installed: apt-get install $tool (scripts/install-deps.sh)"
done
mkdir -p "$CACHE"
# One build at a time on this host (two test runs may start together).
exec 9>"$CACHE/.make-base-image.lock"
flock 9

if [ "${FORCE:-0}" = 1 ] || [ ! -s "$TARBALL" ]; then
	work=$(mktemp -d "$CACHE/rootfs.XXXXXX")
	trap 'rm -rf "$work"' EXIT INT TERM
	echo "make-base-image: debootstrap $SUITE from $MIRROR (a few minutes)" >&2
	# minbase: essential packages and apt, nothing else (~80 MB, as the
	# official debian:bookworm-slim).
	if ! debootstrap --variant=minbase "$SUITE" "$work/root" "$MIRROR" \
		>"$CACHE/debootstrap.log" 2>&1; then
		tail -20 "$CACHE/debootstrap.log" >&2
		die "debootstrap failed (log: $CACHE/debootstrap.log)"
	fi
	r=$work/root
	# The sources the official image has: the release, its updates and
	# the security archive.
	rm -f "$r/etc/apt/sources.list"
	cat >"$r/etc/apt/sources.list.d/debian.sources" <<-EOF
	Types: deb
	URIs: $MIRROR
	Suites: $SUITE $SUITE-updates
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

	Types: deb
	URIs: $SECURITY_MIRROR
	Suites: $SUITE-security
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	# What the official images set for containers: no services started by
	# package scripts, no recommends, no documentation, no apt caches.
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
	chmod 755 "$r/usr/sbin/policy-rc.d"
	cat >"$r/etc/apt/apt.conf.d/90container" <<-'EOF'
	APT::Install-Recommends "false";
	APT::Install-Suggests "false";
	Acquire::Languages "none";
	DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
	EOF
	cat >"$r/etc/dpkg/dpkg.cfg.d/90container" <<-'EOF'
	path-exclude /usr/share/doc/*
	path-include /usr/share/doc/*/copyright
	path-exclude /usr/share/man/*
	path-exclude /usr/share/info/*
	path-exclude /usr/share/locale/*
	EOF
	rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin \
		"$r"/var/cache/apt/archives/*.deb "$r"/var/log/* "$r"/tmp/* \
		"$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* \
		"$r"/usr/share/locale/*
	: >"$r/etc/machine-id"
	# Deterministic order and owners; the tarball replaces the old one
	# only when complete.
	tar --numeric-owner --sort=name --xattrs -C "$r" -cf "$work/rootfs.tar" .
	mv "$work/rootfs.tar" "$TARBALL"
	rm -rf "$work"
	trap - EXIT INT TERM
fi

sha=$(sha256sum "$TARBALL" | cut -c1-64)
have=$(podman image inspect --format '{{ index .Labels "sysscope.rootfs-sha256" }}' \
	"$IMAGE" 2>/dev/null || true)
if [ "$have" != "$sha" ]; then
	echo "make-base-image: importing $TARBALL as $IMAGE" >&2
	old=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
	podman import --quiet \
		--change "LABEL sysscope.rootfs-sha256=$sha" \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/bash"]' \
		"$TARBALL" "$IMAGE" >/dev/null
	# The replaced image, now untagged (kept if something still uses it).
	[ -z "$old" ] || podman rmi "$old" >/dev/null 2>&1 || true
fi
echo "$IMAGE"
