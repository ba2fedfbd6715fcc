/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A process's end: its pid can be given to another process, which must
 * not inherit what was kept for it. When the last thread exits, the
 * process is forgotten here (noticed_procs, so the next process with its
 * pid is noticed; unwind_procs, so that one is not walked with its
 * mappings) and user space is told (PROC_NOTICE_EXIT), which keeps its
 * maps aside for the samples it left (symbolizer__process_exited).
 * Included after proc_notice.bpf.h and unwind.bpf.h; loaded, like the
 * exec hook, by the collector that owns the shared maps.
 */
#ifndef SYSSCOPE_PROC_EXIT_BPF_H
#define SYSSCOPE_PROC_EXIT_BPF_H

/*
 * Runs in the exiting thread, after exit_mm, with no scheduler lock held:
 * the deletes may free memory. signal->live was counted down before: 0
 * once the thread group is dead (the pid is free only after that).
 */
SEC("raw_tp/sched_process_exit")
int on_proc_exit(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid = task->tgid;
	struct proc_notice *e;
	bool known;

	if (is_kthread(task) || BPF_CORE_READ(task, signal, live.counter))
		return 0;
	known = !bpf_map_delete_elem(&noticed_procs, &tgid);
	known = !bpf_map_delete_elem(&unwind_procs, &tgid) || known;
	if (!known)
		return 0;	/* nothing was kept for it */
	e = bpf_ringbuf_reserve(&proc_notices, sizeof(*e), 0);
	if (!e) {
		proc_notice_lost();	/* its next notice tells user space */
		return 0;
	}
	e->tgid = tgid;
	e->flags = PROC_NOTICE_EXIT;
	e->cgroup_id = 0;
	e->start_ns = proc_start_ns(task);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

#endif
