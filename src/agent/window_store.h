/* SPDX-License-Identifier: MIT */
/*
 * The agent's memory: one whole-node profile per time window, newest last,
 * kept for a retention period under a byte budget. The collector adds, the
 * HTTP server reads; a reader holds references, so the collector never
 * waits for a reader beyond one short lock.
 */
#ifndef SYSSCOPE_WINDOW_STORE_H
#define SYSSCOPE_WINDOW_STORE_H

#include <stddef.h>
#include <stdint.h>

struct profile;

/* A window's profile is wall-clock: value 0 is on-CPU ns, value 1 off-CPU ns. */
#define VALUE_CPU	0
#define VALUE_OFFCPU	1

/* How a window was sampled: its values are already scaled to time. */
struct window_sampling {
	uint32_t oncpu_hz;		/* 0: unknown */
	double offcpu_probability;	/* off-CPU switch-outs recorded / seen */
};

struct window {
	uint64_t seq;			/* 1, 2, ... in the order added */
	uint64_t start_real_ns;		/* CLOCK_REALTIME */
	uint64_t duration_ns;
	struct window_sampling sampling;
	struct profile *profile;	/* immutable once stored */
	size_t bytes;			/* profile__bytes() */
	int refs;
};

struct window_store_stats {
	size_t windows;
	size_t bytes;
	uint64_t added;
	uint64_t evicted_age;		/* older than the retention */
	uint64_t evicted_memory;	/* pushed out by the byte budget */
};

struct window_store;

struct window_store *window_store__new(uint64_t retention_ns,
				       size_t budget_bytes);
void window_store__free(struct window_store *st);

/*
 * Stores profile p (sampled as ws says; NULL: unknown) (the store owns it from here, even on error), then
 * evicts windows that end before now_real_ns - retention and, oldest
 * first, windows over the byte budget. The newest window always stays.
 */
int window_store__add(struct window_store *st, struct profile *p,
		      uint64_t start_real_ns, uint64_t duration_ns,
		      uint64_t now_real_ns, const struct window_sampling *ws);

/* Evicts the oldest window but the newest (memory pressure): 1 if it did. */
int window_store__evict_oldest(struct window_store *st);

/*
 * The newest n windows (every window if n is 0), oldest first, each with a
 * reference the caller gives back with window_store__put. NULL with
 * *count 0 when the store is empty (errno 0) or on ENOMEM.
 */
struct window **window_store__get(struct window_store *st, size_t n,
				  size_t *count);
void window_store__put(struct window **w, size_t count);

void window_store__stats(struct window_store *st,
			 struct window_store_stats *out);

#endif
