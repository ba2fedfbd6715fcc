/* SPDX-License-Identifier: MIT */
/*
 * A one-shot run's output folder: every file, rendered here and stored by
 * the writer process (sandbox/writer.h), since the profiler itself may not
 * create files once sandboxed.
 */
#ifndef SYSSCOPE_OUTDIR_H
#define SYSSCOPE_OUTDIR_H

#include <stdbool.h>
#include <stdint.h>
#include "profile.h"

struct writer;

struct outdir {
	struct writer *writer;
	const char *dir;		/* its path, for messages */
	const struct profile *profile;
	const struct profile_meta *meta;
	const char *title;		/* "profile", "wallclock", ... */
	value_mask_t weight;		/* what a frame's width is */
	const char *unit;		/* "samples" or "ns" */
	int cpu_value, offcpu_value;	/* nanosecond values, -1: none */
	uint64_t duration_ns;
	bool per_thread;		/* threads/: runs aimed at processes or threads */
	bool node_graph;		/* node.svg: runs over the whole node */
};

/*
 * stacks.folded, flamegraph.svg (wall-clock: also -oncpu/-offcpu.svg),
 * summary.txt, threads.txt, profile.pb.gz, per-thread graphs and
 * pods/<ns>/<pod>/<container>.svg. 0 or the first -errno (all are tried).
 */
int outdir__write(const struct outdir *o);

#endif
