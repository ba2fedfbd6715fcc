/* SPDX-License-Identifier: MIT */
/* User side of bpf/oncpu.bpf.c: load, attach, and read back into a profile. */
#ifndef SYSSCOPE_ONCPU_COLLECTOR_H
#define SYSSCOPE_ONCPU_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "oncpu.h"

struct profile;
struct symbolizer;

struct oncpu_config {
	unsigned int frequency;		/* Hz per CPU */
	const uint32_t *pids;
	size_t npids;
	const uint32_t *tids;
	size_t ntids;
	int cgroup_fd;			/* cgroup v2 directory, or -1 */
	int cpu;			/* -1: all */
	bool user_stacks, kernel_stacks;
	uint32_t max_entries, max_stacks;
};

struct oncpu;

/* Opens, loads and attaches; NULL and errno (the failing step is logged). */
struct oncpu *oncpu__start(const struct oncpu_config *cfg);
/* Stops sampling (perf events closed); the maps stay readable. */
void oncpu__stop(struct oncpu *oc);
void oncpu__free(struct oncpu *oc);

/* Waits up to timeout_ms for new processes and calls cb for each. */
typedef void (*new_proc_fn)(uint32_t tgid, void *ctx);
int oncpu__poll(struct oncpu *oc, int timeout_ms, new_proc_fn cb, void *ctx);

/* Sums the per-CPU counters into stats[ONCPU_STAT_MAX]. */
int oncpu__read_stats(struct oncpu *oc, uint64_t *stats);

/*
 * Moves every counted sample into p (value 0: samples, value 1: nanoseconds
 * at the sampling period). Stacks are named with sym.
 */
int oncpu__collect(struct oncpu *oc, struct symbolizer *sym,
		   struct profile *p);

/* Period in nanoseconds of one sample. */
uint64_t oncpu__period_ns(const struct oncpu *oc);

#endif
