/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which threads a collector records: --pid, --tid, --cgroup,
 * --user-threads-only, --kernel-threads-only. Each BPF object that includes
 * this gets its own copy of the maps; user space fills each the same way.
 */
#ifndef SYSSCOPE_FILTER_BPF_H
#define SYSSCOPE_FILTER_BPF_H

#define PF_KTHREAD 0x00200000	/* include/linux/sched.h */
#define MAX_CGROUP_FILTERS 64

const volatile bool filter_pids = false;
const volatile bool filter_tids = false;
const volatile bool filter_cgroup = false;
const volatile bool user_threads_only = false;
const volatile bool kernel_threads_only = false;
const volatile __u32 ncgroups = 0;	/* entries in cgroup_filter */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);		/* set by user space before load */
	__type(key, __u32);
	__type(value, __u8);
} pid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8);
} tid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, MAX_CGROUP_FILTERS);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

static __always_inline bool is_kthread(struct task_struct *task)
{
	return BPF_CORE_READ(task, flags) & PF_KTHREAD;
}

/* By ids and thread kind: usable for any task. */
static __always_inline bool ids_wanted(__u32 tgid, __u32 tid,
				       struct task_struct *task)
{
	if (filter_pids && !bpf_map_lookup_elem(&pid_filter, &tgid))
		return false;
	if (filter_tids && !bpf_map_lookup_elem(&tid_filter, &tid))
		return false;
	if (user_threads_only && is_kthread(task))
		return false;
	if (kernel_threads_only && !is_kthread(task))
		return false;
	return true;
}

/* The current task: is it one we record? */
static __always_inline bool thread_wanted(__u32 tgid, __u32 tid,
					  struct task_struct *task)
{
	if (!ids_wanted(tgid, tid, task))
		return false;
	if (!filter_cgroup)
		return true;
	/* Any of the cgroups, and everything below them (v2 ancestry). */
	for (__u32 i = 0; i < MAX_CGROUP_FILTERS && i < ncgroups; i++)
		if (bpf_current_task_under_cgroup(&cgroup_filter, i) == 1)
			return true;
	return false;
}

#endif
