/* SPDX-License-Identifier: MIT */
/*
 * Compact unwind tables of one ELF file, evaluated ahead of time from its
 * call frame information (.eh_frame, else .debug_frame) with libdw, in the
 * form the BPF walker uses (bpf/unwind.h); cfi_packed.h packs them for it.
 *
 * A table is a sorted list of rows "from this pc on, unwind with rule r";
 * a row governs up to the next row. Addresses are the ELF file's own
 * virtual addresses (as in its symbol table): the caller maps runtime pcs
 * to them (pc - map start + map offset, then through the PT_LOAD).
 *
 * x86-64 only for now: other machines are refused with ENOTSUP.
 *
 * The files come from other tenants' containers: they are read as hostile
 * input, with every size checked and the work bounded, and a bad file is
 * an error return, never a crash or a hang.
 */
#ifndef SYSSCOPE_CFI_TABLE_H
#define SYSSCOPE_CFI_TABLE_H

#include <linux/types.h>	/* __u8 ... for bpf/unwind.h */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unwind.h"

/* Default row limit of cfi_table__from_fd(): 4M rows = 64 MiB of table. */
#define CFI_TABLE_MAX_ROWS	(4u << 20)

enum cfi_source {		/* bits: both when .debug_frame filled gaps */
	CFI_SOURCE_EH_FRAME = 1,
	CFI_SOURCE_DEBUG_FRAME = 2,
};

struct cfi_row {
	uint64_t pc;		/* ELF virtual address where the row starts */
	uint16_t rule;		/* index in cfi_table.rules */
};

/* Read-only for users; built by cfi_table__from_fd() only. */
struct cfi_table {
	struct unwind_rule *rules;	/* distinct rules */
	size_t nrules;
	struct cfi_row *rows;	/* sorted by pc, strictly increasing */
	size_t nrows;
	unsigned int source;	/* enum cfi_source bits */
};

struct cfi_table_stats {
	size_t rows;
	size_t rules;
	size_t fdes;		/* FDE address ranges evaluated */
	size_t rows_unknown;	/* rows with UNWIND_CFA_UNKNOWN */
	unsigned int source;	/* enum cfi_source bits */
};

/*
 * Builds the table of the ELF file open at fd (the caller opened it, e.g.
 * through /proc/PID/map_files, and keeps ownership). Uses .eh_frame; FDEs
 * of .debug_frame fill the addresses .eh_frame does not cover (all of them
 * when there is no .eh_frame). max_rows 0 means CFI_TABLE_MAX_ROWS.
 * st may be NULL. NULL and errno on failure: ENOEXEC/EINVAL not an ELF
 * file or malformed, ENOTSUP not x86-64, ENOENT no CFI, EFBIG a section
 * over the size limits, E2BIG over max_rows or the work limit, ENOMEM.
 */
struct cfi_table *cfi_table__from_fd(int fd, size_t max_rows,
				     struct cfi_table_stats *st);
void cfi_table__free(struct cfi_table *t);	/* accepts NULL */

/*
 * The rule of the row governing pc (binary search). NULL when pc is before
 * the first row; after the last function, and in gaps between functions,
 * the rule has cfa_kind UNWIND_CFA_NONE.
 */
const struct unwind_rule *cfi_table__find(const struct cfi_table *t,
					  uint64_t pc);

#endif
