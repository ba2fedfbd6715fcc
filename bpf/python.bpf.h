/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython frames, walked after the native ones (see python.h): the sampled
 * thread's PyThreadState is found among its interpreter's threads by
 * thread_id (pthread_self(), which is the thread's fs base on x86-64), and
 * its frame chain is followed leaf first: _PyInterpreterFrames on 3.11+,
 * PyFrameObjects on 3.8-3.10. Each frame is appended to the
 * stack's ips as one tagged word; the walk ends at the first frame, at an
 * unreadable word, or when the stack is full, and is counted by how.
 */
#ifndef SYSSCOPE_PYTHON_BPF_H
#define SYSSCOPE_PYTHON_BPF_H

#include "python.h"

struct py_walk {
	struct unwind_scratch *w;
	struct py_layout l;
	__u64 tstate;		/* candidate, then the thread's */
	__u64 frame;		/* next frame to read */
	__u64 fsbase;
	__u32 stop;		/* enum unwind_stat */
	__u16 version;
	bool found;
};

static __always_inline bool py_read_u64(__u64 *dst, __u64 addr)
{
	return !bpf_probe_read_user(dst, sizeof(*dst), (void *)addr);
}

static __always_inline bool py_read_u8(__u8 *dst, __u64 addr)
{
	return !bpf_probe_read_user(dst, sizeof(*dst), (void *)addr);
}

/* One thread state of the interpreter's list: the sampled thread's? */
static long py_thread_step(__u32 i, void *data)
{
	struct py_walk *p = data;
	__u64 id;

	if (!p->tstate) {
		p->stop = UNWIND_STAT_PY_NO_THREAD;
		return 1;
	}
	if (!py_read_u64(&id, p->tstate + p->l.tstate_thread_id)) {
		p->stop = UNWIND_STAT_PY_BAD_READ;
		return 1;
	}
	if (id == p->fsbase) {
		p->found = true;
		return 1;
	}
	if (!py_read_u64(&p->tstate, p->tstate + p->l.tstate_next)) {
		p->stop = UNWIND_STAT_PY_BAD_READ;
		return 1;
	}
	return 0;
}

/* The eval loop's entry frame (3.12+) ends the run of the frame before. */
static __always_inline void py_mark_entry(struct unwind_scratch *w)
{
	__u32 d = w->depth;

	if (d >= 1 && d - 1 < MAX_STACK_DEPTH && PY_FRAME_IS(w->stack.ips[d - 1]))
		w->stack.ips[d - 1] |= PY_FRAME_ENTRY;
}

/* Appends a frame word at the stack's next slot; false when full. */
static __always_inline bool py_push(struct py_walk *p, __u64 word)
{
	__u32 d = p->w->depth;

	if (d >= MAX_STACK_DEPTH) {
		p->stop = UNWIND_STAT_PY_DEPTH;
		return false;
	}
	p->w->stack.ips[d] = word;
	p->w->stack.at[d] = 0;
	p->w->depth = d + 1;
	unwind_stat(UNWIND_STAT_PY_FRAMES);
	return true;
}

static long py_frame_step(__u32 i, void *data)
{
	struct py_walk *p = data;
	__u64 code, instr, prev, units = 0, bytecode;
	__u8 owner = 0, entry = 0;

	if (!p->frame) {
		p->stop = UNWIND_STAT_PY_END;
		return 1;
	}
	if (!py_read_u64(&code, p->frame + p->l.frame_code) ||
	    !py_read_u64(&prev, p->frame + p->l.frame_previous) ||
	    !py_read_u64(&instr, p->frame + p->l.frame_instr) ||
	    !py_read_u8(&owner, p->frame + p->l.frame_owner) ||
	    (p->l.frame_is_entry != PY_NO_FIELD &&
	     !py_read_u8(&entry, p->frame + p->l.frame_is_entry))) {
		p->stop = UNWIND_STAT_PY_BAD_READ;
		return 1;
	}
	p->frame = prev;
	if (owner == PY_OWNED_BY_CSTACK) {
		py_mark_entry(p->w);
		return 0;
	}
	bytecode = code + p->l.code_adaptive;
	if (instr > bytecode)
		units = (instr - bytecode) / 2;
	if (units > PY_FRAME_INSTR_MAX)
		units = PY_FRAME_INSTR_MAX;
	return py_push(p, PY_FRAME(code, units, entry)) ? 0 : 1;
}

/*
 * 3.8-3.10: one PyFrameObject, run by its own eval-loop call (so each is
 * an entry). f_lasti is the last instruction started, -1 before the first.
 */
static long py_object_step(__u32 i, void *data)
{
	struct py_walk *p = data;
	__u64 code, back, units = 0;
	__s32 lasti = -1;

	if (!p->frame) {
		p->stop = UNWIND_STAT_PY_END;
		return 1;
	}
	if (!py_read_u64(&code, p->frame + p->l.frame_code) ||
	    !py_read_u64(&back, p->frame + p->l.frame_previous) ||
	    bpf_probe_read_user(&lasti, sizeof(lasti),
				(void *)(p->frame + p->l.frame_instr))) {
		p->stop = UNWIND_STAT_PY_BAD_READ;
		return 1;
	}
	p->frame = back;
	if (lasti > 0)
		units = PY_LASTI_UNITS(p->version) ? (__u64)lasti : (__u64)lasti / 2;
	if (units > PY_FRAME_INSTR_MAX)
		units = PY_FRAME_INSTR_MAX;
	return py_push(p, PY_FRAME(code, units, 1)) ? 0 : 1;
}

/*
 * Appends current's Python frames to the walk in w (its native frames
 * already there), if its process runs an interpreter py describes.
 */
static __always_inline void python_walk(struct unwind_scratch *w,
					const struct py_proc *py)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct py_walk p = { .w = w, .l = py->l, .version = py->version,
			     .stop = UNWIND_STAT_PY_NO_THREAD };
	__u64 interp, cframe;

#if defined(__TARGET_ARCH_x86)
	p.fsbase = task->thread.fsbase;
#else
	/* pthread_self() is not the arm64 TLS register: not walked there. */
	(void)task;
	unwind_stat(UNWIND_STAT_PY_NO_THREAD);
	return;
#endif
	if (!py_read_u64(&interp, py->runtime + p.l.runtime_interp_head) ||
	    !interp ||
	    !py_read_u64(&p.tstate, interp + p.l.interp_threads_head)) {
		unwind_stat(UNWIND_STAT_PY_BAD_READ);
		return;
	}
	bpf_loop(PY_MAX_THREADS, py_thread_step, &p, 0);
	if (!p.found) {
		unwind_stat(p.stop);
		return;
	}
	cframe = p.tstate;
	if (p.l.tstate_cframe != PY_NO_FIELD &&
	    !py_read_u64(&cframe, p.tstate + p.l.tstate_cframe)) {
		unwind_stat(UNWIND_STAT_PY_BAD_READ);
		return;
	}
	if (!py_read_u64(&p.frame, cframe + p.l.current_frame)) {
		unwind_stat(UNWIND_STAT_PY_BAD_READ);
		return;
	}
	p.stop = UNWIND_STAT_PY_DEPTH;	/* unless the loop ends first */
	if (PY_FRAME_OBJECTS(p.version))
		bpf_loop(PY_MAX_FRAMES, py_object_step, &p, 0);
	else
		bpf_loop(PY_MAX_FRAMES, py_frame_step, &p, 0);
	unwind_stat(p.stop);
}

#endif
