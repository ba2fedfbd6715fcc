/* SPDX-License-Identifier: MIT */
/*
 * The unwinder's oracle (--validate-unwind): some samples carry their
 * user registers and the top 16 KiB of their stack (struct unwind_sample);
 * each is walked again here with elfutils' libdwfl, as perf does with
 * --call-graph dwarf, and compared frame for frame with the BPF walk.
 */
#ifndef SYSSCOPE_UNWIND_CHECK_H
#define SYSSCOPE_UNWIND_CHECK_H

#include <stddef.h>
#include <stdint.h>

struct unwind_check_stats {
	uint64_t samples;		/* checked */
	uint64_t samples_agree;		/* every frame both walks have agrees */
	uint64_t samples_failed;	/* libdw found no frame (process gone, ...) */
	uint64_t samples_skipped;	/* over the cap of checks per run */
	uint64_t frames;		/* frames compared */
	uint64_t frames_agree;
	uint64_t bpf_shorter;		/* samples where BPF found fewer frames */
	uint64_t libdw_one_frame;	/* libdw went no further than the pc */
	uint64_t stack_not_copied;	/* BPF could not copy the stack's top */
};

struct unwind_check;

/* Checks at most max_samples samples. NULL and errno on failure. */
struct unwind_check *unwind_check__new(const char *proc_root,
				       size_t max_samples);
void unwind_check__free(struct unwind_check *c);

/* A ring-buffer callback for struct unwind_sample events (ctx: c). */
int unwind_check__on_sample(void *ctx, void *data, size_t len);

const struct unwind_check_stats *unwind_check__stats(const struct unwind_check *c);

#endif
