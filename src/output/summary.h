/* SPDX-License-Identifier: MIT */
/* summary.txt: the run in numbers and its top entries. */
#ifndef SYSSCOPE_SUMMARY_H
#define SYSSCOPE_SUMMARY_H

#include <stdio.h>
#include "profile.h"

struct summary_opts {
	value_mask_t mask;		/* what "samples" means here */
	const char *unit;		/* "samples" or "ns" */
	size_t top;			/* rows per table, 0 = 15 */
};

/* Plain-text summary: duration, samples, lost, top processes/functions. */
int summary__write(const struct profile *p, const struct profile_meta *m,
		   const struct summary_opts *o,
		   FILE *f);

#endif
