/* SPDX-License-Identifier: MIT */
/*
 * Source frames of a code address from a file's DWARF (its own, or its
 * debug file's), through libdw: the function's file and line, and the
 * chain of functions inlined there, each with the line it was called from.
 *
 * The files are other tenants': the file size, the number of compile units
 * and of address ranges are capped, and nothing is read until an address
 * is looked up (only sampled code costs anything).
 */
#ifndef SYSSCOPE_DWARF_FRAMES_H
#define SYSSCOPE_DWARF_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define DWARF_FRAMES_MAX 8	/* frames per address: deeper inlining is cut */

/* One frame at an address; strings live as long as the dwarf_frames. */
struct src_frame {
	const char *name;		/* DW_AT_name; NULL: none */
	const char *linkage_name;	/* mangled name, or NULL */
	const char *file;		/* source file, or NULL */
	uint32_t line;			/* 0: unknown */
	uint32_t decl_line;		/* the function's first line; 0: unknown */
};

struct dwarf_frames;

/*
 * Reads fd's compile units' address ranges (fd is dup'ed: the caller may
 * close it). NULL and errno: EFBIG over the caps, ENODATA without DWARF.
 */
struct dwarf_frames *dwarf_frames__open(int fd);
void dwarf_frames__free(struct dwarf_frames *d);	/* accepts NULL */
/* Bytes d holds itself (the image and its ranges), not counting libdw's. */
size_t dwarf_frames__bytes(const struct dwarf_frames *d);

/*
 * The frames at vaddr (the ELF's virtual address, as its symbols have it),
 * innermost first: [0..n-2] are inlined, each into the next; [n-1] is the
 * function that contains them. n (0: nothing known), at most max.
 */
size_t dwarf_frames__lookup(struct dwarf_frames *d, uint64_t vaddr,
			    struct src_frame *out, size_t max);

#endif
