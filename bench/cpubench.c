// SPDX-License-Identifier: MIT
/*
 * cpubench: a deterministic CPU-bound workload for overhead benchmarks.
 *
 *   cpubench [-j COPIES] [-w WORK] [-m MIB]
 *
 * Forks COPIES single-threaded children (default 1), child i pinned to CPU
 * i % ncpu, and each does the same fixed work: WORK rounds (default 3600,
 * about 3 s on the 2-CPU CI VM; -m default 4 MiB), each a burst of
 * integer hashing followed by a pass over a private MIB-MiB buffer that
 * reads and writes pseudo-random cache lines (so the work is not purely
 * ALU: it touches L2/L3/DRAM and its TLB). The functions are noinline so a
 * profiler walks a stack a few frames deep.
 *
 * Prints one line, then exits 0:
 *   elapsed_s=3.0123 cpu_s=6.0210 copies=2 work=N mib=4 checksum=0x...
 * elapsed_s is the wall time from before the first fork to the last child's
 * exit; cpu_s the user+sys time of all children (getrusage RUSAGE_CHILDREN).
 * The checksum depends only on WORK and MIB: equal runs did equal work; the
 * copies must agree on it or cpubench fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HASH_STEPS 120000	/* integer hashing per round */
#define LINE 64

#define NOINLINE __attribute__((noinline))

static NOINLINE uint64_t mix64(uint64_t x)
{
	/* splitmix64 finalizer */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static NOINLINE uint64_t hash_burst(uint64_t seed)
{
	uint64_t h = seed;

	for (int i = 0; i < HASH_STEPS; i++)
		h = mix64(h + (uint64_t)i);
	return h;
}

/* One pass: as many pseudo-random cache lines as the buffer holds. */
static NOINLINE uint64_t memory_pass(uint64_t *buf, size_t words, uint64_t seed)
{
	size_t lines = words / (LINE / sizeof(uint64_t));
	uint64_t x = seed | 1, sum = 0;

	for (size_t i = 0; i < lines; i++) {
		/* xorshift64: cheap, deterministic line index */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t w = (x % lines) * (LINE / sizeof(uint64_t));
		sum += buf[w];
		buf[w] = sum ^ x;
	}
	return sum;
}

static NOINLINE uint64_t do_round(uint64_t *buf, size_t words, uint64_t seed)
{
	uint64_t h = hash_burst(seed);

	return h ^ memory_pass(buf, words, h);
}

static NOINLINE uint64_t work(long rounds, size_t mib)
{
	size_t words = mib * 1024 * 1024 / sizeof(uint64_t);
	uint64_t *buf = malloc(words * sizeof(uint64_t));
	uint64_t sum = 0;

	if (!buf) {
		perror("cpubench: malloc");
		exit(1);
	}
	for (size_t i = 0; i < words; i++)
		buf[i] = i;
	for (long r = 0; r < rounds; r++)
		sum = mix64(sum ^ do_round(buf, words, (uint64_t)r));
	free(buf);
	return sum;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long parse_pos(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 1000000) {
		fprintf(stderr, "cpubench: invalid %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* Best effort: a cpuset may forbid the CPU; the work is the same. */
	sched_setaffinity(0, sizeof(set), &set);
}

int main(int argc, char **argv)
{
	long copies = 1, rounds = 3600, mib = 4;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t checksum = 0, sum;
	struct rusage ru;
	double t0, elapsed;
	int opt, failed = 0, fds[2];
	pid_t parent;

	while ((opt = getopt(argc, argv, "j:w:m:h")) != -1) {
		switch (opt) {
		case 'j': copies = parse_pos(optarg, "copies"); break;
		case 'w': rounds = parse_pos(optarg, "work"); break;
		case 'm': mib = parse_pos(optarg, "MiB"); break;
		default:
			fprintf(stderr, "usage: cpubench [-j COPIES] [-w WORK] [-m MIB]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (ncpu < 1)
		ncpu = 1;
	/* Children send their checksum up a pipe (8 bytes: atomic). */
	if (pipe(fds)) {
		perror("cpubench: pipe");
		return 1;
	}

	parent = getpid();
	t0 = now_s();
	for (long i = 0; i < copies; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("cpubench: fork");
			return 1;
		}
		if (pid == 0) {
			/* Never outlive an interrupted benchmark. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(1);
			close(fds[0]);
			pin(i % ncpu);
			sum = work(rounds, mib);
			_exit(write(fds[1], &sum, sizeof(sum)) == sizeof(sum) ? 0 : 1);
		}
	}
	close(fds[1]);
	for (long i = 0; i < copies; i++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed = 1;
	}
	elapsed = now_s() - t0;
	/* Every copy does the same work: any mismatch is a failure. */
	for (long i = 0; i < copies; i++) {
		if (read(fds[0], &sum, sizeof(sum)) != sizeof(sum) ||
		    (i > 0 && sum != checksum))
			failed = 1;
		checksum = sum;
	}
	if (failed) {
		fprintf(stderr, "cpubench: a copy failed or disagreed on the checksum\n");
		return 1;
	}
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("elapsed_s=%.4f cpu_s=%.4f copies=%ld work=%ld mib=%ld checksum=0x%" PRIx64 "\n",
	       elapsed,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
	       copies, rounds, mib, checksum);
	return 0;
}
