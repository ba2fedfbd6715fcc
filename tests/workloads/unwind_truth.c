// SPDX-License-Identifier: MIT
/*
 * Ground truth for the CFI unwinder (tests/e2e/test_unwind.py).
 *
 *   unwind_truth MODE SECONDS
 *
 * The Makefile builds it without frame pointers (-O2 -fomit-frame-pointer,
 * gcc and clang, dynamic and -static): only the .eh_frame tables can walk
 * it. Every function of a chain is noinline (noipa with gcc: no clones
 * with renamed symbols either) and does work after its call, so no call
 * is a tail call and each chain is exact. Leaves make no call and keep no
 * frame. Each mode burns CPU (or blocks) in one known chain:
 *
 *   leaf     main -> outer -> mid -> leaf_spin
 *   recurse  main -> recurse x RECURSE_DEPTH -> recurse_leaf
 *   alloca   main -> alloca_frame (alloca of a runtime size: its CFA is
 *            rbp-based) -> alloca_leaf
 *   qsort    main -> sort_outer -> qsort (libc) -> ... -> cmp_callback
 *   signal   main -> signal_wait_loop, interrupted by SIGALRM (setitimer)
 *            whose handler on_signal -> handler_leaf burns most of the time
 *   threads  NTHREADS threads: clone3 -> start_thread -> thread_main ->
 *            thread_leaf; the main thread runs main -> thread_main ->
 *            thread_leaf too
 *   plt      main -> plt_loop calling strlen through the PLT in a tight loop
 *   block    main -> block_outer -> block_leaf -> nanosleep / poll on an
 *            empty pipe (off the CPU)
 *   blocksplit  main -> block_a -> block_leaf and main -> block_b ->
 *            block_leaf, alternately: two callers with the same frame
 *            size block at the same pc and sp, half the time each
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifdef __clang__
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noipa))
#endif
#define BARRIER() __asm__ volatile("" ::: "memory")

#define RECURSE_DEPTH 30
#define NTHREADS 2

volatile unsigned long sink;
/* Loop iterations per millisecond, measured at start. */
static volatile unsigned long iters_per_ms = 100000;
static double deadline;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The loop of every leaf: no call, no stack. */
#define SPIN(n) ({ \
	unsigned long acc_ = 0; \
	for (unsigned long i_ = 0; i_ < (n); i_++) { \
		acc_ += i_ ^ sink; \
		BARRIER(); \
	} \
	acc_; })

/* ---- leaf ---- */

NOINLINE unsigned long leaf_spin(unsigned long n)
{
	return SPIN(n);
}

NOINLINE unsigned long mid(unsigned long n)
{
	unsigned long r = leaf_spin(n);

	sink += r;
	return r + 1;
}

NOINLINE unsigned long outer(unsigned long n)
{
	unsigned long r = mid(n);

	sink += r;
	return r + 2;
}

/* ---- recurse ---- */

NOINLINE unsigned long recurse_leaf(unsigned long n)
{
	return SPIN(n);
}

NOINLINE unsigned long recurse(int depth, unsigned long n)
{
	unsigned long r = depth <= 1 ? recurse_leaf(n) : recurse(depth - 1, n);

	sink += r;
	return r + (unsigned long)depth;
}

/* ---- alloca ---- */

NOINLINE unsigned long alloca_leaf(volatile unsigned char *buf,
				   unsigned long n)
{
	unsigned long acc = 0;

	for (unsigned long i = 0; i < n; i++) {
		acc += buf[i & 63] + i;
		BARRIER();
	}
	return acc;
}

NOINLINE unsigned long alloca_frame(size_t len, unsigned long n)
{
	volatile unsigned char *buf = alloca(len);

	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)i;
	unsigned long r = alloca_leaf(buf, n);
	sink += r + buf[len - 1];
	return r;
}

/* ---- qsort ---- */

static volatile unsigned long cmp_iters = 2000;

NOINLINE int cmp_callback(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	for (unsigned long i = 0; i < cmp_iters; i++) {
		(void)sink;
		BARRIER();
	}
	return (x > y) - (x < y);
}

NOINLINE unsigned long sort_outer(int *arr, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		arr[i] = (int)(seed >> 8);
	}
	qsort(arr, n, sizeof(*arr), cmp_callback);
	sink += (unsigned long)arr[0];
	return (unsigned long)arr[n - 1];
}

/* ---- signal ---- */

NOINLINE unsigned long handler_leaf(unsigned long n)
{
	return SPIN(n);
}

NOINLINE void on_signal(int sig)
{
	/* 6 ms of each 10 ms period: most samples land here. */
	unsigned long r = handler_leaf(6 * iters_per_ms);

	sink += r + (unsigned long)sig;
}

NOINLINE void signal_wait_loop(double end)
{
	do {
		for (unsigned long i = 0; i < iters_per_ms / 4; i++) {
			sink++;
			BARRIER();
		}
	} while (now() < end);
	sink++;
}

/* ---- threads ---- */

NOINLINE unsigned long thread_leaf(unsigned long n)
{
	return SPIN(n);
}

NOINLINE void *thread_main(void *arg)
{
	double end = *(double *)arg;

	while (now() < end)
		sink += thread_leaf(iters_per_ms);
	sink++;
	return NULL;
}

/* ---- plt ---- */

static const char *volatile plt_str = "sixteen chars...";

/*
 * The stub's jmp through the GOT is one fast instruction: samples would
 * almost never land on it. Flushing the GOT (.got.plt: at most 0x100 bytes
 * here, strlen's slot among them) from the cache, then waiting for the
 * flush to be done, makes that jmp's load miss, so samples do land on it.
 */
static inline void flush_got(void)
{
#ifdef __x86_64__
	char *got;

	/* The assembler's GOTPC: the GOT's run-time address, PIE or not. */
	__asm__("lea _GLOBAL_OFFSET_TABLE_(%%rip), %0" : "=r"(got));
	for (int i = 0; i < 0x140; i += 64)
		__asm__ volatile("clflush %0" :: "m"(got[i]));
	for (int i = 0; i < 64; i++) {
		(void)sink;
		BARRIER();
	}
#endif
}

NOINLINE unsigned long plt_loop(double end)
{
	unsigned long acc = 0;

	do {
		for (int i = 0; i < 10000; i++) {
			flush_got();
			acc += strlen(plt_str);
		}
	} while (now() < end);
	sink += acc;
	return acc;
}

/* ---- block ---- */

NOINLINE void block_leaf(int fd)
{
	struct timespec ts = { 0, 2000000 };
	struct pollfd p = { .fd = fd, .events = POLLIN };

	nanosleep(&ts, NULL);
	poll(&p, 1, 2);		/* nothing is ever written: times out */
	sink++;
}

NOINLINE void block_outer(int fd, double end)
{
	while (now() < end)
		block_leaf(fd);
	sink++;
}

/* Twins: same frame, same call site offset; only the constant differs. */
NOINLINE void block_a(int fd)
{
	block_leaf(fd);
	sink += 1;
}

NOINLINE void block_b(int fd)
{
	block_leaf(fd);
	sink += 2;
}

/* ---- main ---- */

static void calibrate(void)
{
	double t0 = now();
	unsigned long n = 0;

	while (now() - t0 < 0.02) {
		sink += leaf_spin(100000);
		n += 100000;
	}
	iters_per_ms = (unsigned long)((double)n / ((now() - t0) * 1000)) + 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: unwind_truth leaf|recurse|alloca|qsort|signal|"
		"threads|plt|block|blocksplit SECONDS\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return usage();
	const char *mode = argv[1];
	double secs = atof(argv[2]);

	if (secs <= 0)
		return usage();
	calibrate();
	deadline = now() + secs;

	if (!strcmp(mode, "leaf")) {
		while (now() < deadline)
			sink += outer(iters_per_ms);
	} else if (!strcmp(mode, "recurse")) {
		while (now() < deadline)
			sink += recurse(RECURSE_DEPTH, iters_per_ms);
	} else if (!strcmp(mode, "alloca")) {
		/* A size the compiler cannot know. */
		size_t len = 64 + (size_t)(argc + (int)(sink & 1)) * 100;

		while (now() < deadline)
			sink += alloca_frame(len, iters_per_ms);
	} else if (!strcmp(mode, "qsort")) {
		int arr[200];
		unsigned int seed = 1;

		while (now() < deadline)
			sink += sort_outer(arr, 200, seed++);
	} else if (!strcmp(mode, "signal")) {
		struct sigaction sa;
		struct itimerval it = { { 0, 10000 }, { 0, 10000 } };

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL)) {
			perror("signal set-up");
			return 1;
		}
		signal_wait_loop(deadline);
		memset(&it, 0, sizeof(it));
		setitimer(ITIMER_REAL, &it, NULL);
	} else if (!strcmp(mode, "threads")) {
		pthread_t t[NTHREADS];
		char name[16];

		for (int i = 0; i < NTHREADS; i++) {
			if (pthread_create(&t[i], NULL, thread_main, &deadline)) {
				fprintf(stderr, "pthread_create failed\n");
				return 1;
			}
			snprintf(name, sizeof(name), "truth-%d", i);
			pthread_setname_np(t[i], name);
		}
		thread_main(&deadline);
		for (int i = 0; i < NTHREADS; i++)
			pthread_join(t[i], NULL);
	} else if (!strcmp(mode, "plt")) {
		sink += plt_loop(deadline);
	} else if (!strcmp(mode, "block")) {
		int fds[2];

		if (pipe(fds)) {
			perror("pipe");
			return 1;
		}
		block_outer(fds[0], deadline);
	} else if (!strcmp(mode, "blocksplit")) {
		int fds[2];

		if (pipe(fds)) {
			perror("pipe");
			return 1;
		}
		while (now() < deadline) {
			block_a(fds[0]);
			block_b(fds[0]);
		}
	} else {
		return usage();
	}
	return 0;
}
