// SPDX-License-Identifier: MIT
/*
 * Ground truth for the agent's memory cap: many threads, each asleep at
 * the end of a deep call chain of its own, taking a new random chain every
 * second or two. Every window of a profiler then holds a new distinct stack
 * per thread.
 *
 *   many_stacks THREADS DEPTH SECONDS
 *
 * The chain is built from four noinline functions (step_a .. step_d), so
 * there are 4^DEPTH chains; DEPTH is at most 100.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int depth;
static double end_at;
volatile unsigned long sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct chain {
	uint64_t rng;
	int left;
};

static uint64_t next(struct chain *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

__attribute__((noinline)) void chain_sleep(struct chain *c)
{
	/* 1..2 s: a sleep that crosses window boundaries. */
	struct timespec ts = { 1, (long)(next(c) % 1000000000ULL) };

	nanosleep(&ts, NULL);
	sink++;
}

void step(struct chain *c);

#define STEP(name)						\
	__attribute__((noinline)) void name(struct chain *c)	\
	{							\
		step(c);					\
		sink++;	/* not a tail call */			\
	}
STEP(step_a)
STEP(step_b)
STEP(step_c)
STEP(step_d)

__attribute__((noinline)) void step(struct chain *c)
{
	static void (*const steps[4])(struct chain *) = {
		step_a, step_b, step_c, step_d,
	};

	if (c->left-- <= 0) {
		chain_sleep(c);
		return;
	}
	steps[next(c) & 3](c);
	sink++;
}

static void *thread_main(void *arg)
{
	struct chain c = { .rng = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL | 1 };

	while (now() < end_at) {
		c.left = depth;
		step(&c);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n;
	pthread_attr_t attr;

	if (argc != 4 || (n = atoi(argv[1])) < 1 || n > 10000 ||
	    (depth = atoi(argv[2])) < 1 || depth > 100) {
		fprintf(stderr, "usage: many_stacks THREADS DEPTH SECONDS\n");
		return 2;
	}
	end_at = now() + atof(argv[3]);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, &attr, thread_main,
				   (void *)(uintptr_t)(i + 1 + getpid() * 10007L))) {
			perror("pthread_create");
			return 1;
		}
		pthread_detach(t);
	}
	while (now() < end_at)
		sleep(1);
	return 0;
}
