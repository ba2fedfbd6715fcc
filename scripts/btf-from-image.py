#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the kernel BTF (.BTF) held in a kernel image: an uncompressed
arm64 Image, a gzip'ed one, or an ELF vmlinux. Used to make another
architecture's vmlinux.h without booting it (scripts/gen-vmlinux.sh).

    btf-from-image.py IMAGE OUT

The BTF blob starts with its header (magic 0xeb9f, version 1, hdr_len 24,
then type_off, type_len, str_off, str_len); vmlinux's is the one with the
most types, so the largest well-formed blob wins."""
import gzip
import struct
import sys

MAGIC = b"\x9f\xeb\x01\x00"


def find_btf(data):
    best, at = None, data.find(MAGIC)
    while at >= 0:
        hdr = data[at + 4:at + 24]
        if len(hdr) == 20:
            hdr_len, type_off, type_len, str_off, str_len = struct.unpack("<5I", hdr)
            end = at + hdr_len + max(type_off + type_len, str_off + str_len)
            if (hdr_len == 24 and type_off == 0 and str_off == type_len and
                    end <= len(data) and data[at + hdr_len + str_off] == 0):
                if best is None or end - at > len(best):
                    best = data[at:end]
        at = data.find(MAGIC, at + 1)
    return best


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: btf-from-image.py IMAGE OUT")
    data = open(sys.argv[1], "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    btf = find_btf(data)
    if btf is None:
        sys.exit(f"btf-from-image: no BTF in {sys.argv[1]}")
    open(sys.argv[2], "wb").write(btf)


if __name__ == "__main__":
    main()
