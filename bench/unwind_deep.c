// SPDX-License-Identifier: MIT
/*
 * Workload for bench/unwind.sh: CPU time spent DEPTH (default 40) user
 * frames deep, built without frame pointers, so that only a CFI walk
 * (sysscope --unwind cfi) finds the whole stack.
 *
 *   unwind_deep [-d DEPTH] [-s SECONDS] [-n ITERATIONS] [-t THREADS]
 *
 * THREADS threads (default 1) do the same loop, so that with one per CPU
 * nearly every sample of a node-wide sampler lands in this process. Each
 * iteration goes down DEPTH calls (deep_0 .. deep_9,
 * round-robin, each with a different frame size so the CFA rules differ)
 * to a leaf that hashes a small buffer for a while, then comes back up.
 * Runs for SECONDS (default: until SIGINT/SIGTERM), or for ITERATIONS
 * iterations per thread. At the end prints one line, for all threads:
 *   iterations=N elapsed_s=S iter_per_s=R checksum=C
 * which bench/unwind.sh reads for the throughput (slowdown) figure.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEAF_ROUNDS 20000

static volatile sig_atomic_t stop;
static volatile uint64_t sink;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The leaf: integer hashing, no calls. */
static __attribute__((noinline)) uint64_t leaf(uint64_t seed)
{
	uint64_t h = seed ^ 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < LEAF_ROUNDS; i++) {
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 29;
		h += (uint64_t)i;
	}
	return h;
}

typedef uint64_t (*step_fn)(int left, uint64_t x);
static step_fn steps[10];

/*
 * Each step keeps a buffer of its own size alive across the call (so the
 * compiler keeps a real frame: sub rsp, and a non-tail call), then calls
 * the next step through a table (no inlining, no tail call folding).
 */
#define STEP(n, words)							\
	static __attribute__((noinline)) uint64_t deep_##n(int left, uint64_t x) \
	{								\
		volatile uint64_t buf[words];				\
		uint64_t r;						\
									\
		for (int i = 0; i < (words); i++)			\
			buf[i] = x + (uint64_t)i;			\
		if (left <= 1)						\
			r = leaf(x + buf[0]);				\
		else							\
			r = steps[(n + 1) % 10](left - 1, x + 1);	\
		return r ^ buf[(words) - 1];				\
	}

STEP(0, 1)
STEP(1, 2)
STEP(2, 3)
STEP(3, 5)
STEP(4, 8)
STEP(5, 13)
STEP(6, 21)
STEP(7, 4)
STEP(8, 6)
STEP(9, 9)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct worker {
	pthread_t thread;
	uint64_t seed, n, sum;
};

static int depth = 40;
static double seconds, t0;
static uint64_t iterations;

static void *work(void *arg)
{
	struct worker *w = arg;

	/* main/work -> deep_0 .. deep_{depth-1} -> leaf */
	while (!stop) {
		w->sum += steps[0](depth, w->seed + w->n);
		w->n++;
		if (iterations && w->n >= iterations)
			break;
		if (seconds > 0 && (w->n & 15) == 0 && now_s() - t0 >= seconds)
			break;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = 1, opt;
	struct worker *w;
	uint64_t n = 0, sum = 0;
	double t1;

	while ((opt = getopt(argc, argv, "d:s:n:t:")) != -1) {
		switch (opt) {
		case 'd':
			depth = atoi(optarg);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'n':
			iterations = strtoull(optarg, NULL, 10);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-d DEPTH] [-s SECONDS] [-n ITERATIONS] [-t THREADS]\n",
				argv[0]);
			return 2;
		}
	}
	if (depth < 1 || depth > 1000 || threads < 1 || threads > 256) {
		fprintf(stderr, "%s: DEPTH must be 1..1000, THREADS 1..256\n", argv[0]);
		return 2;
	}
	w = calloc(threads, sizeof(*w));
	if (!w)
		return 1;
	steps[0] = deep_0, steps[1] = deep_1, steps[2] = deep_2;
	steps[3] = deep_3, steps[4] = deep_4, steps[5] = deep_5;
	steps[6] = deep_6, steps[7] = deep_7, steps[8] = deep_8;
	steps[9] = deep_9;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	t0 = now_s();
	for (int i = 1; i < threads; i++) {
		w[i].seed = (uint64_t)i << 40;
		if (pthread_create(&w[i].thread, NULL, work, &w[i])) {
			perror("pthread_create");
			return 1;
		}
	}
	work(&w[0]);
	for (int i = 1; i < threads; i++)
		pthread_join(w[i].thread, NULL);
	t1 = now_s();
	for (int i = 0; i < threads; i++) {
		n += w[i].n;
		sum ^= w[i].sum;
	}
	sink = sum;
	printf("iterations=%llu elapsed_s=%.3f iter_per_s=%.1f checksum=%llx\n",
	       (unsigned long long)n, t1 - t0, n / (t1 - t0),
	       (unsigned long long)sum);
	free(w);
	return 0;
}
