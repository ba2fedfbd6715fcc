// SPDX-License-Identifier: MIT
/*
 * Ground truth for the container tests: a workload whose function names
 * carry a tag, so that each container runs code no other one has.
 * Built statically once per tag (-DTAG=alpha gives alpha_main_loop ->
 * alpha_stage -> alpha_leaf) and copied into each container's root only.
 *
 *   ctr_work [-d SECONDS] [-u PERCENT]   burn PERCENT of one CPU (default
 *                                        100) in TAG_leaf, in cycles of random
 *                                        length (6..14 ms)
 *   ctr_work -j [-d SECONDS]             JIT: one thread spins in code
 *                                        copied into an anonymous RWX
 *                                        mapping, named in
 *                                        /tmp/perf-<getpid()>.map
 *
 * -d 0 (the default) runs until killed. The spin is timed by the TSC read
 * inline, so no call leaves the leaf.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef TAG
#define TAG ctr
#endif
#define PASTE_(a, b) a##_##b
#define PASTE(a, b) PASTE_(a, b)
#define FN(name) PASTE(TAG, name)

static double duration;
static int duty = 100;
static uint64_t ticks_per_ms;
volatile unsigned long sink;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void calibrate(void)
{
	double t0 = now();
	uint64_t c0 = rdtsc();

	while (now() < t0 + 0.05)
		;
	ticks_per_ms = (rdtsc() - c0) / ((now() - t0) * 1000);
}

/* Spins for us microseconds of TSC time, all inside this function. */
__attribute__((noinline)) void FN(leaf)(long us)
{
	uint64_t end = rdtsc() + us * ticks_per_ms / 1000;
	unsigned long x = sink;

	while (rdtsc() < end)
		for (int i = 0; i < 64; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
}

__attribute__((noinline)) void FN(stage)(long us)
{
	FN(leaf)(us);
}

/*
 * glibc's nanosleep sets up no frame, so a frame-pointer walk skips its
 * caller: that is this helper, not TAG_nap, which the tests look for.
 */
__attribute__((noinline)) void FN(nap_call)(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

__attribute__((noinline)) void FN(nap)(long us)
{
	FN(nap_call)(us);
	sink++;		/* not a tail call */
}

/*
 * A cycle length in µs, uniform in 6..14 ms (mean 10 ms). A fixed 10 ms
 * cycle (plus wake-up latency) phase-locks with a 99 Hz sampler on a VM,
 * and then every sample lands in the burn or none does.
 */
static long cycle_us(void)
{
	static uint64_t x;

	if (!x)
		x = (uint64_t)getpid() * 2654435761ULL + rdtsc();
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return 6000 + (long)(x % 8001);
}

__attribute__((noinline)) void FN(main_loop)(void)
{
	double end = duration > 0 ? now() + duration : 1e300;

	while (now() < end) {
		long cycle = cycle_us(), on = cycle * duty / 100;

		FN(stage)(on);
		if (cycle - on > 0)
			FN(nap)(cycle - on);
	}
}

/*
 * push %rbp; mov %rsp,%rbp; 1: jmp 1b. A frame like a compiler's, so a
 * frame-pointer walk goes from the JIT code back to its caller.
 */
static const unsigned char jit_code[] = { 0x55, 0x48, 0x89, 0xe5, 0xeb, 0xfe };

__attribute__((noinline)) void FN(jit_enter)(void (*code)(void))
{
	code();
	sink++;		/* not a tail call */
}

static void *FN(jit_thread)(void *code)
{
	FN(jit_enter)((void (*)(void))code);
	return NULL;
}

/* Maps the code, names it as node --perf-basic-prof does, runs it. */
static int FN(jit_start)(void)
{
	char path[64];
	pthread_t t;
	FILE *f;
	void *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (code == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memcpy(code, jit_code, sizeof(jit_code));
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 1;
	}
	fprintf(f, "%lx %zx jit_spin_loop\n", (unsigned long)code,
		sizeof(jit_code));
	if (fclose(f))
		return 1;
	if (pthread_create(&t, NULL, FN(jit_thread), code))
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	int c, jit = 0;

	while ((c = getopt(argc, argv, "d:u:j")) != -1) {
		if (c == 'd')
			duration = atof(optarg);
		else if (c == 'u')
			duty = atoi(optarg);
		else if (c == 'j')
			jit = 1;
		else
			return 2;
	}
	if (duty < 1 || duty > 100)
		return 2;
	if (jit) {
		if (FN(jit_start)())
			return 1;
		/* The JIT thread spins until the process ends. */
		for (double end = duration > 0 ? now() + duration : 1e300;
		     now() < end;)
			FN(nap)(100000);
		return 0;
	}
	calibrate();
	FN(main_loop)();
	return 0;
}
