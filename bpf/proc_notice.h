/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A process notice: BPF tells user space of a process it sees for the first
 * time (so its maps are read while it lives), that exec'd (so the maps
 * read before, another program's, are dropped), or that exited (so a
 * process reusing its pid is not named from its maps).
 */
#ifndef SYSSCOPE_PROC_NOTICE_H
#define SYSSCOPE_PROC_NOTICE_H

/* The process exec'd: maps read before are another program's. */
#define PROC_NOTICE_EXEC 1
/* A pc outside the maps read before (a library dlopen'ed since): read again. */
#define PROC_NOTICE_REMAP 2
/*
 * The last thread exited (its BPF state is gone already): its pid may come
 * back as another process, told apart by start_ns.
 */
#define PROC_NOTICE_EXIT 4

struct proc_notice {
	__u32 tgid;
	__u32 flags;		/* PROC_NOTICE_EXEC, _REMAP, _EXIT */
	__u64 cgroup_id;	/* resolved to its container while it exists */
	__u64 start_ns;		/* the thread group leader's start_time */
};

#endif
