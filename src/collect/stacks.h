/* SPDX-License-Identifier: MIT */
/* Builds one sample's frames, root first, from raw stack addresses. */
#ifndef SYSSCOPE_STACKS_H
#define SYSSCOPE_STACKS_H

#include <stdint.h>
#include "profile.h"
#include "prom.h"
#include "symbolize.h"

struct python;

#define STACK_MAX_DEPTH 127		/* the kernel's PERF_MAX_STACK_DEPTH */
/* User and kernel frames, with room for calls inlined into user code. */
#define STACK_MAX_FRAMES (3 * STACK_MAX_DEPTH + 8)

struct stack_builder {
	struct symbolizer *sym;
	struct profile *p;
	uint32_t frames[STACK_MAX_FRAMES];
	uint32_t n;
	struct user_frames user;	/* scratch: one address's frames */
	struct python *py;		/* names Python frames; NULL: none */
};

void stack_builder__reset(struct stack_builder *b);
int stack_builder__push(struct stack_builder *b, const char *name,
			enum frame_kind kind);
/*
 * Names each address with its inlined calls and source lines. Inlined
 * frames are left out where they would take the room of the functions
 * (and kernel frames) still to come.
 */
/*
 * ips are leaf first (as the kernel walks them); 0 ends the list early.
 * Python frames (bpf/python.h) after the native ones take the place of
 * the eval-loop frames that run them: the n-th from the leaf runs the
 * n-th run of Python frames.
 * start_ns tells pid's process from others that had its pid (symbolize.h).
 */
int stack_builder__push_user(struct stack_builder *b, uint32_t pid,
			     uint64_t start_ns, const uint64_t *ips, uint32_t n);
int stack_builder__push_kernel(struct stack_builder *b, const uint64_t *ips,
			       uint32_t n);

/* Reads stack id from a BPF stack map into ips; depth, or -errno. */
int stack_map__read(int map_fd, int32_t id, uint64_t *ips);

/* Reads user stack id from the walker's ustacks map (bpf/unwind.h). */
int ustack_map__read(int map_fd, int32_t id, uint64_t *ips);

/*
 * The /metrics families both collectors count in (their stat tables give
 * the collector and the cause as labels).
 */
extern const struct prom_family lost_samples_family, stack_failures_family,
	notices_lost_family;

/* Sums a per-CPU array of n u64 counters into out[n]. 0 or -errno. */
int percpu_counters__read(int map_fd, uint32_t n, uint64_t *out);

struct bpf_map;

/* A hash map's entries, read at once: keys[i] has vals[i]. */
struct map_entries {
	size_t ksz, vsz;	/* set before reading */
	char *keys, *vals;
	size_t n, cap;
};

/*
 * Reads every entry of the map fd (in batches where the kernel can) into
 * e, emptied first; e's arrays are reused. 0 or -errno.
 */
int map_entries__read(struct map_entries *e, int fd);
void map_entries__free(struct map_entries *e);

/*
 * Deletes every entry of a hash or stack map (programs may add new ones
 * meanwhile: those stay). 0 or -errno.
 */
int map__empty(const struct bpf_map *map);

#endif
