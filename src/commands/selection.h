/* SPDX-License-Identifier: MIT */
/* --container, --pod, -n, --cgroup: the cgroups a run is limited to. */
#ifndef SYSSCOPE_SELECTION_H
#define SYSSCOPE_SELECTION_H

#include <stddef.h>
#include <stdint.h>
#include "opts.h"
#include "resolver.h"

/*
 * --container, --pod or -n (o): the selected cgroups' directories, opened
 * into fds[SELECT_MAX], *n of them. The runtimes' files are read and
 * parsed by a sandboxed child (selection.c), never by this process. Errors
 * are said (by the child when it is about the selection): 0 or -errno.
 */
int selection__open(const struct opts *o, struct resolver *res, int *fds,
		    size_t *n);

/*
 * The ids of the cgroups open at fds and of every cgroup below them, as
 * they are now (a walk of cgroupfs; nothing parsed). *out is the caller's
 * to free. 0 or -errno.
 */
int selection__subtree_ids(const int *fds, size_t n, uint64_t **out,
			   size_t *nout);

#endif
