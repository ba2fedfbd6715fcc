/* SPDX-License-Identifier: MIT */
/* User side of bpf/offcpu.bpf.c: load, attach, read back into a recorder. */
#ifndef SYSSCOPE_OFFCPU_COLLECTOR_H
#define SYSSCOPE_OFFCPU_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "offcpu.h"
#include "filter.h"
#include "prom.h"
#include "shared_maps.h"

struct recorder;
struct symbolizer;

struct offcpu_config {
	struct filter_config filter;
	uint64_t min_block_ns;
	bool user_stacks, kernel_stacks;
	uint32_t max_entries, max_stacks;
	/* With a cgroup filter: every cgroup id in (and below) the selection. */
	const uint64_t *cgroup_ids;
	size_t ncgroup_ids;
	int value_ns;			/* value index of off-CPU ns, or -1 */
	int value_count;		/* value index of interval counts, or -1 */
	struct unwind_limits unwind;	/* the table maps' sizes, if owned */
	/* Another collector's maps to reuse (shared_maps.h), or NULL. */
	const struct shared_maps *shared;
};

struct offcpu;

/* Opens, loads and attaches; NULL and errno (the failing step is logged). */
struct offcpu *offcpu__start(const struct offcpu_config *cfg);
/*
 * The run starts now (CLOCK_MONOTONIC ns): earlier time is not counted,
 * and threads off the CPU now are counted from now. 0 or -errno.
 */
int offcpu__begin(struct offcpu *oc, uint64_t now_ns);
/*
 * Stops the run: intervals open now are closed at now_ns. The tracer
 * detaches after offcpu__collect has read them.
 */
void offcpu__stop(struct offcpu *oc, uint64_t now_ns);
/*
 * The agent's windows: end_window (intervals stop counting; those still
 * open are counted up to now_ns by offcpu__collect), collect, empty, and
 * next_window, which opens the next one at now_ns.
 */
void offcpu__end_window(struct offcpu *oc, uint64_t now_ns);
/*
 * Empties the counts; with stacks, the stack maps too. Threads asleep
 * since before that lose their user stack when they wake (it was taken
 * when they blocked), so stacks are emptied rarely: their ids stay valid
 * (a stack keeps its id) until then.
 */
int offcpu__empty(struct offcpu *oc, bool stacks);
void offcpu__next_window(struct offcpu *oc, uint64_t now_ns);
void offcpu__free(struct offcpu *oc);
/*
 * Records about rate switch-outs a second of each thread, each counting
 * for those it stands for (0: every one, the default). See
 * bpf/offcpu.bpf.c.
 */
void offcpu__set_record_rate(struct offcpu *oc, uint32_t rate);
uint32_t offcpu__record_rate(const struct offcpu *oc);

int offcpu__read_stats(struct offcpu *oc, uint64_t *stats);
/* A map to test reading with (the sandbox's CAP_BPF probe). */
int offcpu__stats_fd(const struct offcpu *oc);
/* The sched_switch program, for its run-time statistics. */
int offcpu__prog_fd(const struct offcpu *oc);
/* Its maps a second collector reuses (the shared ones, if given some). */
void offcpu__shared_maps(const struct offcpu *oc, struct shared_maps *out);
/* The counters' names in summary.txt and /metrics: [OFFCPU_STAT_MAX]. */
const struct stat_desc *offcpu_stat__desc(void);
/* Recorded intervals and the ones still open at the stop. */
int offcpu__collect(struct offcpu *oc, struct symbolizer *sym,
		    struct recorder *rec);

const char *offcpu_reason__name(enum offcpu_reason r);

#endif
