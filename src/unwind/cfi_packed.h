/* SPDX-License-Identifier: MIT */
/*
 * The packed form of a cfi_table (cfi_table.h), the one the BPF walker
 * reads (bpf/unwind.h): 32-bit rows grouped in 64 KiB pages of the file's
 * addresses. Kept apart from cfi_table.h because it depends only on a
 * finished table, not on how the table was built from the ELF file, and
 * cfi_packed__find() mirrors the BPF lookup so tests can check it in user
 * space.
 */
#ifndef SYSSCOPE_CFI_PACKED_H
#define SYSSCOPE_CFI_PACKED_H

#include <stdbool.h>
#include <stdint.h>

#include "cfi_table.h"

/* Packed tables may span at most this many 64 KiB pages (4 GiB). */
#define CFI_PACKED_MAX_PAGES	(1u << 16)

/*
 * The BPF form (bpf/unwind.h): rows[] are UNWIND_ROW(pc & 0xffff, global
 * rule), pages of 1 << UNWIND_PAGE_SHIFT bytes from first_page on; the
 * rows of page p are rows[page_index[p] .. page_index[p + 1]), and
 * page_index[npages] = nrows. A page whose first byte is governed by a
 * rule starts with a row at that byte, so a lookup reads only its page.
 * Exception: a copy of a UNWIND_CFA_NONE row is not made at page starts,
 * so "not found" in the packed form means the same as UNWIND_CFA_NONE.
 * The pages end with the last row's: tables from cfi_table__from_fd()
 * end with a UNWIND_CFA_NONE row, so nothing is lost.
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
int cfi_packed__from_table(const struct cfi_table *t, const uint16_t *rule_map,
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
