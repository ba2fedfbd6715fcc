/* SPDX-License-Identifier: MIT */
/*
 * Reading profiles back from ClickHouse: a selection and a time range in,
 * one profile out, as a one-shot run builds it (wall-clock values: on-CPU
 * ns, off-CPU ns; the recorder's labels), so the same writers draw it.
 */
#ifndef SYSSCOPE_CH_QUERY_H
#define SYSSCOPE_CH_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include "ch_http.h"
#include "profile.h"

struct ch_selection {
	const char *namespace;		/* NULL: any */
	const char *pod;		/* NULL: any */
	const char *container;		/* NULL: any */
	const char *node;		/* NULL: every node */
	int64_t from_s, to_s;		/* window starts in [from, to) */
};

struct ch_range_info {
	uint64_t windows, nodes;
	uint64_t first_ns, end_ns;	/* first window's start, last one's end */
	uint64_t window_ns;		/* sum of the windows' durations */
};

/* The windows in the range (and node), whatever the pod selection. */
int ch_query__windows(const struct ch_conn *c, const struct ch_selection *s,
		      struct ch_range_info *out, char *err, size_t errlen);

/*
 * Adds the selection's stacks to p (value types cpu, offcpu; the
 * recorder's label keys), values at value_base and value_base + 1, each
 * multiplied by scale. *rows counts the rows read. 0 or -errno (-EBADMSG:
 * an answer that is not what was asked).
 */
int ch_query__profile(const struct ch_conn *c, const struct ch_selection *s,
		      struct profile *p, int value_base, double scale,
		      uint64_t *rows, char *err, size_t errlen);

/* Rows of an answer into p (the RowBinary part, for tests). */
int ch_query__add_rows(struct profile *p, const uint8_t *data, size_t len,
		       int value_base, double scale, uint64_t *rows);

#endif
