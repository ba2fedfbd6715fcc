/* SPDX-License-Identifier: MIT */
/*
 * One memory budget for everything derived from other processes' files:
 * symbol tables, JIT perf map indexes, DWARF, the user-space side of
 * unwind tables, the cgroup resolver's entries. Each holder embeds a
 * struct cache_entry and charges its bytes; all entries are on one list in
 * least-recently-used order. A charge that would pass the budget (or its
 * kind's cap) first evicts the least recently used evictable entries, each
 * by its own callback; when that is not enough it fails with -ENOSPC and
 * nothing is charged, so the bytes held never pass the budget.
 *
 * Entries not evictable (pinned: a file a live process maps) are charged
 * and listed, but skipped when room is made.
 */
#ifndef SYSSCOPE_MEM_BUDGET_H
#define SYSSCOPE_MEM_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cache_kind {
	CACHE_SYMBOLS,		/* files' symbol tables (and function ranges) */
	CACHE_PERF_MAPS,	/* JIT perf map indexes */
	CACHE_DWARF,		/* DWARF lines and inlined calls */
	CACHE_UNWIND,		/* unwind tables, the user-space side */
	CACHE_CGROUPS,		/* the cgroup resolver's workloads */
	CACHE_KINDS,
};

struct cache_entry;
typedef void (*cache_evict_fn)(struct cache_entry *e);

struct cache_entry {
	struct cache_entry *prev, *next;	/* the LRU list; NULL: not charged */
	size_t bytes;
	enum cache_kind kind;
	bool evictable;
	cache_evict_fn evict;	/* must uncharge e (and may free it) */
};

struct mem_budget_stats {
	uint64_t limit;				/* the budget, bytes */
	uint64_t bytes[CACHE_KINDS];		/* held now */
	uint64_t entries[CACHE_KINDS];		/* held now */
	uint64_t evictions[CACHE_KINDS];	/* evicted for room */
	uint64_t hits[CACHE_KINDS];		/* found cached */
	uint64_t misses[CACHE_KINDS];		/* built (again) */
	uint64_t refused[CACHE_KINDS];		/* did not fit: not kept */
};

struct mem_budget {
	size_t limit, bytes;
	size_t kind_limit[CACHE_KINDS];		/* 0: only the budget */
	struct cache_entry lru;			/* lru.next: least recent */
	struct mem_budget_stats stats;
};

void mem_budget__init(struct mem_budget *b, size_t limit);
/* A new budget: entries evicted down to it (those pinned stay). */
void mem_budget__set_limit(struct mem_budget *b, size_t limit);
/* Bytes of kind k that fit now without evicting anything of kind k. */
size_t mem_budget__kind_room(const struct mem_budget *b, enum cache_kind k);
/* A cap on one kind within the budget (0: none but the budget). */
void mem_budget__set_kind_limit(struct mem_budget *b, enum cache_kind k,
				size_t limit);

/*
 * e (zeroed or uncharged; its evict and evictable set) holds bytes of kind
 * k: room is made and e becomes the most recently used. 0, or -ENOSPC
 * (counted refused; e is not charged).
 */
int mem_budget__charge(struct mem_budget *b, struct cache_entry *e,
		       enum cache_kind k, size_t bytes);
/* e holds nothing now (no-op when it is not charged). */
void mem_budget__uncharge(struct mem_budget *b, struct cache_entry *e);
/* e holds bytes now: room is made as for a charge. 0 or -ENOSPC (unchanged). */
int mem_budget__resize(struct mem_budget *b, struct cache_entry *e,
		       size_t bytes);
/* e was used: the most recently used now. */
void mem_budget__touch(struct mem_budget *b, struct cache_entry *e);
void mem_budget__set_evictable(struct mem_budget *b, struct cache_entry *e,
			       bool evictable);
static inline bool cache_entry__charged(const struct cache_entry *e)
{
	return e->next != NULL;
}

/*
 * Evicts the least recently used evictable entry that match accepts
 * (room somewhere else: an unwind table's in BPF). false: none.
 */
bool mem_budget__evict_first(struct mem_budget *b,
			     bool (*match)(const struct cache_entry *e));

void mem_budget__hit(struct mem_budget *b, enum cache_kind k);
void mem_budget__miss(struct mem_budget *b, enum cache_kind k);

/* The kind's label value in /metrics: "symbols", "unwind"... */
const char *cache_kind__name(enum cache_kind k);

struct stat_field;
/*
 * The fields of struct mem_budget_stats as summary.txt ("cache: ...") and
 * /metrics (sysscope_cache_*{kind="..."}) name them: *n of them.
 */
const struct stat_field *mem_budget_stats__fields(size_t *n);

#endif
