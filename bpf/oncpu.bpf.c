// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* On-CPU sampler: a perf_event program counting stacks per thread and cgroup. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "oncpu.h"
#include "cgroup_id.bpf.h"
#include "filter.bpf.h"
#include "proc_notice.bpf.h"

#define EFAULT 14
#define EEXIST 17
#define ENOMEM 12
#define ENOSPC 28

#include "unwind.bpf.h"
#include "proc_exit.bpf.h"

/* Samples count from here (CLOCK_MONOTONIC), set once all is attached. */
__u64 window_start_ns;

const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;

/* Sizes are set by user space before load (bpf_map__set_max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct oncpu_key);
	__type(value, struct oncpu_value);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ONCPU_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* The CPU's cpu-clock count at its last sample, in ns. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_clock SEC(".maps");

/*
 * The time this sample stands for: the CPU's clock since its last sample.
 * Not ctx->sample_period: after PERF_EVENT_IOC_PERIOD (--cpu-budget
 * changing the frequency) the kernel still reports the old period for a
 * cpu-clock event, and the part of the old period before the change would
 * be lost. The first sample of a CPU counts its period.
 */
static __always_inline __u64 sample_ns(struct bpf_perf_event_data *ctx)
{
	struct bpf_perf_event_value v;
	__u32 zero = 0;
	__u64 *last = bpf_map_lookup_elem(&last_clock, &zero), ns;

	if (!last || bpf_perf_prog_read_value(ctx, &v, sizeof(v)))
		return ctx->sample_period;
	ns = *last && v.counter > *last ? v.counter - *last : ctx->sample_period;
	*last = v.counter;
	return ns;
}

static __always_inline void stat_inc(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &stat);

	if (v)
		*v += 1;
}

static __always_inline void proc_notice_lost(void)
{
	stat_inc(ONCPU_STAT_NOTICE_LOST);
}

/*
 * A sample taken in user mode has no kernel stack (-EFAULT): that is not a
 * failure.
 */
static __always_inline __s32 kernel_stack_id(void *ctx)
{
	long id = bpf_get_stackid(ctx, &stacks, 0);

	if (id == -EEXIST)
		stat_inc(ONCPU_STAT_KSTACK_COLLISION);
	else if (id == -ENOMEM)	/* no free bucket */
		stat_inc(ONCPU_STAT_KSTACK_MAP_FULL);
	else if (id < 0 && id != -EFAULT)
		stat_inc(ONCPU_STAT_KSTACK_FAILED);
	return id;
}

/* --validate-unwind: the walk checked in user space with libdw. */
/* 1 in validate_every walks is also sent to user space (0: none). */
const volatile __u32 validate_every = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} unwind_samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} validate_count SEC(".maps");

/*
 * After a walk (the scratch still holds it): sends the registers, 16 KiB
 * of stack and the walk, for user space to check with libdw. Sparse: the
 * copy costs more than the walk.
 */
static __always_inline void unwind_validate(__u32 pid, __u32 tid)
{
#if defined(__TARGET_ARCH_x86)	/* the CFI walk and its registers: x86-64 */
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(task);
	struct unwind_scratch *w;
	struct unwind_sample *e;
	__u32 zero = 0, len = 0;
	__u64 *n;

	n = bpf_map_lookup_elem(&validate_count, &zero);
	if (!validate_every || !n || (*n)++ % validate_every)
		return;
	w = bpf_map_lookup_elem(&unwind_scratch, &zero);
	if (!w)
		return;
	e = bpf_ringbuf_reserve(&unwind_samples, sizeof(*e), 0);
	if (!e)
		return;
	e->pid = pid;
	e->tid = tid;
	e->regs[0] = r->ax; e->regs[1] = r->dx; e->regs[2] = r->cx;
	e->regs[3] = r->bx; e->regs[4] = r->si; e->regs[5] = r->di;
	e->regs[6] = r->bp; e->regs[7] = r->sp; e->regs[8] = r->r8;
	e->regs[9] = r->r9; e->regs[10] = r->r10; e->regs[11] = r->r11;
	e->regs[12] = r->r12; e->regs[13] = r->r13; e->regs[14] = r->r14;
	e->regs[15] = r->r15; e->regs[16] = PT_REGS_IP(r);
	/*
	 * Page by page from rsp's: a read fails whole when one page of it is
	 * not resident (a deep frame that was never written, the stack's end),
	 * and here nothing may fault. A missing page is left zero and marked:
	 * the walk needs only the slots it reads, and those are resident.
	 */
	e->stack_addr = PT_REGS_SP(r) & ~(__u64)(UNWIND_COPY_CHUNK - 1);
	e->pages_missing = 0;
	for (int i = 0; i < UNWIND_COPY_BYTES / UNWIND_COPY_CHUNK; i++) {
		if (bpf_probe_read_user(e->stack + i * UNWIND_COPY_CHUNK,
					UNWIND_COPY_CHUNK,
					(void *)(e->stack_addr + i * UNWIND_COPY_CHUNK)))
			e->pages_missing |= 1u << i;
		len += UNWIND_COPY_CHUNK;
	}
	e->stack_len = len;
	e->nips = w->depth < MAX_STACK_DEPTH ? w->depth : MAX_STACK_DEPTH;
	bpf_probe_read_kernel(e->ips, sizeof(e->ips), w->stack.ips);
	bpf_ringbuf_submit(e, 0);
#endif
}

/* The user stack, walked with the CFI tables (unwind.bpf.h). */
static __always_inline __s32 user_stack_id(__u32 tgid)
{
	bool tables;
	__s32 id = unwind_user_stack(tgid, &tables);

	if (validate_every && tables)
		unwind_validate(tgid, (__u32)bpf_get_current_pid_tgid());

	if (id == -EEXIST)
		stat_inc(ONCPU_STAT_USTACK_COLLISION);
	else if (id == -ENOSPC)
		stat_inc(ONCPU_STAT_USTACK_MAP_FULL);
	else if (id == -ENOMEM)
		stat_inc(ONCPU_STAT_USTACK_NO_MEMORY);
	else if (id < 0)
		stat_inc(ONCPU_STAT_USTACK_FAILED);
	return id;
}

static __always_inline void count_sample(struct oncpu_key *key,
					 struct task_struct *task, __u64 period)
{
	struct oncpu_value *val, zero = {};
	int err;

	val = bpf_map_lookup_elem(&counts, key);
	if (val) {
		__sync_fetch_and_add(&val->count, 1);
		__sync_fetch_and_add(&val->ns, period);
		stat_inc(ONCPU_STAT_COUNTED);
		return;
	}
	zero.count = 1;
	zero.ns = period;
	bpf_get_current_comm(zero.comm, sizeof(zero.comm));
	BPF_CORE_READ_STR_INTO(&zero.pcomm, task, group_leader, comm);
	err = map_insert(&counts, key, &zero);
	if (err == -EEXIST) {
		/* Another CPU inserted the key between lookup and update. */
		val = bpf_map_lookup_elem(&counts, key);
		if (val) {
			__sync_fetch_and_add(&val->count, 1);
			__sync_fetch_and_add(&val->ns, period);
		}
	} else if (err) {
		stat_inc(ONCPU_STAT_LOST_MAP_FULL);
		return;
	}
	stat_inc(ONCPU_STAT_COUNTED);
}

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	struct oncpu_key key = {};
	__u64 ns = sample_ns(ctx);
	bool kthread;

	if (bpf_ktime_get_ns() < window_start_ns) {
		/* Setting up, or between the agent's windows: not counted. */
		stat_inc(ONCPU_STAT_OUTSIDE_WINDOW);
		return 0;
	}
	stat_inc(ONCPU_STAT_SAMPLES);
	key.tgid = id >> 32;
	key.tid = (__u32)id;
	if (key.tid == 0) {
		stat_inc(ONCPU_STAT_IDLE);
		return 0;
	}
	if (!thread_wanted(key.tgid, key.tid, task)) {
		stat_inc(ONCPU_STAT_FILTERED);
		return 0;
	}
	key.cgroup_id = current_cgroup_id();
	key.proc_start_ns = proc_start_ns(task);
	kthread = is_kthread(task);
	key.kern_stack_id = kernel_stacks ? kernel_stack_id(ctx) : STACK_ID_NONE;
	key.user_stack_id = user_stacks && !kthread ?
		user_stack_id(key.tgid) : STACK_ID_NONE;
	if (!kthread && !notice_proc(key.tgid, key.cgroup_id, key.proc_start_ns))
		stat_inc(ONCPU_STAT_NOTICE_LOST);
	count_sample(&key, task, ns);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
