/* SPDX-License-Identifier: MIT */
/*
 * Pointer tables with open addressing, for the symbolizer's processes,
 * files and build-ids: the key lives in the element, the table holds only
 * pointers, at most half full.
 */
#ifndef SYSSCOPE_PTR_TABLE_H
#define SYSSCOPE_PTR_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct table {
	void **slots;
	size_t cap, used;
};

typedef uint64_t (*hash_fn)(const void *elem);

/* A 64-bit mix (murmur3's finalizer) for keys that are small integers. */
uint64_t mix(uint64_t h);
/* Room for one more element: 0 or -ENOMEM. */
int table__reserve(struct table *t, hash_fn hash);
/* The slot holding an element equal to key, or the empty slot. */
void **table__slot(const struct table *t, uint64_t h,
		   bool (*equal)(const void *elem, const void *key),
		   const void *key);
/* Empties slot (of t), moving later elements of its run back into place. */
void table__remove(struct table *t, void **slot, hash_fn hash);

#endif
