// SPDX-License-Identifier: MIT
/*
 * Ground truth for pid reuse: one pid, two processes, two programs.
 *
 *   pid_reuse SECONDS PROGRAM [ARGS...]
 *
 * A first child execs PROGRAM and is waited for. A second child is then
 * made with the same pid (clone3 with set_tid, which needs CAP_SYS_ADMIN
 * in the pid namespace) and, without exec, burns SECONDS in reuse_hot,
 * code of this binary only. Prints the pid; exits 3 if it could not be
 * had again.
 */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void reuse_hot(void)
{
	unsigned long x = sink;

	for (long i = 0; i < 100000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
}

__attribute__((noinline)) void reuse_run(double seconds)
{
	double end = now() + seconds;

	while (now() < end)
		reuse_hot();
}

int main(int argc, char **argv)
{
	struct clone_args args = { .exit_signal = SIGCHLD };
	pid_t first, tid;
	long second;
	int status;

	if (argc < 3)
		return 2;
	first = fork();
	if (first < 0)
		return 1;
	if (first == 0) {
		execv(argv[2], argv + 2);
		_exit(127);
	}
	if (waitpid(first, &status, 0) != first || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return 1;
	tid = first;
	args.set_tid = (uintptr_t)&tid;
	args.set_tid_size = 1;
	second = syscall(SYS_clone3, &args, sizeof(args));
	if (second < 0) {
		perror("clone3 with the first child's pid");
		return 3;
	}
	if (second == 0) {
		reuse_run(atof(argv[1]));
		_exit(0);
	}
	printf("%d %ld\n", first, second);
	fflush(stdout);
	if (waitpid((pid_t)second, &status, 0) != second || !WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status);
}
