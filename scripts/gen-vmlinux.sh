#!/bin/sh
# Regenerates a vendored vmlinux.h from kernel BTF: the running kernel's
# (/sys/kernel/btf/vmlinux), a BTF file (BTF=), or the BTF inside a kernel
# image (IMAGE=, e.g. Debian's arm64 vmlinuz, for a cross build).
# The vendored copy lets the BPF programs build where /sys/kernel/btf is
# absent (an image build); CO-RE relocates field offsets at load time.
set -eu
out=${1:?usage: gen-vmlinux.sh OUT}
btf=${BTF:-/sys/kernel/btf/vmlinux}
mkdir -p "$(dirname "$out")"
if [ -n "${IMAGE:-}" ]; then
	btf=$out.btf
	"$(dirname "$0")/btf-from-image.py" "$IMAGE" "$btf"
fi
[ -r "$btf" ] || { echo "gen-vmlinux: no BTF at $btf" >&2; exit 1; }
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
[ -z "${IMAGE:-}" ] || rm -f "$btf"
echo "gen-vmlinux: wrote $out from ${IMAGE:-$btf}"
