/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One step of the user-stack walk as plain code over three registers and
 * a memory reader: the BPF walker (unwind.bpf.h) runs it on live stacks,
 * the unit tests (tests/unit/test_unwind_step.c) on saved snapshots. The
 * includer defines unwind_read(__u64 *dst, __u64 addr), true on success.
 * x86-64: pc, sp and rbp.
 */
#ifndef SYSSCOPE_UNWIND_STEP_H
#define SYSSCOPE_UNWIND_STEP_H

#include "unwind.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

struct unwind_regs {
	__u64 pc, sp, fp;
	__u64 pc_at;		/* where the last step read pc from */
	__u32 stop;		/* enum unwind_stat of why the walk ended */
	bool exact_pc;		/* pc is not a return address (first, signal) */
};

/* One frame by frame pointers: [fp] is the caller's fp, [fp + 8] the return address. */
static __always_inline long unwind_fp_step(struct unwind_regs *w)
{
	__u64 fp = w->fp, ra, next_fp;

	if (!fp || fp & 7 || fp < w->sp) {
		w->stop = UNWIND_STAT_FP_END;
		return 1;
	}
	if (!unwind_read(&next_fp, fp) || !unwind_read(&ra, fp + 8)) {
		w->stop = UNWIND_STAT_BAD_READ;
		return 1;
	}
	w->pc = ra;
	w->pc_at = fp + 8;
	w->sp = fp + 16;
	w->fp = next_fp;
	w->exact_pc = false;
	return 0;
}

/*
 * An rt_sigreturn trampoline: the interrupted registers are in the
 * ucontext at sp (x86-64: uc_mcontext at 40; rbp, rsp, rip at 10, 15, 16
 * words into it).
 */
static __always_inline long unwind_signal_step(struct unwind_regs *w)
{
	__u64 mc = w->sp + 40;

	if (!unwind_read(&w->fp, mc + 10 * 8) ||
	    !unwind_read(&w->sp, mc + 15 * 8) ||
	    !unwind_read(&w->pc, mc + 16 * 8)) {
		w->stop = UNWIND_STAT_BAD_READ;
		return 1;
	}
	w->pc_at = mc + 16 * 8;
	w->exact_pc = true;	/* the interrupted instruction, not a return */
	return 0;
}

static __always_inline long unwind_cfi_step(struct unwind_regs *w,
					    const struct unwind_rule *r)
{
	__u64 cfa, ra, fp = w->fp;

	switch (r->cfa_kind) {
	case UNWIND_CFA_SP:
		cfa = w->sp + r->cfa_off;
		break;
	case UNWIND_CFA_FP:
		if (!w->fp) {
			w->stop = UNWIND_STAT_UNKNOWN_RULE;
			return 1;
		}
		cfa = w->fp + r->cfa_off;
		break;
	case UNWIND_CFA_PLT:
		cfa = w->sp + 8 + ((w->pc & 15) >= (__u64)r->cfa_off ? 8 : 0);
		break;
	case UNWIND_CFA_STOP:
		w->stop = UNWIND_STAT_END;
		return 1;
	case UNWIND_CFA_SIGNAL:
		return unwind_signal_step(w);
	case UNWIND_CFA_NONE:
		w->stop = UNWIND_STAT_NO_ROW;
		return 1;
	default:
		w->stop = UNWIND_STAT_UNKNOWN_RULE;
		return 1;
	}
	if (!unwind_read(&ra, cfa - 8)) {
		w->stop = UNWIND_STAT_BAD_READ;
		return 1;
	}
	if (r->fp_kind == UNWIND_REG_CFA) {
		if (!unwind_read(&fp, cfa + r->fp_off)) {
			w->stop = UNWIND_STAT_BAD_READ;
			return 1;
		}
	} else if (r->fp_kind != UNWIND_REG_SAME) {
		fp = 0;		/* unknown from here: a CFA that needs it stops */
	}
	w->pc = ra;
	w->pc_at = cfa - 8;
	w->sp = cfa;
	w->fp = fp;
	w->exact_pc = false;
	return 0;
}

#endif
