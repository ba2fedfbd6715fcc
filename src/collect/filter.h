/* SPDX-License-Identifier: MIT */
/* User side of bpf/filter.bpf.h: the same filters for every collector. */
#ifndef SYSSCOPE_FILTER_H
#define SYSSCOPE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

struct bpf_map;

struct filter_config {
	const uint32_t *pids;
	size_t npids;
	const uint32_t *tids;
	size_t ntids;
	const int *cgroup_fds;		/* cgroup v2 directories */
	size_t ncgroups;		/* 0: no cgroup filter */
	bool cgroup_v1;			/* name cgroups by the v1 cpu hierarchy */
	bool user_threads_only;
	bool kernel_threads_only;
};

/* Where a skeleton keeps filter.bpf.h's variables and maps. */
struct filter_vars {
	bool *filter_pids, *filter_tids, *filter_cgroup;
	bool *user_threads_only, *kernel_threads_only, *cgroup_v1;
	__u32 *ncgroups;
	struct bpf_map *pid_filter, *tid_filter, *cgroup_filter;
};

/* The filter_vars of any skeleton that includes filter.bpf.h. */
#define FILTER_VARS_OF(skel) ((struct filter_vars){			\
	.filter_pids = (bool *)&(skel)->rodata->filter_pids,		\
	.filter_tids = (bool *)&(skel)->rodata->filter_tids,		\
	.filter_cgroup = (bool *)&(skel)->rodata->filter_cgroup,	\
	.user_threads_only = (bool *)&(skel)->rodata->user_threads_only, \
	.kernel_threads_only = (bool *)&(skel)->rodata->kernel_threads_only, \
	.cgroup_v1 = (bool *)&(skel)->rodata->cgroup_v1,		\
	.ncgroups = (__u32 *)&(skel)->rodata->ncgroups,			\
	.pid_filter = (skel)->maps.pid_filter,				\
	.tid_filter = (skel)->maps.tid_filter,				\
	.cgroup_filter = (skel)->maps.cgroup_filter,			\
})

/* Before load: read-only flags and map sizes. 0 or -errno. */
int filter__configure(const struct filter_vars *v,
		      const struct filter_config *cfg);
/* After load: the pid, tid and cgroup entries. 0 or -errno. */
int filter__fill(const struct filter_vars *v, const struct filter_config *cfg);

#endif
