/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Announces each process once on a ring buffer: user space snapshots its
 * mappings while it is alive, so it keeps its symbols if it exits early.
 */
#ifndef SYSSCOPE_ANNOUNCE_BPF_H
#define SYSSCOPE_ANNOUNCE_BPF_H

#include "announce.h"

/* LRU: it never fills; an evicted process is announced again, harmlessly. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} seen_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} new_procs SEC(".maps");

/* false when the notice was lost (ring buffer full): count it. */
static __always_inline bool announce_proc(__u32 tgid, __u64 cgroup_id)
{
	struct new_proc *e;
	__u8 one = 1;

	if (bpf_map_lookup_elem(&seen_procs, &tgid))
		return true;
	e = bpf_ringbuf_reserve(&new_procs, sizeof(*e), 0);
	if (!e)
		return false;	/* not marked seen: the next sample retries */
	bpf_map_update_elem(&seen_procs, &tgid, &one, BPF_ANY);
	e->tgid = tgid;
	e->pad = 0;
	e->cgroup_id = cgroup_id;
	bpf_ringbuf_submit(e, 0);
	return true;
}

/*
 * exec replaces every mapping: forget the process so its next sample
 * announces it again and user space reads the new ones. (A container's
 * first process is runc's until it execs the container's binary.)
 */
SEC("raw_tp/sched_process_exec")
int on_exec(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	bpf_map_delete_elem(&seen_procs, &tgid);
	return 0;
}

#endif
