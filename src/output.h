/* SPDX-License-Identifier: MIT */
/* Writers of the profile: every one reads struct profile or its tree. */
#ifndef SYSSCOPE_OUTPUT_H
#define SYSSCOPE_OUTPUT_H

#include <stdio.h>
#include "profile.h"

/*
 * Which values a writer adds up for a frame's weight: a bit mask over the
 * profile's value types (bit i = value type i). Wall-clock profiles weigh
 * on-CPU and off-CPU nanoseconds together.
 */
typedef uint32_t value_mask_t;

static inline uint64_t values_sum(const uint64_t *v, value_mask_t mask)
{
	uint64_t sum = 0;

	for (int i = 0; i < PROFILE_MAX_VALUES; i++)
		if (mask & (1u << i))
			sum += v[i];
	return sum;
}

/* Frame name as written in text outputs: kernel frames get "_[k]". */
int frame__format(const struct profile_frame *fr, char *buf, size_t len);

/*
 * Folded stacks, one line per distinct path: "root;...;leaf N".
 * Semicolons and newlines inside frame names are replaced so lines parse.
 */
int folded__write(const struct profile_tree *t, value_mask_t mask, FILE *f);
/*
 * The same, one line per value type in mask, its leaf frame suffixed with
 * suffix[i] (wall-clock: "_[c]" on-CPU, "_[o]" off-CPU).
 */
int folded__write_split(const struct profile_tree *t, value_mask_t mask,
			const char *const *suffix, FILE *f);

struct svg_opts {
	const char *title;
	const char *subtitle;		/* may be NULL */
	const char *unit;		/* "samples" or "ns": tooltip wording */
	value_mask_t mask;		/* values that make a frame's width */
	int offcpu_value;		/* value index shown blue, or -1 */
	unsigned int width;		/* image width in px, 0 = 1200 */
};

/* A self-contained interactive flamegraph (zoom, search, tooltips). */
int svg__write(const struct profile_tree *t, const struct svg_opts *o,
	       FILE *f);

/* gzip-compressed profile.proto; 0 or -errno. */
int pprof__write(const struct profile *p, const struct profile_meta *m,
		 const char *path);
/* The same, to a stream (an HTTP response). */
int pprof__write_stream(const struct profile *p, const struct profile_meta *m,
			FILE *f);

struct summary_opts {
	value_mask_t mask;		/* what "samples" means here */
	const char *unit;		/* "samples" or "ns" */
	size_t top;			/* rows per table, 0 = 15 */
};

/* Plain-text summary: duration, samples, lost, top processes/functions. */
int summary__write(const struct profile *p, const struct profile_meta *m,
		   const struct summary_opts *o,
		   FILE *f);

struct threads_opts {
	int cpu_value;			/* value index of on-CPU ns, or -1 */
	int offcpu_value;		/* value index of off-CPU ns, or -1 */
	uint64_t duration_ns;
};

/*
 * Per thread: on-CPU time, off-CPU time by reason, and coverage
 * (on + off) / duration; then per process. Flags coverage far from 100%.
 */
int threads__write(const struct profile *p, const struct threads_opts *o,
		   FILE *f);

#endif
