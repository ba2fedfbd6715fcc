/* SPDX-License-Identifier: MIT */
/*
 * One window as ClickHouse rows: what the agent hands to the pusher
 * (sandbox/pusher.h), what the pusher keeps in memory, spools to disk and
 * sends. A batch is self-describing and checked:
 *
 *   "SSCHB1\0\0"  window id (u64)  node's row count... then, per table
 *   (stacks, samples, windows): u32 length + gzip'd RowBinary rows;
 *   last a CRC-32 (zlib's) of every byte before it.
 *
 * Samples are summed per (namespace, pod, container, off-CPU reason,
 * stack) over the window's threads; each stack goes once into the stacks
 * table, keyed by its hash (ch_rows.h).
 */
#ifndef SYSSCOPE_CH_BATCH_H
#define SYSSCOPE_CH_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include "ch_rows.h"

enum ch_table { CH_STACKS, CH_SAMPLES, CH_WINDOWS, CH_TABLES };

#define CH_BATCH_MAGIC "SSCHB1\0\0"
#define CH_BATCH_MAX (256u << 20)	/* bytes of one batch */

/* Which values of a window's profile are on-CPU and off-CPU ns. */
struct ch_window {
	const struct profile *profile;
	int cpu_value, offcpu_value;
	const char *node;
	uint64_t start_real_ns, duration_ns;
};

struct ch_batch_stats {
	uint32_t rows[CH_TABLES];
	size_t raw_bytes;		/* RowBinary before gzip */
	size_t wire_bytes;		/* gzip'd, as sent */
	uint64_t oncpu_ns, offcpu_ns;
};

/* Encodes w into out (appended). 0 or -errno. */
int ch_batch__encode(const struct ch_window *w, struct ch_buf *out,
		     struct ch_batch_stats *stats);

struct ch_batch_view {
	uint64_t window_id;
	const uint8_t *body[CH_TABLES];	/* gzip'd RowBinary */
	size_t len[CH_TABLES];
	size_t total;			/* bytes of the whole batch */
};

/*
 * The batch at p (len bytes, maybe more after it). 0, or -EBADMSG if it is
 * truncated, corrupt or not a batch.
 */
int ch_batch__parse(const uint8_t *p, size_t len, struct ch_batch_view *v);

/* gzip of len bytes appended to out. 0 or -errno. */
int ch_gzip(const void *data, size_t len, struct ch_buf *out);

#endif
