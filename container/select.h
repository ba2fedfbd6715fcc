/* SPDX-License-Identifier: MIT */
/* Which workloads --container, --pod and -n name, or why none or many. */
#ifndef SYSSCOPE_SELECT_H
#define SYSSCOPE_SELECT_H

#include <stddef.h>
#include "resolver.h"

#define SELECT_MAX 64

enum select_kind {
	SELECT_CONTAINER,	/* container name, or id prefix (4+ digits) */
	SELECT_POD,		/* [namespace/]pod name */
	SELECT_NAMESPACE,	/* every pod of a Kubernetes namespace */
};

struct selection {
	const struct workload *w[SELECT_MAX];
	size_t n;
};

/*
 * Fills sel from the workloads the resolver knows (scan it first). 0, or
 * -ENOENT (msg: close matches), -EEXIST (msg: the ambiguous candidates),
 * -E2BIG (more than SELECT_MAX cgroups).
 */
int select__workloads(const struct resolver *r, enum select_kind kind,
		      const char *arg, struct selection *sel, char *msg,
		      size_t msglen);

#endif
