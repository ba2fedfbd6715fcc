// SPDX-License-Identifier: MIT
/*
 * Ground truth for source lines and inlined frames: a function that is
 * always inlined into its one caller, which is never inlined. Runs for
 * argv[1] seconds (default 10). The line markers are what tests look for.
 */
#include <stdlib.h>
#include <time.h>

static volatile unsigned sink;

static inline __attribute__((always_inline)) unsigned inline_mix(unsigned x)
{
	for (int i = 0; i < 4096; i++)
		x = x * 1103515245u + 12345u;	/* LINE:inline_mix */
	return x;
}

__attribute__((noinline)) unsigned inline_caller(unsigned x)
{
	return inline_mix(x) ^ 0x5a5a5a5au;	/* LINE:inline_caller */
}

int main(int argc, char **argv)
{
	time_t end = time(NULL) + (argc > 1 ? atoi(argv[1]) : 10);
	unsigned x = 1;

	while (time(NULL) < end)
		x = inline_caller(x);
	sink = x;
	return 0;
}
