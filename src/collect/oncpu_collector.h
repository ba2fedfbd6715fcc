/* SPDX-License-Identifier: MIT */
/* User side of bpf/oncpu.bpf.c: load, attach, and read back into a profile. */
#ifndef SYSSCOPE_ONCPU_COLLECTOR_H
#define SYSSCOPE_ONCPU_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "oncpu.h"
#include "filter.h"
#include "prom.h"
#include "shared_maps.h"

struct recorder;
struct symbolizer;

struct oncpu_config {
	unsigned int frequency;		/* Hz per CPU */
	struct filter_config filter;
	int cpu;			/* -1: all */
	bool user_stacks, kernel_stacks;
	uint32_t max_entries, max_stacks;
	int value_count;		/* value index of sample counts, or -1 */
	int value_ns;			/* value index of CPU nanoseconds, or -1 */
	struct unwind_limits unwind;	/* the table maps' sizes, if owned */
	/* Another collector's maps to reuse (shared_maps.h), or NULL. */
	const struct shared_maps *shared;
	uint32_t validate_every;	/* 1 in N walks to the oracle; 0: none */
};

struct oncpu;

/* Opens, loads and attaches; NULL and errno (the failing step is logged). */
struct oncpu *oncpu__start(const struct oncpu_config *cfg);
/* Samples count from now_ns (CLOCK_MONOTONIC) on. */
void oncpu__begin(struct oncpu *oc, uint64_t now_ns);
/*
 * The agent's windows: pause (samples stop counting), collect, empty the
 * maps, and begin again. Pausing keeps the perf events open, and returns
 * once no sample of the window is still being counted. 0 or -errno (the
 * wait failed: a late sample may still land).
 */
int oncpu__pause(struct oncpu *oc);
int oncpu__empty(struct oncpu *oc);
/* Stops sampling (perf events closed); the maps stay readable. */
void oncpu__stop(struct oncpu *oc);
void oncpu__free(struct oncpu *oc);

/* A map to test reading with (the sandbox's CAP_BPF probe). */
int oncpu__stats_fd(const struct oncpu *oc);
/* The sampling program, for its run-time statistics. */
int oncpu__prog_fd(const struct oncpu *oc);
/* Its maps a second collector reuses (the shared ones, if given some). */
void oncpu__shared_maps(const struct oncpu *oc, struct shared_maps *out);
/* The ring buffer of struct unwind_sample (--validate-unwind). */
int oncpu__validate_fd(const struct oncpu *oc);
/* The counters' names in summary.txt and /metrics: [ONCPU_STAT_MAX]. */
const struct stat_desc *oncpu_stat__desc(void);

/* Sums the per-CPU counters into stats[ONCPU_STAT_MAX]. */
int oncpu__read_stats(struct oncpu *oc, uint64_t *stats);

/*
 * Hands every counted sample to the recorder. Processes not yet read are
 * read now, if still alive.
 */
int oncpu__collect(struct oncpu *oc, struct symbolizer *sym,
		   struct recorder *rec);

/* Period in nanoseconds of one sample, and the frequency it makes. */
uint64_t oncpu__period_ns(const struct oncpu *oc);
unsigned int oncpu__frequency(const struct oncpu *oc);
/*
 * Samples hz times a second a CPU from the next sample on (--cpu-budget).
 * Each sample adds its own period to its stack's time, so a window that
 * spans a change keeps its seconds. 0 or -errno.
 */
int oncpu__set_frequency(struct oncpu *oc, unsigned int hz);

#endif
