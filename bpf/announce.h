/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A process seen for the first time, so user space reads its maps early. */
#ifndef SYSSCOPE_ANNOUNCE_H
#define SYSSCOPE_ANNOUNCE_H

struct new_proc {
	__u32 tgid;
	__u32 pad;
	__u64 cgroup_id;	/* resolved to its container while it exists */
};

#endif
