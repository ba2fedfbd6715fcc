/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The cgroup id a sample is attributed to, taken in the kernel at the event:
 * the v2 cgroup's (its directory's inode number), or on nodes without
 * cgroup v2 the v1 cpu hierarchy's.
 */
#ifndef SYSSCOPE_CGROUP_ID_BPF_H
#define SYSSCOPE_CGROUP_ID_BPF_H

/* Name cgroups by the v1 cpu hierarchy (nodes without cgroup v2). */
const volatile bool cgroup_v1 = false;

/* The id user space resolves: the v2 cgroup, or the v1 cpu hierarchy's. */
static __always_inline __u64 task_cgroup_id(struct task_struct *t)
{
	struct cgroup_subsys_state *css;
	struct css_set *cs;
	int idx;

	if (!cgroup_v1)
		return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	idx = bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
	cs = BPF_CORE_READ(t, cgroups);
	if (idx < 0 || idx >= CGROUP_SUBSYS_COUNT ||
	    bpf_core_read(&css, sizeof(css), &cs->subsys[idx]))
		return 0;
	return BPF_CORE_READ(css, cgroup, kn, id);
}

static __always_inline __u64 current_cgroup_id(void)
{
	if (!cgroup_v1)
		return bpf_get_current_cgroup_id();
	return task_cgroup_id(bpf_get_current_task_btf());
}

#endif
