/* SPDX-License-Identifier: MIT */
/*
 * cgroup id -> what runs in it: the cgroup's path, the container and pod
 * it belongs to, and that container's runtime metadata. Resolved once per
 * id and kept, so a container that exits keeps its name until the end of
 * a run; the agent forgets removed cgroups between windows.
 * A path is believed only where the runtime's own record of the
 * container's cgroup agrees (struct container_meta's cgroup).
 */
#ifndef SYSSCOPE_RESOLVER_H
#define SYSSCOPE_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cgroup_path.h"
#include "meta.h"

struct workload {
	uint64_t cgroup_id;
	char path[CGROUP_PATH_MAX];	/* relative to the hierarchy root */
	struct cgroup_info info;
	struct container_meta meta;	/* zeroed when there is none */
	int meta_err;			/* 0, or why the metadata is missing */
	char container[256];		/* display name: name or short id */
	char pod[520];			/* "namespace/name", or "" */
	/*
	 * The path named a container whose runtime put it elsewhere (a cgroup
	 * a tenant made below its own): info and meta are those of the real
	 * owner, the container the path is really in, or none ("unverified
	 * cgroup" is the display name then).
	 */
	bool unverified;
};

struct resolver_stats {
	uint64_t cgroup_mismatches;	/* cgroups found unverified */
	uint64_t forgotten;		/* workloads dropped: their cgroup is gone */
};

struct stat_field;

struct resolver;

/*
 * cgroup_root: the hierarchy the ids come from (the v2 mount, or a v1
 * controller's). host_root: prefix of the runtimes' /run and /var/lib.
 */
struct resolver *resolver__new(const char *cgroup_root, const char *host_root);
void resolver__free(struct resolver *r);

/* The workload of a cgroup id; NULL if the id names no cgroup we can find. */
const struct workload *resolver__get(struct resolver *r, uint64_t cgroup_id);

/* Walks the whole hierarchy, resolving every cgroup. 0 or -errno. */
int resolver__scan(struct resolver *r);
size_t resolver__count(const struct resolver *r);
const struct workload *resolver__at(const struct resolver *r, size_t i);

/*
 * Drops the workloads whose cgroup is gone, and the ids that named no
 * cgroup (the agent, between windows: a node where containers come and go
 * would otherwise keep every one). Pointers from resolver__get() and
 * resolver__at() are invalid after. The count dropped.
 */
size_t resolver__forget_gone(struct resolver *r);

const struct resolver_stats *resolver__stats(const struct resolver *r);
/* The table naming resolver_stats' counters (summary.txt, /metrics). */
const struct stat_field *resolver_stats__fields(size_t *n);

/* The absolute directory of a workload's cgroup. */
int resolver__dir(const struct resolver *r, const struct workload *w,
		  char *buf, size_t len);

/* The heap r holds (its workloads and tables). */
size_t resolver__bytes(const struct resolver *r);

#endif
