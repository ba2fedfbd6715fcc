// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Off-CPU tracer: how long each thread was off the CPU, why, and where.
 *
 * Everything happens at sched_switch, in two halves:
 *  - switch-out (prev is current): a timestamp, the reason (from the task
 *    state), and the user stack, which only current's registers give. The
 *    walk is skipped when the thread blocks where it did last time (same
 *    registers and caller), as event loops and blocking I/O do.
 *  - switch-in (next): intervals shorter than min_block_ns end here. Longer
 *    ones take next's kernel stack, still parked in schedule(), with
 *    bpf_get_task_stack(), and are counted. That walk is most of what a
 *    recorded switch costs (8-13 us of 14 here): it is done once in
 *    KSTACK_USES wake-ups from one place (struct kstack_slot).
 * Intervals still open at the end are written by a task iterator.
 *
 * Sampled mode (record_rate > 0, the agent under --cpu-budget): each
 * thread records about record_rate of its switch-outs a second, however
 * often it switches, and a recorded interval counts as many times as
 * switch-outs it stands for, so seconds stay seconds. A thread that
 * switches 1000 times a second is recorded one switch in 1000/record_rate;
 * one that blocks 10 times a second, every time: the cost follows the
 * threads, not the busiest one, and quiet threads stay exact. Each
 * switch-out draws a coin: recorded with chance 1/P, P the thread's
 * period (its switch rate over record_rate, measured over its last
 * recorded switch-outs: SPAN_RECORDED below), and counted P times. The
 * chance of each switch-out is set before it happens, whatever the thread
 * did, so the sum stays unbiased while P follows the thread. (A countdown
 * drawn at each recorded switch-out, as before, spread no less on a thread
 * alternating between two places, and wrote the thread's slot at every
 * switch.) A switch-out let go costs one array load and a random number;
 * its switch-in, one array load (samplers, below): no task storage, whose
 * lookup cost twice that here. The time the recording paths take is
 * summed (OFFCPU_STAT_RECORD_NS) so that user space can set record_rate
 * from what recording costs (src/collect/cpu_budget.h).
 *
 * Nothing run from sched_switch allocates: the scheduler holds its
 * runqueue lock there, and an allocation that wakes kswapd takes a
 * runqueue lock too (before 6.1, whose bpf_mem_alloc refills from
 * irq_work, a run-time allocated hash could deadlock the CPU). So the
 * hashes it updates are preallocated (counts, kstacks here; ustacks, which
 * user space makes preallocated for this object: offcpu__configure), each
 * thread's slot (starts) is made when the thread is born (task_newtask)
 * or by the iterator at the start (seed_open), never at a switch, and
 * the rest it writes are arrays, an LRU (preallocated, noticed_procs) and
 * a ring buffer (no allocation). tests/e2e/test_maps.py checks the flags.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "offcpu.h"
#include "cgroup_id.bpf.h"
#include "filter.bpf.h"
#include "proc_notice.bpf.h"
#include "core_fixes.bpf.h"

#define TASK_RUNNING 0x0
#define TASK_INTERRUPTIBLE 0x1
#define TASK_UNINTERRUPTIBLE 0x2
#define TASK_DEAD 0x80
#define TASK_NOLOAD 0x400
#define EFAULT 14
#define EEXIST 17
#define ENOSPC 28
#define ENODATA 61

#include "unwind.bpf.h"
#include "proc_exit.bpf.h"

const volatile __u64 min_block_ns = 1000000;
const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;

/*
 * The run's window (CLOCK_MONOTONIC), set by user space once every
 * collector is attached (until then run_start_ns is ~0: nothing counts),
 * and at the stop.
 */
__u64 run_start_ns;
__u64 run_end_ns;

/*
 * Bumped by user space each time it empties the stack map (the agent does
 * at every window): a user stack id taken under an older epoch may name a
 * stack that is gone, so it is neither reused nor reported.
 */
__u32 stack_epoch;

/* Switch-outs recorded per thread and second (0: all); see the top. */
__u32 record_rate;
#define PERIOD_MAX 100000
/*
 * A thread's switch rate is measured over a span of SPAN_RECORDED recorded
 * switch-outs, or SPAN_NS if that comes first, and P moves half way to
 * what it gives: fewer would make P jump with chance (a span of 250 ms at
 * 10 recorded a second gave P 44 to 246 for threads that all switch 950
 * times a second, and half as many recorded again as asked).
 */
#define SPAN_RECORDED 16
#define SPAN_NS 1000000000ULL

/*
 * A user stack walked before, by where the thread was when it blocked.
 * Threads block in a few places over and over (a read, a write it was
 * preempted in, a futex): a few slots catch what one would miss as the
 * places alternate. ip 0 is an empty slot (no user code runs there).
 */
#define USTACK_SLOTS 4
struct ustack_slot {
	__u64 ip, sp;
	__s32 id;
	__u32 epoch;		/* stack_epoch when id was taken */
};

/* An interval off the CPU: when it began, why, where, how much it counts. */
struct offcpu_interval {
	__u64 ts;		/* switch-out time; 0: none */
	__s32 user_stack_id;
	__u32 reason;
	__u32 epoch;		/* stack_epoch when user_stack_id was taken */
	__u32 weight;		/* switch-outs it stands for (sampled) */
	/*
	 * Ended after the window's end (start.ended): its kernel stack in
	 * kstacks, walked as it woke; by the dump, the thread may sleep
	 * elsewhere. 0: none.
	 */
	__u64 kern_stack;
};

/*
 * A kernel stack walked before, by where the thread went to sleep: for a
 * user thread, the system call, its first argument (the fd of a read, the
 * futex word) and the user registers it entered the kernel with (the call
 * site); for a kernel thread, the kernel stack pointer schedule() saved
 * (the depth of its path: a system call's is moved at random by
 * randomize_kstack_offset, a kernel thread's is not). The stack is walked
 * again at the KSTACK_USES-th wake-up from a place, so where one place
 * sleeps down several paths (a read that waits on a lock, then on the
 * disk), each walk is a fair draw of them and the uses between count as
 * that draw: the mix is kept on average. Waits for a CPU (preempted
 * anywhere) are always walked. hash 0 is an empty slot.
 */
#define KSTACK_SLOTS 4
#define KSTACK_USES 32
struct sleep_site {
	__u64 uip, usp;		/* user registers at entry; 0: kernel thread */
	__u64 nr, arg;		/* system call and first argument, or
				   ~0 and the kernel stack pointer */
};

struct kstack_slot {
	struct sleep_site site;
	__u64 hash;		/* in kstacks */
	__u32 epoch;		/* stack_epoch when it was walked */
	__u16 reason;
	__u16 uses;		/* since the walk */
};

struct start {
	struct offcpu_interval cur;	/* being recorded; ts 0 while on the CPU or
				   when this switch-out is not recorded */
	/*
	 * One that ended after the window's end, before the window was read:
	 * the dump counts it up to the window's end (and clears it), while
	 * the thread runs and blocks again meanwhile in cur.
	 */
	struct offcpu_interval ended;
	struct ustack_slot slots[USTACK_SLOTS];	/* where it blocked lately */
	/*
	 * The mm the thread's process was noticed with (notice_proc): its
	 * next wake-ups skip the noticed_procs lookup. exec gives a new mm,
	 * so the new program is noticed again (on_exec forgets the tgid).
	 */
	__u64 noticed_mm;
	__u32 next_slot;	/* the one a new walk replaces */
	__u32 next_kslot;	/* the same for kslots */
	struct kstack_slot kslots[KSTACK_SLOTS];	/* where it woke lately */
};

/*
 * What sched_switch reads for every thread, by tid & (SAMPLER_SLOTS - 1):
 * the sampled mode's chance (see the top) and the count of recorded
 * intervals still open, so that a switch-in whose count is 0 skips the
 * thread's task storage. Written only when a switch-out is recorded or
 * closed: the slots stay in every CPU's cache, not bounced between them.
 * Tids that share a slot share a sampler: each switch-out of either still
 * has the same chance, so the sum stays unbiased; an open count shared
 * only costs a lookup.
 */
struct sampler {
	__u32 let_go;		/* let go when a random u32 is below: 1 - 1/P */
	__u32 open;		/* recorded intervals still open */
	__u32 period;		/* P: what a recorded switch-out counts for */
	__u32 span_recorded;	/* recorded since span_ns */
	__u64 span_ns;		/* when the rate's span began */
};

#define SAMPLER_SLOTS 65536
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SAMPLER_SLOTS);
	__type(key, __u32);
	__type(value, struct sampler);
} samplers SEC(".maps");

static __always_inline struct sampler *sampler_of(__u32 tid)
{
	__u32 key = tid & (SAMPLER_SLOTS - 1);

	return bpf_map_lookup_elem(&samplers, &key);
}

/*
 * Task storage is always allocated at run time (it has no preallocated
 * form): a slot is only ever made outside sched_switch (see the top).
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct start);
} starts SEC(".maps");

/*
 * Preallocated (see the top): memory is max_entries whatever is stored,
 * so kstacks (1 KiB a stack) is sized apart from --max-stacks
 * (OFFCPU_STACKS_MAX).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct offcpu_key);
	__type(value, struct offcpu_value);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct stack_ips);
} kstacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_ips);
} kstack_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OFFCPU_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/*
 * The iterator runs outside the tasks it looks at, so the cgroup filter's
 * "current task under cgroup" test does not apply: user space lists the
 * selected cgroups and everything below them here instead.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, __u8);
} open_cgroups SEC(".maps");

/* User stacks of the threads asleep at the start, by tid: see seed_open. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SEED_USTACKS_MAX);
	__type(key, __u32);
	__type(value, struct stack_ips);
} seed_ustacks SEC(".maps");

/* seed_open's walk, apart from kstack_scratch: it may sleep mid-walk. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_ips);
} seed_scratch SEC(".maps");

/* Room for one open-interval record: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct offcpu_open);
} scratch SEC(".maps");

static __always_inline void stat_add(__u32 stat, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &stat);

	if (v)
		*v += n;
}

static __always_inline void stat_inc(__u32 stat)
{
	stat_add(stat, 1);
}

static __always_inline void proc_notice_lost(void)
{
	stat_inc(OFFCPU_STAT_NOTICE_LOST);
}

/* The thread's slot; made only outside sched_switch (create). */
static __always_inline struct start *start_get(struct task_struct *task,
					       bool create)
{
	return bpf_task_storage_get(&starts, task, 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

static __always_inline __u32 reason_of(struct task_struct *t, __u32 state,
				       bool preempt)
{
	if (preempt || state == TASK_RUNNING)
		return task_throttled(t) ? OFFCPU_THROTTLED : OFFCPU_RUNQUEUE;
	/* TASK_IDLE (D | NOLOAD) is a kernel thread waiting for work. */
	if (state & TASK_NOLOAD)
		return OFFCPU_SLEEP;
	if (state & TASK_UNINTERRUPTIBLE)
		return OFFCPU_IO;
	if (state & TASK_INTERRUPTIBLE)
		return OFFCPU_SLEEP;
	return OFFCPU_OTHER;
}

/* Current's user stack, walked with the CFI tables (unwind.bpf.h). */
static __always_inline __s32 user_stack_id(__u32 tgid, bool *tables)
{
	__s32 id = unwind_user_stack(tgid, tables);

	if (id == -EEXIST)
		stat_inc(OFFCPU_STAT_USTACK_COLLISION);
	else if (id == -ENOSPC)
		stat_inc(OFFCPU_STAT_USTACK_MAP_FULL);
	else if (id == -ENOMEM)
		stat_inc(OFFCPU_STAT_USTACK_NO_MEMORY);
	else if (id < 0)
		stat_inc(OFFCPU_STAT_USTACK_FAILED);
	return id;
}

/*
 * Current's user stack, walked only if it blocks somewhere new to it: at
 * one of its last places (pc and sp) with the same return addresses on its
 * stack, it is the stack walked then (unwind_stack_still).
 */
static __always_inline __s32 user_stack(struct start *s)
{
	struct task_struct *task = bpf_get_current_task_btf();
	/* A BTF pointer: its fields are plain loads, no probe_read. */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 ip = PT_REGS_IP(regs), sp = PT_REGS_SP(regs);
	__u32 epoch = stack_epoch, i, found;
	struct ustack_slot *u;
	bool tables;

	s->cur.epoch = epoch;
	found = USTACK_SLOTS;
	for (i = 0; i < USTACK_SLOTS; i++) {
		u = &s->slots[i];
		if (u->ip == ip && u->sp == sp && u->epoch == epoch &&
		    u->id >= 0) {
			found = i;
			break;
		}
	}
	/* One check for the verifier, whichever slot matched. */
	barrier_var(found);
	if (found < USTACK_SLOTS) {
		u = &s->slots[found & (USTACK_SLOTS - 1)];
		if (unwind_stack_still(u->id, sp)) {
			stat_inc(OFFCPU_STAT_USTACK_REUSED);
			return u->id;
		}
	}
	/* epoch was read before the walk: a map emptied meanwhile makes it stale. */
	u = &s->slots[s->next_slot++ & (USTACK_SLOTS - 1)];
	u->id = user_stack_id(task->tgid, &tables);
	/* Walked before its tables were loaded: walk again next time. */
	u->ip = tables ? ip : 0;
	u->sp = sp;
	u->epoch = epoch;
	return u->id;
}

struct hash_ctx {
	const __u64 *ips;
	__u64 h;
};

/* bpf_loop step of hash_ips: a loop the verifier checks once. */
static long hash_step(__u64 i, void *data)
{
	struct hash_ctx *c = data;
	__u64 ip;

	if (i >= MAX_STACK_DEPTH)
		return 1;
	ip = c->ips[i];
	if (!ip)
		return 1;
	c->h = (c->h ^ ip) * 0x100000001b3ULL;
	return 0;
}

static __always_inline __u64 hash_ips(const __u64 *ips)
{
	struct hash_ctx c = { .ips = ips, .h = 0xcbf29ce484222325ULL };

	bpf_loop(MAX_STACK_DEPTH, hash_step, &c, 0);
	return c.h ? c.h : 1;
}

/* Keeps the stack in kstacks under its hash; 0 when it could not. */
static __always_inline __u64 kstack_save(struct stack_ips *k, long len)
{
	__u64 h;
	int err;

	if (len <= 0) {
		stat_inc(OFFCPU_STAT_KSTACK_FAILED);
		return 0;
	}
	h = hash_ips(k->ips);
	err = map_insert(&kstacks, &h, k);
	/* -EEXIST: the same stack, kept before. */
	if (err && err != -EEXIST) {
		stat_inc(OFFCPU_STAT_KSTACK_MAP_FULL);
		return 0;
	}
	return h;
}

static __always_inline struct stack_ips *kstack_buf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&kstack_scratch, &zero);
}

/* The interval's user stack id, or STACK_ID_STALE if the map was emptied. */
static __always_inline __s32 user_stack_valid(const struct offcpu_interval *i)
{
	if (i->user_stack_id >= 0 && i->epoch != stack_epoch)
		return STACK_ID_STALE;
	return i->user_stack_id;
}

/*
 * A recorded switch-out at now: what it counts for (the period its chance
 * was drawn with), and, at a span's end, the period to come: half way to
 * the switch-outs of the span (recorded x period) a second, over the rate.
 */
static __always_inline __u32 record_weight(struct sampler *sm, __u64 now,
					   __u32 rate)
{
	__u32 weight = sm->period ? sm->period : 1;
	__u64 dt = now - sm->span_ns, period;

	sm->span_recorded++;
	if (!sm->span_ns || now < sm->span_ns) {
		sm->span_ns = now;
		sm->span_recorded = 0;
		return weight;
	}
	if (sm->span_recorded < SPAN_RECORDED && dt < SPAN_NS)
		return weight;
	period = (__u64)sm->span_recorded * weight * 1000000000ULL / dt / rate;
	period = (period + weight) / 2;
	if (period > PERIOD_MAX)
		period = PERIOD_MAX;
	if (!period)
		period = 1;
	sm->period = period;
	sm->let_go = period > 1 ? ~0U - ~0U / (__u32)period : 0;
	sm->span_ns = now;
	sm->span_recorded = 0;
	return weight;
}

/* Runs as prev, the thread leaving the CPU. */
static __always_inline int switch_out(void *ctx, bool preempt,
				      struct task_struct *prev)
{
	/* Plain loads (a BTF pointer): the path let go is kept short. */
	__u32 tid = prev->pid, tgid = prev->tgid;
	__u32 state, rate = record_rate;
	struct sampler *sm;
	struct start *s;
	__u64 now;

	if (!tid || !thread_wanted(tgid, tid, prev))
		return 0;
	sm = sampler_of(tid);
	if (!sm)
		return 0;
	if (rate && sm->let_go && bpf_get_prandom_u32() < sm->let_go)
		return 0;
	/* Slots are made at the start (seed_open) and at birth, not here. */
	s = start_get(prev, false);
	if (!s) {
		if (run_start_ns != ~0ULL)	/* else: the seed has not run */
			stat_inc(OFFCPU_STAT_LOST_NO_STORAGE);
		return 0;
	}
	state = task_state(prev);
	if (state & TASK_DEAD)
		return 0;	/* its last switch: it will not come back */
	s->cur.ts = now = bpf_ktime_get_ns();
	__sync_fetch_and_add(&sm->open, 1);
	s->cur.weight = rate ? record_weight(sm, now, rate) : 1;
	s->cur.reason = reason_of(prev, state, preempt);
	s->cur.user_stack_id = user_stacks && !is_kthread(prev) ?
		user_stack(s) : STACK_ID_NONE;
	/* Switches let go are not counted: each recorded one stands for period. */
	stat_add(OFFCPU_STAT_SWITCHES, s->cur.weight);
	stat_inc(OFFCPU_STAT_RECORDED);
	stat_add(OFFCPU_STAT_RECORD_NS, bpf_ktime_get_ns() - s->cur.ts);
	return 0;
}

static __always_inline void count_interval(struct offcpu_key *key,
					   struct task_struct *task,
					   __u64 delta, __u32 weight)
{
	struct offcpu_value *val, zero = {};
	int err;

	val = bpf_map_lookup_elem(&counts, key);
	if (!val) {
		BPF_CORE_READ_STR_INTO(&zero.comm, task, comm);
		BPF_CORE_READ_STR_INTO(&zero.pcomm, task, group_leader, comm);
		err = map_insert(&counts, key, &zero);
		if (err && err != -EEXIST) {
			stat_inc(OFFCPU_STAT_LOST_MAP_FULL);
			return;
		}
		val = bpf_map_lookup_elem(&counts, key);
		if (!val)
			return;
	}
	__sync_fetch_and_add(&val->total_ns, delta * weight);
	__sync_fetch_and_add(&val->count, weight);
	stat_inc(OFFCPU_STAT_COUNTED);
}

/* Where task, off the CPU, went to sleep: see struct kstack_slot. */
static __always_inline void sleep_site_of(struct task_struct *task,
					  struct sleep_site *w)
{
	/* BTF pointers: plain loads. */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

	if (is_kthread(task)) {
		w->uip = w->usp = 0;
		w->nr = ~0ULL;
#if defined(__TARGET_ARCH_arm64)
		w->arg = task->thread.cpu_context.sp;
#else
		w->arg = task->thread.sp;
#endif
		return;
	}
	w->uip = PT_REGS_IP(regs);
	w->usp = PT_REGS_SP(regs);
#if defined(__TARGET_ARCH_arm64)
	w->nr = regs->syscallno;
	w->arg = regs->orig_x0;
#else
	w->nr = regs->orig_ax;
	w->arg = regs->di;
#endif
}

static __always_inline bool same_site(const struct sleep_site *a,
				      const struct sleep_site *b)
{
	return a->uip == b->uip && a->usp == b->usp && a->nr == b->nr &&
	       a->arg == b->arg;
}

static __always_inline __u64 kernel_stack_walk(struct task_struct *task)
{
	struct stack_ips *buf = kstack_buf();

	if (!buf)
		return 0;
	return kstack_save(buf, bpf_get_task_stack(task, buf->ips,
						   sizeof(buf->ips), 0));
}

/*
 * next's kernel stack, still parked in schedule(): the one walked when it
 * last woke from the same place (struct kstack_slot), or walked now.
 */
static __always_inline __u64 kernel_stack_of(struct task_struct *next,
					     struct start *s)
{
	__u32 epoch = stack_epoch, reason = s->cur.reason, i, found;
	struct sleep_site site;
	struct kstack_slot *k;
	__u64 h;

	if (!kernel_stacks)
		return 0;
	if (reason == OFFCPU_RUNQUEUE || reason == OFFCPU_THROTTLED)
		return kernel_stack_walk(next);
	sleep_site_of(next, &site);
	found = KSTACK_SLOTS;
	for (i = 0; i < KSTACK_SLOTS; i++) {
		k = &s->kslots[i];
		if (k->hash && k->reason == reason && k->epoch == epoch &&
		    same_site(&k->site, &site)) {
			found = i;
			break;
		}
	}
	/* One path on for the verifier, found or not. */
	barrier_var(found);
	if (found < KSTACK_SLOTS) {
		k = &s->kslots[found & (KSTACK_SLOTS - 1)];
		if (++k->uses < KSTACK_USES) {
			stat_inc(OFFCPU_STAT_KSTACK_REUSED);
			return k->hash;
		}
		/* Its turn to be walked again, into the same slot. */
	} else {
		k = &s->kslots[s->next_kslot++ & (KSTACK_SLOTS - 1)];
	}
	/* epoch was read before the walk: a map emptied meanwhile makes it stale. */
	h = kernel_stack_walk(next);
	k->site = site;
	k->hash = h;
	k->epoch = epoch;
	k->reason = reason;
	k->uses = 0;
	return h;
}

/* next is coming back: close its interval; count it if long enough. */
static __always_inline void switch_in(struct task_struct *next)
{
	__u32 tid = next->pid;
	struct offcpu_key key = {};
	__u64 delta, now, since;
	struct sampler *sm;
	struct start *s;

	if (!tid)
		return;
	sm = sampler_of(tid);
	if (!sm || !sm->open)
		return;		/* nothing recorded: the common sampled case */
	s = start_get(next, false);
	if (!s || !s->cur.ts)
		return;
	__sync_fetch_and_add(&sm->open, -1);
	/*
	 * After the window's end the interval is left for the end-of-window
	 * dump, which counts it up to the end; the thread may block again
	 * before the dump runs (cur), and then that one is not lost either.
	 */
	now = bpf_ktime_get_ns();
	since = s->cur.ts;
	s->cur.ts = 0;
	if (run_end_ns && now > run_end_ns) {
		/* Wholly after the end (in the gap): no window's. */
		if (since < run_end_ns) {
			s->ended = s->cur;
			s->ended.ts = since;
			/* Rare (window ends): walked, not looked up. */
			s->ended.kern_stack = kernel_stacks ?
					      kernel_stack_walk(next) : 0;
		}
		return;
	}
	/* Only the part inside the run's window counts. */
	if (now < run_start_ns)
		return;		/* closed before the window opened */
	if (since < run_start_ns)
		since = run_start_ns;
	delta = now > since ? now - since : 0;
	if (delta < min_block_ns) {
		stat_inc(OFFCPU_STAT_SHORT);
		return;
	}
	key.cgroup_id = task_cgroup_id(next);
	key.tgid = BPF_CORE_READ(next, tgid);
	key.tid = tid;
	key.proc_start_ns = proc_start_ns(next);
	key.reason = s->cur.reason;
	key.user_stack_id = user_stack_valid(&s->cur);
	key.kern_stack = kernel_stack_of(next, s);
	if (!is_kthread(next) && s->noticed_mm != (__u64)next->mm) {
		if (notice_proc(key.tgid, key.cgroup_id, key.proc_start_ns))
			s->noticed_mm = (__u64)next->mm;
		else
			stat_inc(OFFCPU_STAT_NOTICE_LOST);
	}
	count_interval(&key, next, delta, s->cur.weight);
	stat_add(OFFCPU_STAT_RECORD_NS, bpf_ktime_get_ns() - now);
}

/*
 * A new thread gets its slot here, at the end of copy_process (no lock
 * held), so sched_switch never makes one. The cgroup filter is not
 * applied (current is the parent): a slot too many is harmless.
 */
SEC("tp_btf/task_newtask")
int BPF_PROG(on_newtask, struct task_struct *task, __u64 clone_flags)
{
	if (!ids_wanted(task->tgid, task->pid, task))
		return 0;
	if (!start_get(task, true))
		stat_inc(OFFCPU_STAT_LOST_NO_STORAGE);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch_btf, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	switch_out(ctx, preempt, prev);
	switch_in(next);
	return 0;
}

/* ---- intervals still open at the end ---- */

/*
 * A thread with no slot has not switched during the run: it is running
 * (false), or has been off the CPU since the run began (or its birth).
 */
static __always_inline bool open_unseen(struct task_struct *task,
					struct offcpu_interval *iv)
{
	if (BPF_CORE_READ(task, on_cpu))
		return false;
	iv->ts = BPF_CORE_READ(task, start_time);
	iv->reason = reason_of(task, task_state(task), false);
	iv->user_stack_id = STACK_ID_NONE;
	iv->epoch = stack_epoch;
	iv->weight = 1;
	return true;
}

/* The frame-pointer chain of a thread that is not running. */
static __always_inline __u32 user_stack_of(struct task_struct *task,
					   __u64 *ips)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 frame[2], bp = PT_REGS_FP_CORE(regs);
	__u32 n = 1;

	ips[0] = PT_REGS_IP_CORE(regs);
	for (int i = 1; i < MAX_STACK_DEPTH; i++) {
		if (!bp || bpf_copy_from_user_task(frame, sizeof(frame),
						   (void *)bp, task, 0))
			break;
		if (!frame[1] || n >= MAX_STACK_DEPTH)
			break;
		ips[n++] = frame[1];
		/* Callers' frames sit higher up; anything else is garbage. */
		if (frame[0] <= bp)
			break;
		bp = frame[0];
	}
	return n;
}

/*
 * A thread asleep at the start wakes in sched_switch, where only current's
 * user stack can be walked: walk it now, from its saved registers, and
 * keep it by tid. STACK_ID_SEEDED, or -ENODATA if it could not be kept.
 */
static __always_inline __s32 seed_user_stack(struct task_struct *task,
					     __u32 tid)
{
	__u32 zero = 0;
	struct stack_ips *k = bpf_map_lookup_elem(&seed_scratch, &zero);
	__u32 n;

	if (!k)
		return -ENODATA;
	__builtin_memset(k->ips, 0, sizeof(k->ips));
	n = user_stack_of(task, k->ips);
	if (!n || bpf_map_update_elem(&seed_ustacks, &tid, k, BPF_ANY)) {
		stat_inc(OFFCPU_STAT_SEED_USTACK_LOST);
		return -ENODATA;
	}
	return STACK_ID_SEEDED;
}

/*
 * Run once as the window opens, after on_newtask is attached: every
 * thread gets its slot (those born later get theirs in on_newtask). A
 * thread already off the CPU gets a start at run_start_ns, so waking later
 * in the run still counts its wait, and its user stack as it was then
 * (seed_user_stack). Sleepable: the walk reads another process's memory.
 */
SEC("iter.s/task")
int seed_open(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct sampler *sm;
	struct start *s;
	__u64 cgroup_id;
	__u32 tid, tgid;

	if (!task)
		return 0;
	tid = task->pid;
	tgid = task->tgid;
	if (!tid || !ids_wanted(tgid, tid, task))
		return 0;
	/* Not "current": the selection is the list of cgroup ids. */
	cgroup_id = task_cgroup_id(task);
	if (filter_cgroup && !bpf_map_lookup_elem(&open_cgroups, &cgroup_id))
		return 0;
	s = start_get(task, true);
	if (!s) {
		stat_inc(OFFCPU_STAT_LOST_NO_STORAGE);
		return 0;
	}
	if (s->cur.ts || BPF_CORE_READ(task, on_cpu))
		return 0;	/* switched out since attach, or running */
	sm = sampler_of(tid);
	if (!sm)
		return 0;
	s->cur.ts = run_start_ns;
	__sync_fetch_and_add(&sm->open, 1);
	s->cur.weight = 1;
	s->cur.reason = reason_of(task, task_state(task), false);
	s->cur.user_stack_id = !user_stacks || is_kthread(task) ? STACK_ID_NONE :
			       seed_user_stack(task, tid);
	return 0;
}

/* Writes one interval of task open at the window's end, up to it. */
static __always_inline void dump_interval(struct bpf_iter__task *ctx,
					  struct task_struct *task,
					  const struct offcpu_interval *iv,
					  bool ended)
{
	struct offcpu_open *rec;
	struct stack_ips *k;
	__u32 zero = 0;
	__s32 user_stack_id = user_stack_valid(iv);
	__u64 since = iv->ts;
	long n;

	if (since < run_start_ns)
		since = run_start_ns;
	if (run_end_ns < since + min_block_ns)
		return;
	rec = bpf_map_lookup_elem(&scratch, &zero);
	if (!rec)
		return;
	rec->cgroup_id = task_cgroup_id(task);
	if (filter_cgroup && !bpf_map_lookup_elem(&open_cgroups, &rec->cgroup_id))
		return;
	rec->tgid = task->tgid;
	rec->tid = task->pid;
	rec->proc_start_ns = proc_start_ns(task);
	rec->reason = iv->reason;
	rec->delta_ns = run_end_ns - since;
	rec->weight = iv->weight ? iv->weight : 1;
	BPF_CORE_READ_STR_INTO(&rec->comm, task, comm);
	BPF_CORE_READ_STR_INTO(&rec->pcomm, task, group_leader, comm);
	rec->nkern = 0;
	if (kernel_stacks && ended) {
		/* Walked as it woke: it sleeps elsewhere now, or runs. */
		k = iv->kern_stack ? bpf_map_lookup_elem(&kstacks, &iv->kern_stack) :
				     NULL;
		if (k) {
			__builtin_memcpy(rec->kern, k->ips, sizeof(rec->kern));
			for (__u32 i = 0; i < MAX_STACK_DEPTH && rec->kern[i]; i++)
				rec->nkern = i + 1;
		}
	} else if (kernel_stacks) {
		/* Still asleep there. */
		n = bpf_get_task_stack(task, rec->kern, sizeof(rec->kern), 0);
		rec->nkern = n > 0 ? n / sizeof(__u64) : 0;
	}
	/* Taken at switch-out if it switched during the run; else walk now. */
	rec->user_stack_id = user_stack_id;
	rec->nuser = 0;
	/*
	 * Seeded at the start (kept, or -ENODATA), or taken before the stack
	 * map was emptied (stale): it has not run since, so walk it now.
	 */
	if (user_stack_id == STACK_ID_SEEDED || user_stack_id == -ENODATA ||
	    user_stack_id == STACK_ID_STALE)
		rec->user_stack_id = user_stack_id = STACK_ID_NONE;
	if (user_stacks && !is_kthread(task) && user_stack_id == STACK_ID_NONE)
		rec->nuser = user_stack_of(task, rec->user);
	bpf_seq_write(ctx->meta->seq, rec, sizeof(*rec));
}

/*
 * At a window's end (run_end_ns set): each interval open then, up to it.
 * One that ended since (ended) is counted and cleared; one still open
 * (cur) is counted, and then starts again at the end, so that its wake-up
 * before the next window adds nothing and after it adds only that
 * window's part.
 */
SEC("iter.s/task")
int dump_open(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct offcpu_interval unseen;
	struct start *s;
	__u32 tid, tgid;

	if (!task)
		return 0;
	tid = task->pid;
	tgid = task->tgid;
	if (!tid || !ids_wanted(tgid, tid, task))
		return 0;
	s = start_get(task, false);
	if (!s) {
		if (open_unseen(task, &unseen))
			dump_interval(ctx, task, &unseen, false);
		return 0;
	}
	if (s->ended.ts) {
		dump_interval(ctx, task, &s->ended, true);
		s->ended.ts = 0;
	}
	if (s->cur.ts && s->cur.ts < run_end_ns) {
		dump_interval(ctx, task, &s->cur, false);
		s->cur.ts = run_end_ns;
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
