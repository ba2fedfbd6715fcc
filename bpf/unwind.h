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

#include "python.h"

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
	__u8 pad;		/* 0: rules are compared as bytes */
	__s32 cfa_off;
	__s16 fp_off;
	__s16 ra_off;
};

/*
 * Rows for BPF are packed in one __u32: the pc's low 16 bits and the rule
 * index. A per-file page
 * index (one entry per 64 KiB of the file's addresses) gives the first row
 * of each page; every page whose first byte is governed by a rule starts
 * with a row at that byte, so a lookup never looks back. No row found in
 * the page (a gap, or before the first function) means UNWIND_CFA_NONE.
 * Rows of a page have distinct 16-bit pcs: at most 65536, so a bounded
 * binary search of 17 steps always ends.
 */
#define UNWIND_PAGE_SHIFT 16
#define UNWIND_ROW(pc_low, rule) (((__u32)(pc_low) & 0xffff) | ((__u32)(rule) << 16))
#define UNWIND_ROW_PC(row) ((row) & 0xffff)
#define UNWIND_ROW_RULE(row) ((row) >> 16)
#define UNWIND_MAX_RULES 65536

/*
 * Rows and page indexes live in arrays of blocks of 16 (an array map pads
 * each element to 8 bytes: blocks keep the u32s contiguous for user
 * space, which writes them through mmap).
 */
#define UNWIND_BLOCK 16
struct unwind_block {
	__u32 v[UNWIND_BLOCK];
};

/* Where each loaded table's rows and pages start in the shared arrays. */
struct unwind_table_info {
	__u64 first_page;	/* first row's pc >> UNWIND_PAGE_SHIFT */
	__u32 npages;		/* 0: slot unused */
	__u32 page_base;	/* index of page 0 in unwind_pages */
	__u32 row_base;		/* index of row 0 in unwind_rows */
	__u32 pad;
};

/* A mapping without a table: walk it by frame pointers (JIT code). */
#define UNWIND_TABLE_FP 0xffffffffu
/* Executable mappings kept per process; more are walked by frame pointers. */
#define UNWIND_MAX_MAPPINGS 256

/* One executable mapping: ELF address = pc - bias. */
struct unwind_mapping {
	__u64 start, end;
	__u64 bias;
	__u32 table;		/* index in unwind_tables, or UNWIND_TABLE_FP */
	__u32 pad;
};

/* A process's executable mappings, sorted by start, not overlapping. */
struct unwind_proc {
	__u32 nmaps;
	__u32 remap_asked;	/* BPF asked user space to read the maps again */
	struct py_proc py;	/* its CPython interpreter, if any (python.h) */
	struct unwind_mapping maps[UNWIND_MAX_MAPPINGS];
};

/*
 * A walked user stack: ips leaf first, zero after the last. at[i] is where
 * ips[i] was read from (i >= 1), as an offset from the leaf's sp: a thread
 * back at the same pc and sp has the same stack if those words still hold
 * the same return addresses, which is cheaper to check than a walk.
 */
struct ustack {
	__u64 hash;		/* of the ips: tells a collision from a repeat */
	__u64 ips[127];		/* MAX_STACK_DEPTH */
	__u32 at[127];
	__u32 span;		/* bytes above sp that hold its return addresses */
};

/*
 * --validate-unwind: a sample's user registers and the top of its stack,
 * with what the BPF walk found, for user space to walk again with libdw.
 */
#define UNWIND_COPY_CHUNK 4096
#define UNWIND_COPY_BYTES (4 * UNWIND_COPY_CHUNK)
struct unwind_sample {
	__u32 pid, tid;
	__u32 stack_len;	/* bytes of stack[] copied from stack_addr on */
	__u32 nips;
	__u64 stack_addr;	/* rsp's page: a copy never crosses the stack's end */
	__u32 pages_missing;	/* bit i: page i not resident, left zero */
	__u32 pad2;
	__u64 regs[17];		/* DWARF x86-64 order: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip */
	__u64 ips[127];		/* the BPF walk, leaf first */
	__u8 stack[UNWIND_COPY_BYTES];
};

/*
 * How user-stack walks end, and how their frames were found. A walk of a
 * process whose tables are not loaded yet is counted only as such.
 */
enum unwind_stat {
	UNWIND_STAT_END,		/* reached the outermost frame */
	UNWIND_STAT_FP_END,		/* frame-pointer walk ended (fp 0 or below sp) */
	UNWIND_STAT_DEPTH,		/* 127 frames: cut */
	UNWIND_STAT_BAD_READ,		/* stack memory unreadable */
	UNWIND_STAT_UNKNOWN_RULE,	/* a rule the walker cannot evaluate */
	UNWIND_STAT_NO_ROW,		/* pc in no function of its table */
	UNWIND_STAT_FP_FRAMES,		/* frames by fp: mapping without a table */
	UNWIND_STAT_FP_NO_TABLES,	/* frames by fp: process not loaded yet */
	UNWIND_STAT_NO_TABLES,		/* walks (by fp) before its tables were in */
	UNWIND_STAT_REUSED,		/* off-CPU: a stack checked, not walked again */
	/* Python frame walks (python.bpf.h): how they ended, frames read. */
	UNWIND_STAT_PY_END,		/* reached the thread's first frame */
	UNWIND_STAT_PY_NO_THREAD,	/* no PyThreadState for the thread */
	UNWIND_STAT_PY_BAD_READ,	/* interpreter memory unreadable */
	UNWIND_STAT_PY_DEPTH,		/* no room left in the stack: cut */
	UNWIND_STAT_PY_FRAMES,		/* Python frames read */
	UNWIND_STAT_MAX,
};

#endif
