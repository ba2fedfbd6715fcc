/* SPDX-License-Identifier: MIT */
/*
 * The one aggregated profile every output is written from.
 *
 * A profile is a set of samples. Each sample is a stack of interned frames
 * (root first: the process name, then the outermost user frame down to the
 * leaf-most kernel frame) with the thread it came from and one value per
 * sample type. Adding the same (pid, tid, thread, stack) twice sums the values.
 *
 * profile_tree.h has the one tree view of it that the folded, SVG and
 * summary writers walk; pprof walks the samples because it keeps the
 * per-thread labels.
 */
#ifndef SYSSCOPE_PROFILE_H
#define SYSSCOPE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILE_MAX_VALUES 4
#define PROFILE_MAX_LABELS 5

enum frame_kind {
	FRAME_USER,	/* a function in a user-space binary or library */
	FRAME_KERNEL,	/* a kernel function: written with the suffix "_[k]" */
	FRAME_PROCESS,	/* process name; not a code location */
	FRAME_MARKER,	/* a synthetic frame such as "[unknown]" */
	FRAME_GROUP,	/* above the process: "[pod ns/name]", "[host]" */
};

/*
 * A frame: a function, and where in it when the binary has DWARF lines.
 * Code inlined into a function gives several frames for one address: the
 * function's, then one per inlined call, each with inlined set.
 */
struct profile_frame {
	const char *name;	/* interned, valid while the profile lives */
	const char *file;	/* source file (interned), or NULL */
	const char *system_name;	/* the mangled name (interned), or NULL */
	uint32_t line;		/* line in file; 0: unknown */
	uint32_t start_line;	/* the function's first line; 0: unknown */
	uint32_t box;		/* id of (name, kind) alone: one box per function */
	uint8_t kind;		/* enum frame_kind */
	bool inlined;		/* inlined into the frame before it (rootward) */
};

struct profile_value_type {
	const char *type;	/* pprof sample type, e.g. "samples", "cpu" */
	const char *unit;	/* e.g. "count", "nanoseconds" */
};

struct profile_sample {
	uint32_t pid;
	uint32_t tid;
	const char *thread;	/* thread name (comm), interned */
	const char *labels[PROFILE_MAX_LABELS];	/* interned or NULL */
	uint32_t nframes;
	const uint32_t *frames;	/* frame ids, root first */
	uint64_t values[PROFILE_MAX_VALUES];
};

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

struct profile;

/* Constructor: NULL and errno on failure. The value types are copied. */
struct profile *profile__new(const struct profile_value_type *types,
			     size_t ntypes);
void profile__free(struct profile *p);

/* Interns a string; returns a pointer stable for the profile's life or NULL. */
const char *profile__intern(struct profile *p, const char *s);

/* Returns the frame id of (name, kind), adding it if new; -errno on error. */
int64_t profile__frame(struct profile *p, const char *name,
		       enum frame_kind kind);
/*
 * The same for a frame with its source line (f's strings are interned, its
 * box ignored): frames of one function at other lines share one box.
 */
int64_t profile__frame_at_line(struct profile *p, const struct profile_frame *f);

/* Adds values to the sample (pid, tid, thread, frames); 0 or -errno. */
int profile__add(struct profile *p, uint32_t pid, uint32_t tid,
		 const char *thread, const uint32_t *frames, uint32_t nframes,
		 const uint64_t *values);

/*
 * Names the string labels samples may carry (e.g. "reason", "pod"); call it
 * before adding samples. 0 or -errno.
 */
int profile__set_label_keys(struct profile *p, const char *const *keys,
			    size_t n);
size_t profile__nlabels(const struct profile *p);
const char *profile__label_key(const struct profile *p, size_t i);

/* profile__add with one value (or NULL) per label key. */
int profile__add_labeled(struct profile *p, uint32_t pid, uint32_t tid,
			 const char *thread, const char *const *labels,
			 const uint32_t *frames, uint32_t nframes,
			 const uint64_t *values);

size_t profile__nvalue_types(const struct profile *p);
const struct profile_value_type *profile__value_type(const struct profile *p,
						      size_t i);
size_t profile__nframes(const struct profile *p);
const struct profile_frame *profile__frame_at(const struct profile *p,
					      uint32_t id);
size_t profile__nsamples(const struct profile *p);
const struct profile_sample *profile__sample_at(const struct profile *p,
						size_t i);
/* The sample's FRAME_PROCESS frame (below any group frames), or NULL. */
const struct profile_frame *profile__process_frame(const struct profile *p,
						   const struct profile_sample *s);

/* Sum of value i over all samples. */
uint64_t profile__total(const struct profile *p, size_t i);

struct meta_counter {
	const char *name;
	uint64_t value;
};

/* Metadata carried to the outputs. */
struct profile_meta {
	const char *mode;		/* "profile", ... */
	uint64_t start_ns;		/* CLOCK_REALTIME at start */
	uint64_t duration_ns;
	uint64_t period_ns;		/* sampling period, for pprof */
	uint64_t lost;			/* samples counted but not in the profile */
	const struct meta_counter *counters;	/* collector statistics */
	size_t ncounters;
};

typedef bool (*sample_pred_fn)(const struct profile_sample *s, void *ctx);

/* Heap bytes the profile holds (an estimate within malloc's overhead). */
size_t profile__bytes(const struct profile *p);
/*
 * Adds the samples of src that keep() accepts (all if keep is NULL) to
 * dst, which must have the same value types and label keys. 0 or -errno.
 */
int profile__merge(struct profile *dst, const struct profile *src,
		   sample_pred_fn keep, void *ctx);

#endif
