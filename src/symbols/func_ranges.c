// SPDX-License-Identifier: MIT
/* Function ranges from CFI (see func_ranges.h). */
#include <errno.h>
#include <stdlib.h>
#include "cfi_fde.h"
#include "func_ranges.h"

/* A stripped libLLVM has ~95k: a bound, with room. */
#define FUNC_RANGES_MAX (1u << 20)

struct func_ranges {
	uint64_t *lo, *hi;	/* sorted, disjoint */
	size_t n;
};

size_t func_ranges__bytes(const struct func_ranges *r)
{
	return r ? sizeof(*r) + r->n * 2 * sizeof(uint64_t) : 0;
}

struct func_ranges *func_ranges__from_fd(int fd)
{
	struct cfi_fdes f;
	struct func_ranges *r;
	int err = cfi_fdes__open(&f, fd, FUNC_RANGES_MAX);

	if (err) {
		errno = -err;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r) {
		r->lo = calloc(f.n, sizeof(*r->lo));
		r->hi = calloc(f.n, sizeof(*r->hi));
	}
	if (!r || !r->lo || !r->hi) {
		func_ranges__free(r);
		cfi_fdes__close(&f);
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < f.n; i++) {
		r->lo[i] = f.ranges[i].lo;
		r->hi[i] = f.ranges[i].hi;
	}
	r->n = f.n;
	cfi_fdes__close(&f);
	return r;
}

void func_ranges__free(struct func_ranges *r)
{
	if (!r)
		return;
	free(r->lo);
	free(r->hi);
	free(r);
}

bool func_ranges__find(const struct func_ranges *r, uint64_t vaddr,
		       uint64_t *start)
{
	size_t lo = 0, hi = r ? r->n : 0;

	while (lo < hi) {	/* the last range starting at or before vaddr */
		size_t mid = lo + (hi - lo) / 2;

		if (r->lo[mid] <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || vaddr >= r->hi[lo - 1])
		return false;
	*start = r->lo[lo - 1];
	return true;
}
