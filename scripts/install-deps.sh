#!/bin/sh
# Installs the Debian 12 packages sysscope's build, tests and benchmarks use.
# Quiet and quick when everything is already there.
#   --kernels   also what make test-kernels needs: QEMU, debootstrap, the
#               arm64 cross toolchain (clang + binutils + Debian's arm64
#               C library) and arm64 multiarch libraries to link with.
set -eu

# python3.11 (Debian 12's python3), nodejs (18 on Debian 12) and
# openjdk-17-jdk-headless (javac, jcmd): the interpreters and JITs whose
# frames tests/e2e/test_lang.py names.
# prometheus: for promtool, which checks /metrics in tests/e2e/test_agent.py.
# rustc: Debian's (1.63), which builds tests/workloads/*.rs with v0 names.
# clickhouse-server, libcurl4 (dlopened), libcurl4-openssl-dev (curl.h):
# the agent's push and sysscope query (tests/e2e/test_clickhouse.py).
PKGS="make gcc clang llvm bpftool libbpf-dev libelf-dev libdw-dev zlib1g-dev
libcap-dev libseccomp-dev libjson-c-dev libmicrohttpd-dev liblzma-dev pkg-config
libdebuginfod-dev debuginfod
libcmocka-dev python3-pytest golang-go libxml2-utils binutils elfutils
gcc-multilib g++ nodejs libc6-dbg xz-utils python3.11 openjdk-17-jdk-headless
linux-perf bpftrace procps util-linux bindfs
containerd runc podman debootstrap chromium
prometheus rustc
clickhouse-server libcurl4 libcurl4-openssl-dev curl"

ARM64_LIBS="libbpf-dev libelf-dev libdw-dev zlib1g-dev libcap-dev libseccomp-dev
libjson-c-dev libmicrohttpd-dev liblzma-dev libcurl4-openssl-dev"
if [ "${1:-}" = --kernels ]; then
	PKGS="$PKGS qemu-system-x86 qemu-system-arm qemu-user-static binfmt-support
cpio e2fsprogs binutils-aarch64-linux-gnu libc6-dev-arm64-cross
libgcc-12-dev-arm64-cross libstdc++-12-dev-arm64-cross"
	for p in $ARM64_LIBS; do PKGS="$PKGS $p:arm64"; done
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		[ "$(id -u)" = 0 ] || { echo "install-deps: run as root (dpkg --add-architecture arm64)" >&2; exit 1; }
		dpkg --add-architecture arm64
	fi
fi

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
