// SPDX-License-Identifier: MIT
/*
 * serverlike: a fixed amount of mixed work that switches a lot, for the
 * off-CPU overhead benchmark (bench/offcpu.sh).
 *
 * THREADS workers (default 4) run in pairs. Each iteration a worker does
 * about 200 us of CPU work (integer hashing), then hands off to its
 * partner over a pipe: it writes one byte and blocks until the partner's
 * byte arrives, as a request/response thread pair does. Every SLEEP_EVERY
 * iterations it also sleeps SLEEP_US (default 1 ms, a "timer" or "disk"
 * wait long enough to be recorded at the default min-block). With more
 * workers than CPUs, some time is spent waiting for a CPU as well.
 *
 * So the scheduler sees short blocks (pipe), long blocks (sleep) and
 * preemptions, in proportions that do not depend on the machine's speed.
 * The work is fixed and checked by a checksum; the output is one line:
 *
 *   elapsed_s=2.914 cpu_s=4.801 checksum=... threads=4 iters=5000
 *
 * Usage: serverlike [-t THREADS] [-n ITERS] [-w WORK] [-s SLEEP_EVERY]
 *                   [-S SLEEP_US]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256

static unsigned nthreads = 4;
static unsigned long iters = 5000;
static unsigned long work = 80000;	/* hash rounds per iteration, ~200 us */
static unsigned long sleep_every = 8;
static unsigned long sleep_us = 1000;

struct worker {
	pthread_t thread;
	unsigned id;
	int to_partner;		/* write end, -1: no partner */
	int from_partner;	/* read end */
	uint64_t sum;
};

static struct worker workers[MAX_THREADS];

static void die(const char *what)
{
	fprintf(stderr, "serverlike: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* CPU work: a dependent chain of multiply-xorshift rounds. */
static __attribute__((noinline)) uint64_t compute(uint64_t x)
{
	for (unsigned long i = 0; i < work; i++) {
		x ^= x >> 31;
		x *= 0x9e3779b97f4a7c15ULL;
		x ^= x >> 29;
		x += i;
	}
	return x;
}

/* Request/response: my byte to the partner, then wait for theirs. */
static __attribute__((noinline)) void handoff(struct worker *w)
{
	char b = 1;
	ssize_t n;

	if (w->to_partner < 0)
		return;
	do
		n = write(w->to_partner, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		die("write");
	do
		n = read(w->from_partner, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		die("read");
}

static __attribute__((noinline)) void timed_wait(void)
{
	struct timespec ts = {
		.tv_sec = sleep_us / 1000000,
		.tv_nsec = (long)(sleep_us % 1000000) * 1000,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t x = 0x1234567ULL + w->id;

	for (unsigned long i = 0; i < iters; i++) {
		x = compute(x);
		w->sum += x;
		handoff(w);
		if (sleep_every && (i + 1) % sleep_every == 0)
			timed_wait();
	}
	return NULL;
}

static double now_s(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long parse(const char *arg, char opt, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || v > max) {
		fprintf(stderr, "serverlike: bad -%c '%s' (0..%lu)\n", opt, arg, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	uint64_t checksum = 0;
	double t0, elapsed;
	int opt;

	while ((opt = getopt(argc, argv, "t:n:w:s:S:")) != -1) {
		switch (opt) {
		case 't': nthreads = parse(optarg, 't', MAX_THREADS); break;
		case 'n': iters = parse(optarg, 'n', 1UL << 40); break;
		case 'w': work = parse(optarg, 'w', 1UL << 40); break;
		case 's': sleep_every = parse(optarg, 's', 1UL << 40); break;
		case 'S': sleep_us = parse(optarg, 'S', 10000000); break;
		default:
			fprintf(stderr, "usage: serverlike [-t THREADS] [-n ITERS] [-w WORK]"
				" [-s SLEEP_EVERY] [-S SLEEP_US]\n");
			return 2;
		}
	}
	if (!nthreads) {
		fprintf(stderr, "serverlike: -t must be at least 1\n");
		return 2;
	}
	for (unsigned i = 0; i < nthreads; i++) {
		workers[i].id = i;
		workers[i].to_partner = -1;
		workers[i].from_partner = -1;
	}
	/* Pairs (0,1), (2,3)...; an odd last worker has no partner. */
	for (unsigned i = 0; i + 1 < nthreads; i += 2) {
		int a[2], b[2];

		if (pipe(a) || pipe(b))
			die("pipe");
		workers[i].to_partner = a[1];
		workers[i + 1].from_partner = a[0];
		workers[i + 1].to_partner = b[1];
		workers[i].from_partner = b[0];
	}
	t0 = now_s(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < nthreads; i++) {
		errno = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
		if (errno)
			die("pthread_create");
	}
	for (unsigned i = 0; i < nthreads; i++) {
		errno = pthread_join(workers[i].thread, NULL);
		if (errno)
			die("pthread_join");
		checksum ^= workers[i].sum;
	}
	elapsed = now_s(CLOCK_MONOTONIC) - t0;
	if (getrusage(RUSAGE_SELF, &ru))
		die("getrusage");
	printf("elapsed_s=%.4f cpu_s=%.4f checksum=%016" PRIx64 " threads=%u iters=%lu\n",
	       elapsed,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
	       checksum, nthreads, iters);
	return 0;
}
