// SPDX-License-Identifier: MIT
/*
 * Main program of bench/unwind.sh's big binary (about 100 MiB of .text).
 * bench/unwind.sh generates a C file of 256 functions, compiles it once
 * with gcc -O2 -fomit-frame-pointer -S, and assembles that code many times
 * over (renamed copies), so the text and its .eh_frame are what gcc makes
 * of real code, without compiling 100 MiB of C. Each generated function
 * takes a pointer per copy in the "bigtab" section (the linker's
 * __start_bigtab/__stop_bigtab bound it) and calls tab[i] once when its
 * first argument has its low 2 bits clear.
 *
 * Every thread goes HOPS levels down: hop() calls a random generated
 * function (anywhere in the 100 MiB), which calls hop() again, and at the
 * bottom burns CPU in a leaf. So samples are 2 * HOPS + a few frames deep,
 * spread over the whole text, and no frame pointers are kept.
 *
 *   unwind_big [THREADS]     runs until killed
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define HOPS 20

typedef long (*fn)(long, long, long);
extern fn __start_bigtab[], __stop_bigtab[];
fn volatile tab[64];	/* what the generated functions call */

static __thread int depth;
static __thread uint64_t seed;
static volatile long sink;

static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static __attribute__((noinline)) long burn(long x)
{
	uint64_t h = (uint64_t)x;

	for (int i = 0; i < 20000; i++) {
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdull;
		h += (uint64_t)i;
	}
	return (long)h;
}

long hop(long a, long b, long c);
long hop(long a, long b, long c)
{
	long r;

	if (depth >= HOPS)
		return burn(a ^ b ^ c);
	depth++;
	r = __start_bigtab[rnd() % (uint64_t)(__stop_bigtab - __start_bigtab)](
		(a ^ (long)rnd()) & ~3L, b, c);
	depth--;
	return r + 1;	/* not a tail call: hop stays on the stack */
}

static void *loop(void *arg)
{
	seed = 88172645463325252ull + (uintptr_t)arg;
	for (;;)
		sink += hop(0, 1, 2);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	pthread_t t;

	for (int i = 0; i < 64; i++)
		tab[i] = hop;
	printf("functions=%ld\n", (long)(__stop_bigtab - __start_bigtab));
	fflush(stdout);
	for (long i = 1; i < threads; i++)
		if (pthread_create(&t, NULL, loop, (void *)i))
			return 1;
	loop(NULL);
	return 0;
}
