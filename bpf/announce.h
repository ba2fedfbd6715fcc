/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A process seen for the first time, so user space reads its maps early. */
#ifndef SYSSCOPE_ANNOUNCE_H
#define SYSSCOPE_ANNOUNCE_H

/* The process exec'd: maps read before are another program's. */
#define NEW_PROC_EXEC 1

struct new_proc {
	__u32 tgid;
	__u32 flags;		/* NEW_PROC_EXEC */
	__u64 cgroup_id;	/* resolved to its container while it exists */
};

#endif
