/* SPDX-License-Identifier: MIT */
/*
 * The on-disk spool of batches (ch_batch.h) the server has not taken yet:
 * one file per batch in a folder, named by a sequence number
 * ("00000000000000000042.batch") so that the order they are sent in
 * survives a restart. A file is written under a temporary name and
 * renamed: a crash leaves a whole batch or none. Reading checks the
 * batch: a file cut short (a full disk, a crash of the disk) is -EBADMSG.
 */
#ifndef SYSSCOPE_CH_SPOOL_H
#define SYSSCOPE_CH_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include "ch_rows.h"

struct ch_spool_entry {
	uint64_t seq;
	uint64_t bytes;
};

/*
 * The batches in folder dirfd, oldest first, in *out (free() it). 0 or
 * -errno. Temporary files left by a crash are removed.
 */
int ch_spool__list(int dirfd, struct ch_spool_entry **out, size_t *n);

/* Writes batch seq. 0 or -errno (-ENOSPC...). */
int ch_spool__write(int dirfd, uint64_t seq, const void *data, size_t len);

/*
 * Reads batch seq into out (replacing what it held). 0, -ENOENT, -EBADMSG
 * (not a whole batch), -EFBIG or -errno.
 */
int ch_spool__read(int dirfd, uint64_t seq, struct ch_buf *out);

int ch_spool__remove(int dirfd, uint64_t seq);

#endif
