// SPDX-License-Identifier: MIT
/*
 * bench/unwind.sh: a process that maps a big shared library (dlopen, as a
 * JIT or a plugin host would), then burns CPU in main so a profiler
 * filtered on its pid samples it (sysscope reads a process, and builds the
 * tables of every file it maps, at its first sample).
 *
 *   unwind_dlopen LIBRARY       prints "loaded", runs until killed
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

static volatile uint64_t sink;

int main(int argc, char **argv)
{
	uint64_t h = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
		return 2;
	}
	if (!dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	printf("loaded %s\n", argv[1]);
	fflush(stdout);
	for (;;) {
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdull;
		sink = h;
	}
}
