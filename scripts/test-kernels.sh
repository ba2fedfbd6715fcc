#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The kernel matrix: boots Debian 12's own kernels under QEMU (TCG: no KVM
# needed) with a small Debian root filesystem holding the built sysscope
# and its ground-truth workloads, runs tests/kernels/guest-init.sh in the
# guest and reads its PASS/FAIL lines from the serial console.
#
#   scripts/test-kernels.sh ARCH[@KERNEL]:OUTPUT...
#	e.g. x86:build arm64:build/arm64 x86@6.12:build
#
# KERNEL is 6.1 (the default: Debian 12's own kernel), 6.12 (Debian 12's
# bookworm-backports kernel, Debian 13's series) or 5.10 (Debian 11's,
# older than sysscope needs: the check is that it refuses it clearly).
# OUTPUT is the build folder holding that architecture's sysscope,
# workloads/ and *.skel.h. The rootfs (debootstrap minbase) and the kernel
# package are cached under build/kernels/. No kernel is installed on the
# host: the image is taken out of the .deb with dpkg-deb. The whole rootfs
# is the initramfs, so the kernel needs no module to reach it.
set -uo pipefail

CACHE=${KERNELS_CACHE:-build/kernels}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BOOT_TIMEOUT=${KERNELS_TIMEOUT:-1500}	# seconds per guest, boot to power-off
ROOTFS_PKGS=libbpf1,libdw1,libelf1,zlib1g,libcap2,libjson-c5,libseccomp2,libmicrohttpd12,libstdc++6,liblzma5,procps,iproute2,bpftool
# A kernel older than sysscope needs is refused in one clear line.
CHECKS_TOO_OLD="refuses-old-kernel"
CHECKS="mode-profile mode-offcputime mode-wallclock wallclock-3to1 user-stacks-kept agent-healthz agent-metrics programs-loaded agent-stop"

die() { echo "test-kernels: $*" >&2; exit 1; }
trap 'rm -rf "$CACHE/extra-$$"' EXIT

deb_arch() { case $1 in x86) echo amd64 ;; arm64) echo arm64 ;; *) return 1 ;; esac; }

# debootstrap needs to run the foreign arch's binaries for its second stage.
ensure_binfmt() {
	[ "$1" = arm64 ] && [ "$(uname -m)" != aarch64 ] || return 0
	[ -e /proc/sys/fs/binfmt_misc/register ] ||
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || return 1
	[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] ||
		update-binfmts --enable qemu-aarch64 || return 1
}

# The Debian minbase rootfs, once per architecture.
rootfs_base() {	# rootfs_base DEBARCH -> prints its path
	local dir=$CACHE/rootfs-$1
	if [ ! -e "$dir/.complete" ]; then
		ensure_binfmt "$1" || die "no binfmt_misc for $1 (qemu-user-static)"
		rm -rf "$dir.tmp"
		echo "test-kernels: debootstrap $1 rootfs (once, cached in $dir)" >&2
		debootstrap --arch="$1" --variant=minbase --include=$ROOTFS_PKGS \
			bookworm "$dir.tmp" "$MIRROR" >"$CACHE/debootstrap-$1.log" 2>&1 ||
			die "debootstrap $1 failed: see $CACHE/debootstrap-$1.log"
		rm -rf "$dir.tmp"/usr/share/{doc,man,locale,info} \
			"$dir.tmp"/var/cache/apt/* "$dir.tmp"/var/lib/apt/lists/*
		rm -rf "$dir" && mv "$dir.tmp" "$dir" && touch "$dir/.complete"
	fi
	echo "$dir"
}

# The newest linux-image-VERSION* package of a suite, fetched by its pool
# path (the host's apt lists only bookworm).
download_pool_kernel() {	# SUITE DEBARCH VERSION DIR
	local index=$MIRROR/dists/$1/main/binary-$2/Packages.xz file
	shift
	file=$(curl -fsS --max-time 120 "$index" | xz -dc |
		awk -v re="^linux-image-$2[.0-9]*(-[0-9]+)?([+]deb12)?-$1-unsigned\$" '
			/^Package: / { p = ($2 ~ re) }
			/^Filename: / && p { f = $2 }
			END { print f }')
	[ -n "$file" ] || die "no linux-image-$2 for $1 in $index"
	curl -fsS --max-time 600 -o "$3/${file##*/}" "$MIRROR/$file" ||
		die "download of $MIRROR/$file failed"
}

# A Debian 12 kernel image, out of its package: 6.1 from the release,
# 6.12 from backports.
kernel_image() {	# kernel_image DEBARCH VERSION -> prints the vmlinuz path
	local pkg dir=$CACHE/kernel-$1-$2
	if [ ! -e "$dir/.complete" ]; then
		rm -rf "$dir" && mkdir -p "$dir/deb" || return 1
		case $2 in
		6.1)
			pkg=$(apt-cache depends "linux-image-$1:$1" 2>/dev/null |
				awk '/Depends: linux-image-[0-9]/ { sub(/:.*/, "", $2); print $2; exit }')
			[ -n "$pkg" ] || die "no linux-image-$1 in apt (dpkg --add-architecture $1; apt-get update)"
			(cd "$dir/deb" && apt-get download "$pkg:$1" >/dev/null 2>&1) ||
				die "apt-get download $pkg:$1 failed" ;;
		6.12)
			download_pool_kernel bookworm-backports "$1" "$2" "$dir/deb" || exit 1 ;;
		5.10)
			download_pool_kernel bullseye "$1" "$2" "$dir/deb" || exit 1 ;;
		*)
			die "kernel $2: 6.1, 6.12 or 5.10" ;;
		esac
		dpkg-deb --fsys-tarfile "$dir"/deb/*.deb |
			tar -x -C "$dir" --wildcards './boot/vmlinuz-*' ./boot/config-\* ||
			die "no vmlinuz in $pkg"
		touch "$dir/.complete"
	fi
	ls "$dir"/boot/vmlinuz-* | head -n1
}

# The rootfs plus this build, as one uncompressed cpio (the kernel unpacks
# concatenated archives in order, so ours lands over the base's).
make_initramfs() {	# make_initramfs ROOTFS OUTPUT IMAGE
	local extra=$CACHE/extra-$$
	rm -rf "$extra" && mkdir -p "$extra/opt/sysscope" || return 1
	cp "$2/sysscope" "$extra/opt/sysscope/" &&
		cp -r "$2/workloads" "$extra/opt/sysscope/" &&
		install -m 755 tests/kernels/guest-init.sh "$extra/init" || return 1
	# Every program of the skeletons: each must be loaded in the guest.
	sed -n 's/.*progs\[[0-9]*\]\.name = "\([^"]*\)".*/\1/p' "$2"/*.skel.h |
		sort -u >"$extra/opt/sysscope/programs"
	[ -s "$extra/opt/sysscope/programs" ] || die "no programs in $2/*.skel.h"
	{ (cd "$1" && find . -path ./.complete -prune -o -print | cpio -o -H newc --quiet) &&
	  (cd "$extra" && find . | cpio -o -H newc --quiet); } >"$3.tmp" || return 1
	mv "$3.tmp" "$3" && rm -rf "$extra"
}

boot() {	# boot ARCH KERNEL INITRAMFS LOG
	local qemu
	case $1 in
	x86) qemu=(qemu-system-x86_64 -machine q35 -cpu max -append "console=ttyS0 panic=-1 quiet") ;;
	arm64) qemu=(qemu-system-aarch64 -machine virt -cpu cortex-a57 -append "console=ttyAMA0 panic=-1 quiet") ;;
	esac
	timeout --foreground -k 10 "$BOOT_TIMEOUT" "${qemu[@]}" -accel tcg -smp 2 -m 3072 \
		-nographic -no-reboot -monitor none -serial stdio \
		-kernel "$2" -initrd "$3" </dev/null >"$4" 2>&1
}

# PASS when every check printed PASS and the guest finished.
judge() {	# judge LOG CHECKS
	local c fail=0
	tr -d '\r' <"$1" | grep -E '^SYSSCOPE-(GUEST|CHECK|VERIFIER|MAP)' | sed 's/^/  /'
	for c in $2; do
		tr -d '\r' <"$1" | grep -q "^SYSSCOPE-CHECK PASS $c:" ||
			{ echo "  FAIL $c: not passed"; fail=1; }
	done
	tr -d '\r' <"$1" | grep -q '^SYSSCOPE-CHECKS-DONE' ||
		{ echo "  FAIL guest did not finish (timeout ${BOOT_TIMEOUT}s or crash)"; fail=1; }
	return $fail
}

run_one() {	# run_one ARCH KERNEL OUTPUT
	local arch=$1 version=$2 out=$3 debarch rootfs kernel img log t0 rc
	debarch=$(deb_arch "$arch") || die "unknown arch $arch (x86, arm64)"
	[ -x "$out/sysscope" ] && [ -d "$out/workloads" ] ||
		die "$out/sysscope or $out/workloads missing: build them first"
	mkdir -p "$CACHE"
	rootfs=$(rootfs_base "$debarch") || exit 1
	kernel=$(kernel_image "$debarch" "$version") || exit 1
	img=$CACHE/initramfs-$arch.cpio
	log=$CACHE/console-$arch-$version.log
	make_initramfs "$rootfs" "$out" "$img" || die "initramfs for $arch failed"
	echo "== $arch@$version: $(basename "$kernel") under QEMU TCG (console: $log)"
	t0=$(date +%s)
	boot "$arch" "$kernel" "$img" "$log"
	rc=$?
	case $version in
	5.10) judge "$log" "$CHECKS_TOO_OLD" ;;
	*) judge "$log" "$CHECKS" ;;
	esac
	rc=$?
	echo "== $arch@$version: $([ $rc = 0 ] && echo PASS || echo FAIL) in $(( $(date +%s) - t0 )) s (boot + checks)"
	return $rc
}

[ $# -gt 0 ] || die "usage: test-kernels.sh ARCH[@KERNEL]:OUTPUT..."
status=0
for spec in "$@"; do
	target=${spec%%:*}
	version=6.1
	[ "$target" = "${target#*@}" ] || version=${target#*@}
	run_one "${target%%@*}" "$version" "${spec#*:}" || status=1
done
exit $status
