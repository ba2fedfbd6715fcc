/* SPDX-License-Identifier: MIT */
/*
 * The FDE address ranges of one ELF file: its CFI sections (.eh_frame,
 * .debug_frame) opened with libdw, and the [lo, hi) range of every FDE in
 * them, sorted and disjoint. cfi_table.c then asks libdw for the frames
 * inside each range; this part only finds where the ranges are, because
 * libdw has no call that lists them.
 *
 * Same rules as cfi_table.h: x86-64 only (ENOTSUP otherwise), and the file
 * is hostile input, read with every size checked.
 */
#ifndef SYSSCOPE_CFI_FDE_H
#define SYSSCOPE_CFI_FDE_H

#include <elfutils/libdw.h>
#include <stddef.h>
#include <stdint.h>

enum cfi_fde_src {		/* index of cfi_fdes.cfi[] */
	CFI_FDE_EH,		/* .eh_frame */
	CFI_FDE_DEBUG,		/* .debug_frame */
	CFI_FDE_NSRC,
};

struct cfi_fde_range {
	uint64_t lo, hi;	/* [lo, hi) */
	uint32_t len;		/* bytes of its entry: the cost of one call */
	uint8_t src;		/* enum cfi_fde_src */
};

/* Filled by cfi_fdes__open(), read-only for users. */
struct cfi_fdes {
	Dwarf_CFI *cfi[CFI_FDE_NSRC];	/* NULL: no such section */
	struct cfi_fde_range *ranges;	/* sorted by lo, disjoint */
	size_t n;		/* >= 1 */
	unsigned int source;	/* cfi_table.h's enum cfi_source bits */
	/* Owned, for cfi_fdes__close(): the cfi[] handles live in them. */
	Elf *elf;
	Dwarf *dw;			/* only for .debug_frame */
};

/*
 * Opens the ELF file at fd (the caller keeps ownership of fd) and collects
 * the FDE ranges of .eh_frame, with those of .debug_frame filling the
 * addresses .eh_frame does not cover. At most max_fdes ranges are read.
 * 0 or -errno: -ENOEXEC/-EINVAL not an ELF file or malformed, -ENOTSUP not
 * x86-64, -ENOENT no CFI or no usable FDE, -EFBIG a section over the size
 * limits, -E2BIG over max_fdes, -ENOMEM. *out is zeroed on failure; on
 * success release it with cfi_fdes__close().
 */
int cfi_fdes__open(struct cfi_fdes *out, int fd, size_t max_fdes);
void cfi_fdes__close(struct cfi_fdes *f);	/* accepts NULL; zeroes */

/* Doubles *cap (from min) so that n + 1 elements of size fit in *arr. */
int cfi__grow(void **arr, size_t *cap, size_t n, size_t size, size_t min);

#endif
