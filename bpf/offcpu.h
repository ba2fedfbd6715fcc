/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by bpf/offcpu.bpf.c and src/collect/offcpu_collector.c. */
#ifndef SYSSCOPE_OFFCPU_H
#define SYSSCOPE_OFFCPU_H

#include "oncpu.h"	/* TASK_COMM_LEN, MAX_STACK_DEPTH */

/* Why a thread was off the CPU, from its state when it left. */
enum offcpu_reason {
	OFFCPU_RUNQUEUE,	/* runnable (R, preempted): waiting for a CPU */
	OFFCPU_SLEEP,		/* interruptible (S), or an idle kernel wait */
	OFFCPU_IO,		/* uninterruptible (D): disk, page faults, ... */
	OFFCPU_THROTTLED,	/* runnable, but its CFS bandwidth is used up */
	OFFCPU_OTHER,		/* stopped, traced, dying */
	OFFCPU_REASON_MAX,
};

/* A user stack id taken before the stack map was last emptied (-ESTALE). */
#define STACK_ID_STALE (-116)
/*
 * A thread already off the CPU when the run began: its user stack was
 * walked then, and is in seed_ustacks under its tid. (Not an errno: those
 * mark stacks lost.)
 */
#define STACK_ID_SEEDED (-1000)
/*
 * Stacks the off-CPU maps hold at most, whatever --max-stacks says: they
 * are preallocated (updated in sched_switch), 1-1.5 KiB a stack.
 */
#define OFFCPU_STACKS_MAX 8192
/* Threads asleep at the start whose user stacks are kept (1 KiB each). */
#define SEED_USTACKS_MAX 4096

struct offcpu_key {
	__u64 cgroup_id;	/* of the thread that was off the CPU */
	__u64 kern_stack;	/* key in kstacks; 0: none or lost */
	__u64 proc_start_ns;	/* its process's start: pids are reused */
	__u32 tgid;
	__u32 tid;
	__s32 user_stack_id;	/* in stacks; STACK_ID_NONE, or -errno */
	__u32 reason;		/* enum offcpu_reason */
};

struct offcpu_value {
	__u64 total_ns;
	__u64 count;		/* intervals */
	char comm[TASK_COMM_LEN];
	char pcomm[TASK_COMM_LEN];
};

/*
 * A stack kept whole, by hash: kernel stacks of other tasks, user stacks
 * walked at the start. Zero after the last frame.
 */
struct stack_ips {
	__u64 ips[MAX_STACK_DEPTH];
};

/*
 * An interval still open when the run ends, written by the task iterator.
 * Its user stack is the one taken at switch-out (user_stack_id), or, for a
 * thread off the CPU since before the run, walked now (user[]).
 */
struct offcpu_open {
	__u64 cgroup_id;
	__u64 delta_ns;
	__u64 proc_start_ns;
	__u32 tgid;
	__u32 tid;
	__u32 reason;
	__s32 user_stack_id;
	__u32 nkern;
	__u32 nuser;
	__u32 weight;		/* the sampling period it was recorded under */
	__u32 unused;
	char comm[TASK_COMM_LEN];
	char pcomm[TASK_COMM_LEN];
	__u64 kern[MAX_STACK_DEPTH];
	__u64 user[MAX_STACK_DEPTH];
};

enum offcpu_stat {
	OFFCPU_STAT_SWITCHES,		/* switch-outs of wanted threads (in
					   sampled mode: recorded x period) */
	OFFCPU_STAT_SHORT,		/* intervals under --min-block */
	OFFCPU_STAT_COUNTED,		/* intervals recorded */
	OFFCPU_STAT_LOST_MAP_FULL,	/* counts map full: interval dropped */
	OFFCPU_STAT_LOST_NO_STORAGE,	/* no per-thread slot for the start */
	/*
	 * A stack missing, each cause once, as in enum oncpu_stat (kstacks
	 * is keyed by a 64-bit hash of the stack: no collisions).
	 */
	OFFCPU_STAT_KSTACK_FAILED,
	OFFCPU_STAT_KSTACK_MAP_FULL,
	OFFCPU_STAT_USTACK_FAILED,
	OFFCPU_STAT_USTACK_COLLISION,
	OFFCPU_STAT_USTACK_MAP_FULL,
	OFFCPU_STAT_USTACK_NO_MEMORY,	/* its element not taken (bucket busy) */
	OFFCPU_STAT_USTACK_REUSED,	/* blocked where it did last time */
	OFFCPU_STAT_KSTACK_REUSED,	/* woke from where it did last time */
	OFFCPU_STAT_NOTICE_LOST,
	OFFCPU_STAT_SEED_USTACK_LOST,	/* asleep at the start: stack not kept */
	OFFCPU_STAT_RECORDED,		/* switch-outs recorded (sampled mode) */
	OFFCPU_STAT_RECORD_NS,		/* ns spent recording (both halves) */
	OFFCPU_STAT_MAX,
};

#endif
