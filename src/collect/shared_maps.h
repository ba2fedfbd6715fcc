/* SPDX-License-Identifier: MIT */
/*
 * The maps both collectors use and must not have twice: process notices
 * (a process read once) and the unwinder's tables (one copy in the
 * kernel). The first collector loaded owns them; the second is given
 * their fds and reuses them (bpf_map__reuse_fd) before its load.
 */
#ifndef SYSSCOPE_SHARED_MAPS_H
#define SYSSCOPE_SHARED_MAPS_H

#include "proc_notices.h"
#include "unwinder.h"

struct shared_maps {
	struct proc_notice_maps notices;
	struct unwind_map_fds unwind;
};

#endif
