// SPDX-License-Identifier: MIT
/*
 * Ground truth for the hardening tests: a workload that maps hostile files
 * as code, so that the profiler has to read them to name its frames.
 *
 *   hostile [-d SECONDS] [-u PERCENT] [-m FILE]... [-x FILE:OFFSET]... [-j]
 *
 *   -m FILE         map FILE (up to its first MiB, at least one page)
 *                   PROT_READ|PROT_EXEC, MAP_PRIVATE. Nothing calls into it:
 *                   it is only mapped.
 *   -x FILE:OFFSET  map the pages of FILE around OFFSET the same way and run
 *                   the code at OFFSET in a thread of its own, entered from
 *                   hostile_exec_enter(). The code must be the spin code
 *                   that -w writes (or a function like it: it must never
 *                   return and touch no memory but its stack).
 *   -j              JIT: the spin code copied into an anonymous RWX page and
 *                   run in a thread, named "hostile_jit_spin" by a line
 *                   appended to /tmp/perf-<getpid()>.map when that is a
 *                   regular file or missing. When it is a FIFO, it is opened
 *                   read-write and held: a writer exists, so a profiler that
 *                   blocks on it would wait forever. Anything else (a
 *                   symlink...) is left alone.
 *   -u PERCENT      the main thread burns PERCENT of a CPU (default 10) in
 *                   hostile_main_loop -> hostile_stage -> hostile_leaf.
 *   -d SECONDS      run time; 0 (the default) runs until killed.
 *
 *   hostile -w FILE:OFFSET   writes the spin code at OFFSET of FILE (which
 *                            must exist; it is not truncated) and exits.
 *
 * The spin code sets up a frame like a compiler's (so a frame-pointer walk
 * goes from it back to hostile_exec_enter), spins ~5M iterations, sleeps
 * 30 ms with a raw nanosleep syscall, and loops: a few % of a CPU per
 * thread, on-CPU and off-CPU, with no reference to any other memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAX_MAP_BYTES (1UL << 20)

/*
 *  0: 55                       push   %rbp
 *  1: 48 89 e5                 mov    %rsp,%rbp
 *  4: 48 83 ec 10              sub    $0x10,%rsp
 *  8: b9 40 4b 4c 00           mov    $5000000,%ecx      <- loop
 *  d: ff c9                    dec    %ecx               <- spin
 *  f: 75 fc                    jne    d
 * 11: 48 c7 04 24 00 00 00 00  movq   $0,(%rsp)          tv_sec
 * 19: 48 c7 44 24 08 80 c3 c9 01  movq $30000000,8(%rsp) tv_nsec
 * 22: b8 23 00 00 00           mov    $35,%eax           SYS_nanosleep
 * 27: 48 89 e7                 mov    %rsp,%rdi
 * 2a: 31 f6                    xor    %esi,%esi
 * 2c: 0f 05                    syscall
 * 2e: eb d8                    jmp    8
 */
static const unsigned char spin_code[] = {
	0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10,
	0xb9, 0x40, 0x4b, 0x4c, 0x00,
	0xff, 0xc9, 0x75, 0xfc,
	0x48, 0xc7, 0x04, 0x24, 0x00, 0x00, 0x00, 0x00,
	0x48, 0xc7, 0x44, 0x24, 0x08, 0x80, 0xc3, 0xc9, 0x01,
	0xb8, 0x23, 0x00, 0x00, 0x00,
	0x48, 0x89, 0xe7, 0x31, 0xf6, 0x0f, 0x05,
	0xeb, 0xd8,
};

static double duration;
static int duty = 10;
static uint64_t ticks_per_ms;
volatile unsigned long sink;
static int held_fifo = -1;

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

__attribute__((noinline)) void hostile_leaf(long us)
{
	uint64_t end = rdtsc() + us * ticks_per_ms / 1000;
	unsigned long x = sink;

	while (rdtsc() < end)
		for (int i = 0; i < 64; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
}

__attribute__((noinline)) void hostile_stage(long us)
{
	hostile_leaf(us);
}

__attribute__((noinline)) void hostile_nap_call(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

__attribute__((noinline)) void hostile_nap(long us)
{
	hostile_nap_call(us);
	sink++;		/* not a tail call */
}

/*
 * A cycle length in µs, uniform in 6..14 ms: a fixed 10 ms cycle
 * phase-locks with a 99 Hz sampler on a VM (all samples or none).
 */
static long cycle_us(void)
{
	static uint64_t x;

	if (!x)
		x = (uint64_t)getpid() * 2654435761ULL + 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return 6000 + (long)(x % 8001);
}

__attribute__((noinline)) void hostile_main_loop(void)
{
	double end = duration > 0 ? now() + duration : 1e300;

	while (now() < end) {
		long cycle = cycle_us(), on = cycle * duty / 100;

		hostile_stage(on);
		if (cycle - on > 0)
			hostile_nap(cycle - on);
	}
}

/* Code in a hostile file or in JIT memory: it never returns. */
__attribute__((noinline)) void hostile_exec_enter(void (*code)(void))
{
	code();
	sink++;		/* not a tail call */
}

static void *exec_thread(void *code)
{
	hostile_exec_enter((void (*)(void))code);
	return NULL;
}

static int start_thread(void *code)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, exec_thread, code);

	if (err)
		fprintf(stderr, "hostile: pthread_create: %s\n", strerror(err));
	return err ? 1 : 0;
}

/* Maps len bytes of path at off (page-aligned) as code; NULL on failure. */
static void *map_code(const char *path, off_t off, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0) {
		fprintf(stderr, "hostile: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, off);
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "hostile: mmap %s at %lld: %s\n", path,
			(long long)off, strerror(errno));
		return NULL;
	}
	return p;
}

static int map_file(const char *path)
{
	struct stat st;
	size_t len;

	if (stat(path, &st)) {
		fprintf(stderr, "hostile: %s: %s\n", path, strerror(errno));
		return 1;
	}
	len = st.st_size < (off_t)MAX_MAP_BYTES ? (size_t)st.st_size :
						   MAX_MAP_BYTES;
	len = len ? (len + PAGE - 1) & ~(PAGE - 1) : PAGE;
	return map_code(path, 0, len) ? 0 : 1;
}

/* "FILE:OFFSET" (OFFSET in C notation: 0x... for hex). */
static int split_arg(char *arg, char **path, unsigned long long *off)
{
	char *colon = strrchr(arg, ':'), *end;

	if (!colon)
		return -1;
	*colon = '\0';
	errno = 0;
	*off = strtoull(colon + 1, &end, 0);
	if (errno || *end || end == colon + 1)
		return -1;
	*path = arg;
	return 0;
}

static int exec_file(char *arg)
{
	unsigned long long off;
	char *path, *base;

	if (split_arg(arg, &path, &off))
		return 2;
	/* Two pages: the code may cross a page boundary. */
	base = map_code(path, (off_t)(off & ~(PAGE - 1)), 2 * PAGE);
	if (!base)
		return 1;
	return start_thread(base + (off & (PAGE - 1)));
}

static int write_code(char *arg)
{
	unsigned long long off;
	char *path;
	int fd;

	if (split_arg(arg, &path, &off))
		return 2;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, spin_code, sizeof(spin_code), (off_t)off) !=
			      (ssize_t)sizeof(spin_code)) {
		fprintf(stderr, "hostile: writing %s: %s\n", path, strerror(errno));
		return 1;
	}
	return close(fd) ? 1 : 0;
}

/* Names the JIT code in the perf map, or holds the FIFO found there. */
static int name_jit(void *code)
{
	char path[64];
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	if (!lstat(path, &st) && S_ISFIFO(st.st_mode)) {
		held_fifo = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (held_fifo < 0) {
			fprintf(stderr, "hostile: %s: %s\n", path, strerror(errno));
			return 1;
		}
		return 0;
	}
	if (!lstat(path, &st) && !S_ISREG(st.st_mode))
		return 0;
	f = fopen(path, "ae");
	if (!f) {
		fprintf(stderr, "hostile: %s: %s\n", path, strerror(errno));
		return 1;
	}
	fprintf(f, "%lx %zx hostile_jit_spin\n", (unsigned long)code,
		sizeof(spin_code));
	return fclose(f) ? 1 : 0;
}

static int jit_start(void)
{
	void *code = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (code == MAP_FAILED) {
		perror("hostile: mmap");
		return 1;
	}
	memcpy(code, spin_code, sizeof(spin_code));
	if (name_jit(code))
		return 1;
	return start_thread(code);
}

int main(int argc, char **argv)
{
	int c, err = 0, jit = 0;

	while ((c = getopt(argc, argv, "d:u:m:x:jw:")) != -1) {
		switch (c) {
		case 'd':
			duration = atof(optarg);
			break;
		case 'u':
			duty = atoi(optarg);
			break;
		case 'm':
			err |= map_file(optarg);
			break;
		case 'x':
			err |= exec_file(optarg);
			break;
		case 'j':
			jit = 1;
			break;
		case 'w':
			return write_code(optarg);
		default:
			return 2;
		}
	}
	if (duty < 1 || duty > 100 || optind != argc)
		return 2;
	if (jit)
		err |= jit_start();
	/* A file that could not be mapped is reported; the rest still runs. */
	if (err)
		fprintf(stderr, "hostile: some files were not mapped\n");
	calibrate();
	hostile_main_loop();
	if (held_fifo >= 0)
		close(held_fifo);
	return err ? 1 : 0;
}
