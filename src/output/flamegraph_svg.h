/* SPDX-License-Identifier: MIT */
/* The interactive SVG flamegraph. */
#ifndef SYSSCOPE_FLAMEGRAPH_SVG_H
#define SYSSCOPE_FLAMEGRAPH_SVG_H

#include <stdio.h>
#include "profile_tree.h"

struct svg_opts {
	const char *title;
	const char *subtitle;		/* may be NULL */
	const char *unit;		/* "samples" or "ns": tooltip wording */
	value_mask_t mask;		/* values that make a frame's width */
	int offcpu_value;		/* value index shown blue, or -1 */
	unsigned int width;		/* image width in px, 0 = 1200 */
	/*
	 * A differential flamegraph when not 0: the baseline's values (scaled
	 * to the same duration by the caller). Widths stay the current
	 * profile's (mask); a frame is red where it grew against the
	 * baseline, blue where it shrank, the deeper the more.
	 */
	value_mask_t baseline_mask;
};

/* A self-contained interactive flamegraph (zoom, search, tooltips). */
int svg__write(const struct profile_tree *t, const struct svg_opts *o,
	       FILE *f);

#endif
