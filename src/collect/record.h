/* SPDX-License-Identifier: MIT */
/*
 * The one way from a collector's raw data to the profile: every collector
 * decodes its BPF maps into struct raw_sample and hands it here, where it
 * gets its root frames, its symbolized stacks, its reason and its labels.
 */
#ifndef SYSSCOPE_RECORD_H
#define SYSSCOPE_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include "profile.h"
#include "stacks.h"

struct symbolizer;

enum stack_status {
	STACK_OK,
	STACK_NONE,		/* not asked for (-U/-K) or a kernel thread */
	STACK_LOST,		/* the walk failed or the map lost it */
};

struct raw_sample {
	uint64_t cgroup_id;
	uint64_t proc_start_ns;		/* which process of its pid (symbolize.h) */
	uint32_t tgid, tid;
	const char *comm;		/* thread name */
	const char *pcomm;		/* process name */
	const uint64_t *user_ips;	/* leaf first */
	uint32_t nuser;
	enum stack_status user;
	const uint64_t *kern_ips;
	uint32_t nkern;
	enum stack_status kern;
	const char *reason;		/* off-CPU reason, NULL when on-CPU */
	uint64_t values[PROFILE_MAX_VALUES];
};

/* Label keys every profile carries, in this order. */
enum record_label {
	LABEL_REASON,
	LABEL_CONTAINER,
	LABEL_POD,
	LABEL_NAMESPACE,
	LABEL_CONTAINER_ID,	/* the runtime's full id */
	LABEL_MAX,
};

struct resolver;

struct recorder {
	struct profile *p;
	struct stack_builder b;
	struct resolver *res;	/* cgroup id -> container; NULL: none */
	bool host_frame;	/* "[host]" above processes in no container */
};

/* Gives p its label keys; 0 or -errno. res may be NULL. */
int recorder__init(struct recorder *r, struct profile *p,
		   struct symbolizer *sym, struct resolver *res,
		   bool host_frame);
int recorder__add(struct recorder *r, const struct raw_sample *s);

#endif
