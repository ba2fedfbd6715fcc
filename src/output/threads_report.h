/* SPDX-License-Identifier: MIT */
/* threads.txt: each thread's time on and off the CPU, and coverage. */
#ifndef SYSSCOPE_THREADS_REPORT_H
#define SYSSCOPE_THREADS_REPORT_H

#include <stdio.h>
#include "profile.h"

struct threads_opts {
	int cpu_value;			/* value index of on-CPU ns, or -1 */
	int offcpu_value;		/* value index of off-CPU ns, or -1 */
	uint64_t duration_ns;
};

/*
 * Per thread: on-CPU time, off-CPU time by reason, and coverage
 * (on + off) / duration; then per process. Flags coverage far from 100%.
 */
int threads__write(const struct profile *p, const struct threads_opts *o,
		   FILE *f);

#endif
