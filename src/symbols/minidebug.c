// SPDX-License-Identifier: MIT
/* Inflating .gnu_debugdata (see minidebug.h). */
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include "minidebug.h"

/* The decoder's own memory: xz -9 needs 64 MiB of dictionary, at most. */
#define DECODER_MEMLIMIT (96ull << 20)

static int grow(uint8_t **buf, size_t *cap)
{
	size_t ncap = *cap ? *cap * 2 : 256 * 1024;
	uint8_t *n;

	if (*cap >= MINIDEBUG_MAX_OUT)
		return -EFBIG;
	if (ncap > MINIDEBUG_MAX_OUT)
		ncap = MINIDEBUG_MAX_OUT;
	n = realloc(*buf, ncap);
	if (!n)
		return -ENOMEM;
	*buf = n;
	*cap = ncap;
	return 0;
}

int minidebug__inflate(const uint8_t *in, size_t n, uint8_t **out,
		       size_t *outlen)
{
	lzma_stream zs = LZMA_STREAM_INIT;
	uint8_t *buf = NULL;
	size_t cap = 0;
	lzma_ret r = LZMA_OK;
	int err = 0;

	*out = NULL;
	*outlen = 0;
	if (!n || n > MINIDEBUG_MAX_IN)
		return n ? -EFBIG : -EINVAL;
	if (lzma_stream_decoder(&zs, DECODER_MEMLIMIT, 0) != LZMA_OK)
		return -ENOMEM;
	zs.next_in = in;
	zs.avail_in = n;
	while (!err && r == LZMA_OK) {
		if (!zs.avail_out) {
			err = grow(&buf, &cap);
			if (err)
				break;
			zs.next_out = buf + zs.total_out;
			zs.avail_out = cap - zs.total_out;
		}
		r = lzma_code(&zs, LZMA_FINISH);
	}
	if (!err && r != LZMA_STREAM_END)
		err = r == LZMA_MEM_ERROR ? -ENOMEM :
		      r == LZMA_MEMLIMIT_ERROR ? -EFBIG : -EINVAL;
	if (!err) {
		*out = buf;
		*outlen = zs.total_out;
	} else {
		free(buf);
	}
	lzma_end(&zs);
	return err;
}
