#!/bin/sh
# Regenerates the vendored vmlinux.h from the running kernel's BTF.
# The vendored copy lets the BPF programs build where /sys/kernel/btf is
# absent (an image build); CO-RE relocates field offsets at load time.
set -eu
out=${1:?usage: gen-vmlinux.sh OUT}
btf=${BTF:-/sys/kernel/btf/vmlinux}
[ -r "$btf" ] || { echo "gen-vmlinux: no BTF at $btf" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "gen-vmlinux: wrote $out from $btf"
