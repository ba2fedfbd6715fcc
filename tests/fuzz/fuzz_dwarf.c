// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: dwarf_frames__open() (src/symbols/dwarf_frames.c, with
 * elfutils' libdw underneath) on the input as a file, then
 * dwarf_frames__lookup() at addresses taken from the input: spread over
 * its size, the entry point, its last 8 bytes, and the ends. Every frame
 * it returns must be readable, and no more than asked for.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_frames.h"
#include "fuzz_common.h"

#define STEPS 16

static void touch(const char *s)
{
	if (s)
		(void)*(volatile const char *)&s[strlen(s)];
}

static void lookup(struct dwarf_frames *d, uint64_t vaddr)
{
	struct src_frame f[DWARF_FRAMES_MAX];
	size_t n = dwarf_frames__lookup(d, vaddr, f, DWARF_FRAMES_MAX);

	FUZZ_CHECK(n <= DWARF_FRAMES_MAX);
	for (size_t i = 0; i < n; i++) {
		touch(f[i].name);
		touch(f[i].linkage_name);
		touch(f[i].file);
	}
	FUZZ_CHECK(dwarf_frames__lookup(d, vaddr, f, 1) <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dwarf_frames *d;
	int fd = fuzz_memfd(data, size);

	errno = 0;
	d = dwarf_frames__open(fd);
	if (!d) {
		FUZZ_CHECK(errno == ENODATA || errno == EFBIG ||
			   errno == ENOMEM || errno == ENOTSUP);
		return 0;
	}
	for (size_t i = 0; i <= STEPS; i++)
		lookup(d, (uint64_t)size * i / STEPS);
	lookup(d, fuzz_load_le(data, size, 0x18, 8));
	lookup(d, size >= 8 ? fuzz_load_le(data, size, size - 8, 8) : 0);
	lookup(d, UINT64_MAX);
	dwarf_frames__free(d);
	return 0;
}
