/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel struct drift, in one place, resolved by CO-RE at load time. */
#ifndef SYSSCOPE_CORE_FIXES_BPF_H
#define SYSSCOPE_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/* Kernel 5.14 (2f064a59a11f) renamed task_struct::state to __state. */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

struct task_struct___x {
	unsigned int __state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(struct task_struct___x, __state))
		return BPF_CORE_READ((struct task_struct___x *)t, __state);
	return BPF_CORE_READ((struct task_struct___o *)t, state);
}

/* Kernel 6.18 throttles CFS bandwidth per task: task_struct::throttled. */
struct task_struct___throttle {
	bool throttled;
} __attribute__((preserve_access_index));

/*
 * Runnable but held back by CFS bandwidth control: the task itself was
 * throttled (per-task model), or its cfs_rq or an ancestor's is
 * (throttle_count counts throttled ancestors, cfs_rq model).
 */
static __always_inline bool task_throttled(struct task_struct *t)
{
	if (bpf_core_field_exists(struct task_struct___throttle, throttled) &&
	    BPF_CORE_READ((struct task_struct___throttle *)t, throttled))
		return true;
	if (bpf_core_field_exists(struct cfs_rq, throttle_count) &&
	    bpf_core_field_exists(struct sched_entity, cfs_rq))
		return BPF_CORE_READ(t, se.cfs_rq, throttle_count) > 0;
	return false;
}

/*
 * Inserts key -> value unless the key is there: 0, or -errno (-EEXIST,
 * -E2BIG when full, -ENOMEM, -EBUSY). Map operations returned int until
 * kernel 6.4 (d7ba4cc900bf) and the JIT calls them directly, so before it
 * the upper half of the 64-bit result is not the sign: on 6.1 -EEXIST
 * reads as 4294967279. Only the low 32 bits are the error.
 */
static __always_inline int map_insert(void *map, const void *key,
				      const void *value)
{
	return (int)bpf_map_update_elem(map, key, value, BPF_NOEXIST);
}

#endif
