/* SPDX-License-Identifier: MIT */
/*
 * Compact unwind tables of one ELF file, evaluated ahead of time from its
 * call frame information (.eh_frame, else .debug_frame) with libdw, in the
 * form the BPF walker uses (bpf/unwind.h).
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
/* Packed tables may span at most this many 64 KiB pages (4 GiB). */
#define CFI_PACKED_MAX_PAGES	(1u << 16)

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

/*
 * The BPF form (bpf/unwind.h): rows[] are UNWIND_ROW(pc & 0xffff, global
 * rule), pages of 1 << UNWIND_PAGE_SHIFT bytes from first_page on; the
 * rows of page p are rows[page_index[p] .. page_index[p + 1]), and
 * page_index[npages] = nrows. A page whose first byte is governed by a
 * rule starts with a row at that byte, so a lookup reads only its page.
 * Exception: a copy of a UNWIND_CFA_NONE row is not made at page starts,
 * so "not found" in the packed form means the same as UNWIND_CFA_NONE.
 */
struct cfi_packed {
	uint64_t first_page;	/* first row's pc >> UNWIND_PAGE_SHIFT */
	uint32_t npages;
	uint32_t nrows;
	uint32_t *page_index;	/* npages + 1 entries */
	uint32_t *rows;
};

/*
 * Packs t into out with rule_map[i] the global rule index of the table's
 * rule i (t->nrules entries). 0 or -errno: -EINVAL bad arguments, -ENOENT
 * empty table, -E2BIG more than CFI_PACKED_MAX_PAGES pages, -ENOMEM.
 * out is zeroed on failure; free it with cfi_packed__free().
 */
int cfi_table__pack(const struct cfi_table *t, const uint16_t *rule_map,
		    struct cfi_packed *out);
void cfi_packed__free(struct cfi_packed *p);	/* accepts NULL; zeroes */

/*
 * The global rule of pc in the packed form, written as the BPF program
 * does it: page window, then a binary search of at most 17 steps (a page
 * holds at most 65536 rows). *found false (and 0 returned) when no row
 * governs pc.
 */
uint32_t cfi_packed__find(const struct cfi_packed *p, uint64_t pc,
			  bool *found);

#endif
