/* SPDX-License-Identifier: MIT */
/*
 * The part of an ELF file that source lines and inlined frames need, as a
 * new ELF image in memory for libdw (elf_memory): the ELF header, the
 * section headers and names, and the DWARF sections that describe code
 * (.debug_info, _abbrev, _line, _line_str, _str, _str_offsets, _addr,
 * _ranges, _rnglists), inflated if compressed, each followed by zero
 * bytes. Every other section becomes SHT_NOBITS: not read, not held.
 *
 * Why a copy: the file is a tenant's, read with pread (a mapping would
 * raise SIGBUS if they truncate it); and libdw 0.188 reads strings of a
 * hostile .debug_line past the section's end (found by tests/fuzz), a read
 * that the zeros after each section stop inside our buffer.
 */
#ifndef SYSSCOPE_DWARF_IMAGE_H
#define SYSSCOPE_DWARF_IMAGE_H

#include <stddef.h>

#define DWARF_IMAGE_MAX ((size_t)512 << 20)	/* a larger image is refused */

/*
 * Reads fd's image into *image (malloc'd, *len bytes). 0, or -ENODATA (no
 * DWARF for code, or not a 64-bit ET_EXEC/ET_DYN ELF), -EINVAL (malformed),
 * -EFBIG (over the cap), -ENOMEM, -errno of a read.
 */
int dwarf_image__read(int fd, char **image, size_t *len);

#endif
