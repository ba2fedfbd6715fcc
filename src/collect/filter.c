// SPDX-License-Identifier: MIT
#include <errno.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "filter.h"

int filter__configure(const struct filter_vars *v,
		      const struct filter_config *cfg)
{
	int err;

	*v->filter_pids = cfg->npids > 0;
	*v->filter_tids = cfg->ntids > 0;
	*v->filter_cgroup = cfg->ncgroups > 0;
	*v->ncgroups = cfg->ncgroups;
	*v->cgroup_v1 = cfg->cgroup_v1;
	*v->user_threads_only = cfg->user_threads_only;
	*v->kernel_threads_only = cfg->kernel_threads_only;
	err = bpf_map__set_max_entries(v->pid_filter, cfg->npids ? cfg->npids : 1);
	return err ?: bpf_map__set_max_entries(v->tid_filter,
					       cfg->ntids ? cfg->ntids : 1);
}

static int fill_ids(struct bpf_map *map, const uint32_t *ids, size_t n)
{
	__u8 one = 1;

	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(bpf_map__fd(map), &ids[i], &one, BPF_ANY))
			return -errno;
	return 0;
}

int filter__fill(const struct filter_vars *v, const struct filter_config *cfg)
{
	int err;

	err = fill_ids(v->pid_filter, cfg->pids, cfg->npids);
	err = err ?: fill_ids(v->tid_filter, cfg->tids, cfg->ntids);
	for (__u32 i = 0; i < cfg->ncgroups && !err; i++)
		if (bpf_map_update_elem(bpf_map__fd(v->cgroup_filter), &i,
					&cfg->cgroup_fds[i], BPF_ANY))
			err = -errno;
	return err;
}
