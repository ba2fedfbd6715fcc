// SPDX-License-Identifier: MIT
/*
 * The packed (BPF) form of CFI unwind tables (see cfi_packed.h): a
 * cfi_table's rows cut into 64 KiB pages, each page starting with the row
 * that governs its first byte, and the lookup the BPF program does on
 * them. Only a finished cfi_table is read here: no libdw, no ELF file.
 * Functions return 0 or -errno.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cfi_packed.h"

void cfi_packed__free(struct cfi_packed *p)
{
	if (!p)
		return;
	free(p->page_index);
	free(p->rows);
	memset(p, 0, sizeof(*p));
}

static uint32_t packed_row(const struct cfi_table *t, const uint16_t *map,
			   size_t i, bool at_page_start)
{
	return UNWIND_ROW(at_page_start ? 0 : t->rows[i].pc & 0xffff,
			  map[t->rows[i].rule]);
}

/*
 * The rows of page number page, from row *i on: first a copy of the row
 * governing the page's first byte when no row starts there (and it is
 * not a gap), then the rows starting in it.
 */
static uint32_t pack_page(const struct cfi_table *t, const uint16_t *map,
			  uint64_t page, size_t *i, uint32_t *out)
{
	uint32_t k = 0;
	size_t j = *i;

	if (j && j < t->nrows && t->rows[j].pc != page << UNWIND_PAGE_SHIFT &&
	    t->rules[t->rows[j - 1].rule].cfa_kind != UNWIND_CFA_NONE)
		out[k++] = packed_row(t, map, j - 1, true);
	for (; j < t->nrows && t->rows[j].pc >> UNWIND_PAGE_SHIFT == page; j++)
		out[k++] = packed_row(t, map, j, false);
	*i = j;
	return k;
}

int cfi_packed__from_table(const struct cfi_table *t, const uint16_t *rule_map,
			   struct cfi_packed *out)
{
	uint64_t first, last;
	size_t i = 0, cap;
	uint32_t k = 0;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!t || !rule_map)
		return -EINVAL;
	if (!t->nrows)
		return -ENOENT;
	first = t->rows[0].pc >> UNWIND_PAGE_SHIFT;
	last = t->rows[t->nrows - 1].pc >> UNWIND_PAGE_SHIFT;
	if (last - first >= CFI_PACKED_MAX_PAGES)
		return -E2BIG;
	out->first_page = first;
	out->npages = (uint32_t)(last - first + 1);
	/* At most one copy per page: the bound of the row count. */
	cap = t->nrows + out->npages;
	if (cap > UINT32_MAX)
		return -E2BIG;
	out->page_index = calloc(out->npages + 1, sizeof(*out->page_index));
	out->rows = calloc(cap, sizeof(*out->rows));
	if (!out->page_index || !out->rows) {
		cfi_packed__free(out);
		return -ENOMEM;
	}
	for (uint32_t p = 0; p < out->npages; p++) {
		out->page_index[p] = k;
		k += pack_page(t, rule_map, first + p, &i, out->rows + k);
	}
	out->page_index[out->npages] = k;
	out->nrows = k;
	return 0;
}

/*
 * As the BPF program does it: only the page's window is searched, and the
 * loop has a constant bound the verifier accepts. A window holds at most
 * 65536 rows (distinct 16-bit pcs), which 17 halvings always narrow down.
 */
uint32_t cfi_packed__find(const struct cfi_packed *p, uint64_t pc, bool *found)
{
	uint32_t lo, hi, start, key = pc & 0xffff;
	uint64_t page = pc >> UNWIND_PAGE_SHIFT;

	*found = false;
	if (!p || !p->npages || page < p->first_page ||
	    page - p->first_page >= p->npages)
		return 0;
	page -= p->first_page;
	start = lo = p->page_index[page];
	hi = p->page_index[page + 1];
	if (hi > p->nrows || lo >= hi)
		return 0;
	for (int step = 0; step < 17 && lo < hi; step++) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (UNWIND_ROW_PC(p->rows[mid]) <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == start)
		return 0;	/* the page's first row starts after pc */
	*found = true;
	return UNWIND_ROW_RULE(p->rows[lo - 1]);
}
