// SPDX-License-Identifier: MIT
/* Pointer tables with open addressing (see ptr_table.h). */
#include <errno.h>
#include <stdlib.h>
#include "ptr_table.h"

uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static int table__grow(struct table *t, hash_fn hash)
{
	size_t cap = t->cap ? t->cap * 2 : 256;
	void **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		size_t pos;

		if (!t->slots[i])
			continue;
		pos = hash(t->slots[i]) & (cap - 1);
		while (slots[pos])
			pos = (pos + 1) & (cap - 1);
		slots[pos] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

/* Returns the slot holding an element equal to key, or the empty slot. */
void **table__slot(const struct table *t, uint64_t h,
			  bool (*equal)(const void *elem, const void *key),
			  const void *key)
{
	size_t pos = h & (t->cap - 1);

	while (t->slots[pos] && !equal(t->slots[pos], key))
		pos = (pos + 1) & (t->cap - 1);
	return &t->slots[pos];
}

int table__reserve(struct table *t, hash_fn hash)
{
	if ((t->used + 1) * 2 > t->cap)
		return table__grow(t, hash);
	return 0;
}
