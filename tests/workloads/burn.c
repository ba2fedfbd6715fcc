// SPDX-License-Identifier: MIT
/*
 * Ground truth for the on-CPU tests: a known call chain
 * main -> run -> stage_one -> stage_two -> leaf_hot | leaf_cold
 * burning CPU in leaf_hot and leaf_cold at a fixed ratio of work.
 *
 *   burn [-d SECONDS] [-r RATIO] [-t THREADS]
 *
 * Each round does RATIO units of work in leaf_hot and one in leaf_cold,
 * the same inlined loop, so CPU time splits RATIO:1 in expectation whatever
 * the machine's speed or load (a time budget would not: preemption eats
 * more of a longer budget).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double duration = 5.0;
static int ratio = 3;
volatile unsigned long sink;

#define UNIT_ITERS 100000

/*
 * One unit of work, expanded in each leaf so samples land there: a macro,
 * not an inline function, which DWARF would show as a frame of its own.
 */
#define work(units) do {						\
	unsigned long x_ = sink;					\
									\
	for (long i_ = 0; i_ < (long)(units) * UNIT_ITERS; i_++)	\
		x_ = x_ * 6364136223846793005UL + 1442695040888963407UL; \
	sink = x_;							\
} while (0)

__attribute__((noinline)) void leaf_hot(void)
{
	work(ratio);
}

__attribute__((noinline)) void leaf_cold(void)
{
	work(1);
}

__attribute__((noinline)) void stage_two(void)
{
	leaf_hot();
	leaf_cold();
}

__attribute__((noinline)) void stage_one(void)
{
	stage_two();
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void *run(void *arg)
{
	double end = now() + duration;
	char name[16];

	/* arg is the thread number + 1, or NULL for a single thread. */
	if (arg) {
		snprintf(name, sizeof(name), "burn-%d", (int)((long)arg - 1));
		pthread_setname_np(pthread_self(), name);
	}
	while (now() < end)
		stage_one();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t threads[64];
	int nthreads = 1, c;

	while ((c = getopt(argc, argv, "d:r:t:")) != -1) {
		if (c == 'd')
			duration = atof(optarg);
		else if (c == 'r')
			ratio = atoi(optarg);
		else if (c == 't')
			nthreads = atoi(optarg);
		else
			return 2;
	}
	if (nthreads < 1 || nthreads > 64 || ratio < 1)
		return 2;
	/* Threads 1..n-1 run beside the main thread, which is thread 0. */
	for (long i = 1; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, run, (void *)(i + 1)))
			return 1;
	run(nthreads > 1 ? (void *)1 : NULL);
	for (int i = 1; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	return 0;
}
