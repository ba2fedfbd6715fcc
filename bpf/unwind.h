/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CFI unwind tables, shared by the BPF walker and user space: fixed-width
 * fields only.
 *
 * User space evaluates each FDE of a file's .eh_frame (or .debug_frame)
 * ahead of time into rows: "from this pc on, the caller's frame is found
 * by this rule". Rules are few (a few hundred distinct ones on a whole
 * node) and deduplicated globally; rows are many and kept small.
 *
 * x86-64: the CFA is rsp or rbp plus an offset; the return address is at
 * CFA - 8; rbp was saved at CFA + fp_off or is unchanged. arm64 adds where
 * the link register was saved (ra_kind/ra_off), unused on x86-64.
 */
#ifndef SYSSCOPE_UNWIND_H
#define SYSSCOPE_UNWIND_H

enum unwind_cfa_kind {
	UNWIND_CFA_SP = 0,	/* CFA = sp + cfa_off */
	UNWIND_CFA_FP = 1,	/* CFA = fp (rbp) + cfa_off */
	UNWIND_CFA_PLT = 2,	/* x86-64 PLT: sp + 8, + 8 more if (pc & 15) >= cfa_off */
	UNWIND_CFA_STOP = 3,	/* return address undefined: outermost frame */
	UNWIND_CFA_SIGNAL = 4,	/* rt_sigreturn trampoline: registers in the signal frame */
	UNWIND_CFA_UNKNOWN = 5,	/* a rule the walker cannot evaluate */
	UNWIND_CFA_NONE = 6,	/* no FDE covers this pc (gap between functions) */
};

enum unwind_reg_kind {
	UNWIND_REG_SAME = 0,	/* unchanged from the callee's frame */
	UNWIND_REG_CFA = 1,	/* saved at CFA + off */
	UNWIND_REG_UNKNOWN = 2,	/* elsewhere (another register, an expression) */
	UNWIND_REG_UNDEFINED = 3,
};

struct unwind_rule {
	__u8 cfa_kind;		/* enum unwind_cfa_kind */
	__u8 fp_kind;		/* enum unwind_reg_kind: rbp (x86-64), x29 (arm64) */
	__u8 ra_kind;		/* arm64 lr; UNWIND_REG_SAME on x86-64 */
	__u8 pad;
	__s32 cfa_off;
	__s16 fp_off;
	__s16 ra_off;
};

/*
 * Rows for BPF are packed in one __u32: the pc's low 16 bits and the rule
 * index. A per-file page index (one entry per 64 KiB of the file's
 * addresses) gives the first row of each page; every page that has rows
 * starts with a row at its first byte, so a lookup never looks back.
 */
#define UNWIND_PAGE_SHIFT 16
#define UNWIND_ROW(pc_low, rule) ((__u32)(pc_low) | ((__u32)(rule) << 16))
#define UNWIND_ROW_PC(row) ((row) & 0xffff)
#define UNWIND_ROW_RULE(row) ((row) >> 16)
#define UNWIND_MAX_RULES 65536

#endif
