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

/* Is pos cyclically within (from, to]? */
static bool between(size_t from, size_t pos, size_t to)
{
	return from <= to ? from < pos && pos <= to : from < pos || pos <= to;
}

/*
 * Linear probing without tombstones: each element after the hole that
 * would no longer be found (its home is not between the hole and it)
 * moves into the hole, which moves on.
 */
void table__remove(struct table *t, void **slot, hash_fn hash)
{
	size_t mask = t->cap - 1, hole = (size_t)(slot - t->slots), i = hole;

	t->slots[hole] = NULL;
	t->used--;
	for (;;) {
		i = (i + 1) & mask;
		if (!t->slots[i])
			return;
		if (between(hole, hash(t->slots[i]) & mask, i))
			continue;
		t->slots[hole] = t->slots[i];
		t->slots[i] = NULL;
		hole = i;
	}
}

int table__reserve(struct table *t, hash_fn hash)
{
	if ((t->used + 1) * 2 > t->cap)
		return table__grow(t, hash);
	return 0;
}
