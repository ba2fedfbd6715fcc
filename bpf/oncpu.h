/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by bpf/oncpu.bpf.c and src/collect/oncpu_collector.c: fixed-width fields only. */
#ifndef SYSSCOPE_ONCPU_H
#define SYSSCOPE_ONCPU_H

#define TASK_COMM_LEN 16
#define MAX_STACK_DEPTH 127	/* the kernel's PERF_MAX_STACK_DEPTH */
#define STACK_ID_NONE (-1)	/* no stack asked for: -U/-K, kernel thread */

struct oncpu_key {
	__u64 cgroup_id;	/* cgroup v2 id of the thread when sampled */
	__u64 proc_start_ns;	/* its process's start: pids are reused */
	__u32 tgid;
	__u32 tid;
	__s32 kern_stack_id;	/* STACK_ID_NONE, or -errno of a failed walk */
	__s32 user_stack_id;
};

struct oncpu_value {
	__u64 count;
	/*
	 * The time the samples stand for, in ns: each the CPU's clock since
	 * its last sample (see sample_ns), exact while --cpu-budget changes
	 * the frequency in the middle of a window.
	 */
	__u64 ns;
	char comm[TASK_COMM_LEN];	/* thread name */
	char pcomm[TASK_COMM_LEN];	/* process name (thread group leader) */
};

enum oncpu_stat {
	ONCPU_STAT_SAMPLES,		/* perf events handled, idle included */
	ONCPU_STAT_IDLE,		/* samples of the idle task */
	ONCPU_STAT_FILTERED,		/* samples outside --pid/--tid/--cgroup */
	ONCPU_STAT_COUNTED,		/* samples in the counts map */
	ONCPU_STAT_LOST_MAP_FULL,	/* counts map full: sample dropped */
	/*
	 * Counted, but a stack missing, each cause once: the walk failed, a
	 * hash collision (its bucket or id taken by another stack), or the
	 * stack map full.
	 */
	ONCPU_STAT_KSTACK_FAILED,
	ONCPU_STAT_KSTACK_COLLISION,
	ONCPU_STAT_KSTACK_MAP_FULL,
	ONCPU_STAT_USTACK_FAILED,
	ONCPU_STAT_USTACK_COLLISION,
	ONCPU_STAT_USTACK_MAP_FULL,
	ONCPU_STAT_USTACK_NO_MEMORY,	/* its element not allocated at run time */
	ONCPU_STAT_NOTICE_LOST,	/* ring buffer full: process notice lost */
	ONCPU_STAT_OUTSIDE_WINDOW,	/* perf events before or between windows */
	ONCPU_STAT_MAX,
};

#endif
