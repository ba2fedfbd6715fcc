// SPDX-License-Identifier: MIT
/*
 * Ground truth for the off-CPU and wall-clock tests. One scenario per run:
 *
 *   offcpu_work spin-sleep SEC   spin 30% in spin_work, sleep 70% in nap, in
 *                                cycles of random length (6..14 ms)
 *   offcpu_work pipe SEC         reader blocks in blocking_read; a writer
 *                                thread writes every 100 ms
 *   offcpu_work fsync SEC FILE   write 4 KiB + fsync in sync_write, looping
 *   offcpu_work pinned SEC       3 busy threads (run it pinned to one CPU)
 *   offcpu_work sleeper SEC      one thread asleep in long_sleep all along
 *   offcpu_work late-wake SEC W  one thread asleep in wake_later for W s,
 *                                then napping in 1 ms steps until SEC
 *   offcpu_work alternate SEC    one thread sleeps 2 ms in nap_short, then
 *                                5 ms in nap_long, over and over: twin
 *                                functions that block with the same ip, sp
 *                                and bp, told apart only by their frames
 *   offcpu_work split SEC        one thread sleeps 6 ms in block_three, then
 *                                2 ms in block_one, over and over: 3:1
 *   offcpu_work two-reads SEC    one thread reads a pipe in wait_pipe, then
 *                                a socket in wait_socket, over and over,
 *                                from one read() call with the same
 *                                registers: two kernel paths, one site
 *   offcpu_work switchy SEC N    N threads that each spin ~30 us and sleep
 *                                1 ms: about N x 950 switches a second;
 *                                prints "rounds R" (all threads) at the end
 *
 * Threads are named after their role, so tests can find them by name.
 *
 * Each blocking libc call sits behind one more noinline helper: glibc's
 * wrappers set up no frame, so a frame-pointer walk skips the function
 * that calls them; the helper is what gets skipped, not the function the
 * tests look for.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double duration;
volatile unsigned long sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

	nanosleep(&ts, NULL);
}

__attribute__((noinline)) void sleep_ms(long ms)
{
	sleep_us(ms * 1000);
}

/*
 * A cycle length in µs, uniform in 6..14 ms (mean 10 ms). A fixed 10 ms
 * cycle (plus wake-up latency) beats against a 99 or 199 Hz sampler and
 * phase-locks to it on a VM: every sample then lands in the spin, or none
 * does. Real profilers sample periodic work the same way, so the ground
 * truth must not be periodic.
 */
static long cycle_us(void)
{
	static unsigned long long x;

	if (!x)
		x = (unsigned long long)getpid() * 2654435761ULL + 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return 6000 + (long)(x % 8001);
}

__attribute__((noinline)) void spin_work(double seconds)
{
	double end = now() + seconds;
	unsigned long x = sink;

	while (now() < end)
		for (int i = 0; i < 1000; i++)
			x = x * 6364136223846793005UL + 1;
	sink = x;
}

__attribute__((noinline)) void nap(long us)
{
	sleep_us(us);
}

/* 30% spin, 70% sleep, in cycles of random length (mean 10 ms). */
__attribute__((noinline)) void spin_sleep_loop(void)
{
	double end = now() + duration;

	while (now() < end) {
		long cycle = cycle_us();

		spin_work(cycle * 0.3e-6);
		nap(cycle * 7 / 10);
	}
}

static int pipe_fds[2];

__attribute__((noinline)) ssize_t read_once(char *buf, size_t len)
{
	return read(pipe_fds[0], buf, len);
}

__attribute__((noinline)) ssize_t blocking_read(char *buf, size_t len)
{
	return read_once(buf, len);
}

__attribute__((noinline)) void *reader_loop(void *arg)
{
	char buf[64];

	(void)arg;
	pthread_setname_np(pthread_self(), "reader");
	while (blocking_read(buf, sizeof(buf)) > 0)
		;
	return NULL;
}

__attribute__((noinline)) void writer_loop(void)
{
	double end = now() + duration;

	while (now() < end) {
		sleep_ms(100);
		if (write(pipe_fds[1], "x", 1) != 1)
			break;
	}
	close(pipe_fds[1]);
}

static int run_pipe(void)
{
	pthread_t reader;

	if (pipe(pipe_fds) || pthread_create(&reader, NULL, reader_loop, NULL))
		return 1;
	pthread_setname_np(pthread_self(), "writer");
	writer_loop();
	pthread_join(reader, NULL);
	return 0;
}

__attribute__((noinline)) int flush_file(int fd)
{
	return fsync(fd);
}

__attribute__((noinline)) int sync_write(int fd, const char *buf)
{
	if (pwrite(fd, buf, 4096, 0) != 4096)
		return -1;
	return flush_file(fd);
}

static int run_fsync(const char *path)
{
	double end = now() + duration;
	char buf[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return 1;
	pthread_setname_np(pthread_self(), "syncer");
	for (int i = 0; now() < end; i++) {
		memset(buf, i, sizeof(buf));
		if (sync_write(fd, buf))
			return 1;
	}
	close(fd);
	return 0;
}

__attribute__((noinline)) void *busy_loop(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "busy-%d", (int)(long)arg);
	pthread_setname_np(pthread_self(), name);
	spin_work(duration);
	return NULL;
}

static int run_pinned(void)
{
	pthread_t t[3];

	for (long i = 0; i < 3; i++)
		if (pthread_create(&t[i], NULL, busy_loop, (void *)i))
			return 1;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	return 0;
}

__attribute__((noinline)) void long_sleep(double seconds)
{
	sleep_ms((long)(seconds * 1000));
}

__attribute__((noinline)) void *sleeper_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "sleeper");
	long_sleep(duration);
	return NULL;
}

static int run_sleeper(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, sleeper_main, NULL))
		return 1;
	pthread_join(t, NULL);
	return 0;
}

__attribute__((noinline)) void wake_later(double seconds)
{
	sleep_ms((long)(seconds * 1000));
}

static int run_late_wake(double wake)
{
	double end = now() + duration;

	pthread_setname_np(pthread_self(), "late-waker");
	wake_later(wake);
	while (now() < end)
		sleep_ms(1);
	return 0;
}

/* Twins: same shape, same frame, called from the same place. */
__attribute__((noinline)) void nap_short(void)
{
	sleep_us(2000);
}

__attribute__((noinline)) void nap_long(void)
{
	sleep_us(5000);
}

static int run_alternate(void)
{
	double end = now() + duration;

	pthread_setname_np(pthread_self(), "alternator");
	while (now() < end) {
		void (*nap)(void) = nap_short;

		for (int i = 0; i < 2; i++) {
			nap();
			nap = nap_long;
		}
	}
	return 0;
}

__attribute__((noinline)) void block_three(void)
{
	sleep_us(6000);
}

__attribute__((noinline)) void block_one(void)
{
	sleep_us(2000);
}

static int run_split(void)
{
	double end = now() + duration;

	pthread_setname_np(pthread_self(), "splitter");
	while (now() < end) {
		block_three();
		block_one();
	}
	return 0;
}

static int two_fds[2][2];	/* a pipe and a socket pair: [read, write] */

__attribute__((noinline)) ssize_t read_from(int fd)
{
	char c;

	return read(fd, &c, 1);
}

__attribute__((noinline)) ssize_t wait_pipe(void)
{
	return read_from(two_fds[0][0]);
}

__attribute__((noinline)) ssize_t wait_socket(void)
{
	return read_from(two_fds[1][0]);
}

__attribute__((noinline)) void *two_reader_loop(void *arg)
{
	ssize_t (*wait)(void) = wait_pipe;

	(void)arg;
	pthread_setname_np(pthread_self(), "two-reader");
	/* One call site (this line) for both: ip and sp alike. */
	while (wait() > 0)
		wait = wait == wait_pipe ? wait_socket : wait_pipe;
	return NULL;
}

/* Writes to each in turn every 3 ms: the reader waits as long in either. */
static int run_two_reads(void)
{
	double end = now() + duration;
	pthread_t reader;
	int i = 0;

	if (pipe(two_fds[0]) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, two_fds[1]) ||
	    pthread_create(&reader, NULL, two_reader_loop, NULL))
		return 1;
	pthread_setname_np(pthread_self(), "two-writer");
	while (now() < end) {
		sleep_us(3000);
		if (write(two_fds[i][1], "x", 1) != 1)
			break;
		i ^= 1;
	}
	close(two_fds[0][1]);
	close(two_fds[1][1]);
	pthread_join(reader, NULL);
	return 0;
}

static unsigned long switchy_rounds;

__attribute__((noinline)) void *switchy_loop(void *arg)
{
	double end = now() + duration;
	unsigned long rounds = 0;

	(void)arg;
	pthread_setname_np(pthread_self(), "switchy");
	while (now() < end) {
		spin_work(30e-6);
		sleep_us(1000);
		rounds++;
	}
	__atomic_fetch_add(&switchy_rounds, rounds, __ATOMIC_RELAXED);
	return NULL;
}

static int run_switchy(int n)
{
	pthread_t t[256];

	if (n < 1 || n > 256)
		return 2;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, switchy_loop, NULL))
			return 1;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("rounds %lu\n", switchy_rounds);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	duration = atof(argv[2]);
	if (!strcmp(argv[1], "spin-sleep")) {
		spin_sleep_loop();
		return 0;
	}
	if (!strcmp(argv[1], "pipe"))
		return run_pipe();
	if (!strcmp(argv[1], "fsync") && argc > 3)
		return run_fsync(argv[3]);
	if (!strcmp(argv[1], "pinned"))
		return run_pinned();
	if (!strcmp(argv[1], "sleeper"))
		return run_sleeper();
	if (!strcmp(argv[1], "late-wake") && argc > 3)
		return run_late_wake(atof(argv[3]));
	if (!strcmp(argv[1], "alternate"))
		return run_alternate();
	if (!strcmp(argv[1], "split"))
		return run_split();
	if (!strcmp(argv[1], "two-reads"))
		return run_two_reads();
	if (!strcmp(argv[1], "switchy") && argc > 3)
		return run_switchy(atoi(argv[3]));
	return 2;
}
