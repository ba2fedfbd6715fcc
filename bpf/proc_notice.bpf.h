/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Process notices (proc_notice.h), each process once on a ring buffer: user
 * space snapshots its mappings while it is alive, so it keeps its symbols
 * if it exits early. When both collectors run, the second reuses the
 * first's two maps (bpf_map__reuse_fd) and does not load its exec and exit
 * hooks (proc_exit.bpf.h), so a process is noticed, and read, once.
 */
#ifndef SYSSCOPE_PROC_NOTICE_BPF_H
#define SYSSCOPE_PROC_NOTICE_BPF_H

#include "proc_notice.h"

/* Each program file counts a lost notice in its own stats (defined there). */
static __always_inline void proc_notice_lost(void);

/* LRU: it never fills; an evicted process is noticed again, harmlessly. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} noticed_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} proc_notices SEC(".maps");

/* Which process of its pid task's is: its thread group leader's start. */
static __always_inline __u64 proc_start_ns(struct task_struct *task)
{
	return BPF_CORE_READ(task, group_leader, start_time);
}

/* false when the notice was lost (ring buffer full): count it. */
static __always_inline bool notice_proc(__u32 tgid, __u64 cgroup_id,
					__u64 start_ns)
{
	struct proc_notice *e;
	__u8 one = 1;

	if (bpf_map_lookup_elem(&noticed_procs, &tgid))
		return true;
	e = bpf_ringbuf_reserve(&proc_notices, sizeof(*e), 0);
	if (!e)
		return false;	/* not marked noticed: the next sample retries */
	bpf_map_update_elem(&noticed_procs, &tgid, &one, BPF_ANY);
	e->tgid = tgid;
	e->flags = 0;
	e->cgroup_id = cgroup_id;
	e->start_ns = start_ns;
	bpf_ringbuf_submit(e, 0);
	return true;
}

/* The process mapped code since its maps were read: false when lost. */
static __always_inline bool notice_remap(__u32 tgid)
{
	struct proc_notice *e = bpf_ringbuf_reserve(&proc_notices, sizeof(*e), 0);

	if (!e)
		return false;
	e->tgid = tgid;
	e->flags = PROC_NOTICE_REMAP;
	e->cgroup_id = 0;
	e->start_ns = proc_start_ns(bpf_get_current_task_btf());
	bpf_ringbuf_submit(e, 0);
	return true;
}

/*
 * exec replaces every mapping: forget the process so its next sample
 * notices it again, and tell user space to drop the maps it read, which
 * are the old program's. (A container's first process is runc's until it
 * execs the container's binary; a test's child is its runner's.) A thread
 * that execs and then sleeps all run has no next sample: its maps are read
 * when its interval is collected. Not read now: the libraries are not
 * mapped yet.
 */
SEC("raw_tp/sched_process_exec")
int on_exec(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct proc_notice *e;

	bpf_map_delete_elem(&noticed_procs, &tgid);
	e = bpf_ringbuf_reserve(&proc_notices, sizeof(*e), 0);
	if (!e) {
		proc_notice_lost();	/* ring full: the old maps stay */
		return 0;
	}
	e->tgid = tgid;
	e->flags = PROC_NOTICE_EXEC;
	e->cgroup_id = 0;
	e->start_ns = proc_start_ns(bpf_get_current_task_btf());
	bpf_ringbuf_submit(e, 0);
	return 0;
}

#endif
