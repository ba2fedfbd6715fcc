/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The user-stack walker of both collectors: CFI tables (unwind.h) built by
 * user space from each mapped file's .eh_frame, walked here frame by frame
 * in a bpf_loop (5.17+); frame pointers only where a mapping has no table
 * (JIT code, anonymous memory) or the process's tables are not loaded yet.
 *
 * The table maps are big and the same for every collector: the first
 * collector loaded owns them, the other reuses them (bpf_map__reuse_fd),
 * as with process notices.
 *
 * A walked stack is kept in ustacks under a 31-bit id taken from its
 * 64-bit hash, so keys keep a stack id as bpf_get_stackid() gives one; a
 * different stack with the same id is a collision, counted, as in a
 * stack-trace map.
 */
#ifndef SYSSCOPE_UNWIND_BPF_H
#define SYSSCOPE_UNWIND_BPF_H

#include <bpf/bpf_tracing.h>
#include "unwind.h"
#include "core_fixes.bpf.h"

/*
 * The CFI rules (unwind_step.h, src/unwind/cfi_table.c) are x86-64's:
 * elsewhere (arm64) every frame is walked by frame pointers, the AAPCS64
 * frame record {x29, x30} having the same layout as x86-64's {rbp, ret}.
 */
#if defined(__TARGET_ARCH_x86)
#define UNWIND_CFI 1
#else
#define UNWIND_CFI 0
#endif

static __always_inline bool unwind_read(__u64 *dst, __u64 addr)
{
	return !bpf_probe_read_user(dst, sizeof(*dst), (void *)addr);
}

#include "unwind_step.h"

#ifndef EFAULT
#define EFAULT 14
#endif
#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef ENOSPC
#define ENOSPC 28
#endif
#ifndef ENOMEM
#define ENOMEM 12
#endif
#ifndef E2BIG
#define E2BIG 7
#endif

/* Sizes are set by user space before load; these are placeholders. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u32);			/* tgid */
	__type(value, struct unwind_proc);
} unwind_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_table_info);
} unwind_tables SEC(".maps");

/* Written by user space through mmap: tables are large. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_block);
} unwind_pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_block);
} unwind_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, UNWIND_MAX_RULES);
	__type(key, __u32);
	__type(value, struct unwind_rule);
} unwind_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, UNWIND_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} unwind_stats SEC(".maps");

/* This collector's walked user stacks, by id (see above). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ustack);
} ustacks SEC(".maps");

/*
 * unwind_stack_still's copy of the top of the stack: the return addresses
 * in its first STILL_READ_MAX bytes are read in one copy, not one by one
 * (each bpf_probe_read_user costs about as much as a small copy).
 */
#define STILL_READ_MAX 2048
struct still_buf {
	__u64 words[STILL_READ_MAX / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct still_buf);
} still_scratch SEC(".maps");

struct unwind_scratch {
	struct ustack stack;
	struct unwind_regs regs;
	__u64 sp0;		/* the leaf's sp */
	__u32 depth;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_scratch);
} unwind_scratch SEC(".maps");

static __always_inline void unwind_stat(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&unwind_stats, &stat);

	if (v)
		*v += 1;
}

struct unwind_ctx {
	struct unwind_scratch *w;
	struct unwind_proc *proc;	/* NULL: no tables for this process */
	__u32 tgid;
};

/* The mapping holding pc, by binary search; NULL if none does. */
static __always_inline const struct unwind_mapping *
unwind_find_mapping(const struct unwind_proc *p, __u64 pc)
{
	__u32 lo = 0, hi = p->nmaps;

	if (hi > UNWIND_MAX_MAPPINGS)
		return NULL;
	for (int i = 0; i < 9 && lo < hi; i++) {	/* 2^9 > UNWIND_MAX_MAPPINGS */
		/* mid < hi <= UNWIND_MAX_MAPPINGS: the mask tells the verifier. */
		__u32 mid = ((lo + hi) / 2) & (UNWIND_MAX_MAPPINGS - 1);

		if (pc < p->maps[mid].start)
			hi = mid;
		else if (pc >= p->maps[mid].end)
			lo = mid + 1;
		else
			return &p->maps[mid];
	}
	return NULL;
}

/* Entry idx of a block array (rows or pages); 0 past its end. */
static __always_inline __u32 unwind_at(void *array, __u32 idx)
{
	__u32 key = idx / UNWIND_BLOCK;
	struct unwind_block *b = bpf_map_lookup_elem(array, &key);

	return b ? b->v[idx & (UNWIND_BLOCK - 1)] : 0;
}

/*
 * The index of the rule governing vaddr in table id, or -1 (no row: a gap,
 * or outside the table). The page's rows are [lo, hi); each page that a
 * rule governs from its first byte has a row there (see
 * cfi_packed__from_table). A global function: the verifier checks it once,
 * not at every state of the walk that calls it.
 */
__noinline int unwind_rule_index(__u32 table, __u64 vaddr)
{
	struct unwind_table_info *t = bpf_map_lookup_elem(&unwind_tables, &table);
	__u32 idx, lo, hi, target;
	__u64 page;

	if (!t || !t->npages)
		return -1;
	page = (vaddr >> UNWIND_PAGE_SHIFT) - t->first_page;
	if (vaddr >> UNWIND_PAGE_SHIFT < t->first_page || page >= t->npages)
		return -1;
	idx = t->page_base + (__u32)page;
	lo = unwind_at(&unwind_pages, idx);
	hi = unwind_at(&unwind_pages, idx + 1);
	target = vaddr & 0xffff;
	if (lo >= hi || UNWIND_ROW_PC(unwind_at(&unwind_rows, t->row_base + lo)) > target)
		return -1;
	for (int i = 0; i < 17 && lo + 1 < hi; i++) {
		__u32 mid = lo + (hi - lo) / 2;

		if (UNWIND_ROW_PC(unwind_at(&unwind_rows, t->row_base + mid)) <= target)
			lo = mid;
		else
			hi = mid;
	}
	return UNWIND_ROW_RULE(unwind_at(&unwind_rows, t->row_base + lo));
}

static long unwind_step(__u32 i, void *data)
{
	struct unwind_ctx *c = data;
	struct unwind_regs *w = &c->w->regs;
	const struct unwind_mapping *m = NULL;
	const struct unwind_rule *r;
	__u64 lookup;
	__u32 d, at;
	long done;
	int rule;

	/* A return address is after its call: look up the call itself. */
	lookup = w->exact_pc ? w->pc : w->pc - 1;
	if (c->proc) {
		m = unwind_find_mapping(c->proc, lookup);
		/* New code since the maps were read (dlopen): ask once. */
		if (!m && !c->proc->remap_asked && notice_remap(c->tgid))
			c->proc->remap_asked = 1;
	}
	r = NULL;
	if (UNWIND_CFI && m && m->table != UNWIND_TABLE_FP) {
		rule = unwind_rule_index(m->table, lookup - m->bias);
		r = rule >= 0 ? bpf_map_lookup_elem(&unwind_rules, &rule) : NULL;
	}
	/*
	 * No CFI for this pc (JIT code, a Go binary's own code: Go keeps frame
	 * pointers but no .eh_frame): frame pointers, if they look sane.
	 */
	if (!r || r->cfa_kind == UNWIND_CFA_NONE) {
		unwind_stat(c->proc ? UNWIND_STAT_FP_FRAMES :
				      UNWIND_STAT_FP_NO_TABLES);
		done = unwind_fp_step(w);
	} else {
		done = unwind_cfi_step(w, r);
	}
	if (done)
		return 1;
	if (!w->pc) {
		w->stop = UNWIND_STAT_END;
		return 1;
	}
	d = c->w->depth;
	if (d >= MAX_STACK_DEPTH) {
		w->stop = UNWIND_STAT_DEPTH;
		return 1;
	}
	at = (__u32)(w->pc_at - c->w->sp0);
	c->w->stack.ips[d] = w->pc;
	c->w->stack.at[d] = at;
	if (at + 8 > c->w->stack.span)
		c->w->stack.span = at + 8;
	c->w->depth = d + 1;
	return 0;
}

#include "python.bpf.h"

static __always_inline __u64 unwind_hash(const struct ustack *s, __u32 n)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (__u32 i = 0; i < MAX_STACK_DEPTH && i < n; i++)
		h = (h ^ s->ips[i]) * 0x100000001b3ULL;
	return h;
}

/*
 * Walks the user stack of current from its saved user registers and keeps
 * it in ustacks: its id (>= 0), or -errno (-EFAULT: no stack at all,
 * -EEXIST: collision, -ENOSPC: ustacks full, -ENOMEM: no element could be
 * allocated at run time, e.g. from an empty per-CPU cache in NMI context,
 * or the bucket was busy). *tables: the process's
 * tables were loaded (else the walk was by frame pointers only: not worth
 * remembering).
 */
static __always_inline __s32 unwind_user_stack(__u32 tgid, bool *tables)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct unwind_ctx c = {};
	struct ustack *old;
	__u32 zero = 0, id, n;
	int err;

	*tables = false;
	c.w = bpf_map_lookup_elem(&unwind_scratch, &zero);
	if (!c.w)
		return -EFAULT;
	c.w->regs = (struct unwind_regs){
		.pc = PT_REGS_IP(regs), .sp = PT_REGS_SP(regs),
		.fp = PT_REGS_FP(regs),
		.stop = UNWIND_STAT_DEPTH, .exact_pc = true,
	};
	if (!c.w->regs.pc)
		return -EFAULT;
	c.w->stack.ips[0] = c.w->regs.pc;
	c.w->stack.at[0] = 0;
	c.w->stack.span = 0;
	c.w->sp0 = c.w->regs.sp;
	c.w->depth = 1;
	c.proc = bpf_map_lookup_elem(&unwind_procs, &tgid);
	c.tgid = tgid;
	*tables = c.proc != NULL;
	bpf_loop(MAX_STACK_DEPTH, unwind_step, &c, 0);
	unwind_stat(c.proc ? c.w->regs.stop : UNWIND_STAT_NO_TABLES);
	if (c.proc && c.proc->py.runtime)
		python_walk(c.w, &c.proc->py);
	n = c.w->depth;
	/* Zero after the last frame: the stack's end, and a stable value. */
	for (__u32 i = 1; i < MAX_STACK_DEPTH; i++) {
		if (i >= n) {
			c.w->stack.ips[i] = 0;
			c.w->stack.at[i] = 0;
		}
	}
	c.w->stack.hash = unwind_hash(&c.w->stack, n);
	id = (__u32)(c.w->stack.hash >> 33);	/* 31 bits: a valid id */
	err = map_insert(&ustacks, &id, &c.w->stack);
	if (err == -EEXIST) {
		old = bpf_map_lookup_elem(&ustacks, &id);
		if (old && old->hash != c.w->stack.hash)
			return -EEXIST;
	} else if (err == -E2BIG) {
		return -ENOSPC;
	} else if (err) {
		return -ENOMEM;
	}
	return id;
}

struct still_ctx {
	const struct ustack *u;
	const struct still_buf *top;	/* [sp, sp + span) */
	__u64 sp;
	__u32 span;
	bool same;
};

/* bpf_loop step: return address n + 1 of the stack, where it was. */
static long still_step(__u64 n, void *data)
{
	struct still_ctx *c = data;
	__u32 i = n + 1, at, word;
	__u64 ra, want;

	if (i >= MAX_STACK_DEPTH)
		return 1;
	want = c->u->ips[i];
	if (!want)
		return 1;	/* all there */
	/* The same native stack may run other Python code now. */
	if (PY_FRAME_IS(want))
		goto differs;
	at = c->u->at[i];
	word = at / 8;
	if (!(at & 7) && word < STILL_READ_MAX / 8 && at + sizeof(ra) <= c->span) {
		barrier_var(word);	/* the mask stays, for the verifier */
		ra = c->top->words[word & (STILL_READ_MAX / 8 - 1)];
	} else if (bpf_probe_read_user(&ra, sizeof(ra), (void *)(c->sp + at)))
		goto differs;
	if (ra == want)
		return 0;
differs:
	c->same = false;
	return 1;
}

/*
 * Is stack id still current's user stack? Its pc and sp are the ones the
 * caller matched; each return address of the stack is read again where the
 * walk found it (those in the first STILL_READ_MAX bytes, in one copy).
 * Cheaper than a walk, and exact: a different caller at the same depth
 * leaves a different return address.
 */
static __always_inline bool unwind_stack_still(__s32 id, __u64 sp)
{
	struct still_ctx c = { .sp = sp, .same = true };
	__u32 zero = 0;

	c.u = bpf_map_lookup_elem(&ustacks, &id);
	c.top = bpf_map_lookup_elem(&still_scratch, &zero);
	if (!c.u || !c.top)
		return false;
	/*
	 * [sp, sp + span) held the stack's return addresses when it was
	 * walked: mapped then, and again now if the same frames are there.
	 */
	c.span = c.u->span < STILL_READ_MAX ? c.u->span : STILL_READ_MAX;
	if (c.span && bpf_probe_read_user((void *)c.top->words, c.span, (void *)sp))
		return false;
	bpf_loop(MAX_STACK_DEPTH - 1, still_step, &c, 0);
	if (!c.same)
		return false;
	unwind_stat(UNWIND_STAT_REUSED);
	return true;
}

#endif
