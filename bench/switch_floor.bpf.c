// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of bench/switch_cost.sh: a program on the same tracepoint as
 * the off-CPU tracer's (tp_btf/sched_switch) that does nothing. What the
 * kernel's bpf_stats charge it per run is what any program there costs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_floor, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
